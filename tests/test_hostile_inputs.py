"""Hostile files given to the QC commands are refused with a message naming the file, never exit 3.

- XML (define.xml) for `sub validate` and `sub diff`: XXE, billion laughs, an external DTD, deep
  nesting; one safe parser (submission/safexml.py) that every XML reader uses.
- Dataset-JSON for `sub validate` and `sub diff`: 200,000 levels deep, not an object, wrong types.
- xlsx for `sub spec import`: not a zip, a zip bomb, formulas, external links, a sheet of huge
  dimensions, an XXE part, a missing sheet, wrong headers.

Exit codes follow the README: `validate` 1 for findings (a broken file among readable ones is a
finding), 2 when it cannot run at all (nothing readable); `diff` 2 when it cannot compare;
`spec import` 1 for bad input.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from submission import safexml
from submission.cli import main
from submission.dataset import Column, Dataset
from submission.errors import SubError
from submission.xpt import write_xpt

ROOT = Path(__file__).resolve().parents[1]
ODM = "http://www.cdisc.org/ns/odm/v1.3"


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def _no_traceback(result) -> None:
    assert "Traceback" not in result.output, result.output
    assert "internal error" not in result.output, result.output
    assert result.exit_code != 3


def _dm(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"STUDYID": ["S1"], "DOMAIN": ["DM"], "USUBJID": ["S1-001"], "AGE": [50.0]})
    columns = [Column("STUDYID", "Study Identifier"), Column("DOMAIN", "Domain Abbreviation"),
               Column("USUBJID", "Unique Subject Identifier"), Column("AGE", "Age", "float")]
    write_xpt(Dataset("DM", "Demographics", frame, columns), folder / "dm.xpt", dt.datetime(2020, 1, 1))
    return folder / "dm.xpt"


# --------------------------------------------------------------------------- hostile XML

LAUGHS = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))


def hostile_xml(kind: str, secret: Path) -> str:
    body = f'<ODM xmlns="{ODM}"><Study OID="S"><GlobalVariables><StudyName>&x;</StudyName></GlobalVariables></Study></ODM>'
    return {
        "xxe": f'<?xml version="1.0"?><!DOCTYPE ODM [<!ENTITY x SYSTEM "file://{secret}">]>{body}',
        "laughs": f'<?xml version="1.0"?><!DOCTYPE ODM [<!ENTITY l0 "lol">{LAUGHS}<!ENTITY x "&l9;">]>{body}',
        "external-dtd": f'<?xml version="1.0"?><!DOCTYPE ODM SYSTEM "http://127.0.0.1:9/evil.dtd"><ODM xmlns="{ODM}"/>',
        "parameter-entity": '<?xml version="1.0"?><!DOCTYPE ODM [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>'
                            f'<ODM xmlns="{ODM}"/>',
        "deep": '<?xml version="1.0"?>' + f'<ODM xmlns="{ODM}">' + "<a>" * 100_000 + "</a>" * 100_000 + "</ODM>",
    }[kind]


KINDS = ["xxe", "laughs", "external-dtd", "parameter-entity", "deep"]


@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP SECRET")
    return path


@pytest.mark.parametrize("kind", KINDS)
def test_safe_parser_refuses(kind, secret, tmp_path):
    path = tmp_path / "define.xml"
    path.write_text(hostile_xml(kind, secret))
    with pytest.raises(SubError) as err:
        safexml.parse(path)
    problem = err.value.problems[0]
    assert problem.file == str(path)
    assert "TOP SECRET" not in str(err.value)
    assert ("DTD" in problem.message) if kind != "deep" else ("not well-formed" in problem.message)


def test_safe_parser_reads_plain_xml_and_names_bytes_by_the_given_name():
    tree = safexml.parse(f'<ODM xmlns="{ODM}"><Study OID="S"/></ODM>'.encode(), name="x.xml")
    assert tree.getroot()[0].get("OID") == "S"
    with pytest.raises(SubError, match="not well-formed XML") as err:
        safexml.parse(b"<ODM><unclosed></ODM>", name="x.xml")
    assert err.value.problems[0].file == "x.xml" and err.value.problems[0].row == 1


def test_safe_parser_keeps_the_text_size_limit():
    big = b"<a>" + b"x" * 11_000_000 + b"</a>"  # past libxml2's 10 MB text limit without huge_tree
    with pytest.raises(SubError, match="not well-formed XML"):
        safexml.parse(big, name="big.xml")


def test_even_an_allowed_doctype_resolves_nothing(secret):
    """allow_doctype (for schemas shipped in an installed package) still expands and loads nothing."""
    data = f'<!DOCTYPE a [<!ENTITY x SYSTEM "file://{secret}"><!ENTITY y "expanded">]><a>&x;&y;</a>'.encode()
    root = safexml.parse(data, name="a.xml", allow_doctype=True).getroot()
    text = "".join(root.itertext())
    assert "TOP SECRET" not in text and "expanded" not in text


def test_every_xml_reader_uses_the_safe_parser():
    """No module but safexml.py builds a parser or parses XML with lxml directly."""
    pattern = re.compile(r"etree\.(parse|fromstring|XML|XMLParser|iterparse|HTML)\(|xml\.etree|minidom|xml\.sax")
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in sorted((ROOT / "submission").rglob("*.py"))
                 if p.name != "safexml.py"
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1) if pattern.search(line)]
    assert offenders == []


@pytest.mark.parametrize("kind", KINDS)
def test_validate_reports_a_hostile_define(kind, secret, tmp_path):
    folder = tmp_path / "pkg" / "sdtm"
    _dm(folder)
    (folder / "define.xml").write_text(hostile_xml(kind, secret))
    result = run("validate", tmp_path / "pkg")
    _no_traceback(result)
    assert result.exit_code == 1, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("SUB-DEF-001"))
    assert str(folder / "define.xml") in line
    assert "TOP SECRET" not in result.output


@pytest.mark.parametrize("kind", KINDS)
def test_diff_refuses_a_hostile_define(kind, secret, tmp_path):
    good = tmp_path / "good.xml"
    good.write_text(f'<ODM xmlns="{ODM}"><Study OID="S"/></ODM>')
    bad = tmp_path / "define.xml"
    bad.write_text(hostile_xml(kind, secret))
    result = run("diff", bad, good)
    _no_traceback(result)
    assert result.exit_code == 2, result.output  # diff: 2 = cannot compare
    assert str(bad) in result.output
    assert "TOP SECRET" not in result.output


def test_diff_refuses_a_hostile_define_inside_packages(secret, tmp_path):
    for side in ("a", "b"):
        _dm(tmp_path / side / "sdtm")
    (tmp_path / "a" / "sdtm" / "define.xml").write_text(hostile_xml("xxe", secret))
    (tmp_path / "b" / "sdtm" / "define.xml").write_text(f'<ODM xmlns="{ODM}"><Study OID="S"/></ODM>')
    result = run("diff", tmp_path / "a", tmp_path / "b")
    _no_traceback(result)
    assert result.exit_code == 2, result.output
    assert "define.xml" in result.output and "DTD" in result.output


# --------------------------------------------------------------------------- hostile JSON

def hostile_json(kind: str) -> str:
    return {
        "deep": '{"datasetJSONVersion": "1.1.0", "name": "AE", "columns": ' + "[" * 200_000 + "]" * 200_000
                + ', "rows": []}',
        "list": '[{"datasetJSONVersion": "1.1.0", "columns": [], "rows": []}]',
        "wrong-types": '{"datasetJSONVersion": "1.1.0", "name": 5, "columns": {}, "rows": "x"}',
        "bad-columns": '{"datasetJSONVersion": "1.1.0", "name": "AE", "columns": [{"name": "A", "dataType": "nope"}, 3,'
                       ' {"dataType": "string"}], "rows": [[1, 2, 3], [1]]}',
        "bad-dates": '{"datasetJSONVersion": "1.1.0", "name": "AE", "columns": [{"name": "D", "label": "d", '
                     '"dataType": "date"}], "rows": [["2020-13-45"], [5]]}',
        "not-json": '{"columns": [1, 2',
    }[kind]


JSON_KINDS = ["deep", "list", "wrong-types", "bad-columns", "bad-dates", "not-json"]


@pytest.mark.parametrize("kind", JSON_KINDS)
def test_validate_reports_a_hostile_dataset_json(kind, tmp_path):
    folder = tmp_path / "pkg" / "sdtm"
    _dm(folder)
    (folder / "ae.json").write_text(hostile_json(kind))
    result = run("validate", tmp_path / "pkg")
    _no_traceback(result)
    assert result.exit_code == 1, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("SUB-SYS-002"))
    assert str(folder / "ae.json") in line


@pytest.mark.parametrize("kind", ["deep", "wrong-types", "bad-columns", "bad-dates", "not-json"])
def test_validate_cannot_run_on_a_lone_hostile_dataset_json(kind, tmp_path):
    path = tmp_path / "ae.json"
    path.write_text(hostile_json(kind))
    result = run("validate", path)
    _no_traceback(result)
    assert result.exit_code == 2, result.output  # nothing readable: validate cannot run
    assert str(path) in result.output


@pytest.mark.parametrize("kind", JSON_KINDS)
def test_diff_refuses_a_hostile_dataset_json(kind, tmp_path):
    good = tmp_path / "good.json"
    good.write_text('{"datasetJSONVersion": "1.1.0", "name": "AE", "label": "", '
                    '"columns": [{"itemOID": "IT.A", "name": "A", "label": "a", "dataType": "string"}], "rows": [["x"]]}')
    bad = tmp_path / "ae.json"
    bad.write_text(hostile_json(kind))
    result = run("diff", bad, good)
    _no_traceback(result)
    assert result.exit_code == 2, result.output
    assert str(bad) in result.output


# --------------------------------------------------------------------------- hostile xlsx

@pytest.fixture
def exported(specs_copy, tmp_path) -> Path:
    xlsx = tmp_path / "sdtm.xlsx"
    result = run("spec", "export", "--xlsx", xlsx, "--specs", specs_copy, "--standard", "sdtm")
    assert result.exit_code == 0, result.output
    return xlsx


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _rezip(source: Path, target: Path, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None):
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item.filename, (replace or {}).get(item.filename, zin.read(item.filename)))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return target


def _edit(xlsx: Path, target: Path, edit) -> Path:
    wb = openpyxl.load_workbook(xlsx)
    edit(wb)
    wb.save(target)
    return target


def _sheet_part(xlsx: Path, title: str) -> str:
    wb = openpyxl.load_workbook(xlsx)
    index = wb.sheetnames.index(title) + 1
    return f"xl/worksheets/sheet{index}.xml"


def _cell_text_to(xml: str, text: str) -> str:
    """The sheet XML with its first cell text (inline string or value) replaced by `text`."""
    out, n = re.subn(r"<t>[^<]*</t>", f"<t>{text}</t>", xml, count=1)
    if not n:
        out, n = re.subn(r"<v>[^<]*</v>", f"<v>{text}</v>", xml, count=1)
    assert n == 1
    return out


def hostile_xlsx(kind: str, exported: Path, tmp_path: Path, secret: Path) -> tuple[Path, str]:
    """(the workbook, a text the message must hold)."""
    target = tmp_path / f"{kind}.xlsx"
    if kind == "not-a-zip":
        target.write_text("Dataset,Label\nAE,Adverse Events\n")
        return target, "not a readable .xlsx workbook"
    if kind == "truncated-zip":
        target.write_bytes(exported.read_bytes()[:2000])
        return target, "not a readable .xlsx workbook"
    if kind == "zip-bomb":
        return _rezip(exported, target, add={"xl/media/bomb.bin": b"\0" * (8 << 20)}), "zip bomb"
    if kind == "formula":
        def edit(wb):
            wb["Methods"].cell(row=2, column=4).value = "=1+1"
        return _edit(exported, target, edit), "formula"
    if kind == "external-link":
        link = (b'<?xml version="1.0" encoding="UTF-8"?><externalLink xmlns="http://schemas.openxmlformats.org/'
                b'spreadsheetml/2006/main"/>')
        return _rezip(exported, target, add={"xl/externalLinks/externalLink1.xml": link}), "external links"
    if kind == "huge-dimensions":
        def edit(wb):
            wb["Methods"].cell(row=1_048_576, column=16_384).value = "x"
        return _edit(exported, target, edit), "XFD1048576"
    if kind == "xxe-part":
        part = _sheet_part(exported, "Methods")
        with zipfile.ZipFile(exported) as z:
            xml = z.read(part).decode("utf-8")
        evil = f'<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file://{secret}">]>' + _cell_text_to(xml, "&x;")
        return _rezip(exported, target, replace={part: evil.encode("utf-8")}), "declares a DTD"
    if kind == "laughs-part":
        part = _sheet_part(exported, "Methods")
        with zipfile.ZipFile(exported) as z:
            xml = z.read(part).decode("utf-8")
        evil = f'<!DOCTYPE worksheet [<!ENTITY l0 "lol">{LAUGHS}]>' + _cell_text_to(xml, "&l9;")
        return _rezip(exported, target, replace={part: evil.encode("utf-8")}), "declares a DTD"
    if kind == "missing-sheet":
        def edit(wb):
            del wb["Methods"]
        return _edit(exported, target, edit), "sheet is missing"
    if kind == "wrong-headers":
        def edit(wb):
            wb["Variables"].cell(row=1, column=3).value = "Var Name"
        return _edit(exported, target, edit), "required column is missing"
    raise AssertionError(kind)


XLSX_KINDS = ["not-a-zip", "truncated-zip", "zip-bomb", "formula", "external-link", "huge-dimensions", "xxe-part",
              "laughs-part", "missing-sheet", "wrong-headers"]


@pytest.mark.parametrize("with_standard", [True, False], ids=["standard", "guessed"])
@pytest.mark.parametrize("kind", XLSX_KINDS)
def test_spec_import_refuses_a_hostile_workbook(kind, with_standard, exported, specs_copy, tmp_path, secret):
    xlsx, expected = hostile_xlsx(kind, exported, tmp_path, secret)
    before = _snapshot(specs_copy)
    args = ["spec", "import", xlsx, "--specs", specs_copy] + (["--standard", "sdtm"] if with_standard else [])
    result = run(*args)
    _no_traceback(result)
    assert result.exit_code == 1, result.output
    assert xlsx.name in result.output
    assert expected in result.output
    assert "TOP SECRET" not in result.output
    assert _snapshot(specs_copy) == before  # the spec is untouched


def test_spec_import_locates_a_formula_by_sheet_row_and_column(exported, specs_copy, tmp_path, secret):
    xlsx, _ = hostile_xlsx("formula", exported, tmp_path, secret)
    result = run("spec", "import", xlsx, "--specs", specs_copy, "--standard", "sdtm")
    assert result.exit_code == 1
    assert f"{xlsx.name} sheet Methods, row 2, column Description: a formula" in result.output


def test_spec_import_locates_the_stray_cell_of_a_huge_sheet(exported, specs_copy, tmp_path, secret):
    xlsx, _ = hostile_xlsx("huge-dimensions", exported, tmp_path, secret)
    result = run("spec", "import", xlsx, "--specs", specs_copy, "--standard", "sdtm")
    assert result.exit_code == 1
    assert "sheet Methods, row 1048576, column XFD" in result.output


def test_spec_import_refuses_a_workbook_that_unzips_too_large(exported, specs_copy, tmp_path, monkeypatch):
    from submission import spreadsheet

    monkeypatch.setattr(spreadsheet, "MAX_UNZIPPED", 100_000)  # the exported spec unzips to about 480 kB
    result = run("spec", "import", exported, "--specs", specs_copy, "--standard", "sdtm")
    _no_traceback(result)
    assert result.exit_code == 1
    assert exported.name in result.output and "unzips to" in result.output


def test_spec_import_of_a_folder_named_xlsx_is_a_usage_error(tmp_path, specs_copy):
    folder = tmp_path / "x.xlsx"
    folder.mkdir()
    result = run("spec", "import", folder, "--specs", specs_copy)
    _no_traceback(result)
    assert result.exit_code == 2  # click: FILE must be a file


def test_the_exported_workbook_still_imports(exported, specs_copy):
    before = _snapshot(specs_copy)
    result = run("spec", "import", exported, "--specs", specs_copy, "--standard", "sdtm")
    _no_traceback(result)
    assert result.exit_code == 0, result.output
    assert _snapshot(specs_copy) == before


def test_the_deep_json_is_what_python_cannot_parse():
    with pytest.raises(RecursionError):
        json.loads(hostile_json("deep"))
