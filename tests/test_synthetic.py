"""The synthetic 12-lead generator: determinism, contract, labels, ground truth, and one physiological
test per condition (same patient rendered noise-free with the condition off and on)."""

import numpy as np
import pandas as pd
import pytest

from ecgkd_lite.data.conditions import CLASS_NAMES, CONDITIONS
from ecgkd_lite.data.container import FIDUCIAL_COLUMNS
from ecgkd_lite.data.dower import DOWER_12, PINV_DOWER_12
from ecgkd_lite.data.leads import LEADS12
from ecgkd_lite.data.synthetic import (
    DEFAULT_PREVALENCE,
    RNG_BLOCK,
    load_synthetic,
    record_params,
    render,
    sample_params,
)
from ecgkd_lite.errors import ConfigError

L = {name: i for i, name in enumerate(LEADS12)}
FS = 250
SECONDS = 8.0


@pytest.fixture(scope="module")
def small():
    return load_synthetic(40, fs=100, seconds=5, seed=3)


# ------------------------------------------------------------------ determinism
def test_same_seed_is_bit_identical_and_chunking_does_not_matter(small):
    again = load_synthetic(40, fs=100, seconds=5, seed=3, chunk_size=7)
    np.testing.assert_array_equal(small.signals, again.signals)
    np.testing.assert_array_equal(small.labels, again.labels)
    np.testing.assert_array_equal(small.folds, again.folds)
    pd.testing.assert_frame_equal(small.fiducials, again.fiducials)
    pd.testing.assert_frame_equal(small.regions, again.regions)


def test_different_seed_differs(small):
    other = load_synthetic(40, fs=100, seconds=5, seed=4)
    assert not np.array_equal(small.signals, other.signals)
    assert not np.array_equal(small.labels, other.labels)


def test_a_record_depends_only_on_seed_and_index():
    longer = load_synthetic(RNG_BLOCK + 6, fs=100, seconds=2, seed=9, chunk_size=33)
    shorter = load_synthetic(5, fs=100, seconds=2, seed=9)
    np.testing.assert_array_equal(longer.signals[:5], shorter.signals)


GOLDEN_SIGNALS = np.array(
    [
        [0.1459, 0.2966, 0.1561],
        [0.1778, 0.2782, 0.1430],
        [0.0319, -0.0184, -0.0132],
        [-0.1619, -0.2874, -0.1496],
        [0.0570, 0.1575, 0.0847],
        [0.1049, 0.1299, 0.0649],
        [-0.1735, -0.4138, -0.2168],
        [-0.0290, -0.2393, -0.1083],
        [0.1428, 0.2427, 0.1049],
        [0.2612, 0.5361, 0.3309],
        [0.3203, 0.6006, 0.3091],
        [0.2322, 0.5012, 0.2523],
    ]
)
GOLDEN_LABELS = [14]  # LVOLT
GOLDEN_FIDUCIALS = [25, 30, 35, 41, 45, 50, 69, 79]


def test_golden_values():
    data = load_synthetic(2, fs=100, seconds=2, seed=0)
    np.testing.assert_allclose(data.signals[0, :, 44:47], GOLDEN_SIGNALS, atol=1e-4)  # around the first R peak
    assert data.labels[0].nonzero()[0].tolist() == GOLDEN_LABELS
    assert data.fiducials.iloc[0][list(FIDUCIAL_COLUMNS)].tolist() == GOLDEN_FIDUCIALS


# ------------------------------------------------------------------ contract
def test_container_contract(small):
    assert small.signals.dtype == np.float32 and small.signals.shape == (40, 12, 500)
    assert small.classes == CLASS_NAMES and small.leads == LEADS12 and small.source == "synthetic"
    assert small.snomed == tuple(c.snomed for c in CONDITIONS)
    assert small.record_ids[0] == "syn3-000000" and small.record_ids[-1] == "syn3-000039"
    assert list(small.meta.columns) == ["age", "sex", "heart_rate"]
    assert small.validate() is small


def test_amplitudes_are_in_millivolts():
    data = load_synthetic(60, fs=250, seconds=4, seed=1, noise=False)
    norm = data.labels[:, CLASS_NAMES.index("NORM")] == 1
    r_amp = np.abs(data.signals[norm][:, [L["II"], L["V5"]]]).max(-1).max(-1)
    assert 0.5 < np.median(r_amp) < 2.5
    assert np.abs(data.signals).max() < 8.0


