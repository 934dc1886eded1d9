"""Per-distinct-value helpers of the raw loader and the SDTM mapping give what the row-by-row
versions give."""

import csv
import io
import itertools

import numpy as np
import pandas as pd

from submission.columns import DistinctColumn, per_distinct
from submission.raw.checks import date_bounds
from submission.raw.load import _cell_counts
from submission.sdtm.common import full_dates, iso_date
from submission.sdtm.dm import _text_extreme
from submission.sdtm.findings import number_text


def _csv_counts(text):
    return [len(cells) for cells in csv.reader(io.StringIO(text, newline=""))]


def test_cell_counts_agree_with_the_csv_module():
    pieces = ["a", ",", '"', "\n", " ", '""', '"x,y"', "\n\n", '"p\nq"', "\r\n"]
    texts = ["", "a", "a\n", "a\n\n", "a,b\n\nc", 'x,"1,2",3\ny,"a\nb",4\n', 'a,"b\n', 'a,b"c,d\n',
             '"a"b,c\n', "a,b\r\nc\r\n"]
    texts += ["".join(p) for p in itertools.product(pieces, repeat=3)]
    for text in texts:
        try:
            expected = _csv_counts(text)
        except csv.Error as exc:
            expected = str(exc)
        try:
            got = _cell_counts(text)
        except csv.Error as exc:
            got = str(exc)
        assert got == expected, repr(text)


def test_distinct_column_keeps_the_dtype():
    column = pd.Series(["b", "a", "b", None], index=[5, 6, 7, 8], dtype=object)
    spread = DistinctColumn(column).apply(lambda v: v.str.upper())
    assert spread.dtype == object
    assert spread.index.tolist() == [5, 6, 7, 8]
    assert spread.tolist()[:3] == ["B", "A", "B"] and pd.isna(spread.iloc[3])
    numbers = pd.Series([1, None, 1], dtype="Int64")
    assert per_distinct(numbers, lambda v: v + 1).tolist() == [2, pd.NA, 2]
    # an object column mixing types is not factorized (1 and 1.0 and True would be one value)
    mixed = pd.Series([1, 1.0, True], dtype=object)
    assert per_distinct(mixed, lambda v: v.map(repr)).tolist() == ["1", "1.0", "True"]


def test_dates_per_distinct_value():
    raw = pd.Series(["2014-03-08", "2014-03-UK", None, "2014-UK-UK", "2014-03-08", "2014-02-30"], dtype=object)
    earliest, latest = date_bounds(raw)
    assert earliest.dt.strftime("%Y-%m-%d").tolist()[:2] == ["2014-03-08", "2014-03-01"]
    assert latest.dt.strftime("%Y-%m-%d").tolist()[:2] == ["2014-03-08", "2014-03-31"]
    assert latest.iloc[3] == pd.Timestamp("2014-12-31") and pd.isna(earliest.iloc[2]) and pd.isna(earliest.iloc[5])
    assert iso_date(raw).tolist()[:4] == ["2014-03-08", "2014-03", None, "2014"]
    full = full_dates(iso_date(raw))
    assert full.notna().tolist() == [True, False, False, False, True, False]


def test_number_text_tells_negative_zero_apart():
    for values in (pd.Series([1.50, -0.0, 0.0, np.nan, 210.0, 1.5]),
                   pd.Series([1.50, -0.0, None, 210.0], dtype="Float64"), pd.Series([], dtype=float)):
        rowwise = values.map(lambda v: None if pd.isna(v) else format(float(v), ".10g"))
        pd.testing.assert_series_equal(number_text(values), rowwise)
    assert number_text(pd.Series([-0.0, 0.0])).tolist() == ["-0", "0"]


def test_first_and_last_date_per_subject_on_ranks():
    dates = pd.Series(["2014-03-08", "2013-12-31", "2014-01-02", "2015-01-01"], dtype=object)
    subjects = pd.Series(["B", "B", "A", "A"], dtype=object)
    for how in ("min", "max"):
        expected = getattr(dates.groupby(subjects), how)()
        got = _text_extreme(dates, subjects, how)
        pd.testing.assert_series_equal(got, expected)
