"""The Distiller objective, recipes and the teacher cache."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from ecgkd_lite.data.container import ECGData
from ecgkd_lite.distill import (
    METHODS,
    Distiller,
    KDTerm,
    Recipe,
    TeacherCache,
    build_recipe,
    build_term,
    crop_starts,
    resolve_leads,
)
from ecgkd_lite.distill.capture import forward_features
from ecgkd_lite.distill.base import TermOutput, check_recipe_contract
from ecgkd_lite.errors import CheckpointError, ConfigError, ModelError
from kd_toy_models import ToyNet, toy_batch, toy_pair

torch.set_num_threads(1)


class BatchSizeProbe(KDTerm):
    """Records how many records it saw; returns the mean student logit (label-free variant)."""

    name = "probe_free"
    label_free = True

    def __init__(self):
        super().__init__()
        self.seen: list[int] = []

    def forward(self, s, t, batch=None):
        self.seen.append(s["logits"].shape[0])
        assert t["logits"].shape[0] == s["logits"].shape[0] == batch["x"].shape[0]
        return s["logits"].mean()


class LabeledProbe(BatchSizeProbe):
    name = "probe_labeled"
    label_free = False


class TeacherSaliency(KDTerm):
    """A term that differentiates the teacher's logits w.r.t. its temporal map (like Grad-CAM)."""

    name = "saliency"
    teacher_features = ("logits", "temporal")
    needs_teacher_grad = True

    def forward(self, s, t, batch=None):
        (grad,) = torch.autograd.grad(t["logits"].sum(), t["temporal"])
        return (s["logits"].mean() - grad.abs().mean()).pow(2)


def distiller(recipe="vanilla_kd", **kwargs) -> tuple[Distiller, dict]:
    teacher, student = toy_pair()
    batch = toy_batch()
    return Distiller(teacher, student, build_recipe(recipe), **kwargs).setup(batch), batch


# ---------------------------------------------------------------------------- the objective
def test_total_is_ce_plus_weighted_terms():
    teacher, student = toy_pair()
    batch = toy_batch()
    terms = [(0.5, build_term("vanilla_kd")), (2.0, build_term("fitnets"))]
    out = Distiller(teacher, student, terms, ce_weight=0.3).setup(batch)(batch)
    assert set(out) == {"ce", "vanilla_kd", "fitnets", "total"}
    assert_close(out["total"], 0.3 * out["ce"] + 0.5 * out["vanilla_kd"] + 2.0 * out["fitnets"])


def test_alpha_gives_the_evl_form():
    d, batch = distiller({"vanilla_kd": {"weight": 2.0}}, alpha=0.25, ce_weight=5.0)
    out = d(batch)
    assert_close(out["total"], 0.75 * out["ce"] + 0.25 * 2.0 * out["vanilla_kd"])


def test_dict_terms_are_reported_per_component():
    d, batch = distiller("rkd")
    out = d(batch)
    assert {"rkd/distance", "rkd/angle", "rkd"} <= set(out)
    assert_close(out["rkd"], out["rkd/distance"] + out["rkd/angle"])


def test_ce_is_bce_on_labeled_records_only():
    labeled = [True, False, True, True, False, False, True, False]
    d, _ = distiller()
    batch = toy_batch(labeled=labeled)
    d.eval()
    out = d(batch)
    mask = torch.tensor(labeled)
    logits = d.student(batch["x"][:, :1])
    assert_close(out["ce"], F.binary_cross_entropy_with_logits(logits[mask], batch["y"][mask]))


def test_label_free_terms_see_every_record_and_label_terms_only_labeled_ones():
    teacher, student = toy_pair()
    free, lab = BatchSizeProbe(), LabeledProbe()
    batch = toy_batch(labeled=[True, False, False, True, False, False, False, False])
    d = Distiller(teacher, student, [(1.0, free), (1.0, lab)]).setup(batch)
    d(batch)
    assert free.seen == [8] and lab.seen == [2]


def test_batch_without_labels_gives_zero_ce_and_still_backpropagates():
    teacher, student = toy_pair()
    lab = LabeledProbe()
    batch = toy_batch(labeled=[False] * 8)
    d = Distiller(teacher, student, [(1.0, build_term("vanilla_kd")), (1.0, lab)]).setup(batch)
    out = d(batch)
    assert out["ce"] == 0 and out["probe_labeled"] == 0 and lab.seen == []
    out["total"].backward()
    assert student.head.weight.grad.abs().sum() > 0


