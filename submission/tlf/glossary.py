"""The Korean terms of the report: one glossary for every table, listing, figure and sentence.

The terms are those MFDS writes into Korean labels (the re-examination pattern of domain.md
section 2): 유해사례 for an adverse event and 약물유해반응 for an adverse drug reaction (never
the synonyms 이상사례 / 약물이상반응), 기관계 대분류 for a MedDRA System Organ Class and 기본 용어
for a Preferred Term, 투여 중 발현 for treatment-emergent. Every module that prints one of these
imports it from here, so that the report cannot use two words for one thing.
"""

from __future__ import annotations

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
