from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans

from mallseg.datasets.samples import load_classic_customers
from mallseg.segment.personas import profile_segments


def classic_customers() -> pd.DataFrame:
    return load_classic_customers()


def classic_labels(frame: pd.DataFrame) -> np.ndarray:
    return KMeans(n_clusters=5, n_init=10, random_state=0).fit_predict(
        frame[["annual_income", "spending_score"]]
    )


def test_sizes_shares_and_means_match_the_reference_segments() -> None:
    frame = classic_customers()
    profiles = profile_segments(frame, classic_labels(frame))
    summary = profiles.summary.sort_values("mean_annual_income").reset_index(drop=True)
    # Reference k=5 k-means on the classic file, sorted by income.
    assert summary["size"].tolist() in ([22, 23, 81, 39, 35], [23, 22, 81, 39, 35])
    assert summary["share"].sum() == pytest.approx(1.0)
    careful = summary.iloc[4]
    assert careful["mean_annual_income"] == pytest.approx(88.20, abs=0.01)
    assert careful["mean_spending_score"] == pytest.approx(17.11, abs=0.01)
    assert profiles.population["annual_income"] == pytest.approx(frame["annual_income"].mean())
    assert profiles.n_customers == 200
    assert "customer_id" not in profiles.features


def test_effect_size_is_the_standardised_difference_from_the_population() -> None:
    frame = classic_customers()
    labels = classic_labels(frame)
    profiles = profile_segments(frame, labels, ["annual_income", "spending_score"])
    seg = int(labels[np.argmax(frame["annual_income"] - frame["spending_score"])])
    row = profiles.distinguishing(seg)
    income = row[row["feature"] == "annual_income"].iloc[0]
    expected = (frame.loc[labels == seg, "annual_income"].mean() - frame["annual_income"].mean()) \
        / frame["annual_income"].std(ddof=0)
    assert income["effect_size"] == pytest.approx(expected)
    # The high-income careful spenders are set apart first by their low score.
    assert row.iloc[0]["feature"] == "spending_score"
    assert row.iloc[0]["effect_size"] < -1.0
    assert row["rank"].tolist() == [1, 2]


def test_categorical_features_get_distribution_lift_and_cohens_h() -> None:
    frame = pd.DataFrame({
        "age": [30] * 8,
        "gender": ["female"] * 4 + ["male"] * 4,
    })
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    profiles = profile_segments(frame, labels)
    cats = profiles.categories
    female0 = cats[(cats["segment"] == 0) & (cats["level"] == "female")].iloc[0]
    assert female0["share"] == pytest.approx(1.0)
    assert female0["population_share"] == pytest.approx(0.5)
    assert female0["lift"] == pytest.approx(2.0)
    effect = profiles.distinguishing(0).iloc[0]
    assert (effect["feature"], effect["level"]) == ("gender", "female")
    assert effect["effect_size"] == pytest.approx(np.pi - np.pi / 2)
    assert profiles.row(1)["top_level_gender"] == "male"


def test_unassigned_customers_form_their_own_last_row() -> None:
    frame = pd.DataFrame({"age": [20, 21, 50, 51, 90]})
    profiles = profile_segments(frame, np.array([1, 1, 0, 0, -1]))
    assert profiles.summary["label"].tolist() == ["Segment 0", "Segment 1", "Unassigned"]
    assert profiles.segments == [0, 1, -1]
    assert profiles.population["age"] == pytest.approx(46.4)


def test_top_categories_and_peak_time_band_when_the_data_has_them() -> None:
    rng = np.random.default_rng(0)
    n = 400
    labels = np.repeat([0, 1], n // 2)
    evening = np.where(labels == 0, 0.6, 0.1) + rng.uniform(0, 0.05, n)
    morning = 1.0 - evening
    frame = pd.DataFrame({
        "visits_per_month": rng.poisson(4, n),
        "share_visits_morning": morning,
        "share_visits_midday": 0.0,
        "share_visits_afternoon": 0.0,
        "share_visits_evening": evening,
        "share_visits_weekend": np.where(labels == 1, 0.7, 0.2),
        "spend_share_food": np.where(labels == 0, 0.5, 0.1),
        "spend_share_cinema": np.where(labels == 0, 0.3, 0.05),
        "spend_share_apparel": np.where(labels == 0, 0.2, 0.85),
    })
    profiles = profile_segments(frame, labels)
    assert profiles.row(0)["peak_time_band"] == "evening"
    assert profiles.row(1)["peak_time_band"] == "morning"
    assert profiles.row(0)["top_categories"] == ("cinema", "food")
    assert profiles.row(1)["top_categories"] == ("apparel",)
    assert profiles.row(1)["weekend_share"] == pytest.approx(0.7)


def test_extra_tables_are_profiled_alongside() -> None:
    frame = pd.DataFrame({"age": [20, 22, 60, 62]}, index=[10, 11, 12, 13])
    extra = pd.DataFrame({"spend_share_food": [0.9, 0.8, 0.1, 0.2]})
    profiles = profile_segments(frame, np.array([0, 0, 1, 1]), extra={"spend": extra})
    assert "spend_share_food" in profiles.features
    assert profiles.row(0)["mean_spend_share_food"] == pytest.approx(0.85)


def test_to_dict_is_json_ready() -> None:
    frame = classic_customers()
    profiles = profile_segments(frame, classic_labels(frame))
    payload = json.loads(json.dumps(profiles.to_dict()))
    assert len(payload["segments"]) == 5
    assert {"segment", "label", "size", "share", "distinguishing"} <= set(payload["segments"][0])
    assert payload["effects"][0]["rank"] == 1


def test_bad_input_is_rejected_with_the_reason() -> None:
    frame = pd.DataFrame({"age": [1, 2, 3]})
    with pytest.raises(ValueError, match="labels has 2 entries for 3 rows"):
        profile_segments(frame, np.array([0, 1]))
    with pytest.raises(ValueError, match="not columns"):
        profile_segments(frame, np.array([0, 1, 1]), ["income"])
