"""Demographic features read straight from ``customers``.

``age`` falls back to the as-of year minus ``birth_year`` when the age itself is missing.
Tenure needs the other tables (first event when the sign-up date is unknown), so the
builder computes it.

Examples
--------
>>> from datetime import datetime
>>> from mallseg.features.sources import CanonicalSources
>>> ctx = BuildContext(None, CanonicalSources(frozenset({"customers"})), datetime(2024, 1, 1))
>>> demographic_block(ctx).feature_names
('age', 'gender', 'annual_income', 'spending_score', 'family_size', 'loyalty_tier')
"""

from __future__ import annotations

from mallseg.features.blocks.block import BuildContext, FeatureBlock

__all__ = ["demographic_block"]


def demographic_block(ctx: BuildContext) -> FeatureBlock:
    """Features of the ``customers`` table itself (no aggregation).

    Examples
    --------
    >>> from mallseg.features.sources import CanonicalSources
    >>> block = demographic_block(BuildContext(None, CanonicalSources(frozenset()), None))
    >>> dict(block.columns)["age"]
    'c.age'
    """
    age = "c.age"
    if ctx.as_of is not None:
        age = f"coalesce(c.age, CAST({ctx.as_of.year} - c.birth_year AS INTEGER))"
    return FeatureBlock(
        alias="c",
        aggregate_sql=None,
        columns=(
            ("age", age),
            ("gender", "c.gender"),
            ("annual_income", "c.annual_income"),
            ("spending_score", "c.spending_score"),
            ("family_size", "c.family_size"),
            ("loyalty_tier", "c.loyalty_tier"),
        ),
    )
