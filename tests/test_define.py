"""define.xml: written from a tiny spec and data, schema-valid, rendered, read back, checked against XPT."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from submission.attributes import apply_spec
from submission.dataset import Column, Dataset
from submission.define.consistency import check_consistency
from submission.define.read import read_define
from submission.define.validate import (
    check_define,
    render_html,
    schema_path,
    schema_problems,
    stylesheet_path,
    validate_define,
)
from submission.define.write import build_define, mdv_oid, to_bytes, write_define_folder
from submission.errors import SubError
from submission.io import build_timestamp
from submission.spec import SHEETS, load_spec
from submission.study import load_settings
from submission.xpt import write_xpt

from .conftest import SHARED, SPECS, needs_reference as _needs_reference, write_csv

CREATED = dt.datetime(2024, 3, 1, 9, 30, 0)
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1",
      "arm": "http://www.cdisc.org/ns/arm/v1.0", "xlink": "http://www.w3.org/1999/xlink"}
REFERENCE = SHARED / "reference" / "define-xml-2.1"
REFERENCE_XSD = REFERENCE / "schema" / "cdisc-define-2.1" / "define2-1-0.xsd"
REFERENCE_ARM_XSD = REFERENCE / "schema" / "cdisc-arm-1.0" / "arm1-0-0.xsd"
EXAMPLES = REFERENCE / "examples"
PILOT_DEFINES = sorted((SHARED / "reference" / "cdisc-pilot" / "define").glob("*/define.xml"))
needs_reference = _needs_reference(REFERENCE_XSD)


# --------------------------------------------------------------------------- tiny specs

def _var(ds, order, name, label, **extra):
    row = {"Order": order, "Dataset": ds, "Variable": name, "Label": label, "Data Type": "text",
           "Mandatory": "Yes", "Origin": "Collected", "Source": "Investigator", "Role": "Identifier"}
    row.update(extra)
    return row


def _cl(ident, name, terms, *, code=None, cdisc=True):
    """Codelist rows; terms are (term, NCI code, decode)."""
    return [{"ID": ident, "Name": name, "NCI Codelist Code": code or "", "Data Type": "text",
             "Terminology": "CDISC/NCI" if cdisc else "", "Order": i, "Term": t, "NCI Term Code": c or "",
             "Decoded Value": d or ""} for i, (t, c, d) in enumerate(terms, start=1)]


def sdtm_sheets() -> dict[str, list[dict]]:
    derived = {"Origin": "Derived", "Source": ""}
    return {
        "Datasets": [
            {"Dataset": "DM", "Label": "Demographics", "Class": "SPECIAL PURPOSE", "Structure": "One record per subject",
             "Key Variables": "STUDYID, USUBJID", "Standard": "SDTMIG 3.4", "Repeating": "No",
             "Reference Data": "No", "Comment": "COM.DM"},
            {"Dataset": "AE", "Label": "Adverse Events", "Class": "EVENTS", "Structure": "One record per adverse event per subject",
             "Key Variables": "STUDYID, USUBJID, AESEQ", "Standard": "SDTMIG 3.4", "Repeating": "Yes",
             "Reference Data": "No"},
            {"Dataset": "RS", "Label": "Disease Response", "Class": "FINDINGS",
             "Structure": "One record per response assessment per subject", "Key Variables": "STUDYID, USUBJID, RSTESTCD, RSSEQ",
             "Standard": "SDTMIG 3.4", "Repeating": "Yes", "Reference Data": "No"},
            {"Dataset": "CM", "Label": "Concomitant Medications", "Class": "INTERVENTIONS",
             "Structure": "One record per medication per subject", "Key Variables": "STUDYID, USUBJID",
             "Standard": "SDTMIG 3.4", "Repeating": "Yes", "Reference Data": "No"},
        ],
        "Variables": [
            _var("DM", 1, "STUDYID", "Study Identifier", Origin="Protocol", Source=""),
            _var("DM", 2, "USUBJID", "Unique Subject Identifier", Method="MT.USUBJID", **derived),
            _var("DM", 3, "AGE", "Age", **{"Data Type": "integer", "Role": "Record Qualifier", "Pages": "3"}),
            _var("DM", 4, "SEX", "Sex", Codelist="SEX", Role="Record Qualifier", Pages="3"),
            _var("DM", 5, "HEIGHT", "Height", **{"Data Type": "float", "Role": "Record Qualifier", "Mandatory": "No",
                                                 "Format": "5.1"}),
            _var("AE", 1, "STUDYID", "Study Identifier", Origin="Protocol", Source=""),
            _var("AE", 2, "USUBJID", "Unique Subject Identifier", Method="MT.USUBJID", **derived),
            _var("AE", 3, "AESEQ", "Sequence Number", **{"Data Type": "integer", "Method": "MT.SEQ", **derived}),
            _var("AE", 4, "AETERM", "Reported Term for the Adverse Event", Role="Topic", Pages="5 7"),
            _var("AE", 5, "AEDECOD", "Dictionary-Derived Term", Role="Synonym Qualifier", Origin="Assigned",
                 Source="Sponsor", Codelist="MEDDRA"),
            _var("AE", 6, "AESER", "Serious Event", Codelist="NY", Role="Record Qualifier", Pages="5-6",
                 Comment="COM.AESER"),
            _var("AE", 7, "AESTDTC", "Start Date/Time of Adverse Event", Role="Timing", Mandatory="No", Pages="5"),
            _var("RS", 1, "STUDYID", "Study Identifier", Origin="Protocol", Source=""),
            _var("RS", 2, "USUBJID", "Unique Subject Identifier", Method="MT.USUBJID", **derived),
            _var("RS", 3, "RSSEQ", "Sequence Number", **{"Data Type": "integer", "Method": "MT.SEQ", **derived}),
            _var("RS", 4, "RSTESTCD", "Assessment Short Name", Role="Topic", Origin="Assigned", Source="Sponsor",
                 Codelist="RSTESTCD"),
            _var("RS", 5, "RSORRES", "Result or Finding in Original Units", Role="Result Qualifier", Pages="9"),
            _var("CM", 1, "STUDYID", "Study Identifier", Origin="Protocol", Source=""),
            _var("CM", 2, "USUBJID", "Unique Subject Identifier", Method="MT.USUBJID", **derived),
        ],
        "ValueLevel": [
            {"Order": 1, "Dataset": "RS", "Variable": "RSORRES", "Where Clause": "WC.RS.RSTESTCD.OVRLRESP",
             "Label": "Overall Response", "Data Type": "text", "Mandatory": "Yes", "Codelist": "RESP",
             "Origin": "Collected", "Source": "Investigator", "Pages": "9"},
            {"Order": 2, "Dataset": "RS", "Variable": "RSORRES", "Where Clause": "WC.RS.RSTESTCD.MPROTEIN",
             "Label": "M-protein", "Data Type": "text", "Mandatory": "No", "Origin": "Collected",
             "Source": "Investigator"},
        ],
        "WhereClauses": [
            {"ID": "WC.RS.RSTESTCD.OVRLRESP", "Dataset": "RS", "Variable": "RSTESTCD", "Comparator": "EQ", "Value": "OVRLRESP"},
            {"ID": "WC.RS.RSTESTCD.MPROTEIN", "Dataset": "RS", "Variable": "RSTESTCD", "Comparator": "EQ", "Value": "MPROTEIN"},
        ],
        "Codelists": [
            *_cl("NY", "No Yes Response", [("N", "C49487", "No"), ("Y", "C49488", "Yes"), ("U", "C17998", "Unknown")],
                 code="C66742"),
            *_cl("SEX", "Sex", [("F", "C16576", None), ("M", "C20197", None)], code="C66731"),
            *_cl("RSTESTCD", "Response Test Code", [("OVRLRESP", "C96613", None), ("MPROTEIN", None, None)], code="C96782"),
            *_cl("RESP", "IMWG Response", [(t, None, None) for t in ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE")],
                 cdisc=False),
        ],
        "Dictionaries": [{"ID": "MEDDRA", "Name": "MedDRA", "Data Type": "text", "Dictionary": "MedDRA", "Version": "19.1"}],
        "Methods": [
            {"ID": "MT.USUBJID", "Name": "USUBJID", "Type": "Computation", "Description": "STUDYID-SUBJID",
             "Expression Context": "Python 3.11", "Expression Code": "f'{STUDYID}-{SUBJID}'"},
            {"ID": "MT.SEQ", "Name": "Sequence", "Type": "Computation", "Description": "Numbered within subject",
             "Document": "CSDRG", "Pages": "4"},
            {"ID": "MT.UNUSED", "Name": "Unused", "Type": "Computation", "Description": "Not referred to"},
        ],
        "Comments": [
            {"ID": "COM.DM", "Description": "One record per enrolled subject"},
            {"ID": "COM.AESER", "Description": "As ticked on the CRF", "Document": "CSDRG", "Pages": "2-3"},
            {"ID": "COM.UNUSED", "Description": "Not referred to"},
        ],
        "Documents": [
            {"ID": "ACRF", "Title": "Annotated CRF", "Href": "acrf.pdf"},
            {"ID": "CSDRG", "Title": "Study Data Reviewer's Guide", "Href": "csdrg.pdf"},
        ],
    }


def sdtm_frames() -> dict[str, pd.DataFrame]:
    return {
        "DM": pd.DataFrame({"STUDYID": ["S1"] * 3, "USUBJID": ["S1-001", "S1-002", "S1-003"], "AGE": [61, 70, 55],
                            "SEX": ["M", "F", "M"], "HEIGHT": [170.5, 160.25, None]}),
        "AE": pd.DataFrame({"STUDYID": ["S1"] * 3, "USUBJID": ["S1-001", "S1-001", "S1-002"], "AESEQ": [1, 2, 1],
                            "AETERM": ["Headache", "Nausea and vomiting", "Rash"],
                            "AEDECOD": ["Headache", "Vomiting", "Rash"], "AESER": ["N", "Y", "N"],
                            "AESTDTC": ["2015-01-02", "2015-02", None]}),
        "RS": pd.DataFrame({"STUDYID": ["S1"] * 3, "USUBJID": ["S1-001", "S1-002", "S1-002"], "RSSEQ": [1, 1, 2],
                            "RSTESTCD": ["OVRLRESP", "OVRLRESP", "MPROTEIN"],
                            "RSORRES": ["VGPR", "PR", "0.8 g/dL serum"]}),
    }


def adam_sheets() -> dict[str, list[dict]]:
    def var(ds, order, name, label, **extra):
        row = {"Order": order, "Dataset": ds, "Variable": name, "Label": label, "Data Type": "text",
               "Mandatory": "Yes", "Origin": "Predecessor", "Predecessor": f"DM.{name}"}
        row.update(extra)
        return row

    derived = {"Origin": "Derived", "Predecessor": ""}
    return {
        "Datasets": [
            {"Dataset": "ADSL", "Label": "Subject-Level Analysis Dataset", "Class": "SUBJECT LEVEL ANALYSIS DATASET",
             "Structure": "One record per subject", "Key Variables": "STUDYID, USUBJID", "Standard": "ADaMIG 1.3",
             "Repeating": "No", "Reference Data": "No"},
            {"Dataset": "ADAE", "Label": "Adverse Events Analysis Dataset", "Class": "OCCURRENCE DATA STRUCTURE",
             "SubClass": "ADVERSE EVENT", "Structure": "One record per adverse event per subject",
             "Key Variables": "STUDYID, USUBJID, AESEQ", "Standard": "ADaMIG 1.3", "Repeating": "Yes",
             "Reference Data": "No"},
        ],
        "Variables": [
            var("ADSL", 1, "STUDYID", "Study Identifier"),
            var("ADSL", 2, "USUBJID", "Unique Subject Identifier"),
            var("ADSL", 3, "SAFFL", "Safety Population Flag", Codelist="NY", Method="MT.ADSL.SAFFL", **derived),
            var("ADSL", 4, "TRTSDT", "Date of First Exposure to Treatment", Format="DATE9.", Method="MT.ADSL.TRTSDT",
                **{"Data Type": "integer", **derived}),
            var("ADAE", 1, "STUDYID", "Study Identifier", Predecessor="AE.STUDYID"),
            var("ADAE", 2, "USUBJID", "Unique Subject Identifier", Predecessor="AE.USUBJID"),
            var("ADAE", 3, "AESEQ", "Sequence Number", Predecessor="AE.AESEQ", **{"Data Type": "integer"}),
            var("ADAE", 4, "AEDECOD", "Dictionary-Derived Term", Predecessor="AE.AEDECOD", Codelist="MEDDRA"),
            var("ADAE", 5, "TRTEMFL", "Treatment Emergent Analysis Flag", Codelist="NY", Mandatory="No",
                Method="MT.ADAE.TRTEMFL", **derived),
        ],
        "ValueLevel": [],
        "WhereClauses": [
            {"ID": "WC.ADSL.SAFFL.Y", "Dataset": "ADSL", "Variable": "SAFFL", "Comparator": "EQ", "Value": "Y"},
            {"ID": "WC.ADAE.TRTEMFL.Y", "Dataset": "ADAE", "Variable": "TRTEMFL", "Comparator": "EQ", "Value": "Y"},
        ],
        "Codelists": _cl("NY", "No Yes Response", [("N", "C49487", "No"), ("Y", "C49488", "Yes")], code="C66742"),
        "Dictionaries": [{"ID": "MEDDRA", "Name": "MedDRA", "Data Type": "text", "Dictionary": "MedDRA", "Version": "19.1"}],
        "Methods": [
            {"ID": "MT.ADSL.SAFFL", "Name": "SAFFL", "Type": "Computation", "Description": "Y if dosed and followed up"},
            {"ID": "MT.ADSL.TRTSDT", "Name": "TRTSDT", "Type": "Computation", "Description": "First EX.EXSTDTC"},
            {"ID": "MT.ADAE.TRTEMFL", "Name": "TRTEMFL", "Type": "Computation",
             "Description": "Y if the onset is from the first dose to 28 days after the last"},
        ],
        "Comments": [],
        "Documents": [{"ID": "SAP", "Title": "Statistical Analysis Plan", "Href": "sap.pdf"}],
    }


def adam_frames() -> dict[str, pd.DataFrame]:
    return {
        "ADSL": pd.DataFrame({"STUDYID": ["S1"] * 2, "USUBJID": ["S1-001", "S1-002"], "SAFFL": ["Y", "Y"],
                              "TRTSDT": pd.to_datetime(["2015-01-01", "2015-01-15"])}),
        "ADAE": pd.DataFrame({"STUDYID": ["S1"] * 2, "USUBJID": ["S1-001", "S1-002"], "AESEQ": [1, 1],
                              "AEDECOD": ["Headache", "Rash"], "TRTEMFL": ["Y", None]}),
    }


ARM = [
    {"ID": "T14.3.1", "Title": "Overview of adverse events (safety set)", "Document": "SAP", "Pages": "12",
     "results": [{"ID": "T14.3.1.R1", "Description": "Subjects with any treatment-emergent adverse event",
                  "Variables": "ADAE.AEDECOD", "Reason": "SPECIFIED IN SAP", "Purpose": "PRIMARY OUTCOME MEASURE",
                  "Selection Criteria": "WC.ADSL.SAFFL.Y, WC.ADAE.TRTEMFL.Y",
                  "Join Comment": "ADAE joined with ADSL by USUBJID",
                  "Documentation": "Number and percent of subjects, and number of events",
                  "Documentation Refs": "SAP: 12-13", "Programming Context": "Python 3.11",
                  "Programming Code": "ae_overview(adsl, adae)"}]},
    {"Display": "T14.3.1", "ID": "T14.3.1.R2", "Description": "Events by SOC and PT", "Variables": "ADAE.AEDECOD",
     "Reason": "SPECIFIED IN SAP", "Purpose": "PRIMARY OUTCOME MEASURE", "Selection Criteria": "WC.ADAE.TRTEMFL.Y"},
]


def write_spec_folder(folder: Path, sheets: dict[str, list[dict]]) -> Path:
    """The sheets as CSV files, columns in the P21 workbook's order (as in specs/)."""
    from submission.define.workbook import SHEET_COLUMNS

    for model in SHEETS:
        write_csv(folder / f"{model.sheet}.csv", SHEET_COLUMNS[model.sheet], sheets.get(model.sheet, []))
    return folder


