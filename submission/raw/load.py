"""Read a raw EDC extract into typed frames, checking it against the layout.

Every problem is reported with file, row, column and value, all of them in one go: a
data manager fixes the export once, not once per traceback. Checks are vectorised per
column so that a 100,000-subject extract loads in seconds.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first record row 2.
Each frame's index is that row number, so later stages can name the raw row of a record.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..csvio import read_text
from ..errors import Problem, SubError
from ..study import StudySettings, load_settings
from .layout import Field, Layout, load_layout

# Shown per file, column and kind of problem before the rest are summed up in one line.
EXAMPLES_PER_CHECK = 20

_ID = r"^[A-Za-z0-9_\-]+$"
_INT = r"^[+-]?\d+$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_PDATE = r"^\d{4}-(?:\d{2}-(?:\d{2}|UK)|UK-UK)$"
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


# Cross-field rules that no single column of the layout can say: (form, flag column, the columns
# of which at least one must be Y exactly when the flag is Y).
FLAG_IFF_ANY = (("AE", "SER", ("SDTH", "SLIFE", "SHOSP", "SDISAB", "SCONG", "SMIE")),)


@dataclass
class RawExtract:
    """The extract: one typed frame per form, indexed by the file's row number."""

    frames: dict[str, pd.DataFrame]
    layout: Layout
    folder: Path
    files: dict[str, Path] = field(default_factory=dict)

    def __getitem__(self, form: str) -> pd.DataFrame:
        return self.frames[form]


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def rows(self, file: str, frame: pd.DataFrame, mask: pd.Series, column: str, message: str,
             values: pd.Series | None = None) -> None:
        """Add one problem per flagged row (the first few), then one line counting the rest."""
        hits = mask[mask.fillna(False).astype(bool)].index
        if len(hits) == 0:
            return
        values = frame[column] if values is None else values
        for row in hits[:EXAMPLES_PER_CHECK]:
            self.problems.append(Problem(file, int(row), column, _show(values.get(row)), message))
        if len(hits) > EXAMPLES_PER_CHECK:
            self.problems.append(Problem(file, None, column, None,
                                         f"{len(hits) - EXAMPLES_PER_CHECK} more rows: {message}"))

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)


def _show(value: object) -> str | None:
    if value is None or value == "" or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return str(value)


def _read_form(path: Path, fields: list[Field], encoding: str, out: _Collector) -> pd.DataFrame | None:
    name = str(path)
    text, problem = read_text(path, encoding)
    if problem:
        out.add(problem)
        return None
    if not text.strip():
        out.add(Problem(name, None, None, None, "file is empty (no header row)"))
        return None
    expected = [f.column for f in fields]
    first_line = text.split("\n", 1)[0].rstrip("\r")
    if "," not in first_line and len(expected) > 1:
        for sep, sep_name in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
            if sep in first_line:
                out.add(Problem(name, 1, None, first_line[:60],
                                f"header is separated by {sep_name}; the extract must be comma-separated"))
                return None
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=object, keep_default_na=False, na_filter=False,
                            skip_blank_lines=True)
    except pd.errors.ParserError as exc:
        out.add(Problem(name, None, None, None, f"not readable as CSV: {exc}".strip()))
        return None
    except pd.errors.EmptyDataError:
        out.add(Problem(name, None, None, None, "file is empty (no header row)"))
        return None
    frame.columns = [str(c).strip() for c in frame.columns]
    header_problems = False
    for column in expected:
        if column not in frame.columns:
            out.add(Problem(name, 1, column, None, "column is missing"))
            header_problems = True
    for column in frame.columns:
        if column not in expected:
            shown = column if not column.startswith("Unnamed:") else ""
            out.add(Problem(name, 1, shown or None, shown or None,
                            "unknown column (not in the raw layout)" if shown else "a column without a name"))
            header_problems = True
    if frame.columns.duplicated().any():
        header_problems = True
    if header_problems:
        return None
    frame = frame[expected]
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    return frame.apply(lambda s: s.str.strip())


