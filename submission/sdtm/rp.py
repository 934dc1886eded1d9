"""RP and the pregnancy test in LB: the pregnancy prevention programme of a teratogen.

SDTMIG 3.4 places a subject's reproductive ability and history, "pregnant during the study"
included, in RP (Reproductive System Findings); a pregnancy test is a laboratory test (the LB
example of a negative hCG test), so it goes to LB with LBTESTCD HCG.

* DEMOG.CBP -> one RP record per woman asked: RPTESTCD CHILDPOT (Y/N). No date is collected (the
  question belongs to enrolment): VISITNUM 1, VISIT BASELINE, RPDTC null.
* DEMOG.PTEST/PTESTDAT/PTESTRES -> one LB record per woman of childbearing potential: HCG with
  the result (POSITIVE/NEGATIVE) on PTESTDAT, or LBSTAT NOT DONE when PTEST is N.
* PREG -> two RP records per reported pregnancy, tied by RPGRPID: the pregnancy itself (RPTESTCD
  PREGST 'Pregnant During the Study' = Y for the patient; PRTNPREG 'Partner Pregnant During the
  Study' = Y for the female partner of a male patient) and its outcome (PREGOUT), both dated by
  the report date PREGDAT. A partner's pregnancy stays on the male patient's records: it is
  collected on his CRF as part of his pregnancy prevention programme, and nothing is collected
  about the partner as a person (SDTMIG-AP associated-person datasets would be the home if it were).

A raw extract without these columns or without the PREG form maps to no records.
"""

from __future__ import annotations

import pandas as pd

from .common import iso_date, sequence, study_day
from .context import Context
from .findings import last_before_exposure

CHILDPOT = "CHILDPOT"
PREGNANT = {"PATIENT": "PREGST", "FEMALE PARTNER OF MALE PATIENT": "PRTNPREG"}
OUTCOME = "PREGOUT"
HCG = "HCG"
NOT_DONE = "NOT DONE"


def _names(ctx: Context, prefix: str) -> dict[str, str]:
    return dict(zip(ctx.spec.codelists[f"{prefix}TESTCD"].values, ctx.spec.codelists[f"{prefix}TEST"].values))


def _has(frame: pd.DataFrame, *columns: str) -> bool:
    return all(c in frame.columns for c in columns)


def _submission(ctx: Context, frame: pd.DataFrame, form: str, column: str) -> pd.Series:
    """Raw codes -> the layout's submission values (the loader has checked every code)."""
    layout = ctx.raw.layout
    return frame[column].map(layout.submission_values(layout.field(form, column).codelist))


def _rows_where(ctx: Context, form: str, index: pd.Index) -> pd.Series:
    return ctx.file(form) + " row " + pd.Series(index.astype(str), index=index)


