"""ADPREG: one record per pregnancy reported during the study (SDTM RP), for the report's
special-populations part (pregnancy prevention programme of a teratogen).

Each pregnancy is the RP record PREGST (the patient is pregnant) or PRTNPREG (the female partner
of a male patient is), with its outcome from the PREGOUT record of the same RPGRPID
(MT.ADPREG.PREGOUT). PREGWHO names who is pregnant (MT.ADPREG.PREGWHO); ASTDT is the report date
RPDTC, ASTDY its day relative to TRTSDT. An SDTM folder without RP gives no records.
"""

from __future__ import annotations

import pandas as pd

from .common import analysis_day, merge_adsl, numeric_dates, require

ADSL_VARIABLES = ["SUBJID", "SITEID", "SEX", "AGE", "SAFFL", "TRTSDT"]
WHO = {"PREGST": "PATIENT", "PRTNPREG": "FEMALE PARTNER OF MALE PATIENT"}
COLUMNS = ["STUDYID", "USUBJID", "RPSEQ", "RPGRPID", "RPTESTCD", "RPTEST", "RPDTC"]


def build_adpreg(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame) -> pd.DataFrame:
    rp = sdtm.get("RP")
    if rp is None:
        rp = pd.DataFrame({c: pd.Series(dtype=object) for c in [*COLUMNS, "RPSTRESC"]})
    require(rp, [*COLUMNS, "RPSTRESC"], "ADPREG (from SDTM RP)")
    pregnancies = rp[rp["RPTESTCD"].isin(list(WHO))][COLUMNS].copy()
    outcome = rp[rp["RPTESTCD"].eq("PREGOUT")].drop_duplicates(["USUBJID", "RPGRPID"])
    key = pd.MultiIndex.from_frame(outcome[["USUBJID", "RPGRPID"]])
    position = key.get_indexer(pd.MultiIndex.from_frame(pregnancies[["USUBJID", "RPGRPID"]])) \
        if len(pregnancies) else []
    pregnancies["PREGWHO"] = pregnancies["RPTESTCD"].map(WHO)
    pregnancies["PREGOUT"] = [outcome["RPSTRESC"].iloc[p] if p >= 0 else None for p in position]
    out = merge_adsl(pregnancies.reset_index(drop=True), adsl, ADSL_VARIABLES)
    out["ASTDT"] = numeric_dates(out["RPDTC"]) if len(out) else pd.Series(dtype="datetime64[ns]")
    out["ASTDY"] = analysis_day(out["ASTDT"], out["TRTSDT"]) if len(out) else pd.Series(dtype="Int64")
    return out.sort_values(["USUBJID", "RPSEQ"], kind="mergesort").reset_index(drop=True)
