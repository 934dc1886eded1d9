"""The package's PDF documents: LibreOffice conversion, a bookmark tree of our own, same bytes every build.

LibreOffice exports every heading as a bookmark, nested as the headings are: an aCRF then has its
forms at the top and the domains of each form under it. Reviewers also want the domains at the top
(every form that feeds AE under "AE"), which no heading order gives. So the bookmarks are rewritten
here: LibreOffice's own entries (each with the exact position of its heading) are read and arranged
into the tree the caller asks for, written as an incremental update (new outline objects, a new
catalogue, an xref section pointing back at the original one), which every PDF reader honours.

LibreOffice stamps each PDF with the wall-clock time and a random file ID: /CreationDate, /ID and
its /DocChecksum are rewritten in place with values of the same length (the creation time of the
build; an MD5 of the file itself), so the xref offsets stay right. Two conversions of the same
document then usually give the same bytes, but not always: LibreOffice may number the embedded
font subsets in another order (seen once on a loaded machine). So the bytes of a rendered PDF
are not promised; its text, pages and bookmarks are (the manifest notes it, the rebuild tests
compare text). The .docx it is rendered from is byte-identical from build to build.

The parser reads what LibreOffice writes (a classic xref table, uncompressed objects); anything
else is refused with a ValueError, and the caller keeps LibreOffice's own bookmarks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

BOOKMARK_EXPORT = '{"ExportBookmarks":{"type":"boolean","value":"true"}}'


@dataclass
class Bookmark:
    """One bookmark: its title, where it goes (a PDF destination array, or None) and its children."""

    title: str
    dest: bytes | None = None
    children: list[Bookmark] = field(default_factory=list)
    open: bool = True

    def first_dest(self) -> bytes | None:
        if self.dest is not None:
            return self.dest
        return next((d for c in self.children if (d := c.first_dest()) is not None), None)


# --------------------------------------------------------------------------- reading

_OBJ = re.compile(rb"(\d+)\s+(\d+)\s+obj\b")


class _Pdf:
    def __init__(self, data: bytes):
        self.data = data
        found = re.findall(rb"startxref\s+(\d+)\s+%%EOF", data)
        if not found:
            raise ValueError("no startxref")
        self.xref_offset = int(found[-1])
        if not data.startswith(b"xref", self.xref_offset):
            raise ValueError("not a classic xref table (an xref stream?)")
        self.offsets: dict[int, int] = {}
        pos = self.xref_offset + 4
        text = data[pos:]
        trailer_at = text.find(b"trailer")
        if trailer_at < 0:
            raise ValueError("no trailer")
        lines = text[:trailer_at].split(b"\n")
        number = 0
        for raw in lines:
            line = raw.strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) == 2:
                number = int(parts[0])
                continue
            if len(parts) == 3 and parts[2] == b"n":
                self.offsets[number] = int(parts[0])
            number += 1
        trailer = text[trailer_at:]
        trailer = trailer[: trailer.find(b"startxref")]
        self.trailer = trailer
        self.root = self._ref(trailer, b"Root")
        self.info = self._ref(trailer, b"Info")
        size = re.search(rb"/Size\s+(\d+)", trailer)
        if self.root is None or size is None:
            raise ValueError("trailer without /Root or /Size")
        self.size = int(size.group(1))

    @staticmethod
    def _ref(text: bytes, key: bytes) -> int | None:
        m = re.search(rb"/" + key + rb"\s+(\d+)\s+0\s+R", text)
        return int(m.group(1)) if m else None

    def obj(self, number: int) -> bytes:
        start = self.offsets.get(number)
        if start is None:
            raise ValueError(f"object {number} is not in the xref table")
        m = _OBJ.match(self.data, start)
        if not m or int(m.group(1)) != number:
            raise ValueError(f"object {number} is not where the xref table says")
        end = self.data.find(b"endobj", m.end())
        return self.data[m.end():end].strip()


def _title(text: bytes) -> str:
    m = re.search(rb"/Title\s*<([0-9A-Fa-f\s]*)>", text)
    if m:
        raw = bytes.fromhex(m.group(1).decode("ascii"))
        return raw[2:].decode("utf-16-be") if raw.startswith(b"\xfe\xff") else raw.decode("latin-1")
    m = re.search(rb"/Title\s*\((.*?)(?<!\\)\)", text, re.DOTALL)
    return m.group(1).decode("latin-1") if m else ""


def _dest(text: bytes) -> bytes | None:
    m = re.search(rb"/Dest\s*(\[[^\]]*\])", text)
    return m.group(1) if m else None


def read_bookmarks(data: bytes) -> list[Bookmark]:
    """The PDF's bookmark tree (titles, destination arrays, children)."""
    pdf = _Pdf(data)
    outlines = pdf._ref(pdf.obj(pdf.root), b"Outlines")
    if outlines is None:
        return []

    def items(first: int | None, depth: int = 0) -> list[Bookmark]:
        out, seen = [], set()
        number = first
        while number is not None and number not in seen and depth < 16:
            seen.add(number)
            text = pdf.obj(number)
            out.append(Bookmark(_title(text), _dest(text), items(pdf._ref(text, b"First"), depth + 1)))
            number = pdf._ref(text, b"Next")
        return out

    return items(pdf._ref(pdf.obj(outlines), b"First"))


