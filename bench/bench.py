"""Benchmark: synthesize and build N subjects, timing each stage, with peak memory.

    python bench/bench.py                      # 624, 10000, 100000 subjects
    python bench/bench.py --sizes 624,10000    # a subset
    python bench/bench.py --no-report          # skip the Word report stage (LibreOffice-free)

Each size runs in its own process so that its peak memory (ru_maxrss) is its own. Prints a
Markdown table (the one in the README) plus `sub --help` start-up. The diff benchmark is
bench/bench_diff.py. Nothing here is a test: timings never gate CI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(n: int, work: Path, report: bool, check: bool = True) -> dict:
    """All stages for n subjects, in this process; returns per-stage seconds and records."""
    sys.path.insert(0, str(ROOT))
    from submission.adam.build import build_adam, read_sdtm
    from submission.adam.labelterms import LabelTerms
    from submission.build import creation_time, write_datasets, write_define
    from submission.paths import bundled_specs
    from submission.qc.validate import validate
    from submission.raw.load import load_extract
    from submission.raw.synth import synthesize, write_extract
    from submission.sdtm.build import build_sdtm
    from submission.sdtm.context import Translations
    from submission.spec import load_spec
    from submission.study import load_settings

    specs = bundled_specs()
    settings = load_settings(specs)
    raw, out = work / "raw", work / "out"
    stages: dict[str, dict] = {}

    def timed(name: str, records_of, fn):
        start = time.perf_counter()
        value = fn()
        stages[name] = {"seconds": time.perf_counter() - start, "records": records_of(value),
                        "peak_mb": _peak_mb()}
        return value

    frames = timed("synth", lambda f: sum(len(x) for x in f.values()),
                   lambda: synthesize(settings, n_subjects=n, seed=20161207))
    write_extract(frames, raw)
    del frames
    extract = timed("load", lambda e: sum(len(x) for x in e.frames.values()), lambda: load_extract(raw, specs))
    (out / "sdtm").mkdir(parents=True)
    sdtm = timed("sdtm", lambda r: sum(len(d.frame) for d in r.datasets.values()),
                 lambda: build_sdtm(extract, load_spec(specs / "sdtm"), settings, Translations.load(specs)))
    timed("sdtm write", lambda _: sum(len(d.frame) for d in sdtm.datasets.values()),
          lambda: write_datasets(out / "sdtm", sdtm.datasets, settings, "SDTM"))
    del extract
    adam = timed("adam", lambda r: sum(len(d.frame) for d in r.datasets.values()),
                 lambda: build_adam(read_sdtm(out / "sdtm"), load_spec(specs / "adam"), settings,
                                    LabelTerms.load(specs)))
    (out / "adam").mkdir()
    timed("adam write", lambda _: sum(len(d.frame) for d in adam.datasets.values()),
          lambda: write_datasets(out / "adam", adam.datasets, settings, "ADaM"))
    log: list[str] = []
    timed("define", lambda _: None, lambda: [write_define(out / s.lower(), specs, settings, s, log)
                                            for s in ("SDTM", "ADaM")])
    if report:
        from submission.tlf.report import run_report_stage

        timed("report", lambda _: None, lambda: run_report_stage(out / "adam", settings, out,
                                                                   creation_time(settings), toc_pass=False))
    if check:
        timed("validate", lambda r: None, lambda: validate(out, specs))
    return {"subjects": n, "stages": stages, "peak_mb": _peak_mb()}


def help_startup(repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "submission.cli", "--help"], cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="624,10000,100000")
    parser.add_argument("--no-report", action="store_true")
    parser.add_argument("--no-validate", action="store_true")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process mode
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, Path(args.work), not args.no_report, not args.no_validate)))
        return
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as work:
            cmd = [sys.executable, __file__, "--one", str(n), "--work", work]
            cmd += ["--no-report"] * args.no_report + ["--no-validate"] * args.no_validate
            start = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"{n} subjects failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            result["wall"] = time.perf_counter() - start
            results.append(result)
            print(f"{n} subjects: {result['wall']:.1f} s", file=sys.stderr)
    names = list(results[0]["stages"])
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}\n")
    print("| stage | " + " | ".join(f"{r['subjects']:,} subjects" for r in results) + " |")
    print("| --- |" + " --- |" * len(results))
    for name in names:
        cells = []
        for r in results:
            s = r["stages"][name]
            rate = f", {s['records'] / s['seconds']:,.0f} rec/s" if s["records"] else ""
            cells.append(f"{s['seconds']:.2f} s{rate}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    total = [sum(s["seconds"] for k, s in r["stages"].items() if k != "synth") for r in results]
    print("| **build total** (every stage but synth) | " + " | ".join(f"**{t:.1f} s**" for t in total) + " |")
    print("| peak memory | " + " | ".join(f"{r['peak_mb']:,.0f} MB" for r in results) + " |")
    print(f"\n`sub --help` start-up: {help_startup():.3f} s (median of 5)")


if __name__ == "__main__":
    main()
