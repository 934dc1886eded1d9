"""The Pinnacle 21 spec sheets (CSV, one per sheet) as pydantic models, cross-checked on load.

One spec drives the dataset attributes, the conformance checks and define.xml, so they cannot
disagree. `check_spec` returns every problem it finds (file, row, column, value) instead of
stopping at the first; `load_spec` raises them together as one SubError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from .csvio import read_table
from .errors import Problem, SubError

XPT_NAME = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")
MAX_LABEL = 40

DATA_TYPES = ("text", "integer", "float", "date", "datetime", "time", "partialDate", "partialTime",
              "partialDatetime", "incompleteDatetime", "durationDatetime", "intervalDatetime")
CLASSES = ("SPECIAL PURPOSE", "INTERVENTIONS", "EVENTS", "FINDINGS", "FINDINGS ABOUT", "TRIAL DESIGN",
           "STUDY REFERENCE", "RELATIONSHIP", "SUBJECT LEVEL ANALYSIS DATASET", "BASIC DATA STRUCTURE",
           "OCCURRENCE DATA STRUCTURE", "ADAM OTHER")
ORIGINS = ("Collected", "Derived", "Assigned", "Protocol", "Predecessor", "Not Available")
SOURCES = ("Investigator", "Sponsor", "Subject", "Vendor")
ROLES = ("Identifier", "Topic", "Grouping Qualifier", "Synonym Qualifier", "Result Qualifier",
         "Variable Qualifier", "Record Qualifier", "Rule", "Timing")
COMPARATORS = ("EQ", "NE", "LT", "LE", "GT", "GE", "IN", "NOTIN")
STANDARDS = ("SDTMIG 3.4", "ADaMIG 1.3")


def _blank_none(value: object) -> object:
    return None if isinstance(value, str) and value.strip() == "" else value


def _yes_no(value: object) -> object:
    if isinstance(value, str):
        if value == "Yes":
            return True
        if value == "No":
            return False
        raise ValueError("expected Yes or No")
    return value


Opt = Annotated[str | None, BeforeValidator(_blank_none)]
OptInt = Annotated[int | None, BeforeValidator(_blank_none)]
YesNo = Annotated[bool, BeforeValidator(_yes_no)]
OptYesNo = Annotated[bool | None, BeforeValidator(lambda v: _yes_no(_blank_none(v)))]


class Sheet(BaseModel):
    """A row of a P21 sheet; field aliases are the sheet's column names."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    sheet: ClassVar[str]
    line: int = 0  # row in the file (header = 1), for messages

    @classmethod
    def columns(cls) -> list[str]:
        return [f.alias or n for n, f in cls.model_fields.items() if n != "line"]


def _f(alias: str):
    return Field(alias=alias)


