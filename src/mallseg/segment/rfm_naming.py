"""Names and descriptions of RFM groups, with the numbers behind them.

An RFM group's name is its standard name; its description says which score cells it holds
and how the group's recency, frequency and spend compare with everyone's, then what to do.

Examples
--------
>>> import pandas as pd
>>> from mallseg.segment.personas import profile_segments
>>> from mallseg.segment.rfm import rfm_segments
>>> frame = pd.DataFrame({"recency_days": [1, 5, 40, 200, 300],
...                       "frequency": [12, 6, 3, 1, 1],
...                       "monetary_total": [900.0, 400.0, 120.0, 30.0, 20.0]})
>>> result = rfm_segments(frame)
>>> names = name_rfm_groups(profile_segments(frame, result.labels), result)
>>> names[0].name, names[0].description.split(":")[0]
('Champions', 'Champions (R 5, FM 4-5)')
"""

from __future__ import annotations

from mallseg.segment.descriptions import feature_phrase
from mallseg.segment.naming import SegmentName
from mallseg.segment.personas import SegmentProfiles
from mallseg.segment.rfm import NO_PURCHASE_GROUP, RFM_FEATURES, RFMResult

__all__ = ["name_rfm_groups"]


def name_rfm_groups(profiles: SegmentProfiles, result: RFMResult) -> dict[int, SegmentName]:
    """Segment id -> name and description, for every group present in ``profiles``."""
    names = result.group_names()
    named: dict[int, SegmentName] = {}
    for segment in profiles.segments:
        row = profiles.row(segment)
        head = f"{int(row['size']):,} customers ({float(row['share']):.0%})"
        if segment >= len(result.groups):
            named[segment] = SegmentName(
                NO_PURCHASE_GROUP, f"{NO_PURCHASE_GROUP}: {head} who never bought in the period."
            )
            continue
        group = result.groups[segment]
        effects = profiles.distinguishing(segment)
        rfm_rows = effects[effects["feature"].isin(RFM_FEATURES)]
        numbers = ", ".join(feature_phrase(r, None, profiles.kinds) for _, r in rfm_rows.iterrows())
        text = f"{group.name} ({group.rule()}): {head}"
        text += f"; {numbers}." if numbers else "."
        if group.action:
            text += f" {group.action}"
        named[segment] = SegmentName(names[segment], text)
    return named
