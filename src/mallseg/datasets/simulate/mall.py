"""The physical mall and its marketing calendar: stores in zones, and campaigns.

Tenant mix follows the published picture: few large department-store anchors, in-line
apparel and shoes leading by store count, a food court, restaurants and an entertainment
wing with the cinema. Campaigns are spread over the period, each with a channel, a target
category and a window; :func:`without_uplift` turns the offers of chosen channels into
placebos (no true uplift), for tests of false discoveries.

Examples
--------
>>> import numpy as np
>>> stores = build_stores(np.random.default_rng(0))
>>> len(stores.store_id), stores.store_id[0]
(124, 'S001')
>>> sorted(set(stores.zone))
['east', 'entertainment', 'food_court', 'north', 'south', 'west']
>>> from datetime import date
>>> camps = build_campaigns(np.random.default_rng(0), date(2026, 1, 1), 182)
>>> len(camps), camps[0].campaign_id
(9, 'CMP001')
>>> without_uplift(1, channels=["app"])[0].response_uplift["app"]
0.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from mallseg.datasets.simulate.personas import CATEGORIES, CHANNELS, Persona, select_personas

__all__ = [
    "STORE_PLAN",
    "Campaign",
    "Stores",
    "build_campaigns",
    "build_stores",
    "without_uplift",
]

STORE_PLAN: dict[str, tuple[int, tuple[str, ...], float, float]] = {
    # category: (stores, zones, relative receipt size, typical unit price)
    "department_store": (4, ("north", "south", "east", "west"), 1.6, 35.0),
    "apparel": (22, ("north", "south", "east", "west"), 1.2, 30.0),
    "fast_fashion": (8, ("west", "south"), 0.8, 15.0),
    "off_price": (5, ("south", "west"), 1.0, 20.0),
    "shoes": (10, ("north", "south", "east", "west"), 1.3, 60.0),
    "beauty": (8, ("north", "east"), 0.8, 18.0),
    "electronics": (6, ("north", "south"), 2.0, 120.0),
    "kids": (6, ("south", "west"), 1.0, 20.0),
    "home": (6, ("north", "east"), 1.5, 30.0),
    "sporting_goods": (5, ("south", "west"), 1.4, 40.0),
    "luxury": (6, ("east",), 2.5, 400.0),
    "food_court": (14, ("food_court",), 0.35, 9.0),
    "restaurant": (9, ("entertainment", "east"), 1.0, 25.0),
    "cafe": (6, ("north", "east", "food_court"), 0.25, 5.0),
    "cinema": (1, ("entertainment",), 0.6, 13.0),
    "entertainment": (2, ("entertainment",), 0.6, 10.0),
    "services": (6, ("north", "south"), 0.9, 40.0),
}
"""Tenant plan per category: store count, zones they are spread over, relative receipt
size (spend per receipt relative to apparel) and typical price of one item."""

_NAME_WORDS = (
    "Amber", "Birch", "Cobalt", "Delta", "Ember", "Fern", "Granite", "Harbor", "Indigo",
    "Juniper", "Kestrel", "Linden", "Maple", "Nova", "Orchid", "Pine", "Quartz", "Raven",
    "Sable", "Tide", "Umber", "Violet", "Willow", "Yarrow", "Zephyr", "Aspen", "Cedar",
    "Dune", "Elm", "Fable",
)
_CATEGORY_NOUNS = {
    "department_store": "Department Store", "apparel": "Apparel", "fast_fashion": "Trend",
    "off_price": "Outlet", "shoes": "Shoes", "beauty": "Beauty", "electronics": "Electronics",
    "kids": "Kids", "home": "Home", "sporting_goods": "Sports", "luxury": "Maison",
    "food_court": "Kitchen", "restaurant": "Bistro", "cafe": "Cafe", "cinema": "Cinemas",
    "entertainment": "Play", "services": "Services",
}


@dataclass(frozen=True)
class Stores:
    """The mall's tenants as parallel arrays (one entry per store)."""

    store_id: np.ndarray
    name: np.ndarray
    category: np.ndarray
    """Index into :data:`CATEGORIES`."""
    zone: np.ndarray
    floor: np.ndarray
    popularity: np.ndarray
    """Share of the category's purchases that go to this store."""

    @property
    def category_names(self) -> np.ndarray:
        """Category of each store by name."""
        return np.asarray(CATEGORIES, dtype=object)[self.category]

    def category_starts(self) -> np.ndarray:
        """Index of the first store of each category (stores are grouped by category)."""
        return np.searchsorted(self.category, np.arange(len(CATEGORIES)))


