"""The report's base builders (tables_base) and the report assembly (report, `sub report`).

Unit tests run on tiny inline ADaM frames. The report tests run the real pipeline on a small
synthetic study (synth -> SDTM -> ADaM XPT -> report) and render the Word file once with
LibreOffice (module-scoped fixtures); they skip, saying why, when a stage or tool is missing.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from submission.errors import SubError
from submission.study import load_settings
from submission.tlf import fmt
from submission.tlf.ard import ard_value, read_ard_csv
from submission.tlf.table import REGISTRY, FigureResult, TableResult
from submission.tlf.tables_base import (
    TOTAL_KO,
    base_results,
    demographics,
    disposition,
    efficacy,
    exposure,
    listings,
)

from .conftest import SHARED, SPECS, needs_reference

SETTINGS = load_settings(SPECS)
CREATED = dt.datetime(2016, 12, 7)
PILOT_ADSL = SHARED / "reference" / "cdisc-pilot" / "adam" / "adsl.xpt"


# --------------------------------------------------------------------------- tiny inline frames

def _adsl() -> pd.DataFrame:
    rows = [
        # id, route, SAFFL, SAFEXRS, EFFFL, EFFEXRS, AGE, SEX, AGEGR1
        ("01", "DUE", "Y", None, "Y", None, 50, "M", "<65"),
        ("02", "DUE", "Y", None, "Y", None, 61, "F", "<65"),
        ("03", "DUE", "Y", None, "N", "NO EVALUABLE RESPONSE", 70, "F", ">=65"),
        ("04", "DUE", "N", "NO DOSE", "N", "NOT IN SAFETY SET", 45, "M", "<65"),
        ("05", "PAP", "Y", None, "Y", None, 80, "M", ">=65"),
        ("06", "PAP", "Y", None, "N", "OFF-LABEL USE", 66, "F", ">=65"),
        ("07", "PAP", "N", "NO SAFETY FOLLOW-UP", "N", "NOT IN SAFETY SET", 59, "F", "<65"),
        ("08", "DUE", "Y", None, "Y", None, 73, "M", ">=65"),
    ]
    frame = pd.DataFrame(rows, columns=["USUBJID", "RECRTRT", "SAFFL", "SAFEXRS", "EFFFL", "EFFEXRS", "AGE", "SEX",
                                        "AGEGR1"])
    frame["ENRLFL"] = "Y"
    frame["AGE"] = frame["AGE"].astype(float)
    frame["SUBJID"] = frame["USUBJID"]
    frame["ECOGBL"] = [0.0, 1.0, 1.0, 2.0, 0.0, None, 1.0, 0.0]  # integer codes as XPT gives them back
    return frame


def _adrs(adsl: pd.DataFrame, bor: dict[str, str]) -> pd.DataFrame:
    order = SETTINGS.conventions.response
    rows = []
    for sid, eff in zip(adsl["USUBJID"], adsl["EFFFL"]):
        if sid not in bor:
            continue
        best = bor[sid]
        rows.append((sid, "BOR", best, eff))
        for code, members in (("RSP", order.responders), ("RSPCR", order.cr_or_better),
                              ("RSPVGPR", order.vgpr_or_better), ("RSPCBR", order.clinical_benefit)):
            rows.append((sid, code, "Y" if best in members else "N", eff))
    return pd.DataFrame(rows, columns=["USUBJID", "PARAMCD", "AVALC", "EFFFL"])


def _adae() -> pd.DataFrame:
    rows = [
        # id, seq, PT, TEAE, serious, ADR, unexpected, outcome
        ("01", 1, "Neutropenia", "Y", "Y", "Y", "N", "RECOVERED/RESOLVED"),
        ("01", 2, "Pneumonia", "Y", "Y", "Y", "Y", "RECOVERING/RESOLVING"),
        ("01", 3, "Fatigue", "Y", "N", "Y", "N", "RECOVERED/RESOLVED"),
        ("02", 1, "Pneumonia", "Y", "Y", "N", "Y", "FATAL"),
        ("03", 1, "Sepsis", None, "Y", "Y", "Y", "RECOVERED/RESOLVED"),  # not treatment-emergent
        ("04", 1, "Rash", "Y", "Y", "Y", "Y", "RECOVERED/RESOLVED"),     # not in the safety set
        ("05", 1, "Deep vein thrombosis", "Y", "Y", "Y", "N", "NOT RECOVERED/NOT RESOLVED"),
    ]
    frame = pd.DataFrame(rows, columns=["USUBJID", "AESEQ", "AEDECOD", "TRTEMFL", "AESER", "ADRFL", "UNEXPFL", "AEOUT"])
    frame["AEREL"] = np.where(frame["ADRFL"].eq("Y"), "POSSIBLE", "UNLIKELY")
    frame["AESHOSP"] = frame["AESER"]
    frame["AESDTH"] = np.where(frame["AEOUT"].eq("FATAL"), "Y", "N")
    frame["FATALFL"] = frame["AESDTH"]
    frame["AEACN"] = "DOSE NOT CHANGED"
    frame["AESTDTC"] = ["2014-03-02", "2014-04", "2014-05-01", "2014-06-01", "2014-01-01", "2014-01-05", "2015-02-03"]
    frame["ASTDT"] = pd.to_datetime(["2014-03-02", "2014-04-01", "2014-05-01", "2014-06-01", "2014-01-01",
                                     "2014-01-05", "2015-02-03"])
    frame["AEENDTC"] = [None, "2014-05-01", None, "2014-06-20", None, None, None]
    frame["AEENRTPT"] = [None, None, "ONGOING", None, None, None, "ONGOING"]
    return frame


def _n(ard, variable, level, group=None, stat="n"):
    return ard_value(ard, stat, variable=variable, variable_level=level, group1_level=group)


# --------------------------------------------------------------------------- disposition

def test_disposition_counts_equal_direct_counts():
    adsl = _adsl()
    table, figure = disposition(adsl, settings=SETTINGS)
    ard = table.ard
    for route, part in [("DUE", adsl[adsl.RECRTRT.eq("DUE")]), ("PAP", adsl[adsl.RECRTRT.eq("PAP")]), (TOTAL_KO, adsl)]:
        safety = part[part.SAFFL.eq("Y")]
        assert _n(ard, "ENRLFL", "Y", route) == len(part)
        assert _n(ard, "SAFFL", "Y", route) == len(safety)
        assert _n(ard, "SAFFL", "Y", route, "N") == len(part)
        assert _n(ard, "SAFFL", "N", route) == int(part.SAFFL.eq("N").sum())
        for reason in ("NO DOSE", "NO SAFETY FOLLOW-UP"):
            assert _n(ard, "SAFEXRS", reason, route) == int(part.SAFEXRS.eq(reason).sum())
        assert _n(ard, "EFFFL", "Y", route) == int(safety.EFFFL.eq("Y").sum())
        assert _n(ard, "EFFFL", "Y", route, "N") == len(safety)  # efficacy percentages are of the safety set
        for reason in ("NO EVALUABLE RESPONSE", "OFF-LABEL USE"):
            assert _n(ard, "EFFEXRS", reason, route) == int(safety.EFFEXRS.eq(reason).sum())
    # "NOT IN SAFETY SET" is not an efficacy exclusion of the safety set
    assert not ard["variable_level"].eq("NOT IN SAFETY SET").any()
    assert list(table.display.columns) == ["구분", "사용성적조사", "환자접근프로그램(PAP)", "전체"]
    assert table.display.iloc[0].tolist() == ["등록 대상자", "5", "3", "8"]
    assert table.display.iloc[-1, 3] == "4 (66.7%)"  # 4 of the 6 safety subjects
    assert isinstance(figure, FigureResult) and figure.png.startswith(b"\x89PNG")
    assert set(figure.ard["output_id"]) == {figure.output_id}


# --------------------------------------------------------------------------- demographics

def test_demographics_continuous_statistics_equal_numpy():
    adsl = _adsl()
    table = demographics(adsl, pop="SAFFL", settings=SETTINGS)
    ages = adsl.loc[adsl.SAFFL.eq("Y"), "AGE"].to_numpy()
    ard = table.ard
    assert _n(ard, "AGE", None, stat="N") == ages.size
    assert _n(ard, "AGE", None, stat="mean") == pytest.approx(ages.mean(), rel=1e-12)
    assert _n(ard, "AGE", None, stat="sd") == pytest.approx(ages.std(ddof=1), rel=1e-12)
    assert _n(ard, "AGE", None, stat="median") == pytest.approx(float(np.median(ages)))
    assert (_n(ard, "AGE", None, stat="min"), _n(ard, "AGE", None, stat="max")) == (ages.min(), ages.max())
    rows = dict(zip(table.display.iloc[:, 0], table.display.iloc[:, 1]))
    assert rows["평균 (SD)"] == fmt.fmt_mean_sd(ages.mean(), ages.std(ddof=1), 1, 2)
    assert rows["최소, 최대"] == f"{int(ages.min())}, {int(ages.max())}"


def test_demographics_categories_count_every_subject_and_order_codes():
    adsl = _adsl()
    table = demographics(adsl, pop="SAFFL", settings=SETTINGS)
    ard = table.ard
    safety = adsl[adsl.SAFFL.eq("Y")]
    assert _n(ard, "SEX", "M") == int(safety.SEX.eq("M").sum())
    assert _n(ard, "SEX", "F") == int(safety.SEX.eq("F").sum())
    # ECOG read back as floats is counted by its integer code; a subject without it is "Missing"
    assert _n(ard, "ECOGBL", 1) == 2 and _n(ard, "ECOGBL", 0) == 3 and _n(ard, "ECOGBL", "Missing") == 1
    levels = ard.loc[ard["variable"].eq("AGEGR1") & ard["stat_name"].eq("n"), "variable_level"].tolist()
    assert levels == ["<65", ">=65"]  # the settings' group order
    assert "≥65" in table.display.iloc[:, 0].tolist()


def test_demographics_by_group_skips_variables_the_frame_lacks():
    adsl = _adsl().rename(columns={"RECRTRT": "TRT01A"})[["USUBJID", "SAFFL", "TRT01A", "AGE", "SEX"]]
    table = demographics(adsl, by="TRT01A", pop="SAFFL", settings=None)
    assert set(table.ard["variable"]) == {"..N..", "AGE", "SEX"}
    assert [c.split("\n")[0] for c in table.display.columns] == ["구분", "DUE", "PAP", "전체"]
    assert table.display.columns[1].endswith("(N=4)")


@needs_reference(PILOT_ADSL)
def test_demographics_on_the_cdisc_pilot_adsl_by_treatment():
    from submission.xpt import read_xpt

    adsl = read_xpt(PILOT_ADSL).frame
    table = REGISTRY["demographics"]({"ADSL": adsl}, {"by": "TRT01A", "settings": SETTINGS})
    safety = adsl[adsl["SAFFL"].eq("Y")]
    arms = [c.split("\n")[0] for c in table.display.columns[1:]]
    assert arms == ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose", "전체"]  # TRT01AN order
    for arm in arms[:-1]:
        assert _n(table.ard, "..N..", None, arm, "N") == int(safety["TRT01A"].eq(arm).sum())
    assert "AGE" in set(table.ard["variable"]) and "CRCLBL" not in set(table.ard["variable"])
    assert _uncovered(table) == []


# --------------------------------------------------------------------------- exposure

def test_exposure_counts_dexamethasone_users_of_the_safety_set():
    adsl = _adsl()
    adsl["TRTDURD"] = [10.0, 20, 30, None, 400, 50, None, 60]
    adsl["DOSREDFL"] = ["Y", "N", "N", "N", "Y", "N", "N", "N"]
    adex = pd.DataFrame({"USUBJID": ["01", "01", "02", "04", "05"],
                         "PARCAT1": ["REVLIMID", "DEXAMETHASONE", "DEXAMETHASONE", "DEXAMETHASONE", "REVLIMID"],
                         "PARAMCD": ["RVLDUR", "DEXCUMD", "DEXCUMD", "DEXCUMD", "RVLDUR"],
                         "AVAL": [10.0, 480.0, 160.0, 40.0, 400.0]})
    table = exposure(adsl, adex, settings=SETTINGS)
    ard = table.ard
    assert _n(ard, "DEXUSE", "Y") == 2  # subject 04 is not in the safety set
    assert _n(ard, "DEXUSE", "Y", stat="N") == 6
    assert _n(ard, "DEXCUMD", None, stat="mean") == pytest.approx(320.0)
    assert _n(ard, "DOSREDFL", "Y") == 2
    assert _n(ard, "TRTDURD", None, stat="median") == pytest.approx(40.0)


# --------------------------------------------------------------------------- efficacy

def test_response_rates_and_exact_intervals_equal_scipy():
    adsl = _adsl()
    bor = {"01": "CR", "02": "PR", "03": "NE", "05": "SD", "06": "VGPR", "08": "VGPR"}
    results = efficacy(adsl, _adrs(adsl, bor), settings=SETTINGS, factors=["SEX"])
    table = next(r for r in results if r.output_id == "T-EFF-01")
    efficacy_set = [s for s in adsl.loc[adsl.EFFFL.eq("Y"), "USUBJID"]]
    N = len(efficacy_set)
    for code, members in (("RSP", {"sCR", "CR", "VGPR", "PR"}), ("RSPCR", {"sCR", "CR"}),
                          ("RSPVGPR", {"sCR", "CR", "VGPR"}), ("RSPCBR", {"sCR", "CR", "VGPR", "PR", "MR"})):
        n = sum(bor[s] in members for s in efficacy_set)
        ci = sps.binomtest(n, N).proportion_ci(confidence_level=0.95, method="exact")
        assert (_n(table.ard, code, "Y"), _n(table.ard, code, "Y", stat="N")) == (n, N)
        assert _n(table.ard, code, "Y", stat="conf.low") == pytest.approx(ci.low, abs=1e-12)
        assert _n(table.ard, code, "Y", stat="conf.high") == pytest.approx(ci.high, abs=1e-12)
    # ORR row: 3 of 4 (01 CR, 02 PR, 08 VGPR; 05 SD), exact CI in percent
    ci = sps.binomtest(3, 4).proportion_ci(method="exact")
    orr = table.display[table.display.iloc[:, 0].str.startswith("전체 반응률")].iloc[0]
    assert orr.iloc[1] == "3 (75.0%)" and orr.iloc[2] == fmt.fmt_ci_pct(ci.low, ci.high, 1)
    # best response distribution in the settings' IMWG order, every category shown
    levels = table.ard.loc[table.ard["variable"].eq("BOR") & table.ard["stat_name"].eq("n"), "variable_level"]
    assert levels.tolist() == list(SETTINGS.conventions.response.order)
    assert any("미확정" in note for note in table.footnotes)
    figure = next(r for r in results if r.output_id == "F-EFF-01")
    assert figure.png.startswith(b"\x89PNG")


def test_response_by_factor_counts_and_test_name():
    adsl = _adsl()
    bor = {"01": "CR", "02": "PR", "03": "NE", "05": "SD", "06": "VGPR", "08": "VGPR"}
    results = efficacy(adsl, _adrs(adsl, bor), settings=SETTINGS, factors=["SEX"])
    table = next(r for r in results if r.output_id == "T-EFF-02")
    ard = table.ard
    men = ard[ard["group1"].eq("SEX") & ard["group1_level"].eq("M")]
    assert dict(zip(men["stat_name"], men["stat"]))["n"] == 2  # 01 CR, 08 VGPR; 05 SD
    assert dict(zip(men["stat_name"], men["stat"]))["N"] == 3
    assert table.display.iloc[0, 4] == "Fisher의 정확 검정"  # expected counts below 5
    p = ard.loc[ard["stat_name"].eq("p.value"), "stat"].iloc[0]
    assert p == pytest.approx(sps.fisher_exact([[2, 1], [1, 0]]).pvalue)


# --------------------------------------------------------------------------- listings

def test_listings_have_one_row_per_event():
    adsl = _adsl()
    adsl["DTHFL"] = [None, "Y", None, None, None, "Y", None, None]
    adsl["DTHDT"] = pd.to_datetime([None, "2014-06-20", None, None, None, "2015-01-01", None, None])
    adae = _adae()
    sae, deaths, usadr = listings(adsl, adae, settings=SETTINGS)
    safety = set(adsl.loc[adsl.SAFFL.eq("Y"), "USUBJID"])
    serious = adae[adae.USUBJID.isin(safety) & adae.TRTEMFL.eq("Y") & adae.AESER.eq("Y")]
    assert len(sae.display) == len(serious) == 4
    assert ard_value(sae.ard, "events", variable="..events..") == len(serious)
    assert sae.kind == "listing" and sae.landscape
    assert sae.display["대상자 번호"].tolist() == ["01", "01", "02", "05"]
    first = sae.display.iloc[1]
    assert (first["발현일"], first["종료일"], first["인과관계"], first["결과"]) == ("2014-04", "2014-05-01", "가능함", "회복 중")
    assert first["중대성 기준"] == "입원 또는 입원 기간 연장" and first["연령/성별"] == "50/남"
    # deaths: the fatal event of 02, and 06 who died without a fatal event
    assert deaths.display["대상자 번호"].tolist() == ["02", "06"]
    assert deaths.display["사망일"].tolist() == ["2014-06-20", "2015-01-01"]
    # unexpected serious ADRs: 01 pneumonia only (02's is not an ADR, 03 not TE, 04 not in the safety set)
    assert usadr.display["기본 용어(PT)"].tolist() == ["Pneumonia"]


def test_an_empty_listing_says_so():
    adsl = _adsl()
    adae = _adae().assign(AESER="N")
    sae = listings(adsl, adae, settings=SETTINGS)[0]
    assert sae.display.iloc[0, 0] == "해당 사례 없음"
    assert ard_value(sae.ard, "events", variable="..events..") == 0


# --------------------------------------------------------------------------- every number is in the ARD

# a number as shown: counts may carry thousands separators (1,638), which are not part of the value
NUMBER = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])|(?<![\w.,])\d+(?:\.\d+)?")


def _numbers(value) -> set[str]:
    if value is None or isinstance(value, bool):
        return set()
    if isinstance(value, (int, float, np.integer, np.floating)):
        if math.isnan(float(value)):
            return set()
        return {fmt.fmt_num(value, d) for d in range(5)} | {fmt.fmt_pct(value, d) for d in range(5)}
    return {m.replace(",", "") for m in NUMBER.findall(str(value))}


def _constants() -> set[str]:
    """Numbers that are definitions from the settings (365 days, 95%), not results."""
    conv = SETTINGS.conventions
    from submission.tlf.tables_safety import SUMMARY_TOP_PTS

    values = [conv.long_term_use_days, conv.treatment_emergent_days, conv.ci_level * 100,
              conv.fisher_expected_below, conv.multivariable_entry_p, SUMMARY_TOP_PTS]
    values += [c for g in conv.groups.values() for c in g.cuts]
    return {t for v in values for t in _numbers(v)}


def _uncovered(result: TableResult) -> list[tuple[str, str]]:
    """Numbers shown in a table's header and statistics cells that its ARD does not hold."""
    ard = result.ard
    allowed = set(_constants())
    for column in ("stat", "variable_level", "group1_level", "group2_level"):
        for value in ard[column]:
            allowed |= _numbers(value)
    display = result.display
    labels = display.attrs.get("label_columns", 1)
    cells = [str(c) for c in display.columns]
    for record in display.itertuples(index=False):
        cells += ["" if v is None else str(v) for v in list(record)[labels:]]
    misses = []
    for text in cells:
        for m in NUMBER.finditer(text):
            if text[:m.start()].rstrip().endswith("<"):
                continue  # a p-value shown as <0.001
            if m.group(0).replace(",", "") not in allowed:
                misses.append((text, m.group(0)))
    return misses