def datasets_of(spec, frames: dict[str, pd.DataFrame]) -> dict[str, Dataset]:
    return {name: apply_spec(frame, spec, name) for name, frame in frames.items()}


@pytest.fixture(scope="module")
def settings():
    return load_settings(SPECS)


@pytest.fixture
def sdtm(tmp_path):
    spec = load_spec(write_spec_folder(tmp_path / "sdtm", sdtm_sheets()))
    return spec, datasets_of(spec, sdtm_frames())


@pytest.fixture
def adam(tmp_path):
    spec = load_spec(write_spec_folder(tmp_path / "adam", adam_sheets()))
    return spec, datasets_of(spec, adam_frames())


def _xpath(tree, path: str):
    return tree.getroot().xpath(path, namespaces=NS)


# --------------------------------------------------------------------------- writing

def test_sdtm_define_is_schema_valid_and_references_resolve(sdtm, settings):
    spec, data = sdtm
    tree = build_define(spec, data, settings, standard="SDTM", created=CREATED)
    assert validate_define(to_bytes(tree)) == []


@needs_reference
def test_sdtm_define_is_valid_against_cdiscs_own_schema_copy(sdtm, settings):
    spec, data = sdtm
    tree = build_define(spec, data, settings, standard="SDTM", created=CREATED)
    assert schema_problems(tree, schema=REFERENCE_XSD) == []


