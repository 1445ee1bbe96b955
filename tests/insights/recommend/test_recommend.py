"""Recommendations on a simulated mall beat popularity; every suggestion is new and explained."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from mallseg.datasets.simulate import simulate_mall
from mallseg.insights.recommend import recommend_items


@pytest.fixture(scope="module")
def mall(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    folder = Path(tmp_path_factory.mktemp("mall"))
    simulate_mall(folder, customers=4000, days=120, seed=5)
    con = duckdb.connect()
    for table in ("stores", "transactions"):
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM "
                    f"read_parquet('{folder}/inputs/{table}/*.parquet')")
    con.execute("CREATE TABLE personas AS SELECT customer_id, persona AS segment_name FROM "
                f"read_parquet('{folder}/truth/customer_personas/*.parquet')")
    return con


@pytest.fixture(scope="module")
def with_personas(mall):
    return recommend_items(mall, mall.table("personas"))


@pytest.fixture(scope="module")
def without_segments(mall):
    return recommend_items(mall)


def test_hit_rate_at_5_is_at_least_1_5_times_global_popularity(with_personas,
                                                              without_segments) -> None:
    for result in (with_personas, without_segments):
        report = result.evaluation
        system = report.score("system")
        base = report.score("global_popularity")
        assert system.customers == base.customers > 1000
        assert system.hit_rate >= 1.5 * base.hit_rate
        assert system.ndcg > 1.5 * base.ndcg
        assert system.coverage > base.coverage
        assert report.hit_rate_ratio_to_global == round(system.hit_rate / base.hit_rate, 3)


def test_without_segments_a_collaborative_method_is_chosen(without_segments) -> None:
    report = without_segments.evaluation
    assert report.chosen in ("ease", "cooccurrence")
    chosen = max((s for s in report.validation if s.group == "history"),
                 key=lambda s: (s.ndcg, s.hit_rate))
    assert chosen.method == report.chosen


def test_with_the_true_personas_the_system_matches_their_popularity(with_personas) -> None:
    # The simulator draws stores from the persona's tastes: popularity within the true
    # persona is close to the best any method can do, so the system must be as good.
    report = with_personas.evaluation
    assert report.score("system").hit_rate >= 0.97 * report.score("segment_popularity").hit_rate
    assert report.score("system", group="new").hit_rate == \
        report.score("segment_popularity", group="new").hit_rate


def test_no_customer_is_recommended_a_store_they_already_use(mall, without_segments) -> None:
    recs = without_segments.recommendations
    mall.register("recs", recs)
    clashes = mall.execute("""SELECT count(*) FROM recs r JOIN (SELECT DISTINCT customer_id,
        store_id FROM transactions WHERE amount > 0) t
        ON t.customer_id = r.customer_id AND t.store_id = r.item""").fetchall()[0][0]
    mall.unregister("recs")
    assert clashes == 0
    per_customer = recs.groupby("customer_id")["rank"].agg(["min", "max", "count"])
    assert (per_customer["count"] == 5).all() and (per_customer["max"] == 5).all()
    buyers = mall.execute("SELECT count(DISTINCT customer_id) FROM transactions "
                          "WHERE amount > 0").fetchall()[0][0]
    assert without_segments.customers == recs["customer_id"].nunique() == buyers


def test_a_reason_quotes_true_counts_of_customers(mall, without_segments) -> None:
    recs = without_segments.recommendations
    similar = recs[recs["because_of"].notna()].head(50)
    assert len(similar) == 50
    for row in similar.itertuples(index=False):
        both, base = mall.execute("""
            WITH u AS (SELECT DISTINCT customer_id, store_id FROM transactions
                       WHERE amount > 0)
            SELECT count(*) FILTER (WHERE b.customer_id IS NOT NULL), count(*)
            FROM u a LEFT JOIN u b ON b.customer_id = a.customer_id AND b.store_id = ?
            WHERE a.store_id = ?""", [row.item, row.because_of]).fetchall()[0]
        assert row.co_customers == both
        assert row.share == pytest.approx(round(both / base, 4))
        assert f"({both:,} customers)" in row.reason
        assert f"{round(100 * both / base)}%" in row.reason


def test_customers_without_history_get_their_segments_favourites(mall) -> None:
    segments = mall.execute("SELECT * FROM personas").fetchdf()
    newcomer = pd.DataFrame({"customer_id": ["NEW1"], "segment_name": ["senior_leisure"]})
    result = recommend_items(mall, pd.concat([segments, newcomer]), customers=["NEW1"],
                             evaluate=False)
    rows = result.for_customer("NEW1")
    assert [r["source"] for r in rows] == ["segment_popularity"] * 5
    shares = mall.execute("""
        WITH u AS (SELECT DISTINCT t.customer_id, t.store_id FROM transactions t
                   JOIN personas p USING (customer_id)
                   WHERE p.segment_name = 'senior_leisure' AND t.amount > 0)
        SELECT store_id FROM u GROUP BY store_id ORDER BY count(*) DESC, store_id LIMIT 5
    """).fetchall()
    assert [r["item"] for r in rows] == [s for (s,) in shares]
    assert rows[0]["reason"].startswith("Popular with senior_leisure: ")


def test_the_live_model_gives_what_the_batch_gave(mall, without_segments) -> None:
    one = without_segments.recommendations.iloc[0]["customer_id"]
    used = [s for (s,) in mall.execute(
        "SELECT DISTINCT store_id FROM transactions WHERE customer_id = ? AND amount > 0",
        [one]).fetchall()]
    live = without_segments.model.recommend(used, n=5)
    batch = without_segments.for_customer(one)
    assert [r.item for r in live] == [r["item"] for r in batch]
    assert [r.reason for r in live] == [r["reason"] for r in batch]


def test_an_output_table_holds_the_same_rows_as_the_frame(mall) -> None:
    ids = [c for (c,) in mall.execute("SELECT DISTINCT customer_id FROM transactions "
                                      "ORDER BY 1 LIMIT 199").fetchall()]
    frame = recommend_items(mall, customers=ids, evaluate=False)
    table = recommend_items(mall, customers=ids, evaluate=False, output_table="recs_out")
    assert table.recommendations is None and table.output_table == "recs_out"
    stored = mall.execute("SELECT * FROM recs_out ORDER BY customer_id, rank").fetchdf()
    expected = frame.recommendations.sort_values(["customer_id", "rank"])
    assert stored["item"].tolist() == expected["item"].tolist()
    assert stored["reason"].tolist() == expected["reason"].tolist()
    assert table.customers == frame.customers == 199
    assert table.by_source == frame.by_source


def test_the_result_is_plain_json(with_personas) -> None:
    payload = json.loads(json.dumps(with_personas.to_dict(max_rows=20)))
    assert len(payload["recommendations"]) == 20
    assert payload["evaluation"]["hit_rate_ratio_to_global"] >= 1.5
    assert payload["model"]["method"] == with_personas.evaluation.chosen


def test_unknown_customers_and_bad_parameters_are_named(mall) -> None:
    result = recommend_items(mall, customers=["NOPE"], evaluate=False)
    assert result.customers == 0
    assert any("1 customers asked for are unknown" in n for n in result.notes)
    with pytest.raises(ValueError, match="method='als' must be 'auto' or one of"):
        recommend_items(mall, method="als")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="test_days=90 leaves no history"):
        recommend_items(mall, test_days=90)
    with pytest.raises(ValueError, match="top_n=0 must be an integer >= 1"):
        recommend_items(mall, top_n=0)
    assert recommend_items(duckdb.connect()).message.startswith("No purchases")


def test_live_scoring_with_a_segment_matches_the_batch(mall, with_personas) -> None:
    recs = with_personas.recommendations
    one = recs[recs["source"] == with_personas.model.method].iloc[0]["customer_id"]
    used = [s for (s,) in mall.execute(
        "SELECT DISTINCT store_id FROM transactions WHERE customer_id = ? AND amount > 0",
        [one]).fetchall()]
    persona = mall.execute("SELECT segment_name FROM personas WHERE customer_id = ?",
                           [one]).fetchall()[0][0]
    live = with_personas.model.recommend(used, segment=persona, n=5)
    assert [r.item for r in live] == [r["item"] for r in with_personas.for_customer(one)]
    # Without a known segment the customer is still scored, from their stores alone.
    anonymous = with_personas.model.recommend(used, segment="no such segment", n=5)
    assert len(anonymous) == 5 and not set(r.item for r in anonymous) & set(used)
    assert [r.reason.startswith("Popular with all customers") for r in
            with_personas.model.recommend([], n=2)] == [True, True]
