"""SQL expressions that turn a source value (text, or a Parquet type) into a canonical value.

Each builder returns a DuckDB expression that yields NULL where the value cannot be
understood; the validation step compares it with the raw value to tell *empty* from
*invalid*. Numbers accept thousands separators, a decimal comma, a currency sign and
bracket ranges as surveys and loyalty exports write them ("45-54", "65+", "35-49K",
"Under 15K": the middle of the range, the lower bound of an open range). Dates and
timestamps use the one format that reads most values of the column (see
:func:`detect_datetime_format`), so that 03/04/2024 is read the same way on every row.

Timestamps are the mall's local wall-clock time: an offset written in the text
(``+02:00``) is dropped and the local time kept, which is what hour-of-day features need.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> sql = number_expr("'35-49K'")
>>> con.execute(f"SELECT {sql}").fetchone()[0]
42.0
>>> con.execute(f"SELECT {number_expr(repr('1,234.5'))}, {number_expr(repr('$40'))}").fetchone()
(1234.5, 40.0)
>>> con.execute(f"SELECT {gender_expr(repr(' Female '))}, {gender_expr(repr('M'))}").fetchone()
('female', 'male')
"""

from __future__ import annotations

import duckdb

__all__ = [
    "DATETIME_FORMATS",
    "boolean_expr",
    "detect_datetime_format",
    "detect_decimal_comma",
    "gender_expr",
    "number_expr",
    "text_expr",
    "timestamp_expr",
]

_NUM = r"([0-9]+(?:\.[0-9]+)?)"
_RANGE = rf"^\$?\s*{_NUM}\s*[kK]?\s*(?:-|–|to)\s*\$?\s*{_NUM}\s*[kK]?$"
_OPEN_UP = rf"^\$?\s*{_NUM}\s*[kK]?\s*\+$"
_UNDER = rf"^(?:under|below|less than|<)\s*\$?\s*{_NUM}\s*[kK]?$"

DATETIME_FORMATS: tuple[str, ...] = (
    "%Y%m%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%b %d %Y %H:%M:%S",
    "%b %d %Y",
    "%b %d, %Y",
    "%d %b %Y %H:%M:%S",
    "%d %b %Y %H:%M",
    "%d %b %Y",
    "%d-%b-%Y",
    "%B %d, %Y",
    "%B %d %Y",
    "%d %B %Y",
)
"""Formats tried after ISO 8601, day-first before month-first when both read everything.

Month names (``Jan 01 2021``, ``01 Jan 2021``, ``January 1, 2021``) are English, in any
letter case."""

_FEMALE = ("f", "female", "woman", "w", "women", "frau", "femme", "weiblich", "weibl", "mujer",
           "kadin", "kadın", "donna", "femmina", "feminino", "femenino", "mulher", "vrouw",
           "vrouwelijk", "kvinna", "kvinde", "kvinne", "kobieta", "nainen", "zenska", "girl",
           "lady", "fem", "mrs", "ms")
_MALE = ("m", "male", "man", "men", "mann", "homme", "h", "mannlich", "mannl", "hombre",
         "erkek", "uomo", "maschio", "masculino", "homem", "varon", "mannelijk", "mand",
         "mezczyzna", "mies", "muski", "boy", "mr", "masc")
_OTHER = ("other", "o", "x", "diverse", "divers", "d", "non-binary", "nonbinary",
          "non binary", "autre", "otro", "altro", "diğer", "diger", "andere")


def text_expr(source: str) -> str:
    """Trimmed text, NULL when empty.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> con.execute(f"SELECT {text_expr(repr('  x '))}, {text_expr(repr(' '))}").fetchone()
    ('x', None)
    """
    return f"nullif(trim(CAST({source} AS VARCHAR)), '')"


def number_expr(source: str, *, decimal_comma: bool = False) -> str:
    """A finite number read from ``source``, or NULL.

    A currency symbol before or after the number is dropped. With ``decimal_comma`` the
    column writes ``1.234,56``; otherwise ``1,234.56`` (see :func:`detect_decimal_comma`).

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> con.execute(f"SELECT {number_expr(repr('1.234,5 €'), decimal_comma=True)}").fetchone()
    (1234.5,)
    >>> con.execute(f"SELECT {number_expr(repr('nan'))}, {number_expr(repr('£5'))}").fetchone()
    (None, 5.0)
    """
    v = f"regexp_replace({text_expr(source)}, '^\\p{{Sc}}\\s*|\\s*\\p{{Sc}}$', '', 'g')"
    if decimal_comma:
        plain = f"TRY_CAST(replace(replace({v}, '.', ''), ',', '.') AS DOUBLE)"
    else:
        plain = (
            f"CASE WHEN regexp_matches({v}, '^-?[0-9]{{1,3}}(,[0-9]{{3}})+(\\.[0-9]+)?$') "
            f"THEN TRY_CAST(replace({v}, ',', '') AS DOUBLE) "
            f"ELSE TRY_CAST({v} AS DOUBLE) END"
        )
    ranged = (
        f"CASE WHEN regexp_matches({v}, '{_RANGE}') THEN "
        f"(CAST(regexp_extract({v}, '{_RANGE}', 1) AS DOUBLE) + "
        f"CAST(regexp_extract({v}, '{_RANGE}', 2) AS DOUBLE)) / 2 "
        f"WHEN regexp_matches({v}, '{_OPEN_UP}') THEN "
        f"CAST(regexp_extract({v}, '{_OPEN_UP}', 1) AS DOUBLE) "
        f"WHEN regexp_matches(lower({v}), '{_UNDER}') THEN "
        f"CAST(regexp_extract(lower({v}), '{_UNDER}', 1) AS DOUBLE) / 2 END"
    )
    fast = f"TRY_CAST({source} AS DOUBLE)"
    value = f"coalesce({fast}, {plain}, {ranged})"
    return f"(CASE WHEN isfinite({value}) THEN {value} END)"


