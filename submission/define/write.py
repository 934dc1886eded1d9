"""Define-XML 2.1 from the spec and the data: one document per standard (SDTM or ADaM).

The spec says what each variable is (label, type, origin, method, codelist); the data says
which datasets and variables exist, their order, and their lengths (a character length is the
longest value present, as in the XPT file). Every OID is derived from a name in the spec, so the
same inputs give the same bytes:

    IG.AE  IT.AE.AETERM  IT.VS.VSORRES.<where clause>  VL.VS.VSORRES  CL.NY  MT.<id>  COM.<id>
    WC.<id>  LF.AE (dataset file)  LF.<document id>  STD.SDTMIG.3.4  STD.CT.SDTM.<version>

A spec ID that already carries its prefix (`MT.AE.AESEQ`) is used as it is.

Analysis Results Metadata (ADaM only) come as a list of dicts keyed by the P21 workbook's
column names: displays (`ID, Title, Document, Pages`) with their results either nested under
`results` or given as separate dicts that name their `Display`. A result's columns:
  Description, Reason, Purpose        the text and the ARM reason/purpose (required)
  Variables                           analysis variables as DATASET.VARIABLE, comma-separated
  Selection Criteria                  where-clause IDs of the WhereClauses sheet, one per dataset
  Join Comment                        a Comments ID, or the text of the comment
  Documentation, Documentation Refs   text; document IDs separated by ';', each optionally
                                      followed by ':' and pages ("SAP: 12-14")
  Programming Context, Programming Code, Programming Document, Pages
                                      the code's context, the code, a document ID and its pages
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from lxml import etree

from .. import __version__
from ..dataset import Dataset
from ..errors import Problem, SubError
from ..spec import Codelist, DictionarySpec, Spec, ValueLevelSpec, _VariableBase
from ..study import StudySettings
from ._values import FrameTexts, decimals

NS_ODM = "http://www.cdisc.org/ns/odm/v1.3"
NS_DEF = "http://www.cdisc.org/ns/def/v2.1"
NS_XLINK = "http://www.w3.org/1999/xlink"
NS_ARM = "http://www.cdisc.org/ns/arm/v1.0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DEFINE_VERSION = "2.1.0"
STYLESHEET = "define2-1.xsl"
NUMERIC_LENGTH = 8
DATE_TYPES = ("date", "datetime", "time", "partialDate", "partialTime", "partialDatetime", "incompleteDatetime",
              "durationDatetime", "intervalDatetime")
# CDISC/NCI codelists published in the ADaM CT package (all others an ADaM define uses come from SDTM CT).
ADAM_CT_CODELISTS = frozenset({"C81223", "C81224"})  # DATEFL, DTYPE
ACRF_IDS = ("acrf", "blankcrf")

StandardName = Literal["SDTM", "ADaM"]


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def O(name: str) -> str:  # noqa: E743 - ODM element/attribute in the default namespace
    return _q(NS_ODM, name)


def D(name: str) -> str:
    return _q(NS_DEF, name)


def A(name: str) -> str:
    return _q(NS_ARM, name)


def prefixed(prefix: str, ident: str) -> str:
    """`MT` + `AE.AESEQ` -> `MT.AE.AESEQ`; an ID that already has the prefix stays as it is."""
    return ident if ident.startswith(prefix + ".") else f"{prefix}.{ident}"


def leaf_id(ident: str) -> str:
    """A def:leaf ID (an XML ID, so letters, digits, '.', '-' and '_' only)."""
    return prefixed("LF", re.sub(r"[^A-Za-z0-9._-]", "_", ident))


def normalize_standard(standard: str) -> StandardName:
    low = standard.strip().lower()
    if low == "sdtm":
        return "SDTM"
    if low == "adam":
        return "ADaM"
    raise ValueError(f"standard must be SDTM or ADaM, not {standard!r}")


def study_oid(settings: StudySettings) -> str:
    """The Study OID; Dataset-JSON's `studyOID` must be the same (build.write_datasets uses the study ID)."""
    return settings.study.studyid


def mdv_oid(settings: StudySettings, standard: str) -> str:
    """The MetaDataVersion OID, the same as Dataset-JSON's `metaDataVersionOID` (MDV.<study>.SDTM|ADaM)."""
    return f"MDV.{settings.study.studyid}.{normalize_standard(standard)}"


def _text(parent: etree._Element, tag: str, text: str, **attrib: str) -> etree._Element:
    """`tag` holding one `TranslatedText xml:lang="en"`."""
    el = etree.SubElement(parent, tag, attrib)
    tt = etree.SubElement(el, O("TranslatedText"))
    tt.set(XML_LANG, "en")
    tt.text = text
    return el


def _set(el: etree._Element, name: str, value: object) -> None:
    if value is not None and value != "":
        el.set(name, str(value))


