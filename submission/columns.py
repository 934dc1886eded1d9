"""A column as codes into its distinct values, so that a file writer encodes each distinct value once.

Datasets repeat their values (a subject's identifier on every record, a handful of codelist terms,
a few hundred dates), so the XPT and Dataset-JSON writers factorize a column once (in C), turn
only its distinct values into bytes or JSON text, and lay the rows out from the codes with numpy
(XPT) or by joining in C (Dataset-JSON). `DistinctValues` keeps the factorizations of one dataset
so that its two files share them. A check or conversion of a column's values does the same:
`map_distinct` (a function of one value), `DistinctColumn` and `per_distinct` (a function of a
Series, run on the distinct values and spread to the rows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .dataset import Dataset


@dataclass(frozen=True)
class Distinct:
    """codes: per row an index into `values`, -1 for a missing value (always an integer array, as
    small as the number of values allows); values: each distinct value once, in order of appearance."""

    codes: np.ndarray
    values: list

    def lookup(self, table: np.ndarray, missing) -> np.ndarray:
        """`table` (one entry per distinct value) with `missing` appended, so `result[codes]` maps -1
        (missing) to `missing`: numpy reads index -1 as the last entry."""
        out = np.empty(len(self.values) + 1, dtype=table.dtype)
        out[:-1] = table
        out[-1] = missing
        return out


def small_codes(codes: np.ndarray, count: int) -> np.ndarray:
    """Codes in the smallest signed integer type that holds count - 1 and -1 (less memory to keep
    and to index with)."""
    for dtype in (np.int8, np.int16, np.int32):
        if count <= np.iinfo(dtype).max:
            return codes.astype(dtype, copy=False)
    return codes.astype(np.int64, copy=False)


def factorize(values: pd.Series | np.ndarray) -> Distinct:
    """Codes and distinct values of a column; NaN, None, NA and NaT are missing (code -1)."""
    if isinstance(values, pd.Series) and (values.dtype == object or isinstance(values.dtype, pd.StringDtype)):
        values = values.to_numpy()  # an object array (no copy for str): factorized faster than the Series
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return Distinct(small_codes(codes, len(uniques)), uniques.tolist())


def plain_text(series: pd.Series) -> bool:
    """True when every value present is a str (a string dtype, or object holding only str and missing
    values): then equal values are equal strings and factorizing loses nothing. An object column
    that mixes in numbers (1, 1.0 and True factorize as one value) is converted value by value."""
    if isinstance(series.dtype, pd.StringDtype):
        return True
    if series.dtype == object:
        return pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")
    return False


def map_distinct(series: pd.Series, fn: Callable) -> pd.Series:
    """`fn` of every value (object results; a missing value gives `fn(None)`): called once per
    distinct value of a plain-text column (`plain_text`), as a column of a million records holds a
    few thousand dates or codes; value by value otherwise."""
    if plain_text(series):
        distinct = factorize(series)
        table = np.empty(len(distinct.values), dtype=object)
        for i, value in enumerate(distinct.values):
            table[i] = fn(value)
        return pd.Series(distinct.lookup(table, fn(None))[distinct.codes], index=series.index, dtype=object)
    missing = series.isna().to_numpy()
    out = np.empty(len(series), dtype=object)
    for i, (value, absent) in enumerate(zip(series, missing)):
        out[i] = fn(None if absent else value)
    return pd.Series(out, index=series.index, dtype=object)


class DistinctColumn:
    """A column as codes into its distinct values, so that a check reads each distinct value once (a
    column of 100,000 rows holds a few thousand dates or codes) and spreads its answer to the rows.
    The distinct values keep the column's dtype, so a check gives what it gives on the column."""

    def __init__(self, column: pd.Series):
        # an object column factorizes faster as its array (no copy)
        codes, distinct = pd.factorize(column.to_numpy() if column.dtype == object else column.array,
                                       use_na_sentinel=False)
        self.codes = codes
        self.index = column.index
        self.values = pd.Series(distinct, dtype=column.dtype)

    def rows(self, per_value: pd.Series) -> pd.Series:
        """A Series of one entry per distinct value, spread to the column's rows (dtype kept)."""
        if isinstance(per_value.dtype, np.dtype):
            return pd.Series(per_value.to_numpy()[self.codes], index=self.index, dtype=per_value.dtype)
        return pd.Series(per_value.array.take(self.codes), index=self.index, dtype=per_value.dtype)

    def apply(self, check) -> pd.Series:
        """`check` (a function of a Series) of the column, computed on the distinct values."""
        return self.rows(check(self.values))


def per_distinct(values: pd.Series, check) -> pd.Series:
    """`check` (a function of a Series, value by value) of a text column, computed once per distinct
    value. Any other column (numbers, or an object column holding more than text: 1, 1.0 and True
    would count as one value) is checked as a whole."""
    text = isinstance(values.dtype, pd.StringDtype) or (
        values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"))
    return DistinctColumn(values).apply(check) if text else check(values)


class DistinctValues:
    """The factorized text columns of one dataset, computed on first use and shared by its writers."""

    def __init__(self, ds: Dataset, known: dict[str, Distinct] | None = None) -> None:
        """`known`: text columns already factorized as `factorize` would (a reader that found them)."""
        self.ds = ds
        self._text: dict[str, Distinct | None] = dict(known or {})

    def text(self, name: str) -> Distinct | None:
        """The column's values as str (missing: code -1), or None when it is not plain text
        (`plain_text`); a writer then converts that column value by value as before."""
        if name not in self._text:
            series = self.ds.frame[name]
            self._text[name] = factorize(series) if plain_text(series) else None
        return self._text[name]
