"""Read a raw EDC extract into typed frames, checking it against the layout.

Every problem is reported with file, row, column and value, all of them in one go: a
data manager fixes the export once, not once per traceback. Checks are vectorised per
column so that a 100,000-subject extract loads in seconds.

A column the layout marks `may_be_absent` (a field added later) may be missing from the file, as
in an older extract: it is then blank in every row. Every other column of the layout is required.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first record row 2,
a blank line is a row of its own and a value with a line break inside quotes stays in its row.
Each frame's index is that row number, so later stages can name the raw row of a record.

The edit checks of `specs/raw/checks.csv` run on the typed frames (submission/raw/checks.py):
their errors refuse the extract with the others, their warnings travel with the extract.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..columns import DistinctColumn
from ..csvio import no_field_limit, read_text
from ..errors import Problem, SubError, shorten
from ..study import StudySettings, load_settings
from .checks import date_bounds as _date_bounds
from .checks import needs_every_form, run_checks
from .layout import Field, Layout, load_layout

# Shown per file, column and kind of problem before the rest are summed up in one line
# (the format checks; an edit check lists every row).
EXAMPLES_PER_CHECK = 20

# ASCII digits only: Python's \d and int() also take fullwidth and other scripts' digits.
_ID = r"^[A-Za-z0-9_\-]+$"
_INT = r"^[+-]?[0-9]+$"
_DECIMAL = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_PDATE = r"^[0-9]{4}-(?:[0-9]{2}-(?:[0-9]{2}|UK)|UK-UK)$"
# int64 holds every whole number of up to 18 digits
_MAX_DIGITS = 18


# Cross-field rules that no single column of the layout can say: (form, flag column, the columns
# of which at least one must be Y exactly when the flag is Y).
FLAG_IFF_ANY = (("AE", "SER", ("SDTH", "SLIFE", "SHOSP", "SDISAB", "SCONG", "SMIE")),)


@dataclass
class RawExtract:
    """The extract: one typed frame per form, indexed by the file's row number; the rows that
    broke a warning-level edit check."""

    frames: dict[str, pd.DataFrame]
    layout: Layout
    folder: Path
    files: dict[str, Path] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)

    def __getitem__(self, form: str) -> pd.DataFrame:
        return self.frames[form]


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

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


def _cell_counts(text: str) -> list[int]:
    """The number of cells of each record (0 for a blank line), as the csv module splits them.

    A line without a quote is a record of its commas plus one cells; only a line with a quote (a
    quoted value may hold commas and line breaks) goes through the csv module, with the lines its
    record takes. Text with a carriage return or a NUL goes through the csv module whole."""
    if "\r" in text or "\x00" in text:
        return _csv_cell_counts(text)
    lines = text.split("\n")
    ended = lines[-1] == ""
    if ended:
        lines.pop()  # the line break that ends the last record
    last = len(lines) - 1
    counts: list[int] = []
    done = 0  # lines before this one are counted
    with no_field_limit():
        for start in [i for i, line in enumerate(lines) if '"' in line]:
            if start < done:
                continue  # inside a quoted value of the record before
            counts += [line.count(",") + 1 if line else 0 for line in lines[done:start]]
            reader = csv.reader(lines[i] + ("\n" if ended or i < last else "") for i in range(start, last + 1))
            counts.append(len(next(reader)))
            done = start + reader.line_num
    counts += [line.count(",") + 1 if line else 0 for line in lines[done:]]
    return counts


def _csv_cell_counts(text: str) -> list[int]:
    with no_field_limit():
        return [len(cells) for cells in csv.reader(io.StringIO(text, newline=""))]


def _records(text: str) -> list[list[str]]:
    with no_field_limit():
        return list(csv.reader(io.StringIO(text, newline="")))


def _parser_problems(name: str, text: str, exc: Exception, width: int, out: _Collector) -> None:
    """Say where a file that pandas cannot split is broken: rows with more cells than the header,
    or a quoted value that is never closed."""
    found = False
    for row, cells in enumerate(_records(text), start=1):
        if len(cells) > width:
            found = True
            out.add(Problem(name, row, None, ",".join(cells[width:]),
                            f"{len(cells)} cells but the header has {width} columns (a comma too many, or a "
                            "value with a comma that is not in quotes?)"))
    match = re.search(r"EOF inside string starting at row (\d+)", str(exc))
    if match:
        found = True
        out.add(Problem(name, int(match.group(1)) + 1, None, None,
                        'a quoted value starts in this row and is never closed (an unmatched ")'))
    if not found:
        text = " ".join(f"not readable as CSV: {exc}".split())
        out.add(Problem(name, None, None, None, shorten(text, 200)))


def _column_name(column: str) -> str | None:
    """A header cell as the column of a message: None when it would break the one-line message
    (the value then shows it, escaped)."""
    return shorten(column) if column.isprintable() else None


def _header_problems(name: str, header: list[str], expected: list[str], out: _Collector,
                     may_be_absent: set[str] = frozenset()) -> bool:
    found = False
    for column in expected:
        if column not in header and column not in may_be_absent:
            out.add(Problem(name, 1, column, None, "column is missing"))
            found = True
    by_upper = {c.upper(): c for c in expected}
    for position, column in enumerate(header, start=1):
        if not column:
            out.add(Problem(name, 1, None, None, f"column {position} of the header has no name"))
            found = True
        elif column not in expected:
            hint = f" (did you mean {by_upper[column.upper()]}?)" if column.upper() in by_upper else ""
            out.add(Problem(name, 1, _column_name(column), column, f"unknown column (not in the raw layout){hint}"))
            found = True
    seen: dict[str, list[int]] = {}
    for position, column in enumerate(header, start=1):
        if column:
            seen.setdefault(column, []).append(position)
    for column, positions in seen.items():
        if len(positions) > 1:
            out.add(Problem(name, 1, _column_name(column), None if column.isprintable() else column,
                            f"column appears {len(positions)} times in the header (columns "
                            f"{', '.join(map(str, positions))})"))
            found = True
    return found


def _read_form(path: Path, fields: list[Field], encoding: str, out: _Collector) -> pd.DataFrame | None:
    name = str(path)
    text, problem = read_text(path, encoding)
    if problem:
        out.add(problem)
        return None
    if not text:
        out.add(Problem(name, None, None, None, "file is empty (0 bytes; no header row)"))
        return None
    if not text.strip():
        out.add(Problem(name, None, None, None, "file holds only blank lines (no header row)"))
        return None
    expected = [f.column for f in fields]
    end = min((i for i in (text.find("\n"), text.find("\r")) if i >= 0), default=len(text))
    first_line = text[:end]
    if not first_line.strip():
        out.add(Problem(name, 1, None, None, "row 1 is blank: the header row must be the first line"))
        return None
    if "\x00" in first_line:
        out.add(Problem(name, 1, None, None,
                        "the header row holds NUL bytes: binary data or UTF-16 text, not a CSV text file"))
        return None
    if "," not in first_line and len(expected) > 1:
        for sep, sep_name in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
            if sep in first_line:
                out.add(Problem(name, 1, None, first_line,
                                f"header is separated by {sep_name}; the extract must be comma-separated"))
                return None
    counts = _cell_counts(text)
    width = counts[0]
    try:
        table = pd.read_csv(io.StringIO(text), header=None, dtype=object, keep_default_na=False,
                            na_filter=False, skip_blank_lines=False)
    except pd.errors.ParserError as exc:
        _parser_problems(name, text, exc, width, out)
        return None
    if len(table) != len(counts) or table.shape[1] != width:
        # pandas and the csv module split the text differently: take the csv module's records
        records = _records(text)
        if any(len(cells) > width for cells in records):
            _parser_problems(name, text, ValueError("rows longer than the header"), width, out)
            return None
        table = pd.DataFrame([cells + [""] * (width - len(cells)) for cells in records], dtype=object)
    header = [str(c).strip() for c in table.iloc[0]]
    if _header_problems(name, header, expected, out, {f.column for f in fields if f.may_be_absent}):
        return None
    data = table.iloc[1:]
    data.columns = header
    data.index = pd.RangeIndex(2, len(table) + 1)
    for column in expected:
        if column not in header:  # a column the layout lets an older extract lack: blank in every row
            data = data.assign(**{column: ""})
            out.warnings.append(Problem(name, None, column, None, "column absent from the file (the layout lets an "
                                                                  "extract lack it): blank in every row"))
    stripped, blank = {}, {}  # each column's values stripped, and where they are blank
    for column in expected:
        distinct = DistinctColumn(data[column])
        values = distinct.values.str.strip()
        stripped[column] = distinct.rows(values)
        blank[column] = distinct.rows(values.eq("")).to_numpy()
    data = pd.DataFrame(stripped, index=data.index)
    cells = pd.Series(counts[1:], index=data.index)
    blank_line = cells.eq(0) | (cells.eq(1) & blank[expected[0]])
    all_blank = pd.Series(np.logical_and.reduce([blank[column] for column in expected]), index=data.index)
    for row in all_blank[all_blank & ~blank_line].index:
        out.add(Problem(name, int(row), expected[0], None,
                        f"empty row: {expected[0]} and every other cell are blank (delete the row)"))
    for row in cells[cells.between(1, width - 1) & ~blank_line & ~all_blank].index:
        missing = header[int(cells[row])]
        out.add(Problem(name, int(row), missing, None,
                        f"only {cells[row]} of {width} cells: the row ends before column {missing} (a broken line?)"))
    if "\x00" in text:
        for column in expected:
            nul = data[column].str.contains("\x00", regex=False)
            out.rows(name, data, nul, column, "NUL character: binary data, not text")
    return data[~all_blank]


def _whole_numbers(values: DistinctColumn, frame: pd.DataFrame, name: str, column: str, out: _Collector) -> pd.Series:
    """ASCII whole numbers that fit int64, exactly (never through a float)."""
    v = values.values
    present = v.ne("")
    ok = present & v.str.fullmatch(_INT)
    out.rows(name, frame, values.rows(present & ~ok), column, "expected a whole number")
    digits = v.where(ok, "").str.lstrip("+-").str.lstrip("0").str.len()
    too_long = ok & digits.gt(_MAX_DIGITS)
    out.rows(name, frame, values.rows(too_long), column,
             f"whole number too large (more than {_MAX_DIGITS} digits)")
    ok &= ~too_long
    number = pd.Series(pd.NA, index=v.index, dtype="Int64")
    if ok.any():
        number[ok] = pd.to_numeric(v[ok]).astype("int64")
    return values.rows(number)


def _decimals(values: DistinctColumn, frame: pd.DataFrame, name: str, column: str, out: _Collector) -> pd.Series:
    """ASCII decimal numbers (an exponent allowed), finite."""
    v = values.values
    present = v.ne("")
    ok = present & v.str.fullmatch(_DECIMAL)
    out.rows(name, frame, values.rows(present & ~ok), column, "expected a number")
    number = pd.to_numeric(v.where(ok), errors="coerce").astype("Float64")
    infinite = ok & ~np.isfinite(number.astype("float64").fillna(0.0))
    out.rows(name, frame, values.rows(infinite), column, "number too large")
    return values.rows(number.where(~infinite))


def _check_form(form: str, frame: pd.DataFrame, fields: list[Field], layout: Layout,
                settings: StudySettings, name: str, out: _Collector, bounds: dict | None = None) -> pd.DataFrame:
    """The form's values typed, every value checked against its field, and the form's own edit checks
    run (those that read no other form); problems and warnings go to `out`. `bounds` collects the
    date bounds by (form, column) for the checks across forms."""
    bounds = {} if bounds is None else bounds
    typed = {}
    for f in fields:
        # each check reads the column's distinct values once (`v`), then flags its rows
        values = DistinctColumn(frame[f.column])
        v = values.values
        blank = values.rows(v.eq(""))
        present = ~blank
        if f.required:
            out.rows(name, frame, blank, f.column, "required value is missing")
        elif f.condition:
            other, wanted = f.condition
            out.rows(name, frame, blank & frame[other].eq(wanted), f.column,
                     f"value is required when {other} is {wanted}")
        if f.type == "id":
            out.rows(name, frame, present & ~values.rows(v.str.fullmatch(_ID)), f.column,
                     "expected an identifier (ASCII letters, digits, '-' and '_')")
        if f.type in {"id", "text"} and f.length:
            out.rows(name, frame, values.rows(v.str.len().gt(f.length)), f.column,
                     f"longer than {f.length} characters")
        if f.type == "code":
            codes = layout.codelists[f.codelist]
            out.rows(name, frame, present & ~values.rows(v.isin(list(codes))), f.column,
                     f"unknown code; codelist {f.codelist} has {', '.join(codes)}")
        if f.type in {"integer", "decimal"}:
            if f.type == "integer":
                number = _whole_numbers(values, frame, name, f.column, out)
            else:
                number = _decimals(values, frame, name, f.column, out)
            out.rows(name, frame, number.lt(0).fillna(False), f.column, "expected a number >= 0")
            typed[f.column] = number
        elif f.type in {"date", "pdate"}:
            pattern = _DATE if f.type == "date" else _PDATE
            form_ok = v.ne("") & v.str.fullmatch(pattern)
            shape = "YYYY-MM-DD" if f.type == "date" else "YYYY-MM-DD, YYYY-MM-UK or YYYY-UK-UK"
            out.rows(name, frame, present & ~values.rows(form_ok), f.column, f"expected a date {shape}")
            earliest, latest = _date_bounds(v.where(form_ok, ""))
            impossible = form_ok & (earliest.isna() | latest.isna())
            out.rows(name, frame, values.rows(impossible), f.column, "not a calendar date")
            typed[f.column] = values.rows(v.where(form_ok & ~impossible, None))
            bounds[(form, f.column)] = (values.rows(earliest), values.rows(latest))
        else:
            typed[f.column] = frame[f.column].where(present, None)
    for flag_form, flag_column, criteria in FLAG_IFF_ANY:
        if form == flag_form:
            any_yes = frame[list(criteria)].eq("Y").any(axis=1)
            flagged = frame[flag_column].eq("Y")
            out.rows(name, frame, flagged & ~any_yes, flag_column,
                     f"{flag_column} is Y but none of {', '.join(criteria)} is Y")
            out.rows(name, frame, ~flagged & frame[flag_column].ne("") & any_yes, flag_column,
                     f"{flag_column} is not Y but one of {', '.join(criteria)} is Y")
    result = pd.DataFrame(typed, index=frame.index)
    own = [c for c in layout.checks if not needs_every_form(c)]
    errors, warnings = run_checks(own, layout, {form: result}, {form: name}, settings.dates.data_cutoff, bounds)
    out.problems += errors
    out.warnings += warnings
    return result


def _check_keys(form: str, frame: pd.DataFrame, layout: Layout, enrolled: pd.Series | None,
                name: str, out: _Collector) -> None:
    per = layout.forms[form].per_subject
    keys = ["SUBJID", "LINE"] if per == "many" else ["SUBJID"]
    complete = frame[keys].notna().all(axis=1)  # a blank key is reported as a missing value
    dup = frame[keys].duplicated(keep="first") & complete
    what = "subject and line" if per == "many" else "subject"
    shown = None
    if per == "many":
        hits = frame.loc[dup, keys]
        shown = hits["SUBJID"].astype(str) + "/" + hits["LINE"].astype(str)
    out.rows(name, frame, dup, keys[-1], f"duplicate {what} (each may appear once in this form)", values=shown)
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
    """Load and check every form of the extract; raise SubError listing every problem.

    The rows that break a warning-level edit check, and the columns the layout lets the files lack
    that they do lack, are in the result's `warnings`.
    """
    raw_dir, specs_dir = Path(raw_dir), Path(specs_dir)
    settings = settings or load_settings(specs_dir)
    layout = layout or load_layout(specs_dir / "raw")
    if raw_dir.exists() and not raw_dir.is_dir():
        raise SubError(Problem(str(raw_dir), None, None, None, "is a file; the raw extract is a folder of CSV files"))
    if not raw_dir.is_dir():
        raise SubError(Problem(str(raw_dir), None, None, None, "raw extract folder not found"))
    out = _Collector()
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, Path] = {}
    bounds: dict = {}
    for form in layout.forms.values():
        path = raw_dir / form.file
        files[form.form] = path
        fields = layout.fields_of(form.form)
        frame = _read_form(path, fields, encoding, out)
        if frame is not None:
            frames[form.form] = _check_form(form.form, frame, fields, layout, settings, str(path), out, bounds)
    enrol = frames.get("ENROL")
    enrolled = enrol["SUBJID"].dropna() if enrol is not None else None
    if enrol is not None and enrol.empty:
        out.add(Problem(str(files["ENROL"]), None, None, None, "no subjects: the file has a header only"))
    for form, frame in frames.items():
        _check_keys(form, frame, layout, enrolled, str(files[form]), out)
    across = [c for c in layout.checks if needs_every_form(c)]
    errors, warnings = run_checks(across, layout, frames, {f: str(p) for f, p in files.items()},
                                  settings.dates.data_cutoff, bounds)
    out.problems += errors
    out.warnings += warnings
    if out.problems:
        raise SubError(out.problems, f"raw extract {raw_dir}: {len(out.problems)} problem(s)")
    return RawExtract(frames=frames, layout=layout, folder=raw_dir, files=files, warnings=out.warnings)
