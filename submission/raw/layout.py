"""The raw EDC extract layout, read from `specs/raw/` (forms.csv, fields.csv, codes.csv).

The layout is data, not code: a new CRF field is a row in fields.csv, and the loader,
the generator and the documentation (docs/raw-layout.md) all follow it.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ..csvio import read_table
from ..errors import Problem, SubError

FieldType = Literal["id", "text", "integer", "decimal", "date", "pdate", "code"]
PerSubject = Literal["one", "optional", "many"]

_FILES = {"forms": "forms.csv", "fields": "fields.csv", "codes": "codes.csv"}


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Form(_Row):
    form: str
    file: str
    label: str
    per_subject: PerSubject
    description: str


def _yn(value: str) -> bool:
    if value not in {"Y", "N"}:
        raise ValueError("expected Y or N")
    return value == "Y"


class Field(_Row):
    form: str
    column: str
    label: str
    type: FieldType
    required: bool
    codelist: str | None
    length: int | None
    not_before: str | None
    required_when: str | None
    identifier: bool
    description: str

    @field_validator("required_when")
    @classmethod
    def _condition(cls, value: str | None) -> str | None:
        if value is not None and (value.count("=") != 1 or not all(value.split("="))):
            raise ValueError("expected COLUMN=VALUE")
        return value

    @property
    def condition(self) -> tuple[str, str] | None:
        """(column, value) of `required_when`: this field is required when that column has that value."""
        if self.required_when is None:
            return None
        column, value = self.required_when.split("=")
        return column, value

    @field_validator("required", "identifier", mode="before")
    @classmethod
    def _flag(cls, value: object) -> object:
        return _yn(value) if isinstance(value, str) else value

    @field_validator("codelist", "length", "not_before", "required_when", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if value == "" else value


class Code(_Row):
    codelist: str
    code: str
    decode: str
    decode_ko: str
    submission_value: str


class Layout:
    """The whole layout, cross-checked on load."""

    def __init__(self, forms: list[Form], fields: list[Field], codes: list[Code], folder: Path):
        self.forms = {f.form: f for f in forms}
        self.fields = fields
        self.codes = codes
        self.folder = folder

    def fields_of(self, form: str) -> list[Field]:
        return [f for f in self.fields if f.form == form]

    def field(self, form: str, column: str) -> Field:
        return next(f for f in self.fields if f.form == form and f.column == column)

    def decodes(self, form: str, column: str) -> dict[str, str]:
        """Raw code -> English decode, for the codelist of a code field."""
        return {c: code.decode for c, code in self.codelists[self.field(form, column).codelist].items()}

    @cached_property
    def codelists(self) -> dict[str, dict[str, Code]]:
        lists: dict[str, dict[str, Code]] = {}
        for code in self.codes:
            lists.setdefault(code.codelist, {})[code.code] = code
        return lists

    def submission_values(self, codelist: str) -> dict[str, str]:
        return {c.code: c.submission_value for c in self.codelists[codelist].values()}

    @cached_property
    def identifier_fields(self) -> list[Field]:
        return [f for f in self.fields if f.identifier]

    def to_markdown(self) -> str:
        return layout_markdown(self)


def _parse(path: Path, model: type[_Row]) -> tuple[list, list[Problem], list[int]]:
    table, problems = read_table(path)
    if table is None:
        return [], problems, []
    expected = list(model.model_fields)
    missing = [c for c in expected if c not in table.header]
    extra = [c for c in table.header if c not in expected]
    for column in missing:
        problems.append(Problem(table.name, 1, column, None, "required column is missing"))
    for column in extra:
        problems.append(Problem(table.name, 1, column, None, f"unknown column; expected {expected}"))
    if missing:
        return [], problems, []
    items, lines = [], []
    for row, line in zip(table.rows, table.lines):
        record = {c: (row[i].strip() if i < len(row) else "") for i, c in enumerate(table.header) if c in expected}
        try:
            items.append(model(**record))
            lines.append(line)
        except ValidationError as exc:
            for err in exc.errors():
                column = str(err["loc"][0]) if err["loc"] else None
                message = err["msg"].replace("Input should be", "expected")
                problems.append(Problem(table.name, line, column, record.get(column or ""), message))
    return items, problems, lines


def check_layout(folder: Path) -> tuple[Layout | None, list[Problem]]:
    folder = Path(folder)
    forms, p1, form_lines = _parse(folder / _FILES["forms"], Form)
    fields, p2, field_lines = _parse(folder / _FILES["fields"], Field)
    codes, p3, code_lines = _parse(folder / _FILES["codes"], Code)
    problems = p1 + p2 + p3
    forms_file, fields_file, codes_file = (str(folder / f) for f in _FILES.values())

    seen_forms: set[str] = set()
    for form, line in zip(forms, form_lines):
        if form.form in seen_forms:
            problems.append(Problem(forms_file, line, "form", form.form, "duplicate form"))
        seen_forms.add(form.form)

    codelists = {c.codelist for c in codes}
    seen_codes: set[tuple[str, str]] = set()
    for code, line in zip(codes, code_lines):
        if (code.codelist, code.code) in seen_codes:
            problems.append(Problem(codes_file, line, "code", code.code, f"duplicate code in codelist {code.codelist}"))
        seen_codes.add((code.codelist, code.code))

    columns: dict[str, set[str]] = {}
    for field, line in zip(fields, field_lines):
        columns.setdefault(field.form, set())
        if field.column in columns[field.form]:
            problems.append(Problem(fields_file, line, "column", field.column, f"duplicate column in form {field.form}"))
        columns[field.form].add(field.column)
    for field, line in zip(fields, field_lines):
        if field.form not in seen_forms:
            problems.append(Problem(fields_file, line, "form", field.form, "form not in forms.csv"))
        if (field.type == "code") != (field.codelist is not None):
            problems.append(Problem(fields_file, line, "codelist", field.codelist, "a code field needs a codelist, and only a code field has one"))
        elif field.codelist and field.codelist not in codelists:
            problems.append(Problem(fields_file, line, "codelist", field.codelist, "codelist not in codes.csv"))
        if field.not_before and field.not_before not in columns.get(field.form, set()):
            problems.append(Problem(fields_file, line, "not_before", field.not_before, f"no such column in form {field.form}"))
        if field.condition and field.condition[0] not in columns.get(field.form, set()):
            problems.append(Problem(fields_file, line, "required_when", field.required_when, f"no such column in form {field.form}"))
    for form in forms:
        present = columns.get(form.form, set())
        if "SUBJID" not in present:
            problems.append(Problem(fields_file, None, "form", form.form, "form has no SUBJID column"))
        if form.per_subject == "many" and "LINE" not in present:
            problems.append(Problem(fields_file, None, "form", form.form, "a form with many rows per subject needs a LINE column"))
    if problems:
        return None, problems
    return Layout(forms, fields, codes, folder), []


def load_layout(folder: Path) -> Layout:
    layout, problems = check_layout(folder)
    if problems:
        raise SubError(problems, f"raw layout in {folder} is invalid")
    return layout


def layout_markdown(layout: Layout) -> str:
    """The layout as the page docs/raw-layout.md (kept in step with specs/raw by a test)."""
    out = [
        "# The raw EDC extract",
        "",
        "<!-- Generated from specs/raw/ by `sub raw layout --markdown`; edit the CSVs, not this page. -->",
        "",
        "One UTF-8 CSV file per CRF form (comma-separated, header row first, no byte-order mark;",
        "`--encoding cp949` reads a CP949/EUC-KR export). Blank means missing. Types:",
        "",
        "| type | what it holds |",
        "| --- | --- |",
        "| id | an identifier: ASCII letters, digits, `-` and `_` |",
        "| text | free text (Korean allowed), at most `length` characters |",
        "| integer | a whole number |",
        "| decimal | a number |",
        "| date | a complete date `YYYY-MM-DD` |",
        "| pdate | a date whose day or month may be unknown: `YYYY-MM-DD`, `YYYY-MM-UK` or `YYYY-UK-UK` |",
        "| code | one of the codes of its codelist (below) |",
        "",
        "Every subject in any form must be in `enrol.csv`; no date may be after the data cut-off; a column",
        "with `not before` must not be earlier than the named column of the same row; in `ae.csv`, SER is Y",
        "exactly when at least one seriousness criterion (SDTH, SLIFE, SHOSP, SDISAB, SCONG, SMIE) is Y. Columns marked",
        "**identifier** are personal identifiers: the loader reads them so that checks can prove they",
        "never reach an output, and no stage uses them.",
        "",
    ]
    for form in layout.forms.values():
        rows = {"one": "one row per enrolled subject", "optional": "at most one row per subject",
                "many": "any number of rows per subject, keyed by LINE"}[form.per_subject]
        out += [f"## {form.form}: `{form.file}`, {form.label}", "", f"{form.description} ({rows}.)", "",
                "| column | label | type | required | codelist | length | not before | identifier | notes |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for f in layout.fields_of(form.form):
            out.append(
                f"| {f.column} | {f.label} | {f.type} | {'yes' if f.required else (f'when {f.required_when}' if f.required_when else '')} | {f.codelist or ''} | "
                f"{f.length or ''} | {f.not_before or ''} | {'**identifier**' if f.identifier else ''} | {f.description} |"
            )
        out.append("")
    out += ["## Codelists", "", "`submission value` is the standard (CDISC or sponsor) value the code stands for.", "",
            "| codelist | code | decode | Korean | submission value |", "| --- | --- | --- | --- | --- |"]
    for c in layout.codes:
        out.append(f"| {c.codelist} | {c.code} | {c.decode} | {c.decode_ko} | {c.submission_value} |")
    return "\n".join(out) + "\n"
