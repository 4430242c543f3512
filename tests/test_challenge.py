"""Challenge 2020/2021 reader on the real cinc2020-sample (28 records) and on broken copies of it."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import io as sio
from scipy import signal as sps

from cache_checks import load_twice_without_parsing
from ecgkd_lite.data import load_challenge
from ecgkd_lite.data import challenge as challenge_module
from ecgkd_lite.data.challenge import GAIN_FIXES, PLAUSIBLE_PTP_MV, hash_fold, median_peak_to_peak, read_record
from ecgkd_lite.data.snomed import snomed_table
from ecgkd_lite.data.wfdb_io import parse_header
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

GAIN_FIXED = ["E00009", "E00015", "E00018", "E00793", "HR00599", "HR20715"]


@pytest.fixture(scope="module")
def sample(challenge_root):
    return load_challenge(challenge_root, cache=False)


def _row(data, record):
    return list(data.record_ids).index(record)


def _positives(data, record):
    return [c for c, v in zip(data.classes, data.labels[_row(data, record)]) if v]


def _copy(challenge_root, tmp_path, names=("Q0001", "E00009", "HR00599")):
    root = tmp_path / "cinc"
    (root / "sub").mkdir(parents=True)  # one record one folder down: the search is recursive
    for i, name in enumerate(names):
        for ext in (".hea", ".mat"):
            shutil.copy(challenge_root / f"{name}{ext}", (root / "sub" if i == 0 else root) / f"{name}{ext}")
    return root


def _edit_header(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


# ------------------------------------------------------------------------------------ real sample
def test_all_records_load(sample):
    assert sample.signals.shape == (28, 12, 5000) and sample.fs == 500.0
    assert sample.record_ids[:2].tolist() == ["E00009", "E00015"] and sample.source == "challenge"
    assert len(sample.classes) == 35 and list(sample.classes) == sorted(sample.classes)
    assert sample.snomed[sample.classes.index("AF")] == "164889003"
    assert sample.meta["source"].value_counts().to_dict() == {"CPSC-Extra": 22, "Georgia": 4, "PTB-XL": 2}
    assert sample.meta.loc[_row(sample, "E00009"), ["age", "sex"]].tolist() == [76.0, "Male"]


def test_georgia_header_quirk_is_handled(challenge_root):
    assert (challenge_root / "E00009.hea").read_text().startswith("E00009.mat 12 500 5000")
    header = parse_header(challenge_root / "E00009.hea")
    assert (header.record, header.n_leads, header.fs, header.n_samples) == ("E00009", 12, 500.0, 5000)
    assert header.gains_per_mv()[0] == 4880.0 and header.comments["Dx"] == "428750005,39732003,427084000"


def test_golden_samples(sample):
    np.testing.assert_allclose(sample.signals[_row(sample, "E00009"), :4, 100], [-0.024, 0.0, 0.024, 0.012], atol=1e-6)
    np.testing.assert_allclose(sample.signals[_row(sample, "HR00599"), 9:, 100], [0.305, 0.13, -0.145], atol=1e-6)


def test_gain_fix_for_hr_and_georgia(sample, challenge_root):
    gain_step = [s for s in sample.preprocessing if s["step"] == "gain_fix"][0]
    assert gain_step["records"] == GAIN_FIXED
    assert gain_step["rule"] == {"HR* stated 200/mV": "1000/mV", "E* stated 4880/mV": "1000/mV"}
    for name in GAIN_FIXED:
        fixed, raw = (
            read_record(challenge_root / f"{name}.hea", True),
            read_record(challenge_root / f"{name}.hea", False),
        )
        stated = 4880.0 if name.startswith("E") else 200.0
        np.testing.assert_allclose(fixed.signals * 1000.0, raw.signals * stated, rtol=1e-5, atol=1e-5)
        assert PLAUSIBLE_PTP_MV[0] <= median_peak_to_peak(fixed.signals) <= PLAUSIBLE_PTP_MV[1]
    assert round(median_peak_to_peak(read_record(challenge_root / "E00015.hea", False).signals), 3) == 0.176
    assert round(median_peak_to_peak(read_record(challenge_root / "E00015.hea", True).signals), 3) == 0.858
    assert [s for s in sample.preprocessing if s["step"] == "amplitude_check"][0]["flagged"] == {}
    assert set(GAIN_FIXES) == {("HR", 200.0), ("E", 4880.0)}


def test_without_gain_fix_the_amplitude_check_flags_georgia(challenge_root):
    data = load_challenge(challenge_root, cache=False, fix_gain=False)
    steps = {s["step"]: s for s in data.preprocessing}
    assert steps["gain_fix"]["records"] == [] and steps["amplitude_check"]["flagged"] == {
        "E00015": 0.176,
        "E00018": 0.169,
    }


def test_crop_and_pad(sample, challenge_root):
    crop = [s for s in sample.preprocessing if s["step"] == "crop_pad"][0]
    assert (crop["cropped"], crop["padded"]) == (12, 0)
    q17 = read_record(challenge_root / "Q0017.hea").signals  # 28934 samples
    np.testing.assert_array_equal(sample.signals[_row(sample, "Q0017")], q17[:, :5000])
    center = load_challenge(challenge_root, cache=False, crop="center")
    start = (28934 - 5000) // 2
    np.testing.assert_array_equal(center.signals[_row(center, "Q0017")], q17[:, start : start + 5000])
    long = load_challenge(challenge_root, cache=False, seconds=20.0)
    steps = [s for s in long.preprocessing if s["step"] == "crop_pad"][0]
    assert long.signals.shape == (28, 12, 10000) and (steps["cropped"], steps["padded"]) == (6, 22)
    q1 = long.signals[_row(long, "Q0001")]
    assert not q1[:, 5000:].any() and q1[:, :5000].any()
    assert long.meta.loc[_row(long, "Q0017"), "n_samples_original"] == 28934


def test_labels_and_equivalent_codes(sample):
    assert _positives(sample, "E00009") == ["LAD", "NSSTTA", "STach"]
    assert _positives(sample, "E00015") == ["LQRSV", "PAC"]  # Dx 251146004,284470004,284470004
    assert "CRBBB" not in sample.classes and "VPB" not in sample.classes and "SVPB" not in sample.classes
    table = snomed_table()
    assert [table.canonical(c) for c in ("713427006", "63593006", "17338001", "733534002")] == [
        "59118001",
        "284470004",
        "427172004",
        "164909002",
    ]
    # Dx 713427006 (CRBBB) is scored as RBBB, 17338001 (VPB) as PVC, 63593006 (SVPB) as PAC
    assert _positives(sample, "Q0630") == ["MI", "PVC"]  # Dx 17338001 (VPB),164865005
    assert _positives(sample, "Q0017") == ["PAC"]  # Dx 63593006 (SVPB)
    assert _positives(sample, "Q0027") == ["NSSTTA", "RBBB"]  # Dx 713427006 (CRBBB),428750005
    assert _positives(sample, "Q1805") == ["OldMI", "QAb", "RBBB"]  # Dx 164867002,59118001,164917005
    assert sample.labels[:, sample.classes.index("RBBB")].sum() == 3  # 2 x 713427006 + 1 x 59118001


def test_chosen_classes(challenge_root):
    data = load_challenge(challenge_root, cache=False, classes=["AF", "713427006", "pvc"])
    assert data.classes == ("AF", "RBBB", "PVC") and data.snomed == ("164889003", "59118001", "427172004")
    assert data.labels.sum(0).tolist() == [1, 3, 3]
    with pytest.raises(ConfigError, match="class 'NOPE' is neither"):
        load_challenge(challenge_root, cache=False, classes=["AF", "NOPE"])


def test_hash_folds_are_deterministic(sample):
    assert [hash_fold(r) for r in ("E00009", "HR00599", "Q0017")] == [3, 1, 6]
    np.testing.assert_array_equal(sample.folds, [hash_fold(r) for r in sample.record_ids])


# ------------------------------------------------------------------------------------ cache
def test_second_load_reads_cache_without_parsing(challenge_root, tmp_path, monkeypatch):
    root = _copy(challenge_root, tmp_path)
    first, second = load_twice_without_parsing(load_challenge, challenge_module, root, monkeypatch)
    assert second.snomed == first.snomed and second.record_ids.tolist() == ["E00009", "HR00599", "Q0001"]
    pd.testing.assert_frame_equal(second.meta, first.meta, check_dtype=False)
    with pytest.raises(AssertionError, match="parsed although cached"):
        load_challenge(root, seconds=5.0)


# ------------------------------------------------------------------------------------ bad input
def test_bad_parameters(challenge_root, tmp_path):
    for kwargs, pattern in [
        ({"fs": 0}, r"^fs must be > 0"),
        ({"seconds": -1}, r"^seconds must be > 0"),
        ({"fs": True}, r"^fs must be > 0"),
        ({"seconds": "10"}, r"^seconds must be > 0"),
        ({"crop": "end"}, "crop='end'"),
        ({"unknown": "drop"}, "unknown='drop'"),
        ({"on_bad": "x"}, "on_bad"),
    ]:
        with pytest.raises(ConfigError, match=pattern):
            load_challenge(challenge_root, **kwargs)
    with pytest.raises(MissingFileError, match="nowhere: Challenge root folder does not exist"):
        load_challenge(tmp_path / "nowhere")
    with pytest.raises(MissingFileError, match="no \\*.hea headers"):
        load_challenge(tmp_path)


def test_missing_mat(challenge_root, tmp_path):
    root = _copy(challenge_root, tmp_path)
    (root / "E00009.mat").unlink()
    with pytest.raises(MissingFileError, match="^E00009: signal file .*E00009.mat does not exist"):
        load_challenge(root, cache=False)


def test_truncated_and_damaged_mat(challenge_root, tmp_path):
    root = _copy(challenge_root, tmp_path)
    val = sio.loadmat(root / "E00009.mat")["val"]
    sio.savemat(root / "E00009.mat", {"val": val[:, :1200]})
    with pytest.raises(
        TruncatedSignalError, match="^E00009: E00009.mat holds 1200 samples per lead; the header says 5000"
    ):
        load_challenge(root, cache=False)
    (root / "E00009.mat").write_bytes((challenge_root / "E00009.mat").read_bytes()[:300])
    with pytest.raises(RecordError, match="^E00009: cannot read 'val' from E00009.mat"):
        load_challenge(root, cache=False)


def test_garbage_header(challenge_root, tmp_path):
    root = _copy(challenge_root, tmp_path)
    (root / "HR00599.hea").write_text("HR00599 twelve 500 5000\n")
    with pytest.raises(HeaderParseError, match="^HR00599: HR00599.hea line 1 .*must be numbers"):
        load_challenge(root, cache=False)
    (root / "HR00599.hea").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(HeaderParseError, match="^HR00599: HR00599.hea is not a text header"):
        load_challenge(root, cache=False)


def test_eleven_leads(challenge_root, tmp_path):
    root = _copy(challenge_root, tmp_path)
    hea = root / "HR00599.hea"
    lines = hea.read_text().splitlines()
    hea.write_text("\n".join([lines[0].replace(" 12 ", " 11 ")] + lines[1:12] + lines[13:]) + "\n")
    with pytest.raises(LeadMismatchError, match=r"^HR00599: expected the 12 standard leads.*has 11: \['I', .*'V5'\]"):
        load_challenge(root, cache=False)
    shutil.copy(challenge_root / "HR00599.hea", hea)
    sio.savemat(root / "HR00599.mat", {"val": sio.loadmat(challenge_root / "HR00599.mat")["val"][:11]})
    with pytest.raises(LeadMismatchError, match="^HR00599: HR00599.mat holds 11 leads; the header lists 12"):
        load_challenge(root, cache=False)


def test_nan_and_flat_signals(challenge_root, tmp_path):
    root = _copy(challenge_root, tmp_path)
    val = sio.loadmat(root / "E00009.mat")["val"].astype(np.float64)
    val[4, 10] = np.nan
    sio.savemat(root / "E00009.mat", {"val": val})
    with pytest.raises(BadSignalError, match="^E00009: lead aVL has NaN or inf samples"):
        load_challenge(root, cache=False)
    val = sio.loadmat(challenge_root / "HR00599.mat")["val"]
    val[0] = 7
    sio.savemat(root / "HR00599.mat", {"val": val})
    data = load_challenge(root, cache=False, on_bad="drop")
    assert data.record_ids.tolist() == ["Q0001"]
    assert data.preprocessing[-1] == {"step": "drop_bad", "dropped": ["E00009", "HR00599"]}


def test_unknown_code_raise_or_count(challenge_root, tmp_path):
    root = _copy(challenge_root, tmp_path)
    _edit_header(root / "sub" / "Q0001.hea", "#Dx: 164867002,427084000", "#Dx: 164867002,999999999,999999999")
    with pytest.raises(UnknownLabelError, match="^Q0001: SNOMED-CT code '999999999' is not in the label table"):
        load_challenge(root, cache=False, unknown="raise")
    data = load_challenge(root, cache=False)
    assert [s for s in data.preprocessing if s["step"] == "unknown_codes"][0]["counts"] == {"999999999": 2}
    assert _positives(data, "Q0001") == ["OldMI"]


def test_sampling_rate_resampled_or_rejected(challenge_root, tmp_path):
    root = _copy(challenge_root, tmp_path, names=("Q0001",))
    hea = root / "sub" / "Q0001.hea"
    _edit_header(hea, "Q0001 12 500 5000", "Q0001 12 250 5000")  # 20 s at 250 Hz
    data = load_challenge(root, cache=False)
    raw = read_record(hea).signals
    np.testing.assert_allclose(data.signals[0], sps.resample_poly(raw, 2, 1, axis=1)[:, :5000], atol=1e-5)
    assert data.meta.loc[0, "fs_original"] == 250.0
    assert {"step": "resample", "from_fs": [250.0], "to_fs": 500.0, "method": "resample_poly"} in data.preprocessing
    _edit_header(hea, "Q0001 12 250 5000", "Q0001 12 0 5000")
    with pytest.raises(SamplingRateError, match="^Q0001: header states a sampling rate of 0 Hz"):
        load_challenge(root, cache=False)


def test_committed_snomed_table_matches_the_challenge_tables(challenge_root):
    import importlib.util

    from ecgkd_lite.data.snomed import TABLE_PATH

    spec = importlib.util.spec_from_file_location(
        "build", TABLE_PATH.parents[3] / "data_scripts" / "build_snomed_table.py"
    )
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    rebuilt = build.build(challenge_root)
    committed = pd.read_csv(TABLE_PATH, dtype=str, keep_default_na=False)
    assert len(committed) == 112 and int((committed["scored"] == "True").sum()) == 28
    pd.testing.assert_frame_equal(rebuilt.astype(str), committed)


# ------------------------------------------------------------------------------------ silently wrong input
def test_gain_of_zero_is_reported_not_replaced(challenge_root, tmp_path):
    """A gain of 0 fell back to WFDB's 200/mV (and an HR* record was then even "fixed" to 1000/mV)."""
    root = _copy(challenge_root, tmp_path)
    hea = root / "HR00599.hea"
    lines = hea.read_text().splitlines()
    lines[1] = lines[1].replace(" 200/mV ", " 0/mV ")
    hea.write_text("\n".join(lines) + "\n")
    assert parse_header(hea).leads_without_gain() == ["I"]
    with pytest.raises(
        HeaderParseError,
        match=r"^HR00599: HR00599.hea gives leads \['I'\] a gain of 0 \(uncalibrated; "
        r".*0 more of the 3 records would be refused as well; "
        r"load_challenge\(..., on_bad='drop'\) skips such records",
    ):
        load_challenge(root, cache=False)
    data = load_challenge(root, cache=False, on_bad="drop")
    assert data.record_ids.tolist() == ["E00009", "Q0001"]
    assert list(data.preprocessing[-1]["records"]) == ["HR00599"]


