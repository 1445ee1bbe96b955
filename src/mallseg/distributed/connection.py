"""Run the feature and insight SQL, written for DuckDB, on a Spark session.

:class:`SparkSQLConnection` gives Spark the methods the feature definitions and the layout
insights (:mod:`mallseg.insights.layout`) use of a database: ``execute(sql)`` with
``fetchall()``, ``fetchone()`` and ``fetchdf()``, translating each statement with
:func:`~mallseg.distributed.dialect.to_spark_sql`; :meth:`SparkSQLConnection.sql` returns
the translated query as a Spark DataFrame, for the results that stay in Spark.

Two statements are not queries: ``CREATE TEMP TABLE name AS SELECT ...`` becomes a
temporary view whose rows Spark keeps (in memory, spilling to disk) once computed, as a
DuckDB temporary table keeps them, and ``DROP TABLE IF EXISTS name`` drops that view and
frees its rows.

Examples
--------
>>> from mallseg.distributed.session import local_spark_session
>>> connection = SparkSQLConnection(local_spark_session())
>>> connection.execute("SELECT isodow(DATE '2024-01-07') AS sunday").fetchall()
[(7,)]
>>> _ = connection.execute('CREATE TEMP TABLE "kept" AS SELECT 2 AS n')
>>> connection.execute('SELECT n FROM "kept"').fetchdf().to_dict("records")
[{'n': 2}]
>>> _ = connection.execute('DROP TABLE IF EXISTS "kept"')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlglot
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from sqlglot import exp

from mallseg.distributed.dialect import to_spark_sql

__all__ = ["SparkResult", "SparkSQLConnection"]


@dataclass(frozen=True)
class SparkResult:
    """Rows of a query that came back to Python (small look-ups only).

    Examples
    --------
    >>> SparkResult([(1, "a")]).fetchone()
    (1, 'a')
    """

    rows: list[tuple[Any, ...]]
    columns: tuple[str, ...] = ()

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Every row, as tuples."""
        return list(self.rows)

    def fetchone(self) -> tuple[Any, ...] | None:
        """The first row, or None when there is none."""
        return self.rows[0] if self.rows else None

    def fetchdf(self) -> pd.DataFrame:
        """The rows as a pandas frame with the query's column names.

        >>> SparkResult([(1, "a")], ("n", "s")).fetchdf().to_dict("records")
        [{'n': 1, 's': 'a'}]
        """
        return pd.DataFrame.from_records(self.rows, columns=list(self.columns),
                                         nrows=len(self.rows))


class SparkSQLConnection:
    """A Spark session seen as the connection the feature SQL expects.

    Look-ups are remembered by their SQL text: the tables a feature build reads (temporary
    views over files) do not change while it runs, and the builder asks for some of them
    (the stores, the categories) more than once.

    Parameters
    ----------
    spark:
        The session that holds the canonical tables as temporary views.

    Examples
    --------
    >>> from mallseg.distributed.session import local_spark_session
    >>> connection = SparkSQLConnection(local_spark_session())
    >>> connection.sql("SELECT 1.5 AS x").dtypes
    [('x', 'double')]
    """

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark
        self._answers: dict[str, SparkResult] = {}

    def sql(self, query: str) -> DataFrame:
        """The DataFrame of ``query`` (DuckDB dialect, portable subset), not yet computed."""
        return self.spark.sql(to_spark_sql(query))

    def execute(self, query: str, parameters: Any = None) -> SparkResult:
        """Run ``query`` and bring its rows back (meant for small results).

        Raises
        ------
        TypeError
            When ``parameters`` are given: the feature SQL writes its values as literals.
        """
        if parameters:
            raise TypeError(
                "SparkSQLConnection.execute takes no parameters: write values as literals"
            )
        statement = _statement(query)
        if statement is not None:
            # a table made or dropped: answers remembered may have read an older one
            self._answers.clear()
            return statement(self.spark)
        if query not in self._answers:
            frame = self.sql(query)
            rows = [tuple(row) for row in frame.collect()]
            self._answers[query] = SparkResult(rows, tuple(frame.columns))
        return self._answers[query]


def _statement(query: str) -> Callable[[SparkSession], SparkResult] | None:
    """What to do for a CREATE TEMP TABLE or DROP TABLE statement; None for a query."""
    head = query.lstrip()[:12].upper()
    if not head.startswith(("CREATE", "DROP")):
        return None
    tree = sqlglot.parse_one(query, read="duckdb")
    if isinstance(tree, exp.Create) and str(tree.args.get("kind")).upper() == "TABLE":
        properties = tree.args.get("properties")
        temporary = properties is not None and any(
            isinstance(p, exp.TemporaryProperty) for p in properties.expressions)
        if not temporary or not isinstance(tree.expression, exp.Query):
            raise TypeError("only CREATE TEMP TABLE name AS SELECT ... runs on Spark")
        name, select = tree.this.name, tree.expression.sql(dialect="duckdb")

        def create(spark: SparkSession) -> SparkResult:
            rows = spark.sql(to_spark_sql(select)).persist(StorageLevel.MEMORY_AND_DISK)
            rows.createOrReplaceTempView(name)
            return SparkResult([])

        return create
    if isinstance(tree, exp.Drop) and str(tree.args.get("kind")).upper() in ("TABLE", "VIEW"):
        names = [table.name for table in tree.args.get("tables") or []]

        def drop(spark: SparkSession) -> SparkResult:
            for name in names:
                # dropping a temporary view also frees the rows kept for it
                spark.catalog.dropTempView(name)
            return SparkResult([])

        return drop
    raise TypeError(f"statement {head.split()[0]} does not run on Spark: only queries, "
                    "CREATE TEMP TABLE ... AS SELECT and DROP TABLE")
