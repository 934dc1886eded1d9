"""The report's base tables: disposition, demographics, exposure, medical history, concomitant
medications, efficacy, and the line listings of serious events, deaths and unexpected serious ADRs.

Every builder takes ADaM frames and the study settings and returns `TableResult`s (and
`FigureResult`s): the numbers are computed into ARD rows first (`submission.tlf.ard`), then the
printed table is made from those rows only, through the half-up formatting of `fmt`. So every
number a reader sees is a row of OUT/tlf/ard.csv.

Display frames carry presentation hints in `display.attrs` (read by the report assembly):
`indent` (indent level of the first cell per row), `bold_rows`, `label_columns` (how many leading
columns are row labels rather than statistics: they take the width the measured statistics leave,
widths.py), `min_widths_mm` (a minimum per column, None for none) and `col_widths_mm` (fixed widths
instead of measured ones; only where a builder means them, e.g. two long text columns).

Output ids: T-DSP-01 / F-DSP-01 disposition, T-DEM-01 / T-DEM-02 demographics (safety set by
route, efficacy set), T-EXP-01 exposure, T-MH-01 / T-MH-02 medical history (category, SOC/PT),
T-CM-01 medications (ATC class), T-EFF-01..03 / F-EFF-01 efficacy, L-SAE-01, L-DTH-01,
L-USADR-01 listings.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import Problem, SubError
from . import fmt
from . import glossary as ko
from ._frames import flagged, is_missing, only_columns, require_columns
from .ard import (
    ArdLookup,
    _lookup_key,
    ard_categorical,
    ard_continuous,
    ard_hierarchical,
    ard_incidence,
    ard_to_frame,
    denominators,
    rows_frame,
    stat_row,
)
from .factors import ISS_STAGES, SOURCES, FactorFrame, factor_clause, factor_frame, selection_notes
from .stats import (
    FISHER_MC,
    MONTE_CARLO_RESAMPLES,
    TEST_NAMES_KO,
    factor_test,
    factor_tests,
    logistic_regression,
    one_per_source,
    select_factors,
)
from .table import FigureResult, TableResult, register
from .where import Source, all_of, definition, eq, has_records

ID = "USUBJID"
TOTAL_KO = ko.TOTAL

# --------------------------------------------------------------------------- Korean display text

# The Korean labels live in the glossary (one home for every table); these names are kept for callers.
POPULATION_KO = {**ko.POPULATIONS, None: "전체 대상자"}
VARIABLE_KO = ko.VARIABLES
YES_NO_KO = ko.YES_NO
VALUE_KO = ko.VALUES
FLAG_VARIABLES = ko.FLAG_VARIABLES
# Table order of codes (the ADaM codelists); values not listed follow, sorted.
VALUE_ORDER: dict[str, list] = {
    "SEX": ["M", "F"], "ISSBL": list(ISS_STAGES), "ECOGBL": [0, 1, 2, 3, 4],
    "MPROTYP": ["IGG", "IGA", "IGD", "IGM", "LIGHT CHAIN", "NON-SECRETORY"], "RECRTRT": ["DUE", "PAP"],
    "STDOSFRQ": ["QD", "QOD"],
}

SAFEXRS_KO = ko.SAFETY_EXCLUSION
EFFEXRS_KO = ko.EFFICACY_EXCLUSION
MHCAT_KO = ko.HISTORY_CATEGORY
OUTCOME_KO = ko.OUTCOME
ACTION_KO = ko.ACTION
SERIOUS_CRITERIA_KO = ko.SERIOUS_CRITERIA
RESPONSE_KO = ko.RESPONSE
RESPONSE_PARAMS = [  # PARAMCD of ADRS, the settings list that defines it, Korean name
    ("RSP", "responders", "전체 반응률(ORR)"),
    ("RSPCR", "cr_or_better", "CR 이상 반응률"),
    ("RSPVGPR", "vgpr_or_better", "VGPR 이상 반응률"),
    ("RSPCBR", "clinical_benefit", "임상적 이익률(CBR)"),
]

# Decimals of the collected values: mean and median get one more, SD two more, min and max none more.
DECIMALS = {"AGE": 0, "HEIGHTBL": 1, "WEIGHTBL": 1, "BMIBL": 1, "CREATBL": 2, "CRCLBL": 1, "PRLINES": 0,
            "TRTDURD": 0, "NUMCYC": 0, "CUMDOSE": 0, "DOSINT": 1, "STDOSE": 1, "DEXDUR": 0, "DEXCYC": 0,
            "DEXCUMD": 0, "DEXDINT": 1, "DEXSTD": 1, "RVLDDAYS": 0, "RVLMDD": 1}

DEMOGRAPHIC_VARIABLES = [  # (variable, kind) in table order; absent variables are skipped
    ("AGE", "cont"), ("AGEGR1", "cat"), ("AGEGR2", "cat"), ("SEX", "cat"), ("RACE", "cat"), ("ETHNIC", "cat"),
    ("HEIGHTBL", "cont"), ("WEIGHTBL", "cont"), ("BMIBL", "cont"), ("BMIGR1", "cat"), ("BMIBLGR1", "cat"),
    ("CREATBL", "cont"), ("CRCLBL", "cont"), ("CRCLGR1", "cat"), ("DIALYFL", "cat"),
    ("ISSBL", "cat"), ("MPROTYP", "cat"), ("ECOGBL", "cat"), ("PRLINES", "cont"), ("PRSCTFL", "cat"),
    ("RENIMPFL", "cat"), ("HEPIMPFL", "cat"), ("ALLERGFL", "cat"), ("ANYMHFL", "cat"), ("ANYCMFL", "cat"),
    ("RECRTRT", "cat"), ("TRTDURD", "cont"), ("LTUSEFL", "cat"),
]


# Variables whose Korean name states the study's own grouping: named only with the study's settings.
_STUDY_GROUPINGS = {"AGEGR1", "AGEGR2", "BMIGR1", "CRCLGR1", "LTUSEFL"}


def variable_label(var: str, settings=None) -> str:
    """The Korean row label of a variable (glossary.variable_label); groups of the settings are
    named by their cuts. Without the study's settings a grouping keeps its own name."""
    if settings is None:
        return var if var in _STUDY_GROUPINGS else VARIABLE_KO.get(var, var)
    return ko.variable_label(var, settings.conventions)


def value_label(var: str, value) -> str:
    return ko.value_label(var, value)


def _symbols(text: str) -> str:
    return text.replace(">=", "≥").replace("<=", "≤")


def _num_text(value) -> str:
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _digits(settings) -> int:
    return settings.conventions.percent_decimals_table if settings is not None else 1


# --------------------------------------------------------------------------- ARD helpers

def _n_pct(look: ArdLookup, variable, level=None, *, group=None, group2=None, digits: int = 1,
           denominator: bool = False, events: bool = False) -> str:
    n = look("n", variable, level, group=group, group2=group2)
    N = look("N", variable, level, group=group, group2=group2)
    zero = None if denominator else ko.ZERO  # one way to show a zero count (a ratio keeps its denominator)
    if events:
        return fmt.fmt_n_pct_events(n, N, look("events", variable, level, group=group, group2=group2), digits,
                                     denominator=denominator, zero=zero)
    return fmt.fmt_n_pct(n, N, digits, denominator=denominator, zero=zero)


def _set_output(ard: pd.DataFrame, output_id: str) -> pd.DataFrame:
    ard = ard.copy()
    ard["output_id"] = output_id
    return ard


def _integral(series: pd.Series) -> pd.Series:
    """Integer codes read back from XPT as floats (ECOG 1.0) as ints, so levels print and match as codes."""
    if not pd.api.types.is_numeric_dtype(series):
        return series
    values = series.dropna()
    if len(values) and not np.all(np.equal(np.mod(values.to_numpy(dtype=float), 1), 0)):
        return series
    return pd.Series([None if is_missing(v) else int(v) for v in series], index=series.index, dtype=object)


def _group_labels(settings, var: str) -> list:
    group = settings.conventions.groups[var]
    return list(group.labels) + ([group.dialysis_label] if group.dialysis_label else [])


def _settings_group_fits(frame: pd.DataFrame, var: str, settings) -> bool:
    """Is `var` of this frame the settings' grouping of that name? Only when every value present is
    one of its labels: another study's AGEGR1 ("65-80", ">80") is that study's own grouping."""
    if settings is None or var not in settings.conventions.groups or var not in frame.columns:
        return False
    labels = set(_group_labels(settings, var))
    return all(v in labels for v in pd.unique(frame[var]) if not is_missing(v))


def adam_label(frame: pd.DataFrame, var: str) -> str | None:
    """The variable's label as the ADaM file gives it (`frame.attrs["labels"]`, set by the readers of `sub tlf`)."""
    labels = getattr(frame, "attrs", {}).get("labels") or {}
    label = labels.get(var)
    return label if label and label.strip() else None


_RANGE = re.compile(r"^\s*(<=|<|>=|>|≤|≥)?\s*(\d+(?:\.\d+)?)\s*(-|–|to)?\s*(<=|<)?\s*(\d+(?:\.\d+)?)?\s*$")
_BOUND_RANK = {"<": 0, "<=": 1, "≤": 1, None: 2, ">=": 3, "≥": 3, ">": 4}


def _range_key(value) -> tuple | None:
    """Sort key of a range label ("<25", "25-<30", ">=30", "65-80", ">80"): by its lower bound, a
    "below" label first; None when the value is not such a label (then the levels sort as text)."""
    if not isinstance(value, str):
        return None
    match = _RANGE.match(value)
    if match is None:
        return None
    sign, first = match.group(1), float(match.group(2))
    return (first, _BOUND_RANK[sign], value)


