"""The checks that reject a row: each a SQL expression giving the reason, NULL when it passes.

Ranges come from the canonical schema. Dates have bounds of their own: sign-ups before
1900, events before 1970 and anything more than five years after the time of ingest are
not real (``1800-01-01``, ``0000-01-01`` and ``9999-12-31`` are how exports write "unknown").
A "Total" or "Grand total" footer row is not a record. Checks that need the typed row as a
whole (a visit that ends before it starts, a derived amount out of range) run as updates of
the typed table afterwards.

Examples
--------
>>> import duckdb
>>> from datetime import datetime
>>> from mallseg.core.schema import CANONICAL_TABLES
>>> con = duckdb.connect()
>>> signup = CANONICAL_TABLES["customers"].column("signup_date")
>>> sql = date_bounds_reason(signup, "DATE '2099-01-01'", now=datetime(2026, 6, 1))
>>> con.execute(f"SELECT {sql}").fetchone()[0]
'signup_date: 2099-01-01 is more than 5 years after the time of ingest'
>>> con.execute(f"SELECT {summary_row_reason(['$$Grand Total$$'], 'customer')}").fetchone()[0]
"looks like a summary row ('Grand Total'), not a customer"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import duckdb

from mallseg.core.schema import Column, Table
from mallseg.core.sql_text import quote_identifier, quote_literal
from mallseg.data.staging import TYPED_TABLE

__all__ = [
    "EARLIEST_YEAR",
    "YEARS_AHEAD",
    "birth_year_reason",
    "check_typed_rows",
    "date_bounds_reason",
    "derivation_applies",
    "expected_text",
    "format_bound",
    "nul_byte_reason",
    "range_reason",
    "record_name",
    "summary_row_reason",
]

EARLIEST_YEAR: dict[str, int] = {"signup_date": 1900}
"""The first plausible year of a date column; every other date or time starts in 1970."""
_EVENT_EARLIEST_YEAR = 1970
YEARS_AHEAD = 5
"""Dates more than this many years after the time of ingest are not real."""

_SUMMARY_PATTERN = (
    r"^(grand\s*|sub-?\s*)?totals?\b|^sum(me|a)?\b|^gesamt|^toplam\b|^totale?\b|^overall\b"
)
_SINGULAR = {"customers": "customer", "stores": "store", "visits": "visit",
             "transactions": "transaction", "campaigns": "campaign", "exposures": "exposure"}


def expected_text(column: Column) -> str:
    """How a reason describes the value ``column`` expects.

    >>> from mallseg.core.schema import CANONICAL_TABLES
    >>> expected_text(CANONICAL_TABLES["customers"].column("age"))
    'a whole number'
    """
    if column.name == "gender":
        return "a gender (female, male, other)"
    return {
        "INTEGER": "a whole number",
        "DOUBLE": "a number",
        "BOOLEAN": "true or false (yes/no, 1/0)",
        "DATE": "a date (e.g. 2026-01-31)",
        "TIMESTAMP": "a date and time (e.g. 2026-01-31 14:05)",
    }.get(column.sql_type, "text")


def format_bound(value: float | None) -> str:
    """A range bound as a reason writes it (``10``, ``0.5``, empty when open).

    >>> format_bound(100_000.0), format_bound(0.5), format_bound(None)
    ('100000', '0.5', '')
    """
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def range_reason(column: Column, value: str, label: str) -> str | None:
    """SQL giving the out-of-range reason for ``value``, NULL when in range.

    >>> import duckdb
    >>> from mallseg.core.schema import CANONICAL_TABLES
    >>> age = CANONICAL_TABLES["customers"].column("age")
    >>> duckdb.connect().execute(f"SELECT {range_reason(age, '150', 'age')}").fetchone()
    ('age: 150 is outside 10..110',)
    """
    if column.minimum is None and column.maximum is None:
        return None
    low = column.minimum if column.minimum is not None else "'-infinity'::DOUBLE"
    high = column.maximum if column.maximum is not None else "'infinity'::DOUBLE"
    return (
        f"CASE WHEN {value} < {low} OR {value} > {high} THEN "
        f"'{label}: ' || CAST({value} AS VARCHAR) || ' is outside "
        f"{format_bound(column.minimum)}..{format_bound(column.maximum)}' END"
    )


def date_bounds_reason(column: Column, value: str, now: datetime) -> str:
    """SQL giving the reason a date or time is not plausible, NULL when it is.

    >>> import duckdb
    >>> from mallseg.core.schema import CANONICAL_TABLES
    >>> bought = CANONICAL_TABLES["transactions"].column("purchased_at")
    >>> sql = date_bounds_reason(bought, "TIMESTAMP '1969-07-20 20:17'", datetime(2026, 1, 1))
    >>> duckdb.connect().execute(f"SELECT {sql}").fetchone()
    ('purchased_at: 1969-07-20 20:17:00 is before 1970',)
    """
    earliest = EARLIEST_YEAR.get(column.name, _EVENT_EARLIEST_YEAR)
    latest = now.replace(year=now.year + YEARS_AHEAD, microsecond=0)
    return (
        f"CASE WHEN {value} < DATE '{earliest:04d}-01-01' THEN "
        f"'{column.name}: ' || CAST({value} AS VARCHAR) || ' is before {earliest}' "
        f"WHEN {value} > TIMESTAMP '{latest:%Y-%m-%d %H:%M:%S}' THEN "
        f"'{column.name}: ' || CAST({value} AS VARCHAR) || ' is more than {YEARS_AHEAD} "
        "years after the time of ingest' END"
    )


def birth_year_reason(value: str, now: datetime) -> str:
    """SQL rejecting a year of birth after the year of ingest.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> con.execute(f"SELECT {birth_year_reason('2031', datetime(2026, 1, 1))}").fetchone()[0]
    'birth_year: 2031 is after the year of ingest (2026)'
    """
    return (
        f"CASE WHEN {value} > {now.year} THEN 'birth_year: ' || CAST({value} AS VARCHAR) "
        f"|| ' is after the year of ingest ({now.year})' END"
    )


def summary_row_reason(raw_values: Sequence[str], record: str) -> str:
    """SQL saying a row is a "Total" / "Sum" footer, judged by any of ``raw_values``.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> sql = summary_row_reason(["$$Sumner$$", "$$TOTAL:$$"], "store")
    >>> con.execute(f"SELECT {sql}").fetchone()
    ("looks like a summary row ('TOTAL:'), not a store",)
    """
    cases = " ".join(
        f"WHEN regexp_matches(lower(trim(CAST({raw} AS VARCHAR))), "
        f"{quote_literal(_SUMMARY_PATTERN)}) THEN 'looks like a summary row (''' || "
        f"trim(CAST({raw} AS VARCHAR)) || '''), not a {record}'"
        for raw in raw_values
    )
    return f"CASE {cases} END" if cases else "NULL"


def record_name(table: Table) -> str:
    """What one row of ``table`` is called in a reason.

    >>> from mallseg.core.schema import CANONICAL_TABLES
    >>> record_name(CANONICAL_TABLES["transactions"])
    'transaction'
    """
    return _SINGULAR.get(table.name, "record")


def nul_byte_reason(text_columns: Sequence[str]) -> str:
    """SQL rejecting a staged row with a NUL byte in any of ``text_columns``.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> con.execute(f"SELECT {nul_byte_reason(['a'])} FROM (SELECT 'x' || chr(0) AS a) src"
    ...             ).fetchone()[0]
    'the line holds a NUL byte (binary junk): remove it from the file'
    """
    if not text_columns:
        return "NULL"
    tests = " OR ".join(f"strpos(src.{quote_identifier(c)}, chr(0)) > 0" for c in text_columns)
    return (f"CASE WHEN {tests} THEN 'the line holds a NUL byte (binary junk): remove it "
            "from the file' END")


def derivation_applies(table: Table, name: str, mapped: Mapping[str, str]) -> bool:
    """True when ``name`` is absent from the file but all its inputs are present.

    >>> from mallseg.core.schema import CANONICAL_TABLES
    >>> t = CANONICAL_TABLES["transactions"]
    >>> derivation_applies(t, "amount", {"quantity": "Qty", "unit_price": "Price"})
    True
    """
    derivation = table.derived_columns.get(name)
    return (
        name not in mapped
        and derivation is not None
        and all(i in mapped for i in derivation.inputs)
    )


def check_typed_rows(
    con: duckdb.DuckDBPyConnection, table: Table, mapped: Mapping[str, str]
) -> None:
    """Derive absent columns and reject rows whose typed values contradict each other.

    >>> import duckdb
    >>> from mallseg.core.schema import CANONICAL_TABLES
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TEMP TABLE _typed AS SELECT * FROM (VALUES "
    ...                 "(TIMESTAMP '2026-01-01 10:00', TIMESTAMP '2026-01-01 09:00', "
    ...                 "NULL::DOUBLE, '')) t(entered_at, left_at, dwell_minutes, _reason)")
    >>> check_typed_rows(con, CANONICAL_TABLES["visits"],
    ...                  {"customer_id": "c", "entered_at": "in", "left_at": "out"})
    >>> con.execute("SELECT dwell_minutes, _reason FROM _typed").fetchall()
    [(-60.0, 'left_at is before entered_at')]
    """
    if table.name == "visits" and "left_at" in mapped:
        con.execute(
            f"UPDATE {TYPED_TABLE} SET _reason = 'left_at is before entered_at' "
            "WHERE _reason = '' AND left_at < entered_at"
        )
    for name, derivation in table.derived_columns.items():
        if name in mapped:
            continue
        if derivation_applies(table, name, mapped):
            con.execute(f"UPDATE {TYPED_TABLE} SET {name} = {derivation.expression}")
            out_of_range = range_reason(table.column(name), name, f"{name} (derived)")
            if out_of_range:
                con.execute(
                    f"UPDATE {TYPED_TABLE} SET _reason = {out_of_range} WHERE _reason = '' "
                    f"AND ({out_of_range}) IS NOT NULL"
                )
        if table.column(name).required:
            con.execute(
                f"UPDATE {TYPED_TABLE} SET _reason = '{name} is empty' "
                f"WHERE {name} IS NULL AND _reason = ''"
            )
    if table.name == "campaigns" and "end_date" in mapped and "start_date" in mapped:
        con.execute(
            f"UPDATE {TYPED_TABLE} SET _reason = 'end_date is before start_date' "
            "WHERE _reason = '' AND end_date < start_date"
        )
