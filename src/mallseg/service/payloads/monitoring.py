"""The latest drift check and the model versions.

Examples
--------
>>> ReasonPublic(signal="feature", subject="age", severity="moderate",
...              message="age moved: PSI 0.14").severity
'moderate'
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mallseg.app.insight_views import MonitoringStatus
from mallseg.service.payloads.insights import finite

__all__ = [
    "FeatureDriftPublic",
    "ModelVersionPublic",
    "MonitoringPublic",
    "ReasonPublic",
    "SegmentShiftPublic",
    "WindowPublic",
]


class ReasonPublic(BaseModel):
    """One reason behind the verdict."""

    signal: str = Field(description="feature, segment_mix, centroid, fit, unfit or all.")
    subject: str
    severity: str = Field(description="none, moderate or severe.")
    message: str


class WindowPublic(BaseModel):
    """A period of the data."""

    model_config = ConfigDict(extra="ignore")

    since: datetime | None = None
    until: datetime | None = None
    days: float | None = None


class SegmentShiftPublic(BaseModel):
    """A segment's share of customers in the reference and the current window."""

    model_config = ConfigDict(extra="ignore")

    segment_id: int
    name: str
    reference_share: float | None = None
    current_share: float | None = None
    change: float | None = None
    p_value: float | None = None


class FeatureDriftPublic(BaseModel):
    """How far one feature moved between the windows."""

    model_config = ConfigDict(extra="ignore")

    feature: str
    kind: str | None = None
    in_model: bool | None = None
    psi: float | None = Field(None, description="Population stability index.")
    test: str | None = Field(None, description="The two-sample test (ks, chi2).")
    p_value: float | None = None
    reference_centre: float | str | None = Field(
        None, description="Median (a category: the most common value) before.")
    current_centre: float | str | None = Field(None, description="The same, now.")
    reference_missing: float | None = None
    current_missing: float | None = None
    severity: str | None = None


class ModelVersionPublic(BaseModel):
    """A segmentation run as a model version."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    created_at: datetime | None = None
    source: str = Field(description="fit, refit or rollback.")
    parent_run_id: str | None = None
    family: str
    algorithm: str | None = None
    lens: str
    current: bool
    segments: dict[str, str] = Field(description="Segment id -> name.")
    note: str = ""


class MonitoringPublic(BaseModel):
    """The latest drift check (``mallseg monitor``): verdict, reasons, windows, versions.

    ``data`` pages the features' drift (``count``: every feature checked); the segment
    shares and the model versions come whole.
    """

    monitor_run_id: str = Field(description="The check's own run.")
    checked_at: datetime | None
    run_id: str | None = Field(description="The segmentation run checked.")
    against: str | None = Field(description="The later run compared with (null: the data).")
    verdict: str = Field(description="stable, watch or refit due.")
    summary: str
    reasons: list[ReasonPublic]
    reference: WindowPublic | None
    current: WindowPublic | None
    reference_size: int | None = Field(description="Customers in the reference window.")
    current_size: int | None = Field(description="Customers in the current window.")
    segment_shares: list[SegmentShiftPublic]
    segment_mix_change: float | None = Field(
        description="Total variation between the windows' segment shares (0-1).")
    fit: str | None = Field(description="The model's fit in both windows, in words.")
    unfit: str | None = Field(description="Customers who fit no segment well, in words.")
    versions: list[ModelVersionPublic]
    data: list[FeatureDriftPublic]
    count: int

    @classmethod
    def from_status(cls, status: MonitoringStatus, *, offset: int = 0, limit: int = 100
                    ) -> MonitoringPublic:
        """The body of the latest check."""
        report: dict[str, Any] = finite(status.report)
        windows = finite(status.windows or {})
        mix = report.get("segment_mix") or {}
        features = report.get("features") or []
        return cls(
            monitor_run_id=status.monitor_run_id, checked_at=status.checked_at,
            run_id=status.run_id, against=status.against, verdict=status.verdict,
            summary=status.summary,
            reasons=[ReasonPublic.model_validate(r) for r in status.reasons],
            reference=windows.get("reference"), current=windows.get("current"),
            reference_size=report.get("reference_size"),
            current_size=report.get("current_size"),
            segment_shares=mix.get("shares") or [],
            segment_mix_change=mix.get("total_variation"),
            fit=(report.get("fit") or {}).get("sentence"),
            unfit=(report.get("unfit") or {}).get("sentence"),
            versions=[ModelVersionPublic.model_validate(v.to_dict()) for v in status.versions],
            data=features[offset:offset + limit], count=len(features))