def _fake_adam(n: int = 60, seed: int = 3) -> dict[str, pd.DataFrame]:
    """A small random study in the ADaM layout (the columns the base tables read)."""
    rng = np.random.default_rng(seed)
    ids = [f"S{i:03d}" for i in range(n)]
    saffl = np.where(rng.random(n) < 0.9, "Y", "N")
    efffl = np.where((saffl == "Y") & (rng.random(n) < 0.85), "Y", "N")
    age = rng.integers(40, 88, n).astype(float)
    dur = np.where(saffl == "Y", rng.integers(20, 900, n), np.nan)
    adsl = pd.DataFrame({
        "USUBJID": ids, "SUBJID": ids, "ENRLFL": "Y", "RECRTRT": rng.choice(["DUE", "PAP"], n, p=[0.8, 0.2]),
        "SAFFL": saffl, "SAFEXRS": np.where(saffl == "Y", None, rng.choice(["NO DOSE", "DUPLICATE ENROLMENT"], n)),
        "EFFFL": efffl, "EFFEXRS": np.where(efffl == "Y", None, np.where(saffl == "N", "NOT IN SAFETY SET",
                                                                         "NO EVALUABLE RESPONSE")),
        "AGE": age, "AGEGR1": np.where(age >= 65, ">=65", "<65"), "AGEGR2": np.where(age >= 75, ">=75", "<75"),
        "SEX": rng.choice(["M", "F"], n), "ISSBL": rng.choice(["I", "II", "III"], n),
        "ECOGBL": rng.choice([0.0, 1.0, 2.0], n), "PRLINES": rng.integers(0, 5, n).astype(float),
        "STDOSE": np.where(saffl == "Y", rng.choice([25.0, 10.0], n), np.nan), "TRTDURD": dur,
        "LTUSEFL": np.where(dur >= 365, "Y", "N"), "DOSREDFL": rng.choice(["Y", "N"], n),
        "BMIBL": np.round(rng.normal(23, 3, n), 1), "DTHFL": np.where(rng.random(n) < 0.1, "Y", None),
    })
    safety = adsl[adsl.SAFFL.eq("Y")]
    pts = ["Neutropenia", "Pneumonia", "Fatigue"]
    ae = [{"USUBJID": s, "AESEQ": k + 1, "AEBODSYS": "SOC " + pt[0], "AEDECOD": pt, "TRTEMFL": "Y",
           "AESER": rng.choice(["Y", "N"]), "ADRFL": rng.choice(["Y", "N"]), "UNEXPFL": "Y" if pt == "Fatigue" else "N",
           "AEOUT": rng.choice(["RECOVERED/RESOLVED", "FATAL"], p=[0.9, 0.1]), "AEREL": "POSSIBLE"}
          for s in safety.USUBJID for k, pt in enumerate(rng.choice(pts, rng.integers(0, 3)))]
    adae = pd.DataFrame(ae)
    bor = rng.choice(list(SETTINGS.conventions.response.order), len(adsl))
    adrs = _adrs(adsl, {s: (b if e == "Y" else "NE") for s, b, e in zip(adsl.USUBJID, bor, adsl.EFFFL)})
    adex = pd.DataFrame({"USUBJID": safety.USUBJID, "PARCAT1": "DEXAMETHASONE", "PARAMCD": "DEXCUMD",
                         "AVAL": rng.normal(500, 50, len(safety))})
    admh = pd.DataFrame({"USUBJID": adsl.USUBJID, "MHCAT": "GENERAL MEDICAL HISTORY", "MHBODSYS": "Vascular disorders",
                         "MHDECOD": rng.choice(["Hypertension", "Hypotension"], n)})
    adcm = pd.DataFrame({"USUBJID": adsl.USUBJID, "CMCLAS": "Heparin group", "CMDECOD": "ENOXAPARIN",
                         "PREFL": rng.choice(["Y", None], n), "ONTRTFL": rng.choice(["Y", None], n)})
    return {"ADSL": adsl, "ADAE": adae, "ADRS": adrs, "ADEX": adex, "ADMH": admh, "ADCM": adcm}


