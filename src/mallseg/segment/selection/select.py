"""Choose the algorithm and number of segments, with the reasons written down.

Candidates
----------
Every algorithm in ``algorithms`` with every number of segments ``k`` in ``k_values``
(``"auto"``: 2 to ``min(12, floor(sqrt(n / 2)))``). HDBSCAN finds ``k`` itself: its
candidates are values of ``min_cluster_size`` instead. Features that (nearly) every customer
shares a value of are left out first (:mod:`~mallseg.segment.selection.informative`).

Steps
-----
1. Preprocess a search sample as the :class:`~mallseg.segment.segmenter.Segmenter` does.
2. Ask whether it has natural cluster structure
   (:func:`~mallseg.segment.selection.structure.detect_cluster_structure`).
3. Fit and score every candidate (:mod:`~mallseg.segment.selection.search`,
   :mod:`~mallseg.segment.selection.scores`).
4. Rank them by the documented rule (:mod:`~mallseg.segment.selection.rule`): silhouette
   first when there is natural structure; otherwise the finest stable partition in the
   marketing range whose every segment is distinct.
5. Refit the winner on every customer and explain the choice
   (:mod:`~mallseg.segment.selection.explanation`).

Scale
-----
On more than ``sample_size`` customers the search runs on a uniform sample of that many
rows (silhouette and stability on their own, smaller, samples; the structure test on 2,000).
Gaussian mixtures beyond 200,000 customers, Ward and HDBSCAN are refitted on a sample and
assign every customer (``fit_sample_size``). The sizes used are in
:attr:`SelectionResult.sample_sizes`.

Examples
--------
>>> import pandas as pd
>>> from sklearn.datasets import make_blobs
>>> points, _ = make_blobs(n_samples=300, centers=3, cluster_std=0.6, random_state=0)
>>> customers = pd.DataFrame(points, columns=["annual_income", "spending_score"])
>>> result = select_segmentation(customers, algorithms=("kmeans",), k_values=range(2, 6),
...                              n_resamples=3)
>>> result.chosen.algorithm, result.chosen.k, result.regime
('kmeans', 3, 'natural structure')
>>> result.candidates["k"].tolist()
[2, 3, 4, 5]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from mallseg.features.lenses import resolve_lens
from mallseg.segment.algorithms import ALGORITHMS
from mallseg.segment.coverage import DEFAULT_MIN_COVERAGE, enough_data
from mallseg.segment.preprocess import build_preprocessor, resolve_feature_kinds
from mallseg.segment.segmenter import Segmenter
from mallseg.segment.selection.explanation import explain_choice
from mallseg.segment.selection.informative import drop_uninformative
from mallseg.segment.selection.result import (
    ChosenSegmentation,
    NoEligibleCandidateError,
    SelectionResult,
)
from mallseg.segment.selection.rule import SelectionRule, candidate_label, rank_candidates
from mallseg.segment.selection.scores import candidate_table, sampled_silhouettes
from mallseg.segment.selection.search import (
    SEARCH_FIT_ROWS,
    refit_sample_size,
    sample_rows,
    search_candidates,
)
from mallseg.segment.selection.structure import StructureTest, detect_cluster_structure

__all__ = ["MAX_AUTO_K", "auto_k_values", "select_segmentation"]

logger = logging.getLogger(__name__)

MAX_AUTO_K = 12
"""Most segments ``k_values="auto"`` tries."""

_SINGLE_THREAD_CELLS = 2_000_000
"""Below this many matrix cells (rows x columns) fits run single-threaded: on small data
thread start-up and contention cost more than the parallel work saves (15x on 200 rows)."""


def auto_k_values(n_customers: int) -> range:
    """Return the ``k`` tried by ``k_values="auto"``: 2 to ``min(12, floor(sqrt(n / 2)))``.

    Examples
    --------
    >>> auto_k_values(200), auto_k_values(1_000_000)
    (range(2, 11), range(2, 13))
    """
    upper = min(MAX_AUTO_K, math.isqrt(max(n_customers, 0) // 2))
    return range(2, max(upper, 2) + 1)


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
    marketing_range: tuple[int, int] = (3, 8),
    min_distinctness: float = 0.5,
    stability_tolerance: float = 0.05,
    max_unassigned_share: float = 0.25,
    sample_size: int = 30_000,
    silhouette_sample_size: int = 10_000,
    stability_sample_size: int = 5_000,
    fit_sample_size: int | Literal["auto"] | None = "auto",
    feature_kinds: Mapping[str, str] | None = None,
    detect_structure: bool = True,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
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
        Numbers of segments to try, or ``"auto"`` (see :func:`auto_k_values`). A single
        value fixes k: the algorithms compete, the size rule holds.
    min_cluster_sizes:
        HDBSCAN candidates; default: the minimum segment size on the search sample, twice
        and four times it.
    n_resamples:
        Refits per candidate for the stability score.
    min_segment_share, min_segment_size:
        No segment may hold fewer than ``max(min_segment_share * n, min_segment_size)``
        customers.
    min_stability, silhouette_tolerance, stability_margin:
        The natural-structure rule (see :mod:`~mallseg.segment.selection.rule`).
    marketing_range, min_distinctness, stability_tolerance:
        The marketing-partition rule used when there is no natural structure.
    max_unassigned_share:
        Most customers HDBSCAN may leave unassigned.
    sample_size, silhouette_sample_size, stability_sample_size:
        Rows used by the search, the silhouette and the stability refits.
    fit_sample_size:
        Sample the final refit is fitted on; ``"auto"`` uses the search's refit sizes
        (every customer for k-means), ``None`` every customer.
    feature_kinds:
        Preprocessing kind of features the catalog does not know (customer attributes).
    detect_structure:
        Run the cluster-structure test (when false, the natural-structure rule applies).
    min_coverage:
        Customers with values for fewer than this share of the features are set aside as
        "Not enough data" (label ``-2``, see :mod:`mallseg.segment.coverage`): the search,
        the size rule and the refit see only the customers the data describes. 0 keeps
        everyone.
    random_state:
        Seed of every draw and fit.

    Raises
    ------
    NoEligibleCandidateError
        When no candidate is eligible (the message lists why, and for the size rule the
        ``min_segment_share`` that would have let the best one pass).
    ValueError
        On an invalid parameter.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.datasets import make_blobs
    >>> points, _ = make_blobs(n_samples=200, centers=4, cluster_std=0.5, random_state=2)
    >>> frame = pd.DataFrame(points, columns=["annual_income", "spending_score"])
    >>> result = select_segmentation(frame, algorithms=("kmeans",), k_values=[4],
    ...                              n_resamples=2)
    >>> result.chosen.k, len(result.chosen.labels), result.regime
    (4, 200, 'fixed k')
    """
    _check_parameters(
        frame, algorithms, n_resamples, min_segment_share, min_segment_size, sample_size,
        silhouette_sample_size, stability_sample_size, marketing_range,
    )
    wanted = resolve_lens(
        features if isinstance(features, str) else list(features), [str(c) for c in frame.columns]
    )
    feature_names, dropped = drop_uninformative(frame, wanted)
    covered_rows, min_coverage = _covered_rows(frame, feature_names, min_coverage,
                                               min_segment_size)
    n_total = len(covered_rows)
    n_set_aside = len(frame) - n_total
    ks = _k_values(k_values, n_total, algorithms)
    fixed_k = not isinstance(k_values, str) and len(ks) == 1

    rng = np.random.default_rng(random_state)
    search_rows = covered_rows[sample_rows(rng, n_total, sample_size)]
    search_frame = frame.iloc[search_rows].reset_index(drop=True)
    n_search = len(search_frame)
    kinds = resolve_feature_kinds(feature_names, search_frame, _kinds_for(feature_kinds,
                                                                          feature_names))
    preprocessor = build_preprocessor(feature_names, search_frame, kinds)
    points = np.asarray(
        preprocessor.fit_transform(search_frame[feature_names]), dtype=np.float64
    )
    silhouette_rows = sample_rows(rng, n_search, silhouette_sample_size)
    stability_rows = sample_rows(rng, n_search, stability_sample_size)
    minimum_customers = max(math.ceil(min_segment_share * n_total), min_segment_size)
    minimum_share = minimum_customers / n_total
    if min_cluster_sizes is None:
        base = max(5, math.ceil(minimum_share * min(n_search, SEARCH_FIT_ROWS["hdbscan"])))
        min_cluster_sizes = [base, 2 * base, 4 * base]

    threads = 1 if points.size < _SINGLE_THREAD_CELLS else None
    with threadpool_limits(limits=threads):
        structure = (
            detect_cluster_structure(points, random_state=random_state)
            if detect_structure else _not_tested()
        )
        regime = ("fixed k" if fixed_k else "natural structure"
                  if structure.has_structure else "marketing partition")
        searched = _searched_algorithms(algorithms, regime)
        fitted, stabilities, stability_seconds = search_candidates(
            points, searched, ks, min_cluster_sizes, stability_rows, n_search, n_resamples,
            random_state,
        )

    silhouettes = sampled_silhouettes(
        points[silhouette_rows],
        [f.labels[silhouette_rows] if f.labels is not None else np.zeros(len(silhouette_rows))
         for f in fitted],
    )
    table = candidate_table(
        fitted, stabilities, silhouettes, stability_seconds, points, n_total,
        minimum_customers, minimum_share, max_unassigned_share, min_stability,
    )
    rule = SelectionRule(min_stability, silhouette_tolerance, stability_margin,
                         marketing_range, min_distinctness, stability_tolerance)
    ranking = rank_candidates(table, regime=regime, algorithms=searched, rule=rule)
    ranked = ranking.table
    if not ranked["eligible"].any():
        raise _no_eligible(ranked, minimum_customers, n_total, min_segment_size)
    winner = ranked.iloc[0]
    winner_index = int(winner["candidate"])

    algorithm = str(winner["algorithm"])
    min_cluster_size = (None if pd.isna(winner["min_cluster_size"])
                        else int(winner["min_cluster_size"]))
    refit_rows = refit_sample_size(algorithm, n_total, n_search, fit_sample_size)
    segmenter = Segmenter(
        features=feature_names,
        algorithm=algorithm,
        n_segments=int(winner["k"]) if ALGORITHMS[algorithm].needs_n_segments else None,
        random_state=random_state,
        fit_sample_size=refit_rows,
        min_cluster_size=min_cluster_size,
        feature_kinds=_kinds_for(feature_kinds, feature_names),
        min_coverage=min_coverage,
    ).fit(frame)
    searched_labels = fitted[winner_index].labels
    assert searched_labels is not None
    agreement = float(adjusted_rand_score(
        searched_labels, np.asarray(segmenter.labels_)[search_rows]
    ))
    notes = [f"left out {name}: {reason}" for name, reason in dropped.items()]
    if n_set_aside:
        notes.append(
            f"set aside {n_set_aside:,} customers ({n_set_aside / len(frame):.1%}) with values "
            f"for fewer than {min_coverage:.0%} of the features: \"Not enough data\""
        )
    skipped = [a for a in algorithms if a not in searched]
    if skipped:
        notes.append(
            f"not tried: {', '.join(skipped)} (no natural cluster structure, so the segments "
            "are a centroid partition of the continuum)"
        )
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
        algorithm=algorithm, k=int(segmenter.n_segments_), segmenter=segmenter,
        min_cluster_size=min_cluster_size, silhouette=float(winner["silhouette"]),
        stability=float(winner["stability"]),
    )
    sizes = {
        "customers": n_total, "search": n_search, "silhouette": len(silhouette_rows),
        "stability": len(stability_rows), "refit": refit_rows or n_total,
    }
    explanation = explain_choice(
        ranking, structure, min_stability=min_stability, minimum_customers=minimum_customers,
        n_resamples=n_resamples, sizes=sizes, rule=rule,
    )
    return SelectionResult(
        chosen=chosen,
        candidates=ranked.sort_values("candidate").drop(columns=["candidate"]).reset_index(
            drop=True
        ),
        runners_up=ranked.iloc[1:4].drop(columns=["candidate"]).reset_index(drop=True),
        explanation=explanation,
        regime=ranking.regime if not ranking.fell_back else "natural structure",
        structure=structure,
        stability=winner_stability,
        sample_sizes=sizes,
        relaxed_stability=ranking.relaxed,
        refit_agreement=agreement,
        features=tuple(feature_names),
        dropped_features=dropped,
        notes=tuple(notes),
    )


