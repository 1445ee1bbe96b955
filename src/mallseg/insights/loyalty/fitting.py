"""Maximum-likelihood machinery shared by the customer-base models.

Every model here is fitted the same way: the customers are compressed to their distinct
data patterns with counts (a million customers of a mall share far fewer distinct
``(x, t_x, T)`` triplets), the negative log-likelihood is minimised over the logarithms of
the parameters (all of them are positive) with L-BFGS-B inside bounds, from several
starts, and the best optimum is kept. Standard errors come from the inverse of the
numerical Hessian of the total negative log-likelihood, taken on the log scale and carried
back with the delta method (``se(theta) = theta * se(log theta)``).

A fit that does not converge raises :class:`ModelFitError` with one line saying what to
do. An optimum on a bound is kept and named in the diagnostics: it is the limit of the
model the data point to (typically a mixing distribution collapsing to one value).

Examples
--------
>>> from scipy.special import gammaln
>>> k = np.array([2.0, 4.0])
>>> params, _, _ = maximise_log_likelihood(lambda p: k * np.log(p[0]) - p[0] - gammaln(k + 1),
...                                        np.ones(2), [[1.0]], model="Poisson", names=["rate"])
>>> round(float(params[0]), 4)
3.0
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

__all__ = [
    "LOG_BOUNDS",
    "FitDiagnostics",
    "ModelFitError",
    "ParameterEstimate",
    "maximise_log_likelihood",
]

logger = logging.getLogger(__name__)

LOG_BOUNDS = (-12.0, 12.0)
"""Bounds of every log-parameter: parameters between about 6e-6 and 1.6e5."""

_EDGE = 1e-3
_AGREE = 1e-6


class ModelFitError(ValueError):
    """A model could not be fitted to the data; the message says why and what to do.

    >>> str(ModelFitError("BG/NBD: no customer"))
    'BG/NBD: no customer'
    """


@dataclass(frozen=True)
class ParameterEstimate:
    """One fitted parameter with its standard error (NaN when the Hessian is singular).

    Examples
    --------
    >>> ParameterEstimate("r", 0.243, 0.013).to_dict()
    {'name': 'r', 'value': 0.243, 'standard_error': 0.013}
    """

    name: str
    value: float
    standard_error: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (NaN standard error becomes ``None``)."""
        se = None if not np.isfinite(self.standard_error) else float(self.standard_error)
        return {"name": self.name, "value": float(self.value), "standard_error": se}


@dataclass(frozen=True)
class FitDiagnostics:
    """How a maximum-likelihood fit went.

    Attributes
    ----------
    log_likelihood:
        Total log-likelihood at the optimum.
    customers:
        Customers the model was fitted on.
    distinct_patterns:
        Distinct data patterns actually evaluated (customers sharing one are counted once).
    starts:
        Starting points tried.
    starts_at_best:
        Starts that reached the best optimum (to 1e-6 relative): more than one means the
        optimum was found from different places.
    iterations:
        Optimiser iterations of the best start.
    gradient_norm:
        Largest absolute gradient of the mean log-likelihood (log scale) at the optimum.
    seconds:
        Wall time of the fit, standard errors included.
    at_bound:
        Parameters whose optimum lies at the edge of the search (e.g. a gamma mixing
        distribution's shape and rate growing without limit: no variation across
        customers). Their standard errors are NaN.

    Examples
    --------
    >>> d = FitDiagnostics(-9582.4, 2357, 1200, 3, 3, 25, 1e-7, 0.1)
    >>> d.aic(4)
    19172.8
    """

    log_likelihood: float
    customers: int
    distinct_patterns: int
    starts: int
    starts_at_best: int
    iterations: int
    gradient_norm: float
    seconds: float
    at_bound: tuple[str, ...] = ()

    def aic(self, parameters: int) -> float:
        """Akaike information criterion for a model with ``parameters`` free parameters."""
        return round(2.0 * parameters - 2.0 * self.log_likelihood, 6)

    def bic(self, parameters: int) -> float:
        """Bayesian information criterion (log of the customer count as the penalty)."""
        penalty = parameters * np.log(max(self.customers, 1))
        return round(float(penalty - 2.0 * self.log_likelihood), 6)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "log_likelihood": float(self.log_likelihood),
            "customers": int(self.customers),
            "distinct_patterns": int(self.distinct_patterns),
            "starts": int(self.starts),
            "starts_at_best": int(self.starts_at_best),
            "iterations": int(self.iterations),
            "gradient_norm": float(self.gradient_norm),
            "seconds": float(self.seconds),
            "at_bound": list(self.at_bound),
        }


