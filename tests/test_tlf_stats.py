from __future__ import annotations

import itertools
import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import scipy.stats as sps
from scipy.special import comb

from submission.study import load_settings
from submission.tlf import fmt
from submission.tlf.stats import (
    CHISQ,
    FISHER,
    FISHER_FH,
    NOT_ESTIMABLE,
    NOT_TESTABLE,
    clopper_pearson,
    contingency_table,
    factor_test,
    factor_tests,
    fisher_rx2_exact,
    logistic_regression,
    multivariable_analysis,
    one_per_source,
    select_factors,
)

from .conftest import SPECS

# --------------------------------------------------------------------------- Clopper-Pearson

@pytest.mark.parametrize(
    ("n", "N", "low", "high"),
    [(0, 10, 0.0, 0.3084971078187629),
     (10, 10, 0.6915028921812371, 1.0),
     (5, 20, 0.08657146910143455, 0.49104587170795755)],
)
def test_clopper_pearson_known_values(n, N, low, high):
    got = clopper_pearson(n, N, 0.95)
    assert got == pytest.approx((low, high), abs=1e-12)


@pytest.mark.parametrize(("n", "N"), [(1, 7), (3, 624), (77, 624), (623, 624)])
def test_clopper_pearson_equals_beta_quantiles(n, N):
    low = sps.beta.ppf(0.025, n, N - n + 1)
    high = sps.beta.ppf(0.975, n + 1, N - n)
    assert clopper_pearson(n, N) == pytest.approx((low, high), rel=1e-9)


def test_clopper_pearson_level_from_settings_changes_width():
    level = load_settings(SPECS).conventions.ci_level
    narrow = clopper_pearson(5, 20, 0.90)
    wide = clopper_pearson(5, 20, level)
    assert wide[0] < narrow[0] and wide[1] > narrow[1]


def test_clopper_pearson_without_subjects_is_nan():
    assert all(math.isnan(v) for v in clopper_pearson(0, 0))


# --------------------------------------------------------------------------- chi-square or Fisher

def test_chi_square_when_every_expected_count_is_large():
    table = [[20, 30], [25, 25]]
    res = factor_test(table, fisher_expected_below=5)
    chi2, p, dof, _ = sps.chi2_contingency(table, correction=False)
    assert res.test == CHISQ
    assert res.p == pytest.approx(p, rel=1e-12)
    assert res.statistic == pytest.approx(chi2) and res.df == dof == 1


def test_expected_count_equal_to_threshold_keeps_chi_square():
    res = factor_test([[5, 5], [5, 5]], fisher_expected_below=5)
    assert res.test == CHISQ and res.min_expected == 5


def test_fisher_2x2_when_an_expected_count_is_below_threshold():
    threshold = load_settings(SPECS).conventions.fisher_expected_below
    table = [[1, 9], [5, 5]]
    res = factor_test(table, fisher_expected_below=threshold)
    assert res.test == FISHER
    assert res.p == pytest.approx(sps.fisher_exact(table).pvalue, rel=1e-12)
    assert "expected count" in res.note


def test_fisher_r_by_2_is_exact_freeman_halton():
    table = [[3, 10], [5, 8], [1, 12]]
    res = factor_test(table, fisher_expected_below=5)
    assert res.test == FISHER_FH
    assert res.p == pytest.approx(_enumerated_fisher(table), rel=1e-10)


def _enumerated_fisher(table):
    """Every table with the same margins, the probability of those at most as likely as the observed one."""
    t = np.asarray(table)
    rows, K, N = t.sum(axis=1), int(t[:, 0].sum()), int(t.sum())

    def prob(x):
        return math.prod(comb(int(m), int(k), exact=True) for m, k in zip(rows, x)) / comb(N, K, exact=True)

    observed = prob(t[:, 0])
    total = 0.0
    for x in itertools.product(*(range(int(m) + 1) for m in rows)):
        if sum(x) == K and prob(x) <= observed * (1 + 1e-7):
            total += prob(x)
    return total


@pytest.mark.parametrize("table", [
    [[0, 5], [2, 3], [6, 1], [1, 9]],
    [[1, 20], [0, 15], [4, 3]],
    [[2, 2], [2, 2], [2, 2]],
    [[7, 0], [0, 7], [3, 4]],
])
def test_exact_r_by_2_matches_full_enumeration(table):
    assert fisher_rx2_exact(table) == pytest.approx(_enumerated_fisher(table), rel=1e-10, abs=1e-15)