def test_header_without_dx_is_reported_not_an_all_negative_row(challenge_root, tmp_path):
    root = _copy(challenge_root, tmp_path)
    for name, old, new in [("E00009", "#Dx: 428750005,39732003,427084000\n", ""), ("HR00599", "#Dx: ", "#Dx:  \n#x: ")]:
        hea = root / f"{name}.hea"
        text = hea.read_text()
        assert old in text
        hea.write_text(text.replace(old, new, 1))
    with pytest.raises(
        HeaderParseError,
        match=r"^E00009: E00009.hea has no '#Dx:' codes \(no labels: it would become "
        r"an all-negative label row\); 1 more of the 3 records",
    ):
        load_challenge(root, cache=False)
    data = load_challenge(root, cache=False, on_bad="drop")
    assert data.record_ids.tolist() == ["Q0001"] and data.labels.sum() == 2
    assert data.preprocessing[-1]["step"] == "drop_refused"
    assert sorted(data.preprocessing[-1]["records"]) == ["E00009", "HR00599"]


def test_mat_longer_than_its_header(challenge_root, tmp_path):
    root = _copy(challenge_root, tmp_path)
    val = sio.loadmat(root / "E00009.mat")["val"]
    sio.savemat(root / "E00009.mat", {"val": np.concatenate([val, val], axis=1)})
    with pytest.raises(SignalSizeError, match="^E00009: E00009.mat holds 10000 samples per lead; the header says 5000"):
        load_challenge(root, cache=False)


