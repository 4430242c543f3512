"""Training and scoring the 12-lead restoration net (LiteHeart, arXiv 2511.02851, Fig. 1d).

The net maps lead I to all 12 leads. It is trained on training-fold 12-lead records only, with

    L = MSE(x_hat, x) + L1(x_hat, x)        (over the 12 leads, in the scaled signal space)

and reported per lead on held-out records: Pearson r (shape) and RMSE in mV (scale restored
with the training scaler's per-lead std). Lead I itself is an input, so its r is ~1 by
construction; the table says so rather than averaging it in (``mean_r_restored`` excludes it).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..data.container import ECGData
from ..data.leads import lead_indices
from ..errors import ConfigError, ModelError
from ..versions import key_versions
from .objective import Objective


class RestorationObjective(Objective):
    """``batch["x"]`` (B, 12, T) -> loss of ``net(x[:, input_leads])`` against all 12 leads."""

    monitors = ("val_pearson",)

    def __init__(self, net: nn.Module, input_idx: Sequence[int], n_leads: int = 12):
        super().__init__()
        self.net = net
        self.input_idx = list(input_idx)
        out = getattr(net, "config", {}).get("kwargs", {}).get("out_leads", n_leads)
        if out != n_leads:
            raise ModelError(f"restoration net outputs {out} leads; the data has {n_leads}")

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        x = batch["x"]
        x_hat = self.net(x[:, self.input_idx])
        mse, l1 = F.mse_loss(x_hat, x), F.l1_loss(x_hat, x)
        return {"mse": mse, "l1": l1, "total": mse + l1}

    def validation_metrics(self, model: nn.Module, val: ECGData) -> dict:
        table = restoration_scores(model, val, input_idx=self.input_idx)
        return {
            "val_pearson": float(table["pearson_r"].drop(index=[val.leads[i] for i in self.input_idx]).mean()),
            "val_mse": float((table["rmse"] ** 2).mean()),
        }


@torch.inference_mode()
def restore(
    net: nn.Module,
    data: ECGData,
    *,
    input_leads: Sequence[str] = ("I",),
    batch_size: int = 256,
    trained_fs: float | None = None,
    trained_samples: int | None = None,
) -> ECGData:
    """The 12-lead records rebuilt from ``input_leads`` of ``data`` (same scaling as ``data``).

    ``trained_fs`` / ``trained_samples`` (recorded when the net was trained) guard against using a
    net on another sampling rate, or on records shorter than its training crops (the U-Net is fully
    convolutional, so longer records are fine): a mismatch raises ConfigError.
    """
    if trained_fs is not None and float(trained_fs) != float(data.fs):
        raise ConfigError(
            f"restoration net was trained at {trained_fs:g} Hz; the data is at {data.fs:g} Hz "
            "(resample the data or train a net for this rate)"
        )
    if trained_samples is not None and data.n_samples < int(trained_samples):
        raise ConfigError(
            f"restoration net was trained on crops of {trained_samples} samples; the data's records "
            f"have {data.n_samples} (pad the data or train a net for this length)"
        )
    idx = lead_indices(list(input_leads), data.leads)
    net.eval()
    device = next(net.parameters()).device
    out = np.empty((len(data), 12, data.n_samples), dtype=np.float32)
    for lo in range(0, len(data), batch_size):
        x = torch.from_numpy(data.signals[lo : lo + batch_size, idx]).to(device)
        out[lo : lo + batch_size] = net(x).cpu().numpy()
    from ..data.leads import LEADS12

    step = {"step": "restored", "from_leads": list(input_leads)}
    return data.derive(
        {**step, "net": net_identity(net), "code": key_versions("restoration")},
        preprocessing=step,
        signals=out,
        leads=LEADS12,
    )


def net_identity(net: nn.Module) -> str:
    """What identifies a restoration net in the key of the data it restores: its run's name (the
    model cache key, set by ``experiment.train_restoration``), else (a net built by hand) a hash
    of its weights, rate, crop length and configuration."""
    run = getattr(net, "run_key", None)
    if run:
        return str(run)
    from ..utils import fingerprint

    weights = [t.detach().cpu().numpy() for t in net.state_dict().values()]
    return fingerprint(
        *weights, getattr(net, "trained_fs", None), getattr(net, "trained_samples", None), getattr(net, "config", None)
    )


def restoration_scores(
    net: nn.Module, data: ECGData, *, input_idx: Sequence[int] = (0,), lead_std: np.ndarray | None = None
) -> pd.DataFrame:
    """Per-lead Pearson r (mean over records) and RMSE of the restored leads.

    RMSE is in the data's units, or in mV when ``lead_std`` (the scaler's per-lead std) is given.
    """
    if data.n_leads != 12:
        raise ConfigError(f"restoration is scored against 12 real leads; the data has {data.n_leads}")
    rebuilt = restore(net, data, input_leads=[data.leads[i] for i in input_idx]).signals
    x = data.signals
    xc = x - x.mean(axis=2, keepdims=True)
    yc = rebuilt - rebuilt.mean(axis=2, keepdims=True)
    denom = np.sqrt((xc**2).sum(2) * (yc**2).sum(2))
    r = np.where(denom > 0, (xc * yc).sum(2) / np.maximum(denom, 1e-12), np.nan)  # (N, 12)
    err = rebuilt - x
    if lead_std is not None:
        err = err * np.asarray(lead_std, dtype=np.float32).reshape(1, -1, 1)
    rmse = np.sqrt((err**2).mean(axis=(0, 2)))
    table = pd.DataFrame({"pearson_r": np.nanmean(r, axis=0), "rmse": rmse}, index=list(data.leads))
    table.index.name = "lead"
    table["input"] = [i in set(input_idx) for i in range(12)]
    return table


def restore_dataset(
    net: nn.Module, data: ECGData, input_leads: Sequence[str] = ("I",), *, batch_size: int = 256
) -> ECGData:
    """``data`` with all 12 leads rebuilt by ``net`` from ``input_leads``: the records a 1-lead device
    would hand to a 12-lead model. Same record ids, labels, folds and side tables (see ``restore``).

    The guards come from the net itself: ``net.trained_fs`` and ``net.trained_samples`` (set by
    ``experiment.train_restoration``) must be present, the data must be at that rate and at least
    that long, and the net must take ``len(input_leads)`` leads. Raises ModelError for a net that
    does not record how it was trained, ConfigError for a mismatch (the message names both sides).
    """
    input_leads = [input_leads] if isinstance(input_leads, str) else list(input_leads)
    fs, samples = getattr(net, "trained_fs", None), getattr(net, "trained_samples", None)
    if fs is None or samples is None:
        raise ModelError(
            f"restoration net {type(net).__name__} does not record its training rate and crop length "
            "(trained_fs, trained_samples); load it with experiment.train_restoration or set both"
        )
    n_in = getattr(net, "config", {}).get("in_leads", len(input_leads))
    if n_in != len(input_leads):
        raise ConfigError(
            f"restoration net takes {n_in} input lead(s); input_leads={input_leads} gives {len(input_leads)}"
        )
    return restore(net, data, input_leads=input_leads, batch_size=batch_size, trained_fs=fs, trained_samples=samples)


def restore_prepared(prep, net: nn.Module, input_leads: Sequence[str] = ("I",), *, cache: bool = True):
    """A copy of ``prep`` (``experiment.Prepared``) whose train, val and test splits are the 12 leads
    restored from ``input_leads`` by ``net`` (``restore_dataset``); the scaler is kept, since the net
    works in the scaled space it was trained in.

    With ``cache`` the restored splits are kept in ``cache_dir("datasets")`` under their key: the
    source split's key, the input leads and the net's identity (``net_identity``: its run's name),
    so a model trained on them is found again in the model cache on any machine.
    """
    from dataclasses import replace

    from tqdm.auto import tqdm

    from ..config import cache_dir
    from ..utils import fingerprint, torch_threads

    input_leads = [input_leads] if isinstance(input_leads, str) else list(input_leads)
    net_key = net_identity(net)
    splits = {}
    for name in tqdm(("train", "val", "test"), desc="restoring splits", leave=False):
        source = getattr(prep, name)
        path = (
            cache_dir("datasets")
            / f"restored-{fingerprint(net_key, input_leads, source.fingerprint(), key_versions('restoration'))}.npz"
        )
        if cache and path.exists():
            splits[name] = ECGData.load(path)
            continue
        with torch_threads(1):  # the same bits whatever the caller's thread count (keys do not depend on them)
            splits[name] = restore_dataset(net, source, input_leads)
        if cache:
            splits[name].save(path)
    recipe = {**prep.recipe, "restored": {"from_leads": input_leads, "net": net_key}}
    return replace(prep, **splits, recipe=recipe)


class RestoredInputModel(nn.Module):
    """``model(net(x))`` as one module: lead(s) in, the restoration net's 12 leads fed to a 12-lead
    ``model`` (the deployed pipeline; for batch-1 latency and end-to-end evaluation).

    ``config`` declares the net's input leads and the model's classes, so ``predict`` and
    ``experiment.evaluate_model`` treat it as a 1-lead classifier. ModelError when the net's output
    leads are not the model's input leads.
    """

    def __init__(self, net: nn.Module, model: nn.Module):
        super().__init__()
        net_cfg, model_cfg = getattr(net, "config", {}), getattr(model, "config", {})
        out = net_cfg.get("kwargs", {}).get("out_leads", 12)
        if model_cfg.get("in_leads", out) != out:
            raise ModelError(
                f"model {model_cfg.get('name', type(model).__name__)} takes {model_cfg['in_leads']} "
                f"leads; the restoration net outputs {out}"
            )
        self.net, self.model = net, model
        self.config = {
            "name": f"restored+{model_cfg.get('name', type(model).__name__)}",
            "in_leads": net_cfg.get("in_leads", 1),
            "n_classes": model_cfg.get("n_classes"),
            "kwargs": {"restoration": net_cfg, "model": model_cfg},
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(self.net(x))
