"""`sub build` end to end on a synthetic extract: the SDTM acceptance checked on the written files.

The files are read back three ways: the project's readers (read_xpt, read_dataset_json), the raw
bytes of the XPT (names, labels, lengths and ASCII checked without pyreadstat), and the raw CSV
extract (record counts, partial dates). Study days and epochs are recomputed here from DM with
plain `datetime`, independently of submission.sdtm.common.

`sub build` runs the whole chain. The Word report stage (about 10 s, after SDTM, ADaM and their
define.xml are written, reading only adam/) is replaced by a stub to keep these tests fast; set
SUB_TEST_FULL_BUILD=1 to run it too.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from submission.build import creation_time
from submission.cli import main
from submission.datasetjson import read_dataset_json, structure_problems
from submission.paths import bundled_raw
from submission.raw.load import load_extract
from submission.raw.synth import synthesize, write_extract
from submission.sdtm.build import build_sdtm
from submission.sdtm.context import Translations
from submission.spec import load_spec
from submission.study import load_settings
from submission.xpt import frames_equal, read_xpt, xpt_problems

from .conftest import SPECS
from .test_raw_load import LAYOUT
from .test_xpt_io import xpt_header

SETTINGS = load_settings(SPECS)
SPEC = load_spec(SPECS / "sdtm")
DATASETS = list(SPEC.datasets)
SUBJECTS, SEED = 80, 21
ISO_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
FROM_RECORDS = {"SUPPDM", "SUPPAE", "SUPPMH", "TS"}  # derived from other records, not from raw rows


def _skip_report(mp: pytest.MonkeyPatch) -> None:
    if os.environ.get("SUB_TEST_FULL_BUILD") != "1":
        mp.setattr("submission.build.run_report", lambda adam_dir, settings, stage, log, **_: log.append("report skipped"))


def _build(*args: str) -> str:
    result = CliRunner().invoke(main, ["build", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """An 80-subject synthetic extract built twice into two folders."""
    root = tmp_path_factory.mktemp("build")
    raw = root / "raw"
    write_extract(synthesize(SETTINGS, n_subjects=SUBJECTS, seed=SEED), raw)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)
        _skip_report(mp)
        _build("--raw", str(raw), "--out", str(root / "out"))
        _build("--raw", str(raw), "--out", str(root / "again"))
    return raw, root / "out", root / "again"


@pytest.fixture(scope="module")
def sdtm(study):
    _, out, _ = study
    return {name: read_xpt(out / "sdtm" / f"{name.lower()}.xpt") for name in DATASETS}


@pytest.fixture(scope="module")
def raw_rows(study):
    raw, _, _ = study
    rows = {}
    for form, spec in LAYOUT.forms.items():
        with (raw / spec.file).open(newline="", encoding="utf-8") as handle:
            rows[form] = list(csv.DictReader(handle))
    return rows


def _frame(sdtm, name: str) -> pd.DataFrame:
    return sdtm[name].frame


def _value(v):
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else v


# --------------------------------------------------------------------------------------------- files

def test_every_dataset_in_both_formats(study):
    _, out, _ = study
    names = {p.name for p in (out / "sdtm").iterdir()}
    for name in DATASETS:
        assert {f"{name.lower()}.xpt", f"{name.lower()}.json"} <= names, name
        assert (out / "sdtm" / f"{name.lower()}.xpt").stat().st_size > 0
    assert "define.xml" in names


def test_dm_one_record_per_enrolled_subject(sdtm, raw_rows):
    dm = _frame(sdtm, "DM")
    assert len(dm) == len(raw_rows["ENROL"]) == SUBJECTS
    assert dm["USUBJID"].is_unique
    expected = {f"{SETTINGS.study.studyid}-{r['SUBJID']}" for r in raw_rows["ENROL"]}
    assert set(dm["USUBJID"]) == expected


def test_every_usubjid_is_in_dm(sdtm):
    subjects = set(_frame(sdtm, "DM")["USUBJID"])
    for name, ds in sdtm.items():
        if "USUBJID" in ds.frame:
            assert ds.frame["USUBJID"].notna().all(), name
            stray = set(ds.frame["USUBJID"]) - subjects
            assert not stray, (name, sorted(stray)[:5])


def test_seq_unique_within_subject(sdtm):
    for name, ds in sdtm.items():
        f = ds.frame
        if name == "TS":
            assert not f.duplicated(["TSPARMCD", "TSSEQ"]).any()
            continue
        seq = f"{name}SEQ"
        if seq not in f:
            continue
        assert f[seq].notna().all(), name
        assert not f.duplicated(["USUBJID", seq]).any(), name
        for usubjid, numbers in f.groupby("USUBJID")[seq]:
            assert sorted(numbers) == list(range(1, len(numbers) + 1)), (name, usubjid)


def test_supplemental_qualifiers_point_at_existing_parents(sdtm):
    for supp, parent, idvar in (("SUPPAE", "AE", "AESEQ"), ("SUPPMH", "MH", "MHSEQ")):
        keys = set(zip(_frame(sdtm, parent)["USUBJID"], _frame(sdtm, parent)[idvar].astype(int).astype(str)))
        q = _frame(sdtm, supp)
        assert len(q) > 0, supp
        assert set(q["IDVAR"]) == {idvar}
        assert set(zip(q["USUBJID"], q["IDVARVAL"])) <= keys, supp
        assert not q.duplicated(["USUBJID", "IDVARVAL", "QNAM"]).any(), supp


# --------------------------------------------------------------------------------------------- dates

def _date_columns(f: pd.DataFrame) -> list[str]:
    return [c for c in f.columns if c.endswith("DTC") or c.endswith("STTPT") or c.endswith("ENTPT")]


def test_every_dtc_is_iso_8601(sdtm):
    checked = 0
    for name, ds in sdtm.items():
        f = ds.frame
        values = [(c, f[c]) for c in _date_columns(f)]
        if name == "SUPPDM":
            values.append(("QVAL", f.loc[f["QNAM"].eq("ENRLDTC"), "QVAL"]))
        if name == "TS":
            values.append(("TSVAL", f.loc[f["TSPARMCD"].str.endswith("DTC"), "TSVAL"]))
        for column, series in values:
            for v in series.dropna():
                assert ISO_DATE.match(v), (name, column, v)
                if len(v) == 10:
                    dt.date.fromisoformat(v)
                checked += 1
    assert checked > 1000


def _strip_unknown(raw: str) -> str | None:
    if not raw:
        return None
    return raw.replace("-UK-UK", "").replace("-UK", "")


def test_partial_dates_kept_partial_never_a_day_invented(sdtm, raw_rows):
    studyid = SETTINGS.study.studyid
    pairs = [("AE", "AESPID", "AE", "STDAT", "AESTDTC"), ("AE", "AESPID", "AE", "ENDAT", "AEENDTC"),
             ("CONMED", "CMSPID", "CM", "STDAT", "CMSTDTC"), ("CONMED", "CMSPID", "CM", "ENDAT", "CMENDTC"),
             ("MEDHIST", "MHSPID", "MH", "STDAT", "MHSTDTC")]
    partial = 0
    for form, spid, name, raw_col, dtc in pairs:
        got = _frame(sdtm, name).set_index(["USUBJID", spid])[dtc].to_dict()
        for r in raw_rows[form]:
            key = (f"{studyid}-{r['SUBJID']}", r["LINE"])
            assert _value(got[key]) == _strip_unknown(r[raw_col]), (name, key, r[raw_col])
            partial += "UK" in r[raw_col]
    mh = _frame(sdtm, "MH")
    primary = mh[mh["MHCAT"].eq("PRIMARY DIAGNOSIS")].set_index("USUBJID")["MHSTDTC"]
    dm = _frame(sdtm, "DM").set_index("USUBJID")["DTHDTC"]
    for r in raw_rows["MMDIAG"]:
        assert _value(primary[f"{studyid}-{r['SUBJID']}"]) == _strip_unknown(r["DIAGDAT"])
        partial += "UK" in r["DIAGDAT"]
    for r in raw_rows["EOS"]:
        assert _value(dm[f"{studyid}-{r['SUBJID']}"]) == _strip_unknown(r["DTHDAT"])
    assert partial > 0, "the synthetic extract should hold partial dates"


def _day(value) -> dt.date | None:
    value = _value(value)
    return dt.date.fromisoformat(value) if value and len(value) == 10 else None


def test_study_days_recomputed_from_rfstdtc(sdtm):
    rfstdtc = {u: _day(v) for u, v in zip(_frame(sdtm, "DM")["USUBJID"], _frame(sdtm, "DM")["RFSTDTC"])}
    checked = 0
    for name, ds in sdtm.items():
        f = ds.frame
        for dy in [c for c in f.columns if c.endswith("DY") and c[:-2] + "DTC" in f.columns]:
            for usubjid, dtc, got in zip(f["USUBJID"], f[dy[:-2] + "DTC"], f[dy]):
                when, ref = _day(dtc), rfstdtc[usubjid]
                if when is None or ref is None:
                    assert pd.isna(got), (name, dy, usubjid, dtc)
                    continue
                days = (when - ref).days
                assert got == (days + 1 if days >= 0 else days), (name, dy, usubjid, dtc, got)
                assert got != 0
                checked += 1
    assert checked > 1000


def test_epoch_recomputed_from_the_exposure(sdtm):
    dm = _frame(sdtm, "DM").set_index("USUBJID")
    ex = _frame(sdtm, "EX")
    lenalidomide = ex[ex["EXTRT"].eq("LENALIDOMIDE")].sort_values(["USUBJID", "EXSTDTC"])
    # "the subject's last LENALIDOMIDE record in EX has no EXENDTC" (groupby.last() would skip nulls)
    ongoing = {u: _value(g["EXENDTC"].iloc[-1]) is None for u, g in lenalidomide.groupby("USUBJID")}
    checked = 0
    for name, ds in sdtm.items():
        f = ds.frame
        if "EPOCH" not in f:
            continue
        dtc = next(c for c in (f"{name}STDTC", f"{name}DTC") if c in f)
        for usubjid, when, got in zip(f["USUBJID"], map(_day, f[dtc]), map(_value, f["EPOCH"])):
            first, last = _day(dm.at[usubjid, "RFXSTDTC"]), _day(dm.at[usubjid, "RFXENDTC"])
            if when is None or first is None:
                expected = None
            elif when < first:
                expected = "SCREENING"
            elif when <= last or ongoing.get(usubjid, False):
                expected = "TREATMENT"
            else:
                expected = "FOLLOW-UP"
            assert got == expected, (name, usubjid, when, first, last)
            checked += 1
    assert checked > 1000


# --------------------------------------------------------------------------------------------- controlled terms

def _matches(frame: pd.DataFrame, clause) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for wc in clause:
        values = frame[wc.variable].astype(object)
        if wc.comparator in ("EQ", "IN"):
            mask &= values.isin(wc.values)
        elif wc.comparator in ("NE", "NOTIN"):
            mask &= ~values.isin(wc.values)
        else:
            raise AssertionError(f"comparator {wc.comparator} not handled by this test")
    return mask


def _per_record(frame: pd.DataFrame, dataset: str, variable: str, attribute: str) -> list:
    """The attribute (codelist or assigned_value) that governs each record: value level, else variable level."""
    default = getattr(SPEC.variable(dataset, variable), attribute)
    out = pd.Series(default, index=frame.index, dtype=object)
    covered = pd.Series(False, index=frame.index)
    for vl in SPEC.value_level:
        if vl.dataset == dataset and vl.variable == variable:
            hit = _matches(frame, SPEC.where_clauses[vl.where_clause]) & ~covered
            out[hit] = getattr(vl, attribute) or ""
            covered |= hit
    return [_value(x) or None for x in out]


def test_every_controlled_value_in_its_codelist(sdtm):
    bad = []
    checked = 0
    for name, ds in sdtm.items():
        f = ds.frame
        for v in SPEC.variables_of(name):
            lists = _per_record(f, name, v.variable, "codelist")
            for record, (value, codelist) in enumerate(zip(f[v.variable], lists)):
                if codelist is None or codelist not in SPEC.codelists or _value(value) is None:
                    continue  # uncontrolled, or an external dictionary (MedDRA, WHODrug, ISO 3166)
                terms = SPEC.codelists[codelist].values
                shown = value if isinstance(value, str) else f"{value:g}"
                checked += 1
                if shown not in terms:
                    bad.append((name, v.variable, codelist, shown))
    assert not bad, sorted(set(bad))[:20]
    assert checked > 5000


def test_assigned_values_hold(sdtm):
    bad = []
    for name, ds in sdtm.items():
        f = ds.frame
        for v in SPEC.variables_of(name):
            assigned = _per_record(f, name, v.variable, "assigned_value")
            for value, wanted in zip(f[v.variable], assigned):
                value = _value(value)
                if wanted is None or value is None:
                    continue
                shown = value if isinstance(value, str) else f"{value:g}"
                if shown != wanted:
                    bad.append((name, v.variable, wanted, shown))
    assert not bad, sorted(set(bad))[:20]


def test_mandatory_variables_are_populated(sdtm):
    for name, ds in sdtm.items():
        for v in SPEC.variables_of(name):
            if v.mandatory:
                assert ds.frame[v.variable].notna().all(), (name, v.variable)


def test_translated_korean_verbatims_are_flagged(sdtm, raw_rows):
    english = Translations.load(SPECS).english
    korean = {(f"{SETTINGS.study.studyid}-{r['SUBJID']}", r["LINE"]): r["AETERM"]
              for r in raw_rows["AE"] if not r["AETERM"].isascii()}
    assert korean, "the synthetic extract should hold Korean verbatims"
    ae = _frame(sdtm, "AE")
    seq_of = {(u, s): int(q) for u, s, q in zip(ae["USUBJID"], ae["AESPID"], ae["AESEQ"])}
    term_of = {(u, s): t for u, s, t in zip(ae["USUBJID"], ae["AESPID"], ae["AETERM"])}
    supp = _frame(sdtm, "SUPPAE")
    flagged = set(zip(supp["USUBJID"], supp["IDVARVAL"]))
    assert flagged == {(u, str(seq_of[(u, s)])) for u, s in korean}
    assert set(supp["QNAM"]) == {"AETRANFL"} and set(supp["QVAL"]) == {"Y"}
    for key, text in korean.items():
        assert term_of[key] == english[text]


# --------------------------------------------------------------------------------------------- XPT v5 on the bytes

@pytest.mark.parametrize("name", DATASETS)
def test_xpt_v5_names_labels_lengths_and_ascii_from_the_bytes(study, name):
    _, out, _ = study
    path = out / "sdtm" / f"{name.lower()}.xpt"
    x = xpt_header(path)
    spec_vars = SPEC.variables_of(name)
    assert x["name"].rstrip() == name.encode("ascii")
    label = x["label"].rstrip()
    assert label.isascii() and len(label) <= 40 and label.decode() == SPEC.datasets[name].label
    assert [v["name"].rstrip().decode("ascii") for v in x["variables"]] == [v.variable for v in spec_vars]
    obs_length = sum(v["length"] for v in x["variables"])
    records = json.loads((out / "sdtm" / f"{name.lower()}.json").read_text(encoding="utf-8"))["records"]
    body, padding = x["data"][:records * obs_length], x["data"][records * obs_length:]
    assert len(padding) < 80 and set(padding) <= {0x20}, "records do not fill the file"
    for v, s in zip(x["variables"], spec_vars):
        vname = v["name"].rstrip().decode("ascii")
        assert re.fullmatch(r"[A-Z][A-Z0-9_]{0,7}", vname)
        vlabel = v["label"].rstrip()
        assert vlabel.isascii() and len(vlabel) <= 40 and vlabel.decode() == s.label, vname
        if s.data_type in ("integer", "float"):
            assert (v["type"], v["length"]) == (1, 8), vname
            continue
        assert v["type"] == 2 and 1 <= v["length"] <= 200, vname
        cells = [body[r * obs_length + v["pos"]: r * obs_length + v["pos"] + v["length"]] for r in range(records)]
        assert all(c.isascii() for c in cells), f"{name}.{vname} holds non-ASCII bytes"
        longest = max([len(c.rstrip(b" ")) for c in cells] + [1])
        assert v["length"] == longest, f"{name}.{vname}: length {v['length']}, longest value {longest}"


def test_xpt_header_stamped_with_the_build_time_not_the_clock(study):
    _, out, _ = study
    stamp = creation_time(SETTINGS).strftime("%d%b%y:%H:%M:%S").upper().encode("ascii")
    for name in DATASETS:
        assert set(xpt_header(out / "sdtm" / f"{name.lower()}.xpt")["stamps"]) == {stamp}, name


def test_xpt_problems_finds_nothing(sdtm, study):
    _, out, _ = study
    for name, ds in sdtm.items():
        assert xpt_problems(ds, str(out / "sdtm" / f"{name.lower()}.xpt")) == [], name


# --------------------------------------------------------------------------------------------- round trips

def test_xpt_reads_back_the_frames_the_mapping_made(study, sdtm):
    raw, _, _ = study
    built = build_sdtm(load_extract(raw, SPECS, settings=SETTINGS), SPEC, SETTINGS, Translations.load(SPECS))
    for name, ds in built.datasets.items():
        back = sdtm[name]
        assert [c.name for c in back.columns] == [c.name for c in ds.columns], name
        assert [c.label for c in back.columns] == [c.label for c in ds.columns], name
        assert (back.name, back.label) == (name, ds.label)
        assert frames_equal(ds.frame, back.frame), name


def test_dataset_json_valid_and_same_rows_as_the_xpt(study, sdtm):
    _, out, _ = study
    for name in DATASETS:
        path = out / "sdtm" / f"{name.lower()}.json"
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert structure_problems(doc, str(path)) == [], name
        assert (doc["name"], doc["label"], doc["datasetJSONVersion"]) == (name, SPEC.datasets[name].label, "1.1.0")
        keys = [c["name"] for c in sorted((c for c in doc["columns"] if "keySequence" in c),
                                          key=lambda c: c["keySequence"])]
        assert keys == SPEC.datasets[name].key_variables, name
        xpt = sdtm[name]
        back = read_dataset_json(path)
        assert doc["records"] == len(xpt.frame) == len(back.frame)
        assert [(c.name, c.label) for c in back.columns] == [(c.name, c.label) for c in xpt.columns], name
        assert frames_equal(back.frame, xpt.frame), name
        lengths = {c["name"]: c.get("length") for c in doc["columns"] if c["dataType"] == "string"}
        for var in xpt_header(out / "sdtm" / f"{name.lower()}.xpt")["variables"]:
            if var["type"] == 2:
                assert lengths[var["name"].rstrip().decode()] == var["length"], (name, var["name"])


# --------------------------------------------------------------------------------------------- build log

RECONCILE = re.compile(r"^\s+(\w+)\s+<- (\w+)\s+raw rows\s+(\d+)\s+records\s+(\d+)(?:\s+\((.+)\))?$")
SUMMARY = re.compile(r"^\s+(\w+)\s+(\d+) records\s+(\d+) variables$")


def test_build_log_reconciles_raw_rows_to_records(study, sdtm, raw_rows):
    _, out, _ = study
    lines = (out / "build.log").read_text(encoding="utf-8").splitlines()
    records: dict[str, int] = {}
    for m in filter(None, map(RECONCILE.match, lines)):
        dataset, form, rows_in, records_out, note = m.groups()
        assert int(rows_in) == len(raw_rows[form]), m.group(0)
        assert int(rows_in) == int(records_out) or note, f"records differ from raw rows without a reason: {m.group(0)}"
        records[dataset] = records.get(dataset, 0) + int(records_out)
    assert set(records) == set(DATASETS) - FROM_RECORDS
    for dataset, n in records.items():
        assert n == len(sdtm[dataset].frame), f"{dataset}: the log accounts for {n} records, the file has {len(sdtm[dataset].frame)}"
    summary = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in filter(None, map(SUMMARY.match, lines))}
    assert {name: summary.get(name) for name in DATASETS} == \
        {name: (len(ds.frame), len(ds.columns)) for name, ds in sdtm.items()}


# --------------------------------------------------------------------------------------------- reruns

def test_second_build_gives_identical_bytes(study):
    _, out, again = study
    first = {p.name: p.read_bytes() for p in (out / "sdtm").iterdir()}
    second = {p.name: p.read_bytes() for p in (again / "sdtm").iterdir()}
    assert sorted(first) == sorted(second)
    assert {"define.xml", "dm.xpt", "dm.json"} <= set(first)
    changed = [name for name in first if first[name] != second[name]]
    # a PDF LibreOffice rendered (aCRF, cSDRG) may differ in bytes, never in text (package/pdf.py)
    from submission.package.pdf import rendered_by_libreoffice
    from submission.tlf.render import pdf_page_texts, poppler_available

    rendered = [name for name in changed if name.endswith(".pdf") and rendered_by_libreoffice(first[name])]
    assert [name for name in changed if name not in rendered] == []
    if poppler_available():
        for name in rendered:
            assert pdf_page_texts(out / "sdtm" / name) == pdf_page_texts(again / "sdtm" / name), name


# --------------------------------------------------------------------------------------------- the bundled study

@pytest.mark.skipif(not (bundled_raw() / "enrol.csv").exists(),
                    reason="the bundled extract examples/revlimid-due/raw is not there yet")
def test_bundled_study_dm_has_624_subjects(tmp_path, monkeypatch):
    with (bundled_raw() / "enrol.csv").open(newline="", encoding="utf-8") as handle:
        enrolled = sum(1 for _ in csv.DictReader(handle))
    _skip_report(monkeypatch)
    _build("--out", str(tmp_path / "out"))
    dm = read_xpt(tmp_path / "out" / "sdtm" / "dm.xpt").frame
    assert len(dm) == enrolled == 624
    assert dm["USUBJID"].is_unique
