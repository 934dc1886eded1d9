from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pandas as pd
import pytest
from lxml import etree

from submission.io import build_timestamp
from submission.tlf.docx import DEFAULT_FONT, ReportDocument
from submission.tlf.render import (
    INSTALL_HINT,
    docx_to_pdf,
    heading_pages,
    is_a4,
    pdf_fonts,
    pdf_page_sizes,
    pdf_page_texts,
    pdf_pages,
    poppler_available,
    soffice_path,
)

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
NS = {"w": W[1:-1]}
TITLE = "레블리미드캡슐 재심사 결과보고서"
HEADER_TEXT = "RVL-MM-DUE-KR 레블리미드 사용성적조사"
CREATED = dt.datetime(2016, 12, 7, 9, 30, 0)


def _frame(rows: int = 80) -> pd.DataFrame:
    return pd.DataFrame({
        "기관": [f"기관 {i:02d}" for i in range(rows)],
        "대상자 수": [str(1000 + 7 * i) for i in range(rows)],
        "유해사례 n (%)": [f"{i} ({i / rows * 100:.1f}%)" for i in range(rows)],
        "약물유해반응 n (%) [건]": [f"{i // 2} ({i / 2 / rows * 100:.1f}%) [{i}]" for i in range(rows)],
        "중대한 유해사례": ["0 (0.0%)"] * rows,
        "예상하지 못한 유해사례": ["1 (1.3%)"] * rows,
        "비고": ["다발골수종 환자"] * rows,
    })


def _build(created: dt.datetime = CREATED) -> ReportDocument:
    doc = ReportDocument(created=created, header_text=HEADER_TEXT, title="재심사 결과보고서", author="sub")
    doc.cover(TITLE, subtitle="다발골수종 환자 사용성적조사", facts=[("의뢰자", "Celgene Korea"), ("자료", "합성")],
              note="합성 자료 (SYNTHETIC DATA)")
    doc.toc()
    doc.heading("1. 개요", 1)
    doc.paragraph("유해사례의 발현율은 인과관계와 상관없이 12.34%(77/624명, 120건)로 보고되었다.")
    doc.heading("2. 안전성", 1, landscape=True)
    doc.table(_frame(), caption="기관별 유해사례 발현율", footnotes=["N: 안전성 평가대상자 수", "[ ]: 건수"],
              indent=[i % 2 for i in range(80)])
    doc.heading("3. 유효성", 1, landscape=False)
    doc.paragraph("전체 반응률은 43.6%였다.")
    return doc


def _part(data: bytes, name: str):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return etree.fromstring(z.read(name))


# --------------------------------------------------------------------------- the package

def test_two_builds_give_identical_bytes():
    assert _build().to_bytes() == _build().to_bytes()


def test_zip_entries_and_core_properties_carry_the_build_time():
    data = _build().to_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {info.date_time for info in z.infolist()} == {(2016, 12, 7, 9, 30, 0)}
        core = z.read("docProps/core.xml").decode("utf-8")
    assert "<dcterms:created xsi:type=\"dcterms:W3CDTF\">2016-12-07T09:30:00Z</dcterms:created>" in core
    assert "2016-12-07T09:30:00Z</dcterms:modified>" in core
    assert "python-docx" not in core


