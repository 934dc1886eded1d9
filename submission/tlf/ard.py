"""Analysis results data (ARD): every number of a table as one row, before any formatting.

The shape is pharmaverse `cards`' long table: output_id, analysis_set, group1 / group1_level
(the column grouping, e.g. TRTA), group2 / group2_level (a parent level in a hierarchy, e.g.
the SOC of a PT row), variable / variable_level, context (which builder), stat_name,
stat_label and stat (a full-precision number). Word tables are views of an ARD; QC compares
ARDs; rounding happens only in `fmt`.

The builders work on any ADaM-like frames. Denominators always come from the subject-level
frame (ADSL) filtered by the population flag and grouped by its own grouping variable (e.g.
TRT01A), while events are grouped by the analysis variable of the event frame (e.g. TRTA):
an arm with no events still has its N, and an event whose group is unknown to ADSL stops the
build with the subjects named. Rows come out in a fixed order (groups, then levels in table
order), so the same input gives the same ARD, CSV and JSON byte for byte.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from pathlib import Path

import numpy as np
import pandas as pd

from ..columns import factorize, map_distinct
from ..errors import Problem, SubError
from ..io import write_atomic
from ..spreadsheet import escape_csv_text, unescape_csv_text
from ._frames import flagged, is_missing, levels_of, only_columns, require_columns
from .where import MISSING as _MISSING_WORD
from .where import Source, all_of, definition, eq, has_records

ARD_COLUMNS = ["output_id", "analysis_set", "group1", "group1_level", "group2", "group2_level",
               "variable", "variable_level", "context", "stat_name", "stat_label", "stat"]

# The analysis definition of each row (submission/tlf/where.py: what `sub trace` recomputes from ADaM),
# written after `stat`; and the row's stable id, written first.
TRACE_COLUMNS = ["source", "where", "population", "counts"]
ID_COLUMN = "ard_id"

ANY_EVENT = "..any.."  # the variable of the "subjects with any event" row of a hierarchical ARD
MISSING_LEVEL = "Missing"

STAT_LABELS = {
    "n": "n", "N": "N", "p": "%", "events": "Events", "N_miss": "N Missing",
    "mean": "Mean", "sd": "SD", "median": "Median", "p25": "Q1", "p75": "Q3", "min": "Min", "max": "Max",
    "conf.low": "CI Lower Bound", "conf.high": "CI Upper Bound", "conf.level": "CI Confidence Level",
}


# --------------------------------------------------------------------------- the population

@dataclass(frozen=True)
class _Group:
    level: object  # None when not grouped
    subjects: frozenset  # subject ids of the population in this group (the denominator)


@dataclass(frozen=True)
class _Population:
    by: str | None  # the grouping variable of the data (group1)
    groups: tuple[_Group, ...]
    ids: frozenset
    analysis_set: str | None

    def of(self, data: pd.DataFrame, id_var: str, data_by: str | None, what: str) -> list[tuple[_Group, pd.DataFrame]]:
        """Split `data` (already restricted to the population) by group; unknown groups stop the build.

        Each part holds only records of its group's subjects (the denominator), so a builder counts it as is.
        """
        if data_by is None:
            # Not grouped, or the pooled group: the whole population. Grouped by the denominator only
            # (no grouping variable in the data): each group's own subjects.
            return [(g, data if g.level is None or g.level is _TOTAL else data[data[id_var].isin(g.subjects)])
                    for g in self.groups]
        known = [g.level for g in self.groups if g.level is not _TOTAL]
        unknown = data[~data[data_by].isin(known)]
        if len(unknown):
            problems = []
            for value in pd.unique(unknown[data_by]):
                same = unknown[data_by].isna() if is_missing(value) else unknown[data_by].eq(value)
                subjects = ", ".join(sorted(map(str, unknown.loc[same, id_var].unique()))[:5])
                problems.append(Problem(what, None, data_by, None if is_missing(value) else str(value),
                                        f"group is not among the denominator groups {[str(k) for k in known]} "
                                        f"(subjects {subjects})"))
            raise SubError(problems, f"{what}: {len(unknown)} record(s) belong to no denominator group")
        out = []
        problems = []
        for g in self.groups:
            part = data if g.level is _TOTAL else data[data[data_by].eq(g.level)]
            if g.level is not _TOTAL:
                # A record counts in its own group only if the subject's denominator group is the same:
                # never count a subject in a numerator whose denominator does not hold them.
                strangers = sorted(map(str, part.loc[~part[id_var].isin(g.subjects), id_var].unique()))
                if strangers:
                    problems.append(Problem(what, None, data_by, str(g.level),
                                            f"subjects {', '.join(strangers[:5])} have records in this group but "
                                            f"belong to another group of {self.by} in the subject-level data"))
            out.append((g, part))
        if problems:
            raise SubError(problems, f"{what}: {data_by} disagrees with the subject-level {self.by}")
        return out


class _TotalLevel:
    def __repr__(self) -> str:
        return "TOTAL"


_TOTAL = _TotalLevel()


def _population(adsl: pd.DataFrame, pop_flag: str | None, denom_by: str | None, *, id_var: str,
                by_levels: Sequence | None, total: str | None, what: str = "ADSL") -> _Population:
    require_columns(adsl, [id_var, pop_flag, denom_by], what)
    adsl = only_columns(adsl, id_var, pop_flag, denom_by)
    pop = adsl[flagged(adsl[pop_flag])] if pop_flag else adsl
    duplicated = pop[id_var][pop[id_var].duplicated()]
    if len(duplicated):
        raise SubError([Problem(what, None, id_var, str(v), "subject appears more than once in the subject-level data")
                        for v in duplicated.unique()[:5]], f"{what} is not one record per subject")
    everyone = frozenset(pop[id_var])
    groups: list[_Group] = []
    if denom_by is None:
        groups.append(_Group(None, everyone))
    else:
        blank = pop[pop[denom_by].isna()]
        if len(blank):
            raise SubError([Problem(what, None, denom_by, None, f"grouping value is missing for subject {s}")
                            for s in blank[id_var].head(5)], f"{what}: {len(blank)} population subject(s) have no {denom_by}")
        for level in levels_of(pop[denom_by], by_levels):
            groups.append(_Group(level, frozenset(pop.loc[pop[denom_by].eq(level), id_var])))
    if total is not None:
        groups.append(_Group(_TOTAL, everyone))
    return _Population(denom_by, tuple(groups), everyone, pop_flag)


def denominators(adsl: pd.DataFrame, pop_flag: str | None, denom_by: str | None, *, id_var: str = "USUBJID",
                 by_levels: Sequence | None = None, total: str | None = None) -> _Population:
    """The population (denominator groups) the builders compute from these arguments, computed once: pass it
    as `population=` to several builder calls on the same ADSL with the same pop_flag, denom_by, by_levels
    and total (e.g. every row of a summary table), and each call skips building it again."""
    return _population(adsl, pop_flag, denom_by, id_var=id_var, by_levels=by_levels, total=total)


def _given_or_new(population: _Population | None, adsl: pd.DataFrame, pop_flag: str | None, denom_by: str | None,
                  *, id_var: str, by_levels: Sequence | None, total: str | None) -> _Population:
    if population is None:
        return _population(adsl, pop_flag, denom_by, id_var=id_var, by_levels=by_levels, total=total)
    pooled = any(g.level is _TOTAL for g in population.groups)
    if population.by != denom_by or population.analysis_set != pop_flag or pooled != (total is not None):
        raise ValueError(f"the population given was made for {population.analysis_set} by {population.by}, "
                         f"not {pop_flag} by {denom_by}{' with a total' if total is not None else ''}")
    return population


def _restrict(data: pd.DataFrame, population: _Population, id_var: str, pop_flag: str | None) -> pd.DataFrame:
    """Population subjects' records only (by ADSL's flag, and by the data's own flag where it has one)."""
    keep = data[id_var].isin(population.ids)
    if pop_flag and pop_flag in data.columns:
        keep &= flagged(data[pop_flag])
    return data[keep]


