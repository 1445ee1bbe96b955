"""Commands that keep segments current: ``monitor``, ``migration``, ``models list|rollback``.

``mallseg monitor`` compares the latest data with the run's reference window and prints the
verdict (*stable*, *watch*, *refit due*) with its reasons; ``--refit-if-due`` refits keeping
segment ids and names; ``--schedule 1d`` repeats the check (or use cron, see
:data:`mallseg.monitor.schedule.CRON_EXAMPLE`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mallseg.cli.console import console, escape, fail
from mallseg.cli.state import WorkspaceOption, open_workspace

if TYPE_CHECKING:
    from mallseg.app.monitor import MigrationResult, MonitorResult, RefitResult

__all__ = ["parse_flow", "register"]

_COLOURS = {"stable": "green", "watch": "yellow", "refit due": "red"}
_MARKS = {"major": "[red]major[/]", "moderate": "[yellow]moderate[/]", "none": "ok"}

models_app = typer.Typer(help="Model versions: list them, roll back to one.",
                         no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the monitoring commands to ``app``."""
    app.command("monitor")(monitor)
    app.command("migration")(migration)
    app.add_typer(models_app, name="models")


def parse_flow(text: str) -> tuple[int | None, int | None]:
    """``3:5`` as (3, 5); ``new`` and ``gone`` stand for customers not in a snapshot.

    >>> parse_flow("3:5"), parse_flow("new:2")
    ((3, 5), (None, 2))
    """
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"--flow {text!r}: expected FROM:TO segment ids, e.g. 3:5")
    out: list[int | None] = []
    for part in parts:
        part = part.strip().lower()
        if part in ("new", "gone", "none"):
            out.append(None)
        elif part.lstrip("-").isdigit():
            out.append(int(part))
        else:
            raise ValueError(f"--flow {text!r}: {part!r} is not a segment id (or new/gone)")
    return out[0], out[1]


