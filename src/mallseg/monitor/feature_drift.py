"""Drift of each feature between a reference and a current window.

For every feature present on both sides:

- **PSI** over the reference's quantile bins (numeric) or the categories (categorical),
  missing values in a bin of their own (:mod:`mallseg.monitor.psi`);
- numeric features: the **Kolmogorov-Smirnov** distance (``scipy.stats.ks_2samp``) and the
  **Wasserstein** distance (``scipy.stats.wasserstein_distance``) in reference standard
  deviations, money and counts on the log scale the model uses;
- categorical features and 0/1 flags: the **chi-square** test of the two category
  distributions (``scipy.stats.chi2_contingency``) with **Cramér's V** as its effect size.

Each effect is banded by :class:`~mallseg.monitor.thresholds.DriftThresholds` only when its
test says it is beyond noise (the features are one family: each test is held to ``alpha``
divided by the number of features): the severity is the worst band. The KS and Wasserstein
statistics are computed on a seeded uniform sample of at most ``max_rows`` customers per
side (50,000 by default: their sampling error there is about ``1 / sqrt(max_rows)``, under
0.005, far below any band), and so are the PSI's bin edges and the medians reported; the
PSI counts every customer.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> reference = pd.DataFrame({"customer_id": range(3000), "age": rng.normal(40, 10, 3000),
...                           "gender": rng.choice(["f", "m"], 3000)})
>>> current = pd.DataFrame({"customer_id": range(3000), "age": rng.normal(46, 10, 3000),
...                         "gender": rng.choice(["f", "m"], 3000)})
>>> drifts = {d.feature: d for d in feature_drift(reference, current, {"gender": "categorical"})}
>>> drifts["age"].severity, drifts["gender"].severity
('major', 'none')
>>> print(drifts["age"].sentence())
age: PSI 0.40, KS distance 0.26, Wasserstein 0.65 sd; median 39.4 -> 46 (major)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

from mallseg.monitor.psi import BinnedShares, categorical_psi, numeric_psi, quantile_edges
from mallseg.monitor.thresholds import DriftThresholds
from mallseg.segment.preprocess import LOG_KINDS

__all__ = ["SEVERITIES", "FeatureDrift", "feature_drift", "worst"]

SEVERITIES: tuple[str, ...] = ("none", "moderate", "major")
"""Severities from mildest to worst."""

CATEGORY_KINDS = frozenset({"categorical", "flag"})
ID_COLUMN = "customer_id"


def worst(severities: Iterable[str]) -> str:
    """The worst of ``severities`` (``none`` when empty).

    >>> worst(["none", "major", "moderate"]), worst([])
    ('major', 'none')
    """
    ranked = [SEVERITIES.index(s) for s in severities]
    return SEVERITIES[max(ranked)] if ranked else "none"


@dataclass(frozen=True)
class FeatureDrift:
    """How one feature moved between the reference and the current window.

    Attributes
    ----------
    feature, kind:
        Feature name and preprocessing kind (``categorical`` and ``flag`` are tested as
        categories).
    in_model:
        Whether the model segments on it (only those decide the verdict).
    reference_size, current_size:
        Customers on each side.
    psi, psi_p_value:
        Population stability index and the probability of at least that PSI by chance.
    test:
        ``ks`` (numeric) or ``chi2`` (categories).
    distance, p_value:
        KS distance or Cramér's V, and the test's p-value.
    wasserstein:
        Numeric features: Wasserstein distance in reference standard deviations.
    reference_missing, current_missing:
        Share of customers without a value.
    reference_centre, current_centre:
        Median (numeric) or most frequent category.
    severity:
        ``none``, ``moderate`` or ``major``.
    shares:
        The binned counts behind the PSI.
    """

    feature: str
    kind: str
    in_model: bool
    reference_size: int
    current_size: int
    psi: float
    psi_p_value: float
    test: str
    distance: float
    p_value: float
    wasserstein: float | None
    reference_missing: float
    current_missing: float
    reference_centre: float | str | None
    current_centre: float | str | None
    severity: str
    shares: BinnedShares

    def sentence(self) -> str:
        """The change in one line, as a report prints it."""
        parts = [f"PSI {self.psi:.2f}"]
        if self.test == "ks":
            parts.append(f"KS distance {self.distance:.2f}")
            if self.wasserstein is not None:
                parts.append(f"Wasserstein {self.wasserstein:.2f} sd")
            centre = "median"
        else:
            parts.append(f"Cramér's V {self.distance:.2f}")
            centre = "most frequent"
        text = f"{self.feature}: {', '.join(parts)}; {centre} " \
               f"{_show(self.reference_centre)} -> {_show(self.current_centre)}"
        if abs(self.current_missing - self.reference_missing) >= 0.01:
            text += (f"; missing {self.reference_missing:.0%} -> "
                     f"{self.current_missing:.0%}")
        return f"{text} ({self.severity})" if self.severity != "none" else text

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "feature": self.feature, "kind": self.kind, "in_model": self.in_model,
            "reference_size": self.reference_size, "current_size": self.current_size,
            "psi": self.psi, "psi_p_value": self.psi_p_value, "test": self.test,
            "distance": self.distance, "p_value": self.p_value,
            "wasserstein": self.wasserstein, "reference_missing": self.reference_missing,
            "current_missing": self.current_missing,
            "reference_centre": self.reference_centre, "current_centre": self.current_centre,
            "severity": self.severity, "shares": self.shares.to_dict(),
            "sentence": self.sentence(),
        }


def feature_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: Mapping[str, str] | None = None,
    *,
    model_features: Iterable[str] = (),
    thresholds: DriftThresholds | None = None,
    max_rows: int = 50_000,
    random_state: int = 0,
) -> tuple[FeatureDrift, ...]:
    """Drift of every feature the two frames share (``customer_id`` aside).

    Parameters
    ----------
    reference, current:
        One row per customer of each window.
    kinds:
        Feature -> kind (a feature schema's ``kinds``); a feature without one is
        categorical when its values are text, numeric otherwise.
    model_features:
        Features the model uses (marked ``in_model``).
    thresholds:
        The bands (default :class:`DriftThresholds`).
    max_rows:
        Customers per side the KS and Wasserstein statistics are computed on.
    random_state:
        Seed of that sample.

    Returns
    -------
    tuple of FeatureDrift
        Model features first, each group worst first.
    """
    thresholds = thresholds or DriftThresholds()
    kinds = dict(kinds or {})
    in_model = set(model_features)
    shared = [c for c in reference.columns if c != ID_COLUMN and c in current.columns]
    rng = np.random.default_rng(random_state)
    ref_rows = _sample_rows(rng, len(reference), max_rows)
    cur_rows = _sample_rows(rng, len(current), max_rows)
    results = []
    for feature in shared:
        kind = kinds.get(feature) or _kind_of(reference[feature], current[feature])
        if kind in CATEGORY_KINDS:
            result = _categorical(feature, kind, reference[feature], current[feature],
                                  thresholds, len(shared))
        else:
            result = _numeric(feature, kind, reference[feature], current[feature], thresholds,
                              ref_rows, cur_rows, len(shared))
        results.append(replace(result, in_model=feature in in_model))
    results.sort(key=lambda d: (not d.in_model, -SEVERITIES.index(d.severity), -d.psi))
    return tuple(results)


def _kind_of(reference: pd.Series, current: pd.Series) -> str:
    numeric = pd.api.types.is_numeric_dtype(reference) and pd.api.types.is_numeric_dtype(
        current)
    return "numeric" if numeric else "categorical"


def _sample_rows(rng: np.random.Generator, n: int, cap: int) -> np.ndarray | None:
    if n <= cap:
        return None
    return np.sort(rng.choice(n, size=cap, replace=False))


def _numeric(
    feature: str, kind: str, reference: pd.Series, current: pd.Series,
    thresholds: DriftThresholds, ref_rows: np.ndarray | None, cur_rows: np.ndarray | None,
    tests: int,
) -> FeatureDrift:
    ref = pd.to_numeric(reference, errors="coerce").to_numpy(dtype=np.float64)
    cur = pd.to_numeric(current, errors="coerce").to_numpy(dtype=np.float64)
    ref_test = ref if ref_rows is None else ref[ref_rows]
    cur_test = cur if cur_rows is None else cur[cur_rows]
    ref_test, cur_test = ref_test[np.isfinite(ref_test)], cur_test[np.isfinite(cur_test)]
    shares = numeric_psi(ref, cur, thresholds.bins, quantile_edges(ref_test, thresholds.bins))
    distance, p_value, spread = 0.0, 1.0, None
    if min(ref_test.size, cur_test.size) >= thresholds.min_customers:
        test = ks_2samp(ref_test, cur_test, method="asymp")
        distance, p_value = float(test.statistic), float(test.pvalue)
        scaled_ref, scaled_cur = _model_scale(ref_test, kind), _model_scale(cur_test, kind)
        sd = float(np.std(scaled_ref))
        spread = float(wasserstein_distance(scaled_ref, scaled_cur) / sd) if sd > 0 else (
            0.0 if np.allclose(scaled_cur, scaled_ref[0]) else float("inf"))
    psi_p = shares.p_value
    severity = worst([
        thresholds.band("psi", shares.psi, psi_p, tests),
        thresholds.band("distribution", distance, p_value, tests),
        thresholds.band("wasserstein", spread if spread is not None else 0.0, p_value, tests),
    ]) if _enough(ref, cur, thresholds) else "none"
    return FeatureDrift(
        feature, kind, False, len(ref), len(cur), shares.psi, psi_p, "ks", distance, p_value,
        spread, _missing(ref), _missing(cur),
        float(np.median(ref_test)) if ref_test.size else None,
        float(np.median(cur_test)) if cur_test.size else None, severity, shares)


def _categorical(
    feature: str, kind: str, reference: pd.Series, current: pd.Series,
    thresholds: DriftThresholds, tests: int,
) -> FeatureDrift:
    shares = categorical_psi(reference.tolist(), current.tolist())
    table = np.array([shares.reference_counts, shares.current_counts], dtype=np.float64)
    table = table[:, table.sum(axis=0) > 0]
    distance, p_value = 0.0, 1.0
    if table.shape[1] >= 2 and table.sum(axis=1).min() > 0:
        test = chi2_contingency(table, correction=False)
        distance = float(np.sqrt(test.statistic / table.sum()))
        p_value = float(test.pvalue)
    psi_p = shares.p_value
    severity = worst([
        thresholds.band("psi", shares.psi, psi_p, tests),
        thresholds.band("distribution", distance, p_value, tests),
    ]) if _enough(reference, current, thresholds) else "none"
    return FeatureDrift(
        feature, kind, False, len(reference), len(current), shares.psi, psi_p, "chi2",
        distance, p_value, None, float(reference.isna().mean()) if len(reference) else 0.0,
        float(current.isna().mean()) if len(current) else 0.0,
        _mode(shares, "reference"), _mode(shares, "current"), severity, shares)


def _enough(reference: Any, current: Any, thresholds: DriftThresholds) -> bool:
    return min(len(reference), len(current)) >= thresholds.min_customers


def _model_scale(values: np.ndarray, kind: str) -> np.ndarray:
    """Values as the model compares them: money and counts on the log scale."""
    return np.log1p(np.maximum(values, 0.0)) if kind in LOG_KINDS else values


def _missing(values: np.ndarray) -> float:
    return float((~np.isfinite(values)).mean()) if values.size else 0.0


def _mode(shares: BinnedShares, side: str) -> str | None:
    counts = shares.reference_counts if side == "reference" else shares.current_counts
    pairs = [(c, label) for c, label in zip(counts, shares.labels, strict=True)
             if label != "missing" and c > 0]
    return min(pairs, key=lambda p: (-p[0], p[1]))[1] if pairs else None


def _show(value: float | str | None) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return value
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