# --------------------------------------------------------------------------- rows

class _Rows:
    def __init__(self, output_id: str, analysis_set: str | None, group1: str | None, context: str,
                 total_label: str | None, source: Source | None = None):
        self.rows: list[dict] = []
        self.output_id, self.analysis_set, self.group1 = output_id, analysis_set, group1
        self.context, self.total_label = context, total_label
        self.source = source

    def add(self, group: _Group, variable: str, level, stats: dict, *, group2: str | None = None,
            group2_level=None, defs: dict | None = None) -> None:
        g1_level = self.total_label if group.level is _TOTAL else group.level
        for name, value in stats.items():
            row = {
                "output_id": self.output_id, "analysis_set": self.analysis_set,
                "group1": self.group1 if group.level is not None else None, "group1_level": g1_level,
                "group2": group2, "group2_level": group2_level,
                "variable": variable, "variable_level": level, "context": self.context,
                "stat_name": name, "stat_label": STAT_LABELS.get(name, name), "stat": plain_value(value),
            }
            if self.source is not None:
                row.update((defs or {}).get(name) or definition(None, None, None, "none"))
            self.rows.append(row)

    def frame(self) -> pd.DataFrame:
        columns = ARD_COLUMNS + (TRACE_COLUMNS if self.source is not None else [])
        frame = pd.DataFrame(self.rows, columns=columns, dtype=object)
        return frame.astype(object) if frame.empty else frame


# --------------------------------------------------------------------------- analysis definitions

