"""The dashboard the service serves at ``/``: overview, segments, customers, insight pages.

Pages are the report's sections (:mod:`mallseg.report`) rendered with the service's
templates; charts are drawn by Plotly from ``/static`` (nothing is fetched from outside).
Logging in posts an API key, kept in the HttpOnly cookie ``mallseg_key`` that
:func:`mallseg.service.auth.require` reads; a page without a valid key sends the browser
to ``/login``. Pages need the ``aggregates`` scope, the customer lookup ``customers:read``.

A run's pages are computed once and kept: showing the login form starts preparing the
latest run's overview and profiles in the background, so the overview answers at once
after logging in; a new segmentation run makes new pages. Database reads hold the
service lock; the computing after them does not.

Insight pages (campaigns, loyalty, layout, monitoring) are plug points: each
:class:`InsightPage` has a loader that reads the stored result (never computes it) and
returns a value with a registered section builder, or ``None`` while it is not computed
yet. The page shows the result's sections; the overview shows, for each result there is,
its first sentences with a link to its page. A new result type is one more
:class:`InsightPage` (:func:`register_insight_page`) and one section builder.

Examples
--------
>>> [page.slug for page in insight_pages()]
['campaigns', 'loyalty', 'layout', 'monitoring']
>>> sorted(route.path for route in router.routes)[:3]
['/', '/dashboard/customers', '/dashboard/segments/{segment}']
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import jinja2
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

import mallseg.report.segment_sections as segment_pages
from mallseg.app.explain import explain_in_run
from mallseg.app.keys import key_id_of
from mallseg.report.activity import top_stores, visit_hours
from mallseg.report.charts.style import segment_colour
from mallseg.report.customer_section import customer_section
from mallseg.report.facts import SegmentationFacts, project_sample
from mallseg.report.html import figure_payload, script_json
from mallseg.report.loyalty_sections import segment_loyalty_section, stored_loyalty
from mallseg.report.projection import MAX_POINTS, Projection
from mallseg.report.run_view import (
    SegmentationView,
    load_segmentation_view,
    profiles_from_features,
    run_features,
)
from mallseg.report.sections import Section, build_sections, has_section_builder
from mallseg.segment.model_files import ModelFileError
from mallseg.service.auth import COOKIE_NAME, ApiKeyRecord, require, verify_key
from mallseg.service.insight_sections import latest_monitoring, stored_campaigns, stored_layout
from mallseg.service.state import ServiceState, get_state
from mallseg.workspace import Workspace

__all__ = ["InsightPage", "insight_pages", "plotly_bundle", "register_insight_page", "router"]

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InsightPage:
    """A dashboard page for one kind of insight.

    ``load(workspace, run_id)`` returns the run's result (any object with a registered
    section builder) or ``None`` while none is computed; ``command`` says how to make one.
    """

    slug: str
    title: str
    about: str
    command: str
    load: Callable[[Workspace, str], object | None] = field(default=lambda ws, run_id: None)


_INSIGHT_PAGES: dict[str, InsightPage] = {page.slug: page for page in (
    InsightPage("campaigns", "Campaigns", "response and uplift per segment against holdouts, "
                "and whom to target next", "mallseg campaigns", stored_campaigns),
    InsightPage("loyalty", "Loyalty", "repeat visits, churn risk and customer value per "
                "segment", "mallseg loyalty", stored_loyalty),
    InsightPage("layout", "Layout", "segment x category affinity, stores bought together, "
                "and suggestions for layout and opening hours", "mallseg layout",
                stored_layout),
    InsightPage("monitoring", "Monitoring", "drift of features and segment shares, and when "
                "a refit is due", "mallseg monitor", latest_monitoring),
)}


def insight_pages() -> list[InsightPage]:
    """The insight pages, in menu order."""
    return list(_INSIGHT_PAGES.values())


def register_insight_page(page: InsightPage) -> None:
    """Add ``page`` (or replace the page with its slug)."""
    _INSIGHT_PAGES[page.slug] = page


@router.get("/static/plotly.min.js")
async def plotly_bundle() -> FileResponse:
    """Plotly's JavaScript, from the installed plotly package (the pages fetch nothing else).

    The service mounts its static folder at ``/static``; this route, included before the
    mount, adds the one file that lives in the plotly package instead.
    """
    import plotly

    bundle = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return FileResponse(bundle, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})


_templates = jinja2.Environment(
    loader=jinja2.ChoiceLoader([jinja2.PackageLoader("mallseg.service", "templates"),
                                jinja2.PackageLoader("mallseg.report", "templates")]),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
)
_templates.globals["colour"] = segment_colour
_LINKS = {"overview": "/", "login": "/login", "logout": "/logout",
          "customer": "/dashboard/customers"}


@dataclass
class _RunPages:
    """What one run's pages are made of, computed once."""

    view: SegmentationView
    projection: Projection | None
    hours: Any
    hours_source: str
    facts: SegmentationFacts | None = None
    sections: dict[str, Section] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)


