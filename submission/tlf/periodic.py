"""The periodic safety report (정기적인 안전성 정보 보고서) of `sub build --cutoff DATE`.

During the re-examination period MFDS wants a periodic safety report every 6 months for the
first 2 years after approval, then yearly (domain.md section 2). A build with `--cutoff` is such
a report: the whole chain on the extract as known at the cut-off (submission/raw/cutoff.py),
titled and worded as a periodic report, with the reporting interval beside the cumulative
figures.

Reporting interval. `--interval-start DATE` is the previous report's data cut-off; by default
the previous cut-off the schedule implies (`schedule`: every 6 months from the first approval
for 2 years, then every 12 months; the latest such date before the cut-off). When no scheduled
date lies before the cut-off, the interval starts at the first approval (the start of the
re-examination period). The interval is the day after the interval start up to the cut-off;
the cumulative period is the survey's start (dates.pms_start) up to the cut-off.

Interval figures. An interval figure is the cumulative figure at the cut-off minus the
cumulative figure at the interval start, each computed from the extract cut at its date: the
build runs the cut, SDTM and ADaM chain a second time at the interval start (in memory, through
XPT files in a temporary folder so that both ADaMs are read as the report reads them), and the
overview (T-05) and the SOC/PT tables (T-06-*) are built on both. So the subjects counted in the
interval are those whose first such event falls in it (a subject counted by the interval start
is not counted again), and the events are those added in it. An interval start before the first
enrolment has nothing cumulative: the interval figures are the cumulative ones.

The ARD of a periodic build has one more column, `period`: `cumulative` on every row of the
cumulative figures (every output), `interval` on the interval rows of T-05, T-06-* and of the
listing of new serious unexpected ADRs. The column is part of the row key (tlf/ard.py
`ard_key_columns`), so both rows of a cell have their own `ard_id`. Interval rows carry no
counting (`counts` none): `sub trace` says they are differences of two builds and traces the
cumulative rows as before; the final report's ARD has no `period` column and keeps its bytes.

New serious unexpected ADRs of the interval (T-06-USADR-NEW): the treatment-emergent ADAE
records of safety subjects that are serious, unexpected and ADRs at the cut-off and were not
(or did not exist) at the interval start; a record is the same in both builds when subject,
collected onset, verbatim term and PT are (repeated ones matched in order).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd

from ..errors import Problem, SubError
from . import fmt
from . import glossary as ko
from ._frames import flagged, is_missing
from .ard import ANY_EVENT, ard_to_frame
from .table import TableResult

PERIOD_COLUMN = "period"
CUMULATIVE = "cumulative"
INTERVAL = "interval"
REPORT_NAME = "정기적인 안전성 정보 보고서"
NEW_USADR_ID = "T-06-USADR-NEW"
# The first 2 years every 6 months, then every 12 months (domain.md section 2).
SEMIANNUAL_YEARS = 2
KEY = ["group1", "group1_level", "group2", "group2_level", "variable", "variable_level"]
INTERVAL_STATS = ("n", "N", "events")
MATCH = ["USUBJID", "AESTDTC", "AETERM", "AEDECOD"]


# --------------------------------------------------------------------------- the schedule

def _add_months(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def schedule(first_approval: dt.date, until: dt.date) -> list[dt.date]:
    """The periodic data cut-offs up to `until`: every 6 months from the first approval for the
    first 2 years, then every 12 months."""
    points, months = [], 6
    while True:
        point = _add_months(first_approval, months)
        if point > until:
            return points
        points.append(point)
        months += 6 if months < 12 * SEMIANNUAL_YEARS else 12


def default_interval_start(settings, cutoff: dt.date) -> dt.date:
    """The previous periodic cut-off the schedule implies (the latest scheduled date before the
    cut-off), else the first approval (the start of the re-examination period)."""
    first = settings.dates.first_approval
    before = [p for p in schedule(first, cutoff) if p < cutoff]
    return before[-1] if before else first


@dataclasses.dataclass
class Periodic:
    """What makes a report periodic: its cut-off, the interval start and the ADaM at that start."""

    cutoff: dt.date
    start: dt.date                      # the previous data cut-off: the interval is (start, cutoff]
    start_from: str                     # how the start was chosen (for build.log)
    pms_start: dt.date
    adam_start: dict | None = None      # ADaM frames at the interval start; None: no subject by then

    @property
    def interval_first(self) -> dt.date:
        return self.start + dt.timedelta(days=1)

    def interval_text(self) -> str:
        return f"{self.interval_first.isoformat()} ~ {self.cutoff.isoformat()}"

    def cumulative_text(self) -> str:
        return f"{self.pms_start.isoformat()} ~ {self.cutoff.isoformat()}"


def check_interval_start(start: dt.date, cutoff: dt.date) -> None:
    if start >= cutoff:
        raise SubError(Problem("--interval-start", None, None, start.isoformat(),
                               f"not before the cut-off {cutoff.isoformat()} (--cutoff): the reporting interval "
                               "runs from the day after the interval start to the cut-off"), "bad --interval-start")


# --------------------------------------------------------------------------- the chain at the start

def adam_at(raw_dir: Path, specs_dir: Path, start: dt.date, *, encoding: str = "utf-8") -> dict | None:
    """The ADaM frames of the extract cut at `start` (cut, SDTM, ADaM as `sub build --cutoff start`
    makes them, each read back from XPT like the report reads its own ADaM); None when nobody was
    enrolled by then."""
    from ..adam.build import build_adam, read_sdtm
    from ..adam.labelterms import LabelTerms
    from ..build import creation_time
    from ..raw.cutoff import apply_cutoff, cutoff_settings
    from ..raw.load import load_extract
    from ..sdtm.build import build_sdtm
    from ..sdtm.context import Translations
    from ..spec import load_spec
    from ..study import load_settings
    from ..xpt import read_xpt, write_xpt

    settings = load_settings(specs_dir)
    extract = load_extract(raw_dir, specs_dir, settings=settings, encoding=encoding)
    enrolled = extract["ENROL"]["ENRDAT"].dropna()
    if not len(enrolled) or start.isoformat() < min(enrolled):
        return None
    cut, _ = apply_cutoff(extract, start, settings)
    settings = cutoff_settings(settings, start)
    sdtm = build_sdtm(cut, load_spec(Path(specs_dir) / "sdtm"), settings, Translations.load(specs_dir),
                      whole=extract).datasets
    created = creation_time(settings)
    with tempfile.TemporaryDirectory(prefix="sub-interval-start-") as tmp:
        folder = Path(tmp)
        (folder / "sdtm").mkdir()
        (folder / "adam").mkdir()
        for name, ds in sdtm.items():
            write_xpt(ds, folder / "sdtm" / f"{name.lower()}.xpt", created)
        adam = build_adam(read_sdtm(folder / "sdtm"), load_spec(Path(specs_dir) / "adam"), settings,
                          LabelTerms.load(specs_dir)).datasets
        frames = {}
        for name, ds in adam.items():
            path = folder / "adam" / f"{name.lower()}.xpt"
            write_xpt(ds, path, created)
            frames[name] = read_xpt(path).frame
    return frames


def prepare(raw_dir: Path, specs_dir: Path, settings, cutoff: dt.date, start: dt.date | None, *,
            encoding: str, log: list[str]) -> Periodic:
    """The periodic report's interval and the ADaM at its start (settings: the cut-off build's)."""
    import time

    from_option = start is not None
    start = start if start is not None else default_interval_start(settings, cutoff)
    check_interval_start(start, cutoff)
    began = time.perf_counter()
    how = ("--interval-start" if from_option else
           "the previous periodic cut-off of the schedule (every 6 months from the first approval for 2 years, "
           "then yearly)" if start != settings.dates.first_approval else
           "no scheduled cut-off before the cut-off: the first approval")
    periodic = Periodic(cutoff, start, how, settings.dates.pms_start)
    periodic.adam_start = adam_at(raw_dir, specs_dir, start, encoding=encoding)
    log.append(f"periodic safety report: interval {periodic.interval_text()} (start {start.isoformat()} from {how}), "
               f"cumulative {periodic.cumulative_text()}; the chain re-run at {start.isoformat()} for the interval "
               f"figures ({time.perf_counter() - began:.2f} s)"
               + ("" if periodic.adam_start is not None else "; nobody was enrolled by then: interval = cumulative"))
    return periodic


# --------------------------------------------------------------------------- interval rows

def _key(row) -> tuple:
    return tuple(None if is_missing(row.get(k)) else row.get(k) for k in KEY)


def interval_ard(cumulative: pd.DataFrame, start: pd.DataFrame | None) -> pd.DataFrame:
    """The interval rows: n, N and events of every cell, cumulative minus start (a cell only at
    the start counts 0 at the cut-off), `period` interval, no counting."""
    def stats(frame: pd.DataFrame | None) -> dict:
        out: dict = {}
        if frame is None or frame.empty:
            return out
        for row in frame[frame["stat_name"].isin(INTERVAL_STATS)].to_dict("records"):
            out[(_key(row), row["stat_name"])] = row
        return out

    cum, old = stats(cumulative), stats(start)
    keys = list(dict.fromkeys([*cum, *old]))
    rows = []
    for key in keys:
        base = dict(cum.get(key) or old[key])
        value = int((cum[key]["stat"] if key in cum else 0) or 0) - int((old[key]["stat"] if key in old else 0) or 0)
        base.update(stat=value, context=f"{base.get('context') or ''} interval".strip(), counts="none",
                    output_id=(cumulative["output_id"].iloc[0] if len(cumulative) else base["output_id"]),
                    **{PERIOD_COLUMN: INTERVAL})
        base.pop("ard_id", None)
        rows.append(base)
    return ard_to_frame(pd.DataFrame(rows)) if rows else ard_to_frame()


def _marked(ard: pd.DataFrame | None) -> pd.DataFrame | None:
    if ard is None or PERIOD_COLUMN in ard.columns:
        return ard
    ard = ard.copy()
    ard[PERIOD_COLUMN] = CUMULATIVE
    return ard


def _look(ard: pd.DataFrame, period: str) -> dict:
    rows = ard[ard[PERIOD_COLUMN].eq(period)] if PERIOD_COLUMN in ard.columns else ard
    return {(_key(r), r["stat_name"]): r["stat"] for r in rows.to_dict("records")}


def _interval_cell(n, events) -> str:
    n, events = int(n), int(events)
    return ko.ZERO if n == 0 and events == 0 else f"{fmt.fmt_count(n)} [{fmt.fmt_count(events)}]"


def _headers(periodic: Periodic, N_interval: int, N: int) -> tuple[str, str]:
    return (f"보고 기간\n{periodic.interval_text()}\n(신규 N={fmt.fmt_count(N_interval)})\nn [건]",
            f"누적\n{periodic.cumulative_text()}\n(N={fmt.fmt_count(N)})\nn (%) [건]")


def _interval_note(periodic: Periodic) -> list[str]:
    return [f"보고 기간({periodic.interval_text()})의 수치는 자료 마감일({periodic.cutoff.isoformat()})까지의 누적 "
            f"수치에서 직전 자료 마감일({periodic.start.isoformat()})까지의 누적 수치를 뺀 값이며, 각 누적 수치는 "
            "그날까지 알려진 자료로 계산하였다. 따라서 보고 기간의 대상자 수는 해당 사례가 보고 기간에 처음 "
            "발현한 대상자 수이고, 건수는 보고 기간에 더해진 건수이다.",
            "보고 기간 열의 '신규 N'은 보고 기간에 새로 안전성 평가대상자가 된 대상자 수이다. 보고 기간 열에는 "
            "백분율을 제시하지 않았다(백분율은 누적 열에만 제시하며, 분모는 누적 열 머리의 N이다)."]


def _periodic_table(result: TableResult, start_result: TableResult | None, periodic: Periodic, conv,
                    first_label: str, label_of) -> TableResult:
    """`result` (the cumulative table) with the interval column before the cumulative one."""
    from .tables_safety import _cell, _display

    cum_ard = _marked(result.ard)
    inter = interval_ard(result.ard, start_result.ard if start_result is not None else None)
    ard = ard_to_frame(cum_ard, inter)
    cum, itv = _look(cum_ard, CUMULATIVE), _look(inter, INTERVAL)
    keys = list(dict.fromkeys(k for k, stat in [*cum, *itv] if stat == "n"))
    any_key = next(k for k in keys)
    N, N_interval = int(cum.get((any_key, "N"), 0)), int(itv.get((any_key, "N"), 0))
    head_i, head_c = _headers(periodic, N_interval, N)
    rows = []
    for key in keys:
        row = {first_label: label_of(key)}
        row[head_i] = _interval_cell(itv.get((key, "n"), 0), itv.get((key, "events"), 0))
        row[head_c] = _cell(cum.get((key, "n"), 0), N, cum.get((key, "events"), 0), conv.pct_table)
        rows.append(row)
    display = _display(rows)
    notes = [*result.footnotes, *_interval_note(periodic)]
    if any((k, "n") not in cum for k in keys):
        notes.append("누적 수치가 0인 행은 직전 자료 마감일에는 집계되었으나 자료 마감일에는 집계되지 않은 사례이다"
                     "(보고 기간 중의 자료 변경).")
    return dataclasses.replace(result, ard=ard, display=display, footnotes=notes,
                               title=f"{result.title}: 보고 기간 및 누적")


# --------------------------------------------------------------------------- the outputs

def periodic_results(results: list, sentences: list[str], adam: dict, settings, conv,
                     periodic: Periodic) -> tuple[list, list[str]]:
    """The report's outputs for a periodic report: T-05 and T-06-* with interval and cumulative
    columns, the listing of new serious unexpected ADRs after T-06-USADR, every other output's ARD
    marked cumulative; the label-change comparison (a conclusion of the final report) left out.
    Returns the outputs and the conclusion's sentences (the interval and cumulative overview)."""
    from .tables_safety import PT_INDENT, SOC_PT_SUBSETS, _subset, ae_by_soc_pt, safety_overview

    start = periodic.adam_start
    out = []
    for r in results:
        if r.section == "label":
            continue
        if r.output_id == "T-05":
            old = safety_overview(start["ADSL"], start["ADAE"], conv) if start is not None else None
            names = {s: _subset(s).name_ko for s in _subset_keys()}
            r = _periodic_table(r, old, periodic, conv, "구분", lambda key: names.get(key[4], key[4]))
        elif r.output_id.startswith("T-06-") and r.output_id.removeprefix("T-06-") in SOC_PT_SUBSETS:
            subset = _subset(r.output_id.removeprefix("T-06-"))
            old = ae_by_soc_pt(start["ADSL"], start["ADAE"], conv, subset=subset.key) if start is not None else None

            def label(key, subset=subset):
                variable, level = key[4], key[5]
                if variable == ANY_EVENT:
                    return f"{subset.name_ko} 발현 대상자"
                return conv.term(level) if variable == "AEBODSYS" else PT_INDENT + conv.term(level)

            r = _periodic_table(r, old, periodic, conv, "SOC\n  PT", label)
            out.append(r)
            if subset.key == "USADR":
                out.append(new_usadr_listing(adam, start, settings, conv, periodic))
            continue
        elif r.ard is not None:
            r = dataclasses.replace(r, ard=_marked(r.ard))
        out.append(r)
    if not any(r.output_id == NEW_USADR_ID for r in out):
        out.append(new_usadr_listing(adam, start, settings, conv, periodic))
    for r in out:
        if getattr(r, "ard", None) is not None and len(r.ard):
            r.ard = _marked(r.ard)
    return out, []