class _Defs:
    """The analysis definitions (where.py) of one builder call: population, records, per statistic."""

    def __init__(self, source: Source | None, data: pd.DataFrame, *, pop_flag: str | None, by: str | None,
                 denom_by: str | None, subject_flag: str | None = None, flag: str | None = None):
        self.source = source
        if source is None:
            return
        own_pop = pop_flag if pop_flag and pop_flag in data.columns and source.dataset != "ADSL" else None
        self.base = all_of(source.where, eq(own_pop, "Y") if own_pop else None,
                           eq(subject_flag, "Y") if subject_flag else None, source.clause(flag, "Y") if flag else None)
        self.pop_flag, self.by, self.denom_by = pop_flag, by, denom_by

    def population(self, group: _Group) -> str:
        grouped = group.level is not None and group.level is not _TOTAL
        return all_of(eq(self.pop_flag, "Y") if self.pop_flag else None,
                      self.source.clause(self.denom_by, group.level) if grouped and self.denom_by else None)

    def records(self, group: _Group, *clauses: str | None) -> str:
        # Records count in their own group only when the subject is in that group's denominator, so
        # the data's grouping adds a clause only when it is not the subject-level one (TRTA vs TRT01A).
        own = (self.source.clause(self.by, group.level) if self.by is not None and self.by != self.denom_by
               and group.level is not None and group.level is not _TOTAL else None)
        return all_of(self.base, own, *clauses)

    def counts(self, group: _Group, where: str, kinds: dict[str, str]) -> dict | None:
        """{stat: definition} with `where` for the numerator kinds and the group's population."""
        if self.source is None:
            return None
        population = self.population(group)
        return {stat: definition(self.source.dataset if kind != "population" else "ADSL",
                                 where if kind != "population" else None, population, kind)
                for stat, kind in kinds.items()}

    def level(self, column: str, level, uncoded: str | None = None) -> str | None:
        """`column = level`; the uncoded label stands for a missing value (or the label itself)."""
        if uncoded is not None and level == uncoded:
            return f"{column} is missing or {eq(column, level)}"
        return self.source.clause(column, level)

    def without_value(self, group: _Group, column: str) -> dict:
        """Population subjects without a value of `column` in the data (the Missing row, N_miss)."""
        if self.source.dataset == "ADSL":
            where = all_of(self.records(group), self.source.clause(column, None))
            return definition("ADSL", where, self.population(group), "subjects")
        with_value = all_of(self.records(group), f"{column} is not {_MISSING_WORD}")
        return definition("ADSL", f"not {has_records(self.source.dataset, with_value)}", self.population(group),
                          "subjects")


_COUNT_KINDS = {"n": "subjects", "N": "population", "p": "ratio"}
_EVENT_KINDS = {**_COUNT_KINDS, "events": "records"}


