"""Progress on a terminal: one status line while a command works, nothing when output is not a terminal.

`on_terminal("sub build")` (the CLI, around a command) shows on stderr what the command is doing
and for how long, redrawn in place about twice a second and erased when the command ends, so that
what the command prints and writes (its summary, build.log) is what it always was. When stdout or
stderr is not a terminal (a pipe, a file, CI) nothing is started and nothing is written.

The line shows the running step, when a stage names it (`step`, with `advance` for records done:
"SDTM: writing ae.xpt, ae.json (4 of 15), 25,366 of 3,456,789 records"), else the last line the
build logged ("last: SDTM mapped (26.8 s)"): the log passed through the build is a `StatusLog`,
a list that also tells the status line its last entry.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator

_REDRAW_SECONDS = 0.5


class _Status:
    def __init__(self, title: str, stream) -> None:
        self.title = title
        self.stream = stream
        self.started = time.monotonic()
        self.step: str | None = None
        self.step_started = self.started
        self.detail = ""
        self.last_log: str | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="sub-progress", daemon=True)

    def text(self) -> str:
        now = time.monotonic()
        parts = [self.title, _clock(now - self.started)]
        if self.step:
            parts.append(f"{self.step}{': ' + self.detail if self.detail else ''} ({_clock(now - self.step_started)})")
        elif self.last_log:
            parts.append(f"last: {self.last_log}")
        return " | ".join(parts)

    def draw(self) -> None:
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        with self._lock:
            self.stream.write("\r\x1b[K" + self.text()[:width])
            self.stream.flush()

    def _run(self) -> None:
        while not self._stop.wait(_REDRAW_SECONDS):
            self.draw()

    def start(self) -> None:
        self.draw()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


_active: _Status | None = None


def terminal() -> bool:
    """True when both stdout and stderr are terminals (and the terminal can redraw a line)."""
    try:
        return sys.stdout.isatty() and sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


@contextlib.contextmanager
def on_terminal(title: str) -> Iterator[None]:
    """Show the status line of `title` while the block runs, when on a terminal; else do nothing."""
    global _active
    if _active is not None or not terminal():
        yield
        return
    _active = _Status(title, sys.stderr)
    _active.start()
    try:
        yield
    finally:
        status, _active = _active, None
        status.stop()


@contextlib.contextmanager
def step(what: str) -> Iterator[None]:
    """Name the work the block does on the status line (no-op without one)."""
    status = _active
    if status is None:
        yield
        return
    before = (status.step, status.step_started, status.detail)
    status.step, status.step_started, status.detail = what, time.monotonic(), ""
    try:
        yield
    finally:
        status.step, status.step_started, status.detail = before


def advance(detail: str) -> None:
    """Say how far the current step is (records done); no-op without a status line."""
    status = _active
    if status is not None:
        status.detail = detail


class StatusLog(list):
    """The build's log (a list of lines, as before) that also shows its last top-level line on the
    status line, when there is one."""

    def append(self, line) -> None:
        super().append(line)
        self._show(line)

    def extend(self, lines) -> None:
        lines = list(lines)
        super().extend(lines)
        for line in lines:
            self._show(line)

    @staticmethod
    def _show(line) -> None:
        status = _active
        if status is not None and isinstance(line, str) and line.strip() and not line[0].isspace():
            status.last_log = line.strip().splitlines()[0]


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"
