"""XPT files whose size disagrees with their headers are refused wherever sub reads XPT, and the
pyreadstat 1.3.7 / 1.3.8 format spellings read alike.

A v5 file has no record count: the check is that the file holds every header whole, then whole
records of the member's record length, then at most 79 blanks (the padding of the last 80-byte
record). Files are cut at many offsets of a file this project wrote, and every CDISC pilot file
(real SAS output) must pass untouched.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from submission.cli import main
from submission.dataset import Column, Dataset
from submission.errors import SubError
from submission.xpt import format_kind, read_xpt, read_xpt_records, readstat_spelling, write_xpt, xpt_size_problem

from .conftest import REFERENCE, needs_reference

STAMP = dt.datetime(2016, 12, 7)
PILOT = REFERENCE / "cdisc-pilot"


def _ae(rows: int = 7) -> Dataset:
    """Records of 61 bytes (not a divisor of 80), so most cuts land mid-record."""
    frame = pd.DataFrame({
        "STUDYID": ["S1"] * rows,
        "USUBJID": [f"S1-{i:03d}" for i in range(rows)],
        "AESEQ": [float(i + 1) for i in range(rows)],
        "AETERM": [f"Term number {i} of the test" for i in range(rows)],
        "ASTDT": pd.to_datetime(["2014-03-05"] * rows),
    })
    columns = [Column("STUDYID", "Study Identifier"), Column("USUBJID", "Unique Subject Identifier"),
               Column("AESEQ", "Sequence Number", "float"), Column("AETERM", "Reported Term"),
               Column("ASTDT", "Analysis Start Date", "date", "DATE9.")]
    return Dataset("AE", "Adverse Events", frame, columns)


@pytest.fixture
def written(tmp_path) -> Path:
    path = tmp_path / "ae.xpt"
    write_xpt(_ae(), path, STAMP)
    return path


def _cut(path: Path, target: Path, size: int | None = None, extra: bytes = b"") -> Path:
    data = path.read_bytes()
    target.write_bytes((data if size is None else data[:size]) + extra)
    return target


def test_a_whole_written_file_passes(written):
    assert xpt_size_problem(written) is None
    assert len(read_xpt(written).frame) == 7


@pytest.mark.parametrize("where", ["empty", "library header", "member header", "namestr", "obs header",
                                   "mid-record", "last byte", "80-byte boundary mid-record"])
def test_a_cut_file_is_refused_naming_what_is_wrong(written, tmp_path, where):
    data = written.read_bytes()
    data_start = 240 + 400 + (5 * 140 + 79) // 80 * 80 + 80  # headers of a 5-variable member
    size = {"empty": 0, "library header": 100, "member header": 300, "namestr": 700, "obs header": data_start - 40,
            "mid-record": data_start + 61 * 3 + 20, "last byte": len(data) - 1,
            "80-byte boundary mid-record": data_start + 160}[where]
    cut = _cut(written, tmp_path / "cut.xpt", size)
    why = xpt_size_problem(cut)
    assert why is not None and why.startswith("truncated")
    assert f"{size:,} bytes" in why  # what the file has
    with pytest.raises(SubError) as err:
        read_xpt(cut)
    assert err.value.problems[0].file == str(cut)
    assert err.value.problems[0].message == why


def test_every_offset_of_the_records_is_refused_or_a_shorter_whole_file(written, tmp_path):
    """Cutting anywhere after the headers: refused, unless the cut leaves whole 80-byte records that are
    whole records plus blank padding (a v5 file does not say how many records it has)."""
    data = written.read_bytes()
    data_start = 240 + 400 + 720 + 80
    for size in range(data_start, len(data)):
        cut = _cut(written, tmp_path / "cut.xpt", size)
        why = xpt_size_problem(cut)
        rest = data[data_start:size]
        undetectable = size % 80 == 0 and not rest[len(rest) // 61 * 61:].strip(b" ")
        assert (why is None) == undetectable, (size, why)


@pytest.mark.parametrize("extra", [b"GARBAGE", b"x" * 80, b"\x00" * 80, b" " * 7])
def test_bytes_after_the_last_record_are_refused(written, tmp_path, extra):
    longer = _cut(written, tmp_path / "long.xpt", extra=extra)
    why = xpt_size_problem(longer)
    assert why is not None and "file has" in why


def test_blank_records_after_the_data_read_as_padding(written, tmp_path):
    # 80 more blanks are whole blank records of 61 bytes plus blanks: ReadStat drops trailing blank
    # records as padding, and so does sub (no reader can tell them from padding)
    longer = _cut(written, tmp_path / "long.xpt", extra=b" " * 80)
    assert xpt_size_problem(longer) is None
    assert len(read_xpt(longer).frame) == 7


def test_blank_padding_is_not_a_problem(tmp_path):
    # 3 records of 61 bytes = 183 bytes of data, padded with 57 blanks to 240
    path = tmp_path / "ae.xpt"
    write_xpt(_ae(3), path, STAMP)
    assert path.stat().st_size % 80 == 0
    assert xpt_size_problem(path) is None
    assert len(read_xpt(path).frame) == 3


def test_a_file_with_no_records_passes(tmp_path):
    path = tmp_path / "ae.xpt"
    ds = _ae(0)
    write_xpt(ds, path, STAMP)
    assert xpt_size_problem(path) is None
    assert read_xpt_records(path).nrows == 0


def test_a_file_that_is_not_xpt_is_left_to_the_reader(tmp_path):
    path = tmp_path / "x.xpt"
    path.write_text("a,b\n1,2\n")
    assert xpt_size_problem(path) is None
    with pytest.raises(SubError, match="not a readable XPT file"):
        read_xpt(path)


@needs_reference(PILOT)
def test_every_pilot_file_passes():
    files = sorted(PILOT.rglob("*.xpt"))
    assert files
    assert {str(p): xpt_size_problem(p) for p in files} == {str(p): None for p in files}


@needs_reference(PILOT / "sdtm" / "ae.xpt")
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_a_cut_pilot_file_is_refused(tmp_path, fraction):
    source = PILOT / "sdtm" / "ae.xpt"
    size = int(source.stat().st_size * fraction)
    size -= size % 80 if fraction < 0.5 else 0  # some cuts on an 80-byte boundary, some not
    cut = _cut(source, tmp_path / "ae.xpt", size)
    assert xpt_size_problem(cut) is not None


# --------------------------------------------------------------------------- through the CLI

def _no_traceback(result) -> None:
    assert "Traceback" not in result.output
    assert "internal error" not in result.output


@pytest.fixture
def truncated(written, tmp_path) -> Path:
    folder = tmp_path / "pkg" / "sdtm"
    folder.mkdir(parents=True)
    data = written.read_bytes()
    (folder / "ae.xpt").write_bytes(data[: len(data) - 100])
    return folder / "ae.xpt"


def test_diff_refuses_a_truncated_file(written, truncated):
    result = CliRunner().invoke(main, ["diff", str(written), str(truncated)])
    assert result.exit_code == 2, result.output
    assert str(truncated) in result.output and "truncated" in result.output
    _no_traceback(result)


def test_validate_reports_a_truncated_file(truncated, tmp_path):
    write_xpt(_ae(), truncated.parent / "dm.xpt", STAMP)  # something readable beside it
    result = CliRunner().invoke(main, ["validate", str(truncated.parent.parent)])
    assert result.exit_code == 1, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("SUB-SYS-002"))
    assert "truncated" in line and str(truncated) in line
    _no_traceback(result)


def test_validate_cannot_run_on_a_lone_truncated_file(truncated):
    result = CliRunner().invoke(main, ["validate", str(truncated)])
    assert result.exit_code == 2, result.output
    assert str(truncated) in result.output and "truncated" in result.output
    _no_traceback(result)


def test_adam_refuses_truncated_sdtm(truncated, tmp_path):
    result = CliRunner().invoke(main, ["adam", "--sdtm", str(truncated.parent), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert str(truncated) in result.output and "truncated" in result.output
    _no_traceback(result)


# --------------------------------------------------------------------------- pyreadstat 1.3.7 and 1.3.8

def test_format_spellings_of_both_pyreadstat_releases_read_alike():
    # 1.3.8 writes a period after a width without decimals; 1.3.7 does not
    pairs = {"DATE9.": "DATE9", "BEST12.": "BEST12", "8.": "8", "8.2": "8.2", "E8601DT19.3": "E8601DT19.3",
             "DATE": "DATE", "$CHAR5.": "$CHAR5", None: None}
    assert {k: readstat_spelling(k) for k in pairs} == pairs
    for fmt, kind in (("DATE9.", "date"), ("YYMMDD10.", "date"), ("DATETIME20.", "datetime"), ("TIME8.", "time"),
                      ("BEST12.", "float"), ("8.", "float")):
        assert format_kind(fmt) == format_kind(readstat_spelling(fmt)) == kind


def test_the_pyreadstat_path_reads_dates_as_the_fast_reader_does(written):
    from submission.xpt import _read_xpt_pyreadstat

    fast, slow = read_xpt(written), _read_xpt_pyreadstat(written)
    assert [(c.name, c.kind, c.format) for c in fast.columns] == [(c.name, c.kind, c.format) for c in slow.columns]
    assert str(slow.frame["ASTDT"].dtype) == "datetime64[s]"
    assert slow.frame["ASTDT"].iloc[0] == pd.Timestamp("2014-03-05")
