"""A dataset with its attributes: the unit every stage hands to the writers and checkers.

Frames carry values; `Column` carries what XPT and define.xml need to know about each
variable. Kinds: `text` (character), `integer` and `float` (numeric), `date`, `datetime`
and `time` (numeric SAS dates, datetimes and times shown with a format such as DATE9.;
dates and datetimes are held in memory as datetime64, times as seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

Kind = Literal["text", "integer", "float", "date", "datetime", "time"]


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: Kind = "text"
    format: str | None = None

    @property
    def numeric(self) -> bool:
        return self.kind != "text"


@dataclass
class Dataset:
    name: str
    label: str
    frame: pd.DataFrame
    columns: list[Column]
    keys: list[str] = field(default_factory=list)
    # Where each record came from (e.g. "ae.csv row 12"), aligned with `frame`, for messages only.
    provenance: pd.Series | None = None

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if list(self.frame.columns) != names:
            self.frame = self.frame.reindex(columns=names)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def text_length(self, name: str) -> int:
        """The longest value of a character variable, in bytes (at least 1, as XPT requires).

        A column of str (the usual case) is measured on its distinct values: the same number without
        a pass of Python over every record.
        """
        values = self.frame[name]
        if isinstance(values.dtype, pd.StringDtype) or (
                values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")):
            distinct = pd.factorize(values.to_numpy())[1].tolist()  # missing values are left out
            if "".join(distinct).isascii():
                return max(1, max(map(len, distinct), default=0))
            return max(1, max((len(v.encode("utf-8")) for v in distinct), default=0))
        return max(1, int(byte_lengths(values.dropna().astype(str)).max(initial=0)))


def byte_lengths(text: pd.Series):
    """UTF-8 byte length of each value; for all-ASCII text (the usual case) that is its length,
    which pandas computes without encoding every value."""
    if text.empty:
        return text.str.len().to_numpy()
    if text.str.isascii().all():
        return text.str.len().to_numpy()
    return text.str.encode("utf-8").str.len().to_numpy()
