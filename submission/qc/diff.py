"""`sub diff`: compare two datasets, or two submission packages, as a list of findings.

diffdf's habit: a comparison is a list of independent findings (attribute differences,
records in one side only, value differences per variable, duplicate keys), and the report,
the JSON and the exit code all derive from that list.

Datasets are read into one canonical form, whatever the file: character values as bytes or
text, numeric values as float64 in SAS storage (dates as days and datetimes as seconds since
1960), so an XPT file and its Dataset-JSON twin compare equal. Records are matched on key
variables (`keys`, else the spec's Key Variables, else the keys a Dataset-JSON file declares,
else row position) and compared column by column with numpy; nothing loops over records in
Python. XPT v5 files are read straight from a memory map (numpy structured arrays, by the project's
one XPT reader, `submission.xpt.read_xpt_records`): character values stay bytes until shown. Two XPT files
with one record layout are first compared record by record as bytes, and only the records that
differ are compared variable by variable.

Exit codes: 0 equal, 1 different, 2 the comparison cannot run (`DiffError`).
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from dataclasses import fields as dataclass_fields
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import Problem, SubError

DEFAULT_MAX_EXAMPLES = 10
DATASET_SUFFIXES = (".xpt", ".json", ".sas7bdat", ".csv")  # preference when a folder holds several twins
PACKAGE_PARTS = ("sdtm", "adam")
ARD_PATHS = (Path("tlf") / "ard.csv", Path("ard.csv"))
CONTEXT_VARIABLES = ("USUBJID",)  # shown beside the keys in examples, so a reviewer finds the subject
ATTRIBUTE_KINDS = ("label", "type", "length", "format")
RELATIVE_SLACK = 1e-9  # |a - b| <= tolerance in decimal terms: 1.1 - 1.0 is 0.10000000000000009 in binary

SAS_EPOCH = np.datetime64("1960-01-01T00:00:00", "s")
_SAS_DATE_EPOCH = np.datetime64("1960-01-01", "D")


class DiffError(SubError):
    """The comparison cannot run (unreadable file, bad arguments): exit 2, where 1 means "different"."""

    exit_code = 2


def _fail(where: object, message: str, value: object = None) -> DiffError:
    return DiffError(Problem(str(where), None, None, None if value is None else str(value), message),
                     "sub diff: cannot compare")


# --------------------------------------------------------------------------- findings and results

@dataclass
class Finding:
    """One independent difference: its kind, where (dataset, variable), how many, and the first few."""

    kind: str
    dataset: str
    variable: str | None
    count: int
    examples: list[dict] = field(default_factory=list)
    message: str = ""


@dataclass
class Comparison:
    """One compared pair: a dataset, a define.xml or an ARD."""

    name: str
    what: str  # dataset | define | ard
    base: str | None  # the file compared; None when the pair has only one side
    compare: str | None
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    key_source: str | None = None
    records: tuple[int | None, int | None] = (None, None)

    @property
    def equal(self) -> bool:
        return not self.findings


@dataclass
class DiffResult:
    base: str
    compare: str
    comparisons: list[Comparison]

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.comparisons for f in c.findings]

    @property
    def equal(self) -> bool:
        return not self.findings

    @property
    def exit_code(self) -> int:
        return 0 if self.equal else 1

    def to_dict(self) -> dict:
        return {
            "base": self.base, "compare": self.compare, "equal": self.equal,
            "summary": [{"name": c.name, "what": c.what, "base": c.base, "compare": c.compare,
                         "records": {"base": c.records[0], "compare": c.records[1]}, "keys": c.keys,
                         "key_source": c.key_source, "equal": c.equal, "findings": len(c.findings),
                         "notes": c.notes} for c in self.comparisons],
            "findings": [asdict(f) for f in self.findings],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, allow_nan=False)


# --------------------------------------------------------------------------- the canonical table

@dataclass(frozen=True)
class Var:
    name: str
    label: str
    type: str  # Char | Num (the SAS type)
    kind: str = "text"  # text, float, date, datetime, time: how a Num value is shown
    length: int | None = None
    format: str | None = None


@dataclass
class Table:
    """A dataset as the comparison sees it: Char columns as bytes (S) or object text, Num as float64."""

    name: str
    label: str
    source: str
    format: str  # xpt, json, csv, sas7bdat, frame
    nrows: int
    variables: list[Var]
    data: dict[str, np.ndarray]
    keys: list[str] = field(default_factory=list)  # keys the file itself declares (Dataset-JSON keySequence)
    records: np.ndarray | None = None  # XPT: the raw records, (n, record length) bytes over the memory map
    layout: np.dtype | None = None  # XPT: names, types, positions and lengths of the variables in a record

    @property
    def has_metadata(self) -> bool:
        return self.format != "csv"

    def var(self, name: str) -> Var:
        return next(v for v in self.variables if v.name == name)


_DATE_FORMATS = {"DATE", "YYMMDD", "MMDDYY", "DDMMYY", "E8601DA", "B8601DA", "IS8601DA", "YYMMDDN", "MMDDYYN",
                 "DDMMYYN", "YYMMDDD", "YYMMDDS", "YYMMDDP", "YYMMDDB", "YYMMDDC", "WORDDATE", "WORDDATX",
                 "WEEKDATE", "WEEKDATX", "MONYY", "YYMON", "YEAR", "YYQ", "NLDATE", "JULIAN", "DOWNAME", "MONNAME",
                 "EURDFDE", "MINGUO", "NENGO"}
_DATETIME_FORMATS = {"DATETIME", "E8601DT", "B8601DT", "IS8601DT", "E8601DZ", "B8601DZ", "DATEAMPM", "NLDATM",
                     "MDYAMPM", "DTDATE", "DTYYMMDD"}
_TIME_FORMATS = {"TIME", "TOD", "HHMM", "E8601TM", "B8601TM", "IS8601TM", "TIMEAMPM", "HOUR", "MMSS", "NLTIME"}
_FORMAT_NAME = re.compile(r"^([A-Z$_]*?)\d*\.?\d*$")


def _kind_of_format(fmt: str | None) -> str:
    match = _FORMAT_NAME.match((fmt or "").upper())
    name = match.group(1) if match else ""
    if name in _DATE_FORMATS:
        return "date"
    if name in _DATETIME_FORMATS:
        return "datetime"
    if name in _TIME_FORMATS:
        return "time"
    return "float"


def _same_format(a: str | None, b: str | None) -> bool:
    """DATE9. and DATE9 are one format (pyreadstat drops the dot); no format and an empty one too."""
    return (a or "").strip().rstrip(".").upper() == (b or "").strip().rstrip(".").upper()


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _num_storage(values: pd.Series, kind: str) -> np.ndarray:
    """A numeric column in SAS storage: dates as days, datetimes as seconds since 1960."""
    if kind in ("date", "datetime") or pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.to_datetime(values).to_numpy(dtype="datetime64[s]")
        seconds = (stamps - SAS_EPOCH).astype("timedelta64[s]").astype(np.float64)
        seconds[np.isnat(stamps)] = np.nan
        return seconds / 86400.0 if kind == "date" else seconds
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def table_from_dataset(ds, *, source: str = "frame", fmt: str = "frame",
                       lengths: Mapping[str, int] | None = None, char_dates: Iterable[str] = ()) -> Table:
    """A `submission.dataset.Dataset` (or a plain DataFrame) in canonical form.

    `char_dates`: date/datetime/time columns that are ISO 8601 text in SAS terms (a Dataset-JSON
    column without targetDataType).
    """
    from ..dataset import Column, Dataset

    if isinstance(ds, pd.DataFrame):
        columns = []
        for name in ds.columns:
            values = ds[name]
            kind = ("datetime" if pd.api.types.is_datetime64_any_dtype(values)
                    else "float" if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
                    else "text")
            columns.append(Column(str(name), "", kind))
        ds = Dataset("DATA", "", ds.rename(columns=str), columns)
    lengths = lengths or {}
    char_dates = set(char_dates)
    variables, data = [], {}
    for col in ds.columns:
        values = ds.frame[col.name]
        if col.kind == "text" or col.name in char_dates:
            if col.name in char_dates:
                array = _iso_text(_num_storage(values, col.kind) if col.kind != "time"
                                  else pd.to_numeric(values).to_numpy(np.float64), col.kind)
            else:
                array = values.to_numpy(dtype=object, na_value=None)
            variables.append(Var(col.name, col.label or "", "Char", "text", lengths.get(col.name), col.format))
        else:
            array = _num_storage(values, col.kind)
            kind = col.kind if col.kind in ("date", "datetime", "time") else "float"
            variables.append(Var(col.name, col.label or "", "Num", kind, lengths.get(col.name), col.format))
        data[col.name] = array
    return Table(ds.name, ds.label or "", source, fmt, len(ds.frame), variables, data, list(ds.keys))


# --------------------------------------------------------------------------- reading files

def read_table(path: Path) -> Table:
    """Any dataset file (XPT, Dataset-JSON, sas7bdat, CSV) in canonical form; DiffError if unreadable."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".xpt":
            return _read_xpt(path)
        if suffix == ".json":
            return _read_json(path)
        if suffix == ".sas7bdat":
            return _read_sas7bdat(path)
        if suffix == ".csv":
            return _read_csv(path)
    except DiffError:
        raise
    except SubError as exc:
        raise DiffError(exc.problems, "sub diff: cannot compare") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot read: {exc}") from None
    raise _fail(path, "not a dataset file (expected .xpt, .json, .sas7bdat or .csv)")


