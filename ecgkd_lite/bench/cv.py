"""The converged quality benchmark: cross-validated on a small real set (ptbxl-2k), or on one large
synthetic test set.

``ecgkd bench quality --data ptbxl2k --root ../shared/data/ptbxl-2k --json results/bench_quality_ptbxl2k.json``
``ecgkd bench quality --profile converged --json results/bench_quality_converged.json`` (synthetic)

1,805 labeled records give a source test split of 194 records with 1-17 positives for most classes:
one split ranks nothing. So every record of the pool (source train + val) is predicted once by a
model that never saw it: ``k``-fold multi-label iterative stratification (``evaluate.cv_folds``, one
fold plan for every method and seed), a stratified validation part carved from each fold's training
part for early stopping; the source test split stays a separate hold-out, scored by the mean
probabilities of the ``k`` fold models.

Protocol (the ``ptbxl2k`` profile, ``config.py``): records resampled 250 -> 100 Hz and band-passed
0.5-40 Hz (per record), a per-lead scaler fitted on each fold's training part; every model (the
12-lead teacher, the lead-I baseline, every KD student) trains under the SAME rule: AdamW, constant
learning rate, early stopping after ``patience`` epochs without a better validation macro AUC, an
epoch cap, best epoch kept. A student of seed ``s`` distils from the teacher of seed ``s`` of its fold.

Runs: phase 1 trains seed 0 of every method (``methods``); the **best classic method** is then
chosen on VALIDATION (the mean over folds of its best validation macro AUC, seed 0), and phase 2
trains seeds ``1..seeds-1`` of the teacher, the baseline, vanilla KD, that best classic method,
LiteHeart and EVL-ECG. ``label_ratio`` < 1 (the label sweep): a semi-supervised ``scenario`` of
``bench/semi.py`` inside each fold's training part (a: the teacher trains on the labeled records
only, the students on them plus the unlabeled rest; b: the teacher on a labeled archive half,
the students on the disjoint other half, a share of it labeled); no label of the unlabeled pool
reaches any model; every method trains on the same matched batches (``train/matched.py``), the
teacher on epochs as long as the students'; the reference rows (the baseline on every label,
a lead-I mean teacher, hard pseudo-labels) join the methods.

**Synthetic** (``data="synthetic"``, the ``converged`` profile): the quick profile's 6,000 records
(its folds: 1-8 train, 9 validation, 10 the small hold-out that the quick benchmark tests on) and
``N_SYNTHETIC_TEST`` more records of the same generator stream as the test set, so one split (k = 1)
gives about 500 positives per class; the same training rule, parts, phases and paired report.

Resumable in parts: every finished (method, seed, fold) is a JSON part below ``parts_dir`` (out-of-fold
and hold-out probabilities, epochs, seconds), skipped on rerun, committed with the results, and
``shard="i/n"`` lets ``n`` processes share the work. The report pools the out-of-fold predictions and
gives, per method, the macro AUC and MAP per seed (mean +- std), the per-fold spread, and the
**paired** bootstrap of its difference to the baseline and of the gap it closes
(``evaluate.paired``: the same resampled records for every model and seed).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .. import experiment
from ..checks import check_fraction, check_int
from ..config import GENERATOR_NAMES, REPO_ROOT, get_profile
from ..data import ECGData, StandardScaler, bandpass, load_ptbxl_2k, resample
from ..data.conditions import CONDITIONS
from ..data.synthetic import assign_folds
from ..distill import build_recipe, methods_of
from ..errors import ConfigError, SplitError
from ..evaluate import cv_folds
from ..evaluate.folds import CVPlan, Fold, paired_class_delta_ci
from ..evaluate.features import VERSION as FEATURES_VERSION
from ..evaluate.features import FeatureLogistic
from ..evaluate.noise import label_noise_view
from ..evaluate.paired import VISIBILITY_RULE, paired_bootstrap, visibility_group
from ..metrics import macro_auc, per_class_auc
from ..train import predict
from ..utils import atomic_write_json, fingerprint
from ..versions import key_versions, version
from . import semi
from .quality import method_order, resolve_methods
from .stamp import run_stamp
from .tune import tunable, tune_path, tuned_recipe

SCHEMA = "ecgkd-bench-quality-cv/1"
#: data set -> its profile (``config.PROFILES``)
DATASETS = {"ptbxl2k": "ptbxl2k", "synthetic": "converged", "synthetic_v2": "converged"}
#: the synthetic data sets (one split, a large test set): generator v1 and v2 (``data/synthetic_v2.py``)
SYNTHETIC = ("synthetic", "synthetic_v2")
PROFILE = DATASETS["ptbxl2k"]
#: data set -> the equal validation search its tuned variants read (``results/tune_<method>_<search>.json``,
#: ``bench/tune.py``): v1 and v2 share the converged profile but not their data, so not their search
SEARCHES = {"ptbxl2k": "ptbxl2k", "synthetic": "converged", "synthetic_v2": "converged_v2"}
#: synthetic test records beside the quick data (about 500 positives per class at 10 % prevalence)
N_SYNTHETIC_TEST = 5000
#: methods that get every seed (the best classic method is added once chosen)
MAIN = ("baseline", "vanilla_kd", "liteheart", "evl_ecg")
#: probabilities are stored as integers in [0, 10000] (4 decimals) to keep the parts small
SCALE = 10000


@dataclass(frozen=True)
class Setting:
    """What one benchmark is: data, folds, budget, students, teacher, label ratio."""

    root: Path | None
    k: int = 5
    fold_seed: int = 0
    val_fraction: float = 0.15
    label_ratio: float = 1.0
    student_size: str = "tiny"
    scenario: str | None = None  # None at label_ratio 1, else "a" or "b"
    data: str = "ptbxl2k"  # a key of DATASETS

    @property
    def profile(self) -> str:
        return DATASETS[self.data]

    @property
    def search(self) -> str:
        return SEARCHES[self.data]

    def key(self, data_key: str) -> str:
        prof = get_profile(self.profile)
        return fingerprint(
            prof.to_dict(),
            self.k,
            self.fold_seed,
            self.val_fraction,
            self.label_ratio,
            self.student_size,
            data_key,
            experiment.TEACHER,
            experiment.STUDENT_ARCH,
            key_versions("models", "engine"),  # shared by every run; each part adds its recipe's code
            *([] if self.scenario is None else [self.scenario, key_versions("scenarios", "matched_batches")]),
            *([] if self.data == "ptbxl2k" else [self.data]),  # the real set's key predates other data sets
        )

    @property
    def tag(self) -> str:
        if self.scenario is None:
            return "" if self.label_ratio == 1 else f"-labels{round(100 * self.label_ratio):g}pct"
        return f"-labels{round(100 * self.label_ratio):g}pct-scenario_{self.scenario}"


#: non-deep references beside every table (``evaluate/features.py``: logistic regression on median
#: beats and rhythm features, C chosen on validation): name -> leads (None: all leads). Seed-free:
#: one part per fold, trained on the records whose labels the students may read.
FEATURE_MODELS: dict[str, tuple[str, ...] | None] = {"features-lead_I": ("I",), "features-12_lead": None}


#: ``<method>-tuned``: the method's config chosen by the equal validation search (``bench/tune.py``,
#: ``results/tune_<method>_<profile>.json``), beside its table default
TUNED = "-tuned"


#: ``<method>@<variant>``: the method distilled from another 12-lead teacher, ``TEACHERS[variant]``
#: (arch, size); its own scores are the row ``teacher@<variant>``. ``printout``: EVL-ECG's
#: heterogeneous teacher, a 2-D CNN + Transformer on the rendered 12-lead printout image
#: (``models/printout.py``; 32 image tokens of width 112 against the tiny student's 16 of width 96)
TEACHERS = {"printout": ("printout_cnn", "tiny")}
#: the methods a teacher variant is run for (``hetero_teacher=``): the family whose premise it is
HETERO_METHODS = ("evl_ecg",)


def base_method(method: str) -> str:
    """``"liteheart-tuned"`` -> ``"liteheart"``, ``"evl_ecg@printout"`` -> ``"evl_ecg"``; any other name unchanged."""
    method = method.partition("@")[0]
    return method[: -len(TUNED)] if method.endswith(TUNED) else method


def teacher_variant(method: str) -> str:
    """The teacher variant of ``method`` (``""``: the default teacher); ConfigError for an unknown one."""
    variant = method.partition("@")[2]
    if variant and variant not in TEACHERS:
        raise ConfigError(f"{method}: teacher variant {variant!r} is unknown; known: {sorted(TEACHERS)}")
    return variant


def with_teacher(names: Sequence[str], variant: str | None) -> list[str]:
    """``names`` plus ``<m>@<variant>`` for the methods of ``HETERO_METHODS`` among them (none for None)."""
    if variant is None:
        return list(names)
    teacher_variant(f"x@{variant}")
    return [*names, *(f"{m}@{variant}" for m in names if m in HETERO_METHODS)]


def method_recipe(method: str, search: str) -> str | dict:
    """What ``experiment.train_student`` trains for ``method``: its name, or for a tuned variant the
    config its search ``search`` chose (``SEARCHES``; ConfigError naming the command when it is missing)."""
    name = method.partition("@")[0]  # a teacher variant trains its method's recipe
    return tuned_recipe(base_method(name), search) if name.endswith(TUNED) else name


def with_tuned(names: Sequence[str], search: str) -> list[str]:
    """``names`` plus ``<m>-tuned`` for every tunable method among them whose search chose a config
    other than its table default (a search that kept the default adds nothing: its runs are the
    default's). ConfigError for a tunable method without its search result."""
    extra = []
    for m in names:
        if m in tunable():
            chosen = build_recipe(tuned_recipe(m, search)).to_config()
            if json.dumps(chosen, sort_keys=True) != json.dumps(build_recipe(m).to_config(), sort_keys=True):
                extra.append(m + TUNED)
    return [*names, *extra]


def method_code(method: str, search: str | None = None) -> dict[str, int]:
    """Versions of the code a method's runs depend on (its recipe's terms, the distiller and shared
    helpers; empty for the teacher and the baseline; the feature models' own), recorded in each part.
    ``search``: the search whose choice a tuned variant (``<m>-tuned``) trains (``SEARCHES``)."""
    if method in FEATURE_MODELS:
        return {"features": FEATURES_VERSION}
    if method == "teacher":
        return {}
    variant = teacher_variant(method)
    teacher = {f"model:{TEACHERS[variant][0]}": version(f"model:{TEACHERS[variant][0]}")} if variant else {}
    if base_method(method) == "teacher":
        return teacher
    if method.endswith(TUNED) and search is None:
        raise ConfigError(f"{method}: a tuned variant's code needs its search")
    return {**build_recipe(method_recipe(method.partition("@")[0], search)).code_versions(), **teacher}


def load_pool(root: str | Path) -> ECGData:
    """ptbxl-2k's labeled records at the profile's rate, band-passed (per record: no information
    crosses records, so it may precede the split)."""
    prof = get_profile(PROFILE)
    raw = load_ptbxl_2k(root)
    if raw.fs != prof.fs:
        raw = resample(raw, prof.fs)
    return bandpass(raw, **experiment.BANDPASS)


def synthetic_pool(n_test: int | None = None, data: str = "synthetic") -> tuple[ECGData, CVPlan]:
    """The quick profile's synthetic records and ``n_test`` more of the same generator stream (records
    are block-seeded, so the first ones are the quick data set itself), band-passed, and the one-fold
    plan: the quick folds 1-8 train, 9 validation, 10 the hold-out; the ``n_test`` new records the test.
    ``data``: ``"synthetic"`` (generator v1) or ``"synthetic_v2"`` (v2: the labels are the noisy ones
    the models see; the noise-free ones stay in ``meta["true_<class>"]``)."""
    if data not in SYNTHETIC:
        raise ConfigError(f"data {data!r} is not a synthetic set; choose one of {list(SYNTHETIC)}")
    prof = get_profile(DATASETS[data])
    n_test = check_int("n_test", N_SYNTHETIC_TEST if n_test is None else n_test, low=1)
    raw = experiment.load_source(data, profile=prof, n_records=prof.n_records + n_test, seed=0)
    data = bandpass(raw, **experiment.BANDPASS)
    folds = assign_folds(data.labels[: prof.n_records], 0)  # the quick data set's own folds
    test = np.arange(prof.n_records, len(data))
    fold = Fold(0, np.flatnonzero(folds <= 8), np.flatnonzero(folds == 9), test)
    return data, CVPlan((fold,), test, np.flatnonzero(folds == 10), 1, 0, 0.0)


def converged_prep(data: str = "synthetic") -> experiment.Prepared:
    """The converged synthetic benchmark's one split of ``data`` (generator v1 ``"synthetic"`` or v2
    ``"synthetic_v2"``) as a ``Prepared`` (train folds 1-8, validation fold 9, the 5,000 new test
    records), as the benchmark trains it: the validation search of ``ecgkd bench tune --profile
    converged [--generator v2]`` reads its train and validation parts only."""
    pool, plan = synthetic_pool(data=data)
    return fold_prep(pool, plan.folds[0], plan.holdout, data)[0]


def fresh_test_prep(prep: experiment.Prepared) -> experiment.Prepared:
    """``prep`` (the quick data of a synthetic generator, ``experiment.prepare``) with its test fold
    replaced by the converged split's 5,000 new test records (``converged_prep``): the same first
    6,000 records, the same folds 1-8 / 9 and scaler, so a model trained on ``prep`` never saw them
    and a small change (int8, a filter) is measured on 5,000 records instead of 600. ConfigError for
    real data; SplitError if the training or validation records differ, or a test record is a
    training one."""
    if prep.source not in SYNTHETIC:
        raise ConfigError(f"data {prep.source!r} has no converged split; only {list(SYNTHETIC)} do")
    out = converged_prep(prep.source)
    for split in ("train", "val"):
        if not np.array_equal(getattr(prep, split).record_ids, getattr(out, split).record_ids):
            raise SplitError(
                f"the converged split's {split} records are not the quick data's: its test set could overlap"
            )
    if set(out.test.record_ids.tolist()) & set(prep.train.record_ids.tolist()):
        raise SplitError("the converged test set shares records with the students' training records")
    return out


def fold_prep(data: ECGData, fold, holdout: np.ndarray, source: str = "ptbxl2k") -> tuple[experiment.Prepared, ECGData]:
    """The fold as the experiment's ``Prepared`` (train / val / its test part, scaled with the fold's
    training scaler), and the hold-out scaled the same way."""
    train = data.subset(fold.train)
    scaler = StandardScaler(per_lead=True).fit(train)
    prep = experiment.Prepared(
        source,
        get_profile(DATASETS[source]),
        scaler.transform(train),
        scaler.transform(data.subset(fold.val)),
        scaler.transform(data.subset(fold.test)),
        scaler,
        {
            "source": source,
            "fold": fold.index,
            "bandpass": experiment.BANDPASS,
            "scaler": "per-lead standard, fitted on the fold's training part",
        },
    )
    return prep, scaler.transform(data.subset(holdout))


def _probs(model, prep, data: ECGData, leads) -> list[list[int]]:
    window = prep.profile.crop_seconds
    p = predict(model, data, input_leads=leads, window_seconds=window, stride_seconds=window / 2)
    return np.rint(p * SCALE).astype(int).tolist()


def _part(fit, prep, holdout, leads, **info) -> dict:
    return {
        **info,
        "test_probs": _probs(fit.model, prep, prep.test, leads),
        "holdout_probs": _probs(fit.model, prep, holdout, leads),
        "best_epoch": int(fit.best_epoch),
        "epochs_run": len(fit.history),
        "best_val_macro_auc": round(float(fit.best_metric), 5),
        "train_seconds": round(float(sum(h["seconds"] for h in fit.history)), 1),
        "converged": fit.best_epoch < len(fit.history),  # best epoch not the last (see the report's stopped_early)
    }


class Runner:
    """The parts of one setting: which exist, training the missing ones, reading them back."""

    def __init__(
        self, setting: Setting, parts_root: str | Path | None = None, log: Callable = print, every_seed: bool = False
    ):
        self.setting, self.log, self.every_seed = setting, log, every_seed
        if setting.data in SYNTHETIC:
            self.data, self.plan = synthetic_pool(data=setting.data)
        else:
            self.data = load_pool(setting.root)
            self.plan = cv_folds(self.data, setting.k, seed=setting.fold_seed, val_fraction=setting.val_fraction)
        self.key = setting.key(self.data.key)
        root = Path(parts_root) if parts_root else REPO_ROOT / "results" / "parts"
        self.dir = root / f"bench_quality_{setting.data}{setting.tag}" / self.key
        self._stale: set[tuple[str, int, int]] = set()

    def path(self, method: str, seed: int, fold: int) -> Path:
        return self.dir / f"{method}-s{seed}-f{fold}.json"

    def done(self, method: str, seed: int, fold: int) -> bool:
        """The part exists and was made by the current code of the method's recipe (a part whose
        recorded ``code`` versions differ is stale: it is trained again and overwritten)."""
        path = self.path(method, seed, fold)
        if not path.exists():
            return False
        made_by = json.loads(path.read_text()).get("code")
        now = method_code(method, self.setting.search)
        if made_by == now:
            return True
        if (method, seed, fold) not in self._stale:
            self._stale.add((method, seed, fold))
            self.log(f"[cv] stale part {path.name}: made by code {made_by}, now {now}; retraining")
        return False

    def read(self, method: str, seed: int, fold: int) -> dict:
        return json.loads(self.path(method, seed, fold).read_text())

    def run_cell(self, seed: int, fold_index: int, methods: Sequence[str]) -> None:
        """Teacher and ``methods`` of one (seed, fold), skipping finished parts."""
        # the main methods first, so a cell cut short still holds the comparisons that matter most
        ordered = sorted(methods, key=lambda m: (m not in MAIN, list(methods).index(m)))
        todo = self.missing((seed, fold_index, tuple(ordered)))
        if not todo:
            return
        fold = self.plan.folds[fold_index]
        prep, holdout = fold_prep(self.data, fold, self.plan.holdout, self.setting.data)
        batch = prep.profile.batch_size
        sset = None
        if self.setting.scenario is not None:
            sset = semi.setting(prep, self.setting.label_ratio, self.setting.scenario, batch, log=self.log)
        t_prep, s_prep = (prep, prep) if sset is None else (sset.data.teacher, sset.data.student)
        for name in (m for m in todo if m in FEATURE_MODELS):
            self._features(name, fold_index, prep, holdout, s_prep.train, None if sset is None else sset.data.labeled)
        todo = [m for m in todo if m not in FEATURE_MODELS]
        if not todo:
            return
        t0 = time.perf_counter()
        teacher = experiment.train_teacher(
            t_prep, seed=seed, progress=False, **({} if sset is None else sset.teacher_args(batch))
        )
        if "teacher" in todo:
            self._write(
                "teacher",
                seed,
                fold_index,
                _part(
                    teacher,
                    prep,
                    holdout,
                    list(prep.train.leads),
                    wall_s=round(time.perf_counter() - t0, 1),
                    n_train=len(t_prep.train),
                ),
            )
        teachers = {"": (teacher, experiment.teacher_cache(s_prep, teacher))}
        for method in todo:
            if base_method(method) == "teacher" or self.done(
                method, seed, fold_index
            ):  # another process may have finished it
                continue
            variant = teacher_variant(method)
            if variant not in teachers:
                teachers[variant] = self._variant_teacher(
                    variant, seed, fold_index, prep, holdout, t_prep, s_prep, sset
                )
            teacher, cache = teachers[variant]
            t0 = time.perf_counter()
            args = {"labeled": None} if sset is None else sset.student_args(method)
            fit = experiment.train_student(
                s_prep,
                method_recipe(method, self.setting.search),
                teacher=teacher,
                size=self.setting.student_size,
                seed=seed,
                cache=cache,
                progress=False,
                tag=self._student_tag(method),
                **args,
            )
            labeled = args.get("labeled")
            self._write(
                method,
                seed,
                fold_index,
                _part(
                    fit,
                    prep,
                    holdout,
                    list(experiment.STUDENT_LEADS),
                    wall_s=round(time.perf_counter() - t0, 1),
                    n_train=len(s_prep.train),
                    n_labeled=int(len(s_prep.train) if labeled is None else labeled.sum()),
                ),
            )

    def _student_tag(self, method: str) -> str:
        """A tuned variant shares its method's cache tag (the search's seed-0 run of the chosen point is
        its seed 0); a teacher variant's runs are tagged with the teacher (``...-evl_ecg-teacher_printout``)."""
        variant = teacher_variant(method)
        return (
            f"student-{experiment.STUDENT_ARCH}-{self.setting.student_size}-{base_method(method)}"
            f"{f'-teacher_{variant}' if variant else ''}{self.setting.tag}"
        )

    def _variant_teacher(self, variant, seed, fold_index, prep, holdout, t_prep, s_prep, sset):
        """The teacher variant's fit (trained on the default teacher's records under the same rule)
        and its output cache; its own part ``teacher@<variant>`` is written when missing."""
        t0 = time.perf_counter()
        arch, size = TEACHERS[variant]
        batch = prep.profile.batch_size
        fit = experiment.train_teacher(
            t_prep,
            arch=arch,
            size=size,
            seed=seed,
            progress=False,
            **({} if sset is None else sset.teacher_args(batch)),
        )
        name = f"teacher@{variant}"
        if not self.done(name, seed, fold_index):
            part = _part(fit, prep, holdout, list(prep.train.leads), wall_s=round(time.perf_counter() - t0, 1))
            self._write(name, seed, fold_index, {**part, "n_train": len(t_prep.train), "arch": arch, "size": size})
        return fit, experiment.teacher_cache(s_prep, fit)

    def _features(self, name, fold_index, prep, holdout, pool: ECGData, labeled) -> None:
        """The feature model ``name`` of one fold, on the pool's labeled records."""
        t0 = time.perf_counter()
        leads = FEATURE_MODELS[name] or tuple(prep.train.leads)
        train = pool if labeled is None else pool.subset(labeled)
        model = FeatureLogistic(leads).fit(train, prep.val)
        wall = round(time.perf_counter() - t0, 1)
        part = {
            "test_probs": np.rint(model.predict(prep.test) * SCALE).astype(int).tolist(),
            "holdout_probs": np.rint(model.predict(holdout) * SCALE).astype(int).tolist(),
            "best_epoch": 0,
            "epochs_run": 0,
            "best_val_macro_auc": round(model.val_auc[model.C], 5),
            "val_macro_auc_per_C": {f"{c:g}": round(v, 5) for c, v in model.val_auc.items()},
            "C": model.C,
            "train_seconds": wall,
            "wall_s": wall,
            "n_train": len(train),
            "n_labeled": len(train),
        }
        self._write(name, 0, fold_index, part)

    def _write(self, method: str, seed: int, fold: int, part: dict) -> None:
        part = {"method": method, "seed": seed, "fold": fold, "code": method_code(method, self.setting.search), **part}
        atomic_write_json(self.path(method, seed, fold), part)
        self.log(
            f"[cv] {method:<20} seed {seed} fold {fold}: best epoch {part['best_epoch']}/{part['epochs_run']}, "
            f"val AUC {part['best_val_macro_auc']:.3f}, {part['wall_s']:.0f} s"
        )

    # ------------------------------------------------------------------ phases
    def best_classic(self, classic: Sequence[str]) -> tuple[str | None, dict]:
        """The classic method with the highest mean best VALIDATION macro AUC over the folds (seed 0);
        None until every seed-0 part of the classic methods exists."""
        folds = range(self.setting.k)
        if not all(self.done(m, 0, f) for m in classic for f in folds):
            return None, {}
        values = {m: float(np.mean([self.read(m, 0, f)["best_val_macro_auc"] for f in folds])) for m in classic}
        return max(values, key=values.get), values

    def plan_cells(self, methods: Sequence[str], seeds: int) -> list[tuple[int, int, tuple[str, ...]]]:
        """Every (seed, fold, methods) of the benchmark as far as it is known now: every method at seed
        0; the teacher and the main methods at later seeds, and the best classic method there once
        phase 1 has chosen it (``every_seed``: every method at every seed)."""
        classic = [m for m in methods if m in methods_of("classic")]
        best, _ = self.best_classic(classic) if classic else (None, {})
        main = tuple(
            m
            for m in methods
            if self.every_seed or m in MAIN or m == best or m in semi.REFERENCES or m.endswith(TUNED) or "@" in m
        )
        return [(0, f, tuple(methods)) for f in range(self.setting.k)] + [
            (s, f, main) for s in range(1, seeds) for f in range(self.setting.k)
        ]

    def missing(self, cell) -> list[str]:
        seed, fold, methods = cell
        extra = tuple(FEATURE_MODELS) if seed == 0 else ()
        variants = tuple(dict.fromkeys(f"teacher@{teacher_variant(m)}" for m in methods if teacher_variant(m)))
        return [m for m in ("teacher", *variants, *methods, *extra) if not self.done(m, seed, fold)]

    def waiting_for_phase_1(self, methods: Sequence[str], seeds: int) -> bool:
        """True while later seeds still wait for the best classic method (seed-0 parts of another shard)."""
        classic = [m for m in methods if m in methods_of("classic")]
        return seeds > 1 and bool(classic) and self.best_classic(classic)[0] is None


def owner(seed: int, fold: int, *, k: int, n_methods: int, seeds: int, shards: int, every_seed: bool = False) -> int:
    """The shard that runs cell (seed, fold): a fixed longest-first assignment (LPT) of every cell
    of the benchmark by its expected cost (seed 0 trains every method, later seeds the main ones or,
    with ``every_seed``, every method), so ``shards`` processes split the work without talking to
    each other, however far each got."""
    later = 1 + n_methods if every_seed else 2 + len(MAIN)
    cells = [(0, f, 1 + n_methods) for f in range(k)] + [(s, f, later) for s in range(1, seeds) for f in range(k)]
    loads, where = [0] * shards, {}
    for s, f, cost in sorted(cells, key=lambda c: (-c[2], c[0], c[1])):
        j = loads.index(min(loads))
        loads[j] += cost
        where[s, f] = j
    return where[seed, fold]


def parse_shard(spec: str | None) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 0 <= i < n; None -> (0, 1)."""
    if spec is None:
        return 0, 1
    i, _, n = str(spec).partition("/")
    try:
        i, n = int(i), int(n)
    except ValueError:
        raise ConfigError(f"shard must be 'i/n' (e.g. 0/2); got {spec!r}") from None
    if not 0 <= i < n:
        raise ConfigError(f"shard must be 'i/n' with 0 <= i < n; got {spec!r}")
    return i, n


# ---------------------------------------------------------------------- the report
def stack_probs(runner: Runner, method: str, seeds: Sequence[int], what: str) -> np.ndarray | None:
    """(S, N, C) pooled out-of-fold (``what="test"``, pool order) or fold-mean hold-out probabilities."""
    plan, out = runner.plan, []
    for s in seeds:
        parts = [runner.read(method, s, f) for f in range(runner.setting.k)]
        if what == "test":
            p = np.empty((len(runner.data), runner.data.n_classes))
            for fold, part in zip(plan.folds, parts):
                p[fold.test] = np.asarray(part["test_probs"]) / SCALE
            out.append(p[plan.pool])
        else:
            out.append(np.mean([np.asarray(part["holdout_probs"]) / SCALE for part in parts], axis=0))
    return np.stack(out)


def _seeds_done(runner: Runner, method: str, seeds: int) -> list[int]:
    return [s for s in range(seeds) if all(runner.done(method, s, f) for f in range(runner.setting.k))]


#: which classes lead I sees, from the independent per-class gap benchmark (benchmarks/real_gap_ptbxl2k.py)
VISIBILITY = REPO_ROOT / "results" / "real_gap_ptbxl2k.json"
GROUPS = ("seen", "partly seen", "not seen")


#: the synthetic conditions' lead-I visibility by construction (``data/conditions.py``) -> group
SYNTHETIC_GROUPS = {"plain": "seen", "partial": "partly seen", "hidden": "not seen"}


def lead_i_visibility(
    classes: Sequence[str], path: Path | None = None, data: str = "ptbxl2k", measured: dict[str, str] | None = None
) -> dict[str, list[str]]:
    """``{group: classes}`` for the groups of ``GROUPS``: for ptbxl2k from the gap file (empty when it
    is absent), for the v1 synthetic data from each condition's construction, for v2 (graded
    visibility: no class is hidden by construction) from ``measured`` (``measured_visibility``)."""
    if data == "synthetic":
        per = {c.code: SYNTHETIC_GROUPS[c.lead_I] for c in CONDITIONS}
    elif data == "synthetic_v2":
        if measured is None:
            raise ConfigError("data='synthetic_v2' groups its classes by a measured gap: pass measured=")
        per = measured
    else:
        path = VISIBILITY if path is None else path
        if not Path(path).exists():
            return {}
        per = {r["class"]: r["seen_by_lead_I"] for r in json.loads(Path(path).read_text())["cv"]["per_class"]}
    return {g: [c for c in classes if per.get(c) == g] for g in GROUPS}


def generator_of(result: dict) -> str | None:
    """The data a stored result JSON was made on, named: "generator v1" / "generator v2" for the
    synthetic generators (``config.GENERATOR_NAMES``), else its data source (None if unrecorded)."""
    source = (result.get("setting") or {}).get("data") or (result.get("data") or {}).get("source")
    return GENERATOR_NAMES.get(source, source)


#: the stored converged synthetic benchmarks, v1 first
CONVERGED_FILES = ("bench_quality_converged.json", "bench_quality_converged_v2.json")


def ablation_readings(ablation: str, root: Path | None = None) -> str:
    """Markdown bullets: ``ablation``'s converged verdict (``ablation_reading``) in every stored
    converged synthetic benchmark (``CONVERGED_FILES`` under ``root``, default ``results/``), each
    named by its generator."""
    root = REPO_ROOT / "results" if root is None else Path(root)
    lines = []
    for name in CONVERGED_FILES:
        if (root / name).exists():
            result = json.loads((root / name).read_text())
            text = ablation_reading(result, ablation, where="")
            lines.append(f"* **{generator_of(result)}** (`{name}`): {text}")
    return "\n".join(lines) or "No converged synthetic benchmark is stored."


#: the converged v2 benchmark, whose hold-out measures the v2 classes' lead-I groups
V2_BENCHMARK = REPO_ROOT / "results" / "bench_quality_converged_v2.json"


def source_visibility(source: str, classes: Sequence[str], path: Path | None = None) -> dict[str, list[str]]:
    """The lead-I groups (``GROUPS``) of the classes of a synthetic ``source`` as a notebook uses them:
    ``synthetic`` (v1) by construction; ``synthetic_v2`` as measured by the committed converged v2
    benchmark (``V2_BENCHMARK``) on its 5,000 test records (``per_class_for_notebooks``), which the
    notebooks never score: the benchmark's own groups come from its 600-record hold-out, and that
    hold-out is the notebooks' test fold (the same first 6,000 records, fold 10), so a notebook reading
    them would choose its groups on the records it scores. ConfigError names a missing file."""
    if source == "synthetic":
        return lead_i_visibility(classes, data="synthetic")
    if source != "synthetic_v2":
        raise ConfigError(f"source={source!r} has no lead-I groups here; choose 'synthetic' or 'synthetic_v2'")
    path = V2_BENCHMARK if path is None else Path(path)
    if not path.exists():
        raise ConfigError(f"{path} is missing: run `ecgkd bench quality --profile converged --generator v2` first")
    vis = json.loads(path.read_text())["by_visibility"]
    if "per_class_for_notebooks" not in vis:
        raise ConfigError(f"{path} has no per_class_for_notebooks: rerun its report (`--report-only`)")
    measured = vis["per_class_for_notebooks"]
    return lead_i_visibility(classes, data="synthetic_v2", measured=measured)


#: fewest positives a class needs before a measured gap may group it (fewer: "undetermined")
MIN_POSITIVES_TO_GROUP = 10


def measured_visibility(y, p_teacher, p_baseline, classes: Sequence[str], n_boot: int = 1000) -> dict[str, str]:
    """``{class: group}`` by ``evaluate.paired.VISIBILITY_RULE`` on the paired per-class interval of
    the 12-lead teacher's AUC minus the lead-I baseline's (the rule of ``results/real_gap_ptbxl2k.json``);
    a class with fewer than ``MIN_POSITIVES_TO_GROUP`` positives is "undetermined" (a bootstrap over
    three positives can give a narrow interval by chance). The converged v2 benchmark measures it on
    the hold-out, so the test records that score the methods do not also choose the groups."""
    per = paired_class_delta_ci(y, p_baseline, p_teacher, classes, n_boot=n_boot)
    return {
        c: visibility_group(r.low, r.high) if r.positives >= MIN_POSITIVES_TO_GROUP else "undetermined"
        for c, r in per.iterrows()
    }


def _by_visibility(y, oof, classes, names, n_boot, data: str = "ptbxl2k", measured: dict | None = None) -> dict:
    """Paired difference to the baseline and gap closed, per group of classes lead I sees."""
    groups = {g: c for g, c in lead_i_visibility(classes, data=data, measured=measured).items() if c}
    source = (
        "the generator's construction (data/conditions.py: plain, partial, hidden in lead I)"
        if data == "synthetic"
        else "the hold-out (600 records, never the test set): the paired per-class interval of the teacher's "
        f"minus the baseline's AUC, seed means, classes with at least {MIN_POSITIVES_TO_GROUP} positives there, "
        "by the rule: " + VISIBILITY_RULE
        if data == "synthetic_v2"
        else f"{VISIBILITY.name}: per-class 12-lead minus lead-I AUC gaps of independent runs (5 folds x 3 "
        "seeds); seen: upper bound < 0.05, not seen: lower bound > 0.10, partly seen: lower bound > 0"
    )
    out = {
        "source": source,
        "groups": groups,
        **({"per_class": measured} if measured is not None else {}),
        "methods": {},
    }
    for g, cls in groups.items():
        idx = [list(classes).index(c) for c in cls]
        boot = paired_bootstrap(y[:, idx], {m: oof[m][..., idx] for m in names}, "macro_auc", n_boot=n_boot)
        for m in names:
            if m in ("teacher", "baseline"):
                continue
            out["methods"].setdefault(m, {})[g] = {
                "paired_delta_macro_auc": boot.delta(m, "baseline"),
                "paired_gap_closed_macro_auc": boot.gap_closed(m, "baseline", "teacher"),
            }
        out.setdefault("teacher_minus_baseline", {})[g] = boot.delta("teacher", "baseline")
    return out


def _noise_free(data: ECGData, rows: np.ndarray, oof: dict, names: Sequence[str], n_boot: int) -> dict:
    """v2 only: every model scored against the noise-free labels (``meta["true_<class>"]``: the
    generator's truth before label noise) of the same test records, with the paired difference to the
    baseline and the share of labels that noise changed."""
    truth = data.meta[[f"true_{c}" for c in data.classes]].to_numpy(np.float32)[rows]
    boot = paired_bootstrap(truth, {m: oof[m] for m in names}, "macro_auc", n_boot=n_boot)
    cells = label_noise_view(data.labels[rows], truth, oof["teacher"].mean(0), data.classes)
    return {
        "teacher_cells": {
            "what": "the teacher's seed-mean test probability per (truth, label) cell and its AUC against the noisy "
            "and the noise-free labels (evaluate/noise.py)",
            "per_class": {
                c: {k: _round_or_none(v) for k, v in row.items()} for c, row in cells.to_dict("index").items()
            },
        },
        "what": "test records scored against the generator's noise-free labels (the models trained on the noisy ones)",
        "labels_changed_by_noise": round(float((truth != data.labels[rows]).mean()), 4),
        "per_class_flipped": {
            c: round(float((truth[:, j] != data.labels[rows][:, j]).mean()), 4) for j, c in enumerate(data.classes)
        },
        "methods": {
            m: {
                "macro_auc_mean": round(float(boot.point[m].mean()), 4),
                **({"paired_delta_macro_auc": boot.delta(m, "baseline")} if m not in ("teacher", "baseline") else {}),
                **(
                    {"paired_gap_closed_macro_auc": boot.gap_closed(m, "baseline", "teacher")}
                    if m not in ("teacher", "baseline") and not m.startswith("teacher@")
                    else {}
                ),
            }
            for m in names
        },
    }


def _round_or_none(v, digits: int = 4):
    """A JSON-ready number: rounded, None for NaN (an empty cell), ints kept."""
    if isinstance(v, (int, np.integer)):
        return int(v)
    return None if not np.isfinite(v) else round(float(v), digits)


def _cost_of(parts: Sequence[dict], deep_runs: int) -> dict:
    """The count of ``parts``, the sums of their training times (``train_seconds``: every epoch's
    training and validation) and of their part times (``max(wall_s, train_seconds)``: a part's wall
    time also holds its test predictions, but undercounts a run resumed from the cache), the part
    time per part, and that sum split over two processes (the wall clock of a two-process run on
    the 2 cores, data preparation and the report aside)."""
    train = [p["train_seconds"] for p in parts]
    part = [max(p["wall_s"], p["train_seconds"]) for p in parts]
    return {
        "parts": len(parts),
        "deep_runs": deep_runs,
        "wall_hours_sum": round(sum(p["wall_s"] for p in parts) / 3600, 2),
        "wall_minutes_per_part_mean": round(float(np.mean([p["wall_s"] for p in parts])) / 60, 2),
        "train_hours_sum": round(sum(train) / 3600, 2),
        "part_hours_sum": round(sum(part) / 3600, 2),
        "part_minutes_mean": round(float(np.mean(part)) / 60, 2),
        "two_process_minutes": round(sum(part) / 2 / 60, 1),
    }


def _cost(runner: Runner, names: Sequence[str], seeds_of: dict, search: str | None = None) -> dict:
    """The training cost of the finished parts, one process with one thread each (``_cost_of``):
    the table at its defaults (every method, ablation, reference and the teacher); with tuned rows
    (``<m>-tuned``) their parts apart (``tuned_rows``) and the equal validation search that chose
    them (``search``: its points' wall time, ``results/tune_<m>_<search>.json``)."""

    def cost(methods):
        parts = [runner.read(m, s, f) for m in methods for s in seeds_of[m] for f in range(runner.setting.k)]
        runs = sum(len(seeds_of[m]) * runner.setting.k for m in methods if m not in FEATURE_MODELS)
        return _cost_of(parts, runs)

    tuned = [m for m in names if m.endswith(TUNED)]
    out = cost([m for m in names if m not in tuned])
    if tuned and search is not None:
        searched = [m for m in names if m in tunable() and tune_path(m, search).exists()]
        seconds = [r["seconds"] for m in searched for r in json.loads(tune_path(m, search).read_text())["rows"]]
        out["tuned_rows"] = cost(tuned)
        out["search"] = {
            "methods": len(searched),
            "points": len(seconds),
            "hours_sum": round(sum(seconds) / 3600, 2),
            "two_process_minutes": round(sum(seconds) / 2 / 60, 1),
        }
    return out


def _tuning(methods: Sequence[str], search: str) -> dict:
    """What each tunable method's equal validation search chose (``bench/tune.py``; seed 0,
    validation only): the chosen point, its and the default's validation macro AUC, and the row
    that holds the chosen config (``<m>-tuned``, or the method itself when the default was kept)."""
    out = {}
    for m in methods:
        if m not in tunable():
            continue
        t = json.loads(tune_path(m, search).read_text())
        out[m] = {
            "grid_size": t["grid_size"],
            "chosen_index": t["chosen_index"],
            "chosen": t["chosen"],
            "default": t["rows"][0]["point"],
            "default_val_macro_auc": round(t["default_val_macro_auc"], 5),
            "chosen_val_macro_auc": round(t["rows"][t["chosen_index"]]["val_macro_auc"], 5),
            "row": m + TUNED if m + TUNED in methods else m,
            "file": tune_path(m, search).name,
        }
    return out


def report(runner: Runner, methods: Sequence[str], seeds: int, *, n_boot: int = 1000, argv=None) -> dict:
    """The result JSON from the finished parts (methods with every fold of at least seed 0); its
    ``cost`` block also records how long this report took (``report_minutes``)."""
    started = time.perf_counter()
    data, plan = runner.data, runner.plan
    y, y_hold = data.labels[plan.pool], data.labels[plan.holdout]
    variants = tuple(dict.fromkeys(f"teacher@{teacher_variant(m)}" for m in methods if teacher_variant(m)))
    names = [m for m in ("teacher", *variants, *methods, *FEATURE_MODELS) if _seeds_done(runner, m, seeds)]
    if "teacher" not in names or "baseline" not in names:
        raise ConfigError(f"no finished teacher and baseline parts below {runner.dir}: run the benchmark first")
    seeds_of = {m: _seeds_done(runner, m, seeds) for m in names}
    oof = {m: stack_probs(runner, m, seeds_of[m], "test") for m in names}
    hold = {m: stack_probs(runner, m, seeds_of[m], "holdout") for m in names}
    boot = paired_bootstrap(y, oof, "macro_auc", n_boot=n_boot)
    boot_map = paired_bootstrap(y, oof, "map", n_boot=n_boot)
    boot_hold = paired_bootstrap(y_hold, hold, "macro_auc", n_boot=n_boot)
    measured = None
    if runner.setting.data == "synthetic_v2":  # graded visibility: groups measured on the hold-out
        mean = {m: hold[m].mean(0) for m in ("teacher", "baseline")}
        measured = measured_visibility(y_hold, mean["teacher"], mean["baseline"], data.classes, n_boot=n_boot)
        # the same rule on the test records, for the notebooks: their test fold IS this hold-out (the
        # quick data's first 6,000 records, fold 10), so they read groups measured on records they never score
        mean = {m: oof[m].mean(0) for m in ("teacher", "baseline")}
        for_notebooks = measured_visibility(y, mean["teacher"], mean["baseline"], data.classes, n_boot=n_boot)
    classic = [m for m in methods if m in methods_of("classic")]
    best, val_auc = runner.best_classic(classic) if classic else (None, {})
    prof = get_profile(runner.setting.profile)
    cap = {m: prof.teacher_epochs if base_method(m) == "teacher" else prof.student_epochs for m in names}
    rows = {}
    for m in names:
        parts = [runner.read(m, s, f) for s in seeds_of[m] for f in range(runner.setting.k)]
        fold_auc = [
            [
                macro_auc(data.labels[fold.test], np.asarray(runner.read(m, s, fold.index)["test_probs"]) / SCALE)
                for fold in plan.folds
            ]
            for s in seeds_of[m]
        ]
        row = {
            "seeds": seeds_of[m],
            "macro_auc_per_seed": boot.point[m].round(4).tolist(),
            "macro_auc_mean": round(float(boot.point[m].mean()), 4),
            "macro_auc_std": round(float(boot.point[m].std(ddof=1)), 4) if len(seeds_of[m]) > 1 else None,
            "map_mean": round(float(boot_map.point[m].mean()), 4),
            "macro_auc_per_fold": np.round(fold_auc, 4).tolist(),
            "holdout_macro_auc_mean": round(float(boot_hold.point[m].mean()), 4),
            "per_class_auc": {
                c: round(float(v), 4)
                for c, v in zip(data.classes, np.mean([per_class_auc(y, p).to_numpy() for p in oof[m]], axis=0))
            },
            "epochs_run_mean": round(float(np.mean([p["epochs_run"] for p in parts])), 1),
            "best_epoch_mean": round(float(np.mean([p["best_epoch"] for p in parts])), 1),
            # stopped by early stopping before the epoch cap (patience exhausted): converged on validation
            "stopped_early_share": round(float(np.mean([p["epochs_run"] < cap[m] for p in parts])), 3),
            "train_seconds_mean": round(float(np.mean([p["train_seconds"] for p in parts])), 1),
            "wall_seconds_mean": round(float(np.mean([p["wall_s"] for p in parts])), 1),
        }
        if m in FEATURE_MODELS:
            row.update(epochs_run_mean=None, best_epoch_mean=None, stopped_early_share=None)
            row["C_per_fold"] = [p["C"] for p in parts]
        if m not in ("teacher", "baseline"):
            row["paired_delta_macro_auc"] = boot.delta(m, "baseline")
            row["paired_delta_map"] = boot_map.delta(m, "baseline")
            row["paired_gap_closed_macro_auc"] = boot.gap_closed(m, "baseline", "teacher")
            row["paired_delta_holdout_macro_auc"] = boot_hold.delta(m, "baseline")
            lo, hi = row["paired_delta_macro_auc"]["ci95"]
            row["verdict"] = "better" if lo > 0 else "worse" if hi < 0 else "level"
            full = m.split("-no_")[0]
            if "-no_" in m and full in names:  # an ablation against its full recipe, on the seeds both have
                row["paired_delta_vs_full_macro_auc"] = boot.delta(m, full)
            if m.endswith(TUNED) and base_method(m) in names:  # the chosen config against the table default
                row["paired_delta_vs_default_macro_auc"] = boot.delta(m, base_method(m))
            own = f"teacher@{teacher_variant(m)}"
            if teacher_variant(m) and not m.startswith("teacher@") and own in names:
                # against the default teacher's student, and the gap to its own teacher closed
                row["paired_delta_vs_default_teacher_macro_auc"] = boot.delta(m, base_method(m))
                row["paired_gap_closed_own_teacher_macro_auc"] = boot.gap_closed(m, "baseline", own)
        if m == "baseline":
            row["paired_gap_to_teacher_macro_auc"] = boot.delta("teacher", "baseline")
        rows[m] = row
    result = {
        "schema": SCHEMA,
        **run_stamp("ecgkd " + " ".join(argv or [])),
        "setting": {
            "data": runner.setting.data,
            "root": None if runner.setting.root is None else str(runner.setting.root),
            "data_key": data.key,
            "parts": str(runner.dir.relative_to(REPO_ROOT))
            if runner.dir.is_relative_to(REPO_ROOT)
            else str(runner.dir),
            "key": runner.key,
            "k": runner.setting.k,
            "fold_seed": runner.setting.fold_seed,
            "val_fraction": runner.setting.val_fraction,
            "label_ratio": runner.setting.label_ratio,
            "profile": prof.to_dict(),
            "teacher": "/".join(experiment.TEACHER),
            "student": f"{experiment.STUDENT_ARCH}/{runner.setting.student_size}",
            "student_leads": list(experiment.STUDENT_LEADS),
            "scenario": runner.setting.scenario,
            "teacher_labels": "all training labels"
            if runner.setting.scenario is None
            else (
                "the labeled records of each fold's training part only (no label of the unlabeled pool)"
                if runner.setting.scenario == "a"
                else "a labeled archive, half of each fold's training part, disjoint from the students' pool"
            ),
            "batches": None
            if runner.setting.scenario is None
            else "matched: every method the same batches of k labeled + B - k unlabeled records "
            "(train/matched.py); the teacher's epochs as long as the students'",
        },
        "classes": list(data.classes),
        "n_pool": int(len(plan.pool)),
        "n_holdout": int(len(plan.holdout)),
        "seeds_asked": seeds,
        "methods_asked": list(methods),
        **({"tuning": _tuning(methods, runner.setting.search)} if any(m.endswith(TUNED) for m in methods) else {}),
        "best_classic": {
            "method": best,
            "chosen_on": "mean best validation macro AUC over the folds, seed 0",
            "validation_macro_auc": val_auc,
        },
        "bootstrap": {
            "n_boot": n_boot,
            "n_skipped": boot.n_skipped,
            "classes_kept": boot.classes_kept,
            "method": "paired: the same resampled pool records for every model and seed; "
            "mean over the seeds both models have",
        },
        "methods": rows,
        "cost": _cost(runner, names, seeds_of, runner.setting.search),
        "by_visibility": {
            **_by_visibility(y, oof, data.classes, names, n_boot, runner.setting.data, measured),
            **(
                {
                    "per_class_for_notebooks": for_notebooks,
                    "for_notebooks": f"the same rule on this benchmark's {len(plan.pool):,} test records, which the "
                    "notebooks never score (their test fold is this benchmark's hold-out)",
                }
                if measured is not None
                else {}
            ),
        },
        **(
            {"noise_free": _noise_free(data, plan.pool, oof, names, n_boot)}
            if runner.setting.data == "synthetic_v2"
            else {}
        ),
        # complete: every planned part exists, and the best classic method was chosen where any was asked
        "complete": all(not runner.missing(cell) for cell in runner.plan_cells(methods, seeds))
        and (best is not None or not classic),
    }
    result["cost"]["report_minutes"] = round((time.perf_counter() - started) / 60, 1)
    return result


def table_order(names) -> list[str]:
    """Rows in reading order: the teacher, the method table's order (baseline, classic methods,
    families, ablations, reference rows), the feature models last (result JSONs sort their keys)."""
    names = list(names)
    teachers = [m for m in names if base_method(m) == "teacher"]
    teachers = [m for m in ("teacher", *sorted(teachers)) if m in teachers]
    deep = [m for m in names if m not in teachers and m not in FEATURE_MODELS and base_method(m) != m]
    plain = [m for m in names if m not in teachers and m not in FEATURE_MODELS and base_method(m) == m]
    # a variant (tuned, another teacher) right after its default
    order = [x for m in method_order(plain) for x in (m, *sorted(v for v in deep if base_method(v) == m)) if x in names]
    order += [m for m in deep if m not in order]
    return list(dict.fromkeys(teachers)) + order + [m for m in FEATURE_MODELS if m in names]


def verdicts(result: dict) -> dict[str, list[str]]:
    """``{"better" | "level" | "worse": [methods]}`` from a result's paired verdicts."""
    rows = result["methods"]
    return {v: [m for m in table_order(rows) if rows[m].get("verdict") == v] for v in ("better", "level", "worse")}


def deltas(
    result: dict, field: str = "paired_delta_macro_auc", *, features: bool = False, teachers: bool = False
) -> dict[str, dict]:
    """``{method: its paired interval}`` of ``field`` (e.g. ``"paired_delta_vs_full_macro_auc"`` for the
    ablations), in table order, for the deep students that have it (``features`` / ``teachers``: the
    feature models / another teacher's own row too, whose large differences squash a forest plot's
    axis): what ``plots.plot_paired_deltas`` draws."""
    rows = result["methods"]
    return {
        m: rows[m][field]
        for m in table_order(rows)
        if field in rows[m] and (features or m not in FEATURE_MODELS) and (teachers or base_method(m) != "teacher")
    }


def subset(result: dict, names: Sequence[str]) -> dict:
    """``result`` with only the method rows ``names`` (in that order; absent ones skipped), also in
    its by-visibility table and its noise-free table (v2), e.g. to show the classic methods alone."""
    out = {**result, "methods": {m: result["methods"][m] for m in names if m in result["methods"]}}
    for block in ("by_visibility", "noise_free"):
        if result.get(block):
            rows = result[block]["methods"]
            out[block] = {**result[block], "methods": {m: rows[m] for m in names if m in rows}}
    return out


def reading(result: dict) -> str:
    """One sentence of a result's verdicts (paired 95 % interval of each method minus the baseline)
    and the teacher's lead, for notebooks and the README; says so when the run is incomplete."""
    v = verdicts(result)
    gap = result["methods"]["baseline"]["paired_gap_to_teacher_macro_auc"]
    return (
        f"The 12-lead teacher leads the 1-lead baseline by {gap['estimate']:.3f} macro AUC (paired 95 % interval "
        f"{gap['ci95'][0]:.3f} to {gap['ci95'][1]:.3f}). Better than the baseline, by an interval that excludes "
        f"zero: {', '.join(v['better']) or 'no method'}; level: {', '.join(v['level']) or 'none'}; worse: "
        f"{', '.join(v['worse']) or 'none'}."
        + (
            ""
            if result["complete"]
            else " The run is **not complete** yet (see the seeds column): a method with fewer seeds is compared "
            "on those seeds only, and its verdict may change with the others."
        )
        + _single_seed_caveat(result)
    )


def _single_seed_caveat(result: dict) -> str:
    """A sentence for the verdicts that rest on one seed: their interval covers the test records'
    sampling, not the seed-to-seed spread (the baseline's seed std gives its size)."""
    rows = result["methods"]
    single = [m for m in table_order(rows) if rows[m].get("verdict") and len(rows[m]["seeds"]) == 1]
    single = [m for m in single if m not in FEATURE_MODELS]  # the feature models have no seed
    std = rows["baseline"].get("macro_auc_std")
    if not single or std is None:
        return ""
    return (
        f" The verdicts of {', '.join(single)} rest on one seed: their intervals cover the sampling of the test "
        f"records, not the seed-to-seed spread (the baseline's seed std is {std:.3f})."
    )


#: the smallest teacher lead (macro AUC) whose closed share the tables show: the share of a smaller
#: gap is a ratio of two small noisy numbers (thousands of per cent either way)
MIN_GAP_FOR_SHARE = 0.02

#: LiteHeart's claim: its recipe closes "nearly half" of the teacher-student gap (read as 45 %)
NEARLY_HALF = 0.45


def against_nearly_half(gap: dict) -> str:
    """Where LiteHeart's claimed share of the gap (``NEARLY_HALF``) lies against a paired interval of
    the gap closed: "inside", or the interval lies "above" / "below" it."""
    lo, hi = gap["ci95"]
    return "inside" if lo <= NEARLY_HALF <= hi else "above" if lo > NEARLY_HALF else "below"


def ablation_reading(result: dict, ablation: str, where: str = "In the converged synthetic benchmark") -> str:
    """One sentence on ``ablation`` (e.g. ``"liteheart-no_mi"``) against its full recipe: the paired
    95 % interval of the difference and what it says about the removed term (or that it has not run);
    ``where`` opens the sentence ("" when the context already says which benchmark)."""
    full, _, term = ablation.partition("-no_")
    row = result["methods"].get(ablation, {})
    d = row.get("paired_delta_vs_full_macro_auc")
    if d is None:
        return f"The benchmark has no finished `{ablation}` run next to `{full}` yet."
    lo, hi = d["ci95"]
    effect = "helps" if hi < 0 else "hurts" if lo > 0 else "has no clear effect"
    seeds = d["seeds_compared"]
    return (
        (f"{where}, removing" if where else "Removing") + f" `{term}` from {full} changes the test macro AUC by "
        f"{d['estimate']:+.3f} (paired 95 % interval {lo:+.3f} to {hi:+.3f}, {seeds} seed{'s' if seeds != 1 else ''}): "
        f"the term {effect} there."
    )


def _pct(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:+.0%}"


def _tuning_table(result: dict) -> list[str]:
    """Markdown lines on what each method's equal validation search chose (none without a search)."""
    tuning = result.get("tuning") or {}
    if not tuning:
        return []
    lines = [
        "",
        f"Equal tuning budget ({next(iter(tuning.values()))['grid_size']} configurations per method, seed 0, "
        "chosen on validation only; `ecgkd bench tune`). The tuned row trains the chosen config at every seed:",
        "",
        "| method | chosen (default) | validation AUC: default -> chosen | tuned minus default (paired 95 % CI) "
        "| tuned minus baseline | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for m in table_order(tuning):
        t = tuning[m]
        point = ", ".join(f"{k} {v:g}" for k, v in t["chosen"].items())
        default = ", ".join(f"{k} {v:g}" for k, v in t["default"].items())
        row = result["methods"].get(t["row"])
        if t["row"] == m:  # the search kept the table default: its runs are the default's
            vs_default = "the default (same runs)"
        elif row is None:
            vs_default = "not run yet"
        else:
            d = row["paired_delta_vs_default_macro_auc"]
            vs_default = (
                f"{d['estimate']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}] ({d['seeds_compared']} seeds)"
            )
        if row is not None and "paired_delta_macro_auc" in row:
            d = row["paired_delta_macro_auc"]
            vs_base, verdict = f"{d['estimate']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]", row["verdict"]
        else:
            vs_base = verdict = ""
        lines.append(
            f"| {m} | {point} ({default}) | {t['default_val_macro_auc']:.4f} -> {t['chosen_val_macro_auc']:.4f} | "
            f"{vs_default} | {vs_base} | {verdict} |"
        )
    return lines


def markdown(result: dict) -> str:
    """The headline table of a CV result: pooled out-of-fold macro AUC (mean +- std over seeds),
    the paired 95 % interval of each method minus the baseline, and the verdict."""
    data = result.get("setting", {}).get("data")
    synthetic = data in SYNTHETIC
    score = "test macro AUC" if synthetic else "OOF macro AUC"
    score_words = "test macro AUC" if synthetic else "out-of-fold macro AUC"
    grouped_by = {
        "synthetic": "the generator's construction",
        "synthetic_v2": "the teacher-minus-baseline gap measured on the hold-out",
    }.get(data, "the per-class gap table")
    lines = [
        f"| model | seeds | {score} | MAP | hold-out AUC | minus baseline (paired 95 % CI) | gap closed "
        "(95 % CI) | verdict | epochs run (best) | stopped early |",
        "|---|---:|---|---:|---:|---|---|---|---|---:|",
    ]
    for m in table_order(result["methods"]):
        r = result["methods"][m]
        std = f" ± {r['macro_auc_std']:.3f}" if r["macro_auc_std"] is not None else " (1 seed)"
        if "paired_delta_macro_auc" in r:
            d, g = r["paired_delta_macro_auc"], r["paired_gap_closed_macro_auc"]
            delta = f"{d['estimate']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]"
            gap = f"{g['estimate']:+.0%} [{g['ci95'][0]:+.0%}, {g['ci95'][1]:+.0%}]"
            verdict = r["verdict"]
        else:
            delta = gap = verdict = ""
        if r.get("epochs_run_mean") is None:  # a feature model (logistic regression): no epochs
            epochs, stopped, std = "logistic regression", "", ""
        else:
            epochs = f"{r['epochs_run_mean']:.0f} ({r['best_epoch_mean']:.0f})"
            stopped = f"{r['stopped_early_share']:.0%}"
        lines.append(
            f"| {m} | {len(r['seeds'])} | {r['macro_auc_mean']:.3f}{std} | {r['map_mean']:.3f} | "
            f"{r['holdout_macro_auc_mean']:.3f} | {delta} | {gap} | {verdict} | {epochs} | {stopped} |"
        )
    said = verdicts(result)
    seeds = sorted({len(r["seeds"]) for r in result["methods"].values()})
    lines += [
        "",
        f"Verdicts (paired 95 % interval of the {score_words} minus the baseline's; seeds per method: "
        f"{', '.join(map(str, seeds))}): better: {', '.join(said['better']) or 'none'}; level: "
        f"{', '.join(said['level']) or 'none'}; worse: {', '.join(said['worse']) or 'none'}. Best classic "
        f"method chosen on validation: {result['best_classic']['method'] or 'not yet (phase 1 incomplete)'}; "
        f"complete: {'yes' if result['complete'] else 'no'}.",
    ]
    ablations = {
        m: result["methods"][m]
        for m in table_order(result["methods"])
        if "paired_delta_vs_full_macro_auc" in result["methods"][m]
    }
    if ablations:
        lines += [
            "",
            "Ablations against their full recipe (paired 95 % CI of the ablation minus the full recipe, on the "
            "seeds both have; below zero: the removed term helps):",
            "",
            "| ablation | minus full recipe | seeds | the removed term |",
            "|---|---|---:|---|",
        ]
        for m, r in ablations.items():
            d = r["paired_delta_vs_full_macro_auc"]
            lo, hi = d["ci95"]
            effect = "helps" if hi < 0 else "hurts" if lo > 0 else "no clear effect"
            lines.append(f"| {m} | {d['estimate']:+.3f} [{lo:+.3f}, {hi:+.3f}] | {d['seeds_compared']} | {effect} |")
    lines += _tuning_table(result)
    vis = result.get("by_visibility") or {}
    groups = [g for g in GROUPS if g in vis.get("groups", {})]  # reading order (JSON files sort their keys)
    if groups:
        lines += [
            "",
            f"By what lead I sees (classes grouped by {grouped_by}; minus baseline, paired 95 % CI, "
            f"and the share of the teacher's lead over the baseline closed, where that lead is at least {MIN_GAP_FOR_SHARE}):",
            "",
            "| model | " + " | ".join(f"{g} ({len(vis['groups'][g])} classes)" for g in groups) + " |",
            "|---|" + "---|" * len(groups),
        ]
        t = vis["teacher_minus_baseline"]
        lines.append(
            "| teacher minus baseline | "
            + " | ".join(f"{t[g]['estimate']:+.3f} [{t[g]['ci95'][0]:+.3f}, {t[g]['ci95'][1]:+.3f}]" for g in groups)
            + " |"
        )
        # gap closed only where the teacher beats the baseline (its paired interval above zero)
        has_gap = {g: t[g]["ci95"][0] > 0 and t[g]["estimate"] >= MIN_GAP_FOR_SHARE for g in groups}
        for m in table_order(vis["methods"]):
            per = vis["methods"][m]
            cells = []
            for g in groups:
                d, c = per[g]["paired_delta_macro_auc"], per[g]["paired_gap_closed_macro_auc"]
                closed = (
                    f"; {_pct(c['estimate'])} [{_pct(c['ci95'][0])}, {_pct(c['ci95'][1])}] closed" if has_gap[g] else ""
                )
                cells.append(f"{d['estimate']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]{closed}")
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines.append("")
        lines.append("Groups: " + "; ".join(f"{g}: {', '.join(vis['groups'][g])}" for g in groups) + ".")
    clean = result.get("noise_free")
    if clean:
        lines += [
            "",
            f"Against the noise-free labels (the generator's truth; label noise changed "
            f"{clean['labels_changed_by_noise']:.1%} of the test labels, record x class; paired 95 % CI):",
            "",
            "| model | test macro AUC, noise-free labels | minus baseline | gap closed |",
            "|---|---:|---|---|",
        ]
        for m in table_order(clean["methods"]):
            r = clean["methods"][m]
            d, g = r.get("paired_delta_macro_auc"), r.get("paired_gap_closed_macro_auc")
            delta = f"{d['estimate']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]" if d else ""
            gap = f"{_pct(g['estimate'])} [{_pct(g['ci95'][0])}, {_pct(g['ci95'][1])}]" if g else ""
            lines.append(f"| {m} | {r['macro_auc_mean']:.3f} | {delta} | {gap} |")
    return "\n".join(lines)


def run_quality_cv(
    *,
    root: str | Path | None = None,
    data: str = "ptbxl2k",
    methods: str | Sequence[str] = "all",
    seeds: int = 3,
    k: int = 5,
    label_ratio: float = 1.0,
    scenario: str | None = None,
    student_size: str = "tiny",
    shard: str | None = None,
    every_seed: bool = False,
    report_only: bool = False,
    json_out: str | Path | None = None,
    parts_root=None,
    n_boot: int = 1000,
    argv: Sequence[str] | None = None,
    log: Callable = print,
    tuned: bool = False,
    hetero_teacher: str | None = None,
) -> dict | None:
    """Run this shard's missing parts (unless ``report_only``), then write the report from every
    finished part when ``json_out`` is given. Returns the report (None when no report was asked).
    ``tuned``: add ``<m>-tuned``, the config each method's search chose (``with_tuned``), trained at
    every seed. ``hetero_teacher`` (a key of ``TEACHERS``): add ``<m>@<variant>`` for EVL-ECG, the
    method distilled from that teacher, and the teacher's own row ``teacher@<variant>``, at every seed."""
    if data not in DATASETS:
        raise ConfigError(f"data {data!r} is unknown; choose one of {sorted(DATASETS)}")
    if data == "ptbxl2k" and root is None:
        raise ConfigError("data='ptbxl2k' needs root= (the ptbxl-2k folder); checked before anything is trained")
    seeds = check_int("seeds", seeds, low=1)
    k = 1 if data in SYNTHETIC else check_int("k", k, low=2)  # synthetic: one split, a large test set
    label_ratio = check_fraction("label_ratio", label_ratio, open_low=True)
    scenario = semi.check(label_ratio, scenario)
    names = resolve_methods(methods)
    names = names if scenario is None else semi.with_references(names)
    if tuned:  # each method's config chosen on validation beside its default (bench/tune.py)
        names = with_tuned(names, SEARCHES[data])
    names = with_teacher(names, hetero_teacher)
    where = parse_shard(shard)
    setting = Setting(
        None if root is None else Path(root),
        k=k,
        label_ratio=label_ratio,
        student_size=student_size,
        scenario=scenario,
        data=data,
    )
    runner = Runner(setting, parts_root, log=log, every_seed=every_seed)
    log(
        f"[cv] {len(runner.data)} records at {runner.data.fs:g} Hz; pool {len(runner.plan.pool)}, hold-out "
        f"{len(runner.plan.holdout)}; parts in {runner.dir}"
    )
    i, n = where
    while not report_only:
        mine = [
            c
            for c in runner.plan_cells(names, seeds)
            if runner.missing(c)
            and owner(c[0], c[1], k=k, n_methods=len(names), seeds=seeds, shards=n, every_seed=every_seed) == i
        ]
        if mine:
            runner.run_cell(*mine[0])
        elif runner.waiting_for_phase_1(names, seeds):  # the best classic method is chosen from every seed-0 part
            log("[cv] waiting for the other shards' seed-0 parts (the best classic method is chosen from them)")
            time.sleep(60)
        else:
            break
    if json_out is None:
        return None
    json_out = json_out if scenario is None else semi.json_path(json_out, scenario)
    result = report(runner, names, seeds, n_boot=n_boot, argv=argv)
    atomic_write_json(json_out, result)
    log(f"[cv] wrote {json_out}")
    return result
