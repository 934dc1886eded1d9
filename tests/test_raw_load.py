"""The raw extract loader: typed frames on a good extract, every problem named on a bad one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
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
        # a pregnancy (a male patient's partner, a female patient herself), so that every form has a
        # row of every subject
        rows["PREG"].append(dict(SUBJID=subj, LINE="1", PREGDAT="2014-04-15",
                                 PREGWHO="PARTNER" if s["SEX"] == "1" else "PT", PREGOUT="ONGO"))
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
        ("AE", "ENDAT", "2014-03-01", "before STDAT 2014-04-02"),
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


# ------------------------------------------------------------------------------ rows as a spreadsheet shows them

def _ae_text(raw: Path) -> tuple[str, list[str]]:
    header, *lines = (raw / "ae.csv").read_text(encoding="utf-8").splitlines()
    return header, lines


def test_row_numbers_count_a_blank_line(raw):
    header, lines = _ae_text(raw)
    (raw / "ae.csv").write_text("\n".join([header, lines[0], "", lines[1].replace(",2,3,N,", ",9,3,N,")]) + "\n",
                                encoding="utf-8")
    problem = _one(problems_of(raw), "SEV")
    assert (problem.row, problem.value) == (4, "9")  # header 1, record 2, blank 3, record 4


def test_a_quoted_line_break_stays_in_its_row(raw):
    header, lines = _ae_text(raw)
    first = lines[0].replace(",Neutropenia,Neutropenia,", ',"Neutro\npenia",Neutropenia,', 1)
    second = lines[1].replace(",2,3,N,", ",9,3,N,")
    (raw / "ae.csv").write_text("\n".join([header, first, "", second]) + "\n", encoding="utf-8")
    problems = problems_of(raw)
    assert (_one(problems, "AETERM").row, _one(problems, "SEV").row) == (2, 4)


def test_blank_lines_and_crlf_load(raw):
    header, lines = _ae_text(raw)
    (raw / "ae.csv").write_bytes("\r\n".join(["", header, *lines, "", ""]).encode()[2:])
    assert list(load_extract(raw, SPECS)["AE"].index) == [2, 3]
    (raw / "ae.csv").write_bytes("\r\n".join([header, "", *lines, "", ""]).encode())
    assert list(load_extract(raw, SPECS)["AE"].index) == [3, 4]


# ------------------------------------------------------------------------------ numbers: ASCII, finite, in range

@pytest.mark.parametrize(("form", "column", "value", "words"), [
    ("BASELINE", "HEIGHT", "inf", "expected a number"),
    ("BASELINE", "HEIGHT", "-inf", "expected a number"),
    ("BASELINE", "WEIGHT", "nan", "expected a number"),
    ("BASELINE", "WEIGHT", "NaN", "expected a number"),
    ("BASELINE", "CREAT", "1e999", "number too large"),
    ("BASELINE", "CREAT", "1" * 400, "number too large"),
    ("BASELINE", "CREAT", "０.９", "expected a number"),
    ("BASELINE", "CREAT", "1,5", "expected a number"),
    ("BASELINE", "CREAT", "0x10", "expected a number"),
    ("BASELINE", "CREAT", "1_0", "expected a number"),
    ("DEMOG", "AGE", "６７", "expected a whole number"),
    ("DEMOG", "AGE", "٦٧", "expected a whole number"),
    ("DEMOG", "AGE", "12345678901234567890123", "too large"),
    ("DEMOG", "AGE", "1234567890123456789", "too large"),
    ("AE", "STDAT", "２０１４-０４-０２", "expected a date"),
    ("RESP", "RSDAT", "2014-05-２０", "expected a date"),
])
def test_numbers_and_dates_take_ascii_digits_only(raw, form, column, value, words):
    edit_csv(raw / LAYOUT.forms[form].file, lambda rows: rows[0].update({column: value}))
    problem = _one(problems_of(raw), column)
    assert (problem.row, problem.value) == (2, value)
    assert words in problem.message


def test_large_whole_numbers_are_exact(raw):
    edit_csv(raw / "ae.csv", lambda rows: rows[0].update(LLTCD="123456789012345678", LINE="007"))
    ae = load_extract(raw, SPECS)["AE"]
    assert ae["LLTCD"].iloc[0] == 123456789012345678  # not through a float (...680)
    assert ae["LINE"].tolist() == [7, 1]


# ------------------------------------------------------------------------------ files that are not CSV text

def test_blank_key_in_a_many_rows_form(raw):
    edit_csv(raw / "ae.csv", lambda rows: rows[1].update(LINE=""))
    edit_csv(raw / "conmed.csv", lambda rows: rows[0].update(SUBJID=""))
    problems = problems_of(raw)
    assert {(Path(p.file).name, p.row, p.column, p.message) for p in problems} >= {
        ("ae.csv", 3, "LINE", "required value is missing"), ("conmed.csv", 2, "SUBJID", "required value is missing")}


def test_comma_only_line(raw):
    with (raw / "ae.csv").open("a", encoding="utf-8") as handle:
        handle.write("," * 28 + "\n")
    problem = _one(problems_of(raw), "SUBJID")
    assert problem.row == 4 and "empty row" in problem.message


def test_row_with_too_many_and_too_few_cells(raw):
    header, lines = _ae_text(raw)
    (raw / "ae.csv").write_text("\n".join([header, lines[0] + ",x,y", lines[1]]) + "\n", encoding="utf-8")
    [problem] = problems_of(raw)
    width = len(header.split(","))
    assert (problem.row, problem.value) == (2, "x,y") and f"{width + 2} cells but the header has {width}" in problem.message
    (raw / "ae.csv").write_text("\n".join([header, lines[0], lines[1][:30]]) + "\n", encoding="utf-8")
    problem = problems_of(raw)[0]
    assert problem.row == 3 and "the row ends before column" in problem.message


def test_unclosed_quote_names_its_row(raw):
    header, lines = _ae_text(raw)
    (raw / "ae.csv").write_text("\n".join([header, lines[0], "", lines[1].replace(",N,", ',"N,', 1)]) + "\n",
                                encoding="utf-8")
    [problem] = problems_of(raw)
    assert problem.row == 4 and "never closed" in problem.message


@pytest.mark.parametrize(("content", "words"), [
    (b"", "0 bytes"),
    (b"\n\n \n", "only blank lines"),
    (b"\nSUBJID,LINE\n", "row 1 is blank"),
    (b"PK\x03\x04\x14\x00\x06\x00", "xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ".xls"),
    ("SUBJID,LINE\n".encode("utf-16"), "UTF-16"),
    ("SUBJID,LINE\n".encode("utf-16-le"), "NUL bytes"),
    (bytes(range(256)) * 4, "not utf-8"),
])
def test_files_that_are_not_csv_text(raw, content, words):
    (raw / "response.csv").write_bytes(content)
    problem = next(p for p in problems_of(raw) if p.file.endswith("response.csv"))
    assert words in str(problem)


def test_nul_character_in_a_cell(raw):
    edit_csv(raw / "ae.csv", lambda rows: rows[1].update(AETERM="Neutro\x00penia"))
    problem = _one(problems_of(raw), "AETERM")
    assert (problem.row, problem.value) == (3, "Neutro\x00penia") and "NUL" in problem.message


def test_duplicate_and_nameless_columns(raw):
    header, lines = _ae_text(raw)
    (raw / "ae.csv").write_text("\n".join([header.replace(",TREAT", ",SEV"), *lines]) + "\n", encoding="utf-8")
    problems = problems_of(raw)
    assert any(p.column == "SEV" and "appears 2 times" in p.message for p in problems)
    (raw / "ae.csv").write_text("\n".join([header + ",", *(line + "," for line in lines)]) + "\n", encoding="utf-8")
    width = len(header.split(","))
    assert any(f"column {width + 1} of the header has no name" in p.message for p in problems_of(raw))


def test_header_cell_with_a_line_break_stays_on_one_message_line(raw):
    header, lines = _ae_text(raw)
    (raw / "ae.csv").write_text("\n".join([header.replace("SEV,", '"SE\nV",'), *lines]) + "\n", encoding="utf-8")
    problem = next(p for p in problems_of(raw) if "unknown column" in p.message)
    assert problem.column is None and problem.value == "SE\nV" and "\n" not in str(problem)


def test_lower_case_header_gets_a_hint(raw):
    header, lines = _ae_text(raw)
    (raw / "ae.csv").write_text("\n".join([header.replace("SEV,", "sev,"), *lines]) + "\n", encoding="utf-8")
    assert any("did you mean SEV?" in p.message for p in problems_of(raw))


def test_folder_where_a_file_should_be(raw):
    (raw / "eos.csv").unlink()
    (raw / "eos.csv").mkdir()
    assert any(p.file.endswith("eos.csv") and p.message == "is a folder, not a file" for p in problems_of(raw))


def test_unreadable_file(raw, monkeypatch):
    target = raw / "eos.csv"
    real = Path.read_bytes

    def read_bytes(self):
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    assert any(p.file.endswith("eos.csv") and p.message == "cannot be read: permission denied"
               for p in problems_of(raw))


def test_ten_megabyte_value_is_not_echoed(raw):
    edit_csv(raw / "ae.csv", lambda rows: rows[0].update(AETERM="X" * 10_000_000))
    problem = _one(problems_of(raw), "AETERM")
    assert problem.row == 2 and "longer than 200" in problem.message
    assert len(str(problem)) < 300 and "10,000,000 characters" in str(problem)


def test_a_column_an_older_extract_lacks_loads_blank_with_a_warning(raw):
    """AE.RCVDAT may be absent (a field added to the layout later): the file loads, the column is
    blank, and the warnings (build.log, sub raw check) say which column of which file was absent."""
    path = raw / LAYOUT.forms["AE"].file
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.drop(columns=["RCVDAT"]).to_csv(path, index=False)
    extract = load_extract(raw, SPECS)
    assert extract["AE"]["RCVDAT"].isna().all()
    absent = [p for p in extract.warnings if p.column == "RCVDAT"]
    assert len(absent) == 1 and absent[0].file.endswith("ae.csv") and "absent" in absent[0].message
