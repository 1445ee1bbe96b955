"""Suggestions in words, each with the numbers it rests on kept beside the sentence.

Three kinds, each from one finding:

- ``cross_promotion``: a pair of stores in different zones or on different floors bought
  from together well above chance (lift at least ``min_lift``): cross-promote them, sign
  the way between them, place them closer when a lease comes up.
- ``peak_hours``: a segment's peak hours and busiest slot: when to run its promotions and
  to staff for it.
- ``under_bought_category``: a category a segment buys much less of than the segments like
  it: room for an offer, with the gap in money.

Examples
--------
>>> from mallseg.insights.layout.pairs import StorePair
>>> pair = StorePair("S1", "S9", "Nova Shoes", "Fern Cafe", "north", "food_court", 0, 1,
...                  120, 400, 300, 0.012, 0.3, 0.4, 2.5)
>>> s = pair_suggestions([pair], unit="basket", min_lift=1.5, limit=5)[0]
>>> print(s.text)  # doctest: +NORMALIZE_WHITESPACE
Nova Shoes (north, floor 0) and Fern Cafe (food_court, floor 1) are bought from together
in 120 baskets, 2.5 times as often as chance: 30% of Nova Shoes's baskets also include
Fern Cafe. Cross-promote the two, sign the way from one to the other, and consider placing
them closer when a lease comes up.
>>> s.figures["lift"], s.figures["together"]
(2.5, 120)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mallseg.insights.layout.gaps import CategoryGap
from mallseg.insights.layout.hours import WEEKDAYS, HeatMap
from mallseg.insights.layout.pairs import StorePair

__all__ = ["Suggestion", "gap_suggestions", "hour_suggestions", "pair_suggestions"]

_UNIT_WORDS = {"basket": "baskets", "day": "customer-days"}


@dataclass(frozen=True)
class Suggestion:
    """One suggestion: its kind, whom it is about, the sentence and the figures behind it."""

    kind: str
    segment: str | None
    text: str
    figures: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"kind": self.kind, "segment": self.segment, "text": self.text,
                "figures": dict(self.figures)}


def _place(zone: str | None, floor: int | None) -> str:
    parts = [p for p in (zone, None if floor is None else f"floor {floor}") if p]
    return f" ({', '.join(parts)})" if parts else ""


def pair_suggestions(pairs: Iterable[StorePair], *, unit: str, min_lift: float,
                     limit: int) -> list[Suggestion]:
    """Cross-promotion for the distant pairs of highest lift (``pairs`` sorted by lift)."""
    out: list[Suggestion] = []
    units = _UNIT_WORDS.get(unit, unit)
    for p in pairs:
        if len(out) >= limit:
            break
        if not p.distant or p.lift < min_lift:
            continue
        text = (
            f"{p.name_a}{_place(p.zone_a, p.floor_a)} and {p.name_b}"
            f"{_place(p.zone_b, p.floor_b)} are bought from together in {p.together:,} "
            f"{units}, {p.lift:.1f} times as often as chance: {p.confidence_a_to_b:.0%} of "
            f"{p.name_a}'s {units} also include {p.name_b}. Cross-promote the two, sign the "
            "way from one to the other, and consider placing them closer when a lease "
            "comes up."
        )
        out.append(Suggestion("cross_promotion", None, text, {
            "store_a": p.store_a, "store_b": p.store_b, "unit": unit,
            "together": p.together, "units_a": p.units_a, "units_b": p.units_b,
            "support": p.support, "confidence_a_to_b": p.confidence_a_to_b,
            "confidence_b_to_a": p.confidence_b_to_a, "lift": p.lift,
            "different_zone": p.different_zone, "different_floor": p.different_floor,
        }))
    return out


def hour_suggestions(heat_maps: Sequence[HeatMap], *, source: str) -> list[Suggestion]:
    """When to run each segment's promotions and staff for it, from its peaks.

    >>> from mallseg.insights.layout.hours import PeakWindow
    >>> heat = HeatMap("segment", "Evening diners", ((0,) * 24,) * 7, 500, 80, 5, 0.22,
    ...                PeakWindow(None, 18, 21, 0.41, 0.2, 2.05),
    ...                PeakWindow(5, 18, 21, 0.12, 0.04, 3.0))
    >>> print(hour_suggestions([heat], source="visits")[0].text)  # doctest: +NORMALIZE_WHITESPACE
    Evening diners: 41% of its visits start 18:00-21:00 (all customers: 20%), and its
    busiest slot is Friday 18:00-21:00 (12% of its visits; busiest day Friday, 22%). Run
    its promotions and plan staffing for those hours.
    """
    out: list[Suggestion] = []
    noun = "visits" if source == "visits" else "purchases"
    for heat in heat_maps:
        hours, slot = heat.peak_hours, heat.peak_slot
        if hours is None or slot is None or heat.busiest_day is None:
            continue
        day = WEEKDAYS[heat.busiest_day - 1]
        text = (
            f"{heat.group}: {hours.share:.0%} of its {noun} start {hours.label} (all "
            f"customers: {hours.population_share:.0%}), and its busiest slot is "
            f"{slot.label} ({slot.share:.0%} of its {noun}; busiest day {day}, "
            f"{heat.busiest_day_share:.0%}). Run its promotions and plan staffing for "
            "those hours."
        )
        out.append(Suggestion("peak_hours", heat.group, text, {
            "source": source, "events": heat.total, "customers": heat.customers,
            "peak_hours": hours.to_dict(), "peak_slot": slot.to_dict(),
            "busiest_day": heat.busiest_day, "busiest_day_share": heat.busiest_day_share,
        }))
    return out


def gap_suggestions(gaps: Iterable[CategoryGap], *, per_segment: int,
                    limit: int) -> list[Suggestion]:
    """Offers in the categories segments under-buy (``gaps`` sorted by gap in money)."""
    out: list[Suggestion] = []
    used: dict[str, int] = {}
    for g in gaps:
        if len(out) >= limit:
            break
        if used.get(g.segment, 0) >= per_segment:
            continue
        used[g.segment] = used.get(g.segment, 0) + 1
        names = " and ".join(g.neighbours)
        text = (
            f"{g.segment} puts {g.own_share:.1%} of its spend in {g.category}, against "
            f"{g.reference_share:.1%} for the segments most like it ({names}); "
            f"{g.own_penetration:.0%} of its customers buy there against "
            f"{g.reference_penetration:.0%}. An offer in {g.category} aimed at {g.segment} "
            f"has room: about {g.gap_spend:,.0f} more spend over the period at their share."
        )
        out.append(Suggestion("under_bought_category", g.segment, text, g.to_dict()))
    return out
