"""The Dower transform (Dower 1980/1988) and the inverse Dower matrix (Edenbrandt & Pahlm 1988)."""

import numpy as np
import pytest

from ecgkd_lite.data.dower import DOWER_12, DOWER_8, INVERSE_DOWER, PINV_DOWER_12, dipole_to_leads, leads_to_dipole
from ecgkd_lite.data.leads import LEADS12
from ecgkd_lite.errors import ConfigError

L = {name: i for i, name in enumerate(LEADS12)}


def test_published_coefficients_are_pinned():
    assert DOWER_12.shape == (12, 3) and INVERSE_DOWER.shape == (3, 8)
    np.testing.assert_array_equal(DOWER_12[L["I"]], [0.632, -0.235, 0.059])
    np.testing.assert_array_equal(DOWER_12[L["V2"]], [0.044, 0.164, -1.387])
    np.testing.assert_array_equal(DOWER_12[L["V6"]], [0.831, 0.076, 0.230])
    np.testing.assert_array_equal(INVERSE_DOWER[:, 0], [0.156, -0.227, 0.022])
    np.testing.assert_array_equal(INVERSE_DOWER[:, 7], [0.194, 0.048, 0.108])
    np.testing.assert_allclose(DOWER_12[L["III"]], [-0.397, 1.301, -0.191], atol=1e-12)


def test_derived_limb_leads_obey_einthoven_and_goldberger():
    rng = np.random.default_rng(0)
    ecg = dipole_to_leads(rng.normal(size=(4, 3, 50)))
    i, ii, iii = ecg[:, L["I"]], ecg[:, L["II"]], ecg[:, L["III"]]
    np.testing.assert_allclose(iii, ii - i, atol=1e-12)
    np.testing.assert_allclose(ecg[:, L["aVR"]] + ecg[:, L["aVL"]] + ecg[:, L["aVF"]], 0.0, atol=1e-12)
    np.testing.assert_allclose(ecg[:, L["aVR"]], -(i + ii) / 2, atol=1e-12)
    np.testing.assert_allclose(ecg[:, L["aVL"]], i - ii / 2, atol=1e-12)
    np.testing.assert_allclose(ecg[:, L["aVF"]], ii - i / 2, atol=1e-12)


def test_inverse_dower_round_trip_is_close_not_exact():
    # measured: max |INVERSE_DOWER @ DOWER_8 - I| = 6.25e-4 (three-decimal publication)
    deviation = np.abs(INVERSE_DOWER @ DOWER_8 - np.eye(3)).max()
    assert 1e-4 < deviation < 1e-3
    d = np.random.default_rng(1).normal(size=(6, 3, 100))
    back = leads_to_dipole(dipole_to_leads(d))
    rel = np.linalg.norm(back - d) / np.linalg.norm(d)
    assert 1e-5 < rel < 1e-3


def test_pseudo_inverse_round_trip_is_exact():
    d = np.random.default_rng(2).normal(size=(5, 3, 64))
    np.testing.assert_allclose(np.matmul(PINV_DOWER_12, dipole_to_leads(d)), d, atol=1e-12)


def test_shapes_and_dtype_are_kept():
    vcg = np.ones((2, 7, 3, 10), dtype=np.float32)
    ecg = dipole_to_leads(vcg)
    assert ecg.shape == (2, 7, 12, 10) and ecg.dtype == np.float32
    assert leads_to_dipole(ecg).shape == (2, 7, 3, 10)


@pytest.mark.parametrize(
    "fn, shape, name", [(dipole_to_leads, (2, 4, 10), "vcg"), (leads_to_dipole, (2, 8, 10), "ecg")]
)
def test_wrong_shape_raises_config_error_naming_the_argument(fn, shape, name):
    with pytest.raises(ConfigError, match=name):
        fn(np.zeros(shape))
