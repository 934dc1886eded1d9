"""ADEX: exposure per subject and drug (BDS), and the EX record derivations ADSL shares.

An EX record is one dosing period of consecutive cycles at one dose (MT.EX.*): it starts on day 1
of its first cycle and ends on its last dose; EXDOSRGM names the dosing days of the cycle and
the cycle length. Everything is computed per record with array arithmetic, then summed per
subject and drug; no loop runs over subjects (only over the few distinct regimens).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import Problem, SubError
from ..study import StudySettings
from .common import merge_subject_values, numeric_dates, require, round_half_up

_DAY_LIST = re.compile(r"^DAYS (\d+(?:-\d+)?(?:, \d+(?:-\d+)?)*) OF (\d+)-DAY CYCLE$")
_DAY_COUNT = re.compile(r"^(\d+) DAYS OF (\d+)-DAY CYCLE$")

# EXDOSFRQ values that dose every other day from day 1: only the odd days of the cycle are dosing days.
ODD_DAYS_ONLY = frozenset({"QOD"})


@dataclass(frozen=True)
class Drug:
    """One drug of ADEX: its EX.EXTRT, its PARCAT1 and the prefix and numbering of its parameters."""

    extrt: str
    parcat1: str
    code: str  # PARAMCD prefix
    name: str  # PARAM prefix
    paramn_offset: int


# Parameters per drug (codelists EXPARMCD, EXPARM, EXPARMN): suffix, PARAM suffix, PARAMN in the drug.
PARAMETERS = [
    ("DUR", "Treatment Duration (days)", 1, "EXDUR"),
    ("CYC", "Number of Cycles", 2, "EXCYC"),
    ("DDAYS", "Number of Dosing Days", 3, "EXDDAYS"),
    ("CUMD", "Cumulative Dose (mg)", 4, "EXCUMD"),
    ("MDD", "Mean Dose per Dosing Day (mg)", 5, "EXMDD"),
    ("DINT", "Dose Intensity (mg/day)", 6, "EXDINT"),
    ("STD", "Starting Dose (mg)", 7, "EXSTD"),
]


def drugs_of(settings: StudySettings) -> list[Drug]:
    """REVLIMID and its companion drug, with the EXTRT values SDTM gives them (generic names)."""
    study = settings.study
    return [
        Drug(study.drug_generic.upper(), study.drug.upper(), "RVL", study.drug, 0),
        Drug(study.companion_drug.upper(), study.companion_drug.upper(), "DEX", study.companion_drug.capitalize(), 10),
    ]


ADSL_VARIABLES = ["STUDYID", "SUBJID", "SITEID", "SAFFL", "TRTSDT", "TRTEDT"]


# --- EX record derivations ---------------------------------------------------------------------

def parse_regimen(regimen: str) -> tuple[int, frozenset[int]] | None:
    """(cycle length, dosing days of the cycle) of an EXDOSRGM text; None when not understood."""
    text = (regimen or "").strip().upper()
    listed = _DAY_LIST.match(text)
    if listed:
        days = set()
        for part in listed.group(1).split(", "):
            first, _, last = part.partition("-")
            days.update(range(int(first), int(last or first) + 1))
        return int(listed.group(2)), frozenset(days)
    counted = _DAY_COUNT.match(text)
    if counted:
        return int(counted.group(2)), frozenset(range(1, int(counted.group(1)) + 1))
    return None


def derive_var_exstdt(ex: pd.DataFrame) -> pd.DataFrame:
    """Add EXSTDT: the numeric EXSTDTC."""
    require(ex, ["EXSTDTC"], "derive_var_exstdt")
    return ex.assign(EXSTDT=numeric_dates(ex["EXSTDTC"]))


def derive_var_exrecend(ex: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """Add EXRECEND, the record end of MT.EX.DUR: the numeric EXENDTC, or for a period ongoing at
    the data cut-off (EXENDTC missing) the earlier of ADSL.LSTALVDT and ADSL.DCUTDT."""
    require(ex, ["USUBJID", "EXENDTC"], "derive_var_exrecend")
    require(adsl, ["USUBJID", "LSTALVDT", "DCUTDT"], "derive_var_exrecend")
    subject = adsl.set_index("USUBJID")
    contact = pd.concat([subject["LSTALVDT"], subject["DCUTDT"]], axis=1).min(axis=1)
    ended = numeric_dates(ex["EXENDTC"])
    ongoing = ex["EXENDTC"].isna()
    return ex.assign(EXRECEND=ended.where(~ongoing, ex["USUBJID"].map(contact)))


def derive_vars_cycles_and_dosing_days(ex: pd.DataFrame, *, odd_days_only: frozenset[str] = ODD_DAYS_ONLY,
                                       source: str = "EX") -> pd.DataFrame:
    """Add EXCYCLEN (cycle length), EXNCYC (cycles started, MT.EX.CYC) and EXDDAYS (dosing days,
    MT.EX.DDAYS) per record, from EXSTDT to EXRECEND and the regimen EXDOSRGM; with a frequency
    in `odd_days_only` (QOD) only the odd days of the cycle among the regimen's days count.
    Null for a record without EXDOSRGM; an EXDOSRGM that names no dosing days stops the build
    (every such value reported at once)."""
    require(ex, ["EXSTDT", "EXRECEND", "EXDOSRGM", "EXDOSFRQ"], "derive_vars_cycles_and_dosing_days")
    regimens = ex["EXDOSRGM"].astype(object).where(ex["EXDOSRGM"].notna(), "")
    keys = regimens + "|" + ex["EXDOSFRQ"].astype(object).where(ex["EXDOSFRQ"].notna(), "")
    codes, uniques = pd.factorize(keys, sort=True)
    parsed, problems = [], []
    for key in uniques:
        regimen, frequency = key.split("|")
        result = parse_regimen(regimen) if regimen else (1, frozenset())
        if result is None or result[0] < 1:
            problems.append(Problem(source, None, "EXDOSRGM", regimen,
                                    "expected 'DAYS a-b, ... OF n-DAY CYCLE' or 'k DAYS OF n-DAY CYCLE'"))
            continue
        length, days = result
        if frequency in odd_days_only:
            days = frozenset(d for d in days if d % 2 == 1)
        parsed.append((length, days))
    if problems:
        raise SubError(problems, "EX: dosing regimens that name no dosing days")
    longest = max((length for length, _ in parsed), default=1)
    # cumulative[k, r] = dosing days among days 1..r of a cycle of regimen k
    cumulative = np.zeros((len(parsed), longest + 1), dtype=np.int64)
    lengths = np.array([length for length, _ in parsed], dtype=np.int64)
    for k, (length, days) in enumerate(parsed):
        marks = np.zeros(longest + 1, dtype=np.int64)
        marks[[d for d in days if 1 <= d <= length]] = 1
        cumulative[k] = np.cumsum(marks)
    period = ((ex["EXRECEND"] - ex["EXSTDT"]).dt.days + 1).to_numpy(dtype="float64")
    known = ~np.isnan(period) & (regimens != "").to_numpy()
    days = np.where(known, np.maximum(np.nan_to_num(period), 0), 0).astype(np.int64)
    cycle_length = lengths[codes]
    full, rest = np.divmod(days, cycle_length)
    dosing_days = full * cumulative[codes, cycle_length] + cumulative[codes, rest]
    cycles = -(-days // cycle_length)
    return ex.assign(
        EXCYCLEN=np.where((regimens != "").to_numpy(), cycle_length, np.nan),
        EXNCYC=pd.Series(np.where(known, cycles, np.nan), index=ex.index),
        EXDDAYS=pd.Series(np.where(known, dosing_days, np.nan), index=ex.index),
    )


def derive_var_excumd(ex: pd.DataFrame) -> pd.DataFrame:
    """Add EXCUMD: the record's dose delivered, EXDOSE (mg) x its dosing days (MT.EX.CUMD)."""
    require(ex, ["EXDOSE", "EXDDAYS"], "derive_var_excumd")
    return ex.assign(EXCUMD=ex["EXDOSE"].astype("float64") * ex["EXDDAYS"])


