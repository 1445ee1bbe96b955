"""``DELETE /customers/{id}``: erase a customer on request (``admin`` scope).

The same erasure as ``mallseg forget`` (:mod:`mallseg.app.forget`): the customer leaves
every table, run, insight result, audit detail and file of the workspace, a tombstone
keeps them out of later loads, and the database file is compacted. Audit lines still
queued are written first, so that they are erased too; afterwards the served model and the
dashboard's pages are reread, so that nothing of the customer stays in the service's
memory. The answer holds counts and names, never the id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel

from mallseg.app.forget import UnknownIdError, forget_customer
from mallseg.service.auth import ApiKeyRecord, require
from mallseg.service.errors import ERROR_RESPONSES
from mallseg.service.routes.customers import CustomerPath
from mallseg.service.state import ServiceState, get_state

__all__ = ["ErasurePublic", "router"]

router = APIRouter(prefix="/customers", tags=["customers"], responses={**ERROR_RESPONSES})


class ErasurePublic(BaseModel):
    """What erasing one customer removed (never the id)."""

    found: bool
    rows_removed: dict[str, int]
    quarantine_rows: int
    insight_results_changed: int
    runs_to_refit: list[str]
    models_purged: list[str]
    files_rewritten: list[str]
    files_removed: list[str]
    already_erased: bool
    bytes_freed: int
    translated: bool


@router.delete("/{customer_id}")
def erase_customer(
    request: Request,
    customer_id: CustomerPath,
    key: Annotated[ApiKeyRecord, Depends(require("admin"))],
    state: Annotated[ServiceState, Depends(get_state)],
) -> ErasurePublic:
    """Erase the customer everywhere in the workspace and keep them out of later loads."""
    state.audit.flush()
    try:
        with state.lock:
            result = forget_customer(state.workspace, customer_id, actor=key.key_id)
            if result.found:
                # nothing of the customer stays in memory either: the served model (a purged
                # model file is not served from memory) and the dashboard's pages are reread
                state.reload_model()
                request.app.state.dashboard_pages = {}
    except UnknownIdError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from exc
    return ErasurePublic.model_validate(result.to_dict())
