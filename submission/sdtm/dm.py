"""DM (one record per enrolled subject) and SUPPDM, plus the subject reference the other domains use."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..columns import plain_text
from .common import full_dates, iso_date, usubjid
from .context import Context
from .supp import qualifier


def assigned(ctx: Context, dataset: str, variable: str) -> str:
    value = ctx.spec.variable(dataset, variable).assigned_value
    if value is None:
        raise RuntimeError(f"spec gives no Assigned Value for {dataset}.{variable}")
    return value


def _latest(*dates: pd.Series) -> pd.Series:
    frame = pd.concat([full_dates(d) for d in dates], axis=1)
    latest = frame.max(axis=1)
    return latest.dt.strftime("%Y-%m-%d").where(latest.notna(), None)


def _text_extreme(values: pd.Series, by: pd.Series, how: str) -> pd.Series:
    """`values.groupby(by).min()` (or max) of a text column: on the ranks of its distinct values, as
    whole numbers group in C where strings compare one pair at a time in Python. A column with
    missing values, or not all text, is grouped as it is."""
    if values.isna().any() or not plain_text(values):
        return getattr(values.groupby(by), how)()
    codes, distinct = pd.factorize(values.to_numpy(dtype=object), sort=True)
    chosen = getattr(pd.Series(codes, index=values.index).groupby(by), how)()
    # the dtype inferred from the values, as groupby infers it (text: str)
    return pd.Series(np.asarray(distinct, dtype=object)[chosen.to_numpy()], index=chosen.index, name=values.name)


def subject_reference(ctx: Context) -> pd.DataFrame:
    """Per SUBJID: USUBJID, the REVLIMID exposure window and the end-of-observation dates."""
    enrol, eos, rvl = ctx.raw["ENROL"], ctx.raw["EOS"], ctx.raw["RVLDOSE"]
    ref = pd.DataFrame({"SUBJID": enrol["SUBJID"].to_numpy()})
    ref["USUBJID"] = usubjid(ctx.studyid, ref["SUBJID"])
    start = _text_extreme(rvl["STDAT"], rvl["SUBJID"], "min")
    end = _text_extreme(rvl["ENDAT"].fillna(rvl["STDAT"]), rvl["SUBJID"], "max")
    ongoing = rvl["ENDAT"].isna().groupby(rvl["SUBJID"]).any()
    ref["RFXSTDTC"] = ref["SUBJID"].map(start)
    ref["RFXENDTC"] = ref["SUBJID"].map(end)
    ref["ONGOING"] = ref["SUBJID"].isin(ongoing.index[ongoing.to_numpy(dtype=bool)])  # no dosing record: not ongoing
    eos_by = eos.set_index("SUBJID")
    ref["EOSDTC"] = ref["SUBJID"].map(eos_by["EOSDAT"])
    ref["LSTCNDTC"] = ref["SUBJID"].map(eos_by["LSTCNDAT"])
    ref["RFSTDTC"] = ref["RFXSTDTC"]
    # for EPOCH: exposure still running at the data cut-off has no end
    ref["EPOCH_END"] = ref["RFXENDTC"].where(~ref["ONGOING"], None)
    return ref


def build_dm(ctx: Context, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    enrol = ctx.raw["ENROL"]
    demog = ctx.raw["DEMOG"].set_index("SUBJID")
    eos = ctx.raw["EOS"].set_index("SUBJID")
    subj = enrol["SUBJID"]
    dosed = ref.set_index("SUBJID")["RFXSTDTC"].reindex(subj).notna().to_numpy()
    dm = pd.DataFrame(index=enrol.index)
    dm["STUDYID"] = ctx.studyid
    dm["DOMAIN"] = "DM"
    dm["USUBJID"] = usubjid(ctx.studyid, subj)
    dm["SUBJID"] = subj
    by_subject = ref.set_index("SUBJID").reindex(subj)
    dm["RFSTDTC"] = by_subject["RFSTDTC"].to_numpy()
    end = subj.map(eos["EOSDAT"]).fillna(subj.map(eos["LSTCNDAT"]))
    dm["RFENDTC"] = end.where(dm["RFSTDTC"].notna(), None)
    dm["RFXSTDTC"] = by_subject["RFXSTDTC"].to_numpy()
    dm["RFXENDTC"] = by_subject["RFXENDTC"].to_numpy()
    dm["RFICDTC"] = enrol["ICDAT"]
    death_dtc = iso_date(subj.map(eos["DTHDAT"]))
    dm["RFPENDTC"] = _latest(enrol["ICDAT"], subj.map(eos["EOSDAT"]), subj.map(eos["LSTCNDAT"]), death_dtc)
    dm["DTHDTC"] = death_dtc
    died = subj.map(eos["DEATH"]).eq("Y")
    dm["DTHFL"] = ctx.check(pd.Series("Y", index=dm.index).where(died, None), "DM", "DTHFL", "EOS")
    dm["SITEID"] = enrol["SITEID"]
    dm["AGE"] = subj.map(demog["AGE"]).astype("Int64")
    dm["AGEU"] = assigned(ctx, "DM", "AGEU")
    sex = ctx.raw["DEMOG"].set_index("SUBJID")
    dm["SEX"] = subj.map(ctx.coded(ctx.raw["DEMOG"], "DEMOG", "SEX", "DM", "SEX").set_axis(sex.index))
    dm["RACE"] = assigned(ctx, "DM", "RACE")
    dm["ARMCD"] = assigned(ctx, "DM", "ARMCD")
    dm["ARM"] = assigned(ctx, "DM", "ARM")
    dm["ACTARMCD"] = pd.Series(dm["ARMCD"]).where(dosed, None)
    dm["ACTARM"] = pd.Series(dm["ARM"]).where(dosed, None)
    not_treated = ctx.check(pd.Series("ASSIGNED, NOT TREATED", index=dm.index), "DM", "ARMNRS", "ENROL")
    dm["ARMNRS"] = not_treated.where(~dosed, None)
    dm["ACTARMUD"] = None
    dm["COUNTRY"] = assigned(ctx, "DM", "COUNTRY")
    ctx.reconcile("DM", "ENROL", len(enrol), len(dm))
    return dm, ctx.file("ENROL") + " row " + pd.Series(enrol.index.astype(str), index=enrol.index)


def build_suppdm(ctx: Context, dm: pd.DataFrame) -> pd.DataFrame:
    enrol = ctx.raw["ENROL"]
    route = ctx.coded(enrol, "ENROL", "ROUTE", "SUPPDM", "QVAL")
    return pd.concat([qualifier(ctx, "SUPPDM", "DM", dm, "RECRTRT", route, idvar=None),
                      qualifier(ctx, "SUPPDM", "DM", dm, "ENRLDTC", enrol["ENRDAT"], idvar=None)],
                     ignore_index=True)
