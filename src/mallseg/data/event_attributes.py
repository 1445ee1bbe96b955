r"""What the extra columns of an event file (transactions, visits) say about customers.

- A canonical customers column found in the file (``gender`` and ``age`` on every receipt)
  fills the customers' empty values (typically customers registered by
  ``register_unknown``), where all of a customer's rows give the same value.
- Another column whose value is the same on all of a customer's rows, for at least 99% of
  the customers (a customer's ``Country``), becomes a customer attribute (the most
  frequent value, for the few customers whose rows differ).
- A text column that varies but has at most 20 levels (``payment_method``) becomes the
  attribute ``<column>_most_often``: the customer's most frequent value.

Everything runs in SQL on the staged units: "constant per customer" is decided on the
first unit; values are counted per customer across all units and written when the file
is done.

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> from mallseg.data.ingest import ingest_file
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> lines = "".join(f"C{i % 4},2026-01-0{1 + i % 5},{i + 1},{['uk', 'fr'][i % 4 % 2]},"
...                 f"{['card', 'cash'][i % 3 % 2]}\n" for i in range(40))
>>> _ = (folder / "t.csv").write_text("customer_id,purchased_at,amount,country,pay\n" + lines)
>>> with Workspace.open(folder / "ws") as ws:
...     report = ingest_file(ws, "transactions", folder / "t.csv", register_unknown=True)
...     rows = ws.connection.execute("SELECT customer_id, text FROM customer_attributes "
...                                  "WHERE attribute = 'country' ORDER BY 1").fetchall()
>>> report.attributes
{'country': 'categorical', 'pay_most_often': 'categorical'}
>>> rows
[('C0', 'uk'), ('C1', 'fr'), ('C2', 'uk'), ('C3', 'fr')]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import duckdb

from mallseg.core.schema import CANONICAL_TABLES
from mallseg.core.sql_text import quote_identifier, quote_literal
from mallseg.data.attribute_kinds import (
    DATE_REASON,
    MOST_OFTEN_MAX_LEVELS,
    ColumnDecision,
    classify_column,
)
from mallseg.data.attribute_plan import name_attributes
from mallseg.data.attribute_profile import (
    customer_constancy,
    per_customer_relation,
    profile_column,
)
from mallseg.data.attribute_store import replace_attribute_values
from mallseg.data.attributes import (
    NESTED_REASON,
    AttributePlan,
    CustomerFill,
    profile_candidates,
    true_value,
)
from mallseg.data.mapping import match_columns
from mallseg.data.references import scalar
from mallseg.data.staging import STAGING_TABLE, TYPED_TABLE, Source
from mallseg.data.typing_plan import typed_value

__all__ = [
    "EVENT_TABLES",
    "accumulate_event_values",
    "create_event_tables",
    "drop_event_tables",
    "finish_event_attributes",
    "plan_event_attributes",
]

EVENT_TABLES = ("transactions", "visits")
"""Tables whose extra columns are read per customer."""

_CONSTANT_SHARE = 0.99
_SAMPLED_CUSTOMERS = 5_000
_ROW_REASONS = ("empty in every row", "constant, says nothing", DATE_REASON)
"""Reasons the file's first rows settle, whatever the values per customer."""
_VALUE_COUNTS = "_event_value_counts"
_FILL_COUNTS = "_event_fill_counts"
_CUSTOMERS_SEEN = "_event_customers"


