"""Without drift the monitor says *stable* for at least 95% of simulated pairs.

Twenty pairs of 8,000 customers each, two samples of one simulated mall (two simulation
seeds, ten draws per seed; see conftest.py).
"""

from __future__ import annotations

from typing import Any


def test_without_drift_the_monitor_says_stable(drift_pools: Any, count_verdicts: Any) -> None:
    counts = count_verdicts(drift_pools, "none")
    assert sum(counts.values()) == 20
    assert counts["stable"] >= 19, counts
