"""The reviewer's guides, generated from what the build knows: sdtm/csdrg and adam/adrg.

Section order of the PHUSE templates (the Clinical Study Data Reviewer's Guide for SDTM, the
Analysis Data Reviewer's Guide for ADaM); the text is this project's own. Every fact comes from
the build: the study settings (identity, dates, dictionaries, analysis conventions), the SDTM and
ADaM specs (datasets, the sponsor's modelling decisions and their reasons in the Datasets sheet's
notes and comments, the analysis results metadata), the datasets themselves (records, subjects,
parameters), the annotated CRF (the fields not submitted) and the findings of `sub validate` on
the package with the sponsor's explanations (specs/conformance.csv; a finding without one is
listed as such). English and ASCII only.

Written as .docx with the report's Word builder, converted to PDF by LibreOffice when present
(headings become bookmarks); without LibreOffice the .docx is shipped and build.log says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .acrf import ascii_text
from .conformance import NO_EXPLANATION, explanation_of

CSDRG_NAME, ADRG_NAME = "csdrg", "adrg"
CSDRG_TITLE = "Clinical Study Data Reviewer's Guide"
ADRG_TITLE = "Analysis Data Reviewer's Guide"

ACRONYMS = {
    "aCRF": "Annotated Case Report Form",
    "ADaM": "Analysis Data Model",
    "ADaMIG": "ADaM Implementation Guide",
    "ADR": "Adverse drug reaction (an adverse event whose causal relationship cannot be excluded)",
    "ADRG": "Analysis Data Reviewer's Guide",
    "ARM": "Analysis Results Metadata",
    "CDISC": "Clinical Data Interchange Standards Consortium",
    "CI": "Confidence interval",
    "CrCl": "Creatinine clearance (Cockcroft-Gault)",
    "cSDRG": "Clinical Study Data Reviewer's Guide",
    "CT": "Controlled Terminology",
    "DUE": "Drug use examination",
    "ECOG": "Eastern Cooperative Oncology Group (performance status)",
    "EDC": "Electronic data capture",
    "IMWG": "International Myeloma Working Group",
    "ISS": "International Staging System",
    "MedDRA": "Medical Dictionary for Regulatory Activities",
    "MFDS": "Ministry of Food and Drug Safety (Korea)",
    "PAP": "Patient access program",
    "PMS": "Post-marketing surveillance",
    "SDTM": "Study Data Tabulation Model",
    "SDTMIG": "SDTM Implementation Guide",
    "WHODrug": "WHO Drug Dictionary",
    "WHO-UMC": "World Health Organization - Uppsala Monitoring Centre (causality categories)",
    "XPT": "SAS transport file, version 5",
}


@dataclass
class GuideInputs:
    """Everything a guide is written from."""

    settings: object
    sdtm_spec: object
    adam_spec: object
    report: object  # qc.validate.Report of the package
    explanations: list
    crf: object | None  # package.annotations.AnnotatedCrf
    arm: list[dict]
    label_terms: pd.DataFrame | None
    created: dt.datetime
    version: str

    def member(self, standard: str, name: str):
        return self.report.package.get(standard, name)

    def findings(self, standard: str) -> list:
        """Findings of `standard`'s datasets (and of the package as a whole, which both guides list)."""
        pkg = self.report.package
        out = []
        for f in self.report.findings:
            belongs = f.standard
            if belongs is None and f.dataset:
                belongs = "ADaM" if pkg.get("ADaM", f.dataset) is not None else \
                    "SDTM" if pkg.get("SDTM", f.dataset) is not None else None
            if belongs is None and f.rule.startswith("SUB-ARD"):
                belongs = "ADaM"
            if belongs in (None, standard):
                out.append(f)
        return out


# --------------------------------------------------------------------------- shared pieces

