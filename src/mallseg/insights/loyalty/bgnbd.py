"""The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005, "Counting your customers").

While alive, a customer makes repeat events (purchases, visits) as a Poisson process with
rate lambda; lambda varies across customers as Gamma(shape r, rate alpha). After each
repeat event the customer drops out for good with probability p; p varies as Beta(a, b).
A customer is summarised by ``x`` (repeat events), ``t_x`` (time of the last one, from the
first event) and ``T`` (time from the first event to the end of observation), in one unit
of time (days or weeks) used throughout.

The log-likelihood (FHL 2005, eq. 6) is evaluated in log space:

    ln L = ln G(r+x) - ln G(r) + r ln alpha
           + ln[ B(a, b+x)/B(a, b) (alpha+T)^-(r+x)
                 + [x > 0] B(a+1, b+x-1)/B(a, b) (alpha+t_x)^-(r+x) ]

The transcendental parts depend on ``x``, ``t_x`` or ``T`` alone, so they are computed once
per distinct value and gathered: a fit on a million customers costs little more than one
on their few thousand distinct triplets.

Examples
--------
>>> model = BgNbdModel(r=0.243, alpha=4.414, a=0.793, b=2.426)
>>> round(float(model.probability_alive(2, 30.43, 38.86)[0]), 4)
0.7266
>>> round(float(model.expected_repeat_events(39, 2, 30.43, 38.86)[0]), 3)
1.226
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.integrate import quad
from scipy.special import betaln, digamma, gammaln, hyp2f1

from mallseg.insights.loyalty.fitting import (
    FitDiagnostics,
    ParameterEstimate,
    maximise_log_likelihood,
)
from mallseg.insights.loyalty.summary_input import (
    as_summary_arrays,
    broadcast_summary,
    check_summary,
    distinct_patterns,
)

__all__ = ["BgNbdModel", "bgnbd_log_likelihood", "fit_bgnbd"]

ArrayLike = float | Sequence[float] | np.ndarray | pd.Series

_NAMES = ("r", "alpha", "a", "b")


def bgnbd_log_likelihood(
    params: Sequence[float] | np.ndarray, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike  # noqa: N803
) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood at ``params = (r, alpha, a, b)``.

    Examples
    --------
    A customer with no repeat purchase observed for T: (alpha / (alpha + T))^r.

    >>> import numpy as np
    >>> ll = bgnbd_log_likelihood([0.5, 2.0, 1.0, 1.0], 0, 0, 6.0)
    >>> bool(np.isclose(ll[0], 0.5 * np.log(2 / 8)))
    True
    """
    x, t_x, big_t = broadcast_summary(frequency, recency, T)
    return _Patterns(x, t_x, big_t).log_likelihood(np.asarray(params, dtype=float))


