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

from .conftest import SPECS, edit_csv, read_csv, write_csv
from .test_raw_load import LAYOUT, tiny_rows, write_extract

SETTINGS = load_settings(SPECS)
FATAL_AE = dict(SUBJID="101-001", LINE="2", AETERM="Pneumonia", LLT="Pneumonia", LLTCD="10035664", PT="Pneumonia",
                PTCD="10035664", HLT="Lower respiratory tract and lung infections", HLTCD="10024970",
                HLGT="Infections - pathogen unspecified", HLGTCD="10021879",
                SOC="Infections and infestations", SOCCD="10021881", STDAT="2014-06-01", ENDAT="2014-06-20",
                ONGO="N", SEV="3", GRADE="5", SER="Y", SDTH="Y", SHOSP="Y", CAUSAL="4", ACN="4", OUT="5")


def cut(tmp_path: Path, cutoff: str, edit=None, settings=SETTINGS):
    """Write the tiny extract (after `edit(rows)`), load it and cut it at `cutoff`."""
    rows = tiny_rows()
    if edit:
        edit(rows)
    extract = load_extract(write_extract(tmp_path / "raw", rows), SPECS)
    result, log = apply_cutoff(extract, dt.date.fromisoformat(cutoff), settings)
    return extract, result, log


def with_open_period_end(value: str):
    """The study settings with conventions.open_dosing_period_end = `value`."""
    return SETTINGS.model_copy(update={
        "conventions": SETTINGS.conventions.model_copy(update={"open_dosing_period_end": value})})


def adam_at(tmp_path: Path, cutoff: str, edit=None, settings=SETTINGS) -> dict[str, pd.DataFrame]:
    """The tiny extract cut at `cutoff`, mapped to SDTM and derived to ADaM in memory."""
    from submission.adam.build import build_adam
    from submission.adam.labelterms import LabelTerms
    from submission.sdtm.build import build_sdtm
    from submission.sdtm.context import Translations
    from submission.spec import load_spec

    def in_english(rows):  # the tiny extract's Korean verbatims have no rendering in translations.csv
        for record in rows["CONMED"]:
            record["CMTERM"] = "Aspirin"
        for record in rows["MEDHIST"]:
            record["MHTERM"] = "Hypertension"
        if edit:
            edit(rows)

    extract, result, _ = cut(tmp_path, cutoff, in_english, settings)
    at = cutoff_settings(settings, dt.date.fromisoformat(cutoff))
    sdtm = build_sdtm(result, load_spec(SPECS / "sdtm"), at, Translations.load(SPECS), whole=extract)
    frames = {name: ds.frame for name, ds in sdtm.datasets.items()}
    adam = build_adam(frames, load_spec(SPECS / "adam"), at, LabelTerms.load(SPECS))
    return {**frames, **{name: ds.frame for name, ds in adam.datasets.items()}}


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


def test_fatal_outcome_kept_when_the_death_is_known_even_if_the_ae_ends_later(tmp_path):
    def death_before_the_aes_end(rows):
        _death(rows)
        rows["EOS"][0].update(EOSDAT="2014-06-08", LSTCNDAT="2014-06-08", DTHDAT="2014-06-08")

    _, result, log = cut(tmp_path, "2014-06-10", death_before_the_aes_end)
    ae = row(result["AE"], "101-001", 2)
    # the death date (2014-06-08) decides, not the AE's own end (2014-06-20): still fatal, ended at the death
    assert (ae["OUT"], ae["ENDAT"], ae["ONGO"], ae["SDTH"], ae["SER"], ae["GRADE"]) == \
        ("5", "2014-06-08", "N", "Y", "Y", "5")
    assert any("ENDAT the death date" in line for line in log)
    reload(result, "2014-06-10", tmp_path / "cut")


def _death_the_only_criterion(rows):
    _death(rows)
    rows["AE"][-1].update(SHOSP="N")


def test_fatal_ae_serious_only_by_death_is_not_serious_when_the_death_is_later(tmp_path):
    """The latent crash of issue 18: SDTH went to N, SER stayed Y with no criterion Y (exit 3)."""
    _, result, log = cut(tmp_path, "2014-06-10", _death_the_only_criterion)
    ae = row(result["AE"], "101-001", 2)
    assert (ae["SER"], ae["SDTH"], ae["SHOSP"], ae["OUT"]) == ("N", "N", "N", "3")
    assert any("the only seriousness criterion: SER N" in line for line in log)
    reload(result, "2014-06-10", tmp_path / "cut")  # consistent: the loader's checks pass


def test_fatal_ae_serious_also_otherwise_stays_serious(tmp_path):
    _, result, _ = cut(tmp_path, "2014-06-10", _death)  # SHOSP Y as well
    assert row(result["AE"], "101-001", 2)["SER"] == "Y"


