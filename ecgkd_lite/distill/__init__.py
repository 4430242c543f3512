"""ecgkd_lite.distill: distillation terms, recipes, the teacher cache and the Distiller objective.

Importing this package registers every term in ``TERMS``: the classic baselines (``vanilla_kd``,
``fitnets``, ``attention_transfer``, ``rkd``, ``crd``, ``dkd``), LiteHeart (``region_aware``,
``cross_layer_mi``, ``pseudo_label``, ``consistency``), EVL-ECG (``mhca``, ``ot``, ``relation``) and
the semi-supervised references (``mean_teacher``, ``hard_pseudo_label``).
``METHOD_TABLE`` (``methods.py``) is the one table of methods: family, recipe, colour, label.
"""

from . import baselines, evl, liteheart, reference
from .base import TERMS, KDTerm, build_term, register_term
from .distiller import Distiller, resolve_leads
from .methods import FAMILIES, METHOD_TABLE, METHODS, Method, method, methods_of
from .recipe import Recipe, RecipeEntry, build_recipe
from .teacher_cache import TeacherCache, crop_starts

__all__ = [
    "TERMS",
    "KDTerm",
    "build_term",
    "register_term",
    "Distiller",
    "resolve_leads",
    "METHODS",
    "METHOD_TABLE",
    "Method",
    "method",
    "methods_of",
    "FAMILIES",
    "Recipe",
    "RecipeEntry",
    "build_recipe",
    "TeacherCache",
    "crop_starts",
    "baselines",
    "evl",
    "liteheart",
    "reference",
]