def test_leads_resolve_from_names_or_indices():
    assert resolve_leads(("I", "V1"), data_leads=("I", "II", "III", "aVR", "aVL", "aVF", "V1")) == [0, 6]
    assert resolve_leads("II", data_leads=("I", "II")) == [1]
    assert resolve_leads(None, data_leads=("I",)) is None
    with pytest.raises(ConfigError, match="'V7'"):
        resolve_leads(["V7"], data_leads=("I", "II"))
    with pytest.raises(ConfigError, match=r"indices in \[0, 12\)"):
        resolve_leads([12], data_leads=[f"x{i}" for i in range(12)])


def test_student_sees_only_its_leads():
    teacher, _ = toy_pair()
    student = ToyNet(2, 4, name="two_lead_student")
    batch = toy_batch()
    d = Distiller(teacher, student, [], student_leads=("II", "V1")).setup(batch)
    d.eval()
    assert_close(d(batch)["ce"], F.binary_cross_entropy_with_logits(student(batch["x"][:, [1, 6]]), batch["y"]))


# ---------------------------------------------------------------------------- the teacher
def test_teacher_stays_frozen_and_in_eval_mode_through_training():
    d, batch = distiller({"vanilla_kd": {}, "fitnets": {}})
    before = copy.deepcopy(d.teacher.state_dict())
    optimiser = torch.optim.SGD(d.trainable_parameters(), lr=0.1)
    d.train()
    assert d.student.training and not d.teacher.training
    assert not any(m.training for m in d.teacher.modules())
    for seed in range(3):
        optimiser.zero_grad()
        d(toy_batch(seed=seed))["total"].backward()
        optimiser.step()
    assert all(not p.requires_grad and p.grad is None for p in d.teacher.parameters())
    after = d.teacher.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # incl. BN running stats
    assert not torch.equal(d.student.head.weight, copy.deepcopy(toy_pair()[1]).head.weight)


def test_terms_needing_teacher_gradients_get_a_graph_but_the_teacher_stays_frozen():
    teacher, student = toy_pair()
    batch = toy_batch()
    d = Distiller(teacher, student, [(1.0, TeacherSaliency())]).setup(batch)
    out = d(batch)
    out["total"].backward()
    assert out["saliency"] > 0 and student.head.weight.grad is not None
    assert all(p.grad is None for p in teacher.parameters())


def test_setup_builds_heads_before_the_optimizer():
    teacher, student = toy_pair()
    d = Distiller(teacher, student, build_recipe({"fitnets": {}, "crd": {"dim": 8}}))
    assert d.terms["fitnets"].regressor is None
    d.setup(toy_batch())
    params = d.trainable_parameters()
    n_student = sum(p.numel() for p in student.parameters())
    n_heads = (8 * 16 + 16) + (8 * 8 + 8) + (16 * 8 + 8)  # regressor 8->16 channels, crd heads 8->8, 16->8
    assert sum(p.numel() for p in params) == n_student + n_heads
    assert not any(p is q for p in params for q in teacher.parameters())


def test_forward_without_setup_warns_and_builds():
    teacher, student = toy_pair()
    d = Distiller(teacher, student, build_recipe("fitnets"))
    with pytest.warns(UserWarning, match="setup"):
        d(toy_batch())
    assert d.terms["fitnets"].regressor is not None


# ---------------------------------------------------------------------------- errors
def test_missing_feature_names_term_model_and_hook():
    teacher, student = toy_pair()
    del teacher.feature_layers["penultimate"]
    with pytest.raises(
        ModelError,
        match=r"term 'crd' needs teacher feature 'penultimate' but toy_teacher has "
        r"feature_layers \['stage1', 'stage2', 'stage3', 'temporal', 'tokens'\]",
    ):
        Distiller(teacher, student, build_recipe("crd"))


def test_class_count_mismatch_names_both_models():
    teacher, _ = toy_pair(n_classes=4)
    student = ToyNet(1, 3, name="three_class_student")
    d = Distiller(teacher, student, build_recipe("vanilla_kd"))
    with pytest.raises(
        ConfigError, match="student three_class_student predicts 3 classes but teacher toy_teacher predicts 4"
    ):
        d.setup(toy_batch())


def test_negative_weights_name_the_term():
    teacher, student = toy_pair()
    with pytest.raises(ConfigError, match="weight of term 'fitnets' must be >= 0"):
        Distiller(teacher, student, [(1.0, build_term("vanilla_kd")), (-0.5, build_term("fitnets"))])
    with pytest.raises(ConfigError, match="weight of term 'rkd' must be >= 0"):
        Recipe.from_config({"rkd": {"weight": -1}})
    with pytest.raises(ConfigError, match="alpha must lie in"):
        Distiller(teacher, student, [], alpha=1.5)


