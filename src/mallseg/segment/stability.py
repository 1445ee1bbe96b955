"""Bootstrap stability of a segmentation: do its segments come back on resampled data.

Scheme
------
The data is first reduced to at most ``max_rows`` rows (a seeded uniform sample), because
stability is a property of the segmentation method, not of every customer, and refitting
``n_resamples`` times on millions of rows is wasted time. On that sample:

1. Reference labels are the labels given by the caller (restricted to the sample) or, when
   none are given, those of one fit of the clusterer on the whole sample.
2. Each resample draws rows from the sample: ``"subsample"`` (default) draws
   ``subsample_fraction`` of the rows without replacement, ``"bootstrap"`` draws as many rows
   as the sample with replacement. The clusterer is refitted on the resample with its own
   random seed (so sensitivity to initialisation counts as instability too).
3. Reference and resample labels are compared on the distinct rows of the resample:
   the adjusted Rand index (ARI) for the whole partition, and, per reference segment, the
   Jaccard similarity to its best-matching resample segment (as in Hennig's clusterboot).
   Unassigned rows (label ``-1``) count as their own group in the ARI; they are never a
   segment in the Jaccard table and never a match for one.

``mean_ari`` is the mean over resamples; ``per_segment`` the mean best-match Jaccard of each
reference segment (values under about 0.6 mean a segment that dissolves under resampling,
over 0.85 one that is highly stable).

Examples
--------
>>> import numpy as np
>>> from sklearn.cluster import KMeans
>>> rng = np.random.default_rng(0)
>>> X = np.vstack([rng.normal(c, 0.3, size=(60, 2)) for c in (0.0, 4.0, 8.0)])
>>> result = bootstrap_stability(X, KMeans(n_clusters=3, n_init=3), n_resamples=3)
>>> round(result.mean_ari, 2), sorted(result.per_segment)
(1.0, [0, 1, 2])
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.cluster import contingency_matrix

__all__ = [
    "ResampleScheme",
    "StabilityResult",
    "best_match_jaccard",
    "bootstrap_stability",
]

ResampleScheme = Literal["subsample", "bootstrap"]

LabelFunction: TypeAlias = Callable[[Any, int], np.ndarray]


@dataclass(frozen=True)
class StabilityResult:
    """How reproducible a segmentation is under resampling.

    Attributes
    ----------
    mean_ari:
        Mean adjusted Rand index between reference and resample labels.
    per_segment:
        Reference segment -> mean best-match Jaccard similarity across resamples.
    ari_per_resample:
        The ARI of every resample, in draw order.
    scheme:
        ``"subsample"`` or ``"bootstrap"``.
    n_rows:
        Rows the stability was measured on (after the ``max_rows`` cap).
    resample_size:
        Rows drawn per resample.

    Examples
    --------
    >>> r = StabilityResult(0.9, {0: 0.95, 1: 0.8}, (0.9, 0.9), "subsample", 100, 80)
    >>> r.least_stable_segment, r.min_segment_stability
    (1, 0.8)
    """

    mean_ari: float
    per_segment: dict[int, float]
    ari_per_resample: tuple[float, ...]
    scheme: ResampleScheme
    n_rows: int
    resample_size: int
    notes: tuple[str, ...] = field(default=())

    @property
    def min_segment_stability(self) -> float:
        """The lowest per-segment Jaccard (``nan`` when there is no segment)."""
        return min(self.per_segment.values()) if self.per_segment else float("nan")

    @property
    def least_stable_segment(self) -> int | None:
        """The segment with the lowest per-segment Jaccard."""
        if not self.per_segment:
            return None
        return min(self.per_segment, key=lambda s: (self.per_segment[s], s))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary.

        Examples
        --------
        >>> StabilityResult(1.0, {0: 1.0}, (1.0,), "subsample", 10, 8).to_dict()["mean_ari"]
        1.0
        """
        return {
            "mean_ari": self.mean_ari,
            "per_segment": {str(k): v for k, v in self.per_segment.items()},
            "ari_per_resample": list(self.ari_per_resample),
            "scheme": self.scheme,
            "n_rows": self.n_rows,
            "resample_size": self.resample_size,
            "notes": list(self.notes),
        }


def best_match_jaccard(reference: np.ndarray, other: np.ndarray) -> dict[int, float]:
    """Jaccard similarity of each reference segment to its best match among ``other``'s.

    Both label arrays describe the same rows. Label ``-1`` (unassigned) is neither a segment
    nor a match.

    Examples
    --------
    >>> import numpy as np
    >>> best_match_jaccard(np.array([0, 0, 1, 1, -1]), np.array([5, 5, 5, 7, 7]))
    {0: 0.6666666666666666, 1: 0.3333333333333333}
    """
    reference = np.asarray(reference)
    other = np.asarray(other)
    ref_ids, ref_codes = np.unique(reference, return_inverse=True)
    oth_ids, oth_codes = np.unique(other, return_inverse=True)
    table = np.asarray(
        contingency_matrix(ref_codes, oth_codes, sparse=False), dtype=np.float64
    )
    ref_sizes = table.sum(axis=1)
    oth_sizes = table.sum(axis=0)
    union = ref_sizes[:, None] + oth_sizes[None, :] - table
    jaccard = np.divide(table, union, out=np.zeros_like(table), where=union > 0)
    jaccard[:, oth_ids == -1] = 0.0
    return {
        int(seg): float(jaccard[i].max()) for i, seg in enumerate(ref_ids) if seg != -1
    }


