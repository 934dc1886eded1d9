"""SAS XPORT v5: every constraint checked before a byte is written, and one reader for all files.

`xpt_problems` checks every v5 rule first (pyreadstat, the writer this project started with,
silently cuts labels longer than 40 bytes, accepts values over 200 bytes and non-ASCII text, and
leaves a 0-byte file when a name is too long: domain.md section 7); the file is written to a
temporary name and renamed, stamped with the build timestamp, never the wall clock, so that
rebuilds are byte-identical. The bytes are pyreadstat's, written from whole columns with numpy
(`xpt_write.py`, in about a ninth of pyreadstat's CPU time); pyreadstat itself writes what that
writer does not mirror (an unusual format) and stays the oracle: the tests hold the two writers
byte-identical.

One reader serves every caller. `read_xpt_records` parses a one-member v5 file (SAS TS-140) and
lays numpy structured arrays over a memory map of its records; `read_xpt` builds the Dataset from
that, converting numbers and decoding text with numpy (each distinct text value decoded once), in
about a tenth of pyreadstat's time. What it does not read (v8, several members, odd layouts) goes
through pyreadstat with the same result; the tests hold the two paths equal on every CDISC pilot file.
"""

from __future__ import annotations

import datetime as dt
import mmap
import os
import re
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .columns import Distinct, small_codes
from .dataset import Column, Dataset, byte_lengths
from .errors import Problem, SubError
from .io import publish
from .xpt_write import sas_stamp, storage_numbers, storage_text

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


def xpt_problems(ds: Dataset, file: str, *, ascii_only: bool = True, distinct=None) -> list[Problem]:
    """Every XPT v5 rule the dataset breaks, each naming the variable, subject and source row.

    `ascii_only=False` is for rewriting legacy files that already hold Windows-1252 text;
    a build always keeps XPT ASCII. Text is checked on its distinct values (`distinct`, the
    dataset's columns.DistinctValues, shared with the writers).
    """
    from .columns import DistinctValues

    distinct = distinct or DistinctValues(ds)
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
        found = distinct.text(col.name)
        if found is None:  # not all str: value by value
            text = values.dropna().astype(str)
            non_ascii = text[~text.str.isascii()] if ascii_only else text.iloc[:0]
            long = text[byte_lengths(text) > MAX_TEXT]
        else:
            non_ascii, long = _bad_text(ds, found, ascii_only)
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


def _bad_text(ds: Dataset, found, ascii_only: bool) -> tuple[pd.Series, pd.Series]:
    """The values (indexed as the frame) that are not ASCII and those longer than MAX_TEXT bytes,
    found among the distinct values of a text column."""
    values = found.values
    ascii = "".join(values).isascii()
    non_ascii = [] if ascii or not ascii_only else [i for i, v in enumerate(values) if not v.isascii()]
    long = [i for i, v in enumerate(values) if (len(v) if ascii else len(v.encode("utf-8"))) > MAX_TEXT] \
        if max(map(len, values), default=0) * (1 if ascii else 4) > MAX_TEXT else []  # UTF-8: at most 4 bytes a character

    def rows(bad: list[int]) -> pd.Series:
        if not bad:
            return pd.Series([], dtype=object)
        where = np.flatnonzero(np.isin(found.codes, bad))
        return pd.Series(np.array(values, dtype=object)[found.codes[where]], index=ds.frame.index[where], dtype=object)

    return rows(non_ascii), rows(long)


def _to_storage(ds: Dataset) -> pd.DataFrame:
    """Frame as pyreadstat should see it: text as object (blank for missing), numbers as float."""
    out = {col.name: storage_numbers(ds.frame[col.name], col.kind) if col.numeric else storage_text(ds.frame[col.name])
           for col in ds.columns}
    return pd.DataFrame(out, index=ds.frame.index)


def write_xpt(ds: Dataset, path: Path, timestamp: dt.datetime, *, ascii_only: bool = True,
              checked: bool = False, distinct=None) -> None:
    """Write one dataset as XPT v5 after checking every v5 rule (unless the caller just did:
    `checked=True`); all or nothing. `distinct` (columns.DistinctValues of `ds`) shares the text
    columns' factorization with the Dataset-JSON writer."""
    from .xpt_write import write_member

    path = Path(path)
    problems = [] if checked else xpt_problems(ds, str(path), ascii_only=ascii_only)
    if problems:
        raise SubError(problems, f"{ds.name}: cannot be written as XPT v5")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            written = write_member(ds, handle, timestamp, distinct)
        if written:
            publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if not written:
        Path(tmp).unlink(missing_ok=True)
        _write_xpt_pyreadstat(ds, path, timestamp)


