"""The `sub` command line: parse, call, print, exit. No logic lives here.

Imports of pandas and friends happen inside the commands so that `sub --help` starts fast.
Exit codes: 0 success; 1 bad input (every problem printed, file/row/column/value); 2 usage
error; 3 an internal error (a bug: please report it with `--debug` output).
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


class _Group(click.Group):
    """Turn bad input into one clear message and an exit code instead of a traceback."""

    def invoke(self, ctx: click.Context):
        from .errors import SubError

        try:
            return super().invoke(ctx)
        except SubError as exc:
            click.echo(f"sub: {exc.render(limit=SHOWN_PROBLEMS)}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
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


@main.command()
@raw_option
@specs_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("out"), show_default=True,
              help="Output folder; replaced only when the whole build succeeds.")
@encoding_option
def build(raw_dir: Path | None, specs_dir: Path | None, out_dir: Path, encoding: str) -> None:
    """Run the whole chain on a raw extract (default: the bundled study)."""
    from .build import run_build

    result = run_build(raw_dir or _default_raw(), specs_dir or _default_specs(), out_dir, encoding=encoding)
    for line in result.summary():
        click.echo(line)


@main.command()
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


@main.command()
@click.option("--subjects", default=624, show_default=True, type=click.IntRange(min=1), help="Number of subjects.")
@click.option("--seed", default=20161207, show_default=True, type=int, help="Random seed: same seed, same bytes.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Folder to write the extract to.")
@specs_option
def synth(subjects: int, seed: int, out_dir: Path, specs_dir: Path | None) -> None:
    """Write a synthetic raw extract (never real data)."""
    from .raw.synth import synthesize, write_extract
    from .study import load_settings

    settings = load_settings(specs_dir or _default_specs())
    frames = synthesize(settings, n_subjects=subjects, seed=seed)
    written = write_extract(frames, out_dir)
    rows = sum(len(f) for f in frames.values())
    click.echo(f"wrote {len(written)} files, {rows} rows for {subjects} synthetic subjects (seed {seed}) to {out_dir}")


@main.group()
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


@spec.command("export")
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


@spec.command("import")
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
