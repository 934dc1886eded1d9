"""RS: the investigator's IMWG response at each assessment, and the collected best overall response."""

from __future__ import annotations

import pandas as pd

from .common import epoch, sequence, study_day
from .context import Context

TESTS = {"OVRLRESP": "Overall Response", "BESTRESP": "Best Overall Response"}


def build_rs(ctx: Context, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    by = ref.set_index("SUBJID")
    parts, where = [], []
    for form, testcd, date, result in (("RESP", "OVRLRESP", "RSDAT", "RESP"), ("BESTRESP", "BESTRESP", "BRDAT", "BESTRESP")):
        raw = ctx.raw[form]
        rs = pd.DataFrame(index=raw.index)
        rs["SUBJID"] = raw["SUBJID"]
        rs["USUBJID"] = raw["SUBJID"].map(by["USUBJID"])
        rs["RSSPID"] = raw["LINE"].astype(str) if "LINE" in raw else testcd
        rs["RSTESTCD"] = ctx.check(pd.Series(testcd, index=raw.index), "RS", "RSTESTCD", form)
        rs["RSTEST"] = ctx.check(pd.Series(TESTS[testcd], index=raw.index), "RS", "RSTEST", form)
        rs["RSORRES"] = ctx.coded(raw, form, result, "RS", "RSORRES")
        rs["RSSTRESC"] = rs["RSORRES"]
        rs["RSDTC"] = raw[date]
        parts.append(rs)
        where.append(ctx.file(form) + " row " + pd.Series(raw.index.astype(str), index=raw.index))
        ctx.reconcile("RS", form, len(raw), len(rs))
    rs = pd.concat(parts, ignore_index=True)
    rf = rs["SUBJID"].map(by["RFSTDTC"])
    rs["EPOCH"] = ctx.check(epoch(rs["RSDTC"], rf, rs["SUBJID"].map(by["EPOCH_END"]),
                                  before="SCREENING", during="TREATMENT", after="FOLLOW-UP"), "RS", "EPOCH", "RESP")
    rs["RSDY"] = study_day(rs["RSDTC"], rf)
    rs = rs.drop(columns="SUBJID")
    rs.insert(0, "STUDYID", ctx.studyid)
    rs.insert(1, "DOMAIN", "RS")
    rs["RSCAT"] = ctx.spec.variable("RS", "RSCAT").assigned_value
    rs["RSEVAL"] = ctx.spec.variable("RS", "RSEVAL").assigned_value
    rs["RSSEQ"] = sequence(rs, ["RSTESTCD", "RSDTC", "RSSPID"])
    return rs, pd.concat(where, ignore_index=True)
