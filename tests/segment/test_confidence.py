"""A confidence means what it says: checked against simulated truth.

Among customers shown a confidence near p, the share placed in their true segment (segments
matched to the truth with the Hungarian method) must be p, within 0.1, in every bin that
holds at least 5% of the customers; and the mean confidence must match the share placed
right.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_limits

from mallseg.datasets.simulate import simulate_mall
from mallseg.features.build import build_customer_features
from mallseg.segment.confidence import ColumnLayout, SegmentMixture
from mallseg.segment.explain import explain_customer
from mallseg.segment.segmenter import Segmenter

INPUT_TABLES = ("customers", "stores", "visits", "transactions", "campaigns", "exposures")


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    # these fits are small: on a shared machine, BLAS and OpenMP threads only wait
    with threadpool_limits(limits=1):
        yield


def placed_right(truth: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Whether each customer's segment is their true group, segments matched by Hungarian."""
    groups, truth_codes = np.unique(truth, return_inverse=True)
    assigned = labels >= 0
    overlap = np.zeros((int(labels.max()) + 1, len(groups)))
    np.add.at(overlap, (labels[assigned], truth_codes[assigned]), 1)
    segments, matched = linear_sum_assignment(-overlap)
    group_of = dict(zip(segments.tolist(), matched.tolist(), strict=True))
    return np.array([
        label >= 0 and group_of.get(int(label)) == code
        for label, code in zip(labels, truth_codes, strict=True)
    ])


def worst_bin_gap(confidence: np.ndarray, right: np.ndarray, min_share: float = 0.05) -> float:
    """Largest |share right - mean confidence| over 0.1-wide bins holding >= min_share."""
    bins = np.minimum((confidence * 10).astype(int), 9)
    gaps = [
        abs(right[bins == b].mean() - confidence[bins == b].mean())
        for b in range(10)
        if (bins == b).mean() >= min_share
    ]
    assert gaps, "no confidence bin is populated"
    return float(max(gaps))


@pytest.fixture(scope="module")
def overlapping_blobs() -> tuple[pd.DataFrame, np.ndarray]:
    # four groups on a square: nearest-centre segments are right about two times in three
    centers = np.array([[0.0, 0.0], [1.8, 0.0], [0.0, 1.8], [1.8, 1.8]])
    points, truth = make_blobs(n_samples=6000, centers=centers, cluster_std=1.0, random_state=0)
    return pd.DataFrame(points, columns=["a", "b"]), truth


@pytest.mark.parametrize("algorithm", ["kmeans", "ward", "gmm"])
def test_confidence_is_calibrated_on_overlapping_groups(
    algorithm: str, overlapping_blobs: tuple[pd.DataFrame, np.ndarray]
) -> None:
    frame, truth = overlapping_blobs
    segmenter = Segmenter(algorithm=algorithm, n_segments=4, random_state=0).fit(frame)
    right = placed_right(truth, segmenter.labels_)
    confidence = segmenter.confidence(frame)
    assert 0.6 <= right.mean() <= 0.72  # a hard case: a third of the customers misplaced
    assert abs(confidence.mean() - right.mean()) <= 0.05
    assert worst_bin_gap(confidence, right) <= 0.1
    # uncertain customers are told so: the misplaced ones get clearly less confidence
    assert confidence[~right].mean() < confidence[right].mean() - 0.1


@pytest.fixture(scope="module")
def simulated_mall() -> tuple[pd.DataFrame, np.ndarray]:
    with tempfile.TemporaryDirectory() as folder:
        simulate_mall(folder, customers=3000, days=90, seed=1, personas=6)
        connection = duckdb.connect()
        for table in INPUT_TABLES:
            source = Path(folder) / "inputs" / table / "*.parquet"
            connection.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{source}')")
        features = build_customer_features(connection, table_name=None)
        truth_file = Path(folder) / "truth" / "customer_personas" / "*.parquet"
        personas = connection.execute(
            f"SELECT customer_id, persona FROM read_parquet('{truth_file}')"
        ).df().set_index("customer_id")["persona"]
    return features, personas.reindex(features["customer_id"]).to_numpy()


