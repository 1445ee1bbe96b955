"""RFM scores and groups against a hand computation."""

from __future__ import annotations

import pandas as pd
import pytest

from mallseg.segment.rfm import DEFAULT_RFM_GROUPS, RFMGroup, rfm_segments

# ten buyers and two customers who never bought
FIXTURE = pd.DataFrame({
    "recency_days": [2, 2, 10, 30, 45, 60, 90, 120, 200, 365, 400, 400],
    "frequency": [20, 8, 8, 5, 1, 1, 1, 3, 2, 1, 0, 0],
    "monetary_total": [2000, 700, 650, 300, 50, 80, 20, 400, 90, 10, 0, 0],
})


def test_scores_are_quintiles_of_the_buyers_with_ties_sharing_a_score() -> None:
    scores = rfm_segments(FIXTURE).scores
    # worked by hand: rank among the 10 buyers (ties take the lowest), 1 + floor(5 (rank-1) / 10)
    assert scores["R"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0]
    assert scores["F"].tolist() == [5, 4, 4, 4, 1, 1, 1, 3, 3, 1, 0, 0]
    assert scores["M"].tolist() == [5, 5, 4, 3, 2, 2, 1, 4, 3, 1, 0, 0]
    assert scores["FM"].tolist() == [5, 5, 4, 4, 2, 2, 1, 4, 3, 1, 0, 0]


def test_score_cells_map_to_the_standard_named_groups() -> None:
    groups = rfm_segments(FIXTURE).scores["group"].tolist()
    assert groups == [
        "Champions", "Champions", "Loyal", "Loyal", "About to sleep", "About to sleep",
        "Hibernating", "At risk", "At risk", "Lost", "No purchase yet", "No purchase yet",
    ]


def test_every_cell_is_covered_exactly_once_by_the_default_groups() -> None:
    for r in range(1, 6):
        for fm in range(1, 6):
            assert sum(g.covers(r, fm) for g in DEFAULT_RFM_GROUPS) == 1, (r, fm)
    assert len(DEFAULT_RFM_GROUPS) == 11


def test_the_mapping_is_configurable_and_must_cover_every_cell() -> None:
    two = (RFMGroup("Recent", (4, 5), (1, 5)), RFMGroup("Not recent", (1, 3), (1, 5)))
    result = rfm_segments(FIXTURE, two)
    assert result.scores["group"].tolist()[:5] == ["Recent"] * 4 + ["Not recent"]
    assert result.group_names() == {0: "Recent", 1: "Not recent", 2: "No purchase yet"}
    with pytest.raises(ValueError, match=r"cells \[\(1, 1\)"):
        rfm_segments(FIXTURE, two[:1])


def test_without_purchases_rfm_says_what_is_missing() -> None:
    with pytest.raises(ValueError, match="lacks recency_days"):
        rfm_segments(pd.DataFrame({"age": [30]}))
    with pytest.raises(ValueError, match="no customer in this data ever bought"):
        rfm_segments(pd.DataFrame({"recency_days": [3], "frequency": [0],
                                   "monetary_total": [0.0]}))


def test_customers_scored_again_with_the_runs_cut_points_get_the_same_scores() -> None:
    from mallseg.segment.rfm import score_with_cuts

    first = rfm_segments(FIXTURE)
    again = score_with_cuts(FIXTURE, first.cuts)
    pd.testing.assert_frame_equal(first.scores, again.scores)
    assert first.cuts["R"] == [120.0, 60.0, 30.0, 2.0]  # R 2 up to 120 days, R 5 up to 2
