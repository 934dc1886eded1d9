"""The raw extract loader: typed frames on a good extract, every problem named on a bad one."""

from __future__ import annotations

from pathlib import Path

import pytest

from submission.errors import SubError
from submission.raw.layout import load_layout
from submission.raw.load import load_extract

from .conftest import SPECS, edit_csv, write_csv

LAYOUT = load_layout(SPECS / "raw")

SUBJECTS = {
    "101-001": dict(ROUTE="DUE", SEX="1", AGE="67", CREAT="0.9", DIALYSIS="N"),
    "101-002": dict(ROUTE="PAP", SEX="2", AGE="58", CREAT="2.1", DIALYSIS="N"),
}


def tiny_rows() -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {form: [] for form in LAYOUT.forms}
    for i, (subj, s) in enumerate(SUBJECTS.items(), start=1):
        rows["ENROL"].append(dict(SUBJID=subj, SITEID="101", INITIALS=f"K.J.{i}", HOSPNO=f"H00{i}",
                                  ROUTE=s["ROUTE"], ICDAT="2014-03-02", ENRDAT="2014-03-03"))
        rows["DEMOG"].append(dict(SUBJID=subj, BRTHDAT="1947-05-01", SEX=s["SEX"], AGE=s["AGE"]))
        rows["MMDIAG"].append(dict(SUBJID=subj, DIAGDAT="2012-11-UK", ISS="II", MPROT="IGG", PRLINES="2",
                                   PRSCT="N", ECOG="1"))
        rows["BASELINE"].append(dict(SUBJID=subj, VSDAT="2014-03-03", HEIGHT="165.2", WEIGHT="61", CREAT=s["CREAT"],
                                     DIALYSIS=s["DIALYSIS"]))
        rows["MEDHIST"].append(dict(SUBJID=subj, LINE="1", MHCAT="GEN", MHTERM="고혈압", LLT="Hypertension",
                                    LLTCD="10020772", PT="Hypertension", PTCD="10020772", HLT="Vascular hypertensive disorders NEC",
                                    HLTCD="10047133", HLGT="Vascular hypertensive disorders", HLGTCD="10047154",
                                    SOC="Vascular disorders", SOCCD="10047065", STDAT="2005-UK-UK", ONGO="Y"))
        rows["RVLDOSE"].append(dict(SUBJID=subj, LINE="1", CYCST="1", CYCEN="3", STDAT="2014-03-05",
                                    ENDAT="2014-05-18", DOSE="25", FREQ="QD", DAYS="21"))
        rows["DEXDOSE"].append(dict(SUBJID=subj, LINE="1", STDAT="2014-03-05", ENDAT="2014-05-18", DOSE="40",
                                    DAYS="12"))
        rows["CONMED"].append(dict(SUBJID=subj, LINE="1", CMTERM="아스피린", CMDECOD="ACETYLSALICYLIC ACID",
                                   ATCCD="B01AC", ATCTXT="PLATELET AGGREGATION INHIBITORS EXCL. HEPARIN",
                                   STDAT="2014-03-UK", ONGO="Y"))
        rows["AE"].append(dict(SUBJID=subj, LINE="1", AETERM="Neutropenia", LLT="Neutropenia", LLTCD="10029354",
                               PT="Neutropenia", PTCD="10029354", HLT="Neutropenias", HLTCD="10029366",
                               HLGT="White blood cell disorders", HLGTCD="10047954",
                               SOC="Blood and lymphatic system disorders", SOCCD="10005329", STDAT="2014-04-02",
                               ENDAT="2014-04-20", ONGO="N", SEV="2", GRADE="3", SER="N", CAUSAL="2", ACN="3",
                               OUT="1"))
        rows["RESP"].append(dict(SUBJID=subj, LINE="1", RSDAT="2014-05-20", RESP="PR"))
        rows["BESTRESP"].append(dict(SUBJID=subj, BRDAT="2014-05-20", BESTRESP="PR"))
        rows["EOS"].append(dict(SUBJID=subj, EOSSTAT="1", EOSDAT="2016-11-30", LSTCNDAT="2016-11-30", DEATH="N"))
        rows["ELIG"].append(dict(SUBJID=subj, SAFETY="Y", EFFICACY="Y"))
    return rows


def write_extract(folder: Path, rows: dict[str, list[dict]]) -> Path:
    for form, spec in LAYOUT.forms.items():
        write_csv(folder / spec.file, [f.column for f in LAYOUT.fields_of(form)], rows[form])
    return folder


@pytest.fixture
def raw(tmp_path) -> Path:
    return write_extract(tmp_path / "raw", tiny_rows())


def problems_of(raw: Path, **kwargs):
    with pytest.raises(SubError) as err:
        load_extract(raw, SPECS, **kwargs)
    return err.value.problems


def test_good_extract_loads_typed(raw):
    extract = load_extract(raw, SPECS)
    ae = extract["AE"]
    assert list(ae.index) == [2, 3]  # file rows: the header is row 1
    assert ae["LLTCD"].dtype == "Int64"
    assert extract["BASELINE"]["HEIGHT"].iloc[0] == pytest.approx(165.2)
    assert extract["MEDHIST"]["MHTERM"].iloc[0] == "고혈압"
    assert extract["MMDIAG"]["ISS"].tolist() == ["II", "II"]


def _one(problems, column):
    hits = [p for p in problems if p.column == column]
    assert hits, problems
    return hits[0]


