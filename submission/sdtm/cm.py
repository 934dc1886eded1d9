"""CM: concomitant and prior medications, WHODrug-coded with their ATC class."""

from __future__ import annotations

import pandas as pd

from .common import iso_date, sequence, study_day
from .context import Context


def build_cm(ctx: Context, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    raw = ctx.raw["CONMED"]
    by = ref.set_index("SUBJID")
    cm = pd.DataFrame(index=raw.index)
    cm["STUDYID"] = ctx.studyid
    cm["DOMAIN"] = "CM"
    cm["USUBJID"] = raw["SUBJID"].map(by["USUBJID"])
    cm["CMSPID"] = raw["LINE"].astype(str)
    cm["CMTRT"], _ = ctx.english(raw, "CONMED", "CMTERM", "CM", "CMTRT")
    cm["CMDECOD"] = raw["CMDECOD"]
    cm["CMINDC"], _ = ctx.english(raw, "CONMED", "INDIC", "CM", "CMINDC")
    cm["CMCLAS"] = raw["ATCTXT"]
    cm["CMCLASCD"] = raw["ATCCD"]
    cm["CMDOSE"] = raw["DOSE"].astype("Float64")
    cm["CMDOSU"] = ctx.coded(raw, "CONMED", "DOSU", "CM", "CMDOSU")
    cm["CMROUTE"] = ctx.coded(raw, "CONMED", "ROUTE", "CM", "CMROUTE")
    cm["CMSTDTC"] = iso_date(raw["STDAT"])
    cm["CMENDTC"] = iso_date(raw["ENDAT"])
    rf = raw["SUBJID"].map(by["RFSTDTC"])
    cm["EPOCH"] = ctx.epoch_of(cm["CMSTDTC"], raw["SUBJID"], ref, "CM", "CONMED")
    cm["CMSTDY"] = study_day(cm["CMSTDTC"], rf)
    cm["CMENDY"] = study_day(cm["CMENDTC"], rf)
    ongoing = raw["ONGO"].eq("Y")
    cm["CMENRTPT"] = ctx.check(pd.Series("ONGOING", index=raw.index).where(ongoing, None), "CM", "CMENRTPT", "CONMED")
    end_of_observation = raw["SUBJID"].map(by["EOSDTC"]).fillna(raw["SUBJID"].map(by["LSTCNDTC"]))
    cm["CMENTPT"] = end_of_observation.where(ongoing, None)
    cm["CMSEQ"] = sequence(cm, ["CMTRT", "CMSTDTC", "CMSPID"])
    ctx.reconcile("CM", "CONMED", len(raw), len(cm))
    return cm, ctx.file("CONMED") + " row " + pd.Series(raw.index.astype(str), index=raw.index)
