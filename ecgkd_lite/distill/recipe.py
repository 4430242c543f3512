"""Recipes: a named, weighted list of distillation terms, and the methods the benchmark runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..errors import ConfigError
from .base import TERMS, KDTerm, build_term, check_non_negative

#: Named recipes run by the benchmark. Defaults, stated:
#: vanilla_kd T = 4 (Hinton et al.; a common choice for soft sigmoid targets);
#: fitnets weight 1 on the temporal map (features are z-scored by BN, MSE is O(1));
#: attention_transfer weight 10 on the temporal map (the only (C, T) map every model exposes;
#:     the loss is bounded in [0, 4] and small once maps roughly agree);
#: rkd distance 25 / angle 50 inside the term (paper), weight 1;
#: crd dim 128, tau 0.07 (paper), weight 0.5;
#: dkd alpha 1, beta 8, T 4 (paper), weight 1.
#: Every KD method keeps the student's BCE on labeled records (Distiller ce_weight = 1).
METHODS: dict[str, dict[str, dict[str, Any]]] = {
    "baseline": {},
    "vanilla_kd": {"vanilla_kd": {"weight": 1.0, "temperature": 4.0}},
    "fitnets": {"fitnets": {"weight": 1.0, "feature": "temporal"}},
    "attention_transfer": {"attention_transfer": {"weight": 10.0, "p": 2.0, "features": ["temporal"]}},
    "rkd": {"rkd": {"weight": 1.0, "distance_weight": 25.0, "angle_weight": 50.0}},
    "crd": {"crd": {"weight": 0.5, "dim": 128, "temperature": 0.07}},
    "dkd": {"dkd": {"weight": 1.0, "alpha": 1.0, "beta": 8.0, "temperature": 4.0}},
}


@dataclass(frozen=True)
class RecipeEntry:
    """One term of a recipe: its registry name, loss weight and constructor arguments."""

    name: str
    weight: float
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Recipe:
    """A weighted sum of distillation terms (built fresh, untrained, by ``build``)."""

    entries: tuple[RecipeEntry, ...] = ()
    #: None: total = CE + sum w_i L_i; a number a: total = (1 - a) CE + a sum w_i L_i (EVL-ECG form)
    alpha: float | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Mapping[str, Any]] | Sequence[Mapping[str, Any]]) -> "Recipe":
        """``{"vanilla_kd": {"weight": 1.0, "temperature": 4.0}, ...}`` or
        ``[{"name": "vanilla_kd", "weight": 1.0, "temperature": 4.0}, ...]`` (weight defaults to 1), or
        ``{"alpha": 0.5, "terms": <either form>}`` for the ``(1 - alpha) CE + alpha KD`` objective."""
        alpha = None
        if isinstance(config, Mapping) and "terms" in config and set(config) <= {"alpha", "terms"}:
            alpha = config.get("alpha")
            if alpha is not None and not (isinstance(alpha, (int, float)) and 0 <= alpha <= 1):
                raise ConfigError(f"recipe alpha must lie in [0, 1]; got {alpha!r}")
            config = config["terms"]
        if isinstance(config, Mapping):
            items = [(name, dict(params or {})) for name, params in config.items()]
        elif isinstance(config, Sequence) and not isinstance(config, str):
            items = []
            for i, item in enumerate(config):
                if not isinstance(item, Mapping) or "name" not in item:
                    raise ConfigError(f"recipe entry {i} must be a mapping with a 'name'; got {item!r}")
                params = dict(item)
                items.append((params.pop("name"), params))
        else:
            raise ConfigError(f"a recipe config must be a dict or a list of dicts; got {type(config).__name__}")
        entries = []
        for name, params in items:
            weight = check_non_negative(f"weight of term {name!r}", params.pop("weight", 1.0))
            entries.append(RecipeEntry(str(name), weight, params))
        names = [e.name for e in entries]
        if len(set(names)) != len(names):
            raise ConfigError(f"recipe names a term twice: {names}")
        return cls(tuple(entries), None if alpha is None else float(alpha))

    def to_config(self) -> dict[str, Any]:
        """The dict form accepted by ``from_config`` (for logs next to trained models)."""
        terms = {e.name: {"weight": e.weight, **e.params} for e in self.entries}
        return terms if self.alpha is None else {"alpha": self.alpha, "terms": terms}

    def code_versions(self) -> dict[str, int]:
        """Versions of the code this recipe's runs depend on (``ecgkd_lite.versions``): the
        distiller, the shared helpers and each term's own file; part of every distilled run's key."""
        from ..versions import key_versions, term_component

        terms = [term_component(TERMS[e.name]) for e in self.entries if e.name in TERMS]
        return key_versions("distiller", "kd_helpers", *terms) if self.entries else {}

    def build(self) -> list[tuple[float, KDTerm]]:
        """Fresh ``(weight, term)`` pairs; unknown term names raise ConfigError listing the known ones."""
        return [(e.weight, build_term(e.name, **e.params)) for e in self.entries]


def build_recipe(name_or_config: str | Recipe | Mapping | Sequence) -> Recipe:
    """A recipe from a method name in ``METHODS``, a config (see ``Recipe.from_config``) or a Recipe."""
    if isinstance(name_or_config, Recipe):
        return name_or_config
    if isinstance(name_or_config, str):
        if name_or_config not in METHODS:
            raise ConfigError(f"distillation method {name_or_config!r} is unknown; known: {sorted(METHODS)}")
        return Recipe.from_config(METHODS[name_or_config])
    return Recipe.from_config(name_or_config)


def _family_recipes() -> dict[str, dict[str, Any]]:
    """The two method families' full recipes with their stated default weights, and their ablations:
    ``<family>-no_<part>`` is the full recipe with that one part removed (the other weights and
    ``alpha`` unchanged). Without ``mhca``, ``relation`` compares the student with the teacher tokens
    interpolated to the student's length instead of the attended summary."""
    from .evl import evl_recipe
    from .liteheart import liteheart_recipe

    lite, evl = liteheart_recipe(), evl_recipe()
    out = {"liteheart": lite, "evl_ecg": evl}
    # no_semi removes the whole semi-supervised component: soft targets and pseudo-labels
    for parts, short in ((("region_aware",), "region"), (("cross_layer_mi",), "mi"),
                         (("vanilla_kd", "pseudo_label"), "semi")):
        out[f"liteheart-no_{short}"] = {k: v for k, v in lite.items() if k not in parts}
    # single LiteHeart components on top of CE, and their ablations (notebooks 05, 06)
    out["region_aware"] = {"region_aware": dict(lite["region_aware"])}
    out["region_aware-uniform"] = {"region_aware": {**lite["region_aware"], "uniform": True}}
    out["cross_layer_mi"] = {"cross_layer_mi": dict(lite["cross_layer_mi"])}
    out["cross_layer_mi-same_depth"] = {"cross_layer_mi": {**lite["cross_layer_mi"], "pairs": "same_depth"}}
    for part in ("mhca", "relation", "ot"):
        terms = {k: dict(v) for k, v in evl["terms"].items() if k != part}
        if part == "mhca":
            terms["relation"]["teacher_alignment"] = "interpolate"
        out[f"evl_ecg-no_{part}"] = {"alpha": evl["alpha"], "terms": terms}
    return out


METHODS.update(_family_recipes())
