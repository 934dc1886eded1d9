"""The Korean terms of the report: one glossary for every table, listing, figure and sentence.

The terms are those MFDS writes into Korean labels (the re-examination pattern of domain.md
section 2): 유해사례 for an adverse event and 약물유해반응 for an adverse drug reaction (never
the synonyms 이상사례 / 약물이상반응), 기관계 대분류 for a MedDRA System Organ Class and 기본 용어
for a Preferred Term, 투여 중 발현 for treatment-emergent. Every module that prints one of these
imports it from here, so that the report cannot use two words for one thing.
"""

from __future__ import annotations

import numbers

# --------------------------------------------------------------------------- events
AE = "유해사례"                      # adverse event
ADR = "약물유해반응"                 # adverse drug reaction: causality cannot be excluded
SERIOUS = "중대한"
UNEXPECTED = "예상하지 못한"
SAE = f"{SERIOUS} {AE}"
SADR = f"{SERIOUS} {ADR}"
UAE = f"{UNEXPECTED} {AE}"
UADR = f"{UNEXPECTED} {ADR}"
USAE = f"{UNEXPECTED} {SERIOUS} {AE}"
USADR = f"{UNEXPECTED} {SERIOUS} {ADR}"
AE_DISCONTINUATION = f"투여 중단을 초래한 {AE}"
AE_FATAL = f"사망에 이른 {AE}"

# --------------------------------------------------------------------------- timing
TREATMENT_EMERGENT = "투여 중 발현"  # onset from the first dose to the end of the window after the last

# --------------------------------------------------------------------------- MedDRA
SOC = "기관계 대분류"
PT = "기본 용어"
SOC_ABBR = f"{SOC}(SOC)"
PT_ABBR = f"{PT}(PT)"
SOC_DEFINITION = f"SOC: {SOC}(System Organ Class)"
PT_DEFINITION = f"PT: {PT}(Preferred Term)"

# --------------------------------------------------------------------------- other cells
MISSING = "결측"
TOTAL = "전체"
NOT_APPLICABLE = "해당 없음"
REFERENCE = "참조"                  # the reference level of a logistic regression factor
ODDS_RATIO = "오즈비"               # odds ratio (not 교차비)

# The synonyms that must not appear in the report (tests scan the outputs for them).
AVOIDED = ("이상사례", "약물이상반응", "기본 단어", "기관별 대분류", "치료 후 발생", "교차비")


# --------------------------------------------------------------------------- one style for levels and zeros

YES_NO = {"Y": "있음", "N": "없음"}  # every Y/N level of every table (never 예/아니오 in one, 있음/없음 in the next)
ZERO = "0"                          # a zero count in every table: "0", never "0 (0.0%)" or "0 (0.0%) [0]"


def symbols(text: str) -> str:
    """">=65" -> "≥65", "<=" -> "≤": one way to write a bound in every table and sentence."""
    return str(text).replace(">=", "≥").replace("<=", "≤")


# --------------------------------------------------------------------------- analysis sets and populations

POPULATIONS = {"ENRLFL": "등록 대상자", "SAFFL": "안전성 평가대상자", "EFFFL": "유효성 평가대상자",
               "ITTFL": "ITT 대상자(Intent-To-Treat)", "FASFL": "최대 분석 대상자(FAS)",
               "PPROTFL": "계획서 순응 대상자(PP)", "RANDFL": "무작위배정 대상자"}

