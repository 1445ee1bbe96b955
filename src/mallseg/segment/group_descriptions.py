"""Descriptions of the groups a name cannot describe by their numbers.

Customers set aside for want of data ("Not enough data"), customers close to no segment
("Unassigned"), a segment most of whose customers lack the features, and a segment under
the minimum group size ("Small group"): each gets a sentence with its size, never a claim
its numbers do not back.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from mallseg.segment.personas import profile_segments
>>> profiles = profile_segments(pd.DataFrame({"age": [20, 30, 40, 50]}), np.array([0, 0, 1, -1]))
>>> unassigned_description(profiles)
'1 customers (25%) not close enough to any segment to be assigned.'
"""

from __future__ import annotations

from mallseg.segment.coverage import NOT_ENOUGH_DATA
from mallseg.segment.personas import SegmentProfiles
from mallseg.segment.small_groups import SMALL_GROUP_NAME, is_suppressed

__all__ = ["set_aside_description", "short_of_data_description", "small_group_text",
           "unassigned_description"]


def small_group_text(profiles: SegmentProfiles, segment: int, *,
                     several: bool) -> tuple[str, str]:
    """Name and description of a segment under the minimum group size."""
    size = int(profiles.row(segment)["size"])
    name = f"{SMALL_GROUP_NAME} (segment {segment})" if several else SMALL_GROUP_NAME
    return name, (f"{name}: {size:,} customers, fewer than the workspace's minimum group "
                  "size, so no figure about them is shown.")


def short_of_data_description(profiles: SegmentProfiles, segment: int) -> str:
    """A segment most of whose customers lack the segmentation's features."""
    row = profiles.row(segment)
    return (
        f"{int(row['size']):,} customers ({float(row['share']):.0%}): most have no value for "
        f"the features this segmentation uses (on average {float(row['coverage']):.0%} of "
        "them do), so the segment says little about who they are."
    )


def set_aside_description(profiles: SegmentProfiles) -> str:
    """The customers set aside as "Not enough data"."""
    row = profiles.row(NOT_ENOUGH_DATA)
    if is_suppressed(profiles, NOT_ENOUGH_DATA):
        return (f"{int(row['size']):,} customers ({float(row['share']):.0%}) set aside: they "
                "have values for too few of this segmentation's features to be placed in a "
                "segment.")
    return (
        f"{int(row['size']):,} customers ({float(row['share']):.0%}) set aside: they have "
        f"values for only {float(row['coverage']):.0%} of this segmentation's features on "
        "average, too few to place them in a segment."
    )


def unassigned_description(profiles: SegmentProfiles) -> str:
    """The customers close to no segment."""
    row = profiles.row(-1)
    return (
        f"{int(row['size']):,} customers ({float(row['share']):.0%}) not close enough to any "
        "segment to be assigned."
    )
