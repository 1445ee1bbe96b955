"""The shared maximum-likelihood machinery: optimum, standard errors, bounds, failures."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from scipy.special import gammaln

from mallseg.insights.loyalty.fitting import ModelFitError, maximise_log_likelihood
from mallseg.insights.loyalty.summary_input import distinct_patterns


def test_exponential_rate_and_its_standard_error_by_hand() -> None:
    # waiting times 1, 2, 3, 6: rate MLE n / sum = 1/3, standard error rate / sqrt(n)
    waits = np.array([1.0, 2.0, 3.0, 6.0])
    params, estimates, diagnostics = maximise_log_likelihood(
        lambda p: np.log(p[0]) - p[0] * waits, np.ones(4), [[1.0], [0.01]],
        model="exponential", names=["rate"],
    )
    assert params[0] == pytest.approx(1 / 3, rel=1e-6)
    assert estimates[0].standard_error == pytest.approx((1 / 3) / 2, rel=1e-4)
    assert diagnostics.log_likelihood == pytest.approx(4 * np.log(1 / 3) - 4, rel=1e-9)
    assert diagnostics.starts_at_best == 2


def test_weights_count_customers_sharing_a_pattern() -> None:
    k = np.array([0.0, 1.0, 4.0])
    counts = np.array([5, 3, 2])
    params, estimates, diagnostics = maximise_log_likelihood(
        lambda p: k * np.log(p[0]) - p[0] - gammaln(k + 1), counts, [[1.0]],
        model="Poisson", names=["rate"],
    )
    assert params[0] == pytest.approx((0 * 5 + 1 * 3 + 4 * 2) / 10, rel=1e-6)
    assert estimates[0].standard_error == pytest.approx(np.sqrt(1.1 / 10), rel=1e-4)
    assert diagnostics.customers == 10
    assert diagnostics.distinct_patterns == 3


def test_an_optimum_at_infinity_is_kept_at_the_bound_and_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # the likelihood keeps rising with theta: its supremum is the limit theta -> infinity
    with caplog.at_level(logging.WARNING):
        params, estimates, diagnostics = maximise_log_likelihood(
            lambda p: -1.0 / p[0] + np.log(p[1]) - p[1] * np.ones(3), np.ones(3),
            [[1.0, 2.0]], model="toy", names=["theta", "rate"],
        )
    assert diagnostics.at_bound == ("theta",)
    assert np.isnan(estimates[0].standard_error)
    assert params[1] == pytest.approx(1.0, rel=1e-6)
    assert estimates[1].standard_error == pytest.approx(1 / np.sqrt(3), rel=1e-3)
    assert "theta ran to the bound" in caplog.text


def test_a_likelihood_that_cannot_be_evaluated_is_a_clear_error() -> None:
    with pytest.raises(ModelFitError, match="could not be evaluated from any of 2 starts"):
        maximise_log_likelihood(lambda p: np.full(2, np.nan), np.ones(2), [[1.0], [2.0]],
                                model="toy", names=["theta"])


def test_distinct_patterns_are_sorted_with_counts() -> None:
    (x, t), counts = distinct_patterns(np.array([2, 0, 2, 2]), np.array([5.0, 0.0, 5.0, 1.0]))
    assert x.tolist() == [0.0, 2.0, 2.0]
    assert t.tolist() == [0.0, 1.0, 5.0]
    assert counts.tolist() == [1, 1, 2]
