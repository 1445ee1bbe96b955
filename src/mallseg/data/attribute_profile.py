"""Profiles of extra columns, computed in the database over the staged rows.

A profile counts a column's non-empty values, distinct values, values that read as
numbers (integers, non-negative), values that read as dates, its range, skewness, levels
(when few) and text length. Empty spellings (``NA``, ``n/a``, ``null``, ``-``, ``?``) count
as empty. An event file's columns are also measured per customer: the share of customers
whose rows all carry the same value, and the profile of those per-customer values.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE s AS SELECT * FROM (VALUES ('1', 'x'), ('0', 'n/a'), "
...                 "('1', 'y')) t(flag, other)")
>>> p = profile_column(con, "s", '"flag"', "flag", "VARCHAR")
>>> (p.non_null, p.distinct, p.numbers, p.levels)
(3, 2, 3, ('0', '1'))
>>> profile_column(con, "s", '"other"', "other", "VARCHAR").non_null
2
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from mallseg.core.sql_text import quote_identifier, quote_literal
from mallseg.data.attribute_kinds import ColumnProfile
from mallseg.data.parsing import DATETIME_FORMATS, number_expr, text_expr

__all__ = [
    "MISSING_SPELLINGS",
    "CandidateProfile",
    "attribute_text",
    "customer_constancy",
    "per_customer_relation",
    "profile_column",
    "profile_columns",
    "sample_values",
]

MISSING_SPELLINGS = ("na", "n/a", "nan", "null", "none", "-", "?", "#n/a", "nil", ".", "--")
"""Lower-case spellings of "no value" that exports write instead of an empty cell."""

_LEVELS_KEPT = 40
_SAMPLE_VALUES = 200
_LONG = "_profiled_values"
_PROFILED_CUSTOMERS = 20_000


def attribute_text(expr: str) -> str:
    """SQL of ``expr`` as trimmed text, NULL when empty or a spelling of "no value".

    >>> import duckdb
    >>> duckdb.connect().execute(f"SELECT {attribute_text(repr(' N/A '))}").fetchone()
    (None,)
    """
    text = text_expr(expr)
    missing = ", ".join(quote_literal(m) for m in MISSING_SPELLINGS)
    return f"(CASE WHEN lower({text}) IN ({missing}) THEN NULL ELSE {text} END)"


def _date_expr(text: str) -> str:
    formats = ", ".join(quote_literal(f) for f in DATETIME_FORMATS)
    return f"coalesce(TRY_CAST({text} AS TIMESTAMP), try_strptime({text}, [{formats}]))"


def _profile_from_row(name: str, source_type: str, row: Sequence[Any]) -> ColumnProfile:
    levels = tuple(sorted(str(v) for v in row[8])) if row[8] is not None else ()
    return ColumnProfile(
        name=name,
        source_type=source_type,
        non_null=int(row[0]),
        distinct=int(row[1]),
        numbers=int(row[2]),
        integers=int(row[3]),
        non_negative=int(row[4]),
        minimum=None if row[5] is None else float(row[5]),
        maximum=None if row[6] is None else float(row[6]),
        skewness=None if row[7] is None else float(row[7]),
        levels=levels,
        dates=int(row[9]),
        mean_length=float(row[10] or 0.0),
        mean_words=float(row[11] or 1.0),
    )


_DATE_WHEN_TEXT = (f"CASE WHEN n IS NULL AND regexp_matches(t, '[0-9]') THEN {_date_expr('t')} "
                   "END")
"""A value's date, for values that are not numbers (and have a digit: dates do)."""

_AGGREGATES = (
    "count(t), count(DISTINCT t), count(n), count(n) FILTER (WHERE n = round(n)), "
    "count(n) FILTER (WHERE n >= 0), min(n), max(n), "
    "skewness(n) FILTER (WHERE abs(n) < 1e50), "
    f"CASE WHEN count(DISTINCT t) <= {_LEVELS_KEPT} THEN list(DISTINCT lower(t)) END, "
    "count(d), avg(length(t)), avg(length(t) - length(replace(t, ' ', '')) + 1)"
)


