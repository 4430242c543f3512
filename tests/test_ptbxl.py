"""PTB-XL reader on the real ptbxl-mini sample (records 1-400) and on broken copies of it."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from cache_checks import load_twice_without_parsing
from ecgkd_lite.data import load_ptbxl
from ecgkd_lite.data import ptbxl as ptbxl_module
from ecgkd_lite.data.download import ChecksumError
from ecgkd_lite.errors import (BadSignalError, ConfigError, HeaderParseError, LeadMismatchError, MissingFileError,
                               RecordError, SamplingRateError, TruncatedSignalError, UnknownLabelError)
from ecgkd_lite.utils import sha256_file


@pytest.fixture(scope="module")
def mini100(ptbxl_root):
    return load_ptbxl(ptbxl_root, fs=100, cache=False)


def _copy(ptbxl_root, tmp_path, ids=(1, 2, 3)):
    """A PTB-XL root holding records ``ids`` (100 Hz files only) and the checksum list (with the
    cut-down database csv's new digest)."""
    root = tmp_path / "ptbxl"
    (root / "records100" / "00000").mkdir(parents=True)
    db = pd.read_csv(ptbxl_root / "ptbxl_database.csv")
    db[db["ecg_id"].isin(ids)].to_csv(root / "ptbxl_database.csv", index=False)
    shutil.copy(ptbxl_root / "scp_statements.csv", root / "scp_statements.csv")
    new = f"{sha256_file(root / 'ptbxl_database.csv')}  ptbxl_database.csv"
    lines = [new if ln.endswith("  ptbxl_database.csv") else ln
             for ln in (ptbxl_root / "SHA256SUMS.txt").read_text().splitlines()]
    (root / "SHA256SUMS.txt").write_text("\n".join(lines) + "\n")
    for i in ids:
        for ext in (".hea", ".dat"):
            rel = f"records100/00000/{i:05d}_lr{ext}"
            shutil.copy(ptbxl_root / rel, root / rel)
    return root


def _hea(root, i=2):
    return root / f"records100/00000/{i:05d}_lr.hea"


# ------------------------------------------------------------------------------------ real sample
def test_shapes_classes_and_unlabeled_count(mini100):
    assert mini100.signals.shape == (390, 12, 1000) and mini100.signals.dtype == np.float32
    assert mini100.fs == 100.0 and mini100.classes == ("NORM", "MI", "STTC", "CD", "HYP")
    assert mini100.labels.sum(0).tolist() == [243, 53, 74, 58, 32]
    assert mini100.snomed is None and mini100.source == "ptbxl"
    drop = [s for s in mini100.preprocessing if s["step"] == "drop_unlabeled"][0]
    assert drop["dropped"] == 10 and len(drop["records"]) == 10
    assert not set(drop["records"]) & set(mini100.record_ids)


def test_golden_labels_folds_and_meta(mini100, ptbxl_root):
    assert mini100.record_ids[:3].tolist() == ["1", "2", "3"]
    np.testing.assert_array_equal(mini100.labels[0], [1, 0, 0, 0, 0])  # ecg_id 1: NORM
    db = pd.read_csv(ptbxl_root / "ptbxl_database.csv", index_col="ecg_id")
    np.testing.assert_array_equal(mini100.folds, db.loc[mini100.record_ids.astype(int), "strat_fold"])
    assert mini100.folds[:10].tolist() == [3, 2, 5, 3, 4, 4, 7, 9, 10, 9]
    assert list(mini100.meta.columns) == ["patient_id", "age", "sex", "filename_lr", "filename_hr"]
    assert mini100.meta.iloc[0][["patient_id", "age", "sex"]].tolist() == [15709.0, 56.0, 1]


def test_signal_golden_values_and_wfdb_agreement(mini100, ptbxl_root):
    wfdb = pytest.importorskip("wfdb")
    np.testing.assert_allclose(mini100.signals[0, 0, :6], [-0.119, -0.116, -0.120, -0.117, -0.103, -0.097], atol=1e-6)
    sig, fields = wfdb.rdsamp(str(ptbxl_root / "records100/00000/00001_lr"))
    assert fields["sig_name"][3] == "AVR"
    np.testing.assert_allclose(mini100.signals[0], sig.T, atol=1e-6)


def test_500hz(ptbxl_root):
    data = load_ptbxl(ptbxl_root, fs=500, cache=False)
    assert data.signals.shape == (390, 12, 5000) and data.fs == 500.0
    np.testing.assert_allclose(data.signals[0, 0, :3], [-0.115, -0.115, -0.115], atol=1e-6)


@pytest.mark.parametrize("task,n,n_classes,first", [
    ("subdiagnostic", 390, 21, ("AMI", "CLBBB")), ("diagnostic", 390, 32, ("1AVB", "ALMI")),
    ("form", 98, 17, ("ABQRS", "DIG")), ("rhythm", 382, 8, ("AFIB", "AFLT")), ("all", 400, 53, ("1AVB", "ABQRS"))])
def test_every_task_loads(ptbxl_root, task, n, n_classes, first):
    data = load_ptbxl(ptbxl_root, task=task, cache=False)
    assert (len(data), data.n_classes, data.classes[:2]) == (n, n_classes, first)
    assert list(data.classes) == sorted(data.classes) and data.labels.sum(1).min() >= 1


def test_keep_unlabeled(ptbxl_root):
    data = load_ptbxl(ptbxl_root, cache=False, drop_unlabeled=False)
    assert len(data) == 400 and int((data.labels.sum(1) == 0).sum()) == 10


def test_verify_passes_on_real_files_and_fails_on_corrupted_copy(ptbxl_root, tmp_path):
    assert len(load_ptbxl(ptbxl_root, verify=True, cache=False)) == 390
    root = _copy(ptbxl_root, tmp_path)
    assert len(load_ptbxl(root, verify=True, cache=False)) == 3
    dat = root / "records100/00000/00002_lr.dat"
    raw = bytearray(dat.read_bytes())
    raw[100] ^= 0xFF
    dat.write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match="^records100/00000/00002_lr.dat: sha256 is"):
        load_ptbxl(root, verify=True, cache=False)
    sums = root / "SHA256SUMS.txt"
    sums.write_text("".join(ln for ln in sums.read_text().splitlines(True) if "00002_lr.dat" not in ln))
    with pytest.raises(RecordError, match="^records100/00000/00002_lr.dat: is not listed"):
        load_ptbxl(root, verify=True, cache=False)


