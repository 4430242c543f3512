"""Benchmark JSONs -> merged tables, report files, per-class AUCs, label sweep, efficiency rows."""

import json
import shutil

import numpy as np
import pytest

from ecgkd_lite.bench import SCHEMA, markdown_table
from ecgkd_lite.bench.report import (
    BENCHMARK_FILES,
    BenchmarkFile,
    efficiency_lineup,
    efficiency_rows,
    external_frame,
    find_setting,
    headline_frame,
    label_sweep_frame,
    load_benchmarks,
    made_by,
    merge_results,
    missing_methods,
    per_class_auc,
    setting,
    write_report,
)
from ecgkd_lite.errors import ConfigError

CLASSES = ["A", "B", "C"]


def _runs(auc: float) -> list[dict]:
    """Two seeds at auc -/+ 0.01; class C has no positives (None), class B is missing in seed 1 only."""
    return [
        {
            "seed": s,
            "macro_auc": auc + d,
            "macro_f1": auc - 0.2 + d,
            "map": auc - 0.3 + d,
            "per_class_auc": {"A": auc + d, "B": (auc if s == 0 else None), "C": None},
        }
        for s, d in ((0, -0.01), (1, 0.01))
    ]


def fake_result(
    methods: dict,
    *,
    teacher: float = 0.90,
    fingerprint: str = "fp1",
    label_ratio: float | None = None,
    teacher_arch: str = "resnet1d",
    recipe: dict | None = None,
    command: str = "ecgkd bench quality",
) -> dict:
    """A schema-1 benchmark result whose method means are ``methods`` (gap_closed deliberately wrong)."""
    entries = {}
    for name, auc in methods.items():
        runs = _runs(auc)
        entries[name] = {
            "recipe": recipe or {name: {"weight": 1.0}},
            "runs": runs,
            "mean": {m: float(np.mean([r[m] for r in runs])) for m in ("macro_auc", "macro_f1", "map")},
            "std": {m: float(np.std([r[m] for r in runs], ddof=1)) for m in ("macro_auc", "macro_f1", "map")},
            "gap_closed": {"macro_auc": 9.0, "macro_f1": 9.0, "map": 9.0},
            "params": 1000,
            "train_seconds_mean": 10.0,
        }
    out = {
        "schema": SCHEMA,
        "command": command,
        "git_commit": "0123456789abcdef",
        "date": "2026-11-21T00:00:00+00:00",
        "data": {"source": "synthetic", "fingerprint": fingerprint, "n_train": 100},
        "classes": CLASSES,
        "seeds": 2,
        "student": {"arch": "cnn_transformer", "size": "tiny", "leads": ["I"]},
        "teacher": {
            "arch": teacher_arch,
            "size": "small",
            "macro_auc": teacher,
            "macro_f1": teacher - 0.1,
            "map": teacher - 0.2,
            "per_class_auc": {"A": 0.99, "B": 0.9, "C": None},
            "params": 5000,
            "train_seconds": 30.0,
        },
        "naive": {"macro_auc": 0.5, "macro_f1": 0.2, "map": 0.1},
        "methods": entries,
    }
    if label_ratio is not None:
        out["label_ratio"], out["n_labeled"] = label_ratio, int(100 * label_ratio)
    return out


# ------------------------------------------------------------------------------------------ merging
def test_files_with_one_setting_merge_and_gap_closed_is_recomputed():
    merged = merge_results(
        {
            "a.json": fake_result({"baseline": 0.80, "vanilla_kd": 0.85}),
            "b.json": fake_result({"baseline": 0.80, "liteheart": 0.86}, label_ratio=1.0),
        }
    )
    assert len(merged) == 1  # an old JSON without label_ratio counts as 1.0
    res = merged[0]
    assert list(res["methods"]) == ["baseline", "vanilla_kd", "liteheart"]
    assert res["sources"] == {"baseline": "a.json", "vanilla_kd": "a.json", "liteheart": "b.json"}
    assert list(res["files"]) == ["a.json", "b.json"] and res["conflicts"] == []
    # (0.85 - 0.80) / (0.90 - 0.80) = 0.5; F1: (0.65 - 0.60) / (0.80 - 0.60) = 0.25
    assert res["methods"]["vanilla_kd"]["gap_closed"]["macro_auc"] == pytest.approx(0.5)
    assert res["methods"]["vanilla_kd"]["gap_closed"]["macro_f1"] == pytest.approx(0.25)
    assert res["methods"]["liteheart"]["gap_closed"]["macro_auc"] == pytest.approx(0.6)
    assert res["methods"]["baseline"]["gap_closed"]["macro_auc"] == pytest.approx(0.0)
    assert "| liteheart | 0.8600 ± 0.0141 |" in markdown_table(res)  # the merged result reads as one run


