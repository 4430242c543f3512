"""The standard experiment, in one place: data -> teacher -> students with identical budgets.

Every notebook and the benchmark runner go through these functions, so a number in one notebook is
the number in another, and a model trained once is reused from the cache (``ECGKD_CACHE``).

Recipe (stated once, recorded next to every model):

* data: the profile's synthetic set (or PTB-XL at 100 Hz, superdiagnostic), band-pass 0.5-40 Hz
  (3rd-order Butterworth, zero phase), a per-lead standard scaler fitted on the training folds only;
  folds 1-8 train, 9 validation, 10 test;
* training: random 2.5 s crops on a half-crop grid, AdamW with one-cycle schedule, the best epoch on
  validation macro AUC kept; evaluation on sliding 2.5 s windows (stride 1.25 s), window
  probabilities averaged; per-class F1 thresholds tuned on validation;
* teacher: ``resnet1d``/``small`` on 12 leads; student: ``cnn_transformer`` on lead I; every
  distilled student gets exactly the baseline's epochs, data, optimiser and seed; only the loss
  differs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .config import Profile, cache_dir, get_profile
from .data import ECGData, StandardScaler, bandpass, load_ptbxl, load_synthetic, resample
from .data.synthetic import synthetic_recipe
from .distill import Distiller, TeacherCache, build_recipe
from .errors import ConfigError, SplitError
from .evaluate import evaluate
from .models import build_model
from .progress import progress_enabled
from .distill.reference import NoTeacher, needs_teacher
from .train import TrainConfig, cached_fit, predict
from .train.restoration import RestorationObjective
from .train.scenarios import ScenarioSplit, scenario_split
from .utils import fingerprint
from .versions import key_versions

log = logging.getLogger(__name__)

TEACHER = ("resnet1d", "small")
STUDENT_ARCH = "cnn_transformer"
STUDENT_SIZE = "small"
STUDENT_LEADS = ("I",)
BANDPASS = {"low": 0.5, "high": 40.0, "order": 3}
SOURCES = ("synthetic", "synthetic_v2", "ptbxl")


@dataclass
class Prepared:
    """Scaled train / val / test splits of one data set, and how they were made."""

    source: str
    profile: Profile
    train: ECGData
    val: ECGData
    test: ECGData
    scaler: StandardScaler
    recipe: dict = field(default_factory=dict)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.train.classes

    @property
    def n_classes(self) -> int:
        return self.train.n_classes

    @property
    def fs(self) -> float:
        return self.train.fs

    def split(self, name: str) -> ECGData:
        if name not in ("train", "val", "test"):
            raise ConfigError(f"split {name!r} is unknown; choose train, val or test")
        return getattr(self, name)

    def __repr__(self) -> str:
        return (
            f"Prepared({self.source}, train={len(self.train)}, val={len(self.val)}, test={len(self.test)}, "
            f"{self.train.n_leads} leads x {self.train.n_samples} samples @ {self.fs:g} Hz, "
            f"{self.n_classes} classes)"
        )


def load_source(
    source: str = "synthetic",
    *,
    profile: Profile | str | None = None,
    root: str | Path | None = None,
    seed: int = 0,
    n_records: int | None = None,
) -> ECGData:
    """The raw (unscaled) data set: synthetic, generator v1 or v2 (``data/synthetic_v2.py``: label
    noise, graded visibility, co-occurrence; both cached on disk by their recipe), or PTB-XL below ``root``."""
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    if source in ("synthetic", "synthetic_v2"):
        from .data.synthetic_v2 import load_synthetic_v2, synthetic_v2_recipe

        n = n_records or profile.n_records
        recipe, load = (
            (synthetic_recipe, load_synthetic) if source == "synthetic" else (synthetic_v2_recipe, load_synthetic_v2)
        )
        key = fingerprint(recipe(n, fs=profile.fs, seconds=profile.seconds, seed=seed))
        path = cache_dir("datasets") / f"{source}-n{n}-fs{profile.fs}-s{profile.seconds:g}-seed{seed}-{key}.npz"
        if path.exists():
            data = ECGData.load(path)
            if data.key == key:
                return data
        data = load(n, fs=profile.fs, seconds=profile.seconds, seed=seed)
        data.save(path)
        return data
    if source == "ptbxl":
        if root is None:
            raise ConfigError("source='ptbxl' needs root= (the PTB-XL folder with ptbxl_database.csv)")
        return load_ptbxl(root, fs=100, task="superdiagnostic")
    raise ConfigError(f"source={source!r} is unknown; choose one of {list(SOURCES)}")


def prepare(
    source: str = "synthetic",
    *,
    profile: Profile | str | None = None,
    root: str | Path | None = None,
    seed: int = 0,
    n_records: int | None = None,
    data: ECGData | None = None,
) -> Prepared:
    """Band-pass, split by fold, fit the per-lead scaler on train only, scale every split."""
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    raw = data if data is not None else load_source(source, profile=profile, root=root, seed=seed, n_records=n_records)
    if raw.fs != profile.fs:
        raw = resample(raw, profile.fs)
    filtered = bandpass(raw, **BANDPASS)
    train, val, test = filtered.splits()
    scaler = StandardScaler(per_lead=True).fit(train)
    recipe = {
        "source": source,
        "bandpass": BANDPASS,
        "scaler": "per-lead standard, fitted on folds 1-8",
        "fs": profile.fs,
        "seed": seed,
    }
    return Prepared(
        source, profile, scaler.transform(train), scaler.transform(val), scaler.transform(test), scaler, recipe
    )


def check_disjoint(pool: ECGData, *, pool_name: str = "unlabeled pool", **others: ECGData) -> None:
    """SplitError naming the split and (up to five of) the shared record ids when ``pool`` shares a
    record with any of ``others`` (e.g. ``val=prep.val, test=prep.test``): an unlabeled pool drawn
    from the evaluation folds would leak them into training."""
    ids = set(pool.record_ids.tolist())
    for name, split in others.items():
        shared = sorted(ids & set(split.record_ids.tolist()))
        if shared:
            raise SplitError(
                f"the {pool_name} shares {len(shared)} record(s) with {name} (e.g. {shared[:5]}); "
                "draw it from the training folds only (ECGData.labeled_unlabeled_split)"
            )


def semi_supervised_split(prep: Prepared, ratio: float, *, seed: int = 0) -> tuple[np.ndarray, ECGData]:
    """The LiteHeart setting: ``(labeled mask over prep.train, unlabeled pool)`` at ``ratio`` labeled
    (stratified by fold, ``labeled_unlabeled_split``), the pool checked disjoint from validation
    and test (SplitError otherwise). Pass the mask as ``train_student(..., labeled=mask)``."""
    lab, unlabeled = prep.train.labeled_unlabeled_split(ratio, seed=seed)
    check_disjoint(unlabeled, val=prep.val, test=prep.test)
    return np.isin(prep.train.record_ids, lab.record_ids), unlabeled


@dataclass
class ScenarioData:
    """The data of one semi-supervised scenario (``train/scenarios.py``): ``teacher`` holds the
    records the 12-lead teacher trains on (all labeled) as its training split, ``student`` the
    student's pool as its training split (validation, test and scaler are ``prep``'s), ``labeled``
    a bool per ``student.train`` record (None: every record labeled), ``split`` the index sets."""

    split: ScenarioSplit
    teacher: Prepared
    student: Prepared
    labeled: np.ndarray | None


def _subset(prep: Prepared, index: np.ndarray, role: str, split: ScenarioSplit) -> Prepared:
    if len(index) == len(prep.train):
        return prep  # the whole split: the same data (and cache keys) as a run without a scenario
    step = {
        "step": f"scenario_{role}",
        "scenario": split.scenario,
        "ratio": split.ratio,
        "seed": split.seed,
        "code": key_versions("scenarios"),
    }
    train = prep.train.subset(index).derive(step)
    recipe = {**prep.recipe, "scenario": {"name": split.scenario, "role": role, "ratio": split.ratio}}
    return Prepared(prep.source, prep.profile, train, prep.val, prep.test, prep.scaler, recipe)


def scenario_data(prep: Prepared, label_ratio: float, scenario: str = "a", *, seed: int = 0) -> ScenarioData:
    """The teacher's and the student's data of ``scenario`` at ``label_ratio`` (``scenario_split``;
    ConfigError for a ratio outside (0, 1] or an unknown scenario). Checked: the student's
    unlabeled records are disjoint from validation and test; the teacher's records are a subset
    of the labeled part (a) or disjoint from the student's pool (b) (SplitError otherwise)."""
    split = scenario_split(prep.train, label_ratio, scenario, seed=seed)
    teacher = _subset(prep, split.teacher, "teacher", split)
    student = _subset(prep, split.student, "student", split)
    mask = split.labeled_mask()
    unlabeled = student.train.subset(~mask) if not mask.all() else None
    if unlabeled is not None:
        check_disjoint(unlabeled, val=prep.val, test=prep.test)
    t_ids = set(teacher.train.record_ids.tolist())
    if scenario == "a" and not t_ids <= set(student.train.record_ids[mask].tolist()):
        raise SplitError("scenario a: the teacher's records must all be labeled records of the pool")
    if scenario == "b":
        check_disjoint(student.train, pool_name="wearable pool", archive=teacher.train)
    return ScenarioData(split, teacher, student, None if mask.all() else mask)