def plain_value(value):
    """Plain Python numbers (int for counts), NaN as None: what the writers and comparisons expect."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if math.isnan(value) else value
    return value


def _count(frame: pd.DataFrame, id_var: str) -> int:
    return int(frame[id_var].nunique())


def _n_N_p(n: int, N: int) -> dict:
    return {"n": n, "N": N, "p": (n / N) if N else None}


# --------------------------------------------------------------------------- builders

def ard_categorical(data: pd.DataFrame, var: str, by: str | None = None, pop_flag: str | None = "SAFFL", *,
                    adsl: pd.DataFrame | None = None, denom_by: str | None = None, levels: Sequence | None = None,
                    by_levels: Sequence | None = None, missing: bool = True, missing_label: str = MISSING_LEVEL,
                    total: str | None = None, id_var: str = "USUBJID", output_id: str = "",
                    source: Source | None = None, population: _Population | None = None) -> pd.DataFrame:
    """n, N and p (= n/N) of each level of `var`, per group of `by`.

    `data` is usually ADSL itself (then `adsl` may be omitted); for another one-record-per-subject
    frame (e.g. ADRS filtered to best response) pass `adsl` and its grouping variable `denom_by`
    (default: `by`) for the denominators. Levels: `levels`, else the categories of a categorical,
    else sorted values; a level with no subjects still gets a row. Subjects in the population
    without a value are counted in a `missing_label` row (only when there are some, and with
    `missing=True`), so the percentages of a group add up to 100. `total` adds a pooled group.
    `source` (the ADaM dataset of `data` and what the caller kept of it) adds each row's analysis
    definition (`TRACE_COLUMNS`, see where.py). `population` (from `denominators`, made with the same
    ADSL, pop_flag, denom_by, by_levels and total) saves building the denominators again; so in every builder.
    """
    adsl = data if adsl is None else adsl
    denom_by = by if denom_by is None else denom_by
    require_columns(data, [id_var, var, by], "analysis data")
    population = _given_or_new(population, adsl, pop_flag, denom_by, id_var=id_var, by_levels=by_levels, total=total)
    data = _restrict(only_columns(data, id_var, var, by, pop_flag), population, id_var, pop_flag)
    data = data.reset_index(drop=True)  # positions as the index: the codes below are by position
    order = levels_of(data[var], levels)
    # Per record, the position of its value among the distinct levels (a level given twice, or two levels
    # that are equal, count the same records), and its subject's code: each group's counts in one pass.
    distinct = list(dict.fromkeys(order))
    slot = {level: i for i, level in enumerate(distinct)}
    level_of = _level_codes(data[var], distinct)
    subject_of = factorize(data[id_var]).codes
    parts = []
    for group, part in population.of(data, id_var, by, "analysis data"):
        with_value = set(part.loc[~part[var].isna(), id_var])
        mine = part.index.to_numpy()
        subjects = [n for n, _ in _tally(level_of[mine], subject_of[mine], len(distinct))]
        parts.append((group, subjects, len(group.subjects - with_value)))
    show_missing = missing and any(n_missing for _, _, n_missing in parts)
    rows = _Rows(output_id, pop_flag, by, "categorical", total, source)
    defs = _Defs(source, data, pop_flag=pop_flag, by=by, denom_by=denom_by)
    for group, subjects, n_missing in parts:
        N = len(group.subjects)
        for level in order:
            rows.add(group, var, level, _n_N_p(subjects[slot[level]], N),
                     defs=defs.counts(group, defs.records(group, defs.level(var, level)) if source else None,
                                      _COUNT_KINDS))
        if show_missing:
            found = defs.counts(group, None, _COUNT_KINDS)
            if found is not None:
                missing_def = defs.without_value(group, var)
                found["n"] = missing_def
                found["p"] = {**missing_def, "counts": "ratio"}
            rows.add(group, var, missing_label, _n_N_p(n_missing, N), defs=found)
    return rows.frame()


def _quantile_type2(values: np.ndarray, q: float) -> float:
    # SAS's default (PCTLDEF=5) and cards' choice: average at discontinuities of the empirical cdf.
    return float(np.quantile(values, q, method="averaged_inverted_cdf"))


def continuous_stats(values: Sequence[float]) -> dict:
    """N, mean, sd, median, p25, p75, min and max of the non-missing values, independent of their order."""
    series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values.astype(object)
    x = series[series.notna()].to_numpy(dtype=float)
    n = x.size
    if n == 0:
        return {"N": 0, "mean": None, "sd": None, "median": None, "p25": None, "p75": None, "min": None, "max": None}
    x.sort()  # order-free sums: the same subjects in another row order give the same bits
    mean = math.fsum(x) / n
    sd = math.sqrt(math.fsum((x - mean) ** 2) / (n - 1)) if n > 1 else None
    return {"N": n, "mean": mean, "sd": sd, "median": float(np.median(x)), "p25": _quantile_type2(x, 0.25),
            "p75": _quantile_type2(x, 0.75), "min": float(x[0]), "max": float(x[-1])}


def ard_continuous(data: pd.DataFrame, var: str, by: str | None = None, pop_flag: str | None = "SAFFL", *,
                   adsl: pd.DataFrame | None = None, denom_by: str | None = None, by_levels: Sequence | None = None,
                   total: str | None = None, id_var: str = "USUBJID", output_id: str = "",
                   source: Source | None = None, population: _Population | None = None) -> pd.DataFrame:
    """N, mean, sd, median, p25, p75, min, max (and N_miss: population subjects without a value) per group.

    One record per subject is expected (filter a BDS frame to one parameter and visit first).
    Quartiles use SAS's default definition, as `cards` does.
    """
    adsl = data if adsl is None else adsl
    denom_by = by if denom_by is None else denom_by
    require_columns(data, [id_var, var, by], "analysis data")
    population = _given_or_new(population, adsl, pop_flag, denom_by, id_var=id_var, by_levels=by_levels, total=total)
    data = _restrict(only_columns(data, id_var, var, by, pop_flag), population, id_var, pop_flag)
    twice = data[id_var][data[id_var].duplicated()]
    if len(twice):
        raise SubError([Problem("analysis data", None, id_var, str(s), f"more than one record of {var} for this subject")
                        for s in twice.unique()[:5]], f"ard_continuous({var}) expects one record per subject")
    rows = _Rows(output_id, pop_flag, by, "continuous", total, source)
    defs = _Defs(source, data, pop_flag=pop_flag, by=by, denom_by=denom_by)
    for group, part in population.of(data, id_var, by, "analysis data"):
        stats = continuous_stats(part[var].tolist())
        stats["N_miss"] = len(group.subjects) - stats["N"]
        found = None
        if source is not None:
            with_value = defs.records(group, f"{var} is not {_MISSING_WORD}")
            found = defs.counts(group, with_value, {s: f"values({var})" for s in stats})
            found["N"] = {**found["N"], "counts": "subjects"}
            found["N_miss"] = defs.without_value(group, var)
        rows.add(group, var, None, stats, defs=found)
    return rows.frame()


def ard_hierarchical(adae: pd.DataFrame, adsl: pd.DataFrame, by: str | None = "TRTA",
                     variables: Sequence[str] = ("AEBODSYS", "AEDECOD"), subject_flag: str | None = "TRTEMFL",
                     pop_flag: str | None = "SAFFL", *, denom_by: str | None = None, by_levels: Sequence | None = None,
                     total: str | None = None, id_var: str = "USUBJID", uncoded_label: str = "Uncoded",
                     output_id: str = "", source: Source | None = None, population: _Population | None = None) -> pd.DataFrame:
    """Subjects (n, N, p) and events per level of a hierarchy (SOC, then PT within SOC), per group.

    A subject counts once per SOC and once per PT however many events they had; events count
    every record. The first rows are the subjects with any event (variable `..any..`). PT rows
    name their SOC in group2/group2_level. Every SOC and PT seen in any group gets a row in every
    group (n=0 where absent). `subject_flag` keeps only flagged records (e.g. TRTEMFL == "Y");
    filter the frame first for narrower sets (ADRs, serious events). Denominators: ADSL
    subjects with `pop_flag` == "Y" by `denom_by` (default: `by`; e.g. TRT01A for TRTA).
    """
    variables = list(variables)
    if not variables:
        raise ValueError("ard_hierarchical needs at least one variable")
    if len(variables) > 2:
        raise ValueError("ard_hierarchical supports at most two levels (e.g. SOC and PT)")
    denom_by = by if denom_by is None else denom_by
    require_columns(adae, [id_var, by, subject_flag, *variables], "event data")
    population = _given_or_new(population, adsl, pop_flag, denom_by, id_var=id_var, by_levels=by_levels, total=total)
    events = _restrict(only_columns(adae, id_var, by, subject_flag, pop_flag, *variables), population, id_var, pop_flag)
    if subject_flag:
        events = events[flagged(events[subject_flag])]
    defs = _Defs(source, events, pop_flag=pop_flag, by=by, denom_by=denom_by, subject_flag=subject_flag)
    events = events.reset_index(drop=True)  # positions as the index: the levels' codes below are by position
    for v in variables:
        events[v] = events[v].where(~events[v].isna(), uncoded_label)
    rows = _Rows(output_id, pop_flag, by, "hierarchical", total, source)

    def at(group, *clauses):
        return defs.counts(group, defs.records(group, *clauses), _EVENT_KINDS) if source is not None else None

    # The tree of levels (SOCs, the PTs of each), and per record the position of its SOC among the SOCs
    # and of its (SOC, PT) pair among the tree's pairs (-1: none): a record counts at a level when its
    # value equals the level, as `Series.eq` has it.
    top = variables[0]
    parents = levels_of(events[top])
    parent_of = _level_codes(events[top], parents)
    tree: list[tuple[object, list]] = []
    pair_of = np.full(len(events), -1, dtype=np.int64)
    pairs = 0
    for i, parent in enumerate(parents):
        children = []
        if len(variables) == 2:
            inside = np.flatnonzero(parent_of == i)
            children = levels_of(events[variables[1]].iloc[inside])
            codes = _level_codes(events[variables[1]].iloc[inside], children)
            pair_of[inside] = np.where(codes >= 0, pairs + codes, -1)
            pairs += len(children)
        tree.append((parent, children))
    subject_of = factorize(events[id_var]).codes

    for group, part in population.of(events, id_var, by, "event data"):
        N = len(group.subjects)
        rows.add(group, ANY_EVENT, None, {**_n_N_p(_count(part, id_var), N), "events": len(part)}, defs=at(group))
        mine = part.index.to_numpy()
        by_parent = _tally(parent_of[mine], subject_of[mine], len(parents))
        by_pair = _tally(pair_of[mine], subject_of[mine], pairs)
        pair = 0
        for i, (parent, children) in enumerate(tree):
            parent_clause = defs.level(top, parent, uncoded_label) if source is not None else None
            n, records = by_parent[i]
            rows.add(group, top, parent, {**_n_N_p(n, N), "events": records}, defs=at(group, parent_clause))
            for child in children:
                n, records = by_pair[pair]
                rows.add(group, variables[1], child, {**_n_N_p(n, N), "events": records},
                         group2=top, group2_level=parent,
                         defs=at(group, parent_clause, defs.level(variables[1], child, uncoded_label)
                                 if source is not None else None))
                pair += 1
    return rows.frame()


def _level_codes(values: pd.Series, levels: list) -> np.ndarray:
    """Per value, the position of the level it equals (`values.eq(level)`), -1 when none: looked up once
    per distinct value. The levels are distinct values of the column (`levels_of`), so at most one fits."""
    distinct = factorize(values)
    position = {level: i for i, level in enumerate(levels)}
    table = np.array([position.get(v, -1) for v in distinct.values], dtype=np.int64)
    return distinct.lookup(table, -1)[distinct.codes]


def _tally(codes: np.ndarray, subjects: np.ndarray, size: int) -> list[tuple[int, int]]:
    """(subjects, records) per code 0 .. size-1 of some records: `subjects` are the records' subject codes
    (-1: no subject id, a record that counts as an event but not as a subject, as `nunique` has it)."""
    kept = codes >= 0
    events = np.bincount(codes[kept], minlength=size)
    both = kept & (subjects >= 0)
    width = max(int(subjects.max()) + 1, 1) if len(subjects) else 1
    pairs = np.unique(codes[both].astype(np.int64) * width + subjects[both])
    n = np.bincount(pairs // width, minlength=size)
    return [(int(a), int(b)) for a, b in zip(n, events)]


def ard_incidence(events: pd.DataFrame, adsl: pd.DataFrame, by: str | None = None, *, flag: str | None = None,
                  subject_flag: str | None = "TRTEMFL", pop_flag: str | None = "SAFFL", denom_by: str | None = None,
                  by_levels: Sequence | None = None, total: str | None = None, ci_level: float = 0.95,
                  variable: str | None = None, id_var: str = "USUBJID", output_id: str = "",
                  source: Source | None = None, population: _Population | None = None) -> pd.DataFrame:
    """Incidence of subjects with at least one qualifying record: n, N, p, events and the exact CI of p.

    Qualifying records: `subject_flag` == "Y" (if given) and `flag` == "Y" (if given; e.g. AESER,
    an ADR flag, or AVALC of a responder parameter). `variable` names the row (default: `flag`,
    else `..any..`). The interval is Clopper-Pearson at `ci_level` (take settings.conventions.ci_level).
    """
    # here, not at the top: scipy is loaded by the builders that need it, not by `sub validate`
    from .stats import clopper_pearson

    denom_by = by if denom_by is None else denom_by
    require_columns(events, [id_var, by, subject_flag, flag], "event data")
    population = _given_or_new(population, adsl, pop_flag, denom_by, id_var=id_var, by_levels=by_levels, total=total)
    data = _restrict(only_columns(events, id_var, by, subject_flag, flag, pop_flag), population, id_var, pop_flag)
    if subject_flag:
        data = data[flagged(data[subject_flag])]
    if flag:
        data = data[flagged(data[flag])]
    name = variable or flag or ANY_EVENT
    rows = _Rows(output_id, pop_flag, by, "incidence", total, source)
    defs = _Defs(source, events, pop_flag=pop_flag, by=by, denom_by=denom_by, subject_flag=subject_flag, flag=flag)
    for group, part in population.of(data, id_var, by, "event data"):
        n, N = _count(part, id_var), len(group.subjects)
        low, high = clopper_pearson(n, N, ci_level)
        found = (defs.counts(group, defs.records(group), {**_EVENT_KINDS, "conf.low": "ratio", "conf.high": "ratio"})
                 if source is not None else None)
        rows.add(group, name, "Y" if flag else None,
                 {**_n_N_p(n, N), "events": len(part), "conf.low": low, "conf.high": high, "conf.level": ci_level},
                 defs=found)
    return rows.frame()


# --------------------------------------------------------------------------- binding, writing

def _column_order(names) -> list[str]:
    """The id first (when there), the standard columns with extra ones (group3, ...) before `stat`,
    then the analysis definition."""
    names = list(dict.fromkeys(names))
    extra = [c for c in names if c not in ARD_COLUMNS and c not in TRACE_COLUMNS and c != ID_COLUMN]
    trace = [c for c in TRACE_COLUMNS if c in names]
    return ([ID_COLUMN] if ID_COLUMN in names else []) + ARD_COLUMNS[:-1] + extra + ARD_COLUMNS[-1:] + trace


def ard_to_frame(*ards: pd.DataFrame) -> pd.DataFrame:
    """Stack ARDs in the given order under the standard columns (extra columns kept after them)."""
    if not ards:
        return pd.DataFrame(columns=ARD_COLUMNS).astype(object)
    columns = _column_order([c for a in ards for c in a.columns])
    parts = [a.reindex(columns=columns).astype(object) for a in ards]
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    # Column by column, as object: DataFrame.map would infer float64 and turn counts into 2.0.
    return pd.DataFrame({c: out[c].astype(object).where(out[c].notna(), None).reset_index(drop=True)
                         for c in columns}, columns=columns)


def rows_frame(records: Sequence[dict]) -> pd.DataFrame:
    """ARD records (dicts) as a frame of the standard columns (extra keys, e.g. group3, after them),
    every column of dtype object: a frame built by inference would turn the counts of a column
    that also holds percentages into floats (479 -> 479.0)."""
    columns = _column_order([*ARD_COLUMNS, *(k for r in records for k in r)])
    return pd.DataFrame([[r.get(c) for c in columns] for r in records], columns=columns, dtype=object)


def stat_row(output_id: str, variable, level, stat_name: str, stat, *, analysis_set=None, group1=None,
             group1_level=None, group2=None, group2_level=None, context: str = "",
             stat_label: str | None = None, **extra) -> dict:
    """One ARD record; the label defaults to the standard one (`STAT_LABELS`), the value is plain."""
    return {"output_id": output_id, "analysis_set": analysis_set, "group1": group1, "group1_level": group1_level,
            "group2": group2, "group2_level": group2_level, "variable": variable, "variable_level": level,
            "context": context, "stat_name": stat_name,
            "stat_label": stat_label or STAT_LABELS.get(stat_name, stat_name), "stat": plain_value(stat), **extra}


# --------------------------------------------------------------------------- keys and ids

_GROUP_COLUMN = re.compile(r"^group(\d+)(_level)?$")


class DuplicateArdKeys(RuntimeError):
    """ARD rows that share their key: a bug of a builder (the build stops: internal error)."""


def ard_key_columns(columns: Sequence[str]) -> list[str]:
    """The columns that identify an ARD row: output, population, every grouping and its level,
    the analysis variable and level, the statistic and, in a periodic report, the period
    (interval or cumulative). No two rows of an ARD share them."""
    columns = list(columns)
    groups = sorted((c for c in columns if _GROUP_COLUMN.match(c)),
                    key=lambda c: (int(_GROUP_COLUMN.match(c).group(1)), c.endswith("_level")))
    # `period` (interval / cumulative) exists only in a periodic report's ARD (tlf/periodic.py).
    wanted = ["output_id", "analysis_set", *groups, "variable", "variable_level", "stat_name", "period"]
    return [c for c in wanted if c in columns]


def _cells(series: pd.Series, fn) -> list:
    """`fn` of every cell of an ARD column: once per distinct value of a text column (the ARD repeats its
    output ids, variables and definitions), cell by cell for a column that mixes in numbers (1, 1.0 and
    True are one value to a factorization, three texts to the writers)."""
    return map_distinct(series, fn).tolist()


def _key_texts(frame: pd.DataFrame) -> list[str]:
    """Each row's key as one text: `column=value` for every non-empty key cell, in key order, so a
    grouping column that is empty everywhere (or absent) does not change a row's key."""
    keys = ard_key_columns(frame.columns)
    if not keys:
        return []

    def part(key):
        def one(value):
            text = _text(value)
            return f"{key}={text}" if text != "" else None
        return one

    parts = [_cells(frame[k], part(k)) for k in keys]
    return ["\x1f".join(filter(None, row)) for row in zip(*parts)]


