"""The FastAPI application over one workspace.

:func:`create_app` opens the workspace (for writing: see :mod:`mallseg.service`), loads
the latest segmentation run and includes one router per resource
(:data:`mallseg.service.routes.ROUTERS`), the dashboard's pages when
:mod:`mallseg.service.dashboard` exists, and ``/static`` when its folder does. Starting the
app writes the workspace's ``service.lock`` and the audit flusher; stopping it writes the
queued audit lines, removes the lock file and closes the workspace.

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "ws"
>>> Workspace.open(folder).close()
>>> app = create_app(folder)
>>> sorted(p for p in app.openapi()["paths"] if p.startswith("/s"))
['/score', '/score/batch', '/segments', '/segments/makeup', '/segments/{segment_id}']
>>> app.state.service.workspace.close()
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from mallseg import __version__
from mallseg.service.errors import install_error_handlers
from mallseg.service.lockfile import remove_service_lock, write_service_lock
from mallseg.service.openapi_security import install_security_schemes
from mallseg.service.routes import ROUTERS
from mallseg.service.settings import ServiceSettings
from mallseg.service.state import ServiceState
from mallseg.workspace import Workspace

__all__ = ["create_app"]

log = logging.getLogger(__name__)

_DASHBOARD = "mallseg.service.dashboard"
_STATIC = Path(__file__).parent / "static"

_DESCRIPTION = """Segments, scoring and events over one mallseg workspace.

Every endpoint but `/health` needs an API key: `Authorization: Bearer <key>` or
`X-API-Key: <key>`. Keys have scopes: `aggregates` (segments, profiles, model, the stored
insights, monitoring), `customers:read` (a customer's segment and recommendations,
scoring), `events:write` (recording events) and
`admin` (everything, keys and the audit log). Lists take `offset` and `limit` and answer
`{"data": [...], "count": N}`. A bad request is 422 with problems that name the field.
"""


def create_app(workspace_path: str | Path, *, settings: ServiceSettings | None = None
               ) -> FastAPI:
    """The service over the workspace at ``workspace_path`` (opened now, for writing).

    The module's example makes one.

    Raises
    ------
    mallseg.workspace.WorkspaceError
        When there is no workspace there, or another process holds it.
    """
    chosen = settings or ServiceSettings()
    workspace = Workspace.open(workspace_path, create=False)
    try:
        state = ServiceState.open(workspace, chosen)
    except BaseException:
        workspace.close()
        raise

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        write_service_lock(workspace.folder, chosen.url)
        state.audit.start()
        try:
            yield
        finally:
            state.audit.stop()
            remove_service_lock(workspace.folder)
            with state.lock:
                workspace.close()

    app = FastAPI(title="mallseg", version=__version__, description=_DESCRIPTION,
                  lifespan=lifespan)
    app.state.service = state
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    _include_dashboard(app)
    if _STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    install_security_schemes(app)
    return app


def _include_dashboard(app: FastAPI) -> None:
    try:
        dashboard = importlib.import_module(_DASHBOARD)
    except ModuleNotFoundError as exc:
        if exc.name != _DASHBOARD:
            log.warning("the dashboard is not served: %s", exc)
        return
    app.include_router(dashboard.router)
