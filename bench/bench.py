"""Benchmark: `sub build` on N synthetic subjects, each stage against the I/O floor of the same run.

    python bench/bench.py                        # 624, 10000, 100000 subjects; with and without LibreOffice
    python bench/bench.py --sizes 624,10000      # a subset
    python bench/bench.py --libreoffice no       # only without LibreOffice (yes: only with it)
    python bench/bench.py --no-validate          # do not time `sub validate` after the build
    python bench/bench.py --json results.json    # also keep every number (written after every run)
    python bench/bench.py --memory-limit 8       # stop a build whose memory goes over 8 GB (a shared machine)

Each size is synthesized in one process and built in another (one per LibreOffice setting), so
that the peak memory (ru_maxrss) is the build's own; the parent also samples the build's memory
with its child processes (LibreOffice) and, with --memory-limit, stops a build that goes over. A
failed or stopped build is reported with the stages it finished. The build is `run_build`, as
`sub build` runs it; its stages are timed by wrapping the functions it calls (load, SDTM mapping, the dataset
writes, define.xml, ADaM, report, and what else the build calls), and what is left is "other".
"Without LibreOffice" hides it from the build as a machine without it would (no contents pass).

The I/O floor is measured in the same process right after the build: reading every raw CSV and
writing the bytes of every output file the build wrote (plain writes to a scratch folder; the
copies' bytes are read outside the timing). Each stage and the whole build is printed as a ratio to
that floor. Prints Markdown tables (the README's) and `sub --help` start-up. The diff benchmark is
bench/bench_diff.py. Nothing here is a test: timings never gate CI.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = 20161207
CHUNK = 1 << 24


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _records(value) -> int | None:
    """Records in what a stage returned or was given: an extract, a dict of datasets or frames."""
    frames = getattr(value, "frames", None) or getattr(value, "datasets", None) or value
    if isinstance(frames, dict):
        return sum(len(getattr(x, "frame", x)) for x in frames.values())
    return None


class StageClock:
    """Times the functions `run_build` calls by wrapping them where it looks them up; a stage called
    inside another (define.xml rewritten by the guides stage) counts toward the outer one."""

    def __init__(self) -> None:
        self.stages: dict[str, dict] = {}
        self.depth = 0

    def wrap(self, module, attr: str, name, records=None) -> None:
        original = getattr(module, attr, None)
        if original is None:
            return

        def timed(*args, **kwargs):
            if self.depth:
                return original(*args, **kwargs)
            label = name(*args, **kwargs) if callable(name) else name
            self.depth += 1
            start = time.perf_counter()
            try:
                value = original(*args, **kwargs)
            finally:
                self.depth -= 1
            entry = self.stages.setdefault(label, {"seconds": 0.0, "records": None})
            entry["seconds"] += time.perf_counter() - start
            count = records(args, kwargs, value) if records else None
            if count is not None:
                entry["records"] = (entry["records"] or 0) + count
            entry["peak_mb"] = _peak_mb()
            print("STAGE " + json.dumps({label: entry}), file=sys.stderr, flush=True)
            return value

        setattr(module, attr, timed)


def _standard(args, kwargs) -> str:
    return (kwargs.get("standard") or args[3]).lower()


def io_floor(raw: Path, out: Path, scratch: Path) -> dict:
    """Seconds to read every raw CSV and to write the bytes of every file under `out` (to `scratch`)."""
    read = 0.0
    for path in sorted(raw.rglob("*.csv")):
        start = time.perf_counter()
        with open(path, "rb") as handle:
            while handle.read(CHUNK):
                pass
        read += time.perf_counter() - start
    write, size = 0.0, 0
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        target = scratch / path.relative_to(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "rb") as source:  # its bytes are read outside the timing
            start = time.perf_counter()
            handle = open(target, "wb")  # noqa: SIM115 - closed below, inside the timing
            write += time.perf_counter() - start
            try:
                while chunk := source.read(CHUNK):
                    start = time.perf_counter()
                    handle.write(chunk)
                    write += time.perf_counter() - start
                    size += len(chunk)
            finally:
                start = time.perf_counter()
                handle.close()
                write += time.perf_counter() - start
    return {"read": read, "write": write, "seconds": read + write, "bytes": size}


def synth_one(n: int, raw: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    from submission.paths import bundled_specs
    from submission.raw.synth import synthesize, write_extract
    from submission.study import load_settings

    start = time.perf_counter()
    frames = synthesize(load_settings(bundled_specs()), n_subjects=n, seed=SEED)
    seconds = time.perf_counter() - start
    write_extract(frames, raw)
    return {"seconds": seconds, "records": sum(len(x) for x in frames.values()), "peak_mb": _peak_mb()}


def build_one(raw: Path, work: Path, libreoffice: bool, validate: bool) -> dict:
    """`run_build` on the extract in `raw`, stage by stage, then the I/O floor (and `sub validate`)."""
    sys.path.insert(0, str(ROOT))
    from submission import build
    from submission.paths import bundled_specs
    from submission.qc import manifest
    from submission.raw import load
    from submission.sdtm import build as sdtm_build
    from submission.tlf import render

    if not libreoffice:
        render.soffice_path = lambda: None  # as on a machine without LibreOffice
    clock = StageClock()
    clock.wrap(load, "load_extract", "load", lambda a, k, v: _records(v))
    clock.wrap(sdtm_build, "build_sdtm", "sdtm", lambda a, k, v: _records(v))
    clock.wrap(build, "write_datasets", lambda *a, **k: f"{_standard(a, k)} write",
               lambda a, k, v: _records(a[1] if len(a) > 1 else k["datasets"]))
    clock.wrap(build, "write_define", "define")
    clock.wrap(build, "run_adam_stage", "adam", lambda a, k, v: _records(v))
    clock.wrap(build, "run_report", "report")
    try:
        from submission.package import stage as package
    except ImportError:
        package = None
    if package is not None:
        clock.wrap(package, "write_acrf_stage", "aCRF")
        clock.wrap(package, "write_guides_stage", "reviewer's guides (runs validate, define again)")
    clock.wrap(manifest, "write_manifest", "manifest")
    specs, out = bundled_specs(), work / "out"
    start = time.perf_counter()
    error = None
    try:
        build.run_build(raw, specs, out)
    except Exception as exc:  # noqa: BLE001 - reported in the table, the other runs go on
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    total = time.perf_counter() - start
    result = {"stages": clock.stages, "total": total, "peak_mb": _peak_mb(), "error": error,
              "libreoffice": libreoffice and render.soffice_path() is not None}
    result["stages"]["other"] = {"seconds": total - sum(s["seconds"] for s in clock.stages.values()),
                                 "records": None}
    if error is None:
        result["floor"] = io_floor(raw, out, work / "floor")
        shutil.rmtree(work / "floor", ignore_errors=True)
        if validate:
            from submission.qc.validate import validate as run_validate

            start = time.perf_counter()
            run_validate(out, specs)
            result["validate"] = time.perf_counter() - start
    return result


def help_startup(repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "submission.cli", "--help"], cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _family(pid: int) -> list[int]:
    """The process and its descendants (LibreOffice runs in a process group of its own), from /proc."""
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return [pid, *(p for child in children for p in _family(child))]


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants; 0 for what has ended."""
    total = 0.0
    for member in _family(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def _child(args: list[str], memory_limit_mb: float | None = None) -> dict:
    """Run this script in a child mode; its last stdout line is the result. Stages it reports on
    stderr as they end (`STAGE {...}`) are kept, so a run that fails or is stopped says how far it
    got; over `memory_limit_mb` (resident, with its children) it is stopped."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen([sys.executable, __file__, *args], stdout=out, stderr=err, text=True)
        peak, over = 0.0, False
        while child.poll() is None:
            peak = max(peak, _rss_mb(child.pid))
            if memory_limit_mb and peak > memory_limit_mb:
                over = True
                for member in reversed(_family(child.pid)):  # LibreOffice too: nothing outlives the run
                    with contextlib.suppress(OSError):
                        os.kill(member, signal.SIGKILL)
                break
            time.sleep(0.5)
        child.wait()
        out.seek(0)
        err.seek(0)
        result, lines = out.read(), err.read().splitlines()
    stages, last = {}, None
    for line in lines:
        if line.startswith("STAGE "):
            stage = json.loads(line[6:])
            stages.update(stage)
            last = next(iter(stage))
    if child.returncode or over:
        why = f"over the memory limit ({memory_limit_mb:,.0f} MB)" if over else \
            f"exit {child.returncode}: {lines[-1][:200] if lines else ''}"
        return {"error": why, "stages": stages, "last_stage": last, "peak_family_mb": peak,
                "peak_mb": max((s.get("peak_mb", 0) for s in stages.values()), default=0)}
    return {**json.loads(result.strip().splitlines()[-1]), "peak_family_mb": peak}


def _cell(stage: dict | None, floor: float | None) -> str:
    if not stage:
        return "-"
    text = f"{stage['seconds']:.2f} s"
    if stage.get("records"):
        text += f", {stage['records'] / max(stage['seconds'], 1e-9):,.0f} rec/s"
    if floor:
        text += f", {stage['seconds'] / floor:,.1f}× floor"
    return text


def table(runs: list[dict], title: str) -> list[str]:
    lines = [f"**{title}**", "", "| stage | " + " | ".join(f"{r['subjects']:,} subjects" for r in runs) + " |",
             "| --- |" + " --- |" * len(runs)]
    floors = [r["build"].get("floor", {}).get("seconds") for r in runs]
    lines.append("| I/O floor (read raw CSVs + write outputs) | " + " | ".join(
        f"{f['seconds']:.2f} s ({f['read']:.2f} + {f['write']:.2f}; {f['bytes'] / 1e6:,.0f} MB)"
        if (f := r["build"].get("floor")) else "-" for r in runs) + " |")
    lines.append("| synth (not part of the build) | " + " | ".join(_cell(r["synth"], None) for r in runs) + " |")
    names: list[str] = []
    for r in runs:
        names += [n for n in r["build"].get("stages", {}) if n not in names and n != "other"]
    for name in [*names, "other"]:
        lines.append(f"| {name} | " + " | ".join(_cell(r["build"].get("stages", {}).get(name), f)
                                                 for r, f in zip(runs, floors)) + " |")
    cells = []
    for r, f in zip(runs, floors):
        b = r["build"]
        if b.get("error"):
            spent = b.get("total") or sum(s["seconds"] for s in b.get("stages", {}).values())
            last = b.get("last_stage")
            cells.append(f"**failed** after {spent:.0f} s{' (last stage done: ' + last + ')' if last else ''}: "
                         f"{b['error']}")
        else:
            cells.append(f"**{b['total']:.1f} s, {b['total'] / f:,.0f}× floor**" if f else f"**{b['total']:.1f} s**")
    lines.append("| **build total** (`run_build`) | " + " | ".join(cells) + " |")
    lines.append("| peak memory (build process; of a stopped run: at its last stage done) | " + " | ".join(
        f"{r['build']['peak_mb']:,.0f} MB" if "peak_mb" in r["build"] else "-" for r in runs) + " |")
    lines.append("| peak memory with its child processes (LibreOffice), sampled twice a second | " + " | ".join(
        f"{r['build']['peak_family_mb']:,.0f} MB" if "peak_family_mb" in r["build"] else "-" for r in runs) + " |")
    if any("validate" in r["build"] for r in runs):
        lines.append("| `sub validate` (after the build) | " + " | ".join(
            f"{r['build']['validate']:.2f} s" if "validate" in r["build"] else "-" for r in runs) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="624,10000,100000")
    parser.add_argument("--libreoffice", choices=["both", "yes", "no"], default="both")
    parser.add_argument("--no-validate", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every number to this file (after every run)")
    parser.add_argument("--memory-limit", type=float, metavar="GB",
                        help="stop a build whose resident memory (with LibreOffice) goes over this")
    parser.add_argument("--synth", type=int, help=argparse.SUPPRESS)  # child process modes
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--without-libreoffice", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.synth:
        print(json.dumps(synth_one(args.synth, args.work / "raw")))
        return
    if args.build:
        print(json.dumps(build_one(args.work / "raw", args.work, not args.without_libreoffice, not args.no_validate)))
        return
    sys.path.insert(0, str(ROOT))
    from submission.tlf.render import soffice_path

    modes = {"both": [False, True], "yes": [True], "no": [False]}[args.libreoffice]
    if soffice_path() is None and True in modes:
        print("LibreOffice is not installed: building without it only", file=sys.stderr)
        modes = [False]
    runs: dict[bool, list[dict]] = {mode: [] for mode in modes}
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as work:
            synth = _child(["--synth", str(n), "--work", work])
            for mode in modes:
                shutil.rmtree(Path(work) / "out", ignore_errors=True)
                child = ["--build", "--work", work] + ["--without-libreoffice"] * (not mode) \
                    + ["--no-validate"] * args.no_validate
                limit = args.memory_limit * 1024 if args.memory_limit else None
                built = _child(child, limit) if "error" not in synth else {"error": "synth failed"}
                runs[mode].append({"subjects": n, "synth": synth, "build": built})
                print(f"{n} subjects, {'with' if mode else 'without'} LibreOffice: "
                      f"{built.get('total', 0):.1f} s{' FAILED: ' + built['error'] if built.get('error') else ''}",
                      file=sys.stderr)
                if args.json:
                    args.json.write_text(json.dumps({str(k): v for k, v in runs.items()}, indent=1), encoding="utf-8")
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}; load average at the end "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    for mode in modes:
        print("\n".join(table(runs[mode], f"{'with' if mode else 'without'} LibreOffice")) + "\n")
    print(f"`sub --help` start-up: {help_startup():.3f} s (median of 5)")


if __name__ == "__main__":
    main()
