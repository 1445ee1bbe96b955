"""The sentence under a segment's name: its size and the numbers that set it apart.

Every figure is the segment's own mean (or share) next to everyone's, in the same units:
"35 customers (18%): annual income 46% above average (88k vs 61k), spending score 66%
below average (17 vs 50)."

Examples
--------
>>> format_value(88.2, "k currency units"), format_value(1234.5, "currency units")
('88k', '1,234')
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mallseg.features.catalog import describe_feature

__all__ = ["feature_phrase", "feature_text", "format_value"]

_SHORT_MEANINGS: dict[str, str] = {
    "annual_income": "annual income",
    "spending_score": "spending score",
    "family_size": "household size",
    "loyalty_tier": "loyalty tier",
    "tenure_days": "days as a customer",
    "recency_days": "days since the last purchase",
    "frequency": "purchase occasions",
    "monetary_total": "total spend",
    "basket_mean": "spend per purchase",
    "distinct_stores": "stores bought from",
    "visits_per_month": "visits per month",
    "dwell_mean_minutes": "time per visit",
    "share_visits_morning": "share of visits before noon",
    "share_visits_midday": "share of visits 12:00-15:00",
    "share_visits_afternoon": "share of visits 15:00-18:00",
    "share_visits_evening": "share of visits after 18:00",
    "share_visits_weekend": "share of visits at weekends",
    "repeat_visit_rate": "repeat-visit rate",
    "days_between_visits_mean": "days between visits",
    "campaign_exposures": "offers received",
    "campaign_response_rate": "response rate",
    "campaign_redemption_rate": "redemption rate",
    "purchases_total": "purchases, all channels",
}
"""Short wording for tables and sentences where the catalog meaning is a full explanation."""


def feature_text(
    feature: str, labels: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
) -> tuple[str, str, str]:
    """The (short name, unit, kind) a description uses for ``feature``.

    ``labels`` and ``kinds`` (from the feature schema: customer attributes, what a place is
    called) win over the catalog.

    >>> feature_text("basket_mean")
    ('spend per purchase', 'currency units', 'money')
    >>> feature_text("mnt_wines", {"mnt_wines": "spend on wines"}, {"mnt_wines": "money"})
    ('spend on wines', '', 'money')
    """
    kind: str
    try:
        spec = describe_feature(feature)
        label, unit, kind = _SHORT_MEANINGS.get(feature, spec.meaning), spec.unit, spec.kind
    except KeyError:
        label, unit, kind = feature.replace("_", " "), "", "numeric"
    if labels and feature in labels:
        label = labels[feature]
    if kinds and feature in kinds:
        kind = kinds[feature]
    return label, unit, kind


def feature_phrase(
    row: pd.Series, labels: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
) -> str:
    """One effect row in words with its two numbers.

    >>> import pandas as pd
    >>> feature_phrase(pd.Series({"feature": "age", "kind": "numeric", "level": None,
    ...                           "segment_value": 24.0, "population_value": 40.0}))
    'age 40% below average (24 vs 40)'
    """
    feature = str(row["feature"])
    meaning, unit, kind = feature_text(feature, labels, kinds)
    seg_value = float(row["segment_value"])
    pop_value = float(row["population_value"])
    if row["kind"] == "categorical":
        return f"{meaning.lower()} {row['level']} {seg_value:.0%} vs {pop_value:.0%} overall"
    if kind in ("share", "flag"):
        return f"{meaning.lower()} {seg_value:.0%} vs {pop_value:.0%} on average"
    seg_text, pop_text = format_value(seg_value, unit), format_value(pop_value, unit)
    if pop_value > 0 and seg_value >= 0:
        change = seg_value / pop_value - 1.0
        side = "above" if change >= 0 else "below"
        return f"{meaning.lower()} {abs(change):.0%} {side} average ({seg_text} vs {pop_text})"
    return f"{meaning.lower()} {seg_text} vs {pop_text} on average"


def format_value(value: float, unit: str) -> str:
    """A number as a description shows it (thousands as ``88k``, two significant digits).

    >>> format_value(float("nan"), ""), format_value(3.14159, "")
    ('n/a', '3.1')
    """
    if not np.isfinite(value):
        return "n/a"
    if unit.startswith("k "):
        return f"{value:.0f}k"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.0f}"
    return f"{value:.2g}"
