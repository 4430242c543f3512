"""What a model's probabilities say where the labels are wrong (generator v2's label noise).

v2 keeps the generator's truth ``y_true`` beside the labels the models see, ``y_seen``. Per class,
the records fall into four cells of (truth, label): labelled positives (1, 1), **omitted** positives
(1, 0), **false** positives (0, 1) and labelled negatives (0, 0). A model whose probabilities on the
omitted positives sit far above those on the labelled negatives has learnt the finding, not the
coder's slip: its soft targets then carry information that the hard labels lack ("dark knowledge",
Hinton et al. 2015), which is what a distilled student can inherit and a label-trained one cannot.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..config import GENERATORS
from ..errors import ConfigError
from ..metrics import per_class_auc

CELLS = {"labelled positive": (1, 1), "omitted positive": (1, 0), "false positive": (0, 1), "labelled negative": (0, 0)}


def true_labels(data, source: str) -> np.ndarray:
    """The noise-free (N, C) labels of ``data``, a set of the synthetic ``source``: generator v2 keeps
    them in ``data.meta["true_<class>"]``; generator v1 has no label noise, so its labels are the
    truth. ConfigError for a source without a known truth (real labels are readings too) or for v2
    data that lost the columns (naming the first missing one)."""
    if source == GENERATORS["v1"]:
        return np.asarray(data.labels, dtype=np.float64).copy()
    if source != GENERATORS["v2"]:
        raise ConfigError(
            f"source {source!r} has no noise-free labels; only the synthetic generators do ({sorted(GENERATORS.values())})"
        )
    columns = [f"true_{c}" for c in data.classes]
    missing = [c for c in columns if data.meta is None or c not in data.meta]
    if missing:
        raise ConfigError(f"{source} data without its noise-free labels: meta has no column {missing[0]!r}")
    return data.meta[columns].to_numpy(dtype=np.float64)


def label_noise_view(y_seen, y_true, probs, classes: Sequence[str]) -> pd.DataFrame:
    """Per class (rows): the record count and the mean probability in each cell of ``CELLS``
    (NaN for an empty cell), and the AUC against the seen and against the true labels.

    ``y_seen``, ``y_true``: (N, C) 0/1; ``probs``: (N, C) in [0, 1]. ConfigError on other shapes,
    non-binary labels or probabilities outside [0, 1] / NaN."""
    y_seen, y_true, probs = (np.asarray(a, dtype=np.float64) for a in (y_seen, y_true, probs))
    if not (y_seen.ndim == 2 and y_seen.shape == y_true.shape == probs.shape and y_seen.shape[1] == len(classes)):
        raise ConfigError(
            f"y_seen, y_true and probs must share one (N, C) shape with C = {len(classes)} classes; got "
            f"{y_seen.shape}, {y_true.shape}, {probs.shape}"
        )
    for name, y in (("y_seen", y_seen), ("y_true", y_true)):
        if not np.isin(y, (0.0, 1.0)).all():
            raise ConfigError(f"{name} must hold only 0 and 1")
    if not (np.isfinite(probs).all() and probs.min() >= 0 and probs.max() <= 1):
        raise ConfigError("probs must be finite probabilities in [0, 1]")
    rows = {}
    for j, c in enumerate(classes):
        row = {}
        for cell, (t, s) in CELLS.items():
            keep = (y_true[:, j] == t) & (y_seen[:, j] == s)
            row[f"n {cell}"] = int(keep.sum())
            row[f"p {cell}"] = float(probs[keep, j].mean()) if keep.any() else np.nan
        rows[c] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["AUC seen labels"] = per_class_auc(y_seen, probs, classes)
    out["AUC true labels"] = per_class_auc(y_true, probs, classes)
    return out


def truly_positive(data, cls: str, *, labelled: bool = False) -> np.ndarray:
    """Bool per record of ``data`` (an ``ECGData``): the record has ``cls`` by the generator's
    noise-free truth (``meta["true_<cls>"]``, generator v2; the regions follow it), or by its label
    where no truth is kept (v1, real data). ``labelled=True`` also asks for the label, so a coding
    error is never picked as an example of the class. ConfigError names an unknown class."""
    if cls not in data.classes:
        raise ConfigError(f"class {cls!r} is not in the data's classes {list(data.classes)}")
    label = data.labels[:, list(data.classes).index(cls)] == 1
    column = f"true_{cls}"
    if data.meta is None or column not in data.meta:
        return label
    truth = data.meta[column].to_numpy() == 1
    return truth & label if labelled else truth
