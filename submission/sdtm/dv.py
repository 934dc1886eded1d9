"""DV: exclusions from the safety and efficacy sets decided by the site monitoring review."""

from __future__ import annotations

import pandas as pd

from .common import sequence
from .context import Context

SAFETY, EFFICACY = "EXCLUSION FROM SAFETY SET", "EXCLUSION FROM EFFICACY SET"


def build_dv(ctx: Context, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    by = ref.set_index("SUBJID")
    elig = ctx.raw["ELIG"]
    parts, where = [], []
    for flag, reason, category in (("SAFETY", "SAFREAS", SAFETY), ("EFFICACY", "EFFREAS", EFFICACY)):
        rows = elig[elig[flag].eq("N")]
        part = pd.DataFrame({
            "SUBJID": rows["SUBJID"],
            "DVTERM": rows[reason].map(ctx.raw.layout.decodes("ELIG", reason)),
            "DVDECOD": ctx.coded(rows, "ELIG", reason, "DV", "DVDECOD"),
            "DVCAT": category,
        }, index=rows.index)
        parts.append(part)
        where.append(ctx.file("ELIG") + " row " + pd.Series(rows.index.astype(str), index=rows.index))
    dv = pd.concat(parts, ignore_index=True)
    dv["DVCAT"] = ctx.check(dv["DVCAT"], "DV", "DVCAT", "ELIG")
    dv.insert(0, "STUDYID", ctx.studyid)
    dv.insert(1, "DOMAIN", "DV")
    dv.insert(2, "USUBJID", dv["SUBJID"].map(by["USUBJID"]))
    dv = dv.drop(columns="SUBJID")
    # safety exclusions first (the spec sorts DVCAT descending)
    dv["_order"] = dv["DVCAT"].map({SAFETY: 0, EFFICACY: 1})
    dv["DVSEQ"] = sequence(dv, ["_order", "DVDECOD"])
    dv = dv.drop(columns="_order")
    ctx.reconcile("DV", "ELIG", len(elig), len(dv), "one record per exclusion; included subjects have none")
    return dv, pd.concat(where, ignore_index=True)
