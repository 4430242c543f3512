"""ECGDataset: grid crops, epoch-seeded draws, evaluation windows, labeled mask, errors."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from ecgkd_lite.errors import ConfigError
from ecgkd_lite.train import ECGDataset, window_starts
from ecgkd_lite.train.datasets import epoch_order
from train_toys import toy_data


@pytest.fixture(scope="module")
def data():
    return toy_data(n_per_fold=2)  # 20 records, 12 leads, 500 samples


def test_window_starts_golden():
    np.testing.assert_array_equal(window_starts(1000, 250, 125), [0, 125, 250, 375, 500, 625, 750])
    np.testing.assert_array_equal(window_starts(1000, 250, 300), [0, 300, 600, 750])  # end covered
    np.testing.assert_array_equal(window_starts(100, 250, 125), [0])  # shorter than the window
    with pytest.raises(ConfigError, match=r"window \(0\) and stride \(5\)"):
        window_starts(100, 0, 5)


def test_train_item_is_a_grid_crop_of_all_leads(data):
    ds = ECGDataset(data, 250, train=True, seed=3)
    assert len(ds) == len(data)
    item = ds[7]
    assert set(item) == {"x", "y", "index", "start", "labeled"}
    assert item["x"].shape == (12, 250) and item["x"].dtype == torch.float32
    assert item["index"] == 7 and item["labeled"] is True
    assert item["start"] in {0, 125, 250}
    np.testing.assert_array_equal(item["x"].numpy(), data.signals[7, :, item["start"] : item["start"] + 250])
    np.testing.assert_array_equal(item["y"].numpy(), data.labels[7])


def test_crop_draw_is_a_function_of_seed_and_epoch(data):
    a, b, c = (ECGDataset(data, 100, train=True, seed=s) for s in (1, 1, 2))
    starts = lambda ds: ds.batch(np.arange(len(ds)))["start"].numpy()  # noqa: E731
    np.testing.assert_array_equal(starts(a), starts(b))
    assert not np.array_equal(starts(a), starts(c))
    first = starts(a)
    a.set_epoch(1)
    assert not np.array_equal(first, starts(a))
    a.set_epoch(0)
    np.testing.assert_array_equal(first, starts(a))


def test_crop_starts_cover_the_grid_uniformly(data):
    ds = ECGDataset(data, 100, train=True, crop_stride=100, seed=0)  # grid 0, 100, ..., 400
    seen = []
    for epoch in range(50):
        ds.set_epoch(epoch)
        seen.append(ds.batch(np.arange(len(ds)))["start"].numpy())
    values, counts = np.unique(np.concatenate(seen), return_counts=True)
    np.testing.assert_array_equal(values, [0, 100, 200, 300, 400])
    assert counts.min() > 0.8 * counts.mean()  # 1000 draws, 200 expected per start


def test_eval_dataset_enumerates_every_window(data):
    ds = ECGDataset(data, 250, train=False, crop_stride=125)
    assert len(ds) == len(data) * 3
    batch = ds.batch(np.arange(6))
    np.testing.assert_array_equal(batch["index"].numpy(), [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(batch["start"].numpy(), [0, 125, 250, 0, 125, 250])
    whole = ECGDataset(data, 10_000, train=False)
    assert len(whole) == len(data) and whole[0]["x"].shape == (12, 500)
    assert ECGDataset(data, None, train=True)[0]["x"].shape == (12, 500)


def test_batch_matches_items_and_dataloader(data):
    ds = ECGDataset(data, 200, train=True, seed=0)
    batch = ds.batch([4, 2, 9])
    for row, i in enumerate([4, 2, 9]):
        item = ds[i]
        assert torch.equal(batch["x"][row], item["x"]) and batch["start"][row] == item["start"]
    loaded = next(iter(DataLoader(ds, batch_size=5, shuffle=False)))
    assert loaded["x"].shape == (5, 12, 200)
    assert torch.equal(loaded["x"], ds.batch(np.arange(5))["x"])
    with pytest.raises(IndexError, match="item 20 out of range"):
        ds[20]


def test_labeled_mask(data):
    mask = np.zeros(len(data), dtype=bool)
    mask[[1, 3]] = True
    ds = ECGDataset(data, 250, train=True, labeled=mask)
    np.testing.assert_array_equal(ds.batch(np.arange(5))["labeled"].numpy(), [False, True, False, True, False])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"crop_samples": 0}, "crop_samples must be a positive integer"),
        ({"crop_samples": 2.5}, "crop_samples must be a positive integer"),
        ({"crop_samples": 100, "crop_stride": 0}, "crop_stride must be a positive integer"),
        ({"crop_samples": 100, "labeled": np.ones(3, dtype=bool)}, r"labeled must be a boolean mask of shape \(20,\)"),
        ({"crop_samples": 100, "labeled": np.ones(20)}, "labeled must be a boolean mask"),
    ],
)
def test_bad_arguments_are_named(data, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ECGDataset(data, train=True, **kwargs)


def test_epoch_order_is_a_seeded_permutation():
    order = epoch_order(10, seed=0, epoch=0)
    assert sorted(order) == list(range(10))
    np.testing.assert_array_equal(order, epoch_order(10, seed=0, epoch=0))
    assert not np.array_equal(order, epoch_order(10, seed=0, epoch=1))
