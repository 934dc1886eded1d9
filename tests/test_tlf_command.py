"""`sub tlf` on any study's ADaM: comparisons, no trace of the bundled study, clean refusals, efficacy, time to event.

The CDISC pilot ADaM (three arms) is the other study; tests that read it skip with a reason naming
the folder when it is absent (`needs_reference`). Every p-value, rate, interval and Kaplan-Meier
estimate is recomputed here from the data with plain pandas and scipy (and a product-limit and
log-rank written out in the test), never read back from the code under test.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats as sps

from submission.cli import main
from submission.dataset import Column, Dataset
from submission.errors import SubError
from submission.study import load_settings
from submission.tlf import fmt
from submission.tlf.ard import ANY_EVENT, read_ard_csv
from submission.tlf.compare import incidence_comparisons, two_by_two_p
from submission.tlf.efficacy_any import response_order, response_table
from submission.tlf.tables_base import _levels, continuous_group_test, demographics
from submission.tlf.tables_safety import ae_by_soc_pt
from submission.tlf.tlf_command import TABLES, read_adam, study_settings
from submission.tlf.tte import km_table
from submission.xpt import write_xpt

from .conftest import SHARED, SPECS, needs_reference, require_reference

PILOT = SHARED / "reference" / "cdisc-pilot" / "adam"
SETTINGS = load_settings(SPECS)
ARMS = {"Placebo": 86, "Xanomeline Low Dose": 84, "Xanomeline High Dose": 84}
ACTIVE = ["Xanomeline Low Dose", "Xanomeline High Dose"]


def _bundled_words() -> list[str]:
    """Words and numbers only the bundled study's settings could have put into a table of another study."""
    s = SETTINGS
    c = s.conventions
    words = [s.study.studyid, s.study.drug, s.study.drug_generic, s.study.drug_ko, s.study.short_title_ko,
             s.study.indication_ko, "재심사", "사용성적조사", "이 약", "합성 자료", "SYNTHETIC",
             f"MedDRA 버전 {s.dictionaries.meddra_version}", f"{c.treatment_emergent_days}일",
             f"{c.long_term_use_days}일", f"{c.child_age_below:g}세"]
    for name in ("AGEGR1", "AGEGR2"):
        group = c.groups[name]
        words += [f"{cut:g}세" for cut in group.cuts] + [label for label in group.labels if label not in ("<65",)]
        words += [label.replace(">=", "≥") for label in group.labels if label.startswith(">=")]
    return sorted(set(words))


def _docx_text(path) -> str:
    from docx import Document

    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    for section in doc.sections:
        parts += [p.text for p in section.header.paragraphs]
    return "\n".join(parts)


def _run(*args):
    return CliRunner().invoke(main, ["tlf", *map(str, args)])


@pytest.fixture(scope="module")
def pilot():
    require_reference(PILOT)
    adam = read_adam(PILOT)
    return adam["ADSL"], adam["ADAE"]


# --------------------------------------------------------------------------- comparisons on the pilot

