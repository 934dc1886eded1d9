"""`sub tlf TABLE --adam DIR --out DIR`: one table (its ARD as CSV and a small .docx) from any ADaM folder.

The ADaM folder holds `adsl.xpt`, `adae.xpt`, ... (XPT v5) or Dataset-JSON (`adsl.json`). The
table's builders take the population flag (`pop`, e.g. SAFFL), the event frame's grouping
variable (`by`, e.g. TRTA), its ADSL counterpart for the denominators (`denom_by`, e.g. TRT01A)
and the record flag (`subject_flag`, e.g. TRTEMFL), so a study other than the bundled one (the
CDISC pilot, say) gives a column per arm with the arm's ADSL N.

Whose conventions. The study settings (treatment-emergent window, MedDRA version, age groups,
ADR causality, ...) describe one study. They are used only when they are that study's: given with
`--specs`, shipped in the ADaM folder itself (`study.toml` beside define.xml, as `sub build` writes
it), or the bundled study's when ADSL's STUDYID is the bundled study's. Otherwise no setting is
used: groupings come from the ADaM's own variables and labels, the MedDRA version from the
folder's define.xml or `--meddra-version`, and a footnote states only what the data show.

Every table declares what it needs (datasets, variables, whether it takes `--by` and
`--compare-to`, whether it needs the study's settings); everything missing is reported at once
(exit 1) before any number is computed.

Outputs in OUT: `<output_id>.csv` (the ARD of each table or figure), `<output_id>.png` for
figures, and `<table>.docx` with every output of the command. Same inputs, same bytes: the
document's creation time is SOURCE_DATE_EPOCH, else the study's data cut-off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from ..errors import Problem, SubError
from ..study import StudySettings

NONE_WORDS = {"", "none", "no", "-"}
DEFAULT = object()  # "the table's default" for --pop and --subject-flag


@dataclass(frozen=True)
class TlfOptions:
    """What a one-table run needs besides the data; also the `options` a registered builder accepts."""

    settings: StudySettings | None
    by: str | None = None
    denom_by: str | None = None
    pop: str | None = "SAFFL"
    subject_flag: str | None = "TRTEMFL"
    compare_to: str | None = None
    test: str = "fisher"
    total: bool = False
    continuous_test: str = "anova"
    dataset: str | None = None
    param: str | None = None
    responders: tuple[str, ...] | None = None
    meddra_version: str | None = None

    @property
    def conventions(self):
        """The safety tables' conventions: the study's settings, else generic ones (MedDRA version if known)."""
        from .tables_safety import Conventions

        return Conventions.of(self.settings, self.meddra_version)

    @property
    def total_label(self) -> str | None:
        from . import glossary as ko

        return ko.TOTAL if self.total and (self.by or self.denom_by) else None


def _none(value: str | None) -> str | None:
    if value is None or value.strip().lower() in NONE_WORDS:
        return None
    return value.strip()


# --------------------------------------------------------------------------- reading the ADaM folder

def read_adam(adam_dir: Path) -> dict[str, pd.DataFrame]:
    """Every dataset of an ADaM folder (`*.xpt`, else `*.json` Dataset-JSON), keyed by upper-case name.

    Each frame carries its variables' labels in `frame.attrs["labels"]` (a grouping variable of
    another study is named by its own label)."""
    from ..datasetjson import read_dataset_json
    from ..xpt import read_xpt

    folder = Path(adam_dir)
    if not folder.is_dir():
        raise SubError(Problem(str(folder), None, None, None, "ADaM folder not found"))
    frames: dict[str, pd.DataFrame] = {}
    for reader, pattern in ((read_xpt, "*.xpt"), (read_dataset_json, "*.json")):
        for path in sorted(folder.glob(pattern)):
            name = path.stem.upper()
            if name in frames:
                continue
            ds = reader(path)
            frame = ds.frame
            frame.attrs["labels"] = {c.name: c.label for c in ds.columns}
            frames[name] = frame
    if not frames:
        raise SubError(Problem(str(folder), None, None, None, "no ADaM datasets here (.xpt or Dataset-JSON .json)"))
    return frames


def study_settings(adam_dir: Path, adam: dict[str, pd.DataFrame], specs_dir: Path | None) -> StudySettings | None:
    """The settings of the study whose ADaM this is, or None (see the module's docstring)."""
    from ..paths import bundled_specs
    from ..study import SETTINGS_FILE, load_settings

    if specs_dir is not None:
        return load_settings(specs_dir)
    studyids = set()
    if "ADSL" in adam and "STUDYID" in adam["ADSL"].columns:
        studyids = {str(s) for s in adam["ADSL"]["STUDYID"].dropna().unique()}
    if (Path(adam_dir) / SETTINGS_FILE).is_file():
        own = load_settings(adam_dir)
        if not studyids or studyids == {own.study.studyid}:
            return own
    bundled = load_settings(bundled_specs())
    if studyids == {bundled.study.studyid}:
        return bundled
    return None


def define_meddra_version(adam_dir: Path) -> str | None:
    """The MedDRA version the folder's define.xml states (ExternalCodeList Dictionary="MedDRA"), if any."""
    path = Path(adam_dir) / "define.xml"
    if not path.is_file():
        return None
    from ..safexml import parse

    versions = {node.get("Version") for node in parse(path).iter()
                if isinstance(node.tag, str) and node.tag.endswith("ExternalCodeList")
                and (node.get("Dictionary") or "").upper() == "MEDDRA" and node.get("Version")}
    return versions.pop() if len(versions) == 1 else None


# --------------------------------------------------------------------------- the tables

@dataclass(frozen=True)
class Table:
    """A `sub tlf` table: how to build it and what it needs."""

    description: str
    build: Callable[[dict, TlfOptions], list]
    datasets: tuple[str, ...] = ("ADSL", "ADAE")
    needs: Callable[[TlfOptions], dict[str, list]] = lambda o: {}
    grouped: bool = True       # takes --by
    compares: bool = False     # takes --compare-to
    settings: bool = False     # needs the study's settings (a re-examination table)
    pop: str | None = "SAFFL"  # default population flag
    subject_flag: str | None = "TRTEMFL"  # default record flag


def _subset_flags(key: str) -> list[str]:
    from .tables_safety import SUBSETS

    return list(SUBSETS[key].flags)


def _ae_needs(*extra: str, subset: str = "AE") -> Callable[[TlfOptions], dict[str, list]]:
    def needs(o: TlfOptions) -> dict[str, list]:
        return {"ADAE": ["AEBODSYS", "AEDECOD", *_subset_flags(subset), *extra]}

    return needs


def _safety(name: str) -> Callable:
    def build(adam, o: TlfOptions) -> list:
        from . import tables_safety as ts

        adsl, adae = adam["ADSL"], adam["ADAE"]
        conv = o.conventions
        grouping = dict(by=o.by, denom_by=o.denom_by, pop=o.pop, subject_flag=o.subject_flag, total=o.total_label)
        comparing = dict(compare_to=o.compare_to, test=o.test)
        single = dict(pop=o.pop, subject_flag=o.subject_flag)
        if name.endswith("-soc-pt"):
            key = name.removesuffix("-soc-pt").upper()
            return [ts.ae_by_soc_pt(adsl, adae, conv, subset=key, **grouping, **comparing)]
        if name == "overview":
            return [ts.safety_overview(adsl, adae, conv, **grouping, **comparing)]
        if name == "adr-severity":
            return [ts.adr_by_severity(adsl, adae, conv, **grouping)]
        if name == "adr-grade":
            return [ts.adr_by_grade(adsl, adae, conv, **grouping)]
        if name == "adr-outcome":
            return [ts.adr_by_outcome(adsl, adae, conv, **grouping)]
        if name == "adr-factors":
            return list(ts.adr_factor_analysis(adsl, adae, conv, **single))
        if name == "special-populations":
            return ts.special_populations(adsl, adae, conv, **single)
        if name == "adr-soc-figure":
            return [ts.adr_soc_figure(adsl, adae, conv, **single)]
        if name == "summary":
            return [ts.summary_sentences(adsl, adae, conv, **single)]
        if name == "safety":
            # The label sentences are the re-examination's wording: only with the study's own settings.
            return ts.safety_tables(adsl, adae, conv, **grouping, **comparing, include_summary=o.settings is not None)
        raise AssertionError(name)

    return build


def _demographics(adam, o: TlfOptions) -> list:
    from ._frames import flagged, levels_of
    from .compare import resolve_level
    from .tables_base import demographics

    group = o.denom_by or o.by
    if o.compare_to is not None:  # the test compares every group at once; the level must still be one of them
        adsl = adam["ADSL"]
        population = adsl[flagged(adsl[o.pop])] if o.pop else adsl
        resolve_level(levels_of(population[group]), o.compare_to, variable=group)
    return [demographics(adam["ADSL"], by=group, pop=o.pop, settings=o.settings,
                         total=o.total, tests=o.compare_to is not None, continuous_test=o.continuous_test)]


def _response(adam, o: TlfOptions) -> list:
    from .efficacy_any import response_table

    dataset = (o.dataset or "ADRS").upper()
    responders = o.responders
    order = None
    if o.settings is not None:
        responders = responders or tuple(o.settings.conventions.response.responders)
        order = list(o.settings.conventions.response.order)
    conv = o.conventions
    return [response_table(adam["ADSL"], adam[dataset], responders=responders or (), param=o.param or "BOR",
                           by=o.by, denom_by=o.denom_by, pop=o.pop, record_flag=o.subject_flag,
                           total=o.total_label, compare_to=o.compare_to, test=o.test, ci_level=conv.ci_level,
                           pct_digits=conv.pct_table, order=order, dataset=dataset)]


def _tte(adam, o: TlfOptions) -> list:
    from .tte import km_table

    dataset = (o.dataset or "ADTTE").upper()
    return km_table(adam["ADSL"], adam[dataset], param=o.param, by=o.by, denom_by=o.denom_by, pop=o.pop,
                    record_flag=o.subject_flag, total=o.total_label, compare_to=o.compare_to,
                    ci_level=o.conventions.ci_level, dataset=dataset)


def _response_needs(o: TlfOptions) -> dict[str, list]:
    return {(o.dataset or "ADRS").upper(): ["PARAMCD", "AVALC"]}


def _tte_needs(o: TlfOptions) -> dict[str, list]:
    return {(o.dataset or "ADTTE").upper(): ["PARAMCD", "AVAL", "CNSR"]}


SUBSET_TABLES = ("ae", "adr", "sae", "sadr", "uae", "uadr", "usae", "usadr")
TABLES: dict[str, Table] = {
    **{f"{k}-soc-pt": Table(f"{k.upper()} by SOC and PT", _safety(f"{k}-soc-pt"), needs=_ae_needs(subset=k.upper()),
                            compares=True) for k in SUBSET_TABLES},
    "overview": Table("AE/ADR overview with exact CIs", _safety("overview"), compares=True),
    "adr-severity": Table("ADRs by severity", _safety("adr-severity"), needs=_ae_needs("ASEV", subset="ADR")),
    "adr-grade": Table("ADRs by CTCAE grade", _safety("adr-grade"), needs=_ae_needs("ATOXGR", subset="ADR")),
    "adr-outcome": Table("ADRs by outcome", _safety("adr-outcome"), needs=_ae_needs("AEOUT", subset="ADR")),
    "adr-factors": Table("factors affecting ADR incidence", _safety("adr-factors"),
                         needs=lambda o: {"ADAE": ["ADRFL"]}, grouped=False, settings=True),
    "special-populations": Table("special populations", _safety("special-populations"),
                                 needs=lambda o: {"ADAE": ["ADRFL", "AEDECOD"]}, grouped=False, settings=True),
    "adr-soc-figure": Table("figure: ADR incidence by SOC", _safety("adr-soc-figure"),
                            needs=_ae_needs(subset="ADR"), grouped=False),
    "summary": Table("re-examination summary sentences", _safety("summary"),
                     needs=lambda o: {"ADAE": ["AEBODSYS", "AEDECOD"]}, grouped=False, settings=True),
    "safety": Table("every safety output", _safety("safety"), compares=True),
    "demographics": Table("demographics and baseline characteristics", _demographics, ("ADSL",), compares=True),
    "response": Table("best overall response and response rate", _response, ("ADSL", "ADRS"), _response_needs,
                      compares=True, pop="EFFFL", subject_flag=None),
    "tte": Table("time to event: Kaplan-Meier", _tte, ("ADSL", "ADTTE"), _tte_needs, compares=True,
                 subject_flag=None),
}


def table_names() -> list[str]:
    return list(TABLES)


def check_request(table: Table, name: str, adam: dict[str, pd.DataFrame], o: TlfOptions, folder: Path) -> None:
    """Everything the table needs and the request does not give, reported at once (exit 1)."""
    where = "sub tlf"
    problems: list[Problem] = []
    datasets = [d if d == "ADSL" else (o.dataset or d).upper() for d in table.datasets]
    for d in datasets:
        if d not in adam:
            problems.append(Problem(str(folder), None, None, None,
                                    f"{d.lower()}.xpt (or .json) is missing; {name} needs it"))
    if o.by is not None and not table.grouped:
        problems.append(Problem(where, None, "--by", o.by,
                                f"{name} describes the whole population and takes no --by"))
    if o.compare_to is not None and not table.compares:
        problems.append(Problem(where, None, "--compare-to", o.compare_to, f"{name} has no comparison"))
    if o.compare_to is not None and table.compares and o.by is None and o.denom_by is None:
        problems.append(Problem(where, None, "--compare-to", o.compare_to, "a comparison needs --by"))
    if table.settings and o.settings is None:
        problems.append(Problem(where, None, "--specs", None,
                                f"{name} is a table of the MFDS re-examination report and uses the study's settings "
                                "(groupings, windows, period); this ADaM is not the bundled study's and its folder "
                                "has no study.toml: give --specs"))
    adsl_by = o.denom_by or (o.by if table.datasets == ("ADSL",) else None)
    wanted: dict[str, list] = {"ADSL": ["USUBJID", o.pop, adsl_by]}
    event = next((d for d in datasets if d != "ADSL"), None)
    if event is not None:
        extra = list(table.needs(o).get(event, []))
        for k, v in table.needs(o).items():
            if k not in (event, "ADSL"):
                wanted.setdefault(k, []).extend(v)
        by_here = o.by
        if by_here is not None and event in adam and by_here not in adam[event].columns and event != "ADAE":
            by_here = None  # a BDS table takes the grouping from ADSL when the dataset lacks it
            wanted["ADSL"].append(o.by)
        wanted[event] = ["USUBJID", by_here, o.subject_flag, *extra]
    for d, variables in wanted.items():
        if d not in adam:
            continue
        missing = [v for v in dict.fromkeys(variables) if v is not None and v not in adam[d].columns]
        for v in missing:
            hint = ""
            if d == "ADSL" and v == o.denom_by == o.by and event is not None:
                hint = "; give --denom-by, the ADSL counterpart of --by (e.g. TRT01A for TRTA)"
            problems.append(Problem(d, None, v, None, f"required column is missing ({name}){hint}"))
    if problems:
        raise SubError(problems, f"sub tlf {name}: {len(problems)} problem(s) with the ADaM folder {folder} "
                                 "or the options")


# --------------------------------------------------------------------------- writing

def _created(settings: StudySettings | None) -> dt.datetime:
    from ..io import build_timestamp

    default = dt.datetime(2000, 1, 1)
    if settings is not None:
        default = dt.datetime.combine(settings.dates.data_cutoff, dt.time())
    return build_timestamp(default)


def _docx(results: list, title: str, settings: StudySettings | None, synthetic: bool) -> bytes:
    from .docx import ReportDocument
    from .table import FigureResult

    header = f"{settings.study.studyid} {settings.study.short_title_ko}" if settings is not None and synthetic else title
    doc = ReportDocument(created=_created(settings), header_text=header, title=title, author="sub")
    if synthetic:
        doc.paragraph("합성 자료(SYNTHETIC DATA): `sub synth`로 만든 자료이며 실제 연구 결과가 아니다.", bold=True)
    for result in results:
        if isinstance(result, FigureResult):
            doc.figure(result.png, caption=f"{result.output_id} {result.title}", footnotes=result.footnotes,
                       landscape=False)
            continue
        frame = result.display
        attrs = dict(getattr(frame, "attrs", {}) or {})
        indent = attrs.get("indent")
        if indent is not None and len(indent) != len(frame):
            indent = None
        doc.table(frame, caption=f"{result.output_id} {result.title}", footnotes=result.footnotes,
                  landscape=bool(result.landscape), indent=indent, bold_rows=attrs.get("bold_rows", ()))
    return doc.to_bytes()


def _option(value, default):
    """An option as given ('none' words: not used), or the table's default when not given."""
    return default if value is DEFAULT else _none(value)


def run_tlf(table: str, adam_dir: Path, out_dir: Path, by: str | None = None, denom_by: str | None = None,
            pop=DEFAULT, subject_flag=DEFAULT, settings: StudySettings | None = None, *,
            specs_dir: Path | None = None, compare_to: str | None = None, test: str = "fisher", total: bool = False,
            continuous_test: str = "anova", dataset: str | None = None, param: str | None = None,
            responders: str | tuple[str, ...] | None = None, meddra_version: str | None = None) -> list[Path]:
    """Build one table (or a named group of outputs) from an ADaM folder; write its ARD CSV(s) and a .docx.

    `by`/`denom_by`/`pop`/`subject_flag` of "none" (or empty) mean: not used; `pop`/`subject_flag`
    not given: the table's default (SAFFL and TRTEMFL for the safety tables, EFFFL for response).
    Without `denom_by` the denominators are grouped by `by` itself. `settings`: the study's
    settings as an object (else `specs_dir`, else what `study_settings` finds). Returns the written files.
    """
    from ..io import write_atomic
    from .ard import write_ard_csv
    from .table import FigureResult

    name = table.strip().lower().replace("_", "-")
    if name not in TABLES:
        raise SubError(Problem("sub tlf", None, "TABLE", table, f"unknown table; known: {', '.join(TABLES)}"))
    spec = TABLES[name]
    adam_dir, out_dir = Path(adam_dir), Path(out_dir)
    adam = read_adam(adam_dir)
    if settings is None:
        settings = study_settings(adam_dir, adam, specs_dir)
    if isinstance(responders, str):
        responders = tuple(r.strip() for r in responders.split(",") if r.strip())
    by, denom_by = _none(by), _none(denom_by)
    options = TlfOptions(settings, by, denom_by or by, _option(pop, spec.pop), _option(subject_flag, spec.subject_flag),
                         compare_to=_none(compare_to), test=test, total=total, continuous_test=continuous_test,
                         dataset=_none(dataset), param=_none(param), responders=responders or None,
                         meddra_version=_none(meddra_version))
    if settings is None and options.meddra_version is None and "ADAE" in spec.datasets:
        options = replace(options, meddra_version=define_meddra_version(adam_dir))
    check_request(spec, name, adam, options, adam_dir)
    results = spec.build(adam, options)

    synthetic = False
    if settings is not None and settings.study.synthetic and "STUDYID" in adam["ADSL"].columns:
        synthetic = bool(adam["ADSL"]["STUDYID"].eq(settings.study.studyid).any())
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for result in results:
        if result.ard is not None:
            path = out_dir / f"{result.output_id}.csv"
            write_ard_csv(result.ard, path)
            written.append(path)
        if isinstance(result, FigureResult):
            path = out_dir / f"{result.output_id}.png"
            write_atomic(path, result.png)
            written.append(path)
    path = out_dir / f"{name}.docx"
    write_atomic(path, _docx(results, f"{spec.description} ({adam_dir.name})", settings, synthetic))
    written.append(path)
    return written