def test_every_number_of_the_base_tables_is_in_their_ard():
    results = base_results(_fake_adam(), SETTINGS)
    ids = [r.output_id for r in results]
    assert len(ids) == len(set(ids))
    tables = [r for r in results if isinstance(r, TableResult) and r.kind != "listing"]
    assert len(tables) >= 9
    for table in tables:
        assert set(table.ard["output_id"]) == {table.output_id}
        assert _uncovered(table) == [], table.output_id


def test_base_results_are_the_same_for_the_same_input():
    a = base_results(_fake_adam(), SETTINGS)
    b = base_results(_fake_adam(), SETTINGS)
    for x, y in zip(a, b):
        pd.testing.assert_frame_equal(x.ard, y.ard)
        if isinstance(x, FigureResult):
            assert x.png == y.png
        else:
            pd.testing.assert_frame_equal(x.display, y.display)


def test_the_report_stops_when_a_safety_builder_is_missing(monkeypatch, tmp_path):
    from submission.tlf import report

    try:
        from submission.tlf import tables_safety
    except ImportError:
        tables_safety = None
    if tables_safety is not None:
        monkeypatch.delattr(tables_safety, "safety_tables")
    with pytest.raises(SubError, match="safety"):
        report.build_report(_fake_adam(), SETTINGS, tmp_path, CREATED, toc_pass=False)
    assert not (tmp_path / "report").exists() and not (tmp_path / "tlf").exists()