# Reasons of exclusion, outcomes, actions, seriousness criteria, response categories: the CDISC values
# of the ADaM and the Korean a reader sees.
SAFETY_EXCLUSION = {
    "NO DOSE": "이 약 미투여", "NO SAFETY FOLLOW-UP": "투여 후 안전성 추적 관찰 없음",
    "OUTSIDE CONTRACT PERIOD": "계약 기간 외 등록", "DUPLICATE ENROLMENT": "중복 등록",
    "NO VALID CONSENT": "유효한 동의 없음",
}
EFFICACY_EXCLUSION = {
    "NOT IN SAFETY SET": "안전성 평가대상자 아님", "NO EVALUABLE RESPONSE": "평가 가능한 반응 평가 없음",
    "OFF-LABEL USE": "허가사항 외 사용",
}
HISTORY_CATEGORY = {
    "PRIMARY DIAGNOSIS": "원발 진단(다발골수종)", "GENERAL MEDICAL HISTORY": "일반 병력",
    "RENAL IMPAIRMENT": "신장애", "HEPATIC IMPAIRMENT": "간장애", "ALLERGY": "알레르기",
}
OUTCOME = {
    "RECOVERED/RESOLVED": "회복", "RECOVERING/RESOLVING": "회복 중", "NOT RECOVERED/NOT RESOLVED": "회복되지 않음",
    "RECOVERED/RESOLVED WITH SEQUELAE": "후유증을 동반한 회복", "FATAL": "사망", "UNKNOWN": "알 수 없음",
}
ACTION = {
    "DOSE NOT CHANGED": "변경 없음", "DOSE REDUCED": "감량", "DRUG INTERRUPTED": "일시 중단",
    "DRUG WITHDRAWN": "투여 중지", "NOT APPLICABLE": NOT_APPLICABLE, "UNKNOWN": "알 수 없음",
}
SERIOUS_CRITERIA = {
    "AESDTH": "사망", "AESLIFE": "생명 위협", "AESHOSP": "입원 또는 입원 기간 연장", "AESDISAB": "장애",
    "AESCONG": "선천적 기형", "AESMIE": "기타 의학적으로 중요한 상황",
}
SEVERITY = {"MILD": "경증", "MODERATE": "중등도", "SEVERE": "중증"}
RESPONSE = {
    "sCR": "엄격한 완전반응(sCR)", "CR": "완전반응(CR)", "VGPR": "매우 좋은 부분반응(VGPR)", "PR": "부분반응(PR)",
    "MR": "최소반응(MR)", "SD": "안정병변(SD)", "PD": "진행병변(PD)", "NE": "평가 불가(NE)",
}

# --------------------------------------------------------------------------- definitions in words

# What a table's footnote says instead of a flag: the words of the methods (section 2 of the report).
SERIOUS_DEFINITION = ("사망 또는 생명을 위협하는 경우, 입원 또는 입원 기간의 연장, 지속적 또는 중대한 장애나 "
                      "기능 저하, 선천적 기형, 기타 의학적으로 중요한 상황")
UNEXPECTED_DEFINITION = f"현행 허가사항(사용상의 주의사항)에 기재되지 않은 {AE}"
FATAL_DEFINITION = f"결과가 사망이거나 사망을 초래한 {AE}"
DISCONTINUATION_DEFINITION = f"{AE}로 이 약의 투여를 영구 중단한 경우"


def treatment_emergent_definition(days: int | None) -> str:
    return (f"이 약 첫 투여일부터 마지막 투여 후 {days}일까지 발현한 사례" if days is not None
            else "투여 기간 중 발현한 사례")


# --------------------------------------------------------------------------- variables

