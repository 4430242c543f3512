"""Training: crops as batches, objectives, ``fit``/``predict``, checkpoints, model cache, DDP.

>>> from ecgkd_lite.train import fit, predict
>>> result = fit(model, train, val, input_leads="I", epochs=10)
>>> p_test = predict(result.model, test, input_leads="I")
"""

from .cache import cache_key, cached_fit
from .config import TrainConfig
from .checkpoint import load_checkpoint, model_config, save_checkpoint
from .datasets import ECGDataset, window_starts
from .distributed import DistContext, launch
from .engine import FitResult, fit, predict
from .history import History
from .objective import Objective, ObjectiveProtocol, SupervisedObjective, masked_bce_with_logits, select_leads

__all__ = [
    "ECGDataset",
    "window_starts",
    "TrainConfig",
    "Objective",
    "ObjectiveProtocol",
    "SupervisedObjective",
    "masked_bce_with_logits",
    "select_leads",
    "fit",
    "predict",
    "FitResult",
    "History",
    "save_checkpoint",
    "load_checkpoint",
    "model_config",
    "cached_fit",
    "cache_key",
    "DistContext",
    "launch",
]
