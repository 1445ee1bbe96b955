"""What to do for a segment: actions drawn from the features that set it apart.

Each :class:`ActionRule` says: when a feature (or a family of features, by prefix) is
clearly above (or below) everyone's, suggest this action. A rule fires only on evidence a
name would accept: an effect of at least ``min_effect`` standard deviations, with at least
``min_coverage`` of the segment having a value. Each suggestion ends with the numbers
behind it. The rules are data: a mall passes its own list to :func:`suggest_actions`.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from mallseg.segment.personas import profile_segments
>>> frame = pd.DataFrame({"recency_days": [90.0, 80, 85, 5, 6, 4],
...                       "visits_per_month": [0.5, 0.4, 0.6, 3, 4, 3.5]})
>>> profiles = profile_segments(frame, np.array([0, 0, 0, 1, 1, 1]))
>>> suggest_actions(profiles, 0)[0][:40]
'Win them back with a time-limited offer '
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from mallseg.segment.descriptions import feature_phrase
from mallseg.segment.personas import SPEND_SHARE_PREFIX, SegmentProfiles

__all__ = ["DEFAULT_ACTION_RULES", "FALLBACK_ACTION", "ActionRule", "suggest_actions"]


@dataclass(frozen=True)
class ActionRule:
    """An action suggested when ``feature`` lies on ``direction``'s side of everyone.

    ``feature`` ending in ``_`` matches every feature with that prefix; ``{category}`` in
    the text is then the rest of the name in words. ``direction`` is ``1`` (above) or
    ``-1`` (below); for a category, ``level`` names the level that must be over-represented.

    Examples
    --------
    >>> ActionRule("spend_share_", 1, "Partner with {category} stores.").matches(
    ...     "spend_share_cinema", None)
    True
    """

    feature: str
    direction: int
    text: str
    level: str | None = None

    def matches(self, feature: str, level: object) -> bool:
        """Whether this rule is about ``feature`` (and ``level``)."""
        named = feature.startswith(self.feature) if self.feature.endswith("_") else \
            feature == self.feature
        return named and (self.level is None or str(level) == self.level)

    def phrase(self, feature: str) -> str:
        """The action's text for ``feature``."""
        category = feature.removeprefix(self.feature).replace("_", " ") \
            if self.feature.endswith("_") else ""
        band = feature.removeprefix("share_visits_") if feature.startswith(
            "share_visits_") else ""
        return self.text.format(category=category, band=band)


DEFAULT_ACTION_RULES: tuple[ActionRule, ...] = (
    ActionRule("recency_days", 1, "Win them back with a time-limited offer before they "
               "lapse for good"),
    ActionRule("monetary_total", 1, "Treat them as VIPs: early access, premium services and "
               "a loyalty-tier upgrade keep high spenders"),
    ActionRule("basket_mean", 1, "Promote premium ranges and bundles: they spend a lot per "
               "visit"),
    ActionRule("spend_share_", 1, "Partner with the {category} stores on offers and events "
               "aimed at this segment"),
    ActionRule("visits_per_month", -1, "Give them reasons to come more often: visit-streak "
               "rewards and reminders of what is new"),
    ActionRule("visits_per_month", 1, "Reward their frequent visits with recognition that "
               "costs little (points, parking, lounge access)"),
    ActionRule("dwell_mean_minutes", 1, "They stay long: in-mall events, dining and "
               "entertainment bundles fit their visits"),
    ActionRule("dwell_mean_minutes", -1, "They come on a mission: make it quick (click and "
               "collect, parking near their stores, targeted reminders)"),
    ActionRule("share_visits_", 1, "Time messages, events and staffing for the {band}, when "
               "they come"),
    ActionRule("family_size", 1, "Family offers: kids' activities and family meal deals"),
    ActionRule("campaign_response_rate", 1, "Include them in the next campaigns: they respond"),
    ActionRule("campaign_response_rate", -1, "Rarely respond to campaigns: reach them in the "
               "mall itself (signage, events) rather than by message"),
    ActionRule("spending_score", -1, "Careful spenders: lead with value offers rather than "
               "premium ones"),
    ActionRule("annual_income", 1, "Affluent: premium brands and services fit them"),
)
"""The default rules, strongest evidence first when several fire."""

FALLBACK_ACTION = ("Keep them in the general programme and test a few offers on them to "
                   "learn what moves this segment")
NOT_ENOUGH_DATA_ACTION = ("Learn more about them first: invite them to the loyalty programme "
                          "so their visits and purchases can be linked")


def suggest_actions(
    profiles: SegmentProfiles, segment: int, *,
    rules: Sequence[ActionRule] = DEFAULT_ACTION_RULES, meanings: Mapping[str, str] | None = None,
    min_effect: float = 0.5, min_coverage: float = 0.5, most: int = 3,
) -> list[str]:
    """Up to ``most`` actions for ``segment``, each with the numbers that back it."""
    summary = profiles.row(segment)
    if not bool(summary.get("enough_data", True)):
        return [NOT_ENOUGH_DATA_ACTION + "."]
    actions: list[str] = []
    used: set[ActionRule] = set()
    for _, row in profiles.distinguishing(segment).iterrows():
        if len(actions) >= most:
            break
        if not _backed(row, min_effect, min_coverage):
            continue
        direction = 1 if float(row["effect_size"]) > 0 else -1
        for rule in rules:
            if rule.direction == direction and rule.matches(str(row["feature"]), row["level"]):
                if rule not in used:  # one action per rule: the strongest evidence for it
                    used.add(rule)
                    actions.append(f"{rule.phrase(str(row['feature']))} "
                                   f"({feature_phrase(row, meanings)}).")
                break
    return actions or [FALLBACK_ACTION + "."]


def _backed(row: pd.Series, min_effect: float, min_coverage: float) -> bool:
    effect, coverage = float(row["effect_size"]), float(row["coverage"])
    if not abs(effect) >= min_effect or not coverage >= min_coverage:
        return False
    # a spend share "below everyone" is the absence of a habit, not something to act on
    return not (str(row["feature"]).startswith(SPEND_SHARE_PREFIX) and effect < 0)
