"""Personalised recommendations in one call: :func:`recommend_items`.

For each customer, the top-N stores (or categories) they have not used yet, from an
implicit-feedback collaborative method chosen by an offline evaluation on a time split in
the same run, with segment popularity for customers without (enough) history, and the
reason for each suggestion. Heavy data stays in DuckDB: the uses table (one row per
customer x item), the Gram matrix and the popularity counts are computed there; Python
holds per-item and per-item-pair arrays and one block of customers at a time.

Examples
--------
>>> import duckdb
>>> recommend_items(duckdb.connect()).message.split(":")[0]
'No purchases'
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Literal

import duckdb
import pandas as pd

from mallseg.data.consent import CONSENT_WORDS, ConsentBook, ConsentRule, consent_book
from mallseg.features.sources import inspect_sources
from mallseg.insights.layout.segments import SegmentsInput, segment_view
from mallseg.insights.recommend.evaluation import (
    CANDIDATE_METHODS,
    EASE_PENALTY_GRID,
    Candidate,
    build,
    evaluate_and_choose,
    fit_at,
)
from mallseg.insights.recommend.interactions import (
    ItemKind,
    find_customers,
    interaction_tables,
)
from mallseg.insights.recommend.result import EvaluationReport, RecommendationResult
from mallseg.insights.recommend.serving import (
    OUTPUT_COLUMNS,
    count_sources,
    recommendation_blocks,
    write_recommendations,
)

__all__ = ["MethodChoice", "default_test_days", "recommend_items"]

logger = logging.getLogger(__name__)

MethodChoice = Literal["auto", "ease", "ease_segment", "cooccurrence",
                       "segment_popularity", "global_popularity"]

_NOTHING = ("No purchases: recommendations need a transactions table with customer, store "
            "(or category), purchase time and a positive amount.")
_DEFAULT = Candidate("ease", 0.25)


def default_test_days(span_days: int) -> int:
    """Length of the test (and validation) window: 15% of the period, 7 to 90 days.

    >>> default_test_days(182), default_test_days(20), default_test_days(1000)
    (27, 7, 90)
    """
    return int(min(90, max(7, round(0.15 * span_days))))


def _check(name: str, value: int, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}={value!r} must be an integer >= {low}")


def recommend_items(
    connection: duckdb.DuckDBPyConnection,
    segments: SegmentsInput = None,
    *,
    item: ItemKind = "store",
    top_n: int = 5,
    method: MethodChoice = "auto",
    evaluate: bool = True,
    test_days: int | None = None,
    min_history: int = 2,
    max_items: int = 5000,
    customers: Sequence[str] | None = None,
    output_table: str | None = None,
    max_eval_customers: int = 20_000,
    seed: int = 0,
    hit_k: int = 5,
    ndcg_k: int = 10,
    customer_col: str = "customer_id",
    segment_col: str | None = None,
    consent: ConsentRule | None = None,
) -> RecommendationResult:
    """Top-N unused stores (or categories) per customer, with reasons and an evaluation.

    Parameters
    ----------
    connection:
        DuckDB connection holding the canonical tables.
    segments:
        ``customer_id -> segment`` (frame, series or DuckDB relation; see
        :func:`~mallseg.insights.layout.segments.segment_view`) for the segment-popularity
        fallback and baseline, or ``None`` (then the fallback is overall popularity).
    item:
        ``store`` or ``category``.
    top_n:
        Recommendations per customer.
    method:
        ``auto`` (chosen by the evaluation), or one of ``ease``, ``ease_segment`` (EASE
        with the segment as side information), ``cooccurrence``, ``segment_popularity``,
        ``global_popularity``.
    evaluate:
        Run the time-split evaluation (needed for ``auto``; without it ``auto`` is EASE).
    test_days:
        Test and validation window length; by default 15% of the period (7-90 days).
    min_history:
        Customers with fewer used items get the method the evaluation found best for
        them (the collaborative method or segment popularity).
    max_items:
        Most items a collaborative model holds (the most used ones): EASE inverts an
        items x items matrix.
    customers:
        Only these customers (default: every customer who bought or has a segment).
    output_table:
        Write the recommendations to this database table (replaced) instead of returning
        them as a frame: for millions of customers.
    max_eval_customers:
        Customers sampled (seeded) per evaluation window.
    seed:
        Seed of the evaluation samples.
    hit_k, ndcg_k:
        Cut-offs of the hit rate and of NDCG (and of coverage).
    customer_col, segment_col:
        Columns of ``segments``.
    consent:
        A marketing consent rule (:mod:`mallseg.data.consent`): customers it does not
        allow get no recommendations, and are counted in ``excluded_without_consent``.
        ``None`` (the default, for in-app use and evaluation) recommends to everyone.

    Returns
    -------
    RecommendationResult

    Raises
    ------
    ValueError
        For a parameter out of range, unusable segments, or an evaluation the period is
        too short for (the message says which ``test_days`` would do).

    Examples
    --------
    >>> import duckdb, pandas as pd
    >>> rows = ([(f"a{i}", s) for i in range(10) for s in ("S1", "S2", "S3")]
    ...         + [(f"b{i}", s) for i in range(10) for s in ("S4", "S5")]
    ...         + [("new", "S1"), ("new", "S2")])
    >>> frame = pd.DataFrame(rows, columns=["customer_id", "store_id"]).assign(
    ...     purchased_at=pd.Timestamp("2026-01-01"), amount=10.0)
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE transactions AS SELECT * FROM frame")
    >>> result = recommend_items(con, evaluate=False, customers=["new"], top_n=1)
    >>> first = result.for_customer("new")[0]
    >>> first["item"], first["source"]
    ('S3', 'ease')
    >>> print(first["reason"])
    Customers like you, who shop at S1, also shop at S3: 91% of S1's customers do (10 customers).
    """
    if method not in ("auto", *CANDIDATE_METHODS):
        raise ValueError(f"method={method!r} must be 'auto' or one of "
                         f"{', '.join(CANDIDATE_METHODS)}")
    for name, value, low in (("top_n", top_n, 1), ("min_history", min_history, 1),
                             ("max_items", max_items, 2),
                             ("max_eval_customers", max_eval_customers, 1),
                             ("hit_k", hit_k, 1), ("ndcg_k", ndcg_k, 1)):
        _check(name, value, low)
    if test_days is not None:
        _check("test_days", test_days, 1)
    sources = inspect_sources(connection)
    if not sources.has("transactions"):
        return RecommendationResult(item, top_n, None, None, None, None, 0, {}, _NOTHING)
    notes: list[str] = []
    with segment_view(connection, segments, customer_col=customer_col,
                      segment_col=segment_col) as view, \
            interaction_tables(connection, sources, item=item, segments_view=view) as tables:
        if tables.uses == 0 or tables.period_start is None or tables.period_end is None:
            return RecommendationResult(item, top_n, None, None, None, None, 0, {}, _NOTHING)
        n_items = min(tables.n_items, max_items)
        if n_items < tables.n_items:
            notes.append(f"{tables.n_items - n_items:,} rarely used items of "
                         f"{tables.n_items:,} are left out of the model (max_items="
                         f"{max_items}).")
        report: EvaluationReport | None = None
        chosen = _DEFAULT if method == "auto" else Candidate(
            method, 0.25 if method.startswith("ease") else None)
        sparse_method = "segment_popularity"
        if evaluate:
            span = (tables.period_end - tables.period_start).days
            days = test_days if test_days is not None else default_test_days(span)
            methods = CANDIDATE_METHODS if method == "auto" else (method,)
            report, chosen = evaluate_and_choose(
                connection, tables, n_items, item_kind=item, test_days=days,
                methods=methods, penalty_grid=EASE_PENALTY_GRID, min_history=min_history,
                max_eval_customers=max_eval_customers, seed=seed, hit_k=hit_k,
                ndcg_k=ndcg_k, coverage_k=ndcg_k)
            sparse_method = report.sparse_method
        elif method == "auto":
            notes.append("Not evaluated: EASE is used without a check against popularity.")
        gram, pops = fit_at(connection, tables, None, n_items)
        model = build(chosen, gram, pops, tables, n_items, item_kind=item,
                      min_history=min_history, sparse_method=sparse_method)
        selected = None
        if customers is not None:
            selected, unknown = find_customers(connection, tables, list(customers))
            if unknown:
                notes.append(f"{len(unknown):,} customers asked for are unknown (no purchase "
                             f"and no segment), e.g. {unknown[0]!r}: no recommendations.")
        blocks = recommendation_blocks(connection, tables, model, top_n, selected)
        excluded = [0]
        if consent is not None:
            blocks = _consenting(blocks, consent_book(connection, consent), excluded)
        if output_table is not None:
            served, by_source = write_recommendations(connection, output_table, blocks)
            frame = None
        else:
            parts = list(blocks)
            frame = (pd.concat(parts, ignore_index=True) if parts
                     else pd.DataFrame(columns=list(OUTPUT_COLUMNS)))
            by_source = {}
            count_sources(frame, by_source)
            served = int(frame["customer_id"].nunique())
    if excluded[0]:
        notes.append(f"{excluded[0]:,} customers get no recommendations for want of "
                     f"marketing consent (rule {consent}: {CONSENT_WORDS[str(consent)]}).")
    logger.info("recommend: %s for %d customers (%s)", model.method, served, by_source)
    return RecommendationResult(
        item_kind=item, top_n=top_n, model=model, evaluation=report,
        recommendations=frame, output_table=output_table, customers=served,
        by_source=by_source, notes=tuple(notes), excluded_without_consent=excluded[0],
    )


def _consenting(blocks: Iterator[pd.DataFrame], book: ConsentBook,
                excluded: list[int]) -> Iterator[pd.DataFrame]:
    """The blocks without the customers ``book`` keeps out (counted into ``excluded``)."""
    for frame in blocks:
        ids = frame["customer_id"].astype(str)
        allowed = ids.map(book.allows).to_numpy(dtype=bool)
        excluded[0] += int(ids[~allowed].nunique())
        kept = frame.loc[allowed].reset_index(drop=True)
        if len(kept):
            yield kept
