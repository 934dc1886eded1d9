"""The MFDS re-examination report (재심사 결과보고서): every table and figure, one ARD, one Word file.

`build_report` collects the `TableResult`s and `FigureResult`s of the base builders
(`tables_base`), the safety builders (`tables_safety`, `tables_adr`) and the label change
(`label_change`), writes their ARDs as one OUT/tlf/ard.csv and ard.json (every number of the
report is a row there), and writes OUT/report/re-examination-report.docx (a periodic safety report
of `sub build --cutoff`: periodic-safety-report.docx, tlf/periodic.py): A4, Korean, a cover
page, a table of contents and lists of tables and figures, then the sections of a Korean
재심사 결과보고서 of a 사용성적조사 in MFDS order:

    1. 개요 (제품 개요, 재심사 기간, 조사 목적)
    2. 조사 방법 (기간·기관·대상자 수, 조사 항목, 분석 대상군, 용어의 정의, 통계 분석 방법)
    3. 조사 결과 (대상자, 인구학적 정보, 투여, 병력·병용 약물, 안전성 3.5.1-3.5.8, 특수 환자군,
       안전성 요인, 유효성, 유효성 요인)
    4. 국내외 안전성 정보 (외국 허가 현황, 안전성 조치, 문헌: the sponsor's text)
    5. 종합 고찰 및 결론 (the MFDS summary sentences, efficacy, the sponsor's discussion)
    6. 사용상의 주의사항 변경(안) (the proposed adverse-reactions paragraph, 현행/변경(안) 대비표)
    별첨 (line listings)

The document is planned first (`_plan`: headings, paragraphs, outputs), so every table and figure
has its number before a word is written and the text cites them by number ("표 3", "그림 2").
The body is in the words a reviewer reads: definitions, never a variable name, settings key,
file, command or hash (the safety tables are built with `Conventions.plain`); MedDRA, ATC and
WHODrug terms are Korean from the study's `terms_ko.csv` (`terms_ko`); what the data cannot give
comes from the sponsor's Markdown under `report/` of the specs folder (`sponsor_text`), a missing
file leaving a visible placeholder and a warning for build.log. An empty table or figure, a
population nobody belongs to and a model no factor entered are one sentence each.

Footers "X / Y 쪽", the study id in the header; while the study settings say `synthetic`, the
cover, the header of every page and the first page of the text carry the notice that the data are
not real. The contents and the lists of tables and figures are entries linked to bookmarks on
the headings and captions, each with a PAGEREF field for its page (docx.py). When LibreOffice is
installed the document is rendered once (`_toc_page_numbers`): LibreOffice computes those fields
while laying it out, so that rendering prints the right pages; the headings' and captions' pages
read from it become the fields' cached values (what Word shows), which change nothing in the
layout, and with `pdf=True` the same rendering is OUT/report/re-examination-report.pdf (or
periodic-safety-report.pdf; heading
bookmarks, linked contents, embedded fonts, title, language ko-KR). LibreOffice runs in its own
process group with a time limit (render.py); when it is missing, fails or runs out of time, the
entries have no page numbers, a note under the contents' title says that Word fills them in, and
Word is asked to update the fields on opening; build.log says why (with `pdf=True` it is an error).

The methods state the label-terms table used for expectedness (its version and size; the SHA-256
goes to build.log). A table that cannot be read stops the report with its own problems.

Every number of the text is read from the ARD (`ard.ard_value`); the Korean terms come from
`glossary`. Same ADaM, settings and creation time give the same bytes: no wall clock, no absolute
path, no random order in any output.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import Problem, SubError
from . import fmt
from . import glossary as ko
from .ard import ard_value
from .sponsor_text import PLACEHOLDER, TEXTS, SponsorText, SponsorTexts, load_text
from .table import FigureResult, TableResult
from .tables_safety import Conventions
from .terms_ko import TERMS_FILE, TermLabels, TermNames

REPORT_DIR = "report"
REVIEW_DIR = "review"
TLF_DIR = "tlf"
DOCX_NAME = "re-examination-report.docx"
PDF_NAME = "re-examination-report.pdf"
# Under the contents' title when the page numbers are not filled in (no LibreOffice, or it failed).
TOC_NOTE = "※ 쪽 번호는 Word에서 문서를 열어 필드를 업데이트하면(F9) 표시된다."
ARD_CSV = "ard.csv"
ARD_JSON = "ard.json"
ADAM_DATASETS = ("ADSL", "ADAE", "ADRS", "ADEX", "ADCM", "ADMH")
# Read when present: a study that does not collect pregnancies has no ADPREG (the report says so).
OPTIONAL_ADAM = ("ADPREG",)
SYNTHETIC_NOTICE = "합성 자료(SYNTHETIC DATA): 실제 임상 자료가 아님"

# Report sections: (key, heading) in MFDS order. Results sections hold the TableResults/FigureResults
# whose `section` is the key; the safety section is split further by output id (SAFETY_PARTS).
RESULT_SECTIONS = [
    ("disposition", "3.1 조사대상자 현황"),
    ("demographics", "3.2 인구학적 정보 및 기저 특성"),
    ("exposure", "3.3 이 약의 투여 현황"),
    ("history", "3.4 과거 병력 및 병용 약물"),
    ("safety", "3.5 안전성 평가"),
    ("special_populations", "3.6 특수 환자군에 대한 안전성"),
    ("safety_factors", "3.7 안전성에 영향을 미치는 요인"),
    ("efficacy", "3.8 유효성 평가"),
    ("efficacy_factors", "3.9 유효성에 영향을 미치는 요인"),
]
# The safety section's parts: (heading, output-id prefixes) in order; "deaths" is text only.
SAFETY_PARTS = [
    ("3.5.1 유해사례 및 약물유해반응 발현 현황", ("T-05",)),
    ("3.5.2 기관계 대분류 및 기본 용어별 발현 현황", ("T-06", "F-12")),
    ("3.5.3 중증도별 발현 현황", ("T-07-SEV", "T-07-GRADE")),
    ("3.5.4 중대성별 발현 현황", ("T-07-SER",)),
    ("3.5.5 발현 시기별 발현 현황", ("T-07-ONSET",)),
    ("3.5.6 투여 기간별 발현 현황", ("T-07-DUR",)),
    ("3.5.7 결과별 발현 현황", ("T-07-OUT",)),
    ("3.5.8 사망", ()),
]
APPENDIX_SECTION = "listings"
LABEL_SECTION = "label"


@dataclass
class ReportPaths:
    ard_csv: Path
    ard_json: Path
    docx: Path
    outputs: list[str] = field(default_factory=list)  # output ids in report order
    toc_pages: bool = False  # whether the table of contents carries page numbers
    toc_note: str = ""  # why it does not, for build.log
    pdf: Path | None = None  # report/re-examination-report.pdf when asked for (`pdf=True`)
    results: list = field(default_factory=list, repr=False)  # the TableResults/FigureResults, in report order
    sentences: list[str] = field(default_factory=list, repr=False)  # the conclusion's summary sentences
    warnings: list[str] = field(default_factory=list)  # for build.log: missing sponsor texts, English terms
    notes: list[str] = field(default_factory=list)  # for build.log: the inputs the report read

    def summary(self) -> list[str]:
        return [f"ARD: {self.ard_csv} and {self.ard_json.name} ({len(self.outputs)} outputs)",
                f"report: {self.docx} (table of contents {'with' if self.toc_pages else 'without'} page numbers)",
                *(f"warning: {w}" for w in self.warnings)]


# --------------------------------------------------------------------------- collecting the outputs

# Safety outputs (tables_safety output ids) -> report subsection; the summary sentences go to 5. 결론.
SAFETY_SECTIONS = [("T-05", "safety"), ("T-06", "safety"), ("T-07", "safety"), ("F-12", "safety"),
                   ("T-09", "special_populations"), ("T-08", "safety_factors"), ("F-08", "safety_factors")]
SUMMARY_ID = "T-13"


def safety_section(output_id: str) -> str:
    return next((key for prefix, key in SAFETY_SECTIONS if output_id.startswith(prefix)), "safety")


def specs_folder(settings) -> Path:
    """The specs folder the report was given: the folder of the settings file (`sub report --specs`,
    `sub build --specs`); the label-terms table, the Korean term names and the sponsor texts are
    read from there."""
    if not settings.source:
        raise SubError(Problem("study settings", None, None, None,
                               "the settings were not read from a specs folder; the report needs the folder's "
                               "label_terms.csv to state the label-terms table it used"),
                       "the report cannot name its label-terms table")
    return Path(settings.source).parent


def term_labels(adam: dict[str, pd.DataFrame], settings) -> TermLabels:
    """The Korean names of the coded terms of the ADaM frames (the specs folder's terms_ko.csv)."""
    if not getattr(settings, "source", ""):
        return TermLabels()
    return TermNames.load(specs_folder(settings)).for_adam(adam)


def report_conventions(settings, terms: TermLabels) -> Conventions:
    """The safety tables' conventions in the report's wording: definitions in words, Korean terms."""
    return Conventions.of(settings, plain=True, terms=terms)


def safety_results(adam: dict[str, pd.DataFrame], settings, conv: Conventions | None = None) -> tuple[list, list[str]]:
    """The safety outputs (tables_safety.safety_tables and tables_adr) and the MFDS summary sentences.

    A missing module, builder or summary stops the report: a re-examination report without its
    safety part must never be written as if complete.
    """
    where = "submission/tlf/tables_safety.py"
    try:
        from . import tables_safety
    except ImportError as exc:
        raise SubError(Problem(where, None, None, None, f"the safety builders cannot be imported ({exc})"),
                       "the report needs the safety tables; nothing was written") from None
    missing = [name for name in ("safety_tables", "summary_sentences") if not callable(getattr(tables_safety, name, None))]
    if missing:
        raise SubError([Problem(where, None, None, name, "builder is missing") for name in missing],
                       "the report needs the safety builders; nothing was written")
    conv = conv if conv is not None else report_conventions(settings, TermLabels())
    results = list(tables_safety.safety_tables(adam["ADSL"], adam["ADAE"], conv, adpreg=adam.get("ADPREG")))
    summaries = [r for r in results if r.output_id == SUMMARY_ID or hasattr(r, "sentences") and
                 not isinstance(r, tables_safety.SpecialSummary)]
    if len(summaries) != 1 or not getattr(summaries[0], "sentences", None):
        raise SubError(Problem(where, None, None, SUMMARY_ID, "safety_tables gave no summary sentences"),
                       "the report needs the MFDS summary sentences; nothing was written")
    for r in results:
        r.section = "conclusion" if r is summaries[0] else safety_section(r.output_id)
    from .tables_adr import adr_tables

    more, _ = adr_tables(adam["ADSL"], adam["ADAE"], conv)
    return results + more, list(summaries[0].sentences)


def collect_results(adam: dict[str, pd.DataFrame], settings, *, terms: TermLabels | None = None) -> tuple[list, list[str]]:
    """Every output of the report in report order, and the summary sentences of the conclusion.

    The Korean term names come from the specs folder of the settings (`terms_ko.csv`) unless given;
    the label-change comparison (T-LABEL-01) is made from the other outputs' ARD.
    """
    from .tables_base import base_results

    terms = terms if terms is not None else term_labels(adam, settings)
    conv = report_conventions(settings, terms)
    base = base_results(adam, settings, terms=terms)
    safety, sentences = safety_results(adam, settings, conv)
    results = base + safety
    _note_untranslated(results, terms)
    results.append(label_result(report_ard(results), settings, terms))
    check_results(results)
    return results, sentences


# Tables whose first column names coded terms (the untranslated-term footnote goes to the first of them).
TERM_TABLES = ("T-06", "T-07-SEV", "T-07-SER", "T-07-GRADE", "T-07-OUT", "T-MH-02", "T-CM-01", "T-09")


def _note_untranslated(results: list, terms: TermLabels) -> None:
    """A term without a Korean name stays English: the first table that shows one says so, once."""
    if not terms.untranslated:
        return
    for r in results:
        if not isinstance(r, TableResult) or not r.output_id.startswith(TERM_TABLES) or r.display.empty:
            continue
        shown = terms.shown_untranslated(r.display.iloc[:, 0])
        if shown:
            r.footnotes.append(f"한글명이 없는 용어({', '.join(shown[:5])}{' 등' if len(shown) > 5 else ''})는 "
                               "영문명으로 표시하였다(이 보고서의 모든 표에 같음).")
            return


def label_result(ard: pd.DataFrame, settings, terms: TermLabels) -> TableResult:
    """The label-change comparison table (T-LABEL-01), with its proposed paragraph attached."""
    from .label_change import label_change

    current = None
    placeholder = PLACEHOLDER.format(what=TEXTS["current_label"][1])
    if getattr(settings, "source", ""):
        text = load_text(specs_folder(settings), "current_label")
        current = None if text.missing else text.plain_text()
    change = label_change(ard, years=settings.dates.reexamination_period_years,
                          digits=settings.conventions.percent_decimals_summary, current=current, term=terms,
                          current_missing=placeholder)
    table = change.table
    table.proposed = change.paragraph  # the paragraph of 6.1, the same text as the table's right column
    return table


def check_results(results: Iterable) -> None:
    """Unique output ids, and every ARD row belongs to its output."""
    problems = []
    seen = set()
    for r in results:
        if not isinstance(r, (TableResult, FigureResult)):
            problems.append(Problem("report", None, None, type(r).__name__, "not a TableResult or FigureResult"))
            continue
        if r.output_id in seen:
            problems.append(Problem("report", None, "output_id", r.output_id, "output id used twice"))
        seen.add(r.output_id)
        if r.ard is not None and len(r.ard):
            others = sorted({str(v) for v in r.ard["output_id"] if v != r.output_id})
            if others:
                problems.append(Problem("report", None, "output_id", r.output_id,
                                        f"ARD rows carry other output ids: {', '.join(others[:5])}"))
    if problems:
        raise SubError(problems, "the report's outputs are inconsistent")


def report_ard(results: Iterable) -> pd.DataFrame:
    """One ARD for every output, in report order."""
    from .ard import ARD_COLUMNS, ard_to_frame

    ards = [r.ard for r in results if r.ard is not None and len(r.ard)]
    if not ards:
        return pd.DataFrame(columns=ARD_COLUMNS).astype(object)
    return ard_to_frame(*ards)


# --------------------------------------------------------------------------- numbers for the text

def _disposition_text(ard: pd.DataFrame, settings) -> str:
    """Enrolled, safety set and efficacy set in one sentence: `599명(96.0%)`, each count once."""
    from .tables_base import TOTAL_KO

    group = TOTAL_KO if (ard["output_id"].eq("T-DSP-01") & ard["group1_level"].eq(TOTAL_KO)).any() else None
    enrolled, safety_n, efficacy_n = (
        ard_value(ard, "n", output_id="T-DSP-01", variable=variable, variable_level="Y", group1_level=group)
        for variable in ("ENRLFL", "SAFFL", "EFFFL"))
    digits = settings.conventions.percent_decimals_table

    def share(n, N) -> str:
        return f"{fmt.fmt_count(n)}명({fmt.fmt_num(fmt.percent(n, N), digits)}%)"

    return (f"등록된 {fmt.fmt_count(enrolled)}명 중 안전성 평가대상자는 {share(safety_n, enrolled)}, "
            f"유효성 평가대상자는 안전성 평가대상자 중 {share(efficacy_n, safety_n)}이었다.")


def efficacy_sentence(ard: pd.DataFrame, settings) -> str:
    """The response rates in one sentence (numbers from the ARD of T-EFF-01), each rate with its
    interval in one bracket: `49.17%(265/539명, 95% 신뢰구간 44.87–53.47%)`."""
    digits = settings.conventions.percent_decimals_summary
    parts = []
    for code, name in (("RSP", "전체 반응률(ORR)"), ("RSPVGPR", "VGPR 이상 반응률"), ("RSPCR", "CR 이상 반응률")):
        n, N, low, high = (ard_value(ard, stat, output_id="T-EFF-01", variable=code, variable_level="Y",
                                     group1_level=None) for stat in ("n", "N", "conf.low", "conf.high"))
        parts.append(f"{name}은 {fmt.label_rate_ci(n, N, low, high, digits, level=settings.conventions.ci_level)}")
    N = ard_value(ard, "N", output_id="T-EFF-01", variable="RSP", variable_level="Y", group1_level=None)
    return (f"유효성 평가대상자 {fmt.fmt_count(N)}명에서 시험자가 평가한 최량 전체 반응(IMWG, 미확정) 기준 "
            + ", ".join(parts) + "이었다.")


def _stat(ard: pd.DataFrame, stat: str, **where):
    """An ARD number, or None when the report's ARD has no such row (an output left out)."""
    rows = ard
    for column, value in where.items():
        rows = rows[rows[column].isna()] if value is None else rows[rows[column].eq(value)]
    rows = rows[rows["stat_name"].eq(stat)]
    return None if rows.empty else rows["stat"].iloc[0]


def _sites_text(ard: pd.DataFrame, settings) -> str:
    """Sites, target and collected numbers (a sentence without its full stop): `30개 기관에서 목표 대상자 수
    600명에 대하여 624명을 등록(수집)하였다`."""
    from .tables_base import TOTAL_KO

    group = TOTAL_KO if (ard["output_id"].eq("T-DSP-01") & ard["group1_level"].eq(TOTAL_KO)).any() else None
    enrolled = ard_value(ard, "n", output_id="T-DSP-01", variable="ENRLFL", variable_level="Y", group1_level=group)
    sites = _stat(ard, "n_distinct", output_id="T-DSP-01", variable="SITEID")
    where = f"{fmt.fmt_count(sites)}개 기관에서 " if sites is not None else ""
    return (f"{where}목표 대상자 수 {fmt.fmt_count(settings.study.planned_subjects)}명에 대하여 "
            f"{fmt.fmt_count(enrolled)}명을 등록(수집)하였다")


def _overview_text(ard: pd.DataFrame, settings) -> str | None:
    digits = settings.conventions.percent_decimals_table
    parts = []
    for key, name in (("AE", ko.AE), ("ADR", ko.ADR), ("SAE", ko.SAE), ("SADR", ko.SADR)):
        n, N, events = (_stat(ard, s, output_id="T-05", variable=key, group1_level=None) for s in ("n", "N", "events"))
        if n is None or not N:
            continue
        parts.append(f"{name}는 {fmt.label_incidence(int(n), int(N), int(events), digits)}"
                     if key in ("AE", "SAE") else
                     f"{name}은 {fmt.label_incidence(int(n), int(N), int(events), digits)}")
    if not parts:
        return None
    N = _stat(ard, "N", output_id="T-05", variable="AE", group1_level=None)
    return f"안전성 평가대상자 {fmt.fmt_count(N)}명 중 " + ", ".join(parts) + "로 보고되었다"


def _deaths_text(ard: pd.DataFrame, settings) -> str:
    """Deaths of the safety set (the death listing) and fatal AEs (the overview's row)."""
    digits = settings.conventions.percent_decimals_table
    died = _stat(ard, "n", output_id="L-DTH-01", variable="..events..")
    n, N, events = (_stat(ard, s, output_id="T-05", variable="FATAL", group1_level=None) for s in ("n", "N", "events"))
    if died is None:
        return "사망 자료가 없어 사망 사례를 제시하지 않았다."
    if int(died) == 0:
        return "안전성 평가대상자 중 사망한 대상자는 없었다."
    text = f"안전성 평가대상자 중 사망한 대상자는 {fmt.fmt_count(died)}명이었다"
    if n is not None and N:
        text += (f". 이 중 {ko.TREATMENT_EMERGENT} {ko.AE_FATAL}는 "
                 f"{fmt.label_incidence(int(n), int(N), int(events), digits)}였다")
    return text


# --------------------------------------------------------------------------- the document

def _label_terms_text(settings) -> str:
    """The label-terms table the report used (`label_terms.csv` of the specs folder given to the report):
    its version (the `source` column) and size, as the methods state them (its SHA-256 goes to
    build.log, not into the document). The ADaM stage decided UNEXPFL with the table of the same
    folder; a table that cannot be read stops the report with its own problems (SubError), never
    a report without the version."""
    from ..adam.labelterms import LabelTerms

    terms = LabelTerms.load(specs_folder(settings))
    return f"(허가사항 용어표 버전 {', '.join(terms.versions)}, {fmt.fmt_count(len(terms.names))}개 {ko.PT})"


def _companion_ko(settings) -> str:
    """The companion drug's Korean name (the Korean term table's WHODrug name), else as the settings give it."""
    name = settings.study.companion_drug
    if getattr(settings, "source", ""):
        korean = TermNames.load(specs_folder(settings)).korean("DRUG", str(name).upper())
        if korean:
            return korean
    return name


def _reexamination_period(settings) -> str:
    first = settings.dates.first_approval
    years = settings.dates.reexamination_period_years
    try:
        end = first.replace(year=first.year + years) - dt.timedelta(days=1)
    except ValueError:  # 29 February
        end = first.replace(year=first.year + years, day=28)
    return f"{first.isoformat()}부터 {end.isoformat()}까지({years}년)"


@dataclass
class _Block:
    """One piece of the document plan: a heading, a paragraph (text, or a function of the numbers
    of the tables and figures), an output, or a sponsor text."""

    kind: str                   # heading, text, output, sponsor, sentence-of-empty
    text: object = ""           # str or callable(refs) -> str
    level: int = 1
    result: object = None
    options: dict = field(default_factory=dict)


class _Plan:
    def __init__(self) -> None:
        self.blocks: list[_Block] = []

    def heading(self, text: str, level: int, **options) -> None:
        self.blocks.append(_Block("heading", text, level, options=options))

    def text(self, text, **options) -> None:
        if text:
            self.blocks.append(_Block("text", text, options=options))

    def output(self, result) -> None:
        self.blocks.append(_Block("output", result=result))

    def sponsor(self, text: SponsorText) -> None:
        self.blocks.append(_Block("sponsor", result=text))

    def numbers(self) -> dict[str, str]:
        """'표 3' / '그림 2' of every output id and sponsor table, in document order."""
        refs, tables, figures = {}, 0, 0
        for block in self.blocks:
            if block.kind == "output":
                if isinstance(block.result, FigureResult):
                    figures += 1
                    refs[block.result.output_id] = f"그림 {figures}"
                else:
                    tables += 1
                    refs[block.result.output_id] = f"표 {tables}"
            elif block.kind == "sponsor":
                for i, b in enumerate(block.result.blocks):
                    if b.kind == "table":
                        tables += 1
                        refs[f"{block.result.key}:{i}"] = f"표 {tables}"
        return refs


def _ref_span(refs: dict[str, str], ids: list[str]) -> str:
    """'표 9–16', '표 1, 그림 1': the numbers of consecutive outputs, a range per kind."""
    spans: dict[str, list[int]] = {}
    for i in ids:
        if i in refs:
            kind, number = refs[i].split()
            spans.setdefault(kind, []).append(int(number))
    parts = []
    for kind, numbers in spans.items():
        low, high = min(numbers), max(numbers)
        parts.append(f"{kind} {low}" if low == high else f"{kind} {low}–{high}")
    return ", ".join(parts)


def _landscape(result) -> bool:
    return bool(getattr(result, "landscape", False))


# Footnote phrases that name other outputs: the report adds their numbers ("조사대상자 현황 표(표 1)").
# A target ending in "-" stands for every output whose id starts with it (the detail tables).
REFERENCES = {"F-DSP-01": [("조사대상자 현황 표", "T-DSP-01")],
              "T-EFF-02": [(f"{ko.ADR} 요인 분석", "T-08-UNI")],
              "T-09-00": [("각 환자군의 세부 표", "T-09-")]}


def _add_output(doc, result, refs: dict[str, str] | None = None, number_note: bool = True) -> None:
    notes = list(result.footnotes)
    for phrase, target in REFERENCES.get(result.output_id, []):
        ids = ([i for i in (refs or {}) if i.startswith(target) and i != result.output_id] if target.endswith("-")
               else [target])
        span = _ref_span(refs or {}, ids)
        if span:
            notes = [n.replace(phrase, f"{phrase}({span})", 1) for n in notes]
    notes += [f"출력 ID: {result.output_id}"] if number_note else []
    if isinstance(result, FigureResult):
        doc.figure(result.png, caption=result.title, footnotes=notes, landscape=None)
        return
    display = result.display
    attrs = dict(getattr(display, "attrs", {}) or {})
    indent = attrs.get("indent")
    if indent is not None and len(indent) != len(display):
        indent = None
    widths = attrs.get("col_widths_mm")
    if widths is not None and len(widths) != len(display.columns):
        widths = None
    minimum = attrs.get("min_widths_mm")
    if minimum is not None and len(minimum) != len(display.columns):
        minimum = None
    align = "left" if attrs.get("label_columns") == 0 else None
    doc.table(display, caption=result.title, footnotes=notes, landscape=bool(result.landscape), indent=indent,
              bold_rows=attrs.get("bold_rows", ()), col_widths_mm=widths, align=align,
              can_split=bool(attrs.get("can_split")), label_columns=int(attrs.get("label_columns", 1) or 0),
              min_widths_mm=minimum)


def _empty_reason(result) -> str | None:
    """Why an output would be an empty table or figure in the report (then one sentence stands in)."""
    from .ard import ANY_EVENT

    ard = result.ard
    oid = result.output_id
    if isinstance(result, TableResult) and result.kind == "listing":
        return None if result.display.attrs.get("listing_rows", 1) else f"{result.title}: 해당 사례가 없다."
    if ard is None or ard.empty:
        return None
    if oid.startswith(("T-06", "T-07-SEV", "T-07-GRADE", "T-07-SER", "T-07-OUT")):
        n = ard[ard["variable"].eq(ANY_EVENT) & ard["stat_name"].eq("n")]["stat"]
        if len(n) and all(int(v) == 0 for v in n):
            return f"{result.title}: 보고된 사례가 없어 표를 제시하지 않았다."
    if oid.startswith("F-12") and not ard["variable"].eq("AEBODSYS").any():
        return f"{result.title}: 보고된 사례가 없어 그림을 제시하지 않았다."
    if oid.startswith("F-08"):  # a forest plot needs at least one odds ratio that could be estimated
        estimable = ard.loc[ard["stat_name"].eq("estimable"), "stat"]
        if not any(v is True or str(v).strip().lower() == "true" for v in estimable):
            return f"{result.title}: 추정할 수 있는 오즈비가 없어 그림을 제시하지 않았다."
    if isinstance(result, FigureResult) and ard["stat_name"].eq("n").any():
        counts = pd.to_numeric(ard.loc[ard["stat_name"].eq("n"), "stat"], errors="coerce")
        if counts.notna().all() and (counts == 0).all():
            return f"{result.title}: 해당 대상자가 없어 그림을 제시하지 않았다."
    if oid.startswith(("T-07-ONSET", "T-07-DUR")):
        n = ard[ard["variable"].eq("ADR") & ard["stat_name"].eq("n")]["stat"]
        if len(n) and all(int(v) == 0 for v in n):
            return f"{result.title}: 보고된 {ko.ADR}이 없어 표를 제시하지 않았다."
    return None


def _no_model(result) -> str | None:
    """The one sentence of a multivariable analysis that was not done (no factor entered), or None."""
    ard = result.ard
    if ard is None or ard.empty:
        return None
    entered = ard[ard["stat_name"].isin(["n_factors", "factors_entered"])]["stat"]
    if len(entered) and all(v is not None and int(v) == 0 for v in entered):
        return result.footnotes[0] if result.footnotes else "다변량 분석을 하지 않았다."
    return None


def _methods(plan: _Plan, settings, periodic=None) -> None:
    conv = settings.conventions
    s = settings.study
    plan.heading("2. 조사 방법", 1)
    plan.heading("2.1 조사 기간, 조사 기관 및 대상자 수", 2)
    plan.text(lambda refs, ard: (
        f"이 조사는 {s.indication_ko} 환자에게 허가사항에 따라 {s.drug_ko}({s.drug_generic})과 {_companion_ko(settings)}을 "
        f"병용 투여한 다기관, 관찰적, 비중재적 시판 후 사용성적조사이다. "
        + (_survey_period(settings) if periodic is None else _periodic().survey_period_text(settings, periodic))
        + f" {_sites_text(ard, settings)}"
        + (f"({refs['T-DSP-01']})" if "T-DSP-01" in refs else "")
        + ". 대상자는 사용성적조사 계약 후 등록된 경로(사용성적조사)와 급여 전 환자접근프로그램(PAP) 경로로 "
        "등록되었으며, 등록 경로는 하위군 분석에 사용하였다."))
    plan.heading("2.2 조사 항목", 2)
    plan.text("조사 항목은 인구학적 정보(성별, 연령), 다발골수종 진단 및 기저 질환(ISS 병기, M-단백 유형, 이전 치료 차수, "
              "이전 조혈모세포이식, ECOG 수행능력), 기저 신체 계측 및 장기 기능(신장, 체중, 혈청 크레아티닌, 투석 여부, "
              f"혈구 수, 간 기능 검사), 과거 병력 및 동반 질환, 이 약과 {_companion_ko(settings)}의 투여 내역, 병용 약물, "
              f"{ko.AE}(중대성, 중증도, 인과관계, 이 약에 대한 조치, 결과), 반응 평가(IMWG 기준)와 최량 반응, "
              "관찰 종료 및 사망이다.")
    plan.heading("2.3 분석 대상군", 2)
    plan.text(f"안전성 평가대상자: {settings.analysis_sets.safety_ko}.")
    plan.text(f"유효성 평가대상자: {settings.analysis_sets.efficacy_ko}.")
    plan.text(lambda refs, ard: "평가대상자에서 제외된 대상자는 제외 사유를 하나씩 기록하였다"
              + (f"({refs['T-DSP-01']})." if "T-DSP-01" in refs else "."))
    plan.heading("2.4 용어의 정의", 2)
    adr = [c for c in conv.causality if c.code in conv.adr_causality]
    not_adr = [c for c in conv.causality if c.code not in conv.adr_causality]
    plan.text(f"{ko.AE}(adverse event, AE): 이 약을 투여받은 대상자에게 발생한 바람직하지 않고 의도되지 않은 징후, "
              "증상 또는 질병으로, 이 약과의 인과관계를 필요로 하지 않는다.")
    plan.text(
        f"{ko.ADR}(adverse drug reaction, ADR): 이 약과의 인과관계를 배제할 수 없는 {ko.AE}. 인과관계는 WHO-UMC "
        f"기준으로 평가하였으며, {', '.join(f'{c.label_ko}({c.label_en})' for c in adr)}로 평가된 사례와 인과관계가 "
        f"평가되지 않은 사례를 {ko.ADR}으로 하였다"
        + (f"(제외: {', '.join(f'{c.label_ko}({c.label_en})' for c in not_adr)})." if not_adr else "."))
    plan.text(f"{ko.SAE}: {ko.SERIOUS_DEFINITION}.")
    plan.text(f"{ko.UAE}: {ko.UNEXPECTED_DEFINITION}. MedDRA {ko.PT_ABBR}가 현행 허가사항에 기재된 용어의 목록"
              f"(허가사항 용어표)에 없는 사례로 판정하였다{_label_terms_text(settings)}.")
    plan.text(f"{ko.TREATMENT_EMERGENT} {ko.AE}: {ko.treatment_emergent_definition(conv.treatment_emergent_days)}. "
              f"장기 투여: 투여 기간 {conv.long_term_use_days}일 이상.")
    plan.text(f"유효성: 시험자가 IMWG 기준으로 평가한 최량 전체 반응(미확정). 반응은 "
              f"{'+'.join(conv.response.responders)}, CR 이상은 {'+'.join(conv.response.cr_or_better)}, "
              f"VGPR 이상은 {'+'.join(conv.response.vgpr_or_better)}, 임상적 이익은 "
              f"{'+'.join(conv.response.clinical_benefit)}이다.")
    korean = bool(TermNames.load(specs_folder(settings))) if getattr(settings, "source", "") else False
    plan.text(f"코딩 사전: 의학 용어 MedDRA 버전 {settings.dictionaries.meddra_version}({ko.SOC_ABBR}, "
              f"{ko.PT_ABBR}), 약물 {settings.dictionaries.whodrug_version}."
              + (" 용어는 한글명으로 제시하였고, 본문에서는 처음 나올 때 영문명을 괄호 안에 함께 적었다." if korean else ""))
    plan.heading("2.5 통계 분석 방법", 2)
    level = fmt.fmt_num(conv.ci_level * 100, 0)
    plan.text(
        "범주형 변수는 대상자 수와 백분율(%), 연속형 변수는 대상자 수, 평균, 표준편차, 중앙값, 최소값, 최대값으로 요약하였다. "
        "발현율은 대상자 수(n/N)와 백분율, 발현 건수로 제시하였다. 백분율은 표에서 소수점 "
        + (f"{conv.percent_decimals_table}자리(결과 본문 포함), 종합 고찰의 요약 문장과 사용상의 주의사항 변경(안)에서 "
           f"{conv.percent_decimals_summary}자리" if periodic is None else  # a periodic report has no label text
           f"{conv.percent_decimals_table}자리(결과 본문과 종합 고찰 포함)") + "까지 반올림(사사오입)하였다. "
        f"발현 대상자가 없는 칸은 {ko.ZERO}으로 표시하였다.")
    plan.text(f"발현율과 반응률의 {level}% 신뢰구간은 Clopper-Pearson 정확 방법으로 구하였다.")
    plan.text(
        "요인별 발현율(반응률)의 차이는 카이제곱 검정(연속성 수정 없음)으로 비교하였고, 기대빈도가 "
        f"{fmt.fmt_num(conv.fisher_expected_below, 0)} 미만인 칸이 있으면 Fisher의 정확 검정(2×2를 넘는 표는 "
        "Freeman-Halton 확장)을 사용하였다. 단변량 분석에서 p-value가 "
        f"{fmt.fmt_num(conv.multivariable_entry_p, 2)} 미만인 요인을 다변량 로지스틱 회귀 모형에 투입하여 "
        f"{ko.ODDS_RATIO}와 {level}% 신뢰구간(Wald)을 구하였다. 같은 변수에서 나온 구분(연령의 두 구분 등)은 한 모형에 "
        "하나만(단변량 p-value가 가장 작은 것) 투입하였고, 기준 수준은 분석 계획에서 정한 수준(없으면 첫 수준)으로 "
        f"하였다. 유의수준은 양측 {fmt.fmt_num(conv.significance_level, 2)}이다.")
    plan.text("모든 표의 수치는 분석 결과 자료(ARD)에 한 행씩 기록되어 있으며, 각 표의 각주에 출력 ID를 표시하였다. "
              "ARD의 각 행은 분석(출력, 분석 대상군, 구분, 변수와 수준, 통계량)마다 고유하고 제출물을 다시 만들어도 "
              "같은 행 ID와 분석 정의(자료, 기록 조건, 분모 대상군)를 가지므로, 각 수치에 포함된 대상자와 기록을 "
              "ADaM 자료로부터 다시 계산하여 확인할 수 있다.")


def _sponsor_blocks(doc, text: SponsorText, refs: dict[str, str]) -> None:
    if text.missing:
        doc.paragraph(text.placeholder, bold=True)
        return
    for i, block in enumerate(text.blocks):
        if block.kind == "p":
            doc.paragraph(block.text)
        elif block.kind == "li":
            doc.paragraph(f"• {block.text}")
        else:
            header, *rows = block.rows or ((),)
            width = max(len(header), *(len(r) for r in rows)) if rows else len(header)
            frame = pd.DataFrame([list(r) + [""] * (width - len(r)) for r in rows],
                                 columns=[*header, *[""] * (width - len(header))])
            doc.table(frame, caption=text.what, footnotes=[], landscape=None, align="left")


def _survey_period(settings) -> str:
    return (f"조사 기간은 {settings.dates.pms_start.isoformat()}부터 {settings.dates.enrolment_cutoff.isoformat()}"
            f"(등록 마감)까지이며, 자료 마감일은 {settings.dates.data_cutoff.isoformat()}이다.")


def _periodic():
    from . import periodic

    return periodic


def _plan(results: list, sentences: list[str], ard: pd.DataFrame, settings, texts: SponsorTexts,
          periodic=None) -> _Plan:
    """The document in MFDS order, as blocks (numbers of tables and figures are known before writing)."""
    s = settings.study
    plan = _Plan()
    by_section: dict[str, list] = {}
    known = {key for key, _ in RESULT_SECTIONS} | {APPENDIX_SECTION, "conclusion", LABEL_SECTION}
    for r in results:
        key = r.section if r.section in known else "safety"
        by_section.setdefault(key, []).append(r)

    # 1. overview
    plan.heading("1. 개요", 1)
    if s.synthetic:
        plan.text(f"※ {SYNTHETIC_NOTICE}. 이 보고서의 모든 수치는 자료 생성 프로그램이 만든 합성 자료에서 "
                  "계산되었으며 실제 대상자나 실제 조사 결과를 나타내지 않는다.", bold=True)
    plan.heading("1.1 제품 개요", 2)
    plan.text(f"제품명: {s.drug_ko}({s.drug_generic}, {s.drug})")
    plan.text(f"효능·효과: {s.indication_ko}({_companion_ko(settings)}과 병용)")
    plan.text(f"최초 허가일: {settings.dates.first_approval.isoformat()}")
    plan.text(f"의뢰자: {s.sponsor}")
    if periodic is not None:  # a periodic safety report: its interval and cumulative period
        plan.heading("1.2 보고 기간", 2)
        plan.text(_periodic().report_period_text(settings, periodic, _reexamination_period(settings)))
    else:
        plan.heading("1.2 재심사 기간", 2)
        plan.text(f"재심사 기간은 {_reexamination_period(settings)}이다. 신약 등의 재심사 제도에 따라 허가 후 이 기간 동안 "
                  "국내 사용 환경에서의 안전성과 유효성을 확인하기 위해 사용성적조사를 실시하였다.")
    plan.heading("1.3 조사 목적", 2)
    plan.text(f"국내 {s.indication_ko} 환자의 실제 진료 환경에서 이 약 투여 시 (1) {ko.AE}와 {ko.ADR}, {ko.SAE}, "
              f"{ko.UAE}의 발현 빈도와 양상, (2) 특수 환자군(고령자, 소아, 임부, 신장애, 간장애, 장기 투여)에서의 "
              "안전성, (3) 최량 반응에 따른 유효성, (4) 안전성과 유효성에 영향을 미치는 요인을 확인한다.")

    _methods(plan, settings, periodic)

    # 3. results
    plan.heading("3. 조사 결과", 1)
    for key, title in RESULT_SECTIONS:
        items = by_section.get(key, [])
        if not items:
            continue
        plan.heading(title, 2)
        if key == "disposition":
            plan.text(lambda refs, ard: _disposition_text(ard, settings)
                      + (f"({_ref_span(refs, ['T-DSP-01', 'F-DSP-01'])})" if "T-DSP-01" in refs else ""))
        if key == "efficacy":
            plan.text(lambda refs, ard: efficacy_sentence(ard, settings)[:-1]
                      + (f"({refs['T-EFF-01']})." if "T-EFF-01" in refs else "."))
        if key == "safety":
            _safety_parts(plan, items, settings)
            continue
        before: dict[str, list] = {}  # output id -> the sentences printed just before it
        if key == "special_populations":
            # a population's own sentences (the pregnancy part) go right before its table; the others
            # (populations without a table) before the summary table
            owners = {id(s): r.output_id for r in items for s in getattr(r, "statements", None) or []}
            for r in items:
                for sentence in getattr(r, "sentences", []) or []:
                    owner = owners.get(id(sentence))
                    if owner is None:
                        plan.text(sentence)
                    else:
                        before.setdefault(owner, []).append(sentence)
        _outputs(plan, items, before)

    # 4. safety information from home and abroad (sponsor text)
    plan.heading("4. 국내외 안전성 정보", 1)
    for heading, key in (("4.1 외국 허가 현황", "foreign_approvals"), ("4.2 국내외 안전성 조치", "safety_actions"),
                         ("4.3 문헌 보고", "literature")):
        plan.heading(heading, 2)
        plan.sponsor(texts[key])

    # 5. discussion and conclusion: the label-style sentences (their ARD rows are those of the summary output)
    plan.heading("5. 종합 고찰 및 결론", 1)
    plan.heading("5.1 안전성", 2)
    for sentence in sentences:
        plan.text(sentence)
    if periodic is not None:  # the interval and cumulative overview instead of the label sentences
        plan.text(lambda refs, ard: (_periodic().overview_sentence(ard, settings, periodic) or "")[:-1]
                  + (f"({refs['T-05']})." if "T-05" in refs else "."))
    else:
        plan.text(lambda refs, ard: "위 문장의 수치는 " + _ref_span(refs, ["T-05"]) + " 및 "
                  + _ref_span(refs, [r.output_id for r in results if r.output_id.startswith("T-06")])
                  + "의 수치와 같다(분석 결과 자료의 출력 ID T-13)." if "T-05" in refs else "", size_pt=8)
    plan.heading("5.2 유효성", 2)
    plan.text(lambda refs, ard: efficacy_sentence(ard, settings))
    plan.heading("5.3 고찰", 2)
    plan.sponsor(texts["discussion"])
    if s.synthetic:
        plan.text(f"※ {SYNTHETIC_NOTICE}: 위 문장의 수치는 합성 자료의 결과이다.", bold=True)

    # 6. the proposed label change
    label = next((r for r in by_section.get(LABEL_SECTION, [])), None)
    if periodic is None:  # a periodic report proposes no label change (the final report does)
        plan.heading("6. 사용상의 주의사항 변경(안)", 1)
        plan.heading("6.1 이상반응 항 변경(안)", 2)
    if label is not None:
        plan.text(lambda refs, ard: "재심사 결과에 따라 사용상의 주의사항의 이상반응 항에 다음 내용을 추가할 것을 "
                  f"제안한다(현행 문안과의 대비: {refs.get(label.output_id, '')}).")
        for paragraph in getattr(label, "proposed", []):
            plan.text(paragraph, indent=True)
        plan.heading("6.2 현행/변경(안) 대비표", 2)
        plan.output(label)
        if texts["current_label"].missing:
            plan.text(texts["current_label"].placeholder, bold=True)

    # appendix: listings
    listings = by_section.get(APPENDIX_SECTION, [])
    if listings:
        plan.heading("별첨. 개별 사례 목록", 1, landscape=True)
        for i, r in enumerate(listings, start=1):
            plan.heading(f"별첨 {i}. {r.title}", 2)
            reason = _empty_reason(r)
            if reason:
                plan.text(reason)
            else:
                plan.output(r)
    return plan


def _outputs(plan: _Plan, items: list, before: dict[str, list] | None = None) -> None:
    """Outputs in order; an empty one or a model that was not fitted is one sentence instead.
    `before`: sentences to print just before an output (by output id), next to the table they cite."""
    skip_forest = False
    for r in items:
        for sentence in (before or {}).get(r.output_id, []):
            plan.text(sentence)
        if r.output_id.startswith("F-08") and skip_forest:
            continue
        reason = _no_model(r) or _empty_reason(r)
        if reason:
            plan.text(reason)
            skip_forest = skip_forest or r.output_id == "T-08-MV"
            continue
        plan.output(r)


def _safety_parts(plan: _Plan, items: list, settings) -> None:
    used: set[str] = set()
    for heading, prefixes in SAFETY_PARTS:
        plan.heading(heading, 3)
        part = [r for r in items if r.output_id.startswith(prefixes) and r.output_id not in used] if prefixes else []
        used |= {r.output_id for r in part}
        if heading.startswith("3.5.1"):
            plan.text(lambda refs, ard: ((_overview_text(ard, settings) or "") +
                                         (f"({refs['T-05']})." if "T-05" in refs else ".")))
        if heading.startswith("3.5.8"):
            plan.text(lambda refs, ard: _deaths_text(ard, settings)
                      + (f"(별첨 {refs['L-DTH-01']})." if "L-DTH-01" in refs else "."))
            continue
        if not part:
            plan.text("해당 자료가 없어 제시하지 않았다.")
            continue
        _outputs(plan, part)
    rest = [r for r in items if r.output_id not in used]
    _outputs(plan, rest)


def build_document(results: list, sentences: list[str], ard: pd.DataFrame, settings, created: dt.datetime,
                   *, toc_pages: list[int | None] | None = None, caption_pages: list[int | None] | None = None,
                   periodic=None):
    """The report as a `ReportDocument` (not yet saved); `periodic`: a periodic safety report (tlf/periodic.py)."""
    from .. import __version__
    from .docx import ReportDocument

    s = settings.study
    texts = SponsorTexts.load(specs_folder(settings)) if getattr(settings, "source", "") else SponsorTexts(
        {key: SponsorText(key, what, f"{name}", warning="no specs folder") for key, (name, what) in TEXTS.items()})
    plan = _plan(results, sentences, ard, settings, texts, periodic)
    refs = plan.numbers()
    name = "재심사 결과보고서" if periodic is None else _periodic().REPORT_NAME

    header = f"{s.studyid} {s.short_title_ko}" + ("" if periodic is None else f" {name}")
    if s.synthetic:
        header += f"  |  {SYNTHETIC_NOTICE}"
    doc = ReportDocument(created=created, header_text=header, title=f"{s.drug_ko} {name}",
                         author=s.sponsor, subject=s.title_ko)
    facts = [("의약품", f"{s.drug_ko}({s.drug_generic}), {s.drug}"), ("효능·효과", s.indication_ko),
             ("의뢰자", s.sponsor), ("조사 번호", s.studyid), ("조사 기간", f"{settings.dates.pms_start.isoformat()} ~ "
                                                           f"{settings.dates.enrolment_cutoff.isoformat()}"),
             ("재심사 기간", _reexamination_period(settings)),
             ("자료 마감일", settings.dates.data_cutoff.isoformat()), ("최초 허가일", settings.dates.first_approval.isoformat()),
             ("보고서 버전", f"{__version__} (sub {__version__})"), ("작성일", created.date().isoformat())]
    if periodic is not None:
        facts = _periodic().cover_facts(settings, periodic, _reexamination_period(settings), __version__,
                                        created.date())
    doc.cover(f"{s.drug_ko} {name}", subtitle=s.title_ko, lines=[s.title_en], facts=facts,
              note=SYNTHETIC_NOTICE if s.synthetic else None)
    doc.toc("목차")
    doc.toc_note = TOC_NOTE  # until a rendering gives the pages
    doc.lists_of_captions([("표 목차", "Table"), ("그림 목차", "Figure")])

    blocks = plan.blocks
    for i, block in enumerate(blocks):
        if block.kind == "heading":
            following = next((b for b in blocks[i + 1:] if b.kind != "heading"), None)
            if block.options.get("landscape") is not None:
                landscape = block.options["landscape"]
            elif following is not None and following.kind == "output":
                landscape = _landscape(following.result)
            elif block.level == 1 or (following is not None and following.kind in ("text", "sponsor")):
                landscape = False
            else:
                landscape = None
            doc.heading(block.text, block.level, landscape=landscape)
        elif block.kind == "text":
            text = block.text(refs, ard) if callable(block.text) else block.text
            if text:
                options = {k: v for k, v in block.options.items() if k in ("bold", "size_pt")}
                paragraph = doc.paragraph(text, **options)
                if i and blocks[i - 1].kind == "output":  # a paragraph after a table's notes: a caption's gap
                    from docx.shared import Pt

                    paragraph.paragraph_format.space_before = Pt(6)
                if block.options.get("indent"):
                    from docx.shared import Mm

                    paragraph.paragraph_format.left_indent = Mm(5)
        elif block.kind == "sponsor":
            _sponsor_blocks(doc, block.result, refs)
        elif block.kind == "output":
            _add_output(doc, block.result, refs)
    if toc_pages is not None:
        doc.toc_pages = toc_pages
        doc.toc_note = None
    if caption_pages is not None:
        doc.caption_pages = caption_pages
    return doc


def _toc_page_numbers(doc, workdir: Path, *, required: bool = False
                      ) -> tuple[list[int | None] | None, list[int | None] | None, str, Path | None]:
    """Render the document once with LibreOffice and read each heading's and each caption's page.

    The document is rendered as it will be saved with page numbers (no note under the contents'
    title); its contents and lists are PAGEREF fields that LibreOffice computes while laying it
    out, so the rendering already prints the right pages and is the report's PDF as it stands
    (headings exported as PDF bookmarks). The pages read from it become the fields' cached values.

    Returns (heading pages, caption pages, note, PDF): pages are None without LibreOffice, or when
    it fails or runs out of time, or when a heading is not found in the rendering (then the
    contents keep their entries and Word fills in the numbers on opening; `note` says why, for
    build.log). With `required`, a failed rendering is an error instead.
    """
    from ..package.pdf import BOOKMARK_EXPORT
    from .render import (
        docx_to_pdf,
        heading_pages,
        pdf_page_texts,
        poppler_available,
        soffice_path,
    )

    if soffice_path() is None or not poppler_available():
        return None, None, "LibreOffice not available; the page numbers are left for Word to fill in", None
    headings = [text for _, text in doc.headings]
    if not headings:
        return None, None, "the document has no headings", None
    note = doc.toc_note
    doc.toc_note = None
    draft = workdir / DOCX_NAME
    draft.write_bytes(doc.to_bytes())
    doc.toc_note = note
    try:
        pdf = docx_to_pdf(draft, workdir / "pdf", export_options=BOOKMARK_EXPORT)
    except SubError as exc:
        if required:
            raise
        reason = exc.problems[0].message if exc.problems else str(exc)
        return None, None, f"{reason}; the page numbers are left for Word to fill in when the document is opened", None
    # The contents and the lists of tables and figures come first: the body starts on the page after
    # the one that holds the last entry of the last list (its first occurrence is in the list).
    pages = pdf_page_texts(pdf)
    captions = [text for _, _, text in doc.captions]
    last = "".join((captions[-1] if captions else headings[-1]).split())
    lists_end = next((i for i in range(2, len(pages) + 1) if last in "".join(pages[i - 1].split())), 2)
    found = heading_pages(pdf, headings, start_page=lists_end + 1)
    caption_found = heading_pages(pdf, captions, start_page=lists_end + 1) if captions else []
    missing = [t for t, p in zip(headings + captions, found + caption_found) if p is None]
    if missing:
        return None, None, (f"{len(missing)} heading(s) or caption(s) not found in the rendering (first: "
                            f"{missing[0]!r}); the page numbers are left for Word to fill in"), pdf
    return found, caption_found or None, "", pdf


def report_pdf(rendered: Path, target: Path, created: dt.datetime, *, language: str) -> Path:
    """The rendering of the report as OUT/report/re-examination-report.pdf: LibreOffice's heading
    bookmarks, links and embedded fonts as they are, its title that of the document's properties;
    the language of the catalogue set to the report's (LibreOffice writes the Latin one), the
    creation time that of the build (its bytes are still not promised: package/pdf.py)."""
    from ..io import write_atomic
    from ..package.pdf import reproducible, with_language

    data = rendered.read_bytes()
    try:
        data = with_language(data, language)
    except ValueError:  # a LibreOffice that writes no /Lang: the PDF stays as it is
        pass
    write_atomic(target, reproducible(data, created))
    return target


def build_report(adam: dict[str, pd.DataFrame], settings, out_dir: Path, created: dt.datetime, *,
                 tlf_dir: Path | None = None, report_dir: Path | None = None,
                 toc_pass: bool | None = None, pdf: bool = False, periodic=None) -> ReportPaths:
    """Write OUT/tlf/ard.csv, ard.json and OUT/report/re-examination-report.docx; return their paths.

    `tlf_dir` and `report_dir` override OUT/tlf and OUT/report (e.g. staged folders). `toc_pass`:
    True renders once with LibreOffice for the page numbers of the table of contents (an error
    without LibreOffice), False never, None when LibreOffice is installed. `pdf` also writes
    OUT/report/re-examination-report.pdf from that same rendering (an error without LibreOffice,
    or when it fails).
    """
    from .ard import write_ard_files

    out_dir = Path(out_dir)
    tlf_dir = Path(tlf_dir) if tlf_dir is not None else out_dir / TLF_DIR
    report_dir = Path(report_dir) if report_dir is not None else out_dir / REPORT_DIR
    created = created.replace(microsecond=0, tzinfo=None)
    adsl = adam["ADSL"]
    if "SAFFL" in adsl.columns and not adsl["SAFFL"].eq("Y").any():
        raise SubError(Problem("ADSL", None, "SAFFL", None,
                               f"no subject is in the safety set at the data cut-off "
                               f"{settings.dates.data_cutoff.isoformat()} (nobody dosed by then): the report's rates "
                               "have no denominator; with --cutoff, choose a date after the first dose"),
                       "nothing to report")
    terms = term_labels(adam, settings)
    results, sentences = collect_results(adam, settings, terms=terms)
    if periodic is not None:  # a periodic safety report (`sub build --cutoff`): tlf/periodic.py
        from .periodic import periodic_results

        results, sentences = periodic_results(results, sentences, adam, settings,
                                              report_conventions(settings, terms), periodic)
    ard = report_ard(results)

    doc = build_document(results, sentences, ard, settings, created, periodic=periodic)
    pages, caption_pages, note = None, None, "not asked for"
    tlf_dir.mkdir(parents=True, exist_ok=True)
    report_dir.mkdir(parents=True, exist_ok=True)
    docx_name, pdf_name = (DOCX_NAME, PDF_NAME) if periodic is None else (_periodic().DOCX_NAME, _periodic().PDF_NAME)
    paths = ReportPaths(tlf_dir / ARD_CSV, tlf_dir / ARD_JSON, report_dir / docx_name,
                        [r.output_id for r in results], results=results, sentences=sentences)
    if toc_pass is not False or pdf:
        require_libreoffice(toc_pass or pdf)
        with tempfile.TemporaryDirectory(prefix="sub-report-") as tmp:
            pages, caption_pages, note, rendered = _toc_page_numbers(doc, Path(tmp), required=bool(toc_pass or pdf))
            if pdf and rendered is not None:
                paths.pdf = report_pdf(rendered, report_dir / pdf_name, created, language=doc.fonts.language)
        if pages is not None:  # the fields' cached values: what Word shows (LibreOffice computes them)
            doc.toc_pages, doc.caption_pages, doc.toc_note = pages, caption_pages, None
    paths.toc_pages, paths.toc_note = pages is not None and any(pages), note
    paths.warnings, paths.notes = report_log(settings, terms)
    # the width fallbacks the tables took (smaller font, landscape page, squeezed columns)
    paths.notes += [f"table layout: {note}" for note in doc.layout_notes]
    write_ard_files(ard, paths.ard_csv, paths.ard_json)
    doc.save(paths.docx)
    return paths


def require_libreoffice(asked: bool = True) -> None:
    """With `asked` (`--pdf`), LibreOffice and poppler must be installed: else exit 1, saying how."""
    from .render import INSTALL_HINT, poppler_available, soffice_path

    if asked and (soffice_path() is None or not poppler_available()):
        raise SubError(Problem("soffice (LibreOffice)", None, None, None,
                               f"not installed, and the PDF of the report needs it; install it with: {INSTALL_HINT}"))


def report_log(settings, terms: TermLabels) -> tuple[list[str], list[str]]:
    """(warnings, notes) of the report's inputs for build.log: missing sponsor texts, terms left in
    English, the label-terms table's SHA-256 (the document states its version only)."""
    warnings, notes = [], []
    if not getattr(settings, "source", ""):
        return warnings, notes
    folder = specs_folder(settings)
    warnings += SponsorTexts.load(folder).warnings
    names = TermNames.load(folder)
    if not names:
        warnings.append(f"{TERMS_FILE} not found in the specs folder: MedDRA and drug terms are printed in English")
    elif terms.untranslated:
        shown = sorted(terms.untranslated)
        warnings.append(f"{len(shown)} coded term(s) have no Korean name in {TERMS_FILE} and are printed in English: "
                        + ", ".join(shown[:10]) + (" ..." if len(shown) > 10 else ""))
    if names:
        notes.append(f"Korean term names: {TERMS_FILE} ({', '.join(names.versions) or 'no version'}), "
                     f"{len(terms.names)} terms of the data in Korean")
    from ..adam.labelterms import LabelTerms

    label_terms = LabelTerms.load(folder)
    notes.append(f"label-terms table: label_terms.csv version {', '.join(label_terms.versions)}, "
                 f"{len(label_terms.names)} PTs, SHA-256 {label_terms.sha256}")
    return warnings, notes


# --------------------------------------------------------------------------- the stage

def read_adam(folder: Path, names: Iterable[str] = ADAM_DATASETS) -> dict[str, pd.DataFrame]:
    """The ADaM datasets of a folder, from their XPT files only (what the ADaM stage published)."""
    from ..xpt import read_xpt

    folder = Path(folder)
    problems = [Problem(str(folder / f"{n.lower()}.xpt"), None, None, None, "ADaM dataset not found; run `sub build`")
                for n in names if not (folder / f"{n.lower()}.xpt").is_file()]
    if problems:
        raise SubError(problems, f"{folder}: {len(problems)} ADaM dataset(s) missing; nothing was written")
    frames = {n: read_xpt(folder / f"{n.lower()}.xpt").frame for n in names}
    frames.update({n: read_xpt(folder / f"{n.lower()}.xpt").frame for n in OPTIONAL_ADAM
                   if n not in frames and (folder / f"{n.lower()}.xpt").is_file()})
    return frames


def run_report_stage(adam_folder: Path, settings, stage_dir: Path, created: dt.datetime, *,
                     toc_pass: bool | None = None, pdf: bool = False, periodic=None) -> ReportPaths:
    """The report stage of `sub build`: ADaM XPT files in, STAGE/tlf, STAGE/report and STAGE/review out.
    `periodic` (tlf/periodic.py): a periodic safety report of `sub build --cutoff`."""
    adam = read_adam(adam_folder)
    paths = build_report(adam, settings, Path(stage_dir), created, toc_pass=toc_pass, pdf=pdf, periodic=periodic)
    write_review_page(Path(stage_dir) / REVIEW_DIR, paths.results, paths.ard_csv, adam, settings)
    return paths


def write_review_page(folder: Path, results: list, ard_csv: Path, adam: dict[str, pd.DataFrame], settings) -> list[Path]:
    """OUT/review/index.html (tlf/review.py): every output with each number a link to the subjects and
    records behind it, from the ARD as written (`ard_csv`) and the ADaM frames it was computed from."""
    from .ard import read_ard_csv
    from .review import page_title, write_review

    s = settings.study
    ard = read_ard_csv(ard_csv)
    return write_review(Path(folder), results, ard, adam, title=page_title(s, ard),
                        notice=SYNTHETIC_NOTICE if s.synthetic else None)
