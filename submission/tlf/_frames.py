"""Small helpers shared by the ARD builders and the statistics: level order and column checks."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import pandas as pd

from ..errors import Problem, SubError


def require_columns(frame: pd.DataFrame, columns: Iterable[str | None], what: str) -> None:
    """Fail once, naming every missing column, before any computation starts."""
    wanted = [c for c in dict.fromkeys(columns) if c is not None]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise SubError([Problem(what, None, c, None, "required column is missing") for c in missing],
                       f"{what} lacks {len(missing)} required column(s): {', '.join(missing)}")


def is_missing(value) -> bool:
    """None, NaN, NaT or pd.NA (pandas' missing scalars); never a text, even an empty one.

    A Series' `.isna()` is this test on every value: use it for a column (one pass, no call per value).
    """
    if value is None:
        return True
    if isinstance(value, str):  # the common cases first, without pandas
        return False
    if isinstance(value, float):
        return math.isnan(value)
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _sort_key(value):
    # Numbers before text, each in natural order: a mixed column still sorts the same way every time.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def levels_of(values: pd.Series, levels: Sequence | None = None) -> list:
    """The levels of a variable in table order: given, else a categorical's categories, else sorted.

    Missing values are never a level here; callers decide whether to show them.
    """
    if levels is not None:
        return list(levels)
    if isinstance(values.dtype, pd.CategoricalDtype):
        return list(values.cat.categories)
    present = [v for v in pd.unique(values) if not is_missing(v)]
    return sorted(present, key=_sort_key)


def flagged(values: pd.Series, yes="Y") -> pd.Series:
    """A Y/N flag (or a boolean column) as a boolean mask; missing counts as not flagged."""
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).astype(bool)
    if values.dtype == object:  # a hashed lookup: several times faster than == on Python objects, same answer
        return values.isin([yes])
    return values.eq(yes).fillna(False).astype(bool)


def only_columns(frame: pd.DataFrame, *columns: str | None) -> pd.DataFrame:
    """`frame` with only the `columns` it has (None skipped), for an ARD builder that filters its
    input many times: fewer columns to copy each time, the same rows and values. A column the frame
    lacks stays missing, for the builder's own check to name; pass every column the builder reads
    (whether the frame has the population flag decides whether a definition names it)."""
    return frame[[c for c in dict.fromkeys(columns) if c is not None and c in frame.columns]]
