"""Population stability index (PSI) in numpy, and what sampling noise alone would give.

The PSI compares two distributions over the same bins::

    PSI = sum_i (c_i - r_i) * ln(c_i / r_i)

with ``r_i`` and ``c_i`` the reference and current shares of bin ``i``. Numeric values are
binned at the reference's quantiles (deciles by default; tied quantiles collapse into one
bin), categorical values by category; missing values always have a bin of their own. Empty
bins get half a count on both sides so that the logarithm stays finite.

The conventional reading is: under 0.1 no real change, 0.1 to 0.25 a moderate shift, above
0.25 a major one. On small samples the PSI of two draws from the *same* population is not
zero: ``n_eff * PSI`` (with ``n_eff = n_r n_c / (n_r + n_c)``) is approximately
chi-square with ``bins - 1`` degrees of freedom, since the PSI is the symmetric
Kullback-Leibler divergence, whose second-order term is the chi-square distance.
:func:`psi_p_value` gives that probability, so a PSI is only read as a shift when it is
both above its band and beyond what noise explains.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> same = numeric_psi(rng.normal(size=5000), rng.normal(size=5000))
>>> moved = numeric_psi(rng.normal(size=5000), rng.normal(0.5, 1.0, size=5000))
>>> bool(same.psi < 0.01), bool(moved.psi > 0.2), moved.bins
(True, True, 10)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chi2

__all__ = [
    "BinnedShares",
    "categorical_psi",
    "numeric_psi",
    "population_stability_index",
    "psi_p_value",
    "quantile_edges",
]

_EMPTY_BIN_COUNT = 0.5
_MISSING = "\x00missing"


@dataclass(frozen=True)
class BinnedShares:
    """Reference and current counts over shared bins, and their PSI.

    Attributes
    ----------
    labels:
        One label per bin (an interval such as ``[2.5, 4)``, a category, or ``missing``).
    reference_counts, current_counts:
        Customers of each side in each bin.
    psi:
        The population stability index over those bins.
    """

    labels: tuple[str, ...]
    reference_counts: tuple[int, ...]
    current_counts: tuple[int, ...]
    psi: float

    @property
    def bins(self) -> int:
        """Number of bins holding at least one customer of either side."""
        return sum(1 for r, c in zip(self.reference_counts, self.current_counts, strict=True)
                   if r + c > 0)

    @property
    def p_value(self) -> float:
        """Probability of a PSI at least this large between two samples of one population."""
        return psi_p_value(self.psi, sum(self.reference_counts), sum(self.current_counts),
                           self.bins)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready form.

        >>> BinnedShares(("a", "b"), (3, 1), (2, 2), 0.1).to_dict()["current_counts"]
        [2, 2]
        """
        return {"labels": list(self.labels), "reference_counts": list(self.reference_counts),
                "current_counts": list(self.current_counts), "psi": self.psi}


def population_stability_index(
    reference_counts: Sequence[float] | np.ndarray, current_counts: Sequence[float] | np.ndarray
) -> float:
    """PSI between two count vectors over the same bins (empty bins get half a count).

    Raises
    ------
    ValueError
        When the vectors differ in length or a side has no count at all.

    Examples
    --------
    >>> round(population_stability_index([50, 50], [40, 60]), 4)
    0.0405
    >>> population_stability_index([10, 0], [10, 0])
    0.0
    """
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    if ref.shape != cur.shape:
        raise ValueError(f"reference has {ref.size} bins, current {cur.size}: they must match")
    if ref.sum() <= 0 or cur.sum() <= 0:
        raise ValueError("both sides need at least one counted customer")
    used = (ref + cur) > 0
    ref, cur = ref[used], cur[used]
    ref = np.where(ref > 0, ref, _EMPTY_BIN_COUNT)
    cur = np.where(cur > 0, cur, _EMPTY_BIN_COUNT)
    r, c = ref / ref.sum(), cur / cur.sum()
    return float(max(0.0, np.sum((c - r) * np.log(c / r))))


def psi_p_value(psi: float, reference_size: int, current_size: int, bins: int) -> float:
    """Probability that two samples of the same population give at least ``psi``.

    Uses ``n_eff * PSI ~ chi2(bins - 1)`` (see the module documentation).

    Examples
    --------
    >>> round(psi_p_value(0.01, 200, 200, 10), 2)
    1.0
    >>> psi_p_value(0.01, 100_000, 100_000, 10) < 1e-12
    True
    """
    if bins < 2 or reference_size <= 0 or current_size <= 0:
        return 1.0
    effective = reference_size * current_size / (reference_size + current_size)
    return float(chi2.sf(effective * psi, bins - 1))