def detect_decimal_comma(
    con: duckdb.DuckDBPyConnection, table: str, source: str, sample_rows: int = 20_000,
    order_by: str | None = None,
) -> bool:
    """True when the column's commas are decimal commas (``12,5`` or ``1.234,56``).

    A comma followed by exactly three digits reads as a thousands separator; a column with
    any value that has a comma followed by another number of digits, or a dot before its
    comma, writes decimals with a comma.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('1,234'), ('12,5')) v(x)")
    >>> detect_decimal_comma(con, "t", "x"), detect_decimal_comma(con, "t", "'1,234'")
    (True, False)
    """
    v = text_expr(source)
    row = con.execute(
        f"SELECT count(*) FILTER (WHERE regexp_matches(v, '^-?[0-9.]*[0-9],[0-9]+$') "
        f"AND NOT regexp_matches(v, '^-?[0-9]{{1,3}}(,[0-9]{{3}})+$')) "
        f"FROM (SELECT regexp_replace({v}, '^\\p{{Sc}}\\s*|\\s*\\p{{Sc}}$', '', 'g') AS v "
        f"FROM {_first_rows(table, sample_rows, order_by)} WHERE {v} LIKE '%,%')"
    ).fetchone()
    return bool(row and row[0])


def boolean_expr(source: str) -> str:
    """True/false from the usual spellings (1/0, yes/no, y/n, true/false, t/f), else NULL.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> con.execute(f"SELECT {boolean_expr(repr('Yes'))}, {boolean_expr(repr('0'))}").fetchone()
    (True, False)
    """
    v = f"lower({text_expr(source)})"
    return (
        f"CASE WHEN {v} IN ('1', 'true', 't', 'yes', 'y', '1.0') THEN true "
        f"WHEN {v} IN ('0', 'false', 'f', 'no', 'n', '0.0') THEN false END"
    )


def gender_expr(source: str) -> str:
    """Canonical gender (female, male, other) from spellings in several languages.

    Letter case, accents and a trailing dot are ignored; anything else gives NULL.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> con.execute(f"SELECT {gender_expr(repr('Männlich'))}, {gender_expr(repr('Kadın'))}, "
    ...             f"{gender_expr(repr('MUJER'))}, {gender_expr(repr('robot'))}").fetchone()
    ('male', 'female', 'female', None)
    """
    v = f"rtrim(strip_accents(lower({text_expr(source)})), '.')"

    def listed(words: tuple[str, ...]) -> str:
        return ", ".join("'" + w.replace("'", "''") + "'" for w in words)

    return (
        f"CASE WHEN {v} IN ({listed(_FEMALE)}) THEN 'female' "
        f"WHEN {v} IN ({listed(_MALE)}) THEN 'male' "
        f"WHEN {v} IN ({listed(_OTHER)}) THEN 'other' END"
    )


def timestamp_expr(source: str, fmt: str | None) -> str:
    """A timestamp read as ISO 8601 or with ``fmt`` (strptime), else NULL.

    >>> import duckdb
    >>> duckdb.connect().execute(f"SELECT {timestamp_expr(repr('Jan 02 2021'), '%b %d %Y')}"
    ...                          ).fetchone()[0].isoformat()
    '2021-01-02T00:00:00'
    """
    v = text_expr(source)
    iso = f"TRY_CAST({v} AS TIMESTAMP)"
    if fmt is None:
        return iso
    return f"coalesce({iso}, try_strptime({v}, '{fmt}'))"


def detect_datetime_format(
    con: duckdb.DuckDBPyConnection, table: str, source: str, sample_rows: int = 20_000,
    order_by: str | None = None,
) -> str | None:
    """The format (from :data:`DATETIME_FORMATS`) reading most values of a text column.

    Returns None when ISO 8601 reads at least as many values as any other format.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('25/04/2024'), ('03/04/2024'))"
    ...                 " v(d)")
    >>> detect_datetime_format(con, "t", "d")
    '%d/%m/%Y'
    """
    v = text_expr(source)
    sample = (f"(SELECT {v} AS v FROM {_first_rows(table, sample_rows, order_by)} "
              f"WHERE {v} IS NOT NULL)")
    counts = ["count(TRY_CAST(v AS TIMESTAMP))"]
    counts += [f"count(try_strptime(v, '{fmt}'))" for fmt in DATETIME_FORMATS]
    row = con.execute(f"SELECT {', '.join(counts)} FROM {sample}").fetchone()
    if row is None:
        return None
    best = max(range(len(row)), key=lambda i: (row[i], -i))
    if best == 0 or row[best] == 0:
        return None
    return DATETIME_FORMATS[best - 1]


def _first_rows(table: str, rows: int, order_by: str | None) -> str:
    """The first ``rows`` rows of ``table`` (in ``order_by`` order, when given)."""
    order = f" ORDER BY {order_by}" if order_by else ""
    return f"(SELECT * FROM {table}{order} LIMIT {rows}) AS {table}"