def train_config(
    profile: Profile, *, epochs: int, seed: int, leads: Sequence[str], progress: bool | None = None, **changes
) -> TrainConfig:
    """The training budget shared by every model of a role (part of every cache key): AdamW with
    weight decay 1e-2 and the profile's learning rate, schedule, early-stopping patience, batch size
    and crops; best epoch on validation macro AUC; ``changes`` override single fields (e.g. the
    restoration net's monitor)."""
    return TrainConfig(
        epochs=epochs,
        batch_size=profile.batch_size,
        lr=profile.lr,
        weight_decay=1e-2,
        crop_seconds=profile.crop_seconds,
        scheduler=profile.scheduler,
        patience=profile.patience,
        monitor="val_macro_auc",
        seed=seed,
        input_leads=tuple(leads),
        progress=_progress(progress),
    ).replace(**changes)


def train_teacher(
    prep: Prepared,
    *,
    arch: str = TEACHER[0],
    size: str | None = TEACHER[1],
    seed: int = 0,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    progress: bool | None = None,
    force: bool = False,
):
    """The 12-lead teacher (trained once, then loaded from the cache). Returns a ``FitResult``.

    ``steps_per_epoch``: epochs of that many batches (records drawn from fresh permutations of the
    training split, ``train.matched``) instead of one pass over it: a teacher trained on a small
    labeled set (a semi-supervised scenario) then gets epochs as long as its students' and the same
    early-stopping rule means the same number of steps, not a handful."""

    config = train_config(
        prep.profile, epochs=epochs or prep.profile.teacher_epochs, seed=seed, leads=prep.train.leads, progress=progress
    )
    matched = {}
    if steps_per_epoch is not None:
        n = len(prep.train)
        matched = {
            "labeled": np.ones(n, dtype=bool),
            "labeled_per_batch": min(config.batch_size, n),
            "steps_per_epoch": steps_per_epoch,
        }
    return cached_fit(
        lambda: build_model(arch, size, in_leads=prep.train.n_leads, n_classes=prep.n_classes),
        prep.train,
        prep.val,
        tag=f"teacher-{arch}-{size}",
        force=force,
        config=config,
        **matched,
    )


