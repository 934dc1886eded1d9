"""The raw extract as it was known at an earlier data cut-off (`sub build --cutoff DATE`).

MFDS wants a periodic safety report every 6 months for the first 2 years of the re-examination
period, then yearly (domain.md section 2). Each report is the whole chain re-run on the data up
to its cut-off. `apply_cutoff` turns the final extract into the extract as it would have stood
at the cut-off; `cutoff_settings` gives the settings every later stage then reads (TS DCUTDTC,
ADaM DCUTDT and the treatment-emergent window caps, the report's cover all follow
`dates.data_cutoff`). TS keeps the study's own start and end (SSTDTC, SENDTC): the SDTM stage
takes them from the whole extract (sdtm/ts.py).

Rules (a date is "after the cut-off" when its earliest possible day is after it: a partial date
`2014-03-UK` is on or before a cut-off of 2014-03-15, `2014-04-UK` is after it; blank is never
after it):

* Subjects. A subject enrolled (ENROL.ENRDAT) after the cut-off is removed from every form. So
  is a subject whose enrolment forms (ENROL, DEMOG, MMDIAG, BASELINE: one row each) carry a date
  after the cut-off, e.g. a baseline assessment made after it: those forms were not complete at
  the cut-off and the loader requires them (the log counts such subjects on their own).
* Records that start after the cut-off are dropped: AE (onset STDAT), REVLIMID and
  dexamethasone dosing periods (STDAT), concomitant medications (STDAT), response assessments
  (RSDAT), medical history (STDAT), pregnancy reports (PREGDAT).
* End dates after the cut-off become blank and the record ongoing: AE (ENDAT blank, ONGO 'Y'),
  concomitant medication (ENDAT blank, ONGO 'Y'), dosing periods (ENDAT and, for REVLIMID, CYCEN
  blank: the period is open at the cut-off). An AE made ongoing whose outcome says it had ended
  (recovered, recovered with sequelae) gets 'Not recovered/not resolved': that was its state at
  the cut-off (a partial end date whose earliest day is on or before the cut-off is kept, like
  every partial date).
* Fatal outcomes: the death date decides. An AE with outcome fatal keeps it when the subject's
  death (EOS.DTHDAT; for a subject without a recorded death, the AE's own end date) is on or
  before the cut-off; an end date of such an AE after the cut-off becomes the death date (a fatal
  event ends with the death). When the death is after the cut-off, the AE gets 'Not
  recovered/not resolved' and is ongoing.
* Deaths after the cut-off. For a subject whose death is after the cut-off (and for an AE whose
  fatal outcome was reverted) the seriousness criterion 'results in death' becomes 'N', and an
  event left with no seriousness criterion 'Y' becomes not serious (SER 'N'): criteria and flag
  change together. A CTCAE grade 5 (death) becomes the last grade known by then where the extract
  records one: the grade of an earlier record of the same event (same subject and MedDRA PT,
  starting before it and not ended before the day before it; the latest such record). Otherwise
  it is blank, and build.log names the record.
* Best response. The investigator's final best response (BESTRESP) is kept when its date BRDAT
  is on or before the cut-off (a best response reached by then is also the best by then). It is
  dropped when BRDAT is after the cut-off, or when BRDAT is blank and the subject has response
  assessments after the cut-off (the judgement used data not yet known); ADaM then takes the best
  visit response up to the cut-off (ADRS BOR falls back to RS OVRLRESP).
* End of study. A subject whose end of observation (EOSDAT, else LSTCNDAT when completed or
  discontinued) or death is after the cut-off is ongoing at it: EOSSTAT 'Ongoing at data
  cut-off', EOSDAT and EOSREAS blank, DEATH 'N', DTHDAT and DTHCAUSE blank. A death on or before
  the cut-off is kept (the subject is then not ongoing; an EOSDAT after the cut-off is blanked).
  LSTCNDAT after the cut-off becomes, for a subject ongoing at the cut-off with a REVLIMID or
  dexamethasone dosing period open at it, the cut-off itself: the subject was on treatment, and
  so in follow-up, then (study setting conventions.open_dosing_period_end = "cutoff", the
  default; ADaM's LSTALVDT, TRTEDT, exposure, the treatment-emergent window and long-term use
  follow). Otherwise, and for every such subject with the setting "last_contact", it becomes the
  subject's last complete raw date on or before the cut-off (any form, the cut records only,
  personal identifiers excluded).
* Monitoring review (ELIG). The review applies when it is dated (REVDAT) on or before the
  cut-off. A review dated after it had not been made at the cut-off: the subject's analysis-set
  decisions are those before any review, included in the safety and the efficacy assessment
  (SAFETY and EFFICACY 'Y', SAFREAS, EFFREAS and REVDAT blank), and ADaM's own rules decide
  (no REVLIMID dose: not in the safety set; no evaluable response: not in the efficacy set).
  A blank REVDAT (or an older extract without the column) is taken as a review done at the
  study's data cut-off, the final one: it applies to the final build (a cut-off on the data
  cut-off) only. The log counts the subjects not yet reviewed, the exclusions that are not yet
  decided by reason, and the subjects included in the safety assessment who have no REVLIMID
  dose on or before the cut-off (enrolled just before it, or not yet reviewed).
* Report-received dates (`RECEIVED`: AE.RCVDAT, the date the site reported the event; a column
  an older extract may lack). By default the cut goes by event dates, and a received date after
  the cut-off becomes blank (the record is kept: its event date decides). With `as_received`
  (`sub build --cutoff D --as-received`) a record reported after the cut-off was not known at the
  cut-off and is dropped, even when its event started before it; this comes before every other
  AE rule (a fatal outcome, the death date and the grade are read on the records known then). A
  record with a blank received date falls back to its event date (the log counts such records).
  An extract with no received date at all (the column absent or blank in every row) cannot be cut
  that way: bad input naming the column.
* Everything else is left as it is. The result must pass the loader's checks again with the
  cut-off as the data cut-off (every date on or before it, required values, codes, 'not before'
  order, one row per subject); if not, the build stops as on bad input (exit 1), each problem
  naming the cut record's file, row and column.

A cut-off after the study's data cut-off (`dates.data_cutoff`), before the first enrolment, or
one that leaves no subject is bad input (SubError naming `--cutoff`). The frames keep their index (the raw file row), so every SDTM record still names its
raw row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from ..errors import Problem, SubError
from ..study import StudySettings
from .layout import Layout
from .load import (
    FLAG_IFF_ANY,
    RawExtract,
    _check_form,
    _check_keys,
    _Collector,
    _date_bounds,
)

# One row per subject, filled in at enrolment: a date after the cut-off means the subject's
# enrolment record set was not complete at the cut-off.
ENROLMENT_FORMS = ("ENROL", "DEMOG", "MMDIAG", "BASELINE")
# Records dropped when they start after the cut-off: form -> start date column.
STARTS = {"MEDHIST": "STDAT", "RVLDOSE": "STDAT", "DEXDOSE": "STDAT", "CONMED": "STDAT", "AE": "STDAT",
          "RESP": "RSDAT", "PREG": "PREGDAT"}
_FULL_DATE = r"^\d{4}-\d{2}-\d{2}$"
# The seriousness criteria behind AE.SER (the loader's cross-field rule).
SERIOUSNESS = next(criteria for form, flag, criteria in FLAG_IFF_ANY if (form, flag) == ("AE", "SER"))
# Raw dates that are no contact with the subject: left out of a last contact recomputed at the cut-off.
NOT_CONTACTS = {("EOS", "LSTCNDAT"), ("ELIG", "REVDAT"), ("AE", "RCVDAT")}
# The report-received (data-entry) date of a form's records: `as_received` cuts by it.
RECEIVED = {"AE": "RCVDAT"}
# Records named one by one in build.log before the rest are counted.
NAMED_IN_LOG = 20


def cutoff_settings(settings: StudySettings, cutoff: dt.date) -> StudySettings:
    """The settings of a build at `cutoff`: dates.data_cutoff is the cut-off, nothing else changes
    (the enrolment cut-off stays the planned one the report's survey period shows)."""
    dates = settings.dates.model_copy(update={"data_cutoff": _as_date(cutoff)})
    return settings.model_copy(update={"dates": dates})


class NobodyLeft(SubError):
    """The cut-off leaves no subject: before the first enrolment, or before every enrolled subject's
    enrolment forms were complete (a periodic report's interval start then counts from nothing)."""


def check_cutoff(extract: RawExtract, cutoff: dt.date, settings: StudySettings) -> None:
    """Raise SubError when the cut-off is after the study's data cut-off or before the first enrolment."""
    cutoff = _as_date(cutoff)
    study_cutoff = settings.dates.data_cutoff
    if cutoff > study_cutoff:
        raise SubError(Problem("--cutoff", None, None, cutoff.isoformat(),
                               f"after the study's data cut-off {study_cutoff.isoformat()} (study.toml "
                               "dates.data_cutoff): a cut-off can only look back"),
                       "bad --cutoff")
    enrolled = extract["ENROL"]["ENRDAT"].dropna()
    first = min(enrolled) if len(enrolled) else None
    if first is None or cutoff.isoformat() < first:
        raise NobodyLeft(Problem("--cutoff", None, None, cutoff.isoformat(),
                               f"before the first enrolment ({first or 'no subject'} in "
                               f"{extract.files.get('ENROL', 'enrol.csv')}): no subject would be left"),
                       "bad --cutoff")


def apply_cutoff(extract: RawExtract, cutoff: dt.date, settings: StudySettings, *,
                 as_received: bool = False) -> tuple[RawExtract, list[str]]:
    """The extract as known at `cutoff` (rules: the module docstring) and the log lines saying,
    per form, which rows were dropped or changed and why. The input is left untouched.
    `as_received`: records reported after the cut-off are not known at it (RECEIVED)."""
    cutoff = _as_date(cutoff)
    check_cutoff(extract, cutoff, settings)
    if as_received:
        check_received(extract)
    cut = _Cut(extract, cutoff, open_dosing_period_end=settings.conventions.open_dosing_period_end)
    cut.subjects()
    if cut.frames["ENROL"].empty:
        raise NobodyLeft(Problem("--cutoff", None, None, cutoff.isoformat(),
                               "no subject is left: every subject enrolled by then has enrolment forms "
                               "(baseline) dated after it"), "bad --cutoff")
    if as_received:
        cut.received(True)  # before every other rule: what was not reported was not known
    cut.records()
    cut.ae(deaths=cut.deaths())
    if not as_received:
        cut.received(False)
    cut.best_response()
    cut.end_of_study()
    cut.review(settings.dates.data_cutoff)
    cut.recheck(cutoff_settings(settings, cutoff))
    return dataclasses.replace(extract, frames=cut.frames), cut.log_lines(settings)


def check_received(extract: RawExtract) -> None:
    """Raise SubError when the extract carries no report-received date (`--as-received` needs one)."""
    present = [(form, column) for form, column in RECEIVED.items()
               if form in extract.frames and column in extract.frames[form].columns
               and extract.frames[form][column].notna().any()]
    if not present:
        raise SubError([Problem(str(extract.files.get(form, form)), None, column, None,
                                "--as-received cuts by the date a record was reported, and the extract has none "
                                "(the column is absent or blank in every row): cut by event dates (leave out "
                                "--as-received) or export the extract with the report-received dates")
                        for form, column in RECEIVED.items()], "bad --as-received")


def _as_date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _text(values: pd.Series) -> pd.Series:
    """(Partial) dates as text, blank for missing: the form _date_bounds reads."""
    return values.astype(object).where(values.notna(), "").astype(str)


def _code(layout: Layout, form: str, column: str, submission_value: str) -> str:
    """The raw code of a field whose codelist maps it to `submission_value` (codes.csv)."""
    codelist = layout.field(form, column).codelist
    for code, entry in layout.codelists[codelist].items():
        if entry.submission_value == submission_value:
            return code
    raise RuntimeError(f"codelist {codelist} has no code for {submission_value!r} (specs/raw/codes.csv)")


class _Cut:
    def __init__(self, extract: RawExtract, cutoff: dt.date, *, open_dosing_period_end: str = "cutoff"):
        self.layout = extract.layout
        self.cutoff = cutoff
        self.open_dosing_period_end = open_dosing_period_end
        self.limit = pd.Timestamp(cutoff)
        self.files = extract.files
        self.frames = {form: frame.copy() for form, frame in extract.frames.items()}
        self.rows_before = {form: len(frame) for form, frame in extract.frames.items()}
        self.dropped: dict[str, dict[str, int]] = {form: {} for form in self.frames}
        self.changed: dict[str, dict[str, int]] = {form: {} for form in self.frames}
        self.notes: list[str] = []
        self.yes = _code(self.layout, "AE", "ONGO", "Y")
        self.no = _code(self.layout, "AE", "ONGO", "N")

    # ------------------------------------------------------------------ helpers
    def after(self, values: pd.Series) -> pd.Series:
        """True where a (partial) date's earliest possible day is after the cut-off."""
        earliest, _ = _date_bounds(_text(values))
        return pd.Series(earliest.gt(self.limit).to_numpy(), index=values.index)

    def drop(self, form: str, mask: pd.Series, reason: str) -> None:
        n = int(mask.sum())
        if n:
            self.frames[form] = self.frames[form][~mask]
            self.dropped[form][reason] = self.dropped[form].get(reason, 0) + n

    def change(self, form: str, mask: pd.Series, reason: str, updates: dict[str, object]) -> None:
        n = int(mask.sum())
        if not n:
            return
        frame = self.frames[form]
        for column, value in updates.items():
            blank = pd.NA if str(frame[column].dtype) in ("Int64", "Float64") else None
            frame.loc[mask, column] = blank if value is None else value
        self.changed[form][reason] = self.changed[form].get(reason, 0) + n

    # ------------------------------------------------------------------ rules
    def subjects(self) -> None:
        enrol = self.frames["ENROL"]
        late = set(enrol.loc[self.after(enrol["ENRDAT"]), "SUBJID"])
        incomplete: set[str] = set()
        for form in ENROLMENT_FORMS:
            frame = self.frames[form]
            for f in self.layout.fields_of(form):
                if f.type in ("date", "pdate") and not f.identifier:
                    incomplete |= set(frame.loc[self.after(frame[f.column]), "SUBJID"])
        incomplete -= late
        self.subjects_before = len(enrol)
        self.removed_late, self.removed_incomplete = len(late), len(incomplete)
        for form, frame in self.frames.items():
            self.drop(form, frame["SUBJID"].isin(late), "subject enrolled after the cut-off")
            frame = self.frames[form]
            self.drop(form, frame["SUBJID"].isin(incomplete), "subject's enrolment forms dated after the cut-off")

    def received(self, as_received: bool) -> None:
        """Records reported after the cut-off: dropped with `as_received` (not yet known), else kept
        with the received date blank (the event date decides)."""
        for form, column in RECEIVED.items():
            frame = self.frames.get(form)
            if frame is None or column not in frame.columns:
                continue
            late = self.after(frame[column])
            if as_received:
                self.drop(form, late, f"{column} after the cut-off: reported after it (--as-received)")
                blank = int(self.frames[form][column].isna().sum())
                if blank:
                    self.notes.append(f"{form}: {blank} record(s) without {column}: cut by the event date "
                                      "(--as-received)")
            else:
                self.change(form, late, f"{column} after the cut-off: blank (cut by event dates)", {column: None})

    def records(self) -> None:
        # Response assessments after the cut-off decide about BESTRESP: note them before dropping.
        resp = self.frames["RESP"]
        self.assessed_after = set(resp.loc[self.after(resp["RSDAT"]), "SUBJID"])
        for form, start in STARTS.items():
            if form == "AE":
                continue  # ae() drops them, after reading the deaths
            frame = self.frames[form]
            self.drop(form, self.after(frame[start]), f"{start} after the cut-off")
        for form in ("RVLDOSE", "DEXDOSE"):
            frame = self.frames[form]
            updates = {"ENDAT": None, **({"CYCEN": None} if "CYCEN" in frame.columns else {})}
            self.change(form, self.after(frame["ENDAT"]), "period open at the cut-off: ENDAT"
                        + (" and CYCEN" if "CYCEN" in updates else "") + " blank", updates)
        frame = self.frames["CONMED"]
        self.change("CONMED", self.after(frame["ENDAT"]), "ongoing at the cut-off: ENDAT blank, ONGO Y",
                    {"ENDAT": None, "ONGO": self.yes})

    def deaths(self) -> pd.Series:
        """SUBJID -> EOS.DTHDAT of the subjects who died (read before end_of_study changes EOS)."""
        eos = self.frames["EOS"]
        died = eos["DEATH"].eq(self.yes)
        return pd.Series(eos.loc[died, "DTHDAT"].to_numpy(), index=eos.loc[died, "SUBJID"].to_numpy())

    def ae(self, deaths: pd.Series) -> None:
        self.drop("AE", self.after(self.frames["AE"]["STDAT"]), "onset after the cut-off")
        ae = self.frames["AE"]
        fatal = _code(self.layout, "AE", "OUT", "FATAL")
        not_recovered = _code(self.layout, "AE", "OUT", "NOT RECOVERED/NOT RESOLVED")
        ended = {_code(self.layout, "AE", "OUT", v) for v in ("RECOVERED/RESOLVED", "RECOVERED/RESOLVED WITH SEQUELAE")}
        # Every mask is taken before any change: a change must not move a row into another rule.
        end_after = self.after(ae["ENDAT"])
        death_date = ae["SUBJID"].map(deaths)
        died = ae["SUBJID"].isin(deaths.index)
        dies_later = died & self.after(death_date)
        is_fatal = ae["OUT"].eq(fatal)
        # The death date decides; for a subject without a recorded death the AE's end stands for it.
        reverted = is_fatal & (dies_later | (~died & end_after))
        ends_with_death = is_fatal & ~reverted & died & end_after
        had_ended = end_after & ~is_fatal & ae["OUT"].isin(ended)
        still_on = end_after & ~is_fatal & ~ae["OUT"].isin(ended)
        later = dies_later | reverted
        no_death = later & ae["SDTH"].eq(self.yes)
        no_grade5 = later & ae["GRADE"].eq(_code(self.layout, "AE", "GRADE", "5"))
        other_criteria = [c for c in SERIOUSNESS if c != "SDTH"]
        no_longer_serious = no_death & ae["SER"].eq(self.yes) & ~ae[other_criteria].eq(self.yes).any(axis=1)
        earlier_grade = self._earlier_grades(ae, no_grade5)
        regraded = no_grade5 & earlier_grade.notna()
        self.change("AE", reverted, "outcome fatal, death after the cut-off: outcome not recovered/not "
                    "resolved, ENDAT blank, ONGO Y", {"ENDAT": None, "ONGO": self.yes, "OUT": not_recovered})
        ae.loc[ends_with_death, "ENDAT"] = death_date[ends_with_death]
        self._count("AE", ends_with_death, "outcome fatal, death on or before the cut-off, ENDAT after it: "
                    "ENDAT the death date (EOS.DTHDAT)")
        self.change("AE", had_ended, "ended after the cut-off: ENDAT blank, ONGO Y, outcome not recovered/"
                    "not resolved", {"ENDAT": None, "ONGO": self.yes, "OUT": not_recovered})
        self.change("AE", still_on, "ended after the cut-off: ENDAT blank, ONGO Y", {"ENDAT": None, "ONGO": self.yes})
        self.change("AE", no_death, "death after the cut-off: SDTH 'results in death' N", {"SDTH": self.no})
        self.change("AE", no_longer_serious, "death after the cut-off was the only seriousness criterion: SER N",
                    {"SER": self.no})
        ae = self.frames["AE"]
        ae.loc[regraded, "GRADE"] = earlier_grade[regraded]
        self._count("AE", regraded, "death after the cut-off: CTCAE grade 5 replaced by the grade of the "
                    "event's earlier record")
        blank = no_grade5 & ~regraded
        self.change("AE", blank, "death after the cut-off: CTCAE grade 5 blank, no earlier grade of the "
                    "event recorded", {"GRADE": None})
        self._name_records("AE", ae[blank], "CTCAE grade 5 removed (death after the cut-off) and no earlier "
                           "grade of the event recorded by then: GRADE left blank")

    def _earlier_grades(self, ae: pd.DataFrame, rows: pd.Series) -> pd.Series:
        """Per AE row in `rows`: the grade of the latest earlier record of the same event (same
        subject and PTCD, starting before it, not ended before the day before it, a grade below 5);
        missing where there is none."""
        result = pd.Series(None, index=ae.index, dtype=object)
        if not rows.any():
            return result
        grade5 = _code(self.layout, "AE", "GRADE", "5")
        start, _ = _date_bounds(_text(ae["STDAT"]))
        _, end = _date_bounds(_text(ae["ENDAT"]))
        frame = pd.DataFrame({"SUBJID": ae["SUBJID"], "PTCD": ae["PTCD"], "LINE": ae["LINE"], "START": start,
                              "END": end, "GRADE": ae["GRADE"]}, index=ae.index)
        targets = frame[rows].rename_axis("ROW").reset_index()
        graded = frame["GRADE"].notna() & frame["GRADE"].ne(grade5)
        pairs = targets.merge(frame[graded], on=["SUBJID", "PTCD"], suffixes=("", "_EARLIER"))
        before = (pairs["START_EARLIER"] < pairs["START"]) | (
            (pairs["START_EARLIER"] == pairs["START"]) & (pairs["LINE_EARLIER"] < pairs["LINE"]))
        continues = pairs["END_EARLIER"].isna() | (pairs["END_EARLIER"] >= pairs["START"] - pd.Timedelta(days=1))
        pairs = pairs[before & continues].sort_values(["ROW", "START_EARLIER", "LINE_EARLIER"], kind="mergesort")
        latest = pairs.groupby("ROW")["GRADE_EARLIER"].last()
        result.loc[latest.index] = latest.to_numpy()
        return result

    def _name_records(self, form: str, rows: pd.DataFrame, what: str) -> None:
        """A note in build.log per record (file row, subject, line), the first NAMED_IN_LOG of them."""
        file = getattr(self.files.get(form), "name", None) or form
        for index, record in list(rows.iterrows())[:NAMED_IN_LOG]:
            line = f" line {record['LINE']}" if "LINE" in rows.columns else ""
            self.notes.append(f"{file} row {index} (subject {record['SUBJID']}{line}): {what}")
        if len(rows) > NAMED_IN_LOG:
            self.notes.append(f"... and {len(rows) - NAMED_IN_LOG} more {form} record(s): {what}")

    def best_response(self) -> None:
        br = self.frames["BESTRESP"]
        self.drop("BESTRESP", self.after(br["BRDAT"]), "BRDAT after the cut-off")
        br = self.frames["BESTRESP"]
        self.drop("BESTRESP", br["BRDAT"].isna() & br["SUBJID"].isin(self.assessed_after),
                  "BRDAT blank and response assessments after the cut-off")

    def end_of_study(self) -> None:
        eos = self.frames["EOS"]
        ongoing = _code(self.layout, "EOS", "EOSSTAT", "ONGOING")
        was_ongoing = eos["EOSSTAT"].eq(ongoing)
        died = eos["DEATH"].eq(self.yes)
        death_after = died & self.after(eos["DTHDAT"])
        death_known = died & ~death_after
        end = eos["EOSDAT"].where(eos["EOSDAT"].notna(), eos["LSTCNDAT"])
        becomes = ~was_ongoing & ~death_known & (self.after(end) | death_after)
        self.change("EOS", becomes, "ended or died after the cut-off: EOSSTAT ongoing, "
                    "EOSDAT and EOSREAS blank",
                    {"EOSSTAT": ongoing, "EOSDAT": None, "EOSREAS": None})
        self.change("EOS", death_after, "death after the cut-off: DEATH N, DTHDAT and DTHCAUSE blank",
                    {"DEATH": self.no, "DTHDAT": None, "DTHCAUSE": None})
        eos = self.frames["EOS"]
        self.change("EOS", self.after(eos["EOSDAT"]), "EOSDAT after the cut-off, death on or before it: EOSDAT blank", {"EOSDAT": None})
        eos = self.frames["EOS"]
        capped = self.after(eos["LSTCNDAT"])
        if capped.any():
            on_treatment = capped & eos["EOSSTAT"].eq(ongoing) & eos["SUBJID"].isin(self._open_dosing())
            to_cutoff = on_treatment & (self.open_dosing_period_end == "cutoff")
            to_last = capped & ~to_cutoff
            eos.loc[to_last, "LSTCNDAT"] = eos.loc[to_last, "SUBJID"].map(self._last_dates())
            eos.loc[to_cutoff, "LSTCNDAT"] = self.cutoff.isoformat()
            self._count("EOS", to_cutoff, "LSTCNDAT after the cut-off, on treatment at it (a dosing period "
                        "open at the cut-off): the cut-off")
            self._count("EOS", to_last & on_treatment, "LSTCNDAT after the cut-off, on treatment at it: the last "
                        "raw date on or before it (conventions.open_dosing_period_end = last_contact)")
            self._count("EOS", to_last & ~on_treatment, "LSTCNDAT after the cut-off: the last raw date on or before it")

    def review(self, study_cutoff: dt.date) -> None:
        """The monitoring review applies only when dated on or before the cut-off (blank: dated at the
        study's data cut-off); before it, the subject is in both assessments as enrolled."""
        elig = self.frames["ELIG"]
        yes, no = _code(self.layout, "ELIG", "SAFETY", "Y"), _code(self.layout, "ELIG", "SAFETY", "N")
        dated_after = self.after(elig["REVDAT"])
        undated = elig["REVDAT"].isna() & (self.cutoff < _as_date(study_cutoff))
        not_yet = dated_after | undated
        lifted = {flag: elig.loc[not_yet & elig[flag].eq(no), reason].value_counts().sort_index()
                  for flag, reason in (("SAFETY", "SAFREAS"), ("EFFICACY", "EFFREAS"))}
        before_review = {"SAFETY": yes, "SAFREAS": None, "EFFICACY": yes, "EFFREAS": None, "REVDAT": None}
        self.change("ELIG", dated_after, "monitoring review dated after the cut-off, not yet made: SAFETY and "
                    "EFFICACY Y, SAFREAS, EFFREAS and REVDAT blank", before_review)
        self.change("ELIG", undated, "monitoring review undated, taken as made at the study's data cut-off, "
                    "not yet made: SAFETY and EFFICACY Y, SAFREAS and EFFREAS blank", before_review)
        for flag, counts in lifted.items():
            if len(counts):
                what = "safety" if flag == "SAFETY" else "efficacy"
                self.notes.append(f"ELIG: {int(counts.sum())} exclusion(s) from the {what} assessment not yet "
                                  "decided at the cut-off (review after it; by reason: "
                                  + ", ".join(f"{code} {n}" for code, n in counts.items())
                                  + "): ADaM's own rules decide (no dose, no evaluable response)")
        elig, dose = self.frames["ELIG"], self.frames["RVLDOSE"]
        undosed = int((elig["SAFETY"].eq(yes) & ~elig["SUBJID"].isin(dose["SUBJID"])).sum())
        if undosed:
            self.notes.append(f"ELIG: {undosed} subject(s) included in the safety assessment have no REVLIMID "
                              "dose on or before the cut-off (ADaM: not in the safety set, no dose)")

    def _count(self, form: str, mask: pd.Series, reason: str) -> None:
        if int(mask.sum()):
            self.changed[form][reason] = self.changed[form].get(reason, 0) + int(mask.sum())

    def _open_dosing(self) -> set[str]:
        """Subjects with a REVLIMID or dexamethasone dosing period open at the cut-off (no end date)."""
        return {subject for form in ("RVLDOSE", "DEXDOSE")
                for subject in self.frames[form].loc[self.frames[form]["ENDAT"].isna(), "SUBJID"]}

    def _last_dates(self) -> pd.Series:
        """SUBJID -> the latest complete raw date of the cut records (LSTCNDAT itself and the
        monitoring review's date, no contact with the subject, excluded)."""
        parts = []
        for form, frame in self.frames.items():
            for f in self.layout.fields_of(form):
                if f.type not in ("date", "pdate") or f.identifier or (form, f.column) in NOT_CONTACTS:
                    continue
                values = frame[f.column]
                full = values.notna() & values.astype(str).str.fullmatch(_FULL_DATE)
                parts.append(pd.DataFrame({"SUBJID": frame.loc[full, "SUBJID"], "DATE": values[full]}))
        dates = pd.concat(parts, ignore_index=True)
        dates = dates[dates["DATE"] <= self.cutoff.isoformat()]
        return dates.groupby("SUBJID")["DATE"].max()

    # ------------------------------------------------------------------ checks and log
    def recheck(self, settings: StudySettings) -> None:
        """The loader's checks on the cut frames, with the cut-off as the data cut-off."""
        out = _Collector()
        for form, frame in self.frames.items():
            fields = self.layout.fields_of(form)
            text = pd.DataFrame({f.column: frame[f.column].astype("string").fillna("").astype(object)
                                 for f in fields}, index=frame.index)
            name = f"{self.files.get(form, form)} (cut at {self.cutoff.isoformat()})"
            _check_form(form, text, fields, self.layout, settings, name, out)
        enrolled = self.frames["ENROL"]["SUBJID"]
        for form, frame in self.frames.items():
            name = f"{self.files.get(form, form)} (cut at {self.cutoff.isoformat()})"
            _check_keys(form, frame, self.layout, enrolled, name, out)
        if out.problems:
            raise SubError(out.problems, f"the extract cut at {self.cutoff.isoformat()} (--cutoff) fails the "
                           f"loader's checks: {len(out.problems)} problem(s) in the cut records; the extract "
                           "holds data no cut-off rule makes consistent")

    def log_lines(self, settings: StudySettings) -> list[str]:
        kept = len(self.frames["ENROL"])
        lines = [(f"data cut-off {self.cutoff.isoformat()} (study data cut-off "
                  f"{settings.dates.data_cutoff.isoformat()}): the raw extract as known at the cut-off "
                  "(a partial date is after it only when its first possible day is)"),
                 (f"  subjects: {kept} of {self.subjects_before} kept; {self.removed_late} enrolled after the "
                  f"cut-off and {self.removed_incomplete} with enrolment forms dated after it removed from every form")]
        for form in self.frames:
            before, after = self.rows_before[form], len(self.frames[form])
            what = [f"{n} dropped ({reason})" for reason, n in self.dropped[form].items()]
            what += [f"{n} changed ({reason})" for reason, n in self.changed[form].items()]
            lines.append(f"  {form:<9}{before:>8} -> {after:>8} rows" + (f": {'; '.join(what)}" if what else ""))
        lines += [f"  {note}" for note in self.notes]
        return lines
