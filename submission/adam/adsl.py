"""ADSL: one record per enrolled subject (every DM subject, excluded ones included), from SDTM only.

Each derivation adds the variables its name says (admiral style), dataset in, dataset out; the
spec's methods (specs/adam/Methods.csv, MT.ADSL.*, MT.EX.*) are the requirements. Conventions
(groups, the long-term threshold, the on-treatment window) come in as arguments from the settings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import Problem, SubError
from ..study import Grouping, StudySettings
from .adex import ODD_DAYS_ONLY, drugs_of, exposure_records, summarise_exposure
from .common import (date_bounds, derive_vars_aendt, derive_vars_astdt, exist_flag, flag, group, imputation_flag,
                     latest_date_per_subject, merge_subject_values, numeric_date, numeric_dates,
                     on_treatment, require, round_half_up)

SAFETY_EXCLUSION = "EXCLUSION FROM SAFETY SET"
EFFICACY_EXCLUSION = "EXCLUSION FROM EFFICACY SET"
NOT_IN_SAFETY_SET = "NOT IN SAFETY SET"
# reasons for exclusions the data show even when the monitoring review missed them (DVDECOD terms)
NO_DOSE = "NO DOSE"
NO_EVALUABLE_RESPONSE = "NO EVALUABLE RESPONSE"

# Columns each SDTM domain must offer ADSL (an absent domain counts as one without records).
_COLUMNS = {
    "DM": ["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "ARM", "ACTARM", "DTHFL",
           "DTHDTC", "RFICDTC", "RFPENDTC", "RFXSTDTC"],
    "SUPPDM": ["USUBJID", "QNAM", "QVAL"],
    "TS": ["TSPARMCD", "TSVAL"],
    "EX": ["USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSFRQ", "EXDOSRGM", "EXSTDTC", "EXENDTC"],
    "AE": ["USUBJID", "AEACN", "AESTDTC", "AEENDTC"],
    "CM": ["USUBJID", "CMSTDTC", "CMENDTC"],
    "RS": ["USUBJID", "RSSEQ", "RSTESTCD", "RSCAT", "RSSTRESC", "RSSTRESN", "RSDTC"],
    "DS": ["USUBJID", "DSSEQ", "DSCAT", "DSDECOD", "DSTERM", "DSSTDTC"],
    "VS": ["USUBJID", "VSTESTCD", "VSSTRESN", "VSLOBXFL"],
    "LB": ["USUBJID", "LBTESTCD", "LBSTRESN", "LBLOBXFL"],
    "RP": ["USUBJID", "RPTESTCD", "RPSTRESC"],
    "PR": ["USUBJID", "PRTRT", "PROCCUR"],
    "MH": ["USUBJID", "MHSEQ", "MHCAT"],
    "SUPPMH": ["USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QVAL"],
    "DV": ["USUBJID", "DVSEQ", "DVCAT", "DVDECOD"],
}


def domain(sdtm: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
    """An SDTM domain with the columns ADSL reads; a domain not produced is one without records."""
    frame = sdtm.get(name)
    if frame is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _COLUMNS[name]})
    require(frame, _COLUMNS[name], f"ADSL from {name}")
    return frame


# --- identity and dates ---------------------------------------------------------------------------

def adsl_from_dm(dm: pd.DataFrame) -> pd.DataFrame:
    """One record per DM subject with the DM predecessors (TRT01P = ARM, TRT01A = ACTARM), RFICDT
    (MT.ADSL.RFICDT) and ENRLFL = 'Y' (MT.ADSL.ENRLFL: DM holds the enrolled subjects)."""
    require(dm, ["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "ARM", "ACTARM",
                 "DTHFL", "RFICDTC"], "adsl_from_dm")
    adsl = dm[["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "DTHFL"]].copy()
    adsl["TRT01P"] = dm["ARM"]
    adsl["TRT01A"] = dm["ACTARM"]
    adsl["RFICDT"] = numeric_dates(dm["RFICDTC"])
    adsl["ENRLFL"] = "Y"
    return adsl.reset_index(drop=True)


def derive_var_recrtrt(adsl: pd.DataFrame, suppdm: pd.DataFrame, *, qnam: str = "RECRTRT") -> pd.DataFrame:
    """Add RECRTRT: SUPPDM.QVAL of QNAM `qnam` (MT.ADSL.RECRTRT)."""
    source = suppdm[suppdm["QNAM"] == qnam]
    return merge_subject_values(adsl, source, {"RECRTRT": "QVAL"})


def derive_var_dcutdt(adsl: pd.DataFrame, ts: pd.DataFrame, *, parmcd: str = "DCUTDTC") -> pd.DataFrame:
    """Add DCUTDT: the numeric TS.TSVAL of TSPARMCD `parmcd`, the same for every subject."""
    require(ts, ["TSPARMCD", "TSVAL"], "derive_var_dcutdt")
    values = numeric_date(ts.loc[ts["TSPARMCD"] == parmcd, "TSVAL"]).dropna()
    if values.empty:
        raise SubError(Problem("ts.xpt", None, "TSVAL", None,
                               f"TS has no complete date for TSPARMCD {parmcd}: the data cut-off caps every imputation"))
    cutoff = values.iloc[0]
    return adsl.assign(DCUTDT=pd.Series(cutoff, index=adsl.index, dtype="datetime64[ns]"))


def derive_var_lstalvdt(adsl: pd.DataFrame, sources: list[tuple[pd.DataFrame, list[str]]]) -> pd.DataFrame:
    """Add LSTALVDT: the latest complete date of the sources' date columns, never after DCUTDT."""
    require(adsl, ["USUBJID", "DCUTDT"], "derive_var_lstalvdt")
    latest = adsl["USUBJID"].map(latest_date_per_subject(sources))
    latest = pd.to_datetime(latest)
    return adsl.assign(LSTALVDT=latest.where(~(latest > adsl["DCUTDT"]), adsl["DCUTDT"]))


