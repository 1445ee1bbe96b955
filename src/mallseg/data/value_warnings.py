"""Counted data problems that do not reject a row, each said once with its count.

- an id starting with ``=``, ``+``, ``-`` or ``@`` is loaded as given, but a spreadsheet
  that opens an export of it may run it as a formula (exports neutralise such values);
- an ``amount`` that differs from ``quantity × unit_price`` by more than 1% and more than
  0.01 is loaded as given (discounts, or a column mapped to the wrong meaning).

Examples
--------
>>> import duckdb
>>> from collections import Counter
>>> from mallseg.core.schema import CANONICAL_TABLES
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TEMP TABLE _typed AS SELECT * FROM (VALUES "
...                 "('=1+1', 10.0, 2.0, 5.0, ''), ('C2', 11.0, 2.0, 5.0, ''), "
...                 "('C3', 10.005, 2.0, 5.0, '')) t(customer_id, amount, quantity, unit_price, "
...                 "_reason)")
>>> counts = Counter()
>>> count_value_warnings(con, CANONICAL_TABLES["transactions"],
...                      {"customer_id": "c", "amount": "a", "quantity": "q", "unit_price": "p"},
...                      counts)
>>> warning_sentences(counts)[0]
'customer_id: 1 value starts with =, +, - or @ (a spreadsheet opening an export may run it as a formula); loaded as given'
>>> warning_sentences(counts)[1]
'amount: 1 row differs from quantity × unit_price by more than 1% (and more than 0.01); loaded as given'
"""  # noqa: E501

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import duckdb

from mallseg.core.schema import Table
from mallseg.data.staging import TYPED_TABLE

__all__ = ["count_value_warnings", "warning_sentences"]

_FORMULA_START = "('=', '+', '-', '@')"
"""First characters that make a spreadsheet read a cell as a formula."""
_ID_COLUMNS = ("customer_id", "store_id", "campaign_id")


def count_value_warnings(
    con: duckdb.DuckDBPyConnection, table: Table, mapped: Mapping[str, str],
    counts: Counter[str],
) -> None:
    """Add this unit's counts of each warning (over its valid rows) to ``counts``.

    >>> import duckdb
    >>> from mallseg.core.schema import CANONICAL_TABLES
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TEMP TABLE _typed AS SELECT '@x' AS customer_id, '' AS _reason")
    >>> counts = Counter()
    >>> count_value_warnings(con, CANONICAL_TABLES["customers"], {"customer_id": "id"}, counts)
    >>> dict(counts)
    {'formula:customer_id': 1}
    """
    counted: list[tuple[str, str]] = [
        (f"formula:{column}", f"left({column}, 1) IN {_FORMULA_START}")
        for column in _ID_COLUMNS if column in mapped and column in table.column_names
    ]
    if table.name == "transactions" and all(
            c in mapped for c in ("amount", "quantity", "unit_price")):
        counted.append(("amount_mismatch",
                        "abs(amount - quantity * unit_price) > 0.01 AND abs(amount - quantity "
                        "* unit_price) > 0.01 * abs(quantity * unit_price)"))
    if not counted:
        return
    row = con.execute(
        "SELECT " + ", ".join(f"count(*) FILTER (WHERE {test})" for _, test in counted)
        + f" FROM {TYPED_TABLE} WHERE _reason = ''"
    ).fetchone()
    for (key, _), found in zip(counted, row or (), strict=False):
        if found:
            counts[key] += int(found)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def warning_sentences(counts: Counter[str]) -> list[str]:
    """One sentence per warning with a count above zero, in a stable order.

    >>> warning_sentences(Counter({"amount_mismatch": 0}))
    []
    """
    sentences = []
    for key in sorted(counts):
        count = counts[key]
        if count <= 0:
            continue
        if key.startswith("formula:"):
            column = key.split(":", 1)[1]
            sentences.append(
                f"{column}: {_plural(count, 'value starts', 'values start')} with =, +, - or @ "
                f"(a spreadsheet opening an export may run {'it' if count == 1 else 'them'} "
                "as a formula); loaded as given"
            )
        elif key == "amount_mismatch":
            sentences.append(
                f"amount: {_plural(count, 'row differs', 'rows differ')} from quantity × "
                "unit_price by more than 1% (and more than 0.01); loaded as given"
            )
    sentences.sort(key=lambda s: (not s.startswith(tuple(_ID_COLUMNS)), s))
    return sentences
