"""The one XML parser of `sub`: every XML file or part that sub reads goes through `parse`.

A define.xml given to `sub validate` or `sub diff` comes from anywhere. The parser resolves no
entity, loads no DTD, touches no network and keeps libxml2's limits on depth and text size
(huge_tree off). A document that declares a DTD (`<!DOCTYPE ...>`, with or without entities) is
refused outright: Define-XML and the XML parts sub reads need none, and an unexpanded entity left
in a tree breaks later steps (the schema validator fails on it) instead of being reported. Every
failure is a SubError naming the file (and the line when the parser knows it), never an
exception from lxml.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from .errors import Problem, SubError

SHOWN_MESSAGE = 200  # characters of the parser's own message


def parser() -> etree.XMLParser:
    """A parser that resolves no entities, loads no DTD, uses no network and keeps the size limits."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False)


def _declares_dtd(data: bytes) -> bool:
    head = data[: 1 << 16]
    return b"<!DOCTYPE" in head or b"<!ENTITY" in head


def parse(source: Path | str | bytes, *, name: str | None = None, allow_doctype: bool = False) -> etree._ElementTree:
    """The document in a file (a path) or in bytes; SubError when it cannot be read, is not
    well-formed XML or declares a DTD. `allow_doctype` is for files that ship inside an installed
    package (a schema), never for a user's file: even then nothing is resolved or loaded."""
    label = name or (str(source) if isinstance(source, (Path, str)) else "XML document")
    if isinstance(source, (Path, str)):
        path = Path(source)
        try:
            data = path.read_bytes()
        except IsADirectoryError:
            raise SubError(Problem(label, None, None, None, "is a folder, not an XML file")) from None
        except FileNotFoundError:
            raise SubError(Problem(label, None, None, None, "file not found")) from None
        except OSError as exc:
            raise SubError(Problem(label, None, None, None, f"cannot read the file: {exc.strerror or exc}")) from None
    else:
        data = bytes(source)
    try:
        # base_url lets a schema find the files it includes beside it (loaded by the schema parser)
        root = etree.fromstring(data, parser(), base_url=str(source) if isinstance(source, (Path, str)) else None)
    except etree.XMLSyntaxError as exc:
        if not allow_doctype and _declares_dtd(data):
            raise SubError(_dtd_problem(label)) from None
        line = exc.lineno or None
        message = (exc.msg or str(exc))[:SHOWN_MESSAGE]
        raise SubError(Problem(label, line, None, None, f"not well-formed XML: {message}")) from None
    except ValueError as exc:  # e.g. a str with an encoding declaration; only bytes reach here
        raise SubError(Problem(label, None, None, None, f"not readable as XML: {exc}")) from None
    tree = root.getroottree()
    if not allow_doctype and (tree.docinfo.doctype or tree.docinfo.internalDTD is not None):
        raise SubError(_dtd_problem(label))
    return tree


def _dtd_problem(label: str) -> Problem:
    return Problem(label, None, None, None, "declares a DTD (<!DOCTYPE>, <!ENTITY>): refused, sub reads no DTD or "
                                            "entity (they can read local files or expand without end)")


def fromstring(data: bytes, *, name: str, allow_doctype: bool = False) -> etree._Element:
    """The root element of the document in `data` (see `parse`)."""
    return parse(data, name=name, allow_doctype=allow_doctype).getroot()
