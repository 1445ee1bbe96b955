"""Offline evaluation on a time split, and the choice of method it makes.

Windows
    With the period ending at its latest purchase, the last ``test_days`` days are the test
    window and the ``test_days`` before them the validation window.
Choice
    Every candidate (EASE for each ridge penalty of the grid; EASE with the segment as
    side information, at the penalty that suited EASE best; co-occurrence; segment
    popularity; global popularity) is fitted on the uses before the validation window and
    ranks items for a seeded sample of the customers who first used an item in it. The
    candidate of highest NDCG over customers with history wins (hit rate breaks ties). For
    customers with some history but less than ``min_history`` items, the winner and
    segment popularity are compared on those customers alone, and the better one serves
    them (``sparse_method``).
Report
    The winner, refitted on everything before the test window, is scored on the test
    window as the system serves it (winner, sparse method, segment popularity for customers
    without history) against global popularity and segment popularity, on the same
    customers: ``history`` (with items before the window), ``sparse`` and ``new`` groups.

The EASE penalties are relative to the mean diagonal of the Gram matrix (the customers of
an average item), so that the grid means the same for a mall of 1,000 or 1M customers.

Examples
--------
>>> EASE_PENALTY_GRID
(0.05, 0.25, 1.0, 4.0)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np

from mallseg.insights.recommend.interactions import (
    EvaluationSample,
    InteractionTables,
    evaluation_sample,
    gram_matrix,
    popularity,
)
from mallseg.insights.recommend.metrics import ranking_metrics
from mallseg.insights.recommend.model import RecommenderModel, fit_model
from mallseg.insights.recommend.result import EvaluationReport, MethodScore

__all__ = [
    "CANDIDATE_METHODS",
    "EASE_PENALTY_GRID",
    "Candidate",
    "build",
    "evaluate_and_choose",
    "fit_at",
    "rank_rows",
]

logger = logging.getLogger(__name__)

EASE_PENALTY_GRID: tuple[float, ...] = (0.05, 0.25, 1.0, 4.0)
"""EASE ridge penalties as multiples of the mean diagonal of the Gram matrix."""

CANDIDATE_METHODS: tuple[str, ...] = (
    "ease", "ease_segment", "cooccurrence", "segment_popularity", "global_popularity",
)

_SCORING_CELLS = 4_000_000
"""Scores held at once (rows x items) when ranking in blocks."""


@dataclass(frozen=True)
class Candidate:
    """A method with its parameters (``l2`` as a multiple of the mean Gram diagonal)."""

    method: str
    relative_l2: float | None = None


def fit_at(
    connection: duckdb.DuckDBPyConnection,
    tables: InteractionTables,
    cutoff: datetime | None,
    n_items: int,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Gram matrix and popularity from the uses before ``cutoff`` (all uses if None)."""
    return (gram_matrix(connection, tables, cutoff, n_items),
            popularity(connection, tables, cutoff, n_items))


def build(
    candidate: Candidate,
    gram: np.ndarray,
    pops: tuple[np.ndarray, np.ndarray, np.ndarray],
    tables: InteractionTables,
    n_items: int,
    *,
    item_kind: str,
    min_history: int,
    sparse_method: str | None = None,
) -> RecommenderModel:
    """Fit ``candidate`` on a Gram matrix and popularity counts."""
    global_counts, segment_counts, segment_sizes = pops
    params: dict[str, float] = {}
    if candidate.method in ("ease", "ease_segment"):
        mean_diag = float(np.mean(np.diag(gram))) if n_items else 1.0
        params = {"l2": round(max(candidate.relative_l2 or 1.0, 1e-6) * max(mean_diag, 1.0),
                              3)}
    return fit_model(
        candidate.method, params, gram=gram, items=tables.items[:n_items],
        labels=tables.labels[:n_items], global_counts=global_counts,
        customers=int(segment_sizes.sum()), segments=tables.segments,
        segment_counts=segment_counts, segment_sizes=segment_sizes, item_kind=item_kind,
        min_history=min_history,
        sparse_method=sparse_method or candidate.method,
    )


