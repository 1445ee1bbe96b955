"""The as-of time features are computed at: given, or the latest event in the data.

Using the data's own latest event rather than the wall clock keeps features reproducible:
the same workspace gives the same recency and tenure whenever it is rebuilt.

Examples
--------
>>> import duckdb
>>> from mallseg.features.sources import inspect_sources
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE visits (customer_id VARCHAR, entered_at TIMESTAMP)")
>>> _ = con.execute("INSERT INTO visits VALUES ('c1', '2024-05-01 17:30')")
>>> latest_event_time(con, inspect_sources(con))
datetime.datetime(2024, 5, 1, 17, 30)
>>> as_naive_timestamp(date(2024, 5, 2))
datetime.datetime(2024, 5, 2, 0, 0)
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb

from mallseg.features.sources import CanonicalSources

__all__ = ["EVENT_TIME_COLUMNS", "as_naive_timestamp", "latest_event_time", "reference_time"]

EVENT_TIME_COLUMNS: dict[str, tuple[str, ...]] = {
    "visits": ("entered_at",),
    "transactions": ("purchased_at",),
    "exposures": ("sent_at", "redeemed_at"),
}
"""Columns whose values are events in time, by table."""


def latest_event_time(
    connection: duckdb.DuckDBPyConnection, sources: CanonicalSources
) -> datetime | None:
    """Return the latest event time in the data, else the latest sign-up day, else ``None``.

    Examples
    --------
    >>> import duckdb
    >>> latest_event_time(duckdb.connect(), CanonicalSources(frozenset())) is None
    True
    """
    events = [
        f"SELECT max({column}) AS t FROM {sources.relation(table)}"
        for table, columns in EVENT_TIME_COLUMNS.items()
        if sources.has(table)
        for column in columns
    ]
    latest = _latest(connection, events)
    if latest is None and sources.has("customers"):
        signups = [
            f"SELECT CAST(max(signup_date) AS TIMESTAMP) AS t "
            f"FROM {sources.relation('customers')}"
        ]
        latest = _latest(connection, signups)
    return latest


def reference_time(
    connection: duckdb.DuckDBPyConnection, sources: CanonicalSources
) -> tuple[datetime, str]:
    """The time features are computed as of, and where it came from.

    The latest event in the data ("latest event"), else the latest sign-up ("latest
    sign-up"), else the start of today in UTC ("today"): ages, tenure and recency are
    then those of the data's own time, not of the day the command runs.

    Examples
    --------
    >>> import duckdb
    >>> from mallseg.features.sources import inspect_sources
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE customers (customer_id VARCHAR, signup_date DATE)")
    >>> _ = con.execute("INSERT INTO customers VALUES ('c1', '2014-06-29')")
    >>> reference_time(con, inspect_sources(con))
    (datetime.datetime(2014, 6, 29, 0, 0), 'latest sign-up')
    """
    events = [
        f"SELECT max({column}) AS t FROM {sources.relation(table)}"
        for table, columns in EVENT_TIME_COLUMNS.items()
        if sources.has(table)
        for column in columns
    ]
    latest = _latest(connection, events)
    if latest is not None:
        return latest, "latest event"
    if sources.has("customers"):
        signups = [f"SELECT CAST(max(signup_date) AS TIMESTAMP) AS t "
                   f"FROM {sources.relation('customers')}"]
        latest = _latest(connection, signups)
        if latest is not None:
            return latest, "latest sign-up"
    today = datetime.now(UTC).date()
    return datetime(today.year, today.month, today.day), "today"


def _latest(connection: duckdb.DuckDBPyConnection, parts: list[str]) -> datetime | None:
    if not parts:
        return None
    found = connection.execute(f"SELECT max(t) FROM ({' UNION ALL '.join(parts)})").fetchall()[0][0]
    return as_naive_timestamp(found) if isinstance(found, date) else None


def as_naive_timestamp(value: date | datetime) -> datetime:
    """``value`` as a naive timestamp: a day becomes its midnight, an aware time its UTC time.

    Examples
    --------
    >>> as_naive_timestamp(datetime(2024, 1, 1, 12, tzinfo=UTC))
    datetime.datetime(2024, 1, 1, 12, 0)
    """
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return value
    return datetime(value.year, value.month, value.day)
