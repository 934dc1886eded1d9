"""ADCM: one record per CM record, with the analysis dates and the prior / on-treatment flags."""

from __future__ import annotations

import pandas as pd

from ..study import StudySettings
from .common import derive_vars_ady, derive_vars_aendt, derive_vars_astdt, flag, merge_adsl, on_treatment, require

ADSL_VARIABLES = ["SUBJID", "SITEID", "SAFFL", "TRT01A", "TRTSDT", "TRTEDT"]
# Read from ADSL for the date imputation caps only (MT.ASTDT, MT.AENDT); not ADCM variables.
ADSL_CAPS = ["DTHDT", "DCUTDT"]
CM_NOT_CARRIED = ["DOMAIN", "CMSPID", "CMDOSE", "CMDOSU", "CMROUTE", "EPOCH", "CMSTDY", "CMENDY", "CMENTPT"]
CM_REQUIRED = ["STUDYID", "USUBJID", "CMSEQ", "CMSTDTC", "CMENDTC"]


def build_adcm(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, settings: StudySettings) -> pd.DataFrame:
    cm = sdtm["CM"]
    require(cm, CM_REQUIRED, "ADCM (from SDTM CM)")
    adcm = cm.drop(columns=[c for c in CM_NOT_CARRIED if c in cm.columns])
    adcm = merge_adsl(adcm, adsl, ADSL_VARIABLES + ADSL_CAPS).rename(columns={"TRT01A": "TRTA"})
    adcm = derive_vars_astdt(adcm, dtc="CMSTDTC", end_dtc="CMENDTC", first_dose="TRTSDT")
    adcm = derive_vars_aendt(adcm, dtc="CMENDTC")
    adcm = derive_vars_ady(adcm)
    adcm = derive_var_prefl(adcm)
    adcm = derive_var_ontrtfl(adcm, window_days=settings.conventions.treatment_emergent_days)
    return adcm.drop(columns=ADSL_CAPS)


def derive_var_prefl(frame: pd.DataFrame) -> pd.DataFrame:
    """PREFL = 'Y' when ASTDT is before TRTSDT (started before the first dose); null otherwise (MT.ADCM.PREFL)."""
    require(frame, ["ASTDT", "TRTSDT"], "derive_var_prefl")
    return frame.assign(PREFL=flag(frame["ASTDT"] < frame["TRTSDT"]))


def derive_var_ontrtfl(frame: pd.DataFrame, *, window_days: int) -> pd.DataFrame:
    """ONTRTFL = 'Y' when the use (ASTDT to AENDT, either may be missing) overlaps TRTSDT to TRTEDT +
    `window_days`; null otherwise and for subjects without a dose (MT.ADCM.ONTRTFL)."""
    require(frame, ["ASTDT", "AENDT", "TRTSDT", "TRTEDT"], "derive_var_ontrtfl")
    overlaps = on_treatment(frame["ASTDT"], frame["AENDT"], frame["TRTSDT"], frame["TRTEDT"], window_days)
    return frame.assign(ONTRTFL=flag(overlaps))
