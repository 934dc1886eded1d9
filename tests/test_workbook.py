"""The P21 workbook: export and import give back the same CSV bytes; problems come by sheet, row, column."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from submission.cli import main
from submission.define.workbook import (
    export_workbook,
    import_workbook,
    spec_sheets,
    workbook_csvs,
    workbook_standard,
)
from submission.errors import SubError
from submission.spec import SHEETS
from submission.study import load_settings

from .conftest import SPECS
from .test_define import adam_sheets, sdtm_sheets, write_spec_folder

P21_COLUMNS = {  # domain.md section 6, word for word
    "Datasets": "Dataset, Label, Class, SubClass, Structure, Key Variables, Standard, Has No Data, Repeating, "
                "Reference Data, Comment, Developer Notes",
    "Variables": "Order, Dataset, Variable, Label, Data Type, Length, Significant Digits, Format, Mandatory, "
                 "Assigned Value, Codelist, Common, Origin, Source, Pages, Method, Predecessor, Role, Has No Data, "
                 "Comment, Developer Notes",
    "ValueLevel": "Order, Dataset, Variable, Where Clause, Label, Data Type, Length, Significant Digits, Format, "
                  "Mandatory, Assigned Value, Codelist, Origin, Source, Pages, Method, Predecessor, Comment, "
                  "Developer Notes",
    "WhereClauses": "ID, Dataset, Variable, Comparator, Value",
    "Codelists": "ID, Name, NCI Codelist Code, Data Type, Terminology, Comment, Order, Term, NCI Term Code, "
                 "Decoded Value",
    "Dictionaries": "ID, Name, Data Type, Dictionary, Version",
    "Methods": "ID, Name, Type, Description, Expression Context, Expression Code, Document, Pages",
    "Comments": "ID, Description, Document, Pages",
    "Documents": "ID, Title, Href",
    "Analysis Displays": "ID, Title, Document, Pages",
    "Analysis Results": "Display, ID, Description, Variables, Reason, Purpose, Selection Criteria, Join Comment, "
                        "Documentation, Documentation Refs, Programming Context, Programming Code, "
                        "Programming Document, Pages",
}


@pytest.fixture(scope="module")
def settings():
    return load_settings(SPECS)


@pytest.fixture
def study(tmp_path):
    """A specs folder: study.toml and a tiny SDTM spec with awkward cells."""
    root = tmp_path / "specs"
    root.mkdir()
    shutil.copy(SPECS / "study.toml", root / "study.toml")
    sheets = sdtm_sheets()
    sheets["Methods"][0]["Expression Code"] = "=STUDYID || '-' || SUBJID"  # looks like a formula
    sheets["Methods"][1]["Description"] = "Numbered within subject,\nby start date \"as collected\""
    sheets["WhereClauses"].append({"ID": "WC.DM.AGE.NEG", "Dataset": "DM", "Variable": "AGE", "Comparator": "LT",
                                   "Value": "-1"})
    write_spec_folder(root / "sdtm", sheets)
    return root


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def test_sheets_and_columns_are_those_of_the_p21_workbook():
    assert {sheet: ", ".join(columns) for sheet, columns in spec_sheets().items()} == P21_COLUMNS


def test_round_trip_changes_no_byte(tmp_path, study, settings):
    folder = study / "sdtm"
    before = _snapshot(folder)
    xlsx = tmp_path / "sdtm.xlsx"
    counts = export_workbook(folder, xlsx, standard="sdtm", settings=settings)
    assert counts["Variables"] == len(sdtm_sheets()["Variables"])
    result = import_workbook(xlsx, folder, standard="sdtm", settings=settings)
    assert result.changed == []
    assert _snapshot(folder) == before
    # and into an empty folder: the same files, byte for byte
    fresh = tmp_path / "fresh" / "sdtm"
    import_workbook(xlsx, fresh, standard="sdtm", settings=settings)
    assert _snapshot(fresh) == before


def test_workbook_has_a_define_sheet_and_text_cells(tmp_path, study, settings):
    xlsx = tmp_path / "sdtm.xlsx"
    export_workbook(study / "sdtm", xlsx, standard="sdtm", settings=settings)
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["Define", *P21_COLUMNS]
    attributes = dict(wb["Define"].iter_rows(min_row=2, values_only=True))
    assert attributes["StudyName"] == settings.study.studyid
    assert attributes["Standard"] == "SDTMIG 3.4"
    assert attributes["ControlledTerminology"] == f"CDISC/NCI {settings.dictionaries.sdtm_ct_version.isoformat()}"
    for sheet in P21_COLUMNS:
        assert [c.value for c in wb[sheet][1]] == P21_COLUMNS[sheet].split(", ")
    order = wb["Variables"]["A2"]
    assert (order.value, order.data_type) == ("1", "s")  # numbers stay text
    assert workbook_standard(xlsx) == "sdtm"


def test_a_formula_looking_cell_survives_as_text(tmp_path, study, settings):
    folder = study / "sdtm"
    before = _snapshot(folder)
    xlsx = tmp_path / "sdtm.xlsx"
    export_workbook(folder, xlsx, standard="sdtm", settings=settings)
    wb = openpyxl.load_workbook(xlsx)
    methods = wb["Methods"]
    column = [c.value for c in methods[1]].index("Expression Code") + 1
    cell = methods.cell(row=2, column=column)
    assert cell.value == "=STUDYID || '-' || SUBJID"
    assert cell.data_type == "s" and cell.quotePrefix
    value = wb["WhereClauses"].cell(row=wb["WhereClauses"].max_row, column=5)
    assert (value.value, value.data_type, value.quotePrefix) == ("-1", "s", True)
    import_workbook(xlsx, folder, standard="sdtm", settings=settings)
    assert _snapshot(folder) == before


def test_import_reports_every_problem_by_sheet_row_and_column(tmp_path, study, settings):
    folder = study / "sdtm"
    before = _snapshot(folder)
    xlsx = tmp_path / "sdtm.xlsx"
    export_workbook(folder, xlsx, standard="sdtm", settings=settings)
    wb = openpyxl.load_workbook(xlsx)

    def put(sheet: str, row: int, column: str, value) -> None:
        ws = wb[sheet]
        ws.cell(row=row, column=[c.value for c in ws[1]].index(column) + 1).value = value

    put("Variables", 4, "Label", "")                    # a label missing
    put("Variables", 5, "Codelist", "NOPE")              # a dangling codelist
    put("Codelists", 3, "Term", "N")                     # a duplicate term
    put("Datasets", 2, "Comment", "=1+1")                # a real formula
    put("Methods", 3, "Type", "Derivation")              # not Computation/Imputation
    put("Define", 2, "Value", "ANOTHER-STUDY")           # study.toml owns the study's name
    wb["Comments"].cell(row=1, column=5).value = "Owner"  # an unknown column
    wb.save(xlsx)
    with pytest.raises(SubError) as err:
        import_workbook(xlsx, folder, standard="sdtm", settings=settings)
    found = {(p.file.split(" sheet ")[-1], p.row, p.column) for p in err.value.problems}
    assert found >= {("Datasets", 2, "Comment"), ("Comments", 1, "Owner"), ("Define", 2, "Value"),
                     ("Variables", 4, "Label"), ("Variables", 5, "Codelist"), ("Codelists", 3, "Term"),
                     ("Methods", 3, "Type")}
    assert all(p.file.startswith("sdtm.xlsx sheet ") for p in err.value.problems)
    assert _snapshot(folder) == before


def test_a_workbook_of_the_wrong_shape_is_reported_before_its_contents(tmp_path, study, settings):
    folder = study / "sdtm"
    xlsx = tmp_path / "sdtm.xlsx"
    export_workbook(folder, xlsx, standard="sdtm", settings=settings)
    wb = openpyxl.load_workbook(xlsx)
    del wb["Documents"]
    wb["Variables"].cell(row=1, column=4).value = "Variable Label"
    wb.save(xlsx)
    with pytest.raises(SubError) as err:
        import_workbook(xlsx, folder, standard="sdtm", settings=settings)
    assert {(p.file, p.row, p.column, p.value) for p in err.value.problems} == {
        ("sdtm.xlsx", None, None, "Documents"), ("sdtm.xlsx sheet Variables", 1, "Label", None),
        ("sdtm.xlsx sheet Variables", 1, "Variable Label", None)}


def test_rows_keep_their_workbook_numbers_after_multi_line_cells_and_blank_rows(tmp_path, study, settings):
    folder = study / "sdtm"
    xlsx = tmp_path / "sdtm.xlsx"
    export_workbook(folder, xlsx, standard="sdtm", settings=settings)
    wb = openpyxl.load_workbook(xlsx)
    ws = wb["Methods"]
    ws.insert_rows(3)  # a blank row after the first method
    ws.cell(row=2, column=4).value = "line one\nline two\nline three"
    last = ws.max_row
    ws.cell(row=last, column=3).value = "Guess"  # Type of the last method
    wb.save(xlsx)
    with pytest.raises(SubError) as err:
        import_workbook(xlsx, folder, standard="sdtm", settings=settings)
    assert [(p.file, p.row, p.column) for p in err.value.problems] == [("sdtm.xlsx sheet Methods", last, "Type")]


def test_cells_excel_retyped_come_back_as_the_text_they_were(tmp_path, study, settings):
    folder = study / "sdtm"
    before = _snapshot(folder)
    xlsx = tmp_path / "sdtm.xlsx"
    export_workbook(folder, xlsx, standard="sdtm", settings=settings)
    wb = openpyxl.load_workbook(xlsx)
    ws = wb["Variables"]
    ws["A2"].value = 1  # Excel turns "1" into a number once edited
    wb.save(xlsx)
    import_workbook(xlsx, folder, standard="sdtm", settings=settings)
    assert _snapshot(folder) == before


def test_arm_sheets_round_trip_when_present(tmp_path, study, settings):
    folder = study / "sdtm"
    (folder / "Analysis Displays.csv").write_bytes(b"ID,Title,Document,Pages\nT14.1,Overview,CSDRG,3\n")
    before = _snapshot(folder)
    xlsx = tmp_path / "sdtm.xlsx"
    export_workbook(folder, xlsx, standard="sdtm", settings=settings)
    import_workbook(xlsx, folder, standard="sdtm", settings=settings)
    assert _snapshot(folder) == before
    assert not (folder / "Analysis Results.csv").exists()


def test_cli_export_then_import(tmp_path, study):
    runner = CliRunner()
    xlsx = tmp_path / "out.xlsx"
    before = _snapshot(study / "sdtm")
    result = runner.invoke(main, ["spec", "export", "--xlsx", str(xlsx), "--specs", str(study), "--standard", "sdtm"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["spec", "import", str(xlsx), "--specs", str(study)])  # standard from the workbook
    assert result.exit_code == 0, result.output
    assert "0 sheet(s) changed" in result.output
    assert _snapshot(study / "sdtm") == before

    wb = openpyxl.load_workbook(xlsx)
    wb["Datasets"]["B2"].value = ""
    wb.save(xlsx)
    result = runner.invoke(main, ["spec", "import", str(xlsx), "--specs", str(study / "sdtm")])
    assert result.exit_code == 1
    assert "out.xlsx sheet Datasets, row 2, column Label: label is missing" in result.output
    assert _snapshot(study / "sdtm") == before


def test_adam_spec_round_trip(tmp_path, settings):
    folder = write_spec_folder(tmp_path / "adam", adam_sheets())
    before = _snapshot(folder)
    xlsx = tmp_path / "adam.xlsx"
    export_workbook(folder, xlsx, standard="adam", settings=settings)
    assert workbook_standard(xlsx) == "adam"
    import_workbook(xlsx, folder, standard="adam", settings=settings)
    assert _snapshot(folder) == before


@pytest.mark.parametrize("standard", ["sdtm", "adam"])
def test_the_studys_own_specs_round_trip(tmp_path, standard, settings):
    source = SPECS / standard
    if not all((source / f"{m.sheet}.csv").exists() for m in SHEETS):
        pytest.skip(f"specs/{standard} is not written yet")
    folder = tmp_path / standard
    shutil.copytree(source, folder)
    before = _snapshot(folder)
    xlsx = tmp_path / f"{standard}.xlsx"
    export_workbook(folder, xlsx, standard=standard, settings=settings)
    assert {f"{sheet}.csv": data for sheet, data in workbook_csvs(xlsx).items()} == before
    try:
        import_workbook(xlsx, folder, standard=standard, settings=settings)
    except SubError as exc:  # a spec that does not pass its own checks is not imported (yet)
        assert all(" sheet " in p.file and "Define" not in p.file for p in exc.problems), exc.problems[:5]
    assert _snapshot(folder) == before


def test_a_file_that_is_not_a_workbook_is_one_clear_problem(tmp_path):
    bad = tmp_path / "x.xlsx"
    bad.write_text("not a zip")
    with pytest.raises(SubError, match="not a readable .xlsx workbook"):
        import_workbook(bad, tmp_path / "sdtm", standard="sdtm")


def test_workbook_dates_are_written_back_as_iso_text(tmp_path, study, settings):
    folder = study / "sdtm"
    xlsx = tmp_path / "sdtm.xlsx"
    export_workbook(folder, xlsx, standard="sdtm", settings=settings)
    wb = openpyxl.load_workbook(xlsx)
    ws = wb["Dictionaries"]
    ws["E2"].value = dt.datetime(2024, 9, 1)  # a version Excel took for a date
    wb.save(xlsx)
    import_workbook(xlsx, folder, standard="sdtm", settings=settings)
    assert "MedDRA,2024-09-01" in (folder / "Dictionaries.csv").read_text(encoding="utf-8")
