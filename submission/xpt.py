"""SAS XPORT v5: every constraint checked before a byte is written, and one reader for all files.

pyreadstat writes the file. It silently cuts labels longer than 40 bytes, accepts values
over 200 bytes and non-ASCII text, and leaves a 0-byte file when a name is too long
(domain.md section 7), so `xpt_problems` checks all of that first and the file is written
to a temporary name and renamed. pyreadstat also stamps the header with the wall clock;
the stamp is replaced with the build timestamp so that rebuilds are byte-identical.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import Column, Dataset, byte_lengths
from .errors import Problem, SubError
from .io import publish

NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
MAX_LABEL = 40
MAX_TEXT = 200
SAS_EPOCH = pd.Timestamp("1960-01-01")
EXAMPLES = 5

_STAMP = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")
_OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD"


def _label_problem(label: str | None) -> str | None:
    if label is None:
        return None
    if not label.isascii():
        return "label is not ASCII"
    if len(label.encode("ascii")) > MAX_LABEL:
        return f"label is {len(label)} characters; XPT v5 allows {MAX_LABEL}"
    return None


def xpt_problems(ds: Dataset, file: str, *, ascii_only: bool = True) -> list[Problem]:
    """Every XPT v5 rule the dataset breaks, each naming the variable, subject and source row.

    `ascii_only=False` is for rewriting legacy files that already hold Windows-1252 text;
    a build always keeps XPT ASCII.
    """
    problems: list[Problem] = []
    if not NAME.match(ds.name):
        problems.append(Problem(file, None, None, ds.name, "dataset name is not an XPT v5 name (at most 8: A-Z, 0-9, _)"))
    if (why := _label_problem(ds.label)) is not None:
        problems.append(Problem(file, None, None, ds.label, f"dataset {why}"))
    subject = ds.frame["USUBJID"] if "USUBJID" in ds.frame else None
    for col in ds.columns:
        if not NAME.match(col.name):
            problems.append(Problem(file, None, col.name, col.name, "variable name is not an XPT v5 name"))
        if (why := _label_problem(col.label)) is not None:
            problems.append(Problem(file, None, col.name, col.label, why))
        values = ds.frame[col.name]
        if col.numeric:
            if col.kind == "time":
                continue
            if col.kind in ("date", "datetime"):
                ok = pd.api.types.is_datetime64_any_dtype(values) or values.isna().all()
            else:
                ok = pd.api.types.is_numeric_dtype(values) or values.isna().all()
            if not ok:
                problems.append(Problem(file, None, col.name, str(values.dtype), f"a {col.kind} variable holds non-numbers"))
            continue
        text = values.dropna().astype(str)
        non_ascii = text[~text.str.isascii()] if ascii_only else text.iloc[:0]
        long = text[byte_lengths(text) > MAX_TEXT]
        for bad, why in ((non_ascii, "non-ASCII text cannot go into XPT v5 (give an English rendering in the spec's translations)"),
                         (long, f"value longer than {MAX_TEXT} bytes")):
            for index in bad.index[:EXAMPLES]:
                where = []
                if subject is not None:
                    where.append(f"USUBJID {subject.loc[index]}")
                if ds.provenance is not None:
                    where.append(str(ds.provenance.loc[index]))
                detail = f" [{'; '.join(where)}]" if where else ""
                problems.append(Problem(file, None, col.name, bad.loc[index], why + detail))
            if len(bad) > EXAMPLES:
                problems.append(Problem(file, None, col.name, None, f"{len(bad) - EXAMPLES} more values: {why}"))
    return problems


def _to_storage(ds: Dataset) -> pd.DataFrame:
    """Frame as pyreadstat should see it: text as object (blank for missing), numbers as float."""
    out = {}
    for col in ds.columns:
        values = ds.frame[col.name]
        if col.kind == "date":
            out[col.name] = ((pd.to_datetime(values) - SAS_EPOCH) / pd.Timedelta(days=1)).astype("float64")
        elif col.kind == "datetime":
            out[col.name] = ((pd.to_datetime(values) - SAS_EPOCH) / pd.Timedelta(seconds=1)).astype("float64")
        elif col.numeric:
            out[col.name] = pd.to_numeric(values).astype("float64")
        else:
            out[col.name] = values.astype(object).where(values.notna(), "").astype(str).astype(object)
    return pd.DataFrame(out, index=ds.frame.index)


def write_xpt(ds: Dataset, path: Path, timestamp: dt.datetime, *, ascii_only: bool = True,
              checked: bool = False) -> None:
    """Write one dataset as XPT v5 after checking every v5 rule (unless the caller just did:
    `checked=True`); all or nothing."""
    import pyreadstat

    path = Path(path)
    problems = [] if checked else xpt_problems(ds, str(path), ascii_only=ascii_only)
    if problems:
        raise SubError(problems, f"{ds.name}: cannot be written as XPT v5")
    frame = _to_storage(ds)
    formats = {c.name: c.format for c in ds.columns if c.format}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pyreadstat.write_xport(frame, tmp, file_format_version=5, table_name=ds.name, file_label=ds.label or None,
                               column_labels=[c.label for c in ds.columns], variable_format=formats or None)
        _restamp(Path(tmp), timestamp)
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _restamp(path: Path, timestamp: dt.datetime) -> None:
    data = bytearray(path.read_bytes())
    header_end = data.find(_OBS_HEADER)
    header_end = len(data) if header_end < 0 else header_end
    stamp = timestamp.strftime("%d%b%y:%H:%M:%S").upper().encode("ascii")
    for match in _STAMP.finditer(bytes(data[:header_end])):
        data[match.start():match.end()] = stamp
    path.write_bytes(bytes(data))


def read_xpt(path: Path) -> Dataset:
    """Read any XPT file (v5, as SAS or this project writes them) into a Dataset.

    Text is decoded as UTF-8, else as Windows-1252 (older SAS files carry such bytes).
    Numeric variables with a date format come back as datetime64.
    """
    import pyreadstat

    path = Path(path)
    try:
        frame, meta = pyreadstat.read_xport(str(path))
    except UnicodeDecodeError:
        frame, meta = pyreadstat.read_xport(str(path), encoding="windows-1252")
    except Exception as exc:  # pyreadstat raises its own error types for broken files
        raise SubError(Problem(str(path), None, None, None, f"not a readable XPT file: {exc}")) from None
    columns = []
    out = {}
    storage = meta.readstat_variable_types or {}
    for name in meta.column_names:
        label = (meta.column_names_to_labels or {}).get(name) or ""
        fmt = (meta.original_variable_types or {}).get(name)
        values = frame[name]
        if storage.get(name) != "string" and not pd.api.types.is_numeric_dtype(values):
            # pyreadstat turns date, datetime and time formats into Python objects
            sample = values.dropna()
            first = sample.iloc[0] if len(sample) else None
            if isinstance(first, dt.time):
                out[name] = values.map(lambda t: None if pd.isna(t) else t.hour * 3600 + t.minute * 60 + t.second)
                kind = "time"
            else:
                out[name] = pd.to_datetime(values)
                kind = "datetime" if isinstance(first, dt.datetime) else "date"
        elif pd.api.types.is_numeric_dtype(values):
            out[name] = values.astype("float64")
            kind = "float"
        else:
            out[name] = values.astype(object).where(values.notna() & values.astype(str).ne(""), None)
            kind = "text"
        if fmt and (fmt.startswith("$") or kind == "text"):
            fmt = None
        columns.append(Column(name, label, kind, fmt))
    data = pd.DataFrame(out, columns=meta.column_names)
    return Dataset(meta.table_name or path.stem.upper(), meta.file_label or "", data, columns)


def frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Same columns and values; numbers compared as float, missing equal to missing."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    for name in a.columns:
        x, y = a[name].reset_index(drop=True), b[name].reset_index(drop=True)
        if pd.api.types.is_datetime64_any_dtype(x) or pd.api.types.is_datetime64_any_dtype(y):
            xa = pd.to_datetime(x).to_numpy(dtype="datetime64[s]")
            ya = pd.to_datetime(y).to_numpy(dtype="datetime64[s]")
            if not ((xa == ya) | (np.isnat(xa) & np.isnat(ya))).all():
                return False
        elif pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            xv, yv = x.astype("float64").to_numpy(), y.astype("float64").to_numpy()
            if not np.array_equal(xv, yv, equal_nan=True):
                return False
        else:
            xs = x.astype(object).where(x.notna(), None).map(lambda v: None if v == "" else v)
            ys = y.astype(object).where(y.notna(), None).map(lambda v: None if v == "" else v)
            if xs.tolist() != ys.tolist():
                return False
    return True