# ------------------------------------------------------------------------------------ cache
def test_second_load_reads_cache_without_parsing(ptbxl_root, tmp_path, monkeypatch):
    root = _copy(ptbxl_root, tmp_path)
    _, second = load_twice_without_parsing(load_ptbxl, ptbxl_module, root, monkeypatch)
    assert second.record_ids.tolist() == ["1", "2", "3"]
    with pytest.raises(AssertionError, match="parsed although cached"):
        load_ptbxl(root, task="all")  # other parameters: other cache entry
    stat = _hea(root).stat()
    os.utime(_hea(root), ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(AssertionError, match="parsed although cached"):
        load_ptbxl(root)  # a touched file: the fingerprint changes


# ------------------------------------------------------------------------------------ bad input
def test_bad_parameters(ptbxl_root):
    with pytest.raises(ConfigError, match="fs=250"):
        load_ptbxl(ptbxl_root, fs=250)
    with pytest.raises(ConfigError, match="task='bogus'"):
        load_ptbxl(ptbxl_root, task="bogus")
    with pytest.raises(ConfigError, match="on_bad"):
        load_ptbxl(ptbxl_root, on_bad="ignore")


def test_missing_root_and_csv(tmp_path):
    with pytest.raises(MissingFileError, match="nowhere: PTB-XL root folder does not exist"):
        load_ptbxl(tmp_path / "nowhere")
    with pytest.raises(MissingFileError, match="ptbxl_database.csv does not exist"):
        load_ptbxl(tmp_path)


@pytest.mark.parametrize("ext", [".dat", ".hea"])
def test_missing_record_file(ptbxl_root, tmp_path, ext):
    root = _copy(ptbxl_root, tmp_path)
    (root / f"records100/00000/00002_lr{ext}").unlink()
    with pytest.raises(MissingFileError, match=r"^2: .*00002_lr\%s does not exist" % ext):
        load_ptbxl(root, cache=False)


def test_truncated_dat(ptbxl_root, tmp_path):
    root = _copy(ptbxl_root, tmp_path)
    dat = root / "records100/00000/00002_lr.dat"
    dat.write_bytes(dat.read_bytes()[: 12 * 2 * 600])
    with pytest.raises(TruncatedSignalError, match="^2: 00002_lr.dat holds 600 samples per lead; the header says 1000"):
        load_ptbxl(root, cache=False)


def test_garbage_header(ptbxl_root, tmp_path):
    root = _copy(ptbxl_root, tmp_path)
    _hea(root).write_text("this is not\na header\n")
    with pytest.raises(HeaderParseError, match="^2: 00002_lr.hea line 1"):
        load_ptbxl(root, cache=False)


def test_eleven_leads(ptbxl_root, tmp_path):
    root = _copy(ptbxl_root, tmp_path)
    lines = _hea(root).read_text().splitlines()
    lines[0] = lines[0].replace(" 12 ", " 11 ")
    _hea(root).write_text("\n".join(lines[:-1]) + "\n")  # V6 gone
    with pytest.raises(LeadMismatchError, match=r"^2: expected the 12 standard leads.*the header has 11: .*'V5'\]"):
        load_ptbxl(root, cache=False)


def test_wrong_sampling_rate_in_header(ptbxl_root, tmp_path):
    root = _copy(ptbxl_root, tmp_path)
    _hea(root).write_text(_hea(root).read_text().replace("00002_lr 12 100 1000", "00002_lr 12 500 1000"))
    with pytest.raises(SamplingRateError, match="^2: header says 500 Hz; records100/ must hold 100 Hz"):
        load_ptbxl(root, cache=False)


def test_flat_lead_raises_or_drops(ptbxl_root, tmp_path):
    root = _copy(ptbxl_root, tmp_path)
    dat = root / "records100/00000/00002_lr.dat"
    samples = np.fromfile(dat, dtype="<i2").reshape(1000, 12)
    samples[:, 7] = 42  # V2 flat
    samples.tofile(dat)
    with pytest.raises(BadSignalError, match="^2: lead V2 is flat"):
        load_ptbxl(root, cache=False)
    data = load_ptbxl(root, cache=False, on_bad="drop")
    assert data.record_ids.tolist() == ["1", "3"]
    assert data.preprocessing[-1] == {"step": "drop_bad", "dropped": ["2"]}


def test_unknown_scp_code(ptbxl_root, tmp_path):
    root = _copy(ptbxl_root, tmp_path)
    db = pd.read_csv(root / "ptbxl_database.csv")
    db.loc[db["ecg_id"] == 3, "scp_codes"] = "{'NORM': 100.0, 'XYZ': 0.0}"
    db.to_csv(root / "ptbxl_database.csv", index=False)
    with pytest.raises(UnknownLabelError, match="^3: scp code 'XYZ' is not in scp_statements.csv"):
        load_ptbxl(root, cache=False)
