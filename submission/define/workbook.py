"""The spec as a Pinnacle 21 workbook (.xlsx) and back: `sub spec export` / `sub spec import`.

Regulatory programmers edit specs in Excel; the project keeps them as CSV (readable diffs).
Export copies every CSV cell as text into the sheet of the same name (columns of docs/specs.md,
plus a Define sheet with the study's attributes from study.toml). Import reads a workbook back,
writes the CSVs into a temporary folder, runs the spec's own checks there and replaces the
spec's CSVs only when nothing is wrong; every problem is reported at once by sheet, row and
column of the workbook. Export then import changes no byte.

Cells are always written as text (submission/spreadsheet.py): a value that starts with = + - @ is a
string cell with Excel's quote prefix, so that no spreadsheet ever evaluates it as a formula; a
real formula found on import is a problem, never evaluated. A workbook is opened only after
`open_workbook` checked it (a zip of sane size, no external links, no sheet of millions of cells).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..csvio import read_table
from ..errors import Problem, SubError
from ..spec import SHEETS, check_spec
from ..spreadsheet import open_workbook, set_cell, workbook_bytes
from ..study import StudySettings

# The sheets and their columns in the P21 Define-XML 2.1 workbook's order (docs/specs.md); the
# spec models list the same columns, though not all in this order.
SHEET_COLUMNS: dict[str, list[str]] = {
    "Datasets": ["Dataset", "Label", "Class", "SubClass", "Structure", "Key Variables", "Standard", "Has No Data",
                 "Repeating", "Reference Data", "Comment", "Developer Notes"],
    "Variables": ["Order", "Dataset", "Variable", "Label", "Data Type", "Length", "Significant Digits", "Format",
                  "Mandatory", "Assigned Value", "Codelist", "Common", "Origin", "Source", "Pages", "Method",
                  "Predecessor", "Role", "Has No Data", "Comment", "Developer Notes"],
    "ValueLevel": ["Order", "Dataset", "Variable", "Where Clause", "Label", "Data Type", "Length", "Significant Digits",
                   "Format", "Mandatory", "Assigned Value", "Codelist", "Origin", "Source", "Pages", "Method",
                   "Predecessor", "Comment", "Developer Notes"],
    "WhereClauses": ["ID", "Dataset", "Variable", "Comparator", "Value"],
    "Codelists": ["ID", "Name", "NCI Codelist Code", "Data Type", "Terminology", "Comment", "Order", "Term",
                  "NCI Term Code", "Decoded Value"],
    "Dictionaries": ["ID", "Name", "Data Type", "Dictionary", "Version"],
    "Methods": ["ID", "Name", "Type", "Description", "Expression Context", "Expression Code", "Document", "Pages"],
    "Comments": ["ID", "Description", "Document", "Pages"],
    "Documents": ["ID", "Title", "Href"],
}
DEFINE_SHEET = "Define"
DEFINE_SHEET_ALIASES = (DEFINE_SHEET, "Study")
ARM_SHEETS: dict[str, list[str]] = {
    "Analysis Displays": ["ID", "Title", "Document", "Pages"],
    "Analysis Results": ["Display", "ID", "Description", "Variables", "Reason", "Purpose", "Selection Criteria",
                         "Join Comment", "Documentation", "Documentation Refs", "Programming Context",
                         "Programming Code", "Programming Document", "Pages"],
}
MAX_WIDTH = 60
STANDARDS = {"sdtm": "SDTMIG 3.4", "adam": "ADaMIG 1.3"}


def spec_sheets() -> dict[str, list[str]]:
    """Every CSV sheet of a spec folder and its columns, in workbook order (ARM sheets optional)."""
    for model in SHEETS:  # the spec loader and the workbook must know the same columns
        if sorted(model.columns()) != sorted(SHEET_COLUMNS[model.sheet]):
            raise RuntimeError(f"{model.sheet}: spec.py and the workbook disagree on the columns")
    return {**SHEET_COLUMNS, **ARM_SHEETS}


def define_attributes(settings: StudySettings | None, standard: str) -> list[tuple[str, str]]:
    """The Define sheet: the study attributes define.xml takes from study.toml."""
    standard = standard.lower()
    rows = [("Standard", STANDARDS[standard]), ("DefineVersion", "2.1.0"), ("Context", "Submission")]
    if settings is None:
        return rows
    s, d = settings.study, settings.dictionaries
    ct = d.sdtm_ct_version if standard == "sdtm" else d.adam_ct_version
    return [("StudyName", s.studyid), ("StudyDescription", s.title_en), ("ProtocolName", s.protocol_name),
            ("Sponsor", s.sponsor), *rows, ("ControlledTerminology", f"CDISC/NCI {ct.isoformat()}"),
            ("MedDRA", d.meddra_version), ("WHODrug", d.whodrug_version)]


# --------------------------------------------------------------------------- export

def _read_sheet_csv(path: Path, columns: list[str], problems: list[Problem]) -> list[list[str]]:
    table, read_problems = read_table(path)
    problems.extend(read_problems)
    if table is None:
        return []
    index = {c: i for i, c in enumerate(table.header)}
    for c in table.header:
        if c not in columns:
            problems.append(Problem(str(path), 1, c, None, "unknown column for this sheet"))
    for c in columns:
        if c not in index:
            problems.append(Problem(str(path), 1, c, None, "required column is missing"))
    return [[row[index[c]] if c in index and index[c] < len(row) else "" for c in columns] for row in table.rows]


def _text_cell(ws, row: int, column: int, value: str):
    cell = set_cell(ws, row, column, str(value))  # a string cell, never a formula, whatever the text looks like
    cell.number_format = "@"
    return cell


def _write_table(ws, columns: list[str], rows: list[list[str]]) -> None:
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    widths = [len(c) for c in columns]
    for j, name in enumerate(columns, start=1):
        cell = _text_cell(ws, 1, j, name)
        cell.font, cell.fill = bold, fill
    for i, row in enumerate(rows, start=2):
        for j, value in enumerate(row, start=1):
            if value != "":
                _text_cell(ws, i, j, value)
                widths[j - 1] = max(widths[j - 1], max(len(line) for line in value.split("\n")))
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(MAX_WIDTH, width + 2)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(1, len(rows) + 1)}"


def export_workbook(spec_folder: Path, xlsx: Path, *, standard: str, settings: StudySettings | None = None) -> dict[str, int]:
    """Write the spec folder's sheets as a P21 workbook; returns rows per sheet."""
    import openpyxl

    from ..io import write_atomic

    spec_folder = Path(spec_folder)
    if not spec_folder.is_dir():
        raise SubError(Problem(str(spec_folder), None, None, None, "spec folder not found"))
    problems: list[Problem] = []
    tables: dict[str, tuple[list[str], list[list[str]]]] = {}
    for sheet, columns in spec_sheets().items():
        path = spec_folder / f"{sheet}.csv"
        if sheet in ARM_SHEETS and not path.exists():
            tables[sheet] = (columns, [])
            continue
        tables[sheet] = (columns, _read_sheet_csv(path, columns, problems))
    if problems:
        raise SubError(problems, f"spec {spec_folder} cannot be exported: {len(problems)} problem(s)")
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    define = wb.create_sheet(DEFINE_SHEET)
    _write_table(define, ["Attribute", "Value"], [list(r) for r in define_attributes(settings, standard)])
    counts = {}
    for sheet, (columns, rows) in tables.items():
        _write_table(wb.create_sheet(sheet), columns, rows)
        counts[sheet] = len(rows)
    wb.properties.creator = "sub"
    write_atomic(Path(xlsx), workbook_bytes(wb))
    return counts