def _write_xpt_pyreadstat(ds: Dataset, path: Path, timestamp: dt.datetime) -> None:
    """write_xpt through pyreadstat (no checks): for what `xpt_write` does not mirror, and the oracle
    its bytes are tested against."""
    import pyreadstat

    path = Path(path)
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
    stamp = sas_stamp(timestamp)  # English month names whatever the locale
    for match in _STAMP.finditer(bytes(data[:header_end])):
        data[match.start():match.end()] = stamp
    path.write_bytes(bytes(data))


# --------------------------------------------------------------------------------------------- reading

# The SAS formats pyreadstat (1.3, `sas_date_formats` etc. in _readstat_parser.pyx) turns into dates,
# datetimes and times, matched on the format name as its `format_regex` takes it from ReadStat's
# spelling (DATE9, E8601DT19.3): the fast reader and pyreadstat give every variable the same kind.
READSTAT_DATE_FORMATS = frozenset({
    "WEEKDATE", "MMDDYY", "DDMMYY", "YYMMDD", "DATE", "DDMMYYB", "DDMMYYC", "DDMMYYD", "DDMMYYN", "DDMMYYP",
    "DDMMYYS", "MMDDYYB", "MMDDYYC", "MMDDYYD", "MMDDYYN", "MMDDYYP", "MMDDYYS", "WEEKDATX", "DTDATE",
    "IS8601DA", "E8601DA", "B8601DA", "YYMMDDB", "YYMMDDD", "YYMMDDN", "YYMMDDP", "YYMMDDS"})
READSTAT_DATETIME_FORMATS = frozenset({"DATETIME", "E8601DT", "DATEAMPM", "MDYAMPM", "IS8601DT", "B8601DT", "B8601DN"})
READSTAT_TIME_FORMATS = frozenset({"TIME", "HHMM", "TOD", "TIMEAMPM", "IS8601TM", "E8601TM", "B8601TM"})
_FORMAT_NAME = re.compile(r"^([A-Z][A-Z0-9]+[A-Z])(\d+)?(?(2)(?:\.\d*)?$|$)")
_READSTAT_18_DOT = re.compile(r"(?<=\d)\.$")


def readstat_spelling(fmt: str | None) -> str | None:
    """A format as pyreadstat 1.3.7 spells it: pyreadstat 1.3.8 adds a period after a width with no
    decimals (DATE9., BEST12., 8.), 1.3.7 does not (DATE9, BEST12, 8); decimals are spelled alike (8.2)."""
    return _READSTAT_18_DOT.sub("", fmt) if fmt else fmt


def format_kind(fmt: str | None) -> str:
    """Kind of a numeric variable with this format (ReadStat spelling): date, datetime, time or float."""
    match = _FORMAT_NAME.match(fmt or "")
    name = match.group(1) if match else ""
    if name in READSTAT_DATE_FORMATS:
        return "date"
    if name in READSTAT_DATETIME_FORMATS:
        return "datetime"
    if name in READSTAT_TIME_FORMATS:
        return "time"
    return "float"


# XPT v5 (SAS technical report TS-140): 80-byte header records, 140-byte NAMESTRs (136 on VAX/VMS),
# then fixed-length observations, the last 80-byte record padded with blanks.
_LIBRARY = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"
_MEMBER = b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!"
_DSCRPTR = b"HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!"
_NAMESTR = b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!"
_OBS = _OBS_HEADER + b"!!!!!!!"
_NAMESTR_LAYOUT = struct.Struct(">hhhh8s40s8shhh2s8shhl")  # the first 88 bytes; the rest is padding
_MIN_NUMBER, _MAX_NUMBER = 3, 8  # bytes of a numeric variable ReadStat reads (shorter ones come back missing)


def _c_text(raw: bytes) -> bytes:
    """A fixed-width field as ReadStat hands it on: trailing blanks and NULs off, cut at a NUL."""
    return raw.rstrip(b" \x00").partition(b"\x00")[0]


