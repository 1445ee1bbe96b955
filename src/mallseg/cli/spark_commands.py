"""``mallseg segment --engine spark`` and ``mallseg layout --engine spark``, rendered.

The use cases are :func:`mallseg.distributed.run.segment_on_spark` and
:func:`mallseg.distributed.layout_run.layout_on_spark`; this module checks the options
that only the Spark engine takes, runs them and prints the segmentation (the layout is
printed by the ``layout`` command, as for DuckDB). pyspark is imported only when the
Spark engine is asked for.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mallseg.cli.console import console, escape, fail
from mallseg.cli.state import open_workspace

if TYPE_CHECKING:
    from mallseg.distributed.run import SparkSegmentOutcome
    from mallseg.insights.layout import LayoutResult

__all__ = ["ENGINES", "EngineOption", "InputsOption", "OutOption", "SegmentsOption",
           "SparkMasterOption", "SparkRemoteOption", "layout_with_spark_engine",
           "segment_with_spark_engine"]

ENGINES = ("duckdb", "spark")

EngineOption = Annotated[str, typer.Option(
    help="duckdb (the workspace, one machine) or spark (Apache Spark: local, a cluster "
         "through spark-submit, or Spark Connect with --spark-remote).")]
InputsOption = Annotated[Path | None, typer.Option(
    help="spark: folder of canonical tables as Parquet (<table>/ or <table>.parquet); "
         "default: the workspace's tables, exported to exports/spark-inputs.")]
OutOption = Annotated[str | None, typer.Option(
    help="spark: folder for assignments/ and segments.json (default: the workspace's "
         "exports/spark-segments, or ./spark-segments with --inputs).")]
SegmentsOption = Annotated[Path | None, typer.Option(
    help="spark, with --inputs: Parquet of customer_id and segment_name (a segmentation's "
         "assignments/); default: everyone as one segment.")]
SparkRemoteOption = Annotated[str | None, typer.Option(
    help="spark: Spark Connect URL, such as sc://spark-host:15002.")]
SparkMasterOption = Annotated[str | None, typer.Option(
    help="spark: master of a local session (default local[2]).")]


def segment_with_spark_engine(
    ctx: typer.Context,
    *,
    workspace: Path | None,
    inputs: Path | None,
    out: str | None,
    remote: str | None,
    master: str | None,
    k: int | None,
    lens: str | tuple[str, ...] | None,
    as_of: object,
    resamples: int,
    seed: int,
    unsupported: list[str],
) -> None:
    """Run the segmentation on Spark and print it.

    ``unsupported`` names the options given that the Spark engine does not take: they stop
    the command with one error line and exit code 2.
    """
    if unsupported:
        raise fail(f"--engine spark segments with k-means from the canonical features: "
                   f"{', '.join(unsupported)} is for --engine duckdb")
    try:
        from mallseg.distributed.run import SparkSegmentRequest, segment_on_spark
        from mallseg.distributed.session import SparkUnavailableError
    except ImportError as exc:
        raise fail(f"{exc}") from exc
    request = SparkSegmentRequest(
        inputs=str(inputs) if inputs is not None else None, out=out,
        k="auto" if k is None else k, lens=lens,
        as_of=as_of if isinstance(as_of, date) else None, seed=seed,
        n_resamples=resamples, remote=remote, master=master,
    )
    try:
        if inputs is not None:
            outcome = segment_on_spark(request)
        else:
            with open_workspace(ctx, workspace, create=False) as ws:
                outcome = segment_on_spark(request, ws)
    except (ValueError, SparkUnavailableError) as exc:
        raise fail(str(exc)) from exc
    print_spark_segments(outcome)


def layout_with_spark_engine(
    ctx: typer.Context,
    *,
    workspace: Path | None,
    run_id: str | None,
    inputs: Path | None,
    segments: Path | None,
    remote: str | None,
    master: str | None,
    min_customers: int,
) -> tuple[str, LayoutResult]:
    """Compute the layout on Spark; return what it is of (``run 0002``, a folder) and it."""
    if inputs is not None and run_id is not None:
        raise fail("--run names a workspace run, --inputs a folder of tables: give one")
    try:
        from mallseg.distributed.layout_run import SparkLayoutRequest, layout_on_spark
        from mallseg.distributed.session import SparkUnavailableError
    except ImportError as exc:
        raise fail(f"{exc}") from exc
    request = SparkLayoutRequest(
        inputs=str(inputs) if inputs is not None else None,
        segments=str(segments) if segments is not None else None, run_id=run_id,
        min_customers=min_customers, remote=remote, master=master)
    try:
        if inputs is not None:
            outcome = layout_on_spark(request)
        else:
            with open_workspace(ctx, workspace, create=False) as ws:
                outcome = layout_on_spark(request, ws)
    except (LookupError, ValueError, SparkUnavailableError) as exc:
        raise fail(str(exc)) from exc
    what = (f"run {outcome.run_id}" if outcome.run_id is not None else
            f"{outcome.inputs}" + (f", segments of {outcome.segments}" if outcome.segments
                                   else ", all customers"))
    return f"{what}, on Spark ({outcome.master})", outcome.result


def print_spark_segments(outcome: SparkSegmentOutcome) -> None:
    """The segment table of a Spark run, how it was chosen and where it was written."""
    from rich.table import Table

    result = outcome.segmentation
    lens = result.lens if isinstance(result.lens, str) else "custom"
    table = Table(title=f"{result.k} segments of {result.n_customers:,} customers ({lens} "
                        f"lens, k-means on Spark, {outcome.master})", show_lines=True)
    for column, justify in (("segment", "right"), ("name", "left"), ("customers", "right"),
                            ("what sets them apart", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for _, row in result.segment_table().iterrows():
        table.add_row(str(row["segment"]), f"[bold]{escape(row['name'])}[/]",
                      f"{row['size']:,} ({row['share']:.0%})", escape(row["description"]))
    console.print(table)
    console.print(escape(result.schema.sentence()), highlight=False)
    if result.selection is not None:
        console.print(f"[bold]Why {result.k} segments:[/] "
                      f"{escape(result.selection.explanation)} (chosen on a sample of "
                      f"{result.profiled_customers:,} customers)", highlight=False)
    if result.profiled_customers < result.n_customers:
        console.print(f"profiles and names from a sample of {result.profiled_customers:,} "
                      f"of the {result.n_customers:,} customers; sizes count everyone",
                      highlight=False)
    if outcome.exported_rows:
        tables = ", ".join(f"{t} {n:,}" for t, n in outcome.exported_rows.items())
        console.print(f"read from the workspace, exported to {escape(outcome.inputs)} "
                      f"({tables} rows)", highlight=False)
    console.print(f"wrote {escape(outcome.assignments_path)} and "
                  f"{escape(outcome.summary_path)}", highlight=False)
    if outcome.run_id is not None:
        console.print(f"recorded as run {outcome.run_id} of the workspace (mallseg status, "
                      f"report, assign --run {outcome.run_id} and the insights read it)",
                      highlight=False)
