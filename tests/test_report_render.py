"""The report as a reader meets it: `sub build --pdf` on the bundled study, its Word file rendered
again by a plain LibreOffice (a fresh profile, no font alias: what a reviewer has), and both PDFs
read back with poppler and a small reader of LibreOffice's page tree and bookmarks.

- the contents and the lists of tables and figures print the page on which each heading and
  caption prints, in the PDF of the build and in the reviewer's rendering of the .docx, and the
  .docx carries the same numbers as the fields' cached values (what Word shows before updating);
- the PDF has one bookmark per heading (going to the page the contents give), the contents as
  links, every font embedded (NanumGothic, never a substitute), the document's title and Korean
  as its language; its pages are those of the reviewer's rendering of the .docx;
- the manifest lists the PDF with its checksum and says that its bytes are not reproducible;
- `--pdf` without LibreOffice stops before anything is built and says how to install it.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from submission.cli import main
from submission.tlf import render
from submission.tlf.report import DOCX_NAME, PDF_NAME, TOC_NOTE

needs_libreoffice = pytest.mark.skipif(render.soffice_path() is None or not render.poppler_available(),
                                       reason="LibreOffice and poppler-utils are not installed (.ci/run installs them)")

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --------------------------------------------------------------------------- reading the files

def _docx_entries(docx: Path) -> dict:
    """From the .docx: headings (levels 1-3) and captions in document order with their bookmarks,
    and the entries of the contents and lists (text, bookmark linked to, cached page)."""
    with zipfile.ZipFile(docx) as z:
        body = etree.fromstring(z.read("word/document.xml"))

    def text(p) -> str:
        return "".join(t.text or "" for t in p.iter(f"{W}t"))

    def style(p) -> str:
        s = p.find(f"{W}pPr/{W}pStyle")
        return s.get(f"{W}val") if s is not None else ""

    targets, entries = [], []
    for p in body.iter(f"{W}p"):
        kind = style(p)
        if kind in ("Heading1", "Heading2", "Heading3", "Caption"):
            mark = p.find(f"{W}bookmarkStart")
            targets.append((kind, text(p), mark.get(f"{W}name") if mark is not None else None))
        elif kind.startswith("TOC"):
            link = p.find(f"{W}hyperlink")
            if link is None:
                continue
            runs = list(link.iter(f"{W}r"))
            separate = next(i for i, r in enumerate(runs) if (f := r.find(f"{W}fldChar")) is not None
                            and f.get(f"{W}fldCharType") == "separate")
            end = next(i for i, r in enumerate(runs) if (f := r.find(f"{W}fldChar")) is not None
                       and f.get(f"{W}fldCharType") == "end")
            cached = "".join(t.text or "" for r in runs[separate + 1:end] for t in r.iter(f"{W}t"))
            label = "".join(t.text or "" for r in runs[:separate] for t in r.iter(f"{W}t"))
            entries.append((label, link.get(f"{W}anchor"), cached))
    headings = [(t, m) for k, t, m in targets if k != "Caption"]
    captions = [(t, m) for k, t, m in targets if k == "Caption"]
    return {"headings": headings, "captions": captions, "entries": entries, "body": body}


def _page_numbers_of_objects(data: bytes) -> dict[int, int]:
    """Page object number -> page number, from the flat page tree LibreOffice writes."""
    trees = re.findall(rb"/Type/Pages\b.*?/Kids\s*\[([^\]]*)\]", data, re.DOTALL)
    assert len(trees) == 1, "expected LibreOffice's one flat page tree"
    kids = [int(n) for n in re.findall(rb"(\d+)\s+0\s+R", trees[0])]
    return {number: i for i, number in enumerate(kids, start=1)}


def _outline(pdf: Path) -> list[tuple[str, int | None]]:
    """Every bookmark of the PDF, depth first: (title, page it goes to)."""
    from submission.package.pdf import read_bookmarks

    data = pdf.read_bytes()
    pages = _page_numbers_of_objects(data)
    out = []

    def walk(nodes):
        for node in nodes:
            m = re.match(rb"\[\s*(\d+)\s+0\s+R", node.dest or b"")
            out.append((node.title, pages.get(int(m.group(1))) if m else None))
            walk(node.children)

    walk(read_bookmarks(data))
    return out


def _printed_numbers(pdf: Path, entries: list[str], last_front_page: int) -> list[int | None]:
    """The page number printed after each entry in the contents and lists (pages 2..last_front_page):
    the digits after the entry's text and its dot leader, before the next entry's text."""
    pages = render.pdf_page_texts(pdf)[1:last_front_page]
    front = _squash("".join(re.sub(r"\d+\s*/\s*\d+\s*쪽", "", page) for page in pages))  # no footer
    found, cursor = [], 0
    starts = []
    for entry in entries:
        at = front.find(_squash(entry), cursor)
        starts.append(at)
        if at >= 0:
            cursor = at + len(_squash(entry))
    for i, (entry, at) in enumerate(zip(entries, starts)):
        if at < 0:
            found.append(None)
            continue
        tail_end = next((s for s in starts[i + 1:] if s >= 0), len(front))
        m = re.match(r"\.*(\d+)", front[at + len(_squash(entry)):tail_end])
        found.append(int(m.group(1)) if m else None)
    return found


def _body_pages(pdf: Path, texts: list[str], first_body_page: int) -> list[int | None]:
    return render.heading_pages(pdf, texts, start_page=first_body_page)


# --------------------------------------------------------------------------- the build

@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    if render.soffice_path() is None or not render.poppler_available():
        pytest.skip("LibreOffice and poppler-utils are not installed (.ci/run installs them)")
    out = tmp_path_factory.mktemp("bundled") / "out"
    result = CliRunner().invoke(main, ["build", "--pdf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def entries(bundled) -> dict:
    return _docx_entries(bundled / "report" / DOCX_NAME)


@pytest.fixture(scope="module")
def reviewer_pdf(bundled, tmp_path_factory) -> Path:
    """The written .docx rendered by a plain LibreOffice: a fresh profile and no font alias."""
    return render.docx_to_pdf(bundled / "report" / DOCX_NAME, tmp_path_factory.mktemp("reviewer"), font_aliases={})


def _check_contents(pdf: Path, entries: dict) -> None:
    headings = [t for t, _ in entries["headings"]]
    captions = [t for t, _ in entries["captions"]]
    first_body = _outline(pdf)[0][1]
    assert first_body and first_body > 2
    printed = _printed_numbers(pdf, [label for label, _, _ in entries["entries"]], first_body - 1)
    actual = _body_pages(pdf, headings, first_body) + _body_pages(pdf, captions, first_body)
    assert None not in actual
    labels = [label for label, _, _ in entries["entries"]]
    # the contents list the headings, then the lists the tables and the figures (each in its order)
    assert sorted(labels) == sorted(headings + captions)
    by_text = dict(zip(headings + captions, actual))
    wrong = [(label, n, by_text[label]) for label, n in zip(labels, printed) if n != by_text[label]]
    assert wrong == []
    cached = [(label, c, by_text[label]) for label, _, c in entries["entries"] if c != str(by_text[label])]
    assert cached == []  # what Word shows before it updates the fields


@needs_libreoffice
def test_a_plain_libreoffice_prints_the_contents_with_the_pages_of_the_headings(reviewer_pdf, entries):
    """Every entry of the contents and of the lists of tables and figures: the number printed in a
    reviewer's rendering of the .docx is the page its heading or caption prints on there."""
    assert len(entries["headings"]) > 30 and len(entries["captions"]) > 30
    _check_contents(reviewer_pdf, entries)
    assert not any("DejaVu" in f for f in render.pdf_fonts(reviewer_pdf))  # the document's own font, no substitute


