"""The ADaM stage: SDTM datasets (read from the SDTM folder, nothing else) -> ADaM datasets.

Conventions come from the study settings; the label-terms table decides expectedness.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..attributes import apply_spec
from ..dataset import Dataset
from ..spec import Spec
from ..study import StudySettings
from .labelterms import LabelTerms


def read_sdtm(folder: Path) -> dict[str, pd.DataFrame]:
    """Every `<name>.xpt` of an SDTM folder as a frame, keyed by upper-case dataset name."""
    from ..errors import Problem, SubError
    from ..xpt import read_xpt

    folder = Path(folder)
    files = sorted(folder.glob("*.xpt"))
    if not files:
        raise SubError(Problem(str(folder), None, None, None, "no SDTM .xpt files here; run `sub sdtm` first"))
    return {path.stem.upper(): read_xpt(path).frame for path in files}


def check_sdtm_input(sdtm: dict[str, pd.DataFrame], spec: Spec, folder: Path) -> None:
    """The SDTM folder ADaM reads must hold DM, one record per subject, and every variable the
    SDTM spec gives its datasets: a folder from elsewhere fails here with file and column named,
    not deep inside a derivation."""
    from ..errors import Problem, SubError

    problems = []
    if "DM" not in sdtm:
        problems.append(Problem(str(Path(folder) / "dm.xpt"), None, None, None, "DM is missing"))
    for name, frame in sdtm.items():
        if name not in spec.datasets:
            continue
        file = str(Path(folder) / f"{name.lower()}.xpt")
        for v in spec.variables_of(name):
            if v.variable not in frame.columns:
                problems.append(Problem(file, None, v.variable, None, f"variable of the SDTM spec is missing from {name}"))
    dm = sdtm.get("DM")
    if dm is not None and "USUBJID" in dm.columns:
        repeated = dm["USUBJID"][dm["USUBJID"].duplicated()].unique()
        for subject in repeated[:20]:
            problems.append(Problem(str(Path(folder) / "dm.xpt"), None, "USUBJID", str(subject),
                                    "subject has more than one DM record"))
    if problems:
        raise SubError(problems, f"SDTM folder {folder} cannot feed ADaM")


@dataclass
class AdamResult:
    datasets: dict[str, Dataset]
    log: list[str]


def build_adam(sdtm: dict[str, pd.DataFrame], spec: Spec, settings: StudySettings, label_terms: LabelTerms) -> AdamResult:
    from .adae import build_adae
    from .adcm import build_adcm
    from .adex import build_adex
    from .admh import build_admh
    from .adpreg import build_adpreg
    from .adrs import build_adrs
    from .adsl import build_adsl

    adsl = build_adsl(sdtm, settings)
    frames = {
        "ADSL": adsl,
        "ADAE": build_adae(sdtm, adsl, settings, label_terms),
        "ADRS": build_adrs(sdtm, adsl, settings),
        "ADEX": build_adex(sdtm, adsl, settings),
        "ADCM": build_adcm(sdtm, adsl, settings),
        "ADMH": build_admh(sdtm, adsl, settings),
        "ADPREG": build_adpreg(sdtm, adsl),
    }
    del adsl  # each derived frame is let go once its dataset is made
    datasets = {}
    log = [f"label terms: {label_terms.describe()}"]
    for name in spec.datasets:
        if name not in frames:
            raise RuntimeError(f"the ADaM spec has {name} but no derivation produces it")
        datasets[name] = apply_spec(frames.pop(name), spec, name)
        log.append(f"  {name:<7} {len(datasets[name].frame):>8} records {len(datasets[name].columns):>3} variables")
    return AdamResult(datasets, log)
