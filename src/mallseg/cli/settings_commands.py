"""``mallseg settings`` and ``mallseg makeup``: privacy settings, and what they guard against.

``settings`` shows and changes the marketing consent rule, whether gender and age may be
segmentation features, and the minimum group size of every aggregate shown; ``makeup``
shows each segment's make-up by gender and age band against the population.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mallseg.cli.console import console, escape, fail
from mallseg.cli.state import WorkspaceOption, open_workspace

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``settings`` (show) and ``settings set NAME VALUE`` to ``app``."""
    group = typer.Typer(help="Workspace privacy settings: marketing consent rule, "
                             "sensitive features, minimum group size.", invoke_without_command=True)
    group.callback()(show)
    group.command("set")(set_setting)
    app.add_typer(group, name="settings")
    app.command("makeup")(makeup)


def show(ctx: typer.Context, workspace: WorkspaceOption = None) -> None:
    """Show every setting with its value, its default and what it decides."""
    if ctx.invoked_subcommand is not None:
        return
    from mallseg.app.consent_settings import show_settings

    with open_workspace(ctx, workspace, create=False) as ws:
        result = show_settings(ws)
    for s in result.settings:
        console.print(f"{s.name} = {s.value} (default {s.default}; {s.accepted}): "
                      f"{escape(s.meaning)}", highlight=False)


def set_setting(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(
        help="marketing_consent, sensitive_features or min_group_size.")],
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


def makeup(
    ctx: typer.Context,
    run_id: Annotated[str | None, typer.Option("--run", help="Run (default: latest).")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Each segment's make-up by gender and age band against the population."""
    from rich.table import Table

    from mallseg.app.consent_makeup import PROXY_POINTS, makeup_for_run

    with open_workspace(ctx, workspace, create=False) as ws:
        try:
            run, result = makeup_for_run(ws, run_id)
        except LookupError as exc:
            raise fail(str(exc)) from exc
    table = Table(title=f"Run {run}: make-up by gender and age band ({result.population:,} "
                        "customers)")
    for column in ("segment", "attribute", "group", "customers", "share", "all customers",
                   "difference"):
        table.add_column(column, justify="right" if column in ("customers", "share",
                                                               "all customers",
                                                               "difference") else "left")
    for row in result.rows:
        if row["customers"] is None:
            table.add_row(escape(row["segment"]), row["attribute"], escape(row["group"]),
                          "too few", "-", "-", "-")
            continue
        table.add_row(escape(row["segment"]), row["attribute"], escape(row["group"]),
                      f"{row['customers']:,}", f"{row['share']:.0%}",
                      f"{row['population_share']:.0%}", f"{row['difference_points']:+.0f} pts")
    console.print(table)
    for flag in result.flags:
        console.print(escape(flag), highlight=False)
    if not result.flags:
        console.print(f"No segment's share of a gender or age band exceeds the population's "
                      f"by {PROXY_POINTS:.0f} points or more.", highlight=False)
