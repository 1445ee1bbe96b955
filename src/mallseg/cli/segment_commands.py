"""Commands that segment customers: ``segment``, ``assign``, ``export``."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the segmentation commands to ``app``."""