def test_define_carries_the_spec_and_the_data(sdtm, settings):
    spec, data = sdtm
    tree = build_define(spec, data, settings, standard="sdtm", created=CREATED)
    root = tree.getroot()
    assert root.getprevious().target == "xml-stylesheet" and 'href="define2-1.xsl"' in root.getprevious().text
    assert root.get("CreationDateTime") == "2024-03-01T09:30:00"
    assert root.get("{http://www.cdisc.org/ns/def/v2.1}Context") == "Submission"
    assert _xpath(tree, "//odm:StudyName/text()") == [settings.study.studyid]
    assert _xpath(tree, "//odm:MetaDataVersion/@OID") == [mdv_oid(settings, "SDTM")]
    ct = _xpath(tree, "//def:Standard[@Type='CT']")[0]
    assert ct.get("Version") == settings.dictionaries.sdtm_ct_version.isoformat()
    assert _xpath(tree, "//def:Standard[@Type='IG']/@Version") == ["3.4"]
    # only the datasets that have data, in the spec's order; CM has none
    assert _xpath(tree, "//odm:ItemGroupDef/@OID") == ["IG.DM", "IG.AE", "IG.RS"]
    ae = _xpath(tree, "//odm:ItemGroupDef[@OID='IG.AE']")[0]
    assert ae.get("Purpose") == "Tabulation" and ae.get("Repeating") == "Yes"
    assert ae.xpath("def:leaf/@xlink:href", namespaces=NS) == ["ae.xpt"]
    refs = ae.xpath("odm:ItemRef", namespaces=NS)
    assert [r.get("ItemOID") for r in refs][:4] == ["IT.AE.STUDYID", "IT.AE.USUBJID", "IT.AE.AESEQ", "IT.AE.AETERM"]
    assert [r.get("OrderNumber") for r in refs] == [str(i) for i in range(1, 8)]
    assert refs[2].get("KeySequence") == "3" and refs[2].get("MethodOID") == "MT.SEQ"
    assert refs[3].get("Role") == "Topic" and refs[3].get("KeySequence") is None
    # lengths from the data: the longest value present; numerics 8
    item = {i.get("OID"): i for i in _xpath(tree, "//odm:ItemDef")}
    assert item["IT.AE.AETERM"].get("Length") == str(len("Nausea and vomiting"))
    assert item["IT.AE.AESEQ"].get("Length") == "8"
    assert item["IT.DM.HEIGHT"].get("SignificantDigits") == "2"
    assert item["IT.DM.HEIGHT"].get("{http://www.cdisc.org/ns/def/v2.1}DisplayFormat") == "5.1"
    pages = item["IT.AE.AESER"].xpath("def:Origin/def:DocumentRef/def:PDFPageRef", namespaces=NS)[0]
    assert (pages.get("FirstPage"), pages.get("LastPage")) == ("5", "6")
    assert item["IT.AE.AETERM"].xpath("def:Origin/def:DocumentRef/def:PDFPageRef/@PageRefs", namespaces=NS) == ["5 7"]
    assert item["IT.AE.AESER"].get("{http://www.cdisc.org/ns/def/v2.1}CommentOID") == "COM.AESER"
    # codelists: decoded -> CodeListItem, only the terms in the data; no decode -> EnumeratedItem
    ny = _xpath(tree, "//odm:CodeList[@OID='CL.NY']")[0]
    assert ny.xpath("odm:CodeListItem/@CodedValue", namespaces=NS) == ["N", "Y"]
    assert ny.xpath("odm:CodeListItem/odm:Decode/odm:TranslatedText/text()", namespaces=NS) == ["No", "Yes"]
    assert ny.xpath("odm:Alias/@Name", namespaces=NS) == ["C66742"]
    sex = _xpath(tree, "//odm:CodeList[@OID='CL.SEX']")[0]
    assert sex.xpath("odm:EnumeratedItem/@CodedValue", namespaces=NS) == ["F", "M"]
    meddra = _xpath(tree, "//odm:CodeList[@OID='CL.MEDDRA']/odm:ExternalCodeList")[0]
    assert (meddra.get("Dictionary"), meddra.get("Version")) == ("MedDRA", "19.1")
    # only what is referred to
    assert _xpath(tree, "//odm:MethodDef/@OID") == ["MT.USUBJID", "MT.SEQ"]
    assert _xpath(tree, "//def:CommentDef/@OID") == ["COM.DM", "COM.AESER"]
    assert _xpath(tree, "//def:AnnotatedCRF/def:DocumentRef/@leafID") == ["LF.ACRF"]
    assert _xpath(tree, "//def:SupplementalDoc/def:DocumentRef/@leafID") == ["LF.CSDRG"]
    expression = _xpath(tree, "//odm:MethodDef[@OID='MT.USUBJID']/odm:FormalExpression")[0]
    assert (expression.get("Context"), expression.text) == ("Python 3.11", "f'{STUDYID}-{SUBJID}'")


