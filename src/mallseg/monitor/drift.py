"""One drift check on a (reference, current) pair: every signal, one verdict, its reasons.

:func:`check_drift` reads the two windows' features and the fitted model and measures:

1. each feature's drift (:mod:`mallseg.monitor.feature_drift`);
2. the segment mix, each segment's centroid shift and the customers who fit no segment well
   (:mod:`mallseg.monitor.segment_drift`);
3. the model's fit quality on both windows (:mod:`mallseg.monitor.fit_quality`).

The verdict is **refit due** when any signal of the model is major, **watch** when one is
moderate, **stable** otherwise; features the model does not use are reported but do not
decide (refitting would not change what they do). Every moderate or major signal is a
reason; a stable verdict says how far the largest signals stayed from their bands.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from mallseg.segment.segmenter import Segmenter
>>> rng = np.random.default_rng(0)
>>> def mall(n, rich_share):
...     rich = rng.random(n) < rich_share
...     return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
...                          "annual_income": np.where(rich, 120, 30) + rng.normal(0, 8, n),
...                          "spending_score": np.where(rich, 20, 70) + rng.normal(0, 8, n)})
>>> reference = mall(3000, 0.3)
>>> model = Segmenter(features="classic", n_segments=2).fit(reference)
>>> check_drift(reference, mall(3000, 0.3), model, resamples=2).verdict
'stable'
>>> report = check_drift(reference, mall(3000, 0.45), model, resamples=2)
>>> report.verdict, report.reasons[0].signal
('refit due', 'segment mix')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from mallseg.monitor.feature_drift import SEVERITIES, FeatureDrift, feature_drift
from mallseg.monitor.fit_quality import FitQuality, fit_quality
from mallseg.monitor.model_view import ModelView, SegmentLabels, view_customers
from mallseg.monitor.segment_drift import (
    CentroidShift,
    SegmentMixDrift,
    UnfitShare,
    centroid_shifts,
    segment_mix_drift,
    unfit_share,
)
from mallseg.monitor.thresholds import DriftThresholds
from mallseg.segment.preprocess import output_slices
from mallseg.segment.segmenter import Segmenter

__all__ = ["VERDICTS", "DriftReason", "DriftReport", "Verdict", "check_drift",
           "check_drift_views"]

Verdict = Literal["stable", "watch", "refit due"]
VERDICTS: tuple[Verdict, ...] = ("stable", "watch", "refit due")
"""Verdicts from calmest to most urgent."""


@dataclass(frozen=True)
class DriftReason:
    """One reason behind a verdict: which signal, about what, how bad, in words."""

    signal: str
    subject: str
    severity: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """Plain JSON-ready form.

        >>> DriftReason("feature", "age", "moderate", "age moved").to_dict()["subject"]
        'age'
        """
        return {"signal": self.signal, "subject": self.subject, "severity": self.severity,
                "message": self.message}


@dataclass(frozen=True)
class DriftReport:
    """Everything a drift check found, with its verdict and reasons."""

    verdict: Verdict
    reasons: tuple[DriftReason, ...]
    features: tuple[FeatureDrift, ...]
    segment_mix: SegmentMixDrift
    centroids: tuple[CentroidShift, ...]
    unfit: UnfitShare
    fit: FitQuality
    reference_size: int
    current_size: int
    thresholds: DriftThresholds
    notes: tuple[str, ...] = field(default=())

    def feature(self, name: str) -> FeatureDrift:
        """The drift of one feature.

        Raises
        ------
        KeyError
            When the check did not cover ``name``.
        """
        for drift in self.features:
            if drift.feature == name:
                return drift
        raise KeyError(f"no feature {name!r} in this check")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "verdict": self.verdict, "reasons": [r.to_dict() for r in self.reasons],
            "features": [f.to_dict() for f in self.features],
            "segment_mix": self.segment_mix.to_dict(),
            "centroids": [c.to_dict() for c in self.centroids],
            "unfit": self.unfit.to_dict(), "fit": self.fit.to_dict(),
            "reference_size": self.reference_size, "current_size": self.current_size,
            "thresholds": self.thresholds.to_dict(), "notes": list(self.notes),
        }


def check_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    segmenter: Segmenter,
    *,
    kinds: Mapping[str, str] | None = None,
    segment_names: Mapping[int, str] | None = None,
    segment_ids: Mapping[int, int] | None = None,
    thresholds: DriftThresholds | None = None,
    resamples: int = 5,
    fit_silhouette: float | None = None,
    fit_stability: float | None = None,
    max_rows: int = 100_000,
    quality_rows: int = 2000,
    random_state: int = 0,
) -> DriftReport:
    """Compare a current window with a reference window through a fitted model.

    Parameters
    ----------
    reference, current:
        The features of each window's customers (one row per customer), computed the same
        way (the run's feature schema over windows of the same length).
    segmenter:
        The fitted model whose drift is checked.
    kinds:
        Feature kinds (a feature schema's); the model's own kinds win for its features.
    segment_names, segment_ids:
        Model label -> name, and -> stable segment id (after refits that kept identities).
    thresholds:
        The bands (default :class:`~mallseg.monitor.thresholds.DriftThresholds`).
    resamples:
        Refits per window for the stability measure (0 skips it).
    fit_silhouette, fit_stability:
        The run's scores at fit time, reported beside the windows'.
    max_rows:
        Customers per window the model-space signals are measured on (a seeded sample).
    quality_rows:
        Customers per window the silhouette and stability are measured on.
    random_state:
        Seed of every sample.

    Raises
    ------
    ValueError
        When a window lacks a feature the model uses.
    """
    model_features = [str(f) for f in segmenter.feature_names_in_]
    missing = [f for f in model_features
               if f not in reference.columns or f not in current.columns]
    if missing:
        raise ValueError(f"the windows lack the model's feature(s) {', '.join(missing)}: "
                         "build both with the run's feature schema")
    ref_view = view_customers(segmenter, reference, max_rows=max_rows,
                              random_state=random_state)
    cur_view = view_customers(segmenter, current, max_rows=max_rows,
                              random_state=random_state + 1)
    return check_drift_views(
        reference, current, ref_view, cur_view, segmenter, kinds=kinds,
        segment_names=segment_names, segment_ids=segment_ids, thresholds=thresholds,
        resamples=resamples, fit_silhouette=fit_silhouette, fit_stability=fit_stability,
        quality_rows=quality_rows, random_state=random_state)


def check_drift_views(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    reference_view: ModelView,
    current_view: ModelView,
    segmenter: Segmenter,
    *,
    kinds: Mapping[str, str] | None = None,
    segment_names: Mapping[int, str] | None = None,
    segment_ids: Mapping[int, int] | None = None,
    thresholds: DriftThresholds | None = None,
    resamples: int = 5,
    fit_silhouette: float | None = None,
    fit_stability: float | None = None,
    quality_rows: int = 2000,
    random_state: int = 0,
) -> DriftReport:
    """:func:`check_drift` on windows already placed in the model's space.

    ``reference_view`` and ``current_view`` are the windows' customers as the model sees
    them (:func:`~mallseg.monitor.model_view.view_customers`, or rows of a larger view);
    the frames give the features' own drift. Useful when many pairs are drawn from one
    placed population.
    """
    thresholds = thresholds or DriftThresholds()
    labels = SegmentLabels(dict(segment_names or {}), dict(segment_ids or {}) or None)
    model_features = [str(f) for f in segmenter.feature_names_in_]
    all_kinds = {**dict(kinds or {}), **dict(segmenter.feature_kinds_)}
    features = feature_drift(reference, current, all_kinds, model_features=model_features,
                             thresholds=thresholds, random_state=random_state)
    ref_view, cur_view = reference_view, current_view
    centres = np.asarray(segmenter.centers_, dtype=np.float64)
    mix = segment_mix_drift(ref_view, cur_view, labels, thresholds)
    shifts = centroid_shifts(ref_view, cur_view, labels, centres,
                             _column_features(segmenter, centres.shape[1]), thresholds)
    unfit = unfit_share(ref_view, cur_view, centres, thresholds)
    quality = fit_quality(ref_view, cur_view, segmenter.model_, thresholds=thresholds,
                          rows=quality_rows, resamples=resamples,
                          fit_silhouette=fit_silhouette, fit_stability=fit_stability,
                          random_state=random_state)
    notes = []
    if ref_view.sampled or cur_view.sampled:
        notes.append(f"segment signals measured on uniform samples of "
                     f"{len(ref_view.labels):,} and {len(cur_view.labels):,} customers")
    if min(len(reference), len(current)) < thresholds.min_customers:
        notes.append(f"fewer than {thresholds.min_customers} customers in a window "
                     f"({len(reference):,} and {len(current):,}): nothing is concluded")
    outside = [f.feature for f in features if not f.in_model and f.severity != "none"]
    if outside:
        notes.append("outside the model, these features shifted: " + ", ".join(outside))
    reasons = _reasons(features, mix, shifts, unfit, quality)
    verdict: Verdict = "stable"
    if any(r.severity == "major" for r in reasons):
        verdict = "refit due"
    elif reasons:
        verdict = "watch"
    if not reasons:
        reasons = (_calm(features, mix, shifts, unfit),)
    return DriftReport(verdict, reasons, features, mix, shifts, unfit, quality, len(reference),
                       len(current), thresholds, tuple(notes))


def _column_features(segmenter: Segmenter, width: int) -> list[str]:
    """The feature behind each column of the model's space."""
    names = [""] * width
    for feature, columns in output_slices(segmenter.preprocessor_).items():
        for column in range(columns.start, columns.stop):
            names[column] = feature
    return names


def _reasons(features: tuple[FeatureDrift, ...], mix: SegmentMixDrift,
             shifts: tuple[CentroidShift, ...], unfit: UnfitShare,
             quality: FitQuality) -> tuple[DriftReason, ...]:
    found = []
    if mix.severity != "none":
        found.append(DriftReason("segment mix", "segments", mix.severity, mix.sentence()))
    if quality.severity != "none":
        found.append(DriftReason("fit quality", "model", quality.severity, quality.sentence()))
    if unfit.severity != "none":
        found.append(DriftReason("unfit customers", "model", unfit.severity, unfit.sentence()))
    found += [DriftReason("centroid", c.name, c.severity, c.sentence()) for c in shifts
              if c.severity != "none"]
    found += [DriftReason("feature", f.feature, f.severity, f.sentence()) for f in features
              if f.in_model and f.severity != "none"]
    found.sort(key=lambda r: -SEVERITIES.index(r.severity))
    return tuple(found)


def _calm(features: tuple[FeatureDrift, ...], mix: SegmentMixDrift,
          shifts: tuple[CentroidShift, ...], unfit: UnfitShare) -> DriftReason:
    model = [f for f in features if f.in_model]
    parts = []
    if model:
        top = max(model, key=lambda f: f.psi)
        parts.append(f"largest feature PSI {top.psi:.3f} ({top.feature})")
    parts.append(f"segment mix moved {mix.total_variation * 100:.1f} percentage points")
    if shifts:
        parts.append(f"largest segment move {shifts[0].shift:.2f} ({shifts[0].name})")
    parts.append(f"customers fitting no segment {unfit.reference_share:.1%} -> "
                 f"{unfit.current_share:.1%}")
    return DriftReason("all", "model", "none",
                       "No signal crossed its band: " + "; ".join(parts) + ".")
