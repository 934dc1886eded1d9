"""Derivations shared by the ADaM datasets, one small function each (admiral style).

Dates: ISO 8601 text (SDTM --DTC) in, datetime64 out. Partial dates are imputed only where the
spec's methods say so (MT.ASTDT, MT.AENDT, MT.DTF), and every imputation is flagged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..columns import DistinctColumn
from ..columns import per_distinct as _per_distinct

_ISO = r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?"


def require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    """Fail early, naming every missing input column (a bug in the calling code, not bad input)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RuntimeError(f"{what} needs {missing}; the input has {list(frame.columns)}")


def numeric_date(dtc: pd.Series) -> pd.Series:
    """Complete ISO dates (a time part is ignored) as datetime64; NaT when partial or missing.
    Each distinct text is parsed once."""
    return _per_distinct(dtc, _complete_dates)


def _complete_dates(dtc: pd.Series) -> pd.Series:
    text = _text(dtc).str.slice(0, 10)
    complete = text.where(text.str.fullmatch(r"\d{4}-\d{2}-\d{2}"), None)
    return pd.to_datetime(complete, format="%Y-%m-%d", errors="coerce")


def _parts(dtc: pd.Series) -> pd.DataFrame:
    """Year, month and day of ISO dates (text; missing where absent), each distinct text read once."""
    text = DistinctColumn(_text(dtc))
    parts = text.values.str.extract(_ISO)
    parts.columns = ["year", "month", "day"]
    return parts.take(text.codes).set_axis(text.index)


def _text(dtc: pd.Series) -> pd.Series:
    """Dates as text, blank where missing."""
    return dtc.astype(object).where(dtc.notna(), "").astype(str)


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
    position = pd.Index(adsl["USUBJID"]).get_indexer(frame["USUBJID"])  # -1: subject not in ADSL
    found = position >= 0
    out = frame.copy(deep=False)
    for name in variables:
        source = adsl[name]
        taken = source.iloc[np.where(found, position, 0)].to_numpy() if len(source) else np.full(len(frame), None)
        column = pd.Series(taken, index=frame.index, dtype=source.dtype if len(source) else object)
        out[name] = column.where(found)
    return out


def group(values: pd.Series, cuts: list[float], labels: list[str]) -> pd.Series:
    """Label of the group each value falls in: a value equal to a cut goes to the upper group."""
    index = np.searchsorted(np.asarray(cuts, dtype=float), values.astype("float64").to_numpy(), side="right")
    out = pd.Series(np.asarray(labels, dtype=object)[np.minimum(index, len(labels) - 1)], index=values.index)
    return out.where(values.notna(), None)


def flag(condition: pd.Series, *, no: str | None = None) -> pd.Series:
    """'Y' where the condition holds, `no` (None or 'N') elsewhere."""
    return pd.Series(np.where(condition.fillna(False).astype(bool), "Y", no), index=condition.index, dtype=object)


def round_half_up(values: pd.Series, decimals: int) -> pd.Series:
    """Round half away from zero on the decimal a float stands for (pharmaverse `cards::round5`).

    A relative nudge of 1e-9 puts 2.675 (stored as 2.67499999...) on the side a hand calculation
    puts it; numpy's own rounding is half to even on the binary value."""
    x = values.astype("float64").to_numpy()
    factor = 10.0 ** decimals
    scaled = np.abs(x) * factor
    rounded = np.floor(scaled + 0.5 + 1e-9 * np.maximum(scaled, 1.0)) / factor
    return pd.Series(np.sign(x) * rounded + 0.0, index=values.index)


