"""Mapping algorithms shared by the SDTM domains, one small function each (sdtm.oak style).

Each maps raw values to one SDTM variable: assign through a codelist, convert a raw date to
ISO 8601, number records, compute study days, assign an epoch. Values that no codelist maps
are collected in a `Unmapped` log and reported together at the end of the stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..columns import per_distinct
from ..errors import Problem


@dataclass
class Unmapped:
    """Raw values that no codelist maps, gathered across all domains."""

    entries: list[tuple[str, str, str, int, str, list[int]]] = field(default_factory=list)

    def add(self, dataset: str, variable: str, values: pd.Series, bad: pd.Series, file: str) -> None:
        for value, rows in values[bad].groupby(values[bad], sort=True).groups.items():
            self.entries.append((dataset, variable, str(value), len(rows), file, [int(r) for r in rows[:10]]))

    def problems(self) -> list[Problem]:
        return [
            Problem(file, rows[0] if rows else None, f"{dataset}.{variable}", value,
                    f"no codelist maps this value ({count} record(s); rows {', '.join(map(str, rows))}"
                    f"{' ...' if count > len(rows) else ''})")
            for dataset, variable, value, count, file, rows in self.entries
        ]


def map_codes(values: pd.Series, mapping: dict[str, str], allowed: list[str] | None, *, dataset: str,
              variable: str, file: str, unmapped: Unmapped) -> pd.Series:
    """Raw codes -> submission values through `mapping`; each result must be in `allowed` when given.

    Blank stays missing. A value with no mapping, or mapped outside the spec's codelist, is logged.
    """
    present = values.notna() & values.astype(str).ne("")
    mapped = values.map(mapping)
    bad = present & mapped.isna()
    if allowed is not None:
        bad |= present & mapped.notna() & ~mapped.isin(allowed)
    if bad.any():
        unmapped.add(dataset, variable, values.astype(str), bad, file)
    return mapped.where(present & ~bad, None)


def check_terms(values: pd.Series, allowed: list[str], *, dataset: str, variable: str, file: str,
                unmapped: Unmapped) -> pd.Series:
    """A value assigned or derived in SDTM (not coded on the CRF) must still be in its codelist."""
    present = values.notna()
    bad = present & ~values.isin(allowed)
    if bad.any():
        unmapped.add(dataset, variable, values.astype(str), bad, file)
    return values


def iso_date(raw: pd.Series) -> pd.Series:
    """Raw dates (YYYY-MM-DD, YYYY-MM-UK, YYYY-UK-UK) -> ISO 8601, partial dates kept partial.

    A missing day or month is never invented in SDTM: "2014-03-UK" becomes "2014-03".
    Computed once per distinct date.
    """
    return per_distinct(raw.astype(object).where(raw.notna(), None), _iso_date)


def _iso_date(text: pd.Series) -> pd.Series:
    out = text.str.replace(r"-UK-UK$", "", regex=True).str.replace(r"-UK$", "", regex=True)
    return out.where(text.notna(), None)


def full_dates(dtc: pd.Series) -> pd.Series:
    """datetime64 of the complete dates among ISO strings; NaT where partial or missing.
    Computed once per distinct date."""
    return per_distinct(dtc, _full_dates)


def _full_dates(dtc: pd.Series) -> pd.Series:
    complete = dtc.where(dtc.astype(str).str.fullmatch(r"\d{4}-\d{2}-\d{2}").fillna(False))
    return pd.to_datetime(complete, format="%Y-%m-%d", errors="coerce")


def study_day(dtc: pd.Series, reference: pd.Series) -> pd.Series:
    """SDTMIG --DY: date - reference + 1 on or after the reference, date - reference before it.

    There is no day 0. Missing when either date is partial or missing.
    """
    days = (full_dates(dtc) - full_dates(reference)).dt.days
    out = days.where(days < 0, days + 1)
    return out.astype("Float64").round().astype("Int64")


def sequence(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    """--SEQ: 1, 2, ... within USUBJID after sorting on `by` (stable, so reruns number alike)."""
    order = frame[["USUBJID", *by]].sort_values(["USUBJID", *by], kind="mergesort").index
    seq = pd.Series(np.zeros(len(frame), dtype="int64"), index=frame.index)
    subjects = frame["USUBJID"].loc[order]
    seq.loc[order] = subjects.groupby(subjects, sort=False).cumcount().to_numpy() + 1
    return seq.astype("Int64")


def epoch(dtc: pd.Series, first_dose: pd.Series, last_dose: pd.Series, *, before: str, during: str,
          after: str) -> pd.Series:
    """EPOCH of a date against the subject's first and last dose; missing when the date is partial."""
    when = full_dates(dtc)
    first, last = full_dates(first_dose), full_dates(last_dose)
    out = pd.Series(None, index=dtc.index, dtype=object)
    out[when < first] = before
    out[(when >= first) & ((when <= last) | last.isna())] = during
    out[when > last] = after
    return out.where(when.notna() & first.notna(), None)


def usubjid(studyid: str, subjid: pd.Series) -> pd.Series:
    """USUBJID = STUDYID-SUBJID (SUBJID already holds the site number: 101-001)."""
    return studyid + "-" + subjid.astype(str)
