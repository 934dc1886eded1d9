"""A Korean A4 report in Word (python-docx): styles, sections, captions, tables, figures, same bytes every build.

What python-docx does not do by itself, and this module does (domain.md section 7):
- Korean text needs the East Asian font in the XML (`w:eastAsia` on `w:rFonts`); the template's
  styles point at theme fonts (`w:asciiTheme`, `w:eastAsiaTheme`, ...), which win over explicit
  names, so the theme references are removed and the names set on the document defaults, on
  every style (Normal, headings, Caption, TOC, Header, Footer, the table style, ...) and on
  every run this module writes.
- The default page is US Letter: every section is A4; a landscape section swaps width and height.
- A table's first row repeats on every page (`w:tblHeader`), rows do not split across pages.
- Captions number themselves with SEQ fields whose cached result is the explicit number.
- The table of contents and the lists of tables and figures are entry paragraphs (styles
  "toc 1".."toc 3"), each a link to a bookmark on its heading or caption with a `PAGEREF` field
  for the page, and no enclosing TOC field: LibreOffice shows a TOC field's cached text as it
  is, but computes a PAGEREF outside one when it lays the document out, so the first rendering
  already prints the right pages. The fields' cached values (`toc_pages`, `caption_pages`) are
  what Word and other viewers show; they never change the layout. Without known pages the
  contents carry `toc_note` and Word is asked to update the fields on opening (w:updateFields).
- The page footer is "X / Y 쪽" from PAGE and NUMPAGES fields.
- python-docx stamps zip entries with the wall clock: the saved package is rewritten with fixed
  entry times and fixed core properties, so two builds give identical bytes.

Font: every run-font slot (Latin, East Asian, complex script) of the document defaults, of every
style and of every run names NanumGothic, the free Korean font a plain LibreOffice finds with
fonts-nanum, so that every LibreOffice lays the report out alike (Latin text included: a font
name that fontconfig does not know, such as 맑은 고딕, gets DejaVu Sans for Latin text). The font
table gives it the alternative name 맑은 고딕 (w:altName), Korean charset and a sans-serif family,
so Word on a machine without NanumGothic substitutes the Korean Office font.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt, RGBColor
from lxml import etree

from ..io import write_atomic
from ._frames import is_missing

DEFAULT_FONT = "NanumGothic"  # the free Korean font (fonts-nanum; the figures use the same face)
DEFAULT_FONT_ALT = "맑은 고딕"  # Malgun Gothic, the Korean Office font: the font table's altName for Word
FALLBACK_FONT = "NanumGothic"
OFFICE_FONTS = ("맑은 고딕", "Malgun Gothic")  # documents of earlier versions named these

_THEME_ATTRS = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")
_ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT}
_JC = {"left": "left", "center": "center", "right": "right"}
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# Children of w:pPr that come after w:pBdr in the schema's sequence.
_AFTER_PBDR = ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
               "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
               "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
               "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId",
               "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")
_TWIPS_PER_MM = 1440 / 25.4
# Table row heights for keeping row groups on a page: a line of NanumGothic is 1.15 em (ascent +
# descent) at single spacing; a row adds its top and bottom cell margins and borders.
ROW_LINE_EM = 1.2
ROW_PADDING_MM = 0.8
FIGURE_ROOM_MM = 45.0  # below a figure on its page: caption and footnotes
PAGE_FILL = 0.85  # a chunk of a long group fills at most this share of the text height (header row aside)
# Children of w:settings that come after w:updateFields in the schema's sequence (local names).
_AFTER_UPDATE_FIELDS = ("hdrShapeDefaults", "footnotePr", "endnotePr", "compat", "docVars", "rsids", "mathPr",
                        "attachedSchema", "themeFontLang", "clrSchemeMapping", "doNotIncludeSubdocsInStats",
                        "doNotAutoCompressPictures", "forceUpgrade", "captions", "readModeInkLockDown",
                        "smartTagType", "schemaLibrary", "shapeDefaults", "doNotEmbedSmartTags", "decimalSymbol",
                        "listSeparator")


@dataclass(frozen=True)
class Fonts:
    """Font names and sizes. `east_asia` is what Hangul uses; `latin` the rest."""

    east_asia: str = DEFAULT_FONT
    latin: str = DEFAULT_FONT
    alt_name: str | None = DEFAULT_FONT_ALT  # the font table's alternative name for `east_asia`
    size_pt: float = 10.0
    table_size_pt: float = 8.0
    footnote_size_pt: float = 8.0
    caption_size_pt: float = 10.0
    heading_sizes_pt: tuple[float, ...] = (14.0, 12.0, 11.0, 10.0)
    language: str = "ko-KR"


@dataclass(frozen=True)
class PageSetup:
    """A4 portrait in millimetres; landscape sections use the same margins with the page turned."""

    width_mm: float = 210.0
    height_mm: float = 297.0
    top_mm: float = 25.0
    bottom_mm: float = 20.0
    left_mm: float = 20.0
    right_mm: float = 20.0
    header_mm: float = 12.5
    footer_mm: float = 10.0

    def text_width_mm(self, landscape: bool = False) -> float:
        return (self.height_mm if landscape else self.width_mm) - self.left_mm - self.right_mm


# --------------------------------------------------------------------------- XML helpers

def set_run_fonts(rpr, fonts: Fonts) -> None:
    """Name the fonts on a `w:rPr` (run or style): Latin, East Asian and complex script; no theme fonts."""
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in _THEME_ATTRS:
        if rfonts.get(qn(attr)) is not None:
            del rfonts.attrib[qn(attr)]
    rfonts.set(qn("w:ascii"), fonts.latin)
    rfonts.set(qn("w:hAnsi"), fonts.latin)
    rfonts.set(qn("w:eastAsia"), fonts.east_asia)
    rfonts.set(qn("w:cs"), fonts.latin)
    rfonts.set(qn("w:hint"), "eastAsia")


def _run_fonts_element(fonts: Fonts):
    rpr = OxmlElement("w:rPr")
    set_run_fonts(rpr, fonts)
    return rpr[0]


def _without_ns(xml: str) -> str:
    """Serialized WordprocessingML without its namespace declarations (it goes inside a parent that has them)."""
    return re.sub(r' xmlns:\w+="[^"]*"', "", xml)


def _xml_text(text: str) -> str:
    """Text for an XML element's content: the parser reads back exactly `text` (a CR would become LF)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _set_lang(rpr, language: str) -> None:
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), language)


