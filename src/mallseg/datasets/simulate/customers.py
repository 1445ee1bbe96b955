"""Draw one block of customers: their persona, profile and hidden behaviour parameters.

Customers who join during the period are drawn from the (possibly drifting) mix of new
sign-ups; the others joined up to six years earlier (never before the age of 13). Each
customer gets individual deviations from the persona: a gamma visit-rate multiplier (which
makes visit counts negative binomial), a weekend propensity, Dirichlet-perturbed hour-band
and category tastes, a dwell and a spend multiplier. The loyalty tier and the spending score
follow the persona and the customer's own activity and spend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mallseg.datasets.simulate.world import DAYS_PER_MONTH, World

__all__ = ["CustomerBlock", "draw_customers"]

_BAND_CONCENTRATION = 80.0
_TASTE_CONCENTRATION = 150.0
_WEEKEND_LOGIT_SD = 0.25
_DWELL_CUSTOMER_SD = 0.10
_SPEND_CUSTOMER_SD = 0.50
_CONSENT_RATE = 0.70
_MAX_TENURE_YEARS = 6.0
_MIN_RATE_MULTIPLIER = 0.3


@dataclass(frozen=True)
class CustomerBlock:
    """A block of customers as parallel arrays (days are relative to the period start)."""

    number: np.ndarray
    """Global 0-based customer number (the id is ``C`` + number + 1, zero-padded)."""
    persona: np.ndarray
    signup_day: np.ndarray
    active_start: np.ndarray
    active_end: np.ndarray
    """First day after the customer's last active day (churn day, or the period's end)."""
    churned: np.ndarray
    gender: np.ndarray
    """0 female, 1 male, 2 other."""
    age: np.ndarray
    annual_income: np.ndarray
    family_size: np.ndarray
    tier: np.ndarray
    consent: np.ndarray
    spending_score: np.ndarray
    visit_rate: np.ndarray
    """Visits per month at a yearly-average intensity of 1."""
    weekend_propensity: np.ndarray
    band_cum_weekday: np.ndarray
    band_cum_weekend: np.ndarray
    category_cum: np.ndarray
    """(n, K) cumulative probability that a receipt is in each category."""
    home_u: np.ndarray
    """(n, K) the customer's usual store in each category, as a uniform for inversion."""
    dwell_mu: np.ndarray
    spend_multiplier: np.ndarray

    def __len__(self) -> int:
        return len(self.number)