@pytest.mark.parametrize(
    ("form", "column", "value", "words"),
    [
        ("AE", "STDAT", "2016-02-30", "not a calendar date"),
        ("AE", "STDAT", "30/04/2014", "expected a date"),
        ("AE", "SEV", "9", "unknown code"),
        ("AE", "STDAT", "2017-01-03", "after the data cut-off"),
        ("AE", "ENDAT", "2014-03-01", "earlier than STDAT"),
        ("RVLDOSE", "DOSE", "-5", ">= 0"),
        ("RVLDOSE", "DOSE", "twenty", "expected a number"),
        ("DEMOG", "AGE", "67.5", "whole number"),
        ("AE", "PTCD", "", "required value is missing"),
        ("AE", "AETERM", "x" * 300, "longer than 200"),
        ("ENROL", "HOSPNO", "H 001", "identifier"),
    ],
)
def test_bad_value_named_with_file_row_column_value(raw, form, column, value, words):
    def change(rows):
        rows[0][column] = value

    edit_csv(raw / LAYOUT.forms[form].file, change)
    problem = _one(problems_of(raw), column)
    assert problem.file.endswith(LAYOUT.forms[form].file)
    assert problem.row == 2
    assert problem.value == (value or None)
    assert words in problem.message


def test_partial_end_date_in_the_start_month_is_not_before_start(raw):
    edit_csv(raw / "ae.csv", lambda rows: rows[0].update(ENDAT="2014-04-UK"))
    load_extract(raw, SPECS)


def test_required_when_condition(raw):
    edit_csv(raw / "eos.csv", lambda rows: rows[1].update(EOSSTAT="2"))
    problem = _one(problems_of(raw), "EOSREAS")
    assert (problem.row, problem.message) == (3, "value is required when EOSSTAT is 2")


def test_missing_column_and_unknown_column(raw):
    path = raw / "ae.csv"
    text = path.read_text(encoding="utf-8").replace("SEV,", "SEVERITY,", 1)
    path.write_text(text, encoding="utf-8")
    problems = problems_of(raw)
    assert {(p.column, p.message) for p in problems} >= {
        ("SEV", "column is missing"), ("SEVERITY", "unknown column (not in the raw layout)")}


def test_independent_problems_are_reported_together(raw):
    edit_csv(raw / "ae.csv", lambda rows: rows[0].update(SEV="9", STDAT="2016-02-30"))
    edit_csv(raw / "demog.csv", lambda rows: rows[1].update(SEX="M"))
    problems = problems_of(raw)
    assert {(Path(p.file).name, p.column) for p in problems} >= {("ae.csv", "SEV"), ("ae.csv", "STDAT"),
                                                                ("demog.csv", "SEX")}


def test_subject_never_enrolled(raw):
    edit_csv(raw / "ae.csv", lambda rows: rows.append({**rows[0], "SUBJID": "999-999", "LINE": "1"}))
    problem = _one(problems_of(raw), "SUBJID")
    assert (problem.value, problem.row, problem.message) == ("999-999", 4, "subject is not in enrol.csv")


def test_duplicate_subject(raw):
    edit_csv(raw / "demog.csv", lambda rows: rows.append(dict(rows[0])))
    problem = _one(problems_of(raw), "SUBJID")
    assert problem.row == 4 and "duplicate subject" in problem.message


def test_enrolled_subject_without_demographics(raw):
    edit_csv(raw / "demog.csv", lambda rows: rows.pop())
    problem = _one(problems_of(raw), "SUBJID")
    assert problem.value == "101-002" and "no row in this form" in problem.message


def test_missing_file(raw):
    (raw / "eos.csv").unlink()
    assert any(p.file.endswith("eos.csv") and p.message == "file not found" for p in problems_of(raw))


def test_header_only_enrolment(raw):
    edit_csv(raw / "enrol.csv", lambda rows: rows.clear())
    assert any("header only" in p.message for p in problems_of(raw))


def test_empty_file(raw):
    (raw / "response.csv").write_text("")
    assert any("empty" in p.message for p in problems_of(raw))


def test_wrong_delimiter(raw):
    path = raw / "ae.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    assert any("semicolons" in p.message for p in problems_of(raw))


def test_byte_order_mark_is_refused_unless_asked_for(raw):
    path = raw / "medhist.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert any("byte-order mark" in p.message for p in problems_of(raw))


def test_cp949_export_needs_encoding_option(raw):
    for name in ("medhist.csv", "conmed.csv"):
        path = raw / name
        path.write_bytes(path.read_text(encoding="utf-8").encode("cp949"))
    problem = next(p for p in problems_of(raw) if p.file.endswith("medhist.csv"))
    assert "cp949" in problem.message and problem.row == 2
    # every other file is ASCII, so the whole extract reads as cp949
    assert load_extract(raw, SPECS, encoding="cp949")["MEDHIST"]["MHTERM"].iloc[0] == "고혈압"


def test_serious_event_needs_a_criterion(raw):
    edit_csv(raw / "ae.csv", lambda rows: rows[0].update(SER="Y"))
    problem = _one(problems_of(raw), "SER")
    assert problem.row == 2 and "none of SDTH" in problem.message


def test_a_criterion_makes_the_event_serious(raw):
    edit_csv(raw / "ae.csv", lambda rows: rows[1].update(SHOSP="Y"))
    problem = _one(problems_of(raw), "SER")
    assert problem.row == 3 and "is not Y but one of" in problem.message
