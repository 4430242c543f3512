"""PTB-XL reader on the real ptbxl-mini sample (records 1-400) and on broken copies of it."""

from __future__ import annotations

import os
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from cache_checks import load_twice_without_parsing
from ecgkd_lite.data import load_ptbxl
from ecgkd_lite.data import ptbxl as ptbxl_module
from ecgkd_lite.data.download import ChecksumError
from ecgkd_lite.errors import (
    BadSignalError,
    ConfigError,
    HeaderParseError,
    LeadMismatchError,
    MissingFileError,
    RecordError,
    SamplingRateError,
    SignalSizeError,
    TruncatedSignalError,
    UnknownLabelError,
)
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
    lines = [
        new if ln.endswith("  ptbxl_database.csv") else ln
        for ln in (ptbxl_root / "SHA256SUMS.txt").read_text().splitlines()
    ]
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


@pytest.mark.parametrize(
    "task,n,n_classes,first",
    [
        ("subdiagnostic", 390, 21, ("AMI", "CLBBB")),
        ("diagnostic", 390, 32, ("1AVB", "ALMI")),
        ("form", 98, 17, ("ABQRS", "DIG")),
        ("rhythm", 382, 8, ("AFIB", "AFLT")),
        ("all", 400, 53, ("1AVB", "ABQRS")),
    ],
)
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


# ------------------------------------------------------------------------------------ silently wrong signals
def _swap_lead_names(hea, a, b):
    """Swap the NAMES of two leads in a header (the samples stay where they are)."""
    lines = hea.read_text().splitlines()
    names = [ln.rsplit(" ", 1) for ln in lines[1:13]]
    pos = {n[1].upper(): k for k, n in enumerate(names)}
    ia, ib = pos[a.upper()], pos[b.upper()]
    names[ia][1], names[ib][1] = b, a
    hea.write_text("\n".join([lines[0], *(" ".join(n) for n in names), *lines[13:]]) + "\n")


def test_500hz_file_in_place_of_the_100hz_one(ptbxl_root, tmp_path):
    root = _copy(ptbxl_root, tmp_path)
    shutil.copy(ptbxl_root / "records500/00000/00002_hr.dat", root / "records100/00000/00002_lr.dat")
    with pytest.raises(
        SignalSizeError,
        match=r"^2: 00002_lr.dat holds 5000 samples per lead; the header says 1000 "
        r"\(12 signals x 1000 samples x 2 bytes = 24000 bytes expected, 120000 found\)",
    ):
        load_ptbxl(root, cache=False)
    dat = root / "records100/00000/00002_lr.dat"
    dat.write_bytes((ptbxl_root / "records100/00000/00002_lr.dat").read_bytes() + b"\x00")  # one stray byte
    with pytest.raises(SignalSizeError, match="24001 found"):
        load_ptbxl(root, cache=False)


def test_real_records_fit_the_lead_relations_at_both_rates(mini100, ptbxl_root):
    """Every ptbxl-mini record passes the check at 100 Hz (mini100 loaded with it) and 500 Hz (test_500hz);
    the largest residual at 100 Hz is 2 uV, far below the 10 uV tolerance."""
    from ecgkd_lite.data.wfdb_io import RELATION_TOL_MV

    x = mini100.signals.astype(np.float64)
    residual = np.abs(x[:, 2] - (x[:, 1] - x[:, 0])).max()
    assert residual <= 0.0021 < RELATION_TOL_MV
    assert not [s for s in mini100.preprocessing if s["step"] == "drop_refused"]


@pytest.mark.parametrize(
    "a,b,relation", [("I", "II", "III = II - I"), ("aVL", "aVF", "aVL = I - II/2"), ("III", "V1", "III = II - I")]
)
def test_swapped_lead_names_raise_or_drop(ptbxl_root, tmp_path, a, b, relation):
    root = _copy(ptbxl_root, tmp_path)
    _swap_lead_names(_hea(root), a, b)
    with pytest.raises(
        LeadMismatchError,
        match=rf"^2: the lead names do not fit the limb-lead relations .*violates "
        rf"{re.escape(relation)} \(missed by more than 0.01 mV in \d+ % of the "
        r"samples.*; 0 more of the 3 records would be refused as well; "
        r"load_ptbxl\(..., on_bad='drop'\) skips such records "
        r"\(check_lead_relations=False turns this check off\)",
    ):
        load_ptbxl(root, cache=False)
    assert len(load_ptbxl(root, cache=False, check_lead_relations=False)) == 3
    data = load_ptbxl(root, cache=False, on_bad="drop")
    assert data.record_ids.tolist() == ["1", "3"]
    step = data.preprocessing[-1]
    assert step["step"] == "drop_refused" and list(step["records"]) == ["2"] and relation in step["records"]["2"]