@pytest.mark.parametrize("algorithm", ["kmeans", "ward"])
def test_confidence_is_calibrated_on_the_simulated_mall(
    algorithm: str, simulated_mall: tuple[pd.DataFrame, np.ndarray]
) -> None:
    features, personas = simulated_mall
    segmenter = Segmenter(features="behavioural", algorithm=algorithm, n_segments=6).fit(
        features
    )
    right = placed_right(personas, segmenter.labels_)
    confidence = segmenter.confidence(features)
    assert right.mean() >= 0.93  # the segments are the personas, but for a few customers
    assert abs(confidence.mean() - right.mean()) <= 0.035
    assert worst_bin_gap(confidence, right) <= 0.1
    # customers with too little history to place are flagged, not shown "1.00"
    assert confidence[~right].mean() <= 0.8
    assert confidence[right].mean() >= 0.97


@pytest.fixture(scope="module")
def mixed_customers() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 600
    group = rng.integers(0, 3, n)
    frame = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "age": rng.normal(25 + 20 * group, 6),
        "monetary_total": rng.lognormal(4 + group, 0.7),
        "gender": np.where(rng.uniform(size=n) < 0.3 + 0.2 * group, "female", "male"),
        "spending_score": rng.normal(30 + 20 * group, 12),
    })
    frame.loc[rng.uniform(size=n) < 0.15, "monetary_total"] = np.nan
    frame.loc[rng.uniform(size=n) < 0.05, "gender"] = None
    return frame


@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch_kmeans", "gmm", "ward", "hdbscan"])
def test_every_view_of_the_confidence_gives_the_same_number(
    algorithm: str, mixed_customers: pd.DataFrame
) -> None:
    features = ["age", "monetary_total", "gender", "spending_score"]
    segmenter = Segmenter(features=features, algorithm=algorithm, n_segments=3,
                          min_cluster_size=40).fit(mixed_customers)
    labels = segmenter.predict(mixed_customers)
    proba = segmenter.predict_proba(mixed_customers)
    confidence = segmenter.confidence(mixed_customers)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assigned = labels >= 0
    np.testing.assert_allclose(
        confidence[assigned], proba[np.flatnonzero(assigned), labels[assigned]], atol=1e-12
    )
    assert (confidence[~assigned] == 0.0).all()
    rows = mixed_customers.iloc[::40]
    for position, record in zip(range(0, len(mixed_customers), 40),
                                rows.to_dict("records"), strict=True):
        segment, shown = segmenter.assign_one(record)
        assert segment == labels[position]
        assert shown == pytest.approx(confidence[position], abs=1e-9)
        explanation = explain_customer(segmenter, record)
        assert explanation.segment == segment
        assert explanation.confidence == pytest.approx(shown, abs=1e-9)


def test_the_soft_segments_mostly_agree_with_the_hard_ones(mixed_customers: pd.DataFrame) -> None:
    segmenter = Segmenter(features=["age", "monetary_total", "gender", "spending_score"],
                          n_segments=3).fit(mixed_customers)
    proba = segmenter.predict_proba(mixed_customers)
    assert (proba.argmax(axis=1) == segmenter.labels_).mean() >= 0.9


