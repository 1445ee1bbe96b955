"""Who moved between segments from one snapshot of assignments to the next.

A snapshot is a run's assignments, or the live ones (each customer's live assignment from
that run where events placed them again, the run's own otherwise). The two are joined in
DuckDB (a full outer join on the customer id, so customers who joined or left count too)
and only the transition matrix comes into memory: counts and rates per (from, to) pair,
the biggest flows in words, and, on request, the customers behind a flow written to CSV
or Parquet with the ids the workspace uses (CSV text neutralised against spreadsheet
formulas).

When the two snapshots share segment identities (the same run, its live assignments, or
refits that kept identities) a customer with the same segment id stayed; otherwise ids are
each run's own and a customer stayed when the segment's name is the same.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE segment_assignments (run_id VARCHAR, customer_id VARCHAR, "
...                 "segment_id INTEGER, segment_name VARCHAR, confidence DOUBLE)")
>>> _ = con.execute("INSERT INTO segment_assignments VALUES "
...                 "('1', 'a', 0, 'Savers', 1), ('1', 'b', 0, 'Savers', 1), "
...                 "('1', 'c', 1, 'Spenders', 1), ('2', 'a', 0, 'Savers', 1), "
...                 "('2', 'b', 1, 'Spenders', 1), ('2', 'd', 1, 'Spenders', 1)")
>>> moves = migrate(con, run_snapshot("1"), run_snapshot("2"), aligned=True)
>>> moves.stayed, moves.moved, moves.joined, moves.left
(1, 1, 1, 1)
>>> print(moves.top_flows[0].sentence)
50% of Savers (1 of 2) became Spenders.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from mallseg.core.group_size import GroupSizeRule
from mallseg.core.spreadsheet import neutralised_text_sql
from mallseg.core.sql_text import quote_literal

__all__ = [
    "AssignmentSnapshot",
    "Flow",
    "Migration",
    "MigrationResult",
    "export_movers",
    "live_snapshot",
    "migrate",
    "run_snapshot",
]

_COLUMNS = "customer_id, segment_id, segment_name"


@dataclass(frozen=True)
class AssignmentSnapshot:
    """Where a snapshot's assignments come from: a label and a SELECT of them."""

    label: str
    sql: str
    run_id: str


def run_snapshot(run_id: str) -> AssignmentSnapshot:
    """The assignments a run stored.

    >>> run_snapshot("0003").label
    'run 0003'
    """
    return AssignmentSnapshot(
        f"run {run_id}",
        f"SELECT {_COLUMNS} FROM segment_assignments WHERE run_id = {quote_literal(run_id)}",
        run_id)


def live_snapshot(run_id: str) -> AssignmentSnapshot:
    """Each customer's live assignment from run ``run_id``, else the run's own.

    >>> live_snapshot("0003").label
    'live assignments of run 0003'
    """
    run = quote_literal(run_id)
    sql = (f"SELECT {_COLUMNS} FROM live_assignments WHERE run_id = {run} UNION ALL "
           f"SELECT {_COLUMNS} FROM segment_assignments s WHERE run_id = {run} AND NOT EXISTS "
           f"(SELECT 1 FROM live_assignments l WHERE l.run_id = {run} "
           "AND l.customer_id = s.customer_id)")
    return AssignmentSnapshot(f"live assignments of run {run_id}", sql, run_id)


@dataclass(frozen=True)
class Flow:
    """Customers who went from one segment to another (``None``: not in that snapshot)."""

    from_id: int | None
    from_name: str
    to_id: int | None
    to_name: str
    customers: int
    rate: float
    """Share of the ``from`` segment's customers (of the later snapshot, for newcomers)."""
    stayed: bool

    @property
    def sentence(self) -> str:
        """The flow in words."""
        if self.from_id is None:
            who = "new customer" if self.customers == 1 else "new customers"
            return (f"{self.customers:,} {who} ({self.rate:.0%} of the later snapshot) "
                    f"joined {self.to_name}.")
        base = round(self.customers / self.rate) if self.rate > 0 else 0
        if self.to_id is None:
            return (f"{self.rate:.0%} of {self.from_name} ({self.customers:,} of {base:,}) "
                    "are no longer in the later snapshot.")
        verb = "stayed in" if self.stayed else "became"
        return (f"{self.rate:.0%} of {self.from_name} ({self.customers:,} of {base:,}) "
                f"{verb} {self.to_name}.")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {**asdict(self), "sentence": self.sentence}


