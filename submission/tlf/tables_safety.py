"""Safety tables of the MFDS re-examination report: overview, SOC/PT, severity, factors, special populations.

Report tables 5-9, figure 12 (ADR incidence by SOC) and the label-style summary sentences
(13). Every builder is ADaM in, `TableResult`/`FigureResult` out, and works on any ADaM with
the usual names:

- Population: ADSL subjects with `pop` = 'Y' (default SAFFL). Denominators always come from
  ADSL (grouped by `denom_by`, e.g. TRT01A), events from ADAE (grouped by `by`, e.g. TRTA);
  the default for this study is no grouping: one column for the whole safety set.
- Events: ADAE records with `subject_flag` = 'Y' (default TRTEMFL, treatment-emergent).
- Subsets (AE, ADR, SAE, serious ADR and the unexpected ones) are ADAE Y/N flags (ADRFL,
  AESER, UNEXPFL); a subset whose flag is missing from the data is left out and said so.
- Numbers: subjects n, denominator N, p = n/N and events (건) in the ARD at full precision;
  the display is made from the ARD rows only, percentages rounded half up to the study
  settings' decimals (`percent_decimals_table`, `percent_decimals_summary`).
- SOCs and PTs: descending subject count (all columns together), ties alphabetical.

Study conventions (CI level, Fisher threshold, entry p, ADR causality set, treatment-emergent
window, MedDRA version, groups and their reference levels, the children's age cut, the
re-examination period) come from `StudySettings`; with `settings=None` generic defaults are used
(for another study's ADaM). Korean terms come from `glossary`; every number shown is looked up
in the table's ARD (`ard_value`, `ArdLookup`), and a number missing there is an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..errors import Problem, SubError
from ..study import Grouping, StudySettings
from . import fmt
from . import glossary as ko
from ._frames import flagged, is_missing, only_columns, require_columns
from .ard import (
    _TOTAL,
    ANY_EVENT,
    STAT_LABELS,
    ArdLookup,
    _Population,
    ard_hierarchical,
    ard_incidence,
    ard_to_frame,
    ard_value,
    denominators,
    plain_value,
    rows_frame,
)
from .compare import footnote as comparison_footnote
from .compare import incidence_comparisons, p_column, p_text, resolve_level
from .factors import FACTORS, SOURCES, factor_clause, factor_frame, selection_notes
from .stats import (
    contingency_table,
    factor_test,
    logistic_regression,
    one_per_source,
    select_factors,
)
from .table import FigureResult, TableResult, register
from .terms_ko import TermLabels
from .where import Source, all_of, definition, eq
from .where import worst as worst_clause

# Report sections (the keys of report.RESULT_SECTIONS).
SECTION = "safety"
SPECIAL_SECTION = "special_populations"
FACTORS_SECTION = "safety_factors"
MISSING_KO = ko.MISSING
ALL_KO = ko.TOTAL
PT_INDENT = "  "


# --------------------------------------------------------------------------- conventions

@dataclass(frozen=True)
class Conventions:
    """The analysis conventions the safety tables read, from the study settings or generic defaults."""

    pct_table: int = 1
    pct_summary: int = 2
    ci_level: float = 0.95
    fisher_expected_below: float = 5.0
    entry_p: float = 0.05
    meddra_version: str | None = None
    adr_causality_ko: tuple[str, ...] = ()
    treatment_emergent_days: int | None = None
    long_term_use_days: int | None = None
    groups: Mapping[str, Grouping] = field(default_factory=dict)
    reexamination_years: int | None = None
    child_age_below: float = 19  # generic default (Korean convention); the study's is a setting
    drug_ko: str = "이 약"
    # The report's wording: definitions in words, never a variable name (the report), or with the
    # flags named (`sub tlf` on any ADaM, where a flag is all that is known of a definition).
    plain: bool = False
    # Korean names of MedDRA terms (terms_ko.TermLabels): English -> Korean; empty: English names.
    terms: TermLabels = field(default_factory=TermLabels)

    @classmethod
    def of(cls, settings: StudySettings | None, meddra_version: str | None = None, *, plain: bool = False,
           terms: TermLabels | None = None) -> Conventions:
        extra = {"plain": plain, **({"terms": terms} if terms is not None else {})}
        if settings is None:
            return cls(meddra_version=meddra_version, **extra)
        c = settings.conventions
        labels = {x.code: x.label_ko for x in c.causality}
        return cls(pct_table=c.percent_decimals_table, pct_summary=c.percent_decimals_summary, ci_level=c.ci_level,
                   fisher_expected_below=c.fisher_expected_below, entry_p=c.multivariable_entry_p,
                   meddra_version=meddra_version or settings.dictionaries.meddra_version,
                   adr_causality_ko=tuple(labels.get(code, code) for code in c.adr_causality),
                   treatment_emergent_days=c.treatment_emergent_days, long_term_use_days=c.long_term_use_days,
                   groups=dict(c.groups), reexamination_years=settings.dates.reexamination_period_years,
                   child_age_below=c.child_age_below, drug_ko=settings.study.drug_ko, **extra)

    def code(self, text: str) -> str:
        """`(text)` naming a variable or value for a programmer's table, nothing in the report's wording."""
        return "" if self.plain else f"({text})"

    def flag(self, var: str | None) -> str:
        """`(VAR='Y')` for a programmer's table, nothing in the report's wording."""
        return self.code(f"{var}='Y'") if var else ""

    def term(self, name) -> str:
        """A MedDRA term as printed in a table: its Korean name when the study gives one."""
        return self.terms(name)


def _conv(settings, meddra_version=None) -> Conventions:
    return settings if isinstance(settings, Conventions) else Conventions.of(settings, meddra_version)


# --------------------------------------------------------------------------- subsets

@dataclass(frozen=True)
class Subset:
    """A set of ADAE records: every flag in `flags` is 'Y'. `occ` is the first-occurrence flag prefix."""

    key: str             # the ARD variable of the subset's incidence row
    flags: tuple[str, ...]
    name_ko: str
    name_en: str
    occ: str | None = None  # e.g. "AR": AROCCFL / AROCCSFL / AROCCPFL

    @property
    def occ_flags(self) -> tuple[str, str, str] | None:
        if self.occ is None:
            return None
        return (f"{self.occ}OCCFL", f"{self.occ}OCCSFL", f"{self.occ}OCCPFL")


SUBSETS: dict[str, Subset] = {s.key: s for s in (
    Subset("AE", (), ko.AE, "Adverse events", "A"),
    Subset("ADR", ("ADRFL",), ko.ADR, "Adverse drug reactions", "AR"),
    Subset("SAE", ("AESER",), ko.SAE, "Serious adverse events", "SE"),
    Subset("SADR", ("ADRFL", "AESER"), ko.SADR, "Serious adverse drug reactions", "SR"),
    Subset("UAE", ("UNEXPFL",), ko.UAE, "Unexpected adverse events", "UE"),
    Subset("UADR", ("UNEXPFL", "ADRFL"), ko.UADR, "Unexpected adverse drug reactions", "UR"),
    Subset("USAE", ("UNEXPFL", "AESER"), ko.USAE, "Unexpected serious adverse events", "XE"),
    Subset("USADR", ("UNEXPFL", "ADRFL", "AESER"), ko.USADR, "Unexpected serious adverse drug reactions", "XR"),
    Subset("AEDISC", ("AEDISCFL",), ko.AE_DISCONTINUATION, "Adverse events leading to discontinuation"),
    Subset("FATAL", ("FATALFL",), ko.AE_FATAL, "Adverse events with fatal outcome"),
)}
SOC_PT_SUBSETS = ("AE", "ADR", "SAE", "SADR", "UAE", "UADR", "USAE", "USADR")
OVERVIEW_SUBSETS = (*SOC_PT_SUBSETS, "AEDISC", "FATAL")
# The subsets of the label sentences: MFDS's pattern (AE, ADR, SAE, SADR, unexpected AE and ADR)
# and the unexpected serious ADRs, which the re-examination addresses first (domain.md section 2).
SUMMARY_SUBSETS = ("AE", "ADR", "SAE", "SADR", "UAE", "UADR", "USADR")
SUMMARY_GROUP = "SUBSET"  # group1 of the summary sentences' PT rows: the subset whose sentence lists the PT

OUTPUT_IDS = {
    "overview": "T-05",
    **{f"soc_pt_{k}": f"T-06-{k}" for k in SOC_PT_SUBSETS},
    "severity": "T-07-SEV", "grade": "T-07-GRADE", "outcome": "T-07-OUT",
    "factors": "T-08-UNI", "multivariable": "T-08-MV", "forest": "F-08-FOREST",
    "special_summary": "T-09-00", "adr_soc_figure": "F-12-ADR-SOC", "summary": "T-13",
}


def _subset(subset: str | Subset) -> Subset:
    if isinstance(subset, Subset):
        return subset
    try:
        return SUBSETS[subset]
    except KeyError:
        raise ValueError(f"unknown subset {subset!r}; known: {', '.join(SUBSETS)}") from None


def _subset_where(subset: Subset) -> str:
    """The subset as an ADAE filter (its analysis definition, submission/tlf/where.py)."""
    return all_of(*(eq(flag, "Y") for flag in subset.flags))


def _subset_mask(adae: pd.DataFrame, subset: Subset) -> pd.Series:
    mask = pd.Series(True, index=adae.index)
    for flag in subset.flags:
        mask &= flagged(adae[flag])
    return mask


def _missing_flags(adae: pd.DataFrame, subset: Subset) -> list[str]:
    return [f for f in subset.flags if f not in adae.columns]


# --------------------------------------------------------------------------- shared helpers

@dataclass(frozen=True)
class _Columns:
    """Column grouping of a table: the event frame's variable, the ADSL variable and the level order."""

    by: str | None
    denom_by: str | None
    by_levels: list | None
    total: str | None


def _grouping(adsl: pd.DataFrame, pop: str | None, by: str | None, denom_by: str | None,
              by_levels: Sequence | None, total: str | None) -> _Columns:
    denom_by = denom_by or by
    if by_levels is None and denom_by is not None and denom_by in adsl.columns:
        # The ADSL numeric companion (TRT01AN for TRT01A) gives the arms their protocol order.
        code = f"{denom_by}N"
        pop_rows = adsl[flagged(adsl[pop])] if pop and pop in adsl.columns else adsl
        if code in adsl.columns and pd.api.types.is_numeric_dtype(adsl[code]):
            pairs = pop_rows[[denom_by, code]].dropna().drop_duplicates()
            if pairs[denom_by].is_unique:
                by_levels = list(pairs.sort_values([code, denom_by])[denom_by])
    return _Columns(by, denom_by, list(by_levels) if by_levels is not None else None, total)


def _denominators(adsl: pd.DataFrame, pop: str | None, g: _Columns, id_var: str) -> _Population:
    """The denominator groups of a table's columns (what an ARD builder computes from the same arguments)."""
    return denominators(only_columns(adsl, id_var, pop, g.denom_by), pop, g.denom_by, id_var=id_var,
                        by_levels=g.by_levels, total=g.total)


def _groups(adsl: pd.DataFrame, pop: str | None, g: _Columns, id_var: str,
            population: _Population | None = None) -> list[tuple[object, int]]:
    """(group1_level as in the ARD, N) per column, in column order."""
    if population is None:
        population = _denominators(adsl, pop, g, id_var)
    return [(g.total if grp.level is _TOTAL else grp.level, len(grp.subjects)) for grp in population.groups]


def _comparison_levels(g: _Columns, groups: list[tuple[object, int]], compare_to) -> tuple[object, list]:
    """(the reference level, the levels compared with it) of a table's columns; (None, []) without `compare_to`."""
    if compare_to is None:
        return None, []
    if g.by is None:
        raise SubError(Problem("sub tlf", None, "--compare-to", str(compare_to),
                               "a comparison needs a column grouping (--by)"))
    levels = [level for level, _ in groups if g.total is None or level != g.total]
    reference = resolve_level(levels, compare_to, variable=g.denom_by)
    return reference, [level for level in levels if level != reference]


def _header(level, N: int) -> str:
    return f"{ALL_KO} (N={fmt.fmt_count(N)})" if level is None else f"{level} (N={fmt.fmt_count(N)})"


def _key(value) -> tuple:
    """Alphabetical tie-break: case-insensitive, then exact."""
    text = "" if value is None else str(value)
    return (text.casefold(), text)


def _cell(n, N, events, digits: int) -> str:
    if N == 0:
        return ko.NOT_APPLICABLE
    return fmt.fmt_n_pct_events(int(n), int(N), int(events), digits, zero=ko.ZERO)


def _display(rows: list[dict]) -> pd.DataFrame:
    """The display frame; PT rows (first cell starting with PT_INDENT) lose the prefix and get
    indent level 1 in `attrs["indent"]`, which the Word writer turns into a paragraph indent."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    first = frame.columns[0]
    texts = [str(v) for v in frame[first]]
    frame.attrs["indent"] = [1 if t.startswith(PT_INDENT) else 0 for t in texts]
    frame[first] = [t[len(PT_INDENT):] if t.startswith(PT_INDENT) else t for t in texts]
    return frame


def _with_output_id(ard: pd.DataFrame, output_id: str) -> pd.DataFrame:
    ard = ard.copy()
    ard["output_id"] = output_id
    return ard


def _stats_rows(base: dict, stats: Mapping, defs: Mapping[str, dict] | None = None) -> list[dict]:
    """ARD rows of `stats` under `base`; `defs`: each statistic's analysis definition (where.definition)."""
    return [{**base, "stat_name": name, "stat_label": STAT_LABELS.get(name, name), "stat": _plain(value),
             **((defs or {}).get(name) or {})} for name, value in stats.items()]


