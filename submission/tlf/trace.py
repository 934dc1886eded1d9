"""`sub trace`: the subjects and ADaM records behind a number of the ARD, recomputed from ADaM.

Each ARD row carries its analysis definition (`source`, `where`, `population`, `counts`; see
where.py). A trace reads the package's ADaM datasets (OUT/adam/*.xpt), keeps the population's
subjects (ADSL), the source records the filter keeps for those subjects, and counts what the row
counts: subjects, records, the population itself. For counts the traced number must equal the
ARD's value (`RowTrace.agrees`); a proportion is checked as n/N, a summary statistic (mean, SD,
quartiles) is recomputed from the values it summarises. Rows without a definition (a model
estimate, a test, a setting) are "not traceable", and say so.

Nothing about the subjects is stored beside the numbers: the trace is recomputed every time, so
it also checks that the ARD still tells what the ADaM datasets hold.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..columns import Distinct, factorize
from ..errors import Problem, SubError
from .where import Evaluator, FilterError, columns_of, split_subject_clauses
from .where import _text_of as _text_form

ID = "USUBJID"
COUNT_KINDS = ("subjects", "records", "population")
_VALUES = re.compile(r"^values\((\w+)\)$")
# Columns shown first for the records of each dataset (then the columns the filters use).
SHOWN = {
    "ADSL": ["USUBJID"],
    "ADAE": ["USUBJID", "AESEQ", "AEBODSYS", "AEDECOD", "ASTDT", "AENDT"],
    "ADCM": ["USUBJID", "CMSEQ", "CMCLAS", "CMDECOD", "ASTDT", "AENDT"],
    "ADMH": ["USUBJID", "MHSEQ", "MHCAT", "MHBODSYS", "MHDECOD", "ASTDT"],
    "ADRS": ["USUBJID", "PARAMCD", "AVALC", "ADT"],
    "ADEX": ["USUBJID", "PARCAT1", "PARAMCD", "AVAL", "ASTDT", "AENDT"],
    "ADPREG": ["USUBJID", "RPSEQ", "PREGWHO", "PREGOUT", "ASTDT"],
}
RELATIVE_TOLERANCE = 1e-9
_PLAIN = frozenset({str, float, int, bool, type(None)})


@dataclass
class RowTrace:
    """The trace of one ARD row."""

    row: dict
    kind: str                     # subjects | records | population | ratio | values | none
    _shared_subjects: list[str] = field(default_factory=list)  # the sorted subject ids, shared by the rows of
    # one definition (n, %, its interval): `subjects` is this row's own copy, made on first use
    _records: pd.DataFrame | None = None  # the source records counted (shown columns only), made on first use
    source: str | None = None
    count: int | None = None      # what the trace counts: subjects, records or population subjects
    recomputed: object = None     # the statistic recomputed from the trace (count, n/N, mean, ...)
    agrees: bool | None = None    # recomputed == the ARD's value (None: nothing to compare)
    note: str = ""

    _lazy: tuple | None = field(default=None, repr=False)  # (the Tracer, the positions of the records counted)
    _subjects: list[str] | None = field(default=None, repr=False)

    @property
    def subjects(self) -> list[str]:
        if self._subjects is None:
            self._subjects = list(self._shared_subjects)
        return self._subjects

    @property
    def records(self) -> pd.DataFrame | None:
        if self._records is None and self._lazy is not None:
            tracer, positions = self._lazy
            frame = tracer.evaluator.frame(self.source)
            self._records = frame[tracer.shown_columns(self.source, self.row)].iloc[positions].reset_index(drop=True)
        return self._records

    @property
    def ard_id(self) -> str:
        return str(self.row.get("ard_id"))

    @property
    def traceable(self) -> bool:
        return self.kind != "none"

    def to_dict(self, records: bool = False) -> dict:
        out = {"ard_id": self.ard_id, "row": {k: _plain(v) for k, v in self.row.items()}, "kind": self.kind,
               "source": self.source, "count": self.count, "recomputed": _plain(self.recomputed),
               "agrees": self.agrees, "note": self.note or None, "subjects": list(self.subjects)}
        if records and self.records is not None:
            out["records"] = [{k: _plain(v) for k, v in r.items()} for r in _shown_frame(self.records).to_dict("records")]
        return out


def _plain(value):
    if value is None:
        return None
    if type(value) is str:  # most values (the review page ships every cell of its records through here)
        return value
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if math.isnan(value) else (int(value) if value.is_integer() and abs(value) < 2**53 else value)
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _shown_frame(records: pd.DataFrame) -> pd.DataFrame:
    out = records.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = [None if pd.isna(v) else pd.Timestamp(v).date().isoformat() for v in out[column]]
    return out


class Tracer:
    """Traces of the rows of one package's ARD (OUT/tlf/ard.csv) against its ADaM (OUT/adam)."""

    def __init__(self, ard: pd.DataFrame, datasets: Mapping[str, object], *, where: str = "ARD"):
        ard = ard.reset_index(drop=True).astype(object)
        self.ard = ard.where(ard.notna(), None)
        if "ard_id" not in self.ard.columns:
            raise SubError(Problem(where, None, "ard_id", None, "the ARD has no ard_id column (built by an older sub?)"),
                           "cannot trace: the ARD has no row ids; rebuild the package")
        self.by_id = {str(v): i for i, v in enumerate(self.ard["ard_id"])}
        self.evaluator = Evaluator(datasets, id_var=ID)
        self._populations: dict = {}
        self._in_population: dict = {}
        self._hits: dict = {}
        self._subjects: dict = {}  # (source, where, population) -> sorted subject ids of those records
        self._ranks: dict = {}
        self._sorted_ids: dict = {}  # source -> (each record's subject as its rank among the sorted ids, the ids)
        self._summaries: dict = {}  # ((source, where, population), column) -> continuous_stats of those values
        self._adsl: tuple | None = None  # ADSL's subject ids as populations hold them, and as codes
        self._members: dict = {}  # population -> a mark per slot (see _slots)
        self._slots: dict = {}  # source -> each record's slot

    @classmethod
    def of_package(cls, out_dir: Path) -> Tracer:
        from .ard import read_ard_csv
        from .report import ADAM_DATASETS, ARD_CSV, OPTIONAL_ADAM, TLF_DIR

        out_dir = Path(out_dir)
        ard_path = out_dir / TLF_DIR / ARD_CSV
        if not ard_path.is_file():
            raise SubError(Problem(str(ard_path), None, None, None, "no ARD here; is this a package built by `sub build`?"),
                           f"cannot trace: {out_dir} has no tlf/ard.csv")
        adam = out_dir / "adam"
        names = [n for n in (*ADAM_DATASETS, *OPTIONAL_ADAM) if (adam / f"{n.lower()}.xpt").is_file()]
        if "ADSL" not in names:
            raise SubError(Problem(str(adam / "adsl.xpt"), None, None, None, "ADaM ADSL not found"),
                           f"cannot trace: {out_dir} has no adam/adsl.xpt")

        def reader(name):
            def read():
                from ..xpt import read_xpt

                return read_xpt(adam / f"{name.lower()}.xpt").frame
            return read

        return cls(read_ard_csv(ard_path), {n: reader(n) for n in names}, where=str(ard_path))

    # ------------------------------------------------------------------ looking rows up

    def row(self, ard_id: str) -> dict:
        if ard_id not in self.by_id:
            near = [i for i in self.by_id if i.startswith(ard_id)] if ard_id else []
            hint = f" (ids starting so: {', '.join(near[:5])})" if near else ""
            raise SubError(Problem("ARD", None, "ard_id", ard_id, f"no ARD row has this id{hint}"),
                           "cannot trace: unknown ARD id")
        return self.ard.iloc[self.by_id[ard_id]].to_dict()

    # ------------------------------------------------------------------ populations and records

    def population(self, text: str | None) -> frozenset:
        """The ADSL subjects of a population filter (every ADSL subject when empty)."""
        if text not in self._populations:
            ids, adsl = self._adsl_ids()
            keep = self.evaluator.kept("ADSL", text)
            self._populations[text] = frozenset(ids[keep])
            members = np.zeros(len(adsl.values) + 2, dtype=bool)  # slots: see _in
            kept = adsl.codes[keep]
            members[np.where(kept < 0, len(adsl.values), kept)] = True
            self._members[text] = members
        return self._populations[text]

    def _adsl_ids(self) -> tuple[np.ndarray, Distinct]:
        """ADSL's subject ids as `population` holds them (`astype(str)`: a missing id stays missing), and
        as codes (-1: missing) into their distinct values."""
        if self._adsl is None:
            ids = self.evaluator.frame("ADSL")[ID].astype(str).to_numpy()
            self._adsl = (ids, factorize(ids))
        return self._adsl

    def _in(self, source: str, population: str | None) -> np.ndarray:
        """Which records of `source` belong to a subject of the population.

        Each record has a slot: its subject's place among ADSL's distinct ids, then one slot for a record
        without an id and one for an id ADSL does not have. A population marks the slots of its subjects,
        the missing-id slot when it keeps an ADSL record without an id (as `isin` matches missing to
        missing), never the last."""
        if (source, population) not in self._in_population:
            if source not in self._slots:
                _, adsl = self._adsl_ids()
                ids, _ = self.evaluator.distinct(source, ID)
                slot = pd.Index(adsl.values, dtype=object).get_indexer(pd.Index(ids.values, dtype=object))
                slot[slot < 0] = len(adsl.values) + 1
                self._slots[source] = np.append(slot, len(adsl.values))[ids.codes]  # code -1: no id
            self.population(population)
            self._in_population[(source, population)] = self._members[population][self._slots[source]]
        return self._in_population[(source, population)]

    def positions(self, source: str, where: str | None, population: str | None) -> np.ndarray:
        """Row positions of the `source` records of population subjects that the filter keeps."""
        key = (source, where, population)
        if key in self._hits:
            return self._hits[key]
        ev = self.evaluator
        record_node, worsts = split_subject_clauses(ev.parsed(where))
        in_population = self._in(source, population)
        positions = np.flatnonzero(ev.mask(source, record_node) & in_population)
        for clause in worsts:
            positions = self._worst(source, clause, positions)
        self._hits[key] = positions
        return positions

    def _worst(self, source: str, clause, positions: np.ndarray) -> np.ndarray:
        """The positions of the subjects whose worst value (by the clause's order) is the clause's value."""
        key = (source, clause.column, clause.order)
        if key not in self._ranks:
            order = {_text_form(v): i for i, v in enumerate(clause.order)}
            values, _ = self.evaluator.distinct(source, clause.column)
            table = np.array([order.get(v, -1) for v in values.values], dtype=int)
            self._ranks[key] = (values.lookup(table, order.get(None, -1))[values.codes], order)
        ranks, order = self._ranks[key]
        if not len(positions):
            return positions
        mine = ranks[positions]
        if (mine < 0).any():
            raise FilterError(f"worst({clause.column}): a value is not in the order given")
        subjects = self._subject_ranks(source)[0][positions]
        if (subjects < 0).any():  # a record without a subject id: grouped as always (pd.factorize codes it -1,
            subjects, _ = pd.factorize(self.evaluator._text(source, ID)[positions])  # which `best` reads as the last)
        best = np.full(subjects.max() + 1, -1)
        np.maximum.at(best, subjects, mine)
        target = order.get(_text_form(clause.value), -2)
        return positions[best[subjects] == target]

    def _subject_ranks(self, source: str) -> tuple[np.ndarray, np.ndarray]:
        """Each record's subject as its rank among the dataset's distinct subject ids (-1: none), and
        those ids in sorted order."""
        if source not in self._sorted_ids:
            ids, _ = self.evaluator.distinct(source, ID)
            ordered = sorted(ids.values)
            rank = {v: i for i, v in enumerate(ordered)}
            ranks = ids.lookup(np.array([rank[v] for v in ids.values], dtype=np.int64), -1)[ids.codes]
            self._sorted_ids[source] = (ranks, np.array(ordered, dtype=object))
        return self._sorted_ids[source]

    def _sorted_subjects(self, source: str, positions: np.ndarray) -> list[str]:
        """The distinct subject ids of these records, sorted (a record without one is left out)."""
        ranks, ordered = self._subject_ranks(source)
        seen = np.zeros(len(ordered) + 1, dtype=bool)
        seen[ranks[positions]] = True  # rank -1 (no id) marks the extra last entry
        return ordered[np.flatnonzero(seen[:-1])].tolist()

    def _records(self, source: str, where: str | None, population: str | None) -> pd.DataFrame:
        return self.evaluator.frame(source).iloc[self.positions(source, where, population)]

    def shown_columns(self, source: str, row: Mapping) -> list[str]:
        frame = self.evaluator.frame(source)
        wanted = list(SHOWN.get(source, [ID]))
        for text in (_text(row.get("where")),):
            try:
                wanted += sorted(columns_of(self.evaluator.parsed(text)) - set(wanted))
            except FilterError:
                pass
        m = _VALUES.match(str(row.get("counts") or ""))
        if m:
            wanted.append(m.group(1))
        return [c for c in dict.fromkeys(wanted) if c in frame.columns]

    # ------------------------------------------------------------------ one row

    def trace(self, ard_id: str) -> RowTrace:
        return self.trace_row(self.row(ard_id))

    def trace_row(self, row: Mapping) -> RowTrace:
        return self._trace(dict(row))

    def _trace(self, row: dict) -> RowTrace:
        """The trace of a row the trace keeps (not copied)."""
        counts = _text(row.get("counts"))
        source = _text(row.get("source"))
        if _text(row.get("period")) == "interval":
            return RowTrace(row, "none", note="not traceable in this package: an interval figure of a periodic "
                            "report counts the records new since the interval start, which needs the ADaM of a "
                            "build with --cutoff at the interval start (tlf/periodic.py); trace the cumulative "
                            "rows of both builds")
        if not counts or counts == "none" or (not source and counts != "population"):
            return RowTrace(row, "none", note="not traceable: a model estimate, a test or a setting, not a count")
        values = _VALUES.match(counts)
        kind = "values" if values else counts
        if kind not in (*COUNT_KINDS, "ratio", "values"):
            return RowTrace(row, "none", note=f"unknown counting {counts!r}")
        try:
            population = self.population(_text(row.get("population")))
            if kind == "population":
                source = "ADSL"
                key = ("ADSL", None, _text(row.get("population")))
            else:
                key = (source, _text(row.get("where")), _text(row.get("population")))
            positions = self.positions(*key)
        except FilterError as exc:
            return RowTrace(row, "none", source=source, note=f"not traceable: {exc}")
        if key not in self._subjects:  # many rows (n, %, events) share their records
            self._subjects[key] = self._sorted_subjects(source, positions)
        subjects = self._subjects[key]
        frame = self.evaluator.frame(source)
        out = RowTrace(row, kind, subjects, None, source)
        out._lazy = (self, positions)
        stat = row.get("stat")
        if kind == "subjects":
            out.count = len(subjects)
        elif kind == "records":
            out.count = len(positions)
        elif kind == "population":
            out.count = len(population)
        if out.count is not None:
            out.recomputed = out.count
            out.agrees = _same(stat, out.count)
        elif kind == "ratio":
            N = len(population)
            out.count = len(subjects)
            if row.get("stat_name") == "p":
                out.recomputed = (len(subjects) / N) if N else None
                out.agrees = _same(stat, out.recomputed)
            out.note = f"n = {len(subjects)} subjects of N = {N}"
        elif kind == "values":
            from .ard import continuous_stats

            column = values.group(1)
            if (key, column) not in self._summaries:  # n, mean, SD, ... of one variable: one summary
                self._summaries[(key, column)] = (continuous_stats(frame[column].to_numpy()[positions].tolist())
                                                  if column in frame.columns else {})
            summary = self._summaries[(key, column)]
            out.count = len(subjects)
            name = row.get("stat_name")
            if name in summary:
                out.recomputed = summary[name]
                out.agrees = _same(stat, out.recomputed)
            out.note = f"{name} of {column} over {len(positions)} record(s) of {len(subjects)} subject(s)"
        return out

    # ------------------------------------------------------------------ every row, one subject

    def trace_all(self) -> list[RowTrace]:
        return [self._trace(r) for r in self._rows()]  # each row a new dict

    def _rows(self) -> list[dict]:
        """The ARD's rows as dicts, as `to_dict("records")` gives them: built from the columns when every
        cell is already a plain Python value (which to_dict would leave as it is)."""
        columns = self.ard.columns.tolist()
        cells = [self.ard[c].tolist() for c in columns]
        if not all(type(v) in _PLAIN for column in cells for v in column):
            return self.ard.to_dict("records")
        return [dict(zip(columns, values)) for values in zip(*cells)]

    def rows_of_subject(self, usubjid: str, *, denominators: bool = False) -> list[tuple[dict, int]]:
        """Every count row (subjects, records; with `denominators` also population N) that counts
        the subject: (row, the number of the subject's records counted there)."""
        adsl = self.evaluator.frame("ADSL")
        if not adsl[ID].astype(str).eq(usubjid).any():
            raise SubError(Problem("ADSL", None, ID, usubjid, "no such subject in ADSL"),
                           "cannot trace: unknown subject")
        one = {}
        for name in list(self.evaluator._datasets):
            frame = self.evaluator.frame(name)
            one[name] = frame[frame[ID].astype(str).eq(usubjid)] if ID in frame.columns else frame
        sub = Tracer(self.ard, one)
        out = []
        kinds = ("subjects", "records", "population") if denominators else ("subjects", "records")
        for row in self._rows():
            if _text(row.get("counts")) not in kinds:
                continue
            try:
                if row.get("counts") == "population":
                    if usubjid in sub.population(_text(row.get("population"))):
                        out.append((row, 1))
                    continue
                hits = sub.positions(_text(row.get("source")), _text(row.get("where")), _text(row.get("population")))
            except FilterError:
                continue
            if len(hits):
                out.append((row, len(hits)))
        return out


