"""What every table builder returns, and the registry the report and `sub tlf` read.

A table is data first: its ARD rows (every number it shows), then a display frame made from
those rows only, with its title, footnotes and page orientation. The Word report and the
one-table `sub tlf` command render `TableResult`s; QC compares their ARDs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd


@dataclass
class TableResult:
    output_id: str                # stable id, e.g. "T-SAF-01"; also the ARD's output_id
    title: str                    # Korean title as printed in the report
    ard: pd.DataFrame             # ARD rows (submission.tlf.ard.ARD_COLUMNS)
    display: pd.DataFrame         # the printed table: every number in it comes from `ard`
    footnotes: list[str] = field(default_factory=list)
    landscape: bool = False
    kind: str = "table"           # "table" or "listing"
    section: str = ""             # report section the table belongs to


@dataclass
class FigureResult:
    output_id: str
    title: str
    png: bytes
    ard: pd.DataFrame | None = None
    footnotes: list[str] = field(default_factory=list)
    section: str = ""


# name -> builder; a builder takes (adam: dict[str, DataFrame], options) and returns TableResult(s)
REGISTRY: dict[str, Callable] = {}


def register(name: str):
    def wrap(builder: Callable) -> Callable:
        REGISTRY[name] = builder
        return builder

    return wrap
