"""``mallseg report``: write the self-contained HTML report of a segmentation run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mallseg.cli.console import console, fail
from mallseg.cli.state import WorkspaceOption, open_workspace

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the report command to ``app``."""
    app.command("report")(report)


def report(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option(
        "--out", help="HTML file to write (default: <workspace>/reports/report-run-ID.html)."
    )] = None,
    run_id: Annotated[str | None, typer.Option("--run", help="Run (default: latest).")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Write one HTML file a marketer can open or e-mail: segments, certainty, actions."""
    from mallseg.report import write_report
    from mallseg.segment.model_files import ModelFileError

    if out is not None and out.exists() and out.is_dir():
        raise fail(f"--out {out}: is a folder, expected an HTML file to write")
    with open_workspace(ctx, workspace, read_only=True) as ws:
        try:
            result = write_report(ws, run_id, out)
        except (LookupError, ModelFileError) as exc:
            raise fail(str(exc).strip("'\"")) from exc
        except OSError as exc:
            raise fail(f"--out {out}: cannot write the report ({exc.strerror or exc})") from exc
    console.print(f"wrote the report of run {result.run_id} ({result.bytes / 1e6:.1f} MB, "
                  f"{len(result.sections)} sections) to", highlight=False)
    typer.echo(str(result.path))
