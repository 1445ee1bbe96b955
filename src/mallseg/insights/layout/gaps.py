"""Categories a segment under-buys compared with the segments most like it.

Two segments are alike when they split their spend over the categories alike: the
distance between two segments is the total-variation distance of their category spend
shares (half the sum of absolute differences: 0 for the same mix, 1 for disjoint ones).
Each segment is compared with its ``neighbours`` nearest segments among those within
``max_distance`` of it (by default 0.5: the two share at least half of their spend mix);
a segment with no segment that near has nothing like it to be compared with. A category is
under-bought when the neighbours put at least ``min_reference_share`` of their spend in
it and the segment at most ``max_ratio`` times their (mean) share. The gap in money is
what the segment would spend there at its neighbours' share: ``(reference share - own
share) x segment spend`` over the period.

Only segments with at least ``min_customers`` buying customers are compared (the
reliability of a share rests on the segment's size, so a small category cell is fine
here: few buyers in a large segment *is* the finding).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({
...     "segment": ["A", "A", "B", "B", "C", "C"],
...     "category": ["beauty", "shoes"] * 3,
...     "spend": [10.0, 990.0, 300.0, 700.0, 250.0, 750.0],
...     "customers": [5, 100, 60, 100, 50, 100]})
>>> sizes = {"A": 100, "B": 100, "C": 100}
>>> gaps = find_category_gaps(frame, sizes, neighbours=2, min_customers=50)
>>> g = gaps[0]
>>> (g.segment, g.category, g.own_share, g.reference_share, g.neighbours, g.gap_spend)
('A', 'beauty', 0.01, 0.275, ('C', 'B'), 265.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CategoryGap", "find_category_gaps"]

_ROUND = 4


@dataclass(frozen=True)
class CategoryGap:
    """A category one segment buys much less of than the segments like it."""

    segment: str
    category: str
    own_share: float
    """Share of the segment's spend in the category."""
    reference_share: float
    """Mean share of the neighbours."""
    ratio: float
    neighbours: tuple[str, ...]
    distances: tuple[float, ...]
    """Total-variation distance of each neighbour's category mix from the segment's."""
    own_penetration: float
    """Share of the segment's buying customers who bought in the category."""
    reference_penetration: float
    segment_customers: int
    segment_spend: float
    gap_spend: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "segment": self.segment, "category": self.category,
            "own_share": self.own_share, "reference_share": self.reference_share,
            "ratio": self.ratio, "neighbours": list(self.neighbours),
            "distances": list(self.distances), "own_penetration": self.own_penetration,
            "reference_penetration": self.reference_penetration,
            "segment_customers": int(self.segment_customers),
            "segment_spend": self.segment_spend, "gap_spend": self.gap_spend,
        }


def find_category_gaps(
    frame: pd.DataFrame,
    segment_customers: Mapping[str, int],
    *,
    neighbours: int = 2,
    min_customers: int = 30,
    min_reference_share: float = 0.03,
    max_ratio: float = 0.5,
    max_distance: float = 0.5,
) -> list[CategoryGap]:
    """Under-bought categories of every segment, largest gap in money first.

    Parameters
    ----------
    frame:
        One row per segment x category with ``segment``, ``category``, ``spend`` and
        ``customers`` (buyers of the segment in the category).
    segment_customers:
        Buying customers of each segment.
    neighbours:
        How many nearest segments a segment is compared with.
    min_customers:
        Fewest buying customers for a segment to be compared.
    min_reference_share, max_ratio:
        The under-buy rule (see the module notes).
    max_distance:
        Farthest total-variation distance of a segment counted as like another.
    """
    if neighbours < 1:
        raise ValueError(f"neighbours={neighbours} must be >= 1")
    eligible = sorted(s for s, n in segment_customers.items() if n >= min_customers)
    if len(eligible) < 2 or frame.empty:
        return []
    data = frame[frame["segment"].isin(eligible)]
    spend = data.pivot_table(index="segment", columns="category", values="spend",
                             aggfunc="sum", fill_value=0.0).reindex(eligible, fill_value=0.0)
    buyers = data.pivot_table(index="segment", columns="category", values="customers",
                              aggfunc="sum", fill_value=0).reindex(index=eligible,
                                                                   columns=spend.columns,
                                                                   fill_value=0)
    totals = spend.sum(axis=1).to_numpy()
    shares = spend.to_numpy() / np.where(totals > 0, totals, 1.0)[:, None]
    sizes = np.array([segment_customers[s] for s in eligible], dtype=float)
    penetration = buyers.to_numpy() / sizes[:, None]
    distance = 0.5 * np.abs(shares[:, None, :] - shares[None, :, :]).sum(axis=2)
    categories = [str(c) for c in spend.columns]
    found: list[CategoryGap] = []
    for i, segment in enumerate(eligible):
        others = [j for j in np.argsort(distance[i], kind="stable")
                  if j != i and distance[i, j] <= max_distance][:neighbours]
        if not others:
            continue
        ref = shares[others].mean(axis=0)
        ref_pen = penetration[others].mean(axis=0)
        for c, category in enumerate(categories):
            own = shares[i, c]
            if ref[c] < min_reference_share or own > max_ratio * ref[c]:
                continue
            found.append(CategoryGap(
                segment=segment, category=category, own_share=round(float(own), _ROUND),
                reference_share=round(float(ref[c]), _ROUND),
                ratio=round(float(own / ref[c]), _ROUND),
                neighbours=tuple(eligible[j] for j in others),
                distances=tuple(round(float(distance[i, j]), _ROUND) for j in others),
                own_penetration=round(float(penetration[i, c]), _ROUND),
                reference_penetration=round(float(ref_pen[c]), _ROUND),
                segment_customers=int(sizes[i]), segment_spend=round(float(totals[i]), 2),
                gap_spend=round(float((ref[c] - own) * totals[i]), 2),
            ))
    found.sort(key=lambda g: (-g.gap_spend, g.segment, g.category))
    return found