@needs_libreoffice
def test_the_pdf_is_the_same_rendering_with_the_right_contents(bundled, reviewer_pdf, entries):
    pdf = bundled / "report" / PDF_NAME
    _check_contents(pdf, entries)
    # the layout does not depend on the cached page numbers: the PDF (rendered before they were
    # written) and the reviewer's rendering of the final .docx have the same pages
    assert render.pdf_page_texts(pdf) == render.pdf_page_texts(reviewer_pdf)


@needs_libreoffice
def test_the_pdf_has_a_bookmark_per_heading_links_fonts_title_and_language(bundled, entries):
    pdf = bundled / "report" / PDF_NAME
    data = pdf.read_bytes()
    outline = _outline(pdf)
    assert [title for title, _ in outline] == [t for t, _ in entries["headings"]]
    first_body = outline[0][1]
    assert [page for _, page in outline] == _body_pages(pdf, [t for t, _ in entries["headings"]], first_body)
    # the contents are links: one link annotation per entry on the front pages
    front_links = 0
    for number, page in _page_numbers_of_objects(data).items():
        if page < first_body:
            m = re.search(rb"\n%d 0 obj\s*<<(.*?)endobj" % number, data, re.DOTALL)
            annots = re.search(rb"/Annots\s*\[([^\]]*)\]", m.group(1)) if m else None
            front_links += len(re.findall(rb"\d+\s+0\s+R", annots.group(1))) if annots else 0
    assert front_links == len(entries["entries"])
    info = render.pdf_info(pdf)
    core = zipfile.ZipFile(bundled / "report" / DOCX_NAME).read("docProps/core.xml").decode("utf-8")
    assert info["Title"] and f"<dc:title>{info['Title']}</dc:title>" in core
    assert re.search(rb"/Lang\s*\(ko-KR\)", data)
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts  # the "emb" column
    assert all("Nanum" in line.split()[0] for line in fonts), fonts


