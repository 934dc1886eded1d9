"""The command line as a user meets it: help, exit codes, messages without tracebacks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from submission.cli import main

from .conftest import SPECS, edit_csv


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_help_lists_every_command():
    result = run("--help")
    assert result.exit_code == 0
    for command in main.commands:
        assert command in result.output


def test_help_does_not_import_pandas():
    code = "import sys; from submission.cli import main\ntry:\n main(['--help'])\nexcept SystemExit: pass\n" \
           "print('pandas' in sys.modules, 'lxml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip().splitlines()[-1] == "False False"


def test_spec_check_passes_on_the_bundled_specs():
    result = run("spec", "check")
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output


def test_spec_check_reports_every_problem_with_file_and_row(specs_copy):
    def break_variables(rows):
        rows[0]["Label"] = "L" * 41
        rows[1]["Variable"] = "AETERMTOOLONG"
        rows[3]["Order"] = rows[2]["Order"]
        rows[4]["Codelist"] = "NOSUCHLIST"

    edit_csv(specs_copy / "sdtm" / "Variables.csv", break_variables)
    result = CliRunner().invoke(main, ["spec", "check", "--specs", str(specs_copy)])
    assert result.exit_code == 1
    text = result.output
    assert "Traceback" not in text
    for row, column in ((2, "Label"), (3, "Variable"), (5, "Order"), (6, "Codelist")):
        assert f"Variables.csv, row {row}, column {column}" in text


def test_bad_raw_value_is_one_clear_message(tmp_path):
    raw = tmp_path / "raw"
    assert run("synth", "--subjects", "12", "--seed", "3", "--out", str(raw)).exit_code == 0
    edit_csv(raw / "ae.csv", lambda rows: rows[0].update(STDAT="2016-02-30"))
    result = CliRunner().invoke(main, ["raw", "check", "--raw", str(raw)])
    assert result.exit_code == 1
    assert "ae.csv, row 2, column STDAT: not a calendar date (value '2016-02-30')" in result.output
    assert "Traceback" not in result.output


def test_build_failure_leaves_previous_output_untouched(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    assert run("synth", "--subjects", "12", "--seed", "3", "--out", str(raw)).exit_code == 0
    assert run("build", "--raw", str(raw), "--out", str(out)).exit_code == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (raw / "demog.csv").unlink()
    result = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(out)])
    assert result.exit_code == 1
    assert "demog.csv: file not found" in result.output
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert before == after
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.skipif(shutil.which("sub") is None, reason="the `sub` console script is not installed")
def test_installed_script_works_from_an_empty_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for args in (["--help"], ["spec", "check"], ["raw", "check"], ["synth", "--subjects", "5", "--out", "x"]):
        done = subprocess.run(["sub", *args], cwd=tmp_path, capture_output=True, text=True, env=env)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    assert (tmp_path / "x" / "enrol.csv").is_file()


def test_adam_on_a_broken_sdtm_folder_names_file_and_column(tmp_path):
    from submission.xpt import read_xpt, write_xpt
    import datetime as dt

    raw, out = tmp_path / "raw", tmp_path / "out"
    assert run("synth", "--subjects", "12", "--seed", "3", "--out", str(raw)).exit_code == 0
    assert run("sdtm", "--raw", str(raw), "--out", str(out)).exit_code == 0
    ae = read_xpt(out / "sdtm" / "ae.xpt")
    ae.frame = ae.frame.drop(columns="AESER")
    ae.columns = [c for c in ae.columns if c.name != "AESER"]
    write_xpt(ae, out / "sdtm" / "ae.xpt", dt.datetime(2016, 12, 7))
    dm = read_xpt(out / "sdtm" / "dm.xpt")
    dm.frame = dm.frame.iloc[[0, 0, 1]].reset_index(drop=True)
    write_xpt(dm, out / "sdtm" / "dm.xpt", dt.datetime(2016, 12, 7))
    result = CliRunner().invoke(main, ["adam", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "ae.xpt, column AESER: variable of the SDTM spec is missing" in result.output
    assert "dm.xpt, column USUBJID: subject has more than one DM record" in result.output
