"""Write customer attributes and their catalog, changing only what changed.

``customer_attributes`` holds one row per customer and attribute with a value (numbers
and yes/no as 0/1 in ``number``, categories in ``text``); ``attribute_catalog`` one row
per attribute. A file replaces the values of the attributes it carries for the customers
it carries; a value that is the same keeps its row (and the ingest that wrote it), so that
loading the same file again changes nothing.

Examples
--------
>>> import duckdb
>>> from datetime import datetime
>>> from mallseg.data.attribute_plan import AttributeSpec
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE customer_attributes (customer_id VARCHAR, attribute VARCHAR, "
...                 "number DOUBLE, text VARCHAR, _ingest_id VARCHAR)")
>>> spec = AttributeSpec("mnt_wines", "customers", "MntWines", "money", "spend", "wines", "")
>>> values = ("(SELECT * FROM (VALUES ('A', 'mnt_wines', '10'), ('B', 'mnt_wines', 'ten')) "
...           "t(customer_id, attribute, raw))")
>>> customers = "(SELECT * FROM (VALUES ('A'), ('B')) t(customer_id))"
>>> replace_attribute_values(con, [spec], values, customers, "i1")
{'mnt_wines': 1}
>>> con.execute("SELECT customer_id, number, _ingest_id FROM customer_attributes").fetchall()
[('A', 10.0, 'i1')]
>>> replace_attribute_values(con, [spec], values, customers, "i2")
{'mnt_wines': 1}
>>> con.execute("SELECT _ingest_id FROM customer_attributes").fetchall()
[('i1',)]
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb

from mallseg.core.sql_text import quote_literal
from mallseg.data.attribute_plan import AttributeSpec
from mallseg.data.attribute_profile import attribute_text

__all__ = ["replace_attribute_values", "upsert_catalog"]

_NEW_VALUES = "_attribute_values"
_DIFF = "_attribute_changes"
_CATALOG_COLUMNS = ("source_table", "source_column", "value_type", "kind", "family", "member",
                    "meaning")


def upsert_catalog(
    con: duckdb.DuckDBPyConnection, specs: Sequence[AttributeSpec], ingest_id: str,
    now: datetime,
) -> None:
    """Describe ``specs`` in ``attribute_catalog``; a description that is the same stays.

    >>> import duckdb
    >>> from mallseg.workspace.tables import SYSTEM_DDL
    >>> con = duckdb.connect()
    >>> for ddl in SYSTEM_DDL:
    ...     _ = con.execute(ddl)
    >>> spec = AttributeSpec("kidhome", "customers", "Kidhome", "count", None, None, "Kidhome")
    >>> upsert_catalog(con, [spec], "i1", datetime(2026, 1, 1))
    >>> upsert_catalog(con, [spec], "i2", datetime(2026, 2, 1))
    >>> con.execute("SELECT attribute, kind, ingest_id FROM attribute_catalog").fetchall()
    [('kidhome', 'count', 'i1')]
    """
    if not specs:
        return
    names = [s.attribute for s in specs]
    placeholders = ", ".join("?" for _ in names)
    current = {
        tuple(r) for r in con.execute(
            f"SELECT attribute, {', '.join(_CATALOG_COLUMNS)} FROM attribute_catalog "
            f"WHERE attribute IN ({placeholders})", names).fetchall()
    }
    changed = [s for s in specs if s.catalog_row() not in current]
    if not changed:
        return
    con.execute(f"DELETE FROM attribute_catalog WHERE attribute IN "
                f"({', '.join('?' for _ in changed)})", [s.attribute for s in changed])
    rows = ", ".join("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" for _ in changed)
    con.execute(f"INSERT INTO attribute_catalog VALUES {rows}",
                [v for s in changed for v in (*s.catalog_row(), ingest_id, now)])


def _case_by_attribute(specs: Sequence[AttributeSpec], part: int) -> str:
    """One branch per distinct way of reading values (not one per attribute)."""
    readers: dict[str, list[str]] = {}
    for spec in specs:
        readers.setdefault(spec.value_sql("raw")[part], []).append(quote_literal(spec.attribute))
    branches = " ".join(f"WHEN attribute IN ({', '.join(names)}) THEN {expr}"
                        for expr, names in readers.items() if expr != "NULL")
    return f"CASE {branches} END" if branches else "NULL"


def replace_attribute_values(
    con: duckdb.DuckDBPyConnection,
    specs: Sequence[AttributeSpec],
    values: str,
    customers: str,
    ingest_id: str,
) -> dict[str, int]:
    """Replace the values of ``specs`` for the ``customers`` a file carries.

    Parameters
    ----------
    con:
        The workspace connection.
    specs:
        The attributes.
    values:
        A relation of ``(customer_id, attribute, raw)``: each customer's raw value as text.
    customers:
        A relation of ``customer_id``: every customer the file carries (a customer whose
        value is now empty loses the old one).
    ingest_id:
        The ingest that writes the new values.

    Returns
    -------
    dict
        Attribute -> values that could not be read (left empty), for those with any.
    """
    if not specs:
        return {}
    names = ", ".join(quote_literal(s.attribute) for s in specs)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_NEW_VALUES} AS SELECT customer_id, attribute, raw, "
        f"CAST({_case_by_attribute(specs, 0)} AS DOUBLE) AS number, "
        f"CAST({_case_by_attribute(specs, 1)} AS VARCHAR) AS text FROM (SELECT customer_id, "
        f"attribute, {attribute_text('raw')} AS raw FROM {values}) WHERE attribute IN ({names})"
    )
    unreadable = {
        str(r[0]): int(r[1]) for r in con.execute(
            f"SELECT attribute, count(*) FROM {_NEW_VALUES} WHERE raw IS NOT NULL "
            "AND number IS NULL AND text IS NULL GROUP BY attribute").fetchall()
    }
    # one join tells, for every new value, whether the workspace already holds it as is;
    # the joins that follow compare keys only, which keeps them fast on millions of rows
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_DIFF} AS SELECT n.customer_id, n.attribute, n.number, "
        "n.text, coalesce(a.number IS NOT DISTINCT FROM n.number AND a.text IS NOT DISTINCT "
        f"FROM n.text, false) AS same FROM (SELECT * FROM {_NEW_VALUES} WHERE number IS NOT "
        "NULL OR text IS NOT NULL) n LEFT JOIN (SELECT * FROM customer_attributes WHERE "
        f"attribute IN ({names})) a ON a.customer_id = n.customer_id AND a.attribute = n.attribute"
    )
    con.execute(
        f"DELETE FROM customer_attributes a WHERE a.attribute IN ({names}) AND a.customer_id IN "
        f"(SELECT customer_id FROM {customers}) AND NOT EXISTS (SELECT 1 FROM {_DIFF} d "
        "WHERE d.same AND d.customer_id = a.customer_id AND d.attribute = a.attribute)"
    )
    con.execute(
        f"INSERT INTO customer_attributes SELECT customer_id, attribute, number, text, "
        f"{quote_literal(ingest_id)} FROM {_DIFF} WHERE NOT same"
    )
    con.execute(f"DROP TABLE IF EXISTS {_DIFF}")
    con.execute(f"DROP TABLE IF EXISTS {_NEW_VALUES}")
    return unreadable
