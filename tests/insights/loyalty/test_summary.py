"""The (x, t_x, T) summary in SQL: worked out by hand, and against pandas on random events."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd
import pytest

from mallseg.insights.loyalty.summary import summarise_events

AS_OF = date(2024, 1, 15)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE transactions (customer_id VARCHAR, purchased_at TIMESTAMP, "
                "amount DOUBLE, basket_id VARCHAR)")
    rows = [
        ("a", "2024-01-01 10:00", 10.0), ("a", "2024-01-01 16:00", 5.0),  # one day: 15
        ("a", "2024-01-08 12:00", 30.0), ("a", "2024-01-08 13:00", -8.0),  # a return
        ("a", "2024-01-20 09:00", 20.0),                                   # holdout
        ("a", "2024-01-25 10:00", 4.0), ("a", "2024-01-25 11:00", 6.0),    # holdout, one day
        ("a", "2024-03-01 10:00", 99.0),                                   # after the holdout
        ("b", "2024-01-10 09:00", 20.0), ("b", "2024-01-10 18:00", 0.0),   # 0 is no purchase
        ("c", "2024-01-16 09:00", 50.0),                                   # first after as_of
        (None, "2024-01-05 09:00", 70.0),                                  # no customer
        ("e", "2024-01-03 09:00", -5.0),                                   # only a return
        ("f", "2024-01-02 09:00", 12.0), ("f", "2024-01-05 09:00", 7.0),
        ("f", "2024-01-14 23:59:59", 3.0), ("f", "2024-01-15 00:00:00", 8.0),  # at as_of
    ]
    con.executemany("INSERT INTO transactions (customer_id, purchased_at, amount) "
                    "VALUES (?, ?, ?)", rows)
    return con


def test_purchases_by_hand(con: duckdb.DuckDBPyConnection) -> None:
    summary = summarise_events(con, "transactions", as_of=AS_OF, holdout_days=14)
    frame = summary.customers.set_index("customer_id")
    assert frame.index.tolist() == ["a", "b", "f"]
    assert frame.loc["a", ["frequency", "recency", "T", "spend", "monetary_value",
                           "holdout_frequency", "holdout_spend"]].tolist() == [
        1, 7.0, 14.0, 45.0, 30.0, 2, 30.0]
    b = frame.loc["b"]
    assert (b["frequency"], b["recency"], b["T"], b["spend"]) == (0, 0.0, 5.0, 20.0)
    assert np.isnan(b["monetary_value"])
    assert (b["holdout_frequency"], b["holdout_spend"]) == (0, 0.0)
    # four purchase days, the last exactly at as_of: x = 3, t_x = T = 13, m = (7+3+8)/3
    assert frame.loc["f", ["frequency", "recency", "T", "monetary_value"]].tolist() == [
        3, 13.0, 13.0, 6.0]
    assert summary.holdout_end == datetime(2024, 1, 29)
    assert summary.holdout_days == 14.0


def test_weeks_divide_times_by_seven(con: duckdb.DuckDBPyConnection) -> None:
    frame = summarise_events(con, "transactions", as_of=AS_OF, unit="weeks").customers
    a = frame.set_index("customer_id").loc["a"]
    assert (a["recency"], a["T"]) == pytest.approx((1.0, 2.0))
    assert "holdout_frequency" not in frame


def test_default_as_of_is_the_latest_purchase(con: duckdb.DuckDBPyConnection) -> None:
    summary = summarise_events(con, "transactions")
    assert summary.as_of == datetime(2024, 3, 1, 10, 0)
    c = summary.customers.set_index("customer_id").loc["c"]
    assert c["T"] == pytest.approx((datetime(2024, 3, 1, 10) - datetime(2024, 1, 16)).days
                                   + 10 / 24)


def test_visits_have_no_spend(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE visits (customer_id VARCHAR, entered_at TIMESTAMP)")
    con.execute("INSERT INTO visits VALUES ('a', '2024-01-01 10:00'), ('a', '2024-01-01 15:00'),"
                " ('a', '2024-01-11 10:00'), ('z', '2024-01-14 10:00'), ('z', '2024-01-16 10:00')")
    frame = summarise_events(con, "visits", as_of=AS_OF, holdout_days=7).customers
    assert frame.columns.tolist() == ["customer_id", "frequency", "recency", "T",
                                      "holdout_frequency"]
    assert frame.values.tolist() == [["a", 1, 10.0, 14.0, 0], ["z", 0, 0.0, 1.0, 1]]


def test_same_numbers_as_pandas_on_random_events() -> None:
    rng = np.random.default_rng(4)
    n = 20_000
    events = pd.DataFrame({
        "customer_id": [f"c{i:03d}" for i in rng.integers(0, 400, n)],
        "purchased_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(
            rng.integers(0, 200 * 86_400, n), unit="s"),
        "amount": np.round(rng.lognormal(3, 1, n), 2) * np.where(rng.random(n) < 0.05, -1, 1),
    })
    con = duckdb.connect()
    con.execute("CREATE TABLE transactions AS SELECT * FROM events")
    as_of = datetime(2024, 5, 1)
    got = summarise_events(con, "transactions", as_of=as_of, holdout_days=30).customers

    buys = events[events["amount"] > 0].assign(day=lambda f: f["purchased_at"].dt.floor("D"))
    before = buys[buys["purchased_at"] <= as_of]
    daily = before.groupby(["customer_id", "day"])["amount"].sum().reset_index()
    per = daily.groupby("customer_id")
    first = per["day"].min()
    first_spend = daily.sort_values("day").groupby("customer_id")["amount"].first()
    expected = pd.DataFrame({
        "frequency": per.size() - 1,
        "recency": (per["day"].max() - first).dt.days.astype(float),
        "T": (pd.Timestamp(as_of) - first).dt.total_seconds() / 86_400,
        "spend": per["amount"].sum(),
    })
    expected["monetary_value"] = (
        (expected["spend"] - first_spend) / expected["frequency"].replace(0, np.nan)
    )
    later = buys[(buys["purchased_at"] > as_of)
                 & (buys["purchased_at"] <= pd.Timestamp(as_of) + pd.Timedelta(days=30))]
    expected["holdout_frequency"] = later.groupby("customer_id")["day"].nunique().reindex(
        expected.index, fill_value=0)
    got = got.set_index("customer_id")
    assert got.index.tolist() == expected.index.tolist()
    for column in expected.columns:
        np.testing.assert_allclose(got[column].to_numpy(float), expected[column].to_numpy(float),
                                   rtol=1e-9, atol=1e-9, err_msg=column)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": "receipts"}, "source='receipts' must be one of"),
        ({"unit": "months"}, "unit='months' must be one of"),
        ({"holdout_days": 30}, "holdout_days needs as_of"),
        ({"as_of": AS_OF, "holdout_days": -1}, "holdout_days=-1 must be a positive"),
        ({"source": "visits"}, "Required table visits missing or empty: ingest visits first"),
        ({"as_of": date(2023, 12, 1)}, "no transactions at or before 2023-12-01 00:00"),
    ],
)
def test_bad_requests_say_what_to_do(
    con: duckdb.DuckDBPyConnection, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        summarise_events(con, **kwargs)  # type: ignore[arg-type]
