"""The proposed label change (사용상의 주의사항 변경(안)): the adverse-reactions paragraph in MFDS wording
and the comparison table of the current and proposed text (현행/변경(안) 대비표), from the ARD.

The paragraph follows the fixed pattern MFDS writes re-examination results into Korean labels with
(domain.md section 2): the incidence of AEs regardless of causality, of ADRs, serious AEs and
ADRs, unexpected AEs and ADRs, each as x.xx%(n/N명, k건); the ADR sentences name their PTs in
descending frequency; a last part names, by SOC, the unexpected ADRs this re-examination adds to
the label. Every number is read from the ARD rows of the summary sentences (output T-13: the
overview's incidence rows and the SOC/PT tables' PT rows), so the paragraph, the comparison table,
the summary sentences and the tables cannot disagree. Term names are Korean where the study's
table of Korean names has them (terms_ko), English otherwise.

The comparison table (T-LABEL-01) puts the current adverse-reactions text (the sponsor's
`report/current_label.md`) on the left and the proposed text on the right: the current text is
kept ("현행과 같음") and the re-examination paragraph is added (<신설>), one row per sentence so a
long row never outgrows a page. Its ARD rows are the quoted T-13 rows under its own output id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from . import fmt
from . import glossary as ko
from .ard import ard_to_frame, ard_value
from .table import TableResult

OUTPUT_ID = "T-LABEL-01"
SUMMARY_ID = "T-13"
SUBSET_GROUP = "SUBSET"
PT_VAR = "AEDECOD"
# The subsets of the label paragraph and whether their sentence names the PTs (the ADR sentences do;
# the AE sentences give the incidence only, as Korean labels write them).
PARAGRAPH = (("AE", False), ("ADR", True), ("SAE", False), ("SADR", True), ("UAE", False), ("UADR", True))
NEW_TERMS_KEY = "UADR"

_SENTENCE = {
    "AE": f"{ko.AE}의 발현율은 인과관계와 상관없이 {{inc}}로 보고되었다.",
    "ADR": f"이 중 이 약과 인과관계를 배제할 수 없는 {ko.ADR} 발현율은 {{inc}}로 보고되었다.",
    "SAE": f"{ko.SAE} 발현율은 인과관계와 상관없이 {{inc}}로 보고되었다.",
    "SADR": f"이 중 이 약과 인과관계를 배제할 수 없는 {ko.SADR} 발현율은 {{inc}}로 보고되었다.",
    "UAE": f"{ko.UAE} 발현율은 인과관계와 상관없이 {{inc}}로 보고되었다.",
    "UADR": f"이 중 이 약과 인과관계를 배제할 수 없는 {ko.UADR} 발현율은 {{inc}}로 보고되었다.",
}
_NONE = {
    "AE": f"{ko.AE}는 보고되지 않았다.", "ADR": f"이 약과 인과관계를 배제할 수 없는 {ko.ADR}은 보고되지 않았다.",
    "SAE": f"{ko.SAE}는 보고되지 않았다.", "SADR": f"{ko.SADR}은 보고되지 않았다.",
    "UAE": f"{ko.UAE}는 보고되지 않았다.", "UADR": f"{ko.UADR}은 보고되지 않았다.",
}


@dataclass
class LabelChange:
    """The proposed paragraph (sentences), the new unexpected ADRs by SOC, and the comparison table."""

    sentences: list[str]
    new_terms: list[tuple[str, list[str]]]  # (SOC, PTs) in Korean where known
    table: TableResult
    quoted: pd.DataFrame = field(repr=False, default=None)

    @property
    def new_terms_text(self) -> list[str]:
        return [f"{soc}: {', '.join(pts)}" for soc, pts in self.new_terms]

    @property
    def paragraph(self) -> list[str]:
        """The proposed text as paragraphs: the sentences, then the new terms' lead-in and lines."""
        out = list(self.sentences)
        if self.new_terms:
            out.append(NEW_TERMS_LEAD)
            out.extend(f"- {line}" for line in self.new_terms_text)
        return out


NEW_TERMS_LEAD = (f"이번 재심사 결과 새로 확인되어 허가사항에 추가하는 {ko.UADR}을 {ko.SOC}별로 나열하면 다음과 같다.")


