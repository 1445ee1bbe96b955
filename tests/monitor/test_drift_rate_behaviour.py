"""One persona changing its behaviour (``behaviour:0.5`` on the mall enthusiasts only) makes
the monitor say *watch* or *refit due* for at least 95% of pairs, and the reason names the
segment and the feature that moved.

Twenty pairs of 8,000 customers each (two simulation seeds, ten draws per seed; see
conftest.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def test_one_persona_changing_its_behaviour_is_flagged(drift_pools: Any,
                                                        count_verdicts: Any) -> None:
    counts = count_verdicts(drift_pools, "behaviour")
    assert sum(counts.values()) == 20
    assert counts["watch"] + counts["refit due"] >= 19, counts


def test_the_reason_is_the_enthusiasts_segment_visiting_less(drift_pools: Any) -> None:
    pool = drift_pools[0]
    report = pool.check("behaviour", 0)
    moved = [c for c in report.centroids if c.severity != "none"]
    assert len(moved) == 1
    segment = moved[0]
    # the segment is the one the enthusiasts are in, and it moved on visits, downwards
    labels = pool.plain_view.labels[pool.personas == "mall_enthusiast"]
    enthusiasts = int(np.bincount(labels[labels >= 0]).argmax())
    assert segment.segment_id == enthusiasts
    assert segment.feature == "visits_per_month"
    assert segment.feature_effect < -0.2