def test_limb_leads_are_derived_exactly_even_with_noise(small):
    s = small.signals
    np.testing.assert_allclose(s[:, L["III"]], s[:, L["II"]] - s[:, L["I"]], atol=1e-5)
    np.testing.assert_allclose(s[:, L["aVR"]] + s[:, L["aVL"]] + s[:, L["aVF"]], 0, atol=1e-5)


def test_noise_free_signals_are_an_exact_dower_projection():
    sig, _, _ = render(record_params(3, 5), FS, 3.0, noise=False)
    np.testing.assert_allclose(np.matmul(DOWER_12 @ PINV_DOWER_12, sig), sig, atol=1e-5)


def test_noise_changes_the_signal_not_the_beats():
    params = record_params(6, 2)
    quiet, fid_quiet, reg_quiet = render(params, FS, 4.0, noise=False)
    noisy, fid_noisy, reg_noisy = render(params, FS, 4.0, noise=True)
    assert not np.array_equal(quiet, noisy)
    pd.testing.assert_frame_equal(fid_quiet, fid_noisy)
    pd.testing.assert_frame_equal(reg_quiet, reg_noisy)


def test_folds_are_balanced_and_deterministic():
    data = load_synthetic(203, fs=100, seconds=1, seed=5)
    sizes = np.bincount(data.folds, minlength=11)[1:]
    assert data.folds.min() == 1 and data.folds.max() == 10 and sizes.max() - sizes.min() <= 1
    np.testing.assert_array_equal(data.folds, load_synthetic(203, fs=100, seconds=1, seed=5).folds)


# ------------------------------------------------------------------ labels
@pytest.fixture(scope="module")
def many_params():
    return record_params(2000, seed=11)


def test_label_constraints(many_params):
    y = many_params[list(CLASS_NAMES)].to_numpy()
    col = {c: i for i, c in enumerate(CLASS_NAMES)}
    others = np.delete(y, col["NORM"], axis=1)
    np.testing.assert_array_equal(y[:, col["NORM"]], others.sum(1) == 0)
    for group in (("SBRAD", "STACH", "AFIB"), ("CRBBB", "CLBBB"), ("LVH", "LVOLT")):
        assert y[:, [col[c] for c in group]].sum(1).max() == 1
    assert not (y[:, col["1AVB"]] & y[:, col["AFIB"]]).any()
    assert not (y[:, col["LAFB"]] & y[:, col["CLBBB"]]).any()


def test_prevalence_matches_the_stated_marginals(many_params):
    y = many_params[list(CLASS_NAMES)].to_numpy()
    rate = dict(zip(CLASS_NAMES, y.mean(0)))
    for code, p in DEFAULT_PREVALENCE.items():
        assert abs(rate[code] - p) < 4 * np.sqrt(p * (1 - p) / len(y)), code
    assert 0.15 < rate["NORM"] < 0.30


def test_custom_prevalence():
    y = sample_params(3000, np.random.default_rng(0), {"AMI": 0.3, "PVC": 0.0})
    assert abs(y["AMI"].mean() - 0.3) < 0.035 and y["PVC"].sum() == 0


# ------------------------------------------------------------------ ground truth
def test_fiducials_and_regions_lie_inside_the_record_and_follow_the_labels(small):
    t = small.n_samples
    fid = small.fiducials
    values = fid[list(FIDUCIAL_COLUMNS)].to_numpy()
    assert ((values == -1) | ((values >= 0) & (values < t))).all()
    assert (fid.r_peak >= 0).all()
    complete = (values >= 0).all(1)
    assert complete.any() and (np.diff(values[complete], axis=1) > 0).all()
    reg = small.regions
    assert ((reg.start >= 0) & (reg.end <= t) & (reg.end > reg.start)).all()
    have = set(zip(reg.record_id, reg["class"]))
    expected = {(rid, c) for rid, row in zip(small.record_ids, small.labels) for c, v in zip(CLASS_NAMES, row) if v}
    assert have == expected
    mask = small.region_mask([0])
    assert mask.shape == (1, 15, t) and mask[0][small.labels[0] == 1].any(1).all()


def test_pvc_and_af_beats_have_no_p_wave(small):
    fid = small.fiducials
    assert (fid.loc[fid.is_pvc, ["p_on", "p_peak", "p_off"]] == -1).all().all()
    af = small.record_ids[small.labels[:, CLASS_NAMES.index("AFIB")] == 1]
    assert len(af) and (fid.loc[fid.record_id.isin(af), "p_on"] == -1).all()


