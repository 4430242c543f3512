"""2-D embeddings of model outputs (t-SNE, UMAP) and two numbers that compare geometries.

``embed_2d`` draws a picture; ``trustworthiness`` says how faithful the picture is to the original
space; ``knn_agreement`` says how close a student's neighbourhood structure is to the teacher's,
measured in the original spaces (no 2-D projection involved).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..checks import check_int
from ..errors import ConfigError

#: the fixed settings every figure uses (each overridable through ``embed_2d(**settings)``)
TSNE_SETTINGS = {"perplexity": 30.0, "init": "pca", "learning_rate": "auto"}
UMAP_SETTINGS = {"n_neighbors": 15, "min_dist": 0.1, "n_jobs": 1}


def embed_2d(features: np.ndarray, method: str = "tsne", seed: int = 0, **settings) -> np.ndarray:
    """(N, D) features -> (N, 2) coordinates by t-SNE or UMAP with fixed settings.

    * ``"tsne"``: scikit-learn ``TSNE`` (van der Maaten & Hinton 2008), perplexity 30, PCA
      initialisation, learning rate "auto" (N / 12 / 4, Belkina et al. 2019), ``random_state=seed``.
      Deterministic for a given seed.
    * ``"umap"``: umap-learn ``UMAP`` (McInnes et al. 2018), n_neighbors 15, min_dist 0.1,
      ``random_state=seed`` and ``n_jobs=1``: UMAP is reproducible only with a seed, which forces a
      single thread. The first call in a process pays numba's JIT compilation (seconds).

    ``settings`` override these (e.g. ``perplexity=10`` for a small N). Raises ConfigError for bad
    features (not 2-D, non-finite, fewer than 3 records), an unknown method or settings the
    method rejects.
    """
    x = _check_matrix(features, "features")
    seed = check_int("seed", seed, low=0, high=2**32 - 1)  # the scikit-learn / umap seed range
    if len(x) < 3:
        raise ConfigError(f"features must hold at least 3 records to embed; got {len(x)}")
    reducer_class, params = _reducer(method, settings)
    if method == "tsne" and params["perplexity"] >= len(x):
        raise ConfigError(f"t-SNE perplexity {params['perplexity']} must be below the record count {len(x)}")
    try:
        with warnings.catch_warnings():  # UMAP warns that the seed forces n_jobs=1: that is intended
            warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
            return np.asarray(reducer_class(n_components=2, random_state=seed, **params).fit_transform(x), dtype=float)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{method} rejects the settings {params}: {err}") from None


def _reducer(method: str, settings: dict) -> tuple[type, dict]:
    """The estimator class of ``method`` and its settings (the fixed ones, overridden by ``settings``)."""
    if method == "tsne":
        from sklearn.manifold import TSNE

        return TSNE, {**TSNE_SETTINGS, **settings}
    if method == "umap":
        from umap import UMAP

        return UMAP, {**UMAP_SETTINGS, **settings}
    raise ConfigError(f"method must be 'tsne' or 'umap'; got {method!r}")


def trustworthiness(high: np.ndarray, low: np.ndarray, k: int = 5) -> float:
    """Trustworthiness of an embedding (Venna & Kaski 2001), via ``sklearn.manifold.trustworthiness``.

    ``T(k) = 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in U_i^k} (r(i, j) - k)``, where ``U_i^k``
    are the points among i's k nearest neighbours in ``low`` but not in ``high`` and ``r(i, j)`` is
    j's rank among i's neighbours in ``high``. 1 = no false neighbours. Needs ``k < n / 2``.
    """
    from sklearn.manifold import trustworthiness as sk_trustworthiness

    high, low = _check_pair(high, low, "high", "low")
    k = _check_k(k, len(high))
    if k >= len(high) / 2:
        raise ConfigError(f"k must be below half the record count ({len(high)} / 2); got {k}")
    return float(sk_trustworthiness(high, low, n_neighbors=k))


def knn_agreement(reference: np.ndarray, other: np.ndarray, k: int = 10) -> float:
    """Mean Jaccard overlap of each record's k nearest neighbours in two spaces (Euclidean).

    ``A(k) = (1/N) sum_i |N_k^ref(i) ∩ N_k^other(i)| / |N_k^ref(i) ∪ N_k^other(i)|``, the record
    itself excluded from its neighbours. 1 = the same neighbourhoods (e.g. identical inputs); two
    unrelated spaces score about ``k / (2 (N - 1) - k)`` (chance). The two spaces may have different
    widths (teacher vs student). Distance ties are broken by record index.
    """
    reference, other = _check_pair(reference, other, "reference", "other")
    k = _check_k(k, len(reference))
    a, b = _neighbours(reference, k), _neighbours(other, k)
    shared = np.array([len(np.intersect1d(ra, rb, assume_unique=True)) for ra, rb in zip(a, b)])
    return float(np.mean(shared / (2 * k - shared)))


def _neighbours(x: np.ndarray, k: int) -> np.ndarray:
    """(N, k) indices of each row's k nearest other rows; ties by index (stable sort)."""
    from sklearn.metrics import pairwise_distances_chunked

    rows = []
    start = 0
    for block in pairwise_distances_chunked(x):
        block = block.copy()
        block[np.arange(len(block)), start + np.arange(len(block))] = np.inf
        rows.append(np.argsort(block, axis=1, kind="stable")[:, :k])
        start += len(block)
    return np.concatenate(rows)


def _check_matrix(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ConfigError(f"{name} must be a non-empty (N, D) array; got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ConfigError(f"{name} contains NaN or inf (record {np.flatnonzero(~np.isfinite(x).all(1))[0]})")
    return x


def _check_pair(a, b, name_a: str, name_b: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = _check_matrix(a, name_a), _check_matrix(b, name_b)
    if len(a) != len(b):
        raise ConfigError(f"{name_a} and {name_b} must hold the same records; got {len(a)} and {len(b)} rows")
    return a, b


def _check_k(k, n: int) -> int:
    """``k`` neighbours among ``n`` records: an integer in [1, n - 1]."""
    return check_int("k", k, low=1, high=n - 1)