# --------------------------------------------------------------------------- the real pipeline

@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """A 120-subject synthetic study through synth -> SDTM -> ADaM (XPT): (ADaM folder, out folder)."""
    try:
        from submission.adam.build import build_adam, read_sdtm
        from submission.tlf import tables_safety  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"the pipeline is not complete yet: {exc}")
    from submission.adam.labelterms import LabelTerms
    from submission.build import run_build, write_datasets
    from submission.raw.synth import synthesize, write_extract
    from submission.spec import load_spec

    root = tmp_path_factory.mktemp("report")
    raw, out = root / "raw", root / "out"
    write_extract(synthesize(SETTINGS, n_subjects=120, seed=9), raw)
    run_build(raw, SPECS, out)
    adam_dir = out / "adam"
    if not (adam_dir / "adsl.xpt").exists():  # `sub build` does not publish ADaM yet: build it from its SDTM
        try:
            result = build_adam(read_sdtm(out / "sdtm"), load_spec(SPECS / "adam"), SETTINGS, LabelTerms.load(SPECS))
        except Exception as exc:  # a stage under construction
            pytest.skip(f"the ADaM stage does not run yet: {type(exc).__name__}: {exc}")
        adam_dir.mkdir()
        write_datasets(adam_dir, result.datasets, SETTINGS, "ADaM")
    return adam_dir, out


