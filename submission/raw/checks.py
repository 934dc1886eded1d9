"""The edit checks of `specs/raw/checks.csv`, run on the typed frames of a raw extract.

A check finds every offending row: an error check's rows refuse the extract, a warning
check's rows are listed (build.log, `sub raw check`) and the extract is used as it is.
A check whose limit names another form (FORM.COLUMN) or that compares rows across forms
(consistent) needs every form; the others need only the form they check.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..columns import DistinctColumn, per_distinct
from ..errors import Problem, shorten
from .layout import DATE_TYPES, Check, Field, Layout, limit_kind

# Control characters: C0 (tab, line feed and carriage return included), DEL and C1.
CONTROL = r"[\x00-\x1f\x7f-\x9f]"


def date_bounds(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Earliest and latest calendar date a (partial) date can stand for; NaT where blank.

    Computed once per distinct value (a column holds a few thousand dates) and spread to the rows."""
    values = DistinctColumn(values.fillna("").astype(object))
    earliest, latest = _bounds_of(values.values)
    return values.rows(earliest), values.rows(latest)


def _bounds_of(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    year = values.str.slice(0, 4)
    month = values.str.slice(5, 7)
    day = values.str.slice(8, 10)
    month_known = month.ne("UK")
    day_known = day.ne("UK")
    start_text = year + "-" + month.where(month_known, "01") + "-" + day.where(day_known, "01")
    earliest = pd.to_datetime(start_text, format="%Y-%m-%d", errors="coerce")
    end_month = month.where(month_known, "12")
    month_start = pd.to_datetime(year + "-" + end_month + "-01", format="%Y-%m-%d", errors="coerce")
    month_end = month_start + pd.offsets.MonthEnd(0)
    latest = earliest.where(day_known & month_known, month_end)
    return earliest, latest


def needs_every_form(check: Check) -> bool:
    """True when the check reads another form than the one it reports on."""
    if check.kind == "consistent":
        return True
    if check.kind == "only_when":
        return bool(check.condition[0])
    return any(x is not None and limit_kind(x) == "reference" and "." in x for x in (check.min, check.max))


class _Frames:
    """The typed frames with date bounds computed once per column."""

    def __init__(self, frames: dict[str, pd.DataFrame], cutoff: dt.date, bounds: dict | None):
        self.frames = frames
        self.cutoff = pd.Timestamp(cutoff)
        self._bounds: dict[tuple[str, str], tuple[pd.Series, pd.Series]] = {} if bounds is None else bounds

    def bounds(self, form: str, column: str) -> tuple[pd.Series, pd.Series]:
        key = (form, column)
        if key not in self._bounds:
            self._bounds[key] = date_bounds(self.frames[form][column])
        return self._bounds[key]

    def by_subject(self, form: str, column: str, subjects: pd.Series, part: int | None) -> pd.Series:
        """FORM.COLUMN for each subject in `subjects` (the date bound `part` for a date column)."""
        frame = self.frames[form]
        values = frame[column] if part is None else self.bounds(form, column)[part]
        first = ~frame["SUBJID"].duplicated() & frame["SUBJID"].notna()
        lookup = pd.Series(values[first].to_numpy(), index=frame.loc[first, "SUBJID"].to_numpy())
        return pd.Series(lookup.reindex(subjects.to_numpy()).to_numpy(), index=subjects.index, dtype=lookup.dtype)


def _text(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def _limit(field: Field, limit: str, data: _Frames, frame: pd.DataFrame, part: int | None) -> tuple[pd.Series | object, pd.Series | None, str] | None:
    """(the limit per row or as one value, the limit's text per row or None, its name), or None
    when the limit's form is not loaded."""
    kind = limit_kind(limit)
    if kind == "cutoff":
        return data.cutoff, None, data.cutoff.date().isoformat()
    if kind == "date":
        return pd.Timestamp(limit), None, limit
    if kind == "number":
        return float(limit), None, limit
    other_form, _, column = limit.rpartition(".")
    if other_form:
        if other_form not in data.frames:
            return None
        values = data.by_subject(other_form, column, frame["SUBJID"], part)
        shown = data.by_subject(other_form, column, frame["SUBJID"], None)
        return values, shown, f"{other_form}.{column}"
    if part is None:
        return frame[column], frame[column], column
    return data.bounds(field.form, column)[part], frame[column], column


def _range(check: Check, field: Field, data: _Frames, name: str, out: list[Problem]) -> None:
    frame = data.frames[field.form]
    dates = field.type in DATE_TYPES
    if dates:
        earliest, latest = data.bounds(field.form, field.column)
    else:
        number = frame[field.column].astype("Float64")
    for side in ("min", "max"):
        limit = getattr(check, side)
        if limit is None:
            continue
        # a partial date breaks a limit only when every day it can stand for does
        got = _limit(field, limit, data, frame, (0 if side == "min" else 1) if dates else None)
        if got is None:
            continue
        bound, shown, limit_name = got
        if not dates and isinstance(bound, pd.Series):
            bound = bound.astype("Float64")
        if side == "min":
            broken = (latest < bound) if dates else (number < bound)
            word = "before" if dates else "below"
        else:
            broken = (earliest > bound) if dates else (number > bound)
            word = "after" if dates else "above"
        broken = pd.Series(broken, index=frame.index).fillna(False).astype(bool)
        for row in broken[broken].index:
            detail = f"{word} {limit_name}"
            if shown is not None:
                detail += f" {shorten(_text(shown.get(row)))}"
            out.append(Problem(name, int(row), field.column, _text(frame.at[row, field.column]),
                               f"{check.message} ({detail}) [{check.id}]"))


def _no_control(check: Check, field: Field, data: _Frames, name: str, out: list[Problem]) -> None:
    values = data.frames[field.form][field.column]
    present = values.notna()
    if not present.any():
        return
    hits = per_distinct(values[present], lambda v: v.astype(str).str.contains(CONTROL, regex=True))
    for row in hits[hits].index:
        out.append(Problem(name, int(row), field.column, values.at[row], f"{check.message} [{check.id}]"))


def _only_when(check: Check, field: Field, data: _Frames, name: str, out: list[Problem]) -> None:
    frame = data.frames[field.form]
    values = per_distinct(frame[field.column], lambda v: v.map(_text))
    filled = values.notna() & values.ne("")
    if check.min is not None:
        filled &= values.eq(check.min)
    if not filled.any():
        return
    form, column, code = check.condition
    if form and form != field.form:
        if form not in data.frames:
            return
        condition = per_distinct(data.by_subject(form, column, frame["SUBJID"], None), lambda v: v.map(_text))
    else:
        condition = per_distinct(frame[column], lambda v: v.map(_text))
    broken = filled & condition.ne(code).fillna(True)
    for row in broken[broken].index:
        found = condition.get(row)
        out.append(Problem(name, int(row), field.column, values.get(row),
                           f"{check.message} ({form + '.' if form else ''}{column} is "
                           f"{shorten(found) if found else 'blank'}, not {code}) [{check.id}]"))


def _consistent(check: Check, fields: list[Field], data: _Frames, files: dict[str, str],
                out: list[Problem]) -> None:
    same = check.same_columns
    columns = [check.column, *same]
    parts = []
    for form in dict.fromkeys(f.form for f in fields):
        if form not in data.frames:
            continue
        frame = data.frames[form]
        part = pd.DataFrame({c: frame[c].astype("string") for c in columns}, index=frame.index)
        part = part[part[check.column].notna()].fillna("")
        part["_file"] = files.get(form, form)
        part["_row"] = part.index.astype(int)
        parts.append(part)
    if not parts:
        return
    rows = pd.concat(parts, ignore_index=True)
    if rows.empty:
        return
    rows["_order"] = np.arange(len(rows))
    # the reference combination of a code is its most frequent one (the first of equals)
    combos = (rows.groupby(columns, sort=False).agg(n=("_order", "size"), first=("_order", "min"))
              .reset_index().sort_values(["n", "first"], ascending=[False, True], kind="stable"))
    reference = combos.drop_duplicates(check.column, keep="first").set_index(check.column)
    ref = reference.reindex(rows[check.column])
    ref.index = rows.index
    differs = pd.DataFrame({c: rows[c].ne(ref[c]) for c in same})
    for i in rows.index[differs.any(axis=1)]:
        column = next(c for c in same if differs.at[i, c])
        example = rows.loc[ref.at[i, "first"]]
        out.append(Problem(
            rows.at[i, "_file"], int(rows.at[i, "_row"]), column, rows.at[i, column],
            f"{check.message} ({check.column} {rows.at[i, check.column]} has {column} "
            f"{shorten(ref.at[i, column])!r} in {ref.at[i, 'n']} row(s), e.g. {example['_file']} row "
            f"{example['_row']}) [{check.id}]"))


def run_checks(checks: list[Check], layout: Layout, frames: dict[str, pd.DataFrame], files: dict[str, str],
               cutoff: dt.date, bounds: dict | None = None) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings): every row that breaks one of `checks`, on the forms in `frames`.

    `bounds` caches the date bounds by (form, column) (date_bounds of the typed column).
    """
    data = _Frames(frames, cutoff, bounds)
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for check in checks:
        out = errors if check.severity == "error" else warnings
        targets = [f for f in layout.check_targets(check) if f.form in frames]
        if check.kind == "consistent":
            _consistent(check, targets, data, files, out)
            continue
        for field in targets:
            name = files.get(field.form, field.form)
            if check.kind == "range":
                _range(check, field, data, name, out)
            elif check.kind == "only_when":
                _only_when(check, field, data, name, out)
            else:
                _no_control(check, field, data, name, out)
    return errors, warnings


def warning_lines(warnings: list[Problem]) -> list[str]:
    """The warnings section of `sub raw check` and build.log: every row, one line each."""
    if not warnings:
        return ["edit-check warnings: none"]
    head = (f"edit-check warnings: {len(warnings)} (rows that break a warning-level check of specs/raw/checks.csv, "
            "columns an older extract lacks); "
            "the extract is used as it is:")
    return [head, *(f"  warning: {p}" for p in warnings)]
