"""``/insights/...``: a run's stored loyalty, campaigns, targeting plan and layout.

Each answers what the command kept with the run (the served run by default, or
``?run_id=``); nothing is computed in a request. A result not computed yet is 404 with the
command that computes it (``mallseg loyalty --run 0002``); ``/insights`` lists which results
the run has. ``/insights/plan`` is another name of ``/insights/targets``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from mallseg.app.insight_views import StoredInsight, insights_of_run, stored_insight
from mallseg.service.auth import ApiKeyRecord, require
from mallseg.service.errors import ERROR_RESPONSES
from mallseg.service.payloads.common import ErrorPublic, Page, page_parameters
from mallseg.service.payloads.insights import (
    AffinityDimension,
    CampaignsPublic,
    InsightsPublic,
    InsightStatePublic,
    LayoutPublic,
    LoyaltyPublic,
    StorePairsPublic,
    TargetingPublic,
)
from mallseg.service.state import ServiceState, get_state
from mallseg.workspace import RunNotFoundError

__all__ = ["KIND_PATHS", "router"]

router = APIRouter(prefix="/insights", tags=["insights"], responses={
    **ERROR_RESPONSES,
    404: {"model": ErrorPublic, "description": "No such run, or the result was not computed "
                                               "for it (the body names the command)."}})

KIND_PATHS = {"loyalty": "/insights/loyalty", "campaigns": "/insights/campaigns",
              "targeting": "/insights/targets", "layout": "/insights/layout",
              "recommendations": "/customers/{customer_id}/recommendations"}
"""Stored insight kind -> where the API serves it."""

Reader = Annotated[ApiKeyRecord, Depends(require("aggregates"))]
State = Annotated[ServiceState, Depends(get_state)]
Paging = Annotated[Page, Depends(page_parameters)]
RunQuery = Annotated[str | None, Query(max_length=40, description="A segmentation run "
                                       "(default: the one the service scores with).")]


def _stored(state: ServiceState, kind: str, run_id: str | None) -> StoredInsight:
    try:
        with state.lock:
            return stored_insight(state.workspace, kind,
                                  run_id if run_id is not None else state.model().run_id)
    except (RunNotFoundError, LookupError) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc).strip("'\"")) from exc


@router.get("")
def insights(key: Reader, state: State, page: Paging, run_id: RunQuery = None
             ) -> InsightsPublic:
    """Which results the run has (and when they were computed), and the command for the rest."""
    try:
        with state.lock:
            found = insights_of_run(state.workspace,
                                    run_id if run_id is not None else state.model().run_id)
    except RunNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc).strip("'\"")) from exc
    rows = [InsightStatePublic(kind=i.kind, computed=i.computed, computed_at=i.computed_at,
                               path=KIND_PATHS[i.kind], command=i.command) for i in found]
    return InsightsPublic(run_id=found[0].run_id, count=len(rows),
                          data=rows[page.offset:page.offset + page.limit])


@router.get("/loyalty")
def loyalty(key: Reader, state: State, page: Paging, run_id: RunQuery = None) -> LoyaltyPublic:
    """Loyalty and value per segment: activity, return, forecasts, customers at risk."""
    found = _stored(state, "loyalty", run_id)
    return LoyaltyPublic.from_stored(found.payload, run_id=found.run_id,
                                     computed_at=found.computed_at, offset=page.offset,
                                     limit=page.limit)


@router.get("/campaigns")
def campaigns(key: Reader, state: State, page: Paging, run_id: RunQuery = None
              ) -> CampaignsPublic:
    """Uplift per campaign and segment against holdouts, with intervals, and the playbook."""
    found = _stored(state, "campaigns", run_id)
    return CampaignsPublic.from_stored(found.payload, run_id=found.run_id,
                                       computed_at=found.computed_at, offset=page.offset,
                                       limit=page.limit)


@router.get("/targets")
@router.get("/plan", include_in_schema=False)
def targets(key: Reader, state: State, page: Paging, run_id: RunQuery = None
            ) -> TargetingPublic:
    """The next campaign's targeting plan: method, contacts per segment, expected uplift."""
    found = _stored(state, "targeting", run_id)
    return TargetingPublic.from_stored(found.payload, run_id=found.run_id,
                                       computed_at=found.computed_at, offset=page.offset,
                                       limit=page.limit)


@router.get("/layout")
def layout(key: Reader, state: State, page: Paging, run_id: RunQuery = None,
           dimension: Annotated[AffinityDimension, Query(
               description="Which affinity table to page through.")] = "category",
           ) -> LayoutPublic:
    """Segment x category (store, zone) affinity as lift, and layout suggestions."""
    found = _stored(state, "layout", run_id)
    return LayoutPublic.from_stored(found.payload, run_id=found.run_id,
                                    computed_at=found.computed_at, dimension=dimension,
                                    offset=page.offset, limit=page.limit)


@router.get("/layout/pairs")
def layout_pairs(key: Reader, state: State, page: Paging, run_id: RunQuery = None
                 ) -> StorePairsPublic:
    """Stores bought from together, with support, confidence and lift."""
    found = _stored(state, "layout", run_id)
    return StorePairsPublic.from_stored(found.payload, run_id=found.run_id,
                                        computed_at=found.computed_at, offset=page.offset,
                                        limit=page.limit)


@router.get("/{kind}", include_in_schema=False)
def unknown_insight(kind: str, key: Reader) -> None:
    """Any other insight: 404 naming those there are."""
    raise HTTPException(status.HTTP_404_NOT_FOUND,
                        detail=f"there is no insight {kind!r}: expected one of "
                               f"{', '.join(_INSIGHTS_HERE)}")


_INSIGHTS_HERE = [p.removeprefix("/insights/") for p in KIND_PATHS.values()
                  if p.startswith("/insights/")]

