"""The clustering algorithms behind a Segmenter: Ward at scale, HDBSCAN's assignment, argmin."""

from __future__ import annotations

import hdbscan
import numpy as np
import pytest
from sklearn.cluster import HDBSCAN
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from mallseg.segment.algorithms import (
    ALGORITHMS,
    HDBSCANSegments,
    WardCentroids,
    make_clusterer,
    nearest_center,
)


def test_ward_labels_every_row_when_the_hierarchy_is_built_on_a_sample() -> None:
    points, _ = make_blobs(n_samples=300, centers=3, random_state=0)
    model = WardCentroids(n_clusters=3, max_rows=100).fit(points)
    assert len(model.labels_) == 300
    np.testing.assert_array_equal(model.labels_, model.predict(points))
    np.testing.assert_array_equal(model.fit_predict(points), model.predict(points))


def test_ward_sample_centroids_still_recover_separated_groups() -> None:
    points, truth = make_blobs(n_samples=3000, centers=[[0, 0], [9, 0], [0, 9]],
                               cluster_std=1.0, random_state=3)
    model = make_clusterer("ward", 3, 0, n_samples=3000)
    model.set_params(max_rows=200)
    labels = model.fit_predict(points)
    # each true group maps to one segment and no segment holds two groups
    pairs = {(int(t), int(label)) for t, label in zip(truth, labels, strict=True)}
    assert len(pairs) == 3


def test_hdbscan_leaves_out_only_the_customers_hdbscan_leaves_out() -> None:
    # two dense blobs: HDBSCAN itself leaves nobody out; neither may the assignment rule
    points, _ = make_blobs(n_samples=8000, centers=[[0, 0], [10, 10]], cluster_std=1.0,
                           random_state=0)
    model = make_clusterer("hdbscan", None, 0, n_samples=len(points), min_cluster_size=15)
    labels = model.fit(points).labels_
    reference = HDBSCAN(min_cluster_size=15, copy=True).fit_predict(points)
    assert int((reference < 0).sum()) == 0
    assert int((labels < 0).sum()) == 0
    np.testing.assert_array_equal(labels, model.predict(points))


def test_hdbscan_assignment_is_the_hdbscan_package_approximate_prediction() -> None:
    rng = np.random.default_rng(4)
    points, _ = make_blobs(n_samples=1500, centers=4, n_features=3, cluster_std=1.5,
                           random_state=1)
    model = HDBSCANSegments(min_cluster_size=30).fit(points)
    reference = hdbscan.HDBSCAN(min_cluster_size=30, prediction_data=True).fit(points)
    np.testing.assert_array_equal(model.labels_, reference.labels_)
    new = points[rng.integers(0, len(points), 800)] + rng.normal(0, 1.5, (800, 3))
    expected, _ = hdbscan.approximate_predict(reference, new)
    np.testing.assert_array_equal(model.predict(new), expected)
    one_by_one = [model.tree_.predict_one(row) for row in new[:200]]
    np.testing.assert_array_equal(one_by_one, expected[:200])


def test_hdbscan_assigns_new_customers_near_a_segment_and_leaves_far_ones_out() -> None:
    rng = np.random.default_rng(0)
    points, _ = make_blobs(n_samples=1200, centers=[[0, 0], [8, 8]], cluster_std=0.8,
                           random_state=5)
    model = HDBSCANSegments(min_cluster_size=25).fit(points)
    members = np.flatnonzero(model.labels_ >= 0)
    chosen = rng.choice(members, 300, replace=False)
    nearby = points[chosen] + rng.normal(0, 0.05, (300, 2))
    assert (model.predict(nearby) == model.labels_[chosen]).mean() >= 0.99
    far = np.array([[40.0, -40.0], [-30.0, 30.0], [4.0, 60.0]])
    assert model.predict(far).tolist() == [-1, -1, -1]


def test_hdbscan_without_any_segment_leaves_everyone_unassigned() -> None:
    points = np.random.default_rng(2).uniform(size=(60, 2))
    model = HDBSCANSegments(min_cluster_size=50).fit(points)
    assert model.tree_.n_segments == 0
    assert model.cluster_centers_.shape == (0, 2)
    assert set(model.predict(points).tolist()) == {-1}


def test_nearest_center_matches_a_brute_force_argmin() -> None:
    rng = np.random.default_rng(1)
    points, centers = rng.normal(size=(5000, 6)), rng.normal(size=(7, 6))
    brute = ((points[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    np.testing.assert_array_equal(nearest_center(points, centers), brute)
    assert nearest_center(np.empty((0, 6)), centers).tolist() == []


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_every_algorithm_recovers_three_separated_groups(algorithm: str) -> None:
    points, truth = make_blobs(n_samples=450, centers=[[0, 0], [10, 0], [0, 10]],
                               cluster_std=1.0, random_state=2)
    model = make_clusterer(algorithm, 3, 0, n_samples=len(points), min_cluster_size=20)
    labels = np.asarray(model.fit(points).predict(points))
    assert adjusted_rand_score(truth[labels >= 0], labels[labels >= 0]) == 1.0
    assert (labels >= 0).mean() >= 0.97


def test_unknown_algorithm_and_missing_k_are_named() -> None:
    with pytest.raises(ValueError, match="algorithm='spectral' is not known"):
        make_clusterer("spectral", 3, 0, n_samples=10)
    with pytest.raises(ValueError, match="n_segments=None: algorithm='kmeans' needs"):
        make_clusterer("kmeans", None, 0, n_samples=10)