def bootstrap_stability(
    data: np.ndarray | pd.DataFrame,
    clusterer: Any,
    *,
    reference_labels: np.ndarray | None = None,
    n_resamples: int = 10,
    scheme: ResampleScheme = "subsample",
    subsample_fraction: float = 0.8,
    max_rows: int | None = 20_000,
    random_state: int = 0,
) -> StabilityResult:
    """Measure how reproducible a clustering is by refitting it on resamples of the data.

    Parameters
    ----------
    data:
        Rows to cluster: a preprocessed matrix or a customer frame, whatever ``clusterer``
        takes.
    clusterer:
        An unfitted estimator with ``fit_predict`` (cloned for every refit; its
        ``random_state``, when it has one, is set per resample) or a function
        ``(data, seed) -> labels``.
    reference_labels:
        Labels of ``data`` to test (one per row). When ``None`` the clusterer is fitted
        once on the (capped) data to obtain them.
    n_resamples:
        Refits to run.
    scheme:
        ``"subsample"`` (without replacement, ``subsample_fraction`` of the rows) or
        ``"bootstrap"`` (with replacement, as many rows as the data).
    subsample_fraction:
        Share of rows per subsample, in (0, 1).
    max_rows:
        Cap on the rows used; larger data is first reduced to a seeded uniform sample.
        ``None`` uses every row.
    random_state:
        Seed of every random draw; the same seed gives the same result.

    Returns
    -------
    StabilityResult

    Raises
    ------
    ValueError
        When a parameter is out of range or ``reference_labels`` has the wrong length.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.cluster import KMeans
    >>> X = np.random.default_rng(1).normal(size=(150, 2))  # no structure at all
    >>> noise = bootstrap_stability(X, KMeans(n_clusters=4, n_init=1), n_resamples=4)
    >>> noise.mean_ari < 0.9
    True
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples={n_resamples} must be >= 1")
    if scheme not in ("subsample", "bootstrap"):
        raise ValueError(f"scheme={scheme!r} must be 'subsample' or 'bootstrap'")
    if not 0.0 < subsample_fraction < 1.0:
        raise ValueError(f"subsample_fraction={subsample_fraction} must be in (0, 1)")
    n_total = len(data)
    if n_total < 4:
        raise ValueError(f"stability needs at least 4 rows, got {n_total}")
    if reference_labels is not None and len(reference_labels) != n_total:
        raise ValueError(
            f"reference_labels has {len(reference_labels)} labels for {n_total} rows"
        )
    if max_rows is not None and max_rows < 4:
        raise ValueError(f"max_rows={max_rows} must be >= 4 or None")

    rng = np.random.default_rng(random_state)
    notes: list[str] = []
    if max_rows is not None and n_total > max_rows:
        rows = np.sort(rng.choice(n_total, size=max_rows, replace=False))
        sample = _take_rows(data, rows)
        notes.append(f"measured on a uniform sample of {max_rows} of {n_total} rows")
    else:
        rows = np.arange(n_total)
        sample = data
    n_rows = len(rows)

    fit_labels = _label_function(clusterer)
    if reference_labels is None:
        reference = np.asarray(fit_labels(sample, random_state))
    else:
        reference = np.asarray(reference_labels)[rows]

    resample_size = (
        n_rows if scheme == "bootstrap" else max(2, round(subsample_fraction * n_rows))
    )
    seeds = rng.integers(0, 2**31 - 1, size=n_resamples)
    aris: list[float] = []
    jaccards: dict[int, list[float]] = {
        int(s): [] for s in np.unique(reference) if s != -1
    }
    for seed in seeds:
        if scheme == "bootstrap":
            drawn = rng.integers(0, n_rows, size=resample_size)
        else:
            drawn = rng.choice(n_rows, size=resample_size, replace=False)
        drawn = np.sort(drawn)
        labels = np.asarray(fit_labels(_take_rows(sample, drawn), int(seed)))
        # With replacement a row may be drawn several times; compare each distinct row once.
        distinct, first = np.unique(drawn, return_index=True)
        ref_part, new_part = reference[distinct], labels[first]
        aris.append(float(adjusted_rand_score(ref_part, new_part)))
        for seg, value in best_match_jaccard(ref_part, new_part).items():
            jaccards[seg].append(value)

    per_segment = {seg: float(np.mean(v)) for seg, v in jaccards.items() if v}
    return StabilityResult(
        mean_ari=float(np.mean(aris)),
        per_segment=per_segment,
        ari_per_resample=tuple(aris),
        scheme=scheme,
        n_rows=n_rows,
        resample_size=resample_size,
        notes=tuple(notes),
    )


def _take_rows(data: np.ndarray | pd.DataFrame, rows: np.ndarray) -> np.ndarray | pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data.iloc[rows].reset_index(drop=True)
    return np.asarray(data)[rows]


def _label_function(clusterer: Any) -> LabelFunction:
    if hasattr(clusterer, "fit_predict"):
        estimator = clusterer
        params = estimator.get_params(deep=False) if hasattr(estimator, "get_params") else {}

        def fit_estimator(frame: Any, seed: int) -> np.ndarray:
            fresh = clone(estimator)
            if "random_state" in params:
                fresh.set_params(random_state=seed)
            return np.asarray(fresh.fit_predict(frame))

        return fit_estimator
    if callable(clusterer):
        n_params = len(inspect.signature(clusterer).parameters)
        if n_params < 2:
            raise TypeError("a clusterer function must take (data, seed) and return labels")
        function: LabelFunction = clusterer
        return function
    raise TypeError(
        f"clusterer must have fit_predict or be a function (data, seed), got "
        f"{type(clusterer).__name__}"
    )