class _Guide:
    def __init__(self, inputs: GuideInputs, title: str):
        from ..tlf.docx import Fonts, ReportDocument
        from .pdf import DOCUMENT_FONT

        self.inputs = inputs
        s = inputs.settings.study
        self.title = title
        header = f"{s.studyid}  {title}" + ("  [SYNTHETIC DATA - NOT REAL STUDY DATA]" if s.synthetic else "")
        fonts = Fonts(east_asia=DOCUMENT_FONT, latin=DOCUMENT_FONT, alt_name=None, size_pt=10.0, table_size_pt=8.0,
                      heading_sizes_pt=(14.0, 12.0, 10.5, 10.0), language="en-US")
        self.rd = ReportDocument(created=inputs.created, header_text=ascii_text(header), title=title,
                                 author=ascii_text(s.sponsor), subject=ascii_text(s.title_en), fonts=fonts,
                                 footer_template="Page {page} of {pages}", table_label="Table",
                                 figure_label="Figure")

    def h(self, text: str, level: int = 1) -> None:
        self.rd.heading(ascii_text(text), level)

    def p(self, text: str) -> None:
        self.rd.paragraph(ascii_text(text))

    def bullets(self, items: Sequence[str]) -> None:
        for item in items:
            self.rd.paragraph("- " + ascii_text(item))

    def table(self, rows: list[Sequence], header: Sequence[str], widths: Sequence[float] | None = None,
              caption: str | None = None) -> None:
        frame = pd.DataFrame([[ascii_text("" if v is None else str(v)) for v in r] for r in rows],
                             columns=[ascii_text(h) for h in header])
        if frame.empty:
            frame = pd.DataFrame([["(none)"] + [""] * (len(header) - 1)], columns=list(header))
        self.rd.table(frame, caption=ascii_text(caption) if caption else None, col_widths_mm=widths,
                      align="left")

    def synthetic_notice(self) -> None:
        """The paragraph that says the package's data are synthetic, when the study settings say so."""
        if self.inputs.settings.study.synthetic:
            self.p("The data of this package are SYNTHETIC: they were generated by the sponsor's tool for testing "
                   "and demonstration, and no value is real study data.")

    def cover(self) -> None:
        i = self.inputs
        s = i.settings.study
        facts = [("Study", s.studyid), ("Protocol", s.protocol_name), ("Sponsor", s.sponsor),
                 ("Indication", s.indication_en), ("Data cut-off", i.settings.dates.data_cutoff.isoformat()),
                 ("Produced by", f"sub {i.version}, from the study's specs and the package's datasets")]
        self.rd.cover(self.title, subtitle=ascii_text(s.title_en), facts=[(k, ascii_text(str(v))) for k, v in facts],
                      note="SYNTHETIC DATA - NOT REAL STUDY DATA" if s.synthetic else None)

    def acronyms(self, keys: Sequence[str]) -> None:
        self.table([(k, ACRONYMS[k]) for k in keys], ("Acronym", "Meaning"), (30, 140))

    def protocol(self, number: str) -> None:
        i = self.inputs
        s, d = i.settings.study, i.settings.dates
        self.h(f"{number} Protocol Description", 1)
        self.h(f"{number}.1 Protocol Number and Title", 2)
        self.table([("Study identifier", s.studyid), ("Protocol", s.protocol_name), ("Title", s.title_en),
                    ("Sponsor", s.sponsor)], ("Item", "Value"), (40, 130))
        self.h(f"{number}.2 Protocol Design", 2)
        self.p(f"An observational, multi-centre, single-arm post-marketing surveillance ({s.study_type.lower()} "
               f"study) in {s.country}: patients with {s.indication_en.lower()} treated with {s.drug} "
               f"({s.drug_generic}) and {s.companion_drug} in routine practice according to the approved "
               f"label. {s.planned_subjects} patients were planned. Enrolment closed on "
               f"{d.enrolment_cutoff.isoformat()}; the data cut-off is {d.data_cutoff.isoformat()}; outcomes are "
               f"followed for up to {d.max_follow_up_years} years. Subjects were recruited by two routes, the drug "
               f"use examination proper (DUE) and the patient access program run before reimbursement (PAP); the "
               f"route is kept per subject as a planned subgroup.")
        sets = i.settings.analysis_sets
        self.p(f"Safety set: {sets.safety_en}. Efficacy set: {sets.efficacy_en}. Exclusions are decided by the "
               "site monitoring review of eligibility.")

    def standards(self, rows: list[tuple[str, str, str]]) -> None:
        self.table(rows, ("Standard or dictionary", "Version", "Used for"), (50, 45, 75))

    def conformance(self, number: str, standard: str, intro: str) -> None:
        i = self.inputs
        findings = i.findings(standard)
        self.h(f"{number} Data Conformance Summary", 1)
        self.h(f"{number}.1 Conformance Inputs", 2)
        from ..qc.rules import RULES

        self.p(f"{intro} The checks are the {len(RULES)} rules of `sub validate` (sub {i.version}), run on the "
               "datasets of this package as submitted (SAS XPORT v5 and their Dataset-JSON twins) with the "
               "study's specifications; define.xml is validated against the Define-XML 2.1 schema and compared "
               "with the datasets when the package is built. Explanations are the sponsor's "
               "(specs/conformance.csv of the study).")
        self.h(f"{number}.2 Issues Summary", 2)
        counts = {sev: sum(1 for f in findings if f.severity == sev) for sev in ("error", "warning", "notice")}
        explained = sum(1 for f in findings if explanation_of(f, i.explanations) is not None)
        self.p(f"{counts['error']} error(s), {counts['warning']} warning(s) and {counts['notice']} notice(s); "
               f"{explained} of {len(findings)} finding(s) carry an explanation.")
        rows = []
        for f in sorted(findings, key=lambda f: ({"error": 0, "warning": 1, "notice": 2}[f.severity], f.rule,
                                                  f.dataset or "", f.variable or "")):
            e = explanation_of(f, i.explanations)
            rows.append((f.rule, f.severity, f.dataset or "", f.variable or "", f.count, f.message,
                         e.text if e else NO_EXPLANATION))
        if not rows:
            self.p("sub validate reported no finding on these datasets.")
            return
        self.table(rows, ("Rule", "Severity", "Dataset", "Variable", "Count", "Finding", "Explanation"),
                   (20, 17, 15, 19, 12, 38, 49), caption="Findings of sub validate and their explanations")

    def records(self, standard: str, name: str) -> tuple[str, str]:
        m = self.inputs.member(standard, name)
        if m is None or m.data is None:
            return "-", "-"
        frame = m.frame
        subjects = frame["USUBJID"].nunique() if "USUBJID" in frame.columns else "-"
        return str(len(frame)), str(subjects)

    def datasets_table(self, standard: str, spec, widths: Sequence[float]) -> None:
        """The overview of a standard's datasets in the package: name, label, class, structure, counts."""
        rows = []
        for name, ds in spec.datasets.items():
            if self.inputs.member(standard, name) is None:
                continue
            records, subjects = self.records(standard, name)
            rows.append((name, ds.label, ds.klass.title(), ds.structure, records, subjects))
        self.table(rows, ("Dataset", "Label", "Class", "Structure", "Records", "Subjects"), widths,
                   caption=f"{standard} datasets of the package")


