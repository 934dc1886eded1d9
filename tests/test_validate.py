"""`sub validate`: a clean build has no error, and each rule fires on one injected defect.

The clean package is built once per module (40 synthetic subjects). Each defect case copies only
the datasets it needs into a fresh folder, rewrites one of them (XPT through `write_xpt`, Dataset-JSON
as JSON) and validates that folder. Rules an XPT file cannot even carry (a 41-character label, a
9-character name) are checked on the in-memory Dataset, the way the builder would hand it over.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from submission.cli import main
from submission.dataset import Column, Dataset
from submission.qc.rules import RULES, iso8601_problem
from submission.qc.validate import (
    Member,
    Package,
    Report,
    render_console,
    run_rules,
    validate,
    write_report,
)
from submission.xpt import read_xpt, write_xpt

from .conftest import SHARED, SPECS, needs_reference, require_reference

CREATED = dt.datetime(2020, 1, 1)
PILOT_SDTM = SHARED / "reference" / "cdisc-pilot" / "sdtm"
needs_pilot = needs_reference(PILOT_SDTM)


# --- the clean package, once per module ------------------------------------------------------

@dataclass
class Env:
    clean: Path  # `sub build` output: OUT/sdtm (and whatever else the build writes)
    adam_pkg: Path  # clean SDTM + a small ADaM built here (validated with the SDTM spec only)
    define_pkg: Path  # clean DM, AE and DV with their define.xml


def make_adam(sdtm: Path, adam: Path) -> None:
    """A minimal, conformant ADSL and ADAE derived from the clean SDTM (not the study's ADaM)."""
    dm = read_xpt(sdtm / "dm.xpt").frame
    ae = read_xpt(sdtm / "ae.xpt").frame
    first = pd.to_datetime(dm["RFXSTDTC"].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    last = pd.to_datetime(dm["RFXENDTC"].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    treated = first.notna()
    adsl = pd.DataFrame({
        "STUDYID": dm["STUDYID"], "USUBJID": dm["USUBJID"], "SUBJID": dm["SUBJID"], "SITEID": dm["SITEID"],
        "AGE": dm["AGE"], "AGEU": dm["AGEU"], "SEX": dm["SEX"], "RACE": dm["RACE"],
        "TRT01P": "LENALIDOMIDE + DEXAMETHASONE",
        "TRT01A": np.where(treated, "LENALIDOMIDE + DEXAMETHASONE", None),
        "TRTSDT": first, "TRTEDT": last.where(treated),
        "SAFFL": np.where(treated, "Y", "N"), "DTHFL": dm["DTHFL"],
    })
    adsl_cols = [Column("STUDYID", "Study Identifier"), Column("USUBJID", "Unique Subject Identifier"),
                 Column("SUBJID", "Subject Identifier for the Study"), Column("SITEID", "Study Site Identifier"),
                 Column("AGE", "Age", "float"), Column("AGEU", "Age Units"), Column("SEX", "Sex"),
                 Column("RACE", "Race"), Column("TRT01P", "Planned Treatment for Period 01"),
                 Column("TRT01A", "Actual Treatment for Period 01"),
                 Column("TRTSDT", "Date of First Exposure to Treatment", "date", "DATE9."),
                 Column("TRTEDT", "Date of Last Exposure to Treatment", "date", "DATE9."),
                 Column("SAFFL", "Safety Population Flag"), Column("DTHFL", "Subject Death Flag")]
    trta = dict(zip(adsl["USUBJID"], adsl["TRT01A"]))
    adae = pd.DataFrame({
        "STUDYID": ae["STUDYID"], "USUBJID": ae["USUBJID"], "AESEQ": ae["AESEQ"], "AETERM": ae["AETERM"],
        "AEDECOD": ae["AEDECOD"], "AEBODSYS": ae["AEBODSYS"], "TRTA": ae["USUBJID"].map(trta),
        "SAFFL": ae["USUBJID"].map(dict(zip(adsl["USUBJID"], adsl["SAFFL"]))),
        "AOCCFL": np.where(~ae["USUBJID"].duplicated(), "Y", None),
    })
    adae_cols = [Column("STUDYID", "Study Identifier"), Column("USUBJID", "Unique Subject Identifier"),
                 Column("AESEQ", "Sequence Number", "float"), Column("AETERM", "Reported Term for the Adverse Event"),
                 Column("AEDECOD", "Dictionary-Derived Term"), Column("AEBODSYS", "Body System or Organ Class"),
                 Column("TRTA", "Actual Treatment"), Column("SAFFL", "Safety Population Flag"),
                 Column("AOCCFL", "1st Occurrence within Subject Flag")]
    adam.mkdir(parents=True, exist_ok=True)
    write_xpt(Dataset("ADSL", "Subject-Level Analysis Dataset", adsl, adsl_cols), adam / "adsl.xpt", CREATED)
    write_xpt(Dataset("ADAE", "Adverse Events Analysis Dataset", adae, adae_cols), adam / "adae.xpt", CREATED)


def write_sdtm_define(folder: Path) -> None:
    from submission.define.write import write_define_folder
    from submission.spec import load_spec
    from submission.study import load_settings

    spec = load_spec(SPECS / "sdtm")
    data = {p.stem.upper(): read_xpt(p) for p in sorted(folder.glob("*.xpt"))}
    for name, ds in data.items():
        ds.keys = list(spec.datasets[name].key_variables)
    write_define_folder(folder, spec, data, load_settings(SPECS), "SDTM", CREATED)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    from submission.build import run_build
    from submission.raw.synth import synthesize, write_extract
    from submission.study import load_settings

    base = tmp_path_factory.mktemp("validate")
    write_extract(synthesize(load_settings(SPECS), n_subjects=40, seed=11), base / "raw")
    clean = base / "out"
    run_build(base / "raw", SPECS, clean)
    adam_pkg = base / "adam_pkg"
    shutil.copytree(clean / "sdtm", adam_pkg / "sdtm")
    make_adam(adam_pkg / "sdtm", adam_pkg / "adam")
    define_pkg = copy_sdtm(clean, base / "define_pkg", ("DM", "AE", "DV"))
    write_sdtm_define(define_pkg / "sdtm")
    return Env(clean, adam_pkg, define_pkg)


def errors(report) -> list:
    return [f for f in report.findings if f.severity == "error"]


def test_clean_build_has_no_error(env):
    report = validate(env.clean, SPECS)
    assert errors(report) == [], render_console(report)
    assert report.exit_code == 0
    assert any(m.spec is not None for m in report.package.members)  # the spec rules did run


def test_clean_sdtm_with_a_small_adam_has_no_error(env, tmp_path):
    report = validate(copy_sdtm(env.adam_pkg, tmp_path / "pkg", ("DM", "AE", "SUPPAE", "ADSL", "ADAE")), SPECS / "sdtm")
    assert errors(report) == [], render_console(report)
    assert {m.name for m in report.package.of("ADaM")} == {"ADSL", "ADAE"}


def test_clean_sdtm_with_its_define_has_no_error(env):
    report = validate(env.define_pkg, SPECS)
    assert errors(report) == [], render_console(report)
    assert not any(f.rule == "SUB-SYS-001" and "define" in f.message for f in report.findings)


# --- building blocks of the defects ----------------------------------------------------------

def copy_sdtm(source: Path, target: Path, names: tuple[str, ...], *, xpt: bool = True, json_files: bool = False) -> Path:
    """A package folder holding only `names` from source/sdtm (and source/adam)."""
    for standard in ("sdtm", "adam"):
        for name in names:
            for suffix, wanted in ((".xpt", xpt), (".json", json_files)):
                path = source / standard / f"{name.lower()}{suffix}"
                if wanted and path.exists():
                    (target / standard).mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, target / standard / path.name)
    return target


def rewrite(path: Path, edit: Callable[[pd.DataFrame], pd.DataFrame | None] | None = None, *,
            columns: Callable[[list[Column]], list[Column]] | None = None, **write) -> None:
    """Read an XPT file, edit its frame and/or columns, write it back with `write_xpt`."""
    ds = read_xpt(path)
    frame = ds.frame.copy()
    if edit is not None:
        edited = edit(frame)
        frame = edited if edited is not None else frame
    cols = [c for c in ds.columns if c.name in frame.columns]
    cols += [Column(n, n.title()) for n in frame.columns if n not in {c.name for c in cols}]
    if columns is not None:
        cols = columns(cols)
    write_xpt(Dataset(ds.name, ds.label, frame, cols), path, CREATED, **write)


def edit_json(path: Path, edit: Callable[[dict], None]) -> None:
    obj = json.loads(path.read_text(encoding="utf-8"))
    edit(obj)
    path.write_text(json.dumps(obj), encoding="utf-8")


def set_value(variable: str, value, row: int | None = 0):
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        if not pd.api.types.is_numeric_dtype(frame[variable]) or isinstance(value, str):
            frame[variable] = frame[variable].astype(object)
        frame.loc[frame.index[row] if row is not None else frame.index, variable] = value
        return frame
    return edit


def relabel(variable: str, label: str):
    return lambda cols: [dataclasses.replace(c, label=label) if c.name == variable else c for c in cols]


def first_complete(frame: pd.DataFrame, variable: str) -> int:
    return int(np.flatnonzero(frame[variable].fillna("").str.len() >= 10)[0])


def memory_package(ds: Dataset) -> Package:
    member = Member(ds.name, "SDTM", Path("."), xpt=Path(f"{ds.name.lower()}.xpt"), xpt_data=ds, xpt_version=5)
    return Package(Path("."), [], [member])


def tiny_ae() -> Dataset:
    frame = pd.DataFrame({"STUDYID": ["S"], "DOMAIN": ["AE"], "USUBJID": ["S-1"], "AESEQ": [1.0], "AETERM": ["HEADACHE"]})
    columns = [Column("STUDYID", "Study Identifier"), Column("DOMAIN", "Domain Abbreviation"),
               Column("USUBJID", "Unique Subject Identifier"), Column("AESEQ", "Sequence Number", "float"),
               Column("AETERM", "Reported Term for the Adverse Event")]
    return Dataset("AE", "Adverse Events", frame, columns)


# --- one defect per rule ---------------------------------------------------------------------
# make(env, tmp) returns what to validate: (folder, specs) or a Package read in memory.

def _ae(env, tmp, edit=None, *, names=("DM", "AE"), **kw):
    pkg = copy_sdtm(env.clean, tmp / "pkg", names)
    rewrite(pkg / "sdtm" / "ae.xpt", edit, **kw)
    return pkg, SPECS


def _no_dm(env, tmp):
    return copy_sdtm(env.clean, tmp / "pkg", ("AE",)), SPECS


def _unreadable(env, tmp):
    pkg = copy_sdtm(env.clean, tmp / "pkg", ("DM",))
    (pkg / "sdtm" / "zz.xpt").write_bytes(b"this is not a SAS transport file" * 4)
    return pkg, SPECS


def _long_name(env, tmp):
    ds = tiny_ae()
    ds.frame = ds.frame.rename(columns={"AETERM": "AETERMLONG"})
    ds.columns[-1] = Column("AETERMLONG", "Reported Term for the Adverse Event")
    return memory_package(ds)


def _long_label(env, tmp):
    ds = tiny_ae()
    ds.columns[-1] = Column("AETERM", "A" * 41)
    return memory_package(ds)


def _non_numeric(env, tmp):
    ds = tiny_ae()
    ds.frame["AESEQ"] = ["one"]
    return memory_package(ds)


def _non_ascii(env, tmp):
    return _ae(env, tmp, set_value("AETERM", "두통"), ascii_only=False)


def _over_200(env, tmp):
    import pyreadstat

    pkg = copy_sdtm(env.clean, tmp / "pkg", ("DM", "AE"))
    path = pkg / "sdtm" / "ae.xpt"
    ds = read_xpt(path)
    frame = ds.frame.copy()
    frame["AETERM"] = frame["AETERM"].astype(object)
    frame.loc[0, "AETERM"] = "A" * 201
    for c in ds.columns:
        if not c.numeric:
            frame[c.name] = frame[c.name].astype(object).where(frame[c.name].notna(), "")
    pyreadstat.write_xport(frame, str(path), file_format_version=5, table_name="AE", file_label=ds.label,
                           column_labels=[c.label for c in ds.columns])
    return pkg, SPECS


@functools.lru_cache(maxsize=1)
def pilot_report():
    return validate(PILOT_SDTM, SPECS)


def _pilot(env, tmp):
    return pilot_report()


def _renamed_file(env, tmp):
    pkg = copy_sdtm(env.clean, tmp / "pkg", ("DM", "AE"))
    (pkg / "sdtm" / "ae.xpt").rename(pkg / "sdtm" / "aex.xpt")
    return pkg, SPECS


def _xpt_v8(env, tmp):
    import pyreadstat

    pkg = copy_sdtm(env.clean, tmp / "pkg", ("DM",))
    ds = read_xpt(pkg / "sdtm" / "dm.xpt")
    frame = ds.frame.copy()
    for c in ds.columns:
        if not c.numeric:
            frame[c.name] = frame[c.name].astype(object).where(frame[c.name].notna(), "")
    pyreadstat.write_xport(frame, str(pkg / "sdtm" / "dm.xpt"), file_format_version=8, table_name="DM",
                           file_label=ds.label, column_labels=[c.label for c in ds.columns])
    return pkg, SPECS


def _json_length(env, tmp):
    pkg = copy_sdtm(env.clean, tmp / "pkg", ("DM", "AE"), xpt=False, json_files=True)

    def edit(obj):
        next(c for c in obj["columns"] if c["name"] == "AETERM")["length"] = 500
    edit_json(pkg / "sdtm" / "ae.json", edit)
    return pkg, SPECS


def _swap(cols):
    names = [c.name for c in cols]
    i, j = names.index("AETERM"), names.index("AESPID")
    cols[i], cols[j] = cols[j], cols[i]
    return cols


def _duplicate_record(frame):
    return pd.concat([frame, frame.iloc[[0]]], ignore_index=True)


def _duplicate_seq(frame):
    frame = frame.copy()
    rows = np.flatnonzero(frame["USUBJID"].duplicated(keep=False))
    same = frame["USUBJID"] == frame["USUBJID"].iloc[rows[0]]
    first, second = np.flatnonzero(same)[:2]
    frame.loc[second, "AESEQ"] = frame.loc[first, "AESEQ"]
    return frame


def _end_before_start(frame):
    frame = frame.copy()
    i = first_complete(frame, "AESTDTC")
    start = pd.Timestamp(frame.loc[i, "AESTDTC"][:10])
    frame["AEENDTC"] = frame["AEENDTC"].astype(object)
    frame.loc[i, "AEENDTC"] = (start - pd.Timedelta(days=3)).strftime("%Y-%m-%d")
    return frame


def _wrong_dy(delta: float | None):
    def edit(frame):
        frame = frame.copy()
        i = int(np.flatnonzero(frame["AESTDY"].notna())[0])
        frame.loc[i, "AESTDY"] = 0.0 if delta is None else frame.loc[i, "AESTDY"] + delta
        return frame
    return edit


def _supp_orphan(env, tmp):
    pkg = copy_sdtm(env.clean, tmp / "pkg", ("DM", "AE", "SUPPAE"))
    rewrite(pkg / "sdtm" / "suppae.xpt", set_value("IDVARVAL", "999"))
    return pkg, SPECS


def _value_level_codelist(env, tmp):
    pkg = copy_sdtm(env.clean, tmp / "pkg", ("DM", "SUPPDM"))

    def edit(frame):
        frame = frame.copy()
        frame.loc[frame.index[frame["QNAM"] == "RECRTRT"][0], "QVAL"] = "XYZ"
        return frame
    rewrite(pkg / "sdtm" / "suppdm.xpt", edit)
    return pkg, SPECS


def _pilot_ae(env, tmp, edit):
    pkg = tmp / "pkg"
    (pkg / "sdtm").mkdir(parents=True)
    for name in ("dm.xpt", "ae.xpt"):
        shutil.copy(PILOT_SDTM / name, pkg / "sdtm" / name)
    rewrite(pkg / "sdtm" / "ae.xpt", edit)
    return pkg, SPECS


def _adam(env, tmp, dataset: str, edit):
    pkg = copy_sdtm(env.adam_pkg, tmp / "pkg", ("DM", "AE", "ADSL", "ADAE"))
    rewrite(pkg / "adam" / f"{dataset.lower()}.xpt", edit)
    return pkg, SPECS / "sdtm"


def _define(env, tmp, change: Callable[[Path], None]):
    pkg = tmp / "pkg"
    shutil.copytree(env.define_pkg, pkg)
    change(pkg / "sdtm")
    return pkg, SPECS


def _define_label(folder: Path):
    path = folder / "define.xml"
    text = path.read_text(encoding="utf-8")
    assert "Reported Term for the Adverse Event" in text
    path.write_text(text.replace("Reported Term for the Adverse Event", "Reported Term for the AE"), encoding="utf-8")


def _json(env, tmp, edit):
    pkg = copy_sdtm(env.clean, tmp / "pkg", ("DM", "AE"), json_files=True)
    edit_json(pkg / "sdtm" / "ae.json", edit)
    return pkg, SPECS


def _json_value(obj):
    index = [c["name"] for c in obj["columns"]].index("AETERM")
    obj["rows"][0][index] = "SOMETHING ELSE"


def _ard(env, tmp, edit):
    """The clean build's ADaM and ARD, the ARD's lines (header first) changed by `edit`."""
    pkg = tmp / "pkg"
    for part in ("adam", "tlf"):
        shutil.copytree(env.clean / part, pkg / part)
    path = pkg / "tlf" / "ard.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    edit(lines)
    path.write_text("".join(lines), encoding="utf-8")
    return pkg, SPECS


def _ard_count_plus_one(lines):
    stat = lines[0].rstrip("\n").split(",").index("stat")
    row = next(i for i, line in enumerate(lines) if ",T-05,SAFFL," in line and ",incidence,n,n," in line)
    cells = lines[row].rstrip("\n").split(",")
    cells[stat] = str(int(cells[stat]) + 1)
    lines[row] = ",".join(cells) + "\n"


@dataclass(frozen=True)
class Case:
    rule: str
    make: Callable
    dataset: str | None
    variable: str | None
    pilot: bool = False  # needs the shared CDISC pilot files


CASES = [
    Case("SUB-SYS-001", _no_dm, "DM", None),
    Case("SUB-SYS-002", _unreadable, "ZZ", None),
    Case("SUB-XPT-001", _long_name, "AE", "AETERMLONG"),
    Case("SUB-XPT-002", _long_label, "AE", "AETERM"),
    Case("SUB-XPT-003", _non_ascii, "AE", "AETERM"),
    Case("SUB-XPT-004", _over_200, "AE", "AETERM"),
    Case("SUB-XPT-005", _non_numeric, "AE", "AESEQ"),
    Case("SUB-XPT-006", _pilot, "AE", "AETERM", pilot=True),
    Case("SUB-XPT-007", _renamed_file, "AEX", None),
    Case("SUB-XPT-008", _xpt_v8, "DM", None),
    Case("SUB-SPEC-001", _pilot, "SV", None, pilot=True),
    Case("SUB-SPEC-002", lambda e, t: _ae(e, t, lambda f: f.drop(columns=["AESEV"])), "AE", "AESEV"),
    Case("SUB-SPEC-003", lambda e, t: _ae(e, t, lambda f: f.assign(AEXTRA="x")), "AE", "AEXTRA"),
    Case("SUB-SPEC-004", lambda e, t: _ae(e, t, lambda f: f.assign(AESEQ=f["AESEQ"].map(lambda v: str(int(v)))),
                                          columns=lambda cols: [dataclasses.replace(c, kind="text") if c.name == "AESEQ"
                                                                else c for c in cols]), "AE", "AESEQ"),
    Case("SUB-SPEC-005", _json_length, "AE", "AETERM"),
    Case("SUB-SPEC-006", lambda e, t: _ae(e, t, columns=relabel("AETERM", "Reported Term")), "AE", "AETERM"),
    Case("SUB-SPEC-007", lambda e, t: _ae(e, t, columns=_swap), "AE", "AETERM"),
    Case("SUB-SPEC-008", lambda e, t: _ae(e, t, set_value("AETERM", None)), "AE", "AETERM"),
    Case("SUB-SPEC-009", lambda e, t: _ae(e, t, _duplicate_record), "AE", None),
    Case("SUB-IG-001", lambda e, t: _ae(e, t, lambda f: f.drop(columns=["AETERM"])), "AE", "AETERM"),
    Case("SUB-IG-002", lambda e, t: _ae(e, t, lambda f: f.drop(columns=["AEREL"])), "AE", "AEREL"),
    Case("SUB-IG-003", lambda e, t: _ae(e, t, set_value("AEDECOD", None)), "AE", "AEDECOD"),
    Case("SUB-IG-004", lambda e, t: _ae(e, t, set_value("DOMAIN", "XX")), "AE", "DOMAIN"),
    Case("SUB-SEQ-001", lambda e, t: _ae(e, t, _duplicate_seq), "AE", "AESEQ"),
    Case("SUB-REF-001", lambda e, t: _ae(e, t, set_value("USUBJID", "NOT-IN-DM")), "AE", "USUBJID"),
    Case("SUB-REF-002", lambda e, t: _adam(e, t, "ADAE", set_value("USUBJID", "NOT-IN-ADSL")), "ADAE", "USUBJID"),
    Case("SUB-REF-003", _supp_orphan, "SUPPAE", "IDVARVAL"),
    Case("SUB-DTC-001", lambda e, t: _ae(e, t, set_value("AESTDTC", "2016-02-30")), "AE", "AESTDTC"),
    Case("SUB-DTC-002", lambda e, t: _ae(e, t, _end_before_start), "AE", "AESTDTC"),
    Case("SUB-DY-001", lambda e, t: _ae(e, t, _wrong_dy(None)), "AE", "AESTDY"),
    Case("SUB-DY-002", lambda e, t: _ae(e, t, _wrong_dy(5.0)), "AE", "AESTDY"),
    Case("SUB-CT-001", lambda e, t: _ae(e, t, set_value("AESEV", "VERY BAD")), "AE", "AESEV"),
    Case("SUB-CT-002", lambda e, t: _pilot_ae(e, t, set_value("AESER", "X")), "AE", "AESER", pilot=True),
    Case("SUB-ADAM-001", lambda e, t: _adam(e, t, "ADSL", _duplicate_record), "ADSL", "USUBJID"),
    Case("SUB-ADAM-002", lambda e, t: _adam(e, t, "ADSL", set_value("SAFFL", "X")), "ADSL", "SAFFL"),
    Case("SUB-ADAM-003", lambda e, t: _adam(e, t, "ADSL", set_value("SAFFL", None)), "ADSL", "SAFFL"),
    Case("SUB-ADAM-004", lambda e, t: _adam(e, t, "ADAE", set_value("AOCCFL", "N")), "ADAE", "AOCCFL"),
    Case("SUB-TRC-001", lambda e, t: _adam(e, t, "ADAE", set_value("AESEQ", 999.0)), "ADAE", "AESEQ"),
    Case("SUB-TRC-002", lambda e, t: _adam(e, t, "ADSL", set_value("USUBJID", "GHOST")), "ADSL", "USUBJID"),
    Case("SUB-DEF-001", lambda e, t: _define(e, t, lambda f: (f / "define.xml").write_text("<ODM", encoding="utf-8")),
         None, None),
    Case("SUB-DEF-002", lambda e, t: _define(e, t, lambda f: (f / "dv.xpt").unlink()), "DV", None),
    Case("SUB-DEF-003", lambda e, t: _define(e, t, _define_label), "AE", "AETERM"),
    Case("SUB-DEF-004", lambda e, t: _define(e, t, lambda f: rewrite(f / "ae.xpt", set_value("AESEV", "VERY BAD"))),
         "AE", "AESEV"),
    Case("SUB-JSON-001", lambda e, t: _json(e, t, lambda o: o.update(records=o["records"] + 1)), "AE", None),
    Case("SUB-JSON-002", lambda e, t: _json(e, t, _json_value), "AE", "AETERM"),
    Case("SUB-ARD-001", lambda e, t: _ard(e, t, lambda lines: lines.append(lines[1])), "ARD", None),
    Case("SUB-ARD-002", lambda e, t: _ard(e, t, lambda lines: lines.__setitem__(1, "X" + lines[1])), "ARD", "ard_id"),
    Case("SUB-ARD-003", lambda e, t: _ard(e, t, _ard_count_plus_one), "ARD", "stat"),
]


def test_every_rule_has_a_defect_case():
    assert sorted(c.rule for c in CASES) == sorted(RULES)


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_rule_fires_on_its_defect(case, env, tmp_path):
    if case.pilot:
        require_reference(PILOT_SDTM)
    made = case.make(env, tmp_path)
    if isinstance(made, Package):
        findings = run_rules(made)
    else:
        findings = (made if isinstance(made, Report) else validate(*made)).findings
    hits = [f for f in findings if f.rule == case.rule]
    assert hits, f"{case.rule} did not fire; findings: {[(f.rule, f.dataset, f.variable) for f in findings]}"
    assert any(f.dataset == case.dataset and f.variable == case.variable for f in hits), \
        [(f.dataset, f.variable, f.message) for f in hits]
    assert all(f.severity == RULES[case.rule].severity for f in hits)


def test_findings_are_counted_with_a_few_examples(env, tmp_path):
    pkg, specs = _ae(env, tmp_path, set_value("AESTDTC", "2016-02-30", row=None))
    report = validate(pkg, specs)
    [hit] = [f for f in report.findings if f.rule == "SUB-DTC-001"]
    assert hit.count == len(read_xpt(pkg / "sdtm" / "ae.xpt").frame)
    assert 0 < len(hit.examples) <= 5
    assert hit.examples[0].value == "2016-02-30" and hit.examples[0].usubjid.startswith("RVL-")
    assert "day 30 does not exist in 2016-02" in hit.message


def test_value_level_codelist_is_checked_on_the_records_its_where_clause_selects(env, tmp_path):
    report = validate(*_value_level_codelist(env, tmp_path))
    [hit] = [f for f in report.findings if f.rule == "SUB-CT-001"]
    assert (hit.dataset, hit.variable, hit.count) == ("SUPPDM", "QVAL", 1)
    assert "WC.SUPPDM.QNAM.RECRTRT" in hit.message and hit.examples[0].value == "XYZ"


@pytest.mark.parametrize("text", ["2016", "2016-02", "2016-02-29", "2016-02-29T13", "2016-02-29T13:15",
                                  "2016-02-29T13:15:59", "2016-02-29T13:15:59.5", "2016---29", "--12-15",
                                  "2016-02-29T-:15", "2016-02-29T13:15Z", "2016-02-29T13:15+09:00",
                                  "2016-02-29/2016-03-02", "2016-02-29/P3D"])
def test_iso8601_accepts(text):
    assert iso8601_problem(text) is None


@pytest.mark.parametrize("text", ["2016-02-30", "2015-02-29", "2016-13", "2016-1-5", "16-01-05", "2016-01-05T24:00",
                                  "2016-01-05T12:60", "2016-01-05 12:00", "2016-01-", "2016--", "UNK", "2016-01-05/"])
def test_iso8601_rejects(text):
    assert iso8601_problem(text) is not None


# --- the pilot, the command line and the reports ---------------------------------------------

@needs_pilot
def test_pilot_sdtm_validates_with_fair_findings_only():
    report = pilot_report()
    rules = {f.rule for f in report.findings}
    assert not any(r.startswith("SUB-SPEC-") and r != "SUB-SPEC-001" for r in rules)  # another study: skipped
    assert {f.dataset for f in report.findings if f.rule == "SUB-SPEC-001"} == \
        {m.name for m in report.package.members}
    assert "SUB-SYS-002" not in rules  # every file read
    dy = [f for f in report.findings if f.rule == "SUB-DY-002"]
    assert [(f.dataset, f.variable, f.examples[0].usubjid) for f in dy] == [("AE", "AESTDY", "01-716-1063")]


def test_rules_option_lists_every_rule():
    result = CliRunner().invoke(main, ["validate", "--rules"])
    assert result.exit_code == 0
    for rule in RULES.values():
        assert f"{rule.id}" in result.output and rule.severity in result.output
    assert len(result.output.strip().splitlines()) == len(RULES)


def test_exit_codes(env, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["validate", str(copy_sdtm(env.clean, tmp_path / "ok", ("DM", "AE")))])
    assert ok.exit_code == 0, ok.output
    assert "0 error(s)" in ok.output
    pkg, _ = _ae(env, tmp_path, set_value("AESTDTC", "2016-02-30"))
    bad = runner.invoke(main, ["validate", str(pkg)])
    assert bad.exit_code == 1 and "SUB-DTC-001" in bad.output and "2016-02-30" in bad.output
    missing = runner.invoke(main, ["validate", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no such file or folder" in missing.output and "Traceback" not in missing.output
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(main, ["validate", str(tmp_path / "empty")])
    assert empty.exit_code == 2 and "no .xpt or Dataset-JSON files" in empty.output
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "ae.xpt").write_bytes(b"garbage")
    broken = runner.invoke(main, ["validate", str(tmp_path / "broken")])
    assert broken.exit_code == 2 and "Traceback" not in broken.output
    no_specs = runner.invoke(main, ["validate", str(tmp_path / "ok"), "--specs", str(tmp_path / "nospecs")])
    assert no_specs.exit_code == 2


def test_one_file_is_validated_and_checks_needing_others_are_skipped(env):
    report = validate(env.clean / "sdtm" / "ae.xpt", SPECS)
    assert errors(report) == []
    assert [m.name for m in report.package.members] == ["AE"]
    assert any(f.rule == "SUB-SYS-001" and "DM" in f.message for f in report.findings)


def test_reports_as_json_and_xlsx(env, tmp_path):
    from openpyxl import load_workbook

    pkg, specs = _ae(env, tmp_path, set_value("AESTDTC", "2016-02-30"))
    report = validate(pkg, specs)
    write_report(report, tmp_path / "report.json")
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["summary"]["error"] == report.count("error") >= 1
    hit = next(f for f in data["findings"] if f["rule"] == "SUB-DTC-001")
    assert hit["variable"] == "AESTDTC" and hit["examples"][0]["value"] == "2016-02-30"
    assert {r["id"] for r in data["rules"]} == set(RULES)
    result = CliRunner().invoke(main, ["validate", str(pkg), "--report", str(tmp_path / "report.xlsx")])
    assert result.exit_code == 1
    book = load_workbook(tmp_path / "report.xlsx")
    assert book.sheetnames == ["Findings", "Examples", "Datasets", "Rules"]
    rows = list(book["Findings"].iter_rows(values_only=True))
    assert any(r[0] == "SUB-DTC-001" and r[4] == "AESTDTC" for r in rows[1:])
