"""Merge a unit's valid rows into their canonical table.

A row whose key is new is inserted; a row whose key exists updates the columns the file
maps (and those derived from them) when any of them differs, and is counted unchanged
otherwise. Columns the file does not have keep their values: a file of tiers updates the
tiers of known customers and nothing else.

When the table held no row at all before the file's load began (``fresh_table``), every
valid row is new: keys are unique among a file's valid rows (:mod:`mallseg.data.keys`), so
the update and the look-up of existing keys, which cost most of a large first load, are
skipped.

Examples
--------
>>> import duckdb
>>> from mallseg.core.schema import CANONICAL_TABLES
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE stores (store_id VARCHAR, name VARCHAR, category VARCHAR, "
...                 "zone VARCHAR, floor INTEGER, _ingest_id VARCHAR)")
>>> _ = con.execute("INSERT INTO stores VALUES ('S1', 'Cafe', 'cafe', 'north', 0, 'i0')")
>>> _ = con.execute("CREATE TEMP TABLE _typed AS SELECT * FROM (VALUES ('S1', 'food'), "
...                 "('S2', 'cinema')) t(store_id, category), (SELECT '' AS _reason)")
>>> merge_valid_rows(con, CANONICAL_TABLES["stores"], {"store_id": "id", "category": "c"},
...                  "i1")
{'new': 1, 'updated': 1, 'unchanged': 0}
>>> con.execute("SELECT name, category FROM stores ORDER BY store_id").fetchall()
[('Cafe', 'food'), (None, 'cinema')]
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from mallseg.core.schema import Table
from mallseg.core.sql_text import quote_literal
from mallseg.data.references import scalar
from mallseg.data.row_checks import derivation_applies
from mallseg.data.staging import TYPED_TABLE

__all__ = ["merge_valid_rows"]


def merge_valid_rows(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    mapped: Mapping[str, str],
    ingest_id: str,
    *,
    fresh_table: bool = False,
) -> dict[str, int]:
    """Insert new and update changed valid rows of ``_typed``; return the three counts.

    ``fresh_table``: the table was empty when the file's load began (its earlier units
    excepted), so every valid row is inserted without looking for its key.

    >>> import duckdb
    >>> from mallseg.core.schema import CANONICAL_TABLES
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE stores (store_id VARCHAR, name VARCHAR, category VARCHAR, "
    ...                 "zone VARCHAR, floor INTEGER, _ingest_id VARCHAR)")
    >>> _ = con.execute("CREATE TEMP TABLE _typed AS SELECT 'S1' AS store_id, '' AS _reason")
    >>> stores = CANONICAL_TABLES["stores"]
    >>> merge_valid_rows(con, stores, {"store_id": "id"}, "i1")
    {'new': 1, 'updated': 0, 'unchanged': 0}
    >>> merge_valid_rows(con, stores, {"store_id": "id"}, "i2")
    {'new': 0, 'updated': 0, 'unchanged': 1}
    >>> _ = con.execute("DELETE FROM stores")
    >>> merge_valid_rows(con, stores, {"store_id": "id"}, "i3", fresh_table=True)
    {'new': 1, 'updated': 0, 'unchanged': 0}
    """
    derived = [c for c in table.derived_columns if derivation_applies(table, c, mapped)]
    stored = [c for c in table.column_names
              if c in mapped or c in table.key or c in derived]
    value_cols = [c for c in stored if c not in table.key]
    join = " AND ".join(f"w.{k} = v.{k}" for k in table.key)
    valid = f"(SELECT * FROM {TYPED_TABLE} WHERE _reason = '')"
    differs = " OR ".join(f"w.{c} IS DISTINCT FROM v.{c}" for c in value_cols) or "false"
    tag = quote_literal(ingest_id)
    cols = ", ".join(stored)
    if fresh_table:
        inserted = scalar(con, f"INSERT INTO {table.name} ({cols}, _ingest_id) "
                               f"SELECT {cols}, {tag} FROM {valid} v")
        return {"new": inserted, "updated": 0, "unchanged": 0}

    total_valid = scalar(con, f"SELECT count(*) FROM {valid} v")
    assignments = ", ".join(f"{c} = v.{c}" for c in value_cols)
    updated = 0
    if assignments:
        updated = scalar(
            con,
            f"UPDATE {table.name} AS w SET {assignments}, _ingest_id = {tag} "
            f"FROM {valid} v WHERE {join} AND ({differs})",
        )
    new_rows = scalar(
        con,
        f"INSERT INTO {table.name} ({cols}, _ingest_id) SELECT {cols}, {tag} "
        f"FROM {valid} v WHERE NOT EXISTS (SELECT 1 FROM {table.name} w WHERE {join})",
    )
    return {"new": new_rows, "updated": updated,
            "unchanged": total_valid - new_rows - updated}
