"""SDTM mapping on tiny inline raw extracts: the shared algorithms, then every domain through build_sdtm.

The domain tests share one small extract (the 2-subject extract of test_raw_load, edited to hold
the cases: a dose change, an ongoing dosing period, partial dates, events around day 1, ongoing
events, Korean verbatims, a death, a subject who never took REVLIMID) and build it once; each test
checks one case against values worked out by hand from the raw rows and the spec's methods.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from submission.cli import main
from submission.errors import SubError
from submission.raw.load import load_extract
from submission.sdtm.build import build_sdtm
from submission.sdtm.common import (
    Unmapped,
    epoch,
    iso_date,
    map_codes,
    sequence,
    study_day,
)
from submission.sdtm.context import Translations
from submission.spec import load_spec
from submission.study import load_settings

from .conftest import SPECS
from .test_raw_load import tiny_rows, write_extract

SETTINGS = load_settings(SPECS)
SPEC = load_spec(SPECS / "sdtm")
STUDYID = SETTINGS.study.studyid
S1, S2, S3 = "101-001", "101-002", "101-003"
U1, U2, U3 = (f"{STUDYID}-{s}" for s in (S1, S2, S3))

# Inline English renderings: the unit tests do not depend on the lead's translations sheet.
ENGLISH = {"고혈압": "Hypertension", "아스피린": "Aspirin", "빈혈": "Anaemia", "질병 진행": "Disease progression"}


def translations(extra: dict[str, str] | None = None) -> Translations:
    return Translations({**ENGLISH, **(extra or {})}, "translations.csv")


# --------------------------------------------------------------------------------------------- common.py

def test_iso_date_keeps_partial_dates_partial():
    raw = pd.Series(["2014-03-15", "2014-03-UK", "2014-UK-UK", None], index=[2, 3, 4, 5])
    assert iso_date(raw).tolist() == ["2014-03-15", "2014-03", "2014", None]


def test_iso_date_on_pandas_string_dtype():
    raw = pd.Series(["2014-03-UK", None, "2015-UK-UK"], dtype="str")
    out = iso_date(raw)
    assert out.iloc[0] == "2014-03" and out.iloc[2] == "2015"
    assert pd.isna(out.iloc[1])


def test_iso_date_never_invents_a_day_or_month():
    raw = pd.Series(["2014-02-UK", "2016-UK-UK", "2016-02-29"])
    out = iso_date(raw)
    assert [len(v) for v in out] == [7, 4, 10]
    assert not out.str.contains("UK").any()


REF = "2014-03-05"


@pytest.mark.parametrize(("date", "day"), [
    ("2014-03-03", -2), ("2014-03-04", -1), ("2014-03-05", 1), ("2014-03-06", 2),
    ("2014-04-05", 32), ("2013-03-05", -365), ("2015-03-05", 366),
])
def test_study_day_around_day_one(date, day):
    assert study_day(pd.Series([date]), pd.Series([REF])).tolist() == [day]


def test_study_day_has_no_day_zero():
    dates = pd.Series(pd.date_range("2014-02-01", "2014-04-30").strftime("%Y-%m-%d"))
    days = study_day(dates, pd.Series(REF, index=dates.index))
    assert 0 not in days.tolist()
    assert days.iloc[dates.tolist().index("2014-03-04")] == -1
    assert days.iloc[dates.tolist().index("2014-03-05")] == 1


def test_study_day_across_a_leap_day():
    assert study_day(pd.Series(["2016-03-01"]), pd.Series(["2016-02-28"])).tolist() == [3]


def test_study_day_missing_when_either_date_is_partial_or_missing():
    dates = pd.Series(["2014-03", "2014", None, "2014-03-06", "2014-03-06"])
    refs = pd.Series([REF, REF, REF, "2014-03", None])
    days = study_day(dates, refs)
    assert str(days.dtype) == "Int64"
    assert days.isna().all()


def test_sequence_numbers_within_subject_by_the_sort_keys():
    frame = pd.DataFrame({"USUBJID": ["B", "A", "B", "A", "A"],
                          "TERM": ["Z", "Y", "A", "X", "X"],
                          "DTC": ["2014-01-01", "2014-01-01", "2014-02-01", "2014-03-01", "2014-02-01"]},
                         index=[10, 11, 12, 13, 14])
    seq = sequence(frame, ["TERM", "DTC"])
    assert seq.to_dict() == {10: 2, 11: 3, 12: 1, 13: 2, 14: 1}


def test_sequence_unique_and_stable_under_row_order():
    frame = pd.DataFrame({"USUBJID": list("AAABBBBCC"), "TERM": list("cabdcbaab"),
                          "SPID": [str(i) for i in range(9)]})
    seq = sequence(frame, ["TERM", "SPID"])
    shuffled = frame.sample(frac=1, random_state=7)
    seq2 = sequence(shuffled, ["TERM", "SPID"])
    assert seq.to_dict() == seq2.to_dict()
    numbered = frame.assign(SEQ=seq)
    for _, group in numbered.groupby("USUBJID"):
        assert sorted(group["SEQ"]) == list(range(1, len(group) + 1))


def test_sequence_with_missing_sort_values():
    frame = pd.DataFrame({"USUBJID": ["A", "A", "A"], "DTC": [None, "2014-01-01", "2014"]})
    seq = sequence(frame, ["DTC"])
    assert sorted(seq) == [1, 2, 3]
    assert seq.tolist() == [3, 2, 1]  # missing last, "2014" before "2014-01-01"


@pytest.mark.parametrize(("date", "expected"), [
    ("2014-03-04", "SCREENING"), ("2014-03-05", "TREATMENT"), ("2014-05-18", "TREATMENT"),
    ("2014-05-19", "FOLLOW-UP"), ("2014-03", None), ("2014", None), (None, None),
])
def test_epoch_boundaries(date, expected):
    out = epoch(pd.Series([date]), pd.Series(["2014-03-05"]), pd.Series(["2014-05-18"]),
                before="SCREENING", during="TREATMENT", after="FOLLOW-UP")
    assert out.tolist() == [expected]


def test_epoch_while_treatment_is_ongoing_has_no_follow_up():
    out = epoch(pd.Series(["2014-03-04", "2016-12-01"]), pd.Series(["2014-03-05"] * 2), pd.Series([None, None]),
                before="SCREENING", during="TREATMENT", after="FOLLOW-UP")
    assert out.tolist() == ["SCREENING", "TREATMENT"]


def test_epoch_is_missing_for_a_subject_never_dosed():
    out = epoch(pd.Series(["2014-03-04"]), pd.Series([None]), pd.Series([None]),
                before="SCREENING", during="TREATMENT", after="FOLLOW-UP")
    assert out.tolist() == [None]


def test_map_codes_reports_every_unmapped_value_with_count_and_rows():
    values = pd.Series(["1", "9", "9", "", None, "2", "8"], index=range(2, 9), dtype=object)
    log = Unmapped()
    out = map_codes(values, {"1": "MILD", "2": "MODERATE", "8": "OUTSIDE"}, ["MILD", "MODERATE"],
                    dataset="AE", variable="AESEV", file="ae.csv", unmapped=log)
    assert [None if pd.isna(v) else v for v in out] == ["MILD", None, None, None, None, "MODERATE", None]
    problems = {p.value: p for p in log.problems()}
    assert set(problems) == {"8", "9"}
    nine = problems["9"]
    assert (nine.file, nine.row, nine.column) == ("ae.csv", 3, "AE.AESEV")
    assert "2 record(s); rows 3, 4" in nine.message
    assert problems["8"].row == 8 and "1 record(s)" in problems["8"].message


# --------------------------------------------------------------------------------------------- the scenario

# MedDRA codes of the scenario's terms: one code per term, as the extract's edit checks require
SCENARIO_PT_CODES = {"Neutropenia": "10029354", "Anaemia": "10002034", "Fatigue": "10016256", "Nausea": "10028813",
                     "Rash": "10037844", "Pyrexia": "10037660", "Cough": "10011224"}


def _ae(base: dict, line: int, term: str, start: str, end: str = "", **kw) -> dict:
    decod = kw.pop("decod", term)
    code = SCENARIO_PT_CODES[decod]
    return {**base, "LINE": str(line), "AETERM": term, "LLT": decod, "PT": decod, "LLTCD": code, "PTCD": code,
            "STDAT": start, "ENDAT": end, "ONGO": "N" if end else "Y", **kw}


def scenario_rows() -> dict[str, list[dict]]:
    """tiny_rows() with a third subject and the cases the domain tests look at."""
    rows = tiny_rows()
    by = {form: {r["SUBJID"]: r for r in form_rows} for form, form_rows in rows.items()}

    # subject 101-001: a dose reduction for an AE, events around day 1, partial dates, a death after completion
    rows["RVLDOSE"].append({**by["RVLDOSE"][S1], "LINE": "2", "CYCST": "4", "CYCEN": "5", "STDAT": "2014-05-26",
                            "ENDAT": "2014-07-20", "DOSE": "15", "ADJ": "AE"})
    rows["DEXDOSE"].append({**by["DEXDOSE"][S1], "LINE": "2", "STDAT": "2014-05-26", "ENDAT": "2014-07-20",
                            "DOSE": "20", "DAYS": "4"})
    ae1 = by["AE"][S1]
    rows["AE"] += [
        _ae(ae1, 2, "빈혈", "2014-03-04", "2014-03-10", decod="Anaemia"),       # day -1, Korean verbatim
        _ae(ae1, 3, "Fatigue", "2014-03-05", OUT="3"),                           # day 1, ongoing
        _ae(ae1, 4, "Nausea", "2014-03-06", "2014-04-UK"),                       # day 2, partial end
        _ae(ae1, 5, "Rash", "2014-07-UK", OUT="3"),                              # partial start, ongoing
        _ae(ae1, 6, "Pyrexia", "2014-UK-UK", "2014-08-01"),                      # year only
        _ae(ae1, 7, "Cough", "2014-07-21", "2014-07-25"),                        # after the last dose
    ]
    by["CONMED"][S1].update(INDIC="고혈압", DOSE="100", DOSU="MG", ROUTE="PO")
    by["EOS"][S1].update(DEATH="Y", DTHDAT="2016-12-UK")

    # subject 101-002: a restart at a lower dose that is still running at the cut-off
    rows["RVLDOSE"].append({**by["RVLDOSE"][S2], "LINE": "2", "CYCST": "4", "CYCEN": "", "STDAT": "2014-06-01",
                            "ENDAT": "", "DOSE": "10", "FREQ": "QOD", "DAYS": "14", "ADJ": "RENAL", "INTR": "Y"})
    rows["AE"].append(_ae(by["AE"][S2], 2, "Neutropenia", "2016-10-01", "2016-10-10"))
    by["CONMED"][S2].update(CMTERM="Omeprazole", CMDECOD="OMEPRAZOLE", ATCCD="A02BC", ATCTXT="PROTON PUMP INHIBITORS",
                            STDAT="2014-02-20", ENDAT="2014-03-06", ONGO="N")
    rows["CONMED"].append({**by["CONMED"][S2], "LINE": "2", "CMTERM": "Acyclovir", "CMDECOD": "ACICLOVIR",
                           "ATCCD": "J05AB", "ATCTXT": "NUCLEOSIDES AND NUCLEOTIDES EXCL. REVERSE TRANSCRIPTASE INHIBITORS",
                           "STDAT": "2014-03-05", "ENDAT": "", "ONGO": "Y"})
    by["MMDIAG"][S2].update(ISS="", MPROT="")
    by["BASELINE"][S2].update(HEIGHT="", WEIGHT="55", DIALYSIS="Y", ANC="1500", PLT="75000", AST="30", ALT="25",
                              TBIL="0.8")
    by["MEDHIST"][S2].update(ONGO="N")
    rows["RESP"].append({**by["RESP"][S2], "LINE": "2", "RSDAT": "2014-09-01", "RESP": "VGPR"})
    by["BESTRESP"][S2].update(BRDAT="2014-09-01", BESTRESP="VGPR")
    by["EOS"][S2].update(EOSSTAT="3", EOSDAT="", LSTCNDAT="2016-10-15")
    by["ELIG"][S2].update(EFFICACY="N", EFFREAS="OFFLABEL")

    # subject 101-003: never took REVLIMID, died (the reason observation ended)
    rows["ENROL"].append(dict(SUBJID=S3, SITEID="101", INITIALS="L.S.3", HOSPNO="H003", ROUTE="DUE",
                              ICDAT="2014-03-01", ENRDAT="2014-03-02"))
    rows["DEMOG"].append(dict(SUBJID=S3, BRTHDAT="1939-01-01", SEX="1", AGE="75"))
    rows["MMDIAG"].append(dict(SUBJID=S3, DIAGDAT="2013-UK-UK", ISS="III", MPROT="LC", PRLINES="0", PRSCT="Y",
                               ECOG=""))
    rows["BASELINE"].append(dict(SUBJID=S3, VSDAT="2014-03-02", HEIGHT="170", WEIGHT="70", CREAT="1.0",
                                 DIALYSIS="N"))
    rows["MEDHIST"].append({**by["MEDHIST"][S1], "SUBJID": S3, "MHTERM": "Hypertension", "ONGO": ""})
    rows["AE"].append(_ae({**ae1, "SUBJID": S3}, 1, "Pyrexia", "2014-04-01", "2014-04-03"))
    rows["EOS"].append(dict(SUBJID=S3, EOSSTAT="2", EOSDAT="2014-06-10", EOSREAS="DTH", LSTCNDAT="2014-06-10",
                            DEATH="Y", DTHDAT="2014-06-10", DTHCAUSE="질병 진행"))
    rows["ELIG"].append(dict(SUBJID=S3, SAFETY="N", SAFREAS="NODOSE", EFFICACY="N", EFFREAS="NOSAF"))
    return rows


def build(folder: Path, rows: dict[str, list[dict]], *, specs: Path = SPECS, english: Translations | None = None):
    raw = write_extract(folder, rows)
    spec = SPEC if specs == SPECS else load_spec(specs / "sdtm")
    extract = load_extract(raw, specs, settings=SETTINGS)
    return build_sdtm(extract, spec, SETTINGS, english or translations())


@pytest.fixture(scope="module")
def sdtm(tmp_path_factory):
    return build(tmp_path_factory.mktemp("scenario") / "raw", scenario_rows())


def frame(result, name: str) -> pd.DataFrame:
    return result.datasets[name].frame


def one(result, name: str, **where) -> dict:
    f = frame(result, name)
    mask = pd.Series(True, index=f.index)
    for column, value in where.items():
        mask &= f[column].eq(value).fillna(False).astype(bool)
    hits = f[mask]
    assert len(hits) == 1, f"{name} {where}: {len(hits)} records"
    return {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in hits.iloc[0].items()}


def count(result, name: str, **where) -> int:
    f = frame(result, name)
    mask = pd.Series(True, index=f.index)
    for column, value in where.items():
        mask &= f[column].eq(value).fillna(False).astype(bool)
    return int(mask.sum())


# --------------------------------------------------------------------------------------------- DM, SUPPDM

def test_dm_one_record_per_enrolled_subject(sdtm):
    dm = frame(sdtm, "DM")
    assert dm["USUBJID"].tolist() == [U1, U2, U3]
    assert dm["SUBJID"].tolist() == [S1, S2, S3]
    assert dm["SEX"].tolist() == ["M", "F", "M"]
    assert dm["AGE"].tolist() == [67, 58, 75]
    assert set(dm["STUDYID"]) == {STUDYID} and set(dm["DOMAIN"]) == {"DM"}
    assert set(dm["AGEU"]) == {"YEARS"} and set(dm["COUNTRY"]) == {"KOR"} and set(dm["RACE"]) == {"ASIAN"}


def test_dm_reference_dates_span_the_revlimid_periods(sdtm):
    d = one(sdtm, "DM", USUBJID=U1)
    assert (d["RFSTDTC"], d["RFXSTDTC"], d["RFXENDTC"]) == ("2014-03-05", "2014-03-05", "2014-07-20")
    assert (d["RFENDTC"], d["RFICDTC"]) == ("2016-11-30", "2014-03-02")
    assert (d["ACTARMCD"], d["ACTARM"], d["ARMNRS"]) == ("LENDEX", "LENALIDOMIDE + DEXAMETHASONE", None)


def test_dm_last_treatment_of_an_ongoing_period_is_its_start(sdtm):
    # SDTMIG: RFXENDTC is the latest EXENDTC, or EXSTDTC where the period has no end
    d = one(sdtm, "DM", USUBJID=U2)
    assert d["RFXENDTC"] == "2014-06-01"
    assert d["RFENDTC"] == "2016-10-15"  # no EOS date: the date of last contact
    assert d["RFPENDTC"] == "2016-10-15"


def test_dm_subject_never_dosed(sdtm):
    d = one(sdtm, "DM", USUBJID=U3)
    for variable in ("RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "ACTARMCD", "ACTARM"):
        assert d[variable] is None, variable
    assert d["ARMNRS"] == "ASSIGNED, NOT TREATED"
    assert d["ARMCD"] == "LENDEX"
    assert d["RFICDTC"] == "2014-03-01"


def test_dm_death_with_a_partial_date_stays_partial(sdtm):
    d = one(sdtm, "DM", USUBJID=U1)
    assert (d["DTHDTC"], d["DTHFL"]) == ("2016-12", "Y")
    assert d["RFPENDTC"] == "2016-11-30"  # the latest complete date; the partial death date is not imputed


def test_dm_death_flag_and_date(sdtm):
    assert one(sdtm, "DM", USUBJID=U3)["DTHDTC"] == "2014-06-10"
    assert one(sdtm, "DM", USUBJID=U3)["DTHFL"] == "Y"
    assert one(sdtm, "DM", USUBJID=U2)["DTHFL"] is None


def test_suppdm_route_and_enrolment_date(sdtm):
    supp = frame(sdtm, "SUPPDM")
    assert len(supp) == 6
    assert one(sdtm, "SUPPDM", USUBJID=U2, QNAM="RECRTRT")["QVAL"] == "PAP"
    enrl = one(sdtm, "SUPPDM", USUBJID=U3, QNAM="ENRLDTC")
    assert (enrl["QVAL"], enrl["QORIG"], enrl["RDOMAIN"], enrl["IDVAR"]) == ("2014-03-02", "CRF", "DM", None)


# --------------------------------------------------------------------------------------------- EX

def test_ex_dose_change_carries_the_reason(sdtm):
    first = one(sdtm, "EX", USUBJID=U1, EXSPID="RVLDOSE-1")
    second = one(sdtm, "EX", USUBJID=U1, EXSPID="RVLDOSE-2")
    assert (first["EXDOSE"], first["EXADJ"]) == (25.0, None)
    assert (second["EXDOSE"], second["EXADJ"]) == (15.0, "ADVERSE EVENT")
    assert (second["EXSTDTC"], second["EXENDTC"], second["EXSTDY"], second["EXENDY"]) == \
        ("2014-05-26", "2014-07-20", 83, 138)
    assert one(sdtm, "EX", USUBJID=U2, EXSPID="RVLDOSE-2")["EXADJ"] == "RENAL FUNCTION"


def test_ex_ongoing_period_has_no_end(sdtm):
    rec = one(sdtm, "EX", USUBJID=U2, EXSPID="RVLDOSE-2")
    assert (rec["EXSTDTC"], rec["EXENDTC"], rec["EXSTDY"], rec["EXENDY"]) == ("2014-06-01", None, 89, None)
    assert rec["EPOCH"] == "TREATMENT"
    assert (rec["EXDOSFRQ"], rec["EXDOSRGM"]) == ("QOD", "14 DAYS OF 28-DAY CYCLE")


def test_ex_regimen_form_route_and_units(sdtm):
    dex = one(sdtm, "EX", USUBJID=U1, EXSPID="DEXDOSE-2")
    assert (dex["EXTRT"], dex["EXDOSE"], dex["EXDOSFRM"], dex["EXDOSFRQ"], dex["EXDOSRGM"]) == \
        ("DEXAMETHASONE", 20.0, "TABLET", "QD", "DAYS 1-4 OF 28-DAY CYCLE")
    assert one(sdtm, "EX", USUBJID=U1, EXSPID="DEXDOSE-1")["EXDOSRGM"] == "DAYS 1-4, 9-12, 17-20 OF 28-DAY CYCLE"
    len1 = one(sdtm, "EX", USUBJID=U1, EXSPID="RVLDOSE-1")
    assert (len1["EXTRT"], len1["EXDOSFRM"], len1["EXDOSRGM"]) == \
        ("LENALIDOMIDE", "CAPSULE", "DAYS 1-21 OF 28-DAY CYCLE")
    ex = frame(sdtm, "EX")
    assert set(ex["EXROUTE"]) == {"ORAL"} and set(ex["EXDOSU"]) == {"mg"}


def test_ex_seq_sorted_by_treatment_then_start(sdtm):
    ex = frame(sdtm, "EX")
    got = ex[ex["USUBJID"].eq(U1)].set_index("EXSPID")["EXSEQ"].to_dict()
    assert got == {"DEXDOSE-1": 1, "DEXDOSE-2": 2, "RVLDOSE-1": 3, "RVLDOSE-2": 4}


def test_ex_has_no_record_for_the_subject_never_dosed(sdtm):
    assert count(sdtm, "EX", USUBJID=U3) == 0


# --------------------------------------------------------------------------------------------- AE, SUPPAE

@pytest.mark.parametrize(("line", "start", "day", "epoch_"), [
    ("2", "2014-03-04", -1, "SCREENING"),
    ("3", "2014-03-05", 1, "TREATMENT"),
    ("4", "2014-03-06", 2, "TREATMENT"),
    ("1", "2014-04-02", 29, "TREATMENT"),
    ("7", "2014-07-21", 139, "FOLLOW-UP"),
])
def test_ae_study_day_and_epoch_around_the_first_and_last_dose(sdtm, line, start, day, epoch_):
    rec = one(sdtm, "AE", USUBJID=U1, AESPID=line)
    assert (rec["AESTDTC"], rec["AESTDY"], rec["EPOCH"]) == (start, day, epoch_)


def test_ae_partial_onset_kept_partial_without_day_or_epoch(sdtm):
    month = one(sdtm, "AE", USUBJID=U1, AESPID="5")
    year = one(sdtm, "AE", USUBJID=U1, AESPID="6")
    assert (month["AESTDTC"], month["AESTDY"], month["EPOCH"]) == ("2014-07", None, None)
    assert (year["AESTDTC"], year["AESTDY"], year["EPOCH"]) == ("2014", None, None)
    assert (year["AEENDTC"], year["AEENDY"]) == ("2014-08-01", 150)


def test_ae_partial_end_date_kept_partial(sdtm):
    rec = one(sdtm, "AE", USUBJID=U1, AESPID="4")
    assert (rec["AEENDTC"], rec["AEENDY"]) == ("2014-04", None)


def test_ae_ongoing_event(sdtm):
    rec = one(sdtm, "AE", USUBJID=U1, AESPID="3")
    assert (rec["AEENDTC"], rec["AEENDY"], rec["AEENRTPT"], rec["AEENTPT"]) == (None, None, "ONGOING", "2016-11-30")
    assert rec["AEOUT"] == "NOT RECOVERED/NOT RESOLVED"
    ended = one(sdtm, "AE", USUBJID=U1, AESPID="1")
    assert (ended["AEENRTPT"], ended["AEENTPT"]) == (None, None)


def test_ae_after_the_last_period_of_an_ongoing_treatment_is_treatment(sdtm):
    rec = one(sdtm, "AE", USUBJID=U2, AESPID="2")
    assert (rec["EPOCH"], rec["AESTDY"], rec["AEENDY"]) == ("TREATMENT", 942, 951)


def test_ae_of_a_subject_never_dosed_has_no_study_day(sdtm):
    rec = one(sdtm, "AE", USUBJID=U3)
    assert (rec["AESTDTC"], rec["AESTDY"], rec["EPOCH"]) == ("2014-04-01", None, None)


def test_ae_coded_values_through_the_codelists(sdtm):
    rec = one(sdtm, "AE", USUBJID=U1, AESPID="1")
    assert (rec["AESEV"], rec["AESER"], rec["AEACN"], rec["AEREL"], rec["AEOUT"], rec["AETOXGR"]) == \
        ("MODERATE", "N", "DRUG INTERRUPTED", "PROBABLE", "RECOVERED/RESOLVED", "3")
    assert (rec["AEDECOD"], rec["AEPTCD"], rec["AESOC"], rec["AEBODSYS"]) == \
        ("Neutropenia", 10029354, "Blood and lymphatic system disorders", "Blood and lymphatic system disorders")


def test_aeseq_follows_the_spec_sort_aedecod_aestdtc_aespid(sdtm):
    # MT.AE.AESEQ: "sorting the AE records by AEDECOD, AESTDTC, AESPID"
    ae = frame(sdtm, "AE")
    got = ae[ae["USUBJID"].eq(U1)].set_index("AEDECOD")["AESEQ"].to_dict()
    assert got == {"Anaemia": 1, "Cough": 2, "Fatigue": 3, "Nausea": 4, "Neutropenia": 5, "Pyrexia": 6, "Rash": 7}
    two = ae[ae["USUBJID"].eq(U2)].set_index("AESTDTC")["AESEQ"].to_dict()
    assert two == {"2014-04-02": 1, "2016-10-01": 2}


def test_korean_verbatim_translated_and_flagged(sdtm):
    rec = one(sdtm, "AE", USUBJID=U1, AESPID="2")
    assert rec["AETERM"] == "Anaemia"
    supp = frame(sdtm, "SUPPAE")
    assert len(supp) == 1  # the English verbatims get no flag
    flag = supp.iloc[0].to_dict()
    assert (flag["USUBJID"], flag["RDOMAIN"], flag["IDVAR"], flag["IDVARVAL"]) == (U1, "AE", "AESEQ", str(rec["AESEQ"]))
    assert (flag["QNAM"], flag["QVAL"], flag["QLABEL"]) == ("AETRANFL", "Y", "Verbatim Translated from Korean")


def test_suppae_origin_is_derived_as_the_spec_says(sdtm):
    # Variables.csv SUPPAE.QORIG: "'DERIVED' for AETRANFL"; MT.SUPPAE.AETRANFL: "QORIG = 'DERIVED'"
    assert frame(sdtm, "SUPPAE")["QORIG"].tolist() == ["DERIVED"]


def test_every_xpt_bound_value_is_ascii(sdtm):
    for name, ds in sdtm.datasets.items():
        for column in ds.frame.columns:
            values = ds.frame[column].dropna()
            assert values.astype(str).map(str.isascii).all(), (name, column)


# --------------------------------------------------------------------------------------------- CM

def test_cm_partial_start_translated_name_and_ongoing(sdtm):
    rec = one(sdtm, "CM", USUBJID=U1)
    assert (rec["CMTRT"], rec["CMINDC"], rec["CMDECOD"]) == ("Aspirin", "Hypertension", "ACETYLSALICYLIC ACID")
    assert (rec["CMSTDTC"], rec["CMSTDY"], rec["EPOCH"]) == ("2014-03", None, None)
    assert (rec["CMENRTPT"], rec["CMENTPT"]) == ("ONGOING", "2016-11-30")
    assert (rec["CMDOSE"], rec["CMDOSU"], rec["CMROUTE"]) == (100.0, "mg", "ORAL")
    assert (rec["CMCLAS"], rec["CMCLASCD"]) == ("PLATELET AGGREGATION INHIBITORS EXCL. HEPARIN", "B01AC")


def test_cm_before_and_across_the_first_dose(sdtm):
    rec = one(sdtm, "CM", USUBJID=U2, CMSPID="1")
    assert (rec["CMSTDTC"], rec["CMENDTC"], rec["CMSTDY"], rec["CMENDY"], rec["EPOCH"]) == \
        ("2014-02-20", "2014-03-06", -13, 2, "SCREENING")
    assert (rec["CMENRTPT"], rec["CMENTPT"]) == (None, None)


def test_cm_ongoing_without_end_of_observation_date_uses_last_contact(sdtm):
    rec = one(sdtm, "CM", USUBJID=U2, CMSPID="2")
    assert (rec["CMENRTPT"], rec["CMENTPT"]) == ("ONGOING", "2016-10-15")


def test_cmseq_sorted_by_cmtrt(sdtm):
    cm = frame(sdtm, "CM")
    assert cm[cm["USUBJID"].eq(U2)].set_index("CMTRT")["CMSEQ"].to_dict() == {"Acyclovir": 1, "Omeprazole": 2}


# --------------------------------------------------------------------------------------------- MH, SUPPMH

def test_mh_primary_diagnosis_record_per_subject(sdtm):
    assert count(sdtm, "MH", MHCAT="PRIMARY DIAGNOSIS") == 3
    rec = one(sdtm, "MH", USUBJID=U3, MHCAT="PRIMARY DIAGNOSIS")
    assert (rec["MHTERM"], rec["MHSPID"], rec["MHSTDTC"], rec["MHENRTPT"], rec["MHENTPT"]) == \
        ("MULTIPLE MYELOMA", "MMDIAG", "2013", "ONGOING", "2014-03-02")
    assert rec["MHDECOD"] is None and rec["MHLLTCD"] is None
    assert one(sdtm, "MH", USUBJID=U1, MHCAT="PRIMARY DIAGNOSIS")["MHSTDTC"] == "2012-11"


def test_mh_history_translated_partial_and_ongoing(sdtm):
    rec = one(sdtm, "MH", USUBJID=U1, MHCAT="GENERAL MEDICAL HISTORY")
    assert (rec["MHTERM"], rec["MHDECOD"], rec["MHSTDTC"], rec["MHENRTPT"], rec["MHENTPT"]) == \
        ("Hypertension", "Hypertension", "2005", "ONGOING", "2014-03-03")
    assert (rec["MHSPID"], rec["MHSEQ"]) == ("1", 1)


def test_mh_ended_and_unknown_history(sdtm):
    ended = one(sdtm, "MH", USUBJID=U2, MHCAT="GENERAL MEDICAL HISTORY")
    assert (ended["MHENRTPT"], ended["MHENTPT"]) == ("BEFORE", "2014-03-03")
    blank = one(sdtm, "MH", USUBJID=U3, MHCAT="GENERAL MEDICAL HISTORY")
    assert (blank["MHENRTPT"], blank["MHENTPT"]) == (None, None)


def test_suppmh_qualifies_the_primary_diagnosis_record(sdtm):
    for usubjid in (U1, U2, U3):
        seq = one(sdtm, "MH", USUBJID=usubjid, MHCAT="PRIMARY DIAGNOSIS")["MHSEQ"]
        supp = frame(sdtm, "SUPPMH")
        mine = supp[supp["USUBJID"].eq(usubjid)]
        assert set(mine["IDVARVAL"]) == {str(seq)} and set(mine["IDVAR"]) == {"MHSEQ"}
    assert one(sdtm, "SUPPMH", USUBJID=U3, QNAM="MPROTTYP")["QVAL"] == "LIGHT CHAIN"
    assert one(sdtm, "SUPPMH", USUBJID=U3, QNAM="PRLINES")["QVAL"] == "0"
    assert count(sdtm, "SUPPMH", USUBJID=U2, QNAM="MPROTTYP") == 0  # MPROT blank: no record


# --------------------------------------------------------------------------------------------- RS

def test_rs_response_assessments(sdtm):
    rec = one(sdtm, "RS", USUBJID=U2, RSTESTCD="OVRLRESP", RSSPID="2")
    assert (rec["RSORRES"], rec["RSSTRESC"], rec["RSSTRESN"], rec["RSCAT"], rec["RSDTC"], rec["RSDY"]) == \
        ("VGPR", "VGPR", None, "IMWG", "2014-09-01", 181)
    best = one(sdtm, "RS", USUBJID=U2, RSTESTCD="BESTRESP")
    assert (best["RSTEST"], best["RSORRES"], best["RSSPID"], best["RSEVAL"]) == \
        ("Best Overall Response", "VGPR", "BESTRESP", "INVESTIGATOR")


def test_rs_ecog_and_iss_classifications(sdtm):
    ecog = one(sdtm, "RS", USUBJID=U1, RSTESTCD="ECOG101")
    assert (ecog["RSCAT"], ecog["RSTEST"], ecog["RSSTRESC"], ecog["RSSTRESN"], ecog["RSDTC"]) == \
        ("ECOG", "ECOG1-Performance Status", "1", 1.0, None)
    assert ecog["RSORRES"].startswith("Restricted in physically strenuous activity")
    iss = one(sdtm, "RS", USUBJID=U3, RSTESTCD="ISS")
    assert (iss["RSORRES"], iss["RSSTRESC"], iss["RSSTRESN"], iss["RSDTC"], iss["RSDY"]) == ("III", "III", 3.0, "2013", None)


def test_rs_no_record_where_not_collected(sdtm):
    assert count(sdtm, "RS", USUBJID=U2, RSTESTCD="ISS") == 0
    assert count(sdtm, "RS", USUBJID=U3, RSTESTCD="ECOG101") == 0
    assert count(sdtm, "RS", USUBJID=U3, RSTESTCD="OVRLRESP") == 0


# --------------------------------------------------------------------------------------------- DS

def test_ds_consent_milestone_for_every_subject(sdtm):
    assert count(sdtm, "DS", DSCAT="PROTOCOL MILESTONE") == 3
    rec = one(sdtm, "DS", USUBJID=U1, DSCAT="PROTOCOL MILESTONE")
    assert (rec["DSTERM"], rec["DSDECOD"], rec["DSSTDTC"], rec["DSSTDY"], rec["EPOCH"]) == \
        ("INFORMED CONSENT OBTAINED", "INFORMED CONSENT OBTAINED", "2014-03-02", -3, "SCREENING")


def test_ds_death_as_the_reason_carries_the_cause(sdtm):
    rec = one(sdtm, "DS", USUBJID=U3, DSCAT="DISPOSITION EVENT")
    assert (rec["DSTERM"], rec["DSDECOD"], rec["DSSTDTC"], rec["DSSTDY"]) == \
        ("Disease progression", "DEATH", "2014-06-10", None)
    assert count(sdtm, "DS", USUBJID=U3, DSCAT="OTHER EVENT") == 0


def test_ds_death_after_completion_is_an_other_event_with_a_partial_date(sdtm):
    done = one(sdtm, "DS", USUBJID=U1, DSCAT="DISPOSITION EVENT")
    assert (done["DSTERM"], done["DSDECOD"], done["DSSTDTC"], done["EPOCH"]) == \
        ("COMPLETED", "COMPLETED", "2016-11-30", "FOLLOW-UP")
    death = one(sdtm, "DS", USUBJID=U1, DSCAT="OTHER EVENT")
    assert (death["DSTERM"], death["DSDECOD"], death["DSSTDTC"], death["DSSTDY"]) == ("DEATH", "DEATH", "2016-12", None)


def test_ds_subject_still_under_observation_has_no_disposition_event(sdtm):
    assert count(sdtm, "DS", USUBJID=U2) == 1
    assert any("1 subject(s) still under observation" in line for line in sdtm.reconciliation)


# --------------------------------------------------------------------------------------------- DV, VS, LB, PR, TS

def test_dv_one_record_per_exclusion_safety_first(sdtm):
    dv = frame(sdtm, "DV")
    assert len(dv) == 3
    safety = one(sdtm, "DV", USUBJID=U3, DVCAT="EXCLUSION FROM SAFETY SET")
    efficacy = one(sdtm, "DV", USUBJID=U3, DVCAT="EXCLUSION FROM EFFICACY SET")
    assert (safety["DVSEQ"], safety["DVDECOD"], safety["DVTERM"]) == (1, "NO DOSE", "No dose of REVLIMID taken")
    assert (efficacy["DVSEQ"], efficacy["DVDECOD"]) == (2, "NOT IN SAFETY SET")
    assert one(sdtm, "DV", USUBJID=U2)["DVDECOD"] == "OFF-LABEL USE"


def test_vs_one_record_per_value_with_baseline_flag(sdtm):
    assert count(sdtm, "VS", USUBJID=U2, VSTESTCD="HEIGHT") == 0
    rec = one(sdtm, "VS", USUBJID=U1, VSTESTCD="HEIGHT")
    assert (rec["VSORRES"], rec["VSORRESU"], rec["VSSTRESC"], rec["VSSTRESN"], rec["VSSTRESU"]) == \
        ("165.2", "cm", "165.2", 165.2, "cm")
    assert (rec["VSDTC"], rec["VSDY"], rec["VSLOBXFL"], rec["EPOCH"]) == ("2014-03-03", -2, "Y", "SCREENING")
    never = one(sdtm, "VS", USUBJID=U3, VSTESTCD="WEIGHT")
    assert (never["VSLOBXFL"], never["VSDY"], never["EPOCH"]) == (None, None, None)


@pytest.mark.parametrize(("testcd", "orres", "orresu", "stresn", "stresc", "stresu", "category"), [
    ("NEUT", "1500", "10^6/L", 1.5, "1.5", "10^9/L", "HEMATOLOGY"),
    ("PLAT", "75000", "10^6/L", 75.0, "75", "10^9/L", "HEMATOLOGY"),
    ("CREAT", "2.1", "mg/dL", 2.1, "2.1", "mg/dL", "CHEMISTRY"),
    ("BILI", "0.8", "mg/dL", 0.8, "0.8", "mg/dL", "CHEMISTRY"),
    ("AST", "30", "U/L", 30.0, "30", "U/L", "CHEMISTRY"),
])
def test_lb_results_in_standard_units(sdtm, testcd, orres, orresu, stresn, stresc, stresu, category):
    rec = one(sdtm, "LB", USUBJID=U2, LBTESTCD=testcd)
    assert (rec["LBORRES"], rec["LBORRESU"], rec["LBSTRESC"], rec["LBSTRESU"], rec["LBCAT"]) == \
        (orres, orresu, stresc, stresu, category)
    assert rec["LBSTRESN"] == pytest.approx(stresn)
    assert (rec["LBLOBXFL"], rec["LBDY"]) == ("Y", -2)


def test_lbseq_sorted_by_category_then_test(sdtm):
    lb = frame(sdtm, "LB")
    got = lb[lb["USUBJID"].eq(U2)].set_index("LBTESTCD")["LBSEQ"].to_dict()
    assert got == {"ALT": 1, "AST": 2, "BILI": 3, "CREAT": 4, "NEUT": 5, "PLAT": 6}
    assert count(sdtm, "LB", USUBJID=U1) == 1  # only creatinine was given


def test_pr_prespecified_procedures(sdtm):
    dial = one(sdtm, "PR", USUBJID=U2, PRTRT="DIALYSIS")
    assert (dial["PROCCUR"], dial["PRPRESP"], dial["PRDTC"], dial["PRDY"], dial["PRENRTPT"], dial["PRENTPT"],
            dial["PRSTRTPT"], dial["PRSPID"]) == ("Y", "Y", "2014-03-03", -2, "ONGOING", "2014-03-03", None, "BASELINE")
    hsct = one(sdtm, "PR", USUBJID=U3, PRTRT="HEMATOPOIETIC STEM CELL TRANSPLANT")
    assert (hsct["PROCCUR"], hsct["PRDTC"], hsct["PRSTRTPT"], hsct["PRSTTPT"], hsct["PRENRTPT"], hsct["EPOCH"]) == \
        ("Y", None, "BEFORE", "2014-03-02", None, None)
    assert count(sdtm, "PR") == 6


def test_ts_values_from_the_data_and_settings(sdtm):
    ts = frame(sdtm, "TS")
    value = {p: ts.loc[ts["TSPARMCD"].eq(p), "TSVAL"].tolist() for p in ts["TSPARMCD"].unique()}
    assert value["ACTSUB"] == ["3"]
    assert value["SSTDTC"] == ["2014-03-01"]  # earliest consent
    assert value["SENDTC"] == ["2016-11-30"]  # latest last known contact
    assert value["DCUTDTC"] == [SETTINGS.dates.data_cutoff.isoformat()]
    assert sorted(value["TTYPE"]) == ["EFFICACY", "SAFETY"]
    assert value["TITLE"][0].endswith("[SYNTHETIC DATA - NOT REAL STUDY DATA]")
    assert not ts.duplicated(["TSPARMCD", "TSSEQ"]).any()


def test_ts_indication_in_upper_case(sdtm):
    # ValueLevel TS.TSVAL where TSPARMCD = INDIC: "study.toml indication_en, upper case"
    ts = frame(sdtm, "TS")
    assert ts.loc[ts["TSPARMCD"].eq("INDIC"), "TSVAL"].tolist() == [SETTINGS.study.indication_en.upper()]


# --------------------------------------------------------------------------------------------- the whole mapping

LINE = re.compile(r"^\s+(\w+)\s+<- (\w+)\s+raw rows\s+(\d+)\s+records\s+(\d+)(?:\s+\((.+)\))?$")


def test_reconciliation_accounts_for_every_record(sdtm):
    rows = scenario_rows()
    parsed = [LINE.match(line) for line in sdtm.reconciliation]
    assert all(parsed), sdtm.reconciliation
    out: dict[str, int] = {}
    for m in parsed:
        dataset, form, rows_in, records, note = m.group(1), m.group(2), int(m.group(3)), int(m.group(4)), m.group(5)
        assert rows_in == len(rows[form]), m.group(0)
        assert rows_in == records or note, f"a difference without a reason: {m.group(0)}"
        out[dataset] = out.get(dataset, 0) + records
    derived_from_records = {"SUPPDM", "SUPPAE", "SUPPMH", "TS"}
    assert set(out) == set(sdtm.datasets) - derived_from_records
    for dataset, records in out.items():
        assert records == len(frame(sdtm, dataset)), dataset


def test_every_usubjid_is_in_dm(sdtm):
    subjects = set(frame(sdtm, "DM")["USUBJID"])
    for name, ds in sdtm.datasets.items():
        if "USUBJID" in ds.frame:
            assert set(ds.frame["USUBJID"].dropna()) <= subjects, name
            assert ds.frame["USUBJID"].notna().all(), name


def test_seq_unique_within_subject(sdtm):
    for name, ds in sdtm.datasets.items():
        seq = f"{name}SEQ"
        if seq in ds.frame and name != "TS":
            numbered = ds.frame[["USUBJID", seq]]
            assert not numbered.duplicated().any(), name
            for _, group in numbered.groupby("USUBJID"):
                assert sorted(group[seq]) == list(range(1, len(group) + 1)), name


def test_mapping_is_stable_when_the_raw_rows_come_in_another_order(sdtm, tmp_path):
    reordered = {form: list(reversed(form_rows)) for form, form_rows in scenario_rows().items()}
    again = build(tmp_path / "raw", reordered)
    for name, ds in sdtm.datasets.items():
        pd.testing.assert_frame_equal(ds.frame, again.datasets[name].frame, obj=name)


# --------------------------------------------------------------------------------------------- failures

def test_korean_text_without_translation_fails_naming_file_row_column_value(tmp_path):
    rows = tiny_rows()
    rows["AE"][0]["AETERM"] = "미번역 발열"
    rows["CONMED"][1]["CMTERM"] = "미번역 약"
    with pytest.raises(SubError) as err:
        build(tmp_path / "raw", rows)
    found = {(Path(p.file).name, p.row, p.column, p.value) for p in err.value.problems}
    assert found == {("ae.csv", 2, "AETERM", "미번역 발열"), ("conmed.csv", 3, "CMTERM", "미번역 약")}
    assert "nothing was written" in err.value.summary
    ae = next(p for p in err.value.problems if p.column == "AETERM")
    assert "AE.AETERM" in ae.message and "translations.csv" in ae.message


def _with_new_raw_codes(specs: Path) -> Path:
    """A raw layout that knows codes the SDTM spec's codelists do not (the raw side was extended)."""
    with (specs / "raw" / "codes.csv").open("a", encoding="utf-8") as handle:
        handle.write("AESEV,4,Life-threatening,생명 위협,LIFE THREATENING\nCMROUTE,NAS,Nasal,비강,NASAL\n")
    return specs


