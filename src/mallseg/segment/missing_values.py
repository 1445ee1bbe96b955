"""How a missing numeric value is encoded: the median, plus a weighted missing indicator.

A numeric feature with missing values at fit time gets a 0/1 missing indicator next to its
(median-filled) value. Missing versus present counts like one standard deviation
(:data:`MISSING_INDICATOR_WEIGHT`); features missing for exactly the same customers share
that unit, ``1 / sqrt(m)`` each for ``m`` of them, so one fact (no purchases) is not counted
once per spend share. :mod:`mallseg.segment.preprocess` builds the pipelines with these
weights.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"a": [1.0, None], "b": [2.0, None], "c": [None, 3.0]})
>>> {name: round(w, 3) for name, w in missing_indicator_weights(frame, ["a", "b", "c"]).items()}
{'a': 0.707, 'b': 0.707, 'c': 1.0}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline

__all__ = [
    "MISSING_INDICATOR_WEIGHT",
    "has_indicator",
    "indicator_weight",
    "missing_indicator_features",
    "missing_indicator_weights",
    "weight_missing_indicator",
]

MISSING_INDICATOR_WEIGHT: float = 1.0
"""What a missing value adds to a customer's distance from one with the value present.

Numeric columns are standardised, so a difference of 1 is one standard deviation. The
indicator of a feature missing alone takes this value when missing (0 when present); the
``m`` indicators of features missing together take ``MISSING_INDICATOR_WEIGHT / sqrt(m)``
each, so their squared distances still add up to one standard deviation squared."""


def weight_missing_indicator(values: Any, weight: float = MISSING_INDICATOR_WEIGHT) -> np.ndarray:
    """Multiply the missing indicator (the second column, when present) by ``weight``.

    Examples
    --------
    >>> weight_missing_indicator([[0.5, 1.0], [0.1, 0.0]], weight=0.5).tolist()
    [[0.5, 0.5], [0.1, 0.0]]
    >>> weight_missing_indicator([[0.5]], weight=0.5).tolist()
    [[0.5]]
    """
    matrix = np.array(values, dtype=np.float64)
    if matrix.shape[1] == 2:
        matrix[:, 1] *= weight
    return matrix


def missing_indicator_weights(
    frame: pd.DataFrame, numeric_features: Sequence[str]
) -> dict[str, float]:
    """Return the weight of each numeric feature's missing indicator, from ``frame``.

    Features missing for exactly the same rows share one unit: ``m`` of them get
    ``MISSING_INDICATOR_WEIGHT / sqrt(m)`` each. Features without missing values get the
    full weight (they have no indicator at fit time anyway).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"a": [1.0, None, 3.0], "b": [2.0, None, 1.0],
    ...                       "c": [None, 1.0, 1.0], "d": [1.0, 2.0, 3.0]})
    >>> {k: round(v, 3) for k, v in missing_indicator_weights(frame, list("abcd")).items()}
    {'a': 0.707, 'b': 0.707, 'c': 1.0, 'd': 1.0}
    """
    masks = {
        name: frame[name].isna().to_numpy().tobytes()
        for name in numeric_features
        if name in frame.columns
    }
    group_sizes: dict[bytes, int] = {}
    for mask in masks.values():
        group_sizes[mask] = group_sizes.get(mask, 0) + 1
    return {
        name: MISSING_INDICATOR_WEIGHT / float(np.sqrt(group_sizes[masks[name]]))
        if name in masks else MISSING_INDICATOR_WEIGHT
        for name in numeric_features
    }


def indicator_weight(pipeline: Pipeline) -> float:
    """Return the weight of the missing indicator in one fitted numeric feature pipeline.

    Examples
    --------
    >>> import pandas as pd
    >>> from mallseg.segment.preprocess import build_preprocessor
    >>> frame = pd.DataFrame({"a": [1.0, None], "b": [2.0, None]})
    >>> pre = build_preprocessor(["a", "b"], frame).fit(frame)
    >>> round(indicator_weight(pre.named_transformers_["a"]), 4)
    0.7071
    """
    step = pipeline.named_steps["weight_indicator"]
    return float((step.kw_args or {}).get("weight", MISSING_INDICATOR_WEIGHT))


def missing_indicator_features(preprocessor: ColumnTransformer) -> list[str]:
    """Return the numeric features that have a missing indicator in the fitted ``preprocessor``.

    Examples
    --------
    >>> import pandas as pd
    >>> from mallseg.segment.preprocess import build_preprocessor
    >>> frame = pd.DataFrame({"age": [20.0, None], "frequency": [1, 2]})
    >>> missing_indicator_features(build_preprocessor(["age", "frequency"]).fit(frame))
    ['age']
    """
    return [
        name
        for name, pipeline, _columns in preprocessor.transformers_
        if name != "remainder"
        and "impute" in pipeline.named_steps
        and has_indicator(pipeline.named_steps["impute"])
    ]


def has_indicator(imputer: SimpleImputer) -> bool:
    """Whether a fitted ``SimpleImputer`` adds a missing indicator.

    Examples
    --------
    >>> import numpy as np
    >>> has_indicator(SimpleImputer(add_indicator=True).fit(np.array([[1.0], [np.nan]])))
    True
    """
    indicator = getattr(imputer, "indicator_", None)
    return indicator is not None and len(indicator.features_) > 0
