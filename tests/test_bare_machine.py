"""A bare machine: no Korean system font, no LibreOffice. `sub build` still writes the whole
package, and every figure draws its Korean labels with a Korean font (the one shipped by the
koreanize-matplotlib package, registered from its installed file)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Run in a child process: hide every system font from matplotlib (only its own DejaVu remains),
# make a missing glyph an error, build, then say which file the figures' font came from.
BARE_BUILD = r"""
import sys, warnings
from matplotlib import font_manager as fm

_original = fm.findSystemFonts
def _bundled_only(fontpaths=None, fontext="ttf"):
    return _original(fontpaths, fontext) if fontpaths else []
fm.findSystemFonts = _bundled_only
fm.fontManager.ttflist = [f for f in fm.fontManager.ttflist if "mpl-data" in f.fname]
fm.fontManager.afmlist = [f for f in fm.fontManager.afmlist if "mpl-data" in f.fname]
fm.fontManager._findfont_cached.cache_clear()
assert not [f.name for f in fm.fontManager.ttflist if "Nanum" in f.name or "Malgun" in f.name]
warnings.filterwarnings("error", message=r".*missing from font")

from submission.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code or 0
from submission.tlf.fonts import korean_font
family = korean_font()
print("FONT", family, fm.findfont(fm.FontProperties(family=family), fallback_to_default=False))
sys.exit(code)
"""


@pytest.fixture(scope="module")
def bare_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("bare") / "out"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["PATH"] = str(Path(sys.executable).parent)  # no soffice, no pdftotext on the PATH
    env["MPLCONFIGDIR"] = str(tmp_path_factory.mktemp("mplconfig"))  # no font cache from earlier runs
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", BARE_BUILD, "build", "--out", str(out)], env=env,
                          capture_output=True, text=True, timeout=900)
    return done, out


def test_the_build_completes_without_system_fonts_or_libreoffice(bare_build):
    done, out = bare_build
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "LibreOffice not available" in done.stdout
    for path in ("sdtm/dm.xpt", "sdtm/define.xml", "adam/adsl.xpt", "adam/define.xml", "tlf/ard.csv",
                 "report/re-examination-report.docx", "manifest.json", "build.log"):
        assert (out / path).is_file(), path


def test_the_figures_font_is_the_packaged_korean_font(bare_build):
    done, _ = bare_build
    line = next(line for line in done.stdout.splitlines() if line.startswith("FONT "))
    _, family, path = line.split(" ", 2)
    assert family == "NanumGothic"
    assert "koreanize_matplotlib" in path and path.endswith(".ttf")


def test_every_figure_is_in_the_report(bare_build):
    _, out = bare_build
    with zipfile.ZipFile(out / "report" / "re-examination-report.docx") as docx:
        images = [name for name in docx.namelist() if name.startswith("word/media/")]
        assert images
        for name in images:
            data = docx.read(name)
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name


def test_no_korean_font_at_all_is_one_clear_message(monkeypatch):
    """Without the package's font and without a system one, the figures stop with what to do."""
    from matplotlib import font_manager as fm

    from submission.errors import SubError
    from submission.tlf import fonts

    monkeypatch.setattr(fonts, "packaged_font_files", lambda: [])
    monkeypatch.setattr(fm, "findSystemFonts", lambda *args, **kwargs: [])
    monkeypatch.setattr(fm.fontManager, "ttflist", [f for f in fm.fontManager.ttflist
                                                    if f.name not in fonts.SYSTEM_FALLBACKS])
    fonts.korean_font.cache_clear()
    try:
        with pytest.raises(SubError) as err:
            fonts.korean_font()
        assert fonts.FONT_PACKAGE in str(err.value)
    finally:
        fonts.korean_font.cache_clear()


def test_the_packaged_font_draws_hangul():
    """The font file itself has the Hangul syllables the report's figures use."""
    from matplotlib.ft2font import FT2Font

    from submission.tlf.fonts import packaged_font_files

    regular = [p for p in packaged_font_files() if p.name == "NanumGothic.ttf"]
    assert regular, "koreanize-matplotlib is a dependency: its NanumGothic.ttf must be installed"
    font = FT2Font(str(regular[0]))
    charmap = font.get_charmap()
    for char in "등록대상자안전성유효성평가최량반응오즈비":
        assert ord(char) in charmap, char
