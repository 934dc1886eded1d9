"""ADCM and ADMH derivations: one case per test on tiny inline frames, then the build on a small synthetic study."""

from __future__ import annotations

import pandas as pd
import pytest

from submission.adam.adcm import build_adcm, derive_var_ontrtfl, derive_var_prefl
from submission.adam.admh import build_admh
from submission.attributes import apply_spec
from submission.spec import load_spec
from submission.study import load_settings

from .conftest import SPECS
from .test_adam_adae import adsl_row, one, synthetic_study

D = pd.Timestamp
NaT = pd.NaT


@pytest.fixture(scope="module")
def settings():
    return load_settings(SPECS)


def cm_row(**values) -> dict:
    row = {"STUDYID": "ST", "DOMAIN": "CM", "USUBJID": "S-001", "CMSEQ": 1.0, "CMSPID": "1", "CMTRT": "Aspirin 100mg",
           "CMDECOD": "ACETYLSALICYLIC ACID", "CMINDC": "Thromboprophylaxis",
           "CMCLAS": "Platelet aggregation inhibitors excl. heparin", "CMCLASCD": "B01AC", "CMDOSE": 100.0,
           "CMDOSU": "mg", "CMROUTE": "ORAL", "EPOCH": "TREATMENT", "CMSTDTC": "2015-03-12", "CMENDTC": "2015-06-30",
           "CMSTDY": 3.0, "CMENDY": 113.0, "CMENRTPT": None, "CMENTPT": None}
    row.update(values)
    return row


def mh_row(**values) -> dict:
    row = {"STUDYID": "ST", "DOMAIN": "MH", "USUBJID": "S-001", "MHSEQ": 1.0, "MHSPID": "1", "MHTERM": "Hypertension",
           "MHLLT": "Hypertension", "MHLLTCD": 10020772.0, "MHDECOD": "Hypertension", "MHPTCD": 10020772.0,
           "MHHLT": "Vascular hypertensive disorders NEC", "MHHLTCD": 10047111.0,
           "MHHLGT": "Vascular hypertensive disorders", "MHHLGTCD": 10047107.0, "MHCAT": "GENERAL MEDICAL HISTORY",
           "MHBODSYS": "Vascular disorders", "MHBDSYCD": 10047065.0, "MHSOC": "Vascular disorders",
           "MHSOCCD": 10047065.0, "MHSTDTC": "2010-05-18", "MHENRTPT": "ONGOING", "MHENTPT": "2015-03-01"}
    row.update(values)
    return row


def adcm(settings, **values) -> pd.DataFrame:
    return build_adcm({"CM": pd.DataFrame([cm_row(**values)])}, pd.DataFrame([adsl_row()]), settings)


def admh(settings, adsl: dict | None = None, **values) -> pd.DataFrame:
    return build_admh({"MH": pd.DataFrame([mh_row(**values)])}, pd.DataFrame([adsl or adsl_row()]), settings)


def use(start, end, trtsdt="2015-03-10", trtedt="2015-09-30") -> pd.DataFrame:
    return pd.DataFrame({"ASTDT": [D(start) if start else NaT], "AENDT": [D(end) if end else NaT],
                         "TRTSDT": [D(trtsdt) if trtsdt else NaT], "TRTEDT": [D(trtedt) if trtedt else NaT]})


# ----------------------------------------------------------------------------- PREFL


def test_medication_started_before_the_first_dose_is_prior():
    assert one(derive_var_prefl(use("2015-03-09", None)), "PREFL") == "Y"


def test_medication_started_on_the_first_dose_is_not_prior():
    assert one(derive_var_prefl(use("2015-03-10", None)), "PREFL") is None


def test_medication_with_a_missing_start_is_not_prior():
    assert one(derive_var_prefl(use(None, None)), "PREFL") is None


def test_partial_start_in_the_first_dose_month_is_not_prior(settings):
    out = adcm(settings, CMSTDTC="2015-03", CMENDTC="2015-04-30")
    assert (one(out, "ASTDT"), one(out, "ASTDTF"), one(out, "PREFL")) == (D("2015-03-10"), "D", None)


def test_partial_start_with_an_end_before_the_first_dose_stays_prior(settings):
    out = adcm(settings, CMSTDTC="2015-03", CMENDTC="2015-03-05")
    assert (one(out, "ASTDT"), one(out, "PREFL")) == (D("2015-03-01"), "Y")


def test_missing_cm_start_is_not_imputed(settings):
    out = adcm(settings, CMSTDTC=None)
    assert (one(out, "ASTDT"), one(out, "ASTDTF")) == (None, None)


# ----------------------------------------------------------------------------- ONTRTFL


def test_prior_medication_ongoing_is_on_treatment():
    assert one(derive_var_ontrtfl(use("2014-01-01", None), window_days=28), "ONTRTFL") == "Y"