def _describe(spec, name: str) -> str:
    ds = spec.datasets[name]
    parts = []
    if ds.comment and ds.comment in spec.comments:
        parts.append(spec.comments[ds.comment].description)
    if ds.developer_notes:
        parts.append(ds.developer_notes)
    return " ".join(parts)


# --------------------------------------------------------------------------- cSDRG

def build_csdrg(inputs: GuideInputs) -> _Guide:
    g = _Guide(inputs, CSDRG_TITLE)
    s, dic, spec = inputs.settings.study, inputs.settings.dictionaries, inputs.sdtm_spec
    g.cover()
    g.h("1 Introduction", 1)
    g.h("1.1 Purpose", 2)
    g.p(f"This guide accompanies the SDTM datasets of study {s.studyid}: how the study is designed, how its CRF "
        "data were put into SDTM, the sponsor's decisions where SDTM leaves a choice, and the conformance "
        "findings of the datasets with their explanations. It is read together with define.xml and the "
        "annotated CRF (acrf) in the same folder.")
    g.synthetic_notice()
    g.h("1.2 Acronyms", 2)
    g.acronyms(["aCRF", "CDISC", "CT", "cSDRG", "DUE", "ECOG", "EDC", "IMWG", "ISS", "MedDRA", "MFDS", "PAP",
                "PMS", "SDTM", "SDTMIG", "WHODrug", "WHO-UMC", "XPT"])
    g.h("1.3 Study Data Standards and Dictionary Inventory", 2)
    g.standards([("SDTM", "2.0", "Tabulation datasets"), ("SDTMIG", "3.4", "Tabulation datasets"),
                 ("CDISC SDTM Controlled Terminology", dic.sdtm_ct_version.isoformat(), "Coded values"),
                 ("MedDRA", dic.meddra_version, "Adverse events, medical history"),
                 ("WHODrug", dic.whodrug_version, "Concomitant medications"),
                 ("Define-XML", "2.1", "Dataset metadata (define.xml)"),
                 ("SAS XPORT / Dataset-JSON", "v5 / 1.1", "Dataset files")])
    g.h("1.4 Source Data Standards", 2)
    crf = inputs.crf
    forms = f"{len(crf.forms)} CRF forms" if crf is not None else "the CRF forms"
    g.p(f"The data were collected in a study-specific EDC system and delivered as an extract of {forms}, one "
        "comma-separated file per form. The forms do not follow CDASH; the annotated CRF shows every field with "
        "the SDTM variable that holds it.")

    g.protocol("2")
    g.h("2.3 Trial Design Datasets", 2)
    ts = inputs.member("SDTM", "TS")
    g.p(f"TS (Trial Summary) is submitted with {len(ts.frame) if ts is not None and ts.data is not None else 'its'} "
        "parameters chosen for an observational study (study type, observational model and time perspective, "
        "treatment, dates, data cut-off). TA, TE, TV, TI and TD are not submitted: the study has one cohort and "
        "no arms or elements to describe, no inclusion criteria recorded per subject beyond the monitoring review "
        "(in DV), and no schedule of planned visits - treatment and assessments follow routine practice. The one "
        "protocol-planned assessment is the baseline, identified in VS, LB and RS by VISITNUM 1 (VISIT "
        "'BASELINE') and --LOBXFL.")

    g.h("3 Subject Data Description", 1)
    g.h("3.1 Overview", 2)
    g.datasets_table("SDTM", spec, (16, 38, 24, 58, 17, 17))
    g.h("3.2 Annotated CRF", 2)
    if crf is not None:
        g.p(f"The annotated CRF (acrf) shows the {len(crf.forms)} forms of the EDC extract, each from a new page, "
            "with a box per SDTM domain the form feeds and each field annotated with its SDTM variable; 'when' "
            "gives the condition of a value-level item, 'in SUPPxx' a supplemental qualifier. Its bookmarks list "
            "the forms and, under each domain, the forms that feed it. define.xml cites its pages for every "
            "variable whose origin is Collected. Fields annotated NOT SUBMITTED:")
        hidden = [(f"{form.code}.{fl.field.column}", fl.field.label,
                   "personal identifier" if fl.field.identifier else "no SDTM home; not needed by the analyses")
                  for form in crf.forms for fl in form.fields if any(a.not_submitted for a in fl.annotations)]
        g.table(hidden, ("Field", "CRF question", "Reason"), (40, 70, 60))
    else:
        g.p("The study provides no annotations (specs/acrf.csv), so no annotated CRF was generated.")
    g.h("3.3 Data Set Specific Information", 2)
    g.p("For each dataset, the sponsor's modelling decisions where SDTM leaves a choice, with the reason "
        "(from the study's SDTM specification).")
    for name, ds in spec.datasets.items():
        if inputs.member("SDTM", name) is None:
            continue
        g.h(f"{name} - {ds.label}", 3)
        keys = ", ".join(ds.key_variables)
        g.p(f"Structure: {ds.structure}. Keys: {keys}.")
        text = _describe(spec, name)
        if text:
            g.p(text)
        supp = [vl for vl in spec.value_level if vl.dataset == name and vl.variable == "QVAL"]
        if supp:
            g.p("Supplemental qualifiers: " + "; ".join(
                f"{spec.where_clauses[vl.where_clause][0].value} ({vl.label})" for vl in supp) + ".")

    g.conformance("4", "SDTM", "The SDTM datasets were checked for conformance with SDTMIG 3.4 and the study's "
                               "SDTM specification.")
    return g


