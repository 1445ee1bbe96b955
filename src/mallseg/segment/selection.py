"""Choose the algorithm and number of segments, with the reasons written down.

Candidates
----------
Every algorithm in ``algorithms`` with every number of segments ``k`` in ``k_values``
(``"auto"``: 2 to ``min(12, floor(sqrt(n / 2)))``, the rule-of-thumb ``sqrt(n/2)`` capped
at twelve segments a marketing team can act on). HDBSCAN finds ``k`` itself: its candidates
are values of ``min_cluster_size`` instead.

Scores (all in the preprocessed space the :class:`~mallseg.segment.segmenter.Segmenter`
uses; higher is better unless said)
----------------------------------------------------------------------------------------
- ``silhouette``: exact Euclidean silhouette on one fixed uniform sample of
  ``silhouette_sample_size`` rows, the same rows for every candidate so that they compare
  fairly; unassigned rows (HDBSCAN) score 0, so leaving customers out is not rewarded;
- ``calinski_harabasz``; ``davies_bouldin`` (lower is better), on the assigned rows;
- ``bic`` (Gaussian mixtures only, lower is better);
- ``stability``: mean adjusted Rand index of :func:`~mallseg.segment.stability.
  bootstrap_stability` (``n_resamples`` refits on 80% subsamples), and
  ``min_segment_stability``, the lowest per-segment best-match Jaccard;
- ``smallest_segment_size`` / ``smallest_segment_share``.

The rule (deterministic)
------------------------
1. **Eligible**: the fit worked, gave at least two segments, every segment holds at least
   ``max(min_segment_share * n, min_segment_size)`` customers (judged by its share of the
   search sample), and (HDBSCAN) at most ``max_unassigned_share`` of customers are
   unassigned. Ineligible candidates are never chosen; their ``reason`` says why.
2. **Stable**: eligible with ``stability >= min_stability`` (0.8). When no candidate is
   stable, every eligible one stays in the running and the explanation says so.
3. **Silhouette first**: the leader is the stable candidate with the highest silhouette.
4. **Stability breaks near-ties**: a candidate within ``silhouette_tolerance`` (0.02) of the
   leader's silhouette whose stability is more than ``stability_margin`` (0.05) higher
   takes the lead (the most stable such one). Remaining exact ties go to the smaller ``k``,
   then to the algorithm listed first.

The silhouette measures how well separated and compact the segments are, and is
comparable across algorithms; stability guards against segments that are artefacts of one
random start or one sample. Calinski-Harabasz, Davies-Bouldin and BIC are reported for the
analyst but do not vote: they favour many segments (CH, BIC) or are redundant with the
silhouette.

Scale
-----
On more than ``sample_size`` customers the search runs on a uniform sample of that many
rows (silhouette and stability on their own, smaller, samples). The winner is then refitted
on all customers with the :class:`~mallseg.segment.segmenter.Segmenter`; Gaussian mixtures
beyond 200,000 customers, Ward and HDBSCAN are fitted on a sample and assign every customer
(``fit_sample_size``). The sizes used are in :attr:`SelectionResult.sample_sizes`.

Examples
--------
>>> import pandas as pd
>>> from sklearn.datasets import make_blobs
>>> points, _ = make_blobs(n_samples=300, centers=3, cluster_std=0.6, random_state=0)
>>> customers = pd.DataFrame(points, columns=["annual_income", "spending_score"])
>>> result = select_segmentation(customers, algorithms=("kmeans",), k_values=range(2, 6),
...                              n_resamples=3)
>>> result.chosen.algorithm, result.chosen.k
('kmeans', 3)
>>> result.candidates["k"].tolist()
[2, 3, 4, 5]
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score
from threadpoolctl import threadpool_limits

from mallseg.features.lenses import resolve_lens
from mallseg.segment.algorithms import ALGORITHMS, make_clusterer, nearest_center
from mallseg.segment.preprocess import build_preprocessor, resolve_feature_kinds
from mallseg.segment.segmenter import Segmenter
from mallseg.segment.stability import StabilityResult, bootstrap_stability

__all__ = [
    "ChosenSegmentation",
    "SelectionResult",
    "auto_k_values",
    "sampled_silhouettes",
    "select_segmentation",
]

logger = logging.getLogger(__name__)

MAX_AUTO_K = 12
"""Most segments ``k_values="auto"`` tries."""

SEARCH_FIT_ROWS: dict[str, int] = {"ward": 3_000, "hdbscan": 5_000}
"""Algorithms whose cost grows faster than linearly are fitted on at most this many rows of
the search sample during the search (every search row is then assigned)."""

REFIT_SAMPLE_SIZES: dict[str, int] = {"gmm": 200_000, "ward": 10_000, "hdbscan": 20_000}
"""Final refit: above this many customers the algorithm is fitted on a sample of them."""

_ALGORITHM_NAMES = {
    "kmeans": "k-means",
    "minibatch_kmeans": "mini-batch k-means",
    "gmm": "Gaussian mixture",
    "hdbscan": "HDBSCAN",
    "ward": "Ward",
}
_SILHOUETTE_CHUNK = 1024
_SINGLE_THREAD_CELLS = 2_000_000
"""Below this many matrix cells (rows x columns) fits run single-threaded: on small data
thread start-up and contention cost more than the parallel work saves (15x on 200 rows)."""


@dataclass(frozen=True)
class ChosenSegmentation:
    """The winning candidate, refitted on every customer.

    Attributes
    ----------
    algorithm, k:
        Algorithm name and number of segments (HDBSCAN: the number it found).
    segmenter:
        The fitted :class:`~mallseg.segment.segmenter.Segmenter` (``labels_`` covers every
        customer).
    min_cluster_size:
        HDBSCAN's parameter, ``None`` for other algorithms.
    silhouette, stability:
        The winner's scores from the search.
    """

    algorithm: str
    k: int
    segmenter: Segmenter
    min_cluster_size: int | None
    silhouette: float
    stability: float

    @property
    def labels(self) -> np.ndarray:
        """Segment of every customer (``-1`` = unassigned)."""
        return np.asarray(self.segmenter.labels_)


@dataclass(frozen=True)
class SelectionResult:
    """Outcome of :func:`select_segmentation`.

    Attributes
    ----------
    chosen:
        The winner, refitted on all customers.
    candidates:
        One row per candidate with every score, ``eligible``, ``stable``, ``reason``
        (why it is ineligible or lost) and ``rank`` (1 = chosen).
    runners_up:
        The next best candidates (rows of ``candidates``).
    explanation:
        Why the winner won, naming its scores and the runners-up's.
    stability:
        The winner's full stability result (per-segment Jaccard included).
    sample_sizes:
        Rows used: ``customers``, ``search``, ``silhouette``, ``stability``, ``refit``.
    relaxed_stability:
        True when no candidate reached ``min_stability``.
    refit_agreement:
        Adjusted Rand index between the refitted model's labels and the searched ones on the
        search sample (1.0 = the refit reproduced exactly what was scored).
    """

    chosen: ChosenSegmentation
    candidates: pd.DataFrame
    runners_up: pd.DataFrame
    explanation: str
    stability: StabilityResult
    sample_sizes: dict[str, int]
    relaxed_stability: bool
    refit_agreement: float
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready summary (the fitted model excluded).

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn.datasets import make_blobs
        >>> points, _ = make_blobs(n_samples=120, centers=2, random_state=0)
        >>> frame = pd.DataFrame(points, columns=["annual_income", "spending_score"])
        >>> result = select_segmentation(frame, algorithms=("kmeans",), k_values=[2, 3],
        ...                              n_resamples=2)
        >>> sorted(result.to_dict())[:3]
        ['algorithm', 'candidates', 'explanation']
        """
        table = self.candidates.drop(columns=["per_segment_stability"])
        records = [
            {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
             for k, v in row.items()}
            for row in table.astype(object).to_dict(orient="records")
        ]
        return {
            "algorithm": self.chosen.algorithm,
            "k": self.chosen.k,
            "min_cluster_size": self.chosen.min_cluster_size,
            "silhouette": self.chosen.silhouette,
            "stability": self.stability.to_dict(),
            "explanation": self.explanation,
            "candidates": records,
            "sample_sizes": dict(self.sample_sizes),
            "relaxed_stability": self.relaxed_stability,
            "refit_agreement": self.refit_agreement,
            "notes": list(self.notes),
        }


