"""What goes with coming back, segment by segment, in words the numbers support.

One gradient-boosting classifier (scikit-learn's ``HistGradientBoostingClassifier``, which
takes missing values and categories as they are) learns "comes back" from the customer
feature table on a training share of the customers. On the remaining customers of each
segment, permutation importance (the drop in ROC AUC when one feature's values are
shuffled, ``sklearn.inspection.permutation_importance``) says how much the model leans on
each feature there. A column of pure noise is fitted alongside the real features: a
feature is reported only when its importance, less two standard errors over the
repeats, is above zero and above the noise column's importance plus two standard errors.

The direction of each reported feature is the model's: the mean predicted chance of
coming back with the feature set to the segment's 90th percentile, minus that with it set
to the 10th (for a category, the levels with the highest and lowest chance). A change of
less than one percentage point is reported as no clear direction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from mallseg.features.catalog import describe_feature
from mallseg.insights.loyalty.driver_findings import (
    Driver,
    LoyaltyDrivers,
    SegmentDrivers,
)

__all__ = ["Driver", "LoyaltyDrivers", "SegmentDrivers", "loyalty_drivers"]

logger = logging.getLogger(__name__)

NOISE_COLUMN = "__noise__"


def _meaning(name: str) -> str:
    try:
        return describe_feature(name).meaning
    except KeyError:
        return name.replace("_", " ")


@dataclass(frozen=True)
class _Design:
    """The features as a float matrix: categories as integer codes, missing as NaN."""

    matrix: np.ndarray
    names: tuple[str, ...]
    levels: dict[int, tuple[str, ...]]
    """Column position -> category labels, for the categorical columns."""

    @property
    def categorical(self) -> np.ndarray:
        mask = np.zeros(len(self.names), dtype=bool)
        mask[list(self.levels)] = True
        return mask


_MAX_LEVELS = 250  # HistGradientBoosting takes at most 255 bins per feature


def _design(features: pd.DataFrame) -> _Design:
    columns: list[np.ndarray] = []
    names: list[str] = []
    levels: dict[int, tuple[str, ...]] = {}
    for column in features.columns:
        if column == "customer_id":
            continue
        values = features[column]
        if values.notna().sum() == 0:
            continue
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            columns.append(values.astype(float).to_numpy())
        else:
            text = values.astype(object).where(values.notna(), None)
            text = text.map(lambda v: None if v is None else str(v))
            counts = text.value_counts()
            kept = tuple(sorted(counts.index[:_MAX_LEVELS]))
            codes = pd.Categorical(text, categories=list(kept)).codes.astype(float)
            codes[codes < 0] = np.nan
            levels[len(names)] = kept
            columns.append(codes)
        names.append(str(column))
    matrix = np.column_stack(columns) if columns else np.empty((len(features), 0))
    return _Design(matrix, tuple(names), levels)


def loyalty_drivers(
    features: pd.DataFrame,
    returned: pd.Series,
    segments: pd.Series,
    *,
    target: str,
    n_repeats: int = 5,
    test_size: float = 0.4,
    min_segment_customers: int = 60,
    max_train_customers: int = 200_000,
    max_segment_customers: int = 2_000,
    random_state: int = 0,
) -> LoyaltyDrivers:
    """Which features go with coming back in each segment, with the sign of the effect.

    Parameters
    ----------
    features:
        One row per customer with ``customer_id`` and features (as
        :func:`~mallseg.features.build.build_customer_features` returns), computed before
        the period in which ``returned`` is observed.
    returned:
        ``customer_id -> bool``: whether the customer came back. Only customers present in
        ``features``, ``returned`` and ``segments`` are used.
    segments:
        ``customer_id -> segment label``.
    target:
        What ``returned`` means, in words, for the result.
    n_repeats:
        Shuffles per feature in the permutation importance.
    test_size:
        Share of customers held out of the fit; importances are computed on them.
    min_segment_customers:
        A segment with fewer evaluation customers (or only one outcome) gets no drivers,
        and its summary says why.
    max_train_customers, max_segment_customers:
        Caps on the rows used for the fit and per segment for the importances (random
        samples beyond them), to keep the cost bounded on millions of customers.
    random_state:
        Seed of the split, the model, the noise column and the shuffles.

    Raises
    ------
    ValueError
        When fewer than 50 customers can be used, or only one outcome occurs.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> n = 1200
    >>> features = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
    ...                          "visits_per_month": rng.gamma(2.0, 1.5, n),
    ...                          "age": rng.integers(18, 80, n)})
    >>> chance = 1 - np.exp(-features["visits_per_month"].to_numpy())
    >>> returned = pd.Series(rng.random(n) < chance, index=features["customer_id"])
    >>> segments = pd.Series(np.where(rng.random(n) < 0.5, "A", "B"), index=features["customer_id"])
    >>> drivers = loyalty_drivers(features, returned, segments, target="comes back", n_repeats=3)
    >>> [d.feature for d in drivers.segments[0].drivers]
    ['visits_per_month']
    >>> drivers.segments[0].drivers[0].effect > 0
    True
    """
    if "customer_id" not in features.columns:
        raise ValueError("features: required column customer_id missing")
    index = pd.Index(features["customer_id"].astype(str))
    design = _design(features)
    position = pd.Series(np.arange(len(index)), index=index)
    returned = returned.copy()
    returned.index = returned.index.astype(str)
    labels = segments.copy()
    labels.index = labels.index.astype(str)
    common = index.intersection(returned.dropna().index).intersection(labels.dropna().index)
    if len(common) < 50:
        raise ValueError(
            f"only {len(common)} customers have features, an outcome and a segment; "
            "at least 50 are needed to learn what goes with coming back"
        )
    rows_all = position.loc[common].to_numpy()
    y_all = returned.loc[common].astype(bool).to_numpy()
    seg_all = labels.loc[common].to_numpy()
    if y_all.all() or not y_all.any():
        raise ValueError(
            f"every one of the {len(common)} customers has the same outcome ({target}: "
            f"{bool(y_all[0])}); nothing to learn from"
        )
    rng = np.random.default_rng(random_state)
    noise = rng.standard_normal(len(rows_all))
    x_all = np.column_stack([design.matrix[rows_all], noise])
    names = (*design.names, NOISE_COLUMN)
    categorical = np.append(design.categorical, False)
    train_idx, test_idx = train_test_split(
        np.arange(len(rows_all)), test_size=test_size, random_state=random_state,
        stratify=y_all,
    )
    if len(train_idx) > max_train_customers:
        train_idx = rng.choice(train_idx, max_train_customers, replace=False)
    model = HistGradientBoostingClassifier(
        categorical_features=categorical if categorical.any() else None, max_iter=200,
        learning_rate=0.1, early_stopping=True, random_state=random_state,
    )
    model.fit(x_all[train_idx], y_all[train_idx])
    x_test, y_test, seg_test = x_all[test_idx], y_all[test_idx], seg_all[test_idx]
    overall_auc = _auc(y_test, model.predict_proba(x_test)[:, 1])
    results = []
    # thousands of predictions on a few thousand rows each: thread start-up would dominate
    with threadpool_limits(limits=1, user_api="openmp"):
        for segment in sorted(pd.unique(seg_test), key=str):
            rows = np.flatnonzero(seg_test == segment)
            if len(rows) > max_segment_customers:
                rows = rng.choice(rows, max_segment_customers, replace=False)
            results.append(
                _segment_drivers(model, x_test[rows], y_test[rows], segment, target, names,
                                 design.levels, n_repeats, min_segment_customers,
                                 random_state)
            )
    logger.info(
        "loyalty drivers: model AUC %.3f on %d customers, %d segments", overall_auc,
        len(test_idx), len(results),
    )
    return LoyaltyDrivers(
        target=target,
        features=design.names,
        train_customers=len(train_idx),
        test_customers=len(test_idx),
        auc=overall_auc,
        segments=tuple(results),
    )


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count half); NaN with one outcome."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _auc_scorer(model: HistGradientBoostingClassifier, x: np.ndarray, y: np.ndarray) -> float:
    """The ``scoring`` of permutation_importance: AUC straight from the probabilities.

    The generic scorer's checks cost more than the prediction on a few thousand rows.
    """
    return _auc(np.asarray(y, dtype=bool), model.predict_proba(x)[:, 1])


def _segment_drivers(
    model: HistGradientBoostingClassifier,
    x: np.ndarray,
    y: np.ndarray,
    segment: Any,
    target: str,
    names: tuple[str, ...],
    levels: dict[int, tuple[str, ...]],
    n_repeats: int,
    min_customers: int,
    random_state: int,
) -> SegmentDrivers:
    rate = float(y.mean()) if len(y) else float("nan")
    label = f"segment {segment!s}"
    if len(y) < min_customers or y.all() or not y.any():
        why = (f"only {len(y)} customers to evaluate on (at least {min_customers} needed)"
               if len(y) < min_customers else f"all {len(y)} customers had the same outcome")
        return SegmentDrivers(segment, len(y), rate, float("nan"), float("nan"), (),
                              f"For {label}, no drivers can be told apart: {why}.")
    auc = _auc(y, model.predict_proba(x)[:, 1])
    result = permutation_importance(
        model, x, y, scoring=_auc_scorer, n_repeats=n_repeats, random_state=random_state,
    )
    means = result.importances_mean
    errors = result.importances_std / np.sqrt(n_repeats)
    noise = len(names) - 1
    bar = max(0.0, float(means[noise] + 2 * errors[noise]))
    supported = [j for j in range(noise) if means[j] - 2 * errors[j] > bar]
    supported.sort(key=lambda j: -means[j])
    drivers = tuple(
        _driver(model, x, j, names[j], levels.get(j), float(means[j]), float(errors[j]))
        for j in supported
    )
    return SegmentDrivers(
        segment, len(y), rate, auc, float(means[noise]), drivers,
        _summary(label, len(y), rate, target, drivers),
    )


def _driver(
    model: HistGradientBoostingClassifier,
    x: np.ndarray,
    column: int,
    name: str,
    levels: tuple[str, ...] | None,
    importance: float,
    error: float,
) -> Driver:
    values = x[:, column]
    meaning = _meaning(name)

    def mean_chance(value: float) -> float:
        changed = x.copy()
        changed[:, column] = value
        return float(model.predict_proba(changed)[:, 1].mean())

    known = values[np.isfinite(values)]
    if levels is not None:
        present = np.unique(known).astype(int)
        if len(present) < 2:
            return Driver(name, meaning, importance, error, 0.0)
        chances = {levels[code]: mean_chance(float(code)) for code in present}
        best = max(chances, key=lambda k: chances[k])
        worst = min(chances, key=lambda k: chances[k])
        return Driver(name, meaning, importance, error, chances[best] - chances[worst],
                      higher=best, lower=worst)
    low, high = (float(v) for v in np.quantile(known, [0.1, 0.9]))
    if low == high:
        low, high = float(known.min()), float(known.max())
    if low == high:
        return Driver(name, meaning, importance, error, 0.0)
    return Driver(name, meaning, importance, error, mean_chance(high) - mean_chance(low))


def _summary(
    label: str, customers: int, rate: float, target: str, drivers: tuple[Driver, ...]
) -> str:
    head = f"For {label} ({customers:,} customers evaluated, {rate:.0%} {target})"
    if not drivers:
        return f"{head}, no feature stands out from noise."
    with_more = [d.phrase() for d in drivers[:4]]
    listed = with_more[0] if len(with_more) == 1 else (
        ", ".join(with_more[:-1]) + " and " + with_more[-1]
    )
    return f"{head}, coming back goes with {listed}."
