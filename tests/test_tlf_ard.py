from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from submission.errors import SubError
from submission.tlf.ard import (
    ANY_EVENT,
    ARD_COLUMNS,
    ard_categorical,
    ard_continuous,
    ard_csv_text,
    ard_hierarchical,
    ard_incidence,
    ard_json_text,
    ard_to_frame,
    ard_value,
    denominators,
    read_ard_csv,
    write_ard_csv,
    write_ard_files,
    write_ard_json,
)
from submission.tlf.stats import clopper_pearson
from submission.xpt import read_xpt

from .conftest import SHARED, require_reference

PILOT = SHARED / "reference" / "cdisc-pilot" / "adam"


def _adsl() -> pd.DataFrame:
    return pd.DataFrame({
        "USUBJID": ["01", "02", "03", "04", "05", "06", "07"],
        "SAFFL": ["Y", "Y", "Y", "Y", "Y", "Y", "N"],
        "TRT01A": ["A", "A", "A", "B", "B", "C", "B"],
        "SEX": ["F", "M", "F", None, "F", "M", "M"],
        "AGE": [50.0, 61.0, 70.0, 45.0, None, 80.0, 30.0],
    })


def _adae() -> pd.DataFrame:
    rows = [
        # subject, arm, SOC, PT, TEAE flag, serious
        ("01", "A", "GASTRO", "NAUSEA", "Y", "N"),
        ("01", "A", "GASTRO", "NAUSEA", "Y", "Y"),   # same PT again: one subject, two events
        ("01", "A", "GASTRO", "VOMITING", "Y", "N"),  # same SOC, other PT: SOC counts the subject once
        ("02", "A", "GASTRO", "VOMITING", "Y", "N"),
        ("02", "A", "NERVOUS", "HEADACHE", "Y", "N"),
        ("03", "A", "NERVOUS", "HEADACHE", None, "N"),  # not treatment-emergent
        ("04", "B", "NERVOUS", "HEADACHE", "Y", "Y"),
        ("07", "B", "GASTRO", "NAUSEA", "Y", "Y"),   # subject not in the safety set
    ]
    return pd.DataFrame(rows, columns=["USUBJID", "TRTA", "AEBODSYS", "AEDECOD", "TRTEMFL", "AESER"])


def _value(ard, stat, **where):
    return ard_value(ard, stat, **where)


# --------------------------------------------------------------------------- categorical

def test_categorical_counts_match_pandas_and_denominators_come_from_the_population():
    adsl = _adsl()
    ard = ard_categorical(adsl, "SEX", by="TRT01A")
    safety = adsl[adsl["SAFFL"] == "Y"]
    counts = pd.crosstab(safety["TRT01A"], safety["SEX"])
    for arm in ("A", "B", "C"):
        N = int((safety["TRT01A"] == arm).sum())
        for sex in ("F", "M"):
            n = int(counts.loc[arm, sex])
            assert _value(ard, "n", group1_level=arm, variable_level=sex) == n
            assert _value(ard, "N", group1_level=arm, variable_level=sex) == N
            assert _value(ard, "p", group1_level=arm, variable_level=sex) == n / N


def test_categorical_missing_row_makes_percentages_add_up():
    ard = ard_categorical(_adsl(), "SEX", by="TRT01A")
    assert _value(ard, "n", group1_level="B", variable_level="Missing") == 1
    assert _value(ard, "n", group1_level="A", variable_level="Missing") == 0  # every group gets the row
    for arm in ("A", "B", "C"):
        total = ard[(ard["group1_level"] == arm) & (ard["stat_name"] == "p")]["stat"].sum()
        assert total == pytest.approx(1.0)


def test_categorical_levels_in_given_order_with_zero_rows():
    ard = ard_categorical(_adsl(), "SEX", by="TRT01A", levels=["M", "F", "U"], missing=False)
    levels = list(dict.fromkeys(ard["variable_level"]))
    assert levels == ["M", "F", "U"]
    assert _value(ard, "n", group1_level="A", variable_level="U") == 0