@pytest.mark.parametrize("table", [[[8, 2], [1, 5]], [[0, 10], [4, 6]], [[3, 3], [3, 3]], [[12, 1], [30, 40]]])
def test_exact_r_by_2_equals_scipy_on_2x2(table):
    assert fisher_rx2_exact(table) == pytest.approx(sps.fisher_exact(table).pvalue, rel=1e-10)


def test_exact_r_by_2_is_fast_on_report_sized_tables():
    # 624 subjects, a small dialysis group: the case Fisher exists for in the report.
    p = fisher_rx2_exact([[3, 5], [150, 160], [140, 166], [60, 40]])
    assert 0 <= p <= 1


def test_empty_level_is_dropped_before_choosing_the_test():
    res = factor_test([[20, 30], [0, 0], [25, 25]], fisher_expected_below=5)
    assert res.test == CHISQ


def test_single_level_is_not_testable():
    res = factor_test([[3, 7]], fisher_expected_below=5)
    assert res.test == NOT_TESTABLE and math.isnan(res.p)


def _subjects() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 300
    sex = rng.choice(["F", "M"], n)
    age = rng.choice(["<65", ">=65"], n, p=[0.6, 0.4])
    crcl = rng.choice(["<30", "30-<60", ">=60"], n, p=[0.1, 0.3, 0.6])
    logit = -1.0 + 0.9 * (age == ">=65") + 0.6 * (crcl == "<30") + 0.3 * (crcl == "30-<60")
    adr = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "Y", "N")
    return pd.DataFrame({"USUBJID": [f"S{i:03d}" for i in range(n)], "SEX": sex, "AGEGR1": age,
                         "CRCLGR1": pd.Categorical(crcl, categories=[">=60", "30-<60", "<30"]), "ADRFL": adr})


def test_contingency_table_counts_match_pandas():
    frame = _subjects()
    table = contingency_table(frame, "AGEGR1", "ADRFL")
    direct = pd.crosstab(frame["AGEGR1"], frame["ADRFL"])
    assert table.loc["<65", "event"] == direct.loc["<65", "Y"]
    assert table.loc[">=65", "no_event"] == direct.loc[">=65", "N"]


def test_factor_tests_p_values_match_scipy_directly():
    frame = _subjects()
    result = factor_tests(frame, ["SEX", "AGEGR1", "CRCLGR1"], "ADRFL", fisher_expected_below=5)
    assert list(result["factor"]) == ["SEX", "AGEGR1", "CRCLGR1"]
    for name in ("SEX", "AGEGR1", "CRCLGR1"):
        direct = pd.crosstab(frame[name], frame["ADRFL"]).to_numpy()
        expected = sps.chi2_contingency(direct, correction=False)[1]
        row = result.set_index("factor").loc[name]
        assert row["test"] == CHISQ
        assert row["p"] == pytest.approx(expected, rel=1e-12)


def test_select_factors_keeps_order_and_strict_threshold():
    entry = load_settings(SPECS).conventions.multivariable_entry_p
    p = {"A": 0.2, "B": 0.01, "C": entry, "D": 0.049, "E": math.nan}
    assert select_factors(p, entry) == ["B", "D"]


# --------------------------------------------------------------------------- logistic regression

def test_logistic_regression_odds_ratios_match_statsmodels():
    import statsmodels.formula.api as smf

    frame = _subjects()
    res = logistic_regression(frame, "ADRFL", ["AGEGR1", "CRCLGR1"])
    assert res.status == "ok" and res.converged and res.n_obs == len(frame)
    data = frame.assign(y=(frame["ADRFL"] == "Y").astype(int), CRCL=frame["CRCLGR1"].astype(str))
    ref = smf.logit("y ~ C(AGEGR1, Treatment('<65')) + C(CRCL, Treatment('>=60'))", data).fit(disp=0)
    ci = ref.conf_int()
    pairs = {("AGEGR1", ">=65"): "C(AGEGR1, Treatment('<65'))[T.>=65]",
             ("CRCLGR1", "30-<60"): "C(CRCL, Treatment('>=60'))[T.30-<60]",
             ("CRCLGR1", "<30"): "C(CRCL, Treatment('>=60'))[T.<30]"}
    terms = res.terms.set_index(["factor", "level"])
    for key, name in pairs.items():
        row = terms.loc[key]
        assert row["estimable"]
        assert row["odds_ratio"] == pytest.approx(math.exp(ref.params[name]), rel=1e-6)
        assert row["ci_lower"] == pytest.approx(math.exp(ci.loc[name, 0]), rel=1e-6)
        assert row["ci_upper"] == pytest.approx(math.exp(ci.loc[name, 1]), rel=1e-6)
        assert row["p"] == pytest.approx(ref.pvalues[name], rel=1e-5)
    assert terms.loc[("CRCLGR1", "<30"), "reference"] == ">=60"  # categorical order gives the reference


