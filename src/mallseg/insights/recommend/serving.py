"""Recommendations for many customers, block by block, into a frame or a database table.

Customers are taken in blocks of consecutive indices: a block's histories come from the
database (one range query on the ``uses`` table, which is ordered by customer), are
scored and explained in numpy, and leave as rows ``customer_id, rank, item, label, score,
source, reason, because_of, co_customers, share``. Memory is bounded by the block, never
by the number of customers.

Examples
--------
>>> OUTPUT_COLUMNS[:4]
('customer_id', 'rank', 'item', 'label')
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import numpy as np
import pandas as pd
import scipy.sparse as sp

from mallseg.core.sql_text import quote_identifier
from mallseg.insights.recommend.interactions import (
    InteractionTables,
    customer_block,
    histories,
)
from mallseg.insights.recommend.model import RecommenderModel

__all__ = ["OUTPUT_COLUMNS", "count_sources", "recommendation_blocks", "write_recommendations"]

OUTPUT_COLUMNS = ("customer_id", "rank", "item", "label", "score", "source", "reason",
                  "because_of", "co_customers", "share")
_SCORING_CELLS = 4_000_000


def _block_size(n_items: int) -> int:
    return max(256, min(50_000, _SCORING_CELLS // max(n_items, 1)))


def recommendation_blocks(
    connection: duckdb.DuckDBPyConnection,
    tables: InteractionTables,
    model: RecommenderModel,
    top_n: int,
    selected: np.ndarray | None = None,
) -> Iterator[pd.DataFrame]:
    """Frames of recommendations, one per block of customers (all, or ``selected``)."""
    block = _block_size(model.n_items)
    starts: list[tuple[int, int]] = []
    if selected is None:
        starts = [(a, min(a + block, tables.n_customers))
                  for a in range(0, tables.n_customers, block)]
    else:
        for k in range(0, len(selected), block):
            part = selected[k:k + block]
            starts.append((int(part[0]), int(part[-1]) + 1))
    for first, stop in starts:
        hist = histories(connection, tables, first, stop, model.n_items)
        ids, sidx = customer_block(connection, tables, first, stop)
        if selected is not None:
            keep = np.flatnonzero(np.isin(np.arange(first, stop), selected))
            hist, ids, sidx = hist[keep], ids[keep], sidx[keep]
        if hist.shape[0] == 0:
            continue
        yield _frame(model, hist, ids, sidx, top_n)


def _frame(model: RecommenderModel, hist: sp.csr_matrix, ids: np.ndarray, sidx: np.ndarray,
           top_n: int) -> pd.DataFrame:
    top, scores, sources = model.top_n(hist, sidx, top_n)
    explained = model.explain(hist, sidx, top, sources)
    reasons = model.reasons(explained, sidx, top)
    items = np.asarray(model.items, dtype=object)
    labels = np.asarray(model.labels, dtype=object)
    flat = top.ravel()
    because = explained["because_of_index"].to_numpy()
    frame = pd.DataFrame({
        "customer_id": np.repeat(ids, top.shape[1]),
        "rank": explained["rank"].to_numpy(),
        "item": np.where(flat >= 0, items[np.maximum(flat, 0)], None),
        "label": np.where(flat >= 0, labels[np.maximum(flat, 0)], None),
        "score": np.round(scores.ravel(), 6),
        "source": np.repeat(sources, top.shape[1]),
        "reason": reasons.to_numpy(),
        "because_of": np.where(because >= 0, items[np.maximum(because, 0)], None),
        "co_customers": pd.array(np.where(because >= 0, explained["co_customers"], 0),
                                 dtype="Int64"),
        "share": np.round(explained["share"].to_numpy(dtype=float), 4),
    })
    frame.loc[because < 0, "co_customers"] = pd.NA
    return frame[flat >= 0].reset_index(drop=True)


def write_recommendations(connection: duckdb.DuckDBPyConnection, table: str,
                          blocks: Iterator[pd.DataFrame]) -> tuple[int, dict[str, int]]:
    """Write ``blocks`` into ``table`` (replaced); return customers and customers per source.

    >>> import duckdb, pandas as pd
    >>> con = duckdb.connect()
    >>> block = pd.DataFrame({"customer_id": ["c1"], "rank": [1], "item": ["S1"],
    ...     "label": ["Nova"], "score": [0.5], "source": ["ease"], "reason": ["..."],
    ...     "because_of": ["S2"], "co_customers": [3], "share": [0.25]})
    >>> write_recommendations(con, "recs", iter([block]))
    (1, {'ease': 1})
    """
    name = quote_identifier(table)
    connection.execute(f"""CREATE OR REPLACE TABLE {name} (customer_id VARCHAR,
        rank INTEGER, item VARCHAR, label VARCHAR, score DOUBLE, source VARCHAR,
        reason VARCHAR, because_of VARCHAR, co_customers BIGINT, share DOUBLE)""")
    customers = 0
    by_source: dict[str, int] = {}
    for k, frame in enumerate(blocks):
        view = f"mallseg_rec_block_{k}"
        connection.register(view, frame)
        try:
            connection.execute(f"INSERT INTO {name} SELECT {', '.join(OUTPUT_COLUMNS)} "
                               f"FROM {view}")
        finally:
            connection.unregister(view)
        count_sources(frame, by_source)
        customers += int(frame["customer_id"].nunique())
    return customers, by_source


def count_sources(frame: pd.DataFrame, by_source: dict[str, int]) -> None:
    """Add the customers of ``frame`` to ``by_source``, by the method of their list."""
    firsts = frame[frame["rank"] == 1]
    for source, n in firsts["source"].value_counts().items():
        by_source[str(source)] = by_source.get(str(source), 0) + int(n)
