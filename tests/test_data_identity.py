"""Data identity comes from the recipe, never from float bytes (portable cache keys).

Float results of numpy, scipy and torch differ in their last bits between CPUs and library builds,
so a key that hashed the samples would differ between machines and no shipped run would be found.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecgkd_lite import experiment, versions
from ecgkd_lite.config import get_profile
from ecgkd_lite.data import StandardScaler, bandpass, load_synthetic, resample
from ecgkd_lite.data.cache import source_key
from ecgkd_lite.data.container import digest_problems
from ecgkd_lite.errors import DataError
from ecgkd_lite.train import TrainConfig, cached_fit
from ecgkd_lite.train.checkpoint import sidecar_path
from train_toys import tiny_net, toy_data

PROFILE = get_profile("quick").with_(n_records=120)


def _ulp(data):
    """The same records with every sample moved by one unit in the last place."""
    out = data.subset(slice(None))
    out.signals = np.nextafter(out.signals, np.float32(np.inf)).astype(np.float32)
    out.key = data.key
    return out


@pytest.fixture(scope="module")
def raw():
    return load_synthetic(120, fs=100, seconds=10, seed=3)


def test_synthetic_key_is_the_recipe(raw):
    again = load_synthetic(120, fs=100, seconds=10, seed=3, chunk_size=7)
    assert again.key == raw.key
    others = [
        load_synthetic(121, fs=100, seconds=10, seed=3),
        load_synthetic(120, fs=100, seconds=10, seed=4),
        load_synthetic(120, fs=125, seconds=10, seed=3),
        load_synthetic(120, fs=100, seconds=10, seed=3, noise=False),
    ]
    assert len({raw.key, *(o.key for o in others)}) == 5


def test_generator_version_is_part_of_the_key(raw, monkeypatch):
    monkeypatch.setitem(
        versions.COMPONENTS, "generator", (versions.version("generator") + 1, versions.COMPONENTS["generator"][1])
    )
    assert load_synthetic(120, fs=100, seconds=10, seed=3).key != raw.key


def test_one_ulp_does_not_change_any_derived_key(raw):
    """Perturb the signals by one ulp: every key downstream (band-pass, resampling, splits, scaler,
    lead selection) stays the same, while the data really differ."""
    noisy = _ulp(raw)
    assert not np.array_equal(noisy.signals, raw.signals)

    def chain(d):
        f = bandpass(d)
        train, val, test = f.splits()
        scaler = StandardScaler().fit(train)
        out = [
            f,
            train,
            val,
            test,
            scaler.transform(train),
            scaler.transform(test),
            resample(d, 50),
            scaler.transform(val).select_leads("I"),
            train.labeled_unlabeled_split(0.3, seed=1)[1],
        ]
        return [o.key for o in out]

    assert chain(noisy) == chain(raw)


def test_derived_keys_follow_every_parameter(raw):
    f = bandpass(raw)
    assert bandpass(raw, low=1.0).key != f.key
    assert bandpass(raw, order=4).key != f.key
    assert f.select_leads("I").key != f.select_leads("II").key
    a, b = f.split("train"), f.split("val")
    assert StandardScaler().fit(a).transform(b).key != StandardScaler().fit(b).transform(b).key
    assert f.subset([0, 1]).key != f.subset([1, 2]).key
    lab1, _ = f.labeled_unlabeled_split(0.5, seed=0)
    lab2, _ = f.labeled_unlabeled_split(0.5, seed=1)
    assert lab1.key != lab2.key


def test_prepared_data_key_is_recorded_and_portable(raw):
    prep = experiment.prepare(data=raw, profile=PROFILE)
    prep2 = experiment.prepare(data=_ulp(raw), profile=PROFILE)
    assert experiment.data_key(prep) == experiment.data_key(prep2)
    # the cheap consistency check sees only float noise
    problems, exact = digest_problems(prep.train.digest(), prep2.train.digest())
    assert problems == [] and not exact


def test_digest_catches_a_wrong_data_set(raw):
    d = raw.digest()
    other_labels = raw.subset(slice(None))
    other_labels.labels = other_labels.labels.copy()
    other_labels.labels[0] = 1 - other_labels.labels[0]
    problems, _ = digest_problems(d, other_labels.digest())
    assert problems and problems[0].startswith("label_counts")
    scaled = raw.subset(slice(None))
    scaled.signals = scaled.signals * 1.05
    problems, _ = digest_problems(d, scaled.digest())
    assert any("lead_rms" in p and "beyond float noise" in p for p in problems)
    assert digest_problems(d, raw.digest()) == ([], True)


def test_content_key_without_a_recipe():
    """Arrays built by hand have no recipe: their key hashes the content on a 1e-3 grid (the same
    arrays give the same key; a real change gives another). It is not bit-portable (a value on a
    rounding boundary can flip), which is why every reader and step sets a recipe key instead."""
    from ecgkd_lite.data import ECGData

    a = toy_data()
    rebuilt = ECGData(a.signals.copy(), a.labels, a.classes, a.fs, a.folds, a.record_ids, leads=a.leads, source="toy")
    assert rebuilt.key == a.key
    changed = ECGData(a.signals + 0.01, a.labels, a.classes, a.fs, a.folds, a.record_ids, leads=a.leads, source="toy")
    assert changed.key != a.key


def test_real_data_key_is_the_checksum_of_the_sources(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.dat").write_bytes(b"\x00\x01" * 10)
        (tmp_path / name / "db.csv").write_text("id,label\n1,NORM\n")
    key_a = source_key("ptbxl", tmp_path / "a", {"fs": 100}, [tmp_path / "a" / "x.dat", tmp_path / "a" / "db.csv"])
    key_b = source_key("ptbxl", tmp_path / "b", {"fs": 100}, [tmp_path / "b" / "x.dat", tmp_path / "b" / "db.csv"])
    assert key_a == key_b  # another folder, the same bytes: the same data set
    assert source_key("ptbxl", tmp_path / "a", {"fs": 500}, [tmp_path / "a" / "x.dat"]) != key_a
    (tmp_path / "b" / "x.dat").write_bytes(b"\x00\x02" * 10)
    assert (
        source_key("ptbxl", tmp_path / "b", {"fs": 100}, [tmp_path / "b" / "x.dat", tmp_path / "b" / "db.csv"]) != key_a
    )


def test_ptbxl_key_is_the_same_from_a_copy(ptbxl_root, tmp_path):
    import shutil

    from ecgkd_lite.data import load_ptbxl

    copy = tmp_path / "ptbxl"
    copy.mkdir()
    for name in ("ptbxl_database.csv", "scp_statements.csv"):
        shutil.copy2(ptbxl_root / name, copy / name)
    shutil.copytree(ptbxl_root / "records100", copy / "records100")
    a = load_ptbxl(ptbxl_root, fs=100, cache=False)
    b = load_ptbxl(copy, fs=100, cache=False)
    assert a.key == b.key and len(a) > 0


# ----------------------------------------------------------------------------- the model cache
FIT = TrainConfig(epochs=1, batch_size=16, crop_seconds=2.0, seed=0, progress=False)


def test_shipped_run_key_survives_float_noise_and_checks_the_digest(tmp_path):
    train, val = toy_data().split("train"), toy_data().split("val")
    first = cached_fit(tiny_net, train, val, tag="toy", cache_root=tmp_path, config=FIT)
    noisy_train, noisy_val = _ulp(train), _ulp(val)
    again = cached_fit(
        tiny_net, noisy_train, noisy_val, tag="toy", cache_root=tmp_path, config=FIT.replace(progress=True)
    )
    assert again.checkpoint == first.checkpoint  # found, not retrained
    # same key, other data: the digest refuses it
    sidecar = json.loads(sidecar_path(first.checkpoint).read_text())
    sidecar["data_digest"]["train"]["label_counts"][0] += 1
    sidecar_path(first.checkpoint).write_text(json.dumps(sidecar))
    with pytest.raises(DataError, match="without a version bump"):
        cached_fit(tiny_net, train, val, tag="toy", cache_root=tmp_path, config=FIT)


def test_cache_key_follows_the_code_versions(monkeypatch):
    from ecgkd_lite.train.cache import cache_key

    train, val = toy_data().split("train"), toy_data().split("val")
    key = cache_key(tiny_net(), train, val, tag="toy", config=FIT)
    for component in ("models", "engine"):
        with monkeypatch.context() as m:
            m.setitem(
                versions.COMPONENTS, component, (versions.version(component) + 1, versions.COMPONENTS[component][1])
            )
            assert cache_key(tiny_net(), train, val, tag="toy", config=FIT) != key


def test_recipe_key_carries_only_its_terms_versions(monkeypatch):
    from ecgkd_lite.distill import build_recipe

    kd, dkd = build_recipe("vanilla_kd").code_versions(), build_recipe("dkd").code_versions()
    assert "term:vanilla_kd" in kd and "term:dkd" not in kd and "term:dkd" in dkd
    assert build_recipe("baseline").code_versions() == {}
    monkeypatch.setitem(
        versions.COMPONENTS, "term:dkd", (versions.version("term:dkd") + 1, versions.COMPONENTS["term:dkd"][1])
    )
    assert build_recipe("vanilla_kd").code_versions() == kd
    assert build_recipe("dkd").code_versions() != dkd
    lite = build_recipe("liteheart").code_versions()
    assert {"term:region_aware", "term:cross_layer_mi", "term:semi_supervised"} <= set(lite)
