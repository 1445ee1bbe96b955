"""Visit features: one window-and-aggregate pass over ``visits`` up to the as-of time.

Definitions (``as_of`` is the build's reference time; later visits are ignored):

- ``visits_per_month``: visits / months observed. The customer is observed from the later
  of their ``signup_date`` and the first visit date in the data, to the as-of day; months
  = days / 30.4375, at least 1 (so a customer who joined last week and came twice has 2,
  not 8.7). Customers with no visit get 0.
- ``dwell_mean_minutes``: mean of ``dwell_minutes`` (or ``left_at - entered_at`` when only
  the times are known) over visits where it is known.
- ``share_visits_morning`` / ``midday`` / ``afternoon`` / ``evening``: share of visits whose
  ``entered_at`` hour is < 12, 12-14, 15-17, >= 18 (12:00 is midday, 15:00 afternoon,
  18:00 evening). They sum to 1.
- ``share_visits_weekend``: share of visits entered on a Saturday or Sunday.
- ``repeat_visit_rate``: share of visits followed by the customer's next visit within 30
  days (next ``entered_at`` - ``entered_at`` <= 30 days). Visits less than 30 days before
  the as-of time that are not (yet) followed are left out of the denominator, since
  their outcome is not known; NULL when no visit is decided.
- ``days_between_visits_mean``: (last visit - first visit) / (visits - 1) in days, the
  mean gap between consecutive visits; NULL with fewer than two visits.

Shares, means and rates are NULL for customers with no visit (undefined, not zero; the
segment preprocessing imputes them).

Time differences are taken in microseconds (``date_diff('microsecond', ...)``): the one
unit in which DuckDB's count of boundaries and Spark's count of whole units agree, so the
SQL means the same on both engines (:mod:`mallseg.distributed.dialect`).

Examples
--------
>>> import duckdb
>>> from mallseg.features.sources import inspect_sources
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE visits (customer_id VARCHAR, entered_at TIMESTAMP)")
>>> _ = con.execute("INSERT INTO visits VALUES ('c1', '2024-01-01 10:00')")
>>> ctx = BuildContext(con, inspect_sources(con), datetime(2024, 3, 1))
>>> visit_block(ctx).feature_names[:2]
('visits_per_month', 'dwell_mean_minutes')
"""

from __future__ import annotations

from datetime import date, datetime

from mallseg.features.blocks.block import BuildContext, FeatureBlock, sql_date

__all__ = ["DAYS_PER_MONTH", "REPEAT_WINDOW_DAYS", "first_visit_day", "visit_block"]

DAYS_PER_MONTH = 30.4375
"""Mean length of a Gregorian month in days."""

REPEAT_WINDOW_DAYS = 30
"""A visit counts as repeated when the next one comes within this many days."""


def visit_block(ctx: BuildContext) -> FeatureBlock:
    """Visit-rhythm features from the ``visits`` table (which must be present).

    Examples
    --------
    >>> import duckdb
    >>> from mallseg.features.sources import inspect_sources
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE visits (customer_id VARCHAR, entered_at TIMESTAMP)")
    >>> _ = con.execute("INSERT INTO visits VALUES ('c1', '2024-01-01 10:00')")
    >>> block = visit_block(BuildContext(con, inspect_sources(con), datetime(2024, 1, 2)))
    >>> "share_visits_weekend" in block.feature_names
    True
    """
    visits = ctx.sources.relation("visits")
    start_day = ctx.parameters.visits_start
    within = f"next_at <= entered_at + INTERVAL {REPEAT_WINDOW_DAYS} DAY"
    decided = within
    if ctx.as_of is not None:
        decided = f"{within} OR entered_at + INTERVAL {REPEAT_WINDOW_DAYS} DAY <= {ctx.as_of_sql}"
    aggregate = f"""
        SELECT customer_id,
            count(*) AS visits,
            avg(coalesce(dwell_minutes,
                         date_diff('microsecond', entered_at, left_at) / 60000000.0))
                AS dwell_mean,
            count(*) FILTER (WHERE hour(entered_at) < 12) AS morning,
            count(*) FILTER (WHERE hour(entered_at) >= 12 AND hour(entered_at) < 15) AS midday,
            count(*) FILTER (WHERE hour(entered_at) >= 15 AND hour(entered_at) < 18)
                AS afternoon,
            count(*) FILTER (WHERE hour(entered_at) >= 18) AS evening,
            count(*) FILTER (WHERE isodow(entered_at) >= 6) AS weekend,
            count(*) FILTER (WHERE {within}) AS repeated,
            count(*) FILTER (WHERE {decided}) AS decided,
            min(entered_at) AS first_at,
            max(entered_at) AS last_at
        FROM (
            SELECT customer_id, entered_at, left_at, dwell_minutes,
                lead(entered_at) OVER (PARTITION BY customer_id ORDER BY entered_at) AS next_at
            FROM {visits}
            WHERE {ctx.until('entered_at')}
        )
        GROUP BY customer_id"""
    columns = [
        ("visits_per_month", _visits_per_month(ctx, start_day)),
        ("dwell_mean_minutes", "vis.dwell_mean"),
    ]
    for band in ("morning", "midday", "afternoon", "evening", "weekend"):
        columns.append((f"share_visits_{band}", f"vis.{band} / vis.visits"))
    columns.append(("repeat_visit_rate", "vis.repeated / nullif(vis.decided, 0)"))
    columns.append((
        "days_between_visits_mean",
        "CASE WHEN vis.visits >= 2 THEN "
        "date_diff('microsecond', vis.first_at, vis.last_at) / 86400000000.0 "
        "/ (vis.visits - 1) END",
    ))
    return FeatureBlock(
        alias="vis", aggregate_sql=aggregate, columns=tuple(columns), first_seen="vis.first_at"
    )


def first_visit_day(ctx: BuildContext) -> date | None:
    """The first visit day up to the as-of time (observation starts there).

    >>> import duckdb
    >>> from mallseg.features.sources import inspect_sources
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE visits (customer_id VARCHAR, entered_at TIMESTAMP)")
    >>> _ = con.execute("INSERT INTO visits VALUES ('c1', '2024-01-01 10:00')")
    >>> first_visit_day(BuildContext(con, inspect_sources(con), None))
    datetime.date(2024, 1, 1)
    """
    visits = ctx.sources.relation("visits")
    start = ctx.scalar(f"SELECT min(entered_at) FROM {visits} WHERE {ctx.until('entered_at')}")
    return start.date() if isinstance(start, datetime) else start


def _visits_per_month(ctx: BuildContext, start_day: date | None) -> str:
    if start_day is None or ctx.as_of is None:
        return "CAST(coalesce(vis.visits, 0) AS DOUBLE)"
    first = sql_date(start_day)
    observed_from = f"greatest(coalesce(c.signup_date, {first}), {first})"
    days = f"date_diff('day', {observed_from}, {ctx.as_of_date_sql})"
    return f"coalesce(vis.visits, 0) / greatest({days} / {DAYS_PER_MONTH}, 1.0)"
