"""The output-folder guard: what `--out` may replace, decided before anything is read or written.

Every command that writes a folder asks `check_output` first. A folder is replaced only when it
is absent, empty, or was made by an earlier `sub` run; never when it is the file system root,
the home folder, an existing file, or a folder that holds (or lies inside) one of the run's
inputs. Why: `sub build --raw DIR --out DIR` once deleted the raw extract, and `--out .` a
whole working copy with its `.git`.

A `sub` output is recognised by what `sub` writes into it, not by a hidden marker file (which
would travel into the submission package): the build's `manifest.json` (the `tool` versions name
"sub"), a Dataset-JSON file whose `sourceSystem.name` is "sub" (the SDTM and ADaM folders), the
ARD (`ard.json` with its `ard.csv`), the report folder with only the report's files in it, or
the `SYNTHETIC.txt` note of `sub synth`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from .errors import Problem, SubError

TOOL_NAME = "sub"
REPORT_FILES = re.compile(r"re-examination-report\.(docx|pdf)$|periodic-safety-report\.(docx|pdf)$")
STAGING = re.compile(r"^\.(?P<name>.+)\.(?:building|previous)-(?P<pid>\d+)(?:-.*)?$")


def _resolved(path: Path) -> Path:
    return Path(os.path.abspath(Path(path).expanduser())).resolve()


def _refuse(target: Path, why: str, what_to_do: str) -> SubError:
    return SubError(Problem(f"--out {target}", None, None, None, f"{why}; {what_to_do}"),
                    summary="refusing to write the output: nothing was read or written")


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _read_json(path: Path, limit: int = 50_000_000):
    try:
        if path.stat().st_size > limit:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def _sub_manifest(folder: Path) -> bool:
    data = _read_json(folder / "manifest.json")
    return (isinstance(data, dict) and isinstance(data.get("tool"), dict) and TOOL_NAME in data["tool"]
            and "outputs" in data)


def _sub_dataset_json(folder: Path) -> bool:
    for path in sorted(folder.glob("*.json"))[:3]:
        try:
            with path.open("rb") as handle:
                head = handle.read(4096).decode("utf-8", "replace")
        except OSError:
            continue
        if re.search(r'"sourceSystem"\s*:\s*\{\s*"name"\s*:\s*"sub"', head):
            return True
    return False


def made_by_sub(folder: Path) -> bool:
    """True when `folder` holds what a `sub` command writes (see the module's docstring)."""
    folder = Path(folder)
    if _sub_manifest(folder) or _sub_dataset_json(folder):
        return True
    if (folder / "ard.json").is_file() and (folder / "ard.csv").is_file():
        return True
    if (folder / "SYNTHETIC.txt").is_file() and any(folder.glob("*.csv")):
        return True
    names = [p.name for p in folder.iterdir() if not STAGING.match(p.name)]
    return bool(names) and all(REPORT_FILES.match(n) for n in names)


def _is_empty(folder: Path) -> bool:
    return not any(p for p in folder.iterdir() if not STAGING.match(p.name))


def check_output(target: Path, inputs: Mapping[str, Path | None] | None = None, *, replaces: bool = True,
                 parent_output: Path | None = None) -> Path:
    """Refuse (SubError, exit 1) an output folder that is not `sub`'s to write; return it resolved.

    `inputs` names the run's input folders or files (e.g. {"--raw": raw, "--specs": specs}); the
    output may neither be nor contain nor lie inside any of them. `replaces`: the command replaces
    the whole folder (build, a stage folder), so an existing non-empty folder must be a `sub`
    output; otherwise it only adds or overwrites its own files (`sub tlf`, `sub synth`).
    `parent_output`: for a stage folder (OUT/sdtm), the build folder around it, whose manifest
    also vouches for it.
    """
    shown = Path(target)
    resolved = _resolved(target)
    if resolved == Path(resolved.anchor):
        raise _refuse(shown, "the output folder is the root of the file system", "choose a new folder, e.g. --out out")
    home = _resolved(Path.home())
    if resolved == home or resolved in home.parents:
        raise _refuse(shown, "the output folder is your home folder (or one above it)",
                      "choose a new folder, e.g. --out out")
    if os.path.lexists(resolved) and not resolved.is_dir():
        raise _refuse(shown, "this exists and is not a folder: an output folder would replace it",
                      "choose a folder name that does not exist yet")
    for option, source in (inputs or {}).items():
        if source is None:
            continue
        source_resolved = _resolved(source)
        if _is_within(source_resolved, resolved):
            raise _refuse(shown, f"the output folder is or contains the {option} input ({source})",
                          "write the output to a separate folder, e.g. --out out")
        if _is_within(resolved, source_resolved):
            raise _refuse(shown, f"the output folder lies inside the {option} input ({source})",
                          "write the output outside the inputs, e.g. --out out")
    if replaces and resolved.is_dir() and not _is_empty(resolved) and not made_by_sub(resolved):
        if not (parent_output is not None and _resolved(parent_output).is_dir()
                and made_by_sub(_resolved(parent_output))):
            raise _refuse(shown, "the folder exists, is not empty and was not written by sub; "
                                 "sub replaces its output folder as a whole",
                          "choose a new folder, or empty or remove this one yourself")
    return resolved


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(target: Path) -> list[Path]:
    """Remove the staging folders that a killed run into `target` left beside it; return them.

    A staging folder is named `.NAME.building-PID-…` (or `.NAME.previous-PID`): one whose process
    is gone is left over; one whose process still runs belongs to a concurrent run and is kept.
    """
    target = _resolved(target)
    parent = target.parent
    if not parent.is_dir():
        return []
    removed = []
    for entry in sorted(parent.iterdir()):
        match = STAGING.match(entry.name)
        if not match or match.group("name") != target.name or not entry.is_dir() or entry.is_symlink():
            continue
        if _alive(int(match.group("pid"))):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        if not entry.exists():
            removed.append(entry)
    return removed


def input_paths(**named: Path | None) -> dict[str, Path | None]:
    """`--raw`-style option names for the inputs of `check_output` (underscores become dashes)."""
    return {f"--{name.replace('_', '-')}": path for name, path in named.items()}


def describe_removed(paths: Iterable[Path]) -> list[str]:
    return [f"removed {p.name}: a staging folder left beside the output by an interrupted earlier run"
            for p in paths]
