"""The quality benchmark: the project's headline table.

``ecgkd bench quality --profile quick --seeds 3 --methods all --json results/bench_quality_quick.json``

One teacher (12 leads, seed 0), then for every method and seed a 1-lead student trained with the
*identical* recipe (data, epochs, optimiser, schedule, seed); only the loss terms differ. Each row
reports macro AUC, macro F1 (per-class thresholds tuned on validation) and MAP on the test fold,
mean and std over seeds, the **gap closed** on each metric,

    gap closed = (student_method - student_baseline) / (teacher - student_baseline),

per-class AUC, parameters and training seconds (summed epoch times recorded when the model was
trained, so a model loaded from the cache reports its real cost). A naive row (predict each
class's training prevalence) sits beside the table, as in the PTB-XL benchmark.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import experiment
from ..config import Profile, get_profile
from ..distill import METHOD_TABLE, METHODS, methods_of
from ..errors import ConfigError
from ..evaluate import evaluate, gap_closed
from ..utils import atomic_write_json
from . import semi
from .stamp import run_stamp
from .tune import tuned_recipes

SCHEMA = "ecgkd-bench-quality/1"
METRICS = ("macro_auc", "macro_f1", "map")
#: the method groups, from the one method table (``distill/methods.py``)
CLASSIC = methods_of("classic")
FAMILIES = methods_of("liteheart", "evl_ecg")


def ablations() -> list[str]:
    """The family ablations (``liteheart-no_mi``, ``evl_ecg-no_ot``, ...), from the method table."""
    return list(methods_of("liteheart", "evl_ecg", kind="ablation"))


def resolve_methods(spec: str | Sequence[str]) -> list[str]:
    """``"all"`` (baseline, classic KD, both families and their ablations), ``"baselines"`` (baseline
    + classic KD), ``"families"`` (LiteHeart, EVL-ECG and their ablations), or a list /
    comma-separated string of names from ``distill.METHODS``. ``baseline`` is always first.
    ConfigError for an unknown or empty name (``","`` would otherwise run the baseline alone)."""
    if isinstance(spec, str):
        if spec == "all":
            names = [*CLASSIC, *FAMILIES, *ablations()]
        elif spec == "families":
            names = [*FAMILIES, *ablations()]
        elif spec == "baselines":
            names = list(CLASSIC)
        else:
            names = [s.strip() for s in spec.split(",")]
    else:
        names = [str(s).strip() for s in spec]
    if not names or not all(names):
        raise ConfigError(
            f"methods {spec!r} holds an empty method name; give 'all', 'baselines', 'families' "
            f"or comma-separated names from {sorted(METHODS)}"
        )
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise ConfigError(f"methods {unknown} are unknown; known: {sorted(METHODS)} (or 'all', 'baselines')")
    return ["baseline"] + [n for n in dict.fromkeys(names) if n != "baseline"]


def _stamp(argv: Sequence[str] | None) -> dict:
    """The result file's stamp (``bench.stamp.run_stamp``) with the ``ecgkd`` command line."""
    return run_stamp("ecgkd " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])))


def _parse_teacher(spec: str | None) -> tuple[str, str]:
    """``None`` -> the default teacher; ``"arch/size"`` -> (arch, size), checked against the model registry."""
    if spec is None:
        return experiment.TEACHER
    from ..models import list_models

    arch, _, size = str(spec).partition("/")
    known = list_models()
    if arch not in known or size not in known[arch]:
        raise ConfigError(f"teacher {spec!r} is unknown; give 'arch/size' from {known}")
    return arch, size


def _row(report: dict, classes) -> dict:
    return {
        **{m: float(report[m]) for m in METRICS},
        "per_class_auc": {c: (None if np.isnan(v) else float(v)) for c, v in report["per_class_auc"].items()},
        "missing_classes": list(report["missing_classes"]),
    }


def _interval(y, p, n_boot: int = 500) -> list[float]:
    """95 % bootstrap interval of the test macro AUC (records resampled; 500 resamples, seed 0)."""
    from ..evaluate import bootstrap_ci

    ci = bootstrap_ci(y, p, "macro_auc", n_boot=n_boot)
    return [float(ci.low), float(ci.high)]


