"""Run the service: open the workspace, make the first admin key, serve with Uvicorn.

Examples
--------
>>> check_settings(ServiceSettings(workers=2))
Traceback (most recent call last):
...
ValueError: --workers 2: the service runs as one process, since one process owns the workspace (DuckDB allows one writer per file); one worker scores thousands of customers a second
"""  # noqa: E501

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from pathlib import Path

import uvicorn
from threadpoolctl import threadpool_limits

from mallseg.app.keys import first_admin_key
from mallseg.service.app import create_app
from mallseg.service.settings import ServiceSettings

__all__ = ["ServiceStartError", "check_settings", "serve"]

log = logging.getLogger(__name__)


class ServiceStartError(RuntimeError):
    """The service could not start listening (the message says why and what to do).

    >>> str(ServiceStartError("cannot listen on 127.0.0.1:8321 (Address already in use)"))
    'cannot listen on 127.0.0.1:8321 (Address already in use)'
    """


def check_settings(settings: ServiceSettings) -> None:
    """Refuse settings the service cannot run with (the module's example is a refusal).

    Raises
    ------
    ValueError
        For more than one worker.
    """
    if settings.workers != 1:
        raise ValueError(
            f"--workers {settings.workers}: the service runs as one process, since one "
            "process owns the workspace (DuckDB allows one writer per file); one worker "
            "scores thousands of customers a second")


def serve(workspace_path: str | Path, settings: ServiceSettings,
          announce: Callable[[str], None]) -> None:
    """Serve the workspace until interrupted; ``announce`` gets the lines a user must see.

    ``mallseg serve`` runs it; ``tests/service`` start it in a subprocess.

    Raises
    ------
    ValueError
        For settings the service cannot run with.
    ServiceStartError
        When the address is taken.
    mallseg.workspace.WorkspaceError
        When the workspace is missing or held by another process.
    """
    check_settings(settings)
    _check_address(settings.host, settings.port)
    app = create_app(workspace_path, settings=settings)
    state = app.state.service
    try:
        with state.lock:
            created = first_admin_key(state.workspace, actor="serve")
        if created is not None:
            announce(f"First start: created the admin key {created.key_id}. Its secret, "
                     "shown only now (store it; make narrower keys with POST /keys or "
                     "`mallseg keys create`):")
            announce(created.secret)
        announce(f"mallseg service at {settings.url} (API docs: {settings.url}/docs), "
                 f"workspace {state.workspace.folder}; Ctrl+C stops it")
        config = uvicorn.Config(app, host=settings.host, port=settings.port,
                                log_level="warning", access_log=settings.access_log,
                                server_header=False)
        server = uvicorn.Server(config)
        try:
            # Requests score one customer with matrices of a few dozen numbers, each in a
            # thread of its own: BLAS threads would only contend with each other.
            with threadpool_limits(limits=1):
                server.run()
        except SystemExit as exc:
            raise ServiceStartError(
                f"the service could not start on {settings.url}: see the lines above") from exc
    finally:
        with state.lock:
            state.workspace.close()


def _check_address(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServiceStartError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}): choose another "
                "--port, or stop what uses it") from exc