@needs_reference(PILOT)
def test_pilot_ae_soc_pt_compare_to_placebo_gives_fisher_p_of_both_active_arms_on_every_row(tmp_path):
    from docx import Document

    result = _run("ae-soc-pt", "--adam", PILOT, "--by", "TRTA", "--denom-by", "TRT01A", "--compare-to", "Placebo",
                  "--out", tmp_path)
    assert result.exit_code == 0, result.output
    ard = read_ard_csv(tmp_path / "T-06-AE.csv")
    p_rows = ard[ard["stat_name"].eq("p.value")]

    adam = read_adam(PILOT)
    adsl, adae = adam["ADSL"], adam["ADAE"]
    N = adsl[adsl["SAFFL"].eq("Y")].groupby("TRT01A")["USUBJID"].nunique()
    assert N.to_dict() == ARMS
    teae = adae[adae["SAFFL"].eq("Y") & adae["TRTEMFL"].eq("Y")]
    expected_rows = {(ANY_EVENT, None, None)}
    expected_rows |= {("AEBODSYS", soc, None) for soc in teae["AEBODSYS"].unique()}
    expected_rows |= {("AEDECOD", pt, soc) for soc, pt in teae[["AEBODSYS", "AEDECOD"]].drop_duplicates().itertuples(
        index=False)}

    def n_of(variable, level, parent, arm) -> int:
        part = teae[teae["TRTA"].eq(arm)]
        if variable == "AEBODSYS":
            part = part[part["AEBODSYS"].eq(level)]
        elif variable == "AEDECOD":
            part = part[part["AEBODSYS"].eq(parent) & part["AEDECOD"].eq(level)]
        return part["USUBJID"].nunique()

    seen = {}
    for row in p_rows.itertuples(index=False):
        key = tuple(None if pd.isna(v) else v for v in (row.variable, row.variable_level, row.group2_level))
        seen.setdefault(key, set()).add(row.group1_level)
        n, n0 = n_of(*key, row.group1_level), n_of(*key, "Placebo")
        want = sps.fisher_exact([[n, N[row.group1_level] - n], [n0, N["Placebo"] - n0]]).pvalue
        assert row.stat == pytest.approx(want, rel=1e-12, abs=1e-300), key
        assert "Placebo" in row.stat_label and row.context == "comparison"
    assert set(seen) == expected_rows  # every SOC and PT row (and the any-event row) has its p-values
    assert all(arms == set(ACTIVE) for arms in seen.values())

    # the table shows them, rounded half up to 3 decimals, "<0.001" below, in the ARD's row order
    table = Document(str(tmp_path / "ae-soc-pt.docx")).tables[0]
    header = [c.text for c in table.rows[0].cells]
    # a SOC longer than a page continues under a "(계속)" row that repeats its label and holds no number
    rows = list(table.rows)[1:]
    continued = [r for r in rows if r.cells[0].text.endswith("(계속)")]
    body = [r for r in rows if not r.cells[0].text.endswith("(계속)")]
    assert all(c.text == "" for r in continued for c in r.cells[1:])
    for arm in ACTIVE:
        column = header.index(f"p-value\n{arm} vs Placebo")
        shown = [r.cells[column].text for r in body]
        assert shown == [fmt.fmt_p(p) for p in p_rows.loc[p_rows["group1_level"].eq(arm), "stat"]]
    assert len(body) == len(expected_rows)


@needs_reference(PILOT)
def test_pilot_overview_chisq_comparison_and_total_column(tmp_path, pilot):
    adsl, adae = pilot
    table = ae_by_soc_pt(adsl, adae, None, by="TRTA", denom_by="TRT01A", total="전체", compare_to="Placebo",
                         test="chisq")
    ard = table.ard
    any_p = ard[ard["stat_name"].eq("p.value") & ard["variable"].eq(ANY_EVENT)]
    assert list(any_p["group1_level"]) == ACTIVE  # never the total column
    want = sps.chi2_contingency([[77, 84 - 77], [65, 86 - 65]], correction=False).pvalue
    assert any_p["stat"].iloc[0] == pytest.approx(want, rel=1e-12)
    assert table.display.columns[4].startswith("전체")
    assert table.display.columns[-1] == "p-value\nXanomeline High Dose vs Placebo"


def test_two_by_two_p_values_against_scipy():
    assert two_by_two_p(3, 10, 0, 12) == pytest.approx(sps.fisher_exact([[3, 7], [0, 12]]).pvalue)
    assert two_by_two_p(0, 10, 0, 12) == 1.0  # Fisher: nothing to tell apart
    assert two_by_two_p(0, 10, 0, 12, "chisq") is None  # chi-square: not defined
    assert two_by_two_p(5, 10, 2, 12, "chisq") == pytest.approx(
        sps.chi2_contingency([[5, 5], [2, 10]], correction=False).pvalue)
    assert fmt.fmt_p(0.0004) == "<0.001" and fmt.fmt_p(0.0125) == "0.013"


def test_incidence_comparisons_refuse_a_reference_that_is_no_column():
    ard = pd.DataFrame([{"output_id": "T", "analysis_set": None, "group1": "ARM", "group1_level": lv, "group2": None,
                         "group2_level": None, "variable": "AE", "variable_level": None, "context": "incidence",
                         "stat_name": s, "stat_label": s, "stat": v}
                        for lv, n, N in (("A", 1, 5), ("B", 2, 5)) for s, v in (("n", n), ("N", N))])
    with pytest.raises(SubError, match="no column of the table is 'C'"):
        incidence_comparisons(ard, "C")
    rows = incidence_comparisons(ard, "A")
    p = rows[rows["stat_name"].eq("p.value")]
    assert list(p["group1_level"]) == ["B"] and p["stat"].iloc[0] == pytest.approx(1.0)
    assert set(rows.loc[rows["variable"].eq("..comparison.."), "stat"]) == {"A", "Fisher's exact test", "two-sided"}


