"""The CSV helpers every spec and layout loader reads through: exact line numbers, and a problem
(never an exception) for a file that is not readable CSV text."""

from __future__ import annotations

from pathlib import Path

from submission.csvio import read_table, read_text


def _write(tmp_path: Path, data: bytes | str) -> Path:
    path = tmp_path / "sheet.csv"
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_each_row_has_the_file_line_it_starts_on(tmp_path):
    table, problems = read_table(_write(tmp_path, 'A,B\n1,"x\ny"\n\n2,z\n'))
    assert problems == []
    assert table.rows == [["1", "x\ny"], ["2", "z"]]
    assert table.lines == [2, 5]  # header 1, record on lines 2-3, blank 4, record 5


def test_unclosed_quote_is_a_problem_at_its_row(tmp_path):
    table, [problem] = read_table(_write(tmp_path, 'A,B\n1,2\n3,"4\n5,6\n'))
    assert table is None and problem.row == 3 and "never closed" in problem.message


def test_nul_character_is_named_with_row_and_column(tmp_path):
    _, [problem] = read_table(_write(tmp_path, "A,B\n1,2\n3,x\x00y\n"))
    assert (problem.row, problem.column, problem.value) == (3, "B", "x\x00y")


def test_not_a_file(tmp_path):
    (tmp_path / "dir.csv").mkdir()
    assert read_text(tmp_path / "dir.csv")[1].message == "is a folder, not a file"
    (tmp_path / "link.csv").symlink_to(tmp_path / "nowhere.csv")
    assert read_text(tmp_path / "link.csv")[1].message == "a link to something that does not exist"
    assert read_text(tmp_path / "missing.csv")[1].message == "file not found"


def test_workbooks_and_utf16_saved_under_a_csv_name(tmp_path):
    assert "xlsx" in read_text(_write(tmp_path, b"PK\x03\x04rest"))[1].message
    assert "UTF-16" in read_text(_write(tmp_path, "A,B\n".encode("utf-16")))[1].message
    assert read_text(_write(tmp_path, "A,B\n".encode("utf-16")), "utf-16")[0] == "A,B\n"


def test_a_long_cell_is_read_whole(tmp_path):
    table, problems = read_table(_write(tmp_path, "A,B\n1," + "x" * 200_000 + "\n"))
    assert problems == [] and len(table.rows[0][1]) == 200_000
