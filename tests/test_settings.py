from __future__ import annotations

from pathlib import Path

import pytest

from submission.errors import SubError
from submission.study import load_settings

from .conftest import SPECS


def _rewrite(specs: Path, old: str, new: str) -> None:
    path = specs / "study.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_bundled_settings_load():
    s = load_settings(SPECS)
    assert s.dates.enrolment_cutoff.isoformat() == "2016-09-07"
    assert s.dates.data_cutoff.isoformat() == "2016-12-07"
    assert s.conventions.treatment_emergent_days == 28
    assert "UNLIKELY" not in s.conventions.adr_causality
    assert set(s.conventions.adr_causality) < set(s.conventions.causality_codes)
    assert s.study.synthetic is True


@pytest.mark.parametrize(
    ("value", "group", "expected"),
    [(64.9, "AGEGR1", "<65"), (65, "AGEGR1", ">=65"), (74, "AGEGR2", "<75"), (75, "AGEGR2", ">=75"),
     (29.99, "CRCLGR1", "<30"), (30, "CRCLGR1", "30-<60"), (60, "CRCLGR1", ">=60"), (18.4, "BMIGR1", "<18.5"),
     (23, "BMIGR1", "23-<25"), (None, "AGEGR1", None)],
)
def test_group_boundaries_fall_in_the_upper_group(value, group, expected):
    assert load_settings(SPECS).conventions.groups[group].label_of(value) == expected


def test_missing_key_names_file_and_key(specs_copy):
    _rewrite(specs_copy, "treatment_emergent_days = 28\n", "")
    with pytest.raises(SubError) as err:
        load_settings(specs_copy)
    [problem] = err.value.problems
    assert problem.file.endswith("study.toml")
    assert problem.column == "key conventions.treatment_emergent_days"
    assert "missing" in problem.message


def test_wrong_type_names_value_and_expectation(specs_copy):
    _rewrite(specs_copy, "treatment_emergent_days = 28", 'treatment_emergent_days = "four weeks"')
    with pytest.raises(SubError) as err:
        load_settings(specs_copy)
    [problem] = err.value.problems
    assert problem.value == "four weeks"
    assert "integer" in problem.message


def test_unknown_key_is_refused(specs_copy):
    _rewrite(specs_copy, "[dates]\n", "[dates]\ncutof = 2016-12-07\n")
    with pytest.raises(SubError) as err:
        load_settings(specs_copy)
    assert err.value.problems[0].column == "key dates.cutof"
    assert "unknown key" in err.value.problems[0].message


def test_adr_set_must_name_known_categories(specs_copy):
    _rewrite(specs_copy, 'adr_causality = ["CERTAIN"', 'adr_causality = ["SURE"')
    with pytest.raises(SubError, match="SURE"):
        load_settings(specs_copy)


def test_several_problems_are_reported_together(specs_copy):
    _rewrite(specs_copy, "treatment_emergent_days = 28\n", "")
    _rewrite(specs_copy, "ci_level = 0.95", "ci_level = 95")
    with pytest.raises(SubError) as err:
        load_settings(specs_copy)
    assert {p.column for p in err.value.problems} == {"key conventions.treatment_emergent_days",
                                                     "key conventions.ci_level"}


def test_broken_toml_gives_line(specs_copy):
    _rewrite(specs_copy, "[dates]", "[dates")
    with pytest.raises(SubError) as err:
        load_settings(specs_copy)
    assert "not valid TOML" in err.value.problems[0].message


def test_cutoffs_must_be_ordered(specs_copy):
    _rewrite(specs_copy, "data_cutoff = 2016-12-07", "data_cutoff = 2016-01-01")
    with pytest.raises(SubError, match="enrolment_cutoff <= data_cutoff"):
        load_settings(specs_copy)
