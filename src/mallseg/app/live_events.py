"""Use case: record a customer's visits, purchases and campaign responses, and place them.

Events are validated with the data layer's own rules (ranges and date bounds of
:mod:`mallseg.data.row_checks`, derived amounts and dwell times, references to stores and
campaigns, keys derived from the content as a file's would be: posting the same event
again records it once), inserted in one transaction with an ``ingest_log`` line and an
audit line; then that customer's features are recomputed from their own rows with the
served run's feature schema, and the new assignment is written to ``live_assignments``.
Nothing else is recomputed. The schema is moved forward to the customer's latest event
(never before the run's reference time): at the run's own reference time every new event
would be ignored.

Examples
--------
>>> import tempfile, pathlib
>>> from datetime import datetime
>>> from mallseg.workspace import Workspace
>>> from mallseg.data.ingest import ingest_file
>>> from mallseg.datasets.samples import classic_sample_path
>>> from mallseg.app.segment import SegmentRequest, segment_customers
>>> from mallseg.app.live import LiveModel
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with Workspace.open(folder / "ws") as ws:
...     _ = ingest_file(ws, "customers", classic_sample_path())
...     _ = segment_customers(ws, SegmentRequest(lens="classic", k=5, n_resamples=2))
...     model = LiveModel.load(ws)
...     visit = {"entered_at": datetime(2026, 3, 1, 10), "left_at": datetime(2026, 3, 1, 11)}
...     recorded = record_events(ws, model, "0042", {"visits": [visit]}, actor="k0")
...     again = record_events(ws, model, "0042", {"visits": [visit]}, actor="k0")
>>> recorded.counts, again.counts["visits"]["unchanged"]
({'visits': {'new': 1, 'updated': 0, 'unchanged': 0}}, 1)
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pyarrow as pa

from mallseg.app.live import (
    CustomerNotFoundError,
    CustomerSegment,
    LiveModel,
    Placement,
    customer_segment,
    first_row,
    plain_value,
)
from mallseg.core.schema import CANONICAL_TABLES, Table
from mallseg.core.sql_text import quote_identifier
from mallseg.data.keys import assign_keys, create_key_tables, drop_key_tables
from mallseg.data.merge import merge_valid_rows
from mallseg.data.references import check_references
from mallseg.data.row_checks import check_typed_rows, date_bounds_reason, range_reason
from mallseg.data.staging import TYPED_TABLE
from mallseg.features.build import build_features
from mallseg.workspace import Workspace
from mallseg.workspace.runs import utc_now

__all__ = [
    "EVENT_TABLES",
    "EventProblem",
    "EventsRecorded",
    "EventsRejectedError",
    "record_events",
]

EVENT_TABLES: dict[str, str] = {"visits": "visits", "purchases": "transactions",
                                "responses": "exposures"}
"""Kinds of event a request may carry, and the canonical table each goes to."""

_ARROW_TYPES = {"VARCHAR": pa.string(), "DOUBLE": pa.float64(), "INTEGER": pa.int64(),
                "BOOLEAN": pa.bool_(), "DATE": pa.date32(), "TIMESTAMP": pa.timestamp("us")}


@dataclass(frozen=True)
class EventProblem:
    """Why one posted event was refused: its kind, position, field and the reason.

    >>> EventProblem("purchases", 0, "store_id", "store_id 'S9' is not in stores").field
    'store_id'
    """

    kind: str
    index: int
    field: str
    message: str


class EventsRejectedError(ValueError):
    """Posted events that break the data rules; nothing was recorded.

    >>> str(EventsRejectedError([EventProblem("visits", 2, "left_at",
    ...                                       "left_at is before entered_at")]))
    'visits[2].left_at: left_at is before entered_at'
    """

    def __init__(self, problems: Sequence[EventProblem]) -> None:
        first = problems[0]
        super().__init__(f"{first.kind}[{first.index}].{first.field}: {first.message}")
        self.problems = tuple(problems)


@dataclass(frozen=True)
class EventsRecorded:
    """What recording a customer's events did, and where the customer is now.

    >>> placed = Placement("0001", 2, "Big spenders", 0.93, 0, "Light spenders", 0.88)
    >>> EventsRecorded("C1", {"visits": {"new": 1, "updated": 0, "unchanged": 0}}, None,
    ...                placed, None).to_dict()["placement"]["segment_name"]
    'Big spenders'
    """

    customer_id: str
    counts: dict[str, dict[str, int]]
    previous: CustomerSegment | None
    placement: Placement
    features_as_of: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"customer_id": self.customer_id, "counts": self.counts,
                "previous": self.previous.to_dict() if self.previous else None,
                "placement": self.placement.to_dict(),
                "features_as_of": self.features_as_of.isoformat()
                if self.features_as_of else None}


def record_events(
    workspace: Workspace, model: LiveModel, customer_id: str,
    events: Mapping[str, Sequence[Mapping[str, Any]]], *, actor: str | None = None,
) -> EventsRecorded:
    """Validate and insert ``events`` (kind -> rows of canonical columns) for one customer.

    Rows hold canonical column values already typed (times as naive UTC); ``customer_id``
    comes from the caller. All or nothing: one refused event records none. The module's
    example records a visit twice.

    Raises
    ------
    CustomerNotFoundError
        When the customer is not in the workspace.
    EventsRejectedError
        With every refused event's field and reason.
    """
    con = workspace.connection
    known = first_row(con.execute("SELECT count(*) FROM customers WHERE customer_id = ?",
                        [customer_id]))
    if not known or not known[0]:
        raise CustomerNotFoundError(
            f"customer {customer_id!r} is not in the workspace: ingest the customer first")
    try:
        previous: CustomerSegment | None = customer_segment(workspace, model, customer_id)
    except CustomerNotFoundError:
        previous = None
    started = utc_now()
    ingest_id = f"api-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    con.execute("BEGIN TRANSACTION")
    try:
        counts, problems = {}, []
        for kind, rows in events.items():
            if rows:
                counts[kind], found = _insert_kind(workspace, kind, customer_id, rows,
                                                   ingest_id, started)
                problems.extend(found)
        if problems:
            raise EventsRejectedError(problems)
        _log_events(workspace, ingest_id, customer_id, events, counts, started, actor)
        as_of, placement = _place_customer(workspace, model, customer_id)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return EventsRecorded(customer_id, counts, previous, placement, as_of)


def _insert_kind(
    workspace: Workspace, kind: str, customer_id: str, rows: Sequence[Mapping[str, Any]],
    ingest_id: str, now: datetime,
) -> tuple[dict[str, int], list[EventProblem]]:
    """Check and merge one kind's rows, grouped by the columns each row gives."""
    table = CANONICAL_TABLES[EVENT_TABLES[kind]]
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, row in enumerate(rows):
        given = tuple(c for c in table.column_names if row.get(c) is not None)
        groups.setdefault(given, []).append(index)
    counts = {"new": 0, "updated": 0, "unchanged": 0}
    problems: list[EventProblem] = []
    con = workspace.connection
    for given, indexes in groups.items():
        mapped = {c: c for c in (*given, "customer_id")}
        _stage_rows(workspace, table, customer_id, [rows[i] for i in indexes], indexes)
        try:
            _check_rows(workspace, table, mapped, now)
            found = _problems(workspace, table, kind)
            if not found:
                create_key_tables(con, table, mapped)
                assign_keys(con, table, mapped)
                found = _problems(workspace, table, kind)
            problems.extend(found)
            if not problems:
                for name, number in merge_valid_rows(con, table, mapped, ingest_id).items():
                    counts[name] += number
        finally:
            drop_key_tables(con)
            con.execute(f"DROP TABLE IF EXISTS {TYPED_TABLE}")
    return counts, problems


