"""Terminal output shared by the commands: one console, progress bars, one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["StageUpdate", "console", "error_console", "escape", "fail", "stage_progress"]

console = Console(soft_wrap=True)
error_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` as one error line on stderr and return the exit to raise."""
    text = " ".join(str(message).split())
    error_console.print(f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


class StageUpdate(Protocol):
    """``update(stage, fraction)``, with an optional ``detail`` shown beside the stage."""

    def __call__(self, stage: str, fraction: float, detail: str = "") -> None:
        """Move the bar of ``stage`` to ``fraction`` (0-1)."""


def _no_update(stage: str, fraction: float, detail: str = "") -> None:
    return None


@contextmanager
def stage_progress(title: str) -> Iterator[StageUpdate]:
    """A progress display with one bar per stage; yields ``update(stage, fraction)``."""
    if not error_console.is_terminal:
        yield _no_update
        return
    from rich.progress import (
        BarColumn,
        Progress,
        TaskID,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=error_console,
        transient=False,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, fraction: float, detail: str = "") -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(f"{title}: {stage}", total=1.0)
            described = f"{title}: {stage} ({detail})" if detail else None
            progress.update(tasks[stage], completed=fraction, description=described)

        yield update