# --------------------------------------------------------------------------- ADRG

def _conventions(settings) -> list[str]:
    c = settings.conventions
    causal = {x.code: x.label_en for x in c.causality}
    adr = ", ".join(f"{causal.get(code, code)} ({code})" for code in c.adr_causality)
    lines = [
        f"Adverse drug reaction (ADR): an adverse event whose WHO-UMC causality with {settings.study.drug} is one "
        f"of {adr}" + (" or was not assessed (a relationship cannot then be excluded)"
                       if c.adr_when_causality_missing else "") + ".",
        f"Treatment-emergent: onset from the first dose to {c.treatment_emergent_days} days after the last dose.",
        f"An adverse event whose severity is missing is analysed as {c.severity_when_missing}.",
        (f"Long-term use: a treatment duration of at least {c.long_term_use_days} days; a year of use counts "
         f"{c.period_year_days} days."),
        f"Children (a special population): age below {c.child_age_below:g} years.",
        (f"Percentages: {c.percent_decimals_table} decimal(s) in tables, {c.percent_decimals_summary} in the "
         "summary sentences; rounding half up."),
        (f"Confidence intervals: exact (Clopper-Pearson), level {c.ci_level:g}. Factor analyses: chi-square test, "
         f"Fisher's exact test when an expected count is below {c.fisher_expected_below:g}; factors with a "
         f"univariate p below {c.multivariable_entry_p:g} enter a multivariable logistic regression; two-sided "
         f"significance level {c.significance_level:g}."),
        "Best overall response: the investigator's best response by IMWG criteria, unconfirmed (an "
        "observational study); categories from best to worst " + ", ".join(c.response.order) + ". Responders: "
        + ", ".join(c.response.responders) + "; CR or better: " + ", ".join(c.response.cr_or_better)
        + "; VGPR or better: " + ", ".join(c.response.vgpr_or_better) + "; clinical benefit: "
        + ", ".join(c.response.clinical_benefit) + ".",
        "A dosing period still open at a periodic cut-off ends at "
        + ("the cut-off." if c.open_dosing_period_end == "cutoff" else "the last contact known by then."),
    ]
    for name, group in c.groups.items():
        labels = list(group.labels) + ([group.dialysis_label] if group.dialysis_label else [])
        ref = f"; reference level {group.reference}" if getattr(group, "reference", None) else ""
        lines.append(f"{name} ({group.label}): boundaries {', '.join(f'{x:g}' for x in group.cuts)} (a value equal "
                     f"to a boundary falls in the upper group), labels {', '.join(labels)}{ref}.")
    return lines


