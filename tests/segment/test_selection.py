from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, silhouette_samples, silhouette_score

from mallseg.datasets.samples import load_classic_customers
from mallseg.segment.selection import (
    SelectionResult,
    auto_k_values,
    sampled_silhouettes,
    select_segmentation,
)

# Reference silhouettes of unscaled k-means (n_init=10, random_state=0) on the classic file.
CLASSIC_SILHOUETTES = {2: 0.2969, 3: 0.4676, 4: 0.4932, 5: 0.5539, 6: 0.5380, 7: 0.5264}


def classic_customers() -> pd.DataFrame:
    return load_classic_customers()


@pytest.fixture(scope="module")
def classic_result() -> SelectionResult:
    return select_segmentation(classic_customers(), "classic", k_values="auto")


def test_classic_file_chooses_the_five_textbook_segments(
    classic_result: SelectionResult,
) -> None:
    frame = classic_customers()
    result = classic_result
    assert result.chosen.k == 5
    assert result.chosen.algorithm in ("kmeans", "gmm")
    reference = KMeans(n_clusters=5, n_init=10, random_state=0).fit_predict(
        frame[["annual_income", "spending_score"]]
    )
    assert adjusted_rand_score(reference, result.chosen.labels) >= 0.95
    assert result.stability.mean_ari >= 0.8
    assert result.refit_agreement == pytest.approx(1.0)


def test_classic_candidates_cover_auto_k_and_both_algorithms(
    classic_result: SelectionResult,
) -> None:
    table = classic_result.candidates
    assert sorted(set(table["k"])) == list(range(2, 11))
    assert set(table["algorithm"]) == {"kmeans", "gmm"}
    expected = {"silhouette", "calinski_harabasz", "davies_bouldin", "bic", "stability",
                "min_segment_stability", "smallest_segment_size", "smallest_segment_share",
                "eligible", "reason", "rank"}
    assert expected <= set(table.columns)
    assert table.loc[table["algorithm"] == "kmeans", "bic"].isna().all()
    assert table.loc[table["algorithm"] == "gmm", "bic"].notna().all()
    # Standardising two columns of similar spread barely moves the reference silhouettes.
    kmeans = table[table["algorithm"] == "kmeans"].set_index("k")
    for k, reference in CLASSIC_SILHOUETTES.items():
        assert kmeans.loc[k, "silhouette"] == pytest.approx(reference, abs=0.02)


def test_segments_under_the_minimum_size_are_never_chosen(
    classic_result: SelectionResult,
) -> None:
    table = classic_result.candidates
    too_small = table[table["smallest_segment_size"] < 10]
    assert len(too_small) > 0  # k=10 cuts segments of fewer than 10 customers
    assert not too_small["eligible"].any()
    assert too_small["reason"].str.contains("minimum").all()
    assert int(np.bincount(classic_result.chosen.labels).min()) >= 10


def test_explanation_names_the_winner_its_scores_and_the_runners_up(
    classic_result: SelectionResult,
) -> None:
    text = classic_result.explanation
    winner = classic_result.candidates[classic_result.candidates["rank"] == 1].iloc[0]
    assert "k=5" in text
    assert f"silhouette {winner['silhouette']:.3f}" in text
    assert "stability" in text and "Runners-up" in text
    assert len(classic_result.runners_up) == 3
    for _, runner in classic_result.runners_up.iterrows():
        assert f"k={runner['k']}" in text
        assert runner["reason"]


def test_result_is_json_ready(
    classic_result: SelectionResult,
) -> None:
    payload = json.loads(json.dumps(classic_result.to_dict()))
    assert payload["k"] == 5
    assert payload["sample_sizes"]["customers"] == 200


def test_well_separated_unequal_blobs_in_ten_dimensions_with_noise_give_six() -> None:
    sizes = [6000, 5000, 3500, 2500, 1800, 1200]
    points, truth = make_blobs(
        n_samples=sizes, n_features=10, cluster_std=1.0, center_box=(-10, 10), random_state=42
    )
    noise = np.random.default_rng(42).normal(0, 3, size=(len(points), 4))
    frame = pd.DataFrame(np.hstack([points, noise]), columns=[f"f{i:02d}" for i in range(14)])
    result = select_segmentation(frame, list(frame.columns), k_values=range(2, 10),
                                 n_resamples=5)
    assert result.chosen.k == 6
    assert adjusted_rand_score(truth, result.chosen.labels) >= 0.9
    assert result.stability.mean_ari >= 0.9
    assert result.sample_sizes == {"customers": 20_000, "search": 20_000,
                                   "silhouette": 10_000, "stability": 5_000,
                                   "refit": 20_000}