# ------------------------------------------------------------------ one condition at a time
@pytest.fixture(scope="module")
def patient():
    """A patient with every label off (row 0 of seed 21)."""
    p = record_params(1, 21)
    p[list(CLASS_NAMES)] = 0
    return p


def _render(patient, *on, seconds=SECONDS):
    p = patient.copy()
    for code in on:
        p[code] = 1
    p["NORM"] = int(not on)
    sig, fid, _ = render(p, FS, seconds, noise=False)
    return sig[0], fid


def _beat(sig, fid, i=1, pvc=False):
    rows = fid[fid.is_pvc == pvc]
    return rows.iloc[i]


def _ms(samples):
    return 1000 * np.asarray(samples) / FS


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x))))


def test_normal_patient_is_normal(patient):
    sig, fid = _render(patient)
    b = _beat(sig, fid)
    rr = np.diff(fid.r_peak) / FS
    assert 0.6 < rr.mean() < 1.0 and rr.std() / rr.mean() < 0.06
    assert 120 <= _ms(b.qrs_on - b.p_on) < 200
    assert _ms(b.qrs_off - b.qrs_on) < 110


def test_sbrad_and_stach(patient):
    for code, check in (("SBRAD", lambda rr: rr > 1.0), ("STACH", lambda rr: rr < 0.6)):
        _, fid = _render(patient, code)
        assert check(np.diff(fid.r_peak).mean() / FS), code


def test_afib_irregular_without_p(patient):
    _, fid = _render(patient, "AFIB")
    rr = np.diff(fid.r_peak) / FS
    assert rr.std() / rr.mean() > 0.08
    assert (fid[["p_on", "p_peak", "p_off"]] == -1).all().all()


def test_first_degree_av_block(patient):
    _, fid = _render(patient, "1AVB")
    pr = _ms(fid.qrs_on - fid.p_on)[fid.p_on >= 0]
    assert len(pr) and (pr > 200).all()


def _qrs_ms(fid):
    inside = fid[(fid.qrs_on >= 0) & (fid.qrs_off >= 0)]
    assert len(inside)
    return _ms((inside.qrs_off - inside.qrs_on).to_numpy())


def test_crbbb(patient):
    sig, fid = _render(patient, "CRBBB")
    assert (_qrs_ms(fid) >= 120).all()
    b = _beat(sig, fid)
    late = slice(b.r_peak + int(0.02 * FS), b.qrs_off + 1)
    assert sig[L["V1"], late].max() > 0.2  # R' in V1
    assert sig[L["I"], late].min() < -0.1 and sig[L["V6"], late].min() < -0.1  # wide S in I and V6


def test_clbbb(patient):
    sig, fid = _render(patient, "CLBBB")
    assert (_qrs_ms(fid) >= 120).all()
    b = _beat(sig, fid)
    qrs = slice(b.qrs_on, b.qrs_off + 1)
    assert sig[L["V1"], qrs].max() < 0.1 and sig[L["V1"], qrs].min() < -0.8  # QS in V1
    assert sig[L["V6"], qrs].min() > -0.1 and sig[L["I"], qrs].max() > 0.3  # broad R in I / V6
    assert sig[L["V6"], b.t_peak] < 0  # discordant T


def _axis_deg(sig, b):
    qrs = slice(b.qrs_on, b.qrs_off + 1)
    return np.degrees(np.arctan2(sig[L["aVF"], qrs].sum(), sig[L["I"], qrs].sum()))


def _lead_change(off, on, leads):
    return {lead: _rms(on[L[lead]] - off[L[lead]]) for lead in leads}


def test_lafb_left_axis_hidden_from_lead_i(patient):
    off, fid = _render(patient)
    on, fid_on = _render(patient, "LAFB")
    assert _axis_deg(off, _beat(off, fid)) > 0
    assert _axis_deg(on, _beat(on, fid_on)) < -30
    change = _lead_change(off, on, ("I", "II", "III", "aVF"))
    assert change["I"] < 0.3 * min(change["II"], change["III"], change["aVF"])


