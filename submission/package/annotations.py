"""specs/acrf.csv: the SDTM annotation of every raw CRF field, the content of the annotated CRF.

One row per annotation (a field may carry several, as a date that feeds two domains):

    form      the raw form (specs/raw/forms.csv)
    column    the field (specs/raw/fields.csv), or `*` for an annotation of the whole form
              (shown under the domain box: "EXTRT = LENALIDOMIDE")
    dataset   the SDTM dataset, blank for a note that is no SDTM variable ("NOT SUBMITTED")
    variable  the SDTM variable of `dataset`
    where     a where-clause ID of the SDTM spec (WhereClauses) when the field fills only some
              records: "VSORRES when VSTESTCD = HEIGHT", "QVAL when QNAM = RECRTRT in SUPPDM"
    text      the annotation as shown, when the generated one is not enough; it must name the
              variable (the define's page references are checked by finding it on the page)

The SDTM spec's Collected origins cite the aCRF page of their annotation: a variable the pages of
every annotation of it, a value-level row those of its where clause. Every such item needs an
annotation, a personal identifier field may only be NOT SUBMITTED, and every text is ASCII (the
aCRF goes into the SDTM folder).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Problem, SubError

ACRF_SPEC = "acrf.csv"
COLUMNS = ("form", "column", "dataset", "variable", "where", "text")
FORM_LEVEL = "*"
NOT_SUBMITTED = "NOT SUBMITTED"
_COMPARATOR_TEXT = {"EQ": "=", "NE": "is not", "LT": "<", "LE": "<=", "GT": ">", "GE": ">=", "IN": "in",
                    "NOTIN": "not in"}


@dataclass(frozen=True)
class Annotation:
    form: str
    column: str
    dataset: str | None
    variable: str | None
    where: str | None
    text: str
    line: int

    @property
    def not_submitted(self) -> bool:
        return self.dataset is None and self.text.upper().startswith(NOT_SUBMITTED)

    @property
    def is_note(self) -> bool:
        """A note that names no SDTM variable (NOT SUBMITTED, or a pointer such as the subject ID)."""
        return self.dataset is None


@dataclass
class CrfField:
    field: object  # raw.layout.Field
    annotations: list[Annotation]


@dataclass
class CrfForm:
    form: object  # raw.layout.Form
    fields: list[CrfField]
    form_annotations: list[Annotation]

    @property
    def code(self) -> str:
        return self.form.form

    @property
    def title(self) -> str:
        return f"{self.form.form}: {self.form.label}"

    @property
    def domains(self) -> list[str]:
        """The SDTM datasets the form feeds, in the order they first appear on it."""
        out: list[str] = []
        for a in [*(a for f in self.fields for a in f.annotations), *self.form_annotations]:
            if a.dataset and a.dataset not in out:
                out.append(a.dataset)
        return out


@dataclass
class AnnotatedCrf:
    """The raw layout's forms with their annotations, and the SDTM spec they point into."""

    forms: list[CrfForm]
    spec: object  # spec.Spec (SDTM)
    unannotated: list[str] = field(default_factory=list)  # FORM.COLUMN of fields without an annotation

    def domains(self) -> list[str]:
        """Every annotated dataset, in the order of the spec's Datasets sheet."""
        used = {d for f in self.forms for d in f.domains}
        return [name for name in self.spec.datasets if name in used]

    def domain_label(self, dataset: str) -> str:
        ds = self.spec.datasets.get(dataset)
        return ds.label if ds is not None else dataset

    def annotations(self) -> list[Annotation]:
        return [a for f in self.forms for a in (*f.form_annotations, *(x for fl in f.fields for x in fl.annotations))]


def condition_text(spec, where: str) -> str:
    """A where clause in words: "VSTESTCD = HEIGHT and ..."."""
    parts = []
    for wc in spec.where_clauses.get(where, []):
        values = wc.values
        shown = values[0] if len(values) == 1 and wc.comparator not in ("IN", "NOTIN") else f"({', '.join(values)})"
        parts.append(f"{wc.variable} {_COMPARATOR_TEXT.get(wc.comparator, wc.comparator)} {shown}")
    return " and ".join(parts)


def annotation_text(spec, dataset: str, variable: str, where: str | None) -> str:
    """The usual aCRF wording: the variable, its condition, and the SUPP-- dataset it lives in."""
    text = variable
    if where:
        text += f" when {condition_text(spec, where)}"
    if dataset.startswith("SUPP"):
        text += f" in {dataset}"
    return text


def _blank(value: str) -> str | None:
    value = value.strip()
    return value or None


def read_annotations(path: Path) -> tuple[list[dict], list[Problem]]:
    """The rows of acrf.csv as dicts (with their line), or the problems reading it."""
    from ..csvio import read_table

    table, problems = read_table(path)
    if table is None:
        return [], problems
    missing = [c for c in COLUMNS if c not in table.header]
    unknown = [c for c in table.header if c not in COLUMNS]
    problems = [Problem(str(path), 1, c, None, "required column is missing") for c in missing]
    problems += [Problem(str(path), 1, c, None, "unknown column") for c in unknown]
    if problems:
        return [], problems
    rows = []
    for row, line in zip(table.rows, table.lines):
        record = {c: (row[i].strip() if i < len(row) else "") for i, c in enumerate(table.header)}
        record["line"] = line
        rows.append(record)
    return rows, []