def _coded(column: str, level, uncoded: str = "Uncoded") -> str:
    """`column = level`; the uncoded label stands for a missing term (or the label itself)."""
    return f"{column} is missing or {eq(column, level)}" if level == uncoded else eq(column, level)


def _count_defs(where: str, population: str, kinds: Mapping[str, str], source: str = "ADAE") -> dict:
    """{stat: definition} of a cell: numerator kinds on `where`, 'population' on the population."""
    return {stat: definition("ADSL" if kind == "population" else source, None if kind == "population" else where,
                             population, kind) for stat, kind in kinds.items()}


_CELL_KINDS = {"n": "subjects", "N": "population", "p": "ratio", "events": "records"}


_plain = plain_value


def _base(output_id: str, pop: str | None, group1: str | None, group1_level, variable: str, level, context: str,
          group2: str | None = None, group2_level=None, **extra) -> dict:
    return {"output_id": output_id, "analysis_set": pop, "group1": group1, "group1_level": group1_level,
            "group2": group2, "group2_level": group2_level, "variable": variable, "variable_level": level,
            "context": context, **extra}


# Analysis-set flags and their Korean names (the glossary's); another flag is named by itself.
POPULATION_KO = ko.POPULATIONS


def population_name(pop: str | None) -> str:
    return POPULATION_KO.get(pop, f"{pop}='Y'인 대상자") if pop else "ADSL의 전체 대상자"


def _footnotes(conv: Conventions, pop: str | None, subject_flag: str | None, groups: list[tuple[object, int]], *,
               subsets: Sequence[Subset] = (), counting: bool = True, meddra: bool = True) -> list[str]:
    notes = []
    if pop:
        ns = ", ".join(f"{_header(level, N)}" for level, N in groups)
        flag = conv.code(f"{pop}='Y'")
        notes.append(f"대상: {population_name(pop)}{flag}, {ns}. 백분율의 분모는 열 머리의 N이다.")
    else:
        notes.append(f"대상: ADSL의 전체 대상자, {', '.join(_header(lv, N) for lv, N in groups)}. 백분율의 분모는 열 머리의 N이다.")
    if counting:
        notes.append("n (%) [건]: 발현 대상자 수(백분율) [발현 건수]. 한 대상자에게 여러 번 발현한 경우 대상자는 한 번, 건수는 모두 센다.")
    if subject_flag and conv.plain:
        notes.append(f"{ko.TREATMENT_EMERGENT}(treatment-emergent): "
                     f"{ko.treatment_emergent_definition(conv.treatment_emergent_days)}.")
    elif subject_flag and conv.treatment_emergent_days is not None:
        window = f"이 약 첫 투여일부터 마지막 투여 후 {conv.treatment_emergent_days}일까지 발현한 사례"
        notes.append(f"{ko.TREATMENT_EMERGENT}(treatment-emergent, {subject_flag}='Y'): {window}.")
    elif subject_flag == "TRTEMFL":
        # Without the study's settings the window is whatever the ADaM's TRTEMFL says: name the flag only.
        notes.append(f"{ko.TREATMENT_EMERGENT}(treatment-emergent): ADAE의 {subject_flag}='Y'인 사례.")
    elif subject_flag:
        notes.append(f"집계한 사례: ADAE의 {subject_flag}='Y'인 사례.")
    flags = {f for s in subsets for f in s.flags}
    if "ADRFL" in flags:
        causality = ", ".join(conv.adr_causality_ko) if conv.adr_causality_ko else "인과관계를 배제할 수 없는 범주"
        adr_flag = conv.code("ADRFL='Y'")
        notes.append(f"{ko.ADR}{adr_flag}: 이 약과의 인과관계를 배제할 수 없는 {ko.AE}"
                     f"(인과관계 평가 {causality}; 인과관계 평가가 없는 경우 포함).")
    if "AESER" in flags:
        serious_flag = conv.code("AESER='Y'")
        notes.append(f"{ko.SERIOUS}{serious_flag}: 사망 또는 생명 위협, 입원 또는 입원 기간 연장, "
                     "지속적 또는 중대한 장애, 선천적 기형, 기타 의학적으로 중요한 상황.")
    if "UNEXPFL" in flags and conv.plain:
        notes.append(f"{ko.UNEXPECTED}: 현행 허가사항(사용상의 주의사항)에 기재되지 않은 {ko.PT_ABBR}.")
    elif "UNEXPFL" in flags:
        notes.append(f"{ko.UNEXPECTED}(UNEXPFL='Y'): 허가사항(허가사항 용어표)에 기재되지 않은 {ko.PT_ABBR}.")
    if meddra and conv.meddra_version:
        notes.append(f"MedDRA 버전 {conv.meddra_version}; {ko.SOC_DEFINITION}, {ko.PT_DEFINITION}.")
    elif meddra:
        notes.append(f"MedDRA(버전은 자료에 기재되지 않음); {ko.SOC_DEFINITION}, {ko.PT_DEFINITION}.")
    return notes


def _order_note(conv: Conventions, what: str) -> str:
    """How the SOCs and PTs are ordered; ties go by the English MedDRA name even when Korean is shown."""
    tie = "영문 용어명의 알파벳순" if conv.terms.names else "알파벳순"
    return f"{what}는 발현 대상자 수의 내림차순(같으면 {tie})으로 제시한다."


def _add_from_adsl(frame: pd.DataFrame, adsl: pd.DataFrame, var: str, values: pd.Series, id_var: str,
                   name: str) -> pd.DataFrame:
    """A copy of `frame` with column `name` = the subject's `values` (indexed like ADSL) looked up by id."""
    lookup = dict(zip(adsl[id_var], values))
    out = frame.copy(deep=False)
    out[name] = out[id_var].map(lookup)
    return out


# --------------------------------------------------------------------------- 5. safety overview

def safety_overview(adsl: pd.DataFrame, adae: pd.DataFrame, settings: StudySettings | Conventions | None = None, *,
                    by: str | None = None, denom_by: str | None = None, pop: str | None = "SAFFL",
                    subject_flag: str | None = "TRTEMFL", by_levels: Sequence | None = None, total: str | None = None,
                    subsets: Sequence[str] = OVERVIEW_SUBSETS, id_var: str = "USUBJID",
                    output_id: str = OUTPUT_IDS["overview"], compare_to=None, test: str = "fisher") -> TableResult:
    """Subjects with AEs, ADRs, SAEs, serious ADRs, the unexpected ones, AEs leading to discontinuation
    and fatal AEs: n (%) [events] with the exact (Clopper-Pearson) CI at `ci_level`, per column.
    `compare_to` (a level of `denom_by`): a p-value column per other level (`compare.incidence_comparisons`)."""
    conv = _conv(settings)
    g = _grouping(adsl, pop, by, denom_by, by_levels, total)
    population = _denominators(adsl, pop, g, id_var)  # every row's denominators
    groups = _groups(adsl, pop, g, id_var, population)
    subjects = only_columns(adsl, id_var, pop, g.denom_by)
    records = only_columns(adae, id_var, g.by, subject_flag, pop)
    parts, shown, absent = [], [], []
    for key in subsets:
        subset = _subset(key)
        missing = _missing_flags(adae, subset)
        if missing:
            absent.append(f"{subset.name_ko}({', '.join(missing)} 없음)")
            continue
        column = f"__{subset.key}__"
        work = records.assign(**{column: np.where(_subset_mask(adae, subset), "Y", "N")})
        parts.append(ard_incidence(work, subjects, g.by, flag=column, subject_flag=subject_flag, pop_flag=pop,
                                   denom_by=g.denom_by, by_levels=g.by_levels, total=g.total, ci_level=conv.ci_level,
                                   variable=subset.key, id_var=id_var, output_id=output_id, population=population,
                                   source=Source("ADAE", _subset_where(subset), levels={column: None})))
        shown.append(subset)
    ard = ard_to_frame(*parts) if parts else ard_to_frame()
    reference, compared = _comparison_levels(g, groups, compare_to)
    if compared and parts:
        ard = ard_to_frame(ard, incidence_comparisons(ard, reference, test=test, levels=compared))

    ci_name = f"{fmt.fmt_num(conv.ci_level * 100, 0)}% CI"
    rows = []
    for subset in shown:
        row = {"구분": subset.name_ko}
        for level, N in groups:
            where = dict(variable=subset.key, group1_level=level)
            n, events = ard_value(ard, "n", **where), ard_value(ard, "events", **where)
            row[f"{_header(level, N)}\nn (%) [건]"] = _cell(n, N, events, conv.pct_table)
            low, high = ard_value(ard, "conf.low", **where), ard_value(ard, "conf.high", **where)
            row[f"{_header(level, N)}\n{ci_name}"] = fmt.fmt_ci_pct(low, high, conv.pct_table)
        for level in compared:
            row[p_column(level, reference)] = p_text(ard_value(ard, "p.value", variable=subset.key,
                                                               group1_level=level))
        rows.append(row)
    display = pd.DataFrame(rows)
    notes = _footnotes(conv, pop, subject_flag, groups, subsets=shown)
    notes.append(f"{ci_name}: 발현율의 Clopper-Pearson 정확 신뢰구간(%).")
    if compared:
        notes.append(comparison_footnote(reference, test))
    if "FATAL" in [s.key for s in shown] and conv.plain:
        notes.append(f"{ko.AE_FATAL}: {ko.FATAL_DEFINITION}.")
    elif "FATAL" in [s.key for s in shown]:
        notes.append(f"{ko.AE_FATAL}(FATALFL='Y'): 결과가 사망(AEOUT='FATAL')이거나 사망을 초래한(AESDTH='Y') {ko.AE}.")
    if "AEDISC" in [s.key for s in shown] and conv.plain:
        notes.append(f"{ko.AE_DISCONTINUATION}: {ko.DISCONTINUATION_DEFINITION}.")
    elif "AEDISC" in [s.key for s in shown]:
        notes.append(f"{ko.AE_DISCONTINUATION}(AEDISCFL='Y'): {ko.AE}로 이 약의 투여를 영구 중단한 경우"
                     "(AEACN='DRUG WITHDRAWN').")
    if absent:
        notes.append("자료에 해당 변수가 없어 제시하지 않음: " + "; ".join(absent) + ".")
    title = f"{ko.AE} 및 {ko.ADR}" if "ADR" in [s.key for s in shown] else ko.AE  # no ADR title without ADRFL
    return TableResult(output_id, f"{title} 발현 현황 요약", ard, display, notes,
                       landscape=len(groups) > 2, section=SECTION)


# --------------------------------------------------------------------------- 6. by SOC and PT

def _rank_soc_pt(ard: pd.DataFrame, soc_var: str, pt_var: str, total: str | None) -> tuple[list, dict]:
    """SOCs and, per SOC, PTs in descending subject count (pooled over the columns), ties alphabetical."""
    n = ard[ard["stat_name"].eq("n")]
    if total is not None and n["group1_level"].eq(total).any():
        n = n[n["group1_level"].eq(total)]

    def counts(frame: pd.DataFrame, keys: list[str]) -> dict:
        return {k: int(v) for k, v in frame.groupby(keys, dropna=False, sort=False)["stat"].sum().items()}

    socs = counts(n[n["variable"].eq(soc_var)], ["variable_level"])
    pts = counts(n[n["variable"].eq(pt_var)], ["group2_level", "variable_level"])
    return _rank(socs, pts)


def _rank(socs: Mapping, pts: Mapping) -> tuple[list, dict]:
    """SOCs ({SOC: subjects}) and per SOC its PTs ({(SOC, PT): subjects}) in descending count, ties alphabetical."""
    order = sorted(socs, key=lambda s: (-socs[s], *_key(s)))
    children: dict = {}
    for (soc, pt), count in pts.items():
        children.setdefault(soc, []).append((pt, count))
    return order, {soc: [pt for pt, c in sorted(v, key=lambda x: (-x[1], *_key(x[0])))] for soc, v in children.items()}


def _order_hierarchical(ard: pd.DataFrame, soc_order: list, pt_order: dict, soc_var: str, pt_var: str) -> pd.DataFrame:
    """ARD rows in table order: per column, the any row, then each SOC followed by its PTs."""
    if ard.empty:
        return ard
    rank: dict = {(ANY_EVENT, None, None): 0}
    for soc in soc_order:
        rank[(soc_var, soc, None)] = len(rank)
        for pt in pt_order.get(soc, []):
            rank[(pt_var, pt, soc)] = len(rank)
    groups = list(dict.fromkeys(ard["group1_level"]))

    def key(row) -> tuple:
        level = None if is_missing(row.variable_level) else row.variable_level
        parent = None if is_missing(row.group2_level) else row.group2_level
        return (groups.index(row.group1_level), rank[(row.variable, level, parent)])

    keys = [key(r) for r in ard.itertuples(index=False)]
    order = sorted(range(len(ard)), key=lambda i: keys[i])  # stable: the stats keep their order within a row
    return ard.iloc[order].reset_index(drop=True)