def exposure_records(ex: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """EX with the per-record derivations: EXSTDT, EXRECEND, EXCYCLEN, EXNCYC, EXDDAYS, EXCUMD."""
    out = derive_var_exstdt(ex)
    out = derive_var_exrecend(out, adsl)
    out = derive_vars_cycles_and_dosing_days(out)
    return derive_var_excumd(out)


def _sum_if_all_known(grouped, column: str) -> pd.Series:
    # A record whose value is unknown (no regimen, partial start) makes the drug's total unknown:
    # a sum over the known records would understate the exposure without saying so.
    total = grouped[column].sum(min_count=1)
    return total.where(grouped[column].count() == grouped[column].size())


def summarise_exposure(records: pd.DataFrame) -> pd.DataFrame:
    """One row per USUBJID and EXTRT with the exposure of MT.EX.*: EXFIRST, EXLAST (first dose and
    last record end), EXDUR, EXCYC, EXDDAYS, EXCUMD, EXMDD, EXDINT, EXSTD, EXSTDFRQ."""
    require(records, ["USUBJID", "EXTRT", "EXSEQ", "EXSTDT", "EXRECEND", "EXNCYC", "EXDDAYS", "EXCUMD",
                      "EXDOSE", "EXDOSFRQ"], "summarise_exposure")
    columns = ["USUBJID", "EXTRT", "EXSTDT", "EXSEQ", "EXRECEND", "EXNCYC", "EXDDAYS", "EXCUMD", "EXDOSE", "EXDOSFRQ"]
    # Within each group the rows keep this order, so `first` is the drug's first record.
    ordered = records[columns].sort_values(["EXSTDT", "EXSEQ"], kind="mergesort", na_position="last")
    grouped = ordered.groupby(["USUBJID", "EXTRT"], sort=True)
    # Built-in reductions only: a Python function per group would loop over the subjects.
    summary = pd.DataFrame({
        "EXFIRST": grouped["EXSTDT"].min(),
        "EXLAST": grouped["EXRECEND"].max(),
        "EXCYC": _sum_if_all_known(grouped, "EXNCYC"),
        "EXDDAYS": _sum_if_all_known(grouped, "EXDDAYS"),
        "EXCUMD": _sum_if_all_known(grouped, "EXCUMD"),
        "EXSTD": grouped["EXDOSE"].first(skipna=False),
        "EXSTDFRQ": grouped["EXDOSFRQ"].first(skipna=False),
    })
    summary["EXDUR"] = (summary["EXLAST"] - summary["EXFIRST"]).dt.days + 1
    summary["EXMDD"] = round_half_up(summary["EXCUMD"] / summary["EXDDAYS"].where(summary["EXDDAYS"] > 0), 2)
    summary["EXDINT"] = round_half_up(summary["EXCUMD"] / summary["EXDUR"].where(summary["EXDUR"] > 0), 2)
    return summary.reset_index()


# --- ADEX ----------------------------------------------------------------------------------------

def derive_params_exposure(summary: pd.DataFrame, drugs: list[Drug], *, carry: list[str] = ()) -> pd.DataFrame:
    """One record per subject, drug and parameter from the per-drug summary; drugs not listed are
    left out. AVAL per PARAMCD (MT.EX.DUR, CYC, DDAYS, CUMD, MDD, DINT, STD); ASTDT/AENDT the
    drug's first dose and last record end; the summary's columns `carry` are repeated as they are."""
    require(summary, ["USUBJID", "EXTRT", "EXFIRST", "EXLAST", *[c for *_, c in PARAMETERS], *carry],
            "derive_params_exposure")
    kept = summary[summary["EXTRT"].isin([d.extrt for d in drugs])]
    n, k = len(kept), len(PARAMETERS)
    drug = kept["EXTRT"].map({d.extrt: i for i, d in enumerate(drugs)}).to_numpy(dtype=np.int64)
    row, parameter = np.repeat(np.arange(n), k), np.tile(np.arange(k), n)
    # [drug, parameter] tables of the assigned values, taken per record (no per-row Python)
    table = {
        "PARAMCD": [[d.code + suffix for suffix, *_ in PARAMETERS] for d in drugs],
        "PARAM": [[f"{d.name} {label}" for _, label, *_ in PARAMETERS] for d in drugs],
        "PARAMN": [[d.paramn_offset + number for _, _, number, _ in PARAMETERS] for d in drugs],
    }
    which = (drug[row], parameter)
    return pd.DataFrame({
        "USUBJID": kept["USUBJID"].to_numpy()[row],
        **{column: kept[column].to_numpy()[row] for column in carry},
        "PARCAT1": np.array([d.parcat1 for d in drugs], dtype=object)[drug[row]],
        "PARAMCD": np.array(table["PARAMCD"], dtype=object)[which],
        "PARAM": np.array(table["PARAM"], dtype=object)[which],
        "PARAMN": np.array(table["PARAMN"], dtype=np.int64)[which],
        "AVAL": kept[[column for *_, column in PARAMETERS]].to_numpy(dtype="float64").ravel(),
        "ASTDT": kept["EXFIRST"].to_numpy()[row],
        "AENDT": kept["EXLAST"].to_numpy()[row],
    })


def build_adex(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, settings: StudySettings) -> pd.DataFrame:
    ex = sdtm["EX"]
    summary = summarise_exposure(exposure_records(ex, adsl))
    # ADSL variables are merged per subject and drug, then repeated over the parameters.
    summary = merge_subject_values(summary, adsl, {**{v: v for v in ADSL_VARIABLES}, "TRTA": "TRT01A"})
    adex = derive_params_exposure(summary, drugs_of(settings), carry=[*ADSL_VARIABLES, "TRTA"])
    return adex[["STUDYID", "USUBJID", "SUBJID", "SITEID", "TRTA", "SAFFL", "TRTSDT", "TRTEDT",
                 "PARCAT1", "PARAMCD", "PARAM", "PARAMN", "AVAL", "ASTDT", "AENDT"]]
