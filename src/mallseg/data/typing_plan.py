"""The statement that turns the staged rows of a unit into canonical, typed, checked rows.

Parsing decisions (date format, decimal comma, income unit) are taken once per file, from
its first rows (see :data:`mallseg.data.staging.DECISION_ROWS`), and written into one
``CREATE TABLE _typed AS SELECT ...`` statement that every unit of the file runs. Each row
gets its canonical values and ``_reason``: empty when the row is valid, else why not.

A value mapping (``value_map={"gender": {"1": "male", "2": "female"}}``) rewrites raw values
before they are parsed, compared after trimming and lower-casing.

Examples
--------
>>> import duckdb
>>> from datetime import datetime
>>> from mallseg.core.schema import CANONICAL_TABLES
>>> from mallseg.data.mapping import map_columns
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE _staging AS SELECT * FROM (VALUES ('A', '1', '30', 'c.csv', 2),"
...                 " ('B', '2', 'x', 'c.csv', 3)) t(id, sex, age, _source_file, _source_row)")
>>> table = CANONICAL_TABLES["customers"]
>>> mapping = map_columns(["id", "sex", "age"], table)
>>> sql = typing_statement(con, table, mapping, value_map={"gender": {"1": "female"}},
...                        notes=[], now=datetime(2026, 1, 1))
>>> _ = con.execute(sql)
>>> con.execute("SELECT customer_id, gender, age, _reason FROM _typed ORDER BY 1").fetchall()
[('A', 'female', 30, ''), ('B', None, None, "gender: '2' is not a gender (female, male, other); age: 'x' is not a whole number")]
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from mallseg.core.schema import CANONICAL_TABLES, Column, Table
from mallseg.core.sql_text import quote_identifier, quote_literal
from mallseg.data import staging
from mallseg.data.mapping import ColumnMapping
from mallseg.data.parsing import (
    boolean_expr,
    detect_datetime_format,
    detect_decimal_comma,
    gender_expr,
    number_expr,
    text_expr,
    timestamp_expr,
)
from mallseg.data.row_checks import (
    birth_year_reason,
    date_bounds_reason,
    expected_text,
    nul_byte_reason,
    range_reason,
    record_name,
    summary_row_reason,
)
from mallseg.data.staging import STAGING_TABLE, TYPED_TABLE

__all__ = [
    "FILE_ORDER",
    "INCOME_FULL_UNITS_MAX",
    "TypedValue",
    "same_family",
    "staged_types",
    "typed_value",
    "typing_statement",
]

FILE_ORDER = "_source_file, _source_row"
_INCOME_FULL_UNITS_MEDIAN = 1_000.0
INCOME_FULL_UNITS_MAX = 100_000_000.0
"""The largest annual income, in full currency units, that is taken for real."""

_INCOME = CANONICAL_TABLES["customers"].column("annual_income")

_TYPE_FAMILIES = {
    "numeric": ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL"),
    "time": ("DATE", "TIMESTAMP"),
    "boolean": ("BOOLEAN",),
}


@dataclass(frozen=True)
class TypedValue:
    """How one canonical column is read from its source column.

    >>> TypedValue("src.a", "src.a", ()).checks
    ()
    """

    value: str
    """SQL of the canonical value (NULL when the raw value cannot be understood)."""
    raw: str
    """SQL of the raw value (trimmed text, or the typed Parquet value)."""
    checks: tuple[str, ...]
    """SQL expressions each giving a reason to reject the row, NULL when it passes."""


def staged_types(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Column name -> DuckDB type (upper case) of the staging table.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE _staging AS SELECT 'A' AS id, 1.5 AS x")
    >>> staged_types(con)
    {'id': 'VARCHAR', 'x': 'DECIMAL(2,1)'}
    """
    rows = con.execute(f"DESCRIBE {STAGING_TABLE}").fetchall()
    return {str(r[0]): str(r[1]).upper() for r in rows}


def same_family(source_type: str, target_type: str) -> bool:
    """True when a typed source (Parquet) needs no parsing to reach the target type.

    >>> same_family("BIGINT", "DOUBLE"), same_family("VARCHAR", "DOUBLE")
    (True, False)
    """
    if source_type == "VARCHAR" or target_type == "VARCHAR":
        return False
    return any(
        source_type.startswith(members) and target_type.startswith(members)
        for members in _TYPE_FAMILIES.values()
    )


def _mapped_raw(source: str, source_type: str, values: Mapping[str, str] | None,
                qualifier: str) -> tuple[str, str]:
    """The raw source expression (rewritten by a value mapping) and its type."""
    ref = f"{qualifier}{quote_identifier(source)}"
    if not values:
        return ref, source_type
    text = f"CAST({ref} AS VARCHAR)"
    cases = " ".join(
        f"WHEN {quote_literal(raw.strip().lower())} THEN {quote_literal(value)}"
        for raw, value in values.items()
    )
    return f"(CASE lower(trim({text})) {cases} ELSE {text} END)", "VARCHAR"


