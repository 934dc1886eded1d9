"""Where the bundled study lives: inside the installed wheel, or beside the source checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _bundled(name: str, checkout_relative: str) -> Path:
    installed = _PKG / "_bundled" / name
    if installed.is_dir():
        return installed
    return _PKG.parent / checkout_relative


def bundled_specs() -> Path:
    """The study's specs folder (`specs/` in the source tree)."""
    return _bundled("specs", "specs")


def bundled_raw() -> Path:
    """The bundled synthetic raw extract (`examples/revlimid-due/raw/` in the source tree)."""
    return _bundled("raw", "examples/revlimid-due/raw")
