"""The last step of a feature build: which columns come out, and what the build depended on.

A first build keeps the features some customer has a value for and merges rare categories
into ``spend_share_other``; a build with a schema outputs exactly the schema's features,
merged the same way. :func:`describe_schema` writes down the kinds and meanings of what
came out.

Examples
--------
>>> output_order(["spend_share_toys", "age", "frequency", "spend_share_other"])
['age', 'frequency', 'spend_share_toys', 'spend_share_other']
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

import duckdb

from mallseg.features.blocks.attributes import PURCHASE_SHARE_PREFIX, derived_attribute_features
from mallseg.features.blocks.block import SQLConnection
from mallseg.features.blocks.value import SPEND_SHARE_PREFIX
from mallseg.features.catalog import FEATURES, describe_feature
from mallseg.features.schema import AttributeSpec, BuildParameters, FeatureSchema

__all__ = ["OTHER_CATEGORY", "describe_schema", "fresh_select", "output_order",
           "schema_select"]

logger = logging.getLogger(__name__)

OTHER_CATEGORY = "other"
"""Spend-share member that collects the categories too rare to be features of their own."""


def _stage_columns(connection: SQLConnection, stage: str) -> list[str]:
    return [str(r[0]) for r in connection.execute(f"DESCRIBE {stage}").fetchall()
            if r[0] != "customer_id"]


def fresh_select(
    connection: SQLConnection, stage: str, min_category_share: float
) -> tuple[str, list[str], list[str]]:
    """The final SELECT of a first build: features with a value, rare categories merged.

    Returns the SELECT, the features in output order and the categories kept.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE stage AS SELECT 'c1' AS customer_id, 3 AS age, "
    ...                 "NULL::DOUBLE AS dwell_mean_minutes")
    >>> fresh_select(con, "stage", 0.01)
    ('SELECT customer_id, "age" AS "age" FROM stage', ['age'], [])
    """
    names = _stage_columns(connection, stage)
    shares = [n for n in names if n.startswith(SPEND_SHARE_PREFIX)]
    probes = [f'count("{n}")' for n in names]
    probes += [f'count(*) FILTER (WHERE "{n}" > 0)' for n in shares]
    probes.append(f'count("{shares[0]}")' if shares else "0")
    # fetchall, not fetchone: a half-read result would block the Arrow fetch that follows
    counts = connection.execute(f"SELECT {', '.join(probes)} FROM {stage}").fetchall()[0]
    known = {n for n, count in zip(names, counts, strict=False) if count}
    buyers_in = dict(zip(shares, counts[len(names):], strict=False))
    categorised_buyers = counts[-1]

    expressions = {n: f'"{n}"' for n in names if n in known and n not in shares}
    threshold = min_category_share * categorised_buyers
    rare = [n for n in shares if n in known and buyers_in[n] < threshold]
    kept = [n for n in shares if n in known and n not in rare]
    other = f"{SPEND_SHARE_PREFIX}{OTHER_CATEGORY}"
    for name in kept:
        expressions[name] = f'"{name}"'
    if rare:
        merged = [f'"{n}"' for n in rare] + ([f'"{other}"'] if other in kept else [])
        expressions[other] = " + ".join(merged)
        logger.info(
            "merged %d rare categories into %s: %s", len(rare), other,
            ", ".join(n.removeprefix(SPEND_SHARE_PREFIX) for n in rare),
        )
    dropped = sorted(set(names) - known)
    if dropped:
        logger.info("left out features with no value for any customer: %s", ", ".join(dropped))
    ordered = output_order(list(expressions))
    items = ", ".join(f'{expressions[n]} AS "{n}"' for n in ordered)
    kept_categories = [n.removeprefix(SPEND_SHARE_PREFIX) for n in kept]
    return f"SELECT customer_id, {items} FROM {stage}", ordered, kept_categories


def schema_select(connection: SQLConnection, stage: str, schema: FeatureSchema) -> str:
    """The final SELECT of a build with a schema: exactly its features, merged the same way.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE stage AS SELECT 'c1' AS customer_id, 3 AS age")
    >>> schema_select(con, "stage", FeatureSchema(None, features=("age", "gender"),
    ...                                           kinds={"gender": "categorical"}))
    'SELECT customer_id, "age" AS "age", CAST(NULL AS VARCHAR) AS "gender" FROM stage'
    """
    names = set(_stage_columns(connection, stage))
    other = f"{SPEND_SHARE_PREFIX}{OTHER_CATEGORY}"
    kept = {f"{SPEND_SHARE_PREFIX}{c}" for c in schema.kept_categories}
    items = []
    for feature in schema.features:
        if feature == other and other not in kept:
            merged = [f'coalesce("{n}", 0)' for n in sorted(names)
                      if n.startswith(SPEND_SHARE_PREFIX) and n not in kept]
            categorised = [f'"{n}"' for n in sorted(names) if n.startswith(SPEND_SHARE_PREFIX)]
            expression = (f"CASE WHEN coalesce({', '.join(categorised)}) IS NOT NULL THEN "
                          f"{' + '.join(merged)} END") if merged else "CAST(NULL AS DOUBLE)"
        elif feature in names:
            expression = f'"{feature}"'
        else:
            kind = schema.kinds.get(feature, "numeric")
            expression = "CAST(NULL AS VARCHAR)" if kind == "categorical" else \
                "CAST(NULL AS DOUBLE)"
        items.append(f'{expression} AS "{feature}"')
    return f"SELECT customer_id, {', '.join(items)} FROM {stage}" if items else \
        f"SELECT customer_id FROM {stage}"


def describe_schema(
    connection: SQLConnection | None, reference: datetime | None, source: str,
    parameters: BuildParameters, kept: list[str], specs: list[AttributeSpec],
    features: list[str], has_transactions: bool,
) -> FeatureSchema:
    """The schema of a first build: its parameters, features, kinds, meanings, vocabulary.

    ``connection`` is the workspace's, whose ingest log says what the places bought from
    are called; ``None`` (data read straight from files) calls them stores.

    Examples
    --------
    >>> schema = describe_schema(None, None, "given", BuildParameters(), [], [],
    ...                          ["age", "frequency"], True)
    >>> schema.kinds, schema.vocabulary
    ({'age': 'numeric', 'frequency': 'count'}, {'place': 'store'})
    """
    place = _place_noun(connection) if connection is not None else "store"
    kinds: dict[str, str] = {}
    meanings: dict[str, str] = {}
    labels: dict[str, str] = {}
    derived = {name: (kind, meaning) for name, _, kind, meaning in
               derived_attribute_features(specs, has_transactions=has_transactions)}
    by_feature = {spec.feature: spec for spec in specs}
    for feature in features:
        if feature in by_feature:
            kinds[feature] = by_feature[feature].kind
            meanings[feature] = by_feature[feature].meaning or feature.replace("_", " ")
            labels[feature] = _attribute_label(by_feature[feature])
        elif feature in derived:
            kinds[feature], meanings[feature] = derived[feature]
            labels[feature] = _derived_label(feature)
        elif feature.startswith(PURCHASE_SHARE_PREFIX):
            kinds[feature] = "share"
        else:
            try:
                spec = describe_feature(feature)
            except KeyError:
                kinds[feature] = "numeric"
                continue
            kinds[feature] = spec.kind
            if feature == "distinct_stores" and place != "store":
                meanings[feature] = f"Distinct {place}s bought from"
    return FeatureSchema(
        as_of=reference, reference=source, parameters=parameters,
        kept_categories=tuple(kept), attributes=tuple(specs), features=tuple(features),
        kinds=kinds, meanings=meanings, labels=labels, vocabulary={"place": place},
    )


def _attribute_label(spec: AttributeSpec) -> str:
    """A short name for an attribute: what it counts, in words."""
    member = (spec.member or "").replace("_", " ")
    if spec.family == "spend" and member:
        return f"spend on {member}"
    if spec.family == "purchases" and member:
        return f"{member} purchases"
    return spec.feature.removeprefix("attr_").replace("_", " ")


def _derived_label(feature: str) -> str:
    if feature == "monetary_total":
        return "total spend"
    if feature == "purchases_total":
        return "purchases, all channels"
    if feature.startswith(PURCHASE_SHARE_PREFIX):
        return f"share of purchases {feature.removeprefix(PURCHASE_SHARE_PREFIX)}"
    return f"share of spend on {feature.removeprefix(SPEND_SHARE_PREFIX).replace('_', ' ')}"


def _place_noun(connection: SQLConnection) -> str:
    """What the places bought from are, judged by the source column of ``store_id``."""
    try:
        rows = connection.execute(
            "SELECT column_mapping FROM ingest_log WHERE table_name = 'transactions' "
            "AND status = 'complete' ORDER BY finished_at DESC LIMIT 1"
        ).fetchall()
    except duckdb.Error:
        return "store"
    if not rows or not rows[0][0]:
        return "store"
    source = str(json.loads(rows[0][0]).get("store_id", "")).lower()
    for word in ("mall", "branch", "outlet", "site"):
        if word in source:
            return word
    return "store"


def output_order(names: list[str]) -> list[str]:
    """Catalog order; spend-share members (sorted, ``other`` last) after the value block."""
    shares = sorted(
        (n for n in names if n.startswith(SPEND_SHARE_PREFIX)),
        key=lambda n: (n == f"{SPEND_SHARE_PREFIX}{OTHER_CATEGORY}", n),
    )
    ordered: list[str] = []
    for name in FEATURES:
        if name in names:
            ordered.append(name)
        if name == "distinct_stores":
            ordered.extend(shares)
    if "distinct_stores" not in FEATURES:
        ordered.extend(shares)
    ordered.extend(n for n in names if n not in ordered)
    return ordered


