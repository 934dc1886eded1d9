"""ADAE derivations: one case per test on tiny inline frames, then the build on a small synthetic study."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from submission.adam.adae import (OCCURRENCE_SUBSETS, build_adae, derive_var_adrfl, derive_var_aediscfl,
                                  derive_var_astyr, derive_var_fatalfl, derive_var_trtemfl, derive_var_unexpfl,
                                  derive_vars_adur, derive_vars_asev, derive_vars_atoxgr,
                                  derive_vars_first_occurrence)
from submission.adam.common import derive_vars_ady, derive_vars_aendt, derive_vars_astdt
from submission.adam.labelterms import LabelTerms
from submission.attributes import apply_spec
from submission.spec import load_spec
from submission.study import load_settings

from .conftest import SPECS

D = pd.Timestamp
NaT = pd.NaT


@pytest.fixture(scope="module")
def settings():
    return load_settings(SPECS)


def tiny_terms() -> LabelTerms:
    """A two-term label: Neutropenia (by code) and Fatigue."""
    return LabelTerms(codes=frozenset({10029354, 10016256}), names=frozenset({"neutropenia", "fatigue"}),
                      versions=("test",), sha256="", file="inline")


def adsl_row(**values) -> dict:
    row = {"USUBJID": "S-001", "SUBJID": "001", "SITEID": "101", "AGE": 70.0, "AGEGR1": ">=65", "AGEGR2": "<75",
           "SEX": "M", "RECRTRT": "DUE", "CRCLGR1": ">=60", "HEPIMPFL": "N", "LTUSEFL": "N", "SAFFL": "Y",
           "TRT01A": "LENALIDOMIDE + DEXAMETHASONE", "TRTSDT": D("2015-03-10"), "TRTEDT": D("2015-09-30"),
           "DTHDT": NaT, "DCUTDT": D("2016-12-07")}
    row.update(values)
    return row


def ae_row(**values) -> dict:
    row = {"STUDYID": "ST", "DOMAIN": "AE", "USUBJID": "S-001", "AESEQ": 1.0, "AESPID": "1", "AETERM": "neutropenia",
           "AELLT": "Neutropenia", "AELLTCD": 10029354.0, "AEDECOD": "Neutropenia", "AEPTCD": 10029354.0,
           "AEHLT": "Neutropenias", "AEHLTCD": 10029366.0, "AEHLGT": "White blood cell disorders",
           "AEHLGTCD": 10047954.0, "AEBODSYS": "Blood and lymphatic system disorders", "AEBDSYCD": 10005329.0,
           "AESOC": "Blood and lymphatic system disorders", "AESOCCD": 10005329.0, "AESEV": "MILD", "AESER": "N",
           "AEACN": "DOSE NOT CHANGED", "AEREL": "POSSIBLE", "AEOUT": "RECOVERED/RESOLVED", "AESCONG": None,
           "AESDISAB": None, "AESDTH": None, "AESHOSP": None, "AESLIFE": None, "AESMIE": None, "AECONTRT": "N",
           "AETOXGR": "2", "EPOCH": "TREATMENT", "AESTDTC": "2015-04-01", "AEENDTC": "2015-04-10", "AESTDY": 23.0,
           "AEENDY": 32.0, "AEENRTPT": None, "AEENTPT": None}
    row.update(values)
    return row


def build(ae_rows: list[dict], settings, adsl_rows: list[dict] | None = None, terms: LabelTerms | None = None):
    adsl = pd.DataFrame(adsl_rows or [adsl_row()])
    return build_adae({"AE": pd.DataFrame(ae_rows)}, adsl, settings, terms or tiny_terms())


def dates(start: str | None, end: str | None = None, *, trtsdt="2015-03-10", dthdt=None, dcutdt="2016-12-07"):
    """One record with the columns the date derivations read."""
    return pd.DataFrame({"AESTDTC": [start], "AEENDTC": [end], "TRTSDT": [D(trtsdt) if trtsdt else NaT],
                         "DTHDT": [D(dthdt) if dthdt else NaT], "DCUTDT": [D(dcutdt)]})


def astdt(frame: pd.DataFrame, **options) -> pd.DataFrame:
    options = {"dtc": "AESTDTC", "end_dtc": "AEENDTC", "first_dose": "TRTSDT", "missing_to_first_dose": True} | options
    return derive_vars_astdt(frame, **options)


def one(frame: pd.DataFrame, column: str):
    value = frame[column].iloc[0]
    return None if pd.isna(value) else value


# ----------------------------------------------------------------------------- ASTDT (MT.ASTDT)


def test_partial_onset_in_the_first_dose_month_is_imputed_to_trtsdt():
    out = astdt(dates("2015-03", "2015-04-02"))
    assert one(out, "ASTDT") == D("2015-03-10")
    assert one(out, "ASTDTF") == "D"


def test_partial_onset_in_the_first_dose_year_is_imputed_to_trtsdt():
    out = astdt(dates("2015", "2015-04-02"))
    assert one(out, "ASTDT") == D("2015-03-10")
    assert one(out, "ASTDTF") == "M"


def test_partial_onset_with_an_end_before_trtsdt_is_not_moved():
    out = astdt(dates("2015-03", "2015-03-05"))
    assert one(out, "ASTDT") == D("2015-03-01")


def test_partial_onset_with_a_partial_end_wholly_before_trtsdt_is_not_moved():
    out = astdt(dates("2015", "2015-02"))
    assert one(out, "ASTDT") == D("2015-01-01")


def test_partial_onset_with_an_ongoing_end_is_moved_to_trtsdt():
    out = astdt(dates("2015-03", None))
    assert one(out, "ASTDT") == D("2015-03-10")


def test_partial_onset_outside_the_first_dose_month_gets_the_first_of_the_month():
    out = astdt(dates("2015-05", None))
    assert one(out, "ASTDT") == D("2015-05-01")
    assert one(out, "ASTDTF") == "D"


def test_partial_onset_before_the_first_dose_month_stays_before_it():
    out = astdt(dates("2015-02", None))
    assert one(out, "ASTDT") == D("2015-02-01")


def test_complete_onset_is_kept_without_a_flag():
    out = astdt(dates("2015-03-02", None))
    assert one(out, "ASTDT") == D("2015-03-02")
    assert one(out, "ASTDTF") is None


def test_missing_onset_is_imputed_to_trtsdt_with_flag_y():
    out = astdt(dates(None, None))
    assert one(out, "ASTDT") == D("2015-03-10")
    assert one(out, "ASTDTF") == "Y"


def test_missing_onset_stays_missing_without_the_first_dose_rule():
    out = astdt(dates(None, None), missing_to_first_dose=False)
    assert one(out, "ASTDT") is None
    assert one(out, "ASTDTF") is None


def test_onset_moved_to_trtsdt_is_capped_at_death():
    out = astdt(dates("2015-03", None, dthdt="2015-03-08"))
    assert one(out, "ASTDT") == D("2015-03-08")
    assert one(out, "ASTDTF") == "D"


# ----------------------------------------------------------------------------- AENDT (MT.AENDT)


def aendt(frame: pd.DataFrame) -> pd.DataFrame:
    return derive_vars_aendt(astdt(frame), dtc="AEENDTC")


def test_missing_day_end_date_is_imputed_to_the_end_of_the_month():
    out = aendt(dates("2015-04-01", "2015-04"))
    assert one(out, "AENDT") == D("2015-04-30")
    assert one(out, "AENDTF") == "D"


def test_missing_day_end_date_is_capped_at_death():
    out = aendt(dates("2015-04-01", "2015-04", dthdt="2015-04-12"))
    assert one(out, "AENDT") == D("2015-04-12")
    assert one(out, "AENDTF") == "D"


def test_missing_day_end_date_is_capped_at_the_cutoff():
    out = aendt(dates("2016-12-01", "2016-12", dcutdt="2016-12-07"))
    assert one(out, "AENDT") == D("2016-12-07")


def test_missing_month_end_date_is_imputed_to_31_december_with_flag_m():
    out = aendt(dates("2015-04-01", "2015"))
    assert one(out, "AENDT") == D("2015-12-31")
    assert one(out, "AENDTF") == "M"


def test_partial_end_date_is_never_before_the_start():
    out = aendt(dates("2015-05-03", "2015-04"))
    assert one(out, "AENDT") == D("2015-05-03")


def test_missing_end_date_stays_missing():
    out = aendt(dates("2015-04-01", None))
    assert one(out, "AENDT") is None
    assert one(out, "AENDTF") is None


def test_complete_end_date_after_death_is_kept():
    out = aendt(dates("2015-04-01", "2015-04-20", dthdt="2015-04-12"))
    assert one(out, "AENDT") == D("2015-04-20")
    assert one(out, "AENDTF") is None


# ----------------------------------------------------------------------------- relative days, duration, year


def test_analysis_day_is_1_on_trtsdt():
    frame = pd.DataFrame({"TRTSDT": [D("2015-03-10")], "ASTDT": [D("2015-03-10")], "AENDT": [NaT]})
    assert one(derive_vars_ady(frame), "ASTDY") == 1


def test_analysis_day_has_no_day_zero():
    frame = pd.DataFrame({"TRTSDT": [D("2015-03-10")], "ASTDT": [D("2015-03-09")], "AENDT": [D("2015-03-11")]})
    out = derive_vars_ady(frame)
    assert (one(out, "ASTDY"), one(out, "AENDY")) == (-1, 2)


def test_duration_counts_both_the_first_and_the_last_day():
    out = derive_vars_adur(pd.DataFrame({"ASTDT": [D("2015-04-01")], "AENDT": [D("2015-04-10")]}))
    assert (one(out, "ADURN"), one(out, "ADURU")) == (10, "DAYS")


def test_duration_is_missing_when_ongoing():
    out = derive_vars_adur(pd.DataFrame({"ASTDT": [D("2015-04-01")], "AENDT": [NaT]}))
    assert (one(out, "ADURN"), one(out, "ADURU")) == (None, None)


@pytest.mark.parametrize(("astdy", "year"), [(1, 1), (365, 1), (366, 2), (730, 2), (731, 3)])
def test_year_of_treatment_at_onset(astdy, year):
    assert one(derive_var_astyr(pd.DataFrame({"ASTDY": [astdy]})), "ASTYR") == year


def test_year_of_treatment_is_missing_before_the_first_dose():
    assert one(derive_var_astyr(pd.DataFrame({"ASTDY": [-3]})), "ASTYR") is None


# ----------------------------------------------------------------------------- TRTEMFL


def window(astdt, trtsdt="2015-03-10", trtedt="2015-09-30") -> pd.DataFrame:
    return pd.DataFrame({"ASTDT": [D(astdt) if astdt else NaT], "TRTSDT": [D(trtsdt) if trtsdt else NaT],
                         "TRTEDT": [D(trtedt) if trtedt else NaT]})


def test_onset_on_the_last_dose_plus_28_days_is_treatment_emergent():
    assert one(derive_var_trtemfl(window("2015-10-28"), window_days=28), "TRTEMFL") == "Y"


def test_onset_on_the_last_dose_plus_29_days_is_not_treatment_emergent():
    assert one(derive_var_trtemfl(window("2015-10-29"), window_days=28), "TRTEMFL") is None


def test_onset_on_the_first_dose_is_treatment_emergent():
    assert one(derive_var_trtemfl(window("2015-03-10"), window_days=28), "TRTEMFL") == "Y"


def test_onset_the_day_before_the_first_dose_is_not_treatment_emergent():
    assert one(derive_var_trtemfl(window("2015-03-09"), window_days=28), "TRTEMFL") is None


def test_subject_without_a_dose_has_no_treatment_emergent_event():
    assert one(derive_var_trtemfl(window("2015-04-01", None, None), window_days=28), "TRTEMFL") is None


def test_treatment_emergent_window_comes_from_the_settings(settings):
    onset = {"AESTDTC": "2015-10-15", "AEENDTC": "2015-10-20"}  # last dose + 15 days
    narrow = settings.model_copy(update={"conventions": settings.conventions.model_copy(
        update={"treatment_emergent_days": 10})})
    assert one(build([ae_row(**onset)], settings), "TRTEMFL") == "Y"
    assert one(build([ae_row(**onset)], narrow), "TRTEMFL") is None


# ----------------------------------------------------------------------------- severity, grade


def test_missing_severity_is_analysed_as_severe():
    out = derive_vars_asev(pd.DataFrame({"AESEV": [None]}))
    assert (one(out, "ASEV"), one(out, "ASEVN")) == ("SEVERE", 3)


def test_collected_severity_is_kept_with_its_number():
    out = derive_vars_asev(pd.DataFrame({"AESEV": ["MODERATE"]}))
    assert (one(out, "ASEV"), one(out, "ASEVN")) == ("MODERATE", 2)


def test_toxicity_grade_as_a_number():
    out = derive_vars_atoxgr(pd.DataFrame({"AETOXGR": ["3"]}))
    assert (one(out, "ATOXGR"), one(out, "ATOXGRN")) == ("3", 3)


def test_missing_toxicity_grade_is_not_imputed():
    out = derive_vars_atoxgr(pd.DataFrame({"AETOXGR": [None]}))
    assert (one(out, "ATOXGR"), one(out, "ATOXGRN")) == (None, None)


# ----------------------------------------------------------------------------- ADRFL, UNEXPFL


def adr(relation, settings) -> str:
    frame = pd.DataFrame({"AEREL": [relation]})
    return one(derive_var_adrfl(frame, causality=settings.conventions.adr_causality), "ADRFL")


def test_unlikely_causality_is_not_an_adr(settings):
    assert adr("UNLIKELY", settings) == "N"


def test_possible_causality_is_an_adr(settings):
    assert adr("POSSIBLE", settings) == "Y"


def test_conditional_causality_is_an_adr_under_the_study_settings(settings):
    assert adr("CONDITIONAL", settings) == "Y"


def test_missing_causality_is_an_adr(settings):
    assert adr(None, settings) == "Y"


def test_adr_set_comes_from_the_settings(settings):
    codes = [c for c in settings.conventions.adr_causality if c != "CONDITIONAL"]
    strict = settings.model_copy(update={"conventions": settings.conventions.model_copy(
        update={"adr_causality": codes})})
    record = ae_row(AEREL="CONDITIONAL")
    assert one(build([record], settings), "ADRFL") == "Y"
    assert one(build([record], strict), "ADRFL") == "N"


def unexpected(ptcd, pt) -> str:
    frame = pd.DataFrame({"AEPTCD": [ptcd], "AEDECOD": [pt]})
    return one(derive_var_unexpfl(frame, label_terms=tiny_terms()), "UNEXPFL")


def test_pt_in_the_label_is_expected():
    assert unexpected(10029354.0, "Neutropenia") == "N"


def test_pt_not_in_the_label_is_unexpected():
    assert unexpected(10037660.0, "Pyrexia") == "Y"


def test_pt_without_a_code_is_matched_by_name_ignoring_case():
    assert unexpected(None, "FATIGUE") == "N"


# ----------------------------------------------------------------------------- AEDISCFL, FATALFL


def test_drug_withdrawn_is_a_discontinuation():
    assert one(derive_var_aediscfl(pd.DataFrame({"AEACN": ["DRUG WITHDRAWN"]})), "AEDISCFL") == "Y"


def test_drug_interrupted_is_not_a_discontinuation():
    assert one(derive_var_aediscfl(pd.DataFrame({"AEACN": ["DRUG INTERRUPTED"]})), "AEDISCFL") == "N"


def test_fatal_outcome_is_fatal():
    frame = pd.DataFrame({"AEOUT": ["FATAL"], "AESDTH": [None]})
    assert one(derive_var_fatalfl(frame), "FATALFL") == "Y"


def test_results_in_death_is_fatal_whatever_the_outcome():
    frame = pd.DataFrame({"AEOUT": ["UNKNOWN"], "AESDTH": ["Y"]})
    assert one(derive_var_fatalfl(frame), "FATALFL") == "Y"


def test_recovered_event_is_not_fatal():
    frame = pd.DataFrame({"AEOUT": ["RECOVERED/RESOLVED"], "AESDTH": ["N"]})
    assert one(derive_var_fatalfl(frame), "FATALFL") == "N"


# ----------------------------------------------------------------------------- first-occurrence flags


def occurrence_frame(rows: list[tuple]) -> pd.DataFrame:
    """(USUBJID, AESEQ, ASTDT, SOC, PT, TRTEMFL, ADRFL, AESER, UNEXPFL) per record."""
    columns = ["USUBJID", "AESEQ", "ASTDT", "AEBODSYS", "AEDECOD", "TRTEMFL", "ADRFL", "AESER", "UNEXPFL"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["ASTDT"] = pd.to_datetime(frame["ASTDT"])
    return frame


def flagged(frame: pd.DataFrame, name: str) -> list[float]:
    return frame.loc[frame[name].eq("Y"), "AESEQ"].tolist()


def test_first_occurrence_is_the_earliest_onset_not_the_lowest_aeseq():
    frame = occurrence_frame([("S1", 1, "2015-05-01", "Blood", "Anaemia", "Y", "Y", "N", "N"),
                              ("S1", 2, "2015-04-01", "Blood", "Anaemia", "Y", "Y", "N", "N")])
    out = derive_vars_first_occurrence(frame, prefix="A")
    assert flagged(out, "AOCCFL") == flagged(out, "AOCCSFL") == flagged(out, "AOCCPFL") == [2]


def test_first_occurrence_ties_on_onset_go_to_the_lower_aeseq():
    frame = occurrence_frame([("S1", 2, "2015-04-01", "Blood", "Anaemia", "Y", "Y", "N", "N"),
                              ("S1", 1, "2015-04-01", "Blood", "Anaemia", "Y", "Y", "N", "N")])
    assert flagged(derive_vars_first_occurrence(frame, prefix="A"), "AOCCFL") == [1]


def test_first_occurrence_skips_records_that_are_not_treatment_emergent():
    frame = occurrence_frame([("S1", 1, "2015-01-01", "Blood", "Anaemia", None, "Y", "N", "N"),
                              ("S1", 2, "2015-04-01", "Blood", "Anaemia", "Y", "Y", "N", "N")])
    assert flagged(derive_vars_first_occurrence(frame, prefix="A"), "AOCCFL") == [2]


def test_first_occurrence_of_a_subset_skips_records_outside_it():
    frame = occurrence_frame([("S1", 1, "2015-04-01", "Blood", "Anaemia", "Y", "N", "N", "N"),
                              ("S1", 2, "2015-05-01", "Blood", "Anaemia", "Y", "Y", "N", "N")])
    out = derive_vars_first_occurrence(frame, prefix="AR", subset=("ADRFL",))
    assert flagged(out, "AROCCFL") == [2]


def test_first_occurrence_levels_flag_each_soc_and_pt_once():
    frame = occurrence_frame([("S1", 1, "2015-04-01", "Blood", "Anaemia", "Y", "Y", "N", "N"),
                              ("S1", 2, "2015-04-02", "Blood", "Neutropenia", "Y", "Y", "N", "N"),
                              ("S1", 3, "2015-04-03", "Skin", "Rash", "Y", "Y", "N", "N"),
                              ("S1", 4, "2015-04-04", "Blood", "Neutropenia", "Y", "Y", "N", "N")])
    out = derive_vars_first_occurrence(frame, prefix="A")
    assert (flagged(out, "AOCCFL"), flagged(out, "AOCCSFL"), flagged(out, "AOCCPFL")) == ([1], [1, 3], [1, 2, 3])


def mixed_records() -> pd.DataFrame:
    """Three subjects, two SOCs, records of every kind (treatment-emergent or not, ADR, serious, unexpected)."""
    rows = []
    kinds = [("Y", "Y", "N", "N"), ("Y", "N", "Y", "Y"), ("Y", "Y", "Y", "Y"), (None, "Y", "Y", "Y"),
             ("Y", "Y", "Y", "N"), ("Y", "N", "N", "Y"), ("Y", "Y", "N", "Y")]
    terms = [("Blood", "Anaemia"), ("Blood", "Neutropenia"), ("Skin", "Rash"), ("Skin", "Pruritus")]
    seq = {}
    for i in range(40):
        subject = f"S{i % 3}"
        seq[subject] = seq.get(subject, 0) + 1
        soc, pt = terms[(i * 7) % 4]
        te, adr_, ser, unexp = kinds[(i * 5) % 7]
        rows.append((subject, seq[subject], f"2015-{1 + (i * 3) % 12:02d}-{1 + (i * 11) % 28:02d}", soc, pt,
                     te, adr_, ser, unexp))
    return occurrence_frame(rows)


@pytest.mark.parametrize("code", list(OCCURRENCE_SUBSETS))
def test_first_occurrence_flags_agree_with_direct_subject_counts(code):
    subset = OCCURRENCE_SUBSETS[code]
    out = derive_vars_first_occurrence(mixed_records(), prefix=code, subset=subset)
    chosen = out["TRTEMFL"].eq("Y")
    for name in subset:
        chosen &= out[name].eq("Y")
    records = out[chosen]
    assert out[f"{code}OCCFL"].eq("Y").sum() == records["USUBJID"].nunique()
    by_soc = records.groupby("AEBODSYS")["USUBJID"].nunique()
    assert out[out[f"{code}OCCSFL"].eq("Y")].groupby("AEBODSYS").size().reindex(by_soc.index).tolist() == by_soc.tolist()
    by_pt = records.groupby(["AEBODSYS", "AEDECOD"])["USUBJID"].nunique()
    assert out[out[f"{code}OCCPFL"].eq("Y")].groupby(["AEBODSYS", "AEDECOD"]).size().reindex(
        by_pt.index).tolist() == by_pt.tolist()
    assert not out.loc[~chosen, [f"{code}OCCFL", f"{code}OCCSFL", f"{code}OCCPFL"]].notna().any().any()


# ----------------------------------------------------------------------------- the build on tiny frames


def test_build_keeps_one_record_per_ae_record(settings):
    records = [ae_row(AESEQ=1.0), ae_row(AESEQ=2.0, AESTDTC="2015-05-01", AEENDTC=None)]
    assert build(records, settings)["AESEQ"].tolist() == [1.0, 2.0]


def test_build_takes_the_actual_treatment_from_trt01a(settings):
    assert one(build([ae_row()], settings), "TRTA") == "LENALIDOMIDE + DEXAMETHASONE"


def test_build_drops_the_variables_used_only_for_the_date_caps(settings):
    assert {"DTHDT", "DCUTDT", "TRT01A", "EPOCH"}.isdisjoint(build([ae_row()], settings).columns)


# ----------------------------------------------------------------------------- a small synthetic study


@pytest.fixture(scope="module")
def synthetic(settings, tmp_path_factory):
    """SDTM of a 60-subject synthetic study (seed 3), as read back from XPT, with its ADSL."""
    return synthetic_study(settings, tmp_path_factory.mktemp("adam_synth"))


_SYNTHETIC: dict[str, tuple[dict[str, pd.DataFrame], pd.DataFrame]] = {}


def synthetic_study(settings, folder: Path) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Made once per test session (the ADCM/ADMH tests share it); callers must not modify it."""
    if "study" not in _SYNTHETIC:
        _SYNTHETIC["study"] = _make_synthetic_study(settings, folder)
    return _SYNTHETIC["study"]


