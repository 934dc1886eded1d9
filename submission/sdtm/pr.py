"""PR: the pre-specified procedure questions (dialysis at baseline, prior stem cell transplant)."""

from __future__ import annotations

import pandas as pd

from .common import sequence, study_day
from .context import Context
from .findings import value_level

DIALYSIS = "DIALYSIS"
TRANSPLANT = "HEMATOPOIETIC STEM CELL TRANSPLANT"


def build_pr(ctx: Context, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    by = ref.set_index("SUBJID")
    baseline, diag = ctx.raw["BASELINE"], ctx.raw["MMDIAG"]
    enrolled = ctx.raw["ENROL"].set_index("SUBJID")["ENRDAT"]
    dialysis = pd.DataFrame({
        "SUBJID": baseline["SUBJID"], "PRSPID": "BASELINE", "PRTRT": DIALYSIS,
        "PROCCUR": ctx.coded(baseline, "BASELINE", "DIALYSIS", "PR", "PROCCUR"),
        "PRDTC": baseline["VSDAT"], "PRSTRTPT": None, "PRSTTPT": None,
        "PRENRTPT": value_level(ctx, "PR", "PRENRTPT", "PRTRT", DIALYSIS), "PRENTPT": baseline["VSDAT"],
    }, index=baseline.index)
    transplant = pd.DataFrame({
        "SUBJID": diag["SUBJID"], "PRSPID": "MMDIAG", "PRTRT": TRANSPLANT,
        "PROCCUR": ctx.coded(diag, "MMDIAG", "PRSCT", "PR", "PROCCUR"),
        "PRDTC": None, "PRSTRTPT": value_level(ctx, "PR", "PRSTRTPT", "PRTRT", TRANSPLANT),
        "PRSTTPT": diag["SUBJID"].map(enrolled), "PRENRTPT": None, "PRENTPT": None,
    }, index=diag.index)
    where = pd.concat([ctx.file("BASELINE") + " row " + pd.Series(baseline.index.astype(str), index=baseline.index),
                       ctx.file("MMDIAG") + " row " + pd.Series(diag.index.astype(str), index=diag.index)],
                      ignore_index=True)
    pr = pd.concat([dialysis, transplant], ignore_index=True)
    pr["PRTRT"] = ctx.check(pr["PRTRT"], "PR", "PRTRT", "BASELINE")
    pr.insert(0, "STUDYID", ctx.studyid)
    pr.insert(1, "DOMAIN", "PR")
    pr.insert(2, "USUBJID", pr["SUBJID"].map(by["USUBJID"]))
    pr["PRPRESP"] = ctx.spec.variable("PR", "PRPRESP").assigned_value
    rf = pr["SUBJID"].map(by["RFSTDTC"])
    pr["EPOCH"] = ctx.epoch_of(pr["PRDTC"], pr["SUBJID"], ref, "PR", "BASELINE")
    pr["PRDY"] = study_day(pr["PRDTC"], rf)
    pr = pr.drop(columns="SUBJID")
    pr["PRSEQ"] = sequence(pr, ["PRTRT"])
    ctx.reconcile("PR", "BASELINE", len(baseline), len(dialysis), "dialysis question")
    ctx.reconcile("PR", "MMDIAG", len(diag), len(transplant), "prior transplant question")
    return pr, where
