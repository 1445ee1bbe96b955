"""The candidate search: fit every algorithm x k on the search sample and measure stability.

Algorithms whose cost grows faster than linearly (Ward, HDBSCAN) are fitted on at most
:data:`SEARCH_FIT_ROWS` rows of the search sample and then assign every search row. Each
candidate's stability comes from refits on subsamples (see
:func:`~mallseg.segment.stability.bootstrap_stability`), restarted and sized as the scored fit.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> points = np.vstack([rng.normal(c, 0.3, size=(50, 2)) for c in (0.0, 5.0)])
>>> fitted, stabilities, _ = search_candidates(points, ("kmeans",), [2, 3], [10],
...                                            np.arange(100), 100, 2, 0)
>>> [f.k_requested for f in fitted], round(stabilities[0].mean_ari, 2)
([2, 3], 1.0)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mallseg.segment.algorithms import ALGORITHMS, make_clusterer, nearest_center
from mallseg.segment.stability import StabilityResult, bootstrap_stability

__all__ = [
    "REFIT_SAMPLE_SIZES",
    "SEARCH_FIT_ROWS",
    "FittedCandidate",
    "assign_points",
    "refit_sample_size",
    "sample_rows",
    "search_candidates",
]

logger = logging.getLogger(__name__)

SEARCH_FIT_ROWS: dict[str, int] = {"ward": 3_000, "hdbscan": 5_000}
"""Algorithms whose cost grows faster than linearly are fitted on at most this many rows of
the search sample during the search (every search row is then assigned)."""

REFIT_SAMPLE_SIZES: dict[str, int] = {"gmm": 200_000, "ward": 10_000, "hdbscan": 20_000}
"""Final refit: above this many customers the algorithm is fitted on a sample of them."""


@dataclass
class FittedCandidate:
    """One fitted candidate of the search (labels on every search row, or the error)."""

    algorithm: str
    k_requested: int | None
    min_cluster_size: int | None
    labels: np.ndarray | None
    model: Any
    fit_seconds: float
    error: str | None = None


def search_candidates(
    points: np.ndarray, algorithms: Sequence[str], ks: Sequence[int],
    min_cluster_sizes: Sequence[int], stability_rows: np.ndarray, n_search: int,
    n_resamples: int, random_state: int,
) -> tuple[list[FittedCandidate], list[StabilityResult | None], list[float]]:
    """Fit every candidate on ``points`` and measure its stability on ``stability_rows``.

    Returns the fits (in algorithm, then k order), their stability results (``None`` for a
    fit that failed or found one segment) and the seconds each stability took.
    """
    fitted: list[FittedCandidate] = []
    stabilities: list[StabilityResult | None] = []
    stability_seconds: list[float] = []
    for algorithm in algorithms:
        settings: list[tuple[int | None, int | None]] = (
            [(int(k), None) for k in ks] if ALGORITHMS[algorithm].needs_n_segments
            else [(None, int(m)) for m in min_cluster_sizes]
        )
        for k, mcs in settings:
            result = _fit_candidate(points, algorithm, k, mcs, random_state)
            fitted.append(result)
            started = time.perf_counter()
            stability = None
            if result.labels is not None and len(np.unique(result.labels[result.labels >= 0])) > 1:
                stability = _candidate_stability(
                    points[stability_rows], result.labels[stability_rows], algorithm, k, mcs,
                    n_fit_rows=_fit_rows(algorithm, n_search), n_resamples=n_resamples,
                    random_state=random_state,
                )
            stabilities.append(stability)
            stability_seconds.append(time.perf_counter() - started)
            logger.info(
                "scored %s k=%s min_cluster_size=%s in %.2f s + %.2f s stability",
                algorithm, k, mcs, result.fit_seconds, stability_seconds[-1],
            )

    return fitted, stabilities, stability_seconds


def _fit_rows(algorithm: str, n_search: int) -> int:
    return min(n_search, SEARCH_FIT_ROWS.get(algorithm, n_search))


def _fit_candidate(
    points: np.ndarray, algorithm: str, k: int | None, min_cluster_size: int | None,
    random_state: int,
) -> FittedCandidate:
    started = time.perf_counter()
    n_fit = _fit_rows(algorithm, len(points))
    if n_fit < len(points):
        rows = sample_rows(np.random.default_rng(random_state), len(points), n_fit)
        fit_points = points[rows]
    else:
        fit_points = points
    try:
        model = make_clusterer(
            algorithm, k, random_state, n_fit, n_features=points.shape[1],
            min_cluster_size=min_cluster_size,
        ).fit(fit_points)
        labels = assign_points(algorithm, model, points)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as error:
        return FittedCandidate(algorithm, k, min_cluster_size, None, None,
                       time.perf_counter() - started, f"fit failed: {error}")
    return FittedCandidate(algorithm, k, min_cluster_size, labels, model,
                           time.perf_counter() - started)


def assign_points(algorithm: str, model: Any, points: np.ndarray) -> np.ndarray:
    """Labels of ``points`` under a fitted model, assigned as the Segmenter assigns them.

    >>> import numpy as np
    >>> from sklearn.cluster import KMeans
    >>> model = KMeans(2, n_init=1, random_state=0).fit([[0.0], [0.1], [5.0], [5.1]])
    >>> labels = assign_points("kmeans", model, np.array([[0.05], [5.05], [0.2]]))
    >>> bool(labels[0] != labels[1] and labels[0] == labels[2])
    True
    """
    # Same assignment as Segmenter: nearest centre for centroid models, else the model's own.
    if ALGORITHMS[algorithm].assignment == "centroid":
        return nearest_center(points, np.asarray(model.cluster_centers_, dtype=np.float64))
    return np.asarray(model.predict(points), dtype=np.int64)


def _candidate_stability(
    points: np.ndarray, labels: np.ndarray, algorithm: str, k: int | None,
    min_cluster_size: int | None, *, n_fit_rows: int, n_resamples: int, random_state: int,
) -> StabilityResult:
    def refit(part: np.ndarray, seed: int) -> np.ndarray:
        # Restarts and covariance type as in the scored fit (sized for its rows).
        model = make_clusterer(
            algorithm, k, seed, n_fit_rows, n_features=part.shape[1],
            min_cluster_size=min_cluster_size,
        ).fit(part)
        return assign_points(algorithm, model, part)

    return bootstrap_stability(
        points, refit, reference_labels=labels, n_resamples=n_resamples,
        max_rows=_fit_rows(algorithm, len(points)), random_state=random_state,
    )


def sample_rows(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Sorted indices of a uniform sample of ``size`` of ``n`` rows (all rows when fewer).

    >>> import numpy as np
    >>> sample_rows(np.random.default_rng(0), 5, 10).tolist()
    [0, 1, 2, 3, 4]
    """
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def refit_sample_size(
    algorithm: str, n_total: int, n_search: int, fit_sample_size: int | str | None
) -> int | None:
    """Rows the final refit is fitted on (``None``: every customer).

    >>> refit_sample_size("gmm", 10**6, 30_000, "auto")
    200000
    >>> refit_sample_size("kmeans", 10**6, 30_000, "auto") is None
    True
    """
    if fit_sample_size is None:
        return None
    if isinstance(fit_sample_size, str):
        if fit_sample_size != "auto":
            raise ValueError(f"fit_sample_size={fit_sample_size!r} must be 'auto', None or int")
        cap = REFIT_SAMPLE_SIZES.get(algorithm)
        if algorithm == "hdbscan":
            cap = min(n_search, SEARCH_FIT_ROWS["hdbscan"])
        return cap if cap is not None and n_total > cap else None
    return int(fit_sample_size) if n_total > int(fit_sample_size) else None