def derive_var_trtsdt(adsl: pd.DataFrame, dm: pd.DataFrame) -> pd.DataFrame:
    """Add TRTSDT: the numeric DM.RFXSTDTC (first REVLIMID dose; MT.ADSL.TRTSDT)."""
    require(dm, ["USUBJID", "RFXSTDTC"], "derive_var_trtsdt")
    first = pd.Series(numeric_dates(dm["RFXSTDTC"]).to_numpy(), index=dm["USUBJID"])
    return adsl.assign(TRTSDT=pd.to_datetime(adsl["USUBJID"].map(first)))


def derive_vars_dthdt(adsl: pd.DataFrame, dm: pd.DataFrame) -> pd.DataFrame:
    """Add DTHDT and DTHDTF from DM.DTHDTC (MT.ADSL.DTHDT, MT.DTF): a partial date goes to the later
    of its first possible day and LSTALVDT, within the month (or year) it gives, never after DCUTDT."""
    require(adsl, ["USUBJID", "LSTALVDT", "DCUTDT"], "derive_vars_dthdt")
    require(dm, ["USUBJID", "DTHDTC"], "derive_vars_dthdt")
    dtc = adsl["USUBJID"].map(pd.Series(dm["DTHDTC"].to_numpy(), index=dm["USUBJID"]))
    earliest, latest = date_bounds(dtc)
    dtf = imputation_flag(dtc)
    partial = dtf.notna()
    imputed = pd.concat([earliest, adsl["LSTALVDT"]], axis=1).max(axis=1)
    imputed = pd.concat([imputed, latest, adsl["DCUTDT"]], axis=1).min(axis=1)
    return adsl.assign(DTHDT=earliest.where(~partial, imputed), DTHDTF=dtf)


# --- exposure (REVLIMID) --------------------------------------------------------------------------

