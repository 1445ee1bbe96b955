"""Commands that bring data in: ``ingest``, ``simulate``, ``status``, ``quarantine``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mallseg.cli.console import StageUpdate, console, escape, fail, stage_progress
from mallseg.cli.render import print_ingest_report, print_status
from mallseg.cli.state import WorkspaceOption, open_workspace, workspace_path

if TYPE_CHECKING:
    from mallseg.data.ingest import IngestReport, UnitProgress
    from mallseg.workspace import Workspace

__all__ = ["register"]

_TABLES = "customers, stores, visits, transactions, campaigns, exposures"


def register(app: typer.Typer) -> None:
    """Add the data commands to ``app``."""
    app.command("ingest")(ingest)
    app.command("simulate")(simulate)
    app.command("status")(status)
    app.command("quarantine")(quarantine)


def ingest(
    ctx: typer.Context,
    table: Annotated[str, typer.Argument(
        help=f"Canonical table ({_TABLES}), or 'all' to load a folder with a file or folder "
             "per table.")],
    file: Annotated[Path | None, typer.Argument(
        help="CSV (any delimiter, UTF-8/Latin-1, .gz), Parquet (file, folder or glob) or "
             ".xlsx file.")] = None,
    sample: Annotated[str | None, typer.Option(
        help="Load a sample shipped with mallseg instead of a file (classic).")] = None,
    column_map: Annotated[list[str] | None, typer.Option(
        "--map", help="SOURCE=CANONICAL column mapping; wins over the automatic one. Repeat.")
    ] = None,
    values: Annotated[list[str] | None, typer.Option(
        "--values", help="COLUMN=RAW:VALUE,... value mapping, e.g. gender=1:male,2:female. "
                         "Repeat.")] = None,
    spend_columns: Annotated[str | None, typer.Option(
        help="Comma-separated columns holding spend per category (one column per category).")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="utf8 or latin1 (default: detect).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: detect).")] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet name (default: first).")] = None,
    register_unknown: Annotated[bool, typer.Option(
        help="Add customers/stores/campaigns that rows refer to but the workspace lacks.")
    ] = False,
    keep_id_map: Annotated[Path | None, typer.Option(
        help="Append (raw id, pseudonym) pairs to this CSV file, outside the workspace.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Validate a file and load it into the workspace; rejected rows go to quarantine."""
    from mallseg.data.errors import IngestError
    from mallseg.data.mapping import parse_mapping_options, parse_value_options

    file = _sample_or_file(table, file, sample)
    options: dict[str, Any] = {"encoding": encoding, "delimiter": delimiter, "sheet": sheet,
                               "register_unknown": register_unknown,
                               "keep_id_map": keep_id_map}
    try:
        options["column_map"] = parse_mapping_options(column_map or [])
        if values:
            options["value_map"] = parse_value_options(values)
        if spend_columns:
            options["spend_columns"] = [c.strip() for c in spend_columns.split(",") if c.strip()]
        with open_workspace(ctx, workspace) as ws:
            if table == "all":
                reports = _ingest_folder(ws, file, options)
            else:
                reports = [_ingest_one(ws, table, file, options)]
    except (IngestError, ValueError) as exc:
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


def _sample_or_file(table: str, file: Path | None, sample: str | None) -> Path:
    if sample is not None:
        from mallseg.datasets.samples import SAMPLES, sample_path

        if file is not None:
            raise fail("give either FILE or --sample, not both")
        try:
            path = sample_path(sample)
        except ValueError as exc:
            raise fail(str(exc)) from exc
        expected_table = SAMPLES[sample][0]
        if table != expected_table:
            raise fail(f"sample {sample!r} is a {expected_table} table, not {table}")
        return path
    if file is None:
        raise fail("missing FILE (or --sample NAME)")
    return file


def _ingest_folder(ws: Workspace, folder: Path, options: dict[str, Any]) -> list[IngestReport]:
    """Load a folder with a file per table.

    Every table's file is checked first, so that an unusable one stops the load before
    anything is written; then they are loaded in order, each file named with its table.
    """
    from mallseg.data import ingest as ingest_module

    load_options = {k: options[k] for k in ("register_unknown", "keep_id_map") if k in options}
    prepare_options = {k: v for k, v in options.items() if k in (
        "column_map", "encoding", "delimiter", "sheet", "value_map", "spend_columns")}
    found = ingest_module.scan_table_folder(folder)
    sources, ignored = found.found, list(found.ignored)
    prepared = [ingest_module.prepare_ingest(name, path, **prepare_options)
                for name, path in sources.items()]
    for name, path in sources.items():
        console.print(f"{name} <- {escape(str(path))}", highlight=False)
    for path in ignored:
        console.print(f"ignored (matches no table): {escape(str(path))}", highlight=False)
    reports = []
    for item in prepared:
        with stage_progress(f"ingest {item.table.name}") as update:
            reports.append(ingest_module.load_prepared(
                ws, item, progress=update, **load_options, on_unit=_units_shown(update)))
    return reports


def _ingest_one(ws: Workspace, table: str, path: Path, options: dict[str, Any]) -> IngestReport:
    from mallseg.data.ingest import ingest_file

    with stage_progress(f"ingest {table}") as update:
        return ingest_file(ws, table, path, progress=update, **options,
                           on_unit=_units_shown(update))


def _units_shown(update: StageUpdate) -> Callable[[UnitProgress], None]:
    """Show the rows and units an ingest has committed beside its load bar."""
    def show(done: UnitProgress) -> None:
        update("load", done.fraction, done.sentence())
    return show


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
    from rich.table import Table as RichTable

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


def status(ctx: typer.Context, workspace: WorkspaceOption = None) -> None:
    """Show what the workspace holds (tables, runs, customer attributes); creates nothing."""
    from mallseg.app.status import workspace_status
    from mallseg.workspace import WorkspaceError

    try:
        result = workspace_status(workspace_path(ctx, workspace))
    except WorkspaceError as exc:
        raise fail(str(exc)) from exc
    print_status(result)


def quarantine(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="Rows to show.")] = 20,
    export: Annotated[Path | None, typer.Option(
        help="Write all quarantined rows to this CSV or Parquet file.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Show (or export) rejected rows with their reasons."""
    from rich.table import Table as RichTable

    from mallseg.core.sql_text import quote_literal

    with open_workspace(ctx, workspace, create=False) as ws:
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
