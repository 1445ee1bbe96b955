"""Feature schemas repeat a build exactly; customer attributes become features."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from mallseg.features.build import build_features
from mallseg.features.schema import FeatureSchema
from mallseg.workspace import Workspace


def marketing_like(folder: Path) -> Workspace:
    """A customers table shaped like the marketing-campaign export, attributes by hand."""
    ws = Workspace.open(folder)
    con = ws.connection
    con.execute("INSERT INTO customers (customer_id, birth_year, annual_income, signup_date) "
                "VALUES ('1', 1957, 58.1, '2012-09-04'), ('2', 1954, 46.3, '2014-03-08'), "
                "('3', 1985, 26.6, '2014-02-10')")
    rows = [
        ("1", "mnt_wines", 635.0, None), ("1", "mnt_meat", 546.0, None),
        ("2", "mnt_wines", 11.0, None), ("2", "mnt_meat", 6.0, None),
        ("1", "education", None, "Graduation"), ("2", "education", None, "PhD"),
        ("1", "kidhome", 0.0, None), ("2", "kidhome", 1.0, None), ("3", "kidhome", 1.0, None),
        ("1", "num_web_purchases", 8.0, None), ("1", "num_store_purchases", 4.0, None),
        ("2", "num_web_purchases", 1.0, None), ("2", "num_store_purchases", 2.0, None),
        ("3", "frequency", 9.0, None),
    ]
    con.executemany("INSERT INTO customer_attributes VALUES (?, ?, ?, ?, 'i1')", rows)
    catalog = [
        ("mnt_wines", "number", "money", "spend", "wines", "MntWines: spend on wines"),
        ("mnt_meat", "number", "money", "spend", "meat", "MntMeatProducts: spend on meat"),
        ("education", "category", "categorical", None, None, "Education"),
        ("kidhome", "number", "count", None, None, "Kidhome: children at home"),
        ("num_web_purchases", "number", "count", "purchases", "web", "Web purchases"),
        ("num_store_purchases", "number", "count", "purchases", "store", "Store purchases"),
        ("frequency", "number", "numeric", None, None, "Frequency from the file"),
    ]
    con.executemany(
        "INSERT INTO attribute_catalog VALUES (?, 'customers', ?, ?, ?, ?, ?, ?, 'i1', NULL)",
        [(a, a, t, k, f, m, meaning) for a, t, k, f, m, meaning in catalog],
    )
    return ws


def test_attributes_are_features_and_wide_spend_gives_value_features(tmp_path: Path) -> None:
    with marketing_like(tmp_path / "ws") as ws:
        build = build_features(ws.connection)
    frame = build.frame.set_index("customer_id")
    assert frame.loc["1", "mnt_wines"] == 635.0
    assert frame.loc["2", "education"] == "PhD"
    assert frame.loc["3", "kidhome"] == 1.0
    # no transactions: the spend columns stand for them
    assert frame.loc["1", "monetary_total"] == pytest.approx(1181.0)
    assert frame.loc["1", "spend_share_wines"] == pytest.approx(635 / 1181)
    assert pd.isna(frame.loc["3", "monetary_total"])  # no spend column at all
    assert frame.loc["2", "purchases_total"] == pytest.approx(3.0)
    assert frame.loc["2", "purchase_share_web"] == pytest.approx(1 / 3)
    # a file column named like a built-in feature keeps its value under another name
    assert frame.loc["3", "attr_frequency"] == 9.0 and "frequency" not in frame
    # ages as of the data (latest sign-up 2014-03-08), not of today
    assert build.schema.as_of == datetime(2014, 3, 8)
    assert frame.loc["1", "age"] == 2014 - 1957
    schema = build.schema
    assert schema.kinds["mnt_wines"] == "money" and schema.kinds["education"] == "categorical"
    assert schema.kinds["spend_share_wines"] == "share"
    assert schema.meanings["mnt_wines"] == "MntWines: spend on wines"
    assert "mnt_wines" in schema.meanings["monetary_total"]


def test_a_schema_rebuilds_the_same_features_for_a_few_customers(tmp_path: Path) -> None:
    from mallseg.data.ingest import find_table_sources, ingest_file
    from mallseg.datasets.simulate import simulate_mall

    simulate_mall(tmp_path / "mall", customers=300, days=60, seed=3)
    with Workspace.open(tmp_path / "ws") as ws:
        for table, path in find_table_sources(tmp_path / "mall" / "inputs").items():
            ingest_file(ws, table, path)
        full = build_features(ws.connection)
        schema = FeatureSchema.from_dict(full.schema.to_dict())
        some = full.frame["customer_id"].sample(25, random_state=1).tolist()
        partial = build_features(ws.connection, schema=schema, customer_ids=some)
    expected = full.frame.set_index("customer_id").loc[sorted(some)]
    got = partial.frame.set_index("customer_id")
    assert list(got.columns) == list(expected.columns)
    for column in expected.columns:
        left, right = expected[column], got[column]
        if pd.api.types.is_numeric_dtype(left):
            np.testing.assert_allclose(right.astype(float), left.astype(float), rtol=1e-9,
                                       equal_nan=True, err_msg=column)
        else:
            assert right.tolist() == left.tolist(), column
    assert partial.schema.fingerprint() == full.schema.fingerprint()


def test_places_are_called_what_the_source_calls_them() -> None:
    con = duckdb.connect()
    ws_like = [
        "CREATE TABLE customers (customer_id VARCHAR)",
        "INSERT INTO customers VALUES ('c1')",
        "CREATE TABLE transactions (customer_id VARCHAR, store_id VARCHAR, "
        "purchased_at TIMESTAMP, amount DOUBLE)",
        "INSERT INTO transactions VALUES ('c1', 'Kanyon', '2022-05-08', 1500.4)",
        "CREATE TABLE ingest_log (table_name VARCHAR, status VARCHAR, finished_at TIMESTAMP, "
        "column_mapping VARCHAR)",
        "INSERT INTO ingest_log VALUES ('transactions', 'complete', '2022-06-01', "
        "'{\"store_id\": \"shopping_mall\"}')",
    ]
    for sql in ws_like:
        con.execute(sql)
    schema = build_features(con).schema
    assert schema.vocabulary == {"place": "mall"}
    assert schema.meanings["distinct_stores"] == "Distinct malls bought from"


def test_a_window_ignores_events_before_its_start() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE customers (customer_id VARCHAR)")
    con.execute("INSERT INTO customers VALUES ('a')")
    con.execute("CREATE TABLE transactions (customer_id VARCHAR, purchased_at TIMESTAMP, "
                "amount DOUBLE, basket_id VARCHAR)")
    con.execute("INSERT INTO transactions VALUES ('a', '2024-01-10', 100, 'r1'), "
                "('a', '2024-02-10', 30, 'r2'), ('a', '2024-03-10', 20, 'r3')")
    whole = build_features(con).frame.iloc[0]
    window = build_features(con, since=datetime(2024, 2, 1)).frame.iloc[0]
    assert (whole["frequency"], whole["monetary_total"]) == (3, 150.0)
    assert (window["frequency"], window["monetary_total"]) == (2, 50.0)
