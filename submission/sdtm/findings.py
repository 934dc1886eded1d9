"""VS and LB: the baseline form's measurements, one record per test with a value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import full_dates, sequence, study_day
from .context import Context

# raw column -> (test code, category, factor from the collected unit to the standard unit)
VS_TESTS = {"HEIGHT": ("HEIGHT", None, 1.0), "WEIGHT": ("WEIGHT", None, 1.0)}
LB_TESTS = {"CREAT": ("CREAT", "CHEMISTRY", 1.0), "ANC": ("NEUT", "HEMATOLOGY", 0.001),
            "PLT": ("PLAT", "HEMATOLOGY", 0.001), "AST": ("AST", "CHEMISTRY", 1.0),
            "ALT": ("ALT", "CHEMISTRY", 1.0), "TBIL": ("BILI", "CHEMISTRY", 1.0)}


def value_level(ctx: Context, dataset: str, variable: str, where_variable: str, value: str) -> str | None:
    """The Assigned Value of dataset.variable on the records where `where_variable` = `value`."""
    for vl in ctx.spec.value_level:
        if vl.dataset == dataset and vl.variable == variable:
            if any(wc.variable == where_variable and value in wc.values and wc.comparator in ("EQ", "IN")
                   for wc in ctx.spec.where_clauses[vl.where_clause]):
                return vl.assigned_value
    return None


def number_text(values: pd.Series) -> pd.Series:
    """Numbers as text without trailing zeros: 1.50 -> '1.5', 210.0 -> '210'.

    A float column is formatted once per distinct number (told apart by their bits: -0.0 is not 0.0)."""
    if not pd.api.types.is_float_dtype(values.dtype):
        return values.map(_number_text)
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    codes, distinct = pd.factorize(numbers.view(np.int64))
    texts = pd.Series(distinct.view(np.float64), dtype=values.dtype).map(_number_text)
    return pd.Series(texts.array.take(codes), index=values.index, dtype=texts.dtype)


def _number_text(value: object) -> str | None:
    return None if pd.isna(value) else format(float(value), ".10g")


def last_before_exposure(frame: pd.DataFrame, prefix: str, ref_start: pd.Series) -> pd.Series:
    """--LOBXFL: 'Y' on the last record per test with a result on or before the first dose."""
    when = full_dates(frame[f"{prefix}DTC"])
    eligible = when.notna() & full_dates(ref_start).notna() & (when <= full_dates(ref_start)) \
        & frame[f"{prefix}ORRES"].notna()
    ranked = frame.loc[eligible, ["USUBJID", f"{prefix}TESTCD"]].assign(_when=when[eligible]).sort_values(
        ["USUBJID", f"{prefix}TESTCD", "_when"], kind="mergesort")
    last = ranked.groupby(["USUBJID", f"{prefix}TESTCD"]).tail(1).index
    flag = pd.Series(None, index=frame.index, dtype=object)
    flag[last] = "Y"
    return flag


def reference_range(rows: pd.DataFrame, column: str, factor: float, result: pd.Series) -> pd.DataFrame:
    """LBORNRLO/HI as collected (BASELINE.<column>LO/HI), LBSTNRLO/HI in standard units and LBNRIND
    (spec methods MT.LB.LBSTNRLO, MT.LB.LBNRIND); null where the laboratory gave no range."""
    out = pd.DataFrame(index=rows.index)
    for side, raw in (("LO", f"{column}LO"), ("HI", f"{column}HI")):
        values = pd.to_numeric(rows[raw], errors="coerce") if raw in rows else pd.Series(float("nan"), index=rows.index)
        out[f"LBORNR{side}"] = number_text(values)
        out[f"LBSTNR{side}"] = (values.astype("float64") * factor).round(10)
    low, high = out["LBSTNRLO"], out["LBSTNRHI"]
    known = result.notna() & (low.notna() | high.notna())
    indicator = pd.Series("NORMAL", index=rows.index, dtype=object)
    indicator[result.lt(low)] = "LOW"
    indicator[result.gt(high)] = "HIGH"
    out["LBNRIND"] = indicator.where(known, None)
    return out


def _findings(ctx: Context, dataset: str, tests: dict, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    raw = ctx.raw["BASELINE"]
    by = ref.set_index("SUBJID")
    prefix = dataset
    parts, where = [], []
    names = dict(zip(ctx.spec.codelists[f"{prefix}TESTCD"].values, ctx.spec.codelists[f"{prefix}TEST"].values))
    for column, (testcd, category, factor) in tests.items():
        rows = raw[raw[column].notna()]
        part = pd.DataFrame(index=rows.index)
        part["SUBJID"] = rows["SUBJID"]
        part[f"{prefix}TESTCD"] = testcd
        part[f"{prefix}TEST"] = names[testcd]
        if category is not None:
            part[f"{prefix}CAT"] = category
        part[f"{prefix}ORRES"] = number_text(rows[column])
        part[f"{prefix}ORRESU"] = value_level(ctx, dataset, f"{prefix}ORRESU", f"{prefix}TESTCD", testcd)
        part[f"{prefix}STRESN"] = (rows[column].astype("float64") * factor).round(10)
        part[f"{prefix}STRESC"] = number_text(part[f"{prefix}STRESN"])
        part[f"{prefix}STRESU"] = value_level(ctx, dataset, f"{prefix}STRESU", f"{prefix}TESTCD", testcd)
        part[f"{prefix}DTC"] = rows["VSDAT"]
        if dataset == "LB":
            part = part.join(reference_range(rows, column, factor, part["LBSTRESN"]))
        for timing in ("VISITNUM", "VISIT"):  # the baseline form is the study's one planned visit
            if ctx.spec.variable(dataset, timing) is not None:
                part[timing] = ctx.spec.variable(dataset, timing).assigned_value
        parts.append(part)
        where.append(ctx.file("BASELINE") + " row " + pd.Series(rows.index.astype(str), index=rows.index))
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "STUDYID", ctx.studyid)
    out.insert(1, "DOMAIN", dataset)
    out.insert(2, "USUBJID", out["SUBJID"].map(by["USUBJID"]))
    rf = out["SUBJID"].map(by["RFSTDTC"])
    for variable in (f"{prefix}TESTCD", f"{prefix}TEST", f"{prefix}ORRESU", f"{prefix}STRESU"):
        out[variable] = ctx.check(out[variable], dataset, variable, "BASELINE")
    out[f"{prefix}LOBXFL"] = last_before_exposure(out, prefix, out["SUBJID"].map(by["RFXSTDTC"]))
    out["EPOCH"] = ctx.epoch_of(out[f"{prefix}DTC"], out["SUBJID"], ref, dataset, "BASELINE")
    out[f"{prefix}DY"] = study_day(out[f"{prefix}DTC"], rf)
    out = out.drop(columns="SUBJID")
    order = [f"{prefix}CAT"] if category is not None else []
    out[f"{prefix}SEQ"] = sequence(out, [*order, f"{prefix}TESTCD", f"{prefix}DTC"])
    ctx.reconcile(dataset, "BASELINE", len(raw), len(out), "one record per test with a value")
    return out, pd.concat(where, ignore_index=True)


def build_vs(ctx: Context, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    return _findings(ctx, "VS", VS_TESTS, ref)


def build_lb(ctx: Context, ref: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The baseline form's tests and the pregnancy test before the first dose (rp.py), numbered together."""
    from .rp import build_pregnancy_test

    lb, where = _findings(ctx, "LB", LB_TESTS, ref)
    hcg, hcg_where = build_pregnancy_test(ctx, ref)
    if hcg.empty:
        return lb.assign(LBSTAT=None), where
    out = pd.concat([lb, hcg], ignore_index=True)
    out["LBSEQ"] = sequence(out, ["LBCAT", "LBTESTCD", "LBDTC"])
    return out, pd.concat([where, hcg_where], ignore_index=True)
