"""Decay of fit quality: how well the old model still carves the current customers.

Two measures, each taken on the reference window and on the current one through the same
model, so that the comparison is like with like (the run's own fit-time scores, measured on
other samples, are reported beside them):

- **silhouette** of the model's segments, on a seeded sample of at most ``rows``
  customers (``sklearn.metrics.silhouette_samples``); its drop is tested with the per-
  customer values (Welch's t);
- **stability**: the model's algorithm refitted on subsamples of the window
  (:func:`mallseg.segment.stability.bootstrap_stability`), the adjusted Rand index of each
  refit against the model's own segments; a model whose segments the data no longer
  reproduces loses stability. Its drop is tested with the per-refit values (Welch's t),
  and judged only when measured on at least 500 customers with 3 refits or more: the
  refits of one small sample understate how much the measure varies from sample to
  sample.

Examples
--------
>>> import numpy as np
>>> from sklearn.cluster import KMeans
>>> from mallseg.monitor.model_view import ModelView
>>> rng = np.random.default_rng(0)
>>> blobs = np.vstack([rng.normal(c, 0.3, (300, 2)) for c in (0.0, 3.0)])
>>> labels = np.repeat([0, 1], 300)
>>> blurred = np.vstack([rng.normal(c, 0.3, (300, 2)) for c in (0.0, 0.6)])
>>> ref = ModelView(blobs, labels, np.ones(600), 600)
>>> cur = ModelView(blurred, labels, np.ones(600), 600)
>>> quality = fit_quality(ref, cur, KMeans(n_clusters=2, n_init=2), resamples=2)
>>> quality.reference_silhouette > quality.current_silhouette, quality.severity
(True, 'major')
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import t as student_t
from sklearn.base import clone
from sklearn.metrics import silhouette_samples
from threadpoolctl import threadpool_limits

from mallseg.monitor.feature_drift import worst
from mallseg.monitor.model_view import ModelView
from mallseg.monitor.thresholds import DriftThresholds
from mallseg.segment.stability import bootstrap_stability

__all__ = ["FitQuality", "fit_quality"]

_MIN_STABILITY_ROWS = 500
_MIN_REFITS = 3


@dataclass(frozen=True)
class FitQuality:
    """Silhouette and stability of the old model on each window (``None``: not measured)."""

    reference_silhouette: float | None
    current_silhouette: float | None
    silhouette_p_value: float
    reference_stability: float | None
    current_stability: float | None
    stability_p_value: float
    fit_silhouette: float | None
    fit_stability: float | None
    rows: int
    resamples: int
    severity: str

    @property
    def silhouette_drop(self) -> float:
        """Reference minus current silhouette (0 when not measured)."""
        if self.reference_silhouette is None or self.current_silhouette is None:
            return 0.0
        return self.reference_silhouette - self.current_silhouette

    @property
    def stability_drop(self) -> float:
        """Reference minus current stability (0 when not measured)."""
        if self.reference_stability is None or self.current_stability is None:
            return 0.0
        return self.reference_stability - self.current_stability

    def sentence(self) -> str:
        """Both measures in words."""
        parts = []
        if self.reference_silhouette is not None and self.current_silhouette is not None:
            parts.append(f"silhouette {self.reference_silhouette:.2f} -> "
                         f"{self.current_silhouette:.2f}")
        if self.reference_stability is not None and self.current_stability is not None:
            parts.append(f"stability {self.reference_stability:.2f} -> "
                         f"{self.current_stability:.2f}")
        fit = [f"{name} {value:.2f}" for name, value in
               (("silhouette", self.fit_silhouette), ("stability", self.fit_stability))
               if value is not None]
        text = "Fit of the model: " + (", ".join(parts) or "not measured")
        return text + (f" (at fit time: {', '.join(fit)})" if fit else "")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {**asdict(self), "silhouette_drop": self.silhouette_drop,
                "stability_drop": self.stability_drop, "sentence": self.sentence()}


def fit_quality(
    reference: ModelView,
    current: ModelView,
    clusterer: Any,
    *,
    thresholds: DriftThresholds | None = None,
    rows: int = 2000,
    resamples: int = 5,
    fit_silhouette: float | None = None,
    fit_stability: float | None = None,
    random_state: int = 0,
) -> FitQuality:
    """Silhouette and stability of the model on both windows, and how much they fell.

    Parameters
    ----------
    reference, current:
        The windows as the model sees them.
    clusterer:
        The model's clustering estimator (fitted or not; it is cloned for every refit).
    thresholds:
        The bands (default :class:`DriftThresholds`).
    rows:
        Customers per window the measures are taken on.
    resamples:
        Refits per window for stability (0: stability is not measured).
    fit_silhouette, fit_stability:
        The run's own scores at fit time, reported alongside.
    random_state:
        Seed of every sample and refit.
    """
    thresholds = thresholds or DriftThresholds()
    # Samples are small: threads would cost more in start-up and contention than they save.
    with threadpool_limits(limits=1):
        return _fit_quality(reference, current, clusterer, thresholds, rows, resamples,
                            fit_silhouette, fit_stability, random_state)


def _fit_quality(
    reference: ModelView, current: ModelView, clusterer: Any, thresholds: DriftThresholds,
    rows: int, resamples: int, fit_silhouette: float | None, fit_stability: float | None,
    random_state: int,
) -> FitQuality:
    sil_ref, sil_ref_values = _silhouette(reference, rows, random_state)
    sil_cur, sil_cur_values = _silhouette(current, rows, random_state + 1)
    sil_p = _drop_p_value(sil_ref_values, sil_cur_values)
    stab_ref = stab_cur = None
    stab_p = 1.0
    if resamples > 0:
        ref_aris = _stability(reference, clusterer, rows, resamples, random_state)
        cur_aris = _stability(current, clusterer, rows, resamples, random_state + 1)
        if ref_aris is not None and cur_aris is not None:
            stab_ref, stab_cur = float(np.mean(ref_aris)), float(np.mean(cur_aris))
            stab_p = _drop_p_value(ref_aris, cur_aris)
    enough = min(len(reference.labels), len(current.labels)) >= thresholds.min_customers
    severity = "none"
    if enough:
        drops = []
        if sil_ref is not None and sil_cur is not None:
            drops.append(thresholds.band("silhouette", sil_ref - sil_cur, sil_p, 2))
        judged = resamples >= _MIN_REFITS and min(rows, len(reference.labels),
                                                  len(current.labels)) >= _MIN_STABILITY_ROWS
        if stab_ref is not None and stab_cur is not None and judged:
            drops.append(thresholds.band("stability", stab_ref - stab_cur, stab_p, 2))
        severity = worst(drops)
    return FitQuality(sil_ref, sil_cur, sil_p, stab_ref, stab_cur, stab_p, fit_silhouette,
                      fit_stability, min(rows, len(reference.labels)), resamples, severity)


def _sample(view: ModelView, rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    assigned = np.flatnonzero(view.labels >= 0)
    if len(assigned) > rows:
        assigned = np.sort(np.random.default_rng(seed).choice(assigned, rows, replace=False))
    return view.points[assigned], view.labels[assigned]


def _silhouette(view: ModelView, rows: int, seed: int) -> tuple[float | None, np.ndarray]:
    points, labels = _sample(view, rows, seed)
    if len(np.unique(labels)) < 2 or len(labels) <= len(np.unique(labels)):
        return None, np.empty(0)
    values = silhouette_samples(points, labels)
    return float(values.mean()), values


def _stability(view: ModelView, clusterer: Any, rows: int, resamples: int,
               seed: int) -> np.ndarray | None:
    points, labels = _sample(view, rows, seed)
    if len(np.unique(labels)) < 2 or len(labels) < 20:
        return None
    result = bootstrap_stability(points, clone(clusterer), reference_labels=labels,
                                 n_resamples=resamples, max_rows=None, random_state=seed)
    return np.asarray(result.ari_per_resample, dtype=np.float64)


def _drop_p_value(reference: np.ndarray, current: np.ndarray) -> float:
    """One-sided p-value that the current mean is below the reference mean (Welch's t).

    With a handful of refits the variance is itself uncertain: the t distribution with
    Welch's degrees of freedom says so, where a normal z would not.
    """
    n1, n2 = len(reference), len(current)
    if n1 < 2 or n2 < 2:
        return 1.0
    part1, part2 = np.var(reference, ddof=1) / n1, np.var(current, ddof=1) / n2
    drop = float(np.mean(reference) - np.mean(current))
    if part1 + part2 <= 1e-15:  # equal values on both sides: nothing to estimate
        return 0.0 if drop > 1e-9 else 1.0
    dof = (part1 + part2) ** 2 / (part1 ** 2 / (n1 - 1) + part2 ** 2 / (n2 - 1))
    return float(student_t.sf(drop / np.sqrt(part1 + part2), dof))
