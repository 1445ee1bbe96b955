"""The real service over HTTP: keys and scopes, scoring, look-ups, events, errors, audit."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest

VALUE_FEATURES = ["recency_days", "frequency", "monetary_total", "basket_mean"]


def _features(mall: Any, customer: str) -> dict[str, float | None]:
    row = mall.features.set_index("customer_id").loc[customer]
    return {f: None if math.isnan(row[f]) else float(row[f]) for f in VALUE_FEATURES}


def test_health_needs_no_key_and_everything_else_does(service: Any) -> None:
    with service.client() as anonymous:
        assert anonymous.get("/health").json() == {"status": "ok"}
        refused = anonymous.get("/segments")
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert "no API key" in refused.json()["detail"]
        assert anonymous.get("/ready").status_code == 401
        assert anonymous.post("/score", json={"features": {}}).status_code == 401
        assert anonymous.get("/segments", headers={"X-API-Key": "msk_k0000000000_nope"}
                             ).status_code == 401
    with service.client(cookies={"mallseg_key": "hello"}) as anonymous:
        assert anonymous.get("/segments").status_code == 401


def test_ready_names_the_served_run(service: Any, mall: Any) -> None:
    with service.client(service.admin_key) as client:
        ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True and ready.json()["run_id"] == mall.run_id


def test_a_key_without_the_scope_is_forbidden_and_admin_may_do_all(service: Any) -> None:
    _, writer = service.new_key("events:write")
    _, reader = service.new_key("aggregates")
    with service.client(writer) as client:
        forbidden = client.get("/segments")
    assert forbidden.status_code == 403
    assert "lacks the scope aggregates" in forbidden.json()["detail"]
    with service.client(reader) as client:
        assert client.get("/segments").status_code == 200
        assert client.post("/score", json={"features": {}}).status_code == 403
        assert client.get("/keys").status_code == 403
    # the same key works from each place a key may come from
    for headers, cookies in (({"X-API-Key": reader}, None), ({}, {"mallseg_key": reader})):
        with service.client(cookies=cookies, **headers) as client:
            assert client.get("/segments").status_code == 200


def test_a_revoked_key_is_refused_at_once(service: Any) -> None:
    key_id, secret = service.new_key("aggregates")
    with service.client(secret) as client:
        assert client.get("/segments").status_code == 200
        with service.client(service.admin_key) as admin:
            revoked = admin.delete(f"/keys/{key_id}")
            assert revoked.status_code == 200 and revoked.json()["active"] is False
            listed = admin.get("/keys", params={"limit": 1000}).json()
        refused = client.get("/segments")
    assert refused.status_code == 401 and key_id in refused.json()["detail"]
    assert secret not in str(listed)
    assert {k["key_id"]: k["active"] for k in listed["data"]}[key_id] is False


def test_segments_are_paginated(service: Any, mall: Any) -> None:
    _, reader = service.new_key("aggregates")
    with service.client(reader) as client:
        first = client.get("/segments", params={"limit": 2}).json()
        rest = client.get("/segments", params={"offset": 2, "limit": 2}).json()
        one = client.get(f"/segments/{mall.big_spender_segment}").json()
        missing = client.get("/segments/99")
        unknown_run = client.get("/segments", params={"run_id": "7"})
    assert (first["count"], len(first["data"]), len(rest["data"])) == (3, 2, 1)
    ids = [s["segment_id"] for s in first["data"] + rest["data"]]
    assert ids == [0, 1, 2]
    sizes = mall.assignments["segment_id"].value_counts().to_dict()
    assert {s["segment_id"]: s["size"] for s in first["data"] + rest["data"]} == sizes
    assert one["profile"]["mean_monetary_total"] == pytest.approx(
        mall.monetary_by_segment[mall.big_spender_segment])
    assert missing.status_code == 404
    assert unknown_run.status_code == 404 and "no segment run '7'" in unknown_run.json()["detail"]


def test_the_makeup_table_reconciles_with_the_segments(service: Any, mall: Any) -> None:
    _, reader = service.new_key("aggregates")
    with service.client(reader) as client:
        answer = client.get("/segments/makeup")
        unknown_run = client.get("/segments/makeup", params={"run_id": "7"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    sizes = mall.assignments["segment_id"].value_counts()
    assert body["population"] == int(sizes.sum())
    for attribute in ("gender", "age band"):
        rows = [r for r in body["rows"] if r["attribute"] == attribute]
        by_segment: dict[str, int] = {}
        for row in rows:
            assert row["customers"] is None or row["customers"] >= 10
            by_segment[row["segment"]] = row["segment_size"]
        assert sorted(by_segment.values()) == sorted(int(v) for v in sizes)
    assert unknown_run.status_code == 404


def test_the_model_and_its_features(service: Any, mall: Any) -> None:
    _, reader = service.new_key("customers:read")
    with service.client(reader) as client:
        model = client.get("/model").json()
        features = client.get("/model/features").json()
        page = client.get("/model/features", params={"offset": 3, "limit": 5}).json()
    assert (model["run_id"], model["features"], model["segments"]) == (
        mall.run_id, VALUE_FEATURES, 3)
    assert model["algorithm"] == "kmeans" and model["lens"] == "value"
    assert [f["name"] for f in features["data"]] == VALUE_FEATURES
    assert {f["name"]: f["kind"] for f in features["data"]}["monetary_total"] == "money"
    assert all(f["meaning"] for f in features["data"])
    assert (page["count"], [f["name"] for f in page["data"]]) == (4, ["basket_mean"])


def test_scoring_a_customer_gives_the_runs_segment(service: Any, mall: Any) -> None:
    _, scorer = service.new_key("customers:read")
    truth = mall.assignments.set_index("customer_id")
    customers = list(truth.index[::15])
    with service.client(scorer) as client:
        single = client.post("/score", json={"customer_id": customers[0],
                                              "features": _features(mall, customers[0])})
        batch = client.post("/score/batch", params={"top": 2}, json={"customers": [
            {"customer_id": c, "features": _features(mall, c)} for c in customers]})
        partial = client.post("/score", json={"features": {"monetary_total": 5000.0,
                                                            "frequency": 3.0}})
        sparse = client.post("/score", json={"features": {"monetary_total": 5000.0}})
    assert single.status_code == 200
    body = single.json()
    assert body["segment_id"] == truth.loc[customers[0], "segment_id"]
    assert body["confidence"] == pytest.approx(truth.loc[customers[0], "confidence"], abs=1e-6)
    assert sorted(f["feature"] for f in body["features"]) == sorted(VALUE_FEATURES)
    placed = batch.json()
    assert placed["count"] == len(customers)
    assert [p["customer_id"] for p in placed["data"]] == customers
    assert [p["segment_id"] for p in placed["data"]] == [
        int(truth.loc[c, "segment_id"]) for c in customers]
    assert all(len(p["features"]) == 2 for p in placed["data"])
    # features left out are missing values the model takes into account
    assert partial.status_code == 200 and partial.json()["segment_id"] in (0, 1, 2)
    # with one feature of four the customer is set aside, as the fit set such customers aside
    assert sparse.status_code == 200
    assert (sparse.json()["segment_id"], sparse.json()["segment_name"]) == (-2, "Not enough data")


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"features": {"loyalty": 1}}, "features.loyalty", "does not use 'loyalty'"),
    ({"features": {"frequency": "often"}}, "features.frequency", "expected a finite number"),
    ({"features": {"frequency": [1]}}, "features.frequency", ""),
    ({"features": {}, "segment": 1}, "segment", "Extra inputs"),
    ({"customer_id": "", "features": {}}, "customer_id", "at least 1 character"),
])
def test_a_bad_score_request_names_the_field(service: Any, body: dict[str, Any], field: str,
                                             words: str) -> None:
    with service.client(service.admin_key) as client:
        answer = client.post("/score", json=body)
    assert answer.status_code == 422
    problems = answer.json()["detail"]
    assert field in [p["field"] for p in problems]
    assert words in " ".join(p["msg"] for p in problems)


def test_bad_batches_and_bodies_name_the_field(service: Any) -> None:
    with service.client(service.admin_key) as client:
        batch = client.post("/score/batch", json={"customers": [
            {"features": {}}, {"features": {"basket_mean": "big"}}]})
        not_json = client.post("/score", content=b"{nope", headers={
            "Content-Type": "application/json"})
        nan = client.post("/score", content=b'{"features": {"frequency": NaN}}',
                          headers={"Content-Type": "application/json"})
        empty = client.post("/score/batch", json={"customers": []})
        page = client.get("/segments", params={"limit": 0})
    assert [p["field"] for p in batch.json()["detail"]] == ["customers[1].features.basket_mean"]
    assert [p["loc"] for p in batch.json()["detail"]] == [
        ["body", "customers", 1, "features", "basket_mean"]]
    assert not_json.status_code == 422 and not_json.json()["detail"][0]["type"] == "json_invalid"
    assert nan.status_code == 422
    assert nan.json()["detail"][0]["field"] == "features.frequency"
    assert empty.status_code == 422 and empty.json()["detail"][0]["field"] == "customers"
    assert page.status_code == 422 and page.json()["detail"][0]["loc"] == ["query", "limit"]


def test_purchases_move_a_light_spender_to_the_big_spenders(service: Any, mall: Any) -> None:
    customer = mall.light_spenders()[0]
    _, writer = service.new_key("events:write")
    _, reader = service.new_key("customers:read")
    start = mall.reference_time + timedelta(days=2)
    purchases = [{"purchased_at": (start + timedelta(hours=i)).isoformat(), "amount": 400.0,
                  "store_id": mall.store_id, "basket_id": f"api-{i}"} for i in range(5)]
    with service.client(reader) as client:
        before = client.get(f"/customers/{customer}/segment").json()
    with service.client(writer) as client:
        recorded = client.post(f"/customers/{customer}/events", json={"purchases": purchases})
    with service.client(reader) as client:
        after = client.get(f"/customers/{customer}/segment").json()
    assert (before["segment_id"], before["source"]) == (mall.light_spender_segment, "run")
    assert recorded.status_code == 201, recorded.text
    body = recorded.json()
    assert body["counts"] == {"purchases": {"new": 5, "updated": 0, "unchanged": 0}}
    assert body["previous"]["segment_id"] == mall.light_spender_segment
    assert body["assignment"]["segment_id"] == mall.big_spender_segment
    assert {f["feature"]: f["customer_value"] for f in body["assignment"]["features"]} == {
        "monetary_total": 2000.0, "frequency": 5.0, "basket_mean": 400.0, "recency_days": 0.0}
    assert (after["segment_id"], after["source"]) == (mall.big_spender_segment, "live")
    assert after["profile"]["mean_monetary_total"] == pytest.approx(
        mall.monetary_by_segment[mall.big_spender_segment])


@pytest.mark.parametrize(("events", "field", "words"), [
    ({"purchases": [{"purchased_at": "2026-03-01T10:00:00", "amount": 5,
                     "store_id": "S-NOWHERE"}]}, "purchases[0].store_id", "is not in stores"),
    ({"purchases": [{"amount": 5}]}, "purchases[0].purchased_at", "Field required"),
    ({"purchases": [{"purchased_at": "2026-03-01T10:00:00"}]}, "purchases[0].amount",
     "amount is empty"),
    ({"purchases": [{"purchased_at": "2026-03-01T10:00:00", "amount": 2e6}]},
     "purchases[0].amount", "less than or equal to 1000000"),
    ({"purchases": [{"purchased_at": 1700000000, "amount": 5}]}, "purchases[0].purchased_at",
     "ISO 8601"),
    ({"visits": [{"entered_at": "2026-03-01T10:00:00", "dwell_minutes": -3}]},
     "visits[0].dwell_minutes", "greater than or equal to 0"),
    ({"visits": [{"entered_at": "2026-03-01T10:00:00", "left_at": "2026-03-01T09:00:00"}]},
     "visits[0].left_at", "left_at is before entered_at"),
    ({"visits": [{"entered_at": "1960-03-01T10:00:00"}]}, "visits[0].entered_at",
     "is before 1970"),
    ({"responses": [{"campaign_id": "C-NONE"}]}, "responses[0].campaign_id",
     "is not in campaigns"),
    ({"visits": [{"entered_at": "2026-03-01T10:00:00", "mood": "happy"}]}, "visits[0].mood",
     "Extra inputs"),
    ({}, "", "no event given"),
])
def test_bad_events_are_refused_naming_the_field(service: Any, mall: Any,
                                                 events: dict[str, Any], field: str,
                                                 words: str) -> None:
    customer = mall.light_spenders()[5]
    with service.client(service.admin_key) as client:
        answer = client.post(f"/customers/{customer}/events", json=events)
        after = client.get(f"/customers/{customer}/segment").json()
    assert answer.status_code == 422, answer.text
    problems = answer.json()["detail"]
    assert field in [p["field"] for p in problems]
    assert words in " ".join(p["msg"] for p in problems)
    assert after["source"] == "run"  # nothing was recorded


def test_unknown_customers_are_404(service: Any) -> None:
    with service.client(service.admin_key) as client:
        lookup = client.get("/customers/NOBODY/segment")
        events = client.post("/customers/NOBODY/events", json={"visits": [
            {"entered_at": "2026-03-01T10:00:00"}]})
    assert lookup.status_code == 404 and "'NOBODY' is not in the workspace" in lookup.text
    assert events.status_code == 404


def test_the_audit_log_holds_the_reads_and_writes(service: Any, mall: Any) -> None:
    customer = mall.light_spenders()[6]
    reader_id, reader = service.new_key("customers:read")
    writer_id, writer = service.new_key("events:write")
    with service.client(reader) as client:
        client.get(f"/customers/{customer}/segment")
        client.post("/score", json={"customer_id": customer, "features": {}})
        client.post("/score", json={"features": {}})  # nobody named: not customer-level
    with service.client(writer) as client:
        assert client.post(f"/customers/{customer}/events", json={"visits": [
            {"entered_at": mall.reference_time.isoformat()}]}).status_code == 201
    with service.client(service.admin_key) as admin:
        lines = admin.get("/audit", params={"target": customer}).json()
        keys = {k["key_id"]: k for k in admin.get("/keys", params={"limit": 1000}).json()["data"]}
    # other tests of the session may have read the same customer with keys of their own
    ours = [line for line in lines["data"] if line["actor"] in (reader_id, writer_id)]
    seen = sorted((line["actor"], line["action"]) for line in ours)
    assert seen == sorted([(reader_id, "lookup_customer"), (reader_id, "score_customer"),
                           (writer_id, "record_events")])
    assert lines["count"] == len(lines["data"]) >= 3
    assert all(line["logged_at"] for line in lines["data"])
    assert keys[reader_id]["last_used_at"] is not None