def _text(value) -> str | None:
    if value is None:
        return None
    if type(value) is str:  # most cells: no test for a missing value needed
        return value if value != "" else None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    text = str(value)
    return text if text != "" else None


def _same(stat, value) -> bool | None:
    if stat is None or value is None:
        return stat is None and value is None
    try:
        a, b = float(stat), float(value)
    except (TypeError, ValueError):
        return str(stat) == str(value)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= RELATIVE_TOLERANCE * max(1.0, abs(a), abs(b))


# --------------------------------------------------------------------------- printing

def describe(row: Mapping) -> str:
    """A row's place in its output, in words: groups, variable = level, statistic."""
    parts = []
    for i in range(1, 10):
        g, lv = row.get(f"group{i}"), row.get(f"group{i}_level")
        if g is None and lv is None and f"group{i}" not in row:
            break
        if _text(g) or _text(lv):
            parts.append(f"{_text(g) or ''}={_text(lv) or ''}")
    level = _text(row.get("variable_level"))
    parts.append(f"{_text(row.get('variable'))}" + (f"={level}" if level else ""))
    return ", ".join(parts)


def _table(rows: list[list], header: list[str], limit: int | None = None) -> list[str]:
    from ..qc.diff import _width

    shown = rows if limit is None else rows[:limit]
    cells = [[("" if v is None else str(v)) for v in r] for r in shown]
    widths = [max([_width(h)] + [_width(r[i]) for r in cells]) for i, h in enumerate(header)]

    def line(values):
        return "  ".join(v + " " * (w - _width(v)) for v, w in zip(values, widths)).rstrip()

    out = [line(header)] + [line(r) for r in cells]
    if limit is not None and len(rows) > limit:
        out.append(f"... {len(rows) - limit:,} more (use --json for all)")
    return out