def test_unknown_method_lists_the_known_ones():
    from ecgkd_lite.distill import METHODS

    listed = ", ".join(repr(m) for m in sorted(METHODS))
    assert "'liteheart-no_semi'" in listed and "'evl_ecg-no_ot'" in listed and "'region_aware-uniform'" in listed
    with pytest.raises(ConfigError, match=r"method 'kd_magic' is unknown; known: \[" + re.escape(listed) + r"\]"):
        build_recipe("kd_magic")
    with pytest.raises(ConfigError, match=r"method 'nope' is unknown; known: \[.*'vanilla_kd'"):
        Recipe.from_config({"nope": {}}).build()


# ---------------------------------------------------------------------------- recipes
def test_recipe_dict_and_list_forms_agree_and_round_trip():
    from_dict = Recipe.from_config({"vanilla_kd": {"weight": 0.5, "temperature": 2.0}, "fitnets": {}})
    from_list = Recipe.from_config([{"name": "vanilla_kd", "weight": 0.5, "temperature": 2.0}, {"name": "fitnets"}])
    assert from_dict == from_list
    assert Recipe.from_config(from_dict.to_config()) == from_dict
    (w1, kd), (w2, fit) = from_dict.build()
    assert (w1, kd.temperature, w2, fit.feature) == (0.5, 2.0, 1.0, "temporal")
    with pytest.raises(ConfigError, match="twice"):
        Recipe.from_config([{"name": "rkd"}, {"name": "rkd"}])
    with pytest.raises(ConfigError, match="entry 0 must be a mapping with a 'name'"):
        Recipe.from_config([{"weight": 1.0}])


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_builds_and_runs(method):
    d, batch = distiller(method)
    out = d(batch)
    assert set(out) >= {"ce", "total"} | {e.name for e in build_recipe(method).entries}
    assert torch.isfinite(out["total"]) and out["total"].requires_grad
    assert (method in ("baseline", "baseline-full_labels")) == (len(d.terms) == 0)


# ---------------------------------------------------------------------------- teacher cache
def toy_data(n: int = 5, n_samples: int = 96) -> ECGData:
    rng = np.random.default_rng(0)
    return ECGData(
        signals=rng.standard_normal((n, 12, n_samples)).astype(np.float32),
        labels=(rng.random((n, 4)) < 0.4).astype(np.float32),
        classes=("a", "b", "c", "d"),
        fs=100.0,
        folds=np.ones(n, dtype=int),
        record_ids=[f"r{i}" for i in range(n)],
    )


def grid_batch(data: ECGData, keys: list[tuple[int, int]], crop: int = 64) -> dict:
    x = torch.from_numpy(np.stack([data.signals[i, :, s : s + crop] for i, s in keys]))
    idx = [i for i, _ in keys]
    return {
        "x": x,
        "y": torch.from_numpy(data.labels[idx]),
        "index": torch.tensor(idx),
        "start": torch.tensor([s for _, s in keys]),
        "labeled": torch.ones(len(keys), dtype=torch.bool),
    }


def count_calls(model: torch.nn.Module) -> list[int]:
    """Batch sizes of every forward call of ``model``."""
    calls: list[int] = []
    model.register_forward_pre_hook(lambda module, args: calls.append(args[0].shape[0]))
    return calls


@pytest.fixture()
def cached():
    teacher, student = toy_pair()
    data = toy_data()
    cache = TeacherCache(features=("temporal", "penultimate")).precompute(teacher, data, 64, 16, batch_size=4)
    return teacher, student, data, cache


def test_crop_grid():
    assert crop_starts(96, 64, 16).tolist() == [0, 16, 32]
    assert crop_starts(64, 64, 10).tolist() == [0]
    assert crop_starts(100, 64, 16).tolist() == [0, 16, 32, 36]  # the end is covered, as in the engine
    with pytest.raises(ConfigError, match="crop_samples=65 exceeds the record length 64"):
        crop_starts(64, 65, 1)
    with pytest.raises(ConfigError, match="must be > 0"):
        crop_starts(64, 32, 0)


def test_cache_holds_every_grid_crop_in_float16(cached):
    teacher, _, data, cache = cached
    assert len(cache) == 5 * 3 and (4, 32) in cache and (4, 8) not in cache
    assert cache.features == ("logits", "penultimate", "temporal")
    assert all(t.dtype == torch.float16 and t.device.type == "cpu" for t in cache._data.values())
    assert cache.meta["crop_samples"] == 64 and cache.meta["data_fingerprint"] == data.fingerprint()


