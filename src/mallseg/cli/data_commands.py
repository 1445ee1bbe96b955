"""Commands that bring data in: ``ingest``, ``simulate``, ``status``, ``quarantine``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from mallseg.cli.console import console, escape, fail, stage_progress
from mallseg.cli.state import open_workspace
from mallseg.core.schema import CANONICAL_TABLES
from mallseg.core.sql_text import quote_literal
from mallseg.data.errors import IngestError
from mallseg.data.ingest import (
    IngestReport,
    find_table_sources,
    ingest_file,
    load_prepared,
    prepare_ingest,
)
from mallseg.data.mapping import parse_mapping_options
from mallseg.datasets.samples import SAMPLES, sample_path
from mallseg.workspace import Workspace

__all__ = ["print_ingest_report", "register"]


def register(app: typer.Typer) -> None:
    """Add the data commands to ``app``."""
    app.command("ingest")(ingest)
    app.command("simulate")(simulate)
    app.command("status")(status)
    app.command("quarantine")(quarantine)


def ingest(
    ctx: typer.Context,
    table: Annotated[str, typer.Argument(
        help=f"Canonical table ({', '.join(CANONICAL_TABLES)}), or 'all' to load a folder "
             "with a file or folder per table.")],
    file: Annotated[Path | None, typer.Argument(
        help="CSV (any delimiter, UTF-8/Latin-1, .gz), Parquet (file, folder or glob) or "
             ".xlsx file.")] = None,
    sample: Annotated[str | None, typer.Option(
        help=f"Load a sample shipped with mallseg instead of a file ({', '.join(SAMPLES)}).")
    ] = None,
    column_map: Annotated[list[str] | None, typer.Option(
        "--map", help="SOURCE=CANONICAL column mapping; wins over the automatic one. Repeat.")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="utf8 or latin1 (default: detect).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: detect).")] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet name (default: first).")] = None,
    register_unknown: Annotated[bool, typer.Option(
        help="Add customers/stores/campaigns that rows refer to but the workspace lacks.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Validate a file and load it into the workspace; rejected rows go to quarantine."""
    if sample is not None:
        if file is not None:
            raise fail("give either FILE or --sample, not both")
        try:
            file = sample_path(sample)
        except ValueError as exc:
            raise fail(str(exc)) from exc
        expected_table = SAMPLES[sample][0]
        if table != expected_table:
            raise fail(f"sample {sample!r} is a {expected_table} table, not {table}")
    if file is None:
        raise fail("missing FILE (or --sample NAME)")
    try:
        mapping = parse_mapping_options(column_map or [])
        with open_workspace(ctx) as ws:
            if table == "all":
                reports = _ingest_folder(ws, file, mapping, encoding, delimiter, sheet,
                                         register_unknown)
            else:
                reports = [_ingest_one(ws, table, file, mapping, encoding, delimiter, sheet,
                                       register_unknown)]
    except IngestError as exc:
        raise fail(str(exc)) from exc
    for report in reports:
        if as_json:
            console.print_json(json.dumps(report.to_dict(), default=str))
        else:
            print_ingest_report(report)
    empty = [r for r in reports if r.rows_loaded == 0]
    if empty:
        raise fail(
            f"nothing was loaded from {empty[0].source}: all {empty[0].rows_read:,} rows were "
            "quarantined (see `mallseg quarantine`)",
            code=1,
        )


def _ingest_folder(
    ws: Workspace, folder: Path, mapping: dict[str, str], encoding: str | None,
    delimiter: str | None, sheet: str | None, register_unknown: bool,
) -> list[IngestReport]:
    """Load a folder with a file per table.

    Every table's file is checked first, so that an unusable one stops the load before
    anything is written; then they are loaded in order.
    """
    prepared = [
        prepare_ingest(name, path, column_map=mapping, encoding=encoding,
                       delimiter=delimiter, sheet=sheet)
        for name, path in find_table_sources(folder).items()
    ]
    reports = []
    for item in prepared:
        with stage_progress(f"ingest {item.table.name}") as update:
            reports.append(load_prepared(ws, item, register_unknown=register_unknown,
                                         progress=update))
    return reports


def _ingest_one(
    ws: Workspace, table: str, path: Path, mapping: dict[str, str], encoding: str | None,
    delimiter: str | None, sheet: str | None, register_unknown: bool,
) -> IngestReport:
    with stage_progress(f"ingest {table}") as update:
        return ingest_file(ws, table, path, column_map=mapping, encoding=encoding,
                           delimiter=delimiter, sheet=sheet,
                           register_unknown=register_unknown, progress=update)


