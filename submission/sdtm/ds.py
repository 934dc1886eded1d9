"""DS: informed consent (protocol milestone) and the end-of-observation disposition event."""

from __future__ import annotations

import pandas as pd

from .common import iso_date, sequence, study_day
from .context import Context

CONSENT = "INFORMED CONSENT OBTAINED"


def build_ds(ctx: Context, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    by = ref.set_index("SUBJID")
    enrol, eos = ctx.raw["ENROL"], ctx.raw["EOS"]
    consent = pd.DataFrame({"SUBJID": enrol["SUBJID"], "DSTERM": CONSENT, "DSDECOD": CONSENT,
                            "DSCAT": "PROTOCOL MILESTONE", "DSSTDTC": enrol["ICDAT"]}, index=enrol.index)

    status = eos["EOSSTAT"].map(ctx.raw.layout.submission_values("EOSSTAT"))
    ended = status.isin(["COMPLETED", "DISCONTINUED"])
    ended_rows = eos[ended]
    reason_term = ended_rows["EOSREAS"].map(ctx.raw.layout.decodes("EOS", "EOSREAS")).str.upper()
    decod = ctx.coded(ended_rows, "EOS", "EOSREAS", "DS", "DSDECOD")
    completed = status[ended].eq("COMPLETED")
    cause, _ = ctx.english(eos, "EOS", "DTHCAUSE", "DS", "DSTERM")
    died_of = ended_rows["EOSREAS"].map(ctx.raw.layout.submission_values("DCREAS")).eq("DEATH")
    reason_term = reason_term.where(~died_of | cause[ended].isna(), cause[ended])
    disposition = pd.DataFrame({
        "SUBJID": ended_rows["SUBJID"],
        "DSTERM": reason_term.where(~completed, "COMPLETED"),
        "DSDECOD": decod.where(~completed, "COMPLETED"),
        "DSCAT": "DISPOSITION EVENT",
        "DSSTDTC": ended_rows["EOSDAT"].fillna(ended_rows["LSTCNDAT"]),
    }, index=ended_rows.index)
    # a death that is not the reason for ending observation is an OTHER EVENT of its own
    other = eos["DEATH"].eq("Y") & ~(ended & eos["EOSREAS"].map(ctx.raw.layout.submission_values("DCREAS")).eq("DEATH"))
    deaths = eos[other]
    death = pd.DataFrame({"SUBJID": deaths["SUBJID"], "DSTERM": cause[other].fillna("DEATH"), "DSDECOD": "DEATH",
                          "DSCAT": "OTHER EVENT", "DSSTDTC": iso_date(deaths["DTHDAT"])}, index=deaths.index)
    ctx.reconcile("DS", "ENROL", len(enrol), len(consent), "consent milestone per subject")
    still = int((~ended).sum())
    ctx.reconcile("DS", "EOS", len(eos), len(disposition),
                  f"{still} subject(s) still under observation at the data cut-off have no disposition event" if still else "")
    where = pd.concat([ctx.file("ENROL") + " row " + pd.Series(enrol.index.astype(str), index=enrol.index),
                       ctx.file("EOS") + " row " + pd.Series(ended_rows.index.astype(str), index=ended_rows.index),
                       ctx.file("EOS") + " row " + pd.Series(deaths.index.astype(str), index=deaths.index)],
                      ignore_index=True)
    if len(deaths):
        ctx.reconcile("DS", "EOS", len(eos), len(deaths), "deaths that were not the reason for ending observation")
    ds = pd.concat([consent, disposition, death], ignore_index=True)
    ds["DSDECOD"] = ctx.check(ds["DSDECOD"], "DS", "DSDECOD", "EOS")
    ds["DSCAT"] = ctx.check(ds["DSCAT"], "DS", "DSCAT", "EOS")
    rf = ds["SUBJID"].map(by["RFSTDTC"])
    ds["EPOCH"] = ctx.epoch_of(ds["DSSTDTC"], ds["SUBJID"], ref, "DS", "EOS")
    ds["DSSTDY"] = study_day(ds["DSSTDTC"], rf)
    ds.insert(0, "STUDYID", ctx.studyid)
    ds.insert(1, "DOMAIN", "DS")
    ds.insert(2, "USUBJID", ds["SUBJID"].map(by["USUBJID"]))
    ds = ds.drop(columns="SUBJID")
    ds["DSSEQ"] = sequence(ds, ["DSSTDTC", "DSCAT"])
    return ds, where
