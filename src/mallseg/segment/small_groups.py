"""Segment profiles under the minimum group size: small segments keep their size, not figures.

A segmentation found by measurement never has a segment of fewer than ``k`` customers (the
selection's ``min_segment_size`` is the workspace's ``k``), but some groups are not chosen
by size: the "Not enough data" and "Unassigned" groups, the fixed RFM groups, a fixed ``k``
on a small table. Their rows stay in the profiles (sizes reconcile with the population),
and everything computed from their members goes: means, medians, top levels, coverage,
distinguishing features, top categories, peak band, and their effect and category rows.
The row says ``suppressed = True`` and the name says why
(:func:`mallseg.segment.naming.name_segments` calls such a segment "Small group").

Examples
--------
>>> import numpy as np, pandas as pd
>>> from mallseg.core.group_size import GroupSizeRule
>>> from mallseg.segment.personas import profile_segments
>>> frame = pd.DataFrame({"age": [20, 22, 21, 23, 60, 64, 61]})
>>> profiles = profile_segments(frame, np.array([0, 0, 0, 0, 1, 1, 1]))
>>> shown = suppress_small_segments(profiles, GroupSizeRule(4))
>>> shown.summary[["segment", "size", "mean_age", "suppressed"]].values.tolist()
[[0, 4, 21.5, False], [1, 3, nan, True]]
>>> sorted(shown.effects["segment"].unique().tolist())
[0]
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from mallseg.core.group_size import GroupSizeRule
from mallseg.segment.personas import SegmentProfiles

__all__ = ["SMALL_GROUP_NAME", "is_suppressed", "suppress_small_segments"]

SMALL_GROUP_NAME = "Small group"
"""The name of a segment too small to be described."""

_KEPT = ("segment", "label", "size", "share", "enough_data")


def suppress_small_segments(profiles: SegmentProfiles, rule: GroupSizeRule) -> SegmentProfiles:
    """``profiles`` with every figure of the segments under ``rule.k`` customers removed."""
    summary = profiles.summary.copy()
    small = ~summary["size"].map(rule.allows).astype(bool)
    summary["suppressed"] = small.to_numpy()
    if not small.any():
        return dataclasses.replace(profiles, summary=summary)
    for column in summary.columns:
        if column in _KEPT or column == "suppressed":
            continue
        values = summary[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            summary[column] = values.astype("float64")
            summary.loc[small, column] = np.nan
        else:
            summary[column] = values.astype(object)
            blank = [() if column == "distinguishing" else None] * int(small.sum())
            summary.loc[small, column] = pd.Series(blank, index=summary.index[small],
                                                   dtype=object)
    hidden = set(summary.loc[small, "segment"].astype(int))
    effects = profiles.effects[~profiles.effects["segment"].isin(hidden)].reset_index(drop=True)
    categories = profiles.categories[
        ~profiles.categories["segment"].isin(hidden)].reset_index(drop=True)
    return dataclasses.replace(profiles, summary=summary, effects=effects,
                               categories=categories)


def is_suppressed(profiles: SegmentProfiles, segment: int) -> bool:
    """Whether ``segment``'s figures were removed by :func:`suppress_small_segments`.

    >>> import numpy as np, pandas as pd
    >>> from mallseg.segment.personas import profile_segments
    >>> is_suppressed(profile_segments(pd.DataFrame({"age": [1, 2]}), np.array([0, 1])), 0)
    False
    """
    if "suppressed" not in profiles.summary.columns:
        return False
    row = profiles.summary[profiles.summary["segment"] == segment]
    return bool(not row.empty and bool(row.iloc[0]["suppressed"]))
