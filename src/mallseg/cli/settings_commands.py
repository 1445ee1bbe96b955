"""``mallseg settings``: the workspace's privacy settings (consent rule, sensitive features)."""

from __future__ import annotations

from typing import Annotated

import typer

from mallseg.cli.console import console, escape, fail
from mallseg.cli.state import WorkspaceOption, open_workspace

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``settings`` (show) and ``settings set NAME VALUE`` to ``app``."""
    group = typer.Typer(help="Workspace privacy settings: marketing consent rule, "
                             "sensitive features.", invoke_without_command=True)
    group.callback()(show)
    group.command("set")(set_setting)
    app.add_typer(group, name="settings")


def show(ctx: typer.Context, workspace: WorkspaceOption = None) -> None:
    """Show every setting with its value, its default and what it decides."""
    if ctx.invoked_subcommand is not None:
        return
    from mallseg.app.consent_settings import show_settings

    with open_workspace(ctx, workspace, create=False) as ws:
        result = show_settings(ws)
    for s in result.settings:
        console.print(f"{s.name} = {s.value} (default {s.default}; one of "
                      f"{', '.join(s.values)}): {escape(s.meaning)}", highlight=False)


def set_setting(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="marketing_consent or sensitive_features.")],
    value: Annotated[str, typer.Argument(help="The new value.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Change a setting (recorded in the audit log)."""
    from mallseg.app.consent_settings import change_setting

    with open_workspace(ctx, workspace, create=False) as ws:
        try:
            change = change_setting(ws, name, value)
        except ValueError as exc:
            raise fail(str(exc)) from exc
    console.print(f"{change.name}: {change.previous} -> {change.value}", highlight=False)
