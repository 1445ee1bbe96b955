"""Keys across the units of a file: derived event keys, and duplicate keys marked.

Event rows without an id (receipt lines, visits) get a key derived from their content and
the occurrence number of that content in the file, so that loading the same rows again
gives the same keys, and two identical receipt lines stay two purchases. Keyed rows whose
key repeats an earlier valid row of the file are rejected as duplicates. Both need to know
what earlier units held: two small temporary tables carry that from unit to unit (no
index: an index over 100M keys would cost gigabytes of memory; joins suffice).

Examples
--------
>>> import duckdb
>>> from mallseg.core.schema import CANONICAL_TABLES
>>> con = duckdb.connect()
>>> table = CANONICAL_TABLES["stores"]
>>> create_key_tables(con, table, {"store_id": "id"})
>>> _ = con.execute("CREATE TEMP TABLE _typed AS SELECT * FROM (VALUES ('S1', 'f', 2, ''), "
...                 "('S1', 'f', 3, '')) t(store_id, _source_file, _source_row, _reason)")
>>> assign_keys(con, table, {"store_id": "id"})
>>> con.execute("SELECT _reason FROM _typed ORDER BY _source_row").fetchall()
[('',), ("duplicate store_id 'S1' (first at row 2)",)]
>>> drop_key_tables(con)
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from mallseg.core.schema import Table
from mallseg.data.staging import TYPED_TABLE

__all__ = ["assign_keys", "create_key_tables", "drop_key_tables"]

_DIGEST_COUNTS = "_digest_counts"
_SEEN_KEYS = "_seen_keys"


def _derives_key(table: Table, mapped: Mapping[str, str]) -> bool:
    return table.derived_key and table.key[0] not in mapped


def create_key_tables(
    con: duckdb.DuckDBPyConnection, table: Table, mapped: Mapping[str, str]
) -> None:
    """Create the tables that carry key bookkeeping from one unit of the file to the next.

    >>> import duckdb
    >>> from mallseg.core.schema import CANONICAL_TABLES
    >>> con = duckdb.connect()
    >>> create_key_tables(con, CANONICAL_TABLES["visits"], {"customer_id": "c"})
    >>> con.execute("SELECT count(*) FROM _digest_counts").fetchone()
    (0,)
    """
    if _derives_key(table, mapped):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_DIGEST_COUNTS} "
                    "(_digest VARCHAR, seen BIGINT)")
    else:
        key_cols = ", ".join(f"{c} VARCHAR" for c in table.key)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_SEEN_KEYS} ({key_cols}, first_row BIGINT)")


def drop_key_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the key bookkeeping of a finished (or failed) ingest.

    >>> import duckdb
    >>> drop_key_tables(duckdb.connect())
    """
    con.execute(f"DROP TABLE IF EXISTS {_DIGEST_COUNTS}")
    con.execute(f"DROP TABLE IF EXISTS {_SEEN_KEYS}")


def assign_keys(
    con: duckdb.DuckDBPyConnection, table: Table, mapped: Mapping[str, str]
) -> None:
    """Derive missing event keys, or mark duplicate keys; both across the whole file.

    >>> import duckdb
    >>> from mallseg.core.schema import CANONICAL_TABLES
    >>> con = duckdb.connect()
    >>> visits = CANONICAL_TABLES["visits"]
    >>> create_key_tables(con, visits, {"customer_id": "c"})
    >>> cols = ", ".join(f"CAST(NULL AS VARCHAR) AS {c}" for c in visits.column_names)
    >>> _ = con.execute(f"CREATE TEMP TABLE _typed AS SELECT {cols}, 'f' AS _source_file, "
    ...                 "r AS _source_row, '' AS _reason FROM range(2) t(r)")
    >>> assign_keys(con, visits, {"customer_id": "c"})
    >>> keys = con.execute("SELECT visit_id FROM _typed ORDER BY 1").fetchall()
    >>> [k.split("-")[1] for (k,) in keys]  # the same content: occurrences 1 and 2
    ['1', '2']
    """
    if _derives_key(table, mapped):
        _derive_keys(con, table)
    else:
        _mark_duplicates(con, table)