def test_categorical_total_column_and_ungrouped():
    ard = ard_categorical(_adsl(), "SEX", by="TRT01A", total="Total")
    assert _value(ard, "N", group1_level="Total", variable_level="F") == 6
    assert _value(ard, "n", group1_level="Total", variable_level="F") == 3
    plain = ard_categorical(_adsl(), "SEX", pop_flag=None)
    assert _value(plain, "N", variable_level="M") == 7
    assert plain["group1"].isna().all()


def test_categorical_on_another_frame_takes_denominators_from_adsl():
    bor = pd.DataFrame({"USUBJID": ["01", "02", "04"], "TRTA": ["A", "A", "B"], "AVALC": ["CR", "PR", "PR"]})
    ard = ard_categorical(bor, "AVALC", by="TRTA", adsl=_adsl(), denom_by="TRT01A", missing=False)
    assert _value(ard, "N", group1_level="A", variable_level="PR") == 3
    assert _value(ard, "n", group1_level="C", variable_level="PR") == 0


def test_categorical_requires_the_columns_it_uses():
    with pytest.raises(SubError) as err:
        ard_categorical(_adsl(), "RACE", by="ARM")
    assert "RACE" in str(err.value) and "ARM" in str(err.value)


# --------------------------------------------------------------------------- continuous

def test_continuous_statistics_match_pandas():
    adsl = _adsl()
    ard = ard_continuous(adsl, "AGE", by="TRT01A")
    a = adsl[(adsl["SAFFL"] == "Y") & (adsl["TRT01A"] == "A")]["AGE"]
    assert _value(ard, "N", group1_level="A") == 3
    assert _value(ard, "mean", group1_level="A") == pytest.approx(a.mean(), rel=1e-15)
    assert _value(ard, "sd", group1_level="A") == pytest.approx(a.std(ddof=1), rel=1e-14)
    assert _value(ard, "median", group1_level="A") == a.median()
    assert _value(ard, "min", group1_level="A") == a.min() and _value(ard, "max", group1_level="A") == a.max()
    assert _value(ard, "N_miss", group1_level="B") == 1  # subject 05 has no age
    assert _value(ard, "sd", group1_level="C") is None  # one value: no SD


def test_continuous_quartiles_use_the_sas_default_definition():
    frame = pd.DataFrame({"USUBJID": list("abcd"), "X": [1.0, 2.0, 3.0, 4.0]})
    ard = ard_continuous(frame, "X", pop_flag=None)
    assert _value(ard, "p25") == 1.5 and _value(ard, "p75") == 3.5
    frame5 = pd.DataFrame({"USUBJID": list("abcde"), "X": [1.0, 2.0, 3.0, 4.0, 5.0]})
    ard5 = ard_continuous(frame5, "X", pop_flag=None)
    assert _value(ard5, "p25") == 2.0 and _value(ard5, "p75") == 4.0


def test_continuous_is_independent_of_row_order():
    adsl = _adsl()
    forward = ard_csv_text(ard_continuous(adsl, "AGE", by="TRT01A"))
    backward = ard_csv_text(ard_continuous(adsl.iloc[::-1], "AGE", by="TRT01A"))
    assert forward == backward


def test_continuous_refuses_two_records_per_subject():
    frame = pd.concat([_adsl(), _adsl()])
    with pytest.raises(SubError, match="one record per subject"):
        ard_continuous(frame, "AGE", by="TRT01A", adsl=_adsl())


# --------------------------------------------------------------------------- hierarchical

def test_hierarchical_counts_subjects_once_and_events_all():
    ard = ard_hierarchical(_adae(), _adsl(), by="TRTA", denom_by="TRT01A")
    # Arm A: subject 01 (nausea x2, vomiting), subject 02 (vomiting, headache); 03's headache is not a TEAE.
    assert _value(ard, "n", group1_level="A", variable=ANY_EVENT) == 2
    assert _value(ard, "events", group1_level="A", variable=ANY_EVENT) == 5
    assert _value(ard, "n", group1_level="A", variable="AEBODSYS", variable_level="GASTRO") == 2
    assert _value(ard, "events", group1_level="A", variable="AEBODSYS", variable_level="GASTRO") == 4
    assert _value(ard, "n", group1_level="A", variable="AEDECOD", variable_level="NAUSEA") == 1
    assert _value(ard, "events", group1_level="A", variable="AEDECOD", variable_level="NAUSEA") == 2
    assert _value(ard, "n", group1_level="A", variable="AEDECOD", variable_level="HEADACHE") == 1
    assert _value(ard, "N", group1_level="A", variable="AEDECOD", variable_level="HEADACHE") == 3
    assert _value(ard, "p", group1_level="A", variable="AEDECOD", variable_level="HEADACHE") == 1 / 3


