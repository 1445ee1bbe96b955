"""Comparing uplift methods on held-out exposures: cross-fitting and the choice of method.

Exposures of several past campaigns are pooled after :func:`balancing_weights`; every
method is cross-fitted (:func:`cross_fitted_ranks`) and the simplest one within one
standard error of the best held-out Qini coefficient is chosen (:func:`choose_method`).

Examples
--------
>>> import numpy as np
>>> balancing_weights(np.array(["a", "a", "b", "b"]), np.array([True, False] * 2)).tolist()
[1.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mallseg.insights.campaigns.learners import LEARNERS, UpliftLearner
from mallseg.insights.campaigns.uplift_curve import qini_coefficient

__all__ = [
    "BOOTSTRAP_DRAWS",
    "Exposures",
    "at_most",
    "balancing_weights",
    "choose_method",
    "cross_fitted_ranks",
    "learner_for",
]

BOOTSTRAP_DRAWS = 100
"""Bootstrap draws for the standard error of a difference of Qini coefficients."""


@dataclass(frozen=True)
class Exposures:
    """Exposures learnt from, as parallel arrays: customer, arm, response, weight."""

    customer_ids: np.ndarray
    treated: np.ndarray
    responded: np.ndarray
    weights: np.ndarray


def balancing_weights(campaign_ids: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Weights that give every pooled campaign the same targeted share.

    Campaigns learnt from together may have held out different shares of their audience;
    pooled as they are, a campaign with a large holdout would weigh more in the holdout
    arm than in the targeted one, and its response level would pass for uplift. Weighting
    the targeted exposures of campaign ``c`` by ``share / share_c`` and its held-out ones by
    ``(1 - share) / (1 - share_c)`` (``share`` over all campaigns) makes every campaign's
    targeted share ``share`` and keeps its total weight. When every weight is within 5% of
    1 (the campaigns held out nearly the same share) all are taken as 1: the correction
    would be negligible, and unweighted models fit much faster.

    Examples
    --------
    >>> import numpy as np
    >>> w = balancing_weights(np.array(["a"] * 4 + ["b"] * 4),
    ...                       np.array([1, 1, 1, 0, 1, 0, 0, 0], dtype=bool))
    >>> w.round(3).tolist()
    [0.667, 0.667, 0.667, 2.0, 2.0, 0.667, 0.667, 0.667]
    """
    t = np.asarray(treated, dtype=bool)
    codes, _ = pd.factorize(np.asarray(campaign_ids))
    share = t.mean()
    n = np.bincount(codes).astype(np.float64)
    share_c = np.bincount(codes, weights=t.astype(np.float64)) / n
    w = np.where(t, share / share_c[codes], (1 - share) / (1 - share_c[codes]))
    if np.all(np.abs(w - 1.0) <= 0.05):
        return np.ones(len(t))
    return np.asarray(w, dtype=np.float64)


def learner_for(
    method: str, min_cell: int, seed: int = 0, threads: int | None = 1
) -> UpliftLearner:
    """A fresh learner of ``method`` (a name in :data:`LEARNERS`).

    Examples
    --------
    >>> learner_for("segment", 30).min_cell
    30
    """
    if method == "segment":
        return LEARNERS[method](min_cell=min_cell)  # type: ignore[call-arg]
    return LEARNERS[method](random_state=seed, n_threads=threads)  # type: ignore[call-arg]


