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
>>> from mallseg.features.sources import inspect_sources
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE exposures (customer_id VARCHAR, responded BOOLEAN)")
>>> _ = con.execute("INSERT INTO exposures VALUES ('c1', true)")
>>> engagement_block(BuildContext(con, inspect_sources(con), None)).feature_names
('campaign_exposures', 'campaign_response_rate')
"""

from __future__ import annotations

from mallseg.features.blocks.block import BuildContext, FeatureBlock

__all__ = ["engagement_block"]


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
    recorded = ctx.row(f"SELECT count(responded), count(redeemed_at) FROM {exposures}")
    has_responses, has_redemptions = bool(recorded[0]), bool(recorded[1])
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
