"""The factors of the report's factor analyses: one list and one frame builder for both analyses.

The factors affecting ADR incidence (table 8, `tables_safety.adr_factor_analysis`) and those
affecting response (`tables_base.efficacy`) are the same baseline factors, made into the same
categories with the same level order and reference levels, by `factor_frame`:

- groupings of the study settings (`conventions.groups`: AGEGR1, AGEGR2, BMIGR1, CRCLGR1) keep
  their labels' order (CRCLGR1's dialysis group after them);
- PRLINES (ADSL: the number of prior lines) is cut by the settings' grouping `PRLINESGR`;
  without that grouping it is not analysed, and the caller says so;
- STDOSE (mg) becomes one category per starting dose, highest first;
- ISSBL follows the ISS stages I, II, III; Y/N flags are N, Y; anything else is sorted;
- the reference level of a grouping in the logistic regressions is its settings `reference`
  (e.g. CRCLGR1 ">=60"), else the first level.

Groupings derived from the same source variable (`SOURCES`: AGEGR1 and AGEGR2 both cut AGE)
are nested: at most one of them enters a multivariable model (`stats.one_per_source`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from ..columns import map_distinct
from ..study import Grouping
from ._frames import flagged, is_missing, levels_of, require_columns

FACTORS = ("SEX", "AGEGR1", "AGEGR2", "BMIGR1", "ISSBL", "CRCLGR1", "HEPIMPFL", "PRLINES", "PRSCTFL", "STDOSE",
           "RECRTRT", "ANYMHFL", "ALLERGFL", "ANYCMFL")

# The variable each grouped factor is derived from: factors of one source are nested groupings of
# the same value and never enter one multivariable model together.
SOURCES: Mapping[str, str] = {"AGEGR1": "AGE", "AGEGR2": "AGE", "BMIGR1": "BMIBL", "CRCLGR1": "CRCLBL",
                              "PRLINES": "PRLINES"}

# Factors ADSL holds as a number, and the settings grouping (conventions.groups) that cuts them.
COUNT_GROUPINGS: Mapping[str, str] = {"PRLINES": "PRLINESGR"}

ISS_STAGES = ("I", "II", "III")  # the International Staging System's stages, in order (a standard)


@dataclass(frozen=True)
class FactorFrame:
    """Population subjects with the factors as categories (one row per subject)."""

    frame: pd.DataFrame                 # id_var and the factors present
    factors: list[str]                  # the factors analysed, in the order asked for
    levels: dict[str, list]             # level order of each factor (every level, present or not)
    reference: dict[str, object]        # factor -> reference level (settings groupings only)
    absent: list[str] = field(default_factory=list)     # factors ADSL does not have
    ungrouped: list[str] = field(default_factory=list)  # count factors without their settings grouping
    groupings: dict[str, Grouping] = field(default_factory=dict)  # count factor -> the grouping used


def _value_or_none(value):
    """The value, None for a missing or blank one."""
    return None if is_missing(value) or (isinstance(value, str) and not value.strip()) else value


def _yn_levels(values: pd.Series) -> list:
    present = set(values[values.notna()])  # notna: not is_missing, for a whole column
    return ["N", "Y"] if present <= {"N", "Y"} else levels_of(values)


def _levels(name: str, values: pd.Series, groups: Mapping[str, Grouping], counts: Mapping[str, Grouping]) -> list:
    present = levels_of(values)
    if name in counts:
        order = list(counts[name].labels)
    elif name in groups:
        group = groups[name]
        order = list(group.labels) + ([group.dialysis_label] if group.dialysis_label else [])
    elif name == "STDOSE":
        return sorted(present, key=lambda t: -float(str(t).split()[0]))
    elif name == "ISSBL":
        order = list(ISS_STAGES)
    elif name.endswith("FL"):
        return _yn_levels(values)
    else:
        return present
    return order + [v for v in present if v not in order]


def factor_frame(adsl: pd.DataFrame, groups: Mapping[str, Grouping], *, factors: Sequence[str] = FACTORS,
                 pop: str | None = "SAFFL", id_var: str = "USUBJID") -> FactorFrame:
    """The factors of the population subjects (`pop` = 'Y') as categories, their levels and references.

    `groups`: the settings' groupings (`settings.conventions.groups`); a caller that wants
    another grouping of prior lines passes {**groups, "PRLINESGR": grouping}.
    """
    require_columns(adsl, [id_var, pop], "ADSL")
    subjects = adsl[flagged(adsl[pop])] if pop else adsl
    absent = [f for f in factors if f not in subjects.columns]
    counts = {f: groups[g] for f, g in COUNT_GROUPINGS.items() if g in groups}
    ungrouped = [f for f in factors if f in COUNT_GROUPINGS and f not in counts and f in subjects.columns]
    present = [f for f in factors if f in subjects.columns and f not in ungrouped]
    frame = subjects[[id_var, *present]].copy().astype(object)
    for name in present:
        values = subjects[name]
        if name in counts:
            frame[name] = [counts[name].label_of(None if is_missing(v) else float(v)) for v in values]
        elif name == "STDOSE":
            frame[name] = [None if is_missing(v) else f"{float(v):g} mg" for v in values]
        frame[name] = map_distinct(frame[name], _value_or_none)  # once per distinct text
    frame = frame.reset_index(drop=True)
    levels = {name: _levels(name, frame[name], groups, counts) for name in present}
    reference: dict[str, object] = {}
    for name in present:
        group = counts.get(name) or (groups.get(name) if name not in COUNT_GROUPINGS else None)
        if group is not None and group.reference is not None:
            reference[name] = group.reference
    return FactorFrame(frame, present, levels, reference, absent, ungrouped,
                       {f: counts[f] for f in present if f in counts})


def selection_notes(found: FactorFrame, selected: Sequence[str], set_aside: Mapping[str, str], *, entry_p: float,
                    name_of, level_of, codes: bool = True) -> list[str]:
    """Footnotes of a multivariable table: which factors entered, the one-grouping-per-source rule
    (when it set a factor aside) and the reference levels. `name_of(factor)` and
    `level_of(factor, level)` give the Korean names the table prints; `codes`: the variable names
    follow in brackets (for another study's ADaM; the report names factors in words only).
    Without a selected factor there is one note: no model was fitted."""
    from .glossary import ODDS_RATIO, REFERENCE

    def named(f: str) -> str:
        return f"{name_of(f)}({f})" if codes else name_of(f)

    if not selected:
        return [f"단변량 분석에서 p < {entry_p:g}인 요인이 없어 다변량 로지스틱 회귀분석을 하지 않았다."]
    entered = ", ".join(named(f) for f in selected)
    notes = [f"단변량 분석에서 p < {entry_p:g}인 요인을 다변량 로지스틱 회귀분석에 포함했다({entered})."]
    if set_aside:
        pairs = "; ".join(f"{named(d)} 대신 {named(k)}" for d, k in set_aside.items())
        example = "연령의 두 구분 AGEGR1, AGEGR2" if codes else "연령의 두 구분"
        notes.append(f"같은 변수에서 나온 구분(예: {example})은 중첩되어 한 모형에 함께 넣지 않고, "
                     f"단변량 p가 가장 작은 하나만 포함했다: {pairs}.")
    fixed = [f"{name_of(f)} {level_of(f, ref)}" for f, ref in found.reference.items() if f in selected]
    where = "study settings에 정한" if codes else "분석 계획에서 정한"
    notes.append(f"{REFERENCE}: 각 요인의 기준 수준({ODDS_RATIO} 1); "
                 + (f"{where} 기준 수준({', '.join(fixed)}), 그 밖의 요인은 첫 수준."
                    if fixed else "각 요인의 첫 수준."))
    return notes


def factor_clause(name: str, level, groupings: Mapping[str, Grouping] | None = None) -> str:
    """The ADSL filter (submission/tlf/where.py) of the subjects whose factor `name` is `level` in
    `factor_frame`: a count factor's label as its interval of the count, a starting dose's "25 mg"
    as STDOSE = 25, a missing level as `is missing`, anything else as `name = level`."""
    from .where import all_of, eq, literal

    if level is None or is_missing(level) or level == "결측":
        return f"{name} is missing"
    grouping = (groupings or {}).get(name)
    if grouping is not None and level in grouping.labels:
        i = list(grouping.labels).index(level)
        low = f"{name} >= {literal(grouping.cuts[i - 1])}" if i > 0 else None
        high = f"{name} < {literal(grouping.cuts[i])}" if i < len(grouping.cuts) else None
        return all_of(low, high)
    if name == "STDOSE" and isinstance(level, str) and level.endswith(" mg"):
        return eq(name, float(level.split()[0]))
    return eq(name, level)
