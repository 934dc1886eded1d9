"""`sub synth`: the synthetic study is deterministic, valid against the raw layout, and looks real."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from submission.raw.synth import NOTE_FILE, synthesize, write_extract
from submission.study import load_settings

from .conftest import SPECS

HANGUL = re.compile("[\uac00-\ud7a3]")
RESPONDERS = {"sCR", "CR", "VGPR", "PR"}


@pytest.fixture(scope="module")
def settings():
    return load_settings(SPECS)


@pytest.fixture(scope="module")
def study(settings):
    """The default study (624 subjects, default seed), as frames."""
    return synthesize(settings)


@pytest.fixture(scope="module")
def written(study, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "raw"
    write_extract(study, out)
    return out


def _layout():
    forms = list(csv.DictReader((SPECS / "raw" / "forms.csv").open(encoding="utf-8")))
    fields = list(csv.DictReader((SPECS / "raw" / "fields.csv").open(encoding="utf-8")))
    codes = list(csv.DictReader((SPECS / "raw" / "codes.csv").open(encoding="utf-8")))
    return forms, fields, codes


def _safety(study) -> set[str]:
    elig = study["ELIG"]
    return set(elig.loc[elig["SAFETY"] == "Y", "SUBJID"])


def _share(subjects, population: set[str]) -> float:
    return len(set(subjects) & population) / len(population)


# ----------------------------------------------------------------------------- determinism


def test_same_seed_gives_the_same_bytes(settings, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    write_extract(synthesize(settings, n_subjects=40, seed=7), first)
    write_extract(synthesize(settings, n_subjects=40, seed=7), second)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_default_study_has_624_subjects(study):
    assert len(study["ENROL"]) == 624
    assert study["ENROL"]["SUBJID"].is_unique


def test_another_seed_gives_other_data(settings, study):
    other = synthesize(settings, seed=1)
    assert not other["AE"].equals(study["AE"])
    assert not other["ENROL"].equals(study["ENROL"])


# ----------------------------------------------------------------------------- the layout


def test_extract_passes_the_raw_loader(written):
    load = pytest.importorskip("submission.raw.load")
    extract = load.load_extract(written, SPECS)
    assert len(extract["ENROL"]) == 624


@pytest.mark.parametrize("n", [1, 5, 12])
def test_tiny_studies_pass_the_raw_loader(settings, tmp_path, n):
    load = pytest.importorskip("submission.raw.load")
    write_extract(synthesize(settings, n_subjects=n, seed=3), tmp_path / "raw")
    assert len(load.load_extract(tmp_path / "raw", SPECS)["ENROL"]) == n


def test_columns_types_and_codes_follow_the_layout(study):
    forms, fields, codes = _layout()
    assert list(study) == [f["form"] for f in forms]
    allowed: dict[str, set[str]] = {}
    for c in codes:
        allowed.setdefault(c["codelist"], set()).add(c["code"])
    for form, frame in study.items():
        spec = [f for f in fields if f["form"] == form]
        assert list(frame.columns) == [f["column"] for f in spec], form
        for f in spec:
            values = frame[f["column"]]
            assert values.map(type).eq(str).all(), (form, f["column"])
            if f["required"] == "Y":
                assert values.ne("").all(), (form, f["column"])
            if f["codelist"]:
                assert set(values[values.ne("")]) <= allowed[f["codelist"]], (form, f["column"])


def test_files_are_utf8_lf_without_bom_and_say_they_are_synthetic(written):
    enrol = (written / "enrol.csv").read_bytes()
    assert not enrol.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" not in enrol and enrol.endswith(b"\n")
    ae = (written / "ae.csv").read_text(encoding="utf-8")
    assert HANGUL.search(ae)
    note = (written / NOTE_FILE).read_text(encoding="utf-8")
    assert "synthetic" in note.lower() and "not real study data" in note.lower()
    assert "seed 20161207" in note and "624 subjects" in note and "sub synth" in note


def test_writing_into_an_existing_folder_keeps_other_files(settings, tmp_path):
    out = tmp_path / "raw"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    written = write_extract(synthesize(settings, n_subjects=5, seed=2), out)
    assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert all(p.is_file() for p in written)
    assert [p.name for p in tmp_path.iterdir()] == ["raw"]  # no temporary folder left behind


# ----------------------------------------------------------------------------- realism of the default study


def test_no_date_after_the_data_cutoff(study, settings):
    cutoff = settings.dates.data_cutoff.isoformat()
    _, fields, _ = _layout()
    for f in fields:
        if f["type"] in {"date", "pdate"}:
            values = study[f["form"]][f["column"]]
            values = values[values.ne("")].str.replace("UK", "01")
            assert (values <= cutoff).all(), (f["form"], f["column"], values.max())


def test_sites_routes_and_enrolment(study, settings):
    enrol = study["ENROL"]
    assert 20 <= enrol["SITEID"].nunique() <= 40
    assert enrol["SUBJID"].str.fullmatch(r"\d{3}-\d{3}").all()
    pap = enrol["ROUTE"].eq("PAP")
    assert 0.08 <= pap.mean() <= 0.25
    assert enrol.loc[pap, "ENRDAT"].str[:4].astype(int).median() < enrol.loc[~pap, "ENRDAT"].str[:4].astype(int).median()
    assert enrol["ENRDAT"].max() <= settings.dates.enrolment_cutoff.isoformat()
    per_year = enrol["ENRDAT"].str[:4].value_counts()
    assert per_year["2015"] > per_year["2011"] > per_year["2010"]


def test_adverse_event_rates(study, settings):
    safety = _safety(study)
    ae = study["AE"]
    ae = ae[ae["SUBJID"].isin(safety)]
    assert 0.75 <= _share(ae["SUBJID"], safety) <= 0.90
    assert 0.20 <= _share(ae.loc[ae["SER"] == "Y", "SUBJID"], safety) <= 0.35
    assert 0.01 <= _share(ae.loc[ae["OUT"] == "5", "SUBJID"], safety) <= 0.08  # 5 = FATAL
    adr = ae[ae["CAUSAL"] != "4"]  # 4 = UNLIKELY
    assert len(adr) > len(ae) / 2
    label = pd.read_csv(SPECS / "label_terms.csv", dtype=str)
    unexpected = ae[~ae["PT"].isin(label["PT"])]
    assert unexpected["PT"].nunique() >= 5
    assert 0.05 <= _share(unexpected["SUBJID"], safety) <= 0.30


def test_serious_events_have_a_criterion_and_deaths_match(study):
    ae, eos = study["AE"], study["EOS"].set_index("SUBJID")
    serious = ae[ae["SER"] == "Y"]
    criteria = serious[["SDTH", "SLIFE", "SHOSP", "SDISAB", "SCONG", "SMIE"]].eq("Y").any(axis=1)
    assert criteria.all()
    fatal = ae[ae["OUT"] == "5"]
    assert len(fatal) > 0 and fatal["SUBJID"].is_unique
    assert (eos.loc[fatal["SUBJID"], "DEATH"] == "Y").all()
    assert (eos.loc[fatal["SUBJID"], "DTHDAT"].to_numpy() == fatal["ENDAT"].to_numpy()).all()
    withdrawn = set(ae.loc[ae["ACN"] == "4", "SUBJID"])  # 4 = DRUG WITHDRAWN
    stopped_for_ae = eos.index[eos["EOSREAS"] == "AE"]
    assert len(stopped_for_ae) > 0 and set(stopped_for_ae) <= withdrawn


def test_partial_dates_ongoing_events_and_treatment_emergence(study):
    ae = study["AE"]
    share_uk = ae["STDAT"].str.contains("UK").mean()
    assert 0.02 <= share_uk <= 0.07
    assert (ae["ONGO"].eq("Y") == ae["ENDAT"].eq("")).all()
    first = study["RVLDOSE"].groupby("SUBJID")["STDAT"].min()
    full = ae[~ae["STDAT"].str.contains("UK")]
    before = full["STDAT"] < full["SUBJID"].map(first)
    assert 0 < before.sum() < 0.05 * len(full)


def test_adverse_events_are_reported_on_or_after_onset_some_late(study, settings):
    """AE.RCVDAT: filled for every event, never before its onset (the earliest day of a partial
    one) nor after the data cut-off; most within a month, some months later."""
    ae = study["AE"]
    assert ae["RCVDAT"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    onset = pd.to_datetime(ae["STDAT"].str.replace("-UK", "-01"))
    lag = (pd.to_datetime(ae["RCVDAT"]) - onset).dt.days
    assert (lag >= 0).all() and (ae["RCVDAT"] <= settings.dates.data_cutoff.isoformat()).all()
    assert 0.6 <= (lag <= 31).mean() and 0.05 <= (lag > 60).mean() <= 0.2


def test_the_bundled_extract_is_sub_synth_with_the_default_seed(written):
    from submission.paths import bundled_raw

    for path in sorted(bundled_raw().glob("*.csv")):
        assert path.read_bytes() == (written / path.name).read_bytes(), path.name


def test_korean_verbatims(study):
    for form, column, low, high in (("AE", "AETERM", 0.08, 0.25), ("CONMED", "CMTERM", 0.12, 0.30),
                                     ("MEDHIST", "MHTERM", 0.08, 0.25)):
        share = study[form][column].str.contains(HANGUL).mean()
        assert low <= share <= high, (form, share)


def test_response_rates_from_the_investigators_best_response(study, settings):
    elig, best = study["ELIG"], study["BESTRESP"]
    efficacy = set(elig.loc[elig["EFFICACY"] == "Y", "SUBJID"])
    best = best[best["SUBJID"].isin(efficacy)]
    assert 0.75 * len(efficacy) < len(best) < len(efficacy)  # missing for a few: the visits decide
    orr = best["BESTRESP"].isin(RESPONDERS).mean()
    vgpr = best["BESTRESP"].isin({"sCR", "CR", "VGPR"}).mean()
    assert 0.40 <= orr <= 0.60
    assert 0.12 <= vgpr <= 0.25
    # The investigator's best response is the best of the visit responses.
    order = settings.conventions.response.order
    resp = study["RESP"]
    rank = resp["RESP"].map(order.index).where(resp["RESP"] != "NE", len(order))
    best_visit = rank.groupby(resp["SUBJID"]).min().clip(upper=order.index("NE")).map(lambda i: order[i])
    assert (best_visit.loc[best["SUBJID"]].to_numpy() == best["BESTRESP"].to_numpy()).all()


def test_analysis_set_exclusions(study):
    elig = study["ELIG"]
    n = len(elig)
    excluded = elig["SAFETY"] == "N"
    assert 0.02 <= excluded.mean() <= 0.07
    assert (elig.loc[excluded, "EFFREAS"] == "NOSAF").all()
    more = (elig["SAFETY"] == "Y") & (elig["EFFICACY"] == "N")
    assert 0.06 <= more.sum() / n <= 0.16
    assert {"NOEVAL", "OFFLABEL"} <= set(elig.loc[more, "EFFREAS"])
    nodose = set(elig.loc[elig["SAFREAS"] == "NODOSE", "SUBJID"])
    assert nodose and not nodose & set(study["RVLDOSE"]["SUBJID"]) and not nodose & set(study["AE"]["SUBJID"])


def test_starting_dose_follows_the_renal_rule_for_most(study):
    base = study["BASELINE"].merge(study["DEMOG"], on="SUBJID")
    first = study["RVLDOSE"].loc[lambda d: d["LINE"] == "1"]
    data = base.merge(first, on="SUBJID")
    data = data[data["WEIGHT"].ne("") & data["CREAT"].ne("")]
    crcl = ((140 - data["AGE"].astype(float)) * data["WEIGHT"].astype(float) / (72 * data["CREAT"].astype(float))
            * np.where(data["SEX"] == "2", 0.85, 1.0))
    expected = np.select([data["DIALYSIS"] == "Y", crcl < 30, crcl < 50], ["5 QD", "15 QOD", "10 QD"], "25 QD")
    given = data["DOSE"] + " " + data["FREQ"]
    assert 0.85 <= (given == expected).mean() < 1.0
    assert set(expected) == {"25 QD", "10 QD", "15 QOD", "5 QD"}


def test_dosing_reductions_interruptions_and_duration(study):
    dose = study["RVLDOSE"]
    assert dose["DOSE"].astype(float).min() >= 5
    assert set(dose["INTR"]) >= {"Y", "N"} and set(dose["ADJ"]) >= {"AE"}
    cycles = pd.to_numeric(dose["CYCEN"].where(dose["CYCEN"].ne("")), errors="coerce").groupby(dose["SUBJID"]).max()
    assert 5 <= cycles.median() <= 10
    assert (cycles > 13).mean() > 0.15  # a long tail beyond a year
    dex = study["DEXDOSE"]
    assert set(dex["DAYS"]) == {"12", "4"} and set(dex["DOSE"]) == {"40", "20"}


def test_term_tables_have_one_consistent_meddra_hierarchy():
    folder = Path(__file__).resolve().parents[1] / "submission" / "raw" / "synth_terms"
    tables = [pd.read_csv(folder / name, dtype=str, keep_default_na=False) for name in ("ae_terms.csv", "mh_terms.csv")]
    terms = pd.concat([t[["pt", "ptcd", "hlt", "hltcd", "hlgt", "hlgtcd", "soc", "soccd"]] for t in tables])
    for name, code in (("pt", "ptcd"), ("hlt", "hltcd"), ("hlgt", "hlgtcd"), ("soc", "soccd")):
        assert (terms.groupby(code)[name].nunique() == 1).all(), name
        assert (terms.groupby(name)[code].nunique() == 1).all(), name
        assert terms[code].str.fullmatch(r"1\d{7}").all(), name
    for child, parent in (("pt", "soc"), ("hlt", "hlgt"), ("hlgt", "soc")):
        assert (terms.groupby(child)[parent].nunique() == 1).all(), (child, parent)
    label = pd.read_csv(SPECS / "label_terms.csv", dtype=str)
    merged = label.merge(terms.drop_duplicates("pt"), left_on="PT", right_on="pt")
    assert len(merged) == len(label)
    assert (merged["PTCD"] == merged["ptcd"]).all() and (merged["SOCCD"] == merged["soccd"]).all()


def test_every_korean_text_has_an_english_rendering(study):
    from submission.raw.synth import translations

    table = translations()
    assert table["Text"].is_unique
    assert table["English"].map(str.isascii).all() and table["English"].ne("").all()
    known = set(table["Text"])
    for form, frame in study.items():
        for column in frame.columns:
            values = set(frame[column])
            korean = {v for v in values if not v.isascii()}
            assert korean <= known, (form, column, sorted(korean - known)[:5])
