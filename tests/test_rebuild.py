"""Same inputs, same bytes: two full builds differ only in the run log; the manifest lists
every input and output with its SHA-256, the versions and the settings."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from submission.cli import main
from submission.raw.synth import synthesize, write_extract
from submission.study import load_settings

from .conftest import SPECS


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("rebuild")
    raw = base / "raw"
    write_extract(synthesize(load_settings(SPECS), n_subjects=60, seed=17), raw)
    outs = []
    for name in ("first", "second"):
        out = base / name
        result = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(out)])
        assert result.exit_code == 0, result.output
        outs.append(out)
    return raw, outs[0], outs[1]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _rendered(files: dict[str, bytes]) -> set[str]:
    """The PDFs LibreOffice rendered (aCRF, reviewer's guides): their bytes are not promised."""
    from submission.package.pdf import rendered_by_libreoffice

    return {name for name, data in files.items() if name.endswith(".pdf") and rendered_by_libreoffice(data)}


def _manifest_without_rendered_bytes(data: bytes) -> dict:
    body = json.loads(data)
    for entry in body["outputs"]:
        if "note" in entry:
            entry.pop("bytes"), entry.pop("sha256")
    return body


def test_two_builds_are_byte_identical_except_the_run_log(two_builds):
    """Every file is byte-identical but build.log; a PDF LibreOffice rendered has the same text and
    pages (its bytes may differ: see submission/package/pdf.py), and the manifest differs at most
    in those PDFs' sizes and checksums."""
    from submission.tlf.render import pdf_page_texts, poppler_available

    _, first, second = two_builds
    a, b = _files(first), _files(second)
    assert a.keys() == b.keys()
    assert {"report/re-examination-report.docx", "tlf/ard.csv", "sdtm/define.xml", "adam/define.xml",
            "sdtm/ae.xpt", "adam/adae.json", "manifest.json"} <= a.keys()
    rendered = _rendered(a)
    assert rendered == _rendered(b)
    different = sorted(name for name in a if a[name] != b[name] and name not in rendered)
    assert different in (["build.log"], ["build.log", "manifest.json"])
    if "manifest.json" in different:
        assert _manifest_without_rendered_bytes(a["manifest.json"]) == _manifest_without_rendered_bytes(b["manifest.json"])
    if rendered and poppler_available():
        for name in rendered:
            assert pdf_page_texts(first / name) == pdf_page_texts(second / name), name


def test_manifest_lists_every_file_with_its_checksum(two_builds):
    raw, first, _ = two_builds
    manifest = json.loads((first / "manifest.json").read_text(encoding="utf-8"))
    outputs = {e["path"]: e for e in manifest["outputs"]}
    on_disk = {name for name in _files(first) if name not in ("manifest.json", "build.log")}
    assert set(outputs) == on_disk
    for name, entry in outputs.items():
        data = (first / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
    assert {e["path"] for e in manifest["inputs"]["raw"]} == {p.name for p in raw.iterdir()}
    assert "study.toml" in {e["path"] for e in manifest["inputs"]["specs"]}
    assert manifest["synthetic"] is True and "SYNTHETIC" in manifest["notice"]
    assert manifest["settings"]["conventions"]["treatment_emergent_days"] == 28
    assert set(manifest["tool"]) >= {"sub", "pandas", "pyreadstat"}
    assert str(raw) not in (first / "manifest.json").read_text(encoding="utf-8")  # no absolute path


def test_run_log_reconciles_and_times_each_stage(two_builds):
    _, first, _ = two_builds
    log = (first / "build.log").read_text(encoding="utf-8")
    for expected in ("SYNTHETIC", "reconciliation of raw rows", "AE      <- AE", "ADaM derived",
                     "define.xml written", "report written"):
        assert expected in log


def test_source_date_epoch_sets_creation_times(tmp_path, two_builds, monkeypatch):
    raw, first, _ = two_builds
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1500000000")  # 2017-07-14T02:40:00
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(out)]).exit_code == 0
    assert b'CreationDateTime="2017-07-14T02:40:00"' in (out / "sdtm" / "define.xml").read_bytes()
    assert '"datasetJSONCreationDateTime":"2017-07-14T02:40:00"' in (out / "sdtm" / "dm.json").read_text()
    assert (out / "sdtm" / "dm.xpt").read_bytes() != (first / "sdtm" / "dm.xpt").read_bytes()


def test_built_defines_are_valid_against_the_reference_schemas(two_builds):
    """SDTM define against define2-1-0.xsd, ADaM (with Analysis Results Metadata) against the ARM
    schema, both from ../shared/reference; every dataset beside them is in the rendered HTML."""
    from lxml import etree

    from .conftest import REFERENCE, require_reference

    _, first, _ = two_builds
    schemas = require_reference(REFERENCE / "define-xml-2.1" / "schema")
    for folder, xsd in (("sdtm", schemas / "cdisc-define-2.1" / "define2-1-0.xsd"),
                        ("adam", schemas / "cdisc-arm-1.0" / "arm1-0-0.xsd")):
        schema = etree.XMLSchema(etree.parse(str(xsd)))
        document = etree.parse(str(first / folder / "define.xml"), etree.XMLParser(resolve_entities=False, no_network=True))
        assert schema.validate(document), schema.error_log.filter_from_errors()[:3]
        html = (first / folder / "define.html").read_text(encoding="utf-8")
        for xpt in (first / folder).glob("*.xpt"):
            assert xpt.stem.upper() in html
    adam = (first / "adam" / "define.xml").read_text(encoding="utf-8")
    assert 'OID="RD.T-05"' in adam or "T-05" in adam
    assert "AnalysisResultDisplays" in adam and "T-EFF-01" in adam
    # only submission documents beside the defines: no study settings or CSV tables
    assert not (first / "adam" / "label_terms.csv").exists() and not (first / "adam" / "study.toml").exists()
