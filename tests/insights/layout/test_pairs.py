"""Stores bought together: figures equal a direct count with Python sets, planted pairs rise."""

from __future__ import annotations

import itertools
from collections import Counter

import duckdb
import numpy as np
import pandas as pd
import pytest

from mallseg.features.sources import inspect_sources
from mallseg.insights.layout import analyse_layout, store_pairs
from mallseg.insights.layout.purchases import purchases_sql, stores_sql

ZONES = ("north", "south", "east", "west", "food_court")


def _stores(n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "store_id": [f"S{k:02d}" for k in range(n)],
        "name": [f"Store {k}" for k in range(n)],
        "category": ["apparel"] * n,
        "zone": [ZONES[k % len(ZONES)] for k in range(n)],
        "floor": [k % 3 for k in range(n)],
    })


def _baskets(seed: int, baskets: int, stores: int, planted: list[tuple[int, int]],
             planted_share: float) -> pd.DataFrame:
    """Random baskets of 1-3 stores (by a skewed popularity); some hold a planted pair."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, stores + 1) ** 0.7
    weights /= weights.sum()
    rows = []
    for b in range(baskets):
        customer = f"C{rng.integers(0, baskets // 3):05d}"
        k = int(rng.integers(1, 4))
        chosen = set(rng.choice(stores, size=k, replace=False, p=weights).tolist())
        if planted and rng.random() < planted_share:
            chosen |= set(planted[int(rng.integers(0, len(planted)))])
        day = pd.Timestamp("2026-03-01") + pd.Timedelta(days=int(rng.integers(0, 60)))
        for s in sorted(chosen):
            # Two receipts at one store in one basket must count once.
            for _ in range(1 + int(rng.random() < 0.2)):
                rows.append((customer, f"S{s:02d}", f"B{b:06d}", day, 12.0))
    return pd.DataFrame(rows, columns=["customer_id", "store_id", "basket_id",
                                       "purchased_at", "amount"])


def _connection(transactions: pd.DataFrame, stores: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE transactions AS SELECT * FROM transactions")
    con.execute("CREATE TABLE stores AS SELECT * FROM stores")
    return con


def _direct(units: dict[object, set[str]]) -> tuple[int, Counter[str], Counter[tuple[str, str]]]:
    singles: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for stores in units.values():
        singles.update(stores)
        pairs.update(itertools.combinations(sorted(stores), 2))
    return len(units), singles, pairs


def _pairs(con: duckdb.DuckDBPyConnection, unit: str, min_together: int):
    sources = inspect_sources(con)
    return store_pairs(con, purchases_sql(sources, None), stores_sql(sources), unit=unit,
                       min_together=min_together)


def test_support_confidence_and_lift_equal_a_direct_count_over_baskets() -> None:
    tx = _baskets(seed=1, baskets=600, stores=8, planted=[], planted_share=0.0)
    con = _connection(tx, _stores(8))
    result = _pairs(con, "basket", min_together=1)
    units = tx.groupby("basket_id")["store_id"].apply(set).to_dict()
    n, singles, together = _direct(units)
    assert result.unit == "basket"
    assert result.units == n
    assert result.multi_store_units == sum(len(s) > 1 for s in units.values())
    assert {(p.store_a, p.store_b) for p in result.pairs} == set(together)
    for p in result.pairs:
        both = together[(p.store_a, p.store_b)]
        assert p.together == both
        assert p.units_a == singles[p.store_a] and p.units_b == singles[p.store_b]
        assert p.support == pytest.approx(both / n, abs=1e-6)
        assert p.confidence_a_to_b == pytest.approx(both / singles[p.store_a], abs=1e-4)
        assert p.confidence_b_to_a == pytest.approx(both / singles[p.store_b], abs=1e-4)
        assert p.lift == pytest.approx(both * n / (singles[p.store_a] * singles[p.store_b]),
                                       abs=1e-4)
    lifts = [p.lift for p in result.pairs]
    assert lifts == sorted(lifts, reverse=True)


def test_day_unit_groups_a_customers_purchases_of_one_calendar_day() -> None:
    tx = _baskets(seed=2, baskets=400, stores=6, planted=[], planted_share=0.0)
    tx["basket_id"] = None
    con = _connection(tx, _stores(6))
    result = _pairs(con, "auto", min_together=1)
    units = tx.groupby(["customer_id", tx["purchased_at"].dt.date])["store_id"].apply(set)
    n, singles, together = _direct(units.to_dict())
    assert result.unit == "day"
    assert result.units == n
    pair = result.pair("S01", "S00")
    assert pair.together == together[("S00", "S01")]
    assert pair.lift == pytest.approx(
        together[("S00", "S01")] * n / (singles["S00"] * singles["S01"]), abs=1e-4)


def test_pairs_under_the_minimum_are_counted_not_listed() -> None:
    tx = _baskets(seed=3, baskets=300, stores=8, planted=[], planted_share=0.0)
    con = _connection(tx, _stores(8))
    units = tx.groupby("basket_id")["store_id"].apply(set).to_dict()
    _, _, together = _direct(units)
    result = _pairs(con, "basket", min_together=10)
    assert {(p.store_a, p.store_b) for p in result.pairs} == \
        {k for k, v in together.items() if v >= 10}
    assert result.pairs_below_minimum == sum(v < 10 for v in together.values())


def test_planted_co_visited_pairs_top_the_lift_ranking_and_say_where_they_sit() -> None:
    planted = [(3, 17), (9, 22)]
    tx = _baskets(seed=4, baskets=6000, stores=30, planted=planted, planted_share=0.06)
    con = _connection(tx, _stores(30))
    result = _pairs(con, "basket", min_together=30)
    top_two = {(p.store_a, p.store_b) for p in result.top(2)}
    assert top_two == {("S03", "S17"), ("S09", "S22")}
    pair = result.pair("S03", "S17")
    assert (pair.zone_a, pair.zone_b, pair.floor_a, pair.floor_b) == ("west", "east", 0, 2)
    assert pair.different_zone is True and pair.different_floor is True
    assert pair.lift > 3.0


def test_planted_pairs_in_distant_zones_become_cross_promotion_suggestions() -> None:
    planted = [(3, 17), (9, 22)]
    tx = _baskets(seed=5, baskets=6000, stores=30, planted=planted, planted_share=0.06)
    con = _connection(tx, _stores(30))
    result = analyse_layout(con, min_together=30)
    promos = [s for s in result.suggestions if s.kind == "cross_promotion"]
    assert {(s.figures["store_a"], s.figures["store_b"]) for s in promos[:2]} == \
        {("S03", "S17"), ("S09", "S22")}
    first = promos[0]
    pair = result.pairs.pair(first.figures["store_a"], first.figures["store_b"])
    # The sentence carries the numbers kept beside it.
    assert f"{pair.together:,} baskets" in first.text
    assert f"{pair.lift:.1f} times" in first.text
    assert first.figures["lift"] == pair.lift and first.figures["together"] == pair.together


def test_same_zone_and_floor_pairs_are_not_suggested_for_cross_promotion() -> None:
    # S00 and S15 share zone north and floor 0 (15 % 5 == 0, 15 % 3 == 0).
    tx = _baskets(seed=6, baskets=5000, stores=30, planted=[(0, 15)], planted_share=0.08)
    con = _connection(tx, _stores(30))
    result = analyse_layout(con, min_together=30)
    assert (result.pairs.pairs[0].store_a, result.pairs.pairs[0].store_b) == ("S00", "S15")
    assert result.pairs.pairs[0].distant is False
    promos = [(s.figures["store_a"], s.figures["store_b"]) for s in result.suggestions
              if s.kind == "cross_promotion"]
    assert ("S00", "S15") not in promos
