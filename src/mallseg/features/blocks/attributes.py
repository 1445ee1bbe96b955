"""Customer attributes: every extra column a user's customer file brought, as features.

Ingest keeps such columns (spend per category, purchase counts by channel, household,
education, past campaign responses, ...) in the long table ``customer_attributes``
(one row per customer and attribute: ``number`` for numbers and 0/1 flags, ``text`` for
categories), documented in ``attribute_catalog``. This block pivots them back to one
column per attribute with conditional aggregates, in one pass.

Wide spend per category (the ``spend`` family: ``MntWines``, ``MntFruits``, ...) also
yields the value features a receipts table would give when the workspace has no
transactions: ``monetary_total`` (the sum of the members, NULL when a customer has none of
them) and ``spend_share_<member>`` (member / total). Purchase counts by channel (the
``purchases`` family: ``NumWebPurchases``, ``NumStorePurchases``, ...) yield
``purchases_total`` and ``purchase_share_<member>``.

Examples
--------
>>> import duckdb
>>> from datetime import datetime
>>> from mallseg.features.sources import CanonicalSources
>>> spec = AttributeSpec("kidhome", "kidhome", "number", "count")
>>> block = attribute_block(BuildContext(None, CanonicalSources(frozenset()), None), [spec],
...                         has_transactions=False)
>>> block.feature_names
('kidhome',)
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from mallseg.features.blocks.block import BuildContext, FeatureBlock, sql_string
from mallseg.features.schema import AttributeSpec

__all__ = [
    "ATTRIBUTE_TABLE",
    "CATALOG_TABLE",
    "PURCHASE_SHARE_PREFIX",
    "attribute_block",
    "derived_attribute_features",
    "read_attribute_specs",
]

ATTRIBUTE_TABLE = "customer_attributes"
CATALOG_TABLE = "attribute_catalog"
PURCHASE_SHARE_PREFIX = "purchase_share_"


def read_attribute_specs(
    connection: duckdb.DuckDBPyConnection, reserved: frozenset[str] = frozenset()
) -> list[AttributeSpec]:
    """The attributes documented in the workspace, with the feature name each gets.

    A name that is a built-in feature's (``reserved``) becomes ``attr_<name>``. An empty
    list when the workspace has no attribute tables.

    Examples
    --------
    >>> import duckdb
    >>> read_attribute_specs(duckdb.connect())
    []
    """
    present = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN (?, ?)",
        [ATTRIBUTE_TABLE, CATALOG_TABLE],
    ).fetchone()
    if not present or present[0] < 2:
        return []
    rows = connection.execute(
        f"SELECT attribute, value_type, kind, family, member, coalesce(meaning, '') "
        f"FROM {CATALOG_TABLE} ORDER BY source_table, attribute"
    ).fetchall()
    specs = []
    for attribute, value_type, kind, family, member, meaning in rows:
        name = str(attribute)
        feature = f"attr_{name}" if name in reserved else name
        specs.append(AttributeSpec(name, feature, str(value_type), str(kind),
                                   family, member, str(meaning)))
    return specs


def attribute_block(
    ctx: BuildContext, specs: Sequence[AttributeSpec], *, has_transactions: bool
) -> FeatureBlock:
    """One column per attribute, plus the features wide families stand for.

    ``has_transactions``: when the workspace has receipts, the value features come from
    them and the ``spend`` family stays a set of plain attributes.
    """
    source = ctx.sources.attribute_relation(ATTRIBUTE_TABLE)
    pivots = []
    columns: list[tuple[str, str]] = []
    for i, spec in enumerate(specs):
        value = "text" if spec.value_type == "category" else "number"
        pivots.append(
            f"max({value}) FILTER (WHERE attribute = {sql_string(spec.attribute)}) AS a{i}"
        )
        columns.append((spec.feature, f"att.a{i}"))
    columns += [(name, expression) for name, expression, _, _ in
                derived_attribute_features(specs, has_transactions=has_transactions)]
    aggregate = None
    if pivots:
        aggregate = (f"SELECT customer_id, {', '.join(pivots)} FROM {source} "
                     "GROUP BY customer_id")
    return FeatureBlock(alias="att", aggregate_sql=aggregate, columns=tuple(columns))


def derived_attribute_features(
    specs: Sequence[AttributeSpec], *, has_transactions: bool
) -> list[tuple[str, str, str, str]]:
    """``(feature, SQL expression, kind, meaning)`` of what the wide families stand for.

    Examples
    --------
    >>> specs = [AttributeSpec("mnt_wines", "mnt_wines", "number", "money", "spend", "wines"),
    ...          AttributeSpec("mnt_meat", "mnt_meat", "number", "money", "spend", "meat")]
    >>> [name for name, *_ in derived_attribute_features(specs, has_transactions=False)]
    ['monetary_total', 'spend_share_wines', 'spend_share_meat']
    """
    index = {spec.attribute: i for i, spec in enumerate(specs)}
    derived: list[tuple[str, str, str, str]] = []
    families = [
        ("spend", "monetary_total", "spend_share_", "money",
         "Total spend over the spend columns ({sources})", "Share of spend on {member}"),
        ("purchases", "purchases_total", PURCHASE_SHARE_PREFIX, "count",
         "Purchases over all channels ({sources})", "Share of purchases through {member}"),
    ]
    for family, total_name, prefix, kind, total_meaning, share_meaning in families:
        members = [s for s in specs if s.family == family and s.member]
        if len(members) < 2 or (family == "spend" and has_transactions):
            continue
        cells = [f"att.a{index[s.attribute]}" for s in members]
        total = (f"(CASE WHEN {' OR '.join(f'{c} IS NOT NULL' for c in cells)} THEN "
                 f"{' + '.join(f'coalesce({c}, 0)' for c in cells)} END)")
        sources = ", ".join(s.attribute for s in members)
        derived.append((total_name, total, kind, total_meaning.format(sources=sources)))
        for spec, cell in zip(members, cells, strict=True):
            member = str(spec.member)
            derived.append((
                f"{prefix}{member}", f"coalesce({cell}, 0) / nullif({total}, 0)", "share",
                share_meaning.format(member=member.replace("_", " ")),
            ))
    return derived
