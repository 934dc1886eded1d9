"""RS: the investigator's IMWG response at each assessment and the collected best overall response,
and the clinical classifications of the myeloma diagnosis form (ECOG performance status, ISS stage)."""

from __future__ import annotations

import pandas as pd

from ..columns import per_distinct
from .common import iso_date, sequence, study_day
from .context import Context
from .findings import value_level

RESPONSE_TESTS = {"OVRLRESP": "Overall Response", "BESTRESP": "Best Overall Response"}
ISS_NUMBER = {"I": 1.0, "II": 2.0, "III": 3.0}


def _responses(ctx: Context, form: str, testcd: str, date: str, result: str) -> pd.DataFrame:
    raw = ctx.raw[form]
    return pd.DataFrame({
        "SUBJID": raw["SUBJID"],
        "RSSPID": raw["LINE"].astype(str) if "LINE" in raw else testcd,
        "RSTESTCD": testcd, "RSTEST": RESPONSE_TESTS[testcd],
        "RSORRES": ctx.coded(raw, form, result, "RS", "RSORRES"),
        "RSSTRESN": None, "RSDTC": raw[date],
    }, index=raw.index).assign(RSSTRESC=lambda f: f["RSORRES"])


def _ecog(ctx: Context) -> pd.DataFrame:
    diag = ctx.raw["MMDIAG"]
    rows = diag[diag["ECOG"].notna()]
    grade = ctx.coded(rows, "MMDIAG", "ECOG", "RS", "RSSTRESC")
    # the CDISC original-result text of each grade, in the order of the grades
    texts = dict(zip(ctx.spec.codelists["ECOG101STR"].values, ctx.spec.codelists["ECOG101OR"].values))
    return pd.DataFrame({
        "SUBJID": rows["SUBJID"], "RSSPID": "MMDIAG",
        "RSTESTCD": value_level(ctx, "RS", "RSTESTCD", "RSCAT", "ECOG"),
        "RSTEST": value_level(ctx, "RS", "RSTEST", "RSCAT", "ECOG"),
        "RSORRES": grade.map(texts), "RSSTRESC": grade, "RSSTRESN": pd.to_numeric(grade).astype("float64"),
        "RSDTC": None,
    }, index=rows.index)


def _iss(ctx: Context) -> pd.DataFrame:
    diag = ctx.raw["MMDIAG"]
    rows = diag[diag["ISS"].notna()]
    stage = ctx.coded(rows, "MMDIAG", "ISS", "RS", "RSORRES")
    return pd.DataFrame({
        "SUBJID": rows["SUBJID"], "RSSPID": "MMDIAG",
        "RSTESTCD": value_level(ctx, "RS", "RSTESTCD", "RSCAT", "ISS"),
        "RSTEST": value_level(ctx, "RS", "RSTEST", "RSCAT", "ISS"),
        "RSORRES": stage, "RSSTRESC": stage, "RSSTRESN": stage.map(ISS_NUMBER),
        "RSDTC": iso_date(rows["DIAGDAT"]),
    }, index=rows.index)


def build_rs(ctx: Context, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    by = ref.set_index("SUBJID")
    sources = [("RESP", _responses(ctx, "RESP", "OVRLRESP", "RSDAT", "RESP")),
               ("BESTRESP", _responses(ctx, "BESTRESP", "BESTRESP", "BRDAT", "BESTRESP")),
               ("MMDIAG", _ecog(ctx)), ("MMDIAG", _iss(ctx))]
    where = []
    for form, part in sources:
        where.append(ctx.file(form) + " row " + pd.Series(part.index.astype(str), index=part.index))
        ctx.reconcile("RS", form, len(ctx.raw[form]), len(part),
                      "" if form != "MMDIAG" else f"{part['RSTESTCD'].iloc[0] if len(part) else ''} where collected")
    rs = pd.concat([part for _, part in sources], ignore_index=True)
    rs["RSCAT"] = per_distinct(rs["RSTESTCD"], lambda codes: codes.map(lambda t: value_level(ctx, "RS", "RSCAT", "RSTESTCD", t)))
    for variable in ("RSTESTCD", "RSTEST", "RSCAT"):
        rs[variable] = ctx.check(rs[variable], "RS", variable, "RESP")
    rs["RSEVAL"] = ctx.spec.variable("RS", "RSEVAL").assigned_value
    # ECOG and ISS are recorded at enrolment, the planned baseline; responses follow routine practice
    baseline = rs["RSSPID"].eq("MMDIAG")
    rs["VISITNUM"] = pd.Series(1.0, index=rs.index).where(baseline, None)
    rs["VISIT"] = pd.Series("BASELINE", index=rs.index).where(baseline, None)
    rf = rs["SUBJID"].map(by["RFSTDTC"])
    rs["EPOCH"] = ctx.epoch_of(rs["RSDTC"], rs["SUBJID"], ref, "RS", "RESP")
    rs["RSDY"] = study_day(rs["RSDTC"], rf)
    rs.insert(0, "STUDYID", ctx.studyid)
    rs.insert(1, "DOMAIN", "RS")
    rs.insert(2, "USUBJID", rs["SUBJID"].map(by["USUBJID"]))
    rs = rs.drop(columns="SUBJID")
    rs["RSSEQ"] = sequence(rs, ["RSTESTCD", "RSDTC", "RSSPID"])
    return rs, pd.concat(where, ignore_index=True)
