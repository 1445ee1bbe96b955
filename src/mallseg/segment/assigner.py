"""A fitted segmenter compiled to plain numpy arrays: one customer scored in microseconds.

Examples
--------
>>> import pandas as pd
>>> from mallseg.segment.segmenter import Segmenter
>>> frame = pd.DataFrame({"age": [20, 22, 60, 62], "basket_mean": [10.0, None, 90.0, 95.0]})
>>> segmenter = Segmenter(features=["age", "basket_mean"], n_segments=2).fit(frame)
>>> assigner = CompiledAssigner.from_segmenter(segmenter)
>>> (assigner.vectorise({"age": 22, "basket_mean": None}) == segmenter.transform(frame)[1]).all()
np.True_
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mallseg.segment.algorithms import ALGORITHMS
from mallseg.segment.confidence import SegmentMixture
from mallseg.segment.coverage import NOT_ENOUGH_DATA, record_coverage
from mallseg.segment.density import DensityTree
from mallseg.segment.preprocess import (
    CATEGORY_WEIGHT,
    LOG_KINDS,
    indicator_weight,
    missing_indicator_features,
    output_slices,
)

if TYPE_CHECKING:
    from mallseg.segment.segmenter import Segmenter

__all__ = ["CompiledAssigner"]


class CompiledAssigner:
    """A fitted segmenter's preprocessing and assignment rule as plain numpy arrays.

    Built once from a fitted :class:`Segmenter`; :meth:`assign_one` then costs tens of
    microseconds, several times less than scikit-learn's validated path on one row, and
    gives the same segment and confidence as :meth:`Segmenter.predict` and
    :meth:`Segmenter.confidence`.

    Examples
    --------
    >>> import pandas as pd
    >>> from mallseg.segment.segmenter import Segmenter
    >>> frame = pd.DataFrame({"age": [20, 22, 60, 62], "gender": ["f", "f", "m", "m"]})
    >>> segmenter = Segmenter(features=["age", "gender"], n_segments=2).fit(frame)
    >>> assigner = CompiledAssigner.from_segmenter(segmenter)
    >>> segment, confidence = assigner.assign_one({"age": 61, "gender": "m"})
    >>> segment == int(segmenter.labels_[3]), round(confidence, 3)
    (True, 1.0)
    """

    def __init__(
        self,
        *,
        assignment: str,
        n_outputs: int,
        min_coverage: float = 0.0,
        numeric_features: list[str],
        numeric_positions: np.ndarray,
        indicator_positions: np.ndarray,
        indicator_weights: np.ndarray,
        log_mask: np.ndarray,
        impute_values: np.ndarray,
        clip_low: np.ndarray,
        clip_high: np.ndarray,
        means: np.ndarray,
        scales: np.ndarray,
        categorical_features: list[str],
        category_positions: list[dict[str, int]],
        category_weight: float,
        centers: np.ndarray,
        model_arrays: dict[str, Any],
        density_tree: DensityTree | None,
        mixture: SegmentMixture | None,
    ) -> None:
        self.assignment = assignment
        self.min_coverage = min_coverage
        self.n_outputs = n_outputs
        self.numeric_features = numeric_features
        self.numeric_positions = numeric_positions
        self.indicator_positions = indicator_positions
        self.indicator_weights = indicator_weights
        self.log_mask = log_mask
        self.impute_values = impute_values
        self.clip_low = clip_low
        self.clip_high = clip_high
        self.means = means
        self.scales = scales
        self.categorical_features = categorical_features
        self.category_positions = category_positions
        self.category_weight = category_weight
        self.centers = centers
        self.center_norms = (centers * centers).sum(axis=1)
        self.model_arrays = model_arrays
        self.density_tree = density_tree
        self.mixture = mixture

    @classmethod
    def from_segmenter(cls, segmenter: Segmenter) -> CompiledAssigner:
        """Extract the arrays from a fitted segmenter."""
        slices = output_slices(segmenter.preprocessor_)
        with_indicator = set(missing_indicator_features(segmenter.preprocessor_))
        numeric: list[str] = []
        positions: list[int] = []
        indicators: list[int] = []
        indicator_weights: list[float] = []
        log_mask: list[bool] = []
        impute: list[float] = []
        low: list[float] = []
        high: list[float] = []
        means: list[float] = []
        scales: list[float] = []
        categorical: list[str] = []
        category_positions: list[dict[str, int]] = []
        pipelines = {n: p for n, p, _ in segmenter.preprocessor_.transformers_}
        for name, kind in segmenter.feature_kinds_.items():
            steps = pipelines[name].named_steps
            start = slices[name].start
            if kind == "categorical":
                categorical.append(name)
                categories = steps["one_hot"].categories_[0]
                category_positions.append({str(c): start + i for i, c in enumerate(categories)})
            else:
                numeric.append(name)
                positions.append(start)
                indicators.append(start + 1 if name in with_indicator else -1)
                indicator_weights.append(indicator_weight(pipelines[name]))
                log_mask.append(kind in LOG_KINDS)
                impute.append(float(steps["impute"].statistics_[0]))
                bounds = steps["clip"]
                low.append(_bound(bounds.lower_bounds_[0], -np.inf))
                high.append(_bound(bounds.upper_bounds_[0], np.inf))
                means.append(float(steps["scale"].mean_[0]))
                scales.append(float(steps["scale"].scale_[0]))
        model = segmenter.model_
        model_arrays: dict[str, Any] = {}
        if segmenter.algorithm == "gmm":
            model_arrays = {
                "covariance_type": model.covariance_type,
                "precisions_cholesky": np.asarray(model.precisions_cholesky_),
                "log_weights": np.log(model.weights_),
            }
        return cls(
            assignment=ALGORITHMS[segmenter.algorithm].assignment,
            n_outputs=int(segmenter.centers_.shape[1]),
            min_coverage=float(getattr(segmenter, "min_coverage_", 0.0)),
            numeric_features=numeric,
            numeric_positions=np.asarray(positions, dtype=np.int64),
            indicator_positions=np.asarray(indicators, dtype=np.int64),
            indicator_weights=np.asarray(indicator_weights, dtype=np.float64),
            log_mask=np.asarray(log_mask, dtype=bool),
            impute_values=np.asarray(impute),
            clip_low=np.asarray(low, dtype=np.float64),
            clip_high=np.asarray(high, dtype=np.float64),
            means=np.asarray(means),
            scales=np.asarray(scales),
            categorical_features=categorical,
            category_positions=category_positions,
            category_weight=CATEGORY_WEIGHT,
            centers=segmenter.centers_,
            model_arrays=model_arrays,
            density_tree=model.tree_ if segmenter.algorithm == "hdbscan" else None,
            mixture=segmenter.mixture_ if segmenter.n_segments_ > 0 else None,
        )

    def vectorise(self, record: Mapping[Any, object]) -> np.ndarray:
        """Return the preprocessed vector of one customer (what ``transform`` gives).

        Raises
        ------
        ValueError
            When the record lacks a feature or a numeric value is not a number.
        """
        z = np.zeros(self.n_outputs, dtype=np.float64)
        missing = [
            f for f in (*self.numeric_features, *self.categorical_features) if f not in record
        ]
        if missing:
            raise ValueError(f"record lacks the feature(s) {missing}")
        raw = np.empty(len(self.numeric_features), dtype=np.float64)
        for i, name in enumerate(self.numeric_features):
            value = record[name]
            if value is None or value is pd.NA:
                raw[i] = np.nan
                continue
            try:
                raw[i] = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError) as error:
                raise ValueError(f"feature {name!r}={value!r} is not a number") from error
        raw = np.where(self.log_mask, np.log1p(np.clip(raw, 0.0, None)), raw)
        raw = np.clip(raw, self.clip_low, self.clip_high)  # NaN stays NaN
        # the order of the fitted pipeline: clip, scale, then fill with the (scaled) median
        scaled = (raw - self.means) / self.scales
        gaps = np.isnan(scaled)
        z[self.numeric_positions] = np.where(gaps, self.impute_values, scaled)
        flagged = gaps & (self.indicator_positions >= 0)
        # the indicator is 1 for a missing value, times its weight (1 / sqrt(group size))
        z[self.indicator_positions[flagged]] = self.indicator_weights[flagged]
        for name, positions in zip(self.categorical_features, self.category_positions, strict=True):
            value = record[name]
            text = "missing" if value is None or (
                not isinstance(value, str) and bool(pd.isna(value))  # type: ignore[call-overload]
            ) else str(value)
            position = positions.get(text)
            if position is not None:
                z[position] = self.category_weight
        return z

    def assign_one(self, record: Mapping[Any, object]) -> tuple[int, float]:
        """Return ``(segment, confidence)`` of one customer.

        Segment ``-1``: unassigned (HDBSCAN); ``-2``: not enough data.
        """
        z = self.vectorise(record)
        if self.min_coverage and record_coverage(
            record, [*self.numeric_features, *self.categorical_features]
        ) < self.min_coverage - 1e-12:
            return NOT_ENOUGH_DATA, 0.0
        if self.mixture is None:
            return -1, 0.0
        if self.assignment == "posterior":
            segment = int(np.argmax(self._gmm_log_scores(z)))
        elif self.assignment == "density":
            assert self.density_tree is not None
            segment = self.density_tree.predict_one(z)
        else:
            segment = int(np.argmin(self.center_norms - 2.0 * (self.centers @ z)))
        if segment < 0:
            return -1, 0.0
        return segment, float(self.mixture.predict_proba_one(z)[segment])

    def _gmm_log_scores(self, z: np.ndarray) -> np.ndarray:
        cholesky = self.model_arrays["precisions_cholesky"]
        if self.model_arrays["covariance_type"] == "full":
            projected = np.einsum("d,kde->ke", z, cholesky) - np.einsum(
                "kd,kde->ke", self.centers, cholesky
            )
            log_det = np.log(np.diagonal(cholesky, axis1=1, axis2=2)).sum(axis=1)
        else:
            projected = (z[None, :] - self.centers) * cholesky
            log_det = np.log(cholesky).sum(axis=1)
        return np.asarray(
            -0.5 * (projected * projected).sum(axis=1) + log_det + self.model_arrays["log_weights"]
        )


def _bound(value: float, default: float) -> float:
    return default if np.isnan(value) else float(value)
