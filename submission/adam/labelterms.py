"""The label-terms table (`specs/label_terms.csv`): the MedDRA PTs the Korean label names.

An AE whose PT is not in it is unexpected (UNEXPFL = 'Y'). The table is versioned by its
`source` column (e.g. 'seed-v1: ...') and by the file's SHA-256, both recorded with outputs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..csvio import read_table
from ..errors import Problem, SubError

FILE = "label_terms.csv"
COLUMNS = ["PT", "PTCD", "SOC", "SOCCD", "source"]


@dataclass(frozen=True)
class LabelTerms:
    codes: frozenset[int]
    names: frozenset[str]  # lower case
    versions: tuple[str, ...]
    sha256: str
    file: str

    @classmethod
    def load(cls, specs_dir: Path) -> LabelTerms:
        path = Path(specs_dir) / FILE
        table, problems = read_table(path)
        if table is None:
            raise SubError(problems, "the label-terms table cannot be read")
        for column in COLUMNS:
            if column not in table.header:
                problems.append(Problem(table.name, 1, column, None, "required column is missing"))
        if problems:
            raise SubError(problems, f"{path} is invalid")
        col = {c: table.header.index(c) for c in COLUMNS}
        codes, names, versions = set(), set(), set()
        for row, line in zip(table.rows, table.lines):
            pt, code = row[col["PT"]].strip(), row[col["PTCD"]].strip()
            if not pt:
                problems.append(Problem(table.name, line, "PT", None, "preferred term is missing"))
            if code and not code.isdigit():
                problems.append(Problem(table.name, line, "PTCD", code, "expected a MedDRA code (digits)"))
            elif code:
                codes.add(int(code))
            names.add(pt.lower())
            versions.add(row[col["source"]].split(":")[0].strip())
        if problems:
            raise SubError(problems, f"{path} has {len(problems)} problem(s)")
        return cls(frozenset(codes), frozenset(names), tuple(sorted(versions)),
                   hashlib.sha256(path.read_bytes()).hexdigest(), str(path))

    def expected(self, ptcd: pd.Series, pt: pd.Series) -> pd.Series:
        """True where the PT is in the label: by code where the code is present, else by name."""
        by_code = pd.to_numeric(ptcd, errors="coerce").isin(self.codes)
        by_name = pt.astype(object).where(pt.notna(), "").astype(str).str.lower().isin(self.names)
        return by_code | by_name

    def describe(self) -> str:
        return f"{self.file} ({', '.join(self.versions)}; {len(self.names)} PTs; sha256 {self.sha256[:12]})"