def _naive(prep) -> dict:
    """Predict each class's training prevalence for every record (AUC 0.5, MAP = prevalence)."""
    prior = np.tile(prep.train.labels.mean(0), (len(prep.test), 1))
    p_val = np.tile(prep.train.labels.mean(0), (len(prep.val), 1))
    return _row(
        evaluate(prep.test.labels, prior, y_val=prep.val.labels, p_val=p_val, classes=prep.classes), prep.classes
    )


def _summary(runs: list[dict]) -> tuple[dict, dict]:
    mean = {m: float(np.mean([r[m] for r in runs])) for m in METRICS}
    std = {m: float(np.std([r[m] for r in runs], ddof=1)) if len(runs) > 1 else 0.0 for m in METRICS}
    return mean, std


def run_quality(
    *,
    profile: str | Profile | None = None,
    seeds: int = 3,
    methods: str | Sequence[str] = "all",
    data: str = "synthetic",
    root: str | Path | None = None,
    student_size: str = "tiny",
    eval_data: str | None = None,
    eval_root: str | Path | None = None,
    json_out: str | Path | None = None,
    label_ratio: float = 1.0,
    teacher: str | None = None,
    argv: Sequence[str] | None = None,
    log=print,
    scenario: str | None = None,
    tuned: bool = False,
) -> dict:
    """Train (or load) teacher, baseline and every method's students; return (and write) the JSON.

    ``label_ratio`` < 1 (or a ``scenario``): a semi-supervised run (``bench/semi.py``): the scenario
    ("a" when not given: few labels everywhere; "b": a labeled 12-lead archive and a disjoint
    wearable pool, ``train/scenarios.py``) decides the teacher's records (never a label the
    students lack) and the students' pool; every method trains on matched batches of the same
    number of labeled records; the reference rows join the table; the JSON name carries the
    scenario (``..._scenario_a.json``). The split rounds per fold and keeps at least one record per
    fold, so the JSON records the share achieved (``label_ratio_achieved``, ``n_labeled``) beside
    the one asked (``label_ratio``). ``teacher`` = ``"arch/size"``
    replaces the default 12-lead teacher (e.g. ``cnn_transformer/small``, the student's own
    architecture). Every argument is checked before anything is trained: the external set
    (``eval_data``/``eval_root``) is read first. ``tuned``: every tunable method runs the config
    chosen on validation by ``ecgkd bench tune`` (``bench/tune.py``; ConfigError when its file is missing).
    """
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    if not (isinstance(seeds, int) and seeds >= 1):
        raise ConfigError(f"seeds must be a positive integer; got {seeds!r}")
    if not (isinstance(label_ratio, (int, float)) and 0 < label_ratio <= 1):
        raise ConfigError(f"label_ratio must lie in (0, 1]; got {label_ratio!r}")
    scenario = semi.check(label_ratio, scenario)
    t_arch, t_size = _parse_teacher(teacher)
    names = resolve_methods(methods)
    names = semi.with_references(names) if label_ratio < 1 else names
    recipes = tuned_recipes(names, prof.name) if tuned else {}  # --tuned: checked before training
    if eval_root is not None and eval_data is None:
        raise ConfigError(f"eval_root={str(eval_root)!r} is given without eval_data (--eval-data synthetic|ptbxl)")
    start = time.perf_counter()
    # the external set is read (so checked) before anything is trained
    eval_raw = None if eval_data is None else experiment.load_source(eval_data, profile=prof, root=eval_root)
    prep = experiment.prepare(data, profile=prof, root=root)
    log(f"[bench] {prep}")
    setting = None if scenario is None else semi.setting(prep, label_ratio, scenario, prof.batch_size, log=log)
    suffix = "" if setting is None else setting.suffix
    t_prep, s_prep = (prep, prep) if setting is None else (setting.data.teacher, setting.data.student)
    teacher = experiment.train_teacher(
        t_prep, arch=t_arch, size=t_size, **({} if setting is None else setting.teacher_args(prof.batch_size))
    )
    report = experiment.evaluate_model(teacher.model, prep, return_probs=True)
    teacher_row = _row(report, prep.classes)
    teacher_row["macro_auc_ci95"] = _interval(prep.test.labels, report["probs"])
    teacher_row["params"] = sum(p.numel() for p in teacher.model.parameters())
    teacher_row["train_seconds"] = float(sum(h["seconds"] for h in teacher.history))
    log(f"[bench] teacher macro AUC {teacher_row['macro_auc']:.4f}")
    cache = experiment.teacher_cache(s_prep, teacher)
    teacher_tag = "" if (t_arch, t_size) == experiment.TEACHER else f"-t_{t_arch}_{t_size}"
    models, results, probs = {}, {}, {"teacher": report["probs"]}
    for name in names:
        runs = []
        for seed in range(seeds):
            t_tag = "" if name == "baseline" else teacher_tag  # the baseline never sees the teacher
            tag = (
                None
                if not (suffix or t_tag)
                else f"student-{experiment.STUDENT_ARCH}-{student_size}-{name}{suffix}{t_tag}"
            )
            if name in recipes:  # the tuned config under the method's own cache tag (not "custom")
                tag = tag or f"student-{experiment.STUDENT_ARCH}-{student_size}-{name}"
            recipe = recipes.get(name, name)
            fit = experiment.train_student(
                s_prep,
                recipe,
                teacher=teacher,
                size=student_size,
                seed=seed,
                cache=cache,
                tag=tag,
                **({"labeled": None} if setting is None else setting.student_args(name)),
            )
            report = experiment.evaluate_model(fit.model, prep, return_probs=True)
            row = _row(report, prep.classes)
            row["macro_auc_ci95"] = _interval(prep.test.labels, report["probs"])
            row.update(
                seed=seed,
                train_seconds=float(sum(h["seconds"] for h in fit.history)),
                epochs=len(fit.history),
                best_epoch=fit.best_epoch,
                nonfinite_loss=any(not np.isfinite(h["train_total"]) for h in fit.history),
            )
            runs.append(row)
            models[(name, seed)] = fit.model
            probs.setdefault(name, []).append(report["probs"])
            log(
                f"[bench] {name:<20} seed {seed}: macro AUC {row['macro_auc']:.4f}  F1 {row['macro_f1']:.4f}  "
                f"MAP {row['map']:.4f}  ({row['train_seconds']:.0f} s)"
            )
        mean, std = _summary(runs)
        from ..distill import build_recipe

        results[name] = {
            "recipe": build_recipe(recipes.get(name, name)).to_config(),
            "tuned": name in recipes,
            "runs": runs,
            "mean": mean,
            "std": std,
            "params": sum(p.numel() for p in fit.model.parameters()),
            "train_seconds_mean": float(np.mean([r["train_seconds"] for r in runs])),
        }
    base = results["baseline"]["mean"]
    paired = _paired(prep.test.labels, probs)
    for name, res in results.items():
        res["gap_closed"] = {m: _gap(res["mean"][m], base[m], teacher_row[m]) for m in METRICS}
        res["time_ratio_vs_baseline"] = res["train_seconds_mean"] / results["baseline"]["train_seconds_mean"]
        res.update(paired.get(name, {}))
    out = {
        "schema": SCHEMA,
        **_stamp(argv),
        "profile": prof.to_dict(),
        "data": {
            "source": data,
            "root": None if root is None else str(root),
            "fingerprint": experiment.data_key(prep),
            "n_train": len(prep.train),
            "n_val": len(prep.val),
            "n_test": len(prep.test),
            "recipe": prep.recipe,
        },
        "classes": list(prep.classes),
        "seeds": seeds,
        "label_ratio": float(label_ratio),
        "n_labeled": len(prep.train),
        "label_ratio_achieved": 1.0,
        **({} if setting is None else {**setting.record(), "teacher_batches": setting.teacher_args(prof.batch_size)}),
        "student": {"arch": experiment.STUDENT_ARCH, "size": student_size, "leads": list(experiment.STUDENT_LEADS)},
        "teacher": {"arch": t_arch, "size": t_size, **teacher_row},
        "naive": _naive(prep),
        "methods": results,
        "wall_seconds": time.perf_counter() - start,
    }
    if eval_data is not None:
        out["external"] = external_validation(prep, teacher.model, models, eval_data, eval_root, raw=eval_raw)
    if json_out:
        json_out = json_out if setting is None else semi.json_path(json_out, scenario)
        atomic_write_json(json_out, out)
        log(f"[bench] wrote {json_out}")
    return out


