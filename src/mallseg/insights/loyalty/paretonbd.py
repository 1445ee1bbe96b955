"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), the BG/NBD's alternative.

While alive, a customer makes repeat events as a Poisson process with rate lambda,
``lambda ~ Gamma(r, rate alpha)``; their lifetime is Exponential(mu), ``mu ~ Gamma(s, rate
beta)``. Unlike the BG/NBD, a customer can leave at any time, also before any repeat event,
so P(alive) of a one-time customer falls with time.

The likelihood (Fader & Hardie 2005, "A note on deriving the Pareto/NBD model") is

    L = G(r+x)/G(r) alpha^r beta^s [ (alpha+T)^-(r+x) (beta+T)^-s + s I ]
    I = integral from t_x to T of (alpha+u)^-(r+x) (beta+u)^-(s+1) du,

the second term being "left at some u between the last event and T". ``I`` is evaluated
as ``J(t_x) - J(T)`` with an antiderivative ``J`` built on the Gaussian hypergeometric
function, in log space. Its usual form, 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+u))
when alpha >= beta (with r+x in place of s+1 and the roles of alpha and beta swapped
otherwise), diverges as its argument nears 1; Euler's transformation turns it into
2F1(1, r+x; r+s+x+1; z) (resp. 2F1(1, s+1; r+s+x+1; z)), finite on all of [0, 1]:

    alpha >= beta: J(u) = (alpha+u)^-(r+x) (beta+u)^-s 2F1(1, r+x; r+s+x+1; z) / (r+s+x),
                   z = (alpha-beta)/(alpha+u)
    alpha <  beta: J(u) = (alpha+u)^(1-r-x) (beta+u)^-(s+1) 2F1(1, s+1; r+s+x+1; z) / (r+s+x),
                   z = (beta-alpha)/(beta+u)

Both orderings are handled; the difference is taken as ``log J(t_x) + log(1 - J(T)/J(t_x))``.
Where scipy's ``hyp2f1`` gives up (large x or s with an argument near 1, where it returns
NaN or infinity), ``I`` is integrated numerically instead: 64-point Gauss-Legendre over
``tau = log(w / w_1)``, ``w = (min(alpha, beta) + u) / (max(alpha, beta) + u)``, in which the
integrand is log-concave and falls at least exponentially (cut where it has fallen by e^-50).

Examples
--------
>>> model = ParetoNbdModel(r=0.5533, alpha=10.5776, s=0.6061, beta=11.6565, unit="weeks")
>>> round(float(model.probability_alive(0, 0, 38.86)[0]), 3)
0.295
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import gammaln, hyp2f1

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

__all__ = ["ParetoNbdModel", "fit_pareto_nbd", "pareto_nbd_log_likelihood"]

ArrayLike = float | Sequence[float] | np.ndarray | pd.Series

_NAMES = ("r", "alpha", "s", "beta")


def _log_antiderivative(
    x: np.ndarray, u: np.ndarray, r: float, alpha: float, s: float, beta: float
) -> np.ndarray:
    """Log J(u) for repeat count x (see the module text), either ordering of alpha, beta."""
    c = r + s + x + 1.0
    if alpha >= beta:
        z = (alpha - beta) / (alpha + u)
        hyper = hyp2f1(1.0, r + x, c, z)
        return -(r + x) * np.log(alpha + u) - s * np.log(beta + u) + np.log(hyper) - np.log(c - 1)
    z = (beta - alpha) / (beta + u)
    hyper = hyp2f1(1.0, s + 1.0, c, z)
    return (
        (1.0 - r - x) * np.log(alpha + u) - (s + 1.0) * np.log(beta + u) + np.log(hyper)
        - np.log(c - 1)
    )


def _log_one_minus_exp(d: np.ndarray) -> np.ndarray:
    """log(1 - exp(d)) for d <= 0, accurate at both ends."""
    d = np.minimum(d, 0.0)
    with np.errstate(divide="ignore"):
        return np.where(d > -np.log(2.0), np.log(-np.expm1(d)), np.log1p(-np.exp(d)))


_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(64)
_CUT = 50.0