@needs_reference(PILOT)
def test_compare_to_a_level_that_is_not_an_arm_exits_1_naming_the_levels(tmp_path):
    result = _run("ae-soc-pt", "--adam", PILOT, "--by", "TRTA", "--denom-by", "TRT01A", "--compare-to", "Plac",
                  "--out", tmp_path)
    assert result.exit_code == 1, result.output
    assert "--compare-to" in result.output and "'Placebo'" in result.output


# --------------------------------------------------------------------------- every table on the pilot

@needs_reference(PILOT)
@pytest.mark.parametrize("grouped", [True, False], ids=["by-arm", "one-column"])
@pytest.mark.parametrize("table", list(TABLES))
def test_every_tlf_table_on_the_pilot_exits_0_or_1_and_shows_nothing_of_the_bundled_study(table, grouped, tmp_path):
    args = ["--by", "TRTA", "--denom-by", "TRT01A", "--compare-to", "Placebo"] if grouped else []
    result = _run(table, "--adam", PILOT, *args, "--out", tmp_path)
    assert result.exit_code in (0, 1), result.output
    assert "internal error" not in result.output
    if result.exit_code == 1:
        assert re.search(r"column \S+: |missing|takes no --by|--specs|needs", result.output), result.output
        return
    docx = tmp_path / f"{table}.docx"
    text = _docx_text(docx)
    found = [w for w in _bundled_words() if w in text]
    assert found == [], f"{table}: the bundled study's {found} in the pilot's table"
    for csv in tmp_path.glob("*.csv"):
        ard_text = csv.read_text(encoding="utf-8")
        assert SETTINGS.study.studyid not in ard_text and ">=65" not in ard_text


@needs_reference(PILOT)
@pytest.mark.parametrize("table, missing", [("adr-soc-pt", "ADRFL"), ("uae-soc-pt", "UNEXPFL"),
                                            ("adr-severity", "ASEV"), ("adr-grade", "ATOXGR"),
                                            ("special-populations", "ADRFL"), ("response", "adrs")])
def test_tables_the_pilot_cannot_give_name_what_is_missing(table, missing, tmp_path):
    result = _run(table, "--adam", PILOT, "--out", tmp_path)
    assert result.exit_code == 1
    assert missing in result.output


@needs_reference(PILOT)
@pytest.mark.parametrize("table", ["summary", "adr-factors", "special-populations", "adr-soc-figure"])
def test_whole_population_tables_refuse_by(table, tmp_path):
    result = _run(table, "--adam", PILOT, "--by", "TRTA", "--out", tmp_path)
    assert result.exit_code == 1
    assert "takes no --by" in result.output


@needs_reference(PILOT)
def test_pilot_is_not_the_bundled_study_and_gets_no_settings(pilot):
    adsl, adae = pilot
    assert study_settings(PILOT, {"ADSL": adsl, "ADAE": adae}, None) is None


def test_settings_come_from_the_adam_folder_or_the_bundled_study_only_for_that_study(tmp_path):
    ours = {"ADSL": pd.DataFrame({"STUDYID": [SETTINGS.study.studyid], "USUBJID": ["1"]})}
    other = {"ADSL": pd.DataFrame({"STUDYID": ["CDISCPILOT01"], "USUBJID": ["1"]})}
    assert study_settings(tmp_path, ours, None).study.studyid == SETTINGS.study.studyid
    assert study_settings(tmp_path, other, None) is None
    assert study_settings(tmp_path, other, SPECS).study.studyid == SETTINGS.study.studyid  # --specs wins
    (tmp_path / "study.toml").write_bytes((SPECS / "study.toml").read_bytes())
    assert study_settings(tmp_path, ours, None) is not None
    assert study_settings(tmp_path, other, None) is None  # a study.toml of another study is not this one's


# --------------------------------------------------------------------------- demographics