def teacher_cache(
    prep: Prepared,
    teacher,
    features: Sequence[str] = ("logits", "temporal", "tokens", "penultimate"),
    *,
    batch_size: int = 512,
):
    """The teacher's outputs on every training crop of the engine's grid (float16), computed once
    per teacher and data set and kept on disk (``.cache/teacher_outputs``)."""

    crop = int(round(prep.profile.crop_seconds * prep.fs))
    stride = crop // 2
    features = sorted(set(features) | {"logits"})
    key = fingerprint(
        teacher.checkpoint.parent.name if teacher.checkpoint else "live",
        features,
        crop,
        stride,
        prep.train.fingerprint(),
        key_versions("distiller"),
    )
    path = cache_dir("teacher_outputs") / f"{key}.pt"
    if path.exists():
        return TeacherCache.load(path)
    cache = TeacherCache(
        features=features,
        leads=None,  # None: all of the data's leads, as the Distiller
        meta={"teacher": teacher.checkpoint.parent.name if teacher.checkpoint else None},
    )
    cache.precompute(teacher.model, prep.train, crop, stride, batch_size=batch_size)
    cache.save(path)
    return cache


def train_student(
    prep: Prepared,
    method: str | dict = "baseline",
    *,
    teacher=None,
    size: str = STUDENT_SIZE,
    arch: str = STUDENT_ARCH,
    leads: Sequence[str] = STUDENT_LEADS,
    seed: int = 0,
    epochs: int | None = None,
    labeled: np.ndarray | None = None,
    tag: str | None = None,
    cache=None,
    progress: bool | None = None,
    force: bool = False,
    labeled_per_batch: int | None = None,
):
    """A 1-lead student trained with ``method`` (a name in ``distill.METHODS`` or a recipe config).

    ``method="baseline"`` is plain supervised training. Any other method distils from ``teacher``
    (a FitResult from :func:`train_teacher`; the default teacher is trained or loaded when omitted)
    with exactly the same budget. ``labeled`` (bool per training record) restricts the labels used:
    the rest of the training set is then unlabeled (semi-supervised setting). ``cache`` (from
    :func:`teacher_cache`) serves the teacher's outputs for methods that need no gradient through
    the teacher; it is ignored for the others (e.g. region-aware KD computes Grad-CAM live).
    ``labeled_per_batch`` (with ``labeled``): matched batches of that many labeled records
    (``train/matched.py``), the same for every method of a label-ratio run. A recipe whose terms
    read no 12-lead teacher (the mean teacher) gets none: no teacher is trained, loaded or run.
    """

    leads = [leads] if isinstance(leads, str) else list(leads)
    recipe = build_recipe(method)
    name = method if isinstance(method, str) else "custom"
    config = train_config(
        prep.profile, epochs=epochs or prep.profile.student_epochs, seed=seed, leads=leads, progress=progress
    )
    if labeled is not None:
        labeled = np.asarray(labeled, dtype=bool)
        if labeled.shape != (len(prep.train),):
            raise ConfigError(f"labeled must be a bool per training record ({len(prep.train)}); got {labeled.shape}")

    def factory():
        return build_model(arch, size, in_leads=len(leads), n_classes=prep.n_classes)

    tag = tag or f"student-{arch}-{size}-{name}"
    matched = {"labeled_per_batch": labeled_per_batch} if labeled_per_batch is not None else {}
    if not recipe.entries:
        return cached_fit(
            factory, prep.train, prep.val, tag=tag, config=config, labeled=labeled, force=force, **matched
        )
    terms = recipe.build()
    if needs_teacher(terms):
        teacher = teacher or train_teacher(prep, progress=progress)
        teacher_model = teacher.model
    else:  # e.g. the mean teacher: the student's own EMA is its teacher
        teacher, teacher_model, cache = None, NoTeacher(prep.n_classes), None

    grad_terms = any(term.needs_teacher_grad for _, term in terms)
    usable = (
        cache
        if cache is not None
        and not grad_terms
        and set(cache.features) >= {f for _, term in terms for f in term.teacher_features}
        else None
    )

    def objective_factory(student):
        return Distiller(
            teacher_model, student, recipe, student_leads=leads, data_leads=prep.train.leads, teacher_cache=usable
        )

    key = {
        "recipe": recipe.to_config(),
        "teacher": teacher.checkpoint.parent.name if teacher is not None and teacher.checkpoint else None,
        "student_leads": leads,
        "teacher_outputs": "cached-fp16" if usable is not None else "live",
        "code": recipe.code_versions(),
    }
    return cached_fit(
        factory,
        prep.train,
        prep.val,
        tag=tag,
        config=config,
        labeled=labeled,
        force=force,
        objective_factory=objective_factory,
        objective_key=key,
        **matched,
    )