def _child(parent, tag: str, first: bool = False):
    found = parent.find(qn(tag))
    if found is None:
        found = OxmlElement(tag)
        if first:
            parent.insert(0, found)
        else:
            parent.append(found)
    return found


def _field_runs(paragraph, instruction: str, cached: str, fonts: Fonts, *, size_pt: float | None = None,
                bold: bool | None = None) -> list:
    """A complex field (begin, instruction, separate, cached result, end) at the end of `paragraph`;
    returns its runs."""
    runs = []
    for kind, text in (("begin", None), ("instr", instruction), ("separate", None), ("text", cached), ("end", None)):
        run = paragraph.add_run()
        runs.append(run)
        _format_run(run, fonts, size_pt=size_pt, bold=bold)
        if kind == "instr":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = f" {text} "
            run._r.append(instr)
        elif kind == "text":
            run.text = text
        else:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run._r.append(fld)
    return runs


def _format_run(run, fonts: Fonts, *, size_pt: float | None = None, bold: bool | None = None,
                color: str | None = None) -> None:
    set_run_fonts(run._r.get_or_add_rPr(), fonts)
    if size_pt is not None:
        run.font.size = Pt(size_pt)
    if bold is not None:
        run.font.bold = bold
    if color is not None:
        run.font.color.rgb = RGBColor.from_string(color)


