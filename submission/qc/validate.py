"""`sub validate PATH`: read a package (or a folder, or one file), run every rule, report findings.

PATH may be a built package (with sdtm/ and adam/), a folder of SDTM or ADaM XPT and Dataset-JSON
files (mixed is fine: ADaM names start with AD), or one file. Whatever is there is checked and
whatever is absent is skipped with a notice, so the same command serves an SDTM-only build, a
full package and another sponsor's SAS files.

Findings come back as data (`Report`); `render_console`, `write_report` and `exit_code` derive
from them. The one exception is a run that cannot happen at all (no such path, nothing readable,
a broken spec): `CannotValidate`, exit code 2.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..columns import Distinct, DistinctValues, map_distinct
from ..dataset import Dataset
from ..errors import Problem, SubError
from .rules import CHECKS, RULES, SEVERITIES, Example, Finding, finding

if TYPE_CHECKING:
    from collections.abc import Callable

STANDARD_FOLDERS = {"sdtm": "SDTM", "adam": "ADaM"}
SHOWN_EXAMPLES = 3
_XPT_V5 = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"
_XPT_V8 = b"HEADER RECORD*******LIBV8   HEADER RECORD!!!!!!!"


class CannotValidate(SubError):
    """Validation cannot run at all (as opposed to findings): exit code 2."""

    exit_code = 2


@dataclass
class Member:
    """One dataset of the package: its XPT file, its Dataset-JSON twin, or both."""

    name: str
    standard: str  # "SDTM" or "ADaM"
    folder: Path
    xpt: Path | None = None
    json: Path | None = None
    xpt_data: Dataset | None = None
    json_data: Dataset | None = None
    json_obj: dict | None = None  # the Dataset-JSON document without its rows (they are in json_data)
    json_problems: list | None = None  # its structure problems, found while its rows were in memory
    twin_findings: list | None = None  # XPT against Dataset-JSON, compared as soon as both were read
    widths: dict[str, int] = field(default_factory=dict)  # character lengths as stored (XPT, else JSON `length`)
    xpt_version: int | None = None
    spec: object | None = None  # the study Spec when it describes this dataset, else None
    spec_note: str | None = None  # why the spec does not describe it
    _texts: dict = field(default_factory=dict, repr=False)
    _distinct: DistinctValues | None = field(default=None, repr=False)

    @property
    def data(self) -> Dataset | None:
        return self.xpt_data if self.xpt_data is not None else self.json_data

    @property
    def frame(self) -> pd.DataFrame:
        return self.data.frame

    @property
    def file(self) -> str:
        return str(self.xpt or self.json)

    @property
    def records(self) -> int:
        return len(self.frame) if self.data is not None else 0

    @property
    def distinct(self) -> DistinctValues:
        """The factorized text columns of `data` (columns.DistinctValues), found once and shared by
        `text`, `map_text`, `where_text`, `text_length` and the XPT v5 checks."""
        if self._distinct is None or self._distinct.ds is not self.data:
            self._distinct = DistinctValues(self.data)
        return self._distinct

    def _plain_text(self, variable: str) -> Distinct | None:
        """A column of str as codes into its distinct values; None for any other column."""
        return self.distinct.text(variable)

    def text(self, variable: str) -> pd.Series:
        """A column as text (None when missing), computed once: most rules look at the same few.
        A column of str is converted on its distinct values (only "" changes: it is missing)."""
        from .rules import texts

        if variable not in self._texts:
            found = self._plain_text(variable)
            if found is None:
                self._texts[variable] = texts(self.frame[variable])
            else:
                table = found.lookup(_as_texts(found.values), None)
                self._texts[variable] = pd.Series(table[found.codes], index=self.frame.index, dtype=object)
        return self._texts[variable]

    def map_text(self, variable: str, fn: Callable) -> pd.Series:
        """`fn` of each value of `text(variable)` (object results; fn(None) where missing), called once
        per distinct value: `columns.map_distinct` without factorizing the column again."""
        found = self._plain_text(variable)
        if found is None:
            return map_distinct(self.text(variable), fn)
        table = np.empty(len(found.values), dtype=object)
        for i, value in enumerate(_as_texts(found.values)):
            table[i] = fn(value)
        return pd.Series(found.lookup(table, fn(None))[found.codes], index=self.frame.index, dtype=object)

    def where_text(self, variable: str, predicate: Callable[[str | None], bool]) -> pd.Series:
        """`predicate` of each value of `text(variable)` (None where missing) as a bool Series, decided
        once per distinct value (no pass of pandas' isna or isin over the records)."""
        found = self._plain_text(variable)
        if found is None:
            return self.map_text(variable, predicate).astype(bool)
        table = np.array([bool(predicate(v)) for v in _as_texts(found.values)], dtype=bool)
        return pd.Series(found.lookup(table, bool(predicate(None)))[found.codes], index=self.frame.index, dtype=bool)

    def missing(self, variable: str) -> pd.Series:
        """`text(variable).isna()`: missing, blank or NaN (a number or a date only as NaN or NaT)."""
        values = self.frame[variable]
        if isinstance(values.dtype, np.dtype) and values.dtype.kind in "fiubM":
            return values.isna()
        return self.where_text(variable, lambda v: v is None)

    def text_length(self, variable: str) -> int:
        """`Dataset.text_length` (the longest value in bytes, at least 1) on the shared distinct values."""
        found = self._plain_text(variable)
        if found is None:
            return self.data.text_length(variable)
        if "".join(found.values).isascii():
            return max(1, max(map(len, found.values), default=0))
        return max(1, max((len(v.encode("utf-8")) for v in found.values), default=0))


def _as_texts(values: list[str]) -> np.ndarray:
    """Distinct str values in their text form (rules.texts): themselves, "" as None (missing)."""
    out = np.empty(len(values), dtype=object)
    out[:] = [v if v != "" else None for v in values]
    return out


@dataclass
class Package:
    path: Path
    folders: list[tuple[str, Path]]  # (standard, folder) holding datasets; standard "" when mixed
    members: list[Member]
    specs: dict = field(default_factory=dict)  # "SDTM"/"ADaM" -> Spec
    studyid: str | None = None
    read_findings: list[Finding] = field(default_factory=list)

    def of(self, standard: str) -> list[Member]:
        return [m for m in self.members if m.standard == standard and m.data is not None]

    def get(self, standard: str, name: str) -> Member | None:
        return next((m for m in self.members if m.standard == standard and m.name == name), None)

    def has(self, standard: str) -> bool:
        return bool(self.of(standard))

    @property
    def has_json(self) -> bool:
        return any(m.json is not None for m in self.members)


@dataclass
class Report:
    path: Path
    package: Package
    findings: list[Finding]

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def exit_code(self) -> int:
        return 1 if self.count("error") else 0


# --- reading ---------------------------------------------------------------------------------

def _standard_of(folder: Path, name: str) -> str:
    by_folder = STANDARD_FOLDERS.get(folder.name.lower())
    if by_folder:
        return by_folder
    return "ADaM" if name.upper().startswith("AD") else "SDTM"


def _dataset_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".xpt", ".json"))


