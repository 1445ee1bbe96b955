"""Visits, purchases and campaign exposures of one block of customers, all vectorised.

Visits
    A customer's visit count over their active days is Poisson with the customer's gamma
    rate (negative binomial overall) times the persona's daily intensity (season, weekday,
    behaviour drift). Each visit is a weekend visit with the customer's weekend propensity;
    its day is drawn by inverting the persona's cumulative intensity, its start from the
    customer's hour bands, its dwell from a lognormal. Customers who join during the period
    visit on their sign-up day. Visits of one customer never overlap.
Purchases
    A visit has a purchase with the persona's probability; the visit's spend (lognormal,
    sigma about 1) is split over ``1 + Poisson`` receipts in categories drawn from the
    customer's tastes (weighted so that spend shares follow the tastes) and in the
    customer's usual store of the category with the persona's store loyalty.
Rows
    A transaction row is one receipt in one store. ``basket_id`` is the purchase occasion:
    all receipts of one visit share it (``B`` + the visit's number, so it also links a
    receipt to its visit). ``amount`` is in cents, ``quantity`` a whole number of items and
    ``unit_price`` rounded to cents with ``amount == quantity * unit_price`` (to the cent).
Campaigns
    Consenting customers active at a campaign's start may enter its audience; 10% of the
    audience is held out. Holdouts respond at the organic base rate; treated customers at
    base + uplift, and the *persuaded* ones (probability = uplift) make an extra purchase in
    the offer's category during the window, on a visit they make anyway if it overlaps,
    else on an extra trip. That purchase is the whole true spend uplift. Treated responders
    redeem with the persona's redemption rate: the offer is stamped on the extra purchase,
    or else on a purchase they make anyway in the window (redemptions overstate uplift).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mallseg.datasets.simulate.customers import CustomerBlock
from mallseg.datasets.simulate.world import DAYS_PER_MONTH, SECONDS_PER_DAY, World

__all__ = ["HOLDOUT_SHARE", "UPLIFT_STATS", "BlockActivity", "simulate_activity"]

HOLDOUT_SHARE = 0.10
_MIN_DWELL_MIN = 5.0
_CLOSING_MIN = 23 * 60
_VISIT_GAP_S = 10 * 60
_INCREMENTAL_SIGMA = 0.6
_KEY_SHIFT = 40  # customer index << 40 | seconds: sorts by customer, then time

UPLIFT_STATS: tuple[str, ...] = (
    "n_targeted",
    "n_treated",
    "n_holdout",
    "responders_treated",
    "responders_holdout",
    "redeemers",
    "persuaded",
    "incremental_spend_sum",
)
"""Per (campaign, persona) counters accumulated over blocks for the truth table."""


@dataclass(frozen=True)
class BlockActivity:
    """Events of one block; customers are local row indices into the block.

    Times are seconds from the period start. Visits are sorted by customer and entry time,
    transactions by customer and purchase time, exposures by campaign and customer.
    """

    visit_customer: np.ndarray
    visit_entered: np.ndarray
    visit_dwell: np.ndarray
    visit_store: np.ndarray
    """Store where the visit was first seen (its zone is the visit's zone)."""
    tx_customer: np.ndarray
    tx_visit: np.ndarray
    tx_store: np.ndarray
    tx_time: np.ndarray
    tx_amount: np.ndarray
    tx_quantity: np.ndarray
    tx_unit_price: np.ndarray
    tx_campaign: np.ndarray
    """Campaign position whose offer was redeemed on the purchase, -1 for none."""
    ex_campaign: np.ndarray
    ex_customer: np.ndarray
    ex_sent: np.ndarray
    ex_holdout: np.ndarray
    ex_responded: np.ndarray
    ex_redeemed: np.ndarray
    """Redemption time, -1 for none."""
    uplift_stats: np.ndarray
    """(C, P, len(UPLIFT_STATS)) counters."""


def _pick_rows(u: np.ndarray, cum: np.ndarray) -> np.ndarray:
    return (u[:, None] >= cum[:, :-1]).sum(axis=1).astype(np.int64)


def _pick_store(
    rng: np.random.Generator, world: World, cust: CustomerBlock, rows: np.ndarray,
    category: np.ndarray,
) -> np.ndarray:
    """Store of each purchase: the usual store of the category with the persona's loyalty."""
    loyal = rng.random(len(rows)) < world.par.store_loyalty[cust.persona[rows]]
    fresh = rng.random(len(rows))
    u = np.where(loyal, cust.home_u[rows, category], fresh)
    idx = np.searchsorted(world.store_cum, category + u, side="right")
    return np.clip(idx, world.category_first_store[category], world.category_last_store[category])


def _entry_seconds(
    rng: np.random.Generator, world: World, cust: CustomerBlock, rows: np.ndarray,
    day: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Entry time (seconds from period start) and minute of day of visits on ``day``."""
    weekend = world.weekend[day]
    cum = np.where(weekend[:, None], cust.band_cum_weekend[rows], cust.band_cum_weekday[rows])
    band = _pick_rows(rng.random(len(rows)), cum)
    minute = world.band_start_min[band] + rng.random(len(rows)) * world.band_len_min[band]
    return day * SECONDS_PER_DAY + (minute * 60).astype(np.int64), minute


def _dwell_seconds(
    rng: np.random.Generator, world: World, cust: CustomerBlock, rows: np.ndarray,
    day: np.ndarray, minute: np.ndarray,
) -> np.ndarray:
    sigma = world.par.dwell_sigma[cust.persona[rows]]
    dwell = np.exp(cust.dwell_mu[rows] + sigma * rng.standard_normal(len(rows)))
    dwell *= world.dwell_day[day]
    dwell = np.clip(dwell, _MIN_DWELL_MIN, np.maximum(_CLOSING_MIN - minute, _MIN_DWELL_MIN))
    return np.round(dwell * 60).astype(np.int64)


def _visit_days(
    rng: np.random.Generator, world: World, cust: CustomerBlock
) -> tuple[np.ndarray, np.ndarray]:
    """Customer row and day of every organic visit (plus the sign-up-day visit)."""
    p, a, e = cust.persona, cust.active_start, cust.active_end
    d_we = world.cum_weekend[p, e] - world.cum_weekend[p, a]
    d_wd = world.cum_weekday[p, e] - world.cum_weekday[p, a]
    s = cust.weekend_propensity
    mass_we, mass_wd = s * d_we, (1 - s) * d_wd
    expected = cust.visit_rate / DAYS_PER_MONTH * (mass_we + mass_wd)
    count = rng.poisson(expected)
    rows = np.repeat(np.arange(len(cust)), count)
    total = mass_we + mass_wd
    p_weekend = np.divide(mass_we, total, out=np.zeros_like(total), where=total > 0)
    weekend = rng.random(len(rows)) < p_weekend[rows]
    u = rng.random(len(rows))
    pr, ar, er = p[rows], a[rows], e[rows]
    width = world.days + 1
    day = np.empty(len(rows), dtype=np.int64)
    for flag, flat, cum in ((True, world.flat_weekend, world.cum_weekend),
                            (False, world.flat_weekday, world.cum_weekday)):
        m = weekend == flag
        pm = pr[m]
        lo = cum[pm, ar[m]]
        hi = cum[pm, er[m]]
        target = world.flat_offset[pm] + lo + u[m] * (hi - lo)
        idx = np.searchsorted(flat, target, side="right") - 1 - pm * width
        day[m] = np.clip(idx, ar[m], er[m] - 1)
    new = np.flatnonzero(cust.signup_day >= 0)
    rows = np.concatenate([rows, new])
    day = np.concatenate([day, cust.signup_day[new]])
    return rows, day


def _drop_overlaps(
    cust_rows: np.ndarray, entered: np.ndarray, dwell: np.ndarray
) -> np.ndarray:
    """Indices (into sorted arrays) of visits kept so that a customer's visits never overlap."""
    keep = np.ones(len(cust_rows), dtype=bool)
    while True:
        idx = np.flatnonzero(keep)
        c, en = cust_rows[idx], entered[idx]
        clash = (c[1:] == c[:-1]) & (en[1:] < en[:-1] + dwell[idx[:-1]] + _VISIT_GAP_S)
        if not clash.any():
            return np.flatnonzero(keep)
        keep[idx[1:][clash]] = False


def simulate_activity(rng: np.random.Generator, world: World, cust: CustomerBlock) -> BlockActivity:
    """Draw the visits, transactions and exposures of one block of customers."""
    par = world.par
    n = len(cust)

    # --- organic visits -------------------------------------------------------------
    v_rows, v_day = _visit_days(rng, world, cust)
    v_entered, v_minute = _entry_seconds(rng, world, cust, v_rows, v_day)
    v_dwell = _dwell_seconds(rng, world, cust, v_rows, v_day, v_minute)
    order = np.argsort((v_rows << _KEY_SHIFT) | v_entered, kind="stable")
    kept = order[_drop_overlaps(v_rows[order], v_entered[order], v_dwell[order])]
    v_rows, v_day, v_entered, v_dwell = v_rows[kept], v_day[kept], v_entered[kept], v_dwell[kept]
    n_visits = len(v_rows)
    v_persona = cust.persona[v_rows]

    anchor_cat = _pick_rows(rng.random(n_visits), cust.category_cum[v_rows])
    anchor_store = _pick_store(rng, world, cust, v_rows, anchor_cat)

    # --- organic purchases ----------------------------------------------------------
    buys = np.flatnonzero(rng.random(n_visits) < par.purchase_probability[v_persona])
    b_persona = v_persona[buys]
    k = 1 + rng.poisson(par.receipts[b_persona] - 1.0)
    r_visit = np.repeat(buys, k)
    starts = np.cumsum(k) - k
    r_ord = np.arange(len(r_visit)) - np.repeat(starts, k)
    r_k = np.repeat(k, k)
    r_rows = v_rows[r_visit]
    r_cat = anchor_cat[r_visit].copy()
    r_store = anchor_store[r_visit].copy()
    extra = np.flatnonzero(r_ord > 0)
    r_cat[extra] = _pick_rows(rng.random(len(extra)), cust.category_cum[r_rows[extra]])
    r_store[extra] = _pick_store(rng, world, cust, r_rows[extra], r_cat[extra])
    b_rows = v_rows[buys]
    sigma = par.spend_sigma[b_persona]
    mean_spend = (par.spend_per_visit[b_persona] / par.purchase_probability[b_persona]
                  * cust.spend_multiplier[b_rows] * world.spend_day[b_persona, v_day[buys]])
    spend = mean_spend * np.exp(sigma * rng.standard_normal(len(buys)) - sigma**2 / 2)
    weight = world.receipt_size[r_cat] * rng.standard_gamma(4.0, len(r_visit))
    weight_sum = np.add.reduceat(weight, starts) if len(starts) else weight
    r_amount = np.repeat(spend / weight_sum, k) * weight
    r_time = v_entered[r_visit] + (v_dwell[r_visit] * (r_ord + rng.random(len(r_visit))) / r_k
                                   ).astype(np.int64)
    r_campaign = np.full(len(r_visit), -1, dtype=np.int16)

    # --- campaigns: audience, holdout, response, persuaded extra purchases ----------
    n_c = len(world.campaigns)
    stats = np.zeros((n_c, world.n_personas, len(UPLIFT_STATS)))
    ex_parts: list[tuple[np.ndarray, ...]] = []
    ev_rows, ev_camp, ev_day, ev_amount, ev_redeem = [], [], [], [], []
    redeem_later: list[np.ndarray] = []
    for c, camp in enumerate(world.campaigns):
        ds = (camp.start_date - world.start).days
        de = (camp.end_date - world.start).days
        p = cust.persona
        eligible = cust.consent & (cust.signup_day < ds) & (cust.active_end > ds)
        audience = eligible & (rng.random(n) < camp.audience_share)
        holdout = audience & (rng.random(n) < HOLDOUT_SHARE)
        treated = audience & ~holdout
        match = world.campaign_match[c, p]
        base = par.response_base[p, camp.channel_index] * (0.5 + 0.5 * match)
        uplift = par.response_uplift[p, camp.channel_index] * match
        u = rng.random(n)
        responded = audience & np.where(holdout, u < base, u < base + uplift)
        persuaded = treated & (u < uplift)
        redeems = treated & responded & (rng.random(n) < par.redemption_rate[p])
        sent = (ds - 1) * SECONDS_PER_DAY + 9 * 3600 + (rng.random(n) * 3 * 3600).astype(np.int64)
        last = np.minimum(de, cust.active_end - 1)
        day = ds + (rng.random(n) * (last - ds + 1)).astype(np.int64)
        amount = par.incremental_spend[p] * np.exp(
            _INCREMENTAL_SIGMA * rng.standard_normal(n) - _INCREMENTAL_SIGMA**2 / 2)
        who = np.flatnonzero(persuaded)
        ev_rows.append(who)
        ev_camp.append(np.full(len(who), c, dtype=np.int16))
        ev_day.append(day[who])
        ev_amount.append(amount[who])
        ev_redeem.append(redeems[who])
        redeem_later.append(np.flatnonzero(redeems & ~persuaded))
        members = np.flatnonzero(audience)
        ex_parts.append((np.full(len(members), c, dtype=np.int16), members, sent[members],
                         holdout[members], responded[members]))
        for j, mask in enumerate((audience, treated, holdout, responded & treated,
                                  responded & holdout)):
            stats[c, :, j] = np.bincount(p[mask], minlength=world.n_personas)
        stats[c, :, 6] = np.bincount(p[persuaded], minlength=world.n_personas)

    e_rows = np.concatenate(ev_rows) if ev_rows else np.zeros(0, np.int64)
    e_camp = np.concatenate(ev_camp) if ev_camp else np.zeros(0, np.int16)
    e_day = np.concatenate(ev_day) if ev_day else np.zeros(0, np.int64)
    e_amount = np.concatenate(ev_amount) if ev_amount else np.zeros(0)
    e_redeem = np.concatenate(ev_redeem) if ev_redeem else np.zeros(0, bool)
    e_entered, e_minute = _entry_seconds(rng, world, cust, e_rows, e_day)
    e_dwell = _dwell_seconds(rng, world, cust, e_rows, e_day, e_minute)
    camp_cat = np.array([camp.category_index for camp in world.campaigns], dtype=np.int64)
    e_cat = camp_cat[e_camp] if n_c else np.zeros(0, np.int64)
    e_store = _pick_store(rng, world, cust, e_rows, e_cat)
    for c in range(n_c):
        m = e_camp == c
        stats[c, :, 7] = np.bincount(cust.persona[e_rows[m]], weights=e_amount[m],
                                     minlength=world.n_personas)

    # An extra purchase falls on a visit the customer makes anyway when the two overlap;
    # otherwise it is an extra trip to the mall.
    v_key = (v_rows << _KEY_SHIFT) | v_entered
    e_key = (e_rows << _KEY_SHIFT) | e_entered
    pos = np.searchsorted(v_key, e_key)
    prev = np.clip(pos - 1, 0, max(n_visits - 1, 0))
    nxt = np.clip(pos, 0, max(n_visits - 1, 0))
    if n_visits:
        hit_prev = (pos > 0) & (v_rows[prev] == e_rows) & (
            v_entered[prev] + v_dwell[prev] > e_entered)
        hit_next = (pos < n_visits) & (v_rows[nxt] == e_rows) & (
            v_entered[nxt] < e_entered + e_dwell)
    else:
        hit_prev = hit_next = np.zeros(len(e_rows), dtype=bool)
    attach = np.where(hit_prev, prev, np.where(hit_next, nxt, -1))
    new_trip = attach < 0
    n_new = int(new_trip.sum())
    new_visit_index = n_visits + np.arange(n_new)
    e_visit = attach.copy()
    e_visit[new_trip] = new_visit_index
    all_rows = np.concatenate([v_rows, e_rows[new_trip]])
    all_entered = np.concatenate([v_entered, e_entered[new_trip]])
    all_dwell = np.concatenate([v_dwell, e_dwell[new_trip]])
    all_store = np.concatenate([anchor_store, e_store[new_trip]])
    e_time = np.where(
        new_trip,
        e_entered + (e_dwell * rng.random(len(e_rows))).astype(np.int64),
        0,
    )
    att = ~new_trip
    e_time[att] = v_entered[e_visit[att]] + (
        v_dwell[e_visit[att]] * rng.random(int(att.sum()))).astype(np.int64)

    # Final visit order, and receipts re-pointed at it.
    v_order = np.argsort((all_rows << _KEY_SHIFT) | all_entered, kind="stable")
    v_rank = np.empty_like(v_order)
    v_rank[v_order] = np.arange(len(v_order))
    t_visit = v_rank[np.concatenate([r_visit, e_visit])]
    t_rows = np.concatenate([r_rows, e_rows])
    t_store = np.concatenate([r_store, e_store])
    t_time = np.concatenate([r_time, e_time])
    t_amount = np.concatenate([r_amount, e_amount])
    t_cat = np.concatenate([r_cat, e_cat])
    t_campaign = np.concatenate([r_campaign, np.where(e_redeem, e_camp, -1).astype(np.int16)])
    t_order = np.argsort((t_rows << _KEY_SHIFT) | t_time, kind="stable")
    t_rows, t_visit, t_store, t_time = (t_rows[t_order], t_visit[t_order], t_store[t_order],
                                        t_time[t_order])
    t_amount, t_cat, t_campaign = t_amount[t_order], t_cat[t_order], t_campaign[t_order]

    # Offers redeemed by customers who were not persuaded go on a purchase they make anyway:
    # the first one in the window in the offer's category, else the first one in the window.
    # Redeemers without any purchase in the window did not redeem after all.
    t_key = (t_rows << _KEY_SHIFT) | t_time
    redeemed_at = np.full((n_c, n), -1, dtype=np.int64)
    stamped = np.flatnonzero(t_campaign >= 0)
    redeemed_at[t_campaign[stamped], t_rows[stamped]] = t_time[stamped]
    for c, camp in enumerate(world.campaigns):
        need = redeem_later[c]
        lo = (camp.start_date - world.start).days * SECONDS_PER_DAY
        hi = ((camp.end_date - world.start).days + 1) * SECONDS_PER_DAY
        in_window = (t_time >= lo) & (t_time < hi) & (t_campaign < 0)
        for mask in (in_window & (t_cat == camp.category_index), in_window):
            if not len(need):
                break
            cand = np.flatnonzero(mask)
            keys = t_key[cand]
            at = np.searchsorted(keys, (need << _KEY_SHIFT) | lo)
            ok = at < len(keys)
            ok[ok] = keys[at[ok]] < ((need[ok] << _KEY_SHIFT) | hi)
            chosen = cand[at[ok]]
            t_campaign[chosen] = c
            redeemed_at[c, need[ok]] = t_time[chosen]
            need = need[~ok]
        members = ex_parts[c][1]
        stats[c, :, 5] = np.bincount(cust.persona[members[redeemed_at[c, members] >= 0]],
                                     minlength=world.n_personas)

    # Receipt amounts in cents, with a quantity of items and a unit price that multiply back.
    quantity = np.clip(np.round(t_amount / world.unit_price[t_cat]
                                * np.exp(0.3 * rng.standard_normal(len(t_amount)))), 1, 50)
    unit_price = np.round(np.maximum(t_amount, 0.5) / quantity, 2)
    unit_price = np.maximum(unit_price, 0.01)
    amount = np.round(quantity * unit_price, 2)

    def cat_parts(j: int, dtype: type | np.dtype) -> np.ndarray:
        if not ex_parts:
            return np.zeros(0, dtype=dtype)
        return np.concatenate([part[j] for part in ex_parts]).astype(dtype)

    return BlockActivity(
        visit_customer=all_rows[v_order],
        visit_entered=all_entered[v_order],
        visit_dwell=all_dwell[v_order],
        visit_store=all_store[v_order],
        tx_customer=t_rows,
        tx_visit=t_visit,
        tx_store=t_store,
        tx_time=t_time,
        tx_amount=amount,
        tx_quantity=quantity,
        tx_unit_price=unit_price,
        tx_campaign=t_campaign,
        ex_campaign=cat_parts(0, np.int16),
        ex_customer=cat_parts(1, np.int64),
        ex_sent=cat_parts(2, np.int64),
        ex_holdout=cat_parts(3, bool),
        ex_responded=cat_parts(4, bool),
        ex_redeemed=(np.concatenate([redeemed_at[c, part[1]] for c, part in enumerate(ex_parts)])
                     if ex_parts else np.zeros(0, np.int64)),
        uplift_stats=stats,
    )