def test_hierarchical_excludes_subjects_outside_the_population():
    ard = ard_hierarchical(_adae(), _adsl(), by="TRTA", denom_by="TRT01A")
    # Subject 07 (SAFFL N) had nausea in arm B: not counted, and not in N.
    assert _value(ard, "n", group1_level="B", variable="AEDECOD", variable_level="NAUSEA") == 0
    assert _value(ard, "N", group1_level="B", variable=ANY_EVENT) == 2


def test_hierarchical_gives_every_group_every_row():
    ard = ard_hierarchical(_adae(), _adsl(), by="TRTA", denom_by="TRT01A")
    # Arm C has no adverse event at all but keeps its rows and its N.
    assert _value(ard, "n", group1_level="C", variable=ANY_EVENT) == 0
    assert _value(ard, "N", group1_level="C", variable=ANY_EVENT) == 1
    rows_per_group = ard.groupby("group1_level").size()
    assert rows_per_group.nunique() == 1
    pt = ard[(ard["variable"] == "AEDECOD") & (ard["variable_level"] == "VOMITING")]
    assert set(pt["group2_level"]) == {"GASTRO"} and set(pt["group2"]) == {"AEBODSYS"}


def test_hierarchical_soc_then_its_pts_in_order():
    ard = ard_hierarchical(_adae(), _adsl(), by="TRTA", denom_by="TRT01A")
    a = ard[(ard["group1_level"] == "A") & (ard["stat_name"] == "n")]
    assert list(zip(a["variable"], a["variable_level"])) == [
        (ANY_EVENT, None), ("AEBODSYS", "GASTRO"), ("AEDECOD", "NAUSEA"), ("AEDECOD", "VOMITING"),
        ("AEBODSYS", "NERVOUS"), ("AEDECOD", "HEADACHE")]


def test_hierarchical_counts_equal_a_record_by_record_count():
    # A PT name under two SOCs is two rows; a missing PT counts as Uncoded within its SOC; a PT present
    # in one arm only gets zero rows in the others; the pooled group counts every arm.
    adae = pd.concat([_adae(), pd.DataFrame([
        ("05", "B", "NERVOUS", "NAUSEA", "Y", "N"), ("05", "B", "NERVOUS", None, "Y", "N"),
        ("06", "C", "GASTRO", None, "Y", "N"), ("06", "C", "GASTRO", None, "Y", "N"),
    ], columns=_adae().columns)], ignore_index=True)
    ard = ard_hierarchical(adae, _adsl(), by="TRTA", denom_by="TRT01A", total="Total")
    safety = set(_adsl().loc[_adsl()["SAFFL"].eq("Y"), "USUBJID"])
    teae = adae[adae["TRTEMFL"].eq("Y") & adae["USUBJID"].isin(safety)].fillna({"AEDECOD": "Uncoded"})
    seen = 0
    for row in ard[ard["stat_name"].isin(["n", "events"])].to_dict("records"):
        records = teae if row["group1_level"] == "Total" else teae[teae["TRTA"].eq(row["group1_level"])]
        if row["variable"] == "AEBODSYS":
            records = records[records["AEBODSYS"].eq(row["variable_level"])]
        elif row["variable"] == "AEDECOD":
            records = records[records["AEBODSYS"].eq(row["group2_level"]) & records["AEDECOD"].eq(row["variable_level"])]
        expected = records["USUBJID"].nunique() if row["stat_name"] == "n" else len(records)
        assert row["stat"] == expected and type(row["stat"]) is int, row
        seen += 1
    assert seen == 4 * 2 * 9  # groups A, B, C, Total; n and events; any, 2 SOCs, 6 (SOC, PT) pairs