def test_cached_outputs_equal_the_live_teacher(cached):
    teacher, _, data, cache = cached
    keys = [(i, s) for i in range(5) for s in (0, 16, 32)]
    hit, out = cache.lookup(torch.tensor([k[0] for k in keys]), torch.tensor([k[1] for k in keys]))
    live = forward_features(teacher.eval(), grid_batch(data, keys)["x"], cache.features, detach=True)
    assert hit.all()
    for name in cache.features:
        assert out[name].dtype == torch.float32
        assert_close(out[name], live[name], rtol=2e-3, atol=2e-3)


def test_kd_step_with_the_cache_does_not_run_the_teacher(cached):
    teacher, student, data, cache = cached
    keys = [(0, 0), (3, 16), (4, 32), (1, 32)]
    batch = grid_batch(data, keys)
    recipe = build_recipe({"vanilla_kd": {}, "fitnets": {}, "crd": {"dim": 8}})
    torch.manual_seed(0)
    live = Distiller(teacher, copy.deepcopy(student), recipe).setup(batch)
    torch.manual_seed(0)
    fast = Distiller(teacher, copy.deepcopy(student), recipe, teacher_cache=cache).setup(batch)
    calls = count_calls(teacher)
    out = fast(batch)
    out["total"].backward()
    assert calls == []
    expected = live(batch)
    for name in ("ce", "vanilla_kd", "fitnets", "crd", "total"):
        assert_close(out[name], expected[name], rtol=1e-3, atol=1e-3)


def test_cache_misses_run_the_teacher_on_the_missing_crops_only(cached):
    teacher, _, data, cache = cached
    keys = [(0, 0), (2, 5), (4, 32), (1, 7)]  # starts 5 and 7 are off the grid
    batch = grid_batch(data, keys)
    calls = count_calls(teacher)
    d = Distiller(teacher, toy_pair()[1], build_recipe("fitnets"), teacher_cache=cache)
    mixed = d.teacher_outputs(batch)
    assert calls == [2]
    live = forward_features(teacher, batch["x"], ("logits", "temporal"), detach=True)
    for name in ("logits", "temporal"):
        assert_close(mixed[name], live[name], rtol=2e-3, atol=2e-3)


def test_cache_save_load_round_trip(cached, tmp_path):
    _, _, _, cache = cached
    path = cache.save(tmp_path / "teacher.pt")
    loaded = TeacherCache.load(path)
    assert loaded.features == cache.features and loaded.meta == cache.meta and len(loaded) == len(cache)
    keys = (torch.tensor([3, 0]), torch.tensor([16, 32]))
    for name in cache.features:
        assert torch.equal(loaded.lookup(*keys)[1][name], cache.lookup(*keys)[1][name])
    (tmp_path / "bad.pt").write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="bad.pt: not a readable teacher cache"):
        TeacherCache.load(tmp_path / "bad.pt")


def test_cache_configuration_errors(cached):
    teacher, student, _, cache = cached
    with pytest.raises(ConfigError, match=r"teacher_cache lacks teacher features \['stage1'\]"):
        Distiller(
            teacher, student, [(1.0, build_term("attention_transfer", features=("stage1",)))], teacher_cache=cache
        )
    with pytest.raises(ConfigError, match=r"filled with leads None but teacher_leads is \[0, 1\]"):
        Distiller(teacher, student, build_recipe("vanilla_kd"), teacher_leads=("I", "II"), teacher_cache=cache)
    with pytest.raises(ConfigError, match=r"cannot serve terms \['saliency'\]"):
        Distiller(teacher, student, [(1.0, TeacherSaliency())], teacher_cache=cache)
    with pytest.raises(ConfigError, match=r"already holds crop \(index, start\) = \(0, 0\)"):
        cache.add([0], [0], {f: torch.zeros(1, 1) for f in cache.features})


# ---------------------------------------------------------------------------- the real model zoo
def test_distills_a_resnet_teacher_into_a_cnn_transformer_student():
    models = pytest.importorskip("ecgkd_lite.models")
    torch.manual_seed(0)
    teacher = models.build_model("resnet1d", "small", in_leads=12, n_classes=4)
    student = models.build_model("cnn_transformer", "tiny", in_leads=1, n_classes=4)
    batch = toy_batch(n=4, n_samples=256)
    d = Distiller(teacher, student, build_recipe({"vanilla_kd": {}, "fitnets": {}, "rkd": {}, "crd": {}}))
    out = d.setup(batch)(batch)
    out["total"].backward()
    assert torch.isfinite(out["total"]) and all(p.grad is None for p in teacher.parameters())