@needs_reference(PILOT)
def test_pilot_demographics_show_its_own_agegr1_and_a_p_value_per_characteristic(tmp_path):
    result = _run("demographics", "--adam", PILOT, "--by", "TRT01A", "--pop", "ITTFL", "--compare-to", "Placebo",
                  "--out", tmp_path)
    assert result.exit_code == 0, result.output
    ard = read_ard_csv(tmp_path / "T-DEM-01.csv")
    agegr1 = ard[ard["variable"].eq("AGEGR1") & ard["stat_name"].eq("n")]
    assert list(dict.fromkeys(agegr1["variable_level"])) == ["<65", "65-80", ">80"]  # AGEGR1N order
    adsl = read_adam(PILOT)["ADSL"]
    itt = adsl[adsl["ITTFL"].eq("Y")]
    for (arm, level), n in itt.groupby(["TRT01A", "AGEGR1"])["USUBJID"].nunique().items():
        assert int(agegr1.loc[agegr1["group1_level"].eq(arm) & agegr1["variable_level"].eq(level), "stat"].iloc[0]) == n
    p = dict(zip(ard.loc[ard["stat_name"].eq("p.value"), "variable"], ard.loc[ard["stat_name"].eq("p.value"), "stat"]))
    arms = list(ARMS)
    assert p["AGE"] == pytest.approx(sps.f_oneway(*(itt.loc[itt["TRT01A"].eq(a), "AGE"] for a in arms)).pvalue)
    weight = [itt.loc[itt["TRT01A"].eq(a), "WEIGHTBL"].dropna() for a in arms]
    assert p["WEIGHTBL"] == pytest.approx(sps.f_oneway(*weight).pvalue)
    for var in ("SEX", "AGEGR1"):  # every expected count >= 5: Pearson's chi-square
        table = pd.crosstab(itt[var], itt["TRT01A"])
        assert p[var] == pytest.approx(sps.chi2_contingency(table, correction=False).pvalue)
    # pinned as the table shows them
    assert (fmt.fmt_p(p["AGE"]), fmt.fmt_p(p["AGEGR1"]), fmt.fmt_p(p["SEX"])) == ("0.593", "0.144", "0.141")
    text = _docx_text(tmp_path / "demographics.docx")
    assert "Pooled Age Group 1" in text and "일원분산분석(ANOVA)" in text
    assert "≥65" not in text and "65세" not in text


@needs_reference(PILOT)
def test_demographics_with_the_bundled_settings_still_shows_another_studys_own_groups(pilot):
    adsl, _ = pilot
    table = demographics(adsl, by="TRT01A", settings=SETTINGS, total=False)
    levels = set(table.ard.loc[table.ard["variable"].eq("AGEGR1"), "variable_level"])
    assert levels == {"<65", "65-80", ">80"}
    assert "p-value" not in table.display.columns  # tests only when asked for


def test_demographics_kruskal_wallis_and_range_levels_in_order():
    adsl = pd.DataFrame({"USUBJID": [str(i) for i in range(9)], "SAFFL": "Y", "ARM": list("AAABBBCCC"),
                         "AGE": [50, 60, 70, 55, 65, 75, 80, 81, 82],
                         "BMIBLGR1": ["<25", "25-<30", ">=30", "<25", "<25", ">=30", "25-<30", "<25", "<25"]})
    table = demographics(adsl, by="ARM", settings=None, total=False, tests=True, continuous_test="kruskal")
    p = table.ard[table.ard["stat_name"].eq("p.value")].set_index("variable")["stat"]
    groups = [adsl.loc[adsl["ARM"].eq(a), "AGE"] for a in "ABC"]
    assert p["AGE"] == pytest.approx(sps.kruskal(*groups).pvalue)
    assert _levels(adsl, "BMIBLGR1") == ["<25", "25-<30", ">=30"]
    assert continuous_group_test([[1.0, 1.0], [1.0]]).p is None  # nothing varies: not testable


# --------------------------------------------------------------------------- response from any ADRS-like dataset

def _response_study():
    adsl = pd.DataFrame({"USUBJID": [f"S{i:02d}" for i in range(12)], "EFFFL": ["Y"] * 11 + ["N"],
                         "TRT01A": ["Drug"] * 6 + ["Placebo"] * 6, "TRT01AN": [1] * 6 + [0] * 6})
    bor = ["CR", "PR", "PR", "SD", "PD", "NE", "PR", "SD", "PD", "PD", "SD", "CR"]
    adrs = pd.DataFrame({"USUBJID": adsl["USUBJID"], "PARAMCD": "BOR", "PARAM": "Best Overall Response",
                         "AVALC": bor})
    adrs = adrs[adrs["USUBJID"].ne("S05")]  # one subject without a best response
    other = adrs.assign(PARAMCD="RSP", AVALC="Y")
    return adsl, pd.concat([adrs, other], ignore_index=True)


