"""Statistics of the re-examination report: exact intervals, factor tests, logistic regression.

- Incidence and response rates carry an exact (Clopper-Pearson) interval.
- A factor's association with an outcome (ADR yes/no, response yes/no) is tested with the
  Pearson chi-square test without continuity correction, or with Fisher's exact test when an
  expected count is below `settings.conventions.fisher_expected_below` (domain.md section 2).
  For a 2x2 table that is scipy's `fisher_exact`. For an r x 2 table (a factor with more than
  two levels) scipy 1.17's `fisher_exact` only offers Monte Carlo or permutation p-values, which
  are random; this module computes the exact Fisher-Freeman-Halton p-value instead (all tables
  with the observed margins whose probability is at most the observed one, as R's
  `fisher.test`), with a network algorithm that adds or drops whole sub-trees by bounds. Tables
  with more than two outcome columns fall back to scipy's Monte Carlo with a fixed seed, and the
  test name says so.
- Factors with univariate p below `settings.conventions.multivariable_entry_p` enter a
  multivariable logistic regression (statsmodels); a term that separation or non-convergence
  makes meaningless is reported "not estimable" instead of stopping the build. Groupings of the
  same source variable (AGEGR1 and AGEGR2 both cut AGE) are nested and collinear: at most one
  of them enters, the one with the smallest univariate p (`one_per_source`). Each factor's
  reference level is the settings' `reference` of its grouping, else its first level.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.special import gammaln

from ._frames import levels_of, require_columns

CHISQ = "Chi-square test"
FISHER = "Fisher's exact test"
FISHER_FH = "Fisher-Freeman-Halton exact test"
FISHER_MC = "Fisher's exact test (Monte Carlo, {n} resamples)"
NOT_TESTABLE = "not testable"

# Korean names for footnotes of the report's tables.
TEST_NAMES_KO = {
    CHISQ: "카이제곱 검정",
    FISHER: "Fisher의 정확 검정",
    FISHER_FH: "Fisher의 정확 검정(Freeman-Halton)",
    NOT_TESTABLE: "검정 불가",
}

MONTE_CARLO_RESAMPLES = 100_000
MONTE_CARLO_SEED = 20161207
_RELATIVE_TOLERANCE = 1e-7  # tables this close to the observed probability count as "as extreme" (R: 1 + 1e-7)
_MAX_NODES = 2_000_000


# --------------------------------------------------------------------------- exact interval

def clopper_pearson(n: int, N: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval of the proportion n/N; (nan, nan) when N is 0."""
    n, N = int(n), int(N)
    if N == 0:
        return (math.nan, math.nan)
    if not 0 <= n <= N:
        raise ValueError(f"expected 0 <= n <= N, got n={n}, N={N}")
    ci = sps.binomtest(n, N).proportion_ci(confidence_level=level, method="exact")
    return (float(ci.low), float(ci.high))


# --------------------------------------------------------------------------- factor tests

@dataclass(frozen=True)
class TestResult:
    """One factor test: which test was used, why, and its p-value (NaN when not testable)."""

    test: str
    p: float
    statistic: float | None = None
    df: int | None = None
    min_expected: float | None = None
    note: str = ""

    @property
    def test_ko(self) -> str:
        return TEST_NAMES_KO.get(self.test, self.test)


def _log_comb(n, k):
    return gammaln(np.asarray(n) + 1.0) - gammaln(np.asarray(k) + 1.0) - gammaln(np.asarray(n) - np.asarray(k) + 1.0)


