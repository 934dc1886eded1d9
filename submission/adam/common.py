"""Derivations shared by the ADaM datasets, one small function each (admiral style).

Dates: ISO 8601 text (SDTM --DTC) in, datetime64 out. Partial dates are imputed only where the
spec's methods say so (MT.ASTDT, MT.AENDT, MT.DTF), and every imputation is flagged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_ISO = r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?"


def require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    """Fail early, naming every missing input column (a bug in the calling code, not bad input)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RuntimeError(f"{what} needs {missing}; the input has {list(frame.columns)}")


def numeric_date(dtc: pd.Series) -> pd.Series:
    """Complete ISO dates (a time part is ignored) as datetime64; NaT when partial or missing."""
    text = dtc.astype(object).where(dtc.notna(), "").astype(str).str.slice(0, 10)
    complete = text.where(text.str.fullmatch(r"\d{4}-\d{2}-\d{2}"), None)
    return pd.to_datetime(complete, format="%Y-%m-%d", errors="coerce")


def _parts(dtc: pd.Series) -> pd.DataFrame:
    text = dtc.astype(object).where(dtc.notna(), "").astype(str)
    parts = text.str.extract(_ISO)
    parts.columns = ["year", "month", "day"]
    return parts


def _earliest(parts: pd.DataFrame) -> pd.Series:
    text = parts["year"] + "-" + parts["month"].fillna("01") + "-" + parts["day"].fillna("01")
    return pd.to_datetime(text.where(parts["year"].notna()), format="%Y-%m-%d", errors="coerce")


def _latest(parts: pd.DataFrame) -> pd.Series:
    month = parts["month"].fillna("12")
    first = pd.to_datetime((parts["year"] + "-" + month + "-01").where(parts["year"].notna()),
                           format="%Y-%m-%d", errors="coerce")
    end_of_month = first + pd.offsets.MonthEnd(0)
    exact = pd.to_datetime((parts["year"] + "-" + month + "-" + parts["day"].fillna("01")).where(
        parts["year"].notna()), format="%Y-%m-%d", errors="coerce")
    return exact.where(parts["day"].notna(), end_of_month)


def imputation_flag(dtc: pd.Series) -> pd.Series:
    """--DTF: 'D' day imputed, 'M' month and day, 'Y' the whole date; null when complete or missing."""
    parts = _parts(dtc)
    flag = pd.Series(None, index=dtc.index, dtype=object)
    flag[parts["year"].notna() & parts["month"].notna() & parts["day"].isna()] = "D"
    flag[parts["year"].notna() & parts["month"].isna()] = "M"
    return flag


def _min(*dates: pd.Series) -> pd.Series:
    return pd.concat(dates, axis=1).min(axis=1)


def impute_start(dtc: pd.Series, *, trtsdt: pd.Series | None = None, end: pd.Series | None = None,
                 caps: tuple[pd.Series, ...] = (), missing_to_trtsdt: bool = False) -> tuple[pd.Series, pd.Series]:
    """Start date and its flag by MT.ASTDT: earliest date allowed, not before the first dose in the
    first dose's month or year (unless the end is before it), never after the end or a cap."""
    parts = _parts(dtc)
    date = _earliest(parts)
    flag = imputation_flag(dtc)
    partial = flag.notna()
    if trtsdt is not None:
        same_month = parts["month"].notna() & (parts["year"].astype(float) == trtsdt.dt.year) & (
            parts["month"].astype(float) == trtsdt.dt.month)
        same_year = parts["month"].isna() & (parts["year"].astype(float) == trtsdt.dt.year)
        end_before = end.notna() & (end < trtsdt) if end is not None else pd.Series(False, index=dtc.index)
        move = partial & (same_month | same_year) & (date < trtsdt) & ~end_before
        date = date.where(~move, trtsdt)
        if missing_to_trtsdt:
            absent = parts["year"].isna() & trtsdt.notna()
            date = date.where(~absent, trtsdt)
            flag = flag.where(~absent, "Y")
            partial = partial | absent
    upper = [c for c in (end, *caps) if c is not None]
    if upper:
        limit = _min(*upper)
        date = date.where(~(partial & limit.notna() & (date > limit)), limit)
    return date, flag


def impute_end(dtc: pd.Series, *, start: pd.Series | None = None, caps: tuple[pd.Series, ...] = ()) -> tuple[pd.Series, pd.Series]:
    """End date and its flag by MT.AENDT: latest date allowed, never after a cap nor before the start."""
    parts = _parts(dtc)
    date = _latest(parts)
    flag = imputation_flag(dtc)
    partial = flag.notna()
    if caps:
        limit = _min(*caps)
        date = date.where(~(partial & limit.notna() & (date > limit)), limit)
    if start is not None:
        date = date.where(~(partial & start.notna() & (date < start)), start)
    return date, flag


def analysis_day(date: pd.Series, reference: pd.Series) -> pd.Series:
    """A--DY: date - reference + 1 on or after the reference, date - reference before; no day 0."""
    days = (date - reference).dt.days
    return days.where(days < 0, days + 1).astype("Int64")


def merge_adsl(frame: pd.DataFrame, adsl: pd.DataFrame, variables: list[str]) -> pd.DataFrame:
    """Add ADSL variables to a frame by USUBJID (ADaM predecessors); the frame keeps its rows and order."""
    require(adsl, ["USUBJID", *variables], "merge_adsl")
    add = adsl.set_index("USUBJID")[variables]
    out = frame.copy()
    for name in variables:
        out[name] = frame["USUBJID"].map(add[name])
    return out


def group(values: pd.Series, cuts: list[float], labels: list[str]) -> pd.Series:
    """Label of the group each value falls in: a value equal to a cut goes to the upper group."""
    index = np.searchsorted(np.asarray(cuts, dtype=float), values.astype("float64").to_numpy(), side="right")
    out = pd.Series(np.asarray(labels, dtype=object)[np.minimum(index, len(labels) - 1)], index=values.index)
    return out.where(values.notna(), None)


def flag(condition: pd.Series, *, no: str | None = None) -> pd.Series:
    """'Y' where the condition holds, `no` (None or 'N') elsewhere."""
    return pd.Series(np.where(condition.fillna(False).astype(bool), "Y", no), index=condition.index, dtype=object)
