"""The ground truth of a simulation, kept apart from its inputs.

``truth/customer_personas`` says who is who; ``truth/personas`` the latent parameters of each
persona; ``truth/campaign_uplift`` the true response and spend uplift of each campaign per
persona, with the realised counts; ``truth/drift`` what drift was applied.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date

import numpy as np
import pyarrow as pa

from mallseg.datasets.simulate.activity import UPLIFT_STATS
from mallseg.datasets.simulate.personas import TIME_BANDS
from mallseg.datasets.simulate.world import World

__all__ = [
    "CUSTOMER_PERSONAS_SCHEMA",
    "campaign_uplift_table",
    "drift_table",
    "personas_table",
]

CUSTOMER_PERSONAS_SCHEMA = pa.schema([
    pa.field("customer_id", pa.string()),
    pa.field("persona", pa.string()),
    pa.field("signed_up_in_period", pa.bool_()),
    pa.field("churned_on", pa.date32()),
])
"""Schema of ``truth/customer_personas``: churned_on is the first day without activity."""


def _json_default(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def personas_table(world: World, counts: np.ndarray) -> pa.Table:
    """One row per persona: share, realised share and the key latent parameters."""
    par = world.par
    total = max(int(counts.sum()), 1)
    ws = par.weekend_share
    bands = ws[:, None] * par.bands_weekend + (1 - ws[:, None]) * par.bands_weekday
    columns: dict[str, list[object]] = {
        "persona": list(par.names),
        "label": [p.label for p in world.personas],
        "share": par.share.round(6).tolist(),
        "customers": counts.astype(np.int64).tolist(),
        "realised_share": (counts / total).round(6).tolist(),
        "age_min": par.age_lo.tolist(),
        "age_max": par.age_hi.tolist(),
        "income_median_k": par.income_median.tolist(),
        "visits_per_month": par.visits_per_month.tolist(),
        "visit_dispersion": par.dispersion.tolist(),
        "dwell_mean_minutes": par.dwell_mean.tolist(),
        "weekend_share": ws.round(6).tolist(),
    }
    for j, (band, _, _) in enumerate(TIME_BANDS):
        columns[f"share_visits_{band}"] = bands[:, j].round(6).tolist()
    columns.update({
        "spend_per_visit": par.spend_per_visit.tolist(),
        "purchase_probability": par.purchase_probability.tolist(),
        "receipts_per_purchase": par.receipts.tolist(),
        "store_loyalty": par.store_loyalty.tolist(),
        "top_categories": [",".join(p.top_categories(3)) for p in world.personas],
        "churn_hazard_monthly": par.churn_hazard.tolist(),
        "spending_score_mean": par.score_mean.tolist(),
        "incremental_spend": par.incremental_spend.tolist(),
        "redemption_rate": par.redemption_rate.tolist(),
        "parameters_json": [json.dumps(asdict(p), default=_json_default, sort_keys=True)
                            for p in world.personas],
    })
    return pa.table(columns)


def campaign_uplift_table(world: World, stats: np.ndarray) -> pa.Table:
    """One row per (campaign, persona) with true and realised response and spend uplift.

    ``true_uplift_spend`` is the expected extra spend in the campaign window per treated
    customer (what treated minus holdout mean window spend estimates);
    ``realised_uplift_spend`` is the extra spend actually added, per treated customer.
    """
    par = world.par
    rows: dict[str, list[object]] = {k: [] for k in (
        "campaign_id", "persona", "n_targeted", "n_treated", "n_holdout",
        "base_response_rate", "true_uplift_response", "true_uplift_spend",
        "expected_redemption_rate", "realised_response_treated", "realised_response_holdout",
        "realised_redemption_rate", "realised_persuaded", "realised_uplift_spend",
    )}
    col = {name: j for j, name in enumerate(UPLIFT_STATS)}
    for c, camp in enumerate(world.campaigns):
        for p, name in enumerate(par.names):
            match = float(world.campaign_match[c, p])
            base = float(par.response_base[p, camp.channel_index]) * (0.5 + 0.5 * match)
            uplift = float(par.response_uplift[p, camp.channel_index]) * match
            s = stats[c, p]
            treated, holdout = s[col["n_treated"]], s[col["n_holdout"]]
            rows["campaign_id"].append(camp.campaign_id)
            rows["persona"].append(name)
            rows["n_targeted"].append(int(s[col["n_targeted"]]))
            rows["n_treated"].append(int(treated))
            rows["n_holdout"].append(int(holdout))
            rows["base_response_rate"].append(round(base, 6))
            rows["true_uplift_response"].append(round(uplift, 6))
            rows["true_uplift_spend"].append(round(uplift * float(par.incremental_spend[p]), 6))
            rows["expected_redemption_rate"].append(
                round((base + uplift) * float(par.redemption_rate[p]), 6))
            rows["realised_response_treated"].append(
                _ratio(s[col["responders_treated"]], treated))
            rows["realised_response_holdout"].append(
                _ratio(s[col["responders_holdout"]], holdout))
            rows["realised_redemption_rate"].append(_ratio(s[col["redeemers"]], treated))
            rows["realised_persuaded"].append(int(s[col["persuaded"]]))
            rows["realised_uplift_spend"].append(
                _ratio(s[col["incremental_spend_sum"]], treated))
    schema = pa.schema([
        ("campaign_id", pa.string()), ("persona", pa.string()), ("n_targeted", pa.int64()),
        ("n_treated", pa.int64()), ("n_holdout", pa.int64()),
        ("base_response_rate", pa.float64()), ("true_uplift_response", pa.float64()),
        ("true_uplift_spend", pa.float64()), ("expected_redemption_rate", pa.float64()),
        ("realised_response_treated", pa.float64()),
        ("realised_response_holdout", pa.float64()),
        ("realised_redemption_rate", pa.float64()), ("realised_persuaded", pa.int64()),
        ("realised_uplift_spend", pa.float64()),
    ])
    return pa.table(rows, schema=schema)


def _ratio(num: float, den: float) -> float | None:
    return round(float(num) / float(den), 6) if den > 0 else None


def drift_table(world: World) -> pa.Table:
    """One row per persona: the drift applied, start and end values of what it moves."""
    par = world.par
    drift = world.drift
    mix = drift.mix_strength
    end_weights = par.share * np.exp(mix * par.mix_tilt)
    end_share = end_weights / end_weights.sum()
    b = drift.behaviour_strength
    n = len(par.names)
    return pa.table({
        "kind": [drift.kind] * n,
        "strength": [float(drift.strength)] * n,
        "persona": list(par.names),
        "signup_share_start": par.share.round(6).tolist(),
        "signup_share_end": end_share.round(6).tolist(),
        "visit_rate_multiplier_end": np.exp(b * par.visit_drift).round(6).tolist(),
        "spend_multiplier_end": np.exp(b * par.spend_drift).round(6).tolist(),
    })
