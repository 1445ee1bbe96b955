"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV").

A customer's transactions are worth ``z ~ Gamma(p, rate nu)`` each (mean p / nu), and
``nu ~ Gamma(q, rate v)`` across customers. Fitted on the customers with repeat purchases
(x > 0), from ``x`` and their mean repeat spend ``m`` (``z-bar``): the sum of x spends is
Gamma(p x, nu), so

    ln L = ln G(p x + q) - ln G(p x) - ln G(q) + q ln v + (p x - 1) ln m + p x ln x
           - (p x + q) ln(v + x m)

The model assumes spend does not depend on how often a customer buys; check that with
the correlation between ``frequency`` and ``monetary_value`` (``spend_frequency_correlation``
in the fit) before trusting it.

Examples
--------
>>> model = GammaGammaModel(p=6.25, q=3.74, v=15.44)
>>> round(model.population_mean_spend, 2)
35.22
>>> round(float(model.expected_spend(2, 22.35)[0]), 2)
24.66
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from mallseg.insights.loyalty.fitting import (
    FitDiagnostics,
    ModelFitError,
    ParameterEstimate,
    maximise_log_likelihood,
)
from mallseg.insights.loyalty.summary_input import (
    distinct_patterns,
)

__all__ = ["GammaGammaModel", "fit_gamma_gamma", "gamma_gamma_log_likelihood"]

ArrayLike = float | Sequence[float] | np.ndarray | pd.Series

_NAMES = ("p", "q", "v")


