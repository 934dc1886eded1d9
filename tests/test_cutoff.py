"""`sub build --cutoff DATE`: the raw extract as known at an earlier cut-off (submission/raw/cutoff.py).

Unit tests on the two-subject extract of test_raw_load (enrolled 2014-03-03, dosed 2014-03-05 to
2014-05-18, AE 2014-04-02 to 2014-04-20, response 2014-05-20, completed 2016-11-30); one
integration test builds a small synthetic study at a cut-off and checks the written package.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from submission.cli import main
from submission.errors import SubError
from submission.raw.cutoff import apply_cutoff, cutoff_settings
from submission.raw.load import load_extract
from submission.study import load_settings

from .conftest import SPECS, write_csv
from .test_raw_load import LAYOUT, tiny_rows, write_extract

SETTINGS = load_settings(SPECS)
FATAL_AE = dict(SUBJID="101-001", LINE="2", AETERM="Pneumonia", LLT="Pneumonia", LLTCD="10035664", PT="Pneumonia",
                PTCD="10035664", HLT="Lower respiratory tract and lung infections", HLTCD="10024970",
                HLGT="Infections - pathogen unspecified", HLGTCD="10021879",
                SOC="Infections and infestations", SOCCD="10021881", STDAT="2014-06-01", ENDAT="2014-06-20",
                ONGO="N", SEV="3", GRADE="5", SER="Y", SDTH="Y", SHOSP="Y", CAUSAL="4", ACN="4", OUT="5")


def cut(tmp_path: Path, cutoff: str, edit=None):
    """Write the tiny extract (after `edit(rows)`), load it and cut it at `cutoff`."""
    rows = tiny_rows()
    if edit:
        edit(rows)
    extract = load_extract(write_extract(tmp_path / "raw", rows), SPECS)
    result, log = apply_cutoff(extract, dt.date.fromisoformat(cutoff), SETTINGS)
    return extract, result, log


def reload(result, cutoff: str, folder: Path):
    """Write the cut frames back as CSV and load them with the real loader at the cut-off."""
    for form, spec in LAYOUT.forms.items():
        columns = [f.column for f in LAYOUT.fields_of(form)]
        frame = result[form][columns].astype("string").fillna("")
        write_csv(folder / spec.file, columns, frame.to_dict("records"))
    return load_extract(folder, SPECS, settings=cutoff_settings(SETTINGS, dt.date.fromisoformat(cutoff)))


def row(frame: pd.DataFrame, subject: str, line: int | None = None) -> pd.Series:
    hits = frame[frame["SUBJID"].eq(subject) & (frame["LINE"].eq(line) if line is not None else True)]
    assert len(hits) == 1, hits
    return hits.iloc[0]


def test_at_the_study_cutoff_nothing_changes(tmp_path):
    extract, result, log = cut(tmp_path, SETTINGS.dates.data_cutoff.isoformat())
    for form, frame in extract.frames.items():
        pd.testing.assert_frame_equal(result[form], frame)
    assert "subjects: 2 of 2 kept" in log[1]


def test_subject_enrolled_after_the_cutoff_is_removed_from_every_form(tmp_path):
    def late(rows):
        rows["ENROL"][1].update(ICDAT="2014-06-09", ENRDAT="2014-06-10")

    extract, result, log = cut(tmp_path, "2014-06-01", late)
    for form, frame in result.frames.items():
        assert "101-002" not in set(frame["SUBJID"]), form
        assert "101-001" in set(frame["SUBJID"]), form
    assert "101-002" in set(extract["AE"]["SUBJID"])  # the input is left as it was
    assert "1 enrolled after the cut-off" in log[1]
    assert any(line.strip().startswith("AE") and "1 dropped (subject enrolled after the cut-off)" in line
               for line in log)
    reload(result, "2014-06-01", tmp_path / "cut")


def test_subject_with_baseline_after_the_cutoff_is_removed_and_said(tmp_path):
    _, result, log = cut(tmp_path, "2014-03-10", lambda rows: rows["BASELINE"][1].update(VSDAT="2014-03-12"))
    assert set(result["ENROL"]["SUBJID"]) == {"101-001"}
    assert "1 with enrolment forms dated after it" in log[1]


def test_ae_starting_after_the_cutoff_is_dropped(tmp_path):
    def later_ae(rows):
        rows["AE"].append({**rows["AE"][0], "LINE": "2", "STDAT": "2014-06-15", "ENDAT": "2014-06-30"})

    _, result, log = cut(tmp_path, "2014-06-01", later_ae)
    assert result["AE"]["LINE"].tolist() == [1, 1]
    assert any("1 dropped (onset after the cut-off)" in line for line in log)


def test_ae_ending_after_the_cutoff_becomes_ongoing_not_recovered(tmp_path):
    _, result, log = cut(tmp_path, "2014-04-10")
    ae = row(result["AE"], "101-001", 1)
    assert (ae["ENDAT"], ae["ONGO"], ae["OUT"]) == (None, "Y", "3")  # OUT 3: not recovered/not resolved
    assert any("ended after the cut-off" in line for line in log)
    reload(result, "2014-04-10", tmp_path / "cut")


def test_partial_date_counts_as_after_only_when_its_first_day_is(tmp_path):
    def partial(rows):
        rows["AE"][0].update(STDAT="2014-03-UK", ENDAT="2014-03-UK")
        rows["AE"].append({**rows["AE"][0], "LINE": "2", "STDAT": "2014-04-UK", "ENDAT": ""})
        rows["AE"][-1]["ONGO"] = "Y"

    _, result, _ = cut(tmp_path, "2014-03-15", partial)
    ae = result["AE"]
    kept = row(ae, "101-001", 1)
    assert (kept["STDAT"], kept["ENDAT"]) == ("2014-03-UK", "2014-03-UK")
    assert 2 not in set(ae["LINE"])
    assert row(result["CONMED"], "101-001", 1)["STDAT"] == "2014-03-UK"  # conmed started 2014-03-UK
    reload(result, "2014-03-15", tmp_path / "cut")


def test_dosing_period_spanning_the_cutoff_is_left_open_and_later_periods_dropped(tmp_path):
    def second_period(rows):
        rows["RVLDOSE"].append({**rows["RVLDOSE"][0], "LINE": "2", "CYCST": "4", "CYCEN": "5",
                                "STDAT": "2014-06-01", "ENDAT": "2014-07-20", "DOSE": "15", "ADJ": "AE"})

    _, result, log = cut(tmp_path, "2014-04-01", second_period)
    period = row(result["RVLDOSE"], "101-001", 1)
    assert period["STDAT"] == "2014-03-05" and period["ENDAT"] is None and pd.isna(period["CYCEN"])
    assert period["CYCST"] == 1
    assert row(result["DEXDOSE"], "101-001", 1)["ENDAT"] is None
    assert 2 not in set(result["RVLDOSE"]["LINE"])
    assert any(line.strip().startswith("RVLDOSE") and "ENDAT and CYCEN blank" in line for line in log)
    reload(result, "2014-04-01", tmp_path / "cut")


def _death(rows):
    rows["AE"].append(dict(FATAL_AE))
    rows["EOS"][0].update(EOSSTAT="2", EOSREAS="DTH", EOSDAT="2014-06-20", LSTCNDAT="2014-06-20", DEATH="Y",
                          DTHDAT="2014-06-20", DTHCAUSE="Pneumonia")


def test_fatal_ae_with_death_after_the_cutoff_is_ongoing_not_recovered(tmp_path):
    extract, result, log = cut(tmp_path, "2014-06-10", _death)
    assert row(extract["EOS"], "101-001")["DEATH"] == "Y"  # the input is left as it was
    ae = row(result["AE"], "101-001", 2)
    assert (ae["OUT"], ae["ONGO"], ae["ENDAT"], ae["SDTH"], ae["GRADE"]) == ("3", "Y", None, "N", None)
    assert ae["SER"] == "Y"  # still serious (hospitalisation)
    eos = row(result["EOS"], "101-001")
    assert (eos["EOSSTAT"], eos["EOSDAT"], eos["EOSREAS"], eos["DEATH"], eos["DTHDAT"], eos["DTHCAUSE"]) == \
        ("3", None, None, "N", None, None)
    assert eos["LSTCNDAT"] == "2014-06-01"  # the fatal AE's onset: the last raw date by the cut-off
    assert any("outcome fatal, death after the cut-off" in line for line in log)
    reload(result, "2014-06-10", tmp_path / "cut")


def test_death_on_or_before_the_cutoff_is_kept(tmp_path):
    _, result, _ = cut(tmp_path, "2014-06-25", _death)
    ae = row(result["AE"], "101-001", 2)
    assert (ae["OUT"], ae["ENDAT"], ae["SDTH"], ae["GRADE"]) == ("5", "2014-06-20", "Y", "5")
    eos = row(result["EOS"], "101-001")
    assert (eos["EOSSTAT"], eos["DEATH"], eos["DTHDAT"], eos["LSTCNDAT"]) == ("2", "Y", "2014-06-20", "2014-06-20")


def test_end_of_study_after_the_cutoff_becomes_ongoing_with_last_contact_capped(tmp_path):
    _, result, log = cut(tmp_path, "2014-12-31")
    for subject in ("101-001", "101-002"):
        eos = row(result["EOS"], subject)
        assert (eos["EOSSTAT"], eos["EOSDAT"], eos["DEATH"]) == ("3", None, "N")
        assert eos["LSTCNDAT"] == "2014-05-20"  # the response assessment, the last raw date
    assert row(result["AE"], "101-001", 1)["ENDAT"] == "2014-04-20"  # ended before the cut-off: kept
    assert any("ELIG kept as it is" in line for line in log)
    reload(result, "2014-12-31", tmp_path / "cut")


def test_best_response_kept_when_reached_by_the_cutoff_dropped_otherwise(tmp_path):
    def undated(rows):
        rows["BESTRESP"][1].update(BRDAT="")
        rows["RESP"].append(dict(SUBJID="101-002", LINE="2", RSDAT="2014-08-20", RESP="VGPR"))

    _, result, log = cut(tmp_path, "2014-06-30", undated)
    assert result["BESTRESP"]["SUBJID"].tolist() == ["101-001"]  # BRDAT 2014-05-20 is kept
    assert any("BRDAT blank and response assessments after the cut-off" in line for line in log)
    _, result, _ = cut(tmp_path / "b", "2014-05-01")
    assert result["BESTRESP"].empty and result["RESP"].empty


def test_elig_is_kept_as_it_is(tmp_path):
    def excluded(rows):
        rows["ELIG"][1].update(SAFETY="N", SAFREAS="NOFU", EFFICACY="N", EFFREAS="NOSAF")

    extract, result, log = cut(tmp_path, "2014-03-04", excluded)
    pd.testing.assert_frame_equal(result["ELIG"], extract["ELIG"])
    assert result["RVLDOSE"].empty  # nobody dosed by then, the review is still what it is
    assert any("1 subject(s) included in the safety assessment have no REVLIMID dose" in line for line in log)


@pytest.mark.parametrize(("cutoff", "words"), [("2016-12-08", "after the study's data cut-off 2016-12-07"),
                                               ("2014-03-02", "before the first enrolment (2014-03-03")])
def test_invalid_cutoff_is_bad_input(tmp_path, cutoff, words):
    with pytest.raises(SubError) as err:
        cut(tmp_path, cutoff)
    assert words in str(err.value)


def test_cli_refuses_a_bad_cutoff_with_exit_1_and_a_malformed_one_with_exit_2(tmp_path):
    raw = write_extract(tmp_path / "raw", tiny_rows())
    runner = CliRunner()
    result = runner.invoke(main, ["build", "--raw", str(raw), "--out", str(tmp_path / "out"), "--cutoff", "2017-01-31"])
    assert result.exit_code == 1, result.output
    assert "--cutoff" in result.output and "after the study's data cut-off" in result.output
    result = runner.invoke(main, ["build", "--raw", str(raw), "--out", str(tmp_path / "out"), "--cutoff", "31/12/2014"])
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------- integration
CUTOFF = "2014-12-31"


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """A 150-subject synthetic study: `sub build --cutoff` (whole chain) and the full SDTM + ADaM."""
    from submission.build import run_adam, run_sdtm
    from submission.raw.synth import synthesize
    from submission.raw.synth import write_extract as write_synth

    base = tmp_path_factory.mktemp("cutoff")
    raw = base / "raw"
    write_synth(synthesize(SETTINGS, n_subjects=150, seed=4), raw)
    run_sdtm(raw, SPECS, base / "full")
    run_adam(base / "full" / "sdtm", SPECS, base / "full")
    result = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(base / "cut"), "--cutoff", CUTOFF])
    assert result.exit_code == 0, result.output
    return raw, base / "full", base / "cut", result.output


def _read(folder: Path, name: str) -> pd.DataFrame:
    from submission.xpt import read_xpt

    return read_xpt(folder / f"{name}.xpt").frame


def test_cutoff_build_log_manifest_and_report(builds):
    _, _, out, output = builds
    assert f"data cut-off {CUTOFF}" in output and "AE " in output
    assert f"data cut-off {CUTOFF}" in (out / "build.log").read_text(encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["dates"]["data_cutoff"] == CUTOFF
    from docx import Document

    cover = {r.cells[0].text: r.cells[-1].text for r in Document(out / "report" / "re-examination-report.docx")
             .tables[0].rows}
    assert cover["자료 마감일"] == CUTOFF


def test_cutoff_build_has_only_subjects_known_then(builds):
    raw, _, out, _ = builds
    enrol = pd.read_csv(raw / "enrol.csv", dtype=str)
    baseline = pd.read_csv(raw / "baseline.csv", dtype=str).set_index("SUBJID")["VSDAT"]
    known = enrol.loc[enrol["ENRDAT"].le(CUTOFF) & enrol["SUBJID"].map(baseline).le(CUTOFF), "SUBJID"]
    adsl = _read(out / "adam", "adsl")
    assert 0 < len(adsl) < len(enrol)
    assert set(adsl["SUBJID"]) == set(known)
    assert (adsl["DCUTDT"] == pd.Timestamp(CUTOFF)).all()


def test_no_sdtm_date_after_the_cutoff_and_ts_says_the_cutoff(builds):
    _, _, out, _ = builds
    checked = 0
    for path in sorted((out / "sdtm").glob("*.xpt")):
        frame = _read(out / "sdtm", path.stem)
        for column in [c for c in frame.columns if c.endswith("DTC")]:
            values = frame[column].dropna().astype(str)
            values = values[values.ne("")]
            late = values[values.str.slice(0, 10) > CUTOFF]  # a partial date compares by its first day
            assert late.empty, (path.name, column, late.head().tolist())
            checked += len(values)
    assert checked > 1000
    ts = _read(out / "sdtm", "ts")
    assert ts.loc[ts["TSPARMCD"].eq("DCUTDTC"), "TSVAL"].tolist() == [CUTOFF]


def test_cutoff_adae_counts_at_most_the_full_builds(builds):
    _, full, out, _ = builds
    cut_ae, full_ae = _read(out / "adam", "adae"), _read(full / "adam", "adae")
    assert 0 < len(cut_ae) < len(full_ae)
    assert cut_ae["TRTEMFL"].eq("Y").sum() <= full_ae["TRTEMFL"].eq("Y").sum()
    per_subject = cut_ae.groupby("USUBJID").size()
    full_per_subject = full_ae.groupby("USUBJID").size().reindex(per_subject.index)
    assert (per_subject <= full_per_subject).all()