class DiagnosticTerm(KDTerm):
    """A loss part plus a diagnostic, and a ``bind`` hook (``needs_student``), as the LiteHeart terms have."""

    name = "diagnostic_probe"
    needs_student = True

    def __init__(self):
        super().__init__()
        self.bound = None

    def bind(self, student, student_leads):
        self.bound = (student, student_leads)

    def forward(self, s, t, batch=None):
        loss = (s["logits"] - t["logits"]).pow(2).mean()
        return TermOutput({"mse": loss}, diagnostics={"big_number": torch.tensor(1000.0)})


def test_metric_parts_are_logged_not_summed_and_bind_is_called():
    teacher, student = toy_pair()
    term = DiagnosticTerm()
    d = Distiller(teacher, student, [(2.0, term)], student_leads=(0,))
    assert term.bound == (student, [0])
    batch = toy_batch()
    d.setup(batch)
    out = d(batch)
    assert_close(out["metric:diagnostic_probe/big_number"], torch.tensor(1000.0))
    assert "diagnostic_probe/big_number" not in out and "metric:diagnostic_probe/diagnostic_probe/big_number" not in out
    assert_close(out["diagnostic_probe"], out["diagnostic_probe/mse"])
    assert_close(out["total"], out["ce"] + 2.0 * out["diagnostic_probe/mse"])
    assert not out["metric:diagnostic_probe/big_number"].requires_grad


def test_recipe_alpha_round_trips_and_reaches_the_distiller():
    config = {"alpha": 0.3, "terms": {"vanilla_kd": {"weight": 2.0, "temperature": 2.0}}}
    recipe = Recipe.from_config(config)
    assert recipe.alpha == 0.3 and recipe.to_config() == config
    assert Recipe.from_config(recipe.to_config()) == recipe
    teacher, student = toy_pair()
    d = Distiller(teacher, student, recipe, student_leads=(0,))
    batch = toy_batch()
    d.setup(batch)
    out = d(batch)
    assert_close(out["total"], 0.7 * out["ce"] + 0.3 * 2.0 * out["vanilla_kd"])
    with pytest.raises(ConfigError, match="alpha must lie in"):
        Recipe.from_config({"alpha": 1.5, "terms": {}})


def test_family_ablations_remove_exactly_one_part():
    full = {e.name for e in build_recipe("liteheart").entries}
    assert {e.name for e in build_recipe("liteheart-no_mi").entries} == full - {"cross_layer_mi"}
    no_mhca = build_recipe("evl_ecg-no_mhca")
    assert no_mhca.alpha == 0.1 and [e.name for e in no_mhca.entries] == ["relation", "ot"]
    assert dict(no_mhca.entries[0].params)["teacher_alignment"] == "interpolate"
    assert [e.name for e in build_recipe("evl_ecg-no_ot").entries] == ["mhca", "relation"]


def test_family_recipes_are_registered_methods():
    assert {"liteheart", "evl_ecg"} <= set(METHODS)
    assert build_recipe("evl_ecg").alpha == 0.1
    assert [e.name for e in build_recipe("evl_ecg").entries] == ["mhca", "relation", "ot"]
    assert {e.name for e in build_recipe("liteheart").entries} == {
        "region_aware",
        "cross_layer_mi",
        "vanilla_kd",
        "pseudo_label",
    }
    # the semi-supervised ablation removes both of its terms (soft targets and pseudo-labels)
    assert {e.name for e in build_recipe("liteheart-no_semi").entries} == {"region_aware", "cross_layer_mi"}
    assert build_recipe("region_aware-uniform").entries[0].params["uniform"] is True
    assert build_recipe("cross_layer_mi-same_depth").entries[0].params["pairs"] == "same_depth"


def test_diagnostic_names_are_not_doubled():
    """``metric:<term>/<name>``, once: the semi-supervised and MI terms' diagnostics as they are logged."""
    d, batch = distiller({"consistency": {}, "pseudo_label": {}, "cross_layer_mi": {"dim": 8}})
    metrics = sorted(k for k in d(batch) if k.startswith("metric:"))
    assert "metric:consistency/confident_fraction" in metrics
    assert "metric:pseudo_label/confident_fraction" in metrics
    assert any(k.startswith("metric:cross_layer_mi/mi_bound/s") for k in metrics)
    assert not any(k.count("consistency") > 1 or k.count("pseudo_label") > 1 or k.count("metric:") > 1 for k in metrics)
