"""LUDB reader and delineation masks on the real release (../shared/data/ludb), on broken copies of
three of its records, and the annotation rules on hand-made symbol sequences."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cache_checks import load_twice_without_parsing
from conftest import _shared
from ecgkd_lite.config import shared_data_dir
from ecgkd_lite.data import ECGData, load_ludb, ludb_wave_masks
from ecgkd_lite.data import ludb as ludb_module
from ecgkd_lite.data.download import ChecksumError
from ecgkd_lite.data.ludb import (
    CLASS_SNOMED,
    DIAGNOSIS_CLASSES,
    LUDB_CLASSES,
    REGION_RULES,
    WAVES,
    mask_runs,
    parse_waves,
    unmapped_diagnoses,
    wave_intervals,
)
from ecgkd_lite.data.snomed import snomed_table
from ecgkd_lite.errors import (
    BadSignalError,
    ConfigError,
    HeaderParseError,
    LeadMismatchError,
    MissingFileError,
    RecordError,
    SamplingRateError,
    SplitError,
    TruncatedSignalError,
    UnknownLabelError,
)
from ecgkd_lite.explain import region_masks
from ecgkd_lite.utils import sha256_file

RHYTHMS = ("NSR", "SB", "STach", "SA", "AF", "AFL")


@pytest.fixture(scope="module")
def root() -> Path:
    return _shared("ludb")  # skips, saying where it looked, when the folder is absent


@pytest.fixture(scope="module")
def data(root):
    return load_ludb(root)  # cached in the session's temporary cache folder


@pytest.fixture(scope="module")
def masks(root):
    return ludb_wave_masks(root)


@pytest.fixture
def mini(root, tmp_path):
    """Records 1-3 of LUDB in ``tmp_path``, with ``RECORDS`` and ``SHA256SUMS.txt`` to match."""
    dest = tmp_path / "ludb"
    (dest / "data").mkdir(parents=True)
    (dest / "RECORDS").write_text("data/1\ndata/2\ndata/3\n")
    for rel in ludb_module.record_files(["1", "2", "3"]):
        shutil.copy(root / rel, dest / rel)
    lines = [ln for ln in (root / "SHA256SUMS.txt").read_text().splitlines() if not ln.endswith(" RECORDS")]
    (dest / "SHA256SUMS.txt").write_text("\n".join(lines + [f"{sha256_file(dest / 'RECORDS')}  RECORDS"]) + "\n")
    return dest


def _edit_header(path: Path, edit) -> None:
    path.write_text(edit(path.read_text()))


# ------------------------------------------------------------------------------------ real release
def test_shapes_unit_and_external_test_fold(data):
    assert data.signals.shape == (200, 12, 5000) and data.signals.dtype == np.float32
    assert data.fs == 500.0 and data.unit == "mV" and data.source == "ludb"
    assert data.record_ids.tolist() == [str(i) for i in range(1, 201)]
    assert (data.folds == 10).all() and len(data.split("test")) == 200
    with pytest.raises(SplitError):
        data.split("train")
    assert data.meta.columns.tolist() == ["age", "sex", "diagnoses"]
    assert data.meta["age"].between(11, 90).all() and Counter(data.meta["sex"]) == {"M": 115, "F": 85}


def test_class_counts_and_one_rhythm_per_record(data):
    counts = dict(zip(data.classes, data.labels.sum(0).astype(int).tolist()))
    assert counts == {
        "AF": 15,
        "AFL": 3,
        "CLBBB": 4,
        "CRBBB": 4,
        "IAVB": 10,
        "IRBBB": 29,
        "LAD": 66,
        "LAnFB": 16,
        "NSIVCB": 4,
        "NSR": 143,
        "PAC": 7,
        "RAD": 3,
        "SA": 10,
        "SB": 25,
        "STach": 4,
    }
    rhythm = data.labels[:, [data.classes.index(c) for c in RHYTHMS]]
    assert (rhythm.sum(1) == 1).all()
    assert data.classes == LUDB_CLASSES and data.snomed == tuple(CLASS_SNOMED[c] for c in LUDB_CLASSES)


def test_every_mapping_row_is_used_and_unmapped_diagnoses_are_counted(data):
    lines = Counter(d for text in data.meta["diagnoses"] for d in text.split("; "))
    assert set(DIAGNOSIS_CLASSES) <= set(lines)  # no row of the table is dead
    unmapped = unmapped_diagnoses(data)
    assert not set(unmapped) & set(DIAGNOSIS_CLASSES)
    assert sum(unmapped.values()) + sum(lines[d] for d in DIAGNOSIS_CLASSES) == sum(lines.values())
    assert unmapped["Left ventricular hypertrophy"] == 108 and unmapped["Electric axis of the heart: normal"] == 75
    assert unmapped["III degree AV-block"] == 5 and unmapped["Ventricular extrasystole, type: single PVC"] == 6
    assert list(unmapped.values()) == sorted(unmapped.values(), reverse=True)
    with pytest.raises(ConfigError, match="not read by load_ludb"):
        unmapped_diagnoses(ECGData(np.zeros((1, 12, 10)), np.zeros((1, 0)), (), 100.0, [1], ["a"]))


def test_header_rhythms_agree_with_ludb_csv(data, root):
    csv = pd.read_csv(root / "ludb.csv")
    header = [
        next(d for d in text.split("; ") if d.startswith("Rhythm: "))[len("Rhythm: ") :]
        for text in data.meta["diagnoses"]
    ]
    assert [r.split("\n")[0].strip() for r in csv["Rhythms"]] == header


def test_snomed_codes_match_ptbxl_2k_and_the_package_table():
    table = snomed_table()
    for c, codes in CLASS_SNOMED.items():
        assert all(code in table for code in codes.split("|")), c
    classes = shared_data_dir() / "ptbxl-2k" / "classes.csv"
    if not classes.exists():
        pytest.skip(f"{classes} not found")
    ref = pd.read_csv(classes, dtype=str).set_index("abbreviation")["snomed_codes"]
    assert {c: ref[c] for c in LUDB_CLASSES} == CLASS_SNOMED
    assert list(LUDB_CLASSES) == [c for c in ref.index if c in LUDB_CLASSES]  # ptbxl-2k's order


def test_gain_rule_gives_millivolts_that_obey_einthoven(data, root):
    import wfdb

    rec = wfdb.rdrecord(str(root / "data" / "1"))
    assert np.allclose(np.ptp(rec.p_signal, axis=0), 1.0)  # the release's header scaling: peak-to-peak 1 everywhere
    raw = wfdb.rdrecord(str(root / "data" / "1"), physical=False).d_signal.T
    np.testing.assert_allclose(data.signals[0], raw / 1000.0, atol=1e-7)
    x = data.signals.astype(np.float64)
    assert np.abs(x[:, 2] - (x[:, 1] - x[:, 0])).max() < 1e-6  # III = II - I
    assert np.abs(x[:, 3] + (x[:, 0] + x[:, 1]) / 2).max() <= 0.5e-3 + 1e-6  # aVR = -(I + II) / 2 (to 0.5 uV)
    steps = {s["step"]: s for s in data.preprocessing}
    assert steps["gain_fix"]["leads_fixed"] == steps["gain_fix"]["leads"] == 2400
    assert steps["amplitude_check"]["flagged"] == {}
    assert 0.5 < np.median(np.ptp(x, axis=2)) < 3.0


def test_diagnostic_regions_follow_the_rules(data):
    regions = data.regions
    assert regions.columns.tolist() == ["record_id", "class", "start", "end"]
    assert (
        (regions["start"] >= 0).all() and (regions["end"] <= 5000).all() and (regions["end"] > regions["start"]).all()
    )
    assert set(regions["class"]) == set(REGION_RULES)
    assert "PAC" not in set(regions["class"])  # the premature beat is not identified
    nsr = regions[regions["class"] == "NSR"]
    assert len(nsr) == 143 and (nsr["start"] == 0).all() and (nsr["end"] == 5000).all()
    positive = {c: set(data.record_ids[data.labels[:, k] == 1]) for k, c in enumerate(data.classes)}
    for c, rows in regions.groupby("class"):
        assert set(rows["record_id"]) == positive[c], c  # every positive record has a region, no negative one
    iavb = region_masks(data, "IAVB")
    assert iavb.shape == (200, 5000) and iavb[data.labels[:, data.classes.index("IAVB")] == 0].sum() == 0
    assert 0.05 < iavb[data.labels[:, data.classes.index("IAVB")] == 1].mean() < 0.4  # a PR per beat


def test_wave_counts_and_annotation_quirks(masks):
    assert masks.masks.shape == (200, 12, 5, 5000) and masks.annotated.shape == (200, 12, 5000)
    assert masks.fs == 500.0 and masks.waves == WAVES
    counts = masks.intervals.groupby("wave").size().to_dict()
    # 16797 p, 21965 N, 19661 t peaks: record 116 repeats t (6 and 4 times) in two T waves
    assert counts == {"P": 16797, "QRS": 21965, "T": 19653, "PR": 16796, "ST": 19652}
    assert masks.quirks == {
        "no_onset": 103,
        "no_offset": 1,
        "attached_brackets": 20,
        "dropped_brackets": 1,
        "repeated_peak": 2,
    }


def test_wave_definitions_on_record_1_lead_ii(masks):
    # data/1.ii: QRS (644 N 682), T (776 t 878), P (1250 p 1302), QRS (1324 N 1374), T (1458 t 1572), ...
    lead = masks.masks[0, 1]
    on = {w: np.flatnonzero(lead[k]) for k, w in enumerate(WAVES)}
    assert on["QRS"][0] == 644 and on["P"][0] == 1250 and on["PR"][0] == 1250
    assert lead[WAVES.index("P"), 1250:1303].all() and not lead[WAVES.index("P"), 1303]
    assert lead[WAVES.index("PR"), 1250:1324].all() and not lead[WAVES.index("PR"), 1324]
    assert lead[WAVES.index("QRS"), 1324:1375].all() and not lead[WAVES.index("QRS"), 1375]
    assert lead[WAVES.index("ST"), 1375:1458].all() and not lead[WAVES.index("ST"), [1374, 1458]].any()
    assert not lead[WAVES.index("PR"), :1250].any()  # the first QRS has no P before it: no PR
    span = np.flatnonzero(masks.annotated[0, 1])
    assert span[0] == 644 and span[-1] == 3996 and len(span) == span[-1] - span[0] + 1


def test_mask_relations(masks, data):
    m = masks.masks
    P, PR, QRS, ST, T = (m[:, :, k] for k in range(5))
    assert not (QRS & ST).any() and not (ST & T).any()
    iv = masks.intervals
    pr = iv[iv["wave"] == "PR"].merge(iv[iv["wave"] == "P"], on=["record_id", "lead", "start"], suffixes=("", "_p"))
    assert len(pr) == (iv["wave"] == "PR").sum() and (pr["end"] > pr["end_p"]).all()  # a PR holds its P wave
    assert not (m & ~masks.annotated[:, :, None]).any()
    af = data.labels[:, data.classes.index("AF")] == 1
    assert not P[af].any() and not PR[af].any()  # no P wave annotated in atrial fibrillation


def test_union_and_consensus(masks):
    union, majority = masks.union(), masks.consensus()
    assert union.shape == (200, 5, 5000)
    assert (union >= masks.masks[:, 0]).all() and not (majority & ~union).any()
    np.testing.assert_array_equal(masks.consensus(min_leads=1), union)
    assert masks.consensus(min_leads=12).sum() < majority.sum() < union.sum()
    with pytest.raises(ConfigError, match="min_leads"):
        masks.consensus(min_leads=13)
    with pytest.raises(ConfigError, match="wave 'U'"):
        masks.wave("U")
    np.testing.assert_array_equal(masks.wave("QRS"), masks.masks[:, :, 2])


def test_regions_table_in_container_format(masks, data):
    regions = masks.regions()
    assert regions.columns.tolist() == ["record_id", "class", "start", "end"]
    waves = ECGData(
        signals=data.signals,
        labels=np.zeros((200, 5)),
        classes=WAVES,
        fs=500.0,
        folds=data.folds,
        record_ids=data.record_ids,
        regions=regions,
    )
    np.testing.assert_array_equal(waves.region_mask(), masks.union())
    assert len(masks.regions("consensus")) > 0
    with pytest.raises(ConfigError, match="how="):
        masks.regions("any")


def test_masks_at_another_rate_and_for_chosen_records(root, masks):
    low = ludb_wave_masks(root, record_ids=[1, "7"], fs=250)
    assert low.record_ids.tolist() == ["1", "7"] and low.masks.shape == (2, 12, 5, 2500)
    full = masks.masks[[0, 6]]
    agree = (low.masks == full[..., ::2]).mean()
    assert agree > 0.99
    assert (low.intervals["end"] > low.intervals["start"]).all()
    with pytest.raises(ConfigError, match=r"\['201'\]"):
        ludb_wave_masks(root, record_ids=[201])


def test_classes_subset_lines_up_with_a_ptbxl_2k_model(mini):
    every = load_ludb(mini, cache=False)
    chosen = ["SB", "NSR", "LAD", "IAVB"]
    sub = load_ludb(mini, classes=chosen, cache=False)
    assert sub.classes == tuple(chosen) and sub.snomed == ("426177001", "426783006", "39732003", "270492004")
    np.testing.assert_array_equal(sub.labels, every.labels[:, [every.classes.index(c) for c in chosen]])
    assert sub.labels.sum(0).tolist() == [1, 2, 1, 0]  # records 1-3: SB + LAD, NSR, NSR
    assert set(sub.regions["class"]) == {"SB", "NSR", "LAD"}


def test_verify_accepts_the_real_release(root, data):
    assert len(load_ludb(root, verify=True)) == 200  # 2801 files checked, then read from the cache


# ------------------------------------------------------------------------------------ broken copies
def test_mini_copy_reads_verifies_and_caches(mini, monkeypatch):
    first, _ = load_twice_without_parsing(load_ludb, ludb_module, mini, monkeypatch)
    assert first.record_ids.tolist() == ["1", "2", "3"]
    assert len(load_ludb(mini, verify=True)) == 3  # from the cache, after the files were checked


def test_checksum_mismatch(mini):
    dat = mini / "data" / "2.dat"
    raw = bytearray(dat.read_bytes())
    raw[100] ^= 1
    dat.write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match="data/2.dat"):
        load_ludb(mini, verify=True, cache=False)


def test_missing_header_signal_annotation_and_records(mini, tmp_path):
    (mini / "data" / "3.hea").unlink()
    with pytest.raises(MissingFileError, match="3.hea"):
        load_ludb(mini, cache=False)
    (mini / "data" / "2.v4").unlink()
    with pytest.raises(MissingFileError, match="2.v4"):
        load_ludb(mini, cache=False)
    (mini / "RECORDS").unlink()
    with pytest.raises(MissingFileError, match="RECORDS"):
        load_ludb(mini)
    with pytest.raises(MissingFileError, match="root folder"):
        load_ludb(tmp_path / "nowhere")


def test_truncated_signal(mini):
    dat = mini / "data" / "2.dat"
    dat.write_bytes(dat.read_bytes()[:50000])
    with pytest.raises(TruncatedSignalError, match=r"2\.dat holds 2083"):
        load_ludb(mini, cache=False)


def test_damaged_annotation_file(mini):
    (mini / "data" / "1.ii").write_bytes(b"not an annotation file\x00\x01" * 3)
    with pytest.raises(RecordError, match=r"1\.ii"):
        load_ludb(mini, cache=False)


@pytest.mark.parametrize(
    "edit, error, match",
    [
        (
            lambda t: t.replace("1 12 500 5000", "1 11 500 5000").replace(
                [ln for ln in t.splitlines() if ln.endswith(" v6")][0] + "\n", ""
            ),
            LeadMismatchError,
            "12 standard leads",
        ),
        (lambda t: t.replace(" v6\n", " v7\n"), LeadMismatchError, "v7"),
        (lambda t: t.replace("1 12 500 5000", "1 12 250 5000"), SamplingRateError, "250 Hz"),
        (lambda t: t.replace("1 12 500 5000", "1 12 500 4000"), RecordError, "4000 samples"),
        (lambda t: t.replace("#<diagnoses>:", "#<notes>:"), HeaderParseError, "diagnoses"),
        (lambda t: t.replace("1.dat 16", "1.dat 212"), HeaderParseError, "format"),
    ],
)
def test_malformed_header(mini, edit, error, match):
    _edit_header(mini / "data" / "1.hea", edit)
    with pytest.raises(error, match=match):
        load_ludb(mini, cache=False)


def test_swapped_lead_names_break_the_limb_lead_relations(mini):
    _edit_header(
        mini / "data" / "2.hea",
        lambda t: t.replace(" 0 i\n", " 0 TMP\n").replace(" 0 ii\n", " 0 i\n").replace(" 0 TMP\n", " 0 ii\n"),
    )
    with pytest.raises(LeadMismatchError, match="III = II - I"):
        load_ludb(mini, cache=False)
    kept = load_ludb(mini, cache=False, on_bad="drop")
    assert kept.record_ids.tolist() == ["1", "3"]
    assert list(next(s for s in kept.preprocessing if s["step"] == "drop_refused")["records"]) == ["2"]
    assert len(load_ludb(mini, cache=False, check_lead_relations=False)) == 3


def test_flat_lead_is_a_bad_signal(mini):
    hea = (mini / "data" / "3.hea").read_text()
    dat = mini / "data" / "3.dat"
    raw = np.fromfile(dat, dtype="<i2").reshape(5000, 12)
    raw[:, 8] = 0  # V3 flat
    raw.tofile(dat)
    assert hea == (mini / "data" / "3.hea").read_text()
    with pytest.raises(BadSignalError, match="V3 is flat"):
        load_ludb(mini, cache=False)


def test_unmapped_diagnoses_can_be_an_error(mini):
    with pytest.raises(UnknownLabelError, match="'Left ventricular hypertrophy'"):
        load_ludb(mini, unmapped="raise", cache=False)
    _edit_header(mini / "data" / "1.hea", lambda t: t + "#Brugada syndrome.\n")
    assert unmapped_diagnoses(load_ludb(mini, cache=False))["Brugada syndrome"] == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"classes": ["LVH"]}, r"\['LVH'\] cannot be read"),
        ({"classes": []}, "empty"),
        ({"unmapped": "drop"}, "unmapped"),
        ({"on_bad": "skip"}, "on_bad"),
    ],
)
def test_bad_parameters(mini, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        load_ludb(mini, **kwargs)


# ------------------------------------------------------------------------------------ annotation rules
def _waves(text: str, samples=None):
    symbols = list(text.replace(" ", ""))
    samples = np.arange(10, 10 * (len(symbols) + 1), 10) if samples is None else np.asarray(samples)
    quirks = Counter()
    return parse_waves(symbols, samples, quirks), quirks


def test_parse_regular_waves():
    waves, quirks = _waves("(p) (N) (t)")
    assert waves == [("P", 10, 20, 30), ("QRS", 40, 50, 60), ("T", 70, 80, 90)] and sum(quirks.values()) == 0


def test_parse_missing_brackets_fall_back_to_the_peak():
    waves, quirks = _waves("N) (t) (N")
    assert waves == [("QRS", 10, 10, 20), ("T", 30, 40, 50), ("QRS", 60, 70, 70)]
    assert quirks == {"no_onset": 1, "no_offset": 1}


def test_parse_orphan_brackets_attach_to_the_wave_that_lacks_them():
    waves, quirks = _waves("N () (t)", samples=[100, 101, 130, 200, 220, 250])  # N ( ): peak before the onset
    assert waves == [("QRS", 100, 100, 130), ("T", 200, 220, 250)] and quirks["attached_brackets"] == 1
    waves, _ = _waves("(t) () N", samples=[10, 20, 30, 398, 461, 464])  # ( ) N: offset before the peak
    assert waves == [("T", 10, 20, 30), ("QRS", 398, 464, 464)]
    waves, quirks = _waves("(t) () (t) ()")
    assert len(waves) == 2 and quirks["dropped_brackets"] == 2


def test_parse_repeated_peaks_make_one_wave():
    waves, quirks = _waves("(((ttt)))", samples=[394, 395, 397, 418, 419, 424, 450, 455, 457])
    assert waves == [("T", 394, 418, 457)] and quirks["repeated_peak"] == 1


def test_pr_and_st_pair_consecutive_waves_only():
    rows = [
        ("II", "P", 100, 110, 140),
        ("II", "P", 300, 310, 340),
        ("II", "QRS", 400, 410, 440),
        ("II", "T", 500, 520, 560),
        ("II", "QRS", 700, 710, 740),
        ("II", "QRS", 900, 910, 940),
        ("II", "T", 941, 950, 990),
    ]
    table = pd.DataFrame(
        [r + (100, 990) for r in rows], columns=["lead", "wave", "onset", "peak", "offset", "first", "last"]
    )
    iv = wave_intervals(table)
    assert iv[iv["wave"] == "PR"][["start", "end"]].values.tolist() == [[300, 400]]  # blocked P at 100: no PR
    assert iv[iv["wave"] == "ST"][["start", "end"]].values.tolist() == [[441, 500]]  # T onset right after QRS: no ST
    assert iv[iv["wave"] == "QRS"][["start", "end"]].values.tolist() == [[400, 441], [700, 741], [900, 941]]


def test_mask_runs():
    assert mask_runs(np.array([0, 1, 1, 0, 1], dtype=bool)) == [(1, 3), (4, 5)]
    assert mask_runs(np.zeros(4, dtype=bool)) == []