def test_another_fingerprint_teacher_or_label_ratio_is_its_own_table():
    merged = merge_results(
        {
            "a.json": fake_result({"baseline": 0.80}),
            "fp.json": fake_result({"baseline": 0.70}, fingerprint="fp2"),
            "t.json": fake_result({"baseline": 0.80}, teacher_arch="cnn_transformer"),
            "r.json": fake_result({"baseline": 0.60}, label_ratio=0.1),
        }
    )
    assert [list(m["files"]) for m in merged] == [["a.json"], ["fp.json"], ["t.json"], ["r.json"]]
    assert setting(merged[3]) == ("synthetic", "fp1", "resnet1d/small", "cnn_transformer/tiny:I", 0.1)
    assert find_setting(merged) is merged[0]
    assert find_setting(merged, label_ratio=0.1) is merged[3]
    assert find_setting(merged, teacher="cnn_transformer/small") is merged[2]
    assert find_setting(merged, source="ptbxl") is None


def test_disagreeing_copies_are_listed_and_the_first_is_kept():
    merged = merge_results(
        {
            "a.json": fake_result({"baseline": 0.80, "liteheart": 0.85}),
            "b.json": fake_result({"baseline": 0.80, "liteheart": 0.70}, teacher=0.91),
        }
    )[0]
    assert merged["methods"]["liteheart"]["mean"]["macro_auc"] == pytest.approx(0.85)
    assert merged["conflicts"] == [
        "b.json: teacher macro AUC 0.9100 differs from 0.9000",
        "b.json: liteheart differs from a.json (kept a.json)",
    ]
    recipe = merge_results(
        {"a.json": fake_result({"baseline": 0.8}), "b.json": fake_result({"baseline": 0.8}, recipe={"other": {}})}
    )[0]
    assert recipe["conflicts"] == ["b.json: baseline differs from a.json (kept a.json)"]


def test_merge_refuses_an_old_schema():
    old = {**fake_result({"baseline": 0.8}), "schema": "ecgkd-bench-quality/0"}
    with pytest.raises(ConfigError, match=r"old\.json has schema 'ecgkd-bench-quality/0'"):
        merge_results({"old.json": old})


# ------------------------------------------------------------------------------------------ loading
SPECS = (
    BenchmarkFile("req.json", ("baseline", "vanilla_kd"), {"methods": ("vanilla_kd",)}, required=True),
    BenchmarkFile("opt.json", ("baseline", "liteheart"), {"methods": ("liteheart",), "label_ratio": 0.1}),
)


def _write(path, result):
    path.write_text(json.dumps(result))


def test_missing_files_are_named_with_their_command_and_not_rebuilt_by_default(tmp_path):
    _write(tmp_path / "req.json", fake_result({"baseline": 0.8, "vanilla_kd": 0.82}))
    notes = []
    loaded, missing = load_benchmarks(
        SPECS, tmp_path, log=notes.append, runner=lambda **kw: pytest.fail("must not rebuild without rerun")
    )
    assert list(loaded) == ["req.json"] and missing == [SPECS[1]]
    assert notes == [
        "[report] missing optional opt.json; make it with `ecgkd bench quality --profile quick "
        "--seeds 3 --methods liteheart --label-ratio 0.1 --json results/opt.json`"
    ]


def test_rerun_rebuilds_missing_or_stale_required_files_only(tmp_path):
    calls = []

    def runner(**kwargs):
        calls.append(kwargs)
        _write(kwargs["json_out"], fake_result({"baseline": 0.8, "vanilla_kd": 0.82}))

    loaded, missing = load_benchmarks(SPECS, tmp_path, rerun=True, runner=runner, log=lambda _: None)
    assert [c["json_out"].name for c in calls] == ["req.json"] and missing == [SPECS[1]]
    assert calls[0]["methods"] == ("vanilla_kd",) and calls[0]["seeds"] == 3 and calls[0]["profile"] == "quick"
    assert list(loaded) == ["req.json"]
    _write(tmp_path / "req.json", {**fake_result({"baseline": 0.8}), "schema": "old"})  # stale: rebuilt again
    load_benchmarks(SPECS, tmp_path, rerun=True, runner=runner, log=lambda _: None)
    assert len(calls) == 2


def test_old_schema_or_missing_methods_is_a_clear_error_naming_the_file(tmp_path):
    _write(tmp_path / "req.json", {**fake_result({"baseline": 0.8, "vanilla_kd": 0.8}), "schema": "ecgkd-bench/0"})
    with pytest.raises(ConfigError, match=r"req\.json has schema 'ecgkd-bench/0'.*rebuild"):
        load_benchmarks(SPECS, tmp_path, log=lambda _: None)
    _write(tmp_path / "req.json", fake_result({"baseline": 0.8}))
    with pytest.raises(ConfigError, match=r"req\.json lacks methods \['vanilla_kd'\]"):
        load_benchmarks(SPECS, tmp_path, log=lambda _: None)