def fisher_rx2_exact(table) -> float:
    """Exact two-sided Fisher-Freeman-Halton p-value of an r x 2 table.

    Sums the hypergeometric probability of every table with the observed margins whose
    probability does not exceed the observed table's (relative tolerance 1e-7). Stages run
    over rows; a partial table whose best completion is already no more probable than the
    observed one contributes all its completions at once (Vandermonde), one whose least
    probable completion is more probable contributes none, and partial tables with equal
    probability are merged, so the work stays small for report-sized tables.
    """
    t = np.asarray(table, dtype=np.int64)
    if t.ndim != 2 or t.shape[1] != 2 or (t < 0).any():
        raise ValueError("expected an r x 2 table of non-negative counts")
    t = t[t.sum(axis=1) > 0]
    if t.shape[0] < 2 or (t.sum(axis=0) == 0).any():
        return 1.0
    rows = t.sum(axis=1)
    K = int(t[:, 0].sum())
    r = len(rows)
    total = int(rows.sum())
    log_total = float(_log_comb(total, K))
    log_cells = [_log_comb(m, np.arange(m + 1)) for m in rows]
    observed = float(sum(log_cells[i][t[i, 0]] for i in range(r)))
    threshold = observed + _RELATIVE_TOLERANCE

    # Suffix bounds: best and worst log-probability mass of rows i.. with s successes left.
    suffix = np.concatenate([np.cumsum(rows[::-1])[::-1], [0]])
    high = np.full((r + 1, K + 1), -np.inf)
    low = np.full((r + 1, K + 1), np.inf)
    high[r, 0] = low[r, 0] = 0.0
    for i in range(r - 1, -1, -1):
        m = int(rows[i])
        for s in range(min(K, int(suffix[i])) + 1):
            xs = np.arange(max(0, s - int(suffix[i + 1])), min(m, s) + 1)
            if xs.size == 0:
                continue
            high[i, s] = np.max(log_cells[i][xs] + high[i + 1, s - xs])
            low[i, s] = np.min(log_cells[i][xs] + low[i + 1, s - xs])

    p = 0.0
    stage: dict[int, dict[float, tuple[float, float]]] = {K: {0.0: (0.0, 1.0)}}
    visited = 0
    for i in range(r):
        m = int(rows[i])
        following: dict[int, dict[float, tuple[float, float]]] = {}
        for s, nodes in stage.items():
            xs = np.arange(max(0, s - int(suffix[i + 1])), min(m, s) + 1)
            rest = s - xs
            for acc, count in nodes.values():
                visited += xs.size
                if visited > _MAX_NODES:
                    raise _TooLarge
                new_acc = acc + log_cells[i][xs]
                best = new_acc + high[i + 1, rest]
                worst = new_acc + low[i + 1, rest]
                whole = best <= threshold
                if whole.any():
                    log_mass = new_acc[whole] + _log_comb(suffix[i + 1], rest[whole]) - log_total
                    p += count * float(np.exp(log_mass).sum())
                open_ = ~whole & ~(worst > threshold)
                for a, rr in zip(new_acc[open_], rest[open_]):
                    key = round(float(a), 9)
                    bucket = following.setdefault(int(rr), {})
                    if key in bucket:
                        bucket[key] = (bucket[key][0], bucket[key][1] + count)
                    else:
                        bucket[key] = (float(a), count)
        stage = following
    return min(1.0, p)


class _TooLarge(Exception):
    pass


def factor_test(table, *, fisher_expected_below: float = 5.0) -> TestResult:
    """Test a factor x outcome contingency table (rows: factor levels, columns: outcome levels).

    Rows or columns with no subjects are dropped first (an empty level carries no information
    and would give a zero expected count). Chi-square without continuity correction unless an
    expected count is below `fisher_expected_below`; then Fisher's exact test.
    """
    t = np.asarray(table, dtype=np.int64)
    if t.ndim != 2:
        raise ValueError("expected a two-dimensional table of counts")
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return TestResult(NOT_TESTABLE, math.nan, note="fewer than two non-empty levels or outcomes")
    chi2, p_chi2, dof, expected = sps.chi2_contingency(t, correction=False)
    min_expected = float(expected.min())
    if min_expected >= fisher_expected_below:
        return TestResult(CHISQ, float(p_chi2), float(chi2), int(dof), min_expected)
    note = f"an expected count is below {fisher_expected_below:g} (smallest {min_expected:.2f})"
    if t.shape == (2, 2):
        res = sps.fisher_exact(t)
        return TestResult(FISHER, float(res.pvalue), None, None, min_expected, note)
    if t.shape[1] == 2 or t.shape[0] == 2:
        try:
            p = fisher_rx2_exact(t if t.shape[1] == 2 else t.T)
            return TestResult(FISHER_FH, p, None, None, min_expected, note)
        except _TooLarge:
            note += "; too many tables for the exact enumeration"
    method = sps.MonteCarloMethod(n_resamples=MONTE_CARLO_RESAMPLES, rng=np.random.default_rng(MONTE_CARLO_SEED))
    res = sps.fisher_exact(t, method=method)
    return TestResult(FISHER_MC.format(n=MONTE_CARLO_RESAMPLES), float(res.pvalue), None, None, min_expected, note)


