"""The bundled report as LibreOffice lays it out: numbers that never wrap, row groups that keep their
label, figures on their pages.

The bundled study is built once (`run_build`), its Word report rendered to PDF once with
LibreOffice (NanumGothic for 맑은 고딕, as render.docx_to_pdf does), and the PDF read back with
poppler: `pdftotext -bbox-layout` gives one <line> per line of a table cell, `pdfimages -list` the
images per page. Skips, saying why, without LibreOffice or poppler.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from submission.tlf import widths

from .conftest import SPECS

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
NUMBER = re.compile(r"\d")


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    """(docx, pdf) of the bundled study's report."""
    from submission.tlf.render import docx_to_pdf, poppler_available, soffice_path

    if soffice_path() is None or not poppler_available() or shutil.which("pdfimages") is None:
        pytest.skip("LibreOffice or poppler is not installed (apt-get install libreoffice-writer fonts-nanum "
                    "poppler-utils)")
    from submission.build import run_build
    from submission.paths import bundled_raw

    out = tmp_path_factory.mktemp("layout") / "out"
    run_build(bundled_raw(), SPECS, out)
    docx = out / "report" / "re-examination-report.docx"
    return docx, docx_to_pdf(docx, tmp_path_factory.mktemp("pdf"))


def _text(element) -> str:
    parts = []
    for node in element.iter(f"{W}t", f"{W}br"):
        parts.append("\n" if node.tag == f"{W}br" else (node.text or ""))
    return "".join(parts)


def _tables_by_output(docx: Path) -> dict[str, list[list[str]]]:
    """The cell texts of every table of the document, by the output ID its footnote names."""
    with zipfile.ZipFile(docx) as z:
        root = etree.fromstring(z.read("word/document.xml"))
    body = root.find(f"{W}body")
    found: dict[str, list[list[str]]] = {}
    last = None
    for child in body:
        if child.tag == f"{W}tbl":
            last = [[_text(tc) for tc in tr.findall(f"{W}tc")] for tr in child.findall(f"{W}tr")]
        elif child.tag == f"{W}p" and last is not None:
            m = re.match(r"출력 ID: (\S+)", _text(child))
            if m:
                found.setdefault(m.group(1), last)
                last = None
    return found


def _pages(pdf: Path) -> list[list[dict]]:
    """Per page, its lines: text (words joined by a space), x of the first word, y."""
    out = subprocess.run(["pdftotext", "-bbox-layout", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                         check=True).stdout.decode("utf-8")
    pages = []
    for page in re.findall(r"<page .*?</page>", out, re.S):
        lines = []
        for line in re.findall(r"<line [^>]*>.*?</line>", page, re.S):
            words = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>(.*?)</word>', line)
            if words:
                lines.append({"text": " ".join(html.unescape(w[2]) for w in words), "x": float(words[0][0]),
                              "y": float(words[0][1])})
        pages.append(lines)
    return pages


def _span(pages: list[list[dict]], output_id: str, first_cell: str) -> range:
    """The pages of an output's table: from the page that shows its header's first cell up to the page
    of its "출력 ID" footnote."""
    end = next(i for i, lines in enumerate(pages) if any(ln["text"] == f"출력 ID: {output_id}" for ln in lines))
    start = end
    while start > 0 and not any("...." in ln["text"] for ln in pages[start - 1]) and any(
            ln["text"] == first_cell for ln in pages[start - 1]):
        start -= 1
    return range(start, end + 1)


OUTPUTS = [("T-08-UNI", "univariate factor table"), ("T-06-AE", "SOC/PT table of adverse events"),
           ("L-SAE-01", "listing of serious adverse events")]


@pytest.mark.parametrize("output_id", [o for o, _ in OUTPUTS], ids=[n for _, n in OUTPUTS])
def test_no_number_of_a_table_wraps(bundled, output_id):
    docx, pdf = bundled
    table = _tables_by_output(docx)[output_id]
    pages = _pages(pdf)
    span = _span(pages, output_id, table[0][0].split("\n")[0])
    lines = {ln["text"] for i in span for ln in pages[i]}
    pieces = {piece for row in table[1:] for cell in row for line in cell.split("\n")
              for piece in widths.unbreakable(line) if NUMBER.search(piece) and widths._numeric(piece)}
    assert len(pieces) > 10
    wrapped = sorted(p for p in pieces if not any(p in text for text in lines))
    assert not wrapped, f"{output_id}: numbers not on one line on pages {[i + 1 for i in span]}: {wrapped[:10]}"
    # and no line is a percentage torn from its count: "(79.5%)" or "(79.5%) [6]" alone
    torn = sorted(text for text in lines if re.fullmatch(r"\(\d+(\.\d+)?%\)( \[\d+\])?", text))
    assert not torn, f"{output_id}: percentages alone on a line: {torn[:10]}"


def test_a_factor_continued_on_the_next_page_keeps_its_label(bundled):
    docx, pdf = bundled
    table = _tables_by_output(docx)["T-08-UNI"]
    pages = _pages(pdf)
    header = table[0][0].split("\n")[0]
    span = _span(pages, "T-08-UNI", header)
    levels = {row[1].split("\n")[0] for row in table[1:] if row[1]}
    level_x, checked = None, 0
    for i in span:
        lines = pages[i]
        heads = [k for k, ln in enumerate(lines) if ln["text"] == header]
        if not heads:
            continue
        top = lines[heads[0]]["y"]
        level_head = next(ln for ln in lines if ln["text"] == table[0][1] and abs(ln["y"] - top) < 3)
        level_x = level_head["x"] if level_x is None else level_x
        # the first body row of every page of the table shows a factor in the first column
        first = min((ln for ln in lines if ln["y"] > top + 3 and ln["text"] in levels
                     and abs(ln["x"] - level_x) < 40), key=lambda ln: ln["y"])
        row = [ln["text"] for ln in lines if abs(ln["y"] - first["y"]) < 3 and ln["x"] < level_x - 20]
        assert row, f"page {i + 1}: the table continues without its factor's label at {first['text']!r}"
        checked += 1
    assert checked >= 2  # the table spans pages


def test_every_figure_page_has_its_image(bundled):
    _, pdf = bundled
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, check=True).stdout.decode()
    with_images = {int(line.split()[0]) for line in listing.splitlines()[2:] if line.strip()}
    pages = _pages(pdf)
    figure_pages = [i + 1 for i, lines in enumerate(pages)
                    if any(re.match(r"그림 \d+\. ", ln["text"]) and "...." not in ln["text"] for ln in lines)]
    assert len(figure_pages) >= 3
    assert set(figure_pages) <= with_images, f"figure pages without an image: {sorted(set(figure_pages) - with_images)}"
