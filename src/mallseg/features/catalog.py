"""The one place where every per-customer feature is documented: name, meaning, unit, kind.

The report, the HTTP API, the persona namer and the preprocessing all read this catalog.
Families of features whose members depend on the mall's data (one spend share per store
category) are described once by a prefix.

Examples
--------
>>> describe_feature("basket_mean").unit
'currency units'
>>> describe_feature("spend_share_apparel").kind
'share'
>>> describe_feature("spend_share_apparel").meaning
'Share of spend on apparel'
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

__all__ = [
    "FEATURES",
    "FEATURE_FAMILIES",
    "FeatureKind",
    "FeatureSpec",
    "describe_feature",
]

FeatureKind = Literal["numeric", "money", "count", "rate", "share", "categorical"]
"""How a feature is preprocessed: money and count are log-transformed (right-skewed),
share lies in [0, 1], categorical is one-hot encoded, numeric and rate are scaled as they are."""


@dataclass(frozen=True)
class FeatureSpec:
    """Documentation and preprocessing kind of one feature."""

    name: str
    meaning: str
    unit: str
    kind: FeatureKind
    source: str
    """Canonical table the feature needs (absent table -> feature absent)."""


def _spec(name: str, meaning: str, unit: str, kind: FeatureKind, source: str) -> FeatureSpec:
    return FeatureSpec(name=name, meaning=meaning, unit=unit, kind=kind, source=source)


FEATURES: dict[str, FeatureSpec] = {
    s.name: s
    for s in (
        # demographics
        _spec("age", "Age", "years", "numeric", "customers"),
        _spec("gender", "Gender", "category", "categorical", "customers"),
        _spec("annual_income", "Annual income", "k currency units", "numeric", "customers"),
        _spec("spending_score", "Spending score given by the mall", "1-100", "numeric",
              "customers"),
        _spec("family_size", "People in the household", "people", "numeric", "customers"),
        _spec("loyalty_tier", "Loyalty-programme tier", "category", "categorical", "customers"),
        _spec("tenure_days", "Days since the customer signed up (or first seen)", "days",
              "numeric", "customers"),
        # value (RFM)
        _spec("recency_days", "Days since the last purchase", "days", "numeric",
              "transactions"),
        _spec("frequency", "Purchase occasions (distinct baskets)", "purchases", "count",
              "transactions"),
        _spec("monetary_total", "Total spend", "currency units", "money", "transactions"),
        _spec("basket_mean", "Mean spend per purchase occasion", "currency units", "money",
              "transactions"),
        _spec("distinct_stores", "Distinct stores bought from", "stores", "count",
              "transactions"),
        _spec("purchases_total", "Purchases over all channels (from the customer file)",
              "purchases", "count", "customers"),
        # visits
        _spec("visits_per_month", "Visits to the mall per month", "visits / month", "rate",
              "visits"),
        _spec("dwell_mean_minutes", "Mean time spent per visit", "minutes", "numeric",
              "visits"),
        _spec("share_visits_morning", "Share of visits starting before noon", "share",
              "share", "visits"),
        _spec("share_visits_midday", "Share of visits starting 12:00-15:00", "share", "share",
              "visits"),
        _spec("share_visits_afternoon", "Share of visits starting 15:00-18:00", "share",
              "share", "visits"),
        _spec("share_visits_evening", "Share of visits starting 18:00 or later", "share",
              "share", "visits"),
        _spec("share_visits_weekend", "Share of visits on Saturday or Sunday", "share",
              "share", "visits"),
        _spec("favourite_zone", "Zone of the mall where most of the spend happens", "category",
              "categorical", "stores"),
        # loyalty and engagement
        _spec("repeat_visit_rate", "Share of visits followed by another visit within 30 days",
              "share", "share", "visits"),
        _spec("days_between_visits_mean", "Mean days between consecutive visits", "days",
              "numeric", "visits"),
        _spec("campaign_exposures", "Campaign offers received (holdouts excluded)", "offers",
              "count", "exposures"),
        _spec("campaign_response_rate", "Share of received offers responded to", "share",
              "share", "exposures"),
        _spec("campaign_redemption_rate", "Share of received offers redeemed", "share", "share",
              "exposures"),
    )
}
"""Fixed features by name."""

FEATURE_FAMILIES: dict[str, FeatureSpec] = {
    "spend_share_": _spec(
        "spend_share_", "Share of spend on {member}", "share", "share", "transactions"
    ),
    "purchase_share_": _spec(
        "purchase_share_", "Share of purchases through {member}", "share", "share", "customers"
    ),
}
"""Families of features: prefix -> template whose meaning has a ``{member}`` placeholder."""


def describe_feature(name: str) -> FeatureSpec:
    """Return the catalog entry for ``name``, family members included.

    Raises
    ------
    KeyError
        When ``name`` is neither a known feature nor a member of a known family.
    """
    if name in FEATURES:
        return FEATURES[name]
    for prefix, template in FEATURE_FAMILIES.items():
        if name.startswith(prefix) and len(name) > len(prefix):
            member = name[len(prefix):].replace("_", " ")
            return replace(template, name=name, meaning=template.meaning.format(member=member))
    raise KeyError(f"unknown feature {name!r}: not in the feature catalog")
