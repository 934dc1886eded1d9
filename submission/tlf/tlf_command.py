"""`sub tlf TABLE --adam DIR --out DIR`: one table (its ARD as CSV and a small .docx) from any ADaM folder.

The ADaM folder holds `adsl.xpt`, `adae.xpt`, ... (XPT v5) or Dataset-JSON (`adsl.json`). The
table's builders take the population flag (`pop`, e.g. SAFFL), the event frame's grouping
variable (`by`, e.g. TRTA), its ADSL counterpart for the denominators (`denom_by`, e.g. TRT01A)
and the record flag (`subject_flag`, e.g. TRTEMFL), so a study other than the bundled one (the
CDISC pilot, say) gives a column per arm with the arm's ADSL N.

Outputs in OUT: `<output_id>.csv` (the ARD of each table or figure), `<output_id>.png` for
figures, and `<table>.docx` with every output of the command. Same inputs, same bytes: the
document's creation time is SOURCE_DATE_EPOCH, else the study's data cut-off.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import Problem, SubError
from ..study import StudySettings

NONE_WORDS = {"", "none", "no", "-"}


@dataclass(frozen=True)
class TlfOptions:
    """What a one-table run needs besides the data; also the `options` a registered builder accepts."""

    settings: StudySettings | None
    by: str | None = None
    denom_by: str | None = None
    pop: str | None = "SAFFL"
    subject_flag: str | None = "TRTEMFL"


def _none(value: str | None) -> str | None:
    if value is None or value.strip().lower() in NONE_WORDS:
        return None
    return value.strip()


# --------------------------------------------------------------------------- reading the ADaM folder

def read_adam(adam_dir: Path) -> dict[str, pd.DataFrame]:
    """Every dataset of an ADaM folder (`*.xpt`, else `*.json` Dataset-JSON), keyed by upper-case name."""
    from ..datasetjson import read_dataset_json
    from ..xpt import read_xpt

    folder = Path(adam_dir)
    if not folder.is_dir():
        raise SubError(Problem(str(folder), None, None, None, "ADaM folder not found"))
    frames: dict[str, pd.DataFrame] = {}
    for path in sorted(folder.glob("*.xpt")):
        frames[path.stem.upper()] = read_xpt(path).frame
    for path in sorted(folder.glob("*.json")):
        frames.setdefault(path.stem.upper(), read_dataset_json(path).frame)
    if not frames:
        raise SubError(Problem(str(folder), None, None, None, "no ADaM datasets here (.xpt or Dataset-JSON .json)"))
    return frames


def _need(adam: dict[str, pd.DataFrame], *names: str, folder: Path) -> None:
    missing = [n for n in names if n not in adam]
    if missing:
        raise SubError([Problem(str(folder), None, None, None, f"{n.lower()}.xpt (or .json) is missing; this table needs it")
                        for n in missing], f"ADaM folder {folder} lacks {', '.join(missing)}")


# --------------------------------------------------------------------------- the tables

def _safety(name: str) -> Callable:
    def build(adam, o: TlfOptions) -> list:
        from . import tables_safety as ts

        adsl, adae = adam["ADSL"], adam["ADAE"]
        grouping = dict(by=o.by, denom_by=o.denom_by, pop=o.pop, subject_flag=o.subject_flag)
        single = dict(pop=o.pop, subject_flag=o.subject_flag)
        if name.endswith("-soc-pt"):
            key = name.removesuffix("-soc-pt").upper()
            return [ts.ae_by_soc_pt(adsl, adae, o.settings, subset=key, **grouping)]
        if name == "overview":
            return [ts.safety_overview(adsl, adae, o.settings, **grouping)]
        if name == "adr-severity":
            return [ts.adr_by_severity(adsl, adae, o.settings, **grouping)]
        if name == "adr-grade":
            return [ts.adr_by_grade(adsl, adae, o.settings, **grouping)]
        if name == "adr-outcome":
            return [ts.adr_by_outcome(adsl, adae, o.settings, **grouping)]
        if name == "adr-factors":
            return list(ts.adr_factor_analysis(adsl, adae, o.settings, **single))
        if name == "special-populations":
            return ts.special_populations(adsl, adae, o.settings, **single)
        if name == "adr-soc-figure":
            return [ts.adr_soc_figure(adsl, adae, o.settings, **single)]
        if name == "summary":
            return [ts.summary_sentences(adsl, adae, o.settings, **single)]
        if name == "safety":
            return ts.safety_tables(adsl, adae, o.settings, **grouping)
        raise AssertionError(name)

    return build


def _demographics(adam, o: TlfOptions) -> list:
    """The colleague's `tables_base.demographics`, called with the arguments its signature names."""
    try:
        from . import tables_base
    except ImportError:
        tables_base = None
    builder = getattr(tables_base, "demographics", None)
    if builder is None:
        raise SubError(Problem("submission/tlf/tables_base.py", None, None, None,
                               "no demographics builder yet: the demographics table is not available"))
    offered = {"adsl": adam["ADSL"], "adam": adam, "settings": o.settings, "pop": o.pop, "pop_flag": o.pop,
               "by": o.denom_by or o.by, "denom_by": o.denom_by or o.by, "group": o.denom_by or o.by}
    params = inspect.signature(builder).parameters
    kwargs = {k: v for k, v in offered.items() if k in params}
    if "adsl" not in params and "adam" not in params:
        result = builder(adam["ADSL"], **kwargs)
    else:
        result = builder(**kwargs)
    return list(result) if isinstance(result, (list, tuple)) else [result]


