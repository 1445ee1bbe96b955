"""The buy-till-you-die summary of each customer, computed in DuckDB where the events live.

From ``transactions`` (``purchased_at``, ``amount``) or ``visits`` (``entered_at``), one SQL
query with a two-level aggregation (per customer and day, then per customer) gives, for
every customer with at least one event at or before ``as_of``:

- ``frequency`` (x): repeat events, the customer's distinct event days minus one (several
  purchases on one day are one purchase occasion, the usual convention);
- ``recency`` (t_x): time from the first event day to the last;
- ``T``: time from the start of the first event day to ``as_of``;
- transactions only: ``spend`` (total calibration spend) and ``monetary_value``, the mean
  spend per repeat purchase day (amounts summed per day, the first day left out, as the
  Gamma-Gamma model wants; NaN when x = 0);
- with ``holdout_days``: ``holdout_frequency``, the distinct event days in
  (as_of, as_of + holdout_days], and for transactions ``holdout_spend``.

Times are in ``unit`` (``"days"`` or ``"weeks"``). A purchase is a transaction line with a
positive ``amount`` (returns are not purchases, and Gamma-Gamma needs positive spend).
These are not the RFM features of :mod:`mallseg.features` (whose frequency counts baskets
and whose recency runs to the as-of day).

``as_of`` follows the feature convention: events at or before it count, a day means its
midnight, and by default it is the latest event in the data. For a clean split pass a day:
then no day is cut in two between calibration and holdout.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE transactions (customer_id VARCHAR, purchased_at TIMESTAMP, "
...                 "amount DOUBLE)")
>>> _ = con.execute("INSERT INTO transactions VALUES ('a', '2024-01-01 10:00', 10), "
...                 "('a', '2024-01-01 16:00', 5), ('a', '2024-01-08 12:00', 30), "
...                 "('b', '2024-01-10 09:00', 20)")
>>> summary = summarise_events(con, "transactions", as_of=date(2024, 1, 15))
>>> summary.customers[["customer_id", "frequency", "recency", "T", "monetary_value"]]
  customer_id  frequency  recency     T  monetary_value
0           a          1      7.0  14.0            30.0
1           b          0      0.0   5.0             NaN
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

import duckdb
import pandas as pd

from mallseg.core.sql_text import quote_literal
from mallseg.features.build import fetch_frame
from mallseg.features.reference_time import as_naive_timestamp
from mallseg.features.sources import CanonicalSources, inspect_sources
from mallseg.insights.loyalty.value import UNIT_DAYS

__all__ = ["EVENT_SOURCES", "EventSource", "EventSummary", "summarise_events",
           "summarise_sources"]

logger = logging.getLogger(__name__)

EventSource = Literal["transactions", "visits"]

EVENT_SOURCES: dict[str, str] = {"transactions": "purchased_at", "visits": "entered_at"}
"""Event tables a summary can be made of, with their time column."""


@dataclass(frozen=True)
class EventSummary:
    """Per-customer (x, t_x, T) summary of one event table, with its reference times.

    Attributes
    ----------
    customers:
        One row per customer with an event at or before ``as_of`` (see the module text for
        the columns), sorted by ``customer_id``.
    source:
        ``"transactions"`` or ``"visits"``.
    unit:
        Unit of ``recency`` and ``T``.
    as_of:
        End of the calibration period.
    holdout_end:
        End of the holdout period, or ``None``.

    Examples
    --------
    >>> s = EventSummary(pd.DataFrame({"customer_id": ["a"], "frequency": [2]}), "visits",
    ...                  "days", datetime(2024, 1, 1), None)
    >>> s.to_dict()["customers"]
    1
    """

    customers: pd.DataFrame
    source: str
    unit: str
    as_of: datetime
    holdout_end: datetime | None

    @property
    def holdout_days(self) -> float | None:
        """Length of the holdout period in days, or ``None``."""
        if self.holdout_end is None:
            return None
        return (self.holdout_end - self.as_of).total_seconds() / 86_400

    def to_dict(self) -> dict[str, Any]:
        """What the summary covers, in plain JSON types (not the per-customer rows)."""
        frame = self.customers
        repeat = frame["frequency"] > 0 if "frequency" in frame else pd.Series(dtype=bool)
        return {
            "source": self.source,
            "unit": self.unit,
            "as_of": self.as_of.isoformat(),
            "holdout_end": None if self.holdout_end is None else self.holdout_end.isoformat(),
            "customers": len(frame),
            "repeat_customers": int(repeat.sum()),
            "repeat_events": int(frame["frequency"].sum()) if "frequency" in frame else 0,
        }


def summarise_events(
    connection: duckdb.DuckDBPyConnection,
    source: EventSource = "transactions",
    *,
    as_of: datetime | date | None = None,
    holdout_days: float | None = None,
    unit: str = "days",
) -> EventSummary:
    """Summarise each customer's events as (x, t_x, T), optionally with a holdout count.

    Parameters
    ----------
    connection:
        DuckDB connection with the canonical tables (a workspace's ``.connection``).
    source:
        ``"transactions"`` (purchases, with spend) or ``"visits"``.
    as_of:
        End of the calibration period; default the latest event of ``source``.
    holdout_days:
        Length of the holdout period after ``as_of`` (needs ``as_of``); ``None`` for none.
    unit:
        ``"days"`` or ``"weeks"``.

    Raises
    ------
    ValueError
        On an unknown source or unit, a missing or empty table, a negative holdout, or no
        event at or before ``as_of``.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE visits (customer_id VARCHAR, entered_at TIMESTAMP)")
    >>> _ = con.execute("INSERT INTO visits VALUES ('a', '2024-01-01 10:00'), "
    ...                 "('a', '2024-01-15 10:00'), ('a', '2024-01-20 10:00')")
    >>> s = summarise_events(con, "visits", as_of=date(2024, 1, 15), holdout_days=14)
    >>> s.customers[["frequency", "recency", "T", "holdout_frequency"]].values.tolist()
    [[0.0, 0.0, 14.0, 2.0]]
    """
    return summarise_sources(lambda sql: fetch_frame(connection, sql),
                             inspect_sources(connection), source, as_of=as_of,
                             holdout_days=holdout_days, unit=unit)


def summarise_sources(
    run_query: Callable[[str], pd.DataFrame],
    sources: CanonicalSources,
    source: EventSource,
    *,
    as_of: datetime | date | None = None,
    holdout_days: float | None = None,
    unit: str = "days",
) -> EventSummary:
    """:func:`summarise_events` over ``sources``, each query answered by ``run_query``.

    The summary's SQL keeps to the subset DuckDB and Spark mean the same by, so the Spark
    engine runs it with a ``run_query`` that translates it for Spark
    (:mod:`mallseg.distributed.dialect`). Parameters and errors are those of
    :func:`summarise_events`.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE visits AS SELECT 'a' AS customer_id, "
    ...                 "TIMESTAMP '2024-01-01 10:00' AS entered_at")
    >>> summary = summarise_sources(lambda sql: fetch_frame(con, sql), inspect_sources(con),
    ...                             "visits")
    >>> summary.customers[["frequency", "T"]].values.tolist()
    [[0.0, 0.4166666666666667]]
    """
    if source not in EVENT_SOURCES:
        raise ValueError(f"source={source!r} must be one of {sorted(EVENT_SOURCES)}")
    if unit not in UNIT_DAYS:
        raise ValueError(f"unit={unit!r} must be one of {sorted(UNIT_DAYS)}")
    if holdout_days is not None:
        if as_of is None:
            raise ValueError("holdout_days needs as_of: the holdout starts where it ends")
        if not holdout_days > 0:
            raise ValueError(f"holdout_days={holdout_days!r} must be a positive number of days")
    if not sources.has(source):
        raise ValueError(f"Required table {source} missing or empty: ingest {source} first")
    relation = sources.relation(source)
    time_column = EVENT_SOURCES[source]
    if as_of is None:
        latest: Any = run_query(f"SELECT max({time_column}) AS latest FROM {relation}"
                                ).iloc[0, 0]
        if isinstance(latest, pd.Timestamp):
            latest = latest.to_pydatetime()
        reference = as_naive_timestamp(latest)
    else:
        reference = as_naive_timestamp(as_of)
    holdout_end = None if holdout_days is None else reference + timedelta(days=holdout_days)
    sql = _summary_sql(relation, time_column, source == "transactions", reference,
                       holdout_end, UNIT_DAYS[unit])
    frame = run_query(sql)
    if frame.empty:
        raise ValueError(
            f"no {source} at or before {reference:%Y-%m-%d %H:%M}: choose a later as_of"
        )
    for column in ("frequency", "holdout_frequency"):
        if column in frame:
            frame[column] = frame[column].astype("int64")
    logger.info(
        "summarised %s of %d customers as of %s (%s)", source, len(frame), reference, unit
    )
    return EventSummary(frame, source, unit, reference, holdout_end)


def _summary_sql(
    relation: str,
    time_column: str,
    with_spend: bool,
    as_of: datetime,
    holdout_end: datetime | None,
    unit_days: float,
) -> str:
    as_of_sql = f"TIMESTAMP {quote_literal(as_of.isoformat(sep=' '))}"
    end_sql = (
        as_of_sql if holdout_end is None
        else f"TIMESTAMP {quote_literal(holdout_end.isoformat(sep=' '))}"
    )
    calibration = "FILTER (WHERE NOT later)"
    amount = "amount" if with_spend else "CAST(NULL AS DOUBLE)"
    purchase = " AND amount > 0" if with_spend else ""
    items = [
        f"count(*) {calibration} - 1 AS frequency",
        f"date_diff('day', min(day) {calibration}, max(day) {calibration}) / {unit_days} "
        "AS recency",
        # whole seconds from the first day's midnight (DuckDB's date_diff('second') on
        # either engine: microseconds are what both count alike)
        f"floor(date_diff('microsecond', CAST(min(day) {calibration} AS TIMESTAMP), "
        f"{as_of_sql}) / 1000000) / {86_400 * unit_days} AS T",
    ]
    if with_spend:
        items += [
            f"sum(spend) {calibration} AS spend",
            f"(sum(spend) {calibration} - arg_min(spend, day) {calibration}) "
            f"/ nullif(count(*) {calibration} - 1, 0) AS monetary_value",
        ]
    if holdout_end is not None:
        items.append("count(*) FILTER (WHERE later) AS holdout_frequency")
        if with_spend:
            items.append("coalesce(sum(spend) FILTER (WHERE later), 0) AS holdout_spend")
    return f"""
        WITH days AS (
            SELECT customer_id, CAST({time_column} AS DATE) AS day,
                {time_column} > {as_of_sql} AS later, sum({amount}) AS spend
            FROM {relation}
            WHERE customer_id IS NOT NULL AND {time_column} <= {end_sql}{purchase}
            GROUP BY ALL
        )
        SELECT customer_id, {", ".join(items)}
        FROM days
        GROUP BY customer_id
        HAVING count(*) {calibration} > 0
        ORDER BY customer_id"""