def _parsed_value(
    con: duckdb.DuckDBPyConnection, column: Column, src: str, probe: str, source_type: str,
    label: str, notes: list[str],
) -> str:
    """SQL of the canonical value of ``column`` from raw ``src`` (``probe``: same, unqualified)."""
    if column.name == "gender":
        return gender_expr(src)
    kind = column.sql_type
    if same_family(source_type, kind):
        if kind == "INTEGER":
            return f"TRY_CAST(CASE WHEN isfinite({src}) THEN round({src}) END AS BIGINT)"
        return f"TRY_CAST({src} AS {kind})"
    if kind == "VARCHAR" and source_type.startswith(("FLOAT", "DOUBLE", "DECIMAL")):
        # ids written as 1.0 by tools that store integers with gaps as floats
        return (f"CASE WHEN {src} = trunc({src}) AND abs({src}) < 1e18 "
                f"THEN CAST(CAST({src} AS BIGINT) AS VARCHAR) ELSE CAST({src} AS VARCHAR) END")
    if kind in ("INTEGER", "DOUBLE"):
        decimal_comma = source_type == "VARCHAR" and detect_decimal_comma(
            con, STAGING_TABLE, probe, staging.DECISION_ROWS, FILE_ORDER)
        if decimal_comma:
            notes.append(f"{label}: read with a decimal comma")
        expr = number_expr(src, decimal_comma=decimal_comma)
        return f"TRY_CAST(round({expr}) AS BIGINT)" if kind == "INTEGER" else expr
    if kind == "BOOLEAN":
        return boolean_expr(src)
    if kind in ("DATE", "TIMESTAMP"):
        fmt = detect_datetime_format(con, STAGING_TABLE, probe, staging.DECISION_ROWS,
                                     FILE_ORDER)
        if fmt is not None:
            notes.append(f"{label}: read with date format {fmt}")
        return f"CAST({timestamp_expr(src, fmt)} AS {kind})"
    return text_expr(src)


def typed_value(
    con: duckdb.DuckDBPyConnection,
    column: Column,
    source: str,
    source_type: str,
    *,
    values: Mapping[str, str] | None,
    notes: list[str],
    now: datetime,
) -> TypedValue:
    """How ``column`` is read from staged column ``source``, with its checks.

    >>> import duckdb
    >>> from mallseg.core.schema import CANONICAL_TABLES
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE _staging AS SELECT '12,5' AS spend, 'f' AS _source_file, "
    ...                 "1 AS _source_row")
    >>> notes = []
    >>> typed = typed_value(con, CANONICAL_TABLES["transactions"].column("amount"), "spend",
    ...                     "VARCHAR", values=None, notes=notes, now=datetime(2026, 1, 1))
    >>> con.execute(f"SELECT {typed.value} FROM _staging src").fetchone(), notes
    ((12.5,), ['spend: read with a decimal comma'])
    """
    src, src_type = _mapped_raw(source, source_type, values, "src.")
    probe, _ = _mapped_raw(source, source_type, values, "")
    value = _parsed_value(con, column, src, probe, src_type, source, notes)
    typed_source = same_family(src_type, column.sql_type)
    raw = src if typed_source else text_expr(src)
    label = column.name
    checks: list[str] = []
    if column.required:
        checks.append(f"CASE WHEN {raw} IS NULL THEN '{label} is empty' END")
    if not typed_source:
        checks.append(
            f"CASE WHEN {raw} IS NOT NULL AND ({value}) IS NULL THEN "
            f"'{label}: ''' || left({raw}, 60) || ''' is not {expected_text(column)}' END"
        )
    if column.name == "annual_income":
        value, income_checks = _income_in_thousands(con, value, probe, src_type, source, notes)
        checks.extend(income_checks)
    else:
        out_of_range = range_reason(column, f"({value})", label)
        if out_of_range:
            checks.append(out_of_range)
    if column.sql_type in ("DATE", "TIMESTAMP"):
        checks.append(date_bounds_reason(column, f"({value})", now))
    if column.name == "birth_year":
        checks.append(birth_year_reason(f"({value})", now))
    return TypedValue(value=value, raw=raw, checks=tuple(checks))


