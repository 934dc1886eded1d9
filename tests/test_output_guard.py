"""`--out` never touches what is not the output's: refusals before anything is read or written,
staging folders of killed runs, Ctrl-C, and a full or read-only disk."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from submission.cli import main

from .conftest import SPECS

ROOT = Path(__file__).resolve().parents[1]


def invoke(*args: str, cwd: Path | None = None):
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args))
    finally:
        os.chdir(old)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder` with the SHA-256 of each file."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        found[key] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return found


@pytest.fixture(scope="module")
def small_raw(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("raw") / "raw"
    assert invoke("synth", "--subjects", "12", "--seed", "3", "--out", str(raw)).exit_code == 0
    return raw


@pytest.fixture
def workdir(tmp_path, small_raw) -> Path:
    """A user's folder: the raw extract, the specs, a .git folder and an unrelated file."""
    shutil.copytree(small_raw, tmp_path / "raw")
    shutil.copytree(SPECS, tmp_path / "specs")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / "notes.txt").write_text("mine\n")
    return tmp_path


def assert_refused(result, *words: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "refusing to write the output" in result.output
    for word in words:
        assert word in result.output, result.output


@pytest.mark.parametrize("args, words", [
    (["build", "--raw", "raw", "--specs", "specs", "--out", "raw"], ["--out raw", "--raw input"]),
    (["build", "--raw", "raw", "--specs", "specs", "--out", "."], ["--out .", "--raw input"]),
    (["build", "--raw", "raw", "--specs", "specs", "--out", "raw/out"], ["lies inside the --raw input"]),
    (["build", "--raw", "raw", "--specs", "specs", "--out", "specs"], ["--specs input"]),
    (["build", "--raw", "raw", "--specs", "specs/sdtm", "--out", "specs"], ["--specs input"]),
    (["build", "--raw", "raw", "--specs", "specs", "--out", "notes.txt"], ["not a folder"]),
    (["build", "--raw", "raw", "--specs", "specs", "--out", ".git"], ["not written by sub"]),
    (["sdtm", "--raw", "raw", "--specs", "specs", "--out", "raw"], ["--raw input"]),
    (["synth", "--out", "specs", "--specs", "specs"], ["--specs input"]),
    (["synth", "--out", "notes.txt"], ["not a folder"]),
], ids=["out-is-raw", "out-contains-raw", "out-inside-raw", "out-is-specs", "out-contains-specs", "out-is-a-file",
        "out-is-someone-elses-folder", "sdtm-out-is-raw", "synth-into-specs", "synth-onto-a-file"])
def test_out_is_refused_and_nothing_is_touched(workdir, args, words):
    before = snapshot(workdir)
    result = invoke(*args, cwd=workdir)
    assert_refused(result, *words)
    assert snapshot(workdir) == before


def test_out_root_is_refused_before_anything_is_written():
    before = sorted(p.name for p in Path("/").iterdir())
    result = invoke("build", "--out", "/")
    assert_refused(result, "root of the file system")
    assert sorted(p.name for p in Path("/").iterdir()) == before


def test_out_home_is_refused(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    result = invoke("build", "--out", str(home))
    assert_refused(result, "home folder")
    assert list(home.iterdir()) == []


def test_stage_folder_of_someone_else_is_refused(workdir):
    (workdir / "out" / "sdtm").mkdir(parents=True)
    (workdir / "out" / "sdtm" / "mine.xpt").write_bytes(b"not sub's")
    before = snapshot(workdir)
    result = invoke("sdtm", "--raw", "raw", "--specs", "specs", "--out", "out", cwd=workdir)
    assert_refused(result, "not written by sub")
    assert snapshot(workdir) == before


def test_an_earlier_output_and_an_empty_folder_are_replaced(workdir):
    (workdir / "out").mkdir()
    first = invoke("build", "--raw", "raw", "--specs", "specs", "--out", "out", cwd=workdir)
    assert first.exit_code == 0, first.output
    assert (workdir / "out" / "manifest.json").is_file()
    again = invoke("sdtm", "--raw", "raw", "--specs", "specs", "--out", "out", cwd=workdir)
    assert again.exit_code == 0, again.output
    whole = invoke("build", "--raw", "raw", "--specs", "specs", "--out", "out", cwd=workdir)
    assert whole.exit_code == 0, whole.output
    assert (workdir / "raw" / "enrol.csv").is_file() and (workdir / ".git" / "HEAD").is_file()


# --------------------------------------------------------------------------- killed and interrupted runs

def _sub(args: list[str], cwd: Path) -> subprocess.Popen:
    code = "import sys; from submission.cli import main; sys.exit(main())"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_staging(folder: Path, name: str, process: subprocess.Popen, timeout: float = 120) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in folder.iterdir() if p.name.startswith(f".{name}.building-")]
        if found and any(found[0].iterdir()):
            return found[0]
        if process.poll() is not None:
            pytest.fail(f"the run ended before writing its staging folder: {process.communicate()}")
        time.sleep(0.05)
    process.kill()
    pytest.fail("no staging folder appeared")


def test_a_killed_runs_staging_folder_is_removed_by_the_next_run(workdir):
    process = _sub(["build", "--raw", "raw", "--specs", "specs", "--out", "out"], workdir)
    stage = _wait_for_staging(workdir, "out", process)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert stage.is_dir()  # what SIGKILL leaves: nothing can clean up after it
    result = invoke("build", "--raw", "raw", "--specs", "specs", "--out", "out", cwd=workdir)
    assert result.exit_code == 0, result.output
    assert not stage.exists()
    assert [p.name for p in workdir.iterdir() if ".building-" in p.name] == []
    log = (workdir / "out" / "build.log").read_text(encoding="utf-8")
    assert f"removed {stage.name}" in log and "interrupted earlier run" in log


def test_ctrl_c_exits_130_and_leaves_the_previous_output(workdir):
    assert invoke("build", "--raw", "raw", "--specs", "specs", "--out", "out", cwd=workdir).exit_code == 0
    before = snapshot(workdir / "out")
    process = _sub(["build", "--raw", "raw", "--specs", "specs", "--out", "out"], workdir)
    _wait_for_staging(workdir, "out", process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert snapshot(workdir / "out") == before
    assert [p.name for p in workdir.iterdir() if p.name.startswith(".out.")] == []


def test_sigterm_exits_143_and_leaves_nothing_behind(workdir):
    process = _sub(["build", "--raw", "raw", "--specs", "specs", "--out", "out"], workdir)
    _wait_for_staging(workdir, "out", process)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    assert "Traceback" not in err
    assert not (workdir / "out").exists()
    assert [p.name for p in workdir.iterdir() if p.name.startswith(".out.")] == []


# --------------------------------------------------------------------------- the machine refuses

@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB file system (tmpfs): needs root and a kernel that lets the test mount."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_names_the_output_and_the_cause(workdir, small_disk):
    result = invoke("build", "--raw", str(workdir / "raw"), "--specs", str(workdir / "specs"),
                    "--out", str(small_disk / "out"))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert str(small_disk / "out") in result.output and "No space left on device" in result.output
    assert list(small_disk.iterdir()) == []


def test_a_read_only_disk_names_the_output_and_the_cause(workdir, small_disk):
    (small_disk / "out").mkdir()
    (small_disk / "keep.txt").write_text("kept")
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    result = invoke("build", "--raw", str(workdir / "raw"), "--specs", str(workdir / "specs"),
                    "--out", str(small_disk / "out"))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert "Read-only file system" in result.output
    assert (small_disk / "keep.txt").read_text() == "kept" and list((small_disk / "out").iterdir()) == []


def test_sigterm_before_the_command_runs_exits_143_without_a_traceback(monkeypatch, capsys):
    """SIGTERM while sub starts (imports, argument parsing) is the same exit 143 and message."""
    import click

    from submission import cli

    def terminated(self, *args, **kwargs):
        raise cli._Terminated()

    monkeypatch.setattr(click.Group, "main", terminated)
    with pytest.raises(SystemExit) as info:
        cli.main(["build", "--help"])
    assert info.value.code == 143
    assert "interrupted" in capsys.readouterr().err
