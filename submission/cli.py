"""The `sub` command line: parse, call, print, exit. No logic lives here.

Imports of pandas and friends happen inside the commands so that `sub --help` starts fast.
Exit codes: 0 success; 1 bad input (every problem printed, file/row/column/value) or a write the
machine refused (full or read-only disk, permission: path and cause); 2 usage error; 3 an internal
error (a bug: please report it with `--debug` output); 130 interrupted (Ctrl-C), 143 terminated.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

EXIT_BAD_INPUT = 1
EXIT_INTERNAL = 3
SHOWN_PROBLEMS = 200


def _default_specs() -> Path:
    from .paths import bundled_specs

    return bundled_specs()


def _default_raw() -> Path:
    from .paths import bundled_raw

    return bundled_raw()


EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C


class _Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so that staging folders are removed on the way out."""


def _on_sigterm(signum, frame):  # pragma: no cover - exercised through a subprocess test
    raise _Terminated()


class _Group(click.Group):
    """Turn bad input into one clear message and an exit code instead of a traceback."""

    def main(self, *args, **kwargs):
        import signal

        try:
            signal.signal(signal.SIGTERM, _on_sigterm)
        except ValueError:  # not the main thread (e.g. an embedding test runner): leave it alone
            pass
        return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context):
        from .errors import SubError

        try:
            return super().invoke(ctx)
        except SubError as exc:
            click.echo(f"sub: {exc.render(limit=SHOWN_PROBLEMS)}", err=True)
            ctx.exit(exc.exit_code)
        except (KeyboardInterrupt, _Terminated) as exc:
            click.echo("sub: interrupted; no output was changed (the previous output, if any, is untouched)",
                       err=True)
            ctx.exit(EXIT_INTERRUPTED if isinstance(exc, KeyboardInterrupt) else 128 + 15)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except OSError as exc:  # the machine refused: a full or read-only disk, a permission, a missing path
            if ctx.params.get("debug"):
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"sub: {where}{exc.strerror or exc} (errno {exc.errno}); "
                       "no output was changed (the previous output, if any, is untouched)", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except Exception as exc:  # a bug, not bad input
            if ctx.params.get("debug"):
                raise
            click.echo(f"sub: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                       err=True)
            ctx.exit(EXIT_INTERNAL)


specs_option = click.option("--specs", "specs_dir", type=click.Path(path_type=Path), default=None,
                            help="Specs folder (default: the bundled study's).")
raw_option = click.option("--raw", "raw_dir", type=click.Path(path_type=Path), default=None,
                          help="Raw extract folder (default: the bundled synthetic extract).")
encoding_option = click.option("--encoding", default="utf-8", show_default=True,
                               help="Encoding of the raw CSV files (cp949 for a Korean Excel export).")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error.")
@click.version_option(package_name="sub", prog_name="sub")
def main(debug: bool) -> None:
    """sub: build the MFDS re-examination submission package of a Korean PMS study.

    raw EDC extract -> SDTM -> ADaM -> define.xml -> Korean re-examination report.
    """


@main.command(short_help="Run the whole chain: raw to report.")
@raw_option
@specs_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("out"), show_default=True,
              help="Output folder; replaced only when the whole build succeeds.")
@encoding_option
@click.option("--cutoff", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Data cut-off YYYY-MM-DD of a periodic safety report: build on the data known at that date "
                   "(default: the study's data cut-off).")
def build(raw_dir: Path | None, specs_dir: Path | None, out_dir: Path, encoding: str, cutoff) -> None:
    """Run the whole chain on a raw extract (default: the bundled study)."""
    from .build import run_build

    result = run_build(raw_dir or _default_raw(), specs_dir or _default_specs(), out_dir, encoding=encoding,
                       cutoff=cutoff.date() if cutoff else None)
    for line in result.summary():
        click.echo(line)


@main.command(short_help="Map the raw extract to SDTM (OUT/sdtm).")
@raw_option
@specs_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("out"), show_default=True,
              help="Output folder; OUT/sdtm is replaced only when the stage succeeds.")
@encoding_option
def sdtm(raw_dir: Path | None, specs_dir: Path | None, out_dir: Path, encoding: str) -> None:
    """Map the raw extract to SDTM (OUT/sdtm: XPT v5 + Dataset-JSON)."""
    from .build import run_sdtm

    result = run_sdtm(raw_dir or _default_raw(), specs_dir or _default_specs(), out_dir, encoding=encoding)
    for line in result.summary():
        click.echo(line)