def page_ref(parent: etree._Element, pages: str | None) -> None:
    """def:PDFPageRef from a P21 Pages cell: "12", "12 15", "12-14", "12, 15-16" or named destinations."""
    if not pages or not pages.strip():
        return
    tokens = [t for t in re.split(r"[,\s]+", pages.strip()) if t]
    single = re.fullmatch(r"(\d+)\s*-\s*(\d+)", pages.strip())
    ref = etree.SubElement(parent, D("PDFPageRef"))
    if single:
        ref.set("FirstPage", single.group(1))
        ref.set("LastPage", single.group(2))
        ref.set("Type", "PhysicalRef")
        return
    numbers: list[str] = []
    for token in tokens:
        span = re.fullmatch(r"(\d+)-(\d+)", token)
        if span and int(span.group(1)) <= int(span.group(2)):
            numbers += [str(n) for n in range(int(span.group(1)), int(span.group(2)) + 1)]
        elif token.isdigit():
            numbers.append(token)
        else:
            numbers = []
            break
    if numbers:
        ref.set("PageRefs", " ".join(numbers))
        ref.set("Type", "PhysicalRef")
    else:
        ref.set("PageRefs", " ".join(tokens))
        ref.set("Type", "NamedDestination")


class _Builder:
    def __init__(self, spec: Spec, datasets: Mapping[str, Dataset], settings: StudySettings,
                 standard: StandardName, created: dt.datetime, codelist_terms: str,
                 values: Mapping[str, FrameTexts] | None = None):
        self.spec = spec
        self.data = datasets
        self.values = dict(values or {})  # dataset name -> its columns as texts, shared with the caller
        self.settings = settings
        self.standard = standard
        self.created = created
        self.codelist_terms = codelist_terms
        self.problems: list[Problem] = []
        self.used_methods: list[str] = []
        self.used_comments: list[str] = []
        self.used_codelists: list[str] = []
        self.used_where: list[str] = []
        self.extra_comments: dict[str, str] = {}  # OID -> text, for ARM join comments given as text
        self.codelist_values: dict[str, set[str]] = {}  # codelist ID -> values present in the data
        self.acrf = self._acrf_document()

    # ------------------------------------------------------------------ helpers
    def problem(self, sheet: str, row: object | None, column: str | None, value: object, message: str) -> None:
        line = getattr(row, "line", None)
        self.problems.append(Problem(str(self.spec.folder / f"{sheet}.csv"), line, column,
                                     None if value is None else str(value), message))

    def texts_of(self, name: str) -> FrameTexts:
        """The texts of dataset `name`'s columns, each column converted once for the whole document."""
        frame = self.data[name].frame
        found = self.values.get(name)
        if found is None or found.frame is not frame:
            found = self.values[name] = FrameTexts(frame)
        return found

    @staticmethod
    def _use(bucket: list[str], ident: str) -> None:
        if ident not in bucket:
            bucket.append(ident)

    def method_oid(self, ident: str | None) -> str | None:
        if not ident:
            return None
        self._use(self.used_methods, ident)
        return prefixed("MT", ident)

    def comment_oid(self, ident: str | None, sheet: str, row: object | None) -> str | None:
        if not ident:
            return None
        if ident not in self.spec.comments:
            self.problem(sheet, row, "Comment", ident, "comment is not in Comments")
            return None
        self._use(self.used_comments, ident)
        return prefixed("COM", ident)

    def codelist_oid(self, ident: str | None) -> str | None:
        if not ident:
            return None
        self._use(self.used_codelists, ident)
        return prefixed("CL", ident)

    def _acrf_document(self):
        for doc in self.spec.documents.values():
            name = Path(doc.href).stem.lower()
            if doc.id.lower() in ACRF_IDS or name in ACRF_IDS or "annotated" in doc.title.lower():
                return doc
        return None

    def document_ref(self, parent: etree._Element, ident: str, pages: str | None, sheet: str, row: object) -> None:
        if ident not in self.spec.documents:
            self.problem(sheet, row, "Document", ident, "document is not in Documents")
            return
        ref = etree.SubElement(parent, D("DocumentRef"), leafID=leaf_id(ident))
        page_ref(ref, pages)

    # ------------------------------------------------------------------ datasets
    def dataset_names(self) -> list[str]:
        spec_names = list(self.spec.datasets)
        for name in self.data:
            if name not in self.spec.datasets:
                self.problem("Datasets", None, "Dataset", name, "dataset has data but is not in the spec")
        names = [n for n in spec_names if n in self.data]
        wanted = "SDTMIG" if self.standard == "SDTM" else "ADaMIG"
        for name in names:
            ds = self.spec.datasets[name]
            if not ds.standard.startswith(wanted):
                self.problem("Datasets", ds, "Standard", ds.standard, f"not a {self.standard} dataset")
        if not names:
            self.problems.append(Problem(str(self.spec.folder / "Datasets.csv"), None, None, None,
                                         f"no dataset of the spec has data: nothing to define for {self.standard}"))
        for name in names:
            data = self.data[name]
            spec_vars = [v.variable for v in self.spec.variables_of(name)]
            columns = [c.name for c in data.columns]
            for col in columns:
                if col not in spec_vars:
                    self.problem("Variables", None, "Variable", f"{name}.{col}", "variable is in the data but not in the spec")
            for v in self.spec.variables_of(name):
                if v.variable not in columns:
                    self.problem("Variables", v, "Variable", f"{name}.{v.variable}", "variable is in the spec but not in the data")
                    continue
                numeric = data.column(v.variable).numeric
                if numeric != v.is_numeric:
                    kind = data.column(v.variable).kind
                    self.problem("Variables", v, "Data Type", v.data_type,
                                 f"{name}.{v.variable} holds {kind} values in the data")
        return names

    # ------------------------------------------------------------------ standards
    def standards(self, names: list[str]) -> tuple[etree._Element, dict[str, str], dict[str, str]]:
        el = etree.Element(D("Standards"))
        ig_oids: dict[str, str] = {}
        for name in names:
            label = self.spec.datasets[name].standard
            if label not in ig_oids:
                std_name, _, version = label.rpartition(" ")
                oid = f"STD.{std_name}.{version}"
                ig_oids[label] = oid
                etree.SubElement(el, D("Standard"), OID=oid, Name=std_name, Type="IG", Version=version, Status="Final")
        ct: dict[str, str] = {}
        sets = [("SDTM", self.settings.dictionaries.sdtm_ct_version)]
        if self.standard == "ADaM":
            sets.insert(0, ("ADaM", self.settings.dictionaries.adam_ct_version))
        for publishing, version in sets:
            oid = f"STD.CT.{publishing}.{version.isoformat()}"
            ct[publishing] = oid
            etree.SubElement(el, D("Standard"), OID=oid, Name="CDISC/NCI", Type="CT", PublishingSet=publishing,
                             Version=version.isoformat(), Status="Final")
        return el, ig_oids, ct

    # ------------------------------------------------------------------ item groups and items
    def item_group(self, name: str, std_oid: str) -> etree._Element:
        ds = self.spec.datasets[name]
        data = self.data[name]
        ig = etree.Element(O("ItemGroupDef"), OID=f"IG.{name}", Name=name, SASDatasetName=name)
        parent = name[4:] if self.standard == "SDTM" and name.startswith("SUPP") and len(name) > 4 else None
        if self.standard == "SDTM":
            ig.set("Domain", parent or name)  # a SUPP-- dataset belongs to its parent domain
        ig.set("Repeating", "Yes" if ds.repeating else "No")
        ig.set("IsReferenceData", "Yes" if ds.reference_data else "No")
        ig.set("Purpose", "Tabulation" if self.standard == "SDTM" else "Analysis")
        ig.set(D("Structure"), ds.structure)
        ig.set(D("StandardOID"), std_oid)
        if ds.has_no_data or len(data.frame) == 0:
            ig.set(D("HasNoData"), "Yes")
        _set(ig, D("CommentOID"), self.comment_oid(ds.comment, "Datasets", ds))
        ig.set(D("ArchiveLocationID"), leaf_id(name))
        _text(ig, O("Description"), ds.label)
        keys = ds.key_variables
        for order, column in enumerate(data.columns, start=1):
            v = self.spec.variable(name, column.name)
            if v is None:
                continue
            ref = etree.SubElement(ig, O("ItemRef"), ItemOID=f"IT.{name}.{v.variable}", OrderNumber=str(order),
                                   Mandatory="Yes" if v.mandatory else "No")
            if v.variable in keys:
                ref.set("KeySequence", str(keys.index(v.variable) + 1))
            if self.standard == "SDTM" and v.role:
                ref.set("Role", v.role)
            if v.origin == "Derived":
                _set(ref, "MethodOID", self.method_oid(v.method))
            if v.has_no_data:
                ref.set(D("HasNoData"), "Yes")
        if parent and parent in self.spec.datasets:
            etree.SubElement(ig, O("Alias"), Context="DomainDescription", Name=self.spec.datasets[parent].label)
        klass = etree.SubElement(ig, D("Class"), Name=ds.klass)
        if ds.subclass:
            etree.SubElement(klass, D("SubClass"), Name=ds.subclass)
        leaf = etree.SubElement(ig, D("leaf"), ID=leaf_id(name))
        leaf.set(_q(NS_XLINK, "href"), f"{name.lower()}.xpt")
        etree.SubElement(leaf, D("title")).text = f"{name.lower()}.xpt"
        return ig

    def _length(self, v: _VariableBase, data: Dataset, texts: FrameTexts, rows) -> dict[str, str]:
        """Length and SignificantDigits from the data (rows = a boolean array for value-level items)."""
        out: dict[str, str] = {}
        if v.data_type in DATE_TYPES:
            return out
        if v.data_type == "text":
            if rows is None:  # the XPT file's length: the longest value present
                out["Length"] = str(texts.text_length(v.variable, data.text_length))
            else:  # a value-level item: the longest value among the records its where clause selects
                longest = texts(v.variable).longest(rows)
                out["Length"] = str(longest or v.length or texts.text_length(v.variable, data.text_length))
        else:
            out["Length"] = str(NUMERIC_LENGTH)
            if v.data_type == "float":
                if v.significant_digits is not None:
                    digits = v.significant_digits
                else:
                    values = data.frame[v.variable]
                    digits = decimals(values if rows is None else values[rows])
                out["SignificantDigits"] = str(digits)
        return out

    def item_def(self, oid: str, v: _VariableBase, data: Dataset, texts: FrameTexts, rows, sheet: str,
                 value_list: str | None = None) -> etree._Element:
        """The ItemDef of variable `v` of `data` (`texts`: its columns as texts), or of a value-level
        item: then `rows` is a boolean array of the records its where clause selects."""
        it = etree.Element(O("ItemDef"), OID=oid, Name=v.variable, DataType=v.data_type)
        # the values present of a variable with a codelist (first, so that its texts are kept for the length)
        present = texts(v.variable).present(rows) if v.codelist else set()
        for key, value in self._length(v, data, texts, rows).items():
            it.set(key, value)
        if sheet == "Variables":
            it.set("SASFieldName", v.variable)
        _set(it, D("DisplayFormat"), v.format)
        _set(it, D("CommentOID"), self.comment_oid(v.comment, sheet, v))
        if v.label:
            _text(it, O("Description"), v.label)
        if v.codelist:
            etree.SubElement(it, O("CodeListRef"), CodeListOID=self.codelist_oid(v.codelist))
            self.codelist_values.setdefault(v.codelist, set()).update(present)
        origin = etree.SubElement(it, D("Origin"), Type=v.origin)
        _set(origin, "Source", v.source)
        if v.origin == "Predecessor" and v.predecessor:
            _text(origin, O("Description"), v.predecessor)
        elif v.origin == "Assigned" and v.assigned_value:
            _text(origin, O("Description"), v.assigned_value)
        if v.origin == "Collected" and v.pages:
            if self.acrf is None:
                self.problem(sheet, v, "Pages", v.pages,
                             "CRF pages are given but Documents has no annotated CRF (ID acrf or blankcrf)")
            else:
                ref = etree.SubElement(origin, D("DocumentRef"), leafID=leaf_id(self.acrf.id))
                page_ref(ref, v.pages)
        if value_list:
            etree.SubElement(it, D("ValueListRef"), ValueListOID=value_list)
        return it

    # ------------------------------------------------------------------ value level
    def where_checks(self, ident: str) -> list[tuple[str, str, list[str]]]:
        return [(wc.variable, wc.comparator, wc.values) for wc in self.spec.where_clauses.get(ident, [])]

    def value_lists(self, names: list[str]) -> tuple[list[etree._Element], dict[tuple[str, str], str], list[etree._Element]]:
        groups: dict[tuple[str, str], list[ValueLevelSpec]] = {}
        for vl in self.spec.value_level:
            if vl.dataset in names:
                groups.setdefault((vl.dataset, vl.variable), []).append(vl)
        defs, refs, items = [], {}, []
        for (name, variable), rows in groups.items():
            data = self.data[name]
            if variable not in data.frame.columns:
                continue
            oid = f"VL.{name}.{variable}"
            refs[(name, variable)] = oid
            vld = etree.Element(D("ValueListDef"), OID=oid)
            seen: set[str] = set()
            for vl in sorted(rows, key=lambda r: r.order):
                clauses = self.spec.where_clauses.get(vl.where_clause, [])
                mask = None
                if clauses and all(wc.dataset == name for wc in clauses):
                    mask = self.texts_of(name).where(self.where_checks(vl.where_clause))
                if mask is not None and len(data.frame) and not mask.any():
                    continue  # a category with no record gets no value-level metadata
                suffix = vl.where_clause.removeprefix("WC.").removeprefix(f"{name}.")
                item_oid = f"IT.{name}.{variable}.{suffix}"
                if item_oid in seen:
                    item_oid = f"{item_oid}.{vl.order}"
                seen.add(item_oid)
                ref = etree.SubElement(vld, O("ItemRef"), ItemOID=item_oid, OrderNumber=str(vl.order),
                                       Mandatory="Yes" if vl.mandatory else "No")
                if vl.origin == "Derived":
                    _set(ref, "MethodOID", self.method_oid(vl.method))
                etree.SubElement(ref, D("WhereClauseRef"), WhereClauseOID=prefixed("WC", vl.where_clause))
                self._use(self.used_where, vl.where_clause)
                items.append(self.item_def(item_oid, vl, data, self.texts_of(name),
                                           mask.to_numpy() if mask is not None else None, "ValueLevel"))
            if len(vld):
                defs.append(vld)
            else:
                del refs[(name, variable)]
        return defs, refs, items

    def where_clause_defs(self, names: list[str]) -> list[etree._Element]:
        out = []
        known = list(self.spec.where_clauses)
        for ident in sorted(self.used_where, key=lambda i: known.index(i) if i in known else len(known)):
            clauses = self.spec.where_clauses.get(ident, [])
            if not clauses:
                self.problems.append(Problem(str(self.spec.folder / "WhereClauses.csv"), None, "ID", ident,
                                             "where clause is not in WhereClauses"))
                continue
            wcd = etree.Element(D("WhereClauseDef"), OID=prefixed("WC", ident))
            for wc in clauses:
                if wc.dataset not in names:
                    self.problem("WhereClauses", wc, "Dataset", wc.dataset,
                                 f"where clause {ident} tests {wc.dataset}.{wc.variable}, which has no data in this define")
                rc = etree.SubElement(wcd, O("RangeCheck"), Comparator=wc.comparator, SoftHard="Soft")
                rc.set(D("ItemOID"), f"IT.{wc.dataset}.{wc.variable}")
                for value in wc.values:
                    etree.SubElement(rc, O("CheckValue")).text = value
            out.append(wcd)
        return out

    # ------------------------------------------------------------------ codelists, methods, comments, leaves
    def codelists(self, ct: dict[str, str]) -> list[etree._Element]:
        out = []
        known = [*self.spec.codelists, *self.spec.dictionaries]
        for ident in sorted(self.used_codelists, key=lambda i: known.index(i) if i in known else len(known)):
            if ident in self.spec.codelists:
                out.append(self._codelist(self.spec.codelists[ident], ct))
            elif ident in self.spec.dictionaries:
                out.append(self._dictionary(self.spec.dictionaries[ident]))
            else:
                self.problems.append(Problem(str(self.spec.folder / "Codelists.csv"), None, "ID", ident,
                                             "codelist is not in Codelists or Dictionaries"))
        return out

    def _codelist(self, cl: Codelist, ct: dict[str, str]) -> etree._Element:
        el = etree.Element(O("CodeList"), OID=prefixed("CL", cl.id), Name=cl.name, DataType=cl.data_type)
        cdisc = cl.terminology == "CDISC/NCI"
        if cdisc:
            adam = self.standard == "ADaM" and cl.nci_code in ADAM_CT_CODELISTS
            el.set(D("StandardOID"), ct["ADaM" if adam else "SDTM"])
        else:
            el.set(D("IsNonStandard"), "Yes")
        comment = next((t.comment for t in cl.terms if t.comment), None)
        _set(el, D("CommentOID"), self.comment_oid(comment, "Codelists", cl.terms[0]))
        terms = list(cl.terms)
        present = self.codelist_values.get(cl.id, set())
        if self.codelist_terms == "present" and present:
            subset = [t for t in terms if t.term in present]
            terms = subset or terms
        decoded = any(t.decoded_value for t in cl.terms)
        for t in terms:
            if decoded:
                item = etree.SubElement(el, O("CodeListItem"), CodedValue=t.term, OrderNumber=str(t.order))
            else:
                item = etree.SubElement(el, O("EnumeratedItem"), CodedValue=t.term, OrderNumber=str(t.order))
            if cdisc and not t.nci_term_code:
                item.set(D("ExtendedValue"), "Yes")
            if decoded:
                _text(item, O("Decode"), t.decoded_value or t.term)
            if t.nci_term_code:
                etree.SubElement(item, O("Alias"), Context="nci:ExtCodeID", Name=t.nci_term_code)
        if cl.nci_code:
            etree.SubElement(el, O("Alias"), Context="nci:ExtCodeID", Name=cl.nci_code)
        return el

    @staticmethod
    def _dictionary(d: DictionarySpec) -> etree._Element:
        el = etree.Element(O("CodeList"), OID=prefixed("CL", d.id), Name=d.name, DataType=d.data_type)
        el.set(D("IsNonStandard"), "Yes")
        etree.SubElement(el, O("ExternalCodeList"), Dictionary=d.dictionary, Version=d.version)
        return el

    def methods(self) -> list[etree._Element]:
        out = []
        known = list(self.spec.methods)
        for ident in sorted(self.used_methods, key=lambda i: known.index(i) if i in known else len(known)):
            m = self.spec.methods.get(ident)
            if m is None:
                self.problems.append(Problem(str(self.spec.folder / "Methods.csv"), None, "ID", ident,
                                             "method is not in Methods"))
                continue
            el = etree.Element(O("MethodDef"), OID=prefixed("MT", m.id), Name=m.name, Type=m.type)
            _text(el, O("Description"), m.description)
            if m.expression_code:
                fe = etree.SubElement(el, O("FormalExpression"))
                _set(fe, "Context", m.expression_context)
                fe.text = m.expression_code
            if m.document:
                self.document_ref(el, m.document, m.pages, "Methods", m)
            out.append(el)
        return out

    def comments(self) -> list[etree._Element]:
        out = []
        known = list(self.spec.comments)
        for ident in sorted(self.used_comments, key=known.index):
            c = self.spec.comments[ident]
            el = etree.Element(D("CommentDef"), OID=prefixed("COM", c.id))
            _text(el, O("Description"), c.description)
            if c.document:
                self.document_ref(el, c.document, c.pages, "Comments", c)
            out.append(el)
        for oid, text in self.extra_comments.items():
            el = etree.Element(D("CommentDef"), OID=oid)
            _text(el, O("Description"), text)
            out.append(el)
        return out

    def leaves(self, names: list[str]) -> list[etree._Element]:
        out = []
        taken = {leaf_id(n) for n in names}
        for doc in self.spec.documents.values():
            ident = leaf_id(doc.id)
            if ident in taken:
                self.problem("Documents", doc, "ID", doc.id, "document ID clashes with a dataset's file leaf")
                continue
            taken.add(ident)
            leaf = etree.Element(D("leaf"), ID=ident)
            leaf.set(_q(NS_XLINK, "href"), doc.href)
            etree.SubElement(leaf, D("title")).text = doc.title
            out.append(leaf)
        return out

    # ------------------------------------------------------------------ analysis results metadata
    def analysis_results(self, arm: Sequence[Mapping], names: list[str]) -> etree._Element | None:
        displays: dict[str, dict] = {}
        loose: list[Mapping] = []
        for entry in arm:
            if "Display" in entry and "Title" not in entry:
                loose.append(entry)
                continue
            ident = str(entry.get("ID") or "").strip()
            if not ident:
                self._arm_problem("Analysis Displays", None, "ID", None, "a display needs an ID")
                continue
            displays[ident] = {**entry, "results": list(entry.get("results") or entry.get("Results") or [])}
        for result in loose:
            display = str(result.get("Display") or "").strip()
            if display not in displays:
                self._arm_problem("Analysis Results", result.get("ID"), "Display", display, "display is not in Analysis Displays")
                continue
            displays[display]["results"].append(result)
        if not displays:
            return None
        root = etree.Element(A("AnalysisResultDisplays"))
        for ident, display in displays.items():
            rd = etree.SubElement(root, A("ResultDisplay"), OID=prefixed("RD", ident), Name=ident)
            title = _cell(display, "Title")
            if not title:
                self._arm_problem("Analysis Displays", ident, "Title", None, "a display needs a title")
            _text(rd, O("Description"), title or ident)
            if _cell(display, "Document"):
                self.document_ref(rd, _cell(display, "Document"), _cell(display, "Pages"), "Documents", None)
            if not display["results"]:
                self._arm_problem("Analysis Results", ident, "Display", ident, "a display needs at least one result")
            for result in display["results"]:
                self._analysis_result(rd, result, names)
        return root

    def _arm_problem(self, sheet: str, ident: object, column: str | None, value: object, message: str) -> None:
        where = f" ({ident})" if ident else ""
        self.problems.append(Problem(f"analysis results metadata, {sheet}{where}", None, column,
                                     None if value is None else str(value), message))

    def _analysis_result(self, rd: etree._Element, result: Mapping, names: list[str]) -> None:
        ident = _cell(result, "ID")
        sheet = "Analysis Results"
        if not ident:
            self._arm_problem(sheet, None, "ID", None, "a result needs an ID")
            return
        oid = prefixed("AR", ident)
        reason, purpose, description = _cell(result, "Reason"), _cell(result, "Purpose"), _cell(result, "Description")
        for column, value in (("Reason", reason), ("Purpose", purpose), ("Description", description)):
            if not value:
                self._arm_problem(sheet, ident, column, None, f"a result needs its {column.lower()}")
        ar = etree.SubElement(rd, A("AnalysisResult"), OID=oid)
        ar.set("AnalysisReason", reason or "SPECIFIED IN SAP")
        ar.set("AnalysisPurpose", purpose or "PRIMARY OUTCOME MEASURE")
        _text(ar, O("Description"), description or ident)
        # datasets in order of first mention: analysis variables, then selection criteria
        per_dataset: dict[str, dict] = {}
        for token in _split(_cell(result, "Variables")):
            dataset, _, variable = token.partition(".")
            if not variable:
                self._arm_problem(sheet, ident, "Variables", token, "write analysis variables as DATASET.VARIABLE")
                continue
            if self.spec.variable(dataset, variable) is None:
                self._arm_problem(sheet, ident, "Variables", token, "no such variable in the spec")
                continue
            per_dataset.setdefault(dataset, {"where": None, "vars": []})["vars"].append(variable)
        parameter = None
        for wc_id in _split(_cell(result, "Selection Criteria")):
            clauses = self.spec.where_clauses.get(wc_id)
            if not clauses:
                self._arm_problem(sheet, ident, "Selection Criteria", wc_id, "where clause is not in WhereClauses")
                continue
            datasets = {wc.dataset for wc in clauses}
            if len(datasets) > 1:
                self._arm_problem(sheet, ident, "Selection Criteria", wc_id, "a selection where clause must test one dataset")
                continue
            dataset = clauses[0].dataset
            entry = per_dataset.setdefault(dataset, {"where": None, "vars": []})
            if entry["where"] is not None:
                self._arm_problem(sheet, ident, "Selection Criteria", wc_id,
                                  f"one where clause per dataset: give {dataset}'s conditions as rows of one where clause ID")
                continue
            entry["where"] = wc_id
            self._use(self.used_where, wc_id)
            if any(wc.variable == "PARAMCD" for wc in clauses) and parameter is None:
                parameter = f"IT.{dataset}.PARAMCD"
        if parameter:
            ar.set("ParameterOID", parameter)
        sets = etree.SubElement(ar, A("AnalysisDatasets"))
        join = _cell(result, "Join Comment")
        if join:
            if join in self.spec.comments:
                sets.set(D("CommentOID"), self.comment_oid(join, "Comments", None))
            else:
                comment = f"COM.{oid}.JOIN"
                self.extra_comments[comment] = join
                sets.set(D("CommentOID"), comment)
        if not per_dataset:
            self._arm_problem(sheet, ident, "Variables", None, "a result needs analysis variables or selection criteria")
        for dataset, entry in per_dataset.items():
            if dataset not in names:
                self._arm_problem(sheet, ident, "Variables", dataset, "dataset has no data in this define")
            ds_el = etree.SubElement(sets, A("AnalysisDataset"), ItemGroupOID=f"IG.{dataset}")
            if entry["where"]:
                etree.SubElement(ds_el, D("WhereClauseRef"), WhereClauseOID=prefixed("WC", entry["where"]))
            for variable in entry["vars"]:
                etree.SubElement(ds_el, A("AnalysisVariable"), ItemOID=f"IT.{dataset}.{variable}")
        documentation, refs = _cell(result, "Documentation"), _cell(result, "Documentation Refs")
        if documentation:
            doc_el = etree.SubElement(ar, A("Documentation"))
            _text(doc_el, O("Description"), documentation)
            for ref in (r.strip() for r in (refs or "").split(";") if r.strip()):
                doc_id, _, pages = ref.partition(":")
                self.document_ref(doc_el, doc_id.strip(), pages.strip() or None, "Documents", None)
        elif refs:
            self._arm_problem(sheet, ident, "Documentation", None, "documentation references need a documentation text")
        context, code, program = (_cell(result, "Programming Context"), _cell(result, "Programming Code"),
                                  _cell(result, "Programming Document"))
        if context or code or program:
            pc = etree.SubElement(ar, A("ProgrammingCode"))
            _set(pc, "Context", context)
            if code:
                etree.SubElement(pc, A("Code")).text = code
            if program:
                self.document_ref(pc, program, _cell(result, "Pages"), "Documents", None)

    # ------------------------------------------------------------------ the document
    def build(self, arm: Sequence[Mapping] | None) -> etree._ElementTree:
        names = self.dataset_names()
        standards, ig_oids, ct = self.standards(names)
        value_lists, vl_refs, vl_items = self.value_lists(names)
        groups, items = [], []
        for name in names:
            groups.append(self.item_group(name, ig_oids[self.spec.datasets[name].standard]))
            data = self.data[name]
            for column in data.columns:
                v = self.spec.variable(name, column.name)
                if v is not None:
                    items.append(self.item_def(f"IT.{name}.{v.variable}", v, data, self.texts_of(name), None, "Variables",
                                               vl_refs.get((name, v.variable))))
        items += vl_items
        arm_el = None
        if arm:
            if self.standard != "ADaM":
                self._arm_problem("Analysis Displays", None, None, None, "analysis results metadata belong in the ADaM define")
            arm_el = self.analysis_results(arm, names)
        where = self.where_clause_defs(names)
        codelists = self.codelists(ct)
        methods = self.methods()
        comments = self.comments()
        leaves = self.leaves(names)
        if self.problems:
            raise SubError(sorted(set(self.problems), key=lambda p: (p.file, p.row or 0, p.column or "", p.message)),
                           f"define.xml ({self.standard}): {len(set(self.problems))} problem(s); nothing written")

        s = self.settings.study
        nsmap = {None: NS_ODM, "xlink": NS_XLINK, "def": NS_DEF}
        if arm_el is not None:
            nsmap["arm"] = NS_ARM
        root = etree.Element(O("ODM"), nsmap=nsmap)
        root.set("ODMVersion", "1.3.2")
        root.set("FileType", "Snapshot")
        root.set("FileOID", f"{s.studyid}.{self.standard}.Define-XML_{DEFINE_VERSION}")
        root.set("CreationDateTime", self.created.replace(microsecond=0, tzinfo=None).isoformat())
        root.set("Originator", s.sponsor)
        root.set("SourceSystem", "sub")
        root.set("SourceSystemVersion", __version__)
        root.set(D("Context"), "Submission")
        study = etree.SubElement(root, O("Study"), OID=study_oid(self.settings))
        gv = etree.SubElement(study, O("GlobalVariables"))
        etree.SubElement(gv, O("StudyName")).text = s.studyid
        etree.SubElement(gv, O("StudyDescription")).text = s.title_en
        etree.SubElement(gv, O("ProtocolName")).text = s.protocol_name
        description = f"{self.standard} data definitions of {s.studyid}: {s.title_en}."
        if s.synthetic:
            description += " SYNTHETIC DATA: no value is real study data."
        mdv = etree.SubElement(study, O("MetaDataVersion"), OID=mdv_oid(self.settings, self.standard),
                               Name=f"Study {s.studyid}, {self.standard} Data Definitions", Description=description)
        mdv.set(D("DefineVersion"), DEFINE_VERSION)
        mdv.append(standards)
        documents = list(self.spec.documents.values())
        if self.acrf is not None:
            crf = etree.SubElement(mdv, D("AnnotatedCRF"))
            etree.SubElement(crf, D("DocumentRef"), leafID=leaf_id(self.acrf.id))
        others = [d for d in documents if d is not self.acrf]
        if others:
            supp = etree.SubElement(mdv, D("SupplementalDoc"))
            for doc in others:
                etree.SubElement(supp, D("DocumentRef"), leafID=leaf_id(doc.id))
        for part in (value_lists, where, groups, items, codelists, methods, comments, leaves):
            for el in part:
                mdv.append(el)
        if arm_el is not None:
            mdv.append(arm_el)
        root.addprevious(etree.PI("xml-stylesheet", f'type="text/xsl" href="{STYLESHEET}"'))
        etree.indent(root, space="  ")
        return etree.ElementTree(root)


