"""Run a check every so often: intervals in words, and a loop that keeps its rhythm.

``mallseg monitor --schedule 1d`` runs the check now and then once a day until stopped.
A machine that runs cron can do the same without a process that stays up::

    # every day at 06:00: check drift, refit (keeping identities) when due
    0 6 * * *  mallseg --workspace /data/mall monitor --refit-if-due >> /var/log/mallseg.log 2>&1

Examples
--------
>>> parse_interval("90m"), parse_interval("1d"), parse_interval("2w")
(datetime.timedelta(seconds=5400), datetime.timedelta(days=1), datetime.timedelta(days=14))
>>> parse_interval("soon")
Traceback (most recent call last):
...
ValueError: interval 'soon': expected a number and a unit, e.g. 30m, 6h, 1d or 1w
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

__all__ = ["CRON_EXAMPLE", "parse_interval", "run_every"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

CRON_EXAMPLE = ("0 6 * * *  mallseg --workspace /data/mall monitor --refit-if-due "
                ">> /var/log/mallseg.log 2>&1")
"""A crontab line that checks every day at 06:00 (refitting when due)."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_SHORTEST = timedelta(minutes=1)


def parse_interval(text: str) -> timedelta:
    """An interval such as ``30m``, ``6h``, ``1d`` or ``1w`` (at least one minute).

    Raises
    ------
    ValueError
        When the text is not a number and a unit, or is shorter than a minute.
    """
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(text).lower())
    if not found:
        raise ValueError(f"interval {text!r}: expected a number and a unit, e.g. 30m, 6h, "
                         "1d or 1w")
    interval = timedelta(seconds=float(found.group(1)) * _UNITS[found.group(2)])
    if interval < _SHORTEST:
        raise ValueError(f"interval {text!r} is shorter than a minute: checks need time")
    return interval


def run_every(
    interval: timedelta,
    task: Callable[[int], T],
    *,
    times: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[T]:
    """Run ``task(round)`` now and then every ``interval``, ``times`` times (None: forever).

    A round that takes longer than the interval is followed at once by the next. Returns
    what the rounds returned when ``times`` is given (a loop without end keeps nothing).

    Examples
    --------
    >>> now = [0.0]
    >>> def wait(seconds: float) -> None:
    ...     now[0] += seconds
    >>> run_every(timedelta(hours=1), lambda i: i * 10, times=3, sleep=wait,
    ...           clock=lambda: now[0])
    [0, 10, 20]
    >>> now[0]
    7200.0
    """
    if times is not None and times < 1:
        raise ValueError(f"times={times} must be >= 1 or None")
    results: list[T] = []
    done = 0
    start = clock()
    while times is None or done < times:
        result = task(done)
        if times is not None:
            results.append(result)
        done += 1
        if times is not None and done >= times:
            break
        due = start + done * interval.total_seconds()
        wait = max(0.0, due - clock())
        logger.info("next check in %.0f s", wait)
        sleep(wait)
    return results
