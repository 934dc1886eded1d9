"""Does define.xml describe the XPT files beside it, and only them?

Findings, not exceptions: every dataset file and variable must be in the define and the
reverse; types agree (integer/float are numeric in the file, every other DataType is
character); a character variable's define Length equals its length in the file; labels agree
where the file has one; the variable order is the define's; and every value of a variable with
a codelist is a term of it (value-level codelists are checked on the records their where
clause selects). External dictionaries (MedDRA, WHODrug) are not checked term by term.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..dataset import Column, Dataset
from ..errors import Problem
from ._values import FrameTexts
from .read import Define, DefineDataset, read_define

NUMERIC_TYPES = ("integer", "float")
SHOWN_VALUES = 10


def _xpt_files(folder: Path) -> dict[str, Path]:
    return {p.stem.upper(): p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() == ".xpt"}


def check_consistency(folder: Path, define: Path | bytes | Define | None = None,
                      datasets: Mapping[str, Dataset] | None = None,
                      values: Mapping[str, FrameTexts] | None = None,
                      read: Mapping[str, tuple[Dataset, Mapping[str, int]]] | None = None) -> list[Problem]:
    """Every disagreement between the XPT files of `folder` and `define` (default folder/define.xml).

    `datasets` (by name) are the datasets just written to those files: then only each file's headers
    are read (its size against them, names, labels, types, lengths, the number of records, which
    must be the dataset's) and the values are checked in memory, where they are the bytes written
    (the writer is tested byte for byte). `read` (by file name stem, upper case) holds files already
    read whole (read_xpt) with the storage lengths of their character variables, as `sub validate`
    has them: those are not read again. Other files are read whole. `values`: the datasets'
    columns as texts (`FrameTexts` by dataset name) when the define was just built from them, so
    that no column is converted twice; each column is converted at most once either way.
    """
    import pyreadstat

    from ..errors import SubError
    from ..xpt import read_xpt

    folder = Path(folder)
    if define is None:
        define = folder / "define.xml"
    define_name = str(define) if isinstance(define, Path) else "define.xml"
    if not isinstance(define, Define):
        try:
            define = read_define(define, name=define_name)
        except SubError as exc:
            return list(exc.problems)
    else:
        define_name = define.source
    problems: list[Problem] = []
    files = _xpt_files(folder)
    by_file: dict[str, DefineDataset] = {}
    for ds in define.datasets.values():
        stem = Path(ds.archive).stem.upper() if ds.archive else ds.name
        by_file[stem] = ds
        if stem not in files:
            if not ds.has_no_data:
                problems.append(Problem(define_name, None, None, ds.name,
                                        f"dataset {ds.name} is in define.xml but {ds.archive or ds.name.lower() + '.xpt'} "
                                        f"is not in {folder}"))
    for stem, path in files.items():
        if stem not in by_file:
            problems.append(Problem(str(path), None, None, stem, "dataset file is not described in define.xml"))
            continue
        ds = by_file[stem]
        name = str(path)
        try:
            written = _written(path, datasets.get(stem)) if datasets is not None else None
            if written is not None:
                data, widths, size = written
                if size != path.stat().st_size:
                    problems.append(Problem(name, None, None, f"{path.stat().st_size:,} bytes",
                                            f"the file does not hold the {len(data.frame):,} records written: "
                                            f"{size:,} bytes expected"))
            elif read is not None and stem in read:
                data, widths = read[stem]
            else:
                data = read_xpt(path)
                _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
                widths = meta.variable_storage_width or {}
        except SubError as exc:
            problems += exc.problems
            continue
        if data.name != ds.name:
            problems.append(Problem(name, None, None, data.name, f"dataset name differs from define.xml ({ds.name})"))
        if data.label and ds.label and data.label != ds.label:
            problems.append(Problem(name, None, None, data.label, f"dataset label differs from define.xml ({ds.label!r})"))
        shared = (values or {}).get(data.name)
        texts = shared if shared is not None and shared.frame is data.frame else FrameTexts(data.frame)
        columns = [c.name for c in data.columns]
        defined = [v.name for v in ds.variables]
        for column in columns:
            if column not in defined:
                problems.append(Problem(name, None, column, None, f"variable is not in define.xml ({ds.name})"))
        for v in ds.variables:
            if v.name not in columns:
                problems.append(Problem(define_name, None, v.name, None, f"{ds.name}.{v.name} is in define.xml but not in {path.name}"))
        common = [c for c in defined if c in columns]
        if [c for c in columns if c in defined] != common:
            problems.append(Problem(name, None, None, None,
                                    f"variable order differs from define.xml: file {columns}, define {defined}"))
        for v in ds.variables:
            if v.name not in columns:
                continue
            col = data.column(v.name)
            item = v.item
            numeric = item.data_type in NUMERIC_TYPES
            if numeric != col.numeric:
                problems.append(Problem(name, None, v.name, item.data_type,
                                        f"define.xml says {item.data_type} but the file holds "
                                        f"{'numbers' if col.numeric else 'text'}"))
            elif not numeric and item.length is not None and widths.get(v.name) is not None \
                    and item.length != widths[v.name]:
                problems.append(Problem(name, None, v.name, str(widths[v.name]),
                                        f"length in the file differs from define.xml Length {item.length}"))
            if col.label and item.label and col.label != item.label:
                problems.append(Problem(name, None, v.name, col.label, f"label differs from define.xml ({item.label!r})"))
            problems += _codelist_problems(define, name, texts, v.name, item.codelist, None)
            if item.value_list and item.value_list in define.value_lists:
                for entry in define.value_lists[item.value_list].items:
                    checks = []
                    for wc_oid in entry.where_clauses:
                        wc = define.where_clauses.get(wc_oid)
                        if wc is None:
                            checks = None
                            break
                        for check in wc.checks:
                            tested = define.items.get(check.item)
                            checks.append((tested.name if tested else check.item, check.comparator, check.values))
                    if not checks:
                        continue
                    mask = texts.where(checks)
                    if mask is None:  # tests a variable of another dataset
                        continue
                    problems += _codelist_problems(define, name, texts, v.name, entry.item.codelist,
                                                   ", ".join(entry.where_clauses), mask.to_numpy())
    return problems


def _written(path: Path, ds: Dataset | None) -> tuple[Dataset, dict[str, int], int] | None:
    """The file's header (name, labels, types as columns; lengths) over `ds`'s values, and the size
    the file has when it holds `ds`'s records (140-byte NAMESTRs, as written); None when there is no
    such dataset, its variables are not the file's, or the header is not one the fast reader reads
    (the file is then read whole)."""
    from ..xpt import read_xpt_records

    member = read_xpt_records(path) if ds is not None else None
    if member is None:
        return None
    columns = [Column(v.name, v.label, "float" if v.numeric else "text") for v in member.variables]
    if list(ds.frame.columns) != [c.name for c in columns]:
        return None  # not the dataset written to this file
    record = sum(v.length for v in member.variables)
    size = 640 + -(-len(columns) * 140 // 80) * 80 + 80 + -(-len(ds.frame) * record // 80) * 80
    return (Dataset(member.name or path.stem.upper(), member.label, ds.frame, columns),
            {v.name: v.length for v in member.variables}, size)


def _codelist_problems(define: Define, file: str, texts: FrameTexts, variable: str, codelist: str | None,
                       where: str | None, rows=None) -> list[Problem]:
    """Values of `variable` (of every record, or of those the boolean array `rows` selects) that are
    not terms of `codelist`, the most frequent first shown."""
    if not codelist:
        return []
    cl = define.codelists.get(codelist)
    if cl is None or cl.dictionary is not None or not cl.terms:
        return []
    allowed = set(cl.values)
    column = texts(variable)
    if column.present(rows) <= allowed:  # every distinct value present is a term
        return []
    values = column.series(texts.frame.index, rows).dropna()
    bad = values[~values.isin(allowed)]
    if bad.empty:
        return []
    counts = bad.value_counts(sort=False)
    scope = f" where {where}" if where else ""
    out = [Problem(file, None, variable, str(value), f"value is not in codelist {codelist}{scope} ({n} record(s))")
           for value, n in list(counts.items())[:SHOWN_VALUES]]
    if len(counts) > SHOWN_VALUES:
        out.append(Problem(file, None, variable, None,
                           f"{len(counts) - SHOWN_VALUES} more distinct values are not in codelist {codelist}{scope}"))
    return out
