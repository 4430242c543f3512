"""An equal tuning budget for every method: one fixed validation grid of ``GRID_SIZE`` points each.

``ecgkd bench tune --methods all --profile quick`` -> ``results/tune_<method>_quick.json``

Every headline KD method of the method table (the classic ones and both families) gets the same
search: ``GRID_SIZE`` recipe configs, built from the method table's own row (classic methods) or
the family's recipe function (``liteheart_recipe``, ``evl_recipe``), always holding

- the method table's default (point 0): the papers' values for the classic methods (vanilla KD
  T 4, Hinton et al. 2015; FitNets weight 1; attention transfer 10, Zagoruyko & Komodakis 2017;
  RKD 25 / 50, Park et al. 2019; CRD 0.5, tau 0.07, Tian et al. 2020; DKD alpha 1, beta 8, T 4,
  Zhao et al. 2022), LiteHeart's stated weights (the paper publishes neither code nor weights) and
  EVL-ECG's table default; EVL-ECG's grid also holds the paper's form (alpha 0.5, unit weights);
- weights at most 0.1x the default's main weight (``MAIN_WEIGHT``).

The grids, scaled to the student's BCE (about 0.17 for a trained 1-lead student on the quick
synthetic set). Measured weighted KD at the defaults, against that BCE: vanilla KD 3.4x, FitNets
15x, attention transfer 8x, RKD 13x, CRD 14x, DKD 86x, LiteHeart 11x, EVL-ECG 1x. So every grid
runs from the default down, in log steps, to well below the BCE:

- one-weight methods (FitNets, attention transfer, RKD, CRD): the term weight times
  ``SCALES`` = 1, 0.3, 0.1, 0.03, 0.01, 0.003 (half decades);
- logit methods (vanilla KD, DKD): the weight times ``LOGIT_SCALES`` = 1, 0.1, 0.01 x the
  temperature ``{T, T / 2}`` (T the default, 4);
- LiteHeart: every term weight (region, MI, soft targets, pseudo-labels) times ``SCALES``;
- EVL-ECG: the table's weights with alpha 0.1 (the default), alpha 0.5 with unit weights (the
  paper's form), then the table's weights with alpha 0.3, 0.03, 0.01, 0.003.

Each point trains the tiny 1-lead student with seed 0 under the benchmark's identical budget
(``experiment.train_student``, the quality benchmark's cache tag, so a point equal to a benchmark
run is one run) and records its best validation macro AUC, the early-stopping monitor. The test
split is never read. Selection: ``SELECTION``. Each finished point is written to
``<results>/parts/tune_<method>_<profile>/point<i>.json`` and skipped on a rerun, so two processes
can share one method's search (``--points``). The benchmark
(``ecgkd bench quality --tuned``) then runs each method's chosen config (``tuned_recipe``) for every seed.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .. import experiment
from ..config import REPO_ROOT, Profile, get_profile
from ..distill import METHOD_TABLE, methods_of
from ..distill.evl import evl_recipe
from ..distill.liteheart import liteheart_recipe
from ..errors import ConfigError
from ..progress import progress as progress_bar
from ..utils import atomic_write_json
from .stamp import run_stamp

SCHEMA = "ecgkd-tune/1"
#: points per method: the same for every method
GRID_SIZE = 6
#: multipliers of the default weights, half decades (one-weight methods, LiteHeart)
SCALES = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003)
#: multipliers of the default weight of the logit methods, crossed with the temperatures {T, T/2}
LOGIT_SCALES = (1.0, 0.1, 0.01)
LOGIT_METHODS = ("vanilla_kd", "dkd")
SELECTION = "max validation macro AUC (seed 0), ties -> the earlier grid point"
RESULTS = REPO_ROOT / "results"
#: a search's key (``results/tune_<method>_<search>.json``) -> its ``ecgkd bench tune`` options, where
#: they are not ``--profile <search>``: ``converged_v2`` is the converged split on generator v2 data
SEARCH_OPTIONS = {"converged_v2": "--profile converged --generator v2"}
#: method -> where its main weight sits in the recipe config (the weight the grid scales)
MAIN_WEIGHT: dict[str, tuple[str, ...]] = {
    "vanilla_kd": ("vanilla_kd", "weight"),
    "fitnets": ("fitnets", "weight"),
    "attention_transfer": ("attention_transfer", "weight"),
    "rkd": ("rkd", "weight"),
    "crd": ("crd", "weight"),
    "dkd": ("dkd", "weight"),
    "liteheart": ("region_aware", "weight"),
    "evl_ecg": ("alpha",),
}


def _r(x: float) -> float:
    """``x`` to 6 significant digits (0.1 * 0.1 is 0.01 in the JSON, not 0.010000000000000002)."""
    return float(f"{x:.6g}")


def tunable() -> tuple[str, ...]:
    """The methods with a search: every headline method of the method table but the baseline."""
    return tuple(n for n in methods_of(kind="headline") if n != "baseline")


def check_method(name: str) -> str:
    """``name`` if it has a search; ConfigError naming it and the tunable methods otherwise."""
    if name not in tunable():
        what = "is not a headline KD method" if name in METHOD_TABLE else "is unknown"
        raise ConfigError(f"method {name!r} {what}: no tuning grid; tunable: {list(tunable())}")
    return name


def main_weight(name: str, config: Mapping[str, Any]) -> float:
    """The main weight of ``config``, a recipe config of method ``name`` (``MAIN_WEIGHT``)."""
    value: Any = config
    for key in MAIN_WEIGHT[check_method(name)]:
        value = value["terms"][key] if key != "alpha" and "terms" in value else value[key]
    return float(value)


def _one_weight(name: str, scale: float, **changes) -> tuple[dict, dict]:
    """A classic method's table row with its weight times ``scale`` (and ``changes`` to its params)."""
    ((term, params),) = METHOD_TABLE[name].recipe.items()
    weight = _r(params.get("weight", 1.0) * scale)
    return {"weight": weight, **changes}, {term: {**params, **changes, "weight": weight}}


