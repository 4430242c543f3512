"""Helpers for validating ptbxl-2k models on an external set (LUDB) and scoring their saliency against
cardiologists' delineation.

* :func:`ptbxl2k_like`: a 500 Hz mV set preprocessed as ptbxl-2k's source was (its README: wfdb
  ``p_signal`` in mV, **4th-order** Butterworth band-pass 0.5-40 Hz applied with ``filtfilt``, z-score
  per record and lead, then ``resample_poly(z, 1, 2, padtype='line')`` to 250 Hz and rounding to 1e-3,
  the int16 ``z * 1000`` of the release).
* :func:`shared_classes`: the classes a model and an external set share, with a stated reason for every
  class left out.
* :func:`localisation_wave` / :data:`LOCALISATION_NOTES`: the LUDB wave each class's Grad-CAM map is
  scored against (:data:`ecgkd_lite.data.ludb.REGION_RULES`) or why the class has none.
* :func:`annotated_span`, :func:`span_scores`: Grad-CAM scores restricted to where the cardiologists
  annotated, with the chance level (mask coverage of the span).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np
import scipy.signal as sps

from ..data.container import ECGData
from ..data.preprocess import resample
from ..data.ludb import REGION_RULES
from ..errors import ConfigError
from ..explain.localisation import localisation_scores

#: the ptbxl-2k source pipeline (README "Provenance" and "Our conversion")
PTBXL2K_SOURCE = {
    "from_fs": 500.0,
    "to_fs": 250.0,
    "bandpass": {"low": 0.5, "high": 40.0, "order": 4, "filter": "scipy.signal.butter (b, a) + filtfilt (zero phase)"},
    "zscore": "per record and lead",
    "resample": "resample_poly(1, 2, padtype='line')",
    "round": 1e-3,
}

#: why a class has no (or which) localisation region
LOCALISATION_NOTES = {
    "IAVB": "PR interval (P onset to QRS onset): first-degree AV block is a long PR",
    "LAD": "QRS: the axis is read from the QRS complexes of the limb leads",
    "RAD": "QRS: the axis is read from the QRS complexes of the limb leads",
    "LAnFB": "QRS: left anterior fascicular block changes the QRS axis and shape",
    "CRBBB": "QRS: bundle branch blocks widen and reshape the QRS complex",
    "CLBBB": "QRS: bundle branch blocks widen and reshape the QRS complex",
    "IRBBB": "QRS: incomplete RBBB reshapes the QRS complex (rSR' in V1)",
    "NSIVCB": "QRS: an intraventricular conduction delay widens the QRS complex",
    "AF": "none: a rhythm read over the whole record (irregular RR, P waves absent, so a P mask is empty "
    "and the 'absence of P' has no delineated extent)",
    "AFL": "none: a rhythm read over the whole record (flutter waves are not delineated in LUDB)",
    "NSR": "none: rhythm and rate over the whole record",
    "SB": "none: rate over the whole record",
    "STach": "none: rate over the whole record",
    "SA": "none: beat-to-beat rate variation over the whole record",
    "PAC": "none: LUDB does not say which beat is premature",
}


def ptbxl2k_like(data: ECGData) -> ECGData:
    """``data`` (500 Hz, mV) as ptbxl-2k's records were made: 250 Hz, ``unit="z"`` (see the module docstring).
    Regions and fiducials are moved to the 250 Hz grid (positions halved and rounded)."""
    if float(data.fs) != PTBXL2K_SOURCE["from_fs"]:
        raise ConfigError(f"ptbxl2k_like needs 500 Hz records (ptbxl-2k's source rate); got {data.fs:g} Hz")
    if data.unit != "mV":
        raise ConfigError(
            f"ptbxl2k_like needs signals in mV (the source filtered wfdb p_signal); got unit {data.unit!r}"
        )
    bp = PTBXL2K_SOURCE["bandpass"]
    b, a = sps.butter(bp["order"], [bp["low"], bp["high"]], btype="bandpass", fs=data.fs)
    z = zscore(sps.filtfilt(b, a, data.signals.astype(np.float64), axis=2))
    step = {"step": "ptbxl2k_like", **PTBXL2K_SOURCE}
    # resample() moves regions and fiducials to the 250 Hz grid; the signals are then resampled as the
    # release's conversion did (padtype='line') and rounded to its 1e-3 resolution
    moved = resample(data.derive(step, record=False, signals=z.astype(np.float32)), PTBXL2K_SOURCE["to_fs"])
    x = sps.resample_poly(z, 1, 2, axis=2, padtype="line")
    x = (np.round(x / PTBXL2K_SOURCE["round"]) * PTBXL2K_SOURCE["round"]).astype(np.float32)
    return replace(moved, signals=x, unit="z", preprocessing=[*data.preprocessing, step], key=data.derive(step).key)


def zscore(x: np.ndarray) -> np.ndarray:
    """Per record and lead z-score over the last axis (a flat lead becomes 0, not NaN)."""
    mean, std = x.mean(axis=-1, keepdims=True), x.std(axis=-1, keepdims=True)
    return np.divide(x - mean, std, out=np.zeros_like(x, dtype=np.float64), where=std > 0)


def shared_classes(
    model_classes: Sequence[str], external_classes: Sequence[str], labels: np.ndarray, min_positives: int = 3
) -> tuple[list[str], dict[str, str]]:
    """The ``model_classes`` (in their order) that ``external_classes`` also has with at least
    ``min_positives`` positives in ``labels`` (N, len(external_classes)), and ``{class: reason}`` for
    every class of either set left out."""
    counts = dict(zip(external_classes, np.asarray(labels).sum(axis=0).astype(int).tolist()))
    kept, left = [], {}
    for c in model_classes:
        if c not in counts:
            left[c] = "not in the external set's class list"
        elif counts[c] < min_positives:
            left[c] = f"{counts[c]} external positive(s) < {min_positives}"
        else:
            kept.append(c)
    for c in external_classes:
        if c not in model_classes:
            left[c] = f"not a class of the model ({counts[c]} external positive(s))"
    return kept, left


def on_class_axis(data: ECGData, classes: Sequence[str]) -> ECGData:
    """``data`` with its labels moved onto a model's class axis ``classes`` (so ``predict`` accepts it):
    a class ``data`` lacks gets an all-zero column (not a negative label: score only shared classes)."""
    y = np.zeros((len(data), len(classes)), dtype=np.float32)
    for k, c in enumerate(classes):
        if c in data.classes:
            y[:, k] = data.labels[:, data.classes.index(c)]
    return data.derive(
        {"step": "on_class_axis", "classes": list(classes)}, labels=y, classes=tuple(classes), snomed=None
    )


def localisation_wave(class_name: str) -> str | None:
    """The LUDB wave (``"PR"``, ``"QRS"``) a Grad-CAM map of ``class_name`` is scored against, None for a
    class without a delineated region (rhythm and rate classes, PAC, classes LUDB does not have)."""
    return REGION_RULES.get(class_name)


def annotated_span(annotated: np.ndarray) -> np.ndarray:
    """Bool (N, T): from the first to the last sample annotated in any lead (``annotated`` (N, leads, T))."""
    any_lead = np.asarray(annotated, dtype=bool).any(axis=1)
    span = np.zeros_like(any_lead)
    for i, row in enumerate(any_lead):
        idx = np.flatnonzero(row)
        if len(idx):
            span[i, idx[0] : idx[-1] + 1] = True
    return span


def span_scores(maps: np.ndarray, masks: np.ndarray, span: np.ndarray) -> dict:
    """:func:`localisation_scores` of ``maps`` (N, T) against ``masks`` with both restricted to ``span``
    (the map is zeroed outside it), plus ``chance``: the mean share of the span the mask covers (the
    pointing-game hit rate and the energy inside of a uniform map), and ``zero_maps``: how many scored
    records have a map that is all zero inside the span (no positive evidence: a miss, energy 0)."""
    maps, masks, span = np.asarray(maps, dtype=float), np.asarray(masks, dtype=bool), np.asarray(span, dtype=bool)
    if not (maps.shape == masks.shape == span.shape):
        raise ConfigError(f"maps {maps.shape}, masks {masks.shape} and span {span.shape} must have one shape")
    inside = masks & span
    scores = localisation_scores(maps * span, inside)
    scored = inside.any(axis=1)
    coverage = inside[scored].sum(axis=1) / span[scored].sum(axis=1)
    scores["chance"] = float(coverage.mean()) if len(coverage) else float("nan")
    scores["zero_maps"] = int(((maps * span)[scored].max(axis=1, initial=0.0) <= 0).sum())
    return scores