@dataclass(frozen=True)
class Migration:
    """The transition between two snapshots of assignments."""

    before: str
    after: str
    aligned: bool
    cells: tuple[Flow, ...]
    """Every (from, to) pair with customers, largest first (those shown)."""
    hidden: tuple[Flow, ...] = ()
    """Pairs of fewer customers than the minimum group size (:meth:`within`): counted in
    the totals, never shown one by one."""
    min_group_size: int | None = None

    def _all(self) -> tuple[Flow, ...]:
        return self.cells + self.hidden

    @property
    def stayed(self) -> int:
        """Customers in both snapshots who kept their segment."""
        return sum(c.customers for c in self._all() if c.stayed)

    @property
    def moved(self) -> int:
        """Customers in both snapshots who changed segment."""
        return sum(c.customers for c in self._all() if not c.stayed and c.from_id is not None
                   and c.to_id is not None)

    @property
    def joined(self) -> int:
        """Customers only in the later snapshot."""
        return sum(c.customers for c in self._all() if c.from_id is None)

    @property
    def left(self) -> int:
        """Customers only in the earlier snapshot."""
        return sum(c.customers for c in self._all() if c.to_id is None)

    def within(self, rule: GroupSizeRule) -> Migration:
        """The migration with every pair of fewer than ``rule.k`` customers hidden.

        >>> m = Migration("a", "b", True, (Flow(0, "A", 0, "A", 50, 0.9, True),
        ...                                Flow(0, "A", 1, "B", 4, 0.1, False)))
        >>> shown = m.within(GroupSizeRule(10))
        >>> len(shown.cells), shown.moved, shown.to_dict()["moved"], shown.to_dict()["hidden_flows"]
        (1, 4, None, 1)
        """
        everything = self._all()
        return Migration(self.before, self.after, self.aligned,
                         tuple(c for c in everything if rule.allows(c.customers)),
                         tuple(c for c in everything if not rule.allows(c.customers)),
                         rule.k)

    @property
    def flows(self) -> tuple[Flow, ...]:
        """Cells of customers who moved, joined or left, largest first."""
        return tuple(c for c in self.cells if not c.stayed)

    @property
    def top_flows(self) -> tuple[Flow, ...]:
        """The five biggest movements between segments (joiners and leavers aside)."""
        return tuple(c for c in self.flows if c.from_id is not None
                     and c.to_id is not None)[:5]

    def matrix(self, *, rates: bool = False) -> pd.DataFrame:
        """The transition matrix: rows from, columns to (``None`` rows/columns: not there).

        With ``rates`` each row is divided by its total (the share of the from segment).
        """
        frame = pd.DataFrame([c.to_dict() for c in self.cells])
        if frame.empty:
            return pd.DataFrame()
        frame["from"] = [_label(i, n) for i, n in zip(frame["from_id"], frame["from_name"],
                                                     strict=True)]
        frame["to"] = [_label(i, n) for i, n in zip(frame["to_id"], frame["to_name"],
                                                   strict=True)]
        table = frame.pivot_table(index="from", columns="to", values="customers",
                                  aggfunc="sum", fill_value=0)
        return table.div(table.sum(axis=1), axis=0) if rates else table

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (totals under the minimum group size are ``None``)."""
        rule = GroupSizeRule(self.min_group_size) if self.min_group_size else None
        hidden_customers = sum(c.customers for c in self.hidden)

        def total(value: int) -> int | None:
            return value if rule is None or rule.allows(value) or value == 0 else None

        return {"before": self.before, "after": self.after, "aligned": self.aligned,
                "stayed": total(self.stayed), "moved": total(self.moved),
                "joined": total(self.joined), "left": total(self.left),
                "cells": [c.to_dict() for c in self.cells],
                "top_flows": [f.to_dict() for f in self.top_flows],
                "min_group_size": self.min_group_size, "hidden_flows": len(self.hidden),
                "hidden_customers": total(hidden_customers)}


@dataclass(frozen=True)
class MigrationResult:
    """Migration between two snapshots, and the file of movers when one was written."""

    migration: Migration
    export_path: Path | None = None
    exported_rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {**self.migration.to_dict(), "export_path": str(self.export_path)
                if self.export_path else None, "exported_rows": self.exported_rows}


def _pairs_sql(before: AssignmentSnapshot, after: AssignmentSnapshot) -> str:
    return (f"WITH a AS ({before.sql}), b AS ({after.sql}) SELECT "
            "coalesce(a.customer_id, b.customer_id) AS customer_id, a.segment_id AS from_id, "
            "a.segment_name AS from_name, b.segment_id AS to_id, b.segment_name AS to_name "
            "FROM a FULL OUTER JOIN b ON a.customer_id = b.customer_id")


def _stayed_sql(aligned: bool) -> str:
    same = "from_id = to_id" if aligned else "from_name = to_name"
    return f"coalesce({same} AND from_id IS NOT NULL AND to_id IS NOT NULL, false)"


def migrate(
    connection: duckdb.DuckDBPyConnection, before: AssignmentSnapshot,
    after: AssignmentSnapshot, *, aligned: bool,
) -> Migration:
    """The transition matrix between two snapshots (see the module documentation)."""
    rows = connection.execute(
        f"WITH p AS ({_pairs_sql(before, after)}), cells AS ("
        f"SELECT from_id, any_value(from_name) AS from_name, to_id, "
        f"any_value(to_name) AS to_name, count(*) AS customers, "
        f"bool_and({_stayed_sql(aligned)}) AS stayed FROM p GROUP BY from_id, to_id) "
        "SELECT *, sum(customers) OVER (PARTITION BY from_id) AS from_total, "
        "sum(customers) FILTER (WHERE to_id IS NOT NULL) OVER () AS after_total "
        "FROM cells ORDER BY customers DESC, from_id NULLS FIRST, to_id NULLS LAST"
    ).fetchall()
    cells = []
    for from_id, from_name, to_id, to_name, customers, stayed, from_total, after_total in rows:
        total = after_total if from_id is None else from_total
        cells.append(Flow(
            None if from_id is None else int(from_id), str(from_name or "not there"),
            None if to_id is None else int(to_id), str(to_name or "not there"),
            int(customers), float(customers) / float(total) if total else 0.0, bool(stayed)))
    return Migration(before.label, after.label, aligned, tuple(cells))


def export_movers(
    connection: duckdb.DuckDBPyConnection, before: AssignmentSnapshot,
    after: AssignmentSnapshot, path: Path, *, aligned: bool,
    flow: tuple[int | None, int | None] | None = None,
) -> int:
    """Write the customers who moved (or those of one ``flow``: from id, to id) to a file.

    CSV or Parquet by the file's suffix; columns customer_id, from_segment_id,
    from_segment, to_segment_id, to_segment. Returns the rows written.
    """
    where = f"NOT {_stayed_sql(aligned)}"
    if flow is not None:
        where = " AND ".join(
            f"{column} IS NULL" if value is None else f"{column} = {int(value)}"
            for column, value in (("from_id", flow[0]), ("to_id", flow[1])))
    parquet = path.suffix.lower() in (".parquet", ".pq")
    text = (lambda c: c) if parquet else neutralised_text_sql
    select = (f"SELECT {text('customer_id')} AS customer_id, from_id AS from_segment_id, "
              f"{text('from_name')} AS from_segment, to_id AS to_segment_id, "
              f"{text('to_name')} AS to_segment FROM ({_pairs_sql(before, after)}) "
              f"WHERE {where} ORDER BY customer_id")
    path.parent.mkdir(parents=True, exist_ok=True)
    file_format = "PARQUET" if parquet else "CSV, HEADER"
    connection.execute(f"COPY ({select}) TO {quote_literal(path)} (FORMAT {file_format})")
    count = connection.execute(
        f"SELECT count(*) FROM ({_pairs_sql(before, after)}) WHERE {where}").fetchall()
    return int(count[0][0])


def _label(segment: object, name: object) -> str:
    if segment is None or pd.isna(segment):  # type: ignore[call-overload]
        return "(not there)"
    return f"{int(segment)} {name}"  # type: ignore[call-overload]
