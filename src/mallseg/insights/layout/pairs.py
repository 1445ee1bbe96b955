"""Stores bought from together: support, confidence and lift of every store pair, in DuckDB.

Unit of "together"
    ``basket``: the same basket (``basket_id``; a basket is one customer's purchase
    occasion: in the synthetic mall all receipts of one visit share it, so a basket is a
    visit). ``day``: the same customer on the same calendar day, for exports without
    baskets. ``auto`` takes ``basket`` when at least half of the purchases carry a basket
    id, else ``day``. A store counts once per unit however many receipts it has there.
Figures
    With ``N`` units that hold a purchase at a known store, ``n_A`` of them at store A and
    ``n_AB`` at both A and B: support ``n_AB / N``, confidence ``A -> B = n_AB / n_A``,
    lift ``n_AB * N / (n_A * n_B)`` (1 when the two are independent).
Minimum count
    A pair is listed when at least ``min_together`` units hold both stores; the others are
    only counted (a lift from three baskets is noise).
Distance
    Whether the stores sit in different zones and on different floors (``None`` when the
    stores table does not say).

Units are keyed by a 64-bit hash of (customer, basket) or (customer, day): only the
distinct (unit, store) rows and the per-store and per-pair counts are built, all in the
database; one row per listed pair comes back.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute('''CREATE TABLE p AS SELECT * FROM (VALUES
...     ('c1', 'b1', 'A'), ('c1', 'b1', 'B'), ('c2', 'b2', 'A'), ('c2', 'b2', 'B'),
...     ('c3', 'b3', 'A'), ('c4', 'b4', 'C')) t(customer_id, basket_id, store_id)''')
>>> _ = con.execute("CREATE TABLE s AS SELECT * FROM (VALUES ('A', 'Nova', 'north', 0), "
...                 "('B', 'Fern', 'east', 0), ('C', 'Pine', 'east', 1)) "
...                 "t(store_id, name, zone, floor)")
>>> result = store_pairs(con, "(SELECT *, NULL::TIMESTAMP AS purchased_at FROM p)", "s",
...                      unit="basket", min_together=2)
>>> pair = result.pairs[0]
>>> (pair.name_a, pair.name_b, pair.together, pair.support, pair.confidence_a_to_b,
...  pair.confidence_b_to_a, pair.lift, pair.different_zone)
('Nova', 'Fern', 2, 0.5, 0.6667, 1.0, 1.3333, True)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

import duckdb
import pandas as pd

from mallseg.core.sql_text import quote_identifier

__all__ = ["PairUnit", "StorePair", "StorePairs", "resolve_unit", "store_pairs"]

PairUnit = Literal["auto", "basket", "day"]
_ROUND = 4


@dataclass(frozen=True)
class StorePair:
    """Two stores bought from together (``store_a < store_b``).

    Examples
    --------
    >>> pair = StorePair("A", "B", "Nova", "Fern", "north", "east", 0, 2, 30, 100, 60,
    ...                  0.03, 0.3, 0.5, 5.0)
    >>> pair.different_zone, pair.different_floor, pair.distant
    (True, True, True)
    """

    store_a: str
    store_b: str
    name_a: str
    name_b: str
    zone_a: str | None
    zone_b: str | None
    floor_a: int | None
    floor_b: int | None
    together: int
    """Units (baskets or customer-days) holding purchases at both."""
    units_a: int
    units_b: int
    support: float
    confidence_a_to_b: float
    confidence_b_to_a: float
    lift: float

    @property
    def different_zone(self) -> bool | None:
        """Whether the two stores are in different zones (``None`` if unknown)."""
        if self.zone_a is None or self.zone_b is None:
            return None
        return self.zone_a != self.zone_b

    @property
    def different_floor(self) -> bool | None:
        """Whether the two stores are on different floors (``None`` if unknown)."""
        if self.floor_a is None or self.floor_b is None:
            return None
        return self.floor_a != self.floor_b

    @property
    def distant(self) -> bool:
        """In different zones or on different floors."""
        return bool(self.different_zone) or bool(self.different_floor)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "store_a": self.store_a, "store_b": self.store_b,
            "name_a": self.name_a, "name_b": self.name_b,
            "zone_a": self.zone_a, "zone_b": self.zone_b,
            "floor_a": self.floor_a, "floor_b": self.floor_b,
            "together": int(self.together), "units_a": int(self.units_a),
            "units_b": int(self.units_b), "support": self.support,
            "confidence_a_to_b": self.confidence_a_to_b,
            "confidence_b_to_a": self.confidence_b_to_a, "lift": self.lift,
            "different_zone": self.different_zone, "different_floor": self.different_floor,
        }


@dataclass(frozen=True)
class StorePairs:
    """Every store pair bought from together often enough, highest lift first."""

    unit: str
    """``basket`` or ``day``."""
    units: int
    """Units with a purchase at a known store."""
    multi_store_units: int
    """Units with purchases at two stores or more."""
    min_together: int
    pairs: tuple[StorePair, ...]
    pairs_below_minimum: int
    """Pairs seen together in fewer than ``min_together`` units (not listed)."""

    def top(self, n: int = 10, *, distant_only: bool = False) -> list[StorePair]:
        """The ``n`` listed pairs of highest lift (only distant ones if asked)."""
        chosen = [p for p in self.pairs if p.distant or not distant_only]
        return chosen[:n]

    def pair(self, store_a: str, store_b: str) -> StorePair:
        """The listed pair of the two stores, in either order.

        Raises
        ------
        KeyError
            When the pair is not listed.
        """
        a, b = sorted((store_a, store_b))
        for p in self.pairs:
            if p.store_a == a and p.store_b == b:
                return p
        raise KeyError(f"stores {a!r} and {b!r} are not a listed pair")

    def to_frame(self) -> pd.DataFrame:
        """One row per listed pair."""
        return pd.DataFrame([p.to_dict() for p in self.pairs])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "unit": self.unit, "units": int(self.units),
            "multi_store_units": int(self.multi_store_units),
            "min_together": int(self.min_together),
            "pairs_below_minimum": int(self.pairs_below_minimum),
            "pairs": [p.to_dict() for p in self.pairs],
        }


def resolve_unit(connection: duckdb.DuckDBPyConnection, purchases: str,
                 unit: PairUnit) -> str:
    """``basket`` or ``day`` for ``unit`` (``auto``: baskets if half the purchases have one).

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> resolve_unit(con, "(SELECT NULL AS basket_id)", "auto")
    'day'
    """
    if unit not in ("auto", "basket", "day"):
        raise ValueError(f"unit={unit!r} must be 'auto', 'basket' or 'day'")
    if unit != "auto":
        return unit
    with_basket, total = connection.execute(
        f"SELECT count(basket_id), count(*) FROM {purchases}").fetchall()[0]
    return "basket" if total and with_basket * 2 >= total else "day"


def _unit_key(unit: str) -> str:
    if unit == "basket":
        return "hash(customer_id, basket_id)"
    return "hash(customer_id, CAST(purchased_at AS DATE))"


def store_pairs(
    connection: duckdb.DuckDBPyConnection,
    purchases: str,
    stores: str,
    *,
    unit: PairUnit = "auto",
    min_together: int = 30,
) -> StorePairs:
    """Support, confidence and lift of every pair of stores bought from in one unit.

    Parameters
    ----------
    connection:
        DuckDB connection.
    purchases:
        SQL relation of purchases with ``customer_id``, ``store_id``, ``basket_id`` and
        ``purchased_at``.
    stores:
        SQL relation of stores with ``store_id``, ``name``, ``zone`` and ``floor``.
    unit:
        ``basket``, ``day`` or ``auto`` (see the module notes).
    min_together:
        Fewest units holding both stores for a pair to be listed.

    Returns
    -------
    StorePairs
    """
    if min_together < 1:
        raise ValueError(f"min_together={min_together} must be >= 1")
    chosen = resolve_unit(connection, purchases, unit)
    table = quote_identifier(f"mallseg_pair_units_{uuid.uuid4().hex[:12]}")
    basket_filter = "AND basket_id IS NOT NULL" if chosen == "basket" else \
        "AND purchased_at IS NOT NULL"
    connection.execute(f"""
        CREATE TEMP TABLE {table} AS
        SELECT DISTINCT {_unit_key(chosen)} AS unit_key, CAST(store_id AS VARCHAR) AS store_id
        FROM {purchases} WHERE store_id IS NOT NULL {basket_filter}""")
    try:
        units, multi = connection.execute(f"""
            WITH k AS (SELECT unit_key, count(*) AS n FROM {table} GROUP BY unit_key)
            SELECT count(*), count(*) FILTER (WHERE n > 1) FROM k""").fetchall()[0]
        frame = connection.execute(f"""
            WITH together AS (
                SELECT a.store_id AS store_a, b.store_id AS store_b, count(*) AS together
                FROM {table} a JOIN {table} b
                    ON a.unit_key = b.unit_key AND a.store_id < b.store_id
                GROUP BY ALL),
            per_store AS (SELECT store_id, count(*) AS n FROM {table} GROUP BY store_id),
            s AS (SELECT CAST(store_id AS VARCHAR) AS store_id, any_value(name) AS name,
                         any_value(zone) AS zone, any_value(floor) AS floor
                  FROM {stores} GROUP BY ALL)
            SELECT t.store_a, t.store_b, t.together, pa.n AS units_a, pb.n AS units_b,
                coalesce(sa.name, t.store_a) AS name_a, coalesce(sb.name, t.store_b) AS name_b,
                sa.zone AS zone_a, sb.zone AS zone_b, sa.floor AS floor_a, sb.floor AS floor_b
            FROM together t
            JOIN per_store pa ON pa.store_id = t.store_a
            JOIN per_store pb ON pb.store_id = t.store_b
            LEFT JOIN s sa ON sa.store_id = t.store_a
            LEFT JOIN s sb ON sb.store_id = t.store_b
        """).fetchdf()
    finally:
        connection.execute(f"DROP TABLE IF EXISTS {table}")
    n_units = int(units or 0)
    listed = frame[frame["together"] >= min_together] if not frame.empty else frame
    pairs = []
    for row in listed.to_dict("records"):
        together, n_a, n_b = int(row["together"]), int(row["units_a"]), int(row["units_b"])
        pairs.append(StorePair(
            store_a=str(row["store_a"]), store_b=str(row["store_b"]),
            name_a=str(row["name_a"]), name_b=str(row["name_b"]),
            zone_a=_text(row["zone_a"]), zone_b=_text(row["zone_b"]),
            floor_a=_integer(row["floor_a"]), floor_b=_integer(row["floor_b"]),
            together=together, units_a=n_a, units_b=n_b,
            support=round(together / n_units, 6),
            confidence_a_to_b=round(together / n_a, _ROUND),
            confidence_b_to_a=round(together / n_b, _ROUND),
            lift=round(together * n_units / (n_a * n_b), _ROUND),
        ))
    pairs.sort(key=lambda p: (-p.lift, -p.together, p.store_a, p.store_b))
    return StorePairs(unit=chosen, units=n_units, multi_store_units=int(multi or 0),
                      min_together=min_together, pairs=tuple(pairs),
                      pairs_below_minimum=int(len(frame) - len(listed)))


def _text(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[call-overload]
        return None
    return str(value)


def _integer(value: object) -> int | None:
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return None
    return int(value)  # type: ignore[call-overload]