def outcome_mask(values: pd.Series, event="Y") -> pd.Series:
    """Outcome as 1/0 (float, NaN where missing): booleans as they are, else `== event`."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    out = values.eq(event).astype(float)
    out[values.isna()] = math.nan
    return out


def contingency_table(frame: pd.DataFrame, factor: str, outcome: str, *, event="Y",
                      levels: Sequence | None = None) -> pd.DataFrame:
    """Counts of subjects by factor level (rows, in table order) and outcome (columns event, non-event).

    Subjects with a missing factor or outcome are left out, as the test leaves them out.
    """
    require_columns(frame, [factor, outcome], "analysis data")
    y = outcome_mask(frame[outcome], event)
    keep = y.notna() & ~frame[factor].isna()
    x = frame.loc[keep, factor]
    y = y[keep]
    order = levels_of(frame[factor], levels)
    rows = []
    for level in order:
        at = x.eq(level)
        rows.append((int((y[at] == 1).sum()), int((y[at] == 0).sum())))
    return pd.DataFrame(rows, index=pd.Index(order, name=factor), columns=["event", "no_event"])


def factor_tests(frame: pd.DataFrame, factors: Sequence[str], outcome: str, *, event="Y",
                 fisher_expected_below: float = 5.0, levels: Mapping[str, Sequence] | None = None) -> pd.DataFrame:
    """Univariate test of each factor against a binary outcome: one row per factor, in the given order.

    Columns: factor, test, test_ko, p, statistic, df, min_expected, n (subjects tested), note.
    """
    rows = []
    for name in factors:
        table = contingency_table(frame, name, outcome, event=event, levels=(levels or {}).get(name))
        res = factor_test(table.to_numpy(), fisher_expected_below=fisher_expected_below)
        rows.append({"factor": name, "test": res.test, "test_ko": res.test_ko, "p": res.p,
                     "statistic": res.statistic, "df": res.df, "min_expected": res.min_expected,
                     "n": int(table.to_numpy().sum()), "note": res.note})
    return pd.DataFrame(rows, columns=["factor", "test", "test_ko", "p", "statistic", "df", "min_expected", "n", "note"])


def select_factors(univariate: pd.DataFrame | Mapping[str, float], entry_p: float, *,
                   sources: Mapping[str, str] | None = None) -> list[str]:
    """Factors whose univariate p is below `entry_p`, in their original order (NaN never enters).

    With `sources` (factor -> the variable it is derived from), at most one factor per source
    enters: the one with the smallest p (see `one_per_source`).
    """
    p = _p_values(univariate)
    selected = [name for name, value in p.items() if value is not None and not math.isnan(value) and value < entry_p]
    if sources:
        selected, _ = one_per_source(selected, p, sources)
    return selected


def _p_values(univariate: pd.DataFrame | Mapping[str, float]) -> dict[str, float]:
    if isinstance(univariate, pd.DataFrame):
        return dict(zip(univariate["factor"], univariate["p"]))
    return dict(univariate)


def one_per_source(candidates: Sequence[str], p: Mapping[str, float],
                   sources: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """At most one factor per source variable: of candidates derived from the same variable (e.g.
    AGEGR1 and AGEGR2 from AGE, nested and collinear in one model) keep the smallest p (ties: the
    first in order). Returns (kept, in the candidates' order; {left out: the factor kept instead}).
    """
    best: dict[str, str] = {}
    for name in candidates:
        source = sources.get(name)
        if source is None:
            continue
        if source not in best or p[name] < p[best[source]]:
            best[source] = name
    kept, dropped = [], {}
    for name in candidates:
        source = sources.get(name)
        if source is None or best[source] == name:
            kept.append(name)
        else:
            dropped[name] = best[source]
    return kept, dropped


# --------------------------------------------------------------------------- logistic regression

NOT_ESTIMABLE = "not estimable"
_MAX_SE = 50.0  # a log-odds SE this large means the likelihood is flat: separation, not information


@dataclass
class LogisticResult:
    """A fitted (or failed) logistic regression.

    `terms`: one row per non-reference level of each factor (continuous factors: one row),
    columns factor, level, reference, n, events, coef, se, odds_ratio, ci_lower, ci_upper, p,
    estimable, note. `factor_p`: Wald test of each factor as a whole (all its levels).
    `status` is "ok" or "not estimable"; `note` says why.
    """

    outcome: str
    factors: list[str]
    terms: pd.DataFrame
    factor_p: dict[str, float] = field(default_factory=dict)
    n_obs: int = 0
    n_events: int = 0
    converged: bool = False
    status: str = "ok"
    note: str = ""
    level: float = 0.95

    @property
    def estimable(self) -> bool:
        return self.status == "ok"


_TERM_COLUMNS = ["factor", "level", "reference", "n", "events", "coef", "se", "odds_ratio", "ci_lower",
                 "ci_upper", "p", "estimable", "note"]


def logistic_regression(frame: pd.DataFrame, outcome: str, factors: Sequence[str], *, event="Y",
                        levels: Mapping[str, Sequence] | None = None, continuous: Sequence[str] = (),
                        reference: Mapping[str, object] | None = None,
                        level: float = 0.95, maxiter: int = 100) -> LogisticResult:
    """Logistic regression of a binary outcome on categorical factors.

    Reference level of a factor: `reference[factor]` (e.g. the settings' CRCLGR1 reference
    ">=60"), else its first level; a reference level that no complete case has falls back to
    the first level present, and the result's note says so. Complete cases only. Factors listed
    in `continuous` enter as numbers (OR per unit). Never raises on a numerical failure:
    perfect separation, a singular information matrix or non-convergence give
    `status="not estimable"` or per-term `estimable=False` with a note.
    """
    # the one model class, not statsmodels.api (which imports every model: about 0.2 s more)
    from statsmodels.discrete.discrete_model import Logit
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        PerfectSeparationWarning,
    )

    factors = list(factors)
    require_columns(frame, [outcome, *factors], "analysis data")
    levels = dict(levels or {})
    wanted_reference = dict(reference or {})
    y = outcome_mask(frame[outcome], event)
    keep = y.notna()
    for name in factors:
        keep &= ~frame[name].isna()
    data = frame.loc[keep]
    y = y[keep].to_numpy(dtype=float)

    columns: dict[str, np.ndarray] = {"const": np.ones(len(data))}
    meta: list[dict] = []
    notes: list[str] = []
    for name in factors:
        if name in continuous:
            columns[name] = pd.to_numeric(data[name]).to_numpy(dtype=float)
            meta.append({"factor": name, "level": "", "reference": "", "column": name,
                         "n": len(data), "events": int(y.sum())})
            continue
        order = [lv for lv in levels_of(frame[name], levels.get(name)) if (data[name] == lv).any()]
        if len(order) < 2:
            notes.append(f"{name} has fewer than two levels among complete cases")
            continue
        reference = order[0]
        if name in wanted_reference and wanted_reference[name] is not None:
            if wanted_reference[name] in order:
                reference = wanted_reference[name]
            else:
                notes.append(f"{name}: reference level {wanted_reference[name]!r} has no complete case; "
                             f"{reference!r} is the reference")
        for lv in [lv for lv in order if lv != reference]:
            column = f"{name}[{lv}]"
            at = (data[name] == lv).to_numpy()
            columns[column] = at.astype(float)
            meta.append({"factor": name, "level": lv, "reference": reference, "column": column,
                         "n": int(at.sum()), "events": int(y[at].sum())})

    result = LogisticResult(outcome, factors, pd.DataFrame(columns=_TERM_COLUMNS), n_obs=len(data),
                            n_events=int(y.sum()), level=level)

    def failed(why: str) -> LogisticResult:
        rows = [{**{k: m[k] for k in ("factor", "level", "reference", "n", "events")}, "coef": math.nan,
                 "se": math.nan, "odds_ratio": math.nan, "ci_lower": math.nan, "ci_upper": math.nan,
                 "p": math.nan, "estimable": False, "note": why} for m in meta]
        result.terms = pd.DataFrame(rows, columns=_TERM_COLUMNS)
        result.status, result.note = NOT_ESTIMABLE, "; ".join([*notes, why])
        result.factor_p = {m["factor"]: math.nan for m in meta}
        return result

    if not meta:
        return failed("no factor to model")
    if len(data) == 0 or y.min() == y.max():
        return failed("the outcome does not vary among complete cases")
    X = np.column_stack(list(columns.values()))
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return failed("the factors are collinear (a level is determined by other factors)")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = Logit(y, X).fit(method="newton", maxiter=maxiter, disp=0)
        except (np.linalg.LinAlgError, ValueError, OverflowError) as exc:
            return failed(f"the fit failed ({type(exc).__name__}: {exc})")
    separated = any(issubclass(w.category, PerfectSeparationWarning) for w in caught)
    converged = bool(fit.mle_retvals.get("converged", False)) and not any(
        issubclass(w.category, ConvergenceWarning) for w in caught)
    result.converged = converged

    params = np.asarray(fit.params, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.asarray(fit.bse, dtype=float)
    z = sps.norm.ppf(0.5 + level / 2)
    names = list(columns)
    rows = []
    for m in meta:
        j = names.index(m["column"])
        b, s = params[j], se[j]
        at_level = X[:, j] == 1 if m["level"] != "" else None
        separated_level = at_level is not None and (y[at_level].min() == y[at_level].max())
        ok = math.isfinite(b) and math.isfinite(s) and s < _MAX_SE and not separated_level
        why = ""
        if separated_level:
            why = "all or none of the subjects at this level had the outcome (separation)"
        elif not ok:
            why = "the likelihood does not identify this term (separation or too few subjects)"
        rows.append({**{k: m[k] for k in ("factor", "level", "reference", "n", "events")},
                     "coef": b if ok else math.nan, "se": s if ok else math.nan,
                     "odds_ratio": math.exp(b) if ok else math.nan,
                     "ci_lower": math.exp(b - z * s) if ok else math.nan,
                     "ci_upper": math.exp(b + z * s) if ok else math.nan,
                     "p": float(2 * sps.norm.sf(abs(b / s))) if ok else math.nan,
                     "estimable": ok, "note": why})
    terms = pd.DataFrame(rows, columns=_TERM_COLUMNS)

    if separated and not terms["estimable"].any():
        return failed("perfect separation: the factors predict the outcome exactly")
    if not converged and terms["estimable"].all():
        return failed(f"the fit did not converge in {maxiter} iterations")
    if not converged:
        notes.append("the fit did not converge because of the terms marked not estimable; "
                     "the other estimates are from the last iteration")
    result.terms = terms

    for name in dict.fromkeys(m["factor"] for m in meta):
        idx = [names.index(m["column"]) for m in meta if m["factor"] == name]
        if not terms.loc[terms["factor"] == name, "estimable"].all():
            result.factor_p[name] = math.nan
            continue
        b = params[idx]
        cov = np.asarray(fit.cov_params(), dtype=float)[np.ix_(idx, idx)]
        try:
            stat = float(b @ np.linalg.solve(cov, b))
            result.factor_p[name] = float(sps.chi2.sf(stat, len(idx)))
        except np.linalg.LinAlgError:
            result.factor_p[name] = math.nan
    result.note = "; ".join(notes)
    return result


def multivariable_analysis(frame: pd.DataFrame, factors: Sequence[str], outcome: str, *, event="Y",
                           fisher_expected_below: float = 5.0, entry_p: float = 0.05,
                           levels: Mapping[str, Sequence] | None = None,
                           reference: Mapping[str, object] | None = None,
                           sources: Mapping[str, str] | None = None,
                           level: float = 0.95) -> tuple[pd.DataFrame, LogisticResult | None]:
    """Univariate tests of every factor, then a logistic regression on those with p < `entry_p`
    (at most one per source variable when `sources` is given; `reference`: reference levels).

    Returns the univariate table and the model (None when no factor qualifies). Take the
    thresholds from `settings.conventions` (`fisher_expected_below`, `multivariable_entry_p`).
    """
    univariate = factor_tests(frame, factors, outcome, event=event,
                              fisher_expected_below=fisher_expected_below, levels=levels)
    selected = select_factors(univariate, entry_p, sources=sources)
    if not selected:
        return univariate, None
    return univariate, logistic_regression(frame, outcome, selected, event=event, levels=levels,
                                           reference=reference, level=level)
