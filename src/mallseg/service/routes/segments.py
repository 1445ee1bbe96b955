"""``/segments``: a run's segments and their profiles (the served run by default)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from mallseg.app.consent_makeup import makeup_for_run
from mallseg.app.live import list_segments
from mallseg.service.auth import ApiKeyRecord, require
from mallseg.service.errors import ERROR_RESPONSES
from mallseg.service.payloads.common import ErrorPublic, Page, page_parameters
from mallseg.service.payloads.segments import MakeupPublic, SegmentPublic, SegmentsPublic
from mallseg.service.state import ServiceState, get_state
from mallseg.workspace import RunNotFoundError

__all__ = ["router"]

router = APIRouter(prefix="/segments", tags=["segments"], responses={
    **ERROR_RESPONSES, 404: {"model": ErrorPublic, "description": "No such run or segment."}})

Reader = Annotated[ApiKeyRecord, Depends(require("aggregates"))]
State = Annotated[ServiceState, Depends(get_state)]
RunQuery = Annotated[str | None, Query(max_length=40, description="A segmentation run "
                                       "(default: the one the service scores with).")]


@router.get("")
def segments(key: Reader, state: State, page: Annotated[Page, Depends(page_parameters)],
             run_id: RunQuery = None) -> SegmentsPublic:
    """A page of the run's segments with their sizes, descriptions and profiles."""
    with state.lock:
        run = _run(state, run_id)
        found = list_segments(state.workspace, run, offset=page.offset, limit=page.limit)
    return SegmentsPublic(run_id=found.run_id, count=found.count,
                          data=[SegmentPublic.model_validate(s) for s in found.segments])


@router.get("/makeup")
def makeup(key: Reader, state: State, run_id: RunQuery = None) -> MakeupPublic:
    """Each segment's make-up by gender and age band against all the run's customers."""
    with state.lock:
        run = _run(state, run_id)
        chosen, found = makeup_for_run(state.workspace, run)
    return MakeupPublic.model_validate({"run_id": chosen, **found.to_dict()})


@router.get("/{segment_id}")
def segment(segment_id: Annotated[int, Path(ge=-2, le=100_000)], key: Reader, state: State,
            run_id: RunQuery = None) -> SegmentPublic:
    """One segment of the run."""
    with state.lock:
        run = _run(state, run_id)
        found = list_segments(state.workspace, run, segment_id=segment_id, limit=1)
    if not found.segments:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail=f"run {run} has no segment {segment_id}")
    return SegmentPublic.model_validate(found.segments[0])


def _run(state: ServiceState, run_id: str | None) -> str:
    if run_id is None:
        return state.model().run_id
    try:
        return state.workspace.get_run(run_id, "segment").run_id
    except RunNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