# The Korean name of every ADaM variable a table shows, one name per variable in every table.
VARIABLES = {
    "AGE": "연령(세)", "SEX": "성별", "RACE": "인종", "ETHNIC": "민족", "RECRTRT": "등록 경로",
    "HEIGHTBL": "신장(cm)", "WEIGHTBL": "체중(kg)", "BMIBL": "체질량지수(kg/m²)",
    "BMIGR1": "체질량지수군(kg/m², 아시아-태평양 기준)",
    "CREATBL": "혈청 크레아티닌(mg/dL)", "CRCLBL": "크레아티닌 청소율(mL/min)",
    "CRCLGR1": "크레아티닌 청소율군(mL/min)", "DIALYFL": "투석 여부",
    "ISSBL": "ISS 병기(진단 시)", "MPROTYP": "M-단백 유형", "ECOGBL": "ECOG 수행능력",
    "PRLINES": "이전 치료 차수", "PRSCTFL": "이전 조혈모세포이식", "RENIMPFL": "신장애 병력",
    "HEPIMPFL": "간장애 병력", "ALLERGFL": "알레르기 병력", "ANYMHFL": "과거 병력 및 동반 질환",
    "ANYCMFL": "병용 약물 투여", "TRTDURD": "투여 기간(일)", "NUMCYC": "투여 주기 수(주기)",
    "STDOSE": "시작 용량", "STDOSFRQ": "시작 투여 빈도", "CUMDOSE": "누적 투여량(mg)",
    "DOSINT": "용량 강도(mg/일)", "DOSREDFL": "감량", "INTRFL": "투여 중단(휴약)",
    "DEXUSE": "덱사메타손 병용", "DEXDUR": "덱사메타손 투여 기간(일)", "DEXCYC": "덱사메타손 투여 주기 수",
    "DEXCUMD": "덱사메타손 누적 투여량(mg)", "DEXDINT": "덱사메타손 용량 강도(mg/일)",
    "DEXSTD": "덱사메타손 시작 용량(mg)", "RVLDDAYS": "이 약 투여일 수(일)", "RVLMDD": "투여일당 평균 용량(mg)",
    "LTUSEFL": "장기 투여",
}
# Y/N variables: their levels read YES_NO.
FLAG_VARIABLES = {"PRSCTFL", "RENIMPFL", "HEPIMPFL", "ALLERGFL", "ANYMHFL", "ANYCMFL", "DIALYFL", "LTUSEFL",
                  "DOSREDFL", "INTRFL", "DEXUSE", "SAFFL", "EFFFL"}


def _number_text(value) -> str:
    if isinstance(value, numbers.Integral):
        return str(int(value))
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def variable_label(var: str, conventions=None) -> str:
    """The Korean name of a variable; a grouping of the study's settings is named by its cut(s)
    (`conventions`: anything with `groups` and `long_term_use_days`, e.g. the settings' conventions)."""
    groups = getattr(conventions, "groups", None) or {}
    if var in ("AGEGR1", "AGEGR2"):
        group = groups.get(var)
        cuts = [c for c in group.cuts] if group is not None else ([65] if var == "AGEGR1" else [75])
        return f"연령군({', '.join(f'{_number_text(c)}세' for c in cuts)} 기준)"
    if var == "LTUSEFL" and getattr(conventions, "long_term_use_days", None):
        return f"장기 투여(≥{conventions.long_term_use_days}일)"
    if var in VARIABLES:
        return VARIABLES[var]
    if var in groups:
        return groups[var].label
    return var


def value_label(var: str, value) -> str:
    """The Korean text of a level: coded values (VALUES), Y/N flags (YES_NO), a starting dose in mg,
    bounds with ≥ and ≤; a missing value is MISSING."""
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "Missing":
        return MISSING
    if var in VALUES and value in VALUES[var]:
        return VALUES[var][value]
    if (var in FLAG_VARIABLES or var.endswith("FL")) and value in YES_NO:
        return YES_NO[value]
    if var == "STDOSE" and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return f"{_number_text(value)} mg"
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return _number_text(value)
    return symbols(str(value))


# Korean labels of coded ADaM values, shared by every table (demographics, factors, populations).
VALUES: dict[str, dict] = {
    "SEX": {"F": "여성", "M": "남성"},
    "RACE": {"ASIAN": "아시아인"},
    "RECRTRT": {"DUE": "사용성적조사", "PAP": "환자접근프로그램(PAP)"},
    "ISSBL": {"I": "I기", "II": "II기", "III": "III기"},
    "MPROTYP": {"IGG": "IgG", "IGA": "IgA", "IGD": "IgD", "IGM": "IgM", "LIGHT CHAIN": "경쇄형",
                "NON-SECRETORY": "비분비형"},
    "STDOSFRQ": {"QD": "1일 1회", "QOD": "격일 1회"},
    "ECOGBL": {0: "0", 1: "1", 2: "2", 3: "3", 4: "4"},
    "CRCLGR1": {"Dialysis": "투석"},
}