def _pick_rows(u: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """Inverse-CDF pick per row: the first column whose cumulative probability exceeds u."""
    idx = (u[:, None] >= cum[:, :-1]).sum(axis=1)
    return idx.astype(np.int64)


def _dirichlet_rows(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    g = rng.standard_gamma(alpha)
    return g / g.sum(axis=1, keepdims=True)


def draw_customers(rng: np.random.Generator, world: World, first: int, n: int) -> CustomerBlock:
    """Draw customers ``first .. first + n - 1`` from ``rng`` (one generator per block)."""
    par = world.par
    days = world.days
    n_p = world.n_personas
    is_new = rng.random(n) < world.new_share
    signup_new = np.minimum((rng.random(n) * days).astype(np.int64), days - 1)

    # Persona: new sign-ups follow the mix of their sign-up date (mix drift), others the base.
    frac = signup_new / max(days - 1, 1)
    tilt = world.drift.mix_strength * par.mix_tilt[None, :] * frac[:, None]
    probs = np.where(is_new[:, None], par.share[None, :] * np.exp(tilt), par.share[None, :])
    probs /= probs.sum(axis=1, keepdims=True)
    persona = _pick_rows(rng.random(n), np.cumsum(probs, axis=1))
    persona = np.minimum(persona, n_p - 1)

    lo, hi = par.age_lo[persona], par.age_hi[persona]
    age = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
    tenure_cap = np.clip((age - 13) * 365.25, 30, _MAX_TENURE_YEARS * 365.25)
    tenure = 1 + (rng.random(n) * tenure_cap).astype(np.int64)
    signup_day = np.where(is_new, signup_new, -tenure)

    u = rng.random(n)
    female, other = par.female[persona], par.other[persona]
    gender = np.where(u < female, 0, np.where(u < female + other, 2, 1)).astype(np.int8)
    income = par.income_median[persona] * np.exp(par.income_sigma[persona] * rng.standard_normal(n))
    income = np.round(np.clip(income, 1.0, 5000.0), 1)
    family = 1 + rng.poisson(par.family_mean[persona] - 1.0)

    shape = par.dispersion[persona]
    # Members of the programme visit at least now and then: the gamma is floored at 0.3.
    rate_mult = np.maximum(rng.standard_gamma(shape) / shape, _MIN_RATE_MULTIPLIER)
    visit_rate = par.visits_per_month[persona] * rate_mult

    ws = par.weekend_share[persona]
    logit = np.log(ws / (1 - ws)) + _WEEKEND_LOGIT_SD * rng.standard_normal(n)
    weekend_propensity = 1.0 / (1.0 + np.exp(-logit))

    bands_wd = _dirichlet_rows(rng, _BAND_CONCENTRATION * par.bands_weekday[persona] + 0.02)
    bands_we = _dirichlet_rows(rng, _BAND_CONCENTRATION * par.bands_weekend[persona] + 0.02)
    taste = _dirichlet_rows(rng, _TASTE_CONCENTRATION * par.taste[persona])
    # Receipts per category are tastes over receipt size, so that spend shares follow tastes.
    freq = taste / world.receipt_size[None, :]
    freq /= freq.sum(axis=1, keepdims=True)
    home_u = rng.random((n, freq.shape[1]))

    sd = par.dwell_sigma[persona]
    dwell_effect = _DWELL_CUSTOMER_SD * rng.standard_normal(n)
    dwell_mu = (np.log(par.dwell_mean[persona]) - sd**2 / 2 - _DWELL_CUSTOMER_SD**2 / 2
                + dwell_effect)
    spend_z = rng.standard_normal(n)
    spend_multiplier = np.exp(_SPEND_CUSTOMER_SD * spend_z - _SPEND_CUSTOMER_SD**2 / 2)

    active_start = np.maximum(signup_day, 0)
    months_to_churn = rng.exponential(1.0, n) / np.maximum(par.churn_hazard[persona], 1e-12)
    churn_day = active_start + 1 + (months_to_churn * DAYS_PER_MONTH).astype(np.int64)
    churned = churn_day < days
    active_end = np.where(churned, churn_day, days)

    # Tier: persona probabilities, tilted towards higher tiers for heavier, bigger spenders
    # (a Gaussian copula with a logistic link); new members have not earned above bronze.
    activity = (np.log(rate_mult) + np.log(spend_multiplier)) / 0.7
    latent = 0.6 * activity + 0.8 * rng.standard_normal(n)
    u_tier = 1.0 / (1.0 + np.exp(-1.702 * latent))
    tier = _pick_rows(u_tier, par.tier_cum[persona])
    tier = np.where(is_new, np.minimum(tier, 1), tier).astype(np.int8)

    consent = rng.random(n) < _CONSENT_RATE
    score = (par.score_mean[persona] + 10.0 * spend_z
             + par.score_sd[persona] * rng.standard_normal(n))
    score = np.clip(np.round(score), 1, 100)

    return CustomerBlock(
        number=np.arange(first, first + n, dtype=np.int64),
        persona=persona,
        signup_day=signup_day,
        active_start=active_start,
        active_end=active_end,
        churned=churned,
        gender=gender,
        age=age,
        annual_income=income,
        family_size=family,
        tier=tier,
        consent=consent,
        spending_score=score,
        visit_rate=visit_rate,
        weekend_propensity=weekend_propensity,
        band_cum_weekday=np.cumsum(bands_wd, axis=1),
        band_cum_weekend=np.cumsum(bands_we, axis=1),
        category_cum=np.cumsum(freq, axis=1),
        home_u=home_u,
        dwell_mu=dwell_mu,
        spend_multiplier=spend_multiplier,
    )
