"""Pareto/NBD: the integral behind its likelihood, the published CDNOW fit, known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad
from scipy.special import gammaln

from mallseg.datasets.btyd import simulate_pareto_nbd
from mallseg.insights.loyalty.paretonbd import (
    ParetoNbdModel,
    fit_pareto_nbd,
    pareto_nbd_log_likelihood,
)

PUBLISHED = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
TRUE = {"r": 0.6, "alpha": 10.0, "s": 0.8, "beta": 12.0}


def _by_quadrature(params: tuple[float, float, float, float], x: int, t_x: float,
                   big_t: float) -> float:
    """ln L from its definition: alive at T, or gone at some u in (t_x, T)."""
    r, alpha, s, beta = params

    def log_integrand(u: float) -> float:
        return -(r + x) * np.log(alpha + u) - (s + 1) * np.log(beta + u)

    top = log_integrand(t_x)  # the integrand is largest at t_x: scale it to 1 there
    scaled = quad(lambda u: np.exp(log_integrand(u) - top), t_x, big_t, epsabs=0,
                  epsrel=1e-13, limit=500)[0]
    log_gone = np.log(s) + top + np.log(scaled) if scaled > 0 else -np.inf
    log_alive = -(r + x) * np.log(alpha + big_t) - s * np.log(beta + big_t)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return float(head + np.logaddexp(log_alive, log_gone))


@pytest.mark.parametrize(
    "params",
    [
        (0.55, 10.58, 0.61, 11.67),  # alpha < beta
        (0.55, 11.67, 0.61, 10.58),  # alpha > beta
        (1.0, 5.0, 1.0, 5.0),        # equal
        (2.0, 1.0, 0.3, 50.0),       # far apart, each way
        (0.3, 80.0, 2.0, 1.0),
        (0.6, 10.0, 1000.0, 5e4),    # near-constant death rate: scipy's hyp2f1 gives up,
        (3.0, 50.0, 12.0, 45000.0),  # the quadrature takes over
    ],
)
@pytest.mark.parametrize(
    ("x", "t_x", "big_t"),
    [(0, 0.0, 38.0), (1, 2.0, 38.0), (5, 30.0, 38.0), (60, 300.0, 365.0), (3, 38.0, 38.0),
     (300, 360.0, 365.0), (1000, 200.0, 365.0)],
)
def test_likelihood_equals_its_integral_definition_for_both_orderings(
    params: tuple[float, float, float, float], x: int, t_x: float, big_t: float
) -> None:
    got = pareto_nbd_log_likelihood(params, x, t_x, big_t)[0]
    assert got == pytest.approx(_by_quadrature(params, x, t_x, big_t), rel=1e-9, abs=1e-9)


def test_cdnow_published_estimates_and_log_likelihood(cdnow: pd.DataFrame) -> None:
    model = fit_pareto_nbd(cdnow["x"], cdnow["t_x"], cdnow["T"], unit="weeks")
    for name, value in PUBLISHED.items():
        assert getattr(model, name) == pytest.approx(value, rel=1e-2), name
    assert model.diagnostics is not None
    assert model.diagnostics.log_likelihood == pytest.approx(-9595.0, abs=0.05)


def test_recovers_known_parameters_within_two_standard_errors_on_20k() -> None:
    n = 20_000
    big_t = np.random.default_rng(5).integers(20, 53, n).astype(float)
    data = simulate_pareto_nbd(n, **TRUE, T=big_t, seed=21)
    model = fit_pareto_nbd(data["frequency"], data["recency"], data["T"], unit="weeks")
    for name, value in TRUE.items():
        assert abs(getattr(model, name) - value) < 2 * model.standard_errors[name], name


def test_probability_alive_is_calibrated_against_the_simulated_truth() -> None:
    n = 40_000
    data = simulate_pareto_nbd(n, **TRUE, T=39.0, seed=22)
    alive = ParetoNbdModel(**TRUE).probability_alive(data["frequency"], data["recency"],
                                                      data["T"])
    bins = pd.qcut(alive, 8, duplicates="drop")
    observed = pd.Series(data["alive_at_T"].to_numpy()).groupby(bins, observed=True).mean()
    predicted = pd.Series(alive).groupby(bins, observed=True).mean()
    np.testing.assert_allclose(observed, predicted, atol=0.02)
    # unlike the BG/NBD, a one-time customer fades: P(alive) falls with T when x = 0
    model = ParetoNbdModel(**TRUE)
    assert model.probability_alive(0, 0, 10.0)[0] > model.probability_alive(0, 0, 50.0)[0]


def test_conditional_expectation_matches_simulated_holdout_purchases() -> None:
    n = 60_000
    data = simulate_pareto_nbd(n, **TRUE, T=39.0, holdout=39.0, seed=23)
    expected = ParetoNbdModel(**TRUE).expected_repeat_events(
        39.0, data["frequency"], data["recency"], data["T"]
    )
    groups = np.minimum(data["frequency"].to_numpy(), 5)
    actual = data["holdout_frequency"].groupby(groups).mean()
    predicted = pd.Series(expected).groupby(groups).mean()
    np.testing.assert_allclose(predicted, actual, rtol=0.08)


def test_expectation_at_s_equal_one_is_the_limit() -> None:
    near = ParetoNbdModel(r=0.5, alpha=10.0, s=1.0 + 1e-6, beta=12.0)
    at = ParetoNbdModel(r=0.5, alpha=10.0, s=1.0, beta=12.0)
    assert at.expected_repeat_events(20, 3, 10, 30)[0] == pytest.approx(
        near.expected_repeat_events(20, 3, 10, 30)[0], rel=1e-5
    )
    assert at.expected_events_new_customer(20)[0] == pytest.approx(
        0.5 * 12 / 10 * np.log(32 / 12), rel=1e-12
    )


def test_quadrature_agrees_with_the_hypergeometric_form_where_both_work() -> None:
    from mallseg.insights.loyalty.paretonbd import (
        _log_antiderivative,
        _log_integral_by_quadrature,
        _log_one_minus_exp,
    )

    rng = np.random.default_rng(3)
    x = rng.integers(0, 40, 500).astype(float)
    big_t = rng.uniform(5, 60, 500)
    t_x = np.where(x > 0, big_t * rng.random(500), 0.0)
    for params in [(0.55, 10.58, 0.61, 11.67), (0.55, 11.67, 0.61, 10.58), (2.0, 5.0, 3.0, 40.0)]:
        j = _log_antiderivative(np.concatenate([x, x]), np.concatenate([t_x, big_t]), *params)
        by_hypergeometric = j[:500] + _log_one_minus_exp(j[500:] - j[:500])
        by_quadrature = _log_integral_by_quadrature(x, t_x, big_t, *params)
        np.testing.assert_allclose(by_quadrature, by_hypergeometric, rtol=1e-10)
