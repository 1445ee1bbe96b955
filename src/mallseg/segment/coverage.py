"""Customers with too little data to place: set aside as "Not enough data" (label -2).

A customer registered from a receipts file has no demographics; a customer who never came
has no visit features. With most of a lens's features missing, a segment could only be
guessed from the few that are present, so such customers are fitted on by no model and
assigned to no segment: they get the label :data:`NOT_ENOUGH_DATA` (-2) and their own
"Not enough data" row in every profile, and the segments are those of the customers the
data describes.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"age": [30, None, None], "gender": ["f", None, "m"]})
>>> feature_coverage(frame, ["age", "gender"]).tolist()
[1.0, 0.0, 0.5]
>>> enough_data(frame, ["age", "gender"], 0.5).tolist()
[True, False, True]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_MIN_COVERAGE",
    "NOT_ENOUGH_DATA",
    "NOT_ENOUGH_DATA_LABEL",
    "UNASSIGNED_LABEL",
    "enough_data",
    "feature_coverage",
    "record_coverage",
    "segment_label",
]

NOT_ENOUGH_DATA = -2
"""Label of customers with too few of the model's features to be placed."""

DEFAULT_MIN_COVERAGE = 0.5
"""Share of the model's features a customer needs to have values for to be placed."""

UNASSIGNED_LABEL = "Unassigned"
"""Display label of customers no segment claims (label ``-1``)."""

NOT_ENOUGH_DATA_LABEL = "Not enough data"
"""Display label of customers set aside for too little data (label ``-2``)."""


def segment_label(segment: int) -> str:
    """Display label of a segment id.

    >>> segment_label(3), segment_label(-1), segment_label(-2)
    ('Segment 3', 'Unassigned', 'Not enough data')
    """
    if segment == -1:
        return UNASSIGNED_LABEL
    if segment == NOT_ENOUGH_DATA:
        return NOT_ENOUGH_DATA_LABEL
    return f"Segment {segment}"


def feature_coverage(frame: pd.DataFrame, features: Sequence[str]) -> np.ndarray:
    """Share of ``features`` each row has a value for."""
    if not features:
        return np.ones(len(frame))
    present = frame[list(features)].notna().to_numpy()
    return np.asarray(present.mean(axis=1), dtype=np.float64)


def enough_data(frame: pd.DataFrame, features: Sequence[str], min_coverage: float) -> np.ndarray:
    """Whether each row has values for at least ``min_coverage`` of ``features``."""
    return np.asarray(feature_coverage(frame, features) >= min_coverage - 1e-12)


def record_coverage(record: Mapping[str, object], features: Sequence[str]) -> float:
    """Share of ``features`` one customer (a mapping) has a value for.

    >>> record_coverage({"age": 30, "gender": None}, ["age", "gender"])
    0.5
    """
    if not features:
        return 1.0
    present = 0
    for name in features:
        value = record.get(name)
        if value is None or value is pd.NA:
            continue
        if not isinstance(value, str) and bool(pd.isna(value)):  # type: ignore[call-overload]
            continue
        present += 1
    return present / len(features)
