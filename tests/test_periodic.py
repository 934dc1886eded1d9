"""The periodic safety report of `sub build --cutoff` (submission/tlf/periodic.py): the schedule's
interval start, the periodic title and wording, interval and cumulative columns, and interval
figures equal to the cumulative figures of two builds (at the cut-off and at the interval start)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from submission.cli import main
from submission.study import load_settings
from submission.tlf.ard import read_ard_csv
from submission.tlf.periodic import default_interval_start, interval_ard, new_records, schedule

from .conftest import SPECS

SETTINGS = load_settings(SPECS)
CUTOFF = "2014-12-31"
START = "2014-06-30"  # the previous report's cut-off, given with --interval-start
PERIODIC_TABLES = ("T-05", "T-06-AE", "T-06-ADR", "T-06-SAE", "T-06-SADR", "T-06-USADR")
KEY = ["output_id", "group1_level", "group2_level", "variable", "variable_level", "stat_name"]


# ---------------------------------------------------------------------- units

@pytest.mark.parametrize(("cutoff", "start"), [
    ("2010-03-01", "2009-12-28"),   # before the first scheduled cut-off: the first approval
    ("2010-06-28", "2009-12-28"),   # on the first scheduled cut-off: nothing before it
    ("2010-06-29", "2010-06-28"),
    ("2011-12-28", "2011-06-28"),   # every 6 months for 2 years
    ("2012-12-28", "2011-12-28"),   # then yearly
    ("2013-06-30", "2012-12-28"),
    (CUTOFF, "2014-12-28"),
])
def test_default_interval_start_is_the_previous_scheduled_cutoff(cutoff, start):
    assert default_interval_start(SETTINGS, dt.date.fromisoformat(cutoff)).isoformat() == start


def test_schedule_is_semiannual_for_two_years_then_yearly():
    points = [p.isoformat() for p in schedule(dt.date(2009, 12, 28), dt.date(2014, 1, 1))]
    assert points == ["2010-06-28", "2010-12-28", "2011-06-28", "2011-12-28", "2012-12-28", "2013-12-28"]
    assert schedule(dt.date(2012, 8, 31), dt.date(2013, 3, 1)) == [dt.date(2013, 2, 28)]  # month end


def _rows(*cells):
    return pd.DataFrame([dict(output_id="T-X", group1=None, group1_level=None, group2=None, group2_level=soc,
                              variable=var, variable_level=level, context="hierarchical", stat_name=stat,
                              stat_label=stat, stat=value, source="ADAE", where="x", population="SAFFL = 'Y'",
                              counts="subjects") for soc, var, level, stat, value in cells])


def test_interval_rows_are_cumulative_minus_start_with_missing_cells_as_zero():
    now = _rows((None, "AEBODSYS", "A", "n", 5), (None, "AEBODSYS", "A", "events", 9), (None, "AEBODSYS", "A", "N", 30),
                ("A", "AEDECOD", "a1", "n", 2), (None, "AEBODSYS", "A", "p", 5 / 30))
    before = _rows((None, "AEBODSYS", "A", "n", 3), (None, "AEBODSYS", "A", "events", 4), (None, "AEBODSYS", "A", "N", 20),
                   ("B", "AEDECOD", "b1", "n", 1))
    out = interval_ard(now, before)
    got = {(r["variable_level"], r["stat_name"]): r["stat"] for r in out.to_dict("records")}
    assert got == {("A", "n"): 2, ("A", "events"): 5, ("A", "N"): 10, ("a1", "n"): 2, ("b1", "n"): -1}
    assert set(out["period"]) == {"interval"} and set(out["counts"]) == {"none"}
    assert interval_ard(now, None).set_index(["variable_level", "stat_name"])["stat"].to_dict()[("A", "n")] == 5


def test_new_records_match_repeats_in_order():
    def frame(*terms):
        return pd.DataFrame({"USUBJID": "S1", "AESTDTC": "2014-01-01", "AETERM": list(terms), "AEDECOD": list(terms)})

    assert list(new_records(frame("x", "x", "y"), frame("x"))["AETERM"]) == ["x", "y"]
    assert new_records(frame("x"), frame("x", "y")).empty


def test_interval_start_needs_cutoff_and_must_be_before_it(tmp_path):
    result = CliRunner().invoke(main, ["build", "--out", str(tmp_path / "o"), "--interval-start", "2014-01-01"])
    assert result.exit_code == 2 and "--interval-start needs --cutoff" in result.output
    result = CliRunner().invoke(main, ["build", "--out", str(tmp_path / "o"), "--cutoff", "2014-01-01",
                                       "--interval-start", "2014-01-01"])
    assert result.exit_code == 1, result.output
    assert "--interval-start" in result.output and "not before the cut-off 2014-01-01" in result.output
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------- two builds

@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """A 150-subject synthetic study built through the command line at CUTOFF (interval start START,
    given explicitly) and at START (its own interval start by the schedule)."""
    from submission.raw.synth import synthesize
    from submission.raw.synth import write_extract as write_synth

    base = tmp_path_factory.mktemp("periodic")
    raw = base / "raw"
    write_synth(synthesize(SETTINGS, n_subjects=150, seed=4), raw)
    outs = {}
    for name, args in (("cut", ["--cutoff", CUTOFF, "--interval-start", START]), ("start", ["--cutoff", START])):
        result = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(base / name), *args])
        assert result.exit_code == 0, result.output
        outs[name] = base / name
    return outs


def _ard(out: Path) -> pd.DataFrame:
    return read_ard_csv(out / "tlf" / "ard.csv")


def _values(ard: pd.DataFrame, period: str) -> dict:
    rows = ard[ard["period"].eq(period) & ard["output_id"].isin(PERIODIC_TABLES) & ard["stat_name"].isin(["n", "N", "events"])]
    return {tuple(None if pd.isna(v) else v for v in r): s for r, s in zip(rows[KEY].itertuples(index=False), rows["stat"])}


def test_interval_figures_are_the_cumulative_figures_of_two_builds_subtracted(builds):
    now, start = _ard(builds["cut"]), _ard(builds["start"])
    interval = _values(now, "interval")
    cumulative_now, cumulative_start = _values(now, "cumulative"), _values(start, "cumulative")
    assert interval and set(cumulative_now) <= set(interval)
    for key in set(cumulative_now) | set(cumulative_start):
        assert interval[key] == cumulative_now.get(key, 0) - cumulative_start.get(key, 0), key
    assert set(interval) == set(cumulative_now) | set(cumulative_start)
    ae_n = ("T-05", None, None, "AE", "Y", "n")
    assert 0 < interval[ae_n] < cumulative_now[ae_n]


def test_every_row_of_a_periodic_ard_says_its_period_and_ids_stay_unique(builds):
    ard = _ard(builds["cut"])
    assert set(ard["period"]) == {"cumulative", "interval"}
    assert ard["ard_id"].is_unique
    assert set(ard.loc[ard["period"].eq("interval"), "output_id"]) == {*PERIODIC_TABLES, "T-06-UAE", "T-06-UADR",
                                                                          "T-06-USAE", "T-06-USADR-NEW"}
    assert "T-LABEL-01" not in set(ard["output_id"])


def test_periodic_report_is_titled_and_worded_as_one(builds):
    from docx import Document

    doc = Document(builds["cut"] / "report" / "re-examination-report.docx")
    assert doc.core_properties.title.endswith("정기적인 안전성 정보 보고서")
    cover = {r.cells[0].text: r.cells[-1].text for r in doc.tables[0].rows}
    assert cover["보고 기간"] == f"2014-07-01 ~ {CUTOFF}" and cover["자료 마감일"] == CUTOFF
    assert cover["누적 기간"] == f"{SETTINGS.dates.pms_start.isoformat()} ~ {CUTOFF}"
    assert "조사 기간" not in cover
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "정기적인 안전성 정보 보고서" in text and "1.2 보고 기간" in text
    assert "재심사 결과보고서" not in text and "재심사를 위하여" not in text
    assert "사용상의 주의사항 변경(안)" not in text
    assert SETTINGS.dates.enrolment_cutoff.isoformat() not in text  # nothing said about a date after the cut-off
    assert "정기적인 안전성 정보 보고서" in doc.sections[0].header.paragraphs[0].text
    overview = next(t for t in doc.tables if t.rows[0].cells[0].text == "구분" and "보고 기간" in t.rows[0].cells[1].text)
    assert "2014-07-01 ~ 2014-12-31" in overview.rows[0].cells[1].text and "누적" in overview.rows[0].cells[2].text


def test_trace_and_diff_work_on_a_periodic_ard(builds):
    from submission.tlf.trace import Tracer

    ard = _ard(builds["cut"])
    tracer = Tracer.of_package(builds["cut"])
    pick = ard[ard["output_id"].eq("T-05") & ard["variable"].eq("SAE") & ard["stat_name"].eq("n")]
    cumulative = tracer.trace(pick.loc[pick["period"].eq("cumulative"), "ard_id"].iloc[0])
    assert cumulative.agrees is True
    interval = tracer.trace(pick.loc[pick["period"].eq("interval"), "ard_id"].iloc[0])
    assert not interval.traceable and "interval start" in interval.note
    result = CliRunner().invoke(main, ["diff", str(builds["start"] / "tlf" / "ard.csv"),
                                       str(builds["cut"] / "tlf" / "ard.csv")])
    assert result.exit_code == 1, result.output  # different, and compared (2 would be: cannot run)
