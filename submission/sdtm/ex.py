"""EX: one record per dosing period of REVLIMID (RVLDOSE) and of dexamethasone (DEXDOSE)."""

from __future__ import annotations

import pandas as pd

from ..columns import DistinctColumn
from .common import sequence, study_day
from .context import Context

_REGIMEN = {("LENALIDOMIDE", 21): "DAYS 1-21 OF 28-DAY CYCLE",
            ("DEXAMETHASONE", 12): "DAYS 1-4, 9-12, 17-20 OF 28-DAY CYCLE",
            ("DEXAMETHASONE", 4): "DAYS 1-4 OF 28-DAY CYCLE"}


def dosing_regimen(treatment: str, days: pd.Series) -> pd.Series:
    """EXDOSRGM text from the dosing days per 28-day cycle (spec method MT.EX.EXDOSRGM), once per
    distinct number of days."""
    return DistinctColumn(days).apply(
        lambda distinct: distinct.map(lambda n: _REGIMEN.get((treatment, int(n)), f"{int(n)} DAYS OF 28-DAY CYCLE")))


def _value_level(ctx: Context, variable: str, treatment: str) -> str | None:
    """The Assigned Value of EX.<variable> where EXTRT is `treatment`."""
    for vl in ctx.spec.value_level:
        if vl.dataset == "EX" and vl.variable == variable:
            clause = ctx.spec.where_clauses[vl.where_clause]
            if any(wc.variable == "EXTRT" and treatment in wc.values for wc in clause):
                return vl.assigned_value
    return None


def _periods(ctx: Context, form: str, treatment: str, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    raw = ctx.raw[form]
    by = ref.set_index("SUBJID")
    ex = pd.DataFrame(index=raw.index)
    ex["STUDYID"] = ctx.studyid
    ex["DOMAIN"] = "EX"
    ex["USUBJID"] = raw["SUBJID"].map(by["USUBJID"])
    ex["EXSPID"] = form + "-" + raw["LINE"].astype(str)
    ex["EXTRT"] = ctx.check(pd.Series(treatment, index=raw.index), "EX", "EXTRT", form)
    ex["EXDOSE"] = raw["DOSE"].astype("Float64")
    ex["EXDOSU"] = ctx.check(pd.Series("mg", index=raw.index), "EX", "EXDOSU", form)
    ex["EXDOSFRM"] = _value_level(ctx, "EXDOSFRM", treatment)
    if "FREQ" in raw:
        ex["EXDOSFRQ"] = ctx.coded(raw, form, "FREQ", "EX", "EXDOSFRQ")
    else:
        ex["EXDOSFRQ"] = _value_level(ctx, "EXDOSFRQ", treatment)
    ex["EXDOSRGM"] = dosing_regimen(treatment, raw["DAYS"])
    ex["EXROUTE"] = ctx.spec.variable("EX", "EXROUTE").assigned_value
    ex["EXADJ"] = ctx.coded(raw, form, "ADJ", "EX", "EXADJ") if "ADJ" in raw else None
    ex["EXSTDTC"] = raw["STDAT"]
    ex["EXENDTC"] = raw["ENDAT"]
    rf = raw["SUBJID"].map(by["RFSTDTC"])
    ex["EPOCH"] = ctx.epoch_of(ex["EXSTDTC"], raw["SUBJID"], ref, "EX", form)
    ex["EXSTDY"] = study_day(ex["EXSTDTC"], rf)
    ex["EXENDY"] = study_day(ex["EXENDTC"], rf)
    ctx.reconcile("EX", form, len(raw), len(ex))
    return ex, ctx.file(form) + " row " + pd.Series(raw.index.astype(str), index=raw.index)


def build_ex(ctx: Context, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    parts = [_periods(ctx, "RVLDOSE", "LENALIDOMIDE", ref), _periods(ctx, "DEXDOSE", "DEXAMETHASONE", ref)]
    ex = pd.concat([p[0] for p in parts], ignore_index=True)
    where = pd.concat([p[1] for p in parts], ignore_index=True)
    ex["EXSEQ"] = sequence(ex, ["EXTRT", "EXSTDTC", "EXSPID"])
    return ex, where
