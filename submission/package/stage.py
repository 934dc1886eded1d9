"""The package documents as steps of `sub build` (submission/build.py calls these two).

    write_acrf_stage    before the SDTM define.xml: sdtm/acrf.pdf (or .docx), whose pages the
                        define's Collected origins cite
    write_guides_stage  after the report: `sub validate` on the staged package, sdtm/csdrg and
                        adam/adrg, then both define.xml files written again so that they link
                        the guides; every document link is checked to resolve inside its folder
"""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import SubError


def write_acrf_stage(folder: Path, specs_dir: Path, settings, log: list[str]) -> None:
    from ..build import creation_time
    from .acrf import write_acrf

    started = time.perf_counter()
    result = write_acrf(Path(folder), Path(specs_dir), settings, creation_time(settings))
    if result is None:
        log.append("annotated CRF: the specs have no acrf.csv, so none is written and define.xml cites no CRF pages")
        return
    log.append(f"annotated CRF written: {Path(folder).name}/{result.path.name}, {len(result.pages)} Collected "
               f"item(s) of the SDTM spec with their page(s) ({time.perf_counter() - started:.2f} s)")
    log.extend(f"  {note}" for note in result.notes)


def write_guides_stage(stage: Path, specs_dir: Path, settings, log: list[str], shown: Path | None = None) -> None:
    from ..build import creation_time, write_define
    from .conformance import unexplained
    from .documents import leaf_problems
    from .guides import (
        ADRG_NAME,
        CSDRG_NAME,
        build_adrg,
        build_csdrg,
        gather_inputs,
        write_guide,
    )

    started = time.perf_counter()
    stage = Path(stage)
    shown = Path(shown or stage)
    inputs = gather_inputs(stage, specs_dir, settings, creation_time(settings))
    notes: list[str] = []
    written = [write_guide(build_csdrg(inputs), stage / "sdtm", CSDRG_NAME, notes),
               write_guide(build_adrg(inputs), stage / "adam", ADRG_NAME, notes)]
    findings = inputs.report.findings
    missing = unexplained(findings, inputs.explanations)
    log.append(f"reviewer's guides written: {', '.join(f'{p.parent.name}/{p.name}' for p in written)}; "
               f"sub validate: {sum(f.severity == 'error' for f in findings)} error(s), "
               f"{sum(f.severity == 'warning' for f in findings)} warning(s), {len(missing)} of them without an "
               f"explanation in specs/conformance.csv ({time.perf_counter() - started:.2f} s)")
    for f in missing:
        log.append(f"  WARNING: not explained in the reviewer's guide: {f.rule} {f.dataset or ''} "
                   f"{f.variable or ''}: {f.message}")
    log.extend(f"  {note}" for note in notes)
    log.append("define.xml written again for both standards, now linking the reviewer's guides:")
    problems = []
    for folder, standard in (("sdtm", "SDTM"), ("adam", "ADaM")):
        # the datasets `sub validate` has just read from this folder: define.xml is built from them
        # instead of reading every file a second time
        here = (stage / folder).resolve()
        read = {m.name: m.xpt_data for m in inputs.report.package.members
                if m.xpt_data is not None and m.xpt is not None and m.xpt.parent.resolve() == here}
        write_define(stage / folder, specs_dir, settings, standard, log, shown=shown / folder, written=read)
        problems += leaf_problems(stage / folder)
    if problems:
        raise SubError(problems, "define.xml links a document that is not in its folder")
