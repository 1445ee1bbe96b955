from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mallseg.segment.preprocess import (
    CATEGORY_WEIGHT,
    build_preprocessor,
    describe_preprocessing,
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


def test_missing_values_are_imputed() -> None:
    frame = pd.DataFrame({"age": [20.0, np.nan, 40.0, 60.0],
                          "gender": ["female", None, "male", "male"]})
    preprocessor = build_preprocessor(["age", "gender"]).fit(frame)
    matrix = preprocessor.transform(frame)
    assert not np.isnan(matrix).any()
    scaler_input = np.array([20.0, 40.0, 40.0, 60.0])  # median 40 filled in
    np.testing.assert_allclose(matrix[:, 0], standardised(scaler_input))
    assert "gender_missing" in list(preprocessor.get_feature_names_out())


def test_nullable_integer_columns_are_read_as_numbers() -> None:
    frame = pd.DataFrame({"age": pd.array([20, None, 40], dtype="Int64")})
    matrix = build_preprocessor(["age"]).fit_transform(frame)
    np.testing.assert_allclose(matrix[:, 0], [-1.224744871391589, 0.0, 1.224744871391589])


def test_unseen_category_at_predict_time_does_not_crash() -> None:
    frame = pd.DataFrame({"gender": ["female", "male"] * 10, "age": np.arange(20, 40)})
    preprocessor = build_preprocessor(["gender", "age"]).fit(frame)
    unseen = pd.DataFrame({"gender": ["other"], "age": [25]})
    assert preprocessor.transform(unseen)[0, :2].tolist() == [0.0, 0.0]
    segmenter = Segmenter(features=["gender", "age"], n_segments=2).fit(frame)
    assert segmenter.predict(unseen)[0] in (0, 1)
    assert segmenter.assign_one({"gender": "other", "age": 25})[0] == segmenter.predict(unseen)[0]


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


def test_kinds_come_from_catalog_then_explicit_then_dtype() -> None:
    frame = pd.DataFrame({"region": ["n", "s"], "visits_app": [1.0, 2.0], "vip": [True, False]})
    kinds = resolve_feature_kinds(
        ["monetary_total", "region", "visits_app", "vip", "age"], frame, {"age": "count"}
    )
    assert kinds == {"monetary_total": "money", "region": "categorical",
                     "visits_app": "numeric", "vip": "categorical", "age": "count"}
    with pytest.raises(ValueError, match=r"kinds\['age'\]='weird' is not a feature kind"):
        resolve_feature_kinds(["age"], kinds={"age": "weird"})
    with pytest.raises(ValueError, match="features is empty"):
        build_preprocessor([])


def test_description_records_every_fitted_parameter() -> None:
    frame = pd.DataFrame({"monetary_total": [0.0, np.e - 1], "gender": ["f", "m"]})
    kinds = resolve_feature_kinds(["monetary_total", "gender"])
    described = describe_preprocessing(build_preprocessor(list(kinds)).fit(frame), kinds)
    assert described["monetary_total"]["kind"] == "money"
    assert described["monetary_total"]["mean"] == pytest.approx(0.5)
    assert described["monetary_total"]["scale"] == pytest.approx(0.5)
    assert described["gender"]["categories"] == ["f", "m"]
