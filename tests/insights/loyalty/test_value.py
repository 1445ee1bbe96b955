"""Customer value: expected spend over a horizon and the discounted value, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from mallseg.insights.loyalty.bgnbd import BgNbdModel
from mallseg.insights.loyalty.gammagamma import GammaGammaModel
from mallseg.insights.loyalty.value import (
    DAYS_PER_MONTH,
    customer_lifetime_value,
    expected_spend_over,
    monthly_rate_from_annual,
    to_model_time,
)

# with p ~ Beta(2, 1e6) nobody drops out (1 in 500,000 purchases): a customer buys at the
# posterior mean rate (r+x)/(alpha+T)
STAYING = BgNbdModel(r=2.0, alpha=20.0, a=2.0, b=1e6, unit="days")
SPEND = GammaGammaModel(p=6.0, q=4.0, v=30.0)


def test_value_of_customers_who_never_leave_by_hand() -> None:
    x, t_x, big_t, m = 3, 50.0, 80.0, 40.0
    rate = (2.0 + 3) / (20.0 + 80.0)  # purchases a day
    each = 6.0 * (30.0 + 3 * 40.0) / (6.0 * 3 + 4.0 - 1)
    by_hand = sum(rate * DAYS_PER_MONTH * each / 1.01**i for i in range(1, 13))
    value = customer_lifetime_value(STAYING, SPEND, x, t_x, big_t, m, months=12,
                                    monthly_discount_rate=0.01)
    assert value[0] == pytest.approx(by_hand, rel=1e-4)
    horizon = expected_spend_over(STAYING, SPEND, 90, x, t_x, big_t, m)
    assert horizon[0] == pytest.approx(rate * 90 * each, rel=1e-4)


def test_margin_scales_and_discounting_lowers_value() -> None:
    args = (STAYING, SPEND, [0, 5], [0.0, 60.0], [30.0, 90.0], [np.nan, 25.0])
    full = customer_lifetime_value(*args, months=24, monthly_discount_rate=0.0)
    discounted = customer_lifetime_value(*args, months=24, monthly_discount_rate=0.02)
    half = customer_lifetime_value(*args, months=24, monthly_discount_rate=0.02, margin=0.5)
    assert np.all(discounted < full)
    np.testing.assert_allclose(half, discounted / 2)


def test_weeks_and_days_models_value_alike() -> None:
    weeks = BgNbdModel(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="weeks")
    days = BgNbdModel(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426, unit="days")
    v_weeks = customer_lifetime_value(weeks, SPEND, 2, 30.43, 38.86, 22.35)
    v_days = customer_lifetime_value(days, SPEND, 2, 30.43 * 7, 38.86 * 7, 22.35)
    assert v_days[0] == pytest.approx(v_weeks[0], rel=1e-9)


def test_rates_and_units() -> None:
    assert monthly_rate_from_annual(0.0) == 0.0
    assert (1 + monthly_rate_from_annual(0.1)) ** 12 == pytest.approx(1.1)
    assert to_model_time(14, "weeks") == 2.0
    with pytest.raises(ValueError, match="unit='months' must be one of"):
        to_model_time(1, "months")
    with pytest.raises(ValueError, match="months=0 must be a whole number of months >= 1"):
        customer_lifetime_value(STAYING, SPEND, 1, 1.0, 2.0, 5.0, months=0)