def grid(name: str) -> list[tuple[dict, dict]]:
    """``[(point, recipe config)]``, ``GRID_SIZE`` long; point 0 is the method table's default."""
    check_method(name)
    if name in LOGIT_METHODS:
        temperature = METHOD_TABLE[name].recipe[name]["temperature"]
        return [_one_weight(name, s, temperature=t) for t in (temperature, temperature / 2) for s in LOGIT_SCALES]
    if name == "liteheart":
        lite = METHOD_TABLE[name].recipe
        base = {
            "l_region": lite["region_aware"]["weight"],
            "l_mi": lite["cross_layer_mi"]["weight"],
            "l_soft": lite["vanilla_kd"]["weight"],
            "l_semi": lite["pseudo_label"]["weight"],
        }
        points = [{"scale": s, **{k: _r(v * s) for k, v in base.items()}} for s in SCALES]
        return [(p, liteheart_recipe(**{k: v for k, v in p.items() if k != "scale"})) for p in points]
    if name == "evl_ecg":
        evl = METHOD_TABLE[name].recipe
        weights = {"l_m": evl["terms"]["mhca"]["weight"], "l_r": evl["terms"]["relation"]["weight"]}
        weights["l_ot"] = evl["terms"]["ot"]["weight"]
        alpha = evl["alpha"]
        points = [{"alpha": alpha, **weights}, {"alpha": 0.5, "l_m": 1.0, "l_r": 1.0, "l_ot": 1.0}]
        points += [{"alpha": a, **weights} for a in (0.3, 0.03, 0.01, 0.003)]
        return [(p, evl_recipe(**p)) for p in points]
    return [_one_weight(name, s) for s in SCALES]