def check_occurrence_flags(adae: pd.DataFrame, ard: pd.DataFrame, subset: Subset, *, pop_ids, pop: str | None,
                           soc_var: str = "AEBODSYS", pt_var: str = "AEDECOD", id_var: str = "USUBJID",
                           uncoded_label: str = "Uncoded", total: str | None = None) -> list[Problem]:
    """Do the ADAE first-occurrence flags (e.g. AROCCFL/AROCCSFL/AROCCPFL) count what the ARD counts?

    Each flag marks one record per subject (per SOC, per SOC and PT), so the flagged records of
    the population must equal the ARD's subject counts of the any row, every SOC and every PT.
    Returns the disagreements (empty when the flags are absent or agree).
    """
    flags = subset.occ_flags
    if flags is None or not all(f in adae.columns for f in flags):
        return []
    records = adae[adae[id_var].isin(pop_ids)]
    if pop and pop in records.columns:
        records = records[flagged(records[pop])]
    soc = records[soc_var].where(~records[soc_var].isna(), uncoded_label)
    pt = records[pt_var].where(~records[pt_var].isna(), uncoded_label)
    n = ard[ard["stat_name"].eq("n")]
    if total is not None and n["group1_level"].eq(total).any():
        n = n[n["group1_level"].eq(total)]  # the pooled column; otherwise the columns add up
    expected: dict = {}
    for row in n.itertuples(index=False):
        level = None if is_missing(row.variable_level) else row.variable_level
        parent = None if is_missing(row.group2_level) else row.group2_level
        k = (row.variable, level, parent)
        expected[k] = expected.get(k, 0) + int(row.stat)
    found: dict = {(ANY_EVENT, None, None): int(flagged(records[flags[0]]).sum())}
    for s in soc[flagged(records[flags[1]])]:
        found[(soc_var, s, None)] = found.get((soc_var, s, None), 0) + 1
    at = flagged(records[flags[2]])
    for s, p in zip(soc[at], pt[at]):
        found[(pt_var, p, s)] = found.get((pt_var, p, s), 0) + 1
    problems = []
    for k in sorted(set(expected) | set(found), key=lambda x: (str(x[0]), str(x[2]), str(x[1]))):
        e, f = expected.get(k, 0), found.get(k, 0)
        if e != f:
            flag = {ANY_EVENT: flags[0], soc_var: flags[1], pt_var: flags[2]}[k[0]]
            where = "any event" if k[0] == ANY_EVENT else (f"SOC {k[1]}" if k[0] == soc_var else f"SOC {k[2]}, PT {k[1]}")
            problems.append(Problem("ADAE", None, flag, str(f),
                                    f"{f} first-occurrence record(s) for {where}, but {e} subject(s) counted"))
    return problems


def ae_by_soc_pt(adsl: pd.DataFrame, adae: pd.DataFrame, settings: StudySettings | Conventions | None = None, *,
                 subset: str | Subset = "AE", by: str | None = None, denom_by: str | None = None,
                 pop: str | None = "SAFFL", subject_flag: str | None = "TRTEMFL", by_levels: Sequence | None = None,
                 total: str | None = None, soc_var: str = "AEBODSYS", pt_var: str = "AEDECOD",
                 check_occurrence: bool = True, id_var: str = "USUBJID",
                 output_id: str | None = None, compare_to=None, test: str = "fisher") -> TableResult:
    """Subjects n (%) [events] by SOC and PT for one subset (AE, ADR, SAE, SADR, UAE, UADR, USAE, USADR).

    Counts come from `ard_hierarchical`; when ADAE carries the subset's first-occurrence flags and
    events are the treatment-emergent ones, the flags are checked against those counts and any
    disagreement stops the build (the two derivations must tell the same story).
    `compare_to` (a level of `denom_by`): one p-value column per other level, every row
    (`compare.incidence_comparisons`, `test` "fisher" or "chisq").
    """
    conv = _conv(settings)
    subset = _subset(subset)
    output_id = output_id or f"T-06-{subset.key}"
    require_columns(adae, [*subset.flags, soc_var, pt_var], "ADAE")
    g = _grouping(adsl, pop, by, denom_by, by_levels, total)
    groups = _groups(adsl, pop, g, id_var)
    events = only_columns(adae, id_var, g.by, subject_flag, pop, soc_var, pt_var)[_subset_mask(adae, subset)]
    subjects = only_columns(adsl, id_var, pop, g.denom_by)
    ard = ard_hierarchical(events, subjects, g.by, (soc_var, pt_var), subject_flag, pop, denom_by=g.denom_by,
                           by_levels=g.by_levels, total=g.total, id_var=id_var, output_id=output_id,
                           source=Source("ADAE", _subset_where(subset)))
    if check_occurrence and subject_flag == "TRTEMFL":
        population = denominators(subjects, pop, g.denom_by, id_var=id_var, by_levels=g.by_levels, total=None)
        problems = check_occurrence_flags(adae, ard, subset, pop_ids=population.ids, pop=pop, soc_var=soc_var,
                                          pt_var=pt_var, id_var=id_var, total=g.total)
        if problems:
            raise SubError(problems, f"ADAE first-occurrence flags of {subset.name_en} disagree with the subject counts")
    soc_order, pt_order = _rank_soc_pt(ard, soc_var, pt_var, g.total)
    ard = _order_hierarchical(ard, soc_order, pt_order, soc_var, pt_var)
    reference, compared = _comparison_levels(g, groups, compare_to)
    if compared:
        ard = ard_to_frame(ard, incidence_comparisons(ard, reference, test=test, levels=compared))

    look = ArdLookup(ard)

    def cells(variable, level, parent=None) -> dict:
        out = {}
        for glevel, N in groups:
            n = look("n", variable, level, glevel, parent)
            events = look("events", variable, level, glevel, parent)
            out[_header(glevel, N)] = _cell(n, N, events, conv.pct_table)
        for glevel in compared:
            out[p_column(glevel, reference)] = p_text(look("p.value", variable, level, glevel, parent))
        return out

    label = "SOC\n  PT"
    rows = [{label: f"{subset.name_ko} 발현 대상자", **cells(ANY_EVENT, None)}]
    for soc in soc_order:
        rows.append({label: conv.term(soc), **cells(soc_var, soc)})
        for pt in pt_order.get(soc, []):
            rows.append({label: PT_INDENT + conv.term(pt), **cells(pt_var, pt, soc)})
    notes = _footnotes(conv, pop, subject_flag, groups, subsets=[subset])
    notes.append(_order_note(conv, "SOC와 PT"))
    if compared:
        notes.append(comparison_footnote(reference, test))
    return TableResult(output_id, f"{ko.SOC_ABBR} 및 {ko.PT_ABBR}별 {subset.name_ko} 발현 현황", ard,
                       _display(rows), notes, landscape=len(groups) + len(compared) > 3, section=SECTION)


def ae_by_soc_pt_all(adsl: pd.DataFrame, adae: pd.DataFrame, settings=None, *, subsets: Sequence[str] = SOC_PT_SUBSETS,
                     **kwargs) -> list[TableResult]:
    """The SOC/PT table of each subset whose flags ADAE has (table 6: eight tables for this study)."""
    return [ae_by_soc_pt(adsl, adae, settings, subset=key, **kwargs) for key in subsets
            if not _missing_flags(adae, _subset(key))]


# --------------------------------------------------------------------------- 7. severity, grade, outcome

SEVERITY_LEVELS = ("MILD", "MODERATE", "SEVERE")
SEVERITY_KO = ko.SEVERITY
GRADE_LEVELS = ("1", "2", "3", "4", "5")
GRADE_KO = {g: f"Grade {g}" for g in GRADE_LEVELS}
OUTCOME_LEVELS = ("RECOVERED/RESOLVED", "RECOVERING/RESOLVING", "NOT RECOVERED/NOT RESOLVED",
                  "RECOVERED/RESOLVED WITH SEQUELAE", "FATAL", "UNKNOWN")
OUTCOME_KO = ko.OUTCOME


def _level_text(value) -> str | None:
    """Grades stored as numbers (3.0) or text ("3") compare as the same level."""
    if is_missing(value):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _by_level(adsl: pd.DataFrame, adae: pd.DataFrame, conv: Conventions, *, subset: Subset, var: str,
              levels: Sequence[str], level_labels: Mapping[str, str], worst: bool, missing_label: str,
              missing_worst: bool = True,
              by, denom_by, pop, subject_flag, by_levels, total, soc_var, pt_var, id_var, output_id, title,
              what: str, context: str) -> TableResult:
    require_columns(adae, [id_var, var, *subset.flags, soc_var, pt_var, subject_flag, by], "ADAE")
    g = _grouping(adsl, pop, by, denom_by, by_levels, total)
    population = _denominators(adsl, pop, g, id_var)
    keep = adae[id_var].isin(population.ids) & _subset_mask(adae, subset)
    if pop and pop in adae.columns:
        keep &= flagged(adae[pop])
    if subject_flag:
        keep &= flagged(adae[subject_flag])
    data = only_columns(adae, id_var, g.by, var, soc_var, pt_var)[keep]
    data["__level__"] = data[var].map(_level_text)
    known = [str(x) for x in levels]
    extra = sorted({v for v in data["__level__"] if not is_missing(v) and v not in known}, key=_key)
    order = known + extra
    has_missing = data["__level__"].isna().any()
    if has_missing:
        order = order + [missing_label]
        data["__level__"] = data["__level__"].fillna(missing_label)
    rank = {lv: i for i, lv in enumerate(order)}
    if has_missing and not missing_worst:
        rank[missing_label] = -1  # counted there only when the subject has no graded event in the row
    as_value = {lv: (None if has_missing and lv == missing_label else lv) for lv in order}
    worst_order = [as_value[lv] for lv in sorted(order, key=rank.__getitem__)]
    for col in (soc_var, pt_var):
        data[col] = data[col].where(~data[col].isna(), "Uncoded")

    # Each column's counts in one grouped pass; the rows are ranked on them as `_rank_soc_pt` ranks an ARD.
    columns = []
    for grp, part in population.of(data, id_var, g.by, "ADAE"):
        columns.append((grp, _context_level_counts(part, soc_var=soc_var, pt_var=pt_var, id_var=id_var,
                                                   ranks=part["__level__"].map(rank).to_numpy(), worst=worst)))
    ranked = [c for grp, c in columns if grp.level is _TOTAL] or [c for _, c in columns]
    soc_order, pt_order = _rank_counts(ranked, soc_var, pt_var)
    contexts: list[tuple[str, object, object]] = [(ANY_EVENT, None, None)]
    for soc in soc_order:
        contexts.append((soc_var, soc, None))
        contexts.extend((pt_var, pt, soc) for pt in pt_order.get(soc, []))

    rows, groups = [], []
    for grp, counts in columns:
        glevel = g.total if grp.level is _TOTAL else grp.level
        N = len(grp.subjects)
        groups.append((glevel, N))
        for kind, level, parent in contexts:
            if kind == ANY_EVENT:
                g2 = dict(group2=None, group2_level=None, group3=None, group3_level=None)
            elif kind == soc_var:
                g2 = dict(group2=soc_var, group2_level=level, group3=None, group3_level=None)
            else:
                g2 = dict(group2=soc_var, group2_level=parent, group3=pt_var, group3_level=level)
            base = dict(output_id=output_id, analysis_set=pop, group1=g.by if grp.level is not None else None,
                        group1_level=glevel, context=context, **g2)
            grouped = grp.level is not None and grp.level is not _TOTAL
            where = all_of(eq(subject_flag, "Y") if subject_flag else None,
                           eq(pop, "Y") if pop and pop in adae.columns else None, _subset_where(subset),
                           eq(g.by, grp.level) if grouped and g.by != g.denom_by else None,
                           _coded(soc_var, parent if kind == pt_var else level) if kind != ANY_EVENT else None,
                           _coded(pt_var, level) if kind == pt_var else None)
            population_where = all_of(eq(pop, "Y") if pop else None, eq(g.denom_by, grp.level) if grouped else None)
            row = (kind, level, parent)
            n_any = counts.subjects.get(row, 0)
            rows += _stats_rows({**base, "variable": ANY_EVENT, "variable_level": None},
                                {"n": n_any, "N": N, "p": n_any / N if N else None,
                                 "events": counts.records.get(row, 0)},
                                _count_defs(where, population_where, _CELL_KINDS))
            for lv in order:
                n = counts.level_subjects.get((row, rank[lv]), 0)
                at_level = all_of(where, eq(var, as_value[lv]))
                defs = _count_defs(at_level, population_where, _CELL_KINDS)
                if worst:
                    subjects = all_of(where, worst_clause(var, worst_order, as_value[lv]))
                    defs.update(_count_defs(subjects, population_where, {"n": "subjects", "p": "ratio"}))
                rows += _stats_rows({**base, "variable": var, "variable_level": lv},
                                    {"n": n, "N": N, "p": n / N if N else None,
                                     "events": counts.level_records.get((row, rank[lv]), 0)}, defs)
    ard = ard_to_frame(rows_frame(rows))

    look = ArdLookup(ard)

    def value(stat, glevel, variable, level, kind, ctx_level, parent):
        if kind == ANY_EVENT:
            return look(stat, variable, level, glevel)
        if kind == soc_var:
            return look(stat, variable, level, glevel, ctx_level)
        return look(stat, variable, level, glevel, parent, ctx_level)

    label = "SOC\n  PT"
    display_rows = []
    for kind, level, parent in contexts:
        text = (f"{subset.name_ko} 발현 대상자" if kind == ANY_EVENT
                else (conv.term(level) if kind == soc_var else PT_INDENT + conv.term(level)))
        row = {label: text}
        for glevel, N in groups:
            prefix = "" if len(groups) == 1 else f"{_header(glevel, N)}\n"
            for lv in order:
                row[f"{prefix}{level_labels.get(lv, lv)}"] = _cell(value("n", glevel, var, lv, kind, level, parent), N,
                                                                   value("events", glevel, var, lv, kind, level, parent),
                                                                   conv.pct_table)
            row[f"{prefix}계"] = _cell(value("n", glevel, ANY_EVENT, None, kind, level, parent), N,
                                      value("events", glevel, ANY_EVENT, None, kind, level, parent), conv.pct_table)
        display_rows.append(row)
    notes = _footnotes(conv, pop, subject_flag, groups, subsets=[subset])
    if worst:
        missing_rule = ("결측은 가장 심한 것으로 본다" if missing_worst
                        else f"'{missing_label}'에는 그 행의 모든 사례가 평가되지 않은 대상자만 센다")
        notes.append(f"대상자는 행(전체, SOC, PT)마다 가장 심한 {what}에서 한 번 센다({missing_rule}); "
                     "건수는 해당 열의 사례를 모두 센다.")
    else:
        notes.append(f"대상자는 해당 {what}의 사례가 하나 이상 있으면 그 열에서 센다(한 대상자가 여러 열에 포함될 수 있다); "
                     "건수는 모두 센다.")
    notes.append(_order_note(conv, "SOC와 PT"))
    return TableResult(output_id, title, ard, _display(display_rows), notes, landscape=True, section=SECTION)