def render_trace(t: RowTrace, *, records: bool = False, limit: int | None = 200) -> str:
    row = t.row
    lines = [f"{t.ard_id}  {row.get('output_id')}  {describe(row)}  {row.get('stat_name')} = {_plain(row.get('stat'))}",
             f"  population (ADSL): {_text(row.get('population')) or 'every subject'}"]
    if t.kind == "none":
        lines.append(f"  {t.note}")
        return "\n".join(lines) + "\n"
    if t.kind != "population":
        lines.append(f"  records ({t.source}): {_text(row.get('where')) or 'every record'}")
    lines.append(f"  counts: {_text(row.get('counts'))}")
    what = {"subjects": f"{t.count:,} subject(s)", "records": f"{t.count:,} record(s) of {len(t.subjects):,} subject(s)",
            "population": f"{t.count:,} subject(s) in the population"}.get(t.kind, t.note)
    verdict = {True: "equals the ARD value", False: f"DIFFERS from the ARD value {_plain(row.get('stat'))}",
               None: ""}[t.agrees]
    lines.append(f"  traced: {what}" + (f"; recomputed {_plain(t.recomputed)} {verdict}" if t.agrees is not None else ""))
    if records and t.records is not None:
        frame = _shown_frame(t.records)
        lines += ["", *_table([[_plain(v) for v in r] for r in frame.itertuples(index=False)], list(frame.columns),
                              limit)]
    else:
        lines += ["", *_table([[s] for s in t.subjects], [ID], limit)]
    return "\n".join(lines) + "\n"