def _ids(frame: pd.DataFrame, keys: list[str]) -> list[str]:
    """The output id and a short hash of each row's key text (`_key_texts`)."""
    import hashlib

    outputs = _cells(frame["output_id"], _text) if "output_id" in frame.columns else [""] * len(frame)
    return [f"{out}.{hashlib.sha1(key.encode('utf-8')).hexdigest()[:10]}" for out, key in zip(outputs, keys)]


def ard_ids(frame: pd.DataFrame) -> list[str]:
    """Stable row ids: the output id and a short hash of the row's key (the same analysis gets the
    same id in every build, whatever else the ARD holds)."""
    return _ids(frame, _key_texts(frame))


def duplicate_keys(frame: pd.DataFrame, keys: list[str] | None = None) -> pd.DataFrame:
    """The rows whose key another row shares (every one of them), with their key columns.
    `keys`: the rows' key texts when already made (`_key_texts`)."""
    if frame.empty:
        return frame.iloc[0:0]
    texts = pd.Series(_key_texts(frame) if keys is None else keys, index=frame.index)
    return frame.loc[texts.duplicated(keep=False), ard_key_columns(frame.columns)]


def check_unique_keys(frame: pd.DataFrame, where: str = "ARD", keys: list[str] | None = None) -> None:
    """Stop (DuplicateArdKeys, an internal error) when two rows share their key, naming them."""
    dups = duplicate_keys(frame, keys)
    if len(dups):
        shown = "; ".join(", ".join(f"{k}={_text(v)}" for k, v in row.items() if _text(v) != "")
                          for row in dups.head(6).to_dict("records"))
        raise DuplicateArdKeys(f"{where}: {len(dups)} rows share their key (output, population, groups, "
                               f"variable, level, statistic), e.g. {shown}; the ARD was not written")


