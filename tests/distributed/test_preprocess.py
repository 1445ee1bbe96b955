"""Spark's preprocessing equals the scikit-learn pipeline the DuckDB engine fits, column for
column: the same log, scale, median, missing indicators and one-hot indicators."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession

from mallseg.app.segment import model_kinds
from mallseg.distributed.collect import collect_pandas
from mallseg.distributed.features import SparkFeatureBuild
from mallseg.distributed.preprocess import (
    CategoryEncoding,
    NumericScaling,
    fit_spark_preprocessing,
)
from mallseg.features.lenses import resolve_lens
from mallseg.segment.preprocess import CATEGORY_WEIGHT, build_preprocessor


def spark_and_sklearn(
    spark: SparkSession, frame: pd.DataFrame, features: list[str], kinds: dict[str, str]
) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    fitted = fit_spark_preprocessing(spark.createDataFrame(frame), features, kinds)
    out = collect_pandas(fitted.output_frame(spark.createDataFrame(frame))
                         .orderBy("customer_id"))
    reference = build_preprocessor(features, frame, kinds).fit(frame[features])
    expected = reference.transform(frame.sort_values("customer_id")[features])
    return (fitted.output_names, out[fitted.output_names].to_numpy(float),
            list(reference.get_feature_names_out()), expected)


def test_simulated_mall_preprocessing_matches_scikit_learn(
    spark: SparkSession, spark_sim_build: SparkFeatureBuild
) -> None:
    frame = spark_sim_build.to_pandas()
    # behavioural features (visit shares missing for customers without visits, money and
    # counts logged) plus the categorical ones
    features = [*resolve_lens("behavioural", frame.columns), "gender", "loyalty_tier",
                "favourite_zone", "recency_days", "frequency"]
    kinds = model_kinds(spark_sim_build.schema, features)
    fitted = fit_spark_preprocessing(spark_sim_build.frame, features, kinds)
    reference = build_preprocessor(features, frame, kinds).fit(frame[features])
    assert fitted.output_names == list(reference.get_feature_names_out())
    out = collect_pandas(fitted.output_frame(spark_sim_build.frame).orderBy("customer_id"))
    np.testing.assert_allclose(out[fitted.output_names].to_numpy(float),
                               reference.transform(frame[features]), atol=1e-9)
    indicators = [n for n in fitted.output_names if n.startswith("missingindicator_")]
    assert len(indicators) >= 5  # the visit shares are missing together: one shared unit


def test_hand_frame_with_flags_constants_and_shared_gaps(spark: SparkSession) -> None:
    frame = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(6)],
        "monetary_total": [-5.0, 0.0, 10.0, 100.0, None, 1000.0],  # money: clipped, logged
        "share_a": [0.1, None, 0.3, None, 0.5, 0.7],                # missing with share_b
        "share_b": [0.9, None, 0.7, None, 0.5, 0.3],
        "constant": [2.0] * 6,                                        # scale 1, not 0
        "vip": [True, False, None, True, True, False],               # boolean category
        "tier": ["gold", "silver", None, "gold", "bronze", "gold"],
    })
    features = ["monetary_total", "share_a", "share_b", "constant", "vip", "tier"]
    kinds = {"monetary_total": "money", "share_a": "share", "share_b": "share",
             "constant": "numeric", "vip": "categorical", "tier": "categorical"}
    names, ours, reference_names, expected = spark_and_sklearn(spark, frame, features, kinds)
    assert names == reference_names
    np.testing.assert_allclose(ours, expected, atol=1e-12)

    fitted = fit_spark_preprocessing(spark.createDataFrame(frame), features, kinds)
    by_feature = {e.feature: e for e in fitted.encodings}
    share_a, constant, vip = by_feature["share_a"], by_feature["constant"], by_feature["vip"]
    assert isinstance(share_a, NumericScaling) and isinstance(constant, NumericScaling)
    assert share_a.indicator_weight == pytest.approx(1 / math.sqrt(2))  # two share one gap
    assert constant.scale == 1.0 and constant.indicator_weight is None
    money = by_feature["monetary_total"]
    assert isinstance(money, NumericScaling)
    logged = np.log1p([0.0, 0.0, 10.0, 100.0, 1000.0])
    assert money.mean == pytest.approx(logged.mean())
    assert money.scale == pytest.approx(logged.std())
    assert isinstance(vip, CategoryEncoding)
    assert vip.categories == ("False", "True", "missing")
    row_of_c2 = dict(zip(names, ours[2], strict=True))
    assert row_of_c2["vip_missing"] == pytest.approx(CATEGORY_WEIGHT)
    assert row_of_c2["tier_missing"] == pytest.approx(CATEGORY_WEIGHT)
