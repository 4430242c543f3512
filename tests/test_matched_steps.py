"""Epochs of a fixed length on a small labeled set (``matched_batches(..., steps=)``): a teacher trained
on the labeled part of a semi-supervised pool gets epochs as long as its students' (bench/semi.py)."""

from __future__ import annotations

import numpy as np
import pytest

from ecgkd_lite.errors import ConfigError
from ecgkd_lite.train.matched import matched_batches


def test_fixed_steps_draw_fresh_permutations_of_the_labeled_records():
    mask = np.ones(10, dtype=bool)
    batches = matched_batches(mask, 4, 4, seed=0, epoch=0, steps=7)
    assert len(batches) == 7 and all(len(b) == 4 for b in batches)
    counts = np.bincount(np.concatenate(batches), minlength=10)
    assert counts.min() >= 2 and counts.max() <= 3  # 28 draws = 2 full permutations + 8 of a third
    assert [b.tolist() for b in batches] == [b.tolist() for b in matched_batches(mask, 4, 4, 0, 0, steps=7)]
    assert [b.tolist() for b in batches] != [b.tolist() for b in matched_batches(mask, 4, 4, 0, 1, steps=7)]
    # without steps: one pass over the labeled records
    assert len(matched_batches(mask, 4, 4, seed=0, epoch=0)) == 2


def test_a_pool_smaller_than_a_batch_takes_batches_of_all_its_records():
    mask = np.ones(6, dtype=bool)
    batches = matched_batches(mask, 16, 6, seed=1, epoch=0, steps=3)
    assert [sorted(b.tolist()) for b in batches] == [list(range(6))] * 3
    with pytest.raises(ConfigError, match="min\\(batch_size, n_labeled\\) = 6"):
        matched_batches(mask, 16, 4, seed=1, epoch=0)


def test_fixed_steps_with_unlabeled_records_keep_k_labeled_per_batch():
    mask = np.zeros(40, dtype=bool)
    mask[:5] = True
    batches = matched_batches(mask, 8, 2, seed=0, epoch=0, steps=6)
    assert all(mask[b].sum() == 2 and len(b) == 8 for b in batches)


@pytest.mark.parametrize("steps", [0, -1, 2.5, True])
def test_bad_steps_are_refused(steps):
    with pytest.raises(ConfigError, match="steps must be an integer >= 1"):
        matched_batches(np.ones(10, dtype=bool), 4, 4, seed=0, epoch=0, steps=steps)
