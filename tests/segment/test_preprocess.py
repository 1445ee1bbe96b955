from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mallseg.segment.preprocess import (
    CATEGORY_WEIGHT,
    build_preprocessor,
    describe_preprocessing,
    missing_indicator_weights,
    output_slices,
    resolve_feature_kinds,
)
from mallseg.segment.segmenter import Segmenter


def standardised(values: object) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return (array - array.mean()) / array.std()


def test_money_and_count_features_are_log_transformed_then_scaled() -> None:
    frame = pd.DataFrame({"monetary_total": [10.0, 100.0, 1000.0, 10000.0],
                          "frequency": [1, 3, 7, 50], "age": [20, 30, 40, 80]})
    matrix = build_preprocessor(list(frame.columns)).fit_transform(frame)
    np.testing.assert_allclose(matrix[:, 0], standardised(np.log1p(frame["monetary_total"])))
    np.testing.assert_allclose(matrix[:, 1], standardised(np.log1p(frame["frequency"])))
    np.testing.assert_allclose(matrix[:, 2], standardised(frame["age"].to_numpy(float)))


def test_negative_money_counts_as_zero() -> None:
    frame = pd.DataFrame({"basket_mean": [-50.0, 0.0, 20.0]})
    matrix = build_preprocessor(["basket_mean"]).fit_transform(frame)
    assert matrix[0, 0] == matrix[1, 0]


def test_categorical_features_are_one_hot_and_weighted() -> None:
    frame = pd.DataFrame({"gender": ["female", "male", "female"], "age": [20, 30, 40]})
    preprocessor = build_preprocessor(["gender", "age"]).fit(frame)
    assert list(preprocessor.get_feature_names_out()) == ["gender_female", "gender_male", "age"]
    block = preprocessor.transform(frame)[:, :2]
    np.testing.assert_allclose(block, np.array([[1, 0], [0, 1], [1, 0]]) * CATEGORY_WEIGHT)
    # two customers in different categories are as far apart as one standard deviation
    assert ((block[0] - block[1]) ** 2).sum() == pytest.approx(1.0)


def test_a_missing_value_is_the_median_plus_a_missing_indicator() -> None:
    frame = pd.DataFrame({"age": [20.0, np.nan, 30.0, 60.0],
                          "gender": ["female", None, "male", "male"]})
    preprocessor = build_preprocessor(["age", "gender"], frame).fit(frame)
    matrix = preprocessor.transform(frame)
    assert list(preprocessor.get_feature_names_out()) == [
        "age", "missingindicator_age", "gender_female", "gender_male", "gender_missing"]
    # scaled with the mean and spread of the present values 20, 30, 60
    present = np.array([20.0, 30.0, 60.0])
    mean, spread = present.mean(), present.std()
    np.testing.assert_allclose(matrix[:, 0], (np.array([20.0, 30.0, 30.0, 60.0]) - mean) / spread)
    # the filled-in value is the median, 30; the indicator says it was missing
    assert matrix[:, 1].tolist() == [0.0, 1.0, 0.0, 0.0]
    # missing vs present is one standard deviation: squared distance 1 from the indicator
    assert (matrix[1, :2] - matrix[2, :2]) @ (matrix[1, :2] - matrix[2, :2]) == pytest.approx(1.0)


def test_no_indicator_for_a_feature_without_missing_values_at_fit_time() -> None:
    frame = pd.DataFrame({"age": [20.0, 30.0, 40.0]})
    preprocessor = build_preprocessor(["age"], frame).fit(frame)
    assert list(preprocessor.get_feature_names_out()) == ["age"]
    assert preprocessor.transform(pd.DataFrame({"age": [np.nan]})).tolist() == [[0.0]]


def test_features_missing_together_share_one_unit_of_indicator_weight() -> None:
    # a customer without purchases lacks every spend share at once: one fact, not four
    rng = np.random.default_rng(0)
    no_purchases = rng.uniform(size=200) < 0.25
    shares = rng.dirichlet(np.ones(4), size=200)
    frame = pd.DataFrame(
        np.where(no_purchases[:, None], np.nan, shares),
        columns=[f"spend_share_{c}" for c in ("food", "apparel", "cinema", "home")],
    ).assign(age=np.where(rng.uniform(size=200) < 0.1, np.nan, rng.normal(40, 10, 200)))
    features = list(frame.columns)
    preprocessor = build_preprocessor(features, frame).fit(frame)
    matrix = preprocessor.transform(frame)
    names = list(preprocessor.get_feature_names_out())
    share_flags = [names.index(f"missingindicator_{f}") for f in features[:4]]
    age_flag = names.index("missingindicator_age")
    assert matrix[no_purchases][:, share_flags] == pytest.approx(0.5)  # 1 / sqrt(4)
    assert (matrix[no_purchases][:, share_flags] ** 2).sum(axis=1) == pytest.approx(1.0)
    assert set(matrix[:, age_flag].tolist()) == {0.0, 1.0}
    weights = missing_indicator_weights(frame, features)
    assert weights == pytest.approx({**dict.fromkeys(features[:4], 0.5), "age": 1.0})


