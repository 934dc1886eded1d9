"""No live formula leaves sub: xlsx cells are strings or numbers, CSV text for people is quoted
(OWASP CSV injection), and sub's own ARD reader gives back the original text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from submission.cli import main
from submission.dataset import Column, Dataset
from submission.spreadsheet import escape_csv_text, set_cell, unescape_csv_text, workbook_bytes, write_rows
from submission.tlf.ard import ard_categorical, ard_csv_text, read_ard_csv, write_ard_csv
from submission.xpt import write_xpt

PAYLOADS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1,1)", "\t=1", "\r=1", "=HYPERLINK(\"http://x\")"]


def _no_traceback(result) -> None:
    assert "Traceback" not in result.output and "internal error" not in result.output


def _formula_cells(path: Path) -> list[str]:
    wb = openpyxl.load_workbook(path)
    return [f"{ws.title}!{c.coordinate}" for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]


# --------------------------------------------------------------------------- the xlsx helper

def test_set_cell_writes_strings_and_numbers_never_formulas(tmp_path):
    values = [*PAYLOADS, "plain", 5, -2.5, 0, None, True, math.nan, dt.date(2020, 1, 2), "bell\x07"]
    wb = openpyxl.Workbook()
    write_rows(wb.active, [values])
    path = tmp_path / "x.xlsx"
    path.write_bytes(workbook_bytes(wb))
    cells = next(openpyxl.load_workbook(path).active.iter_rows())
    got = [(c.data_type, c.value) for c in cells]
    assert got[:len(PAYLOADS) + 1] == [("s", v) for v in [*PAYLOADS, "plain"]]  # text unchanged, as text
    assert got[len(PAYLOADS) + 1:len(PAYLOADS) + 4] == [("n", 5), ("n", -2.5), ("n", 0)]  # numbers stay numbers
    assert got[len(PAYLOADS) + 4][1] is None
    assert got[len(PAYLOADS) + 5:] == [("s", "True"), ("s", "nan"), ("s", "2020-01-02"), ("s", "bell\\x07")]
    assert _formula_cells(path) == []


def test_set_cell_marks_formula_like_text_with_excels_quote_prefix():
    ws = openpyxl.Workbook().active
    assert set_cell(ws, 1, 1, "=1+1").quotePrefix
    assert not set_cell(ws, 1, 2, "text").quotePrefix


# --------------------------------------------------------------------------- CSV escaping

@pytest.mark.parametrize("text", [*PAYLOADS, "", "plain", "'", "'=x", "''=x", "'abc", "-", "=", "a=b", "5", "-5",
                                  "'-5", "\t", " =x"])
def test_csv_escape_round_trips(text):
    escaped = escape_csv_text(text)
    assert unescape_csv_text(escaped) == text
    assert not escaped.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_csv_escape_leaves_harmless_text_alone():
    assert [escape_csv_text(t) for t in ["abc", "'abc", " =x", "a-b"]] == ["abc", "'abc", " =x", "a-b"]
    assert [escape_csv_text(t) for t in ["=x", "-1", "'=x"]] == ["'=x", "'-1", "''=x"]


def _ard(levels: list[str]) -> pd.DataFrame:
    adsl = pd.DataFrame({"USUBJID": [f"0{i}" for i in range(len(levels))], "SAFFL": ["Y"] * len(levels),
                         "TRT01A": ["A"] * len(levels), "SEX": levels})
    return ard_categorical(adsl, "SEX", by="TRT01A", output_id="T1")


def test_ard_csv_quotes_text_not_numbers_and_reads_back_the_original(tmp_path):
    levels = ["=cmd|' /C calc'!A0", "-1", "@x", "F", "'=x"]
    ard = _ard(levels)
    text = ard_csv_text(ard)
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in cells)
    assert "'=cmd|' /C calc'!A0" in cells and "'-1" in cells and "''=x" in cells
    assert all(not c.startswith("-") for c in cells)  # no negative number in this ARD, and text "-1" is quoted
    path = tmp_path / "ard.csv"
    write_ard_csv(ard, path)
    back = read_ard_csv(path)
    assert sorted(set(back["variable_level"].dropna())) == sorted(levels)
    original = ard.set_index(["variable_level", "stat_name"])["stat"]
    again = back.set_index(["variable_level", "stat_name"])["stat"]
    assert {k: float(v) for k, v in again.items()} == pytest.approx({k: float(v) for k, v in original.items()})


def test_a_negative_number_is_written_as_a_number(tmp_path):
    ard = _ard(["F", "M"])
    ard.loc[ard.index[0], "stat"] = -0.5
    ard.loc[ard.index[1], "stat"] = "-0.5"  # the same, as text: quoted, and read back as text
    path = tmp_path / "ard.csv"
    write_ard_csv(ard, path)
    rows = list(csv.reader(path.open(encoding="utf-8")))
    header = rows[0]
    stats = [r[header.index("stat")] for r in rows[1:3]]
    assert stats == ["-0.5", "'-0.5"]
    back = read_ard_csv(path)
    assert back["stat"].iloc[0] == -0.5 and back["stat"].iloc[1] == "-0.5"


def test_diff_of_ards_sees_the_original_values(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_ard_csv(_ard(["=1+1", "F"]), a)
    write_ard_csv(_ard(["=1+1", "F"]), b)
    result = CliRunner().invoke(main, ["diff", str(a), str(b)])
    assert result.exit_code == 0, result.output
    write_ard_csv(_ard(["=1+2", "F"]), b)
    result = CliRunner().invoke(main, ["diff", str(a), str(b)])
    assert result.exit_code == 1, result.output
    assert "=1+1" in result.output and "'=1+1" not in result.output
    _no_traceback(result)


# --------------------------------------------------------------------------- through the CLI

def test_validate_report_xlsx_holds_payloads_as_text(tmp_path):
    folder = tmp_path / "pkg" / "sdtm"
    folder.mkdir(parents=True)
    frame = pd.DataFrame({"STUDYID": ["S1", "S1"], "DOMAIN": ["AE", "AE"], "USUBJID": ["S1-001", "S1-002"],
                          "AESEQ": [1.0, 2.0], "AETERM": ["x", "y"], "AESTDTC": [PAYLOADS[0], "@SUM(1,1)"]})
    columns = [Column("STUDYID", "Study Identifier"), Column("DOMAIN", "Domain Abbreviation"),
               Column("USUBJID", "Unique Subject Identifier"), Column("AESEQ", "Sequence Number", "float"),
               Column("AETERM", "Reported Term for the Adverse Event"),
               Column("AESTDTC", "Start Date/Time of Adverse Event")]
    write_xpt(Dataset("AE", "Adverse Events", frame, columns), folder / "ae.xpt", dt.datetime(2020, 1, 1))
    report = tmp_path / "report.xlsx"
    result = CliRunner().invoke(main, ["validate", str(folder.parent), "--report", str(report)])
    assert result.exit_code == 1, result.output  # SUB-DTC-001: the payloads are not ISO 8601
    _no_traceback(result)
    assert _formula_cells(report) == []
    values = {c.value: c.data_type for ws in openpyxl.load_workbook(report) for row in ws.iter_rows() for c in row}
    assert values[PAYLOADS[0]] == "s" and values["@SUM(1,1)"] == "s"


def test_spec_export_writes_formula_like_spec_text_as_text(specs_copy, tmp_path):
    comments = specs_copy / "sdtm" / "Comments.csv"
    rows = list(csv.reader(comments.open(encoding="utf-8", newline="")))
    column = rows[0].index("Description")
    rows[1][column] = PAYLOADS[0]
    with comments.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    xlsx = tmp_path / "sdtm.xlsx"
    result = CliRunner().invoke(main, ["spec", "export", "--xlsx", str(xlsx), "--specs", str(specs_copy),
                                       "--standard", "sdtm"])
    assert result.exit_code == 0, result.output
    assert _formula_cells(xlsx) == []
    ws = openpyxl.load_workbook(xlsx)["Comments"]
    cell = ws.cell(row=2, column=column + 1)
    assert (cell.value, cell.data_type) == (PAYLOADS[0], "s")
