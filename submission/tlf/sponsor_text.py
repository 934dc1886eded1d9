"""The sponsor-written parts of the report: text the data cannot give, read from the study's specs.

A re-examination report holds sections no analysis can write: foreign approvals, domestic and
foreign safety actions, the literature, the sponsor's discussion, and the current label's adverse
reactions text (the left column of the label-change comparison). They are Markdown files in the
specs folder given to the report, under `report/`:

    report/foreign_approvals.md   4.1 외국 허가 현황
    report/safety_actions.md      4.2 국내외 안전성 조치
    report/literature.md          4.3 문헌 보고
    report/discussion.md          5.3 고찰
    report/current_label.md       6. 현행 사용상의 주의사항(이상반응)

The Markdown is the small part a writer needs: paragraphs separated by a blank line, list items
starting with "- ", a pipe table (`| a | b |` rows with a `|---|` line under the header), and HTML
comments (`<!-- ... -->`, notes for the author, never printed). A missing or empty file leaves a
visible placeholder in its section and a warning for build.log; the report is never silent about it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

REPORT_FOLDER = "report"

# key -> (file, what the section holds, as the placeholder names it)
TEXTS: dict[str, tuple[str, str]] = {
    "foreign_approvals": ("foreign_approvals.md", "외국 허가 현황"),
    "safety_actions": ("safety_actions.md", "국내외 안전성 조치 현황"),
    "literature": ("literature.md", "국내외 문헌 보고"),
    "discussion": ("discussion.md", "의뢰자의 종합 고찰"),
    "current_label": ("current_label.md", "현행 허가사항(사용상의 주의사항)의 이상반응 항"),
}
PLACEHOLDER = "【작성 필요】 {what}: 의뢰자가 작성할 내용이 아직 입력되지 않았다."


@dataclass(frozen=True)
class Block:
    """One block of sponsor text: a paragraph ('p'), a list item ('li') or a table ('table')."""

    kind: str
    text: str = ""
    rows: tuple[tuple[str, ...], ...] = ()  # a table: the header row first


@dataclass(frozen=True)
class SponsorText:
    key: str
    what: str
    path: str
    blocks: tuple[Block, ...] = ()
    warning: str | None = None  # why the placeholder stands in (for build.log)

    @property
    def missing(self) -> bool:
        return not self.blocks

    @property
    def placeholder(self) -> str:
        return PLACEHOLDER.format(what=self.what)

    def plain_text(self) -> str:
        """The paragraphs and list items as plain text, one per line (a table cell's text)."""
        lines = []
        for block in self.blocks:
            if block.kind == "p":
                lines.append(block.text)
            elif block.kind == "li":
                lines.append(f"- {block.text}")
            else:
                lines.extend(" | ".join(row) for row in block.rows)
        return "\n".join(lines)


_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def _cells(line: str) -> tuple[str, ...]:
    return tuple(cell.strip() for cell in line.strip().strip("|").split("|"))


def parse(text: str) -> tuple[Block, ...]:
    """Paragraphs, list items and pipe tables of a Markdown text (comments dropped)."""
    text = _COMMENT.sub("", text.replace("\r\n", "\n"))
    blocks: list[Block] = []
    paragraph: list[str] = []
    table: list[tuple[str, ...]] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block("p", " ".join(paragraph)))
            paragraph.clear()
        if table:
            blocks.append(Block("table", rows=tuple(table)))
            table.clear()

    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("|"):
            if paragraph:
                flush()
            if not _SEPARATOR.match(line):
                table.append(_cells(line))
        elif line.startswith(("- ", "* ")):
            flush()
            blocks.append(Block("li", line[2:].strip()))
        elif line.startswith("#"):
            flush()
            blocks.append(Block("p", line.lstrip("#").strip()))
        else:
            if table:
                flush()
            paragraph.append(line)
    flush()
    return tuple(b for b in blocks if b.text or b.rows)


def load_text(specs_folder: Path, key: str) -> SponsorText:
    """The sponsor text `key` of the specs folder; a missing, empty or unreadable file gives the
    placeholder and a warning."""
    name, what = TEXTS[key]
    path = Path(specs_folder) / REPORT_FOLDER / name
    shown = f"{REPORT_FOLDER}/{name}"
    if not path.is_file():
        return SponsorText(key, what, shown, warning=f"{shown} not found in the specs folder: the report shows a "
                                                     f"placeholder for {what}")
    try:
        blocks = parse(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        return SponsorText(key, what, shown, warning=f"{shown} is not UTF-8 text ({exc.reason}): the report shows "
                                                     f"a placeholder for {what}")
    if not blocks:
        return SponsorText(key, what, shown, warning=f"{shown} is empty: the report shows a placeholder for {what}")
    return SponsorText(key, what, shown, blocks)


@dataclass
class SponsorTexts:
    """Every sponsor text of the report, read once."""

    texts: dict[str, SponsorText] = field(default_factory=dict)

    @classmethod
    def load(cls, specs_folder: Path) -> SponsorTexts:
        return cls({key: load_text(specs_folder, key) for key in TEXTS})

    def __getitem__(self, key: str) -> SponsorText:
        return self.texts[key]

    @property
    def warnings(self) -> list[str]:
        return [t.warning for t in self.texts.values() if t.warning]