def test_value_level_metadata_uses_the_records_its_where_clause_selects(sdtm, settings):
    spec, data = sdtm
    tree = build_define(spec, data, settings, standard="SDTM", created=CREATED)
    vl = _xpath(tree, "//def:ValueListDef[@OID='VL.RS.RSORRES']/odm:ItemRef")
    assert [r.get("ItemOID") for r in vl] == ["IT.RS.RSORRES.RSTESTCD.OVRLRESP", "IT.RS.RSORRES.RSTESTCD.MPROTEIN"]
    assert vl[0].xpath("def:WhereClauseRef/@WhereClauseOID", namespaces=NS) == ["WC.RS.RSTESTCD.OVRLRESP"]
    item = {i.get("OID"): i for i in _xpath(tree, "//odm:ItemDef")}
    assert item["IT.RS.RSORRES"].get("Length") == str(len("0.8 g/dL serum"))
    assert item["IT.RS.RSORRES.RSTESTCD.OVRLRESP"].get("Length") == "4"  # VGPR
    assert item["IT.RS.RSORRES"].xpath("def:ValueListRef/@ValueListOID", namespaces=NS) == ["VL.RS.RSORRES"]
    check = _xpath(tree, "//def:WhereClauseDef[@OID='WC.RS.RSTESTCD.OVRLRESP']/odm:RangeCheck")[0]
    assert check.get("{http://www.cdisc.org/ns/def/v2.1}ItemOID") == "IT.RS.RSTESTCD"
    assert check.xpath("odm:CheckValue/text()", namespaces=NS) == ["OVRLRESP"]
    resp = _xpath(tree, "//odm:CodeList[@OID='CL.RESP']")[0]
    assert resp.xpath("odm:EnumeratedItem/@CodedValue", namespaces=NS) == ["VGPR", "PR"]
    assert resp.get("{http://www.cdisc.org/ns/def/v2.1}IsNonStandard") == "Yes"
    # a sponsor term added to a CDISC list is marked as an extended value
    rstestcd = _xpath(tree, "//odm:CodeList[@OID='CL.RSTESTCD']/odm:EnumeratedItem[@CodedValue='MPROTEIN']")[0]
    assert rstestcd.get("{http://www.cdisc.org/ns/def/v2.1}ExtendedValue") == "Yes"


