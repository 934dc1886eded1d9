"""The periodic safety report of `sub build --cutoff` (submission/tlf/periodic.py): the schedule's
interval start, the periodic title, wording and file name, interval and cumulative columns, and
interval figures recomputed from two builds (at the cut-off and at the interval start) by the
documented rule: the records a table counts at the cut-off and did not count at the interval start,
among the cut-off's safety subjects; subjects who left the safety set in the interval are listed."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from submission.cli import main
from submission.study import load_settings
from submission.tlf.ard import read_ard_csv
from submission.tlf.periodic import (
    default_interval_start,
    interval_ard,
    new_records,
    schedule,
)
from submission.xpt import read_xpt

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


def test_interval_rows_take_the_new_records_counts_zero_elsewhere_and_the_cumulative_N():
    cumulative = _rows((None, "AEBODSYS", "A", "n", 5), (None, "AEBODSYS", "A", "events", 9),
                       (None, "AEBODSYS", "A", "N", 30), ("A", "AEDECOD", "a1", "n", 2), ("A", "AEDECOD", "a2", "n", 3),
                       (None, "AEBODSYS", "A", "p", 5 / 30))
    new = _rows((None, "AEBODSYS", "A", "n", 1), (None, "AEBODSYS", "A", "events", 2), (None, "AEBODSYS", "A", "N", 30),
                ("A", "AEDECOD", "a1", "n", 1))
    out = interval_ard(cumulative, new)
    got = {(r["variable_level"], r["stat_name"]): r["stat"] for r in out.to_dict("records")}
    assert got == {("A", "n"): 1, ("A", "events"): 2, ("A", "N"): 30, ("a1", "n"): 1, ("a2", "n"): 0}
    assert set(out["period"]) == {"interval"} and set(out["counts"]) == {"none"}
    nothing_new = interval_ard(cumulative, None).set_index(["variable_level", "stat_name"])["stat"].to_dict()
    assert nothing_new[("A", "n")] == 0 and nothing_new[("A", "N")] == 30


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
    tables = (*PERIODIC_TABLES, "T-06-UAE", "T-06-UADR", "T-06-USAE")
    rows = ard[ard["period"].eq(period) & ard["output_id"].isin(tables) & ard["stat_name"].isin(["n", "N", "events"])]
    return {tuple(None if pd.isna(v) else v for v in r): s for r, s in zip(rows[KEY].itertuples(index=False), rows["stat"])}


SUBSET_FLAGS = {"AE": (), "ADR": ("ADRFL",), "SAE": ("AESER",), "SADR": ("ADRFL", "AESER"), "UAE": ("UNEXPFL",),
                "UADR": ("UNEXPFL", "ADRFL"), "USAE": ("UNEXPFL", "AESER"), "USADR": ("UNEXPFL", "ADRFL", "AESER"),
                "AEDISC": ("AEDISCFL",), "FATAL": ("FATALFL",)}


def _counted(adam: Path, flags) -> pd.DataFrame:
    """The ADAE records a table of the subset counts: treatment-emergent, of safety subjects, every flag Y."""
    adsl, adae = read_xpt(adam / "adsl.xpt").frame, read_xpt(adam / "adae.xpt").frame
    mask = adae["USUBJID"].isin(adsl.loc[adsl["SAFFL"].eq("Y"), "USUBJID"]) & adae["TRTEMFL"].eq("Y")
    for flag in flags:
        mask &= adae[flag].eq("Y")
    return adae[mask]


def _record_keys(frame: pd.DataFrame) -> list[tuple]:
    seen: dict[tuple, int] = {}
    keys = []
    for r in frame[["USUBJID", "AESTDTC", "AETERM", "AEDECOD"]].fillna("").itertuples(index=False):
        seen[tuple(r)] = seen.get(tuple(r), 0) + 1
        keys.append((*r, seen[tuple(r)]))
    return keys


def _new(now: Path, start: Path, flags) -> pd.DataFrame:
    before = set(_record_keys(_counted(start, flags)))
    counted = _counted(now, flags)
    return counted[[k not in before for k in _record_keys(counted)]]


def expected_interval(now: Path, start: Path) -> dict:
    """The interval figures recomputed from the ADaM of the two builds by the documented rule."""
    adsl = read_xpt(now / "adsl.xpt").frame
    N = int(adsl["SAFFL"].eq("Y").sum())
    out = {}
    for key, flags in SUBSET_FLAGS.items():
        new = _new(now, start, flags)
        out[("T-05", None, None, key, "Y")] = (new["USUBJID"].nunique(), N, len(new))
        if key in ("AEDISC", "FATAL"):
            continue
        table = f"T-06-{key}"
        out[(table, None, None, "..any..", None)] = (new["USUBJID"].nunique(), N, len(new))
        for soc, rows in new.groupby("AEBODSYS"):
            out[(table, None, None, "AEBODSYS", soc)] = (rows["USUBJID"].nunique(), N, len(rows))
            for pt, pts in rows.groupby("AEDECOD"):
                out[(table, None, soc, "AEDECOD", pt)] = (pts["USUBJID"].nunique(), N, len(pts))
    return out


def test_interval_figures_are_the_new_records_recomputed_from_two_builds(builds):
    now = _ard(builds["cut"])
    interval = _values(now, "interval")
    cumulative = _values(now, "cumulative")
    expected = expected_interval(builds["cut"] / "adam", builds["start"] / "adam")
    assert set(interval) == set(cumulative)  # one interval row per printed cell, none other
    for (output, g1, g2, variable, level, stat), value in interval.items():
        n, N, events = expected.get((output, g1, g2, variable, level), (0, None, 0))
        want = {"n": n, "events": events, "N": cumulative[(output, g1, g2, variable, level, "N")]}[stat]
        assert value == want, (output, g2, variable, level, stat)
        assert 0 <= value <= cumulative[(output, g1, g2, variable, level, stat)]
    for key, (n, N, events) in expected.items():
        if n:
            assert interval[(*key, "n")] == n, key  # every new record is in a printed cell
    ae_n = ("T-05", None, None, "AE", "Y", "n")
    assert 0 < interval[ae_n] < cumulative[ae_n]
    # the new serious unexpected ADRs listed are the new records of T-06-USADR
    listed = now[now["output_id"].eq("T-06-USADR-NEW") & now["stat_name"].eq("events")]["stat"]
    assert int(listed.iloc[0]) == len(_new(builds["cut"] / "adam", builds["start"] / "adam", SUBSET_FLAGS["USADR"]))


def test_every_row_of_a_periodic_ard_says_its_period_and_ids_stay_unique(builds):
    ard = _ard(builds["cut"])
    assert set(ard["period"]) == {"cumulative", "interval"}
    assert ard["ard_id"].is_unique
    assert set(ard.loc[ard["period"].eq("interval"), "output_id"]) == {*PERIODIC_TABLES, "T-06-UAE", "T-06-UADR",
                                                                          "T-06-USAE", "T-06-USADR-NEW", "T-05-SAFCHG"}
    assert "T-LABEL-01" not in set(ard["output_id"])


def test_periodic_report_is_titled_and_worded_as_one(builds):
    from docx import Document

    assert not (builds["cut"] / "report" / "re-examination-report.docx").exists()
    doc = Document(builds["cut"] / "report" / "periodic-safety-report.docx")
    assert doc.core_properties.title.endswith("정기적인 안전성 정보 보고서")
    cover = {r.cells[0].text: r.cells[-1].text for r in doc.tables[0].rows}
    assert cover["보고 기간"] == f"2014-07-01 ~ {CUTOFF}" and cover["자료 마감일"] == CUTOFF
    assert cover["누적 기간"] == f"{SETTINGS.dates.pms_start.isoformat()} ~ {CUTOFF}"
    assert "조사 기간" not in cover
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "정기적인 안전성 정보 보고서" in text and "1.2 보고 기간" in text
    assert "자료 마감일까지 이루어진 검토만 반영하였으므로" in text  # the review may be incomplete at a cut-off
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


def test_review_page_of_a_periodic_build_has_the_periodic_title(builds):
    page = (builds["cut"] / "review" / "index.html").read_text(encoding="utf-8")
    title = page[page.index("<title>") + 7:page.index("</title>")]
    assert "정기적인 안전성 정보 보고서: 검토용 표" in title and "재심사 결과보고서" not in title
    manifest = (builds["cut"] / "manifest.json").read_text(encoding="utf-8")
    assert '"report/periodic-safety-report.docx"' in manifest and "re-examination-report" not in manifest


# ---------------------------------------------------------------------- the bundled study

@pytest.fixture(scope="module")
def bundled_2011(tmp_path_factory):
    """The bundled study at 2011-12-28 (interval from 2011-06-29): subject 258-021 is in the safety set
    at the interval start and excluded by a monitoring review made during the interval."""
    out = tmp_path_factory.mktemp("periodic-bundled") / "out"
    result = CliRunner().invoke(main, ["build", "--out", str(out), "--cutoff", "2011-12-28"])
    assert result.exit_code == 0, result.output
    return out


def test_a_subject_excluded_during_the_interval_is_listed_and_no_figure_is_negative(bundled_2011):
    from docx import Document

    ard = _ard(bundled_2011)
    interval = ard[ard["period"].eq("interval")]
    assert (pd.to_numeric(interval["stat"], errors="coerce").dropna() >= 0).all()
    change = interval[interval["output_id"].eq("T-05-SAFCHG")]
    sets = change[change["group1_level"].isna()].set_index("variable_level")["stat"].astype(int).to_dict()
    assert sets["REMOVED"] == 1 and sets["START"] - sets["REMOVED"] + sets["ADDED"] == sets["CUTOFF"]
    subject = "RVL-MM-DUE-KR-258-021"
    assert set(change["group1_level"].dropna()) == {subject}
    adsl = read_xpt(bundled_2011 / "adam" / "adsl.xpt").frame
    assert sets["CUTOFF"] == int(adsl["SAFFL"].eq("Y").sum())
    assert adsl.loc[adsl["USUBJID"].eq(subject), "SAFFL"].iloc[0] == "N"
    # the printed table and the footnote say what the ARD holds
    doc = Document(bundled_2011 / "report" / "periodic-safety-report.docx")
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "대상자 번호")
    assert [r.cells[0].text for r in table.rows[1:]] == ["258-021"]
    events = change[change["group1_level"].eq(subject) & change["variable"].eq("AE")]["stat"].astype(int).iloc[0]
    assert f"유해사례 {events}" in table.rows[1].cells[2].text
    text = "\n".join(p.text for t in doc.tables for r in t.rows for p in r.cells[0].paragraphs)
    text += "\n".join(p.text for p in doc.paragraphs)
    assert "보고 기간 중 제외된 대상자 1명의 사례는 보고 기간 열과 누적 열에 모두 집계하지 않았다" in text
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    assert not [c for c in cells if re.search(r"(^|\s)-\d+ \[", c)]  # no negative "n [events]" cell


def test_an_interval_start_before_any_complete_enrolment_counts_from_the_start():
    """2010-03-03: the first subject is enrolled but the baseline is dated later, so nobody is known
    at the interval start: interval = cumulative, not an error naming --cutoff."""
    from submission.tlf.periodic import adam_at

    raw = SPECS.parent / "examples" / "revlimid-due" / "raw"
    assert adam_at(raw, SPECS, dt.date(2010, 3, 3)) is None
