"""`sub synth`: a synthetic REVLIMID DUE study written as a raw EDC extract.

The generated study is shaped like the real one (624 Korean myeloma patients on lenalidomide and
dexamethasone, enrolled 2010 to the enrolment cut-off, observed up to six years or the data
cut-off) so that every later stage and the report can be exercised end to end. None of its numbers
are real: `write_extract` puts a SYNTHETIC.txt note beside the files, and the study settings say
`synthetic = true`.

How it is built:
- Columns, codes and file names come from the raw layout (`specs/raw/`); the clinical vocabulary
  (MedDRA terms with their rates, concomitant drugs, medical history) from the CSV tables in
  `synth_terms/`; dates and conventions from the study settings. Nothing here repeats a column list.
- Every form is generated column-wise with numpy over all subjects at once. The only Python loops
  run over treatment cycles (a few dozen) or over terms of the tables, never over subjects, so
  100,000 subjects take seconds.
- One random stream per part of the study, each seeded from (seed, part): the same seed and
  subject count give byte-identical files.
- Clinical coherence is built in rather than checked afterwards: a death with a fatal adverse event
  shares its date with the event's end; a discontinuation for an adverse event has an event with
  the drug withdrawn; every dose reduction or interruption for an adverse event has its event;
  the investigator's best response is the best of the visit responses.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import Problem, SubError
from ..paths import bundled_specs
from ..study import StudySettings
from .layout import Layout, load_layout

TERMS_DIR = Path(__file__).resolve().with_name("synth_terms")
NOTE_FILE = "SYNTHETIC.txt"

# The newly-diagnosed indication was added on this date (domain.md section 1): before it, a
# patient without prior therapy was treated off-label.
NDMM_APPROVAL = dt.date(2015, 9, 23)

# Causes written for deaths without a fatal adverse event: (text, English rendering, weight).
DISEASE_DEATH_CAUSES = (
    ("Disease progression (multiple myeloma)", "Disease progression (multiple myeloma)", 0.45),
    ("Progression of multiple myeloma", "Progression of multiple myeloma", 0.25),
    ("다발골수종 진행", "Progression of multiple myeloma", 0.20),
    ("Multiple myeloma aggravation", "Multiple myeloma aggravation", 0.10),
)

_EPOCH = np.datetime64("1970-01-01", "D")
_NONE = np.iinfo(np.int64).min  # "no date" in the int day arrays

# Order of the response categories in the layout's IMWG codelist (codes are the categories).
_IMWG = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE"]
_SD, _PD, _NE = 5, 6, 7


@dataclass(frozen=True)
class Rates:
    """The generator's knobs: shares and rates chosen so that the default study looks real.

    Shares are of enrolled subjects unless said otherwise. Targets (domain.md, sections 4-5, and
    Korean practice) are in the comments; the report of a default run shows what they give.
    """

    # Enrolment and routes
    sites_min: int = 20
    sites_max: int = 40
    pap_until_years: float = 2.0          # PAP mostly in the first two years after PMS start
    pap_share_early: float = 0.65
    pap_share_late: float = 0.02
    enrol_rise: float = 0.25              # enrolment density ~ (rise + t) on [0, 1]: rising over time
    # Demography (Korean myeloma on Rd: median age ~65, about 55% men)
    age_mean: float = 64.5
    age_sd: float = 10.5
    male_share: float = 0.55
    # Exclusions from the safety set (each a share of enrolled subjects): ~4%
    nodose: float = 0.015
    nofu: float = 0.015
    contract: float = 0.006
    dupl: float = 0.003
    consent: float = 0.003
    # Off-label use: no dexamethasone (lenalidomide alone)
    no_dex: float = 0.015
    # Treatment: planned cycles by best response (median cycles; lognormal spread)
    cycles_median: tuple = (16.0, 16.0, 15.0, 11.0, 8.0, 6.0, 2.5)  # sCR CR VGPR PR MR SD PD
    cycles_sigma: float = 0.75
    renal_rule_deviation: float = 0.07    # starting dose not by the renal rule
    # Adverse events
    ae_scale: float = 0.40                # multiplies every term's incidence
    pre_dose_ae: float = 0.10             # of subjects with a gap between consent and first dose
    late_ae: float = 0.15                 # of subjects followed > window after the last dose
    ae_partial_day: float = 0.06
    ae_partial_month: float = 0.012
    ae_korean: float = 0.15
    cm_korean: float = 0.20
    mh_korean: float = 0.15
    fatal_ae_given_death: float = 0.55
    # Efficacy
    best_response: tuple = (0.01, 0.04, 0.105, 0.29, 0.10, 0.27, 0.185)  # sCR CR VGPR PR MR SD PD
    never_assessed: float = 0.05
    visit_ne: float = 0.03
    bestresp_missing: float = 0.10
    # Monitoring review (ELIG.REVDAT): done this many days after the subject's last contact (at the
    # latest at the data cut-off, the final review); "no safety follow-up" is concluded only after
    # the follow-up visits the subject missed, about half a year after the last contact.
    review_lag_days: int = 30
    review_lag_no_follow_up_days: int = 182
    # Date an adverse event was reported (AE.RCVDAT): most within a month of the onset, some late
    # (found at a later visit or at monitoring), never after the data cut-off.
    ae_report_late: float = 0.12
    ae_report_days: int = 30
    ae_report_late_days: tuple[int, int] = (31, 365)


RATES = Rates()


# --------------------------------------------------------------------------------------------
# Public API


def synthesize(settings: StudySettings, n_subjects: int = 624, seed: int = 20161207, *,
               specs_dir: Path | None = None, rates: Rates = RATES) -> dict[str, pd.DataFrame]:
    """A synthetic raw extract: one frame per form, columns as the layout orders them, all text.

    Blank ("") means missing. Same settings, subject count and seed give the same frames.
    """
    if n_subjects < 1:
        raise SubError(Problem("sub synth", None, "subjects", str(n_subjects), "expected at least 1 subject"))
    if seed < 0:
        raise SubError(Problem("sub synth", None, "seed", str(seed), "expected a seed >= 0"))
    specs = _specs_dir(settings, specs_dir)
    gen = _Study(settings, load_layout(specs / "raw"), int(n_subjects), int(seed), rates)
    frames = gen.run()
    for frame in frames.values():
        frame.attrs["sub_synth"] = {"seed": int(seed), "n_subjects": int(n_subjects),
                                    "studyid": settings.study.studyid, "specs_dir": str(specs)}
    return frames


def _specs_dir(settings: StudySettings | None, specs_dir: Path | None) -> Path:
    """The given specs folder, else the one the settings were read from, else the bundled one."""
    if specs_dir is not None:
        return Path(specs_dir)
    source = Path(settings.source).parent if settings is not None and settings.source else None
    if source is not None and (source / "raw").is_dir():
        return source
    return bundled_specs()


def write_extract(frames: dict[str, pd.DataFrame], out_dir: Path, *, seed: int | None = None,
                  n_subjects: int | None = None, specs_dir: Path | None = None) -> list[Path]:
    """Write the frames as the extract's CSV files plus the SYNTHETIC.txt note; return the paths.

    UTF-8 without BOM, LF line ends, comma-separated, quoted only where needed. Everything is
    written into a temporary sibling folder first: a new folder appears whole by one rename; into
    an existing folder each file is moved by an atomic replace (other files there are left alone).
    """
    info = _synth_info(frames)
    if specs_dir is None and info.get("specs_dir"):
        specs_dir = Path(info["specs_dir"])
    layout = load_layout(_specs_dir(None, specs_dir) / "raw")
    seed = info.get("seed") if seed is None else seed
    n_subjects = info.get("n_subjects") if n_subjects is None else n_subjects
    payload: list[tuple[str, bytes]] = []
    for form in layout.forms.values():
        if form.form not in frames:
            raise SubError(Problem(form.file, None, None, form.form, "no frame for this form"))
        payload.append((form.file, _csv_bytes(frames[form.form], [f.column for f in layout.fields_of(form.form)],
                                              form.file)))
    payload.append((NOTE_FILE, _note(seed, n_subjects, info.get("studyid")).encode("utf-8")))

    out_dir = Path(out_dir).absolute()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.synth-", dir=out_dir.parent))
    try:
        for name, data in payload:
            (stage / name).write_bytes(data)
        fresh = not out_dir.exists() or (out_dir.is_dir() and not any(out_dir.iterdir()))
        if fresh:
            if out_dir.exists():
                out_dir.rmdir()
            os.replace(stage, out_dir)
        else:
            if not out_dir.is_dir():
                raise SubError(Problem(str(out_dir), None, None, None, "exists and is not a folder"))
            for name, _ in payload:
                os.replace(stage / name, out_dir / name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return [out_dir / name for name, _ in payload]


def translations() -> pd.DataFrame:
    """Every non-ASCII (Korean) text the generator can write, with its English rendering.

    Columns `Text`, `English`, one row per text, sorted: the shape of the SDTM translations sheet,
    so that a synthetic extract can be rendered into XPT v5 without unknown Korean text.
    """
    pairs: dict[str, str] = {}

    def collect(table: pd.DataFrame, text: str, english: str) -> None:
        for texts, renderings in zip(table[text], table[english]):
            for t, e in zip(texts.split("|"), renderings.split("|"), strict=True):
                if pairs.setdefault(t, e) != e:
                    raise SubError(Problem(str(TERMS_DIR), None, text, t, "text has two different English renderings"))

    collect(_load_table("ae_terms.csv"), "verbatim_ko", "verbatim_ko_en")
    collect(_load_table("mh_terms.csv"), "verbatim_ko", "verbatim_ko_en")
    cm = _load_table("cm_terms.csv")
    collect(cm, "cmterm_ko", "cmterm_ko_en")
    collect(cm, "indic_ko", "indic_ko_en")
    for text, english, _ in DISEASE_DEATH_CAUSES:
        pairs.setdefault(text, english)
    rows = sorted((t, e) for t, e in pairs.items() if not t.isascii())
    return pd.DataFrame(rows, columns=["Text", "English"])


def _synth_info(frames: dict[str, pd.DataFrame]) -> dict:
    for frame in frames.values():
        info = frame.attrs.get("sub_synth")
        if info:
            return dict(info)
    return {}


def _csv_bytes(frame: pd.DataFrame, columns: list[str], name: str) -> bytes:
    if list(frame.columns) != columns:
        raise SubError(Problem(name, 1, None, ",".join(map(str, frame.columns)),
                               f"columns differ from the raw layout: expected {','.join(columns)}"))
    text = frame.to_csv(index=False, lineterminator="\n", na_rep="")
    return text.encode("utf-8")


def _note(seed: int | None, n_subjects: int | None, studyid: str | None) -> str:
    return (
        "SYNTHETIC DATA - NOT REAL STUDY DATA\n"
        "\n"
        f"These files were made by `sub synth` (seed {seed if seed is not None else 'unknown'}, "
        f"{n_subjects if n_subjects is not None else 'unknown'} subjects) for the study "
        f"{studyid or 'in the settings'}.\n"
        "Every subject, date, event and result in them is invented by a random generator.\n"
        "They are not real study data: no number computed from them may be presented as a result of the study.\n"
        "Regenerate with: sub synth --subjects N --seed S --out FOLDER\n"
    )


# --------------------------------------------------------------------------------------------
# Small vectorised helpers


def _day(value: dt.date) -> int:
    return int((np.datetime64(value, "D") - _EPOCH).astype(np.int64))


def _iso(days: np.ndarray) -> np.ndarray:
    """int days -> 'YYYY-MM-DD' (object array); _NONE -> ''."""
    days = np.asarray(days, dtype=np.int64)
    out = np.full(days.shape, "", dtype=object)
    ok = days != _NONE
    if ok.any():
        out[ok] = np.datetime_as_string(days[ok].astype("datetime64[D]"), unit="D").astype(object)
    return out


def _partial(iso: np.ndarray, unknown_day: np.ndarray, unknown_month: np.ndarray) -> np.ndarray:
    out = iso.copy()
    day = unknown_day & ~unknown_month & (iso != "")
    month = unknown_month & (iso != "")
    if day.any():
        out[day] = np.char.add(iso[day].astype("U8"), "UK").astype(object)
    if month.any():
        out[month] = np.char.add(iso[month].astype("U5"), "UK-UK").astype(object)
    return out


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _add_years(days: np.ndarray, years: np.ndarray | int) -> np.ndarray:
    """Same month and day `years` later (29 Feb -> 28 Feb)."""
    year, month, day = _ymd(days)
    target = (year + years - 1970) * 12 + (month - 1)
    start = target.astype("datetime64[M]").astype("datetime64[D]")
    length = ((target + 1).astype("datetime64[M]").astype("datetime64[D]") - start).astype(np.int64)
    return (start - _EPOCH).astype(np.int64) + np.minimum(day, length) - 1


def _month_key(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _year_key(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)


def _pick(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    """Categorical draws with fixed probabilities (normalised)."""
    p = np.asarray(p, dtype=float)
    cum = np.cumsum(p / p.sum())
    cum[-1] = 1.0
    return np.searchsorted(cum, rng.random(size), side="right")


def _pick_rows(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a probability matrix."""
    cum = np.cumsum(p, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(p))[:, None]
    return np.minimum((u >= cum).sum(axis=1), p.shape[1] - 1)


