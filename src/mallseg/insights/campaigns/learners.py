"""Uplift learners: who gains most from being sent an offer, learnt from past exposures.

Three interchangeable estimators with the same small contract, ``fit(features, treated,
responded, sample_weight=None)`` then ``predict_uplift(features)`` (the expected extra
response probability):

- :class:`SegmentUplift`: the targeted-minus-holdout response rate of the customer's
  segment (the whole audience's for a segment with fewer than ``min_cell`` customers in
  an arm). Needs only the ``segment`` column of the features.
- :class:`TwoModelUplift`: one gradient-boosting classifier per arm, uplift = difference
  of their predicted response probabilities (the "T-learner").
- :class:`XLearnerUplift`: Kuenzel et al. (2019): the two arm models impute each
  customer's individual effect, two regressors learn those effects, and they are blended
  by the share treated. Suits holdouts much smaller than the targeted group.

The features are a frame (numbers, and pandas categoricals for text);
:func:`model_matrix` builds one from a feature table. Gradient boosting is scikit-learn's
``HistGradientBoosting*``, which takes missing values and categories as they are; the
models are small, so each fit runs on ``n_threads`` threads (one by default: more only
contend on a shared machine).

Examples
--------
>>> import numpy as np, pandas as pd
>>> X = pd.DataFrame({"segment": pd.Categorical(["a"] * 200 + ["b"] * 200)})
>>> treated = np.tile([True, False], 200)
>>> responded = np.r_[np.tile([True, False], 100), np.zeros(200, bool)]
>>> SegmentUplift(min_cell=10).fit(X, treated, responded).predict_uplift(X[::200])
array([1., 0.])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

__all__ = [
    "LEARNERS",
    "SegmentUplift",
    "TwoModelUplift",
    "UpliftLearner",
    "XLearnerUplift",
    "model_matrix",
]

_MAX_CATEGORIES = 250


def model_matrix(
    features: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    categories: dict[str, list[str]] | None = None,
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Numbers and categoricals for the learners, aligned to a fixed set of columns.

    Parameters
    ----------
    features:
        Per-customer frame (``customer_id`` and non-feature columns already dropped).
    columns:
        The columns to produce, in order (those learnt on); missing ones become NaN.
        Default: every usable column of ``features``.
    categories:
        Categories of each text column (those learnt on); values outside them become
        missing. Default: taken from ``features``.

    Returns
    -------
    (matrix, categories):
        The frame and the categories of its categorical columns. Text columns with more
        than 250 distinct values (identifiers, free text) are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": [30, 40], "tier": ["gold", None]})
    >>> matrix, cats = model_matrix(frame)
    >>> cats, matrix["tier"].tolist()
    ({'tier': ['gold']}, ['gold', nan])
    """
    learnt = categories is not None
    categories = dict(categories or {})
    if columns is None:
        columns = []
        for name in features.columns:
            col = features[name]
            numeric = pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col)
            if numeric or col.nunique(dropna=True) <= _MAX_CATEGORIES:
                columns.append(str(name))
    out: dict[str, pd.Series] = {}
    for name in columns:
        if name not in features.columns:
            if name in categories:
                out[name] = pd.Series(pd.Categorical([None] * len(features),
                                                     categories=categories[name]))
            else:
                out[name] = pd.Series(np.full(len(features), np.nan))
            continue
        col = features[name]
        numeric = pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col)
        if name in categories or not numeric:
            text = [None if pd.isna(v) else str(v) for v in col]
            if not learnt:
                categories[name] = sorted({v for v in text if v is not None})
            out[name] = pd.Series(pd.Categorical(text, categories=categories[name]))
        else:
            out[name] = pd.Series(col.to_numpy(dtype=np.float64, na_value=np.nan))
    matrix = pd.DataFrame({k: v.to_numpy() if not isinstance(v.dtype, pd.CategoricalDtype)
                           else v for k, v in out.items()})
    matrix.index = features.index
    return matrix, categories


