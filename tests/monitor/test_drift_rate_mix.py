"""A shift of 5 percentage points in the persona mix (the direction of the simulator's
``mix`` drift) makes the monitor say *watch* or *refit due* for at least 95% of pairs.

Twenty pairs of 8,000 customers each (two simulation seeds, ten draws per seed; see
conftest.py).
"""

from __future__ import annotations

from typing import Any


def test_a_five_point_shift_of_the_persona_mix_is_flagged(drift_pools: Any,
                                                           count_verdicts: Any) -> None:
    counts = count_verdicts(drift_pools, "mix")
    assert sum(counts.values()) == 20
    assert counts["watch"] + counts["refit due"] >= 19, counts


def test_the_reason_is_the_segment_mix_with_the_growing_segment_named(drift_pools: Any) -> None:
    pool = drift_pools[0]
    report = pool.check("mix", 0)
    assert report.reasons[0].signal == "segment mix"
    grown = max(report.segment_mix.shares, key=lambda s: s.change)
    assert grown.change > 0.02
    assert grown.name in report.reasons[0].message