def test_hierarchical_unknown_group_stops_with_the_subject_named():
    adae = _adae()
    adae.loc[0, "TRTA"] = "Z"
    with pytest.raises(SubError) as err:
        ard_hierarchical(adae, _adsl(), by="TRTA", denom_by="TRT01A")
    assert "Z" in str(err.value) and "01" in str(err.value)


def test_hierarchical_record_group_must_match_the_subjects_denominator_group():
    adae = _adae()
    adae.loc[0, "TRTA"] = "B"  # subject 01 is in arm A in ADSL
    with pytest.raises(SubError) as err:
        ard_hierarchical(adae, _adsl(), by="TRTA", denom_by="TRT01A")
    assert "01" in str(err.value) and "TRT01A" in str(err.value)


# --------------------------------------------------------------------------- incidence

def test_incidence_counts_and_exact_interval():
    ard = ard_incidence(_adae(), _adsl(), by="TRTA", denom_by="TRT01A", flag="AESER", ci_level=0.95)
    assert _value(ard, "n", group1_level="A") == 1 and _value(ard, "events", group1_level="A") == 1
    assert _value(ard, "n", group1_level="B") == 1 and _value(ard, "N", group1_level="B") == 2
    low, high = clopper_pearson(1, 3, 0.95)
    assert _value(ard, "conf.low", group1_level="A") == low
    assert _value(ard, "conf.high", group1_level="A") == high
    assert set(ard["variable"]) == {"AESER"}


def test_incidence_of_any_event_with_total():
    ard = ard_incidence(_adae(), _adsl(), by="TRTA", denom_by="TRT01A", total="Total")
    assert _value(ard, "n", group1_level="Total") == 3
    assert _value(ard, "N", group1_level="Total") == 6
    assert _value(ard, "events", group1_level="Total") == 6


def test_categorical_counts_a_level_as_series_eq_does():
    # An integer level counts the float values equal to it; a level given twice gets the same count twice;
    # a subject with two records at one level counts once.
    adsl = _adsl()
    data = pd.DataFrame({"USUBJID": ["01", "01", "02", "04", "05"], "TRT01A": ["A", "A", "A", "B", "B"],
                         "SCORE": [1.0, 1.0, 2.0, 1.0, None]})
    ard = ard_categorical(data, "SCORE", by="TRT01A", adsl=adsl, levels=[1, 2, 1, 3])
    a = ard[(ard["group1_level"] == "A") & (ard["stat_name"] == "n")]
    assert list(a["variable_level"]) == [1, 2, 1, 3, "Missing"] and list(a["stat"]) == [1, 1, 1, 0, 1]
    b = ard[(ard["group1_level"] == "B") & (ard["stat_name"] == "n")]
    assert list(b["stat"]) == [1, 0, 1, 0, 1]


def test_a_shared_population_gives_the_same_ard_as_one_built_per_call():
    adsl = _adsl()
    shared = denominators(adsl, "SAFFL", "TRT01A", by_levels=None, total="Total")
    for build in (lambda **k: ard_categorical(adsl, "SEX", by="TRT01A", total="Total", **k),
                  lambda **k: ard_continuous(adsl, "AGE", by="TRT01A", total="Total", **k),
                  lambda **k: ard_incidence(_adae(), adsl, by="TRTA", denom_by="TRT01A", total="Total", **k),
                  lambda **k: ard_hierarchical(_adae(), adsl, by="TRTA", denom_by="TRT01A", total="Total", **k)):
        pd.testing.assert_frame_equal(build(population=shared), build())
    with pytest.raises(ValueError, match="SAFFL by TRT01A"):
        ard_categorical(adsl, "SEX", by="TRT01A", population=shared)  # made with a total; this call has none
    with pytest.raises(ValueError):
        ard_categorical(adsl, "SEX", by="TRT01A", pop_flag=None, total="Total", population=shared)


