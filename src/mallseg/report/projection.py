"""Customers on a plane: a 2-D principal-component view of the space the model segments in.

The model's own preprocessing (:meth:`Segmenter.transform`: scaling, log of money and
counts, one-hot categories with their weight) maps a fixed sample of at most
``max_customers`` customers into the model's space; a PCA of that sample gives the two
directions along which the customers differ most. The result keeps each point's segment
and, only when asked, the customer's id (the dashboard links a point to its customer;
the report never carries ids).

Examples
--------
>>> import numpy as np, pandas as pd
>>> points = np.vstack([np.zeros((5, 3)), np.ones((5, 3)) * 4])
>>> projection = project_points(points, np.repeat([0, 1], 5))
>>> projection.frame["segment"].tolist() == [0] * 5 + [1] * 5
True
>>> round(projection.explained[0], 2)
1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from mallseg.segment.segmenter import Segmenter

__all__ = ["MAX_POINTS", "Projection", "project_customers", "project_points"]

MAX_POINTS = 5_000
"""Customers shown at most: enough to see the shape, small enough for a page."""


@dataclass(frozen=True)
class Projection:
    """Points of a 2-D projection with their segments.

    Attributes
    ----------
    frame:
        ``x``, ``y``, ``segment`` (and ``customer_id`` when kept), one row per point.
    explained:
        Share of the model space's variance along each of the two axes.
    total:
        Customers the sample was drawn from.
    """

    frame: pd.DataFrame
    explained: tuple[float, float]
    total: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form.

        >>> Projection(pd.DataFrame({"x": [0.5], "y": [1.0], "segment": [2]}), (0.6, 0.2),
        ...            1).to_dict()["points"]
        [{'x': 0.5, 'y': 1.0, 'segment': 2}]
        """
        return {
            "points": [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
                       for r in self.frame.to_dict(orient="records")],
            "explained": list(self.explained), "total": self.total,
        }


def project_points(
    points: np.ndarray, segments: Sequence[int] | np.ndarray,
    customer_ids: Sequence[str] | None = None, *, total: int | None = None,
) -> Projection:
    """Project rows of the model space on their first two principal components.

    Raises
    ------
    ValueError
        When ``points`` and ``segments`` differ in length or there are no points.
    """
    matrix = np.asarray(points, dtype=np.float64)
    labels = np.asarray(segments, dtype=np.int64)
    if len(matrix) != len(labels):
        raise ValueError(f"points has {len(matrix)} rows for {len(labels)} segments")
    if len(matrix) == 0:
        raise ValueError("no customers to project")
    matrix = np.nan_to_num(matrix.reshape(len(matrix), -1))
    components = min(2, matrix.shape[1], len(matrix))
    pca = PCA(n_components=components, random_state=0)
    coordinates = pca.fit_transform(matrix)
    if components < 2:
        coordinates = np.column_stack([coordinates, np.zeros((len(matrix), 2 - components))])
    ratios = list(pca.explained_variance_ratio_) + [0.0] * (2 - components)
    frame = pd.DataFrame({"x": coordinates[:, 0], "y": coordinates[:, 1], "segment": labels})
    if customer_ids is not None:
        frame["customer_id"] = np.asarray(customer_ids).astype(str)
    return Projection(frame, (float(ratios[0]), float(ratios[1])),
                      int(total if total is not None else len(frame)))


def project_customers(
    segmenter: Segmenter, features: pd.DataFrame, segments: Sequence[int] | np.ndarray, *,
    keep_ids: bool = False, total: int | None = None,
) -> Projection:
    """Project customers (rows of ``features``) through ``segmenter``'s preprocessing.

    ``features`` should already be the sample (at most :data:`MAX_POINTS` rows, see
    :func:`mallseg.report.run_view.run_features`); extra rows are cut.
    """
    sample = features.head(MAX_POINTS)
    points = segmenter.transform(sample)
    ids = sample["customer_id"].astype(str).tolist() if keep_ids else None
    return project_points(points, np.asarray(segments)[: len(sample)], ids, total=total)
