r"""The feature SQL, written once in DuckDB's dialect, as Spark SQL.

The feature definitions (:mod:`mallseg.features.blocks`) are DuckDB SQL that keeps to a
subset both engines mean the same thing by; :func:`to_spark_sql` translates it with
SQLGlot and a few rewrites where SQLGlot's translation is valid Spark SQL that means
something else:

- ``hash(...)`` becomes ``xxhash64(...)``: Spark's ``hash`` is a 32-bit hash, too short to
  tell purchase occasions apart by;
- ``isodow(x)`` (Monday 1 .. Sunday 7) becomes ``weekday(x) + 1``: SQLGlot writes
  ``dayofweek(x) % 7 + 1``, which is Spark's Sunday-first numbering shifted by a day;
- ``date_diff('day', a, b)`` becomes ``CAST(datediff(b, a) AS BIGINT)``, calendar days
  between two dates, as a BIGINT like DuckDB's (Spark's ``datediff`` is an INT);
- decimal literals (``1.0``, ``30.4375``) become DOUBLE: Spark types them DECIMAL, and
  arithmetic with them would give decimal features.

The subset leaves out what has no counterpart with the same meaning; :func:`to_spark_sql`
refuses it with :class:`UnportableSQLError`, naming the construct: ``epoch()`` (Spark's
``unix_timestamp`` truncates to seconds in the session's time zone: use
``date_diff('microsecond', a, b)``), ``date_diff`` in units other than ``day`` (on dates)
and ``microsecond`` (DuckDB counts unit boundaries crossed, Spark whole units elapsed),
unsigned integer types, and list functions.

Examples
--------
>>> to_spark_sql("SELECT count(*) FILTER (WHERE isodow(entered_at) >= 6) FROM \"visits\"")
'SELECT COUNT(*) FILTER(WHERE (WEEKDAY(entered_at) + 1) >= 6) FROM `visits`'
>>> to_spark_sql("SELECT epoch(entered_at) FROM visits")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
mallseg.distributed.dialect.UnportableSQLError: epoch() has no Spark counterpart ...
"""

from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp

__all__ = ["UnportableSQLError", "to_spark_sql"]

_UNSIGNED = frozenset({"UTINYINT", "USMALLINT", "UINT", "UBIGINT", "UHUGEINT", "UDECIMAL"})
_REFUSED_FUNCTIONS = {
    exp.TimeToUnix: "epoch() has no Spark counterpart with the same meaning: take "
                    "differences with date_diff('microsecond', a, b)",
    exp.ArrayMax: "list_max() is not in the portable subset: use greatest(...)",
    exp.ArrayMin: "list_min() is not in the portable subset: use least(...)",
}
_REFUSED_NAMES = {
    "list_position": "list_position() is not in the portable subset: use CASE WHEN",
    "list_extract": "list_extract() is not in the portable subset: use CASE WHEN",
    "regexp_full_match": "regexp_full_match() is not in the portable subset: use "
                         "regexp_matches() with ^...$",
}
_PORTABLE_DIFF_UNITS = frozenset({"DAY", "MICROSECOND"})


class UnportableSQLError(ValueError):
    """Feature SQL uses a construct outside the subset both engines mean the same by."""


@lru_cache(maxsize=512)
def to_spark_sql(sql: str) -> str:
    """Translate one DuckDB statement of the portable subset to Spark SQL.

    Parameters
    ----------
    sql:
        One statement in DuckDB's dialect.

    Raises
    ------
    UnportableSQLError
        When ``sql`` uses a construct whose Spark translation would mean something else.

    Examples
    --------
    >>> to_spark_sql("SELECT hash(basket_id, store_id) // 63, 30.4375 FROM t")
    'SELECT XXHASH64(basket_id, store_id) DIV 63, CAST(30.4375 AS DOUBLE) FROM t'
    >>> to_spark_sql("SELECT date_diff('day', DATE '2024-01-01', d) FROM t")
    "SELECT CAST(DATEDIFF(d, CAST('2024-01-01' AS DATE)) AS BIGINT) FROM t"
    """
    tree = sqlglot.parse_one(sql, read="duckdb")
    return tree.transform(_rewrite).sql(dialect="spark")


def _rewrite(node: exp.Expression) -> exp.Expression:
    for kind, message in _REFUSED_FUNCTIONS.items():
        if isinstance(node, kind):
            raise UnportableSQLError(message)
    if isinstance(node, exp.Anonymous):
        name = str(node.this).lower()
        if name in _REFUSED_NAMES:
            raise UnportableSQLError(_REFUSED_NAMES[name])
        if name == "hash":
            return exp.Anonymous(this="xxhash64", expressions=_rewritten(node.expressions))
        return node
    if isinstance(node, exp.DataType) and node.this.name in _UNSIGNED:
        raise UnportableSQLError(
            f"unsigned type {node.this.name} has no Spark counterpart: use a signed type"
        )
    if isinstance(node, exp.DayOfWeekIso):
        weekday = exp.Anonymous(this="weekday", expressions=_rewritten([node.this]))
        return exp.Paren(this=exp.Add(this=weekday, expression=exp.Literal.number(1)))
    if isinstance(node, exp.DateDiff):
        return _date_diff(node)
    if isinstance(node, exp.Literal) and node.is_number and _is_decimal(node.this):
        return exp.Cast(this=node, to=exp.DataType.build("DOUBLE"))
    return node


def _date_diff(node: exp.DateDiff) -> exp.Expression:
    unit = node.args.get("unit")
    name = (unit.name if unit is not None else "DAY").upper()
    if name not in _PORTABLE_DIFF_UNITS:
        raise UnportableSQLError(
            f"date_diff('{name.lower()}', ...) counts unit boundaries in DuckDB and whole "
            "units in Spark: use 'day' on dates or 'microsecond'"
        )
    if name == "DAY":
        days = exp.Anonymous(this="datediff",
                             expressions=_rewritten([node.this, node.expression]))
        return exp.Cast(this=days, to=exp.DataType.build("BIGINT"))
    return node


def _rewritten(children: list[exp.Expression]) -> list[exp.Expression]:
    # a node put in place of another is not visited again: rewrite its children here
    return [child.transform(_rewrite) for child in children]


def _is_decimal(text: str) -> bool:
    return any(mark in text for mark in (".", "e", "E"))
