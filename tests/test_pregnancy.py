"""The pregnancy prevention programme from the raw extract to the report: RP and LB (HCG) in SDTM,
CBPFL/PTESTFL in ADSL and ADPREG in ADaM, the special-populations sentences and table, the cut-off
and the study that does not collect it."""

from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from submission.adam.adpreg import build_adpreg
from submission.adam.adsl import derive_vars_pregnancy
from submission.cli import main
from submission.paths import bundled_raw
from submission.tlf.ard import ard_value
from submission.tlf.tables_safety import (
    PREGNANCY_NOT_COLLECTED,
    Conventions,
    pregnancy_part,
    special_populations,
)

from .test_cutoff import SETTINGS, adam_at, cut

PLAIN = Conventions.of(SETTINGS, plain=True)


def _programme(rows, *, tested: bool = True, pregnancies: bool = True) -> None:
    """Subject 101-002 (a woman of 58) of childbearing potential, tested (negative) the day before her
    first dose or not tested; a pregnancy of her own and one of the partner of 101-001 (a man)."""
    for record in rows["DEMOG"]:
        if record["SUBJID"] == "101-002":
            record.update(CBP="Y", PTEST="Y" if tested else "N", PTESTDAT="2014-03-04" if tested else "",
                          PTESTRES="NEG" if tested else "")
    rows["PREG"].clear()
    if pregnancies:
        rows["PREG"].append(dict(SUBJID="101-001", LINE="1", PREGDAT="2014-04-15", PREGWHO="PARTNER", PREGOUT="LIVE"))
        rows["PREG"].append(dict(SUBJID="101-002", LINE="1", PREGDAT="2014-05-02", PREGWHO="PT", PREGOUT="EAB"))


# --------------------------------------------------------------------------- SDTM and ADaM on the tiny extract

def test_sdtm_rp_and_hcg_and_adam_flags_from_the_tiny_extract(tmp_path):
    frames = adam_at(tmp_path, "2016-12-07", _programme)
    rp = frames["RP"].sort_values(["USUBJID", "RPSEQ"])
    woman = rp[rp["USUBJID"].str.endswith("101-002")]
    assert list(woman["RPTESTCD"]) == ["PREGOUT", "PREGST", "CHILDPOT"]  # dated records first, by RPGRPID
    assert set(woman["RPGRPID"].dropna()) == {"PREG1"}
    assert woman.set_index("RPTESTCD").loc["PREGOUT", "RPSTRESC"] == "ELECTIVE TERMINATION"
    assert woman.set_index("RPTESTCD").loc["CHILDPOT", "RPORRES"] == "Y"
    assert woman.set_index("RPTESTCD").loc["CHILDPOT", "VISIT"] == "BASELINE"
    man = rp[rp["USUBJID"].str.endswith("101-001")]
    assert set(man["RPTESTCD"]) == {"PRTNPREG", "PREGOUT"}  # the partner's pregnancy on his records, no CHILDPOT
    assert man.set_index("RPTESTCD").loc["PRTNPREG", "RPDTC"] == "2014-04-15"
    assert man.set_index("RPTESTCD").loc["PRTNPREG", "EPOCH"] == "TREATMENT"

    lb = frames["LB"]
    hcg = lb[lb["LBTESTCD"].eq("HCG")]
    assert len(hcg) == 1 and hcg.iloc[0]["USUBJID"].endswith("101-002")
    assert (hcg.iloc[0]["LBORRES"], hcg.iloc[0]["LBSTRESC"], hcg.iloc[0]["LBDTC"]) == ("NEGATIVE", "NEGATIVE", "2014-03-04")
    assert hcg.iloc[0]["LBLOBXFL"] == "Y" and hcg.iloc[0]["LBDY"] == -1
    assert lb.groupby("USUBJID")["LBSEQ"].apply(lambda s: sorted(s) == list(range(1, len(s) + 1))).all()

    adsl = frames["ADSL"].set_index("SUBJID")
    assert adsl.loc["101-002", "CBPFL"] == "Y" and adsl.loc["101-002", "PTESTFL"] == "Y"
    assert pd.isna(adsl.loc["101-001", "CBPFL"]) and pd.isna(adsl.loc["101-001", "PTESTFL"])
    adpreg = frames["ADPREG"].set_index("SUBJID")
    assert adpreg.loc["101-001", "PREGWHO"] == "FEMALE PARTNER OF MALE PATIENT"
    assert adpreg.loc["101-001", "PREGOUT"] == "LIVE BIRTH"
    assert adpreg.loc["101-002", "PREGWHO"] == "PATIENT" and adpreg.loc["101-002", "ASTDY"] == 59