def with_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """The ARD with its `ard_id` column first (computed from the keys; checked unique)."""
    frame = ard_to_frame(frame)
    keys = _key_texts(frame)
    check_unique_keys(frame, keys=keys)
    ids = _ids(frame, keys)
    frame = frame.drop(columns=[ID_COLUMN], errors="ignore")
    frame.insert(0, ID_COLUMN, pd.Series(ids, index=frame.index, dtype=object))
    return frame


# --------------------------------------------------------------------------- looking numbers up

def _lookup_key(value):
    """A cell as a lookup key: missing as None, integral numbers as int (an XPT code 1.0 finds level 1)."""
    if is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return value


def ard_value(ard: pd.DataFrame, stat_name: str, **where):
    """The one statistic matching `stat_name` and column=value filters (None matches a missing cell).

    Every display, sentence and figure reads its numbers through this function or `ArdLookup`
    (the same rule, indexed): a number that is not in the ARD, or is there more than once, is
    an error (KeyError), never a blank cell.
    """
    mask = ard["stat_name"].eq(stat_name)
    for column, value in where.items():
        if column not in ard.columns:
            if value is None:
                continue
            mask &= False
            continue
        if value is None:
            mask &= ard[column].isna()
        elif isinstance(value, str):
            mask &= ard[column].eq(value)
        else:
            mask &= ard[column].map(_lookup_key).eq(_lookup_key(value))
    hits = ard.loc[mask, "stat"]
    if len(hits) != 1:
        raise KeyError(f"expected one {stat_name} for {where}, found {len(hits)}")
    return hits.iloc[0]


