"""Customers as a fitted model sees them: points in its space, segments and confidence.

The segment-level drift signals (segment mix, centroids, customers who fit no segment, fit
quality) all read a window's customers through the *old* model: its preprocessing places
them in the model's space, its rule assigns their segment and its mixture gives the
confidence. Large windows are first reduced to a seeded uniform sample of ``max_rows``
customers (a share measured on 100,000 customers is within 0.2 percentage point of the
whole, against bands of 3 points and more).

Examples
--------
>>> import pandas as pd
>>> from mallseg.segment.segmenter import Segmenter
>>> customers = pd.DataFrame({"annual_income": [15, 16, 120, 125, 18, 119],
...                           "spending_score": [80, 78, 10, 12, 79, 11]})
>>> model = Segmenter(features="classic", n_segments=2).fit(customers)
>>> view = view_customers(model, customers)
>>> view.points.shape, view.labels.tolist() == model.labels_.tolist()
((6, 2), True)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from mallseg.segment.coverage import segment_label
from mallseg.segment.segmenter import Segmenter
from mallseg.segment.selection.search import assign_points

__all__ = ["ModelView", "SegmentLabels", "view_customers"]

logger = logging.getLogger(__name__)

_SINGLE_THREAD_CELLS = 2_000_000
_CHECKED_ROWS = 64


@dataclass(frozen=True)
class ModelView:
    """One window's customers in a model's space.

    Attributes
    ----------
    points:
        Preprocessed rows (the model's space).
    labels:
        Segment the model assigns (its own labels; ``-1`` unassigned).
    confidence:
        Probability of the assigned segment.
    total:
        Customers of the window before sampling.
    """

    points: np.ndarray
    labels: np.ndarray
    confidence: np.ndarray
    total: int

    @property
    def sampled(self) -> bool:
        """Whether the view holds a sample of the window."""
        return len(self.labels) < self.total


@dataclass(frozen=True)
class SegmentLabels:
    """How a model's segment labels are shown: the stable id and the name of each.

    A model numbers its segments 0..k-1; after a refit that kept identities, label 3 may be
    segment 5 of the lineage. Labels without an entry show as themselves.

    Examples
    --------
    >>> labels = SegmentLabels(names={0: "Savers"}, ids={0: 4})
    >>> labels.id_of(0), labels.name_of(0), labels.id_of(1), labels.name_of(1)
    (4, 'Savers', 1, 'Segment 1')
    >>> labels.name_of(-1)
    'Unassigned'
    """

    names: Mapping[int, str]
    ids: Mapping[int, int] | None = None

    def id_of(self, label: int) -> int:
        """The stable segment id of a model label."""
        return int((self.ids or {}).get(int(label), int(label)))

    def name_of(self, label: int) -> str:
        """The name of a model label."""
        if int(label) < 0:
            return segment_label(int(label))
        return str(self.names.get(int(label), f"Segment {self.id_of(label)}"))


def view_customers(
    segmenter: Segmenter, frame: pd.DataFrame, *, max_rows: int | None = None,
    random_state: int = 0,
) -> ModelView:
    """Place ``frame``'s customers (or a uniform sample of ``max_rows``) in the model's space.

    Raises
    ------
    ValueError
        When ``frame`` lacks a feature the model was fitted on.
    """
    total = len(frame)
    if max_rows is not None and total > max_rows:
        rows = np.sort(np.random.default_rng(random_state).choice(total, max_rows,
                                                                  replace=False))
        frame = frame.iloc[rows]
    # On small windows thread start-up and contention cost more than parallel work saves.
    cells = len(frame) * len(segmenter.feature_names_in_)
    with threadpool_limits(limits=1 if cells < _SINGLE_THREAD_CELLS else None):
        points = np.asarray(segmenter.transform(frame), dtype=np.float64)
        labels, confidence = _place(segmenter, points)
        # The preprocessing is the costly step: it runs once, and the model's own predict
        # on a few rows confirms that the points were assigned as it assigns them.
        head = frame.iloc[:_CHECKED_ROWS]
        if not np.array_equal(labels[:len(head)], np.asarray(segmenter.predict(head))):
            logger.warning("segment assignment from the model's space disagrees with the "
                           "model's predict: using predict on every customer")
            labels = np.asarray(segmenter.predict(frame), dtype=np.int64)
            confidence = np.asarray(segmenter.confidence(frame), dtype=np.float64)
    return ModelView(points, labels, confidence, total)


def _place(segmenter: Segmenter, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segment and confidence of preprocessed rows, as the model's predict gives them."""
    if int(segmenter.n_segments_) == 0:
        return np.full(len(points), -1, dtype=np.int64), np.zeros(len(points))
    labels = np.asarray(assign_points(segmenter.algorithm, segmenter.model_, points),
                        dtype=np.int64)
    mixture = segmenter.mixture_
    if mixture is None:
        return labels, np.ones(len(points))
    proba = np.asarray(mixture.predict_proba(points), dtype=np.float64)
    confidence = np.zeros(len(points))
    assigned = labels >= 0
    confidence[assigned] = proba[np.flatnonzero(assigned), labels[assigned]]
    return labels, confidence