def test_test_not_done_is_lbstat_and_ptestfl_n(tmp_path):
    frames = adam_at(tmp_path, "2016-12-07", lambda rows: _programme(rows, tested=False, pregnancies=False))
    hcg = frames["LB"][frames["LB"]["LBTESTCD"].eq("HCG")].iloc[0]
    assert hcg["LBSTAT"] == "NOT DONE" and pd.isna(hcg["LBORRES"]) and pd.isna(hcg["LBDTC"])
    assert pd.isna(hcg["LBLOBXFL"])
    adsl = frames["ADSL"].set_index("SUBJID")
    assert adsl.loc["101-002", "PTESTFL"] == "N"
    assert frames["ADPREG"].empty and not frames["RP"]["RPTESTCD"].isin(["PREGST", "PRTNPREG"]).any()


def test_pregnancy_report_after_the_cutoff_is_dropped_and_a_later_test_removes_the_subject(tmp_path):
    _, result, _ = cut(tmp_path / "a", "2014-04-30", _programme)
    assert list(result["PREG"]["SUBJID"]) == ["101-001"]  # 101-002's report (2014-05-02) is after it
    # The test before the first dose is on the enrolment form: dated after the cut-off, the form was not
    # complete then and the subject leaves every form (as a baseline dated after it does).
    late = lambda rows: (_programme(rows), rows["DEMOG"][1].update(PTESTDAT="2014-03-12"),
                         rows["RVLDOSE"][1].update(STDAT="2014-03-13"), rows["DEXDOSE"][1].update(STDAT="2014-03-13"))
    _, result, log = cut(tmp_path / "b", "2014-03-10", late)
    assert set(result["ENROL"]["SUBJID"]) == {"101-001"}
    assert "1 with enrolment forms dated after it" in log[1]


# --------------------------------------------------------------------------- ADaM derivations on inline frames

def test_ptestfl_needs_a_result_on_or_before_the_first_dose():
    adsl = pd.DataFrame({"USUBJID": ["A", "B", "C", "D", "E"],
                         "TRTSDT": pd.to_datetime(["2020-01-10", "2020-01-10", "2020-01-10", None, "2020-01-10"])})
    rp = pd.DataFrame({"USUBJID": ["A", "B", "C", "D", "E"], "RPTESTCD": "CHILDPOT",
                       "RPSTRESC": ["Y", "Y", "Y", "Y", "N"]})
    lb = pd.DataFrame({"USUBJID": ["A", "B", "C", "D", "E"], "LBTESTCD": "HCG",
                       "LBORRES": ["NEGATIVE", "NEGATIVE", None, "NEGATIVE", "NEGATIVE"],
                       "LBDTC": ["2020-01-10", "2020-01-11", None, "2020-02-01", "2020-01-01"]})
    out = derive_vars_pregnancy(adsl, rp, lb).set_index("USUBJID")
    assert list(out["CBPFL"]) == ["Y", "Y", "Y", "Y", "N"]
    # on the day: Y; the day after: N; not done: N; never dosed: Y; not of childbearing potential: null
    assert list(out["PTESTFL"].fillna("-")) == ["Y", "N", "N", "Y", "-"]