def _subset_keys():
    from .tables_safety import OVERVIEW_SUBSETS

    return OVERVIEW_SUBSETS


def _usadr(adae: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    safety = set(adsl.loc[flagged(adsl["SAFFL"]), "USUBJID"])
    mask = adae["USUBJID"].isin(safety) & flagged(adae["TRTEMFL"])
    for flag in ("ADRFL", "AESER", "UNEXPFL"):
        mask &= flagged(adae[flag])
    return adae[mask]


def new_records(now: pd.DataFrame, before: pd.DataFrame | None) -> pd.DataFrame:
    """The records of `now` with no counterpart in `before` (same MATCH values; repeats in order)."""
    if before is None or before.empty:
        return now
    def keyed(frame):
        key = frame[MATCH].astype(object).where(frame[MATCH].notna(), "").astype(str).agg("\x1f".join, axis=1)
        return key + "\x1e" + key.groupby(key).cumcount().astype(str)
    return now[~keyed(now).isin(set(keyed(before)))]


def new_usadr_listing(adam: dict, start: dict | None, settings, conv, periodic: Periodic) -> TableResult:
    """The serious unexpected ADRs new in the interval, one row per event (T-06-USADR-NEW)."""
    from .tables_base import _event_listing

    now = _usadr(adam["ADAE"], adam["ADSL"])
    before = _usadr(start["ADAE"], start["ADSL"]) if start is not None else None
    new = new_records(now, before)
    result = _event_listing(
        new, adam["ADSL"], settings=settings, output_id=NEW_USADR_ID,
        title=f"보고 기간({periodic.interval_text()})에 새로 보고된 {ko.USADR}",
        footnotes=[f"보고 기간에 새로 보고된 사례: 자료 마감일({periodic.cutoff.isoformat()})에 {ko.USADR}인 "
                   f"{ko.TREATMENT_EMERGENT} 사례 중 직전 자료 마감일({periodic.start.isoformat()})에는 없었거나 "
                   f"{ko.USADR}이 아니었던 사례(보고 기간에 발현했거나, 중대성·인과관계 정보가 보고 기간에 더해진 "
                   "사례). 안전성 평가대상자."],
        terms=conv.term)
    ard = result.ard.copy()
    ard["counts"] = "none"
    ard[PERIOD_COLUMN] = INTERVAL
    result.ard = ard
    result.section = "safety"
    return result


# --------------------------------------------------------------------------- the words

def overview_sentence(ard: pd.DataFrame, settings, periodic: Periodic) -> str | None:
    """The interval and the cumulative incidences of the overview (T-05) in one sentence."""
    digits = settings.conventions.percent_decimals_table
    rows = ard[ard["output_id"].eq("T-05") & ard["group1_level"].isna()]
    if rows.empty or PERIOD_COLUMN not in rows.columns:
        return None

    def stat(period, variable, name):
        hit = rows[rows[PERIOD_COLUMN].eq(period) & rows["variable"].eq(variable) & rows["stat_name"].eq(name)]
        return None if hit.empty else int(hit["stat"].iloc[0])

    parts_i, parts_c = [], []
    for key, name in (("AE", ko.AE), ("ADR", ko.ADR), ("SAE", ko.SAE), ("SADR", ko.SADR), ("USADR", ko.USADR)):
        n_i, e_i = stat(INTERVAL, key, "n"), stat(INTERVAL, key, "events")
        n, N, e = stat(CUMULATIVE, key, "n"), stat(CUMULATIVE, key, "N"), stat(CUMULATIVE, key, "events")
        if n is None or not N:
            continue
        parts_i.append(f"{name} {fmt.fmt_count(n_i)}명({fmt.fmt_count(e_i)}건)")
        parts_c.append(f"{name} {fmt.label_incidence(n, N, e, digits)}")
    if not parts_c:
        return None
    N = stat(CUMULATIVE, "AE", "N")
    return (f"보고 기간({periodic.interval_text()})에 처음 발현한 대상자는 " + ", ".join(parts_i)
            + f"이었다. 누적({periodic.cumulative_text()})으로는 안전성 평가대상자 {fmt.fmt_count(N)}명 중 "
            + ", ".join(parts_c) + "이었다.")


def title(settings) -> str:
    return f"{settings.study.drug_ko} {REPORT_NAME}"


def cover_facts(settings, periodic: Periodic, reexamination_period: str, version: str, created: dt.date) -> list:
    s = settings.study
    return [("의약품", f"{s.drug_ko}({s.drug_generic}), {s.drug}"), ("효능·효과", s.indication_ko),
            ("의뢰자", s.sponsor), ("조사 번호", s.studyid),
            ("보고 기간", periodic.interval_text()), ("누적 기간", periodic.cumulative_text()),
            ("자료 마감일", periodic.cutoff.isoformat()), ("재심사 기간", reexamination_period),
            ("최초 허가일", settings.dates.first_approval.isoformat()),
            ("보고서 버전", f"{version} (sub {version})"), ("작성일", created.isoformat())]


def report_period_text(settings, periodic: Periodic, reexamination_period: str) -> str:
    """The paragraph of 1.2: what report this is, its interval and its cumulative period."""
    return (f"이 보고서는 재심사 기간({reexamination_period}) 중에 제출하는 {REPORT_NAME}이다. 재심사 기간 중 "
            "정기적인 안전성 정보 보고는 허가 후 2년 동안은 6개월마다, 그 후에는 1년마다 한다. 보고 기간은 "
            f"{periodic.interval_first.isoformat()}부터 자료 마감일 {periodic.cutoff.isoformat()}까지, 누적 기간은 "
            f"조사 시작일 {periodic.pms_start.isoformat()}부터 자료 마감일까지이다. 안전성 요약표와 기관계 대분류 및 "
            "기본 용어별 표는 보고 기간과 누적 수치를 함께 제시하며, 그 밖의 표는 누적 수치이다.")


def survey_period_text(settings, periodic: Periodic) -> str:
    """The survey period of 2.1 as known at the cut-off (never a date after it)."""
    d = settings.dates
    text = (f"이 보고서의 조사 기간은 {d.pms_start.isoformat()}부터 자료 마감일 {periodic.cutoff.isoformat()}까지"
            "(누적 기간)이며")
    if d.enrolment_cutoff > periodic.cutoff:
        text += ", 자료 마감일에 대상자 등록은 진행 중이었다"
    else:
        text += f", 대상자 등록은 {d.enrolment_cutoff.isoformat()}에 마감되었다"
    return text + "."