def print_ingest_report(report: IngestReport) -> None:
    """Show one ingest's reconciled counts, mapping, reasons and notes."""
    console.print(
        f"[bold]{report.table}[/] from {escape(report.source)}: read "
        f"[bold]{report.rows_read:,}[/] = "
        f"loaded [green]{report.rows_loaded:,}[/] (new {report.rows_new:,}, updated "
        f"{report.rows_updated:,}, unchanged {report.rows_unchanged:,}) + quarantined "
        f"[yellow]{report.rows_quarantined:,}[/]",
        highlight=False,
    )
    mapped = ", ".join(f"{s} -> {c}" for c, s in report.mapping.items())
    console.print(f"  columns: {mapped}", highlight=False, markup=False)
    if report.ignored_columns:
        console.print(f"  not used: {', '.join(report.ignored_columns)}", highlight=False,
                      markup=False)
    if report.dropped_pii_columns:
        console.print(
            f"  personal data, not stored: {', '.join(report.dropped_pii_columns)}",
            highlight=False, markup=False,
        )
    for table, count in report.registered.items():
        console.print(f"  registered {count:,} unknown {table}", highlight=False)
    for reason, count in report.top_reasons:
        console.print(f"  [yellow]quarantined {count:,}:[/] {escape(reason)}", highlight=False)
    for note in report.notes:
        console.print(f"  note: {note}", highlight=False, markup=False)


def simulate(
    out: Annotated[Path, typer.Option(help="Folder to write inputs/ and truth/ into.")] = Path(
        "mall-sim"),
    customers: Annotated[int, typer.Option(min=1, help="Number of customers.")] = 20_000,
    days: Annotated[int, typer.Option(min=1, help="Length of the period in days.")] = 182,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same mall).")] = 0,
    personas: Annotated[int | None, typer.Option(
        min=1, help="Use the first N personas (default: all).")] = None,
    drift: Annotated[str, typer.Option(
        help="none, mix:STRENGTH (persona mix shifts) or behaviour:STRENGTH.")] = "none",
    file_format: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
) -> None:
    """Write a synthetic mall (six canonical tables) with known ground truth."""
    from mallseg.datasets.simulate import parse_drift, simulate_mall

    try:
        drift_spec = parse_drift(drift)
    except ValueError as exc:
        raise fail(f"--drift {drift!r}: {exc}") from exc
    if file_format not in ("parquet", "csv"):
        raise fail(f"--format {file_format!r}: expected parquet or csv")
    with stage_progress("simulate") as update:
        summary = simulate_mall(
            out, customers=customers, days=days, seed=seed, personas=personas, drift=drift_spec,
            file_format=file_format,  # type: ignore[arg-type]
            progress=lambda done, total: update("customers", done / max(total, 1)),
        )
    table = RichTable(title=f"Synthetic mall in {summary.out_dir}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(f"inputs: {Path(summary.out_dir) / 'inputs'}   "
                  f"ground truth: {Path(summary.out_dir) / 'truth'}   ({summary.seconds:.1f} s)")


def status(ctx: typer.Context) -> None:
    """Show what the workspace holds."""
    with open_workspace(ctx) as ws:
        table = RichTable(title=f"Workspace {ws.folder} (schema v{ws.schema_version})")
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name in (*CANONICAL_TABLES, "quarantine", "runs", "segment_assignments"):
            table.add_row(name, f"{ws.table_count(name):,}")
        console.print(table)


def quarantine(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="Rows to show.")] = 20,
    export: Annotated[Path | None, typer.Option(
        help="Write all quarantined rows to this CSV or Parquet file.")] = None,
) -> None:
    """Show (or export) rejected rows with their reasons."""
    with open_workspace(ctx) as ws:
        con = ws.connection
        if export is not None:
            fmt = "PARQUET" if export.suffix.lower() in (".parquet", ".pq") else "CSV"
            con.execute(
                f"COPY (SELECT * FROM quarantine ORDER BY quarantined_at, source_file, "
                f"source_row) TO {quote_literal(export)} (FORMAT {fmt})"
            )
            console.print(f"wrote {ws.table_count('quarantine'):,} rows to {export}")
            return
        rows = con.execute(
            "SELECT table_name, source_file, source_row, reason FROM quarantine "
            "ORDER BY quarantined_at DESC, source_file, source_row LIMIT ?", [limit]
        ).fetchall()
        table = RichTable(title=f"Quarantine ({ws.table_count('quarantine'):,} rows)")
        for col in ("table", "file", "row", "reason"):
            table.add_column(col)
        for t, f, r, reason in rows:
            table.add_row(t, escape(Path(f).name), str(r), escape(reason))
        console.print(table)
