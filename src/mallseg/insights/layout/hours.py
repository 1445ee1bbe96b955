"""When people come: visits by weekday x hour per zone and per segment (heat-map data).

Counts are visits by the weekday (1 Monday ... 7 Sunday) and hour of their entry time, in
the times as recorded (the mall's local time). Without visits, purchases stand in (by
purchase time and the store's zone). Everything is counted in DuckDB; a 7 x 24 grid per
zone and per segment comes back.

Peaks
    ``peak_hours`` is the run of ``window_hours`` consecutive hours, pooled over the week,
    holding the largest share of the group's visits; ``peak_slot`` the same on a single
    weekday; ``busiest_day`` the weekday with most visits. Each peak carries the
    population's share in the same window and the ratio of the two (lift), so that a
    segment's peak says both "when they come" and "how much more than everyone". A group
    with fewer than ``min_events`` visits gets no peaks (``None``).

Examples
--------
>>> import numpy as np
>>> grid = np.zeros((7, 24), dtype=int)
>>> grid[5, 14:17] = 10
>>> grid[0, 9] = 5
>>> best = best_window(grid, np.ones((7, 24)), 3, pooled=True)
>>> (best.weekday, best.start_hour, best.end_hour, best.share)
(None, 14, 17, 0.8571)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

__all__ = [
    "WEEKDAYS",
    "HeatMap",
    "HourlyActivity",
    "PeakWindow",
    "best_window",
    "hourly_activity",
]

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ROUND = 4


@dataclass(frozen=True)
class PeakWindow:
    """A window of hours (on one weekday, or pooled over the week) and its share."""

    weekday: int | None
    """1 Monday ... 7 Sunday; ``None`` when pooled over every day."""
    start_hour: int
    end_hour: int
    """Exclusive: 14 to 17 is 14:00-17:00."""
    share: float
    """Share of the group's visits in the window."""
    population_share: float
    lift: float | None

    @property
    def label(self) -> str:
        """The window in words.

        >>> PeakWindow(6, 14, 17, 0.2, 0.1, 2.0).label
        'Saturday 14:00-17:00'
        """
        hours = f"{self.start_hour:02d}:00-{self.end_hour:02d}:00"
        return hours if self.weekday is None else f"{WEEKDAYS[self.weekday - 1]} {hours}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"weekday": self.weekday, "start_hour": self.start_hour,
                "end_hour": self.end_hour, "label": self.label, "share": self.share,
                "population_share": self.population_share, "lift": self.lift}


@dataclass(frozen=True)
class HeatMap:
    """Visits of one zone or segment by weekday (rows, Monday first) and hour (columns)."""

    kind: str
    """``zone``, ``segment`` or ``population``."""
    group: str
    counts: tuple[tuple[int, ...], ...]
    total: int
    customers: int
    busiest_day: int | None
    busiest_day_share: float | None
    peak_hours: PeakWindow | None
    peak_slot: PeakWindow | None

    def grid(self) -> np.ndarray:
        """The counts as a 7 x 24 array."""
        return np.asarray(self.counts, dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "kind": self.kind, "group": self.group, "total": int(self.total),
            "customers": int(self.customers),
            "weekdays": list(WEEKDAYS), "hours": list(range(24)),
            "counts": [list(map(int, row)) for row in self.counts],
            "busiest_day": self.busiest_day, "busiest_day_share": self.busiest_day_share,
            "peak_hours": self.peak_hours.to_dict() if self.peak_hours else None,
            "peak_slot": self.peak_slot.to_dict() if self.peak_slot else None,
        }


@dataclass(frozen=True)
class HourlyActivity:
    """Heat maps of the whole population, of every zone and of every segment."""

    source: str
    """``visits`` or ``purchases``."""
    window_hours: int
    min_events: int
    population: HeatMap
    zones: tuple[HeatMap, ...]
    segments: tuple[HeatMap, ...]

    def segment(self, name: str) -> HeatMap:
        """The heat map of segment ``name``.

        Raises
        ------
        KeyError
            When there is no such segment.
        """
        for heat in self.segments:
            if heat.group == name:
                return heat
        raise KeyError(f"no heat map for segment {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "source": self.source, "window_hours": self.window_hours,
            "min_events": self.min_events, "population": self.population.to_dict(),
            "zones": [z.to_dict() for z in self.zones],
            "segments": [s.to_dict() for s in self.segments],
        }