def _make_synthetic_study(settings, folder: Path) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    from submission.adam.build import read_sdtm
    from submission.build import run_sdtm
    from submission.raw.synth import synthesize, write_extract

    write_extract(synthesize(settings, n_subjects=60, seed=3), folder / "raw")
    run_sdtm(folder / "raw", SPECS, folder / "out")
    sdtm = read_sdtm(folder / "out" / "sdtm")
    try:
        from submission.adam.adsl import build_adsl
    except ImportError:
        return sdtm, minimal_adsl(sdtm, settings)
    return sdtm, build_adsl(sdtm, settings)


def minimal_adsl(sdtm: dict[str, pd.DataFrame], settings) -> pd.DataFrame:
    """Enough ADSL for ADAE, ADCM and ADMH, from DM and EX, while adsl.py does not exist."""
    from submission.adam.common import group, numeric_date

    dm, ex = sdtm["DM"], sdtm["EX"]
    rvl = ex[ex["EXTRT"] == "LENALIDOMIDE"].assign(START=lambda f: numeric_date(f["EXSTDTC"]),
                                                    END=lambda f: numeric_date(f["EXENDTC"]))
    first, last = rvl.groupby("USUBJID")["START"].min(), rvl.groupby("USUBJID")["END"].max()
    groups = settings.conventions.groups
    return pd.DataFrame({
        "USUBJID": dm["USUBJID"], "SUBJID": dm["SUBJID"], "SITEID": dm["SITEID"], "AGE": dm["AGE"],
        "AGEGR1": group(dm["AGE"], groups["AGEGR1"].cuts, groups["AGEGR1"].labels),
        "AGEGR2": group(dm["AGE"], groups["AGEGR2"].cuts, groups["AGEGR2"].labels), "SEX": dm["SEX"],
        "RECRTRT": None, "CRCLGR1": None, "HEPIMPFL": "N", "LTUSEFL": "N",
        "SAFFL": dm["USUBJID"].map(first).notna().map({True: "Y", False: "N"}), "TRT01A": dm["ACTARM"],
        "TRTSDT": dm["USUBJID"].map(first), "TRTEDT": dm["USUBJID"].map(last),
        "DTHDT": numeric_date(dm["DTHDTC"]), "DCUTDT": pd.Timestamp(settings.dates.data_cutoff)})


