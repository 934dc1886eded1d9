"""The annotated CRF: every raw form as a CRF page, each field annotated with its SDTM target.

Built from the raw layout (specs/raw: forms, fields, codes) and specs/acrf.csv (the annotations,
checked against the SDTM spec by `annotations.py`), in the CDISC Metadata Submission Guidelines
style: a box per SDTM domain at the top of each form ("DM (Demographics)"), each field's
annotation in its domain's colour ("SEX", "VSORRES when VSTESTCD = HEIGHT", "QVAL when QNAM =
RECRTRT in SUPPDM"), NOT SUBMITTED for fields that never reach SDTM. English and ASCII only.

Pages are planned, not left to the word processor: a cover, an index page, then every form from a
new page, a long form continued on further pages at planned row breaks (rows never split). The
plan is what define.xml cites when there is no PDF; with LibreOffice the PDF is the truth, read
back page by page (`pages_in_pdf`), and build.log says where it differs from the plan.

PDF bookmarks: the forms, then the domains, each domain listing the forms that feed it; both go
to the heading on the page (pdf.py rearranges LibreOffice's heading bookmarks into that tree).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from .annotations import (
    AnnotatedCrf,
    Annotation,
    CrfField,
    CrfForm,
    annotations_of,
    collected_targets,
)

ACRF_NAME = "acrf"
TITLE = "Annotated Case Report Form"
FRONT_PAGES = 2  # the cover and the index
# Annotation colours in the order the domains first appear on a page (the usual aCRF palette:
# light blue, yellow, green, orange), and the grey of notes such as NOT SUBMITTED.
DOMAIN_COLOURS = ("BFFFFF", "FFFF96", "96FF96", "FFBE9B")
NOTE_COLOUR = "E3E3E3"
TABLE_PT = 8.5
WIDTHS_MM = (8.0, 58.0, 52.0, 52.0)  # #, CRF question, response, SDTM annotation
HEADER = ("#", "CRF question", "Response", "SDTM annotation")
# Page budget of the planner, in millimetres of an A4 page's text area (297 - 25 - 20), with room to spare.
TEXT_HEIGHT_MM = 252.0
BUDGET = 0.85


def ascii_text(text: str) -> str:
    """ASCII for the SDTM folder: accents dropped, micro sign as u, anything else as '?'."""
    text = text.replace("\u00b5", "u").replace("\u03bc", "u").replace("\u2264", "<=").replace("\u2265", ">=")
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch if ch.isascii() else ("" if unicodedata.combining(ch) else "?") for ch in text)


# --------------------------------------------------------------------------- the page plan

@dataclass
class FormPage:
    """One planned page of a form: the rows (fields) it holds; the first page has the domain boxes."""

    form: CrfForm
    number: int  # page number in the document
    fields: list[CrfField]
    first: bool


@dataclass
class Plan:
    pages: list[FormPage] = field(default_factory=list)

    def form_pages(self, form: str) -> list[int]:
        return [p.number for p in self.pages if p.form.code == form]

    def first_page(self, form: str) -> int:
        return self.form_pages(form)[0]

    @property
    def last_page(self) -> int:
        return self.pages[-1].number if self.pages else FRONT_PAGES

    def page_of(self, annotation: Annotation) -> int:
        for page in self.pages:
            if page.form.code != annotation.form:
                continue
            if annotation.column == "*" and page.first:
                return page.number
            if any(annotation in f.annotations for f in page.fields):
                return page.number
        raise KeyError(annotation)


def _lines(text: str, width_mm: float, size_pt: float) -> int:
    """Wrapped lines of `text` in a cell `width_mm` wide (a generous estimate of character width)."""
    per_line = max(1, int((width_mm - 2.0) / (size_pt * 0.3528 * 0.56)))
    return sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n"))


def _line_mm(size_pt: float) -> float:
    return size_pt * 0.3528 * 1.25


def row_height_mm(crf: AnnotatedCrf, f: CrfField, layout) -> float:
    cells = [str(1), question_text(f, layout), response_text(f, layout)]
    lines = max(_lines(text, width, TABLE_PT) for text, width in zip(cells, WIDTHS_MM))
    notes = sum(_lines(a.text, WIDTHS_MM[3], TABLE_PT) for a in f.annotations) or 1
    return max(lines, notes) * _line_mm(TABLE_PT) + 1.2 + 0.8 * max(0, len(f.annotations) - 1)


def head_height_mm(form: CrfForm, first: bool) -> float:
    if not first:
        return 12.0 + 6.0
    description = _lines(form.form.description, 170.0, 9.0) * _line_mm(9.0) + 4.0
    boxes = len(form.domains) * 8.5
    boxes += sum(_lines(a.text, 170.0, 9.0) * _line_mm(9.0) + 1.5 for a in form.form_annotations)
    return 14.0 + description + boxes + 6.0


def plan_pages(crf: AnnotatedCrf, layout) -> Plan:
    """Every form from a new page; a form's rows continue on the next page when the budget is spent."""
    plan = Plan()
    number = FRONT_PAGES
    budget = TEXT_HEIGHT_MM * BUDGET
    for form in crf.forms:
        number += 1
        page = FormPage(form, number, [], True)
        used = head_height_mm(form, True)
        for f in form.fields:
            height = row_height_mm(crf, f, layout)
            if page.fields and used + height > budget:
                plan.pages.append(page)
                number += 1
                page = FormPage(form, number, [], False)
                used = head_height_mm(form, False)
            page.fields.append(f)
            used += height
        plan.pages.append(page)
    return plan


