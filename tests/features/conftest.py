from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

from mallseg.workspace import Workspace


def _insert_rows(
    connection: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert dict rows; canonical columns a row does not name stay NULL."""
    for row in rows:
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        connection.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(row.values()))


InsertRows = Callable[[duckdb.DuckDBPyConnection, str, Sequence[Mapping[str, Any]]], None]


@pytest.fixture
def insert_rows() -> InsertRows:
    return _insert_rows


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace.open(tmp_path / "ws") as ws:
        yield ws


@pytest.fixture
def mall(workspace: Workspace) -> Workspace:
    """Three customers whose every feature can be worked out by hand (see test_build.py)."""
    con = workspace.connection
    _insert_rows(con, "customers", [
        dict(customer_id="c1", gender="female", age=30, annual_income=50.0, spending_score=60,
             family_size=3, loyalty_tier="gold", signup_date="2024-01-01"),
        dict(customer_id="c2", gender="male", age=40, annual_income=80.0, spending_score=20,
             loyalty_tier="silver", signup_date="2024-02-15"),
        dict(customer_id="c3", gender="female", age=25, annual_income=30.0, spending_score=90,
             family_size=1),
    ])
    _insert_rows(con, "stores", [
        dict(store_id="s1", name="Threads", category="Apparel", zone="North"),
        dict(store_id="s2", name="Bites", category="Food & Drink", zone="South"),
        dict(store_id="s3", name="Screens", category="Cinema", zone="South"),
    ])
    tx = [
        ("t1", "c1", "s1", "2024-03-01 10:00", 100.0, "b1", None),
        ("t2", "c1", "s1", "2024-03-01 10:00", 50.0, "b1", None),
        ("t3", "c1", "s2", "2024-03-10 13:00", 30.0, "b2", None),
        ("t4", "c1", "s1", "2024-03-20 18:00", -40.0, "b3", None),
        ("t5", "c1", "s3", "2024-03-25 19:00", 20.0, None, None),
        ("t6", "c1", "s3", "2024-03-25 21:00", 10.0, None, None),
        ("t7", "c1", "s2", "2024-03-26 12:00", 10.0, None, None),
        ("t8", "c2", "s2", "2024-04-01 09:00", 25.0, "b9", None),
        ("t9", "c2", None, "2024-04-02 20:00", 15.0, "b10", "Cinema"),
        ("t10", "c2", "s3", "2024-04-05 11:00", 10.0, "b11", "Food & Drink"),
    ]
    _insert_rows(con, "transactions", [
        dict(transaction_id=t, customer_id=c, store_id=s, purchased_at=at, amount=a,
             basket_id=b, category=cat)
        for t, c, s, at, a, b, cat in tx
    ])
    visits = [
        ("v1", "c1", "2024-01-05 11:59", None, 30.0),
        ("v2", "c1", "2024-01-06 12:00", None, 60.0),
        ("v3", "c1", "2024-02-20 15:00", "2024-02-20 16:30", None),
        ("v4", "c1", "2024-03-01 18:00", None, None),
        ("v5", "c1", "2024-04-09 14:59", None, 20.0),
        ("v6", "c2", "2024-04-10 18:00", None, 45.0),
    ]
    _insert_rows(con, "visits", [
        dict(visit_id=v, customer_id=c, entered_at=e, left_at=left, dwell_minutes=d)
        for v, c, e, left, d in visits
    ])
    _insert_rows(con, "campaigns", [dict(campaign_id=k) for k in ("k1", "k2", "k3")])
    sent = "2024-03-01 09:00"
    _insert_rows(con, "exposures", [
        dict(campaign_id="k1", customer_id="c1", sent_at=sent, is_holdout=False,
             responded=True, redeemed_at="2024-03-05 10:00"),
        dict(campaign_id="k2", customer_id="c1", sent_at=sent, is_holdout=False,
             responded=False),
        dict(campaign_id="k3", customer_id="c1", sent_at=sent, is_holdout=True,
             responded=True, redeemed_at="2024-03-06 10:00"),
        dict(campaign_id="k1", customer_id="c2", sent_at=sent, is_holdout=True,
             responded=True),
        dict(campaign_id="k2", customer_id="c3", sent_at=sent, is_holdout=False),
    ])
    return workspace
