"""The quality benchmark runner end to end on a tiny configuration, its table and its JSON checks."""

import json

import numpy as np
import pytest

from ecgkd_lite.bench import SCHEMA, load_result, markdown_table, resolve_methods, run_quality
from ecgkd_lite.config import PROFILES
from ecgkd_lite.errors import ConfigError

TINY = PROFILES["quick"].with_(
    name="test", n_records=160, seconds=5.0, batch_size=32, teacher_epochs=1, student_epochs=1, seeds=2
)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("bench") / "q.json"
    res = run_quality(
        profile=TINY,
        seeds=2,
        methods="vanilla_kd,fitnets",
        json_out=out,
        argv=["bench", "quality"],
        log=lambda *a: None,
    )
    return res, out


def test_json_has_every_method_seed_and_metric(result):
    res, path = result
    on_disk = json.loads(path.read_text())
    assert on_disk["schema"] == SCHEMA == res["schema"]
    assert on_disk["command"] == "ecgkd bench quality" and on_disk["date"] and "machine" in on_disk
    assert list(res["methods"]) == ["baseline", "vanilla_kd", "fitnets"]
    assert res["data"]["n_train"] + res["data"]["n_val"] + res["data"]["n_test"] == 160
    for name, r in res["methods"].items():
        assert [run["seed"] for run in r["runs"]] == [0, 1]
        for m in ("macro_auc", "macro_f1", "map"):
            values = [run[m] for run in r["runs"]]
            assert r["mean"][m] == pytest.approx(np.mean(values))
            assert r["std"][m] == pytest.approx(np.std(values, ddof=1))
            assert 0 <= r["mean"][m] <= 1
        assert set(r["runs"][0]["per_class_auc"]) == set(res["classes"])
        assert r["params"] > 0 and r["train_seconds_mean"] > 0 and not r["runs"][0]["nonfinite_loss"]
    assert res["methods"]["vanilla_kd"]["recipe"] == {"vanilla_kd": {"weight": 1.0, "temperature": 4.0}}
    assert res["naive"]["macro_auc"] == pytest.approx(0.5)


def test_gap_closed_follows_its_definition(result):
    res, _ = result
    t, base = res["teacher"], res["methods"]["baseline"]["mean"]
    for name, r in res["methods"].items():
        for m in ("macro_auc", "macro_f1", "map"):
            expected = (r["mean"][m] - base[m]) / (t[m] - base[m])
            assert r["gap_closed"][m] == pytest.approx(expected)
    assert res["methods"]["baseline"]["gap_closed"]["macro_auc"] == pytest.approx(0.0)


def test_paired_difference_to_the_baseline_on_the_same_test_records(result):
    """Each method's paired interval: the estimate is the difference of the seed-mean test AUCs, the
    interval holds it, the verdict follows the interval; the baseline has none."""
    res, _ = result
    base = res["methods"]["baseline"]
    assert "paired_delta_macro_auc" not in base
    for name in ("vanilla_kd", "fitnets"):
        r = res["methods"][name]
        d = r["paired_delta_macro_auc"]
        assert d["estimate"] == pytest.approx(r["mean"]["macro_auc"] - base["mean"]["macro_auc"], abs=1e-9)
        assert d["ci95"][0] <= d["estimate"] <= d["ci95"][1] and d["seeds_compared"] == 2
        lo, hi = d["ci95"]
        assert r["verdict"] == ("better" if lo > 0 else "worse" if hi < 0 else "level")
        assert "ci95" in r["paired_gap_closed_macro_auc"]
    assert "minus baseline (paired 95 % CI)" in markdown_table(res).splitlines()[0]


def test_markdown_table_and_reload(result):
    res, path = result
    table = markdown_table(res).splitlines()
    assert table[0].startswith("| model | macro AUC") and len(table) == 2 + 2 + 3
    assert "95 % CI" in table[0] and table[0].count("|") == table[1].count("|") == table[4].count("|")
    assert table[2].startswith("| teacher (12 leads) |") and table[4].startswith("| baseline |")
    assert load_result(path, required_methods=["vanilla_kd"])["methods"].keys() == res["methods"].keys()
    with pytest.raises(ConfigError, match=r"lacks methods \['dkd'\]"):
        load_result(path, required_methods=["dkd"])


def test_old_schema_and_missing_file_are_clear_errors(tmp_path):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"schema": "ecgkd-bench-quality/0", "command": "ecgkd bench quality --seeds 1"}))
    with pytest.raises(
        ConfigError, match="schema 'ecgkd-bench-quality/0'.*rebuild it with `ecgkd bench quality --seeds 1`"
    ):
        load_result(old)
    with pytest.raises(ConfigError, match="does not exist; run `ecgkd bench quality"):
        load_result(tmp_path / "nope.json")
    with pytest.raises(ConfigError, match="schema"):
        markdown_table({"schema": "x"})


