"""``/monitoring``: the latest drift check (verdict, reasons, windows) and model versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status

from mallseg.app.insight_views import InsightNotComputed, monitoring_status
from mallseg.service.auth import ApiKeyRecord, require
from mallseg.service.errors import ERROR_RESPONSES
from mallseg.service.payloads.common import ErrorPublic, Page, page_parameters
from mallseg.service.payloads.monitoring import MonitoringPublic
from mallseg.service.state import ServiceState, get_state

__all__ = ["router"]

router = APIRouter(prefix="/monitoring", tags=["monitoring"], responses={
    **ERROR_RESPONSES,
    404: {"model": ErrorPublic, "description": "No check has run (`mallseg monitor`)."}})


@router.get("")
def monitoring(
    key: Annotated[ApiKeyRecord, Depends(require("aggregates"))],
    state: Annotated[ServiceState, Depends(get_state)],
    page: Annotated[Page, Depends(page_parameters)],
) -> MonitoringPublic:
    """The latest drift check, its verdict with reasons, and every model version.

    With the windows compared, the segments' shares in each, and the features' drift (paged).
    """
    try:
        with state.lock:
            found = monitoring_status(state.workspace)
    except InsightNotComputed as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    return MonitoringPublic.from_status(found, offset=page.offset, limit=page.limit)