def _stage_rows(workspace: Workspace, table: Table, customer_id: str,
                rows: Sequence[Mapping[str, Any]], indexes: Sequence[int]) -> None:
    """The rows as the typed table of an ingest unit (canonical columns and ``_reason``)."""
    columns = {
        c.name: pa.array([customer_id if c.name == "customer_id" else row.get(c.name)
                          for row in rows], type=_ARROW_TYPES[c.sql_type])
        for c in table.columns
    }
    columns["_source_file"] = pa.array(["request"] * len(rows), type=pa.string())
    columns["_source_row"] = pa.array(list(indexes), type=pa.int64())
    con = workspace.connection
    con.register("_posted_rows", pa.table(columns))
    try:
        casts = ", ".join(f"CAST({quote_identifier(c.name)} AS {c.sql_type}) AS "
                          f"{quote_identifier(c.name)}" for c in table.columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {TYPED_TABLE} AS SELECT {casts}, "
                    "_source_file, _source_row, '' AS _reason FROM _posted_rows")
    finally:
        con.unregister("_posted_rows")


def _check_rows(workspace: Workspace, table: Table, mapped: Mapping[str, str],
                now: datetime) -> None:
    """The ingest's row checks: ranges, date bounds, row consistency, references."""
    con = workspace.connection
    reasons = [
        date_bounds_reason(column, column.name, now)
        if column.sql_type in ("DATE", "TIMESTAMP") else range_reason(column, column.name,
                                                                      column.name)
        for column in (table.column(name) for name in mapped)
    ]
    first = f"coalesce({', '.join(r for r in reasons if r)}, '')" if any(reasons) else "''"
    if first != "''":
        # one statement for every column: each request pays per query, not per row
        con.execute(f"UPDATE {TYPED_TABLE} SET _reason = {first} WHERE _reason = ''")
    check_typed_rows(con, table, mapped)
    check_references(con, table, register_unknown=False, registered=Counter(),
                     unknown=Counter(), mapped=mapped)