@needs_libreoffice
def test_the_manifest_lists_the_pdf_and_says_its_bytes_are_not_reproducible(bundled):
    import hashlib

    from submission.package.pdf import RENDERED_NOTE

    manifest = json.loads((bundled / "manifest.json").read_text(encoding="utf-8"))
    entry = next(e for e in manifest["outputs"] if e["path"] == f"report/{PDF_NAME}")
    data = (bundled / "report" / PDF_NAME).read_bytes()
    assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["note"] == RENDERED_NOTE
    docx_entry = next(e for e in manifest["outputs"] if e["path"] == f"report/{DOCX_NAME}")
    assert "note" not in docx_entry  # the .docx stays byte-identical from build to build
    log = (bundled / "build.log").read_text(encoding="utf-8")
    assert "table of contents with page numbers: yes" in log and f"PDF: report/{PDF_NAME}" in log


@needs_libreoffice
def test_a_rendered_report_carries_no_note_and_does_not_ask_word_to_update(bundled):
    with zipfile.ZipFile(bundled / "report" / DOCX_NAME) as z:
        body, settings = z.read("word/document.xml").decode("utf-8"), z.read("word/settings.xml").decode("utf-8")
    assert TOC_NOTE not in body and "updateFields" not in settings


# The bundled report prints 62 A4 pages (June 2025: cover, contents and lists on 5, the body, the
# listings in landscape). A layout fault moves it out of this range: a table printing a row per
# page, tables or listings turned the wrong way, a section lost or printed twice.
BUNDLED_PAGES = (55, 70)


@needs_libreoffice
def test_the_bundled_report_has_the_expected_number_of_pages(bundled):
    pages = len(render.pdf_page_texts(bundled / "report" / PDF_NAME))
    low, high = BUNDLED_PAGES
    assert low <= pages <= high, f"{pages} pages, expected {low}-{high}"


def _body_paragraphs(body) -> list[str]:
    """The text of the body's own paragraphs (no heading, caption, table cell, footnote or contents
    entry) with the heading each one follows: [(section heading, text)]."""
    out, heading = [], ""
    for p in body.iter(f"{W}p"):
        mark = p.find(f"{W}pPr/{W}pStyle")
        kind = mark.get(f"{W}val") if mark is not None else ""
        text = "".join(t.text or "" for t in p.iter(f"{W}t"))
        if kind.startswith("Heading"):
            heading = text
        elif kind == "" and text.strip() and p.getparent().tag == f"{W}body":
            out.append((heading, text))
    return out


