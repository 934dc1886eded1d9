"""Supplemental qualifiers (SUPP--): one record per parent record and QNAM with a value."""

from __future__ import annotations

import pandas as pd

from .context import Context

SUPP_COLUMNS = ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL"]
_QORIG = {"Collected": "CRF", "Derived": "DERIVED", "Assigned": "ASSIGNED", "Protocol": "PROTOCOL",
          "Predecessor": "PREDECESSOR"}


def qualifier(ctx: Context, supp: str, rdomain: str, parent: pd.DataFrame, qnam: str, values: pd.Series,
              idvar: str | None) -> pd.DataFrame:
    """SUPP records for one QNAM; QLABEL and QORIG come from the spec's value-level row of that QNAM."""
    clause = next((wc_id for wc_id, rows in ctx.spec.where_clauses.items()
                   if any(r.dataset == supp and r.variable == "QNAM" and r.values == [qnam] for r in rows)), None)
    if clause is None:
        raise RuntimeError(f"the spec has no value-level metadata for {supp}.QNAM = {qnam}")
    vlm = next(vl for vl in ctx.spec.value_level if vl.dataset == supp and vl.where_clause == clause)
    keep = values.notna()
    out = pd.DataFrame({
        "STUDYID": ctx.studyid,
        "RDOMAIN": rdomain,
        "USUBJID": parent.loc[keep, "USUBJID"],
        "IDVAR": idvar,
        "IDVARVAL": parent.loc[keep, idvar].astype("Int64").astype(str) if idvar else None,
        "QNAM": qnam,
        "QLABEL": vlm.label,
        "QVAL": values[keep].astype(str),
        "QORIG": _QORIG[vlm.origin],
        "QEVAL": None,
    })
    return out[SUPP_COLUMNS]
