"""``/keys``: create, list and revoke API keys (``admin`` scope).

While the service runs it owns the workspace, so this is how keys change meanwhile; with
the service stopped, ``mallseg keys`` does the same from the command line.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status

from mallseg.app.keys import KeyNotFoundError, create_key, list_keys, revoke_key
from mallseg.service.auth import ApiKeyRecord, forget_key, require
from mallseg.service.errors import ERROR_RESPONSES
from mallseg.service.payloads.common import ErrorPublic, Page, page_parameters
from mallseg.service.payloads.keys import KeyCreate, KeyCreatedPublic, KeyPublic, KeysPublic
from mallseg.service.state import ServiceState, get_state

__all__ = ["router"]

router = APIRouter(prefix="/keys", tags=["keys"], responses={
    **ERROR_RESPONSES, 404: {"model": ErrorPublic, "description": "No such key."}})

Admin = Annotated[ApiKeyRecord, Depends(require("admin"))]
State = Annotated[ServiceState, Depends(get_state)]


@router.get("")
def keys(key: Admin, state: State, page: Annotated[Page, Depends(page_parameters)]
         ) -> KeysPublic:
    """Every key, oldest first, revoked ones included (never a secret)."""
    with state.lock:
        found = list_keys(state.workspace)
    chosen = found[page.offset:page.offset + page.limit]
    return KeysPublic(data=[KeyPublic.from_info(k) for k in chosen], count=len(found))


@router.post("", status_code=status.HTTP_201_CREATED)
def new_key(body: KeyCreate, key: Admin, state: State) -> KeyCreatedPublic:
    """Create a key; the answer holds its secret, shown this once."""
    with state.lock:
        created = create_key(state.workspace, body.name, body.scopes, actor=key.key_id)
    return KeyCreatedPublic.model_validate(created.to_dict())


@router.delete("/{key_id}")
def revoke(key_id: Annotated[str, Path(min_length=1, max_length=40)], key: Admin,
           state: State) -> KeyPublic:
    """Revoke a key: from now on it is refused (401)."""
    try:
        with state.lock:
            revoked = revoke_key(state.workspace, key_id, actor=key.key_id)
    except KeyNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    forget_key(state, key_id)
    return KeyPublic.from_info(revoked)
