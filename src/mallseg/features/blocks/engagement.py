"""Campaign engagement features: one aggregation pass over ``exposures``.

Only offers actually received count: rows with ``is_holdout`` true (the control group)
are ignored, and so are offers sent after the as-of time. A NULL ``is_holdout`` is read
as "received".

- ``campaign_exposures``: offers received; 0 for a customer never targeted.
- ``campaign_response_rate``: offers responded to / offers received whose response is
  recorded (``responded`` not NULL).
- ``campaign_redemption_rate``: offers redeemed (``redeemed_at`` at or before the as-of
  time) / offers received. Left out when the data records no redemption at all.

Both rates are NULL for a customer who received nothing.

Examples
--------
>>> import duckdb
>>> from datetime import datetime
>>> from mallseg.features.schema import BuildParameters
>>> from mallseg.features.sources import inspect_sources
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE exposures (customer_id VARCHAR, responded BOOLEAN)")
>>> _ = con.execute("INSERT INTO exposures VALUES ('c1', true)")
>>> ctx = BuildContext(con, inspect_sources(con), None)
>>> parameters = BuildParameters(**measure_engagement_parameters(ctx))
>>> engagement_block(BuildContext(con, ctx.sources, None, parameters)).feature_names
('campaign_exposures', 'campaign_response_rate')
"""

from __future__ import annotations

from mallseg.features.blocks.block import BuildContext, FeatureBlock

__all__ = ["engagement_block", "measure_engagement_parameters"]


def measure_engagement_parameters(ctx: BuildContext) -> dict[str, bool]:
    """Whether the exposures record responses and redemptions at all.

    >>> import duckdb
    >>> from mallseg.features.sources import inspect_sources
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE exposures (customer_id VARCHAR, responded BOOLEAN)")
    >>> _ = con.execute("INSERT INTO exposures VALUES ('c1', true)")
    >>> measure_engagement_parameters(BuildContext(con, inspect_sources(con), None))
    {'has_responses': True, 'has_redemptions': False}
    """
    exposures = ctx.sources.relation("exposures")
    recorded = ctx.row(f"SELECT count(responded), count(redeemed_at) FROM {exposures}")
    return {"has_responses": bool(recorded[0]), "has_redemptions": bool(recorded[1])}


def engagement_block(ctx: BuildContext) -> FeatureBlock:
    """Campaign features from the ``exposures`` table (which must be present).

    Examples
    --------
    >>> import duckdb
    >>> from mallseg.features.sources import inspect_sources
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE exposures (customer_id VARCHAR, is_holdout BOOLEAN)")
    >>> _ = con.execute("INSERT INTO exposures VALUES ('c1', false)")
    >>> engagement_block(BuildContext(con, inspect_sources(con), None)).feature_names
    ('campaign_exposures',)
    """
    exposures = ctx.sources.relation("exposures")
    has_responses = ctx.parameters.has_responses
    has_redemptions = ctx.parameters.has_redemptions
    aggregate = f"""
        SELECT customer_id,
            count(*) AS received,
            count(*) FILTER (WHERE responded) AS responded,
            count(responded) AS response_known,
            count(*) FILTER (WHERE redeemed_at IS NOT NULL AND {ctx.until('redeemed_at')})
                AS redeemed
        FROM {exposures}
        WHERE NOT coalesce(is_holdout, false) AND (sent_at IS NULL OR {ctx.until('sent_at')})
        GROUP BY customer_id"""
    columns = [("campaign_exposures", "coalesce(eng.received, 0)")]
    if has_responses:
        columns.append(
            ("campaign_response_rate", "eng.responded / nullif(eng.response_known, 0)")
        )
    if has_redemptions:
        columns.append(("campaign_redemption_rate", "eng.redeemed / nullif(eng.received, 0)"))
    return FeatureBlock(alias="eng", aggregate_sql=aggregate, columns=tuple(columns))
