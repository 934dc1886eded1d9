"""The raw extract's personal identifiers never reach an output.

The bundled study is built and every output file (datasets, define.xml/html, report and ARD
when present, manifest, log; .docx and other zip files opened) is scanned for every value of
every column the raw layout marks as an identifier.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from submission.cli import main
from submission.paths import bundled_raw
from submission.raw.load import load_extract

from .conftest import SPECS


def _words(text: str) -> set[str]:
    """Every token a value could stand as: split at anything but word characters, dots and
    hyphens (keeps dates and dotted initials whole), and also at hyphens."""
    return set(re.findall(r"[\w.\-]+", text)) | set(re.findall(r"[\w.]+", text))


IMAGES = (".png", ".jpg", ".jpeg", ".emf", ".wmf")


def _text_of(path: Path) -> str:
    """The text of a file; for a zip (.docx, .xlsx) the text of its members. Images are pixels:
    their bytes can match a short value by chance and cannot carry a value as text."""
    if path.suffix.lower() in IMAGES:
        return ""
    data = path.read_bytes()
    if path.suffix.lower() == ".pdf":
        # compressed streams are bytes that can match a short value by chance: their text is what
        # pdftotext extracts; the rest (metadata, bookmarks) is read as it is
        from submission.tlf.render import pdf_text, poppler_available

        outside = re.sub(rb"stream\r?\n.*?endstream", b"", data, flags=re.DOTALL).decode("latin-1")
        return outside + ("\n" + pdf_text(path) if poppler_available() else "")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            data = b"\n".join(archive.read(name) for name in archive.namelist()
                              if not name.lower().endswith(IMAGES))
    return data.decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("privacy") / "out"
    result = CliRunner().invoke(main, ["build", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_no_identifier_value_in_any_output(built):
    extract = load_extract(bundled_raw(), SPECS)
    identifiers = {}
    for field in extract.layout.identifier_fields:
        values = extract[field.form][field.column].dropna().astype(str)
        identifiers[f"{field.form}.{field.column}"] = set(values)
    assert all(identifiers.values()), identifiers.keys()
    outputs = [p for p in built.rglob("*") if p.is_file()]
    assert len(outputs) > 10
    leaks = []
    for path in outputs:
        words = _words(_text_of(path))
        for column, values in identifiers.items():
            leaks += [(path.relative_to(built).as_posix(), column, v) for v in sorted(values & words)]
    assert leaks == []


def test_the_scan_would_see_a_leak(built, tmp_path):
    """The scan is not blind: an identifier written into an output is found."""
    extract = load_extract(bundled_raw(), SPECS)
    value = extract["ENROL"]["HOSPNO"].iloc[0]
    leaked = tmp_path / "leak.csv"
    leaked.write_text(f"USUBJID,NOTE\nX,{value}\n", encoding="utf-8")
    assert value in _words(_text_of(leaked))
