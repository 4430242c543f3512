"""ptbxl-2k reader on the real release (../shared/data/ptbxl-2k) and on broken copies of a cut-down
release; and the millivolt checks that must refuse its z-scored signals (those run without data)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from conftest import _shared
from ecgkd_lite.config import REPO_ROOT
from ecgkd_lite.data import ECGData, load_ptbxl_2k
from ecgkd_lite.data import ptbxl2k as ptbxl2k_module
from ecgkd_lite.data.challenge import amplitude_check
from ecgkd_lite.data.download import ChecksumError
from ecgkd_lite.errors import (
    BadSignalError,
    ConfigError,
    DataError,
    LeadMismatchError,
    MissingFileError,
    RecordError,
    SamplingRateError,
    TruncatedSignalError,
    UnknownLabelError,
)
from ecgkd_lite.plots import plot_12lead, plot_strip
from ecgkd_lite.plots.analysis import plot_saliency_strip
from ecgkd_lite.utils import sha256_file

#: the 14 records without a scored label (the release's README)
UNLABELED = [
    "1456",
    "2602",
    "3267",
    "5018",
    "5879",
    "6353",
    "7046",
    "10935",
    "12737",
    "13238",
    "14286",
    "16935",
    "18321",
    "18945",
]


@pytest.fixture(scope="module")
def root() -> Path:
    return _shared("ptbxl-2k")  # skips, saying where it looked, when the folder is absent


@pytest.fixture(scope="module")
def full(root):
    return load_ptbxl_2k(root, cache=False)


@pytest.fixture(scope="module")
def unlabeled(root):
    return load_ptbxl_2k(root, unlabeled="only", cache=False)


@pytest.fixture(scope="module")
def release(root):
    with np.load(root / "ptbxl_2k.npz") as z:
        return {k: z[k] for k in z.files}


# a cut-down release: 7 labeled records (3 train, 2 val, 2 test) and 2 unlabeled ones (train, val)
MINI_IDS = [24, 43, 55, 134, 195, 9, 180, 3267, 14286]


def _write_release(dest: Path, root: Path, arrays: dict, labels: pd.DataFrame) -> Path:
    dest.mkdir(exist_ok=True)
    np.savez(dest / "ptbxl_2k.npz", **arrays)
    labels.to_csv(dest / "labels.csv", index=False)
    shutil.copy(root / "classes.csv", dest / "classes.csv")
    _write_sums(dest)
    return dest


def _write_sums(dest: Path) -> None:
    names = ("ptbxl_2k.npz", "labels.csv", "classes.csv")
    (dest / "SHA256SUMS.txt").write_text("".join(f"{sha256_file(dest / n)}  {n}\n" for n in names))


@pytest.fixture
def mini(root, release, tmp_path):
    """``(folder, arrays, labels)`` of a cut-down release in ``tmp_path`` (with its own checksums)."""
    pick = np.flatnonzero(np.isin(release["ecg_id"], MINI_IDS))
    arrays = {k: (v[pick] if v.ndim and v.shape[0] == len(release["ecg_id"]) else v) for k, v in release.items()}
    labels = pd.read_csv(root / "labels.csv", dtype={"codes": str}, keep_default_na=False)
    labels = labels[labels["ecg_id"].isin(MINI_IDS)]
    return _write_release(tmp_path / "mini", root, arrays, labels), arrays, labels


# ------------------------------------------------------------------------------------ real release
def test_labeled_records_classes_and_dropped_rare_classes(full):
    assert full.signals.shape == (1805, 12, 2500) and full.signals.dtype == np.float32
    assert full.fs == 250.0 and full.unit == "z" and full.source == "ptbxl_2k"
    assert full.classes == (
        "AF",
        "CLBBB",
        "CRBBB",
        "IAVB",
        "IRBBB",
        "LAD",
        "LAnFB",
        "LPR",
        "LQRSV",
        "NSIVCB",
        "NSR",
        "PAC",
        "QAb",
        "RAD",
        "SA",
        "SB",
        "STach",
        "TAb",
        "TInv",
    )
    drop = next(s for s in full.preprocessing if s["step"] == "drop_rare_classes")
    assert drop["min_positives"] == 10 and drop["dropped"] == {"AFL": 2, "LQT": 9}
    # record 10160 is positive for dropped classes only: kept, negative for every kept class
    assert drop["records_without_kept_positive"] == ["10160"]
    assert full.labels[list(full.record_ids).index("10160")].sum() == 0
    assert full.snomed[full.classes.index("CLBBB")] == "733534002|164909002"
    assert full.snomed[full.classes.index("NSR")] == "426783006"


def test_positives_per_split_match_the_release_readme(full):
    s = full.summary()
    assert [int((full.folds == f).sum()) for f in (1, 9, 10)] == [1434, 181, 190]
    # AF 122/98/8/16, NSR 1566/1244/162/160, LAD 401/324/31/46, TInv 27/20/4/3 (README, all/train/val/test)
    assert s.loc["AF"].tolist() == [98, 8, 16] and s.loc["NSR"].tolist() == [1244, 162, 160]
    assert s.loc["LAD"].tolist() == [324, 31, 46] and s.loc["TInv"].tolist() == [20, 4, 3]
    assert s.min().min() >= 1  # every kept class has a positive in every split


def test_signals_are_the_scaled_int16_in_standard_lead_order(full, release):
    i, j = 0, int(np.flatnonzero(release["ecg_id"] == int(full.record_ids[100]))[0])
    assert full.record_ids[i] == str(release["ecg_id"][0]) == "9"
    np.testing.assert_array_equal(full.signals[100], release["signals"][j].astype(np.float32) * np.float32(0.001))
    assert list(release["leads"]) == list(full.leads)
    std = full.signals[:50].std(axis=2)
    assert np.allclose(std, 1.0, atol=0.01) and np.abs(full.signals[:50].mean(axis=2)).max() < 0.01


def test_record_ids_folds_and_meta(full, release):
    ids = full.record_ids.astype(int)
    assert (np.diff(ids) > 0).all()  # ecg_id ascending, as in the npz
    split = dict(zip(release["ecg_id"].tolist(), release["source_split"].tolist()))
    assert [{1: "train", 9: "val", 10: "test"}[f] for f in full.folds] == [split[i] for i in ids]
    assert full.meta["source_split"].tolist() == [split[i] for i in ids]
    assert full.meta["ecg_id"].tolist() == ids.tolist()


def test_no_unlabeled_record_enters_a_labeled_split(full, unlabeled):
    assert sorted(unlabeled.record_ids, key=int) == UNLABELED
    assert unlabeled.classes == () and unlabeled.labels.shape == (14, 0) and unlabeled.snomed == ()
    labeled_ids = set(full.record_ids)
    assert not labeled_ids & set(unlabeled.record_ids)
    for name in ("train", "val", "test"):
        assert not set(full.split(name).record_ids) & set(UNLABELED)
    lab, pool = full.labeled_unlabeled_split(0.5, seed=0)  # the semi-supervised pool is drawn from labeled records
    assert not (set(lab.record_ids) | set(pool.record_ids)) & set(UNLABELED)
    assert len(labeled_ids) + len(unlabeled) == 1819
    step = next(s for s in full.preprocessing if s["step"] == "exclude_unlabeled")
    assert step["dropped"] == 14 and sorted(step["records"], key=int) == UNLABELED


def test_unlabeled_records_keep_their_source_split(unlabeled, release):
    split = dict(zip(release["ecg_id"].astype(str).tolist(), release["source_split"].tolist()))
    assert [{1: "train", 9: "val", 10: "test"}[f] for f in unlabeled.folds] == [split[r] for r in unlabeled.record_ids]
    assert len(unlabeled.split("train")) == 8  # the pool a semi-supervised method may use


def test_min_positives_decides_the_classes(root, full):
    many = load_ptbxl_2k(root, min_positives=100, cache=False)
    assert many.classes == ("AF", "IRBBB", "LAD", "LAnFB", "NSR", "TAb")
    np.testing.assert_array_equal(many.labels, full.labels[:, [full.classes.index(c) for c in many.classes]])
    np.testing.assert_array_equal(many.record_ids, full.record_ids)


def test_verify_accepts_the_real_release(root):
    assert len(load_ptbxl_2k(root, unlabeled="only", verify=True, cache=False)) == 14


def test_unit_z_is_refused_by_the_amplitude_check(full):
    with pytest.raises(DataError, match="amplitude plausibility check.* needs signals in mV"):
        amplitude_check(full)


# ------------------------------------------------------------------------------------ cut-down copies
def test_mini_release_reads_and_caches(mini, monkeypatch):
    folder, _, _ = mini
    first = load_ptbxl_2k(folder, min_positives=1)
    assert first.record_ids.tolist() == ["9", "24", "43", "55", "134", "180", "195"]
    assert first.folds.tolist() == [10, 1, 1, 1, 9, 10, 9]
    monkeypatch.setattr(ptbxl2k_module, "read_npz", lambda *a: (_ for _ in ()).throw(AssertionError("parsed")))
    second = load_ptbxl_2k(folder, min_positives=1)
    np.testing.assert_array_equal(first.signals, second.signals)
    assert second.classes == first.classes and second.key == first.key and second.unit == "z"
    with pytest.raises(AssertionError, match="parsed"):
        load_ptbxl_2k(folder, min_positives=1, cache=False)


def test_min_positives_on_the_mini_release(mini):
    folder, _, labels = mini
    data = load_ptbxl_2k(folder, min_positives=1, cache=False)
    labeled = labels[labels["labeled"] == 1]
    assert list(data.classes) == [c for c in labeled.columns[2:-1] if labeled[c].sum() >= 1]
    assert load_ptbxl_2k(folder, min_positives=2, cache=False).classes == ("NSR",)
    with pytest.raises(DataError, match="no class has min_positives=10 positives among the 7 labeled records"):
        load_ptbxl_2k(folder, cache=False)


def test_keys_are_stable_and_follow_the_parameters(mini):
    folder, _, _ = mini
    a = load_ptbxl_2k(folder, min_positives=1, cache=False)
    assert load_ptbxl_2k(folder, min_positives=1).key == a.key  # cached or not, same identity
    assert load_ptbxl_2k(folder, min_positives=2, cache=False).key != a.key
    assert load_ptbxl_2k(folder, unlabeled="only", cache=False).key != a.key


def test_leads_are_reordered_by_their_names(mini, root, tmp_path):
    folder, arrays, labels = mini
    perm = np.array([6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5])
    shuffled = dict(arrays, signals=arrays["signals"][:, perm], leads=arrays["leads"][perm])
    other = _write_release(tmp_path / "shuffled", root, shuffled, labels)
    np.testing.assert_array_equal(
        load_ptbxl_2k(other, min_positives=1, cache=False).signals,
        load_ptbxl_2k(folder, min_positives=1, cache=False).signals,
    )


def test_checksum_mismatch(mini):
    folder, _, _ = mini
    assert len(load_ptbxl_2k(folder, min_positives=1, verify=True, cache=False)) == 7
    labels = folder / "labels.csv"
    labels.write_text(labels.read_text().replace("426783006", "426783006 ", 1))  # same content, other bytes
    with pytest.raises(ChecksumError, match="labels.csv"):
        load_ptbxl_2k(folder, verify=True, cache=False)


def test_truncated_npz(mini):
    folder, _, _ = mini
    npz = folder / "ptbxl_2k.npz"
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    with pytest.raises(RecordError, match="cannot be read as an npz"):
        load_ptbxl_2k(folder, cache=False)


def test_missing_files_and_folder(mini, tmp_path):
    folder, _, _ = mini
    with pytest.raises(MissingFileError, match="root folder does not exist"):
        load_ptbxl_2k(tmp_path / "nowhere")
    (folder / "classes.csv").unlink()
    with pytest.raises(MissingFileError, match="classes.csv"):
        load_ptbxl_2k(folder, cache=False)


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda a: a.pop("scale"), RecordError, r"lacks the array\(s\) \['scale'\]"),
        (lambda a: a.update(signals=a["signals"][:, :11], leads=a["leads"][:11]), LeadMismatchError, "11 leads"),
        (
            lambda a: a.update(
                leads=np.array(["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "X"])
            ),
            LeadMismatchError,
            "12 standard leads",
        ),
        (lambda a: a.update(signals=a["signals"][:, :, :2000]), TruncatedSignalError, "2000 samples"),
        (lambda a: a.update(signals=a["signals"][0]), RecordError, "shape"),
        (lambda a: a.update(signals=a["signals"].astype(np.float32)), RecordError, "integers"),
        (lambda a: a.update(fs=np.array(500)), SamplingRateError, "500 Hz"),
        (lambda a: a.update(ecg_id=a["ecg_id"][:-1]), RecordError, "one per record"),
        (
            lambda a: a.update(source_split=np.where(a["source_split"] == "val", "dev", a["source_split"])),
            RecordError,
            r"\['dev'\]",
        ),
    ],
)
def test_malformed_npz(mini, root, tmp_path, change, error, match):
    _, arrays, labels = mini
    arrays = dict(arrays)
    change(arrays)
    with pytest.raises(error, match=match):
        load_ptbxl_2k(_write_release(tmp_path / "bad", root, arrays, labels), cache=False)


def test_flat_lead_is_a_bad_signal(mini, root, tmp_path):
    _, arrays, labels = mini
    signals = arrays["signals"].copy()
    signals[2, 5] = 0  # record 43 (third by ecg_id), aVF flat
    folder = _write_release(tmp_path / "flat", root, dict(arrays, signals=signals), labels)
    with pytest.raises(BadSignalError, match="43: lead aVF is flat"):
        load_ptbxl_2k(folder, min_positives=1, cache=False)
    kept = load_ptbxl_2k(folder, min_positives=1, cache=False, on_bad="drop")
    assert "43" not in kept.record_ids and len(kept) == 6


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda t: t.rename(columns={"TAb": "XYZ"}), UnknownLabelError, r"\['XYZ'\] are not in classes.csv"),
        (lambda t: t.assign(codes=t["codes"].str.replace("426783006", "999999999")), UnknownLabelError, "999999999"),
        (lambda t: t.assign(NSR=0), RecordError, "the codes name"),
        (lambda t: t.assign(labeled=1), RecordError, "labeled=1 but 0 class"),
        (lambda t: t.assign(AF=2), RecordError, "0 or 1 only"),
        (lambda t: t.iloc[1:], RecordError, "without a label row"),
        (lambda t: t.drop(columns="codes"), RecordError, r"lacks the column\(s\) \['codes'\]"),
    ],
)
def test_bad_labels(mini, root, tmp_path, change, error, match):
    _, arrays, labels = mini
    with pytest.raises(error, match=match):
        load_ptbxl_2k(_write_release(tmp_path / "bad", root, arrays, change(labels.copy())), cache=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"unlabeled": "include"}, "never mixed"),
        ({"min_positives": 0}, ">= 1"),
        ({"min_positives": 2.5}, "integer"),
        ({"on_bad": "skip"}, "on_bad"),
    ],
)
def test_bad_parameters(mini, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        load_ptbxl_2k(mini[0], **kwargs)


# ------------------------------------------------------------------------------------ code that needs mV
def _z_data(unit="z") -> ECGData:
    rng = np.random.default_rng(0)
    return ECGData(
        signals=rng.standard_normal((3, 12, 1000)),
        labels=np.eye(3)[:, :2].astype(np.float32),
        classes=("NORM", "AF"),
        fs=100.0,
        folds=[1, 9, 10],
        record_ids=["a", "b", "c"],
        unit=unit,
    )


def test_amplitude_check_refuses_z_and_accepts_mv():
    with pytest.raises(DataError, match=r"needs signals in mV.*'z'.*not recoverable"):
        amplitude_check(_z_data())
    data = _z_data("mV")
    data.signals[1] *= 100  # about 800 mV peak-to-peak: implausible
    assert list(amplitude_check(data)) == ["b"]


def test_realism_benchmark_refuses_z():
    spec = importlib.util.spec_from_file_location(
        "realism_synthetic", REPO_ROOT / "benchmarks" / "realism_synthetic.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    with pytest.raises(DataError, match="realism benchmark"):
        bench.norm_records(_z_data())
    assert len(bench.norm_records(_z_data("mV"))) == 1


def test_clinical_grid_is_labelled_in_z_units_without_calibration_pulse():
    sig = _z_data().signals[0]
    mv = plot_12lead(sig, 100)
    z = plot_12lead(sig, 100, unit="z")
    assert "25 mm/s, 10 mm/mV" in [t.get_text() for t in mv.axes[0].texts]
    texts = [t.get_text() for t in z.axes[0].texts]
    assert "25 mm/s, 4 mm per z-unit (z-scored: no mV scale)" in texts and "25 mm/s, 10 mm/mV" not in texts
    assert len(mv.axes[0].get_lines()) == 12 + 1 + 4 and len(z.axes[0].get_lines()) == 12 + 1  # no 1 mV pulses
    with pytest.raises(ConfigError, match="unit must be one of"):
        plot_12lead(sig, 100, unit="uV")


def test_strips_are_labelled_in_the_data_unit():
    data = _z_data()
    assert plot_strip(data.signals[0, 0], data.fs, unit=data.unit).axes[0].get_ylabel() == "lead I (z)"
    assert plot_strip(data.signals[0, 0], data.fs).axes[0].get_ylabel() == "lead I (mV)"
    fig = plot_saliency_strip(data.signals[0, 0], data.fs, {"m": np.linspace(0, 1, 1000)}, unit="z")
    assert fig.axes[0].get_ylabel() == "lead I (z)"
    with pytest.raises(ConfigError, match="unit must be one of"):
        plot_strip(data.signals[0, 0], data.fs, unit="volts")
