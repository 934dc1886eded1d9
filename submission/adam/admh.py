"""ADMH: one record per MH record, with the analysis start date and the subject's ADSL variables."""

from __future__ import annotations

import pandas as pd

from ..study import StudySettings
from .common import derive_vars_astdt, merge_adsl, require

ADSL_VARIABLES = ["SUBJID", "SITEID", "SAFFL", "TRT01A", "TRTSDT"]
# Read from ADSL for the date imputation caps only (MT.ASTDT); not ADMH variables.
ADSL_CAPS = ["DTHDT", "DCUTDT"]
MH_NOT_CARRIED = ["DOMAIN", "MHSPID", "MHLLTCD", "MHPTCD", "MHHLT", "MHHLTCD", "MHHLGT", "MHHLGTCD", "MHBDSYCD",
                  "MHSOC", "MHSOCCD", "MHENTPT"]
MH_REQUIRED = ["STUDYID", "USUBJID", "MHSEQ", "MHCAT", "MHSTDTC"]


def build_admh(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, settings: StudySettings) -> pd.DataFrame:
    mh = sdtm["MH"]
    require(mh, MH_REQUIRED, "ADMH (from SDTM MH)")
    admh = mh.drop(columns=[c for c in MH_NOT_CARRIED if c in mh.columns])
    admh = merge_adsl(admh, adsl, ADSL_VARIABLES + ADSL_CAPS).rename(columns={"TRT01A": "TRTA"})
    # History has no end date in MH and is not moved to the first dose (MT.ASTDT).
    admh = derive_vars_astdt(admh, dtc="MHSTDTC")
    return admh.drop(columns=ADSL_CAPS)
