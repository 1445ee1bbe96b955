"""Loyalty per segment, and which customers are at risk, from the per-customer loyalty table.

The per-customer table (built by :func:`mallseg.insights.loyalty.analysis.analyse_loyalty`)
holds each customer's segment, visit and purchase summaries and model predictions. This
module only aggregates it; every figure says how many customers it rests on.

At risk
    A customer is *at risk* when they are of high value (their past spend, or their
    expected value, is in the top third of all customers with purchases) and the
    probability that they are still active is below a stated threshold (0.5 by default).
    :class:`AtRiskRule` carries the exact thresholds used, so the words are backed by
    numbers wherever they are shown.

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"customer_id": ["a", "b", "c"], "past_spend": [900.0, 40.0, 700.0],
...                       "p_alive": [0.2, 0.1, 0.9]})
>>> flags, rule = flag_at_risk(table)
>>> flags.tolist(), rule.value_threshold
([True, False, False], 900.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "AtRiskRule",
    "as_segment_labels",
    "flag_at_risk",
    "segment_loyalty_table",
]

_VALUE_MEASURES = {"past_spend": "past spend", "customer_value": "expected value"}


@dataclass(frozen=True)
class AtRiskRule:
    """The thresholds behind the words "at risk".

    Attributes
    ----------
    value_column:
        ``"past_spend"`` (spend up to the as-of time) or ``"customer_value"`` (expected
        discounted value).
    value_share:
        Share of customers counted as high value (the top third by default).
    value_threshold:
        The value at and above which a customer is high value (NaN when nobody has one).
    alive_threshold:
        A high-value customer is at risk when P(active) is below this.
    ranked_customers:
        Customers whose value was ranked (those with a known value).

    Examples
    --------
    >>> rule = AtRiskRule("past_spend", 1 / 3, 512.0, 0.5, 900)
    >>> print(rule.describe())
    high value (past spend of 512.00 or more: the top 33% of 900 customers) and P(active) below 0.50
    """

    value_column: str
    value_share: float
    value_threshold: float
    alive_threshold: float
    ranked_customers: int

    def describe(self) -> str:
        """The rule in one sentence, with its numbers."""
        measure = _VALUE_MEASURES.get(self.value_column, self.value_column)
        return (
            f"high value ({measure} of {self.value_threshold:,.2f} or more: the top "
            f"{self.value_share:.0%} of {self.ranked_customers:,} customers) and P(active) "
            f"below {self.alive_threshold:.2f}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, with the sentence."""
        threshold = float(self.value_threshold)
        return {
            "value_column": self.value_column,
            "value_share": float(self.value_share),
            "value_threshold": threshold if np.isfinite(threshold) else None,
            "alive_threshold": float(self.alive_threshold),
            "ranked_customers": int(self.ranked_customers),
            "description": self.describe(),
        }


def as_segment_labels(
    assignments: pd.DataFrame | pd.Series | Mapping[str, Any],
    *,
    segment_column: str | None = None,
) -> pd.Series:
    """Assignments as a Series ``customer_id -> segment label``.

    Parameters
    ----------
    assignments:
        A frame with ``customer_id`` and a segment column (``segment_name``, else
        ``segment_id``, else ``segment``, unless ``segment_column`` names one), a Series
        indexed by customer id, or a mapping.
    segment_column:
        The frame's column holding the segment.

    Raises
    ------
    ValueError
        On a missing column, a customer assigned twice, or no assignment at all.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"customer_id": ["a", "b"], "segment_id": [0, 1],
    ...                       "segment_name": ["Savers", "Spenders"]})
    >>> as_segment_labels(frame).to_dict()
    {'a': 'Savers', 'b': 'Spenders'}
    """
    if isinstance(assignments, pd.DataFrame):
        if "customer_id" not in assignments.columns:
            raise ValueError("assignments: required column customer_id missing")
        if segment_column is None:
            found = [c for c in ("segment_name", "segment_id", "segment")
                     if c in assignments.columns]
            if not found:
                raise ValueError(
                    "assignments: no segment column: expected segment_name, segment_id or "
                    "segment (or name it with segment_column=)"
                )
            segment_column = found[0]
        elif segment_column not in assignments.columns:
            raise ValueError(f"assignments: required column {segment_column} missing")
        labels = pd.Series(
            assignments[segment_column].to_numpy(),
            index=assignments["customer_id"].astype(str).to_numpy(),
        )
    elif isinstance(assignments, pd.Series):
        labels = assignments.copy()
        labels.index = labels.index.astype(str)
    else:
        labels = pd.Series(dict(assignments))
        labels.index = labels.index.astype(str)
    if labels.empty:
        raise ValueError("assignments: no customer is assigned to a segment")
    duplicated = labels.index[labels.index.duplicated()]
    if len(duplicated):
        raise ValueError(
            f"assignments: customer {duplicated[0]!r} is assigned more than once; "
            "give one segment per customer"
        )
    labels.index.name = "customer_id"
    return labels.rename("segment")