def test_source_date_epoch_sets_the_document_time(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1481103000")  # 2016-12-07 09:30:00 UTC
    created = build_timestamp(dt.datetime(2000, 1, 1))
    assert _build(created).to_bytes() == _build(CREATED).to_bytes()


def test_every_style_and_run_names_the_east_asian_font():
    data = _build().to_bytes()
    styles = _part(data, "word/styles.xml")
    defaults = styles.find("w:docDefaults/w:rPrDefault/w:rPr/w:rFonts", NS)
    assert defaults.get(f"{W}eastAsia") == DEFAULT_FONT
    by_id = {s.get(f"{W}styleId"): s for s in styles.findall("w:style", NS)}
    for style_id in ("Normal", "Heading1", "Heading2", "Heading3", "Title", "Caption", "Header", "Footer",
                     "TableGrid", "TOC1", "TOC2", "TableText", "TableFootnote"):
        fonts = by_id[style_id].find("w:rPr/w:rFonts", NS)
        assert fonts is not None, style_id
        assert fonts.get(f"{W}eastAsia") == DEFAULT_FONT, style_id
        assert fonts.get(f"{W}ascii") == DEFAULT_FONT, style_id
        assert not any(k.endswith("Theme") or k.endswith("theme") for k in fonts.attrib), style_id
    for part in ("word/document.xml", "word/header1.xml", "word/footer1.xml"):
        root = _part(data, part)
        runs = [r for r in root.iter(f"{W}r") if r.find("w:t", NS) is not None]
        assert runs, part
        for run in runs:
            assert run.find("w:rPr/w:rFonts", NS).get(f"{W}eastAsia") == DEFAULT_FONT, part


def test_pages_are_a4_and_the_table_section_is_landscape():
    body = _part(_build().to_bytes(), "word/document.xml")
    sizes = [(int(s.get(f"{W}w")), int(s.get(f"{W}h")), s.get(f"{W}orient")) for s in body.iter(f"{W}pgSz")]
    assert sizes == [(11906, 16838, None), (16838, 11906, "landscape"), (11906, 16838, None)]


def test_table_header_repeats_and_rows_do_not_split():
    body = _part(_build().to_bytes(), "word/document.xml")
    table = max(body.iter(f"{W}tbl"), key=lambda t: len(t.findall("w:tr", NS)))
    rows = table.findall("w:tr", NS)
    assert len(rows) == 81
    assert rows[0].find("w:trPr/w:tblHeader", NS) is not None
    assert all(r.find("w:trPr/w:tblHeader", NS) is None for r in rows[1:])
    assert all(r.find("w:trPr/w:cantSplit", NS) is not None for r in rows)
    assert table.find("w:tblPr/w:tblLayout", NS).get(f"{W}type") == "fixed"
    widths = [int(c.get(f"{W}w")) for c in table.findall("w:tblGrid/w:gridCol", NS)]
    assert sum(widths) == pytest.approx((297 - 40) * 1440 / 25.4, abs=10)  # landscape text width


def test_caption_toc_and_page_fields():
    doc = ReportDocument(created=CREATED)
    doc.toc()
    doc.lists_of_captions([("표 목차", "Table")])
    doc.heading("1. 개요", 1)
    doc.heading("2. 안전성", 1, landscape=True)
    doc.table(_frame(3), caption="기관별 유해사례 발현율")
    doc.heading("3. 유효성", 1, landscape=False)
    body = _part(doc.to_bytes(), "word/document.xml")
    instructions = [t.text.strip() for t in body.iter(f"{W}instrText")]
    assert not any(i.startswith("TOC") for i in instructions)  # LibreOffice would show a TOC field as cached
    assert "SEQ Table \\* ARABIC" in instructions
    # every contents entry links to a bookmark on its heading and gives its page with a PAGEREF field
    marks = {b.get(f"{W}name"): b.getparent() for b in body.iter(f"{W}bookmarkStart")}
    entries = [p for p in body.iter(f"{W}p") if (s := p.find("w:pPr/w:pStyle", NS)) is not None
               and s.get(f"{W}val") == "TOC1"]
    assert len(entries) == 3 + 1  # three headings, one table in the list of tables
    for entry in entries:
        link = entry.find("w:hyperlink", NS)
        anchor = link.get(f"{W}anchor")
        assert [t.text.strip() for t in link.iter(f"{W}instrText")] == [f"PAGEREF {anchor} \\h"]
        target = marks[anchor]
        title = "".join(t.text for t in target.iter(f"{W}t"))
        assert "".join(t.text for t in link.iter(f"{W}t")).startswith(title)
    assert sorted(marks) == [f"_Toc{i:09d}" for i in range(1, 5)]
    footer = _part(_build().to_bytes(), "word/footer1.xml")
    assert [t.text.strip() for t in footer.iter(f"{W}instrText")] == ["PAGE", "NUMPAGES"]
    text = "".join(t.text or "" for t in footer.iter(f"{W}t"))
    assert text.endswith("쪽")


def _figure_document():
    from matplotlib.figure import Figure

    from submission.tlf.fonts import korean_font

    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    ax.bar(["sCR", "CR", "VGPR", "PR"], [3, 10, 20, 30])
    ax.set_title("최량 반응", family=korean_font())
    doc = ReportDocument(created=CREATED)
    number = doc.figure(fig, caption="최량 반응 분포", width_mm=100)
    return doc, number


def test_figures_are_numbered_and_embedded_identically():
    first, number = _figure_document()
    second, _ = _figure_document()
    assert number == 1
    data = first.to_bytes()
    assert data == second.to_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        images = [n for n in z.namelist() if n.startswith("word/media/")]
    assert len(images) == 1 and images[0].endswith(".png")
    body = _part(data, "word/document.xml")
    assert "SEQ Figure \\* ARABIC" in [t.text.strip() for t in body.iter(f"{W}instrText")]


def test_toc_page_numbers_can_be_filled_in_and_output_is_repeatable():
    doc = _build()
    doc.toc_pages = [3, 4, 6]
    data = doc.to_bytes()
    assert data == doc.to_bytes()  # the TOC is rewritten, not appended, on every call
    body = _part(data, "word/document.xml")
    toc = [p for p in body.iter(f"{W}p") if (s := p.find("w:pPr/w:pStyle", NS)) is not None and s.get(f"{W}val") == "TOC1"]
    texts = ["".join("\t" if e.tag == f"{W}tab" else e.text for e in p.iter(f"{W}t", f"{W}tab")) for p in toc]
    assert texts == ["1. 개요\t3", "2. 안전성\t4", "3. 유효성\t6"]


def test_without_pages_the_contents_say_so_and_word_updates_the_fields_on_opening():
    doc = _build()
    doc.toc_note = "※ 쪽 번호는 Word에서 문서를 열어 필드를 업데이트하면(F9) 표시된다."
    data = doc.to_bytes()
    body = _part(data, "word/document.xml")
    texts = ["".join(t.text or "" for t in p.iter(f"{W}t")) for p in body.iter(f"{W}p")]
    assert texts.index(doc.toc_note) == texts.index("목차") + 1  # right under the contents' title
    settings = _part(data, "word/settings.xml")
    update = settings.find("w:updateFields", NS)
    assert update is not None and update.get(f"{W}val") == "true"
    after = [c.tag.split("}")[1] for c in settings]
    assert after.index("updateFields") < after.index("compat")  # its place in the schema's sequence
    entries = [p for p in body.iter(f"{W}p") if (s := p.find("w:pPr/w:pStyle", NS)) is not None
               and s.get(f"{W}val") == "TOC1"]
    assert ["".join(t.text or "" for t in p.iter(f"{W}t")) for p in entries] == ["1. 개요", "2. 안전성", "3. 유효성"]

    doc.toc_note, doc.toc_pages = None, [3, 4, 6]
    data = doc.to_bytes()
    texts = ["".join(t.text or "" for t in p.iter(f"{W}t")) for p in _part(data, "word/document.xml").iter(f"{W}p")]
    assert "1. 개요3" in texts and not any("F9" in t for t in texts)
    assert _part(data, "word/settings.xml").find("w:updateFields", NS) is None


def test_table_rejects_mismatched_widths():
    doc = ReportDocument(created=CREATED)
    with pytest.raises(ValueError, match="col_widths_mm"):
        doc.table(_frame(2), col_widths_mm=[10, 20])


# --------------------------------------------------------------------------- rendered by LibreOffice

needs_office = pytest.mark.skipif(
    soffice_path() is None or not poppler_available(),
    reason=f"LibreOffice or poppler is not installed (install: {INSTALL_HINT})",
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docx")
    doc = _build()
    path = folder / "report.docx"
    doc.save(path)
    return doc, docx_to_pdf(path, folder)


@needs_office
def test_pdf_shows_korean_text_and_table_numbers(rendered):
    _, pdf = rendered
    text = "".join(pdf_page_texts(pdf))
    squashed = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", TITLE) in squashed
    assert "1553" in text  # 1000 + 7 * 79, the table's last row
    assert "12.34%(77/624명,120건)" in squashed
    assert "NanumGothic" in pdf_fonts(pdf)


@needs_office
def test_pdf_is_a4_with_landscape_table_pages(rendered):
    _, pdf = rendered
    pages = pdf_pages(pdf)
    assert pages > 1
    sizes = pdf_page_sizes(pdf)
    assert len(sizes) == pages and all(is_a4(s) for s in sizes)
    texts = pdf_page_texts(pdf)
    table_pages = [i for i, t in enumerate(texts) if "기관 " in t]
    assert len(table_pages) >= 2
    assert all(sizes[i][0] > sizes[i][1] for i in table_pages)  # landscape
    assert sizes[0][0] < sizes[0][1]  # the cover is portrait


@needs_office
def test_pdf_repeats_the_table_header_on_the_next_page(rendered):
    _, pdf = rendered
    texts = pdf_page_texts(pdf)
    table_pages = [i for i, t in enumerate(texts) if "기관 " in t]
    second = texts[table_pages[1]]
    assert "대상자 수" in second and "예상하지" in second
    assert "표 1" not in second  # the caption does not repeat, only the header row


@needs_office
def test_pdf_header_footer_and_static_toc(rendered):
    doc, pdf = rendered
    texts = pdf_page_texts(pdf)
    total = len(texts)
    assert "RVL-MM-DUE-KR" not in texts[0]  # no header on the cover
    for number, page in enumerate(texts[1:], start=2):
        assert "RVL-MM-DUE-KR" in page
        assert re.search(rf"{number}\s*/\s*{total}\s*쪽", page), page[-80:]
    toc_page = re.sub(r"\s+", "", texts[1])
    assert all(re.sub(r"\s+", "", title) in toc_page for _, title in doc.headings)
    pages = heading_pages(pdf, [title for _, title in doc.headings], start_page=3)
    assert pages[0] == 3 and pages[1] == 4 and pages[2] > pages[1]


def test_table_cells_keep_their_text_exactly():
    """Table rows are written as XML text and parsed once: markup characters, a carriage return,
    line breaks, an empty cell and bold/indented rows read back as given."""
    import docx

    doc = ReportDocument(created=dt.datetime(2020, 1, 1))
    frame = pd.DataFrame({"구분": ["A & <b>", "x\ry", "두 줄\n둘째"], "n (%)": ["1 (2.0%)", "", "<0.001"]})
    doc.table(frame, caption="표제", indent=[0, 1, 0], bold_rows=[0])
    table = docx.Document(io.BytesIO(doc.to_bytes())).tables[0]
    cells = [[c.text for c in row.cells] for row in table.rows]
    assert cells == [["구분", "n (%)"], ["A & <b>", "1 (2.0%)"], ["x\ry", ""], ["두 줄\n둘째", "<0.001"]]
    first = table.rows[1].cells[0].paragraphs[0].runs[0]
    assert first.bold and not table.rows[2].cells[0].paragraphs[0].runs[0].bold
    assert table.rows[2].cells[0].paragraphs[0].paragraph_format.left_indent is not None
