from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from mallseg.segment.stability import StabilityResult, best_match_jaccard, bootstrap_stability


def separated_blobs(n: int = 600, seed: int = 0) -> np.ndarray:
    data, _ = make_blobs(
        n_samples=n, centers=[[0, 0], [10, 0], [0, 10], [10, 10]], cluster_std=0.8,
        random_state=seed,
    )
    return data


def test_well_separated_segments_are_perfectly_stable() -> None:
    result = bootstrap_stability(separated_blobs(), KMeans(n_clusters=4, n_init=3), n_resamples=5)
    assert result.mean_ari == pytest.approx(1.0)
    assert sorted(result.per_segment) == [0, 1, 2, 3]
    assert min(result.per_segment.values()) == pytest.approx(1.0)
    assert len(result.ari_per_resample) == 5


def test_too_many_segments_on_structureless_data_are_unstable() -> None:
    noise = np.random.default_rng(3).uniform(size=(400, 2))
    result = bootstrap_stability(noise, KMeans(n_clusters=7, n_init=1), n_resamples=6)
    assert result.mean_ari < 0.85
    assert result.min_segment_stability < 0.8


def test_splitting_a_true_segment_shows_up_in_the_per_segment_jaccard() -> None:
    data = separated_blobs()
    result = bootstrap_stability(data, KMeans(n_clusters=5, n_init=1), n_resamples=8)
    merged = bootstrap_stability(data, KMeans(n_clusters=4, n_init=1), n_resamples=8)
    assert result.min_segment_stability < merged.min_segment_stability


def test_same_seed_same_result_and_other_seed_other_draws() -> None:
    data = np.random.default_rng(0).normal(size=(300, 3))
    first = bootstrap_stability(data, KMeans(n_clusters=3, n_init=1), random_state=7)
    again = bootstrap_stability(data, KMeans(n_clusters=3, n_init=1), random_state=7)
    other = bootstrap_stability(data, KMeans(n_clusters=3, n_init=1), random_state=8)
    assert first == again
    assert first.ari_per_resample != other.ari_per_resample


def test_bootstrap_scheme_and_given_reference_labels() -> None:
    data = separated_blobs()
    reference = KMeans(n_clusters=4, n_init=3, random_state=0).fit_predict(data)
    result = bootstrap_stability(
        data, KMeans(n_clusters=4, n_init=3), reference_labels=reference,
        scheme="bootstrap", n_resamples=4,
    )
    assert result.scheme == "bootstrap"
    assert result.resample_size == len(data)
    assert result.mean_ari == pytest.approx(1.0)


def test_large_data_is_capped_to_a_sample() -> None:
    data = separated_blobs(n=5000)
    result = bootstrap_stability(data, KMeans(n_clusters=4, n_init=1), max_rows=1000,
                                 n_resamples=3)
    assert result.n_rows == 1000
    assert result.resample_size == 800
    assert "sample" in result.notes[0]


def test_a_function_and_a_frame_work_as_clusterer_and_data() -> None:
    frame = pd.DataFrame(separated_blobs(), columns=["x", "y"])

    def by_kmeans(part: pd.DataFrame, seed: int) -> np.ndarray:
        return KMeans(n_clusters=4, n_init=2, random_state=seed).fit_predict(part[["x", "y"]])

    result = bootstrap_stability(frame, by_kmeans, n_resamples=3)
    assert result.mean_ari == pytest.approx(1.0)


def test_unassigned_rows_are_not_a_segment() -> None:
    scores = best_match_jaccard(np.array([0, 0, -1, -1]), np.array([-1, -1, 1, 1]))
    assert scores == {0: 0.0}


def test_invalid_parameters_are_named_in_the_error() -> None:
    data = separated_blobs(100)
    with pytest.raises(ValueError, match="n_resamples=0"):
        bootstrap_stability(data, KMeans(n_clusters=2), n_resamples=0)
    with pytest.raises(ValueError, match=r"subsample_fraction=1\.5"):
        bootstrap_stability(data, KMeans(n_clusters=2), subsample_fraction=1.5)
    with pytest.raises(ValueError, match="reference_labels has 3 labels"):
        bootstrap_stability(data, KMeans(n_clusters=2), reference_labels=np.zeros(3))
    with pytest.raises(TypeError, match="fit_predict"):
        bootstrap_stability(data, object())


def test_result_serialises_to_plain_types() -> None:
    result = StabilityResult(0.9, {0: 0.9}, (0.9,), "subsample", 10, 8)
    assert result.to_dict()["per_segment"] == {"0": 0.9}
