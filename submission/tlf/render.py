"""Render a .docx to PDF with LibreOffice (headless) and read the PDF back with poppler.

This is how the tests (and a reviewer without Word) see the report as a word processor lays
it out: page count, page size, text per page. System tools, installed by `.ci/run`:
`apt-get install --no-install-recommends libreoffice-writer fonts-nanum poppler-utils`.

Each conversion runs with its own throw-away LibreOffice profile (so parallel runs and a
user's own LibreOffice do not interfere) and otherwise as a plain LibreOffice: the report names
NanumGothic itself (docx.py), so a reviewer's LibreOffice with fonts-nanum lays it out as the
build does. A caller may still map font names with a fontconfig file of its own (`font_aliases`:
the package documents map Arial to DejaVu Sans).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..errors import Problem, SubError

INSTALL_HINT = "apt-get install -y --no-install-recommends libreoffice-writer fonts-nanum poppler-utils"
A4_POINTS = (595.276, 841.89)  # 210 x 297 mm


def soffice_path() -> str | None:
    """The LibreOffice binary, or None when it is not installed."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return None


def poppler_available() -> bool:
    return all(shutil.which(tool) for tool in ("pdftotext", "pdfinfo"))


def _missing(tool: str) -> SubError:
    return SubError(Problem(tool, None, None, None, f"not installed; install it with: {INSTALL_HINT}"))


def _fontconfig(folder: Path, aliases: dict[str, str]) -> Path:
    lines = ['<?xml version="1.0"?>', '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">', "<fontconfig>",
             '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>']
    for family, target in sorted(aliases.items()):
        lines.append(f'  <alias binding="same"><family>{family}</family><prefer><family>{target}</family></prefer></alias>')
    lines.append("</fontconfig>")
    path = folder / "fonts.conf"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


DEFAULT_ALIASES: dict[str, str] = {}  # none: render as a reviewer's LibreOffice does


def time_limit(docx: Path) -> float:
    """Seconds LibreOffice gets for a document: 60 s plus 60 s per MB of .docx (a 624-subject
    report of 0.4 MB converts in about 5 s on 2 cores; 100,000 subjects make about 60 MB)."""
    return 60.0 + 60.0 * Path(docx).stat().st_size / 1e6


