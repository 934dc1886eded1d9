"""The MFDS re-examination report (재심사 결과보고서): every table and figure, one ARD, one Word file.

`build_report` collects the `TableResult`s and `FigureResult`s of the base builders
(`tables_base`) and of the safety builders (`tables_safety`), writes their ARDs as one
OUT/tlf/ard.csv and ard.json (every number of the report is a row there), and writes
OUT/report/re-examination-report.docx: A4, Korean, a cover page, a table of contents, the
sections in report order (개요, 조사 방법, 결과, 결론, 부록), numbered tables and figures with
footnotes, landscape pages for wide tables and listings, the study id in the header and
"X / Y 쪽" in the footer. While the study settings say `synthetic`, the cover, the header of
every page and the first page of the text carry the notice that the data are not real.

Page numbers in the table of contents come from a first rendering with LibreOffice (when it is
installed): the headings' pages are read from that PDF and the document is written again with
them. Without LibreOffice the entries have no page numbers (Word fills them on a field update).

The methods state the label-terms table used for expectedness (UNEXPFL): `label_terms.csv` of
the specs folder given to the report (the folder of the settings file, `--specs`), with its
version, number of PTs and SHA-256. A table that cannot be read stops the report with its own
problems; the report is never written without naming it.

Every number of the text is read from the ARD (`ard.ard_value`); the Korean terms come from
`glossary`.

Same ADaM, settings and creation time give the same bytes: no wall clock, no absolute path, no
random order in any output.
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
from .table import FigureResult, TableResult

REPORT_DIR = "report"
TLF_DIR = "tlf"
DOCX_NAME = "re-examination-report.docx"
ARD_CSV = "ard.csv"
ARD_JSON = "ard.json"
ADAM_DATASETS = ("ADSL", "ADAE", "ADRS", "ADEX", "ADCM", "ADMH")
SYNTHETIC_NOTICE = "합성 자료(SYNTHETIC DATA): 실제 임상 자료가 아님"

# Report subsections of the results (section key of a TableResult/FigureResult -> heading).
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
APPENDIX_SECTION = "listings"


@dataclass
class ReportPaths:
    ard_csv: Path
    ard_json: Path
    docx: Path
    outputs: list[str] = field(default_factory=list)  # output ids in report order
    toc_pages: bool = False  # whether the table of contents carries page numbers
    toc_note: str = ""  # why it does not, for build.log
    results: list = field(default_factory=list, repr=False)  # the TableResults/FigureResults, in report order
    sentences: list[str] = field(default_factory=list, repr=False)  # the conclusion's summary sentences

    def summary(self) -> list[str]:
        return [f"ARD: {self.ard_csv} and {self.ard_json.name} ({len(self.outputs)} outputs)",
                f"report: {self.docx} (table of contents {'with' if self.toc_pages else 'without'} page numbers)"]


# --------------------------------------------------------------------------- collecting the outputs

# Safety outputs (tables_safety output ids) -> report subsection; the summary sentences go to 4. 결론.
SAFETY_SECTIONS = [("T-05", "safety"), ("T-06", "safety"), ("T-07", "safety"), ("F-12", "safety"),
                   ("T-09", "special_populations"), ("T-08", "safety_factors"), ("F-08", "safety_factors")]
SUMMARY_ID = "T-13"


def safety_section(output_id: str) -> str:
    return next((key for prefix, key in SAFETY_SECTIONS if output_id.startswith(prefix)), "safety")


def safety_results(adam: dict[str, pd.DataFrame], settings) -> tuple[list, list[str]]:
    """The safety outputs (tables_safety.safety_tables) and the MFDS summary sentences.

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
    results = list(tables_safety.safety_tables(adam["ADSL"], adam["ADAE"], settings))
    summaries = [r for r in results if r.output_id == SUMMARY_ID or hasattr(r, "sentences")]
    if len(summaries) != 1 or not getattr(summaries[0], "sentences", None):
        raise SubError(Problem(where, None, None, SUMMARY_ID, "safety_tables gave no summary sentences"),
                       "the report needs the MFDS summary sentences; nothing was written")
    for r in results:
        r.section = "conclusion" if r is summaries[0] else safety_section(r.output_id)
    return results, list(summaries[0].sentences)


def collect_results(adam: dict[str, pd.DataFrame], settings) -> tuple[list, list[str]]:
    """Every output of the report in report order, and the summary sentences of the conclusion."""
    from .tables_base import base_results

    base = base_results(adam, settings)
    safety, sentences = safety_results(adam, settings)
    results = base + safety
    check_results(results)
    return results, sentences


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