# --------------------------------------------------------------------------- import

@dataclass
class ImportResult:
    folder: Path
    changed: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)


def _cell_text(cell, where: tuple[str, int, str], problems: list[Problem], label: str) -> str:
    sheet, row, column = where
    value = cell.value
    if value is None:
        return ""
    if cell.data_type == "f" or (hasattr(value, "text") and not isinstance(value, str)):
        problems.append(Problem(f"{label} sheet {sheet}", row, column, str(getattr(value, "text", value)),
                                "a formula; write the value itself as text"))
        return ""
    if cell.data_type == "e":
        problems.append(Problem(f"{label} sheet {sheet}", row, column, str(value), "a spreadsheet error value"))
        return ""
    if isinstance(value, bool):
        problems.append(Problem(f"{label} sheet {sheet}", row, column, str(value),
                                "a TRUE/FALSE cell; write the text (Yes, No, ...) instead"))
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _sheet_rows(ws, columns: list[str], sheet: str, problems: list[Problem], label: str
                ) -> tuple[list[tuple[int, list[str]]], bool]:
    """(workbook row, values in `columns` order) for every non-blank row; and whether the header is sound."""
    where_file = f"{label} sheet {sheet}"
    rows = ws.iter_rows()
    header_cells = next(rows, ())
    header = [str(c.value).strip() if c.value is not None else "" for c in header_cells]
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name:
            continue
        if name in index:
            problems.append(Problem(where_file, 1, name, None, "column appears twice"))
        elif name not in columns:
            problems.append(Problem(where_file, 1, name, None, "unknown column for this sheet"))
        index.setdefault(name, i)
    missing = [c for c in columns if c not in index]
    for c in missing:
        problems.append(Problem(where_file, 1, c, None, "required column is missing"))
    sound = not missing and len(index) == len([h for h in header if h])
    out = []
    for cells in rows:
        if not cells:
            continue
        number = cells[0].row
        values = []
        for c in columns:
            i = index.get(c)
            cell = cells[i] if i is not None and i < len(cells) else None
            values.append(_cell_text(cell, (sheet, number, c), problems, label) if cell is not None else "")
        extra = [cells[i] for i in range(len(cells)) if (i >= len(header) or not header[i]) and cells[i].value not in (None, "")]
        for cell in extra:
            problems.append(Problem(where_file, number, cell.column_letter, str(cell.value), "value outside the sheet's columns"))
        if any(v.strip() for v in values):
            out.append((number, values))
    return out, sound


