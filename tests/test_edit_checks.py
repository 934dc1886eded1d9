"""The edit checks of specs/raw/checks.csv: each kind on a tiny inline extract, their validation when
the specs load, their place in the generated layout page, and warnings through the command line."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from submission.cli import main
from submission.errors import SubError
from submission.raw.layout import check_layout, load_layout
from submission.raw.load import load_extract

from .conftest import SPECS, edit_csv
from .test_raw_load import tiny_rows, write_extract


@pytest.fixture
def raw(tmp_path) -> Path:
    return write_extract(tmp_path / "raw", tiny_rows())


def _load(raw: Path, specs: Path = SPECS):
    return load_extract(raw, specs)


def _errors(raw: Path, specs: Path = SPECS):
    with pytest.raises(SubError) as err:
        load_extract(raw, specs)
    return err.value.problems


def _tagged(problems, check_id: str):
    return [p for p in problems if p.message.endswith(f"[{check_id}]")]


def _set(raw: Path, form_file: str, row: int, **values) -> None:
    edit_csv(raw / form_file, lambda rows: rows[row].update(**values))


def _with_checks(specs: Path, *rows: str) -> Path:
    """`specs` with checks.csv holding only these rows."""
    path = specs / "raw" / "checks.csv"
    header = path.read_text(encoding="utf-8").splitlines()[0]
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return specs


# ------------------------------------------------------------------------------------------ the bundled extract

BUNDLED_RAW = SPECS.parent / "examples" / "revlimid-due" / "raw"


def test_bundled_extract_passes_every_check_without_warnings():
    extract = load_extract(BUNDLED_RAW, SPECS)
    assert extract.warnings == []


# ------------------------------------------------------------------------------------------ range: numbers

def test_impossible_age_is_an_error_naming_row_value_and_check(raw):
    _set(raw, "demog.csv", 1, AGE="200")
    [problem] = _tagged(_errors(raw), "AGE-POSSIBLE")
    assert (problem.file.endswith("demog.csv"), problem.row, problem.column, problem.value) == (True, 3, "AGE", "200")
    assert "above 120" in problem.message


def test_implausible_age_is_a_warning_and_loads(raw):
    _set(raw, "demog.csv", 0, AGE="101")
    extract = _load(raw)
    [warning] = extract.warnings
    assert (warning.row, warning.column, warning.value) == (2, "AGE", "101")
    assert warning.message.endswith("[AGE-ADULT]")
    assert extract["DEMOG"]["AGE"].tolist() == [101, 58]  # used as it is


@pytest.mark.parametrize(("file", "column", "value", "check"), [
    ("baseline.csv", "WEIGHT", "0", "WEIGHT-POSSIBLE"),
    ("baseline.csv", "HEIGHT", "16.5", "HEIGHT-POSSIBLE"),
    ("baseline.csv", "CREAT", "88", "CREAT-POSSIBLE"),
    ("rvldose.csv", "DOSE", "99999", "RVL-DOSE-POSSIBLE"),
    ("rvldose.csv", "DAYS", "29", "RVL-DAYS"),
    ("dexdose.csv", "DOSE", "400", "DEX-DOSE-POSSIBLE"),
    ("dexdose.csv", "DAYS", "0", "DEX-DAYS"),
])
def test_impossible_numbers_are_errors(raw, file, column, value, check):
    _set(raw, file, 0, **{column: value})
    [problem] = _tagged(_errors(raw), check)
    assert (problem.row, problem.column, problem.value) == (2, column, value)


@pytest.mark.parametrize(("file", "column", "value", "check"), [
    ("baseline.csv", "WEIGHT", "160", "WEIGHT-PLAUSIBLE"),
    ("baseline.csv", "CREAT", "16", "CREAT-PLAUSIBLE"),
    ("rvldose.csv", "DOSE", "50", "RVL-DOSE-LABEL"),
    ("rvldose.csv", "DAYS", "28", "RVL-DAYS-LABEL"),
    ("dexdose.csv", "DOSE", "80", "DEX-DOSE-LABEL"),
])
def test_implausible_numbers_are_warnings(raw, file, column, value, check):
    _set(raw, file, 0, **{column: value})
    assert [w.message.endswith(f"[{check}]") for w in _load(raw).warnings] == [True]


def test_number_limit_from_another_column_of_the_row(raw):
    _set(raw, "rvldose.csv", 0, CYCST="4", CYCEN="3")
    [problem] = _tagged(_errors(raw), "RVL-CYCLE-LAST")
    assert (problem.row, problem.column, problem.value) == (2, "CYCEN", "3")
    assert "below CYCST 4" in problem.message


def test_every_offending_row_is_listed(raw):
    edit_csv(raw / "demog.csv", lambda rows: [r.update(AGE="130") for r in rows])
    assert [p.row for p in _tagged(_errors(raw), "AGE-POSSIBLE")] == [2, 3]


# ------------------------------------------------------------------------------------------ range: dates

def test_medical_history_in_1600_is_refused(raw):
    _set(raw, "medhist.csv", 0, STDAT="1600-UK-UK")
    problems = _errors(raw)
    [floor] = _tagged(problems, "DATE-FLOOR")
    assert (floor.file.endswith("medhist.csv"), floor.row, floor.column, floor.value) == (True, 2, "STDAT", "1600-UK-UK")
    assert _tagged(problems, "MH-BIRTH")  # and it is before the subject's birth


def test_date_after_the_cutoff_is_refused(raw):
    _set(raw, "response.csv", 1, RSDAT="2017-01-03")
    [problem] = _tagged(_errors(raw), "DATE-CUTOFF")
    assert (problem.row, problem.column) == (3, "RSDAT") and "after 2016-12-07" in problem.message


def test_death_before_enrolment_names_the_enrolment_date(raw):
    _set(raw, "eos.csv", 0, DEATH="Y", DTHDAT="2014-03-01", EOSSTAT="3")
    [problem] = _tagged(_errors(raw), "DEATH-ENROL")
    assert (problem.file.endswith("eos.csv"), problem.row, problem.column, problem.value) == \
        (True, 2, "DTHDAT", "2014-03-01")
    assert "before ENROL.ENRDAT 2014-03-03" in problem.message


def test_a_partial_date_breaks_a_limit_only_when_every_day_it_stands_for_does(raw):
    _set(raw, "eos.csv", 0, DEATH="Y", DTHDAT="2014-03-UK", EOSSTAT="3")  # may be on or after 03-03
    _load(raw)
    _set(raw, "eos.csv", 0, DTHDAT="2014-02-UK")
    assert _tagged(_errors(raw), "DEATH-ENROL")


def test_end_of_study_before_enrolment(raw):
    _set(raw, "eos.csv", 1, EOSDAT="2013-12-31")
    assert [(p.row, p.column) for p in _tagged(_errors(raw), "EOS-ENROL")] == [(3, "EOSDAT")]


def test_ae_end_before_start(raw):
    _set(raw, "ae.csv", 1, ENDAT="2014-04-01")
    [problem] = _tagged(_errors(raw), "AE-END")
    assert (problem.row, problem.column, problem.value) == (3, "ENDAT", "2014-04-01")


def test_ae_after_the_last_contact_is_a_warning(raw):
    _set(raw, "eos.csv", 0, LSTCNDAT="2014-04-01", EOSDAT="2014-04-01")
    assert [(w.file.endswith("ae.csv"), w.row, w.column) for w in _load(raw).warnings] == [(True, 2, "STDAT")]


# ------------------------------------------------------------------------------------------ consistent

def test_a_pt_code_with_another_soc_is_refused_and_the_usual_one_named(raw):
    def add(rows):
        rows.append({**rows[0], "SUBJID": "101-001", "LINE": "2"})
        rows.append({**rows[0], "SUBJID": "101-002", "LINE": "2", "SOC": "Made up disorders", "SOCCD": "10099999"})
    edit_csv(raw / "ae.csv", add)
    problems = _errors(raw)
    [problem] = _tagged(problems, "MEDDRA-PT")
    assert (problem.file.endswith("ae.csv"), problem.row, problem.column, problem.value) == (True, 5, "SOCCD", "10099999")
    assert "PTCD 10029354 has SOCCD '10005329' in 3 row(s)" in problem.message
    assert "ae.csv row 2" in problem.message


def test_a_pt_name_differing_between_ae_and_medical_history(raw):
    edit_csv(raw / "medhist.csv", lambda rows: rows[1].update(PT="Neutropenia", PTCD="10029354",
                                                                 LLT="Neutropenia", LLTCD="10029354"))
    edit_csv(raw / "ae.csv", lambda rows: [r.update(PT="Neutrophil count decreased") for r in rows])
    problems = _errors(raw)
    hits = _tagged(problems, "MEDDRA-PT")
    assert hits and {Path(p.file).name for p in hits} <= {"ae.csv", "medhist.csv"}
    assert {p.column for p in hits} <= {"PT", "HLTCD", "HLGTCD", "SOCCD"}


# ------------------------------------------------------------------------------------------ no_control

@pytest.mark.parametrize("bad", ["Neutro\npenia", "Neutro\tpenia", "Neutro\rpenia", "Neutro\x01penia", "Neutro\x85penia"])
def test_control_characters_in_text_are_refused(raw, bad):
    from .conftest import read_csv

    header, rows = read_csv(raw / "ae.csv")
    rows[0]["AETERM"] = bad
    with (raw / "ae.csv").open("w", newline="", encoding="utf-8") as handle:  # quoted, as Excel writes it
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(rows)
    [problem] = _tagged(_errors(raw), "TEXT-CONTROL")
    assert (problem.row, problem.column, problem.value) == (2, "AETERM", bad)


def test_identifier_text_is_not_an_xpt_text(raw):
    """INITIALS never reaches an output: the control-character check (to XPT) leaves it to the site."""
    layout = load_layout(SPECS / "raw")
    check = next(c for c in layout.checks if c.id == "TEXT-CONTROL")
    columns = {(f.form, f.column) for f in layout.check_targets(check)}
    assert ("AE", "AETERM") in columns and ("ENROL", "INITIALS") not in columns


# ------------------------------------------------------------------------------------------ custom checks

def test_a_custom_warning_on_another_forms_date(raw, specs_copy):
    _with_checks(specs_copy, "W1,RESP,RSDAT,range,,EOS.LSTCNDAT,,warning,assessment after the last contact")
    _set(raw, "response.csv", 0, RSDAT="2016-12-01")
    [warning] = _load(raw, specs_copy).warnings
    assert (warning.row, warning.column, warning.value) == (2, "RSDAT", "2016-12-01")
    assert warning.message == "assessment after the last contact (after EOS.LSTCNDAT 2016-11-30) [W1]"


def test_a_custom_consistent_check_within_one_form(raw, specs_copy):
    _with_checks(specs_copy, "C1,CONMED,CMDECOD,consistent,,,ATCCD,error,one ATC class per drug")
    _set(raw, "conmed.csv", 1, ATCCD="N02BA")
    [problem] = _errors(raw, specs_copy)
    assert problem.column == "ATCCD" and problem.value in {"N02BA", "B01AC"}


def test_without_checks_nothing_is_range_checked(raw, specs_copy):
    _with_checks(specs_copy)
    _set(raw, "demog.csv", 0, AGE="200")
    assert _load(raw, specs_copy).warnings == []


# ------------------------------------------------------------------------------------------ validation

BAD_CHECKS = [
    ("X1,NOFORM,AGE,range,1,2,,error,x", "form", "form not in forms.csv"),
    ("X2,DEMOG,NOCOL,range,1,2,,error,x", "column", "no such column"),
    ("X3,DEMOG,AGE,between,1,2,,error,x", "kind", "expected 'range'"),
    ("X4,DEMOG,AGE,range,abc,2,,error,x", "min", "expected a number, a date"),
    ("X5,DEMOG,AGE,range,AE.LINE,,,error,x", "min", "many rows per subject"),
    ("X6,DEMOG,AGE,range,2014-01-01,,,error,x", "min", "a date limit"),
    ("X7,AE,PTCD,consistent,,,NOPE,error,x", "same", "no such column in form AE"),
    ("X8,DEMOG,SEX,range,1,,,error,x", "column", "needs a number or date column"),
    ("X9,DEMOG,AGE,range,,90,,fatal,x", "severity", "expected 'error' or 'warning'"),
    ("X10,AE,AETERM,no_control,1,,,error,x", "min", "only a range check has limits"),
    ("X11,AE,STDAT,range,,,,error,x", "min", "needs min, max or both"),
    ("X12,DEMOG,BRTHDAT,range,ENROL.ROUTE,,,error,x", "min", "ENROL.ROUTE is code"),
    ("X13,*,*,range,STDAT,,,error,x", "min", "takes a number, a date or cutoff"),
    ("X14,DEMOG,AGE,range,2014-02-30,,,error,x", "min", "expected a number, a date"),
    ("DATE-FLOOR,DEMOG,AGE,range,1,,,error,x", "id", "duplicate check id"),
    ("X16,AE,AGE,range,1,,,error,x", "column", "no such column in form AE"),
    ("X17,DEMOG,AGE,range,1,,,error,", "message", "a message on one line"),
    ('X18,DEMOG,AGE,range,1,,,error,"two\nlines"', "message", "a message on one line"),
    ("X19,DEMOG,CBP,only_when,,,,error,x", "same", "needs its condition as COLUMN=CODE"),
    ("X20,DEMOG,CBP,only_when,,,AE.LINE=1,error,x", "same", "many rows per subject"),
    ("X21,DEMOG,CBP,only_when,,,NOPE=2,error,x", "same", "no such column"),
    ("X22,DEMOG,CBP,only_when,,Y,SEX=2,error,x", "max", "only a range check has limits"),
]


@pytest.mark.parametrize(("row", "column", "words"), BAD_CHECKS, ids=[b[0].split(",")[0] for b in BAD_CHECKS])
def test_spec_check_names_file_row_and_column_of_a_bad_check(specs_copy, row, column, words):
    path = specs_copy / "raw" / "checks.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, row]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["spec", "check", "--specs", str(specs_copy)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    expected = f"checks.csv, row {len(lines) + 1}, column {column}: "
    hit = [line for line in result.output.splitlines() if expected in line]
    assert hit and words in hit[0], result.output


def test_checks_csv_is_required(specs_copy):
    (specs_copy / "raw" / "checks.csv").unlink()
    layout, problems = check_layout(specs_copy / "raw")
    assert layout is None and any(p.file.endswith("checks.csv") and "not found" in p.message for p in problems)


def test_every_check_is_listed_in_the_layout_page():
    layout = load_layout(SPECS / "raw")
    page = layout.to_markdown()
    assert "## Edit checks" in page
    for check in layout.checks:
        assert f"| {check.id} | {check.form} | {check.column} |" in page
    assert "| DEATH-ENROL | EOS | DTHDAT | not before ENROL.ENRDAT | error |" in page
    assert "| AGE-ADULT | DEMOG | AGE | >= 18 and <= 100 | warning |" in page


def test_the_checks_chosen_for_the_study():
    """The checks issue 11 asks for, with the severity a data manager gives them."""
    severity = {c.id: c.severity for c in load_layout(SPECS / "raw").checks}
    for check in ("AGE-POSSIBLE", "HEIGHT-POSSIBLE", "WEIGHT-POSSIBLE", "CREAT-POSSIBLE", "RVL-DOSE-POSSIBLE",
                  "DEX-DOSE-POSSIBLE", "RVL-DAYS", "DEX-DAYS", "DATE-FLOOR", "DATE-CUTOFF", "DEATH-ENROL",
                  "EOS-ENROL", "AE-END", "MEDDRA-PT", "TEXT-CONTROL"):
        assert severity[check] == "error", check
    for check in ("AGE-ADULT", "HEIGHT-PLAUSIBLE", "WEIGHT-PLAUSIBLE", "CREAT-PLAUSIBLE", "RVL-DOSE-LABEL",
                  "DEX-DOSE-LABEL", "RVL-DAYS-LABEL", "DEX-DAYS-LABEL"):
        assert severity[check] == "warning", check


# ------------------------------------------------------------------------------------------ through the CLI

@pytest.fixture(scope="module")
def small_build(tmp_path_factory):
    from submission.raw.synth import synthesize
    from submission.raw.synth import write_extract as write_synth
    from submission.study import load_settings

    base = tmp_path_factory.mktemp("warn")
    raw = base / "raw"
    write_synth(synthesize(load_settings(SPECS), n_subjects=12, seed=3), raw)
    return raw


def _first_row(path: Path) -> dict:
    with path.open(newline="", encoding="utf-8") as handle:
        return next(csv.DictReader(handle))


def test_a_warning_builds_and_is_listed_in_build_log_and_raw_check(small_build, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(small_build, raw)
    edit_csv(raw / "demog.csv", lambda rows: rows[0].update(AGE="101"))
    edit_csv(raw / "rvldose.csv", lambda rows: rows[0].update(DOSE="30"))
    expected = ["demog.csv, row 2, column AGE: ", "rvldose.csv, row 2, column DOSE: "]

    checked = CliRunner().invoke(main, ["raw", "check", "--raw", str(raw)])
    assert checked.exit_code == 0, checked.output
    section = checked.output.split("edit-check warnings:", 1)[1]
    assert section.splitlines()[0].startswith(" 2 (rows that break")
    for where in expected:
        assert any(where in line and line.lstrip().startswith("warning:") for line in section.splitlines()), checked.output
    assert "[AGE-ADULT] (value '101')" in section and "[RVL-DOSE-LABEL] (value '30')" in section

    out = tmp_path / "out"
    built = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(out)])
    assert built.exit_code == 0, built.output
    log = (out / "build.log").read_text(encoding="utf-8")
    for where in expected:
        assert where in log
    assert "[AGE-ADULT]" in log and "[RVL-DOSE-LABEL]" in log


def test_raw_check_says_when_there_is_no_warning(small_build):
    result = CliRunner().invoke(main, ["raw", "check", "--raw", str(small_build)])
    assert result.exit_code == 0, result.output
    assert "edit-check warnings: none" in result.output


# ------------------------------------------------------------------------------------------ only_when

def test_childbearing_potential_of_a_man_is_refused(raw):
    _set(raw, "demog.csv", 0, CBP="Y")  # 101-001 is a man
    problems = _tagged(_errors(raw), "CBP-WOMAN")
    assert [(p.row, p.column, p.value) for p in problems] == [(2, "CBP", "Y")]
    assert "SEX is 1, not 2" in problems[0].message


def test_a_pregnancy_of_the_patient_herself_for_a_man_is_refused(raw):
    _set(raw, "preg.csv", 0, PREGWHO="PT")  # 101-001 is a man
    problems = _tagged(_errors(raw), "PREG-PATIENT")
    assert [(p.row, p.column, p.value) for p in problems] == [(2, "PREGWHO", "PT")]
    assert "DEMOG.SEX is 1, not 2" in problems[0].message


def test_a_test_date_without_a_test_is_refused(raw):
    _set(raw, "demog.csv", 1, CBP="Y", PTEST="N", PTESTDAT="2014-01-10")  # 101-002, a woman
    problems = _tagged(_errors(raw), "PTESTDAT-DONE")
    assert [(p.row, p.column) for p in problems] == [(3, "PTESTDAT")]
