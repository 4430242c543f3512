"""ecgkd_lite.models: the model zoo (registry by name and size) and feature capture by forward hooks.

Classifiers (B, in_leads, T) -> logits (B, n_classes): ``resnet1d``, ``patch_transformer`` and
``printout_cnn`` (12-lead teachers; the last reads the rendered ECG printout image),
``cnn_transformer`` and ``cnn`` (1-lead students). Restoration net: ``unet1d`` (B, 1, T) -> (B, 12, T).
"""

from . import patch_transformer, printout, resnet1d, student, unet1d  # noqa: F401  (registers the models)
from .hooks import FeatureCapture
from .registry import ECGClassifier, ECGModel, build_model, list_models, model_from_config, register_model

__all__ = [
    "ECGClassifier",
    "ECGModel",
    "FeatureCapture",
    "build_model",
    "list_models",
    "model_from_config",
    "register_model",
]
