"""The sponsor's explanations of `sub validate` findings: specs/conformance.csv.

    rule         a rule ID of `sub validate --rules` (SUB-IG-002)
    dataset      the dataset it concerns, blank for any
    variable     the variable it concerns, blank for any
    explanation  why the finding stands (English, ASCII: it goes into the reviewer's guides)

The reviewer's guides list every finding of the package with its explanation, and say so
plainly where the sponsor has given none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import Problem, SubError

CONFORMANCE_SPEC = "conformance.csv"
COLUMNS = ("rule", "dataset", "variable", "explanation")
NO_EXPLANATION = "No explanation given by the sponsor."


@dataclass(frozen=True)
class Explanation:
    rule: str
    dataset: str | None
    variable: str | None
    text: str
    line: int

    def covers(self, finding) -> bool:
        return (finding.rule == self.rule and (self.dataset is None or finding.dataset == self.dataset)
                and (self.variable is None or finding.variable == self.variable))


def load_explanations(specs_dir: Path) -> list[Explanation]:
    """The explanations of a specs folder ([] without the file); SubError listing every bad row."""
    explanations, problems = check_explanations(specs_dir)
    if problems:
        raise SubError(problems, f"{Path(specs_dir) / CONFORMANCE_SPEC}: {len(problems)} problem(s)")
    return explanations


def check_explanations(specs_dir: Path) -> tuple[list[Explanation], list[Problem]]:
    """(explanations, problems) of specs/conformance.csv; ([], []) without the file."""
    from ..csvio import read_table
    from ..qc.rules import RULES

    path = Path(specs_dir) / CONFORMANCE_SPEC
    if not path.exists():
        return [], []
    table, problems = read_table(path)
    if table is None:
        return [], problems
    problems = [Problem(str(path), 1, c, None, "required column is missing") for c in COLUMNS if c not in table.header]
    if problems:
        return [], problems
    out = []
    for row, line in zip(table.rows, table.lines):
        cell = {c: (row[table.header.index(c)].strip() if table.header.index(c) < len(row) else "") for c in COLUMNS}
        if cell["rule"] not in RULES:
            problems.append(Problem(str(path), line, "rule", cell["rule"], "not a rule of `sub validate --rules`"))
        if not cell["explanation"]:
            problems.append(Problem(str(path), line, "explanation", None, "the explanation is missing"))
        elif not cell["explanation"].isascii():
            problems.append(Problem(str(path), line, "explanation", cell["explanation"],
                                    "not ASCII: the explanation goes into the reviewer's guides"))
        out.append(Explanation(cell["rule"], cell["dataset"] or None, cell["variable"] or None, cell["explanation"], line))
    return out, problems


def explanation_of(finding, explanations: list[Explanation]) -> Explanation | None:
    """The most specific explanation that covers `finding` (dataset and variable given beat blanks)."""
    covering = [e for e in explanations if e.covers(finding)]
    return max(covering, key=lambda e: (e.dataset is not None) + (e.variable is not None), default=None)


def unexplained(findings, explanations: list[Explanation], severities=("error", "warning")) -> list:
    return [f for f in findings if f.severity in severities and explanation_of(f, explanations) is None]
