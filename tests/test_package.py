"""The package documents: the annotated CRF, the reviewer's guides, and define.xml links that stay
inside their folder (issue 15).

Unit tests work on the specs and on tiny PDFs; the acceptance tests build the bundled study once.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from submission.cli import main
from submission.errors import SubError
from submission.package.annotations import (
    annotation_text,
    check_annotations,
    load_annotated_crf,
)
from submission.package.conformance import (
    check_explanations,
    load_explanations,
    unexplained,
)
from submission.package.documents import href_problem, package_spec
from submission.package.pdf import (
    Bookmark,
    read_bookmarks,
    reproducible,
    with_bookmarks,
)
from submission.raw.layout import load_layout
from submission.spec import load_spec
from submission.study import load_settings
from submission.tlf.render import poppler_available, soffice_path

from .conftest import REFERENCE, SPECS, edit_csv, require_reference

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1",
      "xlink": "http://www.w3.org/1999/xlink", "arm": "http://www.cdisc.org/ns/arm/v1.0"}
CREATED = dt.datetime(2016, 12, 7)
needs_libreoffice = pytest.mark.skipif(soffice_path() is None or not poppler_available(),
                                       reason="needs LibreOffice and poppler-utils (apt-get install "
                                              "libreoffice-writer poppler-utils)")


# --------------------------------------------------------------------------- the annotations (specs/acrf.csv)

def test_every_raw_field_of_the_study_is_annotated():
    crf = load_annotated_crf(SPECS)
    layout = load_layout(SPECS / "raw")
    assert crf.unannotated == []
    assert [f.code for f in crf.forms] == list(layout.forms)


def test_annotation_text_follows_the_acrf_conventions():
    spec = load_spec(SPECS / "sdtm")
    assert annotation_text(spec, "VS", "VSORRES", "WC.VS.VSTESTCD.HEIGHT") == "VSORRES when VSTESTCD = HEIGHT"
    assert annotation_text(spec, "SUPPDM", "QVAL", "WC.SUPPDM.QNAM.RECRTRT") == "QVAL when QNAM = RECRTRT in SUPPDM"
    assert annotation_text(spec, "MH", "MHTERM", "WC.MH.MHCAT.OTHER") == "MHTERM when MHCAT is not PRIMARY DIAGNOSIS"
    assert annotation_text(spec, "AE", "AESEV", None) == "AESEV"


def _check(specs: Path) -> list:
    return check_annotations(specs, load_layout(specs / "raw"), load_spec(specs / "sdtm"))[1]


def test_an_annotation_must_name_a_variable_of_the_sdtm_spec(specs_copy):
    edit_csv(specs_copy / "acrf.csv", lambda rows: rows.append(
        {"form": "AE", "column": "SEV", "dataset": "AE", "variable": "AESEVX", "where": "", "text": ""}))
    problems = _check(specs_copy)
    assert [(p.column, p.value) for p in problems] == [("variable", "AESEVX")]
    assert problems[0].file.endswith("acrf.csv") and problems[0].row is not None


def test_a_personal_identifier_may_only_be_not_submitted(specs_copy):
    def edit(rows):
        for row in rows:
            if (row["form"], row["column"]) == ("DEMOG", "BRTHDAT"):
                row.update(dataset="DM", variable="AGE", text="")
    edit_csv(specs_copy / "acrf.csv", edit)
    problems = _check(specs_copy)
    assert any("personal identifier" in p.message for p in problems)


def test_a_collected_variable_without_annotation_is_a_problem(specs_copy):
    edit_csv(specs_copy / "acrf.csv", lambda rows: rows.__setitem__(
        slice(None), [r for r in rows if (r["dataset"], r["variable"]) != ("AE", "AESEV")]))
    problems = _check(specs_copy)
    assert [(p.value, "Collected" in p.message) for p in problems] == [("AE.AESEV", True)]


def test_annotations_are_ascii_and_a_raw_field_must_exist(specs_copy):
    edit_csv(specs_copy / "acrf.csv", lambda rows: rows.extend([
        {"form": "AE", "column": "NOSUCH", "dataset": "AE", "variable": "AESEV", "where": "", "text": ""},
        {"form": "AE", "column": "SEV", "dataset": "", "variable": "", "where": "", "text": "중증도"}]))
    messages = {p.column: p.message for p in _check(specs_copy)}
    assert "no such field" in messages["column"] and "ASCII" in messages["text"]


def test_spec_check_reports_annotation_and_explanation_problems(specs_copy):
    edit_csv(specs_copy / "acrf.csv", lambda rows: rows.append(
        {"form": "NOFORM", "column": "X", "dataset": "", "variable": "", "where": "", "text": "NOT SUBMITTED"}))
    edit_csv(specs_copy / "conformance.csv", lambda rows: rows.append(
        {"rule": "SUB-NOPE-001", "dataset": "", "variable": "", "explanation": "x"}))
    result = CliRunner().invoke(main, ["spec", "check", "--specs", str(specs_copy)])
    assert result.exit_code == 1
    assert "acrf.csv" in result.output and "NOFORM" in result.output and "SUB-NOPE-001" in result.output


def test_a_spec_row_split_by_an_unquoted_comma_is_a_problem(specs_copy):
    path = specs_copy / "adam" / "Comments.csv"
    path.write_text(path.read_text(encoding="utf-8") + "COM.EXTRA,one, two, three, four\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["spec", "check", "--specs", str(specs_copy)])
    assert result.exit_code == 1 and "unquoted" in result.output and "Comments.csv" in result.output


def test_explanations_cover_findings_by_rule_dataset_and_variable(specs_copy):
    from submission.qc.rules import Finding

    edit_csv(specs_copy / "conformance.csv", lambda rows: rows.__setitem__(slice(None), [
        {"rule": "SUB-IG-002", "dataset": "LB", "variable": "", "explanation": "any LB variable"}]))
    explanations = load_explanations(specs_copy)
    lb = Finding("SUB-IG-002", "warning", "LB", "LBNRIND", 1, "SDTMIG 3.4 LB expects LBNRIND")
    vs = Finding("SUB-IG-002", "warning", "VS", "VISITNUM", 1, "SDTMIG 3.4 VS expects VISITNUM")
    assert unexplained([lb, vs], explanations) == [vs]
    assert check_explanations(SPECS)[1] == []


# --------------------------------------------------------------------------- define.xml documents

@pytest.mark.parametrize("href", ["../report/re-examination-report.docx", "/abs/acrf.pdf", "https://x.org/sap.pdf",
                                  "study.toml", "label_terms.csv"])
def test_a_document_outside_the_folder_or_not_a_submission_kind_is_refused(href):
    assert href_problem(href) is not None


def test_package_spec_refuses_a_link_that_leaves_the_folder(tmp_path, specs_copy):
    (specs_copy / "adam" / "Documents.csv").write_text("ID,Title,Href\nREPORT,Report,../report/r.docx\n")
    with pytest.raises(SubError) as err:
        package_spec(load_spec(specs_copy / "adam"), tmp_path, "ADaM")
    assert err.value.problems[0].column == "Href" and "folder" in err.value.problems[0].message


def test_package_spec_links_the_generated_documents_it_finds(tmp_path):
    (tmp_path / "adrg.pdf").write_bytes(b"%PDF-1.4\n")
    spec = package_spec(load_spec(SPECS / "adam"), tmp_path, "ADaM")
    assert {d.id: d.href for d in spec.documents.values()} == {"ADRG": "adrg.pdf"}
    assert package_spec(load_spec(SPECS / "adam"), tmp_path / "empty", "ADaM").documents == {}


def test_the_acrf_docx_stands_in_without_libreoffice(tmp_path, monkeypatch):
    """Without LibreOffice the aCRF is a .docx (build.log says so) and define cites its planned pages."""
    from submission.package.stage import write_acrf_stage
    from submission.tlf import render

    monkeypatch.setattr(render, "soffice_path", lambda: None)
    log: list[str] = []
    write_acrf_stage(tmp_path, SPECS, load_settings(SPECS), log)
    assert (tmp_path / "acrf.docx").is_file() and not (tmp_path / "acrf.pdf").exists()
    assert any("LibreOffice is not installed" in line for line in log)
    spec = package_spec(load_spec(SPECS / "sdtm"), tmp_path, "SDTM")
    assert spec.documents["ACRF"].href == "acrf.docx"
    collected = [v for v in spec.variables if v.origin == "Collected"]
    assert collected and all(v.pages for v in collected)
    assert spec.variable("DM", "SEX").pages == "4"  # cover, index, ENROL, DEMOG


# --------------------------------------------------------------------------- PDF bookmarks and bytes

def _tiny_pdf(pages: int = 2) -> bytes:
    """A minimal PDF as LibreOffice writes them (classic xref table), with one bookmark per page."""
    objects = {1: b"<</Type/Catalog/Pages 2 0 R/Outlines 3 0 R>>"}
    kids = " ".join(f"{10 + i} 0 R" for i in range(pages)).encode()
    objects[2] = b"<</Type/Pages/Kids[" + kids + b"]/Count %d>>" % pages
    objects[3] = b"<</Count %d/First 20 0 R/Last %d 0 R>>" % (pages, 20 + pages - 1)
    for i in range(pages):
        objects[10 + i] = b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>"
        link = (b"/Prev %d 0 R" % (19 + i) if i else b"") + (b"/Next %d 0 R" % (21 + i) if i + 1 < pages else b"")
        objects[20 + i] = (b"<</Title<FEFF" + f"Page {i + 1}".encode("utf-16-be").hex().upper().encode()
                           + b">/Dest[%d 0 R/XYZ 0 800 0]/Parent 3 0 R" % (10 + i) + link + b">>")
    objects[30] = b"<</Producer(LibreOffice 7.4)/CreationDate(D:20261206212207Z')>>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += (b"%010d 00000 n \n" % offsets[number]) if number in offsets else b"0000000000 65535 f \n"
    out += (b"trailer\n<</Size %d/Root 1 0 R/Info 30 0 R/ID [ <%s>\n<%s> ]>>\nstartxref\n%d\n%%%%EOF\n"
            % (size, b"A" * 32, b"A" * 32, xref))
    return bytes(out)


def test_bookmarks_are_read_and_replaced_by_an_incremental_update(tmp_path):
    data = _tiny_pdf()
    found = read_bookmarks(data)
    assert [b.title for b in found] == ["Page 1", "Page 2"]
    tree = [Bookmark("Forms", children=[Bookmark("F1", found[0].dest)]),
            Bookmark("Domains", children=[Bookmark("DM", children=[Bookmark("F2", found[1].dest)], open=False)])]
    updated = with_bookmarks(data, tree)
    assert updated.startswith(data)  # the original bytes stay; the update is appended
    again = read_bookmarks(updated)
    assert [(b.title, [c.title for c in b.children]) for b in again] == [("Forms", ["F1"]), ("Domains", ["DM"])]
    assert again[1].children[0].children[0].dest == found[1].dest
    if poppler_available():
        import subprocess

        path = tmp_path / "t.pdf"
        path.write_bytes(updated)
        xml = subprocess.run(["pdftohtml", "-xml", "-stdout", "-i", "-q", str(path)], capture_output=True,
                             text=True, check=True).stdout
        assert re.findall(r'<item page="(\d)">(\w+)</item>', xml) == [("1", "Forms"), ("1", "F1"), ("2", "Domains"),
                                                                     ("2", "DM"), ("2", "F2")]


def test_reproducible_sets_the_creation_time_and_a_content_id_in_place():
    data = with_bookmarks(_tiny_pdf(), [Bookmark("Only", b"[10 0 R/Fit]")])
    fixed = reproducible(data, CREATED)
    assert len(fixed) == len(data)
    assert b"/CreationDate(D:20161207000000Z')" in fixed
    ids = re.findall(rb"/ID \[ ?<([0-9A-F]{32})>\s*<([0-9A-F]{32})>", fixed)
    assert len(ids) == 2 and len({i for pair in ids for i in pair}) == 1 and ids[0][0] != b"A" * 32
    other = data.replace(b"D:20261206212207", b"D:20301231235959")
    assert reproducible(other, CREATED) == fixed


# --------------------------------------------------------------------------- the bundled build

@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("package") / "out"
    result = CliRunner().invoke(main, ["build", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _tree(path: Path):
    return etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))


def test_the_acrf_has_one_section_per_raw_form(bundled):
    crf = load_annotated_crf(SPECS)
    found = list((bundled / "sdtm").glob("acrf.*"))
    assert [p.name for p in found] == (["acrf.pdf"] if soffice_path() else ["acrf.docx"])
    if found[0].suffix != ".pdf" or not poppler_available():
        return
    from submission.tlf.render import pdf_page_texts

    pages = pdf_page_texts(found[0])
    squash = [re.sub(r"\s+", "", t) for t in pages]
    starts = [next(i for i, t in enumerate(squash, 1) if re.sub(r"\s+", "", form.title) in t) for form in crf.forms]
    assert starts == sorted(starts) and len(set(starts)) == len(crf.forms)
    assert all("Annotated Case Report Form" in t for t in pages[1:])  # the page header
    assert all(t.isascii() for t in pages)


@needs_libreoffice
def test_acrf_bookmarks_list_the_forms_and_the_domains(bundled):
    import subprocess

    crf = load_annotated_crf(SPECS)
    xml = subprocess.run(["pdftohtml", "-xml", "-stdout", "-i", "-q", str(bundled / "sdtm" / "acrf.pdf")],
                         capture_output=True, text=True, check=True).stdout
    titles = re.findall(r'<item page="\d+">([^<]+)</item>', xml)
    forms_at = titles.index("Forms")
    domains_at = titles.index("Domains")
    assert titles[forms_at + 1:forms_at + 1 + len(crf.forms)] == [f.title for f in crf.forms]
    domain_titles = [t for t in titles[domains_at + 1:] if re.match(r"^[A-Z]{2,6} \(", t)]
    assert [t.split(" ")[0] for t in domain_titles] == crf.domains()


def test_every_collected_origin_cites_an_acrf_page_that_carries_its_variable(bundled):
    """Acceptance: each SDTM variable (and value-level item) with Origin Collected cites the aCRF,
    and the text of each cited page names the variable."""
    tree = _tree(bundled / "sdtm" / "define.xml")
    acrf = tree.xpath("//def:AnnotatedCRF/def:DocumentRef/@leafID", namespaces=NS)
    assert acrf == ["LF.ACRF"]
    href = tree.xpath("//def:leaf[@ID='LF.ACRF']/@xlink:href", namespaces=NS)[0]
    collected = tree.xpath("//odm:ItemDef[def:Origin/@Type='Collected']", namespaces=NS)
    assert len(collected) > 80
    cited = {}
    for item in collected:
        refs = item.xpath("def:Origin/def:DocumentRef[@leafID='LF.ACRF']/def:PDFPageRef", namespaces=NS)
        assert len(refs) == 1, item.get("OID")
        assert refs[0].get("Type") == "PhysicalRef"
        cited[item.get("OID")] = (item.get("Name"), [int(p) for p in refs[0].get("PageRefs").split()])
    if not href.endswith(".pdf") or not poppler_available():
        return
    from submission.tlf.render import pdf_page_texts

    pages = pdf_page_texts(bundled / "sdtm" / href)
    for oid, (name, numbers) in cited.items():
        for number in numbers:
            assert re.search(rf"\b{name}\b", pages[number - 1]), f"{oid}: {name} is not on page {number}"


def test_every_leaf_of_both_defines_resolves_inside_its_folder(bundled):
    for folder in ("sdtm", "adam"):
        base = (bundled / folder).resolve()
        leaves = _tree(bundled / folder / "define.xml").xpath("//def:leaf/@xlink:href", namespaces=NS)
        assert leaves
        for href in leaves:
            target = (base / href).resolve()
            assert target.parent == base and target.is_file(), f"{folder}/define.xml links {href}"
    adam = _tree(bundled / "adam" / "define.xml")
    assert adam.xpath("//def:SupplementalDoc/def:DocumentRef/@leafID", namespaces=NS) == ["LF.ADRG"]
    assert set(adam.xpath("//arm:AnalysisResult/@AnalysisReason", namespaces=NS)) == {"SPECIFIED IN PROTOCOL"}
    sdtm = _tree(bundled / "sdtm" / "define.xml")
    assert sdtm.xpath("//def:SupplementalDoc/def:DocumentRef/@leafID", namespaces=NS) == ["LF.CSDRG"]
    assert not list((bundled / "adam").glob("*.toml")) and not list((bundled / "adam").glob("*.csv"))


def test_both_defines_pass_the_reference_schemas_and_odmlib(bundled):
    """The Define-XML 2.1 and ARM schemas of ../shared/reference, then odmlib (its own copies of the
    schemas, its object model and its OID checks): tools the project did not write."""
    schemas = require_reference(REFERENCE / "define-xml-2.1" / "schema")
    for folder, xsd in (("sdtm", schemas / "cdisc-define-2.1" / "define2-1-0.xsd"),
                        ("adam", schemas / "cdisc-arm-1.0" / "arm1-0-0.xsd")):
        schema = etree.XMLSchema(etree.parse(str(xsd)))
        assert schema.validate(_tree(bundled / folder / "define.xml")), schema.error_log.filter_from_errors()[:3]
    odmlib = pytest.importorskip("odmlib", reason="odmlib is in the test extra: pip install '.[test]'")
    from odmlib import define_loader, loader, odm_parser

    for folder, standard, version in (("sdtm", "define", "2.1"), ("adam", "arm", "1.0-define2.1")):
        path = str(bundled / folder / "define.xml")
        odm_parser.ODMSchemaValidator(standard=standard, version=version).validate_file(path)  # raises when invalid
        odm = loader.ODMLoader(define_loader.XMLDefineLoader(model_package="define_2_1",
                                                             ns_uri="http://www.cdisc.org/ns/def/v2.1"))
        odm.open_odm_document(path)
        mdv = odm.MetaDataVersion()
        assert len(mdv.ItemGroupDef) == len(list((bundled / folder).glob("*.xpt")))
        assert {leaf.href for leaf in mdv.leaf} <= {p.name for p in (bundled / folder).iterdir()}
    assert odmlib


def test_no_value_level_metadata_for_a_category_without_records(bundled):
    from submission.xpt import read_xpt

    ds = read_xpt(bundled / "sdtm" / "ds.xpt").frame
    assert "OTHER EVENT" not in set(ds["DSCAT"])  # the bundled study has no death outside a disposition
    text = (bundled / "sdtm" / "define.xml").read_text(encoding="utf-8")
    assert "WC.DS.DSCAT.OTHEVENT" not in text and "IT.DS.DSTERM.DSCAT.OTHEVENT" not in text
    assert "WC.DS.DSCAT.DISPEVNT" in text


def test_visitnum_marks_the_planned_baseline(bundled):
    from submission.xpt import read_xpt

    for name in ("VS", "LB"):
        frame = read_xpt(bundled / "sdtm" / f"{name.lower()}.xpt").frame
        assert set(frame["VISITNUM"]) == {1} and set(frame["VISIT"]) == {"BASELINE"}
    rs = read_xpt(bundled / "sdtm" / "rs.xpt").frame
    baseline = rs["RSCAT"].isin(["ECOG", "ISS"])
    assert set(rs.loc[baseline, "VISITNUM"]) == {1} and rs.loc[~baseline, "VISITNUM"].isna().all()


def test_lb_carries_the_laboratory_reference_ranges_and_the_indicator(bundled):
    from submission.xpt import read_xpt

    lb = read_xpt(bundled / "sdtm" / "lb.xpt").frame
    ranged = lb[lb["LBSTNRLO"].notna() & lb["LBSTNRHI"].notna() & lb["LBSTRESN"].notna()]
    assert len(ranged) > 0.8 * len(lb) and lb["LBSTNRLO"].isna().any()  # some laboratories give no range
    expected = ranged.apply(lambda r: "LOW" if r.LBSTRESN < r.LBSTNRLO else "HIGH" if r.LBSTRESN > r.LBSTNRHI
                            else "NORMAL", axis=1)
    assert (ranged["LBNRIND"] == expected).all()
    assert lb.loc[lb["LBSTNRLO"].isna() & lb["LBSTNRHI"].isna(), "LBNRIND"].isna().all()
    neut = ranged[ranged["LBTESTCD"] == "NEUT"].iloc[0]
    assert float(neut.LBORNRLO) / 1000 == pytest.approx(neut.LBSTNRLO)  # /uL -> 10^9/L, like the result


def test_validate_reports_no_warning_the_csdrg_does_not_explain(bundled):
    """Acceptance: every error and warning of `sub validate` on the bundled build has the sponsor's
    explanation, and the reviewer's guides show it."""
    from submission.qc.validate import validate

    report = validate(bundled, SPECS)
    explanations = load_explanations(SPECS)
    assert unexplained(report.findings, explanations) == []
    assert report.count("error") == 0
    guide = bundled / "sdtm" / ("csdrg.pdf" if soffice_path() else "csdrg.docx")
    if guide.suffix == ".pdf" and poppler_available():
        from submission.tlf.render import pdf_text

        text = re.sub(r"\s+", " ", pdf_text(guide))
        for f in report.findings:
            if f.dataset in {"VS", "LB", "RS", "DM"} and f.severity == "warning":
                assert f.rule in text