def quantile_edges(reference: np.ndarray, bins: int = 10) -> np.ndarray:
    """Inner bin edges at the reference's quantiles, ties collapsed (``bins - 1`` at most).

    Examples
    --------
    >>> quantile_edges(np.arange(100.0), 4).tolist()
    [24.75, 49.5, 74.25]
    >>> quantile_edges(np.array([0.0] * 90 + [1.0] * 10), 10).round(3).tolist()
    [0.0, 0.1]
    """
    if bins < 2:
        raise ValueError(f"bins={bins} must be >= 2")
    values = np.asarray(reference, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.empty(0)
    inner = np.quantile(values, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    return np.unique(inner)


def numeric_psi(
    reference: np.ndarray, current: np.ndarray, bins: int = 10,
    edges: np.ndarray | None = None,
) -> BinnedShares:
    """PSI of a numeric feature, binned at the reference's quantiles (missing: own bin).

    ``edges`` are inner bin edges to use instead (the quantiles of a sample of the
    reference, say: on a million customers the deciles of 50,000 are as good).

    Examples
    --------
    >>> result = numeric_psi(np.array([1.0, 2.0, 3.0, np.nan]), np.array([1.0, 1.0, 9.0]), 2)
    >>> result.labels, result.reference_counts, result.current_counts
    (('< 2', '>= 2', 'missing'), (1, 2, 1), (2, 1, 0))
    """
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    edges = quantile_edges(ref, bins) if edges is None else np.asarray(edges, dtype=float)
    ref_ok, cur_ok = np.isfinite(ref), np.isfinite(cur)
    n_bins = edges.size + 1
    ref_counts = np.bincount(np.searchsorted(edges, ref[ref_ok], side="right"),
                             minlength=n_bins)
    cur_counts = np.bincount(np.searchsorted(edges, cur[cur_ok], side="right"),
                             minlength=n_bins)
    labels = _interval_labels(edges)
    ref_all = [*ref_counts.tolist(), int((~ref_ok).sum())]
    cur_all = [*cur_counts.tolist(), int((~cur_ok).sum())]
    return _binned((*labels, "missing"), ref_all, cur_all)


def categorical_psi(reference: Sequence[object], current: Sequence[object]) -> BinnedShares:
    """PSI of a categorical feature over the categories of both sides (missing: own bin).

    Examples
    --------
    >>> result = categorical_psi(["a", "a", "b", None], ["a", "b", "b", "c"])
    >>> result.labels, result.reference_counts, result.current_counts
    (('a', 'b', 'c', 'missing'), (2, 1, 0, 1), (1, 2, 1, 0))
    """
    ref = _category_counts(reference)
    cur = _category_counts(current)
    categories = sorted((set(ref) | set(cur)) - {_MISSING})
    order = [*categories, _MISSING]
    return _binned((*categories, "missing"), [ref.get(c, 0) for c in order],
                   [cur.get(c, 0) for c in order])


def _category_counts(values: Sequence[object]) -> dict[str, int]:
    """Customers per category as text, missing values (None, NaN) counted apart."""
    series = pd.Series(np.asarray(values, dtype=object))
    missing = series.isna()
    counts = {str(k): int(v) for k, v in series[~missing].astype(str).value_counts().items()}
    counts[_MISSING] = int(missing.sum())
    return counts


def _binned(labels: tuple[str, ...], ref: list[int], cur: list[int]) -> BinnedShares:
    psi = 0.0 if sum(ref) == 0 or sum(cur) == 0 else population_stability_index(ref, cur)
    return BinnedShares(tuple(labels), tuple(int(v) for v in ref), tuple(int(v) for v in cur),
                        psi)


def _interval_labels(edges: np.ndarray) -> list[str]:
    if edges.size == 0:
        return ["all values"]
    text = [f"{e:.4g}" for e in edges]
    labels = [f"< {text[0]}"]
    labels += [f"[{a}, {b})" for a, b in itertools.pairwise(text)]
    labels.append(f">= {text[-1]}")
    return labels
