"""Commands that segment customers: ``segment``, ``assign``, ``explain``, ``export``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.table import Table as RichTable

from mallseg.cli.console import console, escape, fail, stage_progress
from mallseg.cli.state import open_workspace
from mallseg.data.errors import IngestError
from mallseg.data.ingest import ingest_file
from mallseg.data.mapping import parse_mapping_options
from mallseg.features.build import build_customer_features, stored_customer_features
from mallseg.segment.explain import explain_customer
from mallseg.segment.model_files import ModelFileError
from mallseg.segment.run import (
    SegmentationRun,
    export_assignments,
    latest_model,
    latest_segment_run_id,
    run_segmentation,
)
from mallseg.segment.segmenter import Segmenter
from mallseg.workspace import Workspace

__all__ = ["print_segments", "register"]


def register(app: typer.Typer) -> None:
    """Add the segmentation commands to ``app``."""
    app.command("segment")(segment)
    app.command("assign")(assign)
    app.command("explain")(explain)
    app.command("export")(export)


def segment(
    ctx: typer.Context,
    lens: Annotated[str | None, typer.Option(
        help="classic, demographic, behavioural, value, engagement, or a comma-separated "
             "feature list (default: the richest lens the data supports).")] = None,
    algorithm: Annotated[str, typer.Option(
        help="kmeans, gmm, ward, hdbscan, minibatch_kmeans, or 'auto' (k-means and "
             "Gaussian mixture compared).")] = "auto",
    k: Annotated[str, typer.Option("--k", help="Number of segments, or 'auto'.")] = "auto",
    resamples: Annotated[int, typer.Option(min=2, help="Refits for stability.")] = 10,
    min_share: Annotated[float, typer.Option(
        min=0.0, max=0.5, help="Smallest segment allowed, as a share of customers.")] = 0.02,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Choose and fit a segmentation, name the segments and store the run."""
    chosen_lens: str | list[str] | None = lens
    if lens is not None and "," in lens:
        chosen_lens = [part.strip() for part in lens.split(",") if part.strip()]
    algorithms = ("kmeans", "gmm") if algorithm == "auto" else (algorithm,)
    if k != "auto" and not (k.isdigit() and int(k) >= 2):
        raise fail(f"--k {k!r}: expected a whole number of segments (2 or more) or 'auto'")
    with open_workspace(ctx) as ws:
        if ws.table_count("customers") == 0:
            raise fail(f"workspace {ws.folder} has no customers: run `mallseg ingest` first")
        try:
            with stage_progress("segment") as update:
                run = run_segmentation(
                    ws, lens=chosen_lens, algorithms=algorithms,
                    k="auto" if k == "auto" else int(k), n_resamples=resamples,
                    min_segment_share=min_share, random_state=seed, progress=update,
                )
        except (ValueError, KeyError) as exc:
            raise fail(str(exc).strip("'\"")) from exc
        print_segments(run)


def print_segments(run: SegmentationRun) -> None:
    """Show the persona table, why this segmentation was chosen and where it is stored."""
    lens = run.lens if isinstance(run.lens, str) else "custom"
    table = RichTable(
        title=f"{run.k} segments of {len(run.labels):,} customers ({lens} lens, "
              f"{run.selection.chosen.algorithm})",
        show_lines=True,
    )
    table.add_column("segment", justify="right")
    table.add_column("name", style="bold")
    table.add_column("customers", justify="right")
    table.add_column("what sets them apart")
    for _, row in run.segment_table().iterrows():
        table.add_row(str(row["segment"]), escape(row["name"]),
                      f"{row['size']:,} ({row['share']:.0%})", escape(row["description"]))
    console.print(table)
    console.print(f"[bold]Why this segmentation:[/] {escape(run.selection.explanation)}",
                  highlight=False)
    console.print(f"run {run.run_id}; model {run.model_path}", highlight=False)


