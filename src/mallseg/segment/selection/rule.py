"""The selection rule: a pure function from the candidate table to a ranking.

Eligible candidates pass the size rule (see :func:`~mallseg.segment.selection.scores.
candidate_table`). Then one of three regimes decides:

**Natural structure** (the structure test found clusters, ``k`` chosen automatically):

1. *Stable*: eligible with ``stability >= min_stability``; when none is, every eligible one
   stays in the running and the explanation says so.
2. *Silhouette first*: the leader is the stable candidate with the highest silhouette.
3. *Stability breaks near-ties*: a candidate within ``silhouette_tolerance`` of the
   leader's silhouette whose stability is more than ``stability_margin`` higher takes the
   lead. Remaining exact ties go to the smaller ``k``, then to the algorithm listed first.

**Marketing partition** (no natural structure: the customers form a continuum, and the
silhouette's bias to two groups would decide otherwise):

1. Only centroid partitions (k-means, Ward: convex tiers around typical customers; a
   mixture's components overlap and nest, which cuts a continuum into a broad and a narrow
   group rather than into tiers), only ``k`` within ``marketing_range`` (3 to 8 by default)
   and only candidates whose every segment is *distinct*: it differs from everyone by at
   least ``min_distinctness`` standard deviations on at least one feature (a segment "close
   to average on everything" tells a marketer nothing).
2. *Stable* as above.
3. The winner is the finest partition (most segments) whose stability is within
   ``stability_tolerance`` of the most stable candidate's: among partitions that are as
   reproducible, more tiers give finer targeting. Ties go to the higher stability, then to
   the algorithm listed first.
4. When no candidate is distinct in the range, the natural-structure rule decides among
   the eligible ones and the explanation says so.

**Fixed k** (the caller chose k): the natural-structure rule among the eligible
candidates of that k (algorithms compete).

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({
...     "candidate": [0, 1, 2], "algorithm": ["kmeans"] * 3, "k": [2, 3, 4],
...     "silhouette": [0.40, 0.33, 0.31], "stability": [0.99, 0.97, 0.95],
...     "distinctness": [1.2, 0.9, 0.7], "eligible": [True] * 3, "stable": [True] * 3,
...     "reason": [""] * 3, "min_cluster_size": [None] * 3})
>>> int(rank_candidates(table, regime="natural structure", algorithms=["kmeans"]).winner["k"])
2
>>> int(rank_candidates(table, regime="marketing partition", algorithms=["kmeans"]).winner["k"])
4
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["REGIMES", "Ranking", "SelectionRule", "candidate_label", "rank_candidates"]

REGIMES = ("natural structure", "marketing partition", "fixed k")

ALGORITHM_NAMES = {
    "kmeans": "k-means",
    "minibatch_kmeans": "mini-batch k-means",
    "gmm": "Gaussian mixture",
    "hdbscan": "HDBSCAN",
    "ward": "Ward",
}


@dataclass(frozen=True)
class SelectionRule:
    """Thresholds of the rule (see the module documentation).

    Examples
    --------
    >>> SelectionRule().marketing_range
    (3, 8)
    """

    min_stability: float = 0.8
    silhouette_tolerance: float = 0.02
    stability_margin: float = 0.05
    marketing_range: tuple[int, int] = (3, 8)
    min_distinctness: float = 0.5
    stability_tolerance: float = 0.05


@dataclass(frozen=True)
class Ranking:
    """The ranked candidates and how the decision was taken.

    Attributes
    ----------
    table:
        Candidates ranked (``rank`` 1 = chosen) with ``reason`` filled for every row.
    regime:
        The regime that decided (one of :data:`REGIMES`).
    relaxed:
        True when no candidate in the running reached ``min_stability``.
    fell_back:
        True when the marketing partition had no distinct candidate and the
        natural-structure rule decided instead.
    in_running:
        Number of candidates the winner was chosen among.
    """

    table: pd.DataFrame
    regime: str
    relaxed: bool
    fell_back: bool
    in_running: int

    @property
    def winner(self) -> pd.Series:
        """The chosen candidate's row."""
        return self.table.iloc[0]


def candidate_label(row: pd.Series) -> str:
    """A candidate as a reader names it ("k-means k=4").

    >>> import pandas as pd
    >>> candidate_label(pd.Series({"algorithm": "gmm", "k": 3, "min_cluster_size": None}))
    'Gaussian mixture k=3'
    """
    name = ALGORITHM_NAMES.get(str(row["algorithm"]), str(row["algorithm"]))
    if str(row["algorithm"]) == "hdbscan":
        return f"{name} (min_cluster_size={row['min_cluster_size']}, k={row['k']})"
    return f"{name} k={row['k']}"


def rank_candidates(
    table: pd.DataFrame,
    *,
    regime: str,
    algorithms: Sequence[str],
    rule: SelectionRule | None = None,
) -> Ranking:
    """Rank ``table`` under ``regime`` (see the module documentation).

    The table needs ``candidate, algorithm, k, silhouette, stability, distinctness,
    eligible, reason`` (and ``min_cluster_size`` for labels). Nothing else is read: the rule
    is a pure function of the scores.

    Raises
    ------
    ValueError
        When ``regime`` is unknown.
    """
    if regime not in REGIMES:
        raise ValueError(f"regime={regime!r} must be one of {', '.join(REGIMES)}")
    rule = rule or SelectionRule()
    order = {name: i for i, name in enumerate(algorithms)}
    table = table.assign(algorithm_order=table["algorithm"].map(order).fillna(len(order)))
    table = table.assign(stable=table["eligible"] & (table["stability"] >= rule.min_stability))
    if regime == "marketing partition":
        low, high = rule.marketing_range
        in_range = table["k"].between(low, high)
        distinct = table["distinctness"] >= rule.min_distinctness
        centroid = table.get("centroid", True)
        running = table["eligible"] & in_range & distinct & centroid
        if running.any():
            return _finest_stable(table, running, rule)
        ranking = _silhouette_first(table, table["eligible"], rule)
        return Ranking(ranking.table, regime, ranking.relaxed, True, ranking.in_running)
    ranking = _silhouette_first(table, table["eligible"], rule)
    return Ranking(ranking.table, regime, ranking.relaxed, False, ranking.in_running)