def test_logistic_regression_takes_the_reference_level_it_is_given():
    import statsmodels.formula.api as smf

    frame = _subjects().assign(CRCLGR1=lambda f: f["CRCLGR1"].astype(str))  # no categorical order to lean on
    levels = {"CRCLGR1": ["<30", "30-<60", ">=60"]}  # table order: the first level is "<30"
    first = logistic_regression(frame, "ADRFL", ["CRCLGR1"], levels=levels)
    assert set(first.terms["reference"]) == {"<30"}  # without a reference: the first level
    res = logistic_regression(frame, "ADRFL", ["CRCLGR1"], levels=levels, reference={"CRCLGR1": ">=60"})
    terms = res.terms.set_index(["factor", "level"])
    assert list(res.terms["level"]) == ["<30", "30-<60"] and set(res.terms["reference"]) == {">=60"}
    data = frame.assign(y=(frame["ADRFL"] == "Y").astype(int))
    ref = smf.logit("y ~ C(CRCLGR1, Treatment('>=60'))", data).fit(disp=0)
    assert terms.loc[("CRCLGR1", "<30"), "odds_ratio"] == pytest.approx(
        math.exp(ref.params["C(CRCLGR1, Treatment('>=60'))[T.<30]"]), rel=1e-6)
    # a reference level that no complete case has: the first level present, and the note says so
    rare = logistic_regression(frame[frame["CRCLGR1"] != ">=60"], "ADRFL", ["CRCLGR1"], levels=levels,
                               reference={"CRCLGR1": ">=60"})
    assert set(rare.terms["reference"]) == {"<30"} and "reference level" in rare.note


def test_one_grouping_per_source_variable_enters_the_model():
    p = {"AGEGR1": 0.01, "AGEGR2": 0.001, "SEX": 0.02, "CRCLGR1": 0.03}
    sources = {"AGEGR1": "AGE", "AGEGR2": "AGE", "CRCLGR1": "CRCLBL"}
    kept, dropped = one_per_source(["AGEGR1", "AGEGR2", "SEX", "CRCLGR1"], p, sources)
    assert kept == ["AGEGR2", "SEX", "CRCLGR1"] and dropped == {"AGEGR1": "AGEGR2"}
    assert select_factors(p, 0.05, sources=sources) == kept
    assert select_factors({**p, "AGEGR2": 0.2}, 0.05, sources=sources) == ["AGEGR1", "SEX", "CRCLGR1"]
    frame = _subjects()
    frame["AGEGR2"] = frame["AGEGR1"]  # nested with AGEGR1 (here identical): both would make the model collinear
    _, model = multivariable_analysis(frame, ["AGEGR1", "AGEGR2", "CRCLGR1"], "ADRFL", entry_p=0.5,
                                      sources={"AGEGR1": "AGE", "AGEGR2": "AGE"})
    assert model is not None and model.status == "ok"
    assert len({"AGEGR1", "AGEGR2"} & set(model.factors)) == 1


def test_logistic_quasi_separation_marks_the_term_not_estimable():
    frame = _subjects()
    frame["SITE"] = np.where(frame.index < 12, "tiny", "big")
    frame.loc[frame.index < 12, "ADRFL"] = "Y"  # every subject at the small site had an ADR
    res = logistic_regression(frame, "ADRFL", ["AGEGR1", "SITE"], levels={"SITE": ["big", "tiny"]})
    terms = res.terms.set_index(["factor", "level"])
    assert not terms.loc[("SITE", "tiny"), "estimable"]
    assert math.isnan(terms.loc[("SITE", "tiny"), "odds_ratio"])
    assert "separation" in terms.loc[("SITE", "tiny"), "note"]
    assert terms.loc[("AGEGR1", ">=65"), "estimable"]
    assert fmt.fmt_or_ci(math.nan, math.nan, math.nan, estimable=False) == "NE"