def test_a_missing_value_is_left_out_of_the_gaussian_not_taken_as_the_median() -> None:
    rng = np.random.default_rng(0)
    values = np.vstack([rng.normal((0.0, 0.0), 1.0, (400, 2)), rng.normal((3.0, 3.0), 1.0,
                                                                          (400, 2))])
    labels = np.repeat([0, 1], 400)
    missing = rng.uniform(size=800) < 0.2
    # columns: a, b, b's missing indicator (b filled with 0 where missing)
    points = np.column_stack([values[:, 0], np.where(missing, 0.0, values[:, 1]), missing])
    layout = ColumnLayout(value_columns=(0, 1), indicator_columns=(-1, 2))
    mixture = SegmentMixture(layout).fit(points, labels, n_segments=2)
    row = np.array([[2.0, 0.0, 1.0]])  # b unknown
    # by hand: the Gaussian of column a alone, the weights, and P(b missing | segment)
    a_variance = mixture.covariances_[:, 0, 0]
    pattern = int(np.flatnonzero((mixture.patterns_ == [False, True]).all(axis=1))[0])
    by_hand = (
        np.log(mixture.weights_)
        - 0.5 * np.log(2 * np.pi * a_variance)
        - 0.5 * (2.0 - mixture.means_[:, 0]) ** 2 / a_variance
        + mixture.pattern_log_probs_[:, pattern]
    )
    expected = np.exp(by_hand - logsumexp(by_hand))
    np.testing.assert_allclose(mixture.predict_proba(row)[0], expected, atol=1e-12)
    np.testing.assert_allclose(mixture.predict_proba_one(row[0]), expected, atol=1e-12)
    # the filled-in 0 for b would have pulled this customer toward segment 0
    assert expected[1] > 0.5


def test_a_missingness_pattern_never_seen_when_fitting_is_still_scored() -> None:
    rng = np.random.default_rng(1)
    values = np.vstack([rng.normal(0.0, 1.0, (300, 2)), rng.normal(4.0, 1.0, (300, 2))])
    labels = np.repeat([0, 1], 300)
    missing_a = rng.uniform(size=600) < 0.1
    points = np.column_stack([np.where(missing_a, 0.0, values[:, 0]), values[:, 1], missing_a,
                              np.zeros(600)])
    layout = ColumnLayout(value_columns=(0, 1), indicator_columns=(2, 3))
    mixture = SegmentMixture(layout).fit(points, labels, n_segments=2)
    unseen = np.array([3.9, 0.0, 0.0, 1.0])  # b missing: no training row lacked b
    batch = mixture.predict_proba(unseen[None, :])[0]
    np.testing.assert_allclose(mixture.predict_proba_one(unseen), batch, atol=1e-12)
    assert batch[1] > 0.99  # decided by a = 3.9 alone


def test_the_mixture_is_fitted_on_a_sample_of_large_data() -> None:
    rng = np.random.default_rng(2)
    points = np.vstack([rng.normal(0.0, 1.0, (30_000, 3)), rng.normal(5.0, 1.0, (30_000, 3))])
    labels = np.repeat([0, 1], 30_000)
    mixture = SegmentMixture(ColumnLayout.numeric_only(3), max_rows=4000).fit(
        points, labels, n_segments=2
    )
    assert mixture.n_fit_rows_ == 4000
    np.testing.assert_allclose(mixture.means_, [[0.0] * 3, [5.0] * 3], atol=0.1)
    np.testing.assert_allclose(mixture.weights_, [0.5, 0.5], atol=0.03)


def test_hdbscan_customers_left_out_have_zero_confidence() -> None:
    points, _ = make_blobs(n_samples=500, centers=[[0, 0], [10, 10]], cluster_std=1.0,
                           random_state=2)
    frame = pd.DataFrame(points, columns=["x", "y"])
    segmenter = Segmenter(algorithm="hdbscan", n_segments=None, min_cluster_size=25).fit(frame)
    outlier = pd.DataFrame({"x": [40.0], "y": [-40.0]})
    assert segmenter.predict(outlier).tolist() == [-1]
    assert segmenter.confidence(outlier).tolist() == [0.0]
    assert segmenter.assign_one({"x": 40.0, "y": -40.0}) == (-1, 0.0)
    inside = segmenter.confidence(frame.iloc[:50])
    assert (inside > 0.99).all()  # two far-apart blobs: no doubt which one
