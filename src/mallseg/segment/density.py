"""HDBSCAN's approximate prediction as plain arrays: assign any customer to a density segment.

The ``hdbscan`` package fits the hierarchy (``prediction_data=True``); its
``approximate_predict`` then assigns a new point ``x`` like this (Campello et al.'s
hierarchy, McInnes' approximate prediction):

1. ``x``'s core distance is its distance to its ``min_samples + 1``-th nearest training
   point; among its ``2 * min_samples`` nearest training points, the one with the smallest
   mutual-reachability distance ``max(core(x), core(q), d(x, q))`` is its neighbour ``q``,
   and ``lambda = 1 / that distance`` is the density level at which ``x`` joins the tree.
2. ``x`` starts in the cluster ``q`` dropped out of. When ``q`` left that cluster at a
   higher density than ``lambda``, ``x`` walks up to the ancestor that already existed at
   density ``lambda``.
3. The segment is that of the selected cluster containing the cluster reached, or ``-1``
   (unassigned) when none contains it.

:class:`DensityTree` keeps exactly what this needs (training points, core distances, each
point's parent cluster and exit density, each cluster's parent and birth density, the
segment of each cluster) as numpy arrays, so a model file holds only arrays, and applies
the rule to many rows at once (neighbours from scikit-learn's ``NearestNeighbors``) or to one
row in plain numpy (:meth:`DensityTree.predict_one`). Ties between equally near
neighbours go to the nearer one, then to the lower training row, so the result does not
depend on the order a neighbour search returns them in.

Examples
--------
>>> import numpy as np
>>> from sklearn.datasets import make_blobs
>>> points, _ = make_blobs(n_samples=200, centers=[[0, 0], [6, 6]], random_state=0)
>>> tree, raw = fit_density_tree(points, min_cluster_size=15)
>>> tree.n_segments, bool((tree.predict(points) == raw).all())
(2, True)
>>> tree.predict_one(points[0]) == raw[0], tree.predict_one(np.array([30.0, 30.0]))
(np.True_, -1)
"""

from __future__ import annotations

import warnings

import hdbscan
import numpy as np
from sklearn.neighbors import NearestNeighbors

__all__ = ["DensityTree", "fit_density_tree"]

_CHUNK_ROWS = 8_192
"""Rows per neighbour query: ``chunk x 2 * min_samples`` distances and indices in memory."""