@needs_libreoffice
def test_a_results_sentence_prints_next_to_the_table_or_figure_it_cites(bundled, entries):
    """Each paragraph of the results (section 3) that cites a table or figure by number prints on
    the page of its caption or the page before (the caption follows the paragraph); a citation of
    the appendix ("별첨") is a reference to the back of the report and is not checked."""
    pdf = bundled / "report" / PDF_NAME
    first_body = _outline(pdf)[0][1]
    in_results, cited = False, []
    for heading, text in _body_paragraphs(entries["body"]):
        in_results = heading.startswith("3") if heading[:1].isdigit() else in_results
        if not in_results:
            continue
        for kind, number in re.findall(r"(?<!별첨 )(표|그림) (\d+)(?![.\d])", text):
            cited.append((text, f"{kind} {number}."))
    assert len(cited) >= 5  # the disposition, the safety overview, the pregnancies, the response rates ...
    assert any("임신" in text for text, _ in cited)
    texts = list(dict.fromkeys(text for text, _ in cited))
    text_pages = dict(zip(texts, _body_pages(pdf, [t[:40] for t in texts], first_body)))
    captions = {t.split(" ", 2)[0] + " " + t.split(" ", 2)[1]: t for t, _ in entries["captions"]}
    caption_texts = [captions[label] for _, label in cited]
    caption_pages = dict(zip(caption_texts, [render.heading_pages(pdf, [c], start_page=first_body)[0]
                                             for c in caption_texts]))
    far = [(label, text_pages[text], caption_pages[captions[label]], text[:40]) for text, label in cited
           if not 0 <= caption_pages[captions[label]] - text_pages[text] <= 1]
    assert far == []


@needs_libreoffice
def test_the_conclusion_names_the_frequent_pts_and_every_unexpected_and_serious_adr(bundled):
    """5.1: the AE, ADR and serious AE sentences name the 10 most frequent PTs and cite their SOC/PT
    table for the others; the serious ADRs and the unexpected ones are named in full, with the ARD's
    numbers."""
    from submission.study import load_settings
    from submission.tlf import fmt
    from submission.tlf.ard import read_ard_csv
    from submission.tlf.terms_ko import TermNames

    from .conftest import SPECS

    pdf = bundled / "report" / PDF_NAME
    pages = render.pdf_page_texts(pdf)[_outline(pdf)[0][1] - 1:]
    body = _squash("".join(pages))
    conclusion = body[body.index(_squash("5.1 안전성")):body.index(_squash("5.2 유효성"))]
    ard = read_ard_csv(bundled / "tlf" / "ard.csv")
    digits = load_settings(SPECS).conventions.percent_decimals_summary
    names = TermNames.load(SPECS)

    def named(key) -> list[tuple[str, bool]]:
        """(PT, whether the conclusion names it with its numbers) for the PTs of a subset."""
        rows = ard[ard["output_id"].eq("T-13") & ard["group1_level"].eq(key) & ard["variable"].eq("AEDECOD")]
        out = []
        for pt, group in rows.groupby("variable_level", sort=False):
            stat = dict(zip(group["stat_name"], group["stat"]))
            incidence = fmt.label_incidence(int(stat["n"]), int(stat["N"]), int(stat["events"]), digits)
            # the English name follows the Korean one in brackets at its first use
            pattern = re.escape(_squash(names.korean("PT", pt))) + r"(\([^)]*\))?" + re.escape(_squash(incidence))
            out.append((pt, re.search(pattern, conclusion) is not None))
        return out

    assert conclusion.count(_squash("상위 10개 기본 용어를 나열하면")) == 3  # the AE, ADR and SAE sentences
    cited = re.findall(_squash("그 밖의 기본 용어는 표 ") + r"(\d+)", conclusion)
    for number, key in zip(cited, ("AE", "ADR", "SAE"), strict=True):
        pts = named(key)
        assert len(pts) > 10 and sum(shown for _, shown in pts) >= 10, key
        caption = next(line for page in pages for line in page.splitlines() if line.startswith(f"표 {number}. "))
        assert caption.endswith(f"별 {ko_name(key)} 발현 현황"), caption
    for key in ("SADR", "UAE", "UADR", "USADR"):
        missing = [pt for pt, shown in named(key) if not shown]
        assert missing == [], key


def ko_name(key: str) -> str:
    from submission.tlf.tables_safety import SUBSETS

    return SUBSETS[key].name_ko


# --------------------------------------------------------------------------- without LibreOffice

@pytest.mark.parametrize("command", [["build"], ["report"]])
def test_pdf_without_libreoffice_exits_1_and_says_how_to_install_it(tmp_path, monkeypatch, command):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no soffice, no poppler
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [*command, "--pdf", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "soffice (LibreOffice)" in result.output and render.INSTALL_HINT in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())  # stopped before anything was built
