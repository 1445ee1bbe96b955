from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans

from mallseg.datasets.samples import load_classic_customers
from mallseg.segment.naming import NamingRules, Phrase, name_segments
from mallseg.segment.personas import profile_segments

HIGH_INCOME_WORDS = ("affluent", "high-income", "wealthy")
LOW_INCOME_WORDS = ("low-income", "budget")
HIGH_SPEND_WORDS = ("high spenders", "big spenders")
LOW_SPEND_WORDS = ("careful", "frugal", "thrifty")
AVERAGE_WORDS = ("average", "mid", "mainstream")


def classic_customers() -> pd.DataFrame:
    return load_classic_customers()


def says(name: str, words: tuple[str, ...]) -> bool:
    return any(word in name.lower() for word in words)


@pytest.mark.parametrize("features", [["annual_income", "spending_score"], None])
def test_classic_names_say_which_group_is_high_or_low_income_and_spending(
    features: list[str] | None,
) -> None:
    frame = classic_customers()
    labels = KMeans(n_clusters=5, n_init=10, random_state=0).fit_predict(
        frame[["annual_income", "spending_score"]]
    )
    names = name_segments(profile_segments(frame, labels, features))
    income_mean, score_mean = frame["annual_income"].mean(), frame["spending_score"].mean()
    assert len({n.name for n in names.values()}) == 5
    for seg, named in names.items():
        members = frame[labels == seg]
        income = members["annual_income"].mean() - income_mean
        score = members["spending_score"].mean() - score_mean
        name = named.name
        if abs(income) < 10 and abs(score) < 10:  # the middle group (~55k, ~50)
            assert says(name, AVERAGE_WORDS), name
            assert not says(name, HIGH_INCOME_WORDS + LOW_INCOME_WORDS), name
            continue
        assert says(name, HIGH_INCOME_WORDS if income > 0 else LOW_INCOME_WORDS), name
        assert not says(name, LOW_INCOME_WORDS if income > 0 else HIGH_INCOME_WORDS), name
        assert says(name, HIGH_SPEND_WORDS if score > 0 else LOW_SPEND_WORDS), name
        assert not says(name, LOW_SPEND_WORDS if score > 0 else HIGH_SPEND_WORDS), name


def test_description_carries_the_numbers_behind_the_name() -> None:
    frame = classic_customers()
    labels = KMeans(n_clusters=5, n_init=10, random_state=0).fit_predict(
        frame[["annual_income", "spending_score"]]
    )
    names = name_segments(profile_segments(frame, labels, ["annual_income", "spending_score"]))
    careful = int(labels[np.argmax(frame["annual_income"] - frame["spending_score"])])
    text = names[careful].description
    assert text.startswith("35 customers (18%)")
    assert "88k vs 61k" in text
    assert "17 vs 50" in text
    assert text.endswith(".")


def behaviour_frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1, 2], 100)
    frame = pd.DataFrame({
        "visits_per_month": np.where(labels == 2, 12.0, 3.0) + rng.normal(0, 0.5, 300),
        "dwell_mean_minutes": np.where(labels == 2, 150.0, 60.0) + rng.normal(0, 5, 300),
        "share_visits_evening": np.where(labels == 1, 0.7, 0.15) + rng.uniform(0, 0.05, 300),
        "spend_share_food": np.where(labels == 1, 0.6, 0.15) + rng.uniform(0, 0.05, 300),
        "share_visits_weekend": np.where(labels == 0, 0.8, 0.25) + rng.uniform(0, 0.05, 300),
        "family_size": np.where(labels == 0, 4.2, 1.6) + rng.normal(0, 0.3, 300),
    })
    return frame, labels


def test_behavioural_personas_get_behavioural_names() -> None:
    frame, labels = behaviour_frame()
    names = name_segments(profile_segments(frame, labels))
    assert [names[s].name for s in (0, 1, 2)] == [
        "Weekend family shoppers", "Evening diners", "Frequent mall enthusiasts"
    ]


def test_names_are_unique_and_disambiguated_deterministically() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], [60, 40, 100])
    frame = pd.DataFrame({
        "annual_income": np.where(labels < 2, 95.0, 50.0) + rng.normal(0, 2, 200),
        # Segment 1 is a little younger: too little to name it, enough to tell it apart.
        "age": np.where(labels == 1, 40.0, 46.0) + rng.normal(0, 10, 200),
    })
    first = name_segments(profile_segments(frame, labels))
    again = name_segments(profile_segments(frame, labels))
    assert first == again
    names = [first[s].name for s in (0, 1, 2)]
    assert len(set(names)) == 3
    assert names[0] == "Affluent shoppers"  # the larger of the two affluent groups keeps it
    assert "young" in names[1].lower() and "affluent" in names[1].lower()


def test_segments_sharing_a_name_are_told_apart_by_the_feature_that_separates_them() -> None:
    frame = pd.DataFrame({"age": [20, 20, 20, 20, 60, 60]})
    rules = NamingRules(phrases={}, fallback="Shoppers")
    names = name_segments(profile_segments(frame, np.array([0, 0, 1, 1, 2, 2])), rules=rules)
    # ordered by age, the feature on which they differ; no "... 2" suffixes
    assert [names[s].name for s in (2, 0, 1)] == ["Shoppers A", "Shoppers B", "Shoppers C"]
    assert "told apart from its namesakes by age (60, 20, 20)" in names[0].description


def test_two_namesakes_are_called_higher_and_lower_on_what_separates_them() -> None:
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1, 2], 100)
    frame = pd.DataFrame({
        "age": np.where(labels < 2, 24.0, 55.0) + rng.normal(0, 3, 300),
        "annual_income": np.where(labels == 1, 70.0, 40.0) + rng.normal(0, 3, 300),
    })
    rules = NamingRules(phrases={"age": {"low": Phrase("Young")}})
    names = name_segments(profile_segments(frame, labels), rules=rules)
    assert names[1].name == "Young shoppers, higher annual income"
    assert names[0].name == "Young shoppers, lower annual income"
    assert "told apart from its namesakes by annual income (70k, 40k)" in names[0].description


def test_rules_are_configurable_by_mapping_and_by_object() -> None:
    frame, labels = behaviour_frame()
    profiles = profile_segments(frame, labels)
    mapping = {"phrases": {"share_visits_weekend": {"high": {"head": "weekenders"}},
                           "family_size": {"high": "Family"}}}
    assert name_segments(profiles, rules=mapping)[0].name == "Family weekenders"
    strict = NamingRules(min_effect=50.0, fallback="Everyday shoppers")
    assert name_segments(profiles, rules=strict)[0].name.startswith("Everyday shoppers")
    custom = NamingRules(phrases={"family_size": {"high": Phrase("Households", "head")}},
                         max_features=1)
    assert name_segments(profiles, rules=custom)[0].name == "Households"


def test_unassigned_customers_are_named_as_such() -> None:
    frame = pd.DataFrame({"age": [20, 21, 60, 61, 99]})
    names = name_segments(profile_segments(frame, np.array([0, 0, 1, 1, -1])))
    assert names[-1].name == "Unassigned"
    assert "1 customers (20%)" in names[-1].description


def test_unknown_rule_keys_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown naming rule keys"):
        NamingRules.from_mapping({"phrasez": {}})
    with pytest.raises(ValueError, match="direction 'up'"):
        NamingRules.from_mapping({"phrases": {"age": {"up": "Old"}}})
