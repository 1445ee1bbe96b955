from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mallseg.datasets.samples import load_classic_customers
from mallseg.segment.explain import CustomerExplanation, explain_customer
from mallseg.segment.segmenter import Segmenter


def mall_customers() -> pd.DataFrame:
    return load_classic_customers()


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return mall_customers()


@pytest.fixture(scope="module")
def classic(customers: pd.DataFrame) -> Segmenter:
    return Segmenter(features="classic", n_segments=5).fit(customers)


def test_explanation_agrees_with_confidence_and_assign_one(
    classic: Segmenter, customers: pd.DataFrame
) -> None:
    confidence = classic.confidence(customers)
    proba = classic.predict_proba(customers)
    for row in (0, 57, 123, 199):
        record = customers.iloc[row].to_dict()
        explanation = explain_customer(classic, record)
        assert explanation.segment == int(classic.labels_[row])
        assert explanation.confidence == pytest.approx(confidence[row], abs=1e-9)
        assert explanation.confidence == pytest.approx(classic.assign_one(record)[1], abs=1e-9)
        runner_up = int(np.argsort(-proba[row])[1]) if proba[row].argmax() == (
            explanation.segment) else int(proba[row].argmax())
        assert explanation.runner_up == runner_up
        assert explanation.margin == pytest.approx(
            proba[row, explanation.segment] - proba[row, runner_up], abs=1e-12
        )
        assert explanation.segment_size == int(classic.segment_sizes_[explanation.segment])


def test_confidence_and_margin_are_the_probabilities_of_the_two_groups() -> None:
    # two overlapping groups N(0, 1) and N(2, 1): at x the true posterior of the left one is
    # 1 / (1 + exp(2x - 2)), 0.88 at x = 0 and 0.5 at x = 1
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0.0, 1.0, 3000), rng.normal(2.0, 1.0, 3000)])
    segmenter = Segmenter(features=["age"], n_segments=2).fit(pd.DataFrame({"age": values}))
    left = int(segmenter.predict(pd.DataFrame({"age": [-3.0]}))[0])
    for x, expected in ((0.0, 1 / (1 + np.exp(-2.0))), (-1.0, 1 / (1 + np.exp(-4.0)))):
        explanation = explain_customer(segmenter, {"age": x})
        assert explanation.segment == left
        assert explanation.runner_up == 1 - left
        assert explanation.confidence == pytest.approx(expected, abs=0.03)
        assert explanation.margin == pytest.approx(2 * explanation.confidence - 1, abs=1e-12)
    boundary = explain_customer(segmenter, {"age": 1.0})
    assert boundary.confidence == pytest.approx(0.5, abs=0.06)
    assert abs(boundary.margin) < 0.12


def test_segment_and_population_values_are_means_on_one_scale() -> None:
    # right-skewed spend: a back-transformed log centre would sit far below the mean
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({
        "monetary_total": np.concatenate([rng.lognormal(3, 1.0, 300), rng.lognormal(7, 1.0, 300)]),
        "gender": np.repeat(["female", "male"], 300),
    })
    segmenter = Segmenter(features=["monetary_total", "gender"], n_segments=2).fit(frame)
    explanation = explain_customer(segmenter, {"monetary_total": 2000.0, "gender": "male"})
    members = frame[segmenter.labels_ == explanation.segment]
    spend = next(f for f in explanation.features if f.feature == "monetary_total")
    assert spend.segment_value == pytest.approx(members["monetary_total"].mean())
    assert spend.population_value == pytest.approx(frame["monetary_total"].mean())
    gender = next(f for f in explanation.features if f.feature == "gender")
    assert gender.segment_value == "male" and gender.population_value == "female"
    assert explanation.segment_size == len(members)


def test_a_missing_value_is_shown_as_missing_and_its_pull_goes_to_its_feature() -> None:
    rng = np.random.default_rng(4)
    n = 400
    buyer = rng.uniform(size=n) < 0.5
    frame = pd.DataFrame({
        "visits_per_month": np.where(buyer, rng.normal(4, 1, n), rng.normal(1, 0.5, n)),
        "basket_mean": np.where(buyer, rng.lognormal(4, 0.4, n), np.nan),
    })
    segmenter = Segmenter(features=["visits_per_month", "basket_mean"], n_segments=2).fit(frame)
    record = {"visits_per_month": 1.2, "basket_mean": None}
    explanation = explain_customer(segmenter, record)
    basket = next(f for f in explanation.features if f.feature == "basket_mean")
    assert basket.customer_value is None
    assert [f.feature for f in explanation.features] != [] and all(
        not f.feature.startswith("missingindicator") for f in explanation.features)
    point = segmenter.assigner_.vectorise(record)
    centres = segmenter.centers_
    assert explanation.runner_up is not None
    runner_up, segment = centres[explanation.runner_up], centres[explanation.segment]
    pull = (point - runner_up) ** 2 - (point - segment) ** 2
    assert basket.contribution == pytest.approx(pull[1:3].sum())  # value and its indicator
    assert basket.contribution > 0  # having no basket is what places them with non-buyers
    assert explanation.segment == int(segmenter.labels_[np.flatnonzero(~buyer)[0]])


def test_top_features_on_the_classic_sample_pull_the_right_way(classic: Segmenter) -> None:
    affluent_careful = {"annual_income": 120.0, "spending_score": 15.0}
    explanation = explain_customer(classic, affluent_careful)
    assert {f.feature for f in explanation.top_features(2)} == {"annual_income",
                                                                 "spending_score"}
    for feature in explanation.features:
        assert feature.contribution > 0
        assert isinstance(feature.customer_value, float)
        assert isinstance(feature.segment_value, float)
        assert isinstance(feature.population_value, float)
        # the segment lies on the customer's side of the population mean
        assert isinstance(feature.segment_value, float)
        assert np.sign(feature.segment_value - feature.population_value) == np.sign(
            feature.customer_value - feature.population_value
        )
    contributions = [f.contribution for f in explanation.features]
    assert contributions == sorted(contributions, reverse=True)


def test_contributions_add_up_to_the_distance_gap(customers: pd.DataFrame) -> None:
    segmenter = Segmenter(features=["gender", "age", "annual_income", "spending_score"],
                          n_segments=5).fit(customers)
    row = customers.iloc[[10]]
    explanation = explain_customer(segmenter, row)
    assert sorted(f.feature for f in explanation.features) == sorted(segmenter.feature_names_in_)
    point = segmenter.transform(row)[0]
    assert explanation.runner_up is not None
    gap = ((point - segmenter.centers_[explanation.runner_up]) ** 2).sum() - (
        (point - segmenter.centers_[explanation.segment]) ** 2
    ).sum()
    assert sum(f.contribution for f in explanation.features) == pytest.approx(gap)
    gender = next(f for f in explanation.features if f.feature == "gender")
    assert gender.customer_value == row["gender"].iloc[0]
    assert gender.segment_value in {"female", "male"}


def test_explanation_is_plain_data(classic: Segmenter, customers: pd.DataFrame) -> None:
    explanation = explain_customer(classic, customers.iloc[[0]])
    assert isinstance(explanation, CustomerExplanation)
    as_dict = explanation.to_dict()
    assert as_dict["segment"] == int(classic.labels_[0])
    assert {f["feature"] for f in as_dict["features"]} == {"annual_income", "spending_score"}
    with pytest.raises(ValueError, match="row has 2 rows"):
        explain_customer(classic, customers.iloc[:2])
