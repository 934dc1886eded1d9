"""OUT/manifest.json: every input and output file with its size and SHA-256, the tool and
dependency versions, and the settings used (logrx habit). No wall-clock time and no absolute
path, so two builds of the same inputs give the same manifest byte for byte, except the size and
SHA-256 of a PDF that LibreOffice rendered (the aCRF, the reviewer's guides): its entry carries a
note saying that its bytes may differ between builds while its text and pages do not."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path

from ..io import write_atomic

MANIFEST = "manifest.json"
RUN_LOG = "build.log"  # varies with timings: listed nowhere, described in the README
DEPENDENCIES = ("pandas", "numpy", "pyreadstat", "lxml", "python-docx", "pydantic", "click", "openpyxl", "scipy",
                "statsmodels", "matplotlib", "defineutils")


def file_entry(path: Path, root: Path) -> dict:
    data = path.read_bytes()
    entry = {"path": path.relative_to(root).as_posix(), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    if path.suffix.lower() == ".pdf":
        from ..package.pdf import RENDERED_NOTE, rendered_by_libreoffice

        if rendered_by_libreoffice(data):
            entry["note"] = RENDERED_NOTE
    return entry


def _files(root: Path, skip: set[str] = frozenset()) -> list[dict]:
    return [file_entry(p, root) for p in sorted(Path(root).rglob("*"))
            if p.is_file() and p.relative_to(root).as_posix() not in skip and not p.name.startswith(".")]


def versions() -> dict[str, str]:
    out = {}
    for name in ("sub", *DEPENDENCIES):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_manifest(out_dir: Path, *, raw_dir: Path, specs_dir: Path, settings, stages: list[str]) -> Path:
    body = {
        "synthetic": settings.study.synthetic,
        "notice": ("SYNTHETIC DATA - NOT REAL STUDY DATA: every output of this build comes from a synthetic "
                   "extract made by `sub synth`.") if settings.study.synthetic else "",
        "study": settings.study.studyid,
        "stages": stages,
        "tool": versions(),
        "settings": json.loads(settings.model_dump_json()),
        "inputs": {"raw": _files(Path(raw_dir)), "specs": _files(Path(specs_dir))},
        "outputs": _files(Path(out_dir), skip={MANIFEST, RUN_LOG}),
    }
    path = Path(out_dir) / MANIFEST
    write_atomic(path, (json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return path
