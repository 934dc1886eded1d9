"""The whole-column writers write the bytes of the row-by-row ones: pyreadstat for XPT v5 (its own
output, only the header time stamps aside), `json.dumps` of the row-built document for Dataset-JSON;
on the bundled study's SDTM and ADaM datasets, on every CDISC pilot XPT file and on edge cases.
pyreadstat also reads every file back. define.xml built from the datasets in memory is the one built
from reading the files back, and its check still sees a file that does not hold what was written.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from submission.dataset import Column, Dataset
from submission.datasetjson import to_json_dict, write_dataset_json
from submission.xpt import (
    _read_xpt_pyreadstat,
    _to_storage,
    frames_equal,
    read_xpt,
    write_xpt,
)

from .conftest import SPECS
from .test_xpt_io import PILOT_XPT, needs_pilot, small, written_datasets

STAMP = dt.datetime(2016, 12, 7, 1, 2, 3)
# the header records that carry a time stamp, and where in them (SAS TS-140)
STAMPS = ((1, 64, 80), (2, 0, 16), (5, 64, 80), (6, 0, 16))


def pyreadstat_bytes(ds: Dataset, path: Path) -> bytes:
    """What pyreadstat writes for the dataset, its wall-clock stamps untouched."""
    import pyreadstat

    formats = {c.name: c.format for c in ds.columns if c.format}
    pyreadstat.write_xport(_to_storage(ds), str(path), file_format_version=5, table_name=ds.name,
                           file_label=ds.label or None, column_labels=[c.label for c in ds.columns],
                           variable_format=formats or None)
    return path.read_bytes()


def without_stamps(data: bytes) -> bytes:
    out = bytearray(data)
    for record, start, end in STAMPS:
        out[record * 80 + start:record * 80 + end] = b"#" * (end - start)
    return bytes(out)


def assert_same_xpt(ds: Dataset, folder: Path, *, ascii_only: bool = True) -> None:
    """The column writer's file is pyreadstat's byte for byte (stamps aside), and pyreadstat reads it
    back to the values written."""
    from submission.xpt_write import sas_stamp

    ours = folder / f"{ds.name.lower()}.xpt"
    write_xpt(ds, ours, STAMP, ascii_only=ascii_only)
    data = ours.read_bytes()
    theirs = pyreadstat_bytes(ds, folder / f"{ds.name.lower()}.pyreadstat.xpt")
    assert len(data) == len(theirs)
    assert without_stamps(data) == without_stamps(theirs), ds.name
    assert [data[r * 80 + a:r * 80 + b] for r, a, b in STAMPS] == [sas_stamp(STAMP)] * 4
    back = _read_xpt_pyreadstat(ours)
    assert (back.name, back.label) == (ds.name, ds.label)
    assert [c.name for c in back.columns] == [c.name for c in ds.columns]
    assert frames_equal(back.frame, read_xpt(ours).frame)


def assert_same_json(ds: Dataset, path: Path) -> None:
    kwargs = {"created": STAMP, "study_oid": "S1", "mdv_oid": "MDV.S1.SDTM", "metadata_ref": "define.xml",
              "originator": "Sponsor", "version": "0.1.0"}
    write_dataset_json(ds, path, **kwargs)
    expected = json.dumps(to_json_dict(ds, **kwargs), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    assert path.read_bytes() == expected.encode("utf-8"), ds.name


# --------------------------------------------------------------------------------------------- the bundled study

@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> dict[str, dict[str, Dataset]]:
    """The bundled study's SDTM datasets as mapped and its ADaM datasets as derived, in memory. The
    extract is made as the bundled one is (`sub synth`, default seed), so it fits the current layout."""
    from submission.build import run_adam_stage, run_sdtm_stage, write_datasets
    from submission.raw.synth import synthesize, write_extract
    from submission.study import load_settings

    base = tmp_path_factory.mktemp("bundled")
    write_extract(synthesize(load_settings(SPECS), n_subjects=624, seed=20161207), base / "raw")
    log: list[str] = []
    settings, sdtm = run_sdtm_stage(base / "raw", SPECS, encoding="utf-8", log=log)
    folder = base / "sdtm"
    folder.mkdir()
    write_datasets(folder, sdtm, settings, "SDTM")
    adam = run_adam_stage(folder, SPECS, settings, log)
    return {"SDTM": sdtm, "ADaM": adam, "settings": settings, "sdtm_folder": folder}


@pytest.mark.parametrize("standard", ["SDTM", "ADaM"])
def test_bundled_xpt_bytes_are_pyreadstats(bundled, standard, tmp_path):
    for ds in bundled[standard].values():
        assert_same_xpt(ds, tmp_path)


@pytest.mark.parametrize("standard", ["SDTM", "ADaM"])
def test_bundled_dataset_json_bytes_are_the_row_by_row_writers(bundled, standard, tmp_path):
    for ds in bundled[standard].values():
        assert_same_json(ds, tmp_path / f"{ds.name.lower()}.json")


def test_bundled_build_files_are_pyreadstats(bundled, tmp_path):
    """The files write_datasets wrote (the check, shared factorization and all) are pyreadstat's."""
    for ds in bundled["SDTM"].values():
        data = (bundled["sdtm_folder"] / f"{ds.name.lower()}.xpt").read_bytes()
        theirs = pyreadstat_bytes(ds, tmp_path / f"{ds.name.lower()}.xpt")
        assert without_stamps(data) == without_stamps(theirs), ds.name