def gamma_gamma_log_likelihood(
    params: Sequence[float] | np.ndarray, frequency: ArrayLike, monetary_value: ArrayLike
) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of mean spend ``monetary_value`` over x > 0.

    Examples
    --------
    One transaction of 10 with p = q = v = 1: density 1 * 1 / (1 + 10)^2.

    >>> import numpy as np
    >>> bool(np.isclose(gamma_gamma_log_likelihood([1, 1, 1], 1, 10.0)[0], -2 * np.log(11)))
    True
    """
    p, q, v = (float(t) for t in params)
    x = np.asarray(frequency, dtype=float).reshape(-1)
    m = np.asarray(monetary_value, dtype=float).reshape(-1)
    x, m = np.broadcast_arrays(x, m)
    px = p * x
    return (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
        + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(v + x * m)
    )


class _Patterns:
    """Spend data with its distinct x found once: the gamma functions depend on x alone."""

    def __init__(self, x: np.ndarray, m: np.ndarray) -> None:
        self.xs, self.x_at = np.unique(x, return_inverse=True)
        self.x, self.total = x, x * m
        self.log_m, self.log_x, self.log_total = np.log(m), np.log(x), np.log(x * m)

    def log_likelihood(self, params: np.ndarray) -> np.ndarray:
        p, q, v = (float(t) for t in params)
        px = p * self.xs
        per_x = gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
        pxc = px[self.x_at]
        return (
            per_x[self.x_at] + (pxc - 1) * self.log_m + pxc * self.log_x
            - (pxc + q) * np.log(v + self.total)
        )

    def gradient(self, params: np.ndarray) -> np.ndarray:
        p, q, v = (float(t) for t in params)
        xs = self.xs
        px = p * xs
        psi_sum, psi_px = digamma(px + q), digamma(px)
        log_total = np.log(v + self.total)
        x = self.x
        at = self.x_at
        d_p = x * ((psi_sum - psi_px)[at] + self.log_total - log_total)
        d_q = (psi_sum - digamma(q))[at] + np.log(v) - log_total
        d_v = q / v - (px[at] + q) / (v + self.total)
        return np.column_stack([d_p, d_q, d_v])


def fit_gamma_gamma(
    frequency: ArrayLike,
    monetary_value: ArrayLike,
    *,
    starts: Sequence[Sequence[float]] | None = None,
) -> GammaGammaModel:
    """Fit the Gamma-Gamma model on the customers with repeat purchases.

    Parameters
    ----------
    frequency, monetary_value:
        Per customer: repeat purchases ``x`` and the mean spend over them. Customers with
        ``x == 0`` are left out (their repeat spend is unknown); the others need a positive,
        finite ``monetary_value``.
    starts:
        Starting values ``(p, q, v)``; default three around a moment-based one.

    Raises
    ------
    ModelFitError
        When fewer than 10 customers have repeat purchases, a spend is not positive, or
        the fit does not converge.

    Examples
    --------
    >>> from mallseg.datasets.btyd import simulate_gamma_gamma_spend
    >>> import numpy as np
    >>> x = np.random.default_rng(0).integers(1, 8, 3000)
    >>> spend = simulate_gamma_gamma_spend(x, p=6.0, q=4.0, v=15.0, seed=1)
    >>> model = fit_gamma_gamma(x, spend)
    >>> model.diagnostics.customers
    3000
    """
    x_all = np.asarray(frequency, dtype=float).reshape(-1)
    m_all = np.asarray(monetary_value, dtype=float).reshape(-1)
    if x_all.size != m_all.size:
        raise ModelFitError(
            f"Gamma-Gamma: frequency has {x_all.size} values and monetary_value {m_all.size}"
        )
    repeat = x_all > 0
    x, m = x_all[repeat], m_all[repeat]
    bad = np.flatnonzero(~np.isfinite(m) | (m <= 0))
    if bad.size:
        i = int(np.flatnonzero(repeat)[bad[0]])
        raise ModelFitError(
            f"Gamma-Gamma: customer {i}: monetary_value {m_all[i]} with {x_all[i]:g} repeat "
            "purchases: expected a positive mean spend"
        )
    if x.size < 10:
        raise ModelFitError(
            f"Gamma-Gamma: only {x.size} customers with repeat purchases; at least 10 needed"
        )
    (ux, um), counts = distinct_patterns(x, m)
    patterns = _Patterns(ux, um)
    if starts is None:
        # population mean spend p v / (q - 1) set to the observed mean
        mean, spread = float(np.mean(m)), float(np.std(m)) or 1.0
        p0 = float(np.clip((mean / spread) ** 2, 0.5, 50.0))
        starts = [[p0, 3.0, 2.0 * mean / p0], [1.0, 2.0, mean], [2.0 * p0, 6.0, 2.5 * mean / p0]]
    params, estimates, diagnostics = maximise_log_likelihood(
        patterns.log_likelihood,
        counts,
        starts,
        model="Gamma-Gamma",
        names=_NAMES,
        gradient=patterns.gradient,
    )
    correlation = float(np.corrcoef(x, m)[0, 1]) if np.std(x) > 0 and np.std(m) > 0 else 0.0
    p, q, v = (float(t) for t in params)
    return GammaGammaModel(
        p=p, q=q, v=v,
        standard_errors={e.name: e.standard_error for e in estimates},
        diagnostics=diagnostics,
        spend_frequency_correlation=correlation,
    )


@dataclass(frozen=True)
class GammaGammaModel:
    """A Gamma-Gamma spend model: parameters and the expected spend per transaction.

    Examples
    --------
    >>> m = GammaGammaModel(p=6.25, q=3.74, v=15.44)
    >>> m.to_dict()["parameters"][2]["name"]
    'v'
    """

    p: float
    q: float
    v: float
    standard_errors: dict[str, float] = field(default_factory=dict)
    diagnostics: FitDiagnostics | None = None
    spend_frequency_correlation: float | None = None
    """Pearson correlation of repeat purchases and mean spend in the fitted data (the model
    assumes none)."""

    name = "Gamma-Gamma"

    @property
    def params(self) -> np.ndarray:
        """``(p, q, v)`` as an array."""
        return np.array([self.p, self.q, self.v], dtype=float)

    @property
    def estimates(self) -> list[ParameterEstimate]:
        """Each parameter with its standard error (NaN when not fitted)."""
        return [
            ParameterEstimate(n, float(t), float(self.standard_errors.get(n, np.nan)))
            for n, t in zip(_NAMES, self.params, strict=True)
        ]

    @property
    def population_mean_spend(self) -> float:
        """Mean spend per transaction across customers, ``p v / (q - 1)`` (infinite if q <= 1)."""
        return self.p * self.v / (self.q - 1.0) if self.q > 1.0 else float("inf")

    def expected_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> np.ndarray:
        """E[spend per transaction | x, m]: ``p (v + x m) / (p x + q - 1)``.

        A weighted mean of the population mean and the customer's own mean, the weight on
        the customer's growing with ``x``. For ``x == 0`` (or an unknown ``m``) it is the
        population mean.
        """
        x = np.asarray(frequency, dtype=float).reshape(-1)
        m = np.asarray(monetary_value, dtype=float).reshape(-1)
        x, m = np.broadcast_arrays(x, m)
        known = (x > 0) & np.isfinite(m)
        x_used = np.where(known, x, 0.0)
        m_used = np.where(known, m, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = self.p * (self.v + x_used * m_used) / (self.p * x_used + self.q - 1.0)
        return np.where(self.p * x_used + self.q - 1.0 > 0, value, np.inf)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: parameters with standard errors, diagnostics, population mean."""
        mean = self.population_mean_spend
        return {
            "model": self.name,
            "parameters": [e.to_dict() for e in self.estimates],
            "population_mean_spend": float(mean) if np.isfinite(mean) else None,
            "spend_frequency_correlation": self.spend_frequency_correlation,
            "diagnostics": None if self.diagnostics is None else {
                **self.diagnostics.to_dict(),
                "aic": self.diagnostics.aic(3),
                "bic": self.diagnostics.bic(3),
            },
        }
