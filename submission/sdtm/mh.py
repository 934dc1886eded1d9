"""MH: MedDRA-coded medical history, and one PRIMARY DIAGNOSIS record per subject (myeloma)."""

from __future__ import annotations

import pandas as pd

from .common import iso_date, sequence, usubjid
from .context import Context

_MEDDRA = {"MHLLT": "LLT", "MHLLTCD": "LLTCD", "MHDECOD": "PT", "MHPTCD": "PTCD", "MHHLT": "HLT",
           "MHHLTCD": "HLTCD", "MHHLGT": "HLGT", "MHHLGTCD": "HLGTCD", "MHBODSYS": "SOC", "MHBDSYCD": "SOCCD",
           "MHSOC": "SOC", "MHSOCCD": "SOCCD"}
PRIMARY = "PRIMARY DIAGNOSIS"


def _primary_term(ctx: Context) -> str:
    for vl in ctx.spec.value_level:
        if vl.dataset == "MH" and vl.variable == "MHTERM" and vl.assigned_value:
            if any(PRIMARY in wc.values and wc.comparator == "EQ" for wc in ctx.spec.where_clauses[vl.where_clause]):
                return vl.assigned_value
    raise RuntimeError("spec gives no MHTERM for the PRIMARY DIAGNOSIS record")


def build_mh(ctx: Context, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    raw, diag = ctx.raw["MEDHIST"], ctx.raw["MMDIAG"]
    by = ref.set_index("SUBJID")
    enrolled = ctx.raw["ENROL"].set_index("SUBJID")["ENRDAT"]
    history = pd.DataFrame(index=raw.index)
    history["USUBJID"] = raw["SUBJID"].map(by["USUBJID"])
    history["MHSPID"] = raw["LINE"].astype(str)
    history["MHTERM"], _ = ctx.english(raw, "MEDHIST", "MHTERM", "MH", "MHTERM")
    for variable, column in _MEDDRA.items():
        history[variable] = raw[column]
    history["MHCAT"] = ctx.coded(raw, "MEDHIST", "MHCAT", "MH", "MHCAT")
    history["MHSTDTC"] = iso_date(raw["STDAT"])
    history["MHENRTPT"] = ctx.check(raw["ONGO"].map({"Y": "ONGOING", "N": "BEFORE"}), "MH", "MHENRTPT", "MEDHIST")
    history["SUBJID"] = raw["SUBJID"]

    primary = pd.DataFrame(index=diag.index)
    primary["USUBJID"] = diag["SUBJID"].map(by["USUBJID"])
    primary["MHSPID"] = "MMDIAG"
    primary["MHTERM"] = _primary_term(ctx)
    for variable in _MEDDRA:
        primary[variable] = None
    primary["MHCAT"] = ctx.check(pd.Series(PRIMARY, index=diag.index), "MH", "MHCAT", "MMDIAG")
    primary["MHSTDTC"] = iso_date(diag["DIAGDAT"])
    primary["MHENRTPT"] = "ONGOING"
    primary["SUBJID"] = diag["SUBJID"]

    where = pd.concat([ctx.file("MEDHIST") + " row " + pd.Series(raw.index.astype(str), index=raw.index),
                       ctx.file("MMDIAG") + " row " + pd.Series(diag.index.astype(str), index=diag.index)],
                      ignore_index=True)
    mh = pd.concat([history, primary], ignore_index=True)
    mh["MHENTPT"] = mh["SUBJID"].map(enrolled).where(mh["MHENRTPT"].notna(), None)
    mh = mh.drop(columns="SUBJID")
    mh.insert(0, "STUDYID", ctx.studyid)
    mh.insert(1, "DOMAIN", "MH")
    mh["MHSEQ"] = sequence(mh, ["MHCAT", "MHDECOD", "MHSPID"])
    ctx.reconcile("MH", "MEDHIST", len(raw), len(history))
    ctx.reconcile("MH", "MMDIAG", len(diag), len(diag), "one PRIMARY DIAGNOSIS record per subject")
    return mh, where


def build_suppmh(ctx: Context, mh: pd.DataFrame) -> pd.DataFrame:
    """M-protein type and prior lines of therapy, qualifiers of the PRIMARY DIAGNOSIS record."""
    from .supp import qualifier

    diag = ctx.raw["MMDIAG"]
    primary = mh[mh["MHCAT"].eq(PRIMARY)].set_index("USUBJID")
    subjects = usubjid(ctx.studyid, diag["SUBJID"])
    parent = pd.DataFrame({"USUBJID": subjects, "MHSEQ": subjects.map(primary["MHSEQ"])}, index=diag.index)
    mprot = ctx.coded(diag, "MMDIAG", "MPROT", "SUPPMH", "QVAL")
    lines = diag["PRLINES"].astype("Int64").astype(str).where(diag["PRLINES"].notna(), None)
    return pd.concat([qualifier(ctx, "SUPPMH", "MH", parent, "MPROTTYP", mprot, idvar="MHSEQ"),
                      qualifier(ctx, "SUPPMH", "MH", parent, "PRLINES", lines, idvar="MHSEQ")], ignore_index=True)
