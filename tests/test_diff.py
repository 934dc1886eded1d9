"""sub diff: datasets and packages compared as findings; exit 0 equal, 1 different, 2 cannot compare."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from lxml import etree

from submission.cli import main
from submission.dataset import Column, Dataset
from submission.datasetjson import write_dataset_json
from submission.qc.diff import (
    DiffError,
    compare_tables,
    diff_frames,
    diff_paths,
    read_table,
    table_from_dataset,
)
from submission.tlf.ard import ARD_COLUMNS, write_ard_csv
from submission.xpt import read_xpt, write_xpt

from .conftest import SHARED, needs_reference

CREATED = dt.datetime(2024, 3, 1, 9, 30)
PILOT = SHARED / "reference" / "cdisc-pilot"
needs_pilot = needs_reference(PILOT / "sdtm" / "ae.xpt")
ODM = "http://www.cdisc.org/ns/odm/v1.3"


# --------------------------------------------------------------------------- tiny data

AE_COLUMNS = [Column("STUDYID", "Study Identifier"), Column("USUBJID", "Unique Subject Identifier"),
              Column("AESEQ", "Sequence Number", "integer"), Column("AETERM", "Reported Term for the Adverse Event"),
              Column("AEDECOD", "Dictionary-Derived Term"), Column("AESEV", "Severity/Intensity"),
              Column("AESTDTC", "Start Date/Time of Adverse Event"),
              Column("ASTDT", "Analysis Start Date", "date", "DATE9."), Column("AEDUR", "Duration (days)", "float")]


def ae_frame(n: int = 6) -> pd.DataFrame:
    subjects = [f"S1-{i // 2 + 1:03d}" for i in range(n)]
    seq = [i % 2 + 1 for i in range(n)]
    terms = ["Headache", "Nausea", "Rash", "Fatigue", "Cough", "Dizziness"]
    return pd.DataFrame({
        "STUDYID": ["S1"] * n, "USUBJID": subjects, "AESEQ": seq,
        "AETERM": [terms[i % 6] for i in range(n)], "AEDECOD": [terms[i % 6].upper() for i in range(n)],
        "AESEV": ["MILD", "MODERATE", "SEVERE"] * (n // 3) + ["MILD"] * (n % 3),
        "AESTDTC": [f"2015-01-{i % 28 + 1:02d}" for i in range(n)],
        "ASTDT": pd.to_datetime([f"2015-01-{i % 28 + 1:02d}" for i in range(n)]),
        "AEDUR": [1.5 + i for i in range(n)],
    })


def ae(frame: pd.DataFrame | None = None, *, label: str = "Adverse Events", columns=None) -> Dataset:
    return Dataset("AE", label, ae_frame() if frame is None else frame, list(columns or AE_COLUMNS))


def write_xpt_file(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_xpt(ds, path, CREATED)
    return path


def write_json_file(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_dataset_json(ds, path, created=CREATED, study_oid="S1", mdv_oid="MDV.S1")
    return path


def run(*args: str):
    return CliRunner().invoke(main, ["diff", *map(str, args)])


def run_json(*args: str) -> tuple[int, dict]:
    result = run(*args, "--json")
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.output)


def kinds(report: dict) -> list[str]:
    return [f["kind"] for f in report["findings"]]


# --------------------------------------------------------------------------- datasets

def test_identical_datasets_are_equal(tmp_path):
    a = write_xpt_file(ae(), tmp_path / "a" / "ae.xpt")
    b = write_xpt_file(ae(), tmp_path / "b" / "ae.xpt")
    result = run(a, b)
    assert result.exit_code == 0, result.output
    assert "equal" in result.output
    assert "STUDYID, USUBJID, AEDECOD, AESTDTC, AESEQ (spec)" not in result.output  # equal: no detail section


def test_changed_value_is_reported_with_its_subject_variable_and_both_values(tmp_path):
    changed = ae_frame()
    changed.loc[3, "AESEV"] = "SEVERE"  # S1-002, AESEQ 2 was MILD
    a = write_xpt_file(ae(), tmp_path / "a" / "ae.xpt")
    b = write_xpt_file(ae(changed), tmp_path / "b" / "ae.xpt")
    result = run(a, b)
    assert result.exit_code == 1
    assert "AESEV: 1 of 6 matched records differ" in result.output
    line = next(line for line in result.output.splitlines() if "S1-002" in line)
    assert "MILD" in line and "SEVERE" in line
    code, report = run_json(a, b)
    assert code == 1 and kinds(report) == ["values"]
    finding = report["findings"][0]
    assert finding["variable"] == "AESEV" and finding["count"] == 1
    assert finding["examples"] == [{"STUDYID": "S1", "USUBJID": "S1-002", "AEDECOD": "FATIGUE",
                                    "AESTDTC": "2015-01-04", "AESEQ": 2, "base": "MILD", "compare": "SEVERE"}]


def test_changed_labels_are_attribute_findings(tmp_path):
    columns = [Column(c.name, "Severity" if c.name == "AESEV" else c.label, c.kind, c.format) for c in AE_COLUMNS]
    a = write_xpt_file(ae(), tmp_path / "a" / "ae.xpt")
    b = write_xpt_file(ae(label="Adverse Event", columns=columns), tmp_path / "b" / "ae.xpt")
    code, report = run_json(a, b)
    assert code == 1
    assert sorted(kinds(report)) == ["dataset_label", "label"]
    label = next(f for f in report["findings"] if f["kind"] == "label")
    assert label["variable"] == "AESEV"
    assert label["examples"] == [{"variable": "AESEV", "base": "Severity/Intensity", "compare": "Severity"}]
    assert "label differs for 1 variable" in run(a, b).output


def test_dropped_record_is_only_in_base_with_its_keys(tmp_path):
    a = write_xpt_file(ae(), tmp_path / "a" / "ae.xpt")
    b = write_xpt_file(ae(ae_frame().drop(index=2)), tmp_path / "b" / "ae.xpt")
    code, report = run_json(a, b, "--keys", "USUBJID,AESEQ")
    assert code == 1 and kinds(report) == ["records_only_in_base"]
    assert report["findings"][0]["examples"] == [{"USUBJID": "S1-002", "AESEQ": 1}]
    assert report["summary"][0]["key_source"] == "--keys"
    assert "1 record only in base" in run(a, b).output


def test_numeric_difference_within_tolerance_is_equal(tmp_path):
    changed = ae_frame()
    changed.loc[1, "AEDUR"] += 0.1
    a = write_xpt_file(ae(), tmp_path / "a" / "ae.xpt")
    b = write_xpt_file(ae(changed), tmp_path / "b" / "ae.xpt")
    assert run(a, b).exit_code == 1
    assert run(a, b, "--tolerance", "0.1").exit_code == 0
    assert run(a, b, "--tolerance", "0.09").exit_code == 1


def test_missing_against_a_value_is_a_difference():
    base, compare = ae_frame(), ae_frame()
    compare.loc[0, "AETERM"] = None
    compare.loc[1, "AEDUR"] = np.nan
    found = diff_frames(ae(base), ae(compare), keys=["USUBJID", "AESEQ"]).findings
    assert [(f.variable, f.count) for f in found] == [("AETERM", 1), ("AEDUR", 1)]
    assert found[0].examples[0]["base"] == "Headache" and found[0].examples[0]["compare"] is None


def test_trailing_blanks_and_empty_text_count_as_equal():
    base, compare = ae_frame(), ae_frame()
    base.loc[0, "AETERM"], compare.loc[0, "AETERM"] = "", None
    compare.loc[1, "AETERM"] = compare.loc[1, "AETERM"] + "  "
    assert diff_frames(ae(base), ae(compare), keys=["USUBJID", "AESEQ"]).equal


def test_duplicate_keys_are_a_finding(tmp_path):
    a = write_xpt_file(ae(), tmp_path / "a" / "ae.xpt")
    code, report = run_json(a, a, "--keys", "USUBJID")
    assert code == 1
    assert kinds(report) == ["duplicate_keys_in_base", "duplicate_keys_in_compare"]
    first = report["findings"][0]
    assert first["count"] == 6 and first["examples"][0] == {"USUBJID": "S1-001", "records": 2}


def test_text_against_number_is_a_type_finding_and_compared_as_text():
    text = ae_frame()
    text["AESEQ"] = text["AESEQ"].astype(str)
    columns = [Column("AESEQ", "Sequence Number") if c.name == "AESEQ" else c for c in AE_COLUMNS]
    result = diff_frames(ae(), ae(text, columns=columns), keys=["USUBJID", "AESEQ"])
    assert [(f.kind, f.variable) for f in result.findings] == [("type", "AESEQ")]
    text.loc[0, "AESEQ"] = "9"
    result = diff_frames(ae(), ae(text, columns=columns), keys=["USUBJID", "AEDECOD"])
    assert [(f.kind, f.variable) for f in result.findings] == [("type", "AESEQ"), ("values", "AESEQ")]
    assert result.findings[1].examples[0]["base"] == 1 and result.findings[1].examples[0]["compare"] == "9"


def test_xpt_and_dataset_json_of_the_same_data_compare_equal(tmp_path):
    data = ae()
    data.frame.loc[2, "AEDUR"] = np.nan
    data.frame.loc[3, "ASTDT"] = pd.NaT
    xpt = write_xpt_file(data, tmp_path / "ae.xpt")
    js = write_json_file(data, tmp_path / "ae.json")
    result = run(xpt, js)
    assert result.exit_code == 0, result.output


def test_without_keys_records_are_matched_by_position_with_a_notice(tmp_path):
    ds = Dataset("XX", "Not in the spec", ae_frame(), list(AE_COLUMNS))
    changed = ae_frame()
    changed.loc[4, "AETERM"] = "Sneezing"
    a = write_xpt_file(ds, tmp_path / "a" / "xx.xpt")
    b = write_xpt_file(Dataset("XX", "Not in the spec", changed, list(AE_COLUMNS)), tmp_path / "b" / "xx.xpt")
    result = run(a, b)
    assert result.exit_code == 1
    assert "matched by row position" in result.output
    _, report = run_json(a, b)
    assert report["summary"][0]["key_source"] == "row position"
    assert report["findings"][0]["examples"][0] == {"row": 5, "USUBJID": "S1-003", "base": "Cough",
                                                    "compare": "Sneezing"}


def test_reordered_records_are_equal_when_matched_on_keys(tmp_path):
    frame = ae_frame(300)
    frame["USUBJID"] = [f"S1-{i:04d}" for i in range(300)]
    a = write_xpt_file(ae(frame), tmp_path / "a" / "ae.xpt")
    b = write_xpt_file(ae(frame.iloc[::-1].reset_index(drop=True)), tmp_path / "b" / "ae.xpt")
    assert run(a, b, "--keys", "USUBJID,AESEQ").exit_code == 0
    shuffled = frame.iloc[::-1].reset_index(drop=True)
    shuffled.loc[10, "AESEV"] = "FATAL"
    c = write_xpt_file(ae(shuffled), tmp_path / "c" / "ae.xpt")
    code, report = run_json(a, c, "--keys", "USUBJID,AESEQ")
    assert code == 1 and kinds(report) == ["values"]
    assert report["findings"][0]["examples"][0]["USUBJID"] == shuffled.loc[10, "USUBJID"]


def test_variables_only_in_one_side_and_order(tmp_path):
    base = ae()
    extra = ae_frame().assign(AEOUT="RECOVERED")
    compare = Dataset("AE", "Adverse Events", extra[["STUDYID", "USUBJID", "AESEQ", "AEDECOD", "AETERM", "AESEV",
                                                      "AESTDTC", "ASTDT", "AEDUR", "AEOUT"]],
                      [*AE_COLUMNS[:3], AE_COLUMNS[4], AE_COLUMNS[3], *AE_COLUMNS[5:], Column("AEOUT", "Outcome")])
    result = diff_frames(base, compare, keys=["USUBJID", "AESEQ"])
    assert [f.kind for f in result.findings] == ["variables_only_in_compare", "order"]
    assert result.findings[0].examples == [{"variable": "AEOUT", "type": "Char", "label": "Outcome"}]


# --------------------------------------------------------------------------- errors: exit 2, no traceback

def test_unreadable_file_exits_2_with_a_message(tmp_path):
    good = write_xpt_file(ae(), tmp_path / "ae.xpt")
    bad = tmp_path / "bad" / "ae.xpt"
    bad.parent.mkdir()
    bad.write_bytes(b"this is not a transport file\n" * 10)
    result = run(good, bad)
    assert result.exit_code == 2
    assert "cannot compare" in result.output and str(bad) in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_bad_arguments_exit_2(tmp_path):
    good = write_xpt_file(ae(), tmp_path / "ae.xpt")
    result = run(good, good, "--keys", "NOSUCH")
    assert result.exit_code == 2 and "NOSUCH" in result.output
    assert run(good, tmp_path).exit_code == 2  # a file against a folder
    assert run(good, tmp_path / "missing.xpt").exit_code == 2
    assert run(good, good, "--tolerance", "-1").exit_code == 2
    with pytest.raises(DiffError) as caught:
        diff_paths(good, tmp_path / "missing.xpt")
    assert caught.value.exit_code == 2


# --------------------------------------------------------------------------- the reader

@needs_pilot
def test_memory_mapped_xpt_reader_agrees_with_read_xpt():
    for path in sorted(PILOT.glob("*/*.xpt")):
        fast = read_table(path)
        assert fast.records is not None, path  # the memory-mapped reader, not the fallback
        slow = table_from_dataset(read_xpt(path))
        assert [v.name for v in fast.variables] == [v.name for v in slow.variables]
        assert fast.nrows == slow.nrows
        for v in fast.variables:
            if v.type == "Num":
                assert np.array_equal(fast.data[v.name], slow.data[v.name], equal_nan=True), (path.name, v.name)
        assert compare_tables(fast, slow).equal, path.name


@needs_pilot
def test_pilot_xpt_against_its_dataset_json_reports_what_differs():
    code, report = run_json(PILOT / "sdtm" / "ae.xpt", PILOT / "datasetjson" / "ae.json")
    assert code == 1
    found = {(f["kind"], f["variable"]) for f in report["findings"]}
    # the pilot's JSON stores the MedDRA codes and study days as text ("NA" for missing)
    assert ("type", "AESTDY") in found and ("values", "AESTDY") in found
    assert ("length", "AETERM") in found
    assert not any(kind.startswith("records_only") for kind, _ in found)  # every record matched on keys


# --------------------------------------------------------------------------- packages

def _ard(stat_n: int = 3) -> pd.DataFrame:
    rows = [
        {"output_id": "T14.3.1", "analysis_set": "SAF", "group1": "TRT", "group1_level": "A", "variable": "AEDECOD",
         "variable_level": "HEADACHE", "stat_name": "n", "stat_label": "n", "stat": stat_n},
        {"output_id": "T14.3.1", "analysis_set": "SAF", "group1": "TRT", "group1_level": "A", "variable": "AEDECOD",
         "variable_level": "HEADACHE", "stat_name": "p", "stat_label": "%", "stat": stat_n / 10},
        {"output_id": "T14.1.1", "analysis_set": "SAF", "group1": "TRT", "group1_level": "A", "variable": "AGE",
         "stat_name": "mean", "stat_label": "Mean", "stat": 61.25},
    ]
    return pd.DataFrame(rows).reindex(columns=ARD_COLUMNS)


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    """A tiny package: sdtm/ (XPT + Dataset-JSON + define.xml) and tlf/ard.csv."""
    from submission.define.write import build_define, to_bytes
    from submission.spec import load_spec
    from submission.study import load_settings

    from .conftest import SPECS
    from .test_define import datasets_of, sdtm_frames, sdtm_sheets, write_spec_folder

    root = tmp_path_factory.mktemp("diff") / "package"
    spec = load_spec(write_spec_folder(root.parent / "spec" / "sdtm", sdtm_sheets()))
    data = datasets_of(spec, sdtm_frames())
    for name, ds in data.items():
        write_xpt_file(ds, root / "sdtm" / f"{name.lower()}.xpt")
        write_json_file(ds, root / "sdtm" / f"{name.lower()}.json")
    tree = build_define(spec, data, load_settings(SPECS), standard="SDTM", created=CREATED)
    (root / "sdtm" / "define.xml").write_bytes(to_bytes(tree))
    (root / "tlf").mkdir()
    write_ard_csv(_ard(), root / "tlf" / "ard.csv")
    (root / "build.log").write_text("not compared\n")
    return root


def _copy(package: Path, tmp_path: Path) -> Path:
    target = tmp_path / "compare"
    shutil.copytree(package, target)
    return target


def test_identical_packages_are_equal(package, tmp_path):
    other = _copy(package, tmp_path)
    result = run(package, other)
    assert result.exit_code == 0, result.output
    for name in ("sdtm/ae.xpt", "sdtm/dm.xpt", "sdtm/rs.xpt", "sdtm/define.xml", "tlf/ard.csv"):
        assert name in result.output
    _, report = run_json(package, other)
    assert report["equal"] and {s["name"] for s in report["summary"]} == {
        "sdtm/ae.xpt", "sdtm/dm.xpt", "sdtm/rs.xpt", "sdtm/define.xml", "tlf/ard.csv"}


def test_changed_define_attribute_is_reported_with_oid_and_both_values(package, tmp_path):
    other = _copy(package, tmp_path)
    path = other / "sdtm" / "define.xml"
    tree = etree.parse(str(path))
    item = tree.find(f".//{{{ODM}}}ItemDef[@Name='AETERM']")
    text = item.find(f"{{{ODM}}}Description/{{{ODM}}}TranslatedText")
    old = text.text
    text.text = "Reported Term"
    item.set("Length", "99")
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    code, report = run_json(package, other)
    assert code == 1
    define = [f for f in report["findings"] if f["dataset"] == "sdtm/define.xml"]
    assert len(define) == 1 and define[0]["kind"] == "define"
    oid = item.get("OID")
    assert define[0]["variable"] == f"AE.AETERM ({oid})"
    assert {"element": f"AE.AETERM ({oid})", "attribute": "label", "base": old,
            "compare": "Reported Term"} in define[0]["examples"]
    assert any(e["attribute"] == "length" and e["compare"] == 99 for e in define[0]["examples"])
    assert "AE.AETERM" in run(package, other).output


def test_define_compared_as_metadata_not_bytes(package, tmp_path):
    other = _copy(package, tmp_path)
    path = other / "sdtm" / "define.xml"
    tree = etree.parse(str(path))
    tree.getroot().set("CreationDateTime", "2030-01-01T00:00:00")
    tree.write(str(path), xml_declaration=True, encoding="UTF-8", pretty_print=False)
    assert run(package, other).exit_code == 0


def test_changed_ard_number_names_the_table(package, tmp_path):
    other = _copy(package, tmp_path)
    write_ard_csv(_ard(stat_n=4), other / "tlf" / "ard.csv")
    code, report = run_json(package, other)
    assert code == 1
    ard = [f for f in report["findings"] if f["dataset"] == "tlf/ard.csv"]
    assert [(f["kind"], f["variable"], f["count"]) for f in ard] == [("ard_values", "T14.3.1", 2)]
    assert {"column": "stat", "base": 3, "compare": 4}.items() <= ard[0]["examples"][0].items()
    assert "output T14.3.1: 2 row(s) with different values" in run(package, other).output


def test_ard_rows_only_in_one_side(package, tmp_path):
    other = _copy(package, tmp_path)
    write_ard_csv(_ard().iloc[:2], other / "tlf" / "ard.csv")
    _, report = run_json(package, other)
    ard = [f for f in report["findings"] if f["dataset"] == "tlf/ard.csv"]
    assert [(f["kind"], f["variable"]) for f in ard] == [("ard_only_in_base", "T14.1.1")]
    assert "whole output" in ard[0]["message"]


def test_ard_within_tolerance_is_equal(package, tmp_path):
    other = _copy(package, tmp_path)
    changed = _ard()
    changed.loc[2, "stat"] = 61.2500001
    write_ard_csv(changed, other / "tlf" / "ard.csv")
    assert run(package, other).exit_code == 1
    assert run(package, other, "--tolerance", "1e-6").exit_code == 0


def test_ard_with_a_text_statistic_is_compared(tmp_path):
    base, compare = _ard().astype(object), _ard().astype(object)
    base.loc[2, "stat"] = compare.loc[2, "stat"] = "Wilcoxon rank-sum"
    compare.loc[0, "stat"] = 4
    write_ard_csv(base, tmp_path / "a.csv")
    write_ard_csv(compare, tmp_path / "b.csv")
    code, report = run_json(tmp_path / "a.csv", tmp_path / "b.csv")
    assert code == 1 and [(f["kind"], f["variable"]) for f in report["findings"]] == [("ard_values", "T14.3.1")]
    assert run(tmp_path / "a.csv", tmp_path / "a.csv").exit_code == 0


def test_dataset_only_in_one_folder(package, tmp_path):
    other = _copy(package, tmp_path)
    (other / "sdtm" / "rs.xpt").unlink()
    (other / "sdtm" / "rs.json").unlink()
    code, report = run_json(package, other)
    assert code == 1
    assert [(f["kind"], f["dataset"]) for f in report["findings"]] == [("dataset_only_in_base", "sdtm/rs.xpt")]


def test_folder_prefers_xpt_and_falls_back_to_json(package, tmp_path):
    other = _copy(package, tmp_path)
    (other / "sdtm" / "dm.xpt").unlink()  # compare has only dm.json: compared with base's dm.xpt
    code, report = run_json(package, other)
    assert code == 0, report["findings"]
    dm = next(s for s in report["summary"] if s["name"] == "sdtm/dm.xpt")
    assert dm["compare"].endswith("dm.json")


def test_changed_value_in_a_package_dataset(package, tmp_path):
    other = _copy(package, tmp_path)
    ds = read_xpt(other / "sdtm" / "dm.xpt")
    ds.frame.loc[ds.frame["USUBJID"] == "S1-002", "AGE"] = 71
    write_xpt_file(ds, other / "sdtm" / "dm.xpt")
    code, report = run_json(package, other)
    assert code == 1
    assert [(f["dataset"], f["variable"]) for f in report["findings"]] == [("sdtm/dm.xpt", "AGE")]
    example = report["findings"][0]["examples"][0]
    assert example["USUBJID"] == "S1-002" and (example["base"], example["compare"]) == (70, 71)


def test_unreadable_define_exits_2(package, tmp_path):
    other = _copy(package, tmp_path)
    (other / "sdtm" / "define.xml").write_text("<ODM><unclosed>")
    result = run(package, other)
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_datasets_without_records_compare(tmp_path):
    """A dataset with no records (a domain empty at an early cut-off) on both sides is equal; against
    one with records the records are only on one side (was exit 3: the key coding failed on 0 rows)."""
    empty = ae_frame().iloc[0:0]
    a = write_xpt_file(ae(empty), tmp_path / "a" / "ae.xpt")
    b = write_xpt_file(ae(empty), tmp_path / "b" / "ae.xpt")
    result = run(a, b, "--keys", "USUBJID,AESEQ")
    assert result.exit_code == 0, result.output
    c = write_xpt_file(ae(), tmp_path / "c" / "ae.xpt")
    code, report = run_json(a, c, "--keys", "USUBJID,AESEQ")
    assert code == 1, report
    assert sum(f.get("count", 1) for f in report["findings"] if "compare" in f["kind"]) >= 1, report