# --------------------------------------------------------------------------- what a CRF shows

def question_text(f: CrfField, layout) -> str:
    """The CRF label; * for a required field, and the answer that makes a field required."""
    field_ = f.field
    text = ascii_text(field_.label)
    if field_.required:
        text += " *"
    elif field_.required_when:
        column, value = field_.required_when.split("=")
        other = next((x for x in layout.fields_of(field_.form) if x.column == column), None)
        if other is not None:
            code = layout.codelists.get(other.codelist or "", {}).get(value)
            text += f" (* when {ascii_text(other.label)} is {ascii_text(code.decode) if code else value})"
        else:
            text += f" (* when {column} = {value})"
    return text


def response_text(f: CrfField, layout) -> str:
    field_ = f.field
    kind = field_.type
    if kind == "code":
        codes = layout.codelists.get(field_.codelist, {})
        return "\n".join(f"[ ] {ascii_text(c.decode)}" for c in codes.values()) or "[ ]"
    if kind == "date":
        return "__ __ ____ (DD MMM YYYY)"
    if kind == "pdate":
        return "__ __ ____ (DD MMM YYYY; UK for an unknown day or month)"
    if kind == "integer":
        return "[______]"
    if kind == "decimal":
        return "[______.__]"
    width = min(field_.length or 20, 40)
    return "[" + "_" * max(6, width // 2) + "]" + (f" (up to {field_.length} characters)" if field_.length else "")


# --------------------------------------------------------------------------- the Word document

def _shade(paragraph, fill: str, *, box: bool = True) -> None:
    """Background colour and a thin box around a paragraph (the aCRF annotation look)."""
    from ..tlf.docx import _AFTER_PBDR

    ppr = paragraph._p.get_or_add_pPr()
    if box:
        border = OxmlElement("w:pBdr")
        for side in ("top", "left", "bottom", "right"):
            edge = OxmlElement(f"w:{side}")
            for key, value in (("w:val", "single"), ("w:sz", "4"), ("w:space", "1"), ("w:color", "404040")):
                edge.set(qn(key), value)
            border.append(edge)
        ppr.insert_element_before(border, *_AFTER_PBDR)
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    ppr.insert_element_before(shd, *_AFTER_PBDR[1:])


def _cell_shade(cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def _run(paragraph, text: str, fonts, *, size_pt: float, bold: bool = False, italic: bool = False):
    from ..tlf.docx import set_run_fonts

    run = paragraph.add_run(text)
    set_run_fonts(run._r.get_or_add_rPr(), fonts)
    run.font.size = Pt(size_pt)
    run.font.bold = bold
    run.font.italic = italic
    return run


def _gap(paragraph) -> None:
    """A paragraph 2 points high: keeps two bordered paragraphs apart."""
    from docx.enum.text import WD_LINE_SPACING

    fmt = paragraph.paragraph_format
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(2)


def _tight(paragraph, *, before: float = 0.0, after: float = 0.0) -> None:
    fmt = paragraph.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.line_spacing = 1.0


class _Writer:
    def __init__(self, crf: AnnotatedCrf, layout, settings, created: dt.datetime, version: str):
        from ..tlf.docx import Fonts, ReportDocument
        from .pdf import DOCUMENT_FONT

        self.crf, self.layout, self.settings = crf, layout, settings
        s = settings.study
        header = f"{s.studyid}  {TITLE}" + ("  [SYNTHETIC DATA - NOT REAL STUDY DATA]" if s.synthetic else "")
        self.fonts = Fonts(east_asia=DOCUMENT_FONT, latin=DOCUMENT_FONT, alt_name=None, size_pt=9.5,
                           table_size_pt=TABLE_PT, heading_sizes_pt=(13.0, 10.0, 10.0, 10.0), language="en-US")
        self.rd = ReportDocument(created=created, header_text=ascii_text(header), title=TITLE,
                                 author=ascii_text(s.sponsor), subject=ascii_text(s.title_en), fonts=self.fonts,
                                 footer_template="Page {page} of {pages}", table_label="Table",
                                 figure_label="Figure")
        self.version = version

    def colours(self, form: CrfForm) -> dict[str, str]:
        return {d: DOMAIN_COLOURS[i % len(DOMAIN_COLOURS)] for i, d in enumerate(form.domains)}

    def cover(self, plan: Plan) -> None:
        s = self.settings.study
        facts = [("Study", s.studyid), ("Protocol", s.protocol_name), ("Sponsor", s.sponsor),
                 ("Standard", "SDTM v2.0 / SDTMIG v3.4"),
                 ("CRF", f"{len(self.crf.forms)} forms of the EDC extract layout, {plan.last_page} pages"),
                 ("Produced by", f"sub {self.version} from the raw layout and the SDTM annotations of the study")]
        self.rd.cover(TITLE, subtitle=ascii_text(s.title_en), facts=[(k, ascii_text(v)) for k, v in facts],
                      note="SYNTHETIC DATA - NOT REAL STUDY DATA" if s.synthetic else None)

    def index(self, plan: Plan) -> None:
        rd = self.rd
        rd.heading("Index of forms and domains", 1)
        p = rd.paragraph(
            "Each CRF form starts on a new page. The boxes at the top of a form name the SDTM domains it "
            "feeds, in the colour of that domain's annotations on the page. An annotation names the SDTM "
            "variable that holds the field; 'when' gives the condition that selects the records "
            "(value-level metadata in define.xml); 'in SUPPxx' marks a supplemental qualifier; "
            "NOT SUBMITTED marks a field that is collected but not submitted. A field marked * is "
            "required. Bookmarks lead to each form and, under each domain, to every form that feeds it.")
        _tight(p, after=4)
        rows = [(f.code, ascii_text(f.form.label), ", ".join(f.domains) or "-",
                 _pages_text(plan.form_pages(f.code))) for f in self.crf.forms]
        self._simple_table(("Form", "Title", "SDTM domains", "Page"), rows, (22, 82, 46, 20))
        rd.paragraph("")
        by_domain = []
        for domain in self.crf.domains():
            forms = [f for f in self.crf.forms if domain in f.domains]
            by_domain.append((domain, ascii_text(self.crf.domain_label(domain)),
                              ", ".join(f"{f.code} ({plan.first_page(f.code)})" for f in forms)))
        self._simple_table(("Domain", "Label", "Forms (page)"), by_domain, (22, 70, 78))

    def _simple_table(self, header, rows, widths) -> None:
        table = self.rd.doc.add_table(rows=0, cols=len(header))
        table.style = self.rd.doc.styles["Table Grid"]
        self._fix_widths(table, widths)
        self._row(table, header, widths, header=True)
        for row in rows:
            self._row(table, row, widths)

    def _fix_widths(self, table, widths) -> None:
        table.autofit = False
        tblpr = table._tbl.tblPr
        layout = OxmlElement("w:tblLayout")
        layout.set(qn("w:type"), "fixed")
        tblpr.append(layout)
        for col, width in zip(table.columns, widths):
            col.width = Mm(width)

    def _row(self, table, values, widths, *, header: bool = False):
        row = table.add_row()
        trpr = row._tr.get_or_add_trPr()
        trpr.append(OxmlElement("w:cantSplit"))
        if header:
            trpr.append(OxmlElement("w:tblHeader"))
        for cell, value, width in zip(row.cells, values, widths):
            cell.width = Mm(width)
            p = cell.paragraphs[0]
            _tight(p)
            for k, line in enumerate(str(value).split("\n")):
                if k:
                    p = cell.add_paragraph()
                    _tight(p)
                _run(p, line, self.fonts, size_pt=TABLE_PT, bold=header)
            if header:
                _cell_shade(cell, "D9D9D9")
        return row

    def form_page(self, page: FormPage) -> None:
        rd, form = self.rd, page.form
        colours = self.colours(form)
        if page.first:
            heading = rd.heading(form.title, 1)
            heading.paragraph_format.page_break_before = True
            _tight(heading, after=2)
            p = rd.paragraph(ascii_text(form.form.description) + f" (file {form.form.file}; "
                             f"{_rows_per_subject(form.form.per_subject)})", size_pt=9.0)
            _tight(p, after=4)
            for k, domain in enumerate(form.domains):
                if k:
                    _gap(rd.paragraph(""))  # boxes that touch would merge into one
                box = rd.heading(f"{domain} ({ascii_text(self.crf.domain_label(domain))})", 2)
                _tight(box, before=3, after=1)
                _shade(box, colours[domain])
                for a in form.form_annotations:
                    if a.dataset == domain:
                        note = rd.paragraph("")
                        _run(note, a.text, self.fonts, size_pt=9.0)
                        _tight(note, after=1)
                        _shade(note, colours[domain])
            spacer = rd.paragraph("")
            _tight(spacer, after=2)
        else:
            p = rd.paragraph("")
            _run(p, f"{form.title} (continued)", self.fonts, size_pt=11.0, bold=True)
            p.paragraph_format.page_break_before = True
            _tight(p, after=4)
        table = rd.doc.add_table(rows=0, cols=len(HEADER))
        table.style = rd.doc.styles["Table Grid"]
        self._fix_widths(table, WIDTHS_MM)
        self._row(table, HEADER, WIDTHS_MM, header=True)
        start = form.fields.index(page.fields[0])
        for k, f in enumerate(page.fields, start=start + 1):
            row = self._row(table, (str(k), question_text(f, self.layout), response_text(f, self.layout), ""), WIDTHS_MM)
            cell = row.cells[3]
            first = True
            for a in f.annotations:
                if not first:
                    _gap(cell.add_paragraph())
                p = cell.paragraphs[0] if first else cell.add_paragraph()
                first = False
                _tight(p)
                _run(p, a.text, self.fonts, size_pt=TABLE_PT, bold=not a.is_note)
                _shade(p, NOTE_COLOUR if a.is_note else colours.get(a.dataset, NOTE_COLOUR))
            if first:
                _run(cell.paragraphs[0], "NOT ANNOTATED", self.fonts, size_pt=TABLE_PT, bold=True)
                _shade(cell.paragraphs[0], "FF9999")

    def build(self, plan: Plan) -> bytes:
        self.cover(plan)
        self.index(plan)
        for page in plan.pages:
            self.form_page(page)
        return self.rd.to_bytes()


def _pages_text(pages: list[int]) -> str:
    return str(pages[0]) if len(pages) == 1 else f"{pages[0]}-{pages[-1]}"


def _rows_per_subject(kind: str) -> str:
    return {"one": "one per subject", "optional": "at most one per subject", "many": "one or more per subject"}[kind]


def build_acrf_docx(crf: AnnotatedCrf, layout, settings, created: dt.datetime) -> tuple[bytes, Plan]:
    from .. import __version__

    plan = plan_pages(crf, layout)
    return _Writer(crf, layout, settings, created, __version__).build(plan), plan


# --------------------------------------------------------------------------- pages, planned or found

def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pages_in_pdf(crf: AnnotatedCrf, plan: Plan, page_texts: list[str]) -> dict[Annotation, int]:
    """The page each annotation is on in the rendered PDF: searched among its form's pages (from the
    form's heading to the next form's), else the planned page."""
    starts: list[tuple[int, str]] = []
    current = FRONT_PAGES + 1
    for form in crf.forms:
        target = _squash(form.title)
        found = next((i for i in range(current, len(page_texts) + 1) if target in _squash(page_texts[i - 1])), None)
        if found is not None:
            starts.append((found, form.code))
            current = found
    ranges: dict[str, range] = {}
    for k, (page, code) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(page_texts) + 1
        ranges[code] = range(page, max(end, page + 1))
    out: dict[Annotation, int] = {}
    for form in crf.forms:
        span = ranges.get(form.code)
        for a in [*form.form_annotations, *(x for f in form.fields for x in f.annotations)]:
            target = _squash(a.text)
            page = None
            if span is not None:
                page = next((i for i in span if i <= len(page_texts) and target in _squash(page_texts[i - 1])), None)
            out[a] = page if page is not None else plan.page_of(a)
    return out


def planned_pages(crf: AnnotatedCrf, plan: Plan) -> dict[Annotation, int]:
    return {a: plan.page_of(a) for a in crf.annotations()}


def define_pages(crf: AnnotatedCrf, where: dict[Annotation, int]) -> dict[tuple[str, str, str | None], str]:
    """The Pages cell of every Collected item of the SDTM spec: "3" or "3 5" (physical pages)."""
    out = {}
    for dataset, variable, clause in collected_targets(crf.spec):
        pages = sorted({where[a] for a in annotations_of(crf, dataset, variable, clause) if a in where})
        if pages:
            out[(dataset, variable, clause)] = " ".join(str(p) for p in pages)
    return out


# --------------------------------------------------------------------------- bookmarks

def arrange_bookmarks(crf: AnnotatedCrf):
    """A function from LibreOffice's heading bookmarks (index; forms, each with its domain boxes) to
    the aCRF's tree: Index; Forms > form; Domains > domain > every form that feeds it."""
    from .pdf import Bookmark

    def arrange(found: list) -> list:
        titles = {f.title: f for f in crf.forms}
        index = [b for b in found if b.title not in titles]
        forms = [b for b in found if b.title in titles]
        if len(forms) != len(crf.forms):
            raise ValueError(f"{len(forms)} of {len(crf.forms)} form headings found among the bookmarks")
        by_domain: dict[str, list] = {}
        for b in forms:
            form = titles[b.title]
            for child in b.children:
                domain = child.title.split(" ", 1)[0]
                by_domain.setdefault(domain, []).append(Bookmark(form.title, child.dest))
        tree = [Bookmark(b.title, b.dest) for b in index]
        tree.append(Bookmark("Forms", children=[Bookmark(b.title, b.dest) for b in forms]))
        domains = [Bookmark(f"{d} ({ascii_text(crf.domain_label(d))})", children=by_domain[d], open=False)
                   for d in crf.domains() if d in by_domain]
        tree.append(Bookmark("Domains", children=domains))
        return tree

    return arrange


# --------------------------------------------------------------------------- writing it

@dataclass
class AcrfResult:
    path: Path  # acrf.pdf, or acrf.docx without LibreOffice
    pages: dict[tuple[str, str, str | None], str]
    notes: list[str]


def write_acrf(folder: Path, specs_dir: Path, settings, created: dt.datetime) -> AcrfResult | None:
    """FOLDER/acrf.docx, converted to acrf.pdf when LibreOffice is present (the .docx then goes).
    None when the study has no specs/acrf.csv."""
    from ..io import write_atomic
    from ..raw.layout import load_layout
    from .annotations import load_annotated_crf

    crf = load_annotated_crf(specs_dir)
    if crf is None:
        return None
    layout = load_layout(Path(specs_dir) / "raw")
    data, plan = build_acrf_docx(crf, layout, settings, created)
    docx = Path(folder) / f"{ACRF_NAME}.docx"
    write_atomic(docx, data)
    notes = [f"aCRF: {len(crf.unannotated)} raw field(s) without an annotation in specs/acrf.csv: "
             + ", ".join(crf.unannotated)] if crf.unannotated else []
    pdf, note = _to_pdf(docx, created, arrange_bookmarks(crf), notes)
    if pdf is None:
        return AcrfResult(docx, define_pages(crf, planned_pages(crf, plan)), notes)
    if note:
        notes.append(note)
    where = planned_pages(crf, plan)
    found = found_pages(crf, plan, pdf, notes)
    if found is not None:
        moved = sorted({a.form for a in found if found[a] != where[a]})
        if moved:
            notes.append(f"aCRF: the PDF lays out form(s) {', '.join(moved)} on other pages than planned; "
                         "define.xml cites the pages of the PDF")
        where = found
    return AcrfResult(pdf, define_pages(crf, where), notes)


def _to_pdf(docx: Path, created: dt.datetime, arrange, notes: list[str]) -> tuple[Path | None, str | None]:
    """The PDF of `docx` (the .docx removed), or None with the reason in `notes` (the .docx stays)."""
    from ..errors import SubError
    from ..tlf.render import soffice_path
    from .pdf import convert

    if soffice_path() is None:
        notes.append(f"{docx.stem}: LibreOffice is not installed, so {docx.name} is shipped instead of "
                     f"{docx.stem}.pdf (install it with: apt-get install libreoffice-writer)")
        return None, None
    try:
        pdf, note = convert(docx, created, arrange=arrange)
    except SubError as exc:
        notes.append(f"{docx.stem}: LibreOffice could not make the PDF ({exc.problems[0].message}); "
                     f"{docx.name} is shipped instead")
        return None, None
    docx.unlink()
    return pdf, note


def found_pages(crf: AnnotatedCrf, plan: Plan, pdf: Path, notes: list[str] | None = None) -> dict[Annotation, int] | None:
    """The annotations' pages in the PDF, or None without poppler (the plan stands then)."""
    from ..tlf.render import pdf_page_texts, poppler_available

    if not poppler_available():
        if notes is not None:
            notes.append("aCRF: poppler-utils is not installed, so the page references follow the planned "
                         "layout without reading the PDF back")
        return None
    return pages_in_pdf(crf, plan, pdf_page_texts(pdf))


def acrf_pages(folder: Path, specs_dir: Path) -> dict[tuple[str, str, str | None], str] | None:
    """The Pages of every Collected SDTM item in the aCRF that sits in `folder` (the PDF read back
    when poppler is there, else the plan), or None when the folder has no generated aCRF."""
    from ..raw.layout import load_layout
    from .annotations import load_annotated_crf

    folder = Path(folder)
    pdf, docx = folder / f"{ACRF_NAME}.pdf", folder / f"{ACRF_NAME}.docx"
    if not pdf.exists() and not docx.exists():
        return None
    crf = load_annotated_crf(specs_dir)
    if crf is None:
        return None
    plan = plan_pages(crf, load_layout(Path(specs_dir) / "raw"))
    where = planned_pages(crf, plan)
    if pdf.exists():
        found = found_pages(crf, plan, pdf)
        if found is not None:
            where = found
    return define_pages(crf, where)