# --------------------------------------------------------------------------- the document

def specs_folder(settings) -> Path:
    """The specs folder the report was given: the folder of the settings file (`sub report --specs`,
    `sub build --specs`); the label-terms table is read from there."""
    if not settings.source:
        raise SubError(Problem("study settings", None, None, None,
                               "the settings were not read from a specs folder; the report needs the folder's "
                               "label_terms.csv to state the label-terms table it used"),
                       "the report cannot name its label-terms table")
    return Path(settings.source).parent


def _label_terms_text(settings) -> str:
    """The label-terms table the report used (`label_terms.csv` of the specs folder given to the report):
    its version (the `source` column), size and SHA-256, as the methods state them. The ADaM stage
    decided UNEXPFL with the table of the same folder; a table that cannot be read stops the
    report with its own problems (SubError), never a report without the version."""
    from ..adam.labelterms import LabelTerms

    terms = LabelTerms.load(specs_folder(settings))
    return (f" (허가사항 용어표 버전 {', '.join(terms.versions)}, {fmt.fmt_count(len(terms.names))}개 {ko.PT}, "
            f"SHA-256 {terms.sha256[:12]})")


def _methods(doc, settings) -> None:
    conv = settings.conventions
    s = settings.study
    doc.heading("2. 조사 방법", 1, landscape=False)
    doc.heading("2.1 조사 설계", 2)
    doc.paragraph(
        f"이 조사는 {s.indication_ko} 환자에게 허가사항에 따라 {s.drug_ko}({s.drug_generic})과 {s.companion_drug}을 "
        f"병용 투여한 다기관, 관찰적, 비중재적 시판 후 사용성적조사이다. 조사 기간은 "
        f"{settings.dates.pms_start.isoformat()}부터 {settings.dates.enrolment_cutoff.isoformat()}(등록 마감)까지이며, "
        f"자료 마감일은 {settings.dates.data_cutoff.isoformat()}이다. 목표 대상자 수는 {s.planned_subjects}명이다. "
        "대상자는 사용성적조사 계약 후 등록된 경로(사용성적조사)와 급여 전 환자접근프로그램(PAP) 경로로 등록되었으며, "
        "등록 경로는 하위군 분석에 사용하였다.")
    doc.heading("2.2 분석 대상군", 2)
    doc.paragraph(f"안전성 평가대상자: {settings.analysis_sets.safety_ko}.")
    doc.paragraph(f"유효성 평가대상자: {settings.analysis_sets.efficacy_ko}.")
    doc.paragraph("평가대상자에서 제외된 대상자는 제외 사유를 하나씩 기록하였다(표 조사대상자 현황).")
    doc.heading("2.3 용어의 정의", 2)
    adr = [c for c in conv.causality if c.code in conv.adr_causality]
    not_adr = [c for c in conv.causality if c.code not in conv.adr_causality]
    doc.paragraph(f"{ko.AE}(adverse event, AE): 이 약을 투여받은 대상자에게 발생한 바람직하지 않고 의도되지 않은 징후, "
                  "증상 또는 질병으로, 이 약과의 인과관계를 필요로 하지 않는다.")
    doc.paragraph(
        f"{ko.ADR}(adverse drug reaction, ADR): 이 약과의 인과관계를 배제할 수 없는 {ko.AE}. 인과관계는 WHO-UMC "
        f"기준으로 평가하였으며, {', '.join(f'{c.label_ko}({c.label_en})' for c in adr)}로 평가된 사례와 인과관계가 "
        f"평가되지 않은 사례를 {ko.ADR}으로 하였다"
        + (f"(제외: {', '.join(f'{c.label_ko}({c.label_en})' for c in not_adr)})." if not_adr else "."))
    doc.paragraph(f"{ko.SAE}: 사망 또는 생명을 위협하는 경우, 입원 또는 입원 기간의 연장, 지속적 또는 중대한 장애나 "
                  "기능 저하, 선천적 기형, 기타 의학적으로 중요한 상황.")
    doc.paragraph(f"{ko.UAE}: 현행 허가사항에 기재되지 않은 {ko.AE}. MedDRA {ko.PT_ABBR}가 허가사항 용어표에 "
                  f"없는 사례로 판정하였다{_label_terms_text(settings)}.")
    doc.paragraph(f"{ko.TREATMENT_EMERGENT} {ko.AE}: 이 약 첫 투여일부터 마지막 투여 후 {conv.treatment_emergent_days}일까지 "
                  f"발현한 {ko.AE}. 장기 투여: 투여 기간 {conv.long_term_use_days}일 이상.")
    doc.paragraph(f"유효성: 시험자가 IMWG 기준으로 평가한 최량 전체 반응(미확정). 반응은 "
                  f"{'+'.join(conv.response.responders)}, CR 이상은 {'+'.join(conv.response.cr_or_better)}, "
                  f"VGPR 이상은 {'+'.join(conv.response.vgpr_or_better)}, 임상적 이익은 "
                  f"{'+'.join(conv.response.clinical_benefit)}이다.")
    doc.paragraph(f"코딩 사전: 의학 용어 MedDRA 버전 {settings.dictionaries.meddra_version}({ko.SOC_ABBR}, "
                  f"{ko.PT_ABBR}), 약물 {settings.dictionaries.whodrug_version}.")
    doc.heading("2.4 통계 분석 방법", 2)
    level = fmt.fmt_num(conv.ci_level * 100, 0)
    doc.paragraph(
        "범주형 변수는 대상자 수와 백분율(%), 연속형 변수는 대상자 수, 평균, 표준편차, 중앙값, 최소값, 최대값으로 요약하였다. "
        f"발현율은 대상자 수(n/N)와 백분율, 발현 건수로 제시하였다. 백분율은 표에서 소수점 "
        f"{conv.percent_decimals_table}자리, 요약 문장에서 {conv.percent_decimals_summary}자리까지 반올림(사사오입)하였다.")
    doc.paragraph(f"발현율과 반응률의 {level}% 신뢰구간은 Clopper-Pearson 정확 방법으로 구하였다.")
    doc.paragraph(
        "요인별 발현율(반응률)의 차이는 카이제곱 검정(연속성 수정 없음)으로 비교하였고, 기대빈도가 "
        f"{fmt.fmt_num(conv.fisher_expected_below, 0)} 미만인 칸이 있으면 Fisher의 정확 검정(2×2를 넘는 표는 "
        "Freeman-Halton 확장)을 사용하였다. 단변량 분석에서 p-value가 "
        f"{fmt.fmt_num(conv.multivariable_entry_p, 2)} 미만인 요인을 다변량 로지스틱 회귀 모형에 투입하여 "
        f"{ko.ODDS_RATIO}와 {level}% 신뢰구간(Wald)을 구하였다. 같은 변수에서 나온 구분(연령의 두 구분 등)은 한 모형에 "
        "하나만(단변량 p-value가 가장 작은 것) 투입하였고, 기준 수준은 study settings에 정한 수준(없으면 첫 수준)으로 "
        f"하였다. 유의수준은 양측 {fmt.fmt_num(conv.significance_level, 2)}이다.")
    doc.paragraph("모든 표의 수치는 분석 결과 자료(ARD, tlf/ard.csv)에 한 행씩 기록되어 있으며, 각 표의 각주에 출력 ID를 "
                  "표시하였다.")


