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
INTERRUPTED = "sub: interrupted; no output was changed (the previous output, if any, is untouched)"


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
        try:
            return super().main(*args, **kwargs)
        except _Terminated:  # before a command runs (imports, argument parsing): nothing was written yet
            click.echo(INTERRUPTED, err=True)
            raise SystemExit(128 + 15) from None

    def invoke(self, ctx: click.Context):
        from .errors import SubError

        try:
            return super().invoke(ctx)
        except SubError as exc:
            click.echo(f"sub: {exc.render(limit=SHOWN_PROBLEMS)}", err=True)
            ctx.exit(exc.exit_code)
        except (KeyboardInterrupt, _Terminated) as exc:
            click.echo(INTERRUPTED, err=True)
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
@click.option("--interval-start", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="With --cutoff: the previous report's data cut-off YYYY-MM-DD; the reporting interval is the "
                   "day after it to the cut-off (default: the previous periodic cut-off of the schedule, every 6 "
                   "months from the first approval for 2 years, then yearly).")
@click.option("--as-received", "as_received", is_flag=True,
              help="With --cutoff: cut by the date each record was reported (the extract's report-received dates, "
                   "e.g. AE.RCVDAT) instead of its event date: a record reported after the cut-off was not known "
                   "then. Exit 1 when the extract has no such dates.")
@click.option("--pdf", "pdf", is_flag=True,
              help="Also write report/re-examination-report.pdf (with --cutoff: periodic-safety-report.pdf; needs "
                   "LibreOffice; from the rendering that gives the contents their page numbers).")
def build(raw_dir: Path | None, specs_dir: Path | None, out_dir: Path, encoding: str, cutoff, interval_start,
          as_received: bool, pdf: bool) -> None:
    """Run the whole chain on a raw extract (default: the bundled study)."""
    from .build import run_build
    from .progress import on_terminal

    if interval_start is not None and cutoff is None:
        raise click.UsageError("--interval-start needs --cutoff (it starts the interval of a periodic report)")
    if as_received and cutoff is None:
        raise click.UsageError("--as-received needs --cutoff (it says how the extract is cut at the cut-off)")
    with on_terminal("sub build"):  # a status line on a terminal only
        result = run_build(raw_dir or _default_raw(), specs_dir or _default_specs(), out_dir, encoding=encoding,
                           cutoff=cutoff.date() if cutoff else None,
                           interval_start=interval_start.date() if interval_start else None, pdf=pdf,
                           as_received=as_received)
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
    from .progress import on_terminal

    with on_terminal("sub sdtm"):
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
    from .progress import on_terminal

    with on_terminal("sub adam"):
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
    """Report every problem of a raw extract (file, row, column), then every row that breaks a
    warning-level edit check."""
    from .raw.checks import warning_lines
    from .raw.load import load_extract

    extract = load_extract(raw_dir or _default_raw(), specs_dir or _default_specs(), encoding=encoding)
    subjects = len(extract["ENROL"])
    rows = sum(len(f) for f in extract.frames.values())
    click.echo(f"raw extract {extract.folder}: {subjects} subjects, {rows} rows in {len(extract.frames)} forms, no problems")
    for line in warning_lines(extract.warnings):
        click.echo(line)


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
@click.option("--pop", default=None,
              help="Population flag ('none': every ADSL subject); default SAFFL, EFFFL for response.")
@click.option("--subject-flag", "subject_flag", default=None,
              help="Record flag ('none': every record); default TRTEMFL for the AE tables, none for response/tte "
                   "(e.g. ANL01FL there).")
@click.option("--compare-to", "compare_to", default=None,
              help="Reference level of --by: a p-value per other level (demographics: one test across the levels).")
@click.option("--test", type=click.Choice(["fisher", "chisq"]), default="fisher", show_default=True,
              help="Test of the incidence and response-rate comparisons.")
@click.option("--continuous-test", "continuous_test", type=click.Choice(["anova", "kruskal"]), default="anova",
              show_default=True, help="Demographics: test of the continuous characteristics.")
@click.option("--total", is_flag=True, help="Add a total column (with --by).")
@click.option("--dataset", default=None, help="BDS dataset of response/tte (default ADRS / ADTTE).")
@click.option("--param", default=None, help="PARAMCD of response/tte (default BOR; tte: the only one).")
@click.option("--responders", default=None, help="response: the AVALC values that count as a response, e.g. CR,PR "
                                                 "(default: the study's settings when they apply).")