def _income_in_thousands(
    con: duckdb.DuckDBPyConnection, value: str, probe: str, source_type: str, source: str,
    notes: list[str],
) -> tuple[str, list[str]]:
    """Income in thousands, and its checks.

    The unit is read from the median of the plausible values of the file's first rows
    (absurd values say nothing about the unit): above 1,000 the column gives full currency
    units and is divided by 1000; a value below 1,000 in such a column looks like
    thousands, and is rejected rather than read as an income of a few hundred.
    """
    column_range = range_reason(_INCOME, f"({value})", "annual_income")
    probe_value = (f"TRY_CAST({probe} AS DOUBLE)" if source_type != "VARCHAR"
                   else number_expr(probe))
    row = con.execute(
        f"SELECT median(v) FROM (SELECT {probe_value} AS v FROM {STAGING_TABLE} "
        f"ORDER BY {FILE_ORDER} LIMIT {staging.DECISION_ROWS}) WHERE v > 0 AND v <= "
        f"{INCOME_FULL_UNITS_MAX}"
    ).fetchone()
    median = row[0] if row else None
    if median is None or median <= _INCOME_FULL_UNITS_MEDIAN:
        return value, [column_range] if column_range else []
    notes.append(
        f"{source}: a median of {median:,.0f} reads as full currency units; divided by 1000 "
        "to give annual_income in thousands"
    )
    checks = [
        f"CASE WHEN ({value}) < 0 OR ({value}) > {INCOME_FULL_UNITS_MAX} THEN "
        f"'annual_income: ' || CAST(({value}) AS VARCHAR) || ' is outside 0..100000000 "
        "(full currency units)' END",
        f"CASE WHEN ({value}) > 0 AND ({value}) < {_INCOME_FULL_UNITS_MEDIAN} THEN "
        f"'annual_income: ' || CAST(({value}) AS VARCHAR) || ' looks like thousands, but the "
        f"column gives full currency units (median {median:,.0f}): write every income in "
        "the same unit' END",
    ]
    return f"(({value}) / 1000.0)", checks


def typing_statement(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    mapping: ColumnMapping,
    *,
    value_map: Mapping[str, Mapping[str, str]],
    notes: list[str],
    now: datetime,
    nul_columns: Sequence[str] = (),
    first_column: str | None = None,
    extra_columns: Sequence[str] = (),
    pseudonyms: str | None = None,
) -> str:
    """The statement that types and checks the staged rows into ``_typed``.

    Parameters
    ----------
    con:
        The connection holding the staged unit (the first one: decisions read it).
    table:
        The canonical table.
    mapping:
        Its columns' sources.
    value_map:
        Raw value rewrites per canonical column.
    notes:
        Parsing decisions are appended here (date format, decimal comma, income unit).
    now:
        The time of ingest, which bounds plausible dates.
    nul_columns:
        Text columns to search for NUL bytes (only when the file holds one).
    first_column:
        The file's first column, where a "Total" footer row writes its label.
    extra_columns:
        More ``expression AS name`` items over the staged row ``src`` to carry along.
    pseudonyms:
        A table of ``(raw, pseudonym)`` pairs: the typed ``customer_id`` is replaced by
        its pseudonym there, in the same statement (ids it lacks stay as they are).
    """
    types = staged_types(con)
    selects = ["src._source_file", "src._source_row"]
    checks: list[str] = []
    summary_sources: list[str] = []
    joins = ""
    for column in table.columns:
        source = mapping.canonical_to_source.get(column.name)
        if source is None:
            selects.append(f"CAST(NULL AS {column.sql_type}) AS {column.name}")
            continue
        typed = typed_value(con, column, source, types.get(source, "VARCHAR"),
                            values=value_map.get(column.name), notes=notes, now=now)
        if column.name == "customer_id" and pseudonyms is not None:
            joins = f" LEFT JOIN {pseudonyms} AS _pm ON _pm.raw = ({typed.value})"
            selects.append(f"coalesce(_pm.pseudonym, {typed.value}) AS {column.name}")
        else:
            selects.append(f"{typed.value} AS {column.name}")
        checks.extend(typed.checks)
        if column.name in table.key:
            summary_sources.append(f"src.{quote_identifier(source)}")
    if first_column is not None and f"src.{quote_identifier(first_column)}" not in (
            summary_sources):
        summary_sources.append(f"src.{quote_identifier(first_column)}")
    row_checks = f"concat_ws('; ', {', '.join(checks)})" if checks else "''"
    exclusive = [summary_row_reason(summary_sources, record_name(table))]
    if nul_columns:
        exclusive.insert(0, nul_byte_reason(nul_columns))
    reasons = f"coalesce({', '.join(exclusive)}, {row_checks})"
    return (
        f"CREATE OR REPLACE TEMP TABLE {TYPED_TABLE} AS SELECT "
        f"{', '.join([*selects, *extra_columns])}, {reasons} AS _reason "
        f"FROM {STAGING_TABLE} AS src{joins}"
    )