def build_stores(rng: np.random.Generator) -> Stores:
    """Lay out the tenants: ids, names, categories, zones, floors and popularity."""
    ids: list[str] = []
    names: list[str] = []
    cats: list[int] = []
    zones: list[str] = []
    floors: list[int] = []
    pops: list[float] = []
    words = list(_NAME_WORDS)
    for c, category in enumerate(CATEGORIES):
        count, cat_zones, _, _ = STORE_PLAN[category]
        order = rng.permutation(len(words))
        # Zipf-like popularity: a few stores of a category take most of its purchases.
        weights = 1.0 / np.arange(1, count + 1) ** 0.8
        weights = weights[rng.permutation(count)]
        for k in range(count):
            ids.append(f"S{len(ids) + 1:03d}")
            word = words[order[k % len(words)]]
            suffix = f" {k // len(words) + 2}" if k >= len(words) else ""
            names.append(f"{word} {_CATEGORY_NOUNS[category]}{suffix}")
            cats.append(c)
            zone = cat_zones[k % len(cat_zones)]
            zones.append(zone)
            if category in ("department_store", "cinema"):
                floors.append(0)
            elif zone == "food_court":
                floors.append(1)
            elif zone == "entertainment":
                floors.append(2)
            else:
                floors.append(int(rng.integers(0, 3)))
            pops.append(weights[k] / weights.sum())
    return Stores(
        store_id=np.asarray(ids, dtype=object),
        name=np.asarray(names, dtype=object),
        category=np.asarray(cats, dtype=np.int64),
        zone=np.asarray(zones, dtype=object),
        floor=np.asarray(floors, dtype=np.int32),
        popularity=np.asarray(pops, dtype=np.float64),
    )


def receipt_size() -> np.ndarray:
    """Relative receipt size of each category, in :data:`CATEGORIES` order."""
    return np.array([STORE_PLAN[c][2] for c in CATEGORIES])


def unit_price_reference() -> np.ndarray:
    """Typical price of one item in each category, in :data:`CATEGORIES` order."""
    return np.array([STORE_PLAN[c][3] for c in CATEGORIES])


@dataclass(frozen=True)
class Campaign:
    """One promotion: who it speaks to, when, and through which channel."""

    campaign_id: str
    name: str
    channel: str
    target_category: str
    offer: str
    start_date: date
    end_date: date
    audience_share: float
    """Share of eligible (consenting, active) customers put in the audience."""

    @property
    def channel_index(self) -> int:
        """Position of the channel in :data:`CHANNELS`."""
        return CHANNELS.index(self.channel)

    @property
    def category_index(self) -> int:
        """Position of the target category in :data:`CATEGORIES`."""
        return CATEGORIES.index(self.target_category)


# name, channel, target category, offer, months it suits (empty = any)
_CAMPAIGN_TEMPLATES: tuple[tuple[str, str, str, str, tuple[int, ...]], ...] = (
    ("New year wardrobe", "email", "apparel", "20% off apparel", (1, 2)),
    ("Movie nights", "sms", "cinema", "2-for-1 cinema tickets", ()),
    ("Spring beauty week", "app", "beauty", "$10 off $40 in beauty", (3, 4, 5)),
    ("Tech days", "email", "electronics", "$50 off $300 in electronics", ()),
    ("Food court lunch deal", "app", "food_court", "Free drink with any lunch", ()),
    ("Senior coffee mornings", "direct_mail", "cafe", "Free coffee before noon", ()),
    ("Back to school", "direct_mail", "kids", "15% off kids' wear and shoes", (7, 8)),
    ("Summer sneaker drop", "in_mall", "shoes", "$15 off sneakers", (5, 6, 7)),
    ("Luxury private evening", "email", "luxury", "Invitation: private shopping evening",
     (3, 4, 5, 9, 10, 11, 12)),
    ("Dinner and a movie", "app", "restaurant", "Dessert on us with a cinema ticket", ()),
    ("Black Friday doorbusters", "in_mall", "off_price", "Extra 30% off outlet prices",
     (11,)),
    ("Holiday gift guide", "direct_mail", "department_store", "$20 gift card over $150",
     (11, 12)),
    ("Home refresh", "email", "home", "25% off home textiles", (2, 3, 9, 10)),
    ("Game on", "sms", "sporting_goods", "20% off team gear", (9, 10)),
)


