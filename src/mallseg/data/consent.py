"""Marketing consent: who may appear in target lists and recommendation exports.

A customer's consent is the ``consent_marketing`` column of the customers table (recognised
at ingest from ``consent``, ``marketing_consent``, ``opt_in``, ... through the column
mapping): ``true`` (agreed), ``false`` (refused) or missing (unknown: the column was absent
or the cell empty).

The rule deciding who may be marketed to is a workspace setting (``mallseg settings set
marketing_consent ...``):

``opt_in`` (the default)
    Only customers whose consent is recorded as ``true``. Under the GDPR a controller must
    be able to *demonstrate* consent (Art. 7(1)), and electronic direct marketing needs
    prior consent (ePrivacy Directive, Art. 13): an unknown consent cannot be shown, so a
    legal team would not sign off contacting those customers by default.
``not_refused``
    Everyone except recorded refusals, for a mall whose legal basis for the contact is
    not consent (a documented legitimate interest, the "soft opt-in" for existing
    customers); unknown is then allowed, and that choice is the mall's to record.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE customers (customer_id VARCHAR, consent_marketing BOOLEAN)")
>>> _ = con.execute("INSERT INTO customers VALUES ('a', true), ('b', false), ('c', NULL)")
>>> sorted(not_allowed_customers(con, "opt_in")), sorted(not_allowed_customers(con, "not_refused"))
(['b', 'c'], ['b'])
>>> split_by_consent(con, ["a", "b", "c", "d"], "opt_in")
ConsentSplit(allowed=('a',), refused=1, unknown=2)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

import duckdb

__all__ = [
    "CONSENT_RULES",
    "CONSENT_WORDS",
    "DEFAULT_CONSENT_RULE",
    "ConsentBook",
    "ConsentRule",
    "ConsentSplit",
    "consent_book",
    "consent_column_present",
    "customer_may_be_marketed",
    "may_market_sql",
    "not_allowed_customers",
    "split_by_consent",
]

ConsentRule = Literal["opt_in", "not_refused"]
CONSENT_RULES: tuple[str, ...] = get_args(ConsentRule)
DEFAULT_CONSENT_RULE: ConsentRule = "opt_in"
"""Only recorded agreement allows marketing: see the module text for why."""

CONSENT_WORDS: dict[str, str] = {
    "opt_in": "only customers whose consent is recorded as given",
    "not_refused": "everyone except recorded refusals",
}
"""What each rule lets through, in words for people."""


def may_market_sql(column: str, rule: ConsentRule) -> str:
    """SQL that is true when a customer whose consent is ``column`` may be marketed to.

    >>> may_market_sql("c.consent_marketing", "opt_in")
    'coalesce(c.consent_marketing, false)'
    >>> may_market_sql("consent_marketing", "not_refused")
    'coalesce(consent_marketing, true)'
    """
    if rule not in CONSENT_RULES:
        raise ValueError(f"marketing consent rule {rule!r}: expected one of "
                         f"{', '.join(CONSENT_RULES)}")
    return f"coalesce({column}, {'false' if rule == 'opt_in' else 'true'})"


def consent_column_present(connection: duckdb.DuckDBPyConnection) -> bool:
    """Whether a ``customers`` table with a ``consent_marketing`` column exists.

    >>> consent_column_present(duckdb.connect())
    False
    """
    found = connection.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'customers' "
        "AND column_name = 'consent_marketing' AND table_schema = current_schema()"
    ).fetchall()
    return bool(found[0][0])


def _consent_relation(connection: duckdb.DuckDBPyConnection) -> str | None:
    tables = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'customers' "
        "AND table_schema = current_schema()").fetchall()
    if not tables[0][0]:
        return None
    if consent_column_present(connection):
        return "SELECT customer_id, consent_marketing FROM customers"
    return "SELECT customer_id, CAST(NULL AS BOOLEAN) AS consent_marketing FROM customers"


def customer_may_be_marketed(
    connection: duckdb.DuckDBPyConnection, customer_id: str, rule: ConsentRule
) -> bool:
    """Whether ``rule`` lets this one customer get marketing (one indexed lookup).

    A customer missing from the customers table has an unknown consent.

    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE customers AS SELECT * FROM (VALUES ('a', true), "
    ...                 "('b', NULL)) t(customer_id, consent_marketing)")
    >>> [customer_may_be_marketed(con, c, "opt_in") for c in ("a", "b", "zz")]
    [True, False, False]
    >>> customer_may_be_marketed(con, "b", "not_refused")
    True
    """
    relation = _consent_relation(connection)
    if relation is None:
        return rule == "not_refused"
    rows = connection.execute(
        f"SELECT {may_market_sql('consent_marketing', rule)} FROM ({relation}) "
        "WHERE CAST(customer_id AS VARCHAR) = ?", [customer_id]).fetchall()
    if not rows:
        return rule == "not_refused"
    return bool(rows[0][0])


def not_allowed_customers(
    connection: duckdb.DuckDBPyConnection, rule: ConsentRule
) -> set[str]:
    """Ids of the customers table's customers that ``rule`` keeps out of marketing.

    Customers missing from the customers table are not listed (their consent is unknown:
    :func:`consent_book` tells them apart).
    """
    relation = _consent_relation(connection)
    if relation is None:
        return set()
    rows = connection.execute(
        f"SELECT CAST(customer_id AS VARCHAR) FROM ({relation}) "
        f"WHERE NOT {may_market_sql('consent_marketing', rule)}").fetchall()
    return {str(r[0]) for r in rows}


@dataclass(frozen=True)
class ConsentSplit:
    """Which of the asked customers may be marketed to, and why the others may not."""

    allowed: tuple[str, ...]
    refused: int
    """Customers whose consent is recorded as refused."""
    unknown: int
    """Customers without a recorded consent (kept out under ``opt_in`` only)."""

    @property
    def excluded(self) -> int:
        """Customers kept out, for either reason."""
        return self.refused + self.unknown


@dataclass(frozen=True)
class ConsentBook:
    """Every customer's recorded consent (one id set per answer), read once."""

    rule: ConsentRule
    agreed: frozenset[str]
    refused: frozenset[str]

    def allows(self, customer_id: str) -> bool:
        """Whether the rule lets this customer be marketed to."""
        if self.rule == "opt_in":
            return customer_id in self.agreed
        return customer_id not in self.refused

    def split(self, customer_ids: Iterable[str]) -> ConsentSplit:
        """Split ``customer_ids`` (order kept, each counted once) by the rule."""
        allowed: list[str] = []
        refused = unknown = 0
        for customer in dict.fromkeys(str(c) for c in customer_ids):
            if customer in self.refused:
                refused += 1
            elif self.allows(customer):
                allowed.append(customer)
            else:
                unknown += 1
        return ConsentSplit(tuple(allowed), refused, unknown)


def consent_book(connection: duckdb.DuckDBPyConnection, rule: ConsentRule) -> ConsentBook:
    """Read the customers table's consent column (a customer absent from it is unknown)."""
    may_market_sql("x", rule)
    relation = _consent_relation(connection)
    agreed: set[str] = set()
    refused: set[str] = set()
    if relation is not None:
        rows = connection.execute(
            f"SELECT CAST(customer_id AS VARCHAR), consent_marketing FROM ({relation}) "
            "WHERE consent_marketing IS NOT NULL").fetchall()
        for customer, consent in rows:
            (agreed if consent else refused).add(str(customer))
    return ConsentBook(rule, frozenset(agreed), frozenset(refused))


def split_by_consent(
    connection: duckdb.DuckDBPyConnection, customer_ids: Iterable[str], rule: ConsentRule
) -> ConsentSplit:
    """Split ``customer_ids`` (order kept) into those ``rule`` allows and counts of the rest.

    A customer absent from the customers table has an unknown consent.
    """
    return consent_book(connection, rule).split(customer_ids)