def _derive_keys(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """Key = content digest + occurrence number of that content in this file."""
    key = table.key[0]
    content = [c for c in table.column_names if c != key]
    parts = ", ".join(f"coalesce(CAST({c} AS VARCHAR), chr(0))" for c in content)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {TYPED_TABLE} AS "
        f"SELECT t.* EXCLUDE (_digest) REPLACE (t._digest || '-' || CAST(coalesce(c.seen, 0) + "
        f"row_number() OVER (PARTITION BY t._digest ORDER BY t._source_file, t._source_row) "
        f"AS VARCHAR) AS {key}) "
        f"FROM (SELECT *, md5(concat_ws(chr(31), {parts})) AS _digest FROM {TYPED_TABLE}) t "
        f"LEFT JOIN {_DIGEST_COUNTS} c ON c._digest = t._digest"
    )
    unit_counts = (f"(SELECT split_part({key}, '-', 1) AS _digest, count(*) AS seen "
                   f"FROM {TYPED_TABLE} GROUP BY 1)")
    con.execute(
        f"UPDATE {_DIGEST_COUNTS} AS c SET seen = c.seen + u.seen FROM {unit_counts} u "
        "WHERE c._digest = u._digest"
    )
    con.execute(
        f"INSERT INTO {_DIGEST_COUNTS} SELECT u._digest, u.seen FROM {unit_counts} u "
        f"WHERE NOT EXISTS (SELECT 1 FROM {_DIGEST_COUNTS} c WHERE c._digest = u._digest)"
    )


def _mark_duplicates(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """Quarantine every repeat of a key after its first valid row in the file."""
    key_cols = ", ".join(table.key)
    join_seen = " AND ".join(f"s.{c} = t.{c}" for c in table.key)
    if not _has_repeats(con, key_cols, join_seen):
        # the usual case, checked by one grouping and one join: nothing to mark
        con.execute(f"INSERT INTO {_SEEN_KEYS} SELECT {key_cols}, _source_row "
                    f"FROM {TYPED_TABLE} WHERE _reason = ''")
        return
    described = "".join(
        f"{c} ''' || coalesce(CAST(d.{c} AS VARCHAR), '') || ''' " for c in table.key
    )
    partition = ", ".join(f"t.{c}" for c in table.key)
    con.execute(
        f"UPDATE {TYPED_TABLE} SET _reason = 'duplicate {described}(first at row ' || "
        f"CAST(d.first_row AS VARCHAR) || ')' FROM ("
        f"SELECT t._source_file, t._source_row, {partition}, "
        f"row_number() OVER (PARTITION BY {partition} "
        f"ORDER BY t._source_file, t._source_row) + (s.first_row IS NOT NULL)::INT AS rn, "
        f"coalesce(s.first_row, first_value(t._source_row) OVER (PARTITION BY "
        f"{partition} ORDER BY t._source_file, t._source_row)) "
        f"AS first_row FROM {TYPED_TABLE} t LEFT JOIN {_SEEN_KEYS} s ON {join_seen} "
        f"WHERE t._reason = '') d "
        f"WHERE d.rn > 1 AND {TYPED_TABLE}._source_file = d._source_file "
        f"AND {TYPED_TABLE}._source_row = d._source_row"
    )
    con.execute(
        f"INSERT INTO {_SEEN_KEYS} SELECT {key_cols}, min(_source_row) FROM {TYPED_TABLE} t "
        f"WHERE _reason = '' AND NOT EXISTS (SELECT 1 FROM {_SEEN_KEYS} s WHERE {join_seen}) "
        "GROUP BY ALL"
    )


def _has_repeats(con: duckdb.DuckDBPyConnection, key_cols: str, join_seen: str) -> bool:
    """Whether a valid row's key repeats within the unit or a key of an earlier unit."""
    found = con.execute(
        f"SELECT EXISTS (SELECT 1 FROM {TYPED_TABLE} WHERE _reason = '' GROUP BY {key_cols} "
        f"HAVING count(*) > 1) OR EXISTS (SELECT 1 FROM {TYPED_TABLE} t "
        f"JOIN {_SEEN_KEYS} s ON {join_seen} WHERE t._reason = '')"
    ).fetchone()
    return bool(found and found[0])
