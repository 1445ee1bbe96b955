"""Live use cases in process: placing equals explaining, events move a customer, rules hold."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mallseg.app.live import CustomerNotFoundError, FeatureValueError, LiveModel, customer_segment
from mallseg.app.live_events import EventsRejectedError, record_events
from mallseg.segment.coverage import NOT_ENOUGH_DATA
from mallseg.segment.explain import explain_customer
from mallseg.workspace import Workspace

VALUE_FEATURES = ["recency_days", "frequency", "monetary_total", "basket_mean"]


def _record(row: pd.Series) -> dict[str, object]:
    return {f: None if isinstance(row[f], float) and math.isnan(row[f]) else row[f]
            for f in VALUE_FEATURES}


def test_placing_a_customer_gives_what_the_explanation_gives(mall: Any) -> None:
    with Workspace.open(mall.folder, read_only=True) as ws:
        model = LiveModel.load(ws)
    assert model.run_id == mall.run_id
    for _, row in mall.features.iloc[::15].iterrows():
        expected = explain_customer(model.artifacts.segmenter, row.to_frame().T[VALUE_FEATURES]
                                    .astype("float64"))
        placed = model.place(_record(row), top=len(VALUE_FEATURES))
        assert (placed.segment_id, placed.runner_up, placed.segment_size) == (
            expected.segment, expected.runner_up, expected.segment_size)
        assert placed.confidence == pytest.approx(expected.confidence, abs=1e-9)
        assert placed.margin == pytest.approx(expected.margin, abs=1e-9)
        assert [r.feature for r in placed.features] == [c.feature for c in expected.features]
        for reason, contribution in zip(placed.features, expected.features, strict=True):
            assert reason.pull == pytest.approx(contribution.contribution, abs=1e-9)
            assert (reason.segment_value, reason.population_value) == (
                contribution.segment_value, contribution.population_value)


def test_placing_agrees_with_the_run_for_every_customer(mall: Any) -> None:
    with Workspace.open(mall.folder, read_only=True) as ws:
        model = LiveModel.load(ws)
    placed = [model.place(_record(row)).segment_id for _, row in mall.features.iterrows()]
    assert placed == mall.assignments["segment_id"].tolist()


def test_missing_features_are_missing_values_not_errors(mall: Any) -> None:
    with Workspace.open(mall.folder, read_only=True) as ws:
        model = LiveModel.load(ws)
    segmenter = model.artifacts.segmenter
    empty = pd.DataFrame([dict.fromkeys(VALUE_FEATURES, np.nan)], dtype="float64")
    placed = model.place({})
    assert placed.segment_id == int(segmenter.predict(empty)[0])
    assert placed.confidence == pytest.approx(float(segmenter.confidence(empty)[0]))
    # with none of the model's features the customer is set aside, as at fit time
    assert (placed.segment_id, placed.segment_name) == (NOT_ENOUGH_DATA, "Not enough data")
    half = dict.fromkeys(VALUE_FEATURES, np.nan)
    half.update({f: 1.0 for f in VALUE_FEATURES[: (len(VALUE_FEATURES) + 1) // 2]})
    partly = model.place({k: v for k, v in half.items() if not np.isnan(v)})
    assert partly.segment_id == int(segmenter.predict(pd.DataFrame([half], dtype="float64"))[0])
    assert partly.segment_id >= 0


@pytest.mark.parametrize(("values", "field"), [
    ({"loyalty": 3}, "features.loyalty"),
    ({"frequency": "often"}, "features.frequency"),
    ({"monetary_total": float("inf")}, "features.monetary_total"),
])
def test_a_bad_feature_value_names_the_feature(mall: Any, values: dict[str, object],
                                               field: str) -> None:
    with Workspace.open(mall.folder, read_only=True) as ws:
        model = LiveModel.load(ws)
    with pytest.raises(FeatureValueError) as caught:
        model.place(values)
    assert caught.value.field == field


def _purchases(mall: Any, count: int, amount: float) -> list[dict[str, object]]:
    start = mall.reference_time + timedelta(days=1)
    return [{"purchased_at": start + timedelta(hours=i), "amount": amount,
             "store_id": mall.store_id, "basket_id": f"live-{i}"} for i in range(count)]


def test_purchases_move_a_light_spender_to_the_big_spenders(mall: Any,
                                                            mall_copy: Path) -> None:
    customer = mall.light_spenders()[0]
    with Workspace.open(mall_copy) as ws:
        model = LiveModel.load(ws)
        before = customer_segment(ws, model, customer)
        recorded = record_events(ws, model, customer, {"purchases": _purchases(mall, 5, 400.0)},
                                 actor="k0000000001")
        after = customer_segment(ws, model, customer)
        stored = ws.connection.execute(
            "SELECT count(*), sum(amount) FROM transactions WHERE customer_id = ?",
            [customer]).fetchall()[0]
        log = ws.connection.execute(
            "SELECT table_name, source_file, rows_new FROM ingest_log "
            "WHERE source_file LIKE 'api:%'").fetchall()
        audit = ws.connection.execute(
            "SELECT actor, target, details FROM audit_log WHERE action = 'record_events'"
        ).fetchall()
    assert (before.segment_id, before.source) == (mall.light_spender_segment, "run")
    assert recorded.counts == {"purchases": {"new": 5, "updated": 0, "unchanged": 0}}
    assert recorded.placement.segment_id == mall.big_spender_segment
    assert (after.segment_id, after.source) == (mall.big_spender_segment, "live")
    assert stored == (5, 2000.0)
    # features rebuilt from the customer's own rows, as of their latest purchase
    values = {r.feature: r.customer_value for r in recorded.placement.features}
    assert values == {"monetary_total": 2000.0, "frequency": 5.0, "basket_mean": 400.0,
                      "recency_days": 0.0}
    assert recorded.features_as_of == mall.reference_time + timedelta(days=1, hours=4)
    assert log == [("transactions", "api:k0000000001", 5)]
    assert [(a, t) for a, t, _ in audit] == [("k0000000001", customer)]
    assert json.loads(audit[0][2])["counts"] == {"purchases": {"new": 5, "updated": 0,
                                                               "unchanged": 0}}


def test_posting_the_same_events_again_records_them_once(mall: Any,
                                                        mall_copy: Path) -> None:
    customer = mall.light_spenders()[1]
    events = {"purchases": _purchases(mall, 2, 30.0),
              "visits": [{"entered_at": mall.reference_time + timedelta(days=1),
                          "left_at": mall.reference_time + timedelta(days=1, minutes=90)}]}
    visits_sql = ("SELECT count(*), max(dwell_minutes) FILTER (WHERE entered_at > ?) "
                  "FROM visits WHERE customer_id = ?")
    with Workspace.open(mall_copy) as ws:
        model = LiveModel.load(ws)
        before = ws.connection.execute(visits_sql, [mall.reference_time, customer]).fetchall()
        record_events(ws, model, customer, events, actor="k0000000001")
        again = record_events(ws, model, customer, events, actor="k0000000001")
        visits = ws.connection.execute(visits_sql, [mall.reference_time, customer]).fetchall()
        purchases = ws.connection.execute(
            "SELECT count(*) FROM transactions WHERE customer_id = ?", [customer]).fetchall()
    assert again.counts == {"purchases": {"new": 0, "updated": 0, "unchanged": 2},
                            "visits": {"new": 0, "updated": 0, "unchanged": 1}}
    assert purchases == [(2,)]
    assert visits == [(before[0][0] + 1, 90.0)]  # dwell derived from the times, as ingest does


def test_amount_is_derived_from_quantity_and_unit_price(mall: Any,
                                                       mall_copy: Path) -> None:
    customer = mall.light_spenders()[2]
    line = {"purchased_at": mall.reference_time, "quantity": 3.0, "unit_price": 12.5}
    with Workspace.open(mall_copy) as ws:
        model = LiveModel.load(ws)
        record_events(ws, model, customer, {"purchases": [line]}, actor="k0000000001")
        amount = ws.connection.execute(
            "SELECT amount FROM transactions WHERE customer_id = ?", [customer]).fetchall()
    assert amount == [(37.5,)]


def test_a_response_updates_the_customers_exposure(mall: Any, mall_copy: Path) -> None:
    with Workspace.open(mall_copy) as ws:
        customer, campaign = ws.connection.execute(
            "SELECT customer_id, campaign_id FROM exposures WHERE NOT coalesce(responded, false) "
            "ORDER BY customer_id LIMIT 1").fetchall()[0]
        model = LiveModel.load(ws)
        recorded = record_events(ws, model, customer, {"responses": [
            {"campaign_id": campaign, "responded": True}]}, actor="k0000000001")
        row = ws.connection.execute(
            "SELECT responded, sent_at IS NOT NULL FROM exposures WHERE customer_id = ? "
            "AND campaign_id = ?", [customer, campaign]).fetchall()
    assert recorded.counts == {"responses": {"new": 0, "updated": 1, "unchanged": 0}}
    assert row == [(True, True)]  # the columns not given keep their values


def test_events_breaking_the_rules_are_refused_together(mall: Any,
                                                       mall_copy: Path) -> None:
    customer = mall.light_spenders()[3]
    when = mall.reference_time
    events = {
        "purchases": [{"purchased_at": when, "amount": 10.0, "store_id": mall.store_id},
                      {"purchased_at": when, "amount": 10.0, "store_id": "S-NOWHERE"},
                      {"purchased_at": datetime(1960, 1, 1), "amount": 5.0},
                      {"purchased_at": when}],
        "visits": [{"entered_at": when, "left_at": when - timedelta(hours=1)}],
        "responses": [{"campaign_id": "C-NONE"}],
    }
    with Workspace.open(mall_copy) as ws:
        model = LiveModel.load(ws)
        before = ws.connection.execute(
            "SELECT (SELECT count(*) FROM transactions), (SELECT count(*) FROM visits), "
            "(SELECT count(*) FROM ingest_log)").fetchall()
        with pytest.raises(EventsRejectedError) as caught:
            record_events(ws, model, customer, events, actor="k0000000001")
        after = ws.connection.execute(
            "SELECT (SELECT count(*) FROM transactions), (SELECT count(*) FROM visits), "
            "(SELECT count(*) FROM ingest_log)").fetchall()
    problems = {(p.kind, p.index, p.field) for p in caught.value.problems}
    assert problems == {("purchases", 1, "store_id"), ("purchases", 2, "purchased_at"),
                        ("purchases", 3, "amount"), ("visits", 0, "left_at"),
                        ("responses", 0, "campaign_id")}
    messages = {p.field: p.message for p in caught.value.problems}
    assert messages["store_id"] == "store_id 'S-NOWHERE' is not in stores"
    assert messages["purchased_at"] == "purchased_at: 1960-01-01 00:00:00 is before 1970"
    assert after == before


def test_unknown_customers_are_named(mall: Any, mall_copy: Path) -> None:
    with Workspace.open(mall_copy) as ws:
        model = LiveModel.load(ws)
        with pytest.raises(CustomerNotFoundError, match="'NOBODY' is not in the workspace"):
            customer_segment(ws, model, "NOBODY")
        with pytest.raises(CustomerNotFoundError, match="ingest the customer first"):
            record_events(ws, model, "NOBODY", {"purchases": _purchases(mall, 1, 1.0)})