def plan_event_attributes(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    candidates: Sequence[str],
    types: Mapping[str, str],
    customer_source: str,
    *,
    table_name: str,
    value_map: Mapping[str, Mapping[str, str]],
    notes: list[str],
    now: datetime,
) -> AttributePlan:
    """Decide what each extra column of an event file says about its customers.

    >>> import duckdb
    >>> from mallseg.data.staging import Source
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE _staging AS SELECT * FROM (VALUES ('A', 'uk', 'f', 2), "
    ...                 "('A', 'uk', 'f', 3), ('B', 'fr', 'f', 4)) t(cust, country, "
    ...                 "_source_file, _source_row)")
    >>> plan = plan_event_attributes(
    ...     con, Source("t.csv", [], "csv", ["cust", "country"]), ["country"],
    ...     {"cust": "VARCHAR", "country": "VARCHAR"}, "cust", table_name="transactions",
    ...     value_map={}, notes=[], now=datetime(2026, 1, 1))
    >>> [(s.attribute, s.kind) for s in plan.specs]
    [('country', 'categorical')]
    """
    customers = CANONICAL_TABLES["customers"]
    fill_sources = match_columns(candidates, customers, exclude={"customer_id": customer_source})
    fills = []
    for column, src in fill_sources.items():
        typed = typed_value(con, customers.column(column), src, types[src],
                            values=value_map.get(column), notes=notes, now=now)
        checks = ", ".join(typed.checks) or "NULL"
        fills.append(CustomerFill(column, src, typed.value, f"coalesce({checks}) IS NULL"))
    kinds: list[tuple[str, str]] = []
    set_aside: dict[str, str] = {}
    levels: dict[str, int] = {}
    true_values: dict[str, str] = {}
    commas: list[str] = []
    most_often: list[str] = []
    customer_expr = quote_identifier(customer_source)
    others = [c for c in candidates if c not in fill_sources.values()]
    set_aside.update({c: NESTED_REASON for c in others if c in source.nested_columns})
    profiled, personal = profile_candidates(
        con, [c for c in others if c not in set_aside], types)
    settled = {c: classify_column(f.profile) for c, f in profiled.items()}
    settled = {c: d for c, d in settled.items() if d.kind is None and d.reason in _ROW_REASONS}
    set_aside.update({c: d.reason or "not usable" for c, d in settled.items()})
    open_columns = [c for c in profiled if c not in settled]
    sample = _customer_sample(con, customer_expr)
    shares = customer_constancy(con, sample, customer_expr,
                                [quote_identifier(c) for c in open_columns])
    for column, share in zip(open_columns, shares, strict=True):
        profile, decimal_comma = profiled[column].profile, profiled[column].decimal_comma
        expr = quote_identifier(column)
        if share >= _CONSTANT_SHARE:
            per_customer = profile_column(
                con, per_customer_relation(sample, customer_expr, expr), "t", column,
                types[column], decimal_comma=decimal_comma)
            decision = classify_column(per_customer, text_levels_cap=None)
            chosen = per_customer
        else:
            decision = classify_column(profile, text_levels_cap=MOST_OFTEN_MAX_LEVELS,
                                       identifier_by_name=True)
            chosen = profile
            if decision.kind is not None and decision.kind not in ("categorical", "flag"):
                set_aside[column] = ("varies within a customer's rows: a number per row, "
                                     "not a customer attribute")
                continue
            if decision.kind is not None:
                decision = ColumnDecision("categorical")
                most_often.append(column)
            elif decision.reason and decision.reason.startswith("text with"):
                set_aside[column] = (
                    f"varies within a customer's rows, with {profile.distinct:,} values: too "
                    f"many to keep the most frequent (at most {MOST_OFTEN_MAX_LEVELS})")
                continue
        if decision.kind is None:
            set_aside[column] = decision.reason or "not usable"
            continue
        kinds.append((column, decision.kind))
        levels[column] = chosen.distinct
        if decimal_comma:
            commas.append(column)
        if decision.kind == "flag":
            true_values[column] = true_value(chosen) or "true"
    specs = name_attributes(kinds, table_name=table_name, spend_columns=(), levels=levels,
                            true_values=true_values, decimal_commas=commas,
                            most_often=most_often)
    create_event_tables(con)
    return AttributePlan(specs=tuple(specs), set_aside=set_aside, personal=personal,
                         fills=tuple(fills))


def _customer_sample(con: duckdb.DuckDBPyConnection, customer_expr: str) -> str:
    """The first unit's rows of a sample of its customers (all of them, when few).

    Whether a column is constant per customer needs all rows of a customer, so customers
    are sampled, not rows: by a hash of the id, about :data:`_SAMPLED_CUSTOMERS` of them.
    """
    customers = scalar(con, f"SELECT approx_count_distinct({customer_expr}) FROM "
                            f"{STAGING_TABLE}")
    every = max(1, customers // _SAMPLED_CUSTOMERS)
    if every == 1:
        return STAGING_TABLE
    return (f"(SELECT * FROM {STAGING_TABLE} WHERE hash(CAST({customer_expr} AS VARCHAR)) "
            f"% {every} = 0)")


def create_event_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables that count values per customer across the units of a file.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> create_event_tables(con)
    >>> drop_event_tables(con)
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_VALUE_COUNTS} (customer_id VARCHAR, "
                "attribute VARCHAR, value VARCHAR, rows BIGINT)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_FILL_COUNTS} (customer_id VARCHAR, "
                "name VARCHAR, value VARCHAR, rows BIGINT)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_CUSTOMERS_SEEN} (customer_id VARCHAR)")


