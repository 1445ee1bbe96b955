"""Per-segment loyalty figures and the at-risk rule, on a table worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mallseg.insights.loyalty.segments import (
    as_segment_labels,
    flag_at_risk,
    segment_loyalty_table,
)


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e", "f"],
        "segment": ["S", "S", "S", "T", "T", "T"],
        "visit_repeats": [4, 0, 2, 9, np.nan, 1],
        "visit_recency_days": [40.0, 0.0, 30.0, 90.0, np.nan, 5.0],
        "p_alive": [0.9, 0.2, 0.4, 0.95, np.nan, 0.3],
        "expected_visits": [3.0, 0.5, 1.0, 6.0, np.nan, 0.5],
        "purchase_repeats": [3, 0, np.nan, 8, 1, 1],
        "past_spend": [300.0, 50.0, np.nan, 900.0, 200.0, 600.0],
        "expected_spend": [60.0, 5.0, np.nan, 150.0, 10.0, 40.0],
        "loyalty_tier": ["gold", "none", "none", "gold", None, "silver"],
        "offers_received": [2, 1, 0, 4, 0, 2],
        "offers_responded": [1, 0, 0, 2, 0, 0],
        "offers_response_known": [2, 1, 0, 4, 0, 1],
        "offers_redeemed": [1, 0, 0, 1, 0, 0],
    })


def test_at_risk_is_top_third_by_value_with_low_p_alive(table: pd.DataFrame) -> None:
    flags, rule = flag_at_risk(table)
    # five known past spends: the top third is 600 and 900; of those only f has P < 0.5
    assert rule.value_threshold == 600.0
    assert rule.ranked_customers == 5
    assert flags.tolist() == [False, False, False, False, False, True]
    assert rule.describe() == ("high value (past spend of 600.00 or more: the top 33% of "
                               "5 customers) and P(active) below 0.50")


def test_segment_table_by_hand(table: pd.DataFrame) -> None:
    table["at_risk"] = flag_at_risk(table)[0]
    out = segment_loyalty_table(table).set_index("segment")
    s, t = out.loc["S"], out.loc["T"]
    assert (s["customers"], s["share"]) == (3, 0.5)
    assert (s["visitors"], t["visitors"]) == (3, 2)
    assert s["repeat_visitor_share"] == pytest.approx(2 / 3)
    assert t["repeat_visitor_share"] == 1.0
    assert s["median_days_between_visits"] == 12.5  # 40/4 and 30/2
    assert t["median_days_between_visits"] == 7.5   # 90/9 and 5/1
    assert s["active_share"] == pytest.approx(0.5)
    assert t["active_share"] == pytest.approx(0.625)
    assert t["active_based_on"] == 2
    assert s["expected_visits"] == 4.5
    assert (s["buyers"], t["buyers"]) == (2, 3)
    assert t["expected_spend"] == 200.0
    assert t["expected_spend_per_buyer"] == pytest.approx(200 / 3)
    assert s["tier_share_gold"] == pytest.approx(1 / 3)
    assert t["tier_share_gold"] == 0.5 and t["tier_share_silver"] == 0.5  # e's tier unknown
    assert s["response_rate"] == pytest.approx(1 / 3)
    assert t["redemption_rate"] == pytest.approx(1 / 6)
    assert (s["at_risk_customers"], t["at_risk_customers"]) == (0, 1)
    assert t["at_risk_past_spend"] == 600.0
    assert t["at_risk_expected_spend"] == 40.0


def test_assignments_in_every_shape() -> None:
    frame = pd.DataFrame({"customer_id": [1, 2], "segment_id": [0, 1]})
    assert as_segment_labels(frame).to_dict() == {"1": 0, "2": 1}
    assert as_segment_labels({"x": "A"}).to_dict() == {"x": "A"}
    series = pd.Series(["A", "B"], index=["p", "q"])
    assert as_segment_labels(series).index.tolist() == ["p", "q"]
    with pytest.raises(ValueError, match="customer 'p' is assigned more than once"):
        as_segment_labels(pd.DataFrame({"customer_id": ["p", "p"], "segment": [0, 1]}))
    with pytest.raises(ValueError, match="no segment column"):
        as_segment_labels(pd.DataFrame({"customer_id": ["p"], "cluster": [0]}))
    assert as_segment_labels(pd.DataFrame({"customer_id": ["p"], "cluster": [3]}),
                             segment_column="cluster").to_dict() == {"p": 3}
