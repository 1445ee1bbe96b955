"""What :func:`~mallseg.insights.loyalty.drivers.loyalty_drivers` finds, as values.

A :class:`Driver` is one feature that goes with coming back in a segment beyond noise;
:class:`SegmentDrivers` the drivers of one segment (or why there are none);
:class:`LoyaltyDrivers` all segments with the model they come from.

Examples
--------
>>> Driver("visits_per_month", "Visits to the mall per month", 0.05, 0.01, 0.2).phrase()
'higher visits to the mall per month'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CLEAR_EFFECT", "Driver", "LoyaltyDrivers", "SegmentDrivers"]

CLEAR_EFFECT = 0.01
"""Smallest change in the chance of coming back (1 point) that is given a direction."""


@dataclass(frozen=True)
class Driver:
    """One feature that goes with coming back in a segment, beyond noise.

    Attributes
    ----------
    feature, meaning:
        The feature and its meaning from the feature catalog.
    importance, importance_se:
        Mean drop in ROC AUC when the feature is shuffled, and its standard error.
    effect:
        Change in the predicted chance of coming back from the 10th to the 90th percentile
        of the feature in the segment (numbers), or from the lowest to the highest level
        (categories).
    higher, lower:
        For a category: the levels with the highest and lowest predicted chance.
    """

    feature: str
    meaning: str
    importance: float
    importance_se: float
    effect: float
    higher: str | None = None
    lower: str | None = None

    def phrase(self) -> str:
        """The driver in a few words: "more visits to the mall per month" and the like.

        Examples
        --------
        >>> Driver("age", "Age", 0.02, 0.004, -0.08).phrase()
        'lower age'
        >>> Driver("loyalty_tier", "Loyalty-programme tier", 0.03, 0.005, 0.2, "gold",
        ...        "none").phrase()
        'loyalty-programme tier gold (rather than none)'
        """
        meaning = self.meaning[0].lower() + self.meaning[1:]
        if abs(self.effect) < CLEAR_EFFECT:
            return f"{meaning} (no clear direction)"
        if self.higher is not None:
            return f"{meaning} {self.higher} (rather than {self.lower})"
        return f"{'higher' if self.effect > 0 else 'lower'} {meaning}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "feature": self.feature,
            "meaning": self.meaning,
            "importance": float(self.importance),
            "importance_se": float(self.importance_se),
            "effect": float(self.effect),
            "higher": self.higher,
            "lower": self.lower,
            "phrase": self.phrase(),
        }


@dataclass(frozen=True)
class SegmentDrivers:
    """The drivers of coming back in one segment, or why there are none to report.

    Attributes
    ----------
    segment:
        The segment label.
    customers:
        Evaluation customers of the segment the importances are computed on.
    return_rate:
        Share of them who came back.
    auc:
        ROC AUC of the model on them (NaN when only one outcome occurs).
    noise_importance:
        Importance of the pure-noise column: the bar a feature has to clear.
    drivers:
        Features above the bar, most important first.
    summary:
        The finding in one sentence.
    """

    segment: Any
    customers: int
    return_rate: float
    auc: float
    noise_importance: float
    drivers: tuple[Driver, ...]
    summary: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        segment = self.segment.item() if isinstance(self.segment, np.generic) else self.segment
        return {
            "segment": segment,
            "customers": int(self.customers),
            "return_rate": float(self.return_rate),
            "auc": None if not np.isfinite(self.auc) else float(self.auc),
            "noise_importance": float(self.noise_importance),
            "drivers": [d.to_dict() for d in self.drivers],
            "summary": self.summary,
        }


@dataclass(frozen=True)
class LoyaltyDrivers:
    """Drivers of coming back for every segment, with the model they come from.

    Attributes
    ----------
    target:
        What "coming back" means here, in words.
    features:
        Features the model was given.
    train_customers, test_customers:
        Customers the model was fitted on and evaluated on.
    auc:
        ROC AUC on all evaluation customers.
    segments:
        One entry per segment, in segment order.
    """

    target: str
    features: tuple[str, ...]
    train_customers: int
    test_customers: int
    auc: float
    segments: tuple[SegmentDrivers, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "target": self.target,
            "model": "HistGradientBoostingClassifier",
            "features": list(self.features),
            "train_customers": int(self.train_customers),
            "test_customers": int(self.test_customers),
            "auc": None if not np.isfinite(self.auc) else float(self.auc),
            "segments": [s.to_dict() for s in self.segments],
        }