def _end_group(process: subprocess.Popen) -> None:
    """Kill LibreOffice and every process it started (it runs in its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:  # pragma: no cover - a process that survives SIGKILL
        pass


def docx_to_pdf(docx: Path, outdir: Path | None = None, *, timeout: float | None = None,
                font_aliases: dict[str, str] | None = None, export_options: str | None = None) -> Path:
    """Convert `docx` to PDF (in `outdir`, default beside it) and return the PDF's path.

    `export_options`: the writer_pdf_Export filter options as LibreOffice's JSON (7.4 and later),
    e.g. '{"ExportBookmarks":{"type":"boolean","value":"true"}}'; None uses the defaults.

    LibreOffice runs in a process group of its own, with a time limit that grows with the
    document (`time_limit`, unless `timeout` is given); on timeout, Ctrl-C or SIGTERM the whole
    group is killed, so no `soffice.bin` outlives the run. A timeout is a SubError.
    """
    soffice = soffice_path()
    if soffice is None:
        raise _missing("soffice (LibreOffice)")
    docx = Path(docx).resolve()
    outdir = Path(outdir or docx.parent).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    aliases = DEFAULT_ALIASES if font_aliases is None else font_aliases
    with tempfile.TemporaryDirectory(prefix="sub-soffice-") as tmp:
        work = Path(tmp)
        env = dict(os.environ)
        env["HOME"] = str(work)  # LibreOffice writes caches under HOME even with its own profile
        if aliases:
            env["FONTCONFIG_FILE"] = str(_fontconfig(work, aliases))
        command = [soffice, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless", "--norestore",
                   "--convert-to", f"pdf:writer_pdf_Export:{export_options}" if export_options else "pdf",
                   "--outdir", str(work / "out"), str(docx)]
        limit = time_limit(docx) if timeout is None else timeout
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            _end_group(process)
            raise SubError(Problem(str(docx), None, None, None,
                                   f"LibreOffice did not finish within {limit:g} s")) from None
        except BaseException:
            _end_group(process)
            raise
        _end_group(process)  # helpers it may have left behind
        produced = work / "out" / f"{docx.stem}.pdf"
        if process.returncode != 0 or not produced.is_file():
            detail = (stderr or stdout).strip().splitlines()[-1:] or ["no output"]
            raise SubError(Problem(str(docx), None, None, None, f"LibreOffice could not convert it: {detail[0]}"))
        target = outdir / produced.name
        shutil.move(str(produced), target)
    return target


def _poppler(tool: str, *args: str) -> str:
    if shutil.which(tool) is None:
        raise _missing(tool)
    done = subprocess.run([tool, *args], capture_output=True, timeout=120)
    if done.returncode != 0:
        raise SubError(Problem(tool, None, None, None, done.stderr.decode("utf-8", "replace").strip() or "failed"))
    return done.stdout.decode("utf-8", "replace")


def pdf_text(pdf: Path, first: int | None = None, last: int | None = None, *, layout: bool = False) -> str:
    """The text of the PDF (or of pages first..last, 1-based), as pdftotext extracts it."""
    args = []
    if first is not None:
        args += ["-f", str(first)]
    if last is not None:
        args += ["-l", str(last)]
    if layout:
        args.append("-layout")
    return _poppler("pdftotext", *args, "-enc", "UTF-8", str(pdf), "-")


def pdf_page_texts(pdf: Path) -> list[str]:
    """The text of every page (pdftotext separates pages with a form feed)."""
    pages = pdf_text(pdf).split("\f")
    return pages[:pdf_pages(pdf)]


def pdf_info(pdf: Path, first: int | None = None, last: int | None = None) -> dict[str, str]:
    """pdfinfo's key-value lines (with first/last: one "Page    N size" entry per page)."""
    args = []
    if first is not None:
        args += ["-f", str(first)]
    if last is not None:
        args += ["-l", str(last)]
    info = {}
    for line in _poppler("pdfinfo", *args, str(pdf)).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def pdf_pages(pdf: Path) -> int:
    return int(pdf_info(pdf)["Pages"])


def pdf_page_sizes(pdf: Path) -> list[tuple[float, float]]:
    """Width and height in points of every page."""
    info = pdf_info(pdf, 1, pdf_pages(pdf))
    sizes = []
    for key, value in info.items():
        if re.fullmatch(r"Page\s+\d+\s+size", key):
            m = re.match(r"([\d.]+) x ([\d.]+) pts", value)
            if m:
                sizes.append((float(m.group(1)), float(m.group(2))))
    return sizes


def is_a4(size: tuple[float, float], tolerance: float = 1.5) -> bool:
    """Whether a page size in points is A4, portrait or landscape."""
    w, h = sorted(size)
    return abs(w - A4_POINTS[0]) <= tolerance and abs(h - A4_POINTS[1]) <= tolerance


def pdf_fonts(pdf: Path) -> list[str]:
    """The font names embedded in the PDF (subset prefixes removed)."""
    out = _poppler("pdffonts", str(pdf)).splitlines()[2:]
    names = {line.split()[0].split("+", 1)[-1] for line in out if line.strip()}
    return sorted(names)


def heading_pages(pdf: Path, headings: Sequence[str], *, start_page: int = 1) -> list[int | None]:
    """The page of each heading, found in order from `start_page` on (None when not found).

    The report's contents read them from its one rendering (`report._toc_page_numbers`) as the
    cached values of their page fields (`ReportDocument.toc_pages`); the tests, to check them.
    """
    pages = pdf_page_texts(pdf)

    def squash(text: str) -> str:
        return re.sub(r"\s+", "", text)

    found: list[int | None] = []
    current = max(1, start_page)
    for heading in headings:
        target = squash(heading)
        page = next((i for i in range(current, len(pages) + 1) if target in squash(pages[i - 1])), None)
        found.append(page)
        if page is not None:
            current = page
    return found