def _variant(rng: np.random.Generator, options: list[list[str]], which: np.ndarray) -> np.ndarray:
    """For each row, one of the '|'-separated variants of its table row `which`."""
    out = np.empty(len(which), dtype=object)
    if len(which) == 0:
        return out
    counts = np.array([len(o) for o in options])
    k = np.floor(rng.random(len(which)) * counts[which]).astype(np.int64)
    flat = np.array([v for o in options for v in o], dtype=object)
    offset = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out[:] = flat[offset[which] + k]
    return out


def _fmt(values: np.ndarray, decimals: int, missing: np.ndarray | None = None) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if decimals == 0:
        out = np.round(values).astype(np.int64).astype(str).astype(object)
    else:
        out = np.char.mod(f"%.{decimals}f", np.round(values, decimals)).astype(object)
    if missing is not None:
        out[missing] = ""
    return out


# Reference ranges of the sites' laboratories in CRF units (creatinine: male, female), as lab reports
# print them. A site's laboratory is chosen by its number, not drawn: no random draw is added, so
# every other value of the extract stays what it was. None: a laboratory that prints no range.
_LAB_RANGES = (
    {"CREAT": ((0.7, 1.2), (0.5, 0.9)), "ANC": (1800, 7000), "PLT": (150000, 400000), "AST": (0, 40),
     "ALT": (0, 40), "TBIL": (0.2, 1.2)},
    {"CREAT": ((0.6, 1.2), (0.6, 1.2)), "ANC": (1500, 8000), "PLT": (130000, 400000), "AST": (5, 40),
     "ALT": (5, 41), "TBIL": (0.3, 1.2)},
    {"CREAT": ((0.67, 1.17), (0.51, 0.95)), "ANC": (2000, 7500), "PLT": (150000, 450000), "AST": (8, 38),
     "ALT": (4, 44), "TBIL": (0.2, 1.0)},
    None,
)
_LAB_OF_SITE = (3, 0, 1, 2, 0, 1, 2)  # site number modulo 7 -> laboratory (3: no range printed)
_RANGE_DECIMALS = {"CREAT": 2, "ANC": 0, "PLT": 0, "AST": 0, "ALT": 0, "TBIL": 1}


