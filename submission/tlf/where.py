"""The record filters of the ARD's analysis definitions: how each number is recomputed from ADaM.

Every ARD row the report writes says, in four columns, what it counts:

- `source`: the ADaM dataset of the records (ADSL, ADAE, ADRS, ADEX, ADCM, ADMH);
- `where`: which records of it, as a filter in the small language below;
- `population`: which ADSL subjects form the denominator (the analysis set and the column's group);
- `counts`: what the statistic is of those records: `subjects` (distinct USUBJID of the `where`
  records of population subjects), `records` (those records), `population` (the population's
  subjects), `ratio` (a proportion or its interval: n = `where` subjects, N = population),
  `values(VAR)` (a summary of VAR over the `where` records), or `none` (a model estimate, a test,
  a setting: nothing to count).

`sub trace` reads those columns and recomputes the subjects and records from the ADaM datasets:
nothing is stored beside the numbers.

The filter language (one definition, used by the builders to write and by `sub trace` to read):

    AESER = 'Y'                         text literals in single quotes ('' for a quote)
    ECOGBL = 1   AGE < 19               numbers as they are; <, <=, >, >= compare numbers
    AEOUT != 'FATAL'                    the negation of =: a missing value is != anything
    AEBODSYS is missing                 and `is not missing`
    MHCAT in ('ALLERGY', 'RENAL IMPAIRMENT')
    USUBJID in ADEX(PARCAT1 = 'DEXAMETHASONE')     subjects (values) of another dataset's records
    not (...), ... and ..., ... or ...   (and binds tighter than or)
    worst(ASEV; 'MILD', 'MODERATE', 'SEVERE', missing) = 'SEVERE'
                                        a subject clause: the subject's worst value of ASEV over
                                        the records the other clauses keep, in the order given
                                        (last is worst), equals 'SEVERE'. Only at the top level.

Equality compares values in one text form: whole numbers without a decimal part (3.0 is '3'),
so a grade stored as a number or as text compares the same. Missing is None or NaN.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from ..columns import Distinct, factorize, map_distinct, plain_text

MISSING = "missing"
KEYWORDS = {"and", "or", "not", "in", "is", "missing", "worst"}


# --------------------------------------------------------------------------- writing filters

def literal(value) -> str:
    """A value as a literal of the language: numbers bare (whole numbers without '.0'), text quoted."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return quote("true" if value else "false")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return str(int(value)) if value.is_integer() else repr(value)
    return quote(str(value))


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def eq(column: str, value) -> str:
    """`column = value`, or `column is missing` for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{column} is missing"
    return f"{column} = {literal(value)}"


def all_of(*parts: str | None) -> str:
    """The conjunction of the non-empty parts (each wrapped in parentheses when it holds an `or`)."""
    kept = []
    for p in parts:
        if not p:
            continue
        kept.append(f"({p})" if _has_top_level_or(p) else p)
    return " and ".join(dict.fromkeys(kept))


@lru_cache(maxsize=1 << 14)  # the builders join the same few clauses (flags, a SOC) into thousands of filters
def _has_top_level_or(text: str) -> bool:
    depth = 0
    for token in _tokens(text):
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif token == "or" and depth == 0:
            return True
    return False


def worst(column: str, order: Iterable, value) -> str:
    """The subject clause: the subject's worst `column` (by `order`, last is worst) is `value`."""
    return f"worst({column}; {', '.join(literal(v) for v in order)}) = {literal(value)}"


def has_records(dataset: str, where: str | None, id_var: str = "USUBJID") -> str:
    return f"{id_var} in {dataset}({where or ''})"


@dataclass(frozen=True)
class Source:
    """Where a builder's data come from, for the ARD's analysis definitions.

    `dataset`: the ADaM dataset; `where`: the records the caller kept before calling the builder
    (a filter); `levels`: how a column of the builder's frame reads in ADaM when it is derived or
    internal: {column: None} adds no clause for it (an internal flag already in `where`), {column:
    {level: filter}} gives the filter of each level (a level not listed reads `column = level`).
    """

    dataset: str
    where: str | None = None
    levels: Mapping[str, Mapping | None] = field(default_factory=dict)

    def clause(self, column: str | None, level) -> str | None:
        """The filter of `column = level` in the source dataset (None: no clause)."""
        if column is None:
            return None
        if column in self.levels:
            mapping = self.levels[column]
            if mapping is None:
                return None
            key = _text_of(level)
            for k, v in mapping.items():
                if _text_of(k) == key:
                    return v
        return eq(column, level)


