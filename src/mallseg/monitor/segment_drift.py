"""Drift of the segments: their mix, where their members sit, and who fits none of them.

All three read both windows through the same (old) model (:mod:`mallseg.monitor.model_view`):

- **Segment mix**: the chi-square test of the two segment distributions
  (``scipy.stats.chi2_contingency``), their PSI, and as effect size the total variation
  distance (the share of customers who would have to change segment to turn one mix into
  the other), with each segment's share change and its two-proportion test.
- **Centroid shift**: per segment, the distance between the mean of its members in the
  reference window and in the current one, in the model's standardised space. Sampling
  noise is removed (``E|d|^2 = tr(V)`` for a mean difference with covariance ``V``) and its
  p-value uses the Satterthwaite approximation ``|d|^2 ~ c chi2(nu)``.
- **Customers who fit no segment well**: confidence below the floor, farther from their
  centre than the reference window's ``distance_quantile`` of that segment's members, or
  unassigned; the rise of that share, tested one-sided.

Examples
--------
>>> import numpy as np
>>> from mallseg.monitor.model_view import ModelView, SegmentLabels
>>> rng = np.random.default_rng(0)
>>> ref = ModelView(rng.normal(size=(4000, 2)), rng.choice(2, 4000, p=[0.5, 0.5]),
...                 np.ones(4000), 4000)
>>> cur = ModelView(rng.normal(size=(4000, 2)), rng.choice(2, 4000, p=[0.6, 0.4]),
...                 np.ones(4000), 4000)
>>> mix = segment_mix_drift(ref, cur, SegmentLabels({0: "Savers", 1: "Spenders"}))
>>> round(mix.total_variation, 2), mix.severity
(0.11, 'major')
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import chi2, chi2_contingency, norm

from mallseg.monitor.feature_drift import worst
from mallseg.monitor.model_view import ModelView, SegmentLabels
from mallseg.monitor.psi import population_stability_index, psi_p_value
from mallseg.monitor.thresholds import DriftThresholds

__all__ = [
    "CentroidShift",
    "SegmentMixDrift",
    "SegmentShare",
    "UnfitShare",
    "centroid_shifts",
    "segment_mix_drift",
    "unfit_share",
]

_MIN_MEMBERS = 10


@dataclass(frozen=True)
class SegmentShare:
    """One segment's share of customers in each window."""

    segment_id: int
    name: str
    reference_share: float
    current_share: float
    p_value: float

    @property
    def change(self) -> float:
        """Current minus reference share (0.05 = 5 percentage points more)."""
        return self.current_share - self.reference_share

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {**asdict(self), "change": self.change}


@dataclass(frozen=True)
class SegmentMixDrift:
    """How the mix of segments changed (see the module documentation)."""

    shares: tuple[SegmentShare, ...]
    psi: float
    psi_p_value: float
    chi2: float
    p_value: float
    cramers_v: float
    total_variation: float
    severity: str

    def sentence(self) -> str:
        """The change in words: how much of the mix moved, and the largest moves."""
        moved = sorted(self.shares, key=lambda s: -abs(s.change))[:3]
        parts = [f"{s.name} {s.reference_share:.1%} -> {s.current_share:.1%}" for s in moved
                 if abs(s.change) >= 0.005]
        text = (f"The segment mix moved by {self.total_variation * 100:.1f} percentage points "
                f"(PSI {self.psi:.3f}, chi-square p {_p(self.p_value)})")
        return text + (": " + ", ".join(parts) if parts else "")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"shares": [s.to_dict() for s in self.shares], "psi": self.psi,
                "psi_p_value": self.psi_p_value, "chi2": self.chi2, "p_value": self.p_value,
                "cramers_v": self.cramers_v, "total_variation": self.total_variation,
                "severity": self.severity, "sentence": self.sentence()}


@dataclass(frozen=True)
class CentroidShift:
    """How far one segment's members moved between the windows, in the model's space.

    Two readings of one move: the whole centre (``shift``, in the model's units, noise
    removed, tested jointly) and the one feature that moved most against the segment's own
    spread (``feature_effect``: the members' mean difference in within-segment standard
    deviations, tested with Welch's z and a Bonferroni correction over the model's
    columns), which catches a move along a single feature that the joint test dilutes.
    ``features`` lists the features that moved most: (feature, change of the members' mean
    in the model's units, signed for a one-column feature).
    """

    segment_id: int
    name: str
    reference_members: int
    current_members: int
    shift: float
    raw_shift: float
    p_value: float
    shift_from_fit: float
    feature: str
    feature_effect: float
    feature_p_value: float
    features: tuple[tuple[str, float], ...]
    severity: str

    def sentence(self) -> str:
        """The move in words."""
        text = f"Segment {self.name} moved {self.shift:.2f} model units between the windows"
        if self.feature:
            text += (f"; its members' {self.feature} moved {self.feature_effect:+.2f} of the "
                     "segment's spread")
        moved = ", ".join(f"{f} {d:+.2f}" for f, d in self.features[:3])
        return text + (f" (most: {moved})" if moved else "")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        data = asdict(self)
        data["features"] = [{"feature": f, "change": d} for f, d in self.features]
        return {**data, "sentence": self.sentence()}