def build_rp(ctx: Context, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    by = ref.set_index("SUBJID")
    names = _names(ctx, "RP")
    parts, where = [], []
    demog = ctx.raw["DEMOG"]
    if _has(demog, "CBP"):
        asked = demog[demog["CBP"].notna() & demog["CBP"].astype(str).ne("")]
        part = pd.DataFrame(index=asked.index)
        part["SUBJID"] = asked["SUBJID"]
        part["RPGRPID"] = None
        part["RPSPID"] = None
        part["RPTESTCD"] = CHILDPOT
        part["RPORRES"] = ctx.coded(asked, "DEMOG", "CBP", "RP", "RPORRES")
        part["RPDTC"] = None
        part["VISITNUM"] = 1
        part["VISIT"] = "BASELINE"
        parts.append(part)
        where.append(_rows_where(ctx, "DEMOG", asked.index))
        ctx.reconcile("RP", "DEMOG", len(demog), len(part), "one CHILDPOT record per woman asked")
    preg = ctx.raw.frames.get("PREG")
    form = "PREG" if preg is not None else "DEMOG"
    if preg is not None and _has(preg, "PREGWHO", "PREGOUT", "PREGDAT"):
        testcd = _submission(ctx, preg, "PREG", "PREGWHO").map(PREGNANT)
        group = "PREG" + preg["LINE"].astype(str)
        for kind in ("pregnancy", "outcome"):
            part = pd.DataFrame(index=preg.index)
            part["SUBJID"] = preg["SUBJID"]
            part["RPGRPID"] = group
            part["RPSPID"] = preg["LINE"].astype(str)
            part["RPTESTCD"] = testcd if kind == "pregnancy" else OUTCOME
            part["RPORRES"] = "Y" if kind == "pregnancy" else ctx.coded(preg, "PREG", "PREGOUT", "RP", "RPORRES")
            part["RPDTC"] = iso_date(preg["PREGDAT"])
            part["VISITNUM"] = None
            part["VISIT"] = None
            parts.append(part)
            where.append(_rows_where(ctx, "PREG", preg.index))
        ctx.reconcile("RP", "PREG", len(preg), 2 * len(preg), "two records per pregnancy: the pregnancy and its outcome")
    columns = ["SUBJID", "RPGRPID", "RPSPID", "RPTESTCD", "RPORRES", "RPDTC", "VISITNUM", "VISIT"]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    out["VISITNUM"] = out["VISITNUM"].astype("Int64") if len(out) else pd.Series(dtype="Int64")
    out.insert(0, "STUDYID", ctx.studyid)
    out.insert(1, "DOMAIN", "RP")
    out.insert(2, "USUBJID", out["SUBJID"].map(by["USUBJID"]))
    out["RPTESTCD"] = ctx.check(out["RPTESTCD"], "RP", "RPTESTCD", form)
    out["RPTEST"] = out["RPTESTCD"].map(names)
    out["RPSTRESC"] = out["RPORRES"]
    out["EPOCH"] = ctx.epoch_of(out["RPDTC"], out["SUBJID"], ref, "RP", form)
    out["RPDY"] = study_day(out["RPDTC"], out["SUBJID"].map(by["RFSTDTC"]))
    out = out.drop(columns="SUBJID")
    out["RPSEQ"] = sequence(out, ["RPDTC", "RPGRPID", "RPTESTCD"]) if len(out) else pd.Series(dtype="Int64")
    return out, (pd.concat(where, ignore_index=True) if where else pd.Series(dtype=object))


def build_pregnancy_test(ctx: Context, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """LB HCG records of the women of childbearing potential (DEMOG.PTEST answered): the result on
    its date, or LBSTAT NOT DONE. LBSEQ is numbered with the other LB records by the caller."""
    demog = ctx.raw["DEMOG"]
    if not _has(demog, "PTEST", "PTESTDAT", "PTESTRES"):
        return pd.DataFrame(), pd.Series(dtype=object)
    by = ref.set_index("SUBJID")
    answered = demog[demog["PTEST"].notna() & demog["PTEST"].astype(str).ne("")]
    done = _submission(ctx, answered, "DEMOG", "PTEST").eq("Y")
    out = pd.DataFrame(index=answered.index)
    out["STUDYID"] = ctx.studyid
    out["DOMAIN"] = "LB"
    out["USUBJID"] = answered["SUBJID"].map(by["USUBJID"])
    out["LBTESTCD"] = ctx.check(pd.Series(HCG, index=answered.index), "LB", "LBTESTCD", "DEMOG")
    out["LBTEST"] = out["LBTESTCD"].map(_names(ctx, "LB"))
    out["LBCAT"] = ctx.check(pd.Series("CHEMISTRY", index=answered.index), "LB", "LBCAT", "DEMOG")
    result = ctx.coded(answered, "DEMOG", "PTESTRES", "LB", "LBORRES")
    out["LBORRES"] = result.where(done, None)
    out["LBSTRESC"] = out["LBORRES"]
    out["LBSTAT"] = pd.Series(NOT_DONE, index=answered.index).where(~done, None)
    out["LBSTAT"] = ctx.check(out["LBSTAT"], "LB", "LBSTAT", "DEMOG")
    out["LBDTC"] = iso_date(answered["PTESTDAT"]).where(done, None)
    for timing in ("VISITNUM", "VISIT"):
        if ctx.spec.variable("LB", timing) is not None:
            out[timing] = ctx.spec.variable("LB", timing).assigned_value
    subjects = answered["SUBJID"]
    out["LBLOBXFL"] = last_before_exposure(out, "LB", subjects.map(by["RFXSTDTC"]))
    out["EPOCH"] = ctx.epoch_of(out["LBDTC"], subjects, ref, "LB", "DEMOG")
    out["LBDY"] = study_day(out["LBDTC"], subjects.map(by["RFSTDTC"]))
    ctx.reconcile("LB", "DEMOG", len(demog), len(out), "one HCG record per woman of childbearing potential")
    return out.reset_index(drop=True), _rows_where(ctx, "DEMOG", answered.index).reset_index(drop=True)
