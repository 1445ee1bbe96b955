"""``/customers/{id}/segment``: a known customer's segment and its profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status

from mallseg.app.live import CustomerNotFoundError, customer_segment
from mallseg.service.auth import ApiKeyRecord, require
from mallseg.service.errors import ERROR_RESPONSES
from mallseg.service.payloads.common import ErrorPublic
from mallseg.service.payloads.segments import CustomerSegmentPublic
from mallseg.service.state import ServiceState, get_state

__all__ = ["CustomerPath", "router"]

router = APIRouter(prefix="/customers", tags=["customers"], responses={
    **ERROR_RESPONSES, 404: {"model": ErrorPublic, "description": "Unknown customer."}})

CustomerPath = Annotated[str, Path(min_length=1, max_length=200,
                                   description="The customer's id, as ingested.")]


@router.get("/{customer_id}/segment")
def lookup_customer(
    customer_id: CustomerPath,
    key: Annotated[ApiKeyRecord, Depends(require("customers:read"))],
    state: Annotated[ServiceState, Depends(get_state)],
) -> CustomerSegmentPublic:
    """The customer's segment (live, after their latest events, else the run's) and profile."""
    model = state.model()
    try:
        with state.lock:
            found = customer_segment(state.workspace, model, customer_id)
    except CustomerNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    finally:
        state.audit.record(key.key_id, "lookup_customer", customer_id, {"run_id": model.run_id})
    return CustomerSegmentPublic.from_result(found)
