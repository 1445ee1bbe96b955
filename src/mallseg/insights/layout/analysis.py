"""Layout and merchandising in one call: :func:`analyse_layout`.

Reads the canonical tables of a connection (a workspace's ``.connection``) and a segmentation
(optional), and computes, all in DuckDB: segment x store, x category and x zone affinity;
stores bought from together; visits by weekday x hour per zone and per segment; the
categories segments under-buy against the segments most like them; and suggestions in
words with the numbers behind each. Only per-store, per-pair and per-segment tables come
into Python. The result is a value: :meth:`LayoutResult.to_dict` gives plain JSON.

Examples
--------
>>> import duckdb
>>> analyse_layout(duckdb.connect()).message.split(":")[0]
'No purchases or visits'
"""

from __future__ import annotations

import logging
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb

from mallseg.core.sql_text import quote_identifier
from mallseg.features.sources import CanonicalSources, inspect_sources
from mallseg.insights.layout.affinity import AffinityTable, affinity_table
from mallseg.insights.layout.gaps import CategoryGap, find_category_gaps
from mallseg.insights.layout.hours import HourlyActivity, hourly_activity
from mallseg.insights.layout.pairs import PairUnit, StorePairs, store_pairs
from mallseg.insights.layout.purchases import purchases_sql, stores_sql, visits_sql
from mallseg.insights.layout.segments import SegmentsInput, segment_view
from mallseg.insights.layout.suggestions import (
    Suggestion,
    gap_suggestions,
    hour_suggestions,
    pair_suggestions,
)

__all__ = ["LayoutResult", "LayoutSettings", "analyse_layout", "layout_of_segments"]

logger = logging.getLogger(__name__)

_NOTHING = ("No purchases or visits: layout insights need a transactions table (customer, "
            "store, time, amount; basket and store zones help) or a visits table (customer, "
            "entry time, zone).")


@dataclass(frozen=True)
class LayoutResult:
    """Everything :func:`analyse_layout` found; ``message`` says why when it found nothing."""

    segments: tuple[str, ...]
    store_affinity: AffinityTable | None
    category_affinity: AffinityTable | None
    zone_affinity: AffinityTable | None
    """Share of visits by zone (from visits)."""
    pairs: StorePairs | None
    activity: HourlyActivity | None
    gaps: tuple[CategoryGap, ...]
    suggestions: tuple[Suggestion, ...]
    min_customers: int
    message: str | None = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""

        def maybe(value: Any) -> Any:
            return None if value is None else value.to_dict()

        return {
            "message": self.message, "notes": list(self.notes),
            "segments": list(self.segments), "min_customers": int(self.min_customers),
            "store_affinity": maybe(self.store_affinity),
            "category_affinity": maybe(self.category_affinity),
            "zone_affinity": maybe(self.zone_affinity),
            "pairs": maybe(self.pairs), "activity": maybe(self.activity),
            "gaps": [g.to_dict() for g in self.gaps],
            "suggestions": [s.to_dict() for s in self.suggestions],
        }


def _check(name: str, value: int, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}={value!r} must be an integer >= {low}")


@dataclass(frozen=True)
class LayoutSettings:
    """The parameters of :func:`analyse_layout` (read its documentation), checked once.

    Examples
    --------
    >>> LayoutSettings(min_customers=0)
    Traceback (most recent call last):
    ...
    ValueError: min_customers=0 must be an integer >= 1
    """

    measure: Literal["spend", "receipts"] = "spend"
    min_customers: int = 30
    unit: PairUnit = "auto"
    min_together: int = 30
    window_hours: int = 3
    min_events: int = 100
    neighbours: int = 2
    similar_within: float = 0.5
    min_suggestion_lift: float = 1.5
    pair_suggestion_limit: int = 5
    gap_suggestion_limit: int = 10

    def __post_init__(self) -> None:
        if self.measure not in ("spend", "receipts"):
            raise ValueError(f"measure={self.measure!r} must be 'spend' or 'receipts'")
        for name, low in (("min_customers", 1), ("min_together", 1), ("min_events", 1),
                          ("neighbours", 1), ("window_hours", 1)):
            _check(name, getattr(self, name), low)