def test_grouped_by_the_denominator_only_each_group_counts_its_own_subjects():
    # No grouping variable in the data (by=None) but denominators by TRT01A: each column counts only
    # the events of its own subjects.
    ard = ard_incidence(_adae(), _adsl(), denom_by="TRT01A", flag="AESER")
    assert _value(ard, "n", group1_level="A") == 1 and _value(ard, "events", group1_level="A") == 1
    assert _value(ard, "N", group1_level="A") == 3
    assert _value(ard, "n", group1_level="B") == 1 and _value(ard, "N", group1_level="B") == 2
    assert _value(ard, "n", group1_level="C") == 0 and _value(ard, "events", group1_level="C") == 0


# --------------------------------------------------------------------------- writing

def test_equal_numbers_of_other_types_keep_their_own_texts(tmp_path):
    # The writers convert each distinct value of a column once: 1, 1.0, True and "1" are one value to a
    # factorization but four texts in the files (and the keys, hence the ids, tell them apart).
    levels = [1, 1.0, True, "1", "=1", None, float("nan")]
    ard = pd.DataFrame({"output_id": "T", "analysis_set": "SAFFL", "group1": None, "group1_level": None,
                        "group2": None, "group2_level": None, "variable": "X", "variable_level": levels,
                        "context": "c", "stat_name": [f"s{i}" for i in range(len(levels))], "stat_label": "s",
                        "stat": levels}, dtype=object)
    lines = ard_csv_text(ard).splitlines()[1:]
    assert [line.split(",", 8)[8] for line in lines] == [
        "1,c,s0,s,1", "1.0,c,s1,s,1.0", "true,c,s2,s,true", "1,c,s3,s,1", "'=1,c,s4,s,'=1", ",c,s5,s,", ",c,s6,s,"]
    records = json.loads(ard_json_text(ard))
    assert [(r["variable_level"], type(r["stat"]).__name__) for r in records] == [
        (1, "int"), (1.0, "float"), (True, "bool"), ("1", "str"), ("=1", "str"), (None, "NoneType"),
        (None, "NoneType")]
    write_ard_files(ard, tmp_path / "a.csv", tmp_path / "a.json")
    assert (tmp_path / "a.csv").read_text(encoding="utf-8") == ard_csv_text(ard)
    assert (tmp_path / "a.json").read_text(encoding="utf-8") == ard_json_text(ard)
    back = read_ard_csv(tmp_path / "a.csv")
    assert list(back["stat"]) == [1, 1.0, "true", 1, "=1", None, None]
    assert list(back["variable_level"]) == ["1", "1.0", "true", "1", "=1", None, None]


