"""Stored insights, a customer's recommendations and monitoring, over HTTP and in a browser.

One workspace is built per module: the service tests' mall segmented again as of 20 days
before its last event (so that a drift check has a current window), then every insight
computed and a check recorded, as the commands do, before the service opens it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from playwright.sync_api import Browser, sync_playwright

from mallseg.app.insights import (
    campaigns_for_run,
    layout_for_run,
    loyalty_for_run,
    plan_for_run,
    recommendations_for_run,
)
from mallseg.app.monitor import check_monitor
from mallseg.app.segment import SegmentRequest, segment_customers
from mallseg.workspace import Workspace

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


@dataclass(frozen=True)
class InsightMall:
    """What the workspace holds, read before the service opened it."""

    run_id: str
    first_run_id: str
    stored: dict[str, dict[str, Any]]
    recommendations: pd.DataFrame
    without_recommendations: str
    monitor_run_id: str
    monitor: dict[str, Any]


@pytest.fixture(scope="module")
def insight_mall(mall: Any, tmp_path_factory: pytest.TempPathFactory
                 ) -> tuple[Path, InsightMall]:
    folder = tmp_path_factory.mktemp("insights") / "ws"
    shutil.copytree(mall.folder, folder)
    with Workspace.open(folder) as ws:
        as_of = pd.Timestamp(mall.reference_time) - pd.Timedelta(days=20)
        run = segment_customers(ws, SegmentRequest(lens="value", k=3, algorithms=("kmeans",),
                                                   n_resamples=2, as_of=as_of)).run_id
        loyalty_for_run(ws, run)
        campaigns_for_run(ws, run)
        layout_for_run(ws, run)
        recommendations_for_run(ws, run, evaluate=False)
        plan_for_run(ws, run, share=0.2)
        check = check_monitor(ws)
        assert check.monitor_run_id is not None, check.message
        stored = {kind: ws.insight(run, kind) or {} for kind in
                  ("loyalty", "campaigns", "layout", "recommendations", "targeting")}
        recommended = ws.connection.execute(
            f"SELECT * FROM snapshot_{run}_recommendations ORDER BY customer_id, rank").df()
        everyone = ws.connection.execute(
            "SELECT customer_id FROM segment_assignments WHERE run_id = ? ORDER BY 1",
            [run]).df()["customer_id"]
        monitor = ws.get_run(check.monitor_run_id, "monitor").metrics
    left_out = sorted(set(everyone) - set(recommended["customer_id"]))
    assert left_out and stored["recommendations"]["excluded_without_consent"] > 0
    return folder, InsightMall(run, mall.run_id, stored, recommended, left_out[0],
                               check.monitor_run_id, monitor)


@pytest.fixture(scope="module")
def served(insight_mall: tuple[Path, InsightMall], service_launcher: Any,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder, _ = insight_mall
    running = service_launcher(folder, tmp_path_factory.mktemp("insights-log"),
                               MALLSEG_SERVICE_RATE_PER_SECOND="100000",
                               MALLSEG_SERVICE_RATE_BURST="100000")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def truth(insight_mall: tuple[Path, InsightMall]) -> InsightMall:
    return insight_mall[1]


def test_loyalty_is_the_stored_result_with_its_segments_paged(served: Any, truth: InsightMall
                                                              ) -> None:
    _, reader = served.new_key("aggregates")
    stored = truth.stored["loyalty"]["segments"]
    with served.client(reader) as client:
        first = client.get("/insights/loyalty", params={"limit": 2}).json()
        rest = client.get("/insights/loyalty", params={"offset": 2, "limit": 2}).json()
    assert first["run_id"] == truth.run_id and first["computed_at"]
    assert (first["count"], len(first["data"]), len(rest["data"])) == (3, 2, 1)
    rows = first["data"] + rest["data"]
    assert [(r["segment"], r["customers"]) for r in rows] == [
        (s["segment"], s["customers"]) for s in stored]
    assert [r["at_risk_share"] for r in rows] == pytest.approx(
        [s["at_risk_share"] for s in stored])
    assert first["horizon_days"] == 90 and first["at_risk_rule"].startswith("high value")
    assert set(rows[0]["tier_shares"]) == {
        k.removeprefix("tier_share_") for k in stored[0] if k.startswith("tier_share_")}


def test_campaigns_plan_and_layout_are_the_stored_results(served: Any, truth: InsightMall
                                                          ) -> None:
    _, reader = served.new_key("aggregates")
    campaigns, plan, layout = (truth.stored[k] for k in ("campaigns", "targeting", "layout"))
    with served.client(reader) as client:
        cells = client.get("/insights/campaigns", params={"limit": 4}).json()
        targets = client.get("/insights/targets").json()
        alias = client.get("/insights/plan").json()
        category = client.get("/insights/layout").json()
        stores = client.get("/insights/layout", params={"dimension": "store", "offset": 5,
                                                        "limit": 7}).json()
        pairs = client.get("/insights/layout/pairs").json()
        bad = client.get("/insights/layout", params={"dimension": "floor"})
    assert cells["count"] == len(campaigns["cells"]) == 9 and len(cells["data"]) == 4
    assert [(c["campaign_id"], c["segment"], c["status"]) for c in cells["data"]] == [
        (c["campaign_id"], c["segment"], c["status"]) for c in campaigns["cells"][:4]]
    assert [c["campaign_id"] for c in cells["campaigns"]] == [
        c["campaign_id"] for c in campaigns["campaigns"]]
    assert [p["segment"] for p in cells["playbook"]] == campaigns["segments"]
    assert targets == alias
    assert (targets["contacts"], targets["holdout"], targets["method"]) == (
        plan["contacts"], plan["holdout"], plan["method"])
    assert sum(s["contacts"] for s in targets["data"]) == plan["contacts"]
    assert category["count"] == len(layout["category_affinity"]["cells"])
    assert stores["count"] == len(layout["store_affinity"]["cells"])
    assert [c["item"] for c in stores["data"]] == [
        c["item"] for c in layout["store_affinity"]["cells"][5:12]]
    assert [s["text"] for s in category["suggestions"]] == [
        s["text"] for s in layout["suggestions"]]
    assert (pairs["count"], pairs["units"]) == (len(layout["pairs"]["pairs"]),
                                                layout["pairs"]["units"])
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "dimension"


def test_the_index_says_which_results_a_run_has(served: Any, service: Any, truth: InsightMall,
                                                mall: Any) -> None:
    _, reader = served.new_key("aggregates")
    with served.client(reader) as client:
        served_run = client.get("/insights").json()
        first_run = client.get("/insights", params={"run_id": truth.first_run_id}).json()
    with service.client(service.admin_key) as client:
        bare = client.get("/insights").json()
    kinds = ["loyalty", "campaigns", "targeting", "layout", "recommendations"]
    assert [(i["kind"], i["computed"]) for i in served_run["data"]] == [(k, True) for k in kinds]
    assert served_run["run_id"] == truth.run_id and served_run["count"] == 5
    assert [i["path"] for i in served_run["data"]][:4] == [
        "/insights/loyalty", "/insights/campaigns", "/insights/targets", "/insights/layout"]
    assert [i["computed"] for i in first_run["data"]] == [False] * 5
    assert [i["command"] for i in bare["data"]] == [
        f"mallseg {c} --run {mall.run_id}" for c in
        ("loyalty", "campaigns", "export targets", "layout", "recommend")]


def test_a_run_without_the_result_is_404_naming_the_command(served: Any, truth: InsightMall
                                                           ) -> None:
    _, reader = served.new_key("aggregates")
    first = truth.first_run_id
    with served.client(reader) as client:
        missing = client.get("/insights/layout", params={"run_id": first})
        unknown_run = client.get("/insights/loyalty", params={"run_id": "0099"})
        unknown_kind = client.get("/insights/weather")
    assert missing.status_code == 404
    assert missing.json() == {"detail": f"layout was not computed for run {first}: run "
                                        f"`mallseg layout --run {first}`"}
    assert unknown_run.status_code == 404 and "0099" in unknown_run.json()["detail"]
    assert unknown_kind.status_code == 404
    assert unknown_kind.json()["detail"].endswith("loyalty, campaigns, targets, layout")


def test_nothing_computed_is_404_naming_what_to_run(service: Any, mall: Any) -> None:
    with service.client(service.admin_key) as client:
        answers = {path: client.get(path) for path in (
            "/insights/loyalty", "/insights/campaigns", "/insights/targets", "/insights/layout",
            "/monitoring", f"/customers/{mall.light_spenders()[0]}/recommendations")}
    with service.client(cookies={"mallseg_key": service.admin_key}) as browser_like:
        overview = browser_like.get("/")
    assert {path: a.status_code for path, a in answers.items()} == dict.fromkeys(answers, 404)
    run = mall.run_id
    assert answers["/insights/loyalty"].json()["detail"] == (
        f"loyalty was not computed for run {run}: run `mallseg loyalty --run {run}`")
    assert answers["/insights/targets"].json()["detail"].endswith(
        f"`mallseg export targets --run {run}`")
    assert "`mallseg monitor`" in answers["/monitoring"].json()["detail"]
    assert answers[f"/customers/{mall.light_spenders()[0]}/recommendations"].json() == {
        "detail": "no recommendations were computed yet: run `mallseg recommend`"}
    assert overview.status_code == 200 and 'data-section="insights"' not in overview.text


def test_keys_need_the_scope_of_each_route(served: Any, truth: InsightMall) -> None:
    customer = str(truth.recommendations["customer_id"].iloc[0])
    aggregate_routes = ["/insights/loyalty", "/insights/campaigns", "/insights/targets",
                        "/insights/layout", "/insights/layout/pairs", "/monitoring"]
    customer_route = f"/customers/{customer}/recommendations"
    _, writer = served.new_key("events:write")
    _, aggregates = served.new_key("aggregates")
    _, customers = served.new_key("customers:read")
    with served.client() as anonymous:
        assert {anonymous.get(p).status_code for p in [*aggregate_routes, customer_route]
                } == {401}
    with served.client(writer) as client:
        refused = [client.get(p) for p in [*aggregate_routes, customer_route]]
    assert {r.status_code for r in refused} == {403}
    assert "lacks the scope aggregates" in refused[0].json()["detail"]
    with served.client(aggregates) as client:
        assert client.get(customer_route).status_code == 403
        assert {client.get(p).status_code for p in aggregate_routes} == {200}
    with served.client(customers) as client:
        assert client.get(customer_route).status_code == 200
        assert client.get("/monitoring").status_code == 403


def test_a_customers_recommendations_are_the_stored_ones_and_audited(served: Any,
                                                                     truth: InsightMall
                                                                     ) -> None:
    frame = truth.recommendations
    customer = str(frame["customer_id"].iloc[0])
    expected = frame[frame["customer_id"] == customer]
    reader_id, reader = served.new_key("customers:read")
    with served.client(reader) as client:
        found = client.get(f"/customers/{customer}/recommendations").json()
        second = client.get(f"/customers/{customer}/recommendations",
                            params={"offset": 1, "limit": 1}).json()
        refused = client.get(f"/customers/{truth.without_recommendations}/recommendations")
    assert (found["customer_id"], found["run_id"], found["item_kind"]) == (
        customer, truth.run_id, "store")
    assert found["count"] == len(expected) == 5
    assert [(r["rank"], r["item"], r["reason"]) for r in found["data"]] == list(
        zip(expected["rank"], expected["item"], expected["reason"], strict=True))
    assert second["count"] == 5 and second["data"] == found["data"][1:2]
    left_out = truth.stored["recommendations"]["excluded_without_consent"]
    assert refused.status_code == 404
    assert refused.json()["detail"] == (
        f"customer {truth.without_recommendations} has no recommendations in run "
        f"{truth.run_id} (they cover {truth.stored['recommendations']['customers']:,} "
        f"customers; {left_out:,} customers were left out for want of marketing consent)")
    with served.client(served.admin_key) as admin:
        lines = [admin.get("/audit", params={"target": c}).json()["data"]
                 for c in (customer, truth.without_recommendations)]
    assert [[line["action"] for line in found if line["actor"] == reader_id]
            for found in lines] == [["customer_recommendations"] * 2,
                                    ["customer_recommendations"]]


def test_monitoring_is_the_latest_check_with_the_model_versions(served: Any,
                                                                truth: InsightMall) -> None:
    _, reader = served.new_key("aggregates")
    report = truth.monitor["report"]
    with served.client(reader) as client:
        status = client.get("/monitoring", params={"limit": 2}).json()
        rest = client.get("/monitoring", params={"offset": 2}).json()
    assert (status["monitor_run_id"], status["run_id"], status["against"]) == (
        truth.monitor_run_id, truth.run_id, None)
    assert status["verdict"] == truth.monitor["verdict"] == report["verdict"]
    assert [r["message"] for r in status["reasons"]] == [r["message"] for r in report["reasons"]]
    assert (status["reference_size"], status["current_size"]) == (
        report["reference_size"], report["current_size"])
    assert status["current"]["days"] == truth.monitor["windows"]["current"]["days"]
    assert [s["name"] for s in status["segment_shares"]] == [
        s["name"] for s in report["segment_mix"]["shares"]]
    assert status["count"] == len(report["features"]) and len(status["data"]) == 2
    assert [f["feature"] for f in status["data"] + rest["data"]] == [
        f["feature"] for f in report["features"]]
    assert [(v["run_id"], v["current"]) for v in status["versions"]] == [
        (truth.first_run_id, False), (truth.run_id, True)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_the_dashboard_shows_each_computed_result_with_its_numbers(
        browser: Browser, served: Any, truth: InsightMall, tmp_path: Path) -> None:
    _, viewer = served.new_key("aggregates", name="viewer")
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("pageerror", lambda e: failed.append(str(e)))
    page.goto(served.url + "/")
    page.fill("#key", viewer)
    page.click("button[type=submit]")
    page.wait_for_url(served.url + "/")
    shown = page.locator("[data-section='insights'] [data-insight]")
    assert [shown.nth(i).get_attribute("data-insight") for i in range(shown.count())] == [
        "campaigns", "loyalty", "layout", "monitoring"]
    report = truth.monitor["report"]
    summary = page.locator("[data-insight='monitoring']").inner_text()
    assert f"Check {truth.monitor_run_id} of run {truth.run_id}" in summary
    assert f"({report['reference_size']:,} customers)" in summary
    page.screenshot(path=str(tmp_path / "overview-insights.png"), full_page=True)

    page.click("[data-insight='layout'] a")
    page.wait_for_url(f"{served.url}/dashboard/layout")
    page.wait_for_function("() => document.querySelector('#layout-chart-0')"
                           "?.dataset.rendered === 'true'", timeout=30_000)
    heat = page.locator("#layout-chart-0").evaluate("el => el.data[0]")
    cells = truth.stored["layout"]["category_affinity"]["cells"]
    assert heat["type"] == "heatmap"
    assert heat["y"] == truth.stored["layout"]["segments"]
    assert sorted(heat["x"]) == sorted({c.get("label") or c["item"] for c in cells})
    first = next(c for c in cells if c["status"] == "ok")
    row, column = heat["y"].index(first["segment"]), heat["x"].index(first["label"])
    assert heat["z"][row][column] == pytest.approx(first["lift"])
    page.screenshot(path=str(tmp_path / "layout.png"), full_page=True)

    page.click("header nav >> text=Monitoring")
    page.wait_for_url(f"{served.url}/dashboard/monitoring")
    page.wait_for_function("() => document.querySelector('#monitoring-chart-0')"
                           "?.dataset.rendered === 'true'", timeout=30_000)
    bars = page.locator("#monitoring-chart-0").evaluate("el => el.data.map(t => t.x)")
    shares = report["segment_mix"]["shares"]
    assert bars == [pytest.approx([s["reference_share"] for s in shares]),
                    pytest.approx([s["current_share"] for s in shares])]
    features = page.locator("[data-section='monitoring'] table tbody tr").count()
    assert features == min(10, len(report["features"]))
    page.screenshot(path=str(tmp_path / "monitoring.png"), full_page=True)
    assert failed == []
    context.close()