def _problems(workspace: Workspace, table: Table, kind: str) -> list[EventProblem]:
    rows = workspace.connection.execute(
        f"SELECT _source_row, _reason FROM {TYPED_TABLE} WHERE _reason <> '' "
        "ORDER BY _source_row").fetchall()
    return [EventProblem(kind, int(index), _field_of(str(reason), table), str(reason))
            for index, reason in rows]


def _field_of(reason: str, table: Table) -> str:
    """The first column a reason names (``store_id 'S9' is not in stores`` -> store_id)."""
    for word in reason.replace(":", " ").replace("(", " ").split():
        if word in table.column_names:
            return word
    return table.key[0]


def _log_events(workspace: Workspace, ingest_id: str, customer_id: str,
                events: Mapping[str, Sequence[Mapping[str, Any]]],
                counts: Mapping[str, Mapping[str, int]], started: datetime,
                actor: str | None) -> None:
    """One ``ingest_log`` line per table written, and one audit line for the request."""
    source = f"api:{actor or 'unknown'}"
    for kind, count in counts.items():
        rows = events[kind]
        digest = hashlib.sha256(
            json.dumps([dict(r) for r in rows], default=str, sort_keys=True).encode()
        ).hexdigest()
        loaded = sum(count.values())
        workspace.connection.execute(
            "INSERT INTO ingest_log VALUES (?, ?, ?, ?, '{}', ?, ?, ?, ?, ?, 0, ?, ?, "
            "'complete')",
            [f"{ingest_id}-{kind}", EVENT_TABLES[kind], source, digest, len(rows), loaded,
             count["new"], count["updated"], count["unchanged"], started, utc_now()])
    workspace.audit("record_events", customer_id,
                    {"ingest_id": ingest_id, "counts": {k: dict(v) for k, v in counts.items()}},
                    actor=actor)


def _place_customer(workspace: Workspace, model: LiveModel, customer_id: str
                    ) -> tuple[datetime | None, Placement]:
    """Rebuild the customer's features from their own rows and write their live segment."""
    schema = model.artifacts.schema
    as_of = _latest_event(workspace, customer_id, schema.as_of)
    build = build_features(workspace.connection, schema=replace(schema, as_of=as_of),
                           customer_ids=[customer_id])
    row = build.frame.iloc[0]
    record = {f: plain_value(row[f]) if f in row.index else None for f in model.features}
    placement = model.place(record, customer_id=customer_id)
    workspace.connection.execute(
        "INSERT OR REPLACE INTO live_assignments VALUES (?, ?, ?, ?, ?, ?)",
        [customer_id, placement.run_id, placement.segment_id, placement.segment_name,
         placement.confidence, utc_now()])
    return as_of, placement


def _latest_event(workspace: Workspace, customer_id: str, floor: datetime | None
                  ) -> datetime | None:
    """The customer's latest event time, never before ``floor`` (the run's reference)."""
    parts = [f"SELECT max({column}) AS t FROM {table} WHERE customer_id = $1"
             for table, column in (("transactions", "purchased_at"), ("visits", "entered_at"),
                                   ("exposures", "sent_at"), ("exposures", "redeemed_at"))]
    row = first_row(workspace.connection.execute(
        f"SELECT max(t) FROM ({' UNION ALL '.join(parts)})", [customer_id]))
    latest = row[0] if row else None
    if latest is None:
        return floor
    return latest if floor is None else max(floor, latest)
