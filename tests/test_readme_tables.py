"""The README's result tables equal what their JSONs render (ecgkd_lite.bench.readme)."""

from __future__ import annotations

import pytest

from ecgkd_lite.bench import readme
from ecgkd_lite.errors import ConfigError


@pytest.mark.parametrize("path", readme.FILES, ids=lambda p: p.parent.name + "/" + p.name)
def test_every_readme_table_matches_its_json(path):
    text = path.read_text()
    assert len(readme.BLOCK.findall(text)) >= 1
    assert readme.stale(text) == [], "run python -m ecgkd_lite.bench.readme"


def test_a_drifted_number_is_caught_and_an_unknown_block_refused():
    text = readme.README.read_text()
    m = next(readme.BLOCK.finditer(text))
    body = m["body"]
    digit = next(i for i, ch in enumerate(body) if ch.isdigit())
    drifted = body[:digit] + str((int(body[digit]) + 1) % 10) + body[digit + 1 :]
    changed = text[: m.start("body")] + drifted + text[m.end("body") :]
    assert readme.stale(changed) == [m["name"]]
    assert readme.render(changed) == readme.render(text)
    with pytest.raises(ConfigError, match="README table block 'nope' has no renderer"):
        readme.render("<!-- table: nope -->\nx\n<!-- /table -->")


# ---- the prose readings: each must carry numbers read from its JSON, not typed ones ---------------------------


def _methods(*names: str) -> dict:
    return readme._merged(*names)["methods"]


def test_tune_liteheart_reading_names_the_chosen_weights():
    d = readme._json("tune_liteheart_quick.json")
    text = readme.TABLES["tune_liteheart_reading"]()
    assert f"region {d['chosen']['l_region']:g}, MI {d['chosen']['l_mi']:g}" in text
    assert f"{next(r for r in d['rows'] if r['point'] == d['chosen'])['val_macro_auc']:.4f}" in text


def test_liteheart_quick_reading_quotes_gap_closed_and_the_sd_count():
    m = _methods("bench_quality_quick_liteheart.json", "bench_quality_quick_baselines.json")
    text = readme.TABLES["liteheart_quick_reading"]()
    assert f"LiteHeart closes {readme._pct(m['liteheart']['gap_closed']['macro_auc'])} of the gap" in text
    assert readme._vs(m["cross_layer_mi-same_depth"], m["cross_layer_mi"]) in text
    assert readme._vs(m["region_aware"], m["region_aware-uniform"]) in text


def test_labels10_quick_reading_quotes_gap_closed_and_the_target():
    m = _methods("bench_quality_quick_labels10.json", "bench_quality_quick_labels10_classic.json")
    lh = m["liteheart"]
    text = readme.TABLES["labels10_quick_reading"]()
    assert f"closed {readme._pct(lh['gap_closed']['macro_auc'])} of the macro-AUC gap" in text
    assert f"{m['baseline']['mean']['macro_auc']:.3f} -> {lh['mean']['macro_auc']:.3f}" in text
    assert f"CRD {readme._pct(m['crd']['gap_closed']['macro_auc'])}" in text
    auc_met = lh["gap_closed"]["macro_auc"] >= readme.LITEHEART_TARGET["gap_closed"]
    assert f"AUC-gap part is **{'met' if auc_met else 'not met'}**" in text


def test_ptbxl_liteheart_reading_quotes_the_teacher_and_the_paired_verdicts():
    r = readme.load_result(readme.RESULTS / "bench_quality_ptbxl_liteheart.json")
    text = readme.TABLES["ptbxl_liteheart_reading"]()
    assert f"teacher {r['teacher']['macro_auc']:.3f}" in text
    assert f"same {r['data']['n_test']} test records" in text
    for method, entry in r["methods"].items():
        if entry.get("verdict") in ("better", "worse"):
            assert readme._name(method) in text and f"{entry['verdict']} than the baseline" in text


