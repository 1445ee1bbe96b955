"""Who used what, and when first: the interaction tables a recommender learns from, in DuckDB.

A *use* is a customer's first purchase at an item (a store, or a category), with a
positive amount: one row per customer x item with the time of the first purchase. From it,
for any cut-off time, the database computes the item x item Gram matrix, the popularity of
items overall and within each segment, and the histories of a range of customers; only
those (per-item, per-item-pair, per-customer) come into Python.

Tables (temporary, dropped when the block ends)
    ``customers``: ``cidx`` (0..n-1), ``customer_id``, ``sidx`` (segment index): every
    customer who bought, and every segmented customer.
    ``items``: ``iidx`` (0..m-1, most-used first), ``item``, ``label``, ``customers``.
    ``uses``: ``cidx``, ``iidx``, ``first_at``, ordered by ``cidx``.

Examples
--------
>>> import duckdb
>>> from mallseg.features.sources import inspect_sources
>>> con = duckdb.connect()
>>> _ = con.execute('''CREATE TABLE transactions AS SELECT * FROM (VALUES
...     ('c1', 'S1', TIMESTAMP '2026-01-01', 5.0), ('c1', 'S2', TIMESTAMP '2026-01-03', 5.0),
...     ('c2', 'S1', TIMESTAMP '2026-01-02', 5.0))
...     t(customer_id, store_id, purchased_at, amount)''')
>>> with interaction_tables(con, inspect_sources(con), item="store") as tables:
...     gram = gram_matrix(con, tables, None, tables.n_items)
>>> tables.items, gram.tolist()
(('S1', 'S2'), [[2.0, 1.0], [1.0, 1.0]])
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import duckdb
import numpy as np
import pandas as pd
import scipy.sparse as sp

from mallseg.core.sql_text import quote_identifier
from mallseg.features.sources import CanonicalSources
from mallseg.insights.layout.purchases import stores_sql
from mallseg.insights.layout.segments import ALL_CUSTOMERS

__all__ = [
    "UNASSIGNED",
    "EvaluationSample",
    "InteractionTables",
    "ItemKind",
    "customer_block",
    "evaluation_sample",
    "find_customers",
    "gram_matrix",
    "histories",
    "interaction_tables",
    "popularity",
]

ItemKind = Literal["store", "category"]
_GRAM_BLOCK_CUSTOMERS = 200_000
UNASSIGNED = "Unassigned"
"""Segment of customers the segments given do not cover."""


@dataclass(frozen=True)
class InteractionTables:
    """Names and sizes of the interaction tables of one recommender run."""

    customers_table: str
    items_table: str
    uses_table: str
    n_customers: int
    n_items: int
    items: tuple[str, ...]
    labels: tuple[str, ...]
    segments: tuple[str, ...]
    period_start: datetime | None
    period_end: datetime | None
    """Time of the latest purchase."""
    uses: int


@contextmanager
def interaction_tables(
    connection: duckdb.DuckDBPyConnection,
    sources: CanonicalSources,
    *,
    item: ItemKind,
    segments_view: str | None = None,
) -> Iterator[InteractionTables]:
    """Build the customers, items and uses tables for the block (see the module notes)."""
    token = uuid.uuid4().hex[:12]
    names = {k: quote_identifier(f"mallseg_rec_{k}_{token}")
             for k in ("purchases", "customers", "items", "uses")}
    stores = stores_sql(sources)
    if item == "store":
        item_sql, label_sql = "CAST(t.store_id AS VARCHAR)", "s.name"
    elif item == "category":
        item_sql, label_sql = "lower(trim(coalesce(t.category, s.category)))", "NULL"
    else:
        raise ValueError(f"item={item!r} must be 'store' or 'category'")
    fallback = ALL_CUSTOMERS if segments_view is None else UNASSIGNED
    try:
        connection.execute(f"""
            CREATE TEMP TABLE {names['purchases']} AS
            SELECT t.customer_id, {item_sql} AS item, min(t.purchased_at) AS first_at,
                any_value({label_sql}) AS label
            FROM {sources.relation('transactions')} t
            LEFT JOIN {stores} s ON s.store_id = t.store_id
            WHERE t.amount > 0 AND t.customer_id IS NOT NULL AND t.purchased_at IS NOT NULL
                AND {item_sql} IS NOT NULL
            GROUP BY ALL""")
        segmented = (f"UNION SELECT customer_id FROM {segments_view}"
                     if segments_view is not None else "")
        segment_of = (f"LEFT JOIN {segments_view} g USING (customer_id)"
                      if segments_view is not None else "")
        segment_sql = "g.segment" if segments_view is not None else "NULL"
        connection.execute(f"""
            CREATE TEMP TABLE {names['customers']} AS
            WITH ids AS (SELECT DISTINCT customer_id FROM {names['purchases']} {segmented}),
            tagged AS (SELECT ids.customer_id,
                              coalesce({segment_sql}, '{fallback}') AS segment
                       FROM ids {segment_of})
            SELECT CAST(row_number() OVER (ORDER BY customer_id) - 1 AS INTEGER) AS cidx,
                customer_id, segment,
                CAST(dense_rank() OVER (ORDER BY segment) - 1 AS INTEGER) AS sidx
            FROM tagged""")
        connection.execute(f"""
            CREATE TEMP TABLE {names['items']} AS
            SELECT CAST(row_number() OVER (ORDER BY count(*) DESC, item) - 1 AS INTEGER)
                    AS iidx,
                item, coalesce(any_value(label), item) AS label, count(*) AS customers
            FROM {names['purchases']} GROUP BY item""")
        connection.execute(f"""
            CREATE TEMP TABLE {names['uses']} AS
            SELECT c.cidx, i.iidx, p.first_at
            FROM {names['purchases']} p
            JOIN {names['customers']} c USING (customer_id)
            JOIN {names['items']} i USING (item)
            ORDER BY c.cidx, i.iidx""")
        connection.execute(f"DROP TABLE {names['purchases']}")
        items = connection.execute(
            f"SELECT item, label FROM {names['items']} ORDER BY iidx").fetchall()
        segments = connection.execute(
            f"SELECT DISTINCT sidx, segment FROM {names['customers']} ORDER BY sidx"
        ).fetchall()
        n_customers = connection.execute(
            f"SELECT count(*) FROM {names['customers']}").fetchall()[0][0]
        start, end, uses = connection.execute(
            f"SELECT min(first_at), max(first_at), count(*) FROM {names['uses']}"
        ).fetchall()[0]
        last = connection.execute(
            f"SELECT max(purchased_at) FROM {sources.relation('transactions')} "
            "WHERE amount > 0").fetchall()[0][0]
        yield InteractionTables(
            customers_table=names["customers"], items_table=names["items"],
            uses_table=names["uses"], n_customers=int(n_customers), n_items=len(items),
            items=tuple(str(i) for i, _ in items), labels=tuple(str(lb) for _, lb in items),
            segments=tuple(str(s) for _, s in segments), period_start=start,
            period_end=last if last is not None else end, uses=int(uses),
        )
    finally:
        for name in names.values():
            connection.execute(f"DROP TABLE IF EXISTS {name}")


def _columns(relation: duckdb.DuckDBPyConnection) -> list[np.ndarray]:
    """The columns of a query result as numpy arrays, in SELECT order."""
    return [np.asarray(v) for v in relation.fetchnumpy().values()]


def _before(cutoff: datetime | None) -> tuple[str, list[object]]:
    if cutoff is None:
        return "", []
    return "AND first_at < ?", [cutoff]


def gram_matrix(connection: duckdb.DuckDBPyConnection, tables: InteractionTables,
                cutoff: datetime | None, n_items: int) -> np.ndarray:
    """``G[i, j]``: customers who first used both items before ``cutoff`` (all if None).

    Accumulated as ``X_b^T X_b`` over blocks of customers (range queries on the uses
    table, which is ordered by customer): memory is one block of customer rows and the
    items x items result, whatever the number of customers.
    """
    cond, params = _before(cutoff)
    gram = np.zeros((n_items, n_items))
    block = _GRAM_BLOCK_CUSTOMERS
    for first in range(0, tables.n_customers, block):
        stop = min(first + block, tables.n_customers)
        data = connection.execute(f"""
            SELECT cidx, iidx FROM {tables.uses_table}
            WHERE cidx >= ? AND cidx < ? AND iidx < {int(n_items)} {cond}""",
            [first, stop, *params])
        c_col, i_col = _columns(data)
        rows = c_col.astype(np.int64) - first
        if not len(rows):
            continue
        x = sp.csr_matrix((np.ones(len(rows)), (rows, i_col.astype(np.int64))),
                          shape=(stop - first, n_items))
        gram += (x.T @ x).toarray()
    return gram


def popularity(connection: duckdb.DuckDBPyConnection, tables: InteractionTables,
               cutoff: datetime | None, n_items: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers per item, per segment x item, and buying customers per segment.

    Returns
    -------
    (global_counts, segment_counts, segment_sizes)
        Shapes (items,), (segments, items) and (segments,), counting uses before
        ``cutoff``.
    """
    cond, params = _before(cutoff)
    rows = connection.execute(f"""
        SELECT c.sidx, u.iidx, count(*) FROM {tables.uses_table} u
        JOIN {tables.customers_table} c USING (cidx)
        WHERE u.iidx < {int(n_items)} {cond} GROUP BY ALL""", params).fetchall()
    sizes_rows = connection.execute(f"""
        SELECT c.sidx, count(DISTINCT u.cidx) FROM {tables.uses_table} u
        JOIN {tables.customers_table} c USING (cidx)
        WHERE true {cond} GROUP BY ALL""", params).fetchall()
    n_segments = len(tables.segments)
    per_segment = np.zeros((n_segments, n_items))
    for s, i, n in rows:
        per_segment[int(s), int(i)] = n
    sizes = np.zeros(n_segments)
    for s, n in sizes_rows:
        sizes[int(s)] = n
    return per_segment.sum(axis=0), per_segment, sizes


