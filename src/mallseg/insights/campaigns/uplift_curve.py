"""The Qini (cumulative uplift) curve of a ranking, evaluated on held-out exposures.

Rank the exposures by predicted uplift, best first. After the top share ``x``, with
``R_t(x)`` targeted responders and ``R_c(x)`` held-out responders among them and ``N_t``,
``N_c`` targeted and held-out exposures in all, the incremental responses of targeting that
share of a population of ``N`` customers are::

    y(x) = N * (R_t(x) / N_t - R_c(x) / N_c)

(Radcliffe's Qini curve, scaled to the population). A random choice of the same share gains
``x * y(1)``: the random line. The Qini coefficient is the mean gap between the curve and
that line over all shares, per customer of the population: 0 for a ranking no better than
chance, larger for better rankings of the same data. Because ``R_t(x) / N_t`` and
``R_c(x) / N_c`` are proportions of fixed arm sizes, the interval of ``y(x)`` is Newcombe's
interval of their difference, times ``N``.

Examples
--------
>>> import numpy as np
>>> scores = np.array([0.9, 0.8, 0.2, 0.1])
>>> treated = np.array([True, False, True, False])
>>> responded = np.array([True, False, False, False])
>>> curve = qini_curve(scores, treated, responded, population=4, points=2)
>>> curve.share, curve.incremental, curve.random
((0.0, 0.5, 1.0), (0.0, 2.0, 2.0), (0.0, 1.0, 2.0))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mallseg.insights.campaigns.inference import newcombe_interval

__all__ = ["UpliftCurve", "incremental_at", "qini_coefficient", "qini_curve", "ranked_counts"]


@dataclass(frozen=True)
class UpliftCurve:
    """Chart data: share targeted against cumulative incremental responses.

    Attributes
    ----------
    method:
        The ranking's name (``segment``, ``two_model``, ``x_learner``).
    share:
        Shares of the population targeted, 0 to 1.
    incremental:
        Incremental responses when targeting that share, best-ranked first.
    random:
        The same for a random choice (a straight line).
    population:
        Customers the curve is scaled to.
    coefficient:
        Qini coefficient: mean of ``incremental - random`` over all shares, per customer.
    exposures:
        Held-out exposures the curve was evaluated on.
    """

    method: str
    share: tuple[float, ...]
    incremental: tuple[float, ...]
    random: tuple[float, ...]
    population: int
    coefficient: float
    exposures: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "method": self.method,
            "share": list(self.share),
            "incremental": list(self.incremental),
            "random": list(self.random),
            "population": int(self.population),
            "coefficient": self.coefficient,
            "exposures": int(self.exposures),
        }


def ranked_counts(
    scores: np.ndarray,
    treated: np.ndarray,
    responded: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    ranked: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Cumulative targeted and held-out responders down the ranking (0 at the top).

    Ties keep the input order: shuffle first where ties must be broken at random. With
    ``weights``, every count is a sum of weights (see
    :func:`~mallseg.insights.campaigns.method_choice.balancing_weights`). With ``ranked``
    the rows are taken to be in ranking order already and ``scores`` is not read.

    Returns
    -------
    (targeted_responders, holdout_responders, share, n_targeted, n_holdout):
        Three arrays of length ``len(scores) + 1`` (the third is the share of all
        exposures ranked so far) and the two arm sizes.

    Examples
    --------
    >>> import numpy as np
    >>> rt, rc, x, nt, nc = ranked_counts(np.array([0.1, 0.9]), np.array([True, False]),
    ...                                   np.array([True, True]))
    >>> rt.tolist(), rc.tolist(), x.tolist(), nt, nc
    ([0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.0, 0.5, 1.0], 1.0, 1.0)
    """
    s = np.asarray(scores, dtype=np.float64)
    t = np.asarray(treated, dtype=bool)
    y = np.asarray(responded, dtype=bool)
    w = np.ones(len(s)) if weights is None else np.asarray(weights, dtype=np.float64)
    if not ranked:
        order = np.argsort(-s, kind="stable")
        t, y, w = t[order], y[order], w[order]
    rt = np.concatenate([[0.0], np.cumsum(w * (t & y))])
    rc = np.concatenate([[0.0], np.cumsum(w * (~t & y))])
    x = np.concatenate([[0.0], np.cumsum(w)])
    total = x[-1] if len(x) > 1 and x[-1] > 0 else 1.0
    return rt, rc, x / total, float(w[t].sum()), float(w[~t].sum())