_COMPUTING = threading.Lock()
"""Held while a run's pages are computed, so that two requests never compute them twice."""


def _run_pages(app: Any, state: ServiceState) -> _RunPages | None:
    """The latest run's pages (``None`` when the workspace has no segmentation run)."""
    with state.lock:
        record = state.workspace.latest_run("segment")
    if record is None:
        return None
    with _COMPUTING:
        cache: dict[str, _RunPages] = getattr(app.state, "dashboard_pages", {})
        app.state.dashboard_pages = cache
        if record.run_id not in cache:
            with state.lock:
                view = load_segmentation_view(state.workspace, record.run_id)
                sample = run_features(state.workspace, view.run_id, sample=MAX_POINTS)
                hours = visit_hours(state.workspace.connection, view.run_id,
                                    view.record.reference_time,
                                    min_customers=view.group_rule.k)
                source = "visits" if state.workspace.table_count("visits") else "purchases"
            pages = _RunPages(view, project_sample(view, sample, keep_ids=True), hours, source)
            for linked in (True, False):
                _overview_sections(pages, linked)
            cache.clear()  # only the latest run's pages are kept
            cache[record.run_id] = pages
        return cache[record.run_id]


def _overview_sections(pages: _RunPages, linked: bool) -> list[Section]:
    name = f"overview-{linked}"
    if name not in pages.sections:
        pages.sections[name] = segment_pages.overview_section(
            pages.view, pages.projection, pages.hours, pages.hours_source,
            link_customers=linked)
    if "certainty" not in pages.sections:
        pages.sections["certainty"] = segment_pages.certainty_section(pages.view)
    return [pages.sections[name], pages.sections["certainty"]]


def _prepare(app: Any, state: ServiceState) -> None:
    """Compute the latest run's overview, then its profiles, ahead of the first visit."""
    try:
        pages = _run_pages(app, state)
        if pages is not None:
            _facts(pages, state)
    except Exception:  # a page asked for later reports the problem itself
        log.exception("the dashboard's pages could not be prepared")
    finally:
        app.state.dashboard_preparing = False


def _prepare_in_background(request: Request) -> None:
    if not getattr(request.app.state, "dashboard_preparing", False):
        request.app.state.dashboard_preparing = True
        threading.Thread(target=_prepare, args=(request.app, get_state(request)),
                         name="dashboard-pages", daemon=True).start()


def _facts(pages: _RunPages, state: ServiceState) -> SegmentationFacts:
    with pages.guard:
        if pages.facts is None:
            view = pages.view
            with state.lock:
                frame = run_features(state.workspace, view.run_id, with_segments=True)
                stores = top_stores(state.workspace.connection, view.run_id,
                                    view.record.reference_time,
                                    min_customers=view.group_rule.k)
            pages.facts = SegmentationFacts(view, profiles_from_features(view, frame),
                                            pages.hours, pages.hours_source, stores,
                                            pages.projection)
        return pages.facts


async def _key_or_login(request: Request, scope: str) -> ApiKeyRecord | Response:
    """The page's key, or the response that sends the browser to log in (or refuses)."""
    try:
        return await require(scope)(request)  # reads the key from the cookie (or headers)
    except HTTPException as exc:
        if exc.status_code == 401:
            target = quote(request.url.path + (f"?{request.url.query}" if request.url.query
                                               else ""))
            return RedirectResponse(f"{request.scope.get('root_path', '')}/login?next={target}",
                                    status_code=303)
        return _page(request, "message.html.j2", status_code=exc.status_code,
                     title="Not allowed", heading="Not allowed", key="refused",
                     sentences=[str(exc.detail)])


