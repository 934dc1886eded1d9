"""Conformance rules of `sub validate`: stable ids, one severity and one line each, and their checks.

A rule's id never changes meaning (a report from last month must still read right), so a
changed check gets a new id and the old one is retired, not reused. Findings are data: one per
rule, dataset and variable, with the number of records and the first few examples (USUBJID and
value); printing and the exit code are derived from them in `validate.py`.

Checks that need something absent (DM for the USUBJID check, a define.xml, the study spec)
do not fire: they leave one notice saying what was skipped and why. Rules about the study's
spec only run on datasets the spec describes *for this study*: a dataset of another study that
happens to be called DM is not held to our DM spec.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ..columns import map_distinct

if TYPE_CHECKING:
    from .validate import Member, Package

Severity = Literal["error", "warning", "notice"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "notice")
EXAMPLES = 5


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    description: str


@dataclass(frozen=True)
class Example:
    usubjid: str | None
    value: str | None


@dataclass
class Finding:
    rule: str
    severity: Severity
    dataset: str | None
    variable: str | None
    count: int
    message: str
    examples: list[Example] = field(default_factory=list)
    standard: str | None = None
    file: str | None = None


RULES: dict[str, Rule] = {}
CHECKS: list[Callable[[Package], Iterable[Finding]]] = []


def declare(rule_id: str, severity: Severity, description: str) -> None:
    if rule_id in RULES:
        raise ValueError(f"rule {rule_id} declared twice")
    RULES[rule_id] = Rule(rule_id, severity, description)


def check(fn: Callable[[Package], Iterable[Finding]]) -> Callable[[Package], Iterable[Finding]]:
    CHECKS.append(fn)
    return fn


# --- the registry: `sub validate --rules` lists it in this order ------------------------------
declare("SUB-SYS-001", "notice", "A check was skipped because what it needs is absent (DM, ADSL, define.xml, a twin file)")
declare("SUB-SYS-002", "error", "A dataset file cannot be read")
declare("SUB-XPT-001", "error", "XPT v5: dataset and variable names are at most 8 characters, A-Z/0-9/_, starting with a letter")
declare("SUB-XPT-002", "error", "XPT v5: dataset and variable labels are ASCII and at most 40 characters")
declare("SUB-XPT-003", "error", "XPT v5: character values are ASCII")
declare("SUB-XPT-004", "error", "XPT v5: character values are at most 200 bytes")
declare("SUB-XPT-005", "error", "XPT v5: a numeric variable holds numbers only")
declare("SUB-XPT-006", "warning", "Character length exceeds the longest value (datasets the spec does not describe; "
                                  "SUB-SPEC-005 covers the others)")
declare("SUB-XPT-007", "error", "The file name is the dataset (member) name")
declare("SUB-XPT-008", "error", "The file is SAS XPORT version 5 (not version 8)")
declare("SUB-SPEC-001", "notice", "Dataset not described by the study spec (unknown name or another study): spec rules skipped")
declare("SUB-SPEC-002", "error", "Variable of the spec is missing from the dataset")
declare("SUB-SPEC-003", "error", "Variable of the dataset is not in the spec")
declare("SUB-SPEC-004", "error", "Variable type differs from the spec (text vs numeric; integer holds whole numbers)")
declare("SUB-SPEC-005", "error", "Character length differs from the spec Length, or from the longest value when the spec leaves it blank")
declare("SUB-SPEC-006", "error", "Dataset or variable label differs from the spec")
declare("SUB-SPEC-007", "warning", "Variable order differs from the spec")
declare("SUB-SPEC-008", "error", "Variable marked Mandatory in the spec has null values")
declare("SUB-SPEC-009", "error", "Records are not unique by the spec's key variables")
declare("SUB-IG-001", "error", "Required variable of SDTMIG 3.4 / ADaMIG 1.3 is missing")
declare("SUB-IG-002", "warning", "Expected variable of SDTMIG 3.4 / ADaMIG 1.3 is missing")
declare("SUB-IG-003", "error", "Required variable of SDTMIG 3.4 / ADaMIG 1.3 has null values")
declare("SUB-IG-004", "error", "DOMAIN (RDOMAIN in SUPP--) differs from the dataset name")
declare("SUB-SEQ-001", "error", "--SEQ is not unique within USUBJID (SDTM)")
declare("SUB-REF-001", "error", "USUBJID of an SDTM dataset is not in DM")
declare("SUB-REF-002", "error", "USUBJID of an ADaM dataset is not in ADSL")
declare("SUB-REF-003", "error", "SUPP-- record's parent record (RDOMAIN, USUBJID, IDVAR = IDVARVAL) does not exist")
declare("SUB-DTC-001", "error", "--DTC is not a valid ISO 8601 date/time (partial dates and times allowed; calendar checked)")
declare("SUB-DTC-002", "error", "Start is after end (--STDTC vs --ENDTC, or ADaM start/end dates, when both are complete)")
declare("SUB-DY-001", "error", "--DY is 0 (study days have no day 0)")
declare("SUB-DY-002", "error", "--DY differs from the SDTMIG formula from DM.RFSTDTC (or is null where it can be computed)")
declare("SUB-CT-001", "error", "Value is not in the spec's codelist (variable level, or value level by where clause)")
declare("SUB-CT-002", "error", "Value is not in a non-extensible CDISC codelist (built-in subset; datasets the spec does not describe)")
declare("SUB-ADAM-001", "error", "ADSL has more than one record per subject")
declare("SUB-ADAM-002", "error", "Flag value not allowed by ADaMIG 1.3 (*FL: Y, N or null; *FN: 1, 0 or null)")
declare("SUB-ADAM-003", "error", "Subject-level population flag is null (ADaMIG 1.3: Y or N, never null)")
declare("SUB-ADAM-004", "error", "A Y/null flag (ABLFL, ANLzzFL, AOCC*FL) holds N")
declare("SUB-TRC-001", "error", "ADAE record does not trace to SDTM AE (USUBJID + AESEQ)")
declare("SUB-TRC-002", "error", "ADSL subject is not in SDTM DM")
declare("SUB-DEF-001", "error", "define.xml is not readable, schema-valid Define-XML with resolved OIDs")
declare("SUB-DEF-002", "error", "Dataset or variable is in define.xml but not in the data, or the reverse")
declare("SUB-DEF-003", "error", "Dataset or variable attribute (name, label, type, length, order) differs from define.xml")
declare("SUB-DEF-004", "error", "Value is not in the define.xml codelist of its variable")
declare("SUB-JSON-001", "error", "Dataset-JSON file breaks the Dataset-JSON 1.1 structure")
declare("SUB-JSON-002", "error", "Dataset-JSON file and its XPT twin differ (variables, labels, rows or values)")
declare("SUB-ARD-001", "error", "ARD rows are not unique by their key (output, population, groups and levels, "
                                "variable and level, statistic)")
declare("SUB-ARD-002", "error", "ARD row id (ard_id) is missing, repeated, or not the id of the row's key")
declare("SUB-ARD-003", "error", "ARD count (subjects, records, N) or summary differs from what its analysis "
                                "definition gives on the package's ADaM datasets (sub trace)")


# --- small helpers ---------------------------------------------------------------------------

def finding(rule_id: str, member: Member | None, variable: str | None, count: int, message: str,
            examples: Iterable[Example] = (), *, dataset: str | None = None, file: str | None = None) -> Finding:
    rule = RULES[rule_id]
    return Finding(rule_id, rule.severity, dataset if dataset is not None else (member.name if member else None),
                   variable, int(count), message, list(examples)[:EXAMPLES],
                   member.standard if member else None, file if file is not None else (member.file if member else None))


def skipped(what: str, why: str, member: Member | None = None, *, dataset: str | None = None) -> Finding:
    return finding("SUB-SYS-001", member, None, 1, f"{what} skipped: {why}", dataset=dataset)


def show(value: object) -> str | None:
    """A value as shown in an example: text as is, whole numbers without '.0', dates as ISO."""
    from ..define._values import as_text

    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, str):
        return value  # shown as it is, blank included
    return as_text(value)


def texts(series: pd.Series) -> pd.Series:
    """Values as text (None for missing or blank), whole numbers without '.0', dates as ISO: the one
    text form define.xml checks use too (define._values.texts). A column of numbers is factorized as
    numbers, not as Python objects: the same distinct values, each converted once."""
    from ..define._values import as_text
    from ..define._values import texts as define_texts

    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "fiub":
        codes, uniques = pd.factorize(series.to_numpy())  # NaN: -1
        lookup = np.array([*map(as_text, uniques.tolist()), None], dtype=object)
        return pd.Series(lookup[codes], index=series.index, dtype=object)
    return define_texts(series)


def examples_of(member: Member, mask: pd.Series, values: pd.Series | None = None) -> list[Example]:
    frame = member.frame
    rows = mask[mask].index[:EXAMPLES]
    subject = frame["USUBJID"] if "USUBJID" in frame.columns else None
    out = []
    for i in rows:
        out.append(Example(show(subject.loc[i]) if subject is not None else None,
                           show(values.loc[i]) if values is not None else None))
    return out


def masked(rule_id: str, member: Member, variable: str | None, mask: pd.Series, message: str,
           values: pd.Series | None = None) -> Iterator[Finding]:
    """One finding for the records where `mask` holds, if any."""
    mask = mask.fillna(False).astype(bool)
    n = int(mask.sum())
    if n:
        if values is None and variable is not None and variable in member.frame.columns:
            values = member.frame[variable]
        yield finding(rule_id, member, variable, n, message, examples_of(member, mask, values))


def domain_of(member: Member) -> str:
    frame = member.frame
    if "DOMAIN" in frame.columns:
        values = member.text("DOMAIN").dropna()
        if len(values):
            return str(values.iloc[0])
    return member.name[:2]


# --- XPT v5 ----------------------------------------------------------------------------------

_XPT_CLASSES = (
    ("name is not an XPT v5 name", "SUB-XPT-001"),
    ("label", "SUB-XPT-002"),
    ("non-ASCII", "SUB-XPT-003"),
    ("longer than", "SUB-XPT-004"),
    ("non-numbers", "SUB-XPT-005"),
)
_MORE = re.compile(r"^(\d+) more values")
_SUBJECT = re.compile(r"\[USUBJID ([^;\]]+)")


@check
def xpt_rules(pkg: Package) -> Iterator[Finding]:
    """Reuse the writer's own v5 checks (`xpt_problems`) on what was read, and group them."""
    from ..xpt import xpt_problems

    for m in pkg.members:
        if m.xpt_data is None:
            continue
        groups: dict[tuple[str, str | None], dict] = {}
        for p in xpt_problems(m.xpt_data, str(m.xpt), distinct=m.distinct):
            rule_id = next((r for text, r in _XPT_CLASSES if text in p.message), "SUB-XPT-005")
            group = groups.setdefault((rule_id, p.column), {"count": 0, "examples": [], "message": None})
            more = _MORE.match(p.message)
            if more:
                group["count"] += int(more.group(1))
                continue
            group["count"] += 1
            subject = _SUBJECT.search(p.message)
            group["examples"].append(Example(subject.group(1) if subject else None, p.value))
            # the writer's advice in parentheses speaks to a build; here the finding stands alone
            group["message"] = group["message"] or _SUBJECT.sub("", p.message).split(" (")[0].replace(" []", "").strip()
        for (rule_id, variable), group in groups.items():
            yield finding(rule_id, m, variable, group["count"], group["message"] or RULES[rule_id].description,
                          group["examples"])
        if m.xpt.stem.upper() != m.xpt_data.name.upper():
            yield finding("SUB-XPT-007", m, None, 1, f"file {m.xpt.name} holds dataset {m.xpt_data.name}",
                          [Example(None, m.xpt_data.name)])
        if m.xpt_version != 5:
            yield finding("SUB-XPT-008", m, None, 1,
                          f"the file is {'XPORT version 8' if m.xpt_version == 8 else 'not a recognised XPORT header'}")
        if m.spec is None:
            for col in m.xpt_data.columns:
                width = m.widths.get(col.name)
                if col.kind != "text" or width is None:
                    continue
                longest = m.text_length(col.name)
                if width > longest:
                    yield finding("SUB-XPT-006", m, col.name, 1, f"length {width}, longest value {longest}")