def analyse_layout(
    connection: duckdb.DuckDBPyConnection,
    segments: SegmentsInput = None,
    *,
    measure: Literal["spend", "receipts"] = "spend",
    min_customers: int = 30,
    unit: PairUnit = "auto",
    min_together: int = 30,
    window_hours: int = 3,
    min_events: int = 100,
    neighbours: int = 2,
    similar_within: float = 0.5,
    min_suggestion_lift: float = 1.5,
    pair_suggestion_limit: int = 5,
    gap_suggestion_limit: int = 10,
    customer_col: str = "customer_id",
    segment_col: str | None = None,
) -> LayoutResult:
    """Affinity, stores bought together, peak hours, under-bought categories, suggestions.

    Parameters
    ----------
    connection:
        DuckDB connection holding the canonical tables.
    segments:
        ``customer_id -> segment`` as a frame, series or DuckDB relation (see
        :func:`~mallseg.insights.layout.segments.segment_view`), or ``None`` for the
        whole population as one segment.
    measure:
        ``spend`` or ``receipts``: what the store and category affinity shares are of.
    min_customers:
        Fewest customers of a segment behind an affinity cell for it to be shown, and
        fewest buying customers for a segment to be compared in the category gaps.
    unit:
        What "bought together" means: ``basket``, ``day`` (same customer, same day) or
        ``auto`` (baskets when recorded).
    min_together:
        Fewest units holding both stores for a pair to be listed.
    window_hours:
        Length of a peak-hours window.
    min_events:
        Fewest visits of a zone or segment for it to get peaks.
    neighbours:
        How many similar segments a segment's category mix is compared with.
    similar_within:
        Farthest distance (total variation of the category spend mix, 0-1) of a segment
        counted as similar.
    min_suggestion_lift:
        Lowest lift of a pair of distant stores for a cross-promotion suggestion.
    pair_suggestion_limit, gap_suggestion_limit:
        Most suggestions of those kinds (gaps: at most two per segment).
    customer_col, segment_col:
        Columns of ``segments``.

    Returns
    -------
    LayoutResult

    Raises
    ------
    ValueError
        For a parameter out of range or unusable segments.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute('''CREATE TABLE transactions AS SELECT 'c' || (i % 50) AS customer_id,
    ...     'S' || (i % 3) AS store_id, TIMESTAMP '2026-01-05 10:00' AS purchased_at,
    ...     10.0 AS amount, 'b' || (i // 2) AS basket_id FROM range(400) t(i)''')
    >>> result = analyse_layout(con, min_customers=5, min_together=5)
    >>> result.segments, result.pairs.unit, len(result.store_affinity.cells)
    (('All customers',), 'basket', 3)
    """
    settings = LayoutSettings(
        measure=measure, min_customers=min_customers, unit=unit, min_together=min_together,
        window_hours=window_hours, min_events=min_events, neighbours=neighbours,
        similar_within=similar_within, min_suggestion_lift=min_suggestion_lift,
        pair_suggestion_limit=pair_suggestion_limit, gap_suggestion_limit=gap_suggestion_limit,
    )
    sources = inspect_sources(connection)
    if not sources.has("transactions") and not sources.has("visits"):
        return layout_of_segments(connection, sources, None, settings)
    with segment_view(connection, segments, customer_col=customer_col,
                      segment_col=segment_col) as view:
        return layout_of_segments(connection, sources, view, settings)