class _Patterns:
    """Summary data with its distinct x, t_x and T found once, for repeated evaluation."""

    def __init__(self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> None:
        self.xs, self.x_at = np.unique(x, return_inverse=True)
        self.ts, self.t_at = np.unique(big_t, return_inverse=True)
        self.rs, self.rec_at = np.unique(t_x, return_inverse=True)
        self.x = x

    def log_likelihood(self, params: np.ndarray) -> np.ndarray:
        r, alpha, a, b = params
        xs = self.xs
        beta_ab = betaln(a, b)
        head = gammaln(r + xs) - gammaln(r) + r * np.log(alpha)
        alive = betaln(a, b + xs) - beta_ab
        dead = np.where(xs > 0, betaln(a + 1, b + np.maximum(xs, 1) - 1) - beta_ab, -np.inf)
        exponent = r + self.x
        first = alive[self.x_at] - exponent * np.log(alpha + self.ts)[self.t_at]
        second = dead[self.x_at] - exponent * np.log(alpha + self.rs)[self.rec_at]
        return head[self.x_at] + np.logaddexp(first, second)

    def gradient(self, params: np.ndarray) -> np.ndarray:
        """Derivatives of each pattern's log-likelihood by (r, alpha, a, b)."""
        r, alpha, a, b = params
        xs, x_at = self.xs, self.x_at
        x = self.x
        log_t = np.log(alpha + self.ts)[self.t_at]
        log_tx = np.log(alpha + self.rs)[self.rec_at]
        beta_ab = betaln(a, b)
        alive = betaln(a, b + xs) - beta_ab
        dead = np.where(xs > 0, betaln(a + 1, b + np.maximum(xs, 1) - 1) - beta_ab, -np.inf)
        first = alive[x_at] - (r + x) * log_t
        second = dead[x_at] - (r + x) * log_tx
        w_first = 1.0 / (1.0 + np.exp(second - first))
        w_second = 1.0 - w_first
        psi_ab, psi_abx = digamma(a + b), digamma(a + b + xs)
        d_r = (digamma(r + xs) - digamma(r))[x_at] + np.log(alpha) - (
            w_first * log_t + w_second * log_tx
        )
        d_alpha = r / alpha - (r + x) * (
            w_first / (alpha + self.ts)[self.t_at] + w_second / (alpha + self.rs)[self.rec_at]
        )
        first_a = psi_ab - psi_abx
        second_a = digamma(a + 1) - digamma(a) + psi_ab - psi_abx
        first_b = digamma(b + xs) - digamma(b) + psi_ab - psi_abx
        second_b = np.where(
            xs > 0, digamma(b + np.maximum(xs, 1) - 1) - digamma(b) + psi_ab - psi_abx, 0.0
        )
        d_a = w_first * first_a[x_at] + w_second * second_a[x_at]
        d_b = w_first * first_b[x_at] + w_second * second_b[x_at]
        return np.column_stack([d_r, d_alpha, d_a, d_b])


def _fit_starts(x: np.ndarray, big_t: np.ndarray, weights: np.ndarray) -> list[list[float]]:
    """A data-based start (rate from the mean frequency) and two spread around it."""
    mean_t = float(np.average(big_t, weights=weights)) or 1.0
    mean_x = float(np.average(x, weights=weights))
    rate = max(mean_x, 0.05) / mean_t
    return [
        [1.0, 1.0 / rate, 1.0, 1.0],
        [0.3, 0.3 / rate, 0.5, 3.0],
        [3.0, 3.0 / rate, 2.0, 0.5],
    ]


def fit_bgnbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803
    *,
    unit: str = "days",
    starts: Sequence[Sequence[float]] | None = None,
) -> BgNbdModel:
    """Fit the BG/NBD model by maximum likelihood on the customers' (x, t_x, T).

    Parameters
    ----------
    frequency, recency, T:
        Per customer: repeat events ``x``, time of the last event ``t_x`` and observation
        length ``T`` (from the first event), in ``unit``.
    unit:
        The unit of ``recency`` and ``T`` (``"days"`` or ``"weeks"``), kept with the model
        so forecasts over a number of days can be converted.
    starts:
        Starting values ``(r, alpha, a, b)``; default three starts around a data-based one.

    Returns
    -------
    BgNbdModel
        With standard errors and fit diagnostics.

    Raises
    ------
    ModelFitError
        On invalid input (negative or missing values, ``recency > T``) or when the fit
        does not converge.

    Examples
    --------
    >>> from mallseg.datasets.btyd import simulate_bgnbd
    >>> data = simulate_bgnbd(2000, r=0.5, alpha=5.0, a=0.8, b=2.5, T=40.0, seed=1)
    >>> model = fit_bgnbd(data["frequency"], data["recency"], data["T"], unit="weeks")
    >>> model.diagnostics.customers
    2000
    """
    arrays = as_summary_arrays("BG/NBD", frequency=frequency, recency=recency, T=T)
    x, t_x, big_t = arrays["frequency"], arrays["recency"], arrays["T"]
    check_summary("BG/NBD", x, t_x, big_t)
    (ux, ut_x, ut), counts = distinct_patterns(x, t_x, big_t)
    patterns = _Patterns(ux, ut_x, ut)
    params, estimates, diagnostics = maximise_log_likelihood(
        patterns.log_likelihood,
        counts,
        starts if starts is not None else _fit_starts(ux, ut, counts),
        model="BG/NBD",
        names=_NAMES,
        gradient=patterns.gradient,
    )
    r, alpha, a, b = (float(v) for v in params)
    return BgNbdModel(
        r=r, alpha=alpha, a=a, b=b, unit=unit,
        standard_errors={e.name: e.standard_error for e in estimates},
        diagnostics=diagnostics,
    )