def render_subject(usubjid: str, found: list[tuple[dict, int]], *, denominators: bool) -> str:
    header = ["ard_id", "output_id", "row", "stat_name", "stat", "counts", "records"]
    rows = [[r.get("ard_id"), r.get("output_id"), describe(r), r.get("stat_name"), _plain(r.get("stat")),
             r.get("counts"), n if r.get("counts") == "records" else ""] for r, n in found]
    outputs = len({r.get("output_id") for r, _ in found})
    what = "count rows (n, events, N of summaries" + (", and denominators N" if denominators else "") + ")"
    return "\n".join([f"{usubjid}: counted in {len(found):,} {what} of {outputs} output(s)", "",
                      *_table(rows, header)]) + "\n"


def check_all(tracer: Tracer) -> dict:
    """Every row traced: how many of each kind, and the rows whose recomputed value differs."""
    traces = tracer.trace_all()
    kinds: dict[str, int] = {}
    differ = []
    for t in traces:
        kinds[t.kind] = kinds.get(t.kind, 0) + 1
        if t.agrees is False:
            differ.append(t)
    return {"rows": len(traces), "kinds": kinds, "differ": differ,
            "checked": sum(1 for t in traces if t.agrees is not None)}


def traces_json(traces: Iterable[RowTrace], records: bool) -> str:
    import json

    return json.dumps([t.to_dict(records) for t in traces], ensure_ascii=False, indent=1, allow_nan=False)
