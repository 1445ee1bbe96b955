"""The synthetic BTYD customers follow their models: closed-form means, fits on the events."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from mallseg.datasets.btyd import (
    simulate_bgnbd,
    simulate_bgnbd_events,
    simulate_gamma_gamma_spend,
    simulate_pareto_nbd,
)
from mallseg.insights.loyalty.bgnbd import BgNbdModel, fit_bgnbd
from mallseg.insights.loyalty.gammagamma import fit_gamma_gamma
from mallseg.insights.loyalty.paretonbd import ParetoNbdModel
from mallseg.insights.loyalty.summary import summarise_events


def test_same_seed_same_customers() -> None:
    one = simulate_bgnbd(500, r=0.5, alpha=4.0, a=0.8, b=2.5, T=30.0, holdout=10.0, seed=9)
    two = simulate_bgnbd(500, r=0.5, alpha=4.0, a=0.8, b=2.5, T=30.0, holdout=10.0, seed=9)
    pd.testing.assert_frame_equal(one, two)
    assert not one.equals(simulate_bgnbd(500, r=0.5, alpha=4.0, a=0.8, b=2.5, T=30.0, seed=10))


def test_bgnbd_mean_purchases_follow_the_closed_form() -> None:
    data = simulate_bgnbd(200_000, r=0.6, alpha=5.0, a=0.7, b=2.0, T=40.0, holdout=20.0,
                          seed=1)
    model = BgNbdModel(r=0.6, alpha=5.0, a=0.7, b=2.0)
    within, later = model.expected_events_new_customer(np.array([40.0, 60.0]))
    assert data["frequency"].mean() == pytest.approx(within, rel=0.02)
    assert data["holdout_frequency"].mean() == pytest.approx(later - within, rel=0.03)


def test_pareto_nbd_mean_purchases_follow_the_closed_form() -> None:
    data = simulate_pareto_nbd(200_000, r=0.6, alpha=5.0, s=0.8, beta=10.0, T=40.0,
                               holdout=20.0, seed=2)
    model = ParetoNbdModel(r=0.6, alpha=5.0, s=0.8, beta=10.0)
    within, later = model.expected_events_new_customer(np.array([40.0, 60.0]))
    assert data["frequency"].mean() == pytest.approx(within, rel=0.02)
    assert data["holdout_frequency"].mean() == pytest.approx(later - within, rel=0.03)
    # survival to T under Gamma(s, beta) death rates: (beta / (beta + T))^s
    assert data["alive_at_T"].mean() == pytest.approx((10 / 50) ** 0.8, abs=0.005)


def test_gamma_gamma_spend_has_the_model_mean() -> None:
    x = np.full(100_000, 3)
    spend = simulate_gamma_gamma_spend(x, p=6.0, q=4.0, v=15.0, seed=3)
    assert spend.mean() == pytest.approx(6.0 * 15.0 / 3.0, rel=0.01)


def test_events_in_continuous_time_recover_the_parameters() -> None:
    events = simulate_bgnbd_events(20_000, r=0.8, alpha=20.0, a=0.8, b=4.0, days=365,
                                   spend=None, seed=5).to_pandas()
    days = (events["purchased_at"] - pd.Timestamp("2026-01-01")).dt.total_seconds() / 86_400
    times = days.groupby(events["customer_id"])
    first, last = times.min(), times.max()
    model = fit_bgnbd(times.size() - 1, last - first, 365 - first)
    for name, value in {"r": 0.8, "alpha": 20.0, "a": 0.8, "b": 4.0}.items():
        assert abs(getattr(model, name) - value) < 2 * model.standard_errors[name], name


def test_events_summarised_in_sql_by_day_recover_the_parameters() -> None:
    # end to end: raw purchases -> DuckDB summary (one occasion a day) -> BG/NBD and
    # Gamma-Gamma. Purchases about every seven weeks keep same-day merging rare.
    events = simulate_bgnbd_events(20_000, r=0.8, alpha=40.0, a=0.8, b=4.0, days=365,
                                   spend=(6.0, 4.0, 60.0), seed=6)
    con = duckdb.connect()
    con.register("generated", events)
    con.execute("CREATE TABLE transactions AS SELECT * FROM generated")
    summary = summarise_events(con, "transactions", as_of=date(2027, 1, 1)).customers
    assert len(summary) == 20_000
    model = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    for name, value in {"r": 0.8, "alpha": 40.0, "a": 0.8, "b": 4.0}.items():
        assert getattr(model, name) == pytest.approx(value, rel=0.10), name
    spend = fit_gamma_gamma(summary["frequency"], summary["monetary_value"])
    assert spend.population_mean_spend == pytest.approx(6.0 * 60.0 / 3.0, rel=0.05)
