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
  as they were on a past day). By default it is the latest event in the data, else the
  latest sign-up, else today (:func:`~mallseg.features.reference_time.reference_time`):
  ages, tenure and recency are those of the data's own time, and rebuilding gives the
  same numbers.
- Customers without any event in a table get 0 for counts and totals (``frequency``,
  ``monetary_total``, ``distinct_stores``, ``visits_per_month``, ``campaign_exposures``),
  NULL for shares, means and rates, which are undefined for them, and for
  ``recency_days`` one day more than the whole observed period.
- Customer attributes (extra columns of the user's customer file) are features too
  (:mod:`mallseg.features.blocks.attributes`).
- :func:`build_features` also returns the :class:`~mallseg.features.schema.FeatureSchema`
  of the build; given a schema, it computes exactly those features the same way, for
  every customer or for a few (``customer_ids``).
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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from mallseg.core.schema import CANONICAL_TABLES
from mallseg.core.sql_text import quote_identifier
from mallseg.features.blocks.attributes import (
    attribute_block,
    read_attribute_specs,
)
from mallseg.features.blocks.block import BuildContext, FeatureBlock, at_least_zero
from mallseg.features.blocks.demographics import demographic_block
from mallseg.features.blocks.engagement import engagement_block, measure_engagement_parameters
from mallseg.features.blocks.value import measure_value_parameters, value_block
from mallseg.features.blocks.visits import first_visit_day, visit_block
from mallseg.features.catalog import FEATURES
from mallseg.features.final_select import (
    OTHER_CATEGORY,
    describe_schema,
    fresh_select,
    schema_select,
)
from mallseg.features.reference_time import as_naive_timestamp, reference_time
from mallseg.features.schema import BuildParameters, FeatureSchema
from mallseg.features.sources import CanonicalSources, inspect_sources

__all__ = [
    "DEFAULT_FEATURE_TABLE",
    "OTHER_CATEGORY",
    "FeatureBuild",
    "build_customer_features",
    "build_features",
    "fetch_frame",
    "stored_customer_features",
]

logger = logging.getLogger(__name__)

DEFAULT_FEATURE_TABLE = "customer_features"
"""Name of the table the features are materialised in by default."""


_RESERVED_TABLES = frozenset(CANONICAL_TABLES) | {
    "workspace_meta", "quarantine", "ingest_log", "runs", "segment_assignments", "segments",
    "audit_log", "customer_attributes", "attribute_catalog", "run_snapshots",
}
_FILTER_TABLE = "_feature_customers"


@dataclass(frozen=True)
class FeatureBuild:
    """The features of a build and the schema that says how they were computed."""

    frame: pd.DataFrame
    schema: FeatureSchema


def build_customer_features(
    connection: duckdb.DuckDBPyConnection,
    *,
    as_of: datetime | date | None = None,
    min_category_share_customers: float = 0.01,
    table_name: str | None = DEFAULT_FEATURE_TABLE,
) -> pd.DataFrame:
    """Compute one row of features per customer from the canonical tables in ``connection``.

    The frame of :func:`build_features` (which also returns the schema).

    Parameters
    ----------
    connection:
        DuckDB connection holding the canonical tables (a workspace's ``.connection``).
    as_of:
        Reference time for recency and tenure; events after it are ignored. A day means
        its midnight; an aware time is taken in UTC. Default: the latest event timestamp
        in the data, else the latest sign-up day, else today.
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
    1           b            11          0          NaN
    """
    return build_features(
        connection, as_of=as_of, min_category_share_customers=min_category_share_customers,
        table_name=table_name,
    ).frame


def build_features(
    connection: duckdb.DuckDBPyConnection,
    *,
    as_of: datetime | date | None = None,
    schema: FeatureSchema | None = None,
    customer_ids: Sequence[str] | None = None,
    since: datetime | date | None = None,
    min_category_share_customers: float = 0.01,
    table_name: str | None = None,
) -> FeatureBuild:
    """Compute the per-customer features and the schema they were computed with.

    Parameters
    ----------
    connection, as_of, min_category_share_customers, table_name:
        As in :func:`build_customer_features` (``table_name`` stores nothing by default).
    schema:
        A schema from an earlier build (a run's): the same reference time, data-wide
        quantities and features, computed the same way; ``as_of`` must then be None.
    customer_ids:
        Compute the features of these customers only, from their own rows (with
        ``schema``, the result equals those customers' rows of a full build).
    since:
        Start of a time window: events before it are ignored, so that two periods
        (``since`` .. ``as_of``) compare like with like. Observation starts at the first
        event of the window.

    Raises
    ------
    ValueError
        As :func:`build_customer_features`; also when both ``schema`` and ``as_of`` are
        given.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE customers (customer_id VARCHAR, birth_year INTEGER, "
    ...                 "signup_date DATE)")
    >>> _ = con.execute("INSERT INTO customers VALUES ('a', 1957, '2012-09-04'), "
    ...                 "('b', 1990, '2014-06-29')")
    >>> build = build_features(con)
    >>> build.frame[["customer_id", "age", "tenure_days"]].values.tolist()
    [['a', 57, 663], ['b', 24, 0]]
    >>> build.schema.sentence()
    'Features as of 2014-06-29 (the latest sign-up in the data).'
    >>> again = build_features(con, schema=build.schema, customer_ids=["b"])
    >>> again.frame[["customer_id", "age"]].values.tolist()
    [['b', 24]]
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
    if schema is not None and as_of is not None:
        raise ValueError("give either schema or as_of: a schema carries its reference time")
    customer_filter = None
    if customer_ids is not None:
        connection.register(_FILTER_TABLE, pd.DataFrame({"customer_id": list(customer_ids)},
                                                        dtype="string"))
        customer_filter = f"SELECT CAST(customer_id AS VARCHAR) FROM {_FILTER_TABLE}"
    try:
        sources = inspect_sources(connection, customer_filter=customer_filter)
        if not sources.has("customers"):
            if customer_ids is not None:
                return FeatureBuild(_empty_frame(schema), schema or FeatureSchema(None))
            raise ValueError("Required table customers missing or empty: ingest customers first")
        return _build(connection, sources, as_of, schema, min_category_share_customers,
                      table_name, as_naive_timestamp(since) if since is not None else None)
    finally:
        if customer_ids is not None:
            connection.unregister(_FILTER_TABLE)


def _build(
    connection: duckdb.DuckDBPyConnection, sources: CanonicalSources,
    as_of: datetime | date | None, schema: FeatureSchema | None, min_share: float,
    table_name: str | None, since: datetime | None = None,
) -> FeatureBuild:
    if schema is not None:
        reference, source = schema.as_of, schema.reference
    elif as_of is not None:
        reference, source = as_naive_timestamp(as_of), "given"
    else:
        reference, source = reference_time(connection, sources)
    ctx = BuildContext(connection=connection, sources=sources, as_of=reference, since=since)
    parameters = schema.parameters if schema is not None else _measure(ctx)
    ctx = BuildContext(connection, sources, reference, parameters, since)
    reserved = frozenset(FEATURES) | {"purchases_total"}
    specs = list(schema.attributes) if schema is not None else (
        read_attribute_specs(connection, reserved) if sources.attributes else []
    )
    has_transactions = sources.has("transactions") or bool(
        schema and "basket_mean" in schema.features
    )
    blocks = [demographic_block(ctx)]
    if specs:
        blocks.append(attribute_block(ctx, specs, has_transactions=has_transactions))
    if sources.has("transactions"):
        blocks.append(value_block(ctx))
    if sources.has("visits"):
        blocks.append(visit_block(ctx))
    if sources.has("exposures"):
        blocks.append(engagement_block(ctx))

    stage = f"mallseg_feature_stage_{uuid.uuid4().hex[:12]}"
    connection.execute(f"CREATE TEMP TABLE {stage} AS {_stage_sql(ctx, blocks)}")
    try:
        if schema is None:
            select, features, kept = fresh_select(connection, stage, min_share)
        else:
            select = schema_select(connection, stage, schema)
            features, kept = list(schema.features), list(schema.kept_categories)
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
    if schema is None:
        schema = describe_schema(connection, reference, source, parameters, kept, specs,
                                  features, has_transactions)
    logger.info("built %d features for %d customers as of %s", frame.shape[1] - 1, len(frame),
                reference)
    return FeatureBuild(frame, schema)


def _measure(ctx: BuildContext) -> BuildParameters:
    values: dict[str, object] = {}
    if ctx.sources.has("transactions"):
        values.update(measure_value_parameters(ctx))
    if ctx.sources.has("visits"):
        values["visits_start"] = first_visit_day(ctx)
    if ctx.sources.has("exposures"):
        values.update(measure_engagement_parameters(ctx))
    return BuildParameters(**values)  # type: ignore[arg-type]


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


def _empty_frame(schema: FeatureSchema | None) -> pd.DataFrame:
    columns = ["customer_id", *(schema.features if schema else ())]
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


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
