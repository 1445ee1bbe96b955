"""Run the feature SQL, written for DuckDB, on a Spark session.

:class:`SparkSQLConnection` gives Spark the one method the feature definitions use of a
database, ``execute(sql).fetchall()``, translating each statement with
:func:`~mallseg.distributed.dialect.to_spark_sql`; :meth:`SparkSQLConnection.sql` returns
the translated query as a Spark DataFrame, for the results that stay in Spark.

Examples
--------
>>> from mallseg.distributed.session import local_spark_session
>>> connection = SparkSQLConnection(local_spark_session())
>>> connection.execute("SELECT isodow(DATE '2024-01-07') AS sunday").fetchall()
[(7,)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, SparkSession

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

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Every row, as tuples."""
        return list(self.rows)

    def fetchone(self) -> tuple[Any, ...] | None:
        """The first row, or None when there is none."""
        return self.rows[0] if self.rows else None


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
        if query not in self._answers:
            rows = [tuple(row) for row in self.sql(query).collect()]
            self._answers[query] = SparkResult(rows)
        return self._answers[query]
