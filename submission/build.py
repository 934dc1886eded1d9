"""`sub build` and the single stages: each writes into a staged folder that replaces its target
only on success, so a failed run leaves the previous output untouched.

raw extract -> SDTM (OUT/sdtm) -> ADaM (OUT/adam) -> define.xml -> report. Each stage reads
only what the stage before it produced.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from .dataset import Dataset
from .errors import SubError
from .io import build_timestamp, staged_folder, write_atomic
from .progress import StatusLog, advance, step


@dataclass
class BuildResult:
    out_dir: Path
    log: list[str] = field(default_factory=StatusLog)  # a list that also feeds the terminal's status line

    def summary(self) -> list[str]:
        return [*self.log, f"build complete: {self.out_dir}"]


def creation_time(settings) -> dt.datetime:
    """SOURCE_DATE_EPOCH when set, else the data cut-off: never the wall clock (identical rebuilds)."""
    return build_timestamp(dt.datetime.combine(settings.dates.data_cutoff, dt.time()))


def write_datasets(folder: Path, datasets: dict[str, Dataset], settings, standard: str,
                   shown: Path | None = None) -> list[Path]:
    """Each dataset as `<name>.xpt` (XPT v5) and `<name>.json` (Dataset-JSON 1.1).

    `shown` is the folder named in messages: the final place, not the staging folder. Each text
    column is factorized once (columns.DistinctValues) for the check and both files.
    """
    from . import __version__
    from .columns import DistinctValues
    from .datasetjson import write_dataset_json
    from .xpt import xpt_problems, write_xpt

    created = creation_time(settings)
    shown = shown or folder
    distinct = {name: DistinctValues(ds) for name, ds in datasets.items()}
    problems = [p for name, ds in datasets.items()
                for p in xpt_problems(ds, str(shown / f"{name.lower()}.xpt"), distinct=distinct[name])]
    if problems:
        raise SubError(problems, f"{standard}: {len(problems)} value(s) cannot go into XPT v5; nothing was written")
    written = []
    total, done = sum(len(ds.frame) for ds in datasets.values()), 0
    with step(f"{standard}: writing datasets"):
        for number, (name, ds) in enumerate(datasets.items(), start=1):
            advance(f"{name.lower()}.xpt, .json ({number} of {len(datasets)}), {done:,} of {total:,} records done")
            xpt = folder / f"{name.lower()}.xpt"
            write_xpt(ds, xpt, created, checked=True, distinct=distinct[name])
            json_path = folder / f"{name.lower()}.json"
            write_dataset_json(ds, json_path, created=created, study_oid=settings.study.studyid,
                               mdv_oid=f"MDV.{settings.study.studyid}.{standard}", metadata_ref="define.xml",
                               originator=settings.study.sponsor, version=__version__, distinct=distinct.pop(name))
            written += [xpt, json_path]
            done += len(ds.frame)
    return written


def run_sdtm_stage(raw_dir: Path, specs_dir: Path, *, encoding: str, log: list[str],
                   cutoff: dt.date | None = None, as_received: bool = False):
    """Load, check and map the raw extract; with `cutoff`, first cut it to the data known at that
    date (submission/raw/cutoff.py) and return settings whose dates.data_cutoff is the cut-off."""
    from .raw.checks import warning_lines
    from .raw.load import load_extract
    from .sdtm.build import build_sdtm
    from .sdtm.context import Translations
    from .spec import check_all, load_spec
    from .study import load_settings

    started = time.perf_counter()
    problems = check_all(specs_dir)
    if problems:
        raise SubError(problems, f"specs {specs_dir}: {len(problems)} problem(s); nothing was built")
    settings = load_settings(specs_dir)
    extract = load_extract(raw_dir, specs_dir, settings=settings, encoding=encoding)
    if settings.study.synthetic:
        log.append("NOTE: the study settings mark this study as SYNTHETIC: no output is real study data.")
    log.append(f"study {settings.study.studyid}: raw extract {raw_dir} loaded and checked "
               f"({time.perf_counter() - started:.2f} s)")
    log.extend(warning_lines(extract.warnings))
    whole = None  # the extract before the cut: TS keeps the study's own dates
    if cutoff is not None:
        from .raw.cutoff import apply_cutoff, cutoff_settings

        whole = extract
        extract, cut_log = apply_cutoff(extract, cutoff, settings, as_received=as_received)
        settings = cutoff_settings(settings, cutoff)
        log.extend(cut_log)
    started = time.perf_counter()
    result = build_sdtm(extract, load_spec(Path(specs_dir) / "sdtm"), settings, Translations.load(specs_dir),
                        whole=whole)
    log.append(f"SDTM mapped ({time.perf_counter() - started:.2f} s); reconciliation of raw rows to records:")
    log.extend(result.reconciliation)
    for name, ds in result.datasets.items():
        log.append(f"  {name:<7} {len(ds.frame):>8} records {len(ds.columns):>3} variables")
    return settings, result.datasets


def write_define(folder: Path, specs_dir: Path, settings, standard: str, log: list[str],
                 shown: Path | None = None, written: dict[str, Dataset] | None = None, html: bool = True) -> None:
    """define.xml (+ define.html and the stylesheet) for the datasets in `folder`, validated against
    the Define-XML 2.1 schema, then checked against the XPT files beside it.

    `written`: the datasets `write_datasets` just wrote to `folder`, so that they are not read back:
    the define is built from them and the check reads only the files' headers (check_consistency).
    Both convert each column of a dataset to text once, sharing it (define/_values.py `FrameTexts`).
    `html=False`: no define.html, for a define that is written again (with it) before anyone reads it.
    """
    from .define._values import FrameTexts
    from .define.consistency import check_consistency
    from .define.write import read_arm_sheets, write_define_folder
    from .spec import load_spec
    from .xpt import read_xpt

    started = time.perf_counter()
    spec = load_spec(Path(specs_dir) / standard.lower())
    datasets = {}
    with step(f"{standard}: define.xml"):
        for name in spec.datasets:
            path = folder / f"{name.lower()}.xpt"
            if path.exists():
                ds = written[name] if written is not None and name in written else read_xpt(path)
                datasets[name] = dataclasses.replace(ds, keys=spec.datasets[name].key_variables)
        arm = read_arm_sheets(spec.folder) if standard == "ADaM" else None
        values = {name: FrameTexts(ds.frame) for name, ds in datasets.items()}
        write_define_folder(folder, spec, datasets, settings, standard, creation_time(settings), arm=arm or None,
                            values=values, html=html)
        # documents the define refers to by a bare file name ship beside it (study settings, label terms)
        for document in spec.documents.values():
            source = Path(specs_dir) / document.href
            if "/" not in document.href and source.is_file():
                write_atomic(folder / document.href, source.read_bytes())
        advance("checking it against the files written")
        problems = check_consistency(folder, datasets=written, values=values)
    if problems:
        shown = shown or folder
        problems = [dataclasses.replace(p, file=p.file.replace(str(folder), str(shown))) for p in problems]
        raise SubError(problems, f"{standard} define.xml does not agree with the datasets beside it")
    log.append(f"{standard} define.xml written, schema-valid and consistent with {len(datasets)} datasets "
               f"({time.perf_counter() - started:.2f} s)")


def run_adam_stage(sdtm_dir: Path, specs_dir: Path, settings, log: list[str]) -> dict[str, Dataset]:
    """ADaM from the SDTM files in `sdtm_dir` (and nothing else)."""
    from .adam.build import build_adam, check_sdtm_input, read_sdtm
    from .adam.labelterms import LabelTerms
    from .spec import load_spec

    started = time.perf_counter()
    sdtm = read_sdtm(sdtm_dir)
    check_sdtm_input(sdtm, load_spec(Path(specs_dir) / "sdtm"), sdtm_dir)
    result = build_adam(sdtm, load_spec(Path(specs_dir) / "adam"), settings, LabelTerms.load(specs_dir))
    log.append(f"ADaM derived from {sdtm_dir.name}/ ({time.perf_counter() - started:.2f} s):")
    log.extend(result.log)
    return result.datasets


def run_report(adam_dir: Path, settings, stage: Path, log: list[str], *, periodic=None, pdf: bool = False) -> None:
    """The report stage: ADaM files in, STAGE/tlf (ARD) and STAGE/report (Word) out; `periodic`
    (tlf/periodic.py): a periodic safety report with interval and cumulative figures."""
    from .tlf.report import run_report_stage

    started = time.perf_counter()
    paths = run_report_stage(adam_dir, settings, stage, creation_time(settings), periodic=periodic, pdf=pdf)
    log.append(f"report written from {adam_dir.name}/ ({time.perf_counter() - started:.2f} s): "
               f"{len(paths.outputs)} tables, listings and figures; table of contents with page numbers: "
               f"{'yes (read from one LibreOffice rendering)' if paths.toc_pages else 'no (' + (paths.toc_note or 'no heading found in the rendering') + ')'}")
    if paths.pdf is not None:
        log.append(f"  PDF: report/{paths.pdf.name} from the same rendering (heading bookmarks, linked contents, "
                   "embedded fonts; its bytes are not reproducible)")
    log.extend(f"  {note}" for note in getattr(paths, "notes", []))
    log.extend(f"  warning: {warning}" for warning in getattr(paths, "warnings", []))


def run_build(raw_dir: Path, specs_dir: Path, out_dir: Path, *, encoding: str = "utf-8",
              cutoff: dt.date | None = None, interval_start: dt.date | None = None, pdf: bool = False,
              as_received: bool = False) -> BuildResult:
    """The whole chain; with `cutoff`, on the data known at that date: a periodic safety report
    whose reporting interval starts after `interval_start` (default: the previous periodic cut-off
    of the schedule; tlf/periodic.py). `pdf`: also report/re-examination-report.pdf (with `cutoff`:
    periodic-safety-report.pdf; needs LibreOffice). `as_received`: with `cutoff`, a record reported
    after the cut-off is not known at it (raw/cutoff.py)."""
    from .outdir import check_output, input_paths

    check_output(out_dir, input_paths(raw=raw_dir, specs=specs_dir))
    if pdf:
        from .tlf.report import require_libreoffice

        require_libreoffice()  # before anything is built
    result = BuildResult(Path(out_dir))
    log = result.log
    settings, sdtm = run_sdtm_stage(raw_dir, specs_dir, encoding=encoding, log=log, cutoff=cutoff,
                                    as_received=as_received)
    periodic = None
    if cutoff is not None:
        from .tlf.periodic import prepare

        periodic = prepare(raw_dir, specs_dir, settings, cutoff, interval_start, encoding=encoding, log=log,
                           as_received=as_received)
    from .package.stage import write_acrf_stage, write_guides_stage
    from .qc.manifest import RUN_LOG, write_manifest

    out = Path(out_dir)
    with staged_folder(out_dir, log) as stage:
        (stage / "sdtm").mkdir()
        write_datasets(stage / "sdtm", sdtm, settings, "SDTM", shown=out / "sdtm")
        write_acrf_stage(stage / "sdtm", specs_dir, settings, log)
        # define.html is rendered when write_guides_stage writes both defines again, linking the guides
        write_define(stage / "sdtm", specs_dir, settings, "SDTM", log, shown=out / "sdtm", written=sdtm, html=False)
        del sdtm  # every later stage reads the SDTM files: free the mapped frames before ADaM
        adam = run_adam_stage(stage / "sdtm", specs_dir, settings, log)
        (stage / "adam").mkdir()
        write_datasets(stage / "adam", adam, settings, "ADaM", shown=out / "adam")
        write_define(stage / "adam", specs_dir, settings, "ADaM", log, shown=out / "adam", written=adam, html=False)
        del adam  # the report reads the ADaM files
        run_report(stage / "adam", settings, stage, log, periodic=periodic, pdf=pdf)
        write_guides_stage(stage, specs_dir, settings, log, shown=out)
        write_manifest(stage, raw_dir=raw_dir, specs_dir=specs_dir, settings=settings,
                       stages=["sdtm", "adam", "define", "report"])
        log.append("manifest.json lists every input and output file with its size and SHA-256")
        write_atomic(stage / RUN_LOG, ("\n".join(log) + "\n").encode("utf-8"))
    return result


def run_adam(sdtm_dir: Path, specs_dir: Path, out_dir: Path) -> BuildResult:
    """Only the ADaM stage, from an SDTM folder: OUT/adam is replaced, the rest of OUT is left as it is."""
    from .outdir import check_output, input_paths
    from .study import load_settings

    check_output(Path(out_dir) / "adam", input_paths(sdtm=sdtm_dir, specs=specs_dir), parent_output=out_dir)
    result = BuildResult(Path(out_dir) / "adam")
    settings = load_settings(specs_dir)
    adam = run_adam_stage(Path(sdtm_dir), specs_dir, settings, result.log)
    with staged_folder(Path(out_dir) / "adam", result.log) as stage:
        write_datasets(stage, adam, settings, "ADaM", shown=Path(out_dir) / "adam")
        write_define(stage, specs_dir, settings, "ADaM", result.log, shown=Path(out_dir) / "adam", written=adam)
    return result


def run_define(folder: Path, specs_dir: Path, standard: str) -> BuildResult:
    """Rewrite define.xml (+ html, stylesheet) of an SDTM or ADaM folder from the spec and the data."""
    from .study import load_settings

    result = BuildResult(Path(folder))
    write_define(Path(folder), specs_dir, load_settings(specs_dir), standard, result.log)
    return result


def run_sdtm(raw_dir: Path, specs_dir: Path, out_dir: Path, *, encoding: str = "utf-8") -> BuildResult:
    """Only the SDTM stage: OUT/sdtm is replaced, the rest of OUT is left as it is."""
    from .outdir import check_output, input_paths

    check_output(Path(out_dir) / "sdtm", input_paths(raw=raw_dir, specs=specs_dir), parent_output=out_dir)
    result = BuildResult(Path(out_dir) / "sdtm")
    settings, sdtm = run_sdtm_stage(raw_dir, specs_dir, encoding=encoding, log=result.log)
    with staged_folder(Path(out_dir) / "sdtm", result.log) as stage:
        write_datasets(stage, sdtm, settings, "SDTM", shown=Path(out_dir) / "sdtm")
    return result