def evaluate_model(
    model, prep: Prepared, *, input_leads: Sequence[str] | None = None, split: str = "test", return_probs: bool = False
) -> dict:
    """Macro AUC / F1 / MAP and per-class AUC on ``split``, F1 thresholds tuned on validation."""

    leads = _model_leads(model, prep, input_leads)
    window = prep.profile.crop_seconds
    p_val = predict(model, prep.val, input_leads=leads, window_seconds=window, stride_seconds=window / 2)
    data = prep.split(split)
    probs = predict(model, data, input_leads=leads, window_seconds=window, stride_seconds=window / 2)
    result = evaluate(data.labels, probs, y_val=prep.val.labels, p_val=p_val, classes=prep.classes)
    if return_probs:
        result["probs"] = probs
    return result


def _model_leads(model, prep: Prepared, input_leads):
    if input_leads is not None:
        return [input_leads] if isinstance(input_leads, str) else list(input_leads)
    n = getattr(model, "config", {}).get("in_leads", prep.train.n_leads)
    if n == prep.train.n_leads:
        return list(prep.train.leads)
    if n == len(STUDENT_LEADS):
        return list(STUDENT_LEADS)
    raise ConfigError(f"model takes {n} leads: pass input_leads= to say which")


def _progress(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return progress_enabled()


def data_key(prep: Prepared) -> str:
    """The prepared data's identity (for result files): from the splits' recipe keys."""
    return fingerprint(prep.train.fingerprint(), prep.val.fingerprint(), prep.test.fingerprint())


def train_restoration(
    prep: Prepared,
    *,
    size: str = "tiny",
    input_leads: Sequence[str] = STUDENT_LEADS,
    seed: int = 0,
    epochs: int | None = None,
    progress: bool | None = None,
    force: bool = False,
):
    """The lead-I -> 12-lead U-Net, trained on the training folds' 12-lead records only (cached).

    The returned model carries ``trained_fs`` and ``trained_samples`` so ``restore`` can refuse
    data at another rate or length.
    """

    leads = [input_leads] if isinstance(input_leads, str) else list(input_leads)
    idx = [prep.train.leads.index(lead) for lead in leads]
    config = train_config(
        prep.profile,
        epochs=epochs or prep.profile.student_epochs,
        seed=seed,
        leads=leads,
        progress=progress,
        monitor="val_pearson",
    )
    result = cached_fit(
        lambda: build_model("unet1d", size, in_leads=len(leads)),
        prep.train,
        prep.val,
        tag=f"restoration-unet1d-{size}",
        config=config,
        force=force,
        objective_factory=lambda net: RestorationObjective(net, idx),
        objective_key={"objective": "mse+l1", "input_leads": leads, "code": key_versions("restoration")},
    )
    result.model.run_key = result.checkpoint.parent.name if result.checkpoint else None
    result.model.trained_fs = prep.fs
    result.model.trained_samples = int(round(prep.profile.crop_seconds * prep.fs))
    return result
