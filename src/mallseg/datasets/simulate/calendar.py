"""The mall's calendar: seasons, holidays and the daily visit intensity of each persona.

The mall-wide season follows the published pattern for indoor malls: a winter dip, a
summer rise with back-to-school from late July, and a holiday season (Black Friday to
New Year's Eve) about 57% above the rest of the year, peaking on Black Friday and on the
Saturday before Christmas. Personas add their own seasonal boosts. Every persona's
intensity is normalised to a mean of 1 over a calendar year, so its ``visits_per_month``
is a yearly average.

Examples
--------
>>> from datetime import date
>>> black_friday(2026)
datetime.date(2026, 11, 27)
>>> saturday_before_christmas(2026)
datetime.date(2026, 12, 19)
>>> days = period_dates(date(2026, 1, 1), 3)
>>> [str(d) for d in days]
['2026-01-01', '2026-01-02', '2026-01-03']
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from mallseg.datasets.simulate.personas import Persona

__all__ = [
    "MONTH_FACTORS",
    "black_friday",
    "dwell_season",
    "holiday_mask",
    "mall_season",
    "period_dates",
    "persona_intensity",
    "saturday_before_christmas",
    "spend_season",
]

MONTH_FACTORS: tuple[float, ...] = (
    0.82, 0.84, 0.93, 0.95, 0.99, 1.02, 1.07, 1.09, 0.92, 0.95, 0.98, 1.0,
)
"""Relative visit intensity of January .. December outside the holiday season."""

_HOLIDAY_LEVEL = 1.28
_BLACK_FRIDAY_LEVEL = 2.4
_SATURDAY_BEFORE_CHRISTMAS_LEVEL = 2.2


def black_friday(year: int) -> date:
    """The day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=21 + 1)


def saturday_before_christmas(year: int) -> date:
    """The last Saturday before 25 December."""
    day = date(year, 12, 24)
    return day - timedelta(days=(day.weekday() - 5) % 7)


def period_dates(start: date, days: int) -> list[date]:
    """The ``days`` consecutive dates from ``start``."""
    return [start + timedelta(days=i) for i in range(days)]


def holiday_mask(dates: list[date]) -> np.ndarray:
    """True on days of the holiday season (Black Friday to 31 December)."""
    return np.array([d >= black_friday(d.year) for d in dates], dtype=bool)


def mall_season(dates: list[date]) -> np.ndarray:
    """Mall-wide relative visit intensity of each date (not normalised)."""
    out = np.empty(len(dates))
    for i, d in enumerate(dates):
        level = MONTH_FACTORS[d.month - 1]
        if d >= black_friday(d.year):
            level = _HOLIDAY_LEVEL
            if d == black_friday(d.year):
                level = _BLACK_FRIDAY_LEVEL
            elif d == saturday_before_christmas(d.year):
                level = _SATURDAY_BEFORE_CHRISTMAS_LEVEL
            elif d.month == 12 and d.day == 24:
                level = 0.8
            elif d.month == 12 and d.day == 25:
                level = 0.05
            elif d.month == 12 and d.day == 26:
                level = 1.7
        elif d.month == 1 and d.day == 1:
            level = 0.3
        out[i] = level
    return out


def _season_masks(dates: list[date]) -> dict[str, np.ndarray]:
    hol = holiday_mask(dates)
    bts = np.array([(d.month == 7 and d.day >= 20) or d.month == 8 for d in dates])
    summer = np.array([(d.month == 6 and d.day >= 15) or d.month in (7, 8) for d in dates])
    bf = np.array([d == black_friday(d.year) for d in dates])
    return {"holiday": hol, "back_to_school": bts, "summer": summer, "black_friday": bf}


def _raw_persona_season(persona: Persona, dates: list[date]) -> np.ndarray:
    masks = _season_masks(dates)
    boost = (
        1.0
        + persona.holiday_boost * masks["holiday"]
        + persona.back_to_school_boost * masks["back_to_school"]
        + persona.summer_boost * masks["summer"]
        + persona.black_friday_boost * masks["black_friday"]
    )
    return mall_season(dates) * boost


def persona_intensity(persona: Persona, dates: list[date]) -> np.ndarray:
    """Relative visit intensity of ``persona`` on each date, with mean 1 over a year.

    The normalising year is the calendar year of the first date.
    """
    year = dates[0].year
    reference = period_dates(date(year, 1, 1), (date(year + 1, 1, 1) - date(year, 1, 1)).days)
    norm = float(_raw_persona_season(persona, reference).mean())
    return _raw_persona_season(persona, dates) / norm


def dwell_season(dates: list[date]) -> np.ndarray:
    """Dwell multiplier of each date: visits are longer in summer and the holiday season."""
    masks = _season_masks(dates)
    return 1.0 + 0.08 * masks["holiday"] + 0.05 * masks["summer"]


def spend_season(dates: list[date]) -> np.ndarray:
    """Spend-per-visit multiplier of each date: gift buying lifts the holiday season."""
    masks = _season_masks(dates)
    return 1.0 + 0.15 * masks["holiday"] + 0.05 * masks["back_to_school"]
