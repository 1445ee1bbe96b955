"""Use case: what a workspace holds, without creating one where there is none.

Examples
--------
>>> import tempfile, pathlib
>>> workspace_status(pathlib.Path(tempfile.mkdtemp()) / "nothing-here")
Traceback (most recent call last):
...
mallseg.workspace.database.WorkspaceError: workspace ...: no mallseg.duckdb here, so no workspace yet; load data with `mallseg ingest` (or give --workspace)
"""  # noqa: E501

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mallseg.core.schema import CANONICAL_TABLES
from mallseg.workspace import Workspace

__all__ = ["StatusResult", "workspace_status"]


@dataclass(frozen=True)
class StatusResult:
    """Row counts of the workspace's tables, its runs and its customer attributes."""

    folder: str
    schema_version: int
    tables: dict[str, int]
    runs: list[dict[str, Any]] = field(default_factory=list)
    attributes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return asdict(self)


def workspace_status(path: str | Path | None) -> StatusResult:
    """Describe the workspace at ``path`` (read-only).

    Raises
    ------
    mallseg.workspace.WorkspaceError
        When there is no workspace there (nothing is created).
    """
    with Workspace.open(path, read_only=True) as ws:
        tables = {name: ws.table_count(name) for name in (
            *CANONICAL_TABLES, "customer_attributes", "quarantine", "runs",
            "segment_assignments")}
        runs = [
            {"run_id": r[0], "kind": r[1], "status": r[2], "finished_at": str(r[3]),
             "reference_time": str(r[4]) if r[4] else None, "summary": (r[5] or "")[:120]}
            for r in ws.connection.execute(
                "SELECT run_id, kind, status, finished_at, reference_time, summary FROM runs "
                "ORDER BY started_at DESC LIMIT 10"
            ).fetchall()
        ]
        attributes = [
            {"attribute": a, "kind": k, "family": f, "source": s, "meaning": m}
            for a, k, f, s, m in ws.connection.execute(
                "SELECT attribute, kind, family, source_table || '.' || source_column, meaning "
                "FROM attribute_catalog ORDER BY source_table, attribute"
            ).fetchall()
        ]
        return StatusResult(str(ws.folder), ws.schema_version, tables, runs, attributes)