def profile_column(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    expr: str,
    name: str,
    source_type: str,
    *,
    decimal_comma: bool = False,
) -> ColumnProfile:
    """Profile the values of ``expr`` over ``relation`` (a table or a parenthesised query).

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> p = profile_column(con, "(SELECT * FROM (VALUES ('3'), ('-1'), ('x')) t(v))", "v",
    ...                    "v", "VARCHAR")
    >>> (p.non_null, p.numbers, p.non_negative, p.minimum)
    (3, 2, 1, -1.0)
    """
    number = number_expr("t", decimal_comma=decimal_comma)
    row = con.execute(
        f"SELECT {_AGGREGATES} "
        f"FROM (SELECT t, n, {_DATE_WHEN_TEXT} AS d FROM ("
        f"SELECT t, {number} AS n FROM (SELECT {attribute_text(expr)} AS t "
        f"FROM {relation}) WHERE t IS NOT NULL))"
    ).fetchone()
    assert row is not None
    return _profile_from_row(name, source_type, row)


@dataclass(frozen=True)
class CandidateProfile:
    """A column's profile, a sample of its values and whether it writes decimal commas.

    >>> CandidateProfile(ColumnProfile("x", "VARCHAR", 0, 0), [], False).samples
    []
    """

    profile: ColumnProfile
    samples: list[str]
    decimal_comma: bool


def profile_columns(
    con: duckdb.DuckDBPyConnection, relation: str, types: Mapping[str, str],
) -> dict[str, CandidateProfile]:
    """Profile every column of ``types`` (name -> DuckDB type) over ``relation`` at once.

    The rows are turned into (column, value) pairs, so that two grouped scans profile any
    number of columns.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE s AS SELECT * FROM (VALUES ('1,5', 'a'), ('2,25', 'b'))"
    ...                 " t(x, y)")
    >>> found = profile_columns(con, "s", {"x": "VARCHAR", "y": "VARCHAR"})
    >>> found["x"].decimal_comma, found["x"].profile.maximum, found["y"].samples
    (True, 2.25, ['a', 'b'])
    """
    if not types:
        return {}
    as_text = ", ".join(f"CAST({quote_identifier(c)} AS VARCHAR) AS {quote_identifier(c)}"
                        for c in types)
    long = (f"(SELECT col, {attribute_text('v')} AS t FROM (UNPIVOT (SELECT {as_text} "
            f"FROM {relation}) ON COLUMNS(*) INTO NAME col VALUE v))")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_LONG} AS SELECT * FROM {long} "
                "WHERE t IS NOT NULL")
    try:
        plain = "regexp_replace(t, '^\\p{Sc}\\s*|\\s*\\p{Sc}$', '', 'g')"
        first = con.execute(
            f"SELECT col, array_slice(list(DISTINCT t ORDER BY t), 1, {_SAMPLE_VALUES}), "
            f"count(*) FILTER (WHERE regexp_matches({plain}, '^-?[0-9.]*[0-9],[0-9]+$') "
            f"AND NOT regexp_matches({plain}, '^-?[0-9]{{1,3}}(,[0-9]{{3}})+$')) "
            f"FROM {_LONG} GROUP BY col"
        ).fetchall()
        samples = {str(r[0]): [str(v) for v in r[1]] for r in first}
        commas = {str(r[0]) for r in first if r[2] and types.get(str(r[0])) == "VARCHAR"}
        comma_list = ", ".join(quote_literal(c) for c in sorted(commas)) or "NULL"
        number = (f"CASE WHEN col IN ({comma_list}) THEN "
                  f"{number_expr('t', decimal_comma=True)} ELSE {number_expr('t')} END")
        rows = con.execute(
            f"SELECT col, {_AGGREGATES} FROM (SELECT col, t, n, {_DATE_WHEN_TEXT} AS d "
            f"FROM (SELECT col, t, {number} AS n FROM {_LONG})) "
            "GROUP BY col"
        ).fetchall()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_LONG}")
    found = {str(r[0]): r[1:] for r in rows}
    profiles: dict[str, CandidateProfile] = {}
    for column, source_type in types.items():
        row = found.get(column)
        profile = (_profile_from_row(column, source_type, row) if row is not None
                   else ColumnProfile(column, source_type, non_null=0, distinct=0))
        profiles[column] = CandidateProfile(profile, samples.get(column, []),
                                            column in commas)
    return profiles


