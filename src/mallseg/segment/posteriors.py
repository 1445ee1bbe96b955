"""Posteriors of a fitted segment mixture: many rows at once, or one row in microseconds.

:class:`MixturePosteriors` holds the fitted parameters of a mixture with one component per
segment (weights, means, covariances over the numeric columns, the probabilities of each
missingness pattern and of each categorical level) and turns them into
``log p(row, segment)`` and posteriors. The batch path (:meth:`~MixturePosteriors.log_joint`)
and the one-row path (:meth:`~MixturePosteriors.predict_proba_one`) compute the same
numbers; a missing value is left out of the Gaussian (marginalised). Fitting lives in
:mod:`mallseg.segment.confidence`.

Examples
--------
>>> import numpy as np
>>> from mallseg.segment.confidence import SegmentMixture
>>> mixture = SegmentMixture(ColumnLayout.numeric_only(1)).fit(
...     np.array([[0.0], [1.0], [9.0], [10.0]]), np.array([0, 0, 1, 1]), 2)
>>> isinstance(mixture, MixturePosteriors), mixture.predict_proba_one(np.array([9.5])).argmax()
(True, np.int64(1))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import softmax

__all__ = ["ColumnLayout", "MixturePosteriors"]

_LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class ColumnLayout:
    """Which preprocessed columns are numeric values, missing indicators and category blocks.

    Attributes
    ----------
    value_columns:
        Positions of the numeric value columns.
    indicator_columns:
        For each value column, the position of its missing indicator, or ``-1``.
    category_blocks:
        Positions of the one-hot columns of each categorical feature.

    Examples
    --------
    >>> ColumnLayout.numeric_only(3).value_columns
    (0, 1, 2)
    """

    value_columns: tuple[int, ...]
    indicator_columns: tuple[int, ...]
    category_blocks: tuple[tuple[int, ...], ...] = field(default=())

    @classmethod
    def numeric_only(cls, n_columns: int) -> ColumnLayout:
        """Layout of ``n_columns`` numeric columns without missing indicators.

        Examples
        --------
        >>> ColumnLayout.numeric_only(2).indicator_columns
        (-1, -1)
        """
        return cls(tuple(range(n_columns)), (-1,) * n_columns, ())


class MixturePosteriors:
    """The fitted parameters of a segment mixture and the posteriors they give.

    Subclassed by :class:`~mallseg.segment.confidence.SegmentMixture`, which fits them.

    Examples
    --------
    >>> import numpy as np
    >>> from mallseg.segment.confidence import SegmentMixture
    >>> mixture = SegmentMixture(ColumnLayout.numeric_only(1)).fit(
    ...     np.array([[0.0], [1.0], [9.0], [10.0]]), np.array([0, 0, 1, 1]), 2)
    >>> mixture.log_joint(np.array([[0.5], [9.5]])).argmax(axis=1).tolist()
    [0, 1]
    """

    layout: ColumnLayout
    n_segments_: int
    weights_: np.ndarray
    means_: np.ndarray
    covariances_: np.ndarray
    patterns_: np.ndarray
    pattern_log_probs_: np.ndarray
    category_log_probs_: list[np.ndarray]
    covariance_type_: str

    def _values(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = points[:, list(self.layout.value_columns)]
        missing = np.zeros(values.shape, dtype=bool)
        for j, column in enumerate(self.layout.indicator_columns):
            if column >= 0:
                missing[:, j] = points[:, column] > 0.0
        return values, missing

    def _category_states(self, points: np.ndarray) -> list[np.ndarray]:
        states = []
        for block in self.layout.category_blocks:
            one_hot = points[:, list(block)]
            state = np.argmax(one_hot, axis=1)
            # an unseen category is all zeros: it says nothing about the segment
            states.append(np.where(one_hot.max(axis=1) > 0.0, state, -1))
        return states

    def _precompute(self) -> None:
        """Whitening factors of every known pattern, so a posterior costs one product."""
        columns = np.asarray(self.layout.indicator_columns, dtype=np.int64)
        self.value_index_ = np.asarray(self.layout.value_columns, dtype=np.int64)
        self.indicated_ = np.flatnonzero(columns >= 0)
        self.indicator_index_ = columns[columns >= 0]
        self.log_weights_ = np.log(self.weights_)
        self.pattern_columns_ = [self.value_index_[~pattern] for pattern in self.patterns_]
        self.pattern_means_ = [self.means_[:, ~pattern] for pattern in self.patterns_]
        # every categorical level's column and log-probability, side by side: a customer
        # has one non-zero column per categorical feature (none for an unseen level)
        self.category_columns_ = np.asarray(
            [column for block in self.layout.category_blocks for column in block],
            dtype=np.int64,
        )
        self.category_table_ = (
            np.hstack(self.category_log_probs_) if self.category_log_probs_
            else np.zeros((len(self.means_), 0))
        )
        self.whiteners_ = []
        self.log_norms_ = []
        for pattern in self.patterns_:
            whitener, log_norm = self._whitener(~pattern)
            self.whiteners_.append(whitener)
            self.log_norms_.append(log_norm)
        self.pattern_constants_ = [
            self.log_norms_[p] + self.log_weights_ + self.pattern_log_probs_[:, p]
            for p in range(len(self.patterns_))
        ]

    def _whitener(self, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``W`` with ``W^T W = inverse covariance`` of the seen columns, and log normaliser."""
        k = len(self.means_)
        n_seen = int(seen.sum())
        whiteners = np.empty((k, n_seen, n_seen))
        log_norms = np.empty(k)
        for c in range(k):
            factor = np.linalg.cholesky(self.covariances_[c][np.ix_(seen, seen)])
            whiteners[c] = solve_triangular(factor, np.eye(n_seen), lower=True)
            log_norms[c] = -float(np.log(np.diag(factor)).sum()) - 0.5 * n_seen * _LOG_2PI
        return whiteners, log_norms

    def _discrete_log_probs(
        self, states: list[np.ndarray], pattern_of_row: np.ndarray
    ) -> np.ndarray:
        total = np.array(self.pattern_log_probs_[:, pattern_of_row].T)
        for table, state in zip(self.category_log_probs_, states, strict=True):
            seen = state >= 0
            total[seen] += table[:, state[seen]].T
        return total

    # --------------------------------------------------------------- posteriors
    def log_joint(self, points: np.ndarray) -> np.ndarray:
        """Return ``log p(row, segment)`` for every row and segment.

        Examples
        --------
        >>> import numpy as np
        >>> from mallseg.segment.confidence import SegmentMixture
        >>> mixture = SegmentMixture(ColumnLayout.numeric_only(1)).fit(
        ...     np.array([[0.0], [1.0], [9.0], [10.0]]), np.array([0, 0, 1, 1]), 2)
        >>> mixture.log_joint(np.array([[0.5]])).argmax(axis=1).tolist()
        [0]
        """
        points = np.asarray(points, dtype=np.float64)
        values, missing = self._values(points)
        known = {pattern.tobytes(): i for i, pattern in enumerate(self.patterns_)}
        pattern_of_row = np.empty(len(points), dtype=np.int64)
        result = np.empty((len(points), self.n_segments_))
        for rows in _rows_by_pattern(missing[:, self.indicated_]):
            pattern = missing[rows[0]]
            index = known.get(pattern.tobytes())
            if index is None:
                whiteners, log_norms = self._whitener(~pattern)
                pattern_of_row[rows] = len(self.patterns_)  # "any other pattern"
            else:
                whiteners, log_norms = self.whiteners_[index], self.log_norms_[index]
                pattern_of_row[rows] = index
            block = values[np.ix_(rows, np.flatnonzero(~pattern))]
            if self.covariance_type_ == "tied":
                # one covariance: whiten once, then squared distances to whitened means
                white = block @ whiteners[0].T
                centres = self.means_[:, ~pattern] @ whiteners[0].T
                squared = (
                    np.einsum("ij,ij->i", white, white)[:, None]
                    - 2.0 * (white @ centres.T)
                    + np.einsum("ij,ij->i", centres, centres)[None, :]
                )
                result[rows] = log_norms[None, :] - 0.5 * np.maximum(squared, 0.0)
                continue
            for c in range(self.n_segments_):
                white = (block - self.means_[c, ~pattern]) @ whiteners[c].T
                result[rows, c] = log_norms[c] - 0.5 * np.einsum("ij,ij->i", white, white)
        result += self.log_weights_[None, :]
        result += self._discrete_log_probs(self._category_states(points), pattern_of_row)
        return result

    def predict_proba(self, points: np.ndarray) -> np.ndarray:
        """Return the posterior probability of every segment for every row.

        Examples
        --------
        >>> import numpy as np
        >>> from mallseg.segment.confidence import SegmentMixture
        >>> mixture = SegmentMixture(ColumnLayout.numeric_only(1)).fit(
        ...     np.array([[0.0], [1.0], [9.0], [10.0]]), np.array([0, 0, 1, 1]), 2)
        >>> mixture.predict_proba(np.array([[0.5], [9.5]])).round(3).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
        """
        return np.asarray(softmax(self.log_joint(points), axis=1), dtype=np.float64)

    def predict_proba_one(self, point: np.ndarray) -> np.ndarray:
        """Return the posteriors of one preprocessed row, in plain numpy (microseconds).

        The same numbers as :meth:`predict_proba` on that row, to rounding.

        Examples
        --------
        >>> import numpy as np
        >>> from mallseg.segment.confidence import SegmentMixture
        >>> mixture = SegmentMixture(ColumnLayout.numeric_only(1)).fit(
        ...     np.array([[0.0], [1.0], [9.0], [10.0]]), np.array([0, 0, 1, 1]), 2)
        >>> mixture.predict_proba_one(np.array([0.5])).round(3).tolist()
        [1.0, 0.0]
        """
        index = 0
        if len(self.indicator_index_) and point[self.indicator_index_].any():
            missing = np.zeros(len(self.value_index_), dtype=bool)
            missing[self.indicated_] = point[self.indicator_index_] > 0.0
            matches = np.flatnonzero((self.patterns_ == missing).all(axis=1))
            index = int(matches[0]) if len(matches) else -1
        if index >= 0:
            whiteners = self.whiteners_[index]
            residual = point[self.pattern_columns_[index]] - self.pattern_means_[index]
            constant = self.pattern_constants_[index]
        else:  # a pattern never seen when fitting
            seen = ~missing
            whiteners, log_norms = self._whitener(seen)
            residual = point[self.value_index_[seen]] - self.means_[:, seen]
            constant = log_norms + self.log_weights_ + self.pattern_log_probs_[:, -1]
        white = np.matmul(whiteners, residual[:, :, None])[:, :, 0]
        scores = constant - 0.5 * (white * white).sum(axis=1)
        if len(self.category_columns_):
            # one set column per categorical feature (none for an unseen level)
            scores = scores + self.category_table_ @ (point[self.category_columns_] > 0.0)
        weights = np.exp(scores - scores.max())
        return np.asarray(weights / weights.sum())



def _rows_by_pattern(flags: np.ndarray) -> list[np.ndarray]:
    """Row positions grouped by their row of flags (one group per distinct row)."""
    if flags.shape[1] == 0 or not flags.any():
        return [np.arange(len(flags))]
    if flags.shape[1] <= 62:  # one integer code per row: a 1-D sort, not a row sort
        codes = flags.astype(np.int64) @ (np.int64(1) << np.arange(flags.shape[1], dtype=np.int64))
        _, inverse = np.unique(codes, return_inverse=True)
    else:
        _, inverse = np.unique(flags, axis=0, return_inverse=True)
    inverse = np.ravel(inverse)
    order = np.argsort(inverse, kind="stable")
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    return np.split(order, bounds)
