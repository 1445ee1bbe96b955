"""The statistics a fitted Segmenter keeps of its population and of each segment.

A profile gives, in original units, the arithmetic mean of every numeric feature over the
customers who have a value, and the most frequent level of every categorical one, so that a
segment and its population are compared on one scale (see
:mod:`mallseg.segment.explain`).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"age": [20.0, None, 40.0], "gender": ["f", "m", "f"]})
>>> feature_profile(frame, ["age", "gender"], {"age": "linear", "gender": "categorical"})
{'age': 30.0, 'gender': 'f'}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mallseg.segment.preprocess import category_strings

__all__ = ["Profile", "feature_profile", "most_frequent"]

Profile = dict[str, float | str | None]
"""Feature -> mean (numeric) or most frequent level (categorical); None without values."""


def most_frequent(values: np.ndarray) -> str:
    """Return the most frequent string in ``values``; ties go to the alphabetically first.

    Examples
    --------
    >>> import numpy as np
    >>> most_frequent(np.array(["m", "f", "m", "f"], dtype=object))
    'f'
    """
    levels, counts = np.unique(np.asarray(values, dtype=str), return_counts=True)
    return str(levels[int(np.argmax(counts))])


def feature_profile(
    frame: pd.DataFrame, features: Sequence[str], kinds: Mapping[str, str]
) -> Profile:
    """Arithmetic mean of numeric features (present values), most frequent categorical level."""
    profile: Profile = {}
    for name in features:
        if kinds[name] == "categorical":
            values = category_strings(frame[[name]]).ravel()
            profile[name] = most_frequent(values) if len(values) else None
        else:
            numbers_ = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
            present = numbers_[~np.isnan(numbers_)]
            profile[name] = float(present.mean()) if len(present) else None
    return profile