def best_window(grid: np.ndarray, population: np.ndarray, hours: int, *,
                pooled: bool) -> PeakWindow:
    """The window of ``hours`` consecutive hours with the largest share of ``grid``.

    Parameters
    ----------
    grid, population:
        7 x 24 counts of the group and of the population.
    hours:
        Window length (1-24); windows do not wrap past midnight.
    pooled:
        Sum over weekdays first (the window is the same hours every day).
    """
    g = grid.astype(float)
    p = population.astype(float)
    g_total, p_total = g.sum(), p.sum()
    if pooled:
        g, p = g.sum(axis=0, keepdims=True), p.sum(axis=0, keepdims=True)
    kernel = np.ones(hours)
    g_win = np.array([np.convolve(row, kernel, mode="valid") for row in g])
    p_win = np.array([np.convolve(row, kernel, mode="valid") for row in p])
    day, start = np.unravel_index(int(np.argmax(g_win)), g_win.shape)
    share = float(g_win[day, start] / g_total) if g_total else 0.0
    pop_share = float(p_win[day, start] / p_total) if p_total else 0.0
    return PeakWindow(
        weekday=None if pooled else int(day) + 1, start_hour=int(start),
        end_hour=int(start) + hours, share=round(share, _ROUND),
        population_share=round(pop_share, _ROUND),
        lift=round(share / pop_share, _ROUND) if pop_share else None,
    )


def _heat_map(kind: str, group: str, grid: np.ndarray, customers: int,
              population: np.ndarray, window_hours: int, min_events: int) -> HeatMap:
    total = int(grid.sum())
    counts = tuple(tuple(int(v) for v in row) for row in grid)
    if total < min_events:
        return HeatMap(kind, group, counts, total, customers, None, None, None, None)
    by_day = grid.sum(axis=1)
    day = int(np.argmax(by_day))
    return HeatMap(
        kind, group, counts, total, customers, busiest_day=day + 1,
        busiest_day_share=round(float(by_day[day] / total), _ROUND),
        peak_hours=best_window(grid, population, window_hours, pooled=True),
        peak_slot=best_window(grid, population, window_hours, pooled=False),
    )


def hourly_activity(
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    *,
    time_col: str,
    source: str,
    window_hours: int = 3,
    min_events: int = 100,
) -> HourlyActivity:
    """Count ``relation`` by weekday x hour, per zone and per segment, and find the peaks.

    Parameters
    ----------
    connection:
        DuckDB connection.
    relation:
        SQL relation with ``customer_id``, ``zone``, ``segment`` and ``time_col``.
    time_col:
        The timestamp column (``entered_at`` for visits, ``purchased_at`` for purchases).
    source:
        What the rows are, for the result (``visits`` or ``purchases``).
    window_hours:
        Length of a peak window.
    min_events:
        Fewest rows for a group to get peaks.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute('''CREATE TABLE v AS SELECT 'c' || (i % 7) AS customer_id,
    ...     'north' AS zone, 'A' AS segment,
    ...     TIMESTAMP '2026-01-03 14:00' + INTERVAL (i % 3) HOUR AS entered_at
    ...     FROM range(300) t(i)''')
    >>> activity = hourly_activity(con, "v", time_col="entered_at", source="visits")
    >>> activity.segment("A").peak_slot.label, activity.segment("A").busiest_day
    ('Saturday 14:00-17:00', 6)
    """
    if not 1 <= window_hours <= 24:
        raise ValueError(f"window_hours={window_hours} must be between 1 and 24")
    rows = connection.execute(f"""
        WITH r AS (SELECT customer_id, zone, segment, isodow({time_col}) AS d,
                          hour({time_col}) AS h FROM {relation}
                   WHERE {time_col} IS NOT NULL)
        SELECT 'zone' AS kind, zone AS grp, d, h, count(*) AS n
        FROM r WHERE zone IS NOT NULL GROUP BY ALL
        UNION ALL
        SELECT 'segment', segment, d, h, count(*) FROM r GROUP BY ALL
    """).fetchall()
    customer_rows = connection.execute(f"""
        SELECT 'zone', zone, count(DISTINCT customer_id) FROM {relation}
        WHERE zone IS NOT NULL AND {time_col} IS NOT NULL GROUP BY ALL
        UNION ALL
        SELECT 'segment', segment, count(DISTINCT customer_id) FROM {relation}
        WHERE {time_col} IS NOT NULL GROUP BY ALL
        UNION ALL
        SELECT 'population', '', count(DISTINCT customer_id) FROM {relation}
        WHERE {time_col} IS NOT NULL
    """).fetchall()
    customers = {(str(k), str(g)): int(n) for k, g, n in customer_rows}
    grids: dict[tuple[str, str], np.ndarray] = {}
    for kind, group, d, h, n in rows:
        key = (str(kind), str(group))
        grids.setdefault(key, np.zeros((7, 24), dtype=np.int64))[int(d) - 1, int(h)] += int(n)
    population = np.zeros((7, 24), dtype=np.int64)
    for (kind, _), grid in grids.items():
        if kind == "segment":
            population += grid
    maps = {key: _heat_map(key[0], key[1], grid, customers.get(key, 0), population,
                           window_hours, min_events)
            for key, grid in sorted(grids.items())}
    whole = _heat_map("population", "All customers", population,
                      customers.get(("population", ""), 0), population, window_hours,
                      min_events)
    return HourlyActivity(
        source=source, window_hours=window_hours, min_events=min_events, population=whole,
        zones=tuple(m for k, m in maps.items() if k[0] == "zone"),
        segments=tuple(m for k, m in maps.items() if k[0] == "segment"),
    )