def _read_xpt(path: Path) -> Table:
    from ..xpt import read_xpt, read_xpt_records

    member = read_xpt_records(path)
    if member is not None:
        return _table_from_xpt(member)
    import pyreadstat

    ds = read_xpt(path)
    try:
        _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
    except UnicodeDecodeError:
        _, meta = pyreadstat.read_xport(str(path), metadataonly=True, encoding="windows-1252")
    widths = {k: int(v) for k, v in (meta.variable_storage_width or {}).items() if v}
    return table_from_dataset(ds, source=str(path), fmt="xpt", lengths=widths)


def _table_from_xpt(member) -> Table:
    """A one-member XPT v5 file read in place (`submission.xpt.read_xpt_records`): Char values as the
    fixed-width bytes of the memory map, Num values converted to float64, and the raw records."""
    variables, data = [], {}
    for v in member.variables:
        fmt = f"{v.format_name}{v.format_width or ''}.{v.format_decimals or ''}" \
            if v.format_name or v.format_width else None
        if v.numeric:
            variables.append(Var(v.name, v.label, "Num", _kind_of_format(fmt), v.length, fmt))
            data[v.name] = member.numbers(v.name)
        else:
            variables.append(Var(v.name, v.label, "Char", "text", v.length, fmt))
            data[v.name] = member.rows[v.name]
    return Table(member.name.strip() or member.path.stem.upper(), member.label.strip(), str(member.path), "xpt",
                 member.nrows, variables, data, records=member.records, layout=member.layout)


_COLUMNS_START = re.compile(rb'"columns"\s*:\s*\[')


def _json_columns(path: Path) -> list[dict] | None:
    """The `columns` array of a Dataset-JSON file, from its head when it comes before the rows."""
    with open(path, "rb") as handle:
        head = handle.read(4 << 20)
    match = _COLUMNS_START.search(head)
    if match:
        try:
            columns, _ = json.JSONDecoder().raw_decode(head[match.end() - 1:].decode("utf-8", errors="ignore"))
            if isinstance(columns, list):
                return columns
        except (ValueError, RecursionError):
            pass
    from ..datasetjson import load_json

    try:
        obj = load_json(path)
    except SubError:
        return None
    return obj.get("columns") if isinstance(obj, dict) and isinstance(obj.get("columns"), list) else None


def _read_json(path: Path) -> Table:
    from ..datasetjson import read_dataset_json

    try:
        ds = read_dataset_json(path)
    except KeyError as exc:
        raise _fail(path, f"not Dataset-JSON: a column lacks {exc}") from None
    columns = [c for c in (_json_columns(path) or []) if isinstance(c, dict)]
    lengths = {c["name"]: c["length"] for c in columns if isinstance(c.get("length"), int) and "name" in c}
    char_dates = [c["name"] for c in columns if c.get("dataType") in ("date", "datetime", "time")
                  and c.get("targetDataType") is None and "name" in c]
    return table_from_dataset(ds, source=str(path), fmt="json", lengths=lengths, char_dates=char_dates)


def _read_sas7bdat(path: Path) -> Table:
    import pyreadstat

    try:
        frame, meta = pyreadstat.read_sas7bdat(str(path), disable_datetime_conversion=True)
    except Exception as exc:  # noqa: BLE001 - pyreadstat raises its own error types for broken files
        raise _fail(path, f"not a readable sas7bdat file: {exc}") from None
    labels = meta.column_names_to_labels or {}
    widths = meta.variable_storage_width or {}
    kinds = meta.readstat_variable_types or {}
    variables, data = [], {}
    for name in meta.column_names:
        fmt = (meta.original_variable_types or {}).get(name)
        if kinds.get(name) == "string":
            variables.append(Var(name, labels.get(name) or "", "Char", "text", widths.get(name), fmt))
            data[name] = frame[name].to_numpy(dtype=object)
        else:
            variables.append(Var(name, labels.get(name) or "", "Num", _kind_of_format(fmt), widths.get(name), fmt))
            data[name] = pd.to_numeric(frame[name], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    return Table(meta.table_name or path.stem.upper(), meta.file_label or "", str(path), "sas7bdat", len(frame),
                 variables, data)


_PLAIN_NUMBER = re.compile(r"^\s*[-+]?(0|[1-9]\d*)?(\.\d*)?([eE][-+]?\d+)?\s*$")


def _read_csv(path: Path) -> Table:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="cp949")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise _fail(path, f"not a readable CSV file: {exc}") from None
    variables, data = [], {}
    for name in frame.columns:
        text = frame[name].astype(object)
        filled = text[text.str.strip() != ""]
        # numbers only when every value is a plain number: "001" stays an identifier
        if len(filled) and filled.str.fullmatch(_PLAIN_NUMBER).all() and filled.str.contains(r"\d").all():
            variables.append(Var(str(name), "", "Num", "float"))
            data[str(name)] = pd.to_numeric(text.where(text.str.strip() != ""), errors="coerce").to_numpy(np.float64)
        else:
            variables.append(Var(str(name), "", "Char"))
            data[str(name)] = text.to_numpy(dtype=object)
    return Table(path.stem.upper(), "", str(path), "csv", len(frame), variables, data)