def test_removed_fatal_grade_becomes_the_events_earlier_grade(tmp_path):
    def graded_before(rows):
        _death(rows)
        rows["AE"].append({**FATAL_AE, "LINE": "3", "STDAT": "2014-05-25", "ENDAT": "2014-05-31", "SEV": "2",
                           "GRADE": "3", "SDTH": "N", "OUT": "2"})

    _, result, log = cut(tmp_path, "2014-06-10", graded_before)
    assert row(result["AE"], "101-001", 2)["GRADE"] == "3"  # pneumonia grade 3 until the day before
    assert any("grade 5 replaced by the grade of the event's earlier record" in line for line in log)
    reload(result, "2014-06-10", tmp_path / "cut")


def test_removed_fatal_grade_without_an_earlier_one_is_blank_and_named_in_the_log(tmp_path):
    def other_event_before(rows):
        _death(rows)
        # a grade of another event, and an earlier pneumonia that ended weeks before: neither is this event's
        rows["AE"].append({**FATAL_AE, "LINE": "3", "STDAT": "2014-04-01", "ENDAT": "2014-04-10", "GRADE": "2",
                           "SDTH": "N", "OUT": "1"})

    _, result, log = cut(tmp_path, "2014-06-10", other_event_before)
    ae = result["AE"]
    fatal = ae[ae["SUBJID"].eq("101-001") & ae["LINE"].eq(2)]
    assert fatal["GRADE"].isna().all()
    assert any(line.strip().startswith(f"ae.csv row {fatal.index[0]} (subject 101-001 line 2)")
               and "GRADE left blank" in line for line in log)


def test_an_inconsistency_left_after_the_cut_is_bad_input_naming_the_record(tmp_path):
    def death_before_the_fatal_onset(rows):
        _death(rows)  # the fatal AE starts 2014-06-01 and ends 2014-06-20
        rows["EOS"][0].update(EOSDAT="2014-05-28", LSTCNDAT="2014-05-28", DTHDAT="2014-05-28")

    with pytest.raises(SubError) as err:
        cut(tmp_path, "2014-06-10", death_before_the_fatal_onset)
    [problem] = err.value.problems  # the fatal AE now ends at the death, before its onset
    assert (Path(problem.file.split(" (cut at")[0]).name, problem.row, problem.column) == ("ae.csv", 4, "ENDAT")
    assert "cut at 2014-06-10" in problem.file
    result = CliRunner().invoke(main, ["build", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out"),
                                       "--cutoff", "2014-06-10"])
    assert result.exit_code == 1, result.output  # bad input, not an internal error (3)
    assert "ae.csv (cut at 2014-06-10), row 4, column ENDAT" in result.output
    assert not (tmp_path / "out").exists()


def test_subject_on_treatment_at_the_cutoff_is_in_follow_up_up_to_it(tmp_path):
    _, result, log = cut(tmp_path, "2014-04-10")  # dosing 2014-03-05 to 2014-05-18: open at the cut-off
    for subject in ("101-001", "101-002"):
        eos = row(result["EOS"], subject)
        assert (eos["EOSSTAT"], eos["LSTCNDAT"]) == ("3", "2014-04-10")
    assert any("on treatment at it (a dosing period open at the cut-off): the cut-off" in line for line in log)
    reload(result, "2014-04-10", tmp_path / "cut")


def test_subject_on_treatment_at_the_cutoff_with_last_contact_setting_gets_the_last_raw_date(tmp_path):
    _, result, log = cut(tmp_path, "2014-04-10", settings=with_open_period_end("last_contact"))
    assert row(result["EOS"], "101-001")["LSTCNDAT"] == "2014-04-02"  # the AE's onset
    assert any("conventions.open_dosing_period_end = last_contact" in line for line in log)


def test_open_period_setting_defaults_to_the_cutoff():
    from submission.study import Conventions

    fields = SETTINGS.conventions.model_dump()
    fields.pop("open_dosing_period_end")
    assert Conventions(**fields).open_dosing_period_end == "cutoff"
    assert SETTINGS.conventions.open_dosing_period_end == "cutoff"


def test_open_period_setting_refuses_other_values_naming_the_key(specs_copy):
    path = specs_copy / "study.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('open_dosing_period_end = "cutoff"',
                                                             'open_dosing_period_end = "last dose"'), encoding="utf-8")
    with pytest.raises(SubError) as err:
        load_settings(specs_copy)
    [problem] = err.value.problems
    assert (problem.column, problem.value) == ("key conventions.open_dosing_period_end", "last dose")


def _long_period_and_late_partial_ae(rows):
    """One subject on REVLIMID from 2014-03-05 to 2015-06-30 with a diarrhoea of onset 2015-03 (month
    only: not a date of the last contact), cut at 2015-03-31 (issue 18: subjects 110-003, 301-003)."""
    rows["RVLDOSE"][0].update(CYCEN="17", ENDAT="2015-06-30")
    rows["DEXDOSE"][0].update(ENDAT="2014-05-18")
    rows["AE"].append({**rows["AE"][0], "LINE": "2", "AETERM": "Diarrhoea", "LLT": "Diarrhoea", "LLTCD": "10012735",
                       "PT": "Diarrhoea", "PTCD": "10012735", "HLT": "Diarrhoea (excl infective)",
                       "HLTCD": "10012736", "HLGT": "Gastrointestinal motility and defaecation conditions",
                       "HLGTCD": "10017977", "SOC": "Gastrointestinal disorders", "SOCCD": "10017947",
                       "STDAT": "2015-03-UK", "ENDAT": "", "ONGO": "Y", "GRADE": "2", "OUT": "3"})


