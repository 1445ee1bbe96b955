"""Commands that turn a segmentation into action: loyalty, campaigns, layout, recommend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mallseg.cli.console import console, escape, fail
from mallseg.cli.spark_commands import (
    ENGINES,
    EngineOption,
    InputsOption,
    SegmentsOption,
    SparkMasterOption,
    SparkRemoteOption,
    layout_with_spark_engine,
)
from mallseg.cli.state import WorkspaceOption, open_workspace

if TYPE_CHECKING:
    from mallseg.insights.campaigns import CampaignSummary
    from mallseg.insights.layout.pairs import StorePair

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the insight commands to ``app``."""
    app.command("loyalty")(loyalty)
    app.command("campaigns")(campaigns)
    app.command("layout")(layout)
    app.command("recommend")(recommend)


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


def campaigns(
    ctx: typer.Context,
    run_id: Annotated[str | None, typer.Option("--run", help="Run (default: latest).")] = None,
    min_cell: Annotated[int, typer.Option(
        min=2, help="Fewest customers in each arm for a cell to be judged.")] = 30,
    workspace: WorkspaceOption = None,
) -> None:
    """Campaign uplift per segment against holdouts, and what worked for whom."""
    from mallseg.app.insights import campaigns_for_run

    with open_workspace(ctx, workspace, create=False) as ws:
        try:
            insight = campaigns_for_run(ws, run_id, min_cell=min_cell)
        except (LookupError, ValueError) as exc:
            raise fail(str(exc)) from exc
    result = insight.result
    if result.message is not None:
        console.print(escape(result.message), highlight=False)
        return
    console.print(f"[bold]Campaigns[/] (run {insight.run_id}): uplift against the holdout, "
                  f"{result.confidence:.0%} intervals, Benjamini-Hochberg across "
                  f"{len(result.cells):,} cells", highlight=False)
    for summary in result.campaigns:
        console.print(f"  {escape(_campaign_line(summary))}", highlight=False)
    console.print("[bold]Playbook[/]", highlight=False)
    for playbook in result.playbook:
        console.print(f"  {escape(playbook.segment)}: {escape(playbook.summary)}",
                      highlight=False)
    for note in result.notes:
        console.print(f"note: {escape(note)}", highlight=False)


def _campaign_line(summary: CampaignSummary) -> str:
    name = summary.name or summary.campaign_id
    cell = summary.overall
    response = cell.response
    if response is None:
        return f"{name}: {cell.status.replace('_', ' ')} ({cell.n_targeted:,} targeted, " \
            f"{cell.n_holdout:,} held out)"
    return (f"{name}: response {response.treated:.1%} targeted vs {response.holdout:.1%} held "
            f"out, uplift {response.uplift:+.1%} ({response.low:+.1%} to {response.high:+.1%})")


def layout(
    ctx: typer.Context,
    run_id: Annotated[str | None, typer.Option("--run", help="Run (default: latest).")] = None,
    min_customers: Annotated[int, typer.Option(
        min=1, help="Fewest customers behind a number shown.")] = 30,
    engine: EngineOption = "duckdb",
    inputs: InputsOption = None,
    segments: SegmentsOption = None,
    spark_remote: SparkRemoteOption = None,
    spark_master: SparkMasterOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Store layout and merchandising: affinity, stores bought together, peak hours."""
    from mallseg.app.insights import layout_for_run

    if engine not in ENGINES:
        raise fail(f"--engine {engine!r}: expected duckdb or spark")
    if engine == "spark":
        of, result = layout_with_spark_engine(
            ctx, workspace=workspace, run_id=run_id, inputs=inputs, segments=segments,
            remote=spark_remote, master=spark_master, min_customers=min_customers)
    else:
        spark_only = [name for name, value in (
            ("--inputs", inputs), ("--segments", segments), ("--spark-remote", spark_remote),
            ("--spark-master", spark_master)) if value]
        if spark_only:
            raise fail(f"{', '.join(spark_only)} is for --engine spark")
        with open_workspace(ctx, workspace, create=False) as ws:
            try:
                insight = layout_for_run(ws, run_id, min_customers=min_customers)
            except (LookupError, ValueError) as exc:
                raise fail(str(exc)) from exc
        of, result = f"run {insight.run_id}", insight.result
    if result.message is not None:
        console.print(escape(result.message), highlight=False)
        return
    console.print(f"[bold]Layout and merchandising[/] ({escape(of)})", highlight=False)
    if result.pairs is not None:
        console.print("Stores bought together (highest lift):", highlight=False)
        for pair in result.pairs.top(5):
            console.print(f"  {escape(_pair_line(pair))}", highlight=False)
    console.print("Suggestions:", highlight=False)
    for suggestion in result.suggestions[:10]:
        console.print(f"  - {escape(suggestion.text)}", highlight=False)
    for note in result.notes:
        console.print(f"note: {escape(note)}", highlight=False)


def _pair_line(pair: StorePair) -> str:
    zones = " (different zones)" if pair.different_zone else ""
    return (f"{pair.name_a or pair.store_a} + {pair.name_b or pair.store_b}{zones}: lift "
            f"{pair.lift:.1f}, bought together {pair.together:,} times, confidence "
            f"{pair.confidence_a_to_b:.0%}")


def recommend(
    ctx: typer.Context,
    customer: Annotated[str | None, typer.Option(
        "--customer", help="Show one customer's suggestions.")] = None,
    evaluate: Annotated[bool, typer.Option(
        help="Evaluate on a time split against popularity baselines.")] = True,
    item: Annotated[str, typer.Option(help="store or category.")] = "store",
    top: Annotated[int, typer.Option(min=1, help="Suggestions per customer.")] = 5,
    run_id: Annotated[str | None, typer.Option("--run", help="Run (default: latest).")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Personalised store (or category) suggestions, evaluated against popularity."""
    from mallseg.app.insights import recommendations_for_run

    if item not in ("store", "category"):
        raise fail(f"--item {item!r}: expected store or category")
    with open_workspace(ctx, workspace, create=False) as ws:
        try:
            insight = recommendations_for_run(
                ws, run_id, item=item,  # type: ignore[arg-type]
                top_n=top, customer_id=customer, evaluate=evaluate)
        except (LookupError, ValueError) as exc:
            raise fail(str(exc)) from exc
    result = insight.result
    if result.message is not None:
        console.print(escape(result.message), highlight=False)
        return
    evaluation = result.evaluation
    if evaluation is not None:
        system = evaluation.score("system")
        console.print(
            f"Offline evaluation on the last {evaluation.test_days} days: hit rate@"
            f"{evaluation.hit_k} {system.hit_rate:.3f}, "
            f"{evaluation.hit_rate_ratio_to_global}x global popularity, "
            f"{evaluation.hit_rate_ratio_to_segment}x popularity within the segment "
            f"(method {evaluation.chosen})", highlight=False)
    if customer is not None:
        for row in insight.customer or []:
            console.print(f"  {row.get('rank')}. {escape(str(row.get('label') or row.get('item')))}"
                          f": {escape(str(row.get('reason', '')))}", highlight=False)
        return
    console.print(f"wrote suggestions for {result.customers:,} customers to {insight.path}; "
                  f"{result.excluded_without_consent:,} customers left out for want of "
                  "marketing consent", highlight=False)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:
            return ""
        if 0 <= value <= 1:
            return f"{value:.0%}"
        return f"{value:,.1f}"
    return escape(str(value))
