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

Interval figures. The build runs the cut, SDTM and ADaM chain a second time at the interval
start (in memory, through XPT files in a temporary folder so that both ADaMs are read as the report
reads them). A record a table counts (treatment-emergent, of a safety subject, in the table's
subset) is new in the interval when that table did not count it at the interval start: it was
absent then (onset in the interval, or reported in it), or then not in the subset (seriousness or
causality added in the interval), or its subject was not then in the safety set. The interval
column of the overview (T-05) and of the SOC/PT tables (T-06-*) is that same table computed on the
new records, among the cut-off's safety subjects: the subjects with a new record in the cell and
the new records. So an interval figure is never negative, and a subject counted at the interval
start is counted again when a new record of the cell comes in. A subject in the safety set at the
interval start and out of it at the cut-off (a monitoring review made during the interval) is in
neither column; T-05-SAFCHG lists such subjects with their reason and the events counted for them
at the interval start, and gives the safety set at both dates (every table's footnote says how
many there are). An interval start before the first enrolment has nothing at the start: every record
is new.

The ARD of a periodic build has one more column, `period`: `cumulative` on every row of the
cumulative figures (every output), `interval` on the interval rows of T-05, T-06-* and of the
listing of new serious unexpected ADRs, and on T-05-SAFCHG. The column is part of the row key (tlf/ard.py
`ard_key_columns`), so both rows of a cell have their own `ard_id`. Interval rows carry no
counting (`counts` none): `sub trace` says they need the build at the interval start and traces the
cumulative rows as before; the final report's ARD has no `period` column and keeps its bytes.

New serious unexpected ADRs of the interval (T-06-USADR-NEW): the records of T-06-USADR that are
new in the interval (the rule above); a record is the same in both builds when subject, collected
onset, verbatim term and PT are (repeated ones matched in order).
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
# The report's files (the final report's are report.DOCX_NAME and PDF_NAME).
DOCX_NAME = "periodic-safety-report.docx"
PDF_NAME = "periodic-safety-report.pdf"
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

def adam_at(raw_dir: Path, specs_dir: Path, start: dt.date, *, encoding: str = "utf-8",
            as_received: bool = False) -> dict | None:
    """The ADaM frames of the extract cut at `start`, made by the build's own SDTM and ADaM stages and
    read back from XPT like the report reads its own ADaM; None when the cut leaves nobody (no
    enrolment, or no complete one, by then). Another failure of that cut names --interval-start."""
    from ..build import creation_time, run_adam_stage, run_sdtm_stage
    from ..raw.cutoff import NobodyLeft
    from ..xpt import read_xpt, write_xpt

    try:
        settings, sdtm = run_sdtm_stage(raw_dir, specs_dir, encoding=encoding, log=[], cutoff=start,
                                        as_received=as_received)
    except NobodyLeft:
        return None
    except SubError as exc:
        raise SubError([dataclasses.replace(p, file="--interval-start") if p.file == "--cutoff" else p
                        for p in exc.problems], "bad --interval-start") from None
    created = creation_time(settings)
    with tempfile.TemporaryDirectory(prefix="sub-interval-start-") as tmp:
        folder = Path(tmp)
        (folder / "sdtm").mkdir()
        (folder / "adam").mkdir()
        for name, ds in sdtm.items():
            write_xpt(ds, folder / "sdtm" / f"{name.lower()}.xpt", created)
        frames = {}
        for name, ds in run_adam_stage(folder / "sdtm", specs_dir, settings, []).items():
            path = folder / "adam" / f"{name.lower()}.xpt"
            write_xpt(ds, path, created)
            frames[name] = read_xpt(path).frame
    return frames


def prepare(raw_dir: Path, specs_dir: Path, settings, cutoff: dt.date, start: dt.date | None, *,
            encoding: str, log: list[str], as_received: bool = False) -> Periodic:
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
    periodic.adam_start = adam_at(raw_dir, specs_dir, start, encoding=encoding, as_received=as_received)
    log.append(f"periodic safety report: interval {periodic.interval_text()} (start {start.isoformat()} from {how}), "
               f"cumulative {periodic.cumulative_text()}; the chain re-run at {start.isoformat()} for the interval "
               f"figures ({time.perf_counter() - began:.2f} s)"
               + ("" if periodic.adam_start is not None else "; nobody was enrolled, with complete enrolment forms, by then: interval = cumulative"))
    return periodic


# --------------------------------------------------------------------------- interval rows

def _key(row) -> tuple:
    return tuple(None if is_missing(row.get(k)) else row.get(k) for k in KEY)


