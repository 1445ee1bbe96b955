"""Segments and a customer's place in one.

Examples
--------
>>> SegmentPublic(segment_id=0, name="Big spenders", size=196, share=0.49, description="",
...               profile={"mean_monetary_total": 797.2}).share
0.49
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from mallseg.app.live import CustomerSegment

__all__ = ["CustomerSegmentPublic", "MakeupPublic", "MakeupRowPublic", "SegmentPublic",
           "SegmentsPublic"]


class SegmentPublic(BaseModel):
    """A segment of a run: its size and what sets it apart (see the module's example)."""

    segment_id: int
    name: str
    size: int = Field(description="Customers in the segment when the run was made.")
    share: float = Field(description="Their share of all customers (0-1).")
    description: str
    profile: dict[str, Any] = Field(
        description="Means against the population, top categories, peak time band, and "
                    "coverage (the share of its customers the figures rest on); only "
                    "``{\"suppressed\": true}`` for a segment under the minimum group size.")


class MakeupRowPublic(BaseModel):
    """One segment x attribute x group of the make-up table.

    Its figures are ``null`` when the cell holds fewer customers than the minimum group size.
    """

    segment: str
    attribute: str = Field(description="``gender`` or ``age band``.")
    group: str
    customers: int | None
    segment_size: int
    share: float | None = Field(description="Share of the segment's customers in the group.")
    population_share: float | None
    difference_points: float | None


class MakeupPublic(BaseModel):
    """Each segment's make-up by gender and age band against the population.

    >>> MakeupPublic(run_id="0001", rows=[], flags=[], population=10, proxy_points=20.0,
    ...              min_segment=30).population
    10
    """

    run_id: str
    rows: list[MakeupRowPublic]
    flags: list[str] = Field(description="Segments whose share of a group exceeds the "
                                         "population's by ``proxy_points`` or more.")
    population: int
    proxy_points: float
    min_segment: int


class SegmentsPublic(BaseModel):
    """A page of a run's segments.

    >>> SegmentsPublic(run_id="0001", data=[], count=3).count
    3
    """

    run_id: str
    data: list[SegmentPublic]
    count: int


class CustomerSegmentPublic(BaseModel):
    """A known customer's segment and that segment's profile.

    >>> from mallseg.app.live import CustomerSegment
    >>> found = CustomerSegment("C1", "0001", 2, "Big spenders", 0.9, "live", None)
    >>> CustomerSegmentPublic.from_result(found).source
    'live'
    """

    customer_id: str
    run_id: str
    segment_id: int
    segment_name: str
    confidence: float
    source: Literal["live", "run"] = Field(
        description="live: placed again after their latest events; run: as the run placed "
                    "them.")
    updated_at: datetime | None
    profile: dict[str, Any]

    @classmethod
    def from_result(cls, result: CustomerSegment) -> CustomerSegmentPublic:
        """The body of a look-up."""
        return cls.model_validate(result.to_dict())