@pytest.mark.parametrize("code, leads", [("AMI", ("V2", "V3")), ("IMI", ("II", "III", "aVF"))])
def test_infarcts_q_and_st_elevation_hidden_from_lead_i(patient, code, leads):
    off, fid = _render(patient)
    on, fid_on = _render(patient, code)
    b_off, b_on = _beat(off, fid), _beat(on, fid_on)
    for lead in leads:
        j60 = int(0.06 * FS)
        st_rise = on[L[lead], b_on.qrs_off + j60] - off[L[lead], b_off.qrs_off + j60]
        assert st_rise > 0.05, lead
        early = lambda s, b: s[L[lead], b.qrs_on : b.qrs_on + int(0.04 * FS)].min()  # noqa: E731
        assert early(on, b_on) < early(off, b_off) - 0.1, lead  # deeper initial negativity (Q)
    change = _lead_change(off, on, ("I",) + leads)
    assert change["I"] < 0.3 * min(change[lead] for lead in leads)


def test_lvh_sokolow(patient):
    sig, fid = _render(patient, "LVH")
    b = _beat(sig, fid)
    qrs = slice(b.qrs_on, b.qrs_off + 1)
    assert -sig[L["V1"], qrs].min() + sig[L["V5"], qrs].max() > 3.5


def test_nst_flattens_or_inverts_t(patient):
    off, fid = _render(patient)
    on, fid_on = _render(patient, "NST_")
    t_off, t_on = off[L["V5"], _beat(off, fid).t_peak], on[L["V5"], _beat(on, fid_on).t_peak]
    assert t_off > 0.1 and t_on < 0.5 * t_off


def test_pvc_early_wide_with_compensatory_pause(patient):
    sig, fid = _render(patient, "PVC")
    pvc = fid[fid.is_pvc]
    assert len(pvc) >= 1 and (_qrs_ms(pvc) >= 120).all()
    sinus_rr = np.median(np.diff(fid.r_peak[~fid.is_pvc]))
    for idx in pvc.index[(pvc.index > 0) & (pvc.index < len(fid) - 1)]:
        before = fid.r_peak[idx] - fid.r_peak[idx - 1]
        after = fid.r_peak[idx + 1] - fid.r_peak[idx]
        assert before < 0.75 * sinus_rr
        assert abs(before + after - 2 * sinus_rr) < 0.1 * sinus_rr


def test_long_qt(patient):
    for on, check in (((), lambda q: q < 0.44), (("LNGQT",), lambda q: q > 0.46)):
        _, fid = _render(patient, *on)
        rr = np.diff(fid.r_peak).mean() / FS
        qtc = (fid.t_off - fid.qrs_on).iloc[1:-1].mean() / FS / np.sqrt(rr)
        assert check(qtc), (on, qtc)


def test_low_voltage(patient):
    for on, check in (((), lambda v: v.max() >= 0.5), (("LVOLT",), lambda v: v.max() < 0.5)):
        sig, fid = _render(patient, *on)
        b = _beat(sig, fid)
        limb = np.ptp(sig[:6, b.qrs_on : b.qrs_off + 1], axis=1)
        assert check(limb), (on, limb)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_records": 0}, "n_records"),
        ({"fs": 0}, "fs"),
        ({"seconds": -1.0}, "seconds"),
        ({"seed": -1}, "seed"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"prevalence": {"XYZ": 0.1}}, "XYZ"),
        ({"prevalence": {"AMI": 1.5}}, "AMI"),
        ({"prevalence": {"NORM": 0.2}}, "NORM"),
        ({"prevalence": {"SBRAD": 0.6, "STACH": 0.6}}, "SBRAD"),
    ],
)
def test_bad_arguments_raise_config_error_naming_them(kwargs, name):
    args = {"n_records": 2, "fs": 100, "seconds": 1.0} | kwargs
    with pytest.raises(ConfigError, match=name):
        load_synthetic(**args)


def test_lead_effects_show_the_lead_I_gap():
    """The counterfactual effect table: hidden conditions change lead I far less than their own
    leads; rhythm conditions change lead I as much as any lead."""
    from ecgkd_lite.data.conditions import CONDITIONS
    from ecgkd_lite.data.visibility import lead_effects

    eff = lead_effects(n_patients=8, fs=100, seconds=5, seed=1)
    assert list(eff.columns) == list(LEADS12) and "NORM" not in eff.index and len(eff) == 14
    hidden = [c.code for c in CONDITIONS if c.lead_I == "hidden"]
    for code in hidden:
        assert eff.loc[code, "I"] < 0.35 * eff.loc[code].drop("I").max(), code
    for code in ("AFIB", "PVC", "CLBBB"):
        assert eff.loc[code, "I"] > 0.5 * eff.loc[code].max(), code
    with pytest.raises(ConfigError, match="n_patients"):
        lead_effects(0)
