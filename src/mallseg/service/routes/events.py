"""``/customers/{id}/events``: record visits, purchases and campaign responses."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status

from mallseg.app.live import CustomerNotFoundError
from mallseg.app.live_events import EventsRejectedError, record_events
from mallseg.service.auth import ApiKeyRecord, require
from mallseg.service.errors import ERROR_RESPONSES, unprocessable
from mallseg.service.payloads.common import ErrorPublic
from mallseg.service.payloads.events import EventsCreate, EventsRecordedPublic
from mallseg.service.routes.customers import CustomerPath
from mallseg.service.state import ServiceState, get_state

__all__ = ["router"]

router = APIRouter(prefix="/customers", tags=["events"], responses={
    **ERROR_RESPONSES, 404: {"model": ErrorPublic, "description": "Unknown customer."},
    503: {"model": ErrorPublic, "description": "No model to serve."}})


@router.post("/{customer_id}/events", status_code=status.HTTP_201_CREATED)
def post_events(
    customer_id: CustomerPath,
    body: EventsCreate,
    key: Annotated[ApiKeyRecord, Depends(require("events:write"))],
    state: Annotated[ServiceState, Depends(get_state)],
) -> EventsRecordedPublic:
    """Record a customer's events and answer with their segment now.

    Events are checked as ingest checks a file's rows (all or none are recorded); the
    customer's features are recomputed from their own rows and they are placed again.
    Posting the same event twice records it once.
    """
    model = state.model()
    try:
        with state.lock:
            recorded = record_events(state.workspace, model, customer_id, body.rows(),
                                     actor=key.key_id)
    except CustomerNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except EventsRejectedError as exc:
        raise unprocessable([(["body", p.kind, p.index, p.field], p.message)
                             for p in exc.problems]) from exc
    return EventsRecordedPublic.from_result(recorded)