def test_adpreg_joins_each_pregnancy_to_its_outcome():
    rp = pd.DataFrame({"STUDYID": "S", "USUBJID": ["A", "A", "A", "A", "B"], "RPSEQ": [1, 2, 3, 4, 1],
                       "RPGRPID": ["PREG1", "PREG1", "PREG2", "PREG2", None],
                       "RPTESTCD": ["PREGOUT", "PREGST", "PREGOUT", "PREGST", "CHILDPOT"],
                       "RPTEST": "x", "RPDTC": ["2020-02-01", "2020-02-01", "2021-03-01", "2021-03-01", None],
                       "RPSTRESC": ["SPONTANEOUS ABORTION", "Y", "LIVE BIRTH", "Y", "Y"]})
    adsl = pd.DataFrame({"USUBJID": ["A", "B"], "SUBJID": ["1", "2"], "SITEID": "101", "SEX": "F", "AGE": [30, 40],
                         "SAFFL": "Y", "TRTSDT": pd.to_datetime(["2020-01-01", "2020-01-01"])})
    out = build_adpreg({"RP": rp}, adsl)
    assert list(out["PREGOUT"]) == ["SPONTANEOUS ABORTION", "LIVE BIRTH"]
    assert list(out["PREGWHO"]) == ["PATIENT", "PATIENT"] and list(out["ASTDY"]) == [32, 426]
    assert build_adpreg({}, adsl).empty  # no RP: no pregnancies


# --------------------------------------------------------------------------- report counts on inline frames

def _adsl(cbp=("Y", "Y", "N", None, None), ptest=("Y", "N", None, None, None)):
    return pd.DataFrame({"USUBJID": list("ABCDE"), "SEX": ["F", "F", "F", "M", "M"], "SAFFL": ["Y"] * 5,
                         "CBPFL": list(cbp), "PTESTFL": list(ptest)})


def test_pregnancy_part_counts_sentences_and_table():
    adpreg = pd.DataFrame({"USUBJID": ["A", "D", "E"], "SAFFL": "Y",
                           "PREGWHO": ["PATIENT", "FEMALE PARTNER OF MALE PATIENT", "FEMALE PARTNER OF MALE PATIENT"],
                           "PREGOUT": ["ELECTIVE TERMINATION", "LIVE BIRTH", None]})
    part = pregnancy_part(_adsl(), adpreg, PLAIN)
    ard = part.ard
    assert ard_value(ard, "n", variable="CBPFL", variable_level="Y") == 2
    assert ard_value(ard, "N", variable="CBPFL", variable_level="Y") == 3
    assert ard_value(ard, "n", variable="PTESTFL", variable_level="Y") == 1
    assert part.pregnancies == 3
    first, second = part.statements
    assert "여성 3명 가운데 가임 여성은 2명(66.7%)" in first and "2명 중 1명(50.0%)이 첫 투여 전에" in first
    assert "임신은 3건 보고되었고(환자 본인 1건, 남성 환자의 여성 배우자 2건)" in second
    assert "출산 1건" in second and "알 수 없음 1건" in second  # a missing outcome counts as unknown
    assert second({"T-09-PREGNANT": "표 7"}).endswith("(표 7).")
    table = part.display.set_index("구분")
    assert table.loc["임신 보고 건수", "계"] == "3" and table.loc["인공 임신 중절", "환자 본인"] == "1"
    assert not re.search(r"[A-Z]{2,}FL|PREG", " ".join(part.statements + part.footnotes))


def test_no_pregnancy_is_one_sentence_and_no_table():
    tables = special_populations(_adsl_full(), _adae(), PLAIN, adpreg=None)
    assert "T-09-PREGNANT" not in [t.output_id for t in tables]
    sentences = tables[0].sentences
    assert any("보고되지 않았다" in s for s in sentences)
    assert ard_value(tables[0].ard, "events", variable="..any..", context="hierarchical") == 0


def test_not_collected_is_one_sentence():
    adsl = _adsl_full().drop(columns=["CBPFL", "PTESTFL"])
    tables = special_populations(adsl, _adae(), PLAIN)
    assert PREGNANCY_NOT_COLLECTED in tables[0].sentences
    assert "T-09-PREGNANT" not in [t.output_id for t in tables]