def histories(connection: duckdb.DuckDBPyConnection, tables: InteractionTables,
              first: int, stop: int, n_items: int) -> sp.csr_matrix:
    """Items used by customers ``first <= cidx < stop`` (rows in cidx order), as 0/1."""
    data = connection.execute(f"""
        SELECT cidx, iidx FROM {tables.uses_table}
        WHERE cidx >= ? AND cidx < ? AND iidx < {int(n_items)}""", [first, stop])
    c_col, i_col = _columns(data)
    rows = c_col.astype(np.int64) - first
    cols = i_col.astype(np.int64)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(stop - first, n_items))


@dataclass(frozen=True)
class EvaluationSample:
    """Customers evaluated at one cut-off: their history before it and what came after."""

    cidx: np.ndarray
    sidx: np.ndarray
    history: sp.csr_matrix
    """(customers, catalogue items) uses before the cut-off."""
    relevant: tuple[set[int], ...]
    """Items first used in the window (any item, inside the catalogue or not)."""
    history_size: np.ndarray
    """Items used before the cut-off (inside the catalogue or not)."""


def evaluation_sample(
    connection: duckdb.DuckDBPyConnection,
    tables: InteractionTables,
    cutoff: datetime,
    window_end: datetime,
    n_items: int,
    *,
    max_customers: int,
    seed: int,
) -> EvaluationSample:
    """Customers who first used an item in ``[cutoff, window_end)``, a seeded sample of them.

    Every such customer is eligible, with or without history before the cut-off.
    """
    picked = connection.execute(f"""
        WITH eligible AS (
            SELECT DISTINCT cidx FROM {tables.uses_table}
            WHERE first_at >= ? AND first_at < ?)
        SELECT e.cidx, c.sidx FROM eligible e JOIN {tables.customers_table} c USING (cidx)
        ORDER BY hash(e.cidx, {int(seed)}), e.cidx LIMIT {int(max_customers)}
    """, [cutoff, window_end])
    p_c, p_s = _columns(picked)
    order = np.argsort(p_c.astype(np.int64))
    cidx = p_c.astype(np.int64)[order]
    sidx = p_s.astype(np.int64)[order]
    view = f"mallseg_rec_sample_{uuid.uuid4().hex[:12]}"
    connection.register(view, pd.DataFrame({"cidx": cidx}))
    try:
        rows = connection.execute(f"""
            SELECT u.cidx, u.iidx, u.first_at < ? AS before
            FROM {tables.uses_table} u SEMI JOIN {view} s ON s.cidx = u.cidx
            WHERE u.first_at < ?""", [cutoff, window_end])
        u_c, u_i, u_before = _columns(rows)
    finally:
        connection.unregister(view)
    r_c = np.searchsorted(cidx, u_c.astype(np.int64))
    r_i = u_i.astype(np.int64)
    before = u_before.astype(bool)
    n = len(cidx)
    hist_mask = before & (r_i < n_items)
    history = sp.csr_matrix((np.ones(int(hist_mask.sum())), (r_c[hist_mask], r_i[hist_mask])),
                            shape=(n, n_items))
    relevant: list[set[int]] = [set() for _ in range(n)]
    for c, i in zip(r_c[~before], r_i[~before], strict=True):
        relevant[c].add(int(i))
    history_size = np.bincount(r_c[before], minlength=n)
    return EvaluationSample(cidx=cidx, sidx=sidx, history=history, relevant=tuple(relevant),
                            history_size=history_size)


