"""The report's parts on small hand-made inputs: aggregates, projection, actions, words,
escaping and the section registry."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from mallseg.report import Section, section_builder, write_report
from mallseg.report.actions import FALLBACK_ACTION, NOT_ENOUGH_DATA_ACTION, suggest_actions
from mallseg.report.activity import top_stores, visit_hours
from mallseg.report.charts.activity import visit_hours_figure
from mallseg.report.html import render_report
from mallseg.report.projection import project_points
from mallseg.report.wording import stability_sentence, structure_verdict
from mallseg.segment.personas import profile_segments


@pytest.fixture
def events() -> duckdb.DuckDBPyConnection:
    """Two segments of 12 customers; visits at known hours; purchases in three stores."""
    con = duckdb.connect()
    con.execute("CREATE TABLE segment_assignments AS SELECT '0001' AS run_id, "
                "'c' || i AS customer_id, CAST(i >= 12 AS INTEGER) AS segment_id "
                "FROM range(24) t(i)")
    # segment 0: three Monday 10:00 visits each; everyone: one Saturday 18:00 visit
    con.execute("CREATE TABLE visits AS "
                "SELECT 'c' || i AS customer_id, TIMESTAMP '2026-03-02 10:05' AS entered_at "
                "FROM range(12) t(i), range(3) r(j) UNION ALL "
                "SELECT 'c' || i, TIMESTAMP '2026-03-07 18:30' FROM range(24) t(i) UNION ALL "
                "SELECT 'c0', TIMESTAMP '2026-04-30 09:00'")  # after the reference time
    con.execute("CREATE TABLE stores AS SELECT * FROM (VALUES ('s1', 'Cafe One', 'cafe'), "
                "('s2', 'Cine', 'cinema'), ('s3', 'Tiny', 'gift')) t(store_id, name, category)")
    # every customer spends 10 at s1; segment 1 also 30 at s2; 9 customers of segment 0 spend
    # 100 at s3 (too few buyers to be shown), and one return that must not count
    con.execute("CREATE TABLE transactions AS "
                "SELECT 'c' || i AS customer_id, 's1' AS store_id, 10.0 AS amount, "
                "TIMESTAMP '2026-03-01' AS purchased_at FROM range(24) t(i) UNION ALL "
                "SELECT 'c' || i, 's2', 30.0, TIMESTAMP '2026-03-01' FROM range(12, 24) t(i) "
                "UNION ALL SELECT 'c' || i, 's3', 100.0, TIMESTAMP '2026-03-01' "
                "FROM range(9) t(i) UNION ALL "
                "SELECT 'c13', 's2', -30.0, TIMESTAMP '2026-03-02'")
    return con


def test_visit_hours_are_shares_of_each_segments_visits(events: duckdb.DuckDBPyConnection
                                                        ) -> None:
    hours = visit_hours(events, "0001", pd.Timestamp("2026-03-31"))
    segment0 = hours[hours["segment"] == 0].set_index(["weekday", "hour"])
    assert segment0.loc[(0, 10), "events"] == 36 and segment0.loc[(5, 18), "events"] == 12
    assert segment0.loc[(0, 10), "share"] == pytest.approx(0.75)
    assert (9 not in segment0.index.get_level_values("hour"))  # the visit after as_of
    segment1 = hours[hours["segment"] == 1]
    assert segment1[["weekday", "hour", "events", "share"]].values.tolist() == [[5, 18, 12, 1]]
    grid = np.array(visit_hours_figure(hours, 0).data[0].z)
    assert grid.sum() == pytest.approx(1.0) and grid[0, 10] == pytest.approx(0.75)
    assert visit_hours_figure(hours, 7) is None


def test_top_stores_rank_by_share_with_a_minimum_of_buyers(events: duckdb.DuckDBPyConnection
                                                           ) -> None:
    stores = top_stores(events, "0001", min_customers=10)
    segment1 = stores[stores["segment"] == 1]
    # segment 1 spent 120 at s1 and 360 at s2; everyone spent 240 at s1, 360 at s2, 900 at s3
    assert segment1["store"].tolist() == ["Cine", "Cafe One"]
    assert segment1["share"].tolist() == pytest.approx([0.75, 0.25])
    assert segment1["population_share"].tolist() == pytest.approx([0.24, 0.16])
    assert segment1["lift"].tolist() == pytest.approx([0.75 / 0.24, 0.25 / 0.16])
    segment0 = stores[stores["segment"] == 0]
    assert segment0["store"].tolist() == ["Cafe One"]  # Tiny had 9 buyers: not shown
    assert segment0["share"].tolist() == pytest.approx([120 / 1020])
    assert top_stores(events, "0001", min_customers=9).query("segment == 0")["store"].tolist() \
        == ["Tiny", "Cafe One"]


def test_the_projection_puts_two_groups_apart_on_the_first_axis() -> None:
    rng = np.random.default_rng(0)
    points = np.vstack([rng.normal(0, 0.1, (50, 5)), rng.normal(3, 0.1, (50, 5))])
    projection = project_points(points, np.repeat([0, 1], 50), [f"c{i}" for i in range(100)])
    x = projection.frame["x"].to_numpy()
    assert set(np.sign(x[:50])) == {np.sign(x[0])}
    assert set(np.sign(x[50:])) == {-np.sign(x[0])}
    assert projection.explained[0] > 0.95
    assert projection.frame["customer_id"].tolist()[:2] == ["c0", "c1"]


def test_actions_follow_the_strongest_backed_evidence() -> None:
    frame = pd.DataFrame({
        "recency_days": [120.0, 110, 100, 130, 5, 6, 4, 7, 8, 5],
        "spend_share_cinema": [0.0, 0.0, 0.0, 0.0, 0.6, 0.7, 0.5, 0.6, 0.6, 0.7],
    })
    profiles = profile_segments(frame, np.array([0] * 4 + [1] * 6))
    lapsed = suggest_actions(profiles, 0)
    assert len(lapsed) == 1 and lapsed[0].startswith("Win them back")
    assert "(days since the last purchase" in lapsed[0]  # the numbers behind it
    cinema = suggest_actions(profiles, 1)
    assert cinema[0].startswith("Partner with the cinema stores")
    assert "62% vs 37% on average" in cinema[0]
    flat = profile_segments(pd.DataFrame({"age": [30.0, 31, 30, 31]}), np.array([0, 0, 1, 1]))
    assert suggest_actions(flat, 0) == [FALLBACK_ACTION + "."]


def test_a_segment_without_data_is_asked_for_data_not_acted_on() -> None:
    frame = pd.DataFrame({"visits_per_month": [np.nan, np.nan, np.nan, 2.0, 3.0, 2.5]})
    profiles = profile_segments(frame, np.array([0, 0, 0, 1, 1, 1]))
    assert suggest_actions(profiles, 0) == [NOT_ENOUGH_DATA_ACTION + "."]


def test_the_structure_verdict_and_stability_in_words_carry_their_numbers() -> None:
    found = structure_verdict({"has_structure": True, "silhouette": 0.62, "gain": 0.31})
    assert found.startswith("The customers fall into natural groups") and "0.62" in found
    assert "+0.31" in found
    selection = {"stability": {"mean_ari": 0.86, "ari_per_resample": [0.8, 0.9, 0.88],
                               "per_segment": {"0": 0.95, "1": 0.58}, "n_rows": 1000,
                               "resample_size": 800}}
    text = stability_sentence(selection, {0: "Young", 1: "Senior"})
    assert text.startswith("The segmentation is stable: refitted 3 times on 80%")
    assert "0.86" in text and "Senior, keeps 58% of its members together" in text
    assert "(unstable)" in text


def test_text_from_the_data_cannot_break_out_of_the_page() -> None:
    import plotly.graph_objects as go

    hostile = "</script><script>alert(1)</script>"
    figure = go.Figure(go.Bar(x=[1], y=[hostile]))
    page = render_report([Section("x", hostile, (f"Store {hostile}",), (figure,))],
                         title="T")
    assert "<script>alert(1)" not in page
    # contents entry, heading and sentence, each escaped
    assert page.count("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;") == 3
    figures = re.search(r'id="mallseg-figures">(.*?)</script>', page, re.S)
    assert figures is not None and json.loads(figures.group(1))["x-0"]["data"][0]["y"] == \
        [hostile]


@dataclass(frozen=True)
class FootfallResult:
    """A result type the report does not know yet."""

    entrances: dict[str, int]


def test_a_new_result_type_joins_the_report_as_one_more_builder(
        mall_workspace: Path, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="no section builder is registered for it"):
        write_report(mall_workspace, out=tmp_path / "r.html",
                     insights=[FootfallResult({"north": 1})])

    @section_builder(FootfallResult)
    def footfall(result: FootfallResult) -> list[Section]:
        return [Section("footfall", "Footfall", tuple(
            f"{door}: {count:,} entrances" for door, count in result.entrances.items()))]

    result = write_report(mall_workspace, out=tmp_path / "r.html",
                          insights=[FootfallResult({"north": 1200, "south": 80})])
    assert result.sections[-2:] == ("footfall", "method")
    page = (tmp_path / "r.html").read_text()
    assert "north: 1,200 entrances" in page and "south: 80 entrances" in page


def test_loyalty_kept_with_the_run_joins_its_report(mall_workspace: Path, tmp_path: Path
                                                    ) -> None:
    import shutil

    from mallseg.app.insights import LoyaltyInsight
    from mallseg.insights.loyalty import analyse_loyalty
    from mallseg.workspace import Workspace

    copy = tmp_path / "ws"
    shutil.copytree(mall_workspace, copy)
    with Workspace.open(copy) as ws:
        record = ws.get_run(None, "segment")
        labels = ws.connection.execute(
            "SELECT customer_id, segment_name FROM segment_assignments WHERE run_id = ?",
            [record.run_id]).df().set_index("customer_id")["segment_name"]
        result = analyse_loyalty(ws.connection, labels, as_of=record.reference_time,
                                 horizon_days=30, drivers=False)
        ws.save_insight(record.run_id, "loyalty",
                        LoyaltyInsight(record.run_id, result).to_dict())
        sizes = dict(ws.connection.execute(
            "SELECT segment_name, count(*) FROM segment_assignments GROUP BY ALL").fetchall())
    report = write_report(copy, out=tmp_path / "r.html")
    assert report.sections[-3:] == ("loyalty", "campaigns", "method")
    page = (tmp_path / "r.html").read_text()
    section = page[page.index('id="loyalty"'):page.index('id="campaigns"')]
    for name, size in sizes.items():
        assert f"<td>{name}</td><td>{size:,}</td>" in section
    assert result.segments["at_risk_share"].max() == 0  # two months: nobody lapsed yet
    assert "No segment has valuable customers who are unlikely to come back." in section
    assert "forecasts cover the next 30 days" in section


def test_the_report_reads_the_makeup_where_the_run_keeps_it() -> None:
    from mallseg.app.consent_makeup import INSIGHT
    from mallseg.report.makeup_sections import MAKEUP_INSIGHT

    assert INSIGHT == MAKEUP_INSIGHT