def _log_integral_by_quadrature(
    x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, r: float, alpha: float, s: float,
    beta: float,
) -> np.ndarray:
    """Log I by Gauss-Legendre quadrature (see the module text); any ordering of alpha, beta.

    With ``w = (lo + u)/(hi + u)`` the integral is ``d^(1-A-B) int w^-P (1-w)^(A+B-2) dw``,
    ``A = r+x``, ``B = s+1``, ``d = hi - lo``, ``P = A`` if alpha < beta else ``B``.
    """
    a_exp = r + x
    b_exp = s + 1.0
    if alpha == beta:
        k = a_exp + b_exp - 1.0
        first, last = -k * np.log(alpha + t_x), -k * np.log(alpha + big_t)
        return first + _log_one_minus_exp(last - first) - np.log(k)
    lo, hi = min(alpha, beta), max(alpha, beta)
    d = hi - lo
    p_exp = a_exp if alpha < beta else np.full_like(a_exp, b_exp)
    q_exp = a_exp + b_exp - 2.0
    log_w1 = np.log1p(-d / (hi + t_x))
    tau_max = np.log1p(-d / (hi + big_t)) - log_w1
    # initial decay rate; the log-integrand is concave in tau, so it lies below its tangent
    rate = (p_exp - 1.0) + q_exp * np.exp(log_w1) / (d / (hi + t_x))
    tau_end = np.where(rate > 0, np.minimum(tau_max, _CUT / np.maximum(rate, 1e-300)), tau_max)
    tau = 0.5 * tau_end[:, None] * (_NODES[None, :] + 1.0)
    log_w = log_w1[:, None] + tau
    log_f = (1.0 - p_exp)[:, None] * log_w + q_exp[:, None] * np.log(-np.expm1(log_w))
    top = np.max(log_f, axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        total = np.log(np.exp(log_f - top) @ _WEIGHTS) + top[:, 0] + np.log(0.5 * tau_end)
    return (1.0 - a_exp - b_exp) * np.log(d) + total


class _Patterns:
    """Summary data with the distinct (x, u) pairs needing the hypergeometric term."""

    def __init__(self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> None:
        n = x.size
        pairs = pd.DataFrame({"x": np.concatenate([x, x]), "u": np.concatenate([t_x, big_t])})
        codes, uniques = pd.factorize(pd.MultiIndex.from_frame(pairs), sort=False)
        self.pair_x = uniques.get_level_values(0).to_numpy(dtype=float)
        self.pair_u = uniques.get_level_values(1).to_numpy(dtype=float)
        self.at_recency, self.at_end = codes[:n], codes[n:]
        self.x, self.t_x, self.big_t = x, t_x, big_t

    def _log_integral(self, r: float, alpha: float, s: float, beta: float) -> np.ndarray:
        log_j = _log_antiderivative(self.pair_x, self.pair_u, r, alpha, s, beta)
        log_j_recency, log_j_end = log_j[self.at_recency], log_j[self.at_end]
        with np.errstate(invalid="ignore"):
            log_integral = log_j_recency + _log_one_minus_exp(log_j_end - log_j_recency)
        failed = ~(np.isfinite(log_j_recency) & np.isfinite(log_j_end)) | np.isnan(log_integral)
        if failed.any():
            log_integral[failed] = _log_integral_by_quadrature(
                self.x[failed], self.t_x[failed], self.big_t[failed], r, alpha, s, beta
            )
        return log_integral

    def _log_terms(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log of the "alive at T" and of the "left between t_x and T" likelihood terms."""
        r, alpha, s, beta = (float(v) for v in params)
        alive = -(r + self.x) * np.log(alpha + self.big_t) - s * np.log(beta + self.big_t)
        return alive, np.log(s) + self._log_integral(r, alpha, s, beta)

    def log_likelihood(self, params: np.ndarray) -> np.ndarray:
        r, alpha, s, beta = (float(v) for v in params)
        x = self.x
        alive, gone = self._log_terms(params)
        head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        return head + np.logaddexp(alive, gone)

    def log_alive_share(self, params: np.ndarray) -> np.ndarray:
        alive, gone = self._log_terms(params)
        return alive - np.logaddexp(alive, gone)


def pareto_nbd_log_likelihood(
    params: Sequence[float] | np.ndarray, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike  # noqa: N803
) -> np.ndarray:
    """Per-customer Pareto/NBD log-likelihood at ``params = (r, alpha, s, beta)``.

    Examples
    --------
    With t_x = T the customer cannot have left in between: L = G(r+x)/G(r)
    (alpha/(alpha+T))^r (alpha+T)^-x (beta/(beta+T))^s.

    >>> import numpy as np
    >>> from scipy.special import gammaln
    >>> ll = pareto_nbd_log_likelihood([0.5, 2.0, 0.7, 3.0], 2, 6.0, 6.0)
    >>> expected = (gammaln(2.5) - gammaln(0.5) + 0.5 * np.log(2 / 8) - 2 * np.log(8)
    ...             + 0.7 * np.log(3 / 9))
    >>> bool(np.isclose(ll[0], expected))
    True
    """
    x, t_x, big_t = broadcast_summary(frequency, recency, T)
    return _Patterns(x, t_x, big_t).log_likelihood(np.asarray(params, dtype=float))


def _fit_starts(x: np.ndarray, big_t: np.ndarray, weights: np.ndarray) -> list[list[float]]:
    mean_t = float(np.average(big_t, weights=weights)) or 1.0
    mean_x = float(np.average(x, weights=weights))
    rate = max(mean_x, 0.05) / mean_t
    return [
        [1.0, 1.0 / rate, 1.0, mean_t],
        [0.5, 0.5 / rate, 0.5, 0.5 * mean_t],
        [2.0, 2.0 / rate, 2.0, 4.0 * mean_t],
    ]


def fit_pareto_nbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803
    *,
    unit: str = "days",
    starts: Sequence[Sequence[float]] | None = None,
) -> ParetoNbdModel:
    """Fit the Pareto/NBD model by maximum likelihood on the customers' (x, t_x, T).

    Parameters and errors are those of :func:`~mallseg.insights.loyalty.bgnbd.fit_bgnbd`;
    starts are ``(r, alpha, s, beta)``.

    Examples
    --------
    >>> from mallseg.datasets.btyd import simulate_pareto_nbd
    >>> data = simulate_pareto_nbd(3000, r=0.6, alpha=10.0, s=0.6, beta=12.0, T=39.0, seed=4)
    >>> model = fit_pareto_nbd(data["frequency"], data["recency"], data["T"], unit="weeks")
    >>> model.diagnostics.customers
    3000
    """
    arrays = as_summary_arrays("Pareto/NBD", frequency=frequency, recency=recency, T=T)
    x, t_x, big_t = arrays["frequency"], arrays["recency"], arrays["T"]
    check_summary("Pareto/NBD", x, t_x, big_t)
    (ux, ut_x, ut), counts = distinct_patterns(x, t_x, big_t)
    patterns = _Patterns(ux, ut_x, ut)
    params, estimates, diagnostics = maximise_log_likelihood(
        patterns.log_likelihood,
        counts,
        starts if starts is not None else _fit_starts(ux, ut, counts),
        model="Pareto/NBD",
        names=_NAMES,
    )
    r, alpha, s, beta = (float(v) for v in params)
    return ParetoNbdModel(
        r=r, alpha=alpha, s=s, beta=beta, unit=unit,
        standard_errors={e.name: e.standard_error for e in estimates},
        diagnostics=diagnostics,
    )


@dataclass(frozen=True)
class ParetoNbdModel:
    """A Pareto/NBD model: parameters, and the predictions they imply.

    Examples
    --------
    >>> m = ParetoNbdModel(r=0.55, alpha=10.58, s=0.61, beta=11.67, unit="weeks")
    >>> bool(m.probability_alive(1, 2.0, 38.0)[0] < m.probability_alive(1, 37.0, 38.0)[0])
    True
    """

    r: float
    alpha: float
    s: float
    beta: float
    unit: str = "days"
    standard_errors: dict[str, float] = field(default_factory=dict)
    diagnostics: FitDiagnostics | None = None

    name = "Pareto/NBD"

    @property
    def params(self) -> np.ndarray:
        """``(r, alpha, s, beta)`` as an array."""
        return np.array([self.r, self.alpha, self.s, self.beta], dtype=float)

    @property
    def estimates(self) -> list[ParameterEstimate]:
        """Each parameter with its standard error (NaN when not fitted)."""
        return [
            ParameterEstimate(n, float(v), float(self.standard_errors.get(n, np.nan)))
            for n, v in zip(_NAMES, self.params, strict=True)
        ]

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:  # noqa: N803
        """Per-customer log-likelihood under this model."""
        return pareto_nbd_log_likelihood(self.params, frequency, recency, T)

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike  # noqa: N803
    ) -> np.ndarray:
        """P(alive at T | x, t_x, T): the "still alive" share of the likelihood."""
        x, t_x, big_t = broadcast_summary(frequency, recency, T)
        return np.exp(_Patterns(x, t_x, big_t).log_alive_share(self.params))

    def expected_repeat_events(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike  # noqa: N803
    ) -> np.ndarray:
        """Expected repeat events in (T, T + t] given x, t_x, T.

        ``(r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)] P(alive)``,
        with its limit ``(r+x)(beta+T)/(alpha+T) log((beta+T+t)/(beta+T))`` at s = 1.
        """
        t_arr = np.asarray(t, dtype=float).reshape(-1)
        x, t_x, big_t = broadcast_summary(frequency, recency, T)
        t_arr, x, t_x, big_t = np.broadcast_arrays(t_arr, x, t_x, big_t)
        alive = self.probability_alive(x, t_x, big_t)
        log_ratio = np.log(self.beta + big_t) - np.log(self.beta + big_t + t_arr)
        rate = (self.r + x) * (self.beta + big_t) / (self.alpha + big_t)
        return rate * _lifetime_factor(self.s, log_ratio) * alive

    def expected_events_new_customer(self, t: ArrayLike) -> np.ndarray:
        """Expected repeat events in (0, t] of a customer who just made the first."""
        t_arr = np.asarray(t, dtype=float).reshape(-1)
        log_ratio = np.log(self.beta) - np.log(self.beta + t_arr)
        return self.r * self.beta / self.alpha * _lifetime_factor(self.s, log_ratio)

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


def _lifetime_factor(s: float, log_ratio: np.ndarray) -> np.ndarray:
    """``[1 - ratio^(s-1)] / (s-1)``, and ``-log(ratio)`` in the limit s = 1."""
    if abs(s - 1.0) < 1e-8:
        return -log_ratio
    return -np.expm1((s - 1.0) * log_ratio) / (s - 1.0)
