"""The engine-independent plan of a feature build: parameters, blocks, and the stage query.

Whatever runs the SQL (DuckDB in :mod:`mallseg.features.build`, Spark in
:mod:`mallseg.distributed`), a build takes the same three steps, defined once here:

1. :func:`measure_build_parameters`: the data-wide quantities the definitions need (first
   purchase and visit days, categories, zones, whether responses are recorded);
2. :func:`feature_blocks`: one block per source table present, in output order;
3. :func:`stage_sql`: one query joining every block onto ``customers``, with tenure (which
   needs every table's first event) computed last.

The final choice of columns (features without any value left out, rare categories
merged) is :mod:`mallseg.features.final_select`.

Examples
--------
>>> import duckdb
>>> from datetime import datetime
>>> from mallseg.features.sources import inspect_sources
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE customers (customer_id VARCHAR, age INTEGER, "
...                 "signup_date DATE)")
>>> _ = con.execute("INSERT INTO customers VALUES ('c1', 31, '2024-01-01')")
>>> ctx = BuildContext(con, inspect_sources(con), datetime(2024, 3, 1))
>>> ctx = BuildContext(con, ctx.sources, ctx.as_of, measure_build_parameters(ctx))
>>> blocks = feature_blocks(ctx)
>>> con.execute(stage_sql(ctx, blocks)).fetchall()[0][:2]
('c1', 31)
"""

from __future__ import annotations

from collections.abc import Sequence

from mallseg.features.blocks.attributes import attribute_block
from mallseg.features.blocks.block import BuildContext, FeatureBlock, at_least_zero
from mallseg.features.blocks.demographics import demographic_block
from mallseg.features.blocks.engagement import engagement_block, measure_engagement_parameters
from mallseg.features.blocks.value import measure_value_parameters, value_block
from mallseg.features.blocks.visits import first_visit_day, visit_block
from mallseg.features.schema import AttributeSpec, BuildParameters

__all__ = ["feature_blocks", "measure_build_parameters", "stage_sql"]


def measure_build_parameters(ctx: BuildContext) -> BuildParameters:
    """Measure the data-wide quantities of a first build on the tables of ``ctx``.

    Examples
    --------
    >>> import duckdb
    >>> from mallseg.features.sources import inspect_sources
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE visits (customer_id VARCHAR, entered_at TIMESTAMP)")
    >>> _ = con.execute("INSERT INTO visits VALUES ('c1', '2024-01-05 10:00')")
    >>> measure_build_parameters(BuildContext(con, inspect_sources(con), None)).visits_start
    datetime.date(2024, 1, 5)
    """
    values: dict[str, object] = {}
    if ctx.sources.has("transactions"):
        values.update(measure_value_parameters(ctx))
    if ctx.sources.has("visits"):
        values["visits_start"] = first_visit_day(ctx)
    if ctx.sources.has("exposures"):
        values.update(measure_engagement_parameters(ctx))
    return BuildParameters(**values)  # type: ignore[arg-type]


def feature_blocks(
    ctx: BuildContext,
    specs: Sequence[AttributeSpec] = (),
    *,
    has_transactions: bool | None = None,
) -> list[FeatureBlock]:
    """The blocks of a build: demographics, attributes, value, visits, engagement.

    Parameters
    ----------
    ctx:
        The build's context, with its parameters measured (or taken from a schema).
    specs:
        Customer attributes to pivot into features (none for data read from files).
    has_transactions:
        Whether the value features come from receipts (default: whether ``ctx`` has
        transactions); when not, wide spend attributes stand in for them.

    Examples
    --------
    >>> from mallseg.features.sources import CanonicalSources
    >>> ctx = BuildContext(None, CanonicalSources(frozenset({"customers"})), None)
    >>> [block.alias for block in feature_blocks(ctx)]
    ['c']
    """
    receipts = ctx.sources.has("transactions") if has_transactions is None else has_transactions
    blocks = [demographic_block(ctx)]
    if specs:
        blocks.append(attribute_block(ctx, specs, has_transactions=receipts))
    if ctx.sources.has("transactions"):
        blocks.append(value_block(ctx))
    if ctx.sources.has("visits"):
        blocks.append(visit_block(ctx))
    if ctx.sources.has("exposures"):
        blocks.append(engagement_block(ctx))
    return blocks


def stage_sql(ctx: BuildContext, blocks: Sequence[FeatureBlock]) -> str:
    """The query with every block's features for every customer, and ``tenure_days``.

    ``tenure_days``: calendar days from ``signup_date`` (else the customer's first visit or
    purchase) to the as-of day, at least 0.

    Examples
    --------
    >>> from datetime import datetime
    >>> from mallseg.features.sources import CanonicalSources
    >>> sources = CanonicalSources(frozenset({"customers"}),
    ...                            {"customers": {"customer_id": "VARCHAR"}})
    >>> ctx = BuildContext(None, sources, None)
    >>> stage_sql(ctx, feature_blocks(ctx)).startswith("WITH c AS (SELECT")
    True
    """
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
            # least() of one argument is DuckDB's only: Spark wants two or more
            first = first_seen[0] if len(first_seen) == 1 else f"least({', '.join(first_seen)})"
            started = f"coalesce(c.signup_date, CAST({first} AS DATE))"
        tenure = at_least_zero(f"date_diff('day', {started}, {ctx.as_of_date_sql})")
        items.append(f"{tenure} AS tenure_days")
    return (
        f"WITH {', '.join(ctes)} SELECT c.customer_id, {', '.join(items)} "
        f"FROM c {' '.join(joins)}"
    )