def test_declared_commands(monkeypatch, tmp_path):
    monkeypatch.setenv("ECGKD_SHARED_DATA", str(tmp_path))
    by_name = {f.name: f for f in BENCHMARK_FILES}
    assert by_name["bench_quality_quick_labels5.json"].command == (
        "ecgkd bench quality --profile quick --seeds 2 --methods vanilla_kd,liteheart --label-ratio 0.05 "
        "--json results/bench_quality_quick_labels5.json"
    )
    ptbxl = by_name["bench_quality_ptbxl_liteheart.json"]
    assert ptbxl.run_kwargs()["root"] == tmp_path / "ptbxl-mini"
    assert f"--data ptbxl --root {tmp_path / 'ptbxl-mini'} --json" in ptbxl.command
    assert [f.name for f in BENCHMARK_FILES if f.required] == [
        "bench_quality_quick_baselines.json",
        "bench_quality_quick_liteheart.json",
        "bench_quality_quick_evl.json",
    ]
    assert by_name["bench_quality_quick_evl_same_arch.json"].command.endswith(
        "--teacher cnn_transformer/small --json results/bench_quality_quick_evl_same_arch.json"
    )


# ------------------------------------------------------------------------------------------ report
def test_headline_frame_and_report_files(tmp_path):
    res = merge_results({"a.json": fake_result({"baseline": 0.80, "vanilla_kd": 0.85})})[0]
    frame = headline_frame(res)
    assert list(frame["model"]) == ["teacher", "naive", "baseline", "vanilla_kd"]
    row = frame.set_index("model").loc["vanilla_kd"]
    assert row["macro_auc_mean"] == pytest.approx(0.85) and row["macro_auc_std"] == pytest.approx(0.0141421356)
    assert row["gap_closed_macro_auc"] == pytest.approx(0.5) and row["source"] == "a.json"
    assert np.isnan(frame.set_index("model").loc["baseline", "gap_closed_macro_auc"])
    assert missing_methods(res, ("baseline", "vanilla_kd", "liteheart", "dkd")) == ["liteheart", "dkd"]

    md, js = write_report(res, tmp_path, missing_files=["opt.json"], required=("baseline", "liteheart"))
    text = md.read_text()
    assert text.startswith(
        "# Benchmark: cnn_transformer/tiny student on lead I, teacher resnet1d/small, synthetic data, 100% labels"
    )
    assert "- `ecgkd bench quality` (commit 01234567, 2026-11-21): a.json" in text
    assert markdown_table(res) in text
    assert "Missing methods: liteheart." in text and "Missing result files: opt.json." in text
    saved = json.loads(js.read_text())
    assert saved["schema"] == "ecgkd-benchmark-report/1" and saved["missing_methods"] == ["liteheart"]
    assert saved["setting"]["teacher"] == "resnet1d/small" and saved["setting"]["label_ratio"] == 1.0
    assert [r["model"] for r in saved["rows"]] == ["teacher", "naive", "baseline", "vanilla_kd"]
    assert saved["rows"][3]["gap_closed_macro_auc"] == pytest.approx(0.5)
    assert saved["rows"][2]["gap_closed_macro_auc"] is None and saved["rows"][0]["source"] is None


def test_per_class_auc_means_over_seeds_and_keeps_missing_classes_missing():
    res = fake_result({"baseline": 0.80, "vanilla_kd": 0.85})
    per_class, macro = per_class_auc(res)
    assert list(per_class) == ["teacher", "baseline", "vanilla_kd"]
    assert per_class["vanilla_kd"] == {"A": pytest.approx(0.85), "B": pytest.approx(0.85), "C": None}
    assert per_class["teacher"]["C"] is None
    assert macro == {"teacher": 0.90, "baseline": pytest.approx(0.80), "vanilla_kd": pytest.approx(0.85)}
    assert list(per_class_auc(res, ["vanilla_kd"])[0]) == ["teacher", "vanilla_kd"]
    with pytest.raises(ConfigError, match=r"methods \['dkd'\] are not in the result"):
        per_class_auc(res, ["dkd"])


def test_label_sweep_rows_in_ratio_order_and_a_missing_method_is_named():
    merged = merge_results(
        {
            "full.json": fake_result({"baseline": 0.80, "liteheart": 0.82}),
            "r25.json": fake_result({"baseline": 0.70, "liteheart": 0.75}, label_ratio=0.25),
            "r5.json": fake_result({"baseline": 0.60, "liteheart": 0.70}, label_ratio=0.05),
            "other.json": fake_result({"baseline": 0.1, "liteheart": 0.1}, fingerprint="x", label_ratio=0.5),
        }
    )
    frame = label_sweep_frame(merged, find_setting(merged), methods=["baseline", "liteheart"])
    assert list(frame["label_ratio"]) == [0.05, 0.05, 0.25, 0.25, 1.0, 1.0]
    assert list(frame["n_labeled"]) == [5, 5, 25, 25, 100, 100]
    assert frame["macro_auc_mean"].round(6).tolist() == [0.6, 0.7, 0.7, 0.75, 0.8, 0.82]
    assert frame["macro_auc_std"].round(6).tolist() == [0.014142] * 6
    with pytest.raises(ConfigError, match=r"the 5%-label result \(r5\.json\) lacks methods \['vanilla_kd'\]"):
        label_sweep_frame(merged, find_setting(merged), methods=["baseline", "vanilla_kd"])