def check_annotations(specs_dir: Path, layout, sdtm_spec) -> tuple[AnnotatedCrf | None, list[Problem]]:
    """specs/acrf.csv against the raw layout and the SDTM spec; (crf, []) when sound.

    Without an acrf.csv (a study that does not generate its aCRF) there is nothing to check:
    (None, []).
    """
    path = Path(specs_dir) / ACRF_SPEC
    if not path.exists():
        return None, []
    rows, problems = read_annotations(path)
    if problems:
        return None, problems
    name = str(path)

    def bad(line: int | None, column: str | None, value: object, message: str) -> None:
        problems.append(Problem(name, line, column, None if value is None else str(value), message))

    fields = {(f.form, f.column): f for f in layout.fields}
    annotations: list[Annotation] = []
    for r in rows:
        line = r["line"]
        form, column = r["form"], r["column"]
        dataset, variable, where, text = (_blank(r["dataset"]), _blank(r["variable"]), _blank(r["where"]),
                                          _blank(r["text"]))
        if form not in layout.forms:
            bad(line, "form", form, "form is not in specs/raw/forms.csv")
            continue
        if column != FORM_LEVEL and (form, column) not in fields:
            bad(line, "column", column, f"no such field of form {form} in specs/raw/fields.csv")
            continue
        for col, value in r.items():
            if isinstance(value, str) and not value.isascii():
                bad(line, col, value, "not ASCII: the aCRF goes into the SDTM folder")
        if (dataset is None) != (variable is None):
            bad(line, "variable" if dataset else "dataset", variable or dataset,
                "give both dataset and variable, or neither (a note in `text`)")
            continue
        if dataset is None:
            if not text:
                bad(line, "text", None, "a row without an SDTM variable needs its note (e.g. NOT SUBMITTED)")
                continue
            if where:
                bad(line, "where", where, "a where clause needs a dataset and variable")
        else:
            if dataset not in sdtm_spec.datasets:
                bad(line, "dataset", dataset, "dataset is not in the SDTM spec (Datasets)")
                continue
            if sdtm_spec.variable(dataset, variable) is None:
                bad(line, "variable", variable, f"not a variable of {dataset} in the SDTM spec")
                continue
            if where:
                clauses = sdtm_spec.where_clauses.get(where)
                if not clauses:
                    bad(line, "where", where, "where clause is not in the SDTM spec (WhereClauses)")
                    continue
                if any(wc.dataset != dataset for wc in clauses):
                    bad(line, "where", where, f"where clause tests another dataset than {dataset}")
                    continue
            if text and variable not in text:
                bad(line, "text", text, f"the annotation must name its variable {variable}")
            text = text or annotation_text(sdtm_spec, dataset, variable, where)
        field_ = fields.get((form, column))
        if field_ is not None and field_.identifier and not (dataset is None and text.upper() == NOT_SUBMITTED):
            bad(line, "text", text, f"{form}.{column} is a personal identifier: annotate it NOT SUBMITTED only")
        annotations.append(Annotation(form, column, dataset, variable, where, text, line))

    crf = AnnotatedCrf([], sdtm_spec)
    for form in layout.forms.values():
        mine = [a for a in annotations if a.form == form.form]
        crf_fields = []
        for f in layout.fields_of(form.form):
            found = [a for a in mine if a.column == f.column]
            if not found:
                crf.unannotated.append(f"{form.form}.{f.column}")
            crf_fields.append(CrfField(f, found))
        crf.forms.append(CrfForm(form, crf_fields, [a for a in mine if a.column == FORM_LEVEL]))
    for target in collected_targets(sdtm_spec):
        if not annotations_of(crf, *target):
            dataset, variable, where = target
            shown = f"{dataset}.{variable}" + (f" ({where})" if where else "")
            bad(None, "variable", shown, "Origin is Collected in the SDTM spec but no annotation names it: "
                                          "add the CRF field that collects it")
    if problems:
        return None, sorted(set(problems), key=lambda p: (p.row or 0, p.column or "", p.message))
    return crf, []


def load_annotated_crf(specs_dir: Path) -> AnnotatedCrf | None:
    """The annotated CRF of a specs folder (None when it has no acrf.csv); SubError when unsound."""
    from ..raw.layout import load_layout
    from ..spec import load_spec

    specs_dir = Path(specs_dir)
    if not (specs_dir / ACRF_SPEC).exists():
        return None
    crf, problems = check_annotations(specs_dir, load_layout(specs_dir / "raw"), load_spec(specs_dir / "sdtm"))
    if problems:
        raise SubError(problems, f"{specs_dir / ACRF_SPEC}: {len(problems)} problem(s)")
    return crf


def collected_targets(spec) -> list[tuple[str, str, str | None]]:
    """(dataset, variable, where clause or None) of every item whose Origin is Collected."""
    out = [(v.dataset, v.variable, None) for v in spec.variables if v.origin == "Collected"]
    out += [(vl.dataset, vl.variable, vl.where_clause) for vl in spec.value_level if vl.origin == "Collected"]
    return out


def annotations_of(crf: AnnotatedCrf, dataset: str, variable: str, where: str | None) -> list[Annotation]:
    """The annotations a define item cites: a variable all of its own; a value-level item those of
    its where clause, else the variable's annotations that carry no condition."""
    own = [a for a in crf.annotations() if a.dataset == dataset and a.variable == variable]
    if where is None:
        return own
    exact = [a for a in own if a.where == where]
    return exact or [a for a in own if a.where is None]
