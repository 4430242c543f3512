"""The equal tuning budget (bench/tune.py): same grid size for every method, defaults and small
weights inside, validation-only selection with its tie rule, resume, clear errors."""

import dataclasses
import json

import pytest

from ecgkd_lite import experiment
from ecgkd_lite.bench import tune as tune_mod
from ecgkd_lite.bench.quality import run_quality
from ecgkd_lite.config import PROFILES
from ecgkd_lite.distill import METHOD_TABLE, methods_of
from ecgkd_lite.errors import ConfigError

TINY = PROFILES["quick"].with_(
    name="test", n_records=160, seconds=5.0, batch_size=32, teacher_epochs=1, student_epochs=1, seeds=1
)


def test_every_headline_kd_method_has_a_search_of_the_same_size():
    expected = [n for n in methods_of(kind="headline") if n != "baseline"]
    assert list(tune_mod.tunable()) == expected and len(expected) >= 8
    sizes = {name: len(tune_mod.grid(name)) for name in expected}
    assert set(sizes.values()) == {tune_mod.GRID_SIZE}, sizes
    assert set(tune_mod.MAIN_WEIGHT) == set(expected)


@pytest.mark.parametrize("name", tune_mod.tunable())
def test_grid_holds_the_default_and_a_small_weight(name):
    points = tune_mod.grid(name)
    configs = [json.dumps(config, sort_keys=True) for _, config in points]
    default = dict(METHOD_TABLE[name].recipe)
    assert configs[0] == json.dumps(default, sort_keys=True), "point 0 is the method table's recipe"
    assert len(set(configs)) == len(configs), "no point twice"
    main = tune_mod.main_weight(name, default)
    assert main > 0
    assert any(tune_mod.main_weight(name, config) <= 0.1 * main + 1e-12 for _, config in points)
    for _, config in points:  # every point builds (term names and parameters checked)
        from ecgkd_lite.distill import build_recipe

        assert build_recipe(config).entries


def test_evl_grid_holds_the_papers_form():
    points = [p for p, _ in tune_mod.grid("evl_ecg")]
    assert {"alpha": 0.5, "l_m": 1.0, "l_r": 1.0, "l_ot": 1.0} in points


def test_choose_takes_the_max_and_the_earlier_point_on_ties():
    rows = [{"val_macro_auc": v} for v in (0.7, 0.9, float("nan"), 0.9, 0.8)]
    assert tune_mod.choose(rows) == 1
    assert tune_mod.choose([{"val_macro_auc": float("nan")}, {"val_macro_auc": 0.5}]) == 1
    with pytest.raises(ConfigError, match="no grid point"):
        tune_mod.choose([{"val_macro_auc": float("nan")}])


class _Poisoned:
    """A split that fails the test on any use: the tuner must never read the test split."""

    def __getattr__(self, name):
        raise AssertionError(f"the tuner read the test split ({name})")

    def __len__(self):
        raise AssertionError("the tuner read the test split (len)")


@pytest.fixture(scope="module")
def poisoned_prep():
    prep = experiment.prepare("synthetic", profile=TINY)
    return dataclasses.replace(prep, test=_Poisoned())


def _fake_fits(monkeypatch, scores):
    """Replace the per-point training by fits with known validation AUCs; returns the call log."""
    calls = []

    def fake(prep, recipe, **kwargs):
        prep.train.fingerprint(), prep.val.fingerprint()
        calls.append(recipe)
        return {
            "val_macro_auc": scores[len(calls) - 1],
            "best_epoch": 0,
            "epochs": 1,
            "train_seconds": 0.0,
            "seconds": 0.0,
        }

    monkeypatch.setattr(tune_mod, "_fit_point", fake)
    return calls


def test_selection_on_validation_and_resume(poisoned_prep, tmp_path, monkeypatch):
    scores = [0.60, 0.75, 0.70, 0.75, 0.50, 0.74]  # a tie between points 1 and 3: point 1 wins
    calls = _fake_fits(monkeypatch, scores)
    out = tmp_path / "results" / "tune_rkd_test.json"
    res = tune_mod.tune("rkd", TINY, prep=poisoned_prep, json_out=out, progress=False, command="t", log=lambda *a: 0)
    assert len(calls) == tune_mod.GRID_SIZE
    assert res["chosen_index"] == 1 and res["chosen"] == tune_mod.grid("rkd")[1][0]
    assert res["selection"] == tune_mod.SELECTION and res["grid_size"] == tune_mod.GRID_SIZE
    assert [r["val_macro_auc"] for r in res["rows"]] == scores
    assert json.loads(out.read_text())["chosen_recipe"] == tune_mod.grid("rkd")[1][1]
    assert tune_mod.tuned_recipe("rkd", "test", out.parent) == tune_mod.grid("rkd")[1][1]

    # resume: the finished points are skipped; a lost point is retrained alone
    (out.parent / "parts" / out.stem / "point4.json").unlink()
    calls.clear()
    scores[:] = [0.99] * len(scores)  # only the retrained point can see this score
    res2 = tune_mod.tune("rkd", TINY, prep=poisoned_prep, json_out=out, progress=False, command="t", log=lambda *a: 0)
    assert len(calls) == 1 and calls[0] == tune_mod.grid("rkd")[4][1]
    assert res2["chosen_index"] == 4


