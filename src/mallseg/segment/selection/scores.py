"""Scores of the candidates: silhouette, CH, Davies-Bouldin, BIC, sizes, distinctness.

All in the preprocessed space the :class:`~mallseg.segment.segmenter.Segmenter` uses; higher
is better unless said:

- ``silhouette``: exact Euclidean silhouette on one fixed uniform sample, the same rows for
  every candidate so that they compare fairly; unassigned rows (HDBSCAN) score 0, so leaving
  customers out is not rewarded;
- ``calinski_harabasz``; ``davies_bouldin`` (lower is better), on the assigned rows;
- ``bic`` (Gaussian mixtures only, lower is better);
- ``stability``: mean adjusted Rand index over refits on subsamples, and
  ``min_segment_stability``, the lowest per-segment best-match Jaccard;
- ``distinctness``: for each segment, its largest difference from everyone on one output
  column, in that column's standard deviations; the candidate's value is its weakest
  segment's (a segment near the average on everything has a small value);
- ``smallest_segment_size`` / ``smallest_segment_share``.

Examples
--------
>>> import numpy as np
>>> points = np.array([[0.0], [0.0], [2.0], [2.0]])
>>> segment_distinctness(points, np.array([0, 0, 1, 1]))
{0: 1.0, 1: 1.0}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

from mallseg.segment.algorithms import ALGORITHMS
from mallseg.segment.selection.search import FittedCandidate
from mallseg.segment.stability import StabilityResult

__all__ = ["candidate_table", "sampled_silhouettes", "segment_distinctness"]

_SILHOUETTE_CHUNK = 1024


def segment_distinctness(points: np.ndarray, labels: np.ndarray) -> dict[int, float]:
    """For each segment, its largest standardised difference from everyone on one column.

    Rows labelled ``-1`` belong to no segment; constant columns are skipped.

    Examples
    --------
    >>> import numpy as np
    >>> points = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 3.0], [0.0, 3.0]])
    >>> segment_distinctness(points, np.array([0, 0, 1, -1]))
    {0: 1.0, 1: 1.0}
    """
    points = np.asarray(points, dtype=np.float64)
    mean = points.mean(axis=0)
    sd = points.std(axis=0)
    varying = sd > 1e-12
    result: dict[int, float] = {}
    for segment in sorted(int(s) for s in np.unique(labels) if s >= 0):
        members = points[labels == segment]
        if not varying.any() or len(members) == 0:
            result[segment] = 0.0
            continue
        effect = np.abs(members.mean(axis=0)[varying] - mean[varying]) / sd[varying]
        result[segment] = float(effect.max())
    return result


def sampled_silhouettes(points: np.ndarray, label_sets: Sequence[np.ndarray]) -> list[float]:
    """Return the Euclidean silhouette of each labelling of the same ``points``.

    Distances are computed once per block of rows and shared by every labelling. Rows
    labelled ``-1`` belong to no segment and score 0; a segment of one row scores 0 (as in
    scikit-learn); fewer than two segments give ``nan``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.metrics import silhouette_score
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> labels = np.arange(50) % 3
    >>> ours = sampled_silhouettes(X, [labels])[0]
    >>> bool(abs(ours - silhouette_score(X, labels)) < 1e-9)
    True
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    encodings: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for labels in label_sets:
        labels = np.asarray(labels)
        segments, codes = np.unique(labels, return_inverse=True)
        assigned = labels != -1
        keep = segments != -1
        onehot = np.zeros((n, len(segments)), dtype=np.float64)
        onehot[np.arange(n), codes] = 1.0
        onehot = onehot[:, keep]
        codes = np.where(assigned, np.cumsum(keep)[codes] - 1, -1)
        encodings.append((onehot, onehot.sum(axis=0), codes, assigned))
    sums = [np.zeros(n) for _ in label_sets]
    norms = (points * points).sum(axis=1)
    for start in range(0, n, _SILHOUETTE_CHUNK):
        block = slice(start, min(start + _SILHOUETTE_CHUNK, n))
        squared = norms[block, None] + norms[None, :] - 2.0 * (points[block] @ points.T)
        distances = np.sqrt(np.maximum(squared, 0.0))
        for i, (onehot, sizes, codes, assigned) in enumerate(encodings):
            if onehot.shape[1] < 2:
                continue
            per_segment = distances @ onehot
            rows = np.arange(block.stop - block.start)
            own = codes[block]
            mine = np.where(own >= 0, own, 0)
            own_size = sizes[mine]
            a = per_segment[rows, mine] / np.maximum(own_size - 1, 1)
            means = per_segment / sizes[None, :]
            means[rows, mine] = np.inf
            b = means.min(axis=1)
            score = np.where(own_size > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-300), 0.0)
            sums[i][block] = np.where(assigned[block], score, 0.0)
    return [
        float(total.mean()) if encodings[i][0].shape[1] >= 2 else float("nan")
        for i, total in enumerate(sums)
    ]


