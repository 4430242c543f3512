"""Classic KD baselines, each registered by name in ``ecgkd_lite.distill.base.TERMS`` on import."""

from .attention_transfer import AttentionTransfer
from .crd import CRD
from .dkd import DKD
from .fitnets import FitNets
from .rkd import RKD
from .vanilla_kd import VanillaKD

__all__ = ["AttentionTransfer", "CRD", "DKD", "FitNets", "RKD", "VanillaKD"]
