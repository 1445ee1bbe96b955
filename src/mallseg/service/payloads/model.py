"""The served model: its run and its features.

Examples
--------
>>> FeaturePublic(name="frequency", kind="count", meaning="Purchase occasions").kind
'count'
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

__all__ = ["FeaturePublic", "FeaturesPublic", "ModelPublic", "ReadyPublic"]


class FeaturePublic(BaseModel):
    """One feature the model scores on (see the module's example)."""

    name: str
    kind: str = Field(description="numeric, money, count, rate, share, flag or categorical.")
    meaning: str


class FeaturesPublic(BaseModel):
    """The model's features, in the model's order.

    >>> FeaturesPublic(data=[], count=4).count
    4
    """

    data: list[FeaturePublic]
    count: int


class ModelPublic(BaseModel):
    """The segmentation run the service scores with.

    >>> ModelPublic(run_id="0001", method="cluster", lens="value", algorithm="kmeans",
    ...             segments=3, features=["frequency"], reference="Features as of 2026-03-01.",
    ...             reference_time=None, finished_at=None, feature_schema_hash=None).segments
    3
    """

    run_id: str
    method: str
    lens: str | list[str] | None
    algorithm: str | None
    segments: int
    features: list[str]
    reference: str = Field(description="The reference time of the features, in words.")
    reference_time: datetime | None
    finished_at: datetime | None
    feature_schema_hash: str | None


class ReadyPublic(BaseModel):
    """Whether the service can answer: the workspace is open and a run is served.

    >>> ReadyPublic(ready=False, workspace="ws", run_id=None, problem="no run").ready
    False
    """

    ready: bool
    workspace: str
    run_id: str | None
    problem: str | None = None
