"""ADEX and the EX record derivations (MT.EX.*): one case per test on tiny inline frames."""

from __future__ import annotations

import pandas as pd
import pytest

from submission.adam.adex import (build_adex, derive_params_exposure, derive_var_exrecend, derive_var_exstdt,
                                  derive_vars_cycles_and_dosing_days, drugs_of, exposure_records, parse_regimen,
                                  summarise_exposure)
from submission.errors import SubError
from submission.spec import load_spec
from submission.study import load_settings

from .conftest import SPECS

D = pd.Timestamp
SETTINGS = load_settings(SPECS)
DEX_12 = "DAYS 1-4, 9-12, 17-20 OF 28-DAY CYCLE"


def ex_row(**values) -> dict:
    row = {"USUBJID": "S1", "EXSEQ": 1.0, "EXTRT": "LENALIDOMIDE", "EXDOSE": 25.0, "EXDOSFRQ": "QD",
           "EXDOSRGM": "DAYS 1-21 OF 28-DAY CYCLE", "EXSTDTC": "2015-01-01", "EXENDTC": "2015-01-28"}
    row.update(values)
    return row


def adsl(**values) -> pd.DataFrame:
    row = {"STUDYID": "ST", "USUBJID": "S1", "SUBJID": "1", "SITEID": "101", "TRT01A": "LENALIDOMIDE + DEXAMETHASONE",
           "SAFFL": "Y", "TRTSDT": D("2015-01-01"), "TRTEDT": D("2015-01-28"), "LSTALVDT": D("2015-06-30"),
           "DCUTDT": D("2016-12-07")}
    row.update(values)
    return pd.DataFrame([row])


def record(**values) -> pd.Series:
    """The per-record derivations of one EX record."""
    return exposure_records(pd.DataFrame([ex_row(**values)]), adsl()).iloc[0]


def summary(*rows: dict) -> pd.Series:
    return summarise_exposure(exposure_records(pd.DataFrame(list(rows)), adsl())).iloc[0]


# --------------------------------------------------------------------------------------------- regimens

def test_regimen_with_day_ranges():
    assert parse_regimen(DEX_12) == (28, frozenset([1, 2, 3, 4, 9, 10, 11, 12, 17, 18, 19, 20]))


def test_regimen_with_a_day_count():
    assert parse_regimen("14 DAYS OF 28-DAY CYCLE") == (28, frozenset(range(1, 15)))


def test_regimen_without_dosing_days_stops_the_build():
    ex = derive_var_exrecend(derive_var_exstdt(pd.DataFrame([ex_row(EXDOSRGM="AS NEEDED")])), adsl())
    with pytest.raises(SubError, match="EXDOSRGM"):
        derive_vars_cycles_and_dosing_days(ex)


# ------------------------------------------------------------------------------------ per record

def test_full_cycle_of_21_dosing_days():
    result = record()
    assert (result["EXNCYC"], result["EXDDAYS"], result["EXCUMD"]) == (1, 21, 525.0)


def test_each_started_cycle_counts_once():
    # 2015-01-01..2015-01-30: 30 days, a second cycle started on day 29 with 2 dosing days
    result = record(EXENDTC="2015-01-30")
    assert (result["EXNCYC"], result["EXDDAYS"]) == (2, 23)


def test_cumulative_dose_every_other_day():
    # 15 mg QOD, days 1-21, 56 days: 2 cycles x 11 odd days = 22 doses
    assert record(EXDOSE=15.0, EXDOSFRQ="QOD", EXENDTC="2015-02-25")["EXCUMD"] == 330.0


def test_cumulative_dose_every_other_day_in_a_partial_cycle():
    # 10 mg QOD over 10 days: days 1, 3, 5, 7, 9
    assert record(EXDOSE=10.0, EXDOSFRQ="QOD", EXENDTC="2015-01-10")["EXCUMD"] == 50.0


def test_cumulative_dose_of_the_12_day_dexamethasone_regimen():
    # 40 mg on days 1-4, 9-12, 17-20; 30 days: one cycle (12) + days 29-30 = days 1-2 of the next (2)
    result = record(EXTRT="DEXAMETHASONE", EXDOSE=40.0, EXDOSRGM=DEX_12, EXENDTC="2015-01-30")
    assert (result["EXDDAYS"], result["EXCUMD"]) == (14, 560.0)


def test_cumulative_dose_of_the_4_day_dexamethasone_regimen():
    result = record(EXTRT="DEXAMETHASONE", EXDOSE=20.0, EXDOSRGM="DAYS 1-4 OF 28-DAY CYCLE", EXENDTC="2015-03-31")
    assert result["EXCUMD"] == 20.0 * 4 * 4  # 90 days: cycles starting days 1, 29, 57, 85


def test_ongoing_period_ends_at_the_earlier_of_last_alive_and_cutoff():
    ex = derive_var_exrecend(pd.DataFrame([ex_row(EXENDTC=None)]), adsl(LSTALVDT=D("2017-02-01")))
    assert ex["EXRECEND"].iloc[0] == D("2016-12-07")


# ------------------------------------------------------------------------------- per subject and drug

