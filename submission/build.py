"""`sub build`: the whole chain, written into a staged folder that replaces OUT only on success.

Stages so far: specs check -> raw extract load and check. Each later stage (SDTM, ADaM,
define.xml, report) plugs in here, reading only what the stage before it produced.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SubError
from .io import staged_folder, write_atomic


@dataclass
class BuildResult:
    out_dir: Path
    log: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        return [*self.log, f"build complete: {self.out_dir}"]


def run_build(raw_dir: Path, specs_dir: Path, out_dir: Path, *, encoding: str = "utf-8") -> BuildResult:
    from .raw.load import load_extract
    from .spec import check_all
    from .study import load_settings

    result = BuildResult(Path(out_dir))
    started = time.perf_counter()
    problems = check_all(specs_dir)
    if problems:
        raise SubError(problems, f"specs {specs_dir}: {len(problems)} problem(s); nothing was built")
    settings = load_settings(specs_dir)
    extract = load_extract(raw_dir, specs_dir, settings=settings, encoding=encoding)
    log = result.log
    if settings.study.synthetic:
        log.append("NOTE: the study settings mark this study as SYNTHETIC: no output is real study data.")
    log.append(f"study {settings.study.studyid}: raw extract {raw_dir}")
    for form, frame in extract.frames.items():
        subjects = frame["SUBJID"].nunique()
        log.append(f"  raw {extract.layout.forms[form].file:<14} {len(frame):>8} rows {subjects:>7} subjects")
    log.append(f"raw extract checked in {time.perf_counter() - started:.2f} s")
    with staged_folder(out_dir) as stage:
        write_atomic(stage / "build.log", ("\n".join(log) + "\n").encode("utf-8"))
    return result
