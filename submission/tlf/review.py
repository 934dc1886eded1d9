"""The review page: OUT/review/index.html, every table of the report with each number a link to the
subjects and ADaM records behind it.

One HTML file that works offline from the file system in any current browser: no server, nothing
fetched from the internet. The page holds the tables (each output's ARD laid out as rows by
variable and level, columns by its grouping; the report's table as printed beside it) and loads
the data behind a number only when it is clicked, from small script files beside it
(review/data/*.js, loaded by <script> tags, which browsers allow from file:// where fetch() is
refused):

- data/subjects.js: the ADSL subjects (USUBJID) in ADSL order;
- data/out-<output>.js: per output, its numbers' traces as index lists (delta-coded): the
  subjects (ADSL positions) and the ADaM records (positions in their dataset) of each analysis
  definition, shared by the statistics of a cell (n, %, events, CI have one definition);
- data/<dataset>-<k>.js: the ADaM records that some number counts (ADSL: every subject), in
  dataset order and chunks of CHUNK records, with the columns a reviewer needs (USUBJID, --SEQ,
  term, dates and every flag a definition uses).

The traces are those of `sub trace` (tlf/trace.py): the same definitions on the same ADaM, so the
page, the command and the ARD agree. A search box finds a table, a row label (a PT, a level) or a
subject: for a subject the page loads every output's traces and lists the numbers that count it.

Same inputs, same bytes: no time, no absolute path, a fixed order.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..columns import factorize, plain_text
from .trace import SHOWN, Tracer, _plain, _text
from .where import FilterError, columns_of

REVIEW_DIR = "review"
INDEX = "index.html"
DATA = "data"
CHUNK = 2000
LISTING_ROWS = 200  # rows of a listing shown as printed (the whole listing is in the Word report)


def _js_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in str(text))


def _dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _delta(values: Iterable[int] | np.ndarray) -> list[int]:
    """Each value minus the one before it (the first minus 0)."""
    values = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=np.int64)
    out = values.copy()
    out[1:] -= values[:-1]
    return out.tolist()


def _cell_text(value) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# --------------------------------------------------------------------------- the traces behind the numbers

class _Traces:
    """Per output: the analysis definitions of its rows as subject and record index lists."""

    def __init__(self, ard: pd.DataFrame, adam: Mapping[str, pd.DataFrame]):
        self.tracer = Tracer(ard, dict(adam))
        self.adsl_ids = [str(v) for v in adam["ADSL"]["USUBJID"]]
        self.subject_index = {s: i for i, s in enumerate(self.adsl_ids)}
        self.used: dict[str, set[str]] = {}   # dataset -> columns to ship
        self._counted: dict[str, list[np.ndarray]] = {}  # dataset -> positions of records some number counts
        self._subject_of: dict[str, np.ndarray] = {}  # dataset -> per record, its subject's ADSL position (-1)
        self._shipped: dict[str, np.ndarray] = {}

    def output(self, rows: list[dict]) -> dict:
        t = self.tracer
        defs, sigs, ids, seen = [], [], {}, {}
        for row in rows:
            counts = _text(row.get("counts"))
            if not counts or counts == "none":
                continue
            source = "ADSL" if counts == "population" else _text(row.get("source"))
            where = None if counts == "population" else _text(row.get("where"))
            population = _text(row.get("population"))
            key = (source, where, population)
            if key not in seen:
                try:
                    positions = t.positions(source, where, population)
                except FilterError:
                    continue
                if source == "ADSL":  # ADSL positions are the subjects' own
                    subjects, records = positions, None
                else:
                    counted = np.zeros(len(self.adsl_ids), dtype=bool)  # the subjects of those records, once each
                    subject_of = self.subject_of(source)[positions]
                    counted[subject_of[subject_of >= 0]] = True
                    subjects = np.flatnonzero(counted)
                    records = positions
                    self._counted.setdefault(source, []).append(records)
                self._note_columns(source, where, counts)
                self._note_columns("ADSL", population, "")
                seen[key] = len(sigs)
                defs.append([source, where, population])
                sig = {"d": source, "s": _delta(subjects)}
                if records is not None:
                    sig["r"] = records  # dataset positions: `shipped` turns them into positions in the data files
                sigs.append(sig)
            ids[str(row["ard_id"])] = [seen[key], counts, _plain(row.get("stat"))]
        return {"defs": defs, "sigs": sigs, "ids": ids}

    def subject_of(self, dataset: str) -> np.ndarray:
        """Per record of `dataset`, the ADSL position of its subject (-1: not an ADSL subject)."""
        if dataset not in self._subject_of:
            distinct = factorize(pd.Series(self.tracer.evaluator._text(dataset, "USUBJID"), dtype=object))
            table = np.array([self.subject_index.get(s, -1) for s in distinct.values], dtype=np.int64)
            self._subject_of[dataset] = distinct.lookup(table, -1)[distinct.codes]
        return self._subject_of[dataset]

    def shipped(self, out: dict) -> dict:
        """The output's record lists as positions among the records shipped (only those some number
        counts, in dataset order), delta-coded."""
        for sig in out["sigs"]:
            if "r" in sig:
                sig["r"] = _delta(np.searchsorted(self.records(sig["d"]), sig["r"]))
        return out

    def records(self, dataset: str) -> np.ndarray:
        """The positions of the records of `dataset` that some number counts, in dataset order."""
        if dataset not in self._shipped:
            counted = self._counted.get(dataset, [])
            self._shipped[dataset] = np.unique(np.concatenate(counted)) if counted else np.array([], dtype=np.int64)
        return self._shipped[dataset]

    def _note_columns(self, source: str, where: str | None, counts: str) -> None:
        cols = self.used.setdefault(source, set())
        try:
            cols |= columns_of(self.tracer.evaluator.parsed(where))
        except FilterError:
            pass
        if counts.startswith("values(") and counts.endswith(")"):
            cols.add(counts[7:-1])


def _record_chunks(name: str, frame: pd.DataFrame, extra: set[str],
                   positions: np.ndarray | None = None) -> tuple[list[str], list[tuple]]:
    """The shown columns of the dataset's records (at `positions`, else all) and their values, a tuple per record."""
    columns = [c for c in dict.fromkeys([*SHOWN.get(name, ["USUBJID"]), *sorted(extra)]) if c in frame.columns]
    part = frame[columns] if positions is None else frame[columns].iloc[positions]
    values = [_shown_values(part[column]) for column in columns]
    rows = list(zip(*values)) if values else []  # JSON arrays, as lists would be
    return columns, rows