# --- the study spec --------------------------------------------------------------------------

@check
def spec_rules(pkg: Package) -> Iterator[Finding]:
    from ..attributes import kind_of

    for m in pkg.members:
        if m.data is None:
            continue
        if m.spec is None:
            yield finding("SUB-SPEC-001", m, None, 1, m.spec_note or "not described by the spec")
            continue
        spec, data, frame = m.spec, m.data, m.frame
        ds_spec = spec.datasets[m.name]
        variables = spec.variables_of(m.name)
        by_name = {v.variable: v for v in variables}
        columns = [c.name for c in data.columns]
        for v in variables:
            if v.variable not in columns:
                yield finding("SUB-SPEC-002", m, v.variable, 1, f"{m.name}.{v.variable} is in the spec but not in the data")
        for name in columns:
            if name not in by_name:
                yield finding("SUB-SPEC-003", m, name, 1, f"{m.name}.{name} is not in the spec")
        if data.label != ds_spec.label:
            yield finding("SUB-SPEC-006", m, None, 1, f"dataset label {data.label!r}, spec {ds_spec.label!r}",
                          [Example(None, data.label)])
        wanted = [v.variable for v in variables if v.variable in columns]
        present = [c for c in columns if c in by_name]
        if wanted != present:
            first = next(i for i, (a, b) in enumerate(zip(present, wanted)) if a != b)
            yield finding("SUB-SPEC-007", m, present[first], 1,
                          f"position {first + 1} holds {present[first]}; the spec puts {wanted[first]} there")
        for col in data.columns:
            v = by_name.get(col.name)
            if v is None:
                continue
            values = frame[col.name]
            spec_numeric = kind_of(v) != "text"
            if spec_numeric != col.numeric:
                yield finding("SUB-SPEC-004", m, col.name, 1,
                              f"spec {v.data_type}, data {'numeric' if col.numeric else 'character'}",
                              [Example(None, col.kind)])
            elif v.data_type == "integer" and col.kind in ("integer", "float"):
                numbers = pd.to_numeric(values, errors="coerce")
                yield from masked("SUB-SPEC-004", m, col.name, numbers.notna() & (numbers % 1 != 0),
                                  "spec integer, value is not a whole number")
            if col.kind == "text" and not spec_numeric:
                actual = m.widths.get(col.name)
                longest = m.text_length(col.name)
                expected = v.length if v.length else longest
                if actual is not None and actual != expected:
                    why = f"spec Length {v.length}" if v.length else f"longest value {longest} (spec Length blank)"
                    yield finding("SUB-SPEC-005", m, col.name, 1, f"length {actual}, expected {why}",
                                  [Example(None, str(actual))])
            if (v.label or "") != (col.label or ""):
                yield finding("SUB-SPEC-006", m, col.name, 1, f"label {col.label!r}, spec {v.label!r}",
                              [Example(None, col.label)])
            if v.mandatory:
                yield from masked("SUB-SPEC-008", m, col.name, m.missing(col.name),  # text: NaN, NaT, "" missing
                                  f"{col.name} is Mandatory in the spec but null")
        keys = [k for k in ds_spec.key_variables if k in frame.columns]
        if keys and len(keys) == len(ds_spec.key_variables):
            dup = frame.duplicated(keys, keep=False)
            key_text = None
            if dup.any():
                key_text = pd.Series([", ".join(f"{k}={show(v)}" for k, v in zip(keys, row))
                                      for row in frame[keys].astype(object).itertuples(index=False)], index=frame.index)
            yield from masked("SUB-SPEC-009", m, None, dup, f"records share a key ({', '.join(keys)})", key_text)
        yield from _spec_codelists(m)


