"""Latent shopper personas of the synthetic mall.

A persona is the full set of hidden parameters a simulated customer is drawn from:
demographics, visit rhythm, preferred hours and weekdays, dwell, category tastes, spend,
campaign response with its true uplift, loyalty and churn, and how the persona drifts.
The default set follows the persona table of the project's mall facts (``MALL_FACTS.md``):
shares, ages, visit rates, dwell, hours and spend are the published figures or the
assumptions written there; the rest is calibrated so that the rolled-up mall lands inside
the published ranges. The module is longer than usual because the persona table is data:
each persona's parameters are written out in full, next to one another, so they can be
read and compared against the published figures.

Examples
--------
>>> [p.name for p in DEFAULT_PERSONAS[:3]]
['mall_enthusiast', 'mission_shopper', 'family_traditionalist']
>>> round(sum(p.share for p in DEFAULT_PERSONAS), 6)
1.0
>>> [p.name for p in select_personas(2)]
['mall_enthusiast', 'mission_shopper']
>>> DEFAULT_PERSONAS[3].weekend_share
0.35
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "CATEGORIES",
    "CHANNELS",
    "DEFAULT_PERSONAS",
    "LOYALTY_TIERS",
    "TIME_BANDS",
    "Persona",
    "select_personas",
]

CATEGORIES: tuple[str, ...] = (
    "department_store",
    "apparel",
    "fast_fashion",
    "off_price",
    "shoes",
    "beauty",
    "electronics",
    "kids",
    "home",
    "sporting_goods",
    "luxury",
    "food_court",
    "restaurant",
    "cafe",
    "cinema",
    "entertainment",
    "services",
)
"""Store categories of the synthetic mall (lowercase snake_case: features are
``spend_share_<category>``)."""

CHANNELS: tuple[str, ...] = ("email", "sms", "app", "direct_mail", "in_mall")
"""Campaign channels."""

LOYALTY_TIERS: tuple[str, ...] = ("none", "bronze", "silver", "gold")
"""Loyalty tiers from lowest to highest."""

TIME_BANDS: tuple[tuple[str, int, int], ...] = (
    ("morning", 9 * 60, 12 * 60),
    ("midday", 12 * 60, 15 * 60),
    ("afternoon", 15 * 60, 18 * 60),
    ("evening", 18 * 60, 21 * 60),
)
"""Bands of the hour a visit starts in: (name, first minute of the day, end minute).
They are the bands of the visit features (morning < 12 h, midday 12-15 h, afternoon
15-18 h, evening >= 18 h); entry minutes are uniform inside a band."""


def _check_weights(name: str, values: Sequence[float], length: int) -> None:
    if len(values) != length:
        raise ValueError(f"{name} must have {length} values, got {len(values)}")
    if any(v < 0 for v in values) or sum(values) <= 0:
        raise ValueError(f"{name}={tuple(values)!r} must be non-negative with a positive sum")


@dataclass(frozen=True)
class Persona:
    """Latent parameters of one kind of shopper.

    Money is in currency units (dollars), income in thousands. Rates are per month unless
    said otherwise. Mappings are keyed by :data:`CATEGORIES` or :data:`CHANNELS`.

    Parameters
    ----------
    name, label:
        Machine name (snake_case) and human label.
    share:
        Share of the customer base (renormalised over the personas chosen).
    age_range:
        Inclusive (youngest, oldest) age in years; ages are uniform inside it.
    female_share, other_gender_share:
        Gender mix; the rest is male.
    income_median_k, income_sigma:
        Annual income in k$: lognormal with this median and log-sd.
    family_size_mean:
        Mean household size; sizes are ``1 + Poisson(mean - 1)``.
    visits_per_month, visit_dispersion:
        Mean visits a month over a year and the gamma shape of the customer-level rate
        (visit counts are negative binomial; smaller shape = more skew).
    dwell_mean_minutes, dwell_sigma:
        Mean minutes per visit and the log-sd of one visit's dwell (lognormal).
    weekday_bands, weekend_bands:
        Weights of the four :data:`TIME_BANDS` for visits on weekdays and on weekends.
    weekday_weights:
        Weights of Monday .. Sunday; their weekend part is the persona's weekend share.
    holiday_boost, back_to_school_boost, summer_boost, black_friday_boost:
        Extra visit intensity (relative) in those seasons, on top of the mall's season.
    category_tastes:
        Expected share of spend per store category.
    purchase_probability:
        Probability that a visit has at least one purchase.
    receipts_per_purchase:
        Mean stores bought from on a visit with a purchase (``1 + Poisson(mean - 1)``).
    spend_per_visit, spend_sigma:
        Mean spend per visit over all visits (with or without a purchase) and the log-sd
        of one customer's spend from one purchasing visit to the next (lognormal). With the
        spread between customers (log-sd 0.5) and between personas, spend per visit across
        the mall is right-skewed with a log-sd about 1 and a median near half the mean, as
        published.
    store_loyalty:
        Probability that a purchase in a category goes to the customer's usual store
        of that category (high = few distinct stores).
    response_base:
        Organic response rate per channel: what holdouts do anyway (visit or buy in the
        offer's category in the window).
    response_uplift:
        Extra response probability per channel when the offer is sent, for a fully
        matching offer category.
    incremental_spend:
        Mean amount of the extra purchase a persuaded customer makes; the true spend
        uplift per treated customer is ``response_uplift * match * incremental_spend``.
    redemption_rate:
        Probability that a treated responder redeems the offer (stamped on a purchase).
    tier_probabilities:
        Probabilities of the :data:`LOYALTY_TIERS`.
    churn_hazard:
        Probability per month of stopping visiting for good.
    spending_score_mean, spending_score_sd:
        The mall's 1-100 spending score: persona tendency and spread (the customer's own
        spend propensity moves it too).
    mix_drift_tilt:
        Log-share change of this persona among new sign-ups per unit of ``mix`` drift
        strength over the whole period (positive = more of them join).
    visit_drift, spend_drift:
        Log change of the visit rate and of spend per visit per unit of ``behaviour`` drift
        strength over the whole period.
    """

    name: str
    label: str
    share: float
    age_range: tuple[int, int]
    female_share: float
    other_gender_share: float
    income_median_k: float
    income_sigma: float
    family_size_mean: float
    visits_per_month: float
    visit_dispersion: float
    dwell_mean_minutes: float
    dwell_sigma: float
    weekday_bands: tuple[float, float, float, float]
    weekend_bands: tuple[float, float, float, float]
    weekday_weights: tuple[float, float, float, float, float, float, float]
    category_tastes: Mapping[str, float] = field(hash=False)
    purchase_probability: float
    receipts_per_purchase: float
    spend_per_visit: float
    spend_sigma: float
    store_loyalty: float
    response_base: Mapping[str, float] = field(hash=False)
    response_uplift: Mapping[str, float] = field(hash=False)
    incremental_spend: float
    redemption_rate: float
    tier_probabilities: tuple[float, float, float, float]
    churn_hazard: float
    spending_score_mean: float
    spending_score_sd: float = 10.0
    holiday_boost: float = 0.0
    back_to_school_boost: float = 0.0
    summer_boost: float = 0.0
    black_friday_boost: float = 0.0
    mix_drift_tilt: float = 0.0
    visit_drift: float = 0.0
    spend_drift: float = 0.0

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name.lower() != self.name:
            raise ValueError(f"persona name={self.name!r} must be lowercase snake_case")
        if self.share <= 0:
            raise ValueError(f"share={self.share} of persona {self.name!r} must be > 0")
        lo, hi = self.age_range
        if not 10 <= lo <= hi <= 110:
            raise ValueError(f"age_range={self.age_range!r} must satisfy 10 <= lo <= hi <= 110")
        _check_weights("weekday_bands", self.weekday_bands, len(TIME_BANDS))
        _check_weights("weekend_bands", self.weekend_bands, len(TIME_BANDS))
        _check_weights("weekday_weights", self.weekday_weights, 7)
        _check_weights("tier_probabilities", self.tier_probabilities, len(LOYALTY_TIERS))
        unknown = set(self.category_tastes) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"category_tastes has unknown categories {sorted(unknown)}")
        _check_weights("category_tastes", list(self.category_tastes.values()),
                       len(self.category_tastes))
        for attr in ("response_base", "response_uplift"):
            mapping: Mapping[str, float] = getattr(self, attr)
            if set(mapping) != set(CHANNELS):
                raise ValueError(f"{attr} must give a rate for each channel {CHANNELS}")
            if any(not 0 <= v <= 1 for v in mapping.values()):
                raise ValueError(f"{attr} rates must lie in [0, 1]")
            for ch in CHANNELS:
                if self.response_base[ch] + self.response_uplift.get(ch, 0.0) > 1:
                    raise ValueError(f"response_base + response_uplift for {ch} exceeds 1")
        for attr in ("purchase_probability", "store_loyalty", "redemption_rate",
                     "female_share", "churn_hazard"):
            if not 0 <= getattr(self, attr) <= 1:
                raise ValueError(f"{attr}={getattr(self, attr)} must lie in [0, 1]")
        if self.female_share + self.other_gender_share > 1:
            raise ValueError("female_share + other_gender_share must be <= 1")
        positive = ("visits_per_month", "visit_dispersion", "dwell_mean_minutes",
                    "spend_per_visit", "income_median_k")
        for attr in positive:
            if getattr(self, attr) <= 0:
                raise ValueError(f"{attr}={getattr(self, attr)} must be > 0")
        if self.receipts_per_purchase < 1 or self.family_size_mean < 1:
            raise ValueError("receipts_per_purchase and family_size_mean must be >= 1")

    @property
    def weekend_share(self) -> float:
        """Share of the persona's visits on Saturday or Sunday."""
        w = self.weekday_weights
        return round((w[5] + w[6]) / sum(w), 6)

    def taste_vector(self) -> list[float]:
        """Category tastes as shares in :data:`CATEGORIES` order (summing to 1)."""
        total = sum(self.category_tastes.values())
        return [self.category_tastes.get(c, 0.0) / total for c in CATEGORIES]

    def top_categories(self, n: int = 3) -> list[str]:
        """The ``n`` categories with the largest spend share."""
        ranked = sorted(self.category_tastes.items(), key=lambda kv: (-kv[1], kv[0]))
        return [c for c, _ in ranked[:n]]


