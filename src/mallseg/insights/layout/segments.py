"""The segments a layout or recommendation insight is broken down by, as a view in DuckDB.

Segments arrive as a frame (``customer_id`` with ``segment_name``, ``segment_id`` or
``segment``: a segmentation run's assignments), a series of segments indexed by customer
id, or a DuckDB relation with those columns (for example ``SELECT customer_id,
segment_name FROM segment_assignments WHERE run_id = '0002'``). :func:`segment_view`
checks them once, in SQL, and exposes them as a temporary view with two text columns,
``customer_id`` and ``segment``, that the insight SQL joins as it is. The segment is the
segment's name when there is one (what people read), else its id.

Examples
--------
>>> import duckdb, pandas as pd
>>> con = duckdb.connect()
>>> frame = pd.DataFrame({"customer_id": ["c1", "c2"], "segment_id": [0, 1],
...                       "segment_name": ["Evening diners", "Families"]})
>>> with segment_view(con, frame) as view:
...     con.execute(f"SELECT * FROM {view} ORDER BY customer_id").fetchall()
[('c1', 'Evening diners'), ('c2', 'Families')]
>>> with segment_view(con, None) as view:
...     view is None
True
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pandas as pd

from mallseg.core.sql_text import quote_identifier

__all__ = ["ALL_CUSTOMERS", "SegmentsInput", "segment_view"]

ALL_CUSTOMERS = "All customers"
"""The one segment used when no segments are given."""

SegmentsInput = pd.DataFrame | pd.Series | duckdb.DuckDBPyRelation | None
"""What a caller may pass as segments."""

_SEGMENT_COLUMNS = ("segment_name", "segment", "segment_id")


def _pick_segment_column(columns: list[str], segment_col: str | None) -> str:
    if segment_col is not None:
        if segment_col not in columns:
            raise ValueError(
                f"segments: required column {segment_col} missing (columns: "
                f"{', '.join(columns)})"
            )
        return segment_col
    for name in _SEGMENT_COLUMNS:
        if name in columns:
            return name
    raise ValueError(
        "segments: no segment column (expected one of segment_name, segment, segment_id; "
        f"columns: {', '.join(columns)})"
    )


@contextmanager
def segment_view(
    connection: duckdb.DuckDBPyConnection,
    segments: SegmentsInput,
    *,
    customer_col: str = "customer_id",
    segment_col: str | None = None,
) -> Iterator[str | None]:
    """Expose ``segments`` as a temporary view ``(customer_id, segment)`` for the block.

    Parameters
    ----------
    connection:
        The DuckDB connection the insight queries (a relation must belong to it).
    segments:
        A frame or relation with ``customer_col`` and a segment column, a series of
        segments indexed by customer id, or ``None`` (no breakdown: the view is ``None``).
    customer_col:
        Customer id column.
    segment_col:
        Segment column; by default the first of ``segment_name``, ``segment``,
        ``segment_id`` present.

    Yields
    ------
    str or None
        The quoted name of the view, dropped when the block ends.

    Raises
    ------
    ValueError
        When a column is missing, a customer has no id or no segment, or a customer
        appears more than once.

    Examples
    --------
    >>> import duckdb, pandas as pd
    >>> con = duckdb.connect()
    >>> twice = pd.DataFrame({"customer_id": ["c1", "c1"], "segment": ["a", "b"]})
    >>> with segment_view(con, twice) as view:
    ...     pass
    Traceback (most recent call last):
    ...
    ValueError: segments: customer_id 'c1' appears 2 times; expected one segment per customer
    >>> rel = con.sql("SELECT 'c9' AS customer_id, 3 AS segment_id")
    >>> with segment_view(con, rel) as view:
    ...     con.execute(f"SELECT * FROM {view}").fetchall()
    [('c9', '3')]
    """
    if segments is None:
        yield None
        return
    token = uuid.uuid4().hex[:12]
    raw = f"mallseg_segments_raw_{token}"
    view = quote_identifier(f"mallseg_segments_{token}")
    if isinstance(segments, pd.Series):
        segments = pd.DataFrame({customer_col: segments.index.to_numpy(),
                                 "segment": segments.to_numpy()})
        segment_col = "segment"
    if isinstance(segments, pd.DataFrame):
        columns = [str(c) for c in segments.columns]
        connection.register(raw, segments)
    elif isinstance(segments, duckdb.DuckDBPyRelation):
        columns = list(segments.columns)
        segments.create_view(raw, replace=True)
    else:
        raise ValueError(
            f"segments of type {type(segments).__name__} must be a pandas DataFrame, a Series "
            "of segments indexed by customer id, a DuckDB relation, or None"
        )
    try:
        if customer_col not in columns:
            raise ValueError(
                f"segments: required column {customer_col} missing (columns: "
                f"{', '.join(columns)})"
            )
        seg = _pick_segment_column(columns, segment_col)
        cust_q, seg_q, raw_q = (quote_identifier(customer_col), quote_identifier(seg),
                                quote_identifier(raw))
        connection.execute(
            f"CREATE TEMP VIEW {view} AS SELECT CAST({cust_q} AS VARCHAR) AS customer_id, "
            f"CAST({seg_q} AS VARCHAR) AS segment FROM {raw_q}"
        )
        _check(connection, view, customer_col, seg)
        yield view
    finally:
        connection.execute(f"DROP VIEW IF EXISTS {view}")
        if isinstance(segments, pd.DataFrame):
            connection.unregister(raw)
        else:
            connection.execute(f"DROP VIEW IF EXISTS {quote_identifier(raw)}")


def _check(connection: duckdb.DuckDBPyConnection, view: str, customer_col: str,
           segment_col: str) -> None:
    missing_id = connection.execute(
        f"SELECT count(*) FROM {view} WHERE customer_id IS NULL").fetchall()[0][0]
    if missing_id:
        raise ValueError(f"segments: {missing_id} rows have no {customer_col}; every row "
                         "needs one")
    no_segment = connection.execute(
        f"SELECT customer_id FROM {view} WHERE segment IS NULL LIMIT 1").fetchall()
    if no_segment:
        raise ValueError(
            f"segments: {customer_col} {no_segment[0][0]!r} has no {segment_col}; drop "
            "unassigned customers or give them a segment"
        )
    repeated = connection.execute(
        f"SELECT customer_id, count(*) AS n FROM {view} GROUP BY customer_id "
        "HAVING count(*) > 1 ORDER BY n DESC, customer_id LIMIT 1").fetchall()
    if repeated:
        raise ValueError(
            f"segments: {customer_col} {repeated[0][0]!r} appears {repeated[0][1]} times; "
            "expected one segment per customer"
        )