# --------------------------------------------------------------------------- values: text, display, comparison

def _rstrip_bytes(values: np.ndarray) -> np.ndarray:
    return np.strings.rstrip(values, b" ")


def _bytes_to_text(values: np.ndarray) -> np.ndarray:
    raw = values.tolist()
    try:
        text = [b.decode("utf-8").rstrip(" ") for b in raw]
    except UnicodeDecodeError:
        text = [b.decode("cp1252", errors="replace").rstrip(" ") for b in raw]
    out = np.empty(len(text), dtype=object)
    out[:] = text
    return out


def _iso_text(values: np.ndarray, kind: str) -> np.ndarray:
    """SAS dates, datetimes and times (float storage) as ISO 8601 text; missing as ""."""
    missing = np.isnan(values)
    whole = np.where(missing, 0, values)
    if kind == "date":
        text = (_SAS_DATE_EPOCH + np.floor(whole).astype("int64").astype("timedelta64[D]")).astype(str)
    elif kind == "datetime":
        text = (SAS_EPOCH + np.floor(whole).astype("int64").astype("timedelta64[s]")).astype(str)
    else:
        seconds = np.floor(whole).astype("int64")
        text = np.array([f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}" for s in seconds.tolist()], dtype=object)
    out = text.astype(object)
    out[missing] = ""
    return out


def _number_text(values: np.ndarray) -> np.ndarray:
    """Numbers as the shortest text: 2 not 2.0, 0.1 not 0.1000000000000000055; missing as ""."""
    out = np.empty(len(values), dtype=object)
    missing = np.isnan(values)
    integral = ~missing & (np.abs(values) < 2**53) & (np.floor(values) == values)
    out[integral] = values[integral].astype(np.int64).astype(str).astype(object)
    rest = ~missing & ~integral
    out[rest] = [repr(v) for v in values[rest].tolist()]
    out[missing] = ""
    return out


def _as_text(values: np.ndarray, var: Var) -> np.ndarray:
    if values.dtype.kind == "S":
        return _bytes_to_text(values)
    if var.type == "Num":
        return _iso_text(values, var.kind) if var.kind in ("date", "datetime", "time") else _number_text(values)
    return values


def _is_missing(value) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _normal_text(values: np.ndarray, strip_both: bool) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = ["" if _is_missing(v) else (str(v).strip() if strip_both else str(v).rstrip(" ")) for v in values]
    return out


def _shown(value, var: Var | None = None):
    """One value as JSON-friendly Python: text, int, float, ISO date text, or None for missing."""
    if isinstance(value, bytes):
        value = _decode(value).rstrip(" ")
    if isinstance(value, np.generic):
        value = value.item()
    if _is_missing(value) or value == "":
        return None
    if isinstance(value, float):
        if var is not None and var.kind in ("date", "datetime", "time"):
            return _iso_text(np.array([value]), var.kind)[0]
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    return value


def _num_differs(a: np.ndarray, b: np.ndarray, tolerance: float) -> np.ndarray:
    na, nb = np.isnan(a), np.isnan(b)
    with np.errstate(invalid="ignore"):
        differs = (np.abs(a - b) > tolerance * (1 + RELATIVE_SLACK)) if tolerance > 0 else (a != b)
    return (differs & ~(na | nb)) | (na ^ nb)


def _differs(a: np.ndarray, va: Var, b: np.ndarray, vb: Var, tolerance: float) -> np.ndarray:
    """Which paired values differ: numbers within `tolerance`, text ignoring trailing blanks (as SAS),
    a missing value against a value always; text against a number compared as text."""
    if va.type == "Num" and vb.type == "Num":
        return _num_differs(a, b, tolerance)
    if a.dtype.kind == "S" and b.dtype.kind == "S":
        if a.dtype.itemsize != b.dtype.itemsize:
            a, b = _rstrip_bytes(a), _rstrip_bytes(b)
        return a != b
    mixed = va.type != vb.type
    ta, tb = _as_text(a, va), _as_text(b, vb)
    differs = np.asarray(ta != tb, dtype=bool) & ~(pd.isna(ta) & pd.isna(tb))
    candidates = np.flatnonzero(differs)
    if candidates.size:  # None, NaN and "" are all missing; trailing blanks do not count
        same = _normal_text(ta[candidates], mixed) == _normal_text(tb[candidates], mixed)
        differs[candidates[np.asarray(same, dtype=bool)]] = False
    return differs


def _key_arrays(a: np.ndarray, va: Var, b: np.ndarray, vb: Var) -> tuple[np.ndarray, np.ndarray]:
    """The two sides of a key variable in one representation that factorizes consistently."""
    if va.type == "Num" and vb.type == "Num":
        return a, b
    if a.dtype.kind == "S" and b.dtype.kind == "S":
        return (a, b) if a.dtype.itemsize == b.dtype.itemsize else (_rstrip_bytes(a), _rstrip_bytes(b))
    mixed = va.type != vb.type
    return _normal_text(_as_text(a, va), mixed), _normal_text(_as_text(b, vb), mixed)


def _code_parts(values: np.ndarray) -> list[np.ndarray]:
    """Arrays whose joint values identify `values`, in forms pandas hashes without Python objects."""
    if values.dtype.kind == "S" and values.dtype.itemsize:
        # fixed-width bytes as 8-byte words: hashing integers is ten times faster than hashing bytes objects
        padded = values.astype(f"S{-(-values.dtype.itemsize // 8) * 8}")  # NUL-padded to whole words
        return list(padded.view(np.uint64).reshape(len(values), padded.dtype.itemsize // 8).T)  # 0 rows too
    if values.dtype.kind == "f":
        canonical = np.where(np.isnan(values), np.nan, values) + 0.0  # one NaN, and -0.0 as 0.0
        return [canonical.view(np.int64)]
    return [values]


def _joint_codes(pairs: Sequence[tuple[np.ndarray, np.ndarray]], nb: int, nc: int) -> tuple[np.ndarray, np.ndarray]:
    """One int64 code per record for the combination of key values, the same on both sides."""
    code = np.zeros(nb + nc, dtype=np.int64)
    size_so_far = 1
    for a, b in pairs:
        for part in _code_parts(np.concatenate([a, b])):
            part_code, uniques = pd.factorize(part, use_na_sentinel=False)
            size = len(uniques) + 1
            if size == 2:
                continue  # one value throughout (STUDYID, padding words): it separates nothing
            if size_so_far >= (2**62) // size:
                code = pd.factorize(code)[0].astype(np.int64)
                size_so_far = int(code.max(initial=0)) + 1
            code = code * size + part_code.astype(np.int64)
            size_so_far *= size
    return code[:nb], code[nb:]


def _differing_records(base: np.ndarray, compare: np.ndarray, rows_b: np.ndarray, rows_c: np.ndarray,
                       chunk: int = 1 << 16) -> np.ndarray:
    """Positions in the pairing whose raw records differ in any byte (both files share one record layout).

    Equal bytes mean equal values, so only these records need comparing variable by variable. Pairs
    come in runs (consecutive records on both sides), compared as slices of the memory maps: fancy
    indexing of whole records would copy them byte by byte.
    """
    width = base.shape[1]
    words = width // 8 * 8  # compared as 8-byte words, the rest byte by byte
    n = len(rows_b)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    breaks = (np.flatnonzero((np.diff(rows_b) != 1) | (np.diff(rows_c) != 1)) + 1).tolist()
    if len(breaks) > max(64, n // 256):  # shuffled: gather the records instead
        pieces = [(base[rows_b[i:i + chunk]], compare[rows_c[i:i + chunk]], i) for i in range(0, n, chunk)]
    else:
        pieces = []
        for first, last in zip([0, *breaks], [*breaks, n]):
            b0, c0 = int(rows_b[first]), int(rows_c[first])
            for i in range(0, last - first, chunk):
                size = min(chunk, last - first - i)
                pieces.append((base[b0 + i:b0 + i + size], compare[c0 + i:c0 + i + size], first + i))
    out = []
    for x, y, offset in pieces:
        differs = (x[:, :words].view(np.uint64) != y[:, :words].view(np.uint64)).any(axis=1) if words \
            else np.zeros(len(x), dtype=bool)
        if words < width:
            differs |= (x[:, words:] != y[:, words:]).any(axis=1)
        out.append(np.flatnonzero(differs) + offset)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


@dataclass
class _Match:
    base: np.ndarray  # positions of matched records in base
    compare: np.ndarray  # and of their partners in compare
    only_base: np.ndarray
    only_compare: np.ndarray
    duplicated_base: np.ndarray  # positions of records whose key occurs more than once
    duplicated_compare: np.ndarray


def _match(code_b: np.ndarray, code_c: np.ndarray) -> _Match:
    """Pair records with equal key codes; duplicated keys pair up in order of appearance."""
    dup_b = pd.Series(code_b).duplicated(keep=False).to_numpy()
    dup_c = pd.Series(code_c).duplicated(keep=False).to_numpy()
    if dup_b.any() or dup_c.any():
        occ_b = pd.Series(code_b).groupby(code_b).cumcount().to_numpy(np.int64)
        occ_c = pd.Series(code_c).groupby(code_c).cumcount().to_numpy(np.int64)
        step = int(max(occ_b.max(initial=0), occ_c.max(initial=0))) + 1
        joined = pd.factorize(np.concatenate([code_b, code_c]))[0].astype(np.int64) * step \
            + np.concatenate([occ_b, occ_c])
        code_b, code_c = joined[:len(code_b)], joined[len(code_b):]
    where = pd.Index(code_c).get_indexer(code_b)
    matched = where >= 0
    unmatched_c = np.ones(len(code_c), dtype=bool)
    unmatched_c[where[matched]] = False
    return _Match(np.flatnonzero(matched), where[matched], np.flatnonzero(~matched), np.flatnonzero(unmatched_c),
                  np.flatnonzero(dup_b), np.flatnonzero(dup_c))


# --------------------------------------------------------------------------- comparing two datasets

def compare_tables(base: Table, compare: Table, *, keys: Sequence[str] = (), key_source: str | None = None,
                   tolerance: float = 0.0, max_examples: int = DEFAULT_MAX_EXAMPLES, name: str | None = None,
                   notes: Sequence[str] = ()) -> Comparison:
    """Every finding between two tables; records matched on `keys` (none: by row position)."""
    name = name or base.name
    keys = list(keys)
    result = Comparison(name, "dataset", base.source, compare.source, notes=list(notes), keys=keys,
                        key_source=key_source or ("row position" if not keys else None),
                        records=(base.nrows, compare.nrows))
    findings = result.findings
    findings += _attribute_findings(base, compare, name, max_examples)
    vb = {v.name: v for v in base.variables}
    vc = {v.name: v for v in compare.variables}

    if keys:
        pairs = [_key_arrays(base.data[k], vb[k], compare.data[k], vc[k]) for k in keys]
        codes = _joint_codes(pairs, base.nrows, compare.nrows)
        match = _match(*codes)
    else:
        n = min(base.nrows, compare.nrows)
        match = _Match(np.arange(n), np.arange(n), np.arange(n, base.nrows), np.arange(n, compare.nrows),
                       np.zeros(0, np.int64), np.zeros(0, np.int64))

    context = [c for c in CONTEXT_VARIABLES if c not in keys and c in vb and c in vc]

    def ident(table: Table, rows: np.ndarray, variables: dict[str, Var]) -> list[dict]:
        """The key (and context) values of records, as example rows."""
        if not keys:
            out = [{"row": int(r) + 1} for r in rows]
        else:
            out = [{} for _ in rows]
        for k in [*keys, *context]:
            for row, value in zip(out, table.data[k][rows]):
                row[k] = _shown(value, variables[k])
        return out

    for side, table, dups, variables, code in (("base", base, match.duplicated_base, vb, codes[0] if keys else None),
                                               ("compare", compare, match.duplicated_compare, vc,
                                                codes[1] if keys else None)):
        if len(dups):
            values, first, counts = np.unique(code[dups], return_index=True, return_counts=True)
            order = np.argsort(first)[:max_examples]
            examples = ident(table, dups[first[order]], variables)
            for row, n in zip(examples, counts[order].tolist()):
                row["records"] = n
            findings.append(Finding(f"duplicate_keys_in_{side}", name, None, len(dups), examples,
                                    f"{len(values):,} key value(s) occur more than once in {side} "
                                    f"({len(dups):,} records; matched in order of appearance)"))
    for side, table, rows, variables in (("base", base, match.only_base, vb),
                                         ("compare", compare, match.only_compare, vc)):
        if len(rows):
            what = "record" if len(rows) == 1 else "records"
            findings.append(Finding(f"records_only_in_{side}", name, None, len(rows),
                                    ident(table, rows[:max_examples], variables),
                                    f"{len(rows):,} {what} only in {side}"))

    npaired = len(match.base)
    rows_b, rows_c = match.base, match.compare
    if base.records is not None and compare.records is not None and base.layout == compare.layout:
        differing = _differing_records(base.records, compare.records, rows_b, rows_c)
        rows_b, rows_c = rows_b[differing], rows_c[differing]
    identity = (len(rows_b) == base.nrows == compare.nrows and bool((rows_b == np.arange(base.nrows)).all())
                and bool((rows_c == rows_b).all()))
    for var in base.variables:
        if var.name not in vc or var.name in keys:
            continue
        a, b = base.data[var.name], compare.data[var.name]
        if not identity:
            a, b = a[rows_b], b[rows_c]
        differs = _differs(a, var, b, vc[var.name], tolerance)
        where = np.flatnonzero(differs)
        if not len(where):
            continue
        first = where[:max_examples]
        examples = ident(base, rows_b[first], vb)
        for row, x, y in zip(examples, a[first], b[first]):
            row["base"] = _shown(x, var)
            row["compare"] = _shown(y, vc[var.name])
        findings.append(Finding("values", name, var.name, len(where), examples,
                                f"{var.name}: {len(where):,} of {npaired:,} matched records differ"))
    return result


def _attribute_findings(base: Table, compare: Table, name: str, max_examples: int) -> list[Finding]:
    out: list[Finding] = []
    metadata = base.has_metadata and compare.has_metadata
    if metadata and base.name.upper() != compare.name.upper():
        out.append(Finding("dataset_name", name, None, 1, [{"base": base.name, "compare": compare.name}],
                           f"dataset name differs: {base.name!r} vs {compare.name!r}"))
    if metadata and (base.label or "") != (compare.label or ""):
        out.append(Finding("dataset_label", name, None, 1, [{"base": base.label, "compare": compare.label}],
                           f"dataset label differs: {base.label!r} vs {compare.label!r}"))
    vb = {v.name: v for v in base.variables}
    vc = {v.name: v for v in compare.variables}
    for side, mine, other in (("base", base, vc), ("compare", compare, vb)):
        only = [v for v in mine.variables if v.name not in other]
        if only:
            out.append(Finding(f"variables_only_in_{side}", name, None, len(only),
                               [{"variable": v.name, "type": v.type, "label": v.label or None} for v in only],
                               f"{len(only)} variable(s) only in {side}: {', '.join(v.name for v in only)}"))
    for v in base.variables:
        w = vc.get(v.name)
        if w is None:
            continue
        checks = [("type", v.type, w.type, v.type != w.type)]
        if metadata:
            checks += [("label", v.label or "", w.label or "", (v.label or "") != (w.label or "")),
                       ("length", v.length, w.length, v.length is not None and w.length is not None
                        and v.length != w.length),
                       # a character variable's $w. format only restates its length (read_xpt drops it)
                       ("format", v.format, w.format, not (v.type == w.type == "Char")
                        and not _same_format(v.format, w.format))]
        for kind, x, y, differs in checks:
            if differs:
                extra = " (values compared as text)" if kind == "type" else ""
                out.append(Finding(kind, name, v.name, 1, [{"variable": v.name, "base": x or None, "compare": y or None}],
                                   f"{v.name}: {kind} differs: {x!r} vs {y!r}{extra}"))
    order_b = [v.name for v in base.variables if v.name in vc]
    order_c = [v.name for v in compare.variables if v.name in vb]
    if order_b != order_c:
        moved = [{"position": i + 1, "base": x, "compare": y} for i, (x, y) in enumerate(zip(order_b, order_c)) if x != y]
        out.append(Finding("order", name, None, len(moved), moved[:max_examples],
                           f"variable order differs at {len(moved)} position(s) of the common variables"))
    return out


# --------------------------------------------------------------------------- keys

def spec_keys(specs_dir: Path | None) -> dict[str, list[str]]:
    """Key Variables of every dataset in the spec (a specs folder, or one standard's folder)."""
    from ..paths import bundled_specs

    explicit = specs_dir is not None
    root = Path(specs_dir) if explicit else bundled_specs()
    folders = [root] if (root / "Datasets.csv").is_file() else [root / part for part in PACKAGE_PARTS]
    sheets = [folder / "Datasets.csv" for folder in folders if (folder / "Datasets.csv").is_file()]
    if not sheets:
        if explicit:
            raise _fail(root, "no Datasets.csv here or in sdtm/ and adam/ (give the specs folder)")
        return {}
    keys: dict[str, list[str]] = {}
    for sheet in sheets:
        try:
            with sheet.open(newline="", encoding="utf-8-sig") as handle:
                for row in csv.DictReader(handle):
                    dataset = (row.get("Dataset") or "").strip().upper()
                    wanted = [k.strip().upper() for k in (row.get("Key Variables") or "").split(",") if k.strip()]
                    if dataset and wanted:
                        keys.setdefault(dataset, wanted)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            if explicit:
                raise _fail(sheet, f"cannot read the spec: {exc}") from None
    return keys


def choose_keys(base: Table, compare: Table, *, keys: Sequence[str] | None, specs: Mapping[str, list[str]],
                strict: bool) -> tuple[list[str], str, list[str]]:
    """(keys, where they come from, notes): `keys` given, else the spec's, else the file's, else none."""
    names_b = {v.name for v in base.variables}
    names_c = {v.name for v in compare.variables}
    notes: list[str] = []

    def missing(wanted: Sequence[str]) -> list[str]:
        return [k for k in wanted if k not in names_b or k not in names_c]

    if keys:
        lacking = missing(keys)
        if not lacking:
            return list(keys), "--keys", notes
        if strict:
            raise _fail(base.source if any(k not in names_b for k in lacking) else compare.source,
                        f"key variable(s) {', '.join(lacking)} not in both datasets")
        notes.append(f"--keys: {', '.join(lacking)} not in both datasets; not used here")
    for source, wanted in (("spec", specs.get(base.name.upper())),
                           ("Dataset-JSON keySequence", base.keys or compare.keys)):
        if wanted:
            lacking = missing(wanted)
            if not lacking:
                return list(wanted), source, notes
            notes.append(f"{source} keys {', '.join(wanted)}: {', '.join(lacking)} not in both datasets")
    notes.append("no key variables: records matched by row position")
    return [], "row position", notes


# --------------------------------------------------------------------------- define.xml

def _show_attr(value):
    if value is None or value == () or value == "":
        return None
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (int, float, str)):
        return value
    if isinstance(value, tuple):
        parts = [_show_attr(v) for v in value]
        return "; ".join(str(p) for p in parts if p is not None) or None
    if hasattr(value, "__dataclass_fields__"):
        parts = [_show_attr(getattr(value, f.name)) for f in dataclass_fields(value)]
        return " ".join(str(p) for p in parts if p is not None) or None
    return str(value)


def _changes(base, compare, skip: Iterable[str] = ()) -> list[tuple[str, object, object]]:
    skip = set(skip)
    return [(f.name, _show_attr(getattr(base, f.name)), _show_attr(getattr(compare, f.name)))
            for f in dataclass_fields(base) if f.name not in skip and getattr(base, f.name) != getattr(compare, f.name)]


class _DefineDiff:
    def __init__(self, name: str):
        self.name = name
        self.findings: list[Finding] = []

    def changed(self, element: str, changes: list[tuple[str, object, object]]) -> None:
        if not changes:
            return
        examples = [{"element": element, "attribute": a, "base": x, "compare": y} for a, x, y in changes]
        what = ", ".join(a for a, _, _ in changes)
        self.findings.append(Finding("define", self.name, element, len(changes), examples, f"{element}: {what} changed"))

    def keyed(self, what: str, base: Mapping, compare: Mapping, label=lambda key, obj: str(key)) -> list:
        """Elements only in one side (one finding per side); the keys in both, for the caller to compare."""
        for side, mine, other in (("base", base, compare), ("compare", compare, base)):
            only = [k for k in mine if k not in other]
            if only:
                shown = [label(k, mine[k]) for k in only]
                self.findings.append(Finding(f"define_only_in_{side}", self.name, what, len(only),
                                             [{"element": what, "id": s} for s in shown],
                                             f"{what}: {len(only)} only in {side}: {', '.join(shown[:20])}"
                                             + (" ..." if len(only) > 20 else "")))
        return [k for k in base if k in compare]


def compare_defines(base_path: Path, compare_path: Path, *, name: str = "define.xml") -> Comparison:
    """Two define.xml files compared as metadata (datasets, variables, codelists, methods, comments ...)."""
    from ..define.read import read_define

    try:
        b = read_define(Path(base_path))
        c = read_define(Path(compare_path))
    except SubError as exc:
        raise DiffError(exc.problems, "sub diff: cannot compare") from None
    d = _DefineDiff(name)
    d.changed("study", _changes(b, c, skip=("source", "created", "standards", "datasets", "items", "codelists",
                                            "methods", "comments", "value_lists", "where_clauses", "documents")))
    for oid in d.keyed("standards", b.standards, c.standards):
        d.changed(f"standard {oid}", _changes(b.standards[oid], c.standards[oid]))
    for ds_name in d.keyed("datasets", b.datasets, c.datasets):
        x, y = b.datasets[ds_name], c.datasets[ds_name]
        d.changed(f"dataset {ds_name} ({x.oid})", _changes(x, y, skip=("variables",)))
        xv = {v.name: v for v in x.variables}
        yv = {v.name: v for v in y.variables}
        for var in d.keyed(f"variables of dataset {ds_name}", xv, yv, lambda k, v, ds=ds_name: f"{ds}.{k}"):
            changes = _changes(xv[var], yv[var], skip=("item",)) + _changes(xv[var].item, yv[var].item)
            d.changed(f"{ds_name}.{var} ({xv[var].item.oid})", changes)
    for oid in d.keyed("value lists", b.value_lists, c.value_lists):
        xi = {e.item.oid: e for e in b.value_lists[oid].items}
        yi = {e.item.oid: e for e in c.value_lists[oid].items}
        for item in d.keyed(f"value-level items of {oid}", xi, yi):
            d.changed(f"{oid} {item}", _changes(xi[item], yi[item], skip=("item",)) + _changes(xi[item].item, yi[item].item))
    for oid in d.keyed("where clauses", b.where_clauses, c.where_clauses):
        d.changed(f"where clause {oid}", _changes(b.where_clauses[oid], c.where_clauses[oid]))
    for oid in d.keyed("codelists", b.codelists, c.codelists, lambda k, cl: f"{k} ({cl.name})"):
        x, y = b.codelists[oid], c.codelists[oid]
        d.changed(f"codelist {oid} ({x.name})", _changes(x, y, skip=("terms",)))
        xt = {t.value: t for t in x.terms}
        yt = {t.value: t for t in y.terms}
        for term in d.keyed(f"terms of codelist {oid}", xt, yt, lambda k, t: repr(k)):
            d.changed(f"codelist {oid} term {term!r}", _changes(xt[term], yt[term]))
    for oid in d.keyed("methods", b.methods, c.methods):
        d.changed(f"method {oid}", _changes(b.methods[oid], c.methods[oid]))
    for oid in d.keyed("comments", b.comments, c.comments):
        d.changed(f"comment {oid}", _changes(b.comments[oid], c.comments[oid]))
    for ident in d.keyed("documents", b.documents, c.documents):
        d.changed(f"document {ident}", _changes(b.documents[ident], c.documents[ident]))
    return Comparison(name, "define", str(base_path), str(compare_path), d.findings,
                      records=(len(b.datasets), len(c.datasets)))


# --------------------------------------------------------------------------- ARD

def _ard_key_columns(columns: Sequence[str]) -> list[str]:
    """The ARD's own key (tlf/ard.py: output, population, groups, variable, statistic): rows are
    matched on what identifies them, never on their order."""
    from ..tlf.ard import ard_key_columns

    return ard_key_columns(columns)


def _read_ard(path: Path) -> pd.DataFrame:
    from ..tlf.ard import read_ard_csv

    try:
        frame = read_ard_csv(path)
    except KeyError:
        raise _fail(path, "not an ARD: no stat column") from None
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise _fail(path, f"not a readable ARD CSV: {exc}") from None
    return frame

def compare_ards(base_path: Path, compare_path: Path, *, name: str = "ard.csv", tolerance: float = 0.0,
                 max_examples: int = DEFAULT_MAX_EXAMPLES) -> Comparison:
    """Two ARDs row by row on their identifying columns; findings per output (table number)."""
    b, c = _read_ard(Path(base_path)), _read_ard(Path(compare_path))
    result = Comparison(name, "ard", str(base_path), str(compare_path), records=(len(b), len(c)))
    findings = result.findings
    for side, mine, other in (("base", b, c), ("compare", c, b)):
        only = [col for col in mine.columns if col not in other.columns]
        if only:
            findings.append(Finding(f"variables_only_in_{side}", name, None, len(only),
                                    [{"variable": col} for col in only],
                                    f"{len(only)} column(s) only in {side}: {', '.join(only)}"))
    keys = _ard_key_columns([col for col in b.columns if col in c.columns])
    result.keys, result.key_source = keys, "ARD identifying columns"
    text = Var("", "", "Char")
    pairs = [_key_arrays(b[k].to_numpy(object), text, c[k].to_numpy(object), text) for k in keys]
    match = _match(*_joint_codes(pairs, len(b), len(c)))
    output = "output_id" if "output_id" in keys else None

    def ident(frame: pd.DataFrame, row: int) -> dict:
        return {k: _shown(frame[k].iat[row]) for k in keys}

    def by_output(frame: pd.DataFrame, rows: np.ndarray) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {}
        for row in rows.tolist():
            groups.setdefault(str(frame[output].iat[row]) if output else "(all)", []).append(row)
        return groups

    for side, frame, dups in (("base", b, match.duplicated_base), ("compare", c, match.duplicated_compare)):
        if len(dups):
            findings.append(Finding(f"duplicate_keys_in_{side}", name, None, len(dups),
                                    [ident(frame, r) for r in dups[:max_examples].tolist()],
                                    f"{len(dups):,} ARD rows in {side} share their identifying values "
                                    f"(matched in order of appearance)"))
    for side, frame, rows in (("base", b, match.only_base), ("compare", c, match.only_compare)):
        for out_id, members in by_output(frame, rows).items():
            whole = output is not None and len(members) == int((frame[output].astype(str) == out_id).sum())
            findings.append(Finding(f"ard_only_in_{side}", name, out_id, len(members),
                                    [ident(frame, r) for r in members[:max_examples]],
                                    f"output {out_id}: {len(members):,} row(s) only in {side}"
                                    + (" (the whole output)" if whole else "")))
    values = [col for col in b.columns if col in c.columns and col not in keys]
    changed = np.zeros(len(match.base), dtype=bool)
    differing: dict[str, np.ndarray] = {}
    for col in values:
        x = b[col].to_numpy(object)[match.base]
        y = c[col].to_numpy(object)[match.compare]
        fx = pd.to_numeric(pd.Series(x, dtype=object), errors="coerce").to_numpy(np.float64)
        fy = pd.to_numeric(pd.Series(y, dtype=object), errors="coerce").to_numpy(np.float64)
        numbers = ~np.isnan(fx) & ~np.isnan(fy)
        mask = _differs(x, text, y, text, 0.0)
        mask[numbers] = _num_differs(fx[numbers], fy[numbers], tolerance)
        differing[col] = mask
        changed |= mask
    buckets: dict[str, list[int]] = {}
    for pos in np.flatnonzero(changed).tolist():
        row = int(match.base[pos])
        buckets.setdefault(str(b[output].iat[row]) if output else "(all)", []).append(pos)
    for out_id, positions in buckets.items():
        examples: list[dict] = []
        for pos in positions:
            row, partner = int(match.base[pos]), int(match.compare[pos])
            for col in values:
                if differing[col][pos] and len(examples) < max_examples:
                    examples.append({**ident(b, row), "column": col, "base": _shown(b[col].iat[row]),
                                     "compare": _shown(c[col].iat[partner])})
            if len(examples) >= max_examples:
                break
        findings.append(Finding("ard_values", name, out_id, len(positions), examples,
                                f"output {out_id}: {len(positions):,} row(s) with different values"))
    return result


# --------------------------------------------------------------------------- files and folders

def _is_dataset_json(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except OSError:
        return True  # let the reader report it
    return b'"datasetJSONVersion"' in head or b'"itemGroupOID"' in head


def _is_ard_csv(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            header = next(csv.reader([handle.readline()]), [])
    except OSError:
        return False
    return {"output_id", "stat_name", "stat"} <= set(header)


@dataclass
class _Package:
    root: Path
    datasets: dict[str, Path]  # "sdtm/ae" -> the preferred file
    twins: dict[str, list[Path]]
    defines: dict[str, Path]  # "sdtm/define.xml"
    ards: dict[str, Path]  # "tlf/ard.csv"


def _scan(root: Path) -> _Package:
    parts = [p for p in PACKAGE_PARTS if (root / p).is_dir()]
    found: dict[str, list[Path]] = {}
    defines: dict[str, Path] = {}
    for part in [".", *parts]:
        folder = root / part
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            rel = path.relative_to(root).as_posix()
            suffix = path.suffix.lower()
            if suffix == ".xml" and path.name.lower().startswith("define"):
                defines[rel] = path
            elif suffix in DATASET_SUFFIXES:
                if suffix == ".json" and not _is_dataset_json(path):
                    continue
                if suffix == ".csv" and ((part == "." and parts) or _is_ard_csv(path)):
                    continue  # a package's own CSV files (ARD, manifest) are not datasets
                stem = (Path(rel).parent / path.stem.lower()).as_posix()
                found.setdefault(stem, []).append(path)
    datasets = {stem: min(files, key=lambda p: DATASET_SUFFIXES.index(p.suffix.lower())) for stem, files in found.items()}
    ards = {rel.as_posix(): root / rel for rel in ARD_PATHS if (root / rel).is_file()}
    return _Package(root, datasets, found, defines, ards)


def _pair_names(base: Mapping, compare: Mapping) -> list[str]:
    return list(dict.fromkeys([*base, *compare]))


def diff_datasets(base: Path, compare: Path, *, keys: Sequence[str] | None = None, tolerance: float = 0.0,
                  max_examples: int = DEFAULT_MAX_EXAMPLES, specs_dir: Path | None = None,
                  specs: Mapping[str, list[str]] | None = None, strict_keys: bool = True,
                  name: str | None = None) -> Comparison:
    """Two dataset files (any readable format, mixed formats allowed)."""
    tb, tc = read_table(Path(base)), read_table(Path(compare))
    specs = spec_keys(specs_dir) if specs is None else specs
    chosen, source, notes = choose_keys(tb, tc, keys=keys, specs=specs, strict=strict_keys)
    if tb.format != tc.format:
        notes.append(f"compared {tb.format} with {tc.format}")
    return compare_tables(tb, tc, keys=chosen, key_source=source, tolerance=tolerance, max_examples=max_examples,
                          name=name or tb.name, notes=notes)


def diff_frames(base, compare, *, keys: Sequence[str] = (), tolerance: float = 0.0,
                max_examples: int = DEFAULT_MAX_EXAMPLES, name: str | None = None) -> Comparison:
    """Two in-memory datasets (`Dataset` or DataFrame); `keys` empty matches by row position."""
    tb, tc = table_from_dataset(base), table_from_dataset(compare)
    missing = [k for k in keys if k not in tb.data or k not in tc.data]
    if missing:
        raise _fail(name or tb.name, f"key variable(s) {', '.join(missing)} not in both datasets")
    return compare_tables(tb, tc, keys=keys, key_source="keys" if keys else None, tolerance=tolerance,
                          max_examples=max_examples, name=name or tb.name)


def _one_side(rel: str, kind: str, x: Path | None, y: Path | None, finding: str, what: str) -> Comparison:
    """A file present in only one of the two folders: one finding naming the side that has it."""
    side = "base" if y is None else "compare"
    return Comparison(rel, kind, str(x) if x else None, str(y) if y else None,
                      [Finding(f"{finding}_only_in_{side}", rel, None, 1, [{"file": rel}], f"{what}{rel} only in {side}")])


def diff_folders(base: Path, compare: Path, *, keys: Sequence[str] | None = None, tolerance: float = 0.0,
                 max_examples: int = DEFAULT_MAX_EXAMPLES, specs_dir: Path | None = None) -> DiffResult:
    """Two packages (or folders of datasets): datasets by file name, define.xml files, the ARD."""
    base, compare = Path(base), Path(compare)
    pb, pc = _scan(base), _scan(compare)
    specs = spec_keys(specs_dir)
    comparisons: list[Comparison] = []
    for stem in _pair_names(pb.datasets, pc.datasets):
        x, y = pb.datasets.get(stem), pc.datasets.get(stem)
        if x is None or y is None:
            rel = (x or y).relative_to(base if x else compare).as_posix()
            comparisons.append(_one_side(rel, "dataset", x, y, "dataset", "dataset "))
            continue
        comparisons.append(diff_datasets(x, y, keys=keys, tolerance=tolerance, max_examples=max_examples, specs=specs,
                                         strict_keys=False, name=x.relative_to(base).as_posix()))
    for rel in _pair_names(pb.defines, pc.defines):
        x, y = pb.defines.get(rel), pc.defines.get(rel)
        if x is None or y is None:
            comparisons.append(_one_side(rel, "define", x, y, "file", ""))
            continue
        comparisons.append(compare_defines(x, y, name=rel))
    for rel in _pair_names(pb.ards, pc.ards):
        x, y = pb.ards.get(rel), pc.ards.get(rel)
        if x is None or y is None:
            comparisons.append(_one_side(rel, "ard", x, y, "file", ""))
            continue
        comparisons.append(compare_ards(x, y, name=rel, tolerance=tolerance, max_examples=max_examples))
    if not comparisons:
        raise _fail(base, "no datasets, define.xml or ARD found in either folder")
    return DiffResult(str(base), str(compare), comparisons)


def diff_paths(base: Path, compare: Path, *, keys: Sequence[str] | None = None, tolerance: float = 0.0,
               max_examples: int = DEFAULT_MAX_EXAMPLES, specs_dir: Path | None = None) -> DiffResult:
    """`sub diff`: two files (datasets, define.xml or ARD CSV) or two folders."""
    base, compare = Path(base), Path(compare)
    for path in (base, compare):
        if not path.exists():
            raise _fail(path, "no such file or folder")
    if tolerance < 0 or (isinstance(tolerance, float) and math.isnan(tolerance)):
        raise _fail("--tolerance", "must be zero or more", tolerance)
    if max_examples < 0:
        raise _fail("--max-examples", "must be zero or more", max_examples)
    if base.is_dir() != compare.is_dir():
        raise _fail(compare, f"cannot compare a {'folder' if base.is_dir() else 'file'} with a "
                             f"{'folder' if compare.is_dir() else 'file'}")
    if base.is_dir():
        return diff_folders(base, compare, keys=keys, tolerance=tolerance, max_examples=max_examples,
                            specs_dir=specs_dir)
    suffixes = {base.suffix.lower(), compare.suffix.lower()}
    if suffixes == {".xml"}:
        comparison = compare_defines(base, compare, name=base.name)
    elif suffixes == {".csv"} and _is_ard_csv(base) and _is_ard_csv(compare) and not keys:
        comparison = compare_ards(base, compare, name=base.name, tolerance=tolerance, max_examples=max_examples)
    else:
        comparison = diff_datasets(base, compare, keys=keys, tolerance=tolerance, max_examples=max_examples,
                                   specs_dir=specs_dir)
    return DiffResult(str(base), str(compare), [comparison])


# --------------------------------------------------------------------------- the console report

MAX_CELL = 40


def _cell(value, missing: str = "") -> str:
    if value is None:
        return missing
    text = str(value).replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 3] + "..."


def _table(rows: list[dict], indent: str = "      ", hide: Iterable[str] = ()) -> list[str]:
    columns = [k for k in dict.fromkeys(k for row in rows for k in row) if k not in hide]
    shown = [c for c in columns if c in ("base", "compare") or any(row.get(c) is not None for row in rows)]
    cells = [[_cell(row.get(c), "(missing)" if c in ("base", "compare") else "") for c in shown] for row in rows]
    widths = [max(_width(c), *(_width(r[i]) for r in cells)) for i, c in enumerate(shown)]

    def line(values: list[str]) -> str:
        return indent + "  ".join(v + " " * (w - _width(v)) for v, w in zip(values, widths)).rstrip()

    return [line(shown), *(line(r) for r in cells)]


def _width(text: str) -> int:
    """Columns a terminal gives the text: Hangul and other wide characters take two."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def render_report(result: DiffResult) -> str:
    lines = [f"sub diff: {result.base}  vs  {result.compare}", ""]
    width = max((len(c.name) for c in result.comparisons), default=0)
    for c in result.comparisons:
        status = "equal" if c.equal else _plural(len(c.findings), "finding")
        size = ""
        if c.what in ("dataset", "ard") and None not in c.records:
            size = f"{c.records[0]:,} | {c.records[1]:,} {'records' if c.what == 'dataset' else 'rows'}"
        lines.append(f"  {c.name.ljust(width)}  {size:<28}  {status}")
    for c in result.comparisons:
        if c.equal and not c.notes:
            continue
        lines.append("")
        head = c.name
        if c.base and c.compare and len(result.comparisons) > 1 and Path(c.base).name != Path(c.compare).name:
            head += f" ({Path(c.base).name} vs {Path(c.compare).name})"
        if c.what == "dataset" and c.base and c.compare and c.keys:
            head += f"; keys {', '.join(c.keys)} ({c.key_source})"
        lines.append(head + (": equal" if c.equal else f": {_plural(len(c.findings), 'finding')}"))
        for note in c.notes:
            lines.append(f"  note: {note}")
        attributes = [f for f in c.findings if f.kind in ATTRIBUTE_KINDS]
        for kind in ATTRIBUTE_KINDS:
            group = [f for f in attributes if f.kind == kind]
            if group:
                lines.append(f"  - {kind} differs for {_plural(len(group), 'variable')}:")
                lines += _table([f.examples[0] for f in group])
        for f in c.findings:
            if f.kind in ATTRIBUTE_KINDS:
                continue
            lines.append(f"  - {f.message}")
            if f.examples and f.kind not in ("dataset_label", "dataset_name"):
                lines += _table(f.examples, hide=("element",) if f.kind.startswith("define") else ())
                if f.count > len(f.examples) and f.kind.startswith(("values", "records_only", "ard_")):
                    lines.append(f"      ... first {len(f.examples)} shown")
    lines.append("")
    if result.equal:
        lines.append(f"equal: {_plural(len(result.comparisons), 'comparison')}, no differences")
    else:
        different = sum(1 for c in result.comparisons if not c.equal)
        lines.append(f"DIFFERENT: {_plural(len(result.findings), 'finding')} in {different:,} of "
                     f"{_plural(len(result.comparisons), 'comparison')}")
    return "\n".join(lines)
