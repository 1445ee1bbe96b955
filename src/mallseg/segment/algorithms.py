"""The clustering algorithms a segmentation can use, by name.

Every algorithm is built by :func:`make_clusterer` as an estimator with ``fit(points)`` and
``predict(points)`` over the preprocessed matrix ``points``, and, once fitted, ``cluster_centers_``
(one row per segment). How a new customer is assigned differs:

- ``"kmeans"``, ``"minibatch_kmeans"``, ``"ward"``: nearest centre (``"centroid"``);
- ``"gmm"``: the component with the highest posterior probability (``"posterior"``);
- ``"hdbscan"``: the segment of the nearest exemplar when the customer lies inside that
  exemplar's core distance, else ``-1`` (unassigned) (``"exemplar"``).

Examples
--------
>>> import numpy as np
>>> from sklearn.datasets import make_blobs
>>> points, _ = make_blobs(n_samples=300, centers=3, random_state=0)
>>> model = make_clusterer("ward", 3, random_state=0, n_samples=len(points)).fit(points)
>>> model.cluster_centers_.shape
(3, 2)
>>> sorted(ALGORITHMS)
['gmm', 'hdbscan', 'kmeans', 'minibatch_kmeans', 'ward']
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "ALGORITHMS",
    "AlgorithmSpec",
    "HDBSCANExemplars",
    "SampledMiniBatchKMeans",
    "WardCentroids",
    "default_min_cluster_size",
    "make_clusterer",
    "nearest_center",
    "squared_distances",
    "within_radius",
]

logger = logging.getLogger(__name__)

Assignment = Literal["centroid", "posterior", "exemplar"]

SMALL_N = 20_000
"""Up to this many rows, fits restart more often (cheap, and small data has more local optima)."""

WARD_MAX_ROWS = 10_000
"""Ward's linkage costs O(n^2) memory: above this many rows it is fitted on a sample."""

HDBSCAN_MAX_EXEMPLARS = 5_000
"""Most training members kept to assign new customers to HDBSCAN segments."""

_CHUNK_ROWS = 65_536


def squared_distances(points: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Return squared Euclidean distances between rows of ``points`` and ``centers``.

    Examples
    --------
    >>> import numpy as np
    >>> squared_distances(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [0.0, 1.0]])).tolist()
    [[25.0, 1.0]]
    """
    row_norms = (points * points).sum(axis=1)[:, None]
    center_norms = (centers * centers).sum(axis=1)[None, :]
    result = row_norms - 2.0 * (points @ centers.T) + center_norms
    return np.maximum(result, 0.0)


def within_radius(squared_distance: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Return whether a squared distance lies within ``radius``, with a rounding tolerance.

    A training row often sits exactly at an exemplar's core distance (it *is* the
    neighbour that defines it); the relative tolerance keeps batch and one-row arithmetic
    agreeing on such rows.

    Examples
    --------
    >>> import numpy as np
    >>> within_radius(np.array([4.0, 4.0 + 1e-14, 4.1]), np.array([2.0, 2.0, 2.0])).tolist()
    [True, True, False]
    """
    return np.asarray(squared_distance <= radius * radius * (1.0 + 1e-9) + 1e-12)


