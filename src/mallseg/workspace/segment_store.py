"""A segmentation run's assignments and segments in the workspace, and their export.

Writes are one transaction: a run's assignments and segment rows land together or not at
all. Exports write the customer id, segment id and name and the confidence, nothing
personal; text cells that a spreadsheet would read as a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) are written with a leading ``'``.

Examples
--------
>>> import tempfile, pathlib
>>> import numpy as np
>>> from mallseg.workspace import Workspace
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with Workspace.open(folder / "ws") as ws:
...     store_segmentation(ws, "0001", np.array(["a", "=b"]), np.array([0, 1]),
...                        {0: "Young shoppers", 1: "Senior shoppers"}, np.array([0.9, 0.7]),
...                        [{"segment": 0, "name": "Young shoppers", "size": 1, "share": 0.5,
...                          "description": "", "profile": {}}])
...     rows = export_assignments(ws, "0001", folder / "out.csv")
>>> rows, (folder / "out.csv").read_text().splitlines()[1]
(2, "'=b,1,Senior shoppers,0.7")
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mallseg.core.spreadsheet import neutralised_text_sql
from mallseg.core.sql_text import quote_literal
from mallseg.workspace.database import Workspace

__all__ = [
    "UNASSIGNED_NAME",
    "assignments_frame",
    "export_assignments",
    "store_segmentation",
]

UNASSIGNED_NAME = "Unassigned"


def store_segmentation(
    workspace: Workspace,
    run_id: str,
    customer_ids: np.ndarray,
    labels: np.ndarray,
    names: Mapping[int, str],
    confidence: np.ndarray,
    segments: Sequence[Mapping[str, Any]],
) -> None:
    """Write a run's assignments and segment rows in one transaction."""
    con = workspace.connection
    assignments = pd.DataFrame({
        "run_id": run_id,
        "customer_id": np.asarray(customer_ids).astype(str),
        "segment_id": np.asarray(labels).astype("int32"),
        "segment_name": [names.get(int(s), UNASSIGNED_NAME) for s in labels],
        "confidence": np.asarray(confidence, dtype=float),
    })
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("_assignments", assignments)
        con.execute("INSERT INTO segment_assignments SELECT * FROM _assignments")
        con.unregister("_assignments")
        for row in segments:
            con.execute(
                "INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?)",
                [run_id, int(row["segment"]), row["name"], int(row["size"]),
                 float(row["share"]), row.get("description", ""),
                 json.dumps(row.get("profile", {}), default=str)],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def assignments_frame(
    workspace: Workspace, run_id: str, customer_ids: Sequence[str] | None = None
) -> pd.DataFrame:
    """A run's assignments (all, or those of ``customer_ids``), ordered by customer.

    >>> import tempfile, pathlib
    >>> from mallseg.workspace import Workspace
    >>> with Workspace.open(pathlib.Path(tempfile.mkdtemp())) as ws:
    ...     assignments_frame(ws, "0001").columns.tolist()
    ['customer_id', 'segment_id', 'segment_name', 'confidence']
    """
    sql = ("SELECT customer_id, segment_id, segment_name, confidence FROM segment_assignments "
           "WHERE run_id = ?")
    params: list[object] = [run_id]
    if customer_ids is not None:
        sql += " AND customer_id IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(customer_ids))
    return workspace.connection.execute(sql + " ORDER BY customer_id", params).df()


def export_assignments(workspace: Workspace, run_id: str, path: Path) -> int:
    """Write a run's assignments to CSV or Parquet (by the file's suffix); return the rows.

    Raises
    ------
    LookupError
        When the run has no assignments in this workspace.
    """
    con = workspace.connection
    count = next(iter(con.execute(
        "SELECT count(*) FROM segment_assignments WHERE run_id = ?", [run_id]
    ).fetchall()), None)
    rows = int(count[0]) if count else 0
    if rows == 0:
        raise LookupError(f"run {run_id!r} has no assignments in workspace {workspace.folder}")
    path.parent.mkdir(parents=True, exist_ok=True)
    parquet = path.suffix.lower() in (".parquet", ".pq")
    file_format = "PARQUET" if parquet else "CSV, HEADER"
    customer = "customer_id" if parquet else neutralised_text_sql("customer_id")
    name = "segment_name" if parquet else neutralised_text_sql("segment_name")
    con.execute(
        f"COPY (SELECT {customer} AS customer_id, segment_id, {name} AS segment_name, "
        "round(confidence, 4) AS confidence FROM segment_assignments WHERE run_id = ? "
        f"ORDER BY segment_assignments.customer_id) TO {quote_literal(path)} "
        f"(FORMAT {file_format})",
        [run_id],
    )
    workspace.audit("export_segments", str(path), {"run_id": run_id, "rows": rows})
    return rows
