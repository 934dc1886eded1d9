"""define/_values.py: a column's texts computed once per distinct value give what converting every
value gives (texts, where clauses, lengths, codelist values present)."""

import numpy as np
import pandas as pd
import pytest

from submission.dataset import Column, Dataset
from submission.define._values import (
    FrameTexts,
    as_text,
    column_texts,
    decimals,
    texts,
    where_mask,
)


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "MIXED": np.array([1, 1.0, "1", "", None, "A", True, np.nan, 2.5, "A"], dtype=object),
        "TEXT": ["X", "", None, "Y", "X", "ÄÖ", "Y", "X", None, "long text"],
        "NUM": [1.0, np.nan, 3.0, 1.0, -0.0, 2.25, 0.0, 10.0, np.nan, 1.0],
        "INT": np.array([1, 2, 3, 1, 2, 3, 1, 2, 3, 4], dtype="int64"),
        "FLAG": np.array([True, False] * 5),
        "DATE": pd.to_datetime(["2024-01-02", None, "2024-01-02", "2024-03-04", None,
                                "2024-01-02", "2024-05-06", None, "2024-03-04", "2024-01-02"]),
        "NULLABLE": pd.array([1, None, 2, 2, None, 1, 1, 3, None, 2], dtype="Int64"),
        "STRING": pd.array(["a", None, "b", "", "a", "b", None, "c", "a", "a"], dtype="string"),
    }, index=[10, 11, 12, 13, 14, 15, 16, 17, 18, 19])


def _converted_one_by_one(series: pd.Series) -> list:
    if pd.api.types.is_datetime64_any_dtype(series):
        return [None if pd.isna(v) else pd.Timestamp(v).isoformat() for v in series]
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else as_text(v)
            for v in series.astype(object)]


@pytest.mark.parametrize("column", list(_frame().columns))
def test_texts_are_each_value_converted(column):
    frame = _frame()
    out = texts(frame[column])
    assert list(out.index) == list(frame.index)
    assert out.tolist() == _converted_one_by_one(frame[column])
    rows = np.array([True, False, True, True, False, True, False, True, True, False])
    expected = {t for t, keep in zip(_converted_one_by_one(frame[column]), rows) if keep and t is not None}
    assert column_texts(frame[column]).present(rows) == expected
    assert column_texts(frame[column]).series(frame.index, rows).tolist() == \
        [t for t, keep in zip(_converted_one_by_one(frame[column]), rows) if keep]


def test_longest_and_text_length():
    frame = _frame()
    ds = Dataset("T", "t", frame[["TEXT", "MIXED"]], [Column("TEXT", "t"), Column("MIXED", "m")])
    shared = FrameTexts(ds.frame)
    assert shared.text_length("TEXT", ds.text_length) == ds.text_length("TEXT") == 9
    assert shared("TEXT").longest(np.array([False] * 5 + [True] + [False] * 4)) == 4  # "ÄÖ" in UTF-8
    assert not shared("MIXED").plain  # not only str: measured by Dataset.text_length
    assert shared.text_length("MIXED", lambda name: -1) == -1
    assert _frame()["MIXED"].notna().sum() == 8  # the frame really holds the mixture
    assert shared("TEXT") is shared("TEXT")  # converted once


def _where_one_by_one(frame, checks):
    """where_mask as it was: every check on every row's text."""
    def number(t):
        try:
            return float(t) if t is not None else None
        except ValueError:
            return None
    mask = []
    for i in range(len(frame)):
        ok = True
        for variable, comparator, values in checks:
            text = _converted_one_by_one(frame[variable])[i]
            wanted = [None if v is None else str(v) for v in values]
            numbers = bool(wanted) and all(number(v) is not None for v in wanted)
            if comparator in ("EQ", "IN"):
                hit = text in wanted or (text is None and any(v in ("", None) for v in wanted))
                hit = hit or (numbers and number(text) is not None and number(text) in [number(v) for v in wanted])
            elif comparator in ("NE", "NOTIN"):
                hit = text not in wanted and not (numbers and number(text) in [number(v) for v in wanted])
            else:
                limit, value = number(wanted[0]) if wanted else None, number(text)
                hit = limit is not None and value is not None and {
                    "LT": value < limit, "LE": value <= limit, "GT": value > limit, "GE": value >= limit}[comparator]
            ok = ok and hit
        mask.append(ok)
    return mask


@pytest.mark.parametrize("checks", [
    [("MIXED", "EQ", ["1"])], [("MIXED", "IN", ["A", ""])], [("MIXED", "NE", ["1"])], [("TEXT", "NOTIN", ["X", "Y"])],
    [("NUM", "GE", ["1"])], [("NUM", "LT", ["2.5"])], [("INT", "LE", ["2"])], [("FLAG", "EQ", ["1"])],
    [("DATE", "EQ", ["2024-01-02T00:00:00"])], [("NULLABLE", "IN", ["1", "3"])], [("NUM", "GT", ["x"])],
    [("TEXT", "EQ", ["X"]), ("INT", "NE", ["2"])],
])
def test_where_mask_decides_each_distinct_text_as_each_row(checks):
    frame = _frame()
    expected = _where_one_by_one(frame, checks)
    for values in (None, FrameTexts(frame)):
        mask = where_mask(frame, checks, values)
        assert list(mask.index) == list(frame.index)
        assert mask.tolist() == expected, checks
    shared = FrameTexts(frame)
    assert shared.where(checks).tolist() == expected
    assert shared.where([(v, c, list(values)) for v, c, values in checks]) is shared.where(checks)  # computed once
    assert where_mask(frame, [("ABSENT", "EQ", ["1"])]) is None
    assert shared.where([("ABSENT", "EQ", ["1"])]) is None


def test_decimals_over_distinct_values():
    assert decimals(pd.Series([1.5, 1.25, 1.5, np.nan, 3.0, 0.125, 0.125])) == 3
    assert decimals(pd.Series(["1.50", 2, None], dtype=object)) == 1
    assert decimals(pd.Series([], dtype=float)) == 0
