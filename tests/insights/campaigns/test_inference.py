"""The statistics of a holdout comparison equal published values and scipy's computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mallseg.insights.campaigns.inference import (
    benjamini_hochberg,
    newcombe_interval,
    two_proportion_p_value,
    welch_comparison,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # Newcombe (1998), Statistics in Medicine 17:873-890, table II, method 10
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
        ((10, 10, 0, 20), (0.6791, 1.0000)),
    ],
)
def test_newcombe_interval_matches_the_published_table(counts, expected) -> None:  # type: ignore[no-untyped-def]
    low, high = newcombe_interval(*counts)
    assert (round(float(low[0]), 4), round(float(high[0]), 4)) == expected


def test_wilson_interval_equals_scipy() -> None:
    events, trials = np.array([0, 3, 17, 40]), np.array([12, 40, 40, 40])
    low, high = wilson_interval(events, trials, 0.9)
    for x, n, lo, hi in zip(events, trials, low, high, strict=True):
        ci = stats.binomtest(int(x), int(n)).proportion_ci(0.9, method="wilson")
        assert (lo, hi) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_rate_p_value_is_the_chi_square_test_or_fisher_at_small_counts() -> None:
    p = two_proportion_p_value([30, 12, 2], [100, 40, 10], [10, 12, 0], [100, 40, 12])
    chi = stats.chi2_contingency([[30, 70], [10, 90]], correction=False).pvalue
    assert p[0] == pytest.approx(chi, rel=1e-12)
    assert p[1] == pytest.approx(1.0)
    # expected count of responders in the smaller arm is 2 * 10 / 22 < 5: Fisher's test
    assert p[2] == pytest.approx(stats.fisher_exact([[2, 8], [0, 12]]).pvalue, rel=1e-12)


def test_welch_comparison_equals_scipy_on_raw_values() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.gamma(2.0, 30.0, 57), rng.gamma(2.0, 24.0, 23)
    w = welch_comparison(a.mean(), a.var(ddof=1), len(a), b.mean(), b.var(ddof=1), len(b), 0.9)
    reference = stats.ttest_ind(a, b, equal_var=False)
    ci = reference.confidence_interval(0.9)
    assert w.difference[0] == pytest.approx(a.mean() - b.mean())
    assert (w.low[0], w.high[0]) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert w.p_value[0] == pytest.approx(reference.pvalue, rel=1e-10)


def test_welch_comparison_of_two_constant_arms_is_exact() -> None:
    w = welch_comparison([5.0, 5.0], [0.0, 0.0], [10, 10], [5.0, 3.0], [0.0, 0.0], [10, 10])
    assert w.p_value.tolist() == [1.0, 0.0]
    assert w.low.tolist() == w.high.tolist() == [0.0, 2.0]


def test_benjamini_hochberg_equals_scipy_and_skips_missing_tests() -> None:
    p = np.array([0.001, 0.2, np.nan, 0.03, 0.04, 0.8, 0.012])
    adjusted = benjamini_hochberg(p)
    valid = ~np.isnan(p)
    assert np.isnan(adjusted[2])
    assert adjusted[valid] == pytest.approx(stats.false_discovery_control(p[valid]))


def test_bad_inputs_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="events must lie in"):
        wilson_interval([5], [4])
    with pytest.raises(ValueError, match="at least 2 customers"):
        welch_comparison([1.0], [1.0], [1], [1.0], [1.0], [5])
    with pytest.raises(ValueError, match=r"confidence=1\.5"):
        newcombe_interval(1, 2, 1, 2, 1.5)