@dataclass(frozen=True)
class BgNbdModel:
    """A BG/NBD model: parameters, and the predictions they imply.

    Build one from known parameters, or get one fitted by :func:`fit_bgnbd`.

    Examples
    --------
    >>> m = BgNbdModel(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="weeks")
    >>> float(m.probability_alive(0, 0, 38.86)[0])
    1.0
    >>> m.to_dict()["parameters"][0]
    {'name': 'r', 'value': 0.243, 'standard_error': None}
    """

    r: float
    alpha: float
    a: float
    b: float
    unit: str = "days"
    standard_errors: dict[str, float] = field(default_factory=dict)
    diagnostics: FitDiagnostics | None = None

    name = "BG/NBD"

    @property
    def params(self) -> np.ndarray:
        """``(r, alpha, a, b)`` as an array."""
        return np.array([self.r, self.alpha, self.a, self.b], dtype=float)

    @property
    def estimates(self) -> list[ParameterEstimate]:
        """Each parameter with its standard error (NaN when not fitted)."""
        return [
            ParameterEstimate(n, float(v), float(self.standard_errors.get(n, np.nan)))
            for n, v in zip(_NAMES, self.params, strict=True)
        ]

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:  # noqa: N803
        """Per-customer log-likelihood under this model."""
        return bgnbd_log_likelihood(self.params, frequency, recency, T)

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike  # noqa: N803
    ) -> np.ndarray:
        """P(alive at T | x, t_x, T) (FHL 2005, eq. 11).

        By the model's construction a customer without repeat events cannot have dropped
        out, so their probability is 1.
        """
        x, t_x, big_t = broadcast_summary(frequency, recency, T)
        log_ratio = (self.r + x) * (np.log(self.alpha + big_t) - np.log(self.alpha + t_x))
        odds = np.where(
            x > 0,
            np.exp(np.log(self.a) - np.log(np.maximum(self.b + x - 1, 1e-300)) + log_ratio),
            0.0,
        )
        return 1.0 / (1.0 + odds)

    def expected_repeat_events(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike  # noqa: N803
    ) -> np.ndarray:
        """Expected repeat events in (T, T + t] given x, t_x, T (FHL 2005, eq. 10).

        The Gaussian hypergeometric term is taken through Euler's transformation,
        ``(1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)``,
        whose parameters stay small however large ``x`` is.
        """
        t_arr = np.asarray(t, dtype=float).reshape(-1)
        x, t_x, big_t = broadcast_summary(frequency, recency, T)
        t_arr, x, t_x, big_t = np.broadcast_arrays(t_arr, x, t_x, big_t)
        z = t_arr / (self.alpha + big_t + t_arr)
        expected_alive = _near_one(
            self.a, lambda a: _alive_expectation(a, self.b, self.r, x, z)
        )
        return expected_alive * self.probability_alive(x, t_x, big_t)

    def expected_events_new_customer(self, t: ArrayLike) -> np.ndarray:
        """Expected repeat events in (0, t] of a customer who just made the first (eq. 9)."""
        t_arr = np.asarray(t, dtype=float).reshape(-1)
        z = t_arr / (self.alpha + t_arr)
        return _near_one(
            self.a, lambda a: _alive_expectation(a, self.b, self.r, np.zeros_like(z), z)
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: model name, unit, parameters with standard errors, diagnostics."""
        return {
            "model": self.name,
            "unit": self.unit,
            "parameters": [e.to_dict() for e in self.estimates],
            "diagnostics": None if self.diagnostics is None else {
                **self.diagnostics.to_dict(),
                "aic": self.diagnostics.aic(4),
                "bic": self.diagnostics.bic(4),
            },
        }


def _alive_expectation(a: float, b: float, r: float, x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``(a+b+x-1)/(a-1) [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)]``.

    Where scipy's ``hyp2f1`` gives up (a large third parameter with z near 1), the same
    expectation is integrated numerically: given alive, ``lambda ~ Gamma(r+x, alpha+T)``
    and ``p ~ Beta(a, b+x)``, and a customer with (lambda, p) makes
    ``(1 - exp(-lambda p t)) / p`` events in t, so the expectation is
    ``E_p[(1 - (1 + p t/(alpha+T))^-(r+x)) / p]`` with ``t/(alpha+T) = z/(1-z)``.
    """
    with np.errstate(all="ignore"):
        hyper = np.power(1.0 - z, a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0,
                                                    a + b + x - 1.0, z)
        value = (a + b + x - 1.0) / (a - 1.0) * (1.0 - hyper)
    failed = np.flatnonzero(~np.isfinite(value))
    for i in failed:
        value[i] = _alive_expectation_by_integral(a, b, r, float(x[i]), float(z[i]))
    return value


def _alive_expectation_by_integral(a: float, b: float, r: float, x: float, z: float) -> float:
    ratio = z / (1.0 - z)  # t / (alpha + T)
    norm = betaln(a, b + x)

    def integrand(logit: float) -> float:
        # p = sigmoid(logit); the Beta density times dp/dlogit = p (1 - p)
        log_p, log_q = -np.logaddexp(0.0, -logit), -np.logaddexp(0.0, logit)
        density = np.exp(a * log_p + (b + x) * log_q - norm)
        if density == 0.0:
            return 0.0
        p = np.exp(log_p)
        if p * ratio < 1e-12:  # the limit as p -> 0: no drop-out, (r+x) t/(alpha+T)
            return float(density * (r + x) * ratio)
        return float(density * -np.expm1(-(r + x) * np.log1p(p * ratio)) / p)

    centre = float(np.log(a) - np.log(b + x))  # the logit of the Beta's mean, about
    left = quad(integrand, -np.inf, centre, limit=200)[0]
    right = quad(integrand, centre, np.inf, limit=200)[0]
    return left + right


def _near_one(a: float, evaluate: Callable[[float], np.ndarray]) -> np.ndarray:
    """``evaluate(a)``, or at a = 1 (a removable singularity) the mean of a = 1 -+ 1e-4."""
    step = 1e-4
    if abs(a - 1.0) >= step:
        return evaluate(a)
    return (evaluate(1.0 - step) + evaluate(1.0 + step)) / 2.0