def flag_at_risk(
    customers: pd.DataFrame,
    *,
    value_column: str = "past_spend",
    alive_column: str = "p_alive",
    value_share: float = 1 / 3,
    alive_threshold: float = 0.5,
) -> tuple[pd.Series, AtRiskRule]:
    """Flag high-value customers whose probability of being active is below a threshold.

    High value is ``value_column`` at or above its ``1 - value_share`` quantile among the
    customers with a known value. Customers without a known value or P(active) are not
    flagged.

    Raises
    ------
    ValueError
        On a share or threshold outside (0, 1), or a missing column.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"past_spend": [10.0, 20.0, 30.0], "p_alive": [0.9, 0.3, 0.4]})
    >>> flag_at_risk(table, value_share=0.5)[0].tolist()
    [False, True, True]
    """
    if not 0 < value_share < 1:
        raise ValueError(f"value_share={value_share!r} must be between 0 and 1")
    if not 0 < alive_threshold < 1:
        raise ValueError(f"alive_threshold={alive_threshold!r} must be between 0 and 1")
    for column in (value_column, alive_column):
        if column not in customers.columns:
            raise ValueError(f"required column {column} missing from the customer table")
    value = pd.to_numeric(customers[value_column], errors="coerce")
    alive = pd.to_numeric(customers[alive_column], errors="coerce")
    known = value.dropna()
    # 'higher': the threshold is a customer's own value, and at most the share is above it
    threshold = (
        float(known.quantile(1.0 - value_share, interpolation="higher")) if len(known)
        else float("nan")
    )
    high = value >= threshold
    flags = (high & (alive < alive_threshold)).fillna(False).astype(bool)
    rule = AtRiskRule(value_column, value_share, threshold, alive_threshold, len(known))
    return flags, rule