def _lab_ranges(siteid: np.ndarray, male: np.ndarray, missing: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """BASELINE <TEST>LO/<TEST>HI: each subject's site laboratory's range; blank without a result."""
    lab = np.array([_LAB_OF_SITE[int(s) % len(_LAB_OF_SITE)] for s in siteid], dtype=np.int64)
    out = {}
    for test, decimals in _RANGE_DECIMALS.items():
        lo, hi = np.full(len(lab), np.nan), np.full(len(lab), np.nan)
        for k, ranges in enumerate(_LAB_RANGES):
            if ranges is None:
                continue
            at = lab == k
            limits = ranges[test]
            if test == "CREAT":
                lo[at] = np.where(male[at], limits[0][0], limits[1][0])
                hi[at] = np.where(male[at], limits[0][1], limits[1][1])
            else:
                lo[at], hi[at] = limits
        blank = missing[test] | np.isnan(lo)
        out[f"{test}LO"] = _fmt(np.nan_to_num(lo), decimals, blank)
        out[f"{test}HI"] = _fmt(np.nan_to_num(hi), decimals, blank)
    return out


def _line_numbers(subject: np.ndarray) -> np.ndarray:
    """1, 2, ... within each subject of rows already sorted by subject."""
    n = len(subject)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    start = np.r_[True, subject[1:] != subject[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    return np.arange(n) - first + 1


def _within(lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniform integer day in [lo, hi] (hi >= lo assumed)."""
    span = np.maximum(hi - lo, 0) + 1
    return lo + np.floor(rng.random(len(lo)) * span).astype(np.int64)


def _load_table(name: str) -> pd.DataFrame:
    return pd.read_csv(TERMS_DIR / name, dtype=str, keep_default_na=False)


class _Codes:
    """Raw codes of the layout's codelists, looked up by code or by submission value."""

    def __init__(self, layout: Layout):
        self.layout = layout

    def __call__(self, codelist: str, value: str) -> str:
        codes = self.layout.codelists.get(codelist)
        if codes is None:
            raise SubError(Problem("specs/raw/codes.csv", None, "codelist", codelist,
                                   "codelist needed by sub synth is missing"))
        if value in codes:
            return str(value)
        hits = [c.code for c in codes.values() if c.submission_value == value]
        if len(hits) != 1:
            raise SubError(Problem("specs/raw/codes.csv", None, codelist, value,
                                   "sub synth needs exactly one code with this code or submission value"))
        return hits[0]

    def many(self, codelist: str, values: list[str]) -> np.ndarray:
        return np.array([self(codelist, v) for v in values], dtype=object)


# --------------------------------------------------------------------------------------------
# The study


class _Study:
    def __init__(self, settings: StudySettings, layout: Layout, n: int, seed: int, rates: Rates):
        self.s = settings
        self.layout = layout
        self.n = n
        self.seed = seed
        self.r = rates
        self.code = _Codes(layout)
        d = settings.dates
        self.cutoff = _day(d.data_cutoff)
        self.enrol_end = _day(d.enrolment_cutoff)
        self.pms_start = _day(d.pms_start)
        self.te_days = settings.conventions.treatment_emergent_days
        self.ae_terms = _load_table("ae_terms.csv")
        self.cm_terms = _load_table("cm_terms.csv")
        self.mh_terms = _load_table("mh_terms.csv")

    def rng(self, part: str) -> np.random.Generator:
        # A new part goes at the end: every other part keeps its stream (same seed, same data).
        parts = ["sites", "demog", "disease", "baseline", "course", "dosing", "dex", "eos", "ae", "resp", "mh", "cm",
                 "preg", "ae_report"]
        return np.random.default_rng([self.seed, parts.index(part)])

    def run(self) -> dict[str, pd.DataFrame]:
        self._subjects()
        self._demography()
        self._disease()
        self._baseline()
        self._course()
        self._dosing()
        self._end_of_study()
        self._dexamethasone()
        self._adverse_events()
        self._responses()
        self._medical_history()
        self._conmeds()
        self._eligibility()
        self._pregnancy()
        self._ae_reports()
        return self._frames()

    # ---------------------------------------------------------------- enrolment
    def _subjects(self) -> None:
        n, r = self.n, self.r
        rng = self.rng("sites")
        n_sites = int(min(n, np.clip(round(r.sites_min + n / 60), r.sites_min, r.sites_max)))
        site_ids = np.sort(rng.choice(np.arange(101, 400), size=n_sites, replace=False))
        weight = rng.lognormal(0.0, 0.9, n_sites)
        start = self.pms_start + 7
        span = self.enrol_end - start
        # Early sites (the PAP era) open at the start; the others join over the first five years.
        opens = start + np.floor(rng.random(n_sites) * min(span, 5 * 365)).astype(np.int64)
        opens[rng.random(n_sites) < 0.35] = start
        opens[int(np.argmax(weight))] = start
        # Enrolment rises over the period: density ~ (a + t) on [0, 1].
        a = r.enrol_rise
        t = -a + np.sqrt(a * a + 2 * rng.random(n) * (a + 0.5))
        enrol = start + np.floor(np.clip(t, 0, 1) * span).astype(np.int64)
        # Site: weighted among the sites open at the enrolment date (Gumbel-max, all at once).
        score = np.log(weight)[None, :] + rng.gumbel(size=(n, n_sites))
        score[opens[None, :] > enrol[:, None]] = -np.inf
        site = np.argmax(score, axis=1)
        tiebreak = rng.random(n)
        order = np.lexsort((tiebreak, enrol, site))
        site, enrol = site[order], enrol[order]
        seq = _line_numbers(site)
        width = max(3, len(str(int(seq.max()))))
        site_txt = site_ids[site].astype(str)
        self.siteid = site_txt.astype(object)
        self.subjid = np.char.add(np.char.add(site_txt, "-"), np.char.zfill(seq.astype(str), width)).astype(object)
        self.site = site
        self.site_factor = rng.lognormal(0.0, 0.3, n_sites)[site]  # site's reporting habit
        self.enrol = enrol
        early = enrol < self.pms_start + int(r.pap_until_years * 365.25)
        self.pap = rng.random(n) < np.where(early, r.pap_share_early, r.pap_share_late)
        gap = np.where(rng.random(n) < 0.7, 0, 1 + rng.geometric(0.25, n))
        self.icdat = enrol - np.minimum(gap, 20)
        offset = np.where(rng.random(n) < 0.45, 0, np.where(rng.random(n) < 0.9, rng.integers(1, 8, n),
                                                              rng.integers(8, 15, n)))
        self.first_dose = enrol + offset
        # Safety exclusions (monitoring review): mutually exclusive.
        u = rng.random(n)
        cuts = np.cumsum([r.nodose, r.nofu, r.contract, r.dupl, r.consent])
        self.safreas = np.select([u < cuts[0], u < cuts[1], u < cuts[2], u < cuts[3], u < cuts[4]],
                                 ["NODOSE", "NOFU", "CONTRACT", "DUPL", "CONSENT"], "").astype(object)
        self.dosed = self.safreas != "NODOSE"
        self.followed = self.dosed & (self.safreas != "NOFU")
        self.has_dex = self.dosed & (rng.random(n) >= r.no_dex)

    # ---------------------------------------------------------------- demography
    def _demography(self) -> None:
        n, r = self.n, self.r
        rng = self.rng("demog")
        self.age = np.clip(np.round(rng.normal(r.age_mean, r.age_sd, n)), 35, 90).astype(np.int64)
        self.male = rng.random(n) < r.male_share
        anniversary = _add_years(self.icdat, -self.age)
        self.birth = anniversary - rng.integers(0, 365, n)
        surnames = np.array(list("KLPCJYHSGOMBNW"))
        p_surname = np.array([22, 15, 9, 9, 7, 5, 5, 6, 2, 2, 2, 2, 2, 2], dtype=float)
        given = np.array(list("SJHYMKDEWBCGT"))
        # written as on Korean CRFs, letters separated by dots ("K.S.Y")
        initials = np.char.add(np.char.add(surnames[_pick(rng, p_surname, n)], "."),
                               given[rng.integers(0, len(given), n)])
        three = rng.random(n) < 0.85
        initials = np.where(three, np.char.add(np.char.add(initials, "."), given[rng.integers(0, len(given), n)]),
                            initials)
        self.initials = initials.astype(object)
        hospno = rng.integers(10_000_000, 100_000_000, n)
        for _ in range(100):  # make the record numbers unique (a handful of redraws at most)
            _, first = np.unique(hospno, return_index=True)
            dup = np.ones(n, dtype=bool)
            dup[first] = False
            if not dup.any():
                break
            hospno[dup] = rng.integers(10_000_000, 100_000_000, int(dup.sum()))
        self.hospno = hospno.astype(str).astype(object)

    # ---------------------------------------------------------------- disease
    def _disease(self) -> None:
        n = self.n
        rng = self.rng("disease")
        ndmm_ok = self.enrol >= _day(NDMM_APPROVAL)
        zero = rng.random(n) < np.where(ndmm_ok, 0.18, 0.012)
        lines = 1 + _pick(rng, [0.42, 0.30, 0.16, 0.08, 0.04], n)
        self.prlines = np.where(zero, 0, lines)
        years = rng.lognormal(np.log(1.6 + 0.7 * self.prlines), 0.5)
        before = np.where(zero, rng.integers(14, 120, n), np.round(years * 365.25).astype(np.int64))
        diag = self.icdat - before
        diag = np.maximum(diag, self.birth + 30 * 365)
        diag = np.minimum(diag, self.icdat - 7)
        self.diag = diag
        before_month = _month_key(diag) < _month_key(self.icdat)
        before_year = _year_key(diag) < _year_key(self.icdat)
        u = rng.random(n)
        self.diag_uk_day = before_month & (u < 0.06)
        self.diag_uk_month = before_year & (u >= 0.06) & (u < 0.075)
        self.iss = _pick(rng, [0.24, 0.36, 0.36, 0.04], n)  # I II III missing
        self.mprot = _pick(rng, [0.50, 0.24, 0.025, 0.005, 0.18, 0.03, 0.02], n)  # IGG IGA IGD IGM LC NS missing
        young = np.select([self.age < 60, self.age < 65, self.age < 70], [0.45, 0.30, 0.06], 0.0)
        self.prsct = (rng.random(n) < young) & (self.prlines > 0)
        self.ecog = _pick(rng, [0.24, 0.46, 0.20, 0.06, 0.01, 0.03], n)  # 0..4, missing

    # ---------------------------------------------------------------- baseline
    def _baseline(self) -> None:
        n = self.n
        rng = self.rng("baseline")
        male = self.male
        self.vsdat = self.first_dose - np.where(rng.random(n) < 0.5, 0, rng.integers(1, 15, n))
        self.height = np.where(male, rng.normal(167.5, 6.0, n), rng.normal(154.5, 5.5, n)).round(1)
        self.weight = np.clip(np.where(male, rng.normal(63.5, 9.5, n), rng.normal(55.0, 8.5, n)), 35, 110).round(1)
        self.dialysis = rng.random(n) < 0.03
        cast = rng.random(n) < 0.10
        creat = np.where(male, rng.lognormal(np.log(0.95), 0.35, n), rng.lognormal(np.log(0.78), 0.35, n))
        creat = np.where(cast, rng.lognormal(np.log(2.3), 0.45, n), creat)
        creat = np.where(self.dialysis, rng.lognormal(np.log(6.0), 0.3, n), creat)
        self.creat = np.clip(creat, 0.3, 15).round(2)
        self.crcl = (140 - self.age) * self.weight / (72 * self.creat) * np.where(male, 1.0, 0.85)
        self.anc = np.clip(np.round(rng.lognormal(np.log(2600), 0.5, n), -1), 300, 20000)
        self.plt = np.clip(np.round(rng.lognormal(np.log(165000), 0.45, n), -3), 20000, 600000)
        self.ast = np.clip(rng.lognormal(np.log(22), 0.4, n), 6, 400).round(0)
        self.alt = np.clip(rng.lognormal(np.log(19), 0.5, n), 4, 400).round(0)
        self.tbil = np.clip(rng.lognormal(np.log(0.55), 0.4, n), 0.1, 5).round(2)
        self.miss = {name: rng.random(n) < p for name, p in
                     (("HEIGHT", 0.04), ("WEIGHT", 0.02), ("CREAT", 0.015), ("ANC", 0.03), ("PLT", 0.03),
                      ("AST", 0.05), ("ALT", 0.05), ("TBIL", 0.08))}
        # Starting dose by Cockcroft-Gault CrCl (domain.md section 5), with a few deviations.
        rule = np.select([self.dialysis, self.crcl < 30, self.crcl < 50], [3, 2, 1], 0)
        self.renal_rule = rule
        dose = np.array([25.0, 10.0, 15.0, 5.0])[rule]
        qod = rule == 2
        dev = rng.random(n) < self.r.renal_rule_deviation
        alt_dose = np.select([rule == 0, rule == 1, rule == 2], [np.where(rng.random(n) < 0.6, 15.0, 10.0),
                             np.where(rng.random(n) < 0.6, 25.0, 5.0), 10.0], 10.0)
        self.start_dose = np.where(dev, alt_dose, dose)
        self.start_qod = np.where(dev, False, qod)

    # ---------------------------------------------------------------- course: response, cycles, end reason
    def _course(self) -> None:
        n, r = self.n, self.r
        rng = self.rng("course")
        # Prognosis moves the draw along the categories (u ** a: a > 1 is better, a < 1 worse).
        good = 0.30 * (self.prlines <= 1) + 0.10 * (self.iss == 0) - 0.35 * (self.prlines >= 3) - 0.20 * (self.iss == 2)
        u = rng.random(n) ** np.exp(good)
        cum = np.cumsum(r.best_response)
        cum = cum / cum[-1]
        self.best = np.searchsorted(cum, u, side="right")  # 0=sCR .. 6=PD
        median = np.array(r.cycles_median)[self.best]
        self.cycles = np.maximum(1, np.ceil(rng.lognormal(np.log(median), r.cycles_sigma))).astype(np.int64)
        reasons = np.array(["PD", "AE", "DTH", "COMPLETED", "PHYS", "WDC", "LTFU", "TRANS", "OTH"], dtype=object)
        p = np.array([[0.40, 0.12, 0.06, 0.14, 0.12, 0.06, 0.04, 0.03, 0.03],
                      [0.50, 0.13, 0.08, 0.06, 0.09, 0.06, 0.04, 0.02, 0.02],
                      [0.70, 0.06, 0.12, 0.00, 0.05, 0.03, 0.02, 0.01, 0.01]])
        group = np.select([self.best <= 3, self.best <= 5], [0, 1], 2)
        self.reason = reasons[_pick_rows(rng, p[group])]
        self.fatal_ae = (self.reason == "DTH") & (rng.random(n) < r.fatal_ae_given_death)
        years = self.s.dates.max_follow_up_years
        self.fu_limit = _add_years(self.first_dose, years) - 1
        self.limit = np.minimum(self.fu_limit, self.cutoff)

    # ---------------------------------------------------------------- REVLIMID dosing periods
    def _dosing(self) -> None:
        n = self.n
        rng = self.rng("dosing")
        on = self.dosed.copy()
        cycles = np.where(self.followed, self.cycles, 1)
        cyc = self.first_dose.copy()
        dose = self.start_dose.copy()
        qod = self.start_qod.copy()
        raised = np.zeros(n, dtype=bool)
        renal_start = (self.renal_rule == 1) | (self.renal_rule == 2)
        self.t_end = np.full(n, _NONE, dtype=np.int64)       # last dose date (known end)
        self.ongoing = np.zeros(n, dtype=bool)               # on treatment at the data cut-off
        self.completed_6y = np.zeros(n, dtype=bool)          # reached the follow-up limit
        self.k_last = np.zeros(n, dtype=np.int64)
        self.last_cyc_start = np.full(n, _NONE, dtype=np.int64)
        # Cycles whose start dates the dexamethasone periods need.
        self.dex_change = np.where(rng.random(n) < 0.12, rng.integers(6, 14, n), 0)  # 40 -> 20 mg at this cycle
        self.dex_stop = np.where(rng.random(n) < 0.06, rng.integers(6, 20, n), 0)   # dex stopped before this cycle
        self.cyc_start_at = {k: np.full(n, _NONE, dtype=np.int64) for k in (4, 5)}
        self.dex_change_start = np.full(n, _NONE, dtype=np.int64)
        self.dex_stop_start = np.full(n, _NONE, dtype=np.int64)
        stop_day = np.where(np.isin(self.reason, ["AE", "DTH"]), rng.integers(1, 22, n), 21)
        stop_day = np.where(self.followed, stop_day, 1)

        starts = [dict(subj=np.flatnonzero(on), cycst=np.ones(int(on.sum()), np.int64), stdat=cyc[on],
                       dose=dose[on], qod=qod[on], adj=np.full(int(on.sum()), "", object),
                       intr=np.full(int(on.sum()), "", object))]
        ends = []
        mods = []  # dose modifications for adverse events: subject, date, kind (REDUCED/INTERRUPTED)
        k = 0
        while on.any():
            k += 1
            idx = np.flatnonzero(on)
            start = cyc[idx]
            for key in (4, 5):
                if key == k:
                    self.cyc_start_at[key][idx] = start
            hit = self.dex_change[idx] == k
            self.dex_change_start[idx[hit]] = start[hit]
            hit = self.dex_stop[idx] == k
            self.dex_stop_start[idx[hit]] = start[hit]
            self.k_last[idx] = k
            self.last_cyc_start[idx] = start
            last_planned = cycles[idx] == k
            m = len(idx)
            # What happens at the end of this cycle to those who go on.
            u = rng.random(m)
            can_reduce = dose[idx] > 5
            p_red = np.where(k <= 3, 0.085, np.where(k <= 8, 0.045, 0.02)) * can_reduce
            p_int = 0.025
            p_up = np.where(renal_start[idx] & ~raised[idx] & (k >= 2) & ~qod[idx] & (dose[idx] == 10), 0.012, 0.0)
            reduce = (u < p_red) & ~last_planned
            interrupt_only = (u >= p_red) & (u < p_red + p_int) & ~last_planned
            increase = (u >= p_red + p_int) & (u < p_red + p_int + p_up) & ~last_planned
            with_break = reduce & (rng.random(m) < 0.6) | interrupt_only
            stop = np.where(with_break, rng.integers(8, 22, m), 21)
            stop = np.where(last_planned, stop_day[idx], stop)
            last_dose = start + stop - 1
            jitter = np.where(rng.random(m) < 0.8, 0, rng.integers(1, 8, m))
            pause = np.where(with_break, rng.integers(7, 29, m), jitter)
            next_start = start + 28 + pause
            limit = self.limit[idx]
            # Treatment ends: planned last cycle, or the observation limit before the next cycle.
            ends_here = last_planned | (next_start > limit)
            at_cutoff = ends_here & ~last_planned & (self.fu_limit[idx] > self.cutoff)
            at_cutoff |= last_planned & (last_dose > self.cutoff) & (self.fu_limit[idx] > self.cutoff)
            at_6y = ends_here & ~at_cutoff & ((~last_planned) | (last_dose > self.fu_limit[idx]))
            last_dose = np.minimum(last_dose, limit)
            self.ongoing[idx[at_cutoff]] = True
            self.completed_6y[idx[at_6y]] = True
            done = ends_here
            self.t_end[idx[done & ~at_cutoff]] = last_dose[done & ~at_cutoff]
            # A new period starts next cycle after a dose change or an interruption.
            change = (reduce | interrupt_only | increase) & ~done
            if change.any():
                ci = idx[change]
                new_dose = dose[ci].copy()
                red_c, up_c, brk_c = reduce[change], increase[change], with_break[change]
                new_dose[red_c] = np.select([new_dose[red_c] >= 25, new_dose[red_c] >= 15, new_dose[red_c] >= 10],
                                            [15.0, 10.0, 5.0], 5.0)
                new_dose[up_c] = 25.0
                adj = np.where(red_c, np.where(rng.random(len(ci)) < 0.85, "AE", "OTH"), np.where(up_c, "RENAL", ""))
                ends.append(dict(subj=ci, cycen=np.full(len(ci), k, np.int64), endat=last_dose[change]))
                starts.append(dict(subj=ci, cycst=np.full(len(ci), k + 1, np.int64), stdat=next_start[change],
                                   dose=new_dose, qod=qod[ci], adj=adj.astype(object),
                                   intr=np.where(brk_c, "Y", "N").astype(object)))
                for_ae = (adj == "AE") | (brk_c & (adj == "") & (rng.random(len(ci)) < 0.75))
                kind = np.where(brk_c, "DRUG INTERRUPTED", "DOSE REDUCED")
                mods.append(dict(subj=ci[for_ae], date=last_dose[change][for_ae], kind=kind[for_ae].astype(object),
                                 period_start=self.last_cyc_start[ci][for_ae]))
                dose[ci] = new_dose
                raised[ci] |= up_c
            # Close the final period.
            if done.any():
                di = idx[done]
                open_end = at_cutoff[done]
                ends.append(dict(subj=di, cycen=np.where(open_end, -1, k),
                                 endat=np.where(open_end, _NONE, last_dose[done])))
            cyc[idx] = next_start
            on[idx[done]] = False
        self.periods = _join_periods(starts, ends)
        self.dose_mods = _concat(mods, ["subj", "date", "kind", "period_start"])

    # ---------------------------------------------------------------- end of study
    def _end_of_study(self) -> None:
        n = self.n
        rng = self.rng("eos")
        status = np.full(n, "", dtype=object)
        reason = np.full(n, "", dtype=object)
        eos = np.full(n, _NONE, dtype=np.int64)
        last = np.full(n, _NONE, dtype=np.int64)
        death = np.zeros(n, dtype=bool)
        dthdat = np.full(n, _NONE, dtype=np.int64)
        fatal_onset = np.full(n, _NONE, dtype=np.int64)
        limit = self.limit
        t_end = np.where(self.t_end == _NONE, self.first_dose, self.t_end)  # safe arithmetic

        nodose = ~self.dosed
        why = np.array(["WDC", "PHYS", "TRANS", "OTH"], dtype=object)[_pick(rng, [0.4, 0.3, 0.15, 0.15], n)]
        d = np.minimum(self.enrol + rng.integers(0, 31, n), self.cutoff)
        status[nodose], reason[nodose], eos[nodose], last[nodose] = "DISCONTINUED", why[nodose], d[nodose], d[nodose]

        nofu = self.dosed & ~self.followed
        why = np.where(rng.random(n) < 0.7, "LTFU", "TRANS").astype(object)
        fd = self.first_dose
        status[nofu], reason[nofu], eos[nofu], last[nofu] = "DISCONTINUED", why[nofu], fd[nofu], fd[nofu]

        ongo = self.followed & self.ongoing
        contact = np.maximum(self.last_cyc_start, self.cutoff - rng.integers(0, 43, n))
        status[ongo], last[ongo] = "ONGOING", contact[ongo]

        six = self.followed & self.completed_6y & ~self.ongoing
        status[six], eos[six], last[six] = "COMPLETED", self.fu_limit[six], self.fu_limit[six]

        rest = self.followed & ~self.ongoing & ~self.completed_6y
        why = self.reason
        after = 28 + np.floor(rng.exponential(25.0, n)).astype(np.int64)
        default_end = np.minimum(t_end + after, limit)
        # Deaths: with a fatal adverse event (the event ends on the death date) or of the disease.
        dth = rest & (why == "DTH")
        fatal = dth & self.fatal_ae
        onset = np.maximum(t_end - rng.integers(0, 4, n), self.first_dose)
        dday = np.where(fatal, np.minimum(np.maximum(onset + rng.integers(1, 31, n), t_end), limit),
                        np.minimum(t_end + rng.integers(1, 61, n), limit))
        death[dth], dthdat[dth] = True, dday[dth]
        fatal_onset[fatal] = np.minimum(onset[fatal], dday[fatal])
        status[dth], reason[dth], eos[dth], last[dth] = "DISCONTINUED", "DTH", dday[dth], dday[dth]
        ltfu = rest & (why == "LTFU")
        lost = np.minimum(t_end + rng.integers(0, 15, n), limit)
        status[ltfu], reason[ltfu], eos[ltfu], last[ltfu] = "DISCONTINUED", "LTFU", lost[ltfu], lost[ltfu]
        done = rest & (why == "COMPLETED")
        status[done], eos[done], last[done] = "COMPLETED", default_end[done], default_end[done]
        other = rest & ~dth & ~ltfu & ~done
        end = default_end
        status[other], reason[other], eos[other], last[other] = "DISCONTINUED", why[other], end[other], end[other]

        self.eos_status, self.eos_reason, self.eosdat, self.lstcndat = status, reason, eos, last
        self.death, self.dthdat, self.fatal_onset = death, dthdat, fatal_onset
        self.fatal_ae = fatal
        # For windows: the end of treatment exposure as far as it is known at the last contact.
        self.exposure_end = np.where(self.ongoing, last, t_end)

    # ---------------------------------------------------------------- dexamethasone
    def _dexamethasone(self) -> None:
        n = self.n
        rng = self.rng("dex")
        who = self.has_dex
        dose0 = np.where((self.age >= 75) | (rng.random(n) < 0.05), 20.0, 40.0)
        kl = self.k_last
        ongoing = self.ongoing
        t_end = np.where(ongoing, self.cutoff, self.t_end)
        rows = []
        # Cycles 1-4: days 1-4, 9-12, 17-20.
        last_intensive = np.where(kl >= 4, self.cyc_start_at[4], self.last_cyc_start)
        end_a = np.minimum(last_intensive + 19, t_end)
        open_a = ongoing & (kl <= 4)
        rows.append(dict(subj=np.flatnonzero(who), stdat=self.first_dose[who],
                         endat=np.where(open_a, _NONE, end_a)[who], dose=dose0[who],
                         days=np.full(int(who.sum()), 12, np.int64)))
        # From cycle 5: days 1-4; maybe reduced to 20 mg, maybe stopped early.
        later = who & (kl >= 5)
        stop_at = np.where((self.dex_stop > 5) & (self.dex_stop <= kl), self.dex_stop, 0)
        change_at = np.where((self.dex_change > 5) & (self.dex_change <= kl) & (dose0 == 40)
                             & ((stop_at == 0) | (self.dex_change < stop_at)), self.dex_change, 0)
        stopped = stop_at > 0
        end_final = np.where(stopped, self.dex_stop_start - 28 + 3, np.minimum(self.last_cyc_start + 3, t_end))
        end_final = np.maximum(end_final, self.cyc_start_at[5])
        open_final = ongoing & ~stopped
        changed = later & (change_at > 0)
        b_end = np.where(changed, self.dex_change_start - 28 + 3, end_final)
        b_open = np.where(changed, False, open_final)
        rows.append(dict(subj=np.flatnonzero(later), stdat=self.cyc_start_at[5][later],
                         endat=np.where(b_open, _NONE, b_end)[later], dose=dose0[later],
                         days=np.full(int(later.sum()), 4, np.int64)))
        rows.append(dict(subj=np.flatnonzero(changed), stdat=self.dex_change_start[changed],
                         endat=np.where(open_final, _NONE, np.maximum(end_final, self.dex_change_start))[changed],
                         dose=np.full(int(changed.sum()), 20.0), days=np.full(int(changed.sum()), 4, np.int64)))
        dex = _concat(rows, ["subj", "stdat", "endat", "dose", "days"])
        order = np.lexsort((dex["stdat"], dex["subj"]))
        self.dex = {k: v[order] for k, v in dex.items()}

    # ---------------------------------------------------------------- adverse events
    def _adverse_events(self) -> None:
        n, r = self.n, self.r
        rng = self.rng("ae")
        terms = self.ae_terms
        inc = terms["incidence"].astype(float).to_numpy() * r.ae_scale
        onset_kind = terms["onset"].to_numpy()
        recur = terms["recur"].astype(float).to_numpy()
        kind = terms["kind"].to_numpy()
        safety = self.followed
        fd = self.first_dose
        last = self.lstcndat
        exp_end = np.where(safety, self.exposure_end, fd)
        span = np.maximum(exp_end - fd + 1, 1)
        expo = np.clip((span / 210.0) ** 0.45, 0.3, 2.2)
        frailty = rng.gamma(1.6, 1 / 1.6, n) * self.site_factor * np.where(self.age >= 65, 1.15, 1.0)
        renal_poor = (self.crcl < 30) | self.dialysis
        parts = []
        # Background events, term by term over all subjects.
        for t in range(len(terms)):
            mult = frailty * expo * np.where(renal_poor & (kind[t] == "haem"), 1.4, 1.0)
            p = 1.0 - np.exp(-inc[t] * mult)
            has = safety & (rng.random(n) < p)
            subj = np.flatnonzero(has)
            if len(subj) == 0:
                continue
            episodes = 1 + np.minimum(rng.poisson(recur[t] * expo[subj]), 3)
            count = np.repeat(episodes, episodes)
            subj = np.repeat(subj, episodes)
            m = len(subj)
            if onset_kind[t] == "early":
                frac = rng.beta(0.8, 3.0, m)
            elif onset_kind[t] == "late":
                frac = rng.beta(2.0, 1.2, m)
            else:
                frac = rng.random(m)
            # Recurrences do not overlap: episode j of k falls in the j-th k-th of the exposure and
            # ends before the next part begins.
            j = _line_numbers(subj) - 1
            part = span[subj] / count
            onset = fd[subj] + np.floor(part * (j + frac)).astype(np.int64)
            room = np.where(j < count - 1, fd[subj] + np.floor(part * (j + 1)).astype(np.int64) - onset - 1, 10**6)
            tail = (rng.random(m) < 0.05) & (count == 1)  # within the treatment-emergent window after the last dose
            onset = np.where(tail & ~self.ongoing[subj], exp_end[subj] + rng.integers(1, self.te_days + 1, m), onset)
            onset = np.minimum(onset, last[subj])
            parts.append(dict(subj=subj, term=np.full(m, t), onset=onset, src=np.full(m, "bg", object),
                              room=np.maximum(room, 0)))

        def add(subj: np.ndarray, term: np.ndarray, onset: np.ndarray, src: str | np.ndarray) -> None:
            m = len(subj)
            parts.append(dict(subj=subj, term=term, onset=onset, room=np.full(m, 10**6),
                              src=np.broadcast_to(np.asarray(src, object), (m,))))

        # Events behind dose reductions and interruptions.
        mods = self.dose_mods
        if len(mods["subj"]):
            m = len(mods["subj"])
            onset = np.maximum(mods["date"] - rng.integers(0, 5, m), mods["period_start"])
            add(mods["subj"], _pick(rng, terms["w_dosemod"].astype(float).to_numpy(), m), onset, mods["kind"])
        # Events that made the subject stop REVLIMID.
        subj = np.flatnonzero(safety & (self.eos_reason == "AE") & (self.t_end != _NONE))
        onset = np.maximum(self.t_end[subj] - rng.integers(0, 11, len(subj)), fd[subj])
        add(subj, _pick(rng, terms["w_withdraw"].astype(float).to_numpy(), len(subj)), onset, "DRUG WITHDRAWN")
        # Fatal events: their end is the death date.
        subj = np.flatnonzero(self.fatal_ae)
        weight = inc * terms["p_fatal"].astype(float).to_numpy()
        add(subj, _pick(rng, weight, len(subj)), self.fatal_onset[subj], "FATAL")
        # A few events between consent and the first dose (not treatment-emergent) ...
        anyt = np.flatnonzero((onset_kind == "any") & (kind != "haem"))
        subj = np.flatnonzero(safety & (self.icdat < fd) & (rng.random(n) < r.pre_dose_ae))
        add(subj, anyt[_pick(rng, inc[anyt], len(subj))], _within(self.icdat[subj], fd[subj] - 1, rng), "PRE")
        # ... and a few long after the last dose (beyond the treatment-emergent window).
        late_ok = safety & ~self.ongoing & (self.t_end != _NONE) & (last > self.t_end + self.te_days)
        subj = np.flatnonzero(late_ok & (rng.random(n) < r.late_ae))
        onset = _within(self.t_end[subj] + self.te_days + 1, last[subj], rng)
        add(subj, anyt[_pick(rng, inc[anyt], len(subj))], onset, "LATE")
        ae = _concat(parts, ["subj", "term", "onset", "src", "room"])
        order = np.lexsort((ae["term"], ae["onset"], ae["subj"]))
        ae = {k: v[order] for k, v in ae.items()}
        self.ae = self._ae_details(ae, rng)

    def _ae_details(self, ae: dict, rng: np.random.Generator) -> dict:
        terms = self.ae_terms
        subj, t, onset, src = ae["subj"], ae["term"], ae["onset"], ae["src"]
        m = len(subj)
        p_ser = terms["p_serious"].astype(float).to_numpy()[t]
        p_g3 = terms["p_grade3"].astype(float).to_numpy()[t]
        dur_med = terms["duration_days"].astype(float).to_numpy()[t]
        fatal = src == "FATAL"
        linked = np.isin(src, ["DOSE REDUCED", "DRUG INTERRUPTED", "DRUG WITHDRAWN"])
        pre, late = src == "PRE", src == "LATE"
        elderly = self.age[subj] >= 75
        ser = rng.random(m) < np.minimum(p_ser * np.where(elderly, 1.2, 1.0), 0.99)
        ser |= (src == "DRUG WITHDRAWN") & (rng.random(m) < 0.25)
        ser |= fatal
        hi = rng.random(m) < np.where(ser, np.maximum(p_g3, 0.65), np.where(linked, np.maximum(p_g3, 0.7), p_g3 * 0.6))
        grade = np.where(hi, np.where(rng.random(m) < 0.75, 3, 4), np.where(rng.random(m) < 0.55, 1, 2))
        grade = np.where(fatal, 5, grade)
        sev = np.minimum(grade, 3)
        noise = (rng.random(m) < 0.07) & ~fatal
        sev = np.where(noise, np.clip(sev + np.where(rng.random(m) < 0.5, -1, 1), 1, 3), sev)
        # Causality: the term's usual judgement, then the WHO-UMC category.
        mode = terms["causality"].to_numpy()[t]
        cats = ["CERTAIN", "PROBABLE", "POSSIBLE", "UNLIKELY", "CONDITIONAL", "UNASSESSABLE"]
        modes = ["PROBABLE", "POSSIBLE", "UNLIKELY"]
        table = np.array([[0.06, 0.44, 0.36, 0.08, 0.03, 0.03],
                          [0.02, 0.18, 0.50, 0.22, 0.05, 0.03],
                          [0.00, 0.04, 0.22, 0.66, 0.04, 0.04]])
        which = pd.Index(modes).get_indexer(mode)
        if (which < 0).any():
            raise SubError(Problem(str(TERMS_DIR / "ae_terms.csv"), None, "causality", str(mode[which < 0][0]),
                                   f"expected one of {modes}"))
        p = table[which] if m else np.zeros((0, 6))
        p[linked] = table[0] * np.array([1, 1, 1, 0.3, 1, 1])
        p[pre | late] = np.array([0.0, 0.0, 0.08, 0.80, 0.04, 0.08])
        causal = np.array(cats, dtype=object)[_pick_rows(rng, p)] if m else np.zeros(0, dtype=object)
        # Dates and outcome.
        last = self.lstcndat[subj]
        dur = np.minimum(np.floor(rng.lognormal(np.log(dur_med), 0.8, m)).astype(np.int64), ae["room"])
        end = np.where(fatal, self.dthdat[subj], onset + dur)
        ongoing = (end > last) & ~fatal
        ltfu = self.eos_reason[subj] == "LTFU"
        died = self.death[subj]
        u = rng.random(m)
        still = np.where(ltfu & (u < 0.5), "UNKNOWN",
                         np.where(died | (u < 0.65), "NOT RECOVERED/NOT RESOLVED", "RECOVERING/RESOLVING"))
        out = np.where(ongoing, still,
                       np.where(rng.random(m) < np.where(ser, 0.12, 0.03), "RECOVERED/RESOLVED WITH SEQUELAE",
                                "RECOVERED/RESOLVED"))
        out = np.where(fatal, "FATAL", out).astype(object)
        end = np.where(ongoing, _NONE, end)
        # Action taken with REVLIMID.
        before = onset < self.first_dose[subj]
        after = (self.t_end[subj] != _NONE) & (onset > self.t_end[subj]) & ~self.ongoing[subj]
        during_ser = ser & ~before & ~after
        acn = np.where(rng.random(m) < np.where(during_ser, 0.30, 0.04), "DRUG INTERRUPTED", "DOSE NOT CHANGED")
        acn = np.where(rng.random(m) < 0.02, "UNKNOWN", acn)
        acn = np.where(before | after, "NOT APPLICABLE", acn)
        acn = np.where(linked, src, acn)
        acn = np.where(fatal, np.where(after, "NOT APPLICABLE", "DRUG WITHDRAWN"), acn).astype(object)
        # Seriousness criteria: all answered for a serious event (at least one Y), blank otherwise.
        crit = {}
        crit["SDTH"] = fatal
        crit["SLIFE"] = ser & (rng.random(m) < np.where(grade >= 4, 0.45, 0.05))
        crit["SHOSP"] = ser & (rng.random(m) < 0.85)
        crit["SDISAB"] = ser & (rng.random(m) < 0.02)
        crit["SCONG"] = np.zeros(m, dtype=bool)
        crit["SMIE"] = ser & (rng.random(m) < 0.15)
        none = ser & ~(crit["SDTH"] | crit["SLIFE"] | crit["SHOSP"] | crit["SDISAB"] | crit["SMIE"])
        crit["SHOSP"] |= none
        treat = np.where(rng.random(m) < 0.35 + 0.45 * ser + 0.15 * (grade >= 3), "Y", "N").astype(object)
        treat[rng.random(m) < 0.04] = ""
        grade_txt = grade.astype(str).astype(object)
        grade_txt[(rng.random(m) < 0.08) & ~fatal] = ""
        # Verbatims: English variants, some in Korean.
        en = [v.split("|") for v in terms["verbatim_en"]]
        ko = [v.split("|") for v in terms["verbatim_ko"]]
        korean = rng.random(m) < self.r.ae_korean
        verbatim = np.where(korean, _variant(rng, ko, t), _variant(rng, en, t))
        # Partial onset dates: never in the month of the first dose, nor near the cut-off.
        plain = (src == "bg")
        month = _month_key(onset)
        safe_month = plain & (month > _month_key(self.first_dose[subj])) & (month < _month_key(np.full(m, self.cutoff)))
        year = _year_key(onset)
        safe_year = plain & (year > _year_key(self.first_dose[subj])) & (year < _year_key(np.full(m, self.cutoff)))
        u = rng.random(m)
        p_month, p_day = self.r.ae_partial_month, self.r.ae_partial_day
        uk_month = safe_year & (u < p_month)
        uk_day = safe_month & ~uk_month & (u >= p_month) & (u < p_month + p_day)
        return dict(subj=subj, term=t, onset=onset, end=end, ongoing=ongoing, sev=sev, grade=grade_txt, ser=ser,
                    crit=crit, causal=causal, acn=acn, out=out, treat=treat, verbatim=verbatim,
                    uk_day=uk_day, uk_month=uk_month, fatal=fatal)

    # ---------------------------------------------------------------- responses
    def _responses(self) -> None:
        n, r = self.n, self.r
        rng = self.rng("resp")
        fd = self.first_dose
        last = self.lstcndat
        stop = np.where(self.ongoing | (self.t_end == _NONE), last, np.minimum(self.t_end + 14, last))
        pd_end = self.followed & (self.eos_reason == "PD") & ~self.ongoing & (self.t_end != _NONE)
        pd_date = np.minimum(np.where(pd_end, self.t_end, _NONE) + rng.integers(0, 8, n), last)
        stop = np.where(pd_end, pd_date - 14, stop)
        assessed = self.followed & (rng.random(n) >= r.never_assessed)
        max_visits = int(np.clip(((stop[assessed] - fd[assessed]) // 49).max(initial=0) + 2, 1, 200))
        gaps = np.where(rng.random((n, max_visits)) < 0.5, 56, 84) + rng.integers(-7, 8, (n, max_visits))
        gaps[:, 0] = 56 + rng.integers(-7, 15, n)
        dates = fd[:, None] + np.cumsum(gaps, axis=1)
        valid = assessed[:, None] & (dates <= stop[:, None])
        count = valid.sum(axis=1)
        # Trajectory towards the best response, reached within the first three visits.
        best = self.best
        j_best = np.minimum(np.floor(rng.random(n) * np.minimum(count, 3)).astype(np.int64), np.maximum(count - 1, 0))
        j = np.arange(max_visits)[None, :]
        worse_room = np.maximum(_SD - best, 0)
        draw = best[:, None] + 1 + np.floor(rng.random((n, max_visits)) * worse_room[:, None]).astype(np.int64)
        resp = np.where(j < j_best[:, None], np.minimum(draw, _SD), best[:, None])
        resp = np.where(best[:, None] >= _SD, best[:, None], resp)
        ne = (rng.random((n, max_visits)) < r.visit_ne) & (j != j_best[:, None])
        resp = np.where(ne, _NE, resp)
        subj, col = np.nonzero(valid)
        v_subj, v_date, v_resp = subj, dates[subj, col], resp[subj, col]
        # The final assessment of a progression.
        pd_visit = pd_end & assessed & (pd_date >= fd + 28)
        ps = np.flatnonzero(pd_visit)
        v_subj = np.concatenate([v_subj, ps])
        v_date = np.concatenate([v_date, pd_date[ps]])
        v_resp = np.concatenate([v_resp, np.full(len(ps), _PD)])
        order = np.lexsort((v_date, v_subj))
        v_subj, v_date, v_resp = v_subj[order], v_date[order], v_resp[order]
        self.resp = dict(subj=v_subj, date=v_date, resp=v_resp)
        # Best visit response per subject (NE only when nothing else), and its first date.
        rank = np.where(v_resp == _NE, 99, v_resp)
        key = np.lexsort((v_date, rank, v_subj))
        first = np.r_[True, v_subj[key][1:] != v_subj[key][:-1]] if len(key) else np.zeros(0, bool)
        b_subj, b_rank, b_date = v_subj[key][first], rank[key][first], v_date[key][first]
        self.evaluable = np.zeros(n, dtype=bool)
        self.evaluable[b_subj[b_rank != 99]] = True
        keep = rng.random(len(b_subj)) >= r.bestresp_missing
        no_date = (rng.random(len(b_subj)) < 0.05) | (b_rank == 99)
        self.bestresp = dict(subj=b_subj[keep], resp=np.where(b_rank == 99, _NE, b_rank)[keep],
                             date=np.where(no_date, _NONE, b_date)[keep])

    # ---------------------------------------------------------------- medical history
    def _medical_history(self) -> None:
        n, r = self.n, self.r
        rng = self.rng("mh")
        terms = self.mh_terms
        share = terms["share"].astype(float).to_numpy()
        age_eff = terms["age_effect"].astype(float).to_numpy()
        sex = terms["sex"].to_numpy()
        renal = terms["renal"].to_numpy()
        parts = []
        plain = np.flatnonzero(renal == "")
        for t in plain:
            p = np.clip(share[t] * (1 + age_eff[t] * (self.age - 65)), 0, 0.95)
            if sex[t] == "M":
                p = p * self.male
            elif sex[t] == "F":
                p = p * ~self.male
            if terms["pt"].iloc[t] == "Peripheral sensory neuropathy":
                p = p * (self.prlines > 0)
            subj = np.flatnonzero(rng.random(n) < p)
            parts.append(dict(subj=subj, term=np.full(len(subj), t)))
        # Renal impairment history follows the baseline renal function.
        impaired = np.flatnonzero(renal == "impaired")
        p_ren = np.select([self.dialysis, self.crcl < 30, self.crcl < 50, self.crcl < 60], [0.0, 0.85, 0.5, 0.2], 0.03)
        subj = np.flatnonzero(rng.random(n) < p_ren)
        parts.append(dict(subj=subj, term=impaired[_pick(rng, share[impaired], len(subj))]))
        subj = np.flatnonzero(self.dialysis)
        esrd = np.flatnonzero(renal == "dialysis")
        parts.append(dict(subj=subj, term=esrd[_pick(rng, share[esrd], len(subj))]))
        mh = _concat(parts, ["subj", "term"])
        m = len(mh["subj"])
        subj, t = mh["subj"], mh["term"]
        years = rng.lognormal(np.log(terms["years_before"].astype(float).to_numpy()[t]), 0.6)
        start = self.icdat[subj] - np.round(years * 365.25).astype(np.int64)
        start = np.clip(start, self.birth[subj] + 365, self.icdat[subj])
        u = rng.random(m)
        uk_day = u < 0.30
        uk_month = (u >= 0.30) & (u < 0.60)
        blank = (u >= 0.60) & (u < 0.72)
        ongo = np.where(rng.random(m) < terms["p_ongoing"].astype(float).to_numpy()[t], "Y", "N").astype(object)
        ongo[rng.random(m) < 0.05] = ""
        cat_order = {"GEN": 0, "REN": 1, "HEP": 2, "ALG": 3}
        cat = np.array([cat_order[c] for c in terms["mhcat"]])[t] if m else np.zeros(0, np.int64)
        order = np.lexsort((t, start, cat, subj))
        en = [v.split("|") for v in terms["verbatim_en"]]
        ko = [v.split("|") for v in terms["verbatim_ko"]]
        korean = rng.random(m) < r.mh_korean
        verbatim = np.where(korean, _variant(rng, ko, t), _variant(rng, en, t))
        self.mh = {k: v[order] for k, v in dict(subj=subj, term=t, start=start, uk_day=uk_day, uk_month=uk_month,
                                                  blank=blank, ongo=ongo, verbatim=verbatim).items()}

    # ---------------------------------------------------------------- concomitant medications
    def _conmeds(self) -> None:
        n, r = self.n, self.r
        rng = self.rng("cm")
        terms = self.cm_terms
        share = terms["share"].astype(float).to_numpy()
        group = terms["group"].to_numpy()
        timing = terms["timing"].to_numpy()
        requires = terms["requires"].to_numpy()
        mh_pt = self.mh_terms["pt"].to_numpy()[self.mh["term"]]
        ae_pt = self.ae_terms["pt"].to_numpy()[self.ae["term"]]
        fd = self.first_dose
        last = self.lstcndat
        treated = self.dosed
        exp_end = np.where(self.dosed, self.exposure_end, fd)
        parts = []
        # Exclusive groups: at most one drug of each.
        for g in dict.fromkeys(group):
            rows = np.flatnonzero(group == g)
            if g == "other":
                continue
            p = np.append(share[rows], max(0.0, 1.0 - share[rows].sum()))
            pick = _pick(rng, p, n)
            subj = np.flatnonzero((pick < len(rows)) & treated)
            parts.append(dict(subj=subj, term=rows[pick[subj]], anchor=np.full(len(subj), _NONE)))
        for t in np.flatnonzero(group == "other"):
            req = requires[t]
            anchor = np.full(n, _NONE, dtype=np.int64)
            if req.startswith("MH:"):
                eligible = np.zeros(n, dtype=bool)
                eligible[self.mh["subj"][mh_pt == req[3:]]] = True
            elif req.startswith("AE:"):
                rows = np.flatnonzero(ae_pt == req[3:])
                eligible = np.zeros(n, dtype=bool)
                eligible[self.ae["subj"][rows]] = True
                first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
                np.minimum.at(first, self.ae["subj"][rows], self.ae["onset"][rows])
                anchor = np.where(eligible, first, _NONE)
            else:
                eligible = np.ones(n, dtype=bool)
            if timing[t] != "chronic":
                eligible &= treated
            subj = np.flatnonzero(eligible & (rng.random(n) < share[t]))
            parts.append(dict(subj=subj, term=np.full(len(subj), t), anchor=anchor[subj]))
        cm = _concat(parts, ["subj", "term", "anchor"])
        subj, t, anchor = cm["subj"], cm["term"], cm["anchor"]
        m = len(subj)
        kind = timing[t]
        start = np.full(m, _NONE, dtype=np.int64)
        end = np.full(m, _NONE, dtype=np.int64)
        # Chronic: started years before, mostly still taken.
        ch = kind == "chronic"
        years = rng.lognormal(np.log(3.0), 0.8, int(ch.sum()))
        start[ch] = self.icdat[subj[ch]] - np.round(years * 365.25).astype(np.int64)
        start[ch] = np.maximum(start[ch], self.birth[subj[ch]] + 18 * 365)
        seen = np.minimum(fd, last)  # a subject never dosed may have left before the planned first dose
        end[ch] = np.where(rng.random(int(ch.sum())) < 0.85, _NONE, _within(seen[subj[ch]], last[subj[ch]], rng))
        # Prophylaxis and the monthly bisphosphonate: around the treatment period.
        pr = np.isin(kind, ["prophylaxis", "cyclic"])
        lo = np.where(kind == "cyclic", fd[subj] - 60, fd[subj] - 3)
        s = np.clip(lo + rng.integers(0, 11, m), self.icdat[subj] - 30, last[subj])
        e = np.minimum(exp_end[subj] + rng.integers(0, 29, m), last[subj])
        still = self.ongoing[subj] & (rng.random(m) < 0.9)
        start[pr] = s[pr]
        end[pr] = np.where(still[pr], _NONE, np.maximum(e[pr], s[pr]))
        # Episodic: a short course during observation, or started for the adverse event it treats.
        ep = kind == "episodic"
        s = np.where(anchor != _NONE, anchor + rng.integers(0, 3, m), _within(fd[subj], last[subj], rng))
        s = np.minimum(s, last[subj])
        e = s + rng.integers(1, 15, m)
        start[ep] = s[ep]
        end[ep] = np.where(e[ep] > last[subj[ep]], _NONE, e[ep])
        # Partial and missing start dates (mostly for old chronic medication).
        u = rng.random(m)
        uk_month = ch & (u < 0.2) & (_year_key(start) < _year_key(fd[subj]))
        uk_day = ((ch & (u >= 0.2) & (u < 0.5)) | (~ch & (u < 0.02))) & (_month_key(start) < _month_key(fd[subj]))
        no_start = rng.random(m) < 0.03
        korean = rng.random(m) < r.cm_korean
        verbatim = np.where(korean, _variant(rng, [v.split("|") for v in terms["cmterm_ko"]], t),
                            _variant(rng, [v.split("|") for v in terms["cmterm_en"]], t))
        indic_ko = rng.random(m) < 0.5
        indic = np.where(korean & indic_ko, _variant(rng, [v.split("|") for v in terms["indic_ko"]], t),
                         _variant(rng, [v.split("|") for v in terms["indic_en"]], t)).astype(object)
        indic[rng.random(m) < 0.05] = ""
        dose = _variant(rng, [v.split("|") for v in terms["dose"]], t)
        no_dose = rng.random(m) < 0.06
        dose[no_dose] = ""
        dosu = self.code.many("UNIT", list(terms["dosu"]))[t] if m else np.zeros(0, object)
        dosu = np.where(no_dose, "", dosu).astype(object)
        route = self.code.many("CMROUTE", list(terms["route"]))[t] if m else np.zeros(0, object)
        route = np.where(rng.random(m) < 0.03, "", route).astype(object)
        sort_start = np.where(no_start, np.iinfo(np.int64).max, start)
        order = np.lexsort((t, sort_start, subj))
        self.cm = {k: v[order] for k, v in dict(subj=subj, term=t, start=start, end=end, uk_day=uk_day,
                                                  uk_month=uk_month, no_start=no_start, verbatim=verbatim,
                                                  indic=indic, dose=dose, dosu=dosu, route=route).items()}

    # ---------------------------------------------------------------- eligibility
    def _eligibility(self) -> None:
        """Monitoring's verdict, read off the data: every exclusion has its reason; the date of the review."""
        safety = self.safreas == ""
        # Off-label: no prior therapy before the newly-diagnosed indication, or no dexamethasone.
        offlabel = ((self.prlines == 0) & (self.enrol < _day(NDMM_APPROVAL))) | (self.dosed & ~self.has_dex)
        effreas = np.select([~safety, offlabel, ~self.evaluable], ["NOSAF", "OFFLABEL", "NOEVAL"], "").astype(object)
        self.safety, self.effreas = safety, effreas
        self.efficacy = effreas == ""
        # The review date: no random draw (every other part keeps its stream).
        lag = np.where(self.safreas == "NOFU", self.r.review_lag_no_follow_up_days, self.r.review_lag_days)
        last = np.where(self.lstcndat == _NONE, self.cutoff, self.lstcndat)
        self.revdat = np.minimum(last + lag, self.cutoff)

    def _ae_reports(self) -> None:
        """The date each adverse event was reported: on or after its onset, most within a month, some
        late; its own random stream (every other part keeps its stream)."""
        rng, r = self.rng("ae_report"), self.r
        n = len(self.ae["subj"])
        late = rng.random(n) < r.ae_report_late
        lag = np.where(late, rng.integers(r.ae_report_late_days[0], r.ae_report_late_days[1] + 1, n),
                       rng.integers(0, r.ae_report_days + 1, n))
        self.ae_report = np.minimum(self.ae["onset"] + lag, self.cutoff)

    # ---------------------------------------------------------------- frames
    # ---------------------------------------------------------------- pregnancy prevention programme
    def _pregnancy(self) -> None:
        """Women of childbearing potential, their pregnancy test before the first dose, and pregnancies
        reported during the study (of a treated woman or of the female partner of a treated man).
        Lenalidomide is a teratogen: a positive test means no treatment, so every test before a first
        dose is negative; pregnancies during treatment are rare."""
        n = self.n
        rng = self.rng("preg")
        female = ~self.male
        p_cbp = np.select([self.age < 45, self.age < 50, self.age < 55], [0.85, 0.55, 0.25], 0.02)
        self.cbp = female & (rng.random(n) < p_cbp)
        self.ptest = self.cbp & (rng.random(n) < 0.96)
        before = rng.integers(0, 8, n)
        self.ptestdat = np.where(self.ptest, np.maximum(self.icdat, self.first_dose - before), _NONE)
        # Pregnancies: among dosed women of childbearing potential and among dosed men (their partners).
        last = np.minimum(np.where(self.lstcndat == _NONE, self.cutoff, self.lstcndat), self.cutoff)
        span = last - self.first_dose - 14
        woman = self.cbp & self.dosed & (span > 0) & (rng.random(n) < 0.03)
        partner = self.male & self.dosed & (span > 0) & (rng.random(n) < 0.004)
        who = woman | partner
        subj = np.flatnonzero(who)
        when = self.first_dose[subj] + 14 + np.floor(rng.random(len(subj)) * np.maximum(span[subj], 1)).astype(np.int64)
        out_woman = np.array(["EAB", "SAB", "ONGO", "UNK"])[_pick(rng, np.array([0.5, 0.2, 0.1, 0.2]), len(subj))]
        out_partner = np.array(["LIVE", "ONGO", "UNK"])[_pick(rng, np.array([0.5, 0.2, 0.3]), len(subj))]
        self.preg = dict(subj=subj, date=when, who=np.where(woman[subj], "PT", "PARTNER"),
                         out=np.where(woman[subj], out_woman, out_partner))

    def _frames(self) -> dict[str, pd.DataFrame]:
        c = self.code

        def yn(flag: np.ndarray) -> np.ndarray:
            return np.where(flag, c("NY", "Y"), c("NY", "N")).astype(object)

        sid = self.subjid
        frames: dict[str, dict] = {}
        frames["ENROL"] = dict(SUBJID=sid, SITEID=self.siteid, INITIALS=self.initials, HOSPNO=self.hospno,
                               ROUTE=np.where(self.pap, c("ROUTE", "PAP"), c("ROUTE", "DUE")),
                               ICDAT=_iso(self.icdat), ENRDAT=_iso(self.enrol))
        frames["DEMOG"] = dict(SUBJID=sid, BRTHDAT=_iso(self.birth),
                               SEX=np.where(self.male, c("SEX", "M"), c("SEX", "F")), AGE=self.age.astype(str),
                               CBP=np.where(self.male, "", yn(self.cbp)), PTEST=np.where(self.cbp, yn(self.ptest), ""),
                               PTESTDAT=_iso(self.ptestdat),
                               PTESTRES=np.where(self.ptest, c("POSNEG", "NEG"), ""))
        iss = np.append(c.many("ISS", ["I", "II", "III"]), "")[self.iss]
        mprot = np.append(c.many("MPROT", ["IGG", "IGA", "IGD", "IGM", "LIGHT CHAIN", "NON-SECRETORY"]), "")[self.mprot]
        ecog = np.append(c.many("ECOG", ["0", "1", "2", "3", "4"]), "")[self.ecog]
        frames["MMDIAG"] = dict(SUBJID=sid, DIAGDAT=_partial(_iso(self.diag), self.diag_uk_day, self.diag_uk_month),
                                ISS=iss, MPROT=mprot, PRLINES=self.prlines.astype(str), PRSCT=yn(self.prsct), ECOG=ecog)
        miss = self.miss
        frames["BASELINE"] = dict(SUBJID=sid, VSDAT=_iso(self.vsdat), HEIGHT=_fmt(self.height, 1, miss["HEIGHT"]),
                                  WEIGHT=_fmt(self.weight, 1, miss["WEIGHT"]), CREAT=_fmt(self.creat, 2, miss["CREAT"]),
                                  DIALYSIS=yn(self.dialysis), ANC=_fmt(self.anc, 0, miss["ANC"]),
                                  PLT=_fmt(self.plt, 0, miss["PLT"]), AST=_fmt(self.ast, 0, miss["AST"]),
                                  ALT=_fmt(self.alt, 0, miss["ALT"]), TBIL=_fmt(self.tbil, 2, miss["TBIL"]),
                                  **_lab_ranges(self.siteid, self.male, miss))
        # Medical history
        mh, mt = self.mh, self.mh_terms
        t = mh["term"]
        start = _partial(_iso(mh["start"]), mh["uk_day"], mh["uk_month"])
        start[mh["blank"]] = ""
        frames["MEDHIST"] = dict(SUBJID=sid[mh["subj"]], LINE=_line_numbers(mh["subj"]).astype(str),
                                 MHCAT=c.many("MHCAT", list(mt["mhcat"]))[t], MHTERM=mh["verbatim"],
                                 **self._meddra(mt, t), STDAT=start, ONGO=mh["ongo"])
        # REVLIMID
        p = self.periods
        frames["RVLDOSE"] = dict(SUBJID=sid[p["subj"]], LINE=_line_numbers(p["subj"]).astype(str),
                                 CYCST=p["cycst"].astype(str),
                                 CYCEN=np.where(p["cycen"] < 0, "", p["cycen"].astype(str)),
                                 STDAT=_iso(p["stdat"]), ENDAT=_iso(p["endat"]), DOSE=_fmt(p["dose"], 0),
                                 FREQ=np.where(p["qod"], c("DOSFRQ", "QOD"), c("DOSFRQ", "QD")),
                                 DAYS=np.full(len(p["subj"]), "21", dtype=object),
                                 ADJ=self._codes("ADJ", p["adj"]),
                                 INTR=self._codes("NY", p["intr"]))
        d = self.dex
        frames["DEXDOSE"] = dict(SUBJID=sid[d["subj"]], LINE=_line_numbers(d["subj"]).astype(str),
                                 STDAT=_iso(d["stdat"]), ENDAT=_iso(d["endat"]), DOSE=_fmt(d["dose"], 0),
                                 DAYS=d["days"].astype(str))
        # Concomitant medication
        cm, ct = self.cm, self.cm_terms
        t = cm["term"]
        start = _partial(_iso(cm["start"]), cm["uk_day"], cm["uk_month"])
        start[cm["no_start"]] = ""
        frames["CONMED"] = dict(SUBJID=sid[cm["subj"]], LINE=_line_numbers(cm["subj"]).astype(str),
                                CMTERM=cm["verbatim"], CMDECOD=ct["cmdecod"].to_numpy()[t],
                                ATCCD=ct["atccd"].to_numpy()[t], ATCTXT=ct["atctxt"].to_numpy()[t],
                                INDIC=cm["indic"], DOSE=cm["dose"], DOSU=cm["dosu"], ROUTE=cm["route"],
                                STDAT=start, ENDAT=_iso(cm["end"]), ONGO=yn(cm["end"] == _NONE))
        # Adverse events
        ae, at = self.ae, self.ae_terms
        t = ae["term"]
        ser = ae["ser"]
        crit = {k: np.where(ser, yn(v), "") for k, v in ae["crit"].items()}
        frames["AE"] = dict(SUBJID=sid[ae["subj"]], LINE=_line_numbers(ae["subj"]).astype(str), AETERM=ae["verbatim"],
                            **self._meddra(at, t), STDAT=_partial(_iso(ae["onset"]), ae["uk_day"], ae["uk_month"]),
                            ENDAT=_iso(ae["end"]), ONGO=yn(ae["ongoing"]),
                            SEV=c.many("AESEV", ["MILD", "MODERATE", "SEVERE"])[ae["sev"] - 1] if len(t) else ae["sev"],
                            GRADE=ae["grade"], SER=yn(ser), **crit,
                            CAUSAL=self._codes("CAUSAL", ae["causal"]), ACN=self._codes("ACN", ae["acn"]),
                            OUT=self._codes("OUT", ae["out"]), TREAT=ae["treat"], RCVDAT=_iso(self.ae_report))
        # Responses
        rs = self.resp
        imwg = np.array([c("IMWG", x) for x in _IMWG], dtype=object)
        frames["RESP"] = dict(SUBJID=sid[rs["subj"]], LINE=_line_numbers(rs["subj"]).astype(str),
                              RSDAT=_iso(rs["date"]), RESP=imwg[rs["resp"]])
        br = self.bestresp
        frames["BESTRESP"] = dict(SUBJID=sid[br["subj"]], BRDAT=_iso(br["date"]), BESTRESP=imwg[br["resp"]])
        # End of study
        dcreas = self._codes("DCREAS", self.eos_reason)
        status = self._codes("EOSSTAT", self.eos_status)
        cause = self._death_causes()
        frames["EOS"] = dict(SUBJID=sid, EOSSTAT=status, EOSDAT=_iso(self.eosdat), EOSREAS=dcreas,
                             LSTCNDAT=_iso(self.lstcndat), DEATH=yn(self.death), DTHDAT=_iso(self.dthdat),
                             DTHCAUSE=cause)
        frames["ELIG"] = dict(SUBJID=sid, SAFETY=yn(self.safety),
                              SAFREAS=self._codes("SAFREAS", self.safreas),
                              EFFICACY=yn(self.efficacy),
                              EFFREAS=self._codes("EFFREAS", self.effreas), REVDAT=_iso(self.revdat))
        pg = self.preg
        frames["PREG"] = dict(SUBJID=sid[pg["subj"]], LINE=_line_numbers(pg["subj"]).astype(str),
                              PREGDAT=_iso(pg["date"]), PREGWHO=self._codes("PREGWHO", pg["who"]),
                              PREGOUT=self._codes("PREGOUT", pg["out"]))
        return {form: self._frame(form, cols) for form, cols in frames.items()}

    def _codes(self, codelist: str, values: np.ndarray) -> np.ndarray:
        """Raw codes for codes or submission values; '' stays blank."""
        if len(values) == 0:
            return np.zeros(0, dtype=object)
        uniq, inv = np.unique(values.astype(str), return_inverse=True)
        return np.array([self.code(codelist, u) if u else "" for u in uniq], dtype=object)[inv]

    def _meddra(self, table: pd.DataFrame, t: np.ndarray) -> dict:
        cols = {"LLT": "llt", "LLTCD": "lltcd", "PT": "pt", "PTCD": "ptcd", "HLT": "hlt", "HLTCD": "hltcd",
                "HLGT": "hlgt", "HLGTCD": "hlgtcd", "SOC": "soc", "SOCCD": "soccd"}
        return {raw: table[col].to_numpy()[t] for raw, col in cols.items()}

    def _death_causes(self) -> np.ndarray:
        cause = np.full(self.n, "", dtype=object)
        ae = self.ae
        fatal = ae["fatal"]
        cause[ae["subj"][fatal]] = self.ae_terms["pt"].to_numpy()[ae["term"][fatal]]
        rng = np.random.default_rng([self.seed, 99])
        disease = self.death & (cause == "")
        options = np.array([text for text, _, _ in DISEASE_DEATH_CAUSES], dtype=object)
        weights = [w for _, _, w in DISEASE_DEATH_CAUSES]
        cause[disease] = options[_pick(rng, weights, int(disease.sum()))]
        return cause

    def _frame(self, form: str, cols: dict) -> pd.DataFrame:
        expected = [f.column for f in self.layout.fields_of(form)]
        missing = [c for c in expected if c not in cols]
        extra = [c for c in cols if c not in expected]
        if missing or extra:
            raise SubError(Problem("specs/raw/fields.csv", None, form, ",".join(missing + extra),
                                   f"sub synth does not fill the layout of {form}: missing {missing}, unknown {extra}"))
        # Object columns of Python str: what the loader reads too, and no costly string inference.
        data = {name: np.asarray(cols[name], dtype=object) for name in expected}
        return pd.DataFrame(data, columns=expected, dtype=object)


def _concat(parts: list[dict], keys: list[str]) -> dict:
    if not parts:
        return {k: np.zeros(0, dtype=np.int64) for k in keys}
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def _join_periods(starts: list[dict], ends: list[dict]) -> dict:
    """Pair each period start with its end (the next end of the same subject, in cycle order)."""
    s = _concat(starts, ["subj", "cycst", "stdat", "dose", "qod", "adj", "intr"])
    e = _concat(ends, ["subj", "cycen", "endat"])
    so = np.lexsort((s["cycst"], s["subj"]))
    s = {k: v[so] for k, v in s.items()}
    # Ends sorted by subject, then by cycle (open ends, -1, last).
    ecyc = np.where(e["cycen"] < 0, np.iinfo(np.int64).max, e["cycen"])
    eo = np.lexsort((ecyc, e["subj"]))
    e = {k: v[eo] for k, v in e.items()}
    if len(s["subj"]) != len(e["subj"]) or not np.array_equal(s["subj"], e["subj"]):
        raise AssertionError("dosing periods and their ends do not pair up")
    s["cycen"], s["endat"] = e["cycen"], e["endat"]
    return s
