"""The damaged-input corpus: real extracts and specs arrive broken.

Every case starts from a clean synthetic extract and the bundled specs, damages one thing,
runs `sub build` over a previous good output, and checks: exit code 1 (bad input), one clear
message naming the file and the column (and the value where there is one), no traceback, and
the previous output untouched, byte for byte.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from submission.cli import main
from submission.raw.synth import synthesize, write_extract
from submission.study import load_settings

from .conftest import SPECS, edit_csv


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("clean")
    raw = base / "raw"
    write_extract(synthesize(load_settings(SPECS), n_subjects=30, seed=5), raw)
    out = base / "out"
    result = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return raw, out


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _rows(path: Path, edit) -> None:
    edit_csv(path, edit)


def _text(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _first(column: str, value: str, where: dict | None = None):
    def edit(rows):
        row = next(r for r in rows if all(r[k] == v for k, v in (where or {}).items()))
        row[column] = value
    return edit


# (id, target folder "raw"/"specs", file, damage(path), expected file name in message, expected column or None,
#  extra build args)
CASES = [
    ("missing-file", "raw", "demog.csv", lambda p: p.unlink(), "demog.csv", None),
    ("empty-file", "raw", "ae.csv", lambda p: p.write_text(""), "ae.csv", None),
    ("header-only-enrolment", "raw", "enrol.csv", lambda p: _rows(p, lambda rows: rows.clear()), "enrol.csv", None),
    ("missing-column", "raw", "ae.csv", lambda p: _text(p, ",SEV,", ",SEVX,"), "ae.csv", "SEV"),
    ("unknown-column", "raw", "eos.csv", lambda p: _text(p, "\n", ",EXTRA\n", 1), "eos.csv", None),
    ("wrong-delimiter", "raw", "conmed.csv", lambda p: p.write_text(p.read_text(encoding="utf-8").replace(",", ";"),
                                                                     encoding="utf-8"), "conmed.csv", None),
    ("byte-order-mark", "raw", "elig.csv", lambda p: p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes()), "elig.csv", None),
    ("undecodable-bytes", "raw", "eos.csv", lambda p: p.write_bytes(p.read_bytes() + b"\xff\xfe,\n"), "eos.csv", None),
    ("malformed-quote", "raw", "ae.csv", lambda p: p.write_text(p.read_text(encoding="utf-8") + '101-001,"99\n',
                                                               encoding="utf-8"), "ae.csv", None),
    ("duplicate-subject", "raw", "demog.csv", lambda p: _rows(p, lambda rows: rows.append(dict(rows[0]))),
     "demog.csv", "SUBJID"),
    ("ae-for-unknown-subject", "raw", "ae.csv", lambda p: _rows(p, lambda rows: rows.append({**rows[0], "SUBJID": "999-999"})),
     "ae.csv", "SUBJID"),
    ("dose-for-unknown-subject", "raw", "rvldose.csv",
     lambda p: _rows(p, lambda rows: rows.append({**rows[0], "SUBJID": "999-998"})), "rvldose.csv", "SUBJID"),
    ("impossible-date", "raw", "ae.csv", lambda p: _rows(p, _first("STDAT", "2016-02-30")), "ae.csv", "STDAT"),
    ("unparseable-date", "raw", "rvldose.csv", lambda p: _rows(p, _first("STDAT", "12/03/2014")), "rvldose.csv", "STDAT"),
    ("end-before-start", "raw", "rvldose.csv", lambda p: _rows(p, _first("ENDAT", "2000-01-01")), "rvldose.csv", "ENDAT"),
    ("date-after-cutoff", "raw", "response.csv", lambda p: _rows(p, _first("RSDAT", "2017-03-01")), "response.csv", "RSDAT"),
    ("text-in-numeric", "raw", "rvldose.csv", lambda p: _rows(p, _first("DOSE", "twenty-five")), "rvldose.csv", "DOSE"),
    ("text-in-integer", "raw", "demog.csv", lambda p: _rows(p, _first("AGE", "sixty")), "demog.csv", "AGE"),
    ("negative-dose", "raw", "dexdose.csv", lambda p: _rows(p, _first("DOSE", "-40")), "dexdose.csv", "DOSE"),
    ("unknown-code", "raw", "ae.csv", lambda p: _rows(p, _first("SEV", "9")), "ae.csv", "SEV"),
    ("meddra-term-without-codes", "raw", "ae.csv", lambda p: _rows(p, _first("PTCD", "")), "ae.csv", "PTCD"),
    ("required-when", "raw", "eos.csv", lambda p: _rows(p, _first("EOSREAS", "", {"EOSSTAT": "2"})), "eos.csv", "EOSREAS"),
    ("korean-verbatim-without-translation", "raw", "ae.csv", lambda p: _rows(p, _first("AETERM", "번역없는 이상사례")),
     "ae.csv", "AETERM"),
    ("300-character-verbatim", "raw", "ae.csv", lambda p: _rows(p, _first("AETERM", "X" * 300)), "ae.csv", "AETERM"),
    ("serious-without-criterion", "raw", "ae.csv",
     lambda p: _rows(p, _first("SER", "Y", {"SER": "N"})), "ae.csv", "SER"),
    ("missing-required-value", "raw", "enrol.csv", lambda p: _rows(p, _first("ICDAT", "")), "enrol.csv", "ICDAT"),
    ("cp949-without-option", "raw", "medhist.csv",
     lambda p: p.write_bytes((p.read_text(encoding="utf-8") + "101-001,99,GEN,고혈압,a,1,b,2,c,3,d,4,e,5,,\n").encode("cp949")),
     "medhist.csv", None),
    ("spec-missing-label", "specs", "sdtm/Variables.csv", lambda p: _rows(p, _first("Label", "")), "Variables.csv", "Label"),
    ("spec-41-character-label", "specs", "sdtm/Variables.csv", lambda p: _rows(p, _first("Label", "L" * 41)),
     "Variables.csv", "Label"),
    ("spec-9-character-name", "specs", "adam/Variables.csv", lambda p: _rows(p, _first("Variable", "AETERMXXX")),
     "Variables.csv", "Variable"),
    ("spec-dangling-codelist", "specs", "sdtm/Variables.csv",
     lambda p: _rows(p, _first("Codelist", "NOSUCH", {"Variable": "SEX"})), "Variables.csv", "Codelist"),
    ("spec-xml-entity", "specs", "sdtm/Methods.csv", lambda p: _rows(p, _first("Description", "a &amp; b")),
     "Methods.csv", "Description"),
    ("spec-formula", "specs", "adam/Comments.csv", lambda p: _rows(p, _first("Description", "=SUM(A1:A9)")),
     "Comments.csv", "Description"),
    ("settings-missing-key", "specs", "study.toml", lambda p: _text(p, "treatment_emergent_days = 28\n", ""),
     "study.toml", "key conventions.treatment_emergent_days"),
    ("translation-not-ascii", "specs", "translations.csv",
     lambda p: _rows(p, lambda rows: rows[0].update(English="é " + rows[0]["English"])), "translations.csv", "English"),
    ("raw-code-outside-sdtm-codelist", "specs", "raw/codes.csv",
     lambda p: _rows(p, _first("submission_value", "MILDISH", {"codelist": "AESEV", "code": "1"})), "ae.csv", "AE.AESEV"),
]


@pytest.mark.parametrize(("case", "target", "file", "damage", "named_file", "named_column"), CASES,
                         ids=[c[0] for c in CASES])
def test_damaged_input_is_refused_cleanly(clean, tmp_path, case, target, file, damage, named_file, named_column):
    raw, good_out = clean
    work_raw, specs, out = tmp_path / "raw", tmp_path / "specs", tmp_path / "out"
    shutil.copytree(raw, work_raw)
    shutil.copytree(SPECS, specs)
    shutil.copytree(good_out, out)
    before = _snapshot(out)
    damage((work_raw if target == "raw" else specs) / file)

    result = CliRunner().invoke(main, ["build", "--raw", str(work_raw), "--specs", str(specs), "--out", str(out)])

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert named_file in result.output, result.output
    if named_column:
        assert f"column {named_column}" in result.output, result.output
    assert _snapshot(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_corpus_has_at_least_thirty_kinds():
    assert len(CASES) >= 30


def test_cp949_export_builds_with_the_encoding_option(clean, tmp_path):
    raw, _ = clean
    work = tmp_path / "raw"
    shutil.copytree(raw, work)
    for path in work.glob("*.csv"):
        path.write_bytes(path.read_text(encoding="utf-8").encode("cp949"))
    result = CliRunner().invoke(main, ["build", "--raw", str(work), "--out", str(tmp_path / "out"), "--encoding", "cp949"])
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------------------------------------------------
# Damage located to the cell: `sub raw check` and `sub build` both exit 1 with one line naming file, row, column
# and value, no traceback, and the build leaves the previous output as it was.

def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def _insert_line(line: str, at_row: int):
    def damage(path: Path) -> None:
        lines = _lines(path)
        lines.insert(at_row - 1, line(lines) if callable(line) else line)
        path.write_text("\n".join(lines), encoding="utf-8")
    return damage


def _copy_row_with(row: int, **values):
    """Row `row` of the file becomes a copy of row 2 with `values`, keeping its own SUBJID and LINE."""
    def edit(rows):
        rows[row - 2] = {**rows[0], "SUBJID": rows[row - 2]["SUBJID"], "LINE": rows[row - 2]["LINE"], **values}
    return edit


def _blank_line_then(column: str, value: str):
    def damage(path: Path) -> None:
        _rows(path, lambda rows: rows[1].update({column: value}))
        lines = _lines(path)
        lines.insert(2, "")  # a blank line as row 3: the damaged record is now row 4
        path.write_text("\n".join(lines), encoding="utf-8")
    return damage


def _raw_folder_gone(path: Path) -> None:
    path.unlink()
    path.mkdir()


# (id, file, damage(path), where the message points, the value it shows or None)
LOCATED = [
    ("comma-only-line", "ae.csv", _insert_line(lambda lines: "," * lines[0].count(","), 3), "ae.csv, row 3, column SUBJID", None),
    ("blank-line-key", "ae.csv", lambda p: _rows(p, _first("LINE", "")), "ae.csv, row 2, column LINE", None),
    ("blank-subject-many-rows", "medhist.csv", lambda p: _rows(p, _first("SUBJID", "")),
     "medhist.csv, row 2, column SUBJID", None),
    ("inf-in-number", "baseline.csv", lambda p: _rows(p, _first("HEIGHT", "inf")), "baseline.csv, row 2, column HEIGHT", "inf"),
    ("minus-inf-in-number", "baseline.csv", lambda p: _rows(p, _first("WEIGHT", "-inf")),
     "baseline.csv, row 2, column WEIGHT", "-inf"),
    ("nan-in-number", "baseline.csv", lambda p: _rows(p, _first("CREAT", "nan")), "baseline.csv, row 2, column CREAT", "nan"),
    ("1e999-in-number", "rvldose.csv", lambda p: _rows(p, _first("DOSE", "1e999")), "rvldose.csv, row 2, column DOSE", "1e999"),
    ("fullwidth-digits", "demog.csv", lambda p: _rows(p, _first("AGE", "６５")), "demog.csv, row 2, column AGE", "６５"),
    ("fullwidth-date", "response.csv", lambda p: _rows(p, _first("RSDAT", "２０１５-０１-０２")),
     "response.csv, row 2, column RSDAT", "２０１５-０１-０２"),
    ("23-digit-integer", "ae.csv", lambda p: _rows(p, _first("LLTCD", "12345678901234567890123")),
     "ae.csv, row 2, column LLTCD", "12345678901234567890123"),
    ("nul-in-cell", "ae.csv", lambda p: _rows(p, _first("AETERM", "Neutro\x00penia")), "ae.csv, row 2, column AETERM",
     "Neutro\\x00penia"),
    ("line-feed-in-aeterm", "ae.csv", lambda p: _rows(p, _first("AETERM", "Neutro\npenia")), "ae.csv, row 2, column AETERM",
     "Neutro\\npenia"),
    ("tab-in-aeterm", "ae.csv", lambda p: _rows(p, _first("AETERM", "Neutro\tpenia")), "ae.csv, row 2, column AETERM",
     "Neutro\\tpenia"),
    ("age-200", "demog.csv", lambda p: _rows(p, _first("AGE", "200")), "demog.csv, row 2, column AGE", "200"),
    ("weight-0", "baseline.csv", lambda p: _rows(p, _first("WEIGHT", "0")), "baseline.csv, row 2, column WEIGHT", "0"),
    ("dose-99999", "rvldose.csv", lambda p: _rows(p, _first("DOSE", "99999")), "rvldose.csv, row 2, column DOSE", "99999"),
    ("death-before-enrolment", "eos.csv", lambda p: _rows(p, lambda rows: rows[0].update(DEATH="Y", DTHDAT="1999-01-01")),
     "eos.csv, row 2, column DTHDAT", "1999-01-01"),
    ("medical-history-in-1600", "medhist.csv", lambda p: _rows(p, _first("STDAT", "1600-01-UK")),
     "medhist.csv, row 2, column STDAT", "1600-01-UK"),
    ("soc-that-exists-nowhere-else", "ae.csv",
     lambda p: _rows(p, _copy_row_with(3, SOC="Made up disorders", SOCCD="10099999")), "ae.csv, row 3, column SOCCD",
     "10099999"),
    ("ten-megabyte-value", "ae.csv", lambda p: _rows(p, _first("AETERM", "X" * 10_000_000)), "ae.csv, row 2, column AETERM",
     "X" * 60 + "... (10,000,000 characters)"),
    ("row-after-a-blank-line", "response.csv", _blank_line_then("RSDAT", "2015-02-30"),
     "response.csv, row 4, column RSDAT", "2015-02-30"),
    ("duplicate-column-header", "ae.csv", lambda p: _text(p, ",TREAT,", ",SEV,"), "ae.csv, row 1, column SEV", None),
    ("extra-cell", "ae.csv", _insert_line(lambda lines: lines[1] + ",extra", 3), "ae.csv, row 3", "extra"),
    ("unclosed-quote", "conmed.csv", lambda p: _text(p, "\n" + _lines(p)[2], '\n"' + _lines(p)[2]), "conmed.csv, row 3",
     None),
    ("folder-instead-of-file", "conmed.csv", _raw_folder_gone, "conmed.csv: is a folder, not a file", None),
    ("header-only-one-row-form", "demog.csv", lambda p: _rows(p, lambda rows: rows.clear()),
     "demog.csv, column SUBJID: enrolled subject has no row", None),
    ("binary-garbage", "ae.csv", lambda p: p.write_bytes(bytes(range(255, -1, -1)) * 8), "ae.csv, row 1", None),
    ("utf-16-without-bom", "eos.csv", lambda p: p.write_bytes(p.read_text(encoding="utf-8").encode("utf-16-le")),
     "eos.csv, row 1", None),
    ("xlsx-saved-as-csv", "elig.csv", lambda p: p.write_bytes(b"PK\x03\x04" + bytes(60)), "elig.csv: is a zip file", None),
]


def _invoke_located(clean, tmp_path, damage, file, command):
    raw, good_out = clean
    work_raw, out = tmp_path / "raw", tmp_path / "out"
    shutil.copytree(raw, work_raw)
    shutil.copytree(good_out, out)
    before = _snapshot(out)
    damage(work_raw / file)
    args = ["raw", "check", "--raw", str(work_raw)] if command == "raw-check" else \
        ["build", "--raw", str(work_raw), "--out", str(out)]
    return CliRunner().invoke(main, args), out, before


@pytest.mark.parametrize("command", ["raw-check", "build"])
@pytest.mark.parametrize(("case", "file", "damage", "where", "value"), LOCATED, ids=[c[0] for c in LOCATED])
def test_damage_is_located_to_file_row_column_and_value(clean, tmp_path, case, file, damage, where, value, command):
    result, out, before = _invoke_located(clean, tmp_path, damage, file, command)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    hits = [line for line in result.output.splitlines() if where in line]
    assert hits, result.output[:3000]
    if value is not None:
        assert any(f"(value '{value}')" in line for line in hits), hits
    assert max(len(line) for line in result.output.splitlines()) < 400  # no value is echoed whole
    if command == "build":
        assert _snapshot(out) == before


def test_unreadable_raw_file_is_exit_1_naming_it(clean, tmp_path, monkeypatch):
    raw, good_out = clean
    work_raw, out = tmp_path / "raw", tmp_path / "out"
    shutil.copytree(raw, work_raw)
    shutil.copytree(good_out, out)
    before = _snapshot(out)
    target, real = work_raw / "ae.csv", Path.read_bytes

    def read_bytes(self):
        if self == target:  # chmod 000 does not stop root, who runs CI containers
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    for args in (["raw", "check", "--raw", str(work_raw)], ["build", "--raw", str(work_raw), "--out", str(out)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, result.output
        assert f"{target}: cannot be read: permission denied" in result.output
    assert _snapshot(out) == before


def test_raw_folder_that_is_a_file(tmp_path):
    (tmp_path / "raw").write_text("not a folder")
    result = CliRunner().invoke(main, ["raw", "check", "--raw", str(tmp_path / "raw")])
    assert result.exit_code == 1 and "is a file; the raw extract is a folder" in result.output
