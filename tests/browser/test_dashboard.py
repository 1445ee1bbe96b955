"""The dashboard in a real browser: log in, read the overview, follow a segment and a
customer, and the report opened from disk with the network cut off."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, Request

SEGMENTS = 4
CUSTOMERS = 800
"""As the conftest's mall fixture makes them."""


def charts_rendered(page: Page) -> int:
    """Wait until every chart slot of the page is drawn; return how many there are."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('.chart')]"
        ".every(c => c.dataset.rendered === 'true')", timeout=30_000)
    return page.locator(".chart").count()


def log_in(page: Page, url: str, key: str) -> None:
    page.goto(url + "/")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


def click_plot_element(page: Page, selector: str) -> None:
    """A real mouse click on the middle of a drawn element (Plotly listens on its cover)."""
    element = page.locator(selector).first
    element.scroll_into_view_if_needed()
    box = element.bounding_box()
    assert box is not None, selector
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 3, y - 3)
    page.mouse.move(x, y, steps=3)
    page.wait_for_selector(".hoverlayer .hovertext")  # Plotly clicks what it hovers
    page.mouse.click(x, y)


def test_log_in_then_overview_segment_and_customer(browser: Browser, server: Any,
                                                   tmp_path: Path) -> None:
    truth = server.mall.assignments
    names = {s: n for s, n in truth.values()}
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("pageerror", lambda e: failed.append(str(e)))

    page.goto(server.url + "/")
    assert page.url == server.url + "/login?next=/"
    page.fill("#key", server.mall.analyst_key + "x")
    page.click("button[type=submit]")
    assert "unknown, revoked" in page.locator(".error").inner_text()
    page.fill("#key", server.mall.analyst_key)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")
    cookie = next(c for c in context.cookies() if c["name"] == "mallseg_key")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert "mallseg_key" not in page.evaluate("document.cookie")

    assert charts_rendered(page) == 4  # sizes, map, peak hours; how sure (one k: no candidates)
    placed = sorted(n for s, n in names.items() if s >= 0)  # the set-aside have no certainty
    certainty = page.locator("#certainty-chart-0").evaluate("el => el.data.map(t => t.y)")
    assert [sorted(bars) for bars in certainty] == [placed] * 2
    sizes = page.locator("#overview-chart-0").evaluate("el => el.data[0].y")
    assert sorted(sizes) == sorted(names.values()) and len(placed) == SEGMENTS
    drawn_points = page.locator("#overview-chart-1 .scatterlayer .point").count()
    assert drawn_points == CUSTOMERS
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

    click_plot_element(page, "#overview-chart-0 .bars .point path")  # the largest segment
    page.wait_for_url(f"{server.url}/dashboard/segments/*")
    segment = int(page.url.rsplit("/", 1)[1])
    largest = max(names, key=lambda s: sum(1 for v in truth.values() if v[0] == s))
    assert segment == largest
    assert page.locator("h1").inner_text() == names[segment]
    assert charts_rendered(page) == 5  # profile, apart, categories, stores, hours
    legend = page.locator("[data-section^=segment] .chart").nth(2).evaluate(
        "el => el.data.map(t => t.name)")
    assert legend == [names[segment], "Everyone"]
    page.screenshot(path=str(tmp_path / "segment.png"), full_page=True)

    page.click("summary:has-text('Segments')")
    other = next(s for s in sorted(names) if s != segment)
    page.click(f"[data-segment-link='{other}']")
    page.wait_for_url(f"{server.url}/dashboard/segments/{other}")
    assert page.locator("h1").inner_text() == names[other]
    charts_rendered(page)

    page.goto(server.url + "/")
    charts_rendered(page)
    click_plot_element(page, "#overview-chart-1 .scatterlayer .trace:nth-child(2) .point")
    page.wait_for_url(f"{server.url}/dashboard/customers?customer_id=*")
    customer = page.url.split("customer_id=", 1)[1]
    segment_id, segment_name = truth[customer]
    assert page.locator("#customer h2").inner_text() == \
        f"Customer {customer} is in {segment_name}"
    assert "Confidence" in page.locator("#customer").inner_text()
    assert charts_rendered(page) == 1
    page.screenshot(path=str(tmp_path / "customer.png"), full_page=True)
    page.click("#customer-segment-link")
    page.wait_for_url(f"{server.url}/dashboard/segments/{segment_id}")

    page.goto(server.url + "/dashboard/customers")
    page.fill("#customer_id", "nobody-here")
    page.click("form.lookup button")
    assert "'nobody-here' is not in run 0001" in page.locator(".error").inner_text()

    page.click("text=Log out")
    page.wait_for_url(server.url + "/login")
    assert [c for c in context.cookies() if c["name"] == "mallseg_key"] == []
    page.goto(server.url + "/dashboard/segments/0")
    assert page.url.startswith(server.url + "/login?next=")
    assert failed == []
    context.close()


def test_a_key_without_customer_access_sees_aggregates_only(browser: Browser, server: Any
                                                            ) -> None:
    context = browser.new_context()
    page = context.new_page()
    log_in(page, server.url, server.mall.viewer_key)
    charts_rendered(page)
    linked = page.locator("#overview-chart-1").evaluate(
        "el => el.data.some(t => t.customdata !== undefined)")
    assert linked is False
    page.goto(server.url + "/dashboard/customers?customer_id=C000001")
    assert "lacks the scope customers:read" in page.locator(".message").inner_text()
    context.close()


def test_insight_pages_show_results_or_what_is_not_computed_yet(browser: Browser,
                                                                 server: Any) -> None:
    context = browser.new_context()
    page = context.new_page()
    log_in(page, server.url, server.mall.analyst_key)
    page.click("header nav >> text=Campaigns")
    page.wait_for_url(f"{server.url}/dashboard/campaigns")
    charts_rendered(page)
    sentences = page.locator("[data-section='campaigns'] > p").all_inner_texts()
    assert len(sentences) == 3 and all(s.startswith("Campaign ") for s in sentences)
    playbook = page.locator("[data-section='campaigns'] li").all_inner_texts()
    # one entry per group of customers, the set-aside "Not enough data" included
    segment_names = sorted({name for _, name in server.mall.assignments.values()})
    assert sorted(b.split(":")[0] for b in playbook[:len(segment_names)]) == segment_names
    for slug, command in (("layout", "mallseg layout"), ("monitoring", "mallseg monitor"),
                          ("loyalty", "mallseg loyalty")):
        page.click(f"header nav >> text={slug.capitalize()}")
        page.wait_for_url(f"{server.url}/dashboard/{slug}")
        text = page.locator(f"[data-section='{slug}-not-computed']").inner_text()
        assert text.startswith("Not computed yet.") and command in text
    context.close()


def test_the_overview_answers_in_under_a_second(server: Any) -> None:
    with httpx.Client(base_url=server.url, cookies={"mallseg_key": server.mall.analyst_key},
                      timeout=60) as client:
        assert client.get("/").status_code == 200  # first: the run's pages are computed
        started = time.perf_counter()
        response = client.get("/")
        elapsed = time.perf_counter() - started
    assert response.status_code == 200 and "Customer segments" in response.text
    assert elapsed < 1.0


def test_the_report_opens_from_disk_with_the_network_cut(browser: Browser, server: Any,
                                                         tmp_path: Path) -> None:
    context = browser.new_context(offline=True)
    requested: list[str] = []
    failed: list[str] = []

    def only_files(route: Any, request: Request) -> None:
        requested.append(request.url)
        if request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_files)
    page = context.new_page()
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("pageerror", lambda e: failed.append(str(e)))
    page.goto(server.mall.report.as_uri())
    slots = charts_rendered(page)
    assert slots == page.evaluate("Object.keys(JSON.parse(document.getElementById("
                                  "'mallseg-figures').textContent)).length")
    segments = page.locator("section[data-segment]").evaluate_all(
        "els => els.map(e => Number(e.dataset.segment)).filter(s => s >= 0)")
    assert sorted(segments) == list(range(SEGMENTS))
    assert page.locator("#overview-chart-1 .scatterlayer .point").count() == CUSTOMERS
    assert failed == [] and requested == [server.mall.report.as_uri()]
    page.screenshot(path=str(tmp_path / "report.png"))
    context.close()