def qini_coefficient(
    scores: np.ndarray,
    treated: np.ndarray,
    responded: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    ranked: bool = False,
) -> float:
    """The Qini coefficient of ``scores`` alone (per customer; see :func:`qini_curve`).

    ``ranked`` says the rows are in ranking order already (see :func:`ranked_counts`).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([True, False, True, False])
    >>> y = np.array([True, False, False, False])
    >>> qini_coefficient(np.array([4.0, 3.0, 2.0, 1.0]), t, y)
    0.1875
    """
    rt, rc, x, nt, nc = ranked_counts(scores, treated, responded, weights, ranked=ranked)
    if nt <= 0 or nc <= 0:
        raise ValueError("a Qini coefficient needs both targeted and held-out exposures")
    curve = rt / nt - rc / nc
    gap = curve - x * curve[-1]
    return float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(x)))


def qini_curve(
    scores: np.ndarray,
    treated: np.ndarray,
    responded: np.ndarray,
    *,
    population: int | None = None,
    method: str = "ranking",
    points: int = 20,
    weights: np.ndarray | None = None,
) -> UpliftCurve:
    """The Qini curve of ``scores`` on exposures with known arm and response.

    Parameters
    ----------
    scores:
        Predicted uplift (or any ranking score: higher = target first).
    treated, responded:
        Arm (True = targeted) and response of each exposure.
    population:
        Customers to scale the curve to (default: the exposures).
    method:
        Name recorded on the curve.
    points:
        Steps of the chart between share 0 and 1.
    weights:
        Weight of each exposure (default 1): counts become sums of weights.

    Raises
    ------
    ValueError
        When either arm is empty or the lengths differ.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> t = rng.random(2000) < 0.5
    >>> good = rng.random(2000) < 0.5
    >>> y = rng.random(2000) < 0.1 + 0.3 * (t & good)
    >>> qini_curve(good.astype(float), t, y).coefficient > 0.03
    True
    """
    s = np.asarray(scores, dtype=np.float64)
    t = np.asarray(treated, dtype=bool)
    if not len(s) == len(t) == len(responded):
        raise ValueError("scores, treated and responded must have one value per exposure")
    n = len(s)
    rt, rc, x, nt, nc = ranked_counts(s, t, np.asarray(responded, dtype=bool), weights)
    if nt <= 0 or nc <= 0:
        raise ValueError("a Qini curve needs both targeted and held-out exposures")
    size = int(population) if population is not None else n
    curve = size * (rt / nt - rc / nc)
    gap = curve - x * curve[-1]
    coefficient = float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(x))) / size
    grid = np.linspace(0.0, 1.0, points + 1)
    at = np.clip(np.searchsorted(x, grid - 1e-12), 0, n)
    return UpliftCurve(
        method=method,
        share=tuple(round(float(v), 6) for v in grid),
        incremental=tuple(round(float(v), 4) for v in curve[at]),
        random=tuple(round(float(v), 4) for v in grid * curve[-1]),
        population=size,
        coefficient=round(coefficient, 8),
        exposures=n,
    )


def incremental_at(
    scores: np.ndarray,
    treated: np.ndarray,
    responded: np.ndarray,
    share: float,
    *,
    confidence: float = 0.95,
    weights: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """Incremental responses per customer from targeting the top ``share``, with interval.

    Multiply by the number of customers targeted from (the population) to get responses.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([True, True, False, False] * 50)
    >>> y = np.array([True, False, False, False] * 50)
    >>> est, low, high = incremental_at(np.zeros(200), t, y, 1.0)
    >>> round(est, 2), low < est < high
    (0.5, True)
    """
    rt, rc, x, nt, nc = ranked_counts(scores, treated, responded, weights)
    k = int(np.clip(np.searchsorted(x, share - 1e-12), 0, len(x) - 1))
    low, high = newcombe_interval(rt[k], nt, rc[k], nc, confidence)
    return float(rt[k] / nt - rc[k] / nc), float(low[0]), float(high[0])
