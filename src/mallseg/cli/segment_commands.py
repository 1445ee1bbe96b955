"""Commands that segment customers: ``segment``, ``assign``, ``explain``, ``export``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mallseg.cli.console import console, fail, stage_progress
from mallseg.cli.render import (
    print_assignments,
    print_candidates,
    print_explanation,
    print_segments,
)
from mallseg.cli.spark_commands import (
    ENGINES,
    EngineOption,
    InputsOption,
    OutOption,
    SparkMasterOption,
    SparkRemoteOption,
    segment_with_spark_engine,
)
from mallseg.cli.state import WorkspaceOption, open_workspace, workspace_path

if TYPE_CHECKING:
    from mallseg.workspace import Workspace

__all__ = ["parse_k_range", "register"]


def register(app: typer.Typer) -> None:
    """Add the segmentation commands to ``app``."""
    app.command("segment")(segment)
    app.command("assign")(assign)
    app.command("explain")(explain)
    app.command("export")(export)


def parse_k_range(text: str) -> tuple[int, int]:
    """``3-8`` as (3, 8).

    >>> parse_k_range("4-6")
    (4, 6)
    """
    low, sep, high = text.partition("-")
    if not sep or not low.strip().isdigit() or not high.strip().isdigit():
        raise ValueError(f"--k-range {text!r}: expected LOW-HIGH, e.g. 3-8")
    pair = (int(low), int(high))
    if not 2 <= pair[0] <= pair[1]:
        raise ValueError(f"--k-range {text!r}: expected 2 <= LOW <= HIGH")
    return pair


def segment(
    ctx: typer.Context,
    method: Annotated[str, typer.Option(
        help="cluster (chosen by measurement) or rfm (quintile scores, standard groups).")
    ] = "cluster",
    lens: Annotated[str | None, typer.Option(
        help="classic, demographic, behavioural, value, engagement, profile, or a "
             "comma-separated feature list (default: the richest lens the data supports).")
    ] = None,
    algorithm: Annotated[str, typer.Option(
        help="kmeans, gmm, ward, hdbscan, minibatch_kmeans, or 'auto' (k-means and "
             "Gaussian mixture compared).")] = "auto",
    k: Annotated[str, typer.Option("--k", help="Number of segments, or 'auto'.")] = "auto",
    k_range: Annotated[str, typer.Option(
        help="Marketing range of k used when the data has no natural clusters.")] = "3-8",
    resamples: Annotated[int, typer.Option(min=2, help="Refits for stability.")] = 10,
    min_share: Annotated[float, typer.Option(
        min=0.0, max=0.5, help="Smallest segment allowed, as a share of customers.")] = 0.02,
    as_of: Annotated[str | None, typer.Option(
        help="Reference date of the features (default: the latest event in the data).")
    ] = None,
    show_candidates: Annotated[bool, typer.Option(
        help="Also show every candidate's scores.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    engine: EngineOption = "duckdb",
    inputs: InputsOption = None,
    out: OutOption = None,
    spark_remote: SparkRemoteOption = None,
    spark_master: SparkMasterOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Choose and fit a segmentation (or score RFM groups), name the segments, store the run."""
    from mallseg.app.segment import SegmentRequest, segment_customers
    from mallseg.segment.selection import NoEligibleCandidateError

    if method not in ("cluster", "rfm"):
        raise fail(f"--method {method!r}: expected cluster or rfm")
    if k != "auto" and not (k.isdigit() and int(k) >= 2):
        raise fail(f"--k {k!r}: expected a whole number of segments (2 or more) or 'auto'")
    try:
        marketing_range = parse_k_range(k_range)
        reference = _parse_date(as_of) if as_of else None
    except ValueError as exc:
        raise fail(str(exc)) from exc
    chosen_lens: str | tuple[str, ...] | None = lens
    if lens is not None and "," in lens:
        chosen_lens = tuple(part.strip() for part in lens.split(",") if part.strip())
    if engine not in ENGINES:
        raise fail(f"--engine {engine!r}: expected duckdb or spark")
    if engine == "spark":
        unsupported = [option for option, given in (
            ("--method rfm", method != "cluster"),
            (f"--algorithm {algorithm}", algorithm not in ("auto", "kmeans")),
            ("--k-range", k_range != "3-8"), ("--min-share", min_share != 0.02),
            ("--show-candidates", show_candidates)) if given]
        segment_with_spark_engine(
            ctx, workspace=workspace, inputs=inputs, out=out, remote=spark_remote,
            master=spark_master, k=None if k == "auto" else int(k), lens=chosen_lens,
            as_of=reference, resamples=resamples, seed=seed,
            unsupported=unsupported)
        return
    spark_only = [name for name, value in (("--inputs", inputs), ("--out", out),
                  ("--spark-remote", spark_remote), ("--spark-master", spark_master)) if value]
    if spark_only:
        raise fail(f"{', '.join(spark_only)} is for --engine spark")
    request = SegmentRequest(
        method=method,  # type: ignore[arg-type]
        lens=chosen_lens,
        algorithms=("kmeans", "gmm") if algorithm == "auto" else (algorithm,),
        k="auto" if k == "auto" else int(k), n_resamples=resamples,
        min_segment_share=min_share, marketing_range=marketing_range, random_state=seed,
        as_of=reference,
    )
    with open_workspace(ctx, workspace, create=False) as ws:
        if ws.table_count("customers") == 0:
            raise fail(f"workspace {ws.folder} has no customers: run `mallseg ingest` first")
        try:
            with stage_progress("segment") as update:
                result = segment_customers(ws, request, progress=update)
        except NoEligibleCandidateError as exc:
            hint = ""
            if exc.suggested_min_share is not None:
                hint = (f"; with --min-share {exc.suggested_min_share:g} the best candidate "
                        "would pass")
            raise fail(f"{exc}{hint}") from exc
        except (ValueError, KeyError) as exc:
            raise fail(str(exc).strip("'\"")) from exc
    print_segments(result)
    if show_candidates:
        print_candidates(result)


