"""Gamma-Gamma: the published CDNOW fit, recovery of known parameters, its formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mallseg.datasets.btyd import simulate_gamma_gamma_spend
from mallseg.insights.loyalty.fitting import ModelFitError
from mallseg.insights.loyalty.gammagamma import (
    GammaGammaModel,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
)

PUBLISHED = {"p": 6.25, "q": 3.74, "v": 15.44}


def test_cdnow_published_estimates(cdnow: pd.DataFrame) -> None:
    model = fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    for name, value in PUBLISHED.items():
        assert getattr(model, name) == pytest.approx(value, rel=1e-2), name
    assert model.diagnostics is not None
    assert model.diagnostics.customers == 946  # the customers with repeat purchases
    # the published check that spend and frequency are nearly independent
    assert model.spend_frequency_correlation == pytest.approx(0.11, abs=0.01)


def test_recovers_known_parameters_within_two_standard_errors() -> None:
    x = np.random.default_rng(0).integers(1, 10, 20_000)
    spend = simulate_gamma_gamma_spend(x, p=6.0, q=4.0, v=15.0, seed=1)
    model = fit_gamma_gamma(x, spend)
    for name, value in {"p": 6.0, "q": 4.0, "v": 15.0}.items():
        assert abs(getattr(model, name) - value) < 2 * model.standard_errors[name], name


def test_expected_spend_is_the_credibility_weighted_mean() -> None:
    model = GammaGammaModel(p=6.25, q=3.74, v=15.44)
    population = 6.25 * 15.44 / 2.74
    assert model.population_mean_spend == pytest.approx(population)
    x, m = 4, 50.0
    weight = 6.25 * x / (6.25 * x + 3.74 - 1)
    assert model.expected_spend(x, m)[0] == pytest.approx(
        (1 - weight) * population + weight * m
    )
    # no repeat purchase: the population mean
    assert model.expected_spend(0, np.nan)[0] == pytest.approx(population)


def test_log_likelihood_of_one_purchase_by_hand() -> None:
    # x = 1: z ~ Gamma(p, nu), nu ~ Gamma(q, v): the density is a beta-prime
    # v^q z^(p-1) / B(p, q) / (v + z)^(p+q)
    from scipy.special import betaln

    p, q, v, z = 2.0, 3.0, 10.0, 7.0
    by_hand = q * np.log(v) + (p - 1) * np.log(z) - betaln(p, q) - (p + q) * np.log(v + z)
    assert gamma_gamma_log_likelihood([p, q, v], 1, z)[0] == pytest.approx(by_hand)


def test_customers_without_repeat_purchases_are_left_out() -> None:
    x = np.random.default_rng(2).integers(1, 6, 500)
    spend = simulate_gamma_gamma_spend(x, p=5.0, q=3.0, v=20.0, seed=3)
    with_zeros = fit_gamma_gamma(np.concatenate([x, [0, 0, 0]]),
                                 np.concatenate([spend, [np.nan, 0.0, 5.0]]))
    without = fit_gamma_gamma(x, spend)
    assert with_zeros.p == pytest.approx(without.p, rel=1e-6)


def test_bad_spend_and_too_few_buyers_are_refused() -> None:
    with pytest.raises(ModelFitError, match=r"customer 1: monetary_value -3\.0 with 1 repeat"):
        fit_gamma_gamma([1] * 20 + [0], [10.0, -3.0] + [5.0] * 18 + [0.0])
    with pytest.raises(ModelFitError, match="only 3 customers with repeat purchases"):
        fit_gamma_gamma([1, 2, 1, 0], [5.0, 6.0, 7.0, 0.0])
