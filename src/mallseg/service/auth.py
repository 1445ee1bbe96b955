"""Access control: every endpoint but ``/health`` needs an API key with the right scope.

A key is read from ``Authorization: Bearer <key>``, else ``X-API-Key``, else the
dashboard's cookie ``mallseg_key``. :func:`require` makes the FastAPI dependency of a
route: no key, an unknown or a revoked key is 401; a key without the scope is 403
(``admin`` has every scope); a key over its rate is 429 with ``Retry-After``. A key is
checked against its scrypt hash once, then remembered (by a digest of the key, never the
key) until it is revoked through the service.

Examples
--------
>>> from fastapi import Depends, FastAPI
>>> app = FastAPI()
>>> @app.get("/segments")
... def segments(key: ApiKeyRecord = Depends(require("aggregates"))) -> dict[str, str]:
...     return {"key": key.key_id}
>>> require("read")
Traceback (most recent call last):
...
ValueError: scope 'read' is unknown: expected one or more of aggregates, customers:read, events:write, admin
"""  # noqa: E501

from __future__ import annotations

import hashlib
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool

from mallseg.app.keys import SCOPES, KeyInfo, key_id_of, parse_scopes, verify_secret
from mallseg.service.rate_limit import TokenBucketLimiter
from mallseg.service.state import ServiceState

__all__ = [
    "COOKIE_NAME",
    "HEADER_NAME",
    "SCOPES",
    "SCOPES_ATTRIBUTE",
    "ApiKeyRecord",
    "forget_key",
    "presented_key",
    "require",
    "verify_key",
]

COOKIE_NAME = "mallseg_key"
"""The cookie the dashboard keeps its key in."""

HEADER_NAME = "X-API-Key"
"""The header a key may come in instead of ``Authorization: Bearer``."""

SCOPES_ATTRIBUTE = "mallseg_scopes"
"""Set on every dependency :func:`require` makes: the scopes it admits (for the API docs)."""


@dataclass(frozen=True)
class ApiKeyRecord:
    """The key a request was made with.

    Examples
    --------
    >>> ApiKeyRecord("k0123456789", "crm", frozenset({"admin"})).allows("events:write")
    True
    """

    key_id: str
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        """Whether the key has ``scope`` (``admin`` has them all)."""
        return "admin" in self.scopes or scope in self.scopes

    @classmethod
    def from_info(cls, info: KeyInfo) -> ApiKeyRecord:
        """The record of a key as the workspace lists it."""
        return cls(info.key_id, info.name, info.scopes)


def verify_key(state: ServiceState, secret: str) -> ApiKeyRecord | None:
    """The active key ``secret`` is, or None (for the dashboard's login form).

    Blocks for the scrypt check the first time a key is seen: call it from a thread.

    >>> import tempfile, pathlib
    >>> from mallseg.app.keys import create_key
    >>> from mallseg.service.settings import ServiceSettings
    >>> from mallseg.workspace import Workspace
    >>> ws = Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws")
    >>> state = ServiceState.open(ws, ServiceSettings())
    >>> key = create_key(ws, "dashboard", "aggregates")
    >>> verify_key(state, key.secret).scopes, verify_key(state, "msk_k0000000000_x")
    (frozenset({'aggregates'}), None)
    >>> forget_key(state, key.key_id); state.verified
    {}
    >>> ws.close()
    """
    digest = _digest(secret)
    known = state.verified.get(digest)
    if known is not None:
        return known
    with state.lock:
        info = verify_secret(state.workspace, secret)
    if info is None:
        return None
    record = ApiKeyRecord.from_info(info)
    state.verified[digest] = record
    return record


def forget_key(state: ServiceState, key_id: str) -> None:
    """Drop ``key_id`` from the verified keys (after it is revoked; see :func:`verify_key`)."""
    for digest in [d for d, r in state.verified.items() if r.key_id == key_id]:
        state.verified.pop(digest, None)


def require(scope: str, *alternatives: str) -> Callable[..., Awaitable[ApiKeyRecord]]:
    """A dependency admitting keys with ``scope`` (or any of ``alternatives``).

    The module's example guards a route with it.

    Raises
    ------
    ValueError
        At definition, for a scope not in :data:`SCOPES`.
    """
    wanted = (scope, *alternatives)
    parse_scopes(wanted)

    async def dependency(request: Request) -> ApiKeyRecord:
        state: ServiceState = request.app.state.service
        presented = presented_key(request)
        if not presented:
            raise _unauthorised("no API key: send `Authorization: Bearer <key>` or "
                                "`X-API-Key: <key>` (create one with `mallseg keys create`)")
        record = state.verified.get(_digest(presented))
        if record is None:
            key_id = key_id_of(presented)
            if key_id is None:
                raise _unauthorised("that is not a mallseg API key (they start with msk_)")
            _limit(state.check_limiter, key_id)
            record = await run_in_threadpool(verify_key, state, presented)
            if record is None:
                raise _unauthorised(f"API key {key_id} is unknown or revoked")
        _limit(state.limiter, record.key_id)
        if not any(record.allows(s) for s in wanted):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"API key {record.key_id} lacks the scope {' or '.join(wanted)} "
                       f"(it has {', '.join(sorted(record.scopes))})")
        state.audit.note_use(record.key_id)
        return record

    dependency.__name__ = f"require_{'_or_'.join(s.replace(':', '_') for s in wanted)}"
    setattr(dependency, SCOPES_ATTRIBUTE, wanted)
    return dependency


def presented_key(request: Request) -> str | None:
    """The key a request carries: ``Authorization: Bearer``, else ``X-API-Key``, else cookie.

    The three are read here rather than by FastAPI's security classes: resolving three
    more dependencies per request would cost more than scoring a customer. The API docs
    declare them (:mod:`mallseg.service.openapi_security`).

    >>> from starlette.requests import Request
    >>> presented_key(Request({"type": "http", "headers": [(b"x-api-key", b"msk_k1_s")]}))
    'msk_k1_s'
    """
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    return request.headers.get(HEADER_NAME) or request.cookies.get(COOKIE_NAME) or None


def _limit(limiter: TokenBucketLimiter, key_id: str) -> None:
    wait = limiter.take(key_id)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"rate limit of {limiter.rate:g} requests per second (bursts of "
                   f"{limiter.burst}) reached for key {key_id}: retry in {seconds} s",
            headers={"Retry-After": str(seconds)})


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail,
                         headers={"WWW-Authenticate": "Bearer"})


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
