"""The privacy commands: ``mallseg forget`` and ``mallseg pseudonym``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from mallseg.cli.console import console, fail
from mallseg.cli.state import WorkspaceOption, open_workspace

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the privacy commands to ``app``."""
    app.command("forget")(forget)
    app.command("pseudonym")(pseudonym)


def forget(
    ctx: typer.Context,
    customer_id: Annotated[str, typer.Argument(
        help="The customer's id as you know it (translated with the pseudonym key), or "
             "their pseudonym.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Erase a customer from every table, run, result and file of the workspace."""
    from mallseg.app.forget import UnknownIdError, forget_customer

    with open_workspace(ctx, workspace, create=False) as ws:
        try:
            result = forget_customer(ws, customer_id)
        except UnknownIdError as exc:
            raise fail(str(exc).strip("'\"")) from exc
    if as_json:
        console.print_json(json.dumps(result.to_dict()))
        return
    erasure = result.erasure
    if not result.found:
        console.print("Nothing of this customer was in the workspace; a tombstone keeps them "
                      "out of later loads." if not erasure.already_erased else
                      "This customer had already been erased; nothing of them was left.")
        return
    removed = ", ".join(f"{table} {count:,}" for table, count in erasure.rows_removed.items())
    console.print(f"Erased: {sum(erasure.rows_removed.values()):,} rows ({removed}); "
                  f"{erasure.quarantine_rows:,} quarantine records; "
                  f"{erasure.insight_results_changed:,} insight results changed.")
    if erasure.runs_to_refit:
        console.print(f"Runs fitted on this customer, to refit: {', '.join(erasure.runs_to_refit)}"
                      + (f" (model files purged: {', '.join(erasure.models_purged)})"
                         if erasure.models_purged else ""))
    if erasure.files_rewritten:
        console.print(f"Files rewritten without them: {', '.join(erasure.files_rewritten)}")
    if erasure.files_removed:
        console.print(f"Files removed (write them again): {', '.join(erasure.files_removed)}")
    console.print(f"Database compacted: {erasure.compaction.bytes_before:,} -> "
                  f"{erasure.compaction.bytes_after:,} bytes. A tombstone keeps them out of "
                  "later loads.")


def pseudonym(
    ctx: typer.Context,
    customer_id: Annotated[str, typer.Argument(help="A customer's raw id.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Print the id the workspace holds for a customer (their pseudonym)."""
    from mallseg.app.forget import UnknownIdError, pseudonym_of

    with open_workspace(ctx, workspace, create=False) as ws:
        try:
            held = pseudonym_of(ws, customer_id)
        except UnknownIdError as exc:
            raise fail(str(exc).strip("'\"")) from exc
    console.print(held)
