"""How the command line shows results: tables and sentences from result objects.

Nothing here computes anything; every function takes a result of the application layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mallseg.cli.console import console, escape

if TYPE_CHECKING:
    from mallseg.app.assign import AssignResult
    from mallseg.app.explain import ExplainResult
    from mallseg.app.segment import SegmentResult
    from mallseg.app.status import StatusResult
    from mallseg.data.ingest import IngestReport

__all__ = [
    "print_assignments",
    "print_candidates",
    "print_explanation",
    "print_ingest_report",
    "print_segments",
    "print_status",
]


def _table(title: str, *columns: str, **options: Any) -> Any:
    from rich.table import Table

    table = Table(title=title, **options)
    for column in columns:
        table.add_column(column)
    return table


def print_ingest_report(report: IngestReport) -> None:
    """One ingest's reconciled counts, mapping, what was kept and set aside, reasons, notes."""
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
    if report.attributes:
        kept = ", ".join(f"{name} ({kind})" for name, kind in report.attributes.items())
        console.print(f"  kept as customer attributes: {kept}", highlight=False, markup=False)
    set_aside = report.set_aside
    for column, reason in set_aside.items():
        console.print(f"  set aside {column}: {reason}", highlight=False, markup=False)
    if report.ignored_columns:
        console.print(f"  not used: {', '.join(report.ignored_columns)}", highlight=False,
                      markup=False)
    if report.dropped_pii_columns and not set_aside:
        console.print(
            f"  personal data, not stored: {', '.join(report.dropped_pii_columns)}",
            highlight=False, markup=False,
        )
    for table, count in report.registered.items():
        if count:
            console.print(f"  registered {count:,} unknown {table}", highlight=False)
    for _kind, count, example in report.top_reasons:
        more = f" (and {count - 1:,} more like it)" if count > 1 else ""
        console.print(f"  [yellow]quarantined {count:,}:[/] {escape(str(example))}{more}",
                      highlight=False)
    for warning in report.warnings:
        console.print(f"  [yellow]warning:[/] {escape(warning)}", highlight=False)
    for note in report.notes:
        console.print(f"  note: {note}", highlight=False, markup=False)


def print_segments(result: SegmentResult) -> None:
    """The persona table, why this segmentation was chosen and where it is stored."""
    lens = result.lens if isinstance(result.lens, str) else "custom"
    how = "RFM groups" if result.method == "rfm" else (
        result.selection.chosen.algorithm if result.selection else "")
    table = _table(
        f"{result.k} segments of {len(result.labels):,} customers ({lens} lens, {how})",
        show_lines=True,
    )
    for column, justify in (("segment", "right"), ("name", "left"), ("customers", "right"),
                            ("what sets them apart", "left")):
        table.add_column(column, justify=justify)
    for _, row in result.segment_table().iterrows():
        table.add_row(str(row["segment"]), f"[bold]{escape(row['name'])}[/]",
                      f"{row['size']:,} ({row['share']:.0%})", escape(row["description"]))
    console.print(table)
    console.print(escape(result.schema.sentence()), highlight=False)
    console.print(f"[bold]Why this segmentation:[/] {escape(result.explanation)}",
                  highlight=False)
    if result.selection is not None:
        for note in result.selection.notes:
            console.print(f"note: {escape(note)}", highlight=False)
    where = f"; model {result.model_path}" if result.model_path else ""
    console.print(f"run {result.run_id}{where}", highlight=False)


def print_candidates(result: SegmentResult) -> None:
    """Every candidate of the selection with its scores, the winner first."""
    if result.selection is None:
        return
    frame = result.selection.candidate_table()
    table = _table("Candidates (best first)", "#", "algorithm", "k", "silhouette", "stability",
                   "distinct", "smallest", "why not chosen")
    for _, row in frame.iterrows():
        table.add_row(str(row["rank"]), str(row["algorithm"]), str(row["k"]),
                      f"{row['silhouette']:.3f}", f"{row['stability']:.2f}",
                      f"{row['distinctness']:.2f}", f"{row['smallest_segment_share']:.1%}",
                      escape(str(row["reason"])))
    console.print(table)


def print_assignments(result: AssignResult, limit: int = 50) -> None:
    """The scored customers (the first ``limit``) and the rows that were rejected."""
    table = _table(f"{len(result.assignments):,} customers scored with run {result.run_id}",
                   *result.assignments.columns)
    for _, row in result.assignments.head(limit).iterrows():
        table.add_row(*(escape(str(v)) for v in row))
    console.print(table)
    _print_rejected(result)


def _print_rejected(result: AssignResult) -> None:
    if not result.rejected:
        return
    console.print(f"[yellow]{len(result.rejected):,} rows rejected, not scored:[/]",
                  highlight=False)
    for rejected in result.rejected[:20]:
        console.print(f"  line {rejected.line}: {escape(rejected.reason)}", highlight=False)
    if len(result.rejected) > 20:
        console.print(f"  ... and {len(result.rejected) - 20:,} more", highlight=False)


def print_explanation(result: ExplainResult) -> None:
    """A customer's segment, confidence, runner-up and the features that place them."""
    runner = (f"; next closest: {escape(str(result.runner_up_name))} (segment "
              f"{result.runner_up}), margin {result.margin:.2f}"
              if result.runner_up is not None else "")
    console.print(
        f"[bold]{escape(result.customer_id)}[/] is in segment {result.segment} "
        f"[bold]{escape(result.segment_name)}[/] (confidence {result.confidence:.2f}{runner})",
        highlight=False,
    )
    if result.scores:
        console.print("scores: " + ", ".join(f"{k} {v}" for k, v in result.scores.items()),
                      highlight=False)
    table = _table(f"What places them there (run {result.run_id})", "feature", "customer",
                   "segment", "everyone", "pull")
    for reason in result.features:
        table.add_row(escape(reason.feature), _cell(reason.customer_value),
                      _cell(reason.segment_value), _cell(reason.population_value),
                      f"{reason.pull:+.2f}")
    console.print(table)
    console.print(escape(result.reference), highlight=False)


def print_status(status: StatusResult) -> None:
    """Row counts, recent runs and customer attributes of a workspace."""
    table = _table(f"Workspace {status.folder} (schema v{status.schema_version})", "table",
                   "rows")
    for name, rows in status.tables.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    if status.runs:
        runs = _table("Recent runs", "run", "kind", "status", "as of", "summary")
        for run in status.runs:
            runs.add_row(run["run_id"], run["kind"], run["status"],
                         str(run["reference_time"] or ""), escape(run["summary"]))
        console.print(runs)
    if status.attributes:
        attributes = _table("Customer attributes (usable in lenses by name)", "attribute",
                            "kind", "family", "from", "meaning")
        for a in status.attributes:
            attributes.add_row(a["attribute"], a["kind"], str(a["family"] or ""),
                               escape(str(a["source"])), escape(str(a["meaning"] or "")))
        console.print(attributes)


def _cell(value: object) -> str:
    if value is None:
        return "missing"
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return escape(str(value))
