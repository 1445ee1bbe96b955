"""Common estimator checks, run for every segmentation algorithm."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from mallseg.datasets.samples import load_classic_customers
from mallseg.segment.algorithms import ALGORITHMS
from mallseg.segment.model_files import load_segmenter, save_segmenter
from mallseg.segment.segmenter import InvalidParameterError, Segmenter

MIXED = ["gender", "age", "annual_income", "spending_score"]


def mall_customers() -> pd.DataFrame:
    return load_classic_customers()


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return mall_customers()


def segmenter_for(algorithm: str, **params: Any) -> Segmenter:
    return Segmenter(features=MIXED, algorithm=algorithm, n_segments=5, random_state=0, **params)


@pytest.fixture(scope="module", params=sorted(ALGORITHMS))
def fitted(request: pytest.FixtureRequest, customers: pd.DataFrame) -> Segmenter:
    return segmenter_for(request.param).fit(customers)


def test_clone_gives_an_unfitted_estimator_with_equal_params(fitted: Segmenter) -> None:
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "labels_")
    with pytest.raises(NotFittedError):
        copy.predict(mall_customers())


def test_save_load_round_trip_gives_identical_predictions(
    fitted: Segmenter, customers: pd.DataFrame, tmp_path: Path
) -> None:
    path = save_segmenter(fitted, tmp_path / "model.skops", metadata={"lens": "mixed"})
    loaded, _record = load_segmenter(path, expected_features=MIXED)
    np.testing.assert_array_equal(loaded.predict(customers), fitted.predict(customers))
    np.testing.assert_allclose(loaded.predict_proba(customers), fitted.predict_proba(customers))
    record = customers.iloc[3].to_dict()
    assert loaded.assign_one(record) == fitted.assign_one(record)


def test_same_seed_gives_same_labels(fitted: Segmenter, customers: pd.DataFrame) -> None:
    again = clone(fitted).fit(customers)
    np.testing.assert_array_equal(again.labels_, fitted.labels_)
    np.testing.assert_allclose(again.centers_, fitted.centers_)


def test_column_order_does_not_matter(fitted: Segmenter, customers: pd.DataFrame) -> None:
    shuffled = customers[list(reversed(customers.columns))]
    np.testing.assert_array_equal(fitted.predict(shuffled), fitted.predict(customers))
    refitted = clone(fitted).fit(shuffled)
    np.testing.assert_array_equal(refitted.labels_, fitted.labels_)


def test_extra_columns_are_ignored(fitted: Segmenter, customers: pd.DataFrame) -> None:
    extended = customers.assign(loyalty_points=np.arange(len(customers)), note="x")
    np.testing.assert_array_equal(fitted.predict(extended), fitted.predict(customers))
    assert list(fitted.feature_names_in_) == MIXED


def test_fit_predict_equals_fit_then_predict(fitted: Segmenter, customers: pd.DataFrame) -> None:
    labels = clone(fitted).fit_predict(customers)
    np.testing.assert_array_equal(labels, clone(fitted).fit(customers).predict(customers))
    np.testing.assert_array_equal(labels, fitted.labels_)


def test_fitted_attributes_are_consistent(fitted: Segmenter, customers: pd.DataFrame) -> None:
    n_outputs = len(fitted.get_feature_names_out())
    assert n_outputs == 5  # gender one-hot (female, male) + three numeric
    assert fitted.centers_.shape == (fitted.n_segments_, n_outputs)
    assert fitted.transform(customers).shape == (len(customers), n_outputs)
    assert fitted.segment_sizes_.sum() + fitted.n_unassigned_ == len(customers)
    assert fitted.labels_.dtype.kind == "i"
    assert set(np.unique(fitted.labels_)) <= set(range(-1, fitted.n_segments_))


def test_soft_membership_matches_hard_assignment(
    fitted: Segmenter, customers: pd.DataFrame
) -> None:
    proba = fitted.predict_proba(customers)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    labels = fitted.predict(customers)
    confidence = fitted.confidence(customers)
    assert ((confidence >= 0) & (confidence <= 1)).all()
    assigned = labels >= 0
    np.testing.assert_allclose(
        confidence[assigned], proba[np.flatnonzero(assigned), labels[assigned]]
    )
    # the mixture behind the probabilities describes the same segments as the algorithm
    assert (proba.argmax(axis=1)[assigned] == labels[assigned]).mean() >= 0.8


def test_assign_one_equals_predict(fitted: Segmenter, customers: pd.DataFrame) -> None:
    records = customers.to_dict("records")
    assigned = [fitted.assign_one(record) for record in records]
    np.testing.assert_array_equal([a[0] for a in assigned], fitted.predict(customers))
    np.testing.assert_allclose([a[1] for a in assigned], fitted.confidence(customers), atol=1e-9)


def test_works_inside_a_pipeline(fitted: Segmenter, customers: pd.DataFrame) -> None:
    pipeline = Pipeline(
        [
            ("drop_ids", FunctionTransformer(lambda frame: frame.drop(columns="customer_id"))),
            ("segment", clone(fitted)),
        ]
    )
    labels = pipeline.fit_predict(customers)
    np.testing.assert_array_equal(labels, fitted.labels_)
    np.testing.assert_array_equal(pipeline.predict(customers), fitted.labels_)


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_predict_before_fit_raises_not_fitted(algorithm: str, customers: pd.DataFrame) -> None:
    segmenter = segmenter_for(algorithm)
    for method in (segmenter.predict, segmenter.transform, segmenter.predict_proba,
                   segmenter.confidence):
        with pytest.raises(NotFittedError):
            method(customers)
    with pytest.raises(NotFittedError):
        segmenter.assign_one({"age": 30})


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_fit_sample_size_fits_on_a_sample_and_labels_every_row(
    algorithm: str, customers: pd.DataFrame
) -> None:
    segmenter = segmenter_for(algorithm, fit_sample_size=120).fit(customers)
    assert len(segmenter.labels_) == len(customers)
    np.testing.assert_array_equal(segmenter.labels_, segmenter.predict(customers))
    again = segmenter_for(algorithm, fit_sample_size=120).fit(customers)
    np.testing.assert_array_equal(again.labels_, segmenter.labels_)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_segments": 300}, "n_segments=300 must be <= n_samples=200"),
        ({"n_segments": 0}, "n_segments=0 is invalid: expected an integer >= 1"),
        ({"n_segments": 2.5}, "n_segments=2.5 is invalid: expected an integer >= 1"),
        ({"n_segments": True}, "n_segments=True is invalid"),
        ({"n_segments": 50, "fit_sample_size": 20}, "n_segments=50 must be <= fit_sample_size=20"),
        ({"algorithm": "spectral"}, "algorithm='spectral' is not known"),
        ({"random_state": "seed"}, "random_state='seed' is invalid"),
        ({"fit_sample_size": 1}, "fit_sample_size=1 is invalid"),
        ({"features": ["age", "loyalty_points"]}, "lacks the feature column(s) ['loyalty_points']"),
        ({"features": "no_such_lens"}, "unknown lens 'no_such_lens'"),
        ({"features": []}, "features=[] is invalid"),
        ({"algorithm": "hdbscan", "min_cluster_size": 500}, "min_cluster_size=500 must be <="),
        ({"feature_kinds": {"age": "weird"}}, "feature_kinds has unknown kind(s) {'age': 'weird'}"),
        ({"feature_kinds": ["age"]}, "feature_kinds=['age'] is invalid"),
    ],
)
def test_bad_params_give_clear_errors(
    params: dict[str, object], message: str, customers: pd.DataFrame
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Segmenter(**params).fit(customers)  # type: ignore[arg-type]


def test_bad_input_gives_clear_errors(customers: pd.DataFrame) -> None:
    with pytest.raises(TypeError, match="X must be a pandas DataFrame"):
        Segmenter(features="classic", n_segments=2).fit(
            customers[["annual_income", "spending_score"]].to_numpy()
        )
    with pytest.raises(ValueError, match="'age' is numeric but its column has dtype"):
        Segmenter(features=["age"], n_segments=2).fit(customers.assign(age="old"))
    with pytest.raises(ValueError, match=r"'age' holds an infinite value \(row 0\)"):
        Segmenter(features=["age"], n_segments=2).fit(
            customers.assign(age=[np.inf] + [30.0] * 199)
        )
    with pytest.raises(ValueError, match="'age' has no value in any of the 200 rows"):
        Segmenter(features=["age", "annual_income"], n_segments=2).fit(
            customers.assign(age=np.nan)
        )
    fitted = Segmenter(features="classic", n_segments=2).fit(customers)
    with pytest.raises(ValueError, match=r"lacks the feature column\(s\) \['spending_score'\]"):
        fitted.predict(customers.drop(columns="spending_score"))
    with pytest.raises(TypeError, match="fitted on named columns"):
        Segmenter(n_segments=2).fit(customers).predict(customers[["age"]].to_numpy())


def test_a_numpy_array_is_segmented_like_a_frame_of_its_columns(customers: pd.DataFrame) -> None:
    matrix = customers[["age", "annual_income", "spending_score"]].to_numpy(dtype=float)
    from_array = Segmenter(n_segments=4).fit(matrix)
    named = pd.DataFrame(matrix, columns=["x0", "x1", "x2"])
    from_frame = Segmenter(n_segments=4).fit(named)
    np.testing.assert_array_equal(from_array.labels_, from_frame.labels_)
    np.testing.assert_array_equal(from_array.predict(matrix), from_frame.labels_)
    with pytest.raises(ValueError, match="X has 2 features, but Segmenter is expecting 3"):
        from_array.predict(matrix[:, :2])


def test_default_features_are_every_column_but_the_id(customers: pd.DataFrame) -> None:
    segmenter = Segmenter(n_segments=3).fit(customers.assign(email="a@b.c"))
    assert list(segmenter.feature_names_in_) == MIXED
    assert segmenter.feature_kinds_["gender"] == "categorical"


def test_classic_lens_agrees_with_plain_kmeans(customers: pd.DataFrame) -> None:
    plain = KMeans(n_clusters=5, n_init=10, random_state=0).fit_predict(
        customers[["annual_income", "spending_score"]].to_numpy()
    )
    for features in ("classic", ["annual_income", "spending_score"]):
        ours = Segmenter(features=features, n_segments=5).fit_predict(customers)
        assert adjusted_rand_score(plain, ours) >= 0.95


def test_minibatch_kmeans_recovers_blobs_at_scale() -> None:
    points, truth = make_blobs(n_samples=60_000, centers=6, n_features=4, cluster_std=1.0,
                               random_state=4)
    frame = pd.DataFrame(points, columns=[f"f{i}" for i in range(4)])
    segmenter = Segmenter(algorithm="minibatch_kmeans", n_segments=6).fit(frame)
    assert adjusted_rand_score(truth, segmenter.labels_) > 0.99


def test_bad_parameters_are_value_errors_and_type_errors(customers: pd.DataFrame) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        Segmenter(n_segments=2.5).fit(customers)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TypeError)


def test_feature_kinds_given_by_the_caller_win_over_catalog_and_dtype() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "mnt_wines": rng.lognormal(5, 1.2, 300),  # unknown to the catalog: money here
        "num_web_purchases": rng.poisson(4, 300),
        "age": rng.normal(45, 12, 300),  # the catalog says numeric; declared a count here
        "complained": rng.integers(0, 2, 300).astype(bool),  # bool: categorical by dtype
    })
    kinds = {"mnt_wines": "money", "num_web_purchases": "count", "age": "count",
             "complained": "flag", "not_used": "share"}
    segmenter = Segmenter(n_segments=3, feature_kinds=kinds).fit(frame)
    assert segmenter.feature_kinds_ == {"mnt_wines": "money", "num_web_purchases": "count",
                                        "age": "count", "complained": "flag"}
    matrix = segmenter.transform(frame)
    logged = np.log1p(frame["mnt_wines"].to_numpy())
    # held within the data's 0.5% and 99.5% quantiles (the 2nd and 299th of 300 values)
    ordered = np.sort(logged)
    logged = np.clip(logged, ordered[1], ordered[298])
    np.testing.assert_allclose(matrix[:, 0], (logged - logged.mean()) / logged.std())
    flag = frame["complained"].to_numpy(dtype=float)
    np.testing.assert_allclose(matrix[:, 3], (flag - flag.mean()) / flag.std())
    assert list(segmenter.get_feature_names_out()) == list(frame.columns)
    default = Segmenter(n_segments=3).fit(frame)
    assert default.feature_kinds_["mnt_wines"] == "numeric"
    assert default.feature_kinds_["complained"] == "categorical"


def test_a_flag_must_hold_zeros_and_ones() -> None:
    frame = pd.DataFrame({"vip": [0, 1, 2, 1], "age": [20, 30, 40, 50]})
    with pytest.raises(ValueError, match=r"'vip' is a flag \(0/1\) but holds 2.0"):
        Segmenter(n_segments=2, feature_kinds={"vip": "flag"}).fit(frame)


def test_segment_profiles_are_member_means_and_modes(customers: pd.DataFrame) -> None:
    segmenter = Segmenter(features=MIXED, n_segments=4).fit(customers)
    for segment in range(segmenter.n_segments_):
        members = customers[segmenter.labels_ == segment]
        profile = segmenter.segment_profile_[segment]
        assert profile["age"] == pytest.approx(members["age"].mean())
        assert profile["annual_income"] == pytest.approx(members["annual_income"].mean())
        counts = members["gender"].value_counts()
        assert profile["gender"] == sorted(counts[counts == counts.max()].index)[0]
    assert segmenter.population_profile_["age"] == pytest.approx(customers["age"].mean())


def test_hdbscan_leaves_far_outliers_unassigned() -> None:
    points, _ = make_blobs(n_samples=400, centers=[[0, 0], [10, 10]], cluster_std=1.0,
                           random_state=2)
    frame = pd.DataFrame(points, columns=["x", "y"])
    segmenter = Segmenter(algorithm="hdbscan", n_segments=None, min_cluster_size=20).fit(frame)
    assert segmenter.n_segments_ == 2
    outlier = pd.DataFrame({"x": [40.0], "y": [-40.0]})
    assert segmenter.predict(outlier).tolist() == [-1]
    assert segmenter.confidence(outlier).tolist() == [0.0]
    assert segmenter.assign_one({"x": 40.0, "y": -40.0}) == (-1, 0.0)