# --------------------------------------------------------------------------------------------- CDISC pilot files

@needs_pilot
@pytest.mark.parametrize("path", PILOT_XPT, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pilot_xpt_rewritten_as_pyreadstat_writes_it(path, tmp_path):
    ds = read_xpt(path)  # ts.xpt holds Windows-1252 text: rewritten as UTF-8, as pyreadstat does
    assert_same_xpt(ds, tmp_path, ascii_only=False)
    assert_same_json(ds, tmp_path / f"{ds.name.lower()}.json")


# --------------------------------------------------------------------------------------------- edge cases

def _numbers() -> Dataset:
    tiny, huge = 16.0 ** -65, 16.0 ** 63
    values = [0.0, -0.0, 1.0, -1.0, 0.5, 1 / 3, -2.5e-7, 123456789.123, 2.0 ** 53, 2.0 ** 53 + 2, 1e-70, 1e70,
              tiny, tiny * 0.99, tiny * 1.01, huge, huge * 0.99, huge * 16, 1e-300, 5e-324, -5e-324, 1e300,
              np.finfo(float).max, -np.finfo(float).max, np.inf, -np.inf, np.nan, 2.0 ** -260, 2.0 ** -261,
              2.0 ** 248, 2.0 ** 249, -(2.0 ** 252)]
    rng = np.random.default_rng(17)
    values += list(rng.normal(size=200) * 10.0 ** rng.integers(-80, 80, size=200))
    return Dataset("NUM", "Numbers", pd.DataFrame({"X": values, "I": pd.array(range(len(values)), dtype="Int64")}),
                   [Column("X", "A number", "float"), Column("I", "An integer", "integer")])


def _texts() -> Dataset:
    frame = pd.DataFrame({
        "PLAIN": pd.array(["a", None, "", "a ", " b", "x" * 200, "tab\there"] * 3, dtype="str"),
        "OBJ": pd.Series(["a", None, np.nan, "", "z", "a", "q"] * 3, dtype=object),
        "MIXED": pd.Series([1, "a", None, 1.0, True, 2.5, "b"] * 3, dtype=object),
        "NUL": pd.Series(["a\x00b", "c", "\x00", "dd", None, "e\x00", "f"] * 3, dtype=object),
        "EMPTY": pd.Series([None] * 21, dtype=object),
        "BLANKS": pd.Series([""] * 21, dtype=object),
        "NUMTEXT": pd.array(list(range(21)), dtype="Int64"),
    })
    columns = [Column(name, f"{name} text") for name in frame.columns]
    return Dataset("TXT", "Texts", frame, columns)


def _formats() -> Dataset:
    formats = ["DATE9.", "DATE9", "8.2", "8.", "8", ".", "BEST12.", "E8601DT19.3", "E8601DA10.", "TIME8.", "$CHAR20.",
               "$CHAR", "$", "$10.", "Z", "YYMMDD10.", "B8601DN", "_", "A1B2", "A1", "$A.", "DATE9.2", "ABC"]
    frame = pd.DataFrame({f"F{i}": [1.0, None] for i in range(len(formats))})
    frame["C"] = ["x", None]
    columns = [Column(f"F{i}", f"Format {fmt}", "float", fmt) for i, fmt in enumerate(formats)]
    return Dataset("FMT", "", frame, [*columns, Column("C", "", "text", "$CHAR8.")])


def _dates() -> Dataset:
    frame = pd.DataFrame({
        "D": pd.to_datetime(["1960-01-01", "1959-12-31", None, "2016-12-07", "1582-10-15", "2999-01-01"]),
        "DT": pd.to_datetime(["1960-01-01 00:00:00.000001", "1959-12-31 23:59:59.5", None, "2016-12-07 01:02:03",
                              "1900-01-01 12:00:00", "2100-06-30 23:59:59.999"], format="ISO8601"),
        "T": [0, 86399, None, 3600.5, 49510, 1],
    })
    return Dataset("DTS", "Dates", frame, [Column("D", "Date", "date", "DATE9."),
                                           Column("DT", "Datetime", "datetime", "E8601DT26.6"),
                                           Column("T", "Time", "time", "TIME8.")])


def _non_ascii() -> Dataset:
    frame = pd.DataFrame({"K": ["두통", "Alzheimer\u2019s", None, "plain"], "N": [1.0, 2.0, None, 4.0]})
    return Dataset("KOR", "Korean text (not for a submission)", frame, [Column("K", "Text"), Column("N", "N", "float")])


EDGE = {"numbers": _numbers, "texts": _texts, "formats": _formats, "dates": _dates,
        **{f"written-{name}": (lambda name=name: written_datasets()[name]) for name in written_datasets()}}


@pytest.mark.parametrize("name", list(EDGE))
def test_edge_cases_xpt_bytes_are_pyreadstats(name, tmp_path):
    assert_same_xpt(EDGE[name](), tmp_path, ascii_only=name != "texts")


def test_non_ascii_text_bytes_are_pyreadstats(tmp_path):
    assert_same_xpt(_non_ascii(), tmp_path, ascii_only=False)
    assert_same_json(_non_ascii(), tmp_path / "kor.json")


@pytest.mark.parametrize("name", list(EDGE))
def test_edge_cases_dataset_json_bytes_are_the_row_by_row_writers(name, tmp_path):
    ds = EDGE[name]()
    if name == "numbers":  # the row-by-row writer turns infinities into null as well
        assert np.isinf(ds.frame["X"]).any()
    assert_same_json(ds, tmp_path / "x.json")


def test_large_dataset_is_written_in_blocks_with_the_same_bytes(tmp_path, monkeypatch):
    import submission.datasetjson
    import submission.xpt_write

    monkeypatch.setattr(submission.xpt_write, "BLOCK_BYTES", 1000)
    monkeypatch.setattr(submission.datasetjson, "ROWS_PER_BLOCK", 7)
    ds = small()
    ds = Dataset(ds.name, ds.label, pd.concat([ds.frame] * 40, ignore_index=True), ds.columns, ds.keys)
    assert_same_xpt(ds, tmp_path)
    assert_same_json(ds, tmp_path / "ae.json")


def test_what_the_column_writer_does_not_mirror_goes_to_pyreadstat(tmp_path):
    from submission.xpt_write import parse_format, write_member

    assert parse_format("LONGFORMATNAME12.") is None and parse_format("AB") is None
    ds = Dataset("F", "", pd.DataFrame({"X": [1.0]}), [Column("X", "", "float", "LONGFORMATNAME12.")])
    with open(tmp_path / "unused.xpt", "wb") as handle:
        assert write_member(ds, handle, STAMP) is False
    assert_same_xpt(ds, tmp_path)


@pytest.mark.parametrize("fmt, parsed", [("DATE9.", (b"DATE", 9, 0)), ("8.2", (b"", 8, 2)), ("$CHAR20.", (b"$CHAR", 20, 0)),
                                         ("E8601DT19.3", (b"E8601DT", 19, 3)), ("BEST", (b"BEST", 0, 0)),
                                         ("$", (b"$", 0, 0)), ("3", (b"", 3, 0))])
def test_formats_split_as_readstat_splits_them(fmt, parsed):
    from submission.xpt_write import parse_format

    assert parse_format(fmt) == parsed


FORMATS = ["DATE9.", "8.2", ".", "$CHAR20.", "$", "$10.", "Z", "_X", "A1B2", "AB", "A1", "AB1", "$AB", "$A.", "8.2.",
           "DATE9.2", "$CHAR8.2", "A_", "_", "__", "9DATE", "DATE 9.", "LONGFORMATNAME12."]


@pytest.mark.parametrize("fmt", FORMATS)
def test_format_parser_refuses_what_readstat_refuses(fmt, tmp_path):
    """What `parse_format` splits ReadStat accepts, and pyreadstat writes the same bytes for it; what
    it refuses pyreadstat writes or refuses itself (a long name: cut to 8 bytes)."""
    import pyreadstat

    from submission.xpt_write import parse_format

    ds = Dataset("F", "", pd.DataFrame({"X": [1.0]}), [Column("X", "", "float", fmt)])
    try:
        pyreadstat_bytes(ds, tmp_path / "theirs.xpt")
        accepted = True
    except pyreadstat.ReadstatError:
        accepted = False
    if parse_format(fmt) is not None:
        assert accepted
        assert_same_xpt(ds, tmp_path)
    else:
        assert not accepted or fmt == "LONGFORMATNAME12."


def test_ibm_conversion_round_trips_through_the_reader():
    from submission.xpt import ibm_to_float
    from submission.xpt_write import ieee_to_ibm

    values = np.array([0.0, 1.0, -1.0, 0.1, 1 / 3, 1e-70, 1e70, 123.456, -2.0 ** 52, np.nan])
    back = ibm_to_float(ieee_to_ibm(values))
    assert np.array_equal(back, values, equal_nan=True)  # 53 bits fit the 56-bit IBM fraction


# --------------------------------------------------------------------------------------------- define.xml

def test_define_from_memory_is_the_define_from_the_files(bundled, tmp_path):
    import shutil

    from submission.build import write_define

    settings = bundled["settings"]
    memory, files = tmp_path / "memory", tmp_path / "files"
    for folder in (memory, files):
        shutil.copytree(bundled["sdtm_folder"], folder)
    log: list[str] = []
    write_define(memory, SPECS, settings, "SDTM", log, written=bundled["SDTM"])
    write_define(files, SPECS, settings, "SDTM", log)
    for name in ("define.xml", "define.html"):
        assert (memory / name).read_bytes() == (files / name).read_bytes(), name


def test_consistency_check_on_headers_sees_a_file_that_is_not_what_was_written(bundled, tmp_path):
    import shutil

    from submission.build import write_define
    from submission.define.consistency import check_consistency

    folder = tmp_path / "sdtm"
    shutil.copytree(bundled["sdtm_folder"], folder)
    write_define(folder, SPECS, bundled["settings"], "SDTM", [], written=bundled["SDTM"])
    assert check_consistency(folder, datasets=bundled["SDTM"]) == []
    fewer = {**bundled["SDTM"], "AE": Dataset(**{**bundled["SDTM"]["AE"].__dict__,
                                                  "frame": bundled["SDTM"]["AE"].frame.iloc[:-3]})}
    [problem] = check_consistency(folder, datasets=fewer)
    assert problem.file.endswith("ae.xpt") and "records written" in problem.message
    with open(folder / "dm.xpt", "ab") as handle:
        handle.write(b" " * 160)  # two more blank 80-byte records: not what was written
    problems = check_consistency(folder, datasets=bundled["SDTM"])
    assert [Path(p.file).name for p in problems] == ["dm.xpt"]