def tune_path(name: str, profile: str, results: str | Path | None = None) -> Path:
    """``results/tune_<method>_<profile>.json`` (``results`` defaults to ``RESULTS``)."""
    return Path(RESULTS if results is None else results) / f"tune_{name}_{profile}.json"


def search_command(name: str, search: str) -> str:
    """The command that runs (or resumes) ``name``'s search ``search``."""
    return f"ecgkd bench tune --methods {name} {SEARCH_OPTIONS.get(search, f'--profile {search}')}"


def _parts_dir(out: Path) -> Path:
    return out.parent / "parts" / out.stem


def _point_name(point: Mapping[str, float]) -> str:
    return "-".join(f"{k}{v:g}" for k, v in point.items())


def _fit_point(prep, recipe: dict, *, teacher, cache, name: str, progress: bool) -> dict:
    """Train one grid point (seed 0, tiny student, the benchmark's budget and cache tag); validation only."""
    start = time.perf_counter()
    fit = experiment.train_student(
        prep,
        recipe,
        teacher=teacher,
        size="tiny",
        seed=0,
        cache=cache,
        tag=f"student-{experiment.STUDENT_ARCH}-tiny-{name}",
        progress=progress,
    )
    return {
        "val_macro_auc": float(fit.best_metric),
        "best_epoch": fit.best_epoch,
        "epochs": len(fit.history),
        "train_seconds": float(sum(h["seconds"] for h in fit.history)),
        "seconds": time.perf_counter() - start,
    }


def choose(rows: Sequence[Mapping[str, Any]]) -> int:
    """The index of the chosen row: max ``val_macro_auc``, ties -> the earlier grid point (NaN never wins)."""
    best = None
    for i, row in enumerate(rows):
        value = row["val_macro_auc"]
        if value == value and (best is None or value > rows[best]["val_macro_auc"]):
            best = i
    if best is None:
        raise ConfigError("no grid point has a finite validation macro AUC: nothing to choose")
    return best


