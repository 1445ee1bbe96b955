"""The segmentation estimator: one scikit-learn style object from customer table to segments.

Examples
--------
>>> import pandas as pd
>>> from sklearn.datasets import make_blobs
>>> points, _ = make_blobs(n_samples=120, centers=3, cluster_std=0.4, random_state=0)
>>> customers = pd.DataFrame(points, columns=["annual_income", "spending_score"])
>>> segmenter = Segmenter(features="classic", n_segments=3).fit(customers)
>>> segmenter.segment_sizes_.tolist()
[40, 40, 40]
>>> one = customers.iloc[[7]]
>>> segmenter.assign_one(one.iloc[0].to_dict())[0] == int(segmenter.predict(one)[0])
True
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from mallseg.core.schema import PII_COLUMN_NAMES
from mallseg.features.catalog import FEATURE_FAMILIES
from mallseg.features.lenses import resolve_lens
from mallseg.segment.algorithms import ALGORITHMS, make_clusterer, nearest_center
from mallseg.segment.assigner import CompiledAssigner
from mallseg.segment.confidence import ColumnLayout, SegmentMixture
from mallseg.segment.coverage import NOT_ENOUGH_DATA, enough_data
from mallseg.segment.inputs import (
    InvalidParameterError,
    check_count,
    check_feature_kinds,
    check_feature_values,
    check_random_state,
)
from mallseg.segment.member_profiles import feature_profile
from mallseg.segment.preprocess import (
    build_preprocessor,
    missing_indicator_features,
    output_slices,
    resolve_feature_kinds,
)

__all__ = ["CompiledAssigner", "InvalidParameterError", "Segmenter"]

logger = logging.getLogger(__name__)

ID_COLUMN = "customer_id"

ARRAY_COLUMN_PREFIX = "x"
"""Columns of a numpy array given with ``features=None`` are named ``x0``, ``x1``, ..."""

class Segmenter(ClusterMixin, TransformerMixin, BaseEstimator):
    """Segment customers with a chosen lens and algorithm.

    Parameters
    ----------
    features:
        Feature names (families such as ``"spend_share_"`` allowed), a lens name
        (``"classic"``, ``"value"``, ...), or None for every column except ``customer_id``
        and personal-data columns (then a numpy array is accepted too, its columns named
        ``x0``, ``x1``, ...).
    algorithm:
        A name from :data:`mallseg.segment.algorithms.ALGORITHMS`.
    n_segments:
        Number of segments (ignored by ``"hdbscan"``, which finds it).
    random_state:
        Seed; the same seed gives the same segments.
    fit_sample_size:
        When set and the data has more rows, fit on a random sample of this many rows, then
        assign every row (for very large customer tables).
    min_cluster_size:
        Smallest segment HDBSCAN keeps (default 2% of the rows, at least 5).
    feature_kinds:
        Preprocessing kind per feature (``numeric``, ``money``, ``count``, ``rate``,
        ``share``, ``flag``, ``categorical``), winning over the feature catalog and the
        column's data type: how attributes from a user's own file (``mnt_wines``: money,
        ``num_web_purchases``: count) are treated. Kinds of columns not used are ignored.
    min_coverage:
        A customer with values for fewer than this share of the features is set aside as
        "not enough data" (label ``-2``): fitted on by no model and placed in no segment
        (see :mod:`mallseg.segment.coverage`). 0 places everyone.

    Attributes
    ----------
    labels_ : ndarray of int
        Segment of every training row, exactly what :meth:`predict` gives for it
        (``-1`` = unassigned, HDBSCAN only; ``-2`` = not enough data).
    n_segments_, segment_sizes_, n_unassigned_, n_not_enough_data_ :
        Number of segments found, rows per segment, rows no segment claims, rows set aside.
    min_coverage_ :
        The coverage rule applied (0 when no customer had enough data, so all are placed).
    feature_names_in_, feature_kinds_ :
        The resolved features and their preprocessing kinds.
    preprocessor_, model_ :
        The fitted preprocessing (a ColumnTransformer) and clustering model.
    centers_ : ndarray of shape (n_segments_, n_outputs)
        Segment centres in the preprocessed space (GMM: component means).
    mixture_ : SegmentMixture
        The mixture behind :meth:`predict_proba` and :meth:`confidence`, fitted by EM from
        the segments (see :mod:`mallseg.segment.confidence`).
    population_profile_ : dict
        Training mean of every numeric feature (over the customers who have a value) and
        most frequent value of every categorical one, in original units.
    segment_profile_ : dict
        Segment -> the same statistics over the segment's members (None where no member
        has a value), so a segment and the population are compared on one scale.
    assigner_ : CompiledAssigner
        The fitted parameters as plain arrays, for :meth:`assign_one`.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
    ...                           "annual_income": [15, 16, 120, 125],
    ...                           "spending_score": [80, 78, 10, 12]})
    >>> segmenter = Segmenter(features="classic", n_segments=2).fit(customers)
    >>> segmenter.labels_.tolist() == segmenter.predict(customers).tolist()
    True
    >>> segmenter.confidence(customers).round(3).tolist()
    [1.0, 1.0, 1.0, 1.0]
    >>> segmenter.segment_profile_[int(segmenter.labels_[0])]["annual_income"]
    15.5
    """

    def __init__(
        self,
        features: Sequence[str] | str | None = None,
        algorithm: str = "kmeans",
        n_segments: int | None = 5,
        random_state: int | None = 0,
        fit_sample_size: int | None = None,
        min_cluster_size: int | None = None,
        feature_kinds: Mapping[str, str] | None = None,
        min_coverage: float = 0.0,
    ) -> None:
        self.features = features
        self.algorithm = algorithm
        self.n_segments = n_segments
        self.random_state = random_state
        self.fit_sample_size = fit_sample_size
        self.min_cluster_size = min_cluster_size
        self.feature_kinds = feature_kinds
        self.min_coverage = min_coverage

    # ------------------------------------------------------------------ fitting
    def fit(self, X: pd.DataFrame | np.ndarray, y: object = None) -> Segmenter:  # noqa: N803
        """Learn the preprocessing and the segments from the customer table ``X``.

        Raises
        ------
        TypeError
            When ``X`` is neither a DataFrame nor (with ``features=None``) a 2-D array.
        InvalidParameterError
            On an invalid parameter (naming it and its value).
        ValueError
            On missing feature columns, a numeric feature stored as text or without any
            value, or a flag that is not 0/1.
        """
        frame = self._check_frame(X, allow_array=self.features is None)
        explicit_kinds = check_feature_kinds(self.feature_kinds)
        features = self._resolve_features(frame)
        kinds = resolve_feature_kinds(features, frame, explicit_kinds)
        check_feature_values(frame, features, kinds)
        n_samples = len(frame)
        self.min_coverage_ = float(self.min_coverage)
        covered = enough_data(frame, features, self.min_coverage_)
        if covered.sum() < 2:  # nobody has enough data: place everyone
            covered = np.ones(n_samples, dtype=bool)
            self.min_coverage_ = 0.0
        covered_rows = np.flatnonzero(covered)
        sample = self._fit_rows(len(covered_rows))
        fit_rows = covered_rows if sample is None else covered_rows[sample]
        if len(fit_rows) == n_samples:
            fit_rows = None
        fit_frame = frame if fit_rows is None else frame.iloc[fit_rows]
        self._check_params(len(fit_frame), n_samples)

        preprocessor = build_preprocessor(features, fit_frame, kinds).fit(fit_frame[features])
        fit_points = np.asarray(preprocessor.transform(fit_frame[features]), dtype=np.float64)
        model = make_clusterer(
            self.algorithm,
            self.n_segments,
            self.random_state,
            len(fit_points),
            n_features=fit_points.shape[1],
            min_cluster_size=self.min_cluster_size,
        ).fit(fit_points)

        self.feature_names_in_ = np.asarray(features, dtype=object)
        self.n_features_in_ = len(features)
        self.fitted_on_array_ = not isinstance(X, pd.DataFrame)
        self.feature_kinds_ = kinds
        self.preprocessor_ = preprocessor
        self.model_ = model
        centers = model.means_ if ALGORITHMS[self.algorithm].assignment == "posterior" else (
            model.cluster_centers_
        )
        self.centers_ = np.asarray(centers, dtype=np.float64)
        self.n_segments_ = int(self.centers_.shape[0])
        all_points = fit_points if fit_rows is None else self._transform(frame)
        self.labels_ = self._assign(all_points)
        self.labels_[~covered] = NOT_ENOUGH_DATA
        self.n_not_enough_data_ = int((~covered).sum())
        assigned = self.labels_ >= 0
        self.segment_sizes_ = np.bincount(self.labels_[assigned], minlength=self.n_segments_)
        self.n_unassigned_ = int((self.labels_ == -1).sum())
        fit_labels = self.labels_ if fit_rows is None else self.labels_[fit_rows]
        self.mixture_ = (
            SegmentMixture(self._column_layout(), random_state=self.random_state).fit(
                fit_points, fit_labels, self.n_segments_
            )
            if self.n_segments_ > 0 else None
        )
        feature_frame = frame[features]
        self.population_profile_ = feature_profile(feature_frame, features, kinds)
        self.segment_profile_ = {
            segment: feature_profile(
                feature_frame.iloc[np.flatnonzero(self.labels_ == segment)], features, kinds
            )
            for segment in range(self.n_segments_)
        }
        self.assigner_ = CompiledAssigner.from_segmenter(self)
        logger.info(
            "segmented %d customers into %d segments with %s on %d features",
            n_samples, self.n_segments_, self.algorithm, len(features),
        )
        return self

    def fit_predict(
        self, X: pd.DataFrame | np.ndarray, y: object = None, **kwargs: Any  # noqa: N803
    ) -> np.ndarray:
        """Fit, then return the segment of every row (identical to ``fit(X).predict(X)``)."""
        return np.asarray(self.fit(X).labels_.copy())

    # --------------------------------------------------------------- assigning
    def transform(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:  # noqa: N803
        """Return the preprocessed matrix of ``X``: the space segments live in."""
        check_is_fitted(self, "model_")
        frame = self._check_frame(
            X, allow_array=bool(self.fitted_on_array_), n_columns=self.n_features_in_
        )
        return self._transform(frame)

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:  # noqa: N803
        """Return the segment of every row of ``X``.

        ``-1``: unassigned (HDBSCAN only); ``-2``: not enough data (fewer than
        ``min_coverage`` of the features have a value).
        """
        frame = self._checked(X)
        return self._placed(self._assign(self._transform(frame)), frame)

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:  # noqa: N803
        """Return the probability of every segment for every row of ``X`` (rows sum to 1).

        The posteriors of :attr:`mixture_`, a mixture with one component per segment fitted
        by EM from the segments (:mod:`mallseg.segment.confidence`): among customers given
        0.8 for a segment, about eight in ten belong to it. The segment :meth:`predict`
        assigns is the algorithm's own, which for a customer on a boundary can be another
        than the most probable one here.
        """
        return self._proba(self.transform(X))

    def confidence(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:  # noqa: N803
        """Return the probability that each row is in its assigned segment (0 if unassigned)."""
        frame = self._checked(X)
        points = self._transform(frame)
        return _pick(self._proba(points), self._placed(self._assign(points), frame))

    def assign_one(self, record: Mapping[Any, object]) -> tuple[int, float]:
        """Return ``(segment, confidence)`` of one customer given as a mapping, in microseconds.

        Same answer as :meth:`predict` and :meth:`confidence`, computed with plain numpy
        from :attr:`assigner_` instead of scikit-learn's validated path.
        """
        check_is_fitted(self, "assigner_")
        return self.assigner_.assign_one(record)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Return the names of the preprocessed output columns."""
        check_is_fitted(self, "preprocessor_")
        return np.asarray(self.preprocessor_.get_feature_names_out(), dtype=object)

    # ---------------------------------------------------------------- internals
    def _checked(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:  # noqa: N803
        check_is_fitted(self, "model_")
        return self._check_frame(
            X, allow_array=bool(self.fitted_on_array_), n_columns=self.n_features_in_
        )

    def _placed(self, labels: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
        """``labels`` with customers short of data set aside (``-2``)."""
        min_coverage = float(getattr(self, "min_coverage_", 0.0))  # absent in older files
        if not min_coverage:
            return labels
        covered = enough_data(frame, list(self.feature_names_in_), min_coverage)
        return np.where(covered, labels, NOT_ENOUGH_DATA)

    def _transform(self, frame: pd.DataFrame) -> np.ndarray:
        features = list(self.feature_names_in_)
        missing = [f for f in features if f not in frame.columns]
        if missing:
            raise ValueError(f"X lacks the feature column(s) {missing} the segmenter was fitted on")
        return np.asarray(self.preprocessor_.transform(frame[features]), dtype=np.float64)

    def _assign(self, points: np.ndarray) -> np.ndarray:
        if self.n_segments_ == 0:
            return np.full(len(points), -1, dtype=np.int64)
        if ALGORITHMS[self.algorithm].assignment == "centroid":
            return nearest_center(points, self.centers_)
        return np.asarray(self.model_.predict(points), dtype=np.int64)

    def _proba(self, points: np.ndarray) -> np.ndarray:
        if self.n_segments_ == 0:
            return np.zeros((len(points), 0))
        mixture: SegmentMixture | None = self.mixture_
        assert mixture is not None  # fitted whenever there is a segment
        return mixture.predict_proba(points)

    def _column_layout(self) -> ColumnLayout:
        slices = output_slices(self.preprocessor_)
        with_indicator = set(missing_indicator_features(self.preprocessor_))
        values: list[int] = []
        indicators: list[int] = []
        blocks: list[tuple[int, ...]] = []
        for name, kind in self.feature_kinds_.items():
            columns = slices[name]
            if kind == "categorical":
                blocks.append(tuple(range(columns.start, columns.stop)))
            else:
                values.append(columns.start)
                indicators.append(columns.start + 1 if name in with_indicator else -1)
        return ColumnLayout(tuple(values), tuple(indicators), tuple(blocks))

    def _check_frame(
        self, X: object, *, allow_array: bool, n_columns: int | None = None  # noqa: N803
    ) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X
        if not allow_array:
            hint = (
                " (a numpy array is accepted when features=None)" if self.features is not None
                else " (the segmenter was fitted on named columns)"
            )
            raise TypeError(
                f"X must be a pandas DataFrame with named feature columns, got "
                f"{type(X).__name__}{hint}"
            )
        # scikit-learn's own validation: 2-D, dense, numeric, finite but for missing values
        matrix = check_array(
            X, dtype="numeric", ensure_all_finite="allow-nan", ensure_min_samples=1,
            input_name="X",
        )
        if n_columns is not None and matrix.shape[1] != n_columns:
            raise ValueError(
                f"X has {matrix.shape[1]} features, but Segmenter is expecting "
                f"{n_columns} features as input"
            )
        columns = [f"{ARRAY_COLUMN_PREFIX}{i}" for i in range(matrix.shape[1])]
        return pd.DataFrame(matrix, columns=columns)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # missing values are data here: a numeric feature with gaps gets a missing indicator
        tags.input_tags.allow_nan = True
        return tags

    def _resolve_features(self, frame: pd.DataFrame) -> list[str]:
        columns = [str(c) for c in frame.columns]
        if self.features is None:
            chosen = [
                c for c in columns
                if c != ID_COLUMN and c.lower().replace("_", "") not in PII_COLUMN_NAMES
            ]
            if not chosen:
                raise ValueError("features=None but X has no column besides customer_id")
            return chosen
        if isinstance(self.features, str):
            return resolve_lens(self.features, columns)
        wanted = list(self.features)
        if not wanted or not all(isinstance(f, str) for f in wanted):
            raise InvalidParameterError(
                f"features={self.features!r} is invalid: expected a lens name, a non-empty "
                "list of column names, or None"
            )
        present = set(columns)
        missing = [f for f in wanted if f not in present and f not in FEATURE_FAMILIES]
        if missing:
            raise ValueError(f"X lacks the feature column(s) {missing} named in features")
        return resolve_lens(wanted, columns)

    def _fit_rows(self, n_samples: int) -> np.ndarray | None:
        check_count("fit_sample_size", self.fit_sample_size, 2, allow_none=True)
        if self.fit_sample_size is None or n_samples <= self.fit_sample_size:
            return None
        check_random_state(self.random_state)
        rng = np.random.default_rng(self.random_state)
        return np.sort(rng.choice(n_samples, size=int(self.fit_sample_size), replace=False))

    def _check_params(self, n_fit: int, n_samples: int) -> None:
        if self.algorithm not in ALGORITHMS:
            raise InvalidParameterError(
                f"algorithm={self.algorithm!r} is not known: expected one of "
                f"{', '.join(sorted(ALGORITHMS))}"
            )
        check_random_state(self.random_state)
        if n_samples < 2:
            raise ValueError(
                f"X has n_samples={n_samples} row(s): segmenting needs at least 2"
            )
        check_count("min_cluster_size", self.min_cluster_size, 2, allow_none=True)
        if ALGORITHMS[self.algorithm].needs_n_segments:
            check_count("n_segments", self.n_segments, 1, allow_none=False)
            assert self.n_segments is not None
            if self.n_segments > n_fit:
                where = "n_samples" if n_fit == n_samples else "fit_sample_size"
                raise ValueError(f"n_segments={self.n_segments} must be <= {where}={n_fit}")
        elif self.min_cluster_size is not None and self.min_cluster_size > n_fit:
            raise ValueError(
                f"min_cluster_size={self.min_cluster_size} must be <= n_samples={n_fit}"
            )


def _pick(proba: np.ndarray, labels: np.ndarray) -> np.ndarray:
    result = np.zeros(len(labels), dtype=np.float64)
    assigned = labels >= 0
    result[assigned] = proba[np.flatnonzero(assigned), labels[assigned]]
    return result
