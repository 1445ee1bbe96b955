"""Errors of the data layer, each carrying one line a user can act on."""

from __future__ import annotations

__all__ = ["IngestError"]


class IngestError(ValueError):
    """A file cannot be used at all.

    The message names the file, the column and what was expected, in one line.

    >>> str(IngestError("visits.csv: column entered_at: expected a date and time"))
    'visits.csv: column entered_at: expected a date and time'
    """
