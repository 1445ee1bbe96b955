"""Lenses: named sets of features that look at customers from one angle.

A lens lists features and feature families (a name ending in ``_`` stands for every
member of that family present in the data). Features a mall's data does not have are
left out; a lens with nothing left is an error that says which tables it needs.

Examples
--------
>>> resolve_lens("classic", ["customer_id", "age", "annual_income", "spending_score"])
['annual_income', 'spending_score']
>>> resolve_lens("value", ["recency_days", "frequency", "monetary_total"])
['recency_days', 'frequency', 'monetary_total']
>>> resolve_lens(["age", "spend_share_"], ["age", "spend_share_food", "spend_share_cinema"])
['age', 'spend_share_food', 'spend_share_cinema']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mallseg.features.catalog import FEATURE_FAMILIES, describe_feature

__all__ = ["ATTRIBUTES", "LENSES", "default_lens", "resolve_lens"]

ATTRIBUTES = "@attributes"
"""Lens entry standing for every customer attribute of the data (extra columns of the
user's customer file), except the wide columns whose totals and shares are in the lens."""

LENSES: dict[str, tuple[str, ...]] = {
    "classic": ("annual_income", "spending_score"),
    "demographic": ("age", "gender", "annual_income", "family_size"),
    "behavioural": (
        "visits_per_month",
        "dwell_mean_minutes",
        "share_visits_morning",
        "share_visits_midday",
        "share_visits_afternoon",
        "share_visits_evening",
        "share_visits_weekend",
        "basket_mean",
        "distinct_stores",
        "spend_share_",
    ),
    "value": ("recency_days", "frequency", "monetary_total", "basket_mean"),
    "profile": (
        "age",
        "gender",
        "annual_income",
        "family_size",
        "loyalty_tier",
        "tenure_days",
        "monetary_total",
        "spend_share_",
        "purchases_total",
        "purchase_share_",
        ATTRIBUTES,
    ),
    "engagement": (
        "visits_per_month",
        "repeat_visit_rate",
        "days_between_visits_mean",
        "campaign_response_rate",
        "campaign_redemption_rate",
        "tenure_days",
        "loyalty_tier",
    ),
}
"""Built-in lenses by name."""


def resolve_lens(
    lens: str | Sequence[str],
    available: Iterable[str],
    *,
    attributes: Iterable[str] = (),
    summarised: Iterable[str] = (),
) -> list[str]:
    """Return the features of ``lens`` that are present in ``available``, in lens order.

    Parameters
    ----------
    lens:
        A built-in lens name, or a custom list of feature names and family prefixes.
    available:
        Column names of the customer feature table.
    attributes:
        The features that are customer attributes (what ``@attributes`` stands for).
    summarised:
        Attributes already summarised by other features of the lens (wide spend columns,
        whose total and shares are features): left out of ``@attributes``.

    Raises
    ------
    ValueError
        When the lens is unknown, names a feature that the catalog does not know, or
        keeps no feature at all on this data.
    """
    available_list = list(available)
    present = set(available_list)
    attribute_list = [a for a in attributes if a in present]
    skipped = set(summarised)
    if isinstance(lens, str):
        if lens not in LENSES:
            known = ", ".join(sorted(LENSES))
            raise ValueError(f"unknown lens {lens!r}: expected one of {known} or a feature list")
        wanted: Sequence[str] = LENSES[lens]
        lens_name = lens
    else:
        wanted = list(lens)
        lens_name = "custom"
        unknown = [n for n in wanted if n not in FEATURE_FAMILIES and n not in present
                   and n != ATTRIBUTES and not _documented(n)]
        if unknown:
            names = [c for c in available_list if c != "customer_id"]
            raise ValueError(
                f"unknown feature {unknown[0]!r} in the lens: this data has "
                f"{', '.join(names)} (and families {', '.join(FEATURE_FAMILIES)})"
            )
    chosen: list[str] = []
    for name in wanted:
        if name == ATTRIBUTES:
            chosen.extend(a for a in attribute_list if a not in chosen and a not in skipped)
        elif name in FEATURE_FAMILIES:
            chosen.extend(c for c in available_list if c.startswith(name) and c not in chosen)
        elif name in present and name not in chosen:
            chosen.append(name)
    if not chosen:
        needs = sorted({_source_of(n) for n in wanted})
        raise ValueError(
            f"lens {lens_name!r} has no feature in this data: it needs the "
            f"{', '.join(needs)} table(s)"
        )
    return chosen


def _documented(name: str) -> bool:
    try:
        describe_feature(name)
    except KeyError:
        return False
    return True


def _source_of(name: str) -> str:
    try:
        return describe_feature(name).source
    except KeyError:
        return FEATURE_FAMILIES[name].source if name in FEATURE_FAMILIES else "unknown"


def default_lens(available: Iterable[str], attributes: Iterable[str] = ()) -> str:
    """The richest built-in lens this data supports.

    Behaviour when there are visits (how people use the mall), then the classic
    income x spending-score view, then the customer profile when the customer file brought
    at least three attributes of its own (spend per category, counts, household,
    education...) or when demographics meet spend per category, then value (RFM) when
    there are purchases, else demographics.

    >>> default_lens(["customer_id", "annual_income", "spending_score", "age"])
    'classic'
    >>> default_lens(["customer_id", "visits_per_month", "dwell_mean_minutes"])
    'behavioural'
    >>> default_lens(["customer_id", "age", "gender"])
    'demographic'
    >>> default_lens(["customer_id", "age", "kidhome", "education", "mnt_wines"],
    ...              attributes=["kidhome", "education", "mnt_wines"])
    'profile'
    """
    present = set(available)
    if "visits_per_month" in present:
        return "behavioural"
    if {"annual_income", "spending_score"} <= present:
        return "classic"
    if len([a for a in attributes if a in present]) >= 3:
        return "profile"
    demographics = {"age", "gender", "annual_income"} & present
    if demographics and any(c.startswith("spend_share_") for c in present):
        return "profile"
    if "monetary_total" in present:
        return "value"
    return "demographic"