def nearest_center(points: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Return the index of the nearest centre for every row of ``points`` (in chunks).

    Examples
    --------
    >>> import numpy as np
    >>> nearest_center(np.array([[0.0], [9.0]]), np.array([[1.0], [10.0]])).tolist()
    [0, 1]
    """
    labels = np.empty(len(points), dtype=np.int64)
    center_norms = (centers * centers).sum(axis=1)
    for start in range(0, len(points), _CHUNK_ROWS):
        block = points[start : start + _CHUNK_ROWS]
        # ||z||^2 is the same for every centre, so it does not change the argmin
        labels[start : start + len(block)] = np.argmin(
            center_norms[None, :] - 2.0 * (block @ centers.T), axis=1
        )
    return labels


class SampledMiniBatchKMeans(ClusterMixin, BaseEstimator):
    """Mini-batch k-means whose batches are drawn in O(batch) time.

    scikit-learn's ``MiniBatchKMeans.fit`` draws each batch with a weighted choice over all
    ``n`` rows, so a fit costs O(n^2). Here k-means seeds come from a sample (k-means++ and
    a few Lloyd iterations), then ``clip(2 * n / batch_size, 10, 400)`` batches drawn
    uniformly with replacement each move every centre toward the mean of its batch members
    with rate ``batch members / all members seen so far`` (each centre is the running mean
    of the points it has won), and a final assignment pass labels every row.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn.metrics import adjusted_rand_score
    >>> points, truth = make_blobs(n_samples=2000, centers=3, cluster_std=0.5, random_state=1)
    >>> model = SampledMiniBatchKMeans(n_clusters=3, random_state=0).fit(points)
    >>> adjusted_rand_score(truth, model.labels_)
    1.0
    """

    def __init__(
        self, n_clusters: int = 8, batch_size: int = 4096, random_state: int | None = 0
    ) -> None:
        self.n_clusters = n_clusters
        self.batch_size = batch_size
        self.random_state = random_state

    def fit(self, points: np.ndarray, y: object = None) -> SampledMiniBatchKMeans:
        """Fit centres to ``points``."""
        points = np.asarray(points, dtype=np.float64)
        n = len(points)
        rng = np.random.default_rng(self.random_state)
        seed_rows = min(n, max(10 * self.n_clusters, 20 * self.batch_size))
        seed_sample = points[np.sort(rng.choice(n, size=seed_rows, replace=False))]
        centers = KMeans(
            n_clusters=self.n_clusters, n_init=3, max_iter=50, random_state=self.random_state
        ).fit(seed_sample).cluster_centers_.astype(np.float64)
        batch = min(self.batch_size, n)
        seen = np.zeros(self.n_clusters, dtype=np.float64)
        n_steps = int(np.clip(math.ceil(2 * n / batch), 10, 400))
        for _ in range(n_steps):
            members = points[rng.integers(0, n, size=batch)]
            labels = nearest_center(members, centers)
            counts = np.bincount(labels, minlength=self.n_clusters).astype(np.float64)
            sums = np.zeros_like(centers)
            np.add.at(sums, labels, members)
            won = counts > 0
            seen += counts
            rate = counts[won] / seen[won]
            centers[won] += rate[:, None] * (sums[won] / counts[won, None] - centers[won])
        self.cluster_centers_ = centers
        self.labels_ = nearest_center(points, centers)
        self.n_steps_ = n_steps
        return self

    def predict(self, points: np.ndarray) -> np.ndarray:
        """Return the nearest centre of every row."""
        check_is_fitted(self, "cluster_centers_")
        return nearest_center(np.asarray(points, dtype=np.float64), self.cluster_centers_)


class WardCentroids(ClusterMixin, BaseEstimator):
    """Ward agglomerative clustering, with its segments summarised by their centroids.

    Fitted on at most ``max_rows`` rows (a random sample above that); new customers go to
    the nearest centroid.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn.metrics import adjusted_rand_score
    >>> points, truth = make_blobs(n_samples=200, centers=2, cluster_std=0.5, random_state=0)
    >>> adjusted_rand_score(truth, WardCentroids(n_clusters=2).fit(points).predict(points))
    1.0
    """

    def __init__(
        self, n_clusters: int = 8, max_rows: int = WARD_MAX_ROWS, random_state: int | None = 0
    ) -> None:
        self.n_clusters = n_clusters
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, points: np.ndarray, y: object = None) -> WardCentroids:
        """Cut the Ward hierarchy of ``points`` (or of a sample) into ``n_clusters`` segments."""
        points = np.asarray(points, dtype=np.float64)
        if len(points) > self.max_rows:
            rng = np.random.default_rng(self.random_state)
            points = points[np.sort(rng.choice(len(points), size=self.max_rows, replace=False))]
        tree_labels = AgglomerativeClustering(n_clusters=self.n_clusters, linkage="ward")
        raw = tree_labels.fit_predict(points)
        self.cluster_centers_ = np.vstack(
            [points[raw == k].mean(axis=0) for k in range(self.n_clusters)]
        )
        self.labels_ = nearest_center(points, self.cluster_centers_)
        return self

    def predict(self, points: np.ndarray) -> np.ndarray:
        """Return the nearest centroid of every row."""
        check_is_fitted(self, "cluster_centers_")
        return nearest_center(np.asarray(points, dtype=np.float64), self.cluster_centers_)


class HDBSCANExemplars(ClusterMixin, BaseEstimator):
    """HDBSCAN with a rule to assign new customers.

    A new row joins the segment of its nearest exemplar (a training member, at most
    ``max_exemplars`` of them) when its distance to that exemplar is at most the exemplar's
    core distance (distance to its ``min_samples``-th neighbour in the training data, the
    density scale HDBSCAN itself uses); otherwise it is unassigned (``-1``). Segment
    centres are the mean of their members.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> points, _ = make_blobs(n_samples=300, centers=[[0, 0], [8, 8]], random_state=0)
    >>> model = HDBSCANExemplars(min_cluster_size=20).fit(points)
    >>> model.cluster_centers_.shape, model.predict([[0.1, 0.0], [50.0, 50.0]]).tolist()
    ((2, 2), [0, -1])
    """

    def __init__(
        self,
        min_cluster_size: int = 5,
        max_exemplars: int = HDBSCAN_MAX_EXEMPLARS,
        random_state: int | None = 0,
    ) -> None:
        self.min_cluster_size = min_cluster_size
        self.max_exemplars = max_exemplars
        self.random_state = random_state

    def fit(self, points: np.ndarray, y: object = None) -> HDBSCANExemplars:
        """Find density-based segments in ``points``."""
        points = np.asarray(points, dtype=np.float64)
        raw = HDBSCAN(min_cluster_size=self.min_cluster_size, copy=True).fit_predict(points)
        members = np.flatnonzero(raw >= 0)
        n_found = int(raw.max()) + 1 if len(members) else 0
        if n_found == 0:
            logger.warning("HDBSCAN found no segment: every customer is unassigned")
        if len(members) > self.max_exemplars:
            rng = np.random.default_rng(self.random_state)
            members = np.sort(rng.choice(members, size=self.max_exemplars, replace=False))
        n_neighbors = min(self.min_cluster_size, len(points))
        if len(members):
            neighbours = NearestNeighbors(n_neighbors=n_neighbors).fit(points)
            distances, _ = neighbours.kneighbors(points[members])
            radii = distances[:, -1]
        else:
            radii = np.empty(0)
        self.raw_labels_ = raw
        self.exemplars_ = points[members]
        self.exemplar_labels_ = raw[members].astype(np.int64)
        self.exemplar_radii_ = np.asarray(radii, dtype=np.float64)
        self.cluster_centers_ = (
            np.vstack([points[raw == k].mean(axis=0) for k in range(n_found)])
            if n_found
            else np.empty((0, points.shape[1]))
        )
        self.labels_ = self.predict(points)
        return self

    def predict(self, points: np.ndarray) -> np.ndarray:
        """Return the segment of every row, ``-1`` for rows outside every segment."""
        check_is_fitted(self, "exemplars_")
        points = np.asarray(points, dtype=np.float64)
        labels = np.full(len(points), -1, dtype=np.int64)
        if len(self.exemplars_) == 0 or len(points) == 0:
            return labels
        # a tree over the exemplars: brute force would cost n x exemplars distances
        index = NearestNeighbors(n_neighbors=1).fit(self.exemplars_)
        for start in range(0, len(points), _CHUNK_ROWS):
            block = points[start : start + _CHUNK_ROWS]
            distances, nearest = index.kneighbors(block)
            nearest = nearest[:, 0]
            inside = within_radius(distances[:, 0] ** 2, self.exemplar_radii_[nearest])
            labels[start : start + len(block)] = np.where(
                inside, self.exemplar_labels_[nearest], -1
            )
        return labels


def default_min_cluster_size(n_samples: int) -> int:
    """Return the HDBSCAN minimum segment size used when none is given: 2% of rows, >= 5.

    Examples
    --------
    >>> default_min_cluster_size(200), default_min_cluster_size(10_000)
    (5, 200)
    """
    return max(5, n_samples // 50)


def _kmeans(n_segments: int, random_state: int | None, n_samples: int, **_: Any) -> KMeans:
    return KMeans(
        n_clusters=n_segments, n_init=10 if n_samples <= SMALL_N else 3, random_state=random_state
    )


def _minibatch(
    n_segments: int, random_state: int | None, n_samples: int, **_: Any
) -> SampledMiniBatchKMeans:
    return SampledMiniBatchKMeans(n_clusters=n_segments, random_state=random_state)


def _gmm(
    n_segments: int, random_state: int | None, n_samples: int, n_features: int | None = None,
    **_: Any,
) -> GaussianMixture:
    # a full covariance has d(d+1)/2 parameters per segment: ask ten rows per parameter
    d = n_features or 1
    full = n_samples >= 10 * n_segments * d * (d + 1) // 2
    return GaussianMixture(
        n_components=n_segments,
        covariance_type="full" if full else "diag",
        n_init=3 if n_samples <= SMALL_N else 1,
        reg_covar=1e-4,  # one-hot columns constant within a segment would be singular
        random_state=random_state,
    )


def _hdbscan(
    n_segments: int | None, random_state: int | None, n_samples: int,
    min_cluster_size: int | None = None, **_: Any,
) -> HDBSCANExemplars:
    size = min_cluster_size if min_cluster_size is not None else default_min_cluster_size(
        n_samples
    )
    return HDBSCANExemplars(min_cluster_size=size, random_state=random_state)


def _ward(n_segments: int, random_state: int | None, n_samples: int, **_: Any) -> WardCentroids:
    return WardCentroids(n_clusters=n_segments, random_state=random_state)


@dataclass(frozen=True)
class AlgorithmSpec:
    """What an algorithm is and how it assigns customers."""

    name: str
    description: str
    assignment: Assignment
    needs_n_segments: bool
    build: Callable[..., Any]


ALGORITHMS: dict[str, AlgorithmSpec] = {
    spec.name: spec
    for spec in (
        AlgorithmSpec(
            "kmeans", "k-means (Lloyd), several restarts", "centroid", True, _kmeans
        ),
        AlgorithmSpec(
            "minibatch_kmeans",
            "mini-batch k-means on uniformly drawn batches, for very large data",
            "centroid",
            True,
            _minibatch,
        ),
        AlgorithmSpec(
            "gmm", "Gaussian mixture: soft, elliptical segments", "posterior", True, _gmm
        ),
        AlgorithmSpec(
            "hdbscan",
            "HDBSCAN: density-based, finds the number of segments, leaves outliers unassigned",
            "exemplar",
            False,
            _hdbscan,
        ),
        AlgorithmSpec(
            "ward", "Ward hierarchical clustering, nearest centroid for new rows", "centroid",
            True, _ward,
        ),
    )
}
"""Algorithms by name."""


def make_clusterer(
    algorithm: str,
    n_segments: int | None,
    random_state: int | None,
    n_samples: int,
    *,
    n_features: int | None = None,
    min_cluster_size: int | None = None,
) -> Any:
    """Return an unfitted clusterer for ``algorithm``, sized for ``n_samples`` rows.

    Parameters
    ----------
    algorithm:
        A key of :data:`ALGORITHMS`.
    n_segments:
        Number of segments; ignored by ``"hdbscan"``, which finds it.
    random_state:
        Seed: the same seed gives the same segments.
    n_samples, n_features:
        Shape of the data it will be fitted on (restarts, covariance type).
    min_cluster_size:
        Smallest segment HDBSCAN keeps (default :func:`default_min_cluster_size`).

    Examples
    --------
    >>> make_clusterer("kmeans", 4, 0, n_samples=1_000_000).n_init
    3
    >>> make_clusterer("gmm", 5, 0, n_samples=200, n_features=2).covariance_type
    'full'
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"algorithm={algorithm!r} is not known: expected one of {', '.join(sorted(ALGORITHMS))}"
        )
    spec = ALGORITHMS[algorithm]
    if spec.needs_n_segments and n_segments is None:
        raise ValueError(f"n_segments=None: algorithm={algorithm!r} needs a number of segments")
    return spec.build(
        n_segments=n_segments,
        random_state=random_state,
        n_samples=n_samples,
        n_features=n_features,
        min_cluster_size=min_cluster_size,
    )