def build_campaigns(rng: np.random.Generator, start: date, days: int) -> list[Campaign]:
    """Spread campaigns over the period: about one every 20 days, at most 10.

    Each slot takes the first unused template (in an order shuffled by ``rng``) that suits
    the slot's month, else the first unused template that suits any month.
    """
    if days < 7:
        return []
    n = int(min(10, max(1, round(days / 20))))
    order = [_CAMPAIGN_TEMPLATES[i] for i in rng.permutation(len(_CAMPAIGN_TEMPLATES))]
    used: set[str] = set()
    campaigns: list[Campaign] = []
    spacing = days / n
    for k in range(n):
        first = start + timedelta(days=round(k * spacing + 0.2 * spacing))
        # Windows never overlap, so no campaign's holdout sits in another's window.
        length = min(int(rng.integers(10, 18)), max(1, int(spacing) - 2))
        last = min(first + timedelta(days=length - 1), start + timedelta(days=days - 1))
        month = first.month
        pick = next((t for t in order if t[0] not in used and month in t[4]), None)
        if pick is None:
            pick = next((t for t in order if t[0] not in used and not t[4]), None)
        if pick is None:
            pick = next(t for t in order if t[0] not in used)
        used.add(pick[0])
        name, channel, category, offer, _ = pick
        campaigns.append(
            Campaign(
                campaign_id=f"CMP{k + 1:03d}",
                name=f"{name} {first.year}",
                channel=channel,
                target_category=category,
                offer=offer,
                start_date=first,
                end_date=last,
                audience_share=float(np.round(rng.uniform(0.4, 0.8), 2)),
            )
        )
    return campaigns


def without_uplift(
    personas: int | Sequence[str | Persona] | None, channels: Sequence[str] = CHANNELS
) -> tuple[Persona, ...]:
    """The personas with no true uplift from offers sent on ``channels``.

    A campaign on one of those channels is then a placebo: targeted and held-out customers
    respond alike (``true_uplift_response`` and ``true_uplift_spend`` are 0 in
    ``truth/campaign_uplift``), which is what a test of false discoveries needs. For the
    same seed, the customers, their organic visits and each campaign's audience, holdout
    and organic responses are drawn exactly as without it.

    Parameters
    ----------
    personas:
        As for :func:`~mallseg.datasets.simulate.personas.select_personas`.
    channels:
        Channels whose offers have no effect (default: all of them).

    Raises
    ------
    ValueError
        For an unknown channel, or personas ``select_personas`` refuses.

    Examples
    --------
    >>> placebo = without_uplift(2, channels=["email"])
    >>> placebo[0].response_uplift["email"], placebo[0].response_uplift["app"]
    (0.0, 0.21)
    >>> without_uplift(2, channels=["fax"])
    Traceback (most recent call last):
    ...
    ValueError: unknown channel 'fax': expected some of email, sms, app, direct_mail, in_mall
    """
    for channel in channels:
        if channel not in CHANNELS:
            raise ValueError(
                f"unknown channel {channel!r}: expected some of {', '.join(CHANNELS)}"
            )
    muted = set(channels)
    return tuple(
        replace(p, response_uplift={c: 0.0 if c in muted else v
                                    for c, v in p.response_uplift.items()})
        for p in select_personas(personas)
    )
