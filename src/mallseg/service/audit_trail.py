"""The service's audit lines for customer-level reads, written to the workspace in batches.

A read (a customer's segment looked up, a customer scored) is audited with the key id,
the action, the customer and the time; at thousands of reads a second one insert per read
would cost more than the read, so lines are queued here and written together at least
every ``interval`` seconds and when the service stops. Writes (recorded events, keys
created or revoked) are audited at once, inside the write. The keys' ``last_used_at`` is
written with each batch.

Examples
--------
>>> import tempfile, pathlib, threading
>>> from mallseg.workspace import Workspace
>>> with Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws") as ws:
...     trail = AuditTrail(ws, threading.RLock(), interval=60)
...     trail.record("k0123456789", "lookup_customer", "C1", {"run_id": "0001"})
...     written = trail.flush()
...     ws.connection.execute(
...         "SELECT actor, action, target FROM audit_log WHERE action = 'lookup_customer'"
...     ).fetchall()
[('k0123456789', 'lookup_customer', 'C1')]
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from mallseg.app.keys import touch_keys
from mallseg.workspace import Workspace
from mallseg.workspace.runs import utc_now

__all__ = ["ERASED_TARGET", "AuditTrail"]

log = logging.getLogger(__name__)

_MAX_QUEUED = 1_000_000
"""Lines kept while the database refuses them, before the oldest are dropped (and logged)."""


class AuditTrail:
    """Queued audit lines and key uses, flushed to the workspace by a background thread.

    The module's example queues a line and flushes it.

    Parameters
    ----------
    workspace:
        The service's open workspace (writer).
    lock:
        The lock held around every use of the workspace connection.
    interval:
        Seconds between flushes.
    """

    def __init__(self, workspace: Workspace, lock: threading.RLock, interval: float) -> None:
        self.workspace = workspace
        self.lock = lock
        self.interval = interval
        self._lines: list[tuple[datetime, str, str, str, str]] = []
        self._used: dict[str, datetime] = {}
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, actor: str, action: str, target: str,
               details: Mapping[str, Any] | None = None) -> None:
        """Queue one audit line (written at the next flush)."""
        line = (utc_now(), actor, action, target,
                json.dumps(dict(details or {}), default=str, sort_keys=True))
        with self._guard:
            self._lines.append(line)

    def note_use(self, key_id: str) -> None:
        """Remember that ``key_id`` was just used."""
        when = utc_now()
        with self._guard:
            self._used[key_id] = when

    def flush(self) -> int:
        """Write the queued lines and key uses now; return the lines written."""
        with self._guard:
            lines, self._lines = self._lines, []
            used, self._used = self._used, {}
        if not lines and not used:
            return 0
        try:
            with self.lock:
                con = self.workspace.connection
                if lines:
                    batch = pa.table({
                        name: [line[i] for line in lines]
                        for i, name in enumerate(
                            ("logged_at", "actor", "action", "target", "details"))
                    })
                    con.register("_audit_batch", batch)
                    try:
                        con.execute(f"INSERT INTO audit_log SELECT logged_at, actor, action, "
                                    f"{_target_sql(con)}, details FROM _audit_batch b")
                    finally:
                        con.unregister("_audit_batch")
                if used:
                    touch_keys(self.workspace, used)
        except Exception:
            log.exception("audit lines could not be written; they are kept for the next try")
            with self._guard:
                self._lines = (lines + self._lines)[-_MAX_QUEUED:]
                self._used = {**used, **self._used}
            return 0
        return len(lines)

    def start(self) -> None:
        """Flush every ``interval`` seconds in a background thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="mallseg-audit", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread and write what is queued."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()


ERASED_TARGET = "[erased customer]"
"""The target of an audit line that names a customer erased before the line was written."""


def _target_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The batch's target, or :data:`ERASED_TARGET` for an id that has a tombstone.

    A read of an erased customer (a lookup that now answers 404, a scoring with their id)
    is still audited, without bringing their id back into the workspace.
    """
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'tombstones' "
        "AND table_schema = current_schema()").fetchall()
    if not found[0][0]:
        return "b.target"
    return (f"CASE WHEN sha256(b.target) IN (SELECT digest FROM tombstones) "
            f"THEN '{ERASED_TARGET}' ELSE b.target END")
