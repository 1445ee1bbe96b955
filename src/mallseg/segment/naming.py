"""Short human names for segments, each word backed by the segment's own numbers.

How a name is made (rules in :mod:`mallseg.segment.naming_rules`):

1. A segment most of whose customers lack the segmentation's features (its profile's
   ``enough_data`` is false) is called "Not enough data": it is not named from the few
   who have values.
2. Take its distinguishing features strongest first. A feature's word is *backed* when its
   effect is at least ``min_effect`` (standard deviations on the model's scale; Cohen's h
   for a category), at least ``min_coverage`` of the segment's customers have a value, and,
   for a number, the segment's mean lies on the word's side of everyone's mean and at least
   ``min_member_share`` of its customers lie on that side of everyone's median (for a
   category: at least half of the segment holds the level). Only backed words are used,
   the first ``max_features`` of them.
3. The name is up to ``max_modifiers`` modifiers and the first head ("Affluent careful
   spenders"); no head -> ``default_head`` ("Young shoppers"); no backed word at all -> the
   catch-all ``fallback`` ("Average shoppers").
4. Names are unique: when several segments get the same name, the largest keeps it and the
   others take the next backed modifier their own profile offers. Segments still sharing a
   name are told apart by the feature on which they differ most, in words ("..., higher
   annual income" / "..., lower annual income"; for three or more, "A", "B", "C" in order of
   that feature, with the numbers in the description). Everything is deterministic.

Every name comes with a one-sentence description carrying the numbers behind it (see
:mod:`mallseg.segment.descriptions`). Unassigned customers (segment ``-1``) are "Unassigned".

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

import string
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from mallseg.features.catalog import FEATURE_FAMILIES
from mallseg.segment.coverage import NOT_ENOUGH_DATA, NOT_ENOUGH_DATA_LABEL, UNASSIGNED_LABEL
from mallseg.segment.descriptions import feature_phrase, feature_text, format_value
from mallseg.segment.group_descriptions import (
    set_aside_description,
    short_of_data_description,
    small_group_text,
    unassigned_description,
)
from mallseg.segment.naming_rules import DEFAULT_NAMING_RULES, NamingRules, Phrase, PhraseRole
from mallseg.segment.personas import SegmentProfiles
from mallseg.segment.small_groups import is_suppressed

__all__ = [
    "DEFAULT_NAMING_RULES",
    "NamingRules",
    "Phrase",
    "PhraseRole",
    "SegmentName",
    "WordEvidence",
    "backed_effects",
    "name_segments",
]


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
    evidence: tuple[WordEvidence, ...] = ()
    """The numbers behind each word of the name taken from a feature."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary."""
        return {"name": self.name, "description": self.description,
                "evidence": [e.to_dict() for e in self.evidence]}


@dataclass(frozen=True)
class WordEvidence:
    """One word of a name and the segment's numbers that back it.

    Examples
    --------
    >>> WordEvidence("Young", "age", None, 24.0, 40.0, -1.3, 1.0, 0.9).to_dict()["word"]
    'Young'
    """

    word: str
    feature: str
    level: str | None
    segment_value: float
    population_value: float
    effect_size: float
    coverage: float
    member_share: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary (NaN as None)."""
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                for k, v in self.__dict__.items()}


def name_segments(
    profiles: SegmentProfiles,
    *,
    rules: NamingRules | Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    vocabulary: Mapping[str, str] | None = None,
) -> dict[int, SegmentName]:
    """Name every segment of ``profiles``.

    Parameters
    ----------
    profiles:
        Output of :func:`mallseg.segment.personas.profile_segments`.
    rules:
        :class:`NamingRules`, a mapping for :meth:`NamingRules.from_mapping` (laid over the
        defaults), or ``None`` for the defaults.
    labels:
        Feature -> short name, overriding the catalog's in descriptions (customer
        attributes: "spend on wines").
    vocabulary:
        Words the data calls things by: ``{"place": "mall"}`` when the places bought from
        are whole malls (default ``store``).

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
    words = {"place": "store", **dict(vocabulary or {})}

    sizes = {int(r["segment"]): int(r["size"]) for _, r in profiles.summary.iterrows()}
    small = {s for s in profiles.segments if s >= 0 and is_suppressed(profiles, s)}
    named = [s for s in profiles.segments if s >= 0 and s not in small]
    short_of_data = {s for s in named if not _enough_data(profiles, s)}
    phrase_lists = {
        s: [] if s in short_of_data else _ranked_phrases(profiles, s, active, words)
        for s in named
    }
    names = {
        s: active.not_enough_data if s in short_of_data else _compose(phrase_lists[s], active)
        for s in named
    }
    names, comparisons = _make_unique(names, phrase_lists, sizes, profiles, active, labels)

    result: dict[int, SegmentName] = {}
    for seg in profiles.segments:
        if seg == -1:
            result[seg] = SegmentName(UNASSIGNED_LABEL, unassigned_description(profiles))
            continue
        if seg == NOT_ENOUGH_DATA:
            result[seg] = SegmentName(NOT_ENOUGH_DATA_LABEL, set_aside_description(profiles))
            continue
        if seg in small:
            result[seg] = SegmentName(*small_group_text(profiles, seg, several=len(small) > 1))
            continue
        text = (short_of_data_description(profiles, seg) if seg in short_of_data
                else _describe(profiles, seg, active, labels))
        if seg in comparisons:
            text = f"{text[:-1]}; {comparisons[seg]}."
        used = tuple(p.evidence for p in phrase_lists[seg]
                     if p.phrase.text.lower() in names[seg].lower())
        result[seg] = SegmentName(names[seg], text, used)
    return result