def discover(path: Path) -> tuple[list[tuple[str, Path]], list[Path]]:
    """(folders, files) to read: a package's sdtm/ and adam/, a folder's own files, or one file."""
    path = Path(path)
    if not path.exists():
        raise CannotValidate(Problem(str(path), None, None, None, "no such file or folder"), "cannot validate")
    if path.is_file():
        if path.suffix.lower() not in (".xpt", ".json"):
            raise CannotValidate(Problem(str(path), None, None, None, "not an .xpt or Dataset-JSON .json file"),
                                 "cannot validate")
        return [], [path]
    subfolders = [p for p in sorted(path.iterdir()) if p.is_dir() and p.name.lower() in STANDARD_FOLDERS]
    folders = [(STANDARD_FOLDERS[p.name.lower()], p) for p in subfolders] if subfolders else \
        [(STANDARD_FOLDERS.get(path.name.lower(), ""), path)]
    files = [f for _, folder in folders for f in _dataset_files(folder)]
    return folders, files


def _xpt_version(path: Path) -> int | None:
    with open(path, "rb") as handle:
        head = handle.read(80)
    return 5 if head.startswith(_XPT_V5) else 8 if head.startswith(_XPT_V8) else None


def _read_xpt_member(member: Member, findings: list[Finding]) -> None:
    import pyreadstat

    from ..xpt import read_xpt

    try:
        member.xpt_version = _xpt_version(member.xpt)
        known: dict = {}  # the text columns the reader factorized: the rules' DistinctValues start from them
        member.xpt_data = read_xpt(member.xpt, distinct=known)
        member._distinct = DistinctValues(member.xpt_data, known)
        _, meta = pyreadstat.read_xport(str(member.xpt), metadataonly=True)
        member.widths = {k: int(v) for k, v in (meta.variable_storage_width or {}).items()
                         if member.xpt_data is not None and k in member.xpt_data.frame.columns
                         and member.xpt_data.column(k).kind == "text"}
    except SubError as exc:
        member.xpt_data = None
        findings.append(finding("SUB-SYS-002", member, None, 1, "; ".join(p.message for p in exc.problems)[:300],
                                file=str(member.xpt)))
    except Exception as exc:  # noqa: BLE001 - a file broken in a way the reader did not foresee is a finding
        member.xpt_data = None
        findings.append(finding("SUB-SYS-002", member, None, 1, f"{type(exc).__name__}: {exc}"[:300],
                                file=str(member.xpt)))