@dataclass(frozen=True)
class UnfitShare:
    """Customers who fit no segment well, in each window."""

    reference_share: float
    current_share: float
    reference_low_confidence: float
    current_low_confidence: float
    reference_far: float
    current_far: float
    p_value: float
    severity: str

    @property
    def change(self) -> float:
        """Rise of the share (negative: fewer misfits than before)."""
        return self.current_share - self.reference_share

    def sentence(self) -> str:
        """The change in words."""
        return (f"Customers who fit no segment well: {self.reference_share:.1%} -> "
                f"{self.current_share:.1%} (low confidence {self.current_low_confidence:.1%},"
                f" far from every centre {self.current_far:.1%})")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {**asdict(self), "change": self.change, "sentence": self.sentence()}


def segment_mix_drift(
    reference: ModelView, current: ModelView, labels: SegmentLabels,
    thresholds: DriftThresholds | None = None,
) -> SegmentMixDrift:
    """Compare the segment mix of two windows (see the module documentation)."""
    thresholds = thresholds or DriftThresholds()
    segments = sorted(set(np.unique(reference.labels)) | set(np.unique(current.labels)))
    ref_counts = np.array([(reference.labels == s).sum() for s in segments], dtype=float)
    cur_counts = np.array([(current.labels == s).sum() for s in segments], dtype=float)
    n_ref, n_cur = ref_counts.sum(), cur_counts.sum()
    ref_share, cur_share = ref_counts / n_ref, cur_counts / n_cur
    shares = tuple(
        SegmentShare(labels.id_of(s), labels.name_of(s), float(r), float(c),
                     _two_proportions(r, n_ref, c, n_cur, one_sided=False))
        for s, r, c in zip(segments, ref_share, cur_share, strict=True))
    psi = population_stability_index(ref_counts, cur_counts)
    psi_p = psi_p_value(psi, int(n_ref), int(n_cur), len(segments))
    statistic, p_value = 0.0, 1.0
    if len(segments) >= 2:
        test = chi2_contingency(np.vstack([ref_counts, cur_counts]), correction=False)
        statistic, p_value = float(test.statistic), float(test.pvalue)
    total_variation = float(0.5 * np.abs(cur_share - ref_share).sum())
    enough = min(n_ref, n_cur) >= thresholds.min_customers
    severity = worst([thresholds.band("psi", psi, psi_p),
                      thresholds.band("share", total_variation, p_value)]) if enough else "none"
    return SegmentMixDrift(shares, psi, psi_p, statistic, p_value,
                           float(np.sqrt(statistic / (n_ref + n_cur))), total_variation,
                           severity)


def centroid_shifts(
    reference: ModelView, current: ModelView, labels: SegmentLabels,
    centres: np.ndarray, column_features: list[str],
    thresholds: DriftThresholds | None = None,
) -> tuple[CentroidShift, ...]:
    """Shift of every segment's members between the windows, largest first.

    ``centres`` are the model's own centres (for the shift from fit time);
    ``column_features`` names the feature behind each column of the model's space.
    """
    thresholds = thresholds or DriftThresholds()
    out = []
    tests = 2 * len(centres)  # two readings of each segment's move: one family
    for segment in range(len(centres)):
        ref = reference.points[reference.labels == segment]
        cur = current.points[current.labels == segment]
        if min(len(ref), len(cur)) < max(_MIN_MEMBERS, thresholds.min_group_size):
            continue
        delta = cur.mean(axis=0) - ref.mean(axis=0)
        variance = np.cov(ref, rowvar=False) / len(ref) + np.cov(cur, rowvar=False) / len(cur)
        variance = np.atleast_2d(variance)
        trace, trace_sq = float(np.trace(variance)), float(np.sum(variance * variance))
        squared = float(delta @ delta)
        p_value = 1.0
        if trace > 0 and trace_sq > 0:
            scale, dof = trace_sq / trace, trace * trace / trace_sq
            p_value = float(chi2.sf(squared / scale, dof))
        shift = float(np.sqrt(max(0.0, squared - trace)))
        feature, effect, feature_p = _largest_feature_move(ref, cur, delta, column_features)
        enough = min(len(ref), len(cur)) >= thresholds.min_customers
        out.append(CentroidShift(
            labels.id_of(segment), labels.name_of(segment), len(ref), len(cur), shift,
            float(np.sqrt(squared)), p_value,
            float(np.linalg.norm(cur.mean(axis=0) - centres[segment])),
            feature, effect, feature_p, _moved_features(delta, column_features),
            worst([thresholds.band("centroid", shift, p_value, tests),
                   thresholds.band("centroid", abs(effect), feature_p, tests)])
            if enough else "none"))
    out.sort(key=lambda c: -c.shift)
    return tuple(out)