def test_dose_intensity_counts_rest_days():
    # 21 days x 25 mg over a 28-day cycle: 525 / 28 = 18.75 mg/day
    assert summary(ex_row())["EXDINT"] == 18.75


def test_dose_intensity_rounded_half_up():
    # 2 periods, 25 mg x 21 + 10 mg x 21 = 735 mg over 2015-01-01..2015-02-25 (56 days) = 13.125
    result = summary(ex_row(), ex_row(EXSEQ=2.0, EXDOSE=10.0, EXSTDTC="2015-01-29", EXENDTC="2015-02-25"))
    assert result["EXDINT"] == 13.13


def test_mean_dose_per_dosing_day():
    result = summary(ex_row(), ex_row(EXSEQ=2.0, EXDOSE=10.0, EXSTDTC="2015-01-29", EXENDTC="2015-02-25"))
    assert result["EXMDD"] == 17.5  # 735 / 42


def test_starting_dose_is_that_of_the_first_record():
    result = summary(ex_row(EXSEQ=2.0, EXDOSE=10.0, EXSTDTC="2015-01-29", EXENDTC="2015-02-25"),
                     ex_row(EXSEQ=1.0, EXDOSE=15.0, EXDOSFRQ="QOD"))
    assert (result["EXSTD"], result["EXSTDFRQ"]) == (15.0, "QOD")


def test_duration_from_first_dose_to_last_record_end():
    result = summary(ex_row(), ex_row(EXSEQ=2.0, EXSTDTC="2015-03-01", EXENDTC="2015-03-10"))
    assert result["EXDUR"] == 69  # 2015-01-01..2015-03-10


# ------------------------------------------------------------------------------------------- dataset

def test_one_record_per_subject_drug_and_parameter():
    ex = pd.DataFrame([ex_row(), ex_row(EXSEQ=2.0, EXTRT="DEXAMETHASONE", EXDOSE=40.0, EXDOSRGM=DEX_12)])
    adex = build_adex({"EX": ex}, adsl(), SETTINGS)
    assert len(adex) == 14
    assert not adex.duplicated(["USUBJID", "PARCAT1", "PARAMCD"]).any()


def test_parameters_follow_the_spec_codelists():
    spec = load_spec(SPECS / "adam")
    terms = {cl: [t.term for t in spec.codelists[cl].terms] for cl in ("EXPARMCD", "EXPARM", "EXPARMN", "EXPARCAT")}
    ex = pd.DataFrame([ex_row(), ex_row(EXSEQ=2.0, EXTRT="DEXAMETHASONE", EXDOSE=40.0, EXDOSRGM=DEX_12)])
    adex = build_adex({"EX": ex}, adsl(), SETTINGS).sort_values("PARAMN")
    assert adex["PARAMCD"].tolist() == terms["EXPARMCD"]
    assert adex["PARAM"].tolist() == terms["EXPARM"]
    assert [str(n) for n in adex["PARAMN"]] == terms["EXPARMN"]
    assert set(adex["PARCAT1"]) == set(terms["EXPARCAT"])


def test_drug_without_records_has_no_parameters():
    adex = build_adex({"EX": pd.DataFrame([ex_row()])}, adsl(), SETTINGS)
    assert set(adex["PARCAT1"]) == {"REVLIMID"}


def test_dates_are_those_of_the_drug():
    ex = pd.DataFrame([ex_row(), ex_row(EXSEQ=2.0, EXTRT="DEXAMETHASONE", EXDOSE=40.0, EXDOSRGM=DEX_12,
                                        EXSTDTC="2015-01-02", EXENDTC="2015-01-20")])
    adex = build_adex({"EX": ex}, adsl(), SETTINGS)
    dex = adex[adex["PARCAT1"] == "DEXAMETHASONE"].iloc[0]
    assert (dex["ASTDT"], dex["AENDT"], dex["TRTSDT"]) == (D("2015-01-02"), D("2015-01-20"), D("2015-01-01"))


def test_exposure_values_by_parameter():
    summary_ = summarise_exposure(exposure_records(pd.DataFrame([ex_row()]), adsl()))
    params = derive_params_exposure(summary_, drugs_of(SETTINGS)).set_index("PARAMCD")["AVAL"]
    assert params.to_dict() == {"RVLDUR": 28.0, "RVLCYC": 1.0, "RVLDDAYS": 21.0, "RVLCUMD": 525.0,
                                "RVLMDD": 25.0, "RVLDINT": 18.75, "RVLSTD": 25.0}


def test_record_without_regimen_has_unknown_dosing_days():
    result = record(EXDOSRGM=None)
    assert pd.isna(result["EXDDAYS"]) and pd.isna(result["EXCUMD"]) and pd.isna(result["EXNCYC"])


def test_drug_total_unknown_when_a_record_is_unknown():
    result = summary(ex_row(), ex_row(EXSEQ=2.0, EXDOSRGM=None, EXSTDTC="2015-01-29", EXENDTC="2015-02-25"))
    assert pd.isna(result["EXCUMD"]) and pd.isna(result["EXDINT"]) and result["EXDUR"] == 56