def _csv_text(columns: list[str], rows: list[tuple[int, list[str]]]) -> tuple[str, dict[int, int]]:
    """The CSV as the project writes it (csv module, LF) and CSV line -> workbook row."""
    def line_of(values: list[str]) -> str:
        one = io.StringIO()
        csv.writer(one, lineterminator="\n").writerow(values)
        return one.getvalue()

    parts = [line_of(columns)]
    mapping = {1: 1}
    line = 2
    for number, values in rows:
        text = line_of(values)
        mapping[line] = number
        parts.append(text)
        line += text.count("\n")
    return "".join(parts), mapping


def workbook_standard(xlsx: Path) -> str | None:
    """sdtm or adam, from the workbook's Define sheet (or its Datasets' Standard column)."""
    wb = _open(xlsx)
    try:
        for name in DEFINE_SHEET_ALIASES:
            if name in wb.sheetnames:
                for row in wb[name].iter_rows(min_row=2, values_only=True):
                    if row and row[0] == "Standard" and len(row) > 1 and row[1]:
                        return _standard_of(str(row[1]))
        if "Datasets" in wb.sheetnames:
            rows = wb["Datasets"].iter_rows(values_only=True)
            header = [str(c).strip() if c is not None else "" for c in next(rows, ())]
            if "Standard" in header:
                for row in rows:
                    value = row[header.index("Standard")] if header.index("Standard") < len(row) else None
                    if value:
                        return _standard_of(str(value))
    finally:
        wb.close()
    return None


def _standard_of(text: str) -> str | None:
    upper = text.upper()
    if upper.startswith("SDTM"):
        return "sdtm"
    if upper.startswith("ADAM"):
        return "adam"
    return None


def _open(xlsx: Path):
    return open_workbook(Path(xlsx))  # checked for size, zip bombs and links before openpyxl reads it