def _page(request: Request, template: str, *, status_code: int = 200,
          sections: list[Section] | None = None, nav: dict[str, Any] | None = None,
          **values: Any) -> HTMLResponse:
    base = str(request.scope.get("root_path", ""))
    context: dict[str, Any] = {
        "base": base, "link": lambda name: base + _LINKS[name],
        "static": lambda path: f"{base}/static/{path}", "nav": nav, "active": "",
        "heading": "", "lead": "", "notice": "", **values,
    }
    if sections is not None:
        specs, ids = figure_payload(sections)
        context.update(sections=sections, figure_ids=ids, figures_json=script_json(specs))
    return HTMLResponse(_templates.get_template(template).render(context),
                        status_code=status_code)


def _nav(request: Request, key: ApiKeyRecord, pages: _RunPages | None) -> dict[str, Any]:
    base = str(request.scope.get("root_path", ""))
    segments = [] if pages is None else [
        {"segment": int(s), "name": str(n), "href": f"{base}/dashboard/segments/{int(s)}"}
        for s, n in zip(pages.view.segments["segment"], pages.view.segments["name"],
                        strict=True)]
    insights = [{"slug": p.slug, "title": p.title, "href": f"{base}/dashboard/{p.slug}"}
                for p in insight_pages()]
    return {"segments": segments, "insights": insights, "key_name": key.name}


