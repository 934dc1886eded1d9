from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
SHARED = ROOT.parent / "shared"


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