def test_two_builds_give_the_same_bytes_and_source_date_epoch_sets_the_time(sdtm, settings, monkeypatch):
    spec, data = sdtm
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    created = build_timestamp(dt.datetime(2030, 1, 1))
    first = to_bytes(build_define(spec, data, settings, standard="SDTM", created=created))
    second = to_bytes(build_define(spec, data, settings, standard="SDTM", created=build_timestamp(dt.datetime.now())))
    assert first == second
    assert b'CreationDateTime="2023-11-14T22:13:20"' in first
    assert first.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<?xml-stylesheet type="text/xsl" href="define2-1.xsl"?>')


def test_spec_and_data_that_disagree_are_reported_together(sdtm, settings):
    spec, data = sdtm
    ae = data["AE"]
    extra = ae.frame.assign(AEXTRA="x")
    data["AE"] = Dataset("AE", ae.label, extra, [*ae.columns, Column("AEXTRA", "Extra")], ae.keys)
    data["XX"] = Dataset("XX", "Unknown", pd.DataFrame({"A": [1]}), [Column("A", "A", "integer")])
    with pytest.raises(SubError) as err:
        build_define(spec, data, settings, standard="SDTM", created=CREATED)
    messages = {(p.value, p.message) for p in err.value.problems}
    assert ("AE.AEXTRA", "variable is in the data but not in the spec") in messages
    assert ("XX", "dataset has data but is not in the spec") in messages


