"""Windows that compare like with like: two periods of one length, features of one schema.

A run's features summarise all history up to its reference time, so features computed
later cover a longer history and differ for that reason alone. A drift check therefore
compares two **windows of the same length**: the reference window ends at the run's
reference time, the current window at the data's latest event (or at a later run's
reference time), and both are computed with the run's feature schema, its observation
start moved to the window's start (visits per month count the window's months; a
customer without a purchase in the window is as recent as the window is long). A window's
customers are those with at least one visit, purchase or campaign contact in it.

Examples
--------
>>> from datetime import datetime
>>> pair = comparison_windows(datetime(2026, 4, 1), datetime(2026, 7, 1),
...                           data_start=datetime(2026, 1, 1))
>>> pair.length_days, str(pair.reference.since.date()), str(pair.current.since.date())
(90.0, '2026-01-01', '2026-04-02')
>>> comparison_windows(datetime(2026, 4, 1), datetime(2026, 4, 1))
Traceback (most recent call last):
...
mallseg.monitor.windows.NoNewDataError: no data after the reference time 2026-04-01: nothing \
to compare yet
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pandas as pd

from mallseg.features.build import build_features
from mallseg.features.reference_time import latest_event_time
from mallseg.features.schema import FeatureSchema
from mallseg.features.sources import CanonicalSources, inspect_sources
from mallseg.workspace.limits import release_cache

__all__ = [
    "ACTIVITY_COLUMNS",
    "DEFAULT_WINDOW",
    "NoNewDataError",
    "Window",
    "WindowPair",
    "active_customers",
    "comparison_frames",
    "comparison_windows",
    "event_time_range",
    "has_events",
    "window_features",
    "window_schema",
]

DEFAULT_WINDOW = timedelta(days=91)
"""Longest window by default: a quarter, long enough for monthly rhythms."""

ACTIVITY_COLUMNS: dict[str, str] = {"visits": "entered_at", "transactions": "purchased_at",
                                    "exposures": "sent_at"}
"""The event that makes a customer active in a window, by table."""


class NoNewDataError(LookupError):
    """The data holds nothing after the reference window: there is nothing to compare."""


@dataclass(frozen=True)
class Window:
    """A period ``since`` .. ``until`` (both included)."""

    since: datetime
    until: datetime

    @property
    def days(self) -> float:
        """Length in days."""
        return (self.until - self.since).total_seconds() / 86_400

    def sentence(self) -> str:
        """The period in words.

        >>> Window(datetime(2026, 1, 1), datetime(2026, 3, 31, 18)).sentence()
        '2026-01-01 to 2026-03-31 18:00'
        """
        return f"{_when(self.since)} to {_when(self.until)}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"since": self.since.isoformat(), "until": self.until.isoformat(),
                "days": self.days}


@dataclass(frozen=True)
class WindowPair:
    """The reference and the current window, of one length."""

    reference: Window
    current: Window

    @property
    def length_days(self) -> float:
        """Length of each window in days."""
        return round(self.current.days, 6)

    @property
    def overlapping(self) -> bool:
        """Whether the windows share time beyond their boundary (then drift is diluted)."""
        return self.current.since < self.reference.until

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"reference": self.reference.to_dict(), "current": self.current.to_dict(),
                "length_days": self.length_days, "overlapping": self.overlapping}


def comparison_windows(
    reference_end: datetime,
    current_end: datetime,
    *,
    data_start: datetime | None = None,
    length: timedelta | None = None,
    longest: timedelta = DEFAULT_WINDOW,
) -> WindowPair:
    """The two windows: the reference one ends at ``reference_end``, the current one later.

    Without a ``length``, the windows are as long as the time between the two ends (so they
    do not overlap), at most ``longest`` and at most the data before ``reference_end``.

    Raises
    ------
    NoNewDataError
        When ``current_end`` is not after ``reference_end``.
    ValueError
        When ``length`` is not positive.
    """
    if current_end <= reference_end:
        raise NoNewDataError(f"no data after the reference time {_when(reference_end)}: "
                             "nothing to compare yet")
    if length is None:
        length = min(current_end - reference_end, longest)
        if data_start is not None and reference_end - data_start > timedelta(0):
            length = min(length, reference_end - data_start)
    if length <= timedelta(0):
        raise ValueError(f"window length {length} must be positive")
    return WindowPair(Window(reference_end - length, reference_end),
                      Window(current_end - length, current_end))


def window_schema(schema: FeatureSchema, window: Window) -> FeatureSchema:
    """A run's schema computing its features over ``window`` (observation starts there).

    >>> from datetime import date
    >>> from mallseg.features.schema import BuildParameters
    >>> schema = FeatureSchema(datetime(2026, 1, 1),
    ...                        parameters=BuildParameters(visits_start=date(2025, 1, 1)))
    >>> moved = window_schema(schema, Window(datetime(2026, 2, 1), datetime(2026, 3, 1)))
    >>> moved.as_of, moved.parameters.visits_start
    (datetime.datetime(2026, 3, 1, 0, 0), datetime.date(2026, 2, 1))
    """
    params = schema.parameters
    start = window.since.date()
    return replace(schema, as_of=window.until, parameters=replace(
        params,
        transactions_start=start if params.transactions_start is not None else None,
        visits_start=start if params.visits_start is not None else None))


def has_events(sources: CanonicalSources) -> bool:
    """Whether the data holds any table of dated activity."""
    return any(sources.has(t) for t in ACTIVITY_COLUMNS)


def event_time_range(connection: duckdb.DuckDBPyConnection
                     ) -> tuple[datetime | None, datetime | None]:
    """The first and the last activity time in the data (``None`` without events).

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE visits (customer_id VARCHAR, entered_at TIMESTAMP)")
    >>> _ = con.execute("INSERT INTO visits VALUES ('a', '2026-01-02'), ('b', '2026-03-04')")
    >>> [str(t) for t in event_time_range(con)]
    ['2026-01-02 00:00:00', '2026-03-04 00:00:00']
    """
    sources = inspect_sources(connection)
    parts = [f"SELECT min({column}) AS first, max({column}) AS last "
             f"FROM {sources.relation(table)}"
             for table, column in ACTIVITY_COLUMNS.items() if sources.has(table)]
    if not parts:
        return None, None
    row = connection.execute(
        f"SELECT min(first), max(last) FROM ({' UNION ALL '.join(parts)})").fetchall()[0]
    return row[0], row[1]


def active_customers(connection: duckdb.DuckDBPyConnection, window: Window) -> pd.Series:
    """Ids of the customers with any visit, purchase or campaign contact in ``window``.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE visits (customer_id VARCHAR, entered_at TIMESTAMP)")
    >>> _ = con.execute("INSERT INTO visits VALUES ('a', '2026-01-02'), ('b', '2026-03-04')")
    >>> active_customers(con, Window(datetime(2026, 3, 1), datetime(2026, 4, 1))).tolist()
    ['b']
    """
    sources = inspect_sources(connection)
    parts = [f"SELECT customer_id FROM {sources.relation(table)} "
             f"WHERE {column} BETWEEN $since AND $until"
             for table, column in ACTIVITY_COLUMNS.items() if sources.has(table)]
    if not parts:
        return pd.Series([], dtype=object, name="customer_id")
    frame = connection.execute(
        f"SELECT DISTINCT customer_id FROM ({' UNION ALL '.join(parts)}) ORDER BY 1",
        {"since": window.since, "until": window.until}).df()
    return frame["customer_id"].astype(str)


def window_features(
    connection: duckdb.DuckDBPyConnection, schema: FeatureSchema, window: Window
) -> pd.DataFrame:
    """Features of ``window``'s active customers, computed with ``schema`` over the window.

    Raises
    ------
    ValueError
        When the connection holds no customers.
    """
    build = build_features(connection, schema=window_schema(schema, window),
                           since=window.since)
    active = set(active_customers(connection, window))
    frame = build.frame
    return frame[frame["customer_id"].astype(str).isin(active)].reset_index(drop=True)


def comparison_frames(
    connection: duckdb.DuckDBPyConnection, schema: FeatureSchema, run_id: str, *,
    snapshot: Callable[[], pd.DataFrame], end: datetime | None = None,
    length: timedelta | None = None,
) -> tuple[WindowPair | None, pd.DataFrame, pd.DataFrame]:
    """The features a check of run ``run_id`` compares: two windows, or old and new customers.

    With dated events: the reference window up to the run's reference time and the current
    one up to ``end`` (default: the latest event). Without (a customer table alone): the
    run's own customers (``snapshot()``, the features it kept) against those loaded since.

    Raises
    ------
    NoNewDataError
        When there is nothing after the run to compare.
    """
    if not has_events(inspect_sources(connection)) or schema.as_of is None:
        reference = snapshot()
        current = build_features(connection, schema=schema).frame
        current = current[~current["customer_id"].isin(reference["customer_id"])]
        if current.empty:
            raise NoNewDataError(f"no customers loaded since run {run_id}: nothing to compare "
                                 "yet")
        return None, reference, current.reset_index(drop=True)
    first, last = event_time_range(connection)
    end = end or latest_event_time(connection, inspect_sources(connection)) or last
    if end is None:
        raise NoNewDataError("the data holds no dated event after the run: nothing to compare")
    pair = comparison_windows(schema.as_of, end, data_start=first, length=length)
    # each window's features are a frame of every customer: DuckDB's cache of the event
    # tables is let go after each, so that the frames and the drift check have the room
    reference = window_features(connection, schema, pair.reference)
    release_cache(connection)
    current = window_features(connection, schema, pair.current)
    release_cache(connection)
    return pair, reference, current


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M").removesuffix(" 00:00")
