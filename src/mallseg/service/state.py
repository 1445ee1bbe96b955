"""What one running service holds: the open workspace, its lock, the model, limits and audit.

The service process owns the workspace's writer connection (see :mod:`mallseg.service`).
DuckDB connections are not safe to share across threads unguarded, and request handlers
run in a thread pool: every use of ``workspace.connection`` happens with ``lock`` held.
The segmentation model lives in memory; scoring needs no database at all.

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> ws = Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws")
>>> state = ServiceState.open(ws, ServiceSettings())
>>> state.model_problem().endswith("has no segment run yet: run `mallseg segment` first")
True
>>> ws.close()
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request, status

from mallseg.app.live import LiveModel
from mallseg.segment.model_files import ModelFileError
from mallseg.service.audit_trail import AuditTrail
from mallseg.service.rate_limit import TokenBucketLimiter
from mallseg.service.settings import ServiceSettings
from mallseg.workspace import RunNotFoundError, Workspace

if TYPE_CHECKING:
    from mallseg.service.auth import ApiKeyRecord

__all__ = ["ServiceState", "current_state", "get_state"]

log = logging.getLogger(__name__)

_CHECKS_PER_SECOND = 2.0
_CHECK_BURST = 10


@dataclass
class ServiceState:
    """The running service's shared objects (one per process; see the module's example).

    Attributes
    ----------
    workspace:
        The open writer workspace.
    lock:
        Held around any use of ``workspace.connection``.
    settings:
        How the service runs.
    limiter:
        Requests per API key.
    check_limiter:
        scrypt checks of keys not yet verified, per key id (each costs tens of
        milliseconds of CPU: a guessing client must not be able to buy many).
    audit:
        Queued audit lines of customer-level reads.
    """

    workspace: Workspace
    lock: threading.RLock
    settings: ServiceSettings
    limiter: TokenBucketLimiter
    check_limiter: TokenBucketLimiter
    audit: AuditTrail
    _model: LiveModel | None = None
    _model_problem: str | None = None
    verified: dict[str, ApiKeyRecord] = field(default_factory=dict)
    """Presented-key digest -> the key record it verified as (cleared on revoke)."""

    @classmethod
    def open(cls, workspace: Workspace, settings: ServiceSettings) -> ServiceState:
        """The state of a service over ``workspace``, with its latest model loaded."""
        lock = threading.RLock()
        state = cls(
            workspace=workspace, lock=lock, settings=settings,
            limiter=TokenBucketLimiter(settings.rate_per_second, settings.rate_burst),
            check_limiter=TokenBucketLimiter(_CHECKS_PER_SECOND, _CHECK_BURST),
            audit=AuditTrail(workspace, lock, settings.audit_flush_seconds),
        )
        state.reload_model()
        return state

    def reload_model(self) -> LiveModel | None:
        """Load the latest segmentation run (None, with the reason kept, when there is none)."""
        with self.lock:
            try:
                self._model, self._model_problem = LiveModel.load(self.workspace), None
            except (RunNotFoundError, ModelFileError, LookupError, ValueError) as exc:
                self._model, self._model_problem = None, " ".join(str(exc).split())
                log.warning("no model to serve: %s", self._model_problem)
        return self._model

    def model_problem(self) -> str | None:
        """Why no model is served (None when one is)."""
        if self._model is None:
            self.reload_model()
        return self._model_problem

    def model(self) -> LiveModel:
        """The served model.

        Raises
        ------
        fastapi.HTTPException
            503 when the workspace has no usable segmentation run.
        """
        model = self._model or self.reload_model()
        if model is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                detail=f"no model to serve: {self._model_problem}")
        return model


def get_state(request: Request) -> ServiceState:
    """The service state of the app handling ``request`` (a FastAPI dependency).

    >>> from types import SimpleNamespace
    >>> request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(service="s")))
    >>> get_state(request)  # type: ignore[arg-type]
    's'
    """
    state: ServiceState = request.app.state.service
    return state


async def current_state(request: Request) -> ServiceState:
    """:func:`get_state` for routes that run on the event loop (no thread hop).

    >>> import asyncio
    >>> from types import SimpleNamespace
    >>> request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(service="s")))
    >>> asyncio.run(current_state(request))  # type: ignore[arg-type]
    's'
    """
    return get_state(request)