@pytest.fixture(scope="module")
def built(pipeline, tmp_path_factory):
    """The report stage run once on the pipeline's ADaM (with the LibreOffice pass for the TOC if installed)."""
    from submission.build import creation_time
    from submission.tlf.report import run_report_stage

    adam_dir, _ = pipeline
    stage = tmp_path_factory.mktemp("stage")
    return run_report_stage(adam_dir, SETTINGS, stage, creation_time(SETTINGS))


@pytest.fixture(scope="module")
def rendered(built, tmp_path_factory):
    from submission.tlf.render import docx_to_pdf, poppler_available, soffice_path

    if soffice_path() is None or not poppler_available():
        pytest.skip("LibreOffice or poppler is not installed (apt-get install libreoffice-writer fonts-nanum "
                    "poppler-utils)")
    return docx_to_pdf(built.docx, tmp_path_factory.mktemp("pdf"))


def read_ard(path: Path) -> pd.DataFrame:
    """The ARD CSV with numbers as numbers and text statistics (a test's name) as text."""
    return read_ard_csv(path)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_report_writes_one_ard_with_every_output(built):
    ard = read_ard(built.ard_csv)
    assert list(dict.fromkeys(ard["output_id"])) == [r.output_id for r in built.results if len(r.ard)]
    records = json.loads(built.ard_json.read_text(encoding="utf-8"))
    assert len(records) == len(ard)
    assert {"T-DSP-01", "T-DEM-01", "T-EXP-01", "T-MH-02", "T-CM-01", "T-EFF-01", "T-EFF-02", "T-EFF-03",
            "L-SAE-01", "L-DTH-01", "L-USADR-01", "T-05", "T-13"} <= set(built.outputs)
    assert built.sentences and built.sentences[0].startswith("국내에서 재심사를 위하여")