def customer_block(connection: duckdb.DuckDBPyConnection, tables: InteractionTables,
                   first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Customer ids and segment indices of ``first <= cidx < stop``, in cidx order."""
    data = connection.execute(f"""
        SELECT customer_id, sidx FROM {tables.customers_table}
        WHERE cidx >= ? AND cidx < ? ORDER BY cidx""", [first, stop])
    ids, sidx = _columns(data)
    return ids.astype(object), sidx.astype(np.int64)


def find_customers(connection: duckdb.DuckDBPyConnection, tables: InteractionTables,
                   customer_ids: list[str]) -> tuple[np.ndarray, list[str]]:
    """Indices (sorted) of the known ``customer_ids``, and the ids not known."""
    view = f"mallseg_rec_ids_{uuid.uuid4().hex[:12]}"
    connection.register(view, pd.DataFrame({"customer_id": [str(c) for c in customer_ids]}))
    try:
        rows = connection.execute(f"""
            SELECT v.customer_id, c.cidx FROM {view} v
            LEFT JOIN {tables.customers_table} c USING (customer_id)""").fetchall()
    finally:
        connection.unregister(view)
    known = sorted({int(c) for _, c in rows if c is not None})
    unknown = sorted({str(i) for i, c in rows if c is None})
    return np.asarray(known, dtype=np.int64), unknown
