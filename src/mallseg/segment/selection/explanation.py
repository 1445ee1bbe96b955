"""The sentence-by-sentence reason a segmentation was chosen, with its numbers.

Examples
--------
>>> import pandas as pd
>>> from mallseg.segment.selection.rule import Ranking
>>> from mallseg.segment.selection.structure import StructureTest
>>> table = pd.DataFrame([{"algorithm": "kmeans", "k": 4, "min_cluster_size": None,
...     "silhouette": 0.3, "stability": 0.95, "min_segment_stability": 0.9,
...     "distinctness": 0.8, "calinski_harabasz": 900.0, "davies_bouldin": 1.1,
...     "bic": float("nan"), "smallest_segment_share": 0.1, "eligible": True,
...     "stable": True, "reason": "chosen", "rank": 1}])
>>> structure = StructureTest(False, 0.31, 2, 0.30, 0.01, 0.01, 0.1, 2000, 5)
>>> text = explain_choice(Ranking(table, "marketing partition", False, False, 1), structure,
...                       min_stability=0.8, minimum_customers=10, n_resamples=5,
...                       sizes={"customers": 100, "search": 100, "silhouette": 100,
...                              "stability": 100, "refit": 100})
>>> text.split(". ")[0][:40]
'No natural cluster structure: the best s'
"""

from __future__ import annotations

import pandas as pd

from mallseg.segment.selection.rule import Ranking, SelectionRule, candidate_label
from mallseg.segment.selection.structure import StructureTest

__all__ = ["explain_choice"]


def explain_choice(
    ranking: Ranking,
    structure: StructureTest,
    *,
    min_stability: float,
    minimum_customers: int,
    n_resamples: int,
    sizes: dict[str, int],
    rule: SelectionRule | None = None,
) -> str:
    """Why the winner of ``ranking`` won, and how the runners-up lost."""
    rule = rule or SelectionRule()
    ranked = ranking.table
    winner = ranked.iloc[0]
    parts = [structure.sentence()] if structure.references or structure.rows else []
    scores = (
        f"silhouette {winner['silhouette']:.3f}; stability {winner['stability']:.2f} (mean "
        f"adjusted Rand index over {n_resamples} refits on 80% subsamples, weakest segment "
        f"Jaccard {winner['min_segment_stability']:.2f}); every segment differs from everyone "
        f"by at least {winner['distinctness']:.2f} sd on some feature; Calinski-Harabasz "
        f"{winner['calinski_harabasz']:,.0f}; Davies-Bouldin {winner['davies_bouldin']:.3f}"
        + (f"; BIC {winner['bic']:,.0f}" if pd.notna(winner["bic"]) else "")
        + f"; smallest segment {winner['smallest_segment_share']:.1%} of customers"
    )
    pool = "candidates in the running"
    if ranking.regime == "marketing partition" and not ranking.fell_back:
        low, high = rule.marketing_range
        parts.append(
            f"Chose {candidate_label(winner)} as a partition for action: the finest of the "
            f"{ranking.in_running} {pool} (k {low}-{high}, every segment at least "
            f"{rule.min_distinctness:.1f} sd from everyone on some feature, at least "
            f"{minimum_customers:,} customers each) whose stability is within "
            f"{rule.stability_tolerance:.2f} of the most stable one's: {scores}."
        )
    else:
        if ranking.fell_back:
            parts.append(
                "No partition in the marketing range had every segment clearly different "
                "from everyone, so the silhouette decided among the eligible candidates."
            )
        elif ranking.regime == "fixed k":
            parts.append(f"The number of segments was given (k={winner['k']}).")
        note = f" ({winner['reason']})" if winner["reason"] != "chosen" else ""
        parts.append(
            f"Chose {candidate_label(winner)}{note}: the best silhouette of the "
            f"{ranking.in_running} {pool}: {scores}."
        )
    if ranking.relaxed:
        parts.append(
            f"No candidate reached stability {min_stability:.2f}, so the rule was relaxed to "
            "every eligible candidate: treat these segments with care."
        )
    runners = ranked.iloc[1:4]
    if len(runners):
        parts.append(
            "Runners-up: "
            + "; ".join(
                f"{candidate_label(r)} (silhouette {r['silhouette']:.3f}, stability "
                f"{r['stability']:.2f}): {r['reason']}"
                for _, r in runners.iterrows()
            )
            + "."
        )
    better = ranked.iloc[4:][ranked.iloc[4:]["silhouette"] > winner["silhouette"]]
    if len(better):
        parts.append(
            "Higher silhouette but set aside: "
            + "; ".join(f"{candidate_label(r)} ({r['silhouette']:.3f}): {r['reason']}"
                        for _, r in better.head(3).iterrows())
            + "."
        )
    eligible = int(ranked["eligible"].sum())
    parts.append(
        f"{len(ranked)} candidates scored ({eligible} eligible; minimum segment "
        f"{minimum_customers:,} customers) on {sizes['search']:,} of {sizes['customers']:,} "
        f"customers (silhouette on {sizes['silhouette']:,}, stability on "
        f"{sizes['stability']:,}); the winner was refitted on {sizes['refit']:,}."
    )
    return " ".join(parts)
