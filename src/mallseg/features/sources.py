"""Which canonical tables a connection holds, and how to read each as its canonical shape.

Feature SQL always reads a table through :meth:`CanonicalSources.relation`, a projection
with exactly the canonical columns and types: a column the table lacks reads as NULL, so
a workspace built by ingest and a hand-made DuckDB database are read the same way. A table
that is missing or empty is simply not present, and the features it feeds are left out.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE customers (customer_id VARCHAR, age INTEGER)")
>>> _ = con.execute("INSERT INTO customers VALUES ('c1', 30)")
>>> _ = con.execute("CREATE TABLE visits (customer_id VARCHAR, entered_at TIMESTAMP)")
>>> sources = inspect_sources(con)
>>> sorted(sources.present)
['customers']
>>> con.execute(f"SELECT customer_id, age, gender FROM {sources.relation('customers')}").fetchall()
[('c1', 30, None)]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from mallseg.core.schema import CANONICAL_TABLES

__all__ = ["CanonicalSources", "inspect_sources"]


@dataclass(frozen=True)
class CanonicalSources:
    """The canonical tables present (existing and non-empty) in one DuckDB connection.

    Parameters
    ----------
    present:
        Names of canonical tables that exist and hold at least one row.
    columns:
        For each present table, its columns as stored: name -> DuckDB type.

    Examples
    --------
    >>> sources = CanonicalSources(frozenset({"stores"}), {"stores": {"store_id": "VARCHAR"}})
    >>> sources.has("stores"), sources.has("visits")
    (True, False)
    >>> sources.has_column("stores", "zone")
    False
    """

    present: frozenset[str]
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    customer_filter: str | None = None
    """A SELECT of customer ids: every table with a ``customer_id`` is read for those only
    (features of a few customers, recomputed from their own rows)."""
    attributes: bool = False
    """Whether the workspace holds customer attributes."""

    def has(self, table: str) -> bool:
        """Whether ``table`` exists and holds rows."""
        return table in self.present

    def has_column(self, table: str, column: str) -> bool:
        """Whether ``table`` is present and stores ``column`` (it may still be all NULL)."""
        return column in self.columns.get(table, {})

    def relation(self, table: str) -> str:
        """Return SQL reading ``table`` as a sub-query with exactly its canonical columns.

        Stored columns are cast to the canonical type when they differ; absent ones are
        typed NULLs.

        Raises
        ------
        KeyError
            When ``table`` is not present.
        """
        if table not in self.present:
            raise KeyError(f"table {table!r} is not present in this database")
        stored = self.columns[table]
        items = []
        for col in CANONICAL_TABLES[table].columns:
            if col.name not in stored:
                items.append(f"CAST(NULL AS {col.sql_type}) AS {col.name}")
            elif stored[col.name].upper() != col.sql_type:
                items.append(f'CAST("{col.name}" AS {col.sql_type}) AS {col.name}')
            else:
                items.append(f'"{col.name}"')
        where = ""
        keyed = "customer_id" in CANONICAL_TABLES[table].column_names
        if self.customer_filter is not None and keyed:
            where = f" WHERE customer_id IN ({self.customer_filter})"
        return f'(SELECT {", ".join(items)} FROM "{table}"{where})'


    def attribute_relation(self, table: str) -> str:
        """SQL reading the customer-attribute table (``table``), filtered like the others.

        >>> sources = CanonicalSources(frozenset(), customer_filter="SELECT 7")
        >>> print(sources.attribute_relation("a"))
        (SELECT customer_id, attribute, number, text FROM "a" WHERE customer_id IN (SELECT 7))
        """
        where = (f" WHERE customer_id IN ({self.customer_filter})"
                 if self.customer_filter is not None else "")
        return f'(SELECT customer_id, attribute, number, text FROM "{table}"{where})'


def inspect_sources(
    connection: duckdb.DuckDBPyConnection, *, customer_filter: str | None = None
) -> CanonicalSources:
    """Find the canonical tables in the current schema of ``connection`` that hold rows.

    Parameters
    ----------
    connection:
        An open DuckDB connection, typically a workspace's ``.connection``.
    customer_filter:
        A SELECT of customer ids to restrict every customer table to (see
        :attr:`CanonicalSources.customer_filter`).

    Returns
    -------
    CanonicalSources
        The present tables and their stored columns.

    Examples
    --------
    >>> import duckdb
    >>> inspect_sources(duckdb.connect()).present
    frozenset()
    """
    rows = connection.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = current_schema()"
    ).fetchall()
    columns: dict[str, dict[str, str]] = {}
    has_attributes = False
    for table, column, data_type in rows:
        if table in CANONICAL_TABLES:
            columns.setdefault(table, {})[column] = data_type
        has_attributes = has_attributes or table == "customer_attributes"
    if has_attributes:
        found = connection.execute("SELECT EXISTS (SELECT 1 FROM customer_attributes)").fetchall()
        has_attributes = bool(found[0][0])
    present = set()
    for table in columns:
        rows = connection.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")').fetchall()
        if rows[0][0]:
            present.add(table)
    return CanonicalSources(
        present=frozenset(present),
        columns={t: cols for t, cols in columns.items() if t in present},
        customer_filter=customer_filter,
        attributes=has_attributes,
    )
