"""Everything fixed for one simulation, precomputed once and shared by all customer blocks.

The world holds the personas as parameter arrays, the period's calendar, the stores and the
campaigns, and the cumulative daily visit intensity of each persona on weekdays and on
weekends (drift included), from which visit days are drawn by inversion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from mallseg.datasets.simulate.calendar import (
    dwell_season,
    period_dates,
    persona_intensity,
    spend_season,
)
from mallseg.datasets.simulate.drift import DriftSpec
from mallseg.datasets.simulate.mall import (
    Campaign,
    Stores,
    build_campaigns,
    build_stores,
    receipt_size,
    unit_price_reference,
)
from mallseg.datasets.simulate.personas import CATEGORIES, CHANNELS, TIME_BANDS, Persona

__all__ = ["DAYS_PER_MONTH", "PersonaArrays", "World", "build_world", "new_signup_share"]

DAYS_PER_MONTH = 365.25 / 12
SECONDS_PER_DAY = 86_400


def new_signup_share(days: int) -> float:
    """Share of customers who sign up during a period of ``days`` days.

    About 11% over half a year and 33% over two years: a steady inflow of new members.
    """
    return days / (days + 1500.0)


@dataclass(frozen=True)
class PersonaArrays:
    """Persona parameters as arrays indexed by persona position."""

    names: tuple[str, ...]
    share: np.ndarray
    age_lo: np.ndarray
    age_hi: np.ndarray
    female: np.ndarray
    other: np.ndarray
    income_median: np.ndarray
    income_sigma: np.ndarray
    family_mean: np.ndarray
    visits_per_month: np.ndarray
    dispersion: np.ndarray
    dwell_mean: np.ndarray
    dwell_sigma: np.ndarray
    bands_weekday: np.ndarray
    bands_weekend: np.ndarray
    weekday_weights: np.ndarray
    weekend_share: np.ndarray
    taste: np.ndarray
    purchase_probability: np.ndarray
    receipts: np.ndarray
    spend_per_visit: np.ndarray
    spend_sigma: np.ndarray
    store_loyalty: np.ndarray
    response_base: np.ndarray
    response_uplift: np.ndarray
    incremental_spend: np.ndarray
    redemption_rate: np.ndarray
    tier_cum: np.ndarray
    churn_hazard: np.ndarray
    score_mean: np.ndarray
    score_sd: np.ndarray
    mix_tilt: np.ndarray
    visit_drift: np.ndarray
    spend_drift: np.ndarray

    @classmethod
    def from_personas(cls, personas: tuple[Persona, ...]) -> PersonaArrays:
        """Stack the parameters of ``personas``; shares are renormalised to sum to 1."""

        def arr(attr: str) -> np.ndarray:
            return np.array([getattr(p, attr) for p in personas], dtype=np.float64)

        def norm_rows(rows: list[tuple[float, ...] | list[float]]) -> np.ndarray:
            a = np.asarray(rows, dtype=np.float64)
            return a / a.sum(axis=1, keepdims=True)

        share = arr("share")
        weekday = norm_rows([p.weekday_weights for p in personas])
        tiers = norm_rows([p.tier_probabilities for p in personas])
        return cls(
            names=tuple(p.name for p in personas),
            share=share / share.sum(),
            age_lo=np.array([p.age_range[0] for p in personas], dtype=np.int64),
            age_hi=np.array([p.age_range[1] for p in personas], dtype=np.int64),
            female=arr("female_share"),
            other=arr("other_gender_share"),
            income_median=arr("income_median_k"),
            income_sigma=arr("income_sigma"),
            family_mean=arr("family_size_mean"),
            visits_per_month=arr("visits_per_month"),
            dispersion=arr("visit_dispersion"),
            dwell_mean=arr("dwell_mean_minutes"),
            dwell_sigma=arr("dwell_sigma"),
            bands_weekday=norm_rows([p.weekday_bands for p in personas]),
            bands_weekend=norm_rows([p.weekend_bands for p in personas]),
            weekday_weights=weekday,
            weekend_share=weekday[:, 5:].sum(axis=1),
            taste=norm_rows([p.taste_vector() for p in personas]),
            purchase_probability=arr("purchase_probability"),
            receipts=arr("receipts_per_purchase"),
            spend_per_visit=arr("spend_per_visit"),
            spend_sigma=arr("spend_sigma"),
            store_loyalty=arr("store_loyalty"),
            response_base=np.array([[p.response_base[c] for c in CHANNELS] for p in personas]),
            response_uplift=np.array(
                [[p.response_uplift[c] for c in CHANNELS] for p in personas]
            ),
            incremental_spend=arr("incremental_spend"),
            redemption_rate=arr("redemption_rate"),
            tier_cum=np.cumsum(tiers, axis=1),
            churn_hazard=arr("churn_hazard"),
            score_mean=arr("spending_score_mean"),
            score_sd=arr("spending_score_sd"),
            mix_tilt=arr("mix_drift_tilt"),
            visit_drift=arr("visit_drift"),
            spend_drift=arr("spend_drift"),
        )


def offer_match(taste: np.ndarray, category: int) -> np.ndarray:
    """How well an offer for ``category`` suits each persona, from 0.3 (no taste) to 1."""
    return 0.3 + 0.7 * np.minimum(1.0, taste[:, category] / 0.15)


@dataclass(frozen=True)
class World:
    """The fixed context of one simulation run."""

    start: date
    days: int
    personas: tuple[Persona, ...]
    par: PersonaArrays
    drift: DriftSpec
    stores: Stores
    campaigns: tuple[Campaign, ...]
    start_epoch_s: int
    weekend: np.ndarray
    """(D,) True on Saturday and Sunday."""
    cum_weekend: np.ndarray
    """(P, D+1) cumulative weekend visit intensity (weekend propensity 1) from day 0."""
    cum_weekday: np.ndarray
    """(P, D+1) cumulative weekday visit intensity (weekend propensity 0) from day 0."""
    spend_day: np.ndarray
    """(P, D) spend multiplier per day (season and behaviour drift)."""
    dwell_day: np.ndarray
    """(D,) dwell multiplier per day (season)."""
    new_share: float
    band_start_min: np.ndarray
    band_len_min: np.ndarray
    receipt_size: np.ndarray
    unit_price: np.ndarray
    store_cum: np.ndarray
    """Cumulative store popularity offset by category index (store picks by inversion)."""
    category_first_store: np.ndarray
    category_last_store: np.ndarray
    campaign_match: np.ndarray
    """(C, P) offer match of each campaign for each persona."""
    flat_weekend: np.ndarray
    """``cum_weekend`` flattened, each persona's row shifted by ``flat_offset`` (one search)."""
    flat_weekday: np.ndarray
    flat_offset: np.ndarray

    @property
    def n_personas(self) -> int:
        """Number of personas in play."""
        return len(self.personas)