def _unmapped_rows() -> dict[str, list[dict]]:
    rows = tiny_rows()
    rows["AE"][0]["SEV"] = rows["AE"][1]["SEV"] = "4"
    rows["CONMED"][1]["ROUTE"] = "NAS"
    return rows


def test_unmapped_codes_are_reported_together(tmp_path, specs_copy):
    specs = _with_new_raw_codes(specs_copy)
    with pytest.raises(SubError) as err:
        build(tmp_path / "raw", _unmapped_rows(), specs=specs)
    problems = {p.column: p for p in err.value.problems}
    assert set(problems) == {"AE.AESEV", "CM.CMROUTE"}
    sev, route = problems["AE.AESEV"], problems["CM.CMROUTE"]
    assert (Path(sev.file).name, sev.row, sev.value) == ("ae.csv", 2, "4")
    assert "2 record(s); rows 2, 3" in sev.message
    assert (Path(route.file).name, route.row, route.value) == ("conmed.csv", 3, "NAS")
    assert "1 record(s); rows 3" in route.message


def test_failed_mapping_reports_everything_and_writes_nothing(tmp_path, specs_copy):
    specs = _with_new_raw_codes(specs_copy)
    with (specs / "translations.csv").open("a", encoding="utf-8") as handle:
        handle.write("아스피린,Aspirin\n")
    rows = _unmapped_rows()
    rows["AE"][1]["AETERM"] = "미번역 용어"
    raw = write_extract(tmp_path / "raw", rows)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", "--raw", str(raw), "--specs", str(specs), "--out", str(out)])
    assert result.exit_code == 1, result.output
    text = result.output
    assert "Traceback" not in text
    assert "SDTM mapping: 3 problem(s); nothing was written" in text
    assert "ae.csv, row 2, column AE.AESEV" in text and "(value '4')" in text
    assert "conmed.csv, row 3, column CM.CMROUTE" in text and "(value 'NAS')" in text
    assert "ae.csv, row 3, column AETERM" in text and "(value '미번역 용어')" in text
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw", "specs"]
