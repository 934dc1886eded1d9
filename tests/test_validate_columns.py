"""`sub validate`'s column helpers on tiny frames: each faster path gives what the plain one gives.

Member.text/missing/where_text/map_text/text_length work on a column's distinct values; the Dataset-JSON
reader shares one table of the rows between its structure check and the dataset; twins equal as
values are not converted to text; the usual ISO 8601 values skip the calendar check.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from submission.columns import map_distinct
from submission.dataset import Column, Dataset
from submission.datasetjson import (
    dataset_from_json,
    load_json,
    rows_frame,
    structure_problems,
)
from submission.qc.rules import _equal_values, _later, _moment, iso8601_problem, texts
from submission.qc.validate import Member


def member(frame: pd.DataFrame, kinds: dict[str, str]) -> Member:
    ds = Dataset("AE", "Adverse Events", frame, [Column(n, n.title(), kinds.get(n, "text")) for n in frame.columns])
    m = Member("AE", "SDTM", Path("."))
    m.xpt_data = ds
    return m


FRAME = pd.DataFrame({
    "PLAIN": pd.Series(["b", "", None, "b", "é", np.nan, "a"], dtype=object),
    "MIXED": pd.Series(["1", 1, 1.0, True, None, "", 2.5], dtype=object),
    "NUM": [1.0, np.nan, 2.5, 3.0, -0.0, 1e20, np.nan],
    "DT": pd.to_datetime(["2020-01-01", None, "2020-01-02T10:00", "2020-01-01", None, None, "1999-12-31"], format="ISO8601"),
})


@pytest.mark.parametrize("name", list(FRAME.columns))
def test_member_text_helpers_agree_with_the_plain_conversion(name):
    m = member(FRAME.copy(), {"NUM": "float", "DT": "datetime"})
    plain = texts(FRAME[name])
    assert m.text(name).tolist() == plain.tolist()
    assert m.text(name).index.equals(FRAME.index)
    assert m.missing(name).tolist() == plain.isna().tolist()
    allowed = {"b", "1"}
    assert m.where_text(name, lambda v: v is not None and v not in allowed).tolist() == \
        (plain.notna() & ~plain.isin(allowed)).tolist()
    assert m.map_text(name, lambda v: None if v is None else v * 2).tolist() == \
        map_distinct(plain, lambda v: None if v is None else v * 2).tolist()


def test_member_text_length_is_the_dataset_text_length():
    frame = pd.DataFrame({"A": pd.Series(["ab", None, "é", ""], dtype=object), "B": pd.Series([None, None], dtype=object)
                          .reindex(range(4)), "C": pd.Series(["x", 12, None, "yyy"], dtype=object)})
    m = member(frame, {})
    assert [m.text_length(n) for n in "ABC"] == [m.data.text_length(n) for n in "ABC"] == [2, 1, 3]


DOC = {"datasetJSONCreationDateTime": "2020-01-01T00:00:00", "datasetJSONVersion": "1.1.0", "itemGroupOID": "IG.AE",
       "records": 3, "name": "AE", "label": "Adverse Events",
       "columns": [{"itemOID": "IT.A", "name": "A", "label": "A", "dataType": "string"},
                   {"itemOID": "IT.N", "name": "N", "label": "N", "dataType": "integer"},
                   {"itemOID": "IT.D", "name": "D", "label": "D", "dataType": "double"},
                   {"itemOID": "IT.B", "name": "B", "label": "B", "dataType": "boolean"}],
       "rows": [["x", 1, 1.5, True], [None, None, 2, None], ["y", 3, None, False]]}


@pytest.mark.parametrize("column, value, clean", [
    (0, 1, False), (0, math.nan, False), (0, True, False), (1, 1.0, True), (1, 1.5, False), (1, True, False),
    (1, "1", False), (1, math.nan, False), (2, "2", False), (2, True, False), (2, math.inf, True), (3, 1, False),
    (3, "Y", False), (0, None, True), (2, 7, True)])
def test_structure_check_is_the_same_with_the_shared_table_and_the_fast_types(column, value, clean):
    doc = json.loads(json.dumps(DOC))
    doc["rows"][1][column] = value
    expected = structure_problems(doc, "ae.json")
    table = rows_frame(doc)
    assert table is not None and table.shape == (3, 4)
    nan = any(isinstance(v, float) and math.isnan(v) for row in doc["rows"] for v in row)
    assert structure_problems(doc, "ae.json", table, nan=nan) == expected
    assert (expected == []) is clean


def test_rows_frame_is_none_for_rows_that_are_not_arrays_of_one_value_per_column():
    for rows in ([["x", 1, 1.5]], [{"A": 1}], "rows", []):
        assert rows_frame({**DOC, "rows": rows}) is None
    doc = {**DOC, "rows": [["x", 1, 1.5, True], ["y", 2, 2.5]]}
    assert [p.column for p in structure_problems(doc, "ae.json")] == ["records", "rows[1]"]


def test_dataset_from_the_shared_table_is_the_dataset_from_the_rows():
    doc = json.loads(json.dumps(DOC))
    a, b = dataset_from_json(doc, Path("ae.json")), dataset_from_json(doc, Path("ae.json"), rows_frame(doc))
    assert a.frame.equals(b.frame) and list(a.frame.columns) == list(b.frame.columns) and a.columns == b.columns


def test_load_json_names_the_constants_outside_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('[NaN, 1, "NaN", -Infinity]', encoding="utf-8")
    found: set[str] = set()
    values = load_json(path, constants=found)
    assert found == {"NaN", "-Infinity"} and math.isnan(values[0]) and values[1:] == [1, "NaN", -math.inf]
    path.write_text('["NaN", 1]', encoding="utf-8")
    found.clear()
    assert load_json(path, constants=found) == ["NaN", 1] and found == set()


@pytest.mark.parametrize("a, b, equal", [
    (["a", None, "b"], ["a", None, "b"], True),
    (["a", None, "b"], ["a", "", "b"], False),  # not shown equal: the text forms decide (both missing)
    (["1", None], [1, None], False),
    ([1, 2.0], [1.0, 2], True),
    ([float("nan")], [float("nan")], False),  # NaN is not equal to NaN...
    ([math.nan], [math.nan], True),  # ...unless it is the same object: missing either way
])
def test_twin_columns_equal_as_values_have_equal_text_forms(a, b, equal):
    x, y = pd.Series(a, dtype=object), pd.Series(b, dtype=object)
    assert _equal_values(x, y) is equal
    if equal:
        assert texts(x).tolist() == texts(y).tolist()


def test_twin_date_columns_equal_whatever_their_unit():
    x = pd.Series(np.array(["2020-01-01", "NaT"], dtype="datetime64[s]"))
    y = pd.Series(np.array(["2020-01-01", "NaT"], dtype="datetime64[us]"))
    assert _equal_values(x, y) and texts(x).tolist() == texts(y).tolist()
    assert not _equal_values(x, pd.Series(np.array(["2020-01-02", "NaT"], dtype="datetime64[us]")))


@pytest.mark.parametrize("text, why", [("2016", None), ("2016-02-28T23:59:59", None), ("2016-02-29", None),
                                       ("2015-02-29", "day 29 does not exist in 2015-02"),
                                       ("2016-02-28T24:00", "hour 24 does not exist"), ("2016-04-31", "day"),
                                       ("2016-1٣-01", "month")])
def test_iso8601_usual_values_and_the_calendar(text, why):
    found = iso8601_problem(text)
    assert (found is None) if why is None else (found is not None and found.startswith(why))


def test_start_after_end_on_moment_parts():
    start = ["2020-01-02", "2020-01-01T10:00", "2020-01-01T10:00", None, "2020-01-01"]
    end = ["2020-01-01", "2020-01-01T09:00", "2020-01-01T11:00", "2020-01-01", "2020-01-01T00:00"]

    def parts(values):
        moments = [_moment(v) for v in values]
        return (np.array([None if x is None else x[0] for x in moments], dtype=object),
                np.array([None if x is None else x[1] for x in moments], dtype=object))

    assert _later(parts(start), parts(end)).tolist() == [True, True, False, False, False]


@pytest.mark.parametrize("values", [[1.0, np.nan, -0.0, 0.0, 2.5, 1e20, np.inf, 1.0], [3, 1, 3, -2], [True, False, True],
                                    np.array([1, 2, 2], dtype=np.uint8), np.array([0.1, np.nan], dtype=np.float32)])
def test_texts_of_numbers_as_define_texts(values):
    from submission.define._values import texts as define_texts

    series = pd.Series(values, index=range(10, 10 + len(values)))
    assert texts(series).tolist() == define_texts(series).tolist()
    assert texts(series).index.equals(series.index)
    m = member(pd.DataFrame({"X": series.reset_index(drop=True)}), {"X": "float"})
    assert m.missing("X").tolist() == define_texts(series).isna().tolist()


@pytest.mark.parametrize("cell", [[1, 2], {"a": 1}])
def test_an_array_or_object_in_a_cell_is_a_finding_naming_row_and_column_not_a_crash(tmp_path, cell):
    """A Dataset-JSON cell holding an array or object once stopped `sub validate` with an internal
    error (unhashable type) when the XPT and JSON twins were compared; the reader now refuses it, so
    the file is a finding and no twin comparison sees it."""
    from submission.errors import SubError
    from submission.paths import bundled_specs
    from submission.qc.validate import validate
    from submission.xpt import write_xpt

    doc = {"datasetJSONVersion": "1.1.0", "name": "AE", "label": "Adverse Events", "records": 2,
           "columns": [{"itemOID": "IT.AE.AETERM", "name": "AETERM", "label": "Reported Term",
                        "dataType": "string", "length": 8}],
           "rows": [["HEADACHE"], [cell]]}
    with pytest.raises(SubError) as err:
        dataset_from_json(doc, tmp_path / "ae.json")
    problem = err.value.problems[0]
    assert (problem.row, problem.column) == (2, "AETERM")
    assert json.dumps(cell) in problem.message
    (tmp_path / "ae.json").write_text(json.dumps(doc))
    frame = pd.DataFrame({"AETERM": ["HEADACHE", "NAUSEA"]}, dtype=object)
    write_xpt(Dataset("AE", "Adverse Events", frame, [Column("AETERM", "Reported Term", "text")]),
              tmp_path / "ae.xpt", dt.datetime(2026, 1, 1))
    report = validate(tmp_path, bundled_specs())
    assert [f.message for f in report.findings if f.rule == "SUB-SYS-002"] == \
        [f"AETERM: row 2: {json.dumps(cell)} is an array or object, not a value of a column"]
