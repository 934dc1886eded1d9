"""Read a define.xml (Define-XML 2.0 or 2.1) into a plain model, for comparison and checks.

The model keeps what a reviewer compares between two defines: datasets with their variables
(in order, with every attribute the ItemRef and ItemDef give), every ItemDef, codelists with
their terms, methods, comments, value lists, where clauses, documents and standards. OIDs are
kept as written, so two defines can be compared by OID or by name.

Define-XML 2.0 differs in details the reader smooths over: def:Class is an attribute there, the
standard is named on MetaDataVersion, and origins are "CRF", "eDT" and the like.
The file is parsed by submission/safexml.py (no DTD, entity or network access).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lxml import etree

from .validate import NS_ARM, NS_ODM, Source, parse

DEF_NAMESPACES = ("http://www.cdisc.org/ns/def/v2.1", "http://www.cdisc.org/ns/def/v2.0")
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


@dataclass(frozen=True)
class PageRef:
    leaf_id: str
    pages: str | None = None  # PageRefs, or "first-last"
    type: str | None = None  # PhysicalRef or NamedDestination


@dataclass(frozen=True)
class Item:
    """An ItemDef: a variable, or one value-level definition of a variable."""

    oid: str
    name: str
    data_type: str
    length: int | None = None
    significant_digits: int | None = None
    display_format: str | None = None
    label: str | None = None
    codelist: str | None = None  # CodeList OID
    origin_type: str | None = None
    origin_source: str | None = None
    origin_description: str | None = None
    origin_pages: tuple[PageRef, ...] = ()
    comment: str | None = None  # CommentDef OID
    value_list: str | None = None  # ValueListDef OID
    sas_name: str | None = None


@dataclass(frozen=True)
class Variable:
    """A variable of a dataset: its ItemRef and the ItemDef it points at."""

    item: Item
    order: int | None
    mandatory: bool
    key_sequence: int | None = None
    role: str | None = None
    method: str | None = None  # MethodDef OID
    has_no_data: bool = False

    @property
    def name(self) -> str:
        return self.item.name


@dataclass(frozen=True)
class DefineDataset:
    oid: str
    name: str
    label: str | None
    klass: str | None
    subclass: str | None
    structure: str | None
    purpose: str | None
    repeating: bool
    reference_data: bool
    standard: str | None  # "SDTMIG 3.4" (2.1: from def:StandardOID; 2.0: from MetaDataVersion)
    comment: str | None
    archive: str | None  # the file, e.g. "ae.xpt"
    has_no_data: bool
    variables: tuple[Variable, ...]
    non_standard: bool = False  # def:IsNonStandard: a dataset outside the standard (no def:StandardOID)

    @property
    def keys(self) -> list[str]:
        keyed = sorted((v for v in self.variables if v.key_sequence is not None), key=lambda v: v.key_sequence)
        return [v.name for v in keyed]

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)


@dataclass(frozen=True)
class Term:
    value: str
    decode: str | None = None
    order: int | None = None
    nci_code: str | None = None
    extended: bool = False


@dataclass(frozen=True)
class DefineCodelist:
    oid: str
    name: str
    data_type: str
    nci_code: str | None = None
    standard: str | None = None
    comment: str | None = None
    terms: tuple[Term, ...] = ()
    dictionary: str | None = None  # an ExternalCodeList (MedDRA, WHODrug ...)
    version: str | None = None

    @property
    def values(self) -> list[str]:
        return [t.value for t in self.terms]


@dataclass(frozen=True)
class Method:
    oid: str
    name: str
    type: str | None
    description: str | None
    expressions: tuple[tuple[str | None, str], ...] = ()  # (context, code)
    documents: tuple[PageRef, ...] = ()


@dataclass(frozen=True)
class Comment:
    oid: str
    description: str | None
    documents: tuple[PageRef, ...] = ()


@dataclass(frozen=True)
class Check:
    item: str  # ItemDef OID of the variable tested
    comparator: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class WhereClause:
    oid: str
    checks: tuple[Check, ...]
    comment: str | None = None


@dataclass(frozen=True)
class ValueListItem:
    item: Item
    order: int | None
    mandatory: bool
    method: str | None
    where_clauses: tuple[str, ...]  # WhereClauseDef OIDs


@dataclass(frozen=True)
class ValueList:
    oid: str
    items: tuple[ValueListItem, ...]


@dataclass(frozen=True)
class Document:
    id: str
    href: str | None
    title: str | None


@dataclass(frozen=True)
class Standard:
    oid: str
    name: str
    type: str | None
    version: str | None
    publishing_set: str | None = None


@dataclass
class Define:
    """A define.xml as plain data."""

    source: str
    define_version: str | None
    file_oid: str | None
    created: str | None
    study_name: str | None
    study_description: str | None
    protocol_name: str | None
    mdv_oid: str | None
    standards: dict[str, Standard] = field(default_factory=dict)
    datasets: dict[str, DefineDataset] = field(default_factory=dict)  # by name, in document order
    items: dict[str, Item] = field(default_factory=dict)  # every ItemDef, by OID
    codelists: dict[str, DefineCodelist] = field(default_factory=dict)
    methods: dict[str, Method] = field(default_factory=dict)
    comments: dict[str, Comment] = field(default_factory=dict)
    value_lists: dict[str, ValueList] = field(default_factory=dict)
    where_clauses: dict[str, WhereClause] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    annotated_crf: tuple[str, ...] = ()
    supplemental_docs: tuple[str, ...] = ()
    analysis_displays: tuple[str, ...] = ()  # ARM ResultDisplay OIDs

    def dataset_of_item(self, item_oid: str) -> str | None:
        for ds in self.datasets.values():
            if any(v.item.oid == item_oid for v in ds.variables):
                return ds.name
        return None


@lru_cache(maxsize=128)
def _xpath(path: str, def_ns: str) -> Callable[[etree._Element], list]:
    """`path` prepared once (a define reads the same few paths thousands of times): a path of child
    steps (`odm:ItemGroupDef`, `def:Standards/def:Standard`), optionally with one attribute test on
    the last (`odm:Alias[@Context='nci:ExtCodeID']`), as an ElementPath search, which gives the same
    elements in the same order faster; any other path compiled as XPath."""
    ns = {"odm": NS_ODM, "def": def_ns, "arm": NS_ARM}
    simple = re.fullmatch(r"((?:odm|def|arm):\w+(?:/(?:odm|def|arm):\w+)*)(?:\[@(\w+)='([^']*)'\])?", path)
    if simple is None:
        return etree.XPath(path, namespaces=ns)
    steps = "/".join(f"{{{ns[prefix]}}}{name}" for prefix, name in (step.split(":") for step in simple[1].split("/")))
    attribute, value = simple[2], simple[3]
    if attribute is None:
        return lambda el: el.findall(steps)
    return lambda el: [found for found in el.findall(steps) if found.get(attribute) == value]


class _Reader:
    def __init__(self, root: etree._Element):
        self.root = root
        self.def_ns = next((ns for ns in root.nsmap.values() if ns in DEF_NAMESPACES), DEF_NAMESPACES[0])
        self.ns = {"odm": NS_ODM, "def": self.def_ns, "arm": NS_ARM}

    def x(self, el: etree._Element, path: str) -> list:
        return _xpath(path, self.def_ns)(el)

    def first(self, el: etree._Element, path: str):
        found = self.x(el, path)
        return found[0] if found else None

    def d(self, name: str) -> str:
        return f"{{{self.def_ns}}}{name}"

    def text(self, el: etree._Element | None) -> str | None:
        """The English (or first) TranslatedText of a Description/Decode element."""
        if el is None:
            return None
        texts = self.x(el, "odm:TranslatedText")
        if not texts:
            return None
        chosen = next((t for t in texts if t.get("{http://www.w3.org/XML/1998/namespace}lang") in ("en", None)), texts[0])
        return chosen.text

    def pages(self, el: etree._Element) -> tuple[PageRef, ...]:
        out = []
        for ref in self.x(el, "def:DocumentRef"):
            pdfs = self.x(ref, "def:PDFPageRef")
            if not pdfs:
                out.append(PageRef(ref.get("leafID")))
            for pdf in pdfs:
                pages = pdf.get("PageRefs")
                if pages is None and pdf.get("FirstPage"):
                    pages = f"{pdf.get('FirstPage')}-{pdf.get('LastPage') or pdf.get('FirstPage')}"
                out.append(PageRef(ref.get("leafID"), pages, pdf.get("Type")))
        return tuple(out)

    def item(self, el: etree._Element) -> Item:
        origin = self.first(el, "def:Origin")
        codelist = self.first(el, "odm:CodeListRef")
        value_list = self.first(el, "def:ValueListRef")
        return Item(
            oid=el.get("OID"), name=el.get("Name"), data_type=el.get("DataType"),
            length=_int(el.get("Length")), significant_digits=_int(el.get("SignificantDigits")),
            display_format=el.get(self.d("DisplayFormat")), label=self.text(self.first(el, "odm:Description")),
            codelist=codelist.get("CodeListOID") if codelist is not None else None,
            origin_type=origin.get("Type") if origin is not None else None,
            origin_source=origin.get("Source") if origin is not None else None,
            origin_description=self.text(self.first(origin, "odm:Description")) if origin is not None else None,
            origin_pages=self.pages(origin) if origin is not None else (),
            comment=el.get(self.d("CommentOID")),
            value_list=value_list.get("ValueListOID") if value_list is not None else None,
            sas_name=el.get("SASFieldName"),
        )

    def read(self, source: str) -> Define:
        root = self.root
        study = self.first(root, "odm:Study")
        mdv = self.first(study, "odm:MetaDataVersion") if study is not None else None
        gv = self.first(study, "odm:GlobalVariables") if study is not None else None

        def gtext(tag: str) -> str | None:
            el = self.first(gv, f"odm:{tag}") if gv is not None else None
            return el.text if el is not None else None

        define = Define(
            source=source, define_version=mdv.get(self.d("DefineVersion")) if mdv is not None else None,
            file_oid=root.get("FileOID"), created=root.get("CreationDateTime"),
            study_name=gtext("StudyName"), study_description=gtext("StudyDescription"),
            protocol_name=gtext("ProtocolName"), mdv_oid=mdv.get("OID") if mdv is not None else None,
        )
        if mdv is None:
            return define
        for std in self.x(mdv, "def:Standards/def:Standard"):
            define.standards[std.get("OID")] = Standard(std.get("OID"), std.get("Name"), std.get("Type"),
                                                        std.get("Version"), std.get("PublishingSet"))
        legacy_standard = None
        if mdv.get(self.d("StandardName")):  # Define-XML 2.0
            legacy_standard = f"{mdv.get(self.d('StandardName'))} {mdv.get(self.d('StandardVersion')) or ''}".strip()
        for el in self.x(mdv, "odm:ItemDef"):
            define.items[el.get("OID")] = self.item(el)
        for leaf in self.x(mdv, "def:leaf"):
            title = self.first(leaf, "def:title")
            define.documents[leaf.get("ID")] = Document(leaf.get("ID"), leaf.get(XLINK_HREF),
                                                        title.text.strip() if title is not None and title.text else None)
        define.annotated_crf = tuple(r.get("leafID") for r in self.x(mdv, "def:AnnotatedCRF/def:DocumentRef"))
        define.supplemental_docs = tuple(r.get("leafID") for r in self.x(mdv, "def:SupplementalDoc/def:DocumentRef"))
        for ig in self.x(mdv, "odm:ItemGroupDef"):
            variables = []
            for ref in self.x(ig, "odm:ItemRef"):
                item = define.items.get(ref.get("ItemOID")) or Item(ref.get("ItemOID"), ref.get("ItemOID"), "")
                variables.append(Variable(item=item, order=_int(ref.get("OrderNumber")),
                                          mandatory=ref.get("Mandatory") == "Yes",
                                          key_sequence=_int(ref.get("KeySequence")), role=ref.get("Role"),
                                          method=ref.get("MethodOID"), has_no_data=ref.get(self.d("HasNoData")) == "Yes"))
            if all(v.order is not None for v in variables):
                variables.sort(key=lambda v: v.order)
            klass_el = self.first(ig, "def:Class")
            klass = klass_el.get("Name") if klass_el is not None else ig.get(self.d("Class"))
            sub = self.first(klass_el, "def:SubClass") if klass_el is not None else None
            leaf = self.first(ig, "def:leaf")
            archive = leaf.get(XLINK_HREF) if leaf is not None else None
            if archive is None and ig.get(self.d("ArchiveLocationID")) in define.documents:
                archive = define.documents[ig.get(self.d("ArchiveLocationID"))].href
            std_oid = ig.get(self.d("StandardOID"))
            standard = legacy_standard
            if std_oid in define.standards:
                std = define.standards[std_oid]
                standard = f"{std.name} {std.version}"
            name = ig.get("Name")
            define.datasets[name] = DefineDataset(
                oid=ig.get("OID"), name=name, label=self.text(self.first(ig, "odm:Description")) or ig.get(self.d("Label")),
                klass=klass, subclass=sub.get("Name") if sub is not None else None,
                structure=ig.get(self.d("Structure")), purpose=ig.get("Purpose"),
                repeating=ig.get("Repeating") == "Yes", reference_data=ig.get("IsReferenceData") == "Yes",
                standard=standard, comment=ig.get(self.d("CommentOID")), archive=archive,
                has_no_data=ig.get(self.d("HasNoData")) == "Yes", variables=tuple(variables),
                non_standard=ig.get(self.d("IsNonStandard")) == "Yes")
        for cl in self.x(mdv, "odm:CodeList"):
            terms = []
            for t in self.x(cl, "odm:CodeListItem | odm:EnumeratedItem"):
                alias = self.first(t, "odm:Alias[@Context='nci:ExtCodeID']")
                terms.append(Term(t.get("CodedValue"), self.text(self.first(t, "odm:Decode")),
                                  _int(t.get("OrderNumber")), alias.get("Name") if alias is not None else None,
                                  t.get(self.d("ExtendedValue")) == "Yes"))
            ext = self.first(cl, "odm:ExternalCodeList")
            alias = self.first(cl, "odm:Alias[@Context='nci:ExtCodeID']")
            define.codelists[cl.get("OID")] = DefineCodelist(
                oid=cl.get("OID"), name=cl.get("Name"), data_type=cl.get("DataType"),
                nci_code=alias.get("Name") if alias is not None else None, standard=cl.get(self.d("StandardOID")),
                comment=cl.get(self.d("CommentOID")), terms=tuple(terms),
                dictionary=ext.get("Dictionary") if ext is not None else None,
                version=ext.get("Version") if ext is not None else None)
        for m in self.x(mdv, "odm:MethodDef"):
            expressions = tuple((fe.get("Context"), (fe.text or "").strip()) for fe in self.x(m, "odm:FormalExpression"))
            define.methods[m.get("OID")] = Method(m.get("OID"), m.get("Name"), m.get("Type"),
                                                  self.text(self.first(m, "odm:Description")), expressions,
                                                  self.pages(m))
        for c in self.x(mdv, "def:CommentDef"):
            define.comments[c.get("OID")] = Comment(c.get("OID"), self.text(self.first(c, "odm:Description")),
                                                    self.pages(c))
        for wc in self.x(mdv, "def:WhereClauseDef"):
            checks = tuple(Check(rc.get(self.d("ItemOID")), rc.get("Comparator"),
                                 tuple((cv.text or "") for cv in self.x(rc, "odm:CheckValue")))
                           for rc in self.x(wc, "odm:RangeCheck"))
            define.where_clauses[wc.get("OID")] = WhereClause(wc.get("OID"), checks, wc.get(self.d("CommentOID")))
        for vl in self.x(mdv, "def:ValueListDef"):
            entries = []
            for ref in self.x(vl, "odm:ItemRef"):
                item = define.items.get(ref.get("ItemOID")) or Item(ref.get("ItemOID"), ref.get("ItemOID"), "")
                entries.append(ValueListItem(item, _int(ref.get("OrderNumber")), ref.get("Mandatory") == "Yes",
                                             ref.get("MethodOID"),
                                             tuple(w.get("WhereClauseOID") for w in self.x(ref, "def:WhereClauseRef"))))
            define.value_lists[vl.get("OID")] = ValueList(vl.get("OID"), tuple(entries))
        define.analysis_displays = tuple(rd.get("OID") for rd in self.x(mdv, "arm:AnalysisResultDisplays/arm:ResultDisplay"))
        return define


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def read_define(source: Source, *, name: str | None = None) -> Define:
    """Read a Define-XML 2.0 or 2.1 document (a path, bytes or a parsed tree)."""
    from ..errors import Problem, SubError

    label = name or (str(source) if isinstance(source, str | Path) else "define.xml")
    tree = parse(Path(source) if isinstance(source, str) else source, name=label)
    root = tree.getroot()
    if etree.QName(root).namespace != NS_ODM or etree.QName(root).localname != "ODM":
        raise SubError(Problem(label, None, None, None, "not a define.xml: the root element is not an ODM element"))
    try:
        return _Reader(root).read(label)
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:  # a shape no define has
        raise SubError(Problem(label, None, None, None,
                               f"not a readable define.xml: {type(exc).__name__}: {str(exc)[:200]}")) from None