@pytest.fixture(scope="module")
def synthetic_adae(synthetic, settings):
    sdtm, adsl = synthetic
    return build_adae(sdtm, adsl, settings, LabelTerms.load(SPECS))


def test_synthetic_adae_has_exactly_the_spec_variables(synthetic_adae):
    dataset = apply_spec(synthetic_adae, load_spec(SPECS / "adam"), "ADAE")
    assert len(dataset.frame) == len(synthetic_adae)


def test_synthetic_adae_traces_each_record_to_exactly_one_ae_record(synthetic, synthetic_adae):
    ae = synthetic[0]["AE"]
    matched = synthetic_adae[["USUBJID", "AESEQ", "AETERM", "AESTDTC"]].merge(
        ae[["USUBJID", "AESEQ", "AETERM", "AESTDTC"]], on=["USUBJID", "AESEQ"], how="outer",
        suffixes=("", "_AE"), validate="one_to_one", indicator=True)
    assert len(synthetic_adae) == len(ae)
    assert matched["_merge"].eq("both").all()
    assert matched["AETERM"].equals(matched["AETERM_AE"])
    assert matched["AESTDTC"].fillna("").equals(matched["AESTDTC_AE"].fillna(""))


def test_synthetic_adrfl_agrees_with_aerel_under_the_settings(synthetic_adae, settings):
    related = synthetic_adae["AEREL"].isin(settings.conventions.adr_causality) | synthetic_adae["AEREL"].isna()
    assert synthetic_adae["ADRFL"].eq("Y").equals(related)
    assert synthetic_adae["ADRFL"].isin(["Y", "N"]).all()


