"""Comparing data values with define-level text: codelist terms and where-clause checks.

A codelist term or a where-clause value is text ("1", "Y"); the data holds text or numbers
(1.0 after an XPT round trip). Both sides are brought to one text form before comparing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..columns import small_codes

COMPARATORS = ("EQ", "NE", "LT", "LE", "GT", "GE", "IN", "NOTIN")


def as_text(value: object) -> str | None:
    """One text form per value: None for missing, integral numbers without '.0'."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int | bool):
        return str(int(value))
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return as_text(value.item())
    text = str(value)
    return text if text != "" else None


@dataclass(frozen=True)
class Texts:
    """A column as `as_text` values, each distinct value converted once: row i holds
    `table[codes[i]]`; code -1 (a missing value) takes the last entry, None."""

    codes: np.ndarray
    table: np.ndarray  # object: the text of each distinct value (None for "" and the like), then None
    plain: bool  # every value present is a str (so the texts are the values, "" aside)

    def series(self, index: pd.Index, rows: np.ndarray | None = None) -> pd.Series:
        """The texts of every row (or of the rows where the boolean array `rows` is true)."""
        codes = self.codes if rows is None else self.codes[rows]
        return pd.Series(self.table[codes], index=index if rows is None else index[rows], dtype=object)

    def present(self, rows: np.ndarray | None = None) -> set[str]:
        """The distinct texts of every row (or of the rows selected by `rows`), missing left out."""
        if rows is None:  # every distinct value occurs in some row
            return {t for t in self.table if t is not None}
        seen = np.zeros(len(self.table), dtype=bool)
        seen[self.codes[rows]] = True
        return {t for t in self.table[seen] if t is not None}

    def longest(self, rows: np.ndarray | None = None) -> int:
        """The most UTF-8 bytes among the texts present (0 when none is)."""
        present = self.present(rows)
        if "".join(present).isascii():
            return max(map(len, present), default=0)
        return max((len(t.encode("utf-8")) for t in present), default=0)


def column_texts(series: pd.Series) -> Texts:
    """The column's `Texts`: factorized once, each distinct value converted by `as_text` (dates and
    datetimes as ISO text). Numbers are factorized as numbers and object columns as they are, which
    finds the same distinct values as factorizing the column as objects (1 and 1.0 are one value)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        codes, uniques = pd.factorize(series)
        converted = [pd.Timestamp(v).isoformat() for v in uniques]
        plain = False
    else:
        values = series.to_numpy()
        if values.dtype.kind not in "fiubO":  # extension and other dtypes: as objects, as always
            values = series.astype(object).to_numpy()
        codes, uniques = pd.factorize(values)
        uniques = uniques.tolist() if values.dtype.kind != "O" else uniques
        plain = all(type(v) is str for v in uniques)
        converted = [v or None for v in uniques] if plain else [as_text(v) for v in uniques]
    table = np.array([*converted, None], dtype=object)  # code -1 (missing) takes the last entry
    return Texts(small_codes(codes, len(table)), table, plain)


def texts(series: pd.Series) -> pd.Series:
    """The column as `as_text` values (None for missing), converting each distinct value once."""
    return column_texts(series).series(series.index)


class FrameTexts:
    """The `Texts` of a frame's columns, each computed on first use and kept: the define's items,
    value lists and where clauses and the consistency check of one dataset share them instead of
    converting the same column again. Holds the frame itself (`frame`): use it only for that frame."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._columns: dict[str, Texts] = {}
        self._where: dict[tuple, pd.Series | None] = {}

    def __call__(self, name: str) -> Texts:
        if name not in self._columns:
            self._columns[name] = column_texts(self.frame[name])
        return self._columns[name]

    def text_length(self, name: str, fallback: Callable[[str], int]) -> int:
        """`Dataset.text_length` of the column (its longest value in bytes, at least 1) from its texts
        when it holds only str; `fallback(name)` otherwise. A column only measured is not kept."""
        column = self._columns.get(name) or column_texts(self.frame[name])
        return max(1, column.longest()) if column.plain else fallback(name)

    def where(self, checks: Sequence[tuple[str, str, Sequence[str]]]) -> pd.Series | None:
        """`where_mask` of the frame, computed once per distinct set of checks (the define's value
        lists and the consistency check select the same records)."""
        key = tuple((variable, comparator, tuple(values)) for variable, comparator, values in checks)
        if key not in self._where:
            self._where[key] = where_mask(self.frame, checks, self)
        return self._where[key]


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def where_mask(frame: pd.DataFrame, checks: Sequence[tuple[str, str, Sequence[str]]],
               values: Callable[[str], Texts] | None = None) -> pd.Series | None:
    """Rows of `frame` meeting every (variable, comparator, values) check; None when a variable is absent.

    Several checks are joined by AND, as Define-XML reads the RangeChecks of one WhereClauseDef.
    Each check is decided once per distinct text of its variable; `values` (e.g. a `FrameTexts` of
    `frame`) gives a column's texts when they are already at hand.
    """
    mask = np.ones(len(frame), dtype=bool)
    for variable, comparator, wanted_values in checks:
        if variable not in frame.columns:
            return None
        column = values(variable) if values is not None else column_texts(frame[variable])
        mask &= _hits(pd.Series(column.table, dtype=object), comparator, wanted_values)[column.codes]
    return pd.Series(mask, index=frame.index)


def _hits(column: pd.Series, comparator: str, values: Sequence[str]) -> np.ndarray:
    """Which texts of `column` meet the check (a missing text is None)."""
    wanted = [None if v is None else str(v) for v in values]
    if comparator in ("EQ", "IN"):
        hit = column.isin(wanted) | (column.isna() & any(v in ("", None) for v in wanted))
        if _all_numbers(wanted):  # "1" in a where clause matches 1.0 in the data
            hit |= column.map(_number).isin([_number(v) for v in wanted])
    elif comparator in ("NE", "NOTIN"):
        hit = ~column.isin(wanted)
        if _all_numbers(wanted):
            hit &= ~column.map(_number).isin([_number(v) for v in wanted])
    elif comparator in ("LT", "LE", "GT", "GE"):
        limit = _number(wanted[0]) if wanted else None
        numbers = column.map(_number)
        if limit is None:
            hit = pd.Series(False, index=column.index)
        else:
            op = {"LT": numbers.lt, "LE": numbers.le, "GT": numbers.gt, "GE": numbers.ge}[comparator]
            hit = op(limit).fillna(False).astype(bool)
    else:
        raise ValueError(f"unknown comparator {comparator!r}")
    return hit.to_numpy(dtype=bool)


def _all_numbers(values: Sequence[str | None]) -> bool:
    return bool(values) and all(_number(v) is not None for v in values)


def decimals(values: pd.Series) -> int:
    """The most digits after the decimal point among the numbers present (ODM SignificantDigits),
    looking at each distinct value once."""
    most = 0
    for value in values.dropna().unique():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isnan(number) or math.isinf(number) or number.is_integer():
            continue
        text = f"{round(number, 10):.10f}".rstrip("0")
        most = max(most, len(text.split(".")[1]) if "." in text else 0)
    return most