def test_exposure_of_a_period_open_at_the_cutoff_runs_to_it(tmp_path):
    adam = adam_at(tmp_path, "2015-03-31", _long_period_and_late_partial_ae)
    adsl = adam["ADSL"].set_index("SUBJID").loc["101-001"]
    assert (adsl["TRTSDT"], adsl["TRTEDT"], adsl["LSTALVDT"]) == (
        pd.Timestamp("2014-03-05"), pd.Timestamp("2015-03-31"), pd.Timestamp("2015-03-31"))
    assert adsl["TRTDURD"] == 392 and adsl["LTUSEFL"] == "Y"
    # 392 days = 14 cycles of 28 days: 14 x 21 dosing days x 25 mg
    assert adsl["CUMDOSE"] == 14 * 21 * 25
    adae = adam["ADAE"]
    late = adae[adae["SUBJID"].eq("101-001") & adae["AEDECOD"].eq("Diarrhoea")].iloc[0]
    assert (late["ASTDT"], late["TRTEMFL"]) == (pd.Timestamp("2015-03-01"), "Y")
    adex = adam["ADEX"]
    assert adex.loc[adex["SUBJID"].eq("101-001") & adex["PARAMCD"].eq("RVLDUR"), "AENDT"].tolist() == \
        [pd.Timestamp("2015-03-31")]


def test_exposure_of_a_period_open_at_the_cutoff_with_last_contact_setting(tmp_path):
    adam = adam_at(tmp_path, "2015-03-31", _long_period_and_late_partial_ae, with_open_period_end("last_contact"))
    adsl = adam["ADSL"].set_index("SUBJID").loc["101-001"]
    assert adsl["TRTEDT"] == pd.Timestamp("2014-05-20")  # the response assessment, the last full raw date
    assert adsl["LTUSEFL"] == "N"
    adae = adam["ADAE"]
    late = adae[adae["SUBJID"].eq("101-001") & adae["AEDECOD"].eq("Diarrhoea")].iloc[0]
    assert pd.isna(late["TRTEMFL"])


def test_ts_keeps_the_study_dates_and_says_the_cutoff_in_dcutdtc_only(tmp_path):
    adam = adam_at(tmp_path, "2014-04-10")
    ts = adam["TS"].set_index("TSPARMCD")["TSVAL"]
    assert (ts["DCUTDTC"], ts["SSTDTC"], ts["SENDTC"]) == ("2014-04-10", "2014-03-02", "2016-11-30")


def test_end_of_study_after_the_cutoff_becomes_ongoing_with_last_contact_capped(tmp_path):
    def reviewed(rows):  # a review date is no contact with the subject
        for record in rows["ELIG"]:
            record["REVDAT"] = "2014-11-30"

    _, result, _ = cut(tmp_path, "2014-12-31", reviewed)
    for subject in ("101-001", "101-002"):
        eos = row(result["EOS"], subject)
        assert (eos["EOSSTAT"], eos["EOSDAT"], eos["DEATH"]) == ("3", None, "N")
        assert eos["LSTCNDAT"] == "2014-05-20"  # the response assessment, the last raw date
    assert row(result["AE"], "101-001", 1)["ENDAT"] == "2014-04-20"  # ended before the cut-off: kept
    assert result["ELIG"]["REVDAT"].tolist() == ["2014-11-30"] * 2
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


# ---------------------------------------------------------------------- the monitoring review (ELIG)
def _without_column(path: Path, column: str) -> None:
    """Rewrite a CSV file without one of its columns (an older extract)."""
    header, records = read_csv(path)
    write_csv(path, [name for name in header if name != column], records)


def _reviewed(first: str, second: str):
    """101-001 excluded for no safety follow-up, reviewed on `first`; 101-002 excluded as a
    duplicate enrolment, reviewed on `second` (blank: an undated review)."""
    def edit(rows):
        rows["ELIG"][0].update(SAFETY="N", SAFREAS="NOFU", EFFICACY="N", EFFREAS="NOSAF", REVDAT=first)
        rows["ELIG"][1].update(SAFETY="N", SAFREAS="DUPL", EFFICACY="N", EFFREAS="NOSAF", REVDAT=second)
    return edit


