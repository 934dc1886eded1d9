"""Small CSV reading helpers shared by the spec, layout and raw loaders.

Reads with the standard library so that line numbers are exact and nothing is coerced:
every cell arrives as the text that is in the file.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .errors import Problem

UTF8_BOM = b"\xef\xbb\xbf"


def read_text(path: Path, encoding: str = "utf-8") -> tuple[str | None, Problem | None]:
    """The file's text, or a problem saying why it cannot be read as `encoding`."""
    name = str(path)
    if not path.is_file():
        return None, Problem(name, None, None, None, "file not found")
    data = path.read_bytes()
    if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} and data.startswith(UTF8_BOM):
        return None, Problem(
            name, 1, None, None,
            "starts with a UTF-8 byte-order mark; save it as UTF-8 without BOM or pass --encoding utf-8-sig",
        )
    try:
        return data.decode(encoding), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.end].hex(" ")
        hint = " (CP949/EUC-KR text? pass --encoding cp949)" if encoding.lower().startswith("utf") else ""
        return None, Problem(name, line, None, bad, f"bytes that are not {encoding}{hint}")
    except LookupError:
        return None, Problem(name, None, None, encoding, "unknown encoding")


class Table:
    """A CSV file's header and rows, each row with the file line it starts on."""

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
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        rows, lines = [], []
        start = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):  # blank lines carry nothing
                rows.append(row)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        return None, [Problem(str(path), reader.line_num, None, None, f"not readable as CSV: {exc}")]
    if header is None or not any(cell.strip() for cell in header):
        return None, [Problem(str(path), None, None, None, "file is empty (no header row)")]
    header = [cell.strip() for cell in header]
    return Table(path, header, rows, lines), []