def _shown_date(value) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _shown_values(series: pd.Series) -> list:
    """A column's values as the page shows them (`_plain`; dates as ISO dates): converted once per
    distinct value of a column whose equal values are alike (numbers, dates, flags, text), value by
    value in a column of mixed types (1, 1.0 and True are one value to a factorization)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        convert = _shown_date
    else:
        convert = _plain
    if not (series.dtype.kind in "biufM" or plain_text(series)):
        return [convert(v) for v in series]
    distinct = factorize(series)
    table = np.empty(len(distinct.values), dtype=object)
    for i, value in enumerate(distinct.values):
        table[i] = convert(value)
    return distinct.lookup(table, None)[distinct.codes].tolist()


# --------------------------------------------------------------------------- the tables

def _row_label(row: Mapping) -> str:
    parts = []
    for i in (2, 3):
        level = _text(row.get(f"group{i}_level"))
        if level is not None and _text(row.get(f"group{i}")) not in ("reference", "entered_instead"):
            parts.append(level)
    variable, level = _text(row.get("variable")), _text(row.get("variable_level"))
    if variable in ("..any..", "..N..", "..events..", "..model.."):
        name = {"..any..": "Any", "..N..": "N", "..events..": "Listed", "..model..": "Model"}[variable]
    else:
        name = variable or ""
    last = f"{name} = {level}" if level is not None else name
    if parts and variable == parts[-1]:
        parts = parts[:-1]
    return " › ".join([*parts, last])


def _link(row: Mapping, text: str, traceable: set) -> str:
    i = str(row["ard_id"])
    if i in traceable:
        return f'<a class="num" href="#{html.escape(i)}" data-i="{html.escape(i)}">{html.escape(text)}</a>'
    return f'<span title="{html.escape(i)}">{html.escape(text)}</span>'


def _cell(stats: dict, traceable: set) -> str:
    """The statistics of one row and column: n (%) [events] of N, a summary, or name = value."""
    parts = []
    if "n" in stats:
        n = stats["n"]
        text = _link(n, _cell_text(n["stat"]), traceable)
        if "p" in stats and _plain(stats["p"]["stat"]) is not None:
            text += f' ({float(stats["p"]["stat"]) * 100:.1f}%)'
        if "events" in stats:
            text += " [" + _link(stats["events"], _cell_text(stats["events"]["stat"]), traceable) + "]"
        if "N" in stats:
            text += " / " + _link(stats["N"], _cell_text(stats["N"]["stat"]), traceable)
        parts.append(text)
    elif "N" in stats:
        parts.append("N " + _link(stats["N"], _cell_text(stats["N"]["stat"]), traceable))
    elif "events" in stats:
        parts.append("[" + _link(stats["events"], _cell_text(stats["events"]["stat"]), traceable) + "]")
    for name, row in stats.items():
        if name in ("n", "p", "events", "N"):
            continue
        parts.append(f'<span class="st">{html.escape(str(row.get("stat_label") or name))}</span> '
                     + _link(row, _cell_text(row["stat"]), traceable))
    return "<br>".join(parts)


def _ard_table(rows: list[dict], traceable: set) -> str:
    columns: list = []
    lines: dict = {}
    for row in rows:
        column = (_text(row.get("group1")), _text(row.get("group1_level")))
        if column not in columns:
            columns.append(column)
        key = tuple(_text(row.get(c)) for c in ("group2", "group2_level", "group3", "group3_level", "variable",
                                                 "variable_level"))
        line = lines.get(key)
        if line is None:  # the label from the line's first row
            line = lines[key] = {"label": _row_label(row), "cells": {}}
        line["cells"].setdefault(column, {})[str(row["stat_name"])] = row
    head = "".join(f"<th>{html.escape(lv or g or '전체')}</th>" for g, lv in columns)
    body = []
    for line in lines.values():
        cells = "".join(f"<td>{_cell(line['cells'].get(c, {}), traceable)}</td>" for c in columns)
        body.append(f'<tr><th class="rl">{html.escape(line["label"])}</th>{cells}</tr>')
    return (f'<table class="ard"><thead><tr><th></th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')


def _display_table(display: pd.DataFrame, limit: int | None) -> str:
    frame = display if limit is None else display.head(limit)
    head = "".join(f"<th>{html.escape(str(c)).replace(chr(10), '<br>')}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v)).replace(chr(10), '<br>')}</td>"
                                    for v in r) + "</tr>" for r in frame.itertuples(index=False))
    more = (f'<p class="note">… {len(display) - limit:,} more rows in the Word report.</p>'
            if limit is not None and len(display) > limit else "")
    return f'<table class="printed"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}'


# --------------------------------------------------------------------------- the page

def _rows_by_output(ard: pd.DataFrame) -> dict[str, list[dict]]:
    """The ARD's rows as dicts (column: value), per output id in order of appearance (rows without one left out)."""
    columns = list(ard.columns)
    out: dict[str, list[dict]] = {}
    for values in zip(*(ard[c].tolist() for c in columns)):
        row = dict(zip(columns, values))
        if not pd.isna(row["output_id"]):
            out.setdefault(row["output_id"], []).append(row)
    return out