class ArdLookup:
    """The statistics of an ARD indexed by (stat_name, variable, variable_level, group1_level,
    group2_level, group3_level): `ard_value` for tables that look up many cells.

    A missing or ambiguous key raises KeyError: a table number must exist in the ARD, once.
    """

    KEYS = ("stat_name", "variable", "variable_level", "group1_level", "group2_level", "group3_level")
    _AMBIGUOUS = object()

    def __init__(self, ard: pd.DataFrame):
        columns = [ard[k] if k in ard.columns else pd.Series([None] * len(ard), index=ard.index, dtype=object)
                   for k in self.KEYS]
        self.values: dict = {}
        for *key, stat in zip(*columns, ard["stat"]):
            key = tuple(_lookup_key(v) for v in key)
            self.values[key] = self._AMBIGUOUS if key in self.values else stat

    def __call__(self, stat: str, variable, level=None, group=None, group2=None, group3=None):
        key = (stat, *(_lookup_key(v) for v in (variable, level, group, group2, group3)))
        value = self.values.get(key, KeyError)
        if value is KeyError:
            raise KeyError(f"the ARD has no {stat} for {variable}={level!r} (group {group!r}, "
                           f"group2 {group2!r}, group3 {group3!r})")
        if value is self._AMBIGUOUS:
            raise KeyError(f"the ARD has more than one {stat} for {variable}={level!r} (group {group!r}, "
                           f"group2 {group2!r}, group3 {group3!r})")
        return value