def _levels(frame: pd.DataFrame, var: str, settings=None) -> list:
    """Table order of a categorical variable: settings groups, codelist order, a numeric companion
    (AGEGR1N for AGEGR1), else sorted; every value present gets a level, so nothing is dropped."""
    present = [v for v in pd.unique(frame[var]) if not is_missing(v)]
    order: list | None = None
    if _settings_group_fits(frame, var, settings):
        order = _group_labels(settings, var)
    elif var in VALUE_ORDER:
        order = list(VALUE_ORDER[var])
    elif var in FLAG_VARIABLES or set(present) <= {"Y", "N"}:
        order = ["Y", "N"]
    elif f"{var}N" in frame.columns:
        pairs = frame[[var, f"{var}N"]].dropna().drop_duplicates()
        order = [v for v, _ in sorted(zip(pairs[var], pairs[f"{var}N"]), key=lambda p: (float(p[1]), str(p[0])))]
    if order is None and present and all(_range_key(v) is not None for v in present):
        return sorted(present, key=_range_key)
    if order is None:
        return sorted(present, key=lambda v: (0, float(v), "") if isinstance(v, (int, float)) else (1, 0.0, str(v)))
    # Every level of the order gets a row (0 where nobody has it); unexpected values follow.
    extra = sorted((v for v in present if v not in set(order)), key=str)
    return list(dict.fromkeys(list(order) + extra))


# --------------------------------------------------------------------------- a generic summary table

@dataclass
class _Item:
    var: str
    kind: str  # "cont" or "cat"
    label: str
    data: pd.DataFrame | None = None  # None: the subject-level frame itself
    ard_variable: str | None = None   # the name in the ARD when the data's column is generic (AVAL)
    digits: int | None = None
    levels: list | None = None
    source: Source | None = None      # the ADaM records behind `data` (None: ADSL itself)


@dataclass
class _Columns:
    keys: list        # group1_level of each statistics column (None when ungrouped)
    headers: list[str]


def _population_rows(adsl: pd.DataFrame, *, by: str | None, pop: str | None, by_levels: list | None,
                     total: str | None, output_id: str) -> tuple[pd.DataFrame, list]:
    """Big N of each column: one ARD row per group (variable `..N..`)."""
    frame = adsl[flagged(adsl[pop])] if pop else adsl
    records = []
    keys = []
    pop_clause = eq(pop, "Y") if pop else None

    def counted(*clauses) -> dict:
        return definition("ADSL", None, all_of(pop_clause, *clauses), "population")

    if by is None:
        records.append(stat_row(output_id, "..N..", None, "N", int(frame[ID].nunique()), analysis_set=pop,
                                context="population", stat_label="N", **counted()))
        keys.append(None)
    else:
        for level in by_levels:
            n = int(frame.loc[frame[by].eq(level), ID].nunique())
            records.append(stat_row(output_id, "..N..", None, "N", n, analysis_set=pop, group1=by,
                                    group1_level=level, context="population", stat_label="N",
                                    **counted(eq(by, level))))
            keys.append(level)
        if total is not None:
            records.append(stat_row(output_id, "..N..", None, "N", int(frame[ID].nunique()), analysis_set=pop,
                                    group1=by, group1_level=total, context="population", stat_label="N",
                                    **counted()))
            keys.append(total)
    return rows_frame(records), keys


