"""``mallseg demo``: the main job end to end on a simulated mall.

Simulate a mid-size mall, ingest its six tables with validation, build customer features,
choose and fit a segmentation, name the segments, then show them with where everything
was written. Later stages (insights, reports, monitoring) plug in here as they land.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from sklearn.metrics import adjusted_rand_score

from mallseg.cli.console import console, fail, stage_progress
from mallseg.cli.data_commands import print_ingest_report
from mallseg.cli.segment_commands import print_segments
from mallseg.cli.state import open_workspace
from mallseg.core.sql_text import quote_literal
from mallseg.data.errors import IngestError
from mallseg.data.ingest import find_table_sources, ingest_file
from mallseg.segment.run import SegmentationRun, export_assignments, run_segmentation

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
) -> None:
    """Simulate a mall, ingest it, segment its customers and show the segments."""
    started = time.perf_counter()
    with open_workspace(ctx) as ws:
        mall = ws.folder / "demo-mall"
        from mallseg.datasets.simulate import simulate_mall

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
        with stage_progress("segment") as update:
            run = run_segmentation(ws, random_state=seed, n_resamples=5, progress=update)
        print_segments(run)
        _compare_with_truth(run, mall / "truth" / "customer_personas")
        export = ws.exports_folder / f"segments-{run.run_id}.csv"
        export_assignments(ws, run.run_id, export)
        console.print(
            f"\n[bold]Outputs[/]\n  workspace database  {ws.folder / 'mallseg.duckdb'}\n"
            f"  segment assignments {export}\n  model file          {run.model_path}\n"
            f"  simulated inputs    {mall / 'inputs'} (ground truth in {mall / 'truth'})\n"
            f"Finished in {time.perf_counter() - started:.0f} s. Try: mallseg --workspace "
            f"{ws.folder} explain {run.customer_ids[0]}",
            highlight=False,
        )


def _compare_with_truth(run: SegmentationRun, truth: Path) -> None:
    """Show how well the segments recover the simulated personas (known only here)."""
    if not truth.exists():
        return
    personas = duckdb.connect().execute(
        f"SELECT customer_id, persona FROM read_parquet({quote_literal(str(truth) + '/*.parquet')})"
    ).df().set_index("customer_id")["persona"]
    matched = personas.reindex(run.customer_ids.astype(str))
    agreement = adjusted_rand_score(matched.to_numpy(), run.labels)
    console.print(
        f"Agreement with the simulated personas ({personas.nunique()} of them): adjusted "
        f"Rand index {agreement:.2f}", highlight=False,
    )