def _problems_text(problems: list[Problem]) -> str:
    """A reader's problems in one finding message (the finding names the file)."""
    return "; ".join(f"{p.column}: {p.message}" if p.column else p.message for p in problems)[:300]


def _read_json_member(member: Member, findings: list[Finding]) -> None:
    """Parse the Dataset-JSON file once: its structure is checked and its table built while the
    parsed rows are in memory, then only the document's other attributes are kept (a million rows
    as Python lists take several times the memory of the table). The parsed rows are gone before
    Python's cyclic collector runs again (`collector_paused`): it never walks them."""
    from ..datasetjson import collector_paused

    with collector_paused():
        _read_json_document(member, findings)


def _read_json_document(member: Member, findings: list[Finding]) -> None:
    from ..datasetjson import (
        dataset_from_json,
        load_json,
        rows_frame,
        structure_problems,
    )

    try:
        constants: set[str] = set()
        obj = load_json(member.json, constants=constants)
    except SubError as exc:
        findings.append(finding("SUB-SYS-002", member, None, 1, _problems_text(exc.problems), file=str(member.json)))
        return
    if not isinstance(obj, dict):
        findings.append(finding("SUB-SYS-002", member, None, 1, "not Dataset-JSON: the top level is not a JSON object",
                                file=str(member.json)))
        return
    table = rows_frame(obj)  # the rows as one table, shared by the structure check and the dataset
    member.json_problems = structure_problems(obj, str(member.json), table, nan="NaN" in constants)
    member.json_obj = {k: v for k, v in obj.items() if k != "rows"}
    try:
        member.json_data = dataset_from_json(obj, member.json, table)
    except SubError as exc:
        findings.append(finding("SUB-SYS-002", member, None, 1, _problems_text(exc.problems), file=str(member.json)))
        return
    except Exception as exc:  # noqa: BLE001 - as for XPT: a finding, not a crash
        findings.append(finding("SUB-SYS-002", member, None, 1, f"{type(exc).__name__}: {exc}"[:300],
                                file=str(member.json)))
        return
    if member.xpt_data is None:
        columns = obj.get("columns") if isinstance(obj.get("columns"), list) else []
        member.widths = {c["name"]: c["length"] for c in columns if isinstance(c, dict)
                         and c.get("dataType") == "string" and isinstance(c.get("length"), int)}