def test_review_dated_after_the_cutoff_is_not_yet_made_and_one_dated_before_applies(tmp_path):
    extract, result, log = cut(tmp_path, "2014-06-30", _reviewed("2014-06-30", "2014-07-01"))
    before = row(result["ELIG"], "101-001")  # reviewed on the cut-off: known then
    assert before.tolist() == ["101-001", "N", "NOFU", "N", "NOSAF", "2014-06-30"]
    later = row(result["ELIG"], "101-002")  # reviewed the day after: as before any review
    assert later.tolist() == ["101-002", "Y", None, "Y", None, None]
    assert row(extract["ELIG"], "101-002")["SAFETY"] == "N"  # the input is left as it was
    elig_line = next(line for line in log if line.strip().startswith("ELIG "))
    assert "1 changed (monitoring review dated after the cut-off, not yet made" in elig_line
    assert any("1 exclusion(s) from the safety assessment not yet decided at the cut-off" in line
               and "DUPL 1" in line for line in log)
    assert any("1 exclusion(s) from the efficacy assessment not yet decided" in line and "NOSAF 1" in line
               for line in log)
    reload(result, "2014-06-30", tmp_path / "cut")  # REVDAT after the cut-off is gone: the cut loads


def test_undated_review_applies_to_the_final_build_only(tmp_path):
    _, result, log = cut(tmp_path, "2016-11-30", _reviewed("2014-06-30", ""))
    assert row(result["ELIG"], "101-001")["SAFREAS"] == "NOFU"
    assert row(result["ELIG"], "101-002")[["SAFETY", "SAFREAS", "EFFICACY", "EFFREAS"]].tolist() == [
        "Y", None, "Y", None]
    assert any("1 changed (monitoring review undated, taken as made at the study's data cut-off" in line
               for line in log)
    extract, result, _ = cut(tmp_path / "final", SETTINGS.dates.data_cutoff.isoformat(), _reviewed("2014-06-30", ""))
    pd.testing.assert_frame_equal(result["ELIG"], extract["ELIG"])  # at the study's data cut-off: as reviewed


def test_subjects_not_yet_reviewed_get_the_analysis_sets_of_adams_own_rules(tmp_path):
    """Before the review, ADaM decides: a dosed subject is in the safety set, one without a dose by
    the cut-off is not (no dose), whatever the later review says; no DV record comes from the review."""
    adam = adam_at(tmp_path, "2014-03-04", _reviewed("2014-03-03", "2014-05-01"))
    adsl = adam["ADSL"].set_index("SUBJID")
    assert adsl.loc["101-001", ["SAFFL", "SAFEXRS"]].tolist() == ["N", "NO SAFETY FOLLOW-UP"]  # reviewed by then
    assert adsl.loc["101-002", ["SAFFL", "SAFEXRS"]].tolist() == ["N", "NO DOSE"]  # no dose by 2014-03-04
    assert set(adam["DV"]["USUBJID"].str[-7:]) == {"101-001"}
    adam = adam_at(tmp_path / "later", "2014-04-10", _reviewed("2014-03-03", "2014-05-01"))
    adsl = adam["ADSL"].set_index("SUBJID")
    assert adsl.loc["101-002", "SAFFL"] == "Y"  # dosed by then, the duplicate not yet found
    assert adsl.loc["101-001", "SAFFL"] == "N"


def test_extract_without_the_review_date_column_loads_and_cuts(tmp_path):
    """An older extract has no REVDAT column: it loads with the column blank, and a cut-off before
    the study's data cut-off takes every review as not yet made."""
    rows = tiny_rows()
    rows["ELIG"][1].update(SAFETY="N", SAFREAS="NOFU", EFFICACY="N", EFFREAS="NOSAF")
    for form, column, english in (("CONMED", "CMTERM", "Aspirin"), ("MEDHIST", "MHTERM", "Hypertension")):
        for record in rows[form]:  # the Korean verbatims have no rendering in translations.csv
            record[column] = english
    raw = write_extract(tmp_path / "raw", rows)
    _without_column(raw / "elig.csv", "REVDAT")
    assert (raw / "elig.csv").read_text(encoding="utf-8").splitlines()[0] == "SUBJID,SAFETY,SAFREAS,EFFICACY,EFFREAS"
    extract = load_extract(raw, SPECS)
    assert extract["ELIG"]["REVDAT"].isna().all() and row(extract["ELIG"], "101-002")["SAFREAS"] == "NOFU"
    result, log = apply_cutoff(extract, dt.date(2014, 6, 30), SETTINGS)
    assert row(result["ELIG"], "101-002")[["SAFETY", "SAFREAS"]].tolist() == ["Y", None]
    assert any("2 changed (monitoring review undated" in line for line in log)
    reload(result, "2014-06-30", tmp_path / "cut")
    built = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(tmp_path / "out"),
                                      "--cutoff", "2014-06-30"])
    assert built.exit_code == 0, built.output
    assert "monitoring review undated" in (tmp_path / "out" / "build.log").read_text(encoding="utf-8")


def _reported(first: str, second: str = "2014-04-05"):
    """101-001's AE (onset 2014-04-02) reported on `first`, 101-002's on `second`; Korean verbatims
    in English (translations.csv has none for the tiny extract's)."""
    def edit(rows):
        rows["AE"][0]["RCVDAT"], rows["AE"][1]["RCVDAT"] = first, second
        for form, column, english in (("CONMED", "CMTERM", "Aspirin"), ("MEDHIST", "MHTERM", "Hypertension")):
            for record in rows[form]:
                record[column] = english
    return edit


