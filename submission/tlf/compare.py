"""Comparisons between the columns of a table: each level of the column grouping against a reference level.

An incidence table (overview, SOC/PT, a response rate) holds, per row and column, the subjects
with the event `n` and the column's subjects `N`. `incidence_comparisons` reads those two numbers
from the table's ARD rows (never from the data again, so the test and the cell cannot disagree)
and tests each column against the reference column on the 2x2 table

              event     no event
    level     n         N - n
    reference n_ref     N_ref - n_ref

with Fisher's exact test (two-sided, scipy's `fisher_exact`) or Pearson's chi-square test
without continuity correction (`chi2_contingency(correction=False)`). A chi-square test of a row
where no subject (or every subject) of both columns had the event is not defined: its p-value is
missing and the table shows "-". Fisher's test of such a row gives 1.

Each p-value is one ARD row: stat_name `p.value`, the compared level in group1_level, the row's
own keys (variable, variable_level, group2/group2_level for a PT's SOC), context `comparison` and
a stat_label naming the reference level and the test ("p-value vs Placebo (Fisher's exact test)").
One more block per table (variable `..comparison..`) states the reference level and the test.
Tables show the p-value rounded half up to 3 decimals, "<0.001" below that (`fmt.fmt_p`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..errors import Problem, SubError
from . import fmt
from ._frames import is_missing
from .ard import ARD_COLUMNS, plain_value, rows_frame

FISHER = "fisher"
CHISQ = "chisq"
TESTS = {FISHER: "Fisher's exact test", CHISQ: "Pearson's chi-square test"}
TESTS_KO = {FISHER: "Fisher의 정확 검정(양측)", CHISQ: "카이제곱 검정(연속성 수정 없음)"}
CONTEXT = "comparison"
COMPARISON_VARIABLE = "..comparison.."
NOT_TESTABLE = "-"

# Row keys of an incidence ARD besides the column (group1_level): the row of the table.
_ROW_KEYS = ("variable", "variable_level", "group2", "group2_level", "group3", "group3_level")


def method_name(test: str) -> str:
    try:
        return TESTS[test]
    except KeyError:
        raise SubError(Problem("sub tlf", None, "--test", test, f"unknown test; known: {', '.join(TESTS)}")) from None


def two_by_two_p(n: int, N: int, n_ref: int, N_ref: int, test: str = FISHER) -> float | None:
    """Two-sided p-value of n/N against n_ref/N_ref; None when the test is not defined."""
    from scipy import stats as sps

    n, N, n_ref, N_ref = int(n), int(N), int(n_ref), int(N_ref)
    if N == 0 or N_ref == 0:
        return None
    table = [[n, N - n], [n_ref, N_ref - n_ref]]
    if test == FISHER:
        return float(sps.fisher_exact(table).pvalue)
    if test == CHISQ:
        if n + n_ref == 0 or (N - n) + (N_ref - n_ref) == 0:
            return None
        return float(sps.chi2_contingency(table, correction=False).pvalue)
    method_name(test)
    return None


def resolve_level(levels: Sequence, wanted, *, option: str = "--compare-to", variable: str | None = None):
    """The level of `levels` that `wanted` names (the same value, or the same text: "0" names 0.0)."""
    for level in levels:
        if level == wanted or str(level) == str(wanted) or fmt_level(level) == str(wanted):
            return level
    known = ", ".join(repr(str(v)) for v in levels)
    raise SubError(Problem("sub tlf", None, option, str(wanted),
                           f"not a level of {variable or 'the column grouping'}; its levels are {known}"))


def fmt_level(level) -> str:
    if isinstance(level, float) and level.is_integer():
        return str(int(level))
    return str(level)


def incidence_comparisons(ard: pd.DataFrame, reference, *, test: str = FISHER, levels: Sequence | None = None,
                          variables: Sequence[str] | None = None, output_id: str | None = None) -> pd.DataFrame:
    """p-value rows of every column against `reference`, for every row of an incidence ARD with n and N.

    `levels`: the columns to compare (default: every group1_level but the reference, in ARD order;
    a total column is left out by not listing it). `variables`: only these rows' variables.
    Rows come out in the ARD's row order, then column order.
    """
    method = method_name(test)
    counts = ard[ard["stat_name"].isin(["n", "N"])]
    if variables is not None:
        counts = counts[counts["variable"].isin(list(variables))]
    keys = [k for k in _ROW_KEYS if k in counts.columns]
    cells: dict[tuple, dict] = {}
    rows_order: list[tuple] = []
    for record in counts.to_dict("records"):
        row = tuple(None if is_missing(record[k]) else record[k] for k in keys)
        column = record["group1_level"]
        if row not in cells:
            cells[row] = {"__base__": record}
            rows_order.append(row)
        cells[row].setdefault(column, {})[record["stat_name"]] = record["stat"]
    present = list(dict.fromkeys(counts["group1_level"]))
    if reference not in present:
        raise SubError(Problem("sub tlf", None, "--compare-to", str(reference),
                               f"no column of the table is {reference!r}; columns: {[str(p) for p in present]}"))
    compared = [lv for lv in (levels if levels is not None else present) if lv != reference and lv in present]
    label = f"p-value vs {fmt_level(reference)} ({method})"
    records = []
    for row in rows_order:
        ref = cells[row].get(reference, {})
        base = cells[row]["__base__"]
        for level in compared:
            this = cells[row].get(level, {})
            if not {"n", "N"} <= set(this) or not {"n", "N"} <= set(ref):
                continue
            p = two_by_two_p(this["n"], this["N"], ref["n"], ref["N"], test)
            records.append({**{c: base.get(c) for c in ARD_COLUMNS}, **{k: base.get(k) for k in keys},
                            "output_id": output_id or base.get("output_id"), "group1_level": level,
                            "context": CONTEXT, "stat_name": "p.value", "stat_label": label, "stat": plain_value(p)})
    group1 = next((r["group1"] for r in counts.to_dict("records") if not is_missing(r["group1"])), None)
    meta = {"output_id": output_id or (records[0]["output_id"] if records else None),
            "analysis_set": counts["analysis_set"].iloc[0] if len(counts) else None, "group1": group1,
            "group1_level": reference, "variable": COMPARISON_VARIABLE, "variable_level": None, "context": CONTEXT}
    records += [{**meta, "stat_name": "reference", "stat_label": "Reference level", "stat": plain_value(reference)},
                {**meta, "stat_name": "method", "stat_label": "Test", "stat": method},
                {**meta, "stat_name": "alternative", "stat_label": "Alternative hypothesis", "stat": "two-sided"}]
    return rows_frame(records)


def p_column(level, reference) -> str:
    """The header of the p-value column of `level` against `reference`."""
    return f"p-value\n{fmt_level(level)} vs {fmt_level(reference)}"


def p_text(p) -> str:
    return fmt.fmt_p(p, missing=NOT_TESTABLE)


def footnote(reference, test: str, what: str = "발현 대상자 비율") -> str:
    text = (f"p-value: 각 열과 참조군({fmt_level(reference)})의 {what} 비교, {TESTS_KO[test]}; "
            "소수점 셋째 자리까지 반올림, 0.001 미만은 <0.001.")
    if test == CHISQ:
        text += " '-': 두 열 모두 해당 대상자가 없거나 모두 해당하여 검정할 수 없음."
    return text