@needs_libreoffice
def test_the_guides_follow_the_phuse_section_order(bundled):
    from submission.tlf.render import pdf_text

    expected = {
        "sdtm/csdrg.pdf": ["1 Introduction", "1.3 Study Data Standards and Dictionary Inventory", "2 Protocol Description",
                           "3 Subject Data Description", "3.2 Annotated CRF", "3.3 Data Set Specific Information",
                           "4 Data Conformance Summary", "4.2 Issues Summary"],
        "adam/adrg.pdf": ["1 Introduction", "2 Protocol Description", "3 Analysis Considerations",
                          "3.6 Imputation and Derivation Conventions", "4 Analysis Data Creation",
                          "5 Analysis Dataset Descriptions", "6 Data Conformance Summary", "Appendix A: Label Terms"],
    }
    for name, headings in expected.items():
        text = re.sub(r"\s+", " ", pdf_text(bundled / name))
        positions = [text.find(h) for h in headings]
        assert -1 not in positions and positions == sorted(positions), (name, positions)
        assert "SYNTHETIC DATA" in text and text.isascii()
    adrg = re.sub(r"\s+", " ", pdf_text(bundled / "adam" / "adrg.pdf"))
    assert "Treatment-emergent: onset from the first dose to 28 days after the last dose" in adrg
    csdrg = re.sub(r"\s+", " ", pdf_text(bundled / "sdtm" / "csdrg.pdf"))
    assert "DEMOG.BRTHDAT" in csdrg and "personal identifier" in csdrg