def _k_values(
    k_values: Sequence[int] | Literal["auto"] | str, n_total: int, algorithms: Sequence[str]
) -> list[int]:
    if isinstance(k_values, str) and k_values != "auto":
        raise ValueError(f"k_values={k_values!r} must be 'auto' or a sequence of integers")
    ks = [int(k) for k in (auto_k_values(n_total) if isinstance(k_values, str) else k_values)]
    if any(ALGORITHMS[a].needs_n_segments for a in algorithms) and not ks:
        raise ValueError("k_values is empty: nothing to try")
    for k in ks:
        if k < 2:
            raise ValueError(f"k_values contains k={k}: every k must be >= 2")
        if k > n_total:
            raise ValueError(f"k_values contains k={k}, more than n_samples={n_total}")
    return ks


def _searched_algorithms(algorithms: Sequence[str], regime: str) -> list[str]:
    """Without natural structure only centroid partitions compete (when any is asked for)."""
    if regime != "marketing partition":
        return list(algorithms)
    centroid = [a for a in algorithms if ALGORITHMS[a].assignment == "centroid"]
    return centroid or list(algorithms)


def _kinds_for(
    kinds: Mapping[str, str] | None, features: Sequence[str]
) -> dict[str, str] | None:
    if not kinds:
        return None
    return {name: kinds[name] for name in features if name in kinds}


