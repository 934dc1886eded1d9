"""Safety tables (report tables 5-9, figure 12, summary sentences 13) against independent recomputation.

Tiny inline ADSL/ADAE frames with the spec's variable names; numbers are recomputed here with
plain pandas and scipy and compared with the builders' ARD rows.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats as sps

from submission.errors import SubError
from submission.study import load_settings
from submission.tlf.ard import (
    ANY_EVENT,
    ArdLookup,
    ard_csv_text,
    ard_value,
    read_ard_csv,
)
from submission.tlf.glossary import AVOIDED
from submission.tlf.table import FigureResult, TableResult
from submission.tlf.tables_safety import (
    Conventions,
    SummaryResult,
    _top_ranks,
    adr_by_grade,
    adr_by_outcome,
    adr_by_severity,
    adr_factor_analysis,
    ae_by_soc_pt,
    ae_by_soc_pt_all,
    safety_overview,
    special_populations,
    summary_sentences,
)

from .conftest import SHARED, SPECS, needs_reference

PILOT = SHARED / "reference" / "cdisc-pilot" / "adam"
SETTINGS = load_settings(SPECS)

# first-occurrence flag prefix -> the Y/N flags that define the subset (spec method MT.ADAE.AOCC)
OCC = {"A": (), "AR": ("ADRFL",), "SE": ("AESER",), "SR": ("ADRFL", "AESER"), "UE": ("UNEXPFL",),
       "UR": ("UNEXPFL", "ADRFL"), "XE": ("UNEXPFL", "AESER"), "XR": ("UNEXPFL", "ADRFL", "AESER")}
SUBSET_FLAGS = {"AE": (), "ADR": ("ADRFL",), "SAE": ("AESER",), "SADR": ("ADRFL", "AESER"), "UAE": ("UNEXPFL",),
                "UADR": ("UNEXPFL", "ADRFL"), "USAE": ("UNEXPFL", "AESER"), "USADR": ("UNEXPFL", "ADRFL", "AESER"),
                "AEDISC": ("AEDISCFL",), "FATAL": ("FATALFL",)}


def _with_occurrence_flags(adae: pd.DataFrame) -> pd.DataFrame:
    adae = adae.sort_values(["USUBJID", "ASTDT", "AESEQ"]).reset_index(drop=True)
    for code, flags in OCC.items():
        mask = adae["TRTEMFL"].eq("Y")
        for f in flags:
            mask &= adae[f].eq("Y")
        sub = adae[mask]
        for suffix, keys in (("FL", ["USUBJID"]), ("SFL", ["USUBJID", "AEBODSYS"]),
                             ("PFL", ["USUBJID", "AEBODSYS", "AEDECOD"])):
            column = pd.Series(None, index=adae.index, dtype=object)
            column[sub.index[~sub.duplicated(keys)]] = "Y"
            adae[f"{code}OCC{suffix}"] = column
    return adae


def _adsl() -> pd.DataFrame:
    return pd.DataFrame({
        "USUBJID": ["01", "02", "03", "04", "05", "06"],
        "SAFFL": ["Y", "Y", "Y", "Y", "Y", "N"],
        "AGE": [70.0, 50.0, 80.0, 40.0, 66.0, 30.0],
        "AGEGR1": [">=65", "<65", ">=65", "<65", ">=65", "<65"],
        "AGEGR2": ["<75", "<75", ">=75", "<75", "<75", "<75"],
        "CRCLGR1": [">=60", "30-<60", "<30", ">=60", None, ">=60"],
        "HEPIMPFL": ["N", "N", "Y", "N", "N", "N"],
        "LTUSEFL": ["Y", "N", "N", "Y", "N", "N"],
    })


def _adae() -> pd.DataFrame:
    columns = ["USUBJID", "AESEQ", "ASTDT", "AEBODSYS", "AEDECOD", "TRTEMFL", "ADRFL", "AESER", "UNEXPFL",
               "AEDISCFL", "FATALFL", "ASEV", "ATOXGR", "AEOUT"]
    rows = [
        ("01", 1, 10, "GASTRO", "NAUSEA", "Y", "Y", "N", "N", "N", "N", "MILD", "1", "RECOVERED/RESOLVED"),
        ("01", 2, 20, "GASTRO", "NAUSEA", "Y", "Y", "Y", "N", "N", "N", "SEVERE", "3", "RECOVERED/RESOLVED"),
        ("01", 3, 30, "GASTRO", "VOMITING", "Y", "N", "N", "Y", "N", "N", "MILD", "1", "RECOVERED/RESOLVED"),
        ("02", 1, 5, "NERVOUS", "HEADACHE", "Y", "Y", "N", "N", "N", "N", "MODERATE", None, "RECOVERING/RESOLVING"),
        ("02", 2, 6, "GASTRO", "VOMITING", "Y", "N", "N", "Y", "N", "N", "MILD", "1", "RECOVERED/RESOLVED"),
        ("03", 1, 3, "NERVOUS", "DIZZINESS", "Y", "N", "Y", "Y", "N", "Y", "SEVERE", "5", "FATAL"),
        ("03", 2, -5, "NERVOUS", "HEADACHE", None, "Y", "Y", "N", "N", "N", "MILD", "1", "RECOVERED/RESOLVED"),
        ("04", 1, 40, "SKIN", "RASH", "Y", "Y", "N", "Y", "Y", "N", "MODERATE", "2", "NOT RECOVERED/NOT RESOLVED"),
        ("06", 1, 40, "GASTRO", "NAUSEA", "Y", "Y", "Y", "N", "N", "N", "MILD", "1", "RECOVERED/RESOLVED"),
    ]
    frame = pd.DataFrame(rows, columns=columns).astype(object)
    frame["SAFFL"] = frame["USUBJID"].map(dict(zip(_adsl()["USUBJID"], _adsl()["SAFFL"])))
    return _with_occurrence_flags(frame)


def _recount(adsl: pd.DataFrame, adae: pd.DataFrame, flags: tuple[str, ...]) -> tuple[int, int, int]:
    """(n subjects, N, events) by hand: safety set, treatment-emergent, every flag 'Y'."""
    safety = set(adsl.loc[adsl["SAFFL"].eq("Y"), "USUBJID"])
    records = adae[adae["USUBJID"].isin(safety) & adae["TRTEMFL"].eq("Y")]
    for flag in flags:
        records = records[records[flag].eq("Y")]
    return records["USUBJID"].nunique(), len(safety), len(records)


# --------------------------------------------------------------------------- 5. overview

def test_overview_counts_events_and_exact_ci_match_a_hand_count():
    adsl, adae = _adsl(), _adae()
    table = safety_overview(adsl, adae, SETTINGS)
    assert isinstance(table, TableResult) and table.output_id == "T-05"
    assert set(table.ard["variable"]) == set(SUBSET_FLAGS)
    for key, flags in SUBSET_FLAGS.items():
        n, N, events = _recount(adsl, adae, flags)
        assert ard_value(table.ard, "n", variable=key) == n, key
        assert ard_value(table.ard, "N", variable=key) == N == 5
        assert ard_value(table.ard, "events", variable=key) == events, key
        low = sps.beta.ppf(0.025, n, N - n + 1) if n else 0.0
        high = sps.beta.ppf(0.975, n + 1, N - n) if n < N else 1.0
        assert ard_value(table.ard, "conf.low", variable=key) == pytest.approx(low, abs=1e-9)
        assert ard_value(table.ard, "conf.high", variable=key) == pytest.approx(high, abs=1e-9)
    # the hand count itself, for the reader: 4 subjects with 7 TEAEs; 3 with 4 ADRs; no unexpected serious ADR
    assert _recount(adsl, adae, ()) == (4, 5, 7)
    assert _recount(adsl, adae, ("ADRFL",)) == (3, 5, 4)
    row = table.display.set_index("구분").loc["유해사례"]
    assert row.iloc[0] == "4 (80.0%) [7]"
    assert table.display.set_index("구분").loc["예상하지 못한 중대한 약물유해반응"].iloc[0] == "0"
    assert any("MedDRA 버전 19.1" in note for note in table.footnotes)
    assert any("28일" in note for note in table.footnotes)  # the treatment-emergent window from the settings


def test_overview_leaves_out_subsets_whose_flags_the_data_lack():
    adae = _adae().drop(columns=["UNEXPFL"])
    table = safety_overview(_adsl(), adae, SETTINGS)
    assert not {"UAE", "UADR", "USAE", "USADR"} & set(table.ard["variable"])
    assert any("UNEXPFL 없음" in note for note in table.footnotes)


# --------------------------------------------------------------------------- 6. SOC and PT

def test_soc_pt_table_orders_by_frequency_with_alphabetical_ties_and_counts_subjects_once():
    adsl, adae = _adsl(), _adae()
    table = ae_by_soc_pt(adsl, adae, SETTINGS, subset="AE")
    first = table.display.columns[0]
    assert list(table.display[first]) == [
        "유해사례 발현 대상자",
        "GASTRO", "VOMITING", "NAUSEA",   # GASTRO and NERVOUS tie at 2 subjects: alphabetical; VOMITING has 2
        "NERVOUS", "DIZZINESS", "HEADACHE",  # tie at 1 subject each (03's HEADACHE is not treatment-emergent)
        "SKIN", "RASH",
    ]
    assert table.display.attrs["indent"] == [0, 0, 1, 1, 0, 1, 1, 0, 1]
    ard = table.ard
    safety_te = adae[adae["SAFFL"].eq("Y") & adae["TRTEMFL"].eq("Y")]
    for soc, part in safety_te.groupby("AEBODSYS"):
        assert ard_value(ard, "n", variable="AEBODSYS", variable_level=soc) == part["USUBJID"].nunique()
        assert ard_value(ard, "events", variable="AEBODSYS", variable_level=soc) == len(part)
        for pt, sub in part.groupby("AEDECOD"):
            assert ard_value(ard, "n", variable="AEDECOD", variable_level=pt, group2_level=soc) == sub["USUBJID"].nunique()
            assert ard_value(ard, "events", variable="AEDECOD", variable_level=pt, group2_level=soc) == len(sub)
    # the ARD rows follow the table order too
    levels = [v for v in ard.loc[ard["stat_name"].eq("n"), "variable_level"]]
    assert levels == [None, "GASTRO", "VOMITING", "NAUSEA", "NERVOUS", "DIZZINESS", "HEADACHE", "SKIN", "RASH"]


def test_soc_pt_tables_for_the_eight_subsets_agree_with_the_first_occurrence_flags():
    tables = ae_by_soc_pt_all(_adsl(), _adae(), SETTINGS)  # raises if a flag disagrees with a count
    assert [t.output_id for t in tables] == ["T-06-AE", "T-06-ADR", "T-06-SAE", "T-06-SADR", "T-06-UAE",
                                           "T-06-UADR", "T-06-USAE", "T-06-USADR"]
    adr = tables[1].ard
    assert ard_value(adr, "n", variable=ANY_EVENT) == 3
    assert ard_value(adr, "events", variable="AEDECOD", variable_level="NAUSEA", group2_level="GASTRO") == 2
    assert ard_value(tables[-1].ard, "n", variable=ANY_EVENT) == 0


def test_a_first_occurrence_flag_that_disagrees_stops_the_build():
    adae = _adae()
    second_nausea = adae.index[adae["USUBJID"].eq("01") & adae["AESEQ"].eq(2)][0]
    adae.loc[second_nausea, "AOCCPFL"] = "Y"  # a second "first" occurrence of NAUSEA for subject 01
    with pytest.raises(SubError, match="first-occurrence") as info:
        ae_by_soc_pt(_adsl(), adae, SETTINGS, subset="AE")
    assert any(p.column == "AOCCPFL" and "NAUSEA" in p.message for p in info.value.problems)


# --------------------------------------------------------------------------- 7. severity and grade

def test_severity_counts_each_subject_at_the_worst_severity_and_every_event():
    table = adr_by_severity(_adsl(), _adae(), SETTINGS)
    ard = table.ard
    top = ard[ard["group2_level"].isna()]

    def n(level, stat="n"):
        return ard_value(top, stat, variable="ASEV", variable_level=level)

    # ADRs: 01 NAUSEA MILD + SEVERE (worst SEVERE), 02 HEADACHE MODERATE, 04 RASH MODERATE
    assert (n("MILD"), n("MODERATE"), n("SEVERE")) == (0, 2, 1)
    assert (n("MILD", "events"), n("MODERATE", "events"), n("SEVERE", "events")) == (1, 2, 1)
    pt = ard[ard["group3_level"].eq("NAUSEA")]
    assert ard_value(pt, "n", variable="ASEV", variable_level="SEVERE") == 1
    assert ard_value(pt, "n", variable="ASEV", variable_level="MILD") == 0


def test_severity_grade_and_outcome_ards_hold_integer_counts_and_standard_labels():
    for build, context in ((adr_by_severity, "severity"), (adr_by_grade, "grade"), (adr_by_outcome, "outcome")):
        ard = build(_adsl(), _adae(), SETTINGS).ard
        assert set(ard["context"]) == {context}  # an ASCII id, not the Korean display text
        counts = ard[ard["stat_name"].isin(["n", "N", "events"])]
        assert all(type(v) is int for v in counts["stat"]), context
        labels = dict(zip(ard["stat_name"], ard["stat_label"]))
        assert labels == {"n": "n", "N": "N", "p": "%", "events": "Events"}
        assert "\n479.0," not in ard_csv_text(ard) and ",1.0\n" not in ard_csv_text(ard)


def test_a_table_number_missing_from_the_ard_is_an_error():
    ard = safety_overview(_adsl(), _adae(), SETTINGS).ard
    with pytest.raises(KeyError):
        ard_value(ard, "n", variable="NO SUCH SUBSET")
    look = ArdLookup(ard)
    assert look("n", "AE", "Y") == 4
    with pytest.raises(KeyError):
        look("n", "AE", "Y", "NO SUCH COLUMN")
    twice = pd.concat([ard, ard], ignore_index=True)
    with pytest.raises(KeyError, match="more than one"):
        ArdLookup(twice)("n", "AE", "Y")


def test_grade_counts_an_ungraded_subject_only_when_nothing_in_the_row_is_graded():
    ard = adr_by_grade(_adsl(), _adae(), SETTINGS).ard
    top = ard[ard["group2_level"].isna()]
    assert ard_value(top, "n", variable="ATOXGR", variable_level="등급 미평가") == 1  # 02 HEADACHE, not graded
    assert ard_value(top, "n", variable="ATOXGR", variable_level="3") == 1
    assert ard_value(top, "n", variable="ATOXGR", variable_level="2") == 1



def test_severity_grade_and_outcome_count_every_cell_of_every_column_as_a_hand_count():
    """Two arms and a total column, an uncoded SOC: each cell recounted record by record here."""
    adsl = _adsl().assign(ARM=["A", "B", "A", "B", "A", "A"])
    adae = _adae().astype(object)
    adae.loc[adae["AEDECOD"].eq("RASH"), "AEBODSYS"] = None  # an uncoded SOC
    adae.loc[(adae["USUBJID"] == "01") & (adae["AESEQ"] == 1), "ASEV"] = None  # a missing severity
    adae["ARM"] = adae["USUBJID"].map(dict(zip(adsl["USUBJID"], adsl["ARM"])))
    safety = adsl[adsl["SAFFL"].eq("Y")]
    adrs = adae[adae["USUBJID"].isin(safety["USUBJID"]) & adae["TRTEMFL"].eq("Y") & adae["ADRFL"].eq("Y")].copy()
    adrs["AEBODSYS"] = adrs["AEBODSYS"].fillna("Uncoded")
    cases = ((adr_by_severity, "ASEV", ["MILD", "MODERATE", "SEVERE", "결측"], "worst", "결측"),
             (adr_by_grade, "ATOXGR", ["등급 미평가", "1", "2", "3", "4", "5"], "worst", "등급 미평가"),
             (adr_by_outcome, "AEOUT", None, "any", None))
    for build, var, rank_order, rule, missing in cases:
        ard = build(adsl, adae, SETTINGS, by="ARM", total="전체").ard
        look = ArdLookup(ard)
        level = adrs[var].where(adrs[var].notna(), missing)
        for column, members in (("A", ["01", "03", "05"]), ("B", ["02", "04"]), ("전체", list(safety["USUBJID"]))):
            rows = [(ANY_EVENT, None, None, pd.Series(True, index=adrs.index))]
            for soc in adrs["AEBODSYS"].unique():
                rows.append(("AEBODSYS", soc, None, adrs["AEBODSYS"].eq(soc)))
                for pt in adrs.loc[adrs["AEBODSYS"].eq(soc), "AEDECOD"].unique():
                    rows.append(("AEDECOD", pt, soc, adrs["AEBODSYS"].eq(soc) & adrs["AEDECOD"].eq(pt)))
            for kind, term, parent, mask in rows:
                at = mask & adrs["USUBJID"].isin(members)
                keys = (column,) if kind == ANY_EVENT else ((column, term) if parent is None else (column, parent, term))
                assert look("n", ANY_EVENT, None, *keys) == adrs.loc[at, "USUBJID"].nunique()
                assert look("events", ANY_EVENT, None, *keys) == int(at.sum())
                for lv in level[at].unique():
                    events = int((at & level.eq(lv)).sum())
                    if rule == "worst":
                        worst = {s: max(level[at & adrs["USUBJID"].eq(s)], key=rank_order.index)
                                 for s in adrs.loc[at, "USUBJID"].unique()}
                        n = sum(1 for w in worst.values() if w == lv)
                    else:
                        n = adrs.loc[at & level.eq(lv), "USUBJID"].nunique()
                    assert look("n", var, lv, *keys) == n, (var, column, kind, term, lv)
                    assert look("events", var, lv, *keys) == events, (var, column, kind, term, lv)


# --------------------------------------------------------------------------- 8. factors

def _factor_frames(sex_adr: dict[str, tuple[int, int]], hep_y: tuple[int, int]):
    """ADSL with SEX (M/F: (with ADR, without)) and HEPIMPFL (first `hep_y` subjects Y), ADAE with one ADR each."""
    ids, sex, adr = [], [], []
    for level, (yes, no) in sex_adr.items():
        for i in range(yes + no):
            ids.append(f"{level}{i:03d}")
            sex.append(level)
            adr.append(i < yes)
    hep = ["N"] * len(ids)
    # HEPIMPFL Y: hep_y[0] subjects with an ADR and hep_y[1] without
    with_adr = [i for i, a in enumerate(adr) if a][:hep_y[0]]
    without = [i for i, a in enumerate(adr) if not a][:hep_y[1]]
    for i in with_adr + without:
        hep[i] = "Y"
    adsl = pd.DataFrame({"USUBJID": ids, "SAFFL": "Y", "SEX": sex, "HEPIMPFL": hep})
    adae = pd.DataFrame({"USUBJID": [s for s, a in zip(ids, adr) if a], "TRTEMFL": "Y", "ADRFL": "Y",
                         "AEBODSYS": "GASTRO", "AEDECOD": "NAUSEA"})
    return adsl, adae, dict(zip(ids, adr))


def test_factor_table_p_values_equal_scipy_and_fisher_is_chosen_below_the_expected_threshold():
    adsl, adae, adr = _factor_frames({"M": (14, 6), "F": (6, 14)}, hep_y=(3, 0))
    uni, mv, forest = adr_factor_analysis(adsl, adae, SETTINGS, factors=("SEX", "HEPIMPFL"))
    ard = uni.ard

    sex = [[14, 6], [6, 14]]
    _, p_chi2, _, expected = sps.chi2_contingency(sex, correction=False)
    assert expected.min() >= SETTINGS.conventions.fisher_expected_below
    assert ard_value(ard, "p.value", variable="SEX", context="factor_test") == pytest.approx(p_chi2, rel=1e-12)
    assert ard_value(ard, "method", variable="SEX", context="factor_test") == "Chi-square test"
    assert ard_value(ard, "method_ko", variable="SEX", context="factor_test") == "카이제곱 검정"

    hep = [[17, 20], [3, 0]]  # rows N, Y; columns ADR yes, no
    assert sps.chi2_contingency(hep, correction=False)[3].min() < SETTINGS.conventions.fisher_expected_below
    assert ard_value(ard, "p.value", variable="HEPIMPFL", context="factor_test") == pytest.approx(
        sps.fisher_exact(hep).pvalue, rel=1e-12)
    assert ard_value(ard, "method_ko", variable="HEPIMPFL", context="factor_test") == "Fisher의 정확 검정"

    assert ard_value(ard, "n", variable="SEX", variable_level="M") == 14
    assert ard_value(ard, "N", variable="SEX", variable_level="M") == 20
    shown = uni.display.set_index("수준")
    assert shown.loc["남성", "약물유해반응 n (%)"] == "14 (70.0%)"
    assert shown.loc["남성", "검정"] == "카이제곱 검정" or shown.loc["여성", "검정"] == "카이제곱 검정"
    assert "Fisher의 정확 검정" in set(uni.display["검정"])

    # SEX (p < 0.05) enters the model, HEPIMPFL (p = 0.23) does not; OR and CI are in the ARD
    assert ard_value(mv.ard, "n_factors", variable="..model..") == 1
    odds = ard_value(mv.ard, "estimate", variable="SEX")
    reference = ard_value(mv.ard, "reference", variable="SEX")
    by_hand = (6 / 14) / (14 / 6) if reference == "M" else (14 / 6) / (6 / 14)
    assert odds == pytest.approx(by_hand, rel=1e-6)
    assert ard_value(mv.ard, "conf.low", variable="SEX") < odds < ard_value(mv.ard, "conf.high", variable="SEX")
    assert isinstance(forest, FigureResult) and forest.png.startswith(b"\x89PNG")


def _nested_factor_frames():
    """120 subjects whose ADRs depend on age (so on both age groupings) and on CrCl (first level "<30")."""
    rng = np.random.default_rng(11)
    n = 120
    age = rng.choice([50.0, 60.0, 70.0, 80.0], n)
    crcl = rng.choice(["<30", "30-<60", ">=60"], n, p=[0.3, 0.3, 0.4])
    logit = -1 + 1.5 * (age >= 65) + 1.5 * (crcl == "<30") + 0.5 * (crcl == "30-<60")
    adr = rng.random(n) < 1 / (1 + np.exp(-logit))
    ids = [f"S{i:03d}" for i in range(n)]
    adsl = pd.DataFrame({"USUBJID": ids, "SAFFL": "Y", "AGE": age, "AGEGR1": np.where(age >= 65, ">=65", "<65"),
                         "AGEGR2": np.where(age >= 75, ">=75", "<75"), "CRCLGR1": crcl})
    adae = pd.DataFrame({"USUBJID": [s for s, a in zip(ids, adr) if a], "TRTEMFL": "Y", "ADRFL": "Y",
                         "AEBODSYS": "GASTRO", "AEDECOD": "NAUSEA"})
    return adsl, adae


def test_the_model_takes_the_settings_reference_and_one_age_grouping():
    adsl, adae = _nested_factor_frames()
    uni, mv, _ = adr_factor_analysis(adsl, adae, SETTINGS, factors=("AGEGR1", "AGEGR2", "CRCLGR1"))
    p = {f: ard_value(uni.ard, "p.value", variable=f, context="factor_test") for f in ("AGEGR1", "AGEGR2", "CRCLGR1")}
    assert all(value < SETTINGS.conventions.multivariable_entry_p for value in p.values())  # all three would enter
    p.pop("CRCLGR1")
    kept = min(p, key=p.get)
    dropped = ({"AGEGR1", "AGEGR2"} - {kept}).pop()
    model = mv.ard
    entered = set(model.loc[model["context"].eq("logistic"), "variable"]) - {"..model.."}
    assert kept in entered and dropped not in entered
    assert ard_value(model, "entered_instead", variable=dropped, context="logistic_set_aside") == kept
    assert any(dropped in note and kept in note and "하나만" in note for note in mv.footnotes)
    # CRCLGR1's reference is the settings' ">=60", although "<30" is its first level
    assert SETTINGS.conventions.groups["CRCLGR1"].reference == ">=60"
    assert set(model.loc[model["variable"].eq("CRCLGR1") & model["stat_name"].eq("reference"), "stat"]) == {">=60"}
    rows = mv.display
    reference_row = rows[rows["요인"].eq("크레아티닌 청소율군(mL/min)")].iloc[0]  # the glossary's name, as in T-DEM-01
    assert reference_row["수준"] == "≥60" and reference_row.iloc[2] == "참조"  # bounds printed with ≥ everywhere


def test_prior_lines_are_grouped_by_the_settings_grouping():
    adsl, adae, _ = _factor_frames({"M": (3, 3), "F": (3, 3)}, hep_y=(0, 0))
    adsl["PRLINES"] = [0, 1, 2, 3, 4, 5] * 2
    uni, _, _ = adr_factor_analysis(adsl, adae, SETTINGS, factors=("PRLINES",))
    levels = list(uni.ard.loc[uni.ard["stat_name"].eq("N") & uni.ard["variable"].eq("PRLINES"), "variable_level"])
    assert levels == list(SETTINGS.conventions.groups["PRLINESGR"].labels) == ["0-1", "2", ">=3"]
    assert ard_value(uni.ard, "N", variable="PRLINES", variable_level=">=3") == 6


def test_prior_lines_are_grouped_by_the_given_grouping():
    from submission.study import Grouping

    adsl, adae, _ = _factor_frames({"M": (3, 3), "F": (3, 3)}, hep_y=(0, 0))
    adsl["PRLINES"] = [0, 1, 2, 3, 4, 5] * 2
    uni, _, _ = adr_factor_analysis(adsl, adae, SETTINGS, factors=("PRLINES",),
                                    prior_lines=Grouping(label="lines", cuts=[1, 3], labels=["0", "1-2", ">=3"]))
    levels = list(uni.ard.loc[uni.ard["stat_name"].eq("N") & uni.ard["variable"].eq("PRLINES"), "variable_level"])
    assert levels == ["0", "1-2", ">=3"]
    assert ard_value(uni.ard, "N", variable="PRLINES", variable_level=">=3") == 6


# --------------------------------------------------------------------------- 9. special populations

def test_special_populations_report_children_and_pregnant_women_as_none_enrolled():
    tables = special_populations(_adsl(), _adae(), SETTINGS, child_age_below=19)
    ids = [t.output_id for t in tables]
    assert ids[0] == "T-09-00" and "T-09-CHILDREN" in ids and ids[-1] == "T-09-PREGNANT"
    children = tables[ids.index("T-09-CHILDREN")]
    assert "19세 미만 (N=0)" in children.display.columns
    assert set(children.display["19세 미만 (N=0)"]) <= {"해당 없음", ""}
    assert any("해당 없음" in note for note in children.footnotes)
    pregnant = tables[-1]
    assert pregnant.display.loc[0, "결과"] == "해당 없음" and "변수가 없어" in pregnant.display.loc[0, "사유"]

    elderly = tables[ids.index("T-09-ELDERLY1")].ard
    n, N, events = _recount(_adsl()[_adsl()["AGEGR1"].eq(">=65")], _adae(), ("ADRFL",))
    assert ard_value(elderly, "n", variable="ADR", group1_level=">=65") == n == 1  # 01 (03 and 05 had none)
    assert ard_value(elderly, "N", variable="ADR", group1_level=">=65") == N == 3
    assert ard_value(elderly, "events", variable="ADR", group1_level=">=65") == events == 2
    renal = tables[ids.index("T-09-RENAL")].ard
    assert ard_value(renal, "N", variable="AE", group1_level="결측") == 1  # subject 05 has no CrCl group


def test_the_children_age_cut_comes_from_the_settings():
    assert SETTINGS.conventions.child_age_below == 19
    settings = SETTINGS.model_copy(update={"conventions": SETTINGS.conventions.model_copy(
        update={"child_age_below": 45})})
    tables = special_populations(_adsl(), _adae(), settings)
    children = next(t for t in tables if t.output_id == "T-09-CHILDREN")
    assert "45세 미만 (N=1)" in children.display.columns  # subject 04, aged 40
    summary = tables[0]
    assert "45세 미만" in set(summary.display["구분"])


def test_footnotes_use_the_treatment_emergent_wording_of_the_methods():
    table = safety_overview(_adsl(), _adae(), SETTINGS)
    assert any(note.startswith("투여 중 발현(treatment-emergent, TRTEMFL='Y')") for note in table.footnotes)
    assert any("SOC: 기관계 대분류" in note and "PT: 기본 용어" in note for note in table.footnotes)
    for text in [table.title, *table.footnotes]:
        assert not any(word in text for word in AVOIDED), text


# --------------------------------------------------------------------------- 13. summary sentences

LABEL = re.compile(r"(\d+(?:\.\d+)?)%\((\d+)/(\d+)명, (\d+)건\)")


def test_summary_sentences_quote_the_overview_numbers():
    adsl, adae = _adsl(), _adae()
    overview = safety_overview(adsl, adae, SETTINGS)
    result = summary_sentences(adsl, adae, SETTINGS)
    assert isinstance(result, SummaryResult) and list(result) == result.sentences
    assert result.sentences[0].startswith(
        f"국내에서 재심사를 위하여 {SETTINGS.dates.reexamination_period_years}년 동안 5명을 대상으로 실시한 "
        "사용성적조사 결과 유해사례의 발현율은 인과관계와 상관없이 80.00%(4/5명, 7건)로 보고되었")
    for key, sentence in zip(("AE", "ADR", "SAE", "SADR", "UAE", "UADR"), result.sentences):
        pct, n, N, events = LABEL.search(sentence).groups()
        assert (int(n), int(N), int(events)) == tuple(ard_value(overview.ard, s, variable=key)
                                                      for s in ("n", "N", "events"))
        assert pct == f"{100 * int(n) / int(N):.2f}"
    # PTs in frequency order, ties alphabetical, English names (no Korean PT names in the data)
    assert "다음과 같다: VOMITING 40.00%(2/5명, 2건), DIZZINESS 20.00%(1/5명, 1건), HEADACHE" in result.sentences[0]
    assert result.pt_names == "en"
    assert set(result.ard["output_id"]) == {"T-13"}


def test_summary_period_is_the_reexamination_period_not_the_follow_up():
    dates = SETTINGS.dates.model_copy(update={"max_follow_up_years": 9, "reexamination_period_years": 4})
    settings = SETTINGS.model_copy(update={"dates": dates})
    result = summary_sentences(_adsl(), _adae(), settings)
    assert result.sentences[0].startswith("국내에서 재심사를 위하여 4년 동안 5명을")
    assert any("reexamination_period_years" in note for note in result.footnotes)


def test_summary_sentences_end_with_unexpected_serious_adrs_and_no_placeholder():
    result = summary_sentences(_adsl(), _adae(), SETTINGS)
    assert list(result.display["구분"]) == ["유해사례", "약물유해반응", "중대한 유해사례", "중대한 약물유해반응",
                                           "예상하지 못한 유해사례", "예상하지 못한 약물유해반응",
                                           "예상하지 못한 중대한 약물유해반응"]
    assert result.sentences[-1] == "예상하지 못한 중대한 약물유해반응은 보고되지 않았다."  # none in the tiny data
    assert not any("{" in sentence or "}" in sentence for sentence in result.sentences)
    adae = _adae()
    adae.loc[adae["USUBJID"].eq("01") & adae["AESEQ"].eq(2), "UNEXPFL"] = "Y"  # 01's serious NAUSEA ADR
    adae = _with_occurrence_flags(adae)
    sentence = summary_sentences(_adsl(), adae, SETTINGS).sentences[-1]
    assert sentence.startswith("예상하지 못한 중대한 약물유해반응 발현율은 20.00%(1/5명, 1건)로 보고되었")


def test_summary_sentences_use_korean_pt_names_when_given():
    result = summary_sentences(_adsl(), _adae(), SETTINGS, pt_names_ko={"NAUSEA": "구역", "VOMITING": "구토"})
    assert "구토(VOMITING) 40.00%(2/5명, 2건)" in result.sentences[0]  # the English name at first use only
    assert result.pt_names == "mixed"


def test_summary_sentences_name_the_top_pts_and_cite_the_table_for_the_rest():
    """AE, ADR and SAE sentences name the first ranks and cite their SOC/PT table for the others;
    serious ADRs and the unexpected subsets name every PT; the ARD keeps every PT row."""
    adsl, adae = _adsl(), _adae()
    result = summary_sentences(adsl, adae, SETTINGS, max_pts=1)
    ae = result.sentences[0]
    assert "발현 대상자 수가 많은 순으로 상위 1개 기본 용어를 나열하면 다음과 같다: VOMITING 40.00%(2/5명, 2건)." in ae
    assert "DIZZINESS" not in ae and "NAUSEA" not in ae
    assert ae.output_id == "T-06-AE"  # a ReferencedSentence: the report gives the table's number
    assert ae({"T-06-AE": "표 9"}).endswith(" 그 밖의 기본 용어는 표 9에 제시하였다.")
    assert ae.endswith("유해사례 발현 현황 표에 제시하였다.")  # without the report's numbers: the table's title
    by_name = dict(zip(result.display["구분"], result.sentences))
    unexpected = by_name["예상하지 못한 유해사례"]  # named in full whatever max_pts
    assert all(pt in unexpected for pt in ("VOMITING", "DIZZINESS", "RASH")) and "그 밖의" not in unexpected
    # every PT of the AE subset stays in the ARD (the label change lists them all)
    ae_pts = result.ard[result.ard["group1_level"].eq("AE") & result.ard["variable"].eq("AEDECOD")]
    assert set(ae_pts["variable_level"]) == {"VOMITING", "DIZZINESS", "HEADACHE", "NAUSEA", "RASH"}
    assert result.ard.equals(summary_sentences(adsl, adae, SETTINGS, max_pts=None).ard)
    # ties at the last rank are all named
    pts = [("A", "S", 3), ("B", "S", 2), ("C", "S", 2), ("D", "S", 1)]
    assert _top_ranks(pts, 2) == 3 and _top_ranks(pts, 1) == 1 and _top_ranks(pts, 9) == 4


@pytest.mark.parametrize("N, decimals, expected", [
    (8, 2, "12.50%(1/8명, 1건)"),
    (16, 2, "6.25%(1/16명, 1건)"),
    (16, 1, "6.3%(1/16명, 1건)"),   # 6.25 rounds half up (half-to-even would give 6.2)
    (8, 0, "13%(1/8명, 1건)"),      # 12.5 -> 13 (half-to-even: 12)
    (3, 2, "33.33%(1/3명, 1건)"),
])
def test_summary_sentence_percentages_round_half_up(N, decimals, expected):
    adsl = pd.DataFrame({"USUBJID": [f"{i:02d}" for i in range(N)], "SAFFL": "Y"})
    adae = pd.DataFrame({"USUBJID": ["00"], "TRTEMFL": "Y", "ADRFL": "N", "AESER": "N", "UNEXPFL": "N",
                         "AEBODSYS": "GASTRO", "AEDECOD": "NAUSEA"})
    conv = dataclasses.replace(Conventions.of(SETTINGS), pct_summary=decimals)
    result = summary_sentences(adsl, adae, conv)
    assert f"인과관계와 상관없이 {expected}로 보고되었" in result.sentences[0]
    assert result.sentences[1].endswith("약물유해반응은 보고되지 않았다.")


# --------------------------------------------------------------------------- sub tlf on another study's ADaM

@needs_reference(PILOT)
def test_sub_tlf_on_the_cdisc_pilot_gives_a_column_per_arm_with_its_adsl_n(tmp_path):
    from docx import Document

    from submission.cli import main
    from submission.xpt import read_xpt

    result = CliRunner().invoke(main, ["tlf", "ae-soc-pt", "--adam", str(PILOT), "--by", "TRTA",
                                       "--denom-by", "TRT01A", "--out", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    ard = read_ard_csv(tmp_path / "T-06-AE.csv")
    any_rows = ard[ard["variable"].eq(ANY_EVENT)]
    arms = {"Placebo": 86, "Xanomeline Low Dose": 84, "Xanomeline High Dose": 84}
    for arm, N in arms.items():
        assert ard_value(any_rows, "N", group1_level=arm) == N
    adae = read_xpt(PILOT / "adae.xpt").frame
    teae = adae[adae["SAFFL"].eq("Y") & adae["TRTEMFL"].eq("Y")]
    for arm, part in teae.groupby("TRTA"):
        assert ard_value(any_rows, "n", group1_level=arm) == part["USUBJID"].nunique()
        assert ard_value(any_rows, "events", group1_level=arm) == len(part)
    header = [c.text for c in Document(str(tmp_path / "ae-soc-pt.docx")).tables[0].rows[0].cells]
    assert header[1:] == [f"{arm} (N={N})" for arm, N in arms.items()]  # protocol order from TRT01AN


@needs_reference(PILOT)
def test_sub_tlf_names_the_known_tables_for_an_unknown_one(tmp_path):
    from submission.cli import main

    result = CliRunner().invoke(main, ["tlf", "no-such-table", "--adam", str(PILOT), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "unknown table" in result.output and "ae-soc-pt" in result.output