def _text_of(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def definition(source: str | None, where: str | None, population: str | None, counts: str) -> dict:
    """The four definition columns of one ARD row."""
    return {"source": source, "where": where or None, "population": population or None, "counts": counts}


# --------------------------------------------------------------------------- parsing

class FilterError(ValueError):
    """A filter that does not parse, or names a column or dataset that is not there."""


_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
                    r"|(?P<op><=|>=|!=|=|<|>)|(?P<punct>[(),;])|(?P<name>[A-Za-z_][A-Za-z0-9_]*))")


_NAME_START = re.compile(r"[A-Za-z_]")


def _tokens(text: str) -> list:
    out, pos = [], 0
    text = text or ""
    end = len(text.rstrip())  # only blanks after it
    while pos < end:
        m = _TOKEN.match(text, pos)
        if not m:
            raise FilterError(f"cannot read the filter at {text[pos:pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup
        t = m.group(kind)
        if kind == "str":
            out.append(("str", t[1:-1].replace("''", "'")))
        elif kind == "num":
            out.append(("num", float(t) if any(c in t for c in ".eE") else int(t)))
        else:
            out.append(t)
    return out


@dataclass(frozen=True)
class Cmp:
    column: str
    op: str  # = != < <= > >= in missing notmissing
    value: object = None  # a literal, or a tuple of literals for `in`


@dataclass(frozen=True)
class Has:
    column: str
    dataset: str
    where: object  # a node or None


@dataclass(frozen=True)
class Worst:
    column: str
    order: tuple
    value: object


@dataclass(frozen=True)
class Not:
    node: object


@dataclass(frozen=True)
class All:
    nodes: tuple


@dataclass(frozen=True)
class Any:
    nodes: tuple


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expected=None):
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise FilterError(f"expected {expected or 'more'} in filter {self.text!r}, found {tok!r}")
        self.i += 1
        return tok

    def parse(self):
        if not self.toks:
            return None
        node = self.or_()
        if self.peek() is not None:
            raise FilterError(f"unexpected {self.peek()!r} in filter {self.text!r}")
        return node

    def or_(self):
        nodes = [self.and_()]
        while self.peek() == "or":
            self.take()
            nodes.append(self.and_())
        return nodes[0] if len(nodes) == 1 else Any(tuple(nodes))

    def and_(self):
        nodes = [self.not_()]
        while self.peek() == "and":
            self.take()
            nodes.append(self.not_())
        return nodes[0] if len(nodes) == 1 else All(tuple(nodes))

    def not_(self):
        if self.peek() == "not":
            self.take()
            return Not(self.not_())
        if self.peek() == "(":
            self.take()
            node = self.or_()
            self.take(")")
            return node
        if self.peek() == "worst":
            return self.worst()
        return self.comparison()

    def literal(self):
        tok = self.take()
        if tok == MISSING:
            return None
        if isinstance(tok, tuple):
            return tok[1]
        raise FilterError(f"expected a value in filter {self.text!r}, found {tok!r}")

    def name(self):
        tok = self.take()
        if not isinstance(tok, str) or tok in KEYWORDS or not _NAME_START.match(tok):
            raise FilterError(f"expected a variable name in filter {self.text!r}, found {tok!r}")
        return tok

    def worst(self):
        self.take("worst")
        self.take("(")
        column = self.name()
        self.take(";")
        order = [self.literal()]
        while self.peek() == ",":
            self.take()
            order.append(self.literal())
        self.take(")")
        self.take("=")
        return Worst(column, tuple(order), self.literal())

    def comparison(self):
        column = self.name()
        tok = self.take()
        if tok == "is":
            if self.peek() == "not":
                self.take()
                self.take(MISSING)
                return Cmp(column, "notmissing")
            self.take(MISSING)
            return Cmp(column, "missing")
        negate = False
        if tok == "not":
            negate = True
            tok = self.take()
        if tok == "in":
            if self.peek() == "(":
                self.take()
                values = [self.literal()]
                while self.peek() == ",":
                    self.take()
                    values.append(self.literal())
                self.take(")")
                node = Cmp(column, "in", tuple(values))
            else:
                dataset = self.name()
                self.take("(")
                inner = None if self.peek() == ")" else self.or_()
                self.take(")")
                node = Has(column, dataset, inner)
            return Not(node) if negate else node
        if negate or tok not in ("=", "!=", "<", "<=", ">", ">="):
            raise FilterError(f"expected a comparison after {column} in filter {self.text!r}, found {tok!r}")
        return Cmp(column, tok, self.literal())


