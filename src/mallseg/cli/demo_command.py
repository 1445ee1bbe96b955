"""``mallseg demo``: the main job end to end on a simulated mall.

Simulate a mid-size mall, ingest its six tables with validation, build customer features,
choose and fit a segmentation, name the segments, score RFM groups beside them, and show
both with where everything was written. Later stages (insights, reports, monitoring) plug
in here as they land.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mallseg.cli.console import console, escape, fail, stage_progress
from mallseg.cli.render import print_ingest_report, print_segments
from mallseg.cli.state import WorkspaceOption, open_workspace

if TYPE_CHECKING:
    from mallseg.app.segment import SegmentResult
    from mallseg.workspace import Workspace

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the demo command to ``app``."""
    app.command("demo")(demo)


def demo(
    ctx: typer.Context,
    customers: Annotated[int, typer.Option(min=100, help="Customers to simulate.")] = 20_000,
    days: Annotated[int, typer.Option(min=7, help="Days of activity.")] = 182,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    personas: Annotated[int | None, typer.Option(
        min=2, help="Use the first N personas (default: all eight).")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Simulate a mall, ingest it, segment its customers and show the segments."""
    from mallseg.app.export import export_segments
    from mallseg.app.segment import SegmentRequest, segment_customers
    from mallseg.data.errors import IngestError
    from mallseg.data.ingest import find_table_sources, ingest_file
    from mallseg.datasets.simulate import simulate_mall

    started = time.perf_counter()
    with open_workspace(ctx, workspace) as ws:
        mall = ws.folder / "demo-mall"
        with stage_progress("demo") as update:
            summary = simulate_mall(
                mall, customers=customers, days=days, seed=seed, personas=personas,
                progress=lambda done, total: update("simulate", done / max(total, 1)),
            )
        console.print(
            f"Simulated {summary.rows.get('customers', 0):,} customers, "
            f"{summary.rows.get('visits', 0):,} visits and "
            f"{summary.rows.get('transactions', 0):,} purchases over {days} days "
            f"in {mall}", highlight=False,
        )
        try:
            for table, path in find_table_sources(mall / "inputs").items():
                with stage_progress(f"ingest {table}") as update:
                    report = ingest_file(ws, table, path, progress=update)
                print_ingest_report(report)
        except IngestError as exc:
            raise fail(str(exc)) from exc
        # RFM first, so that the clustered segmentation is the latest run the insights read
        rfm = segment_customers(ws, SegmentRequest(method="rfm"))
        with stage_progress("segment") as update:
            result = segment_customers(ws, SegmentRequest(random_state=seed, n_resamples=5),
                                       progress=update)
        print_segments(result)
        _compare_with_truth(ws, result, mall / "truth" / "customer_personas")
        _print_rfm(rfm)
        _print_insights(ws, result.run_id)
        export = export_segments(ws, result.run_id)
        from mallseg.report.writer import write_report

        written = write_report(ws, result.run_id)
        console.print(
            f"\n[bold]Outputs[/]\n  workspace database  {ws.folder / 'mallseg.duckdb'}\n"
            f"  segment assignments {export.path}\n  model file          {result.model_path}\n"
            f"  report              {written.path}\n"
            f"  simulated inputs    {mall / 'inputs'} (ground truth in {mall / 'truth'})\n"
            f"Finished in {time.perf_counter() - started:.0f} s. Try: mallseg explain "
            f"{result.customer_ids[0]} --workspace {ws.folder}",
            highlight=False,
        )


def _print_insights(ws: Workspace, run_id: str) -> None:
    """A few lines of each insight on the clustered segments."""
    from mallseg.app import insights

    loyalty = insights.loyalty_for_run(ws, run_id).result
    console.print("\n[bold]Loyalty[/] (mallseg loyalty):", highlight=False)
    table = loyalty.segments.reset_index() if "segment" not in loyalty.segments else \
        loyalty.segments
    for _, row in table.head(8).iterrows():
        active = row.get("active_share", float("nan"))
        risky = int(row.get("at_risk_customers", 0) or 0)
        console.print(f"  {escape(str(row['segment']))}: {active:.0%} still active, "
                      f"{risky:,} high-value customers at risk", highlight=False)
    campaigns = insights.campaigns_for_run(ws, run_id).result
    console.print("[bold]Campaigns[/] (mallseg campaigns):", highlight=False)
    if campaigns.message is not None:
        console.print(f"  {escape(campaigns.message)}", highlight=False)
    for playbook in campaigns.playbook[:4]:
        console.print(f"  {escape(playbook.segment)}: {escape(playbook.summary)}",
                      highlight=False)
    layout = insights.layout_for_run(ws, run_id).result
    console.print("[bold]Layout[/] (mallseg layout):", highlight=False)
    for suggestion in (layout.suggestions or ())[:3]:
        console.print(f"  - {escape(suggestion.text)}", highlight=False)
    recommended = insights.recommendations_for_run(ws, run_id).result
    console.print("[bold]Recommendations[/] (mallseg recommend):", highlight=False)
    evaluation = recommended.evaluation
    if evaluation is not None:
        console.print(f"  hit rate@{evaluation.hit_k} {evaluation.score('system').hit_rate:.2f}"
                      f" on the last {evaluation.test_days} days: "
                      f"{evaluation.hit_rate_ratio_to_global}x global popularity, "
                      f"{evaluation.hit_rate_ratio_to_segment}x popularity within the segment",
                      highlight=False)


def _print_rfm(result: SegmentResult) -> None:
    """RFM groups beside the clustered segments, one line each."""
    console.print(f"\n[bold]RFM groups[/] (run {result.run_id}, the same customers by "
                  "recency, frequency and spend quintiles):", highlight=False)
    for _, row in result.segment_table().sort_values("segment").iterrows():
        console.print(f"  {row['size']:>7,} ({row['share']:>4.0%})  {escape(row['name'])}",
                      highlight=False)


def _compare_with_truth(ws: Workspace, result: SegmentResult, truth: Path) -> None:
    """Show how well the segments recover the simulated personas (known only here)."""
    if not truth.exists():
        return
    import duckdb
    from sklearn.metrics import adjusted_rand_score

    from mallseg.core.sql_text import quote_literal

    truth_frame = duckdb.connect().execute(
        f"SELECT customer_id, persona FROM read_parquet({quote_literal(str(truth) + '/*.parquet')})"
    ).df()
    from mallseg.app.forget import pseudonyms_of

    # the truth knows the simulator's ids; the workspace holds their pseudonyms
    truth_frame["customer_id"] = pseudonyms_of(ws, truth_frame["customer_id"].astype(str).tolist())
    personas = truth_frame.set_index("customer_id")["persona"]
    matched = personas.reindex(result.customer_ids.astype(str))
    agreement = adjusted_rand_score(matched.to_numpy(), result.labels)
    console.print(
        f"Agreement with the simulated personas ({personas.nunique()} of them): adjusted "
        f"Rand index {agreement:.2f}", highlight=False,
    )