def _no_run(request: Request, key: ApiKeyRecord) -> HTMLResponse:
    return _page(request, "message.html.j2", title="No segments yet", key="no-run",
                 heading="No segments yet", nav=_nav(request, key, None), sentences=[
                     "This workspace has no segmentation run yet: run `mallseg segment` "
                     "(or `mallseg demo`), then reload this page."])


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> HTMLResponse:
    """The login form (and, the first time, the overview starts being prepared)."""
    _prepare_in_background(request)
    return _page(request, "login.html.j2", title="Log in", heading="Log in to mallseg",
                 next_page=_safe_next(next), error="")


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the posted key; on success keep it in the HttpOnly cookie and go on."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    secret = (form.get("key") or [""])[0].strip()
    next_page = _safe_next((form.get("next") or ["/"])[0])
    state = get_state(request)
    key_id = key_id_of(secret) if secret else None
    record = None
    if key_id is not None and state.check_limiter.take(key_id) <= 0:
        record = await run_in_threadpool(verify_key, state, secret)
    if record is None:
        error = ("That is not a mallseg API key (they start with msk_)." if key_id is None
                 else f"API key {key_id} is unknown, revoked, or tried too often: check it "
                      "and try again in a few seconds.")
        return _page(request, "login.html.j2", status_code=401, title="Log in",
                     heading="Log in to mallseg", next_page=next_page, error=error)
    response = RedirectResponse(str(request.scope.get("root_path", "")) + next_page,
                                status_code=303)
    response.set_cookie(COOKIE_NAME, secret, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Forget the key cookie and show the login form."""
    response = RedirectResponse(f"{request.scope.get('root_path', '')}/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


@router.get("/")
async def overview(request: Request) -> Response:
    """Sizes, key numbers, the customers' map and why this segmentation was chosen."""
    key = await _key_or_login(request, "aggregates")
    if isinstance(key, Response):
        return key
    state = get_state(request)
    pages = await run_in_threadpool(_run_pages, request.app, state)
    if pages is None:
        return _no_run(request, key)
    sections = _overview_sections(pages, key.allows("customers:read"))
    view = pages.view
    notice = f"The customers' map is missing: {view.model_problem}." if view.model_problem \
        else ""
    summaries = await run_in_threadpool(_insight_summaries, state, pages,
                                        str(request.scope.get("root_path", "")))
    return _page(request, "sections.html.j2", title="Overview", active="overview",
                 heading="Customer segments", nav=_nav(request, key, pages), notice=notice,
                 lead=f"Segmentation run {view.run_id}: {view.n_customers:,} customers in "
                      f"{view.k} segments. {view.reference}",
                 sections=sections, summaries=summaries)


_SUMMARY_SENTENCES = 3


def _insight_summaries(state: ServiceState, pages: _RunPages, base: str
                       ) -> list[dict[str, Any]]:
    """For each insight computed for the run: its page, title and first sentences."""
    summaries = []
    for page in insight_pages():
        result = _insight(state, page, pages)
        if result is None or not has_section_builder(result):
            continue
        first = build_sections(result)[0]
        summaries.append({"slug": page.slug, "title": first.title,
                          "href": f"{base}/dashboard/{page.slug}",
                          "sentences": list(first.sentences[:_SUMMARY_SENTENCES])})
    return summaries


@router.get("/dashboard/segments/{segment}")
async def segment_page(request: Request, segment: int) -> Response:
    """One segment: profile against everyone, what sets it apart, stores, hours, actions."""
    key = await _key_or_login(request, "aggregates")
    if isinstance(key, Response):
        return key
    state = get_state(request)
    pages = await run_in_threadpool(_run_pages, request.app, state)
    if pages is None:
        return _no_run(request, key)
    nav = _nav(request, key, pages)
    if segment not in {int(s) for s in pages.view.segments["segment"]}:
        return _page(request, "message.html.j2", status_code=404, title="No such segment",
                     heading="No such segment", key="missing", nav=nav, active="segment",
                     sentences=[f"Run {pages.view.run_id} has no segment {segment}."])
    name = f"segment-{segment}"
    if name not in pages.sections:
        facts = await run_in_threadpool(_facts, pages, state)
        pages.sections[name] = await run_in_threadpool(segment_pages.segment_section, facts,
                                                       segment)
    section = pages.sections[name]
    loyalty = await run_in_threadpool(_insight, state, _INSIGHT_PAGES["loyalty"], pages)
    extra = segment_loyalty_section(loyalty, section.title, segment) if loyalty else None
    return _page(request, "sections.html.j2", title=section.title, active="segment",
                 heading=section.title, nav=nav, sections=[section, *([extra] if extra else [])],
                 lead=f"Segment {segment} of run {pages.view.run_id}")


@router.get("/dashboard/customers")
async def customer_page(request: Request, customer_id: str = "") -> Response:
    """Look up a customer: their segment, confidence and the features that place them."""
    key = await _key_or_login(request, "customers:read")
    if isinstance(key, Response):
        return key
    state = get_state(request)
    pages = await run_in_threadpool(_run_pages, request.app, state)
    values: dict[str, Any] = {"customer_id": customer_id.strip(), "error": "",
                              "sections": [], "segment_href": ""}
    status_code = 200
    if values["customer_id"] and pages is not None:
        try:
            values.update(await run_in_threadpool(_explain, state, pages, values["customer_id"],
                                                  key, str(request.scope.get("root_path", ""))))
        except (LookupError, ModelFileError) as exc:
            values["error"], status_code = str(exc).strip("'\""), 404
    elif pages is None:
        values["error"] = "This workspace has no segmentation run yet."
    return _page(request, "customer.html.j2", status_code=status_code, title="Customers",
                 active="customer", heading="Customer lookup", nav=_nav(request, key, pages),
                 **values)


def _explain(state: ServiceState, pages: _RunPages, customer_id: str, key: ApiKeyRecord,
             base: str) -> dict[str, Any]:
    with state.lock:
        result = explain_in_run(state.workspace, customer_id, pages.view.run_id,
                                actor=key.key_id)
    return {"sections": [customer_section(result, pages.view.schema.meanings)],
            "segment_href": f"{base}/dashboard/segments/{result.segment}"}


@router.get("/dashboard/{slug}")
async def insight_page(request: Request, slug: str) -> Response:
    """An insight page: its sections, or "not computed yet" with the command to run."""
    key = await _key_or_login(request, "aggregates")
    if isinstance(key, Response):
        return key
    state = get_state(request)
    page = _INSIGHT_PAGES.get(slug)
    pages = await run_in_threadpool(_run_pages, request.app, state)
    nav = _nav(request, key, pages)
    if page is None:
        return _page(request, "message.html.j2", status_code=404, title="No such page",
                     heading="No such page", key="missing", nav=nav,
                     sentences=[f"There is no dashboard page {slug!r}."])
    result = await run_in_threadpool(_insight, state, page, pages) if pages else None
    if result is None or not has_section_builder(result):
        return _page(request, "message.html.j2", title=page.title, heading=page.title,
                     key=f"{slug}-not-computed", nav=nav, active=slug, sentences=[
                         f"Not computed yet. This page will show {page.about}.",
                         f"Compute it with `{page.command}`, then reload this page."])
    sections = await run_in_threadpool(build_sections, result)
    return _page(request, "sections.html.j2", title=page.title, heading=page.title, nav=nav,
                 active=slug, sections=sections)


def _insight(state: ServiceState, page: InsightPage, pages: _RunPages) -> Any:
    with state.lock:
        return page.load(state.workspace, pages.view.run_id)


def _safe_next(target: str) -> str:
    """A same-site path to go to after logging in (anything else goes to the overview).

    >>> _safe_next("/dashboard/segments/2"), _safe_next("https://elsewhere.example/")
    ('/dashboard/segments/2', '/')
    """
    return target if target.startswith("/") and not target.startswith("//") else "/"