def assign(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Customers to score (same formats as ingest).")],
    out: Annotated[Path | None, typer.Option(help="Write assignments to CSV or Parquet.")] = None,
    column_map: Annotated[list[str] | None, typer.Option(
        "--map", help="SOURCE=CANONICAL column mapping. Repeat.")] = None,
) -> None:
    """Score new customers with the workspace's latest segmentation model."""
    with open_workspace(ctx) as ws:
        segmenter, names, run_id = _latest_model_or_fail(ws)
    try:
        mapping = parse_mapping_options(column_map or [])
        with tempfile.TemporaryDirectory() as scratch, Workspace.open(Path(scratch)) as tmp:
            report = ingest_file(tmp, "customers", file, column_map=mapping)
            frame = build_customer_features(tmp.connection, table_name=None)
    except IngestError as exc:
        raise fail(str(exc)) from exc
    missing = [f for f in segmenter.feature_names_in_ if f not in frame.columns]
    if missing:
        raise fail(f"{file}: the model of run {run_id} needs {', '.join(missing)}, which the "
                   "file does not provide")
    labels = segmenter.predict(frame)
    result = pd.DataFrame({
        "customer_id": frame["customer_id"],
        "segment_id": labels,
        "segment_name": [names.get(int(s), "Unassigned") for s in labels],
        "confidence": np.round(segmenter.confidence(frame), 4),
    })
    if report.rows_quarantined:
        console.print(f"{report.rows_quarantined:,} rows rejected (see the reasons with "
                      "`mallseg ingest customers FILE`)", highlight=False)
    if out is not None:
        _write_frame(result, out)
        console.print(f"wrote {len(result):,} assignments to {out}", highlight=False)
        return
    table = RichTable(title=f"{len(result):,} customers scored with run {run_id}")
    for column in result.columns:
        table.add_column(column)
    for _, row in result.head(50).iterrows():
        table.add_row(*(escape(str(v)) for v in row))
    console.print(table)


def explain(
    ctx: typer.Context,
    customer_id: Annotated[str, typer.Argument(help="Customer to explain.")],
    top: Annotated[int, typer.Option(min=1, help="Features to show.")] = 5,
) -> None:
    """Explain one customer's segment: confidence and the features that place them there."""
    with open_workspace(ctx) as ws:
        segmenter, names, run_id = _latest_model_or_fail(ws)
        row = stored_customer_features(ws.connection, customer_id)
    if row.empty:
        raise fail(f"customer {customer_id!r} is not in workspace {ws.folder}")
    result = explain_customer(segmenter, row)
    name = names.get(result.segment, "Unassigned")
    console.print(f"[bold]{escape(customer_id)}[/] is in segment {result.segment} "
                  f"[bold]{escape(name)}[/] "
                  f"(confidence {result.confidence:.2f}; next closest: segment "
                  f"{result.runner_up}, margin {result.margin:.2f})", highlight=False)
    table = RichTable(title=f"What places them there (run {run_id})")
    for column in ("feature", "customer", "segment", "everyone", "pull"):
        table.add_column(column, justify="left" if column == "feature" else "right")
    for item in result.top_features(top):
        table.add_row(escape(item.feature), escape(_fmt(item.customer_value)),
                      escape(_fmt(item.segment_value)),
                      _fmt(item.population_value), f"{item.contribution:+.2f}")
    console.print(table)


def export(
    ctx: typer.Context,
    what: Annotated[str, typer.Argument(help="What to export: segments.")],
    out: Annotated[Path | None, typer.Option(help="CSV or Parquet file to write.")] = None,
    run_id: Annotated[str | None, typer.Option("--run", help="Run (default: latest).")] = None,
) -> None:
    """Export the segment assignments of a run to CSV or Parquet."""
    if what != "segments":
        raise fail(f"cannot export {what!r}: expected 'segments'")
    with open_workspace(ctx) as ws:
        try:
            run_id = run_id or latest_segment_run_id(ws)
            target = out or ws.exports_folder / f"segments-{run_id}.csv"
            rows = export_assignments(ws, run_id, target)
        except LookupError as exc:
            raise fail(str(exc).strip("'\"")) from exc
    console.print(f"wrote {rows:,} assignments of run {run_id} to {target}", highlight=False)


def _latest_model_or_fail(ws: Workspace) -> tuple[Segmenter, dict[int, str], str]:
    """The latest model, its segment names by id and its run id, or one error line."""
    try:
        segmenter, metadata, run_id = latest_model(ws)
    except (LookupError, ModelFileError) as exc:
        raise fail(str(exc)) from exc
    names = {int(k): v for k, v in metadata["user"].get("segment_names", {}).items()}
    return segmenter, names, run_id


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)