def _paired(y: np.ndarray, probs: dict, n_boot: int = 1000) -> dict:
    """Per method (not the baseline): the paired bootstrap of its test macro AUC minus the
    baseline's and of the gap it closes (``evaluate.paired``: the same resampled test records for
    every model and seed; seed means), and its verdict ("better" / "worse" only where the 95 %
    interval excludes zero, else "level")."""
    from ..evaluate.paired import paired_bootstrap

    boot = paired_bootstrap(y, {k: np.stack(v) if isinstance(v, list) else v for k, v in probs.items()}, n_boot=n_boot)
    out = {}
    for name in probs:
        if name in ("teacher", "baseline"):
            continue
        d = boot.delta(name, "baseline")
        lo, hi = d["ci95"]
        out[name] = {
            "paired_delta_macro_auc": d,
            "paired_gap_closed_macro_auc": boot.gap_closed(name, "baseline", "teacher"),
            "verdict": "better" if lo > 0 else "worse" if hi < 0 else "level",
        }
    return out


def _gap(value: float, base: float, teacher: float) -> float | None:
    try:
        return float(gap_closed(value, base, teacher))
    except ConfigError:
        return None


def external_validation(prep, teacher_model, models: dict, eval_data: str, eval_root, *, raw=None) -> dict:
    """Evaluate the trained models on a second data set without retraining (``raw``: the set as
    ``experiment.load_source(eval_data, root=eval_root)`` returns it, if already read).

    The second set is band-passed like the first and scaled with the *training* scaler. Classes are
    matched by name; synthetic classes map onto PTB-XL superclasses (the superclass probability is
    the max over its member classes). Classes without a counterpart are left out and listed.
    """
    from ..data.conditions import CONDITIONS
    from ..data import bandpass, resample
    from ..train import predict

    if raw is None:
        raw = experiment.load_source(eval_data, profile=prep.profile, root=eval_root)
    if raw.fs != prep.fs:
        raw = resample(raw, prep.fs)
    ext = prep.scaler.transform(bandpass(raw, **experiment.BANDPASS))
    groups = {}
    for j, cls in enumerate(ext.classes):
        members = [i for i, c in enumerate(prep.classes) if c == cls]
        if not members:
            members = [
                i
                for i, c in enumerate(prep.classes)
                if next((k.superclass for k in CONDITIONS if k.code == c), None) == cls
            ]
        if members:
            groups[j] = members
    if not groups:
        raise ConfigError(
            f"no class of {eval_data} ({list(ext.classes)}) matches the training classes {list(prep.classes)}"
        )
    cols = sorted(groups)
    y = ext.labels[:, cols]
    window = dict(window_seconds=prep.profile.crop_seconds, stride_seconds=prep.profile.crop_seconds / 2)

    # the models predict the training classes: run them on the signals under those class names
    inputs = ext.derive(
        {"step": "relabel_as_training_classes", "classes": list(prep.classes)},
        record=False,
        labels=np.zeros((len(ext), prep.n_classes), np.float32),
        classes=prep.classes,
        snomed=None,
    )

    def score(model, leads):
        p = predict(model, inputs, input_leads=leads, **window)
        mapped = np.stack([p[:, groups[j]].max(axis=1) for j in cols], axis=1)
        rep = evaluate(y, mapped, classes=[ext.classes[j] for j in cols])
        return {
            "macro_auc": float(rep["macro_auc"]),
            "map": float(rep["map"]),
            "per_class_auc": {k: (None if np.isnan(v) else float(v)) for k, v in rep["per_class_auc"].items()},
        }

    out = {
        "data": eval_data,
        "n_records": len(ext),
        "classes": [ext.classes[j] for j in cols],
        "left_out": [c for j, c in enumerate(ext.classes) if j not in groups],
        "teacher": score(teacher_model, list(prep.train.leads)),
        "methods": {},
    }
    by_method: dict[str, list] = {}
    for (name, _seed), model in models.items():
        by_method.setdefault(name, []).append(score(model, list(experiment.STUDENT_LEADS))["macro_auc"])
    for name, values in by_method.items():
        out["methods"][name] = {
            "macro_auc_mean": float(np.mean(values)),
            "macro_auc_std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
        }
    return out


