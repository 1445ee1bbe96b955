"""Quoting of names and values written into SQL text.

Column names come from users' files and paths from their command lines: both are quoted
here, never pasted into SQL as they are.

Examples
--------
>>> quote_identifier('a"b')
'"a""b"'
>>> quote_literal("/tmp/q'out.csv")
"'/tmp/q''out.csv'"
"""

from __future__ import annotations

__all__ = ["quote_identifier", "quote_literal"]


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(value: object) -> str:
    """``value`` as a single-quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"
