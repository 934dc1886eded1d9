"""The raw EDC extract layout, read from `specs/raw/` (forms.csv, fields.csv, codes.csv, checks.csv).

The layout is data, not code: a new CRF field is a row in fields.csv, a new edit check a row
in checks.csv, and the loader, the generator and the documentation (docs/raw-layout.md) all
follow it.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ..csvio import read_table
from ..errors import Problem, SubError, shorten

FieldType = Literal["id", "text", "integer", "decimal", "date", "pdate", "code"]
PerSubject = Literal["one", "optional", "many"]
CheckKind = Literal["range", "consistent", "no_control", "only_when"]
Severity = Literal["error", "warning"]

_FILES = {"forms": "forms.csv", "fields": "fields.csv", "codes": "codes.csv", "checks": "checks.csv"}
NUMBER_TYPES = {"integer", "decimal"}
DATE_TYPES = {"date", "pdate"}
TEXT_TYPES = {"id", "text", "code"}
ANY = "*"
CUTOFF = "cutoff"


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
    required_when: str | None
    identifier: bool
    description: str
    # The column may be missing from the file (a field added to the layout later: older extracts
    # lack it); the loader then reads it as blank in every row. Blank or absent in fields.csv: N.
    may_be_absent: bool = False

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

    @field_validator("may_be_absent", mode="before")
    @classmethod
    def _optional_flag(cls, value: object) -> object:
        return False if value == "" else _yn(value) if isinstance(value, str) else value

    @field_validator("codelist", "length", "required_when", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if value == "" else value


class Code(_Row):
    codelist: str
    code: str
    decode: str
    decode_ko: str
    submission_value: str


class Check(_Row):
    """An edit check: a range or plausibility rule on the raw values, with its severity.

    range: the value is not below `min` and not above `max`; each limit is a number, a date
    YYYY-MM-DD, `cutoff` (the study's data cut-off), a column of the same row, or FORM.COLUMN of
    a one-row-per-subject form (that subject's value). consistent: across every row of the form(s),
    each value of `column` comes with one value of each column in `same`. no_control: no control
    character (line break, tab, other C0/C1) in the text. only_when: `column` is filled (with `min`:
    holds the code `min`) only where the condition `same`, COLUMN=CODE or FORM.COLUMN=CODE of a
    one-row-per-subject form, holds (e.g. childbearing potential only for a woman). `*` as form or
    column: every form or every column the kind applies to.
    """

    id: str
    form: str
    column: str
    kind: CheckKind
    min: str | None
    max: str | None
    same: str | None
    severity: Severity
    message: str

    @field_validator("min", "max", "same", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def same_columns(self) -> list[str]:
        return (self.same or "").split()

    @property
    def condition(self) -> tuple[str, str, str]:
        """(form or "", column, code) of an only_when check's condition `[FORM.]COLUMN=CODE`."""
        ref, _, code = (self.same or "").partition("=")
        form, _, column = ref.strip().rpartition(".")
        return form, column, code.strip()


class Layout:
    """The whole layout, cross-checked on load."""

    def __init__(self, forms: list[Form], fields: list[Field], codes: list[Code], folder: Path,
                 checks: list[Check] | None = None):
        self.forms = {f.form: f for f in forms}
        self.fields = fields
        self.codes = codes
        self.folder = folder
        self.checks = checks or []

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

    def check_targets(self, check: Check) -> list[Field]:
        """The fields a check applies to (`*` resolved)."""
        forms = list(self.forms) if check.form == ANY else [check.form]
        targets = []
        for form in forms:
            for f in self.fields_of(form):
                if check.column not in (ANY, f.column):
                    continue
                if check.kind == "no_control":
                    if f.type in TEXT_TYPES and (check.column != ANY or (f.type == "text" and not f.identifier)):
                        targets.append(f)
                elif check.kind == "range":
                    if check.column != ANY or f.type in _limit_types(check):
                        targets.append(f)
                else:
                    targets.append(f)
        return targets

    def reference(self, form: str, ref: str) -> Field | None:
        """The field a limit names: COLUMN of the same form or FORM.COLUMN; None when it names none."""
        other_form, _, column = ref.rpartition(".")
        other_form = other_form or form
        return next((f for f in self.fields_of(other_form) if f.column == column), None)


_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_REFERENCE = re.compile(r"(?:[A-Z][A-Z0-9_]*\.)?[A-Z][A-Z0-9_]*")


def limit_kind(limit: str) -> str:
    """What a range limit is: number, date, cutoff, reference (a column) or invalid."""
    if limit == CUTOFF:
        return "cutoff"
    if _NUMBER.fullmatch(limit):
        return "number"
    if _ISO_DATE.fullmatch(limit):
        try:
            dt.date.fromisoformat(limit)
        except ValueError:
            return "invalid"
        return "date"
    if _REFERENCE.fullmatch(limit):
        return "reference"
    return "invalid"


def _limit_types(check: Check) -> set[str]:
    """The field types a check's literal limits fit (numbers or dates)."""
    kinds = {limit_kind(x) for x in (check.min, check.max) if x is not None}
    if kinds and kinds <= {"number"}:
        return NUMBER_TYPES
    if kinds and kinds <= {"date", "cutoff"}:
        return DATE_TYPES
    return set()


def _check_problems(layout: Layout, check: Check, name: str, line: int) -> list[Problem]:
    """Why an edit check cannot run on this layout (unknown form, column, limit that does not fit)."""
    out: list[Problem] = []

    def bad(column: str, value: str | None, message: str) -> None:
        out.append(Problem(name, line, column, value, message))

    if check.form != ANY and check.form not in layout.forms:
        bad("form", check.form, "form not in forms.csv")
        return out
    forms = list(layout.forms) if check.form == ANY else [check.form]
    if check.column != ANY and not any(check.column in {f.column for f in layout.fields_of(x)} for x in forms):
        bad("column", check.column, f"no such column in form {check.form}")
        return out
    targets = layout.check_targets(check)
    if check.kind != "range":
        for column in ("min", "max"):
            if getattr(check, column) is not None and not (check.kind == "only_when" and column == "min"):
                bad(column, getattr(check, column), f"only a range check has limits, not {check.kind}")
    if check.kind not in ("consistent", "only_when") and check.same is not None:
        bad("same", check.same, f"only a consistent or only_when check has same, not {check.kind}")
    if check.kind == "range":
        if check.min is None and check.max is None:
            bad("min", None, "a range check needs min, max or both")
        for column in ("min", "max"):
            limit = getattr(check, column)
            if limit is None:
                continue
            kind = limit_kind(limit)
            if kind == "invalid":
                bad(column, limit, "expected a number, a date YYYY-MM-DD, cutoff, COLUMN or FORM.COLUMN")
                continue
            if kind == "reference" and check.column == ANY:
                bad(column, limit, "a check on every column (*) takes a number, a date or cutoff, not a column")
                continue
            for field in targets:
                if field.type not in NUMBER_TYPES | DATE_TYPES:
                    bad("column", field.column, f"a range check needs a number or date column; "
                                                f"{field.form}.{field.column} is {field.type}")
                    break
                if kind == "reference":
                    other = layout.reference(field.form, limit)
                    other_form = limit.rpartition(".")[0] or field.form
                    if other is None:
                        bad(column, limit, f"no such column (COLUMN of form {field.form} or FORM.COLUMN)")
                    elif other_form != field.form and layout.forms[other_form].per_subject == "many":
                        bad(column, limit, f"form {other_form} has many rows per subject; name a form with "
                                           "one row per subject")
                    elif (other.type in DATE_TYPES) != (field.type in DATE_TYPES) or \
                            other.type not in NUMBER_TYPES | DATE_TYPES:
                        bad(column, limit, f"{other.form}.{other.column} is {other.type}, "
                                           f"{field.form}.{field.column} is {field.type}")
                    break
                wanted = DATE_TYPES if kind in {"date", "cutoff"} else NUMBER_TYPES
                if field.type not in wanted:
                    bad(column, limit, f"a {kind} limit for {field.form}.{field.column}, which is {field.type}")
                    break
    elif check.kind == "consistent":
        if not check.same_columns:
            bad("same", None, "a consistent check needs the columns that must agree")
        for form in sorted({f.form for f in targets}):
            present = {f.column for f in layout.fields_of(form)}
            for column in check.same_columns:
                if column not in present:
                    bad("same", column, f"no such column in form {form}")
    elif check.kind == "only_when":
        form, column, code = check.condition
        if check.same is None or "=" not in check.same or not column or not code:
            bad("same", check.same, "an only_when check needs its condition as COLUMN=CODE or FORM.COLUMN=CODE")
        else:
            for field in targets:
                other = layout.reference(field.form, f"{form}.{column}" if form else column)
                if other is None:
                    bad("same", check.same, f"no such column (COLUMN of form {field.form} or FORM.COLUMN)")
                elif form and form != field.form and layout.forms[form].per_subject == "many":
                    bad("same", check.same, f"form {form} has many rows per subject; name a form with one row "
                                            "per subject")
                break
    elif check.kind == "no_control":
        for field in targets:
            if field.type not in TEXT_TYPES:
                bad("column", field.column, f"a no_control check needs a text column; {field.form}.{field.column} "
                                            f"is {field.type}")
    if not check.message.strip() or not check.message.isprintable():
        bad("message", check.message, "a message on one line is needed (shown with every offending row)")
    if not targets and not out:
        bad("column", check.column, f"the check applies to no column of form {check.form}")
    return out


def _parse(path: Path, model: type[_Row]) -> tuple[list, list[Problem], list[int]]:
    table, problems = read_table(path)
    if table is None:
        return [], problems, []
    expected = list(model.model_fields)
    # a column with a default (fields.csv may_be_absent) may be left out of the file
    missing = [c for c in expected if c not in table.header and model.model_fields[c].is_required()]
    extra = [c for c in table.header if c not in expected]
    for column in missing:
        problems.append(Problem(table.name, 1, column, None, "required column is missing"))
    for column in extra:
        problems.append(Problem(table.name, 1, shorten(column), None, f"unknown column; expected {expected}"))
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
                message = err["msg"].removeprefix("Value error, ").replace("Input should be", "expected")
                problems.append(Problem(table.name, line, column, record.get(column or ""), message))
    return items, problems, lines


def check_layout(folder: Path) -> tuple[Layout | None, list[Problem]]:
    folder = Path(folder)
    forms, p1, form_lines = _parse(folder / _FILES["forms"], Form)
    fields, p2, field_lines = _parse(folder / _FILES["fields"], Field)
    codes, p3, code_lines = _parse(folder / _FILES["codes"], Code)
    checks, p4, check_lines = _parse(folder / _FILES["checks"], Check)
    problems = p1 + p2 + p3
    forms_file, fields_file, codes_file, checks_file = (str(folder / f) for f in _FILES.values())

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
        if field.may_be_absent and (field.required or field.required_when or field.column in ("SUBJID", "LINE")):
            problems.append(Problem(fields_file, line, "may_be_absent", "Y", "a column that may be absent from the "
                                    "file (read as blank) cannot be required, conditionally required or a key"))
        if field.condition and field.condition[0] not in columns.get(field.form, set()):
            problems.append(Problem(fields_file, line, "required_when", field.required_when, f"no such column in form {field.form}"))
    for form in forms:
        present = columns.get(form.form, set())
        if "SUBJID" not in present:
            problems.append(Problem(fields_file, None, "form", form.form, "form has no SUBJID column"))
        if form.per_subject == "many" and "LINE" not in present:
            problems.append(Problem(fields_file, None, "form", form.form, "a form with many rows per subject needs a LINE column"))
    if problems:
        return None, problems + p4
    # the edit checks are checked against a sound layout, also when some rows of checks.csv are not
    layout = Layout(forms, fields, codes, folder, checks)
    problems = p4
    seen_ids: set[str] = set()
    for check, line in zip(checks, check_lines):
        if check.id in seen_ids:
            problems.append(Problem(checks_file, line, "id", check.id, "duplicate check id"))
        seen_ids.add(check.id)
        problems += _check_problems(layout, check, checks_file, line)
    if problems:
        return None, problems
    return layout, []


def load_layout(folder: Path) -> Layout:
    layout, problems = check_layout(folder)
    if problems:
        raise SubError(problems, f"raw layout in {folder} is invalid")
    return layout


def check_rule(check: Check, dates: bool) -> str:
    """The rule of an edit check in words; `dates`: it applies to date columns."""
    if check.kind == "range":
        def shown(limit: str) -> str:
            return "the data cut-off" if limit == CUTOFF else limit
        parts = []
        if check.min is not None:
            parts.append(f"not before {shown(check.min)}" if dates else f">= {check.min}")
        if check.max is not None:
            parts.append(f"not after {shown(check.max)}" if dates else f"<= {check.max}")
        return " and ".join(parts)
    if check.kind == "consistent":
        return f"one {', '.join(check.same_columns)} per {check.column} across the form(s)"
    if check.kind == "only_when":
        return (f"{check.min} " if check.min is not None else "filled ") + f"only where {check.same}"
    return "no control characters (line break, tab, other C0/C1)"


def layout_markdown(layout: Layout) -> str:
    """The layout as the page docs/raw-layout.md (kept in step with specs/raw by a test)."""
    out = [
        "# The raw EDC extract",
        "",
        "<!-- Generated from specs/raw/ by `sub raw layout > docs/raw-layout.md`; edit the CSVs, not this page. -->",
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
        "Every subject in any form must be in `enrol.csv`; in `ae.csv`, SER is Y exactly when at least one",
        "seriousness criterion (SDTH, SLIFE, SHOSP, SDISAB, SCONG, SMIE) is Y; the edit checks below hold.",
        "Columns marked **identifier** are personal identifiers: the loader reads them so that checks can",
        "prove they never reach an output, and no stage uses them.",
        "A column whose notes say **may be absent** was added to the layout later: a file without it (an",
        "older extract) loads, and the column is blank in every row; when present, it is checked like the others.",
        "",
    ]
    for form in layout.forms.values():
        rows = {"one": "one row per enrolled subject", "optional": "at most one row per subject",
                "many": "any number of rows per subject, keyed by LINE"}[form.per_subject]
        out += [f"## {form.form}: `{form.file}`, {form.label}", "", f"{form.description} ({rows}.)", "",
                "| column | label | type | required | codelist | length | identifier | notes |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for f in layout.fields_of(form.form):
            out.append(
                f"| {f.column} | {f.label} | {f.type} | {'yes' if f.required else (f'when {f.required_when}' if f.required_when else '')} | {f.codelist or ''} | "
                f"{f.length or ''} | {'**identifier**' if f.identifier else ''} | "
                + " ".join(filter(None, ["**may be absent**." if f.may_be_absent else "", f.description])) + " |"
            )
        out.append("")
    out += ["## Edit checks", "",
            "Range and plausibility checks (`specs/raw/checks.csv`). An **error** refuses the extract (exit 1,",
            "every offending row listed); a **warning** lets it build and lists every offending row in",
            "`build.log` and in the output of `sub raw check`. `*` means every form, or every column the check",
            "applies to. A partial date breaks a limit only when every day it can stand for does; `cutoff` is",
            "the study's data cut-off; FORM.COLUMN is that subject's value in a one-row-per-subject form.", "",
            "| id | form | column | rule | severity | message |", "| --- | --- | --- | --- | --- | --- |"]
    for c in layout.checks:
        rule = check_rule(c, any(f.type in DATE_TYPES for f in layout.check_targets(c)))
        out.append(f"| {c.id} | {c.form} | {c.column} | {rule} | {c.severity} | {c.message.replace('|', '&#124;')} |")
    out += ["", "## Codelists", "", "`submission value` is the standard (CDISC or sponsor) value the code stands for.", "",
            "| codelist | code | decode | Korean | submission value |", "| --- | --- | --- | --- | --- |"]
    for c in layout.codes:
        out.append(f"| {c.codelist} | {c.code} | {c.decode} | {c.decode_ko} | {c.submission_value} |")
    return "\n".join(out) + "\n"
