"""The cross-validated benchmark runner (bench/cv.py) end to end on a small synthetic stand-in for the
real pool: parts, phases (best classic chosen on validation), resume, shards, label sweep, report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecgkd_lite import config, experiment
from ecgkd_lite.bench import cv
from ecgkd_lite.data import bandpass, load_synthetic
from ecgkd_lite.errors import ConfigError
from ecgkd_lite.evaluate.features import C_GRID


@pytest.fixture()
def tiny(monkeypatch, tmp_path):
    """The ptbxl2k profile at a toy budget, a 60-record synthetic pool, the small student; own cache."""
    monkeypatch.setenv("ECGKD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ECGKD_PRETRAINED", "0")
    monkeypatch.setitem(
        config.PROFILES,
        "ptbxl2k",
        config.PROFILES["ptbxl2k"].with_(teacher_epochs=2, student_epochs=2, batch_size=16, patience=1),
    )
    pool = bandpass(load_synthetic(60, fs=100, seconds=5.0, seed=3), **experiment.BANDPASS)
    monkeypatch.setattr(cv, "load_pool", lambda root: pool)
    monkeypatch.setattr(experiment, "TEACHER", ("cnn_transformer", "tiny"))
    return tmp_path


def run(tmp_path, **kw):
    kw = {
        "root": tmp_path,
        "methods": "vanilla_kd,fitnets",
        "seeds": 2,
        "k": 2,
        "parts_root": tmp_path / "parts",
        "n_boot": 20,
        "log": lambda *a: None,
        **kw,
    }
    return cv.run_quality_cv(**kw)


def test_phases_parts_resume_and_report(tiny, monkeypatch):
    out = run(tiny, json_out=tiny / "r.json")
    parts = sorted(p.name for p in tiny.glob("parts/bench_quality_ptbxl2k/*/*.json"))
    best = out["best_classic"]["method"]
    assert best in ("vanilla_kd", "fitnets")
    vals = out["best_classic"]["validation_macro_auc"]
    assert best == max(vals, key=vals.get)  # chosen on validation, not on the out-of-fold predictions
    seed0 = {
        f"{m}-s0-f{f}.json"
        for m in ("teacher", "baseline", "vanilla_kd", "fitnets", "features-lead_I", "features-12_lead")
        for f in (0, 1)
    }
    seed1 = {f"{m}-s1-f{f}.json" for m in ("teacher", "baseline", "vanilla_kd", best) for f in (0, 1)}
    assert set(parts) == seed0 | seed1
    other = ({"vanilla_kd", "fitnets"} - {best}).pop()
    assert out["methods"][other]["seeds"] == [0] and out["methods"]["baseline"]["seeds"] == [0, 1]
    # a verdict on one seed says that its interval leaves out the seed-to-seed spread
    assert f"The verdicts of {other} rest on one seed" in cv.reading(out)
    assert out["complete"] is True and out["n_pool"] + out["n_holdout"] == 60
    for name, row in out["methods"].items():
        assert len(row["macro_auc_per_fold"][0]) == 2
        if name not in ("teacher", "baseline"):
            d = row["paired_delta_macro_auc"]
            assert d["ci95"][0] <= d["estimate"] <= d["ci95"][1]
            assert row["verdict"] == ("better" if d["ci95"][0] > 0 else "worse" if d["ci95"][1] < 0 else "level")
    assert json.loads((tiny / "r.json").read_text())["schema"] == cv.SCHEMA
    assert "| vanilla_kd |" in cv.markdown(out)
    # the naive references: logistic regression on beat features, C chosen on validation, paired like the rest
    for name in cv.FEATURE_MODELS:
        row = out["methods"][name]
        assert row["seeds"] == [0] and row["epochs_run_mean"] is None and "paired_delta_macro_auc" in row
        assert set(row["C_per_fold"]) <= set(C_GRID)
    assert "| features-lead_I | 1 |" in cv.markdown(out) and "logistic regression" in cv.markdown(out)

    def no_training(*a, **k):
        raise AssertionError("a finished part was trained again")

    monkeypatch.setattr(experiment, "train_student", no_training)
    monkeypatch.setattr(experiment, "train_teacher", no_training)
    again = run(tiny, json_out=tiny / "r2.json")
    assert again["methods"]["baseline"]["macro_auc_per_seed"] == out["methods"]["baseline"]["macro_auc_per_seed"]


def test_gap_closed_by_what_lead_i_sees(tiny, monkeypatch):
    """Classes grouped by the per-class gap file; each group gets its own paired interval."""
    classes = list(cv.load_pool(None).classes)
    rows = [{"class": c, "seen_by_lead_I": "seen" if i % 2 else "not seen"} for i, c in enumerate(classes)]
    vis = tiny / "gap.json"
    vis.write_text(json.dumps({"cv": {"per_class": rows}}))
    monkeypatch.setattr(cv, "VISIBILITY", vis)
    out = run(tiny, methods="vanilla_kd", seeds=1, json_out=tiny / "v.json")
    by = out["by_visibility"]
    assert by["groups"] == {"seen": classes[1::2], "not seen": classes[0::2]}
    d = by["methods"]["vanilla_kd"]["not seen"]["paired_delta_macro_auc"]
    assert d["ci95"][0] <= d["estimate"] <= d["ci95"][1]
    assert "| vanilla_kd |" in cv.markdown(out).split("By what lead I sees")[1]


def test_a_part_made_by_older_term_code_is_trained_again(tiny, monkeypatch):
    """Parts carry the code versions of their recipe; bumping a term's version makes exactly the
    parts of the methods that use it stale (the teacher and the baseline stay)."""
    from ecgkd_lite import versions

    run(tiny, methods="vanilla_kd,fitnets", seeds=1)
    part = json.loads(next(tiny.glob("parts/bench_quality_ptbxl2k/*/fitnets-s0-f0.json")).read_text())
    assert part["code"] == experiment.build_recipe("fitnets").code_versions() != {}
    number, files = versions.COMPONENTS["term:fitnets"]
    monkeypatch.setitem(versions.COMPONENTS, "term:fitnets", (number + 1, files))
    trained = []
    real = experiment.train_student

    def spy(prep, method, **kw):
        trained.append(method)
        return real(prep, method, **kw)

    monkeypatch.setattr(experiment, "train_student", spy)
    logs = []
    run(tiny, methods="vanilla_kd,fitnets", seeds=1, log=logs.append)
    assert trained == ["fitnets", "fitnets"]  # both folds of the stale method, nothing else
    assert any("stale part fitnets-s0-f0.json" in line for line in logs)
    part = json.loads(next(tiny.glob("parts/bench_quality_ptbxl2k/*/fitnets-s0-f0.json")).read_text())
    assert part["code"]["term:fitnets"] == number + 1


def test_shards_split_every_cell_once():
    for shards in (1, 2, 3):
        owners = {(s, f): cv.owner(s, f, k=5, n_methods=15, seeds=3, shards=shards) for s in range(3) for f in range(5)}
        assert set(owners.values()) == set(range(shards))
    two = [cv.owner(0, f, k=5, n_methods=15, seeds=3, shards=2) for f in range(5)]
    assert sorted(two) == [0, 0, 0, 1, 1]  # the heavy seed-0 cells are spread
    with pytest.raises(ConfigError, match="shard must be 'i/n' with 0 <= i < n"):
        cv.parse_shard("2/2")
    with pytest.raises(ConfigError, match="shard must be 'i/n'"):
        cv.parse_shard("x")


def test_label_sweep_scenario_a_teacher_on_the_labeled_records_only(tiny):
    out = run(tiny, methods="vanilla_kd", seeds=1, label_ratio=0.5, json_out=tiny / "l.json")
    assert (tiny / "l_scenario_a.json").exists() and out["setting"]["scenario"] == "a"
    parts = "parts/bench_quality_ptbxl2k-labels50pct-scenario_a/*/"
    teacher = json.loads(next(tiny.glob(parts + "teacher-s0-f0.json")).read_text())
    student = json.loads(next(tiny.glob(parts + "vanilla_kd-s0-f0.json")).read_text())
    assert teacher["n_train"] == student["n_labeled"] < student["n_train"]
    assert "labeled records" in out["setting"]["teacher_labels"]
    # the reference rows join every semi-supervised table; the full-label baseline sees every label
    assert {"baseline-full_labels", "mean_teacher", "hard_pseudo_label"} <= set(out["methods"])
    full = json.loads(next(tiny.glob(parts + "baseline-full_labels-s0-f0.json")).read_text())
    assert full["n_labeled"] == full["n_train"] == student["n_train"]


def test_label_sweep_scenario_b_teacher_and_students_on_disjoint_halves(tiny):
    out = run(tiny, methods="vanilla_kd", seeds=1, label_ratio=0.5, scenario="b", json_out=tiny / "l.json")
    assert (tiny / "l_scenario_b.json").exists() and "disjoint" in out["setting"]["teacher_labels"]
    parts = "parts/bench_quality_ptbxl2k-labels50pct-scenario_b/*/"
    teacher = json.loads(next(tiny.glob(parts + "teacher-s0-f0.json")).read_text())
    student = json.loads(next(tiny.glob(parts + "vanilla_kd-s0-f0.json")).read_text())
    assert teacher["n_train"] + student["n_train"] in range(20, 40)  # the two halves of one fold's training part
    assert student["n_labeled"] < student["n_train"]


def test_arguments_are_checked_before_any_work(tiny):
    with pytest.raises(ConfigError, match="seeds must be an integer >= 1"):
        run(tiny, seeds=0)
    with pytest.raises(ConfigError, match="k must be an integer >= 2"):
        run(tiny, k=1)
    with pytest.raises(ConfigError, match=r"methods \['magic'\] are unknown"):
        run(tiny, methods="magic")
    with pytest.raises(ConfigError, match="no finished teacher and baseline parts"):
        run(tiny, report_only=True, json_out=tiny / "x.json")


@pytest.fixture()
def tiny_synthetic(tiny, monkeypatch):
    """The converged profile at a toy budget: 60 quick records and 40 test records of 5 s."""
    monkeypatch.setitem(
        config.PROFILES,
        "converged",
        config.PROFILES["converged"].with_(
            n_records=60, seconds=5.0, teacher_epochs=2, student_epochs=2, batch_size=16, patience=1
        ),
    )
    monkeypatch.setattr(cv, "N_SYNTHETIC_TEST", 40)
    return tiny


def test_synthetic_pool_is_the_quick_data_plus_new_test_records(tiny_synthetic):
    """Block-seeded generation: the first records are the quick data set itself (same signals, same
    folds); train / validation / hold-out are its folds 1-8 / 9 / 10 and the test set is new records."""
    data, plan = cv.synthetic_pool()
    quick = bandpass(load_synthetic(60, fs=100, seconds=5.0, seed=0), **experiment.BANDPASS)
    assert len(data) == 100 and (data.signals[:60] == quick.signals).all()
    (fold,) = plan.folds
    assert (fold.train == (quick.folds <= 8).nonzero()[0]).all() and (fold.val == (quick.folds == 9).nonzero()[0]).all()
    assert (plan.holdout == (quick.folds == 10).nonzero()[0]).all()
    assert (fold.test == range(60, 100)).all() and (plan.pool == fold.test).all()
    assert not set(data.record_ids[fold.test]) & set(quick.record_ids)


def test_converged_synthetic_benchmark_one_split_paired_report(tiny_synthetic):
    out = cv.run_quality_cv(
        data="synthetic",
        methods="vanilla_kd",
        seeds=2,
        parts_root=tiny_synthetic / "parts",
        n_boot=20,
        json_out=tiny_synthetic / "s.json",
        log=lambda *a: None,
    )
    parts = {p.name for p in tiny_synthetic.glob("parts/bench_quality_synthetic/*/*.json")}
    assert {"teacher-s1-f0.json", "vanilla_kd-s1-f0.json", "features-lead_I-s0-f0.json"} <= parts
    assert not any("-f1" in p for p in parts)  # one split
    assert out["setting"]["data"] == "synthetic" and out["setting"]["profile"]["name"] == "converged"
    assert out["n_pool"] == 40 and out["methods"]["vanilla_kd"]["seeds"] == [0, 1]
    d = out["methods"]["vanilla_kd"]["paired_delta_macro_auc"]
    assert d["ci95"][0] <= d["estimate"] <= d["ci95"][1]
    # lead-I visibility by construction: the hidden conditions form the "not seen" group
    assert out["by_visibility"]["groups"]["not seen"] == ["LAFB", "AMI", "IMI"]
    assert "generator" in out["by_visibility"]["source"]
    cost = out["cost"]  # every finished part: 2 teachers, 2 baselines, 2 vanilla KD, 2 feature models
    assert cost["parts"] == 8 and cost["deep_runs"] == 6 and cost["wall_hours_sum"] >= 0
    # part time = max(wall, training) per part, summed; two processes share it; the report timed itself
    parts_read = [json.loads(p.read_text()) for p in tiny_synthetic.glob("parts/bench_quality_synthetic/*/*.json")]
    part_s = sum(max(p["wall_s"], p["train_seconds"]) for p in parts_read)
    assert cost["part_hours_sum"] == pytest.approx(part_s / 3600, abs=0.006)
    assert cost["two_process_minutes"] == pytest.approx(part_s / 120, abs=0.06)
    assert cost["train_hours_sum"] <= cost["part_hours_sum"] and cost["report_minutes"] >= 0


def test_converged_benchmark_on_generator_v2_noisy_labels_measured_groups(tiny_synthetic):
    """--generator v2: the same split rule on v2 records (their own parts folder and key), the models
    trained and scored on the noisy labels, a noise-free block scored on the generator's truth, and the
    lead-I groups measured on the hold-out by the real-gap rule (never by construction)."""
    out = cv.run_quality_cv(
        data="synthetic_v2",
        methods="vanilla_kd",
        seeds=1,
        parts_root=tiny_synthetic / "parts",
        n_boot=20,
        json_out=tiny_synthetic / "v2.json",
        log=lambda *a: None,
    )
    assert list(tiny_synthetic.glob("parts/bench_quality_synthetic_v2/*/vanilla_kd-s0-f0.json"))
    assert not list(tiny_synthetic.glob("parts/bench_quality_synthetic/*"))  # v1's parts untouched
    data, plan = cv.synthetic_pool(data="synthetic_v2")
    assert out["setting"]["data"] == "synthetic_v2" and out["classes"] == list(data.classes)
    truth = data.meta[[f"true_{c}" for c in data.classes]].to_numpy()[plan.pool]
    changed = float((truth != data.labels[plan.pool]).mean())
    clean = out["noise_free"]
    assert clean["labels_changed_by_noise"] == pytest.approx(changed, abs=1e-4) and changed > 0
    assert set(clean["methods"]) >= {"teacher", "baseline", "vanilla_kd"}
    assert "paired_delta_macro_auc" in clean["methods"]["vanilla_kd"]
    cells = clean["teacher_cells"]["per_class"]
    assert set(cells) == set(data.classes)
    for j, c in enumerate(data.classes):  # the cell counts add up to the test records
        n = sum(
            cells[c][f"n {cell}"]
            for cell in ("labelled positive", "omitted positive", "false positive", "labelled negative")
        )
        assert n == len(plan.pool)
        omitted = int(((truth[:, j] == 1) & (data.labels[plan.pool][:, j] == 0)).sum())
        assert cells[c]["n omitted positive"] == omitted
    vis = out["by_visibility"]
    assert "hold-out" in vis["source"] and set(vis["per_class"]) == set(data.classes)
    # a toy hold-out of a few records has no class with enough positives to group: none is grouped
    assert set(vis["per_class"].values()) == {"undetermined"} and vis["groups"] == {}
    assert set(vis["per_class_for_notebooks"]) == set(data.classes) and "never score" in vis["for_notebooks"]
    sub = cv.subset(out, ["baseline", "teacher"])  # every method table follows the chosen rows
    assert list(sub["methods"]) == list(sub["noise_free"]["methods"]) == ["baseline", "teacher"]
    assert "vanilla_kd" not in sub["by_visibility"]["methods"]
    text = cv.markdown(out)
    assert "noise-free labels" in text and "| teacher | " in text.split("noise-free labels")[-1]


def test_measured_visibility_follows_the_real_gap_rule():
    """A class the teacher ranks perfectly and the baseline at chance is 'not seen'; a class both rank
    alike is 'seen'; the thresholds are the ones of the real gap table."""
    from ecgkd_lite.evaluate.paired import visibility_group

    rng = np.random.default_rng(0)
    y = (rng.random((400, 3)) < 0.3).astype(np.float32)
    y[:, 2] = 0
    y[:3, 2] = 1  # three positives: too few to group, however wide the measured gap
    signal = y + 0.1 * rng.standard_normal(y.shape)
    teacher = signal.copy()
    baseline = np.stack([rng.random(400), signal[:, 1], rng.random(400)], 1)
    assert cv.measured_visibility(y, teacher, baseline, ["hidden", "plain", "rare"], n_boot=200) == {
        "hidden": "not seen",
        "plain": "seen",
        "rare": "undetermined",
    }
    assert visibility_group(0.01, 0.04) == "seen" and visibility_group(0.02, 0.2) == "partly seen"
    assert visibility_group(-0.01, 0.2) == "undetermined" and visibility_group(float("nan"), 0.1) == "undefined"
    with pytest.raises(ConfigError, match="measured="):
        cv.lead_i_visibility(["AMI"], data="synthetic_v2")
    with pytest.raises(ConfigError, match="not a synthetic set"):
        cv.synthetic_pool(data="ptbxl2k")


def test_source_visibility_reads_v1_construction_and_the_v2_groups_for_notebooks(tmp_path):
    """v1: the construction's groups; v2: the groups the committed v2 benchmark measured on its test
    records for the notebooks (undetermined classes in no group); a missing file, a report without
    those groups and another source are named."""
    classes = ["AMI", "AFIB", "LVH", "CRBBB"]
    assert cv.source_visibility("synthetic", classes) == {
        "seen": ["AFIB"],
        "partly seen": ["LVH", "CRBBB"],
        "not seen": ["AMI"],
    }
    path = tmp_path / "v2.json"
    per_class = {"AMI": "partly seen", "AFIB": "seen", "LVH": "undetermined", "CRBBB": "not seen"}
    path.write_text(json.dumps({"by_visibility": {"per_class": {}}}))  # a report before the notebooks' groups
    with pytest.raises(ConfigError, match="no per_class_for_notebooks"):
        cv.source_visibility("synthetic_v2", classes, path=path)
    path.write_text(json.dumps({"by_visibility": {"per_class": {}, "per_class_for_notebooks": per_class}}))
    assert cv.source_visibility("synthetic_v2", classes, path=path) == {
        "seen": ["AFIB"],
        "partly seen": ["AMI"],
        "not seen": ["CRBBB"],
    }
    with pytest.raises(ConfigError, match="missing.json is missing"):
        cv.source_visibility("synthetic_v2", classes, path=tmp_path / "missing.json")
    with pytest.raises(ConfigError, match="source='ptbxl'"):
        cv.source_visibility("ptbxl", classes)


def test_generator_of_and_ablation_readings_name_each_stored_file(tmp_path):
    assert cv.generator_of({"setting": {"data": "synthetic_v2"}}) == "generator v2"
    assert cv.generator_of({"data": {"source": "synthetic"}}) == "generator v1"
    assert cv.generator_of({"setting": {"data": "ptbxl2k"}}) == "ptbxl2k" and cv.generator_of({}) is None
    assert cv.ablation_readings("liteheart-no_mi", root=tmp_path) == "No converged synthetic benchmark is stored."
    stored = {"setting": {"data": "synthetic_v2"}, "methods": {"liteheart": {}}}
    (tmp_path / "bench_quality_converged_v2.json").write_text(json.dumps(stored))
    text = cv.ablation_readings("liteheart-no_mi", root=tmp_path)
    assert text.startswith("* **generator v2** (`bench_quality_converged_v2.json`): ") and "\n" not in text
    assert text.endswith(cv.ablation_reading(stored, "liteheart-no_mi", where=""))


def test_converged_benchmark_arguments(tiny):
    with pytest.raises(ConfigError, match="data 'mimic' is unknown"):
        cv.run_quality_cv(data="mimic")
    with pytest.raises(ConfigError, match="needs root="):
        cv.run_quality_cv(data="ptbxl2k")


def test_every_seed_trains_every_method_at_every_seed(tiny_synthetic):
    kw = {"data": "synthetic", "methods": "vanilla_kd,fitnets", "seeds": 2, "n_boot": 20, "log": lambda *a: None}
    out = cv.run_quality_cv(
        parts_root=tiny_synthetic / "parts", every_seed=True, json_out=tiny_synthetic / "e.json", **kw
    )
    assert out["methods"]["vanilla_kd"]["seeds"] == out["methods"]["fitnets"]["seeds"] == [0, 1]
    assert out["complete"] is True
    # with the phases (the default) the classic method not chosen on validation keeps seed 0 only
    out = cv.run_quality_cv(parts_root=tiny_synthetic / "phased", json_out=tiny_synthetic / "p.json", **kw)
    best = out["best_classic"]["method"]
    assert out["methods"]["fitnets"]["seeds"] == ([0, 1] if best == "fitnets" else [0])


def test_deltas_leave_other_teachers_and_feature_models_out_unless_asked():
    d = {"estimate": 0.01, "ci95": [0.0, 0.02]}
    rows = {
        m: {"paired_delta_macro_auc": d} for m in ("evl_ecg", "teacher@printout", "evl_ecg@printout", "features-lead_I")
    }
    out = {"methods": {"teacher": {}, "baseline": {}, **rows}}
    assert list(cv.deltas(out)) == ["evl_ecg", "evl_ecg@printout"]
    assert set(cv.deltas(out, teachers=True, features=True)) == set(rows)


def test_ablation_is_compared_with_its_full_recipe(tiny):
    out = run(tiny, methods="evl_ecg,evl_ecg-no_ot", seeds=1, json_out=tiny / "a.json")
    rows = out["methods"]
    d = rows["evl_ecg-no_ot"]["paired_delta_vs_full_macro_auc"]
    assert d["seeds_compared"] == 1 and d["ci95"][0] <= d["estimate"] <= d["ci95"][1]
    expected = rows["evl_ecg-no_ot"]["macro_auc_per_seed"][0] - rows["evl_ecg"]["macro_auc_per_seed"][0]
    assert d["estimate"] == pytest.approx(expected, abs=2e-4)  # the per-seed values are rounded to 4 places
    assert "paired_delta_vs_full_macro_auc" not in rows["evl_ecg"]
    assert "| evl_ecg-no_ot |" in cv.markdown(out).split("Ablations against their full recipe")[1]
    assert cv.deltas(out, "paired_delta_vs_full_macro_auc") == {"evl_ecg-no_ot": d}
    assert list(cv.deltas(out)) == ["evl_ecg", "evl_ecg-no_ot"]  # table order, deep methods only
    assert list(cv.deltas(out, features=True)) == ["evl_ecg", "evl_ecg-no_ot", *cv.FEATURE_MODELS]
    said = cv.ablation_reading(out, "evl_ecg-no_ot")
    assert f"{d['estimate']:+.3f}" in said and "removing `ot` from evl_ecg" in said
    assert "no finished `evl_ecg-no_mhca` run" in cv.ablation_reading(out, "evl_ecg-no_mhca")
    bare = cv.ablation_reading(out, "evl_ecg-no_ot", where="")
    assert bare.startswith("Removing `ot` from evl_ecg") and bare.endswith(said.split("removing", 1)[1])
    assert cv.ablation_reading(out, "evl_ecg-no_ot", where="On v2").startswith("On v2, removing `ot`")


def test_against_nearly_half():
    assert cv.against_nearly_half({"ci95": [0.30, 0.60]}) == "inside"
    assert cv.against_nearly_half({"ci95": [0.50, 0.90]}) == "above"
    assert cv.against_nearly_half({"ci95": [-0.10, 0.20]}) == "below"


def test_a_part_another_process_finished_meanwhile_is_not_trained_again(tiny, monkeypatch):
    """Shards re-check each part before training it: a part written by another process while this
    one was busy (here: fitnets, written during vanilla KD's training) is skipped."""
    real = experiment.train_student
    trained = []

    def spy(prep, method, **kw):
        trained.append(method)
        fit = real(prep, method, **kw)
        if method == "vanilla_kd":  # "another process" finishes this fold's fitnets part meanwhile
            for f in tiny.glob("parts/bench_quality_ptbxl2k/*/baseline-s0-f*.json"):
                part = json.loads(f.read_text())
                part.update(method="fitnets", code=cv.method_code("fitnets"))
                f.with_name(f.name.replace("baseline", "fitnets")).write_text(json.dumps(part))
        return fit

    monkeypatch.setattr(experiment, "train_student", spy)
    run(tiny, methods="vanilla_kd,fitnets", seeds=1, k=2)
    assert trained.count("vanilla_kd") == 2 and "fitnets" not in trained


def _tune_file(tmp_path, method, index):
    """A search result of ``method`` that chose grid point ``index`` (validation AUCs made up)."""
    from ecgkd_lite.bench import tune as tune_mod

    points = tune_mod.grid(method)
    rows = [
        {"index": i, "point": p, "recipe": r, "val_macro_auc": 0.9 + (0.01 if i == index else 0), "seconds": 60.0}
        for i, (p, r) in enumerate(points)
    ]
    body = {
        "schema": tune_mod.SCHEMA,
        "grid_size": tune_mod.GRID_SIZE,
        "rows": rows,
        "chosen_index": index,
        "chosen": points[index][0],
        "chosen_recipe": points[index][1],
        "default_val_macro_auc": rows[0]["val_macro_auc"],
    }
    tune_mod.tune_path(method, "ptbxl2k", tmp_path).write_text(json.dumps(body))


def test_tuned_variants_train_the_chosen_config_beside_the_default(tiny, monkeypatch):
    """``tuned=True`` adds ``<m>-tuned`` (the config the search chose, at every seed, under the
    method's own cache tag) where the search left the default; a search that kept it adds nothing."""
    from ecgkd_lite.bench import tune as tune_mod

    monkeypatch.setattr(tune_mod, "RESULTS", tiny)
    with pytest.raises(ConfigError, match="ecgkd bench tune --methods vanilla_kd --profile ptbxl2k"):
        run(tiny, tuned=True)  # no search yet: never a silent fallback to the default
    _tune_file(tiny, "vanilla_kd", 2)
    _tune_file(tiny, "fitnets", 0)
    real, calls = experiment.train_student, []

    def spy(prep, method, **kw):
        calls.append((method, kw["tag"]))
        return real(prep, method, **kw)

    monkeypatch.setattr(experiment, "train_student", spy)
    out = run(tiny, tuned=True, every_seed=True, json_out=tiny / "t.json")
    chosen = tune_mod.grid("vanilla_kd")[2][1]
    tuned_calls = [tag for method, tag in calls if method == chosen]
    assert len(tuned_calls) == 4  # 2 seeds x 2 folds
    assert all(tag.endswith("-vanilla_kd") for tag in tuned_calls)  # the search's seed-0 run is its seed 0
    rows = out["methods"]
    assert "fitnets-tuned" not in rows and rows["vanilla_kd-tuned"]["seeds"] == [0, 1]
    d = rows["vanilla_kd-tuned"]["paired_delta_vs_default_macro_auc"]
    assert d["seeds_compared"] == 2 and d["ci95"][0] <= d["estimate"] <= d["ci95"][1]
    t = out["tuning"]
    assert t["vanilla_kd"]["row"] == "vanilla_kd-tuned" and t["vanilla_kd"]["chosen_index"] == 2
    assert t["fitnets"]["row"] == "fitnets" and t["fitnets"]["chosen"] == t["fitnets"]["default"]
    order = cv.table_order(rows)
    assert order[order.index("vanilla_kd") + 1] == "vanilla_kd-tuned"
    md = cv.markdown(out)
    assert "Equal tuning budget" in md and "the default (same runs)" in md
    part = json.loads(next(tiny.glob("parts/bench_quality_ptbxl2k/*/vanilla_kd-tuned-s0-f0.json")).read_text())
    assert part["code"] == cv.method_code("vanilla_kd-tuned", "ptbxl2k")
    # the cost: the table at its defaults apart from the tuned rows and from the search that chose them
    cost = out["cost"]
    assert cost["tuned_rows"]["parts"] == cost["tuned_rows"]["deep_runs"] == 4
    n_rows = sum(len(r["seeds"]) * 2 for m, r in rows.items() if not m.endswith(cv.TUNED))
    assert cost["parts"] == n_rows  # every other row's parts (2 folds each), no tuned one among them
    assert cost["search"] == {"methods": 2, "points": 12, "hours_sum": 0.2, "two_process_minutes": 6.0}


def test_evl_ecg_from_the_printout_image_teacher_beside_the_default_teacher(tiny, monkeypatch):
    """``hetero_teacher="printout"``: a second 12-lead teacher (the ECG-image CNN) per (seed, fold),
    its own row ``teacher@printout``, and ``evl_ecg@printout`` distilled from it, compared with the
    default teacher's EVL-ECG student and with the gap to its own teacher."""
    real, archs = experiment.train_teacher, []

    def spy(prep, **kw):
        archs.append(kw.get("arch", experiment.TEACHER[0]))
        return real(prep, **kw)

    monkeypatch.setattr(experiment, "train_teacher", spy)
    out = run(tiny, methods="evl_ecg", seeds=1, hetero_teacher="printout", json_out=tiny / "h.json")
    assert archs.count("printout_cnn") == 2  # one per fold (seed 0)
    parts = {p.name for p in tiny.glob("parts/bench_quality_ptbxl2k/*/*.json")}
    assert {"teacher@printout-s0-f0.json", "evl_ecg@printout-s0-f1.json", "evl_ecg-s0-f0.json"} <= parts
    part = json.loads(next(tiny.glob("parts/bench_quality_ptbxl2k/*/teacher@printout-s0-f0.json")).read_text())
    assert part["arch"] == "printout_cnn" and part["code"] == {"model:printout_cnn": cv.version("model:printout_cnn")}
    rows = out["methods"]
    row = rows["evl_ecg@printout"]
    for field in ("paired_delta_macro_auc", "paired_delta_vs_default_teacher_macro_auc"):
        d = row[field]
        assert d["ci95"][0] <= d["estimate"] <= d["ci95"][1], field
    g = row["paired_gap_closed_own_teacher_macro_auc"]  # a ratio: its interval need not hold the estimate
    assert g["ci95"][0] <= g["ci95"][1] and np.isfinite(g["estimate"])
    auc = {m: rows[m]["macro_auc_per_seed"][0] for m in ("baseline", "teacher@printout", "evl_ecg@printout")}
    own_gap = (auc["evl_ecg@printout"] - auc["baseline"]) / (auc["teacher@printout"] - auc["baseline"])
    assert g["estimate"] == pytest.approx(own_gap, rel=0.05, abs=0.02)  # its own teacher's gap, not the default's
    order = cv.table_order(rows)
    assert order[:2] == ["teacher", "teacher@printout"]
    assert order[order.index("evl_ecg") + 1] == "evl_ecg@printout"
    assert cv.base_method("evl_ecg@printout") == "evl_ecg" and cv.method_recipe("evl_ecg@printout", "x") == "evl_ecg"
    with pytest.raises(ConfigError, match="teacher variant 'crayon' is unknown"):
        cv.with_teacher(["evl_ecg"], "crayon")
