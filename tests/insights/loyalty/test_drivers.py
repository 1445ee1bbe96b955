"""What drives coming back: the known drivers of each segment are found, with their sign,
and features without an effect are not reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mallseg.insights.loyalty.drivers import LoyaltyDrivers, loyalty_drivers


@pytest.fixture(scope="module")
def known() -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    rng = np.random.default_rng(42)
    n = 6000
    ids = [f"c{i:05d}" for i in range(n)]
    segment = np.where(np.arange(n) % 2 == 0, "Regulars", "Weekenders")
    features = pd.DataFrame({
        "customer_id": ids,
        "visits_per_month": rng.gamma(2.0, 1.0, n),
        "share_visits_weekend": rng.random(n),
        "age": rng.integers(18, 80, n).astype(float),
        "annual_income": rng.lognormal(4, 0.4, n),
        "loyalty_tier": rng.choice(["none", "bronze", "gold"], n),
    })
    gold = (features["loyalty_tier"] == "gold").to_numpy()
    logit = np.where(
        segment == "Regulars",
        -0.5 + 1.5 * (features["visits_per_month"].to_numpy() - 2.0),
        0.3 - 5.0 * (features["share_visits_weekend"].to_numpy() - 0.5) + 2.0 * gold,
    )
    returned = rng.random(n) < 1 / (1 + np.exp(-logit))
    features.loc[rng.random(n) < 0.05, "age"] = np.nan  # missing values are taken as they are
    return (features, pd.Series(returned, index=ids), pd.Series(segment, index=ids))


@pytest.fixture(scope="module")
def result(known: tuple[pd.DataFrame, pd.Series, pd.Series]) -> LoyaltyDrivers:
    features, returned, segments = known
    return loyalty_drivers(features, returned, segments, target="came back", n_repeats=8)


def test_each_segment_gets_its_own_drivers_with_the_right_sign(result: LoyaltyDrivers) -> None:
    by_segment = {s.segment: s for s in result.segments}
    regulars, weekenders = by_segment["Regulars"], by_segment["Weekenders"]

    assert [d.feature for d in regulars.drivers] == ["visits_per_month"]
    assert regulars.drivers[0].effect > 0.3
    assert regulars.summary.endswith("coming back goes with higher visits to the mall per month.")

    assert {d.feature for d in weekenders.drivers} == {"share_visits_weekend", "loyalty_tier"}
    weekend = next(d for d in weekenders.drivers if d.feature == "share_visits_weekend")
    tier = next(d for d in weekenders.drivers if d.feature == "loyalty_tier")
    assert weekend.effect < -0.2
    assert (tier.higher, tier.effect > 0.1) == ("gold", True)
    assert weekenders.summary.endswith(
        "goes with lower share of visits on Saturday or Sunday and loyalty-programme tier "
        "gold (rather than none)."
    )
    assert weekenders.drivers[0].feature == "share_visits_weekend"  # the stronger one first

    assert 0.65 < result.auc < 0.8  # the outcome is a coin with a known bias, not a rule
    assert result.features == ("visits_per_month", "share_visits_weekend", "age",
                               "annual_income", "loyalty_tier")


def test_every_reported_driver_clears_the_noise_bar(result: LoyaltyDrivers) -> None:
    for segment in result.segments:
        for driver in segment.drivers:
            assert driver.importance - 2 * driver.importance_se > max(
                0.0, segment.noise_importance
            )


def test_a_segment_too_small_to_judge_says_so(
    known: tuple[pd.DataFrame, pd.Series, pd.Series],
) -> None:
    features, returned, segments = known
    segments = segments.copy()
    segments.iloc[:40] = "Tiny"  # 40 customers, about 16 of them held out for evaluation
    result = loyalty_drivers(features, returned, segments, target="came back", n_repeats=3)
    tiny = next(s for s in result.segments if s.segment == "Tiny")
    assert tiny.drivers == ()
    assert "no drivers can be told apart: only" in tiny.summary
    assert "(at least 60 needed)" in tiny.summary


def test_one_outcome_for_everybody_is_refused(
    known: tuple[pd.DataFrame, pd.Series, pd.Series],
) -> None:
    features, returned, segments = known
    with pytest.raises(ValueError, match="same outcome"):
        loyalty_drivers(features, returned | True, segments, target="came back")


def test_to_dict_is_plain_json(known: tuple[pd.DataFrame, pd.Series, pd.Series]) -> None:
    import json

    features, returned, segments = known
    result = loyalty_drivers(features.iloc[:1500], returned, segments, target="came back",
                             n_repeats=3)
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["model"] == "HistGradientBoostingClassifier"
    assert {s["segment"] for s in payload["segments"]} == {"Regulars", "Weekenders"}