def test_evl_tune_reading_names_the_chosen_weights():
    c = readme._json("tune_evl_ecg_quick.json")["chosen"]
    text = readme.TABLES["evl_tune_reading"]()
    assert f"a = {c['alpha']:g}, l_m = {c['l_m']:g}, l_r = {c['l_r']:g}, l_ot = {c['l_ot']:g}" in text


def test_evl_quick_reading_quotes_the_difference_to_vanilla_kd():
    m = readme.load_result(readme.RESULTS / "bench_quality_quick_evl.json")["methods"]
    text = readme.TABLES["evl_quick_reading"]()
    assert readme._vs(m["evl_ecg"], m["vanilla_kd"]) in text
    assert readme._vs(m["evl_ecg"], m["vanilla_kd"], "macro_f1") in text


def test_evl_teachers_reading_quotes_each_teachers_difference():
    text = readme.TABLES["evl_teachers_reading"]()
    for name, _, _ in readme.EVL_TEACHERS:
        m = readme.load_result(readme.RESULTS / name)["methods"]
        assert f"{readme._vs(m['evl_ecg'], m['vanilla_kd'])} with {readme.EVL_TEACHER_NAMES[name]}" in text


def test_sd_count_is_computed_not_typed():
    a = {"mean": {"macro_auc": 0.9}, "std": {"macro_auc": 0.01}}
    b = {"mean": {"macro_auc": 0.86}, "std": {"macro_auc": 0.01}}
    assert readme._vs(a, b) == "+0.040 (4.0 SD)"
    assert not readme._level(a, b) and readme._level(a, a)


def test_targets_evl_ot_quotes_the_ot_cost_and_the_evl_differences():
    text = readme.TABLES["targets_evl_ot"]()
    d = readme._json("bench_ot_cost.json")
    assert f"{readme._pct(d['ratio'] - 1)} with the {d['teacher_tokens']}-token teacher" in text
    m = readme.load_result(readme.RESULTS / "bench_quality_quick_evl_patch_teacher.json")["methods"]
    assert readme._vs(m["evl_ecg"], m["vanilla_kd"]) in text


def test_converged_v2_reading_quotes_the_teacher_on_noisy_and_clean_labels():
    v2 = readme._json("bench_quality_converged_v2.json")
    text = readme.TABLES["converged_v2_reading"]()
    nf = v2["noise_free"]
    assert f"{v2['methods']['teacher']['macro_auc_mean']:.3f} against the noisy labels" in text
    assert f"{nf['methods']['teacher']['macro_auc_mean']:.3f} against the noise-free ones" in text
    assert f"changed {nf['labels_changed_by_noise']:.1%}" in text
    for m, r in nf["methods"].items():
        if "paired_delta_macro_auc" in r:
            assert f"{m} {readme._ci(r['paired_delta_macro_auc'])}" in text


def test_lead_gap_reading_quotes_the_hidden_conditions_of_both_models():
    bench = readme._json("bench_quality_converged.json")
    feats = readme._json("lead_gap_synthetic.json")
    text = readme.TABLES["lead_gap_reading"]()
    base, teacher = bench["methods"]["baseline"]["per_class_auc"], bench["methods"]["teacher"]["per_class_auc"]
    for c in bench["by_visibility"]["groups"]["not seen"]:
        assert f"{c} {teacher[c]:.3f} -> {base[c]:.3f}" in text
        assert f"{c} {feats['12-lead'][c]:.3f} -> {feats['lead I'][c]:.3f}" in text
    assert readme._ci(bench["by_visibility"]["teacher_minus_baseline"]["not seen"]) in text


def test_ptbxl2k_reading_quotes_the_largest_share_closed_and_the_ablations():
    bench = readme._json("bench_quality_ptbxl2k.json")
    text = readme.TABLES["ptbxl2k_reading"]()
    vis = bench["by_visibility"]["methods"]
    closed = {
        m: v["not seen"]["paired_gap_closed_macro_auc"]["estimate"]
        for m, v in vis.items()
        if not m.startswith("features") and "paired_gap_closed_macro_auc" in v["not seen"]
    }
    top = max(closed, key=closed.get)
    assert f"close at most {closed[top]:.0%} of that lead ({top}" in text
    semi = bench["methods"]["liteheart-no_semi"]["paired_delta_vs_full_macro_auc"]
    assert readme._ci(semi) in text


