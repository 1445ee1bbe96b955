"""Small in-memory frames (segments, target lists) made visible to DuckDB SQL for a while.

DuckDB refuses to register a frame while the connection still holds a result that was only
partly read (a ``fetchone()`` elsewhere); the connection is first cleared with a trivial
query, so a caller's half-read result never breaks a campaign analysis.

Examples
--------
>>> import duckdb, pandas as pd
>>> con = duckdb.connect()
>>> with registered(con, pd.DataFrame({"x": [1, 2]}), "demo") as view:
...     con.execute(f'SELECT sum(x) FROM "{view}"').fetchall()
[(3,)]
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pandas as pd

__all__ = ["registered"]


@contextmanager
def registered(
    connection: duckdb.DuckDBPyConnection, frame: pd.DataFrame, prefix: str
) -> Iterator[str]:
    """Register ``frame`` under a fresh name starting with ``prefix``; yield the name.

    The frame is unregistered on exit.
    """
    name = f"mallseg_{prefix}_{uuid.uuid4().hex[:12]}"
    connection.execute("SELECT 1").fetchall()
    connection.register(name, frame)
    try:
        yield name
    finally:
        connection.unregister(name)
