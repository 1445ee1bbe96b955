"""The configuration of segment names: which words a feature's direction contributes.

A :class:`NamingRules` maps a feature and a direction to a :class:`Phrase`: a *modifier*
("Affluent", "Young", "Weekend") that goes in front, or a *head*, the group noun ("careful
spenders", "family shoppers", "diners"). A feature family member such as
``spend_share_food`` falls back to its family's entry (``spend_share_``, ``{member}``
replaced); a categorical level is looked up as ``"feature=level"``, then as the feature's
``"level"`` template (``{level}`` replaced); ``{place}`` is what the data calls a place
(store, mall, branch).

Examples
--------
>>> rules = NamingRules.from_mapping({"phrases": {"age": {"low": "Youthful"}}})
>>> rules.phrases["age"]["low"].text
'Youthful'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

__all__ = ["DEFAULT_NAMING_RULES", "NamingRules", "Phrase", "PhraseRole"]

PhraseRole = Literal["modifier", "head"]
Direction = Literal["high", "low", "level"]


@dataclass(frozen=True)
class Phrase:
    """Words a distinguishing feature contributes to a name.

    Examples
    --------
    >>> Phrase("Affluent").role, Phrase("careful spenders", "head").role
    ('modifier', 'head')
    """

    text: str
    role: PhraseRole = "modifier"


def _m(text: str) -> Phrase:
    return Phrase(text, "modifier")


def _h(text: str) -> Phrase:
    return Phrase(text, "head")


_DEFAULT_PHRASES: dict[str, dict[str, Phrase]] = {
    # demographics
    "annual_income": {"high": _m("Affluent"), "low": _m("Low-income")},
    "spending_score": {"high": _h("high spenders"), "low": _h("careful spenders")},
    "age": {"high": _m("Senior"), "low": _m("Young")},
    "family_size": {"high": _h("family shoppers"), "low": _m("Single")},
    "gender": {"level": _m("{level}")},
    "loyalty_tier": {"level": _m("{level}-tier")},
    "tenure_days": {"high": _m("Long-standing"), "low": _m("Newly joined")},
    # value
    "recency_days": {"high": _m("Lapsed"), "low": _m("Recently active")},
    "frequency": {"high": _m("Frequent"), "low": _m("Occasional")},
    "monetary_total": {"high": _h("big spenders"), "low": _h("light spenders")},
    "basket_mean": {"high": _m("Big-basket"), "low": _m("Small-basket")},
    "distinct_stores": {"high": _h("{place} explorers"), "low": _h("single-{place} shoppers")},
    # visits
    "visits_per_month": {"high": _m("Frequent"), "low": _m("Occasional")},
    "dwell_mean_minutes": {"high": _h("mall enthusiasts"), "low": _h("quick-trip shoppers")},
    "share_visits_morning": {"high": _m("Morning")},
    "share_visits_midday": {"high": _m("Lunchtime")},
    "share_visits_afternoon": {"high": _m("Afternoon")},
    "share_visits_evening": {"high": _m("Evening")},
    "share_visits_weekend": {"high": _m("Weekend"), "low": _m("Weekday")},
    "favourite_zone": {"level": _m("{level}-zone")},
    # loyalty and engagement
    "repeat_visit_rate": {"high": _m("Loyal"), "low": _m("One-off")},
    "days_between_visits_mean": {"high": _m("Occasional"), "low": _m("Regular")},
    "campaign_response_rate": {"high": _h("deal seekers"), "low": _m("Offer-indifferent")},
    "campaign_redemption_rate": {"high": _h("coupon redeemers")},
    # store categories
    "spend_share_food": {"high": _h("diners")},
    "spend_share_restaurants": {"high": _h("diners")},
    "spend_share_entertainment": {"high": _h("entertainment seekers")},
    "spend_share_electronics": {"high": _h("tech shoppers")},
    "spend_share_apparel": {"high": _h("fashion shoppers")},
    "spend_share_": {"high": _h("{member} shoppers")},
}


@dataclass(frozen=True)
class NamingRules:
    """Configuration of :func:`name_segments`.

    Parameters
    ----------
    phrases:
        Feature (or ``"feature=level"``, or a family prefix such as ``"spend_share_"``) ->
        direction (``"high"``, ``"low"``, or ``"level"`` for a categorical template) ->
        :class:`Phrase`.
    min_effect:
        Smallest absolute effect size (standard deviations on the model's scale, Cohen's h
        for a category) that lets a feature's word into a name.
    min_coverage:
        A feature speaks for a segment only when at least this share of its customers
        have a value for it.
    min_member_share:
        A word about a numeric feature needs at least this share of the segment's
        customers on its side of the population median (so "Lapsed" is not said of a
        segment most of whose customers bought recently); a category's word needs the
        level to be held by at least half of the segment.
    max_features:
        Distinguishing features the name is built from.
    max_modifiers:
        Modifiers in front of the head.
    default_head:
        Head used when no distinguishing feature supplies one.
    fallback:
        Catch-all name of a segment without any distinguishing feature.
    not_enough_data:
        Name of a segment most of whose customers lack the segmentation's features.

    Examples
    --------
    >>> rules = NamingRules.from_mapping({"phrases": {"age": {"low": "Youthful"}},
    ...                                   "min_effect": 0.8})
    >>> rules.phrases["age"]["low"].text, rules.min_effect, "annual_income" in rules.phrases
    ('Youthful', 0.8, True)
    """

    phrases: Mapping[str, Mapping[str, Phrase]] = field(
        default_factory=lambda: dict(_DEFAULT_PHRASES)
    )
    min_effect: float = 0.5
    min_coverage: float = 0.5
    min_member_share: float = 0.6
    max_features: int = 3
    max_modifiers: int = 1
    default_head: str = "shoppers"
    fallback: str = "Average shoppers"
    not_enough_data: str = "Not enough data"

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str, Any], base: NamingRules | None = None
    ) -> NamingRules:
        """Build rules from a plain mapping (JSON / YAML shaped).

        ``mapping["phrases"]`` maps feature -> direction -> phrase, where a phrase is a
        string (a modifier) or ``{"modifier": text}`` / ``{"head": text}``. Entries are laid
        over ``base`` (the defaults) unless ``mapping["replace_defaults"]`` is true. The
        other keys are the scalar fields of this class.

        Raises
        ------
        ValueError
            On an unknown key, direction or phrase shape.
        """
        base = base or NamingRules()
        known = {"phrases", "replace_defaults", "min_effect", "min_coverage",
                 "min_member_share", "max_features", "max_modifiers", "default_head",
                 "fallback", "not_enough_data"}
        unknown = sorted(set(mapping) - known)
        if unknown:
            raise ValueError(f"unknown naming rule keys {unknown}: expected {sorted(known)}")
        phrases: dict[str, dict[str, Phrase]] = (
            {} if mapping.get("replace_defaults") else {k: dict(v) for k, v in base.phrases.items()}
        )
        for feature, directions in dict(mapping.get("phrases", {})).items():
            entry = phrases.setdefault(str(feature), {})
            for direction, value in dict(directions).items():
                if direction not in ("high", "low", "level"):
                    raise ValueError(
                        f"direction {direction!r} of {feature!r} must be 'high', 'low' or 'level'"
                    )
                entry[direction] = _phrase_from(value, f"{feature}.{direction}")
        scalars = {k: mapping[k] for k in known - {"phrases", "replace_defaults"} if k in mapping}
        return replace(base, phrases=phrases, **scalars)


DEFAULT_NAMING_RULES = NamingRules()
"""The built-in naming configuration."""


def _phrase_from(value: Any, where: str) -> Phrase:
    if isinstance(value, Phrase):
        return value
    if isinstance(value, str):
        return Phrase(value, "modifier")
    if isinstance(value, Mapping) and len(value) == 1:
        role, text = next(iter(value.items()))
        if role in ("modifier", "head") and isinstance(text, str):
            return Phrase(text, role)
    raise ValueError(
        f"phrase {where}={value!r} must be a string (a modifier) or "
        "{'modifier': text} / {'head': text}"
    )


