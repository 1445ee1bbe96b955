"""State shared by the commands of one ``mallseg`` invocation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer

from mallseg.cli.console import fail
from mallseg.workspace import Workspace, WorkspaceError, resolve_workspace_path

__all__ = ["CliState", "open_workspace"]


@dataclass
class CliState:
    """Options given before the command."""

    workspace: Path | None = None

    @property
    def workspace_path(self) -> Path:
        """The workspace folder this invocation works on."""
        return resolve_workspace_path(self.workspace)


@contextmanager
def open_workspace(ctx: typer.Context, *, read_only: bool = False) -> Iterator[Workspace]:
    """Open the invocation's workspace, turning failures into one error line."""
    state: CliState = ctx.obj
    try:
        ws = Workspace.open(state.workspace_path, read_only=read_only)
    except WorkspaceError as exc:
        raise fail(str(exc)) from exc
    with ws:
        yield ws
