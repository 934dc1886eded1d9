"""Small CSV reading helpers shared by the spec, layout and raw loaders.

Reads with the standard library so that line numbers are exact and nothing is coerced:
every cell arrives as the text that is in the file.
"""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from pathlib import Path

from .errors import Problem

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Files that are not text at all, recognised by their first bytes (saved under a .csv name).
_SIGNATURES = (
    (b"PK\x03\x04", "is a zip file (an Excel .xlsx workbook?), not CSV text; save it as 'CSV UTF-8'"),
    (b"\xd0\xcf\x11\xe0", "is an old Excel .xls workbook (or another OLE file), not CSV text; save it as 'CSV UTF-8'"),
    (b"%PDF", "is a PDF file, not CSV text"),
)

def _not_readable(path: Path) -> str | None:
    """Why `path` cannot be read as a file, or None when it can be."""
    if path.is_dir():
        return "is a folder, not a file"
    if not path.exists():
        return "a link to something that does not exist" if path.is_symlink() else "file not found"
    if not path.is_file():
        return "not a regular file (a device, pipe or socket?)"
    return None


def read_bytes(path: Path) -> tuple[bytes | None, Problem | None]:
    """The file's bytes, or a problem naming why it cannot be read (missing, a folder, no permission)."""
    name = str(path)
    try:
        why = _not_readable(path)
        if why:
            return None, Problem(name, None, None, None, why)
        return path.read_bytes(), None
    except PermissionError:
        return None, Problem(name, None, None, None, "cannot be read: permission denied")
    except OSError as exc:
        return None, Problem(name, None, None, None, f"cannot be read: {exc.strerror or exc}")


def read_text(path: Path, encoding: str = "utf-8") -> tuple[str | None, Problem | None]:
    """The file's text, or a problem saying why it cannot be read as `encoding`."""
    name = str(path)
    data, problem = read_bytes(path)
    if problem:
        return None, problem
    utf8 = encoding.lower().replace("_", "-") in {"utf-8", "utf8"}
    for signature, message in _SIGNATURES:
        if data.startswith(signature):
            return None, Problem(name, None, None, None, message)
    if utf8 and data.startswith(UTF8_BOM):
        return None, Problem(
            name, 1, None, None,
            "starts with a UTF-8 byte-order mark; save it as UTF-8 without BOM or pass --encoding utf-8-sig",
        )
    if utf8 and data.startswith(UTF16_BOMS):
        return None, Problem(name, 1, None, None,
                             "is UTF-16 text (Excel's 'Unicode text'); save it as 'CSV UTF-8'")
    try:
        return data.decode(encoding), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.end].hex(" ")
        hint = " (CP949/EUC-KR text? pass --encoding cp949)" if encoding.lower().startswith("utf") else ""
        return None, Problem(name, line, None, bad, f"bytes that are not {encoding}{hint}")
    except LookupError:
        return None, Problem(name, None, None, encoding, "unknown encoding")


@contextmanager
def no_field_limit():
    """Let the csv module read cells of any length (its default stops at 131,072 characters),
    so that an overlong value is reported by the check on its column, with its row."""
    old = csv.field_size_limit()
    csv.field_size_limit(1 << 30)
    try:
        yield
    finally:
        csv.field_size_limit(old)


class Table:
    """A CSV file's header and rows, each row with the file line it starts on (define/workbook.py
    maps these lines back to workbook rows)."""

    def __init__(self, path: Path, header: list[str], rows: list[list[str]], lines: list[int]):
        self.path = path
        self.header = header
        self.rows = rows
        self.lines = lines

    @property
    def name(self) -> str:
        return str(self.path)


def read_table(path: Path, encoding: str = "utf-8") -> tuple[Table | None, list[Problem]]:
    """Read a CSV file; a problem (not an exception) when it cannot be read at all."""
    text, problem = read_text(path, encoding)
    if problem:
        return None, [problem]
    name = str(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows, lines, problems = [], [], []
    start = 1
    try:
        with no_field_limit():
            header = next(reader, None)
            start = reader.line_num + 1
            for row in reader:
                if any(cell.strip() for cell in row):  # blank lines carry nothing
                    rows.append(row)
                    lines.append(start)
                start = reader.line_num + 1
    except csv.Error as exc:
        hint = " (a quoted value that is never closed?)" if "end of data" in str(exc) else ""
        return None, [Problem(name, start, None, None, f"not readable as CSV: {exc}{hint}")]
    if header is None or not any(cell.strip() for cell in header):
        return None, [Problem(name, None, None, None, "file is empty (no header row)")]
    header = [cell.strip() for cell in header]
    for row, line in zip([header, *rows], [1, *lines]):
        for i, cell in enumerate(row):
            if "\x00" in cell:
                column = header[i] if i < len(header) and line != 1 else None
                problems.append(Problem(name, line, column or None, cell,
                                        "NUL character: binary data, not text"))
    if problems:
        return None, problems
    return Table(path, header, rows, lines), []