def derive_vars_exposure(adsl: pd.DataFrame, summary: pd.DataFrame, *, extrt: str) -> pd.DataFrame:
    """Add TRTEDT (last record end, MT.ADSL.TRTEDT), TRTDURD (MT.EX.DUR), NUMCYC (MT.EX.CYC),
    CUMDOSE (MT.EX.CUMD), DOSINT (MT.EX.DINT), STDOSE (MT.EX.STD) and STDOSFRQ from the per-drug
    exposure summary (adex.summarise_exposure) of the drug `extrt`."""
    require(adsl, ["USUBJID", "TRTSDT"], "derive_vars_exposure")
    drug = summary[summary["EXTRT"] == extrt]
    out = merge_subject_values(adsl, drug, {"TRTEDT": "EXLAST", "NUMCYC": "EXCYC", "CUMDOSE": "EXCUMD",
                                            "STDOSE": "EXSTD", "STDOSFRQ": "EXSTDFRQ"})
    out["TRTEDT"] = pd.to_datetime(out["TRTEDT"]).where(out["TRTSDT"].notna())
    out["TRTDURD"] = (out["TRTEDT"] - out["TRTSDT"]).dt.days + 1
    out["DOSINT"] = round_half_up(out["CUMDOSE"] / out["TRTDURD"].where(out["TRTDURD"] > 0), 2)
    return out


def derive_var_ltusefl(adsl: pd.DataFrame, *, days: int) -> pd.DataFrame:
    """Add LTUSEFL: Y when TRTDURD >= `days` (settings conventions.long_term_use_days), N otherwise."""
    require(adsl, ["TRTDURD"], "derive_var_ltusefl")
    return adsl.assign(LTUSEFL=flag(adsl["TRTDURD"] >= days, no="N"))


def _in_dosing_order(records: pd.DataFrame, extrt: str) -> pd.DataFrame:
    # Sorted on the dates only: a subject's records keep this order inside a groupby.
    drug = records[records["EXTRT"] == extrt]
    return drug.sort_values(["EXSTDT", "EXSEQ"], kind="mergesort", na_position="last")


def derive_var_dosredfl(adsl: pd.DataFrame, records: pd.DataFrame, *, extrt: str,
                        odd_days_only: frozenset[str] = ODD_DAYS_ONLY) -> pd.DataFrame:
    """Add DOSREDFL (MT.ADSL.DOSREDFL): Y when a record of `extrt` has a lower dose per day than the
    record before it (EXDOSE, halved for an every-other-day frequency); N otherwise."""
    require(records, ["USUBJID", "EXTRT", "EXSEQ", "EXSTDT", "EXDOSE", "EXDOSFRQ"], "derive_var_dosredfl")
    drug = _in_dosing_order(records, extrt)
    per_day = drug["EXDOSE"].astype("float64") * np.where(drug["EXDOSFRQ"].isin(odd_days_only), 0.5, 1.0)
    before = per_day.groupby(drug["USUBJID"], sort=False).shift(1)
    reduced = drug.loc[(per_day < before).to_numpy()]
    return adsl.assign(DOSREDFL=exist_flag(adsl, reduced))


def derive_var_intrfl(adsl: pd.DataFrame, records: pd.DataFrame, ae: pd.DataFrame, *, extrt: str,
                      aeacn: str = "DRUG INTERRUPTED") -> pd.DataFrame:
    """Add INTRFL (MT.ADSL.INTRFL): Y when a record of `extrt` starts after the cycle due after the
    record before it (its EXSTDT + cycle length x its cycles), or an AE has AEACN `aeacn`; N otherwise."""
    require(records, ["USUBJID", "EXTRT", "EXSEQ", "EXSTDT", "EXCYCLEN", "EXNCYC"], "derive_var_intrfl")
    require(ae, ["USUBJID", "AEACN"], "derive_var_intrfl")
    drug = _in_dosing_order(records, extrt)
    due = drug["EXSTDT"] + pd.to_timedelta(drug["EXCYCLEN"] * drug["EXNCYC"], unit="D")
    due_before = due.groupby(drug["USUBJID"], sort=False).shift(1)
    gap = drug.loc[(drug["EXSTDT"] > due_before).to_numpy(), ["USUBJID"]]
    interrupted = pd.concat([gap, ae.loc[ae["AEACN"] == aeacn, ["USUBJID"]]])
    return adsl.assign(INTRFL=exist_flag(adsl, interrupted))


# --- baseline characteristics ---------------------------------------------------------------------

