"""References from a unit's rows to other canonical tables: rejected, or registered.

A transaction of a customer the workspace does not know is rejected with the customer's
id, and counted, so that the report can say "ingest customers first". With
``register_unknown`` the missing customers (stores, campaigns) are added as bare rows
instead: transaction exports often come without a customer table.

Examples
--------
>>> import duckdb
>>> from collections import Counter
>>> from mallseg.core.schema import CANONICAL_TABLES
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE customers (customer_id VARCHAR, _ingest_id VARCHAR)")
>>> _ = con.execute("INSERT INTO customers VALUES ('A', 'x')")
>>> _ = con.execute("CREATE TEMP TABLE _typed AS SELECT * FROM (VALUES ('A', ''), ('Z', '')) "
...                 "t(customer_id, _reason)")
>>> registered, unknown = Counter(), Counter()
>>> check_references(con, CANONICAL_TABLES["exposures"], register_unknown=False,
...                  registered=registered, unknown=unknown, mapped={"customer_id": "c"})
>>> dict(unknown), con.execute("SELECT _reason FROM _typed ORDER BY 1").fetchall()
({'customers': 1}, [('',), ("customer_id 'Z' is not in customers",)])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import duckdb

from mallseg.core.schema import Table
from mallseg.data.staging import TYPED_TABLE

__all__ = ["check_references", "scalar"]


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    """The first value of the first row of ``sql`` as an int (0 when there is none).

    >>> import duckdb
    >>> scalar(duckdb.connect(), "SELECT 41 + 1")
    42
    """
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def check_references(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    *,
    register_unknown: bool,
    registered: Counter[str],
    unknown: Counter[str],
    mapped: Mapping[str, str],
) -> None:
    """Reject (or register) the valid rows of ``_typed`` that refer to unknown keys.

    ``registered`` and ``unknown`` count, per referenced table, the rows added and the
    rows rejected; a table with nothing to count gets no entry.

    >>> import duckdb
    >>> from mallseg.core.schema import CANONICAL_TABLES
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE customers (customer_id VARCHAR, _ingest_id VARCHAR)")
    >>> _ = con.execute("CREATE TEMP TABLE _typed AS SELECT 'Z' AS customer_id, '' AS _reason")
    >>> registered, unknown = Counter(), Counter()
    >>> check_references(con, CANONICAL_TABLES["visits"], register_unknown=True,
    ...                  registered=registered, unknown=unknown, mapped={"customer_id": "c"})
    >>> dict(registered), con.execute("SELECT * FROM customers").fetchall()
    ({'customers': 1}, [('Z', 'registered')])
    """
    for ref in table.references:
        if ref.column not in mapped:
            continue
        missing_sql = (
            f"SELECT DISTINCT t.{ref.column} FROM {TYPED_TABLE} t "
            f"WHERE t._reason = '' AND t.{ref.column} IS NOT NULL AND NOT EXISTS ("
            f"SELECT 1 FROM {ref.table} p WHERE p.{ref.target_column} = t.{ref.column})"
        )
        if register_unknown:
            added = scalar(
                con,
                f"INSERT INTO {ref.table} ({ref.target_column}, _ingest_id) "
                f"SELECT {ref.column}, 'registered' FROM ({missing_sql})",
            )
            if added:
                registered[ref.table] += added
            continue
        rejected = scalar(
            con,
            f"UPDATE {TYPED_TABLE} SET _reason = '{ref.column} ''' || {ref.column} || "
            f"''' is not in {ref.table}' WHERE _reason = '' AND {ref.column} IN ({missing_sql})",
        )
        if rejected:
            unknown[ref.table] += rejected
