"""Recipes: a named, weighted list of distillation terms (the methods' recipes live in ``methods.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..errors import ConfigError
from ..versions import key_versions, term_component
from .base import TERMS, KDTerm, build_term, check_non_negative
from .methods import method


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
        terms = [term_component(TERMS[e.name]) for e in self.entries if e.name in TERMS]
        return key_versions("distiller", "kd_helpers", *terms) if self.entries else {}

    def build(self) -> list[tuple[float, KDTerm]]:
        """Fresh ``(weight, term)`` pairs; unknown term names raise ConfigError listing the known ones."""
        return [(e.weight, build_term(e.name, **e.params)) for e in self.entries]


def build_recipe(name_or_config: str | Recipe | Mapping | Sequence) -> Recipe:
    """A recipe from a method name in the method table (``methods.py``), a config (see ``Recipe.from_config``) or a Recipe."""
    if isinstance(name_or_config, Recipe):
        return name_or_config
    if isinstance(name_or_config, str):
        return Recipe.from_config(method(name_or_config).recipe)
    return Recipe.from_config(name_or_config)
