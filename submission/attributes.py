"""Apply the spec's attributes to a derived frame (xportr style): one place, one pipeline.

select and order the spec's variables -> type each one -> label -> sort by the keys ->
check mandatory values. The result is a `Dataset` ready for the XPT and JSON writers.
"""

from __future__ import annotations

import pandas as pd

from .columns import map_distinct
from .dataset import Column, Dataset, Kind
from .errors import Problem, SubError
from .spec import Spec, VariableSpec

SAS_DATE_FORMATS = ("DATE", "YYMMDD", "E8601DA", "MMDDYY", "DDMMYY")
SAS_DATETIME_FORMATS = ("DATETIME", "E8601DT")
SAS_TIME_FORMATS = ("TIME", "E8601TM")


def kind_of(v: VariableSpec) -> Kind:
    """Storage kind from the spec: numeric dates carry a SAS date format, ISO dates are text."""
    fmt = (v.format or "").upper()
    if v.data_type in ("integer", "float"):
        if fmt.startswith(SAS_DATETIME_FORMATS):
            return "datetime"
        if fmt.startswith(SAS_DATE_FORMATS):
            return "date"
        if fmt.startswith(SAS_TIME_FORMATS):
            return "time"
        return v.data_type
    return "text"


def apply_spec(frame: pd.DataFrame, spec: Spec, dataset: str, *, provenance: pd.Series | None = None) -> Dataset:
    ds_spec = spec.datasets[dataset]
    variables = spec.variables_of(dataset)
    names = [v.variable for v in variables]
    missing = [n for n in names if n not in frame.columns]
    extra = [c for c in frame.columns if c not in names]
    if missing or extra:
        # A gap between code and spec is a bug of the project, not bad input: say exactly which.
        raise RuntimeError(f"{dataset}: derived variables differ from the spec: "
                           f"not derived {missing}, not in the spec {extra}")
    out = pd.DataFrame(index=frame.index)
    columns = []
    for v in variables:
        kind = kind_of(v)
        values = frame[v.variable]
        if kind in ("date", "datetime"):
            values = pd.to_datetime(values)
        elif kind in ("integer", "float", "time"):
            values = pd.to_numeric(values).astype("Float64" if kind == "float" else "Int64")
        else:
            values = map_distinct(values, lambda x: None if x is None or x == "" else str(x))
        out[v.variable] = values
        columns.append(Column(v.variable, v.label or "", kind, v.format))
    keys = [k for k in ds_spec.key_variables if k in out.columns]
    order = out.sort_values(keys, kind="mergesort", na_position="first").index if keys else out.index
    out = out.loc[order]
    if provenance is not None:
        provenance = provenance.loc[order].reset_index(drop=True)
    out = out.reset_index(drop=True)
    problems = []
    file = str(spec.folder / "Variables.csv")
    for v in variables:
        if v.mandatory and out[v.variable].isna().any():
            n = int(out[v.variable].isna().sum())
            subject = out.loc[out[v.variable].isna(), "USUBJID"].iloc[0] if "USUBJID" in out else None
            problems.append(Problem(file, v.line, v.variable, subject,
                                    f"{dataset}.{v.variable} is mandatory but missing in {n} record(s), e.g. subject"))
    if problems:
        raise SubError(problems, f"{dataset}: mandatory values missing")
    return Dataset(dataset, ds_spec.label, out, columns, keys, provenance)