def derive_vars_vs_baseline(adsl: pd.DataFrame, vs: pd.DataFrame, *,
                            tests: dict[str, str] | None = None) -> pd.DataFrame:
    """Add the baseline VS results (VSSTRESN of the VSLOBXFL = 'Y' record), new variable -> VSTESTCD:
    by default HEIGHTBL and WEIGHTBL."""
    tests = tests or {"HEIGHTBL": "HEIGHT", "WEIGHTBL": "WEIGHT"}
    require(vs, ["USUBJID", "VSTESTCD", "VSSTRESN", "VSLOBXFL"], "derive_vars_vs_baseline")
    base = vs[vs["VSLOBXFL"] == "Y"]
    out = adsl
    for new, testcd in tests.items():
        out = merge_subject_values(out, base[base["VSTESTCD"] == testcd], {new: "VSSTRESN"})
    return out


def derive_var_creatbl(adsl: pd.DataFrame, lb: pd.DataFrame, *, testcd: str = "CREAT") -> pd.DataFrame:
    """Add CREATBL: LBSTRESN (mg/dL) of the baseline (LBLOBXFL = 'Y') serum creatinine."""
    require(lb, ["USUBJID", "LBTESTCD", "LBSTRESN", "LBLOBXFL"], "derive_var_creatbl")
    base = lb[(lb["LBLOBXFL"] == "Y") & (lb["LBTESTCD"] == testcd)]
    return merge_subject_values(adsl, base, {"CREATBL": "LBSTRESN"})


def derive_var_procedure_flag(adsl: pd.DataFrame, pr: pd.DataFrame, *, new_var: str, prtrt: str) -> pd.DataFrame:
    """Add `new_var` from the pre-specified PR question `prtrt`: its PROCCUR (Y or N); null when
    the question has no answer for the subject (DIALYFL: DIALYSIS; PRSCTFL: the transplant)."""
    require(pr, ["USUBJID", "PRTRT", "PROCCUR"], "derive_var_procedure_flag")
    answered = pr[(pr["PRTRT"] == prtrt) & pr["PROCCUR"].isin(["Y", "N"])]
    # A subject with a 'Y' among several answers had the procedure.
    answered = answered.assign(_yes=answered["PROCCUR"].eq("Y"))
    return merge_subject_values(adsl, answered, {new_var: "PROCCUR"}, order=["_yes"], last=True)


def derive_vars_pregnancy(adsl: pd.DataFrame, rp: pd.DataFrame, lb: pd.DataFrame) -> pd.DataFrame:
    """Add CBPFL and PTESTFL (MT.ADSL.CBPFL, MT.ADSL.PTESTFL): the pregnancy prevention programme.

    CBPFL: RP CHILDPOT of the subject (Y or N; null when not asked, e.g. men). PTESTFL, for a woman
    of childbearing potential (CBPFL = 'Y'): 'Y' when LB has an HCG result (LBORRES) dated on or
    before TRTSDT (any date when the subject was never dosed), 'N' otherwise; null when CBPFL is
    not 'Y'. A study without these data keeps both null."""
    require(adsl, ["USUBJID", "TRTSDT"], "derive_vars_pregnancy")
    require(rp, ["USUBJID", "RPTESTCD", "RPSTRESC"], "derive_vars_pregnancy")
    asked = rp[(rp["RPTESTCD"] == "CHILDPOT") & rp["RPSTRESC"].isin(["Y", "N"])]
    out = merge_subject_values(adsl, asked.assign(_y=asked["RPSTRESC"].eq("Y")), {"CBPFL": "RPSTRESC"},
                               order=["_y"], last=True)
    cbp = out["CBPFL"].eq("Y")
    if {"LBTESTCD", "LBORRES", "LBDTC"} <= set(lb.columns):
        tests = lb[(lb["LBTESTCD"] == "HCG") & lb["LBORRES"].notna() & lb["LBORRES"].astype(str).ne("")]
        when = pd.Series(pd.to_datetime(numeric_dates(tests["LBDTC"])).to_numpy(), index=tests.index)
        first = tests["USUBJID"].map(pd.Series(out["TRTSDT"].to_numpy(), index=out["USUBJID"]))
        before = when.notna() & (first.isna() | (when <= first))
        tested = set(tests.loc[before, "USUBJID"])
    else:
        tested = set()
    out["PTESTFL"] = pd.Series(np.where(out["USUBJID"].isin(tested), "Y", "N"), index=out.index,
                               dtype=object).where(cbp, None)
    return out