def _cell(row: Mapping, column: str) -> str | None:
    value = row.get(column)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _split(value: str | None) -> list[str]:
    return [t for t in re.split(r"[,\s]+", value or "") if t]


ARM_SHEETS = ("Analysis Displays", "Analysis Results")


def read_arm_sheets(folder: Path) -> list[dict[str, str]]:
    """The optional ARM sheets of a spec folder (`Analysis Displays.csv`, `Analysis Results.csv`)
    as the list `build_define(arm=...)` takes; [] when the folder has none."""
    from ..csvio import read_table

    out: list[dict[str, str]] = []
    for sheet in ARM_SHEETS:
        path = Path(folder) / f"{sheet}.csv"
        if not path.exists():
            continue
        table, problems = read_table(path)
        if problems:
            raise SubError(problems, f"{path} cannot be read")
        out += [{c: (row[i] if i < len(row) else "") for i, c in enumerate(table.header)} for row in table.rows]
    return out


def build_define(spec: Spec, datasets: Mapping[str, Dataset], settings: StudySettings, *, standard: str,
                 created: dt.datetime, arm: Sequence[Mapping] | None = None,
                 codelist_terms: Literal["present", "all"] = "present",
                 values: Mapping[str, FrameTexts] | None = None) -> etree._ElementTree:
    """The Define-XML 2.1 document of the datasets in `datasets` (the spec's others are left out).

    `created` is the document's CreationDateTime: pass `io.build_timestamp(...)`, so that
    SOURCE_DATE_EPOCH makes two builds byte-identical. `codelist_terms="present"` lists only the
    terms that occur in the data (the whole codelist when none does). Raises SubError with every
    problem found (data and spec disagreeing, dangling references, ...). `values`: the datasets'
    columns as texts (`FrameTexts` by dataset name) when the caller shares them with other checks.
    """
    std = normalize_standard(standard)
    if codelist_terms not in ("present", "all"):
        raise ValueError("codelist_terms must be 'present' or 'all'")
    return _Builder(spec, datasets, settings, std, created, codelist_terms, values).build(arm)