def rank_rows(model: RecommenderModel, sample: EvaluationSample, width: int,
              sources: np.ndarray) -> np.ndarray:
    """Top ``width`` items of every sample row, in blocks that bound memory."""
    n = sample.history.shape[0]
    block = max(256, _SCORING_CELLS // max(model.n_items, 1))
    out = np.full((n, width), -1, dtype=np.int64)
    for first in range(0, n, block):
        rows = slice(first, min(first + block, n))
        top, _, _ = model.top_n(sample.history[rows], sample.sidx[rows], width,
                                sources[rows])
        out[rows] = top
    return out


def _score(model: RecommenderModel, sample: EvaluationSample, mask: np.ndarray,
           sources: np.ndarray, *, method: str, split: str, group: str, hit_k: int,
           ndcg_k: int, coverage_k: int, params: dict[str, float] | None = None
           ) -> MethodScore:
    width = max(hit_k, ndcg_k, coverage_k)
    rows = np.flatnonzero(mask)
    sub = EvaluationSample(sample.cidx[rows], sample.sidx[rows], sample.history[rows],
                           tuple(sample.relevant[r] for r in rows), sample.history_size[rows])
    top = rank_rows(model, sub, width, sources[rows])
    figures = ranking_metrics(top, sub.relevant, catalogue_size=model.n_items, hit_k=hit_k,
                              ndcg_k=ndcg_k, coverage_k=coverage_k)
    return MethodScore(method, dict(model.params if params is None else params), split,
                       group, figures.customers, figures.hit_rate, figures.ndcg,
                       figures.coverage)


def _day(value: datetime) -> str:
    return value.date().isoformat()


def evaluate_and_choose(
    connection: duckdb.DuckDBPyConnection,
    tables: InteractionTables,
    n_items: int,
    *,
    item_kind: str,
    test_days: int,
    methods: Sequence[str] = CANDIDATE_METHODS,
    penalty_grid: Sequence[float] = EASE_PENALTY_GRID,
    min_history: int = 2,
    max_eval_customers: int = 20_000,
    seed: int = 0,
    hit_k: int = 5,
    ndcg_k: int = 10,
    coverage_k: int = 10,
) -> tuple[EvaluationReport, Candidate]:
    """Choose a method on the validation window and report it on the test window.

    Returns
    -------
    (EvaluationReport, Candidate)
        The report and the winning candidate (to refit on all the data).

    Raises
    ------
    ValueError
        When the period is too short for two windows of ``test_days`` after some history,
        or no customer first used an item in a window.
    """
    if tables.period_start is None or tables.period_end is None:
        raise ValueError("no purchases to evaluate on")
    end = tables.period_end
    test_start = end - timedelta(days=test_days)
    valid_start = test_start - timedelta(days=test_days)
    if valid_start <= tables.period_start:
        span = (end - tables.period_start).days
        raise ValueError(
            f"test_days={test_days} leaves no history before the validation window: the "
            f"purchases span {span} days, and evaluation needs more than 2 x test_days; "
            "pass a smaller test_days or evaluate=False"
        )
    window_end = end + timedelta(seconds=1)
    several = len(tables.segments) > 1
    grid = [Candidate("ease", f) for f in penalty_grid] if "ease" in methods else []
    later = [Candidate(m) for m in methods if m not in ("ease", "ease_segment")]
    if not grid and not later and "ease_segment" not in methods:
        raise ValueError(f"methods={list(methods)!r} must name at least one of "
                         f"{', '.join(CANDIDATE_METHODS)}")
    kw: dict[str, Any] = {"hit_k": hit_k, "ndcg_k": ndcg_k, "coverage_k": coverage_k}

    # --- validation: choose ---------------------------------------------------------
    gram, pops = fit_at(connection, tables, valid_start, n_items)
    sample = evaluation_sample(connection, tables, valid_start, test_start, n_items,
                               max_customers=max_eval_customers, seed=seed)
    if not len(sample.cidx):
        raise ValueError("no customer first used an item in the validation window "
                         f"({_day(valid_start)} to {_day(test_start)}): pass a larger "
                         "test_days")
    with_history = sample.history_size > 0
    validation: list[MethodScore] = []
    fitted: list[tuple[Candidate, RecommenderModel, MethodScore]] = []
    def run(cand: Candidate) -> None:
        model = build(cand, gram, pops, tables, n_items, item_kind=item_kind,
                      min_history=min_history)
        forced = np.full(len(sample.cidx), cand.method)
        score = _score(model, sample, with_history, forced, method=cand.method,
                       split="validation", group="history", **kw)
        validation.append(score)
        fitted.append((cand, model, score))

    for cand in grid:
        run(cand)
    if "ease_segment" in methods and several:
        ease_runs = [f for f in fitted if f[0].method == "ease"]
        best_l2 = max(ease_runs, key=lambda f: (f[2].ndcg, f[2].hit_rate))[0].relative_l2 \
            if ease_runs else penalty_grid[len(penalty_grid) // 2]
        run(Candidate("ease_segment", best_l2))
    for cand in later:
        run(cand)
    if not fitted:
        raise ValueError("methods=['ease_segment'] needs segments (more than one)")
    best_cand, best_model, _ = max(fitted, key=lambda f: (f[2].ndcg, f[2].hit_rate))
    sparse = with_history & (sample.history_size < min_history)
    sparse_method = "segment_popularity"
    if best_cand.method != "segment_popularity" and sparse.any():
        own = _score(best_model, sample, sparse, np.full(len(sample.cidx), best_cand.method),
                     method=best_cand.method, split="validation", group="sparse", **kw)
        seg_model = build(Candidate("segment_popularity"), gram, pops, tables, n_items,
                          item_kind=item_kind, min_history=min_history)
        seg = _score(seg_model, sample, sparse,
                     np.full(len(sample.cidx), "segment_popularity"),
                     method="segment_popularity", split="validation", group="sparse", **kw)
        validation += [own, seg]
        if (own.ndcg, own.hit_rate) > (seg.ndcg, seg.hit_rate):
            sparse_method = best_cand.method
    elif best_cand.method != "segment_popularity":
        sparse_method = best_cand.method
    logger.info("recommend: validation chose %s (sparse customers: %s)",
                best_cand.method, sparse_method)

    # --- test: report ---------------------------------------------------------------
    gram, pops = fit_at(connection, tables, test_start, n_items)
    sample = evaluation_sample(connection, tables, test_start, window_end, n_items,
                               max_customers=max_eval_customers, seed=seed + 1)
    system = build(best_cand, gram, pops, tables, n_items, item_kind=item_kind,
                   min_history=min_history, sparse_method=sparse_method)
    baselines = {m: build(Candidate(m), gram, pops, tables, n_items, item_kind=item_kind,
                          min_history=min_history)
                 for m in ("global_popularity", "segment_popularity")}
    groups = {
        "history": sample.history_size > 0,
        "sparse": (sample.history_size > 0) & (sample.history_size < min_history),
        "new": sample.history_size == 0,
    }
    test: list[MethodScore] = []
    routed = system.sources(sample.history)
    # A customer whose only items lie outside the catalogue has an empty catalogue row:
    # route them as customers with some history (the system cannot tell them apart).
    for group, mask in groups.items():
        if not mask.any():
            continue
        test.append(_score(system, sample, mask, routed, method="system", split="test",
                           group=group, **kw))
        for name, model in baselines.items():
            test.append(_score(model, sample, mask, np.full(len(sample.cidx), name),
                               method=name, split="test", group=group, **kw))
    report = EvaluationReport(
        item_kind=item_kind, hit_k=hit_k, ndcg_k=ndcg_k, coverage_k=coverage_k,
        period_start=_day(tables.period_start), period_end=_day(end),
        validation_start=_day(valid_start), test_start=_day(test_start),
        test_days=test_days, chosen=best_cand.method, chosen_params=dict(system.params),
        sparse_method=sparse_method, min_history=min_history,
        validation=tuple(validation), test=tuple(test),
    )
    return report, best_cand