@click.option("--meddra-version", "meddra_version", default=None,
              help="MedDRA version for the footnotes (default: the study's settings or the folder's define.xml).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the ARD (.csv) and the .docx.")
@click.option("--specs", "specs_dir", type=click.Path(path_type=Path), default=None,
              help="The study's specs (study.toml). Default: study.toml in the ADaM folder, else the bundled "
                   "study's when ADSL is that study's, else none (another study: nothing of the bundled study is used).")
def tlf(table: str, adam_dir: Path, by: str | None, denom_by: str | None, pop: str | None, subject_flag: str | None,
        compare_to: str | None, test: str, continuous_test: str, total: bool, dataset: str | None, param: str | None,
        responders: str | None, meddra_version: str | None, out_dir: Path, specs_dir: Path | None) -> None:
    """Build one table from an ADaM folder: its ARD (CSV) and a small .docx.

    TABLE: ae-soc-pt (also adr-, sae-, sadr-, uae-, uadr-, usae-, usadr-soc-pt), overview,
    adr-severity, adr-grade, adr-outcome, adr-factors, special-populations, adr-soc-figure,
    summary, safety (all of them), demographics, response (best overall response and response rate
    from ADRS), tte (Kaplan-Meier from ADTTE).
    """
    from .outdir import check_output, input_paths
    from .tlf.tlf_command import DEFAULT, run_tlf

    check_output(out_dir, input_paths(adam=adam_dir, specs=specs_dir), replaces=False)

    for path in run_tlf(table, adam_dir, out_dir, by, denom_by, DEFAULT if pop is None else pop,
                        DEFAULT if subject_flag is None else subject_flag, specs_dir=specs_dir, compare_to=compare_to,
                        test=test, total=total, continuous_test=continuous_test, dataset=dataset, param=param,
                        responders=responders, meddra_version=meddra_version):
        click.echo(f"wrote {path}")


@main.command("report", short_help="Write the ARD and the Korean Word report.")
@click.option("--adam", "adam_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the ADaM XPT files (default: OUT/adam).")
@specs_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder: OUT/tlf (ARD) and OUT/report (Word) are replaced only on success.")
@click.option("--pdf", "pdf", is_flag=True,
              help="Also write OUT/report/re-examination-report.pdf (needs LibreOffice).")
def report(adam_dir: Path | None, specs_dir: Path | None, out_dir: Path, pdf: bool) -> None:
    """Write the ARD (OUT/tlf) and the Korean re-examination report (OUT/report) from ADaM XPT files."""
    from .build import creation_time
    from .io import staged_folder
    from .study import load_settings
    from .tlf.report import REPORT_DIR, TLF_DIR, build_report, read_adam, require_libreoffice

    from .outdir import check_output, input_paths

    adam_dir = adam_dir or out_dir / "adam"
    for stage in (TLF_DIR, REPORT_DIR):
        check_output(out_dir / stage, input_paths(adam=adam_dir, specs=specs_dir), parent_output=out_dir)
    if pdf:
        require_libreoffice()
    settings = load_settings(specs_dir or _default_specs())
    adam = read_adam(adam_dir)
    with staged_folder(out_dir / TLF_DIR) as tlf_stage, staged_folder(out_dir / REPORT_DIR) as report_stage:
        paths = build_report(adam, settings, out_dir, creation_time(settings), tlf_dir=tlf_stage,
                             report_dir=report_stage, pdf=pdf)
    if settings.study.synthetic:
        click.echo("NOTE: the study settings mark this study as SYNTHETIC: no output is real study data.")
    click.echo(f"ARD: {out_dir / TLF_DIR / paths.ard_csv.name} and {paths.ard_json.name} ({len(paths.outputs)} outputs)")
    click.echo(f"report: {out_dir / REPORT_DIR / paths.docx.name} (table of contents "
               f"{'with' if paths.toc_pages else 'without'} page numbers)")
    if paths.pdf is not None:
        click.echo(f"PDF: {out_dir / REPORT_DIR / paths.pdf.name}")
    for warning in paths.warnings:
        click.echo(f"warning: {warning}")