def _looks_like_dataset_json(path: Path) -> bool:
    """Other JSON files (a manifest, an ARD) sit beside datasets; only Dataset-JSON is read."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return True  # let the reader report it
    return any(key in head for key in (b'"datasetJSONVersion"', b'"columns"', b'"rows"', b'"itemGroupOID"'))


def read_package(path: Path) -> Package:
    folders, files = discover(path)
    members: dict[tuple[Path, str], Member] = {}
    for file in files:
        if file.suffix.lower() == ".json" and not _looks_like_dataset_json(file):
            continue
        name = file.stem.upper()
        key = (file.parent, name)
        member = members.get(key) or Member(name, _standard_of(file.parent, name), file.parent)
        members[key] = member
        if file.suffix.lower() == ".xpt":
            member.xpt = file
        else:
            member.json = file
    findings: list[Finding] = []
    for member in members.values():
        if member.xpt is not None:
            _read_xpt_member(member, findings)
        if member.json is not None:
            _read_json_member(member, findings)
        if member.xpt_data is not None and member.json_data is not None:
            # compare the twins now and let the JSON table go: a package holds one of them at a time
            from .rules import twin_findings

            member.twin_findings = twin_findings(member)
            member.json_data = None
    readable = [m for m in members.values() if m.data is not None]
    if not readable:
        what = "no .xpt or Dataset-JSON files" if not members else "no file could be read"
        problems = [Problem(f.file or str(path), None, None, None, f.message) for f in findings] or \
                   [Problem(str(path), None, None, None, what)]
        raise CannotValidate(problems, "cannot validate")
    package = Package(Path(path), folders,  # one file: no folder, so no define.xml check
                      sorted(members.values(), key=lambda m: (m.standard != "SDTM", str(m.folder), m.name)),
                      read_findings=findings)
    return package


# --- the spec --------------------------------------------------------------------------------

def load_specs(specs_dir: Path) -> tuple[dict, str | None]:
    """({"SDTM": Spec, "ADaM": Spec}, the study's STUDYID) from a study's specs folder or one standard's."""
    from ..spec import check_spec

    specs_dir = Path(specs_dir)
    if not specs_dir.is_dir():
        raise CannotValidate(Problem(str(specs_dir), None, None, None, "spec folder not found"),
                             f"cannot validate: no spec folder {specs_dir}")
    if (specs_dir / "Datasets.csv").exists():
        folders, root = [specs_dir], specs_dir.parent
    else:
        folders, root = [specs_dir / "sdtm", specs_dir / "adam"], specs_dir
        folders = [f for f in folders if (f / "Datasets.csv").exists()]
        if not folders:
            raise CannotValidate(Problem(str(specs_dir), None, None, None, "no sdtm/ or adam/ spec (Datasets.csv) here"),
                                 f"cannot validate: {specs_dir} is not a specs folder")
    specs = {}
    for folder in folders:
        spec, problems = check_spec(folder)
        if problems:
            raise CannotValidate(problems, f"cannot validate: spec {folder} has {len(problems)} problem(s) "
                                           f"(run `sub spec check`)")
        standards = {ds.standard for ds in spec.datasets.values()}
        standard = "ADaM" if any(s.startswith("ADaM") for s in standards) else "SDTM"
        specs[standard] = spec
    studyid = None
    toml = root / "study.toml"
    if toml.is_file():
        try:
            studyid = tomllib.loads(toml.read_text(encoding="utf-8")).get("study", {}).get("studyid")
        except (OSError, tomllib.TOMLDecodeError):
            studyid = None
    return specs, studyid


def attach_specs(package: Package, specs: dict, studyid: str | None) -> None:
    """Decide, per dataset, whether the study spec describes it (same name, same study)."""
    package.specs, package.studyid = specs, studyid
    for m in package.members:
        if m.data is None:
            continue
        spec = specs.get(m.standard)
        if spec is None:
            m.spec_note = f"no {m.standard} spec"
            continue
        if m.name not in spec.datasets:
            m.spec_note = f"the {m.standard} spec has no dataset {m.name}"
            continue
        if studyid and "STUDYID" in m.frame.columns:
            found = sorted({str(v) for v in m.frame["STUDYID"].dropna() if str(v) != ""})
            if found and found != [studyid]:
                m.spec_note = f"STUDYID {', '.join(found[:3])} is not the spec's study {studyid}"
                continue
        m.spec = spec


# --- running ---------------------------------------------------------------------------------

def run_rules(package: Package) -> list[Finding]:
    """Every rule on a package already read (and given its specs), errors first."""
    findings = list(package.read_findings)
    for check in CHECKS:
        findings.extend(check(package))
    order = {s: i for i, s in enumerate(SEVERITIES)}
    rule_order = {r: i for i, r in enumerate(RULES)}
    findings.sort(key=lambda f: (order[f.severity], rule_order[f.rule], f.standard or "", f.dataset or "",
                                 f.variable or ""))
    return findings


def validate(path: Path, specs_dir: Path) -> Report:
    package = read_package(path)
    specs, studyid = load_specs(specs_dir)
    attach_specs(package, specs, studyid)
    return Report(Path(path), package, run_rules(package))


# --- output ----------------------------------------------------------------------------------

def rules_table() -> list[tuple[str, str, str]]:
    return [(r.id, r.severity, r.description) for r in RULES.values()]


def _examples_text(examples: list[Example], limit: int = SHOWN_EXAMPLES) -> str:
    parts = []
    for e in examples[:limit]:
        value = "" if e.value is None else repr(e.value) if len(e.value) <= 60 else repr(e.value[:57] + "...")
        parts.append(f"{e.usubjid}: {value}" if e.usubjid else value)
    return "; ".join(p for p in parts if p)


def render_console(report: Report) -> list[str]:
    rows = [(f.rule, f.severity, f.dataset or "", f.variable or "", str(f.count),
             f.message + (f" [{ex}]" if (ex := _examples_text(f.examples)) else "")
             + (f" (file {f.file})" if f.rule == "SUB-SYS-002" and f.file and f.file not in f.message else ""))
            for f in report.findings]
    header = ("RULE", "SEVERITY", "DATASET", "VARIABLE", "COUNT", "FINDING (first examples: USUBJID: value)")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    lines = []
    if rows:
        def line(r):
            return "  ".join([r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2].ljust(widths[2]),
                              r[3].ljust(widths[3]), r[4].rjust(widths[4]), r[5]])
        lines.append(line(header))
        lines.extend(line(r) for r in rows)
    pkg = report.package
    counts = {s: sum(1 for m in pkg.members if m.standard == s and m.data is not None) for s in ("SDTM", "ADaM")}
    datasets = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    described = sum(1 for m in pkg.members if m.spec is not None)
    lines.append(f"validated {report.path}: {datasets} dataset(s), {described} described by the study spec; "
                 f"{report.count('error')} error(s), {report.count('warning')} warning(s), "
                 f"{report.count('notice')} notice(s); {len(RULES)} rules")
    return lines


