"""AE: one record per reported adverse event, with the full MedDRA hierarchy; SUPPAE."""

from __future__ import annotations

import pandas as pd

from .common import iso_date, sequence, study_day
from .context import Context
from .supp import qualifier

_MEDDRA = {"AELLT": "LLT", "AELLTCD": "LLTCD", "AEDECOD": "PT", "AEPTCD": "PTCD", "AEHLT": "HLT",
           "AEHLTCD": "HLTCD", "AEHLGT": "HLGT", "AEHLGTCD": "HLGTCD", "AEBODSYS": "SOC", "AEBDSYCD": "SOCCD",
           "AESOC": "SOC", "AESOCCD": "SOCCD"}
_CODED = {"AESEV": "SEV", "AESER": "SER", "AEACN": "ACN", "AEREL": "CAUSAL", "AEOUT": "OUT", "AESCONG": "SCONG",
          "AESDISAB": "SDISAB", "AESDTH": "SDTH", "AESHOSP": "SHOSP", "AESLIFE": "SLIFE", "AESMIE": "SMIE",
          "AECONTRT": "TREAT", "AETOXGR": "GRADE"}


def build_ae(ctx: Context, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    raw = ctx.raw["AE"]
    by = ref.set_index("SUBJID")
    ae = pd.DataFrame(index=raw.index)
    ae["STUDYID"] = ctx.studyid
    ae["DOMAIN"] = "AE"
    ae["USUBJID"] = raw["SUBJID"].map(by["USUBJID"])
    ae["AESPID"] = raw["LINE"].astype(str)
    ae["AETERM"], translated = ctx.english(raw, "AE", "AETERM", "AE", "AETERM")
    for variable, column in _MEDDRA.items():
        ae[variable] = raw[column]
    for variable, column in _CODED.items():
        ae[variable] = ctx.coded(raw, "AE", column, "AE", variable)
    ae["AESTDTC"] = iso_date(raw["STDAT"])
    ae["AEENDTC"] = iso_date(raw["ENDAT"])
    rf = raw["SUBJID"].map(by["RFSTDTC"])
    ae["EPOCH"] = ctx.epoch_of(ae["AESTDTC"], raw["SUBJID"], ref, "AE", "AE")
    ae["AESTDY"] = study_day(ae["AESTDTC"], rf)
    ae["AEENDY"] = study_day(ae["AEENDTC"], rf)
    ongoing = raw["ONGO"].eq("Y")
    ae["AEENRTPT"] = ctx.check(pd.Series("ONGOING", index=raw.index).where(ongoing, None), "AE", "AEENRTPT", "AE")
    ae["AEENTPT"] = raw["SUBJID"].map(by["LSTCNDTC"]).where(ongoing, None)
    ae["AESEQ"] = sequence(ae, ["AEDECOD", "AESTDTC", "AESPID"])
    ctx.reconcile("AE", "AE", len(raw), len(ae))
    return ae, ctx.file("AE") + " row " + pd.Series(raw.index.astype(str), index=raw.index), translated


def build_suppae(ctx: Context, ae: pd.DataFrame, translated: pd.Series) -> pd.DataFrame:
    flag = pd.Series("Y", index=ae.index).where(translated, None)
    return qualifier(ctx, "SUPPAE", "AE", ae, "AETRANFL", flag, idvar="AESEQ")
