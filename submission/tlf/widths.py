"""Column widths of a report table measured from the text it holds, and its row groups.

Widths. Every cell line is cut into the pieces a line may not break inside: words (split at
spaces), except that a run of numeric pieces stays whole ("210 (79.5%)", "0.22 (0.04, 1.09)",
"4 (0.9%) [6]", "<0.001", a date): a piece is numeric when it holds a digit (or only punctuation)
and no Hangul and no word of three or more Latin letters. A piece is measured with the advance
widths of the fonts (the `hmtx` table of the TTF files, read with fontTools, a dependency of
matplotlib): the wider of NanumGothic (the Korean face LibreOffice draws the document's 맑은 고딕
with, see render.py; the TTF found by fonts.py) and DejaVu Sans (matplotlib's bundled face, which
LibreOffice uses for Latin text when 맑은 고딕 is not mapped to NanumGothic), regular or bold,
at the table's font size. So a column is wide enough in either rendering; Word's Malgun Gothic is
narrower than both.

A column needs its widest piece plus the cell margins (`CELL_MARGIN_MM`, the table's left and
right cell margins with a little slack; the first column adds its indent); it would like its
longest line. The text width of the page is shared out like an automatic table layout: every
column gets what it needs, the rest goes first to the headers (one line each where there is
room), then to the columns in proportion to what they still lack for one line per cell, and what is left after that to the label columns (the leading
`label_columns` columns), which wrap at spaces. When the needs alone exceed the text width, the
table cannot show every number unbroken: `fit_table` then tries the fallbacks in this order and
says which it took: the table's font size one point smaller (`SMALLER_PT`), a landscape page
(at the table's size, then smaller), and only then widths squeezed in proportion (numbers may
wrap; the caller logs it).

Row groups. A group is a row whose first cell has text at indent 0 (a factor, a SOC, a
characteristic) and the rows after it that are indented or have an empty first cell (its levels,
PTs). Word and LibreOffice keep a group on one page when every row but its last keeps with the
next (`w:keepNext` on the rows' paragraphs; rows never split). A group longer than
`max_group_rows` (about a page) cannot be kept together: it is cut into chunks of that many rows,
and every chunk after the first starts with a row that repeats the group's label followed by
"(계속)" (the page breaks themselves are only known after rendering; a chunk of at most a page
kept together starts at the top of a page, where the repeated label belongs).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PT_PER_MM = 72 / 25.4
CELL_MARGIN_MM = 2 * 57 / 1440 * 25.4 + 1.0  # left + right cell margin (57 twips each) and 1 mm of slack
SMALLER_PT = 1.0
MIN_FONT_PT = 6.5
CONTINUED = "(계속)"

_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


# --------------------------------------------------------------------------- font metrics

def _font_files() -> dict[tuple[str, bool], Path]:
    import matplotlib

    from .fonts import packaged_font_files

    files: dict[tuple[str, bool], Path] = {}
    for path in packaged_font_files():
        if path.name == "NanumGothic.ttf":
            files[("nanum", False)] = path
        elif path.name == "NanumGothicBold.ttf":
            files[("nanum", True)] = path
    if ("nanum", False) not in files:  # a system NanumGothic (fonts-nanum)
        for folder in (Path("/usr/share/fonts/truetype/nanum"), Path("/usr/share/fonts/nanum")):
            for bold, name in ((False, "NanumGothic.ttf"), (True, "NanumGothicBold.ttf")):
                if (folder / name).is_file():
                    files.setdefault(("nanum", bold), folder / name)
    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for bold, name in ((False, "DejaVuSans.ttf"), (True, "DejaVuSans-Bold.ttf")):
        if (ttf / name).is_file():
            files[("dejavu", bold)] = ttf / name
    return files


@lru_cache(maxsize=1)
def _advances() -> dict[bool, dict[int, float]]:
    """Advance width in em of every character of the fonts, regular and bold: the wider face wins."""
    from fontTools.ttLib import TTFont

    out: dict[bool, dict[int, float]] = {False: {}, True: {}}
    for (_, bold), path in sorted(_font_files().items(), key=lambda kv: (kv[0][1], kv[0][0])):
        font = TTFont(str(path), lazy=True)
        upm = font["head"].unitsPerEm
        hmtx = font["hmtx"]
        table = out[bold]
        for code, glyph in font.getBestCmap().items():
            em = hmtx[glyph][0] / upm
            if em > table.get(code, 0.0):
                table[code] = em
        font.close()
    if not out[True]:
        out[True] = dict(out[False])
    return out


def _fallback_em(ch: str) -> float:
    return 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.6


@lru_cache(maxsize=1 << 16)  # words and numbers repeat down a column: each is measured once
def text_width_mm(text: str, size_pt: float, *, bold: bool = False) -> float:
    """The width of `text` on one line at `size_pt`, in millimetres."""
    table = _advances()[bold]
    em = sum(table.get(ord(ch)) or _fallback_em(ch) for ch in text)
    return em * size_pt / PT_PER_MM


# --------------------------------------------------------------------------- pieces

def _numeric(piece: str) -> bool:
    if _HANGUL.search(piece) or _LATIN_WORD.search(piece):
        return False
    return any(ch.isdigit() for ch in piece) or not any(ch.isalnum() for ch in piece)


@lru_cache(maxsize=1 << 16)
def unbreakable(line: str) -> tuple[str, ...]:
    """The pieces of one line that must not break: words, with runs of numeric pieces joined."""
    pieces: list[str] = []
    run: list[str] = []
    for word in line.split():
        if _numeric(word):
            run.append(word)
            continue
        if run:
            pieces.append(" ".join(run))
            run = []
        pieces.append(word)
    if run:
        pieces.append(" ".join(run))
    return tuple(pieces)


# --------------------------------------------------------------------------- widths

@dataclass(frozen=True)
class Need:
    least: float     # widest unbreakable piece, cell margins included
    full: float      # longest line, cell margins included
    head: float = 0  # the header's longest line, cell margins included


def column_needs(header: Sequence[str], rows: Sequence[Sequence[str]], size_pt: float, *,
                 indent: Sequence[int] | None = None, indent_mm: float = 3.0,
                 bold_rows: Sequence[int] = ()) -> list[Need]:
    bold_rows = set(bold_rows)
    needs = []
    for j, name in enumerate(header):
        least = full = head = 0.0
        cells = [(name, True, 0)] + [(row[j], i in bold_rows, (indent[i] if indent is not None and j == 0 else 0))
                                     for i, row in enumerate(rows)]
        for text, bold, level in cells:
            extra = level * indent_mm
            for line in str(text).split("\n"):
                if not line.strip():
                    continue
                for piece in unbreakable(line):
                    least = max(least, text_width_mm(piece, size_pt, bold=bold) + extra)
                full = max(full, text_width_mm(line.strip(), size_pt, bold=bold) + extra)
            if text is name:
                head = full
        needs.append(Need(least + CELL_MARGIN_MM, max(full, least) + CELL_MARGIN_MM, max(head, least) + CELL_MARGIN_MM))
    return needs


def share_width(needs: Sequence[Need], total_mm: float, label_columns: int = 1,
                minimum_mm: Sequence[float | None] | None = None) -> list[float] | None:
    """Widths summing to `total_mm`: every column its `least`, the rest towards `full`, then to the
    label columns. None when the `least` widths alone do not fit."""
    least = [n.least for n in needs]
    if minimum_mm is not None:
        least = [max(a, b or 0.0) for a, b in zip(least, minimum_mm)]
    full = [max(n.full, a) for n, a in zip(needs, least)]
    head = [min(max(n.head, a), f) for n, a, f in zip(needs, least, full)]
    if sum(least) > total_mm + 1e-9:
        return None
    widths = list(least)
    for target in (head, full):  # first headers on one line, then every cell
        rest = total_mm - sum(widths)
        lacking = [max(t - w, 0.0) for t, w in zip(target, widths)]
        if sum(lacking) <= 0:
            continue
        if sum(lacking) <= rest:
            widths = [max(t, w) for t, w in zip(target, widths)]
        else:
            widths = [w + rest * d / sum(lacking) for w, d in zip(widths, lacking)]
            break
    rest = total_mm - sum(widths)
    if rest > 1e-9:
        takers = list(range(min(max(label_columns, 0), len(widths)))) or list(range(len(widths)))
        weight = [full[j] for j in takers]
        for j, w in zip(takers, weight):
            widths[j] += rest * w / sum(weight)
    return widths


@dataclass(frozen=True)
class Fit:
    widths_mm: list[float]
    size_pt: float
    landscape: bool
    note: str = ""  # the fallback taken, empty when the table fits as asked


def fit_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, size_pt: float, landscape: bool,
              text_width_mm, label_columns: int = 1, indent: Sequence[int] | None = None,
              indent_mm: float = 3.0, bold_rows: Sequence[int] = (), allow_landscape: bool = True,
              minimum_mm: Sequence[float | None] | None = None) -> Fit:
    """Widths for the table, with the fallbacks of the module docstring. `text_width_mm(landscape)`
    gives the page's text width."""
    tries = [(size_pt, landscape)]
    smaller = max(MIN_FONT_PT, size_pt - SMALLER_PT)
    if smaller < size_pt:
        tries.append((smaller, landscape))
    if not landscape and allow_landscape:
        tries += [(size_pt, True)] + ([(smaller, True)] if smaller < size_pt else [])
    for size, turned in tries:
        needs = column_needs(header, rows, size, indent=indent, indent_mm=indent_mm, bold_rows=bold_rows)
        widths = share_width(needs, text_width_mm(turned), label_columns, minimum_mm)
        if widths is not None:
            notes = []
            if size != size_pt:
                notes.append(f"font {size:g} pt instead of {size_pt:g} pt")
            if turned != landscape:
                notes.append("landscape page")
            return Fit(widths, size, turned, ", ".join(notes))
    size, turned = tries[-1]
    needs = column_needs(header, rows, size, indent=indent, indent_mm=indent_mm, bold_rows=bold_rows)
    total = text_width_mm(turned)
    scale = total / sum(n.least for n in needs)
    return Fit([n.least * scale for n in needs], size, turned,
               f"columns squeezed to {scale:.0%} of their measured width: some numbers wrap")


# --------------------------------------------------------------------------- row groups

def row_groups(rows: Sequence[Sequence[str]], indent: Sequence[int] | None = None) -> list[tuple[int, int]]:
    """(first, end) row ranges of the groups: a row whose first cell has text at indent 0 starts one."""
    starts = []
    for i, row in enumerate(rows):
        first = str(row[0]).strip() if row else ""
        level = indent[i] if indent is not None else 0
        if i == 0 or (first and level == 0):
            starts.append(i)
    return [(s, e) for s, e in zip(starts, starts[1:] + [len(rows)])]


def line_count(text: str, width_mm: float, size_pt: float, *, bold: bool = False, extra_mm: float = 0.0) -> int:
    """Lines a cell takes when its text wraps at spaces inside `width_mm` (cell margins included)."""
    room = max(width_mm - CELL_MARGIN_MM - extra_mm, 1.0)
    lines = 0
    for line in str(text).split("\n"):
        used, count = 0.0, 1
        space = text_width_mm(" ", size_pt, bold=bold)
        for piece in unbreakable(line):
            w = text_width_mm(piece, size_pt, bold=bold)
            if used and used + space + w > room:
                count += 1
                used = w
            else:
                used += (space if used else 0.0) + w
        lines += count
    return max(lines, 1)
