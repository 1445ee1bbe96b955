"""State shared by the commands of one ``mallseg`` invocation, and the workspace option.

``--workspace`` may be given before the command (``mallseg --workspace ws status``) or
after it (``mallseg status --workspace ws``); after the command wins.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mallseg.cli.console import fail

if TYPE_CHECKING:
    from mallseg.workspace import Workspace

__all__ = ["CliState", "WorkspaceOption", "open_workspace", "workspace_path"]

WorkspaceOption = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", envvar="MALLSEG_WORKSPACE",
                 help="Workspace folder (default ./mallseg-workspace)."),
]


@dataclass
class CliState:
    """Options given before the command."""

    workspace: Path | None = None


def workspace_path(ctx: typer.Context, workspace: Path | None = None) -> Path:
    """The workspace folder this invocation works on."""
    from mallseg.workspace import resolve_workspace_path

    state: CliState | None = ctx.obj
    return resolve_workspace_path(workspace or (state.workspace if state else None))


@contextmanager
def open_workspace(
    ctx: typer.Context, workspace: Path | None = None, *, read_only: bool = False,
    create: bool = True,
) -> Iterator[Workspace]:
    """Open the invocation's workspace, turning failures into one error line."""
    from mallseg.workspace import Workspace, WorkspaceError

    try:
        ws = Workspace.open(workspace_path(ctx, workspace), read_only=read_only, create=create)
    except WorkspaceError as exc:
        raise fail(str(exc)) from exc
    with ws:
        yield ws