def _summary_table(adsl: pd.DataFrame, items: Sequence[_Item], *, by: str | None, denom_by: str | None,
                   pop: str | None, total: bool, output_id: str, settings, label_header: str = "구분",
                   group_label: Callable | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ARD and display of a table of continuous and categorical summaries, one column per group."""
    digits = _digits(settings)
    denom_by = denom_by or by
    adsl = adsl.copy()
    by_levels = None
    if denom_by is not None:
        population = adsl[flagged(adsl[pop])] if pop else adsl
        by_levels = _levels(population, denom_by, settings)
    total_label = TOTAL_KO if (by is not None and total) else None
    big_n, keys = _population_rows(adsl, by=denom_by, pop=pop, by_levels=by_levels, total=total_label,
                                   output_id=output_id)
    if by is not None and by != denom_by:
        big_n["group1"] = by
    look_n = ArdLookup(big_n)
    name_of = group_label or (lambda level: value_label(denom_by, level))
    headers = []
    for key in keys:
        n = look_n("N", "..N..", group=key)
        name = POPULATION_KO.get(pop, pop) if key is None else (TOTAL_KO if key == total_label else name_of(key))
        headers.append(f"{name}\n(N={fmt.fmt_count(n)})")

    ards = [big_n]
    rows: list[list[str]] = []
    indent: list[int] = []
    bold: list[int] = []
    # Only the columns each summary needs: the ARD builders filter whole frames many times.
    keys_only = adsl[list(dict.fromkeys(c for c in (ID, pop, by, denom_by) if c is not None))]
    # The same denominators for every summary: computed once.
    shared = denominators(keys_only, pop, denom_by, id_var=ID, by_levels=by_levels, total=total_label) if items else None
    for item in items:
        if item.data is None:
            data = adsl[list(dict.fromkeys([*keys_only.columns, item.var, *(
                [f"{item.var}N"] if f"{item.var}N" in adsl.columns else [])]))].copy()
        else:
            data = item.data.copy()
            if by is not None and by not in data.columns:
                data = data.merge(adsl[[ID, by]], on=ID, how="left")
        common = dict(by=by, pop_flag=pop, adsl=keys_only, denom_by=denom_by, by_levels=by_levels, total=total_label,
                      output_id=output_id, source=item.source or Source("ADSL"), population=shared)
        if item.kind == "cont":
            ard = ard_continuous(data, item.var, **common)
        else:
            data[item.var] = _integral(data[item.var])
            levels = item.levels if item.levels is not None else _levels(data, item.var, settings)
            ard = ard_categorical(data, item.var, levels=levels, missing_label="Missing", **common)
        if item.ard_variable:
            ard = ard.copy()
            ard["variable"] = item.ard_variable
        ards.append(ard)
        look = ArdLookup(ard)
        name = item.ard_variable or item.var
        bold.append(len(rows))
        indent.append(0)
        rows.append([item.label] + [""] * len(keys))
        if item.kind == "cont":
            d = item.digits if item.digits is not None else DECIMALS.get(name, _guess_digits(data[item.var]))
            def stat(what, g, look=look, name=name):
                return look(what, name, group=g)

            lines = [
                ("n", [fmt.fmt_count(stat("N", g)) for g in keys]),
                ("평균 (SD)", [fmt.fmt_mean_sd(stat("mean", g), stat("sd", g), d + 1, d + 2) for g in keys]),
                ("중앙값", [fmt.fmt_median(stat("median", g), d + 1) for g in keys]),
                ("최소, 최대", [fmt.fmt_range(stat("min", g), stat("max", g), d) for g in keys]),
            ]
            # Subjects without a value; not for a summary of a subgroup's records (e.g. dexamethasone users)
            if item.data is None and any(stat("N_miss", g) for g in keys):
                lines.append(("결측", [fmt.fmt_count(stat("N_miss", g)) for g in keys]))
            for text, cells in lines:
                indent.append(1)
                rows.append([text, *cells])
        else:
            levels_shown = [lv for lv in pd.unique(ard["variable_level"])]
            for level in levels_shown:
                indent.append(1)
                rows.append([value_label(item.var, level)]
                            + [_n_pct(look, name, level, group=g, digits=digits) for g in keys])
    ard = ard_to_frame(*ards)
    display = pd.DataFrame(rows, columns=[label_header] + headers)
    display.attrs.update(indent=indent, bold_rows=bold, label_columns=1)
    return ard, display


def _guess_digits(values: pd.Series) -> int:
    x = pd.to_numeric(values, errors="coerce").dropna()
    if x.empty or np.all(np.equal(np.mod(x.to_numpy(dtype=float), 1), 0)):
        return 0
    return 1


def _percent_note(pop: str | None, settings) -> str:
    return (f"백분율(%)의 분모는 각 열의 {POPULATION_KO.get(pop, '대상자')} 수(N)이며, 소수점 "
            f"{_digits(settings)}자리까지 반올림(사사오입)하였다.")


# --------------------------------------------------------------------------- 1. disposition

def disposition(adsl: pd.DataFrame, *, settings, output_id: str = "T-DSP-01",
                figure_id: str = "F-DSP-01") -> tuple[TableResult, FigureResult]:
    """Enrolled subjects by route, exclusions from the safety and efficacy sets by reason, the sets."""
    require_columns(adsl, [ID, "SAFFL", "SAFEXRS", "EFFFL", "EFFEXRS"], "ADSL")
    by = "RECRTRT" if "RECRTRT" in adsl.columns else None
    adsl = adsl[[c for c in (ID, "ENRLFL", "SAFFL", "SAFEXRS", "EFFFL", "EFFEXRS", by, "SITEID")
                 if c in adsl.columns]].copy()
    if "ENRLFL" not in adsl.columns:
        adsl["ENRLFL"] = "Y"
    digits = _digits(settings)
    total = TOTAL_KO if by else None
    by_levels = _levels(adsl[flagged(adsl["ENRLFL"])], by, settings) if by else None
    common = dict(by=by, by_levels=by_levels, total=total, missing=False, output_id=output_id, source=Source("ADSL"))
    # The denominators of each set, built once for the rows that share them.
    every, of_enrolled, of_safety = (denominators(adsl, flag, by, id_var=ID, by_levels=by_levels, total=total)
                                     for flag in (None, "ENRLFL", "SAFFL"))
    enrolled = adsl[flagged(adsl["ENRLFL"])]
    in_safety = enrolled[flagged(enrolled["SAFFL"])]
    saf_reasons = _reason_levels(enrolled.loc[~flagged(enrolled["SAFFL"]), "SAFEXRS"], SAFEXRS_KO)
    eff_reasons = _reason_levels(in_safety.loc[~flagged(in_safety["EFFFL"]), "EFFEXRS"], EFFEXRS_KO)
    parts = {
        "enrolled": ard_categorical(adsl, "ENRLFL", pop_flag=None, levels=["Y"], population=every, **common),
        "saf_excluded": ard_categorical(adsl, "SAFFL", pop_flag="ENRLFL", levels=["N"], population=of_enrolled, **common),
        "saf_reasons": ard_categorical(adsl, "SAFEXRS", pop_flag="ENRLFL", levels=saf_reasons, population=of_enrolled, **common),
        "safety": ard_categorical(adsl, "SAFFL", pop_flag="ENRLFL", levels=["Y"], population=of_enrolled, **common),
        "eff_excluded": ard_categorical(adsl, "EFFFL", pop_flag="SAFFL", levels=["N"], population=of_safety, **common),
        "eff_reasons": ard_categorical(adsl, "EFFEXRS", pop_flag="SAFFL", levels=eff_reasons, population=of_safety, **common),
        "efficacy": ard_categorical(adsl, "EFFFL", pop_flag="SAFFL", levels=["Y"], population=of_safety, **common),
    }
    sites = []
    if "SITEID" in adsl.columns:  # the number of institutions that enrolled a subject (the methods state it)
        sites.append(stat_row(output_id, "SITEID", None, "n_distinct", int(enrolled["SITEID"].nunique()),
                              analysis_set="ENRLFL", context="sites", stat_label="Sites with enrolled subjects"))
    ard = ard_to_frame(*parts.values(), *([rows_frame(sites)] if sites else []))
    look = ArdLookup(ard)
    keys = (list(by_levels) + [total]) if by else [None]
    headers = [TOTAL_KO if k in (None, total) else value_label("RECRTRT", k) for k in keys]

    rows, indent, bold = [], [], []

    def add(label: str, variable: str, level, *, level_indent: int, with_pct: bool, is_bold: bool = False):
        cells = []
        for g in keys:
            n = look("n", variable, level, group=g)
            N = look("N", variable, level, group=g)
            cells.append(fmt.fmt_n_pct(n, N, digits, zero=ko.ZERO) if with_pct else fmt.fmt_count(n))
        if is_bold:
            bold.append(len(rows))
        indent.append(level_indent)
        rows.append([label] + cells)

    add("등록 대상자", "ENRLFL", "Y", level_indent=0, with_pct=False, is_bold=True)
    add("안전성 평가 제외", "SAFFL", "N", level_indent=1, with_pct=True)
    for reason in saf_reasons:
        add(SAFEXRS_KO.get(reason, reason), "SAFEXRS", reason, level_indent=2, with_pct=True)
    add("안전성 평가대상자", "SAFFL", "Y", level_indent=0, with_pct=True, is_bold=True)
    add("유효성 평가 제외", "EFFFL", "N", level_indent=1, with_pct=True)
    for reason in eff_reasons:
        add(EFFEXRS_KO.get(reason, reason), "EFFEXRS", reason, level_indent=2, with_pct=True)
    add("유효성 평가대상자", "EFFFL", "Y", level_indent=0, with_pct=True, is_bold=True)
    display = pd.DataFrame(rows, columns=["구분"] + headers)
    display.attrs.update(indent=indent, bold_rows=bold, label_columns=1)
    footnotes = [
        f"안전성 평가대상자: {settings.analysis_sets.safety_ko}.",
        f"유효성 평가대상자: {settings.analysis_sets.efficacy_ko}.",
        f"백분율(%)의 분모: 안전성 평가 제외와 안전성 평가대상자는 등록 대상자 수, 유효성 평가 제외와 유효성 "
        f"평가대상자는 안전성 평가대상자 수. 소수점 {digits}자리까지 반올림(사사오입)하였다.",
        "제외 사유는 대상자당 하나(주된 사유)만 집계하였다.",
    ]
    table = TableResult(output_id, "조사대상자 현황", ard, display, footnotes, section="disposition")
    figure = _disposition_figure(ard, look, total if by else None, saf_reasons, eff_reasons, figure_id)
    return table, figure


def _reason_levels(values: pd.Series, known: dict) -> list:
    present = {v for v in values if not is_missing(v)}
    return [r for r in known if r in present] + sorted(present - set(known), key=str)


def _disposition_figure(ard: pd.DataFrame, look: ArdLookup, group, saf_reasons, eff_reasons,
                        figure_id: str) -> FigureResult:
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    def n(variable, level):
        return fmt.fmt_count(look("n", variable, level, group=group))

    font = _korean_font()
    fig = Figure(figsize=(7.0, 6.2))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.axis("off")
    style = dict(ha="center", va="center", fontsize=10, fontfamily=font)

    def box(x, y, w, h, text, *, bold=False, align="center"):
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.05", linewidth=1.2,
                                    edgecolor="black", facecolor="#F2F2F2" if bold else "white"))
        ax.text(x if align == "center" else x - w / 2 + 0.15, y, text, **{**style, "ha": align})

    def arrow(x0, y0, x1, y1):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="-|>", color="black", lw=1.2))

    box(3.0, 9.0, 4.2, 0.9, f"등록 대상자\n(N={n('ENRLFL', 'Y')})", bold=True)
    box(3.0, 5.2, 4.2, 0.9, f"안전성 평가대상자\n(N={n('SAFFL', 'Y')})", bold=True)
    box(3.0, 1.2, 4.2, 0.9, f"유효성 평가대상자\n(N={n('EFFFL', 'Y')})", bold=True)
    saf_lines = [f"안전성 평가 제외 (n={n('SAFFL', 'N')})"] + [
        f"  {SAFEXRS_KO.get(r, r)}: {n('SAFEXRS', r)}" for r in saf_reasons]
    eff_lines = [f"유효성 평가 제외 (n={n('EFFFL', 'N')})"] + [
        f"  {EFFEXRS_KO.get(r, r)}: {n('EFFEXRS', r)}" for r in eff_reasons]
    h1 = 0.45 * len(saf_lines) + 0.2
    h2 = 0.45 * len(eff_lines) + 0.2
    box(7.6, 7.1, 4.4, h1, "\n".join(saf_lines), align="left")
    box(7.6, 3.2, 4.4, h2, "\n".join(eff_lines), align="left")
    arrow(3.0, 8.5, 3.0, 5.7)
    arrow(3.0, 4.7, 3.0, 1.7)
    arrow(3.0, 7.1, 5.35, 7.1)
    arrow(3.0, 3.2, 5.35, 3.2)
    from .docx import figure_png

    png = figure_png(fig)
    rows = ard[ard["group1_level"].map(lambda v: _lookup_key(v) == _lookup_key(group))] if group is not None else ard
    return FigureResult(figure_id, "조사대상자 분포도", png, _set_output(rows, figure_id),
                        ["숫자는 조사대상자 현황 표의 전체 열과 같다."], section="disposition")


def _korean_font() -> str:
    from .fonts import korean_font

    return korean_font()


# --------------------------------------------------------------------------- 2. demographics

ANOVA = "anova"
KRUSKAL = "kruskal"
CONTINUOUS_TESTS = {ANOVA: "One-way ANOVA", KRUSKAL: "Kruskal-Wallis test"}
CONTINUOUS_TESTS_KO = {ANOVA: "일원분산분석(ANOVA)", KRUSKAL: "Kruskal-Wallis 검정"}
TEST_KO = {**{CONTINUOUS_TESTS[k]: v for k, v in CONTINUOUS_TESTS_KO.items()}, **TEST_NAMES_KO,
           FISHER_MC.format(n=MONTE_CARLO_RESAMPLES):
               f"Fisher의 정확 검정(Monte Carlo {fmt.fmt_count(MONTE_CARLO_RESAMPLES)}회, 고정 시드)"}


def demographics(adsl: pd.DataFrame, *, by: str | None = None, denom_by: str | None = None, pop: str | None = "SAFFL",
                 settings=None, total: bool = True, output_id: str = "T-DEM-01",
                 title: str | None = None, tests: bool = False, continuous_test: str = ANOVA) -> TableResult:
    """Demographics and baseline characteristics: n, mean (SD), median, min-max; n (%) per level.

    Works on any ADSL: variables the frame lacks are skipped (e.g. the CDISC pilot ADSL with
    by="TRT01A"). `by`/`denom_by` give one column per group (plus a total column when `total`).
    A grouping variable (AGEGR1, ...) takes the settings' levels and name only when its values
    are the settings' labels; otherwise it is the ADaM's own grouping, shown with its own levels
    and label. `tests` (with a grouping): a p-value per characteristic across the groups
    (`demographic_tests`).
    """
    require_columns(adsl, [ID, pop, by, denom_by], "ADSL")
    items = []
    for var, kind in DEMOGRAPHIC_VARIABLES:
        if var not in adsl.columns or var in (by, denom_by):
            continue
        items.append(_Item(var, kind, _demographic_label(adsl, var, settings)))
    ard, display = _summary_table(adsl, items, by=by, denom_by=denom_by, pop=pop, total=total,
                                  output_id=output_id, settings=settings)
    pop_name = POPULATION_KO.get(pop, f"{pop}='Y'인 대상자" if pop else "전체 대상자")
    definition = _set_definition(pop, settings) or _flag_definition(adsl, pop, settings)
    footnotes = [f"대상: {pop_name}" + (f" ({definition})" if definition else "") + ".", _percent_note(pop, settings),
                 "연속형 변수: n, 평균 (표준편차), 중앙값, 최소, 최대. 결측: 해당 값이 없는 대상자 수."]
    if settings is not None and "CRCLBL" in adsl.columns:
        footnotes.append("크레아티닌 청소율: Cockcroft-Gault 식; 투석 중인 대상자는 청소율과 관계없이 투석군으로 분류하였다.")
    if tests and (by or denom_by):
        group = denom_by or by
        threshold = settings.conventions.fisher_expected_below if settings is not None else 5.0
        population = adsl[flagged(adsl[pop])] if pop else adsl
        results = demographic_tests(population, items, group, _levels(population, group, settings),
                                    fisher_expected_below=threshold, continuous_test=continuous_test)
        records = []
        for item in items:
            res = results[item.var]
            common = dict(analysis_set=pop, group1=by or group, context="comparison")
            records.append(stat_row(output_id, item.var, None, "p.value", res.p, stat_label=f"p-value ({res.test})",
                                    **common))
            records.append(stat_row(output_id, item.var, None, "method", res.test, stat_label="Test", **common))
        ard = ard_to_frame(ard, rows_frame(records))
        look = ArdLookup(ard)
        cells = [""] * len(display)
        for row, item in zip(display.attrs["bold_rows"], items):
            cells[row] = fmt.fmt_p(look("p.value", item.var), missing="-")
        display["p-value"] = cells
        used = "; ".join(f"{item.label}: {TEST_KO.get(results[item.var].test, results[item.var].test)}"
                         for item in items)
        footnotes.append(
            f"p-value: {value_label_header(group)} 간 비교(전체 열 제외, 결측 제외). 범주형 변수: 카이제곱 검정"
            f"(연속성 수정 없음), 기대빈도가 {fmt.fmt_num(threshold, 0)} 미만인 칸이 있으면 Fisher의 정확 검정"
            "(2×2보다 큰 표는 Freeman-Halton 확장; 두 열 모두 2 수준을 넘으면 Monte Carlo); 연속형 변수: "
            f"{CONTINUOUS_TESTS_KO[continuous_test]}. '-': 검정할 수 없음. 사용한 검정: {used}.")
    return TableResult(output_id, title or f"인구학적 정보 및 기저 특성 ({pop_name})", ard, display, footnotes,
                       section="demographics")


@dataclass(frozen=True)
class GroupTest:
    test: str
    p: float | None
    statistic: float | None = None


def continuous_group_test(samples: Sequence[Sequence[float]], test: str = ANOVA) -> GroupTest:
    """One-way ANOVA (scipy `f_oneway`) or Kruskal-Wallis (`kruskal`) across the groups with values.

    Not testable (p None) with fewer than two groups holding values, or when nothing varies."""
    from scipy import stats as sps

    name = CONTINUOUS_TESTS.get(test)
    if name is None:
        raise SubError(Problem("sub tlf", None, "--continuous-test", test,
                               f"unknown test; known: {', '.join(CONTINUOUS_TESTS)}"))
    groups = [np.asarray(x, dtype=float) for x in samples]
    groups = [x[~np.isnan(x)] for x in groups]
    groups = [x for x in groups if x.size]
    if len(groups) < 2 or sum(x.size for x in groups) <= len(groups):
        return GroupTest(name, None)
    if np.ptp(np.concatenate(groups)) == 0:
        return GroupTest(name, None)
    result = sps.f_oneway(*groups) if test == ANOVA else sps.kruskal(*groups)
    p = float(result.pvalue)
    return GroupTest(name, None if np.isnan(p) else p, float(result.statistic))


def demographic_tests(population: pd.DataFrame, items: Sequence, group: str, group_levels: Sequence, *,
                      fisher_expected_below: float = 5.0, continuous_test: str = ANOVA) -> dict[str, GroupTest]:
    """A test per characteristic across the levels of `group` (subjects without a value left out):
    categorical ones by `stats.factor_test` (chi-square, or Fisher's exact test when an expected
    count is below `fisher_expected_below`), continuous ones by `continuous_group_test`."""
    out = {}
    for item in items:
        var = item.var
        if item.kind == "cont":
            samples = [pd.to_numeric(population.loc[population[group].eq(g), var], errors="coerce").to_numpy(dtype=float)
                       for g in group_levels]
            out[var] = continuous_group_test(samples, continuous_test)
            continue
        values = _integral(population[var])
        keep = ~values.isna()
        levels = [v for v in pd.unique(values[keep])]
        table = np.array([[int((values[keep].eq(level) & population.loc[keep, group].eq(g)).sum())
                           for g in group_levels] for level in levels], dtype=np.int64).reshape(len(levels),
                                                                                               len(group_levels))
        result = factor_test(table, fisher_expected_below=fisher_expected_below)
        out[var] = GroupTest(result.test, None if np.isnan(result.p) else float(result.p), result.statistic)
    return out


def value_label_header(group: str) -> str:
    return {"TRT01A": "투여군", "TRT01P": "투여군", "TRTA": "투여군", "TRTP": "투여군", "ARM": "투여군",
            "ACTARM": "투여군"}.get(group, group)


def _demographic_label(adsl: pd.DataFrame, var: str, settings) -> str:
    """The row label: the settings' name of a grouping only when the data are that grouping; a variable
    this module does not name takes the ADaM label (another study's AGEGR1: 'Pooled Age Group 1')."""
    grouping = var in ("AGEGR1", "AGEGR2", "BMIGR1", "CRCLGR1") or (
        settings is not None and var in settings.conventions.groups)
    if grouping and not _settings_group_fits(adsl, var, settings):
        return adam_label(adsl, var) or VARIABLE_KO.get(var, var)
    label = variable_label(var, settings)
    if label == var:
        return adam_label(adsl, var) or label
    return label


def _flag_definition(adsl: pd.DataFrame, pop: str | None, settings) -> str:
    """Without the study's definition of the analysis set: the flag and its ADaM label."""
    if settings is not None or not pop:
        return ""
    label = adam_label(adsl, pop)
    return f"{pop}='Y'" + (f", {label}" if label else "")


def _set_definition(pop: str | None, settings) -> str:
    if settings is None:
        return ""
    return {"SAFFL": settings.analysis_sets.safety_ko, "EFFFL": settings.analysis_sets.efficacy_ko}.get(pop, "")


# --------------------------------------------------------------------------- 3. exposure

def exposure(adsl: pd.DataFrame, adex: pd.DataFrame, *, settings, by: str | None = None,
             output_id: str = "T-EXP-01") -> TableResult:
    """REVLIMID duration, cycles, starting dose, modifications, cumulative dose, dose intensity;
    dexamethasone use and its exposure (safety set)."""
    require_columns(adex, [ID, "PARCAT1", "PARAMCD", "AVAL"], "ADEX")
    items = []
    for var, kind in [("TRTDURD", "cont"), ("LTUSEFL", "cat"), ("NUMCYC", "cont"), ("STDOSE", "cat"),
                      ("STDOSFRQ", "cat"), ("CUMDOSE", "cont"), ("DOSINT", "cont"), ("DOSREDFL", "cat"),
                      ("INTRFL", "cat")]:
        if var in adsl.columns:
            levels = None
            if var == "STDOSE":
                present = sorted({float(v) for v in adsl[var] if not is_missing(v)}, reverse=True)
                levels = [int(v) if v.is_integer() else v for v in present]
            items.append(_Item(var, kind, variable_label(var, settings), levels=levels))
    dex = adex[adex["PARCAT1"].eq("DEXAMETHASONE")]
    users = adsl.copy()
    users["DEXUSE"] = np.where(adsl[ID].isin(set(dex[ID])), "Y", "N")
    dex_where = eq("PARCAT1", "DEXAMETHASONE")
    used = has_records("ADEX", dex_where)
    items.append(_Item("DEXUSE", "cat", variable_label("DEXUSE"), data=users, levels=["Y", "N"],
                       source=Source("ADSL", levels={"DEXUSE": {"Y": used, "N": f"not {used}"}})))
    for code in ("DEXDUR", "DEXCUMD", "DEXDINT", "DEXSTD"):
        part = dex[dex["PARAMCD"].eq(code)][[ID, "AVAL"]]
        if len(part):
            items.append(_Item("AVAL", "cont", "  " + variable_label(code), data=part, ard_variable=code,
                               source=Source("ADEX", all_of(dex_where, eq("PARAMCD", code)))))
    ard, display = _summary_table(adsl, items, by=by, denom_by=None, pop="SAFFL", total=True,
                                  output_id=output_id, settings=settings)
    footnotes = [f"대상: 안전성 평가대상자 ({settings.analysis_sets.safety_ko}).", _percent_note("SAFFL", settings),
                 "투여 기간 = 마지막 투여일 - 첫 투여일 + 1(일); 투여 주기: 28일 주기 중 시작된 주기 수.",
                 "누적 투여량 = Σ(1회 용량 × 투여일 수); 용량 강도 = 누적 투여량 / 투여 기간(휴약일 포함).",
                 "감량: 이전 기록보다 투여일당 용량이 줄어든 경우; 투여 중단: 예정된 주기보다 늦게 재시작하거나 "
                 f"{ko.AE}로 일시 중단한 경우.",
                 "덱사메타손 투여 기간, 누적 투여량, 용량 강도, 시작 용량은 덱사메타손을 병용한 대상자에서 요약하였다."]
    return TableResult(output_id, "이 약의 투여 현황 (안전성 평가대상자)", ard, display, footnotes,
                       section="exposure")


# --------------------------------------------------------------------------- 4. medical history, medications

def _hierarchy_rows(look: ArdLookup, ard: pd.DataFrame, variables: Sequence[str], keys: list, digits: int,
                    *, sort_group=None, label_of=lambda var, level: str(level)
                    ) -> tuple[list[list[str]], list[int], list[int]]:
    """Rows of a SOC/PT-like table in descending order of subjects (in `sort_group`), then by name."""
    top = variables[0]
    child = variables[1] if len(variables) > 1 else None
    first = sort_group if sort_group is not None else keys[0]

    def order(levels, variable, parent=None):
        return sorted(levels, key=lambda lv: (-look("n", variable, lv, group=first, group2=parent), str(lv)))

    rows, indent, bold = [], [], []
    bold.append(0)
    indent.append(0)
    rows.append(["대상자 수"] + [_n_pct(look, "..any..", None, group=g, digits=digits, events=True) for g in keys])
    tops = [lv for lv in pd.unique(ard.loc[ard["variable"].eq(top), "variable_level"])]
    for parent in order(tops, top):
        bold.append(len(rows))
        indent.append(0)
        rows.append([label_of(top, parent)] + [_n_pct(look, top, parent, group=g, digits=digits, events=True)
                                               for g in keys])
        if child is None:
            continue
        kids = ard.loc[ard["variable"].eq(child) & ard["group2_level"].eq(parent), "variable_level"]
        for level in order(list(pd.unique(kids)), child, parent):
            indent.append(1)
            rows.append([label_of(child, level)] + [_n_pct(look, child, level, group=g, group2=parent,
                                                           digits=digits, events=True) for g in keys])
    return rows, indent, bold


def medical_history(adsl: pd.DataFrame, admh: pd.DataFrame, *, settings,
                    output_ids: tuple[str, str] = ("T-MH-01", "T-MH-02"), terms=None) -> list[TableResult]:
    """Subjects with medical history by category, and by MedDRA SOC/PT (myeloma diagnosis excluded).
    `terms` (terms_ko.TermLabels): Korean names of the SOCs and PTs."""
    require_columns(admh, [ID, "MHCAT", "MHBODSYS", "MHDECOD"], "ADMH")
    digits = _digits(settings)
    n_safety = int(adsl.loc[flagged(adsl["SAFFL"]), ID].nunique())
    header = f"안전성 평가대상자\n(N={fmt.fmt_count(n_safety)})\nn (%) [건]"
    meddra = settings.dictionaries.meddra_version
    out = []

    subjects = only_columns(adsl, ID, "SAFFL")
    ard1 = ard_hierarchical(only_columns(admh, ID, "SAFFL", "MHCAT"), subjects, by=None, variables=["MHCAT"],
                            subject_flag=None, pop_flag="SAFFL",
                            output_id=output_ids[0], source=Source("ADMH"))
    look = ArdLookup(ard1)
    rows = [["과거 병력 또는 동반 질환이 있는 대상자", _n_pct(look, "..any..", digits=digits, events=True)]]
    present = list(pd.unique(ard1.loc[ard1["variable"].eq("MHCAT"), "variable_level"]))
    for cat in [c for c in MHCAT_KO if c in present] + sorted(set(present) - set(MHCAT_KO), key=str):
        rows.append([MHCAT_KO.get(cat, cat), _n_pct(look, "MHCAT", cat, digits=digits, events=True)])
    display = pd.DataFrame(rows, columns=["분류", header])
    display.attrs.update(indent=[0] + [1] * (len(rows) - 1), bold_rows=[0], label_columns=1)
    out.append(TableResult(output_ids[0], "과거 병력 및 동반 질환: 분류별 (안전성 평가대상자)", ard1, display,
                           [_percent_note("SAFFL", settings), "n: 대상자 수, [ ]: 건수. 한 대상자가 여러 분류에 "
                            "해당하면 각 분류에 한 번씩 집계하였다.",
                            "원발 진단(다발골수종)은 모든 대상자의 진단 기록이다."], section="history"))

    general = only_columns(admh, ID, "SAFFL", "MHBODSYS", "MHDECOD")[~admh["MHCAT"].eq("PRIMARY DIAGNOSIS")]
    ard2 = ard_hierarchical(general, subjects, by=None, variables=["MHBODSYS", "MHDECOD"], subject_flag=None,
                            pop_flag="SAFFL", output_id=output_ids[1],
                            source=Source("ADMH", "MHCAT != 'PRIMARY DIAGNOSIS'"))
    look = ArdLookup(ard2)
    rows, indent, bold = _hierarchy_rows(look, ard2, ["MHBODSYS", "MHDECOD"], [None], digits,
                                         label_of=_term_label(terms))
    rows[0][0] = "과거 병력 또는 동반 질환이 있는 대상자"
    display = pd.DataFrame(rows, columns=[f"{ko.SOC_ABBR}\n  {ko.PT_ABBR}", header])
    display.attrs.update(indent=indent, bold_rows=bold, label_columns=1)
    out.append(TableResult(output_ids[1], f"과거 병력 및 동반 질환: {ko.SOC} 및 {ko.PT}별 (안전성 평가대상자)",
                           ard2, display,
                           [f"MedDRA 버전 {meddra}. 원발 진단(다발골수종) 기록은 제외하였다.",
                            _percent_note("SAFFL", settings),
                            "n: 대상자 수, [ ]: 건수. 한 대상자는 SOC와 PT마다 한 번만 집계하였다. 대상자 수가 많은 순."],
                           section="history"))
    return out


def medications(adsl: pd.DataFrame, adcm: pd.DataFrame, *, settings, output_id: str = "T-CM-01",
                terms=None) -> TableResult:
    """Prior and concomitant medications by ATC class (CMCLAS) and standardized name (CMDECOD).
    `terms` (terms_ko.TermLabels): Korean names of the classes and drugs."""
    require_columns(adcm, [ID, "CMCLAS", "CMDECOD", "PREFL", "ONTRTFL"], "ADCM")
    digits = _digits(settings)
    periods = [("PREFL", "PRIOR", "이전 약물"), ("ONTRTFL", "CONCOMITANT", "병용 약물")]
    ards = []
    subjects = only_columns(adsl, ID, "SAFFL")
    for flag, code, _ in periods:
        part = ard_hierarchical(only_columns(adcm, ID, "SAFFL", flag, "CMCLAS", "CMDECOD"), subjects, by=None, variables=["CMCLAS", "CMDECOD"], subject_flag=flag,
                                pop_flag="SAFFL", output_id=output_id, source=Source("ADCM"))
        part = part.copy()
        part["group1"] = "CMPERIOD"
        part["group1_level"] = code
        ards.append(part)
    ard = ard_to_frame(*ards)
    look = ArdLookup(ard)
    keys = [code for _, code, _ in periods]
    n_safety = int(adsl.loc[flagged(adsl["SAFFL"]), ID].nunique())
    # Union of classes and drugs over both periods (every level has a row in each period's ARD only
    # when seen there): a level missing in one period shows 0.
    ard = _complete_levels(ard, keys, output_id, n_safety, flags={code: flag for flag, code, _ in periods})
    look = ArdLookup(ard)
    rows, indent, bold = _hierarchy_rows(look, ard, ["CMCLAS", "CMDECOD"], keys, digits, sort_group="CONCOMITANT",
                                         label_of=_term_label(terms))
    rows[0][0] = "약물을 투여받은 대상자"
    headers = [f"{name}\n(N={fmt.fmt_count(n_safety)})\nn (%) [건]" for _, _, name in periods]
    display = pd.DataFrame(rows, columns=["ATC 분류\n  약물명(WHODrug)"] + headers)
    display.attrs.update(indent=indent, bold_rows=bold, label_columns=1)
    te = settings.conventions.treatment_emergent_days
    footnotes = [f"WHODrug 버전: {settings.dictionaries.whodrug_version}. 대상: 안전성 평가대상자.",
                 "이전 약물: 이 약 첫 투여일 전에 시작한 약물; 병용 약물: 투여 기간(첫 투여일부터 마지막 투여 후 "
                 f"{te}일까지) 중 사용한 약물. 한 약물이 두 열 모두에 해당할 수 있다.",
                 _percent_note("SAFFL", settings), "n: 대상자 수, [ ]: 건수. 병용 약물 대상자 수가 많은 순."]
    return TableResult(output_id, "이전 약물 및 병용 약물: ATC 분류별 (안전성 평가대상자)", ard, display, footnotes,
                       landscape=False, section="history")


def _term_label(terms):
    """label_of of `_hierarchy_rows`: a coded term's Korean name (terms_ko.TermLabels) or its English name."""
    if terms is None:
        return lambda var, level: str(level)
    return lambda var, level: terms(level)


def _complete_levels(ard: pd.DataFrame, keys: list, output_id: str, N: int,
                     flags: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Zero rows for hierarchy levels seen in one group but not another (both from ard_hierarchical).

    `flags` (group -> its record flag, e.g. CONCOMITANT -> ONTRTFL): the added rows' analysis
    definition is the other group's with that group's flag."""
    have = {(r.group1_level, r.group2_level, r.variable, r.variable_level) for r in ard.itertuples()}
    template = {}
    if flags and "where" in ard.columns:
        for r in ard.itertuples():
            template.setdefault((r.group2_level, r.variable, r.variable_level, r.stat_name),
                                (r.group1_level, {c: getattr(r, c) for c in ("source", "where", "population",
                                                                             "counts")}))

    def defined(key, rec, stat) -> dict:
        found = template.get((rec.group2_level, rec.variable, rec.variable_level, stat))
        if found is None:
            return {}
        other, columns = found
        where = columns["where"]
        if where and other in flags and key in flags:
            where = where.replace(eq(flags[other], "Y"), eq(flags[key], "Y"), 1)
        return {**columns, "where": where}

    levels = ard[["group2", "group2_level", "variable", "variable_level"]].drop_duplicates()
    add = []
    group1 = ard["group1"].iloc[0] if len(ard) else None
    for key in keys:
        for rec in levels.itertuples(index=False):
            if (key, rec.group2_level, rec.variable, rec.variable_level) in have:
                continue
            for stat, value in (("n", 0), ("N", N), ("p", 0.0), ("events", 0)):
                add.append(stat_row(output_id, rec.variable, rec.variable_level, stat, value, analysis_set="SAFFL",
                                    group1=group1, group1_level=key, group2=rec.group2, group2_level=rec.group2_level,
                                    context="hierarchical", stat_label={"p": "%", "events": "Events"}.get(stat, stat),
                                    **defined(key, rec, stat)))
    return ard_to_frame(ard, rows_frame(add)) if add else ard


# --------------------------------------------------------------------------- 10. efficacy

def _with_responses(frame: pd.DataFrame, adrs: pd.DataFrame) -> pd.DataFrame:
    """The subjects' responder flags (RSP, RSPCR, ...) as columns."""
    require_columns(adrs, [ID, "PARAMCD", "AVALC"], "ADRS")
    for code, _, _ in RESPONSE_PARAMS:
        values = adrs.loc[adrs["PARAMCD"].eq(code), [ID, "AVALC"]].rename(columns={"AVALC": code})
        frame = frame.merge(values.drop_duplicates(ID), on=ID, how="left")
    return frame


def efficacy(adsl: pd.DataFrame, adrs: pd.DataFrame, *, settings,
             output_ids: tuple[str, str, str, str] = ("T-EFF-01", "T-EFF-02", "T-EFF-03", "F-EFF-01"),
             factors: Sequence[str] | None = None) -> list[TableResult | FigureResult]:
    """Best overall response, response rates with exact CIs, response by factor, logistic regression."""
    require_columns(adsl, [ID, "EFFFL"], "ADSL")
    require_columns(adrs, [ID, "PARAMCD", "AVALC"], "ADRS")
    conv = settings.conventions
    digits = _digits(settings)
    level_pct = fmt.fmt_num(conv.ci_level * 100, 0)
    order = list(conv.response.order)

    bor = adrs[adrs["PARAMCD"].eq("BOR")]
    subjects = only_columns(adsl, ID, "EFFFL")
    efficacy_set = denominators(subjects, "EFFFL", None, id_var=ID)  # the one denominator of every row below
    ard_bor = ard_categorical(only_columns(bor, ID, "EFFFL", "AVALC"), "AVALC", adsl=subjects, pop_flag="EFFFL", levels=order + sorted(
        set(bor["AVALC"].dropna()) - set(order)), missing_label="Missing", output_id=output_ids[0],
        source=Source("ADRS", eq("PARAMCD", "BOR")), population=efficacy_set)
    ard_bor["variable"] = "BOR"
    rates = []
    for code, _, _ in RESPONSE_PARAMS:
        part = only_columns(adrs, ID, "EFFFL")[adrs["PARAMCD"].eq(code)]
        part = part.assign(RESPFL=adrs["AVALC"])
        rates.append(ard_incidence(part, subjects, flag="RESPFL", subject_flag=None, pop_flag="EFFFL",
                                   ci_level=conv.ci_level, variable=code, output_id=output_ids[0], population=efficacy_set,
                                   source=Source("ADRS", eq("PARAMCD", code),
                                                 levels={"RESPFL": {"Y": eq("AVALC", "Y")}})))
    ard1 = ard_to_frame(ard_bor, *rates)
    look = ArdLookup(ard1)
    N = look("N", "RSP", "Y")
    rows = []
    for level in pd.unique(ard_bor["variable_level"]):
        rows.append([RESPONSE_KO.get(level, "결측" if level == "Missing" else level),
                     _n_pct(look, "BOR", level, digits=digits), ""])
    bold = [len(rows)]
    for code, setting, name in RESPONSE_PARAMS:
        members = "+".join(getattr(conv.response, setting))
        rows.append([f"{name} ({members})", _n_pct(look, code, "Y", digits=digits),
                     fmt.fmt_ci_pct(look("conf.low", code, "Y"), look("conf.high", code, "Y"), digits)])
    display = pd.DataFrame(rows, columns=["최량 전체 반응(BOR)", f"유효성 평가대상자\n(N={fmt.fmt_count(N)})\nn (%)",
                                          f"{level_pct}% 신뢰구간(%)"])
    display.attrs.update(indent=[1] * len(ard_bor["variable_level"].unique()) + [0] * len(RESPONSE_PARAMS),
                         bold_rows=bold, label_columns=1)
    unconfirmed = ("반응은 시험자가 IMWG 기준으로 평가한 최량 전체 반응(best overall response)이며, 관찰 연구이므로 "
                   "확인 평가(confirmation)를 요구하지 않은 미확정 반응이다.")
    foot1 = [f"대상: 유효성 평가대상자 ({settings.analysis_sets.efficacy_ko}).", unconfirmed,
             f"신뢰구간: Clopper-Pearson 정확 {level_pct}% 신뢰구간.", _percent_note("EFFFL", settings)]
    out: list = [TableResult(output_ids[0], "최량 전체 반응 및 반응률 (유효성 평가대상자)", ard1, display, foot1,
                             section="efficacy")]

    # response by factor, then the multivariable model: the factors of the ADR factor analysis
    # (factors.factor_frame), at most one grouping per source variable, the settings' reference levels
    found = factor_frame(adsl, conv.groups, pop="EFFFL")
    frame = _with_responses(found.frame, adrs)
    levels = found.levels
    factors = [f for f in factors if f in found.factors] if factors is not None else list(found.factors)
    univariate = factor_tests(frame, factors, "RSP", fisher_expected_below=conv.fisher_expected_below, levels=levels)
    p_by_factor = dict(zip(univariate["factor"], univariate["p"]))
    selected, set_aside = one_per_source(select_factors(p_by_factor, conv.multivariable_entry_p), p_by_factor,
                                         SOURCES)
    model = (logistic_regression(frame, "RSP", selected, levels=levels, reference=found.reference,
                                 level=conv.ci_level) if selected else None)
    records = []
    for f, test in zip(factors, univariate.itertuples(index=False)):
        records.append(stat_row(output_ids[1], f, None, "p.value", test.p, analysis_set="EFFFL", context="factor_test",
                                stat_label=f"p-value ({test.test})"))
        valid = frame[~frame[f].isna() & frame["RSP"].notna()]
        for level in levels[f]:
            at = valid[valid[f].eq(level)]
            n, n_all = int(flagged(at["RSP"]).sum()), int(len(at))
            population = all_of(eq("EFFFL", "Y"), factor_clause(f, level, found.groupings),
                                has_records("ADRS", all_of(eq("PARAMCD", "RSP"), "AVALC is not missing")))
            responders = all_of(eq("EFFFL", "Y"), eq("PARAMCD", "RSP"), eq("AVALC", "Y"))
            kinds = {"n": definition("ADRS", responders, population, "subjects"),
                     "N": definition("ADSL", None, population, "population"),
                     "p": definition("ADRS", responders, population, "ratio")}
            for stat, value in (("n", n), ("N", n_all), ("p", n / n_all if n_all else None)):
                records.append(stat_row(output_ids[1], "RSP", "Y", stat, value, analysis_set="EFFFL", group1=f,
                                        group1_level=level, context="factor_rate",
                                        stat_label={"p": "%"}.get(stat, stat), **kinds[stat]))
    ard2 = rows_frame(records)
    rows, indent, bold = [], [], []
    tests = dict(zip(univariate["factor"], univariate["test_ko"]))
    for f in factors:
        look_f = ArdLookup(ard2[ard2["group1"].eq(f) | ard2["variable"].eq(f)])
        bold.append(len(rows))
        indent.append(0)
        rows.append([variable_label(f, settings), "", "", fmt.fmt_p(look_f("p.value", f)), tests[f]])
        for level in levels[f]:
            n, n_all = look_f("n", "RSP", "Y", group=level), look_f("N", "RSP", "Y", group=level)
            indent.append(1)
            rows.append(["", value_label(f, level), fmt.fmt_n_pct(n, n_all, digits, denominator=True), "", ""])
    display2 = pd.DataFrame(rows, columns=["요인", "구분", "반응자/대상자 (%)", "p-value", "검정"])
    display2.attrs.update(indent=indent, bold_rows=bold, label_columns=2)
    foot2 = [f"대상: 유효성 평가대상자. 반응: 최량 전체 반응이 {'+'.join(conv.response.responders)}인 경우.",
             f"검정: 기대빈도가 {fmt.fmt_num(conv.fisher_expected_below, 0)} 미만인 칸이 있으면 Fisher의 정확 검정"
             "(2×2 초과 표는 Freeman-Halton 확장), 그렇지 않으면 카이제곱 검정(연속성 수정 없음).",
             "요인 값이 결측인 대상자는 해당 요인의 검정에서 제외하였다. 백분율의 분모는 각 구분의 대상자 수이다.",
             f"요인과 구분은 {ko.ADR} 요인 분석과 같다(같은 요인 목록, 같은 구분)."]
    if "PRLINES" in found.groupings:
        pl = found.groupings["PRLINES"]
        foot2.append(f"이전 치료 차수 구분: {', '.join(ko.symbols(x) for x in pl.labels)} (경계 {', '.join(f'{c:g}' for c in pl.cuts)}; "
                     "경계값은 위 구간에 포함).")
    if found.ungrouped:
        foot2.append("구분 기준이 정해지지 않아 분석하지 않은 요인: "
                     f"{', '.join(variable_label(f, settings) for f in found.ungrouped)}.")
    out.append(TableResult(output_ids[1], "요인별 반응률 (유효성 평가대상자)", ard2, display2, foot2,
                           section="efficacy_factors"))
    out.append(_logistic_table(model, found, selected, set_aside, p_by_factor, settings, output_ids[2]))
    out.append(_response_figure(ard_bor, settings, output_ids[3]))
    return out


def _logistic_table(model, found: FactorFrame, selected: list[str], set_aside: dict[str, str],
                    p_by_factor: dict[str, float], settings, output_id: str) -> TableResult:
    """The logistic regression of response: per factor its reference level (참조), then each other level's
    odds ratio with its Wald interval and p-value."""
    conv = settings.conventions
    level_pct = fmt.fmt_num(conv.ci_level * 100, 0)
    entry = fmt.fmt_num(conv.multivariable_entry_p, 2)
    records = []
    rows = []
    for dropped, kept in set_aside.items():
        records.append(stat_row(output_id, dropped, None, "p.value", p_by_factor[dropped], analysis_set="EFFFL",
                                group2="entered_instead", group2_level=kept, context="logistic_set_aside"))
    if model is None:
        records.append(stat_row(output_id, "..model..", None, "factors_entered", 0, analysis_set="EFFFL",
                                context="logistic", stat_label="Factors entered"))
        rows.append([f"단변량 분석에서 p<{entry}인 요인이 없어 다변량 분석을 하지 않았다.", "", "", ""])
    else:
        records.append(stat_row(output_id, "..model..", None, "n_obs", model.n_obs, analysis_set="EFFFL",
                                context="logistic", stat_label="Subjects in the model"))
        records.append(stat_row(output_id, "..model..", None, "n_events", model.n_events, analysis_set="EFFFL",
                                context="logistic", stat_label="Responders in the model"))
        shown = set()
        for term in model.terms.itertuples(index=False):
            if term.factor not in shown:
                shown.add(term.factor)
                rows.append([variable_label(term.factor, settings), value_label(term.factor, term.reference),
                             ko.REFERENCE, ""])
            for stat, value in (("OR", term.odds_ratio), ("conf.low", term.ci_lower), ("conf.high", term.ci_upper),
                                ("conf.level", conv.ci_level), ("p.value", term.p)):
                records.append(stat_row(output_id, term.factor, term.level, stat, value, analysis_set="EFFFL",
                                        group2="reference", group2_level=term.reference, context="logistic",
                                        stat_label={"OR": "Odds ratio"}.get(stat)))
            rows.append(["", value_label(term.factor, term.level),
                         fmt.fmt_or_ci(term.odds_ratio, term.ci_lower, term.ci_upper, 2, estimable=bool(term.estimable)),
                         fmt.fmt_p(term.p) if term.estimable else "NE"])
    records.append(stat_row(output_id, "..model..", None, "conf.level", conv.ci_level, analysis_set="EFFFL",
                            context="logistic"))
    display = pd.DataFrame(rows, columns=["요인", "구분", f"{ko.ODDS_RATIO} ({level_pct}% 신뢰구간)", "p-value"])
    display.attrs.update(label_columns=2)
    foot = selection_notes(found, selected, set_aside, entry_p=conv.multivariable_entry_p,
                           name_of=lambda f: variable_label(f, settings), level_of=value_label, codes=False)
    if model is None:  # one note, no definitions of a model that was not fitted
        return TableResult(output_id, "반응에 영향을 미치는 요인: 다변량 로지스틱 회귀분석", rows_frame(records), display,
                           foot, section="efficacy_factors")
    foot += ["대상: 유효성 평가대상자 중 투입 요인이 모두 있는 대상자.",
             f"{ko.ODDS_RATIO} > 1: 반응 가능성이 기준 수준보다 높음. 신뢰구간과 p-value는 Wald 방법.",
             "NE: 분리(separation) 등으로 추정할 수 없음."]
    if model is not None:
        foot.insert(len(foot) - 2, f"모형에 포함된 대상자 {fmt.fmt_count(model.n_obs)}명, "
                                   f"반응자 {fmt.fmt_count(model.n_events)}명.")
        if model.note:
            foot.append(f"참고: {model.note}")
    return TableResult(output_id, "반응에 영향을 미치는 요인: 다변량 로지스틱 회귀분석", rows_frame(records), display,
                       foot, section="efficacy_factors")


def _response_figure(ard_bor: pd.DataFrame, settings, output_id: str) -> FigureResult:
    """Horizontal bars of the best overall response, one per level in the table's order and with its
    Korean name as in the table, at the page's text width (the labels print at their point size)."""
    import matplotlib

    from .docx import figure_png
    from .fonts import korean_rc
    from .tables_safety import FIGURE_WIDTH_IN, _new_figure

    digits = _digits(settings)
    look = ArdLookup(ard_bor)
    levels = [lv for lv in pd.unique(ard_bor["variable_level"])]
    n = [int(look("n", "BOR", lv) or 0) for lv in levels]
    N = int(look("N", "BOR", levels[0]) or 0) if levels else 0
    pct = [float(fmt.round_half_up(fmt.percent(k, N), digits)) if N else 0.0 for k in n]
    responders = set(settings.conventions.response.responders)
    with matplotlib.rc_context(korean_rc()):
        fig = _new_figure(FIGURE_WIDTH_IN, max(2.0, 0.3 * len(levels) + 0.9))
        ax = fig.add_subplot(1, 1, 1)
        y = list(range(len(levels), 0, -1))  # the table's first level on top
        ax.barh(y, pct, color=["#4a6fa5" if lv in responders else "#a5a5a5" for lv in levels], height=0.7)
        ax.set_yticks(y)
        ax.set_yticklabels([RESPONSE_KO.get(lv, "결측" if lv == "Missing" else str(lv)) for lv in levels], fontsize=9)
        ax.tick_params(axis="x", labelsize=9)
        top = max(pct + [1.0])
        for yy, k, p in zip(y, n, pct):
            ax.text(p + top * 0.01, yy, f"{fmt.fmt_num(p, digits)}% ({fmt.fmt_count(k)}/{fmt.fmt_count(N)})" if k
                    else "0", va="center", fontsize=8)
        ax.set_xlim(0, top * 1.25 + 0.1)
        ax.set_ylim(0.4, len(levels) + 0.6)
        ax.set_xlabel(f"대상자 비율(%, 분모: 유효성 평가대상자 N={fmt.fmt_count(N)})", fontsize=9)
        ax.spines[["top", "right"]].set_visible(False)
        png = figure_png(fig)
    members = "+".join(settings.conventions.response.responders)
    return FigureResult(output_id, "최량 전체 반응 분포", png, _set_output(ard_bor, output_id),
                        [f"진한 막대: 반응({members}), 회색 막대: 그 밖의 반응. 시험자가 IMWG 기준으로 평가한 "
                         "최량 전체 반응(미확정).",
                         f"백분율(%)의 분모는 유효성 평가대상자 수(N)이며, 소수점 {digits}자리까지 반올림(사사오입)하였다."],
                        section="efficacy")


# --------------------------------------------------------------------------- 11. listings

def _date_text(value) -> str:
    if value is None or is_missing(value):
        return ""
    if isinstance(value, str):
        return value[:10]
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float, np.integer, np.floating)):  # SAS date: days since 1960-01-01
        return (dt.date(1960, 1, 1) + dt.timedelta(days=int(value))).isoformat()
    return str(value)


def _subject_text(frame: pd.DataFrame) -> pd.Series:
    column = "SUBJID" if "SUBJID" in frame.columns else ID
    return frame[column].astype(object).map(lambda v: "" if is_missing(v) else str(v))


def _age_sex(frame: pd.DataFrame) -> pd.Series:
    def one(age, sex):
        a = "" if is_missing(age) else _num_text(age)
        s = {"F": "여", "M": "남"}.get(sex, "" if is_missing(sex) else str(sex))
        return f"{a}/{s}"
    return pd.Series([one(a, s) for a, s in zip(frame["AGE"], frame["SEX"])], index=frame.index, dtype=object)


def _with_subject_vars(events: pd.DataFrame, adsl: pd.DataFrame, variables: Sequence[str]) -> pd.DataFrame:
    """Subject-level values (age, sex, ...) taken from ADSL where the event record lacks them."""
    events = events.copy()
    for var in variables:
        if var not in adsl.columns:
            continue
        mapped = events[ID].map(dict(zip(adsl[ID], adsl[var])))
        events[var] = events[var].where(~events[var].isna(), mapped) if var in events.columns else mapped
    return events


def _causality_ko(settings) -> dict:
    return {c.code: c.label_ko for c in settings.conventions.causality}


LISTING_COLUMNS = [("대상자 번호", 22), ("연령/성별", 16), (ko.PT_ABBR, 40), ("발현일", 20), ("종료일", 20),
                   ("중대성 기준", 40), ("인과관계", 22), ("결과", 24), ("이 약 조치", 22)]


def _event_listing(events: pd.DataFrame, adsl: pd.DataFrame, *, settings, output_id: str, title: str,
                   footnotes: list[str], analysis_set: str = "SAFFL",
                   extra: Sequence[tuple[str, float, Callable]] = (), where: str | None = None,
                   subjects: dict | None = None, terms=None) -> TableResult:
    """One row per event: subject, age/sex, PT, onset and end, seriousness criteria, causality, outcome, action.

    `where`: the ADAE filter of the listed events (their analysis definition); `subjects`: the
    definition of the subjects listed when they are not those of the events (deaths)."""
    events = _with_subject_vars(events, adsl, ["SUBJID", "AGE", "SEX"])
    sort = [c for c in (ID, "ASTDT", "AESEQ") if c in events.columns]
    events = events.sort_values(sort, kind="mergesort", na_position="last").reset_index(drop=True)
    causality = _causality_ko(settings)

    def text(value, mapping=None):
        if is_missing(value):
            return ""
        return mapping.get(value, str(value)) if mapping else str(value)

    rows = []
    for r in events.to_dict("records"):
        start = _date_text(r.get("AESTDTC") if not is_missing(r.get("AESTDTC")) else r.get("ASTDT"))
        end = _date_text(r.get("AEENDTC") if not is_missing(r.get("AEENDTC")) else r.get("AENDT"))
        if not end and r.get("AEENRTPT") == "ONGOING":
            end = "지속"
        age = "" if is_missing(r.get("AGE")) else _num_text(r.get("AGE"))
        sex = {"F": "여", "M": "남"}.get(r.get("SEX"), text(r.get("SEX")))
        subject = text(r.get("SUBJID")) or text(r.get(ID))
        criteria = "; ".join(ko for var, ko in SERIOUS_CRITERIA_KO.items() if r.get(var) == "Y")
        pt = text(r.get("AEDECOD"))
        rows.append([subject, f"{age}/{sex}", terms(pt) if terms is not None and pt else pt, start, end, criteria,
                     text(r.get("AEREL"), causality), text(r.get("AEOUT"), OUTCOME_KO), text(r.get("AEACN"), ACTION_KO)]
                    + [make(r) for _, _, make in extra])
    columns = [name for name, _ in LISTING_COLUMNS] + [name for name, _, _ in extra]
    n_subjects = int(events[ID].nunique()) if len(events) else 0
    population = eq(analysis_set, "Y") if analysis_set else None
    listed = definition("ADAE", where, population, "records") if where is not None else definition(None, None, None, "none")
    records = [
        stat_row(output_id, "..events..", None, "events", int(len(events)), analysis_set=analysis_set,
                 context="listing", stat_label="Records listed", **listed),
        stat_row(output_id, "..events..", None, "n", n_subjects, analysis_set=analysis_set, context="listing",
                 stat_label="Subjects listed",
                 **(subjects or ({**listed, "counts": "subjects"} if where is not None else listed))),
    ]
    if not rows:
        rows = [["해당 사례 없음"] + [""] * (len(columns) - 1)]
    display = pd.DataFrame(rows, columns=columns, dtype=object)
    display.attrs.update(label_columns=len(columns), listing_rows=int(len(events)))
    footnotes = list(footnotes) + [
        f"MedDRA 버전 {settings.dictionaries.meddra_version}. 날짜는 수집된 그대로(부분 날짜 포함) 표시하였다.",
        f"표시된 사례 {fmt.fmt_count(len(events))}건, 대상자 {fmt.fmt_count(n_subjects)}명."]
    return TableResult(output_id, title, rows_frame(records), display, footnotes, landscape=True, kind="listing",
                       section="listings")


def _safety_events(adae: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    require_columns(adae, [ID, "AEDECOD"], "ADAE")
    safety = set(adsl.loc[flagged(adsl["SAFFL"]), ID])
    events = adae[adae[ID].isin(safety)]
    if "TRTEMFL" in events.columns:
        events = events[flagged(events["TRTEMFL"])]
    return events


def _te_note(settings) -> str:
    return (f"안전성 평가대상자의 {ko.TREATMENT_EMERGENT} {ko.AE}(첫 투여일부터 마지막 투여 후 "
            f"{settings.conventions.treatment_emergent_days}일까지 발현).")


def listings(adsl: pd.DataFrame, adae: pd.DataFrame, *, settings,
             output_ids: tuple[str, str, str] = ("L-SAE-01", "L-DTH-01", "L-USADR-01"), terms=None) -> list[TableResult]:
    """Line listings: serious AEs, deaths, unexpected serious ADRs (one row per event)."""
    require_columns(adae, [ID, "AEDECOD", "AESER"], "ADAE")
    events = _safety_events(adae, adsl)
    adr_codes = ", ".join(c.label_ko for c in settings.conventions.causality
                          if c.code in settings.conventions.adr_causality)
    unexpected = [(ko.UNEXPECTED, 16, lambda r: ko.YES_NO["Y"] if r.get("UNEXPFL") == "Y" else ko.YES_NO["N"])]
    te = eq("TRTEMFL", "Y") if "TRTEMFL" in adae.columns else None
    out = [_event_listing(events[flagged(events["AESER"])], adsl, settings=settings, output_id=output_ids[0],
                          title=f"{ko.SAE} 목록", footnotes=[_te_note(settings)],
                          extra=unexpected if "UNEXPFL" in events.columns else (), where=all_of(te, eq("AESER", "Y")),
                          terms=terms)]

    # Deaths: fatal events of the safety set (whatever the onset), and deaths without a fatal event.
    safety = adsl[flagged(adsl["SAFFL"])]
    all_events = adae[adae[ID].isin(set(safety[ID]))]
    fatal = all_events[_fatal_mask(all_events)]
    dead = safety[flagged(safety["DTHFL"])] if "DTHFL" in safety.columns else safety.iloc[0:0]
    without = dead[~dead[ID].isin(set(fatal[ID]))]
    filler = pd.DataFrame({ID: without[ID], "AEDECOD": f"(사망 관련 {ko.AE} 없음)"})
    deaths = pd.concat([fatal, filler], ignore_index=True) if len(filler) else fatal
    dth_dates = dict(zip(dead[ID], dead["DTHDT"])) if "DTHDT" in dead.columns else {}
    reasons = dict(zip(dead[ID], dead["DCSREASP"])) if "DCSREASP" in dead.columns else {}
    fatal_where = " or ".join(f"{v} = 'Y'" for v in ("FATALFL", "AESDTH") if v in adae.columns)
    fatal_where = " or ".join(p for p in (fatal_where, "AEOUT = 'FATAL'" if "AEOUT" in adae.columns else "") if p)
    died = " or ".join(p for p in ("DTHFL = 'Y'" if "DTHFL" in adsl.columns else "",
                                   has_records("ADAE", fatal_where) if fatal_where else "") if p)
    out.append(_event_listing(deaths, adsl, settings=settings, output_id=output_ids[1], title="사망 사례 목록",
                              subjects=definition("ADSL", died, eq("SAFFL", "Y"), "subjects") if died else None,
                              footnotes=[f"안전성 평가대상자 중 사망한 대상자: 결과가 사망인 {ko.AE}(발현 시기와 무관), "
                                         f"사망 관련 {ko.AE}가 없는 사망은 한 줄로 표시하였다."],
                              extra=[("사망일", 20, lambda r: _date_text(dth_dates.get(r[ID]))),
                                     ("비고", 30, lambda r: "" if is_missing(reasons.get(r[ID]))
                                      else str(reasons.get(r[ID])))], terms=terms))

    cond = flagged(events["AESER"])
    for flag in ("ADRFL", "UNEXPFL"):
        require_columns(events, [flag], "ADAE")
        cond &= flagged(events[flag])
    out.append(_event_listing(events[cond], adsl, settings=settings, output_id=output_ids[2],
                              title=f"{ko.USADR} 목록",
                              where=all_of(te, eq("AESER", "Y"), eq("ADRFL", "Y"), eq("UNEXPFL", "Y")),
                              footnotes=[_te_note(settings),
                                         f"{ko.ADR}: 인과관계가 {adr_codes}인 {ko.AE}(인과관계를 배제할 수 없음).",
                                         f"{ko.UNEXPECTED}: {ko.UNEXPECTED_DEFINITION}."], terms=terms))
    return out


def _fatal_mask(events: pd.DataFrame) -> pd.Series:
    mask = pd.Series(False, index=events.index)
    for var in ("FATALFL", "AESDTH"):
        if var in events.columns:
            mask |= flagged(events[var])
    if "AEOUT" in events.columns:
        mask |= events["AEOUT"].eq("FATAL").fillna(False).astype(bool)
    return mask


# --------------------------------------------------------------------------- all base outputs

def base_results(adam: dict[str, pd.DataFrame], settings, *, terms=None) -> list[TableResult | FigureResult]:
    """Every base output of the report, in report order. `terms` (terms_ko.TermLabels): Korean names
    of the coded terms (MedDRA, ATC, WHODrug) the tables print."""
    needed = ["ADSL", "ADAE", "ADRS", "ADEX", "ADCM", "ADMH"]
    missing = [n for n in needed if n not in adam]
    if missing:
        raise SubError([Problem("ADaM", None, None, n, "dataset is missing") for n in missing],
                       f"the report needs ADaM {', '.join(missing)}")
    adsl = adam["ADSL"]
    out: list = []
    out.extend(disposition(adsl, settings=settings))
    by = "RECRTRT" if "RECRTRT" in adsl.columns else None
    out.append(demographics(adsl, by=by, pop="SAFFL", settings=settings, output_id="T-DEM-01",
                            title="인구학적 정보 및 기저 특성: 등록 경로별 (안전성 평가대상자)"))
    out.append(demographics(adsl, pop="EFFFL", settings=settings, output_id="T-DEM-02",
                            title="인구학적 정보 및 기저 특성 (유효성 평가대상자)"))
    out.append(exposure(adsl, adam["ADEX"], settings=settings, by=by))
    out.extend(medical_history(adsl, adam["ADMH"], settings=settings, terms=terms))
    out.append(medications(adsl, adam["ADCM"], settings=settings, terms=terms))
    out.extend(efficacy(adsl, adam["ADRS"], settings=settings))
    out.extend(listings(adsl, adam["ADAE"], settings=settings, terms=terms))
    return out


# --------------------------------------------------------------------------- registry (`sub tlf NAME`)

def _options(options) -> dict:
    """Keyword options from a mapping or an object: settings, by, denom_by, pop, total (absent: defaults)."""
    if options is None:
        return {}
    get = options.get if isinstance(options, Mapping) else (lambda k, d=None: getattr(options, k, d))
    return {k: get(k) for k in ("settings", "by", "denom_by", "pop", "total") if get(k, None) is not None}


def _registry_entry(name: str, run: Callable, allowed: Sequence[str]) -> None:
    def entry(adam: Mapping[str, pd.DataFrame], options=None):
        kwargs = {k: v for k, v in _options(options).items() if k in allowed}
        if "settings" not in kwargs and "settings" in allowed:
            kwargs["settings"] = None
        return run(adam, **kwargs)

    entry.__name__ = name
    entry.__doc__ = run.__doc__
    register(name)(entry)


_registry_entry("disposition", lambda adam, settings: disposition(adam["ADSL"], settings=settings), ["settings"])
_registry_entry("demographics", lambda adam, settings, by=None, denom_by=None, pop="SAFFL", total=True: demographics(
    adam["ADSL"], by=by, denom_by=denom_by, pop=pop, settings=settings, total=bool(total)),
    ["settings", "by", "denom_by", "pop", "total"])
_registry_entry("exposure", lambda adam, settings, by=None: exposure(adam["ADSL"], adam["ADEX"], settings=settings, by=by),
                ["settings", "by"])
_registry_entry("medical_history", lambda adam, settings: medical_history(adam["ADSL"], adam["ADMH"], settings=settings),
                ["settings"])
_registry_entry("medications", lambda adam, settings: medications(adam["ADSL"], adam["ADCM"], settings=settings),
                ["settings"])
_registry_entry("efficacy", lambda adam, settings: efficacy(adam["ADSL"], adam["ADRS"], settings=settings), ["settings"])
_registry_entry("listings", lambda adam, settings: listings(adam["ADSL"], adam["ADAE"], settings=settings), ["settings"])
