"""The thresholds a drift check judges by: effect sizes that matter, and noise to rule out.

Every signal is read the same way: a change counts only when its *effect size* is at least
the band's threshold **and** it is beyond what sampling noise explains. On large samples
everything is significant, so the effect size decides; on small ones a large-looking effect
can be noise, so the test decides. A moderate change makes the verdict *watch*, a major one
*refit due*.

``alpha`` is the error rate allowed to each *family* of signals (the features, the segment
mix, the segment centres, the customers who fit no segment, the fit quality): a family of
``m`` tests (one per feature, two per segment) holds each to ``alpha / m`` (Bonferroni), so
that a check reading dozens of signals does not cry wolf for the number of them.

Examples
--------
>>> thresholds = DriftThresholds(psi_watch=0.15)
>>> thresholds.psi_watch, thresholds.psi_refit
(0.15, 0.25)
>>> DriftThresholds(psi_watch=0.3)
Traceback (most recent call last):
...
ValueError: psi_watch=0.3 must be below psi_refit=0.25
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["DriftThresholds"]


@dataclass(frozen=True)
class DriftThresholds:
    """Bands of every drift signal (``*_watch``: moderate, ``*_refit``: major).

    Attributes
    ----------
    psi_watch, psi_refit:
        Population stability index of a feature, or of the segment mix (conventional
        bands 0.1 and 0.25).
    distribution_watch, distribution_refit:
        Kolmogorov-Smirnov distance of a numeric feature (the largest gap between the two
        cumulative distributions) or Cramér's V of a categorical one.
    wasserstein_watch, wasserstein_refit:
        Wasserstein distance of a numeric feature in reference standard deviations (on the
        log scale for money and counts, as the model sees them).
    share_watch, share_refit:
        Segment mix: share of customers who would have to change segment to turn one mix
        into the other (total variation distance, 0.03 = 3 percentage points).
    centroid_watch, centroid_refit:
        How far a segment's members moved, in the model's standardised units (noise
        removed), between the two windows.
    silhouette_watch, silhouette_refit:
        Drop of the model's silhouette from the reference to the current window.
    stability_watch, stability_refit:
        Drop of the model's stability (mean adjusted Rand index of refits against the
        model's own segments).
    unfit_watch, unfit_refit:
        Rise of the share of customers who fit no segment well (low confidence or far
        from every centre).
    alpha:
        Error rate allowed to each family of signals (Bonferroni within the family).
    confidence_floor:
        Below this confidence a customer does not fit their segment well.
    distance_quantile:
        Farther from their centre than this quantile of the reference window's members
        of the same segment, a customer does not fit it well.
    bins:
        Quantile bins of a numeric feature's PSI.
    min_customers:
        Fewer customers than this on either side: nothing is concluded.
    min_group_size:
        A segment with fewer members than this in a window shows no figure of its members
        (the workspace's minimum group size, :mod:`mallseg.core.group_size`).
    """

    psi_watch: float = 0.1
    psi_refit: float = 0.25
    distribution_watch: float = 0.1
    distribution_refit: float = 0.25
    wasserstein_watch: float = 0.2
    wasserstein_refit: float = 0.5
    share_watch: float = 0.03
    share_refit: float = 0.10
    centroid_watch: float = 0.2
    centroid_refit: float = 0.5
    silhouette_watch: float = 0.05
    silhouette_refit: float = 0.15
    stability_watch: float = 0.15
    stability_refit: float = 0.3
    unfit_watch: float = 0.03
    unfit_refit: float = 0.10
    alpha: float = 0.01
    confidence_floor: float = 0.5
    distance_quantile: float = 0.99
    bins: int = 10
    min_customers: int = 50
    min_group_size: int = 10

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{item.name}={value!r} must be a number >= 0")
        for signal in ("psi", "distribution", "wasserstein", "share", "centroid",
                       "silhouette", "stability", "unfit"):
            watch, refit = getattr(self, f"{signal}_watch"), getattr(self, f"{signal}_refit")
            if watch >= refit:
                raise ValueError(f"{signal}_watch={watch} must be below {signal}_refit={refit}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha={self.alpha} must be between 0 and 1")
        if not 0 < self.distance_quantile < 1:
            raise ValueError(f"distance_quantile={self.distance_quantile} must be between 0 "
                             "and 1")
        if not isinstance(self.bins, int) or self.bins < 2:
            raise ValueError(f"bins={self.bins!r} must be a whole number >= 2")

    def band(self, signal: str, effect: float, p_value: float, tests: int = 1) -> str:
        """``major``, ``moderate`` or ``none`` for an effect of ``signal`` and its p-value.

        ``tests`` is the size of the signal's family (its p-value must be below
        ``alpha / tests``).

        >>> DriftThresholds().band("psi", 0.3, 1e-9), DriftThresholds().band("psi", 0.3, 0.2)
        ('major', 'none')
        >>> DriftThresholds().band("psi", 0.3, 0.005), DriftThresholds().band("psi", 0.3, 0.005, 10)
        ('major', 'none')
        """
        if not p_value < self.alpha / max(1, tests) or math.isnan(effect):
            return "none"
        if effect >= getattr(self, f"{signal}_refit"):
            return "major"
        if effect >= getattr(self, f"{signal}_watch"):
            return "moderate"
        return "none"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form.

        >>> DriftThresholds().to_dict()["alpha"]
        0.01
        """
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DriftThresholds:
        """Thresholds from a mapping; unknown keys are refused with the valid names.

        >>> DriftThresholds.from_dict({"share_watch": 0.05}).share_watch
        0.05
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown drift threshold(s) {', '.join(unknown)}: expected "
                             f"some of {', '.join(sorted(known))}")
        return cls(**values)