def test_response_rates_with_exact_intervals_and_fisher_comparison():
    adsl, adrs = _response_study()
    table = response_table(adsl, adrs, responders=["CR", "PR"], by="TRT01A", compare_to="Placebo")
    ard = table.ard
    rate = ard[ard["variable"].eq("RESPONDER")].pivot_table(index="group1_level", columns="stat_name", values="stat",
                                                            aggfunc="first")
    # Drug: S00-S05 (S05 has no record: a non-responder), CR/PR/PR respond; Placebo: S06-S10 (S11 not EFFFL)
    assert (rate.loc["Drug", "n"], rate.loc["Drug", "N"]) == (3, 6)
    assert (rate.loc["Placebo", "n"], rate.loc["Placebo", "N"]) == (1, 5)
    ci = sps.binomtest(3, 6).proportion_ci(method="exact")
    assert (rate.loc["Drug", "conf.low"], rate.loc["Drug", "conf.high"]) == pytest.approx((ci.low, ci.high))
    p = ard[ard["stat_name"].eq("p.value")]
    assert list(p["group1_level"]) == ["Drug"]
    assert p["stat"].iloc[0] == pytest.approx(sps.fisher_exact([[3, 3], [1, 4]]).pvalue)
    bor = ard[ard["variable"].eq("BOR") & ard["stat_name"].eq("n")]
    assert list(dict.fromkeys(bor["variable_level"])) == ["CR", "PR", "SD", "PD", "Missing"]
    assert int(bor.loc[bor["group1_level"].eq("Drug") & bor["variable_level"].eq("Missing"), "stat"].iloc[0]) == 1
    assert list(table.display.columns[1:3]) == ["Placebo\n(N=5)", "Drug\n(N=6)"]  # TRT01AN order
    assert table.display.iloc[-2, -1] == fmt.fmt_p(p["stat"].iloc[0])


def test_response_needs_a_responder_definition_and_one_record_per_subject():
    adsl, adrs = _response_study()
    with pytest.raises(SubError, match="responders"):
        response_table(adsl, adrs, responders=[])
    twice = pd.concat([adrs, adrs.head(1)], ignore_index=True)
    with pytest.raises(SubError, match="more than one BOR record"):
        response_table(adsl, twice, responders=["CR"])
    assert response_order(["PD", "sCR", "VGPR", "XX", "CR"]) == ["sCR", "CR", "VGPR", "PD", "XX"]


def _write(folder, name, frame):
    kinds = {c: "float" if pd.api.types.is_numeric_dtype(frame[c]) else "text" for c in frame.columns}
    columns = [Column(c, c.title(), kinds[c]) for c in frame.columns]
    write_xpt(Dataset(name.upper(), name.upper(), frame.reset_index(drop=True), columns), folder / f"{name}.xpt",
              dt.datetime(2020, 1, 1))


def test_sub_tlf_response_on_a_small_adam_folder(tmp_path):
    adsl, adrs = _response_study()
    folder = tmp_path / "adam"
    folder.mkdir()
    _write(folder, "adsl", adsl.assign(STUDYID="OTHER"))
    _write(folder, "adrs", adrs)
    out = tmp_path / "out"
    result = _run("response", "--adam", folder, "--by", "TRT01A", "--compare-to", "Placebo", "--out", out)
    assert result.exit_code == 1 and "--responders" in result.output  # another study: no default definition
    result = _run("response", "--adam", folder, "--by", "TRT01A", "--compare-to", "Placebo", "--responders", "CR,PR",
                  "--total", "--out", out)
    assert result.exit_code == 0, result.output
    ard = read_ard_csv(out / "T-RESP-01.csv")
    n = ard[ard["variable"].eq("RESPONDER") & ard["stat_name"].eq("n")].set_index("group1_level")["stat"]
    assert n.to_dict() == {"Placebo": 1, "Drug": 3, "전체": 4}
    assert "반응률 (CR+PR)" in _docx_text(out / "response.docx")


# --------------------------------------------------------------------------- time to event on the pilot's ADTTE

def _km_median(time, event):
    """The product-limit estimate written out: the first time S(t) falls below 0.5."""
    order = np.lexsort((~event, time))
    time, event = time[order], event[order]
    surv, at_risk = 1.0, len(time)
    for t in np.unique(time):
        here = time == t
        d = int(event[here].sum())
        if d:
            surv *= 1 - d / at_risk
            if surv < 0.5:
                return float(t)
        at_risk -= int(here.sum())
    return None


