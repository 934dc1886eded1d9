"""Benchmark `sub diff` on two one-million-record AE-like XPT files (not run by the tests).

    python bench/bench_diff.py [--records 1000000] [--keep DIR]

The compare file differs from the base by a few changed values, one dropped record and one
changed variable label, so the run exercises matching, value comparison and the report.
Prints the wall time and peak resident memory of `sub diff`, run in a child process as a user
runs it (`--keep DIR` keeps the files and reuses them on the next run).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

# (name, label, type): the 35 variables of the CDISC pilot's AE, SAS types as in the pilot
AE_VARIABLES = [
    ("STUDYID", "Study Identifier", "C"), ("DOMAIN", "Domain Abbreviation", "C"),
    ("USUBJID", "Unique Subject Identifier", "C"), ("AESEQ", "Sequence Number", "N"),
    ("AESPID", "Sponsor-Defined Identifier", "C"), ("AETERM", "Reported Term for the Adverse Event", "C"),
    ("AELLT", "Lowest Level Term", "C"), ("AELLTCD", "Lowest Level Term Code", "N"),
    ("AEDECOD", "Dictionary-Derived Term", "C"), ("AEPTCD", "Preferred Term Code", "N"),
    ("AEHLT", "High Level Term", "C"), ("AEHLTCD", "High Level Term Code", "N"),
    ("AEHLGT", "High Level Group Term", "C"), ("AEHLGTCD", "High Level Group Term Code", "N"),
    ("AEBODSYS", "Body System or Organ Class", "C"), ("AEBDSYCD", "Body System or Organ Class Code", "N"),
    ("AESOC", "Primary System Organ Class", "C"), ("AESOCCD", "Primary System Organ Class Code", "N"),
    ("AESEV", "Severity/Intensity", "C"), ("AESER", "Serious Event", "C"),
    ("AEACN", "Action Taken with Study Treatment", "C"), ("AEREL", "Causality", "C"),
    ("AEOUT", "Outcome of Adverse Event", "C"), ("AESCAN", "Involves Cancer", "C"),
    ("AESCONG", "Congenital Anomaly or Birth Defect", "C"), ("AESDISAB", "Persist or Signif Disability/Incapacity", "C"),
    ("AESDTH", "Results in Death", "C"), ("AESHOSP", "Requires or Prolongs Hospitalization", "C"),
    ("AESLIFE", "Is Life Threatening", "C"), ("AESOD", "Occurred with Overdose", "C"),
    ("AEDTC", "Date/Time of Collection", "C"), ("AESTDTC", "Start Date/Time of Adverse Event", "C"),
    ("AEENDTC", "End Date/Time of Adverse Event", "C"), ("AESTDY", "Study Day of Start of Adverse Event", "N"),
    ("AEENDY", "Study Day of End of Adverse Event", "N"),
]
TERMS = [f"ADVERSE EVENT TERM {i:03d}" for i in range(400)]
SOCS = [f"SYSTEM ORGAN CLASS {i:02d}" for i in range(27)]


def ae_frame(records: int, seed: int = 1) -> pd.DataFrame:
    """An AE-like frame: ~10 events per subject, keys STUDYID/USUBJID/AEDECOD/AESTDTC/AESEQ unique."""
    rng = np.random.default_rng(seed)
    subject = np.arange(records) // 10
    seq = np.arange(records) % 10 + 1
    term = rng.integers(0, len(TERMS), records)
    soc = term % len(SOCS)
    start = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 900, records), unit="D")
    length = rng.integers(0, 60, records)
    end = start + pd.to_timedelta(length, unit="D")
    terms = np.array(TERMS, dtype=object)
    socs = np.array(SOCS, dtype=object)
    pick = lambda values, p=None: np.array(values, dtype=object)[rng.choice(len(values), records, p=p)]
    yn = ["N", "Y"]
    data = {
        "STUDYID": np.full(records, "PMS-REV-01", dtype=object),
        "DOMAIN": np.full(records, "AE", dtype=object),
        "USUBJID": np.char.add("PMS-REV-01-", np.char.zfill(subject.astype(str), 6)).astype(object),
        "AESEQ": seq.astype(float),
        "AESPID": np.char.add("E", seq.astype(str)).astype(object),
        "AETERM": terms[term], "AELLT": terms[term], "AELLTCD": 10000000.0 + term,
        "AEDECOD": terms[term], "AEPTCD": 10010000.0 + term,
        "AEHLT": np.char.add("HLT_", (term % 90).astype(str)).astype(object), "AEHLTCD": 10020000.0 + term % 90,
        "AEHLGT": np.char.add("HLGT_", (term % 40).astype(str)).astype(object), "AEHLGTCD": 10030000.0 + term % 40,
        "AEBODSYS": socs[soc], "AEBDSYCD": 10040000.0 + soc, "AESOC": socs[soc], "AESOCCD": 10040000.0 + soc,
        "AESEV": pick(["MILD", "MODERATE", "SEVERE"], [0.6, 0.3, 0.1]),
        "AESER": pick(yn, [0.9, 0.1]),
        "AEACN": pick(["DOSE NOT CHANGED", "DOSE REDUCED", "DRUG INTERRUPTED", "DRUG WITHDRAWN"], [0.7, 0.1, 0.15, 0.05]),
        "AEREL": pick(["NOT RELATED", "UNLIKELY RELATED", "POSSIBLY RELATED", "PROBABLY RELATED"]),
        "AEOUT": pick(["RECOVERED/RESOLVED", "NOT RECOVERED/NOT RESOLVED", "RECOVERING/RESOLVING"]),
        **{name: pick(yn, [0.98, 0.02]) for name in ("AESCAN", "AESCONG", "AESDISAB", "AESDTH", "AESHOSP",
                                                       "AESLIFE", "AESOD")},
        "AEDTC": (end + pd.to_timedelta(7, unit="D")).strftime("%Y-%m-%d").to_numpy(dtype=object),
        "AESTDTC": start.strftime("%Y-%m-%d").to_numpy(dtype=object),
        "AEENDTC": end.strftime("%Y-%m-%d").to_numpy(dtype=object),
        "AESTDY": rng.integers(1, 900, records).astype(float),
        "AEENDY": np.where(rng.random(records) < 0.1, np.nan, rng.integers(1, 960, records).astype(float)),
    }
    return pd.DataFrame(data, columns=[name for name, _, _ in AE_VARIABLES])


def write_ae(frame: pd.DataFrame, path: Path, labels: dict[str, str]) -> None:
    import pyreadstat

    pyreadstat.write_xport(frame, str(path), file_format_version=5, table_name="AE", file_label="Adverse Events",
                           column_labels=[labels[c] for c in frame.columns])


def write_pair(folder: Path, records: int) -> tuple[Path, Path]:
    """Base and compare: a few changed values, one dropped record, one changed variable label."""
    base_path, compare_path = folder / "ae_base.xpt", folder / "ae_compare.xpt"
    base = ae_frame(records)
    labels = {name: label for name, label, _ in AE_VARIABLES}
    write_ae(base, base_path, labels)
    compare = base.copy()
    rows = np.random.default_rng(2).choice(records, 5, replace=False)
    compare.loc[rows[:3], "AESEV"] = "SEVERE"  # unchanged where it already was SEVERE
    compare.loc[rows[3], "AESTDY"] = compare.loc[rows[3], "AESTDY"] + 1
    compare.loc[rows[4], "AEOUT"] = "FATAL"
    compare = compare.drop(index=records // 2).reset_index(drop=True)
    write_ae(compare, compare_path, {**labels, "AEREL": "Causality to Study Drug"})
    return base_path, compare_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None,
                        help="write the two files here and keep them (reused when they are already there)")
    args = parser.parse_args(argv)

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-diff-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        base, compare = folder / "ae_base.xpt", folder / "ae_compare.xpt"
        if not (args.keep and base.exists() and compare.exists()):
            started = time.perf_counter()
            base, compare = write_pair(folder, args.records)
            print(f"wrote 2 x {args.records:,} records x {len(AE_VARIABLES)} variables to {folder} "
                  f"({time.perf_counter() - started:.1f} s)")
        # `sub diff` in a child process, as a user runs it: its own wall time and peak memory
        command = [sys.executable, "-m", "submission.cli", "diff", str(base), str(compare)]
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=False,
                                cwd=Path(__file__).resolve().parents[1])
        wall = time.perf_counter() - started
        print(result.stdout, end="")
        print(result.stderr, end="", file=sys.stderr)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # kilobytes on Linux
        print(f"sub diff: exit {result.returncode} (1 = different, as expected), wall {wall:.2f} s, "
              f"peak memory {peak:,.0f} MB")
        return 0 if result.returncode == 1 else 1
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
