from __future__ import annotations

from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from mallseg.features.build import build_customer_features, fetch_frame
from mallseg.features.catalog import describe_feature
from mallseg.workspace import Workspace

# The hand-built mall (conftest.mall): the latest event is c2's visit on 2024-04-10 18:00.
DAYS_JAN5_TO_APR10 = 96
DAYS_FEB15_TO_APR10 = 55
MONTH = 30.4375


@pytest.fixture
def features(mall: Workspace) -> pd.DataFrame:
    return build_customer_features(mall.connection).set_index("customer_id")


def test_one_row_per_customer_with_customer_id_first(mall: Workspace) -> None:
    frame = build_customer_features(mall.connection)
    assert frame.columns[0] == "customer_id"
    assert frame["customer_id"].tolist() == ["c1", "c2", "c3"]


def test_value_features_by_hand(features: pd.DataFrame) -> None:
    # c1: baskets b1, b2 (b3 is only a return) + day-store occasions (03-25, s3), (03-26, s2)
    assert features.loc["c1", "frequency"] == 4
    assert features.loc["c1", "monetary_total"] == pytest.approx(180.0)  # net of the -40 return
    assert features.loc["c1", "basket_mean"] == pytest.approx(45.0)
    assert features.loc["c1", "recency_days"] == 15  # last purchase 03-26, as of 04-10
    assert features.loc["c1", "distinct_stores"] == 3
    # c2: three baskets, one in an unknown store
    assert features.loc["c2", "frequency"] == 3
    assert features.loc["c2", "monetary_total"] == pytest.approx(50.0)
    assert features.loc["c2", "basket_mean"] == pytest.approx(50.0 / 3)
    assert features.loc["c2", "recency_days"] == 5
    assert features.loc["c2", "distinct_stores"] == 2


def test_non_buyer_gets_zero_counts_and_a_recency_beyond_every_buyer(
    features: pd.DataFrame,
) -> None:
    assert features.loc["c3", "frequency"] == 0
    assert features.loc["c3", "monetary_total"] == 0
    assert features.loc["c3", "distinct_stores"] == 0
    assert pd.isna(features.loc["c3", "basket_mean"])
    # one day more than the whole period: first transaction (03-01) to the as-of day, 40 days
    assert features.loc["c3", "recency_days"] == 41


def test_spend_shares_use_store_category_then_line_category(features: pd.DataFrame) -> None:
    shares = ["spend_share_apparel", "spend_share_cinema", "spend_share_food_drink"]
    assert [c for c in features.columns if c.startswith("spend_share_")] == shares
    assert features.loc["c1", shares].tolist() == pytest.approx([150 / 220, 30 / 220, 40 / 220])
    # t9 has no store: its own category (cinema); t10's store (cinema) wins over its line
    assert features.loc["c2", shares].tolist() == pytest.approx([0.0, 0.5, 0.5])
    assert features.loc[["c1", "c2"], shares].sum(axis=1).tolist() == pytest.approx([1.0, 1.0])
    assert features.loc["c3", shares].isna().all()


def test_favourite_zone_is_where_most_is_spent(features: pd.DataFrame) -> None:
    assert features.loc["c1", "favourite_zone"] == "North"  # 150 North vs 70 South
    assert features.loc["c2", "favourite_zone"] == "South"
    assert pd.isna(features.loc["c3", "favourite_zone"])


def test_time_bands_split_at_noon_three_and_six(features: pd.DataFrame) -> None:
    # c1 entered at 11:59, 12:00, 15:00, 18:00, 14:59
    assert features.loc["c1", "share_visits_morning"] == pytest.approx(1 / 5)
    assert features.loc["c1", "share_visits_midday"] == pytest.approx(2 / 5)
    assert features.loc["c1", "share_visits_afternoon"] == pytest.approx(1 / 5)
    assert features.loc["c1", "share_visits_evening"] == pytest.approx(1 / 5)
    assert features.loc["c2", "share_visits_evening"] == 1.0
    bands = [f"share_visits_{b}" for b in ("morning", "midday", "afternoon", "evening")]
    assert features.loc[["c1", "c2"], bands].sum(axis=1).tolist() == pytest.approx([1.0, 1.0])
    assert features.loc["c3", bands].isna().all()


def test_weekend_share_counts_saturday_and_sunday(features: pd.DataFrame) -> None:
    assert features.loc["c1", "share_visits_weekend"] == pytest.approx(1 / 5)  # Sat 01-06
    assert features.loc["c2", "share_visits_weekend"] == 0.0  # a Wednesday