def test_crf_pages_need_an_annotated_crf_document(tmp_path, settings):
    sheets = sdtm_sheets()
    sheets["Documents"] = [d for d in sheets["Documents"] if d["ID"] != "ACRF"]
    spec = load_spec(write_spec_folder(tmp_path / "sdtm", sheets))
    with pytest.raises(SubError) as err:
        build_define(spec, datasets_of(spec, sdtm_frames()), settings, standard="SDTM", created=CREATED)
    assert any(p.column == "Pages" and "annotated CRF" in p.message for p in err.value.problems)


def test_adam_define_with_analysis_results_validates_with_the_arm_schema(adam, settings):
    spec, data = adam
    tree = build_define(spec, data, settings, standard="ADaM", created=CREATED, arm=ARM)
    assert validate_define(tree) == []
    assert _xpath(tree, "//odm:ItemGroupDef/@Purpose") == ["Analysis", "Analysis"]
    assert _xpath(tree, "//def:Class[@Name='OCCURRENCE DATA STRUCTURE']/def:SubClass/@Name") == ["ADVERSE EVENT"]
    assert {s.get("PublishingSet") for s in _xpath(tree, "//def:Standard[@Type='CT']")} == {"ADaM", "SDTM"}
    trtsdt = _xpath(tree, "//odm:ItemDef[@OID='IT.ADSL.TRTSDT']")[0]
    assert (trtsdt.get("DataType"), trtsdt.get("Length")) == ("integer", "8")
    predecessor = _xpath(tree, "//odm:ItemDef[@OID='IT.ADAE.AESEQ']/def:Origin")[0]
    assert predecessor.get("Type") == "Predecessor"
    assert predecessor.xpath("odm:Description/odm:TranslatedText/text()", namespaces=NS) == ["AE.AESEQ"]
    results = _xpath(tree, "//arm:ResultDisplay[@OID='RD.T14.3.1']/arm:AnalysisResult")
    assert [r.get("OID") for r in results] == ["AR.T14.3.1.R1", "AR.T14.3.1.R2"]
    datasets = results[0].xpath("arm:AnalysisDatasets/arm:AnalysisDataset", namespaces=NS)
    assert [d.get("ItemGroupOID") for d in datasets] == ["IG.ADAE", "IG.ADSL"]
    assert datasets[1].xpath("def:WhereClauseRef/@WhereClauseOID", namespaces=NS) == ["WC.ADSL.SAFFL.Y"]
    assert _xpath(tree, "//def:WhereClauseDef/@OID") == ["WC.ADSL.SAFFL.Y", "WC.ADAE.TRTEMFL.Y"]
    # without the ARM extension the same document is not valid Define-XML 2.1
    assert schema_problems(tree, arm=False)


@needs_reference
def test_adam_define_with_arm_is_valid_against_cdiscs_arm_schema_copy(adam, settings):
    spec, data = adam
    tree = build_define(spec, data, settings, standard="ADaM", created=CREATED, arm=ARM)
    assert schema_problems(tree, schema=REFERENCE_ARM_XSD) == []


def test_analysis_results_can_come_from_the_specs_arm_sheets(tmp_path, adam, settings):
    from submission.define.workbook import ARM_SHEETS as COLUMNS
    from submission.define.write import read_arm_sheets

    spec, data = adam
    display, nested = ARM[0], ARM[0]["results"][0]
    write_csv(spec.folder / "Analysis Displays.csv", COLUMNS["Analysis Displays"], [display])
    write_csv(spec.folder / "Analysis Results.csv", COLUMNS["Analysis Results"], [{**nested, "Display": "T14.3.1"}, ARM[1]])
    arm = read_arm_sheets(spec.folder)
    tree = build_define(spec, data, settings, standard="ADaM", created=CREATED, arm=arm)
    assert validate_define(tree) == []
    assert _xpath(tree, "//arm:AnalysisResult/@OID") == ["AR.T14.3.1.R1", "AR.T14.3.1.R2"]
    assert read_define(tree).analysis_displays == ("RD.T14.3.1",)


def test_analysis_results_that_do_not_resolve_are_reported(adam, settings):
    spec, data = adam
    bad = [{"ID": "T1", "Title": "", "results": [{"ID": "R1", "Description": "x", "Reason": "SPECIFIED IN SAP",
                                                   "Purpose": "PRIMARY OUTCOME MEASURE", "Variables": "AEDECOD",
                                                   "Selection Criteria": "WC.NOPE"}]}]
    with pytest.raises(SubError) as err:
        build_define(spec, data, settings, standard="ADaM", created=CREATED, arm=bad)
    columns = {p.column for p in err.value.problems}
    assert {"Title", "Variables", "Selection Criteria"} <= columns


# --------------------------------------------------------------------------- validation and rendering

def test_an_invalid_define_fails_with_the_schemas_messages(sdtm, settings):
    spec, data = sdtm
    tree = build_define(spec, data, settings, standard="SDTM", created=CREATED)
    group = _xpath(tree, "//odm:ItemGroupDef[@OID='IG.AE']")[0]
    del group.attrib["{http://www.cdisc.org/ns/def/v2.1}Structure"]
    _xpath(tree, "//odm:ItemDef[@OID='IT.AE.AESEQ']")[0].set("DataType", "number")
    problems = validate_define(to_bytes(tree))
    assert any("Structure" in p.message for p in problems)
    assert any("DataType" in p.message for p in problems)
    assert all(p.message.startswith("schema:") and p.row for p in problems)
    with pytest.raises(SubError) as err:
        check_define(to_bytes(tree))
    assert "not valid Define-XML 2.1" in err.value.summary


