"""The ``mallseg`` command.

Every command works on a workspace folder: ``--workspace PATH`` (before or after the
command), or the ``MALLSEG_WORKSPACE`` environment variable, or ``./mallseg-workspace``.
Bad input ends with one line on stderr naming the file, column or row and what was
expected, and exit code 2; nothing is half-loaded. Libraries are imported by the commands
that need them, so ``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from mallseg import __version__
from mallseg.cli import (
    data_commands,
    demo_command,
    insight_commands,
    monitor_commands,
    privacy_commands,
    report_command,
    segment_commands,
    service_commands,
    settings_commands,
)
from mallseg.cli.state import CliState

__all__ = ["app", "run"]

app = typer.Typer(
    name="mallseg",
    help="Turn a shopping mall's customer data into segments people act on.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mallseg {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace", "-w", envvar="MALLSEG_WORKSPACE",
            help="Workspace folder (default ./mallseg-workspace).",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Turn a shopping mall's customer data into segments people act on."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = CliState(workspace=workspace)


data_commands.register(app)
segment_commands.register(app)
insight_commands.register(app)
demo_command.register(app)
report_command.register(app)
service_commands.register(app)
monitor_commands.register(app)
settings_commands.register(app)
privacy_commands.register(app)


def run(prog_name: str = "mallseg") -> None:
    """Entry point: the app, with any unexpected failure reported in one line."""
    try:
        app(prog_name=prog_name)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    except Exception as exc:  # the last guard: a user never sees a traceback
        if logging.getLogger().isEnabledFor(logging.INFO):
            raise
        sys.stderr.write(
            f"error: {type(exc).__name__}: {' '.join(str(exc).split())[:500]} (this is a bug in "
            "mallseg: run again with --verbose to see where, and report it)\n"
        )
        raise SystemExit(3) from None