@main.command("trace", short_help="Show the subjects and records behind a number of the ARD.")
@click.argument("out_dir", metavar="OUT", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("ard_id", required=False)
@click.option("--records", "show_records", is_flag=True, help="Show the ADaM records behind the number, not only "
                                                             "the subjects.")
@click.option("--subject", "usubjid", default=None, help="List every ARD count that includes this USUBJID.")
@click.option("--denominators", is_flag=True, help="With --subject: also the denominators (N) that include it.")
@click.option("--check", "check_every", is_flag=True, help="Trace every row of the ARD and report the numbers "
                                                           "that the ADaM datasets do not reproduce (exit 1).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True,
              help="Rows shown in the readable table (--json shows all).")
def trace(out_dir: Path, ard_id: str | None, show_records: bool, usubjid: str | None, denominators: bool,
          check_every: bool, as_json: bool, limit: int) -> None:
    """Recompute a number of OUT/tlf/ard.csv from OUT/adam: the subjects (USUBJID) it counts,
    with --records the ADaM records behind it, and whether the count equals the ARD's value.

    ARD_ID is the ard_id column of the ARD (the review page shows it too). Exit 0 when the traced
    numbers equal the ARD's, 1 when one differs or the id or subject is unknown.
    """
    import json

    from .tlf.trace import Tracer, _plain, check_all, render_subject, render_trace, traces_json

    if sum(x is not None and x is not False for x in (ard_id, usubjid, check_every or None)) != 1:
        raise click.UsageError("give one of: ARD_ID, --subject USUBJID, --check")
    tracer = Tracer.of_package(out_dir)
    ctx = click.get_current_context()
    if check_every:
        summary = check_all(tracer)
        differ = summary["differ"]
        if as_json:
            click.echo(json.dumps({"rows": summary["rows"], "kinds": summary["kinds"], "checked": summary["checked"],
                                   "differ": [t.to_dict() for t in differ]}, ensure_ascii=False, indent=1))
        else:
            kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(summary["kinds"].items()))
            click.echo(f"{summary['rows']:,} ARD rows traced ({kinds}); {summary['checked']:,} recomputed from ADaM, "
                       f"{len(differ):,} differ")
            for t in differ[:limit]:
                click.echo(render_trace(t, limit=10))
        ctx.exit(1 if differ else 0)
    if usubjid is not None:
        found = tracer.rows_of_subject(usubjid, denominators=denominators)
        if as_json:
            click.echo(json.dumps({"usubjid": usubjid, "rows": [{**{k: _plain(v) for k, v in r.items()},
                                                                   "subject_records": n} for r, n in found]},
                                  ensure_ascii=False, indent=1, default=str))
        else:
            click.echo(render_subject(usubjid, found, denominators=denominators), nl=False)
        return
    result = tracer.trace(ard_id)
    click.echo(traces_json([result], show_records) if as_json else
               render_trace(result, records=show_records, limit=limit))
    ctx.exit(1 if result.agrees is False else 0)


@main.command("review", short_help="Write the review page OUT/review/index.html of a built package.")
@click.argument("out_dir", metavar="OUT", type=click.Path(exists=True, file_okay=False, path_type=Path))
@specs_option
def review(out_dir: Path, specs_dir: Path | None) -> None:
    """(Re)write OUT/review: one HTML page with every table of the report, each number a link to the
    subjects and ADaM records behind it (what `sub trace --records` gives). Open it from the file
    system in any browser; it needs no server and nothing from the internet.

    The numbers are OUT/tlf/ard.csv as built; titles, footnotes and figures are made again from
    OUT/adam with the study's specs. OUT/review is replaced only when everything succeeded.
    """
    from .io import staged_folder
    from .outdir import check_output, input_paths
    from .study import load_settings
    from .tlf.report import ARD_CSV, REVIEW_DIR, TLF_DIR, collect_results, read_adam, write_review_page

    ard_csv = out_dir / TLF_DIR / ARD_CSV
    if not ard_csv.is_file():
        raise click.UsageError(f"{out_dir} has no {TLF_DIR}/{ARD_CSV}: build the package first (sub build)")
    check_output(out_dir / REVIEW_DIR, input_paths(specs=specs_dir), parent_output=out_dir)
    settings = load_settings(specs_dir or _default_specs())
    adam = read_adam(out_dir / "adam")
    results, _ = collect_results(adam, settings)
    with staged_folder(out_dir / REVIEW_DIR) as stage:
        files = write_review_page(stage, results, ard_csv, adam, settings)
    click.echo(f"review page: {out_dir / REVIEW_DIR / 'index.html'} ({len(files)} files, "
               f"{sum(f.stat().st_size for f in (out_dir / REVIEW_DIR).rglob('*') if f.is_file()):,} bytes)")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