def accumulate_event_values(con: duckdb.DuckDBPyConnection, plan: AttributePlan) -> None:
    """Count, per customer, the values of the unit's valid rows.

    >>> import duckdb
    >>> from mallseg.data.attribute_plan import AttributeSpec
    >>> con = duckdb.connect()
    >>> create_event_tables(con)
    >>> _ = con.execute("CREATE TEMP TABLE _typed AS SELECT * FROM (VALUES ('A', 'cash', ''), "
    ...                 "('A', 'cash', ''), ('A', 'card', 'bad row')) t(customer_id, _a0, _reason)")
    >>> spec = AttributeSpec("pay_most_often", "visits", "pay", "categorical", None, None, "")
    >>> accumulate_event_values(con, AttributePlan(specs=(spec,)))
    >>> con.execute("SELECT * FROM _event_value_counts").fetchall()
    [('A', 'pay_most_often', 'cash', 2)]
    """
    if not plan.specs and not plan.fills:
        return
    valid = f"(SELECT * FROM {TYPED_TABLE} WHERE _reason = '')"
    con.execute(
        f"INSERT INTO {_CUSTOMERS_SEEN} SELECT DISTINCT customer_id FROM {valid} v "
        f"WHERE NOT EXISTS (SELECT 1 FROM {_CUSTOMERS_SEEN} s WHERE s.customer_id = "
        "v.customer_id)"
    )
    for table, prefix, names in (
            (_VALUE_COUNTS, "_a", [s.attribute for s in plan.specs]),
            (_FILL_COUNTS, "_f", [f.column for f in plan.fills])):
        if not names:
            continue
        as_named = ", ".join(f"{prefix}{i} AS {quote_identifier(n)}" for i, n in enumerate(names))
        con.execute(
            f"INSERT INTO {table} SELECT customer_id, name, value, count(*) FROM (UNPIVOT "
            f"(SELECT customer_id, {as_named} FROM {valid}) ON COLUMNS(* EXCLUDE (customer_id)) "
            "INTO NAME name VALUE value) GROUP BY ALL"
        )


def finish_event_attributes(
    con: duckdb.DuckDBPyConnection, plan: AttributePlan, ingest_id: str,
) -> tuple[dict[str, int], dict[str, int]]:
    """Write the attributes and fill empty customer values; return the counts.

    Returns unreadable values per attribute, and customers filled per canonical column.

    >>> import duckdb
    >>> from mallseg.data.attribute_plan import AttributeSpec
    >>> from mallseg.workspace.tables import SYSTEM_DDL
    >>> con = duckdb.connect()
    >>> for ddl in SYSTEM_DDL:
    ...     _ = con.execute(ddl)
    >>> _ = con.execute("CREATE TABLE customers (customer_id VARCHAR, gender VARCHAR)")
    >>> _ = con.execute("INSERT INTO customers VALUES ('A', NULL), ('B', 'male')")
    >>> create_event_tables(con)
    >>> _ = con.execute("INSERT INTO _event_customers VALUES ('A'), ('B')")
    >>> _ = con.execute("INSERT INTO _event_value_counts VALUES "
    ...                 "('A', 'pay_most_often', 'cash', 2), ('A', 'pay_most_often', 'card', 1), "
    ...                 "('B', 'pay_most_often', 'card', 1)")
    >>> _ = con.execute("INSERT INTO _event_fill_counts VALUES ('A', 'gender', 'female', 3), "
    ...                 "('B', 'gender', 'female', 1)")
    >>> spec = AttributeSpec("pay_most_often", "visits", "pay", "categorical", None, None, "")
    >>> fill = CustomerFill("gender", "sex", "NULL", "TRUE")
    >>> finish_event_attributes(con, AttributePlan(specs=(spec,), fills=(fill,)), "i1")
    ({}, {'gender': 1})
    >>> con.execute("SELECT customer_id, text FROM customer_attributes ORDER BY 1").fetchall()
    [('A', 'cash'), ('B', 'card')]
    >>> con.execute("SELECT * FROM customers ORDER BY 1").fetchall()
    [('A', 'female'), ('B', 'male')]
    """
    customers = f"(SELECT customer_id FROM {_CUSTOMERS_SEEN})"
    values = (
        f"(SELECT customer_id, attribute, value AS raw FROM (SELECT customer_id, attribute, "
        "value, row_number() OVER (PARTITION BY customer_id, attribute ORDER BY sum(rows) "
        f"DESC, value) AS rn FROM {_VALUE_COUNTS} GROUP BY customer_id, attribute, value) "
        "WHERE rn = 1)"
    )
    unreadable = replace_attribute_values(con, plan.specs, values, customers, ingest_id)
    filled: dict[str, int] = {}
    customer_table = CANONICAL_TABLES["customers"]
    for fill in plan.fills:
        column = quote_identifier(fill.column)
        sql_type = customer_table.column(fill.column).sql_type
        count = scalar(
            con,
            f"UPDATE customers SET {column} = CAST(v.value AS {sql_type}) FROM ("
            f"SELECT customer_id, min(value) AS value FROM {_FILL_COUNTS} "
            f"WHERE name = {quote_literal(fill.column)} GROUP BY customer_id "
            "HAVING count(DISTINCT value) = 1) v "
            f"WHERE customers.customer_id = v.customer_id AND customers.{column} IS NULL",
        )
        if count:
            filled[fill.column] = count
    return unreadable, filled


def drop_event_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the per-customer counts of a finished (or failed) ingest.

    >>> import duckdb
    >>> drop_event_tables(duckdb.connect())  # nothing to drop is fine
    """
    for name in (_VALUE_COUNTS, _FILL_COUNTS, _CUSTOMERS_SEEN):
        con.execute(f"DROP TABLE IF EXISTS {name}")