class DatasetSpec(Sheet):
    sheet: ClassVar[str] = "Datasets"
    dataset: str = _f("Dataset")
    label: str = _f("Label")
    klass: Literal[CLASSES] = _f("Class")  # type: ignore[valid-type]
    subclass: Opt = _f("SubClass")
    structure: str = _f("Structure")
    key_variables: list[str] = _f("Key Variables")
    standard: Literal[STANDARDS] = _f("Standard")  # type: ignore[valid-type]
    has_no_data: OptYesNo = _f("Has No Data")
    repeating: YesNo = _f("Repeating")
    reference_data: YesNo = _f("Reference Data")
    comment: Opt = _f("Comment")
    developer_notes: Opt = _f("Developer Notes")

    @field_validator("key_variables", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value


class _VariableBase(Sheet):
    order: int = _f("Order")
    dataset: str = _f("Dataset")
    variable: str = _f("Variable")
    label: Opt = _f("Label")
    data_type: Literal[DATA_TYPES] = _f("Data Type")  # type: ignore[valid-type]
    length: OptInt = _f("Length")
    significant_digits: OptInt = _f("Significant Digits")
    format: Opt = _f("Format")
    mandatory: YesNo = _f("Mandatory")
    assigned_value: Opt = _f("Assigned Value")
    codelist: Opt = _f("Codelist")
    origin: Literal[ORIGINS] = _f("Origin")  # type: ignore[valid-type]
    source: Annotated[Literal[SOURCES] | None, BeforeValidator(_blank_none)] = _f("Source")  # type: ignore[valid-type]
    pages: Opt = _f("Pages")
    method: Opt = _f("Method")
    predecessor: Opt = _f("Predecessor")
    comment: Opt = _f("Comment")
    developer_notes: Opt = _f("Developer Notes")

    @property
    def is_numeric(self) -> bool:
        return self.data_type in {"integer", "float"}


class VariableSpec(_VariableBase):
    sheet: ClassVar[str] = "Variables"
    common: OptYesNo = _f("Common")
    role: Annotated[Literal[ROLES] | None, BeforeValidator(_blank_none)] = _f("Role")  # type: ignore[valid-type]
    has_no_data: OptYesNo = _f("Has No Data")


class ValueLevelSpec(_VariableBase):
    sheet: ClassVar[str] = "ValueLevel"
    where_clause: str = _f("Where Clause")


class WhereClauseSpec(Sheet):
    sheet: ClassVar[str] = "WhereClauses"
    id: str = _f("ID")
    dataset: str = _f("Dataset")
    variable: str = _f("Variable")
    comparator: Literal[COMPARATORS] = _f("Comparator")  # type: ignore[valid-type]
    value: str = _f("Value")

    @property
    def values(self) -> list[str]:
        return self.value.split("|") if self.comparator in {"IN", "NOTIN"} else [self.value]


class CodelistRow(Sheet):
    sheet: ClassVar[str] = "Codelists"
    id: str = _f("ID")
    name: str = _f("Name")
    nci_codelist_code: Opt = _f("NCI Codelist Code")
    data_type: Literal["text", "integer", "float"] = _f("Data Type")
    terminology: Opt = _f("Terminology")
    comment: Opt = _f("Comment")
    order: int = _f("Order")
    term: str = _f("Term")
    nci_term_code: Opt = _f("NCI Term Code")
    decoded_value: Opt = _f("Decoded Value")


class DictionarySpec(Sheet):
    sheet: ClassVar[str] = "Dictionaries"
    id: str = _f("ID")
    name: str = _f("Name")
    data_type: Literal["text", "integer", "float"] = _f("Data Type")
    dictionary: str = _f("Dictionary")
    version: str = _f("Version")


class MethodSpec(Sheet):
    sheet: ClassVar[str] = "Methods"
    id: str = _f("ID")
    name: str = _f("Name")
    type: Literal["Computation", "Imputation"] = _f("Type")
    description: str = _f("Description")
    expression_context: Opt = _f("Expression Context")
    expression_code: Opt = _f("Expression Code")
    document: Opt = _f("Document")
    pages: Opt = _f("Pages")


class CommentSpec(Sheet):
    sheet: ClassVar[str] = "Comments"
    id: str = _f("ID")
    description: str = _f("Description")
    document: Opt = _f("Document")
    pages: Opt = _f("Pages")


class DocumentSpec(Sheet):
    sheet: ClassVar[str] = "Documents"
    id: str = _f("ID")
    title: str = _f("Title")
    href: str = _f("Href")


SHEETS: tuple[type[Sheet], ...] = (DatasetSpec, VariableSpec, ValueLevelSpec, WhereClauseSpec, CodelistRow,
                                   DictionarySpec, MethodSpec, CommentSpec, DocumentSpec)


@dataclass(frozen=True)
class Codelist:
    id: str
    name: str
    nci_code: str | None
    data_type: str
    terminology: str | None
    terms: tuple[CodelistRow, ...]

    @property
    def values(self) -> list[str]:
        return [t.term for t in self.terms]


@dataclass
class Spec:
    """One standard's spec (SDTM or ADaM): every sheet, indexed for lookups."""

    folder: Path
    datasets: dict[str, DatasetSpec]
    variables: list[VariableSpec]
    value_level: list[ValueLevelSpec]
    where_clauses: dict[str, list[WhereClauseSpec]]
    codelists: dict[str, Codelist]
    dictionaries: dict[str, DictionarySpec]
    methods: dict[str, MethodSpec]
    comments: dict[str, CommentSpec]
    documents: dict[str, DocumentSpec]
    _by_dataset: dict[str, list[VariableSpec]] = field(default_factory=dict, repr=False)

    def variables_of(self, dataset: str) -> list[VariableSpec]:
        """The dataset's variables in their spec order."""
        if not self._by_dataset:
            for v in sorted(self.variables, key=lambda v: (v.dataset, v.order)):
                self._by_dataset.setdefault(v.dataset, []).append(v)
        return self._by_dataset.get(dataset, [])

    def variable(self, dataset: str, name: str) -> VariableSpec | None:
        return next((v for v in self.variables_of(dataset) if v.variable == name), None)


def _read_sheet(folder: Path, model: type[Sheet], problems: list[Problem]) -> list:
    path = folder / f"{model.sheet}.csv"
    table, read_problems = read_table(path)
    problems.extend(read_problems)
    if table is None:
        return []
    expected = model.columns()
    missing = [c for c in expected if c not in table.header]
    for column in missing:
        problems.append(Problem(table.name, 1, column, None, "required column is missing"))
    for column in table.header:
        if column not in expected:
            problems.append(Problem(table.name, 1, column, None, "unknown column for this sheet"))
    if missing:
        return []
    aliases = {(f.alias or n): n for n, f in model.model_fields.items()}
    rows = []
    for row, line in zip(table.rows, table.lines):
        spill = [cell for cell in row[len(table.header):] if cell.strip()]
        if spill:  # the value would be cut silently where an unquoted comma split it
            problems.append(Problem(table.name, line, None, spill[0],
                                    f"{len(row)} cells for {len(table.header)} columns (a comma in an unquoted value?)"))
            continue
        record = {c: (row[i].strip() if i < len(row) else "") for i, c in enumerate(table.header) if c in expected}
        for column, value in record.items():
            if value[:1] in {"=", "+", "@"} and column not in {"Expression Code", "Value", "Term"}:
                problems.append(Problem(table.name, line, column, value, "looks like a spreadsheet formula"))
            if "&" in value and re.search(r"&[A-Za-z#][A-Za-z0-9]*;", value):
                problems.append(Problem(table.name, line, column, value, "contains an XML entity; write the character itself"))
        try:
            rows.append(model(line=line, **record))
        except ValidationError as exc:
            for err in exc.errors():
                name = err["loc"][0] if err["loc"] else None
                column = next((a for a, n in aliases.items() if n == name or a == name), str(name))
                problems.append(Problem(table.name, line, column, record.get(column), _message(err)))
    return rows


def _message(err: dict) -> str:
    message = err["msg"]
    if message.startswith("Value error, "):
        return message[len("Value error, "):]
    if err["type"] == "literal_error":
        return message.replace("Input should be", "expected")
    return f"expected: {message}"


def check_spec(folder: Path) -> tuple[Spec | None, list[Problem]]:
    """Load a spec folder and cross-check its sheets; (spec, []) when clean."""
    folder = Path(folder)
    problems: list[Problem] = []
    if not folder.is_dir():
        return None, [Problem(str(folder), None, None, None, "spec folder not found")]
    sheets = {model: _read_sheet(folder, model, problems) for model in SHEETS}
    file = {model: str(folder / f"{model.sheet}.csv") for model in SHEETS}

    def problem(model: type[Sheet], row: Sheet | None, column: str | None, value: object, message: str) -> None:
        problems.append(Problem(file[model], row.line if row else None, column,
                                None if value is None else str(value), message))

    datasets: dict[str, DatasetSpec] = {}
    for ds in sheets[DatasetSpec]:
        if ds.dataset in datasets:
            problem(DatasetSpec, ds, "Dataset", ds.dataset, "duplicate dataset")
        datasets[ds.dataset] = ds
        if not XPT_NAME.match(ds.dataset):
            problem(DatasetSpec, ds, "Dataset", ds.dataset, "not an XPT v5 name (A-Z then A-Z/0-9, at most 8)")
        _check_label(problem, DatasetSpec, ds, ds.label)

    codelists = _codelists(sheets[CodelistRow], problem)
    dictionaries = _unique(sheets[DictionarySpec], DictionarySpec, problem)
    methods = _unique(sheets[MethodSpec], MethodSpec, problem)
    comments = _unique(sheets[CommentSpec], CommentSpec, problem)
    documents = _unique(sheets[DocumentSpec], DocumentSpec, problem)
    for shared in set(codelists) & set(dictionaries):
        problem(DictionarySpec, dictionaries[shared], "ID", shared, "ID is also a codelist ID")

    where: dict[str, list[WhereClauseSpec]] = {}
    for wc in sheets[WhereClauseSpec]:
        where.setdefault(wc.id, []).append(wc)

    variables = sheets[VariableSpec]
    by_dataset: dict[str, dict[str, VariableSpec]] = {}
    orders: dict[tuple[str, int], VariableSpec] = {}
    for v in variables:
        if v.dataset not in datasets:
            problem(VariableSpec, v, "Dataset", v.dataset, "dataset is not in Datasets")
        names = by_dataset.setdefault(v.dataset, {})
        if v.variable in names:
            problem(VariableSpec, v, "Variable", v.variable, f"duplicate variable in {v.dataset}")
        names[v.variable] = v
        if (v.dataset, v.order) in orders:
            problem(VariableSpec, v, "Order", v.order,
                    f"order already used by {orders[(v.dataset, v.order)].variable} in {v.dataset}")
        orders[(v.dataset, v.order)] = v
        if not XPT_NAME.match(v.variable):
            problem(VariableSpec, v, "Variable", v.variable, "not an XPT v5 name (A-Z then A-Z/0-9, at most 8)")
        _check_label(problem, VariableSpec, v, v.label)
        _check_refs(problem, VariableSpec, v, codelists, dictionaries, methods, comments)
        if v.role is None and datasets.get(v.dataset) and datasets[v.dataset].standard.startswith("SDTM"):
            problem(VariableSpec, v, "Role", None, "an SDTM variable needs a role")

    for ds in datasets.values():
        if ds.dataset not in by_dataset:
            problem(DatasetSpec, ds, "Dataset", ds.dataset, "dataset has no variables in Variables")
        if not ds.key_variables:
            problem(DatasetSpec, ds, "Key Variables", None, "no key variables")
        for key in ds.key_variables:
            if key not in by_dataset.get(ds.dataset, {}):
                problem(DatasetSpec, ds, "Key Variables", key, f"key variable is not a variable of {ds.dataset}")

    vlm_orders: dict[tuple[str, str, int], ValueLevelSpec] = {}
    for vl in sheets[ValueLevelSpec]:
        if vl.variable not in by_dataset.get(vl.dataset, {}):
            problem(ValueLevelSpec, vl, "Variable", f"{vl.dataset}.{vl.variable}", "no such variable in Variables")
        if vl.where_clause not in where:
            problem(ValueLevelSpec, vl, "Where Clause", vl.where_clause, "where clause is not in WhereClauses")
        if (vl.dataset, vl.variable, vl.order) in vlm_orders:
            problem(ValueLevelSpec, vl, "Order", vl.order, f"order already used for {vl.dataset}.{vl.variable}")
        vlm_orders[(vl.dataset, vl.variable, vl.order)] = vl
        if vl.label is not None:
            _check_label(problem, ValueLevelSpec, vl, vl.label)
        _check_refs(problem, ValueLevelSpec, vl, codelists, dictionaries, methods, comments)

    for clauses in where.values():
        for wc in clauses:
            if wc.variable not in by_dataset.get(wc.dataset, {}):
                problem(WhereClauseSpec, wc, "Variable", f"{wc.dataset}.{wc.variable}",
                        "where clause tests a variable that is not in Variables")

    for model, items in ((MethodSpec, methods), (CommentSpec, comments)):
        for item in items.values():
            if item.document and item.document not in documents:
                problem(model, item, "Document", item.document, "document is not in Documents")

    if problems:
        return None, sorted(set(problems), key=lambda p: (p.file, p.row or 0, p.column or "", p.message))
    spec = Spec(folder=folder, datasets=datasets, variables=variables, value_level=sheets[ValueLevelSpec],
                where_clauses=where, codelists=codelists, dictionaries=dictionaries, methods=methods,
                comments=comments, documents=documents)
    return spec, []


def _check_label(problem, model, row, label: str | None) -> None:
    if not label:
        problem(model, row, "Label", label, "label is missing")
    elif len(label) > MAX_LABEL:
        problem(model, row, "Label", label, f"label is {len(label)} characters; XPT v5 allows {MAX_LABEL}")
    elif not label.isascii():
        problem(model, row, "Label", label, "label is not ASCII (XPT v5)")


def _check_refs(problem, model, v: _VariableBase, codelists, dictionaries, methods, comments) -> None:
    if v.codelist and v.codelist not in codelists and v.codelist not in dictionaries:
        problem(model, v, "Codelist", v.codelist, "codelist is not in Codelists or Dictionaries")
    if v.method and v.method not in methods:
        problem(model, v, "Method", v.method, "method is not in Methods")
    if v.comment and v.comment not in comments:
        problem(model, v, "Comment", v.comment, "comment is not in Comments")
    if v.origin == "Derived" and not v.method:
        problem(model, v, "Method", None, "a Derived variable needs a method")
    if v.origin == "Predecessor" and not v.predecessor:
        problem(model, v, "Predecessor", None, "a Predecessor variable needs its predecessor (DATASET.VARIABLE)")
    if v.origin == "Collected" and not v.source:
        problem(model, v, "Source", None, "a Collected variable needs a source")
    if v.format and v.data_type == "text" and not v.format.startswith("$"):
        problem(model, v, "Format", v.format, "a text variable's format starts with $")


def _unique(rows: list, model: type[Sheet], problem) -> dict:
    out = {}
    for row in rows:
        if row.id in out:
            problem(model, row, "ID", row.id, "duplicate ID")
        out[row.id] = row
    return out


def _codelists(rows: list[CodelistRow], problem) -> dict[str, Codelist]:
    grouped: dict[str, list[CodelistRow]] = {}
    for row in rows:
        grouped.setdefault(row.id, []).append(row)
    out = {}
    for cl_id, terms in grouped.items():
        first = terms[0]
        for t in terms[1:]:
            for attr, column in (("name", "Name"), ("nci_codelist_code", "NCI Codelist Code"),
                                 ("data_type", "Data Type"), ("terminology", "Terminology")):
                if getattr(t, attr) != getattr(first, attr):
                    problem(CodelistRow, t, column, getattr(t, attr),
                            f"differs from the first row of codelist {cl_id} ({getattr(first, attr)!r})")
        seen_terms, seen_orders = set(), set()
        for t in terms:
            if t.term in seen_terms:
                problem(CodelistRow, t, "Term", t.term, f"duplicate term in codelist {cl_id}")
            if t.order in seen_orders:
                problem(CodelistRow, t, "Order", t.order, f"duplicate order in codelist {cl_id}")
            seen_terms.add(t.term)
            seen_orders.add(t.order)
            if first.terminology == "CDISC/NCI" and not first.nci_codelist_code:
                problem(CodelistRow, t, "NCI Codelist Code", None, "a CDISC/NCI codelist needs its NCI code")
                break
        out[cl_id] = Codelist(cl_id, first.name, first.nci_codelist_code, first.data_type, first.terminology,
                              tuple(sorted(terms, key=lambda t: t.order)))
    return out


def load_spec(folder: Path) -> Spec:
    spec, problems = check_spec(folder)
    if problems:
        raise SubError(problems, f"spec {folder} has {len(problems)} problem(s)")
    return spec


def check_all(specs_dir: Path) -> list[Problem]:
    """Every problem of a specs folder: settings, raw layout, both P21 specs, and their agreement."""
    from .raw.layout import check_layout
    from .study import load_settings

    specs_dir = Path(specs_dir)
    problems: list[Problem] = []
    settings = None
    try:
        settings = load_settings(specs_dir)
    except SubError as exc:
        problems += exc.problems
    layout, layout_problems = check_layout(specs_dir / "raw")
    problems += layout_problems
    specs = {}
    for standard in ("sdtm", "adam"):
        spec, spec_problems = check_spec(specs_dir / standard)
        problems += spec_problems
        specs[standard] = spec
    if settings is not None:
        versions = {"MedDRA": settings.dictionaries.meddra_version, "WHODrug": settings.dictionaries.whodrug_version}
        for spec in filter(None, specs.values()):
            for d in spec.dictionaries.values():
                wanted = versions.get(d.dictionary)
                if wanted is not None and d.version != wanted:
                    problems.append(Problem(str(spec.folder / "Dictionaries.csv"), d.line, "Version", d.version,
                                            f"{d.dictionary} version differs from study.toml ({wanted})"))
    adam = specs.get("adam")
    if settings is not None and adam is not None:
        # a group's labels live in study.toml and in the ADaM codelist of the variable named after it
        for name, group in settings.conventions.groups.items():
            variable = adam.variable("ADSL", name)
            if variable is None or not variable.codelist or variable.codelist not in adam.codelists:
                continue
            labels = set(group.labels) | ({group.dialysis_label} if group.dialysis_label else set())
            terms = set(adam.codelists[variable.codelist].values)
            if labels != terms:
                problems.append(Problem(str(adam.folder / "Codelists.csv"), None, "Term", variable.codelist,
                                        f"terms {sorted(terms)} differ from study.toml group {name} {sorted(labels)}"))
    if settings is not None and layout is not None and "CAUSAL" in layout.codelists:
        known = set(settings.conventions.causality_codes)
        for code in layout.codelists["CAUSAL"].values():
            if code.submission_value not in known:
                problems.append(Problem(str(layout.folder / "codes.csv"), None, "submission_value",
                                        code.submission_value,
                                        f"CAUSAL code {code.code} is not a causality of study.toml {sorted(known)}"))
    # the package documents' specs: the aCRF annotations and the explanations of conformance findings
    from .package.annotations import check_annotations
    from .package.conformance import check_explanations

    if layout is not None and specs.get("sdtm") is not None:
        problems += check_annotations(specs_dir, layout, specs["sdtm"])[1]
    problems += check_explanations(specs_dir)[1]
    return problems