def _channels(email: float, sms: float, app: float, direct_mail: float,
              in_mall: float) -> dict[str, float]:
    return {"email": email, "sms": sms, "app": app, "direct_mail": direct_mail,
            "in_mall": in_mall}


def _flat(rate: float) -> dict[str, float]:
    return dict.fromkeys(CHANNELS, rate)


DEFAULT_PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="mall_enthusiast", label="Mall enthusiast", share=0.12, age_range=(18, 34),
        female_share=0.62, other_gender_share=0.03, income_median_k=55, income_sigma=0.35,
        family_size_mean=1.8, visits_per_month=5.0, visit_dispersion=5.0,
        dwell_mean_minutes=110, dwell_sigma=0.30,
        weekday_bands=(0.06, 0.14, 0.34, 0.46), weekend_bands=(0.06, 0.30, 0.38, 0.26),
        weekday_weights=(0.10, 0.10, 0.10, 0.11, 0.14, 0.24, 0.21),
        category_tastes={"apparel": 0.40, "beauty": 0.26, "shoes": 0.16, "food_court": 0.08,
                         "cinema": 0.05, "cafe": 0.05},
        purchase_probability=0.70, receipts_per_purchase=2.2, spend_per_visit=130,
        spend_sigma=0.7, store_loyalty=0.3,
        response_base=_flat(0.12), response_uplift=_channels(0.15, 0.12, 0.21, 0.09, 0.18),
        incremental_spend=180, redemption_rate=0.35,
        tier_probabilities=(0.15, 0.30, 0.30, 0.25), churn_hazard=0.005,
        spending_score_mean=78, holiday_boost=0.2, summer_boost=0.1,
        mix_drift_tilt=0.2, visit_drift=-0.8, spend_drift=-0.2,
    ),
    Persona(
        name="mission_shopper", label="Mission shopper", share=0.22, age_range=(30, 54),
        female_share=0.40, other_gender_share=0.02, income_median_k=80, income_sigma=0.35,
        family_size_mean=2.2, visits_per_month=1.5, visit_dispersion=5.0,
        dwell_mean_minutes=40, dwell_sigma=0.30,
        weekday_bands=(0.16, 0.50, 0.06, 0.28), weekend_bands=(0.30, 0.45, 0.15, 0.10),
        weekday_weights=(0.17, 0.17, 0.16, 0.16, 0.14, 0.11, 0.09),
        category_tastes={"electronics": 0.45, "department_store": 0.30, "services": 0.15,
                         "home": 0.10},
        purchase_probability=0.80, receipts_per_purchase=1.5, spend_per_visit=100,
        spend_sigma=0.7, store_loyalty=0.8,
        response_base=_flat(0.04), response_uplift=_channels(0.03, 0.03, 0.03, 0.015, 0.015),
        incremental_spend=150, redemption_rate=0.2,
        tier_probabilities=(0.45, 0.30, 0.17, 0.08), churn_hazard=0.0125,
        spending_score_mean=45, holiday_boost=0.1,
        mix_drift_tilt=-0.6, visit_drift=0.3, spend_drift=0.1,
    ),
    Persona(
        name="family_traditionalist", label="Family traditionalist", share=0.18,
        age_range=(30, 49), female_share=0.60, other_gender_share=0.01, income_median_k=65,
        income_sigma=0.30, family_size_mean=4.0, visits_per_month=2.5, visit_dispersion=5.0,
        dwell_mean_minutes=90, dwell_sigma=0.30,
        weekday_bands=(0.12, 0.22, 0.52, 0.14), weekend_bands=(0.12, 0.58, 0.26, 0.04),
        weekday_weights=(0.08, 0.08, 0.08, 0.09, 0.12, 0.30, 0.25),
        category_tastes={"kids": 0.45, "food_court": 0.20, "sporting_goods": 0.15,
                         "department_store": 0.10, "entertainment": 0.10},
        purchase_probability=0.75, receipts_per_purchase=2.0, spend_per_visit=130,
        spend_sigma=0.7, store_loyalty=0.6,
        response_base=_flat(0.08), response_uplift=_channels(0.09, 0.06, 0.09, 0.12, 0.09),
        incremental_spend=140, redemption_rate=0.35,
        tier_probabilities=(0.25, 0.35, 0.25, 0.15), churn_hazard=0.006,
        spending_score_mean=55, holiday_boost=0.35, back_to_school_boost=0.6,
        mix_drift_tilt=-0.5, visit_drift=-0.2, spend_drift=0.2,
    ),
    Persona(
        name="teen_grazer", label="Teen grazer", share=0.12, age_range=(14, 24),
        female_share=0.52, other_gender_share=0.05, income_median_k=20, income_sigma=0.5,
        family_size_mean=3.2, visits_per_month=4.5, visit_dispersion=4.0,
        dwell_mean_minutes=95, dwell_sigma=0.30,
        weekday_bands=(0.02, 0.08, 0.68, 0.22), weekend_bands=(0.04, 0.22, 0.34, 0.40),
        weekday_weights=(0.12, 0.12, 0.12, 0.12, 0.17, 0.21, 0.14),
        category_tastes={"fast_fashion": 0.40, "food_court": 0.35, "cinema": 0.15,
                         "entertainment": 0.10},
        purchase_probability=0.60, receipts_per_purchase=1.8, spend_per_visit=35,
        spend_sigma=0.7, store_loyalty=0.5,
        response_base=_flat(0.15), response_uplift=_channels(0.06, 0.18, 0.24, 0.03, 0.21),
        incremental_spend=30, redemption_rate=0.3,
        tier_probabilities=(0.45, 0.40, 0.12, 0.03), churn_hazard=0.015,
        spending_score_mean=62, summer_boost=0.3, holiday_boost=0.1,
        mix_drift_tilt=1.6, visit_drift=-0.6, spend_drift=0.3,
    ),
    Persona(
        name="affluent_destination", label="Affluent destination shopper", share=0.08,
        age_range=(35, 64), female_share=0.50, other_gender_share=0.01,
        income_median_k=150, income_sigma=0.3, family_size_mean=2.3, visits_per_month=2.0,
        visit_dispersion=5.0, dwell_mean_minutes=75, dwell_sigma=0.30,
        weekday_bands=(0.38, 0.50, 0.09, 0.03), weekend_bands=(0.35, 0.50, 0.12, 0.03),
        weekday_weights=(0.13, 0.14, 0.14, 0.14, 0.15, 0.22, 0.08),
        category_tastes={"luxury": 0.50, "restaurant": 0.22, "beauty": 0.12, "home": 0.10,
                         "department_store": 0.06},
        purchase_probability=0.75, receipts_per_purchase=1.7, spend_per_visit=200,
        spend_sigma=0.7, store_loyalty=0.7,
        response_base=_flat(0.05), response_uplift=_channels(0.12, 0.045, 0.09, 0.12, 0.075),
        incremental_spend=400, redemption_rate=0.15,
        tier_probabilities=(0.20, 0.20, 0.25, 0.35), churn_hazard=0.0075,
        spending_score_mean=72, holiday_boost=0.3,
        mix_drift_tilt=-0.3, visit_drift=0.2, spend_drift=0.5,
    ),
    Persona(
        name="senior_leisure", label="Senior leisure visitor", share=0.08, age_range=(60, 85),
        female_share=0.58, other_gender_share=0.01, income_median_k=50, income_sigma=0.35,
        family_size_mean=1.6, visits_per_month=3.0, visit_dispersion=5.0,
        dwell_mean_minutes=70, dwell_sigma=0.30,
        weekday_bands=(0.68, 0.28, 0.03, 0.01), weekend_bands=(0.60, 0.34, 0.05, 0.01),
        weekday_weights=(0.18, 0.18, 0.18, 0.17, 0.17, 0.07, 0.05),
        category_tastes={"cafe": 0.42, "services": 0.28, "department_store": 0.15,
                         "restaurant": 0.15},
        purchase_probability=0.60, receipts_per_purchase=1.6, spend_per_visit=55,
        spend_sigma=0.7, store_loyalty=0.8,
        response_base=_flat(0.07), response_uplift=_channels(0.15, 0.045, 0.03, 0.12, 0.09),
        incremental_spend=80, redemption_rate=0.35,
        tier_probabilities=(0.25, 0.30, 0.28, 0.17), churn_hazard=0.005,
        spending_score_mean=38, holiday_boost=0.1,
        mix_drift_tilt=-0.8, visit_drift=-0.4, spend_drift=0.0,
    ),
    Persona(
        name="deal_hunter", label="Deal hunter", share=0.10, age_range=(25, 54),
        female_share=0.60, other_gender_share=0.02, income_median_k=42, income_sigma=0.35,
        family_size_mean=2.5, visits_per_month=2.5, visit_dispersion=5.0,
        dwell_mean_minutes=75, dwell_sigma=0.30,
        weekday_bands=(0.10, 0.24, 0.38, 0.28), weekend_bands=(0.18, 0.42, 0.30, 0.10),
        weekday_weights=(0.10, 0.09, 0.09, 0.10, 0.12, 0.27, 0.23),
        category_tastes={"off_price": 0.50, "shoes": 0.25, "electronics": 0.15,
                         "fast_fashion": 0.10},
        purchase_probability=0.70, receipts_per_purchase=2.0, spend_per_visit=75,
        spend_sigma=0.7, store_loyalty=0.2,
        response_base=_flat(0.30), response_uplift=_flat(0.02),
        incremental_spend=50, redemption_rate=0.85,
        tier_probabilities=(0.15, 0.35, 0.30, 0.20), churn_hazard=0.015,
        spending_score_mean=30, holiday_boost=0.3, black_friday_boost=3.0,
        mix_drift_tilt=1.2, visit_drift=0.5, spend_drift=-0.4,
    ),
    Persona(
        name="dine_and_entertain", label="Dine & entertain", share=0.10, age_range=(18, 44),
        female_share=0.50, other_gender_share=0.03, income_median_k=60, income_sigma=0.35,
        family_size_mean=1.9, visits_per_month=2.0, visit_dispersion=5.0,
        dwell_mean_minutes=130, dwell_sigma=0.30,
        weekday_bands=(0.02, 0.06, 0.10, 0.82), weekend_bands=(0.03, 0.10, 0.20, 0.67),
        weekday_weights=(0.07, 0.07, 0.08, 0.10, 0.18, 0.28, 0.22),
        category_tastes={"restaurant": 0.48, "cinema": 0.36, "entertainment": 0.16},
        purchase_probability=0.80, receipts_per_purchase=1.5, spend_per_visit=60,
        spend_sigma=0.7, store_loyalty=0.6,
        response_base=_flat(0.10), response_uplift=_channels(0.075, 0.12, 0.12, 0.045, 0.12),
        incremental_spend=90, redemption_rate=0.35,
        tier_probabilities=(0.35, 0.35, 0.20, 0.10), churn_hazard=0.01,
        spending_score_mean=58, holiday_boost=0.15, summer_boost=0.1,
        mix_drift_tilt=0.6, visit_drift=0.6, spend_drift=0.2,
    ),
)
"""The eight personas of ``MALL_FACTS.md`` (shares sum to 1). The first six are the ones a
``personas=6`` simulation uses."""


