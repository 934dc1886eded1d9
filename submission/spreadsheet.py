"""Cells that sub hands to a spreadsheet, and workbooks that a spreadsheet hands to sub.

Going out, no cell may become a live formula (OWASP, "CSV injection"):
- xlsx (`sub validate --report x.xlsx`, `sub spec export`): every cell goes through `set_cell`,
  which writes text as a string cell (openpyxl would otherwise turn a str starting with "=" into
  a formula) and numbers as numbers; nothing else reaches a sheet.
- CSV for people (the ARD, tlf/ard.csv): a text cell that starts with = + - @, TAB or CR gets a
  single quote in front (`escape_csv_text`), so a spreadsheet shows it as text; numbers are
  written as numbers and are never touched. sub's own readers take the quote off again
  (`unescape_csv_text`), so `sub diff` and the report see the original text.

Coming in, `open_workbook` opens a user's .xlsx only after checking that it is a zip of sane size
with no links to other workbooks, and turns anything openpyxl raises on a broken file into a
SubError naming the file.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from pathlib import Path

from .errors import Problem, SubError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
EXCEL_CELL_CHARS = 32_767  # the most characters an Excel cell holds
# characters XML 1.0 cannot carry (openpyxl refuses them): shown as \xNN instead
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

# a spec workbook of the bundled study is 0.5 MB unzipped and its sheets a few thousand cells
MAX_UNZIPPED = 32 * 1024 * 1024  # openpyxl holds every cell in memory
MAX_MEMBERS = 10_000
MAX_RATIO = 200  # unzipped / zipped size of one member beyond which it is a zip bomb
MAX_SHEET_CELLS = 2_000_000
_PROLOG = 4096  # bytes of each XML part read for a DTD (it must come before the root element)


# --------------------------------------------------------------------------- CSV

def _looks_escaped(text: str) -> bool:
    return text.lstrip(QUOTE).startswith(FORMULA_START)


def escape_csv_text(text: str) -> str:
    """A text cell as a CSV for people carries it: a quote in front when it would start a formula.

    A text that already starts with quotes before such a character gets one more, so that
    `unescape_csv_text` gives back exactly the original text."""
    if text.startswith(FORMULA_START) or (text.startswith(QUOTE) and _looks_escaped(text)):
        return QUOTE + text
    return text


def unescape_csv_text(text: str) -> str:
    """The original text of a cell written by `escape_csv_text`."""
    if text.startswith(QUOTE) and _looks_escaped(text):
        return text[1:]
    return text


# --------------------------------------------------------------------------- xlsx out

def cell_text(text: str) -> str:
    """Text as a cell can hold it: control characters XML cannot carry shown as \\xNN, cut at Excel's limit."""
    text = _ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    if len(text) > EXCEL_CELL_CHARS:
        text = text[:EXCEL_CELL_CHARS - 3] + "..."
    return text


def set_cell(ws, row: int, column: int, value):
    """Write one cell as a number or a string, never a formula; None leaves it empty. Returns the cell.

    Numbers (not bool) go in as numbers (NaN and infinities as text); dates as ISO text; anything else
    as its text. A text starting with = + - @ is also marked with Excel's quote prefix."""
    cell = ws.cell(row=row, column=column)
    if value is None:
        cell.value = None
        return cell
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value) if not isinstance(value, numbers.Integral) else int(value)
        if isinstance(number, int) or math.isfinite(number):
            cell.value = number
            cell.data_type = "n"
            return cell
    if isinstance(value, dt.datetime | dt.date | dt.time):
        text = value.isoformat()
    else:
        text = str(value)
    cell.value = cell_text(text)
    cell.data_type = "s"  # openpyxl made it a formula ("f") when it starts with "="
    cell.quotePrefix = cell.value.startswith(FORMULA_START)
    return cell


def write_rows(ws, rows, first_row: int = 1) -> int:
    """Write each of `rows` (a sequence of values) through `set_cell` from `first_row` on; returns the next row."""
    row = first_row
    for values in rows:
        for column, value in enumerate(values, start=1):
            set_cell(ws, row, column, value)
        row += 1
    return row


def workbook_bytes(wb) -> bytes:
    import io

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- xlsx in

def _refuse(path: Path, message: str, value: str | None = None) -> SubError:
    return SubError(Problem(str(path), None, None, value, message))


def _check_zip(path: Path) -> None:
    import zipfile

    if not zipfile.is_zipfile(path):
        raise _refuse(path, "not a readable .xlsx workbook: the file is not a zip archive "
                            "(save it as Excel Workbook .xlsx)")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _refuse(path, f"not a readable .xlsx workbook: a damaged zip archive ({exc})") from None
    if len(members) > MAX_MEMBERS:
        raise _refuse(path, f"not a spec workbook: {len(members):,} parts in the archive (at most {MAX_MEMBERS:,})")
    total = sum(m.file_size for m in members)
    if total > MAX_UNZIPPED:
        raise _refuse(path, f"refused: the archive unzips to {total / 2**20:,.0f} MB, more than the "
                            f"{MAX_UNZIPPED // 2**20} MB a spec workbook may take (a zip bomb?)")
    for m in members:
        if m.file_size > 1 << 20 and m.file_size > MAX_RATIO * max(1, m.compress_size):
            raise _refuse(path, f"refused: part {m.filename} unzips to {m.file_size / m.compress_size:,.0f} times "
                                f"its size (a zip bomb?)", m.filename)
    links = sorted(m.filename for m in members if m.filename.lower().startswith("xl/externallinks/"))
    if links:
        raise _refuse(path, "refused: the workbook links to other workbooks (external links); break the links "
                            "(Data > Edit Links) and save again", ", ".join(links[:3]))
    # no spreadsheet program writes a DTD into a part; openpyxl's parser would skip external entities
    # and expat limits expansion, but a part that declares one is refused before either sees it
    try:
        with zipfile.ZipFile(path) as archive:
            for m in members:
                if m.filename.lower().endswith((".xml", ".rels", ".vml")):
                    with archive.open(m) as part:
                        head = part.read(_PROLOG)
                    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                        raise _refuse(path, "refused: a part of the workbook declares a DTD (<!DOCTYPE>, <!ENTITY>), "
                                            "which no spreadsheet program writes", m.filename)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise _refuse(path, f"not a readable .xlsx workbook: a damaged zip archive ({exc})") from None


def open_workbook(path: Path):
    """A user's .xlsx opened with openpyxl (formulas kept as formulas, never evaluated), after checking
    it is a zip of sane size without external links and that no sheet spans more than
    MAX_SHEET_CELLS cells. SubError naming the file for anything wrong; close it after use."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    path = Path(path)
    if path.is_dir():
        raise _refuse(path, "is a folder, not a workbook")
    if not path.is_file():
        raise _refuse(path, "workbook not found")
    _check_zip(path)
    try:
        wb = openpyxl.load_workbook(path, data_only=False, keep_links=False, keep_vba=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types on a broken or hostile file
        raise _refuse(path, f"not a readable .xlsx workbook: {type(exc).__name__}: {str(exc)[:200]}") from None
    for ws in wb.worksheets:
        rows, columns = ws.max_row, ws.max_column
        if rows * columns > MAX_SHEET_CELLS:
            wb.close()
            raise SubError(Problem(f"{path} sheet {ws.title}", rows, get_column_letter(columns), None,
                                   f"the sheet spans {rows:,} rows and {columns:,} columns (its last used cell is "
                                   f"{get_column_letter(columns)}{rows}); a spec sheet may span at most "
                                   f"{MAX_SHEET_CELLS:,} cells: delete the stray cells"))
    return wb
