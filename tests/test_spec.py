"""The P21 spec loader and its cross-checks, on tiny inline sheets."""

from __future__ import annotations

from pathlib import Path

import pytest

from submission.errors import SubError
from submission.spec import SHEETS, check_spec, load_spec

from .conftest import write_csv


def _var(order, name, label, **extra):
    row = {"Order": order, "Dataset": "AE", "Variable": name, "Label": label, "Data Type": "text",
           "Mandatory": "Yes", "Origin": "Collected", "Source": "Investigator", "Role": "Identifier"}
    row.update(extra)
    return row


def tiny_spec() -> dict[str, list[dict]]:
    return {
        "Datasets": [{"Dataset": "AE", "Label": "Adverse Events", "Class": "EVENTS", "Structure": "One record per event",
                      "Key Variables": "STUDYID, USUBJID, AESEQ", "Standard": "SDTMIG 3.4", "Repeating": "Yes",
                      "Reference Data": "No"}],
        "Variables": [
            _var(1, "STUDYID", "Study Identifier", Origin="Assigned", Source=""),
            _var(2, "USUBJID", "Unique Subject Identifier", Origin="Derived", Source="", Method="MT.USUBJID"),
            _var(3, "AESEQ", "Sequence Number", **{"Data Type": "integer", "Origin": "Derived", "Source": "",
                                                  "Method": "MT.SEQ"}),
            _var(4, "AESER", "Serious Event", Codelist="NY", Role="Record Qualifier"),
        ],
        "ValueLevel": [],
        "WhereClauses": [],
        "Codelists": [
            {"ID": "NY", "Name": "No Yes Response", "NCI Codelist Code": "C66742", "Data Type": "text",
             "Terminology": "CDISC/NCI", "Order": 1, "Term": "N", "NCI Term Code": "C49487", "Decoded Value": "No"},
            {"ID": "NY", "Name": "No Yes Response", "NCI Codelist Code": "C66742", "Data Type": "text",
             "Terminology": "CDISC/NCI", "Order": 2, "Term": "Y", "NCI Term Code": "C49488", "Decoded Value": "Yes"},
        ],
        "Dictionaries": [{"ID": "MEDDRA", "Name": "MedDRA", "Data Type": "text", "Dictionary": "MedDRA", "Version": "19.1"}],
        "Methods": [
            {"ID": "MT.USUBJID", "Name": "USUBJID", "Type": "Computation", "Description": "STUDYID-SUBJID"},
            {"ID": "MT.SEQ", "Name": "Sequence", "Type": "Computation", "Description": "Numbered within subject"},
        ],
        "Comments": [],
        "Documents": [],
    }


def write_spec(folder: Path, sheets: dict[str, list[dict]]) -> Path:
    for model in SHEETS:
        write_csv(folder / f"{model.sheet}.csv", model.columns(), sheets[model.sheet])
    return folder


def test_tiny_spec_loads(tmp_path):
    spec = load_spec(write_spec(tmp_path, tiny_spec()))
    assert [v.variable for v in spec.variables_of("AE")] == ["STUDYID", "USUBJID", "AESEQ", "AESER"]
    assert spec.codelists["NY"].values == ["N", "Y"]
    assert spec.datasets["AE"].key_variables == ["STUDYID", "USUBJID", "AESEQ"]


def test_every_problem_is_reported_in_one_run(tmp_path):
    sheets = tiny_spec()
    sheets["Variables"] += [
        _var(5, "AEOUT", "Outcome of Adverse Event", Codelist="OUT"),             # dangling codelist
        _var(6, "AEACN", "A" * 41),                                                 # 41-character label
        _var(7, "AETERMTOOLONG", "Reported Term"),                                 # 13-character name
        _var(7, "AEREL", "Causality"),                                              # duplicate order
    ]
    with pytest.raises(SubError) as err:
        load_spec(write_spec(tmp_path, sheets))
    found = {(Path(p.file).name, p.row, p.column) for p in err.value.problems}
    assert ("Variables.csv", 6, "Codelist") in found
    assert ("Variables.csv", 7, "Label") in found
    assert ("Variables.csv", 8, "Variable") in found
    assert ("Variables.csv", 9, "Order") in found


