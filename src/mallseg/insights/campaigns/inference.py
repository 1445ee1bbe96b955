"""The statistics of a targeted-versus-holdout comparison, vectorised over cells.

A random holdout makes the plain difference between the arms an unbiased estimate of the
uplift; what needs care is the interval and the p-value at the small counts a segment of a
campaign often has.

- Rates: the Wilson score interval of each arm, combined into Newcombe's hybrid score
  interval for the difference (method 10 of Newcombe, 1998), which keeps close to its
  nominal coverage down to a few dozen customers per arm and never leaves [-1, 1]. The
  p-value is the two-sided pooled two-proportion z-test (the chi-square test without
  continuity correction); when an expected count of the 2 x 2 table is below 5 it is
  Fisher's exact test instead.
- Means per head (spend, visits): Welch's t interval and test, with Welch-Satterthwaite
  degrees of freedom.
- Many cells at once: Benjamini-Hochberg adjusted p-values (the false discovery rate).

Examples
--------
>>> low, high = newcombe_interval(30, 100, 10, 100)
>>> round(float(low[0]), 4), round(float(high[0]), 4)
(0.09, 0.3058)
>>> benjamini_hochberg([0.01, 0.04, 0.03]).round(3).tolist()
[0.03, 0.04, 0.04]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "WelchComparison",
    "benjamini_hochberg",
    "newcombe_interval",
    "two_proportion_p_value",
    "welch_comparison",
    "wilson_interval",
]


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence!r} must lie strictly between 0 and 1")
    return float(stats.norm.ppf(0.5 + confidence / 2.0))


def wilson_interval(
    events: ArrayLike, trials: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion ``events / trials``, element-wise.

    Parameters
    ----------
    events, trials:
        Counts (arrays broadcast together); ``trials`` must be positive.
    confidence:
        Coverage of the interval, between 0 and 1.

    Returns
    -------
    (low, high):
        Arrays of the interval bounds, inside [0, 1].

    Examples
    --------
    >>> low, high = wilson_interval([0, 5], [10, 10])
    >>> low.round(4).tolist(), high.round(4).tolist()
    ([0.0, 0.2366], [0.2775, 0.7634])
    """
    x = np.asarray(events, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if np.any(n <= 0) or np.any(x < 0) or np.any(x > n):
        raise ValueError("events must lie in [0, trials] and trials must be positive")
    z = _z(confidence)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def newcombe_interval(
    events_a: ArrayLike,
    trials_a: ArrayLike,
    events_b: ArrayLike,
    trials_b: ArrayLike,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval for the difference of proportions ``p_a - p_b``.

    Parameters
    ----------
    events_a, trials_a:
        Counts of the first arm (the targeted customers).
    events_b, trials_b:
        Counts of the second arm (the holdout).
    confidence:
        Coverage of the interval.

    Returns
    -------
    (low, high):
        Arrays of the bounds of ``p_a - p_b``.

    Examples
    --------
    >>> low, high = newcombe_interval([56], [70], [48], [80])  # Newcombe (1998), table II
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (0.0524, 0.3339)
    """
    xa = np.atleast_1d(np.asarray(events_a, dtype=np.float64))
    na = np.atleast_1d(np.asarray(trials_a, dtype=np.float64))
    xb = np.atleast_1d(np.asarray(events_b, dtype=np.float64))
    nb = np.atleast_1d(np.asarray(trials_b, dtype=np.float64))
    la, ua = wilson_interval(xa, na, confidence)
    lb, ub = wilson_interval(xb, nb, confidence)
    pa, pb = xa / na, xb / nb
    diff = pa - pb
    low = diff - np.sqrt((pa - la) ** 2 + (ub - pb) ** 2)
    high = diff + np.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
    return low, high


def two_proportion_p_value(
    events_a: ArrayLike, trials_a: ArrayLike, events_b: ArrayLike, trials_b: ArrayLike
) -> np.ndarray:
    """Two-sided p-value of "the two proportions are equal", element-wise.

    The pooled z-test (the chi-square test of the 2 x 2 table without continuity
    correction); Fisher's exact test where an expected count is below 5, where the
    normal approximation is unreliable. Two arms that both have no events, or only
    events, give 1.

    Examples
    --------
    >>> two_proportion_p_value([30], [100], [10], [100]).round(6).tolist()
    [0.000407]
    >>> two_proportion_p_value([2], [10], [0], [10]).round(4).tolist()
    [0.4737]
    """
    xa = np.atleast_1d(np.asarray(events_a, dtype=np.float64))
    na = np.atleast_1d(np.asarray(trials_a, dtype=np.float64))
    xb = np.atleast_1d(np.asarray(events_b, dtype=np.float64))
    nb = np.atleast_1d(np.asarray(trials_b, dtype=np.float64))
    xa, na, xb, nb = np.broadcast_arrays(xa, na, xb, nb)
    pooled = (xa + xb) / (na + nb)
    variance = pooled * (1 - pooled) * (1 / na + 1 / nb)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (xa / na - xb / nb) / np.sqrt(variance)
    p = np.where(variance > 0, 2 * stats.norm.sf(np.abs(z)), 1.0)
    events, misses = xa + xb, (na - xa) + (nb - xb)
    total = na + nb
    smallest = np.minimum(events, misses) * np.minimum(na, nb) / total
    for i in np.flatnonzero((smallest < 5) & (variance > 0)):
        table = [[int(xa[i]), int(na[i] - xa[i])], [int(xb[i]), int(nb[i] - xb[i])]]
        p[i] = float(stats.fisher_exact(table).pvalue)
    return np.asarray(p, dtype=np.float64)


@dataclass(frozen=True)
class WelchComparison:
    """Welch's comparison of two means, element-wise arrays.

    Attributes
    ----------
    difference:
        ``mean_a - mean_b``.
    low, high:
        Bounds of the interval of the difference.
    p_value:
        Two-sided p-value of "the means are equal".
    degrees_of_freedom:
        Welch-Satterthwaite degrees of freedom.
    """

    difference: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_value: np.ndarray
    degrees_of_freedom: np.ndarray


def welch_comparison(
    mean_a: ArrayLike,
    variance_a: ArrayLike,
    count_a: ArrayLike,
    mean_b: ArrayLike,
    variance_b: ArrayLike,
    count_b: ArrayLike,
    confidence: float = 0.95,
) -> WelchComparison:
    """Welch's t interval and test for ``mean_a - mean_b`` from summary statistics.

    Parameters
    ----------
    mean_a, variance_a, count_a:
        Mean, sample variance (``ddof=1``) and count of the first arm.
    mean_b, variance_b, count_b:
        The same for the second arm; each count must be at least 2.
    confidence:
        Coverage of the interval.

    Returns
    -------
    WelchComparison
        When both variances are 0 the interval is the difference itself and the p-value
        is 1 if the means are equal, else 0.

    Examples
    --------
    >>> w = welch_comparison([12.0], [4.0], [10], [10.0], [9.0], [12])
    >>> round(float(w.difference[0]), 3), round(float(w.p_value[0]), 4)
    (2.0, 0.0775)
    """
    ma = np.atleast_1d(np.asarray(mean_a, dtype=np.float64))
    va = np.atleast_1d(np.asarray(variance_a, dtype=np.float64))
    na = np.atleast_1d(np.asarray(count_a, dtype=np.float64))
    mb = np.atleast_1d(np.asarray(mean_b, dtype=np.float64))
    vb = np.atleast_1d(np.asarray(variance_b, dtype=np.float64))
    nb = np.atleast_1d(np.asarray(count_b, dtype=np.float64))
    if np.any(na < 2) or np.any(nb < 2):
        raise ValueError("Welch's comparison needs at least 2 customers in each arm")
    _z(confidence)
    sa, sb = np.maximum(va, 0.0) / na, np.maximum(vb, 0.0) / nb
    se = np.sqrt(sa + sb)
    diff = ma - mb
    degenerate = se <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = (sa + sb) ** 2 / (sa**2 / (na - 1) + sb**2 / (nb - 1))
        t = diff / se
    dof = np.where(degenerate, na + nb - 2, dof)
    quantile = stats.t.ppf(0.5 + confidence / 2.0, dof)
    half = np.where(degenerate, 0.0, quantile * se)
    p = np.where(degenerate, np.where(diff == 0, 1.0, 0.0), 2 * stats.t.sf(np.abs(t), dof))
    return WelchComparison(
        difference=diff,
        low=diff - half,
        high=diff + half,
        p_value=np.asarray(p, dtype=np.float64),
        degrees_of_freedom=np.asarray(dof, dtype=np.float64),
    )


def benjamini_hochberg(p_values: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order.

    A cell is a discovery at false discovery rate ``alpha`` when its adjusted p-value is
    below ``alpha``. NaN entries stay NaN and do not count as tests.

    Examples
    --------
    >>> benjamini_hochberg([0.005, float("nan"), 0.02, 0.9]).round(3).tolist()
    [0.015, nan, 0.03, 0.9]
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = len(valid)
    if m == 0:
        return out
    order = valid[np.argsort(p[valid], kind="stable")]
    ranked = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out[order] = np.minimum(adjusted, 1.0)
    return out