def derive_vars_rs_baseline(adsl: pd.DataFrame, rs: pd.DataFrame) -> pd.DataFrame:
    """Add ISSBL (RSSTRESC of RSTESTCD 'ISS') and ECOGBL (RSSTRESN of 'ECOG101'): the clinical
    classifications of the diagnosis form; the last by RSSEQ (RSDTC order) when there are several."""
    require(rs, ["USUBJID", "RSSEQ", "RSTESTCD", "RSSTRESC", "RSSTRESN"], "derive_vars_rs_baseline")
    out = merge_subject_values(adsl, rs[rs["RSTESTCD"] == "ISS"], {"ISSBL": "RSSTRESC"},
                               order=["RSSEQ"], last=True)
    return merge_subject_values(out, rs[rs["RSTESTCD"] == "ECOG101"], {"ECOGBL": "RSSTRESN"},
                                order=["RSSEQ"], last=True)


def derive_vars_diagnosis(adsl: pd.DataFrame, mh: pd.DataFrame, suppmh: pd.DataFrame, *,
                          mhcat: str = "PRIMARY DIAGNOSIS") -> pd.DataFrame:
    """Add MPROTYP (SUPPMH QNAM MPROTTYP) and PRLINES (QNAM PRLINES, as a number), the qualifiers
    of the subject's MH record of category `mhcat` (SUPPMH IDVAR MHSEQ)."""
    require(mh, ["USUBJID", "MHSEQ", "MHCAT"], "derive_vars_diagnosis")
    require(suppmh, ["USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QVAL"], "derive_vars_diagnosis")
    diagnosis = mh.loc[mh["MHCAT"] == mhcat, ["USUBJID", "MHSEQ"]].astype({"MHSEQ": "float64"})
    supp = suppmh[suppmh["IDVAR"] == "MHSEQ"].assign(MHSEQ=lambda f: pd.to_numeric(f["IDVARVAL"], errors="coerce"))
    qualifiers = supp.merge(diagnosis, on=["USUBJID", "MHSEQ"], how="inner")
    out = merge_subject_values(adsl, qualifiers[qualifiers["QNAM"] == "MPROTTYP"], {"MPROTYP": "QVAL"})
    out = merge_subject_values(out, qualifiers[qualifiers["QNAM"] == "PRLINES"], {"PRLINES": "QVAL"})
    out["PRLINES"] = pd.to_numeric(out["PRLINES"], errors="coerce")
    return out


def derive_var_bmibl(adsl: pd.DataFrame) -> pd.DataFrame:
    """Add BMIBL = WEIGHTBL / (HEIGHTBL / 100) ** 2, rounded half up to 1 decimal (MT.ADSL.BMIBL)."""
    require(adsl, ["HEIGHTBL", "WEIGHTBL"], "derive_var_bmibl")
    height = adsl["HEIGHTBL"].astype("float64").where(adsl["HEIGHTBL"] > 0)
    return adsl.assign(BMIBL=round_half_up(adsl["WEIGHTBL"].astype("float64") / (height / 100) ** 2, 1))


def derive_var_crclbl(adsl: pd.DataFrame, *, female_factor: float = 0.85) -> pd.DataFrame:
    """Add CRCLBL, Cockcroft-Gault (140 - AGE) x WEIGHTBL / (72 x CREATBL) mL/min, x `female_factor`
    when SEX = 'F', rounded half up to 1 decimal (MT.ADSL.CRCLBL)."""
    require(adsl, ["AGE", "SEX", "WEIGHTBL", "CREATBL"], "derive_var_crclbl")
    creat = adsl["CREATBL"].astype("float64").where(adsl["CREATBL"] > 0)
    crcl = (140 - adsl["AGE"].astype("float64")) * adsl["WEIGHTBL"].astype("float64") / (72 * creat)
    crcl = crcl * np.where(adsl["SEX"] == "F", female_factor, 1.0)
    return adsl.assign(CRCLBL=round_half_up(crcl, 1))