def _logrank_p(time, event, group):
    """Log-rank chi-square (one degree of freedom) from the observed and expected events of group 1."""
    o_minus_e = var = 0.0
    for t in np.unique(time[event]):
        at_risk = time >= t
        n, n1 = at_risk.sum(), (at_risk & group).sum()
        d = (event & (time == t)).sum()
        d1 = (event & (time == t) & group).sum()
        o_minus_e += d1 - d * n1 / n
        if n > 1:
            var += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    return float(sps.chi2.sf(o_minus_e ** 2 / var, 1))


@needs_reference(PILOT)
def test_pilot_time_to_first_dermatologic_event_km_medians_and_log_rank(tmp_path):
    result = _run("tte", "--adam", PILOT, "--by", "TRTA", "--denom-by", "TRT01A", "--compare-to", "Placebo",
                  "--out", tmp_path)
    assert result.exit_code == 0, result.output
    ard = read_ard_csv(tmp_path / "T-TTE-01.csv")
    adam = read_adam(PILOT)
    adtte = adam["ADTTE"][adam["ADTTE"]["PARAMCD"].eq("TTDE") & adam["ADTTE"]["SAFFL"].eq("Y")]
    stats = ard[ard["context"].eq("survival")].pivot_table(index="group1_level", columns="stat_name", values="stat",
                                                           aggfunc="first")
    placebo = adtte[adtte["TRTA"].eq("Placebo")]
    for arm, part in adtte.groupby("TRTA"):
        time, event = part["AVAL"].to_numpy(float), part["CNSR"].to_numpy(float) == 0
        assert stats.loc[arm, "events"] == event.sum() and stats.loc[arm, "n"] == len(part)
        want = _km_median(time, event)
        got = stats.loc[arm, "median"]
        assert (got is None or (isinstance(got, float) and math.isnan(got))) if want is None else got == want, arm
        if arm != "Placebo":
            both = pd.concat([part, placebo])
            p = _logrank_p(both["AVAL"].to_numpy(float), both["CNSR"].to_numpy(float) == 0,
                           both["TRTA"].eq(arm).to_numpy())
            got_p = ard[ard["stat_name"].eq("p.value") & ard["group1_level"].eq(arm)]["stat"].iloc[0]
            assert got_p == pytest.approx(p, rel=1e-9)
    assert stats.loc["Placebo", "events"] == 29  # placebo's median is not reached: NE
    assert "NE (NE, NE)" in _docx_text(tmp_path / "tte.docx")
    assert (tmp_path / "F-TTE-01.png").read_bytes()[:4] == b"\x89PNG"


@needs_reference(PILOT)
def test_tte_hazard_ratio_above_one_for_the_arm_with_more_events(pilot):
    adsl, _ = pilot
    adtte = read_adam(PILOT)["ADTTE"]
    table, figure = km_table(adsl, adtte, by="TRTA", denom_by="TRT01A", compare_to="Placebo")
    hr = table.ard[table.ard["stat_name"].eq("hr")].set_index("group1_level")["stat"]
    assert all(hr[arm] > 1 for arm in ACTIVE)
    low = table.ard[table.ard["stat_name"].eq("hr.conf.low")].set_index("group1_level")["stat"]
    assert all(low[arm] > 1 for arm in ACTIVE)  # the log-rank p < 0.001 agrees
    assert figure.ard["output_id"].eq("F-TTE-01").all()


def test_meddra_version_comes_from_the_folders_define_xml(tmp_path):
    from submission.tlf.tlf_command import define_meddra_version

    assert define_meddra_version(tmp_path) is None
    (tmp_path / "define.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"><Study><MetaDataVersion>'
        '<CodeList OID="CL.MEDDRA" Name="MedDRA" DataType="text"><ExternalCodeList Dictionary="MedDRA" Version="26.0"/>'
        '</CodeList></MetaDataVersion></Study></ODM>', encoding="utf-8")
    assert define_meddra_version(tmp_path) == "26.0"


@needs_reference(PILOT)
def test_meddra_version_option_reaches_the_footnote(tmp_path):
    result = _run("ae-soc-pt", "--adam", PILOT, "--by", "TRTA", "--denom-by", "TRT01A", "--meddra-version", "8.0",
                  "--out", tmp_path)
    assert result.exit_code == 0, result.output
    text = _docx_text(tmp_path / "ae-soc-pt.docx")
    assert "MedDRA 버전 8.0" in text and "p-value" not in text  # no comparison unless asked for
