"""2-D embeddings (t-SNE, UMAP), trustworthiness and k-NN agreement: golden values by hand, determinism, errors."""

import numpy as np
import pytest

from ecgkd_lite.errors import ConfigError
from ecgkd_lite.evaluate.embedding import embed_2d, knn_agreement, trustworthiness

# five records on a line in two spaces (worked by hand in the tests below)
REF = np.array([[0.0], [1.0], [3.0], [10.0], [12.0]])
OTHER = np.array([[0.0], [5.0], [1.0], [10.0], [11.0]])


def _clusters(n=15, seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(0, 1, (n, 5)), rng.normal(20, 1, (n, 5))])
    return x, np.repeat([0, 1], n)


def test_knn_agreement_golden_values():
    # k=1: ref neighbours 1,0,1,4,3; other 2,2,0,4,3 -> only records 3 and 4 agree
    assert knn_agreement(REF, OTHER, k=1) == pytest.approx(2 / 5)
    # k=2: ref {1,2},{0,2},{0,1},{2,4},{2,3}; other {1,2},{0,2} (tie 0/3 at distance 5 -> lower index),
    # {0,1},{1,4},{1,3}: Jaccard 1, 1, 1, 1/3, 1/3
    assert knn_agreement(REF, OTHER, k=2) == pytest.approx(11 / 15)


def test_knn_agreement_is_one_for_identical_or_rescaled_spaces_and_symmetric():
    x, _ = _clusters()
    assert knn_agreement(x, x, k=5) == 1.0
    assert knn_agreement(x, 3 * x + 7, k=5) == 1.0
    noise = np.random.default_rng(1).normal(size=(30, 2))
    assert knn_agreement(x, noise, k=5) == pytest.approx(knn_agreement(noise, x, k=5))
    assert knn_agreement(x, noise, k=5) < 0.5


def test_trustworthiness_golden_value():
    # k=1, n=5: low-space neighbours r0->r2, r1->r2, r2->r0 are false ones, each at rank 2 in the high space:
    # T = 1 - 2 / (5 * 1 * (10 - 3 - 1)) * (1 + 1 + 1) = 0.8
    assert trustworthiness(REF, OTHER, k=1) == pytest.approx(0.8)
    assert trustworthiness(REF, REF, k=2) == pytest.approx(1.0)


def test_tsne_is_deterministic_for_a_seed_and_keeps_clusters_apart():
    x, labels = _clusters()
    a = embed_2d(x, "tsne", seed=0, perplexity=5)
    assert a.shape == (30, 2) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, embed_2d(x, "tsne", seed=0, perplexity=5))
    distances = np.linalg.norm(a[:, None] - a[None], axis=-1) + np.diag([np.inf] * 30)
    assert (labels[distances.argmin(axis=1)] == labels).all()
    assert trustworthiness(x, a, k=5) > 0.9


@pytest.mark.slow  # the first UMAP call in a process compiles numba code (~25 s on the 2-core CPU)
def test_umap_is_deterministic_for_a_seed():
    x, labels = _clusters()
    a = embed_2d(x, "umap", seed=0, n_neighbors=5)
    assert a.shape == (30, 2)
    np.testing.assert_array_equal(a, embed_2d(x, "umap", seed=0, n_neighbors=5))
    assert knn_agreement(x, a, k=5) > 0.3


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"method": "pca"}, "method must be 'tsne' or 'umap'; got 'pca'"),
        ({"perplexity": 30}, "perplexity 30 must be below the record count 6"),
        ({"perplexity": 2, "foo": 1}, "tsne rejects the settings"),
        ({"perplexity": 2, "max_iter": -5}, "tsne rejects the settings"),
    ],
)
def test_embed_2d_bad_settings(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        embed_2d(np.random.default_rng(0).normal(size=(6, 3)), **kwargs)


@pytest.mark.parametrize(
    "features,message",
    [
        (np.zeros(5), r"features must be a non-empty \(N, D\) array; got shape \(5,\)"),
        (np.zeros((2, 3)), "at least 3 records"),
        (np.where(np.eye(4, 2) == 1, np.nan, 0.0), r"features contains NaN or inf \(record 0\)"),
    ],
)
def test_embed_2d_bad_features(features, message):
    with pytest.raises(ConfigError, match=message):
        embed_2d(features)


def test_comparison_errors_name_the_argument():
    with pytest.raises(ConfigError, match="reference and other must hold the same records; got 5 and 4"):
        knn_agreement(REF, OTHER[:4])
    with pytest.raises(ConfigError, match=r"k must be an integer >= 1 and <= 4; got 5"):
        knn_agreement(REF, OTHER, k=5)
    with pytest.raises(ConfigError, match="k must be an integer"):
        knn_agreement(REF, OTHER, k=True)
    with pytest.raises(ConfigError, match=r"low contains NaN or inf \(record 2\)"):
        trustworthiness(REF, np.where(np.arange(5)[:, None] == 2, np.inf, OTHER))
    with pytest.raises(ConfigError, match=r"k must be below half the record count \(5 / 2\); got 3"):
        trustworthiness(REF, OTHER, k=3)