def test_medication_ended_the_day_before_the_first_dose_is_not_on_treatment():
    assert one(derive_var_ontrtfl(use("2014-01-01", "2015-03-09"), window_days=28), "ONTRTFL") is None


def test_medication_ended_on_the_first_dose_is_on_treatment():
    assert one(derive_var_ontrtfl(use("2014-01-01", "2015-03-10"), window_days=28), "ONTRTFL") == "Y"


def test_medication_started_on_the_last_dose_plus_28_days_is_on_treatment():
    assert one(derive_var_ontrtfl(use("2015-10-28", None), window_days=28), "ONTRTFL") == "Y"


def test_medication_started_on_the_last_dose_plus_29_days_is_not_on_treatment():
    assert one(derive_var_ontrtfl(use("2015-10-29", None), window_days=28), "ONTRTFL") is None


def test_medication_without_dates_is_on_treatment():
    assert one(derive_var_ontrtfl(use(None, None), window_days=28), "ONTRTFL") == "Y"


def test_subject_without_a_dose_has_no_on_treatment_medication():
    assert one(derive_var_ontrtfl(use("2015-04-01", None, None, None), window_days=28), "ONTRTFL") is None


def test_on_treatment_window_comes_from_the_settings(settings):
    narrow = settings.model_copy(update={"conventions": settings.conventions.model_copy(
        update={"treatment_emergent_days": 10})})
    started = {"CMSTDTC": "2015-10-15", "CMENDTC": "2015-10-20"}  # last dose + 15 days
    assert one(adcm(settings, **started), "ONTRTFL") == "Y"
    assert one(adcm(narrow, **started), "ONTRTFL") is None


# ----------------------------------------------------------------------------- ADCM build


def test_adcm_relative_days_count_from_trtsdt(settings):
    out = adcm(settings, CMSTDTC="2015-03-09", CMENDTC="2015-03-11")
    assert (one(out, "ASTDY"), one(out, "AENDY")) == (-1, 2)


def test_adcm_partial_end_is_imputed_to_the_end_of_the_month(settings):
    out = adcm(settings, CMENDTC="2015-06")
    assert (one(out, "AENDT"), one(out, "AENDTF")) == (D("2015-06-30"), "D")


def test_adcm_takes_the_actual_treatment_from_trt01a(settings):
    assert one(adcm(settings), "TRTA") == "LENALIDOMIDE + DEXAMETHASONE"


# ----------------------------------------------------------------------------- ADMH


def test_history_in_the_first_dose_year_is_not_moved_to_the_first_dose(settings):
    out = admh(settings, MHSTDTC="2015")
    assert (one(out, "ASTDT"), one(out, "ASTDTF")) == (D("2015-01-01"), "M")


def test_history_with_a_missing_day_gets_the_first_of_the_month(settings):
    out = admh(settings, MHSTDTC="2010-05")
    assert (one(out, "ASTDT"), one(out, "ASTDTF")) == (D("2010-05-01"), "D")


def test_history_without_a_date_stays_missing(settings):
    out = admh(settings, MHSTDTC=None)
    assert (one(out, "ASTDT"), one(out, "ASTDTF")) == (None, None)


def test_history_imputed_date_is_never_after_death(settings):
    out = admh(settings, adsl_row(DTHDT=D("2016-02-10")), MHSTDTC="2016-02")
    assert one(out, "ASTDT") == D("2016-02-01")


def test_admh_carries_the_subject_variables(settings):
    out = admh(settings)
    assert (one(out, "SAFFL"), one(out, "TRTSDT"), one(out, "TRTA")) == (
        "Y", D("2015-03-10"), "LENALIDOMIDE + DEXAMETHASONE")


# ----------------------------------------------------------------------------- a small synthetic study


@pytest.fixture(scope="module")
def synthetic(settings, tmp_path_factory):
    return synthetic_study(settings, tmp_path_factory.mktemp("adam_synth_cm_mh"))


@pytest.mark.parametrize(("name", "domain", "seq"), [("ADCM", "CM", "CMSEQ"), ("ADMH", "MH", "MHSEQ")])
def test_synthetic_dataset_keeps_one_record_per_sdtm_record(synthetic, settings, name, domain, seq):
    sdtm, adsl = synthetic
    frame = (build_adcm if name == "ADCM" else build_admh)(sdtm, adsl, settings)
    dataset = apply_spec(frame, load_spec(SPECS / "adam"), name)
    keys = dataset.frame[["USUBJID", seq]].astype({seq: "float64"})
    source = sdtm[domain][["USUBJID", seq]]
    assert len(keys) == len(source)
    assert keys.merge(source, on=["USUBJID", seq], validate="one_to_one").shape[0] == len(source)


def test_synthetic_adcm_prior_medications_start_before_the_first_dose(synthetic, settings):
    sdtm, adsl = synthetic
    out = build_adcm(sdtm, adsl, settings)
    assert out["PREFL"].eq("Y").equals(out["ASTDT"] < out["TRTSDT"])
    assert out["PREFL"].eq("Y").any()
