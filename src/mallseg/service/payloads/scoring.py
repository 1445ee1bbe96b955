"""Scoring bodies: a customer's feature values in, their segment and its reasons out.

Examples
--------
>>> body = ScoreCreate(features={"monetary_total": 820.5, "frequency": 4})
>>> body.customer_id is None, body.features["frequency"]
(True, 4)
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from mallseg.app.live import Placement

__all__ = [
    "MAX_BATCH",
    "CustomerId",
    "FeatureReasonPublic",
    "ScoreBatchCreate",
    "ScoreCreate",
    "ScorePublic",
    "ScoresPublic",
]

MAX_BATCH = 1000
"""Most customers one batch request may score."""

CustomerId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                              max_length=200, pattern=r"^[^\x00-\x1f]*$")]
"""A customer id as the workspace keeps it (no control characters)."""

class ScoreCreate(BaseModel):
    """One customer to score (see the module's example)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: CustomerId | None = Field(
        None, description="Who this is (optional; given, the score is audited under it).")
    features: dict[str, Any] = Field(
        default_factory=dict, max_length=500,
        json_schema_extra={"additionalProperties": {"type": ["number", "string", "boolean",
                                                                 "null"]}},
        description="Feature name -> value, for the model's features (GET /model/features); "
                    "a feature left out or null is missing, which the model takes into account.")


class ScoreBatchCreate(BaseModel):
    """Several customers to score at once.

    >>> len(ScoreBatchCreate(customers=[{"features": {}}, {"features": {}}]).customers)
    2
    """

    model_config = ConfigDict(extra="forbid")

    customers: list[ScoreCreate] = Field(min_length=1, max_length=MAX_BATCH)


class FeatureReasonPublic(BaseModel):
    """One feature's part in placing the customer (same units as the data).

    >>> FeatureReasonPublic(feature="frequency", customer_value=5.0, segment_value=4.4,
    ...                     population_value=3.1, pull=1.7).pull
    1.7
    """

    feature: str
    customer_value: float | str | None
    segment_value: float | str | None = Field(description="The segment's centre.")
    population_value: float | str | None = Field(description="Everyone's mean (or mode).")
    pull: float = Field(description="Pull toward the segment versus the runner-up (> 0: "
                                    "toward); RFM runs: the R, F or M score.")


class ScorePublic(BaseModel):
    """Where a customer belongs, how surely, and why.

    >>> from mallseg.app.live import Placement
    >>> ScorePublic.from_placement(Placement("0001", 2, "Big spenders", 0.9, 0, "Light", 0.8)
    ...                            ).model_dump()["segment_name"]
    'Big spenders'
    """

    customer_id: str | None
    run_id: str
    segment_id: int = Field(description="-1: in no segment (density models only).")
    segment_name: str
    confidence: float = Field(description="Probability that the customer is in the segment.")
    runner_up: int | None
    runner_up_name: str | None
    margin: float = Field(description=(
        "Probability of the segment minus the runner-up's: near 0 on a boundary; below 0 "
        "when the probabilities favour the runner-up though the model's rule assigns this "
        "segment."))
    segment_size: int | None = Field(description="The run's customers in the segment.")
    features: list[FeatureReasonPublic]

    @classmethod
    def from_placement(cls, placement: Placement) -> ScorePublic:
        """The body of a placement (built as is: a placement is typed already)."""
        reasons = [FeatureReasonPublic.model_construct(
            feature=r.feature, customer_value=r.customer_value, segment_value=r.segment_value,
            population_value=r.population_value, pull=r.pull) for r in placement.features]
        return cls.model_construct(
            customer_id=placement.customer_id, run_id=placement.run_id,
            segment_id=placement.segment_id, segment_name=placement.segment_name,
            confidence=placement.confidence, runner_up=placement.runner_up,
            runner_up_name=placement.runner_up_name, margin=placement.margin,
            segment_size=placement.segment_size, features=reasons)


class ScoresPublic(BaseModel):
    """Scores of a batch, in the order asked.

    >>> ScoresPublic(data=[], count=0).count
    0
    """

    data: list[ScorePublic]
    count: int