def build_adrg(inputs: GuideInputs) -> _Guide:
    g = _Guide(inputs, ADRG_TITLE)
    s, dic, spec = inputs.settings.study, inputs.settings.dictionaries, inputs.adam_spec
    g.cover()
    g.h("1 Introduction", 1)
    g.h("1.1 Purpose", 2)
    g.p(f"This guide accompanies the ADaM datasets of study {s.studyid}: the analysis conventions, how the "
        "datasets were derived, and their conformance findings with the explanations. It is read together with "
        "define.xml (with its analysis results metadata) in the same folder and the SDTM reviewer's guide.")
    g.synthetic_notice()
    g.h("1.2 Acronyms", 2)
    g.acronyms(["ADaM", "ADaMIG", "ADR", "ADRG", "ARM", "CDISC", "CI", "CrCl", "CT", "IMWG", "MedDRA", "MFDS",
                "PMS", "SDTM", "WHODrug", "WHO-UMC", "XPT"])
    g.h("1.3 Study Data Standards and Dictionary Inventory", 2)
    g.standards([("ADaM", "2.1", "Analysis datasets"), ("ADaMIG", "1.3", "Analysis datasets"),
                 ("CDISC ADaM Controlled Terminology", dic.adam_ct_version.isoformat(), "Coded values"),
                 ("CDISC SDTM Controlled Terminology", dic.sdtm_ct_version.isoformat(), "Coded values from SDTM"),
                 ("MedDRA", dic.meddra_version, "Adverse events, medical history"),
                 ("WHODrug", dic.whodrug_version, "Concomitant medications"),
                 ("Define-XML / Analysis Results Metadata", "2.1 / 1.0", "Dataset and analysis metadata"),
                 ("SAS XPORT / Dataset-JSON", "v5 / 1.1", "Dataset files")])

    g.protocol("2")
    g.h("2.3 Analyses", 2)
    g.p("The analyses are those of the surveillance protocol (the PMS plan approved for the re-examination); "
        "no separate statistical analysis plan is part of this package, so the analysis results metadata give "
        "'SPECIFIED IN PROTOCOL' as the reason of each analysis. Primary outcome: the number of participants "
        "with adverse events; secondary: the overall response rate by IMWG criteria.")
    rows = []
    displays = {str(r.get("ID")): r for r in inputs.arm if r.get("Title")}
    for r in inputs.arm:
        if r.get("Display") and not r.get("Title"):
            display = displays.get(str(r.get("Display")), {})
            rows.append((r.get("Display"), display.get("Title", ""), r.get("ID"), r.get("Reason"), r.get("Purpose")))
    g.table(rows, ("Display", "Title", "Result", "Reason", "Purpose"), (18, 62, 26, 32, 32),
            caption="Analysis results described in define.xml")

    g.h("3 Analysis Considerations Related to Multiple Analysis Datasets", 1)
    g.h("3.1 Comparison of SDTM and ADaM Content", 2)
    g.p("The ADaM datasets are derived from the SDTM datasets of this package only, never from the raw data. "
        "Every subject of DM is in ADSL; analysis sets are flagged (SAFFL, EFFFL), not filtered. Every AE, CM "
        "and MH record is kept in ADAE, ADCM and ADMH with its SDTM sequence number (--SEQ) for traceability.")
    g.h("3.2 Core Variables", 2)
    adsl = inputs.member("ADaM", "ADSL")
    core = []
    if adsl is not None and adsl.data is not None:
        for name in spec.datasets:
            m = inputs.member("ADaM", name)
            if name == "ADSL" or m is None or m.data is None:
                continue
            shared = [c for c in m.frame.columns if c in adsl.frame.columns and c not in ("STUDYID", "USUBJID")]
            core.append((name, ", ".join(shared) or "-"))
    g.p("Subject-level variables of ADSL carried into the other datasets:")
    g.table(core, ("Dataset", "Variables from ADSL"), (25, 145))
    g.h("3.3 Treatment Variables", 2)
    trt = []
    if adsl is not None and adsl.data is not None:
        for variable in ("TRT01P", "TRT01A"):
            if variable in adsl.frame.columns:
                values = sorted(str(v) for v in adsl.frame[variable].dropna().unique())
                trt.append((variable, ", ".join(values) or "(null for every subject)"))
    g.p("A single-arm study: one planned and actual treatment. Subjects who never took REVLIMID have a null "
        "actual treatment.")
    g.table(trt, ("Variable", "Values"), (30, 140))
    g.h("3.4 Subject Issues that Require Special Analysis Rules", 2)
    sets = []
    if adsl is not None and adsl.data is not None:
        frame = adsl.frame
        for flag in ("SAFFL", "EFFFL"):
            if flag in frame.columns:
                counts = frame[flag].value_counts()
                sets.append((flag, str(len(frame)), str(counts.get("Y", 0)), str(counts.get("N", 0))))
    g.p("Exclusions from the analysis sets come from the site monitoring review of eligibility, submitted as "
        "protocol deviations (SDTM DV, one record per exclusion with its reason); ADSL derives the flags from "
        "DV and from the data (no dose, no safety follow-up, no evaluable response).")
    g.table(sets, ("Flag", "Subjects", "Y", "N"), (40, 40, 40, 40))
    g.h("3.5 Use of Visit Windows", 2)
    g.p("None. The study has no schedule of visits: events, treatment and response assessments are dated. The "
        "baseline is the last value on or before the first dose (--LOBXFL in SDTM).")
    g.h("3.6 Imputation and Derivation Conventions", 2)
    g.p("The analysis conventions of the study, as the derivations apply them (define.xml gives each "
        "variable's method):")
    g.bullets(_conventions(inputs.settings))
    if inputs.label_terms is not None:
        g.p(f"Unexpected events: an adverse event whose MedDRA preferred term is not in the label-terms table "
            f"({len(inputs.label_terms)} preferred terms of the current Korean label, listed in Appendix A) is "
            "unexpected (UNEXPFL = 'Y').")

    g.h("4 Analysis Data Creation and Processing Issues", 1)
    g.h("4.1 Data Dependencies", 2)
    g.p("ADSL is derived first from the SDTM datasets; every other analysis dataset takes its SDTM domain (AE, "
        "RS, EX, CM, MH) and the subject-level variables of ADSL.")
    g.h("4.2 Intermediate Datasets", 2)
    g.p("None: every dataset used by the analyses is in this package.")
    g.h("4.3 Variable Conventions", 2)
    g.p("Flags are 'Y' or 'N' (or null where the spec says so); dates are SAS numeric dates with the DATE9. "
        "format; character lengths are the longest value present. Labels of value-level items and "
        "parameters are in define.xml.")
    g.h("4.4 Programs", 2)
    g.p(f"The datasets, define.xml and the analysis results were produced by sub {inputs.version} (Python) "
        "from the SDTM datasets of this package; the programs are not submitted.")

    g.h("5 Analysis Dataset Descriptions", 1)
    g.h("5.1 Overview", 2)
    g.datasets_table("ADaM", spec, (16, 40, 30, 50, 17, 17))
    g.h("5.2 Analysis Datasets", 2)
    for name, ds in spec.datasets.items():
        m = inputs.member("ADaM", name)
        if m is None:
            continue
        g.h(f"{name} - {ds.label}", 3)
        g.p(f"Structure: {ds.structure}. Keys: {', '.join(ds.key_variables)}.")
        text = _describe(spec, name)
        if text:
            g.p(text)
        if m.data is not None and {"PARAMCD", "PARAM"} <= set(m.frame.columns):
            params = m.frame[["PARAMCD", "PARAM"]].drop_duplicates().sort_values("PARAMCD")
            g.table([tuple(r) for r in params.itertuples(index=False)], ("PARAMCD", "PARAM"), (30, 140))

    g.conformance("6", "ADaM", "The ADaM datasets (and the analysis results data) were checked for conformance "
                               "with ADaMIG 1.3 and the study's ADaM specification.")
    if inputs.label_terms is not None:
        g.h("Appendix A: Label Terms", 1)
        g.p("MedDRA preferred terms of the current Korean label used to decide expectedness (the study's versioned "
            "label-terms table).")
        terms = inputs.label_terms
        g.table([(r.PT, r.PTCD, r.SOC, str(r.source).split(":")[0]) for r in terms.itertuples(index=False)],
                ("Preferred term", "Code", "System organ class", "Table version"), (50, 20, 75, 25))
    return g