def _read_workbook(xlsx: Path, spec_folder: Path | None, *, standard: str | None,
                   settings: StudySettings | None):
    """The CSV text of every sheet, CSV line -> workbook row maps, problems, and whether the shape is sound."""
    label = xlsx.name
    wb = _open(xlsx)
    problems: list[Problem] = []
    contents: dict[str, str] = {}
    mappings: dict[str, dict[int, int]] = {}
    sound = True
    try:
        for sheet, columns in spec_sheets().items():
            if sheet not in wb.sheetnames:
                if sheet not in ARM_SHEETS:
                    problems.append(Problem(label, None, None, sheet, "sheet is missing"))
                    sound = False
                continue
            rows, header_ok = _sheet_rows(wb[sheet], columns, sheet, problems, label)
            sound &= header_ok
            if sheet in ARM_SHEETS and not rows and (spec_folder is None or not (spec_folder / f"{sheet}.csv").exists()):
                continue
            contents[sheet], mappings[sheet] = _csv_text(columns, rows)
        known = set(spec_sheets()) | set(DEFINE_SHEET_ALIASES)
        for sheet in wb.sheetnames:
            if sheet not in known:
                problems.append(Problem(label, None, None, sheet, "unknown sheet (not imported)"))
        define_sheet = next((s for s in DEFINE_SHEET_ALIASES if s in wb.sheetnames), None)
        if define_sheet is not None and standard is not None:
            problems += _define_sheet_problems(wb[define_sheet], define_sheet, settings, standard, label)
    finally:
        wb.close()
    return contents, mappings, problems, sound


def workbook_csvs(xlsx: Path) -> dict[str, bytes]:
    """The CSV files a workbook holds (sheet -> bytes), as import would write them, unchecked."""
    contents, _, problems, _ = _read_workbook(Path(xlsx), None, standard=None, settings=None)
    if problems:
        raise SubError(problems, f"{xlsx}: {len(problems)} problem(s)")
    return {sheet: text.encode("utf-8") for sheet, text in contents.items()}


def import_workbook(xlsx: Path, spec_folder: Path, *, standard: str, settings: StudySettings | None = None) -> ImportResult:
    """Replace the spec folder's CSVs with the workbook's sheets, only when every check passes.

    Raises SubError with every problem (sheet, row, column of the workbook) and leaves the
    spec folder untouched when anything is wrong. When a sheet or a column is missing, the
    spec's cross-checks wait until the workbook's shape is right (they would only echo it).
    """
    xlsx, spec_folder = Path(xlsx), Path(spec_folder)
    label = xlsx.name
    contents, mappings, problems, sound = _read_workbook(xlsx, spec_folder, standard=standard, settings=settings)
    if not sound:
        raise SubError(problems, f"{xlsx}: {len(problems)} problem(s); the spec was not changed")

    spec_folder.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{spec_folder.name}.import-", dir=spec_folder.parent))
    try:
        for sheet, text in contents.items():
            (stage / f"{sheet}.csv").write_bytes(text.encode("utf-8"))
        _, spec_problems = check_spec(stage)
        seen = {(p.file, p.row, p.column) for p in problems}
        for p in spec_problems:
            sheet = Path(p.file).stem if Path(p.file).parent == stage else None
            if sheet is None:
                problems.append(Problem(label, None, p.column, p.value, p.message))
                continue
            row = mappings.get(sheet, {}).get(p.row, p.row) if p.row is not None else None
            if (f"{label} sheet {sheet}", row, p.column) not in seen:  # a cell already reported (a formula ...)
                problems.append(Problem(f"{label} sheet {sheet}", row, p.column, p.value, p.message))
        if problems:
            raise SubError(problems, f"{xlsx}: {len(problems)} problem(s); the spec was not changed")
        result = ImportResult(spec_folder)
        spec_folder.mkdir(parents=True, exist_ok=True)
        for sheet in contents:
            source, target = stage / f"{sheet}.csv", spec_folder / f"{sheet}.csv"
            if target.exists() and target.read_bytes() == source.read_bytes():
                result.unchanged.append(target)
                continue
            os.replace(source, target)
            result.changed.append(target)
        return result
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _define_sheet_problems(ws, sheet: str, settings: StudySettings | None, standard: str, label: str) -> list[Problem]:
    """Study attributes live in study.toml: a Define sheet that says otherwise is reported, not applied."""
    out: list[Problem] = []
    rows, _ = _sheet_rows(ws, ["Attribute", "Value"], sheet, out, label)
    expected = dict(define_attributes(settings, standard))
    for number, (attribute, value) in rows:
        want = expected.get(attribute.strip())
        if want is not None and value.strip() != want:
            out.append(Problem(f"{label} sheet {sheet}", number, "Value", value,
                               f"{attribute} is {want!r} in study.toml and the spec; change it there, not here"))
    return out