def _not_tested() -> StructureTest:
    nan = float("nan")
    return StructureTest(True, nan, 0, nan, nan, nan, nan, 0, 0)


def _no_eligible(
    ranked: pd.DataFrame, minimum_customers: int, n_total: int, min_segment_size: int
) -> NoEligibleCandidateError:
    reasons = "; ".join(
        f"{candidate_label(r)}: {r['reason']}" for _, r in ranked.head(8).iterrows()
    )
    sized = ranked[(ranked["smallest_segment_share"].fillna(0) > 0)
                   & ranked["reason"].str.contains("smallest segment")]
    suggested = None
    if not sized.empty:
        share = float(sized["smallest_segment_share"].max())
        # the share rule only helps while the floor of min_segment_size customers holds
        if share * n_total >= min_segment_size:
            suggested = math.floor(share * 1000) / 1000
        else:
            reasons += (f" (the smallest segment would stay under the floor of "
                        f"{min_segment_size} customers whatever the share: choose a smaller k)")
    return NoEligibleCandidateError(
        f"no candidate is eligible (minimum segment {minimum_customers:,} customers): {reasons}",
        suggested_min_share=suggested,
    )


def _check_parameters(
    frame: pd.DataFrame, algorithms: Sequence[str], n_resamples: int, min_segment_share: float,
    min_segment_size: int, sample_size: int, silhouette_sample_size: int,
    stability_sample_size: int, marketing_range: tuple[int, int],
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
    low, high = marketing_range
    if not 2 <= low <= high:
        raise ValueError(f"marketing_range={marketing_range} must be (low, high), 2 <= low <= high")
    for name, value in (("sample_size", sample_size),
                        ("silhouette_sample_size", silhouette_sample_size),
                        ("stability_sample_size", stability_sample_size)):
        if value < 10:
            raise ValueError(f"{name}={value} must be >= 10")


def _covered_rows(
    frame: pd.DataFrame, features: list[str], min_coverage: float, min_segment_size: int
) -> tuple[np.ndarray, float]:
    """Rows with enough data to be placed, and the coverage rule actually applied.

    When fewer than two minimum segments' worth of customers have enough data, nobody is
    set aside (the rule is dropped, returned as 0) rather than segmenting a handful.
    """
    if not 0.0 <= min_coverage <= 1.0:
        raise ValueError(f"min_coverage must be between 0 and 1, got {min_coverage}")
    covered = enough_data(frame, features, min_coverage)
    if min_coverage == 0.0 or int(covered.sum()) < 2 * max(min_segment_size, 1):
        return np.arange(len(frame)), 0.0
    return np.flatnonzero(covered), min_coverage
