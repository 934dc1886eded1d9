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