def select_personas(personas: int | Sequence[str | Persona] | None) -> tuple[Persona, ...]:
    """Resolve the ``personas`` argument of the simulator to persona objects.

    Parameters
    ----------
    personas:
        ``None`` for all of :data:`DEFAULT_PERSONAS`; an int ``k`` for the first ``k``;
        a sequence of default persona names and/or :class:`Persona` objects.

    Raises
    ------
    ValueError
        For a count outside 1..8, an unknown name, a duplicate or an empty sequence.

    Examples
    --------
    >>> [p.name for p in select_personas(["deal_hunter", "teen_grazer"])]
    ['deal_hunter', 'teen_grazer']
    >>> select_personas(0)
    Traceback (most recent call last):
    ...
    ValueError: personas=0 must be between 1 and 8
    """
    if personas is None:
        return DEFAULT_PERSONAS
    if isinstance(personas, bool):
        raise ValueError(f"personas={personas!r} must be a count or a sequence of names")
    if isinstance(personas, int):
        if not 1 <= personas <= len(DEFAULT_PERSONAS):
            raise ValueError(
                f"personas={personas} must be between 1 and {len(DEFAULT_PERSONAS)}"
            )
        return DEFAULT_PERSONAS[:personas]
    if isinstance(personas, str):
        raise ValueError(
            f"personas={personas!r} must be a count or a sequence of names, not one string"
        )
    by_name = {p.name: p for p in DEFAULT_PERSONAS}
    chosen: list[Persona] = []
    for item in personas:
        if isinstance(item, Persona):
            chosen.append(item)
        elif item in by_name:
            chosen.append(by_name[item])
        else:
            known = ", ".join(by_name)
            raise ValueError(f"unknown persona {item!r}: expected one of {known}")
    names = [p.name for p in chosen]
    if not chosen:
        raise ValueError("personas must name at least one persona")
    if len(set(names)) != len(names):
        raise ValueError(f"personas={names!r} names a persona twice")
    return tuple(chosen)