def test_visit_rhythm_by_hand(features: pd.DataFrame) -> None:
    assert features.loc["c1", "dwell_mean_minutes"] == pytest.approx((30 + 60 + 90 + 20) / 4)
    assert features.loc["c1", "visits_per_month"] == pytest.approx(
        5 / (DAYS_JAN5_TO_APR10 / MONTH)
    )
    assert features.loc["c2", "visits_per_month"] == pytest.approx(
        1 / (DAYS_FEB15_TO_APR10 / MONTH)
    )
    assert features.loc["c3", "visits_per_month"] == 0
    gaps_days = (datetime(2024, 4, 9, 14, 59) - datetime(2024, 1, 5, 11, 59)).total_seconds()
    assert features.loc["c1", "days_between_visits_mean"] == pytest.approx(gaps_days / 86400 / 4)
    assert pd.isna(features.loc["c2", "days_between_visits_mean"])


def test_repeat_visit_rate_leaves_out_undecided_recent_visits(features: pd.DataFrame) -> None:
    # c1: v1 -> v2 1 day (yes), v2 -> v3 45 days (no), v3 -> v4 10 days (yes),
    # v4 -> v5 39 days (no), v5 one day before the as-of time (undecided)
    assert features.loc["c1", "repeat_visit_rate"] == pytest.approx(2 / 4)
    assert pd.isna(features.loc["c2", "repeat_visit_rate"])  # only visit is undecided


def test_campaign_rates_ignore_holdouts(features: pd.DataFrame) -> None:
    assert features.loc["c1", "campaign_exposures"] == 2
    assert features.loc["c1", "campaign_response_rate"] == pytest.approx(0.5)
    assert features.loc["c1", "campaign_redemption_rate"] == pytest.approx(0.5)
    assert features.loc["c2", "campaign_exposures"] == 0  # held out only
    assert pd.isna(features.loc["c2", "campaign_response_rate"])
    assert pd.isna(features.loc["c2", "campaign_redemption_rate"])
    assert features.loc["c3", "campaign_exposures"] == 1
    assert pd.isna(features.loc["c3", "campaign_response_rate"])  # response not recorded
    assert features.loc["c3", "campaign_redemption_rate"] == 0.0


def test_demographics_and_tenure(features: pd.DataFrame) -> None:
    assert features.loc["c1", ["age", "gender", "loyalty_tier"]].tolist() == [30, "female", "gold"]
    assert features.loc["c1", "tenure_days"] == 100  # 01-01 -> 04-10
    assert features.loc["c2", "tenure_days"] == DAYS_FEB15_TO_APR10
    assert pd.isna(features.loc["c2", "family_size"])
    assert pd.isna(features.loc["c3", "tenure_days"])  # no sign-up date and no event


def test_every_output_column_is_in_the_catalog(features: pd.DataFrame) -> None:
    for name in features.columns:
        assert describe_feature(name).name == name


def test_as_of_ignores_later_events(mall: Workspace) -> None:
    frame = build_customer_features(mall.connection, as_of=datetime(2024, 3, 15)).set_index(
        "customer_id"
    )
    assert frame.loc["c1", "frequency"] == 2  # b1 and b2 only
    assert frame.loc["c1", "monetary_total"] == pytest.approx(180.0)
    assert frame.loc["c1", "recency_days"] == 5
    assert frame.loc["c2", "frequency"] == 0
    assert frame.loc["c2", "recency_days"] == 15  # the period since the first purchase + 1
    assert frame.loc["c1", "tenure_days"] == 74


def test_default_as_of_is_reproducible(mall: Workspace) -> None:
    first = build_customer_features(mall.connection)
    again = build_customer_features(mall.connection)
    pd.testing.assert_frame_equal(first, again)


def test_rare_categories_merge_into_other(mall: Workspace) -> None:
    frame = build_customer_features(
        mall.connection, min_category_share_customers=0.6
    ).set_index("customer_id")
    shares = [c for c in frame.columns if c.startswith("spend_share_")]
    # apparel: 1 of 2 customers with categorised purchases < 0.6
    assert shares == ["spend_share_cinema", "spend_share_food_drink", "spend_share_other"]
    assert frame.loc["c1", "spend_share_other"] == pytest.approx(150 / 220)
    assert frame.loc["c2", "spend_share_other"] == 0.0


def test_materialised_table_equals_returned_frame(mall: Workspace) -> None:
    frame = build_customer_features(mall.connection, table_name="features_now")
    stored = fetch_frame(mall.connection, "SELECT * FROM features_now ORDER BY customer_id")
    pd.testing.assert_frame_equal(frame, stored)
    temp = mall.connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'mallseg_feature_stage%'"
    ).fetchone()
    assert temp == (0,)


