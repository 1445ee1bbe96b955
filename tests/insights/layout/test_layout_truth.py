"""On a simulated mall, layout insights recover the personas' known hours and tastes."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pytest

from mallseg.datasets.simulate import CATEGORIES, DEFAULT_PERSONAS, TIME_BANDS, simulate_mall
from mallseg.insights.layout import analyse_layout

PERSONAS = {p.name: p for p in DEFAULT_PERSONAS}


@pytest.fixture(scope="module")
def mall(tmp_path_factory: pytest.TempPathFactory) -> tuple[duckdb.DuckDBPyConnection, object]:
    folder = Path(tmp_path_factory.mktemp("mall"))
    simulate_mall(folder, customers=3000, days=56, seed=11)
    con = duckdb.connect()
    for table in ("stores", "visits", "transactions"):
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM "
                    f"read_parquet('{folder}/inputs/{table}/*.parquet')")
    segments = con.sql("SELECT customer_id, persona AS segment_name FROM "
                       f"read_parquet('{folder}/truth/customer_personas/*.parquet')")
    return con, analyse_layout(con, segments)


def _expected_band(name: str) -> tuple[int, float]:
    """The persona's largest time band over the week, and its margin over the next."""
    p = PERSONAS[name]
    ws = p.weekend_share
    blend = (1 - ws) * np.array(p.weekday_bands) + ws * np.array(p.weekend_bands)
    order = np.argsort(blend)[::-1]
    return int(order[0]), float(blend[order[0]] - blend[order[1]])


def test_each_personas_peak_hours_are_its_dominant_time_band(mall) -> None:
    _, result = mall
    checked = 0
    for name in PERSONAS:
        band, margin = _expected_band(name)
        if margin < 0.08:   # two bands too close to call on 3,000 customers
            continue
        start = TIME_BANDS[band][1] // 60
        heat = result.activity.segment(name)
        assert (heat.peak_hours.start_hour, heat.peak_hours.end_hour) == (start, start + 3), name
        checked += 1
    assert checked >= 5
    senior = result.activity.segment("senior_leisure").peak_hours
    assert senior.label == "09:00-12:00" and senior.lift > 2


def test_a_personas_top_category_by_lift_is_the_one_its_tastes_predict(mall) -> None:
    """Expected lift of category c for persona p: taste_p(c) / sum_q w_q taste_q(c), where
    w_q is persona q's share of all spend (spend shares follow tastes in the simulator)."""
    _, result = mall
    table = result.category_affinity
    spend = {s: sum(c.value or 0.0 for c in table.cells if c.segment == s)
             for s in table.segments}
    total = sum(spend.values())
    tastes = {name: np.array(PERSONAS[name].taste_vector()) for name in table.segments}
    population = sum(spend[n] / total * tastes[n] for n in table.segments)
    for name in table.segments:
        expected = np.divide(tastes[name], population, out=np.zeros(len(CATEGORIES)),
                             where=population > 0)
        assert table.top(name, 1)[0].item == CATEGORIES[int(np.argmax(expected))], name


def test_the_result_is_plain_json_and_suggests_in_words(mall) -> None:
    _, result = mall
    payload = json.loads(json.dumps(result.to_dict()))
    assert set(payload["segments"]) == set(PERSONAS)
    kinds = {s["kind"] for s in payload["suggestions"]}
    assert {"cross_promotion", "peak_hours"} <= kinds
    for s in payload["suggestions"]:
        assert s["text"] and s["figures"]
