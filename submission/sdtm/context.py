"""What every SDTM domain mapping needs: the raw extract, the spec, the settings, and the logs.

The logs gather problems across domains (unmapped codes, Korean text without an English
rendering) so that a build reports all of them together, and the reconciliation of raw rows
to records so that nothing silently disappears.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..columns import per_distinct
from ..csvio import read_table
from ..errors import Problem, SubError
from ..raw.load import RawExtract
from ..spec import Spec
from ..study import StudySettings
from .common import Unmapped, check_terms, epoch, map_codes

TRANSLATIONS_FILE = "translations.csv"


@dataclass
class Translations:
    """English renderings of the non-ASCII (Korean) text that must go into XPT v5."""

    english: dict[str, str]
    file: str

    @classmethod
    def load(cls, specs_dir: Path) -> Translations:
        path = Path(specs_dir) / TRANSLATIONS_FILE
        if not path.exists():
            return cls({}, str(path))
        table, problems = read_table(path)
        if table is not None:
            for column in ("Text", "English"):
                if column not in table.header:
                    problems.append(Problem(table.name, 1, column, None, "required column is missing"))
        if problems:
            raise SubError(problems, f"{path} cannot be read")
        text_i, english_i = table.header.index("Text"), table.header.index("English")
        english: dict[str, str] = {}
        for row, line in zip(table.rows, table.lines):
            text, rendering = row[text_i].strip(), row[english_i].strip()
            if not rendering or not rendering.isascii():
                problems.append(Problem(table.name, line, "English", rendering or None,
                                        "the English rendering must be non-empty ASCII text"))
            elif text in english and english[text] != rendering:
                problems.append(Problem(table.name, line, "Text", text, "text has two different renderings"))
            english[text] = rendering
        if problems:
            raise SubError(problems, f"{path} has {len(problems)} problem(s)")
        return cls(english, str(path))


@dataclass
class Context:
    settings: StudySettings
    spec: Spec
    raw: RawExtract
    translations: Translations
    unmapped: Unmapped = field(default_factory=Unmapped)
    untranslated: list[Problem] = field(default_factory=list)
    reconciliation: list[str] = field(default_factory=list)

    @property
    def studyid(self) -> str:
        return self.settings.study.studyid

    def file(self, form: str) -> str:
        return str(self.raw.files[form])

    def allowed(self, dataset: str, variable: str) -> list[str] | None:
        """Terms of the variable's codelist, or of its value-level codelists; None if uncontrolled."""
        names = []
        v = self.spec.variable(dataset, variable)
        if v is not None and v.codelist:
            names.append(v.codelist)
        names += [vl.codelist for vl in self.spec.value_level
                  if vl.dataset == dataset and vl.variable == variable and vl.codelist]
        lists = [self.spec.codelists[n] for n in names if n in self.spec.codelists]
        if not lists:
            return None
        return sorted({t for cl in lists for t in cl.values})

    def coded(self, frame: pd.DataFrame, form: str, column: str, dataset: str, variable: str) -> pd.Series:
        """Raw codes -> CDISC submission values (raw layout codes) -> checked against the spec codelist."""
        mapping = self.raw.layout.submission_values(self.raw.layout.field(form, column).codelist)
        return map_codes(frame[column], mapping, self.allowed(dataset, variable), dataset=dataset,
                         variable=variable, file=self.file(form), unmapped=self.unmapped)

    def check(self, values: pd.Series, dataset: str, variable: str, form: str) -> pd.Series:
        allowed = self.allowed(dataset, variable)
        if allowed is None:
            return values
        return check_terms(values, allowed, dataset=dataset, variable=variable, file=self.file(form),
                           unmapped=self.unmapped)

    def english(self, frame: pd.DataFrame, form: str, column: str, dataset: str, variable: str) -> tuple[pd.Series, pd.Series]:
        """Text bound for XPT: ASCII as is, non-ASCII through the translations sheet.

        Returns the values and a flag of the rows that were translated. Text with no rendering
        is logged (file, row, column, value) and stays as it is.
        """
        values = frame[column]
        foreign = values.notna() & ~per_distinct(values.fillna(""), lambda v: v.map(str.isascii))
        rendered = values.where(~foreign, values.map(self.translations.english))
        missing = foreign & rendered.isna()
        for text, rows in values[missing].groupby(values[missing], sort=True).groups.items():
            shown = ", ".join(str(r) for r in rows[:10]) + (" ..." if len(rows) > 10 else "")
            self.untranslated.append(Problem(
                self.file(form), int(rows[0]), column, text,
                f"non-ASCII text bound for XPT ({dataset}.{variable}) has no English rendering in "
                f"{self.translations.file} ({len(rows)} row(s): {shown})"))
        return rendered.where(~missing, values), foreign & ~missing

    def epoch_of(self, dtc: pd.Series, subjects: pd.Series, ref: pd.DataFrame, dataset: str, form: str) -> pd.Series:
        """EPOCH of each date against its subject's REVLIMID exposure (spec method MT.<DOMAIN>.EPOCH):
        SCREENING before the first dose, TREATMENT up to the last (or while ongoing), FOLLOW-UP after."""
        by = ref.set_index("SUBJID")
        values = epoch(dtc, subjects.map(by["RFSTDTC"]), subjects.map(by["EPOCH_END"]),
                       before="SCREENING", during="TREATMENT", after="FOLLOW-UP")
        return self.check(values, dataset, "EPOCH", form)

    def reconcile(self, dataset: str, form: str, rows_in: int, records_out: int, dropped: str = "") -> None:
        line = f"  {dataset:<7} <- {form:<9} raw rows {rows_in:>8}  records {records_out:>8}"
        if rows_in != records_out or dropped:
            line += f"  ({dropped or 'derived records'})"
        self.reconciliation.append(line)

    def raise_problems(self) -> None:
        problems = self.unmapped.problems() + self.untranslated
        if problems:
            raise SubError(problems, f"SDTM mapping: {len(problems)} problem(s); nothing was written")