def derive_var_group(adsl: pd.DataFrame, *, source: str, new_var: str, grouping: Grouping,
                     number_var: str | None = None) -> pd.DataFrame:
    """Add `new_var`, `source` grouped by the settings' grouping (a value on a cut goes to the upper
    group), and optionally `number_var`, the group's position (1, 2, ...) in the labels."""
    require(adsl, [source], "derive_var_group")
    out = adsl.assign(**{new_var: group(adsl[source], grouping.cuts, grouping.labels)})
    if number_var:
        out[number_var] = out[new_var].map({label: n for n, label in enumerate(grouping.labels, start=1)})
    return out


def derive_var_crclgr1(adsl: pd.DataFrame, *, grouping: Grouping) -> pd.DataFrame:
    """Add CRCLGR1 (MT.ADSL.CRCLGR1): the grouping's dialysis_label when DIALYFL = 'Y', whatever
    CRCLBL; otherwise CRCLBL grouped by the grouping's cuts and labels."""
    require(adsl, ["CRCLBL", "DIALYFL"], "derive_var_crclgr1")
    by_value = group(adsl["CRCLBL"], grouping.cuts, grouping.labels)
    if grouping.dialysis_label:
        by_value = by_value.where(adsl["DIALYFL"] != "Y", grouping.dialysis_label)
    return adsl.assign(CRCLGR1=by_value)


def derive_var_mh_flag(adsl: pd.DataFrame, mh: pd.DataFrame, *, new_var: str, mhcat: str | None = None,
                       except_mhcat: str | None = None) -> pd.DataFrame:
    """Add `new_var`: Y when the subject has an MH record of category `mhcat` (or of any category
    but `except_mhcat`), N otherwise (MT.ADSL.MHFL)."""
    require(mh, ["USUBJID", "MHCAT"], "derive_var_mh_flag")
    chosen = mh
    if mhcat is not None:
        chosen = chosen[chosen["MHCAT"] == mhcat]
    if except_mhcat is not None:
        chosen = chosen[chosen["MHCAT"] != except_mhcat]
    return adsl.assign(**{new_var: exist_flag(adsl, chosen)})


def derive_var_anycmfl(adsl: pd.DataFrame, cm: pd.DataFrame, *, days_after: int) -> pd.DataFrame:
    """Add ANYCMFL (MT.ADSL.ANYCMFL): Y when a CM record overlaps the on-treatment window TRTSDT to
    TRTEDT + `days_after`, with the dates and the rule of ADCM (MT.ASTDT, MT.AENDT, ONTRTFL); N otherwise."""
    require(adsl, ["USUBJID", "TRTSDT", "TRTEDT", "DTHDT", "DCUTDT"], "derive_var_anycmfl")
    require(cm, ["USUBJID", "CMSTDTC", "CMENDTC"], "derive_var_anycmfl")
    records = merge_subject_values(cm[["USUBJID", "CMSTDTC", "CMENDTC"]], adsl,
                                   {v: v for v in ("TRTSDT", "TRTEDT", "DTHDT", "DCUTDT")})
    records = derive_vars_astdt(records, dtc="CMSTDTC", end_dtc="CMENDTC", first_dose="TRTSDT")
    records = derive_vars_aendt(records, dtc="CMENDTC")
    during = on_treatment(records["ASTDT"], records["AENDT"], records["TRTSDT"], records["TRTEDT"], days_after)
    return adsl.assign(ANYCMFL=exist_flag(adsl, records.loc[during.to_numpy(), ["USUBJID"]]))


# --- disposition ----------------------------------------------------------------------------------

def derive_vars_disposition(adsl: pd.DataFrame, ds: pd.DataFrame, *, dscat: str = "DISPOSITION EVENT",
                            completed: str = "COMPLETED", other: str = "OTHER") -> pd.DataFrame:
    """Add EOSSTT, EOSDT, DCSREAS, DCSREASP from the disposition event (MT.ADSL.EOSSTT, EOSDT,
    DCSREAS, DCSREASP): COMPLETED / DISCONTINUED, or ONGOING without one (the latest if several)."""
    require(ds, ["USUBJID", "DSSEQ", "DSCAT", "DSDECOD", "DSTERM", "DSSTDTC"], "derive_vars_disposition")
    events = ds[ds["DSCAT"] == dscat]
    out = merge_subject_values(adsl, events, {"_DSDECOD": "DSDECOD", "_DSTERM": "DSTERM", "_DSSTDTC": "DSSTDTC"},
                               order=["DSSTDTC", "DSSEQ"], last=True)
    has_event = out["USUBJID"].isin(events["USUBJID"])
    out["EOSSTT"] = np.where(~has_event, "ONGOING", np.where(out["_DSDECOD"] == completed, "COMPLETED", "DISCONTINUED"))
    out["EOSDT"] = numeric_dates(out["_DSSTDTC"]).where(has_event)
    out["DCSREAS"] = out["_DSDECOD"].where(out["EOSSTT"] == "DISCONTINUED", None)
    out["DCSREASP"] = out["_DSTERM"].where(out["DCSREAS"] == other, None)
    return out.drop(columns=["_DSDECOD", "_DSTERM", "_DSSTDTC"])