def layout_of_segments(
    connection: duckdb.DuckDBPyConnection,
    sources: CanonicalSources,
    view: str | None,
    settings: LayoutSettings,
) -> LayoutResult:
    """The layout insight of the segments in ``view`` over the tables of ``sources``.

    What :func:`analyse_layout` runs once the segments are a view ``(customer_id,
    segment)`` (``None``: everyone in one segment); the Spark engine runs it with a
    connection that translates each statement for Spark, so both engines run the same
    SQL and the same statistics.

    Examples
    --------
    >>> import duckdb
    >>> from mallseg.features.sources import CanonicalSources, inspect_sources
    >>> con = duckdb.connect()
    >>> layout_of_segments(con, inspect_sources(con), None, LayoutSettings()).message[:22]
    'No purchases or visits'
    """
    has_tx, has_visits = sources.has("transactions"), sources.has("visits")
    min_customers = settings.min_customers
    empty = LayoutResult((), None, None, None, None, None, (), (), min_customers)
    if not has_tx and not has_visits:
        return LayoutResult(**{**empty.__dict__, "message": _NOTHING})
    notes: list[str] = []
    with ExitStack() as stack:
        if view is not None:
            notes.extend(_outside_note(connection, sources, view, has_tx, has_visits))
        store_aff = category_aff = zone_aff = None
        pairs = None
        gaps: list[CategoryGap] = []
        if has_tx:
            purchases = purchases_sql(sources, view)
            per_customer = _per_customer_table(connection, purchases)
            stack.callback(connection.execute, f"DROP TABLE IF EXISTS {per_customer}")
            values = {"spend": "spend", "receipts": "receipts"}
            store_aff = affinity_table(connection, per_customer, item="store_id",
                                       dimension="store", measure=settings.measure,
                                       min_customers=min_customers, label="store_name",
                                       values=values)
            category_aff = affinity_table(connection, per_customer, item="category",
                                          dimension="category", measure=settings.measure,
                                          min_customers=min_customers, values=values)
            pairs = store_pairs(connection, purchases, stores_sql(sources), unit=settings.unit,
                                min_together=settings.min_together)
            gaps = _gaps(connection, per_customer, settings.neighbours, min_customers,
                         settings.similar_within)
            if not sources.has("stores"):
                notes.append("No stores table: pairs carry no zones or floors, so no "
                             "cross-promotion between distant stores is suggested.")
            if category_aff is not None and not category_aff.cells:
                notes.append("Purchases carry no category (neither the receipt nor the "
                             "store's): no category affinity or category gaps.")
        activity = None
        if has_visits:
            visits = visits_sql(sources, view)
            zone_aff = affinity_table(connection, visits, item="zone", dimension="zone",
                                      measure="visits", min_customers=min_customers)
            activity = hourly_activity(connection, visits, time_col="entered_at",
                                       source="visits", window_hours=settings.window_hours,
                                       min_events=settings.min_events)
        elif has_tx:
            notes.append("No visits: peak hours are read from purchase times instead.")
            activity = hourly_activity(connection, purchases_sql(sources, view),
                                       time_col="purchased_at", source="purchases",
                                       window_hours=settings.window_hours,
                                       min_events=settings.min_events)
    suggestions: list[Suggestion] = []
    if pairs is not None:
        suggestions += pair_suggestions(pairs.pairs, unit=pairs.unit,
                                        min_lift=settings.min_suggestion_lift,
                                        limit=settings.pair_suggestion_limit)
    if activity is not None:
        suggestions += hour_suggestions(activity.segments, source=activity.source)
    suggestions += gap_suggestions(gaps, per_segment=2, limit=settings.gap_suggestion_limit)
    found = {s for t in (store_aff, category_aff, zone_aff) if t is not None
             for s in t.segments}
    logger.info("layout: %d segments, %d pairs listed, %d suggestions", len(found),
                len(pairs.pairs) if pairs else 0, len(suggestions))
    return LayoutResult(
        segments=tuple(sorted(found)), store_affinity=store_aff,
        category_affinity=category_aff, zone_affinity=zone_aff, pairs=pairs,
        activity=activity, gaps=tuple(gaps), suggestions=tuple(suggestions),
        min_customers=min_customers, notes=tuple(notes),
    )


def _per_customer_table(connection: duckdb.DuckDBPyConnection, purchases: str) -> str:
    """One row per segment x customer x store x category: spend and receipts (a temp table).

    Affinity and category gaps read this table instead of the purchases: the event table
    is scanned once for all of them.
    """
    name = quote_identifier(f"mallseg_layout_customer_{uuid.uuid4().hex[:12]}")
    connection.execute(f"""
        CREATE TEMP TABLE {name} AS
        SELECT segment, customer_id, store_id, any_value(store_name) AS store_name,
            category, sum(amount) AS spend, count(*) AS receipts
        FROM {purchases} GROUP BY segment, customer_id, store_id, category""")
    return name


def _gaps(connection: duckdb.DuckDBPyConnection, per_customer: str, neighbours: int,
          min_customers: int, similar_within: float) -> list[CategoryGap]:
    frame = connection.execute(f"""
        WITH c AS (SELECT segment, category, customer_id, sum(spend) AS spend
                   FROM {per_customer} WHERE category IS NOT NULL GROUP BY ALL)
        SELECT segment, category, sum(spend) AS spend, count(*) AS customers
        FROM c GROUP BY ALL""").fetchdf()
    sizes = connection.execute(f"""
        SELECT segment, count(DISTINCT customer_id) FROM {per_customer}
        WHERE category IS NOT NULL GROUP BY ALL""").fetchall()
    return find_category_gaps(frame, {str(s): int(n) for s, n in sizes},
                              neighbours=neighbours, min_customers=min_customers,
                              max_distance=similar_within)


def _outside_note(connection: duckdb.DuckDBPyConnection, sources: CanonicalSources, view: str,
                  has_tx: bool, has_visits: bool) -> list[str]:
    notes = []
    for table, present in (("transactions", has_tx), ("visits", has_visits)):
        if not present:
            continue
        outside = connection.execute(
            f"SELECT count(*) FROM {sources.relation(table)} t "
            f"ANTI JOIN {view} g ON g.customer_id = t.customer_id").fetchall()[0][0]
        if outside:
            notes.append(f"{outside:,} {table} rows of customers without a segment are left "
                         "out.")
    return notes