def test_tables_keep_the_reading_order():
    from ecgkd_lite.bench.quality import method_order

    names = ["vanilla_kd", "liteheart-no_mi", "baseline", "evl_ecg", "crd", "liteheart", "zzz"]
    assert method_order(names) == ["baseline", "vanilla_kd", "crd", "liteheart", "evl_ecg", "liteheart-no_mi", "zzz"]


def test_method_selection():
    assert resolve_methods("baselines") == [
        "baseline",
        "vanilla_kd",
        "fitnets",
        "attention_transfer",
        "rkd",
        "crd",
        "dkd",
    ]
    assert resolve_methods("all")[7:9] == ["liteheart", "evl_ecg"]
    assert "liteheart-no_mi" in resolve_methods("all") and "evl_ecg-no_ot" in resolve_methods("families")
    assert resolve_methods("dkd, baseline,dkd") == ["baseline", "dkd"]
    with pytest.raises(ConfigError, match=r"methods \['magic'\] are unknown"):
        resolve_methods("magic")
    with pytest.raises(ConfigError, match="seeds must be a positive integer"):
        run_quality(profile=TINY, seeds=0, methods="vanilla_kd")


def test_external_validation_on_the_ptbxl_sample(result, ptbxl_root):
    """Models trained on synthetic data, evaluated on real PTB-XL without retraining: synthetic classes
    map onto the PTB-XL superclasses (max over members), HYP..NORM all have counterparts."""
    res = run_quality(
        profile=TINY, seeds=1, methods="vanilla_kd", eval_data="ptbxl", eval_root=ptbxl_root, log=lambda *a: None
    )
    ext = res["external"]
    assert ext["data"] == "ptbxl" and ext["n_records"] == 390
    assert ext["classes"] == ["NORM", "MI", "STTC", "CD", "HYP"] and ext["left_out"] == []
    assert set(ext["methods"]) == {"baseline", "vanilla_kd"}
    for r in [ext["teacher"]["macro_auc"], *(m["macro_auc_mean"] for m in ext["methods"].values())]:
        assert 0 <= r <= 1
    assert set(ext["teacher"]["per_class_auc"]) == set(ext["classes"])


def test_label_ratio_and_teacher_choice(tmp_path):
    """Every student sees the same labeled share; the teacher can be another architecture; each run
    carries a bootstrap interval around its test macro AUC."""
    res = run_quality(
        profile=TINY,
        seeds=1,
        methods="vanilla_kd",
        label_ratio=0.5,
        teacher="cnn_transformer/tiny",
        log=lambda *a: None,
    )
    assert res["label_ratio"] == 0.5 and res["n_labeled"] == pytest.approx(res["data"]["n_train"] / 2, abs=8)
    assert (res["teacher"]["arch"], res["teacher"]["size"]) == ("cnn_transformer", "tiny")
    for row in (res["teacher"], res["methods"]["vanilla_kd"]["runs"][0]):
        low, high = row["macro_auc_ci95"]
        assert 0 <= low <= high <= 1 and low - 0.05 <= row["macro_auc"] <= high + 0.05
    import re

    assert re.fullmatch(r" 0\.\d{3}-[01]\.\d{3} ", markdown_table(res).splitlines()[2].split("|")[7])
    with pytest.raises(ConfigError, match="label_ratio must lie in"):
        run_quality(profile=TINY, seeds=1, methods="vanilla_kd", label_ratio=0.0)
    with pytest.raises(ConfigError, match="teacher 'resnet1d/huge' is unknown"):
        run_quality(profile=TINY, seeds=1, methods="vanilla_kd", teacher="resnet1d/huge")


def test_a_ratio_that_rounds_records_what_was_achieved():
    """0.0001 of the training records rounds up to one record per training fold: the JSON keeps the
    ratio asked and records the ratio and number of labeled records achieved beside it."""
    res = run_quality(profile=TINY, seeds=1, methods="baseline", label_ratio=0.0001, log=lambda *a: None)
    n_train = res["data"]["n_train"]
    assert res["label_ratio"] == 0.0001 and res["n_labeled"] == 8  # one per training fold 1-8
    assert res["label_ratio_achieved"] == pytest.approx(8 / n_train)
    # a label ratio below 1 is scenario a, with the reference rows beside the methods asked for
    assert res["scenario"]["scenario"] == "a" and res["labeled_per_batch"] == 2
    assert list(res["methods"]) == ["baseline", "baseline-full_labels", "mean_teacher", "hard_pseudo_label"]
