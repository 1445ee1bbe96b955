"""Where a text, a cell or a JSON value quotes a customer's id: one rule for erasure.

A *distinct* id (at least :data:`DISTINCT_ID_CHARS` characters: every pseudonym, most raw
ids) is looked for as a whole word anywhere. A *short* id (``0``, ``42``, in a workspace of
ids as given) would be found by chance in a segment number, an amount or a path, so it
counts only as a whole value, and in a table only in a column whose name says it holds a
customer (by the customer id aliases ingest maps).

Examples
--------
>>> matcher = IdMatcher(["C000017", "7"])
>>> matcher.in_text("moved: C000017 left"), matcher.in_text("segment 7")
(True, False)
>>> matcher.cell("customer_id", " 7"), matcher.cell("segment", "7")
(True, False)
>>> matcher.replace("C000017 left")
'[erased customer] left'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from mallseg.core.schema import CUSTOMERS
from mallseg.data.mapping import normalise_name
from mallseg.privacy.scan import word_pattern

__all__ = [
    "DISTINCT_ID_CHARS",
    "ERASED_TEXT",
    "IdMatcher",
    "is_distinct",
    "names_customer",
    "replacing_pattern",
]

ERASED_TEXT = "[erased customer]"
"""What stands in a text (audit detail, summary) where the erased customer's id stood."""

DISTINCT_ID_CHARS = 6
"""Ids at least this long are looked for as words in any text; shorter ones only as a whole
value where a customer is named."""

_CUSTOMER_ALIASES = frozenset(CUSTOMERS.column("customer_id").aliases) | {"customerid"}


def is_distinct(needle: str) -> bool:
    """Whether an id is long enough to be looked for as a word in any text.

    >>> is_distinct("0"), is_distinct("C000017")
    (False, True)
    """
    return len(needle) >= DISTINCT_ID_CHARS


def names_customer(column: str) -> bool:
    """Whether a column's name says it holds a customer's id.

    It does when it is one of ingest's customer id aliases, or has ``customer`` in it.

    >>> [names_customer(c) for c in ("customer_id", "CustomerID", "id", "Member ID", "segment")]
    [True, True, True, True, False]
    """
    key = normalise_name(column)
    return "customer" in key or key in _CUSTOMER_ALIASES


def replacing_pattern(needle: str) -> str:
    r"""``needle`` as a whole word, the characters around it as groups 1 and 2.

    The same pattern serves Python and DuckDB's RE2.

    >>> re.sub(replacing_pattern("C1"), r"\1X\2", "(C1, C10)")
    '(X, C10)'
    """
    return f"(^|[^0-9A-Za-z_]){re.escape(needle)}([^0-9A-Za-z_]|$)"


class IdMatcher:
    """The ids of one customer (workspace id, and the raw id when given), split by kind."""

    def __init__(self, needles: Iterable[str]) -> None:
        wanted = [n for n in needles if n]
        self.distinct = [n for n in wanted if is_distinct(n)]
        self.short = frozenset(n for n in wanted if not is_distinct(n))
        self.words = (re.compile("|".join(word_pattern(n) for n in self.distinct))
                      if self.distinct else None)
        self._replacing = [re.compile(replacing_pattern(n)) for n in self.distinct]

    def in_text(self, text: str) -> bool:
        """Whether a distinct id is in ``text`` as a word (short ids never are)."""
        return self.words is not None and self.words.search(text) is not None

    def is_value(self, value: Any) -> bool:
        """Whether ``value`` is, as a whole, one of the short ids."""
        return bool(self.short) and isinstance(value, str | int) and (
            str(value).strip() in self.short)

    def cell(self, column: str, value: str) -> bool:
        """Whether a table cell quotes the customer."""
        return self.in_text(value) or (names_customer(column) and self.is_value(value))

    def column(self, column: str, values: pd.Series) -> pd.Series:
        """:meth:`cell` over a whole column."""
        text = values.astype(str)
        holds = pd.Series(False, index=values.index)
        if self.words is not None:
            holds |= text.str.contains(self.words)
        if self.short and names_customer(column):
            holds |= text.str.strip().isin(self.short)
        return holds

    def in_item(self, item: Any) -> bool:
        """Whether a parsed JSON element quotes the customer.

        A distinct id anywhere in it, a short id as the whole string or as the value of a
        key that names a customer.
        """
        if self.in_text(json.dumps(item, default=str)):
            return True
        if isinstance(item, str):
            return self.is_value(item)
        return isinstance(item, dict) and any(
            names_customer(str(k)) and self.is_value(v) for k, v in item.items())

    def replace(self, text: str) -> str:
        """``text`` with the customer's ids replaced by :data:`ERASED_TEXT`."""
        if self.is_value(text):
            return ERASED_TEXT
        for pattern in self._replacing:
            text = pattern.sub(lambda m: f"{m.group(1)}{ERASED_TEXT}{m.group(2)}", text)
        return text