def _add_output(doc, result, number_note: bool = True) -> None:
    notes = list(result.footnotes) + ([f"출력 ID: {result.output_id}"] if number_note else [])
    if isinstance(result, FigureResult):
        doc.figure(result.png, caption=result.title, footnotes=notes, landscape=None, width_mm=150)
        return
    display = result.display
    attrs = dict(getattr(display, "attrs", {}) or {})
    indent = attrs.get("indent")
    if indent is not None and len(indent) != len(display):
        indent = None
    widths = attrs.get("col_widths_mm")
    if widths is not None and len(widths) != len(display.columns):
        widths = None
    doc.table(display, caption=result.title, footnotes=notes, landscape=bool(result.landscape), indent=indent,
              bold_rows=attrs.get("bold_rows", ()), col_widths_mm=widths)


def build_document(results: list, sentences: list[str], ard: pd.DataFrame, settings, created: dt.datetime,
                   *, toc_pages: list[int | None] | None = None):
    """The report as a `ReportDocument` (not yet saved)."""
    from .. import __version__
    from .docx import ReportDocument

    s = settings.study
    header = f"{s.studyid} {s.short_title_ko}"
    if s.synthetic:
        header += f"  |  {SYNTHETIC_NOTICE}"
    doc = ReportDocument(created=created, header_text=header, title=f"{s.drug_ko} 재심사 결과보고서",
                         author=s.sponsor, subject=s.title_ko)
    facts = [("의약품", f"{s.drug_ko}({s.drug_generic}), {s.drug}"), ("효능·효과", s.indication_ko),
             ("의뢰자", s.sponsor), ("조사 번호", s.studyid), ("조사 기간", f"{settings.dates.pms_start.isoformat()} ~ "
                                                           f"{settings.dates.enrolment_cutoff.isoformat()}"),
             ("자료 마감일", settings.dates.data_cutoff.isoformat()), ("최초 허가일", settings.dates.first_approval.isoformat()),
             ("보고서 버전", f"{__version__} (sub {__version__})"), ("작성일", created.date().isoformat())]
    doc.cover(f"{s.drug_ko} 재심사 결과보고서", subtitle=s.title_ko, lines=[s.title_en], facts=facts,
              note=SYNTHETIC_NOTICE if s.synthetic else None)
    doc.toc("목차")

    # 1. overview
    doc.heading("1. 개요", 1, landscape=False)
    if s.synthetic:
        doc.paragraph(f"※ {SYNTHETIC_NOTICE}. 이 보고서의 모든 수치는 `sub synth`가 만든 합성 자료에서 계산되었으며 "
                      "실제 대상자나 실제 조사 결과를 나타내지 않는다.", bold=True)
    doc.heading("1.1 배경", 2)
    doc.paragraph(f"{s.drug_ko}({s.drug_generic})은 {settings.dates.first_approval.isoformat()} 국내 최초 허가된 "
                  f"{s.indication_ko} 치료제로, {s.companion_drug}과 병용 투여한다. 신약 등의 재심사 제도에 따라 허가 후 "
                  "일정 기간 동안 국내 사용 환경에서의 안전성과 유효성을 확인하기 위해 사용성적조사를 실시하였다.")
    doc.heading("1.2 조사 목적", 2)
    doc.paragraph(f"국내 다발골수종 환자의 실제 진료 환경에서 이 약 투여 시 (1) {ko.AE}와 {ko.ADR}, {ko.SAE}, "
                  f"{ko.UAE}의 발현 빈도와 양상, (2) 특수 환자군(고령자, 신장애, 간장애, 장기 투여)에서의 "
                  "안전성, (3) 최량 반응에 따른 유효성, (4) 안전성과 유효성에 영향을 미치는 요인을 확인한다.")

    _methods(doc, settings)

    # 3. results
    by_section: dict[str, list] = {}
    known = {key for key, _ in RESULT_SECTIONS} | {APPENDIX_SECTION, "conclusion"}
    for r in results:
        key = r.section if r.section in known else "safety"
        by_section.setdefault(key, []).append(r)
    doc.heading("3. 조사 결과", 1, landscape=False)
    for key, title in RESULT_SECTIONS:
        items = by_section.get(key, [])
        if not items:
            continue
        first_landscape = bool(getattr(items[0], "landscape", False))
        doc.heading(title, 2, landscape=first_landscape)
        if key == "disposition":
            doc.paragraph(_disposition_text(ard, settings))
        if key == "efficacy":
            doc.paragraph(efficacy_sentence(ard, settings))
        for r in items:
            _add_output(doc, r)

    # 4. conclusion: the label-style sentences (their ARD rows are those of the summary output)
    doc.heading("4. 결론", 1, landscape=False)
    for sentence in sentences:
        doc.paragraph(sentence)
    doc.paragraph(efficacy_sentence(ard, settings))
    summary_ids = [r.output_id for r in by_section.get("conclusion", [])]
    if summary_ids:
        doc.paragraph(f"위 문장의 수치: 분석 결과 자료(ARD)의 출력 ID {', '.join(summary_ids)} 및 T-EFF-01.",
                      size_pt=8)
    if s.synthetic:
        doc.paragraph(f"※ {SYNTHETIC_NOTICE}: 위 문장의 수치는 합성 자료의 결과이다.", bold=True)

    # appendix: listings
    listings = by_section.get(APPENDIX_SECTION, [])
    if listings:
        doc.heading("부록. 개별 사례 목록", 1, landscape=True)
        for i, r in enumerate(listings, start=1):
            doc.heading(f"부록 {i}. {r.title}", 2, landscape=True)
            _add_output(doc, r)
    if toc_pages is not None:
        doc.toc_pages = toc_pages
    return doc