def backed_effects(
    profiles: SegmentProfiles, segment: int, rules: NamingRules | None = None
) -> pd.DataFrame:
    """The effect rows of ``segment`` whose words a name may use (see the module docs).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from mallseg.segment.personas import profile_segments
    >>> frame = pd.DataFrame({"age": [19, 21, 20, 60, 64, 62], "x": [1, 2, 1, 2, 1, 2]})
    >>> backed_effects(profile_segments(frame, np.repeat([0, 1], 3)), 0)["feature"].tolist()
    ['age']
    """
    rules = rules or DEFAULT_NAMING_RULES
    rows = profiles.distinguishing(segment)
    if rows.empty:
        return rows
    keep = rows.apply(lambda r: _is_backed(r, rules), axis=1).astype(bool)
    return rows[keep].reset_index(drop=True)


def _is_backed(row: pd.Series, rules: NamingRules) -> bool:
    effect = float(row["effect_size"])
    if not np.isfinite(effect) or abs(effect) < rules.min_effect:
        return False
    if not float(row.get("coverage", 1.0)) >= rules.min_coverage:
        return False
    share = float(row.get("member_share", np.nan))
    if row["kind"] == "categorical":
        return bool(share >= 0.5)
    mean_side = float(row["segment_value"]) - float(row["population_value"])
    if mean_side * effect <= 0:
        return False
    return bool(np.isnan(share) or share >= rules.min_member_share)


def _enough_data(profiles: SegmentProfiles, segment: int) -> bool:
    row = profiles.row(segment)
    return bool(row.get("enough_data", True))


# --- composing names -------------------------------------------------------------------


@dataclass(frozen=True)
class _RankedPhrase:
    phrase: Phrase
    strength: float
    evidence: WordEvidence


def _ranked_phrases(
    profiles: SegmentProfiles, segment: int, rules: NamingRules, words: Mapping[str, str]
) -> list[_RankedPhrase]:
    """Phrases of every backed feature, strongest first (name and spares)."""
    found: list[_RankedPhrase] = []
    for _, row in backed_effects(profiles, segment, rules).iterrows():
        effect = float(row["effect_size"])
        phrase = _lookup(rules, str(row["feature"]), effect, row["level"], row["kind"])
        if phrase is not None:
            text = phrase.text.replace("{place}", words.get("place", "store"))
            evidence = WordEvidence(
                word=text, feature=str(row["feature"]),
                level=None if _missing(row["level"]) else str(row["level"]),
                segment_value=float(row["segment_value"]),
                population_value=float(row["population_value"]), effect_size=effect,
                coverage=float(row["coverage"]), member_share=float(row["member_share"]),
            )
            found.append(_RankedPhrase(replace(phrase, text=text), abs(effect), evidence))
    return found


def _missing(value: object) -> bool:
    """None or a missing-value marker (a numeric effect's level, NaN once in a frame)."""
    return value is None or bool(pd.isna(value))  # type: ignore[call-overload]


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


