"""Commands of the HTTP service: ``serve`` and ``keys create|list|revoke``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mallseg.cli.console import console, escape, fail
from mallseg.cli.state import WorkspaceOption, workspace_path

if TYPE_CHECKING:
    from mallseg.workspace import Workspace

__all__ = ["register"]

keys_app = typer.Typer(help="Create, list and revoke the HTTP service's API keys.",
                       no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``keys`` to ``app``."""
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(
        help="Address to listen on (default 127.0.0.1: this machine only).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535,
                                             help="Port (default 8321).")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, help="Processes: 1 (one process owns the workspace).")] = None,
    rate: Annotated[float | None, typer.Option(
        min=0.001, help="Requests per second allowed per API key (default 100).")] = None,
    burst: Annotated[int | None, typer.Option(
        min=1, help="Requests per API key allowed at once (default 200).")] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Serve the workspace over HTTP: scoring, segments, events, API docs at /docs.

    On the first start (no API key yet) an admin key is created and printed once.
    """
    from pydantic import ValidationError

    from mallseg.service.server import ServiceStartError
    from mallseg.service.server import serve as run_service
    from mallseg.service.settings import ServiceSettings
    from mallseg.workspace import WorkspaceError

    given: dict[str, Any] = {"host": host, "port": port, "workers": workers,
                             "rate_per_second": rate, "rate_burst": burst,
                             "access_log": True if access_log else None}
    try:
        chosen = {k: v for k, v in given.items() if v is not None}
        settings = ServiceSettings(**chosen)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise fail(f"MALLSEG_SERVICE_{'_'.join(map(str, first['loc'])).upper()}: "
                   f"{first['msg']}") from exc
    folder = workspace_path(ctx, workspace)

    def announce(line: str) -> None:
        console.print(escape(line), highlight=False)
        sys.stdout.flush()

    try:
        run_service(folder, settings, announce)
    except WorkspaceError as exc:
        raise fail(_held_message(folder, exc)) from exc
    except (ValueError, ServiceStartError) as exc:
        raise fail(str(exc)) from exc


@keys_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Who or what uses the key (e.g. crm-sync).")],
    scopes: Annotated[str, typer.Option(
        help="Comma-separated: aggregates, customers:read, events:write, admin.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the key as JSON.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Create an API key; its secret is printed once and kept nowhere."""
    from mallseg.app.keys import create_key

    with _keys_workspace(ctx, workspace) as ws:
        try:
            created = create_key(ws, name, scopes)
        except ValueError as exc:
            raise fail(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps(created.to_dict()))
        return
    info = created.info
    console.print(f"Created API key {info.key_id} ({escape(info.name)}; scopes "
                  f"{', '.join(sorted(info.scopes))}). Its secret, shown only now:",
                  highlight=False)
    typer.echo(created.secret)


@keys_app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the keys as JSON.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """List the API keys (never their secrets), revoked ones included."""
    from rich.table import Table as RichTable

    from mallseg.app.keys import list_keys

    with _keys_workspace(ctx, workspace) as ws:
        keys = list_keys(ws)
    if as_json:
        typer.echo(json.dumps([k.to_dict() for k in keys]))
        return
    if not keys:
        console.print("No API key yet: `mallseg keys create --name NAME --scopes admin`, or "
                      "start `mallseg serve`, which makes an admin key on its first start.")
        return
    table = RichTable("key", "name", "scopes", "created", "last used", "status")
    for key in keys:
        table.add_row(key.key_id, escape(key.name), ", ".join(sorted(key.scopes)),
                      _when(key.created_at), _when(key.last_used_at),
                      "active" if key.active else f"revoked {_when(key.revoked_at)}")
    console.print(table)


@keys_app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key's id (see `mallseg keys list`).")],
    workspace: WorkspaceOption = None,
) -> None:
    """Revoke an API key: the service refuses it from then on."""
    from mallseg.app.keys import KeyNotFoundError, revoke_key

    with _keys_workspace(ctx, workspace) as ws:
        try:
            revoked = revoke_key(ws, key_id)
        except KeyNotFoundError as exc:
            raise fail(str(exc)) from exc
    console.print(f"Revoked API key {revoked.key_id} ({escape(revoked.name)}) at "
                  f"{_when(revoked.revoked_at)}.", highlight=False)


@contextmanager
def _keys_workspace(ctx: typer.Context, workspace: Path | None) -> Iterator[Workspace]:
    from mallseg.workspace import Workspace, WorkspaceError

    folder = workspace_path(ctx, workspace)
    try:
        ws = Workspace.open(folder, create=False)
    except WorkspaceError as exc:
        raise fail(_held_message(folder, exc, keys=True)) from exc
    with ws:
        yield ws


def _held_message(folder: Path, exc: Exception, *, keys: bool = False) -> str:
    """The error, naming the service that holds the workspace when one does."""
    from mallseg.service.lockfile import holder_sentence

    holder = holder_sentence(folder.resolve())
    if holder is None:
        return str(exc)
    also = " (keys: POST/GET/DELETE /keys with an admin key)" if keys else ""
    return f"workspace {folder.resolve()} is in use: {holder}{also}"


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"
