"""The ECG data layer: one container (``ECGData``), five sources, explicit preprocessing.

>>> from ecgkd_lite.data import load_synthetic
>>> data = load_synthetic(200, fs=100, seconds=10, seed=0)
>>> train, val, test = data.splits()
>>> lead_I = train.select_leads("I")
"""

from .conditions import CLASS_NAMES, CONDITIONS, N_CLASSES, Condition
from .container import FIDUCIAL_COLUMNS, SPLIT_FOLDS, TEST_FOLDS, TRAIN_FOLDS, VAL_FOLDS, ECGData
from .leads import LEADS12, canonical_lead, lead_indices
from .preprocess import StandardScaler, bandpass, resample

__all__ = [
    "ECGData",
    "LEADS12",
    "CONDITIONS",
    "CLASS_NAMES",
    "N_CLASSES",
    "Condition",
    "SPLIT_FOLDS",
    "TRAIN_FOLDS",
    "VAL_FOLDS",
    "TEST_FOLDS",
    "FIDUCIAL_COLUMNS",
    "canonical_lead",
    "lead_indices",
    "StandardScaler",
    "bandpass",
    "resample",
    "load_synthetic",
    "load_ptbxl",
    "load_challenge",
    "load_ptbxl_2k",
    "load_ludb",
    "ludb_wave_masks",
]


def __getattr__(name):  # lazy: readers import wfdb/scipy.io only when used
    if name == "load_synthetic":
        from .synthetic import load_synthetic

        return load_synthetic
    if name == "load_ptbxl":
        from .ptbxl import load_ptbxl

        return load_ptbxl
    if name == "load_challenge":
        from .challenge import load_challenge

        return load_challenge
    if name == "load_ptbxl_2k":
        from .ptbxl2k import load_ptbxl_2k

        return load_ptbxl_2k
    if name in ("load_ludb", "ludb_wave_masks"):
        from . import ludb

        return getattr(ludb, name)
    raise AttributeError(f"module 'ecgkd_lite.data' has no attribute {name!r}")