def test_external_frame():
    ext = {
        "teacher": {"macro_auc": 0.7},
        "methods": {
            "vanilla_kd": {"macro_auc_mean": 0.6, "macro_auc_std": 0.02},
            "baseline": {"macro_auc_mean": 0.55, "macro_auc_std": 0.01},
        },
    }
    frame = external_frame(ext)
    assert frame.to_dict("list") == {
        "model": ["teacher", "baseline", "vanilla_kd"],
        "macro_auc_mean": [0.7, 0.55, 0.6],
        "macro_auc_std": [0.0, 0.01, 0.02],
    }


# ------------------------------------------------------------------------------------------ efficiency
@pytest.fixture(scope="module")
def lineup():
    import torch

    torch.set_num_threads(1)
    return efficiency_lineup()


def test_efficiency_lineup_states_a_10_s_input_and_golden_costs(lineup):
    assert {n: s for n, (_, s) in lineup.items()} == {
        "teacher": (1, 12, 1000),
        "baseline/tiny": (1, 1, 1000),
        "baseline/small": (1, 1, 1000),
        "baseline/base": (1, 1, 1000),
        "restoration/tiny+student": (1, 1, 1000),
    }
    rows = efficiency_rows(lineup, {"teacher": 0.99, "baseline/tiny": 0.9}, warmup=0, repeats=2).set_index("name")
    # params and FLOPs of the registry models as measured by benchmarks/bench_models.py (T = 1000)
    assert rows["params"].to_dict() == {
        "teacher": 464975,
        "baseline/tiny": 265031,
        "baseline/small": 1006055,
        "baseline/base": 1595271,
        "restoration/tiny+student": 363820 + 266879,
    }
    assert rows["flops"].to_dict() == {
        "teacher": 98755328,
        "baseline/tiny": 39673472,
        "baseline/small": 137681696,
        "baseline/base": 226941440,
        "restoration/tiny+student": 203409472,
    }
    assert (rows["latency_ms"] > 0).all() and (rows["latency_p90_ms"] >= rows["latency_ms"]).all()
    assert rows.loc["teacher", "macro_auc"] == 0.99 and np.isnan(rows.loc["baseline/base", "macro_auc"])
    assert rows.loc["teacher", "input_shape"] == (1, 12, 1000)


def test_efficiency_errors(lineup):
    with pytest.raises(ConfigError, match=r"macro_auc names models \['student'\] that are not in the lineup"):
        efficiency_rows(lineup, {"student": 0.9})
    with pytest.raises(ConfigError, match="seconds \\* fs must give at least one sample; got 0.001 s at 100"):
        efficiency_lineup(seconds=0.001)


def test_declared_result_reads_or_rebuilds_with_the_declared_command(tmp_path):
    from ecgkd_lite.bench.report import RESULTS_DIR, declared_result

    bench = declared_result("bench_quality_quick_baselines.json")
    assert {"baseline", "vanilla_kd", "dkd"} <= set(bench["methods"])
    calls = []

    def runner(**kwargs):
        calls.append(kwargs)
        shutil.copy(RESULTS_DIR / "bench_quality_quick_labels5.json", kwargs["json_out"])

    out = declared_result("bench_quality_quick_labels5.json", folder=tmp_path, runner=runner)
    assert len(calls) == 1 and calls[0]["label_ratio"] == 0.05 and calls[0]["seeds"] == 2
    assert out["label_ratio"] == 0.05
    declared_result("bench_quality_quick_labels5.json", folder=tmp_path, runner=runner)  # present: not rebuilt
    assert len(calls) == 1
    with pytest.raises(ConfigError, match="'nope.json' is not a declared benchmark file"):
        declared_result("nope.json")


def test_made_by_names_command_commit_and_day():
    stamped = {
        "command": "ecgkd bench quality --seeds 3",
        "git_commit": "0123456789abcdef",
        "date": "2026-12-01T10:00:00",
    }
    assert made_by(stamped) == "made by: ecgkd bench quality --seeds 3 | commit 01234567 | 2026-12-01"
    assert made_by({**stamped, "git_commit": None}) == "made by: ecgkd bench quality --seeds 3 | commit ? | 2026-12-01"
