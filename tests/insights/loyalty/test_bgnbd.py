"""BG/NBD: the published CDNOW fit, recovery of known parameters, and its formulas."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln, gammaln, hyp2f1

from mallseg.datasets.btyd import simulate_bgnbd
from mallseg.insights.loyalty.bgnbd import BgNbdModel, bgnbd_log_likelihood, fit_bgnbd
from mallseg.insights.loyalty.fitting import ModelFitError

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
TRUE = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}


def _observation(n: int, seed: int = 0) -> np.ndarray:
    """Whole weeks of observation between 20 and 52, like a cohort acquired over months."""
    return np.random.default_rng(seed).integers(20, 53, n).astype(float)


def test_cdnow_published_estimates_and_log_likelihood(cdnow: pd.DataFrame) -> None:
    model = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], unit="weeks")
    for name, value in PUBLISHED.items():
        assert getattr(model, name) == pytest.approx(value, rel=1e-2), name
    assert model.diagnostics is not None
    assert model.diagnostics.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    assert model.diagnostics.customers == 2357
    assert model.diagnostics.starts_at_best == model.diagnostics.starts


def test_cdnow_published_conditional_expectation() -> None:
    # FHL 2005: the customer (x=2, t_x=30.43, T=38.86) is expected to make 1.226 purchases
    # in the next 39 weeks under the published parameters
    model = BgNbdModel(**PUBLISHED, unit="weeks")
    assert model.expected_repeat_events(39, 2, 30.43, 38.86)[0] == pytest.approx(1.226, abs=1e-3)


def test_cdnow_standard_errors_are_those_of_the_hessian(cdnow: pd.DataFrame) -> None:
    # the inverse Hessian of the total -log-likelihood, here taken independently with
    # numpy differences on the natural scale
    model = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], unit="weeks")
    theta = model.params

    def total(p: np.ndarray) -> float:
        return -float(bgnbd_log_likelihood(p, cdnow["x"], cdnow["t_x"], cdnow["T"]).sum())

    h = 1e-4 * theta
    hessian = np.empty((4, 4))
    for i in range(4):
        for j in range(4):
            ei, ej = np.eye(4)[i] * h[i], np.eye(4)[j] * h[j]
            hessian[i, j] = (total(theta + ei + ej) - total(theta + ei - ej)
                             - total(theta - ei + ej) + total(theta - ei - ej)) / (4 * h[i] * h[j])
    expected = np.sqrt(np.diag(np.linalg.inv(hessian)))
    got = np.array([model.standard_errors[n] for n in ("r", "alpha", "a", "b")])
    np.testing.assert_allclose(got, expected, rtol=1e-3)


def test_recovers_known_parameters_within_ten_percent_on_100k() -> None:
    n = 100_000
    data = simulate_bgnbd(n, **TRUE, T=_observation(n), seed=11)
    model = fit_bgnbd(data["frequency"], data["recency"], data["T"], unit="weeks")
    for name, value in TRUE.items():
        assert getattr(model, name) == pytest.approx(value, rel=0.10), name


def test_recovers_known_parameters_within_two_standard_errors_on_20k() -> None:
    n = 20_000
    data = simulate_bgnbd(n, **TRUE, T=_observation(n, seed=1), seed=12)
    model = fit_bgnbd(data["frequency"], data["recency"], data["T"], unit="weeks")
    for name, value in TRUE.items():
        error = model.standard_errors[name]
        assert 0 < error < 0.2 * value, name
        assert abs(getattr(model, name) - value) < 2 * error, name


def test_probability_alive_is_calibrated_against_the_simulated_truth() -> None:
    n = 50_000
    data = simulate_bgnbd(n, **TRUE, T=_observation(n, seed=2), seed=13)
    alive = BgNbdModel(**TRUE).probability_alive(data["frequency"], data["recency"], data["T"])
    repeaters = data["frequency"].to_numpy() > 0
    bins = pd.qcut(alive[repeaters], 5, duplicates="drop")
    observed = pd.Series(data["alive_at_T"].to_numpy()[repeaters]).groupby(bins, observed=True)
    predicted = pd.Series(alive[repeaters]).groupby(bins, observed=True)
    np.testing.assert_allclose(observed.mean(), predicted.mean(), atol=0.02)
    assert np.all(alive[~repeaters] == 1.0)  # the model cannot lose a customer before a repeat


def test_conditional_expectation_matches_simulated_holdout_purchases() -> None:
    n = 60_000
    data = simulate_bgnbd(n, **TRUE, T=_observation(n, seed=3), holdout=26.0, seed=14)
    expected = BgNbdModel(**TRUE).expected_repeat_events(
        26.0, data["frequency"], data["recency"], data["T"]
    )
    groups = np.minimum(data["frequency"].to_numpy(), 6)
    actual = data["holdout_frequency"].groupby(groups).mean()
    predicted = pd.Series(expected).groupby(groups).mean()
    np.testing.assert_allclose(predicted, actual, rtol=0.08)


def test_euler_form_equals_the_published_hypergeometric_form() -> None:
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    model = BgNbdModel(r=r, alpha=alpha, a=a, b=b)
    x, t_x, big_t, t = np.array([0, 1, 5, 20]), np.array([0, 3.0, 20, 35]), 38.86, 52.0
    z = t / (alpha + big_t + t)
    alive = (a + b + x - 1) / (a - 1) * (
        1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x)
        * hyp2f1(r + x, b + x, a + b + x - 1, z)
    )
    odds = (x > 0) * a / np.maximum(b + x - 1, 1e-9) * ((alpha + big_t) / (alpha + t_x)) ** (r + x)
    direct = alive / (1 + odds)
    np.testing.assert_allclose(model.expected_repeat_events(t, x, t_x, big_t), direct, rtol=1e-9)


def test_expectation_stays_finite_for_very_frequent_customers() -> None:
    r, alpha, a, b = 2.0, 30.0, 0.5, 20.0
    model = BgNbdModel(r=r, alpha=alpha, a=a, b=b)
    big_t, t = 365.0, 90.0
    # where the textbook form is still finite, both forms agree
    x = 150.0
    z = t / (alpha + big_t + t)
    textbook = (a + b + x - 1) / (a - 1) * (
        1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x)
        * hyp2f1(r + x, b + x, a + b + x - 1, z)
    )
    alive = model.probability_alive(x, 364.0, big_t)[0]
    assert model.expected_repeat_events(t, x, 364.0, big_t)[0] == pytest.approx(
        textbook * alive, rel=1e-8
    )
    # 2,000 repeat visits in a year: finite, and below the count of a customer who never
    # leaves and buys at the posterior mean rate
    value = model.expected_repeat_events(t, 2000, 364.0, big_t)[0]
    ceiling = t * (r + 2000) / (alpha + big_t)
    assert 0.8 * ceiling < value < ceiling


def test_log_likelihood_by_hand() -> None:
    r, alpha, a, b = 0.5, 2.0, 1.5, 3.0
    x, t_x, big_t = 3, 4.0, 10.0
    by_hand = (
        gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        + np.log(np.exp(betaln(a, b + x) - betaln(a, b)) / (alpha + big_t) ** (r + x)
                 + np.exp(betaln(a + 1, b + x - 1) - betaln(a, b)) / (alpha + t_x) ** (r + x))
    )
    assert bgnbd_log_likelihood([r, alpha, a, b], x, t_x, big_t)[0] == pytest.approx(by_hand)


def test_days_and_weeks_give_the_same_forecast(cdnow: pd.DataFrame) -> None:
    weeks = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], unit="weeks")
    days = fit_bgnbd(cdnow["x"], cdnow["t_x"] * 7, cdnow["T"] * 7, unit="days")
    assert days.alpha == pytest.approx(weeks.alpha * 7, rel=1e-4)
    np.testing.assert_allclose(
        days.expected_repeat_events(273, cdnow["x"], cdnow["t_x"] * 7, cdnow["T"] * 7),
        weeks.expected_repeat_events(39, cdnow["x"], cdnow["t_x"], cdnow["T"]),
        rtol=1e-3,
    )


@pytest.mark.parametrize(
    ("x", "t_x", "big_t", "message"),
    [
        ([1, 2], [3.0, 50.0], [40.0, 40.0], "customer 1: recency 50.0 is after T 40.0"),
        ([0], [2.0], [40.0], "customer 0: frequency 0 with recency 2.0"),
        ([1.5], [2.0], [40.0], "customer 0: frequency 1.5 is not a whole number"),
        ([1, np.nan], [2.0, 1.0], [40.0, 40.0], "frequency[1] = nan: expected a finite number"),
        ([1, 2], [2.0], [40.0, 40.0], "recency has 1 values, expected 2"),
    ],
)
def test_bad_summaries_are_refused_with_the_customer_named(
    x: list[float], t_x: list[float], big_t: list[float], message: str
) -> None:
    with pytest.raises(ModelFitError, match=re.escape(message)):
        fit_bgnbd(x, t_x, big_t)


def test_no_customer_is_a_clear_error() -> None:
    with pytest.raises(ModelFitError, match="no customer"):
        fit_bgnbd([], [], [])


def test_to_dict_is_plain_json(cdnow: pd.DataFrame) -> None:
    import json

    model = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], unit="weeks")
    payload = json.loads(json.dumps(model.to_dict()))
    assert payload["model"] == "BG/NBD"
    assert [p["name"] for p in payload["parameters"]] == ["r", "alpha", "a", "b"]
    assert payload["diagnostics"]["customers"] == 2357


def test_constant_dropout_is_fitted_as_a_collapsed_beta() -> None:
    # every customer leaves with the same p = 0.05 after each repeat purchase: the beta
    # over p collapses (a and b grow without bound at a / (a + b) = 0.05); the fit goes
    # far that way, or to the bound of the search, and still forecasts the right rate
    n = 30_000
    rng = np.random.default_rng(8)
    rate = rng.gamma(0.8, 1 / 4.0, n)
    big_t = _observation(n, seed=4)
    last = rng.geometric(0.05, n)
    count = rng.poisson(rate * big_t)
    x = np.minimum(count, last)
    t_x = np.where(x > 0, big_t * rng.beta(np.maximum(x, 1), count - x + 1), 0.0)
    model = fit_bgnbd(x, t_x, big_t, unit="weeks")
    assert model.a + model.b > 200  # a beta with a standard deviation below 0.015
    assert model.a / (model.a + model.b) == pytest.approx(0.05, rel=0.15)
    assert model.r == pytest.approx(0.8, rel=0.1)
    assert model.standard_errors["r"] > 0


def test_a_equal_to_one_is_the_limit_of_its_neighbours() -> None:
    at = BgNbdModel(r=0.5, alpha=5.0, a=1.0, b=3.0)
    below = BgNbdModel(r=0.5, alpha=5.0, a=1.0 - 1e-3, b=3.0)
    above = BgNbdModel(r=0.5, alpha=5.0, a=1.0 + 1e-3, b=3.0)
    for model_value in (at.expected_repeat_events(20, 3, 10, 30)[0],
                        at.expected_events_new_customer(20)[0]):
        assert np.isfinite(model_value)
    mid = (below.expected_repeat_events(20, 3, 10, 30)
           + above.expected_repeat_events(20, 3, 10, 30)) / 2
    assert at.expected_repeat_events(20, 3, 10, 30)[0] == pytest.approx(mid[0], rel=1e-6)


def test_long_horizons_where_scipy_hyp2f1_fails_are_integrated_instead() -> None:
    from mallseg.insights.loyalty.bgnbd import (
        _alive_expectation,
        _alive_expectation_by_integral,
    )

    # where both work they agree
    for a, b, r, x, z in [(0.793, 2.426, 0.243, 2.0, 0.47), (3.0, 2e4, 0.5, 40.0, 0.95)]:
        assert _alive_expectation_by_integral(a, b, r, x, z) == pytest.approx(
            _alive_expectation(a, b, r, np.array([x]), np.array([z]))[0], rel=1e-9
        )
    # a two-year horizon for a customer seen a month, drop-out near zero: scipy's hyp2f1
    # returns NaN here; the result is the no-drop-out count (r+x) t/(alpha+T), a hair less
    model = BgNbdModel(r=2.0, alpha=20.0, a=2.0, b=1e6)
    value = model.expected_repeat_events(730.0, 0, 0.0, 30.0)[0]
    assert value == pytest.approx(2.0 * 730 / 50, rel=1e-3)
    assert value < 2.0 * 730 / 50