@pytest.mark.parametrize(
    ("sheet", "index", "change", "column", "words"),
    [
        ("Variables", 1, {"Method": "MT.NOPE"}, "Method", "not in Methods"),
        ("Variables", 1, {"Method": ""}, "Method", "needs a method"),
        ("Variables", 3, {"Comment": "COM.NOPE"}, "Comment", "not in Comments"),
        ("Variables", 3, {"Data Type": "string"}, "Data Type", "expected"),
        ("Variables", 3, {"Origin": "CRF"}, "Origin", "expected"),
        ("Variables", 3, {"Source": ""}, "Source", "needs a source"),
        ("Variables", 3, {"Role": ""}, "Role", "needs a role"),
        ("Variables", 3, {"Dataset": "XX"}, "Dataset", "not in Datasets"),
        ("Variables", 3, {"Label": ""}, "Label", "missing"),
        ("Variables", 3, {"Label": "Serious Event é"}, "Label", "ASCII"),
        ("Variables", 3, {"Mandatory": "Y"}, "Mandatory", "Yes or No"),
        ("Variables", 3, {"Label": "=HYPERLINK(\"x\")"}, "Label", "formula"),
        ("Variables", 3, {"Label": "Serious &amp; Event"}, "Label", "XML entity"),
        ("Variables", 3, {"Origin": "Predecessor", "Source": ""}, "Predecessor", "needs its predecessor"),
        ("Datasets", 0, {"Key Variables": "STUDYID, AETERM"}, "Key Variables", "not a variable of AE"),
        ("Datasets", 0, {"Dataset": "AE_1"}, "Dataset", "XPT v5 name"),
        ("Datasets", 0, {"Class": "EVENT"}, "Class", "expected"),
        ("Codelists", 1, {"Term": "N"}, "Term", "duplicate term"),
        ("Codelists", 1, {"Name": "Yes No"}, "Name", "differs from the first row"),
        ("Methods", 0, {"Document": "DOC.SAP"}, "Document", "not in Documents"),
        ("Methods", 0, {"Type": "Derivation"}, "Type", "expected"),
    ],
)
def test_cross_check_names_sheet_row_and_column(tmp_path, sheet, index, change, column, words):
    sheets = tiny_spec()
    sheets[sheet][index] = {**sheets[sheet][index], **change}
    spec, problems = check_spec(write_spec(tmp_path, sheets))
    assert spec is None
    hits = [p for p in problems if Path(p.file).name == f"{sheet}.csv" and p.column == column and words in p.message]
    assert hits, problems
    assert hits[0].row == index + 2


def test_value_level_and_where_clauses_must_resolve(tmp_path):
    sheets = tiny_spec()
    sheets["ValueLevel"] = [{"Order": 1, "Dataset": "AE", "Variable": "AESER", "Where Clause": "WC.MISSING",
                             "Label": "Serious", "Data Type": "text", "Mandatory": "No", "Origin": "Collected",
                             "Source": "Investigator"}]
    sheets["WhereClauses"] = [{"ID": "WC.AE.AEX", "Dataset": "AE", "Variable": "AEX", "Comparator": "EQ", "Value": "Y"}]
    _, problems = check_spec(write_spec(tmp_path, sheets))
    messages = {(Path(p.file).name, p.column, p.message) for p in problems}
    assert ("ValueLevel.csv", "Where Clause", "where clause is not in WhereClauses") in messages
    assert ("WhereClauses.csv", "Variable", "where clause tests a variable that is not in Variables") in messages


def test_missing_sheet_and_missing_column_are_problems(tmp_path):
    folder = write_spec(tmp_path, tiny_spec())
    (folder / "Comments.csv").unlink()
    write_csv(folder / "Documents.csv", ["ID", "Title"], [])
    _, problems = check_spec(folder)
    assert any(p.file.endswith("Comments.csv") and "not found" in p.message for p in problems)
    assert any(p.file.endswith("Documents.csv") and p.column == "Href" and p.row == 1 for p in problems)


def test_group_labels_must_agree_between_settings_and_adam_codelist(specs_copy):
    from submission.spec import check_all

    path = specs_copy / "study.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('labels = ["<65", ">=65"]', 'labels = ["<65", "65+"]'),
                    encoding="utf-8")
    problems = check_all(specs_copy)
    assert any(p.value == "AGEGR1" and "differ from study.toml group AGEGR1" in p.message for p in problems)


def test_dictionary_version_must_agree_with_settings(specs_copy):
    from submission.spec import check_all

    path = specs_copy / "study.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('meddra_version = "19.1"', 'meddra_version = "20.0"'),
                    encoding="utf-8")
    problems = check_all(specs_copy)
    assert {p.file.split("/")[-2] for p in problems if "MedDRA version differs" in p.message} == {"sdtm", "adam"}
