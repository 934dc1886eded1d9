"""The LibreOffice pass of the report cannot sink the build: a time limit that scales with the
document, its whole process group ended on timeout, and the build succeeding without page numbers."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from submission.cli import main
from submission.tlf import render

needs_libreoffice = pytest.mark.skipif(render.soffice_path() is None or not render.poppler_available(),
                                       reason="LibreOffice and poppler-utils are not installed (.ci/run installs them)")


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline[:120]}")
    return found


def test_the_time_limit_grows_with_the_document(tmp_path):
    small, large = tmp_path / "small.docx", tmp_path / "large.docx"
    small.write_bytes(b"x" * 400_000)
    large.write_bytes(b"x" * 60_000_000)
    assert render.time_limit(small) == pytest.approx(84.0)
    assert render.time_limit(large) == pytest.approx(3660.0)


@needs_libreoffice
def test_a_libreoffice_pass_cut_short_leaves_a_complete_build_and_no_process(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    assert CliRunner().invoke(main, ["synth", "--subjects", "12", "--seed", "3", "--out", str(raw)]).exit_code == 0
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # LibreOffice's profile lands here: findable
    monkeypatch.setattr(render, "time_limit", lambda docx: 0.5)
    result = CliRunner().invoke(main, ["build", "--raw", str(raw), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    log = (tmp_path / "out" / "build.log").read_text(encoding="utf-8")
    assert "table of contents with page numbers: no (LibreOffice did not finish within 0.5 s" in log
    assert "left for Word" in log
    deadline = time.monotonic() + 10
    while _processes_mentioning(str(scratch)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_mentioning(str(scratch)) == []
    assert list(scratch.iterdir()) == []
    # the contents keep their entries and tell the reader that Word fills in the page numbers
    import zipfile

    from submission.tlf.report import TOC_NOTE

    with zipfile.ZipFile(tmp_path / "out" / "report" / "re-examination-report.docx") as z:
        assert TOC_NOTE in z.read("word/document.xml").decode("utf-8")
        assert "updateFields" in z.read("word/settings.xml").decode("utf-8")

    # `--pdf` asked for the PDF: a pass cut short is then an error (exit 1), the previous output stays,
    # and no LibreOffice process is left behind either
    before = (tmp_path / "out" / "build.log").read_bytes()
    result = CliRunner().invoke(main, ["build", "--pdf", "--raw", str(raw), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert "did not finish within 0.5 s" in result.output
    assert (tmp_path / "out" / "build.log").read_bytes() == before
    assert not (tmp_path / "out" / "report" / "re-examination-report.pdf").exists()
    deadline = time.monotonic() + 10
    while _processes_mentioning(str(scratch)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_mentioning(str(scratch)) == []


@needs_libreoffice
def test_an_explicit_pdf_request_fails_cleanly_when_libreoffice_times_out(tmp_path, monkeypatch):
    import datetime as dt

    from submission.errors import SubError
    from submission.tlf.docx import ReportDocument

    docx = tmp_path / "a.docx"
    doc = ReportDocument(created=dt.datetime(2016, 12, 7))
    doc.heading("제목", 1)
    docx.write_bytes(doc.to_bytes())
    with pytest.raises(SubError) as err:
        render.docx_to_pdf(docx, tmp_path / "pdf", timeout=0.01)
    assert "did not finish within" in str(err.value)
    assert not (tmp_path / "pdf" / "a.pdf").exists()