def _silhouette_first(table: pd.DataFrame, running: pd.Series, rule: SelectionRule) -> Ranking:
    stable = running & table["stable"]
    relaxed = not bool(stable.any())
    pool = stable if not relaxed else running
    table = table.assign(pool=np.where(pool, 0, np.where(table["eligible"], 1, 2)))
    ranked = table.sort_values(
        ["pool", "silhouette", "k", "algorithm_order"],
        ascending=[True, False, True, True], kind="stable", na_position="last",
    ).reset_index(drop=True)
    if ranked.loc[0, "pool"] == 0:
        leader = ranked.iloc[0]
        challengers = ranked[
            (ranked["pool"] == 0)
            & (ranked["silhouette"] >= leader["silhouette"] - rule.silhouette_tolerance)
            & (ranked["stability"] > leader["stability"] + rule.stability_margin)
        ]
        if not challengers.empty:
            best = challengers.sort_values(
                ["stability", "silhouette", "k", "algorithm_order"],
                ascending=[False, False, True, True], kind="stable",
            ).index[0]
            ranked = pd.concat([ranked.loc[[best]], ranked.drop(index=best)])
            ranked = ranked.reset_index(drop=True)
            ranked.loc[0, "reason"] = (
                f"near-tie on silhouette with {candidate_label(leader)}, won on stability"
            )
    winner = ranked.loc[0]
    for i in range(1, len(ranked)):
        row = ranked.loc[i]
        if row["reason"]:
            ranked.loc[i, "reason"] = f"ineligible: {row['reason']}"
        elif row["pool"] != 0:
            ranked.loc[i, "reason"] = (
                f"unstable: stability {row['stability']:.2f} < {rule.min_stability:.2f}"
            )
        elif row["silhouette"] >= winner["silhouette"] - rule.silhouette_tolerance:
            ranked.loc[i, "reason"] = (
                f"near-tie on silhouette ({row['silhouette']:.3f} vs "
                f"{winner['silhouette']:.3f}), stability {row['stability']:.2f} vs "
                f"{winner['stability']:.2f}"
            )
        else:
            ranked.loc[i, "reason"] = (
                f"lower silhouette ({row['silhouette']:.3f} vs {winner['silhouette']:.3f})"
            )
    return _finish(ranked, "natural structure", relaxed, int(pool.sum()))


def _finest_stable(table: pd.DataFrame, running: pd.Series, rule: SelectionRule) -> Ranking:
    stable = running & table["stable"]
    relaxed = not bool(stable.any())
    pool = stable if not relaxed else running
    best_stability = float(table.loc[pool, "stability"].max())
    near = pool & (table["stability"] >= best_stability - rule.stability_tolerance)
    table = table.assign(
        pool=np.where(near, 0, np.where(pool, 1, np.where(table["eligible"], 2, 3)))
    )
    ranked = table.sort_values(
        ["pool", "k", "stability", "algorithm_order"],
        ascending=[True, False, False, True], kind="stable", na_position="last",
    ).reset_index(drop=True)
    low, high = rule.marketing_range
    for i in range(1, len(ranked)):
        row = ranked.loc[i]
        if row["reason"]:
            ranked.loc[i, "reason"] = f"ineligible: {row['reason']}"
        elif not row.get("centroid", True):
            ranked.loc[i, "reason"] = (
                "not a centroid partition (no natural cluster structure: tiers are cut "
                "around typical customers)"
            )
        elif not low <= row["k"] <= high:
            ranked.loc[i, "reason"] = (
                f"outside the marketing range {low}-{high} (no natural cluster structure)"
            )
        elif not row["distinctness"] >= rule.min_distinctness:
            ranked.loc[i, "reason"] = (
                f"segment {row.get('weakest_segment', '?')} barely differs from everyone "
                f"(largest difference {row['distinctness']:.2f} sd < {rule.min_distinctness:.2f})"
            )
        elif row["pool"] == 2 or (not relaxed and not row["stable"]):
            ranked.loc[i, "reason"] = (
                f"unstable: stability {row['stability']:.2f} < {rule.min_stability:.2f}"
            )
        elif row["pool"] == 1:
            ranked.loc[i, "reason"] = (
                f"less reproducible: stability {row['stability']:.2f}, more than "
                f"{rule.stability_tolerance:.2f} under the best {best_stability:.2f}"
            )
        else:
            ranked.loc[i, "reason"] = (
                f"as reproducible (stability {row['stability']:.2f}) but coarser or "
                "a later algorithm"
            )
    return _finish(ranked, "marketing partition", relaxed, int(pool.sum()))


def _finish(ranked: pd.DataFrame, regime: str, relaxed: bool, in_running: int) -> Ranking:
    ranked["rank"] = np.arange(1, len(ranked) + 1)
    if not ranked.loc[0, "reason"]:
        ranked.loc[0, "reason"] = "chosen"
    ranked = ranked.drop(columns=["algorithm_order", "pool"])
    return Ranking(ranked, regime, relaxed, False, in_running)