# --------------------------------------------------------------------------- writing

def _pdf_text(title: str) -> bytes:
    return b"<FEFF" + title.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def with_bookmarks(data: bytes, tree: list[Bookmark]) -> bytes:
    """`data` with its bookmarks replaced by `tree` (an incremental update; the rest untouched)."""
    pdf = _Pdf(data)
    catalog = pdf.obj(pdf.root)
    if not (catalog.startswith(b"<<") and catalog.endswith(b">>")):
        raise ValueError("unexpected catalogue")
    numbers: dict[int, int] = {}
    flat: list[tuple[Bookmark, int | None]] = []  # (bookmark, parent id); id() keys the numbers
    next_number = pdf.size
    root_number = next_number
    next_number += 1

    def assign(nodes: list[Bookmark], parent: int | None) -> None:
        nonlocal next_number
        for node in nodes:
            numbers[id(node)] = next_number
            next_number += 1
            flat.append((node, parent))
            assign(node.children, id(node))

    assign(tree, None)

    def visible(nodes: list[Bookmark]) -> int:
        return sum(1 + (visible(n.children) if n.open else 0) for n in nodes)

    objects: list[tuple[int, bytes]] = []
    top = [numbers[id(n)] for n in tree]
    root = b"<</Type/Outlines"
    if top:
        root += b"/First %d 0 R/Last %d 0 R/Count %d" % (top[0], top[-1], visible(tree))
    objects.append((root_number, root + b">>"))
    siblings: dict[int | None, list[Bookmark]] = {None: tree}
    for node, _ in flat:
        siblings[id(node)] = node.children
    for node, parent in flat:
        group = siblings[parent]
        i = next(k for k, n in enumerate(group) if n is node)
        body = b"<</Title" + _pdf_text(node.title)
        body += b"/Parent %d 0 R" % (numbers[parent] if parent is not None else root_number)
        if i > 0:
            body += b"/Prev %d 0 R" % numbers[id(group[i - 1])]
        if i + 1 < len(group):
            body += b"/Next %d 0 R" % numbers[id(group[i + 1])]
        if node.children:
            count = visible(node.children)
            body += b"/First %d 0 R/Last %d 0 R/Count %d" % (
                numbers[id(node.children[0])], numbers[id(node.children[-1])], count if node.open else -count)
        dest = node.first_dest()
        if dest is not None:
            body += b"/Dest" + dest
        objects.append((numbers[id(node)], body + b">>"))
    new_catalog = re.sub(rb"/Outlines\s+\d+\s+0\s+R", b"", catalog)
    new_catalog = re.sub(rb"/PageMode\s*/\w+", b"", new_catalog)
    new_catalog = new_catalog[:-2].rstrip() + b"\n/Outlines %d 0 R/PageMode/UseOutlines\n>>" % root_number
    objects.insert(0, (pdf.root, new_catalog))

    out = bytearray(data if data.endswith(b"\n") else data + b"\n")
    offsets: dict[int, int] = {}
    for number, body in objects:
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n"
    ordered = sorted(offsets)
    runs: list[list[int]] = []
    for number in ordered:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    for run in runs:
        out += b"%d %d\n" % (run[0], len(run))
        for number in run:
            out += b"%010d 00000 n \n" % offsets[number]
    trailer = b"<</Size %d/Root %d 0 R" % (next_number, pdf.root)
    if pdf.info is not None:
        trailer += b"/Info %d 0 R" % pdf.info
    ids = re.search(rb"/ID\s*\[\s*<[0-9A-Fa-f]*>\s*<[0-9A-Fa-f]*>\s*\]", pdf.trailer)
    if ids:
        trailer += b"/ID " + ids.group(0)[3:].strip()
    trailer += b"/Prev %d>>" % pdf.xref_offset
    out += b"trailer\n" + trailer + b"\nstartxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