# --- analysis sets --------------------------------------------------------------------------------

def _first_exclusion(dv: pd.DataFrame, dvcat: str) -> pd.DataFrame:
    require(dv, ["USUBJID", "DVSEQ", "DVCAT", "DVDECOD"], "analysis set from DV")
    return dv[dv["DVCAT"] == dvcat]


def derive_vars_saffl(adsl: pd.DataFrame, dv: pd.DataFrame, *, dvcat: str = SAFETY_EXCLUSION,
                      no_dose: str = NO_DOSE) -> pd.DataFrame:
    """Add SAFFL and SAFEXRS (MT.ADSL.SAFFL, SAFEXRS): N when the monitoring review excluded the
    subject from the safety set (a DV record of category `dvcat`, the reason its DVDECOD, the first
    by DVSEQ), and also when the data show no REVLIMID dose (TRTSDT missing; reason `no_dose`)
    whatever the review says; Y otherwise."""
    require(adsl, ["USUBJID", "TRTSDT"], "derive_vars_saffl")
    excluded = _first_exclusion(dv, dvcat)
    out = merge_subject_values(adsl, excluded, {"SAFEXRS": "DVDECOD"}, order=["DVSEQ"])
    reviewed_out = out["USUBJID"].isin(excluded["USUBJID"])
    undosed = out["TRTSDT"].isna() & ~reviewed_out
    out["SAFEXRS"] = out["SAFEXRS"].where(~undosed, no_dose)
    out["SAFFL"] = flag(~reviewed_out & ~undosed, no="N")
    return out


def evaluable_subjects(rs: pd.DataFrame, settings: StudySettings) -> pd.Series:
    """Subjects with at least one IMWG response (visit or collected best) other than not evaluable."""
    require(rs, ["USUBJID", "RSTESTCD", "RSSTRESC"], "evaluable_subjects")
    response = settings.conventions.response
    tests = rs["RSTESTCD"].isin(["OVRLRESP", "BESTRESP"])
    known = rs["RSSTRESC"].isin(response.order) & rs["RSSTRESC"].ne(response.not_evaluable)
    return rs.loc[tests & known, "USUBJID"].drop_duplicates()


def derive_vars_efffl(adsl: pd.DataFrame, dv: pd.DataFrame, *, evaluable: pd.Series | None = None,
                      dvcat: str = EFFICACY_EXCLUSION, not_in_safety_set: str = NOT_IN_SAFETY_SET,
                      no_evaluable: str = NO_EVALUABLE_RESPONSE) -> pd.DataFrame:
    """Add EFFFL and EFFEXRS (MT.ADSL.EFFFL, EFFEXRS): N when SAFFL = 'N' (reason `not_in_safety_set`),
    when the monitoring review excluded the subject from the efficacy set (a DV record of category
    `dvcat`, reason its DVDECOD, the first by DVSEQ), or when the data hold no evaluable response
    (`evaluable`: the subjects that have one; reason `no_evaluable`); Y otherwise."""
    require(adsl, ["USUBJID", "SAFFL"], "derive_vars_efffl")
    excluded = _first_exclusion(dv, dvcat)
    out = merge_subject_values(adsl, excluded, {"EFFEXRS": "DVDECOD"}, order=["DVSEQ"])
    unsafe = out["SAFFL"] != "Y"
    reviewed_out = out["USUBJID"].isin(excluded["USUBJID"])
    unevaluable = ~unsafe & ~reviewed_out & (~out["USUBJID"].isin(evaluable) if evaluable is not None else False)
    out["EFFEXRS"] = out["EFFEXRS"].where(~unsafe, not_in_safety_set).where(~unevaluable, no_evaluable)
    out["EFFFL"] = flag(~unsafe & ~reviewed_out & ~unevaluable, no="N")
    return out


