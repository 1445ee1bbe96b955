r"""Use case: score new customers with a run's model, on any lens, without loading them.

The new customers' file is validated as an ingest would validate it, into a scratch
workspace of its own (the real one is only read): rejected rows are reported with their
line and reason and loaded nowhere. Their features are those of the run's feature schema,
as of the run's reference time: attributes from the file, event-based features from event
files given alongside or else from the workspace's own events of those customers (the
workspace's stores and campaigns are read for categories and zones).

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
>>> new = folder / "new.csv"
>>> _ = new.write_text("CustomerID,Annual Income (k$),Spending Score (1-100)\nN1,120,90\n"
...                    "N2,abc,10\n")
>>> result = assign_file(folder / "ws", new)
>>> len(result.assignments), [r.reason.split(":")[0] for r in result.rejected]
(1, ['annual_income'])
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mallseg.app.run_artifacts import load_run
from mallseg.core.sql_text import quote_literal
from mallseg.data.errors import IngestError
from mallseg.data.ingest import IngestReport, ingest_file
from mallseg.features.build import build_features
from mallseg.segment.coverage import segment_label
from mallseg.segment.rfm import score_with_cuts
from mallseg.workspace import DATABASE_FILE, Workspace, resolve_workspace_path

__all__ = ["AssignResult", "RejectedRow", "assign_file"]

_EVENT_TABLES = ("visits", "transactions", "exposures")
_SHARED_TABLES = ("stores", "campaigns")


@dataclass(frozen=True)
class RejectedRow:
    """A row of the new customers' file that was not scored, and why."""

    source_file: str
    line: int
    reason: str


@dataclass(frozen=True)
class AssignResult:
    """New customers scored with a run's model."""

    run_id: str
    reference: str
    assignments: pd.DataFrame
    """customer_id, segment_id, segment_name, confidence."""
    rows_read: int
    rejected: tuple[RejectedRow, ...] = ()
    ingest: tuple[IngestReport, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "run_id": self.run_id, "reference": self.reference, "rows_read": self.rows_read,
            "assignments": self.assignments.to_dict(orient="records"),
            "rejected": [r.__dict__ for r in self.rejected],
        }


def assign_file(
    workspace_path: str | Path | None,
    customers_file: str | Path,
    *,
    run_id: str | None = None,
    event_files: Mapping[str, str | Path] | None = None,
    column_map: Mapping[str, str] | None = None,
    actor: str | None = None,
) -> AssignResult:
    """Score the customers of ``customers_file`` with run ``run_id`` (default: the latest).

    Parameters
    ----------
    workspace_path:
        The workspace (only read).
    customers_file:
        New customers, in any format ingest reads.
    run_id:
        The segmentation run whose model scores them.
    event_files:
        Table -> file of those customers' events (visits, transactions, exposures); when
        none is given, their events are taken from the workspace.
    column_map:
        ``source -> canonical`` column names for the customers file.
    actor:
        Who asked (kept for the audit log of a later write; assigning writes nothing).

    Raises
    ------
    mallseg.data.errors.IngestError
        When a file cannot be used at all, or every row of it is rejected.
    mallseg.workspace.RunNotFoundError
        When the run does not exist.
    """
    folder = resolve_workspace_path(workspace_path)
    with Workspace.open(folder, read_only=True) as ws:
        artifacts = load_run(ws, run_id)
    with tempfile.TemporaryDirectory(prefix="mallseg-assign-") as scratch_dir, \
            Workspace.open(Path(scratch_dir) / "scratch") as scratch:
        reports = [ingest_file(scratch, "customers", customers_file, column_map=column_map)]
        for table, path in (event_files or {}).items():
            reports.append(ingest_file(scratch, table, path))
        rejected = _rejected_rows(scratch)
        if reports[0].rows_loaded == 0:
            raise IngestError(
                f"{customers_file}: all {reports[0].rows_read:,} rows were rejected, nothing "
                f"to score (first reason: {rejected[0].reason if rejected else 'unknown'})"
            )
        _copy_workspace_rows(scratch, folder / DATABASE_FILE,
                             skip=set(event_files or {}) if event_files else set())
        build = build_features(scratch.connection, schema=artifacts.schema)
    frame = build.frame
    names = artifacts.segment_names
    if artifacts.segmenter is None:
        scores = score_with_cuts(frame, artifacts.rfm_cuts).scores
        labels = scores["segment"].to_numpy()
        confidence = np.ones(len(labels))
    else:
        labels = np.asarray(artifacts.segmenter.predict(frame))
        confidence = np.asarray(artifacts.segmenter.confidence(frame))
    assignments = pd.DataFrame({
        "customer_id": frame["customer_id"].astype(str),
        "segment_id": labels.astype(int),
        "segment_name": [names.get(int(s), segment_label(int(s))) for s in labels],
        "confidence": np.round(confidence, 4),
    })
    return AssignResult(
        run_id=artifacts.run_id, reference=artifacts.schema.sentence(),
        assignments=assignments, rows_read=reports[0].rows_read, rejected=tuple(rejected),
        ingest=tuple(reports),
    )


def _rejected_rows(scratch: Workspace) -> list[RejectedRow]:
    rows = scratch.connection.execute(
        "SELECT source_file, source_row, reason FROM quarantine "
        "ORDER BY source_file, source_row"
    ).fetchall()
    return [RejectedRow(str(f), int(r), str(reason)) for f, r, reason in rows]


def _copy_workspace_rows(scratch: Workspace, database: Path, *, skip: set[str]) -> None:
    """The workspace's stores, campaigns and the new customers' own events, into scratch."""
    con = scratch.connection
    con.execute(f"ATTACH {quote_literal(database)} AS source_ws (READ_ONLY)")
    try:
        for table in _SHARED_TABLES:
            con.execute(f"INSERT INTO {table} SELECT * FROM source_ws.{table} "
                        f"WHERE {_key(table)} NOT IN (SELECT {_key(table)} FROM {table})")
        for table in _EVENT_TABLES:
            if table in skip:
                continue
            con.execute(
                f"INSERT INTO {table} SELECT * FROM source_ws.{table} "
                "WHERE customer_id IN (SELECT customer_id FROM customers)"
            )
    finally:
        con.execute("DETACH source_ws")


def _key(table: str) -> str:
    return {"stores": "store_id", "campaigns": "campaign_id"}[table]