def to_bytes(tree: etree._ElementTree) -> bytes:
    """The document as written to define.xml: UTF-8, declaration, stylesheet instruction, indented."""
    body = etree.tostring(tree, encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def write_define_folder(folder: Path, spec: Spec, datasets: Mapping[str, Dataset], settings: StudySettings,
                        standard: str, created: dt.datetime, *, arm: Sequence[Mapping] | None = None,
                        values: Mapping[str, FrameTexts] | None = None, html: bool = True) -> list[Path]:
    """Write define.xml, define.html and the stylesheet into `folder`; validate first.

    Nothing is written when the document breaks the Define-XML 2.1 schema (or the ARM schema)
    or refers to an OID it does not define: SubError carries the messages. The spec's documents
    are checked and completed first (`package.documents.package_spec`): links only inside
    `folder`, the generated aCRF and reviewer's guides found there, the aCRF pages. `html=False`:
    no define.html (for a define that is written again before anyone reads it; the stylesheet is
    written all the same).
    """
    from ..io import write_atomic
    from ..package.documents import package_spec
    from .validate import check_define, parse, render_html, stylesheet_path

    # documents only inside the folder; the generated aCRF and guides found there; aCRF pages
    spec = package_spec(spec, Path(folder), normalize_standard(standard))
    tree = build_define(spec, datasets, settings, standard=standard, created=created, arm=arm, values=values)
    data = to_bytes(tree)
    folder = Path(folder)
    written_tree = parse(data, name=str(folder / "define.xml"))  # the bytes to be written, parsed once
    check_define(written_tree, name=str(folder / "define.xml"))
    files = {folder / "define.xml": data}
    if html:
        files[folder / "define.html"] = render_html(written_tree)
    files[folder / STYLESHEET] = stylesheet_path().read_bytes()
    for path, content in files.items():
        write_atomic(path, content)
    return list(files)