def test_no_table_name_stores_nothing(mall: Workspace) -> None:
    build_customer_features(mall.connection, table_name=None)
    names = {r[0] for r in mall.connection.execute("SHOW TABLES").fetchall()}
    assert "customer_features" not in names


def test_customers_only_gives_demographics(workspace: Workspace, insert_rows: Any) -> None:
    insert_rows(workspace.connection, "customers", [
        dict(customer_id="a", gender="male", age=20, annual_income=10.0, spending_score=5,
             family_size=2, loyalty_tier="bronze", signup_date="2024-01-01"),
        dict(customer_id="b", gender="female", age=60, annual_income=90.0, spending_score=95,
             family_size=4, loyalty_tier="gold", signup_date="2024-01-31"),
    ])
    frame = build_customer_features(workspace.connection)
    assert list(frame.columns) == [
        "customer_id", "age", "gender", "annual_income", "spending_score", "family_size",
        "loyalty_tier", "tenure_days",
    ]
    assert frame["tenure_days"].tolist() == [30, 0]  # as of the latest sign-up day


def test_classic_sample_gives_its_four_features(workspace: Workspace) -> None:
    sample = resources.files("mallseg.datasets.samples") / "mall_customers.csv"
    con = workspace.connection
    con.execute(
        "INSERT INTO customers (customer_id, gender, age, annual_income, spending_score) "
        "SELECT CAST(CustomerID AS VARCHAR), lower(Genre), Age, \"Annual Income (k$)\", "
        "\"Spending Score (1-100)\" FROM read_csv(?)",
        [str(sample)],
    )
    frame = build_customer_features(con)
    assert len(frame) == 200
    assert list(frame.columns) == [
        "customer_id", "age", "gender", "annual_income", "spending_score",
    ]
    assert set(frame["gender"]) == {"female", "male"}


def test_plain_connection_with_partial_tables(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "plain.duckdb"))
    con.execute("CREATE TABLE customers (customer_id VARCHAR, age INTEGER)")
    con.execute("INSERT INTO customers VALUES ('x', 33), ('y', 44)")
    con.execute("CREATE TABLE transactions (customer_id VARCHAR, purchased_at VARCHAR, "
                "amount DOUBLE)")  # timestamps stored as text are cast
    con.execute("INSERT INTO transactions VALUES ('x', '2024-05-01 10:00', 12.5), "
                "('x', '2024-05-01 16:00', 7.5), ('x', '2024-05-03 10:00', 5)")
    con.execute("CREATE TABLE visits (customer_id VARCHAR, entered_at TIMESTAMP)")  # empty
    frame = build_customer_features(con).set_index("customer_id")
    assert list(frame.columns) == [
        "age", "tenure_days", "recency_days", "frequency", "monetary_total", "basket_mean",
    ]  # no store_id anywhere: no distinct_stores
    # no basket, no store: one occasion per day
    assert frame.loc["x", "frequency"] == 2
    assert frame.loc["x", "basket_mean"] == pytest.approx(12.5)
    assert frame.loc["y", "recency_days"] == 3
    assert frame.loc["x", "tenure_days"] == 2  # first seen at its first purchase
    assert pd.isna(frame.loc["y", "tenure_days"])


def test_missing_customers_is_an_error() -> None:
    with pytest.raises(ValueError, match="customers missing"):
        build_customer_features(duckdb.connect())


def test_refuses_to_overwrite_a_workspace_table(mall: Workspace) -> None:
    with pytest.raises(ValueError, match="table_name='customers'"):
        build_customer_features(mall.connection, table_name="customers")


def test_category_share_threshold_is_validated(mall: Workspace) -> None:
    with pytest.raises(ValueError, match=r"min_category_share_customers=1\.5"):
        build_customer_features(mall.connection, min_category_share_customers=1.5)


def test_a_non_buyer_who_just_signed_up_is_less_recent_than_any_buyer() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE customers (customer_id VARCHAR, signup_date DATE)")
    con.execute("INSERT INTO customers VALUES ('buyer', '2023-01-01'), ('new', '2024-03-29')")
    con.execute("CREATE TABLE transactions (customer_id VARCHAR, purchased_at TIMESTAMP, "
                "amount DOUBLE)")
    con.execute("INSERT INTO transactions VALUES ('buyer', '2024-01-01', 10), "
                "('buyer', '2024-02-29', 10)")
    frame = build_customer_features(con, as_of=datetime(2024, 3, 31), table_name=None)
    recency = frame.set_index("customer_id")["recency_days"]
    assert recency["buyer"] == 31
    assert recency["new"] == 91  # 2024-01-01 to 2024-03-31 is 90 days, plus one