@main.command(short_help="Derive ADaM from SDTM only (OUT/adam).")
@click.option("--sdtm", "sdtm_dir", type=click.Path(path_type=Path), default=None,
              help="SDTM folder to derive from (default: OUT/sdtm).")
@specs_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("out"), show_default=True,
              help="Output folder; OUT/adam is replaced only when the stage succeeds.")
def adam(sdtm_dir: Path | None, specs_dir: Path | None, out_dir: Path) -> None:
    """Derive ADaM from SDTM only (OUT/adam: XPT v5 + Dataset-JSON + define.xml)."""
    from .build import run_adam

    result = run_adam(sdtm_dir or out_dir / "sdtm", specs_dir or _default_specs(), out_dir)
    for line in result.summary():
        click.echo(line)


@main.command(short_help="Write and check define.xml for OUT/sdtm, OUT/adam.")
@specs_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("out"), show_default=True,
              help="Build output folder holding sdtm/ and adam/.")
def define(specs_dir: Path | None, out_dir: Path) -> None:
    """Write define.xml 2.1 (+ HTML) for OUT/sdtm and OUT/adam, validated and checked."""
    from .build import run_define

    from .outdir import check_output

    check_output(out_dir, replaces=False)
    for standard in ("SDTM", "ADaM"):
        folder = out_dir / standard.lower()
        if folder.is_dir():
            for line in run_define(folder, specs_dir or _default_specs(), standard).summary():
                click.echo(line)


@main.command()
@click.option("--subjects", default=624, show_default=True, type=click.IntRange(min=1), help="Number of subjects.")
@click.option("--seed", default=20161207, show_default=True, type=int, help="Random seed: same seed, same bytes.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Folder to write the extract to.")
@specs_option
def synth(subjects: int, seed: int, out_dir: Path, specs_dir: Path | None) -> None:
    """Write a synthetic raw extract (never real data)."""
    from .raw.synth import synthesize, write_extract
    from .study import load_settings

    from .outdir import check_output, input_paths

    check_output(out_dir, input_paths(specs=specs_dir or _default_specs()), replaces=False)
    settings = load_settings(specs_dir or _default_specs())
    frames = synthesize(settings, n_subjects=subjects, seed=seed)
    written = write_extract(frames, out_dir)
    rows = sum(len(f) for f in frames.values())
    click.echo(f"wrote {len(written)} files, {rows} rows for {subjects} synthetic subjects (seed {seed}) to {out_dir}")


@main.group(short_help="Check, export and import the study specs.")
def spec() -> None:
    """Check the specs (settings, raw layout, SDTM and ADaM sheets); move them to and from a P21 workbook."""


@spec.command("check")
@specs_option
def spec_check(specs_dir: Path | None) -> None:
    """Report every spec problem at once (file, row, column)."""
    from .errors import SubError
    from .spec import check_all

    folder = specs_dir or _default_specs()
    problems = check_all(folder)
    if problems:
        raise SubError(problems, f"specs {folder}: {len(problems)} problem(s)")
    click.echo(f"specs {folder}: no problems")


standard_option = click.option("--standard", type=click.Choice(["sdtm", "adam"], case_sensitive=False), default=None,
                               help="Which spec: sdtm or adam.")


def _spec_folder(specs_dir: Path, standard: str | None) -> tuple[Path, str, Path | None]:
    """(the standard's spec folder, sdtm/adam, the folder holding study.toml): --specs may name either level."""
    name = specs_dir.name.lower()
    if (specs_dir / "Datasets.csv").exists() and (standard is None or name not in ("sdtm", "adam") or name == standard.lower()):
        standard = standard or (name if name in ("sdtm", "adam") else None)
        if standard is None:
            raise click.UsageError("give --standard sdtm or adam")
        root = specs_dir.parent if (specs_dir.parent / "study.toml").exists() else None
        return specs_dir, standard.lower(), root
    if standard is None:
        raise click.UsageError("give --standard sdtm or adam")
    return specs_dir / standard.lower(), standard.lower(), specs_dir if (specs_dir / "study.toml").exists() else None