def method_order(names) -> list[str]:
    """The method table's order (baseline, the classic methods, the families, their ablations and
    parts), then anything else by name (the JSON stores methods with sorted keys, so tables
    restore this reading order)."""
    rank = {n: i for i, n in enumerate(METHOD_TABLE)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def markdown_table(result: dict) -> str:
    """The headline table: method, metrics (mean +- std over seeds), gap closed, params, time."""
    if result.get("schema") != SCHEMA:
        raise ConfigError(
            f"benchmark JSON has schema {result.get('schema')!r}; expected {SCHEMA!r} "
            "(re-run `ecgkd bench quality` to rebuild it)"
        )
    t, n = result["teacher"], result["naive"]

    def ci(row):
        return "" if not row.get("macro_auc_ci95") else "{:.3f}-{:.3f}".format(*row["macro_auc_ci95"])

    paired = any("paired_delta_macro_auc" in r for r in result["methods"].values())
    extra = (" | minus baseline (paired 95 % CI) | verdict", "|---|---", " | |") if paired else ("", "", "")
    lines = [
        "| model | macro AUC | macro F1 | MAP | gap closed (AUC) | gap closed (F1) | AUC 95 % CI (seed 0) | "
        f"params | train s{extra[0]} |",
        f"|---|---|---|---|---|---|---|---|---{extra[1]}|",
        f"| teacher (12 leads) | {t['macro_auc']:.4f} | {t['macro_f1']:.4f} | {t['map']:.4f} | | | {ci(t)} | "
        f"{t['params']:,} | {t['train_seconds']:.0f}{extra[2]} |",
        f"| naive (prevalence) | {n['macro_auc']:.4f} | {n['macro_f1']:.4f} | {n['map']:.4f} | | | | 0 | 0{extra[2]} |",
    ]

    def pct(v):
        return "" if v is None else f"{100 * v:+.0f} %"

    for name in method_order(result["methods"]):
        r = result["methods"][name]
        m, s = r["mean"], r["std"]
        lines.append(
            f"| {name} | {m['macro_auc']:.4f} ± {s['macro_auc']:.4f} | {m['macro_f1']:.4f} ± "
            f"{s['macro_f1']:.4f} | {m['map']:.4f} ± {s['map']:.4f} | "
            f"{'' if name == 'baseline' else pct(r['gap_closed']['macro_auc'])} | "
            f"{'' if name == 'baseline' else pct(r['gap_closed']['macro_f1'])} | {ci(r['runs'][0])} | "
            f"{r['params']:,} | {r['train_seconds_mean']:.0f}{_paired_cells(r) if paired else ''} |"
        )
    return "\n".join(lines)


def _paired_cells(row: dict) -> str:
    d = row.get("paired_delta_macro_auc")
    if d is None:
        return " | |"
    return f" | {d['estimate']:+.4f} [{d['ci95'][0]:+.4f}, {d['ci95'][1]:+.4f}] | {row['verdict']}"


def load_result(path: str | Path, required_methods: Sequence[str] = ()) -> dict:
    """Read a benchmark JSON; ConfigError (with the command to rebuild) on an old schema or missing methods."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"benchmark result {path} does not exist; run `ecgkd bench quality --json {path}`")
    result = json.loads(path.read_text())
    if result.get("schema") != SCHEMA:
        raise ConfigError(
            f"{path} has schema {result.get('schema')!r}, expected {SCHEMA!r}; rebuild it with "
            f"`{result.get('command', 'ecgkd bench quality')}`"
        )
    missing = [m for m in required_methods if m not in result.get("methods", {})]
    if missing:
        raise ConfigError(
            f"{path} lacks methods {missing}; rebuild with `ecgkd bench quality --methods all --json {path}`"
        )
    return result