def test_logistic_complete_separation_is_not_estimable_without_raising():
    frame = pd.DataFrame({"X": ["a"] * 10 + ["b"] * 10, "Y": ["N"] * 10 + ["Y"] * 10})
    res = logistic_regression(frame, "Y", ["X"])
    assert res.status == NOT_ESTIMABLE and not res.estimable
    assert not res.terms["estimable"].any()


def test_logistic_collinear_factors_are_not_estimable():
    frame = _subjects()
    frame["AGECOPY"] = frame["AGEGR1"]
    res = logistic_regression(frame, "ADRFL", ["AGEGR1", "AGECOPY"])
    assert res.status == NOT_ESTIMABLE and "collinear" in res.note


def test_logistic_constant_outcome_is_not_estimable():
    frame = _subjects().assign(ADRFL="N")
    assert logistic_regression(frame, "ADRFL", ["SEX"]).status == NOT_ESTIMABLE


def test_multivariable_analysis_enters_factors_below_the_settings_threshold():
    conventions = load_settings(SPECS).conventions
    frame = _subjects()
    univariate, model = multivariable_analysis(
        frame, ["SEX", "AGEGR1", "CRCLGR1"], "ADRFL", fisher_expected_below=conventions.fisher_expected_below,
        entry_p=conventions.multivariable_entry_p)
    expected = [f for f, p in zip(univariate["factor"], univariate["p"]) if p < conventions.multivariable_entry_p]
    assert model is not None and model.factors == expected
    assert set(model.terms["factor"]) == set(expected)
    assert set(model.factor_p) == set(expected)


# --------------------------------------------------------------------------- formatting (fmt)

@pytest.mark.parametrize(("value", "digits", "expected"), [
    (0.125, 2, "0.13"), (2.5, 0, "3"), (3.5, 0, "4"), (0.5, 0, "1"), (-2.5, 0, "-3"), (2.675, 2, "2.68"),
    (1.005, 2, "1.01"), (0.045, 2, "0.05"), (12.25, 1, "12.3"), (-0.04, 1, "0.0"), (7, 1, "7.0"),
])
def test_round_half_up_cases(value, digits, expected):
    assert fmt.fmt_num(value, digits) == expected
    assert fmt.round_half_up(value, digits) == Decimal(expected)


def test_python_round_would_differ():
    # The reason fmt exists: round() and format() round half to even on the binary value.
    assert round(0.125, 2) == 0.12 and round(2.5) == 2 and f"{2.675:.2f}" == "2.67"
    assert fmt.fmt_num(0.125, 2) == "0.13" and fmt.fmt_num(2.5, 0) == "3"


@pytest.mark.parametrize(("n", "N", "digits", "expected"), [
    (1, 2000, 1, "1 (0.1%)"),      # 0.05% -> 0.1%
    (1, 2000, 2, "1 (0.05%)"),
    (1, 2001, 1, "1 (0.0%)"),      # 0.04998% -> 0.0%
    (1, 16, 1, "1 (6.3%)"),        # 6.25% -> 6.3% (half-even would give 6.2)
    (1, 40, 0, "1 (3%)"),          # 2.5% -> 3%
    (5, 40, 1, "5 (12.5%)"),
    (0, 86, 1, "0 (0.0%)"),
    (86, 86, 1, "86 (100.0%)"),
])
def test_n_percent(n, N, digits, expected):
    assert fmt.fmt_n_pct(n, N, digits) == expected


def test_n_percent_variants():
    assert fmt.fmt_n_pct(5, 40, denominator=True) == "5/40 (12.5%)"
    assert fmt.fmt_n_pct(0, 40, zero="0") == "0"
    assert fmt.fmt_n_pct_events(5, 40, 7) == "5 (12.5%) [7]"
    assert fmt.fmt_pct(0.0005, 1) == "0.1" and fmt.fmt_pct(None) == ""