def test_the_tables_layout_fallbacks_are_written_to_the_build_log(pipeline, tmp_path, monkeypatch):
    """A table that needed a smaller font, a landscape page or squeezed columns is named in build.log
    with the fallback taken (here forced on the factor tables; the bundled tables all fit)."""
    from dataclasses import replace

    from submission import build
    from submission.tlf import render, widths

    real = widths.fit_table

    def forced(header, rows, **options):
        fit = real(header, rows, **options)
        return replace(fit, note="font 7 pt instead of 8 pt") if list(header)[:1] == ["요인"] else fit

    monkeypatch.setattr(widths, "fit_table", forced)
    monkeypatch.setattr(render, "soffice_path", lambda: None)  # no rendering needed here
    adam_dir, _ = pipeline
    log: list[str] = []
    build.run_report(adam_dir, SETTINGS, tmp_path / "stage", log)
    notes = [line for line in log if "table layout:" in line]
    assert notes and all(line.endswith(": font 7 pt instead of 8 pt") for line in notes), notes
    assert any("약물유해반응 발현에 영향을 미치는 요인: 단변량 분석" in line for line in notes)


def test_every_number_of_every_report_table_is_in_the_ard(built):
    tables = [r for r in built.results if isinstance(r, TableResult) and r.kind != "listing"]
    problems = {t.output_id: _uncovered(t)[:3] for t in tables if _uncovered(t)}
    assert problems == {}


