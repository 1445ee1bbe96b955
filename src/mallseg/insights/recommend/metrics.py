"""Offline ranking metrics: hit rate at k, NDCG at k and catalogue coverage.

Each evaluated customer has a ranked list of recommended items (item indices, ``-1`` where
the list is shorter) and a set of relevant items (the items they went on to use for the
first time in the test window).

- Hit rate at k: share of customers with at least one relevant item in their first k.
- NDCG at k: binary gain ``1 / log2(rank + 1)`` summed over relevant items in the first k,
  divided by the best possible (all relevant items first), averaged over customers.
- Coverage: share of the catalogue recommended to at least one customer (in the first
  ``coverage_k``): a model that shows everyone the same few stores covers little.

Examples
--------
>>> import numpy as np
>>> top = np.array([[3, 1, 2], [0, 1, 2]])
>>> relevant = [{1}, {5}]
>>> m = ranking_metrics(top, relevant, catalogue_size=6, hit_k=2, ndcg_k=3, coverage_k=3)
>>> m.hit_rate, m.ndcg, m.coverage
(0.5, 0.3155, 0.6667)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["RankingFigures", "ranking_metrics"]

_ROUND = 4


@dataclass(frozen=True)
class RankingFigures:
    """Hit rate, NDCG and coverage of one method on one set of customers."""

    customers: int
    hit_rate: float
    ndcg: float
    coverage: float
    hits: int
    """Customers with a hit (hit rate = hits / customers)."""


def ranking_metrics(
    top: np.ndarray,
    relevant: Sequence[set[int]],
    *,
    catalogue_size: int,
    hit_k: int = 5,
    ndcg_k: int = 10,
    coverage_k: int = 10,
) -> RankingFigures:
    """Hit rate at ``hit_k``, NDCG at ``ndcg_k`` and coverage of the first ``coverage_k``.

    Parameters
    ----------
    top:
        (customers, K) recommended item indices, best first; ``-1`` pads short lists.
    relevant:
        For each customer, the indices of the items that count as right.
    catalogue_size:
        Items that could be recommended.
    hit_k, ndcg_k, coverage_k:
        Cut-offs (each at most K).

    Examples
    --------
    >>> import numpy as np
    >>> ranking_metrics(np.zeros((0, 10), dtype=int), [], catalogue_size=5).customers
    0
    """
    n = len(relevant)
    if top.shape[0] != n:
        raise ValueError(f"top has {top.shape[0]} rows for {n} customers")
    if max(hit_k, ndcg_k, coverage_k) > top.shape[1]:
        raise ValueError(f"cut-offs {hit_k}, {ndcg_k}, {coverage_k} exceed the "
                         f"{top.shape[1]} items ranked")
    if n == 0:
        return RankingFigures(0, 0.0, 0.0, 0.0, 0)
    width = max(hit_k, ndcg_k)
    # One membership test for all (customer, item) pairs: keys customer * M + item.
    span = int(max(top.max(initial=0), max((max(r) for r in relevant if r), default=0))) + 1
    rel_keys = np.fromiter((row * span + item for row, items in enumerate(relevant)
                            for item in items), dtype=np.int64)
    shown_keys = np.arange(n, dtype=np.int64)[:, None] * span + top[:, :width]
    hit = np.isin(shown_keys, rel_keys) & (top[:, :width] >= 0)
    hits = int(hit[:, :hit_k].any(axis=1).sum())
    discount = 1.0 / np.log2(np.arange(2, ndcg_k + 2))
    dcg = (hit[:, :ndcg_k] * discount).sum(axis=1)
    sizes = np.minimum([len(items) for items in relevant], ndcg_k)
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[sizes]
    ndcg = np.divide(dcg, ideal, out=np.zeros(n), where=ideal > 0)
    shown = top[:, :coverage_k]
    covered = len(np.unique(shown[shown >= 0]))
    return RankingFigures(
        customers=n, hit_rate=round(hits / n, _ROUND), ndcg=round(float(ndcg.mean()), _ROUND),
        coverage=round(covered / catalogue_size, _ROUND) if catalogue_size else 0.0,
        hits=hits,
    )