def test_synthetic_unexpfl_agrees_with_the_label_terms_file(synthetic_adae):
    with (SPECS / "label_terms.csv").open(encoding="utf-8", newline="") as handle:
        codes = {int(row["PTCD"]) for row in csv.DictReader(handle) if row["PTCD"]}
    in_label = synthetic_adae["AEPTCD"].isin(codes)
    assert synthetic_adae["UNEXPFL"].eq("N").equals(in_label)
    assert 0 < synthetic_adae["UNEXPFL"].eq("Y").sum() < len(synthetic_adae)


def test_synthetic_trtemfl_agrees_with_the_window(synthetic_adae, settings):
    a = synthetic_adae
    end = a["TRTEDT"] + pd.Timedelta(days=settings.conventions.treatment_emergent_days)
    assert a["TRTEMFL"].eq("Y").equals((a["ASTDT"] >= a["TRTSDT"]) & (a["ASTDT"] <= end))


@pytest.mark.parametrize("code", list(OCCURRENCE_SUBSETS))
def test_synthetic_counting_flags_agree_with_direct_counts(synthetic_adae, code):
    a = synthetic_adae
    chosen = a["TRTEMFL"].eq("Y")
    for name in OCCURRENCE_SUBSETS[code]:
        chosen &= a[name].eq("Y")
    records = a[chosen]
    assert a[f"{code}OCCFL"].eq("Y").sum() == records["USUBJID"].nunique()
    soc = a[a[f"{code}OCCSFL"].eq("Y")].groupby("AEBODSYS").size()
    assert soc.sort_index().to_dict() == records.groupby("AEBODSYS")["USUBJID"].nunique().sort_index().to_dict()
    pt = a[a[f"{code}OCCPFL"].eq("Y")].groupby(["AEBODSYS", "AEDECOD"]).size()
    direct = records.groupby(["AEBODSYS", "AEDECOD"])["USUBJID"].nunique()
    assert pt.sort_index().to_dict() == direct.sort_index().to_dict()
