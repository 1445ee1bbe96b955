"""``/health`` (is the process up: no key needed) and ``/ready`` (can it answer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from mallseg.service.auth import ApiKeyRecord, require
from mallseg.service.errors import ERROR_RESPONSES
from mallseg.service.payloads.model import ReadyPublic
from mallseg.service.state import ServiceState, get_state

__all__ = ["router"]

router = APIRouter(tags=["health"])

AnyKey = Annotated[ApiKeyRecord,
                   Depends(require("aggregates", "customers:read", "events:write"))]


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up (no key needed)."""
    return {"status": "ok"}


@router.get("/ready", responses={**ERROR_RESPONSES, 503: {"model": ReadyPublic}})
def ready(key: AnyKey, state: Annotated[ServiceState, Depends(get_state)],
          response: Response) -> ReadyPublic:
    """The workspace is open and a segmentation run is served (else 503, saying why)."""
    problem = state.model_problem()
    if problem is not None:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    model = state.model() if problem is None else None
    return ReadyPublic(ready=problem is None, workspace=str(state.workspace.folder),
                       run_id=model.run_id if model else None, problem=problem)