def test_a_dangling_oid_is_reported(sdtm, settings):
    spec, data = sdtm
    tree = build_define(spec, data, settings, standard="SDTM", created=CREATED)
    _xpath(tree, "//odm:ItemRef[@ItemOID='IT.AE.AESER']")[0].set("MethodOID", "MT.NOPE")
    problems = validate_define(tree)
    assert [(p.value, p.message) for p in problems] == [("MT.NOPE", "ItemRef refers to a MethodDef that is not in the document")]


def test_external_xml_is_parsed_without_entities_or_dtds(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    evil = tmp_path / "evil.xml"
    evil.write_text(f'<?xml version="1.0"?><!DOCTYPE ODM [<!ENTITY x SYSTEM "file://{secret}">]>'
                    '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"><Study OID="S"><GlobalVariables>'
                    '<StudyName>&x;</StudyName></GlobalVariables></Study></ODM>')
    with pytest.raises(SubError) as err:  # a DTD is refused outright (submission/safexml.py)
        read_define(evil)
    assert err.value.problems[0].file == str(evil) and "DTD" in err.value.problems[0].message
    assert "TOP SECRET" not in str(err.value)


def test_write_define_folder_writes_xml_html_and_stylesheet(tmp_path, sdtm, settings):
    spec, data = sdtm
    written = write_define_folder(tmp_path / "define", spec, data, settings, "SDTM", CREATED)
    assert [p.name for p in written] == ["define.xml", "define.html", "define2-1.xsl"]
    html = (tmp_path / "define" / "define.html").read_text(encoding="utf-8")
    for name, label in (("DM", "Demographics"), ("AE", "Adverse Events"), ("RS", "Disease Response")):
        assert f"{name.lower()}.xpt" in html and label in html
    assert (tmp_path / "define" / "define2-1.xsl").read_bytes() == stylesheet_path().read_bytes()


def test_write_define_folder_without_html_writes_the_same_define(tmp_path, sdtm, settings):
    spec, data = sdtm
    write_define_folder(tmp_path / "full", spec, data, settings, "SDTM", CREATED)
    written = write_define_folder(tmp_path / "bare", spec, data, settings, "SDTM", CREATED, html=False)
    assert [p.name for p in written] == ["define.xml", "define2-1.xsl"]
    assert not (tmp_path / "bare" / "define.html").exists()
    for name in ("define.xml", "define2-1.xsl"):
        assert (tmp_path / "bare" / name).read_bytes() == (tmp_path / "full" / name).read_bytes()


def test_nothing_is_written_when_the_define_is_invalid(tmp_path, settings):
    sheets = sdtm_sheets()
    sheets["Datasets"][1]["SubClass"] = "NOT A SUBCLASS"
    spec = load_spec(write_spec_folder(tmp_path / "sdtm", sheets))
    with pytest.raises(SubError) as err:
        write_define_folder(tmp_path / "define", spec, datasets_of(spec, sdtm_frames()), settings, "SDTM", CREATED)
    assert any("SubClass" in p.message or "NOT A SUBCLASS" in p.message for p in err.value.problems)
    assert not (tmp_path / "define").exists()


@needs_reference
@pytest.mark.parametrize("example", ["defineV21-SDTM.xml", "defineV21-ADaM.xml"])
def test_cdiscs_examples_are_valid_and_render(example):
    path = EXAMPLES / example
    assert validate_define(path) == []
    html = render_html(path).decode("utf-8")
    for name in read_define(path).datasets:
        assert name in html


def test_the_schema_files_come_from_defineutils():
    assert schema_path().name == "define2-1-0.xsd" and schema_path().is_file()
    assert schema_path(arm=True).name == "arm1-0-0.xsd" and schema_path(arm=True).is_file()
    assert "defineutils" in str(stylesheet_path())


# --------------------------------------------------------------------------- reading

def _count(path: Path, tag: str) -> int:
    return len(etree.parse(str(path)).getroot().xpath(f"//odm:{tag}", namespaces=NS))


@needs_reference
@pytest.mark.parametrize("example", ["defineV21-SDTM.xml", "defineV21-ADaM.xml"])
def test_reader_reads_cdiscs_examples_without_loss(example):
    path = EXAMPLES / example
    define = read_define(path)
    assert define.define_version == "2.1.0"
    assert len(define.datasets) == _count(path, "ItemGroupDef")
    assert len(define.items) == _count(path, "ItemDef")
    assert len(define.codelists) == _count(path, "CodeList")
    assert len(define.methods) == _count(path, "MethodDef")
    tree = etree.parse(str(path)).getroot()
    assert len(define.comments) == len(tree.xpath("//def:CommentDef", namespaces=NS))
    assert len(define.value_lists) == len(tree.xpath("//def:ValueListDef", namespaces=NS))
    assert len(define.where_clauses) == len(tree.xpath("//def:WhereClauseDef", namespaces=NS))
    refs = tree.xpath("//odm:ItemGroupDef/odm:ItemRef", namespaces=NS)
    assert sum(len(ds.variables) for ds in define.datasets.values()) == len(refs)
    terms = tree.xpath("//odm:CodeList/odm:CodeListItem | //odm:CodeList/odm:EnumeratedItem", namespaces=NS)
    assert sum(len(cl.terms) for cl in define.codelists.values()) == len(terms)
    for ds in define.datasets.values():
        assert ds.klass and (ds.standard or ds.non_standard) and ds.variables


@_needs_reference(SHARED / "reference" / "cdisc-pilot" / "define")
@pytest.mark.parametrize("path", PILOT_DEFINES, ids=lambda p: p.parent.name)
def test_reader_reads_define_xml_2_0(path):
    define = read_define(path)
    assert define.define_version == "2.0.0"
    assert len(define.datasets) == _count(path, "ItemGroupDef")
    assert len(define.items) == _count(path, "ItemDef")
    assert len(define.codelists) == _count(path, "CodeList")
    for ds in define.datasets.values():
        assert ds.klass and ds.standard and ds.variables


def test_reader_gives_back_what_the_writer_wrote(sdtm, settings):
    spec, data = sdtm
    define = read_define(to_bytes(build_define(spec, data, settings, standard="SDTM", created=CREATED)))
    assert list(define.datasets) == ["DM", "AE", "RS"]
    ae = define.datasets["AE"]
    assert [v.name for v in ae.variables] == [v.variable for v in spec.variables_of("AE")]
    assert ae.keys == ["STUDYID", "USUBJID", "AESEQ"] and ae.standard == "SDTMIG 3.4" and ae.archive == "ae.xpt"
    aeser = ae.variable("AESER")
    assert aeser.item.codelist == "CL.NY" and aeser.item.origin_pages[0].pages == "5-6"
    assert define.codelists["CL.NY"].values == ["N", "Y"]
    assert define.codelists["CL.MEDDRA"].dictionary == "MedDRA"
    assert define.methods["MT.SEQ"].documents[0].leaf_id == "LF.CSDRG"
    assert define.value_lists["VL.RS.RSORRES"].items[0].where_clauses == ("WC.RS.RSTESTCD.OVRLRESP",)


def test_reader_refuses_a_file_that_is_not_a_define(tmp_path):
    path = tmp_path / "x.xml"
    path.write_text("<html/>")
    with pytest.raises(SubError, match="not a define.xml"):
        read_define(path)
    path.write_text("<ODM")
    with pytest.raises(SubError, match="not well-formed"):
        read_define(path)


# --------------------------------------------------------------------------- consistency with the XPT files

@pytest.fixture
def package(tmp_path, sdtm, settings):
    spec, data = sdtm
    folder = tmp_path / "package"
    write_define_folder(folder, spec, data, settings, "SDTM", CREATED)
    for name, ds in data.items():
        write_xpt(ds, folder / f"{name.lower()}.xpt", CREATED)
    return folder, data


def test_a_consistent_package_has_no_findings(package):
    folder, _ = package
    assert check_consistency(folder) == []


def test_consistency_catches_a_variable_missing_from_define(package):
    folder, data = package
    ae = data["AE"]
    frame = ae.frame.assign(AEBODSYS="Nervous system disorders")
    write_xpt(Dataset("AE", ae.label, frame, [*ae.columns, Column("AEBODSYS", "Body System or Organ Class")]),
              folder / "ae.xpt", CREATED)
    problems = check_consistency(folder)
    assert [(Path(p.file).name, p.column, p.message) for p in problems] == [
        ("ae.xpt", "AEBODSYS", "variable is not in define.xml (AE)")]


def test_consistency_catches_values_outside_their_codelist(package):
    folder, data = package
    ae, rs = data["AE"], data["RS"]
    write_xpt(Dataset("AE", ae.label, ae.frame.assign(AESER=["N", "X", "N"]), ae.columns), folder / "ae.xpt", CREATED)
    frame = rs.frame.copy()
    frame.loc[frame["USUBJID"].eq("S1-002") & frame["RSTESTCD"].eq("OVRLRESP"), "RSORRES"] = "GREAT"
    write_xpt(Dataset("RS", rs.label, frame, rs.columns), folder / "rs.xpt", CREATED)
    found = {(p.column, p.value) for p in check_consistency(folder) if "codelist" in p.message}
    # GREAT breaks the value-level codelist; the M-protein result has no codelist
    assert found == {("AESER", "X"), ("RSORRES", "GREAT")}


def test_consistency_catches_files_lengths_and_types_that_disagree(package):
    folder, data = package
    dm = data["DM"]
    longer = dm.frame.assign(SEX=["M", "F", "MM"])
    write_xpt(Dataset("DM", dm.label, longer, dm.columns), folder / "dm.xpt", CREATED)
    (folder / "rs.xpt").unlink()
    write_xpt(Dataset("SUPPAE", "Supplemental Qualifiers for AE", pd.DataFrame({"QNAM": ["X"]}),
                      [Column("QNAM", "Qualifier Variable Name")]), folder / "suppae.xpt", CREATED)
    messages = {(Path(p.file).name, p.column, p.message.split(" (")[0]) for p in check_consistency(folder)}
    assert ("dm.xpt", "SEX", "length in the file differs from define.xml Length 1") in messages
    assert ("dm.xpt", "SEX", "value is not in codelist CL.SEX") in messages
    assert ("define.xml", None, f"dataset RS is in define.xml but rs.xpt is not in {folder}") in messages
    assert ("suppae.xpt", None, "dataset file is not described in define.xml") in messages
