"""The semi-supervised scenarios (train/scenarios.py), matched batches (train/matched.py) and the
reference methods (distill/reference/): no label of the unlabeled records reaches any model, the
teacher's records are where each scenario puts them, every method gets the same number of labeled
records per batch, the references run, and bad input raises ConfigError naming the argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecgkd_lite import experiment
from ecgkd_lite.bench import run_quality, semi
from ecgkd_lite.config import PROFILES
from ecgkd_lite.distill import Distiller, build_recipe
from ecgkd_lite.distill.reference import NoTeacher
from ecgkd_lite.errors import ConfigError
from ecgkd_lite.train.datasets import ECGDataset
from ecgkd_lite.train.matched import labeled_per_batch, matched_batches
from ecgkd_lite.train.scenarios import ARCHIVE_SHARE, scenario_split
from kd_toy_models import ToyNet
from train_toys import toy_data

TINY = PROFILES["quick"].with_(
    name="test", n_records=160, seconds=5.0, batch_size=32, teacher_epochs=1, student_epochs=1, seeds=1
)
#: the students of the leakage test: the baseline, KD with soft targets, the family with pseudo-labels,
#: and the two references that read unlabeled records
METHODS = ("baseline", "vanilla_kd", "liteheart", "hard_pseudo_label", "mean_teacher")
RATIO = 0.25


# ------------------------------------------------------------------------------------ the splits
@pytest.mark.parametrize("scenario", ["a", "b"])
def test_split_parts_are_where_the_scenario_puts_them(scenario):
    train = toy_data(n_per_fold=9).split("train")
    split = scenario_split(train, RATIO, scenario, seed=3)
    teacher, student, lab, unl = (
        set(a.tolist()) for a in (split.teacher, split.student, split.labeled, split.unlabeled)
    )
    assert lab <= student and unl == student - lab and lab and unl
    assert not teacher & unl  # no unlabeled record is the teacher's
    if scenario == "a":
        assert teacher == lab and student == set(range(len(train)))
    else:
        assert not teacher & student and teacher | student == set(range(len(train)))
        for f in np.unique(train.folds):  # half of every fold to the archive
            in_fold = np.flatnonzero(train.folds == f)
            assert len(teacher & set(in_fold.tolist())) == int(ARCHIVE_SHARE * len(in_fold))
    # drawn from folds and seed only: other labels give the same split
    flipped = train.derive({"step": "flip"}, labels=1 - train.labels)
    again = scenario_split(flipped, RATIO, scenario, seed=3)
    for a, b in zip((split.teacher, split.student, split.labeled), (again.teacher, again.student, again.labeled)):
        np.testing.assert_array_equal(a, b)


def test_scenario_a_labels_the_records_labeled_unlabeled_split_labels():
    train = toy_data(n_per_fold=9).split("train")
    lab, _ = train.labeled_unlabeled_split(RATIO, seed=2)
    split = scenario_split(train, RATIO, "a", seed=2)
    assert set(train.record_ids[split.labeled]) == set(lab.record_ids)


# ------------------------------------------------------------------ no label of U reaches a model
def _scrambled(prep, positions):
    labels = prep.train.labels.copy()
    labels[positions] = 1 - labels[positions]
    train = prep.train.derive({"step": "test_scramble_unlabeled"}, labels=labels)
    return experiment.Prepared(prep.source, prep.profile, train, prep.val, prep.test, prep.scaler, prep.recipe)


def _flow(prep, scenario, spy):
    """Teacher and every student of METHODS as the benchmark trains them; the weights of each."""
    setting = semi.setting(prep, RATIO, scenario, TINY.batch_size, log=lambda *a: None)
    teacher = experiment.train_teacher(setting.data.teacher)
    cache = experiment.teacher_cache(setting.data.student, teacher)
    out = {"teacher": {k: v.clone() for k, v in teacher.model.state_dict().items()}}
    for name in METHODS:
        spy.clear()
        fit = experiment.train_student(
            setting.data.student,
            name,
            teacher=teacher,
            size="tiny",
            cache=cache,
            tag=f"leak-{name}",
            **setting.student_args(name),
        )
        out[name] = {k: v.clone() for k, v in fit.model.state_dict().items()}
        out[f"{name}/labeled_per_batch"] = list(spy)
    return setting, out


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("ECGKD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ECGKD_PRETRAINED", "0")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    spy: list[int] = []
    batch = ECGDataset.batch

    def spying(self, items):
        out = batch(self, items)
        if self.train:  # training batches: how many labeled records each holds
            spy.append(int(out["labeled"].sum()))
        return out

    monkeypatch.setattr(ECGDataset, "batch", spying)
    yield spy
    torch.set_num_threads(before)


@pytest.mark.parametrize("scenario", ["a", "b"])
def test_no_label_of_the_unlabeled_records_reaches_any_model(scenario, isolated):
    """Every label of U (a) / of the unlabeled part of W (b) flipped: the teacher and every student
    end bit for bit the same, so none of those labels reached any loss, through the teacher or not."""
    prep = experiment.prepare("synthetic", profile=TINY)
    setting, original = _flow(prep, scenario, isolated)
    split = setting.data.split
    hidden = split.unlabeled
    assert len(hidden) > 0
    if scenario == "a":  # the teacher trains on a subset of L
        assert set(split.teacher.tolist()) <= set(split.labeled.tolist())
        assert set(setting.data.teacher.train.record_ids) <= set(prep.train.record_ids[split.labeled])
    else:  # the teacher's records and the student's are disjoint
        assert not set(setting.data.teacher.train.record_ids) & set(setting.data.student.train.record_ids)
    _, flipped = _flow(_scrambled(prep, hidden), scenario, isolated)
    assert original.keys() == flipped.keys()
    for model in ["teacher", *METHODS]:
        for key, value in original[model].items():
            torch.testing.assert_close(flipped[model][key], value, rtol=0, atol=0, msg=f"{scenario} {model}: {key}")
    # matched supervision: every step of every method holds the same number of labeled records
    k = setting.k
    for name in METHODS:
        counts = original[f"{name}/labeled_per_batch"]
        assert counts and set(counts) == {k}, (name, counts)
    assert k == labeled_per_batch(len(split.labeled), len(split.student), TINY.batch_size)


# --------------------------------------------------------------------------------- matched batches
def test_matched_batches_hold_k_labeled_records_each_and_visit_every_labeled_record_once():
    labeled = np.zeros(100, bool)
    labeled[::10] = True  # 10 labeled
    k = labeled_per_batch(10, 100, 20)
    assert k == 2
    batches = matched_batches(labeled, 20, k, seed=0, epoch=1)
    assert len(batches) == 5 and all(len(b) == 20 and labeled[b].sum() == k for b in batches)
    seen = np.concatenate([b[labeled[b]] for b in batches])
    assert sorted(seen.tolist()) == np.flatnonzero(labeled).tolist()
    again = matched_batches(labeled, 20, k, seed=0, epoch=1)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    assert not all(np.array_equal(a, b) for a, b in zip(batches, matched_batches(labeled, 20, k, seed=0, epoch=2)))


# --------------------------------------------------------------------------------- the references
@pytest.mark.parametrize("name", ["mean_teacher", "hard_pseudo_label", "baseline-full_labels"])
def test_reference_methods_run_a_step_with_finite_losses(name):
    torch.manual_seed(0)
    data = toy_data(n_per_fold=2, n_samples=200).split("train")
    student = ToyNet(1, 3, width=4, stride=4, name="toy_student")
    recipe = build_recipe(name)
    terms = recipe.build()
    teacher = NoTeacher(3) if name == "mean_teacher" else ToyNet(12, 3, width=8, stride=2, name="toy_teacher")
    distiller = Distiller(teacher, student, recipe, student_leads=["I"], data_leads=data.leads)
    labeled = np.zeros(len(data), bool)
    labeled[:4] = True
    batch = ECGDataset(data, 100, train=True, labeled=labeled).batch(np.arange(len(data)))
    distiller.setup(batch)
    distiller.train()
    losses = distiller(batch)
    assert all(torch.isfinite(v).all() for v in losses.values()), losses
    losses["total"].backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in student.parameters())
    if name == "mean_teacher":
        ema = distiller.terms["mean_teacher"].ema
        assert not any(p.requires_grad for p in ema.parameters())
        assert any(k.startswith("terms.mean_teacher.ema.") for k in distiller.state_dict())
        before = [p.clone() for p in ema.parameters()]
        with torch.no_grad():
            for p in student.parameters():
                p.add_(1.0)
        distiller(batch)  # the next training forward moves the EMA towards the student
        assert any(not torch.equal(a, b) for a, b in zip(before, ema.parameters()))
    assert len(terms) == (0 if name == "baseline-full_labels" else 1)


# --------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("ratio", [0, 0.0, -0.1, 1.5, True, "0.1", float("nan")])
def test_a_ratio_outside_0_1_raises_config_error_naming_it(ratio):
    train = toy_data(n_per_fold=2).split("train")
    with pytest.raises(ConfigError, match="label_ratio"):
        scenario_split(train, ratio, "a")
    with pytest.raises(ConfigError, match="label_ratio"):
        run_quality(profile=TINY, label_ratio=ratio, scenario="a", methods="baseline", log=lambda *a: None)


@pytest.mark.parametrize("scenario", ["c", "A", "", None])
def test_an_unknown_scenario_raises_config_error_naming_it(scenario):
    train = toy_data(n_per_fold=2).split("train")
    with pytest.raises(ConfigError, match="scenario"):
        scenario_split(train, 0.5, scenario)
    if scenario is not None:  # None in the benchmark means scenario a
        with pytest.raises(ConfigError, match="scenario"):
            run_quality(profile=TINY, label_ratio=0.1, scenario=scenario, methods="baseline", log=lambda *a: None)


def test_a_label_ratio_run_is_always_a_scenario_and_its_json_says_which(tmp_path):
    assert semi.check(0.1, None) == "a" and semi.check(1.0, None) is None and semi.check(1.0, "b") == "b"
    assert semi.json_path(tmp_path / "q.json", "a").name == "q_scenario_a.json"
    assert semi.json_path(tmp_path / "q_scenario_b.json", "b").name == "q_scenario_b.json"
    assert semi.with_references(["baseline", "vanilla_kd"]) == [
        "baseline",
        "vanilla_kd",
        "baseline-full_labels",
        "mean_teacher",
        "hard_pseudo_label",
    ]


def test_setting_trains_teacher_and_students_as_the_benchmark_does(monkeypatch):
    """``SemiSetting.train``: the scenario's teacher (epochs as long as the students'), then each
    student on the pool with matched batches and the benchmark's cache tag."""
    prep = experiment.prepare("synthetic", profile=TINY)
    st = semi.setting(prep, RATIO, "a", TINY.batch_size, log=lambda *a: None)
    calls = []
    monkeypatch.setattr(experiment, "train_teacher", lambda p, **kw: calls.append(("teacher", p, kw)) or "T")
    monkeypatch.setattr(experiment, "teacher_cache", lambda p, t: ("C", p, t))
    monkeypatch.setattr(experiment, "train_student", lambda p, m, **kw: calls.append((m, p, kw)) or m.upper())
    teacher, students = st.train(["baseline", "liteheart"], seed=1)
    assert teacher == "T" and students == {"baseline": "BASELINE", "liteheart": "LITEHEART"}
    (_, tp, tkw), (_, sp, skw), (name, _, lkw) = calls
    assert tp is st.data.teacher and tkw == {"seed": 1, "progress": None, **st.teacher_args(TINY.batch_size)}
    assert "steps_per_epoch" in tkw  # scenario a: the teacher reads fewer records than the pool
    assert sp is st.data.student and skw["cache"] == ("C", st.data.student, "T") and skw["teacher"] == "T"
    assert skw["tag"] == f"student-{experiment.STUDENT_ARCH}-tiny-baseline{st.suffix}" and skw["seed"] == 1
    assert skw["labeled"] is st.data.labeled and skw["labeled_per_batch"] == st.k
    assert name == "liteheart" and lkw["tag"].endswith(f"-liteheart{st.suffix}")
