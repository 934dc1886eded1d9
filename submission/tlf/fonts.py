"""The Korean font of the figures: one place that every figure asks.

The figures are PNG images, so their font travels inside them and the reader needs none. The font
comes from an installed Python package, not from the system, so that a bare machine (no
fonts-nanum, no Office) draws Korean labels and two machines draw the same pixels: the
NanumGothic TTF files that `koreanize-matplotlib` ships. That package is never imported (its
module sets matplotlib's global rcParams on import and needs `distutils`, which Python 3.12
removed); its installed files are located through the package metadata and registered with
matplotlib's font manager by path. A system NanumGothic or Malgun Gothic is the fallback when the
package's files are missing (e.g. a distribution that strips them).
"""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from ..errors import Problem, SubError

FONT_PACKAGE = "koreanize-matplotlib"
FAMILY = "NanumGothic"
SYSTEM_FALLBACKS = ("Malgun Gothic", "NanumGothic")


def packaged_font_files() -> list[Path]:
    """The NanumGothic TTF files installed with FONT_PACKAGE (empty when it is not installed)."""
    try:
        dist = metadata.distribution(FONT_PACKAGE)
    except metadata.PackageNotFoundError:
        return []
    files = []
    for entry in dist.files or ():
        if entry.suffix.lower() == ".ttf" and entry.name.startswith("NanumGothic"):
            path = Path(dist.locate_file(entry))
            if path.is_file():
                files.append(path)
    return sorted(files)


@lru_cache(maxsize=1)
def korean_font() -> str:
    """Register the Korean font with matplotlib and return its family name for `font.family`.

    Raises SubError (exit 1, with what to install) when neither the package's font nor a system
    Korean font can be found.
    """
    from matplotlib import font_manager

    packaged = packaged_font_files()
    for path in packaged:
        font_manager.fontManager.addfont(str(path))
    if packaged:
        return FAMILY
    available = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in SYSTEM_FALLBACKS if name in available), None)
    if found is None:
        # matplotlib's font cache may predate the installation of the system fonts: register them.
        for path in sorted(font_manager.findSystemFonts()):
            if re.search(r"nanum|malgun", Path(path).name, re.IGNORECASE):
                font_manager.fontManager.addfont(path)
        available = {f.name for f in font_manager.fontManager.ttflist}
        found = next((name for name in SYSTEM_FALLBACKS if name in available), None)
    if found is None:
        raise SubError(Problem(
            "matplotlib", None, None, None,
            f"no Korean font for the figures: the package {FONT_PACKAGE} (a dependency of sub) is not "
            f"installed or has no NanumGothic.ttf; reinstall sub with pip"))
    return found


def korean_rc() -> dict:
    """matplotlib rc settings for a figure with Korean labels, the same bytes on every run."""
    return {"font.family": korean_font(), "axes.unicode_minus": False, "svg.hashsalt": "sub"}