class DensityTree:
    """The arrays HDBSCAN's approximate prediction needs, and the prediction itself.

    Parameters
    ----------
    points:
        Training points, shape ``(n, d)``.
    core_distances:
        Core distance of every training point (its distance to its ``min_samples``-th
        nearest training point, itself included).
    min_samples:
        Neighbourhood size of the core distances.
    point_parent, point_lambda:
        For every training point, the condensed-tree cluster it left and the density
        (``lambda``) at which it left.
    cluster_parent, cluster_birth:
        For every condensed-tree cluster (node ``n + i`` at index ``i``), its parent node
        (``-1`` for the root) and the density at which it split off from it.
    cluster_segment:
        Segment of every cluster: that of the selected cluster it lies in, else ``-1``.
    n_segments:
        Number of segments (selected clusters).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> points = np.concatenate([rng.normal(0, 0.1, 40), rng.normal(5, 0.1, 40)])[:, None]
    >>> tree, _ = fit_density_tree(points, min_cluster_size=10)
    >>> tree.predict(np.array([[0.05], [5.02]])).tolist()
    [0, 1]
    """

    def __init__(
        self,
        *,
        points: np.ndarray,
        core_distances: np.ndarray,
        min_samples: int,
        point_parent: np.ndarray,
        point_lambda: np.ndarray,
        cluster_parent: np.ndarray,
        cluster_birth: np.ndarray,
        cluster_segment: np.ndarray,
        n_segments: int,
    ) -> None:
        self.points = points
        self.core_distances = core_distances
        self.min_samples = min_samples
        self.point_parent = point_parent
        self.point_lambda = point_lambda
        self.cluster_parent = cluster_parent
        self.cluster_birth = cluster_birth
        self.cluster_segment = cluster_segment
        self.n_segments = n_segments

    @property
    def n_neighbours(self) -> int:
        """Neighbours searched per customer: ``2 * min_samples``, at most every point.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> points = np.concatenate([rng.normal(0, 0.1, 40), rng.normal(5, 0.1, 40)])[:, None]
        >>> fit_density_tree(points, min_cluster_size=10)[0].n_neighbours
        20
        """
        return min(2 * self.min_samples, len(self.points))

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Return the segment of every row of ``rows`` (``-1`` = unassigned).

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> points = np.concatenate([rng.normal(0, 0.1, 40), rng.normal(5, 0.1, 40)])[:, None]
        >>> tree, _ = fit_density_tree(points, min_cluster_size=10)
        >>> tree.predict(np.array([[99.0]])).tolist()
        [-1]
        """
        rows = np.asarray(rows, dtype=np.float64)
        labels = np.full(len(rows), -1, dtype=np.int64)
        if self.n_segments == 0 or len(rows) == 0:
            return labels
        index = NearestNeighbors(n_neighbors=self.n_neighbours).fit(self.points)
        for start in range(0, len(rows), _CHUNK_ROWS):
            block = rows[start : start + _CHUNK_ROWS]
            distances, neighbours = index.kneighbors(block)
            labels[start : start + len(block)] = self._segments(distances, neighbours)
        return labels

    def predict_one(self, row: np.ndarray) -> int:
        """Return the segment of one row, by brute force in numpy (for real-time use).

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> points = np.concatenate([rng.normal(0, 0.1, 40), rng.normal(5, 0.1, 40)])[:, None]
        >>> tree, _ = fit_density_tree(points, min_cluster_size=10)
        >>> tree.predict_one(np.array([0.05])), tree.predict_one(np.array([20.0]))
        (0, -1)
        """
        if self.n_segments == 0:
            return -1
        difference = self.points - row
        distances = np.sqrt(np.einsum("ij,ij->i", difference, difference))
        k = self.n_neighbours
        nearest = (
            np.argpartition(distances, k - 1)[:k] if k < len(distances)
            else np.arange(len(distances))
        )
        near = distances[nearest]
        order = np.lexsort((nearest, near))
        nearest, near = nearest[order], near[order]
        # the same three steps as _segments, on plain numbers
        core = float(near[min(self.min_samples, len(near) - 1)])
        reach = np.maximum(np.maximum(self.core_distances[nearest], core), near)
        chosen = int(nearest[int(np.argmin(reach))])  # first minimum: nearest, lowest row
        best = float(reach.min())
        density = 1.0 / best if best > 0.0 else float(np.finfo(np.float64).max)
        root = len(self.points)
        node = int(self.point_parent[chosen])
        if self.point_lambda[chosen] > density:
            while node > root and self.cluster_birth[node - root] >= density:
                node = int(self.cluster_parent[node - root])
        return int(self.cluster_segment[node - root])

    def _segments(self, distances: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
        # step 1: the mutual-reachability neighbour and the density at which the row joins
        core = distances[:, min(self.min_samples, distances.shape[1] - 1)]
        reach = np.maximum(
            np.maximum(self.core_distances[neighbours], core[:, None]), distances
        )
        best = reach.min(axis=1, keepdims=True)
        tied = reach == best
        nearest_tied = np.where(tied, distances, np.inf).min(axis=1, keepdims=True)
        tied &= np.where(tied, distances, np.inf) == nearest_tied
        chosen = np.where(tied, neighbours, np.iinfo(np.int64).max).min(axis=1)
        with np.errstate(divide="ignore"):
            density = np.where(best[:, 0] > 0.0, 1.0 / best[:, 0], np.finfo(np.float64).max)
        # step 2: from the neighbour's cluster up to the one that exists at that density
        root = len(self.points)
        node = self.point_parent[chosen].copy()
        walking = self.point_lambda[chosen] > density
        while walking.any():
            position = node[walking] - root
            above_root = node[walking] > root
            climbs = above_root & (self.cluster_birth[position] >= density[walking])
            moved = np.flatnonzero(walking)[climbs]
            node[moved] = self.cluster_parent[node[moved] - root]
            walking[:] = False
            walking[moved] = True
        # step 3: the segment of the selected cluster containing it
        return np.asarray(self.cluster_segment[node - root], dtype=np.int64)


def fit_density_tree(points: np.ndarray, min_cluster_size: int) -> tuple[DensityTree, np.ndarray]:
    """Fit HDBSCAN (``hdbscan`` package) to ``points``; return its tree and its labels.

    ``min_samples`` is ``min_cluster_size`` (HDBSCAN's default), leaf-cluster selection by
    excess of mass, no single all-covering cluster.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> far = [40.0]
    >>> points = np.concatenate([rng.normal(0, 0.1, 40), rng.normal(5, 0.1, 40), far])[:, None]
    >>> tree, labels = fit_density_tree(points, min_cluster_size=10)
    >>> tree.n_segments, labels[[0, 40, 80]].tolist()
    (2, [0, 1, -1])
    """
    points = np.asarray(points, dtype=np.float64)
    model = hdbscan.HDBSCAN(min_cluster_size=int(min_cluster_size), prediction_data=True)
    with warnings.catch_warnings():
        # hdbscan warns when it finds no cluster; the caller logs that case itself
        warnings.simplefilter("ignore", UserWarning)
        model.fit(points)
    n = len(points)
    data = model.prediction_data_
    condensed = model.condensed_tree_.to_numpy()
    point_rows = condensed[condensed["child"] < n]
    point_parent = np.full(n, n, dtype=np.int64)
    point_lambda = np.zeros(n, dtype=np.float64)
    point_parent[point_rows["child"]] = point_rows["parent"]
    point_lambda[point_rows["child"]] = point_rows["lambda_val"]
    cluster_rows = condensed[condensed["child_size"] > 1]
    n_clusters = 1 + (int(cluster_rows["child"].max()) - n if len(cluster_rows) else 0)
    cluster_parent = np.full(n_clusters, -1, dtype=np.int64)
    cluster_birth = np.zeros(n_clusters, dtype=np.float64)
    cluster_parent[cluster_rows["child"] - n] = cluster_rows["parent"]
    cluster_birth[cluster_rows["child"] - n] = cluster_rows["lambda_val"]
    cluster_segment = np.full(n_clusters, -1, dtype=np.int64)
    for node, segment in data.cluster_map.items():
        cluster_segment[int(node) - n] = int(segment)
    labels = np.asarray(model.labels_, dtype=np.int64)
    tree = DensityTree(
        points=points,
        core_distances=np.asarray(data.core_distances, dtype=np.float64),
        min_samples=int(model.min_samples or model.min_cluster_size),
        point_parent=point_parent,
        point_lambda=point_lambda,
        cluster_parent=cluster_parent,
        cluster_birth=cluster_birth,
        cluster_segment=cluster_segment,
        n_segments=int(labels.max()) + 1 if (labels >= 0).any() else 0,
    )
    return tree, labels