def _spec_codelists(m: Member) -> Iterator[Finding]:
    from ..define._values import where_mask

    spec, frame = m.spec, m.frame
    for v in spec.variables_of(m.name):
        if v.codelist in spec.codelists and v.variable in frame.columns:
            yield from _outside(m, v.variable, pd.Series(True, index=frame.index), spec.codelists[v.codelist], None)
    for vl in spec.value_level:
        if vl.dataset != m.name or vl.codelist not in spec.codelists or vl.variable not in frame.columns:
            continue
        clauses = spec.where_clauses.get(vl.where_clause, [])
        mask = where_mask(frame, [(wc.variable, wc.comparator, wc.values) for wc in clauses])
        if mask is None:
            continue
        yield from _outside(m, vl.variable, mask, spec.codelists[vl.codelist], vl.where_clause)


def _outside(m: Member, variable: str, scope: pd.Series, codelist, where: str | None) -> Iterator[Finding]:
    allowed = set(codelist.values)
    if codelist.data_type in ("integer", "float"):
        allowed |= {show(float(t)) for t in codelist.values if _is_number(t)}
    values = m.text(variable)
    bad = scope & m.where_text(variable, lambda v: v is not None and v not in allowed)
    scope_text = f" where {where}" if where else ""
    yield from masked("SUB-CT-001", m, variable, bad, f"not in codelist {codelist.id}{scope_text}", values)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- SDTMIG 3.4 / ADaMIG 1.3 required and expected variables ----------------------------------