def date_bounds(dtc: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The earliest and the latest date an ISO date (complete or partial) allows; NaT when missing."""
    parts = _parts(dtc)
    return _earliest(parts), _latest(parts)


def per_distinct(function, values: pd.Series) -> pd.Series:
    """`function` applied once per distinct value and mapped back: dates repeat a great deal, so
    a date derivation over 500,000 records parses a few thousand strings instead."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    result = function(pd.Series(uniques, dtype=object))
    taken = result.take(np.where(codes < 0, 0, codes)) if len(uniques) else pd.Series(
        pd.NaT, index=range(len(values)), dtype="datetime64[ns]")
    out = pd.Series(taken.to_numpy(), index=values.index)
    return out.where(codes >= 0)


def numeric_dates(dtc: pd.Series) -> pd.Series:
    """`numeric_date` parsed once per distinct value (large frames)."""
    return pd.to_datetime(per_distinct(numeric_date, dtc))


def latest_date_per_subject(sources: list[tuple[pd.DataFrame, list[str]]], *, by: str = "USUBJID") -> pd.Series:
    """Per subject, the latest complete date among the ISO date columns of the sources (partial
    dates are not used), as a datetime64 Series indexed by `by`."""
    pieces = []
    for frame, columns in sources:
        require(frame, [by, *columns], "latest_date_per_subject")
        for column in columns:
            dates = numeric_dates(frame[column])
            keep = dates.notna().to_numpy()
            pieces.append(pd.DataFrame({by: frame[by].to_numpy()[keep], "date": dates.to_numpy()[keep]}))
    if not pieces:
        return pd.Series(dtype="datetime64[ns]")
    stacked = pd.concat(pieces, ignore_index=True)
    return stacked.groupby(by, sort=False)["date"].max()


def merge_subject_values(frame: pd.DataFrame, source: pd.DataFrame, values: dict[str, str], *,
                         order: list[str] | None = None, last: bool = False, by: str = "USUBJID") -> pd.DataFrame:
    """Add `values` (new name -> source column) from one record per subject of `source` (admiral
    `derive_vars_merged`): the first (or `last`) record in `order`; the frame keeps its rows."""
    require(source, [by, *values.values(), *(order or [])], "merge_subject_values")
    chosen = source
    if order:
        chosen = chosen.sort_values(order, kind="mergesort", na_position="first" if last else "last")
    chosen = chosen.drop_duplicates(by, keep="last" if last else "first")
    position = pd.Index(chosen[by]).get_indexer(frame[by])
    found = position >= 0
    out = frame.copy()
    for new, column in values.items():
        if len(chosen):
            taken = pd.Series(chosen[column].take(np.where(found, position, 0)).to_numpy(), index=frame.index)
        else:
            taken = pd.Series(index=frame.index, dtype=chosen[column].dtype)
        text = taken.dtype == object or pd.api.types.is_string_dtype(taken.dtype)
        # text stays object with None for blank, as the SDTM frames hold it
        out[new] = taken.astype(object).where(found, None) if text else taken.where(found)
    return out


def exist_flag(frame: pd.DataFrame, source: pd.DataFrame, *, no: str | None = "N", by: str = "USUBJID") -> pd.Series:
    """'Y' for the frame's subjects with at least one record in `source` (already filtered), `no` otherwise."""
    require(source, [by], "exist_flag")
    return flag(frame[by].isin(source[by]), no=no)


def on_treatment(start: pd.Series, end: pd.Series, trtsdt: pd.Series, trtedt: pd.Series, days_after: int) -> pd.Series:
    """True where a use from `start` to `end` overlaps the on-treatment window TRTSDT to TRTEDT +
    `days_after` (MT.ADCM.ONTRTFL): a missing start counts as before the window's end, a missing end
    as ongoing. False for subjects without a dose (TRTSDT missing)."""
    window_end = trtedt + pd.to_timedelta(days_after, unit="D")
    starts_in_time = start.isna() | (start <= window_end)
    ends_after = end.isna() | (end >= trtsdt)
    return (trtsdt.notna() & starts_in_time & ends_after).fillna(False).astype(bool)


def _impute_incomplete(dtc: pd.Series, impute, **arguments) -> tuple[pd.Series, pd.Series]:
    """`impute` (impute_start or impute_end) run on the records whose date is not complete, the
    numeric date kept for the others: a complete date needs no imputation, and parsing partial
    dates is what costs time on a million records (so each distinct text is parsed once). Series
    arguments (alone or in a tuple) are cut to those records."""
    codes, texts = pd.factorize(dtc.astype(object).to_numpy())
    parsed = numeric_date(pd.Series(texts, dtype=object)).to_numpy(dtype="datetime64[us]")
    date = pd.Series(np.append(parsed, np.datetime64("NaT", "us"))[codes], index=dtc.index)  # code -1: missing
    dtf = pd.Series(None, index=dtc.index, dtype=object)
    todo = date.isna().to_numpy()
    if not todo.any():
        return date, dtf

    def cut(value):
        if isinstance(value, pd.Series):
            return value[todo]
        if isinstance(value, tuple):
            return tuple(cut(v) for v in value)
        return value

    imputed, imputed_flag = impute(dtc[todo], **{name: cut(value) for name, value in arguments.items()})
    return date.where(~todo, imputed.reindex(dtc.index)), dtf.where(~todo, imputed_flag.reindex(dtc.index))


def derive_vars_astdt(frame: pd.DataFrame, *, dtc: str, end_dtc: str | None = None, first_dose: str | None = None,
                      missing_to_first_dose: bool = False, caps: tuple[str, ...] = ("DTHDT", "DCUTDT"),
                      new_vars: tuple[str, str] = ("ASTDT", "ASTDTF")) -> pd.DataFrame:
    """Add ASTDT and ASTDTF from a start --DTC (MT.ASTDT, MT.DTF).

    A partial date goes to the earliest date it allows. With `first_dose` (ADAE, ADCM), a partial
    date in the month (or year) of the first dose goes to the first dose unless the record ended
    before it; with `missing_to_first_dose` (ADAE) a missing date goes to the first dose. An imputed
    date is never after the end (`end_dtc`, a partial end taken at its latest) nor after the `caps`."""
    require(frame, [dtc, *[c for c in (end_dtc, first_dose) if c], *caps], "derive_vars_astdt")
    limits = tuple(frame[c] for c in caps)
    end = None
    if end_dtc is not None:
        # "ended before the first dose" needs the latest end the record allows, not only a complete one
        end, _ = _impute_incomplete(frame[end_dtc], impute_end, caps=limits)
    date, dtf = _impute_incomplete(frame[dtc], impute_start, trtsdt=frame[first_dose] if first_dose else None,
                                   end=end, caps=limits, missing_to_trtsdt=missing_to_first_dose)
    return frame.assign(**{new_vars[0]: date, new_vars[1]: dtf})


def derive_vars_aendt(frame: pd.DataFrame, *, dtc: str, start: str | None = "ASTDT",
                      caps: tuple[str, ...] = ("DTHDT", "DCUTDT"),
                      new_vars: tuple[str, str] = ("AENDT", "AENDTF")) -> pd.DataFrame:
    """Add AENDT and AENDTF from an end --DTC (MT.AENDT, MT.DTF): a partial date at the latest date
    it allows, never after the `caps` nor before `start`; a missing end (ongoing) stays missing."""
    require(frame, [dtc, *([start] if start else []), *caps], "derive_vars_aendt")
    date, dtf = _impute_incomplete(frame[dtc], impute_end, start=frame[start] if start else None,
                                   caps=tuple(frame[c] for c in caps))
    return frame.assign(**{new_vars[0]: date, new_vars[1]: dtf})


def derive_vars_ady(frame: pd.DataFrame, *, reference: str = "TRTSDT",
                    days: dict[str, str] | None = None) -> pd.DataFrame:
    """Add analysis relative days (MT.ADY), new variable -> date: by default ASTDY from ASTDT and
    AENDY from AENDT."""
    days = days if days is not None else {"ASTDY": "ASTDT", "AENDY": "AENDT"}
    require(frame, [reference, *days.values()], "derive_vars_ady")
    return frame.assign(**{new: analysis_day(frame[date], frame[reference]) for new, date in days.items()})
