"""ADAE: one record per AE record (traceable by USUBJID, AESEQ), with the analysis dates, the
treatment-emergent, ADR and unexpected flags and the first-occurrence flags for counting subjects.

One derivation, one function (admiral style): each takes the dataset and returns it with the
variables it names added. Conventions (ADR causality set, treatment-emergent window) come in as
arguments from the study settings; expectedness comes from the label-terms table.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..study import StudySettings
from .common import (derive_vars_ady, derive_vars_aendt, derive_vars_astdt, flag, merge_adsl,
                     require)
from .labelterms import LabelTerms

ADSL_VARIABLES = ["SUBJID", "SITEID", "AGE", "AGEGR1", "AGEGR2", "SEX", "RECRTRT", "CRCLGR1", "HEPIMPFL",
                  "LTUSEFL", "SAFFL", "TRT01A", "TRTSDT", "TRTEDT"]
# Read from ADSL for the date imputation caps only (MT.ASTDT, MT.AENDT); not ADAE variables.
ADSL_CAPS = ["DTHDT", "DCUTDT"]
# SDTM AE variables ADAE does not carry (study days relative to RFSTDTC are replaced by ASTDY/AENDY).
AE_NOT_CARRIED = ["DOMAIN", "AESPID", "EPOCH", "AESTDY", "AEENDY", "AEENTPT"]
AE_REQUIRED = ["STUDYID", "USUBJID", "AESEQ", "AEBODSYS", "AEDECOD", "AEPTCD", "AESTDTC", "AEENDTC", "AESER",
               "AESDTH", "AESEV", "AETOXGR", "AEREL", "AEACN", "AEOUT"]

# MT.ADAE.AOCC: subset code -> the flags that must be 'Y' on a record of the subset.
OCCURRENCE_SUBSETS: dict[str, tuple[str, ...]] = {
    "A": (),
    "AR": ("ADRFL",),
    "SE": ("AESER",),
    "SR": ("ADRFL", "AESER"),
    "UE": ("UNEXPFL",),
    "UR": ("UNEXPFL", "ADRFL"),
    "XE": ("UNEXPFL", "AESER"),
    "XR": ("UNEXPFL", "ADRFL", "AESER"),
}

SEVERITY_N = {"MILD": 1, "MODERATE": 2, "SEVERE": 3}


def build_adae(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, settings: StudySettings,
               label_terms: LabelTerms) -> pd.DataFrame:
    conventions = settings.conventions
    ae = sdtm["AE"]
    require(ae, AE_REQUIRED, "ADAE (from SDTM AE)")
    adae = ae.drop(columns=[c for c in AE_NOT_CARRIED if c in ae.columns])
    adae = merge_adsl(adae, adsl, ADSL_VARIABLES + ADSL_CAPS).rename(columns={"TRT01A": "TRTA"})
    adae = derive_vars_astdt(adae, dtc="AESTDTC", end_dtc="AEENDTC", first_dose="TRTSDT", missing_to_first_dose=True)
    adae = derive_vars_aendt(adae, dtc="AEENDTC")
    adae = derive_vars_ady(adae)
    adae = derive_vars_adur(adae)
    adae = derive_var_trtemfl(adae, window_days=conventions.treatment_emergent_days)
    adae = derive_var_astyr(adae, year_days=conventions.period_year_days)
    adae = derive_vars_asev(adae, missing=conventions.severity_when_missing)
    adae = derive_vars_atoxgr(adae)
    adae = derive_var_adrfl(adae, causality=conventions.adr_causality,
                            missing_is_adr=conventions.adr_when_causality_missing)
    adae = derive_var_unexpfl(adae, label_terms=label_terms)
    adae = derive_var_aediscfl(adae)
    adae = derive_var_fatalfl(adae)
    for code, subset in OCCURRENCE_SUBSETS.items():
        adae = derive_vars_first_occurrence(adae, prefix=code, subset=subset)
    return adae.drop(columns=ADSL_CAPS)


def derive_vars_adur(frame: pd.DataFrame) -> pd.DataFrame:
    """ADURN = AENDT - ASTDT + 1 days when both are present (MT.ADAE.ADURN); ADURU 'DAYS' then."""
    require(frame, ["ASTDT", "AENDT"], "derive_vars_adur")
    days = ((frame["AENDT"] - frame["ASTDT"]).dt.days + 1).astype("Int64")
    return frame.assign(ADURN=days, ADURU=pd.Series(np.where(days.notna(), "DAYS", None), index=frame.index,
                                                    dtype=object))


def derive_var_trtemfl(frame: pd.DataFrame, *, window_days: int) -> pd.DataFrame:
    """TRTEMFL = 'Y' when TRTSDT <= ASTDT <= TRTEDT + `window_days` (MT.ADAE.TRTEMFL); null otherwise."""
    require(frame, ["ASTDT", "TRTSDT", "TRTEDT"], "derive_var_trtemfl")
    window_end = frame["TRTEDT"] + pd.Timedelta(days=window_days)
    emergent = frame["TRTSDT"].notna() & (frame["ASTDT"] >= frame["TRTSDT"]) & (frame["ASTDT"] <= window_end)
    return frame.assign(TRTEMFL=flag(emergent))


def derive_var_astyr(frame: pd.DataFrame, *, year_days: int = 365) -> pd.DataFrame:
    """ASTYR = 1 + floor((ASTDY - 1) / `year_days`) when ASTDY >= 1 (MT.ADAE.ASTYR); null otherwise."""
    require(frame, ["ASTDY"], "derive_var_astyr")
    day = frame["ASTDY"].astype("Int64")
    return frame.assign(ASTYR=((day - 1) // year_days + 1).where(day >= 1).astype("Int64"))


def derive_vars_asev(frame: pd.DataFrame, *, missing: str = "SEVERE",
                     numbers: dict[str, int] | None = None) -> pd.DataFrame:
    """ASEV = AESEV, `missing` (the worst case) when AESEV is missing (MT.ADAE.ASEV); ASEVN its number
    (MT.ADAE.ASEVN)."""
    require(frame, ["AESEV"], "derive_vars_asev")
    severity = frame["AESEV"].astype(object).where(frame["AESEV"].notna(), missing)
    return frame.assign(ASEV=severity, ASEVN=severity.map(numbers or SEVERITY_N).astype("Int64"))


def derive_vars_atoxgr(frame: pd.DataFrame) -> pd.DataFrame:
    """ATOXGR = AETOXGR, not imputed (MT.ADAE.ATOXGR); ATOXGRN the grade as an integer (MT.ADAE.ATOXGRN)."""
    require(frame, ["AETOXGR"], "derive_vars_atoxgr")
    grade = frame["AETOXGR"].astype(object).where(frame["AETOXGR"].notna(), None)
    return frame.assign(ATOXGR=grade, ATOXGRN=pd.to_numeric(grade, errors="coerce").astype("Int64"))


def derive_var_adrfl(frame: pd.DataFrame, *, causality: Iterable[str], missing_is_adr: bool = True) -> pd.DataFrame:
    """ADRFL = 'Y' when AEREL is one of `causality` (a causal relationship cannot be excluded), or is
    missing and `missing_is_adr` (the conservative reading), 'N' otherwise (MT.ADAE.ADRFL)."""
    require(frame, ["AEREL"], "derive_var_adrfl")
    related = frame["AEREL"].isin(list(causality)) | (frame["AEREL"].isna() & missing_is_adr)
    return frame.assign(ADRFL=flag(related, no="N"))


def derive_var_unexpfl(frame: pd.DataFrame, *, label_terms: LabelTerms) -> pd.DataFrame:
    """UNEXPFL = 'Y' when the PT is not in the label-terms table, 'N' when it is (MT.ADAE.UNEXPFL)."""
    require(frame, ["AEPTCD", "AEDECOD"], "derive_var_unexpfl")
    return frame.assign(UNEXPFL=flag(~label_terms.expected(frame["AEPTCD"], frame["AEDECOD"]), no="N"))


def derive_var_aediscfl(frame: pd.DataFrame, *, actions: Iterable[str] = ("DRUG WITHDRAWN",)) -> pd.DataFrame:
    """AEDISCFL = 'Y' when AEACN is one of `actions` (the drug stopped for good), 'N' otherwise
    (MT.ADAE.AEDISCFL)."""
    require(frame, ["AEACN"], "derive_var_aediscfl")
    return frame.assign(AEDISCFL=flag(frame["AEACN"].isin(list(actions)), no="N"))


def derive_var_fatalfl(frame: pd.DataFrame) -> pd.DataFrame:
    """FATALFL = 'Y' when AEOUT = 'FATAL' or AESDTH = 'Y', 'N' otherwise (MT.ADAE.FATALFL)."""
    require(frame, ["AEOUT", "AESDTH"], "derive_var_fatalfl")
    return frame.assign(FATALFL=flag(frame["AEOUT"].eq("FATAL") | frame["AESDTH"].eq("Y"), no="N"))


def derive_vars_first_occurrence(frame: pd.DataFrame, *, prefix: str, subset: Iterable[str] = (),
                                 among: str = "TRTEMFL", subject: str = "USUBJID", soc: str = "AEBODSYS",
                                 pt: str = "AEDECOD", order: tuple[str, ...] = ("ASTDT", "AESEQ")) -> pd.DataFrame:
    """Add the first-occurrence flags of a subset (MT.ADAE.AOCC): among the records with `among` and
    every flag of `subset` = 'Y', sorted by `order` within the subject, 'Y' on the first record of
    the subject (<prefix>OCCFL), of the subject and SOC (<prefix>OCCSFL) and of the subject, SOC and
    PT (<prefix>OCCPFL); null elsewhere. A missing `order` value sorts last."""
    subset = list(subset)
    require(frame, [among, *subset, subject, soc, pt, *order], "derive_vars_first_occurrence")
    chosen = frame[among].eq("Y")
    for name in subset:
        chosen &= frame[name].eq("Y")
    rows = np.flatnonzero(chosen.to_numpy())
    levels = {f"{prefix}OCCFL": [subject], f"{prefix}OCCSFL": [subject, soc], f"{prefix}OCCPFL": [subject, soc, pt]}
    new = {name: np.full(len(frame), None, dtype=object) for name in levels}
    if len(rows):
        codes = {c: _codes(frame[c].to_numpy()[rows]) for c in (subject, soc, pt)}
        ranked = np.lexsort([*(_sort_key(frame[c].to_numpy()[rows]) for c in reversed(order)), codes[subject]])
        for name, by in levels.items():
            key = codes[by[0]]
            for column in by[1:]:
                key = pd.factorize(key * (codes[column].max() + 1) + codes[column])[0]
            first = ~pd.Series(key[ranked]).duplicated().to_numpy()
            new[name][rows[ranked[first]]] = "Y"
    return frame.assign(**{name: pd.Series(values, index=frame.index, dtype=object, copy=False)
                           for name, values in new.items()})


def _codes(values: np.ndarray, *, sort: bool = False) -> np.ndarray:
    """Integer codes of the values (in value order when `sort`); a missing value gets the last code."""
    codes, uniques = pd.factorize(values, sort=sort, use_na_sentinel=True)
    return np.where(codes < 0, len(uniques), codes).astype(np.int64)


def _sort_key(values: np.ndarray) -> np.ndarray:
    """Numbers that sort as the values do, a missing value last."""
    if np.issubdtype(values.dtype, np.datetime64):
        return np.where(np.isnat(values), np.iinfo(np.int64).max, values.view(np.int64))
    if np.issubdtype(values.dtype, np.number):
        return np.where(np.isnan(values.astype(float)), np.inf, values.astype(float))
    return _codes(values, sort=True)