def test_serious_event_listing_has_a_row_per_serious_event(built, pipeline):
    from submission.tlf.report import read_adam

    adam = read_adam(pipeline[0])
    adsl, adae = adam["ADSL"], adam["ADAE"]
    safety = set(adsl.loc[adsl.SAFFL.eq("Y"), "USUBJID"])
    serious = adae[adae.USUBJID.isin(safety) & adae.TRTEMFL.eq("Y") & adae.AESER.eq("Y")]
    listing = next(r for r in built.results if r.output_id == "L-SAE-01")
    assert listing.display.attrs["listing_rows"] == len(serious)
    assert len(listing.display) == max(1, len(serious))


def test_the_rendered_report_is_a4_korean_and_says_it_is_synthetic(built, rendered):
    from submission.tlf.render import is_a4, pdf_fonts, pdf_page_sizes, pdf_page_texts, pdf_pages

    pages = pdf_pages(rendered)
    assert pages > 5
    sizes = pdf_page_sizes(rendered)
    assert len(sizes) == pages and all(is_a4(s) for s in sizes)
    assert any(w > h for w, h in sizes)  # landscape pages for the listings
    assert any("Nanum" in f for f in pdf_fonts(rendered))
    texts = pdf_page_texts(rendered)
    text = _squash("".join(texts))
    assert _squash(SETTINGS.study.title_ko) in _squash(texts[0])
    assert _squash("합성 자료(SYNTHETIC DATA): 실제 임상 자료가 아님") in _squash(texts[0])
    assert all("SYNTHETICDATA" in _squash(t) for t in texts[1:])  # the header of every other page
    assert _squash(f"1 / {pages} 쪽") in _squash(texts[0] + texts[1]) or _squash(f"2 / {pages} 쪽") in _squash(texts[1])

    ard = read_ard(built.ard_csv)
    digits = SETTINGS.conventions.percent_decimals_summary

    def stat(output_id, name, variable, level=None):
        rows = ard[ard.output_id.eq(output_id) & ard.stat_name.eq(name) & ard.variable.eq(variable)]
        rows = rows[rows.variable_level.isna()] if level is None else rows[rows.variable_level.eq(level)]
        assert len(rows) == 1, (output_id, name, variable, level)
        return rows["stat"].iloc[0]

    orr = fmt.label_rate_ci(stat("T-EFF-01", "n", "RSP", "Y"), stat("T-EFF-01", "N", "RSP", "Y"),
                            stat("T-EFF-01", "conf.low", "RSP", "Y"), stat("T-EFF-01", "conf.high", "RSP", "Y"), digits,
                            level=SETTINGS.conventions.ci_level)
    assert _squash(f"전체 반응률(ORR)은 {orr}") in text  # the rate and its interval in one bracket
    ae = fmt.label_incidence(stat("T-05", "n", "AE", "Y"), stat("T-05", "N", "AE", "Y"), stat("T-05", "events", "AE", "Y"),
                             digits)
    assert _squash(f"인과관계와 상관없이 {ae}") in text


def test_the_table_of_contents_gives_the_pages_of_the_headings(built, rendered):
    from submission.tlf.render import pdf_page_texts, soffice_path

    if not built.toc_pages:
        pytest.skip("the report was built without LibreOffice: no page numbers in the table of contents")
    assert soffice_path() is not None
    texts = pdf_page_texts(rendered)
    toc = texts[1]
    for heading in ("3. 조사 결과", "5. 종합 고찰 및 결론"):  # the MFDS order: 4 is 국내외 안전성 정보
        match = re.search(re.escape(heading) + r"\.*\s*(\d+)", toc)
        assert match, heading
        page = int(match.group(1))
        assert _squash(heading) in _squash(texts[page - 1]), (heading, page)


def test_two_builds_give_identical_bytes(built, pipeline, tmp_path, monkeypatch):
    """`sub report` (without LibreOffice: a static table of contents) gives the bytes of the stage's build:
    the same ARD, and the same document as the stage's outputs assembled without page numbers."""
    from click.testing import CliRunner

    from submission.build import creation_time
    from submission.cli import main
    from submission.tlf import render
    from submission.tlf.report import build_document, report_ard

    monkeypatch.setattr(render, "soffice_path", lambda: None)
    adam_dir, _ = pipeline
    a = tmp_path / "out"
    run = CliRunner().invoke(main, ["report", "--adam", str(adam_dir), "--specs", str(SPECS), "--out", str(a)])
    assert run.exit_code == 0, run.output
    assert "without page numbers" in run.output and "SYNTHETIC" in run.output
    assert (a / "tlf" / "ard.csv").read_bytes() == built.ard_csv.read_bytes()
    assert (a / "tlf" / "ard.json").read_bytes() == built.ard_json.read_bytes()
    same = build_document(built.results, built.sentences, report_ard(built.results), SETTINGS,
                          creation_time(SETTINGS)).to_bytes()
    assert (a / "report" / "re-examination-report.docx").read_bytes() == same
    assert not any(p.name.startswith(".") for p in a.iterdir())  # no staging folder left behind


