"""Shared test fixtures, and the rule for tests that need ../shared/reference.

Some tests compare against real CDISC files (the pilot study, the Define-XML 2.1 schema) kept in
`../shared/reference` beside the checkout; they must never be copied into the project. A fresh
clone has no such folder: those tests skip with a reason that names the folder. CI sets
SUB_REQUIRE_REFERENCE=1 (see .ci/run), and then such a skip is a failure: the reference tests
must run there.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
SHARED = ROOT.parent / "shared"
REFERENCE = SHARED / "reference"
REQUIRE_REFERENCE = os.environ.get("SUB_REQUIRE_REFERENCE", "") not in ("", "0")
REFERENCE_SKIP = "needs the reference files in"


def needs_reference(*paths: Path) -> pytest.MarkDecorator:
    """Mark a test that needs these files or folders under ../shared/reference."""
    return pytest.mark.reference(*paths)


def require_reference(path: Path) -> Path:
    """Inside a test or fixture: `path` (under ../shared/reference), or skip (fail in CI) when absent."""
    if not Path(path).exists():
        _missing(Path(path))
    return Path(path)


def _missing(path: Path) -> None:
    message = f"{REFERENCE_SKIP} {REFERENCE}: {path} is not present beside this checkout"
    if REQUIRE_REFERENCE:
        pytest.fail(f"{message} (SUB_REQUIRE_REFERENCE is set: the reference tests must run)", pytrace=False)
    pytest.skip(message)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "reference(*paths): needs these paths under ../shared/reference")


def pytest_runtest_setup(item) -> None:
    for marker in item.iter_markers("reference"):
        for path in marker.args:
            if not Path(path).exists():
                _missing(Path(path))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """With SUB_REQUIRE_REFERENCE set, any skip that names the reference folder fails instead."""
    report = yield
    if REQUIRE_REFERENCE and report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2])
        if "shared/reference" in reason or str(REFERENCE) in reason or "pilot" in reason.lower():
            report.outcome = "failed"
            report.longrepr = f"skipped although SUB_REQUIRE_REFERENCE is set: {reason}"
    return report


@pytest.fixture
def specs_copy(tmp_path: Path) -> Path:
    """A writable copy of the study's specs."""
    target = tmp_path / "specs"
    shutil.copytree(SPECS, target)
    return target


def write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in header})


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def edit_csv(path: Path, edit) -> None:
    """Rewrite a CSV file after `edit(rows)` changed its list of row dicts in place."""
    header, rows = read_csv(path)
    edit(rows)
    write_csv(path, header, rows)
