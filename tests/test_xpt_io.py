"""XPT v5 and Dataset-JSON 1.1 reading and writing: CDISC's pilot files, the writer's refusals, round trips.

XPT headers are also read from the bytes (SAS TS-140 layout) so that names, labels, lengths, stamps
and record counts are checked without going through pyreadstat.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
from pathlib import Path

import pandas as pd
import pytest

from submission.dataset import Column, Dataset
from submission.datasetjson import (
    read_dataset_json,
    structure_problems,
    to_json_dict,
    write_dataset_json,
)
from submission.errors import SubError
from submission.xpt import frames_equal, read_xpt, write_xpt, xpt_problems

from .conftest import SHARED, needs_reference

PILOT = SHARED / "reference" / "cdisc-pilot"
# named, not globbed, so that a clone without ../shared lists (and skips) the same tests
PILOT_XPT = [PILOT / "sdtm" / f"{name}.xpt" for name in ("ae", "cm", "dm", "ds", "ex", "mh", "suppae", "suppdm", "sv", "ts")] \
    + [PILOT / "adam" / f"{name}.xpt" for name in ("adae", "adsl", "adtte")]
needs_pilot = needs_reference(PILOT)
STAMP = dt.datetime(2016, 12, 7, 1, 2, 3)


def xpt_header(path: Path) -> dict:
    """Header facts of an XPT v5 file from its bytes: member name and label, header time stamps,
    and per variable its type (1 numeric, 2 character), length, name, label and position."""
    data = Path(path).read_bytes()
    lines = [data[i:i + 80] for i in range(0, 8 * 80, 80)]
    assert lines[0].startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!")
    assert lines[3].startswith(b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!")
    assert lines[7].startswith(b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!")
    nvars = int(lines[7][54:58])
    variables = []
    for i in range(nvars):
        rec = data[640 + 140 * i: 640 + 140 * (i + 1)]
        ntype, _, nlng, _ = struct.unpack(">hhhh", rec[:8])
        (npos,) = struct.unpack(">i", rec[84:88])
        variables.append({"type": ntype, "length": nlng, "name": rec[8:16], "label": rec[16:56], "pos": npos})
    obs_header = 640 + -(-140 * nvars // 80) * 80
    assert data[obs_header:obs_header + 80].startswith(b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!")
    return {"name": lines[5][8:16], "label": lines[6][32:72],
            "stamps": [lines[1][64:80], lines[2][:16], lines[5][64:80], lines[6][:16]],
            "variables": variables, "data": data[obs_header + 80:]}


# --------------------------------------------------------------------------------------------- CDISC pilot files

@needs_pilot
def test_pilot_files_are_there():
    assert all(path.is_file() for path in PILOT_XPT)


@needs_pilot
@pytest.mark.parametrize("path", PILOT_XPT, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pilot_xpt_reads(path):
    ds = read_xpt(path)
    header = xpt_header(path)
    assert ds.name == header["name"].rstrip().decode("ascii") == path.stem.upper()
    assert [c.name for c in ds.columns] == [v["name"].rstrip().decode("ascii") for v in header["variables"]]
    assert [c.label for c in ds.columns] == [v["label"].rstrip().decode("cp1252") for v in header["variables"]]
    obs_length = sum(v["length"] for v in header["variables"])
    if obs_length >= 80:  # then the blank padding after the last record is shorter than a record
        assert len(ds.frame) == len(header["data"]) // obs_length
    assert len(ds.frame) > 0


@needs_pilot
@pytest.mark.parametrize("path", PILOT_XPT, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pilot_xpt_round_trip_through_the_writer(path, tmp_path):
    ds = read_xpt(path)
    out = tmp_path / path.name
    write_xpt(ds, out, STAMP, ascii_only=False)
    back = read_xpt(out)
    assert (back.name, back.label) == (ds.name, ds.label)
    assert [(c.name, c.label, c.kind, c.format) for c in back.columns] == \
        [(c.name, c.label, c.kind, c.format) for c in ds.columns]
    assert frames_equal(ds.frame, back.frame)
    original = {v["name"]: v for v in xpt_header(path)["variables"]}
    for v in xpt_header(out)["variables"]:
        assert v["type"] == original[v["name"]]["type"], v["name"]


@needs_pilot
def test_pilot_windows_1252_text_is_decoded():
    path = PILOT / "sdtm" / "ts.xpt"
    assert b"Alzheimer\x92s" in path.read_bytes()
    values = read_xpt(path).frame["TSVAL"].dropna().tolist()
    assert "Mild to Moderate Alzheimer\u2019s Disease" in values


@needs_pilot
def test_pilot_legacy_text_refused_for_a_submission_xpt(tmp_path):
    ds = read_xpt(PILOT / "sdtm" / "ts.xpt")
    with pytest.raises(SubError) as err:
        write_xpt(ds, tmp_path / "ts.xpt", STAMP)
    assert {p.column for p in err.value.problems} == {"TSVAL"}
    assert list(tmp_path.iterdir()) == []


@needs_pilot
@pytest.mark.parametrize("name", ["adsl", "adae", "ae", "dm"])
def test_pilot_dataset_json_reads_leniently(name):
    path = PILOT / "datasetjson" / f"{name}.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    ds = read_dataset_json(path)
    assert len(ds.frame) == doc["records"] > 0
    assert [c.name for c in ds.columns] == [c["name"] for c in doc["columns"]]
    problems = structure_problems(doc, str(path))
    if isinstance(doc["label"], str):
        assert problems == []
    else:  # these two files carry the dataset label as an empty list: reported, still read
        assert [(p.column, p.message) for p in problems] == [("label", "expected a JSON str")]


# --------------------------------------------------------------------------------------------- a small dataset

def small(**changes) -> Dataset:
    frame = pd.DataFrame({
        "STUDYID": ["S1", "S1", "S1"],
        "USUBJID": ["S1-001", "S1-001", "S1-002"],
        "AESEQ": pd.array([1, 2, 1], dtype="Int64"),
        "AETERM": ["Headache", None, "Nausea"],
        "AEDOSE": pd.array([0.0, -2.5, None], dtype="Float64"),
        "TRTSDT": pd.to_datetime(["2014-03-05", None, "1959-12-31"]),
        "ADTM": pd.to_datetime(["2014-03-05 13:45:10", "1960-01-01 00:00:00", None]),
        "ATM": [49510, None, 0],
    })
    columns = [Column("STUDYID", "Study Identifier"), Column("USUBJID", "Unique Subject Identifier"),
               Column("AESEQ", "Sequence Number", "integer"), Column("AETERM", "Reported Term for the Adverse Event"),
               Column("AEDOSE", "Dose", "float"), Column("TRTSDT", "Date of First Exposure", "date", "DATE9."),
               Column("ADTM", "Analysis Datetime", "datetime", "DATETIME20."),
               Column("ATM", "Analysis Time", "time", "TIME8.")]
    ds = Dataset("AE", "Adverse Events", frame, columns, keys=["STUDYID", "USUBJID", "AESEQ"])
    for key, value in changes.items():
        setattr(ds, key, value)
    return ds


def with_column(ds: Dataset, old: str, new: Column, values=None) -> Dataset:
    frame = ds.frame.rename(columns={old: new.name})
    if values is not None:
        frame[new.name] = values
    columns = [new if c.name == old else c for c in ds.columns]
    return Dataset(ds.name, ds.label, frame, columns, ds.keys)


def refused(ds: Dataset, folder: Path, **kwargs) -> list:
    path = folder / "ae.xpt"
    with pytest.raises(SubError) as err:
        write_xpt(ds, path, STAMP, **kwargs)
    assert list(folder.iterdir()) == [], "a refused write must leave no file, not even an empty one"
    return err.value.problems


def test_small_dataset_round_trip(tmp_path):
    ds = small()
    write_xpt(ds, tmp_path / "ae.xpt", STAMP)
    back = read_xpt(tmp_path / "ae.xpt")
    assert (back.name, back.label) == ("AE", "Adverse Events")
    # the reader names a format as SAS prints it without the period: DATE9. comes back as DATE9
    assert [(c.name, c.label, c.kind != "text", (c.format or "").rstrip(".")) for c in back.columns] == \
        [(c.name, c.label, c.numeric, (c.format or "").rstrip(".")) for c in ds.columns]
    assert [c.kind for c in back.columns][5:] == ["date", "datetime", "time"]
    assert frames_equal(ds.frame, back.frame)
    assert back.frame["AEDOSE"].iloc[0] == 0.0  # exactly zero, not a tiny IBM-float residue


def test_character_length_is_the_longest_value(tmp_path):
    write_xpt(small(), tmp_path / "ae.xpt", STAMP)
    lengths = {v["name"].rstrip(): (v["type"], v["length"]) for v in xpt_header(tmp_path / "ae.xpt")["variables"]}
    assert lengths[b"AETERM"] == (2, len("Headache"))
    assert lengths[b"USUBJID"] == (2, len("S1-001"))
    assert lengths[b"AESEQ"] == (1, 8)


def test_short_records_all_read_back(tmp_path):
    # records of at most 80 bytes: where pandas.read_sas can lose the last row
    ds = Dataset("X", "Short", pd.DataFrame({"A": ["a", "b", "c"]}), [Column("A", "One letter")])
    write_xpt(ds, tmp_path / "x.xpt", STAMP)
    assert read_xpt(tmp_path / "x.xpt").frame["A"].tolist() == ["a", "b", "c"]


def test_dataset_without_records(tmp_path):
    ds = small()
    empty = Dataset(ds.name, ds.label, ds.frame.iloc[:0], ds.columns)
    write_xpt(empty, tmp_path / "ae.xpt", STAMP)
    back = read_xpt(tmp_path / "ae.xpt")
    assert len(back.frame) == 0 and [c.name for c in back.columns] == [c.name for c in ds.columns]


def test_frames_equal_sees_every_kind_of_difference():
    a = pd.DataFrame({"T": ["x", None, "z"], "N": [0.0, 1.5, None], "D": pd.to_datetime(["2014-03-05", None, None])})
    assert frames_equal(a, a.copy())
    assert frames_equal(a, a.assign(T=["x", "", "z"]))  # blank and missing are the same in XPT
    assert not frames_equal(a, a.assign(T=["x", None, "Z"]))
    assert not frames_equal(a, a.assign(N=[5.4e-79, 1.5, None]))
    assert not frames_equal(a, a.assign(N=[0.0, 1.5, 0.0]))
    assert not frames_equal(a, a.assign(D=pd.to_datetime(["2014-03-06", None, None])))
    assert not frames_equal(a, a.iloc[:2])
    assert not frames_equal(a, a[["N", "T", "D"]])
    assert not frames_equal(a.assign(N=["0", "1.5", None]), a)


def test_unreadable_file_is_one_clear_problem(tmp_path):
    path = tmp_path / "broken.xpt"
    path.write_bytes(b"not an xport file" * 10)
    with pytest.raises(SubError) as err:
        read_xpt(path)
    assert err.value.problems[0].file == str(path)


# --------------------------------------------------------------------------------------------- refusals

def test_label_of_41_characters_refused(tmp_path):
    ds = with_column(small(), "AETERM", Column("AETERM", "L" * 41))
    [problem] = refused(ds, tmp_path)
    assert problem.column == "AETERM" and "40" in problem.message


def test_label_of_40_characters_written(tmp_path):
    ds = with_column(small(), "AETERM", Column("AETERM", "L" * 40))
    write_xpt(ds, tmp_path / "ae.xpt", STAMP)
    assert read_xpt(tmp_path / "ae.xpt").column("AETERM").label == "L" * 40


def test_dataset_label_of_41_characters_refused(tmp_path):
    [problem] = refused(small(label="D" * 41), tmp_path)
    assert problem.value == "D" * 41 and "40" in problem.message


@pytest.mark.parametrize("name", ["AETERMXYZ", "aeterm", "1AETERM", "AE-TERM"])
def test_bad_variable_name_refused(tmp_path, name):
    ds = with_column(small(), "AETERM", Column(name, "Reported Term"))
    [problem] = refused(ds, tmp_path)
    assert problem.column == name and "name" in problem.message


def test_name_of_8_characters_written(tmp_path):
    ds = with_column(small(), "AETERM", Column("AETERMXY", "Reported Term"))
    write_xpt(ds, tmp_path / "ae.xpt", STAMP)
    assert "AETERMXY" in [c.name for c in read_xpt(tmp_path / "ae.xpt").columns]


def test_dataset_name_of_9_characters_refused(tmp_path):
    [problem] = refused(small(name="SUPPAEXYZ"), tmp_path)
    assert problem.value == "SUPPAEXYZ"


def test_value_of_201_bytes_refused_naming_variable_and_subject(tmp_path):
    ds = small()
    ds.frame.loc[2, "AETERM"] = "x" * 201
    [problem] = refused(ds, tmp_path)
    assert problem.column == "AETERM" and "200 bytes" in problem.message and "S1-002" in problem.message


def test_value_of_200_bytes_written(tmp_path):
    ds = small()
    ds.frame.loc[2, "AETERM"] = "x" * 200
    write_xpt(ds, tmp_path / "ae.xpt", STAMP)
    assert read_xpt(tmp_path / "ae.xpt").frame["AETERM"].iloc[2] == "x" * 200
    lengths = {v["name"].rstrip(): v["length"] for v in xpt_header(tmp_path / "ae.xpt")["variables"]}
    assert lengths[b"AETERM"] == 200


def test_length_counts_bytes_not_characters(tmp_path):
    ds = small()
    ds.frame.loc[0, "AETERM"] = "두통" * 34  # 68 characters, 204 bytes in UTF-8
    [problem] = refused(ds, tmp_path, ascii_only=False)
    assert problem.column == "AETERM" and "200 bytes" in problem.message


def test_non_ascii_value_refused_naming_variable_value_and_subject(tmp_path):
    ds = small()
    ds.frame.loc[0, "AETERM"] = "두통"
    ds.provenance = pd.Series(["ae.csv row 2", "ae.csv row 3", "ae.csv row 4"])
    [problem] = refused(ds, tmp_path)
    assert (problem.column, problem.value) == ("AETERM", "두통")
    assert "S1-001" in problem.message and "ae.csv row 2" in problem.message


def test_non_ascii_label_refused(tmp_path):
    ds = with_column(small(), "AETERM", Column("AETERM", "이상사례명"))
    [problem] = refused(ds, tmp_path)
    assert problem.column == "AETERM" and "ASCII" in problem.message


def test_text_in_a_numeric_variable_refused(tmp_path):
    ds = with_column(small(), "AESEQ", Column("AESEQ", "Sequence Number", "integer"), ["1", "2", "x"])
    [problem] = refused(ds, tmp_path)
    assert problem.column == "AESEQ"


def test_every_problem_reported_at_once(tmp_path):
    ds = with_column(small(label="D" * 41), "AETERM", Column("AETERMXYZ", "L" * 41))
    ds.frame.loc[0, "AETERMXYZ"] = "두통"
    ds.frame.loc[1, "USUBJID"] = "S" * 201
    problems = refused(ds, tmp_path)
    assert len(problems) == 5
    assert {p.column for p in problems} == {None, "AETERMXYZ", "USUBJID"}


def test_refused_write_leaves_the_previous_file(tmp_path):
    path = tmp_path / "ae.xpt"
    write_xpt(small(), path, STAMP)
    before = path.read_bytes()
    bad = small()
    bad.frame.loc[0, "AETERM"] = "두통"
    with pytest.raises(SubError):
        write_xpt(bad, path, STAMP)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ae.xpt"]


def test_writer_failure_leaves_no_file(tmp_path, monkeypatch):
    import submission.xpt_write

    def fail(ds, handle, *args, **kwargs):
        handle.write(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(submission.xpt_write, "write_member", fail)
    with pytest.raises(RuntimeError):
        write_xpt(small(), tmp_path / "ae.xpt", STAMP)
    assert list(tmp_path.iterdir()) == []


def test_pyreadstat_failure_leaves_no_file(tmp_path, monkeypatch):
    # what the column writer leaves to pyreadstat (here a format it does not mirror) is all or nothing too
    import pyreadstat

    def fail(frame, path, **kwargs):
        Path(path).write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(pyreadstat, "write_xport", fail)
    ds = with_column(small(), "AEDOSE", Column("AEDOSE", "Dose", "float", "LONGFORMAT8."))
    with pytest.raises(RuntimeError):
        write_xpt(ds, tmp_path / "ae.xpt", STAMP)
    assert list(tmp_path.iterdir()) == []


def test_xpt_problems_empty_for_a_good_dataset():
    assert xpt_problems(small(), "ae.xpt") == []


# --------------------------------------------------------------------------------------------- same bytes

def test_header_carries_the_given_time_stamp(tmp_path):
    write_xpt(small(), tmp_path / "ae.xpt", STAMP)
    assert set(xpt_header(tmp_path / "ae.xpt")["stamps"]) == {b"07DEC16:01:02:03"}


def test_two_writes_are_byte_identical(tmp_path):
    write_xpt(small(), tmp_path / "a.xpt", STAMP)
    write_xpt(small(), tmp_path / "b.xpt", STAMP)
    assert (tmp_path / "a.xpt").read_bytes() == (tmp_path / "b.xpt").read_bytes()


def test_another_time_stamp_changes_only_the_stamps(tmp_path):
    write_xpt(small(), tmp_path / "a.xpt", STAMP)
    write_xpt(small(), tmp_path / "b.xpt", dt.datetime(2020, 2, 29, 23, 59, 58))
    a, b = (tmp_path / "a.xpt").read_bytes(), (tmp_path / "b.xpt").read_bytes()
    assert len(a) == len(b)
    differing = {i // 80 for i in range(len(a)) if a[i] != b[i]}
    assert differing <= {1, 2, 5, 6}
    assert set(xpt_header(tmp_path / "b.xpt")["stamps"]) == {b"29FEB20:23:59:58"}


# --------------------------------------------------------------------------------------------- Dataset-JSON

def json_kwargs() -> dict:
    return dict(created=STAMP, study_oid="S1", mdv_oid="MDV.S1.SDTM", metadata_ref="define.xml",
                originator="Sponsor", version="0.1.0")


def test_dataset_json_round_trip(tmp_path):
    ds = small()
    ds.frame.loc[1, "AETERM"] = "두통"  # UTF-8: Korean text is legal in Dataset-JSON
    path = tmp_path / "ae.json"
    write_dataset_json(ds, path, **json_kwargs())
    back = read_dataset_json(path)
    assert (back.name, back.label, back.keys) == ("AE", "Adverse Events", ["STUDYID", "USUBJID", "AESEQ"])
    assert [(c.name, c.label, c.format) for c in back.columns] == [(c.name, c.label, c.format) for c in ds.columns]
    assert [c.kind for c in back.columns] == ["text", "text", "integer", "text", "float", "date", "datetime", "time"]
    assert frames_equal(ds.frame, back.frame)
    assert "두통".encode() in path.read_bytes()


def test_dataset_json_document_is_valid_1_1(tmp_path):
    path = tmp_path / "ae.json"
    write_dataset_json(small(), path, **json_kwargs())
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert structure_problems(doc, str(path)) == []
    assert doc["datasetJSONVersion"] == "1.1.0" and doc["records"] == 3 == len(doc["rows"])
    assert doc["datasetJSONCreationDateTime"] == "2016-12-07T01:02:03"
    types = {c["name"]: (c["dataType"], c.get("targetDataType"), c.get("length")) for c in doc["columns"]}
    assert types["AESEQ"] == ("integer", None, None)
    assert types["AETERM"] == ("string", None, len("Headache"))
    assert types["TRTSDT"] == ("date", "integer", None)
    assert doc["rows"][0][5:] == ["2014-03-05", "2014-03-05T13:45:10", "13:45:10"]
    assert doc["rows"][1][3] is None and doc["rows"][2][4] is None


def test_dataset_json_two_writes_are_byte_identical(tmp_path):
    write_dataset_json(small(), tmp_path / "a.json", **json_kwargs())
    write_dataset_json(small(), tmp_path / "b.json", **json_kwargs())
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_broken_dataset_json_reports_every_problem():
    doc = to_json_dict(small(), **json_kwargs())
    del doc["itemGroupOID"]
    doc["datasetJSONVersion"] = "1.0.0"
    doc["records"] = 99
    doc["extra"] = True
    doc["sourceSystem"] = {"name": "sub"}
    doc["columns"][1]["dataType"] = "number"
    doc["columns"][3]["length"] = "8"
    doc["rows"][0] = doc["rows"][0][:-1]
    doc["rows"][1][2] = "two"
    found = {(p.column, p.message.split(" (")[0]) for p in structure_problems(doc, "ae.json")}
    columns = {c for c, _ in found}
    assert columns == {"itemGroupOID", "datasetJSONVersion", "records", "extra", "sourceSystem",
                       "columns[1].dataType", "columns[3].length", "rows[0]", "rows[1].AESEQ"}
    assert ("itemGroupOID", "required attribute is missing") in found
    assert ("records", "says 99 but there are 3 rows") in found


def test_dataset_json_top_level_not_an_object():
    [problem] = structure_problems([1, 2], "x.json")
    assert problem.message == "top level is not a JSON object"


def test_unreadable_dataset_json(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(SubError) as err:
        read_dataset_json(bad)
    assert err.value.problems[0].file == str(bad)
    shapeless = tmp_path / "shapeless.json"
    shapeless.write_text('{"name": "AE"}', encoding="utf-8")
    with pytest.raises(SubError):
        read_dataset_json(shapeless)


# --------------------------------------------------------------------------------------------- one fast reader

def assert_same_dataset(fast: Dataset, slow: Dataset) -> None:
    """The memory-mapped reader's Dataset is the pyreadstat reader's: attributes, dtypes and values."""
    assert (fast.name, fast.label) == (slow.name, slow.label)
    assert [(c.name, c.label, c.kind, c.format) for c in fast.columns] == \
        [(c.name, c.label, c.kind, c.format) for c in slow.columns]
    assert [str(t) for t in fast.frame.dtypes] == [str(t) for t in slow.frame.dtypes]
    assert fast.frame.index.equals(slow.frame.index)
    assert frames_equal(fast.frame, slow.frame)
    for c in fast.columns:
        if c.kind == "text":  # exactly: str without trailing blanks, None (not "") for a blank value
            assert fast.frame[c.name].tolist() == slow.frame[c.name].tolist(), c.name


@needs_pilot
@pytest.mark.parametrize("path", PILOT_XPT, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fast_reader_reads_pilot_files_as_pyreadstat_does(path):
    from submission.xpt import _read_xpt_pyreadstat, read_xpt_records

    assert read_xpt_records(path) is not None  # the memory-mapped path, not the fallback
    assert_same_dataset(read_xpt(path), _read_xpt_pyreadstat(path))


@needs_pilot
def test_fast_reader_decodes_the_windows_1252_file_as_pyreadstat_does():
    from submission.xpt import _read_xpt_pyreadstat, read_xpt_records

    path = PILOT / "sdtm" / "ts.xpt"
    member = read_xpt_records(path)
    assert member is not None and member.encoding == "cp1252"
    ds = read_xpt(path)
    assert "Mild to Moderate Alzheimer\u2019s Disease" in ds.frame["TSVAL"].tolist()
    assert_same_dataset(ds, _read_xpt_pyreadstat(path))
    assert read_xpt_records(PILOT / "sdtm" / "dm.xpt").encoding == "utf-8"


def written_datasets() -> dict[str, Dataset]:
    """What the project writes: dates, datetimes, times, missing numbers, blank text, 200-byte values,
    no records, and records of at most 80 bytes (where the blank padding holds whole records)."""
    ds = small()
    ds.frame.loc[1, "AETERM"] = "x" * 200
    ds.frame.loc[2, "STUDYID"] = ""
    ds.frame["ADTM"] = pd.to_datetime(["2014-03-05 13:45:10.5", "1959-12-31 23:59:59", None], format="ISO8601")
    missing = Dataset("MISS", "All missing", pd.DataFrame({
        "USUBJID": ["S1-001", "S1-002"], "TEXT": [None, ""],
        "DT": pd.to_datetime([None, None]), "DTM": pd.to_datetime([None, None]), "TM": [None, None],
        "VAL": pd.array([None, None], dtype="Float64")}),
        [Column("USUBJID", "Subject"), Column("TEXT", "Blank text"), Column("DT", "Date", "date", "DATE9."),
         Column("DTM", "Datetime", "datetime", "E8601DT19."), Column("TM", "Time", "time", "E8601TM8."),
         Column("VAL", "Value", "float", "8.2")])
    empty = Dataset(ds.name, ds.label, ds.frame.iloc[:0], ds.columns)
    letters = Dataset("X", "Short", pd.DataFrame({"A": ["a", "b", "c"]}), [Column("A", "One letter")])
    numbers = Dataset("N", "Short numbers", pd.DataFrame({"N": [1.0, None, 3.5, -0.0, 1e-70, 1e70]}),
                      [Column("N", "Number", "float")])
    return {"ae": ds, "miss": missing, "empty": empty, "letters": letters, "numbers": numbers}


@pytest.mark.parametrize("name", ["ae", "miss", "empty", "letters", "numbers"])
def test_fast_reader_reads_written_files_as_pyreadstat_does(name, tmp_path):
    from submission.xpt import _read_xpt_pyreadstat, read_xpt_records

    ds = written_datasets()[name]
    path = tmp_path / f"{name}.xpt"
    write_xpt(ds, path, STAMP)
    assert read_xpt_records(path) is not None
    back = read_xpt(path)
    assert_same_dataset(back, _read_xpt_pyreadstat(path))
    assert len(back.frame) == len(ds.frame)  # short records: every row, none lost to the padding
    assert frames_equal(ds.frame, back.frame)
    # the kind follows the format, also when there is no value to look at
    assert [c.kind != "text" for c in back.columns] == [c.numeric for c in ds.columns]
    assert [c.kind for c in back.columns if c.kind in ("date", "datetime", "time")] == \
        [c.kind for c in ds.columns if c.kind in ("date", "datetime", "time")]


def test_fast_reader_dtypes(tmp_path):
    path = tmp_path / "ae.xpt"
    write_xpt(written_datasets()["ae"], path, STAMP)
    frame = read_xpt(path).frame
    assert {name: str(dtype) for name, dtype in frame.dtypes.items()} == {
        "STUDYID": "object", "USUBJID": "object", "AESEQ": "float64", "AETERM": "object", "AEDOSE": "float64",
        "TRTSDT": "datetime64[s]", "ADTM": "datetime64[us]", "ATM": "float64"}
    assert frame["STUDYID"].tolist() == ["S1", "S1", None]
    assert frame["ADTM"].iloc[0] == pd.Timestamp("2014-03-05 13:45:10.5")
    assert frame["ATM"].tolist()[::2] == [49510.0, 0.0]


def test_format_kinds_are_pyreadstats():
    from submission.xpt import format_kind

    kinds = {fmt: format_kind(fmt) for fmt in
             ["DATE9", "E8601DA10", "YYMMDD10", "MMDDYY10", "DDMMYY8", "IS8601DA", "DTDATE9", "DATETIME20",
              "E8601DT19.3", "B8601DN", "TIME8", "HHMM5", "TOD8", "E8601TM8", "BEST12", "8.2", "8", "WORDDATE18",
              "MONYY7", "date9", "$CHAR10", None]}
    assert {k for k, v in kinds.items() if v == "date"} == {"DATE9", "E8601DA10", "YYMMDD10", "MMDDYY10", "DDMMYY8",
                                                           "IS8601DA", "DTDATE9"}
    assert {k for k, v in kinds.items() if v == "datetime"} == {"DATETIME20", "E8601DT19.3", "B8601DN"}
    assert {k for k, v in kinds.items() if v == "time"} == {"TIME8", "HHMM5", "TOD8", "E8601TM8"}


def test_ibm_floats_convert_as_readstat_converts_them():
    import numpy as np

    from submission.xpt import ibm_to_float

    words = {
        "41100000 00000000": 1.0, "C1100000 00000000": -1.0, "00000000 00000000": 0.0,
        "42640000 00000000": 100.0, "40800000 00000000": 0.5, "411A0000 00000000": 1.625,
        "2E000000 00000000": None, "41000000 00000000": None, "5F000000 00000000": None,  # ., A, _
        "80000000 00000000": None,  # a leading byte and zeros: missing to ReadStat too
        # 56 fraction bits: the 3 that IEEE cannot hold are cut (ReadStat), not rounded
        "41FFFFFF FFFFFFFF": float.fromhex("0x1.fffffffffffffp+3"),
    }
    raw = np.array([int(w.replace(" ", ""), 16) for w in words], dtype=">u8")
    got = ibm_to_float(raw)
    for value, want in zip(got.tolist(), words.values()):
        assert (np.isnan(value) if want is None else value == want), (value, want)
    short = np.frombuffer(bytes.fromhex("411000" "2E0000" "C12000"), dtype=np.uint8).reshape(3, 3)
    assert ibm_to_float(short)[[0, 2]].tolist() == [1.0, -2.0] and np.isnan(ibm_to_float(short)[1])


def test_what_the_fast_reader_leaves_to_pyreadstat_still_reads(tmp_path):
    import pyreadstat

    from submission.xpt import read_xpt_records

    v8 = tmp_path / "v8.xpt"
    pyreadstat.write_xport(pd.DataFrame({"LONGVARIABLENAME": [1.0, 2.0], "C": ["x", "y"]}), str(v8),
                           file_format_version=8)
    assert read_xpt_records(v8) is None
    assert read_xpt(v8).frame.to_dict("list") == {"LONGVARIABLENAME": [1.0, 2.0], "C": ["x", "y"]}
    with pytest.raises(SubError):
        read_xpt(tmp_path / "missing.xpt")
