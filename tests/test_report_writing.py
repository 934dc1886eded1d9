"""The report as a regulatory writer's document (issue 12): MFDS section order, words a reviewer reads,
Korean term names, the label change, honest empty cases.

Unit tests run on small inputs. The acceptance tests build the bundled study and a 50-subject
synthetic study with `sub build`, render each report with LibreOffice and read the PDF's text; they
skip, saying why, when LibreOffice or poppler is missing.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from submission.cli import main
from submission.errors import SubError
from submission.study import load_settings
from submission.tlf import fmt
from submission.tlf import glossary as ko
from submission.tlf.ard import read_ard_csv
from submission.tlf.sponsor_text import TEXTS, SponsorTexts, parse
from submission.tlf.terms_ko import TERMS_FILE, TermNames

from .conftest import ROOT, SPECS

SETTINGS = load_settings(SPECS)

# The MFDS order of a 재심사 결과보고서 of a 사용성적조사: every heading, in order, in the body and the contents.
SECTIONS = [
    "1. 개요", "1.1 제품 개요", "1.2 재심사 기간", "1.3 조사 목적",
    "2. 조사 방법", "2.1 조사 기간, 조사 기관 및 대상자 수", "2.2 조사 항목", "2.3 분석 대상군", "2.4 용어의 정의",
    "2.5 통계 분석 방법",
    "3. 조사 결과", "3.1 조사대상자 현황", "3.2 인구학적 정보 및 기저 특성", "3.3 이 약의 투여 현황",
    "3.4 과거 병력 및 병용 약물", "3.5 안전성 평가", "3.5.1 유해사례 및 약물유해반응 발현 현황",
    "3.5.2 기관계 대분류 및 기본 용어별 발현 현황", "3.5.3 중증도별 발현 현황", "3.5.4 중대성별 발현 현황",
    "3.5.5 발현 시기별 발현 현황", "3.5.6 투여 기간별 발현 현황", "3.5.7 결과별 발현 현황", "3.5.8 사망",
    "3.6 특수 환자군에 대한 안전성", "3.7 안전성에 영향을 미치는 요인", "3.8 유효성 평가",
    "3.9 유효성에 영향을 미치는 요인",
    "4. 국내외 안전성 정보", "4.1 외국 허가 현황", "4.2 국내외 안전성 조치", "4.3 문헌 보고",
    "5. 종합 고찰 및 결론", "5.1 안전성", "5.2 유효성", "5.3 고찰",
    "6. 사용상의 주의사항 변경(안)", "6.1 이상반응 항 변경(안)", "6.2 현행/변경(안) 대비표",
    "별첨. 개별 사례 목록",
]

# What a reviewer must never read in the body: variable names, settings keys, commands, files, hashes.
FORBIDDEN = {
    "a flag variable": re.compile(r"\b[A-Z]{2,}FL\b"),
    "a treatment variable": re.compile(r"\bTRT[A-Z0-9]+\b"),
    "an analysis value": re.compile(r"\bAVALC?\b"),
    "an ADaM or SDTM event variable": re.compile(r"\bAE(?:SER|OUT|ACN|SDTH|DECOD|BODSYS|REL)\b"),
    "a settings key": re.compile(r"study settings|conventions\.|dates\.|groups\.[A-Z]|_[a-z]+_[a-z]+"),
    "a backtick": re.compile(r"`"),
    "a file name": re.compile(r"\.(?:toml|csv|xpt|json|html|md)\b"),
    "a command": re.compile(r"\bsub (?:synth|build|trace|report|tlf)\b"),
    "a hash": re.compile(r"SHA-?256|\b[0-9a-f]{12,}\b"),
}


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# --------------------------------------------------------------------------- units: the glossary

def test_one_wording_of_yes_no_bounds_and_zero():
    assert ko.value_label("HEPIMPFL", "Y") == "있음" and ko.value_label("DOSREDFL", "N") == "없음"
    assert ko.value_label("AGEGR1", ">=65") == "≥65" and ko.symbols("30-<60, <=5") == "30-<60, ≤5"
    assert fmt.fmt_n_pct(0, 599, 1, zero=ko.ZERO) == "0"
    # the factor tables and the demographics table name a variable the same way
    from submission.tlf.tables_base import variable_label
    from submission.tlf.tables_safety import Conventions, _factor_name

    conv = Conventions.of(SETTINGS)
    for var in ("ANYMHFL", "CRCLGR1", "AGEGR1", "BMIGR1", "ISSBL", "ANYCMFL"):
        assert _factor_name(var, conv) == variable_label(var, SETTINGS), var


# --------------------------------------------------------------------------- units: Korean term names

def test_korean_names_by_code_then_by_name_else_english(tmp_path):
    (tmp_path / TERMS_FILE).write_text(
        "dictionary,level,code,name_en,name_ko,source\n"
        "MedDRA,PT,10029354,Neutropenia,호중구감소증,test\n"
        "MedDRA,SOC,10005329,Blood and lymphatic system disorders,혈액 및 림프계 장애,test\n"
        "WHODrug,DRUG,,WARFARIN,와파린,test\n", encoding="utf-8")
    names = TermNames.load(tmp_path)
    adam = {
        "ADAE": pd.DataFrame({"AEDECOD": ["Neutropenia", "Hiccups"], "AEPTCD": [10029354.0, 10020039.0],
                              "AEBODSYS": ["Blood and lymphatic system disorders", "Gastrointestinal disorders"],
                              "AEBDSYCD": [10005329.0, 10017947.0]}),
        "ADCM": pd.DataFrame({"CMDECOD": ["WARFARIN"], "CMCLAS": ["Vitamin K antagonists"], "CMCLASCD": ["B01AA"]}),
    }
    labels = names.for_adam(adam)
    assert labels("Neutropenia") == "호중구감소증" and labels("WARFARIN") == "와파린"
    assert labels("Hiccups") == "Hiccups"  # no Korean name: the English one
    assert labels.with_english("Neutropenia") == "호중구감소증(Neutropenia)"
    assert labels.untranslated == {"Hiccups", "Gastrointestinal disorders", "Vitamin K antagonists"}


def test_a_malformed_table_of_korean_names_stops_with_every_problem(tmp_path):
    (tmp_path / TERMS_FILE).write_text("dictionary,level,code,name_en,name_ko,source\nMedDRA,LLT,1,A,가,x\n"
                                       "MedDRA,PT,2,B,,x\n", encoding="utf-8")
    with pytest.raises(SubError) as info:
        TermNames.load(tmp_path)
    assert {(p.row, p.column) for p in info.value.problems} == {(2, "level"), (3, "name_ko")}


def test_the_bundled_study_has_a_korean_name_for_every_term_it_generates():
    terms = pd.read_csv(ROOT / "submission" / "raw" / "synth_terms" / "ae_terms.csv", dtype=str)
    history = pd.read_csv(ROOT / "submission" / "raw" / "synth_terms" / "mh_terms.csv", dtype=str)
    drugs = pd.read_csv(ROOT / "submission" / "raw" / "synth_terms" / "cm_terms.csv", dtype=str)
    names = TermNames.load(SPECS)
    for frame in (terms, history):
        for pt, ptcd, soc, soccd in frame[["pt", "ptcd", "soc", "soccd"]].itertuples(index=False):
            assert names.korean("PT", pt, ptcd), pt
            assert names.korean("SOC", soc, soccd), soc
    for name, atc in drugs[["cmdecod", "atccd"]].itertuples(index=False):
        assert names.korean("DRUG", name) and names.korean("ATC4", atc, atc), name


# --------------------------------------------------------------------------- units: sponsor texts

def test_sponsor_markdown_paragraphs_lists_tables_and_comments():
    blocks = parse("<!-- a note for the author -->\n첫 문단\n이어지는 줄\n\n- 항목 하나\n\n| 국가 | 허가일 |\n|---|---|\n"
                   "| A | 2010-01-01 |\n")
    assert [b.kind for b in blocks] == ["p", "li", "table"]
    assert blocks[0].text == "첫 문단 이어지는 줄" and blocks[2].rows == (("국가", "허가일"), ("A", "2010-01-01"))


def test_the_bundled_study_ships_every_sponsor_text_marked_synthetic():
    texts = SponsorTexts.load(SPECS)
    assert texts.warnings == []
    for key in TEXTS:
        assert "합성 예시" in texts[key].plain_text(), key


def test_a_missing_sponsor_text_is_a_placeholder_and_a_warning(tmp_path):
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    (specs / "report" / "literature.md").unlink()
    (specs / "report" / "discussion.md").write_text("<!-- nothing yet -->\n", encoding="utf-8")
    texts = SponsorTexts.load(specs)
    assert texts["literature"].missing and texts["discussion"].missing
    assert [w.split()[0] for w in texts.warnings] == ["report/literature.md", "report/discussion.md"]
    assert texts["literature"].placeholder.startswith("【작성 필요】 국내외 문헌 보고")


# --------------------------------------------------------------------------- the bundled study, rendered

def _render(docx: Path, folder: Path) -> list[str]:
    from submission.tlf.render import docx_to_pdf, pdf_page_texts, poppler_available, soffice_path

    if soffice_path() is None or not poppler_available():
        pytest.skip("LibreOffice or poppler is not installed (apt-get install libreoffice-writer fonts-nanum "
                    "poppler-utils): the report cannot be rendered")
    return pdf_page_texts(docx_to_pdf(docx, folder))


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundled") / "out"
    result = _run("build", "--out", out)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def bundled_pages(bundled, tmp_path_factory) -> list[str]:
    return _render(bundled / "report" / "re-examination-report.docx", tmp_path_factory.mktemp("pdf"))


def _body(pages: list[str]) -> str:
    """The text after the contents and the lists of tables and figures (the body starts at 1. 개요)."""
    start = next(i for i, page in enumerate(pages) if i > 1 and re.search(r"^\s*1\. 개요\s*$", page, re.M))
    return "\n".join(pages[start:])


def test_the_rendered_report_has_no_programmers_words(bundled_pages):
    text = "\n".join(bundled_pages)
    found = {what: sorted(set(pattern.findall(text)))[:5] for what, pattern in FORBIDDEN.items()
             if pattern.search(text)}
    assert found == {}


def test_every_mfds_section_is_in_order_and_in_the_contents(bundled, bundled_pages):
    body = _squash(_body(bundled_pages))
    contents = _squash("\n".join(bundled_pages[1:4]))
    position = 0
    for heading in SECTIONS:
        found = body.find(_squash(heading), position)
        assert found >= 0, f"{heading} missing or out of order"
        position = found
        assert _squash(heading) in contents, f"{heading} not in the contents"
    assert "표목차" in contents and "그림목차" in contents
    log = (bundled / "build.log").read_text(encoding="utf-8")
    assert "warning: report/" not in log  # every sponsor text of the bundled study was found


def test_cross_references_are_numbers(bundled_pages):
    body = _body(bundled_pages)
    assert "표 조사대상자 현황" not in body
    assert re.search(r"\(표 1, 그림 1\)", body)  # the disposition sentence cites its table and figure by number


def _ard_incidence(ard: pd.DataFrame, key: str, digits: int) -> str:
    rows = ard[ard["output_id"].eq("T-05") & ard["variable"].eq(key) & ard["group1_level"].isna()]
    stat = dict(zip(rows["stat_name"], rows["stat"]))
    return fmt.label_incidence(int(stat["n"]), int(stat["N"]), int(stat["events"]), digits)


def test_the_label_change_quotes_the_ard(bundled, bundled_pages):
    ard = read_ard_csv(bundled / "tlf" / "ard.csv")
    digits = SETTINGS.conventions.percent_decimals_summary
    body = _squash(_body(bundled_pages))
    proposed = body[body.index(_squash("6.1 이상반응 항 변경(안)")):body.index(_squash("6.2 현행/변경(안) 대비표"))]
    table = body[body.index(_squash("6.2 현행/변경(안) 대비표")):body.index(_squash("별첨. 개별 사례 목록"))]
    for key in ("AE", "ADR", "SAE", "SADR", "UAE", "UADR"):
        incidence = _squash(_ard_incidence(ard, key, digits))
        assert incidence in proposed and incidence in table, key
    # the ADR PTs with their numbers, in Korean; the new unexpected ADRs named by SOC
    pts = ard[ard["output_id"].eq("T-13") & ard["group1_level"].eq("UADR") & ard["variable"].eq("AEDECOD")]
    names = TermNames.load(SPECS)
    for (soc, pt), group in list(pts.groupby(["group2_level", "variable_level"], sort=False))[:5]:
        stat = dict(zip(group["stat_name"], group["stat"]))
        incidence = fmt.label_incidence(int(stat["n"]), int(stat["N"]), int(stat["events"]), digits)
        shown = f"{names.korean('PT', pt)} {incidence}"
        assert _squash(shown) in proposed and _squash(shown) in table, pt
        assert _squash(names.korean("SOC", soc)) in proposed
    label = ard[ard["output_id"].eq("T-LABEL-01")]
    assert len(label) and set(label["stat_name"]) >= {"n", "N", "events"}  # the table's numbers are ARD rows
    assert "<신설>" in table and "현행과같음" in table


def test_soc_pt_tables_and_sentences_show_korean_names(bundled, bundled_pages):
    body = _body(bundled_pages)
    start = body.index("기관계 대분류(SOC) 및 기본 용어(PT)별 유해사례 발현 현황")
    soc_pt = body[start:start + 4000]
    assert "혈액 및 림프계 장애" in soc_pt and "호중구감소증" in soc_pt and "Neutropenia" not in soc_pt
    conclusion = _squash(body[body.index("5.1 안전성"):body.index("5.2 유효성")])
    assert _squash("호중구감소증(Neutropenia)") in conclusion  # the English name at first use
    assert conclusion.count("(Neutropenia)") == 1


# --------------------------------------------------------------------------- a small study: empty cases

@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("small")
    assert _run("synth", "--subjects", 50, "--out", root / "raw").exit_code == 0
    result = _run("build", "--raw", root / "raw", "--out", root / "out")
    assert result.exit_code == 0, result.output
    return root / "out"


def test_a_fifty_subject_report_has_no_empty_table_figure_or_contradictory_note(small, tmp_path):
    pages = _render(small / "report" / "re-examination-report.docx", tmp_path)
    text = "\n".join(pages)
    body = _squash(_body(pages))
    assert "포함했다(없음)" not in body and "해당사례없음" not in body
    assert "다변량분석에포함된요인이없음" not in body  # never an empty forest plot
    ard = read_ard_csv(small / "tlf" / "ard.csv")
    fitted = ard[ard["output_id"].eq("T-08-MV") & ard["stat_name"].eq("n_factors")]["stat"]
    if int(fitted.iloc[0]) == 0:  # no factor entered: one sentence, no table and no figure
        assert body.count(_squash("p < 0.05인 요인이 없어 다변량 로지스틱 회귀분석을 하지 않았다")) >= 1
        assert _squash("약물유해반응 발현에 영향을 미치는 요인: 다변량") not in body
        assert _squash("오즈비(숲 그림)") not in body
    children = ard[ard["output_id"].eq("T-09-00")]
    if "CHILDREN" not in set(children.get("group2_level", pd.Series(dtype=object))):
        assert _squash("소아(19세 미만): 안전성 평가대상자 중 해당하는 대상자가 없어 분석하지 않았다") in body
        assert _squash("특수 환자군: 소아") not in body  # one sentence, not a table of 해당 없음
    assert "임부" in text and "(등록된 임부 없음)" not in text
    for what, pattern in FORBIDDEN.items():
        assert not pattern.search(text), (what, pattern.findall(text)[:3])