def _pt_rows(ard: pd.DataFrame, key: str) -> list[tuple[str, str, int, int, int]]:
    """(PT, SOC, n, N, events) of the summary's PT rows for a subset, most frequent first."""
    rows = ard[ard["output_id"].eq(SUMMARY_ID) & ard["group1"].eq(SUBSET_GROUP) & ard["group1_level"].eq(key)
               & ard["variable"].eq(PT_VAR)]
    out = []
    for (soc, pt), group in rows.groupby(["group2_level", "variable_level"], sort=False):
        stats = dict(zip(group["stat_name"], group["stat"]))
        out.append((pt, soc, int(stats["n"]), int(stats["N"]), int(stats["events"])))
    out.sort(key=lambda x: (-x[2], str(x[0]).casefold(), str(x[0])))
    return out


def label_change(ard: pd.DataFrame, *, years: int | None, digits: int, current: str | None,
                 term: Callable[[str], str] = str, current_missing: str = "") -> LabelChange:
    """The proposed paragraph and the comparison table from the report's ARD.

    `years`: the re-examination period; `digits`: decimals of the percentages (the summary's);
    `current`: the current adverse-reactions text (None when the sponsor gave none: the
    placeholder `current_missing` stands in); `term`: the Korean name of a MedDRA term.
    """
    summary = ard[ard["output_id"].eq(SUMMARY_ID)]
    quoted, sentences = [], []
    N_all = None
    for key, with_pts in PARAGRAPH:
        rows = summary[summary["variable"].eq(key) & summary["group1"].isna()]
        if rows.empty:
            continue
        quoted.append(rows)
        n, N, events = (int(ard_value(rows, s, variable=key)) for s in ("n", "N", "events"))
        N_all = N if N_all is None else N_all
        text = _NONE[key] if n == 0 else _SENTENCE[key].format(inc=fmt.label_incidence(n, N, events, digits))
        if key == "AE":
            period = f"{years}년 동안 " if years else ""
            text = f"국내에서 재심사를 위하여 {period}{fmt.fmt_count(N)}명을 대상으로 실시한 사용성적조사 결과 " + text
        if with_pts and n > 0:
            pts = _pt_rows(ard, key)
            if pts:
                keep = summary["group1_level"].eq(key) & summary["variable"].eq(PT_VAR)
                quoted.append(summary[keep])
                listed = ", ".join(f"{term(pt)} {fmt.label_incidence(pn, pN, pev, digits)}"
                                   for pt, _soc, pn, pN, pev in pts)
                text = text[:-len("로 보고되었다.")] + f"로 보고되었으며, 빈도순으로 {listed}이었다."
        sentences.append(text)
    new_terms: list[tuple[str, list[str]]] = []
    by_soc: dict[str, list[str]] = {}
    for pt, soc, *_ in _pt_rows(ard, NEW_TERMS_KEY):
        by_soc.setdefault(soc, []).append(term(pt))
    for soc in sorted(by_soc, key=lambda s: (-len(by_soc[s]), str(s))):
        new_terms.append((term(soc), by_soc[soc]))

    change = LabelChange(sentences, new_terms, None)
    proposed = change.paragraph
    rows = [{"현행": current if current else current_missing, "변경(안)": "(현행과 같음)"}]
    for i, text in enumerate(proposed):
        rows.append({"현행": "<신설>" if i == 0 else "", "변경(안)": text})
    display = pd.DataFrame(rows)
    display.attrs.update(label_columns=0, col_widths_mm=[90, 157], can_split=True)
    quoted_ard = ard_to_frame(*quoted).copy() if quoted else ard_to_frame()
    quoted_ard["output_id"] = OUTPUT_ID
    notes = [f"변경(안)의 수치: 안전성 평가대상자 {fmt.fmt_count(N_all) if N_all else ''}명, 백분율은 소수점 {digits}자리"
             "(반올림). 용어는 MedDRA 기본 용어(PT)와 기관계 대분류(SOC)의 한글명이다.",
             "<신설>: 현행 허가사항에 없는 내용을 새로 추가함. (현행과 같음): 현행 문안을 바꾸지 않음."]
    change.table = TableResult(OUTPUT_ID, "사용상의 주의사항 현행/변경(안) 대비표(이상반응 항)", quoted_ard, display,
                               notes, landscape=True, section="label")
    change.quoted = quoted_ard
    return change