def maximise_log_likelihood(
    log_likelihood: Callable[[np.ndarray], np.ndarray],
    weights: np.ndarray,
    starts: Sequence[Sequence[float]],
    *,
    model: str,
    names: Sequence[str],
    gradient: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, list[ParameterEstimate], FitDiagnostics]:
    """Maximise ``sum(weights * log_likelihood(params))`` over positive parameters.

    Parameters
    ----------
    log_likelihood:
        Maps the parameters (natural scale) to the per-pattern log-likelihoods.
    weights:
        Customers per pattern.
    starts:
        Starting parameter vectors (natural scale); each is optimised, the best is kept.
    model, names:
        The model's name and its parameter names, for results and messages.
    gradient:
        Optional: maps the parameters to the per-pattern derivatives of the
        log-likelihood (patterns x parameters, natural scale). Without it the optimiser
        differentiates numerically (about five times as many evaluations).

    Returns
    -------
    params, estimates, diagnostics
        Best parameters (natural scale), each with its standard error, and the diagnostics.

    Raises
    ------
    ModelFitError
        When the likelihood cannot be evaluated from any start, or the best start did not
        converge.

    Examples
    --------
    A Poisson rate fitted to counts 1, 2, 3 is their mean, with standard error
    sqrt(mean / n):

    >>> import numpy as np
    >>> from scipy.special import gammaln
    >>> k = np.array([1.0, 2.0, 3.0])
    >>> ll = lambda p: k * np.log(p[0]) - p[0] - gammaln(k + 1)
    >>> params, est, _ = maximise_log_likelihood(ll, np.ones(3), [[1.0]], model="Poisson",
    ...                                          names=["rate"])
    >>> round(est[0].value, 4), round(est[0].standard_error, 4)
    (2.0, 0.8165)
    """
    clock = time.perf_counter()
    weights = np.asarray(weights, dtype=float)
    total = float(weights.sum())
    if total <= 0:
        raise ModelFitError(f"{model}: no customer to fit the model on")

    def objective(theta: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            values = log_likelihood(np.exp(theta))
        value = -float(np.dot(weights, values)) / total
        return value if np.isfinite(value) else 1e300

    def objective_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        assert gradient is not None
        params = np.exp(theta)
        with np.errstate(all="ignore"):
            values = log_likelihood(params)
            derivatives = gradient(params)
        value = -float(np.dot(weights, values)) / total
        grad = -(weights @ derivatives) * params / total
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            return 1e300, np.zeros_like(theta)
        return value, grad

    bounds = [LOG_BOUNDS] * len(names)
    results = []
    for start in starts:
        theta0 = np.clip(np.log(np.asarray(start, dtype=float)), *LOG_BOUNDS)
        result = minimize(
            objective if gradient is None else objective_and_gradient,
            theta0, method="L-BFGS-B", bounds=bounds, jac=gradient is not None,
            options={"maxiter": 1000, "ftol": 1e-13, "gtol": 1e-8, "maxls": 50},
        )
        if np.isfinite(result.fun) and result.fun < 1e299:
            results.append(result)
    if not results:
        raise ModelFitError(
            f"{model}: the likelihood could not be evaluated from any of {len(starts)} starts; "
            "check that the summary has customers with repeat events"
        )
    best = min(results, key=lambda r: r.fun)
    agree = sum(abs(r.fun - best.fun) <= _AGREE * max(1.0, abs(best.fun)) for r in results)
    low, high = LOG_BOUNDS
    at_bound = tuple(
        name for name, value in zip(names, best.x, strict=True)
        if value <= low + _EDGE or value >= high - _EDGE
    )
    free = np.array([name not in at_bound for name in names])
    gradient_norm = float(np.max(np.abs(_gradient(objective, best.x)[free]), initial=0.0))
    if not best.success and gradient_norm > 1e-4:
        raise ModelFitError(
            f"{model}: the fit did not converge ({best.message}); gradient {gradient_norm:.2g}. "
            "More customers or a longer observation period usually help"
        )
    if at_bound:
        # a mixing distribution whose shape and rate both run off to infinity is the
        # limit "no variation across customers": a valid fit, but without standard errors
        logger.warning(
            "%s: %s ran to the bound of the search: the data show no variation across "
            "customers in what it governs; the fit stands for that limit and has no "
            "standard error there", model, ", ".join(at_bound),
        )
    params = np.exp(best.x)
    if gradient is None:
        hessian = _hessian(objective, best.x)
    else:
        hessian = _hessian_from_gradient(lambda t: objective_and_gradient(t)[1], best.x)
    errors = np.full(len(names), np.nan)
    if free.any():
        errors[free] = _standard_errors(hessian[np.ix_(free, free)] * total) * params[free]
    estimates = [
        ParameterEstimate(name, float(v), float(e))
        for name, v, e in zip(names, params, errors, strict=True)
    ]
    diagnostics = FitDiagnostics(
        log_likelihood=-float(best.fun) * total,
        customers=round(total),
        distinct_patterns=int(weights.size),
        starts=len(starts),
        starts_at_best=int(agree),
        iterations=int(best.nit),
        gradient_norm=gradient_norm,
        seconds=time.perf_counter() - clock,
        at_bound=at_bound,
    )
    logger.info(
        "%s fitted on %d customers (%d patterns): %s, log-likelihood %.3f, %d/%d starts agree",
        model, diagnostics.customers, diagnostics.distinct_patterns,
        ", ".join(f"{e.name}={e.value:.4g}" for e in estimates),
        diagnostics.log_likelihood, agree, len(starts),
    )
    return params, estimates, diagnostics


def _gradient(objective: Callable[[np.ndarray], float], theta: np.ndarray) -> np.ndarray:
    step = 1e-6
    grad = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = step
        grad[i] = (objective(theta + e) - objective(theta - e)) / (2 * step)
    return grad


def _hessian(objective: Callable[[np.ndarray], float], theta: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of the mean objective."""
    k = theta.size
    step = 1e-4
    hessian = np.empty((k, k))
    f0 = objective(theta)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = step
        hessian[i, i] = (objective(theta + ei) - 2 * f0 + objective(theta - ei)) / step**2
        for j in range(i + 1, k):
            ej = np.zeros(k)
            ej[j] = step
            value = (
                objective(theta + ei + ej) - objective(theta + ei - ej)
                - objective(theta - ei + ej) + objective(theta - ei - ej)
            ) / (4 * step**2)
            hessian[i, j] = hessian[j, i] = value
    return hessian


def _hessian_from_gradient(
    gradient: Callable[[np.ndarray], np.ndarray], theta: np.ndarray
) -> np.ndarray:
    """Central differences of the analytic gradient, symmetrised."""
    k = theta.size
    step = 1e-5
    rows = []
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        rows.append((gradient(theta + e) - gradient(theta - e)) / (2 * step))
    hessian = np.array(rows)
    return (hessian + hessian.T) / 2


def _standard_errors(hessian: np.ndarray) -> np.ndarray:
    """Standard errors from the Hessian of the total negative log-likelihood."""
    k = hessian.shape[0]
    try:
        covariance = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return np.full(k, np.nan)
    variances = np.diag(covariance)
    return np.where(variances > 0, np.sqrt(np.abs(variances)), np.nan)
