"""Comparing data values with define-level text: codelist terms and where-clause checks.

A codelist term or a where-clause value is text ("1", "Y"); the data holds text or numbers
(1.0 after an XPT round trip). Both sides are brought to one text form before comparing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

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


def texts(series: pd.Series) -> pd.Series:
    """The column as `as_text` values (None for missing), converting each distinct value once."""
    if pd.api.types.is_datetime64_any_dtype(series):
        codes, uniques = pd.factorize(series)
        converted = [pd.Timestamp(v).isoformat() for v in uniques]
    else:
        codes, uniques = pd.factorize(series.astype(object))
        converted = [as_text(v) for v in uniques]
    lookup = np.array([*converted, None], dtype=object)  # code -1 (missing) takes the last entry
    return pd.Series(lookup[codes], index=series.index, dtype=object)


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def where_mask(frame: pd.DataFrame, checks: Sequence[tuple[str, str, Sequence[str]]]) -> pd.Series | None:
    """Rows of `frame` meeting every (variable, comparator, values) check; None when a variable is absent.

    Several checks are joined by AND, as Define-XML reads the RangeChecks of one WhereClauseDef.
    """
    mask = pd.Series(True, index=frame.index)
    for variable, comparator, values in checks:
        if variable not in frame.columns:
            return None
        column = texts(frame[variable])
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
                hit = pd.Series(False, index=frame.index)
            else:
                op = {"LT": numbers.lt, "LE": numbers.le, "GT": numbers.gt, "GE": numbers.ge}[comparator]
                hit = op(limit).fillna(False).astype(bool)
        else:
            raise ValueError(f"unknown comparator {comparator!r}")
        mask &= hit.astype(bool)
    return mask


def _all_numbers(values: Sequence[str | None]) -> bool:
    return bool(values) and all(_number(v) is not None for v in values)


def decimals(values: pd.Series) -> int:
    """The most digits after the decimal point among the numbers present (ODM SignificantDigits)."""
    most = 0
    for value in values.dropna():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isnan(number) or math.isinf(number) or number.is_integer():
            continue
        text = f"{round(number, 10):.10f}".rstrip("0")
        most = max(most, len(text.split(".")[1]) if "." in text else 0)
    return most