def test_nullable_integer_columns_are_read_as_numbers() -> None:
    frame = pd.DataFrame({"age": pd.array([20, None, 40], dtype="Int64")})
    matrix = build_preprocessor(["age"]).fit_transform(frame)
    np.testing.assert_allclose(matrix, [[-1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])


def test_an_unseen_category_leaves_the_other_features_to_decide() -> None:
    # gender alternates, so it carries nothing; the two segments are the young and the old
    frame = pd.DataFrame({"gender": ["female", "male"] * 10, "age": np.arange(20, 40)})
    preprocessor = build_preprocessor(["gender", "age"]).fit(frame)
    unseen = pd.DataFrame({"gender": ["other", "other"], "age": [21, 38]})
    assert preprocessor.transform(unseen)[0, :2].tolist() == [0.0, 0.0]
    segmenter = Segmenter(features=["gender", "age"], n_segments=2).fit(frame)
    young, old = int(segmenter.labels_[0]), int(segmenter.labels_[-1])
    assert young != old
    assert segmenter.predict(unseen).tolist() == [young, old]
    assert segmenter.assign_one({"gender": "other", "age": 21})[0] == young
    assert segmenter.assign_one({"gender": "other", "age": 38})[0] == old


def test_output_is_dense_float64_in_feature_order() -> None:
    frame = pd.DataFrame({"age": [1, 2, 3], "loyalty_tier": ["gold", "silver", "gold"],
                          "share_visits_weekend": [0.1, 0.5, 0.9]})
    preprocessor = build_preprocessor(["share_visits_weekend", "loyalty_tier", "age"]).fit(frame)
    matrix = preprocessor.transform(frame)
    assert isinstance(matrix, np.ndarray) and matrix.dtype == np.float64
    assert output_slices(preprocessor) == {
        "share_visits_weekend": slice(0, 1),
        "loyalty_tier": slice(1, 3),
        "age": slice(3, 4),
    }


def test_kinds_come_from_explicit_then_catalog_then_dtype() -> None:
    frame = pd.DataFrame({"region": ["n", "s"], "visits_app": [1.0, 2.0], "vip": [True, False],
                          "vip2": [True, False]})
    kinds = resolve_feature_kinds(
        ["monetary_total", "region", "visits_app", "vip", "age", "vip2"], frame,
        {"age": "count", "vip2": "flag", "unused": "money"},
    )
    assert kinds == {"monetary_total": "money", "region": "categorical",
                     "visits_app": "numeric", "vip": "categorical", "age": "count",
                     "vip2": "flag"}
    with pytest.raises(ValueError, match=r"kinds\['age'\]='weird' is not a feature kind"):
        resolve_feature_kinds(["age"], kinds={"age": "weird"})
    with pytest.raises(ValueError, match="features is empty"):
        build_preprocessor([])


def test_description_records_every_fitted_parameter() -> None:
    frame = pd.DataFrame({"monetary_total": [0.0, np.e - 1, np.nan], "gender": ["f", "m", "f"],
                          "age": [30.0, 40.0, 50.0]})
    kinds = resolve_feature_kinds(["monetary_total", "gender", "age"])
    described = describe_preprocessing(build_preprocessor(list(kinds), frame).fit(frame), kinds)
    money = described["monetary_total"]
    assert money["kind"] == "money"
    assert money["mean"] == pytest.approx(0.5)  # log1p of 0 and e - 1: 0 and 1
    assert money["scale"] == pytest.approx(0.5)
    assert money["impute_value"] == pytest.approx(0.5)  # the median, in log units
    assert money["missing_indicator"] is True and money["missing_indicator_weight"] == 1.0
    assert money["clip"] == [0.0, 1.0]  # under 200 customers: the data's own extremes
    assert money["steps"] == [
        "log1p of values clipped at 0", "held within the 0.5%-99.5% quantiles",
        "standard scaling",
        "median imputation plus a missing indicator (weight 1: missing vs present counts "
        "like one standard deviation)"]
    assert described["age"]["missing_indicator"] is False
    assert described["age"]["steps"][-1] == "median imputation"
    assert described["gender"]["categories"] == ["f", "m"]


@pytest.mark.parametrize("kind", ["numeric", "money", "share"])
def test_compiled_vectorise_reproduces_the_pipeline_exactly(kind: str) -> None:
    rng = np.random.default_rng(1)
    tiers = np.array(["gold", "silver", None], dtype=object)
    frame = pd.DataFrame({
        "a": rng.lognormal(3, 1, 300), "b": rng.lognormal(2, 1, 300),
        "c": rng.uniform(size=300), "tier": rng.choice(tiers, size=300),
    })
    frame.loc[rng.uniform(size=300) < 0.2, ["a", "b"]] = np.nan  # missing together
    frame.loc[rng.uniform(size=300) < 0.1, "c"] = np.nan
    kinds = {"a": kind, "b": kind, "c": kind}
    segmenter = Segmenter(n_segments=3, feature_kinds=kinds).fit(frame)
    matrix = segmenter.transform(frame)
    compiled = np.vstack([segmenter.assigner_.vectorise(r) for r in frame.to_dict("records")])
    np.testing.assert_array_equal(compiled, matrix)


def test_a_few_extreme_customers_are_held_at_the_edge_of_the_bulk() -> None:
    incomes = np.r_[np.linspace(20, 120, 999), 666_666.0]
    frame = pd.DataFrame({"annual_income": incomes})
    pre = build_preprocessor(["annual_income"], frame).fit(frame)
    z = pre.transform(frame)[:, 0]
    # the outlier sits where the 99.5% quantile does, not 600 standard deviations out
    assert z.max() == pytest.approx(z[994], abs=1e-12)
    assert z.max() < 2.0
    assert described_clip(pre) == pytest.approx([incomes[4], incomes[994]])  # 5th of 1,000


def described_clip(pre: object) -> list[float]:
    kinds = resolve_feature_kinds(["annual_income"])
    return describe_preprocessing(pre, kinds)["annual_income"]["clip"]  # type: ignore[arg-type]
