"""Each exposure's outcome in its campaign's window, and the arms' statistics, in DuckDB.

One row per exposure (campaign, customer) with a known arm is materialised in a temporary
table: its segment, whether it was held out, whether the customer responded, and the spend
and visits in the campaign's window. Event tables are only ever aggregated in SQL; what
comes back to Python is one row per campaign x segment x arm, or the exposure rows of the
campaigns a targeting model learns from.

Window
    From the campaign's ``start_date`` to its ``end_date`` (inclusive). Without a
    ``start_date`` it starts on the day of ``sent_at``; without an ``end_date`` it lasts
    ``window_days`` days. Exposures with neither a start date nor a send time have no
    window, so no spend or visits.
Response
    The ``responded`` flag, for a campaign that records it in both arms. Otherwise (holdouts
    often have no recorded response: they were sent nothing to respond to) a response is a
    purchase in the window, in the offer's ``target_category`` when the campaign names one
    and purchases carry categories, else any purchase.
Spend, visits
    Sum of ``transactions.amount`` (returns included) and count of ``visits`` in the window;
    0 for a customer without any. They are measured only when those tables hold rows.
Arm
    ``is_holdout`` true is the holdout, false the targeted customers; rows where it is NULL
    are left out (and counted).

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE exposures (campaign_id VARCHAR, customer_id VARCHAR, "
...                 "is_holdout BOOLEAN, responded BOOLEAN)")
>>> _ = con.execute("INSERT INTO exposures VALUES ('k', 'a', false, true), "
...                 "('k', 'b', false, false), ('k', 'c', true, false)")
>>> with exposure_outcomes(con, None) as table:
...     arms = arm_statistics(con, table)
>>> arms[["campaign_id", "segment", "is_holdout", "customers", "responders"]]
  campaign_id        segment  is_holdout  customers  responders
0           k  all customers       False          2           1
1           k  all customers        True          1           0
2           k            NaN       False          2           1
3           k            NaN        True          1           0
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager

import duckdb
import pandas as pd

from mallseg.core.sql_text import quote_literal
from mallseg.insights.campaigns.availability import CampaignInputs, inspect_campaign_inputs
from mallseg.insights.campaigns.registered_frames import registered
from mallseg.insights.campaigns.segments_input import ALL_CUSTOMERS, UNASSIGNED

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "RESPONSE_FLAG",
    "arm_statistics",
    "campaign_details",
    "exposure_outcomes",
    "outcome_rows",
]

DEFAULT_WINDOW_DAYS = 14
"""Length of the window of a campaign that has no end date."""

RESPONSE_FLAG = "responded flag"
"""``response_source`` of a campaign whose response is its recorded ``responded`` flag."""

_EMPTY_CAMPAIGNS = (
    "(SELECT CAST(NULL AS VARCHAR) AS campaign_id, CAST(NULL AS VARCHAR) AS name, "
    "CAST(NULL AS VARCHAR) AS channel, CAST(NULL AS DATE) AS start_date, "
    "CAST(NULL AS DATE) AS end_date, CAST(NULL AS VARCHAR) AS offer, "
    "CAST(NULL AS VARCHAR) AS target_category WHERE false)"
)


def _outcome_sql(inputs: CampaignInputs, segments_view: str | None, window_days: int) -> str:
    src = inputs.sources
    campaigns = src.relation("campaigns") if src.has("campaigns") else _EMPTY_CAMPAIGNS
    category = "lower(trim(c.target_category))" if inputs.categories else "NULL"
    ctes = [f"""e AS (
        SELECT x.campaign_id, x.customer_id, x.is_holdout, x.responded,
            coalesce(c.start_date, CAST(x.sent_at AS DATE)) AS window_start,
            coalesce(c.end_date + 1,
                     coalesce(c.start_date, CAST(x.sent_at AS DATE)) + {int(window_days)})
                AS window_end,
            {category} AS target_category
        FROM {src.relation("exposures")} x LEFT JOIN {campaigns} c USING (campaign_id)
        WHERE x.is_holdout IS NOT NULL)""",
        """flag AS (
        SELECT campaign_id,
            count(responded) FILTER (WHERE is_holdout) > 0
                AND count(responded) FILTER (WHERE NOT is_holdout) > 0 AS has_flag
        FROM e GROUP BY campaign_id)"""]
    if inputs.transactions:
        store_category = "NULL"
        stores_join = ""
        if inputs.stores:
            store_category = "s.category"
            stores_join = f"LEFT JOIN {src.relation('stores')} s ON s.store_id = t.store_id"
        ctes.append(f"""tx AS (
        SELECT e.campaign_id, e.customer_id, sum(t.amount) AS spend, count(*) AS receipts,
            bool_or(lower(trim(coalesce(t.category, {store_category}))) = e.target_category)
                AS bought_target
        FROM e JOIN {src.relation("transactions")} t ON t.customer_id = e.customer_id
            AND t.purchased_at >= e.window_start AND t.purchased_at < e.window_end
        {stores_join}
        GROUP BY e.campaign_id, e.customer_id)""")
        derived = """CASE WHEN e.window_start IS NULL THEN NULL
                 WHEN e.target_category IS NULL THEN coalesce(tx.receipts, 0) > 0
                 ELSE coalesce(tx.bought_target, false) END"""
        spend = "CASE WHEN e.window_start IS NOT NULL THEN coalesce(tx.spend, 0) END"
        tx_join = "LEFT JOIN tx USING (campaign_id, customer_id)"
    else:
        derived, spend, tx_join = "NULL", "CAST(NULL AS DOUBLE)", ""
    if inputs.visits:
        ctes.append(f"""vi AS (
        SELECT e.campaign_id, e.customer_id, count(*) AS visits
        FROM e JOIN {src.relation("visits")} v ON v.customer_id = e.customer_id
            AND v.entered_at >= e.window_start AND v.entered_at < e.window_end
        GROUP BY e.campaign_id, e.customer_id)""")
        visits = "CASE WHEN e.window_start IS NOT NULL THEN coalesce(vi.visits, 0) END"
        visit_join = "LEFT JOIN vi USING (campaign_id, customer_id)"
    else:
        visits, visit_join = "CAST(NULL AS BIGINT)", ""
    if segments_view is None:
        segment, segment_join = quote_literal(ALL_CUSTOMERS), ""
    else:
        segment = f"coalesce(g.segment, {quote_literal(UNASSIGNED)})"
        segment_join = f'LEFT JOIN "{segments_view}" g ON g.customer_id = e.customer_id'
    return f"""WITH {", ".join(ctes)}
        SELECT e.campaign_id, e.customer_id, {segment} AS segment, e.is_holdout,
            CASE WHEN f.has_flag THEN e.responded ELSE {derived} END AS responded,
            {spend} AS spend, {visits} AS visits
        FROM e JOIN flag f USING (campaign_id) {tx_join} {visit_join} {segment_join}"""


@contextmanager
def exposure_outcomes(
    connection: duckdb.DuckDBPyConnection,
    segments: pd.DataFrame | None,
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
    inputs: CampaignInputs | None = None,
) -> Iterator[str]:
    """Materialise every exposure's outcome in a temporary table; yield the table's name.

    Parameters
    ----------
    connection:
        DuckDB connection with the canonical tables (``exposures`` must hold rows).
    segments:
        ``customer_id``, ``segment`` frame from
        :func:`~mallseg.insights.campaigns.segments_input.segment_frame`, or ``None``
        for one segment of all customers. Exposed customers it does not cover are in the
        segment ``unassigned``.
    window_days:
        Window length of a campaign without an end date.
    inputs:
        What the connection holds, when already inspected.

    Yields
    ------
    str
        Name of a temporary table with columns ``campaign_id``, ``customer_id``,
        ``segment``, ``is_holdout``, ``responded``, ``spend``, ``visits``; dropped on exit.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE exposures (campaign_id VARCHAR, customer_id VARCHAR, "
    ...                 "is_holdout BOOLEAN)")
    >>> _ = con.execute("INSERT INTO exposures VALUES ('k', 'a', false), ('k', 'b', NULL)")
    >>> with exposure_outcomes(con, None) as table:
    ...     con.execute(f"SELECT customer_id, is_holdout FROM {table}").fetchall()
    [('a', False)]
    """
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        raise ValueError(f"window_days={window_days!r} must be a whole number of days >= 1")
    inputs = inputs if inputs is not None else inspect_campaign_inputs(connection)
    if not inputs.sources.has("exposures"):
        raise ValueError("Required table exposures missing or empty")
    table = f"mallseg_campaign_outcomes_{uuid.uuid4().hex[:12]}"
    with ExitStack() as stack:
        view = None
        if segments is not None:
            view = stack.enter_context(registered(connection, segments, "campaign_segments"))
        try:
            connection.execute(
                f"CREATE TEMP TABLE {table} AS {_outcome_sql(inputs, view, window_days)}"
            )
            yield table
        finally:
            connection.execute(f"DROP TABLE IF EXISTS {table}")


def arm_statistics(connection: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """Counts, rates and means per campaign x segment x arm, and per campaign x arm.

    Rows of a whole campaign have no ``segment`` (missing). Columns: ``customers``,
    ``response_known``, ``responders``, ``spend_known``, ``spend_mean``, ``spend_var``,
    ``visits_known``, ``visits_mean``, ``visits_var`` (sample variances).

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE o AS SELECT 'k' AS campaign_id, 's' AS segment, "
    ...                 "false AS is_holdout, true AS responded, 10.0 AS spend, 1 AS visits")
    >>> arm_statistics(con, "o")[["segment", "customers", "spend_mean"]]
      segment  customers  spend_mean
    0       s          1        10.0
    1     NaN          1        10.0
    """
    return connection.execute(f"""
        SELECT campaign_id, segment, is_holdout,
            count(*) AS customers,
            count(responded) AS response_known,
            count(*) FILTER (WHERE responded) AS responders,
            count(spend) AS spend_known,
            avg(spend) AS spend_mean,
            var_samp(spend) AS spend_var,
            count(visits) AS visits_known,
            avg(visits) AS visits_mean,
            var_samp(visits) AS visits_var
        FROM {table}
        GROUP BY GROUPING SETS ((campaign_id, segment, is_holdout), (campaign_id, is_holdout))
        ORDER BY campaign_id, segment NULLS LAST, is_holdout""").df()


def campaign_details(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    inputs: CampaignInputs,
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> pd.DataFrame:
    """One row per exposed campaign: what it was, its window and how response was read.

    Columns: ``campaign_id``, ``name``, ``channel``, ``offer``, ``target_category``,
    ``window_first_day``, ``window_last_day``, ``first_sent_at``, ``response_source``,
    ``unknown_arm`` (rows without ``is_holdout``).

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE exposures (campaign_id VARCHAR, customer_id VARCHAR, "
    ...                 "is_holdout BOOLEAN, responded BOOLEAN, sent_at TIMESTAMP)")
    >>> _ = con.execute("INSERT INTO exposures VALUES ('k', 'a', true, true, '2024-05-01'),"
    ...                 " ('k', 'b', false, false, '2024-05-01')")
    >>> inputs = inspect_campaign_inputs(con)
    >>> with exposure_outcomes(con, None, inputs=inputs) as table:
    ...     row = campaign_details(con, table, inputs).iloc[0]
    >>> str(row.window_first_day.date()), str(row.window_last_day.date()), row.response_source
    ('2024-05-01', '2024-05-14', 'responded flag')
    """
    src = inputs.sources
    campaigns = src.relation("campaigns") if src.has("campaigns") else _EMPTY_CAMPAIGNS
    described = "purchase in the window"
    if inputs.categories:
        described = ("CASE WHEN c.target_category IS NULL THEN 'purchase in the window' "
                     "ELSE 'purchase in ' || c.target_category || ' in the window' END")
    else:
        described = quote_literal(described)
    no_outcome = quote_literal("none")
    derived = described if inputs.transactions else no_outcome
    return connection.execute(f"""
        WITH x AS (
            SELECT campaign_id,
                count(*) FILTER (WHERE is_holdout IS NULL) AS unknown_arm,
                min(sent_at) AS first_sent_at,
                count(responded) FILTER (WHERE is_holdout) > 0
                    AND count(responded) FILTER (WHERE NOT is_holdout) > 0 AS has_flag,
                min(coalesce(c.start_date, CAST(sent_at AS DATE))) AS window_first_day,
                max(coalesce(c.end_date + 1, coalesce(c.start_date, CAST(sent_at AS DATE))
                             + {int(window_days)})) - 1 AS window_last_day
            FROM {src.relation("exposures")} LEFT JOIN {campaigns} c USING (campaign_id)
            GROUP BY campaign_id)
        SELECT x.campaign_id, c.name, c.channel, c.offer, c.target_category,
            x.window_first_day, x.window_last_day, x.first_sent_at,
            CASE WHEN coalesce(x.has_flag, false) THEN {quote_literal(RESPONSE_FLAG)}
                 ELSE {derived} END AS response_source,
            x.unknown_arm
        FROM x LEFT JOIN {campaigns} c USING (campaign_id)
        WHERE x.campaign_id IN (SELECT DISTINCT campaign_id FROM {table})
           OR x.unknown_arm > 0
        ORDER BY x.campaign_id""").df()


def outcome_rows(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    campaign_ids: Sequence[str],
    *,
    max_rows: int = 2_000_000,
    seed: int = 0,
) -> pd.DataFrame:
    """The exposure rows of ``campaign_ids`` with a known response, for learning uplift.

    At most ``max_rows`` rows come back: beyond that a repeatable random sample of them
    (both arms keep their shares).

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE o AS SELECT * FROM (VALUES ('k', 'a', 's', true, false),"
    ...                 " ('k', 'b', 's', false, NULL)) v(campaign_id, customer_id, segment, "
    ...                 "is_holdout, responded)")
    >>> outcome_rows(con, "o", ["k"])[["customer_id", "is_holdout", "responded"]]
      customer_id  is_holdout  responded
    0           a        True      False
    """
    ids = ", ".join(quote_literal(c) for c in campaign_ids) or "NULL"
    where = f"campaign_id IN ({ids}) AND responded IS NOT NULL"
    count = int(connection.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchall()[0][0])
    sample = ""
    if count > max_rows:
        sample = f"USING SAMPLE reservoir({int(max_rows)} ROWS) REPEATABLE ({int(seed)})"
    return connection.execute(f"""
        SELECT campaign_id, customer_id, segment, is_holdout, responded
        FROM (SELECT * FROM {table} WHERE {where} {sample})
        ORDER BY campaign_id, customer_id""").df()
