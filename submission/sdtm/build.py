"""The SDTM stage: raw extract -> the study's SDTM datasets, attributes from the spec.

Every domain is mapped first; problems (unmapped codes, untranslated Korean text) are
gathered across all of them and reported together before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..attributes import apply_spec
from ..dataset import Dataset
from ..raw.load import RawExtract
from ..spec import Spec
from ..study import StudySettings
from .ae import build_ae, build_suppae
from .cm import build_cm
from .context import Context, Translations
from .dm import build_dm, build_suppdm, subject_reference
from .ds import build_ds
from .dv import build_dv
from .ex import build_ex
from .findings import build_lb, build_vs
from .mh import build_mh, build_suppmh
from .pr import build_pr
from .rp import build_rp
from .rs import build_rs
from .ts import build_ts


def _study_dm(whole: RawExtract | None, settings: StudySettings, spec: Spec,
              translations: Translations) -> pd.DataFrame | None:
    """DM of the whole extract (None without one): the study's dates at any cut-off."""
    if whole is None:
        return None
    ctx = Context(settings=settings, spec=spec, raw=whole, translations=translations)
    return build_dm(ctx, subject_reference(ctx))[0]


@dataclass
class SdtmResult:
    datasets: dict[str, Dataset]
    reconciliation: list[str]


def build_sdtm(raw: RawExtract, spec: Spec, settings: StudySettings, translations: Translations, *,
               whole: RawExtract | None = None) -> SdtmResult:
    """`whole`: when `raw` is the extract cut at an earlier cut-off, the extract it was cut from;
    TS takes the study's own dates (start, end) from its DM."""
    ctx = Context(settings=settings, spec=spec, raw=raw, translations=translations)
    ref = subject_reference(ctx)
    dm, dm_where = build_dm(ctx, ref)
    frames: dict[str, tuple[pd.DataFrame, pd.Series | None]] = {"DM": (dm, dm_where)}
    frames["SUPPDM"] = (build_suppdm(ctx, dm), None)
    frames["EX"] = build_ex(ctx, ref)
    ae, ae_where, translated = build_ae(ctx, ref)
    frames["AE"] = (ae, ae_where)
    frames["SUPPAE"] = (build_suppae(ctx, ae, translated), None)
    frames["CM"] = build_cm(ctx, ref)
    frames["MH"] = build_mh(ctx, ref)
    frames["SUPPMH"] = (build_suppmh(ctx, frames["MH"][0]), None)
    frames["VS"] = build_vs(ctx, ref)
    frames["LB"] = build_lb(ctx, ref)
    frames["PR"] = build_pr(ctx, ref)
    frames["DV"] = build_dv(ctx, ref)
    frames["RS"] = build_rs(ctx, ref)
    frames["RP"] = build_rp(ctx, ref)
    frames["DS"] = build_ds(ctx, ref)
    frames["TS"] = (build_ts(ctx, dm, _study_dm(whole, settings, spec, translations)), None)
    ctx.raise_problems()
    del dm, dm_where, ae, ae_where, translated  # each mapped frame is let go once its dataset is made
    datasets = {}
    for name in spec.datasets:
        if name not in frames:
            raise RuntimeError(f"the SDTM spec has {name} but no mapping produces it")
        frame, where = frames.pop(name)
        datasets[name] = apply_spec(frame, spec, name, provenance=where)
        del frame, where
    return SdtmResult(datasets, ctx.reconciliation)
