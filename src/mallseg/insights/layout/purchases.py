"""Purchases and visits as the layout insights read them: SQL over the canonical tables.

A purchase is a transaction row with a positive amount (returns and zero lines say nothing
about where people like to shop). Its category is the line's own ``category`` when the
receipt records one, else its store's; zone and floor come from the store. With segments,
only the purchases and visits of segmented customers count: the population a segment is
compared with is the segmented customers, so that shares add up across segments.

Examples
--------
>>> import duckdb
>>> from mallseg.features.sources import inspect_sources
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE transactions AS SELECT 'c1' AS customer_id, "
...                 "'S1' AS store_id, TIMESTAMP '2026-01-05 10:00' AS purchased_at, "
...                 "12.5 AS amount")
>>> sql = purchases_sql(inspect_sources(con), None)
>>> con.execute(f"SELECT customer_id, store_id, category, segment, amount FROM {sql}").fetchall()
[('c1', 'S1', None, 'All customers', 12.5)]
"""

from __future__ import annotations

from mallseg.core.sql_text import quote_literal
from mallseg.features.sources import CanonicalSources
from mallseg.insights.layout.segments import ALL_CUSTOMERS

__all__ = ["purchases_sql", "segment_join", "stores_sql", "visits_sql"]

_NO_STORES = (
    "(SELECT CAST(NULL AS VARCHAR) AS store_id, CAST(NULL AS VARCHAR) AS name, "
    "CAST(NULL AS VARCHAR) AS category, CAST(NULL AS VARCHAR) AS zone, "
    "CAST(NULL AS INTEGER) AS floor WHERE false)"
)


def stores_sql(sources: CanonicalSources) -> str:
    """The stores table with its canonical columns, or an empty one when there is none.

    >>> from mallseg.features.sources import CanonicalSources
    >>> stores_sql(CanonicalSources(frozenset())).endswith("WHERE false)")
    True
    """
    return sources.relation("stores") if sources.has("stores") else _NO_STORES


def segment_join(segments_view: str | None, alias: str) -> tuple[str, str]:
    """The JOIN clause and the segment expression for rows of ``alias``.

    Without segments every row is in the one segment ``All customers``; with them, rows
    of customers outside the segments are left out (inner join).

    >>> segment_join(None, "t")
    ('', "'All customers'")
    >>> segment_join('"v"', "t")
    ('JOIN "v" g ON g.customer_id = t.customer_id', 'g.segment')
    """
    if segments_view is None:
        return "", quote_literal(ALL_CUSTOMERS)
    return f"JOIN {segments_view} g ON g.customer_id = {alias}.customer_id", "g.segment"


def purchases_sql(sources: CanonicalSources, segments_view: str | None) -> str:
    """A sub-query of purchases with their store, category, zone, floor and segment.

    Columns: ``customer_id, store_id, store_name, category, zone, floor, amount,
    purchased_at, basket_id, segment``.

    Raises
    ------
    KeyError
        When the connection holds no transactions.
    """
    join, segment = segment_join(segments_view, "t")
    return f"""(SELECT t.customer_id, t.store_id, s.name AS store_name,
            lower(trim(coalesce(t.category, s.category))) AS category,
            s.zone, s.floor, t.amount, t.purchased_at, t.basket_id, {segment} AS segment
        FROM {sources.relation("transactions")} t
        LEFT JOIN {stores_sql(sources)} s ON s.store_id = t.store_id
        {join}
        WHERE t.amount > 0 AND t.customer_id IS NOT NULL)"""


def visits_sql(sources: CanonicalSources, segments_view: str | None) -> str:
    """A sub-query of visits with their zone, entry time and segment.

    Columns: ``customer_id, zone, entered_at, segment``.

    Raises
    ------
    KeyError
        When the connection holds no visits.
    """
    join, segment = segment_join(segments_view, "v")
    return f"""(SELECT v.customer_id, v.zone, v.entered_at, {segment} AS segment
        FROM {sources.relation("visits")} v {join}
        WHERE v.entered_at IS NOT NULL AND v.customer_id IS NOT NULL)"""
