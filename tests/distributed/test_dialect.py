"""The translated SQL means on Spark what the DuckDB SQL means on DuckDB.

The rewrites exist because SQLGlot's plain translation runs on Spark but says something
else (a weekday off by one, a 32-bit hash, decimal arithmetic, an INT of days); each is
checked here by running the same statement on both engines over values chosen to tell
the meanings apart.
"""

from __future__ import annotations

import duckdb
import pytest
from pyspark.sql import SparkSession

from mallseg.distributed.connection import SparkSQLConnection
from mallseg.distributed.dialect import UnportableSQLError, to_spark_sql

# a week of days, sub-second times, a leap day, a year boundary
MOMENTS = [
    "2024-01-01 00:00:00", "2024-01-02 23:59:59.999999", "2024-01-03 12:00:00",
    "2024-01-04 06:30:00.5", "2024-01-05 18:00:00", "2024-01-06 11:59:59.5",
    "2024-01-07 23:00:00", "2024-02-29 12:00:00", "2023-12-31 23:59:59.75",
]
STATEMENT = (
    "SELECT t, isodow(t) AS dow, hour(t) AS hour, "
    "date_diff('day', CAST(t AS DATE), DATE '2024-03-01') AS days, "
    "date_diff('microsecond', t, TIMESTAMP '2024-03-01 00:00:00') / 86400000000.0 AS span, "
    "greatest(date_diff('day', DATE '2024-01-01', CAST(t AS DATE)) / 30.4375, 1.0) AS months, "
    "bit_count(CAST(1 AS BIGINT) << (hour(t) % 63)) AS bit, "
    "CAST(7 AS BIGINT) // 2 AS halves "
    "FROM moments ORDER BY t"
)


def test_same_statement_same_rows_on_both_engines(spark: SparkSession) -> None:
    values = ", ".join(f"(TIMESTAMP '{m}')" for m in MOMENTS)
    duck = duckdb.connect()
    duck.execute(f"CREATE TABLE moments AS SELECT * FROM (VALUES {values}) AS v(t)")
    spark.sql(to_spark_sql(f"SELECT * FROM (VALUES {values}) AS v(t)")).createOrReplaceTempView(
        "moments")
    expected = duck.execute(STATEMENT).fetchall()
    found = SparkSQLConnection(spark).execute(STATEMENT).fetchall()
    assert len(found) == len(MOMENTS)
    for ours, theirs in zip(found, expected, strict=True):
        assert ours[0] == theirs[0]
        assert ours[1:4] == theirs[1:4]  # weekday, hour, days: exactly
        assert ours[4:6] == pytest.approx(theirs[4:6], rel=1e-15)
        assert ours[6:] == theirs[6:]
        assert all(isinstance(v, float) for v in ours[4:6])  # DOUBLE, not DECIMAL
    assert [row[1] for row in found[1:8]] == [1, 2, 3, 4, 5, 6, 7]  # Mon 1 .. Sun 7


def test_hash_is_sixty_four_bits_on_spark(spark: SparkSession) -> None:
    found = SparkSQLConnection(spark).execute(
        "SELECT hash('basket-1', CAST(NULL AS DATE), 's1') AS h").fetchall()[0][0]
    assert "XXHASH64" in to_spark_sql("SELECT hash(a, b) FROM t")
    assert not -(2**31) <= found < 2**31  # wider than Spark's 32-bit hash


@pytest.mark.parametrize(("sql", "construct"), [
    ("SELECT epoch(t) FROM x", "epoch()"),
    ("SELECT date_diff('second', a, b) FROM x", "date_diff('second'"),
    ("SELECT CAST(1 AS UBIGINT) FROM x", "UBIGINT"),
    ("SELECT list_position([1, 2], 2) FROM x", "list_position()"),
])
def test_constructs_outside_the_subset_are_refused_by_name(sql: str, construct: str) -> None:
    with pytest.raises(UnportableSQLError, match=construct.replace("(", r"\(")
                       .replace(")", r"\)")):
        to_spark_sql(sql)