def test_a_fixed_k_and_a_single_algorithm_return_that_k() -> None:
    result = select_segmentation(classic_customers(), "classic", algorithms=("gmm",),
                                 k_values=[4], n_resamples=3)
    assert (result.chosen.algorithm, result.chosen.k) == ("gmm", 4)
    assert len(result.candidates) == 1
    assert result.runners_up.empty


def test_large_data_is_searched_on_a_sample_and_refitted_on_all() -> None:
    points, truth = make_blobs(n_samples=6000, centers=3, cluster_std=0.7, random_state=3)
    frame = pd.DataFrame(points, columns=["annual_income", "spending_score"])
    result = select_segmentation(frame, algorithms=("kmeans",), k_values=[2, 3, 4],
                                 sample_size=1500, silhouette_sample_size=500,
                                 stability_sample_size=400, n_resamples=3)
    assert result.sample_sizes["search"] == 1500
    assert result.sample_sizes["silhouette"] == 500
    assert result.sample_sizes["stability"] == 400
    assert len(result.chosen.labels) == 6000
    assert result.chosen.k == 3
    assert adjusted_rand_score(truth, result.chosen.labels) == pytest.approx(1.0)
    assert "1,500 of 6,000" in result.explanation


def test_hdbscan_and_ward_are_selectable() -> None:
    points, truth = make_blobs(n_samples=900, centers=[[0, 0], [6, 6], [0, 8]],
                               cluster_std=0.6, random_state=5)
    frame = pd.DataFrame(points, columns=["annual_income", "spending_score"])
    result = select_segmentation(frame, algorithms=("hdbscan", "ward"), k_values=[2, 3, 4],
                                 n_resamples=3)
    table = result.candidates
    hdbscan = table[table["algorithm"] == "hdbscan"]
    assert len(hdbscan) == 3 and hdbscan["min_cluster_size"].notna().all()
    assert (table["algorithm"] == "ward").sum() == 3
    assert result.chosen.k == 3
    assert adjusted_rand_score(truth, result.chosen.labels) > 0.9


def test_when_nothing_is_stable_the_rule_relaxes_and_says_so() -> None:
    noise = np.random.default_rng(0).uniform(size=(300, 2))
    frame = pd.DataFrame(noise, columns=["annual_income", "spending_score"])
    result = select_segmentation(frame, algorithms=("kmeans",), k_values=[5, 6, 7],
                                 n_resamples=4, min_stability=0.999)
    assert result.relaxed_stability
    assert "relaxed" in result.explanation


def test_no_eligible_candidate_is_an_error_that_says_why() -> None:
    frame = classic_customers()
    with pytest.raises(ValueError, match="no candidate is eligible"):
        select_segmentation(frame, algorithms=("kmeans",), k_values=[10],
                            min_segment_size=30, n_resamples=2)


def test_invalid_parameters_name_the_value() -> None:
    frame = classic_customers()
    with pytest.raises(ValueError, match="algorithm 'dbscan'"):
        select_segmentation(frame, algorithms=("dbscan",))
    with pytest.raises(ValueError, match="k=1"):
        select_segmentation(frame, k_values=[1, 2])
    with pytest.raises(ValueError, match="k_values='many'"):
        select_segmentation(frame, k_values="many")  # type: ignore[arg-type]


def test_auto_k_values_follow_the_square_root_rule() -> None:
    assert auto_k_values(200) == range(2, 11)
    assert auto_k_values(20) == range(2, 4)
    assert auto_k_values(10_000_000) == range(2, 13)


def test_batched_silhouettes_equal_scikit_learn_and_score_unassigned_rows_zero() -> None:
    rng = np.random.default_rng(1)
    points = rng.normal(size=(300, 4))
    labels = [rng.integers(0, k, 300) for k in (2, 3, 7)]
    ours = sampled_silhouettes(points, labels)
    for mine, lab in zip(ours, labels, strict=True):
        assert mine == pytest.approx(silhouette_score(points, lab), abs=1e-9)
    with_noise = labels[1].copy()
    with_noise[:30] = -1
    inside = with_noise >= 0
    expected = silhouette_samples(points[inside], with_noise[inside]).sum() / 300
    assert sampled_silhouettes(points, [with_noise])[0] == pytest.approx(expected, abs=1e-9)
    assert np.isnan(sampled_silhouettes(points, [np.zeros(300, dtype=int)])[0])
