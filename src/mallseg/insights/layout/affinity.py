"""Segment x store, segment x category and segment x zone affinity, as lift.

The affinity of a segment for a store is the segment's share of its spend (or receipts, or
visits) that goes to the store, against the population's share: ``lift = (spend of the
segment at the store / spend of the segment) / (spend of everyone at the store / spend of
everyone)``. A lift of 2 means the segment puts twice the population's share of its money
there. The population is every segmented customer.

Minimum count
    A cell is shown only when at least ``min_customers`` customers of the segment make it
    up (one big spender is not a segment's taste). Smaller cells keep their customer
    count and status ``too_few``; their value, shares and lift are withheld (``None``).

Everything is aggregated in DuckDB; one row per segment x item comes back.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute('''CREATE TABLE p AS SELECT * FROM (VALUES
...     ('c1', 'A', 'S1', 30.0), ('c2', 'A', 'S1', 30.0), ('c3', 'A', 'S2', 40.0),
...     ('c4', 'B', 'S2', 90.0), ('c5', 'B', 'S1', 10.0))
...     t(customer_id, segment, store_id, amount)''')
>>> table = affinity_table(con, "p", item="store_id", dimension="store", measure="spend",
...                        min_customers=2)
>>> cell = table.cell("A", "S1")
>>> (cell.customers, cell.segment_share, cell.population_share, cell.lift)
(2, 0.6, 0.35, 1.7143)
>>> table.cell("B", "S1").status, table.cell("B", "S1").lift
('too_few', None)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import duckdb
import pandas as pd

__all__ = ["AffinityCell", "AffinityTable", "Measure", "affinity_table"]

Measure = Literal["spend", "receipts", "visits"]
"""What a share is a share of: money spent, receipts (purchase lines) or visits."""

_ROUND = 4


@dataclass(frozen=True)
class AffinityCell:
    """One segment x item cell.

    Attributes
    ----------
    segment, item, label:
        The segment, the item (store id, category or zone) and how people call it (the
        store's name; the item itself otherwise).
    customers:
        Customers of the segment behind the cell (always shown).
    status:
        ``ok``, or ``too_few`` when ``customers < min_customers``: then ``value``,
        ``segment_share``, ``population_share`` and ``lift`` are ``None``.
    value:
        The segment's spend, receipts or visits at the item.
    segment_share, population_share, lift:
        Share of the segment's measure at the item, the population's share, their ratio.
    """

    segment: str
    item: str
    label: str
    customers: int
    status: str
    value: float | None
    segment_share: float | None
    population_share: float | None
    lift: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "segment": self.segment, "item": self.item, "label": self.label,
            "customers": int(self.customers), "status": self.status, "value": self.value,
            "segment_share": self.segment_share, "population_share": self.population_share,
            "lift": self.lift,
        }


@dataclass(frozen=True)
class AffinityTable:
    """Affinity of every segment for every item of one dimension.

    Examples
    --------
    >>> cell = AffinityCell("A", "S1", "Nova Shoes", 40, "ok", 120.0, 0.3, 0.1, 3.0)
    >>> table = AffinityTable("store", "spend", 30, ("A",), (cell,))
    >>> [c.label for c in table.top("A", 3)]
    ['Nova Shoes']
    >>> table.to_frame()[["segment", "item", "lift"]].to_dict("records")
    [{'segment': 'A', 'item': 'S1', 'lift': 3.0}]
    """

    dimension: str
    """``store``, ``category`` or ``zone``."""
    measure: str
    min_customers: int
    segments: tuple[str, ...]
    cells: tuple[AffinityCell, ...]

    def cell(self, segment: str, item: str) -> AffinityCell:
        """The cell of ``segment`` x ``item``.

        Raises
        ------
        KeyError
            When the segment never used the item.
        """
        for cell in self.cells:
            if cell.segment == segment and cell.item == item:
                return cell
        raise KeyError(f"no {self.dimension} cell for segment {segment!r} and {item!r}")

    def top(self, segment: str, n: int = 5) -> list[AffinityCell]:
        """The ``n`` shown cells of ``segment`` with the highest lift."""
        shown = [c for c in self.cells if c.segment == segment and c.lift is not None]
        return sorted(shown, key=lambda c: (-(c.lift or 0.0), c.item))[:n]

    def to_frame(self) -> pd.DataFrame:
        """One row per cell."""
        return pd.DataFrame([c.to_dict() for c in self.cells],
                            columns=list(AffinityCell.__dataclass_fields__))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "dimension": self.dimension, "measure": self.measure,
            "min_customers": int(self.min_customers), "segments": list(self.segments),
            "cells": [c.to_dict() for c in self.cells],
        }


def _value_sql(measure: str, values: dict[str, str] | None) -> str:
    if values is not None:
        return f"sum({values[measure]})"
    if measure == "spend":
        return "sum(amount)"
    return "count(*)"


def affinity_table(
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    *,
    item: str,
    dimension: str,
    measure: Measure,
    min_customers: int,
    label: str | None = None,
    values: dict[str, str] | None = None,
) -> AffinityTable:
    """Compute the affinity of each segment for each value of ``item`` in ``relation``.

    Parameters
    ----------
    connection:
        DuckDB connection.
    relation:
        SQL relation (table name or sub-query) with ``customer_id``, ``segment``, the
        ``item`` column, and ``amount`` when ``measure`` is ``spend``; one row per
        purchase or visit.
    item:
        SQL expression of the item (``store_id``, ``category``, ``zone``); rows where it
        is NULL are left out.
    dimension:
        Name of the dimension, for the result.
    measure:
        ``spend`` (sum of ``amount``), ``receipts`` or ``visits`` (rows).
    min_customers:
        Fewest customers of the segment for a cell to be shown.
    label:
        SQL expression naming the item for people (``any_value`` of it is taken).
    values:
        When ``relation`` is already aggregated (one row per customer x item), the column
        holding each measure (``{"spend": "spend", "receipts": "receipts"}``), summed.

    Returns
    -------
    AffinityTable
    """
    value = _value_sql(measure, values)
    label_sql = f"any_value({label})" if label else "NULL"
    frame = connection.execute(f"""
        WITH per_customer AS (
            SELECT segment, CAST({item} AS VARCHAR) AS item, customer_id,
                {value} AS value, {label_sql} AS label
            FROM {relation} WHERE {item} IS NOT NULL
            GROUP BY segment, CAST({item} AS VARCHAR), customer_id)
        SELECT segment, item, sum(value) AS value, count(*) AS customers,
            any_value(label) AS label
        FROM per_customer GROUP BY segment, item ORDER BY segment, item
    """).fetchdf()
    if frame.empty:
        return AffinityTable(dimension, measure, min_customers, (), ())
    frame["value"] = frame["value"].astype(float)
    seg_total = frame.groupby("segment")["value"].transform("sum")
    item_total = frame.groupby("item")["value"].transform("sum")
    grand = float(frame["value"].sum())
    frame["segment_share"] = frame["value"] / seg_total
    frame["population_share"] = item_total / grand
    frame["lift"] = frame["segment_share"] / frame["population_share"]
    cells = []
    for row in frame.to_dict("records"):
        shown = int(row["customers"]) >= min_customers
        label_text = row["label"] if isinstance(row["label"], str) and row["label"] else row["item"]
        figures = {name: round(float(row[name]), digits) if shown else None
                   for name, digits in (("value", 2), ("segment_share", _ROUND),
                                        ("population_share", _ROUND), ("lift", _ROUND))}
        cells.append(AffinityCell(
            segment=str(row["segment"]), item=str(row["item"]), label=str(label_text),
            customers=int(row["customers"]), status="ok" if shown else "too_few",
            **figures,
        ))
    segments = tuple(sorted(frame["segment"].astype(str).unique()))
    return AffinityTable(dimension, measure, min_customers, segments, tuple(cells))