def _text(value) -> str:
    if type(value) is str:  # most cells: text is itself
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (np.floating,)):
        return _text(float(value))
    if is_missing(value):
        return ""
    return str(value)


def _json_value(value):
    value = plain_value(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if is_missing(value):
        return None
    return str(value)


def ard_csv_text(ard: pd.DataFrame) -> str:
    """CSV (UTF-8, LF line ends, minimal quoting); numbers at full precision in their shortest form.

    Every row gets its stable `ard_id`; rows that share a key stop the writing (DuplicateArdKeys)."""
    return _csv_text(with_ids(ard))


def _csv_text(frame: pd.DataFrame) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(frame.columns))
    writer.writerows(zip(*(_cells(frame[c], _csv_cell) for c in frame.columns)))
    return buffer.getvalue()


def _csv_cell(value) -> str:
    """A value as ard.csv holds it: numbers as numbers; text that a spreadsheet would take for a formula
    (= + - @ TAB CR first) with a quote in front (OWASP; `read_ard_csv` takes it off again)."""
    text = _text(value)
    if isinstance(value, str):
        return escape_csv_text(text)
    return text


def ard_json_text(ard: pd.DataFrame) -> str:
    """JSON: a list of records, one per line (diffable), keys in column order, nulls for missing."""
    return _json_text(with_ids(ard))


def _json_text(frame: pd.DataFrame) -> str:
    # Each line is what json.dumps makes of the row's dict ({"key": value, ...}), put together from each
    # column's `"key": value` texts.
    def member(column):
        key = _json_string(column) + ": "
        return lambda value: key + _json_scalar(value)

    members = [_cells(frame[c], member(c)) for c in frame.columns]
    lines = ["{" + ", ".join(row) + "}" for row in zip(*members)]
    return "[\n" + ",\n".join(lines) + ("\n" if lines else "") + "]\n"


# What json.dumps(text, ensure_ascii=False) calls for a str (the C encoder when there is one).
_json_string = encode_basestring


def _json_scalar(value) -> str:
    """A cell as json.dumps(..., ensure_ascii=False, allow_nan=False) writes it (`_json_value`)."""
    value = _json_value(value)
    if isinstance(value, str):
        return _json_string(value)
    return json.dumps(value, allow_nan=False)


def write_ard_csv(ard: pd.DataFrame, path: Path) -> None:
    write_atomic(Path(path), ard_csv_text(ard).encode("utf-8"))


def write_ard_json(ard: pd.DataFrame, path: Path) -> None:
    write_atomic(Path(path), ard_json_text(ard).encode("utf-8"))


def write_ard_files(ard: pd.DataFrame, csv_path: Path, json_path: Path) -> None:
    """ard.csv and ard.json of one ARD, its ids made and checked once for both."""
    frame = with_ids(ard)
    write_atomic(Path(csv_path), _csv_text(frame).encode("utf-8"))
    write_atomic(Path(json_path), _json_text(frame).encode("utf-8"))


def read_ard_csv(path: Path) -> pd.DataFrame:
    """Read an ARD CSV back: stats as int or float, text stats (a test's name, a note) as text,
    empty cells as None (for QC comparisons). Text the writer quoted against spreadsheet formulas
    comes back as it was (and a quoted stat stays text: it was written as text)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False).astype(object)
    raw_stats = [None if v == "" else v for v in frame["stat"]]

    def original(text):
        return None if text is None or text == "" else unescape_csv_text(text)

    frame = pd.DataFrame({c: map_distinct(frame[c], original) for c in frame.columns}, columns=frame.columns)

    def number(text, was_text=False):
        if text is None or was_text:
            return text
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text

    frame["stat"] = pd.Series([number(v, was_text=v != raw) for v, raw in zip(frame["stat"], raw_stats)],
                              index=frame.index, dtype=object)
    return frame