# --------------------------------------------------------------------------- same bytes every build

_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]{32})>\s*<([0-9A-Fa-f]{32})>\s*\]")
_CHECKSUM = re.compile(rb"/DocChecksum\s*/([0-9A-Fa-f]{32})")
_DATE = re.compile(rb"/(CreationDate|ModDate)\s*\(D:(\d{14})")


def reproducible(data: bytes, created: dt.datetime) -> bytes:
    """The PDF with its creation time set to `created` and its file ID and checksum derived from
    its own content: same document, same bytes. Every change keeps the length of what it replaces."""
    stamp = created.strftime("%Y%m%d%H%M%S").encode("ascii")
    out = _DATE.sub(lambda m: m.group(0)[:-14] + stamp, data)
    zero = b"0" * 32
    blank = _ID.sub(lambda m: m.group(0).replace(m.group(1), zero).replace(m.group(2), zero), out)
    blank = _CHECKSUM.sub(lambda m: m.group(0).replace(m.group(1), zero), blank)
    digest = hashlib.md5(blank).hexdigest().upper().encode("ascii")
    out = blank.replace(b"<" + zero + b">", b"<" + digest + b">")
    return _CHECKSUM.sub(lambda m: m.group(0).replace(zero, digest), out)


_LANG = re.compile(rb"/Lang\s*\(([A-Za-z0-9-]*)\)")


def with_language(data: bytes, language: str) -> bytes:
    """The PDF with the language of its catalogue (/Lang, LibreOffice writes the document's Latin
    language) set to `language`, e.g. "ko-KR", in place: the new value is padded with spaces to the
    old length so that the xref offsets stay right. ValueError when there is no /Lang or the new
    value is longer than the old."""
    value = language.encode("ascii")
    found = list(_LANG.finditer(data))
    if not found:
        raise ValueError("no /Lang in the PDF")
    out = bytearray(data)
    for m in reversed(found):
        old = m.group(0)
        new = b"/Lang(" + value + b")"
        if len(new) > len(old):
            raise ValueError(f"/Lang {language!r} is longer than the {m.group(1).decode()!r} it replaces")
        out[m.start():m.end()] = new + b" " * (len(old) - len(new))
    return bytes(out)


def convert(docx: Path, created: dt.datetime, *, arrange=None) -> tuple[Path, str | None]:
    """docx -> PDF beside it, with LibreOffice's heading bookmarks, rearranged by `arrange` (a
    function from LibreOffice's bookmark tree to the wanted one), made reproducible.

    Returns the PDF and a note when the bookmarks could not be rearranged (LibreOffice's are kept).
    Raises SubError when LibreOffice is missing or fails (the caller keeps the .docx then).
    """
    from ..io import write_atomic
    from ..tlf.render import docx_to_pdf

    docx = Path(docx)
    pdf = docx_to_pdf(docx, docx.parent, font_aliases=DOCUMENT_FONT_ALIASES, export_options=BOOKMARK_EXPORT)
    data = pdf.read_bytes()
    note = None
    if arrange is not None:
        try:
            data = with_bookmarks(data, arrange(read_bookmarks(data)))
        except ValueError as exc:
            note = f"LibreOffice's own bookmarks kept in {pdf.name}: {exc}"
    write_atomic(pdf, reproducible(data, created))
    return pdf, note


RENDERED_NOTE = ("rendered by LibreOffice: its bytes may differ between two builds (LibreOffice may number the "
                 "embedded fonts in another order); its text, pages and bookmarks do not")
_PRODUCER = re.compile(rb"/Producer\s*(<FEFF004C0069006200720065004F006600660069006300650[0-9A-F]*>|\(LibreOffice)")


def rendered_by_libreoffice(data: bytes) -> bool:
    """Whether a PDF's producer is LibreOffice (its bytes are then not reproducible)."""
    return _PRODUCER.search(data) is not None


# The package documents name Arial (what a reviewer's Word has); LibreOffice renders it with DejaVu
# Sans, which every LibreOffice installation brings.
DOCUMENT_FONT = "Arial"
DOCUMENT_FONT_ALIASES = {DOCUMENT_FONT: "DejaVu Sans"}