def test_two_processes_share_a_search_by_points(poisoned_prep, tmp_path, monkeypatch):
    """``points=``: a process trains its share only and writes no result while points are missing;
    the one that finds every point done writes it, from both shares."""
    scores = [0.6, 0.7, 0.65, 0.9, 0.5, 0.4]
    calls = _fake_fits(monkeypatch, [scores[i] for i in (3, 4, 5, 0, 1, 2)])
    out = tmp_path / "tune_crd_test.json"
    kw = dict(prep=poisoned_prep, json_out=out, progress=False, log=lambda *a: 0)
    assert tune_mod.tune("crd", TINY, points=[3, 4, 5], **kw) is None and not out.exists()
    assert calls == [tune_mod.grid("crd")[i][1] for i in (3, 4, 5)]
    res = tune_mod.tune("crd", TINY, **kw)
    assert len(calls) == 6 and calls[3:] == [tune_mod.grid("crd")[i][1] for i in (0, 1, 2)]
    assert [r["val_macro_auc"] for r in res["rows"]] == scores and res["chosen_index"] == 3
    for bad in ([], [6], [-1]):
        with pytest.raises(ConfigError, match="points must be grid indices 0..5"):
            tune_mod.tune("crd", TINY, points=bad, **kw)


def test_a_search_is_filed_under_its_key_and_read_back_from_it(poisoned_prep, tmp_path, monkeypatch):
    """``search=`` names the file (``converged_v2``: the converged profile on generator v2's split),
    so v1's and v2's searches of one profile never overwrite or stand in for each other."""
    _fake_fits(monkeypatch, [0.6, 0.7, 0.9, 0.5, 0.4, 0.3])
    monkeypatch.setattr(tune_mod, "RESULTS", tmp_path)
    res = tune_mod.tune("fitnets", TINY, prep=poisoned_prep, search="converged_v2", progress=False, log=lambda *a: 0)
    assert res["search"] == "converged_v2" and res["profile"] == "test"
    assert (tmp_path / "tune_fitnets_converged_v2.json").exists() and not (tmp_path / "tune_fitnets_test.json").exists()
    assert tune_mod.tuned_recipe("fitnets", "converged_v2") == tune_mod.grid("fitnets")[2][1]
    with pytest.raises(ConfigError, match="`ecgkd bench tune --methods fitnets --profile converged`"):
        tune_mod.tuned_recipe("fitnets", "converged")


def test_a_real_search_reads_no_test_split(poisoned_prep, tmp_path):
    """Every point really trains (1 epoch) with the test split poisoned."""
    import torch

    torch.set_num_threads(1)
    out = tmp_path / "tune_vanilla_kd_test.json"
    res = tune_mod.tune("vanilla_kd", TINY, prep=poisoned_prep, json_out=out, progress=False, log=lambda *a: 0)
    assert len(res["rows"]) == tune_mod.GRID_SIZE
    assert all(0 <= r["val_macro_auc"] <= 1 for r in res["rows"])
    assert res["chosen_index"] == tune_mod.choose(res["rows"])
    assert {"command", "git_commit", "date", "machine"} <= set(res)


def test_bad_methods_are_named():
    with pytest.raises(ConfigError, match="'nope' is unknown"):
        tune_mod.grid("nope")
    with pytest.raises(ConfigError, match="'baseline' is not a headline KD method"):
        tune_mod.tune("baseline", TINY)
    with pytest.raises(ConfigError, match="'liteheart-no_mi' is not a headline KD method"):
        tune_mod.resolve("vanilla_kd,liteheart-no_mi")
    assert tune_mod.resolve("all") == list(tune_mod.tunable())


def test_tuned_benchmark_needs_the_tune_file(tmp_path, monkeypatch):
    monkeypatch.setattr(tune_mod, "RESULTS", tmp_path)
    with pytest.raises(ConfigError, match="ecgkd bench tune --methods vanilla_kd --profile test"):
        tune_mod.tuned_recipe("vanilla_kd", "test", tmp_path)
    old = {"family": "evl_ecg", "rows": [{}] * 9, "chosen": {}}  # the old family grid's file
    (tmp_path / "tune_evl_ecg_test.json").write_text(json.dumps(old))
    with pytest.raises(ConfigError, match="not an equal-budget search"):
        tune_mod.tuned_recipe("evl_ecg", "test", tmp_path)
    with pytest.raises(ConfigError, match="ecgkd bench tune --methods vanilla_kd"):
        run_quality(profile=TINY, seeds=1, methods="vanilla_kd", tuned=True, log=lambda *a: 0)


def test_tuned_benchmark_runs_the_chosen_config(tmp_path, monkeypatch):
    chosen = tune_mod.grid("vanilla_kd")[2][1]
    path = tune_mod.tune_path("vanilla_kd", "test", tmp_path)
    path.write_text(json.dumps({"schema": tune_mod.SCHEMA, "grid_size": tune_mod.GRID_SIZE, "chosen_recipe": chosen}))
    monkeypatch.setattr(tune_mod, "RESULTS", tmp_path)
    res = run_quality(profile=TINY, seeds=1, methods="vanilla_kd", tuned=True, log=lambda *a: 0)
    assert res["methods"]["vanilla_kd"]["recipe"] == chosen and res["methods"]["vanilla_kd"]["tuned"]
    assert not res["methods"]["baseline"]["tuned"]
