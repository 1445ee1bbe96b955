"""analyse_campaigns on a hand-made mall whose every figure is worked out here directly.

Campaign K1 (1-7 March, email, responded flag recorded) reaches segments A, B, C, E and
some unsegmented customers; K2 (from 1 April, no end date, holdout responses not recorded)
reaches A and is read off apparel purchases; K3 has no holdout; K4 hurts segment A.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mallseg.insights.campaigns import analyse_campaigns
from mallseg.insights.campaigns.analysis import CampaignResult
from mallseg.workspace import Workspace

Insert = Callable[..., None]


def cid(i: int) -> str:
    return f"c{i:03d}"


SEGMENTS = {
    "A": range(0, 80), "B": range(80, 140), "C": range(140, 150), "E": range(200, 280),
}
K1_ARMS = {  # segment: (treated ids, holdout ids, treated responders, holdout responders)
    "A": (range(0, 40), range(40, 80), 20, 8),
    "B": (range(80, 110), range(110, 140), 9, 6),
    "C": (range(140, 145), range(145, 150), 1, 1),
    "E": (range(200, 240), range(240, 280), 28, 27),
    "unassigned": (range(150, 155), range(155, 160), 0, 0),
}


def k1_spend(i: int) -> float:
    """In-window spend of customer i in K1 (0 for those without a purchase)."""
    if i < 40:
        return float((i % 7) * 10 + 5)
    if 40 <= i < 80:
        return float((i % 5) * 8) if i % 2 == 0 else 0.0
    return 0.0


def k1_visits(i: int) -> int:
    if i < 40:
        return 2 if i % 2 == 0 else 0
    if 40 <= i < 80:
        return 1 if i % 3 == 0 else 0
    return 0


@pytest.fixture
def mall(workspace: Workspace, insert: Insert) -> Workspace:
    con = workspace.connection
    insert(con, "customers", pd.DataFrame({"customer_id": [cid(i) for i in range(300)]}))
    insert(con, "stores", pd.DataFrame({"store_id": ["s1", "s2"], "name": ["Threads", "Bites"],
                                        "category": ["apparel", "food_court"]}))
    insert(con, "campaigns", pd.DataFrame({
        "campaign_id": ["K1", "K2", "K3", "K4"],
        "name": ["Spring sale", "April apparel", "No control", "Bad idea"],
        "channel": ["email", "app", "sms", "sms"],
        "start_date": [date(2024, 3, 1), date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 1)],
        "end_date": [date(2024, 3, 7), None, date(2024, 5, 7), date(2024, 6, 7)],
        "offer": ["10% off", "$5 off apparel", "Free coffee", "Spam"],
        "target_category": [None, "apparel", None, None],
    }))
    exposures: list[tuple[str, str, bool | None, bool | None]] = []
    for treated, holdout, r_t, r_h in K1_ARMS.values():
        for arm, ids, responders in ((False, treated, r_t), (True, holdout, r_h)):
            for k, i in enumerate(ids):
                exposures.append(("K1", cid(i), arm, k < responders))
    exposures.append(("K1", cid(160), None, True))  # arm unknown: left out
    for i in range(0, 40):  # K2: every targeted flagged, holdout response not recorded
        exposures.append(("K2", cid(i), False, True))
    for i in range(40, 80):
        exposures.append(("K2", cid(i), True, None))
    for i in range(160, 200):
        exposures.append(("K3", cid(i), False, i % 2 == 0))
    for i in range(0, 80):  # K4: 4/40 targeted respond, 20/40 held out
        treated_arm = i < 40
        exposures.append(("K4", cid(i), not treated_arm, (i < 4) if treated_arm else i < 60))
    frame = pd.DataFrame(exposures, columns=["campaign_id", "customer_id", "is_holdout",
                                             "responded"])
    frame["sent_at"] = pd.Timestamp("2024-02-28 09:00")
    insert(con, "exposures", frame)
    tx = []
    for i in range(80):
        if k1_spend(i) > 0 or i < 40:
            stamp = "2024-03-07 23:30" if i < 40 else "2024-03-01 00:00"
            if k1_spend(i) > 0:
                tx.append((f"t{i}a", cid(i), "s2", stamp, k1_spend(i)))
        tx.append((f"t{i}b", cid(i), "s2", "2024-03-08 00:00", 1000.0))  # day after the end
        tx.append((f"t{i}c", cid(i), "s2", "2024-02-29 23:59", 777.0))  # day before the start
    for i in range(0, 25):  # K2 window: 15 apparel buyers, 10 food buyers among the targeted
        tx.append((f"t{i}d", cid(i), "s1" if i < 15 else "s2", "2024-04-05 12:00", 20.0))
    for i in range(40, 45):
        tx.append((f"t{i}d", cid(i), "s1", "2024-04-14 18:00", 20.0))
    tx.append(("t45d", cid(45), "s1", "2024-04-15 10:00", 20.0))  # after the 14-day window
    insert(con, "transactions", pd.DataFrame(tx, columns=[
        "transaction_id", "customer_id", "store_id", "purchased_at", "amount"]).assign(
            purchased_at=lambda f: pd.to_datetime(f["purchased_at"])))
    visits = []
    for i in range(80):
        for k in range(k1_visits(i)):
            visits.append((f"v{i}{k}", cid(i), pd.Timestamp("2024-03-03 10:00")))
        visits.append((f"v{i}x", cid(i), pd.Timestamp("2024-03-20 10:00")))  # outside
    insert(con, "visits", pd.DataFrame(visits, columns=["visit_id", "customer_id", "entered_at"]))
    return workspace


@pytest.fixture
def result(mall: Workspace) -> CampaignResult:
    assignments = pd.DataFrame(
        [(cid(i), seg) for seg, ids in SEGMENTS.items() for i in ids],
        columns=["customer_id", "segment"],
    )
    return analyse_campaigns(mall.connection, assignments, min_cell=10)


def newcombe_by_scipy(xt: int, nt: int, xh: int, nh: int) -> tuple[float, float]:
    t = stats.binomtest(xt, nt).proportion_ci(0.95, method="wilson")
    h = stats.binomtest(xh, nh).proportion_ci(0.95, method="wilson")
    pt, ph = xt / nt, xh / nh
    return (pt - ph - np.hypot(pt - t.low, h.high - ph),
            pt - ph + np.hypot(t.high - pt, ph - h.low))


def test_rates_difference_interval_and_p_value_equal_a_direct_computation(
    result: CampaignResult,
) -> None:
    for segment in ("A", "B", "E"):
        treated, holdout, r_t, r_h = K1_ARMS[segment]
        cell = result.cell("K1", segment)
        est = cell.response
        assert cell.status == "measured"
        assert (cell.n_targeted, cell.n_holdout) == (len(treated), len(holdout))
        assert (est.treated, est.holdout) == (r_t / len(treated), r_h / len(holdout))
        assert est.uplift == pytest.approx(r_t / len(treated) - r_h / len(holdout))
        low, high = newcombe_by_scipy(r_t, len(treated), r_h, len(holdout))
        assert (est.low, est.high) == pytest.approx((low, high), abs=1e-12)
        table = [[r_t, len(treated) - r_t], [r_h, len(holdout) - r_h]]
        assert est.p_value == pytest.approx(
            stats.chi2_contingency(table, correction=False).pvalue, rel=1e-9)


def test_spend_and_visits_per_head_count_the_window_only_and_use_welch(
    result: CampaignResult,
) -> None:
    cell = result.cell("K1", "A")
    spend_t = np.array([k1_spend(i) for i in range(0, 40)])
    spend_h = np.array([k1_spend(i) for i in range(40, 80)])
    reference = stats.ttest_ind(spend_t, spend_h, equal_var=False)
    ci = reference.confidence_interval(0.95)
    assert cell.spend.treated == pytest.approx(spend_t.mean())
    assert cell.spend.holdout == pytest.approx(spend_h.mean())
    assert (cell.spend.low, cell.spend.high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert cell.spend.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    visits_t = np.array([k1_visits(i) for i in range(0, 40)])
    visits_h = np.array([k1_visits(i) for i in range(40, 80)])
    assert cell.visits.uplift == pytest.approx(visits_t.mean() - visits_h.mean())
    assert cell.visits.p_value == pytest.approx(
        stats.ttest_ind(visits_t, visits_h, equal_var=False).pvalue, rel=1e-9)


def test_benjamini_hochberg_runs_over_the_measured_cells_of_each_outcome(
    result: CampaignResult,
) -> None:
    measured = [c for c in result.cells if c.response is not None]
    assert {(c.campaign_id, c.segment) for c in measured} == {
        ("K1", "A"), ("K1", "B"), ("K1", "E"), ("K2", "A"), ("K4", "A")}
    raw = np.array([c.response.p_value for c in measured])
    adjusted = np.array([c.response.p_adjusted for c in measured])
    assert adjusted == pytest.approx(stats.false_discovery_control(raw), rel=1e-12)
    assert [c.response.significant for c in measured] == list(adjusted < 0.05)
    spend_cells = [c for c in result.cells if c.spend is not None]
    spend_raw = np.array([c.spend.p_value for c in spend_cells])
    assert np.array([c.spend.p_adjusted for c in spend_cells]) == pytest.approx(
        stats.false_discovery_control(spend_raw), rel=1e-12)


def test_small_cells_keep_their_counts_and_have_no_estimate(result: CampaignResult) -> None:
    for segment in ("C", "unassigned"):
        cell = result.cell("K1", segment)
        assert (cell.status, cell.n_targeted, cell.n_holdout) == ("too_small", 5, 5)
        assert cell.estimates() == ()
    assert result.to_frame().query("segment == 'C'")["uplift"].isna().all()


def test_response_is_read_off_purchases_when_the_holdout_has_no_recorded_response(
    result: CampaignResult,
) -> None:
    summary = {s.campaign_id: s for s in result.campaigns}
    k2 = summary["K2"]
    assert k2.response_source == "purchase in apparel in the window"
    assert (k2.window_first_day, k2.window_last_day) == (date(2024, 4, 1), date(2024, 4, 14))
    cell = result.cell("K2", "A")
    assert (cell.response.treated_events, cell.response.holdout_events) == (15, 5)
    k1 = summary["K1"]
    assert (k1.response_source, k1.unknown_arm) == ("responded flag", 1)
    assert (k1.window_first_day, k1.window_last_day) == (date(2024, 3, 1), date(2024, 3, 7))
    assert k1.overall.n_targeted == 40 + 30 + 5 + 40 + 5


def test_campaign_without_holdout_is_reported_not_estimated(result: CampaignResult) -> None:
    k3 = next(s for s in result.campaigns if s.campaign_id == "K3")
    assert k3.overall.status == "no_holdout"
    assert k3.overall.n_targeted == 40
    assert any("K3 has no holdout" in note for note in result.notes)


def test_playbook_words_follow_the_numbers(result: CampaignResult) -> None:
    books = {b.segment: b for b in result.playbook}
    a = books["A"]
    assert [f.campaign_id for f in a.worked] == ["K1", "K2"]
    assert [f.campaign_id for f in a.harmed] == ["K4"]
    assert "did harm" in a.harmed[0].sentence and "-40.0 points" in a.harmed[0].sentence
    assert "+30.0 points" in a.worked[0].sentence
    e = books["E"]
    assert [f.campaign_id for f in e.responds_anyway] == ["K1"]
    assert e.responds_anyway[0].campaign_holdout_rate == pytest.approx(
        (8 + 6 + 1 + 27 + 0) / 120)
    assert e.worked == () and e.harmed == ()
    assert books["B"].inconclusive == ("K1",)
    assert books["C"].too_small == ("K1",)
    assert books["B"].summary.startswith("No campaign made a significant difference")


def test_result_is_plain_json(result: CampaignResult) -> None:
    data = json.loads(json.dumps(result.to_dict()))
    assert data["campaigns"][0]["window_first_day"] == "2024-03-01"
    cell = next(c for c in data["cells"] if c["campaign_id"] == "K1" and c["segment"] == "A")
    assert cell["response"]["incremental"] == pytest.approx(0.3 * 40)


def test_a_mall_without_exposures_gets_one_sentence_on_what_is_missing(
    workspace: Workspace,
) -> None:
    result = analyse_campaigns(workspace.connection)
    assert result.cells == () and result.campaigns == ()
    assert result.message is not None and result.message.count(".") == 1
    assert "exposures" in result.message and "is_holdout" in result.message


def test_exposures_without_any_holdout_say_a_control_group_is_needed(
    workspace: Workspace, insert: Insert,
) -> None:
    insert(workspace.connection, "campaigns", pd.DataFrame({"campaign_id": ["K"]}))
    insert(workspace.connection, "customers", pd.DataFrame({"customer_id": ["a", "b"]}))
    insert(workspace.connection, "exposures", pd.DataFrame({
        "campaign_id": ["K", "K"], "customer_id": ["a", "b"], "is_holdout": [False, False]}))
    result = analyse_campaigns(workspace.connection)
    assert result.message is not None
    assert result.message.startswith("The 2 exposures hold no holdout")


def test_bad_assignments_name_the_problem(mall: Workspace) -> None:
    with pytest.raises(ValueError, match="required column segment missing"):
        analyse_campaigns(mall.connection, pd.DataFrame({"customer_id": ["c000"]}))
    with pytest.raises(ValueError, match="min_cell=1 must be"):
        analyse_campaigns(mall.connection, min_cell=1)


def test_a_half_read_result_on_the_connection_does_not_get_in_the_way(mall: Workspace) -> None:
    con = mall.connection
    con.execute("SELECT customer_id FROM customers").fetchone()  # leaves rows unread
    assignments = pd.DataFrame({"customer_id": [cid(i) for i in range(80)], "segment": "A"})
    result = analyse_campaigns(con, assignments, min_cell=10)
    assert result.cell("K1", "A").response is not None
