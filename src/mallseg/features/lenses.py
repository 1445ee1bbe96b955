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

__all__ = ["LENSES", "resolve_lens"]

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


def resolve_lens(lens: str | Sequence[str], available: Iterable[str]) -> list[str]:
    """Return the features of ``lens`` that are present in ``available``, in lens order.

    Parameters
    ----------
    lens:
        A built-in lens name, or a custom list of feature names and family prefixes.
    available:
        Column names of the customer feature table.

    Raises
    ------
    ValueError
        When the lens is unknown, names a feature that the catalog does not know, or
        keeps no feature at all on this data.
    """
    available_list = list(available)
    present = set(available_list)
    if isinstance(lens, str):
        if lens not in LENSES:
            known = ", ".join(sorted(LENSES))
            raise ValueError(f"unknown lens {lens!r}: expected one of {known} or a feature list")
        wanted: Sequence[str] = LENSES[lens]
        lens_name = lens
    else:
        wanted = list(lens)
        lens_name = "custom"
        for name in wanted:
            if name not in FEATURE_FAMILIES and name not in present:
                describe_feature(name)  # raises KeyError for a name nobody knows
    chosen: list[str] = []
    for name in wanted:
        if name in FEATURE_FAMILIES:
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


def _source_of(name: str) -> str:
    try:
        return describe_feature(name).source
    except KeyError:
        return FEATURE_FAMILIES[name].source if name in FEATURE_FAMILIES else "unknown"


def default_lens(available: Iterable[str]) -> str:
    """The richest built-in lens this data supports.

    Behaviour when there are visits (how people use the mall), then the classic
    income x spending-score view, then value (RFM) when there are purchases, else
    demographics.

    >>> default_lens(["customer_id", "annual_income", "spending_score", "age"])
    'classic'
    >>> default_lens(["customer_id", "visits_per_month", "dwell_mean_minutes"])
    'behavioural'
    >>> default_lens(["customer_id", "age", "gender"])
    'demographic'
    """
    present = set(available)
    if "visits_per_month" in present:
        return "behavioural"
    if {"annual_income", "spending_score"} <= present:
        return "classic"
    if "monetary_total" in present:
        return "value"
    return "demographic"
