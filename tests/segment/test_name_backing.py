"""Every word of a segment's name is backed by the segment's own numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mallseg.segment.naming import DEFAULT_NAMING_RULES, SegmentName, name_segments
from mallseg.segment.personas import profile_segments


def assert_every_word_is_backed(names: dict[int, SegmentName]) -> None:
    rules = DEFAULT_NAMING_RULES
    for named in names.values():
        for evidence in named.evidence:
            assert evidence.word.lower() in named.name.lower()
            assert abs(evidence.effect_size) >= rules.min_effect, (named.name, evidence)
            assert evidence.coverage >= rules.min_coverage, (named.name, evidence)
            if evidence.level is None:
                side = evidence.segment_value - evidence.population_value
                assert side * evidence.effect_size > 0, (named.name, evidence)
                assert evidence.member_share >= rules.min_member_share, (named.name, evidence)
            else:
                assert evidence.segment_value >= 0.5, (named.name, evidence)
        assert named.name[-1] not in "0123456789", named.name


def test_age_words_need_the_segment_to_be_younger_or_older_than_everyone() -> None:
    # Three female-dominated groups as on the Istanbul receipts: mean ages 26, 43 and 61 in
    # a population whose mean age is 43. Only the first is young, only the last senior.
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 300)
    frame = pd.DataFrame({
        "age": np.choose(labels, [26.0, 43.0, 61.0]) + rng.normal(0, 4, 900),
        "gender": np.where(rng.uniform(size=900) < 0.8, "female", "male"),
    })
    profiles = profile_segments(frame, labels)
    names = name_segments(profiles)
    assert names[0].name.startswith("Young")
    assert names[2].name.startswith("Senior")
    assert "young" not in names[1].name.lower() and "senior" not in names[1].name.lower()
    assert "female" not in " ".join(n.name.lower() for n in names.values())  # 80% everywhere
    assert_every_word_is_backed(names)


def test_a_mean_pulled_down_by_a_few_does_not_make_a_segment_young() -> None:
    rng = np.random.default_rng(1)
    everyone = rng.uniform(20, 70, 1000)
    segment = np.r_[np.full(70, 52.0), np.full(30, 15.0)]  # mean 40.9, most over the median
    frame = pd.DataFrame({"age": np.r_[everyone, segment]})
    labels = np.r_[np.zeros(1000, int), np.ones(100, int)]
    profiles = profile_segments(frame, labels)
    effect = profiles.distinguishing(1).iloc[0]
    assert effect["segment_value"] < effect["population_value"]
    assert effect["member_share"] < 0.6
    assert "young" not in name_segments(profiles)[1].name.lower()


def test_a_segment_of_non_buyers_is_not_named_from_its_few_buyers() -> None:
    # 107 customers of whom 100 never bought: their spend shares are missing.
    food = np.r_[np.full(7, 1.0), np.full(100, np.nan), np.full(400, 0.2)]
    frame = pd.DataFrame({
        "spend_share_food": food,
        "spend_share_apparel": 1 - food,
        "visits_per_month": np.r_[np.full(107, 1.0), np.full(400, 4.0)],
    })
    labels = np.r_[np.zeros(107, int), np.ones(400, int)]
    # segmented on visits: named by them, never by the spend of 7 of 107
    profiles = profile_segments(frame, labels, model_features=["visits_per_month"])
    names = name_segments(profiles)
    assert "food" not in names[0].name.lower() and "diners" not in names[0].name.lower()
    assert "food" not in names[0].description
    assert names[0].name == "Occasional shoppers"
    assert_every_word_is_backed(names)
    # segmented on spend shares too: most of the segment lacks them
    profiles = profile_segments(frame, labels)
    assert name_segments(profiles)[0].name == "Not enough data"


def test_customers_without_the_lens_features_are_not_enough_data() -> None:
    # Households registered from receipts have no demographics: they are not "Senior".
    age = np.r_[np.full(300, np.nan), np.full(5, 70.0), np.linspace(25, 60, 200)]
    income = np.r_[np.full(305, np.nan), np.linspace(20, 120, 200)]
    frame = pd.DataFrame({"age": age, "annual_income": income})
    labels = np.r_[np.zeros(305, int), np.ones(200, int)]
    profiles = profile_segments(frame, labels, model_features=["age", "annual_income"])
    assert not profiles.row(0)["enough_data"]
    assert profiles.row(0)["coverage"] < 0.05
    names = name_segments(profiles)
    assert names[0].name == "Not enough data"
    assert "no value" in names[0].description
    coverage = profiles.distinguishing(0).set_index("feature")["coverage"]
    assert coverage["age"] == 5 / 305


def test_money_is_compared_on_the_scale_the_model_sees() -> None:
    # A value split: spend differs tenfold, recency hardly. Named by spend, not recency.
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1], 500)
    frame = pd.DataFrame({
        "monetary_total": np.exp(np.where(labels == 0, 8.0, 5.7) + rng.normal(0, 0.5, 1000)),
        "recency_days": rng.integers(0, 300, 1000) + np.where(labels == 0, 0, 20),
    })
    profiles = profile_segments(frame, labels)
    names = name_segments(profiles)
    assert names[0].name == "Big spenders"
    assert names[1].name == "Light spenders"
    assert_every_word_is_backed(names)


def test_a_weak_difference_never_enters_a_name_even_to_tell_namesakes_apart() -> None:
    # Two affluent segments with the same weekend habits: "Weekday" must not be invented.
    rng = np.random.default_rng(4)
    labels = np.repeat([0, 1, 2], [300, 200, 500])
    weekend = rng.uniform(0.2, 0.6, 1000) - np.where(labels == 1, 0.03, 0.0)
    frame = pd.DataFrame({
        "annual_income": np.where(labels < 2, 110.0, 45.0) + rng.normal(0, 5, 1000),
        "share_visits_weekend": weekend,
    })
    profiles = profile_segments(frame, labels)
    names = name_segments(profiles)
    assert "weekday" not in names[1].name.lower()
    assert names[0].name != names[1].name
    assert_every_word_is_backed(names)


def test_a_categorical_feature_missing_in_a_segment_does_not_break_the_profile() -> None:
    frame = pd.DataFrame({"loyalty_tier": ["gold", "silver", None, None],
                          "age": [20, 30, 40, 50]})
    profiles = profile_segments(frame, np.array([0, 0, 1, 1]))
    tier = profiles.distinguishing(1).set_index("feature").loc["loyalty_tier"]
    assert tier["coverage"] == 0.0
    assert pd.isna(profiles.row(1)["top_level_loyalty_tier"])
    assert name_segments(profiles)[1].name == "Senior shoppers"  # from age, which they have


def test_a_word_from_a_numeric_feature_has_no_level() -> None:
    # A spend share is numeric: its word is backed by the mean and the effect, not by a
    # category level (a share of 0.25 is not "under half of the segment has the level").
    rng = np.random.default_rng(4)
    labels = np.repeat([0, 1], 400)
    frame = pd.DataFrame({
        "spend_share_gold_prods": np.clip(np.choose(labels, [0.25, 0.08])
                                          + rng.normal(0, 0.03, 800), 0, 1),
        "monetary_total": rng.lognormal(6, 0.3, 800),
        "gender": np.where(labels == 0, "female", np.where(rng.uniform(size=800) < 0.5,
                                                            "female", "male")),
    })
    names = name_segments(profile_segments(frame, labels))
    evidence = [e for n in names.values() for e in n.evidence]
    assert evidence and all(e.level is None for e in evidence if e.feature != "gender")
    assert_every_word_is_backed(names)