def test_build_log_names_the_package_documents(bundled):
    log = (bundled / "build.log").read_text(encoding="utf-8")
    assert "annotated CRF written: sdtm/acrf." in log
    assert "reviewer's guides written: sdtm/csdrg." in log and "adam/adrg." in log
    assert "0 of them without an explanation" in log


def test_manifest_notes_the_rendered_pdfs(bundled):
    import json

    manifest = json.loads((bundled / "manifest.json").read_text(encoding="utf-8"))
    notes = {e["path"]: e.get("note") for e in manifest["outputs"]}
    for name in ("sdtm/acrf.pdf", "sdtm/csdrg.pdf", "adam/adrg.pdf"):
        if name in notes:
            assert "LibreOffice" in notes[name]
    assert notes.get("sdtm/define.xml") is None


def test_a_finding_without_explanation_is_listed_as_such(bundled):
    import zipfile
    from io import BytesIO

    from submission.package.guides import build_csdrg, gather_inputs
    from submission.qc.rules import Finding

    inputs = gather_inputs(bundled, SPECS, load_settings(SPECS), CREATED)
    inputs.report.findings.append(Finding("SUB-IG-002", "warning", "VS", "VSPOS", 1, "SDTMIG 3.4 VS expects VSPOS"))
    data = build_csdrg(inputs).rd.to_bytes()
    with zipfile.ZipFile(BytesIO(data)) as docx:
        xml = docx.read("word/document.xml").decode("utf-8")
    text = re.sub(r"<[^>]+>", "", xml)
    assert "SDTMIG 3.4 VS expects VSPOS" in text and "No explanation given by the sponsor." in text
    assert "1 warning(s)" in text and "0 of 1 finding(s) carry an explanation" in text
