"""Value, store and category features: one aggregation pass over ``transactions``.

Each transaction line is joined to a small in-query map of the stores it names (integer
store, category and zone codes), so one aggregation per customer does it all with
conditional sums over integers instead of a pivot; distinct stores are a bitmap of
63-bit words (``bit_or`` over signed BIGINT, which DuckDB and Spark both hold), not a
DISTINCT. Only purchase occasions need a DISTINCT, and it runs as its own small grouping:
inside the main aggregation it makes DuckDB several times slower. Lines after the as-of
time are ignored. Returns (negative amounts) reduce the total spend but are not purchases.
The SQL keeps to the subset that DuckDB runs as written and the Spark engine translates
(:mod:`mallseg.distributed.dialect`).

- ``monetary_total``: sum of ``amount`` (net of returns); 0 for a customer who never bought.
- ``frequency``: purchase occasions, counted over purchase lines (``amount`` > 0): distinct
  ``basket_id`` values, plus, for lines without a basket, distinct (day, store) pairs.
  0 for a customer who never bought. Occasions are compared by a 64-bit hash of that key
  (``hash`` in DuckDB, ``xxhash64`` in Spark): two occasions of one customer collide with
  odds of about n^2 / 2^65 (below 1e-11 for 10,000 occasions).
- ``basket_mean``: ``monetary_total / frequency``; NULL when ``frequency`` is 0.
- ``recency_days``: calendar days from the last purchase to the as-of day. For a customer
  who never bought: one day more than the whole observed period (from the first
  transaction date in the data to the as-of day), so that every non-buyer ranks as less
  recent than every buyer, however recently they signed up.
- ``distinct_stores``: distinct ``store_id`` among purchase lines (left out when no line
  names its store).
- ``spend_share_<category>``: purchase spend in the category / purchase spend in any known
  category. The category is the store's (``stores.category`` via ``store_id``), else the
  line's own ``transactions.category``, normalised to lowercase snake_case. Members sum to
  1; NULL for a customer with no categorised purchase.
- ``favourite_zone``: the ``stores.zone`` with the most purchase spend (compared to 1e-6;
  ties: first zone in alphabetical order); NULL when no purchase has a known zone.

Examples
--------
>>> import duckdb
>>> from mallseg.features.schema import BuildParameters
>>> from mallseg.features.sources import inspect_sources
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE transactions (customer_id VARCHAR, purchased_at TIMESTAMP, "
...                 "amount DOUBLE, category VARCHAR)")
>>> _ = con.execute("INSERT INTO transactions VALUES ('c1', '2024-01-01', 5, 'Food & Drink')")
>>> ctx = BuildContext(con, inspect_sources(con), None)
>>> parameters = BuildParameters(**measure_value_parameters(ctx))
>>> value_block(BuildContext(con, ctx.sources, None, parameters)).feature_names
('recency_days', 'frequency', 'monetary_total', 'basket_mean', 'spend_share_food_drink')
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mallseg.features.blocks.block import (
    BuildContext,
    FeatureBlock,
    at_least_zero,
    sql_date,
    sql_string,
    sql_values,
)
from mallseg.features.category_names import normalise_category

__all__ = ["OCCASION_KEY", "SPEND_SHARE_PREFIX", "measure_value_parameters", "value_block"]

SPEND_SHARE_PREFIX = "spend_share_"
"""Prefix of the spend-share feature family."""


def value_block(ctx: BuildContext) -> FeatureBlock:
    """Value (RFM), store and category features from ``transactions`` (which must be present).

    Examples
    --------
    >>> import duckdb
    >>> from mallseg.features.sources import inspect_sources
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE transactions (customer_id VARCHAR, amount DOUBLE)")
    >>> _ = con.execute("INSERT INTO transactions VALUES ('c1', 5)")
    >>> value_block(BuildContext(con, inspect_sources(con), None)).columns[2]
    ('monetary_total', 'coalesce(val.monetary_total, 0)')
    """
    sources = ctx.sources
    tx = sources.relation("transactions")
    store_info = _store_info(ctx)
    bought_at = sorted(
        str(r[0])
        for r in _rows(ctx, f"SELECT DISTINCT store_id FROM {tx} WHERE store_id IS NOT NULL")
    )
    categories = list(ctx.parameters.categories)
    category_code = {name: code for code, name in enumerate(categories)}
    zones = list(ctx.parameters.zones)
    line_categories = [
        str(r[0])
        for r in _rows(ctx, f"SELECT DISTINCT category FROM {tx} WHERE category IS NOT NULL")
    ]

    # one row per store seen in transactions: its integer code, category and zone codes
    store_map = []
    for code, store_id in enumerate(bought_at):
        raw_category, zone_name = store_info.get(store_id, (None, None))
        store_map.append((
            store_id,
            code,
            None if raw_category is None else category_code.get(normalise_category(raw_category)),
            zones.index(zone_name) if zone_name in zones else None,
        ))
    line_map = [
        (raw, category_code[normalise_category(raw)])
        for raw in line_categories
        if normalise_category(raw) in category_code
    ]
    store_code = category = zone = "CAST(NULL AS INTEGER)"
    joins = ""
    if store_map:
        joins += f" LEFT JOIN {_store_values(store_map)} ON t.store_id = sm.store_id"
        store_code, category, zone = "sm.code", "sm.cat", "sm.zone"
    if line_map:
        joins += (
            f" LEFT JOIN {sql_values(line_map, ('raw', 'code')).replace(' AS v(', ' AS tm(')}"
            " ON t.category = tm.raw"
        )
        category = f"coalesce({category}, tm.code)"

    aggregates = [
        "sum(amount) AS monetary_total",
        "max(purchased_at) FILTER (WHERE amount > 0) AS last_purchase_at",
        "min(purchased_at) AS first_at",
    ]
    aggregates += _store_words(len(store_map))
    if categories:
        aggregates.append(
            "sum(CASE WHEN amount > 0 AND cat IS NOT NULL THEN amount END) AS categorised"
        )
        aggregates += [
            f"sum(CASE WHEN amount > 0 AND cat = {code} THEN amount END) AS cat_{code}"
            for code in range(len(categories))
        ]
    aggregates += [
        f"sum(CASE WHEN amount > 0 AND zone = {code} THEN amount END) AS zone_{code}"
        for code in range(len(zones))
    ]
    # occasions are counted apart: a DISTINCT inside the main aggregation makes it far slower
    aggregate = f"""
        SELECT totals.*, occasions.frequency
        FROM (
            SELECT customer_id, {", ".join(aggregates)}
            FROM (
                SELECT t.customer_id, t.purchased_at, t.amount,
                    {store_code} AS store_code, {category} AS cat, {zone} AS zone
                FROM {tx} AS t {joins}
                WHERE {ctx.until('t.purchased_at')}
            )
            GROUP BY customer_id
        ) AS totals
        LEFT JOIN (
            SELECT customer_id, count(*) AS frequency
            FROM (
                SELECT DISTINCT customer_id, {OCCASION_KEY} AS occasion
                FROM {tx}
                WHERE amount > 0 AND {ctx.until('purchased_at')}
            )
            GROUP BY customer_id
        ) AS occasions ON occasions.customer_id = totals.customer_id"""

    columns = [
        ("recency_days", _recency(ctx)),
        ("frequency", "coalesce(val.frequency, 0)"),
        ("monetary_total", "coalesce(val.monetary_total, 0)"),
        ("basket_mean", "val.monetary_total / nullif(val.frequency, 0)"),
    ]
    if store_map:  # no store recorded at all: the feature says nothing, leave it out
        words = " + ".join(
            f"bit_count(coalesce(val.stores_{j}, 0))" for j in range(_word_count(len(store_map)))
        )
        columns.append(("distinct_stores", f"CAST({words} AS BIGINT)"))
    columns += [
        (f"{SPEND_SHARE_PREFIX}{name}", f"coalesce(val.cat_{code}, 0) / nullif(val.categorised, 0)")
        for code, name in enumerate(categories)
    ]
    if zones:
        columns.append(("favourite_zone", _favourite_zone(zones)))
    return FeatureBlock(
        alias="val", aggregate_sql=aggregate, columns=tuple(columns), first_seen="val.first_at"
    )


OCCASION_KEY = (
    "hash(basket_id, CASE WHEN basket_id IS NULL THEN CAST(purchased_at AS DATE) END, "
    "CASE WHEN basket_id IS NULL THEN store_id END)"
)
"""A purchase occasion: its basket, else its (day, store), as a 64-bit hash."""


def measure_value_parameters(ctx: BuildContext) -> dict[str, Any]:
    """The data-wide quantities the value features need: first purchase day, categories, zones.

    Examples
    --------
    >>> import duckdb
    >>> from mallseg.features.sources import inspect_sources
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE transactions (customer_id VARCHAR, purchased_at "
    ...                 "TIMESTAMP, amount DOUBLE, category VARCHAR)")
    >>> _ = con.execute("INSERT INTO transactions VALUES ('c', '2024-01-05', 5, 'Toys')")
    >>> measure_value_parameters(BuildContext(con, inspect_sources(con), None))["categories"]
    ('toys',)
    """
    tx = ctx.sources.relation("transactions")
    store_info = _store_info(ctx)
    line_categories = {
        str(r[0])
        for r in _rows(ctx, f"SELECT DISTINCT category FROM {tx} WHERE category IS NOT NULL")
    }
    store_categories = {c for c, _ in store_info.values() if c is not None}
    categories = tuple(sorted(
        {normalise_category(c) for c in store_categories | line_categories} - {""}
    ))
    bought_at = {
        str(r[0])
        for r in _rows(ctx, f"SELECT DISTINCT store_id FROM {tx} WHERE store_id IS NOT NULL")
    }
    zones = tuple(sorted({z for s in bought_at if (z := store_info.get(s, (None, None))[1])}))
    start = None
    if ctx.connection is not None:
        first = ctx.scalar(f"SELECT min(purchased_at) FROM {tx} WHERE {ctx.until('purchased_at')}")
        start = first.date() if isinstance(first, datetime) else None
    return {"transactions_start": start, "categories": categories, "zones": zones}


def _store_info(ctx: BuildContext) -> dict[str, tuple[str | None, str | None]]:
    info: dict[str, tuple[str | None, str | None]] = {}
    if ctx.sources.has("stores"):
        for store_id, category, zone in _rows(
            ctx, f"SELECT store_id, category, zone FROM {ctx.sources.relation('stores')}"
        ):
            info[str(store_id)] = (category, zone)
    return info


def _rows(ctx: BuildContext, sql: str) -> list[tuple[Any, ...]]:
    if ctx.connection is None:
        return []
    return ctx.connection.execute(sql).fetchall()


def _store_values(rows: list[tuple[str, int, int | None, int | None]]) -> str:
    def literal(value: int | None) -> str:
        return "NULL" if value is None else str(value)

    body = ", ".join(
        f"({sql_string(s)}, {code}, {literal(cat)}, {literal(zone)})"
        for s, code, cat, zone in rows
    )
    return f"(VALUES {body}) AS sm(store_id, code, cat, zone)"


STORE_WORD_BITS = 63
"""Stores per bitmap word: the bits of a signed BIGINT below its sign bit (Spark has no
unsigned integers, and a shift into the sign bit overflows in DuckDB)."""


def _word_count(stores: int) -> int:
    return (stores + STORE_WORD_BITS - 1) // STORE_WORD_BITS


def _store_words(stores: int) -> list[str]:
    """Distinct stores as a bitmap of 63-bit words: plain aggregates, no DISTINCT."""
    bits = STORE_WORD_BITS
    return [
        f"bit_or(CASE WHEN amount > 0 AND store_code // {bits} = {j} "
        f"THEN CAST(1 AS BIGINT) << (store_code % {bits}) END) AS stores_{j}"
        for j in range(_word_count(stores))
    ]


def _recency(ctx: BuildContext) -> str:
    start = ctx.parameters.transactions_start
    if ctx.as_of is None or start is None:
        return "CAST(NULL AS BIGINT)"
    bought = at_least_zero(
        f"date_diff('day', CAST(val.last_purchase_at AS DATE), {ctx.as_of_date_sql})"
    )
    never = f"date_diff('day', {sql_date(start)}, {ctx.as_of_date_sql}) + 1"
    return f"CASE WHEN val.last_purchase_at IS NULL THEN {never} ELSE {bought} END"


def _favourite_zone(zones: list[str]) -> str:
    # rounded so that a tie is a tie whatever order the parallel sum added the amounts in
    spends = [f"round(coalesce(val.zone_{code}, 0), 6)" for code in range(len(zones))]
    best = spends[0] if len(spends) == 1 else f"greatest({', '.join(spends)})"
    # the first zone (alphabetical order) whose spend equals the best one
    choices = " ".join(
        f"WHEN {spend} = {best} THEN {sql_string(zone)}"
        for spend, zone in zip(spends, zones, strict=True)
    )
    return f"CASE WHEN {best} > 0 THEN CASE {choices} END END"
