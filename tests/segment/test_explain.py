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


def raw_centre(segmenter: Segmenter, segment: int) -> dict[str, float]:
    """Centre of a segment in original units (classic features are scaled, not logged)."""
    scaler_means = {}
    for name, pipeline, _ in segmenter.preprocessor_.transformers_:
        scale = pipeline.named_steps["scale"]
        column = list(segmenter.feature_names_in_).index(name)
        scaler_means[name] = float(
            segmenter.centers_[segment, column] * scale.scale_[0] + scale.mean_[0]
        )
    return scaler_means


def test_customer_deep_inside_a_segment_is_confidently_placed(classic: Segmenter) -> None:
    for segment in range(classic.n_segments_):
        explanation = explain_customer(classic, raw_centre(classic, segment))
        assert explanation.segment == segment
        assert explanation.confidence > 0.99
        assert explanation.margin > 0.98
        assert explanation.runner_up not in (None, segment)


def test_boundary_customer_has_a_small_margin(classic: Segmenter) -> None:
    centres = classic.centers_
    gaps = ((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(gaps, np.inf)
    first, second = np.unravel_index(np.argmin(gaps), gaps.shape)
    a, b = raw_centre(classic, int(first)), raw_centre(classic, int(second))
    midpoint = {name: (a[name] + b[name]) / 2 for name in a}
    explanation = explain_customer(classic, midpoint)
    assert {explanation.segment, explanation.runner_up} == {first, second}
    assert explanation.margin < 0.05
    assert explanation.confidence == pytest.approx(0.5, abs=0.05)
    assert sum(f.contribution for f in explanation.features) == pytest.approx(0.0, abs=1e-6)


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
