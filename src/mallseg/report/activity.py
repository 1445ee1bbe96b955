"""What each segment's customers do in the mall, aggregated inside DuckDB.

Two aggregates of the event tables, joined to a run's assignments, each a small frame:

- :func:`visit_hours`: visits per segment, weekday (Monday = 0) and hour of the day, from
  ``visits.entered_at`` (or, without visits, purchases by ``transactions.purchased_at``),
  up to the run's reference time;
- :func:`top_stores`: per segment, the stores with the largest share of the segment's
  spend, next to the store's share of everyone's spend (lift), up to the reference time.

A store row is shown only when at least ``min_customers`` of the segment's customers
bought there, so no row describes a handful of people. Tables the workspace lacks give
an empty frame: the pages then say the data has no such events.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE segment_assignments AS SELECT * FROM (VALUES "
...                 "('0001', 'a', 0), ('0001', 'b', 1)) t(run_id, customer_id, segment_id)")
>>> _ = con.execute("CREATE TABLE visits AS SELECT * FROM (VALUES "
...                 "('a', TIMESTAMP '2026-03-02 10:15'), ('a', TIMESTAMP '2026-03-02 10:45'), "
...                 "('b', TIMESTAMP '2026-03-07 18:00')) t(customer_id, entered_at)")
>>> visit_hours(con, "0001", min_customers=1).to_dict(orient="records")[1]
{'segment': 1, 'weekday': 5, 'hour': 18, 'events': 1, 'share': 1.0}
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

__all__ = ["HOUR_COLUMNS", "STORE_COLUMNS", "top_stores", "visit_hours"]

HOUR_COLUMNS = ["segment", "weekday", "hour", "events", "share"]
"""Columns of :func:`visit_hours`; ``share`` is of the segment's events."""

STORE_COLUMNS = ["segment", "store", "category", "customers", "spend", "share",
                 "population_share", "lift", "rank"]
"""Columns of :func:`top_stores`."""


def _has_columns(con: duckdb.DuckDBPyConnection, table: str, columns: set[str]) -> bool:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall()
    return columns <= {str(r[0]) for r in rows}


def visit_hours(
    con: duckdb.DuckDBPyConnection, run_id: str, as_of: datetime | None = None, *,
    min_customers: int = 10,
) -> pd.DataFrame:
    """Events per segment x weekday x hour (visits, else purchases) of run ``run_id``.

    Parameters
    ----------
    con:
        The workspace connection.
    run_id:
        Run whose assignments group the customers.
    as_of:
        Events after this time are left out (the run's reference time).
    min_customers:
        Segments of fewer customers are left out (the minimum group size).

    Returns
    -------
    pandas.DataFrame
        :data:`HOUR_COLUMNS`, ordered by segment, weekday, hour; ``weekday`` 0 is Monday.
    """
    if _has_columns(con, "visits", {"customer_id", "entered_at"}):
        table, column = "visits", "entered_at"
    elif _has_columns(con, "transactions", {"customer_id", "purchased_at"}):
        table, column = "transactions", "purchased_at"
    else:
        return pd.DataFrame(columns=HOUR_COLUMNS)
    where = f" AND e.{column} <= ?" if as_of is not None else ""
    params: list[object] = [run_id] + ([as_of] if as_of is not None else []) + [
        run_id, min_customers]
    frame = con.execute(
        f"""
        SELECT a.segment_id AS segment, isodow(e.{column}) - 1 AS weekday,
               hour(e.{column}) AS hour, count(*) AS events
        FROM {table} e JOIN segment_assignments a
          ON a.customer_id = e.customer_id AND a.run_id = ?
        WHERE e.{column} IS NOT NULL{where}
          AND a.segment_id IN (SELECT segment_id FROM segment_assignments WHERE run_id = ?
                               GROUP BY segment_id HAVING count(*) >= ?)
        GROUP BY ALL ORDER BY segment, weekday, hour
        """,
        params,
    ).df()
    if frame.empty:
        return pd.DataFrame(columns=HOUR_COLUMNS)
    frame = frame.astype({"segment": int, "weekday": int, "hour": int, "events": int})
    frame["share"] = frame["events"] / frame.groupby("segment")["events"].transform("sum")
    return frame[HOUR_COLUMNS]