def report_dict(report: Report) -> dict:
    pkg = report.package
    return {
        "path": str(report.path),
        "summary": {s: report.count(s) for s in SEVERITIES},
        "datasets": [{"name": m.name, "standard": m.standard, "records": m.records,
                      "xpt": str(m.xpt) if m.xpt else None, "json": str(m.json) if m.json else None,
                      "described_by_spec": m.spec is not None, "spec_note": m.spec_note} for m in pkg.members],
        "rules": [{"id": r.id, "severity": r.severity, "description": r.description} for r in RULES.values()],
        "findings": [asdict(f) for f in report.findings],
    }


def write_report(report: Report, path: Path) -> None:
    """The findings as JSON (.json) or an Excel workbook (.xlsx); the kind follows the extension."""
    from ..io import write_atomic

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        body = json.dumps(report_dict(report), ensure_ascii=False, indent=2)
        write_atomic(path, (body + "\n").encode("utf-8"))
    elif suffix == ".xlsx":
        write_atomic(path, _xlsx_bytes(report))
    else:
        raise CannotValidate(Problem(str(path), None, None, None, "the report must end in .json or .xlsx"),
                             "cannot write the report")


def _xlsx_bytes(report: Report) -> bytes:
    """The findings workbook: every cell a string or a number, never a formula (submission/spreadsheet.py)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from ..spreadsheet import workbook_bytes, write_rows

    book = Workbook()
    sheets = {
        "Findings": (("Rule", "Severity", "Standard", "Dataset", "Variable", "Count", "Message", "Examples", "File"),
                     [(f.rule, f.severity, f.standard, f.dataset, f.variable, f.count, f.message,
                       _examples_text(f.examples, limit=len(f.examples)), f.file) for f in report.findings]),
        "Examples": (("Rule", "Dataset", "Variable", "USUBJID", "Value"),
                     [(f.rule, f.dataset, f.variable, e.usubjid, e.value) for f in report.findings for e in f.examples]),
        "Datasets": (("Dataset", "Standard", "Records", "XPT", "Dataset-JSON", "Described by spec", "Note"),
                     [(m.name, m.standard, m.records, str(m.xpt or ""), str(m.json or ""),
                       "Yes" if m.spec is not None else "No", m.spec_note) for m in report.package.members]),
        "Rules": (("Rule", "Severity", "Description"), rules_table()),
    }
    first = True
    for title, (header, rows) in sheets.items():
        sheet = book.active if first else book.create_sheet()
        first = False
        sheet.title = title
        write_rows(sheet, [header])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        write_rows(sheet, (["" if v is None else v for v in row] for row in rows), first_row=2)
        sheet.freeze_panes = "A2"
    return workbook_bytes(book)