@spec.command("export", short_help="Write a spec as a Pinnacle 21 workbook.")
@click.option("--xlsx", "xlsx", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Workbook to write (Pinnacle 21 layout).")
@specs_option
@standard_option
def spec_export(xlsx: Path, specs_dir: Path | None, standard: str | None) -> None:
    """Write a spec as a Pinnacle 21 workbook (every cell as text)."""
    from .define.workbook import export_workbook
    from .study import load_settings

    specs_dir = specs_dir or _default_specs()
    if standard is None and not (specs_dir / "Datasets.csv").exists():
        standard = "sdtm"
    folder, standard, root = _spec_folder(specs_dir, standard)
    settings = load_settings(root) if root is not None else None
    counts = export_workbook(folder, xlsx, standard=standard, settings=settings)
    shown = ", ".join(f"{sheet} {n}" for sheet, n in counts.items() if n)
    click.echo(f"wrote {xlsx} from {folder} ({shown})")


@spec.command("import", short_help="Read a P21 workbook back into the CSV sheets.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--specs", "specs_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Specs folder to write into (the study's, or one standard's).")
@standard_option
def spec_import(file: Path, specs_dir: Path, standard: str | None) -> None:
    """Read a Pinnacle 21 workbook back into the spec's CSV sheets, if it has no problem."""
    from .define.workbook import import_workbook, workbook_standard
    from .study import load_settings

    standard = standard or workbook_standard(file)
    folder, standard, root = _spec_folder(specs_dir, standard)
    settings = load_settings(root) if root is not None else None
    result = import_workbook(file, folder, standard=standard, settings=settings)
    click.echo(f"imported {file} into {folder}: {len(result.changed)} sheet(s) changed, "
               f"{len(result.unchanged)} unchanged")
    for path in result.changed:
        click.echo(f"  changed {path.name}")


@main.command(short_help="Compare two datasets or two packages.")
@click.argument("base", type=click.Path(exists=True, path_type=Path))
@click.argument("compare", type=click.Path(exists=True, path_type=Path))
@click.option("--keys", default=None, help="Key variables, comma-separated (default: the spec's Key Variables, "
                                           "else row position).")
@click.option("--tolerance", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Absolute tolerance for numeric values.")
@click.option("--max-examples", type=click.IntRange(min=0), default=10, show_default=True,
              help="Differing records shown per finding.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@specs_option
@click.pass_context
def diff(ctx: click.Context, base: Path, compare: Path, keys: str | None, tolerance: float, max_examples: int,
         as_json: bool, specs_dir: Path | None) -> None:
    """Compare two datasets (xpt, json, sas7bdat, csv) or two package folders.

    Exit 0 when equal, 1 when different, 2 when the comparison cannot run.
    """
    from .qc.diff import diff_paths, render_report

    key_list = [k.strip() for k in keys.split(",") if k.strip()] if keys else None
    result = diff_paths(base, compare, keys=key_list, tolerance=tolerance, max_examples=max_examples,
                        specs_dir=specs_dir)
    click.echo(result.to_json() if as_json else render_report(result))
    ctx.exit(result.exit_code)


@main.group()
def raw() -> None:
    """Check a raw EDC extract and show its layout."""


@raw.command("check")
@raw_option
@specs_option
@encoding_option
def raw_check(raw_dir: Path | None, specs_dir: Path | None, encoding: str) -> None:
    """Report every problem of a raw extract (file, row, column)."""
    from .raw.load import load_extract

    extract = load_extract(raw_dir or _default_raw(), specs_dir or _default_specs(), encoding=encoding)
    subjects = len(extract["ENROL"])
    rows = sum(len(f) for f in extract.frames.values())
    click.echo(f"raw extract {extract.folder}: {subjects} subjects, {rows} rows in {len(extract.frames)} forms, no problems")


@raw.command("layout")
@specs_option
def raw_layout(specs_dir: Path | None) -> None:
    """Print the raw layout as Markdown (the page docs/raw-layout.md)."""
    from .raw.layout import load_layout

    click.echo(load_layout((specs_dir or _default_specs()) / "raw").to_markdown(), nl=False)


@main.command(short_help="Check conformance of a package or files.")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--rules", "list_rules", is_flag=True, help="List every rule (id, severity, description) and exit.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the findings to FILE: .json or .xlsx.")
@specs_option
def validate(path: Path | None, list_rules: bool, report_file: Path | None, specs_dir: Path | None) -> None:
    """Check a package, a folder of XPT/Dataset-JSON files, or one file against CDISC and the study spec.

    Exit 0 without errors (warnings and notices allowed), 1 with errors, 2 when it cannot run.
    """
    from .qc.validate import render_console, rules_table, write_report
    from .qc.validate import validate as run_validate

    if list_rules:
        for rule_id, severity, description in rules_table():
            click.echo(f"{rule_id:<13} {severity:<8} {description}")
        return
    if path is None:
        raise click.UsageError("give a PATH to validate (or --rules)")
    if report_file is not None and report_file.suffix.lower() not in (".json", ".xlsx"):
        raise click.UsageError("--report must end in .json or .xlsx")
    report = run_validate(path, specs_dir or _default_specs())
    for line in render_console(report):
        click.echo(line)
    if report_file is not None:
        write_report(report, report_file)
        click.echo(f"wrote {report_file}")
    click.get_current_context().exit(report.exit_code)


@main.command("tlf", short_help="Build one table from any ADaM folder.")
@click.argument("table")
@click.option("--adam", "adam_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="ADaM folder (adsl.xpt, adae.xpt, ... or Dataset-JSON).")
@click.option("--by", default=None, help="Column grouping of the event data (e.g. TRTA); default: one column.")
@click.option("--denom-by", "denom_by", default=None, help="ADSL counterpart of --by for the N (e.g. TRT01A).")
@click.option("--pop", default="SAFFL", show_default=True, help="Population flag ('none': every ADSL subject).")
@click.option("--subject-flag", "subject_flag", default="TRTEMFL", show_default=True,
              help="Record flag of the events counted ('none': every record).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the ARD (.csv) and the .docx.")
@specs_option
def tlf(table: str, adam_dir: Path, by: str | None, denom_by: str | None, pop: str, subject_flag: str,
        out_dir: Path, specs_dir: Path | None) -> None:
    """Build one table from an ADaM folder: its ARD (CSV) and a small .docx.

    TABLE: ae-soc-pt (also adr-, sae-, sadr-, uae-, uadr-, usae-, usadr-soc-pt), overview,
    adr-severity, adr-grade, adr-outcome, adr-factors, special-populations, adr-soc-figure,
    summary, safety (all of them), demographics.
    """
    from .outdir import check_output, input_paths
    from .study import load_settings
    from .tlf.tlf_command import run_tlf

    check_output(out_dir, input_paths(adam=adam_dir, specs=specs_dir), replaces=False)

    settings = load_settings(specs_dir or _default_specs())
    for path in run_tlf(table, adam_dir, out_dir, by, denom_by, pop, subject_flag, settings):
        click.echo(f"wrote {path}")


@main.command("report", short_help="Write the ARD and the Korean Word report.")
@click.option("--adam", "adam_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the ADaM XPT files (default: OUT/adam).")
@specs_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder: OUT/tlf (ARD) and OUT/report (Word) are replaced only on success.")
def report(adam_dir: Path | None, specs_dir: Path | None, out_dir: Path) -> None:
    """Write the ARD (OUT/tlf) and the Korean re-examination report (OUT/report) from ADaM XPT files."""
    from .build import creation_time
    from .io import staged_folder
    from .study import load_settings
    from .tlf.report import REPORT_DIR, TLF_DIR, build_report, read_adam

    from .outdir import check_output, input_paths

    adam_dir = adam_dir or out_dir / "adam"
    for stage in (TLF_DIR, REPORT_DIR):
        check_output(out_dir / stage, input_paths(adam=adam_dir, specs=specs_dir), parent_output=out_dir)
    settings = load_settings(specs_dir or _default_specs())
    adam = read_adam(adam_dir)
    with staged_folder(out_dir / TLF_DIR) as tlf_stage, staged_folder(out_dir / REPORT_DIR) as report_stage:
        paths = build_report(adam, settings, out_dir, creation_time(settings), tlf_dir=tlf_stage,
                             report_dir=report_stage)
    if settings.study.synthetic:
        click.echo("NOTE: the study settings mark this study as SYNTHETIC: no output is real study data.")
    click.echo(f"ARD: {out_dir / TLF_DIR / paths.ard_csv.name} and {paths.ard_json.name} ({len(paths.outputs)} outputs)")
    click.echo(f"report: {out_dir / REPORT_DIR / paths.docx.name} (table of contents "
               f"{'with' if paths.toc_pages else 'without'} page numbers)")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
