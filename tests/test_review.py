"""The review page's data files (tlf/review.py): values as shown, index lists."""

from __future__ import annotations

import numpy as np
import pandas as pd

from submission.tlf.review import _delta, _record_chunks, _rows_by_output


def test_shown_values_keep_each_value_its_own_type_and_text():
    # The values are converted once per distinct value where equal values are alike; a column that
    # mixes types is converted value by value (1, 1.0 and True are one value to a factorization).
    frame = pd.DataFrame({
        "USUBJID": ["S1", "S2", "S1", None, "S3"],
        "AESEQ": [1.0, 2.0, 1.0, np.nan, 2.5],
        "MIXED": pd.Series([1, 1.0, True, "1", None], dtype=object),
        "ASTDT": pd.to_datetime(["2024-01-02", None, "2024-01-02", "1999-12-31", "2024-03-04"]),
        "N": np.array([3, 3, 4, 5, 3], dtype=np.int64),
        "FL": [True, False, True, True, False],
    })
    columns, rows = _record_chunks("ADAE", frame, {"MIXED", "N", "FL"})
    assert columns == ["USUBJID", "AESEQ", "ASTDT", "FL", "MIXED", "N"]
    assert rows == [
        ("S1", 1, "2024-01-02", True, 1, 3),
        ("S2", 2, None, False, 1, 3),
        ("S1", 1, "2024-01-02", True, True, 4),
        (None, None, "1999-12-31", True, "1", 5),
        ("S3", 2.5, "2024-03-04", False, None, 3),
    ]
    assert [type(v) for v in rows[1]] == [str, int, type(None), bool, int, int]
    assert [type(v) for v in rows[2]][4] is bool
    columns, rows = _record_chunks("ADAE", frame, set(), np.array([1, 4]))
    assert rows == [("S2", 2, None), ("S3", 2.5, "2024-03-04")]


def test_delta_coding_and_rows_by_output():
    assert _delta([]) == []
    assert _delta([3, 4, 10]) == [3, 1, 6]
    assert _delta(np.array([0, 0, 5], dtype=np.int8)) == [0, 0, 5]
    assert all(type(v) is int for v in _delta(np.array([2, 9])))
    ard = pd.DataFrame({"output_id": ["T2", "T1", None, "T2"], "stat": [1, 2.5, 3, None]}, dtype=object)
    assert _rows_by_output(ard) == {"T2": [{"output_id": "T2", "stat": 1}, {"output_id": "T2", "stat": None}],
                                    "T1": [{"output_id": "T1", "stat": 2.5}]}
