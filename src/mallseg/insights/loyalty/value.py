"""Customer value: expected spend over a horizon and discounted customer lifetime value.

The standard combination of a repeat-event model (BG/NBD or Pareto/NBD) and the
Gamma-Gamma spend model: expected purchases in each future month, times the expected
spend per purchase, discounted month by month,

    CLV = margin * E[spend] * sum_{i=1..months} (E[Y(i)] - E[Y(i-1)]) / (1 + d)^i

where ``E[Y(i)]`` is the expected number of repeat purchases in the first ``i`` months after
the end of observation and ``d`` the monthly discount rate (an annual rate ``D`` is
``(1 + D)^(1/12) - 1`` a month). A month is 30.4375 days, the mean Gregorian month.

Examples
--------
>>> from mallseg.insights.loyalty.bgnbd import BgNbdModel
>>> from mallseg.insights.loyalty.gammagamma import GammaGammaModel
>>> purchases = BgNbdModel(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="weeks")
>>> spend = GammaGammaModel(p=6.25, q=3.74, v=15.44)
>>> value = customer_lifetime_value(purchases, spend, 2, 30.43, 38.86, 22.35, months=12,
...                                 monthly_discount_rate=0.01)
>>> round(float(value[0]), 2)
36.31

Without discounting it is the expected purchases of the year times the expected spend:

>>> flat = customer_lifetime_value(purchases, spend, 2, 30.43, 38.86, 22.35, months=12,
...                                monthly_discount_rate=0.0)
>>> year = purchases.expected_repeat_events(12 * DAYS_PER_MONTH / 7, 2, 30.43, 38.86)
>>> bool(np.isclose(flat[0], year[0] * spend.expected_spend(2, 22.35)[0]))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from mallseg.insights.loyalty.gammagamma import GammaGammaModel

__all__ = [
    "DAYS_PER_MONTH",
    "UNIT_DAYS",
    "RepeatEventModel",
    "customer_lifetime_value",
    "expected_spend_over",
    "monthly_rate_from_annual",
    "to_model_time",
]

ArrayLike = float | Sequence[float] | np.ndarray | pd.Series

DAYS_PER_MONTH = 30.4375
"""Mean length of a Gregorian month in days (as in the visit features)."""

UNIT_DAYS: dict[str, float] = {"days": 1.0, "weeks": 7.0}
"""Length of each time unit a summary can be in, in days."""


class RepeatEventModel(Protocol):
    """What value calculations need from a repeat-event model (BG/NBD, Pareto/NBD)."""

    @property
    def unit(self) -> str:
        """``"days"`` or ``"weeks"``: the unit of the model's times."""
        ...

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike  # noqa: N803
    ) -> np.ndarray:
        """P(alive at T | x, t_x, T)."""
        ...

    def expected_repeat_events(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike  # noqa: N803
    ) -> np.ndarray:
        """Expected repeat events in (T, T + t]."""
        ...


def to_model_time(days: float, unit: str) -> float:
    """``days`` expressed in ``unit`` (``"days"`` or ``"weeks"``).

    Examples
    --------
    >>> to_model_time(91, "weeks")
    13.0
    """
    if unit not in UNIT_DAYS:
        raise ValueError(f"unit={unit!r} must be one of {sorted(UNIT_DAYS)}")
    return days / UNIT_DAYS[unit]


def monthly_rate_from_annual(annual_rate: float) -> float:
    """The monthly discount rate equivalent to ``annual_rate`` (compounded monthly).

    Examples
    --------
    >>> round(monthly_rate_from_annual(0.1268), 4)
    0.01
    """
    if not annual_rate > -1:
        raise ValueError(f"annual_rate={annual_rate!r} must be greater than -1")
    return float((1.0 + annual_rate) ** (1.0 / 12.0) - 1.0)


def expected_spend_over(
    purchases: RepeatEventModel,
    spend: GammaGammaModel,
    days: float,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803
    monetary_value: ArrayLike,
) -> np.ndarray:
    """Expected spend in the next ``days`` (undiscounted): E[purchases] * E[spend each].

    Examples
    --------
    >>> from mallseg.insights.loyalty.bgnbd import BgNbdModel
    >>> purchases = BgNbdModel(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="weeks")
    >>> spend = GammaGammaModel(p=6.25, q=3.74, v=15.44)
    >>> round(float(expected_spend_over(purchases, spend, 91, 0, 0, 38.86, np.nan)[0]), 2)
    2.46
    """
    t = to_model_time(days, purchases.unit)
    count = purchases.expected_repeat_events(t, frequency, recency, T)
    return count * spend.expected_spend(frequency, monetary_value)


def customer_lifetime_value(
    purchases: RepeatEventModel,
    spend: GammaGammaModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803
    monetary_value: ArrayLike,
    *,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    margin: float = 1.0,
) -> np.ndarray:
    """Discounted value of each customer's expected purchases over the next ``months``.

    Parameters
    ----------
    purchases, spend:
        The fitted repeat-purchase and spend models.
    frequency, recency, T, monetary_value:
        The customers' summary (in the purchase model's unit) and mean repeat spend
        (NaN or anything for customers without repeat purchases: they get the population
        mean spend).
    months:
        Horizon in months.
    monthly_discount_rate:
        Discount rate per month (use :func:`monthly_rate_from_annual` for an annual one).
    margin:
        Share of spend that is profit (1 gives value in spend).

    Raises
    ------
    ValueError
        On a horizon below 1 month, a discount rate of -1 or less, or a negative margin.

    Examples
    --------
    >>> from mallseg.insights.loyalty.bgnbd import BgNbdModel
    >>> purchases = BgNbdModel(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="weeks")
    >>> spend = GammaGammaModel(p=6.25, q=3.74, v=15.44)
    >>> value = customer_lifetime_value(purchases, spend, [0, 2], [0, 30.43], 38.86,
    ...                                 [np.nan, 22.35], months=12, margin=0.3)
    >>> [round(float(v), 2) for v in value]
    [2.51, 10.89]
    """
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise ValueError(f"months={months!r} must be a whole number of months >= 1")
    if not monthly_discount_rate > -1:
        raise ValueError(f"monthly_discount_rate={monthly_discount_rate!r} must be > -1")
    if not margin >= 0:
        raise ValueError(f"margin={margin!r} must be >= 0")
    month = to_model_time(DAYS_PER_MONTH, purchases.unit)
    total = np.zeros(np.broadcast(np.asarray(frequency), np.asarray(T)).size)
    previous = np.zeros_like(total)
    for i in range(1, months + 1):
        cumulative = purchases.expected_repeat_events(i * month, frequency, recency, T)
        total += (cumulative - previous) / (1.0 + monthly_discount_rate) ** i
        previous = cumulative
    return margin * spend.expected_spend(frequency, monetary_value) * total
