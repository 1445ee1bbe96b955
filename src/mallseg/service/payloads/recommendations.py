"""A customer's suggestions, from the latest stored recommendations.

Examples
--------
>>> from mallseg.app.insight_views import CustomerRecommendations
>>> found = CustomerRecommendations("C1", "0002", None, "store", "ease", (
...     {"rank": 1, "item": "S7", "label": "Elm Cinemas", "score": 0.4, "source": "ease",
...      "reason": "Customers like you ...", "because_of": "S1", "co_customers": 12,
...      "share": 0.3},))
>>> body = CustomerRecommendationsPublic.from_result(found)
>>> body.count, body.data[0].label
(1, 'Elm Cinemas')
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from mallseg.app.insight_views import CustomerRecommendations
from mallseg.service.payloads.insights import finite

__all__ = ["CustomerRecommendationsPublic", "RecommendationPublic"]


class RecommendationPublic(BaseModel):
    """One suggestion, with why (the counts it rests on)."""

    model_config = ConfigDict(extra="ignore")

    rank: int
    item: str = Field(description="The store (or category) id.")
    label: str | None = Field(None, description="Its name.")
    score: float | None = None
    source: str = Field(description="The method that ranked it (ease, co-occurrence, "
                                    "segment_popularity, ...).")
    reason: str = Field(description="Why, in words, with the counts behind it.")
    because_of: str | None = Field(None, description="The store of theirs it follows from.")
    co_customers: int | None = Field(None, description="Customers of both.")
    share: float | None = None


class CustomerRecommendationsPublic(BaseModel):
    """A page of the customer's suggestions, in rank order (``count``: all of them)."""

    customer_id: str
    run_id: str = Field(description="The segmentation run the recommendations were made for.")
    computed_at: datetime | None
    item_kind: str = Field(description="store or category.")
    method: str | None = Field(description="The method chosen on a time split.")
    data: list[RecommendationPublic]
    count: int

    @classmethod
    def from_result(cls, result: CustomerRecommendations, *, offset: int = 0,
                    limit: int = 100) -> CustomerRecommendationsPublic:
        """The body of a customer's recommendations (see the module's example)."""
        items = [finite(dict(i)) for i in result.items]
        return cls(customer_id=result.customer_id, run_id=result.run_id,
                   computed_at=result.computed_at, item_kind=result.item_kind,
                   method=result.method, data=items[offset:offset + limit], count=len(items))