def tune(
    name: str,
    profile: str | Profile = "quick",
    data: str = "synthetic",
    *,
    root: str | Path | None = None,
    json_out: str | Path | None = None,
    prep=None,
    search: str | None = None,
    points: Sequence[int] | None = None,
    progress: bool = True,
    command: str | None = None,
    log: Callable[..., None] = print,
) -> dict | None:
    """Run (or resume) ``name``'s grid and write ``results/tune_<name>_<search>.json`` (or ``json_out``).

    ``prep``: an ``experiment.Prepared`` to use instead of ``experiment.prepare(data, profile)``;
    only its train and validation splits are read. ``search``: the key the result is filed under
    (default the profile's name; ``converged_v2``: the converged split on generator v2 data).
    ``points``: train only these grid indices (another process may share the search: each point is
    its own part file); the result is written once every point is there, else None is returned."""
    check_method(name)
    mine = set(range(GRID_SIZE) if points is None else points)
    if not mine or not mine <= set(range(GRID_SIZE)):
        raise ConfigError(f"points must be grid indices 0..{GRID_SIZE - 1}; got {sorted(mine)}")
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    search = prof.name if search is None else search
    out = Path(json_out) if json_out else tune_path(name, search)
    if prep is None:
        prep = experiment.prepare(data, profile=prof, root=root)
    teacher = experiment.train_teacher(prep, progress=False)
    cache = experiment.teacher_cache(prep, teacher)
    identity = json.loads(
        json.dumps(
            {
                "profile": prof.to_dict(),
                "data": {"source": data, "train": prep.train.fingerprint(), "val": prep.val.fingerprint()},
                "teacher": teacher.checkpoint.parent.name if teacher.checkpoint else None,
            }
        )
    )
    parts = _parts_dir(out)
    rows = []
    todo = grid(name)
    bar = progress_bar(todo, enabled=progress, desc=f"tune {name}", unit="point")
    for i, (point, recipe) in enumerate(bar):
        part = parts / f"point{i}.json"
        if part.exists():
            done = json.loads(part.read_text())
            if done.get("identity") == identity and done.get("recipe") == json.loads(json.dumps(recipe)):
                rows.append(done["row"])
                log(f"[tune] {name} point {i} ({_point_name(point)}): done before, skipped")
                continue
        if i not in mine:  # another process's share
            continue
        row = {"index": i, "point": point, "recipe": recipe}
        row.update(_fit_point(prep, recipe, teacher=teacher, cache=cache, name=name, progress=False))
        atomic_write_json(part, {"identity": identity, "recipe": recipe, "row": row})
        rows.append(row)
        log(
            f"[tune] {name} point {i} ({_point_name(point)}): val macro AUC {row['val_macro_auc']:.4f} "
            f"({row['seconds']:.0f} s)"
        )
    if len(rows) < GRID_SIZE:
        log(f"[tune] {name}: {len(rows)} of {GRID_SIZE} points done; the result is written once all are")
        return None
    best = choose(rows)
    result = {
        "schema": SCHEMA,
        **run_stamp(command or "ecgkd " + " ".join(shlex.quote(a) for a in sys.argv[1:])),
        **identity,
        "method": name,
        "family": METHOD_TABLE[name].family,
        "profile": prof.name,
        "search": search,
        "profile_config": identity["profile"],
        "seed": 0,
        "student": {"arch": experiment.STUDENT_ARCH, "size": "tiny", "leads": list(experiment.STUDENT_LEADS)},
        "grid_size": GRID_SIZE,
        "selection": SELECTION,
        "rows": rows,
        "chosen_index": best,
        "chosen": rows[best]["point"],
        "chosen_recipe": rows[best]["recipe"],
        "default_val_macro_auc": rows[0]["val_macro_auc"],
    }
    atomic_write_json(out, result)
    log(f"[tune] {name}: chose point {best} {rows[best]['point']} (val macro AUC {rows[best]['val_macro_auc']:.4f})")
    log(f"[tune] wrote {out}")
    return result


def tuned_recipe(name: str, profile: str = "quick", results: str | Path | None = None) -> dict:
    """The chosen recipe config of ``name`` from ``results/tune_<name>_<profile>.json`` (``profile``:
    the search's key, ``tune(search=)``).

    ConfigError (naming the command that makes it) when the file is missing or was made by the old
    family grid (``benchmarks/tune_family.py`` before the equal-budget search): the benchmark never
    silently falls back to the default."""
    check_method(name)
    path = tune_path(name, profile, results)
    make = search_command(name, profile)
    if not path.exists():
        raise ConfigError(f"{name}: no tuning result {path}; make it with `{make}`")
    result = json.loads(path.read_text())
    if result.get("schema") != SCHEMA or result.get("grid_size") != GRID_SIZE:
        raise ConfigError(
            f"{path} is not an equal-budget search (schema {result.get('schema')!r}, "
            f"{len(result.get('rows', []))} points); re-run `{make}`"
        )
    return result["chosen_recipe"]


def tuned_recipes(names: Sequence[str], profile: str = "quick", results: str | Path | None = None) -> dict[str, dict]:
    """``{name: chosen recipe config}`` for every tunable method among ``names`` (the baseline and
    the ablations keep their table recipe); ConfigError for the first one without its tune file."""
    return {n: tuned_recipe(n, profile, results) for n in names if n in tunable()}


def resolve(spec: str | Sequence[str]) -> list[str]:
    """``"all"`` (every tunable method) or a list / comma-separated string of names; ConfigError otherwise."""
    names = (
        list(tunable()) if spec == "all" else [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec)]
    )
    if not names:
        raise ConfigError(f"methods {spec!r} names no method; tunable: {list(tunable())}")
    return [check_method(n) for n in dict.fromkeys(names)]