def test_real_gap_reading_quotes_each_seed_and_the_hidden_classes():
    d = readme._json("real_gap_ptbxl2k.json")
    text = readme.TABLES["real_gap_reading"]()
    for s in d["per_seed"].values():
        assert f"{s['gap']:.3f}" in text
    for c in d["cv"]["per_class"]:
        assert (c["class"] in text.split("cannot see (")[1].split(":")[0]) == (c["seen_by_lead_I"] == "not seen")


def test_ludb_reading_quotes_the_drop_of_both_models():
    d = readme._json("ludb_external.json")["external_validation"]["macro"]
    text = readme.TABLES["ludb_reading"]()
    assert f"falls by {d['teacher_ptbxl_test_shared'] - d['teacher_ludb']:.2f}" in text
    assert f"student's by {d['student_ptbxl_test_shared'] - d['student_ludb']:.2f}" in text


def test_reviewer_path_quotes_each_claims_paired_interval():
    text = readme.TABLES["reviewer_path"]()
    conv = readme._json("bench_quality_converged.json")
    sb = readme._json("bench_quality_ptbxl2k_labels10_scenario_b.json")
    for ablation in (
        "liteheart-no_region",
        "liteheart-no_mi",
        "evl_ecg-no_mhca",
        "evl_ecg-no_ot",
        "evl_ecg-no_relation",
    ):
        assert readme._ci(conv["methods"][ablation]["paired_delta_vs_full_macro_auc"]) in text
    lh = sb["methods"]["liteheart"]
    assert f"scenario b {readme._ci(lh['paired_delta_macro_auc'])}, {lh['verdict']}" in text
    g = conv["methods"]["liteheart"]["paired_gap_closed_macro_auc"]
    assert f"converged synthetic v1 {g['estimate']:.0%} [{g['ci95'][0]:.0%}, {g['ci95'][1]:.0%}]" in text
    assert text.count("\n") == 15  # header, rule and one row per claim (14)


def test_check_mode_names_the_stale_file(tmp_path, capsys):
    stale_copy = tmp_path / "README.md"
    text = readme.NOTEBOOKS_README.read_text()
    stale_copy.write_text(text.replace("| paper claim |", "| paper claim (edited) |"))
    assert readme.main(["--check", "--readme", str(stale_copy)]) == 1
    assert f"stale tables in {stale_copy}: ['reviewer_path']" in capsys.readouterr().out
    assert readme.main(["--check", "--readme", str(readme.NOTEBOOKS_README)]) == 0


@pytest.mark.parametrize("scenario", ["a", "b"])
def test_scenario_reading_quotes_liteheart_share_and_the_references(scenario):
    name = f"bench_quality_ptbxl2k_labels10_scenario_{scenario}.json"
    rows = readme._json(name)["methods"]
    text = readme._scenario_reading(name)
    g = rows["liteheart"]["paired_gap_closed_macro_auc"]
    assert f"LiteHeart closes {g['estimate']:.0%} of the teacher's lead" in text
    assert (
        f"The mean teacher (the same unlabeled pool, no 12-lead teacher) is {rows['mean_teacher']['verdict']}" in text
    )
    assert readme._ci(rows["baseline-full_labels"]["paired_delta_macro_auc"]) in text
    assert readme._ci(rows["features-lead_I"]["paired_delta_macro_auc"]) in text


def test_edge_data_names_the_generator_and_reads_an_unlabelled_file_as_v1():
    assert readme._edge_data({"data": {"source": "synthetic_v2", "profile": "quick"}}) == "generator v2"
    assert readme._edge_data({"data": {"source": "synthetic"}}) == "generator v1"
    assert readme._edge_data({}) == "generator v1"  # bench_edge.json before --generator: v1 was the only one
    stored = readme._json("bench_edge.json")
    assert f"test windows of {readme._edge_data(stored)}." in readme._edge()
