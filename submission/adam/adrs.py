"""ADRS: best overall response by IMWG criteria and the responder parameters (BDS).

Observational study: the investigator's unconfirmed best response. Every ADSL subject gets one
record per parameter (COM.ADRS): BOR is NE when the subject has no response assessment, so an
efficacy analysis never loses a subject. The category order, AVAL and the responder sets are
study settings (conventions.response).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import Problem, SubError
from ..study import Response, StudySettings
from .common import analysis_day, merge_subject_values, numeric_dates, require

BOR = ("BOR", "Best Overall Response by Investigator (IMWG)", 1)
# Responder parameters (codelists RSPARMCD, RSPARM, RSPARMN) and the settings list each one uses.
RESPONDERS = [
    ("RSP", "Overall Responder by Investigator (IMWG)", 2, "responders"),
    ("RSPCR", "CR or Better by Investigator (IMWG)", 3, "cr_or_better"),
    ("RSPVGPR", "VGPR or Better by Investigator (IMWG)", 4, "vgpr_or_better"),
    ("RSPCBR", "Clinical Benefit by Investigator (IMWG)", 5, "clinical_benefit"),
]


ADSL_VARIABLES = ["STUDYID", "SUBJID", "SITEID", "SAFFL", "EFFFL", "TRTSDT"]
VARIABLES = ["STUDYID", "USUBJID", "SUBJID", "SITEID", "TRTA", "SAFFL", "EFFFL", "PARAMCD", "PARAM", "PARAMN",
             "AVAL", "AVALC", "ADT", "ADY", "SRCDOM", "SRCVAR", "SRCSEQ"]


def _check_categories(rs: pd.DataFrame, known: list[str]) -> None:
    bad = rs.loc[~rs["RSSTRESC"].isin(known), "RSSTRESC"]
    if len(bad):
        problems = [Problem("RS", None, "RSSTRESC", str(value), f"not an IMWG category of the settings {known}")
                    for value in sorted(bad.astype(str).unique())]
        raise SubError(problems, "RS: response categories the study settings do not order")


def derive_param_bor(adsl: pd.DataFrame, rs: pd.DataFrame, response: Response, *, rscat: str = "IMWG",
                     collected: str = "BESTRESP", visits: str = "OVRLRESP", not_evaluable: str = "NE") -> pd.DataFrame:
    """One BOR record per ADSL subject (MT.ADRS.AVALC.BOR): the collected best response (RSTESTCD
    `collected`) where the subject has one, otherwise the best visit response (RSTESTCD `visits`)
    by `response.order` (the earliest, then the lowest RSSEQ, among equals), `not_evaluable` without any.
    Carries ADT (MT.ADRS.ADT) and SRCDOM/SRCVAR/SRCSEQ of the record used."""
    require(adsl, ["USUBJID"], "derive_param_bor")
    require(rs, ["USUBJID", "RSSEQ", "RSTESTCD", "RSCAT", "RSSTRESC", "RSDTC"], "derive_param_bor")
    imwg = rs[(rs["RSCAT"] == rscat) & rs["RSTESTCD"].isin([collected, visits]) & rs["RSSTRESC"].notna()]
    _check_categories(imwg, response.order)
    if not_evaluable not in response.aval:
        raise RuntimeError(f"derive_param_bor: {not_evaluable!r} is not a category of the settings {response.order}")
    rank = {category: n for n, category in enumerate(response.order)}
    candidates = pd.DataFrame({
        "USUBJID": imwg["USUBJID"],
        "RSSTRESC": imwg["RSSTRESC"],
        "RSSEQ": imwg["RSSEQ"],
        "_source": np.where(imwg["RSTESTCD"] == collected, 0, 1),
        "_rank": imwg["RSSTRESC"].map(rank),
        "ADT": numeric_dates(imwg["RSDTC"]),
    })
    # Sorted on the numeric keys only: the first record of each subject is then its best.
    candidates = candidates.sort_values(["_source", "_rank", "ADT", "RSSEQ"], kind="mergesort", na_position="last")
    best = candidates.drop_duplicates("USUBJID").set_index("USUBJID")
    bor = pd.DataFrame({"USUBJID": adsl["USUBJID"].to_numpy()})
    bor["PARAMCD"], bor["PARAM"], bor["PARAMN"] = BOR
    bor = merge_subject_values(bor, best.reset_index(), {"AVALC": "RSSTRESC", "ADT": "ADT", "SRCSEQ": "RSSEQ"})
    assessed = bor["AVALC"].notna()
    bor["AVALC"] = bor["AVALC"].where(assessed, not_evaluable)
    bor["AVAL"] = bor["AVALC"].map(response.aval)
    bor["SRCDOM"] = np.where(assessed, "RS", None)
    bor["SRCVAR"] = np.where(assessed, "RSSTRESC", None)
    return bor


def derive_param_responder(bor: pd.DataFrame, *, paramcd: str, param: str, paramn: int,
                           categories: list[str]) -> pd.DataFrame:
    """One responder record per BOR record (MT.ADRS.AVALC.RSP*): AVALC 'Y' when the BOR is one of
    `categories`, 'N' otherwise (NE included), AVAL 1/0; date and source those of the BOR."""
    require(bor, ["USUBJID", "AVALC", "ADT", "SRCDOM", "SRCVAR", "SRCSEQ"], "derive_param_responder")
    responded = bor["AVALC"].isin(categories)
    return bor.assign(PARAMCD=paramcd, PARAM=param, PARAMN=paramn,
                      AVALC=np.where(responded, "Y", "N"), AVAL=responded.astype("int64"))


def build_adrs(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, settings: StudySettings) -> pd.DataFrame:
    response = settings.conventions.response
    bor = derive_param_bor(adsl, sdtm["RS"], response)
    # ADSL variables are merged once, on BOR; the responder records are copies of BOR records.
    bor = merge_subject_values(bor, adsl, {**{v: v for v in ADSL_VARIABLES}, "TRTA": "TRT01A"})
    bor["ADY"] = analysis_day(bor["ADT"], bor["TRTSDT"])
    params = [bor] + [
        derive_param_responder(bor, paramcd=code, param=name, paramn=number, categories=getattr(response, setting))
        for code, name, number, setting in RESPONDERS
    ]
    adrs = pd.concat([p.assign(_subject=np.arange(len(p))) for p in params], ignore_index=True)
    # ADSL's subject order, then PARAMN (numeric keys: sorting 500,000 subject ids as text is slow)
    adrs = adrs.sort_values(["_subject", "PARAMN"], kind="mergesort")
    return adrs[VARIABLES].reset_index(drop=True)
