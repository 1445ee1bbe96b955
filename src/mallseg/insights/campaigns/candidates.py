"""The customers a campaign may contact: segmented, and allowed by the consent rule.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE customers (customer_id VARCHAR, consent_marketing BOOLEAN)")
>>> _ = con.execute("INSERT INTO customers VALUES ('a', true), ('b', false), ('c', NULL)")
>>> frame, excluded = candidate_customers(con, None)
>>> frame["customer_id"].tolist(), excluded
(['a'], 2)
>>> frame, excluded = candidate_customers(con, None, rule="not_refused")
>>> frame["customer_id"].tolist(), excluded
(['a', 'c'], 1)
"""

from __future__ import annotations

import duckdb
import pandas as pd

from mallseg.core.sql_text import quote_literal
from mallseg.data.consent import DEFAULT_CONSENT_RULE, ConsentRule, may_market_sql
from mallseg.features.sources import inspect_sources
from mallseg.insights.campaigns.availability import CampaignDataError
from mallseg.insights.campaigns.registered_frames import registered
from mallseg.insights.campaigns.segments_input import ALL_CUSTOMERS

__all__ = ["candidate_customers"]


def candidate_customers(
    connection: duckdb.DuckDBPyConnection, segments: pd.DataFrame | None,
    rule: ConsentRule = DEFAULT_CONSENT_RULE,
) -> tuple[pd.DataFrame, int]:
    """Candidates (``customer_id``, ``segment``, sorted by id) and how many consent excludes.

    A customer is a candidate when segmented (every customer when ``segments`` is
    ``None``) and the consent ``rule`` allows marketing to them (see
    :mod:`mallseg.data.consent`: by default only a consent recorded as given does; a
    customer missing from the customers table has an unknown consent).

    Raises
    ------
    CampaignDataError
        When there are neither segments nor a customers table to take candidates from.

    Examples
    --------
    >>> import duckdb, pandas as pd
    >>> segments = pd.DataFrame({"customer_id": ["x"], "segment": ["s"]})
    >>> candidate_customers(duckdb.connect(), segments)[1]  # no customers table: unknown
    1
    >>> candidate_customers(duckdb.connect(), segments, "not_refused")[0].to_dict("list")
    {'customer_id': ['x'], 'segment': ['s']}
    """
    sources = inspect_sources(connection)
    has_customers = sources.has("customers")
    if segments is None:
        if not has_customers:
            raise CampaignDataError(
                "No customers to target: load the customers table or give assignments"
            )
        frame = connection.execute(f"""
            SELECT customer_id, {quote_literal(ALL_CUSTOMERS)} AS segment,
                NOT {may_market_sql("consent_marketing", rule)} AS refused
            FROM {sources.relation("customers")} ORDER BY customer_id""").df()
    elif not has_customers:
        frame = segments.assign(refused=rule == "opt_in").sort_values("customer_id")
    else:
        with registered(connection, segments, "candidate_segments") as view:
            frame = connection.execute(f"""
                SELECT g.customer_id, g.segment,
                    NOT {may_market_sql("c.consent_marketing", rule)} AS refused
                FROM "{view}" g
                LEFT JOIN {sources.relation("customers")} c ON c.customer_id = g.customer_id
                ORDER BY g.customer_id""").df()
    refused = frame["refused"].to_numpy(dtype=bool)
    kept = frame.loc[~refused, ["customer_id", "segment"]].reset_index(drop=True)
    kept["customer_id"] = kept["customer_id"].astype(str)
    kept["segment"] = kept["segment"].astype(str)
    return kept, int(refused.sum())
