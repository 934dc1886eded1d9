"""Validate a define.xml against the Define-XML 2.1 schema, and render it as HTML.

The schema (define2-1-0.xsd, with the ARM 1.0 extension arm1-0-0.xsd for a define that carries
Analysis Results Metadata) and the CDISC/PHUSE stylesheet define2-1.xsl come from the
`defineutils` package (CDISC's Define-XML tooling); lxml compiles them once per process.

Beyond the schema, every OID a document refers to must be defined in it (ItemRef -> ItemDef,
CodeListRef -> CodeList, MethodOID, CommentOID, ValueListRef, WhereClauseRef, RangeCheck
def:ItemOID, def:StandardOID, ARM ItemGroupOID/ItemOID/ParameterOID), and OIDs of one kind are
unique: Define-XML 2.1 requires it, the schema does not check it.

A define.xml from elsewhere is parsed by submission/safexml.py: no DTD, entity or network access,
and a document that declares a DTD is refused.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lxml import etree

from .. import safexml
from ..errors import Problem, SubError

NS_ODM = "http://www.cdisc.org/ns/odm/v1.3"
NS_DEF = "http://www.cdisc.org/ns/def/v2.1"
NS_ARM = "http://www.cdisc.org/ns/arm/v1.0"
SHOWN = 20

Source = Path | bytes | etree._ElementTree | etree._Element


def safe_parser() -> etree.XMLParser:
    """The project's one XML parser (submission/safexml.py)."""
    return safexml.parser()


def parse(source: Source, *, name: str | None = None) -> etree._ElementTree:
    """An XML document from a path, bytes or a tree; SubError when it is not well-formed or declares a DTD."""
    if isinstance(source, etree._ElementTree):
        return source
    if isinstance(source, etree._Element):
        return source.getroottree()
    label = name or (str(source) if isinstance(source, Path) else "define.xml")
    return safexml.parse(source, name=label)


def _package() -> Path:
    """The installed `defineutils` folder, found without importing the package (its import loads
    xmlschema, half a second, for files lxml reads itself)."""
    import importlib.util

    found = importlib.util.find_spec("defineutils")
    if found is None or not found.submodule_search_locations:
        raise ModuleNotFoundError("No module named 'defineutils'", name="defineutils")
    return Path(next(iter(found.submodule_search_locations))).resolve()


def schema_path(arm: bool = False) -> Path:
    """define2-1-0.xsd, or arm1-0-0.xsd (Define-XML 2.1 plus Analysis Results Metadata 1.0)."""
    base = _package() / "validate" / "schema"
    return base / ("cdisc-arm-1.0/arm1-0-0.xsd" if arm else "cdisc-define-2.1/define2-1-0.xsd")


def stylesheet_path() -> Path:
    return _package() / "definehtml" / "define2-1.xsl"


