"""The project's one error type for bad input, and the problem records it carries.

A problem names where it is (file, row, column), what was found (value) and what was
expected (message). Loaders collect every independent problem and raise once, so a
user fixes a broken file in one pass instead of one traceback at a time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    row: int | None  # the row a spreadsheet shows (the header is row 1; blank lines count); None = whole file
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column}"
        shown = "" if self.value is None else f" (value {shorten(self.value)!r})"
        return f"{where}: {self.message}{shown}"


SHOWN_VALUE = 60  # characters of an offending value shown in a message


def shorten(value, limit: int = SHOWN_VALUE) -> str:
    """A value cut to a readable length for a message: a 10 MB cell is not echoed whole."""
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


class SubError(Exception):
    """Bad input: carries one or more problems. The CLI prints them and exits with `exit_code`."""

    exit_code = 1

    def __init__(self, problems: list[Problem] | Problem, summary: str | None = None):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        self.summary = summary or f"{len(self.problems)} problem(s) found"
        super().__init__(self.render())

    def render(self, limit: int | None = None) -> str:
        shown = self.problems if limit is None else self.problems[:limit]
        lines = [self.summary, *(f"  {p}" for p in shown)]
        if limit is not None and len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more")
        return "\n".join(lines)