def _within_fold_ranks(scores: np.ndarray, fold: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """Percentile rank of each score inside its fold (ties broken by ``tie``)."""
    ranks = np.empty(len(scores))
    for f in np.unique(fold):
        idx = np.flatnonzero(fold == f)
        order = np.lexsort((tie[idx], scores[idx]))
        ranks[idx[order]] = (np.arange(len(idx)) + 1) / len(idx)
    return ranks


def at_most(rows: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """``rows``, or a random ``limit`` of them (in order) when there are more.

    Examples
    --------
    >>> import numpy as np
    >>> at_most(np.arange(5), 3, np.random.default_rng(0)).size
    3
    """
    if len(rows) <= limit:
        return rows
    return np.sort(rng.choice(rows, size=limit, replace=False))


def cross_fitted_ranks(
    methods: Sequence[str], features: pd.DataFrame, exposures: Exposures, *, folds: int,
    min_cell: int, rng: np.random.Generator, seed: int = 0, threads: int | None = 1,
    max_model_rows: int = 100_000,
) -> dict[str, np.ndarray]:
    """Out-of-fold uplift ranks (0-1, within each fold) of every exposure, per method.

    Exposures are split into ``folds`` groups by customer (a customer's exposures to
    several campaigns stay together); each group is ranked by a learner fitted on the
    others (the gradient-boosting ones on at most ``max_model_rows`` of them).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> seg = np.repeat(["a", "b"], 200)
    >>> t = np.tile([True, True, True, False], 100)
    >>> y = (seg == "a") & t
    >>> ex = Exposures(customer_ids=np.arange(400).astype(str), treated=t, responded=y,
    ...                weights=np.ones(400))
    >>> ranks = cross_fitted_ranks(["segment"], pd.DataFrame({"segment": seg}), ex,
    ...                            folds=2, min_cell=5, rng=rng)
    >>> a = ranks["segment"][seg == "a"]  # ranked above b in every fold: ranks near 0.75
    >>> bool(a.mean() > 0.7)
    True
    """
    codes, unique = pd.factorize(pd.Series(exposures.customer_ids).astype(str))
    fold = (rng.permutation(len(unique)) % folds)[codes]
    tie = rng.random(len(codes))
    t, y, w = exposures.treated, exposures.responded, exposures.weights
    train_matrix = features
    ranks: dict[str, np.ndarray] = {}
    for method in methods:
        scores = np.zeros(len(train_matrix))
        for f in range(folds):
            test = fold == f
            if not test.any() or t[~test].all() or not t[~test].any():
                continue
            learn = np.flatnonzero(~test)
            if method != "segment":
                learn = at_most(learn, max_model_rows, rng)
            learner = learner_for(method, min_cell, seed, threads)
            learner.fit(train_matrix.iloc[learn], t[learn], y[learn], w[learn])
            scores[test] = learner.predict_uplift(train_matrix[test])
        ranks[method] = _within_fold_ranks(scores, fold, tie)
    return ranks


def choose_method(
    methods: Sequence[str], ranks: dict[str, np.ndarray], exposures: Exposures,
    rng: np.random.Generator,
) -> str:
    """The simplest method (first in ``methods``) within one standard error of the best Qini.

    The standard error is that of the difference to the best method's coefficient, from
    a paired bootstrap over exposures (each draw reweights the exposures by how often they
    were drawn, so the rankings need no re-sorting).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.tile([True, False], 100)
    >>> y = np.r_[np.tile([True, False], 50), np.zeros(100, bool)]
    >>> good, noise = np.r_[np.ones(100), np.zeros(100)], np.random.default_rng(1).random(200)
    >>> ex = Exposures(np.arange(200).astype(str), t, y, np.ones(200))
    >>> choose_method(["noise", "good"], {"noise": noise, "good": good}, ex,
    ...               np.random.default_rng(0))
    'good'
    """
    t, y, w = exposures.treated, exposures.responded, exposures.weights
    qini = {m: qini_coefficient(ranks[m], t, y, w) for m in methods}
    best = max(methods, key=lambda m: qini[m])
    order = {m: np.argsort(-ranks[m], kind="stable") for m in methods}
    n = len(t)
    draws: dict[str, list[float]] = {m: [] for m in methods}
    for _ in range(BOOTSTRAP_DRAWS):
        counts = np.bincount(rng.integers(0, n, n), minlength=n) * w
        if counts[t].sum() <= 0 or counts[~t].sum() <= 0:
            continue
        for m in methods:
            o = order[m]
            draws[m].append(qini_coefficient(ranks[m][o], t[o], y[o], counts[o],
                                             ranked=True))
    for m in methods:
        gap = np.asarray(draws[best]) - np.asarray(draws[m])
        error = float(np.std(gap, ddof=1)) if len(gap) > 1 else 0.0
        if qini[best] - qini[m] <= error:
            return m
    return best
