"""Progress: a status line on a terminal while a command works, nothing when output is not a terminal."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from submission import progress
from submission.cli import main
from submission.raw.synth import synthesize, write_extract
from submission.study import load_settings

from .conftest import SPECS


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("progress") / "raw"
    write_extract(synthesize(load_settings(SPECS), n_subjects=40, seed=3), folder)
    return folder


def test_nothing_when_not_a_terminal(capsys):
    with progress.on_terminal("sub build"):
        with progress.step("SDTM: writing datasets"):
            progress.advance("ae.xpt (1 of 2)")
        log = progress.StatusLog()
        log.append("SDTM mapped (1.0 s)")
    assert capsys.readouterr() == ("", "")
    assert log == ["SDTM mapped (1.0 s)"]


def test_a_command_prints_what_it_always_printed_when_piped(raw, tmp_path):
    result = CliRunner().invoke(main, ["sdtm", "--raw", str(raw), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\r" not in result.output
    assert result.output.splitlines()[-1].startswith("build complete")


def test_status_line_names_the_step_and_is_erased(monkeypatch, capsys):
    monkeypatch.setattr(progress, "terminal", lambda: True)
    with progress.on_terminal("sub build"):
        log = progress.StatusLog()
        log.append("SDTM mapped (1.0 s); reconciliation of raw rows to records:")
        log.append("  AE 10 records")  # a detail line: not shown
        assert progress._active.text().endswith("last: SDTM mapped (1.0 s); reconciliation of raw rows to records:")
        with progress.step("SDTM: writing datasets"):
            progress.advance("ae.xpt, .json (1 of 2), 0 of 10 records done")
            shown = progress._active.text()
        assert "last:" in progress._active.text()
    err = capsys.readouterr().err
    assert shown.startswith("sub build | 0:0")
    assert "SDTM: writing datasets: ae.xpt, .json (1 of 2), 0 of 10 records done (0:0" in shown
    assert err.startswith("\r\x1b[Ksub build") and err.endswith("\r\x1b[K")
    assert progress._active is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the command in a pseudo-terminal")
def test_status_line_on_a_real_terminal(raw, tmp_path):
    import pty

    out = b""
    pid, fd = pty.fork()
    if pid == 0:  # the child: `sub sdtm` with a terminal on stdout and stderr
        os.execv(sys.executable, [sys.executable, "-m", "submission.cli", "sdtm", "--raw", str(raw),
                                  "--out", str(tmp_path / "out")])
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out[-2000:]
    assert b"\r\x1b[Ksub sdtm | 0:0" in out
    summary = out.split(b"\r\x1b[K")[-1]  # after the status line is erased: the summary, as always
    assert b"\x1b" not in summary and summary.rstrip().endswith(b"sdtm")
