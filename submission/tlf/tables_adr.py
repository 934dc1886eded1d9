"""ADR tables the re-examination report adds to the safety section: by seriousness, by time to onset
and by duration of treatment.

- By seriousness (T-07-SER): ADRs by SOC and PT, serious and not serious side by side (subjects with
  at least one event of each kind; events all counted), the severity table's layout.
- By time to onset (T-07-ONSET): ADRs and serious ADRs by the day of onset counted from the first
  dose (ADAE ASTDY), in the settings' grouping ONSETGR; a subject counts once in every onset group
  where they had an event, events all count. Denominator: the safety set.
- By duration of treatment (T-07-DUR): subjects grouped by their duration of treatment (ADSL TRTDURD)
  in the settings' grouping TRTDURGR; ADR and serious ADR incidence in each group (denominator:
  the group's subjects).

Every number is an ARD row with its analysis definition (where.py), as in the other safety tables.
Without the grouping in the settings, or the onset day / duration in the data, a table is left out
and the caller is told why (`missing_reason`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..study import Grouping
from . import fmt
from . import glossary as ko
from ._frames import flagged, is_missing, only_columns
from .ard import ard_incidence, ard_to_frame, ard_value
from .table import TableResult
from .tables_safety import SUBSETS, Conventions, _by_level, _cell, _conv, _footnotes, _subset_mask, _subset_where
from .where import Source, all_of

OUTPUT_IDS = {"seriousness": "T-07-SER", "onset": "T-07-ONSET", "duration": "T-07-DUR"}
SERIOUSNESS_KO = {"Y": ko.SERIOUS, "N": f"{ko.SERIOUS[:-1]}하지 않은"}  # 중대한 / 중대하지 않은
SECTION = "safety"


def adr_by_seriousness(adsl: pd.DataFrame, adae: pd.DataFrame, settings=None, *, pop: str = "SAFFL",
                       subject_flag: str = "TRTEMFL", output_id: str = OUTPUT_IDS["seriousness"]) -> TableResult:
    """ADRs by SOC and PT, serious and not serious (subjects with at least one such event)."""
    subset = SUBSETS["ADR"]
    return _by_level(adsl, adae, _conv(settings), subset=subset, var="AESER", levels=("Y", "N"),
                     level_labels=SERIOUSNESS_KO, worst=False, missing_label=ko.MISSING, by=None, denom_by=None,
                     pop=pop, subject_flag=subject_flag, by_levels=None, total=None, soc_var="AEBODSYS",
                     pt_var="AEDECOD", id_var="USUBJID", output_id=output_id,
                     title=f"중대성별 {subset.name_ko} 발현 현황", what="중대성", context="seriousness")


def _bounds(grouping: Grouping, label: str, column: str) -> str:
    """The filter of one group of a grouping: `column >= low and column < high`."""
    i = list(grouping.labels).index(label)
    low = f"{column} >= {grouping.cuts[i - 1]:g}" if i > 0 else None
    high = f"{column} < {grouping.cuts[i]:g}" if i < len(grouping.cuts) else None
    return all_of(low, high)


def _days(label: str) -> str:
    return f"{ko.symbols(label)}일"


def missing_reason(adsl: pd.DataFrame, adae: pd.DataFrame, conv: Conventions | None, which: str) -> str | None:
    """Why the onset ('onset') or duration ('duration') table cannot be made, or None."""
    groups = getattr(conv, "groups", {}) or {}
    if which == "onset":
        if "ONSETGR" not in groups:
            return "발현 시기 구분 기준이 정해지지 않았다"
        if "ASTDY" not in adae.columns:
            return "발현일(첫 투여일 기준 일수)이 자료에 없다"
    else:
        if "TRTDURGR" not in groups:
            return "투여 기간 구분 기준이 정해지지 않았다"
        if "TRTDURD" not in adsl.columns:
            return "투여 기간이 자료에 없다"
    if "ADRFL" not in adae.columns:
        return f"{ko.ADR} 구분이 자료에 없다"
    return None


def adr_by_onset(adsl: pd.DataFrame, adae: pd.DataFrame, settings=None, *, pop: str = "SAFFL",
                 subject_flag: str = "TRTEMFL", output_id: str = OUTPUT_IDS["onset"]) -> TableResult:
    """ADRs and serious ADRs by time to onset (days from the first dose, the settings' ONSETGR)."""
    conv = _conv(settings)
    grouping = conv.groups["ONSETGR"]
    day = pd.to_numeric(adae["ASTDY"], errors="coerce")
    levels = list(grouping.labels)
    group_of = pd.Series([None if is_missing(d) else grouping.label_of(float(d)) for d in day], index=adae.index,
                         dtype=object)
    has_missing = bool(group_of.isna().any())
    parts, rows = [], []
    keys = [("ADR", SUBSETS["ADR"]), ("SADR", SUBSETS["SADR"])]
    records = only_columns(adae, "USUBJID", subject_flag, pop)  # the columns ard_incidence reads
    subjects = only_columns(adsl, "USUBJID", pop)
    for level in levels + ([ko.MISSING] if has_missing else []):
        at_level = group_of.isna() if level == ko.MISSING else group_of.eq(level)
        clause = "ASTDY is missing" if level == ko.MISSING else _bounds(grouping, level, "ASTDY")
        for key, subset in keys:
            column = f"__{key}__"
            work = records.assign(**{column: np.where(_subset_mask(adae, subset) & at_level, "Y", "N")})
            part = ard_incidence(work, subjects, flag=column, subject_flag=subject_flag, pop_flag=pop,
                                 ci_level=conv.ci_level, variable=key, id_var="USUBJID", output_id=output_id,
                                 source=Source("ADAE", levels={column: {"Y": all_of(_subset_where(subset), clause)}}))
            part = part.copy()
            part["group1"], part["group1_level"] = "ONSETGR", level
            part = part[~part["stat_name"].isin(["conf.low", "conf.high", "conf.level"])]
            parts.append(part)
    ard = ard_to_frame(*parts)
    N = int(ard_value(ard, "N", variable="ADR", group1_level=levels[0]))
    for level in levels + ([ko.MISSING] if has_missing else []):
        row = {"발현 시기(첫 투여일부터)": _days(level) if level != ko.MISSING else ko.MISSING}
        for key, subset in keys:
            where = dict(variable=key, group1_level=level)
            row[f"{subset.name_ko}\nn (%) [건]"] = _cell(ard_value(ard, "n", **where), N,
                                                        ard_value(ard, "events", **where), conv.pct_table)
        rows.append(row)
    notes = _footnotes(conv, pop, subject_flag, [(None, N)], subsets=[SUBSETS["SADR"]], meddra=False)
    notes.append("발현 시기: 이 약 첫 투여일(1일)부터 발현일까지의 일수. 한 대상자가 여러 시기에 발현한 경우 시기마다 "
                 "한 번씩 세며, 건수는 모두 센다.")
    if has_missing:
        notes.append(f"{ko.MISSING}: 발현일을 알 수 없어(부분 날짜) 시기를 정할 수 없는 사례.")
    return TableResult(output_id, f"발현 시기별 {ko.ADR} 발현 현황", ard, pd.DataFrame(rows), notes, section=SECTION)


def adr_by_duration(adsl: pd.DataFrame, adae: pd.DataFrame, settings=None, *, pop: str = "SAFFL",
                    subject_flag: str = "TRTEMFL", output_id: str = OUTPUT_IDS["duration"]) -> TableResult:
    """ADR and serious ADR incidence by duration of treatment (ADSL TRTDURD, the settings' TRTDURGR)."""
    conv = _conv(settings)
    grouping = conv.groups["TRTDURGR"]
    var = "__TRTDURGR__"
    duration = pd.to_numeric(adsl["TRTDURD"], errors="coerce")
    values = pd.Series([None if is_missing(d) else grouping.label_of(float(d)) for d in duration],
                       index=adsl.index, dtype=object)
    population = flagged(adsl[pop]) if pop else pd.Series(True, index=adsl.index)
    levels = list(grouping.labels)
    has_missing = bool(values[population].isna().any())
    if has_missing:
        levels.append(ko.MISSING)
        values = values.where(values.notna(), ko.MISSING)
    level_where = {lv: _bounds(grouping, lv, "TRTDURD") for lv in grouping.labels}
    level_where[ko.MISSING] = "TRTDURD is missing"
    work_adsl = only_columns(adsl, "USUBJID", pop).assign(**{var: values})
    flags = {f for _, subset in (("ADR", SUBSETS["ADR"]), ("SADR", SUBSETS["SADR"])) for f in subset.flags}
    work_ae = only_columns(adae, "USUBJID", subject_flag, pop, *sorted(flags))  # the columns read below
    work_ae = work_ae.assign(**{var: work_ae["USUBJID"].map(dict(zip(adsl["USUBJID"], values)))})
    parts = []
    keys = [("ADR", SUBSETS["ADR"]), ("SADR", SUBSETS["SADR"])]
    for key, subset in keys:
        column = f"__{key}__"
        work_ae[column] = np.where(_subset_mask(work_ae, subset), "Y", "N")
        part = ard_incidence(work_ae, work_adsl, var, flag=column, subject_flag=subject_flag, pop_flag=pop,
                             by_levels=levels, ci_level=conv.ci_level, variable=key, id_var="USUBJID",
                             output_id=output_id,
                             source=Source("ADAE", _subset_where(subset), levels={column: None, var: level_where}))
        part = part.copy()
        part["group1"] = part["group1"].map(lambda g: "TRTDURGR" if g == var else g)
        parts.append(part)
    ard = ard_to_frame(*parts)
    rows = []
    for level in levels:
        N = int(ard_value(ard, "N", variable="ADR", group1_level=level))
        row = {"투여 기간": _days(level) if level != ko.MISSING else ko.MISSING, "대상자 수": fmt.fmt_count(N)}
        for key, subset in keys:
            where = dict(variable=key, group1_level=level)
            row[f"{subset.name_ko}\nn (%) [건]"] = _cell(ard_value(ard, "n", **where), N,
                                                        ard_value(ard, "events", **where), conv.pct_table)
        rows.append(row)
    N_all = int(population.sum())
    notes = _footnotes(conv, pop, subject_flag, [(None, N_all)], subsets=[SUBSETS["SADR"]], meddra=False)
    notes[0] = (f"대상: {ko.POPULATIONS.get(pop, pop)} {fmt.fmt_count(N_all)}명. 백분율의 분모는 각 투여 기간 구간의 "
                "대상자 수('대상자 수')이다.")
    notes.append("투여 기간: 이 약 첫 투여일부터 마지막 투여일까지의 일수(휴약 기간 포함). "
                 f"{ko.NOT_APPLICABLE}: 그 구간에 해당하는 대상자가 없음.")
    return TableResult(output_id, f"투여 기간별 {ko.ADR} 발현 현황", ard, pd.DataFrame(rows), notes, section=SECTION)


def adr_tables(adsl: pd.DataFrame, adae: pd.DataFrame, conv: Conventions) -> tuple[list[TableResult], list[str]]:
    """The tables this module makes for the report, and a sentence for each it could not make."""
    out, missing = [], []
    if {"ADRFL", "AESER"} <= set(adae.columns):
        out.append(adr_by_seriousness(adsl, adae, conv))
    for which, builder, name in (("onset", adr_by_onset, "발현 시기별"), ("duration", adr_by_duration, "투여 기간별")):
        reason = missing_reason(adsl, adae, conv, which)
        if reason:
            missing.append(f"{name} {ko.ADR} 발현 현황은 {reason}: 제시하지 않았다.")
        else:
            out.append(builder(adsl, adae, conv))
    return out, missing