def build_world(
    *,
    start: date,
    days: int,
    personas: tuple[Persona, ...],
    drift: DriftSpec,
    seed: int,
) -> World:
    """Precompute the calendar, stores, campaigns and visit intensities of a run."""
    par = PersonaArrays.from_personas(personas)
    dates = period_dates(start, days)
    dow = np.array([d.weekday() for d in dates])
    weekend = dow >= 5
    frac = np.arange(days) / max(days - 1, 1)
    b = drift.behaviour_strength
    n_p = len(personas)
    cum_we = np.zeros((n_p, days + 1))
    cum_wd = np.zeros((n_p, days + 1))
    spend_day = np.empty((n_p, days))
    season_spend = spend_season(dates)
    for p, persona in enumerate(personas):
        level = persona_intensity(persona, dates) * np.exp(b * par.visit_drift[p] * frac)
        w = par.weekday_weights[p]
        we_share = w[5:].sum()
        # A customer with weekend propensity s visits on day d with relative intensity
        # 7 * (s * w[dow] / we_share if weekend else (1 - s) * w[dow] / (1 - we_share)):
        # the seven days average to 1 whatever s is.
        day_we = np.where(weekend, 7.0 * w[dow] / we_share, 0.0) * level
        day_wd = np.where(weekend, 0.0, 7.0 * w[dow] / (1.0 - we_share)) * level
        cum_we[p, 1:] = np.cumsum(day_we)
        cum_wd[p, 1:] = np.cumsum(day_wd)
        spend_day[p] = season_spend * np.exp(b * par.spend_drift[p] * frac)
    root = np.random.SeedSequence(entropy=seed, spawn_key=(0,))
    mall_rng = np.random.default_rng(root)
    stores = build_stores(mall_rng)
    campaigns = tuple(build_campaigns(mall_rng, start, days))
    first = stores.category_starts()
    last = np.append(first[1:], len(stores.category)) - 1
    within = np.zeros(len(stores.category))
    for c in range(len(CATEGORIES)):
        sl = slice(first[c], last[c] + 1)
        within[sl] = np.cumsum(stores.popularity[sl])
        within[last[c]] = 1.0
    # Shift each persona's cumulative row above the previous one so that one searchsorted
    # over the flattened array inverts every persona at once.
    top = max(float(cum_we[:, -1].max()), float(cum_wd[:, -1].max())) + 1.0
    offset = np.arange(n_p) * top
    match = np.array([offer_match(par.taste, camp.category_index) for camp in campaigns])
    return World(
        start=start,
        days=days,
        personas=personas,
        par=par,
        drift=drift,
        stores=stores,
        campaigns=campaigns,
        start_epoch_s=(start - date(1970, 1, 1)).days * SECONDS_PER_DAY,
        weekend=weekend,
        cum_weekend=cum_we,
        cum_weekday=cum_wd,
        spend_day=spend_day,
        dwell_day=dwell_season(dates),
        new_share=new_signup_share(days),
        band_start_min=np.array([b0 for _, b0, _ in TIME_BANDS], dtype=np.float64),
        band_len_min=np.array([b1 - b0 for _, b0, b1 in TIME_BANDS], dtype=np.float64),
        receipt_size=receipt_size(),
        unit_price=unit_price_reference(),
        store_cum=stores.category.astype(np.float64) + within,
        category_first_store=first,
        category_last_store=last,
        campaign_match=match.reshape(len(campaigns), n_p),
        flat_weekend=(cum_we + offset[:, None]).ravel(),
        flat_weekday=(cum_wd + offset[:, None]).ravel(),
        flat_offset=offset,
    )