def sample_values(
    con: duckdb.DuckDBPyConnection, relation: str, expr: str, limit: int = _SAMPLE_VALUES
) -> list[str]:
    """Up to ``limit`` distinct non-empty values of ``expr`` (to look for personal data).

    >>> import duckdb
    >>> sample_values(duckdb.connect(), "(SELECT 'a@b.org' AS v)", "v")
    ['a@b.org']
    """
    rows = con.execute(
        f"SELECT DISTINCT t FROM (SELECT {attribute_text(expr)} AS t FROM {relation}) "
        f"WHERE t IS NOT NULL LIMIT {int(limit)}"
    ).fetchall()
    return [str(r[0]) for r in rows]


def customer_constancy(
    con: duckdb.DuckDBPyConnection, relation: str, customer_expr: str, exprs: Sequence[str]
) -> list[float]:
    """For each of ``exprs``: the share of customers whose values are all the same.

    Customers without any value of an expression do not count for it; one grouped scan
    measures every expression.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE r AS SELECT * FROM (VALUES ('A', 'uk', 1), ('A', 'uk', 2), "
    ...                 "('B', 'fr', 3), ('B', 'de', 3)) t(c, country, n)")
    >>> customer_constancy(con, "r", "c", ["country", "n"])
    [0.5, 0.5]
    """
    if not exprs:
        return []
    texts = ", ".join(f"{attribute_text(e)} AS t{i}" for i, e in enumerate(exprs))
    per_customer = ", ".join(f"count(DISTINCT t{i}) AS k{i}" for i in range(len(exprs)))
    shares = ", ".join(f"count(*) FILTER (WHERE k{i} = 1), count(*) FILTER (WHERE k{i} >= 1)"
                       for i in range(len(exprs)))
    row = con.execute(
        f"SELECT {shares} FROM (SELECT c, {per_customer} FROM (SELECT "
        f"{text_expr(customer_expr)} AS c, {texts} FROM {relation}) WHERE c IS NOT NULL "
        "GROUP BY c)"
    ).fetchone()
    assert row is not None
    return [int(row[2 * i]) / int(row[2 * i + 1]) if row[2 * i + 1] else 1.0
            for i in range(len(exprs))]


def per_customer_relation(
    relation: str, customer_expr: str, expr: str, customers: int = _PROFILED_CUSTOMERS
) -> str:
    """A query with one row per customer: ``t``, the customer's most frequent value.

    Only the first ``customers`` customers (in id order) are kept: a profile needs no more.

    >>> import duckdb
    >>> rows = "(SELECT * FROM (VALUES ('A', 'x'), ('A', 'x'), ('A', 'y'), ('B', 'z')) t(c, v))"
    >>> duckdb.connect().execute(
    ...     f"SELECT list(t ORDER BY t) FROM {per_customer_relation(rows, 'c', 'v')}").fetchone()
    (['x', 'z'],)
    """
    return (
        f"(SELECT mode(t) AS t FROM (SELECT {text_expr(customer_expr)} AS c, "
        f"{attribute_text(expr)} AS t FROM {relation}) WHERE t IS NOT NULL AND c IS NOT NULL "
        f"GROUP BY c ORDER BY c LIMIT {int(customers)})"
    )