def assign(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Customers to score (same formats as ingest).")],
    out: Annotated[Path | None, typer.Option(help="Write assignments to CSV or Parquet.")] = None,
    run_id: Annotated[str | None, typer.Option("--run", help="Run (default: latest).")] = None,
    column_map: Annotated[list[str] | None, typer.Option(
        "--map", help="SOURCE=CANONICAL column mapping. Repeat.")] = None,
    events: Annotated[list[str] | None, typer.Option(
        "--events", help="TABLE=FILE of these customers' visits, transactions or exposures "
                         "(default: their events in the workspace). Repeat.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Score new customers with a run's model; nothing is loaded into the workspace."""
    from mallseg.app.assign import assign_file
    from mallseg.data.errors import IngestError
    from mallseg.data.mapping import parse_mapping_options
    from mallseg.segment.model_files import ModelFileError
    from mallseg.workspace import RunNotFoundError, WorkspaceError

    try:
        mapping = parse_mapping_options(column_map or [])
        event_files = _event_files(events or [])
        result = assign_file(workspace_path(ctx, workspace), file, run_id=run_id,
                             event_files=event_files, column_map=mapping)
    except (IngestError, RunNotFoundError, WorkspaceError, ModelFileError, ValueError) as exc:
        raise fail(str(exc)) from exc
    console.print(result.reference, highlight=False)
    if out is not None:
        _write_frame(result.assignments, out)
        console.print(f"wrote {len(result.assignments):,} assignments of run {result.run_id} "
                      f"to {out}", highlight=False)
        if result.rejected:
            console.print(f"{len(result.rejected):,} rows rejected, not scored (first: line "
                          f"{result.rejected[0].line}: {result.rejected[0].reason})",
                          highlight=False, markup=False)
        return
    print_assignments(result)


def explain(
    ctx: typer.Context,
    customer_id: Annotated[str, typer.Argument(help="Customer to explain.")],
    run_id: Annotated[str | None, typer.Option("--run", help="Run (default: latest).")] = None,
    top: Annotated[int, typer.Option(min=1, help="Features to show.")] = 5,
    workspace: WorkspaceOption = None,
) -> None:
    """Explain one customer's segment: confidence and the features that place them there."""
    from mallseg.app.explain import explain_in_run
    from mallseg.app.forget import pseudonym_of
    from mallseg.segment.model_files import ModelFileError

    with open_workspace(ctx, workspace, create=False) as ws:
        try:
            result = explain_in_run(ws, pseudonym_of(ws, customer_id), run_id, top=top)
        except (LookupError, ModelFileError) as exc:
            raise fail(str(exc).strip("'\"")) from exc
    print_explanation(result)


def export(
    ctx: typer.Context,
    what: Annotated[str, typer.Argument(help="segments, targets or recommendations.")],
    out: Annotated[Path | None, typer.Option(help="CSV or Parquet file to write.")] = None,
    run_id: Annotated[str | None, typer.Option("--run", help="Run (default: latest).")] = None,
    contacts: Annotated[int | None, typer.Option(
        help="targets: customers to contact.")] = None,
    share: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, help="targets: share of customers to contact.")] = None,
    cost_per_contact: Annotated[float | None, typer.Option(
        help="targets: cost of one contact (with --value-per-response).")] = None,
    value_per_response: Annotated[float | None, typer.Option(
        help="targets: value of one extra response.")] = None,
    holdout: Annotated[float, typer.Option(
        min=0.0, max=0.5, help="targets: share kept as a fresh random holdout.")] = 0.10,
    workspace: WorkspaceOption = None,
) -> None:
    """Export a run's segment assignments, next campaign's target list, or suggestions."""
    if what not in ("segments", "targets", "recommendations"):
        raise fail(f"cannot export {what!r}: expected segments, targets or recommendations")
    with open_workspace(ctx, workspace, create=False) as ws:
        try:
            message = _export(ws, what, out, run_id, contacts, share, cost_per_contact,
                              value_per_response, holdout)
        except (LookupError, ValueError) as exc:
            raise fail(str(exc).strip("'\"")) from exc
    console.print(message, highlight=False)


def _export(
    ws: Workspace, what: str, out: Path | None, run_id: str | None, contacts: int | None,
    share: float | None, cost_per_contact: float | None, value_per_response: float | None,
    holdout: float,
) -> str:
    if what == "segments":
        from mallseg.app.export import export_segments

        result = export_segments(ws, run_id, out)
        return f"wrote {result.rows:,} assignments of run {result.run_id} to {result.path}"
    if what == "targets":
        from mallseg.app.insights import plan_for_run

        plan = plan_for_run(ws, run_id, contacts=contacts, share=share,
                            cost_per_contact=cost_per_contact,
                            value_per_response=value_per_response, holdout_share=holdout,
                            out=out)
        p = plan.plan
        return (f"wrote {p.contacts:,} customers ({p.holdout:,} of them a fresh random holdout) "
                f"ranked by {p.method} uplift to {plan.path}; expected extra responses "
                f"{p.expected_incremental_responses:,.0f} ({p.expected_low:,.0f} to "
                f"{p.expected_high:,.0f}, {p.confidence:.0%}); "
                f"{p.excluded_without_consent:,} customers left out for want of marketing "
                f"consent (rule {p.consent_rule})")
    from mallseg.app.insights import recommendations_for_run

    recommended = recommendations_for_run(ws, run_id, out=out, evaluate=False)
    if recommended.result.message is not None:
        raise ValueError(recommended.result.message)
    return (f"wrote suggestions for {recommended.result.customers:,} customers of run "
            f"{recommended.run_id} to {recommended.path}; "
            f"{recommended.result.excluded_without_consent:,} customers left out for want of "
            "marketing consent")


def _event_files(options: list[str]) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for option in options:
        table, sep, path = option.partition("=")
        if not sep or table not in ("visits", "transactions", "exposures") or not path:
            raise ValueError(f"--events {option!r}: expected visits=FILE, transactions=FILE "
                             "or exposures=FILE")
        files[table] = Path(path)
    return files


def _parse_date(text: str) -> object:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"--as-of {text!r}: expected a date such as 2014-06-30") from exc


def _write_frame(frame: object, path: Path) -> None:
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
        return
    from mallseg.core.spreadsheet import neutralise_formula

    text = frame.copy()
    for column in ("customer_id", "segment_name"):
        text[column] = text[column].astype(str).map(neutralise_formula)
    text.to_csv(path, index=False)
