"""The same feature definitions give the same features on DuckDB and on Spark.

Two malls: a hand-made one whose every tricky value (returns, lines without a basket or a
store, sub-second times, weekend boundaries, a zone tie, holdouts, a customer without any
event) is worked out by hand below, and a simulated one with every table.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession

from mallseg.distributed.features import SparkFeatureBuild, build_spark_features
from mallseg.features.build import FeatureBuild, build_features

from .conftest import SIM_CUSTOMERS, duckdb_from_parquet

AS_OF = datetime(2024, 4, 10)


def _write(folder: Path, table: str, rows: list[dict[str, object]], **types: str) -> None:
    frame = pd.DataFrame(rows)
    for column, dtype in types.items():
        frame[column] = frame[column].astype(dtype)
    (folder / table).mkdir()
    frame.to_parquet(folder / table / "part-00000.parquet", index=False)


@pytest.fixture(scope="module")
def hand_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hand")
    ts = "datetime64[us]"
    _write(folder, "customers", [
        dict(customer_id="c1", gender="female", age=30, birth_year=None,
             signup_date=pd.Timestamp("2024-01-01").date()),
        dict(customer_id="c2", gender="male", age=None, birth_year=1984,
             signup_date=pd.Timestamp("2024-02-15").date()),
        dict(customer_id="c3", gender=None, age=51, birth_year=None,
             signup_date=pd.Timestamp("2024-03-01").date()),
        dict(customer_id="c4", gender="female", age=22, birth_year=None, signup_date=None),
    ], age="Int32", birth_year="Int32")
    _write(folder, "stores", [
        dict(store_id="s1", category="Apparel", zone="North"),
        dict(store_id="s2", category="Food & Drink", zone="South"),
        dict(store_id="s3", category="Cinema", zone="South"),
    ])
    lines = [
        ("c1", "s1", "2024-03-01 10:00", 100.0, "b1", None),
        ("c1", "s1", "2024-03-01 10:00", 50.0, "b1", None),
        ("c1", "s2", "2024-03-10 13:00", 30.0, "b2", None),
        ("c1", "s1", "2024-03-20 18:00", -40.0, "b3", None),
        ("c1", "s3", "2024-03-25 19:00", 20.0, None, None),
        ("c1", "s3", "2024-03-25 21:00", 10.0, None, None),
        ("c1", "s2", "2024-03-26 12:00", 10.0, None, None),
        ("c1", "s1", "2024-04-11 09:00", 999.0, "late", None),  # after as-of: ignored
        ("c2", "s2", "2024-04-01 09:00", 25.0, "b9", None),
        ("c2", None, "2024-04-02 20:00", 15.0, "b10", "Cinema"),
        ("c4", "s1", "2024-02-12 10:00", 20.0, "b20", None),
        ("c4", "s2", "2024-02-12 11:00", 20.0, "b21", None),
    ]
    _write(folder, "transactions", [
        dict(customer_id=c, store_id=s, purchased_at=t, amount=a, basket_id=b, category=k)
        for c, s, t, a, b, k in lines
    ], purchased_at=ts)
    visits = [
        ("c1", "2024-01-06 11:59:59.5", None, 30.0),           # Saturday morning
        ("c1", "2024-01-07 12:00:00", "2024-01-07 12:45:30.25", None),  # Sunday midday
        ("c1", "2024-01-08 18:00:00", None, None),             # Monday evening
        ("c1", "2024-04-09 14:59:00", None, 20.0),             # Tuesday midday
        ("c4", "2024-02-10 10:00:00", None, 60.0),             # Saturday
    ]
    _write(folder, "visits", [
        dict(customer_id=c, entered_at=e, left_at=left, dwell_minutes=d)
        for c, e, left, d in visits
    ], entered_at=ts, left_at=ts)
    _write(folder, "campaigns", [dict(campaign_id="k1"), dict(campaign_id="k2")])
    sent = "2024-03-01 09:00"
    _write(folder, "exposures", [
        dict(campaign_id="k1", customer_id="c1", sent_at=sent, is_holdout=False,
             responded=True, redeemed_at="2024-03-05 10:00"),
        dict(campaign_id="k2", customer_id="c1", sent_at=sent, is_holdout=True,
             responded=True, redeemed_at="2024-03-06 10:00"),
        dict(campaign_id="k1", customer_id="c2", sent_at=sent, is_holdout=False,
             responded=None, redeemed_at=None),
    ], sent_at=ts, redeemed_at=ts, is_holdout="boolean", responded="boolean")
    return folder


@pytest.fixture(scope="module")
def hand_builds(spark: SparkSession, hand_inputs: Path) -> tuple[FeatureBuild, pd.DataFrame]:
    # categories bought by fewer than 70% of the 3 categorised buyers (apparel, cinema: 2
    # each) are merged into spend_share_other; food & drink (3) keeps its own share
    duck = build_features(duckdb_from_parquet(hand_inputs), as_of=AS_OF,
                          min_category_share_customers=0.7)
    return duck, build_spark_features(spark, hand_inputs, as_of=AS_OF,
                                      min_category_share_customers=0.7).to_pandas()


def assert_same_features(duck: pd.DataFrame, spark: pd.DataFrame) -> None:
    assert list(spark.columns) == list(duck.columns)
    assert spark["customer_id"].tolist() == duck["customer_id"].tolist()
    for column in duck.columns:
        ours, theirs = duck[column], spark[column]
        if pd.api.types.is_numeric_dtype(ours):
            assert pd.api.types.is_numeric_dtype(theirs), column
            np.testing.assert_allclose(theirs.to_numpy(float), ours.to_numpy(float),
                                       rtol=1e-9, atol=1e-12, err_msg=column)
        else:
            assert theirs.isna().tolist() == ours.isna().tolist(), column
            assert theirs.dropna().tolist() == ours.dropna().tolist(), column


def test_hand_mall_features_agree_on_both_engines(
    hand_builds: tuple[FeatureBuild, pd.DataFrame],
) -> None:
    duck, spark = hand_builds
    assert_same_features(duck.frame, spark)


def test_hand_mall_features_are_the_hand_computed_ones(
    hand_builds: tuple[FeatureBuild, pd.DataFrame],
) -> None:
    _, spark = hand_builds
    row = spark.set_index("customer_id").to_dict(orient="index")
    c1, c2, c3, c4 = row["c1"], row["c2"], row["c3"], row["c4"]
    # occasions: basket b1, basket b2, (03-25, s3) twice in one, (03-26, s2); b3 is a return
    assert c1["frequency"] == 4
    assert c1["monetary_total"] == pytest.approx(180.0)
    assert c1["basket_mean"] == pytest.approx(45.0)
    assert c1["distinct_stores"] == 3
    assert c1["spend_share_food_drink"] == pytest.approx(40 / 220)
    assert c1["spend_share_other"] == pytest.approx((150 + 30) / 220)
    assert c1["favourite_zone"] == "North"
    assert c4["favourite_zone"] == "North"  # 20 in North, 20 in South: the first zone wins
    assert c2["spend_share_other"] == pytest.approx(15 / 40)  # the line's own category
    assert c1["recency_days"] == 15 and c2["recency_days"] == 8
    # never bought: from the first purchase day in the data (c4's) to the as-of day, + 1
    assert c3["recency_days"] == (AS_OF - datetime(2024, 2, 12)).days + 1
    assert c1["share_visits_weekend"] == pytest.approx(0.5)  # Saturday and Sunday of four
    assert c1["share_visits_morning"] == pytest.approx(0.25)  # 11:59:59.5 is morning
    assert c1["dwell_mean_minutes"] == pytest.approx((30 + 45 + 30.25 / 60 + 20) / 3)
    days = (datetime(2024, 4, 9, 14, 59) - datetime(2024, 1, 6, 11, 59, 59, 500_000))
    assert c1["days_between_visits_mean"] == pytest.approx(days.total_seconds() / 86400 / 3)
    assert c4["tenure_days"] == 60  # no sign-up date: from the first visit, 2024-02-10
    assert c2["age"] == 40  # from birth_year as of 2024
    assert c1["campaign_exposures"] == 1  # the holdout row is not an exposure
    assert c1["campaign_redemption_rate"] == pytest.approx(1.0)
    assert np.isnan(c2["campaign_response_rate"])  # response not recorded
    assert c3["campaign_exposures"] == 0 and c3["visits_per_month"] == 0


def test_simulated_mall_features_and_schema_agree(
    duckdb_sim_build: FeatureBuild, spark_sim_build: SparkFeatureBuild
) -> None:
    spark = spark_sim_build.to_pandas()
    assert len(spark) == SIM_CUSTOMERS
    assert_same_features(duckdb_sim_build.frame, spark)
    assert spark_sim_build.schema == duckdb_sim_build.schema
    assert {"favourite_zone", "repeat_visit_rate", "distinct_stores"} <= set(spark.columns)
    assert len([c for c in spark.columns if c.startswith("spend_share_")]) >= 5


def test_a_duckdb_schema_rebuilds_the_same_features_on_spark(
    spark: SparkSession, sim_inputs: Path, duckdb_sim_build: FeatureBuild
) -> None:
    rebuilt = build_spark_features(spark, sim_inputs, schema=duckdb_sim_build.schema)
    assert rebuilt.schema == duckdb_sim_build.schema
    assert_same_features(duckdb_sim_build.frame, rebuilt.to_pandas())