def unfit_share(
    reference: ModelView, current: ModelView, centres: np.ndarray,
    thresholds: DriftThresholds | None = None,
) -> UnfitShare:
    """Share of customers who fit no segment well in each window, and its rise."""
    thresholds = thresholds or DriftThresholds()
    ref_distance = _distance(reference, centres)
    cutoffs = _distance_cutoffs(reference.labels, ref_distance, len(centres),
                                thresholds.distance_quantile)
    parts = []
    for view, distance in ((reference, ref_distance), (current, _distance(current, centres))):
        assigned = view.labels >= 0
        low = assigned & (view.confidence < thresholds.confidence_floor)
        limit = np.where(assigned, cutoffs[np.where(assigned, view.labels, 0)], np.inf)
        far = assigned & (distance > limit)
        unfit = ~assigned | low | far
        parts.append((float(unfit.mean()), float(low.mean()), float(far.mean()), len(unfit)))
    (ref_share, ref_low, ref_far, n_ref), (cur_share, cur_low, cur_far, n_cur) = parts
    p_value = _two_proportions(ref_share, n_ref, cur_share, n_cur, one_sided=True)
    enough = min(n_ref, n_cur) >= thresholds.min_customers
    severity = thresholds.band("unfit", cur_share - ref_share, p_value) if enough else "none"
    return UnfitShare(ref_share, cur_share, ref_low, cur_low, ref_far, cur_far, p_value,
                      severity)


def _distance(view: ModelView, centres: np.ndarray) -> np.ndarray:
    own = centres[np.where(view.labels >= 0, view.labels, 0)]
    return np.sqrt(((view.points - own) ** 2).sum(axis=1))


def _distance_cutoffs(labels: np.ndarray, distance: np.ndarray, k: int,
                      quantile: float) -> np.ndarray:
    """Per segment, the reference members' distance quantile (all members' for small ones)."""
    assigned = labels >= 0
    overall = float(np.quantile(distance[assigned], quantile)) if assigned.any() else np.inf
    cutoffs = np.full(k, overall)
    for segment in range(k):
        members = distance[labels == segment]
        if len(members) >= 100:
            cutoffs[segment] = float(np.quantile(members, quantile))
    return cutoffs


def _largest_feature_move(
    ref: np.ndarray, cur: np.ndarray, delta: np.ndarray, column_features: list[str],
) -> tuple[str, float, float]:
    """The column that moved most in within-segment sds: its feature, effect, p-value."""
    var_ref, var_cur = ref.var(axis=0, ddof=1), cur.var(axis=0, ddof=1)
    varying = (var_ref > 1e-12) & (var_cur > 1e-12)
    if not varying.any():
        return "", 0.0, 1.0
    spread = np.sqrt((var_ref + var_cur) / 2)
    error = np.sqrt(var_ref / len(ref) + var_cur / len(cur))
    z = np.where(varying, np.abs(delta) / np.where(varying, error, 1.0), 0.0)
    column = int(np.argmax(z))
    p_value = min(1.0, float(2 * norm.sf(z[column])) * int(varying.sum()))
    return column_features[column], float(delta[column] / spread[column]), p_value


def _moved_features(delta: np.ndarray, column_features: list[str]) -> tuple[tuple[str, float],
                                                                              ...]:
    moves: dict[str, list[float]] = {}
    for value, feature in zip(delta, column_features, strict=True):
        moves.setdefault(feature, []).append(float(value))
    ranked = sorted(((f, v[0] if len(v) == 1 else float(np.linalg.norm(v)))
                     for f, v in moves.items()), key=lambda item: -abs(item[1]))
    return tuple((f, round(v, 4)) for f, v in ranked[:5])


def _two_proportions(p1: float, n1: float, p2: float, n2: float, *, one_sided: bool) -> float:
    """p-value of a difference between two shares (pooled z-test)."""
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se <= 0:
        return 1.0 if p1 == p2 else 0.0
    z = (p2 - p1) / se
    return float(norm.sf(z) if one_sided else 2 * norm.sf(abs(z)))


def _p(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
