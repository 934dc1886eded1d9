"""Time to event from any ADTTE-like BDS dataset: Kaplan-Meier estimates by column (`sub tlf tte`).

One parameter (PARAMCD) of the dataset holds, per subject, the time AVAL from the origin to the
event or to censoring and CNSR (ADaM convention: 0 the event happened, 1 or more censored). Per
column of `by` the table shows the subjects analysed, events and censorings, and the
Kaplan-Meier median and quartiles, the median with its confidence interval. Estimates come from
statsmodels' `SurvfuncRight`: a quantile is the first time the estimated survival falls below
1 - p (SAS PROC LIFETEST's definition), its interval the Brookmeyer-Crowley interval on the
log(-log) scale (statsmodels' `cloglog`, the LIFETEST default); "NE" when the curve or a limit
does not get there.

With `compare_to`, each other column is compared with the reference column: the log-rank test
(statsmodels `survdiff`) and the hazard ratio from a Cox model with the column as the only
covariate (statsmodels `PHReg`, Breslow ties as in SAS, Wald interval). Every number is an ARD
row; a figure draws the Kaplan-Meier curves with censoring marks.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import Problem, SubError
from . import fmt
from ._frames import flagged, is_missing, require_columns
from .ard import _TOTAL, ArdLookup, _population, _restrict, ard_to_frame, plain_value, rows_frame, stat_row
from .compare import COMPARISON_VARIABLE, fmt_level
from .table import FigureResult, TableResult

ID = "USUBJID"
CONTEXT = "survival"
LOGRANK = "Log-rank test"
COX = "Cox proportional hazards model (Breslow ties), Wald interval"
KM_CI = "Brookmeyer-Crowley, log(-log) transformation"


def kaplan_meier(time: Sequence[float], event: Sequence[bool], ci_level: float = 0.95) -> dict:
    """Kaplan-Meier summary of one group: n, events, censored, median (with CI), p25, p75, and the curve."""
    from statsmodels.duration.survfunc import SurvfuncRight

    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    out = {"n": int(t.size), "events": int(e.sum()), "censored": int((~e).sum()), "median": None,
           "median.conf.low": None, "median.conf.high": None, "p25": None, "p75": None, "conf.level": ci_level}
    if t.size == 0:
        return {**out, "curve": None}
    sf = SurvfuncRight(t, e.astype(int))

    def value(x) -> float | None:
        x = float(x)
        return None if math.isnan(x) or math.isinf(x) else x

    low, high = sf.quantile_ci(0.5, alpha=1 - ci_level, method="cloglog")
    out.update({"median": value(sf.quantile(0.5)), "median.conf.low": value(low), "median.conf.high": value(high),
                "p25": value(sf.quantile(0.25)), "p75": value(sf.quantile(0.75))})
    return {**out, "curve": (np.asarray(sf.surv_times, dtype=float), np.asarray(sf.surv_prob, dtype=float))}


def compare_two(time: np.ndarray, event: np.ndarray, is_level: np.ndarray, ci_level: float = 0.95) -> dict:
    """Log-rank p-value and Cox hazard ratio (level vs reference) on the records of two columns."""
    from scipy import stats as sps
    from statsmodels.duration.hazard_regression import PHReg
    from statsmodels.duration.survfunc import survdiff

    out = {"p.value": None, "hr": None, "hr.conf.low": None, "hr.conf.high": None, "hr.p.value": None}
    if event.sum() == 0 or is_level.all() or not is_level.any():
        return out
    _, p = survdiff(time, event.astype(int), is_level.astype(int))
    out["p.value"] = None if math.isnan(float(p)) else float(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = PHReg(time, is_level.astype(float).reshape(-1, 1), status=event.astype(int), ties="breslow").fit()
        except (np.linalg.LinAlgError, ValueError):
            return out
    b, se = float(fit.params[0]), float(fit.bse[0])
    if not (math.isfinite(b) and math.isfinite(se)) or se == 0 or se > 50:  # flat likelihood: no events in one column
        return out
    z = float(sps.norm.ppf(0.5 + ci_level / 2))
    out.update({"hr": math.exp(b), "hr.conf.low": math.exp(b - z * se), "hr.conf.high": math.exp(b + z * se),
                "hr.p.value": float(2 * sps.norm.sf(abs(b / se)))})
    return out


def _records(adtte: pd.DataFrame, adsl: pd.DataFrame, *, param: str | None, by: str | None,
             record_flag: str | None, dataset: str) -> tuple[pd.DataFrame, str]:
    require_columns(adtte, [ID, "PARAMCD", "AVAL", "CNSR", record_flag], dataset)
    params = sorted(map(str, adtte["PARAMCD"].dropna().unique()))
    if param is None:
        if len(params) != 1:
            raise SubError(Problem(dataset, None, "PARAMCD", None,
                                   f"give --param: the dataset holds {len(params)} parameters "
                                   f"({', '.join(params[:20])})"))
        param = params[0]
    records = adtte[adtte["PARAMCD"].eq(param)]
    if records.empty:
        raise SubError(Problem(dataset, None, "PARAMCD", param,
                               f"no record of this parameter (present: {', '.join(params[:20])})"))
    if record_flag:
        records = records[flagged(records[record_flag])]
    if by is not None and by not in records.columns:
        require_columns(adsl, [ID, by], "ADSL")
        records = records.merge(adsl[[ID, by]].drop_duplicates(ID), on=ID, how="left")
    problems = []
    twice = records[ID][records[ID].duplicated()]
    for s in twice.unique()[:5]:
        problems.append(Problem(dataset, None, ID, str(s), f"more than one {param} record for this subject"))
    aval = pd.to_numeric(records["AVAL"], errors="coerce")
    cnsr = pd.to_numeric(records["CNSR"], errors="coerce")
    for column, bad, why in (("AVAL", aval.isna() | (aval < 0), "time is missing or negative"),
                             ("CNSR", cnsr.isna() | (cnsr < 0), "censoring flag is missing or negative")):
        for _, row in records[bad].head(5).iterrows():
            problems.append(Problem(dataset, None, column, None if is_missing(row[column]) else str(row[column]),
                                    f"{why} (subject {row[ID]})"))
    if problems:
        raise SubError(problems, f"{dataset} {param}: {len(problems)} record problem(s)")
    return records, param


def _time_unit(records: pd.DataFrame, unit: str | None) -> str | None:
    if unit:
        return unit
    if "AVALU" in records.columns:
        units = [u for u in records["AVALU"].dropna().unique() if str(u).strip()]
        if len(units) == 1:
            return str(units[0])
    return None


def km_table(adsl: pd.DataFrame, adtte: pd.DataFrame, *, param: str | None = None, by: str | None = None,
             denom_by: str | None = None, pop: str | None = "SAFFL", record_flag: str | None = None,
             total: str | None = None, compare_to=None, ci_level: float = 0.95, time_unit: str | None = None,
             dataset: str = "ADTTE", output_id: str = "T-TTE-01",
             figure_id: str = "F-TTE-01") -> list[TableResult | FigureResult]:
    """Kaplan-Meier table (and figure) of one time-to-event parameter, a column per level of `by`."""
    from .tables_safety import _comparison_levels, _groups, _grouping, population_name

    by_data = by or denom_by
    g = _grouping(adsl, pop, by_data, denom_by or by, None, total)
    records, param = _records(adtte, adsl, param=param, by=by_data, record_flag=record_flag, dataset=dataset)
    population = _population(adsl, pop, g.denom_by, id_var=ID, by_levels=g.by_levels, total=g.total)
    records = _restrict(records, population, ID, pop)
    groups = _groups(adsl, pop, g, ID)
    reference, compared = _comparison_levels(g, groups, compare_to)

    rows, curves, data_of = [], {}, {}
    for group, part in population.of(records, ID, by_data, dataset):
        level = g.total if group.level is _TOTAL else group.level
        part = part[part[ID].isin(group.subjects)]
        time = pd.to_numeric(part["AVAL"]).to_numpy(dtype=float)
        event = pd.to_numeric(part["CNSR"]).to_numpy(dtype=float) == 0
        data_of[level] = (time, event)
        summary = kaplan_meier(time, event, ci_level)
        curves[level] = summary.pop("curve")
        summary = {"N": len(group.subjects), **summary, "N_miss": len(group.subjects) - summary["n"]}
        for name, value in summary.items():
            rows.append(stat_row(output_id, param, None, name, value, analysis_set=pop,
                                 group1=by_data if group.level is not None else None, group1_level=level,
                                 context=CONTEXT, stat_label=_LABELS.get(name)))
    for level in compared:
        (t1, e1), (t0, e0) = data_of[level], data_of[reference]
        result = compare_two(np.concatenate([t1, t0]), np.concatenate([e1, e0]),
                             np.concatenate([np.ones(t1.size, bool), np.zeros(t0.size, bool)]), ci_level)
        for name, value in result.items():
            rows.append(stat_row(output_id, param, None, name, value, analysis_set=pop, group1=by_data,
                                 group1_level=level, context="comparison",
                                 stat_label=f"{_LABELS[name]} vs {fmt_level(reference)}"))
    if compared:
        meta = dict(analysis_set=pop, group1=by_data, group1_level=reference, context="comparison")
        rows += [stat_row(output_id, COMPARISON_VARIABLE, None, "reference", plain_value(reference),
                          stat_label="Reference level", **meta),
                 stat_row(output_id, COMPARISON_VARIABLE, None, "method", LOGRANK, stat_label="Test", **meta),
                 stat_row(output_id, COMPARISON_VARIABLE, None, "hr.method", COX, stat_label="Hazard ratio", **meta)]
    ard = ard_to_frame(rows_frame(rows))
    look = ArdLookup(ard)

    digits = 0 if np.all(np.mod(pd.to_numeric(records["AVAL"]).to_numpy(dtype=float), 1) == 0) else 1
    unit = _time_unit(records, time_unit)
    level_pct = fmt.fmt_num(ci_level * 100, 0)

    def est(x) -> str:
        return fmt.fmt_num(x, digits, missing="NE")

    def stat(name, level):
        return look(name, param, None, level)

    display_rows, bold = [], []
    display_rows.append(["분석 대상자 수"] + [fmt.fmt_count(stat("n", lv)) for lv, _ in groups])
    display_rows.append(["  사건 발생"] + [fmt.fmt_n_pct(stat("events", lv), stat("n", lv)) for lv, _ in groups])
    display_rows.append(["  중도 절단"] + [fmt.fmt_n_pct(stat("censored", lv), stat("n", lv)) for lv, _ in groups])
    bold.append(len(display_rows))
    display_rows.append([f"중앙값 ({level_pct}% CI)"]
                        + [f"{est(stat('median', lv))} ({est(stat('median.conf.low', lv))}, "
                           f"{est(stat('median.conf.high', lv))})" for lv, _ in groups])
    display_rows.append(["  25% 분위수"] + [est(stat("p25", lv)) for lv, _ in groups])
    display_rows.append(["  75% 분위수"] + [est(stat("p75", lv)) for lv, _ in groups])
    if compared:
        def vs(name, lv, text):
            if lv == reference:
                return "참조"
            if lv not in compared:
                return ""
            return text(lv)

        display_rows.append([f"Log-rank p-value (vs {fmt_level(reference)})"]
                            + [vs("p.value", lv, lambda x: fmt.fmt_p(stat("p.value", x), missing="-"))
                               for lv, _ in groups])
        display_rows.append([f"위험비 ({level_pct}% CI) (vs {fmt_level(reference)})"]
                            + [vs("hr", lv, lambda x: fmt.fmt_or_ci(stat("hr", x), stat("hr.conf.low", x),
                                                                  stat("hr.conf.high", x), 2,
                                                                  estimable=stat("hr", x) is not None))
                               for lv, _ in groups])
    headers = [f"{'전체' if lv is None or lv == g.total else lv}\n(N={fmt.fmt_count(N)})" for lv, N in groups]
    display = pd.DataFrame(display_rows, columns=["구분"] + headers)
    display.attrs.update(indent=[1 if str(r[0]).startswith("  ") else 0 for r in display_rows], bold_rows=bold,
                         label_columns=1)
    display["구분"] = [str(r[0]).strip() for r in display_rows]

    name = str(records["PARAM"].dropna().iloc[0]) if "PARAM" in records.columns and records["PARAM"].notna().any() \
        else param
    missing_any = any(stat("N_miss", lv) for lv, _ in groups)
    time_text = f"시간: AVAL({unit or '단위는 자료에 기재되지 않음'}); 사건: CNSR=0, 중도 절단: CNSR≥1."
    notes = [f"대상: {population_name(pop)}" + (f"({pop}='Y')" if pop else "")
             + f"; 분석 대상자: 그 중 {dataset}에 PARAMCD='{param}' 기록이 있는 대상자"
             + (f"({record_flag}='Y')" if record_flag else "") + "."
             + (" 기록이 없는 대상자는 분석에서 제외(ARD의 N_miss)." if missing_any else ""),
             f"{time_text} 백분율의 분모는 분석 대상자 수.",
             f"중앙값과 분위수: Kaplan-Meier 추정(생존 추정치가 처음으로 1-p 미만이 되는 시간); 신뢰구간: {KM_CI}. "
             "NE: 추정 불가(곡선이 해당 수준까지 내려가지 않음)."]
    if compared:
        notes.append(f"Log-rank p-value: 각 열과 참조군({fmt_level(reference)})의 비교(양측). 위험비: 열 변수만 "
                     "포함한 Cox 비례위험 모형(Breslow 동점 처리), Wald 신뢰구간; 1보다 크면 참조군보다 사건 위험이 높음. "
                     "p-value는 소수점 셋째 자리까지 반올림, 0.001 미만은 <0.001.")
    table = TableResult(output_id, f"Kaplan-Meier 분석: {name}", ard, display, notes,
                        landscape=len(groups) > 4, section="efficacy")
    if not any(curve is not None for curve in curves.values()):  # no record to draw: the table only
        return [table]
    png = _km_png(curves, data_of, groups, g.total, unit)
    figure = FigureResult(figure_id, f"Kaplan-Meier 곡선: {name}", png, ard.copy(),
                          [f"+: 중도 절단. {time_text} 범례의 N: 표 {output_id}의 열 머리와 같다."], section="efficacy")
    figure.ard["output_id"] = figure_id
    return [table, figure]


_LABELS = {
    "N": "N", "n": "Subjects analysed", "events": "Events", "censored": "Censored", "N_miss": "N without a record",
    "median": "KM median", "median.conf.low": "KM median CI lower bound", "median.conf.high": "KM median CI upper bound",
    "p25": "KM 25th percentile", "p75": "KM 75th percentile", "conf.level": "CI Confidence Level",
    "p.value": "Log-rank p-value", "hr": "Hazard ratio", "hr.conf.low": "HR CI lower bound",
    "hr.conf.high": "HR CI upper bound", "hr.p.value": "Cox Wald p-value",
}


UNIT_KO = {"DAY": "일", "DAYS": "일", "WEEK": "주", "WEEKS": "주", "MONTH": "개월", "MONTHS": "개월",
           "YEAR": "년", "YEARS": "년"}  # the time axis in Korean for the usual AVALU values


def _km_png(curves: dict, data: dict, groups: list, total, unit: str | None) -> bytes:
    """The curves at the page's text width (labels at their point size, as the other figures); the
    legend names the columns as the table's header does; the caption carries the parameter's name."""
    import matplotlib

    from .docx import figure_png
    from .fonts import korean_rc
    from .tables_safety import FIGURE_WIDTH_IN, _new_figure

    with matplotlib.rc_context(korean_rc()):
        fig = _new_figure(FIGURE_WIDTH_IN, 3.8)
        ax = fig.add_subplot(1, 1, 1)
        for level, N in groups:
            curve = curves.get(level)
            label = f"{'전체' if level is None or level == total else level} (N={fmt.fmt_count(N)})"
            if curve is None:
                continue
            times, surv = curve
            time, event = data[level]
            # from 0 to the last time observed (an event or a censoring), flat after the last event
            x = np.concatenate([[0.0], times, [max(float(time.max()), float(times[-1]) if times.size else 0.0)]])
            y = np.concatenate([[1.0], surv, [surv[-1] if surv.size else 1.0]])
            (line,) = ax.step(x, y, where="post", label=label, linewidth=1.2)
            censored = np.sort(time[~event])
            if censored.size:  # a mark on the curve at each censoring time
                at = np.searchsorted(x, censored, side="right") - 1
                ax.plot(censored, y[at], linestyle="none", marker="+", color=line.get_color(), markersize=6)
        ax.set_ylim(0, 1.05)
        ax.set_xlim(left=0)
        unit = UNIT_KO.get(str(unit).strip().upper(), unit) if unit else unit
        ax.set_xlabel(f"시간({unit})" if unit else "시간", fontsize=9)
        ax.set_ylabel("사건이 없을 확률(Kaplan-Meier 추정)", fontsize=9)
        ax.tick_params(labelsize=9)
        ax.legend(loc="best", fontsize=8, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        return figure_png(fig)
