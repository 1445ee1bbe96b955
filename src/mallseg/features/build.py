"""Build the per-customer feature table where the data lives, in DuckDB.

:func:`build_customer_features` reads the canonical tables of a connection (a workspace's
``.connection``), makes one aggregation pass over each event table present
(``transactions``, ``visits``, ``exposures``), joins the results onto ``customers`` and
brings only the per-customer table into memory. Missing or empty tables mean fewer
features, never an error; so do columns that are NULL for every customer (the classic
5-column mall table yields exactly age, gender, annual_income and spending_score).

Definitions are in the modules that compute them: :mod:`mallseg.features.blocks.value`
(recency, frequency, monetary, basket, stores, spend shares, favourite zone),
:mod:`mallseg.features.blocks.visits` (visit rhythm and repeat visits) and
:mod:`mallseg.features.blocks.engagement` (campaigns). Across all of them:

- ``as_of`` is the reference time: events after it are ignored (features can be rebuilt
  as they were on a past day). By default it is the latest event in the data, not the
  wall clock, so rebuilding gives the same numbers.
- Customers without any event in a table get 0 for counts and totals (``frequency``,
  ``monetary_total``, ``distinct_stores``, ``visits_per_month``, ``campaign_exposures``),
  NULL for shares, means and rates, which are undefined for them, and for
  ``recency_days`` the days since their observation started.
- ``tenure_days``: calendar days from ``signup_date`` (else the customer's first visit or
  purchase) to the as-of day, at least 0.
- Spend-share categories bought by fewer than ``min_category_share_customers`` of the
  customers with categorised purchases are merged into ``spend_share_other``.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE customers (customer_id VARCHAR, age INTEGER, gender VARCHAR)")
>>> _ = con.execute("INSERT INTO customers VALUES ('c1', 31, 'female'), ('c2', 45, NULL)")
>>> build_customer_features(con, table_name=None)
  customer_id  age  gender
0          c1   31  female
1          c2   45     NaN
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime

import duckdb
import pandas as pd

from mallseg.core.schema import CANONICAL_TABLES
from mallseg.core.sql_text import quote_identifier
from mallseg.features.blocks.block import BuildContext, FeatureBlock, at_least_zero
from mallseg.features.blocks.demographics import demographic_block
from mallseg.features.blocks.engagement import engagement_block
from mallseg.features.blocks.value import SPEND_SHARE_PREFIX, value_block
from mallseg.features.blocks.visits import visit_block
from mallseg.features.catalog import FEATURES
from mallseg.features.reference_time import as_naive_timestamp, latest_event_time
from mallseg.features.sources import inspect_sources

__all__ = [
    "DEFAULT_FEATURE_TABLE",
    "OTHER_CATEGORY",
    "build_customer_features",
    "fetch_frame",
    "stored_customer_features",
]

logger = logging.getLogger(__name__)

DEFAULT_FEATURE_TABLE = "customer_features"
"""Name of the table the features are materialised in by default."""

OTHER_CATEGORY = "other"
"""Spend-share member that collects the categories too rare to be features of their own."""

_RESERVED_TABLES = frozenset(CANONICAL_TABLES) | {
    "workspace_meta", "quarantine", "ingest_log", "runs", "segment_assignments", "segments",
    "audit_log",
}


def build_customer_features(
    connection: duckdb.DuckDBPyConnection,
    *,
    as_of: datetime | date | None = None,
    min_category_share_customers: float = 0.01,
    table_name: str | None = DEFAULT_FEATURE_TABLE,
) -> pd.DataFrame:
    """Compute one row of features per customer from the canonical tables in ``connection``.

    Parameters
    ----------
    connection:
        DuckDB connection holding the canonical tables (a workspace's ``.connection``).
    as_of:
        Reference time for recency and tenure; events after it are ignored. A day means
        its midnight; an aware time is taken in UTC. Default: the latest event timestamp
        in the data (else the latest sign-up day).
    min_category_share_customers:
        A category gets its own ``spend_share_<category>`` only when at least this share
        (0-1) of the customers with categorised purchases bought in it; rarer ones are
        summed into ``spend_share_other``. 0 keeps every category.
    table_name:
        When given, the result is also stored in the database under this name
        (``CREATE OR REPLACE TABLE``) for later SQL use; ``None`` stores nothing.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` first, then the features documented in
        :mod:`mallseg.features.catalog`, one row per customer, sorted by ``customer_id``.

    Raises
    ------
    ValueError
        When ``customers`` is missing or empty, ``min_category_share_customers`` is not in
        [0, 1], or ``table_name`` would overwrite a workspace table.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE customers (customer_id VARCHAR)")
    >>> _ = con.execute("INSERT INTO customers VALUES ('a'), ('b')")
    >>> _ = con.execute("CREATE TABLE transactions (customer_id VARCHAR, "
    ...                 "purchased_at TIMESTAMP, amount DOUBLE, basket_id VARCHAR)")
    >>> _ = con.execute("INSERT INTO transactions VALUES ('a', '2024-03-01', 30, 'r1'), "
    ...                 "('a', '2024-03-11', 10, 'r2')")
    >>> features = build_customer_features(con, table_name=None)
    >>> features[["customer_id", "recency_days", "frequency", "basket_mean"]]
      customer_id  recency_days  frequency  basket_mean
    0           a             0          2         20.0
    1           b            10          0          NaN
    """
    if not 0.0 <= min_category_share_customers <= 1.0:
        raise ValueError(
            f"min_category_share_customers={min_category_share_customers!r} must be "
            "between 0 and 1"
        )
    if table_name is not None and table_name.lower() in _RESERVED_TABLES:
        raise ValueError(
            f"table_name={table_name!r} is a workspace table; choose another name "
            f"(default {DEFAULT_FEATURE_TABLE!r})"
        )
    sources = inspect_sources(connection)
    if not sources.has("customers"):
        raise ValueError("Required table customers missing or empty: ingest customers first")
    reference = (
        as_naive_timestamp(as_of) if as_of is not None else latest_event_time(connection, sources)
    )
    ctx = BuildContext(connection=connection, sources=sources, as_of=reference)
    blocks = [demographic_block(ctx)]
    if sources.has("transactions"):
        blocks.append(value_block(ctx))
    if sources.has("visits"):
        blocks.append(visit_block(ctx))
    if sources.has("exposures"):
        blocks.append(engagement_block(ctx))

    stage = f"mallseg_feature_stage_{uuid.uuid4().hex[:12]}"
    connection.execute(f"CREATE TEMP TABLE {stage} AS {_stage_sql(ctx, blocks)}")
    try:
        select = _final_select(connection, stage, min_category_share_customers)
        if table_name is None:
            frame = fetch_frame(connection, f"{select} ORDER BY customer_id")
        else:
            target = quote_identifier(table_name)
            connection.execute(
                f"CREATE OR REPLACE TABLE {target} AS {select} ORDER BY customer_id"
            )
            frame = fetch_frame(connection, f"SELECT * FROM {target} ORDER BY customer_id")
    finally:
        connection.execute(f"DROP TABLE IF EXISTS {stage}")
    logger.info(
        "built %d features for %d customers as of %s%s",
        frame.shape[1] - 1,
        len(frame),
        reference,
        f" into table {table_name}" if table_name else "",
    )
    return frame


def _stage_sql(ctx: BuildContext, blocks: list[FeatureBlock]) -> str:
    ctes = [f"c AS {ctx.sources.relation('customers')}"]
    joins = []
    for block in blocks:
        if block.aggregate_sql is not None:
            ctes.append(f"{block.alias} AS ({block.aggregate_sql})")
            joins.append(
                f"LEFT JOIN {block.alias} ON {block.alias}.customer_id = c.customer_id"
            )
    items = [f'{expression} AS "{name}"' for block in blocks for name, expression in block.columns]
    first_seen = [b.first_seen for b in blocks if b.first_seen is not None]
    if ctx.as_of is not None:
        started = "c.signup_date"
        if first_seen:
            started = f"coalesce(c.signup_date, CAST(least({', '.join(first_seen)}) AS DATE))"
        tenure = at_least_zero(f"date_diff('day', {started}, {ctx.as_of_date_sql})")
        items.append(f"{tenure} AS tenure_days")
    return (
        f"WITH {', '.join(ctes)} SELECT c.customer_id, {', '.join(items)} "
        f"FROM c {' '.join(joins)}"
    )


def _final_select(
    connection: duckdb.DuckDBPyConnection, stage: str, min_category_share: float
) -> str:
    names = [
        str(r[0])
        for r in connection.execute(f"DESCRIBE {stage}").fetchall()
        if r[0] != "customer_id"
    ]
    shares = [n for n in names if n.startswith(SPEND_SHARE_PREFIX)]
    probes = [f'count("{n}")' for n in names]
    probes += [f'count(*) FILTER (WHERE "{n}" > 0)' for n in shares]
    probes.append(f'count("{shares[0]}")' if shares else "0")
    # fetchall, not fetchone: a half-read result would block the Arrow fetch that follows
    counts = connection.execute(f"SELECT {', '.join(probes)} FROM {stage}").fetchall()[0]
    known = {n for n, count in zip(names, counts, strict=False) if count}
    buyers_in = dict(zip(shares, counts[len(names):], strict=False))
    categorised_buyers = counts[-1]

    expressions = {n: f'"{n}"' for n in names if n in known and n not in shares}
    threshold = min_category_share * categorised_buyers
    rare = [n for n in shares if n in known and buyers_in[n] < threshold]
    kept = [n for n in shares if n in known and n not in rare]
    other = f"{SPEND_SHARE_PREFIX}{OTHER_CATEGORY}"
    for name in kept:
        expressions[name] = f'"{name}"'
    if rare:
        merged = [f'"{n}"' for n in rare] + ([f'"{other}"'] if other in kept else [])
        expressions[other] = " + ".join(merged)
        logger.info(
            "merged %d rare categories into %s: %s", len(rare), other,
            ", ".join(n.removeprefix(SPEND_SHARE_PREFIX) for n in rare),
        )
    dropped = sorted(set(names) - known)
    if dropped:
        logger.info("left out features with no value for any customer: %s", ", ".join(dropped))
    ordered = _output_order(list(expressions))
    items = ", ".join(f'{expressions[n]} AS "{n}"' for n in ordered)
    return f"SELECT customer_id, {items} FROM {stage}"


def _output_order(names: list[str]) -> list[str]:
    """Catalog order; spend-share members (sorted, ``other`` last) after the value block."""
    shares = sorted(
        (n for n in names if n.startswith(SPEND_SHARE_PREFIX)),
        key=lambda n: (n == f"{SPEND_SHARE_PREFIX}{OTHER_CATEGORY}", n),
    )
    ordered: list[str] = []
    for name in FEATURES:
        if name in names:
            ordered.append(name)
        if name == "distinct_stores":
            ordered.extend(shares)
    if "distinct_stores" not in FEATURES:
        ordered.extend(shares)
    ordered.extend(n for n in names if n not in ordered)
    return ordered


def fetch_frame(connection: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """Run ``sql`` and return the result as pandas, through Arrow (about twice as fast).

    Integer columns holding NULLs come back as float64 with NaN, which is what the
    segment preprocessing expects.

    Examples
    --------
    >>> import duckdb
    >>> fetch_frame(duckdb.connect(), "SELECT 1 AS a, NULL::INTEGER AS b").dtypes.tolist()
    [dtype('int32'), dtype('float64')]
    """
    return connection.sql(sql).to_arrow_table().to_pandas()


def stored_customer_features(
    connection: duckdb.DuckDBPyConnection,
    customer_id: str | None = None,
    *,
    table_name: str = DEFAULT_FEATURE_TABLE,
) -> pd.DataFrame:
    """The features as last materialised (by a segmentation run), one customer's or all.

    Reading the stored table keeps a look-up cheap on millions of customers and consistent
    with the model fitted on it; the features are built first when none are stored yet.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE customers (customer_id VARCHAR, age INTEGER)")
    >>> _ = con.execute("INSERT INTO customers VALUES ('c1', 31), ('c2', 45)")
    >>> stored_customer_features(con, "c2")[["customer_id", "age"]].values.tolist()
    [['c2', 45]]
    """
    stored = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table_name]
    ).fetchone()
    if not stored or not stored[0]:
        build_customer_features(connection, table_name=table_name)
    target = quote_identifier(table_name)
    if customer_id is None:
        return fetch_frame(connection, f"SELECT * FROM {target} ORDER BY customer_id")
    return connection.execute(f"SELECT * FROM {target} WHERE customer_id = ?", [customer_id]).df()