SUBSET_TABLES = ("ae", "adr", "sae", "sadr", "uae", "uadr", "usae", "usadr")
TABLES: dict[str, tuple[tuple[str, ...], Callable, str]] = {
    **{f"{k}-soc-pt": (("ADSL", "ADAE"), _safety(f"{k}-soc-pt"), f"{k.upper()} by SOC and PT") for k in SUBSET_TABLES},
    "overview": (("ADSL", "ADAE"), _safety("overview"), "AE/ADR overview with exact CIs"),
    "adr-severity": (("ADSL", "ADAE"), _safety("adr-severity"), "ADRs by severity"),
    "adr-grade": (("ADSL", "ADAE"), _safety("adr-grade"), "ADRs by CTCAE grade"),
    "adr-outcome": (("ADSL", "ADAE"), _safety("adr-outcome"), "ADRs by outcome"),
    "adr-factors": (("ADSL", "ADAE"), _safety("adr-factors"), "factors affecting ADR incidence"),
    "special-populations": (("ADSL", "ADAE"), _safety("special-populations"), "special populations"),
    "adr-soc-figure": (("ADSL", "ADAE"), _safety("adr-soc-figure"), "figure: ADR incidence by SOC"),
    "summary": (("ADSL", "ADAE"), _safety("summary"), "re-examination summary sentences"),
    "safety": (("ADSL", "ADAE"), _safety("safety"), "every safety output"),
    "demographics": (("ADSL",), _demographics, "demographics (tables_base.demographics)"),
}


def table_names() -> list[str]:
    return list(TABLES)


# --------------------------------------------------------------------------- writing

def _created(settings: StudySettings | None) -> dt.datetime:
    from ..io import build_timestamp

    default = dt.datetime(2000, 1, 1)
    if settings is not None:
        default = dt.datetime.combine(settings.dates.data_cutoff, dt.time())
    return build_timestamp(default)


def _docx(results: list, title: str, settings: StudySettings | None, synthetic: bool) -> bytes:
    from .docx import ReportDocument
    from .table import FigureResult

    header = f"{settings.study.studyid} {settings.study.short_title_ko}" if settings is not None and synthetic else title
    doc = ReportDocument(created=_created(settings), header_text=header, title=title, author="sub")
    if synthetic:
        doc.paragraph("합성 자료(SYNTHETIC DATA): `sub synth`로 만든 자료이며 실제 연구 결과가 아니다.", bold=True)
    for result in results:
        if isinstance(result, FigureResult):
            doc.figure(result.png, caption=f"{result.output_id} {result.title}", footnotes=result.footnotes,
                       landscape=False)
            continue
        frame = result.display
        attrs = dict(getattr(frame, "attrs", {}) or {})
        indent = attrs.get("indent")
        if indent is not None and len(indent) != len(frame):
            indent = None
        doc.table(frame, caption=f"{result.output_id} {result.title}", footnotes=result.footnotes,
                  landscape=bool(result.landscape), indent=indent, bold_rows=attrs.get("bold_rows", ()))
    return doc.to_bytes()


def run_tlf(table: str, adam_dir: Path, out_dir: Path, by: str | None = None, denom_by: str | None = None,
            pop: str | None = "SAFFL", subject_flag: str | None = "TRTEMFL",
            settings: StudySettings | None = None) -> list[Path]:
    """Build one table (or a named group of outputs) from an ADaM folder; write its ARD CSV(s) and a .docx.

    `by`/`denom_by`/`pop`/`subject_flag` of "none" (or empty) mean: not used. Without `denom_by`
    the denominators are grouped by `by` itself. Returns the written files.
    """
    from ..io import write_atomic
    from .ard import write_ard_csv
    from .table import FigureResult

    name = table.strip().lower().replace("_", "-")
    if name not in TABLES:
        raise SubError(Problem("sub tlf", None, "TABLE", table, f"unknown table; known: {', '.join(TABLES)}"))
    needs, build, description = TABLES[name]
    adam_dir, out_dir = Path(adam_dir), Path(out_dir)
    adam = read_adam(adam_dir)
    _need(adam, *needs, folder=adam_dir)
    by, denom_by = _none(by), _none(denom_by)
    options = TlfOptions(settings, by, denom_by or by, _none(pop), _none(subject_flag))
    results = build(adam, options)

    synthetic = False
    if settings is not None and settings.study.synthetic and "STUDYID" in adam["ADSL"].columns:
        synthetic = bool(adam["ADSL"]["STUDYID"].eq(settings.study.studyid).any())
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for result in results:
        if result.ard is not None:
            path = out_dir / f"{result.output_id}.csv"
            write_ard_csv(result.ard, path)
            written.append(path)
        if isinstance(result, FigureResult):
            path = out_dir / f"{result.output_id}.png"
            write_atomic(path, result.png)
            written.append(path)
    path = out_dir / f"{name}.docx"
    write_atomic(path, _docx(results, f"{description} ({adam_dir.name})", settings, synthetic))
    written.append(path)
    return written