def page_title(study, ard: pd.DataFrame) -> str:
    """The page's title: that of the report the ARD belongs to (a periodic safety report's ARD has a
    `period` column, tlf/periodic.py), and which part of it this page is."""
    from .periodic import PERIOD_COLUMN, REPORT_NAME

    name = REPORT_NAME if PERIOD_COLUMN in ard.columns else "재심사 결과보고서"
    return f"{study.drug_ko} {name}: 검토용 표 ({study.studyid})"


def write_review(folder: Path, results: list, ard: pd.DataFrame, adam: Mapping[str, pd.DataFrame], *,
                 title: str, notice: str | None = None) -> list[Path]:
    """Write index.html and data/*.js into `folder` (created); return the files written."""
    from ..io import write_atomic

    folder = Path(folder)
    data = folder / DATA
    data.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def put(path: Path, text: str) -> None:
        write_atomic(path, text.encode("utf-8"))
        written.append(path)

    traces = _Traces(ard, adam)
    sections, nav, pending = [], [], []
    by_output = _rows_by_output(ard)
    for r in results:
        rows = by_output.get(r.output_id)
        file_name = f"out-{_js_name(r.output_id)}.js"
        traceable: set = set()
        if rows:
            out = traces.output(rows)
            traceable = set(out["ids"])
            pending.append((data / file_name, r.output_id, out))
        parts = [(f'<section class="out" id="o-{html.escape(r.output_id)}" data-o="{html.escape(r.output_id)}" '
                  f'data-f="{html.escape(file_name)}">'),
                 f'<h2><span class="oid">{html.escape(r.output_id)}</span> {html.escape(r.title)}</h2>']
        png = getattr(r, "png", None)
        if png:
            parts.append(f'<img alt="{html.escape(r.title)}" src="data:image/png;base64,'
                         f'{base64.b64encode(png).decode("ascii")}">')
        if rows:
            parts.append(_ard_table(rows, traceable))
        display = getattr(r, "display", None)
        if isinstance(display, pd.DataFrame) and len(display.columns):
            limit = LISTING_ROWS if getattr(r, "kind", "table") == "listing" else None
            parts.append(f"<details><summary>보고서 표 (as printed)</summary>{_display_table(display, limit)}</details>")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in getattr(r, "footnotes", []) or [])
        if notes:
            parts.append(f'<ul class="notes">{notes}</ul>')
        parts.append("</section>")
        sections.append("".join(parts))
        nav.append(f'<li><a href="#o-{html.escape(r.output_id)}">{html.escape(r.output_id)}</a> '
                   f'{html.escape(r.title)}</li>')

    for path, output_id, out in pending:
        put(path, f"subReview.output({_dump(output_id)},{_dump(traces.shipped(out))});\n")
    put(data / "subjects.js", f"subReview.subjects({_dump(traces.adsl_ids)});\n")
    datasets = {}
    for name in sorted(traces.used):
        # ADSL is shipped whole (its positions are the subjects'), of the others the records some number counts
        positions = None if name == "ADSL" else traces.records(name)
        columns, rows = _record_chunks(name, adam[name], traces.used[name], positions)
        chunks = max(1, -(-len(rows) // CHUNK))
        datasets[name] = {"columns": columns, "chunks": chunks, "records": len(rows)}
        for k in range(chunks):
            put(data / f"{_js_name(name)}-{k}.js",
                f"subReview.records({_dump(name)},{k},{_dump(rows[k * CHUNK:(k + 1) * CHUNK])});\n")
    index = {"chunk": CHUNK, "datasets": datasets,
             "outputs": {r.output_id: f"out-{_js_name(r.output_id)}.js" for r in results
                         if by_output.get(r.output_id)}}
    page = _PAGE
    for token, value in (("@TITLE@", html.escape(title)),
                         ("@NOTICE@", f'<p class="notice">{html.escape(notice)}</p>' if notice else ""),
                         ("@CSS@", _CSS), ("@INDEX@", _dump(index).replace("</", "<\\/")), ("@JS@", _JS),
                         ("@NAV@", "".join(nav)), ("@SECTIONS@", "\n".join(sections))):
        page = page.replace(token, value)
    put(folder / INDEX, page)
    return written


_CSS = """
body{font-family:"Malgun Gothic","맑은 고딕",NanumGothic,sans-serif;margin:0;font-size:13px;color:#111}
header{position:sticky;top:0;background:#f4f6f8;border-bottom:1px solid #ccd;padding:6px 12px;z-index:2}
header h1{font-size:16px;margin:0 0 4px 0}
#q{width:420px;padding:3px}
.notice{color:#a00;font-weight:bold;margin:2px 0}
main{margin-right:46%;padding:8px 12px}
nav ul{columns:2;font-size:12px}
section.out{border-top:2px solid #99a;margin-top:18px}
h2{font-size:14px}
.oid{font-family:monospace;background:#e8eaf0;padding:1px 4px}
table{border-collapse:collapse;margin:6px 0}
td,th{border:1px solid #ccd;padding:2px 5px;vertical-align:top}
th.rl{text-align:left;font-weight:normal;max-width:420px}
table.printed{font-size:12px}
a.num{color:#0645ad;text-decoration:none;border-bottom:1px dotted #0645ad}
a.num.on{background:#ffe08a}
.st{color:#555;font-size:11px}
.notes{font-size:11px;color:#444}
img{max-width:640px;display:block}
#panel{position:fixed;right:0;top:0;bottom:0;width:45%;overflow:auto;background:#fff;border-left:2px solid #99a;
padding:8px 12px;box-sizing:border-box;font-size:12px}
#panel code{white-space:pre-wrap;word-break:break-word}
#panel table{font-size:11px}
.hidden{display:none}
.hit{background:#fff3b0}
"""

_JS = r"""
(function(){
"use strict";
var S={outputs:{},subjects:null,chunks:{},loading:{}};
var INDEX=JSON.parse(document.getElementById("sub-index").textContent);
window.subReview={
  output:function(id,data){S.outputs[id]=data;},
  subjects:function(list){S.subjects=list;},
  records:function(ds,k,rows){S.chunks[ds+"/"+k]=rows;}
};
function load(file){
  if(!S.loading[file]){
    S.loading[file]=new Promise(function(resolve,reject){
      var el=document.createElement("script");
      el.src="data/"+file;
      el.onload=function(){resolve();};
      el.onerror=function(){reject(new Error("cannot load data/"+file));};
      document.head.appendChild(el);
    });
  }
  return S.loading[file];
}
function undelta(a){var x=0,out=new Array(a.length);for(var i=0;i<a.length;i++){x+=a[i];out[i]=x;}return out;}
function esc(t){return String(t===null||t===undefined?"":t).replace(/[&<>"]/g,function(c){
  return {"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c];});}
var panel=document.getElementById("panel");
function show(html){panel.innerHTML=html;panel.scrollTop=0;}
function outputOf(id){var i=id.lastIndexOf(".");return id.slice(0,i);}
function recordsTable(ds,positions,limit){
  var meta=INDEX.datasets[ds];
  var need={};
  positions.forEach(function(p){need[Math.floor(p/INDEX.chunk)]=1;});
  var files=Object.keys(need).map(function(k){return ds.replace(/[^A-Za-z0-9_-]/g,"_")+"-"+k+".js";});
  return Promise.all(files.map(load)).then(function(){
    var shown=positions.slice(0,limit);
    var rows=shown.map(function(p){var c=S.chunks[ds+"/"+Math.floor(p/INDEX.chunk)];return c[p%INDEX.chunk];});
    var h="<table><thead><tr>"+meta.columns.map(function(c){return "<th>"+esc(c)+"</th>";}).join("")+"</tr></thead><tbody>";
    rows.forEach(function(r){h+="<tr>"+r.map(function(v){return "<td>"+esc(v)+"</td>";}).join("")+"</tr>";});
    h+="</tbody></table>";
    if(positions.length>limit){h+='<p>'+(positions.length-limit)+' more records. <button id="all">show all</button></p>';}
    return h;
  });
}
function open(id){
  var out=outputOf(id);
  var file=INDEX.outputs[out];
  if(!file){show("<p>No data for "+esc(id)+"</p>");return Promise.resolve();}
  return Promise.all([load(file),load("subjects.js")]).then(function(){
    var o=S.outputs[out], entry=o.ids[id];
    if(!entry){show("<p>"+esc(id)+": not traceable</p>");return;}
    var sig=o.sigs[entry[0]], def=o.defs[entry[0]], kind=entry[1];
    var subjects=undelta(sig.s).map(function(i){return S.subjects[i];});
    var records=sig.r?undelta(sig.r):null;
    var count=kind==="records"?(records?records.length:subjects.length):subjects.length;
    var h='<h3 id="trace-head">'+esc(id)+'</h3>';
    h+='<p>ARD value: <b id="trace-value">'+esc(entry[2])+'</b>; traced: <b id="trace-count">'+count+'</b> '+
       (kind==="records"?"records":"subjects")+(kind==="ratio"?" (numerator)":"")+'</p>';
    h+='<p>counts: <code>'+esc(kind)+'</code><br>population (ADSL): <code>'+esc(def[2]||"every subject")+
       '</code><br>records ('+esc(def[0])+'): <code>'+esc(def[1]||"every record")+'</code></p>';
    h+='<p><code>sub trace OUT '+esc(id)+(records?' --records':'')+'</code></p>';
    h+='<h4>Subjects (<span id="trace-subjects">'+subjects.length+'</span>)</h4><ol id="subject-list">'+
       subjects.map(function(s){return "<li>"+esc(s)+"</li>";}).join("")+'</ol>';
    show(h+'<h4>Records</h4><div id="records">loading…</div>');
    var ds=sig.d, pos=records?records:undelta(sig.s);
    if(!INDEX.datasets[ds]){document.getElementById("records").textContent="";return;}
    return recordsTable(ds,pos,500).then(function(h2){
      var box=document.getElementById("records");box.innerHTML=h2;
      var b=document.getElementById("all");
      if(b){b.onclick=function(){recordsTable(ds,pos,pos.length).then(function(h3){box.innerHTML=h3;});};}
    });
  }).catch(function(e){show("<p>"+esc(e.message)+"</p>");});
}
document.addEventListener("click",function(ev){
  var a=ev.target.closest?ev.target.closest("a.num"):null;
  if(!a){return;}
  ev.preventDefault();
  document.querySelectorAll("a.num.on").forEach(function(x){x.classList.remove("on");});
  a.classList.add("on");
  open(a.getAttribute("data-i"));
});
function bySubject(s){
  var files=Object.keys(INDEX.outputs);
  return Promise.all(files.map(function(k){return load(INDEX.outputs[k]);})).then(function(){
    var i=S.subjects.indexOf(s), found=[];
    files.forEach(function(out){
      var o=S.outputs[out];
      var hit=o.sigs.map(function(sig){return undelta(sig.s).indexOf(i)>=0;});
      Object.keys(o.ids).forEach(function(id){var e=o.ids[id];
        if(hit[e[0]]&&(e[1]==="subjects"||e[1]==="records")){found.push([id,e[2]]);}});
    });
    show('<h3>'+esc(s)+'</h3><p id="subject-hits">'+found.length+' numbers count this subject</p><ul>'+
      found.map(function(f){return '<li><a class="num" href="#'+esc(f[0])+'" data-i="'+esc(f[0])+'">'+esc(f[0])+
      '</a> = '+esc(f[1])+'</li>';}).join("")+'</ul>');
  });
}
var q=document.getElementById("q"), timer=null;
function filter(){
  var t=q.value.trim().toLowerCase();
  document.querySelectorAll("section.out").forEach(function(sec){
    if(!t){sec.classList.remove("hidden");sec.querySelectorAll("tr").forEach(function(r){r.classList.remove("hit");});return;}
    var head=sec.querySelector("h2").textContent.toLowerCase().indexOf(t)>=0;
    var any=false;
    sec.querySelectorAll("table.ard tbody tr").forEach(function(r){
      var m=r.firstChild.textContent.toLowerCase().indexOf(t)>=0;r.classList.toggle("hit",m);any=any||m;});
    sec.classList.toggle("hidden",!(head||any));
  });
  if(t){load("subjects.js").then(function(){
    var s=S.subjects.filter(function(x){return x.toLowerCase()===t;})[0];
    if(s){bySubject(s);}
  });}
}
q.addEventListener("input",function(){clearTimeout(timer);timer=setTimeout(filter,250);});
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<link rel="icon" href="data:,">
<title>@TITLE@</title><style>@CSS@</style></head>
<body>
<header><h1>@TITLE@</h1>@NOTICE@
<input id="q" type="search" placeholder="찾기: 표 번호·제목, PT·수준, 대상자 번호(USUBJID)" autocomplete="off">
<span class="note">숫자를 누르면 그 숫자에 포함된 대상자와 ADaM 기록이 오른쪽에 나온다 (sub trace).</span></header>
<div id="panel"><p>숫자를 누르면 그 숫자를 이루는 대상자(USUBJID)와 ADaM 기록이 여기에 나온다.</p></div>
<main><nav><ul>@NAV@</ul></nav>
@SECTIONS@
</main>
<script id="sub-index" type="application/json">@INDEX@</script>
<script>@JS@</script>
</body></html>
"""
