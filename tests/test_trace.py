"""Every number traceable to its subjects, and a package always equal to itself (issue 14).

Unit tests on tiny inline frames (the filter language, the ARD keys and ids, the definitions the
builders write), then tests at the user's level on one build of the bundled study: `sub trace`
for every count of the safety overview, the SOC/PT tables and the response table, `sub diff` of
the package with a copy of itself, `sub validate`'s ARD rules.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from submission.cli import main
from submission.tlf.ard import (
    ID_COLUMN,
    TRACE_COLUMNS,
    DuplicateArdKeys,
    ard_categorical,
    ard_hierarchical,
    ard_ids,
    ard_incidence,
    ard_to_frame,
    read_ard_csv,
    with_ids,
    write_ard_csv,
)
from submission.tlf.trace import Tracer, check_all
from submission.tlf.where import (
    Evaluator,
    FilterError,
    Source,
    all_of,
    eq,
    parse,
    worst,
)


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# --------------------------------------------------------------------------- tiny frames

def _adsl() -> pd.DataFrame:
    return pd.DataFrame({
        "USUBJID": ["S1", "S2", "S3", "S4", "S5"],
        "SAFFL": ["Y", "Y", "Y", "Y", "N"],
        "SEX": ["M", "F", "F", None, "M"],
        "ECOGBL": [0.0, 1.0, 1.0, np.nan, 2.0],
        "AGE": [45.0, 70.0, 18.0, 66.0, 50.0],
    })


def _adae() -> pd.DataFrame:
    return pd.DataFrame({
        "USUBJID": ["S1", "S1", "S2", "S3", "S3", "S5"],
        "AESEQ": [1, 2, 1, 1, 2, 1],
        "TRTEMFL": ["Y", "Y", "Y", "N", "Y", "Y"],
        "ADRFL": ["Y", "N", "Y", "Y", "Y", "Y"],
        "AEBODSYS": ["Blood", "Blood", "Skin", "Blood", None, "Skin"],
        "AEDECOD": ["Anaemia", "Neutropenia", "Rash", "Anaemia", "It's odd", "Rash"],
        "ASEV": ["MILD", "SEVERE", "MODERATE", "MILD", None, "MILD"],
    })


def _evaluator() -> Evaluator:
    return Evaluator({"ADSL": _adsl(), "ADAE": _adae()})


def _subjects(records: pd.DataFrame) -> list[str]:
    return sorted(set(records["USUBJID"]))


def test_equality_compares_whole_numbers_and_text_alike():
    ev = _evaluator()
    assert _subjects(ev.select("ADSL", "ECOGBL = 1")) == ["S2", "S3"]
    assert _subjects(ev.select("ADSL", "ECOGBL = '1'")) == ["S2", "S3"]
    assert _subjects(ev.select("ADSL", "ECOGBL is missing")) == ["S4"]
    assert _subjects(ev.select("ADSL", "SEX != 'M'")) == ["S2", "S3", "S4"]  # missing is != anything


def test_comparisons_lists_and_precedence():
    ev = _evaluator()
    assert _subjects(ev.select("ADSL", "AGE < 19 or AGE >= 70")) == ["S2", "S3"]
    assert _subjects(ev.select("ADSL", "SAFFL = 'Y' and (SEX = 'M' or SEX is missing)")) == ["S1", "S4"]
    assert _subjects(ev.select("ADSL", "SEX in ('F', missing)")) == ["S2", "S3", "S4"]
    assert _subjects(ev.select("ADSL", "not SEX in ('F')")) == ["S1", "S4", "S5"]


def test_quotes_in_text_literals_round_trip():
    assert eq("AEDECOD", "It's odd") == "AEDECOD = 'It''s odd'"
    assert len(_evaluator().select("ADAE", eq("AEDECOD", "It's odd"))) == 1


def test_subjects_of_another_dataset():
    ev = _evaluator()
    assert _subjects(ev.select("ADSL", "USUBJID in ADAE(TRTEMFL = 'Y' and AEBODSYS = 'Skin')")) == ["S2", "S5"]
    assert _subjects(ev.select("ADSL", "not USUBJID in ADAE(ADRFL = 'Y')")) == ["S4"]


def test_worst_counts_each_subject_at_its_worst_level():
    ev = _evaluator()
    order = ["MILD", "MODERATE", "SEVERE", None]
    severe = ev.select("ADAE", all_of("TRTEMFL = 'Y'", worst("ASEV", order, "SEVERE")))
    assert _subjects(severe) == ["S1"] and len(severe) == 2  # the subject's records in the row
    assert _subjects(ev.select("ADAE", all_of("TRTEMFL = 'Y'", worst("ASEV", order, "MILD")))) == ["S5"]
    assert _subjects(ev.select("ADAE", all_of("TRTEMFL = 'Y'", worst("ASEV", order, None)))) == ["S3"]


def test_tracer_counts_each_definition_on_tiny_frames():
    adae = pd.concat([_adae(), pd.DataFrame({  # a record without a subject and one of a subject not in ADSL
        "USUBJID": [None, "S9"], "AESEQ": [9, 1], "TRTEMFL": ["Y", "Y"], "ADRFL": ["Y", "Y"],
        "AEBODSYS": ["Skin", "Skin"], "AEDECOD": ["Rash", "Rash"], "ASEV": ["MILD", "MILD"]})], ignore_index=True)
    rows = [("a", "ADAE", "AEDECOD = 'Rash'", "SAFFL = 'Y'", "subjects", 1, "n"),
            ("b", "ADAE", "AEDECOD = 'Rash'", "SAFFL = 'Y'", "ratio", 0.25, "p"),
            ("c", "ADAE", "AEDECOD = 'Nothing'", None, "subjects", 0, "n"),
            ("d", "ADAE", "AEDECOD in ('Rash', 'Anaemia', 'Nothing')", None, "records", 4, "n"),
            ("e", "ADAE", "USUBJID in ADSL(SEX = 'F')", None, "records", 3, "n"),
            ("f", "ADSL", None, "SAFFL = 'Y'", "population", 4, "N"),
            ("g", "ADSL", None, "SAFFL = 'Y'", "values(AGE)", 49.75, "mean"),
            ("h", "ADSL", None, "SAFFL = 'Y'", "values(AGE)", 4, "N")]
    ard = pd.DataFrame(rows, columns=["ard_id", "source", "where", "population", "counts", "stat", "stat_name"])
    traces = {t.ard_id: t for t in Tracer(ard, {"ADSL": _adsl(), "ADAE": adae}).trace_all()}
    assert all(t.agrees for t in traces.values())
    assert traces["a"].subjects == ["S2"] and traces["c"].subjects == []
    assert traces["d"].subjects == ["S1", "S2", "S3", "S5"]  # no record without a subject, none outside ADSL
    assert traces["e"].subjects == ["S2", "S3"] and traces["f"].subjects == ["S1", "S2", "S3", "S4"]
    traces["a"].subjects.append("X")  # each row's list is its own
    assert traces["b"].subjects == ["S2"]


@pytest.mark.parametrize("text", ["SEX =", "SEX == 'M'", "(SEX = 'M'", "SEX = 'M' and", "worst(ASEV) = 'X'"])
def test_a_broken_filter_is_a_filter_error(text):
    with pytest.raises(FilterError):
        parse(text)


def test_unknown_variable_is_a_filter_error():
    with pytest.raises(FilterError, match="no variable NOPE"):
        _evaluator().select("ADSL", "NOPE = 1")


def test_builders_write_definitions_that_trace_to_their_numbers():
    adsl, adae = _adsl(), _adae()
    ard = ard_to_frame(
        ard_categorical(adsl, "SEX", output_id="T1", source=Source("ADSL")),
        ard_hierarchical(adae, adsl, by=None, output_id="T2", source=Source("ADAE")),
        ard_incidence(adae, adsl, flag="ADRFL", output_id="T3", source=Source("ADAE")),
    )
    assert set(TRACE_COLUMNS) <= set(ard.columns)
    uncoded = ard[ard["variable_level"].eq("Uncoded") & ard["stat_name"].eq("events")]
    assert uncoded["where"].iloc[0].endswith("(AEBODSYS is missing or AEBODSYS = 'Uncoded')")
    tracer = Tracer(with_ids(ard), {"ADSL": adsl, "ADAE": adae})
    summary = check_all(tracer)
    assert summary["differ"] == []
    counted = {t.row["stat_name"] for t in tracer.trace_all() if t.agrees}
    assert {"n", "N", "p", "events"} <= counted
    missing = ard[ard["variable"].eq("SEX") & ard["variable_level"].eq("Missing") & ard["stat_name"].eq("n")]
    assert missing["stat"].iloc[0] == 1 and missing["where"].iloc[0] == "SEX is missing"


def test_builders_without_a_source_keep_the_standard_columns():
    ard = ard_categorical(_adsl(), "SEX", output_id="T1")
    assert not set(TRACE_COLUMNS) & set(ard.columns)


# --------------------------------------------------------------------------- keys and ids

def _rows() -> pd.DataFrame:
    return ard_to_frame(ard_categorical(_adsl(), "SEX", output_id="T1"))


def test_ids_depend_on_the_key_only():
    ard = _rows()
    ids = ard_ids(ard)
    assert len(set(ids)) == len(ids) and all(i.startswith("T1.") for i in ids)
    assert ard_ids(ard.iloc[::-1]) == ids[::-1]  # not on the order
    changed = ard.copy()
    changed["stat"] = 99
    changed["group3"], changed["group3_level"] = None, None  # an empty extra grouping
    assert ard_ids(changed) == ids


def test_duplicate_keys_are_refused_naming_the_rows(tmp_path):
    ard = _rows()
    twice = pd.concat([ard, ard.iloc[[0]]], ignore_index=True)
    with pytest.raises(DuplicateArdKeys, match="2 rows share their key.*variable=SEX"):
        write_ard_csv(twice, tmp_path / "ard.csv")
    assert not (tmp_path / "ard.csv").exists()


def test_written_ard_has_its_ids_first(tmp_path):
    write_ard_csv(_rows(), tmp_path / "ard.csv")
    back = read_ard_csv(tmp_path / "ard.csv")
    assert list(back.columns)[0] == ID_COLUMN
    assert list(back[ID_COLUMN]) == ard_ids(back.drop(columns=[ID_COLUMN]))


# --------------------------------------------------------------------------- the bundled study

@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundled") / "out"
    result = run("build", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def ard(package) -> pd.DataFrame:
    return read_ard_csv(package / "tlf" / "ard.csv")


@pytest.fixture(scope="module")
def tracer(package) -> Tracer:
    return Tracer.of_package(package)


def test_every_row_has_a_unique_key_and_id(ard):
    from submission.tlf.ard import duplicate_keys

    assert duplicate_keys(ard).empty
    assert ard[ID_COLUMN].is_unique and ard[ID_COLUMN].notna().all()
    summary = ard[ard["output_id"].eq("T-13") & ard["variable"].eq("AEDECOD")]
    assert set(summary["group1"]) == {"SUBSET"} and {"AE", "ADR"} <= set(summary["group1_level"])


def test_a_second_build_gives_the_same_ids(package, ard, tmp_path):
    again = tmp_path / "again"
    assert run("build", "--out", str(again)).exit_code == 0
    assert list(read_ard_csv(again / "tlf" / "ard.csv")[ID_COLUMN]) == list(ard[ID_COLUMN])


def _count_rows(ard: pd.DataFrame, outputs) -> pd.DataFrame:
    mask = ard["output_id"].map(lambda o: any(o == p or o.startswith(p + "-") for p in outputs))
    return ard[mask & ard["stat_name"].isin(["n", "N", "events"]) & ard["counts"].notna()]


def test_trace_reproduces_every_count_of_overview_soc_pt_and_response_tables(ard, tracer):
    rows = _count_rows(ard, ["T-05", "T-06", "T-EFF-01"])
    assert len(rows) > 1000 and {"T-05", "T-06-AE", "T-06-USADR", "T-EFF-01"} <= set(rows["output_id"])
    for row in rows.to_dict("records"):
        t = tracer.trace(row[ID_COLUMN])
        assert t.kind in ("subjects", "records", "population"), row
        assert t.count == row["stat"], (row[ID_COLUMN], t.count, row["stat"])


def test_every_traceable_row_of_the_report_agrees_with_adam(tracer):
    summary = check_all(tracer)
    assert [t.ard_id for t in summary["differ"]] == []
    assert summary["checked"] > 0.9 * summary["rows"]


def _id(ard, output_id, stat, **where):
    rows = ard[ard["output_id"].eq(output_id) & ard["stat_name"].eq(stat)]
    for k, v in where.items():
        rows = rows[rows[k].isna()] if v is None else rows[rows[k].astype(str).eq(str(v))]
    assert len(rows) == 1, (output_id, stat, where, len(rows))
    return rows.iloc[0]


@pytest.mark.parametrize("output_id, stat, where", [
    ("T-05", "n", {"variable": "ADR"}),
    ("T-05", "events", {"variable": "SAE"}),
    ("T-06-ADR", "n", {"variable": "AEDECOD", "variable_level": "Neutropenia"}),
    ("T-06-SAE", "events", {"variable": "AEBODSYS", "variable_level": "Infections and infestations"}),
    ("T-DEM-01", "n", {"variable": "SEX", "variable_level": "F", "group1_level": "DUE"}),
    ("T-EFF-01", "n", {"variable": "BOR", "variable_level": "VGPR"}),
    ("T-EFF-01", "n", {"variable": "RSP", "variable_level": "Y"}),
    ("T-07-SEV", "n", {"variable": "ASEV", "variable_level": "SEVERE", "group2_level": None}),
])
def test_sub_trace_prints_that_many_subjects_or_records(package, ard, output_id, stat, where):
    row = _id(ard, output_id, stat, **where)
    result = run("trace", str(package), row[ID_COLUMN], "--records", "--json")
    assert result.exit_code == 0, result.output
    (trace,) = json.loads(result.output)
    counted = trace["records"] if stat == "events" else trace["subjects"]
    assert len(counted) == row["stat"] and trace["agrees"] is True
    if stat == "events":
        assert {"USUBJID", "AESEQ", "AEDECOD", "ASTDT", "TRTEMFL"} <= set(trace["records"][0])
    readable = run("trace", str(package), row[ID_COLUMN])
    assert "equals the ARD value" in readable.output and row[ID_COLUMN] in readable.output


def test_sub_trace_of_a_model_estimate_says_it_is_not_traceable(package, ard):
    row = ard[ard["output_id"].eq("T-08-MV") & ard["counts"].isna()].iloc[0]
    result = run("trace", str(package), row[ID_COLUMN])
    assert result.exit_code == 0 and "not traceable" in result.output


def test_sub_trace_unknown_id_exits_1(package):
    result = CliRunner().invoke(main, ["trace", str(package), "T-05.nonexistent"])
    assert result.exit_code == 1 and "no ARD row has this id" in result.output


def test_sub_trace_subject_lists_the_rows_that_count_it(package, ard, tracer):
    adr = _id(ard, "T-05", "n", variable="ADR")
    subject = tracer.trace(adr[ID_COLUMN]).subjects[0]
    result = run("trace", str(package), "--subject", subject, "--json")
    assert result.exit_code == 0
    found = {r["ard_id"] for r in json.loads(result.output)["rows"]}
    assert adr[ID_COLUMN] in found
    for ard_id in list(found)[:40]:
        assert subject in tracer.trace(ard_id).subjects
    assert "counted in" in run("trace", str(package), "--subject", subject).output


def test_sub_trace_check_walks_every_row(package):
    result = run("trace", str(package), "--check")
    assert result.exit_code == 0 and ", 0 differ" in result.output


# --------------------------------------------------------------------------- diff and validate

def test_sub_diff_of_the_package_and_a_copy_is_equal(package, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(package, copy)
    for other in (copy, package):
        result = run("diff", str(package), str(other), "--json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert report["equal"] is True
        assert {c["what"] for c in report["summary"]} >= {"dataset", "define", "ard"}
        assert all(c["equal"] for c in report["summary"])
    assert run("diff", str(package), str(copy)).output.rstrip().splitlines()[-1].startswith("equal:")


def _ard_findings(folder: Path) -> dict[str, int]:
    from submission.qc.rules import ard_rules
    from submission.qc.validate import read_package

    return {f.rule: f.count for f in ard_rules(read_package(folder))}


def test_validate_ard_rules_pass_on_the_build(package):
    assert _ard_findings(package) == {}


def test_validate_finds_repeated_keys_wrong_ids_and_numbers_adam_does_not_give(package, tmp_path):
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("report", "review", "sdtm"))
    path = copy / "tlf" / "ard.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    n_row = next(i for i, line in enumerate(lines) if ",T-05,SAFFL," in line and ",incidence,n,n," in line)
    cells = lines[n_row].rstrip("\n").split(",")
    cells[header.index("stat")] = str(int(cells[header.index("stat")]) + 1)  # a count ADaM does not give
    lines[n_row] = ",".join(cells) + "\n"
    lines.append(lines[2])  # a repeated row: same key, same id
    lines[3] = "X" + lines[3]  # an id that is not its key's
    path.write_text("".join(lines), encoding="utf-8")
    found = _ard_findings(copy)
    assert found["SUB-ARD-001"] == 2 and found["SUB-ARD-002"] >= 3 and found["SUB-ARD-003"] >= 1


# --------------------------------------------------------------------------- the review page

@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    import os

    from .browser import Chromium, chromium_path

    if chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed (.ci/run installs it: apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    chrome = Chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield chrome
    chrome.close()


def test_review_page_is_written_with_its_data_files(package):
    page = (package / "review" / "index.html").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page  # nothing fetched from the internet
    assert 'data-i="' in page and "T-06-ADR" in page
    data = package / "review" / "data"
    assert (data / "subjects.js").is_file() and (data / "out-T-05.js").is_file() and (data / "ADAE-0.js").is_file()


def test_review_page_opens_and_a_click_lists_the_subjects_with_an_adr(package, ard, browser):
    page = browser.page((package / "review" / "index.html").as_uri())
    assert page.evaluate("document.querySelectorAll('section.out').length") == ard["output_id"].nunique()
    adr = _id(ard, "T-05", "n", variable="ADR")
    page.click(f'a.num[data-i="{adr[ID_COLUMN]}"]')
    shown = int(page.wait_for("(document.getElementById('trace-subjects')||{}).textContent"))
    listed = page.evaluate("document.querySelectorAll('#subject-list li').length")
    assert shown == listed == adr["stat"]
    assert int(page.evaluate("document.getElementById('trace-count').textContent")) == adr["stat"]
    assert page.wait_for("document.querySelectorAll('#records tr').length") > 1  # the records, loaded on demand

    events = _id(ard, "T-06-ADR", "events", variable="AEDECOD", variable_level="Neutropenia")
    page.click(f'a.num[data-i="{events[ID_COLUMN]}"]')
    page.wait_for(f"document.getElementById('trace-head').textContent=={json.dumps(events[ID_COLUMN])}")
    assert int(page.evaluate("document.getElementById('trace-count').textContent")) == events["stat"]
    assert page.errors == []


def test_review_search_finds_a_pt_and_a_subject(package, ard, tracer, browser):
    page = browser.page((package / "review" / "index.html").as_uri())
    page.type_into("#q", "Neutropenia")
    page.wait_for("document.querySelectorAll('tr.hit').length")
    hidden = page.evaluate("document.querySelectorAll('section.out.hidden').length")
    assert 0 < hidden < ard["output_id"].nunique()
    subject = tracer.trace(_id(ard, "T-05", "n", variable="ADR")[ID_COLUMN]).subjects[0]
    page.evaluate("document.getElementById('q').value=''")
    page.type_into("#q", subject)
    text = page.wait_for("(document.getElementById('subject-hits')||{}).textContent", timeout=60)
    assert int(text.split()[0]) == len(tracer.rows_of_subject(subject))
    assert page.errors == []


def test_sub_review_rewrites_the_same_page(package, tmp_path):
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    shutil.rmtree(copy / "review")
    result = run("review", str(copy))
    assert result.exit_code == 0, result.output
    built = {p.relative_to(package / "review"): p.read_bytes() for p in (package / "review").rglob("*") if p.is_file()}
    again = {p.relative_to(copy / "review"): p.read_bytes() for p in (copy / "review").rglob("*") if p.is_file()}
    assert built == again