def _toc_page_numbers(doc, workdir: Path, *, required: bool = False) -> tuple[list[int | None] | None, str]:
    """Render once with LibreOffice and find each heading's page.

    Returns (pages, note): pages is None without LibreOffice, or when it fails or runs out of
    time (then the contents keep their entries and Word fills in the numbers on opening; `note`
    says why, for build.log). With `required`, a failure is an error instead.
    """
    from .render import docx_to_pdf, heading_pages, pdf_page_texts, poppler_available, soffice_path

    if soffice_path() is None or not poppler_available():
        return None, "LibreOffice not available"
    draft = workdir / "draft.docx"
    draft.write_bytes(doc.to_bytes())
    try:
        pdf = docx_to_pdf(draft, workdir)
    except SubError as exc:
        if required:
            raise
        reason = exc.problems[0].message if exc.problems else str(exc)
        return None, f"{reason}; the page numbers are left for Word to fill in when the document is opened"
    headings = [text for _, text in doc.headings]
    if not headings:
        return None, "the document has no headings"
    # The table of contents lists every heading: search the body from the page after the one
    # that holds the last entry of the table of contents.
    pages = pdf_page_texts(pdf)
    last = "".join(headings[-1].split())
    toc_end = next((i for i in range(2, len(pages) + 1) if last in "".join(pages[i - 1].split())), 2)
    return heading_pages(pdf, headings, start_page=toc_end + 1), ""


