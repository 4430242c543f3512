"""What each lead contributes: the lead-drop test.

Replace one lead by zeros (its training mean, since inputs are standardised per lead) and
measure the change of per-class AUC:

    drop[lead, c] = AUC_c(all leads) - AUC_c(lead zeroed)

A large drop means the model relies on that lead for class c. ``keep_only`` does the converse:
zero every lead but the given ones (e.g. how does the 12-lead teacher do on lead I alone?).
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from ..data.container import ECGData
from ..data.leads import lead_indices
from ..metrics import per_class_auc


def _zeroed(data: ECGData, idx: Sequence[int]) -> ECGData:
    signals = data.signals.copy()
    signals[:, list(idx)] = 0.0
    return data.derive({"step": "zero_leads", "leads": [data.leads[i] for i in idx]}, signals=signals)


def lead_drop(model, data: ECGData, *, predict_kwargs: dict | None = None) -> pd.DataFrame:
    """``(leads x classes)`` AUC drop when each lead is zeroed; column ``macro`` averages the classes."""
    from ..train import predict

    kwargs = predict_kwargs or {}
    base = per_class_auc(data.labels, predict(model, data, **kwargs), data.classes)
    rows = {}
    for i, lead in enumerate(data.leads):
        rows[lead] = base - per_class_auc(data.labels, predict(model, _zeroed(data, [i]), **kwargs), data.classes)
    table = pd.DataFrame(rows).T
    table["macro"] = table.mean(axis=1)
    return table


def keep_only(model, data: ECGData, leads: str | Sequence[str], *, predict_kwargs: dict | None = None) -> pd.Series:
    """Per-class AUC when every lead except ``leads`` is zeroed."""
    from ..train import predict

    keep = set(lead_indices(leads, data.leads))
    drop = [i for i in range(data.n_leads) if i not in keep]
    return per_class_auc(data.labels, predict(model, _zeroed(data, drop), **(predict_kwargs or {})), data.classes)