def top_stores(
    con: duckdb.DuckDBPyConnection, run_id: str, as_of: datetime | None = None, *,
    per_segment: int = 5, min_customers: int = 10,
) -> pd.DataFrame:
    """Each segment's stores by share of the segment's spend, with the lift over everyone.

    Returns
    -------
    pandas.DataFrame
        :data:`STORE_COLUMNS`: ``store`` is the store's name (its id when it has none),
        ``share`` the store's part of the segment's spend, ``population_share`` its part
        of everyone's, ``lift`` their ratio, ``rank`` 1 for the largest share.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE segment_assignments AS SELECT '0001' AS run_id, "
    ...                 "'c' || i AS customer_id, i % 2 AS segment_id FROM range(40) t(i)")
    >>> _ = con.execute("CREATE TABLE stores AS SELECT * FROM (VALUES ('s1', 'Cafe', 'cafe'),"
    ...                 " ('s2', 'Cinema', 'cinema')) t(store_id, name, category)")
    >>> _ = con.execute("CREATE TABLE transactions AS SELECT 'c' || i AS customer_id, "
    ...                 "CASE WHEN i % 2 = 0 THEN 's1' ELSE 's2' END AS store_id, "
    ...                 "10.0 AS amount, TIMESTAMP '2026-01-01' AS purchased_at "
    ...                 "FROM range(40) t(i)")
    >>> top_stores(con, "0001")[["segment", "store", "share", "lift"]].values.tolist()
    [[0, 'Cafe', 1.0, 2.0], [1, 'Cinema', 1.0, 2.0]]
    """
    if not _has_columns(con, "transactions", {"customer_id", "store_id", "amount"}):
        return pd.DataFrame(columns=STORE_COLUMNS)
    has_stores = _has_columns(con, "stores", {"store_id"})
    name = "coalesce(s.name, t.store_id)" if has_stores and _has_columns(
        con, "stores", {"name"}) else "t.store_id"
    category = "s.category" if has_stores and _has_columns(
        con, "stores", {"category"}) else "NULL"
    join = "LEFT JOIN stores s ON s.store_id = t.store_id" if has_stores else ""
    time_filter = " AND t.purchased_at <= ?" if as_of is not None and _has_columns(
        con, "transactions", {"purchased_at"}) else ""
    params: list[object] = [run_id] + ([as_of] if time_filter else [])
    params += [min_customers, per_segment]
    frame = con.execute(
        f"""
        WITH spend AS (
            SELECT a.segment_id AS segment, t.store_id, any_value({name}) AS store,
                   any_value({category}) AS category,
                   count(DISTINCT t.customer_id) AS customers, sum(t.amount) AS spend
            FROM transactions t JOIN segment_assignments a
              ON a.customer_id = t.customer_id AND a.run_id = ?
            {join}
            WHERE t.store_id IS NOT NULL AND t.amount > 0{time_filter}
            GROUP BY a.segment_id, t.store_id
        ), shares AS (
            SELECT *, spend / sum(spend) OVER (PARTITION BY segment) AS share,
                   sum(spend) OVER (PARTITION BY store_id)
                     / sum(spend) OVER () AS population_share
            FROM spend
        ), ranked AS (
            SELECT *, share / population_share AS lift,
                   row_number() OVER (PARTITION BY segment ORDER BY share DESC, store) AS rank
            FROM shares WHERE customers >= ?
        )
        SELECT segment, store, category, customers, spend, share, population_share, lift,
               rank
        FROM ranked WHERE rank <= ? ORDER BY segment, rank
        """,
        params,
    ).df()
    if frame.empty:
        return pd.DataFrame(columns=STORE_COLUMNS)
    return frame.astype({"segment": int, "customers": int, "rank": int})[STORE_COLUMNS]
