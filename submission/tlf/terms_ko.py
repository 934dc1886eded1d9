"""Korean names of coded terms (MedDRA SOC and PT, ATC classes, WHODrug drug names) for the report.

MedDRA is maintained in Korean and a sponsor's licence includes it (domain.md section 8), but an
XPT file is ASCII only, so the Korean names cannot travel in the datasets. They come as a study
input beside the label-terms table: `terms_ko.csv` of the specs folder given to the report, one
row per coded term:

    dictionary,level,code,name_en,name_ko,source
    MedDRA,SOC,10005329,Blood and lymphatic system disorders,혈액 및 림프계 장애,...
    MedDRA,PT,10029354,Neutropenia,호중구감소증,...
    ATC,ATC4,B01AC,Platelet aggregation inhibitors excl. heparin,헤파린을 제외한 혈소판 응집 억제제,...
    WHODrug,DRUG,,ACETYLSALICYLIC ACID,아세틸살리실산,...

A term is found by its code where the ADaM carries one (ADAE AEPTCD and AEBDSYCD, ADCM CMCLASCD);
where it carries none (ADMH has no MedDRA codes, ADCM no drug code) by the English name of a row
of the same level. A term without a Korean name keeps its English name, and the report says so
once. The report reads only names; the numbers never depend on this table.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import Problem, SubError
from ._frames import is_missing

TERMS_FILE = "terms_ko.csv"
COLUMNS = ("dictionary", "level", "code", "name_en", "name_ko", "source")
LEVELS = {"SOC", "PT", "ATC4", "DRUG"}

# (ADaM dataset, name column, code column or None, level) of every coded term the report prints.
ADAM_TERMS: tuple[tuple[str, str, str | None, str], ...] = (
    ("ADAE", "AEBODSYS", "AEBDSYCD", "SOC"),
    ("ADAE", "AEDECOD", "AEPTCD", "PT"),
    ("ADMH", "MHBODSYS", None, "SOC"),
    ("ADMH", "MHDECOD", None, "PT"),
    ("ADCM", "CMCLAS", "CMCLASCD", "ATC4"),
    ("ADCM", "CMDECOD", None, "DRUG"),
)


def _code(value) -> str:
    """A code as text: 10029354.0 read back from XPT is "10029354"."""
    if is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass(frozen=True)
class TermNames:
    """The study's table of Korean term names (empty when the study ships none)."""

    by_code: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (level, code) -> Korean
    by_name: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (level, English) -> Korean
    versions: tuple[str, ...] = ()
    path: str = ""

    @classmethod
    def load(cls, folder: Path) -> TermNames:
        """`terms_ko.csv` of a specs folder; a missing file gives an empty table (the report then
        prints English names and says so). A malformed file stops the report with every problem."""
        path = Path(folder) / TERMS_FILE
        if not path.is_file():
            return cls(path=str(path))
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise SubError(Problem(str(path), None, None, None, f"not UTF-8 text: {exc.reason}")) from None
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SubError(Problem(str(path), 1, None, ", ".join(missing), "column(s) missing"),
                           "the table of Korean term names cannot be read")
        problems, by_code, by_name, versions = [], {}, {}, []
        for row_number, row in enumerate(reader, start=2):
            level, code = (row["level"] or "").strip(), (row["code"] or "").strip()
            name_en, name_ko = (row["name_en"] or "").strip(), (row["name_ko"] or "").strip()
            if level not in LEVELS:
                problems.append(Problem(str(path), row_number, "level", level,
                                        f"expected one of {', '.join(sorted(LEVELS))}"))
                continue
            if not name_en or not name_ko:
                problems.append(Problem(str(path), row_number, "name_ko" if name_en else "name_en", "",
                                        "a row needs both the English and the Korean name"))
                continue
            if code:
                if by_code.get((level, code), name_ko) != name_ko:
                    problems.append(Problem(str(path), row_number, "code", code, "code has two Korean names"))
                by_code[(level, code)] = name_ko
            by_name.setdefault((level, name_en), name_ko)
            version = (row["source"] or "").split(":")[0].strip()
            if version and version not in versions:
                versions.append(version)
        if problems:
            raise SubError(problems, "the table of Korean term names cannot be read")
        return cls(by_code, by_name, tuple(versions), str(path))

    def __bool__(self) -> bool:
        return bool(self.by_code or self.by_name)

    def korean(self, level: str, name, code=None) -> str | None:
        """The Korean name of a term (by code first, then by English name), or None."""
        if is_missing(name):
            return None
        found = self.by_code.get((level, _code(code))) if not is_missing(code) else None
        return found or self.by_name.get((level, str(name)))

    def for_adam(self, adam: Mapping[str, pd.DataFrame]) -> TermLabels:
        """English name -> Korean name of every coded term the ADaM frames hold, and the names
        that have none (they stay English)."""
        labels: dict[str, str] = {}
        untranslated: set[str] = set()
        for dataset, name_col, code_col, level in ADAM_TERMS:
            frame = adam.get(dataset)
            if frame is None or name_col not in frame.columns:
                continue
            columns = [name_col] + ([code_col] if code_col and code_col in frame.columns else [])
            pairs = frame[columns].drop_duplicates()
            for record in pairs.itertuples(index=False):
                name = record[0]
                if is_missing(name):
                    continue
                korean = self.korean(level, name, record[1] if len(columns) > 1 else None)
                if korean:
                    labels.setdefault(str(name), korean)
                else:
                    untranslated.add(str(name))
        return TermLabels(labels, frozenset(untranslated - set(labels)))


@dataclass(frozen=True)
class TermLabels:
    """English -> Korean names of the terms of one study's data, and those left in English."""

    names: Mapping[str, str] = field(default_factory=dict)
    untranslated: frozenset[str] = frozenset()

    def __call__(self, name) -> str:
        """The Korean name, or the English one when there is none."""
        text = "" if is_missing(name) else str(name)
        return self.names.get(text, text)

    def with_english(self, name) -> str:
        """'호중구감소증(Neutropenia)' (first use in running text), or the English name alone."""
        text = "" if is_missing(name) else str(name)
        korean = self.names.get(text)
        return f"{korean}({text})" if korean else text

    def shown_untranslated(self, names: Iterable) -> list[str]:
        return sorted({str(n) for n in names if not is_missing(n) and str(n) in self.untranslated})