# --- the dataset ----------------------------------------------------------------------------------

def build_adsl(sdtm: dict[str, pd.DataFrame], settings: StudySettings) -> pd.DataFrame:
    d = {name: domain(sdtm, name) for name in _COLUMNS}
    conventions = settings.conventions
    groups = conventions.groups
    extrt = drugs_of(settings)[0].extrt

    adsl = adsl_from_dm(d["DM"])
    adsl = derive_var_recrtrt(adsl, d["SUPPDM"])
    adsl = derive_var_dcutdt(adsl, d["TS"])
    adsl = derive_var_lstalvdt(adsl, [
        (d["DM"], ["RFPENDTC", "RFICDTC"]), (d["EX"], ["EXSTDTC", "EXENDTC"]), (d["AE"], ["AESTDTC", "AEENDTC"]),
        (d["CM"], ["CMSTDTC", "CMENDTC"]), (d["RS"], ["RSDTC"]), (d["DS"], ["DSSTDTC"])])
    adsl = derive_var_trtsdt(adsl, d["DM"])
    adsl = derive_vars_dthdt(adsl, d["DM"])

    records = exposure_records(d["EX"], adsl)
    adsl = derive_vars_exposure(adsl, summarise_exposure(records), extrt=extrt)
    adsl = derive_var_ltusefl(adsl, days=conventions.long_term_use_days)
    adsl = derive_var_dosredfl(adsl, records, extrt=extrt)
    adsl = derive_var_intrfl(adsl, records, d["AE"], extrt=extrt)

    adsl = derive_vars_vs_baseline(adsl, d["VS"])
    adsl = derive_var_creatbl(adsl, d["LB"])
    adsl = derive_var_procedure_flag(adsl, d["PR"], new_var="DIALYFL", prtrt="DIALYSIS")
    adsl = derive_var_procedure_flag(adsl, d["PR"], new_var="PRSCTFL", prtrt="HEMATOPOIETIC STEM CELL TRANSPLANT")
    adsl = derive_vars_rs_baseline(adsl, d["RS"])
    adsl = derive_vars_pregnancy(adsl, d["RP"], sdtm.get("LB", d["LB"]))
    adsl = derive_vars_diagnosis(adsl, d["MH"], d["SUPPMH"])
    adsl = derive_var_bmibl(adsl)
    adsl = derive_var_crclbl(adsl)
    adsl = derive_var_group(adsl, source="AGE", new_var="AGEGR1", number_var="AGEGR1N", grouping=groups["AGEGR1"])
    adsl = derive_var_group(adsl, source="AGE", new_var="AGEGR2", number_var="AGEGR2N", grouping=groups["AGEGR2"])
    adsl = derive_var_group(adsl, source="BMIBL", new_var="BMIGR1", grouping=groups["BMIGR1"])
    adsl = derive_var_crclgr1(adsl, grouping=groups["CRCLGR1"])

    adsl = derive_var_mh_flag(adsl, d["MH"], new_var="RENIMPFL", mhcat="RENAL IMPAIRMENT")
    adsl = derive_var_mh_flag(adsl, d["MH"], new_var="HEPIMPFL", mhcat="HEPATIC IMPAIRMENT")
    adsl = derive_var_mh_flag(adsl, d["MH"], new_var="ALLERGFL", mhcat="ALLERGY")
    adsl = derive_var_mh_flag(adsl, d["MH"], new_var="ANYMHFL", except_mhcat="PRIMARY DIAGNOSIS")
    adsl = derive_var_anycmfl(adsl, d["CM"], days_after=conventions.treatment_emergent_days)

    adsl = derive_vars_disposition(adsl, d["DS"])
    adsl = derive_vars_saffl(adsl, d["DV"])
    adsl = derive_vars_efffl(adsl, d["DV"], evaluable=evaluable_subjects(d["RS"], settings))
    return adsl
