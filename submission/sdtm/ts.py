"""TS: trial summary parameters, in the order of the spec's value-level metadata.

Values come from the study settings (title, sponsor, indication, planned subjects, cut-off),
from the data (actual subjects, study start and end), or from the spec's Assigned Value.
While the settings mark the study synthetic, the title says so.

A build at an earlier cut-off (`sub build --cutoff`) keeps the study's own dates: SSTDTC and
SENDTC come from the DM of the whole extract (`study_dm`), and the cut-off goes to DCUTDTC only;
DCUTDESC then says what the cut is (PERIODIC_DCUTDESC) instead of the spec's final cut.
"""

from __future__ import annotations

import pandas as pd

from .context import Context

SYNTHETIC_SUFFIX = " [SYNTHETIC DATA - NOT REAL STUDY DATA]"
PERIODIC_DCUTDESC = "PERIODIC SAFETY REPORT DATA CUT-OFF: DATA AS KNOWN AT THE CUT-OFF DATE"


def _from_settings(ctx: Context, dm: pd.DataFrame, study_dm: pd.DataFrame) -> dict[str, str]:
    s = ctx.settings
    title = s.study.title_en + (SYNTHETIC_SUFFIX if s.study.synthetic else "")
    return {
        "TITLE": title,
        "SPONSOR": s.study.sponsor,
        "INDIC": s.study.indication_en.upper(),
        "PLANSUB": str(s.study.planned_subjects),
        "DCUTDTC": s.dates.data_cutoff.isoformat(),
        "ACTSUB": str(len(dm)),
        "SSTDTC": str(study_dm["RFICDTC"].dropna().min()),
        "SENDTC": str(study_dm["RFPENDTC"].dropna().max()),
    }


def build_ts(ctx: Context, dm: pd.DataFrame, study_dm: pd.DataFrame | None = None) -> pd.DataFrame:
    """TS of the subjects in `dm`; the study's start and end from `study_dm` (default: `dm`)."""
    parm_codes = ctx.spec.codelists["TSPARMCD"].terms
    parm_names = {t.order: t.term for t in ctx.spec.codelists["TSPARM"].terms}
    name_of = {t.term: parm_names.get(t.order) for t in parm_codes}
    known = _from_settings(ctx, dm, dm if study_dm is None else study_dm)
    if study_dm is not None:  # an earlier cut-off (`sub build --cutoff`): a periodic report's cut
        known["DCUTDESC"] = PERIODIC_DCUTDESC
    rows = []
    for vl in sorted((v for v in ctx.spec.value_level if v.dataset == "TS" and v.variable == "TSVAL"),
                     key=lambda v: v.order):
        [clause] = ctx.spec.where_clauses[vl.where_clause]
        parmcd = clause.value
        codelist = ctx.spec.codelists.get(vl.codelist) if vl.codelist else None
        if parmcd in known:
            values = [known[parmcd]]
        elif vl.assigned_value:
            values = [vl.assigned_value]
        elif codelist is not None:
            values = codelist.values
        else:
            raise RuntimeError(f"TS parameter {parmcd} has no value source in the spec or the settings")
        for seq, value in enumerate(values, start=1):
            code, ref, version = _code_of(ctx, parmcd, value, vl.codelist)
            rows.append({"STUDYID": ctx.studyid, "DOMAIN": "TS", "TSSEQ": seq, "TSPARMCD": parmcd,
                         "TSPARM": name_of.get(parmcd), "TSVAL": value, "TSVALNF": None, "TSVALCD": code,
                         "TSVCDREF": ref, "TSVCDVER": version})
    return pd.DataFrame(rows)


def _code_of(ctx: Context, parmcd: str, value: str, codelist_id: str | None) -> tuple[str | None, str | None, str | None]:
    if parmcd == "TRT":
        return ctx.settings.study.drug_unii, "UNII", None
    if codelist_id in ctx.spec.dictionaries:
        dictionary = ctx.spec.dictionaries[codelist_id]
        names = ctx.spec.codelists["DICTNAM"].values if "DICTNAM" in ctx.spec.codelists else []
        ref = next((n for n in names if n.replace(" ", "") == dictionary.dictionary.replace(" ", "")),
                   dictionary.dictionary)
        return value, ref, None
    if parmcd.endswith("DTC"):
        return None, "ISO 8601", None
    codelist = ctx.spec.codelists.get(codelist_id) if codelist_id else None
    if codelist is not None and codelist.terminology == "CDISC/NCI":
        term = next((t for t in codelist.terms if t.term == value), None)
        if term is not None and term.nci_term_code:
            return term.nci_term_code, "CDISC CT", ctx.settings.dictionaries.sdtm_ct_version.isoformat()
    return None, None, None