def _date_bounds(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Earliest and latest calendar date a (partial) date can stand for; NaT where blank."""
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


def _check_form(form: str, frame: pd.DataFrame, fields: list[Field], layout: Layout,
                settings: StudySettings, name: str, out: _Collector) -> pd.DataFrame:
    cutoff = pd.Timestamp(settings.dates.data_cutoff)
    typed = {}
    bounds: dict[str, tuple[pd.Series, pd.Series]] = {}
    for f in fields:
        values = frame[f.column]
        blank = values.eq("")
        present = ~blank
        if f.required:
            out.rows(name, frame, blank, f.column, "required value is missing")
        elif f.condition:
            other, wanted = f.condition
            out.rows(name, frame, blank & frame[other].eq(wanted), f.column,
                     f"value is required when {other} is {wanted}")
        if f.type in {"id", "text", "code"}:
            out.rows(name, frame, present & values.str.contains(_CONTROL, regex=True), f.column,
                     "control character in text")
        if f.type == "id":
            out.rows(name, frame, present & ~values.str.fullmatch(_ID), f.column,
                     "expected an identifier (ASCII letters, digits, '-' and '_')")
        if f.type in {"id", "text"} and f.length:
            out.rows(name, frame, values.str.len().gt(f.length), f.column,
                     f"longer than {f.length} characters")
        if f.type == "code":
            codes = layout.codelists[f.codelist]
            out.rows(name, frame, present & ~values.isin(list(codes)), f.column,
                     f"unknown code; codelist {f.codelist} has {', '.join(codes)}")
        if f.type in {"integer", "decimal"}:
            if f.type == "integer":
                bad = present & ~values.str.fullmatch(_INT)
                number = pd.to_numeric(values.where(present & ~bad), errors="coerce").astype("Int64")
                out.rows(name, frame, bad, f.column, "expected a whole number")
            else:
                number = pd.to_numeric(values.where(present), errors="coerce").astype("Float64")
                bad = present & number.isna()
                out.rows(name, frame, bad, f.column, "expected a number")
            out.rows(name, frame, number.lt(0).fillna(False), f.column, "expected a number >= 0")
            typed[f.column] = number
        elif f.type in {"date", "pdate"}:
            pattern = _DATE if f.type == "date" else _PDATE
            form_ok = present & values.str.fullmatch(pattern)
            shape = "YYYY-MM-DD" if f.type == "date" else "YYYY-MM-DD, YYYY-MM-UK or YYYY-UK-UK"
            out.rows(name, frame, present & ~form_ok, f.column, f"expected a date {shape}")
            earliest, latest = _date_bounds(values.where(form_ok, ""))
            impossible = form_ok & (earliest.isna() | latest.isna())
            out.rows(name, frame, impossible, f.column, "not a calendar date")
            out.rows(name, frame, earliest.gt(cutoff), f.column,
                     f"date after the data cut-off {settings.dates.data_cutoff.isoformat()}")
            bounds[f.column] = (earliest, latest)
            typed[f.column] = values.where(present, None)
        else:
            typed[f.column] = values.where(present, None)
    for flag_form, flag_column, criteria in FLAG_IFF_ANY:
        if form == flag_form:
            any_yes = frame[list(criteria)].eq("Y").any(axis=1)
            flagged = frame[flag_column].eq("Y")
            out.rows(name, frame, flagged & ~any_yes, flag_column,
                     f"{flag_column} is Y but none of {', '.join(criteria)} is Y")
            out.rows(name, frame, ~flagged & frame[flag_column].ne("") & any_yes, flag_column,
                     f"{flag_column} is not Y but one of {', '.join(criteria)} is Y")
    for f in fields:
        if not f.not_before:
            continue
        if f.column in bounds and f.not_before in bounds:
            before = bounds[f.column][1].lt(bounds[f.not_before][0])
        else:
            before = typed[f.column].lt(typed[f.not_before])
        out.rows(name, frame, before.fillna(False).astype(bool), f.column,
                 f"earlier than {f.not_before} of the same row")
    return pd.DataFrame(typed, index=frame.index)


def _check_keys(form: str, frame: pd.DataFrame, layout: Layout, enrolled: pd.Series | None,
                name: str, out: _Collector) -> None:
    per = layout.forms[form].per_subject
    keys = ["SUBJID", "LINE"] if per == "many" else ["SUBJID"]
    dup = frame.duplicated(subset=keys, keep="first") & frame[keys].notna().all(axis=1)
    what = "subject and line" if per == "many" else "subject"
    out.rows(name, frame, dup, keys[-1], f"duplicate {what} (each may appear once in this form)",
             values=frame[keys].astype(str).agg("/".join, axis=1) if per == "many" else None)
    if enrolled is None:
        return
    if form != "ENROL":
        orphan = frame["SUBJID"].notna() & ~frame["SUBJID"].isin(enrolled)
        out.rows(name, frame, orphan, "SUBJID", "subject is not in enrol.csv")
    if per == "one":
        missing = enrolled[~enrolled.isin(frame["SUBJID"])]
        for subject in missing.head(EXAMPLES_PER_CHECK):
            out.add(Problem(name, None, "SUBJID", subject, "enrolled subject has no row in this form"))
        if len(missing) > EXAMPLES_PER_CHECK:
            out.add(Problem(name, None, "SUBJID", None,
                            f"{len(missing) - EXAMPLES_PER_CHECK} more enrolled subjects have no row in this form"))


def load_extract(raw_dir: Path, specs_dir: Path, *, settings: StudySettings | None = None,
                 layout: Layout | None = None, encoding: str = "utf-8") -> RawExtract:
    """Load and check every form of the extract; raise SubError listing every problem."""
    raw_dir, specs_dir = Path(raw_dir), Path(specs_dir)
    settings = settings or load_settings(specs_dir)
    layout = layout or load_layout(specs_dir / "raw")
    if not raw_dir.is_dir():
        raise SubError(Problem(str(raw_dir), None, None, None, "raw extract folder not found"))
    out = _Collector()
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, Path] = {}
    for form in layout.forms.values():
        path = raw_dir / form.file
        files[form.form] = path
        fields = layout.fields_of(form.form)
        frame = _read_form(path, fields, encoding, out)
        if frame is not None:
            frames[form.form] = _check_form(form.form, frame, fields, layout, settings, str(path), out)
    enrol = frames.get("ENROL")
    enrolled = enrol["SUBJID"].dropna() if enrol is not None else None
    if enrol is not None and enrol.empty:
        out.add(Problem(str(files["ENROL"]), None, None, None, "no subjects: the file has a header only"))
    for form, frame in frames.items():
        _check_keys(form, frame, layout, enrolled, str(files[form]), out)
    if out.problems:
        raise SubError(out.problems, f"raw extract {raw_dir}: {len(out.problems)} problem(s)")
    return RawExtract(frames=frames, layout=layout, folder=raw_dir, files=files)