@dataclass(frozen=True)
class _ContextCounts:
    """Counts of one column's records per table row, a row being (ANY_EVENT, None, None), (soc_var,
    SOC, None) or (pt_var, PT, SOC): subjects and records of the row, and per (row, level rank) the
    records and the subjects counted at that level."""

    subjects: dict
    records: dict
    level_records: dict
    level_subjects: dict


def _context_level_counts(part: pd.DataFrame, *, soc_var: str, pt_var: str, id_var: str, ranks: np.ndarray,
                          worst: bool) -> _ContextCounts:
    """One grouped pass over the records of a column instead of a mask per row and level.

    Each record belongs to the any row, its SOC's row and its (SOC, PT) row (the caller has named
    a missing term "Uncoded"). `ranks`: each record's level as its rank. With `worst`, a subject
    counts at the level of highest rank among their records of the row; otherwise at every level
    they have a record of.
    """
    soc_codes, socs = pd.factorize(part[soc_var])
    pt_codes, pts = pd.factorize(part[pt_var])
    if (soc_codes < 0).any() or (pt_codes < 0).any():
        raise ValueError(f"{soc_var} and {pt_var} must not be missing here")
    width = max(len(pts), 1)
    pair_codes, pairs = pd.factorize(soc_codes * width + pt_codes)
    keys = [(ANY_EVENT, None, None), *((soc_var, soc, None) for soc in socs),
            *((pt_var, pts[pair % width], socs[pair // width]) for pair in pairs)]
    records = pd.DataFrame({
        "context": np.concatenate([np.zeros(len(part), dtype=np.int64), 1 + soc_codes, 1 + len(socs) + pair_codes]),
        "subject": np.tile(pd.factorize(part[id_var])[0], 3), "rank": np.tile(np.asarray(ranks, dtype=np.int64), 3)})
    by_context = records.groupby("context")
    if worst:
        per_subject = records.groupby(["context", "subject"])["rank"].max().reset_index()
    else:
        per_subject = records.drop_duplicates()
    return _ContextCounts({keys[c]: int(v) for c, v in by_context["subject"].nunique().items()},
                          {keys[c]: int(v) for c, v in by_context.size().items()},
                          {(keys[c], int(r)): int(v) for (c, r), v in records.groupby(["context", "rank"]).size().items()},
                          {(keys[c], int(r)): int(v) for (c, r), v in per_subject.groupby(["context", "rank"]).size().items()})


def _rank_counts(columns: Sequence[_ContextCounts], soc_var: str, pt_var: str) -> tuple[list, dict]:
    """`_rank_soc_pt` on the subject counts of `_context_level_counts`, added over the columns given."""
    socs: dict = {}
    pts: dict = {}
    for counts in columns:
        for (kind, level, parent), n in counts.subjects.items():
            if kind == soc_var:
                socs[level] = socs.get(level, 0) + n
            elif kind == pt_var:
                pts[(parent, level)] = pts.get((parent, level), 0) + n
    return _rank(socs, pts)


def adr_by_severity(adsl, adae, settings=None, *, subset: str | Subset = "ADR", var: str = "ASEV",
                    levels: Sequence[str] = SEVERITY_LEVELS, by=None, denom_by=None, pop="SAFFL",
                    subject_flag="TRTEMFL", by_levels=None, total=None, soc_var="AEBODSYS", pt_var="AEDECOD",
                    id_var="USUBJID", output_id: str = OUTPUT_IDS["severity"]) -> TableResult:
    """ADRs by severity (ASEV): each subject at their worst severity per row; events all counted."""
    subset = _subset(subset)
    return _by_level(adsl, adae, _conv(settings), subset=subset, var=var, levels=levels, level_labels=SEVERITY_KO,
                     worst=True, missing_label=MISSING_KO, by=by, denom_by=denom_by, pop=pop,
                     subject_flag=subject_flag, by_levels=by_levels, total=total, soc_var=soc_var, pt_var=pt_var,
                     id_var=id_var, output_id=output_id, title=f"중증도별 {subset.name_ko} 발현 현황", what="중증도",
                     context="severity")


def adr_by_grade(adsl, adae, settings=None, *, subset: str | Subset = "ADR", var: str = "ATOXGR",
                 levels: Sequence[str] = GRADE_LEVELS, by=None, denom_by=None, pop="SAFFL", subject_flag="TRTEMFL",
                 by_levels=None, total=None, soc_var="AEBODSYS", pt_var="AEDECOD", id_var="USUBJID",
                 output_id: str = OUTPUT_IDS["grade"]) -> TableResult:
    """ADRs by CTCAE grade (ATOXGR): each subject at their worst grade per row; ungraded ranks as worst."""
    subset = _subset(subset)
    return _by_level(adsl, adae, _conv(settings), subset=subset, var=var, levels=levels, level_labels=GRADE_KO,
                     worst=True, missing_label="등급 미평가", missing_worst=False, by=by, denom_by=denom_by, pop=pop,
                     subject_flag=subject_flag, by_levels=by_levels, total=total, soc_var=soc_var, pt_var=pt_var,
                     id_var=id_var, output_id=output_id, title=f"CTCAE 등급별 {subset.name_ko} 발현 현황",
                     what="CTCAE 등급", context="grade")


def adr_by_outcome(adsl, adae, settings=None, *, subset: str | Subset = "ADR", var: str = "AEOUT",
                   levels: Sequence[str] = OUTCOME_LEVELS, by=None, denom_by=None, pop="SAFFL",
                   subject_flag="TRTEMFL", by_levels=None, total=None, soc_var="AEBODSYS", pt_var="AEDECOD",
                   id_var="USUBJID", output_id: str = OUTPUT_IDS["outcome"]) -> TableResult:
    """ADRs by outcome (AEOUT): subjects with at least one event of each outcome; events all counted."""
    subset = _subset(subset)
    return _by_level(adsl, adae, _conv(settings), subset=subset, var=var, levels=levels, level_labels=OUTCOME_KO,
                     worst=False, missing_label=MISSING_KO, by=by, denom_by=denom_by, pop=pop,
                     subject_flag=subject_flag, by_levels=by_levels, total=total, soc_var=soc_var, pt_var=pt_var,
                     id_var=id_var, output_id=output_id, title=f"결과별 {subset.name_ko} 발현 현황", what="결과",
                     context="outcome")


# --------------------------------------------------------------------------- 8. factors affecting ADR incidence

# The factors, their categories, level order and reference levels: `factors.factor_frame`, shared
# with the efficacy factor analysis (tables_base.efficacy).
# The factors' names and levels are the glossary's (the same words as the demographics table).
FACTOR_KO = {f: ko.variable_label(f) for f in FACTORS}
LEVEL_KO = ko.VALUES
YN_KO = ko.YES_NO
OUTCOME_COLUMN = "__ADR__"


def adr_factor_frame(adsl: pd.DataFrame, adae: pd.DataFrame, settings=None, *, factors: Sequence[str] = FACTORS,
                     outcome: str | Subset = "ADR", pop: str | None = "SAFFL", subject_flag: str | None = "TRTEMFL",
                     prior_lines: Grouping | None = None, id_var: str = "USUBJID"):
    """`factors.factor_frame` of the population plus the outcome column OUTCOME_COLUMN (Y: at least
    one qualifying ADR). PRLINES is grouped by `prior_lines`, else the settings' groups.PRLINESGR.
    Returns the `FactorFrame` (frame, factors, levels, reference levels, absent and ungrouped factors).
    """
    conv = _conv(settings)
    subset = _subset(outcome)
    groups = dict(conv.groups)
    if prior_lines is not None:
        groups["PRLINESGR"] = prior_lines
    require_columns(adae, [id_var, subject_flag, *subset.flags], "ADAE")
    found = factor_frame(adsl, groups, factors=factors, pop=pop, id_var=id_var)
    frame = found.frame.copy()
    events = adae[adae[id_var].isin(set(frame[id_var])) & _subset_mask(adae, subset)]
    if pop and pop in events.columns:
        events = events[flagged(events[pop])]
    if subject_flag:
        events = events[flagged(events[subject_flag])]
    with_event = set(events[id_var])
    frame[OUTCOME_COLUMN] = ["Y" if s in with_event else "N" for s in frame[id_var]]
    return replace(found, frame=frame)


def _factor_name(name: str, conv: Conventions) -> str:
    return ko.variable_label(name, conv)


def _level_label(factor: str, level) -> str:
    return ko.value_label(factor, level)


def adr_factor_analysis(adsl: pd.DataFrame, adae: pd.DataFrame, settings=None, *, factors: Sequence[str] = FACTORS,
                        outcome: str | Subset = "ADR", pop: str | None = "SAFFL", subject_flag: str | None = "TRTEMFL",
                        prior_lines: Grouping | None = None, id_var: str = "USUBJID",
                        output_ids: tuple[str, str, str] = (OUTPUT_IDS["factors"], OUTPUT_IDS["multivariable"],
                                                            OUTPUT_IDS["forest"])
                        ) -> tuple[TableResult, TableResult, FigureResult]:
    """Factors affecting ADR incidence (table 8): univariate tests, multivariable logistic regression, forest plot.

    Univariate: incidence per level, Pearson chi-square, or Fisher's exact test when an expected
    count is below `fisher_expected_below` (the test is named per factor). Factors with p below
    `multivariable_entry_p` enter a logistic regression, at most one grouping per source variable
    (AGEGR1/AGEGR2: the smaller p); reference levels: the settings groupings' `reference`, else
    each factor's first level.
    """
    conv = _conv(settings)
    subset = _subset(outcome)
    found = adr_factor_frame(adsl, adae, conv, factors=factors, outcome=subset, pop=pop, subject_flag=subject_flag,
                             prior_lines=prior_lines, id_var=id_var)
    frame, levels = found.frame, found.levels
    present = list(found.factors)
    names = {f: _factor_name(f, conv) for f in present}
    uid, mid, fid = output_ids
    N_all = len(frame)
    rows, display = [], []
    p_by_factor: dict[str, float] = {}
    tests = {}
    with_outcome = all_of(eq(subject_flag, "Y") if subject_flag else None,
                          eq(pop, "Y") if pop and pop in adae.columns else None, _subset_where(subset))

    def level_defs(name, level) -> dict:
        population = all_of(eq(pop, "Y") if pop else None, factor_clause(name, level, found.groupings))
        return _count_defs(with_outcome, population, {"n": "subjects", "N": "population", "p": "ratio"})

    for name in present:
        table = contingency_table(frame, name, OUTCOME_COLUMN, levels=levels[name])
        result = factor_test(table.to_numpy(), fisher_expected_below=conv.fisher_expected_below)
        tests[name] = result
        p_by_factor[name] = result.p
        first = True
        for level, (n_event, n_none) in table.iterrows():
            N = int(n_event + n_none)
            base = _base(uid, pop, None, None, name, level, "factor_incidence")
            rows += _stats_rows(base, {"n": int(n_event), "N": N, "p": n_event / N if N else None},
                                level_defs(name, level))
            display.append({"요인": names[name] if first else "",
                            "수준": _level_label(name, level), "대상자 수": fmt.fmt_count(N),
                            f"{subset.name_ko} n (%)": (fmt.fmt_n_pct(int(n_event), N, conv.pct_table, zero=ko.ZERO)
                                                        if N else ko.ZERO),
                            "검정": result.test_ko if first else "", "p-value": fmt.fmt_p(result.p) if first else ""})
            first = False
        missing = frame[name].isna()
        if missing.any():
            n_miss = int(frame.loc[missing, OUTCOME_COLUMN].eq("Y").sum())
            N_miss = int(missing.sum())
            rows += _stats_rows(_base(uid, pop, None, None, name, MISSING_KO, "factor_incidence"),
                                {"n": n_miss, "N": N_miss, "p": n_miss / N_miss}, level_defs(name, None))
            display.append({"요인": "", "수준": f"{MISSING_KO}*", "대상자 수": fmt.fmt_count(N_miss),
                            f"{subset.name_ko} n (%)": fmt.fmt_n_pct(n_miss, N_miss, conv.pct_table, zero=ko.ZERO),
                            "검정": "", "p-value": ""})
        rows += _stats_rows(_base(uid, pop, None, None, name, None, "factor_test"),
                            {"p.value": result.p, "method": result.test, "method_ko": result.test_ko,
                             "statistic": result.statistic, "parameter": result.df,
                             "min_expected": result.min_expected, "n_tested": int(table.to_numpy().sum()),
                             "threshold": conv.fisher_expected_below, "note": result.note or None})
    uni_ard = ard_to_frame(rows_frame(rows)) if rows else ard_to_frame()
    tests_used = sorted({t.test_ko for t in tests.values()})
    window = f"{ko.TREATMENT_EMERGENT}{conv.flag(subject_flag)} " if subject_flag else ""
    uni_notes = [
        f"대상: {population_name(pop)}{conv.flag(pop)}, N={fmt.fmt_count(N_all)}. "
        "백분율의 분모는 각 수준의 대상자 수이다.",
        f"{subset.name_ko}: {window}{subset.name_ko}이 한 건 이상 있는 대상자.",
        f"검정: 카이제곱 검정(연속성 수정 없음); 기대빈도가 {conv.fisher_expected_below:g} 미만인 칸이 있으면 "
        "Fisher의 정확 검정(2×2보다 큰 표는 Freeman-Halton 확장). 요인마다 사용한 검정을 '검정' 열에 적는다"
        f"(이 표에서 사용: {', '.join(tests_used) or '없음'}).",
        f"* {MISSING_KO}: 해당 요인 값이 없는 대상자는 검정에서 제외했다.",
    ]
    if "PRLINES" in found.groupings:
        pl = found.groupings["PRLINES"]
        uni_notes.append(f"이전 치료 차수 구분: {', '.join(ko.symbols(x) for x in pl.labels)} (경계 {', '.join(f'{c:g}' for c in pl.cuts)}; "
                         "경계값은 위 구간에 포함).")
    if found.ungrouped and conv.plain:
        uni_notes.append("구분 기준이 정해지지 않아 분석하지 않은 요인: "
                         f"{', '.join(_factor_name(f, conv) for f in found.ungrouped)}.")
    elif found.ungrouped:
        uni_notes.append(f"구분 기준(study settings의 groups.PRLINESGR)이 없어 분석하지 않은 요인: "
                         f"{', '.join(found.ungrouped)}.")
    if found.absent:
        absent = ", ".join(_factor_name(f, conv) for f in found.absent) if conv.plain else ", ".join(found.absent)
        uni_notes.append(f"{'자료' if conv.plain else 'ADSL'}에 없어 분석하지 않은 요인: {absent}.")
    uni_display = pd.DataFrame(display)
    univariate = TableResult(uid, f"{subset.name_ko} 발현에 영향을 미치는 요인: 단변량 분석", uni_ard,
                             uni_display, uni_notes, section=FACTORS_SECTION)

    candidates = select_factors(p_by_factor, conv.entry_p)
    selected, set_aside = one_per_source(candidates, p_by_factor, SOURCES)
    model = (logistic_regression(frame, OUTCOME_COLUMN, selected, levels=levels, reference=found.reference,
                                 level=conv.ci_level) if selected else None)
    mrows = []
    mdisplay = []
    ci_name = f"{fmt.fmt_num(conv.ci_level * 100, 0)}% CI"
    or_column = f"OR ({ci_name})"
    model_base = _base(mid, pop, None, None, "..model..", None, "logistic")
    mrows += _stats_rows(model_base, {"entry_p": conv.entry_p, "n_factors": len(selected),
                                      "n_obs": model.n_obs if model else None,
                                      "n_events": model.n_events if model else None,
                                      "converged": model.converged if model else None,
                                      "status": model.status if model else "no factor entered",
                                      "note": (model.note or None) if model else None})
    for dropped, kept in set_aside.items():
        mrows += _stats_rows(_base(mid, pop, None, None, dropped, None, "logistic_set_aside"),
                             {"p.value": p_by_factor[dropped], "entered_instead": kept, "source": SOURCES[dropped]})
    if model is not None:
        shown_reference = set()
        for term in model.terms.itertuples(index=False):
            if term.factor not in shown_reference:
                shown_reference.add(term.factor)
                mdisplay.append({"요인": names.get(term.factor, term.factor),
                                 "수준": _level_label(term.factor, term.reference),
                                 or_column: ko.REFERENCE, "p-value": ""})
            base = _base(mid, pop, None, None, term.factor, term.level, "logistic")
            mrows += _stats_rows(base, {"reference": term.reference, "n": term.n, "events": term.events,
                                        "estimate": term.odds_ratio, "conf.low": term.ci_lower,
                                        "conf.high": term.ci_upper, "p.value": term.p, "coef": term.coef,
                                        "std.error": term.se, "estimable": bool(term.estimable),
                                        "conf.level": conv.ci_level})
            mdisplay.append({"요인": "", "수준": _level_label(term.factor, term.level),
                             or_column: fmt.fmt_or_ci(term.odds_ratio, term.ci_lower, term.ci_upper, 2,
                                                      estimable=bool(term.estimable)),
                             "p-value": fmt.fmt_p(term.p) if term.estimable else "NE"})
        for name, p in model.factor_p.items():
            mrows += _stats_rows(_base(mid, pop, None, None, name, None, "logistic_factor"), {"p.value": p})
    else:
        mdisplay.append({"요인": f"단변량 분석에서 p < {conv.entry_p:g}인 요인이 없어 다변량 분석을 하지 않았다.",
                         "수준": "", or_column: "", "p-value": ""})
    mv_ard = ard_to_frame(rows_frame(mrows))
    mv_notes = selection_notes(found, selected, set_aside, entry_p=conv.entry_p,
                               name_of=lambda f: names.get(f, f), level_of=_level_label, codes=not conv.plain)
    mv_notes.append(f"OR: {ko.ODDS_RATIO}, {ci_name}: Wald 신뢰구간, p-value: Wald 검정. "
                    "NE: 추정 불가(분리 또는 수렴 실패).")
    if model is not None:
        mv_notes.append(f"분석 대상: 모든 포함 요인 값이 있는 대상자 {fmt.fmt_count(model.n_obs)}명"
                        f"({subset.name_ko} 발현 {fmt.fmt_count(model.n_events)}명).")
        if model.note:
            mv_notes.append(f"참고: {model.note}.")
    multivariable = TableResult(mid, f"{subset.name_ko} 발현에 영향을 미치는 요인: 다변량 로지스틱 회귀분석", mv_ard,
                                pd.DataFrame(mdisplay), mv_notes, section=FACTORS_SECTION)
    figure = FigureResult(fid, f"{subset.name_ko} 발현에 영향을 미치는 요인: 오즈비(숲 그림)",
                          _forest_png(model, ci_name, names), _with_output_id(mv_ard, fid), list(mv_notes), section=FACTORS_SECTION)
    return univariate, multivariable, figure


def _korean_rc() -> dict:
    from .fonts import korean_rc

    return korean_rc()


FIGURE_WIDTH_IN = 170 / 25.4  # the text width of a portrait A4 page of the report


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _forest_png(model, ci_name: str, names: Mapping[str, str]) -> bytes:
    import matplotlib

    from .docx import figure_png

    with matplotlib.rc_context(_korean_rc()):
        terms = [] if model is None else [t for t in model.terms.itertuples(index=False)]
        fig = _new_figure(FIGURE_WIDTH_IN, max(2.0, 0.4 * len(terms) + 1.0))
        ax = fig.add_subplot(1, 1, 1)
        if not terms:
            ax.text(0.5, 0.5, "다변량 분석에 포함된 요인이 없음", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            return figure_png(fig)
        labels, y = [], []
        for i, t in enumerate(terms):
            pos = len(terms) - i
            y.append(pos)
            labels.append(f"{names.get(t.factor, t.factor)}: {_level_label(t.factor, t.level)} "
                          f"vs {_level_label(t.factor, t.reference)}")
            if t.estimable:
                ax.plot([t.ci_lower, t.ci_upper], [pos, pos], color="black", linewidth=1)
                ax.plot([t.odds_ratio], [pos], marker="s", color="black", markersize=5)
        estimable = [t for t in terms if t.estimable]
        if estimable:
            lo = min(t.ci_lower for t in estimable)
            hi = max(t.ci_upper for t in estimable)
            ax.set_xscale("log")
            left, right = min(lo, 1.0) / 1.5, max(hi, 1.0) * 1.5
            ax.set_xlim(left, right)
            from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

            ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if left <= t <= right]
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        for pos, t in zip(y, terms):
            if not t.estimable:
                ax.text(1.0, pos, "NE", ha="center", va="center")
        ax.axvline(1.0, color="grey", linestyle="--", linewidth=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels(labels)
        ax.set_ylim(0.5, len(terms) + 0.5)
        ax.set_xlabel(f"오즈비 ({ci_name}, 로그 척도)")
        return figure_png(fig)


# --------------------------------------------------------------------------- 9. special populations

@dataclass(frozen=True)
class SpecialPopulation:
    """A special population (domain.md section 2): the ADSL grouping and the level(s) that are 'special'."""

    key: str
    name_ko: str
    variable: str            # ADSL column, or the name given to a derived one (e.g. children)
    levels: tuple            # columns, in order
    special: tuple           # the levels that form the special population
    level_labels: Mapping = field(default_factory=dict)
    derive: object = None    # callable(adsl) -> Series of levels, when the variable is derived
    group1: str | None = None  # the ARD's group1 for a derived variable


def special_population_definitions(settings=None, *, child_age_below: float | None = None, age_var: str = "AGE",
                                   pregnancy_var: str | None = None) -> list[SpecialPopulation]:
    """The study's special populations: elderly (AGEGR1, AGEGR2), renal impairment (CRCLGR1), hepatic
    impairment (HEPIMPFL), long-term use (LTUSEFL), children (AGE < `child_age_below`, default the
    settings' conventions.child_age_below) and, when a pregnancy flag exists, pregnant women."""
    conv = _conv(settings)
    if child_age_below is None:
        child_age_below = conv.child_age_below
    out = []
    for name, key in (("AGEGR1", "ELDERLY1"), ("AGEGR2", "ELDERLY2")):
        grp = conv.groups.get(name)
        labels = tuple(grp.labels) if grp else ("<65", ">=65") if name == "AGEGR1" else ("<75", ">=75")
        cut = f"{grp.cuts[-1]:g}" if grp else ("65" if name == "AGEGR1" else "75")
        out.append(SpecialPopulation(key, f"고령자({cut}세 이상)", name, labels, (labels[-1],),
                                     {labels[-1]: f"{cut}세 이상", **{lv: f"{ko.symbols(lv)}세" for lv in labels[:-1]}}))
    grp = conv.groups.get("CRCLGR1")
    labels = tuple(grp.labels) if grp else ("<30", "30-<60", ">=60")
    dialysis = (grp.dialysis_label,) if grp and grp.dialysis_label else ()
    normal = labels[-1]
    out.append(SpecialPopulation("RENAL", "신장애 환자(크레아티닌 청소율 기준)", "CRCLGR1",
                                 (normal, *labels[-2::-1], *dialysis), (*labels[-2::-1], *dialysis),
                                 {**{lv: f"CrCl {ko.symbols(lv)} mL/min" for lv in labels}, **{d: "투석" for d in dialysis}}))
    out.append(SpecialPopulation("HEPATIC", "간장애 환자(간장애 병력)", "HEPIMPFL", ("N", "Y"), ("Y",),
                                 {"Y": "간장애 있음", "N": "간장애 없음"}))
    days = conv.long_term_use_days
    out.append(SpecialPopulation("LONGTERM", f"장기 투여자({days}일 이상)" if days else "장기 투여자", "LTUSEFL",
                                 ("N", "Y"), ("Y",), {"Y": f"{days}일 이상" if days else "장기 투여",
                                                      "N": f"{days}일 미만" if days else "장기 투여 아님"}))
    cut = f"{child_age_below:g}"
    below, above = f"<{cut}", f">={cut}"

    def children(adsl: pd.DataFrame) -> pd.Series:
        age = pd.to_numeric(adsl[age_var], errors="coerce")
        return pd.Series(np.where(age.isna(), None, np.where(age < child_age_below, below, above)),
                         index=adsl.index, dtype=object)

    out.append(SpecialPopulation("CHILDREN", f"소아({cut}세 미만)", "__CHILD__", (above, below), (below,),
                                 {below: f"{cut}세 미만", above: f"{cut}세 이상"}, derive=children, group1=age_var))
    if pregnancy_var:
        out.append(SpecialPopulation("PREGNANT", "임부", pregnancy_var, ("N", "Y"), ("Y",),
                                     {"Y": "임부", "N": "임부 아님"}))
    return out


PREGNANCY_NOTE = ("해당 없음: 이 조사의 자료(ADaM)에는 임신 여부를 기록한 변수가 없어 임부를 식별하거나 분석할 수 "
                  "없다(이 약은 임부에게 투여 금기).")
# The report's one sentence when the analysis data hold no pregnancy data (no table of 해당 없음). It says
# what the report knows: the ADaM has no such data (a study may collect them on its CRF and not yet
# map them to SDTM and ADaM).
PREGNANCY_NOT_COLLECTED = ("임부: 가임 여성 여부, 임신 검사, 조사 기간 중 임신과 그 결과가 분석 자료에 포함되어 있지 않아 "
                           "이 보고서에서는 임부에 대한 안전성을 평가하지 않았다(이 약은 임부에게 투여 금기).")


def special_population_table(adsl: pd.DataFrame, adae: pd.DataFrame, population: SpecialPopulation, settings=None, *,
                             pop: str | None = "SAFFL", subject_flag: str | None = "TRTEMFL",
                             pt_var: str = "AEDECOD", id_var: str = "USUBJID",
                             output_id: str | None = None) -> TableResult:
    """AE and ADR incidence per level of a special population, the test of ADR incidence between the
    levels (chi-square or Fisher), and ADRs by PT. A level without subjects reads '해당 없음'."""
    conv = _conv(settings)
    output_id = output_id or f"T-09-{population.key}"
    sp = population
    if sp.derive is not None:
        require_columns(adsl, [id_var, sp.group1], "ADSL")
        values = sp.derive(adsl)
    else:
        require_columns(adsl, [id_var, sp.variable], "ADSL")
        values = adsl[sp.variable].map(lambda v: None if is_missing(v) else _level_text(v))
    levels = list(sp.levels)
    extra = sorted({v for v in values if not is_missing(v) and v not in levels}, key=_key)
    levels += extra
    values = values.where(values.notna(), MISSING_KO) if values.isna().any() else values
    pop_mask = flagged(adsl[pop]) if pop else pd.Series(True, index=adsl.index)
    if (values[pop_mask] == MISSING_KO).any():
        levels.append(MISSING_KO)
    var = sp.variable
    work_adsl = only_columns(adsl, id_var, pop).assign(**{var: values})
    flags = [f for key in ("AE", "ADR") for f in SUBSETS[key].flags]
    work_ae = _add_from_adsl(only_columns(adae, id_var, subject_flag, pop, pt_var, *flags), adsl, var, values, id_var,
                             var)
    group1 = sp.group1 or var
    level_where = _special_level_where(sp, levels)
    per_level = denominators(work_adsl, pop, var, id_var=id_var, by_levels=levels)  # every row's denominators
    parts = []
    for key in ("AE", "ADR"):
        subset = SUBSETS[key]
        if _missing_flags(adae, subset):
            continue
        column = f"__{key}__"
        work_ae[column] = np.where(_subset_mask(work_ae, subset), "Y", "N")
        parts.append(ard_incidence(work_ae, work_adsl, var, flag=column, subject_flag=subject_flag, pop_flag=pop,
                                   by_levels=levels, ci_level=conv.ci_level, variable=key, id_var=id_var,
                                   output_id=output_id, population=per_level,
                                   source=Source("ADAE", _subset_where(subset), levels={column: None, var: level_where})))
    adr_ok = not _missing_flags(adae, SUBSETS["ADR"])
    test = None
    if adr_ok:
        ard_adr = parts[-1]
        counts = []
        for lv in levels:
            if lv == MISSING_KO:
                continue
            n = ard_value(ard_adr, "n", group1_level=lv)
            N = ard_value(ard_adr, "N", group1_level=lv)
            counts.append((n, N - n))
        test = factor_test(np.array(counts), fisher_expected_below=conv.fisher_expected_below)
        parts.append(rows_frame(_stats_rows(_base(output_id, pop, var, None, "ADR", None, "factor_test"),
                                              {"p.value": test.p, "method": test.test, "method_ko": test.test_ko,
                                               "statistic": test.statistic, "parameter": test.df,
                                               "min_expected": test.min_expected})))
        pt_events = work_ae[_subset_mask(work_ae, SUBSETS["ADR"])]
        pt_ard = ard_hierarchical(pt_events, work_adsl, var, (pt_var,), subject_flag, pop, by_levels=levels,
                                  id_var=id_var, output_id=output_id, population=per_level,
                                  source=Source("ADAE", _subset_where(SUBSETS["ADR"]), levels={var: level_where}))
        parts.append(pt_ard[~pt_ard["variable"].eq(ANY_EVENT)])
    ard = ard_to_frame(*parts)
    if group1 != var:
        ard["group1"] = ard["group1"].map(lambda g: group1 if g == var else g)

    groups = [(lv, int(ard_value(ard, "N", variable="AE", group1_level=lv))) for lv in levels] \
        if "AE" in set(ard["variable"]) else []
    labels = sp.level_labels

    def header(lv, N):
        return f"{labels.get(lv, lv)} (N={fmt.fmt_count(N)})"

    rows = []
    for key in ("AE", "ADR"):
        if key not in set(ard["variable"]):
            continue
        row = {"구분": SUBSETS[key].name_ko}
        for lv, N in groups:
            row[header(lv, N)] = _cell(ard_value(ard, "n", variable=key, group1_level=lv), N,
                                       ard_value(ard, "events", variable=key, group1_level=lv), conv.pct_table)
        rows.append(row)
    if test is not None:
        row = {"구분": f"{SUBSETS['ADR'].name_ko} p-value"}
        for i, (lv, N) in enumerate(groups):
            row[header(lv, N)] = f"{fmt.fmt_p(test.p)} ({test.test_ko})" if i == 0 else ""
        rows.append(row)
        pts = ard[ard["variable"].eq(pt_var) & ard["stat_name"].eq("n")]
        totals = pts.groupby("variable_level", sort=False)["stat"].sum()
        order = sorted(totals.index, key=lambda p: (-int(totals[p]), *_key(p)))
        if order:
            rows.append({"구분": f"{SUBSETS['ADR'].name_ko} (PT)", **{header(lv, N): "" for lv, N in groups}})
        look = ArdLookup(ard)
        for pt in order:
            row = {"구분": PT_INDENT + conv.term(pt)}
            for lv, N in groups:
                row[header(lv, N)] = _cell(look("n", pt_var, pt, lv), N, look("events", pt_var, pt, lv), conv.pct_table)
            rows.append(row)
        ard = _order_special(ard, levels, order, pt_var)
    notes = _footnotes(conv, pop, subject_flag, [(labels.get(lv, lv), N) for lv, N in groups],
                       subsets=[SUBSETS["ADR"]])
    if test is not None:
        notes.append(f"p-value: {SUBSETS['ADR'].name_ko} 발현율의 수준 간 비교, 카이제곱 검정 또는 기대빈도 "
                     f"{conv.fisher_expected_below:g} 미만 칸이 있으면 Fisher의 정확 검정({test.test_ko} 사용)"
                     + (f"; {MISSING_KO} 제외" if MISSING_KO in levels else "") + ".")
    notes.append(_order_note(conv, "PT"))
    empty = [labels.get(lv, lv) for lv, N in groups if lv in sp.special and N == 0]
    if empty:
        notes.append(f"{', '.join(empty)}: 해당 대상자가 등록되지 않았다(해당 없음).")
    if sp.derive is not None and conv.plain:
        notes.append(f"{sp.name_ko}: 연령 기준으로 구분.")
    elif sp.derive is not None:
        notes.append(f"{sp.name_ko}: {sp.group1} 기준으로 구분(기준 연령은 study settings의 "
                     "conventions.child_age_below).")
    return TableResult(output_id, f"특수 환자군: {sp.name_ko}", ard, _display(rows), notes,
                       landscape=len(groups) > 4, section=SPECIAL_SECTION)


def _special_level_where(sp: SpecialPopulation, levels: Sequence) -> dict:
    """The ADSL filter of each level of a special population: a derived grouping's level "<19" or
    ">=19" as a comparison of its source variable (AGE < 19), the missing level as `is missing`."""
    import re

    column = sp.group1 if sp.derive is not None else sp.variable
    out = {MISSING_KO: f"{column} is missing"}
    if sp.derive is not None:
        for level in levels:
            m = re.match(r"^(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)$", str(level))
            if m:
                out[level] = f"{column} {m.group(1)} {m.group(2)}"
    return out


def _order_special(ard: pd.DataFrame, levels: list, pt_order: list, pt_var: str) -> pd.DataFrame:
    var_rank = {"AE": 0, "ADR": 1}
    pt_rank = {pt: i for i, pt in enumerate(pt_order)}

    def key(row):
        if row.variable in var_rank and row.context != "factor_test":
            return (0, var_rank[row.variable], levels.index(row.group1_level) if row.group1_level in levels else 0)
        if row.context == "factor_test":
            return (1, 0, 0)
        return (2, pt_rank.get(row.variable_level, 0), levels.index(row.group1_level) if row.group1_level in levels else 0)

    keys = [key(r) for r in ard.itertuples(index=False)]
    return ard.iloc[sorted(range(len(ard)), key=lambda i: keys[i])].reset_index(drop=True)


def pregnancy_table(settings=None, *, pregnancy_var: str | None = None,
                    output_id: str = "T-09-PREGNANT") -> TableResult:
    """Pregnant women: no data source in this study's ADaM, reported as 해당 없음 with the reason."""
    conv = _conv(settings)
    note = PREGNANCY_NOTE
    ard = ard_to_frame(rows_frame(_stats_rows(_base(output_id, None, None, None, "PREGNANT", None, "not_available"),
                                                {"n": None, "available": False, "note": note})))
    display = pd.DataFrame([{"구분": "임부", "결과": "해당 없음", "사유": note}])
    notes = [f"{conv.drug_ko}: 임부 자료 없음. 임신 여부 변수(예: {pregnancy_var or 'PREGFL'})가 ADSL에 있으면 "
             "다른 특수 환자군과 같은 방식으로 분석한다."]
    return TableResult(output_id, "특수 환자군: 임부", ard, display, notes, section=SPECIAL_SECTION)


# The pregnancy prevention programme (ADSL CBPFL/PTESTFL, ADPREG): who is pregnant and the outcome, in Korean.
PREGNANCY_WHO_KO = {"PATIENT": "환자 본인", "FEMALE PARTNER OF MALE PATIENT": "남성 환자의 여성 배우자"}
PREGNANCY_OUTCOME_KO = {"LIVE BIRTH": "출산", "SPONTANEOUS ABORTION": "자연 유산",
                        "ELECTIVE TERMINATION": "인공 임신 중절", "ONGOING": "임신 진행 중(결과 미확인)",
                        "UNKNOWN": "알 수 없음"}
PREGNANCY_OUTPUT = "T-09-PREGNANT"


def pregnancy_collected(adsl: pd.DataFrame) -> bool:
    """Whether the analysis data hold the pregnancy prevention programme: ADSL has the childbearing
    potential flag with at least one answer (a study that does not collect it has none)."""
    return "CBPFL" in adsl.columns and "PTESTFL" in adsl.columns and adsl["CBPFL"].map(
        lambda v: not is_missing(v)).any()


class ReferencedSentence(str):
    """A sentence that names an output by its number ('표 12'): the report calls it with the numbers
    of its outputs; as a plain string it reads '아래 표'."""

    def __new__(cls, template: str, output_id: str, fallback: str = "아래 표"):
        obj = str.__new__(cls, template.format(ref=fallback))
        obj.template, obj.output_id, obj.fallback = template, output_id, fallback
        return obj

    def __call__(self, refs: Mapping[str, str], ard=None) -> str:
        return self.template.format(ref=refs.get(self.output_id, self.fallback))


@dataclass
class PregnancyResult(TableResult):
    """The pregnancy part of the special populations: its ARD (always), its sentences, and whether
    a table is shown (only when a pregnancy was reported)."""

    statements: list[str] = field(default_factory=list)  # not `sentences`: the report takes those for the conclusion
    pregnancies: int = 0


def pregnancy_part(adsl: pd.DataFrame, adpreg: pd.DataFrame | None, settings=None, *, pop: str | None = "SAFFL",
                   id_var: str = "USUBJID", output_id: str = PREGNANCY_OUTPUT) -> PregnancyResult:
    """Women of childbearing potential among the women of the population, those tested for pregnancy
    before the first dose among them, and every pregnancy reported (ADPREG) by who is pregnant and
    outcome: the ARD rows, the report's sentences and, when there are pregnancies, a short table."""
    from .ard import ard_categorical

    conv = _conv(settings)
    require_columns(adsl, [id_var, "SEX", "CBPFL", "PTESTFL", pop], "ADSL")
    women = adsl[adsl["SEX"].eq("F")]
    cbp_ard = ard_categorical(women, "CBPFL", by="SEX", pop_flag=pop, adsl=women, levels=["Y", "N"],
                              missing=True, id_var=id_var, output_id=output_id, source=Source("ADSL"))
    cbp_women = women[women["CBPFL"].eq("Y")]  # the flag of a woman only (the raw checks refuse it for a man)
    test_ard = ard_categorical(cbp_women, "PTESTFL", by="CBPFL", pop_flag=pop, adsl=cbp_women, levels=["Y", "N"],
                               missing=False, id_var=id_var, output_id=output_id, source=Source("ADSL"))
    if adpreg is None:
        adpreg = pd.DataFrame({c: pd.Series(dtype=object) for c in (id_var, "PREGWHO", "PREGOUT", pop)})
    adpreg = adpreg.assign(PREGOUT=adpreg["PREGOUT"].where(adpreg["PREGOUT"].map(lambda v: not is_missing(v)),
                                                            "UNKNOWN"))
    by_who = ard_hierarchical(adpreg, adsl, None, ("PREGWHO", "PREGOUT"), None, pop, id_var=id_var,
                              output_id=output_id, source=Source("ADPREG"))
    by_out = ard_hierarchical(adpreg, adsl, None, ("PREGOUT",), None, pop, id_var=id_var,
                              output_id=output_id, source=Source("ADPREG"))
    by_out = by_out[~by_out["variable"].eq(ANY_EVENT)]
    ard = ard_to_frame(cbp_ard, test_ard, by_who, by_out)

    in_population = women[pop].eq("Y") if pop else pd.Series(True, index=women.index)
    has_women = bool(in_population.any())  # none at an early cut-off, or in a study of men only
    n_women = int(ard_value(cbp_ard, "N", variable="CBPFL", variable_level="Y")) if has_women else 0
    n_cbp = int(ard_value(cbp_ard, "n", variable="CBPFL", variable_level="Y")) if has_women else 0
    n_tested = int(ard_value(test_ard, "n", variable="PTESTFL", variable_level="Y")) if n_cbp else 0
    any_rows = by_who[by_who["variable"].eq(ANY_EVENT) & by_who["stat_name"].eq("events")]
    total = int(ard_value(by_who, "events", variable=ANY_EVENT)) if len(any_rows) else 0

    def events(variable, level, parent=None):
        rows = ard[ard["variable"].eq(variable) & ard["variable_level"].eq(level) & ard["stat_name"].eq("events")]
        rows = rows[rows["group2_level"].eq(parent)] if parent is not None else rows[rows["group2_level"].isna()]
        return int(rows["stat"].iloc[0]) if len(rows) else 0

    population = population_name(pop)

    def people(n: int, N: int) -> str:
        pct = fmt.fmt_num(fmt.percent(n, N), conv.pct_table) if N else None
        return f"{fmt.fmt_count(n)}명" + (f"({pct}%)" if pct is not None else "")

    first = (f"임부: {population} 중 여성 {fmt.fmt_count(n_women)}명 가운데 가임 여성은 {people(n_cbp, n_women)}이었다"
             if has_women else f"임부: {population} 중 여성이 없었다")
    if n_cbp:
        first += f". 가임 여성 {fmt.fmt_count(n_cbp)}명 중 {people(n_tested, n_cbp)}이 첫 투여 전에 임신 검사를 받았다."
    else:
        first += "."
    sentences: list[str] = [first]
    who_levels = [w for w in PREGNANCY_WHO_KO if events("PREGWHO", w)]
    if total == 0:
        sentences.append("조사 기간 중 환자 본인 또는 남성 환자의 여성 배우자의 임신은 보고되지 않았다.")
    else:
        parts = ", ".join(f"{PREGNANCY_WHO_KO[w]} {fmt.fmt_count(events('PREGWHO', w))}건" for w in who_levels)
        outcomes = ", ".join(f"{PREGNANCY_OUTCOME_KO[o]} {fmt.fmt_count(events('PREGOUT', o))}건"
                             for o in PREGNANCY_OUTCOME_KO if events("PREGOUT", o))
        sentences.append(ReferencedSentence(
            f"조사 기간 중 임신은 {fmt.fmt_count(total)}건 보고되었고({parts}), 임신 결과는 {outcomes}이었다"
            "({ref}).", output_id))
    columns = [*(PREGNANCY_WHO_KO[w] for w in PREGNANCY_WHO_KO), "계"]
    rows = [{"구분": "임신 보고 건수", **{PREGNANCY_WHO_KO[w]: fmt.fmt_count(events("PREGWHO", w))
                                      for w in PREGNANCY_WHO_KO}, "계": fmt.fmt_count(total)}]
    for o, name in PREGNANCY_OUTCOME_KO.items():
        rows.append({"구분": PT_INDENT + name,
                     **{PREGNANCY_WHO_KO[w]: fmt.fmt_count(events("PREGOUT", o, w)) for w in PREGNANCY_WHO_KO},
                     "계": fmt.fmt_count(events("PREGOUT", o))})
    display = _display(rows)[["구분", *columns]] if total else pd.DataFrame()
    if total:
        display.attrs["indent"] = [0] + [1] * len(PREGNANCY_OUTCOME_KO)
        display.attrs["col_widths_mm"] = [70, 30, 50, 20]
    notes = [f"대상: {population}. 건수는 보고된 임신의 수이다(한 대상자에게 둘 이상일 수 있다).",
             "임신 결과는 자료 마감일 현재 알려진 결과이다."]
    return PregnancyResult(output_id, "특수 환자군: 임부(임신 보고 현황)", ard, display, notes,
                           section=SPECIAL_SECTION, statements=sentences, pregnancies=total)


def special_populations(adsl: pd.DataFrame, adae: pd.DataFrame, settings=None, *, pop: str | None = "SAFFL",
                        subject_flag: str | None = "TRTEMFL", child_age_below: float | None = None,
                        age_var: str = "AGE",
                        pregnancy_var: str | None = None, pt_var: str = "AEDECOD",
                        id_var: str = "USUBJID", adpreg: pd.DataFrame | None = None) -> list[TableResult]:
    """Table 9: a summary over the special populations, then one table per population (see
    `special_population_definitions`); pregnant women are reported as 해당 없음 when ADSL has no
    pregnancy flag (`pregnancy_var`)."""
    has_pregnancy = bool(pregnancy_var) and pregnancy_var in adsl.columns
    definitions = special_population_definitions(settings, child_age_below=child_age_below, age_var=age_var,
                                                 pregnancy_var=pregnancy_var if has_pregnancy else None)
    plain = _conv(settings).plain
    tables, sentences = [], []
    for sp in definitions:
        column = sp.group1 if sp.derive is not None else sp.variable
        if column not in adsl.columns:
            continue
        table = special_population_table(adsl, adae, sp, settings, pop=pop, subject_flag=subject_flag,
                                         pt_var=pt_var, id_var=id_var)
        if plain and all(ard_value(table.ard, "N", variable="AE", group1_level=lv) == 0 for lv in sp.special):
            # The report: a population nobody belongs to gets one sentence, not a table of 해당 없음.
            sentences.append(f"{sp.name_ko}: {population_name(pop)} 중 해당하는 대상자가 없어 분석하지 않았다.")
            continue
        tables.append(table)
    pregnancy = None
    if pregnancy_collected(adsl) and pop in adsl.columns:
        pregnancy = pregnancy_part(adsl, adpreg, settings, pop=pop, id_var=id_var)
        sentences.extend(pregnancy.statements)
        if pregnancy.pregnancies:
            tables.append(pregnancy)
    elif not has_pregnancy:
        if plain:
            sentences.append(PREGNANCY_NOT_COLLECTED)
        else:
            tables.append(pregnancy_table(settings, pregnancy_var=pregnancy_var))
    summary = _special_summary([t for t in tables if t is not pregnancy], definitions, settings, pop)
    if pregnancy is not None:
        # The sentences' numbers: the pregnancy ARD rows, under the summary's id when no table is shown.
        summary.ard = ard_to_frame(summary.ard, _with_output_id(pregnancy.ard, summary.output_id))
    summary.sentences = sentences
    return [summary, *tables]


def _special_summary(tables: list[TableResult], definitions: list[SpecialPopulation], settings, pop) -> TableResult:
    """One row per special level: N, AE and ADR n (%) [events], from the per-population ARDs' rows."""
    conv = _conv(settings)
    output_id = OUTPUT_IDS["special_summary"]
    by_id = {t.output_id: t for t in tables}
    rows, parts = [], []
    for sp in definitions:
        table = by_id.get(f"T-09-{sp.key}")
        if table is None:
            continue
        ard = table.ard
        for lv in sp.special:
            N = ard_value(ard, "N", variable="AE", group1_level=lv)  # every special level is a column of its table
            keep = ard["group1_level"].eq(lv) & ard["variable"].isin(["AE", "ADR"]) & ard["context"].eq("incidence")
            part = _with_output_id(ard[keep], output_id)
            part["group2"], part["group2_level"] = "POPULATION", sp.key
            parts.append(part)
            row = {"특수 환자군": sp.name_ko, "구분": sp.level_labels.get(lv, lv), "대상자 수": fmt.fmt_count(N)}
            for key in ("AE", "ADR"):
                row[f"{SUBSETS[key].name_ko} n (%) [건]"] = _cell(ard_value(ard, "n", variable=key, group1_level=lv),
                                                                int(N),
                                                                ard_value(ard, "events", variable=key, group1_level=lv),
                                                                conv.pct_table)
            rows.append(row)
    if "T-09-PREGNANT" in by_id:
        rows.append({"특수 환자군": "임부", "구분": "", "대상자 수": ko.NOT_APPLICABLE,
                     f"{SUBSETS['AE'].name_ko} n (%) [건]": ko.NOT_APPLICABLE,
                     f"{SUBSETS['ADR'].name_ko} n (%) [건]": ko.NOT_APPLICABLE})
        parts.append(_with_output_id(by_id["T-09-PREGNANT"].ard, output_id))
    ard = ard_to_frame(*parts) if parts else ard_to_frame()
    flag = _conv(settings).flag(pop)
    notes = [f"백분율의 분모는 각 특수 환자군의 {population_name(pop)}{flag} 수('대상자 수')이다.",
             "n (%) [건]: 발현 대상자 수(백분율) [발현 건수]. 각 환자군의 세부 표 참조.",
             "임부: " + PREGNANCY_NOTE if "T-09-PREGNANT" in by_id else ""]
    return SpecialSummary(output_id, f"특수 환자군별 {ko.AE} 및 {ko.ADR} 발현 현황 요약", ard, pd.DataFrame(rows),
                          [n for n in notes if n], section=SPECIAL_SECTION)


@dataclass
class SpecialSummary(TableResult):
    """The special populations' summary table, and the report's sentences for the populations
    without a table (nobody enrolled, pregnancy not collected)."""

    sentences: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- 12. figure: ADR incidence by SOC

def adr_soc_figure(adsl: pd.DataFrame, adae: pd.DataFrame, settings=None, *, subset: str | Subset = "ADR",
                   pop: str | None = "SAFFL", subject_flag: str | None = "TRTEMFL", soc_var: str = "AEBODSYS",
                   pt_var: str = "AEDECOD", id_var: str = "USUBJID", soc_table: TableResult | None = None,
                   output_id: str = OUTPUT_IDS["adr_soc_figure"]) -> FigureResult:
    """Horizontal bars: % of subjects with an ADR in each SOC (the SOC rows of the SOC/PT table's ARD)."""
    import matplotlib

    from .docx import figure_png

    conv = _conv(settings)
    subset = _subset(subset)
    table = soc_table or ae_by_soc_pt(adsl, adae, conv, subset=subset, pop=pop, subject_flag=subject_flag,
                                      soc_var=soc_var, pt_var=pt_var, id_var=id_var, check_occurrence=False)
    ard = table.ard
    soc_rows = ard[ard["variable"].eq(soc_var) | ard["variable"].eq(ANY_EVENT)]
    ard_out = _with_output_id(soc_rows, output_id)
    socs = list(dict.fromkeys(ard.loc[ard["variable"].eq(soc_var), "variable_level"]))
    values = []
    for soc in socs:
        n, N = ard_value(ard, "n", variable=soc_var, variable_level=soc), ard_value(ard, "N", variable=soc_var, variable_level=soc)
        values.append((soc, int(n), int(N)))
    with matplotlib.rc_context(_korean_rc()):
        # The page's text width (170 mm) at 1:1, so that the labels print at their point size; a
        # bar per SOC, about 7 mm each.
        fig = _new_figure(FIGURE_WIDTH_IN, max(2.0, 0.28 * len(values) + 0.9))
        ax = fig.add_subplot(1, 1, 1)
        if not values:
            ax.text(0.5, 0.5, f"{subset.name_ko} 없음", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
        else:
            pcts = [100.0 * n / N if N else 0.0 for _, n, N in values]
            y = list(range(len(values), 0, -1))  # the most frequent SOC on top
            ax.barh(y, pcts, color="#4a6fa5")
            ax.set_yticks(y)
            ax.set_yticklabels([conv.term(soc) for soc, _, _ in values], fontsize=9)
            ax.tick_params(axis="x", labelsize=9)
            ax.spines[["top", "right"]].set_visible(False)
            ax.set_ylim(0.4, len(values) + 0.6)
            top = max(pcts) if pcts else 1.0
            for yy, pct, (_, n, N) in zip(y, pcts, values):
                label = (f"{fmt.fmt_num(fmt.percent(n, N), conv.pct_table)}% ({fmt.fmt_count(n)}/{fmt.fmt_count(N)})"
                         if N else "0")
                ax.text(pct + top * 0.01, yy, label, va="center", fontsize=8)
            ax.set_xlim(0, top * 1.25 + 0.1)
            ax.set_xlabel(f"발현율(%, 분모: 안전성 평가대상자 N={fmt.fmt_count(values[0][2])})")
        png = figure_png(fig)
    flag = conv.code(f"{pop}='Y'")
    notes = [f"막대: {ko.SOC_ABBR}별 {subset.name_ko} 발현 대상자 비율(%). 분모는 {population_name(pop)}{flag} 수.",
             f"MedDRA 버전 {conv.meddra_version or '(미지정)'}. " + _order_note(conv, "SOC")]
    return FigureResult(output_id, f"{ko.SOC_ABBR}별 {subset.name_ko} 발현율", png, ard_out, notes, section=SECTION)


# --------------------------------------------------------------------------- 13. label-style summary sentences

@dataclass
class SummaryResult(TableResult):
    """The re-examination summary sentences (MFDS label wording) with the ARD rows they quote."""

    sentences: list[str] = field(default_factory=list)
    pt_names: str = "en"  # "ko" when Korean PT names were used (all of them), "mixed", or "en"

    def __iter__(self):
        """Iterating gives the sentences (what the report's conclusion prints)."""
        return iter(self.sentences)


# One sentence per subset: `{inc}` is the label incidence (x.xx%(n/N명, k건)).
_SENTENCE = {
    "AE": f"{ko.AE}의 발현율은 인과관계와 상관없이 {{inc}}로 보고되었다.",
    "ADR": f"이 중 이 약과 인과관계를 배제할 수 없는 {ko.ADR} 발현율은 {{inc}}로 보고되었다.",
    "SAE": f"{ko.SAE} 발현율은 인과관계와 상관없이 {{inc}}로 보고되었다.",
    "SADR": f"{ko.SADR} 발현율은 {{inc}}로 보고되었다.",
    "UAE": f"{ko.UAE} 발현율은 인과관계와 상관없이 {{inc}}로 보고되었다.",
    "UADR": f"{ko.UADR} 발현율은 {{inc}}로 보고되었다.",
    "USADR": f"{ko.USADR} 발현율은 {{inc}}로 보고되었다.",
}
# The sentence of a subset without any subject (plain text, no placeholder).
_NONE = {
    "AE": f"{ko.AE}는 보고되지 않았다.",
    "ADR": f"이 중 이 약과 인과관계를 배제할 수 없는 {ko.ADR}은 보고되지 않았다.",
    "SAE": f"{ko.SAE}는 보고되지 않았다.", "SADR": f"{ko.SADR}은 보고되지 않았다.",
    "UAE": f"{ko.UAE}는 보고되지 않았다.", "UADR": f"{ko.UADR}은 보고되지 않았다.",
    "USADR": f"{ko.USADR}은 보고되지 않았다.",
}


# The summary sentences name the most frequent PTs of these subsets (the top SUMMARY_TOP_PTS ranks by
# the number of subjects, ties included) and refer to their SOC/PT table for the rest; the serious
# ADRs and every unexpected subset are named in full (they are what the label change is about).
SUMMARY_TOP_PTS = 10
SUMMARY_FULL_SUBSETS = ("SADR", "UAE", "UADR", "USAE", "USADR")


def _top_ranks(pts: list, top: int) -> int:
    """How many of `pts` (most frequent first; n is the third item) fall in the first `top` ranks,
    ties at the last rank included."""
    if len(pts) <= top:
        return len(pts)
    last = pts[top - 1][2]
    return top + sum(1 for p in pts[top:] if p[2] == last)


def summary_sentences(adsl: pd.DataFrame, adae: pd.DataFrame, settings=None, *, pop: str | None = "SAFFL",
                      subject_flag: str | None = "TRTEMFL", period_years: int | None = None,
                      pt_names_ko: Mapping[str, str] | None = None, pt_ko_var: str | None = None,
                      max_pts: int | None = SUMMARY_TOP_PTS, full_subsets: Sequence[str] = SUMMARY_FULL_SUBSETS,
                      overview: TableResult | None = None,
                      soc_pt_tables: Mapping[str, TableResult] | None = None, subsets: Sequence[str] = SUMMARY_SUBSETS,
                      soc_var: str = "AEBODSYS", pt_var: str = "AEDECOD", id_var: str = "USUBJID",
                      output_id: str = OUTPUT_IDS["summary"]) -> SummaryResult:
    """The re-examination results in the MFDS label pattern (domain.md section 2), one sentence per subset.

    "국내에서 재심사를 위하여 {years}년 동안 {N}명을 대상으로 실시한 사용성적조사 결과 유해사례의 발현율은
    인과관계와 상관없이 12.34%(77/624명, 120건)로 보고되었다." and so on for ADRs, SAEs, serious ADRs,
    unexpected AEs and ADRs and unexpected serious ADRs, each followed by its PTs in descending
    frequency: all of them for `full_subsets` (serious ADRs, the unexpected subsets), the first
    `max_pts` ranks (ties included; None: all) for the others, whose sentence then refers to its
    SOC/PT table for the rest (a `ReferencedSentence`: the report cites the table by number). The
    ARD keeps every PT row of every subset (the label change quotes them all). Counts carry
    thousands separators (1,638건). Every number is
    read from the overview's ARD rows (and the SOC/PT tables' PT rows), so the sentences and the
    overview table cannot disagree. Percentages: `percent_decimals_summary`, rounded half up.

    `period_years`: the re-examination period of the sentence (default: the settings'
    dates.reexamination_period_years; not the follow-up length).
    PT names: `pt_ko_var` (an ADAE column of Korean PT names) or `pt_names_ko` (PT -> Korean name);
    otherwise, or for a PT without one, the MedDRA English PT name.

    Also callable as `summary_sentences(adam, settings)` with the ADaM frames by name (ADSL, ADAE).
    """
    if isinstance(adsl, Mapping):
        adam, settings = adsl, (adae if settings is None else settings)
        adsl, adae = adam["ADSL"], adam["ADAE"]
    conv = _conv(settings)
    years = period_years if period_years is not None else conv.reexamination_years
    if overview is None:
        overview = safety_overview(adsl, adae, conv, pop=pop, subject_flag=subject_flag, subsets=subsets, id_var=id_var)
    ov = overview.ard
    if ov["group1_level"].notna().any():
        raise ValueError("summary_sentences needs an overview without column grouping (the whole safety set)")
    names = {**conv.terms.names, **dict(pt_names_ko or {})}
    first_use: set = set()  # a Korean PT name carries its English name in brackets the first time only
    if pt_ko_var and pt_ko_var in adae.columns:
        pairs = adae[[pt_var, pt_ko_var]].dropna().drop_duplicates()
        names.update(dict(zip(pairs[pt_var], pairs[pt_ko_var])))
    used_ko, used_en = set(), set()

    parts, sentences = [], []
    N_overall = None
    for key in subsets:
        subset = _subset(key)
        rows = ov[ov["variable"].eq(key)]
        if rows.empty:
            continue
        parts.append(_with_output_id(rows, output_id))
        n, N, events = (int(ard_value(ov, s, variable=key)) for s in ("n", "N", "events"))
        N_overall = N if N_overall is None else N_overall
        if n == 0:
            text = _NONE[key]
        else:
            text = _SENTENCE[key].format(inc=fmt.label_incidence(n, N, events, conv.pct_summary))
        if key == "AE":
            period = f"{years}년 동안 " if years else ""
            text = f"국내에서 재심사를 위하여 {period}{fmt.fmt_count(N)}명을 대상으로 실시한 사용성적조사 결과 " + text
        if n > 0:
            table = (soc_pt_tables or {}).get(key) or ae_by_soc_pt(adsl, adae, conv, subset=subset, pop=pop,
                                                                  subject_flag=subject_flag, soc_var=soc_var,
                                                                  pt_var=pt_var, id_var=id_var)
            pt_rows = table.ard[table.ard["variable"].eq(pt_var)]
            pts = []
            for (soc, pt), group in pt_rows.groupby(["group2_level", "variable_level"], sort=False):
                stats = dict(zip(group["stat_name"], group["stat"]))
                pts.append((pt, soc, int(stats["n"]), int(stats["N"]), int(stats["events"])))
            pts.sort(key=lambda x: (-x[2], *_key(x[0])))
            top = len(pts) if max_pts is None or key in full_subsets else _top_ranks(pts, max_pts)
            shown, rest = pts[:top], pts[top:]
            quoted = _with_output_id(pt_rows, output_id)  # every PT: the label change lists them all
            # The same PT is listed under several subsets: the subset is the rows' grouping (group1),
            # so every row of T-13 has its own key (output, grouping, SOC, PT, statistic).
            quoted["group1"], quoted["group1_level"] = SUMMARY_GROUP, key
            parts.append(quoted)
            listed = []
            for pt, _soc, pn, pN, pev in shown:
                name = names.get(pt)
                (used_ko if name else used_en).add(pt)
                if name and pt not in first_use:
                    first_use.add(pt)
                    name = f"{name}({pt})"
                listed.append(f"{name or pt} {fmt.label_incidence(pn, pN, pev, conv.pct_summary)}")
            if listed and rest:
                # no count of the PTs left out: every number of the sentence is an ARD number or the rule's
                ranks = (f"상위 {max_pts}개 {ko.PT}" if len(shown) == max_pts
                         else f"상위 {max_pts}위까지(같은 순위 포함)의 {ko.PT}")
                text = (text[:-len("로 보고되었다.")] + f"로 보고되었으며, 발현 대상자 수가 많은 순으로 {ranks}를 "
                        "나열하면 다음과 같다: " + ", ".join(listed) + ".")
                table_id = table.output_id
                text = ReferencedSentence(
                    text.replace("{", "{{").replace("}", "}}")
                    + f" 그 밖의 {ko.PT}는 {{ref}}에 제시하였다.", table_id,
                    fallback=f"{table.title} 표")
            elif listed:
                text = text[:-len("로 보고되었다.")] + "로 보고되었으며, 빈도순으로 나열하면 다음과 같다: " + ", ".join(listed) + "."
        sentences.append(text)
    ard = ard_to_frame(*parts) if parts else ard_to_frame()
    pt_names = "ko" if used_ko and not used_en else ("mixed" if used_ko else "en")
    display = pd.DataFrame({"구분": [_subset(k).name_ko for k in subsets if not ov[ov["variable"].eq(k)].empty],
                            "문장": sentences})
    flag = conv.code(f"{pop}='Y'")
    notes = [f"백분율: 소수점 {conv.pct_summary}자리(반올림), 분모는 {population_name(pop)}{flag} "
             f"N={fmt.fmt_count(N_overall) if N_overall is not None else ''}.",
             f"숫자는 {ko.AE} 발현 현황 요약 표(" + overview.output_id + ")와 SOC/PT 표의 같은 ARD 행에서 가져온다.",
             {"en": f"{ko.PT_ABBR}: MedDRA 영문 PT명(한글 PT명 자료 없음).",
              "ko": f"{ko.PT_ABBR}: 한글 PT명.",
              "mixed": f"{ko.PT_ABBR}: 한글 PT명이 있는 경우 한글, 없는 경우 MedDRA 영문 PT명."}[pt_names]]
    if years:
        notes.append(f"'{years}년': 재심사 기간." if conv.plain else
                     f"'{years}년': 재심사 기간(study settings의 dates.reexamination_period_years 또는 인수 "
                     "period_years).")
    notes.append(f"MedDRA 버전 {conv.meddra_version or '(미지정)'}.")
    return SummaryResult(output_id, "재심사 결과 요약(허가사항 기재 문안)", ard, display, notes, section=SECTION,
                         sentences=sentences, pt_names=pt_names)


# --------------------------------------------------------------------------- all safety outputs, registry

def safety_tables(adsl: pd.DataFrame, adae: pd.DataFrame, settings=None, *, pop: str | None = "SAFFL",
                  subject_flag: str | None = "TRTEMFL", by: str | None = None, denom_by: str | None = None,
                  total: str | None = None, prior_lines: Grouping | None = None, child_age_below: float | None = None,
                  pregnancy_var: str | None = None, period_years: int | None = None,
                  pt_names_ko: Mapping[str, str] | None = None,
                  include_summary: bool = True, compare_to=None, test: str = "fisher",
                  adpreg: pd.DataFrame | None = None) -> list[TableResult | FigureResult]:
    """Every safety output of the report, in report order (tables 5-9, figure 12, sentences 13).
    `compare_to`/`test`: p-value columns in the overview and the SOC/PT tables (`ae_by_soc_pt`)."""
    grouping = dict(by=by, denom_by=denom_by, total=total, pop=pop, subject_flag=subject_flag)
    overview = safety_overview(adsl, adae, settings, **grouping, compare_to=compare_to, test=test)
    soc_pt = ae_by_soc_pt_all(adsl, adae, settings, **grouping, compare_to=compare_to, test=test)
    out: list = [overview, *soc_pt]
    if "ADRFL" in adae.columns:
        for builder, var in ((adr_by_severity, "ASEV"), (adr_by_grade, "ATOXGR"), (adr_by_outcome, "AEOUT")):
            if var in adae.columns:
                out.append(builder(adsl, adae, settings, **grouping))
        out.extend(adr_factor_analysis(adsl, adae, settings, pop=pop, subject_flag=subject_flag,
                                       prior_lines=prior_lines))
        out.extend(special_populations(adsl, adae, settings, pop=pop, subject_flag=subject_flag,
                                       child_age_below=child_age_below, pregnancy_var=pregnancy_var,
                                       adpreg=adpreg))
        adr_table = next(t for t in soc_pt if t.output_id == "T-06-ADR")
        if by is None:
            out.append(adr_soc_figure(adsl, adae, settings, pop=pop, subject_flag=subject_flag, soc_table=adr_table))
    if by is None and include_summary:
        tables = {t.output_id.removeprefix("T-06-"): t for t in soc_pt}
        out.append(summary_sentences(adsl, adae, settings, pop=pop, subject_flag=subject_flag, period_years=period_years,
                                     pt_names_ko=pt_names_ko, overview=overview, soc_pt_tables=tables))
    return out


def safety_results(adam: Mapping[str, pd.DataFrame], settings=None, **kwargs) -> list[TableResult | FigureResult]:
    """The report's safety outputs (tables 5-9, figure 12) from the ADaM frames by name.

    The summary sentences (13) are not among them: the report prints them in its conclusion
    (`summary_sentences(adam, settings)`), from the same overview and SOC/PT ARD rows.
    """
    return safety_tables(adam["ADSL"], adam["ADAE"], settings, include_summary=False, **kwargs)


_OPTION_NAMES = ("by", "denom_by", "pop", "subject_flag", "total")


def _options(options) -> tuple[object, dict]:
    """(settings, grouping keywords) from an options mapping or object (missing keys: the defaults)."""
    if options is None:
        return None, {}
    get = options.get if isinstance(options, Mapping) else (lambda k, d=None: getattr(options, k, d))
    kwargs = {k: get(k) for k in _OPTION_NAMES if get(k, None) is not None}
    return get("settings", None), kwargs


def _registered(builder, *, grouping: bool = True, **fixed):
    def run(adam: Mapping[str, pd.DataFrame], options=None):
        settings, kwargs = _options(options)
        if not grouping:
            kwargs = {k: v for k, v in kwargs.items() if k in ("pop", "subject_flag")}
        return builder(adam["ADSL"], adam["ADAE"], settings, **fixed, **kwargs)

    run.__doc__ = builder.__doc__
    run.__name__ = getattr(builder, "__name__", "builder")
    return run


register("safety_overview")(_registered(safety_overview))
for _key_name in SOC_PT_SUBSETS:
    register(f"soc_pt_{_key_name.lower()}")(_registered(ae_by_soc_pt, subset=_key_name))
register("adr_severity")(_registered(adr_by_severity))
register("adr_grade")(_registered(adr_by_grade))
register("adr_outcome")(_registered(adr_by_outcome))
register("adr_factors")(_registered(adr_factor_analysis, grouping=False))
register("special_populations")(_registered(special_populations, grouping=False))
register("adr_soc_figure")(_registered(adr_soc_figure, grouping=False))
register("summary_sentences")(_registered(summary_sentences, grouping=False))
register("safety_tables")(_registered(safety_tables))
