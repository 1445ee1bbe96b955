"""Affinity lift, the minimum-count rule, heat maps, peaks and category gaps, by hand."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from mallseg.insights.layout import analyse_layout, find_category_gaps, segment_view
from mallseg.insights.layout.hours import best_window


@pytest.fixture()
def small_mall() -> duckdb.DuckDBPyConnection:
    """Two segments, three stores in two categories, visits at known hours."""
    con = duckdb.connect()
    con.execute("""CREATE TABLE stores AS SELECT * FROM (VALUES
        ('S1', 'Nova Shoes', 'shoes', 'north', 0), ('S2', 'Fern Cafe', 'cafe', 'food_court', 1),
        ('S3', 'Pine Shoes', 'shoes', 'east', 2)) t(store_id, name, category, zone, floor)""")
    # Segment A: 40 customers, 30 spend 10 at S1, 10 spend 10 at S2.
    # Segment B: 40 customers, 10 spend 10 at S1, 30 spend 10 at S2, 2 spend 10 at S3.
    rows = []
    for i in range(40):
        rows.append((f"a{i}", "S1" if i < 30 else "S2"))
        rows.append((f"b{i}", "S1" if i < 10 else "S2"))
    rows += [("b0", "S3"), ("b1", "S3")]
    tx = pd.DataFrame(rows, columns=["customer_id", "store_id"])
    tx["amount"] = 10.0
    tx["purchased_at"] = pd.Timestamp("2026-02-02 10:00")
    tx["basket_id"] = [f"B{k}" for k in range(len(tx))]
    con.execute("CREATE TABLE transactions AS SELECT * FROM tx")
    # Visits: segment A on Saturdays 18-21h, segment B on Mondays 9-12h, 3 per customer.
    visits = []
    for i in range(40):
        for k in range(3):
            visits.append((f"a{i}", "north", pd.Timestamp("2026-02-07 18:00")
                           + pd.Timedelta(hours=k)))
            visits.append((f"b{i}", "food_court", pd.Timestamp("2026-02-09 09:00")
                           + pd.Timedelta(hours=k)))
    con.register("visit_rows", pd.DataFrame(visits, columns=["customer_id", "zone",
                                                             "entered_at"]))
    con.execute("CREATE TABLE visits AS SELECT * FROM visit_rows")
    return con


def _segments() -> pd.DataFrame:
    ids = [f"a{i}" for i in range(40)] + [f"b{i}" for i in range(40)]
    return pd.DataFrame({"customer_id": ids, "segment_id": [0] * 40 + [1] * 40,
                         "segment_name": ["A"] * 40 + ["B"] * 40})


def test_store_and_category_lift_equal_the_hand_computation(small_mall) -> None:
    result = analyse_layout(small_mall, _segments(), min_customers=5)
    stores = result.store_affinity
    # Total spend 820: S1 400, S2 400, S3 20. Segment A spends 400: 300 at S1.
    a_s1 = stores.cell("A", "S1")
    assert (a_s1.value, a_s1.customers, a_s1.label) == (300.0, 30, "Nova Shoes")
    assert a_s1.segment_share == pytest.approx(0.75)
    assert a_s1.population_share == pytest.approx(round(400 / 820, 4))
    assert a_s1.lift == pytest.approx(round(0.75 / (400 / 820), 4))
    # Category shoes: A 300 of 400, everyone 420 of 820.
    shoes = result.category_affinity.cell("A", "shoes")
    assert shoes.lift == pytest.approx(round(0.75 / (420 / 820), 4))


def test_cells_under_the_minimum_are_marked_and_their_numbers_withheld(small_mall) -> None:
    result = analyse_layout(small_mall, _segments(), min_customers=5)
    cell = result.store_affinity.cell("B", "S3")
    assert (cell.status, cell.customers) == ("too_few", 2)
    assert (cell.value, cell.segment_share, cell.population_share, cell.lift) == \
        (None, None, None, None)
    assert result.store_affinity.cell("B", "S2").status == "ok"
    # Receipts as the measure: same counts here, one receipt per 10 spent.
    receipts = analyse_layout(small_mall, _segments(), min_customers=5, measure="receipts")
    assert receipts.store_affinity.cell("A", "S1").value == 30.0


def test_zone_affinity_and_heat_maps_count_visits_by_weekday_and_hour(small_mall) -> None:
    result = analyse_layout(small_mall, _segments(), min_customers=5, min_events=50)
    zone = result.zone_affinity.cell("A", "north")
    assert (zone.value, zone.segment_share, zone.lift) == (120.0, 1.0, 2.0)
    heat = result.activity.segment("A")
    grid = heat.grid()
    assert grid.sum() == 120 and grid[5, 18] == grid[5, 19] == grid[5, 20] == 40
    assert heat.peak_slot.label == "Saturday 18:00-21:00"
    assert (heat.peak_hours.start_hour, heat.peak_hours.share,
            heat.peak_hours.population_share, heat.peak_hours.lift) == (18, 1.0, 0.5, 2.0)
    assert heat.busiest_day == 6 and heat.customers == 40
    b = result.activity.segment("B")
    assert b.peak_slot.label == "Monday 09:00-12:00"
    zones = {z.group: z.total for z in result.activity.zones}
    assert zones == {"north": 120, "food_court": 120}


def test_peak_hours_suggestions_quote_the_numbers_they_keep(small_mall) -> None:
    result = analyse_layout(small_mall, _segments(), min_customers=5, min_events=50)
    peaks = {s.segment: s for s in result.suggestions if s.kind == "peak_hours"}
    assert set(peaks) == {"A", "B"}
    a = peaks["A"]
    assert a.text.startswith("A: 100% of its visits start 18:00-21:00 (all customers: 50%)")
    assert a.figures["peak_slot"]["label"] == "Saturday 18:00-21:00"
    json.dumps(result.to_dict())


def test_groups_with_too_few_visits_get_no_peaks(small_mall) -> None:
    result = analyse_layout(small_mall, _segments(), min_customers=5, min_events=500)
    assert result.activity.segment("A").peak_hours is None
    assert not [s for s in result.suggestions if s.kind == "peak_hours"]


def test_best_window_does_not_wrap_past_midnight() -> None:
    grid = np.zeros((7, 24), dtype=int)
    grid[2, 23] = 5
    grid[3, 0] = 5
    grid[1, 10] = 6
    best = best_window(grid, grid, 2, pooled=False)
    assert (best.weekday, best.start_hour, best.share) == (2, 9, round(6 / 16, 4))


def test_category_gap_against_the_segments_most_like_it() -> None:
    frame = pd.DataFrame({
        "segment": ["A"] * 3 + ["B"] * 3 + ["C"] * 3 + ["D"] * 3,
        "category": ["beauty", "shoes", "cafe"] * 4,
        "spend": [20.0, 580.0, 400.0,    # A: little beauty
                  200.0, 450.0, 350.0,   # B: like A otherwise
                  150.0, 450.0, 400.0,   # C: like A otherwise
                  0.0, 0.0, 1000.0],     # D: a cafe-only segment, unlike A
        "customers": [4, 90, 80, 50, 90, 80, 40, 90, 80, 0, 0, 100]})
    sizes = {"A": 100, "B": 100, "C": 100, "D": 100}
    gaps = find_category_gaps(frame, sizes, neighbours=2, min_customers=50)
    a = [g for g in gaps if g.segment == "A"]
    assert len(a) == 1
    gap = a[0]
    assert gap.category == "beauty" and set(gap.neighbours) == {"B", "C"}
    assert gap.own_share == 0.02 and gap.reference_share == 0.175
    assert gap.gap_spend == pytest.approx((0.175 - 0.02) * 1000)
    assert gap.own_penetration == 0.04 and gap.reference_penetration == 0.45
    # D shares less than half its mix with anyone: it is compared with no one.
    assert not [g for g in gaps if g.segment == "D"]


def test_small_segments_are_not_compared() -> None:
    frame = pd.DataFrame({"segment": ["A", "B"], "category": ["beauty", "beauty"],
                          "spend": [1.0, 100.0], "customers": [1, 40]})
    assert find_category_gaps(frame, {"A": 10, "B": 40}, min_customers=30) == []


def test_segments_arrive_as_frame_series_or_relation_and_bad_ones_are_named() -> None:
    con = duckdb.connect()
    series = pd.Series(["x", "y"], index=pd.Index(["c1", "c2"], name="customer_id"))
    with segment_view(con, series) as view:
        assert con.execute(f"SELECT * FROM {view} ORDER BY 1").fetchall() == \
            [("c1", "x"), ("c2", "y")]
    rel = con.sql("SELECT 'c3' AS customer_id, 'Families' AS segment_name, 4 AS segment_id")
    with segment_view(con, rel) as view:
        assert con.execute(f"SELECT * FROM {view}").fetchall() == [("c3", "Families")]
    with pytest.raises(ValueError, match="required column customer_id missing"), \
            segment_view(con, pd.DataFrame({"id": ["c1"], "segment": ["a"]})):
        pass
    with pytest.raises(ValueError, match="'c1' has no segment"), \
            segment_view(con, pd.DataFrame({"customer_id": ["c1"], "segment": [None]})):
        pass


def test_customers_outside_the_segments_are_left_out_with_a_note(small_mall) -> None:
    segments = _segments().iloc[:70]   # b30..b39 have no segment
    result = analyse_layout(small_mall, segments, min_customers=5)
    assert any("10 transactions rows of customers without a segment" in n
               for n in result.notes)
    assert result.store_affinity.cell("B", "S2").customers == 20


def test_nothing_to_analyse_says_what_is_needed() -> None:
    result = analyse_layout(duckdb.connect())
    assert result.message.startswith("No purchases or visits: layout insights need")
    with pytest.raises(ValueError, match="min_customers=0 must be an integer >= 1"):
        analyse_layout(duckdb.connect(), min_customers=0)
