"""Measured column widths and row groups of the report's tables (submission/tlf/widths.py, docx.table).

Unit tests on tiny inline frames; the rendering test (test_report_layout.py) checks the bundled
report as LibreOffice lays it out.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pandas as pd
import pytest

from submission.tlf import widths as w
from submission.tlf.docx import PageSetup, ReportDocument

PORTRAIT = PageSetup().text_width_mm(False)  # 170 mm
LANDSCAPE = PageSetup().text_width_mm(True)  # 257 mm


def _text_width(landscape: bool) -> float:
    return LANDSCAPE if landscape else PORTRAIT


def _least(text: str, size: float = 8.0, bold: bool = False) -> float:
    return w.text_width_mm(text, size, bold=bold) + w.CELL_MARGIN_MM


def test_a_count_with_its_percentage_and_a_p_value_are_one_piece_each():
    assert list(w.unbreakable("210 (79.5%)")) == ["210 (79.5%)"]
    assert list(w.unbreakable("<0.001")) == ["<0.001"]
    assert list(w.unbreakable("4 (0.9%) [6]")) == ["4 (0.9%) [6]"]
    assert list(w.unbreakable("0.22 (0.04, 1.09)")) == ["0.22 (0.04, 1.09)"]
    assert list(w.unbreakable("Fisher의 정확 검정 (Freeman-Halton)")) == ["Fisher의", "정확", "검정", "(Freeman-Halton)"]
    assert list(w.unbreakable("365일 미만 (N=434)")) == ["365일", "미만", "(N=434)"]


def test_widths_come_from_the_font():
    # Hangul is wider than digits, bold no narrower than regular, the width grows with the size
    assert w.text_width_mm("가가가", 8) > w.text_width_mm("000", 8) > 0
    assert w.text_width_mm("210 (79.5%)", 8, bold=True) >= w.text_width_mm("210 (79.5%)", 8)
    assert w.text_width_mm("<0.001", 10) == pytest.approx(w.text_width_mm("<0.001", 8) * 10 / 8)
    # NanumGothic's digit is 0.606 em, DejaVu Sans' 0.636 em: the wider one is used
    assert w.text_width_mm("0", 72) == pytest.approx(0.636 * 25.4, abs=0.05)


def test_statistics_get_their_measured_width_and_the_label_column_the_rest():
    frame = pd.DataFrame({
        "요인": ["크레아티닌 청소율군(mL/min)", "", "", "이전 조혈모세포이식 여부에 따른 구분이 매우 긴 요인 이름", ""],
        "대상자 수": ["50", "222", "298", "477", "122"],
        "약물유해반응 n (%)": ["34 (68.0%)", "210 (79.5%)", "249 (83.6%)", "383 (80.3%)", "96 (78.7%)"],
        "p-value": ["<0.001", "", "", "0.693", ""],
    })
    header = list(frame.columns)
    rows = frame.values.tolist()
    fit = w.fit_table(header, rows, size_pt=8, landscape=False, text_width_mm=_text_width, label_columns=1)
    assert not fit.note and fit.size_pt == 8 and not fit.landscape
    assert sum(fit.widths_mm) == pytest.approx(PORTRAIT)
    assert fit.widths_mm[2] >= _least("210 (79.5%)")
    assert fit.widths_mm[2] >= _least("249 (83.6%)")
    assert fit.widths_mm[3] >= _least("<0.001")
    # the statistics are no wider than their longest line (or header word): the label column has the rest
    assert fit.widths_mm[3] == pytest.approx(max(_least("<0.001"), _least("p-value", bold=True)))
    assert fit.widths_mm[0] > PORTRAIT / 2


def test_a_label_column_shrinks_to_its_longest_word_before_a_number_wraps():
    long_label = " ".join(["매우긴요인이름"] * 12)
    frame = pd.DataFrame({"요인": [long_label], **{f"군 {k}": ["1234 (100.0%) [5678]"] for k in range(4)}})
    fit = w.fit_table(list(frame.columns), frame.values.tolist(), size_pt=8, landscape=False,
                      text_width_mm=_text_width)
    assert not fit.note
    for j in range(1, 5):
        assert fit.widths_mm[j] >= _least("1234 (100.0%) [5678]")
    assert fit.widths_mm[0] >= _least("매우긴요인이름")
    assert w.line_count(long_label, fit.widths_mm[0], 8) > 1  # the label wraps, at spaces


def test_too_many_statistic_columns_take_a_smaller_font_then_a_landscape_page():
    def fit(n_columns: int, **kw):
        frame = pd.DataFrame({"구분": ["합계"], **{f"군{k}": ["1234 (100.0%)"] for k in range(n_columns)}})
        return w.fit_table(list(frame.columns), frame.values.tolist(), size_pt=8, landscape=False,
                           text_width_mm=_text_width, **kw)

    def needed(n_columns: int, size: float, page: float) -> bool:
        frame = pd.DataFrame({"구분": ["합계"], **{f"군{k}": ["1234 (100.0%)"] for k in range(n_columns)}})
        needs = w.column_needs(list(frame.columns), frame.values.tolist(), size)
        return sum(n.least for n in needs) > page

    assert not fit(4).note
    piece = _least("1234 (100.0%)")
    n_small = next(n for n in range(1, 30) if needed(n, 8, PORTRAIT) and not needed(n, 7, PORTRAIT))
    smaller = fit(n_small)
    assert smaller.size_pt == 7 and not smaller.landscape and "7 pt" in smaller.note
    assert all(x >= _least("1234 (100.0%)", 7) - 1e-9 for x in smaller.widths_mm[1:])
    wide = fit(next(n for n in range(n_small, 40) if needed(n, 7, PORTRAIT) and not needed(n, 8, LANDSCAPE)))
    assert wide.landscape and wide.size_pt == 8 and "landscape" in wide.note
    assert all(x >= piece - 1e-9 for x in wide.widths_mm[1:])
    # no landscape allowed and too wide even at the smaller size: squeezed, and it says so
    squeezed = fit(wide.widths_mm.__len__() - 1, allow_landscape=False)
    assert not squeezed.landscape and "wrap" in squeezed.note
    assert sum(squeezed.widths_mm) == pytest.approx(PORTRAIT)


def test_row_groups_follow_indents_and_empty_first_cells():
    soc_pt = [["감염", "3"], ["폐렴", "2"], ["대상포진", "1"], ["혈액", "2"], ["빈혈", "2"]]
    assert w.row_groups(soc_pt, [0, 1, 1, 0, 1]) == [(0, 3), (3, 5)]
    factors = [["성별", "여성"], ["", "남성"], ["연령군", "<65"], ["", "≥65"], ["", "결측"]]
    assert w.row_groups(factors) == [(0, 2), (2, 5)]


def _document_xml(doc: ReportDocument) -> str:
    with zipfile.ZipFile(io.BytesIO(doc.to_bytes())) as z:
        return z.read("word/document.xml").decode("utf-8")


def _rows(xml: str) -> list[str]:
    body = xml.split("<w:tbl>", 1)[1].split("</w:tbl>", 1)[0]
    return body.split("<w:tr>")[1:]


def test_every_row_of_a_group_but_its_last_keeps_with_the_next():
    doc = ReportDocument(created=dt.datetime(2020, 1, 1))
    frame = pd.DataFrame({"SOC/PT": ["감염", "폐렴", "대상포진", "혈액", "빈혈"], "n (%)": ["3 (1.0%)"] * 5})
    doc.table(frame, caption="표", indent=[0, 1, 1, 0, 1])
    rows = _rows(_document_xml(doc))
    keeps = ["<w:keepNext/>" in r for r in rows]
    assert keeps == [True, True, True, False, True, False]  # header, 감염, 폐렴 | 대상포진 ends; 혈액 | 빈혈 ends
    assert all("<w:cantSplit/>" in r for r in rows)


def test_a_group_longer_than_a_page_continues_with_its_label_and_continued():
    doc = ReportDocument(created=dt.datetime(2020, 1, 1))
    pts = [f"기본 용어 {k}" for k in range(150)]
    frame = pd.DataFrame({"SOC/PT": ["감염 및 기생충 감염"] + pts, "n (%)": ["1 (0.2%)"] * 151})
    doc.table(frame, caption="표", indent=[0] + [1] * 150)
    xml = _document_xml(doc)
    rows = _rows(xml)
    continued = [i for i, r in enumerate(rows) if "감염 및 기생충 감염 (계속)" in r]
    assert len(continued) >= 2  # 150 rows of about 4 mm: three or more pages
    first_page = continued[0] - 1  # header row excluded
    assert 30 < first_page < 62  # about a page of rows per chunk
    # the row before each continuation ends a chunk (does not keep with the next), every other row keeps
    for i in continued:
        assert "<w:keepNext/>" not in rows[i - 1]
        assert "<w:keepNext/>" in rows[i]
    assert "<w:keepNext/>" not in rows[-1]
    # every PT printed once
    for pt in pts:
        assert xml.count(f">{pt}<") == 1


def test_a_table_too_wide_for_portrait_goes_on_a_landscape_page_and_says_so():
    doc = ReportDocument(created=dt.datetime(2020, 1, 1))
    frame = pd.DataFrame({"구분": ["합계"], **{f"군{k}": ["1234 (100.0%)"] for k in range(12)}})
    doc.table(frame, caption="넓은 표", landscape=False)
    xml = _document_xml(doc)
    assert 'w:orient="landscape"' in xml
    assert doc.layout_notes and "넓은 표" in doc.layout_notes[0]


def test_a_forest_plot_without_an_estimable_odds_ratio_is_one_sentence():
    from submission.tlf.report import _empty_reason
    from submission.tlf.table import FigureResult

    def forest(estimable):
        ard = pd.DataFrame({"variable": ["..model..", "CRCLGR1", "CRCLGR1"], "variable_level": [None, "<30", "<30"],
                            "stat_name": ["status", "estimate", "estimable"], "stat": ["ok", None, estimable]})
        return FigureResult("F-08-FOREST", "요인: 오즈비(숲 그림)", b"", ard)

    assert "그림을 제시하지 않았다" in _empty_reason(forest(False))
    assert "그림을 제시하지 않았다" in _empty_reason(forest("false"))
    assert _empty_reason(forest(True)) is None
