"""ADSL derivations: one case per test on tiny inline frames, then ADSL, ADRS and ADEX built on a
small synthetic study (synth -> SDTM stage -> XPT read back) against the issue's acceptance."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from submission.adam.adex import exposure_records
from submission.adam.adsl import (adsl_from_dm, build_adsl, evaluable_subjects, derive_var_anycmfl, derive_var_bmibl,
                                  derive_var_creatbl, derive_var_crclbl, derive_var_crclgr1, derive_var_dcutdt,
                                  derive_var_dosredfl, derive_var_group, derive_var_intrfl, derive_var_lstalvdt,
                                  derive_var_ltusefl, derive_var_mh_flag, derive_var_procedure_flag,
                                  derive_var_recrtrt, derive_vars_diagnosis, derive_vars_disposition,
                                  derive_vars_dthdt, derive_vars_efffl, derive_vars_rs_baseline, derive_vars_saffl,
                                  derive_vars_vs_baseline)
from submission.attributes import apply_spec
from submission.spec import load_spec
from submission.study import load_settings

from .conftest import SPECS

D = pd.Timestamp
NaT = pd.NaT
SETTINGS = load_settings(SPECS)
GROUPS = SETTINGS.conventions.groups


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def one(adsl: pd.DataFrame, variable: str, subject: str = "S1"):
    return adsl.loc[adsl["USUBJID"] == subject, variable].iloc[0]


def dm_row(**values) -> dict:
    row = {"STUDYID": "ST", "USUBJID": "S1", "SUBJID": "1", "SITEID": "101", "AGE": 70.0, "AGEU": "YEARS",
           "SEX": "M", "RACE": "ASIAN", "ARM": "LENALIDOMIDE + DEXAMETHASONE",
           "ACTARM": "LENALIDOMIDE + DEXAMETHASONE", "DTHFL": None, "DTHDTC": None, "RFICDTC": "2015-01-05",
           "RFPENDTC": "2015-12-01", "RFXSTDTC": "2015-01-10"}
    row.update(values)
    return row


def ex_row(**values) -> dict:
    row = {"USUBJID": "S1", "EXSEQ": 1.0, "EXTRT": "LENALIDOMIDE", "EXDOSE": 25.0, "EXDOSFRQ": "QD",
           "EXDOSRGM": "DAYS 1-21 OF 28-DAY CYCLE", "EXSTDTC": "2015-01-10", "EXENDTC": "2015-02-06"}
    row.update(values)
    return row


def subjects(*ids: str, **columns) -> pd.DataFrame:
    return pd.DataFrame({"USUBJID": list(ids), **{k: list(v) for k, v in columns.items()}})


def with_exposure_dates(adsl: pd.DataFrame) -> pd.DataFrame:
    return adsl.assign(LSTALVDT=D("2016-06-30"), DCUTDT=D("2016-12-07"))


# ------------------------------------------------------------------------------------ identity, dates

def test_dm_predecessors_and_treatment_variables():
    adsl = adsl_from_dm(frame(dm_row(ACTARM=None)))
    assert one(adsl, "TRT01P") == "LENALIDOMIDE + DEXAMETHASONE"
    assert one(adsl, "TRT01A") is None
    assert one(adsl, "ENRLFL") == "Y"
    assert one(adsl, "RFICDT") == D("2015-01-05")


def test_recruitment_route_from_suppdm():
    suppdm = frame({"USUBJID": "S1", "QNAM": "ENRLDTC", "QVAL": "2015-01-05"},
                   {"USUBJID": "S1", "QNAM": "RECRTRT", "QVAL": "PAP"})
    assert one(derive_var_recrtrt(subjects("S1", "S2"), suppdm), "RECRTRT") == "PAP"


def test_data_cutoff_from_ts_for_every_subject():
    ts = frame({"TSPARMCD": "SENDTC", "TSVAL": "2016-12-01"}, {"TSPARMCD": "DCUTDTC", "TSVAL": "2016-12-07"})
    adsl = derive_var_dcutdt(subjects("S1", "S2"), ts)
    assert adsl["DCUTDT"].eq(D("2016-12-07")).all()


def test_last_alive_ignores_partial_dates():
    ae = frame({"USUBJID": "S1", "AESTDTC": "2015-03-01", "AEENDTC": "2015-09"})
    adsl = derive_var_lstalvdt(subjects("S1", DCUTDT=[D("2016-12-07")]), [(ae, ["AESTDTC", "AEENDTC"])])
    assert one(adsl, "LSTALVDT") == D("2015-03-01")


def test_last_alive_never_after_the_data_cutoff():
    ds = frame({"USUBJID": "S1", "DSSTDTC": "2017-01-20"})
    adsl = derive_var_lstalvdt(subjects("S1", DCUTDT=[D("2016-12-07")]), [(ds, ["DSSTDTC"])])
    assert one(adsl, "LSTALVDT") == D("2016-12-07")


def test_partial_death_date_goes_to_last_alive_within_its_month():
    adsl = subjects("S1", LSTALVDT=[D("2015-06-12")], DCUTDT=[D("2016-12-07")])
    adsl = derive_vars_dthdt(adsl, frame({"USUBJID": "S1", "DTHDTC": "2015-06"}))
    assert (one(adsl, "DTHDT"), one(adsl, "DTHDTF")) == (D("2015-06-12"), "D")


def test_partial_death_date_with_earlier_last_contact_goes_to_first_of_month():
    adsl = subjects("S1", LSTALVDT=[D("2015-05-20")], DCUTDT=[D("2016-12-07")])
    adsl = derive_vars_dthdt(adsl, frame({"USUBJID": "S1", "DTHDTC": "2015-06"}))
    assert one(adsl, "DTHDT") == D("2015-06-01")


def test_complete_death_date_is_not_flagged():
    adsl = subjects("S1", LSTALVDT=[D("2015-05-20")], DCUTDT=[D("2016-12-07")])
    adsl = derive_vars_dthdt(adsl, frame({"USUBJID": "S1", "DTHDTC": "2015-06-03"}))
    assert one(adsl, "DTHDT") == D("2015-06-03") and pd.isna(one(adsl, "DTHDTF"))


# --------------------------------------------------------------------------------------------- groups

def test_age_exactly_65_goes_to_65_or_older():
    adsl = derive_var_group(subjects("S1", AGE=[65.0]), source="AGE", new_var="AGEGR1", number_var="AGEGR1N",
                            grouping=GROUPS["AGEGR1"])
    assert (one(adsl, "AGEGR1"), one(adsl, "AGEGR1N")) == (">=65", 2)


def test_age_64_goes_to_under_65():
    adsl = derive_var_group(subjects("S1", AGE=[64.0]), source="AGE", new_var="AGEGR1", number_var="AGEGR1N",
                            grouping=GROUPS["AGEGR1"])
    assert (one(adsl, "AGEGR1"), one(adsl, "AGEGR1N")) == ("<65", 1)


def test_bmi_rounded_half_up_before_grouping():
    # 60.0 / 1.6152**2 = 22.9984...: 23.0 once rounded, so the 23-<25 group
    adsl = derive_var_bmibl(subjects("S1", HEIGHTBL=[161.52], WEIGHTBL=[60.0]))
    adsl = derive_var_group(adsl, source="BMIBL", new_var="BMIGR1", grouping=GROUPS["BMIGR1"])
    assert (one(adsl, "BMIBL"), one(adsl, "BMIGR1")) == (23.0, "23-<25")


def test_bmi_missing_without_height():
    adsl = derive_var_bmibl(subjects("S1", HEIGHTBL=[None], WEIGHTBL=[60.0]))
    assert pd.isna(one(adsl, "BMIBL"))


def test_crcl_cockcroft_gault_male():
    # (140 - 60) x 72 / (72 x 1.0) = 80
    adsl = derive_var_crclbl(subjects("S1", AGE=[60.0], SEX=["M"], WEIGHTBL=[72.0], CREATBL=[1.0]))
    assert one(adsl, "CRCLBL") == 80.0


def test_crcl_female_factor():
    # 80 x 0.85 = 68
    adsl = derive_var_crclbl(subjects("S1", AGE=[60.0], SEX=["F"], WEIGHTBL=[72.0], CREATBL=[1.0]))
    assert one(adsl, "CRCLBL") == 68.0


def test_crcl_exactly_60_goes_to_60_or_more():
    adsl = derive_var_crclgr1(subjects("S1", CRCLBL=[60.0], DIALYFL=["N"]), grouping=GROUPS["CRCLGR1"])
    assert one(adsl, "CRCLGR1") == ">=60"


def test_dialysis_group_overrides_crcl():
    adsl = derive_var_crclgr1(subjects("S1", CRCLBL=[85.0], DIALYFL=["Y"]), grouping=GROUPS["CRCLGR1"])
    assert one(adsl, "CRCLGR1") == GROUPS["CRCLGR1"].dialysis_label


def test_dialysis_group_without_a_creatinine():
    adsl = derive_var_crclgr1(subjects("S1", CRCLBL=[None], DIALYFL=["Y"]), grouping=GROUPS["CRCLGR1"])
    assert one(adsl, "CRCLGR1") == "Dialysis"


def test_crcl_group_null_without_crcl_off_dialysis():
    adsl = derive_var_crclgr1(subjects("S1", CRCLBL=[None], DIALYFL=["N"]), grouping=GROUPS["CRCLGR1"])
    assert pd.isna(one(adsl, "CRCLGR1"))


# ------------------------------------------------------------------------------------------- baseline

def test_height_and_weight_from_the_vs_baseline_records():
    vs = frame({"USUBJID": "S1", "VSTESTCD": "HEIGHT", "VSSTRESN": 160.0, "VSLOBXFL": "Y"},
               {"USUBJID": "S1", "VSTESTCD": "WEIGHT", "VSSTRESN": 58.0, "VSLOBXFL": None},
               {"USUBJID": "S1", "VSTESTCD": "WEIGHT", "VSSTRESN": 61.5, "VSLOBXFL": "Y"})
    adsl = derive_vars_vs_baseline(subjects("S1"), vs)
    assert (one(adsl, "HEIGHTBL"), one(adsl, "WEIGHTBL")) == (160.0, 61.5)


def test_creatinine_from_the_lb_baseline_record():
    lb = frame({"USUBJID": "S1", "LBTESTCD": "CREAT", "LBSTRESN": 1.2, "LBLOBXFL": "Y"},
               {"USUBJID": "S1", "LBTESTCD": "BILI", "LBSTRESN": 0.4, "LBLOBXFL": "Y"})
    assert one(derive_var_creatbl(subjects("S1"), lb), "CREATBL") == 1.2


def test_dialysis_flag_from_the_pr_answer():
    pr = frame({"USUBJID": "S1", "PRTRT": "DIALYSIS", "PROCCUR": "Y"},
               {"USUBJID": "S1", "PRTRT": "HEMATOPOIETIC STEM CELL TRANSPLANT", "PROCCUR": "N"})
    assert one(derive_var_procedure_flag(subjects("S1"), pr, new_var="DIALYFL", prtrt="DIALYSIS"), "DIALYFL") == "Y"


def test_procedure_flag_null_when_the_question_has_no_answer():
    pr = frame({"USUBJID": "S1", "PRTRT": "DIALYSIS", "PROCCUR": None})
    adsl = derive_var_procedure_flag(subjects("S1"), pr, new_var="DIALYFL", prtrt="DIALYSIS")
    assert pd.isna(one(adsl, "DIALYFL"))


def test_iss_and_ecog_from_rs_classifications():
    rs = frame({"USUBJID": "S1", "RSSEQ": 1.0, "RSTESTCD": "ECOG101", "RSSTRESC": "1", "RSSTRESN": 1.0, "RSDTC": None},
               {"USUBJID": "S1", "RSSEQ": 2.0, "RSTESTCD": "ISS", "RSSTRESC": "II", "RSSTRESN": 2.0,
                "RSDTC": "2014-05-01"},
               {"USUBJID": "S1", "RSSEQ": 3.0, "RSTESTCD": "OVRLRESP", "RSSTRESC": "PR", "RSSTRESN": None,
                "RSDTC": "2015-03-01"})
    adsl = derive_vars_rs_baseline(subjects("S1"), rs)
    assert (one(adsl, "ISSBL"), one(adsl, "ECOGBL")) == ("II", 1.0)


def test_m_protein_and_prior_lines_from_the_primary_diagnosis_qualifiers():
    mh = frame({"USUBJID": "S1", "MHSEQ": 1.0, "MHCAT": "GENERAL MEDICAL HISTORY"},
               {"USUBJID": "S1", "MHSEQ": 2.0, "MHCAT": "PRIMARY DIAGNOSIS"})
    suppmh = frame({"USUBJID": "S1", "IDVAR": "MHSEQ", "IDVARVAL": "2", "QNAM": "MPROTTYP", "QVAL": "IGA"},
                   {"USUBJID": "S1", "IDVAR": "MHSEQ", "IDVARVAL": "2", "QNAM": "PRLINES", "QVAL": "3"})
    adsl = derive_vars_diagnosis(subjects("S1"), mh, suppmh)
    assert (one(adsl, "MPROTYP"), one(adsl, "PRLINES")) == ("IGA", 3)


def test_renal_impairment_flag_from_its_mh_category():
    mh = frame({"USUBJID": "S1", "MHCAT": "RENAL IMPAIRMENT"}, {"USUBJID": "S2", "MHCAT": "ALLERGY"})
    adsl = derive_var_mh_flag(subjects("S1", "S2"), mh, new_var="RENIMPFL", mhcat="RENAL IMPAIRMENT")
    assert adsl["RENIMPFL"].tolist() == ["Y", "N"]


def test_any_medical_history_does_not_count_the_myeloma_diagnosis():
    mh = frame({"USUBJID": "S1", "MHCAT": "PRIMARY DIAGNOSIS"})
    adsl = derive_var_mh_flag(subjects("S1"), mh, new_var="ANYMHFL", except_mhcat="PRIMARY DIAGNOSIS")
    assert one(adsl, "ANYMHFL") == "N"


def _cm_subject(**values) -> pd.DataFrame:
    row = {"TRTSDT": D("2015-01-10"), "TRTEDT": D("2015-06-30"), "DTHDT": NaT, "DCUTDT": D("2016-12-07")}
    row.update(values)
    return subjects("S1", **{k: [v] for k, v in row.items()})


def test_medication_within_28_days_after_the_last_dose_is_concomitant():
    cm = frame({"USUBJID": "S1", "CMSTDTC": "2015-07-20", "CMENDTC": "2015-07-25"})
    assert one(derive_var_anycmfl(_cm_subject(), cm, days_after=28), "ANYCMFL") == "Y"


def test_medication_ended_before_the_first_dose_is_not_concomitant():
    cm = frame({"USUBJID": "S1", "CMSTDTC": "2014-12-01", "CMENDTC": "2015-01-09"})
    assert one(derive_var_anycmfl(_cm_subject(), cm, days_after=28), "ANYCMFL") == "N"


def test_partial_start_month_inside_the_window_is_concomitant():
    cm = frame({"USUBJID": "S1", "CMSTDTC": "2015-07", "CMENDTC": None})
    assert one(derive_var_anycmfl(_cm_subject(TRTEDT=D("2015-06-30")), cm, days_after=28), "ANYCMFL") == "Y"


def test_subject_without_dose_has_no_concomitant_medication():
    cm = frame({"USUBJID": "S1", "CMSTDTC": "2015-02-01", "CMENDTC": None})
    adsl = derive_var_anycmfl(_cm_subject(TRTSDT=NaT, TRTEDT=NaT), cm, days_after=28)
    assert one(adsl, "ANYCMFL") == "N"


# ------------------------------------------------------------------------------------------- exposure

def _records(*rows: dict) -> pd.DataFrame:
    return exposure_records(frame(*rows), with_exposure_dates(subjects("S1")))


def test_trtedt_of_an_ongoing_period_is_the_last_contact():
    ex = frame(ex_row(EXENDTC=None))
    dm = frame(dm_row())
    adsl = build_adsl({"DM": dm, "EX": ex, "TS": frame({"TSPARMCD": "DCUTDTC", "TSVAL": "2016-12-07"})}, SETTINGS)
    # last contact: DM.RFPENDTC 2015-12-01, before the cut-off
    assert one(adsl, "TRTEDT") == D("2015-12-01")


def test_trtedt_of_an_ongoing_period_stops_at_the_data_cutoff():
    ex = frame(ex_row(EXENDTC=None))
    dm = frame(dm_row(RFPENDTC="2017-03-01"))
    adsl = build_adsl({"DM": dm, "EX": ex, "TS": frame({"TSPARMCD": "DCUTDTC", "TSVAL": "2016-12-07"})}, SETTINGS)
    assert one(adsl, "TRTEDT") == D("2016-12-07")


def test_long_term_flag_follows_the_setting_when_changed():
    ex = frame(ex_row(EXSTDTC="2015-01-10", EXENDTC="2015-06-08"))  # 150 days
    sdtm = {"DM": frame(dm_row()), "EX": ex, "TS": frame({"TSPARMCD": "DCUTDTC", "TSVAL": "2016-12-07"})}
    shorter = SETTINGS.model_copy(update={
        "conventions": SETTINGS.conventions.model_copy(update={"long_term_use_days": 150})})
    assert one(build_adsl(sdtm, SETTINGS), "LTUSEFL") == "N"
    assert one(build_adsl(sdtm, shorter), "LTUSEFL") == "Y"


def test_long_term_flag_no_without_a_dose():
    adsl = derive_var_ltusefl(subjects("S1", TRTDURD=[None]), days=365)
    assert one(adsl, "LTUSEFL") == "N"


def test_build_derives_duration_cycles_dose_and_intensity():
    ex = frame(ex_row(EXSTDTC="2015-01-10", EXENDTC="2015-03-01"),  # 51 days: 2 cycles, 21 + 21 dosing days
               ex_row(EXSEQ=2.0, EXDOSE=15.0, EXSTDTC="2015-03-10", EXENDTC="2015-03-30"))  # 21 days, 1 cycle
    sdtm = {"DM": frame(dm_row()), "EX": ex, "TS": frame({"TSPARMCD": "DCUTDTC", "TSVAL": "2016-12-07"})}
    adsl = build_adsl(sdtm, SETTINGS)
    assert one(adsl, "TRTDURD") == 80
    assert one(adsl, "NUMCYC") == 3
    assert one(adsl, "CUMDOSE") == 42 * 25 + 21 * 15
    assert one(adsl, "DOSINT") == 17.06  # 1365 / 80 = 17.0625
    assert (one(adsl, "STDOSE"), one(adsl, "STDOSFRQ")) == (25.0, "QD")


def test_lower_dose_in_a_later_period_is_a_reduction():
    records = _records(ex_row(), ex_row(EXSEQ=2.0, EXDOSE=15.0, EXSTDTC="2015-02-07", EXENDTC="2015-03-06"))
    assert one(derive_var_dosredfl(subjects("S1"), records, extrt="LENALIDOMIDE"), "DOSREDFL") == "Y"


def test_every_other_day_halves_the_dose_per_day():
    # 15 mg QD then 15 mg QOD: 7.5 mg a day
    records = _records(ex_row(EXDOSE=15.0),
                       ex_row(EXSEQ=2.0, EXDOSE=15.0, EXDOSFRQ="QOD", EXSTDTC="2015-02-07", EXENDTC="2015-03-06"))
    assert one(derive_var_dosredfl(subjects("S1"), records, extrt="LENALIDOMIDE"), "DOSREDFL") == "Y"


def test_higher_dose_is_no_reduction():
    records = _records(ex_row(EXDOSE=10.0), ex_row(EXSEQ=2.0, EXSTDTC="2015-02-07", EXENDTC="2015-03-06"))
    assert one(derive_var_dosredfl(subjects("S1"), records, extrt="LENALIDOMIDE"), "DOSREDFL") == "N"


def test_period_starting_after_the_cycle_due_is_an_interruption():
    # first period 2015-01-10..2015-02-06 is one cycle: the next is due 2015-02-07
    records = _records(ex_row(), ex_row(EXSEQ=2.0, EXSTDTC="2015-02-15", EXENDTC="2015-03-14"))
    no_ae = frame({"USUBJID": "S9", "AEACN": "DRUG INTERRUPTED"})
    assert one(derive_var_intrfl(subjects("S1"), records, no_ae, extrt="LENALIDOMIDE"), "INTRFL") == "Y"


def test_period_starting_when_the_cycle_is_due_is_no_interruption():
    records = _records(ex_row(), ex_row(EXSEQ=2.0, EXSTDTC="2015-02-07", EXENDTC="2015-03-06"))
    ae = frame({"USUBJID": "S1", "AEACN": "DOSE NOT CHANGED"})
    assert one(derive_var_intrfl(subjects("S1"), records, ae, extrt="LENALIDOMIDE"), "INTRFL") == "N"


def test_ae_action_drug_interrupted_is_an_interruption():
    records = _records(ex_row())
    ae = frame({"USUBJID": "S1", "AEACN": "DRUG INTERRUPTED"})
    assert one(derive_var_intrfl(subjects("S1"), records, ae, extrt="LENALIDOMIDE"), "INTRFL") == "Y"


# ---------------------------------------------------------------------------------------- disposition

def _ds(**values) -> pd.DataFrame:
    row = {"USUBJID": "S1", "DSSEQ": 2.0, "DSCAT": "DISPOSITION EVENT", "DSDECOD": "OTHER",
           "DSTERM": "TRANSFERRED TO ANOTHER HOSPITAL", "DSSTDTC": "2015-09-01"}
    row.update(values)
    return frame({"USUBJID": "S1", "DSSEQ": 1.0, "DSCAT": "PROTOCOL MILESTONE", "DSDECOD": "INFORMED CONSENT OBTAINED",
                  "DSTERM": "INFORMED CONSENT OBTAINED", "DSSTDTC": "2015-01-05"}, row)


def test_discontinuation_for_other_reason_keeps_the_term():
    adsl = derive_vars_disposition(subjects("S1"), _ds())
    assert [one(adsl, v) for v in ("EOSSTT", "EOSDT", "DCSREAS", "DCSREASP")] == [
        "DISCONTINUED", D("2015-09-01"), "OTHER", "TRANSFERRED TO ANOTHER HOSPITAL"]


def test_completed_subject_has_no_discontinuation_reason():
    adsl = derive_vars_disposition(subjects("S1"), _ds(DSDECOD="COMPLETED", DSTERM="COMPLETED"))
    assert one(adsl, "EOSSTT") == "COMPLETED" and pd.isna(one(adsl, "DCSREAS"))


def test_subject_without_disposition_event_is_ongoing():
    adsl = derive_vars_disposition(subjects("S1"), _ds().iloc[:1])
    assert one(adsl, "EOSSTT") == "ONGOING" and pd.isna(one(adsl, "EOSDT"))


# ------------------------------------------------------------------------------------- analysis sets

def _dv(*rows: tuple[str, float, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["USUBJID", "DVSEQ", "DVCAT", "DVDECOD"])


def dosed(*ids: str) -> pd.DataFrame:
    return subjects(*ids, TRTSDT=[D("2014-03-05")] * len(ids))


def test_saffl_n_with_the_reason_from_dv():
    dv = _dv(("S1", 1.0, "EXCLUSION FROM SAFETY SET", "NO SAFETY FOLLOW-UP"))
    adsl = derive_vars_saffl(dosed("S1", "S2"), dv)
    assert adsl[["SAFFL", "SAFEXRS"]].values.tolist() == [["N", "NO SAFETY FOLLOW-UP"], ["Y", None]]


def test_undosed_subject_the_review_kept_is_excluded_with_no_dose():
    adsl = derive_vars_saffl(subjects("S1", TRTSDT=[pd.NaT]), _dv())
    assert (one(adsl, "SAFFL"), one(adsl, "SAFEXRS")) == ("N", "NO DOSE")


def test_efficacy_exclusion_of_a_safety_excluded_subject_is_not_in_safety_set():
    dv = _dv(("S1", 1.0, "EXCLUSION FROM SAFETY SET", "NO DOSE"))  # no efficacy record at all
    adsl = derive_vars_efffl(derive_vars_saffl(dosed("S1"), dv), dv)
    assert (one(adsl, "EFFFL"), one(adsl, "EFFEXRS")) == ("N", "NOT IN SAFETY SET")


def test_efficacy_exclusion_reason_from_dv():
    dv = _dv(("S1", 1.0, "EXCLUSION FROM EFFICACY SET", "OFF-LABEL USE"))
    adsl = derive_vars_efffl(derive_vars_saffl(dosed("S1"), dv), dv)
    assert [one(adsl, v) for v in ("SAFFL", "EFFFL", "EFFEXRS")] == ["Y", "N", "OFF-LABEL USE"]


def test_subject_without_dv_record_is_in_both_sets():
    dv = _dv(("S2", 1.0, "EXCLUSION FROM EFFICACY SET", "NO EVALUABLE RESPONSE"))
    adsl = derive_vars_efffl(derive_vars_saffl(dosed("S1", "S2"), dv), dv, evaluable=pd.Series(["S1"]))
    assert (one(adsl, "SAFFL"), one(adsl, "EFFFL")) == ("Y", "Y") and pd.isna(one(adsl, "EFFEXRS"))


def test_subject_without_an_evaluable_response_the_review_kept_leaves_the_efficacy_set():
    adsl = derive_vars_efffl(derive_vars_saffl(dosed("S1"), _dv()), _dv(), evaluable=pd.Series([], dtype=object))
    assert (one(adsl, "EFFFL"), one(adsl, "EFFEXRS")) == ("N", "NO EVALUABLE RESPONSE")


def test_only_responses_other_than_not_evaluable_are_evaluable():
    rs = pd.DataFrame({"USUBJID": ["S1", "S2", "S3", "S4"], "RSTESTCD": ["OVRLRESP", "OVRLRESP", "ECOG101", "BESTRESP"],
                       "RSSTRESC": ["NE", "PR", "1", "SD"]})
    assert sorted(evaluable_subjects(rs, SETTINGS)) == ["S2", "S4"]


# ------------------------------------------------------------------------------- a small synthetic study

@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """ADSL, ADRS and ADEX of a 60-subject synthetic study (seed 3), built from SDTM read back from XPT."""
    from submission.adam.adex import build_adex
    from submission.adam.adrs import build_adrs
    from submission.adam.build import read_sdtm
    from submission.build import run_sdtm
    from submission.raw.synth import synthesize, write_extract

    folder = Path(tmp_path_factory.mktemp("adsl_synth"))
    write_extract(synthesize(SETTINGS, n_subjects=60, seed=3), folder / "raw")
    run_sdtm(folder / "raw", SPECS, folder / "out")
    sdtm = read_sdtm(folder / "out" / "sdtm")
    adsl = build_adsl(sdtm, SETTINGS)
    return {"DM": sdtm["DM"], "ADSL": adsl, "ADRS": build_adrs(sdtm, adsl, SETTINGS),
            "ADEX": build_adex(sdtm, adsl, SETTINGS)}


def test_synthetic_datasets_have_exactly_the_spec_variables(synthetic):
    spec = load_spec(SPECS / "adam")
    for name in ("ADSL", "ADRS", "ADEX"):
        assert len(apply_spec(synthetic[name], spec, name).frame) == len(synthetic[name])


def test_synthetic_adsl_has_one_record_per_dm_subject(synthetic):
    adsl = synthetic["ADSL"]
    assert adsl["USUBJID"].is_unique
    assert sorted(adsl["USUBJID"]) == sorted(synthetic["DM"]["USUBJID"])


def test_synthetic_population_flags_are_y_or_n_and_nested(synthetic):
    adsl = synthetic["ADSL"]
    assert set(adsl["SAFFL"]) <= {"Y", "N"} and set(adsl["EFFFL"]) <= {"Y", "N"}
    assert (adsl.loc[adsl["EFFFL"] == "Y", "SAFFL"] == "Y").all()


def test_synthetic_every_exclusion_has_one_reason(synthetic):
    adsl = synthetic["ADSL"]
    assert (adsl["SAFFL"].eq("N") == adsl["SAFEXRS"].notna()).all()
    assert (adsl["EFFFL"].eq("N") == adsl["EFFEXRS"].notna()).all()
    assert (adsl["SAFFL"] == "N").any() and ((adsl["SAFFL"] == "Y") & (adsl["EFFFL"] == "N")).any()


def test_synthetic_safety_set_subjects_took_revlimid(synthetic):
    adsl = synthetic["ADSL"]
    assert adsl.loc[adsl["SAFFL"] == "Y", "TRTSDT"].notna().all()


def test_synthetic_bor_unique_and_covering_the_efficacy_set(synthetic):
    bor = synthetic["ADRS"].query("PARAMCD == 'BOR'")
    assert bor["USUBJID"].is_unique
    efficacy = synthetic["ADSL"].query("EFFFL == 'Y'")["USUBJID"]
    assert set(efficacy) <= set(bor["USUBJID"])


def test_synthetic_responder_agrees_with_bor(synthetic):
    adrs = synthetic["ADRS"]
    bor = adrs[adrs["PARAMCD"] == "BOR"].set_index("USUBJID")["AVALC"]
    rsp = adrs[adrs["PARAMCD"] == "RSP"].set_index("USUBJID")["AVALC"]
    expected = bor.isin(SETTINGS.conventions.response.responders).map({True: "Y", False: "N"})
    assert rsp.sort_index().to_dict() == expected.sort_index().to_dict()


def test_synthetic_revlimid_exposure_in_adex_matches_adsl(synthetic):
    adex, adsl = synthetic["ADEX"], synthetic["ADSL"].set_index("USUBJID")
    for paramcd, variable in (("RVLDUR", "TRTDURD"), ("RVLCYC", "NUMCYC"), ("RVLCUMD", "CUMDOSE"),
                              ("RVLDINT", "DOSINT"), ("RVLSTD", "STDOSE")):
        values = adex[adex["PARAMCD"] == paramcd].set_index("USUBJID")["AVAL"]
        assert values.eq(adsl.loc[values.index, variable].astype(float)).all(), paramcd