def monitor(
    ctx: typer.Context,
    run_id: Annotated[str | None, typer.Option(
        "--run", help="Version to check (default: the current one).")] = None,
    against: Annotated[str | None, typer.Option(
        help="Compare with the data up to this later run's reference time (default: the "
             "latest event).")] = None,
    window: Annotated[float | None, typer.Option(
        min=1.0, help="Days per window (default: the time since the run, at most 91).")
    ] = None,
    refit_if_due: Annotated[bool, typer.Option(
        "--refit-if-due", help="Refit when the verdict is 'refit due', keeping segment ids "
                               "and names.")] = False,
    schedule: Annotated[str | None, typer.Option(
        help="Check again every EVERY (30m, 6h, 1d, 1w) until stopped with Ctrl-C; or use "
             "cron: '0 6 * * * mallseg --workspace PATH monitor --refit-if-due'.")] = None,
    times: Annotated[int | None, typer.Option(min=1, hidden=True)] = None,
    resamples: Annotated[int, typer.Option(
        min=0, help="Refits per window for the stability measure (0: skip it).")] = 5,
    update: Annotated[str | None, typer.Option(
        help="Instead of checking: re-place the customers an ingest added or changed (its "
             "id, or 'latest') in the version's live assignments.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Check a model for drift: the verdict (stable, watch, refit due) and its reasons."""
    from mallseg.app.monitor import MonitorRequest
    from mallseg.monitor.schedule import parse_interval, run_every

    if update is not None:
        _update_live(ctx, update, run_id, workspace)
        return
    request = MonitorRequest(run_id=run_id, against=against, window_days=window,
                             refit_if_due=refit_if_due, resamples=resamples)
    if schedule is None:
        _check_once(ctx, request, workspace, as_json)
        return
    try:
        interval = parse_interval(schedule)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    console.print(f"checking every {schedule}; stop with Ctrl-C", highlight=False)
    run_every(interval, lambda _round: _check_once(ctx, request, workspace, as_json),
              times=times)


def _update_live(ctx: typer.Context, ingest: str, run_id: str | None,
                 workspace: Path | None) -> None:
    from mallseg.app.monitor import update_after_ingest
    from mallseg.segment.model_files import ModelFileError
    from mallseg.workspace import RunNotFoundError

    with open_workspace(ctx, workspace, create=False) as ws:
        known = ws.completed_ingests()
        chosen = (known[-1] if known else None) if ingest == "latest" else ingest
        if chosen is None or chosen not in known:
            hint = f"the latest is {known[-1]}" if known else "nothing was ingested yet"
            raise fail(f"--update {ingest}: no completed ingest of that id ({hint})")
        try:
            result = update_after_ingest(ws, chosen, run_id=run_id)
        except (RunNotFoundError, ModelFileError) as exc:
            raise fail(str(exc).strip("'\"")) from exc
    console.print(f"Re-placed {len(result.assignments):,} customers touched by ingest "
                  f"{escape(chosen)} with run {result.run_id} ({result.moved:,} changed "
                  "segment).", highlight=False)


def _check_once(ctx: typer.Context, request: object, workspace: Path | None,
                as_json: bool) -> None:
    from mallseg.app.monitor import MonitorRequest, check_monitor
    from mallseg.segment.model_files import ModelFileError
    from mallseg.workspace import RunNotFoundError

    assert isinstance(request, MonitorRequest)
    with open_workspace(ctx, workspace, create=False) as ws:
        try:
            result = check_monitor(ws, request)
        except (RunNotFoundError, ModelFileError, ValueError, LookupError) as exc:
            raise fail(str(exc).strip("'\"")) from exc
    if as_json:
        typer.echo(json.dumps(result.to_dict(), default=str))
        return
    _print_check(result)


def _print_check(result: MonitorResult) -> None:
    colour = _COLOURS[result.verdict]
    if result.report is None:
        console.print(f"Run {result.run_id}: [bold {colour}]{result.verdict}[/] — "
                      f"{escape(result.message)}", highlight=False)
        return
    report = result.report
    if result.windows is not None:
        w = result.windows
        console.print(
            f"Run {result.run_id}: windows of {w.length_days:g} days, "
            f"{w.reference.sentence()} ({report.reference_size:,} customers) against "
            f"{w.current.sentence()} ({report.current_size:,} customers).", highlight=False)
    else:
        console.print(f"Run {result.run_id}: its customers ({report.reference_size:,}) "
                      f"against those loaded since ({report.current_size:,}).",
                      highlight=False)
    console.print(f"Verdict: [bold {colour}]{result.verdict.upper()}[/]", highlight=False)
    for reason in report.reasons:
        console.print(f"  - {_MARKS[reason.severity]}: {escape(reason.message)}",
                      highlight=False)
    for note in report.notes:
        console.print(f"  note: {escape(note)}", highlight=False)
    if result.monitor_run_id:
        console.print(f"Recorded as monitor run {result.monitor_run_id}.", highlight=False)
    if result.refit is not None:
        _print_refit(result.refit)
    elif result.verdict == "refit due":
        console.print("Refit with `mallseg monitor --refit-if-due` (segment ids and names "
                      "are kept where segments are the same).", highlight=False)


def _print_refit(refit: RefitResult) -> None:
    console.print(f"Refitted as run [bold]{refit.run_id}[/] (from {refit.previous_run_id}):",
                  highlight=False)
    for event in refit.identity.events:
        console.print(f"  {event.kind}: {escape(event.sentence)}", highlight=False)


def migration(
    ctx: typer.Context,
    before: Annotated[str | None, typer.Option(
        "--from", help="Earlier snapshot: a run id, or 'live' (default: the version the "
                       "current one came from).")] = None,
    after: Annotated[str | None, typer.Option(
        "--to", help="Later snapshot: a run id, or 'live' for the current version's live "
                     "assignments (default: the current version).")] = None,
    export: Annotated[Path | None, typer.Option(
        help="Write the customers who moved to this CSV or Parquet file.")] = None,
    flow: Annotated[str | None, typer.Option(
        help="With --export: only the customers of one flow, FROM:TO segment ids "
             "('new' or 'gone' for customers not in a snapshot).")] = None,
    top: Annotated[int, typer.Option(min=1, help="Flows to show.")] = 5,
    workspace: WorkspaceOption = None,
) -> None:
    """Who moved between segments from one snapshot to the next, and the biggest flows."""
    from mallseg.app.monitor import segment_migration
    from mallseg.workspace import RunNotFoundError

    try:
        chosen = parse_flow(flow) if flow else None
    except ValueError as exc:
        raise fail(str(exc)) from exc
    if export is not None and export.exists() and export.is_dir():
        raise fail(f"--export {export}: is a folder, expected a CSV or Parquet file")
    with open_workspace(ctx, workspace, create=False) as ws:
        try:
            result = segment_migration(ws, before, after, export=export, flow=chosen)
        except (RunNotFoundError, LookupError) as exc:
            raise fail(str(exc).strip("'\"")) from exc
        except OSError as exc:
            raise fail(f"--export {export}: cannot write ({exc.strerror or exc})") from exc
    _print_migration(result, top)


def _print_migration(result: MigrationResult, top: int) -> None:
    moves = result.migration
    shown = moves.to_dict()
    small = f"fewer than {moves.min_group_size}" if moves.min_group_size else "a few"

    def total(key: str) -> str:
        return small if shown[key] is None else f"{shown[key]:,}"

    console.print(
        f"From {moves.before} to {moves.after}: {total('stayed')} stayed, {total('moved')} "
        f"moved, {total('joined')} joined, {total('left')} left.", highlight=False)
    if moves.hidden:
        console.print(f"  {len(moves.hidden):,} flows of {small} customers are not shown "
                      "one by one (minimum group size).", highlight=False)
    if not moves.aligned:
        console.print("  note: the two runs do not share segment identities (neither is a "
                      "refit of the other): a customer stayed when the segment's name is the "
                      "same.", highlight=False)
    flows = [f for f in moves.flows if f.from_id is not None and f.to_id is not None][:top]
    for item in flows:
        console.print(f"  {escape(item.sentence)}", highlight=False)
    if result.export_path is not None:
        console.print(f"wrote {result.exported_rows:,} customers to", highlight=False)
        typer.echo(str(result.export_path))


@models_app.command("list")
def list_models(ctx: typer.Context, workspace: WorkspaceOption = None) -> None:
    """List the model versions (segmentation runs), the current one marked."""
    from mallseg.app.monitor import list_model_versions

    with open_workspace(ctx, workspace, read_only=True) as ws:
        versions = list_model_versions(ws)
    if not versions:
        raise fail("no model version yet: run `mallseg segment` first")
    from rich.table import Table

    table = Table(title="Model versions")
    for column in ("run", "current", "made by", "from", "algorithm", "lens", "segments"):
        table.add_column(column)
    for version in versions:
        segments = "; ".join(f"{k} {v}" for k, v in sorted(version.segments.items()))
        table.add_row(version.run_id, "yes" if version.current else "", version.source,
                      version.parent_run_id or "", version.algorithm or "",
                      escape(version.lens), escape(segments))
    console.print(table)


@models_app.command("rollback")
def rollback(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The version to make current again.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Make an earlier version current again (its model and names), as a new run."""
    from mallseg.app.monitor import rollback_model
    from mallseg.segment.model_files import ModelFileError
    from mallseg.workspace import RunNotFoundError

    with open_workspace(ctx, workspace, create=False) as ws:
        try:
            result = rollback_model(ws, run_id)
        except (RunNotFoundError, ModelFileError, ValueError) as exc:
            raise fail(str(exc).strip("'\"")) from exc
    names = ", ".join(f"{k} {v}" for k, v in sorted(result.segments.items()))
    console.print(f"Run {result.run_id} is now current: the model and names of run "
                  f"{result.restored_run_id} (replacing {result.replaced_run_id}). Segments: "
                  f"{escape(names)}.", highlight=False)
