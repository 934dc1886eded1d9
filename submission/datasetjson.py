"""CDISC Dataset-JSON 1.1: the UTF-8 twin of each XPT file, its reader and a structural check.

Numbers stay numbers, missing values are null, dates and datetimes are ISO 8601 strings with
the XPT storage named in `targetDataType` (as CDISC's own pilot files do).
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from .columns import Distinct, DistinctValues, factorize, small_codes
from .dataset import Column, Dataset
from .errors import Problem, SubError
from .io import publish

VERSION = "1.1.0"
DATA_TYPES = {"string", "integer", "decimal", "float", "double", "boolean", "datetime", "date", "time", "URI"}
TOP_REQUIRED = {"datasetJSONCreationDateTime": str, "datasetJSONVersion": str, "itemGroupOID": str,
                "records": int, "name": str, "label": str, "columns": list, "rows": list}
TOP_OPTIONAL = {"fileOID": str, "dbLastModifiedDateTime": str, "originator": str, "sourceSystem": dict,
                "studyOID": str, "metaDataVersionOID": str, "metaDataRef": str}
COLUMN_REQUIRED = {"itemOID": str, "name": str, "label": str, "dataType": str}
COLUMN_OPTIONAL = {"targetDataType": str, "length": int, "displayFormat": str, "keySequence": int}

_JSON_TYPE = {"text": "string", "integer": "integer", "float": "double", "date": "date", "datetime": "datetime",
              "time": "time"}


def _json_column(values: pd.Series, kind: str) -> list:
    """One column as JSON-ready Python values (None for missing), converted column-wise."""
    missing = values.isna().to_numpy()
    if kind == "text":
        return [None if m else str(v) for v, m in zip(values.tolist(), missing)]
    if kind == "date":
        out = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
    elif kind == "datetime":
        out = pd.to_datetime(values).dt.strftime("%Y-%m-%dT%H:%M:%S")
    elif kind == "time":
        seconds = pd.to_numeric(values).fillna(0).astype("int64")
        out = (seconds // 3600).map("{:02d}".format).astype(object) + ":" + \
            (seconds % 3600 // 60).map("{:02d}".format).astype(object) + ":" + \
            (seconds % 60).map("{:02d}".format).astype(object)  # object: an empty column stays text
    else:
        numbers = pd.to_numeric(values).astype("float64").to_numpy()
        finite = np.isfinite(numbers)
        whole = finite & (np.floor(np.where(finite, numbers, 0)) == numbers) & (np.abs(numbers) < 2**53)
        cells = numbers.astype(object)
        cells[whole] = numbers[whole].astype(np.int64).astype(object)  # JSON integers, not 1.0
        cells[~finite] = None
        return cells.tolist()
    result = out.astype(object).tolist()
    return [None if m else v for v, m in zip(result, missing)]


def _json_columns(ds: Dataset, text_length=None) -> list[dict]:
    length = text_length or ds.text_length
    columns = []
    for col in ds.columns:
        entry: dict = {"itemOID": f"IT.{ds.name}.{col.name}", "name": col.name, "label": col.label,
                       "dataType": _JSON_TYPE[col.kind]}
        if col.kind in ("date", "datetime", "time"):
            entry["targetDataType"] = "integer"
        if col.kind == "text":
            entry["length"] = length(col.name)
        if col.format:
            entry["displayFormat"] = col.format
        if col.name in ds.keys:
            entry["keySequence"] = ds.keys.index(col.name) + 1
        columns.append(entry)
    return columns


def _head(ds: Dataset, columns: list[dict], records: int, *, created: dt.datetime, study_oid: str, mdv_oid: str,
          originator: str, version: str) -> dict:
    stamp = created.strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "datasetJSONCreationDateTime": stamp,
        "datasetJSONVersion": VERSION,
        "fileOID": f"{study_oid}.{ds.name}",
        "dbLastModifiedDateTime": stamp,
        "originator": originator,
        "sourceSystem": {"name": "sub", "version": version},
        "studyOID": study_oid,
        "metaDataVersionOID": mdv_oid,
        "itemGroupOID": f"IG.{ds.name}",
        "records": records,
        "name": ds.name,
        "label": ds.label,
        "columns": columns,
    }


def to_json_dict(ds: Dataset, *, created: dt.datetime, study_oid: str, mdv_oid: str,
                 metadata_ref: str | None = None, originator: str = "sub", version: str = "") -> dict:
    """The document as Python objects, row by row: what `write_dataset_json` writes from whole
    columns (the tests hold its bytes equal to this dict's `json.dumps`)."""
    series = [_json_column(ds.frame[c.name].reset_index(drop=True), c.kind) for c in ds.columns]
    rows = [list(row) for row in zip(*series)] if series else []
    out = _head(ds, _json_columns(ds), len(rows), created=created, study_oid=study_oid, mdv_oid=mdv_oid,
                originator=originator, version=version)
    out["rows"] = rows
    if metadata_ref:
        out["metaDataRef"] = metadata_ref
    return out


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# json.dumps(str, ensure_ascii=False) without its per-call set-up: the function its C encoder uses
encode_basestring = json.encoder.encode_basestring


def _tokens(ds: Dataset, col: Column, distinct: DistinctValues) -> tuple[np.ndarray, np.ndarray]:
    """One column as JSON text: codes, and the text of each distinct value with "null" last (code -1),
    each exactly as json.dumps writes that value in `to_json_dict`'s rows."""
    values = ds.frame[col.name]
    found = distinct.text(col.name) if col.kind == "text" else None
    if found is not None:
        texts = list(map(encode_basestring, found.values))
    elif col.kind in ("integer", "float"):
        found = factorize(pd.to_numeric(values).astype("float64").to_numpy())
        # whole numbers as JSON integers (1, not 1.0); NaN and infinities as null
        texts = [(str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)) if math.isfinite(v) else "null"
                 for v in found.values]
    elif col.kind in ("date", "datetime"):
        codes, uniques = pd.factorize(pd.to_datetime(values).reset_index(drop=True))
        found = Distinct(small_codes(codes, len(uniques)), [])
        texts = list(map(encode_basestring, uniques.strftime("%Y-%m-%d" if col.kind == "date" else "%Y-%m-%dT%H:%M:%S")))
    else:  # time, and text that is not all str: value by value, as to_json_dict
        found = factorize(np.array(_json_column(values.reset_index(drop=True), col.kind), dtype=object))
        texts = list(map(encode_basestring, found.values))
    table = np.empty(len(texts) + 1, dtype=object)
    table[:-1] = texts
    table[-1] = "null"
    return found.codes, table