# --------------------------------------------------------------------------- wording, counts and lookups

COUNT_STATS = {"n", "N", "events", "N_miss", "n_obs", "n_events", "n_factors", "n_tested", "factors_entered"}


def test_every_count_of_the_report_ard_is_an_integer(built):
    """No count-like statistic anywhere in ard.csv is written as a float (479.0) or a fraction."""
    import csv

    with built.ard_csv.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["stat_name"] in COUNT_STATS and r["stat"] != ""]
    assert rows
    bad = [(r["output_id"], r["variable"], r["variable_level"], r["stat_name"], r["stat"]) for r in rows
           if not re.fullmatch(r"\d+", r["stat"])]
    assert bad == []
    contexts = {r.context for r in read_ard(built.ard_csv).itertuples() if isinstance(r.context, str)}
    assert all(c.isascii() for c in contexts), sorted(contexts)


def _docx_text(data: bytes) -> str:
    import io

    from docx import Document

    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    parts += [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def test_the_report_uses_one_glossary(built):
    from submission.tlf import glossary

    texts = list(built.sentences)
    for r in built.results:
        texts += [r.title, *r.footnotes]
        if isinstance(r, TableResult):
            texts += [str(c) for c in r.display.columns]
            texts += [str(v) for v in r.display.to_numpy().ravel()]
    texts.append(_docx_text(built.docx.read_bytes()))
    found = {word for word in glossary.AVOIDED for text in texts if word in text}
    assert found == set()
    text = "\n".join(texts)
    for term in (glossary.AE, glossary.ADR, glossary.SOC_ABBR, glossary.PT_ABBR, glossary.TREATMENT_EMERGENT):
        assert term in text


def test_report_sentences_state_each_count_once_in_one_bracket(built):
    from submission.tlf.report import _disposition_text, efficacy_sentence, report_ard

    ard = report_ard(built.results)
    disposition_text = _disposition_text(ard, SETTINGS)
    assert re.fullmatch(r"등록된 [\d,]+명 중 안전성 평가대상자는 [\d,]+명\(\d+\.\d%\), 유효성 평가대상자는 안전성 "
                        r"평가대상자 중 [\d,]+명\(\d+\.\d%\)이었다\.", disposition_text), disposition_text
    sentence = efficacy_sentence(ard, SETTINGS)
    assert ")(" not in sentence and "명)(" not in sentence
    assert re.search(r"전체 반응률\(ORR\)은 \d+\.\d\d%\(\d+/\d+명, 95% 신뢰구간 \d+\.\d\d–\d+\.\d\d%\)", sentence), sentence
    for text in built.sentences:
        assert "{" not in text and "}" not in text


def test_the_efficacy_and_adr_factor_analyses_use_the_same_factors(built):
    ard = read_ard(built.ard_csv)
    adr = set(ard.loc[ard.output_id.eq("T-08-UNI") & ard.context.eq("factor_test"), "variable"])
    response = set(ard.loc[ard.output_id.eq("T-EFF-02") & ard.context.eq("factor_test"), "variable"])
    assert adr == response and {"PRLINES", "STDOSE", "CRCLGR1"} <= adr
    # the same categories: PRLINES cut by the settings' PRLINESGR in both
    labels = list(SETTINGS.conventions.groups["PRLINESGR"].labels)
    assert list(ard.loc[ard.output_id.eq("T-08-UNI") & ard.variable.eq("PRLINES") & ard.stat_name.eq("N"),
                        "variable_level"]) == labels
    assert list(ard.loc[ard.output_id.eq("T-EFF-02") & ard.group1.eq("PRLINES") & ard.stat_name.eq("N"),
                        "group1_level"]) == labels


def test_the_methods_state_the_significance_level_and_the_label_terms_table(built):
    from submission.build import creation_time
    from submission.tlf.report import build_document, report_ard

    conventions = SETTINGS.conventions.model_copy(update={"significance_level": 0.01})
    settings = SETTINGS.model_copy(update={"conventions": conventions})
    doc = build_document(built.results, built.sentences, report_ard(built.results), settings, creation_time(SETTINGS))
    text = _docx_text(doc.to_bytes())
    assert "유의수준은 양측 0.01이다" in text
    assert f"p-value가 {fmt.fmt_num(conventions.multivariable_entry_p, 2)} 미만인 요인을" in text
    # the version and size of the table in the text; its SHA-256 goes to build.log, never into the document
    assert "허가사항 용어표 버전 " in text and "SHA-256" not in text


def test_a_broken_label_terms_table_stops_the_report(built, specs_copy):
    from submission.build import creation_time
    from submission.tlf.report import build_document, report_ard

    (specs_copy / "label_terms.csv").write_text("PT,PTCD\nNeutropenia,10029354\n", encoding="utf-8")  # no SOC, source
    settings = load_settings(specs_copy)
    with pytest.raises(SubError) as info:
        build_document(built.results, built.sentences, report_ard(built.results), settings, creation_time(SETTINGS))
    assert any(p.column == "source" for p in info.value.problems)