def _cut_as(tmp_path: Path, cutoff: str, edit, as_received: bool):
    rows = tiny_rows()
    edit(rows)
    extract = load_extract(write_extract(tmp_path / "raw", rows), SPECS)
    result, log = apply_cutoff(extract, dt.date.fromisoformat(cutoff), SETTINGS, as_received=as_received)
    return extract, result, log


def test_late_reported_ae_is_absent_with_as_received_and_present_without(tmp_path):
    """An AE that started before the cut-off (2014-04-02) but was reported after it (2014-07-15)."""
    _, by_event, log = _cut_as(tmp_path / "a", "2014-06-30", _reported("2014-07-15"), as_received=False)
    assert sorted(by_event["AE"]["SUBJID"]) == ["101-001", "101-002"]
    assert pd.isna(row(by_event["AE"], "101-001")["RCVDAT"])  # no date after the cut-off is left
    assert any("1 changed (RCVDAT after the cut-off: blank" in line for line in log)
    reload(by_event, "2014-06-30", tmp_path / "a" / "cut")
    _, by_report, log = _cut_as(tmp_path / "b", "2014-06-30", _reported("2014-07-15"), as_received=True)
    assert by_report["AE"]["SUBJID"].tolist() == ["101-002"]
    assert any("1 dropped (RCVDAT after the cut-off: reported after it (--as-received))" in line for line in log)
    reload(by_report, "2014-06-30", tmp_path / "b" / "cut")
    # reported on the cut-off itself: known then
    _, on_the_day, _ = _cut_as(tmp_path / "c", "2014-06-30", _reported("2014-06-30"), as_received=True)
    assert sorted(on_the_day["AE"]["SUBJID"]) == ["101-001", "101-002"]


def test_as_received_falls_back_to_the_event_date_for_a_blank_received_date(tmp_path):
    _, result, log = _cut_as(tmp_path, "2014-06-30", _reported("", "2014-07-01"), as_received=True)
    assert result["AE"]["SUBJID"].tolist() == ["101-001"]
    assert any("1 record(s) without RCVDAT: cut by the event date" in line for line in log)


def test_as_received_on_an_extract_without_received_dates_is_bad_input(tmp_path):
    extract = load_extract(write_extract(tmp_path / "blank", tiny_rows()), SPECS)  # RCVDAT blank in every row
    with pytest.raises(SubError) as err:
        apply_cutoff(extract, dt.date(2014, 6, 30), SETTINGS, as_received=True)
    assert err.value.problems[0].column == "RCVDAT" and "ae.csv" in err.value.problems[0].file
    raw = write_extract(tmp_path / "raw", tiny_rows())
    _without_column(raw / "ae.csv", "RCVDAT")  # an older extract without the column
    result = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(tmp_path / "out"),
                                       "--cutoff", "2014-06-30", "--as-received"])
    assert result.exit_code == 1, result.output
    assert "RCVDAT" in result.output and "--as-received cuts by the date a record was reported" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
    result = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(tmp_path / "out"), "--as-received"])
    assert result.exit_code == 2 and "--as-received needs --cutoff" in result.output


def test_build_as_received_leaves_out_a_late_reported_ae(tmp_path):
    """`sub build --cutoff --as-received` on an extract whose AE of 101-001 was reported after the cut-off."""
    from submission.xpt import read_xpt

    rows = tiny_rows()
    _reported("2014-07-15")(rows)
    raw = write_extract(tmp_path / "raw", rows)
    subjects = {}
    for name, extra in (("by-event", []), ("as-received", ["--as-received"])):
        result = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(tmp_path / name),
                                           "--cutoff", "2014-06-30", *extra])
        assert result.exit_code == 0, result.output
        subjects[name] = sorted(read_xpt(tmp_path / name / "sdtm" / "ae.xpt").frame["USUBJID"])
    assert len(subjects["by-event"]) == 2 and len(subjects["as-received"]) == 1
    assert not any(s.endswith("101-001") for s in subjects["as-received"])
    log = (tmp_path / "as-received" / "build.log").read_text(encoding="utf-8")
    assert "reported after it (--as-received)" in log


@pytest.mark.parametrize(("revdat", "words"), [("2014-13-01", "not a calendar date"),
                                               ("30/06/2014", "expected a date YYYY-MM-DD"),
                                               ("2014-03-01", "monitoring review dated before enrolment"),
                                               ("2016-12-08", "date after the data cut-off")])
def test_a_present_review_date_is_checked_like_every_date(tmp_path, revdat, words):
    rows = tiny_rows()
    rows["ELIG"][1]["REVDAT"] = revdat
    with pytest.raises(SubError) as err:
        load_extract(write_extract(tmp_path / "raw", rows), SPECS)
    [problem] = err.value.problems
    assert (Path(problem.file).name, problem.row, problem.column, problem.value) == ("elig.csv", 3, "REVDAT", revdat)
    assert words in problem.message