ROWS_PER_BLOCK = 1 << 16


def write_dataset_json(ds: Dataset, path: Path, *, created: dt.datetime, study_oid: str, mdv_oid: str,
                       metadata_ref: str | None = None, originator: str = "sub", version: str = "",
                       distinct: DistinctValues | None = None) -> None:
    """Write `ds` as Dataset-JSON 1.1 (all or nothing), the bytes of `json.dumps(to_json_dict(ds))`
    built from whole columns: each distinct value turned into JSON text once, the rows joined in C
    a block at a time. `distinct` shares the text columns' factorization with the XPT writer."""
    distinct = distinct or DistinctValues(ds)

    def length(name: str) -> int:
        found = distinct.text(name)
        if found is None:
            return ds.text_length(name)
        if "".join(found.values).isascii():
            return max(1, max(map(len, found.values), default=0))
        return max(1, max((len(v.encode("utf-8")) for v in found.values), default=0))

    nrows = len(ds.frame) if ds.columns else 0
    head = _dumps(_head(ds, _json_columns(ds, length), nrows, created=created, study_oid=study_oid,
                        mdv_oid=mdv_oid, originator=originator, version=version))
    tail = f',"metaDataRef":{_dumps(metadata_ref)}}}' if metadata_ref else "}"
    columns = [_tokens(ds, col, distinct) for col in ds.columns]
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write((head[:-1] + ',"rows":[').encode("utf-8"))
            for start in range(0, nrows, ROWS_PER_BLOCK):
                block = [table[codes[start:start + ROWS_PER_BLOCK]].tolist() for codes, table in columns]
                text = "],[".join(map(",".join, zip(*block)))
                handle.write((("," if start else "") + "[" + text + "]").encode("utf-8"))
            handle.write(("]" + tail).encode("utf-8"))
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def rows_frame(obj: object) -> pd.DataFrame | None:
    """The document's rows as one table of the parsed values (object columns labelled 0, 1, ...),
    made once (in C) for `structure_problems` and `dataset_from_json`; None when the rows are not all
    arrays of one value per column (those functions then look at the rows one by one)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("rows"), list) or not isinstance(obj.get("columns"), list):
        return None
    rows, width = obj["rows"], len(obj["columns"])
    if not rows or set(map(type, rows)) - {list} or set(map(len, rows)) - {width}:
        return None
    return pd.DataFrame(rows, dtype=object)


def structure_problems(obj: object, file: str, table: pd.DataFrame | None = None, *, nan: bool = True) -> list[Problem]:
    """Check a parsed Dataset-JSON document against the 1.1 structure (keys, types, rows).
    `table`: the document's `rows_frame`, when the caller has it already; `nan` False: the document is
    known to hold no NaN (`load_json`'s `constants`), which lets the value types be checked faster."""
    out: list[Problem] = []

    def bad(column: str | None, value, message: str) -> None:
        out.append(Problem(file, None, column, None if value is None else str(value)[:80], message))

    if not isinstance(obj, dict):
        return [Problem(file, None, None, None, "top level is not a JSON object")]
    for key, kind in TOP_REQUIRED.items():
        if key not in obj:
            bad(key, None, "required attribute is missing")
        elif not isinstance(obj[key], kind) or (kind is int and isinstance(obj[key], bool)):
            bad(key, obj[key], f"expected a JSON {kind.__name__}")
    for key, kind in TOP_OPTIONAL.items():
        if key in obj and not isinstance(obj[key], kind):
            bad(key, obj[key], f"expected a JSON {kind.__name__}")
    for key in set(obj) - set(TOP_REQUIRED) - set(TOP_OPTIONAL):
        bad(key, None, "not a Dataset-JSON 1.1 attribute")
    if isinstance(obj.get("sourceSystem"), dict) and set(obj["sourceSystem"]) != {"name", "version"}:
        bad("sourceSystem", obj["sourceSystem"], "expected exactly name and version")
    if str(obj.get("datasetJSONVersion", "")).split(".")[:2] != ["1", "1"]:
        bad("datasetJSONVersion", obj.get("datasetJSONVersion"), "expected version 1.1.x")
    columns = obj.get("columns") if isinstance(obj.get("columns"), list) else []
    for i, col in enumerate(columns):
        if not isinstance(col, dict):
            bad(f"columns[{i}]", col, "expected an object")
            continue
        for key, kind in COLUMN_REQUIRED.items():
            if not isinstance(col.get(key), kind):
                bad(f"columns[{i}].{key}", col.get(key), f"required {kind.__name__} is missing or mistyped")
        for key, kind in COLUMN_OPTIONAL.items():
            if key in col and (not isinstance(col[key], kind) or isinstance(col[key], bool)):
                bad(f"columns[{i}].{key}", col[key], f"expected a JSON {kind.__name__}")
        for key in set(col) - set(COLUMN_REQUIRED) - set(COLUMN_OPTIONAL):
            bad(f"columns[{i}].{key}", None, "not a Dataset-JSON 1.1 column attribute")
        if col.get("dataType") not in DATA_TYPES:
            bad(f"columns[{i}].dataType", col.get("dataType"), f"expected one of {sorted(DATA_TYPES)}")
    rows = obj.get("rows") if isinstance(obj.get("rows"), list) else []
    if isinstance(obj.get("records"), int) and obj["records"] != len(rows):
        bad("records", obj["records"], f"says {obj['records']} but there are {len(rows)} rows")
    checks = {"string": str, "integer": int, "double": (int, float), "float": (int, float), "boolean": bool,
              "date": str, "datetime": str, "time": str, "URI": str, "decimal": str}
    if table is None:
        table = rows_frame(obj)
    if (table is not None and table.shape == (len(rows), len(columns))
            and _rows_regular(table, columns, checks, nan)) or not rows:
        return out
    for r, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(columns):
            bad(f"rows[{r}]", None, f"expected an array of {len(columns)} values")
            continue
        for value, col in zip(row, columns):
            want = checks.get(col.get("dataType") if isinstance(col, dict) else None)
            if want is int and isinstance(value, float) and value.is_integer():
                continue  # JSON does not tell 1 from 1.0
            if value is not None and want is not None and (not isinstance(value, want) or (
                    isinstance(value, bool) and want is not bool)):
                bad(f"rows[{r}].{col.get('name')}", value, f"not a {col['dataType']} value")
        if len(out) > 50:
            break
    return out


# What pandas' infer_dtype (nulls skipped) calls a column whose every value is null or of the wanted type.
_INFERRED = {str: {"string", "empty"}, int: {"integer", "empty"}, bool: {"boolean", "empty"},
             (int, float): {"integer", "floating", "mixed-integer-float", "empty"}}


def _rows_regular(table: pd.DataFrame, columns: list, checks: dict, nan: bool = True) -> bool:
    """Whether every value of the rows (`rows_frame`: arrays of one value per column) is null or of its
    column's type: decided column by column, in C by pandas' infer_dtype when the document holds no NaN
    (`nan` False: infer_dtype skips NaN as it skips null), else on the set of Python types present
    (fast for a million rows either way); when not, `structure_problems` goes through the rows one by
    one to say where."""
    for i, col in enumerate(columns):
        values = table.iloc[:, i].to_numpy()
        want = checks.get(col.get("dataType") if isinstance(col, dict) else None)
        if want is None:
            continue
        if not nan and pd.api.types.infer_dtype(values, skipna=True) in _INFERRED.get(want, ()):
            continue
        allowed = set(want) if isinstance(want, tuple) else {want}
        found = set(map(type, values)) - {type(None)}
        if want is int and float in found:
            return False  # 1.0 in an integer column: the row-wise check decides
        if any(t is bool and bool not in allowed for t in found) or not all(
                any(issubclass(t, a) for a in allowed) for t in found):
            return False
    return True


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a document is parsed: json.loads makes a list per
    row, and the collector, triggered by their number, would walk every one made so far again and
    again (none of them can be garbage yet); about a third of the parse time for a large dataset.
    A caller that drops the document before the pause ends spares the collector those lists entirely."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_CONSTANTS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}  # json.loads reads them, as JSON does not


def load_json(path: Path, what: str = "JSON", constants: set[str] | None = None) -> object:
    """A JSON file parsed, or SubError naming the file: unreadable, not UTF-8, not JSON, or nested
    too deep for Python's parser (it raises RecursionError; no real dataset nests beyond a few levels).
    `constants`, when given, receives the names of the constants outside JSON that the text used
    (NaN, Infinity, -Infinity: Python's parser reads them as floats)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise SubError(Problem(str(path), None, None, None, "is a folder, not a file")) from None
    except OSError as exc:
        raise SubError(Problem(str(path), None, None, None, f"cannot read the file: {exc.strerror or exc}")) from None
    except UnicodeDecodeError as exc:
        raise SubError(Problem(str(path), None, None, None, f"not readable as {what}: not UTF-8 ({exc.reason} "
                                                            f"at byte {exc.start})")) from None
    try:
        with collector_paused():
            if constants is None:
                return json.loads(text)
            return json.loads(text, parse_constant=lambda name: constants.add(name) or _CONSTANTS[name])
    except json.JSONDecodeError as exc:
        raise SubError(Problem(str(path), exc.lineno, None, None, f"not readable as {what}: {exc.msg} "
                                                                  f"(line {exc.lineno}, column {exc.colno})")) from None
    except RecursionError:
        raise SubError(Problem(str(path), None, None, None, f"not readable as {what}: nested too deep")) from None


_KINDS = {"string": "text", "integer": "integer", "double": "float", "float": "float", "decimal": "float",
          "date": "date", "datetime": "datetime", "time": "time", "boolean": "integer", "URI": "text"}


def _table_problems(obj: object, file: str, regular: bool = False) -> list[Problem]:
    """What read_dataset_json cannot read past: each naming the attribute, column or row (`regular`:
    the rows are known to be arrays of one value per column)."""
    def bad(where: str | None, message: str) -> Problem:
        return Problem(file, None, where, None, message)

    if not isinstance(obj, dict):
        return [bad(None, f"not Dataset-JSON: the top level is a JSON {_json_kind(obj)}, not an object")]
    out = []
    for key in ("name", "columns", "rows"):
        if key not in obj:
            out.append(bad(key, "not Dataset-JSON: required attribute is missing"))
    if "name" in obj and not (isinstance(obj["name"], str) and obj["name"]):
        out.append(bad("name", f"not Dataset-JSON: expected a non-empty string, found a JSON {_json_kind(obj['name'])}"))
    for key in ("columns", "rows"):
        if key in obj and not isinstance(obj[key], list):
            out.append(bad(key, f"not Dataset-JSON: expected an array, found a JSON {_json_kind(obj[key])}"))
    if out:
        return out
    names = []
    for i, col in enumerate(obj["columns"]):
        if not isinstance(col, dict):
            out.append(bad(f"columns[{i}]", f"expected an object, found a JSON {_json_kind(col)}"))
            continue
        if not isinstance(col.get("name"), str) or not col["name"]:
            out.append(bad(f"columns[{i}].name", "a column needs a name (a non-empty string)"))
        else:
            names.append(col["name"])
        if "label" in col and not isinstance(col["label"], str | None):
            out.append(bad(f"columns[{i}].label", f"expected a string, found a JSON {_json_kind(col['label'])}"))
        if col.get("dataType") not in _KINDS:
            out.append(bad(f"columns[{i}].dataType", f"expected one of {', '.join(sorted(_KINDS))} "
                                                     f"(value {str(col.get('dataType'))[:40]!r})"))
        if "keySequence" in col and (not isinstance(col["keySequence"], int) or isinstance(col["keySequence"], bool)):
            out.append(bad(f"columns[{i}].keySequence", "expected an integer"))
        if len(out) > 20:
            return out
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        out.append(bad("columns", f"column names appear twice: {', '.join(twice[:5])}"))
    width = len(obj["columns"])
    for r, row in enumerate([] if regular else obj["rows"]):
        if not isinstance(row, list) or len(row) != width:
            found = f"{len(row)} values" if isinstance(row, list) else f"a JSON {_json_kind(row)}"
            out.append(bad(f"rows[{r}]", f"expected an array of {width} values, found {found}"))
            if len(out) > 20:
                break
    return out


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__)


def read_dataset_json(path: Path) -> Dataset:
    """A Dataset-JSON file as a Dataset; SubError naming the file (and attribute, column or row)
    when it is not JSON or lacks what makes a table (name, columns with names and types, rows)."""
    path = Path(path)
    return dataset_from_json(load_json(path, "Dataset-JSON"), path)


def _first_nested(values: pd.Series) -> int | None:
    """The position of the first array or object among a column's parsed values, None when there is
    none (decided in C by infer_dtype for a column of one kind; value by value only when mixed)."""
    if pd.api.types.infer_dtype(values.to_numpy(), skipna=True) not in ("mixed", "unknown-array"):
        return None
    for position, value in enumerate(values):
        if isinstance(value, (list, dict)):
            return position
    return None


def dataset_from_json(obj: object, path: Path, table: pd.DataFrame | None = None) -> Dataset:
    """`read_dataset_json` of a document already parsed (`path` names it in messages; `table`: its
    `rows_frame`, when the caller has it already)."""
    # Read leniently (files from elsewhere bend the rules; `structure_problems` reports that),
    # but not without the parts that make a table.
    if table is None:
        table = rows_frame(obj)
    problems = _table_problems(obj, str(path), regular=table is not None)
    if problems:
        raise SubError(problems, f"{path}: not readable as Dataset-JSON")
    columns = [Column(c["name"], c.get("label") or "", _KINDS[c["dataType"]], c.get("displayFormat")
                      if isinstance(c.get("displayFormat"), str) else None) for c in obj["columns"]]
    names = [c.name for c in columns]
    frame = pd.DataFrame(obj["rows"], columns=names, dtype=object) if table is None else table.set_axis(names, axis=1)
    for i, col in enumerate(columns):
        values = frame[col.name]
        nested = _first_nested(values)
        if nested is not None:
            shown = json.dumps(values.iloc[nested])[:80]
            raise SubError(Problem(str(path), nested + 1, col.name, shown,
                                   f"row {nested + 1}: {shown} is an array or object, not a value of a column"))
        try:
            if col.kind in ("integer", "float"):
                try:
                    frame[col.name] = pd.to_numeric(values).astype("float64")
                except (TypeError, ValueError):  # numbers stored as text, e.g. "  NA": keep the text as it is
                    columns[i] = Column(col.name, col.label, "text", col.format)
            elif col.kind in ("date", "datetime"):
                frame[col.name] = pd.to_datetime(values, format="ISO8601")  # Dataset-JSON dates are ISO 8601
            elif col.kind == "time":
                frame[col.name] = values.map(
                    lambda t: None if t is None else sum(int(p) * m for p, m in zip(t.split(":"), (3600, 60, 1))))
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise SubError(Problem(str(path), None, col.name, None,
                                   f"not a {col.kind} column: {(str(exc).splitlines() or [''])[0][:200]}")) from None
    keys = [c["name"] for c in sorted((c for c in obj["columns"] if "keySequence" in c), key=lambda c: c["keySequence"])]
    label = obj.get("label") if isinstance(obj.get("label"), str) else ""
    return Dataset(obj["name"].upper(), label, frame, columns, keys)
