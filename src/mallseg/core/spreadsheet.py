"""Text written to CSV files that a spreadsheet will open: never read as a formula.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is executed as
a formula by spreadsheet programs (formula injection). Such cells are written with a
leading ``'``, which spreadsheets show as text.

Examples
--------
>>> neutralise_formula("=HYPERLINK(1)"), neutralise_formula("C0042")
("'=HYPERLINK(1)", 'C0042')
"""

from __future__ import annotations

__all__ = ["FORMULA_STARTS", "neutralise_formula", "neutralised_text_sql"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""


def neutralise_formula(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    return f"'{text}" if text[:1] in FORMULA_STARTS else text


def neutralised_text_sql(column: str) -> str:
    """The SQL (DuckDB) twin of :func:`neutralise_formula` for a text column.

    >>> import duckdb
    >>> duckdb.sql(f"SELECT {neutralised_text_sql(repr('@SUM(A1)'))}").fetchall()[0][0]
    "'@SUM(A1)"
    """
    return (f"CASE WHEN regexp_matches({column}, '^[=+\\-@\\t\\r]') THEN '''' || {column} "
            f"ELSE {column} END")
