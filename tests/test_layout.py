from __future__ import annotations

from submission.raw.layout import check_layout, load_layout

from .conftest import ROOT, SPECS, edit_csv


def test_layout_page_is_in_step_with_specs():
    """docs/raw-layout.md is generated: `sub raw layout > docs/raw-layout.md` after a layout change."""
    assert (ROOT / "docs" / "raw-layout.md").read_text(encoding="utf-8") == load_layout(SPECS / "raw").to_markdown()


def test_layout_marks_the_personal_identifiers():
    names = {(f.form, f.column) for f in load_layout(SPECS / "raw").identifier_fields}
    assert names == {("ENROL", "INITIALS"), ("ENROL", "HOSPNO"), ("DEMOG", "BRTHDAT")}


def test_layout_cross_checks(specs_copy):
    def damage(rows):
        rows[0]["codelist"] = "NOPE"          # a codelist on an id field
        rows[4]["codelist"] = ""              # a code field without codelist
        rows[6]["required_when"] = "NOCOLUMN=Y"
        rows[7]["type"] = "number"

    edit_csv(specs_copy / "raw" / "fields.csv", damage)
    layout, problems = check_layout(specs_copy / "raw")
    assert layout is None
    found = {(p.row, p.column) for p in problems}
    assert {(2, "codelist"), (6, "codelist"), (8, "required_when"), (9, "type")} <= found