def test_invalid_sample_marker_and_swapped_leads(challenge_root, tmp_path):
    root = _copy(challenge_root, tmp_path)
    val = sio.loadmat(root / "E00009.mat")["val"]
    val[7, 123] = -32768
    sio.savemat(root / "E00009.mat", {"val": val})
    with pytest.raises(BadSignalError, match=r"^E00009: lead V2 has NaN or inf samples \(WFDB's invalid-sample marker"):
        load_challenge(root, cache=False)
    shutil.copy(challenge_root / "E00009.mat", root / "E00009.mat")
    hea = root / "sub" / "Q0001.hea"
    _edit_header(hea, " 0 I\n", " 0 TMP\n")
    _edit_header(hea, " 0 II\n", " 0 I\n")
    _edit_header(hea, " 0 TMP\n", " 0 II\n")
    with pytest.raises(
        LeadMismatchError,
        match=r"^Q0001: the lead names do not fit .*violates III = II - I .*"
        r"check_lead_relations=False turns this check off",
    ):
        load_challenge(root, cache=False)
    assert len(load_challenge(root, cache=False, check_lead_relations=False)) == 3


def test_stop_message_counts_the_other_bad_records(challenge_root, tmp_path):
    """load_challenge on a flat lead says how many more records it would refuse and how to skip them."""
    root = _copy(challenge_root, tmp_path)
    for name in ("E00009", "HR00599"):
        val = sio.loadmat(challenge_root / f"{name}.mat")["val"]
        val[9] = 3  # V4 flat
        sio.savemat(root / f"{name}.mat", {"val": val})
    with pytest.raises(
        BadSignalError,
        match=r"^E00009: lead V4 is flat \(constant signal\); 1 more of the 3 records "
        r"would be refused as well; load_challenge\(..., on_bad='drop'\) skips",
    ):
        load_challenge(root, cache=False)
