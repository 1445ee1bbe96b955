"""Event bodies, made from the canonical tables, so that the API and ingest agree.

Each field's type, range and meaning is the column's in :mod:`mallseg.core.schema`.
A visit and a purchase may leave out their id (it is derived from the content, as ingest
derives it); a purchase gives ``amount``, or ``quantity`` and ``unit_price``; a campaign
response names its campaign. Times without a zone are UTC; times with one are converted.

Examples
--------
>>> body = EventsCreate.model_validate({"purchases": [
...     {"purchased_at": "2026-03-01T12:30:00+01:00", "amount": 42.5, "store_id": "S001"}]})
>>> body.purchases[0].purchased_at.isoformat(), body.purchases[0].amount
('2026-03-01T11:30:00', 42.5)
>>> try:
...     EventsCreate.model_validate({"visits": [{"dwell_minutes": 2000}]})
... except ValueError as error:
...     [(e["loc"], e["type"]) for e in error.errors()]
[(('visits', 0, 'entered_at'), 'missing'), (('visits', 0, 'dwell_minutes'), 'less_than_equal')]
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    model_validator,
)

from mallseg.app.live_events import EVENT_TABLES, EventsRecorded
from mallseg.core.schema import CANONICAL_TABLES, Column, Table
from mallseg.service.payloads.scoring import ScorePublic

__all__ = [
    "MAX_EVENTS",
    "AssignmentPublic",
    "EventCountsPublic",
    "EventsCreate",
    "EventsRecordedPublic",
    "PurchaseCreate",
    "ResponseCreate",
    "VisitCreate",
]

MAX_EVENTS = 1000
"""Most events one request may record."""


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _iso_text(value: object) -> object:
    """Times and dates are ISO 8601 text (a bare number would be read as epoch seconds)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("expected ISO 8601 text (2026-01-31T14:05:00), not a number")
    return value


_TEXT = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500,
                                         pattern=r"^[^\x00]*$")]
_TYPES: dict[str, Any] = {
    "VARCHAR": _TEXT,
    "DOUBLE": float,
    "INTEGER": int,
    "BOOLEAN": bool,
    "DATE": Annotated[date, BeforeValidator(_iso_text)],
    "TIMESTAMP": Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_utc)],
}


def _field(table: Table, column: Column) -> tuple[Any, Any]:
    kind = _TYPES[column.sql_type]
    if column.sql_type in ("DOUBLE", "INTEGER"):
        kind = Annotated[kind, Field(ge=column.minimum, le=column.maximum,
                                     allow_inf_nan=False)]
    required = column.required and column.name not in table.derived_columns and not (
        table.derived_key and column.name in table.key)
    default = ... if required else None
    return (kind if required else kind | None,
            Field(default, description=column.meaning))


def _event_model(name: str, table: Table, doc: str) -> type[BaseModel]:
    fields = {c.name: _field(table, c) for c in table.columns if c.name != "customer_id"}
    model = create_model(name, __config__=ConfigDict(extra="forbid"), __doc__=doc,
                         **fields)  # type: ignore[call-overload]
    return model


VisitCreate = _event_model("VisitCreate", CANONICAL_TABLES["visits"],
                           "A visit to the mall (columns of the canonical visits table).")
PurchaseCreate = _event_model("PurchaseCreate", CANONICAL_TABLES["transactions"],
                              "A purchase (columns of the canonical transactions table).")
ResponseCreate = _event_model(
    "ResponseCreate", CANONICAL_TABLES["exposures"],
    "A campaign sent, held out, responded to or redeemed (the canonical exposures table).")


class EventsCreate(BaseModel):
    """A customer's new events, by kind; at least one, at most :data:`MAX_EVENTS`.

    >>> EventsCreate.model_validate({"visits": [{"entered_at": "2026-03-01T10:00:00"}]}
    ...                             ).rows()["visits"][0]["entered_at"].hour
    10
    """

    model_config = ConfigDict(extra="forbid")

    visits: list[VisitCreate] = Field(default_factory=list)  # type: ignore[valid-type]
    purchases: list[PurchaseCreate] = Field(default_factory=list)  # type: ignore[valid-type]
    responses: list[ResponseCreate] = Field(default_factory=list)  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _some_events(self) -> EventsCreate:
        total = len(self.visits) + len(self.purchases) + len(self.responses)
        if total == 0:
            raise ValueError("no event given: send visits, purchases or responses")
        if total > MAX_EVENTS:
            raise ValueError(f"{total} events in one request: at most {MAX_EVENTS}")
        return self

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        """Kind -> the events as canonical column values."""
        return {kind: [event.model_dump() for event in getattr(self, kind)]
                for kind in EVENT_TABLES}


class EventCountsPublic(BaseModel):
    """Events of one kind: new, changed (a response to a known exposure), already there.

    >>> EventCountsPublic(new=2, updated=0, unchanged=1).unchanged
    1
    """

    new: int
    updated: int
    unchanged: int


class AssignmentPublic(BaseModel):
    """A customer's segment before the events.

    >>> AssignmentPublic(run_id="0001", segment_id=1, segment_name="Light spenders",
    ...                  confidence=0.8, source="run").source
    'run'
    """

    run_id: str
    segment_id: int
    segment_name: str
    confidence: float
    source: str = Field(description="live (from earlier events) or run (the run's).")


class EventsRecordedPublic(BaseModel):
    """What was recorded and where the customer is now (built by :meth:`from_result`).

    >>> from mallseg.app.live import Placement
    >>> from mallseg.app.live_events import EventsRecorded
    >>> done = EventsRecorded("C1", {"visits": {"new": 1, "updated": 0, "unchanged": 0}}, None,
    ...                       Placement("0001", 2, "Big spenders", 0.9, None, None, 0.9), None)
    >>> EventsRecordedPublic.from_result(done).assignment.segment_name
    'Big spenders'
    """

    customer_id: str
    counts: dict[str, EventCountsPublic]
    previous: AssignmentPublic | None
    assignment: ScorePublic
    features_as_of: datetime | None

    @classmethod
    def from_result(cls, result: EventsRecorded) -> EventsRecordedPublic:
        """The body of a recording."""
        previous = result.previous
        return cls(
            customer_id=result.customer_id,
            counts={k: EventCountsPublic(**v) for k, v in result.counts.items()},
            previous=AssignmentPublic(
                run_id=previous.run_id, segment_id=previous.segment_id,
                segment_name=previous.segment_name, confidence=previous.confidence,
                source=previous.source) if previous else None,
            assignment=ScorePublic.from_placement(result.placement),
            features_as_of=result.features_as_of,
        )