@lru_cache(maxsize=1 << 14)  # a pure function of the text, its tree immutable: a build's two traces share it
def parse(text: str | None):
    """The filter as a tree (None for an empty filter: every record)."""
    return _Parser(text or "").parse()


def split_subject_clauses(node) -> tuple[object, list[Worst]]:
    """(the record filter, the subject clauses `worst(...)` of the top-level conjunction)."""
    if isinstance(node, Worst):
        return None, [node]
    if isinstance(node, All):
        worsts = [n for n in node.nodes if isinstance(n, Worst)]
        rest = tuple(n for n in node.nodes if not isinstance(n, Worst))
        return (None if not rest else rest[0] if len(rest) == 1 else All(rest)), worsts
    return node, []


def columns_of(node) -> set[str]:
    """Columns the filter reads from its own dataset."""
    if node is None:
        return set()
    if isinstance(node, Cmp):
        return {node.column}
    if isinstance(node, (Has,)):
        return {node.column}
    if isinstance(node, Worst):
        return {node.column}
    if isinstance(node, Not):
        return columns_of(node.node)
    return set().union(*(columns_of(n) for n in node.nodes))


# --------------------------------------------------------------------------- evaluating

def text_form(values: pd.Series) -> np.ndarray:
    """A column in the one text form equality uses (None for missing)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        x = values.to_numpy(dtype=float, na_value=np.nan)
        out = np.empty(len(x), dtype=object)
        whole = np.isfinite(x) & (np.mod(x, 1) == 0)
        out[:] = None
        out[whole] = [str(int(v)) for v in x[whole]]
        other = np.isfinite(x) & ~whole
        out[other] = [repr(float(v)) for v in x[other]]
        return out
    return map_distinct(values, _text_of).to_numpy()  # _text_of(None) is None


class Evaluator:
    """Evaluates filters on named frames, caching each column's text form and each clause's mask.

    `datasets` maps a dataset name to its frame, or to a callable that returns it (read on first use).
    """

    def __init__(self, datasets: Mapping[str, pd.DataFrame | Callable[[], pd.DataFrame]], id_var: str = "USUBJID"):
        self._datasets = dict(datasets)
        self.id_var = id_var
        self._texts: dict = {}
        self._distinct: dict = {}
        self._numbers: dict = {}
        self._masks: dict = {}
        self._parsed: dict = {}

    def frame(self, name: str) -> pd.DataFrame:
        if name not in self._datasets:
            raise FilterError(f"dataset {name} is not available")
        value = self._datasets[name]
        if callable(value):
            value = value()
            self._datasets[name] = value
        return value

    def has(self, name: str) -> bool:
        return name in self._datasets

    def parsed(self, text: str | None):
        if text not in self._parsed:
            self._parsed[text] = parse(text)
        return self._parsed[text]

    def _text(self, dataset: str, column: str) -> np.ndarray:
        key = (dataset, column)
        if key not in self._texts:
            frame = self.frame(dataset)
            if column not in frame.columns:
                raise FilterError(f"{dataset} has no variable {column}")
            self._texts[key] = text_form(frame[column])
        return self._texts[key]

    def distinct(self, dataset: str, column: str) -> tuple[Distinct, dict]:
        """The column's text form as codes (-1: missing) into its distinct values, and each value's code:
        an equality is then one comparison of small integers, whatever the number of values."""
        key = (dataset, column)
        if key not in self._distinct:
            frame = self.frame(dataset)
            if key not in self._texts and column in frame.columns and plain_text(frame[column]):
                codes = factorize(frame[column])  # text already: the text form of each distinct value is str(value)
                codes = Distinct(codes.codes, [v if type(v) is str else _text_of(v) for v in codes.values])
            else:
                codes = factorize(self._text(dataset, column))
            self._distinct[key] = (codes, {v: i for i, v in enumerate(codes.values)})
        return self._distinct[key]

    def _number(self, dataset: str, column: str) -> np.ndarray:
        key = (dataset, column)
        if key not in self._numbers:
            self._numbers[key] = pd.to_numeric(self.frame(dataset)[column], errors="coerce").to_numpy(dtype=float)
        return self._numbers[key]

    def mask(self, dataset: str, node) -> np.ndarray:
        """Boolean mask of the records of `dataset` the record filter keeps."""
        key = (dataset, node)
        if key in self._masks:
            return self._masks[key]
        n = len(self.frame(dataset))
        if node is None:
            out = np.ones(n, dtype=bool)
        elif isinstance(node, All):
            out = np.ones(n, dtype=bool)
            for child in node.nodes:
                out = out & self.mask(dataset, child)
        elif isinstance(node, Any):
            out = np.zeros(n, dtype=bool)
            for child in node.nodes:
                out = out | self.mask(dataset, child)
        elif isinstance(node, Not):
            out = ~self.mask(dataset, node.node)
        elif isinstance(node, Has):
            inner = self.frame(node.dataset)
            if node.column not in inner.columns:
                raise FilterError(f"{node.dataset} has no variable {node.column}")
            keep = self.mask(node.dataset, node.where)
            theirs, _ = self.distinct(node.dataset, node.column)
            present = np.unique(theirs.codes[keep])
            values = {theirs.values[c] for c in present[present >= 0]}
            mine, _ = self.distinct(dataset, node.column)
            member = np.array([v in values for v in mine.values], dtype=bool)
            out = mine.lookup(member, False)[mine.codes]
        elif isinstance(node, Cmp):
            out = self._compare(dataset, node)
        elif isinstance(node, Worst):
            raise FilterError("worst(...) is a subject clause: only at the top level of a filter")
        else:  # pragma: no cover - the parser makes nothing else
            raise FilterError(f"unknown filter node {node!r}")
        self._masks[key] = out
        return out

    def _compare(self, dataset: str, node: Cmp) -> np.ndarray:
        text, code_of = self.distinct(dataset, node.column)
        missing = text.codes < 0
        if node.op == "missing":
            return missing
        if node.op == "notmissing":
            return ~missing
        if node.op in ("=", "!="):
            target = _text_of(node.value)
            hit = missing if target is None else text.codes == code_of.get(target, -2)  # -2: no record has it
            return hit if node.op == "=" else ~hit
        if node.op == "in":
            targets = {_text_of(v) for v in node.value}
            codes = [code_of[t] for t in targets if t in code_of]
            return np.isin(text.codes, codes) | (missing & (None in targets))
        numbers = self._number(dataset, node.column)
        try:
            target = float(node.value)
        except (TypeError, ValueError):
            raise FilterError(f"{node.column} {node.op} needs a number, not {node.value!r}") from None
        with np.errstate(invalid="ignore"):
            result = {"<": numbers < target, "<=": numbers <= target, ">": numbers > target,
                      ">=": numbers >= target}[node.op]
        return np.asarray(result & ~np.isnan(numbers), dtype=bool)

    def select(self, dataset: str, where: str | None, subjects: set | None = None) -> pd.DataFrame:
        """The records of `dataset` the filter keeps (of `subjects` only, when given), subject clauses included."""
        return self.frame(dataset)[self.kept(dataset, where, subjects)]

    def kept(self, dataset: str, where: str | None, subjects: set | None = None) -> np.ndarray:
        """Boolean mask of the records `select` returns."""
        record_node, worsts = split_subject_clauses(self.parsed(where))
        keep = self.mask(dataset, record_node)
        if subjects is not None:
            ids = self._text(dataset, self.id_var)
            keep = keep & np.array([v in subjects for v in ids], dtype=bool)
        if worsts:
            frame = self.frame(dataset)
            records = frame.set_axis(pd.RangeIndex(len(frame)))[keep]  # labelled by position
            for clause in worsts:
                records = _apply_worst(records, clause, self.id_var)
            keep = np.zeros(len(frame), dtype=bool)
            keep[records.index.to_numpy()] = True
        return keep


def _apply_worst(records: pd.DataFrame, clause: Worst, id_var: str) -> pd.DataFrame:
    """The records of the subjects whose worst value of the column (by the clause's order) is its value."""
    if clause.column not in records.columns:
        raise FilterError(f"no variable {clause.column} for worst(...)")
    order = [_text_of(v) for v in clause.order]
    rank = {v: i for i, v in enumerate(order)}
    texts = text_form(records[clause.column])
    ranks = np.array([rank.get(v, -1) for v in texts], dtype=int)
    if (ranks < 0).any():
        unknown = sorted({str(v) for v, r in zip(texts, ranks) if r < 0})
        raise FilterError(f"worst({clause.column}): value(s) {', '.join(unknown[:5])} are not in the order given")
    per_subject = pd.Series(ranks, index=records.index).groupby(records[id_var].to_numpy()).max()
    target = rank.get(_text_of(clause.value))
    chosen = set(per_subject.index[per_subject.to_numpy() == target]) if target is not None else set()
    return records[records[id_var].isin(chosen)]