def _compose(phrases: list[_RankedPhrase], rules: NamingRules) -> str:
    considered = phrases[: rules.max_features]
    if not considered:
        return rules.fallback
    head = next((p.phrase.text for p in considered if p.phrase.role == "head"), None)
    modifiers: list[str] = []
    for p in considered:
        if p.phrase.role == "modifier" and p.phrase.text not in modifiers:
            modifiers.append(p.phrase.text)
    modifiers = modifiers[: rules.max_modifiers]
    parts = [*modifiers, head if head is not None else rules.default_head]
    return _capitalise(" ".join(_lower_first(w) if i else w for i, w in enumerate(parts)))


def _make_unique(
    names: dict[int, str],
    phrases: dict[int, list[_RankedPhrase]],
    sizes: dict[int, int],
    profiles: SegmentProfiles,
    rules: NamingRules,
    labels: Mapping[str, str] | None,
) -> tuple[dict[int, str], dict[int, str]]:
    """Unique names, and for segments told apart by comparison the sentence saying how."""
    result = dict(names)
    by_size = sorted(result, key=lambda s: (-sizes.get(s, 0), s))
    taken: set[str] = set()
    for seg in by_size:
        if result[seg] in taken:
            result[seg] = _with_next_modifier(result[seg], phrases[seg])
        taken.add(result[seg])
    comparisons: dict[int, str] = {}
    groups: dict[str, list[int]] = {}
    for seg in by_size:
        groups.setdefault(result[seg], []).append(seg)
    for name, members in groups.items():
        if len(members) < 2:
            continue
        feature = _separating_feature(profiles, members)
        order = _order_by(profiles, members, feature)
        if feature is not None and len(members) == 2:
            meaning = feature_text(feature, labels, profiles.kinds)[0].lower()
            high, low = order
            result[high], result[low] = f"{name}, higher {meaning}", f"{name}, lower {meaning}"
        else:
            for letter, seg in zip(string.ascii_uppercase, order, strict=False):
                result[seg] = f"{name} {letter}"
        comparisons.update(_comparison_sentences(profiles, order, feature, labels))
    return result, comparisons


def _separating_feature(profiles: SegmentProfiles, members: list[int]) -> str | None:
    """The numeric feature whose segment means differ most (in population sd) among them."""
    best, best_spread = None, 0.0
    for feature, sd in profiles.population_std.items():
        if not sd > 0:
            continue
        values = [_mean(profiles, seg, feature) for seg in members]
        if any(not np.isfinite(v) for v in values):
            continue
        spread = (max(values) - min(values)) / sd
        if spread > best_spread + 1e-12:
            best, best_spread = feature, spread
    return best if best_spread >= 0.05 else None


def _order_by(profiles: SegmentProfiles, members: list[int], feature: str | None) -> list[int]:
    if feature is None:
        return list(members)
    return sorted(members, key=lambda s: (-_mean(profiles, s, feature), s))


def _mean(profiles: SegmentProfiles, segment: int, feature: str) -> float:
    value = profiles.row(segment).get(f"mean_{feature}", np.nan)
    return float(value) if value is not None else float("nan")


def _comparison_sentences(
    profiles: SegmentProfiles, order: list[int], feature: str | None,
    labels: Mapping[str, str] | None,
) -> dict[int, str]:
    if feature is None:
        return {seg: "the same as the other segments of this name on every feature profiled"
                for seg in order}
    meaning, unit, _ = feature_text(feature, labels, profiles.kinds)
    listed = ", ".join(format_value(_mean(profiles, s, feature), unit) for s in order)
    return {seg: f"told apart from its namesakes by {meaning.lower()} ({listed})"
            for seg in order}


def _with_next_modifier(name: str, phrases: list[_RankedPhrase]) -> str:
    """Put in front of ``name`` the first backed modifier not in it already."""
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


def _describe(
    profiles: SegmentProfiles, segment: int, rules: NamingRules,
    labels: Mapping[str, str] | None,
) -> str:
    row = profiles.row(segment)
    head = f"{int(row['size']):,} customers ({float(row['share']):.0%})"
    strong = backed_effects(profiles, segment, rules).head(3)
    if strong.empty:
        effects = profiles.distinguishing(segment)
        covered = effects[effects["coverage"] >= rules.min_coverage] if not effects.empty \
            else effects
        if covered.empty:
            return f"{head}."
        top = covered.iloc[0]
        return (f"{head}: close to average on every feature (largest difference: "
                f"{feature_phrase(top, labels, profiles.kinds)}).")
    return f"{head}: " + ", ".join(
        feature_phrase(r, labels, profiles.kinds) for _, r in strong.iterrows()
    ) + "."