@dataclass(frozen=True)
class XptVariable:
    """One variable of an XPT member as its NAMESTR describes it."""

    name: str
    label: str
    numeric: bool
    length: int  # bytes in each record
    position: int  # offset in the record
    format_name: str = ""  # NAMESTR nform: DATE, $CHAR, or "" for none
    format_width: int = 0
    format_decimals: int = 0

    @property
    def format(self) -> str | None:
        """The format as ReadStat spells it (so pyreadstat and read_xpt): DATE9, 8.2, $CHAR20; None if none."""
        if self.format_decimals:
            text = f"{self.format_name}{self.format_width}.{self.format_decimals}"
        elif self.format_width:
            text = f"{self.format_name}{self.format_width}"
        else:
            text = self.format_name
        return text or None


class XptMember:
    """One XPT v5 member: its header and its records, read in place from a memory map.

    `rows` is a numpy structured array over the records (Char variables as `S<length>`, Num variables
    as their raw IBM bytes: `>u8`, or `(uint8, length)` when shorter); `records` the same bytes as an
    `(nrows, record length)` uint8 array and `layout` the structured dtype, so two files of one layout
    can be compared record by record as bytes. `numbers(name)` converts a Num variable to float64
    (SAS missing values as NaN) and `text(name)` decodes a Char variable as pyreadstat does. Text is
    decoded per file: UTF-8 when every label and value is valid UTF-8, else Windows-1252 (`encoding`).
    """

    def __init__(self, path: Path, name: str, raw_label: bytes, raw_variables: list[tuple[XptVariable, bytes]],
                 rows: np.ndarray, records: np.ndarray) -> None:
        self.path = path
        self.name = name
        self.rows = rows
        self.records = records
        self.layout = rows.dtype
        self._encoding: str | None = None
        self._distinct_cache: dict[str, tuple[np.ndarray, list[bytes]]] = {}
        self._positions = {v.name: (v.position, v.length) for v, _ in raw_variables}
        self._chars = [v.name for v, _ in raw_variables if not v.numeric]
        self._header_texts = [raw_label, *(label for _, label in raw_variables)]
        # labels decode the same in UTF-8 and Windows-1252 when they are ASCII (the usual case):
        # only otherwise does the file's encoding, which the values decide, need to be known
        encoding = "ascii" if all(t.isascii() for t in self._header_texts) else self.encoding
        self.label = raw_label.decode(encoding)
        self.variables = [XptVariable(v.name, label.decode(encoding), v.numeric, v.length, v.position, v.format_name,
                                      v.format_width, v.format_decimals) for v, label in raw_variables]

    @property
    def nrows(self) -> int:
        return len(self.rows)

    @property
    def encoding(self) -> str:
        """utf-8, or cp1252 when any label or value of the file is not valid UTF-8 (pyreadstat's retry)."""
        if self._encoding is None:
            texts = [t for t in self._header_texts if not t.isascii()]
            for name in self._chars:
                texts += [t for t in self._distinct(name)[1] if not t.isascii()]
            try:
                for text in texts:
                    text.decode("utf-8")
                self._encoding = "utf-8"
            except UnicodeDecodeError:
                self._encoding = "cp1252"
        return self._encoding

    def column(self, name: str) -> np.ndarray:
        """The bytes of one variable in every record: an (nrows, length) uint8 view."""
        position, length = self._positions[name]
        return self.records[:, position:position + length]

    def numbers(self, name: str) -> np.ndarray:
        """A Num variable as float64, converted as ReadStat converts it; SAS missing values as NaN."""
        return ibm_to_float(self.rows[name])

    def text(self, name: str) -> np.ndarray:
        """A Char variable as an object array: str without trailing blanks, None for a blank value.

        Raises UnicodeDecodeError when the file is Windows-1252 and a value holds a byte that is not
        (pyreadstat fails on such a file too). Each distinct value is decoded once.
        """
        codes, values = self.text_codes(name)
        table = np.empty(len(values) + 1, dtype=object)
        table[:-1] = values
        table[-1] = None  # code -1
        return table[codes]

    def text_codes(self, name: str) -> tuple[np.ndarray, list[str]]:
        """`text` factorized: per record a code into the distinct str values (in order of first
        appearance; stored values that differ only in trailing blanks or NULs read as one), -1 for a
        blank value. Each distinct value is decoded once."""
        codes, distinct = self._distinct(name)
        encoding = self.encoding
        decoded = np.empty(len(distinct), dtype=object)
        decoded[:] = [value.decode(encoding) if value else None for value in distinct]
        remap, values = pd.factorize(decoded)  # None (a blank value): -1
        return remap[codes], values.tolist()

    def _distinct(self, name: str) -> tuple[np.ndarray, list[bytes]]:
        """Codes of a Char variable's values and each distinct value as ReadStat reads it (bytes)."""
        if name not in self._distinct_cache:
            column = self.column(name)
            codes, representative = _factorize_rows(column)
            width = column.shape[1]
            raw = np.ascontiguousarray(column[representative]).view(f"S{width}").ravel().tolist()
            self._distinct_cache[name] = (codes, [_c_text(value) for value in raw])
        return self._distinct_cache[name]


