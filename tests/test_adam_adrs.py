"""ADRS: best overall response and the responder parameters, one case per test on tiny inline frames."""

from __future__ import annotations

import pandas as pd
import pytest

from submission.adam.adrs import RESPONDERS, build_adrs, derive_param_bor, derive_param_responder
from submission.errors import SubError
from submission.spec import load_spec
from submission.study import load_settings

from .conftest import SPECS

D = pd.Timestamp
SETTINGS = load_settings(SPECS)
RESPONSE = SETTINGS.conventions.response


def rs_row(testcd: str, result: str | None, dtc: str | None, seq: float, *, subject: str = "S1",
           rscat: str = "IMWG") -> dict:
    return {"USUBJID": subject, "RSSEQ": seq, "RSTESTCD": testcd, "RSCAT": rscat, "RSSTRESC": result, "RSDTC": dtc}


def rs(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def adsl(*subjects: str) -> pd.DataFrame:
    ids = list(subjects or ["S1"])
    return pd.DataFrame({"STUDYID": "ST", "USUBJID": ids, "SUBJID": ids, "SITEID": "101",
                         "TRT01A": "LENALIDOMIDE + DEXAMETHASONE", "SAFFL": "Y", "EFFFL": "Y",
                         "TRTSDT": D("2015-01-01")})


def bor_of(records: pd.DataFrame, subject: str = "S1") -> pd.Series:
    bor = derive_param_bor(adsl(subject), records, RESPONSE)
    return bor.set_index("USUBJID").loc[subject]


def test_bor_from_the_collected_best_response_over_the_visits():
    bor = bor_of(rs(rs_row("BESTRESP", "PR", "2015-04-01", 1.0), rs_row("OVRLRESP", "VGPR", "2015-03-01", 2.0)))
    assert (bor["AVALC"], bor["SRCSEQ"], bor["ADT"]) == ("PR", 1.0, D("2015-04-01"))


def test_bor_from_the_best_visit_without_a_collected_best_response():
    bor = bor_of(rs(rs_row("OVRLRESP", "SD", "2015-02-01", 1.0), rs_row("OVRLRESP", "VGPR", "2015-03-01", 2.0),
                    rs_row("OVRLRESP", "PD", "2015-04-01", 3.0)))
    assert (bor["AVALC"], bor["SRCSEQ"]) == ("VGPR", 2.0)


def test_bor_from_visits_takes_the_earliest_of_equal_responses():
    bor = bor_of(rs(rs_row("OVRLRESP", "PR", "2015-05-01", 1.0), rs_row("OVRLRESP", "PR", "2015-03-01", 2.0)))
    assert (bor["ADT"], bor["SRCSEQ"]) == (D("2015-03-01"), 2.0)


def test_collected_best_response_without_result_falls_back_to_the_visits():
    bor = bor_of(rs(rs_row("BESTRESP", None, None, 1.0), rs_row("OVRLRESP", "MR", "2015-03-01", 2.0)))
    assert (bor["AVALC"], bor["SRCSEQ"]) == ("MR", 2.0)


def test_bor_ne_without_any_response_assessment():
    bor = bor_of(rs(rs_row("ISS", "II", "2014-01-01", 1.0, rscat="ISS")))
    assert (bor["AVALC"], bor["AVAL"]) == ("NE", RESPONSE.aval["NE"])
    assert pd.isna(bor["SRCSEQ"]) and pd.isna(bor["ADT"]) and bor["SRCDOM"] is None


def test_bor_traces_to_the_rs_record():
    bor = bor_of(rs(rs_row("OVRLRESP", "CR", "2015-03-01", 4.0)))
    assert (bor["SRCDOM"], bor["SRCVAR"], bor["SRCSEQ"]) == ("RS", "RSSTRESC", 4.0)


def test_bor_aval_follows_the_settings():
    bor = bor_of(rs(rs_row("OVRLRESP", "sCR", "2015-03-01", 1.0)))
    assert bor["AVAL"] == RESPONSE.aval["sCR"] == 7


def test_response_category_unknown_to_the_settings_stops_the_build():
    with pytest.raises(SubError, match="RSSTRESC"):
        bor_of(rs(rs_row("OVRLRESP", "nCR", "2015-03-01", 1.0)))


def test_responder_agrees_with_bor():
    bor = derive_param_bor(adsl("S1", "S2", "S3"), rs(
        rs_row("OVRLRESP", "PR", "2015-03-01", 1.0, subject="S1"),
        rs_row("OVRLRESP", "MR", "2015-03-01", 1.0, subject="S2")), RESPONSE)
    rsp = derive_param_responder(bor, paramcd="RSP", param="p", paramn=2, categories=RESPONSE.responders)
    assert rsp[["USUBJID", "AVALC", "AVAL"]].values.tolist() == [["S1", "Y", 1], ["S2", "N", 0], ["S3", "N", 0]]


def test_clinical_benefit_counts_a_minimal_response():
    bor = derive_param_bor(adsl("S1"), rs(rs_row("OVRLRESP", "MR", "2015-03-01", 1.0)), RESPONSE)
    cbr = derive_param_responder(bor, paramcd="RSPCBR", param="p", paramn=5, categories=RESPONSE.clinical_benefit)
    assert cbr["AVALC"].tolist() == ["Y"]


def test_responder_takes_date_and_source_of_bor():
    bor = derive_param_bor(adsl("S1"), rs(rs_row("OVRLRESP", "CR", "2015-03-01", 3.0)), RESPONSE)
    rsp = derive_param_responder(bor, paramcd="RSPCR", param="p", paramn=3, categories=RESPONSE.cr_or_better)
    assert (rsp["ADT"].iloc[0], rsp["SRCSEQ"].iloc[0], rsp["AVALC"].iloc[0]) == (D("2015-03-01"), 3.0, "Y")


def test_every_adsl_subject_gets_every_parameter():
    adrs = build_adrs({"RS": rs(rs_row("OVRLRESP", "PR", "2015-03-01", 1.0))}, adsl("S1", "S2"), SETTINGS)
    assert adrs.groupby("USUBJID")["PARAMCD"].apply(sorted).to_dict() == {
        s: sorted(["BOR", *(code for code, *_ in RESPONDERS)]) for s in ("S1", "S2")}


def test_parameters_follow_the_spec_codelists():
    spec = load_spec(SPECS / "adam")
    adrs = build_adrs({"RS": rs(rs_row("OVRLRESP", "PR", "2015-03-01", 1.0))}, adsl("S1"), SETTINGS)
    assert adrs["PARAMCD"].tolist() == spec.codelists["RSPARMCD"].values
    assert adrs["PARAM"].tolist() == spec.codelists["RSPARM"].values
    assert [str(n) for n in adrs["PARAMN"]] == spec.codelists["RSPARMN"].values


def test_analysis_day_of_the_best_response():
    adrs = build_adrs({"RS": rs(rs_row("OVRLRESP", "PR", "2015-03-01", 1.0))}, adsl("S1"), SETTINGS)
    assert adrs["ADY"].iloc[0] == 60  # 2015-01-01 is day 1