def test_only_a_field_the_layout_marks_may_be_absent_may_be_missing(tmp_path, specs_copy):
    from submission.raw.layout import check_layout

    raw = write_extract(tmp_path / "raw", tiny_rows())
    _without_column(raw / "elig.csv", "EFFREAS")
    with pytest.raises(SubError) as err:
        load_extract(raw, SPECS)
    assert [(Path(p.file).name, p.row, p.column, p.message) for p in err.value.problems] == [
        ("elig.csv", 1, "EFFREAS", "column is missing")]

    def required_yet_absent(records):
        [field] = [r for r in records if (r["form"], r["column"]) == ("ELIG", "REVDAT")]
        field["required"] = "Y"

    edit_csv(specs_copy / "raw" / "fields.csv", required_yet_absent)
    layout, problems = check_layout(specs_copy / "raw")
    assert layout is None and [p.column for p in problems] == ["may_be_absent"]


@pytest.fixture(scope="module")
def bundled_extract():
    from submission.paths import bundled_raw

    return load_extract(bundled_raw(), SPECS)


def _sdtm_adam(raw, settings=SETTINGS, whole=None) -> dict[str, pd.DataFrame]:
    from submission.adam.build import build_adam
    from submission.adam.labelterms import LabelTerms
    from submission.sdtm.build import build_sdtm
    from submission.sdtm.context import Translations
    from submission.spec import load_spec

    sdtm = build_sdtm(raw, load_spec(SPECS / "sdtm"), settings, Translations.load(SPECS), whole=whole)
    frames = {name: ds.frame for name, ds in sdtm.datasets.items()}
    adam = build_adam(frames, load_spec(SPECS / "adam"), settings, LabelTerms.load(SPECS))
    return {**frames, **{name: ds.frame for name, ds in adam.datasets.items()}}


def test_bundled_study_at_2013_06_30_applies_only_the_reviews_made_by_then(bundled_extract):
    """Issue 18: the two 'no safety follow-up' exclusions (149-008, 258-072, reviewed on 2013-07-07 and
    2013-11-14) are not known at 2013-06-30: both subjects are in the safety set then; an exclusion
    reviewed before the cut-off stays, with the review's reason."""
    cutoff = "2013-06-30"
    result, log = apply_cutoff(bundled_extract, dt.date.fromisoformat(cutoff), SETTINGS)
    adam = _sdtm_adam(result, cutoff_settings(SETTINGS, dt.date.fromisoformat(cutoff)), whole=bundled_extract)
    adsl = adam["ADSL"].set_index("SUBJID")
    elig = bundled_extract["ELIG"].set_index("SUBJID")
    assert elig.loc[["149-008", "258-072"], "SAFREAS"].tolist() == ["NOFU", "NOFU"]
    assert adsl.loc[["149-008", "258-072"], "SAFFL"].tolist() == ["Y", "Y"]
    assert not adsl["SAFEXRS"].eq("NO SAFETY FOLLOW-UP").any()
    known = elig.index.isin(adsl.index) & elig["SAFETY"].eq("N")
    reviewed = known & elig["REVDAT"].le(cutoff)
    later = known & elig["REVDAT"].gt(cutoff)
    assert set(elig.index[later]) == {"114-002", "149-008", "258-072"}  # 114-002: duplicate, reviewed 2015-03-16
    assert reviewed.sum() >= 5
    reasons = LAYOUT.submission_values("SAFREAS")
    for subject in elig.index[reviewed]:  # e.g. 110-004, no dose, reviewed 2013-05-08
        assert (adsl.loc[subject, "SAFFL"], adsl.loc[subject, "SAFEXRS"]) == ("N", reasons[elig.loc[subject, "SAFREAS"]])
    dosed = set(result["RVLDOSE"]["SUBJID"])
    for subject in elig.index[later]:  # as before any review: dose decides
        assert adsl.loc[subject, "SAFFL"] == ("Y" if subject in dosed else "N"), subject
    dv = set(adam["DV"].loc[adam["DV"]["DVCAT"].eq("EXCLUSION FROM SAFETY SET"), "USUBJID"].str[-7:])
    assert dv == set(elig.index[reviewed])
    assert any(f"{later.sum()} exclusion(s) from the safety assessment not yet decided" in line for line in log)


def test_the_review_date_reaches_no_sdtm_dataset(bundled_extract):
    """The full build of the bundled study is the same with and without the review date column:
    REVDAT is an operational date (NOT SUBMITTED in the aCRF)."""
    import dataclasses

    frames = dict(bundled_extract.frames)
    frames["ELIG"] = frames["ELIG"].assign(REVDAT=None)
    assert bundled_extract["ELIG"]["REVDAT"].notna().all()
    with_date = _sdtm_adam(bundled_extract)
    without = _sdtm_adam(dataclasses.replace(bundled_extract, frames=frames))
    assert with_date.keys() == without.keys()
    for name in with_date:
        pd.testing.assert_frame_equal(with_date[name], without[name], obj=name)


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
# The crash case of issue 18, put into the synthetic study: subject 209-002 (enrolled 2014-05,
# discontinued 2015-01-15) dies on 2015-01-15 of an AE starting 2014-12-20 whose only seriousness
# criterion is death. At the cut-off the death is not known: the AE is not serious then.
LATE_DEATH = {"SUBJID": "209-002", "ONSET": "2014-12-20", "DEATH": "2015-01-15"}


