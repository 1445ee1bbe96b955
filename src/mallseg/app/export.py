"""Use case: export a run's segment assignments for a CRM (CSV or Parquet).

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> from mallseg.data.ingest import ingest_file
>>> from mallseg.datasets.samples import classic_sample_path
>>> from mallseg.app.segment import SegmentRequest, segment_customers
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with Workspace.open(folder / "ws") as ws:
...     _ = ingest_file(ws, "customers", classic_sample_path())
...     _ = segment_customers(ws, SegmentRequest(lens="classic", k=5, n_resamples=2))
...     export_segments(ws).rows
200
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mallseg.workspace import Workspace
from mallseg.workspace.segment_store import export_assignments

__all__ = ["ExportResult", "export_segments"]


@dataclass(frozen=True)
class ExportResult:
    """Where the assignments went."""

    run_id: str
    path: Path
    rows: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"run_id": self.run_id, "path": str(self.path), "rows": self.rows}


def export_segments(
    workspace: Workspace, run_id: str | None = None, path: Path | None = None
) -> ExportResult:
    """Write run ``run_id``'s assignments (default: the latest run).

    The default file is ``exports/segments-<run>.csv`` in the workspace.

    Raises
    ------
    mallseg.workspace.RunNotFoundError
        When the run does not exist.
    """
    record = workspace.get_run(run_id, "segment")
    target = path or workspace.exports_folder / f"segments-{record.run_id}.csv"
    rows = export_assignments(workspace, record.run_id, target)
    return ExportResult(record.run_id, target, rows)
