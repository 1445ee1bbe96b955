"""Outliers held at the edge of the bulk, so that segments are cut through the customers.

A handful of extreme customers (an income of 666,666 in a table of 50k incomes, one
customer with 40 times the visits of anyone else) would otherwise get a segment of their
own and push the size rule to reject every finer partition. :class:`QuantileClipper`
learns the 0.5% and 99.5% quantiles of each numeric column (after the log of money and
counts; values of the data, so that small tables are left as they are) and holds values
beyond them at those quantiles; missing values stay missing.
The customers keep their own values in every profile: only the model's coordinates are
clipped.

Examples
--------
>>> import numpy as np
>>> values = np.r_[np.arange(1000.0), 1e9][:, None]
>>> clipper = QuantileClipper().fit(values)
>>> float(clipper.transform(values).max()) < 1000
True
>>> bool(np.isnan(clipper.transform(np.array([[np.nan]]))[0, 0]))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["QuantileClipper"]


class QuantileClipper(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Clip each column to its fitted ``[lower, upper]`` quantiles (NaN passes through).

    Parameters
    ----------
    lower, upper:
        The quantiles (0-1) values are held at.

    Attributes
    ----------
    lower_bounds_, upper_bounds_ : ndarray
        The fitted bounds per column (NaN for a column without values: nothing clipped).
    """

    def __init__(self, lower: float = 0.005, upper: float = 0.995) -> None:
        self.lower = lower
        self.upper = upper

    def fit(self, X: Any, y: object = None) -> QuantileClipper:  # noqa: N803
        """Learn the bounds of every column of ``X``."""
        values = np.asarray(X, dtype=np.float64)
        if not 0.0 <= self.lower < self.upper <= 1.0:
            raise ValueError(f"lower={self.lower}, upper={self.upper}: expected "
                             "0 <= lower < upper <= 1")
        self.n_features_in_ = values.shape[1]
        with np.errstate(all="ignore"):
            empty = np.all(np.isnan(values), axis=0)
            filled = np.where(empty[None, :], 0.0, values)
            # bounds are values of the data (no interpolation): under 200 customers the
            # 0.5% quantile is the smallest value itself, and nothing is clipped
            self.lower_bounds_ = np.where(empty, np.nan, np.nanquantile(
                filled, self.lower, axis=0, method="inverted_cdf"))
            self.upper_bounds_ = np.where(empty, np.nan, np.nanquantile(
                filled, self.upper, axis=0, method="inverted_cdf"))
        return self

    def transform(self, X: Any) -> np.ndarray:  # noqa: N803
        """``X`` with every value held within its column's bounds."""
        check_is_fitted(self, "lower_bounds_")
        values = np.asarray(X, dtype=np.float64)
        low = np.where(np.isnan(self.lower_bounds_), -np.inf, self.lower_bounds_)
        high = np.where(np.isnan(self.upper_bounds_), np.inf, self.upper_bounds_)
        return np.asarray(np.clip(values, low, high), dtype=np.float64)