def test_invalid_sample_marker_is_missing_not_minus_32_mv(ptbxl_root, tmp_path):
    root = _copy(ptbxl_root, tmp_path)
    dat = root / "records100/00000/00002_lr.dat"
    samples = np.fromfile(dat, dtype="<i2").reshape(1000, 12)
    samples[500, 7] = -32768  # WFDB's invalid-sample marker in V2
    samples.tofile(dat)
    with pytest.raises(
        BadSignalError,
        match=r"^2: lead V2 has NaN or inf samples \(WFDB's invalid-sample marker "
        r"-32768 is read as NaN\); 0 more of the 3 records",
    ):
        load_ptbxl(root, cache=False)
    data = load_ptbxl(root, cache=False, on_bad="drop")
    assert data.record_ids.tolist() == ["1", "3"] and data.preprocessing[-1] == {"step": "drop_bad", "dropped": ["2"]}
    raw = ptbxl_module.read_record(root / "records100/00000/00002_lr", "2", 100)
    assert np.isnan(raw[7, 500]) and np.isfinite(np.delete(raw[7], 500)).all()


def test_stop_message_counts_the_other_bad_records(ptbxl_root, tmp_path):
    root = _copy(ptbxl_root, tmp_path)
    for i in (1, 3):
        dat = root / f"records100/00000/{i:05d}_lr.dat"
        samples = np.fromfile(dat, dtype="<i2").reshape(1000, 12)
        samples[:, 8] = 5  # V3 flat
        samples.tofile(dat)
    _swap_lead_names(_hea(root), "I", "II")
    with pytest.raises(
        BadSignalError,
        match=r"^1: lead V3 is flat \(constant signal\); 2 more of the 3 records would "
        r"be refused as well; load_ptbxl\(..., on_bad='drop'\) skips",
    ):
        load_ptbxl(root, cache=False)
    data = load_ptbxl(root, cache=False, on_bad="drop")
    assert data.record_ids.tolist() == []
    assert [s["step"] for s in data.preprocessing[-2:]] == ["drop_refused", "drop_bad"]


@pytest.mark.parametrize("value", ["x", "11", "0", "3.5", ""])
def test_malformed_strat_fold(ptbxl_root, tmp_path, value):
    root = _copy(ptbxl_root, tmp_path)
    db = pd.read_csv(root / "ptbxl_database.csv", dtype={"strat_fold": str})
    db.loc[db["ecg_id"] == 2, "strat_fold"] = value
    db.to_csv(root / "ptbxl_database.csv", index=False)
    pattern = (
        r"^2: the ptbxl_database.csv row lacks \['strat_fold'\]"
        if value == ""
        else rf"^2: strat_fold '?{re.escape(value)}'? in ptbxl_database.csv is not a fold number 1-10"
    )
    with pytest.raises(RecordError, match=pattern):
        load_ptbxl(root, cache=False)


def test_truncated_database_row(ptbxl_root, tmp_path):
    root = _copy(ptbxl_root, tmp_path)
    path = root / "ptbxl_database.csv"
    text = path.read_text().rstrip("\n")
    head, last = text.rsplit("\n", 1)
    for cut, pattern in [
        (len(last) - 30, r"^3: the ptbxl_database.csv row lacks \['filename_hr'\] \(a truncated row\?\)"),
        (
            len(last) - 3,
            (
                r"^3: filename_hr 'records500/00000/00003' in ptbxl_database.csv is not a "
                r"records500/NNNNN/NNNNN_hr path"
            ),
        ),
        (last.index("{") + 5, r"ptbxl_database.csv: cannot be read as the PTB-XL database"),
    ]:
        path.write_text(head + "\n" + last[:cut] + "\n")
        with pytest.raises(RecordError, match=pattern):
            load_ptbxl(root, cache=False)