def _late_death_serious_only_by_death(raw: Path) -> int:
    """Add the fatal AE and the death of LATE_DEATH to the raw extract; return the AE's LINE."""
    subject = LATE_DEATH["SUBJID"]
    added = {}

    def fatal_ae(rows):
        own = [r for r in rows if r["SUBJID"] == subject]
        line = max(int(r["LINE"]) for r in own) + 1
        added.update(rows[0], SUBJID=subject, LINE=str(line), STDAT=LATE_DEATH["ONSET"], ENDAT=LATE_DEATH["DEATH"],
                     ONGO="N", SEV="3", GRADE="5", SER="Y", SDTH="Y", SLIFE="N", SHOSP="N", SDISAB="N", SCONG="N",
                     SMIE="N", OUT="5", RCVDAT=LATE_DEATH["ONSET"])
        rows.append(dict(added))

    def death(rows):
        [eos] = [r for r in rows if r["SUBJID"] == subject]
        assert eos["EOSSTAT"] == "2" and eos["EOSDAT"] == LATE_DEATH["DEATH"], eos
        eos.update(EOSREAS="DTH", LSTCNDAT=LATE_DEATH["DEATH"], DEATH="Y", DTHDAT=LATE_DEATH["DEATH"],
                   DTHCAUSE=added["PT"])

    edit_csv(raw / "ae.csv", fatal_ae)
    edit_csv(raw / "eos.csv", death)
    return int(added["LINE"])


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """A 150-subject synthetic study (with the crash case of issue 18): `sub build --cutoff` (whole
    chain, through the command line) and the full SDTM + ADaM."""
    from submission.build import run_adam, run_sdtm
    from submission.raw.synth import synthesize
    from submission.raw.synth import write_extract as write_synth

    base = tmp_path_factory.mktemp("cutoff")
    raw = base / "raw"
    write_synth(synthesize(SETTINGS, n_subjects=150, seed=4), raw)
    _late_death_serious_only_by_death(raw)
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

    cover = {r.cells[0].text: r.cells[-1].text for r in Document(out / "report" / "periodic-safety-report.docx")
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


def test_cutoff_build_of_the_crash_case_is_consistent(builds):
    """Issue 18: a fatal AE serious only by a death after the cut-off built with exit 3; now exit 0
    (the fixture asserts it) with criteria and flag changed together."""
    _, full, out, _ = builds
    usubjid = f"{SETTINGS.study.studyid}-{LATE_DEATH['SUBJID']}"
    ae = _read(out / "sdtm", "ae")
    [event] = ae[ae["USUBJID"].eq(usubjid) & ae["AESTDTC"].eq(LATE_DEATH["ONSET"])].to_dict("records")
    assert (event["AESER"], event["AESDTH"], event["AEOUT"]) == ("N", "N", "NOT RECOVERED/NOT RESOLVED")
    assert not event["AEENDTC"] and not event["AETOXGR"]
    assert "GRADE left blank" in (out / "build.log").read_text(encoding="utf-8")
    full_ae = _read(full / "sdtm", "ae")
    [final] = full_ae[full_ae["USUBJID"].eq(usubjid) & full_ae["AESTDTC"].eq(LATE_DEATH["ONSET"])].to_dict("records")
    assert (final["AESER"], final["AESDTH"], final["AEOUT"], final["AETOXGR"]) == ("Y", "Y", "FATAL", "5")


def test_cutoff_ts_keeps_the_study_dates(builds):
    _, full, out, _ = builds
    cut_ts = _read(out / "sdtm", "ts").set_index("TSPARMCD")["TSVAL"]
    full_ts = _read(full / "sdtm", "ts").set_index("TSPARMCD")["TSVAL"]
    assert cut_ts["DCUTDTC"] == CUTOFF and full_ts["DCUTDTC"] == SETTINGS.dates.data_cutoff.isoformat()
    assert cut_ts["SENDTC"] == full_ts["SENDTC"] > CUTOFF
    assert cut_ts["SSTDTC"] == full_ts["SSTDTC"]
    # DCUTDESC says what the cut is: a periodic report's cut, not the final database cut-off
    assert cut_ts["DCUTDESC"].startswith("PERIODIC SAFETY REPORT DATA CUT-OFF")
    assert full_ts["DCUTDESC"].startswith("DATABASE CUT-OFF AFTER SITE MONITORING")
    assert set(cut_ts.index) == set(full_ts.index)


def _dosing_days(days: int, per_cycle: int, every_other_day: bool) -> int:
    """Dosing days in the first `days` days of a period: days 1..per_cycle of each 28-day cycle."""
    return sum(1 for day in range(days)
               if day % 28 < per_cycle and (not every_other_day or (day % 28) % 2 == 0))


def test_cutoff_exposure_and_treatment_emergence_recomputed_from_the_raw_extract(builds):
    """TRTEDT, TRTDURD, CUMDOSE, LTUSEFL and TRTEMFL of the AEs of the last 4 weeks before the
    cut-off, recomputed from the raw extract: a REVLIMID period open at the cut-off runs to it."""
    raw, _, out, _ = builds
    cut = pd.Timestamp(CUTOFF)
    adsl = _read(out / "adam", "adsl").set_index("SUBJID")
    dose = pd.read_csv(raw / "rvldose.csv", dtype=str, keep_default_na=False)
    dose = dose[dose["STDAT"].le(CUTOFF) & dose["SUBJID"].isin(adsl.index)]
    start = pd.to_datetime(dose["STDAT"])
    end = pd.to_datetime(dose["ENDAT"].where(dose["ENDAT"].ne("") & dose["ENDAT"].le(CUTOFF), CUTOFF))
    days = (end - start).dt.days + 1
    dose = dose.assign(START=start, END=end, OPEN=dose["ENDAT"].eq("") | dose["ENDAT"].gt(CUTOFF),
                       MG=[float(mg) * _dosing_days(n, int(k), f == "QOD")
                           for mg, n, k, f in zip(dose["DOSE"], days, dose["DAYS"], dose["FREQ"])])
    per_subject = dose.groupby("SUBJID").agg(TRTSDT=("START", "min"), TRTEDT=("END", "max"), OPEN=("OPEN", "any"),
                                             CUMDOSE=("MG", "sum"))
    eos = pd.read_csv(raw / "eos.csv", dtype=str, keep_default_na=False).set_index("SUBJID")
    # every subject on REVLIMID at the cut-off is still under observation then in this study
    assert not (eos.loc[per_subject.index[per_subject["OPEN"]], "DTHDAT"].between("0", CUTOFF)).any()
    on_drug = per_subject.index[per_subject["OPEN"]]
    assert len(on_drug) >= 5
    assert (per_subject.loc[on_drug, "TRTEDT"] == cut).all()
    got = adsl.loc[per_subject.index]
    assert got["TRTSDT"].tolist() == per_subject["TRTSDT"].tolist()
    assert got["TRTEDT"].tolist() == per_subject["TRTEDT"].tolist()
    duration = (per_subject["TRTEDT"] - per_subject["TRTSDT"]).dt.days + 1
    assert got["TRTDURD"].tolist() == duration.tolist()
    assert got["CUMDOSE"].tolist() == pytest.approx(per_subject["CUMDOSE"].tolist())
    assert got["LTUSEFL"].tolist() == ["Y" if d >= 365 else "N" for d in duration]

    ae = pd.read_csv(raw / "ae.csv", dtype=str, keep_default_na=False)
    window = SETTINGS.conventions.treatment_emergent_days
    four_weeks_before = str((cut - pd.Timedelta(days=28)).date())
    recent = ae[ae["STDAT"].str.fullmatch(r"\d{4}-\d{2}-\d{2}") & ae["STDAT"].gt(four_weeks_before)
                & ae["STDAT"].le(CUTOFF) & ae["SUBJID"].isin(per_subject.index)]
    onset = pd.to_datetime(recent["STDAT"])
    first, last = recent["SUBJID"].map(per_subject["TRTSDT"]), recent["SUBJID"].map(per_subject["TRTEDT"])
    expected = (onset >= first) & (onset <= last + pd.Timedelta(days=window))
    # raw row -> SDTM AE (AESPID is the raw LINE) -> ADAE record (USUBJID, AESEQ)
    sdtm_ae = _read(out / "sdtm", "ae")
    seq = sdtm_ae.set_index(["USUBJID", "AESPID"])["AESEQ"]
    usubjid = f"{SETTINGS.study.studyid}-" + recent["SUBJID"]
    keys = list(zip(usubjid, [seq.loc[(u, line)] for u, line in zip(usubjid, recent["LINE"])]))
    adae = _read(out / "adam", "adae").set_index(["USUBJID", "AESEQ"])["TRTEMFL"]
    assert len(keys) >= 5 and recent["SUBJID"].isin(on_drug).sum() >= 3
    assert [adae.loc[k] or None for k in keys] == ["Y" if e else None for e in expected]


def test_a_cutoff_before_the_first_dose_is_exit_1_naming_the_empty_safety_set(tmp_path):
    """The bundled study's first enrolment is 2010-03-03 and its first dose 2010-03-06: a cut-off
    between them leaves subjects but no safety set. Exit 1 with the reason (was exit 3), nothing written."""
    result = CliRunner().invoke(main, ["build", "--out", str(tmp_path / "out"), "--cutoff", "2010-03-05"])
    assert result.exit_code == 1, result.output
    assert "no subject is in the safety set" in result.output and "2010-03-05" in result.output
    assert not (tmp_path / "out").exists()
