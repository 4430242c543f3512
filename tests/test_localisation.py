"""Localisation scores on hand-made maps (golden values), region masks, and every error path."""

import numpy as np
import pandas as pd
import pytest

from ecgkd_lite.data import ECGData
from ecgkd_lite.errors import ConfigError, DataError
from ecgkd_lite.explain import localisation_scores, region_masks

MAPS = np.array(
    [
        [0.0, 0.2, 1.0, 0.2, 0.0, 0.0],  # peak at 2, inside [1, 4): hit, energy 1.4 / 1.4
        [1.0, 0.0, 0.0, 0.5, 0.5, 0.0],  # peak at 0, outside [2, 5): miss, energy 1.0 / 2.0
        [0.5, 0.0, 0.0, 0.0, 0.0, 0.5],  # tied peaks at 0 and 5, 5 inside [5, 6): hit, energy 0.5 / 1.0
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # all zero: points nowhere (miss), energy 0
        [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],  # empty mask: not scored
    ]
)
MASKS = np.zeros_like(MAPS, dtype=bool)
MASKS[0, 1:4] = MASKS[1, 2:5] = MASKS[2, 5] = MASKS[3, 0:3] = True


def test_golden_scores_on_hand_made_maps():
    scores = localisation_scores(MAPS, MASKS)
    assert scores["n_scored"] == 4
    assert scores["pointing_game"] == pytest.approx(2 / 4)
    assert scores["energy_inside"] == pytest.approx((1.0 + 0.5 + 0.5 + 0.0) / 4)


def test_perfect_and_opposite_maps():
    mask = np.array([[False, True, True, False]])
    assert localisation_scores(mask.astype(float), mask) == {"pointing_game": 1.0, "energy_inside": 1.0, "n_scored": 1}
    assert localisation_scores((~mask).astype(float), mask) == {
        "pointing_game": 0.0,
        "energy_inside": 0.0,
        "n_scored": 1,
    }


def test_no_scorable_record_gives_nan_and_zero_count():
    scores = localisation_scores(MAPS[:1], np.zeros((1, 6), dtype=bool))
    assert scores["n_scored"] == 0 and np.isnan(scores["pointing_game"]) and np.isnan(scores["energy_inside"])


@pytest.mark.parametrize(
    "maps,masks,message",
    [
        (MAPS[0], MASKS[0], r"maps must be \(N, T\)"),
        (MAPS, MASKS[:, :4], r"masks must have the maps' shape \(5, 6\)"),
        (MAPS, MASKS.astype(int), "masks must be boolean"),
        (np.where(np.eye(5, 6, k=0) == 1, np.nan, MAPS), MASKS, r"maps contain NaN or inf \(record 0\)"),
        (MAPS - np.eye(5, 6, k=1) * 2, MASKS, r"maps must be non-negative \(record 0\)"),
    ],
)
def test_bad_arguments_raise_config_error(maps, masks, message):
    with pytest.raises(ConfigError, match=message):
        localisation_scores(maps, masks)


def _data(regions: pd.DataFrame | None) -> ECGData:
    return ECGData(
        signals=np.zeros((3, 1, 10), np.float32),
        labels=np.array([[1, 0], [0, 1], [1, 1]], np.float32),
        classes=("AMI", "NORM"),
        fs=100.0,
        folds=np.array([1, 9, 10]),
        record_ids=np.array(["r0", "r1", "r2"]),
        leads=("I",),
        regions=regions,
    )


def test_region_masks_select_one_class():
    data = _data(
        pd.DataFrame(
            {
                "record_id": ["r0", "r2", "r2", "r1"],
                "class": ["AMI", "AMI", "AMI", "NORM"],
                "start": [2, 0, 7, 0],
                "end": [5, 2, 12, 10],
            }
        )
    )  # r2's second region is clipped
    expected = np.zeros((3, 10), bool)
    expected[0, 2:5] = expected[2, 0:2] = expected[2, 7:10] = True
    np.testing.assert_array_equal(region_masks(data, "AMI"), expected)
    np.testing.assert_array_equal(region_masks(data, "AMI", [2, 1]), expected[[2, 1]])
    assert region_masks(data, "NORM").sum() == 10


def test_region_masks_errors():
    with pytest.raises(ConfigError, match=r"class_name 'LVH' is not one of .*'AMI', 'NORM'"):
        region_masks(_data(None), "LVH")
    with pytest.raises(DataError, match="no ground-truth regions"):
        region_masks(_data(None), "AMI")