def counted(adae: pd.DataFrame, adsl: pd.DataFrame, subset) -> pd.DataFrame:
    """The ADAE records a table of `subset` counts: treatment-emergent records of safety subjects
    that are in the subset (every flag of it 'Y')."""
    from .tables_safety import _subset, _subset_mask

    safety = set(adsl.loc[flagged(adsl["SAFFL"]), "USUBJID"])
    mask = adae["USUBJID"].isin(safety) & _subset_mask(adae, _subset(subset))
    if "TRTEMFL" in adae.columns:
        mask &= flagged(adae["TRTEMFL"])
    return adae[mask]


def new_in_interval(adam: dict, start: dict | None, subset) -> pd.DataFrame:
    """The records a table of `subset` counts at the cut-off that it did not count at the interval
    start (absent then, or then not in the subset, not treatment-emergent, or of a subject not then
    in the safety set)."""
    now = counted(adam["ADAE"], adam["ADSL"], subset)
    before = counted(start["ADAE"], start["ADSL"], subset) if start is not None else None
    return new_records(now, before)


def interval_ard(cumulative: pd.DataFrame, new: pd.DataFrame | None) -> pd.DataFrame:
    """The interval rows of a table: for every cell (n, N, events) of the cumulative rows, n and
    events of the same table computed on the records new in the interval (`new`: that table's
    ARD on them; 0 where it has no such cell) and N the cumulative N (the interval counts are among
    the cut-off's safety subjects). `period` interval, no counting (`counts` none)."""
    def stats(frame: pd.DataFrame | None) -> dict:
        if frame is None or frame.empty:
            return {}
        return {(_key(row), row["stat_name"]): row for row in
                frame[frame["stat_name"].isin(INTERVAL_STATS)].to_dict("records")}

    cum, itv = stats(cumulative), stats(new)
    rows = []
    for key in list(dict.fromkeys([*cum, *itv])):
        base = dict(cum.get(key) or itv[key])
        if key[1] == "N":
            value = int(cum[key]["stat"] if key in cum else itv[key]["stat"])
        else:
            value = int((itv[key]["stat"] if key in itv else 0) or 0)
        base.update(stat=value, context=f"{base.get('context') or ''} interval".strip(), counts="none",
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


def _headers(periodic: Periodic, N: int) -> tuple[str, str]:
    return (f"보고 기간\n{periodic.interval_text()}\nn [건]",
            f"누적\n{periodic.cumulative_text()}\n(N={fmt.fmt_count(N)})\nn (%) [건]")


def _interval_note(periodic: Periodic, change: "SafetySetChange") -> list[str]:
    notes = [f"보고 기간({periodic.interval_text()}) 열: 자료 마감일({periodic.cutoff.isoformat()})의 안전성 "
             "평가대상자 중 보고 기간에 새로 집계된 사례가 있는 대상자 수와 그 사례의 건수. 새로 집계된 사례는 "
             "자료 마감일에 이 행에 집계되고 직전 자료 마감일"
             f"({periodic.start.isoformat()})까지 알려진 자료로는 이 행에 집계되지 않았던 사례이다(보고 기간에 "
             "발현한 사례, 보고 기간에 중대성·인과관계 등의 정보가 더해진 사례, 보고 기간에 안전성 평가대상자가 된 "
             "대상자의 사례). 직전 자료 마감일에 이미 집계된 대상자도 새로 집계된 사례가 있으면 보고 기간 열에 "
             "집계하였다. 보고 기간 열에는 백분율을 제시하지 않았다(분모는 누적 열 머리의 N)."]
    if change.removed:
        notes.append(f"직전 자료 마감일에 안전성 평가대상자였으나 보고 기간 중 제외된 대상자 "
                     f"{fmt.fmt_count(len(change.removed))}명의 사례는 보고 기간 열과 누적 열에 모두 집계하지 "
                     f"않았다(「{CHANGE_TITLE}」 표에 대상자별로 제시).")
    else:
        notes.append("보고 기간 중 안전성 평가대상자에서 제외된 대상자는 없었다.")
    return notes


def _periodic_table(result: TableResult, new_result: TableResult | None, periodic: Periodic, conv,
                    first_label: str, label_of, change: "SafetySetChange") -> TableResult:
    """`result` (the cumulative table) with the interval column before the cumulative one;
    `new_result`: the same table on the records new in the interval (None: there are none)."""
    from .tables_safety import _cell, _display

    cum_ard = _marked(result.ard)
    inter = interval_ard(result.ard, new_result.ard if new_result is not None else None)
    ard = ard_to_frame(cum_ard, inter)
    cum, itv = _look(cum_ard, CUMULATIVE), _look(inter, INTERVAL)
    keys = list(dict.fromkeys(k for k, stat in [*cum, *itv] if stat == "n"))
    any_key = next(k for k in keys)
    N = int(cum.get((any_key, "N"), 0))
    head_i, head_c = _headers(periodic, N)
    rows = []
    for key in keys:
        row = {first_label: label_of(key)}
        row[head_i] = _interval_cell(itv.get((key, "n"), 0), itv.get((key, "events"), 0))
        row[head_c] = _cell(cum.get((key, "n"), 0), N, cum.get((key, "events"), 0), conv.pct_table)
        rows.append(row)
    display = _display(rows)
    notes = [*result.footnotes, *_interval_note(periodic, change)]
    return dataclasses.replace(result, ard=ard, display=display, footnotes=notes,
                               title=f"{result.title}: 보고 기간 및 누적")


# --------------------------------------------------------------------------- the safety set's change

CHANGE_ID = "T-05-SAFCHG"
CHANGE_TITLE = "보고 기간 중 안전성 평가대상자에서 제외된 대상자"


@dataclasses.dataclass
class SafetySetChange:
    """The safety set at the interval start and at the cut-off: who left it and who joined it."""

    before: list[str]      # USUBJID in the safety set at the interval start
    after: list[str]       # ... at the cut-off
    removed: list[str]     # in it at the start, not at the cut-off (e.g. excluded by a monitoring review)
    added: list[str]       # in it at the cut-off, not at the start


def safety_set_change(adam: dict, start: dict | None) -> SafetySetChange:
    def saf(adsl):
        return list(adsl.loc[flagged(adsl["SAFFL"]), "USUBJID"])

    after = saf(adam["ADSL"])
    before = saf(start["ADSL"]) if start is not None else []
    return SafetySetChange(before, after, sorted(set(before) - set(after)), sorted(set(after) - set(before)))


def safety_set_change_table(adam: dict, start: dict | None, change: SafetySetChange, conv,
                            periodic: Periodic) -> TableResult:
    """T-05-SAFCHG: the safety set at both dates, and one row per subject removed from it during the
    interval with the reason and the events counted for the subject at the interval start."""
    from .ard import rows_frame, stat_row
    from .tables_base import SAFEXRS_KO

    adsl_now = adam["ADSL"].set_index("USUBJID")
    first = "대상자 번호"
    head_counts = f"직전 자료 마감일({periodic.start.isoformat()})까지 집계된 사례(건)"
    records = [stat_row(CHANGE_ID, "SAFFL", level, "n", len(subjects), analysis_set="SAFFL", context="interval",
                        stat_label=label, source="ADSL", where=None, population=None, counts="none",
                        **{PERIOD_COLUMN: INTERVAL})
               for level, subjects, label in (("START", change.before, "Safety subjects at the interval start"),
                                              ("REMOVED", change.removed, "Removed from the safety set in the interval"),
                                              ("ADDED", change.added, "Added to the safety set in the interval"),
                                              ("CUTOFF", change.after, "Safety subjects at the cut-off"))]
    rows = []
    keys = (("AE", ko.AE), ("ADR", ko.ADR), ("SAE", ko.SAE), ("USADR", ko.USADR))
    events = {k: counted(start["ADAE"], start["ADSL"], k) for k, _ in keys} if change.removed else {}
    for subject in change.removed:
        mine = {k: frame[frame["USUBJID"].eq(subject)] for k, frame in events.items()}
        for k, _ in keys:
            records.append(stat_row(CHANGE_ID, k, "Y", "events", int(len(mine[k])), analysis_set="SAFFL",
                                    group1="USUBJID", group1_level=subject, context="interval",
                                    source="ADAE", where=None, population=None, counts="none",
                                    **{PERIOD_COLUMN: INTERVAL}))
        reason = adsl_now.loc[subject, "SAFEXRS"] if subject in adsl_now.index else None
        sid = adsl_now.loc[subject, "SUBJID"] if subject in adsl_now.index else subject
        pts = sorted({conv.term(t) for t in mine["AE"]["AEDECOD"].dropna()})
        rows.append({first: str(sid),
                     "제외 사유": "" if is_missing(reason) else SAFEXRS_KO.get(reason, str(reason)),
                     head_counts: ", ".join(f"{name} {fmt.fmt_count(len(mine[k]))}" for k, name in keys),
                     "기본 용어(유해사례)": ", ".join(pts) or "-"})
    if not rows:
        rows = [{first: "해당 대상자 없음", "제외 사유": "", head_counts: "", "기본 용어(유해사례)": ""}]
    display = pd.DataFrame(rows, dtype=object)
    notes = [f"직전 자료 마감일({periodic.start.isoformat()})의 안전성 평가대상자 "
             f"{fmt.fmt_count(len(change.before))}명 중 {fmt.fmt_count(len(change.removed))}명이 보고 기간 중 "
             f"제외되었고 {fmt.fmt_count(len(change.added))}명이 새로 포함되어, 자료 마감일"
             f"({periodic.cutoff.isoformat()})의 안전성 평가대상자는 {fmt.fmt_count(len(change.after))}명이다.",
             "제외된 대상자의 사례는 자료 마감일의 누적 수치와 보고 기간 수치에 포함하지 않았다. 직전 자료 마감일까지 "
             "집계된 사례는 직전 보고서에 집계된 이 대상자의 "
             f"{ko.TREATMENT_EMERGENT} 사례 건수이다."]
    return TableResult(CHANGE_ID, f"{CHANGE_TITLE}({periodic.interval_text()})", rows_frame(records), display,
                       notes, section="safety")


# --------------------------------------------------------------------------- the outputs

def periodic_results(results: list, sentences: list[str], adam: dict, settings, conv,
                     periodic: Periodic) -> tuple[list, list[str]]:
    """The report's outputs for a periodic report: T-05 and T-06-* with interval and cumulative
    columns, the change of the safety set during the interval after T-05, the listing of new
    serious unexpected ADRs after T-06-USADR, every other output's ARD marked cumulative; the
    label-change comparison (a conclusion of the final report) left out. Returns the outputs and
    the conclusion's sentences."""
    from .tables_safety import (
        PT_INDENT,
        SOC_PT_SUBSETS,
        _subset,
        ae_by_soc_pt,
        safety_overview,
    )

    start = periodic.adam_start
    change = safety_set_change(adam, start)
    adsl = adam["ADSL"]
    out = []
    for r in results:
        if r.section == "label":
            continue
        if r.output_id == "T-05":
            shown = [key for key in _subset_keys() if key in set(r.ard["variable"])]
            parts = []
            for key in shown:
                new = new_in_interval(adam, start, key)
                if len(new):
                    part = safety_overview(adsl, new, conv, subsets=[key]).ard
                    parts.append(part[part["variable"].eq(key)])
            names = {s: _subset(s).name_ko for s in _subset_keys()}
            new_result = dataclasses.replace(r, ard=ard_to_frame(*parts)) if parts else None
            r = _periodic_table(r, new_result, periodic, conv, "구분", lambda key, names=names: names.get(key[4], key[4]), change)
            out.append(r)
            out.append(safety_set_change_table(adam, start, change, conv, periodic))
            continue
        elif r.output_id.startswith("T-06-") and r.output_id.removeprefix("T-06-") in SOC_PT_SUBSETS:
            subset = _subset(r.output_id.removeprefix("T-06-"))
            new = new_in_interval(adam, start, subset.key)
            new_result = (ae_by_soc_pt(adsl, new, conv, subset=subset.key, check_occurrence=False,
                                       output_id=r.output_id) if len(new) else None)

            def label(key, subset=subset):
                variable, level = key[4], key[5]
                if variable == ANY_EVENT:
                    return f"{subset.name_ko} 발현 대상자"
                return conv.term(level) if variable == "AEBODSYS" else PT_INDENT + conv.term(level)

            r = _periodic_table(r, new_result, periodic, conv, "SOC\n  PT", label, change)
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

    new = new_in_interval(adam, start, "USADR")
    result = _event_listing(
        new, adam["ADSL"], settings=settings, output_id=NEW_USADR_ID,
        title=f"보고 기간({periodic.interval_text()})에 새로 보고된 {ko.USADR}",
        footnotes=[f"보고 기간에 새로 보고된 사례: 자료 마감일({periodic.cutoff.isoformat()})에 {ko.USADR}인 "
                   f"{ko.TREATMENT_EMERGENT} 사례 중 직전 자료 마감일({periodic.start.isoformat()})에는 없었거나 "
                   f"{ko.USADR}이 아니었던 사례, 또는 그때 안전성 평가대상자가 아니었던 대상자의 사례(보고 기간에 "
                   "발현했거나, 중대성·인과관계 정보 또는 안전성 평가대상자 포함이 보고 기간에 더해진 사례). "
                   "자료 마감일의 안전성 평가대상자."],
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
    return (f"보고 기간({periodic.interval_text()})에 새로 집계된 사례가 있는 대상자는 " + ", ".join(parts_i)
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
    return (text + ". 평가대상자 포함 여부에 대한 모니터링 검토는 자료 마감일까지 이루어진 검토만 반영하였으므로"
            "(그 후의 검토는 반영하지 않았다), 자료 마감일에 아직 검토되지 않은 대상자의 분석 대상군은 이후 "
            "보고서에서 달라질 수 있다.")
