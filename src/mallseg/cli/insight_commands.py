"""Commands that turn a segmentation into action: ``loyalty`` (more as insights land)."""

from __future__ import annotations

from typing import Annotated

import typer

from mallseg.cli.console import console, escape, fail
from mallseg.cli.state import WorkspaceOption, open_workspace

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the insight commands to ``app``."""
    app.command("loyalty")(loyalty)


def loyalty(
    ctx: typer.Context,
    run_id: Annotated[str | None, typer.Option("--run", help="Run (default: latest).")] = None,
    horizon: Annotated[int, typer.Option(min=7, help="Forecast horizon in days.")] = 90,
    workspace: WorkspaceOption = None,
) -> None:
    """Loyalty and value per segment: repeat visits, activity, risk, what brings them back."""
    from rich.table import Table

    from mallseg.app.insights import InsightUnavailable, loyalty_for_run

    with open_workspace(ctx, workspace, create=False) as ws:
        try:
            insight = loyalty_for_run(ws, run_id, horizon_days=horizon)
        except (InsightUnavailable, LookupError, ValueError) as exc:
            raise fail(str(exc)) from exc
    result = insight.result
    segments = result.segments
    table = Table(title=f"Loyalty by segment (run {insight.run_id}, as of "
                        f"{result.as_of:%Y-%m-%d}, next {result.horizon_days:.0f} days)")
    segments = segments.reset_index() if "segment" not in segments.columns else segments
    shown = [c for c in ("segment", "customers", "repeat_visitor_share",
                         "median_days_between_visits", "active_share",
                         "expected_visits_per_customer", "expected_spend_per_buyer",
                         "at_risk_customers") if c in segments.columns]
    for column in shown:
        table.add_column(column.replace("_", " "), justify="left" if column == "segment"
                         else "right")
    for _, row in segments.iterrows():
        table.add_row(*(_cell(row[c]) for c in shown))
    console.print(table)
    if result.at_risk_rule is not None:
        console.print(f"At risk: {escape(result.at_risk_rule.describe())}", highlight=False)
    if result.drivers is not None:
        console.print("What goes with coming back:", highlight=False)
        for found in result.drivers.segments:
            console.print(f"  {escape(str(found.segment))}: {escape(found.summary)}",
                          highlight=False)
    for note in result.notes:
        console.print(f"note: {escape(note)}", highlight=False)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:
            return ""
        if 0 <= value <= 1:
            return f"{value:.0%}"
        return f"{value:,.1f}"
    return escape(str(value))