@lru_cache(maxsize=4)
def _schema(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(safexml.parse(Path(path), allow_doctype=True))


@lru_cache(maxsize=1)
def _transform() -> etree.XSLT:
    sheet = safexml.parse(stylesheet_path(), allow_doctype=True)
    return etree.XSLT(sheet, access_control=etree.XSLTAccessControl.DENY_ALL)


def has_arm(tree: etree._ElementTree) -> bool:
    return bool(tree.getroot().xpath("//arm:AnalysisResultDisplays", namespaces={"arm": NS_ARM}))


def schema_problems(source: Source, *, name: str = "define.xml", arm: bool | None = None,
                    schema: Path | None = None) -> list[Problem]:
    """The schema's messages, one Problem each (row = line in the file); [] when valid.

    The ARM schema is used when the document has arm:AnalysisResultDisplays (or `arm=True`);
    `schema` validates against another XSD (e.g. a copy of CDISC's own package).
    """
    tree = parse(source, name=name)
    if schema is None:
        schema = schema_path(has_arm(tree) if arm is None else arm)
    xsd = _schema(str(schema))
    if xsd.validate(tree):
        return []
    return [Problem(name, e.line or None, None, None, f"schema: {e.message}") for e in xsd.error_log]


_REFS = (
    # (xpath of the referring attribute, kind of definition it names)
    ("//odm:ItemGroupDef/odm:ItemRef/@ItemOID", "ItemDef"),
    ("//def:ValueListDef/odm:ItemRef/@ItemOID", "ItemDef"),
    ("//odm:ItemRef/@MethodOID", "MethodDef"),
    ("//odm:CodeListRef/@CodeListOID", "CodeList"),
    ("//@def:CommentOID", "def:CommentDef"),
    ("//def:ValueListRef/@ValueListOID", "def:ValueListDef"),
    ("//def:WhereClauseRef/@WhereClauseOID", "def:WhereClauseDef"),
    ("//odm:RangeCheck/@def:ItemOID", "ItemDef"),
    ("//@def:StandardOID", "def:Standard"),
    ("//arm:AnalysisDataset/@ItemGroupOID", "ItemGroupDef"),
    ("//arm:AnalysisVariable/@ItemOID", "ItemDef"),
    ("//arm:AnalysisResult/@ParameterOID", "ItemDef"),
)
_DEFS = {
    "ItemGroupDef": "//odm:ItemGroupDef/@OID", "ItemDef": "//odm:ItemDef/@OID", "CodeList": "//odm:CodeList/@OID",
    "MethodDef": "//odm:MethodDef/@OID", "def:CommentDef": "//def:CommentDef/@OID",
    "def:ValueListDef": "//def:ValueListDef/@OID", "def:WhereClauseDef": "//def:WhereClauseDef/@OID",
    "def:Standard": "//def:Standard/@OID",
}


def reference_problems(source: Source, *, name: str = "define.xml") -> list[Problem]:
    """OIDs referred to but not defined, and OIDs defined twice."""
    tree = parse(source, name=name)
    root = tree.getroot()
    def_ns = next((ns for ns in root.nsmap.values() if ns and ns.startswith("http://www.cdisc.org/ns/def/")), NS_DEF)
    ns = {"odm": NS_ODM, "def": def_ns, "arm": NS_ARM}
    out: list[Problem] = []
    defined: dict[str, set[str]] = {}
    for kind, path in _DEFS.items():
        seen: set[str] = set()
        for attr in root.xpath(path, namespaces=ns):
            if attr in seen:
                out.append(Problem(name, attr.getparent().sourceline, None, str(attr), f"{kind} OID is defined twice"))
            seen.add(str(attr))
        defined[kind] = seen
    for path, kind in _REFS:
        for attr in root.xpath(path, namespaces=ns):
            if str(attr) not in defined[kind]:
                element = attr.getparent()
                tag = etree.QName(element).localname
                out.append(Problem(name, element.sourceline, None, str(attr),
                                   f"{tag} refers to a {kind} that is not in the document"))
    return out


def validate_define(source: Source, *, name: str = "define.xml", schema: Path | None = None) -> list[Problem]:
    """Every schema message and every dangling or duplicate OID; [] when the define is valid."""
    tree = parse(source, name=name)
    return schema_problems(tree, name=name, schema=schema) + reference_problems(tree, name=name)


def check_define(source: Source, *, name: str = "define.xml") -> None:
    """Raise SubError with the first messages when the define is not valid."""
    problems = validate_define(source, name=name)
    if problems:
        raise SubError(problems[:SHOWN], f"{name} is not valid Define-XML 2.1: {len(problems)} message(s)"
                       + (f", the first {SHOWN} shown" if len(problems) > SHOWN else ""))


def render_html(source: Source, *, name: str = "define.xml") -> bytes:
    """define.html: the define rendered with the CDISC/PHUSE stylesheet (no file or network access)."""
    tree = parse(source, name=name)
    transform = _transform()
    try:
        result = transform(tree)
    except etree.XSLTApplyError as exc:
        raise SubError(Problem(name, None, None, None, f"the stylesheet cannot render it: {exc}")) from None
    return bytes(result)