def display_width(text: str) -> int:
    """Width in half-width cells: Hangul and other wide characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _cell_text(value) -> str:
    if value is None or is_missing(value):
        return ""
    return str(value)


# --------------------------------------------------------------------------- the document

class ReportDocument:
    """Build a Korean report top to bottom; `to_bytes()`/`save()` give the same bytes for the same calls.

    Orientation is a state: `landscape=True` (or False) on any content method, or
    `set_orientation`, starts a new section on a new page when the orientation changes;
    `landscape=None` (the default) continues in the current one. A section starts only when
    content follows, so a document never ends with an empty page.
    """

    def __init__(self, *, created: dt.datetime, header_text: str = "", title: str = "", author: str = "",
                 subject: str = "", fonts: Fonts | None = None, page: PageSetup | None = None,
                 table_label: str = "표", figure_label: str = "그림", footer_template: str = "{page} / {pages} 쪽",
                 toc_levels: int = 3, update_fields_on_open: bool = False):
        self.fonts = fonts or Fonts()
        self.page = page or PageSetup()
        self.created = created.replace(microsecond=0, tzinfo=None)
        self.table_label, self.figure_label = table_label, figure_label
        self.toc_levels = toc_levels
        self.headings: list[tuple[int, str]] = []
        self.toc_pages: list[int | None] | None = None
        # Captions in document order: (SEQ name, number, "표 3. title"), for the lists of tables and figures.
        self.captions: list[tuple[str, int, str]] = []
        self.caption_pages: list[int | None] | None = None
        self._lists: list[tuple[object, str]] = []  # (anchor paragraph, SEQ name) of each list of captions
        self._lists_generated: list = []
        self._tables = 0
        self._figures = 0
        self._toc_anchor = None
        self._toc_title = ""
        self._toc_generated: list = []
        # Bookmarks on the headings and captions the contents link to, in document order (same names every build).
        self._heading_marks: list[str] = []
        self._caption_marks: list[str | None] = []
        self._marks = 0
        # A note under the contents' title for a document whose page numbers are not filled in; with it
        # Word is asked to update the fields on opening.
        self.toc_note: str | None = None
        self._landscape = False
        self._has_content = False
        self.layout_notes: list[str] = []  # tables that needed a smaller font or a landscape page

        self.doc = Document()
        self._setup_styles()
        self._setup_settings(update_fields_on_open)
        self._setup_font_table()
        self._drop_template_thumbnail()
        props = self.doc.core_properties
        props.title, props.author, props.subject = title, author, subject
        props.last_modified_by, props.comments, props.keywords, props.category = author, "", "", ""
        props.revision = 1
        props.created = props.modified = self.created
        props.language = self.fonts.language

        section = self.doc.sections[0]
        self._page_setup(section, landscape=False)
        self._header_footer(section, header_text, footer_template)

    # ----------------------------------------------------------------- setup

    def _setup_styles(self) -> None:
        fonts = self.fonts
        styles = self.doc.styles
        defaults = styles.element.find(qn("w:docDefaults"))
        rpr = _child(_child(defaults, "w:rPrDefault"), "w:rPr")
        set_run_fonts(rpr, fonts)
        _set_lang(rpr, fonts.language)

        normal = styles["Normal"]
        normal.font.size = Pt(fonts.size_pt)
        normal.paragraph_format.space_after = Pt(4)
        normal.paragraph_format.line_spacing = 1.15

        for level, size in enumerate(fonts.heading_sizes_pt, start=1):
            style = styles[f"Heading {level}"]
            style.font.size = Pt(size)
            style.font.bold = True
            style.font.italic = False
            style.font.color.rgb = RGBColor(0, 0, 0)
            style.paragraph_format.space_before = Pt(12 if level == 1 else 8)
            style.paragraph_format.space_after = Pt(4)
        for name in ("Title", "Subtitle"):
            styles[name].font.color.rgb = RGBColor(0, 0, 0)

        caption = styles["Caption"]
        caption.font.size = Pt(fonts.caption_size_pt)
        caption.font.bold = True
        caption.font.color.rgb = RGBColor(0, 0, 0)
        caption.paragraph_format.space_before = Pt(6)
        caption.paragraph_format.space_after = Pt(3)
        caption.paragraph_format.keep_with_next = True

        table_text = styles.add_style("Table Text", WD_STYLE_TYPE.PARAGRAPH)
        table_text.base_style = normal
        table_text.font.size = Pt(fonts.table_size_pt)
        fmt = table_text.paragraph_format
        fmt.space_before = fmt.space_after = Pt(0)
        fmt.line_spacing = 1.0

        footnote = styles.add_style("Table Footnote", WD_STYLE_TYPE.PARAGRAPH)
        footnote.base_style = normal
        footnote.font.size = Pt(fonts.footnote_size_pt)
        footnote.paragraph_format.space_before = footnote.paragraph_format.space_after = Pt(0)
        footnote.paragraph_format.line_spacing = 1.0

        text_width = Mm(self.page.text_width_mm())
        for level in range(1, self.toc_levels + 1):
            toc = styles.add_style(f"toc {level}", WD_STYLE_TYPE.PARAGRAPH)
            toc.element.set(qn("w:styleId"), f"TOC{level}")
            toc.element.attrib.pop(qn("w:customStyle"), None)  # a built-in style of Word, not a custom one
            toc.base_style = normal
            toc.paragraph_format.left_indent = Mm(4 * (level - 1))
            toc.paragraph_format.space_after = Pt(2)
            toc.paragraph_format.tab_stops.add_tab_stop(text_width, WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
            toc.font.bold = level == 1

        # Every style names the fonts itself: Word and LibreOffice then agree whatever they inherit.
        for style in styles.element.findall(qn("w:style")):
            if style.get(qn("w:type")) in ("paragraph", "character", "table"):
                set_run_fonts(_child(style, "w:rPr"), fonts)

    def _setup_settings(self, update_fields_on_open: bool) -> None:
        settings = self.doc.settings.element
        lang = settings.find(qn("w:themeFontLang"))
        if lang is not None:
            lang.set(qn("w:val"), "en-US")
            lang.set(qn("w:eastAsia"), self.fonts.language)
        self._update_fields_on_open = update_fields_on_open
        self._set_update_fields(False)

    def _drop_template_thumbnail(self) -> None:
        # The template's preview picture would show a file manager some other document.
        rels = self.doc.part.package.rels
        for rid, rel in list(rels.items()):
            if rel.reltype.endswith("/metadata/thumbnail"):
                del rels[rid]
                rels._target_parts_by_rId.pop(rid, None)

    def _setup_font_table(self) -> None:
        part = next((rel.target_part for rel in self.doc.part.rels.values() if rel.reltype.endswith("/fontTable")), None)
        if part is None:
            return
        from lxml import etree

        from ..safexml import fromstring

        root = fromstring(part.blob, name=f"the Word template's {part.partname}")
        ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
        names = {self.fonts.east_asia, self.fonts.latin}
        for name in sorted(names):
            font = etree.SubElement(root, f"{{{ns}}}font")
            font.set(f"{{{ns}}}name", name)
            if name == self.fonts.east_asia and self.fonts.alt_name and self.fonts.alt_name != name:
                etree.SubElement(font, f"{{{ns}}}altName").set(f"{{{ns}}}val", self.fonts.alt_name)
            etree.SubElement(font, f"{{{ns}}}charset").set(f"{{{ns}}}val", "81")  # Hangul
            etree.SubElement(font, f"{{{ns}}}family").set(f"{{{ns}}}val", "swiss")  # sans-serif: what Word substitutes by
            etree.SubElement(font, f"{{{ns}}}pitch").set(f"{{{ns}}}val", "variable")
        part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

    def _page_setup(self, section, *, landscape: bool) -> None:
        page = self.page
        short, long_ = Mm(page.width_mm), Mm(page.height_mm)
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = (long_, short) if landscape else (short, long_)
        section.top_margin, section.bottom_margin = Mm(page.top_mm), Mm(page.bottom_mm)
        section.left_margin, section.right_margin = Mm(page.left_mm), Mm(page.right_mm)
        section.header_distance, section.footer_distance = Mm(page.header_mm), Mm(page.footer_mm)

    def _header_footer(self, section, header_text: str, footer_template: str) -> None:
        fonts = self.fonts
        header = section.header.paragraphs[0]
        header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        if header_text:
            _format_run(header.add_run(header_text), fonts, size_pt=fonts.footnote_size_pt)
        border = OxmlElement("w:pBdr")
        bottom = OxmlElement("w:bottom")
        for key, value in (("w:val", "single"), ("w:sz", "4"), ("w:space", "1"), ("w:color", "auto")):
            bottom.set(qn(key), value)
        border.append(bottom)
        header._p.get_or_add_pPr().insert_element_before(border, *_AFTER_PBDR)

        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        for piece in re.split(r"(\{page\}|\{pages\})", footer_template):
            if piece == "{page}":
                _field_runs(footer, "PAGE", "1", fonts, size_pt=fonts.footnote_size_pt)
            elif piece == "{pages}":
                _field_runs(footer, "NUMPAGES", "1", fonts, size_pt=fonts.footnote_size_pt)
            elif piece:
                _format_run(footer.add_run(piece), fonts, size_pt=fonts.footnote_size_pt)
        # The cover page (first page of the first section) has neither header nor footer.
        section.different_first_page_header_footer = True

    # ----------------------------------------------------------------- sections

    @property
    def landscape(self) -> bool:
        return self._landscape

    def set_orientation(self, landscape: bool) -> None:
        """Continue in a landscape (or portrait) section from here, starting a new page if it changes."""
        if landscape == self._landscape:
            return
        if not self._has_content:
            self._page_setup(self.doc.sections[-1], landscape=landscape)
            self._landscape = landscape
            return
        self.doc.add_section(WD_SECTION.NEW_PAGE)
        # The paragraph python-docx adds to close the previous section: make it take no room.
        closing = self.doc.element.body.findall(qn("w:p"))[-1]
        self._shrink(closing)
        section = self.doc.sections[-1]
        self._page_setup(section, landscape=landscape)
        section.different_first_page_header_footer = False
        self._landscape = landscape

    def _shrink(self, p_element) -> None:
        ppr = p_element.get_or_add_pPr()
        spacing = ppr.get_or_add_spacing()
        spacing.set(qn("w:before"), "0")
        spacing.set(qn("w:after"), "0")
        spacing.set(qn("w:line"), "20")
        spacing.set(qn("w:lineRule"), "exact")
        rpr = OxmlElement("w:rPr")
        size = OxmlElement("w:sz")
        size.set(qn("w:val"), "2")
        rpr.append(size)
        ppr.insert_element_before(rpr, "w:sectPr", "w:pPrChange")

    def _ready(self, landscape: bool | None) -> None:
        self.set_orientation(self._landscape if landscape is None else landscape)
        self._has_content = True

    # ----------------------------------------------------------------- text

    def paragraph(self, text: str = "", *, style: str | None = None, bold: bool | None = None,
                  size_pt: float | None = None, align: str | None = None, landscape: bool | None = None,
                  keep_with_next: bool = False):
        """A paragraph of text (lines split on newlines)."""
        self._ready(landscape)
        p = self.doc.add_paragraph(style=style)
        if align:
            p.alignment = _ALIGN[align]
        if keep_with_next:
            p.paragraph_format.keep_with_next = True
        for i, line in enumerate(text.split("\n")):
            run = p.add_run(line)
            _format_run(run, self.fonts, size_pt=size_pt, bold=bold)
            if i:
                run._r.insert(run._r.index(run._r.find(qn("w:t"))), OxmlElement("w:br"))
        return p

    def heading(self, text: str, level: int = 1, *, landscape: bool | None = None):
        """A numbered-by-the-author heading (give "1. 개요" etc.); it is listed in the table of contents."""
        self._ready(landscape)
        p = self.doc.add_heading(level=level)
        _format_run(p.add_run(text), self.fonts)
        if level <= self.toc_levels:
            self.headings.append((level, text))
            self._heading_marks.append(self._bookmark(p) if self._toc_anchor is not None else "")
        return p

    def _bookmark(self, p) -> str:
        """A bookmark around the paragraph's content; its name ("_Toc" and a serial number, hidden in
        Word like Word's own contents bookmarks) is the same in every build of the same document."""
        self._marks += 1
        name = f"_Toc{self._marks:09d}"
        start = OxmlElement("w:bookmarkStart")
        start.set(qn("w:id"), str(self._marks))
        start.set(qn("w:name"), name)
        end = OxmlElement("w:bookmarkEnd")
        end.set(qn("w:id"), str(self._marks))
        ppr = p._p.find(qn("w:pPr"))
        if ppr is not None:
            ppr.addnext(start)
        else:
            p._p.insert(0, start)
        p._p.append(end)
        return name

    def page_break(self) -> None:
        p = self.doc.add_paragraph()
        p.add_run().add_break(WD_BREAK.PAGE)

    def cover(self, title: str, *, subtitle: str | None = None, lines: Sequence[str] = (),
              facts: Sequence[tuple[str, str]] = (), note: str | None = None, note_color: str = "C00000") -> None:
        """The cover page: title, subtitle, a two-column table of facts, free lines and a note; then a new page."""
        self._ready(False)
        for _ in range(6):
            self.doc.add_paragraph()
        self.paragraph(title, bold=True, size_pt=20, align="center", landscape=None)
        if subtitle:
            self.paragraph(subtitle, size_pt=14, align="center", landscape=None)
        self.doc.add_paragraph()
        if facts:
            table = self._grid([[k, v] for k, v in facts], widths_mm=[45, 95], header=None, size_pt=self.fonts.size_pt,
                               align=["left", "left"])
            table.tblPr.get_or_add_jc().set(qn("w:val"), "center")
            self.doc.add_paragraph()
        for line in lines:
            self.paragraph(line, align="center", landscape=None)
        if note:
            p = self.paragraph("", align="center", landscape=None)
            _format_run(p.add_run(note), self.fonts, bold=True, color=note_color)
        self.page_break()

    def toc(self, title: str = "목차") -> None:
        """A table of contents: one entry per heading added after it (levels 1..toc_levels), each a link to
        its heading with a PAGEREF field for the page (see the module's docstring).

        The fields' cached values are `toc_pages` when set (e.g. read from a rendering, see
        `render.heading_pages`), else empty; LibreOffice computes the pages itself when it lays the
        document out, Word when the fields are updated (F9, or on opening with `toc_note`).
        """
        self._ready(False)
        self._toc_title = title
        self._toc_anchor = self.paragraph(title, bold=True, size_pt=self.fonts.heading_sizes_pt[0], landscape=None)._p
        self.page_break()

    def lists_of_captions(self, lists: Sequence[tuple[str, str]]) -> None:
        """Lists of tables and figures after the table of contents: (title, SEQ name) each, e.g.
        ("표 목차", "Table"). Each lists every caption of its kind added after it, as the contents list
        the headings (a link and a PAGEREF field; cached pages from `caption_pages`). Then a new page."""
        self._ready(False)
        for title, seq in lists:
            anchor = self.paragraph(title, bold=True, size_pt=self.fonts.heading_sizes_pt[0], landscape=None)._p
            self._lists.append((anchor, seq))
        self.page_break()

    def _entry(self, style: str, text: str, mark: str | None, page: int | None, *, bold: bool | None = None):
        """One entry of the contents or of a list: a link to `mark` holding the text, a tab (dot
        leader to the right margin) and a PAGEREF field whose cached value is `page` (empty if None)."""
        p = self.doc.add_paragraph(style=style)
        runs = [p.add_run(text)]
        if mark:
            runs.append(p.add_run("\t"))
            runs += _field_runs(p, f"PAGEREF {mark} \\h", "" if page is None else str(page), self.fonts, bold=bold)
        for run in runs:
            _format_run(run, self.fonts, bold=bold)
        if mark:
            link = OxmlElement("w:hyperlink")
            link.set(qn("w:anchor"), mark)
            link.set(qn("w:history"), "1")
            for run in runs:
                link.append(run._r)  # moves the run into the link
            p._p.append(link)
        return p

    def _insert_after(self, anchor, paragraphs: list, generated: list) -> None:
        for p in paragraphs:
            anchor.addnext(p._p)
            anchor = p._p
            generated.append(p._p)

    def _write_lists(self) -> None:
        for element in self._lists_generated:
            element.getparent().remove(element)
        self._lists_generated = []
        for anchor, seq in self._lists:
            entries = [(i, text) for i, (name, _, text) in enumerate(self.captions) if name == seq]
            paragraphs = []
            for i, text in entries:
                page = self.caption_pages[i] if self.caption_pages and i < len(self.caption_pages) else None
                mark = self._caption_marks[i] if i < len(self._caption_marks) else None
                paragraphs.append(self._entry("toc 1", text, mark, page, bold=False))
            if not paragraphs:
                paragraphs.append(self.doc.add_paragraph(style="toc 1"))
            self._insert_after(anchor, paragraphs, self._lists_generated)

    def _write_toc(self) -> None:
        for element in self._toc_generated:
            element.getparent().remove(element)
        self._toc_generated = []
        self._set_update_fields(self._toc_anchor is not None and self.toc_note is not None)
        if self._toc_anchor is None:
            return
        paragraphs = []
        if self.toc_note:
            note = self.doc.add_paragraph(style="Table Footnote")
            _format_run(note.add_run(self.toc_note), self.fonts)
            paragraphs.append(note)
        for i, (level, text) in enumerate(self.headings):
            page = self.toc_pages[i] if self.toc_pages and i < len(self.toc_pages) else None
            mark = self._heading_marks[i] if i < len(self._heading_marks) else None
            paragraphs.append(self._entry(f"toc {min(level, self.toc_levels)}", text, mark, page))
        if len(paragraphs) == (1 if self.toc_note else 0):
            paragraphs.append(self.doc.add_paragraph(style="toc 1"))
        self._insert_after(self._toc_anchor, paragraphs, self._toc_generated)

    def _set_update_fields(self, on: bool) -> None:
        """w:updateFields in the settings: Word then offers to update every field when the file opens."""
        settings = self.doc.settings.element
        for old in settings.findall(qn("w:updateFields")):
            settings.remove(old)
        if on or self._update_fields_on_open:
            update = OxmlElement("w:updateFields")
            update.set(qn("w:val"), "true")
            # its place in the schema's sequence of w:settings: before w:hdrShapeDefaults and what follows
            follower = next((c for c in settings if isinstance(c.tag, str)
                             and c.tag.rsplit("}", 1)[-1] in _AFTER_UPDATE_FIELDS), None)
            if follower is not None:
                follower.addprevious(update)
            else:
                settings.append(update)

    # ----------------------------------------------------------------- captions

    def _caption(self, label: str, seq: str, number: int, text: str) -> None:
        self.captions.append((seq, number, f"{label} {number}. {text}"))
        p = self.doc.add_paragraph(style="Caption")
        _format_run(p.add_run(f"{label} "), self.fonts)
        _field_runs(p, f"SEQ {seq} \\* ARABIC", str(number), self.fonts)
        _format_run(p.add_run(f". {text}"), self.fonts)
        listed = any(name == seq for _, name in self._lists)
        self._caption_marks.append(self._bookmark(p) if listed else None)

    # ----------------------------------------------------------------- tables

    def _grid(self, rows: list[list[str]], *, widths_mm: Sequence[float], header: list[str] | None,
              size_pt: float, align: Sequence[str], indent: Sequence[int] | None = None,
              bold_rows: Sequence[int] = (), indent_mm: float = 3.0, can_split: bool = False,
              keep_next: Sequence[int] = ()):
        """The table XML: fixed layout, grid and cell widths, repeating header, rows that do not split
        (`can_split`: long text rows may continue on the next page). `keep_next`: rows whose
        paragraphs keep with the next row (a row group stays on one page)."""
        table = self.doc.add_table(rows=0, cols=len(widths_mm))
        table.style = self.doc.styles["Table Grid"]
        tbl = table._tbl
        tblPr = tbl.tblPr
        twips = [max(1, round(w * _TWIPS_PER_MM)) for w in widths_mm]
        width = _child(tblPr, "w:tblW")
        width.set(qn("w:w"), str(sum(twips)))
        width.set(qn("w:type"), "dxa")
        tblPr.get_or_add_tblLayout().set(qn("w:type"), "fixed")
        margins = OxmlElement("w:tblCellMar")
        for side, twips_ in (("top", 15), ("left", 57), ("bottom", 15), ("right", 57)):
            margin = OxmlElement(f"w:{side}")
            margin.set(qn("w:w"), str(twips_))
            margin.set(qn("w:type"), "dxa")
            margins.append(margin)
        tblPr.insert_element_before(margins, "w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange")
        grid = tbl.tblGrid
        for col, tw in zip(grid.findall(qn("w:gridCol")), twips):
            col.set(qn("w:w"), str(tw))
        bold_rows = set(bold_rows)
        keep_next = set(keep_next)

        # The rows as XML text, parsed once per table: a listing of 100,000 records has millions of
        # elements, and creating each through the oxml parser was most of the report's Word time.
        fonts_xml = _without_ns(etree.tostring(_run_fonts_element(self.fonts), encoding="unicode"))
        size = f'<w:sz w:val="{round(size_pt * 2)}"/>'
        run_props = {False: f"<w:rPr>{fonts_xml}{size}</w:rPr>", True: f"<w:rPr>{fonts_xml}<w:b/>{size}</w:rPr>"}
        shade = '<w:shd w:val="clear" w:color="auto" w:fill="D9D9D9"/>'

        def row_xml(values: list[str], *, is_header: bool, index: int | None = None) -> str:
            props = ("<w:cantSplit/>" if is_header or not can_split else "") + ("<w:tblHeader/>" if is_header else "")
            out = [f"<w:tr><w:trPr>{props}</w:trPr>" if props else "<w:tr><w:trPr/>"]
            rpr = run_props[bool(is_header or (index in bold_rows))]
            keep = "<w:keepNext/>" if is_header or index in keep_next else ""
            for j, (value, tw) in enumerate(zip(values, twips)):
                ind = ""
                if j == 0 and indent is not None and index is not None and indent[index]:
                    ind = f'<w:ind w:left="{round(indent[index] * indent_mm * _TWIPS_PER_MM)}"/>'
                jc = "center" if is_header else _JC[align[j]]
                out.append(f'<w:tc><w:tcPr><w:tcW w:w="{tw}" w:type="dxa"/>{shade if is_header else ""}'
                           f'<w:vAlign w:val="center"/></w:tcPr><w:p><w:pPr><w:pStyle w:val="TableText"/>{keep}{ind}'
                           f'<w:jc w:val="{jc}"/></w:pPr>')
                for k, line in enumerate(value.split("\n")):
                    out.append(f'<w:r>{rpr}{"<w:br/>" if k else ""}<w:t xml:space="preserve">{_xml_text(line)}</w:t></w:r>')
                out.append("</w:p></w:tc>")
            out.append("</w:tr>")
            return "".join(out)

        rows_xml = [row_xml(header, is_header=True)] if header is not None else []
        rows_xml += [row_xml(row, is_header=False, index=i) for i, row in enumerate(rows)]
        for tr in list(parse_xml(f"<w:tbl {nsdecls('w')}>{''.join(rows_xml)}</w:tbl>")):
            tbl.append(tr)
        return tbl

    def table(self, frame: pd.DataFrame, *, caption: str | None = None, col_widths_mm: Sequence[float] | None = None,
              footnotes: Sequence[str] = (), landscape: bool | None = None, align: Sequence[str] | str | None = None,
              indent: Sequence[int] | None = None, bold_rows: Sequence[int] = (),
              font_size_pt: float | None = None, can_split: bool = False, label_columns: int = 1,
              min_widths_mm: Sequence[float | None] | None = None, keep_groups: bool = True,
              allow_landscape: bool = True) -> int | None:
        """A table from a frame (column names are the header row, repeated on every page).

        Widths are measured from the text (`widths.fit_table`): every number, p-value, "n (%)" and
        date on one line, the leading `label_columns` columns take the rest and wrap at spaces;
        `min_widths_mm` (None per column for none) are minimums a builder asks for. When the
        statistics cannot fit unbroken, the table's font gets smaller, then the table goes on a
        landscape page (unless `allow_landscape` is False); `layout_notes` records it.
        `col_widths_mm` gives the widths instead (scaled down to the text width when wider).
        `align`: one per column or one for all (default: first column left, the others centred).
        `indent`: indent levels of the first cell per row (e.g. PT under SOC). `keep_groups`: a row
        group (`widths.row_groups`) stays on one page; one longer than a page continues in chunks
        that repeat its label with "(계속)". Footnotes follow the table. Returns the table number
        when captioned.
        """
        from . import widths as measure

        header = [str(c) for c in frame.columns]
        rows = [[_cell_text(v) for v in record] for record in frame.itertuples(index=False, name=None)]
        if indent is not None and len(indent) != len(rows):
            raise ValueError(f"indent has {len(indent)} entries for {len(rows)} rows")
        size = font_size_pt or self.fonts.table_size_pt
        if col_widths_mm is None:
            turned = self._landscape if landscape is None else landscape
            fit = measure.fit_table(header, rows, size_pt=size, landscape=turned,
                                    text_width_mm=self.page.text_width_mm, label_columns=label_columns,
                                    indent=indent, bold_rows=bold_rows, allow_landscape=allow_landscape,
                                    minimum_mm=min_widths_mm)
            widths, size = fit.widths_mm, fit.size_pt
            if fit.note:
                self.layout_notes.append(f"{caption or header[0]}: {fit.note}")
            self._ready(fit.landscape if fit.landscape != turned else landscape)
        else:
            self._ready(landscape)
            if len(col_widths_mm) != len(header):
                raise ValueError(f"col_widths_mm has {len(col_widths_mm)} entries for {len(header)} columns")
            total = self.page.text_width_mm(self._landscape)
            given = sum(col_widths_mm)
            widths = [w * total / given for w in col_widths_mm] if given > total else list(col_widths_mm)
        keep_next: list[int] = []
        if keep_groups and not can_split and rows:
            rows, indent, bold_rows, keep_next = self._grouped_rows(rows, indent, bold_rows, widths, size,
                                                                    header)
        if align is None:
            align = ["left"] + ["center"] * (len(header) - 1)
        elif isinstance(align, str):
            align = [align] * len(header)
        number = None
        if caption is not None:
            self._tables += 1
            number = self._tables
            self._caption(self.table_label, "Table", number, caption)
        self._grid(rows, widths_mm=widths, header=header, size_pt=size,
                   align=align, indent=indent, bold_rows=bold_rows, can_split=can_split, keep_next=keep_next)
        for note in footnotes:
            p = self.doc.add_paragraph(style="Table Footnote")
            _format_run(p.add_run(note), self.fonts)
        if not footnotes:
            self.doc.add_paragraph(style="Table Footnote")
        return number

    def _row_height_mm(self, row: Sequence[str], widths: Sequence[float], size_pt: float, *, bold: bool = False,
                       level: int = 0, indent_mm: float = 3.0) -> float:
        from . import widths as measure

        lines = max(measure.line_count(text, w, size_pt, bold=bold, extra_mm=(level * indent_mm if j == 0 else 0.0))
                    for j, (text, w) in enumerate(zip(row, widths)))
        return lines * size_pt * ROW_LINE_EM / measure.PT_PER_MM + ROW_PADDING_MM

    def _grouped_rows(self, rows: list[list[str]], indent, bold_rows, widths, size_pt, header):
        """Rows with long groups cut into page-sized chunks (each continued chunk led by its label and
        "(계속)"), their indents and bold rows, and the rows that keep with the next one."""
        from . import widths as measure

        page = self.page
        height = (page.width_mm if self._landscape else page.height_mm) - page.top_mm - page.bottom_mm
        room = PAGE_FILL * height - self._row_height_mm(header, widths, size_pt, bold=True)
        bold = set(bold_rows)
        out_rows, out_indent, out_bold, keep = [], [], [], []
        for first, end in measure.row_groups(rows, indent):
            label = rows[first][0].split("\n")[0].strip()
            used = 0.0
            for i in range(first, end):
                level = indent[i] if indent is not None else 0
                h = self._row_height_mm(rows[i], widths, size_pt, bold=i in bold, level=level)
                if i > first and label and used + h > room:
                    # a new chunk: the row before ends the previous one, a label row leads this one
                    if keep and keep[-1] == len(out_rows) - 1:
                        keep.pop()
                    cont = [f"{label} {measure.CONTINUED}"] + [""] * (len(rows[i]) - 1)
                    out_rows.append(cont)
                    out_indent.append(0)
                    if first in bold:
                        out_bold.append(len(out_rows) - 1)
                    keep.append(len(out_rows) - 1)
                    used = self._row_height_mm(cont, widths, size_pt, bold=first in bold)
                out_rows.append(rows[i])
                out_indent.append(level)
                if i in bold:
                    out_bold.append(len(out_rows) - 1)
                if i < end - 1:
                    keep.append(len(out_rows) - 1)
                used += h
        return out_rows, (out_indent if indent is not None else None), out_bold, keep

    # ----------------------------------------------------------------- figures

    def figure(self, image, *, caption: str | None = None, width_mm: float | None = None,
               landscape: bool | None = None, footnotes: Sequence[str] = ()) -> int | None:
        """An image (PNG bytes, a path, or a matplotlib figure) centred, with its caption below."""
        self._ready(landscape)
        if hasattr(image, "savefig"):
            image = figure_png(image)
        stream = io.BytesIO(image) if isinstance(image, (bytes, bytearray)) else open(Path(image), "rb")
        try:
            p = self.doc.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            p.paragraph_format.keep_with_next = True
            if width_mm is None:
                width_mm = self._figure_width_mm(stream)
            p.add_run().add_picture(stream, width=Mm(width_mm))
        finally:
            stream.close()
        number = None
        if caption is not None:
            self._figures += 1
            number = self._figures
            self._caption(self.figure_label, "Figure", number, caption)
        for note in footnotes:
            p = self.doc.add_paragraph(style="Table Footnote")
            _format_run(p.add_run(note), self.fonts)
        return number

    def _figure_width_mm(self, stream) -> float:
        """The text width of the page, narrower when the image would then be taller than the page
        leaves room for (its caption and notes below: `FIGURE_ROOM_MM`)."""
        page = self.page
        width = page.text_width_mm(self._landscape)
        height = (page.width_mm if self._landscape else page.height_mm) - page.top_mm - page.bottom_mm
        head = stream.read(24)
        stream.seek(0)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
            px_w, px_h = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
            if px_w and px_h * width / px_w > height - FIGURE_ROOM_MM:
                width = (height - FIGURE_ROOM_MM) * px_w / px_h
        return width

    # ----------------------------------------------------------------- output

    def to_bytes(self) -> bytes:
        """The .docx package: TOC written from the headings, fixed zip entry times and core properties."""
        self._write_toc()
        self._write_lists()
        raw = io.BytesIO()
        self.doc.save(raw)
        return deterministic_zip(raw.getvalue(), self.created)

    def save(self, path: Path) -> bytes:
        data = self.to_bytes()
        write_atomic(Path(path), data)
        return data


def deterministic_zip(data: bytes, timestamp: dt.datetime | None = None) -> bytes:
    """Rewrite a zip package with every entry stamped `timestamp` (not before 1980) in the same order."""
    stamp = _ZIP_EPOCH
    if timestamp is not None and timestamp.year >= 1980:
        stamp = (timestamp.year, timestamp.month, timestamp.day, timestamp.hour, timestamp.minute,
                 timestamp.second - timestamp.second % 2)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3  # unix, so that unzipping gives ordinary 0644 files
            entry.external_attr = 0o100644 << 16
            dst.writestr(entry, src.read(info.filename), compresslevel=6)
    return out.getvalue()


def figure_png(fig, dpi: int = 200) -> bytes:
    """A matplotlib figure as PNG bytes without the software stamp, the same for the same figure."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None}, bbox_inches="tight")
    return buffer.getvalue()