def build_report(adam: dict[str, pd.DataFrame], settings, out_dir: Path, created: dt.datetime, *,
                 tlf_dir: Path | None = None, report_dir: Path | None = None,
                 toc_pass: bool | None = None) -> ReportPaths:
    """Write OUT/tlf/ard.csv, ard.json and OUT/report/re-examination-report.docx; return their paths.

    `tlf_dir` and `report_dir` override OUT/tlf and OUT/report (e.g. staged folders). `toc_pass`:
    True renders once with LibreOffice for the page numbers of the table of contents (an error
    without LibreOffice), False never, None when LibreOffice is installed.
    """
    from .ard import write_ard_csv, write_ard_json

    out_dir = Path(out_dir)
    tlf_dir = Path(tlf_dir) if tlf_dir is not None else out_dir / TLF_DIR
    report_dir = Path(report_dir) if report_dir is not None else out_dir / REPORT_DIR
    created = created.replace(microsecond=0, tzinfo=None)
    results, sentences = collect_results(adam, settings)
    ard = report_ard(results)

    doc = build_document(results, sentences, ard, settings, created)
    pages, note = None, "not asked for"
    if toc_pass is not False:
        from .render import poppler_available, soffice_path

        if toc_pass and (soffice_path() is None or not poppler_available()):
            from .render import INSTALL_HINT

            raise SubError(Problem("soffice (LibreOffice)", None, None, None, f"not installed; {INSTALL_HINT}"))
        with tempfile.TemporaryDirectory(prefix="sub-report-") as tmp:
            pages, note = _toc_page_numbers(doc, Path(tmp), required=bool(toc_pass))
        if pages is not None:
            doc.toc_pages = pages  # the table of contents is written anew on saving

    tlf_dir.mkdir(parents=True, exist_ok=True)
    report_dir.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(tlf_dir / ARD_CSV, tlf_dir / ARD_JSON, report_dir / DOCX_NAME,
                        [r.output_id for r in results], toc_pages=pages is not None and any(pages), toc_note=note,
                        results=results, sentences=sentences)
    write_ard_csv(ard, paths.ard_csv)
    write_ard_json(ard, paths.ard_json)
    doc.save(paths.docx)
    return paths


# --------------------------------------------------------------------------- the stage

def read_adam(folder: Path, names: Iterable[str] = ADAM_DATASETS) -> dict[str, pd.DataFrame]:
    """The ADaM datasets of a folder, from their XPT files only (what the ADaM stage published)."""
    from ..xpt import read_xpt

    folder = Path(folder)
    problems = [Problem(str(folder / f"{n.lower()}.xpt"), None, None, None, "ADaM dataset not found; run `sub build`")
                for n in names if not (folder / f"{n.lower()}.xpt").is_file()]
    if problems:
        raise SubError(problems, f"{folder}: {len(problems)} ADaM dataset(s) missing; nothing was written")
    return {n: read_xpt(folder / f"{n.lower()}.xpt").frame for n in names}


def run_report_stage(adam_folder: Path, settings, stage_dir: Path, created: dt.datetime, *,
                     toc_pass: bool | None = None) -> ReportPaths:
    """The report stage of `sub build`: ADaM XPT files in, STAGE/tlf and STAGE/report out."""
    return build_report(read_adam(adam_folder), settings, Path(stage_dir), created, toc_pass=toc_pass)