def _adsl_full():
    adsl = _adsl()
    adsl["AGE"] = [30, 40, 70, 50, 80]
    adsl["AGEGR1"] = np.where(adsl["AGE"] >= 65, ">=65", "<65")
    adsl["AGEGR2"] = np.where(adsl["AGE"] >= 75, ">=75", "<75")
    adsl["CRCLGR1"] = ">=60"
    adsl["HEPIMPFL"] = "N"
    adsl["LTUSEFL"] = "N"
    return adsl


def _adae():
    return pd.DataFrame({"USUBJID": ["A"], "TRTEMFL": ["Y"], "ADRFL": ["Y"], "AEDECOD": ["Nausea"],
                         "AEBODSYS": ["Gastrointestinal disorders"], "SAFFL": ["Y"]})


# --------------------------------------------------------------------------- the bundled study, built

@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    out = tmp_path_factory.mktemp("preg") / "out"
    result = CliRunner().invoke(main, ["build", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _raw(form: str) -> list[dict]:
    files = {"DEMOG": "demog.csv", "PREG": "preg.csv", "ELIG": "elig.csv"}
    with (bundled_raw() / files[form]).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_bundled_build_datasets_define_and_report_numbers(bundled):
    from docx import Document

    assert (bundled / "sdtm" / "rp.xpt").is_file() and (bundled / "adam" / "adpreg.xpt").is_file()
    sdtm_define = (bundled / "sdtm" / "define.xml").read_text(encoding="utf-8")
    adam_define = (bundled / "adam" / "define.xml").read_text(encoding="utf-8")
    assert 'Name="RP"' in sdtm_define and 'Name="ADPREG"' in adam_define
    assert "IT.ADSL.CBPFL" in adam_define or 'Name="CBPFL"' in adam_define

    # Independent count from the raw CSVs: women in the safety set (ELIG), their CBP and test answers.
    safety = {r["SUBJID"] for r in _raw("ELIG") if r.get("SAFFL", r.get("SAFETY", "Y")) in ("Y", "1")}
    women = [r for r in _raw("DEMOG") if r["SEX"] == "2" and r["SUBJID"] in safety]
    cbp = [r for r in women if r["CBP"] == "Y"]
    tested = [r for r in cbp if r["PTEST"] == "Y"]
    pregnancies = [r for r in _raw("PREG") if r["SUBJID"] in safety]
    partner = sum(r["PREGWHO"] == "PARTNER" for r in pregnancies)

    text = "\n".join(p.text for p in Document(bundled / "report" / "re-examination-report.docx").paragraphs)
    assert f"여성 {len(women)}명 가운데 가임 여성은 {len(cbp)}명(" in text
    assert f"가임 여성 {len(cbp)}명 중 {len(tested)}명(" in text
    assert (f"임신은 {len(pregnancies)}건 보고되었고(환자 본인 {len(pregnancies) - partner}건, "
            f"남성 환자의 여성 배우자 {partner}건)") in text


def test_no_woman_in_the_population_and_a_mans_flag_are_not_counted():
    """An early cut-off leaves nobody (or no woman) in the safety set: one sentence, no crash (was
    exit 3); a childbearing-potential flag on a man is not counted among the women tested."""
    nobody = _adsl().assign(SAFFL="N")
    part = pregnancy_part(nobody, None, PLAIN)
    assert part.statements[0].startswith("임부:") and "여성이 없었다" in part.statements[0]
    assert part.pregnancies == 0 and part.display.empty
    with_man = _adsl(cbp=("Y", "Y", "N", "Y", None), ptest=("Y", "N", None, "Y", None))
    ard = pregnancy_part(with_man, None, PLAIN).ard
    assert ard_value(ard, "n", variable="CBPFL", variable_level="Y") == 2
    assert ard_value(ard, "N", variable="PTESTFL", variable_level="Y") == 2  # the man is not among them
