"""Loyalty on the simulated mall, against its known truth, through the real ingest path.

The BTYD models are stationary; the simulated mall is seasonal (a holiday season about 57%
above the rest of the year, a summer rise). The calibration / holdout split is therefore
placed where the simulated calendar's mean intensity is the same on both sides (the year
from 1 March: calibration March-November, holdout December-February, intensity ratio
0.99), so the test measures the models and not the calendar.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from mallseg.data.ingest import find_table_sources, ingest_file
from mallseg.datasets.simulate import simulate_mall
from mallseg.insights.loyalty import (
    LoyaltyResult,
    analyse_loyalty,
    fit_bgnbd,
    summarise_events,
)
from mallseg.workspace import Workspace

START = date(2026, 3, 1)
AS_OF = START + timedelta(days=273)
HOLDOUT = 92


@dataclass
class Mall:
    connection: duckdb.DuckDBPyConnection
    personas: pd.DataFrame
    """customer_id, persona, alive (not churned by AS_OF)."""


@pytest.fixture(scope="module")
def mall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mall]:
    folder = tmp_path_factory.mktemp("loyalty_mall")
    simulate_mall(folder / "mall", customers=5000, days=365, seed=3, start_date=START)
    truth = duckdb.connect().execute(
        f"SELECT customer_id, persona, churned_on FROM "
        f"read_parquet('{folder}/mall/truth/customer_personas/*.parquet')"
    ).df()
    churned = pd.to_datetime(truth["churned_on"])
    truth["alive"] = churned.isna() | (churned > pd.Timestamp(AS_OF))
    with Workspace.open(folder / "ws") as ws:
        for table, path in find_table_sources(folder / "mall" / "inputs").items():
            assert ingest_file(ws, table, path).rows_quarantined == 0
        yield Mall(ws.connection, truth.drop(columns="churned_on"))


@pytest.fixture(scope="module")
def result(mall: Mall) -> LoyaltyResult:
    assignments = mall.personas.rename(columns={"persona": "segment_name"})
    return analyse_loyalty(mall.connection, assignments[["customer_id", "segment_name"]],
                           as_of=AS_OF, horizon_days=HOLDOUT)


@pytest.mark.parametrize("source", ["transactions", "visits"])
def test_holdout_forecast_beats_the_same_rate_as_before(mall: Mall, source: str) -> None:
    summary = summarise_events(mall.connection, source,  # type: ignore[arg-type]
                               as_of=AS_OF, holdout_days=HOLDOUT).customers
    x, t_x, big_t = summary["frequency"], summary["recency"], summary["T"]
    model = fit_bgnbd(x, t_x, big_t)
    predicted = model.expected_repeat_events(HOLDOUT, x, t_x, big_t)
    naive = x / big_t.clip(lower=1.0) * HOLDOUT
    actual = summary["holdout_frequency"].to_numpy()
    assert np.abs(predicted - actual).mean() < np.abs(naive - actual).mean()
    assert predicted.sum() == pytest.approx(actual.sum(), rel=0.10)
    alive = model.probability_alive(x, t_x, big_t)
    assert roc_auc_score(actual > 0, alive) > 0.75


def test_p_alive_ranks_the_truly_churned_below_the_others(result: LoyaltyResult,
                                                          mall: Mall) -> None:
    table = result.customers.merge(mall.personas, on="customer_id")
    known = table["p_alive"].notna()
    assert roc_auc_score(table.loc[known, "alive"], table.loc[known, "p_alive"]) > 0.8


def test_segment_figures_match_the_personas_truth(result: LoyaltyResult, mall: Mall) -> None:
    segments = result.segments.set_index("segment")
    assert sorted(segments.index) == sorted(mall.personas["persona"].unique())
    assert segments["customers"].sum() == 5000
    # the share still active, per persona, is the truth's to within 5 points
    truth = mall.personas.groupby("persona")["alive"].mean()
    np.testing.assert_allclose(segments["active_share"], truth.reindex(segments.index),
                               atol=0.05)
    # expected visits in the next 92 days per persona are the holdout's to within 20%
    holdout = summarise_events(mall.connection, "visits", as_of=AS_OF,
                               holdout_days=HOLDOUT).customers
    actual = holdout.merge(mall.personas, on="customer_id").groupby("persona")[
        "holdout_frequency"].sum()
    np.testing.assert_allclose(segments["expected_visits"], actual.reindex(segments.index),
                               rtol=0.20)
    assert segments["repeat_visitor_share"].between(0.9, 1.0).all()
    tiers = segments.filter(like="tier_share_").sum(axis=1)
    np.testing.assert_allclose(tiers, 1.0)


def test_at_risk_is_backed_by_its_numbers(result: LoyaltyResult) -> None:
    rule = result.at_risk_rule
    assert rule is not None and rule.alive_threshold == 0.5
    table = result.customers
    flagged = table[table["at_risk"]]
    assert len(flagged) > 0
    assert (flagged["past_spend"] >= rule.value_threshold).all()
    assert (flagged["p_alive"] < 0.5).all()
    buyers = table["past_spend"].notna()
    assert (table.loc[buyers, "past_spend"] >= rule.value_threshold).mean() == pytest.approx(
        1 / 3, abs=0.01
    )
    assert result.segments["at_risk_customers"].sum() == len(flagged)
    assert f"{rule.value_threshold:,.2f}" in rule.describe()


def test_values_are_consistent(result: LoyaltyResult) -> None:
    table = result.customers.dropna(subset=["expected_spend"])
    np.testing.assert_allclose(
        table["expected_spend"],
        table["expected_purchases"] * table["expected_spend_per_purchase"],
    )
    assert (table["customer_value"] > table["expected_spend"]).all()  # 12 months > 92 days
    assert result.activity_source == "visits"
    assert result.visit_model is not None and result.purchase_model is not None
    assert result.spend_model is not None
    assert result.notes == ()


def test_drivers_are_reported_per_segment_and_backed(result: LoyaltyResult) -> None:
    drivers = result.drivers
    assert drivers is not None
    assert drivers.target == "came back (visit) within 92 days"
    assert len(drivers.segments) == 8
    assert drivers.auc > 0.75
    reported = [d for s in drivers.segments for d in s.drivers]
    assert reported
    for segment in drivers.segments:
        for driver in segment.drivers:
            assert driver.importance - 2 * driver.importance_se > max(
                0.0, segment.noise_importance
            )
    # the longer since the last purchase, the less likely a return: everywhere it shows
    recency = [d for d in reported if d.feature == "recency_days" and abs(d.effect) >= 0.01]
    assert recency and all(d.effect < 0 for d in recency)


def test_to_dict_is_plain_json(result: LoyaltyResult) -> None:
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["as_of"] == "2026-11-29T00:00:00"
    assert payload["models"]["visits"]["model"] == "BG/NBD"
    assert len(payload["customers"]) == 5000
    assert "customers" not in result.to_dict(customers=False)


def test_without_events_the_message_says_what_to_ingest(tmp_path: Path) -> None:
    with (Workspace.open(tmp_path / "ws") as ws,
          pytest.raises(ValueError, match="ingest visits or transactions first")):
        analyse_loyalty(ws.connection, {"c1": "A"})


def test_unknown_model_is_refused(mall: Mall) -> None:
    with pytest.raises(ValueError, match="model='gamma' must be one of"):
        analyse_loyalty(mall.connection, {"c1": "A"}, model="gamma")  # type: ignore[arg-type]