# A subset we maintain by hand for the datasets this product writes or reads (not the whole IG):
# Req and Exp from the SDTMIG 3.4 domain tables and the ADaMIG 1.3 ADSL/BDS tables (ADaMIG "Req";
# "Cond" variables a study of this kind always has are listed as expected). A tuple means "at
# least one of". Extend it when a domain is added; keep it to what the IG says, not to our spec.
_SDTM_ID = ("STUDYID", "DOMAIN", "USUBJID")
IG_VARIABLES: dict[str, dict[str, tuple]] = {
    "DM": {"req": ("STUDYID", "DOMAIN", "USUBJID", "SUBJID", "SITEID", "SEX", "COUNTRY"),
           "exp": ("RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "RFICDTC", "RFPENDTC", "DTHDTC", "DTHFL", "AGE",
                   "AGEU", "RACE", "ARMCD", "ARM", "ACTARMCD", "ACTARM", "ARMNRS", "ACTARMUD")},
    "AE": {"req": (*_SDTM_ID, "AESEQ", "AETERM", "AEDECOD"),
           "exp": ("AELLT", "AELLTCD", "AEPTCD", "AEHLT", "AEHLTCD", "AEHLGT", "AEHLGTCD", "AEBODSYS", "AEBDSYCD",
                   "AESOC", "AESOCCD", "AESER", "AEACN", "AEREL", "AESTDTC", "AEENDTC")},
    "EX": {"req": (*_SDTM_ID, "EXSEQ", "EXTRT"),
           "exp": ("EXDOSE", "EXDOSU", "EXDOSFRM", "EXSTDTC", "EXENDTC")},
    "CM": {"req": (*_SDTM_ID, "CMSEQ", "CMTRT"), "exp": ()},
    "MH": {"req": (*_SDTM_ID, "MHSEQ", "MHTERM"), "exp": ()},
    "DS": {"req": (*_SDTM_ID, "DSSEQ", "DSTERM", "DSDECOD"), "exp": ("DSSTDTC",)},
    "DV": {"req": (*_SDTM_ID, "DVSEQ", "DVTERM"), "exp": ()},
    "PR": {"req": (*_SDTM_ID, "PRSEQ", "PRTRT"), "exp": ()},
    "RS": {"req": (*_SDTM_ID, "RSSEQ", "RSTESTCD", "RSTEST"),
           "exp": ("RSORRES", "RSSTRESC", "VISITNUM", "RSDTC")},
    "VS": {"req": (*_SDTM_ID, "VSSEQ", "VSTESTCD", "VSTEST"),
           "exp": ("VSORRES", "VSORRESU", "VSSTRESC", "VSSTRESN", "VSSTRESU", "VSLOBXFL", "VISITNUM", "VSDTC")},
    "LB": {"req": (*_SDTM_ID, "LBSEQ", "LBTESTCD", "LBTEST"),
           "exp": ("LBCAT", "LBORRES", "LBORRESU", "LBORNRLO", "LBORNRHI", "LBSTRESC", "LBSTRESN", "LBSTRESU",
                   "LBSTNRLO", "LBSTNRHI", "LBNRIND", "LBLOBXFL", "VISITNUM", "LBDTC")},
    "TS": {"req": ("STUDYID", "DOMAIN", "TSSEQ", "TSPARMCD", "TSPARM"),
           "exp": ("TSVAL", "TSVALCD", "TSVCDREF", "TSVCDVER")},
    "SUPP--": {"req": ("STUDYID", "RDOMAIN", "USUBJID", "QNAM", "QLABEL", "QVAL", "QORIG"),
               "exp": ("IDVAR", "IDVARVAL", "QEVAL")},
    "ADSL": {"req": ("STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "TRT01P"),
             "exp": ("TRT01A", "TRTSDT", "TRTEDT")},
    "BDS": {"req": ("STUDYID", "USUBJID", "PARAMCD", "PARAM", ("AVAL", "AVALC")), "exp": ()},
    "ADAE": {"req": ("STUDYID", "USUBJID", "AETERM", "AEDECOD", "AEBODSYS"), "exp": ("AESEQ", "TRTA")},
    "ADCM": {"req": ("STUDYID", "USUBJID", "CMTRT"), "exp": ("CMSEQ", "TRTA")},
    "ADMH": {"req": ("STUDYID", "USUBJID", "MHTERM"), "exp": ("MHSEQ",)},
}


def ig_table(member: Member) -> tuple[str, dict[str, tuple]] | None:
    name = member.name
    if member.standard == "SDTM":
        if name.startswith("SUPP"):
            return "SUPP--", IG_VARIABLES["SUPP--"]
        if name in IG_VARIABLES and not name.startswith("AD"):
            return name, IG_VARIABLES[name]
        return None
    if name in IG_VARIABLES:
        return name, IG_VARIABLES[name]
    if "PARAMCD" in member.frame.columns or name in ("ADRS", "ADEX", "ADTTE", "ADLB", "ADVS"):
        return "BDS", IG_VARIABLES["BDS"]
    return None


def _label(names) -> str:
    return " or ".join(names) if isinstance(names, tuple) else names


@check
def ig_rules(pkg: Package) -> Iterator[Finding]:
    for m in pkg.members:
        if m.data is None:
            continue
        frame = m.frame
        table = ig_table(m)
        if table is not None:
            which, core = table
            ig = "ADaMIG 1.3" if m.standard == "ADaM" else "SDTMIG 3.4"
            for names in core["req"]:
                options = names if isinstance(names, tuple) else (names,)
                present = [n for n in options if n in frame.columns]
                if not present:
                    yield finding("SUB-IG-001", m, _label(names), 1, f"{ig} {which} requires {_label(names)}")
                    continue
                null = pd.Series(True, index=frame.index)
                for n in present:
                    null &= m.missing(n)
                yield from masked("SUB-IG-003", m, _label(names), null, f"{ig} {which}: required, but null",
                                  frame[present[0]])
            for names in core["exp"]:
                if names not in frame.columns:
                    yield finding("SUB-IG-002", m, names, 1, f"{ig} {which} expects {names}")
        if m.standard == "SDTM":
            column, wanted = ("RDOMAIN", m.name[4:]) if m.name.startswith("SUPP") else ("DOMAIN", m.name[:2])
            if column in frame.columns and not (m.name.startswith("SUPP") and not wanted):
                values = m.text(column)
                other = m.where_text(column, lambda v, wanted=wanted: v is not None and v != wanted)
                yield from masked("SUB-IG-004", m, column, other, f"{column} should be {wanted}", values)


# --- sequence numbers and subjects -----------------------------------------------------------

@check
def seq_rules(pkg: Package) -> Iterator[Finding]:
    for m in pkg.of("SDTM"):
        frame = m.frame
        seq = f"{domain_of(m)}SEQ"
        if seq not in frame.columns or "USUBJID" not in frame.columns:
            continue
        present = frame[seq].notna()
        dup = frame.duplicated(["USUBJID", seq], keep=False) & present
        yield from masked("SUB-SEQ-001", m, seq, dup, f"{seq} repeats within a subject")


def _subjects(member: Member | None) -> set[str] | None:
    if member is None or member.data is None or "USUBJID" not in member.frame.columns:
        return None
    return set(member.text("USUBJID").dropna())


@check
def subject_rules(pkg: Package) -> Iterator[Finding]:
    for standard, parent, rule_id in (("SDTM", "DM", "SUB-REF-001"), ("ADaM", "ADSL", "SUB-REF-002")):
        members = [m for m in pkg.of(standard) if m.name != parent and "USUBJID" in m.frame.columns]
        if not members:
            continue
        known = _subjects(pkg.get(standard, parent))
        if known is None:
            yield skipped(f"{rule_id} (USUBJID in {parent})", f"no {parent} among the {standard} datasets",
                          dataset=parent)
            continue
        for m in members:
            values = m.text("USUBJID")
            unknown = m.where_text("USUBJID", lambda v, known=known: v is not None and v not in known)
            yield from masked(rule_id, m, "USUBJID", unknown, f"USUBJID is not in {parent}", values)


@check
def supp_parent_rules(pkg: Package) -> Iterator[Finding]:
    for m in pkg.of("SDTM"):
        frame = m.frame
        if not m.name.startswith("SUPP") or not {"RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL"} <= set(frame.columns):
            continue
        rdomain, subject = m.text("RDOMAIN"), m.text("USUBJID")
        idvar, idvarval = m.text("IDVAR"), m.text("IDVARVAL")
        orphan = pd.Series(False, index=frame.index)
        for domain in sorted(set(rdomain.dropna())):
            parent = pkg.get("SDTM", domain)
            if parent is None or parent.data is None or "USUBJID" not in parent.frame.columns:
                yield skipped(f"SUB-REF-003 ({m.name} to {domain})", f"no {domain} among the SDTM datasets", m)
                continue
            rows = rdomain == domain
            parent_subject = parent.text("USUBJID")
            for variable in sorted(set(idvar[rows].fillna(""))):
                these = rows & (idvar.fillna("") == variable)
                if not variable:
                    keys = set(parent_subject.dropna())
                    orphan |= these & ~subject.isin(keys)
                elif variable in parent.frame.columns:
                    keys = set(zip(parent_subject, parent.text(variable)))
                    pairs = pd.Series(list(zip(subject, idvarval)), index=frame.index)
                    orphan |= these & ~pairs.isin(keys)
                else:
                    orphan |= these
        shown = rdomain.fillna("") + " " + idvar.fillna("") + "=" + idvarval.fillna("")
        yield from masked("SUB-REF-003", m, "IDVARVAL", orphan, "no parent record for this SUPP-- record", shown)


# --- ISO 8601 dates, study days, start/end ---------------------------------------------------

_DTC = re.compile(r"""^(?P<Y>\d{4}|-)
    (?:-(?P<M>\d{2}|-)
      (?:-(?P<D>\d{2}|-)
        (?:T(?P<h>\d{2}|-)
          (?::(?P<mi>\d{2}|-)
            (?::(?P<s>\d{2}(?:\.\d+)?))?
          )?
          (?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?
        )?
      )?
    )?$""", re.VERBOSE)
_DURATION = re.compile(r"^P(?=\d|T\d)(?:\d+(?:[.,]\d+)?Y)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?W)?(?:\d+(?:[.,]\d+)?D)?"
                       r"(?:T(?=\d)(?:\d+(?:[.,]\d+)?H)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?S)?)?$")


# The usual values, valid whatever the calendar says (days 1 to 28 are in every month): YYYY, YYYY-MM,
# YYYY-MM-DD, then Thh:mm and :ss. Everything else, valid or not, goes through the whole check.
_USUAL = re.compile(r"[0-9]{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|1[0-9]|2[0-8])"
                    r"(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?)?)?)?")


def iso8601_problem(text: str) -> str | None:
    """Why `text` is not an SDTM ISO 8601 date/time (or interval), or None when it is one."""
    if _USUAL.fullmatch(text):
        return None
    if "/" in text:
        parts = text.split("/")
        if len(parts) != 2 or not all(parts):
            return "not an ISO 8601 interval"
        for part in parts:
            if not _DURATION.match(part) and (why := iso8601_problem(part)) is not None:
                return why
        return None
    match = _DTC.match(text)
    if not match:
        return "not ISO 8601 (YYYY-MM-DDThh:mm:ss, right-truncated for partial dates)"
    parts = [match.group(k) for k in ("Y", "M", "D", "h", "mi", "s")]
    present = [p for p in parts if p is not None]
    if present[-1] == "-":
        return "ends with an unknown component (truncate instead)"
    year, month, day, hour, minute, second = (None if p in (None, "-") else p for p in parts)
    if month is not None and not 1 <= int(month) <= 12:
        return f"month {month} does not exist"
    if day is not None:
        last = 31
        if month is not None:
            last = calendar.monthrange(int(year) if year is not None else 2000, int(month))[1]
        if not 1 <= int(day) <= last:
            return f"day {day} does not exist in {'-'.join(p for p in (year, month) if p) or 'any month'}"
    if hour is not None and not int(hour) <= 23:
        return f"hour {hour} does not exist"
    if minute is not None and not int(minute) <= 59:
        return f"minute {minute} does not exist"
    if second is not None and not float(second) < 60:
        return f"second {second} does not exist"
    tz = match.group("tz")
    if tz and tz != "Z" and (int(tz[1:3]) > 14 or (len(tz) > 3 and int(tz[-2:]) > 59)):
        return f"time zone {tz} does not exist"
    return None


def complete_date(text: str | None) -> str | None:
    """'YYYY-MM-DD' when `text` is a valid ISO date/time with a complete date, else None."""
    if not isinstance(text, str) or len(text) < 10 or "/" in text or not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    return text[:10] if iso8601_problem(text) is None else None


def _moment(text: str | None) -> tuple[str, str | None] | None:
    """(date, hh:mm[:ss] or None) of a valid complete date, for ordering two of them."""
    date = complete_date(text)
    if date is None:
        return None
    match = _DTC.match(text)
    hour, minute, second = match.group("h"), match.group("mi"), match.group("s")
    if hour in (None, "-") or minute in (None, "-") or match.group("tz"):
        return date, None
    return date, f"{hour}:{minute}:{float(second or 0):09.6f}"


def _dtc_columns(m: Member) -> list[str]:
    return [c.name for c in m.data.columns if c.kind == "text" and c.name.endswith("DTC")]


@check
def dtc_rules(pkg: Package) -> Iterator[Finding]:
    for m in pkg.members:
        if m.data is None:
            continue
        frame = m.frame
        for name in _dtc_columns(m):
            values = m.text(name)
            why = m.map_text(name, lambda v: iso8601_problem(v) if isinstance(v, str) else None)
            reasons = list(dict.fromkeys(why.dropna()))
            shown = "; ".join(reasons[:3]) + ("; ..." if len(reasons) > 3 else "")
            yield from masked("SUB-DTC-001", m, name, why.notna(), f"not a valid ISO 8601 date/time: {shown}", values)
        if {"QNAM", "QVAL"} <= set(frame.columns):  # SUPP-- values that are dates by name
            qnam, qval = m.text("QNAM"), m.text("QVAL")
            dated = qnam.fillna("").str.endswith("DTC") & qval.notna()
            why = map_distinct(qval.where(dated), lambda v: iso8601_problem(v) if isinstance(v, str) else None)
            yield from masked("SUB-DTC-001", m, "QVAL", why.notna(), "QVAL of a --DTC QNAM is not ISO 8601", qval)
        yield from _start_after_end(m)


def _start_after_end(m: Member) -> Iterator[Finding]:
    frame = m.frame
    kinds = {c.name: c.kind for c in m.data.columns}
    for name, kind in kinds.items():
        if kind == "text" and name.endswith("STDTC") and (end := name[:-5] + "ENDTC") in kinds:
            later = pd.Series(_later(_moment_parts(m, name), _moment_parts(m, end)), index=frame.index)
            shown = m.text(name).fillna("") + " > " + m.text(end).fillna("") if later.any() else None
            yield from masked("SUB-DTC-002", m, name, later, f"{name} is after {end}", shown)
        elif kind in ("date", "datetime"):
            end = None
            for tail, partner in (("STDTM", "ENDTM"), ("SDTM", "EDTM"), ("STDT", "ENDT"), ("SDT", "EDT")):
                if name.endswith(tail):
                    end = name[: -len(tail)] + partner
                    break
            if end is None or kinds.get(end) not in ("date", "datetime"):
                continue
            start_v, end_v = pd.to_datetime(frame[name]), pd.to_datetime(frame[end])
            later = start_v.notna() & end_v.notna() & (start_v > end_v)
            shown = start_v.astype(str) + " > " + end_v.astype(str)
            yield from masked("SUB-DTC-002", m, name, later, f"{name} is after {end}", shown)


def _moment_parts(m: Member, variable: str) -> tuple[np.ndarray, np.ndarray]:
    """The dates and the times of `_moment` of each value of a --DTC column (None where there is none),
    each found once per distinct value."""
    def part(i: int) -> Callable[[str | None], str | None]:
        return lambda text: None if (moment := _moment(text)) is None else moment[i]

    return m.map_text(variable, part(0)).to_numpy(), m.map_text(variable, part(1)).to_numpy()


def _later(start: tuple[np.ndarray, np.ndarray], end: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Whether each start (the date and time arrays of `_moment_parts`) is after its end: the dates
    compared, then, on the same date, the times when both have one; a missing moment is never after."""
    (sd, st), (ed, et) = start, end
    both = pd.notna(sd) & pd.notna(ed)
    out = np.zeros(len(sd), dtype=bool)
    idx = np.flatnonzero(both)
    if len(idx):
        a, b = sd[idx].astype(str), ed[idx].astype(str)
        later = a > b
        same = a == b
        timed = same & pd.notna(st[idx]) & pd.notna(et[idx])
        if timed.any():
            t = np.flatnonzero(timed)
            later[t] = st[idx][t].astype(str) > et[idx][t].astype(str)
        out[idx] = later
    return out


def study_days(dates: pd.Series, references: pd.Series) -> pd.Series:
    """--DY as SDTMIG defines it (date - reference, + 1 on or after the reference; no day 0) for every
    record with both a complete date and a reference, else missing. Computed here on its own, not with
    the mapper's `sdtm.common.study_day`, so that the check does not share a bug with what it checks."""
    days = (pd.to_datetime(dates, format="%Y-%m-%d", errors="coerce")
            - pd.to_datetime(references, format="%Y-%m-%d", errors="coerce")).dt.days
    return pd.Series(np.where(days >= 0, days + 1, days), index=dates.index, dtype="Float64").where(days.notna())


@check
def dy_rules(pkg: Package) -> Iterator[Finding]:
    sdtm = pkg.of("SDTM")
    pairs = [(m, c.name, c.name[:-2] + "DTC") for m in sdtm for c in m.data.columns
             if c.name.endswith("DY") and c.numeric and c.name[:-2] + "DTC" in m.frame.columns]
    if not pairs:
        return
    dm = pkg.get("SDTM", "DM")
    reference = None
    if dm is not None and dm.data is not None and {"USUBJID", "RFSTDTC"} <= set(dm.frame.columns):
        reference = dict(zip(dm.text("USUBJID"), dm.text("RFSTDTC").map(complete_date)))
    for m, dy, dtc in pairs:
        values = pd.to_numeric(m.frame[dy], errors="coerce")
        yield from masked("SUB-DY-001", m, dy, values == 0, f"{dy} is 0", values)
        if reference is None:
            yield skipped(f"SUB-DY-002 ({dy})", "no DM with USUBJID and RFSTDTC", m)
            continue
        if "USUBJID" not in m.frame.columns:
            continue
        expected = study_days(m.map_text(dtc, complete_date), m.map_text("USUBJID", lambda s: reference.get(s)))
        wrong = expected.notna() & (values.isna() | (values != expected).fillna(True)) & (values != 0).fillna(True)
        shown = pd.Series(None, index=m.frame.index, dtype=object)  # only the records shown need the text
        for i in wrong[wrong.fillna(False).astype(bool)].index[:EXAMPLES]:
            shown.loc[i] = f"{show(values.loc[i])} (expected {show(expected.astype(object).loc[i])})"
        yield from masked("SUB-DY-002", m, dy, wrong, f"{dy} differs from {dtc} - DM.RFSTDTC (+1 on or after)", shown)


# --- built-in CDISC controlled terminology (datasets the spec does not describe) ---------------
# Non-extensible CDISC codelists only, so any other value is an error whatever the study.
CDISC_CT: dict[str, tuple[str, tuple[str, ...]]] = {
    "NY": ("C66742", ("N", "NA", "U", "Y")),
    "SEX": ("C66731", ("F", "M", "U", "UNDIFFERENTIATED")),
    "AESEV": ("C66769", ("MILD", "MODERATE", "SEVERE")),
    "OUT": ("C66768", ("FATAL", "NOT RECOVERED/NOT RESOLVED", "RECOVERED/RESOLVED", "RECOVERED/RESOLVED WITH SEQUELAE",
                       "RECOVERING/RESOLVING", "UNKNOWN")),
    "ACN": ("C66767", ("DOSE INCREASED", "DOSE NOT CHANGED", "DOSE RATE REDUCED", "DOSE REDUCED", "DRUG INTERRUPTED",
                       "DRUG WITHDRAWN", "NOT APPLICABLE", "UNKNOWN")),
    "Y": ("C66742 (Y only)", ("Y",)),
}
_CT_BY_SUFFIX = {**{s: "NY" for s in ("SER", "SCAN", "SCONG", "SDISAB", "SDTH", "SHOSP", "SLIFE", "SOD", "SMIE",
                                      "CONTRT", "OCCUR", "FAST", "PRESP")},
                 **{s: "Y" for s in ("BLFL", "LOBXFL", "DRVFL")}}
_CT_BY_NAME = {"SEX": "SEX", "DTHFL": "Y", "AESEV": "AESEV", "AEOUT": "OUT", "AEACN": "ACN"}


def cdisc_codelist(member: Member, variable: str) -> str | None:
    if variable in _CT_BY_NAME:
        return _CT_BY_NAME[variable]
    if variable[:2] == domain_of(member):
        return _CT_BY_SUFFIX.get(variable[2:])
    return None


@check
def cdisc_ct_rules(pkg: Package) -> Iterator[Finding]:
    for m in pkg.of("SDTM"):
        if m.spec is not None:
            continue  # SUB-CT-001 checks the spec's codelists
        for col in m.data.columns:
            codelist = cdisc_codelist(m, col.name)
            if codelist is None or col.kind != "text":
                continue
            code, terms = CDISC_CT[codelist]
            values = m.text(col.name)
            yield from masked("SUB-CT-002", m, col.name, values.notna() & ~values.isin(terms),
                              f"not in CDISC codelist {codelist} ({code})", values)


# --- ADaM ------------------------------------------------------------------------------------
POPULATION_FLAGS = {"ITTFL", "SAFFL", "FASFL", "PPROTFL", "COMPLFL", "RANDFL", "ENRLFL"}
_Y_NULL_FLAG = re.compile(r"^(ABLFL|ANL\d{2}FL|AOCC\w*FL)$")


def is_population_flag(name: str, label: str | None) -> bool:
    """Subject-level population flag (ADaMIG 1.3 flag conventions 3-4): never null.

    Parameter-level (*PFL) and record-level (*RFL) population flags may be null.
    """
    if name.endswith(("PFL", "RFL", "PFN", "RFN")):
        return False
    base = name[:-2] + "FL" if name.endswith("FN") else name
    return base in POPULATION_FLAGS or "population flag" in (label or "").lower()


@check
def adam_rules(pkg: Package) -> Iterator[Finding]:
    adsl = pkg.get("ADaM", "ADSL")
    if adsl is not None and adsl.data is not None and "USUBJID" in adsl.frame.columns:
        values = adsl.text("USUBJID")
        yield from masked("SUB-ADAM-001", adsl, "USUBJID", values.notna() & values.duplicated(keep=False),
                          "subject has more than one ADSL record", values)
    for m in pkg.of("ADaM"):
        for col in m.data.columns:
            if not col.name.endswith(("FL", "FN")):
                continue
            values = m.text(col.name)
            character = col.name.endswith("FL")
            allowed = ("Y", "N") if character else ("1", "0")
            if character and col.numeric:
                yield finding("SUB-ADAM-002", m, col.name, 1, "a *FL flag is character (Y/N)")
                continue
            yield from masked("SUB-ADAM-002", m, col.name, values.notna() & ~values.isin(allowed),
                              f"{col.name} must be {'Y, N' if character else '1, 0'} or null", values)
            if is_population_flag(col.name, col.label):
                yield from masked("SUB-ADAM-003", m, col.name, values.isna(),
                                  "population flag is null (Y or N required)", values)
            elif _Y_NULL_FLAG.match(col.name):
                yield from masked("SUB-ADAM-004", m, col.name, values == "N", f"{col.name} is Y or null", values)


@check
def traceability_rules(pkg: Package) -> Iterator[Finding]:
    adae, ae = pkg.get("ADaM", "ADAE"), pkg.get("SDTM", "AE")
    if adae is not None and adae.data is not None:
        if ae is None or ae.data is None:
            if pkg.has("SDTM"):
                yield skipped("SUB-TRC-001 (ADAE to AE)", "no AE among the SDTM datasets", adae)
        elif {"USUBJID", "AESEQ"} <= set(adae.frame.columns) and {"USUBJID", "AESEQ"} <= set(ae.frame.columns):
            known = set(zip(ae.text("USUBJID"), ae.text("AESEQ")))
            pairs = pd.Series(list(zip(adae.text("USUBJID"), adae.text("AESEQ"))), index=adae.frame.index)
            shown = pairs.map(lambda p: f"AESEQ={p[1]}")
            yield from masked("SUB-TRC-001", adae, "AESEQ", ~pairs.isin(known), "USUBJID + AESEQ not in SDTM AE", shown)
    adsl, dm = pkg.get("ADaM", "ADSL"), pkg.get("SDTM", "DM")
    if adsl is not None and dm is not None and (known := _subjects(dm)) is not None and "USUBJID" in adsl.frame.columns:
        values = adsl.text("USUBJID")
        yield from masked("SUB-TRC-002", adsl, "USUBJID", values.notna() & ~values.isin(known),
                          "ADSL subject is not in SDTM DM", values)


# --- define.xml ------------------------------------------------------------------------------
_DEF_PRESENCE = ("not in define.xml", "is in define.xml but", "not described in define.xml")


@check
def define_rules(pkg: Package) -> Iterator[Finding]:
    from ..define.consistency import check_consistency
    from ..define.read import read_define
    from ..define.validate import validate_define
    from ..errors import SubError

    for standard, folder in pkg.folders:
        xpts = [m for m in pkg.members if m.folder == folder and m.xpt is not None]
        define_path = folder / "define.xml"
        if not xpts:
            continue
        if not define_path.is_file():
            yield skipped(f"SUB-DEF rules ({standard})", f"no define.xml in {folder}", dataset=None)
            continue
        try:
            define = read_define(define_path, name=str(define_path))
        except SubError as exc:  # unreadable or refused: the console has no file column, so the message names it
            for p in exc.problems:
                where = f"{define_path}" + (f", line {p.row}" if p.row else "")
                f = finding("SUB-DEF-001", None, None, 1, f"{where}: {p.message}"[:400], file=str(define_path))
                f.standard = standard
                yield f
            continue
        if (define.define_version or "").startswith("2.1"):
            yield from _grouped("SUB-DEF-001", validate_define(define_path, name=str(define_path)), standard,
                                str(define_path))
        else:  # only the Define-XML 2.1 schema ships with sub; the data are still compared below
            yield skipped("SUB-DEF-001 (schema)", f"{define_path} is Define-XML {define.define_version or '?'}, not 2.1")
        by_rule: dict[str, list] = {}
        read = {m.xpt.stem.upper(): (m.xpt_data, m.widths) for m in xpts if m.xpt_data is not None}
        for p in check_consistency(folder, define, read=read):  # the files as read already, not read again
            if any(text in p.message for text in _DEF_PRESENCE):
                rule_id = "SUB-DEF-002"
            elif "codelist" in p.message:
                rule_id = "SUB-DEF-004"
            else:
                rule_id = "SUB-DEF-003"
            by_rule.setdefault(rule_id, []).append(p)
        for rule_id, items in by_rule.items():
            yield from _grouped(rule_id, items, standard, str(define_path))


_RECORDS = re.compile(r" \((\d+) record\(s\)\)$")


def _grouped(rule_id: str, problems, standard: str, define_file: str) -> Iterator[Finding]:
    """Problems of the define checks as findings, one per dataset, variable and message."""
    groups: dict[tuple, dict] = {}
    for p in problems:
        dataset = None
        if p.file.lower().endswith(".xpt"):
            dataset = p.file.rsplit("/", 1)[-1][:-4].upper()
        elif p.column and "." in p.message.split(" ", 1)[0]:
            dataset = p.message.split(".", 1)[0]
        elif p.column is None and p.value and re.fullmatch(r"[A-Z][A-Z0-9]{0,7}", p.value):
            dataset = p.value
        count = 1
        message = p.message
        if (n := _RECORDS.search(message)) is not None:
            count = int(n.group(1))
            message = message[: n.start()]
        if rule_id == "SUB-DEF-001":
            message = re.sub(r"line \d+", "line n", message)[:160]
        key = (dataset, p.column, message)
        group = groups.setdefault(key, {"count": 0, "examples": [], "file": p.file})
        group["count"] += count
        if p.value is not None:
            group["examples"].append(Example(None, p.value))
    for (dataset, column, message), group in groups.items():
        f = finding(rule_id, None, column, group["count"], message, group["examples"], dataset=dataset,
                    file=group["file"] if group["file"].lower().endswith(".xpt") else define_file)
        f.standard = standard
        yield f


# --- Dataset-JSON ----------------------------------------------------------------------------

@check
def json_rules(pkg: Package) -> Iterator[Finding]:
    for m in pkg.members:
        if m.json_obj is None:
            continue
        groups: dict[tuple, dict] = {}
        for p in m.json_problems or []:
            column = p.column or ""
            message = p.message
            if column.startswith("rows[") and "." in column:
                variable = column.split(".", 1)[1]
            elif column.startswith("columns["):
                index = int(column[8:].split("]", 1)[0])
                columns = m.json_obj.get("columns") or []
                entry = columns[index] if index < len(columns) and isinstance(columns[index], dict) else {}
                variable = entry.get("name") if isinstance(entry.get("name"), str) else None
                message = f"column {column.split('.', 1)[-1] if '.' in column else column}: {message}"
            else:  # a top-level attribute of the file
                variable = None
                message = f"{column}: {message}" if column else message
            group = groups.setdefault((variable, message), {"count": 0, "examples": []})
            group["count"] += 1
            group["examples"].append(Example(None, p.value))
        for (variable, message), group in groups.items():
            yield finding("SUB-JSON-001", m, variable, group["count"], message, group["examples"], file=str(m.json))
        if m.twin_findings is not None:
            yield from m.twin_findings
        elif m.xpt is not None and m.json is None and m.xpt_data is not None and pkg.has_json:
            yield skipped("SUB-JSON-002", f"{m.xpt.name} has no Dataset-JSON twin", m)


def twin_findings(m: Member) -> list[Finding]:
    """The SUB-JSON-002 findings of a dataset read both as XPT and as Dataset-JSON."""
    return list(_twins(m))


def _twins(m: Member) -> Iterator[Finding]:
    x, j = m.xpt_data, m.json_data
    file = str(m.json)
    xcols, jcols = [c.name for c in x.columns], [c.name for c in j.columns]
    for name in xcols:
        if name not in jcols:
            yield finding("SUB-JSON-002", m, name, 1, "variable is in the XPT file but not in the Dataset-JSON file", file=file)
    for name in jcols:
        if name not in xcols:
            yield finding("SUB-JSON-002", m, name, 1, "variable is in the Dataset-JSON file but not in the XPT file", file=file)
    common = [c for c in xcols if c in jcols]
    if [c for c in jcols if c in xcols] != common:
        yield finding("SUB-JSON-002", m, None, 1, "variable order differs between the XPT and Dataset-JSON files", file=file)
    if (x.label or "") != (j.label or ""):
        yield finding("SUB-JSON-002", m, None, 1, f"dataset label: XPT {x.label!r}, JSON {j.label!r}", file=file)
    for name in common:
        if (x.column(name).label or "") != (j.column(name).label or ""):
            yield finding("SUB-JSON-002", m, name, 1,
                          f"label: XPT {x.column(name).label!r}, JSON {j.column(name).label!r}", file=file)
    json_lengths = {c.get("name"): c.get("length") for c in (m.json_obj or {}).get("columns") or []
                    if isinstance(c, dict)}
    for name in common:
        stored, said = m.widths.get(name), json_lengths.get(name)
        if stored is not None and isinstance(said, int) and stored != said:
            yield finding("SUB-JSON-002", m, name, 1, f"length: XPT {stored}, JSON {said}", file=file)
    if len(x.frame) != len(j.frame):
        yield finding("SUB-JSON-002", m, None, abs(len(x.frame) - len(j.frame)),
                      f"{len(x.frame)} records in the XPT file, {len(j.frame)} in the Dataset-JSON file", file=file)
        return
    xf, jf = x.frame.reset_index(drop=True), j.frame.reset_index(drop=True)
    subject = None
    for name in common:
        if _equal_values(xf[name], jf[name]):
            continue  # equal values have equal comparable forms: nothing differs
        if subject is None and "USUBJID" in xf.columns:
            subject = texts(xf["USUBJID"])
        a, b = _comparable(xf[name]), _comparable(jf[name])
        differ = pd.Series(_differ(a, b), index=xf.index, dtype=bool)
        n = int(differ.sum())
        if n:
            rows = differ[differ].index[:EXAMPLES]
            examples = [Example(subject.loc[i] if subject is not None else None, f"XPT {_item(a[i])!r}, JSON {_item(b[i])!r}")
                        for i in rows]
            yield finding("SUB-JSON-002", m, name, n, "values differ between the XPT and Dataset-JSON files",
                          examples, file=file)


def _equal_values(a: pd.Series, b: pd.Series) -> bool:
    """Whether two columns hold equal values row by row (missing where the other is missing), checked
    in C; then their `_comparable` forms are equal too (values that are equal have one text form:
    1 == 1.0 == True all read "1"). Only for two text (object) columns or two datetime64 columns, the
    ones whose comparable form costs a conversion; False means "not shown equal", not "different"."""
    if a.dtype == object and b.dtype == object:
        return a.tolist() == b.tolist()
    if isinstance(a.dtype, np.dtype) and isinstance(b.dtype, np.dtype) and a.dtype.kind == b.dtype.kind == "M":
        return bool(np.array_equal(a.to_numpy(), b.to_numpy(), equal_nan=True))
    return False


def _comparable(series: pd.Series) -> np.ndarray:
    """The column as numbers (float64, NaN when missing) or as text (object, None when missing)."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_datetime64_any_dtype(series):
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return texts(series).to_numpy(dtype=object)


def _item(value):
    """A value of `_comparable` as `_same` takes it: None for a missing number, a float for a number."""
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    return value


def _differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where `_same` fails, column-wise (numbers within 1e-12 relative; both missing is equal)."""
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        a_missing, b_missing = np.isnan(a), np.isnan(b)
        with np.errstate(invalid="ignore", over="ignore"):
            close = (a == b) | (np.isfinite(a) & np.isfinite(b)
                                & (np.abs(a - b) <= np.maximum(1e-12 * np.maximum(np.abs(a), np.abs(b)), 1e-300)))
        return np.where(a_missing | b_missing, a_missing != b_missing, ~close)
    if a.dtype.kind == "f" or b.dtype.kind == "f":  # numbers against text: value by value
        return np.array([not _same(_item(p), _item(q)) for p, q in zip(a, b)], dtype=bool)
    return ~np.equal(a, b, dtype=object).astype(bool)


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)  # IBM floats in XPT carry ~15 digits
    return a == b


# --- the analysis results data (OUT/tlf/ard.csv) -----------------------------------------------

ARD_FILE = ("tlf", "ard.csv")


@check
def ard_rules(pkg: Package) -> Iterator[Finding]:
    """A package's ARD: unique keys, the stable ids of those keys, and every traceable number
    recomputed from the package's ADaM datasets (`sub trace`)."""
    from ..tlf.ard import ID_COLUMN, ard_ids, duplicate_keys, read_ard_csv

    path = pkg.path.joinpath(*ARD_FILE)
    if not pkg.path.is_dir() or not path.is_file():
        return
    try:
        ard = read_ard_csv(path)
    except Exception as exc:  # noqa: BLE001 - an unreadable ARD is a finding
        yield finding("SUB-ARD-001", None, None, 1, f"the ARD cannot be read: {type(exc).__name__}: {exc}"[:300],
                      dataset="ARD", file=str(path))
        return
    dups = duplicate_keys(ard)
    if len(dups):
        examples = [Example(None, ", ".join(f"{k}={v}" for k, v in r.items() if v is not None)[:200])
                    for r in dups.head(EXAMPLES).to_dict("records")]
        yield finding("SUB-ARD-001", None, None, len(dups), "rows share their key (a number that cannot be told "
                      "apart from another)", examples, dataset="ARD", file=str(path))
    if ID_COLUMN not in ard.columns:
        yield finding("SUB-ARD-002", None, ID_COLUMN, len(ard), "the ARD has no ard_id column", dataset="ARD",
                      file=str(path))
        return
    expected = pd.Series(ard_ids(ard.drop(columns=[ID_COLUMN])), index=ard.index)
    found = ard[ID_COLUMN]
    wrong = found.isna() | found.ne(expected) | found.duplicated(keep=False)
    if wrong.any():
        examples = [Example(None, f"{ard.at[i, ID_COLUMN]} (expected {expected[i]})")
                    for i in wrong[wrong].index[:EXAMPLES]]
        yield finding("SUB-ARD-002", None, ID_COLUMN, int(wrong.sum()), "ard_id is missing, repeated or not the "
                      "id of the row's key", examples, dataset="ARD", file=str(path))
    yield from _ard_trace(pkg, ard, path)


def _ard_trace(pkg: Package, ard: pd.DataFrame, path) -> Iterator[Finding]:
    from ..tlf.ard import TRACE_COLUMNS
    from ..tlf.trace import Tracer, check_all

    if not set(TRACE_COLUMNS) <= set(ard.columns):
        yield skipped("SUB-ARD-003", "the ARD has no analysis definitions (source, where, population, counts)",
                      dataset="ARD")
        return
    frames = {m.name: m.frame for m in pkg.of("ADaM")}
    if "ADSL" not in frames:
        yield skipped("SUB-ARD-003", "no ADSL among the ADaM datasets", dataset="ARD")
        return
    try:
        differ = check_all(Tracer(ard, frames, where=str(path)))["differ"]
    except Exception as exc:  # noqa: BLE001 - a definition that cannot run is a finding, not a crash
        yield finding("SUB-ARD-003", None, None, 1, f"the ARD cannot be traced: {type(exc).__name__}: {exc}"[:300],
                      dataset="ARD", file=str(path))
        return
    if differ:
        examples = [Example(None, f"{t.ard_id}: ARD {t.row.get('stat')}, ADaM gives {t.recomputed}")
                    for t in differ[:EXAMPLES]]
        yield finding("SUB-ARD-003", None, "stat", len(differ), "numbers the ADaM datasets do not reproduce",
                      examples, dataset="ARD", file=str(path))
