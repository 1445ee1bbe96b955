"""``/audit``: the workspace's audit log, newest first (``admin`` scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from mallseg.app.keys import audit_lines
from mallseg.service.auth import ApiKeyRecord, require
from mallseg.service.errors import ERROR_RESPONSES
from mallseg.service.payloads.audit import AuditLinePublic, AuditLinesPublic
from mallseg.service.payloads.common import Page, page_parameters
from mallseg.service.state import ServiceState, get_state

__all__ = ["router"]

router = APIRouter(prefix="/audit", tags=["audit"], responses=ERROR_RESPONSES)

Filter = Annotated[str | None, Query(max_length=200)]


@router.get("")
def audit_log(
    key: Annotated[ApiKeyRecord, Depends(require("admin"))],
    state: Annotated[ServiceState, Depends(get_state)],
    page: Annotated[Page, Depends(page_parameters)],
    action: Filter = None, actor: Filter = None, target: Filter = None,
) -> AuditLinesPublic:
    """Who did what to which customer or key, when; filtered by action, actor or target."""
    state.audit.flush()
    with state.lock:
        found = audit_lines(state.workspace, offset=page.offset, limit=page.limit,
                            action=action, actor=actor, target=target)
    return AuditLinesPublic(data=[AuditLinePublic.model_validate(line) for line in found.lines],
                            count=found.count)