def segment_loyalty_table(
    customers: pd.DataFrame, *, tiers: list[str] | None = None
) -> pd.DataFrame:
    """One row per segment: visits, activity, expected visits and spend, tiers, offers, risk.

    Reads the columns of the per-customer loyalty table that are present (see
    :mod:`mallseg.insights.loyalty.analysis`); absent ones leave their figures out.

    Columns
    -------
    segment, customers, share
        The segment, its customers, their share of all assigned customers.
    visitors, repeat_visitor_share, median_days_between_visits
        Customers with a visit; the share of them who came back on a later day; the median
        over those of their mean days between visits.
    active_share, active_based_on
        Mean P(active) and the customers it is based on.
    expected_visits, expected_visits_per_customer
        Expected visits in the horizon, total and per customer with visit history.
    buyers, expected_purchases, expected_spend, expected_spend_per_buyer, customer_value
        Customers with purchases, and their expected purchases, spend in the horizon and
        discounted value (sums, spend also per buyer).
    tier_share_<tier>
        Share of the segment's customers in each loyalty tier (unknown tier excluded).
    offers_received, response_rate, redemption_rate
        Campaign offers received (holdouts excluded), responded to / with known response,
        redeemed / received.
    at_risk_customers, at_risk_share, at_risk_past_spend, at_risk_expected_spend
        Customers flagged at risk, their share of the segment, their past spend and their
        expected spend in the horizon.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"customer_id": ["a", "b", "c"], "segment": ["S", "S", "T"],
    ...                       "visit_repeats": [2, 0, 5],
    ...                       "visit_recency_days": [20.0, 0.0, 50.0]})
    >>> out = segment_loyalty_table(table)
    >>> out[["segment", "customers", "repeat_visitor_share", "median_days_between_visits"]]
      segment  customers  repeat_visitor_share  median_days_between_visits
    0       S          2                   0.5                        10.0
    1       T          1                   1.0                        10.0
    """
    frame = customers.copy()
    total = len(frame)
    groups = frame.groupby("segment", sort=True, dropna=False)
    out = pd.DataFrame({"customers": groups.size()})
    out["share"] = out["customers"] / max(total, 1)
    if "visit_repeats" in frame:
        visited = frame["visit_repeats"].notna()
        repeat = frame["visit_repeats"] > 0
        gap = (frame["visit_recency_days"] / frame["visit_repeats"]).where(repeat)
        by = frame.assign(_visited=visited, _repeat=repeat, _gap=gap).groupby("segment")
        out["visitors"] = by["_visited"].sum()
        out["repeat_visitor_share"] = by["_repeat"].sum() / out["visitors"].replace(0, np.nan)
        out["median_days_between_visits"] = by["_gap"].median()
    if "p_alive" in frame:
        out["active_share"] = groups["p_alive"].mean()
        out["active_based_on"] = groups["p_alive"].count()
    if "expected_visits" in frame:
        out["expected_visits"] = groups["expected_visits"].sum()
        out["expected_visits_per_customer"] = groups["expected_visits"].mean()
    if "purchase_repeats" in frame:
        out["buyers"] = groups["purchase_repeats"].count()
        for column in ("expected_purchases", "expected_spend", "customer_value"):
            if column in frame:
                out[column] = groups[column].sum(min_count=1)
        if "expected_spend" in frame:
            out["expected_spend_per_buyer"] = groups["expected_spend"].mean()
    if "loyalty_tier" in frame:
        known = frame["loyalty_tier"].notna()
        names = tiers if tiers is not None else sorted(frame.loc[known, "loyalty_tier"].unique())
        counted = frame[known].groupby("segment").size()
        for tier in names:
            in_tier = frame[frame["loyalty_tier"] == tier].groupby("segment").size()
            out[f"tier_share_{tier}"] = (in_tier / counted).reindex(out.index).fillna(
                0.0
            ).where(counted.reindex(out.index).fillna(0) > 0)
    if "offers_received" in frame:
        sums = groups[["offers_received", "offers_responded", "offers_response_known",
                       "offers_redeemed"]].sum()
        out["offers_received"] = sums["offers_received"]
        out["response_rate"] = sums["offers_responded"] / sums["offers_response_known"].replace(
            0, np.nan
        )
        out["redemption_rate"] = sums["offers_redeemed"] / sums["offers_received"].replace(
            0, np.nan
        )
    if "at_risk" in frame:
        risky = frame[frame["at_risk"]].groupby("segment")
        out["at_risk_customers"] = risky.size().reindex(out.index).fillna(0).astype(int)
        out["at_risk_share"] = out["at_risk_customers"] / out["customers"]
        if "past_spend" in frame:
            out["at_risk_past_spend"] = risky["past_spend"].sum().reindex(out.index).fillna(0.0)
        if "expected_spend" in frame:
            out["at_risk_expected_spend"] = (
                risky["expected_spend"].sum().reindex(out.index).fillna(0.0)
            )
    return out.reset_index()
