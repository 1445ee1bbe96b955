"""Short human names for segments, built from what sets each segment apart.

How a name is made
------------------
A configuration, :class:`NamingRules`, maps a feature and a direction to a phrase. A phrase
is either a *modifier* ("Affluent", "Young", "Weekend") that goes in front, or a *head*, the
group noun ("careful spenders", "family shoppers", "diners"). For each segment:

1. take its distinguishing features (see :mod:`mallseg.segment.personas`) strongest first,
   keep the first ``max_features`` whose absolute effect size is at least ``min_effect``;
2. the direction is ``"high"`` for a positive effect, ``"low"`` for a negative one; a
   categorical feature's over-represented level is looked up as ``"feature=level"``
   (direction ``"high"``), then as the feature's ``"level"`` template (``{level}`` is
   replaced); a feature family member such as ``spend_share_food`` falls back to its
   family's entry (``spend_share_``, ``{member}`` is replaced);
3. the name is up to ``max_modifiers`` modifiers and the first head, in rank order
   ("Affluent careful spenders"); no head found -> ``default_head`` ("Young shoppers");
   nothing distinctive at all -> the catch-all ``fallback`` ("Average shoppers").

Names are unique within a call: when several segments get the same name, the largest keeps
it, the others take the next modifier their own distinguishing features offer, and any
remaining tie is numbered ("... 2") by size. Everything is deterministic.

Every name comes with a one-sentence description carrying the numbers behind it
("35 customers (18%): annual income 46% above average (88k vs 61k), spending score 66%
below average (17 vs 50)."). Unassigned customers (segment ``-1``) are named "Unassigned".

Examples
--------
>>> import numpy as np, pandas as pd
>>> from mallseg.segment.personas import profile_segments
>>> frame = pd.DataFrame({"annual_income": [90, 95, 88, 20, 25, 22, 55, 60, 58],
...                       "spending_score": [10, 15, 12, 85, 80, 90, 50, 45, 55]})
>>> names = name_segments(profile_segments(frame, np.repeat([0, 1, 2], 3)))
>>> [names[s].name for s in (0, 1, 2)]
['Affluent careful spenders', 'Low-income high spenders', 'Average shoppers']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from mallseg.features.catalog import FEATURE_FAMILIES, describe_feature
from mallseg.segment.personas import UNASSIGNED_LABEL, SegmentProfiles

__all__ = [
    "DEFAULT_NAMING_RULES",
    "NamingRules",
    "Phrase",
    "PhraseRole",
    "SegmentName",
    "name_segments",
]

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
    "distinct_stores": {"high": _h("store explorers"), "low": _h("single-store shoppers")},
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
        Smallest absolute effect size that counts as distinguishing.
    max_features:
        Distinguishing features the name is built from.
    max_modifiers:
        Modifiers in front of the head.
    default_head:
        Head used when no distinguishing feature supplies one.
    fallback:
        Catch-all name of a segment without any distinguishing feature.

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
    max_features: int = 3
    max_modifiers: int = 1
    default_head: str = "shoppers"
    fallback: str = "Average shoppers"

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
        known = {"phrases", "replace_defaults", "min_effect", "max_features", "max_modifiers",
                 "default_head", "fallback"}
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


@dataclass(frozen=True)
class SegmentName:
    """A segment's human name and the sentence that justifies it.

    Examples
    --------
    >>> SegmentName("Young high spenders", "22 customers (11%).").to_dict()["name"]
    'Young high spenders'
    """

    name: str
    description: str

    def to_dict(self) -> dict[str, str]:
        """Plain JSON-ready dictionary."""
        return {"name": self.name, "description": self.description}


def name_segments(
    profiles: SegmentProfiles,
    *,
    rules: NamingRules | Mapping[str, Any] | None = None,
) -> dict[int, SegmentName]:
    """Name every segment of ``profiles``.

    Parameters
    ----------
    profiles:
        Output of :func:`mallseg.segment.personas.profile_segments`.
    rules:
        :class:`NamingRules`, a mapping for :meth:`NamingRules.from_mapping` (laid over the
        defaults), or ``None`` for the defaults.

    Returns
    -------
    dict
        Segment id -> :class:`SegmentName`; names are unique.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from mallseg.segment.personas import profile_segments
    >>> frame = pd.DataFrame({"age": [19, 21, 20, 60, 64, 62]})
    >>> profiles = profile_segments(frame, np.repeat([0, 1], 3))
    >>> name_segments(profiles)[0].name
    'Young shoppers'
    >>> name_segments(profiles, rules={"phrases": {"age": {"low": {"head": "students"}}}})[0].name
    'Students'
    """
    if rules is None:
        active = DEFAULT_NAMING_RULES
    elif isinstance(rules, NamingRules):
        active = rules
    else:
        active = NamingRules.from_mapping(rules)

    sizes = {int(r["segment"]): int(r["size"]) for _, r in profiles.summary.iterrows()}
    named = [s for s in profiles.segments if s != -1]
    phrase_lists = {s: _ranked_phrases(profiles, s, active) for s in named}
    names = {s: _compose(phrase_lists[s], active) for s in named}
    names = _make_unique(names, phrase_lists, sizes, active)

    result: dict[int, SegmentName] = {}
    for seg in profiles.segments:
        if seg == -1:
            result[seg] = SegmentName(UNASSIGNED_LABEL, _unassigned_description(profiles))
        else:
            result[seg] = SegmentName(names[seg], _describe(profiles, seg, active))
    return result


# --- composing names -------------------------------------------------------------------


@dataclass(frozen=True)
class _RankedPhrase:
    phrase: Phrase
    strength: float


def _ranked_phrases(
    profiles: SegmentProfiles, segment: int, rules: NamingRules
) -> list[_RankedPhrase]:
    """Phrases of every feature with an effect, strongest first (name and spares)."""
    found: list[_RankedPhrase] = []
    for _, row in profiles.distinguishing(segment).iterrows():
        effect = float(row["effect_size"])
        if not np.isfinite(effect) or effect == 0.0:
            continue
        phrase = _lookup(rules, str(row["feature"]), effect, row["level"], row["kind"])
        if phrase is not None:
            found.append(_RankedPhrase(phrase, abs(effect)))
    return found


def _lookup(
    rules: NamingRules, feature: str, effect: float, level: Any, kind: Any
) -> Phrase | None:
    if kind == "categorical":
        level_text = str(level)
        exact = rules.phrases.get(f"{feature}={level_text}", {}).get("high")
        if exact is not None:
            return exact
        template = rules.phrases.get(feature, {}).get("level")
        if template is None:
            return None
        return replace(template, text=template.text.format(level=level_text.capitalize()))
    direction = "high" if effect > 0 else "low"
    phrase = rules.phrases.get(feature, {}).get(direction)
    if phrase is not None:
        return phrase
    for prefix in (*FEATURE_FAMILIES, *(k for k in rules.phrases if k.endswith("_"))):
        if feature.startswith(prefix) and len(feature) > len(prefix):
            family = rules.phrases.get(prefix, {}).get(direction)
            if family is not None:
                member = feature[len(prefix):].replace("_", " ")
                return replace(family, text=family.text.format(member=member))
    return None


def _compose(phrases: list[_RankedPhrase], rules: NamingRules, extra: int = 0) -> str:
    considered = [p for p in phrases if p.strength >= rules.min_effect][: rules.max_features]
    if not considered:
        return rules.fallback
    head = next((p.phrase.text for p in considered if p.phrase.role == "head"), None)
    modifiers: list[str] = []
    for p in considered:
        if p.phrase.role == "modifier" and p.phrase.text not in modifiers:
            modifiers.append(p.phrase.text)
    modifiers = modifiers[: rules.max_modifiers + extra]
    words = [*modifiers, head if head is not None else rules.default_head]
    return _capitalise(" ".join(_lower_first(w) if i else w for i, w in enumerate(words)))


def _make_unique(
    names: dict[int, str],
    phrases: dict[int, list[_RankedPhrase]],
    sizes: dict[int, int],
    rules: NamingRules,
) -> dict[int, str]:
    result = dict(names)
    by_size = sorted(result, key=lambda s: (-sizes.get(s, 0), s))
    taken: set[str] = set()
    for seg in by_size:
        name = result[seg]
        if name in taken:
            name = _with_next_modifier(name, phrases[seg], rules)
        number = 2
        base = name
        while name in taken:
            name = f"{base} {number}"
            number += 1
        result[seg] = name
        taken.add(name)
    return result


def _with_next_modifier(name: str, phrases: list[_RankedPhrase], rules: NamingRules) -> str:
    """Put in front of ``name`` the first modifier of ``phrases`` not in it already."""
    for p in phrases:
        if p.phrase.role == "modifier" and p.phrase.text.lower() not in name.lower():
            return _capitalise(f"{p.phrase.text} {_lower_first(name)}")
    return name


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    # Keep words like "Low-income" readable in the middle of a name, but not acronyms.
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


# --- descriptions ----------------------------------------------------------------------


def _describe(profiles: SegmentProfiles, segment: int, rules: NamingRules) -> str:
    row = profiles.row(segment)
    head = f"{int(row['size']):,} customers ({float(row['share']):.0%})"
    effects = profiles.distinguishing(segment)
    strong = effects[effects["effect_size"].abs() >= rules.min_effect].head(3)
    if strong.empty:
        if effects.empty:
            return f"{head}."
        top = effects.iloc[0]
        return f"{head}: close to average on every feature (largest difference: " \
            f"{_feature_phrase(top)})."
    return f"{head}: " + ", ".join(_feature_phrase(r) for _, r in strong.iterrows()) + "."


def _feature_phrase(row: pd.Series) -> str:
    feature = str(row["feature"])
    meaning, unit, kind = _catalog_text(feature)
    seg_value = float(row["segment_value"])
    pop_value = float(row["population_value"])
    if row["kind"] == "categorical":
        return f"{meaning.lower()} {row['level']} {seg_value:.0%} vs {pop_value:.0%} overall"
    if kind == "share":
        return f"{meaning.lower()} {seg_value:.0%} vs {pop_value:.0%} on average"
    seg_text, pop_text = _format_value(seg_value, unit), _format_value(pop_value, unit)
    if pop_value > 0 and seg_value >= 0:
        change = seg_value / pop_value - 1.0
        side = "above" if change >= 0 else "below"
        return f"{meaning.lower()} {abs(change):.0%} {side} average ({seg_text} vs {pop_text})"
    return f"{meaning.lower()} {seg_text} vs {pop_text} on average"


_SHORT_MEANINGS: dict[str, str] = {
    "spending_score": "spending score",
    "dwell_mean_minutes": "time per visit",
    "days_between_visits_mean": "days between visits",
}
"""Shorter wording for descriptions where the catalog meaning is a full explanation."""


def _catalog_text(feature: str) -> tuple[str, str, str]:
    try:
        spec = describe_feature(feature)
    except KeyError:
        return feature.replace("_", " "), "", "numeric"
    return _SHORT_MEANINGS.get(feature, spec.meaning), spec.unit, spec.kind


def _format_value(value: float, unit: str) -> str:
    if not np.isfinite(value):
        return "n/a"
    if unit.startswith("k "):
        return f"{value:.0f}k"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.0f}"
    return f"{value:.2g}"


def _unassigned_description(profiles: SegmentProfiles) -> str:
    row = profiles.row(-1)
    return (
        f"{int(row['size']):,} customers ({float(row['share']):.0%}) not close enough to any "
        "segment to be assigned."
    )


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
