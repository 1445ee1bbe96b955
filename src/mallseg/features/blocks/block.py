"""The contract between a source table's feature SQL and the builder that joins them.

A :class:`FeatureBlock` holds one aggregation over one canonical table (one row per
customer that has rows there) and the expressions that turn those aggregates into
features for *every* customer, those without rows included. The builder joins every
block onto ``customers`` (alias ``c``) with a LEFT JOIN, so an expression sees the
customer's own columns as ``c.<column>`` and the block's aggregates as ``<alias>.<column>``.

Examples
--------
>>> block = FeatureBlock(
...     alias="val",
...     aggregate_sql="SELECT customer_id, sum(amount) AS spend FROM t GROUP BY customer_id",
...     columns=(("monetary_total", "coalesce(val.spend, 0)"),),
... )
>>> block.feature_names
('monetary_total',)
>>> sql_string("O'Neil")
"'O''Neil'"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from mallseg.features.schema import BuildParameters
from mallseg.features.sources import CanonicalSources

__all__ = [
    "BuildContext",
    "FeatureBlock",
    "SQLConnection",
    "at_least_zero",
    "sql_date",
    "sql_string",
    "sql_timestamp",
    "sql_values",
]


class SQLConnection(Protocol):
    """What the feature SQL needs of a database: ``execute(sql)`` with ``fetchall()``.

    A DuckDB connection is one; so is the Spark engine's adapter
    (:class:`mallseg.distributed.connection.SparkSQLConnection`), which translates the
    same SQL for Spark. The SQL written against it keeps to the portable subset described
    in :mod:`mallseg.distributed.dialect`.

    Examples
    --------
    >>> import duckdb
    >>> connection: SQLConnection = duckdb.connect()
    >>> connection.execute("SELECT 1 + 1").fetchall()
    [(2,)]
    """

    def execute(self, query: str, parameters: Any = None) -> Any:
        """Run ``query``; the result has ``fetchall()`` (a list of tuples)."""
        ...


@dataclass(frozen=True)
class FeatureBlock:
    """Features computed from one source table.

    Parameters
    ----------
    alias:
        Name of the aggregation in the builder's query (a CTE); expressions use it.
    aggregate_sql:
        A SELECT with ``customer_id`` and aggregates, grouped by ``customer_id``;
        ``None`` when the features are read straight from ``customers``.
    columns:
        ``(feature name, SQL expression)`` pairs, in output order.
    first_seen:
        Expression for the customer's first event in this table (used for tenure when
        the sign-up date is unknown), or ``None``.

    Examples
    --------
    >>> FeatureBlock("c", None, (("age", "c.age"),)).aggregate_sql is None
    True
    """

    alias: str
    aggregate_sql: str | None
    columns: tuple[tuple[str, str], ...]
    first_seen: str | None = None

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the features the block yields, in order."""
        return tuple(name for name, _ in self.columns)


@dataclass(frozen=True)
class BuildContext:
    """What every block needs to know: the connection, the tables present and the as-of date.

    Parameters
    ----------
    connection:
        Connection holding the canonical tables (DuckDB, or the Spark engine's adapter),
        used for small look-ups only: category and zone names, the first date of a table.
    sources:
        Canonical tables present in the connection.
    as_of:
        Reference time; events after it are ignored. ``None`` only when the data holds
        no timestamp at all.
    parameters:
        Data-wide quantities (first purchase and visit days, categories, zones), measured
        on the whole data or taken from a run's feature schema.
    since:
        Start of the window of a windowed build (events before it are ignored), or None.

    Examples
    --------
    >>> ctx = BuildContext(None, CanonicalSources(frozenset()), datetime(2024, 3, 1, 12))
    >>> ctx.as_of_sql
    "TIMESTAMP '2024-03-01 12:00:00'"
    >>> ctx.until("t.purchased_at")
    "t.purchased_at <= TIMESTAMP '2024-03-01 12:00:00'"
    """

    connection: SQLConnection | None
    sources: CanonicalSources
    as_of: datetime | None
    parameters: BuildParameters = field(default_factory=BuildParameters)
    since: datetime | None = None

    @property
    def as_of_sql(self) -> str:
        """The as-of time as a SQL literal (``NULL`` when unknown)."""
        return "CAST(NULL AS TIMESTAMP)" if self.as_of is None else sql_timestamp(self.as_of)

    @property
    def as_of_date_sql(self) -> str:
        """The as-of day as a SQL DATE literal (``NULL`` when unknown)."""
        return "CAST(NULL AS DATE)" if self.as_of is None else sql_date(self.as_of.date())

    def until(self, column: str) -> str:
        """Return the SQL condition keeping rows whose ``column`` lies in the build's window.

        The window ends at the as-of time and, for a windowed build, starts at ``since``.
        """
        conditions = []
        if self.as_of is not None:
            conditions.append(f"{column} <= {self.as_of_sql}")
        if self.since is not None:
            conditions.append(f"{column} >= {sql_timestamp(self.since)}")
        return " AND ".join(conditions) or "TRUE"

    def row(self, sql: str) -> tuple[Any, ...]:
        """Run a query that returns one row (a small look-up) and return it."""
        if self.connection is None:
            raise RuntimeError("this build context has no connection")
        found = self.connection.execute(sql).fetchall()
        if not found:
            raise RuntimeError(f"query returned no row: {sql}")
        return tuple(found[0])

    def scalar(self, sql: str) -> Any:
        """Run a query that returns one value and return it."""
        return self.row(sql)[0]


def sql_string(value: str) -> str:
    """Quote ``value`` as a SQL string literal.

    Examples
    --------
    >>> sql_string("food")
    "'food'"
    """
    return "'" + value.replace("'", "''") + "'"


def sql_timestamp(value: datetime) -> str:
    """Write ``value`` (naive, local to the data) as a SQL TIMESTAMP literal.

    Examples
    --------
    >>> sql_timestamp(datetime(2024, 1, 2, 3, 4, 5, 6))
    "TIMESTAMP '2024-01-02 03:04:05.000006'"
    """
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"


def sql_date(value: date) -> str:
    """Write ``value`` as a SQL DATE literal.

    Examples
    --------
    >>> sql_date(date(2024, 1, 2))
    "DATE '2024-01-02'"
    """
    return f"DATE '{value.isoformat()}'"


def sql_values(rows: list[tuple[str, int]], names: tuple[str, str]) -> str:
    """Write an inline two-column table ``(VALUES ...) AS v(name0, name1)``: string -> code.

    Examples
    --------
    >>> sql_values([("Food", 0), ("Café", 1)], ("raw", "code"))
    "(VALUES ('Food', 0), ('Café', 1)) AS v(raw, code)"
    """
    body = ", ".join(f"({sql_string(raw)}, {code})" for raw, code in rows)
    return f"(VALUES {body}) AS v({names[0]}, {names[1]})"


def at_least_zero(expression: str) -> str:
    """Clip ``expression`` below at 0 in SQL, keeping NULL as NULL (``greatest`` skips NULLs).

    Examples
    --------
    >>> at_least_zero("x - y")
    'CASE WHEN (x - y) < 0 THEN 0 ELSE (x - y) END'
    """
    return f"CASE WHEN ({expression}) < 0 THEN 0 ELSE ({expression}) END"
