"""Study settings (`specs/study.toml`): the study's identity and its analysis conventions.

Every convention that is a choice rather than a standard (the ADR causality set, the
treatment-emergent window, group boundaries, decimals) is read from here, so a change of
the statistical analysis plan is a change of this file, not of code.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import Problem, SubError

SETTINGS_FILE = "study.toml"

Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Identity(_Strict):
    studyid: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,39}$")]
    protocol_name: Text
    title_en: Text
    title_ko: Text
    short_title_ko: Text
    sponsor: Text
    drug: Text
    drug_generic: Text
    drug_unii: Text
    drug_ko: Text
    companion_drug: Text
    indication_en: Text
    indication_ko: Text
    study_type: Text
    country: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    planned_subjects: Annotated[int, Field(gt=0)]
    synthetic: bool


class Dates(_Strict):
    first_approval: dt.date
    pms_start: dt.date
    enrolment_cutoff: dt.date
    data_cutoff: dt.date
    max_follow_up_years: Annotated[int, Field(gt=0)]  # how long outcomes are followed (the generator's horizon)
    reexamination_period_years: Annotated[int, Field(gt=0)]  # the MFDS re-examination period (the label sentence)

    @model_validator(mode="after")
    def _ordered(self) -> Dates:
        if not self.pms_start <= self.enrolment_cutoff <= self.data_cutoff:
            raise ValueError("expected pms_start <= enrolment_cutoff <= data_cutoff")
        return self


class Dictionaries(_Strict):
    meddra_version: Text
    whodrug_version: Text
    sdtm_ct_version: dt.date
    adam_ct_version: dt.date


class Causality(_Strict):
    code: Annotated[str, Field(pattern=r"^[A-Z][A-Z_/ ]*$")]
    label_en: Text
    label_ko: Text


class Grouping(_Strict):
    """Cut a continuous value into labelled groups: value >= cut goes to the upper group.

    `reference`: the reference level of the group in the factor analyses' logistic regressions
    (one of `labels`); without it the first label is the reference.
    """

    label: Text
    cuts: Annotated[list[float], Field(min_length=1)]
    labels: list[Text]
    dialysis_label: str | None = None
    reference: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Grouping:
        if self.cuts != sorted(self.cuts) or len(set(self.cuts)) != len(self.cuts):
            raise ValueError("expected strictly ascending cuts")
        if len(self.labels) != len(self.cuts) + 1:
            raise ValueError(f"expected {len(self.cuts) + 1} labels for {len(self.cuts)} cuts")
        if self.reference is not None and self.reference not in self.labels:
            raise ValueError(f"reference {self.reference!r} is not one of the labels {self.labels}")
        return self

    @property
    def reference_level(self) -> str:
        """The reference level of the logistic regressions: `reference`, else the first label."""
        return self.reference if self.reference is not None else self.labels[0]

    def label_of(self, value: float | None) -> str | None:
        if value is None or value != value:  # NaN
            return None
        index = sum(value >= cut for cut in self.cuts)
        return self.labels[index]


class Response(_Strict):
    order: Annotated[list[Text], Field(min_length=2)]
    aval: dict[str, int]
    responders: list[Text]
    cr_or_better: list[Text]
    vgpr_or_better: list[Text]
    clinical_benefit: list[Text]
    not_evaluable: Text = "NE"

    @model_validator(mode="after")
    def _known_categories(self) -> Response:
        known = set(self.order)
        if self.not_evaluable not in known:
            raise ValueError(f"not_evaluable {self.not_evaluable!r} is not in order")
        if set(self.aval) != known:
            raise ValueError(f"expected aval for exactly the categories of order {self.order}")
        for name in ("responders", "cr_or_better", "vgpr_or_better", "clinical_benefit"):
            unknown = set(getattr(self, name)) - known
            if unknown:
                raise ValueError(f"{name} names categories not in order: {sorted(unknown)}")
        return self


class Conventions(_Strict):
    causality: Annotated[list[Causality], Field(min_length=1)]
    adr_causality: list[Text]
    adr_when_causality_missing: bool
    severity_when_missing: Text
    treatment_emergent_days: Annotated[int, Field(ge=0)]
    # A dosing period open at a periodic cut-off (`sub build --cutoff`) runs to the cut-off, or to
    # the last contact known by then (the subject's last complete raw date on or before it).
    open_dosing_period_end: Literal["cutoff", "last_contact"] = "cutoff"
    period_year_days: Annotated[int, Field(gt=0)]
    long_term_use_days: Annotated[int, Field(gt=0)]
    percent_decimals_table: Annotated[int, Field(ge=0, le=4)]
    percent_decimals_summary: Annotated[int, Field(ge=0, le=4)]
    ci_level: Annotated[float, Field(gt=0, lt=1)]
    fisher_expected_below: Annotated[float, Field(ge=0)]
    multivariable_entry_p: Annotated[float, Field(gt=0, le=1)]
    significance_level: Annotated[float, Field(gt=0, lt=1)]
    child_age_below: Annotated[float, Field(gt=0)]
    groups: dict[str, Grouping]
    response: Response

    @model_validator(mode="after")
    def _adr_set_known(self) -> Conventions:
        codes = {c.code for c in self.causality}
        unknown = set(self.adr_causality) - codes
        if unknown:
            raise ValueError(f"adr_causality names unknown causality codes {sorted(unknown)}; known: {sorted(codes)}")
        required = {"AGEGR1", "AGEGR2", "BMIGR1", "CRCLGR1", "PRLINESGR"}
        missing = required - set(self.groups)
        if missing:
            raise ValueError(f"groups is missing {sorted(missing)}")
        return self

    @property
    def causality_codes(self) -> list[str]:
        return [c.code for c in self.causality]


class AnalysisSets(_Strict):
    safety_en: Text
    safety_ko: Text
    efficacy_en: Text
    efficacy_ko: Text


class StudySettings(_Strict):
    study: Identity
    dates: Dates
    dictionaries: Dictionaries
    conventions: Conventions
    analysis_sets: AnalysisSets
    source: str = Field(default="", exclude=True)  # the file it was read from, for messages


def _key(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def load_settings(specs_dir: Path) -> StudySettings:
    """Read `study.toml` from a specs folder; every problem is reported at once."""
    path = Path(specs_dir) / SETTINGS_FILE
    name = str(path)
    if not path.is_file():
        raise SubError(Problem(name, None, None, None, "study settings file not found"))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise SubError(Problem(name, None, None, None, f"not UTF-8 text: {exc.reason}")) from None
    except tomllib.TOMLDecodeError as exc:
        raise SubError(Problem(name, getattr(exc, "lineno", None), None, None, f"not valid TOML: {exc}")) from None
    try:
        return StudySettings(**raw, source=name)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = _key(err["loc"]) or "(top level)"
            given = err.get("input")
            value = None if err["type"] == "missing" or isinstance(given, dict) else str(given)
            problems.append(Problem(name, None, f"key {key}", value, _expected(err)))
        raise SubError(problems, f"study settings {name} are invalid") from None


def _expected(err: dict) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key (not a study setting)"
    message = err["msg"]
    return message[len("Value error, "):] if message.startswith("Value error, ") else f"expected: {message}"