_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_HASH_CHUNK = 1 << 23  # bytes of padded rows hashed at a time


def _factorize_rows(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equal rows of an (n, width) uint8 array: a code per row and one row index per code.

    Rows are read as 8-byte words (padded with NULs); up to 8 bytes the word is the key, beyond that
    the words are hashed, the hash factorized and every row checked against its code's representative;
    a hash collision (never seen) falls back to factorizing the rows as bytes objects.
    """
    n, width = column.shape
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    words = -(-width // 8)
    if words == 1:  # the value itself is the key
        key = np.zeros(n, dtype=np.uint64)
        key.view(np.uint8).reshape(n, 8)[:, :width] = column
        codes, uniques = pd.factorize(key)
        representative = np.empty(len(uniques), dtype=np.intp)
        representative[codes] = np.arange(n)  # any row of each code will do
        return codes.astype(np.intp, copy=False), representative
    step = max(1, _HASH_CHUNK // (words * 8))
    buffer = np.zeros((min(step, n), words * 8), dtype=np.uint8)
    key = np.empty(n, dtype=np.uint64)
    for start in range(0, n, step):
        part = column[start:start + step]
        size = len(part)
        buffer[:size, :width] = part
        block = buffer[:size].view(np.uint64)
        mixed = block[:, 0] * _HASH_MULTIPLIER
        for k in range(1, words):
            mixed ^= mixed >> np.uint64(29)
            mixed += block[:, k]
            mixed *= _HASH_MULTIPLIER
        key[start:start + size] = mixed
    codes, uniques = pd.factorize(key)
    representative = np.empty(len(uniques), dtype=np.intp)
    representative[codes] = np.arange(n)  # any row of each code will do
    padded = np.zeros((len(uniques), words * 8), dtype=np.uint8)
    padded[:, :width] = column[representative]
    expected = padded.view(np.uint64)
    for start in range(0, n, step):
        part = column[start:start + step]
        size = len(part)
        buffer[:size, :width] = part
        if not (buffer[:size].view(np.uint64) == expected[codes[start:start + size]]).all():
            exact = np.ascontiguousarray(column).tobytes()
            values = np.array([exact[i * width:(i + 1) * width] for i in range(n)], dtype=object)
            codes, uniques = pd.factorize(values)
            representative = np.empty(len(uniques), dtype=np.intp)
            representative[codes] = np.arange(n)
            break
    return codes.astype(np.intp, copy=False), representative


_IBM_FRACTION = np.uint64(0x00FFFFFFFFFFFFFF)
_IEEE_HIDDEN_BIT = np.uint64(1 << 52)
_IEEE_MAGNITUDE = np.uint64(0x7FFFFFFFFFFFFFFF)
_SIGN = np.uint64(1 << 63)


def _ibm_bits(raw: np.ndarray) -> np.ndarray:
    if raw.ndim == 1:
        return raw.astype(np.uint64)
    n, width = raw.shape
    full = np.zeros((n, 8), dtype=np.uint8)
    full[:, :width] = raw
    return full.view(">u8").reshape(n).astype(np.uint64)


def _unflagged_missing(raw: np.ndarray) -> bool:
    """Any value that ReadStat turns into NaN without calling it missing (a leading byte other than
    ., A-Z or _ followed by zeros): pyreadstat fails on it in a date, datetime or time variable."""
    bits = _ibm_bits(raw)
    first = bits >> np.uint64(56)
    odd = (first != 0) & ((bits & _IBM_FRACTION) == 0) & (first != ord(".")) & (first != ord("_")) \
        & ((first < ord("A")) | (first > ord("Z")))
    return bool(odd.any())


def ibm_to_float(raw: np.ndarray) -> np.ndarray:
    """IBM 370 doubles (big-endian 8-byte words: a `>u8` array, or (n, 1 to 8) bytes) to float64,
    bit for bit as ReadStat (TS-140's xpt2ieee) converts them. SAS missing values (., .A-.Z, ._;
    any leading byte followed by zeros) become NaN; the low bits of a fraction that IEEE cannot hold
    are cut, not rounded."""
    bits = _ibm_bits(raw)
    first = bits >> np.uint64(56)
    fraction = bits & _IBM_FRACTION
    # shift the fraction until its leading hex digit is the IEEE hidden bit
    shift = np.where(fraction >> np.uint64(55), 3, np.where(fraction >> np.uint64(54), 2,
                                                            np.where(fraction >> np.uint64(53), 1, 0)))
    exponent = ((first & np.uint64(0x7F)).astype(np.int64) - 65) * 4 + shift + 1023
    ieee = ((fraction >> shift.astype(np.uint64)) & ~_IEEE_HIDDEN_BIT) | (exponent.astype(np.uint64) << np.uint64(52)) \
        | (bits & _SIGN)
    values = ieee.view(np.float64)
    values[bits == 0] = 0.0
    infinite = (bits & _IEEE_MAGNITUDE) == _IEEE_MAGNITUDE
    values[infinite] = np.where((bits[infinite] & _SIGN) != 0, -np.inf, np.inf)
    values[(first != 0) & (fraction == 0)] = np.nan
    return values


_V8_LIBRARY = b"HEADER RECORD*******LIBV8   HEADER RECORD!!!!!!!"
_RECORD = 80  # XPT is written in 80-byte records
_LIBRARY_BYTES = 3 * _RECORD  # the library header record and its two records
_MEMBER_BYTES = 5 * _RECORD  # MEMBER, DSCRPTR, two member records, NAMESTR header


def _whole_file_problem(size: int) -> str | None:
    if size % _RECORD:
        return (f"truncated or damaged: an XPT file is whole {_RECORD}-byte records, file has {size:,} bytes "
                f"({size % _RECORD} past the last whole record)")
    return None


def xpt_size_problem(path: Path) -> str | None:
    """Why the size of an XPT file disagrees with its headers (cut short, cut mid-record, or bytes after
    the last record that are not the blank padding of its last 80-byte record); None when it agrees.

    Reads the headers of every v5 member (TS-140) and checks that the file holds each header whole
    and, after the last member's headers, whole records of the member's record length followed by
    at most 79 blanks (trailing records that are all blanks pass as records; the reader drops them
    as padding, as ReadStat does). A v5 file does not store its number of records, so a cut exactly
    at a record boundary that is also an 80-byte boundary cannot be told from a shorter dataset. A file that does
    not start like XPT at all is left to the reader, which says so; of a v8 file only the 80-byte
    records are checked. OSError when the file cannot be opened.
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return f"truncated: the file is empty (0 bytes); an XPT file starts with a {_LIBRARY_BYTES}-byte library header"
        head = handle.read(_LIBRARY_BYTES)
        v8 = head.startswith(_V8_LIBRARY) or (len(head) < len(_V8_LIBRARY) and _V8_LIBRARY.startswith(head))
        if not (head.startswith(_LIBRARY) or (len(head) < len(_LIBRARY) and _LIBRARY.startswith(head)) or v8):
            return None  # not XPT at all: the reader says so
        if size < _LIBRARY_BYTES:
            return f"truncated: header says the library header has {_LIBRARY_BYTES} bytes, file has {size:,} bytes"
        if v8:
            return _whole_file_problem(size)
        buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    with buffer:
        offset = _LIBRARY_BYTES
        while True:  # one member after another
            if size < offset + _MEMBER_BYTES:
                return (f"truncated: header says a member header of {_MEMBER_BYTES} bytes from byte {offset:,}, "
                        f"file has {size:,} bytes")
            member = buffer[offset:offset + _MEMBER_BYTES]
            if not (member.startswith(_MEMBER) and member[80:].startswith(_DSCRPTR)
                    and member[320:].startswith(_NAMESTR)):
                return None  # not laid out as TS-140 says: the reader reports it
            try:
                namestr_size, nvar = int(member[74:78]), int(member[320 + 54:320 + 58])
            except ValueError:
                return None
            if namestr_size not in (136, 140):
                return None
            namestr_at = offset + _MEMBER_BYTES
            obs_at = namestr_at + (nvar * namestr_size + _RECORD - 1) // _RECORD * _RECORD
            data_start = obs_at + _RECORD
            if size < data_start:
                return (f"truncated: header says {nvar} variables, whose descriptions and the observation header "
                        f"end at byte {data_start:,}, file has {size:,} bytes")
            if not buffer[obs_at:data_start].startswith(_OBS):
                return None
            record = sum(struct.unpack_from(">h", buffer, namestr_at + i * namestr_size + 4)[0] for i in range(nvar))
            end = buffer.find(_MEMBER, data_start)
            while end >= 0 and end % _RECORD:
                end = buffer.find(_MEMBER, end + 1)
            last = end < 0
            end = size if last else end
            if last and (why := _whole_file_problem(size)):
                return why
            if record > 0:
                whole, rest = divmod(end - data_start, record)
                tail = buffer[data_start + whole * record:end]
                if rest >= _RECORD or tail.strip(b" "):
                    what = "blank bytes, more than the padding of one 80-byte record" if not tail.strip(b" ") \
                        else "bytes that are not blank padding (a cut record, or bytes after the data)"
                    return (f"truncated or damaged: header says {nvar} variables in records of {record} bytes from "
                            f"byte {data_start:,}, file has {size:,} bytes: {whole:,} whole records, then {rest} {what}")
            if last:
                return None
            offset = end


def check_xpt_size(path: Path) -> None:
    """SubError naming the file when its size disagrees with its headers (`xpt_size_problem`)."""
    why = xpt_size_problem(path)
    if why is not None:
        raise SubError(Problem(str(path), None, None, None, why))


def read_xpt_records(path: Path) -> XptMember | None:
    """The one member of an XPT v5 file, read through a memory map (nothing is copied yet).

    None for what this reader leaves to pyreadstat: not v5 (v8/v9), more than one member, a NAMESTR
    size other than 140 or 136, variables not laid out one after another, numbers shorter than 3
    bytes, duplicate or non-ASCII names or formats, labels that are neither UTF-8 nor Windows-1252.
    OSError when the file cannot be opened; SubError when its size disagrees with its headers
    (`xpt_size_problem`). Trailing records that are all blanks are padding of the last 80-byte
    record, as pyreadstat takes them.
    """
    path = Path(path)
    check_xpt_size(path)
    with open(path, "rb") as handle:
        head = handle.read(640)
        if len(head) < 640 or not head.startswith(_LIBRARY) or not head[240:].startswith(_MEMBER) \
                or not head[320:].startswith(_DSCRPTR) or not head[560:].startswith(_NAMESTR):
            return None
        try:
            namestr_size = int(head[240 + 74:240 + 78])
            nvar = int(head[560 + 54:560 + 58])
        except ValueError:
            return None
        if namestr_size not in (136, 140) or nvar < 1:
            return None
        block = (nvar * namestr_size + 79) // 80 * 80
        namestrs = handle.read(block)
        if len(namestrs) < block or not handle.read(80).startswith(_OBS):
            return None
        data_start = 640 + block + 80
        size = os.fstat(handle.fileno()).st_size
        buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size > data_start else b""
    if buffer and buffer.find(_MEMBER, data_start) >= 0:  # a second member
        return None
    name = _c_text(head[408:416])
    if not name.isascii():
        return None
    variables: list[tuple[XptVariable, bytes]] = []
    record = 0
    for i in range(nvar):
        (ntype, _, length, _, vname, label, form, fmt_width, fmt_decimals, _, _, _, _, _,
         position) = _NAMESTR_LAYOUT.unpack_from(namestrs, i * namestr_size)
        vname, form = _c_text(vname), _c_text(form)
        if ntype not in (1, 2) or length < 1 or position != record or not vname or not vname.isascii() \
                or not form.isascii() or (ntype == 1 and not _MIN_NUMBER <= length <= _MAX_NUMBER):
            return None
        variables.append((XptVariable(vname.decode("ascii"), "", ntype == 1, length, position, form.decode("ascii"),
                                      fmt_width, fmt_decimals), _c_text(label)))
        record += length
    names = [v.name for v, _ in variables]
    if len(set(names)) != len(names):
        return None
    nrows = (size - data_start) // record if buffer else 0
    blank = b" " * record
    while nrows and buffer[data_start + (nrows - 1) * record:data_start + nrows * record] == blank:
        nrows -= 1  # ReadStat drops every trailing blank record, the padding of the last 80 bytes
    formats = [(">u8" if v.length == 8 else (np.uint8, (v.length,))) if v.numeric else f"S{v.length}"
               for v, _ in variables]
    dtype = np.dtype({"names": names, "formats": formats, "offsets": [v.position for v, _ in variables],
                      "itemsize": record})
    if nrows:
        rows = np.frombuffer(buffer, dtype=dtype, count=nrows, offset=data_start)
        records = np.frombuffer(buffer, dtype=np.uint8, count=nrows * record, offset=data_start).reshape(nrows, record)
    else:
        rows, records = np.zeros(0, dtype=dtype), np.zeros((0, record), dtype=np.uint8)
    try:
        return XptMember(path, name.decode("ascii"), _c_text(head[480 + 32:480 + 72]), variables, rows, records)
    except UnicodeDecodeError:  # a label neither UTF-8 nor Windows-1252
        return None


class _NotFast(Exception):
    """The fast reader cannot give what pyreadstat gives (pyreadstat fails on the file or reads it otherwise)."""


_SAS_EPOCH_SECONDS = int(np.datetime64("1960-01-01T00:00:00", "s").astype(np.int64))
_FIRST_DAY = (dt.date(1, 1, 1) - dt.date(1960, 1, 1)).days  # Python's date range, where pyreadstat fails
_LAST_DAY = (dt.date(9999, 12, 31) - dt.date(1960, 1, 1)).days
_FIRST_MICROSECOND = _FIRST_DAY * 86_400_000_000
_LAST_MICROSECOND = (_LAST_DAY + 1) * 86_400_000_000 - 1


def _sas_values(values: np.ndarray, kind: str) -> np.ndarray:
    """SAS numbers as read_xpt holds them: dates as datetime64[s], datetimes as datetime64[us], times as
    seconds since midnight (float), all as pyreadstat's Python objects would give them."""
    if kind == "float":
        return values
    present = ~np.isnan(values)
    x = values[present]
    if kind == "date":
        if not ((x > _FIRST_DAY - 1) & (x < _LAST_DAY + 1)).all():
            raise _NotFast("date out of range")
        days = np.trunc(x).astype(np.int64)  # pyreadstat: <int> days, toward zero
        out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[s]")
        out[present] = (days * 86400 + _SAS_EPOCH_SECONDS).astype("datetime64[s]")
        return out
    if not (np.abs(x) < 1e12).all():
        raise _NotFast("datetime out of range")
    # pyreadstat: timedelta(days=floor(x / 86400), seconds=int(x % 86400), microseconds=round(x % 1 * 1e6))
    days = np.floor(x / 86400).astype(np.int64)
    seconds = np.trunc(np.mod(x, 86400)).astype(np.int64)
    micro = np.round(np.mod(x, 1) * 1e6).astype(np.int64)
    total = (days * 86400 + seconds) * 1_000_000 + micro
    if ((total < _FIRST_MICROSECOND) | (total > _LAST_MICROSECOND)).any():
        raise _NotFast("datetime out of range")
    if kind == "time":
        out = np.full(len(values), np.nan)
        out[present] = (total % 86_400_000_000) // 1_000_000
        return out
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
    out[present] = (total + _SAS_EPOCH_SECONDS * 1_000_000).astype("datetime64[us]")
    return out


def _dataset_from_member(member: XptMember, distinct: dict | None = None) -> Dataset:
    """The Dataset of a member; `distinct`, when given, receives each text column's columns.Distinct."""
    columns, out, found = [], {}, {}
    for var in member.variables:
        fmt = var.format
        if var.numeric:
            kind = format_kind(fmt)
            if kind != "float" and _unflagged_missing(member.rows[var.name]):
                raise _NotFast(f"{var.name}: a value pyreadstat cannot convert")
            out[var.name] = pd.Series(_sas_values(member.numbers(var.name), kind))
            if fmt and fmt.startswith("$"):
                fmt = None
        else:
            kind, fmt = "text", None
            codes, values = member.text_codes(var.name)
            found[var.name] = Distinct(small_codes(codes, len(values)), values)
            out[var.name] = pd.Series(found[var.name].lookup(np.array(values, dtype=object), None)[codes], dtype=object)
        columns.append(Column(var.name, var.label, kind, fmt))
    frame = pd.DataFrame(out, columns=[c.name for c in columns], index=pd.RangeIndex(member.nrows), copy=False)
    if distinct is not None:
        distinct.update(found)
    return Dataset(member.name or member.path.stem.upper(), member.label, frame, columns)


def read_xpt(path: Path, distinct: dict | None = None) -> Dataset:
    """Read any XPT file (v5, as SAS or this project writes them) into a Dataset.

    Text comes back as str without trailing blanks (None for a blank value), decoded as UTF-8, else,
    when any label or value of the file is not UTF-8, as Windows-1252 (older SAS files carry such
    bytes). Numbers come back as float64 (NaN for missing); those with a date, datetime or time format
    (`format_kind`) as datetime64[s], datetime64[us] and seconds since midnight. A character
    variable's $w. format is dropped; other formats as ReadStat spells them (DATE9, 8.2).

    One-member v5 files are read through a memory map (`read_xpt_records`); anything else, and any
    file the fast reader would read differently, through pyreadstat, with the same result. `distinct`,
    when given, receives the text columns the fast reader factorized while decoding them (name ->
    columns.Distinct, as `columns.factorize` gives it), for a columns.DistinctValues of the dataset.
    """
    path = Path(path)
    try:
        member = read_xpt_records(path)
        if member is not None:
            return _dataset_from_member(member, distinct)
    except (OSError, UnicodeDecodeError, _NotFast):
        pass  # pyreadstat reads it, or says why not
    return _read_xpt_pyreadstat(path)


def _read_xpt_pyreadstat(path: Path) -> Dataset:
    """read_xpt through pyreadstat: for what `read_xpt_records` does not read, and to check it against."""
    import pyreadstat

    path = Path(path)
    try:
        frame, meta = pyreadstat.read_xport(str(path))
    except UnicodeDecodeError:
        try:
            frame, meta = pyreadstat.read_xport(str(path), encoding="windows-1252")
        except Exception as exc:  # noqa: BLE001 - pyreadstat raises its own error types for broken files
            raise SubError(Problem(str(path), None, None, None, f"not a readable XPT file: {exc}")) from None
    except Exception as exc:  # pyreadstat raises its own error types for broken files
        raise SubError(Problem(str(path), None, None, None, f"not a readable XPT file: {exc}")) from None
    columns = []
    out = {}
    storage = meta.readstat_variable_types or {}
    for name in meta.column_names:
        label = (meta.column_names_to_labels or {}).get(name) or ""
        fmt = readstat_spelling((meta.original_variable_types or {}).get(name) or None)
        values = frame[name]
        if storage.get(name) == "string":
            out[name] = values.astype(object).where(values.notna() & values.astype(str).ne(""), None)
            kind, fmt = "text", None
        else:
            # pyreadstat turns date, datetime and time formats into Python objects (all missing: NaN)
            kind = format_kind(fmt)
            if kind in ("date", "datetime"):
                stamps = pd.to_datetime(values.astype(object).where(values.notna(), None))
                out[name] = stamps.astype("datetime64[s]" if kind == "date" else "datetime64[us]")
            elif kind == "time":
                out[name] = values.map(lambda t: np.nan if pd.isna(t) else t.hour * 3600 + t.minute * 60 + t.second,
                                       na_action="ignore").astype("float64")
            else:
                out[name] = values.astype("float64")
            if fmt and fmt.startswith("$"):
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