def test_csv_and_json_are_deterministic_and_round_trip(tmp_path):
    ard = ard_to_frame(
        ard_categorical(_adsl(), "SEX", by="TRT01A", output_id="T1"),
        ard_continuous(_adsl(), "AGE", by="TRT01A", output_id="T2"),
        ard_hierarchical(_adae(), _adsl(), by="TRTA", denom_by="TRT01A", output_id="T3"),
    )
    assert list(ard.columns) == ARD_COLUMNS
    write_ard_csv(ard, tmp_path / "a.csv")
    write_ard_csv(ard, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    write_ard_json(ard, tmp_path / "a.json")
    assert (tmp_path / "a.json").read_text(encoding="utf-8") == ard_json_text(ard)

    text = (tmp_path / "a.csv").read_text(encoding="utf-8")
    # each row starts with its stable id (ard_id: the output and a hash of the row's key)
    assert text.startswith("ard_id,output_id,")
    assert ",T1,SAFFL,TRT01A,A,,,SEX,F,categorical,n,n,2\n" in text  # counts written as integers
    assert ",T1,SAFFL,TRT01A,A,,,SEX,F,categorical,p,%,0.6666666666666666\n" in text  # full precision
    back = read_ard_csv(tmp_path / "a.csv")
    for original, again in zip(ard["stat"], back["stat"]):
        if original is None:
            assert again is None
        else:
            assert again == original and type(again) is type(original)  # full precision, ints stay ints

    records = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert len(records) == len(ard)
    sd = next(r for r in records if r["stat_name"] == "sd" and r["group1_level"] == "C")
    assert sd["stat"] is None
    mean = next(r for r in records if r["stat_name"] == "mean" and r["group1_level"] == "A")
    assert mean["stat"] == (50.0 + 61.0 + 70.0) / 3


def test_counts_are_integers_not_floats():
    ard = ard_hierarchical(_adae(), _adsl(), by="TRTA", denom_by="TRT01A")
    counts = ard[ard["stat_name"].isin(["n", "N", "events"])]["stat"]
    assert all(type(v) is int for v in counts)
    assert not any(isinstance(v, float) and math.isnan(v) for v in ard["stat"])


# --------------------------------------------------------------------------- the CDISC pilot

@pytest.fixture(scope="module")
def pilot():
    require_reference(PILOT / "adae.xpt")
    return read_xpt(PILOT / "adsl.xpt").frame, read_xpt(PILOT / "adae.xpt").frame


def test_pilot_ae_by_soc_and_pt(pilot):
    adsl, adae = pilot
    ard = ard_hierarchical(adae, adsl, by="TRTA", variables=("AEBODSYS", "AEDECOD"), subject_flag="TRTEMFL",
                           pop_flag="SAFFL", denom_by="TRT01A")
    arms = {"Placebo": 86, "Xanomeline Low Dose": 84, "Xanomeline High Dose": 84}
    for arm, N in arms.items():
        assert set(ard.loc[(ard["group1_level"] == arm) & (ard["stat_name"] == "N"), "stat"]) == {N}
        assert N == int(((adsl["SAFFL"] == "Y") & (adsl["TRT01A"] == arm)).sum())
    # Subjects with any TEAE, as in the pilot's Table 14-5.01: 65, 77 and 76.
    assert _value(ard, "n", group1_level="Placebo", variable=ANY_EVENT) == 65
    assert _value(ard, "n", group1_level="Xanomeline Low Dose", variable=ANY_EVENT) == 77
    assert _value(ard, "n", group1_level="Xanomeline High Dose", variable=ANY_EVENT) == 76

    safety = set(adsl.loc[adsl["SAFFL"] == "Y", "USUBJID"])
    teae = adae[(adae["TRTEMFL"] == "Y") & adae["USUBJID"].isin(safety) & (adae["SAFFL"] == "Y")]
    pt = teae.groupby(["TRTA", "AEBODSYS", "AEDECOD"])["USUBJID"].agg(["nunique", "size"])
    got_pt = ard[(ard["variable"] == "AEDECOD")].pivot_table(
        index=["group1_level", "group2_level", "variable_level"], columns="stat_name", values="stat", aggfunc="first")
    for (arm, soc, term), row in pt.iterrows():
        assert got_pt.loc[(arm, soc, term), "n"] == row["nunique"]
        assert got_pt.loc[(arm, soc, term), "events"] == row["size"]
    assert int((got_pt["n"] > 0).sum()) == len(pt)  # no PT counted where pandas has none
    soc = teae.groupby(["TRTA", "AEBODSYS"])["USUBJID"].nunique()
    for (arm, name), n in soc.items():
        assert _value(ard, "n", group1_level=arm, variable="AEBODSYS", variable_level=name) == n
    assert _value(ard, "events", group1_level="Placebo", variable=ANY_EVENT) == int((teae["TRTA"] == "Placebo").sum())


def test_pilot_demographics(pilot):
    adsl, _ = pilot
    ard = ard_categorical(adsl, "AGEGR1", by="TRT01A", levels=["<65", "65-80", ">80"])
    assert _value(ard, "n", group1_level="Placebo", variable_level="<65") == 14
    assert _value(ard, "n", group1_level="Placebo", variable_level="65-80") == 42
    age = ard_continuous(adsl, "AGE", by="TRT01A")
    placebo = adsl[(adsl["SAFFL"] == "Y") & (adsl["TRT01A"] == "Placebo")]["AGE"]
    assert _value(age, "mean", group1_level="Placebo") == pytest.approx(placebo.mean(), rel=1e-14)
    assert _value(age, "N", group1_level="Placebo") == 86