# --------------------------------------------------------------------------- writing them

def gather_inputs(stage: Path, specs_dir: Path, settings, created: dt.datetime):
    """Validate the staged package and read what the guides need."""
    from .. import __version__
    from ..csvio import read_table
    from ..define.write import read_arm_sheets
    from ..qc.validate import validate
    from ..spec import load_spec
    from .annotations import load_annotated_crf
    from .conformance import load_explanations

    specs_dir = Path(specs_dir)
    report = validate(Path(stage), specs_dir)
    terms = None
    table, _ = read_table(specs_dir / "label_terms.csv")
    if table is not None:
        terms = pd.DataFrame(table.rows, columns=table.header)
    return GuideInputs(settings, load_spec(specs_dir / "sdtm"), load_spec(specs_dir / "adam"), report,
                       load_explanations(specs_dir), load_annotated_crf(specs_dir),
                       read_arm_sheets(specs_dir / "adam"), terms, created, __version__)


def write_guide(guide: _Guide, folder: Path, name: str, notes: list[str]) -> Path:
    """FOLDER/name.docx, converted to name.pdf when LibreOffice is present."""
    from ..io import write_atomic
    from .acrf import _to_pdf

    docx = Path(folder) / f"{name}.docx"
    write_atomic(docx, guide.rd.to_bytes())
    pdf, note = _to_pdf(docx, guide.inputs.created, None, notes)
    if note:
        notes.append(note)
    return pdf or docx