def auto_k_values(n_customers: int) -> range:
    """Return the ``k`` tried by ``k_values="auto"``: 2 to ``min(12, floor(sqrt(n / 2)))``.

    Examples
    --------
    >>> auto_k_values(200), auto_k_values(1_000_000)
    (range(2, 11), range(2, 13))
    """
    upper = min(MAX_AUTO_K, math.isqrt(max(n_customers, 0) // 2))
    return range(2, max(upper, 2) + 1)


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


@dataclass
class _Fitted:
    algorithm: str
    k_requested: int | None
    min_cluster_size: int | None
    labels: np.ndarray | None
    model: Any
    fit_seconds: float
    error: str | None = None


def select_segmentation(
    frame: pd.DataFrame,
    features: str | Sequence[str] = "classic",
    *,
    algorithms: Sequence[str] = ("kmeans", "gmm"),
    k_values: Sequence[int] | Literal["auto"] = "auto",
    min_cluster_sizes: Sequence[int] | None = None,
    n_resamples: int = 10,
    min_segment_share: float = 0.02,
    min_segment_size: int = 10,
    min_stability: float = 0.8,
    silhouette_tolerance: float = 0.02,
    stability_margin: float = 0.05,
    max_unassigned_share: float = 0.25,
    sample_size: int = 30_000,
    silhouette_sample_size: int = 10_000,
    stability_sample_size: int = 5_000,
    fit_sample_size: int | Literal["auto"] | None = "auto",
    random_state: int = 0,
) -> SelectionResult:
    """Score every algorithm x number of segments and choose one by a documented rule.

    Parameters
    ----------
    frame:
        One row per customer.
    features:
        A lens name or a list of features (see :func:`mallseg.features.lenses.resolve_lens`).
    algorithms:
        Names from :data:`mallseg.segment.algorithms.ALGORITHMS`.
    k_values:
        Numbers of segments to try, or ``"auto"`` (see :func:`auto_k_values`).
    min_cluster_sizes:
        HDBSCAN candidates; default: the minimum segment size on the search sample, twice
        and four times it.
    n_resamples:
        Refits per candidate for the stability score.
    min_segment_share, min_segment_size:
        No segment may hold fewer than ``max(min_segment_share * n, min_segment_size)``
        customers.
    min_stability:
        Stability (mean ARI) a candidate needs to be preferred.
    silhouette_tolerance, stability_margin:
        Near-tie rule (see the module documentation).
    max_unassigned_share:
        Most customers HDBSCAN may leave unassigned.
    sample_size, silhouette_sample_size, stability_sample_size:
        Rows used by the search, the silhouette and the stability refits.
    fit_sample_size:
        Sample the final refit is fitted on; ``"auto"`` uses :data:`REFIT_SAMPLE_SIZES`
        (every customer for k-means), ``None`` every customer.
    random_state:
        Seed of every draw and fit.

    Returns
    -------
    SelectionResult

    Raises
    ------
    ValueError
        On an invalid parameter, or when no candidate is eligible (the message lists why).

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.datasets import make_blobs
    >>> points, _ = make_blobs(n_samples=200, centers=4, cluster_std=0.5, random_state=2)
    >>> frame = pd.DataFrame(points, columns=["annual_income", "spending_score"])
    >>> result = select_segmentation(frame, algorithms=("kmeans",), k_values=[4],
    ...                              n_resamples=2)
    >>> result.chosen.k, len(result.chosen.labels)
    (4, 200)
    """
    _check_parameters(
        frame, algorithms, n_resamples, min_segment_share, min_segment_size, sample_size,
        silhouette_sample_size, stability_sample_size,
    )
    n_total = len(frame)
    feature_names = resolve_lens(
        features if isinstance(features, str) else list(features), [str(c) for c in frame.columns]
    )
    if isinstance(k_values, str) and k_values != "auto":
        raise ValueError(f"k_values={k_values!r} must be 'auto' or a sequence of integers")
    ks = list(auto_k_values(n_total) if isinstance(k_values, str) else k_values)
    needs_k = [a for a in algorithms if ALGORITHMS[a].needs_n_segments]
    if needs_k and not ks:
        raise ValueError("k_values is empty: nothing to try")
    for k in ks:
        if int(k) < 2:
            raise ValueError(f"k_values contains k={k}: every k must be >= 2")
        if int(k) > n_total:
            raise ValueError(f"k_values contains k={k}, more than n_samples={n_total}")

    rng = np.random.default_rng(random_state)
    search_rows = _sample_rows(rng, n_total, sample_size)
    search_frame = frame.iloc[search_rows].reset_index(drop=True)
    n_search = len(search_frame)
    kinds = resolve_feature_kinds(feature_names, search_frame)
    preprocessor = build_preprocessor(feature_names, search_frame, kinds)
    points = np.asarray(
        preprocessor.fit_transform(search_frame[feature_names]), dtype=np.float64
    )
    silhouette_rows = _sample_rows(rng, n_search, silhouette_sample_size)
    stability_rows = _sample_rows(rng, n_search, stability_sample_size)
    minimum_customers = max(math.ceil(min_segment_share * n_total), min_segment_size)
    minimum_share = minimum_customers / n_total
    if min_cluster_sizes is None:
        base = max(5, math.ceil(minimum_share * min(n_search, SEARCH_FIT_ROWS["hdbscan"])))
        min_cluster_sizes = [base, 2 * base, 4 * base]

    threads = 1 if points.size < _SINGLE_THREAD_CELLS else None
    with threadpool_limits(limits=threads):
        fitted, stabilities, stability_seconds = _search(
            points, algorithms, ks, min_cluster_sizes, stability_rows, n_search, n_resamples,
            random_state,
        )

    silhouettes = sampled_silhouettes(
        points[silhouette_rows],
        [f.labels[silhouette_rows] if f.labels is not None else np.zeros(len(silhouette_rows))
         for f in fitted],
    )
    table = _candidate_table(
        fitted, stabilities, silhouettes, stability_seconds, points, n_total,
        minimum_customers, minimum_share, max_unassigned_share, min_stability,
    )
    table, relaxed = _rank(table, algorithms, min_stability, silhouette_tolerance,
                           stability_margin)
    if not table["eligible"].any():
        reasons = "; ".join(
            f"{_label(r)}: {r['reason']}" for _, r in table.head(8).iterrows()
        )
        raise ValueError(
            f"no candidate is eligible (minimum segment {minimum_customers} customers): "
            f"{reasons}"
        )
    winner = table.iloc[0]
    winner_index = int(winner["candidate"])

    refit_rows = _refit_sample_size(str(winner["algorithm"]), n_total, n_search,
                                    fit_sample_size)
    segmenter = Segmenter(
        features=feature_names,
        algorithm=str(winner["algorithm"]),
        n_segments=int(winner["k"]) if ALGORITHMS[str(winner["algorithm"])].needs_n_segments
        else None,
        random_state=random_state,
        fit_sample_size=refit_rows,
        min_cluster_size=None if pd.isna(winner["min_cluster_size"])
        else int(winner["min_cluster_size"]),
    ).fit(frame)
    searched_labels = fitted[winner_index].labels
    assert searched_labels is not None
    agreement = float(adjusted_rand_score(
        searched_labels, np.asarray(segmenter.labels_)[search_rows]
    ))
    notes: list[str] = []
    final_sizes = np.asarray(segmenter.segment_sizes_)
    if len(final_sizes) and int(final_sizes.min()) < minimum_customers:
        notes.append(
            f"after the refit on all customers the smallest segment holds "
            f"{int(final_sizes.min())} customers, under the minimum {minimum_customers}"
        )
        logger.warning(notes[-1])
    winner_stability = stabilities[winner_index]
    assert winner_stability is not None
    chosen = ChosenSegmentation(
        algorithm=str(winner["algorithm"]),
        k=int(segmenter.n_segments_),
        segmenter=segmenter,
        min_cluster_size=None if pd.isna(winner["min_cluster_size"])
        else int(winner["min_cluster_size"]),
        silhouette=float(winner["silhouette"]),
        stability=float(winner["stability"]),
    )
    sizes = {
        "customers": n_total,
        "search": n_search,
        "silhouette": len(silhouette_rows),
        "stability": len(stability_rows),
        "refit": refit_rows or n_total,
    }
    runners_up = table.iloc[1:4].reset_index(drop=True)
    explanation = _explain(table, relaxed, min_stability, minimum_customers, sizes, n_resamples)
    return SelectionResult(
        chosen=chosen,
        candidates=table.sort_values("candidate").drop(columns=["candidate"]).reset_index(
            drop=True
        ),
        runners_up=runners_up.drop(columns=["candidate"]),
        explanation=explanation,
        stability=winner_stability,
        sample_sizes=sizes,
        relaxed_stability=relaxed,
        refit_agreement=agreement,
        notes=tuple(notes),
    )


# --- fitting -----------------------------------------------------------------------------


def _search(
    points: np.ndarray, algorithms: Sequence[str], ks: Sequence[int],
    min_cluster_sizes: Sequence[int], stability_rows: np.ndarray, n_search: int,
    n_resamples: int, random_state: int,
) -> tuple[list[_Fitted], list[StabilityResult | None], list[float]]:
    fitted: list[_Fitted] = []
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
) -> _Fitted:
    started = time.perf_counter()
    n_fit = _fit_rows(algorithm, len(points))
    if n_fit < len(points):
        rows = _sample_rows(np.random.default_rng(random_state), len(points), n_fit)
        fit_points = points[rows]
    else:
        fit_points = points
    try:
        model = make_clusterer(
            algorithm, k, random_state, n_fit, n_features=points.shape[1],
            min_cluster_size=min_cluster_size,
        ).fit(fit_points)
        labels = _assign(algorithm, model, points)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as error:
        return _Fitted(algorithm, k, min_cluster_size, None, None,
                       time.perf_counter() - started, f"fit failed: {error}")
    return _Fitted(algorithm, k, min_cluster_size, labels, model, time.perf_counter() - started)


def _assign(algorithm: str, model: Any, points: np.ndarray) -> np.ndarray:
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
        return _assign(algorithm, model, part)

    return bootstrap_stability(
        points, refit, reference_labels=labels, n_resamples=n_resamples,
        max_rows=_fit_rows(algorithm, len(points)), random_state=random_state,
    )


# --- scoring and ranking -----------------------------------------------------------------


def _candidate_table(
    fitted: list[_Fitted],
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
            "unassigned_share": 0.0, "fit_seconds": fit.fit_seconds,
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
            if fit.algorithm == "gmm":
                row["bic"] = float(fit.model.bic(points))
            if stability is not None:
                row["stability"] = stability.mean_ari
                row["min_segment_stability"] = stability.min_segment_stability
                row["per_segment_stability"] = dict(stability.per_segment)
            row["reason"] = _ineligibility(
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


def _ineligibility(
    nonempty: int, n_requested: int, smallest_share: float, n_total: int,
    minimum_customers: int, minimum_share: float, unassigned_share: float,
    max_unassigned_share: float,
) -> str:
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


def _rank(
    table: pd.DataFrame, algorithms: Sequence[str], min_stability: float,
    silhouette_tolerance: float, stability_margin: float,
) -> tuple[pd.DataFrame, bool]:
    order = {name: i for i, name in enumerate(algorithms)}
    table = table.assign(
        algorithm_order=table["algorithm"].map(order),
        pool=np.where(table["stable"], 0, np.where(table["eligible"], 1, 2)),
    )
    relaxed = not bool(table["stable"].any())
    if relaxed:
        table.loc[table["eligible"], "pool"] = 0
    ranked = table.sort_values(
        ["pool", "silhouette", "k", "algorithm_order"],
        ascending=[True, False, True, True], kind="stable", na_position="last",
    ).reset_index(drop=True)
    if ranked.loc[0, "pool"] == 0:
        leader = ranked.iloc[0]
        challengers = ranked[
            (ranked["pool"] == 0)
            & (ranked["silhouette"] >= leader["silhouette"] - silhouette_tolerance)
            & (ranked["stability"] > leader["stability"] + stability_margin)
        ]
        if not challengers.empty:
            best = challengers.sort_values(
                ["stability", "silhouette", "k", "algorithm_order"],
                ascending=[False, False, True, True], kind="stable",
            ).index[0]
            ranked = pd.concat([ranked.loc[[best]], ranked.drop(index=best)])
            ranked = ranked.reset_index(drop=True)
            ranked.loc[0, "reason"] = (
                f"near-tie on silhouette with {_label(leader)}, won on stability"
            )
    ranked["rank"] = np.arange(1, len(ranked) + 1)
    winner = ranked.loc[0]
    for i in range(1, len(ranked)):
        row = ranked.loc[i]
        if row["reason"]:
            ranked.loc[i, "reason"] = f"ineligible: {row['reason']}"
        elif not relaxed and not row["stable"]:
            ranked.loc[i, "reason"] = (
                f"unstable: stability {row['stability']:.2f} < {min_stability:.2f}"
            )
        elif row["silhouette"] >= winner["silhouette"] - silhouette_tolerance:
            ranked.loc[i, "reason"] = (
                f"near-tie on silhouette ({row['silhouette']:.3f} vs "
                f"{winner['silhouette']:.3f}), stability {row['stability']:.2f} vs "
                f"{winner['stability']:.2f}"
            )
        else:
            ranked.loc[i, "reason"] = (
                f"lower silhouette ({row['silhouette']:.3f} vs {winner['silhouette']:.3f})"
            )
    if not ranked.loc[0, "reason"]:
        ranked.loc[0, "reason"] = "chosen"
    ranked = ranked.drop(columns=["algorithm_order", "pool"])
    return ranked, relaxed


def _label(row: pd.Series) -> str:
    name = _ALGORITHM_NAMES.get(str(row["algorithm"]), str(row["algorithm"]))
    if str(row["algorithm"]) == "hdbscan":
        return f"{name} (min_cluster_size={row['min_cluster_size']}, k={row['k']})"
    return f"{name} k={row['k']}"


def _explain(
    ranked: pd.DataFrame, relaxed: bool, min_stability: float, minimum_customers: int,
    sizes: dict[str, int], n_resamples: int,
) -> str:
    winner = ranked.iloc[0]
    eligible = int(ranked["eligible"].sum())
    pool = "eligible" if relaxed else f"eligible and stable (stability >= {min_stability:.2f})"
    parts = [
        f"Chose {_label(winner)}: silhouette {winner['silhouette']:.3f}, the best of the "
        f"{int((ranked['eligible'] & (ranked['stable'] | relaxed)).sum())} {pool} candidates"
        + (f" ({winner['reason']})" if winner["reason"] != "chosen" else "")
        + f"; stability {winner['stability']:.2f} (mean adjusted Rand index over "
        f"{n_resamples} refits on 80% subsamples, weakest segment Jaccard "
        f"{winner['min_segment_stability']:.2f}); Calinski-Harabasz "
        f"{winner['calinski_harabasz']:,.0f}; Davies-Bouldin {winner['davies_bouldin']:.3f}"
        + (f"; BIC {winner['bic']:,.0f}" if pd.notna(winner["bic"]) else "")
        + f"; smallest segment {winner['smallest_segment_share']:.1%} of customers.",
    ]
    if relaxed:
        parts.append(
            f"No candidate reached stability {min_stability:.2f}, so the rule was relaxed to "
            "every eligible candidate: treat these segments with care."
        )
    runners = ranked.iloc[1:4]
    if len(runners):
        parts.append(
            "Runners-up: "
            + "; ".join(
                f"{_label(r)} (silhouette {r['silhouette']:.3f}, stability "
                f"{r['stability']:.2f}): {r['reason']}"
                for _, r in runners.iterrows()
            )
            + "."
        )
    better = ranked.iloc[4:][ranked.iloc[4:]["silhouette"] > winner["silhouette"]]
    if len(better):
        parts.append(
            "Higher silhouette but set aside: "
            + "; ".join(f"{_label(r)} ({r['silhouette']:.3f}): {r['reason']}"
                        for _, r in better.head(3).iterrows())
            + "."
        )
    parts.append(
        f"{len(ranked)} candidates scored ({eligible} eligible; minimum segment "
        f"{minimum_customers:,} customers) on {sizes['search']:,} of {sizes['customers']:,} "
        f"customers (silhouette on {sizes['silhouette']:,}, stability on "
        f"{sizes['stability']:,}); the winner was refitted on {sizes['refit']:,}."
    )
    return " ".join(parts)


# --- helpers -----------------------------------------------------------------------------


def _sample_rows(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def _refit_sample_size(
    algorithm: str, n_total: int, n_search: int, fit_sample_size: int | str | None
) -> int | None:
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


def _check_parameters(
    frame: pd.DataFrame, algorithms: Sequence[str], n_resamples: int, min_segment_share: float,
    min_segment_size: int, sample_size: int, silhouette_sample_size: int,
    stability_sample_size: int,
) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if len(frame) < 4:
        raise ValueError(f"frame has n_samples={len(frame)} rows: selection needs at least 4")
    if isinstance(algorithms, str) or not algorithms:
        raise ValueError(f"algorithms={algorithms!r} must be a non-empty sequence of names")
    for name in algorithms:
        if name not in ALGORITHMS:
            raise ValueError(
                f"algorithm {name!r} is not known: expected one of {', '.join(sorted(ALGORITHMS))}"
            )
    if n_resamples < 1:
        raise ValueError(f"n_resamples={n_resamples} must be >= 1")
    if not 0.0 <= min_segment_share < 0.5:
        raise ValueError(f"min_segment_share={min_segment_share} must be in [0, 0.5)")
    if min_segment_size < 1:
        raise ValueError(f"min_segment_size={min_segment_size} must be >= 1")
    for name, value in (("sample_size", sample_size),
                        ("silhouette_sample_size", silhouette_sample_size),
                        ("stability_sample_size", stability_sample_size)):
        if value < 10:
            raise ValueError(f"{name}={value} must be >= 10")