def candidate_table(
    fitted: list[FittedCandidate],
    stabilities: list[StabilityResult | None],
    silhouettes: list[float],
    stability_seconds: list[float],
    points: np.ndarray,
    n_total: int,
    minimum_customers: int,
    minimum_share: float,
    max_unassigned_share: float,
    min_stability: float,
) -> pd.DataFrame:
    """One row per candidate with every score and whether it passes the size rule.

    ``eligible`` means: the fit worked, gave at least two segments, every segment holds at
    least ``minimum_share`` of the search rows and (HDBSCAN) at most
    ``max_unassigned_share`` are unassigned; ``reason`` says why not. ``stable`` adds
    ``stability >= min_stability``.
    """
    rows: list[dict[str, Any]] = []
    for index, (fit, stability, silhouette) in enumerate(
        zip(fitted, stabilities, silhouettes, strict=True)
    ):
        row: dict[str, Any] = {
            "candidate": index, "algorithm": fit.algorithm,
            "k": fit.k_requested, "min_cluster_size": fit.min_cluster_size,
            "n_segments": 0, "silhouette": np.nan, "calinski_harabasz": np.nan,
            "davies_bouldin": np.nan, "bic": np.nan, "stability": np.nan,
            "min_segment_stability": np.nan, "per_segment_stability": {},
            "smallest_segment_size": 0, "smallest_segment_share": np.nan,
            "unassigned_share": 0.0, "distinctness": np.nan, "weakest_segment": None,
            "centroid": ALGORITHMS[fit.algorithm].assignment == "centroid",
            "fit_seconds": fit.fit_seconds,
            "stability_seconds": stability_seconds[index], "eligible": False,
            "stable": False, "reason": fit.error or "",
        }
        if fit.labels is not None:
            labels = fit.labels
            assigned = labels >= 0
            counts = np.bincount(labels[assigned]) if assigned.any() else np.zeros(0, int)
            n_requested = fit.k_requested or len(counts)
            nonempty = int((counts > 0).sum())
            row["n_segments"] = nonempty
            if row["k"] is None:
                row["k"] = nonempty
            row["unassigned_share"] = float(1.0 - assigned.mean())
            smallest = int(counts.min()) if nonempty == n_requested and nonempty else 0
            row["smallest_segment_size"] = smallest
            row["smallest_segment_share"] = smallest / len(labels)
            row["silhouette"] = silhouette
            if nonempty >= 2:
                row["calinski_harabasz"] = float(
                    calinski_harabasz_score(points[assigned], labels[assigned])
                )
                row["davies_bouldin"] = float(
                    davies_bouldin_score(points[assigned], labels[assigned])
                )
            distinct = segment_distinctness(points, labels)
            if distinct:
                weakest = min(distinct, key=lambda seg: distinct[seg])
                row["distinctness"] = distinct[weakest]
                row["weakest_segment"] = weakest
            if fit.algorithm == "gmm":
                row["bic"] = float(fit.model.bic(points))
            if stability is not None:
                row["stability"] = stability.mean_ari
                row["min_segment_stability"] = stability.min_segment_stability
                row["per_segment_stability"] = dict(stability.per_segment)
            row["reason"] = ineligibility_reason(
                nonempty, n_requested, row["smallest_segment_share"], n_total,
                minimum_customers, minimum_share, row["unassigned_share"],
                max_unassigned_share,
            )
            row["eligible"] = row["reason"] == ""
            row["stable"] = bool(row["eligible"] and row["stability"] >= min_stability)
        rows.append(row)
    table = pd.DataFrame(rows)
    table["k"] = table["k"].astype("Int64")
    table["min_cluster_size"] = table["min_cluster_size"].astype("Int64")
    return table


def ineligibility_reason(
    nonempty: int, n_requested: int, smallest_share: float, n_total: int,
    minimum_customers: int, minimum_share: float, unassigned_share: float,
    max_unassigned_share: float,
) -> str:
    """Why a candidate fails the size rule, or ``""``.

    >>> ineligibility_reason(3, 3, 0.01, 1000, 20, 0.02, 0.0, 0.25)
    'smallest segment about 10 customers (1.0%), under the minimum 20'
    """
    if nonempty < 2:
        return f"found {nonempty} segment(s), at least 2 are needed"
    if nonempty < n_requested:
        return f"only {nonempty} of {n_requested} segments received customers"
    if smallest_share < minimum_share:
        estimate = smallest_share * n_total
        return (
            f"smallest segment about {estimate:,.0f} customers ({smallest_share:.1%}), under "
            f"the minimum {minimum_customers:,}"
        )
    if unassigned_share > max_unassigned_share:
        return (
            f"{unassigned_share:.0%} of customers unassigned, more than "
            f"{max_unassigned_share:.0%}"
        )
    return ""


