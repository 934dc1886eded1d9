"""Best overall response and the response rate from any ADRS-like BDS dataset (`sub tlf response`).

One parameter of a BDS dataset (default PARAMCD BOR of ADRS) holds each subject's best overall
response in AVALC. The table shows, per column of `by`:

- the distribution of AVALC: n (%) of the population's subjects (ADSL, `pop` = 'Y'); subjects
  with no record of the parameter are counted in a "결측" row, so each column adds up to 100%;
- the response rate: subjects whose AVALC is one of `responders`, over the same N (a subject
  without a record counts as a non-responder), with the exact (Clopper-Pearson) interval;
- with `compare_to`, the p-value of each column's response rate against the reference column
  (`compare.incidence_comparisons`: Fisher's exact test or chi-square).

The responder definition is an argument (`--responders CR,PR`): what counts as a response
depends on the criteria (RECIST: CR, PR; IMWG: sCR, CR, VGPR, PR), and this module assumes none.
Levels come in the order given, else the usual best-to-worst order of the response codes it
knows, else sorted. Every number shown is an ARD row.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..errors import Problem, SubError
from . import fmt
from ._frames import flagged, is_missing, require_columns
from .ard import ArdLookup, ard_categorical, ard_incidence, ard_to_frame
from .compare import footnote as comparison_footnote
from .compare import incidence_comparisons, p_column, p_text
from .table import TableResult

ID = "USUBJID"
RESPONDER = "RESPONDER"
MISSING_LEVEL = "Missing"
# Best-to-worst order of the response codes of IMWG (myeloma) and RECIST 1.1 (solid tumours).
KNOWN_ORDER = ["SCR", "CR", "VGPR", "PR", "MR", "SD", "NON-CR/NON-PD", "PD", "NE", "NA"]
RESPONSE_KO = {
    "SCR": "엄격한 완전반응(sCR)", "CR": "완전반응(CR)", "VGPR": "매우 좋은 부분반응(VGPR)", "PR": "부분반응(PR)",
    "MR": "최소반응(MR)", "SD": "안정병변(SD)", "NON-CR/NON-PD": "비완전반응/비진행(non-CR/non-PD)",
    "PD": "진행병변(PD)", "NE": "평가 불가(NE)",
}


def response_order(values: Sequence, given: Sequence | None = None) -> list:
    """Levels in table order: `given` first (then any other value present), else the known
    best-to-worst order (then unknown values, sorted)."""
    present = [v for v in dict.fromkeys(values) if not is_missing(v)]
    if given:
        return list(given) + sorted(v for v in present if v not in set(given))
    rank = {code: i for i, code in enumerate(KNOWN_ORDER)}
    known = sorted((v for v in present if str(v).upper() in rank), key=lambda v: rank[str(v).upper()])
    return known + sorted(v for v in present if str(v).upper() not in rank)


def level_label(value) -> str:
    if value == MISSING_LEVEL:
        return "결측(기록 없음)"
    return RESPONSE_KO.get(str(value).upper(), str(value))


def _records(bds: pd.DataFrame, adsl: pd.DataFrame, *, param: str, by: str | None, record_flag: str | None,
             dataset: str) -> pd.DataFrame:
    require_columns(bds, [ID, "PARAMCD", "AVALC", record_flag], dataset)
    records = bds[bds["PARAMCD"].eq(param)]
    if records.empty:
        present = ", ".join(sorted(map(str, bds["PARAMCD"].dropna().unique()))[:20])
        raise SubError(Problem(dataset, None, "PARAMCD", param, f"no record of this parameter (present: {present})"))
    if record_flag:
        records = records[flagged(records[record_flag])]
    if by is not None and by not in records.columns:
        require_columns(adsl, [ID, by], "ADSL")
        records = records.merge(adsl[[ID, by]].drop_duplicates(ID), on=ID, how="left")
    twice = records[ID][records[ID].duplicated()]
    if len(twice):
        raise SubError([Problem(dataset, None, ID, str(s), f"more than one {param} record for this subject")
                        for s in twice.unique()[:5]],
                       f"{dataset} has {twice.nunique()} subject(s) with more than one {param} record; "
                       "choose one record per subject with --subject-flag (e.g. ANL01FL)")
    return records


def response_table(adsl: pd.DataFrame, bds: pd.DataFrame, *, responders: Sequence[str], param: str = "BOR",
                   by: str | None = None, denom_by: str | None = None, pop: str | None = "EFFFL",
                   record_flag: str | None = None, total: str | None = None, compare_to=None,
                   test: str = "fisher", ci_level: float = 0.95, pct_digits: int = 1, order: Sequence | None = None,
                   dataset: str = "ADRS", output_id: str = "T-RESP-01") -> TableResult:
    """Best overall response (AVALC of PARAMCD `param`) and the response rate with its exact CI, per column."""
    from .tables_safety import _comparison_levels, _groups, _grouping, population_name

    if not responders:
        raise SubError(Problem("sub tlf", None, "--responders", None,
                               "give the responses that count as a response (e.g. CR,PR)"))
    by_data = by or denom_by  # the records' grouping; from ADSL when the dataset lacks it
    g = _grouping(adsl, pop, by_data, denom_by or by, None, total)
    records = _records(bds, adsl, param=param, by=by_data, record_flag=record_flag, dataset=dataset)
    levels = response_order(records["AVALC"], order)
    unknown = [r for r in responders if r not in set(levels)]
    responders = list(responders)
    common = dict(adsl=adsl, denom_by=g.denom_by, by_levels=g.by_levels, total=g.total, id_var=ID,
                  output_id=output_id)
    ard_bor = ard_categorical(records, "AVALC", by_data, pop, levels=levels, missing_label=MISSING_LEVEL, **common)
    ard_bor["variable"] = param
    work = records.copy()
    work["__RESP__"] = work["AVALC"].isin(responders).map({True: "Y", False: "N"})
    common.pop("adsl")
    ard_rate = ard_incidence(work, adsl, by_data, flag="__RESP__", subject_flag=None, pop_flag=pop,
                             ci_level=ci_level, variable=RESPONDER, **common)
    ard = ard_to_frame(ard_bor, ard_rate)
    groups = _groups(adsl, pop, g, ID)
    reference, compared = _comparison_levels(g, groups, compare_to)
    if compared:
        ard = ard_to_frame(ard, incidence_comparisons(ard_rate, reference, test=test, levels=compared,
                                                      output_id=output_id))
    look = ArdLookup(ard)

    def header(level, N) -> str:
        name = "전체" if level is None or level == g.total else str(level)
        return f"{name}\n(N={fmt.fmt_count(N)})"

    shown = list(dict.fromkeys(ard_bor["variable_level"]))
    rows, indent, bold = [], [], []
    for level in shown:
        rows.append([level_label(level)]
                    + [fmt.fmt_n_pct(look("n", param, level, gl), N, pct_digits) for gl, N in groups]
                    + [""] * len(compared))
        indent.append(1)
    members = "+".join(responders)
    level_pct = fmt.fmt_num(ci_level * 100, 0)
    bold.append(len(rows))
    rows.append([f"반응률 ({members})"]
                + [fmt.fmt_n_pct(look("n", RESPONDER, "Y", gl), N, pct_digits) for gl, N in groups]
                + [p_text(look("p.value", RESPONDER, "Y", gl)) for gl in compared])
    indent.append(0)
    rows.append([f"  {level_pct}% 신뢰구간(%)"]
                + [fmt.fmt_ci_pct(look("conf.low", RESPONDER, "Y", gl), look("conf.high", RESPONDER, "Y", gl),
                                  pct_digits) for gl, _ in groups]
                + [""] * len(compared))
    indent.append(1)
    columns = ["최량 전체 반응"] + [header(gl, N) for gl, N in groups] + [p_column(gl, reference) for gl in compared]
    display = pd.DataFrame(rows, columns=columns)
    display.attrs.update(indent=indent, bold_rows=bold, label_columns=1)

    name = param
    described = f"PARAMCD='{param}'"
    if "PARAM" in records.columns and records["PARAM"].notna().any():
        name = str(records["PARAM"].dropna().iloc[0])
        described += f"({name})"
    N_text = ", ".join(f"{header(gl, N).replace(chr(10), ' ')}" for gl, N in groups)
    notes = [f"대상: {population_name(pop)}" + (f"({pop}='Y')" if pop else "") + f", {N_text}. "
             "백분율의 분모는 열 머리의 N이다.",
             f"최량 전체 반응: {dataset}의 {described} 기록의 AVALC"
             + (f", {record_flag}='Y'인 기록" if record_flag else "")
             + ". 기록이 없는 대상자는 '결측(기록 없음)'으로 센다.",
             f"반응: AVALC가 {', '.join(responders)} 중 하나인 대상자; 반응률의 분모는 열 머리의 N(기록이 없는 "
             "대상자는 비반응으로 센다).",
             f"신뢰구간: Clopper-Pearson 정확 {level_pct}% 신뢰구간. 백분율은 소수점 {pct_digits}자리 반올림."]
    if unknown:
        notes.append(f"반응으로 지정했으나 자료에 없는 값: {', '.join(unknown)}.")
    if compared:
        notes.append(comparison_footnote(reference, test, "반응률"))
    return TableResult(output_id, f"최량 전체 반응 및 반응률: {name}", ard, display, notes,
                       landscape=len(groups) + len(compared) > 4, section="efficacy")

