"""A fitted recommender: top-N unused items for customers, each with the reason in words.

The model holds everything scoring needs, all per item or per item pair (a few hundred
stores: kilobytes): the item-item weights of its method, the co-use counts behind the
reasons, and item popularity overall and per segment. Customers are scored in blocks of
rows; a block's scores are ``history @ weights`` for collaborative methods, or the
popularity of the items in the customer's segment.

Who gets which method
    A customer with at least ``min_history`` used items gets the model's ``method``; one
    with fewer but some gets ``sparse_method`` (chosen by the evaluation: the method, or
    segment popularity); a customer without history gets segment popularity. Items the
    customer already used are never recommended.
Segment popularity
    Share of the segment's buying customers who use the item, shrunk towards the overall
    share with the weight of 10 customers, ``(n_si + 10 p_i) / (n_s + 10)``, so that a
    small segment does not recommend what two of its members happen to use.
Ties
    A tiny multiple of overall popularity is added to every score, so that items a
    collaborative method has no opinion on come in order of popularity.

Examples
--------
>>> import numpy as np
>>> model = fit_model("cooccurrence", {}, gram=np.array([[3.0, 2.0, 0.0], [2.0, 2.0, 0.0],
...                   [0.0, 0.0, 4.0]]), items=("S1", "S2", "S3"),
...                   labels=("Nova Shoes", "Fern Cafe", "Pine Books"),
...                   global_counts=np.array([3.0, 2.0, 4.0]), customers=7,
...                   segments=("All customers",), segment_counts=np.array([[3.0, 2.0, 4.0]]),
...                   segment_sizes=np.array([7.0]), item_kind="store", min_history=1)
>>> first = model.recommend(["S1"], n=2)[0]
>>> first.item, first.source
('S2', 'cooccurrence')
>>> print(first.reason)  # doctest: +NORMALIZE_WHITESPACE
Customers like you, who shop at Nova Shoes, also shop at Fern Cafe: 67% of Nova Shoes's
customers do (2 customers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from mallseg.insights.layout.segments import ALL_CUSTOMERS
from mallseg.insights.recommend.item_weights import cooccurrence_weights, ease_weights

__all__ = [
    "COLLABORATIVE",
    "POPULARITY",
    "Recommendation",
    "RecommenderModel",
    "fit_model",
    "segment_gram",
]

COLLABORATIVE = ("ease", "ease_segment", "cooccurrence")
POPULARITY = ("segment_popularity", "global_popularity")
_SHRINK = 10.0
_TIE = 1e-6


@dataclass(frozen=True)
class Recommendation:
    """One suggested item for one customer, with the reason and the figures behind it."""

    rank: int
    item: str
    label: str
    score: float
    source: str
    """The method that ranked it: ``ease``, ``ease_segment``, ``cooccurrence``,
    ``segment_popularity`` or ``global_popularity``."""
    reason: str
    because_of: str | None = None
    """The customer's own item the suggestion follows from (collaborative methods)."""
    co_customers: int | None = None
    """Customers who use both ``because_of`` and the item."""
    share: float | None = None
    """``co_customers`` over the customers of ``because_of``; for popularity, the share of
    the segment (or of everyone) using the item."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"rank": self.rank, "item": self.item, "label": self.label,
                "score": self.score, "source": self.source, "reason": self.reason,
                "because_of": self.because_of, "co_customers": self.co_customers,
                "share": self.share}


@dataclass(frozen=True)
class RecommenderModel:
    """Item-item weights, co-use counts and popularity: all a recommendation needs."""

    method: str
    params: Mapping[str, float]
    items: tuple[str, ...]
    labels: tuple[str, ...]
    weights: np.ndarray | None
    gram: np.ndarray
    global_counts: np.ndarray
    customers: int
    segments: tuple[str, ...]
    segment_counts: np.ndarray
    segment_sizes: np.ndarray
    item_kind: str = "store"
    min_history: int = 2
    sparse_method: str = "segment_popularity"
    _index: dict[str, int] = field(default_factory=dict, init=False, repr=False,
                                   compare=False)

    def __post_init__(self) -> None:
        self._index.update({item: k for k, item in enumerate(self.items)})

    @property
    def n_items(self) -> int:
        """Items the model can recommend."""
        return len(self.items)

    def global_share(self) -> np.ndarray:
        """Share of all buying customers using each item."""
        return self.global_counts / max(self.customers, 1)

    def segment_share(self) -> np.ndarray:
        """(segments + 1, items) shrunk share of each segment's customers using each item.

        The last row is the overall share: the row of segment index -1 (no known segment).
        """
        prior = self.global_share()[None, :]
        shares = ((self.segment_counts + _SHRINK * prior)
                  / (self.segment_sizes[:, None] + _SHRINK))
        return np.vstack([shares, prior])

    def method_scores(self, method: str, history: sp.csr_matrix,
                      sidx: np.ndarray) -> np.ndarray:
        """Raw scores of every item under ``method`` (used items not yet masked)."""
        tie = _TIE * self.global_share()[None, :]
        if method == "global_popularity":
            return np.repeat(self.global_share()[None, :], history.shape[0], axis=0)
        if method == "segment_popularity":
            return self.segment_share()[sidx] + tie
        weights = self._weights_for(method)
        return np.asarray(self._design(method, history, sidx) @ weights) + tie

    def _design(self, method: str, history: sp.csr_matrix, sidx: np.ndarray) -> sp.csr_matrix:
        """The rows the weights apply to: the history, plus the segment for ease_segment."""
        if method != "ease_segment":
            return history
        known = np.flatnonzero(sidx >= 0)
        onehot = sp.csr_matrix((np.ones(len(known)), (known, sidx[known])),
                               shape=(len(sidx), len(self.segments)))
        return sp.hstack([history, onehot], format="csr")

    def _weights_for(self, method: str) -> np.ndarray:
        if method == self.method and self.weights is not None:
            return self.weights
        if method == "cooccurrence":
            return cooccurrence_weights(self.gram)
        raise ValueError(f"method={method!r} is not available in a model fitted with "
                         f"{self.method!r}")

    def sources(self, history: sp.csr_matrix) -> np.ndarray:
        """The method each customer's row is scored with (see the module notes)."""
        size = np.diff(history.indptr)
        return np.where(size == 0, "segment_popularity",
                        np.where(size < self.min_history, self.sparse_method, self.method))

    def top_n(self, history: sp.csr_matrix, sidx: np.ndarray, n: int,
              sources: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top ``n`` unused items of each row: (item indices, scores, sources).

        Rows with fewer unused items are padded with index -1 and score NaN.
        """
        if sources is None:
            sources = self.sources(history)
        rows = history.shape[0]
        scores = np.empty((rows, self.n_items))
        for method in np.unique(sources):
            mask = sources == method
            scores[mask] = self.method_scores(str(method), history[mask], sidx[mask])
        used = history.toarray() > 0
        scores[used] = -np.inf
        k = min(n, self.n_items)
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k else np.zeros((rows, 0), int)
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.lexsort((part, -part_scores), axis=1)
        top = np.take_along_axis(part, order, axis=1)
        top_scores = np.take_along_axis(part_scores, order, axis=1)
        if k < n:
            top = np.hstack([top, np.full((rows, n - k), -1)])
            top_scores = np.hstack([top_scores, np.full((rows, n - k), -np.inf)])
        empty = ~np.isfinite(top_scores)
        top[empty] = -1
        top_scores[empty] = np.nan
        return top, top_scores, sources

    def explain(self, history: sp.csr_matrix, sidx: np.ndarray, top: np.ndarray,
                sources: np.ndarray) -> pd.DataFrame:
        """The reason of every (row, rank) of ``top``, as columns of a long frame.

        Columns: ``row, rank, because_of_index, co_customers, share, kind`` where ``kind``
        is ``similar`` (a collaborative reason) or ``popular`` (segment) or ``global``.
        """
        rows, n = top.shape
        dense = history.toarray() > 0
        because = np.full((rows, n), -1)
        co = np.zeros((rows, n))
        share = np.full((rows, n), np.nan)
        kind = np.full((rows, n), "popular", dtype=object)
        kind[sources == "global_popularity"] = "global"
        collab = np.isin(sources, COLLABORATIVE)
        seg_share = self.segment_share()
        glob = self.global_share()
        for r in range(n):
            items = top[:, r]
            valid = items >= 0
            safe = np.where(valid, items, 0)
            if collab.any():
                rows_c = np.flatnonzero(collab & valid)
                weights = self._weights_for(str(self.method))
                targets = safe[rows_c]
                contrib = np.where(dense[rows_c], weights[:self.n_items, targets].T, -np.inf)
                best = np.argmax(contrib, axis=1)
                best_w = contrib[np.arange(len(rows_c)), best]
                co_n = self.gram[best, targets]
                ok = (best_w > 0) & (co_n > 0)
                if self.method == "ease_segment":
                    # The segment's own weight can be the larger reason: say so instead.
                    seg = sidx[rows_c]
                    seg_w = np.where(seg >= 0, weights[self.n_items + np.maximum(seg, 0),
                                                       targets], -np.inf)
                    ok &= best_w >= seg_w
                because[rows_c[ok], r] = best[ok]
                co[rows_c[ok], r] = co_n[ok]
                base = self.gram[best[ok], best[ok]]
                share[rows_c[ok], r] = co_n[ok] / np.maximum(base, 1)
                kind[rows_c[ok], r] = "similar"
            popular = (kind[:, r] == "popular") & valid
            share[popular, r] = seg_share[sidx[popular], safe[popular]]
            is_global = (kind[:, r] == "global") & valid
            share[is_global, r] = glob[safe[is_global]]
        return pd.DataFrame({
            "row": np.repeat(np.arange(rows), n), "rank": np.tile(np.arange(1, n + 1), rows),
            "because_of_index": because.ravel(), "co_customers": co.ravel().astype(np.int64),
            "share": share.ravel(), "kind": kind.ravel(),
        })

    def reasons(self, explained: pd.DataFrame, sidx: np.ndarray,
                top: np.ndarray) -> pd.Series:
        """The reason sentences of :meth:`explain`'s rows."""
        labels = np.asarray(self.labels, dtype=object)
        item = top.ravel()
        label = pd.Series(np.where(item >= 0, labels[np.maximum(item, 0)], ""), dtype=object)
        because = explained["because_of_index"].to_numpy()
        because_label = pd.Series(np.where(because >= 0, labels[np.maximum(because, 0)], ""),
                                  dtype=object)
        percent = (explained["share"].fillna(0) * 100).round().astype(int).astype(str) + "%"
        verb = "shop at " if self.item_kind == "store" else "shop in "
        names = np.asarray([*self.segments, ALL_CUSTOMERS], dtype=object)
        segment = pd.Series(names[np.repeat(sidx, top.shape[1])], dtype=object)
        similar = ("Customers like you, who " + verb + because_label + ", also " + verb
                   + label + ": " + percent + " of " + because_label + "'s customers do ("
                   + explained["co_customers"].map("{:,}".format) + " customers).")
        whole = segment == ALL_CUSTOMERS
        popular = np.where(
            whole, "Popular with all customers: " + percent + " of them " + verb + label + ".",
            "Popular with " + segment + ": " + percent + " of its customers " + verb + label
            + ".")
        glob = "Popular with all customers: " + percent + " of them " + verb + label + "."
        kind = explained["kind"].to_numpy()
        text = np.where(kind == "similar", similar, np.where(kind == "global", glob, popular))
        return pd.Series(np.where(item >= 0, text, ""), dtype=object)

    def recommend(self, used: Sequence[str], segment: str | None = None,
                  n: int = 5) -> tuple[Recommendation, ...]:
        """Top ``n`` recommendations for one customer who used ``used`` (live scoring).

        Unknown items in ``used`` are ignored; with no ``segment`` or one the model does not
        know, the customer is scored without one (overall popularity where a segment's
        would be used).
        """
        cols = sorted({self._index[u] for u in used if u in self._index})
        history = sp.csr_matrix((np.ones(len(cols)), ([0] * len(cols), cols)),
                                shape=(1, self.n_items))
        known = segment is not None and segment in self.segments
        sidx = np.array([self.segments.index(str(segment)) if known else -1])
        top, scores, src = self.top_n(history, sidx, n)
        explained = self.explain(history, sidx, top, src)
        text = self.reasons(explained, sidx, top)
        out = []
        for r in range(top.shape[1]):
            i = int(top[0, r])
            if i < 0:
                continue
            row = explained.iloc[r]
            b = int(row["because_of_index"])
            out.append(Recommendation(
                rank=r + 1, item=self.items[i], label=self.labels[i],
                score=round(float(scores[0, r]), 6), source=str(src[0]), reason=str(text[r]),
                because_of=self.items[b] if b >= 0 else None,
                co_customers=int(row["co_customers"]) if b >= 0 else None,
                share=None if pd.isna(row["share"]) else round(float(row["share"]), 4),
            ))
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        """What the model is (not its matrices): plain JSON types."""
        return {"method": self.method, "params": dict(self.params),
                "items": len(self.items), "item_kind": self.item_kind,
                "customers": int(self.customers), "segments": list(self.segments),
                "min_history": self.min_history, "sparse_method": self.sparse_method}


def segment_gram(gram: np.ndarray, segment_counts: np.ndarray,
                 segment_sizes: np.ndarray) -> np.ndarray:
    """The Gram matrix of items and segments (segment membership as extra columns).

    >>> import numpy as np
    >>> segment_gram(np.array([[2.0]]), np.array([[1.0], [1.0]]), np.array([3.0, 4.0]))
    array([[2., 1., 1.],
           [1., 3., 0.],
           [1., 0., 4.]])
    """
    top = np.hstack([gram, segment_counts.T])
    bottom = np.hstack([segment_counts, np.diag(segment_sizes)])
    return np.vstack([top, bottom])


def fit_model(
    method: str,
    params: Mapping[str, float],
    *,
    gram: np.ndarray,
    items: tuple[str, ...],
    labels: tuple[str, ...],
    global_counts: np.ndarray,
    customers: int,
    segments: tuple[str, ...],
    segment_counts: np.ndarray,
    segment_sizes: np.ndarray,
    item_kind: str,
    min_history: int = 2,
    sparse_method: str = "segment_popularity",
) -> RecommenderModel:
    """Fit ``method`` (``ease``, ``ease_segment``, ``cooccurrence`` or a popularity).

    ``ease`` and ``ease_segment`` take their ridge penalty from ``params["l2"]``.

    ``ease_segment`` is EASE over the items and the customer's segment as extra input
    columns (side information): it learns both "customers who use A use B" and "customers
    of this segment use B", and never recommends a segment.

    Raises
    ------
    ValueError
        For an unknown method.
    """
    if method == "ease":
        weights: np.ndarray | None = ease_weights(gram, float(params["l2"]))
    elif method == "ease_segment":
        weights = ease_weights(segment_gram(gram, segment_counts, segment_sizes),
                               float(params["l2"]))[:, :len(items)]
    elif method == "cooccurrence":
        weights = cooccurrence_weights(gram)
    elif method in POPULARITY:
        weights = None
    else:
        raise ValueError(f"method={method!r} must be one of "
                         f"{', '.join(COLLABORATIVE + POPULARITY)}")
    return RecommenderModel(
        method=method, params=dict(params), items=items, labels=labels, weights=weights,
        gram=gram, global_counts=global_counts, customers=customers, segments=segments,
        segment_counts=segment_counts, segment_sizes=segment_sizes, item_kind=item_kind,
        min_history=min_history, sparse_method=sparse_method,
    )
