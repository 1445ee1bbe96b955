"""Write a workspace's canonical tables as the Parquet folder the Spark engine reads.

The workspace is one DuckDB file on one machine; Spark reads files. Each canonical table
that holds rows becomes ``<folder>/<table>.parquet`` with exactly its canonical columns and
types (what :func:`mallseg.features.sources.CanonicalSources.relation` reads on DuckDB),
written by DuckDB without passing through Python. Customer attributes stay in the
workspace: the Spark engine builds the canonical features only.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from mallseg.workspace import Workspace
>>> folder = Path(tempfile.mkdtemp())
>>> with Workspace.open(folder / "ws") as ws:
...     _ = ws.connection.execute(
...         "INSERT INTO customers (customer_id, age) VALUES ('c1', 31), ('c2', 45)")
...     export_canonical_tables(ws, folder / "inputs")
{'customers': 2}
>>> sorted(p.name for p in (folder / "inputs").iterdir())
['customers.parquet']
"""

from __future__ import annotations

import logging
from pathlib import Path

from mallseg.core.schema import TABLE_LOAD_ORDER
from mallseg.core.sql_text import quote_literal
from mallseg.features.sources import inspect_sources
from mallseg.workspace import Workspace

__all__ = ["export_canonical_tables"]

logger = logging.getLogger(__name__)


def export_canonical_tables(workspace: Workspace, folder: str | Path) -> dict[str, int]:
    """Write every canonical table of ``workspace`` holding rows to ``folder`` as Parquet.

    Files of an earlier export in ``folder`` are replaced; a table the workspace no longer
    holds rows in is removed, so the folder always mirrors the workspace.

    Parameters
    ----------
    workspace:
        An open workspace.
    folder:
        Where ``<table>.parquet`` files go (created when missing).

    Returns
    -------
    dict[str, int]
        Rows written per table, in load order.

    Raises
    ------
    ValueError
        When the workspace has no customers (there would be nothing to segment).
    """
    sources = inspect_sources(workspace.connection)
    if not sources.has("customers"):
        raise ValueError(
            f"workspace {workspace.folder} has no customers: run `mallseg ingest` first"
        )
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for table in TABLE_LOAD_ORDER:
        path = target / f"{table}.parquet"
        if not sources.has(table):
            path.unlink(missing_ok=True)
            continue
        workspace.connection.execute(
            f"COPY {sources.relation(table)} TO {quote_literal(str(path))} (FORMAT PARQUET)"
        )
        written[table] = workspace.table_count(table)
    logger.info("exported %s to %s", ", ".join(f"{t} ({n:,} rows)" for t, n in
                                              written.items()), target)
    return written
