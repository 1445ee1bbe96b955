"""The ingest log and the audit trail: what each load did, complete or stopped part-way.

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> with Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws") as ws:
...     log_ingest(ws, LoggedCounts("ingest-1", "stores", "s.csv", 2, 2, 2, 0, 0, 0),
...                "ab" * 32, {"store_id": "id"}, now(), status="complete")
...     ws.connection.execute("SELECT status, rows_new FROM ingest_log").fetchall()
[('complete', 2)]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from mallseg.workspace import Workspace

__all__ = ["LoggedCounts", "log_ingest", "now"]


@dataclass(frozen=True)
class LoggedCounts:
    """The counts of one ingest as the log keeps them.

    >>> LoggedCounts("ingest-1", "stores", "s.csv", 2, 2, 2, 0, 0, 0).rows_loaded
    2
    """

    ingest_id: str
    table: str
    source: str
    rows_read: int
    rows_loaded: int
    rows_new: int
    rows_updated: int
    rows_unchanged: int
    rows_quarantined: int


def now() -> datetime:
    """The current time in UTC, without a time zone (as the workspace stores times).

    >>> now().tzinfo is None
    True
    """
    return datetime.now(UTC).replace(tzinfo=None)


def log_ingest(
    workspace: Workspace,
    counts: LoggedCounts,
    content_sha256: str,
    mapping: Mapping[str, str],
    started: datetime,
    *,
    status: str,
    registered: Mapping[str, int] | None = None,
) -> None:
    """Record an ingest (``complete``, or ``stopped`` part-way) and audit it.

    The line replaces the one its committed units kept up to date (same ``ingest_id``).

    >>> import tempfile, pathlib
    >>> from mallseg.workspace import Workspace
    >>> with Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws") as ws:
    ...     log_ingest(ws, LoggedCounts("ingest-2", "stores", "s.csv", 9, 4, 4, 0, 0, 0), "",
    ...                {}, now(), status="stopped")
    ...     ws.connection.execute("SELECT status FROM ingest_log").fetchall()
    [('stopped',)]
    """
    workspace.connection.execute(
        "INSERT OR REPLACE INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [counts.ingest_id, counts.table, counts.source, content_sha256, json.dumps(dict(mapping)),
         counts.rows_read, counts.rows_loaded, counts.rows_new, counts.rows_updated,
         counts.rows_unchanged, counts.rows_quarantined, started, now(), status],
    )
    details: dict[str, object] = {"source": counts.source, "ingest_id": counts.ingest_id,
                                  "rows_read": counts.rows_read}
    if status == "complete":
        details.update(rows_loaded=counts.rows_loaded, rows_quarantined=counts.rows_quarantined,
                       registered=dict(registered or {}))
    workspace.audit("ingest" if status == "complete" else "ingest_stopped", counts.table,
                    details)