def test_summary_statistics_text():
    assert fmt.fmt_mean_sd(2.25, 0.125, 1) == "2.3 (0.13)"
    assert fmt.fmt_mean_sd(math.nan, math.nan) == ""
    assert fmt.fmt_mean_sd(70.0, None, 1) == "70.0 (-)"
    assert fmt.fmt_median(76.25, 1) == "76.3"
    assert fmt.fmt_range(51, 89, 0) == "51, 89"
    assert fmt.fmt_range(51, 89, 1, sep=" - ") == "51.0 - 89.0"
    assert fmt.fmt_median_range(76.25, 51, 89, 1) == "76.3 (51.0, 89.0)"


@pytest.mark.parametrize(("p", "expected"), [
    (0.0004, "<0.001"), (0.0005, "<0.001"), (0.00099, "<0.001"), (0.001, "0.001"), (0.0015, "0.002"),
    (0.0495, "0.050"), (0.05, "0.050"), (1.0, "1.000"), (math.nan, ""), (None, ""),
])
def test_p_values(p, expected):
    assert fmt.fmt_p(p) == expected


def test_confidence_intervals():
    low, high = clopper_pearson(5, 20)
    assert fmt.fmt_ci_pct(low, high, 1) == "(8.7, 49.1)"
    assert fmt.fmt_ci(0.125, 1.5, 2) == "(0.13, 1.50)"
    assert fmt.fmt_ci(0.5, math.nan) == ""
    assert fmt.fmt_or_ci(2.345, 1.005, 5.5) == "2.35 (1.01, 5.50)"


def test_label_sentence_pieces():
    assert fmt.label_incidence(77, 624, 120) == "12.34%(77/624명, 120건)"
    assert fmt.label_incidence(26, 27, 89, digits=1) == "96.3%(26/27명, 89건)"
    assert fmt.label_incidence(8, 27, 9) == "29.63%(8/27명, 9건)"
    assert fmt.label_incidence(1, 2000) == "0.05%(1/2,000명)"  # counts with thousands separators
    assert fmt.label_count(26, 89) == "26명, 89건"
    with pytest.raises(ValueError):
        fmt.label_incidence(0, 0)


def test_counts_carry_thousands_separators():
    assert fmt.fmt_count(1638) == "1,638" and fmt.fmt_count(624) == "624" and fmt.fmt_count(479.0) == "479"
    with pytest.raises(ValueError):
        fmt.fmt_count(479.5)
    assert fmt.label_incidence(599, 624, 1638) == "95.99%(599/624명, 1,638건)"
    assert fmt.label_count(1200, 1638) == "1,200명, 1,638건"
    assert fmt.fmt_n_pct(1200, 2400, 1) == "1,200 (50.0%)"
    assert fmt.fmt_n_pct(1200, 2400, 1, denominator=True) == "1,200/2,400 (50.0%)"
    assert fmt.fmt_n_pct_events(599, 624, 1638) == "599 (96.0%) [1,638]"


def test_a_rate_and_its_interval_share_one_bracket():
    low, high = clopper_pearson(265, 539)
    text = fmt.label_rate_ci(265, 539, low, high, 2, level=0.95)
    assert text == f"49.17%(265/539명, 95% 신뢰구간 {fmt.fmt_pct(low, 2)}–{fmt.fmt_pct(high, 2)}%)"
    assert text.count("(") == 1 and text.count(")") == 1


def test_summary_decimals_come_from_settings():
    conventions = load_settings(SPECS).conventions
    assert fmt.label_incidence(77, 624, 120, digits=conventions.percent_decimals_summary) == "12.34%(77/624명, 120건)"
    assert fmt.fmt_n_pct(77, 624, conventions.percent_decimals_table) == "77 (12.3%)"


def test_a_grouping_reference_must_be_one_of_its_labels(specs_copy):
    from submission.errors import SubError

    settings = load_settings(specs_copy)
    groups = settings.conventions.groups
    assert {name: g.reference_level for name, g in groups.items()} == {
        "AGEGR1": "<65", "AGEGR2": "<75", "BMIGR1": "18.5-<23", "CRCLGR1": ">=60", "PRLINESGR": "0-1",
        "ONSETGR": "1-28", "TRTDURGR": "1-28"}  # the last two group the report's ADR tables by onset and duration
    path = specs_copy / "study.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('reference = ">=60"', 'reference = ">= 60"'), encoding="utf-8")
    with pytest.raises(SubError) as err:
        load_settings(specs_copy)
    [problem] = err.value.problems
    assert problem.column == "key conventions.groups.CRCLGR1" and "not one of the labels" in problem.message