class UpliftLearner:
    """The contract every uplift learner keeps: ``fit`` then ``predict_uplift``."""

    name = "learner"

    def fit(
        self, features: pd.DataFrame, treated: np.ndarray, responded: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> UpliftLearner:
        """Learn from exposures: features, arm (True = targeted), response and weight."""
        raise NotImplementedError

    def predict_uplift(self, features: pd.DataFrame) -> np.ndarray:
        """Expected extra response probability of each row if sent the offer."""
        raise NotImplementedError


def _check(
    features: pd.DataFrame, treated: np.ndarray, responded: np.ndarray,
    sample_weight: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.asarray(treated, dtype=bool)
    y = np.asarray(responded, dtype=bool)
    w = np.ones(len(t)) if sample_weight is None else np.asarray(sample_weight, np.float64)
    if not len(features) == len(t) == len(y) == len(w):
        raise ValueError(f"features has {len(features)} rows, treated {len(t)}, responded "
                         f"{len(y)} and sample_weight {len(w)}: expected one of each per "
                         "exposure")
    if t.all() or not t.any():
        raise ValueError("both arms are needed: treated must hold True and False values")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("sample_weight must hold finite values >= 0")
    return t, y, w


class SegmentUplift(UpliftLearner):
    """Uplift of the customer's segment: targeted minus holdout response rate.

    Parameters
    ----------
    min_cell:
        A segment with fewer customers in either arm gets the whole audience's uplift.
    segment_col:
        Column of ``features`` holding the segment.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> features = pd.DataFrame({"segment": ["a"] * 4})
    >>> model = SegmentUplift(min_cell=2).fit(features, np.array([1, 1, 0, 0], bool),
    ...                                       np.array([1, 0, 0, 0], bool))
    >>> model.uplift_by_segment_
    {'a': 0.5}
    """

    name = "segment"

    def __init__(self, min_cell: int = 30, segment_col: str = "segment") -> None:
        self.min_cell = min_cell
        self.segment_col = segment_col

    def fit(
        self, features: pd.DataFrame, treated: np.ndarray, responded: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> SegmentUplift:
        """Learn each segment's uplift (weighted response rates of the two arms)."""
        t, y, w = _check(features, treated, responded, sample_weight)
        seg = features[self.segment_col].astype(str).to_numpy()

        def rate(mask: np.ndarray) -> float:
            return float(np.average(y[mask], weights=w[mask])) if w[mask].sum() > 0 else 0.0

        self.overall_uplift_ = rate(t) - rate(~t)
        self.uplift_by_segment_: dict[str, float] = {}
        for s in np.unique(seg):
            m = seg == s
            nt, nh = int((m & t).sum()), int((m & ~t).sum())
            if nt >= self.min_cell and nh >= self.min_cell:
                self.uplift_by_segment_[str(s)] = rate(m & t) - rate(m & ~t)
            else:
                self.uplift_by_segment_[str(s)] = self.overall_uplift_
        return self

    def predict_uplift(self, features: pd.DataFrame) -> np.ndarray:
        """The learnt uplift of each row's segment (the overall one for unseen segments)."""
        if not hasattr(self, "uplift_by_segment_"):
            raise RuntimeError("SegmentUplift is not fitted yet: call fit first")
        seg = features[self.segment_col].astype(str)
        return seg.map(self.uplift_by_segment_).fillna(self.overall_uplift_).to_numpy(
            dtype=np.float64)


def _classifier(n: int, seed: int) -> HistGradientBoostingClassifier:
    # Shallow, slow-learning trees with large leaves: the arm models see few responders
    # (a holdout is a tenth of an audience) and must not chase noise.
    return HistGradientBoostingClassifier(
        learning_rate=0.1, max_iter=60, max_depth=3, max_bins=63,
        min_samples_leaf=max(20, n // 100), l2_regularization=1.0, early_stopping=False,
        random_state=seed,
    )


def _regressor(n: int, seed: int) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        learning_rate=0.1, max_iter=60, max_depth=3, max_bins=63,
        min_samples_leaf=max(20, n // 100), l2_regularization=1.0, early_stopping=False,
        random_state=seed,
    )


def _fit_weight(w: np.ndarray) -> np.ndarray | None:
    """``w`` for scikit-learn, or ``None`` when all weights are equal.

    Weighted fits take a much slower path (weighted quantiles when binning features); equal
    weights change nothing.
    """
    return None if len(w) == 0 or np.all(w == w[0]) else w


def _probability(model: HistGradientBoostingClassifier, features: pd.DataFrame) -> np.ndarray:
    classes = list(model.classes_)
    if True not in classes:
        return np.zeros(len(features))
    return np.asarray(model.predict_proba(features)[:, classes.index(True)], dtype=np.float64)


class TwoModelUplift(UpliftLearner):
    """One response model per arm; uplift is the difference of their probabilities.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> features = pd.DataFrame({"x": rng.random(4000)})
    >>> t = rng.random(4000) < 0.5
    >>> y = rng.random(4000) < 0.1 + 0.4 * t * (features["x"].to_numpy() > 0.5)
    >>> u = TwoModelUplift().fit(features, t, y).predict_uplift(pd.DataFrame({"x": [0.2, 0.8]}))
    >>> bool(u[1] - u[0] > 0.25)
    True
    """

    name = "two_model"

    def __init__(self, random_state: int = 0, n_threads: int | None = 1) -> None:
        self.random_state = random_state
        self.n_threads = n_threads

    def fit(
        self, features: pd.DataFrame, treated: np.ndarray, responded: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> TwoModelUplift:
        """Fit the targeted-arm and holdout-arm response models."""
        t, y, w = _check(features, treated, responded, sample_weight)
        seed = self.random_state
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            self.treated_model_ = _classifier(int(t.sum()), seed).fit(
                features[t], y[t], sample_weight=_fit_weight(w[t]))
            self.holdout_model_ = _classifier(int((~t).sum()), seed).fit(
                features[~t], y[~t], sample_weight=_fit_weight(w[~t]))
        return self

    def predict_uplift(self, features: pd.DataFrame) -> np.ndarray:
        """Predicted response if targeted minus predicted response if held out."""
        if not hasattr(self, "treated_model_"):
            raise RuntimeError("TwoModelUplift is not fitted yet: call fit first")
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            treated = _probability(self.treated_model_, features)
            return treated - _probability(self.holdout_model_, features)


class XLearnerUplift(UpliftLearner):
    """The X-learner: imputed individual effects, learnt per arm and blended.

    With ``g`` the share of exposures targeted, the uplift is ``g * tau_holdout(x) +
    (1 - g) * tau_targeted(x)``, where ``tau_targeted`` is learnt from the targeted
    customers' response minus the holdout model's prediction for them and
    ``tau_holdout`` from the targeted model's prediction for the holdout minus their
    response.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> features = pd.DataFrame({"x": rng.random(4000)})
    >>> t = rng.random(4000) < 0.8
    >>> y = rng.random(4000) < 0.1 + 0.4 * t * (features["x"].to_numpy() > 0.5)
    >>> u = XLearnerUplift().fit(features, t, y).predict_uplift(pd.DataFrame({"x": [0.2, 0.8]}))
    >>> bool(u[1] - u[0] > 0.25)
    True
    """

    name = "x_learner"

    def __init__(self, random_state: int = 0, n_threads: int | None = 1) -> None:
        self.random_state = random_state
        self.n_threads = n_threads

    def fit(
        self, features: pd.DataFrame, treated: np.ndarray, responded: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> XLearnerUplift:
        """Fit the arm models, then the effect models on the imputed effects."""
        t, y, w = _check(features, treated, responded, sample_weight)
        seed = self.random_state
        yf = y.astype(np.float64)
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            arm_t = _classifier(int(t.sum()), seed).fit(
                features[t], y[t], sample_weight=_fit_weight(w[t]))
            arm_h = _classifier(int((~t).sum()), seed).fit(
                features[~t], y[~t], sample_weight=_fit_weight(w[~t]))
            effect_t = yf[t] - _probability(arm_h, features[t])
            effect_h = _probability(arm_t, features[~t]) - yf[~t]
            self.targeted_effect_ = _regressor(int(t.sum()), seed).fit(
                features[t], effect_t, sample_weight=_fit_weight(w[t]))
            self.holdout_effect_ = _regressor(int((~t).sum()), seed).fit(
                features[~t], effect_h, sample_weight=_fit_weight(w[~t]))
        self.treated_share_ = float(w[t].sum() / w.sum())
        return self

    def predict_uplift(self, features: pd.DataFrame) -> np.ndarray:
        """Blend of the two effect models."""
        if not hasattr(self, "targeted_effect_"):
            raise RuntimeError("XLearnerUplift is not fitted yet: call fit first")
        g = self.treated_share_
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            return (g * self.holdout_effect_.predict(features)
                    + (1 - g) * self.targeted_effect_.predict(features)).astype(np.float64)


LEARNERS: dict[str, type[UpliftLearner]] = {
    "segment": SegmentUplift,
    "two_model": TwoModelUplift,
    "x_learner": XLearnerUplift,
}
"""The learners by the name :func:`~mallseg.insights.campaigns.targeting.plan_targeting`
takes in ``methods``."""
