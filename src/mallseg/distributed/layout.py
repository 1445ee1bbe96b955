"""The layout insights on Spark: the same SQL and the same statistics as on DuckDB.

:func:`layout_with_spark` computes what :func:`mallseg.insights.layout.analyse_layout`
computes (segment x store, x category and x zone affinity, stores bought together, peak
hours by weekday x hour, the categories segments under-buy, the suggestions) from a folder
of canonical tables (Parquet, any path Spark reads) and the segments of every customer (a
segmentation's ``assignments/``, or a Spark DataFrame). It is the same code:
:func:`~mallseg.insights.layout.analysis.layout_of_segments` runs with a
:class:`~mallseg.distributed.connection.SparkSQLConnection`, which translates each of the
layout's SQL statements for Spark, so the event tables are aggregated in Spark and only
the per-segment, per-store and per-pair tables come back to Python, where the lift,
support, confidence and peak windows are computed by the functions the DuckDB engine
uses. The result is the same :class:`~mallseg.insights.layout.LayoutResult`.

Examples
--------
>>> import tempfile, pandas as pd
>>> from mallseg.distributed.session import local_spark_session
>>> folder = tempfile.mkdtemp()
>>> pd.DataFrame({"customer_id": [f"c{i}" for i in range(50)]}).to_parquet(
...     f"{folder}/customers.parquet")
>>> pd.DataFrame({"customer_id": [f"c{i % 50}" for i in range(400)],
...               "store_id": [f"S{i % 3}" for i in range(400)],
...               "purchased_at": pd.Timestamp("2026-01-05 10:00"), "amount": 10.0,
...               "basket_id": [f"b{i // 2}" for i in range(400)]}).to_parquet(
...     f"{folder}/transactions.parquet")
>>> result = layout_with_spark(local_spark_session(), folder,
...                            settings=LayoutSettings(min_customers=5, min_together=5))
>>> result.segments, result.pairs.unit, len(result.store_affinity.cells)
(('All customers',), 'basket', 3)
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any, cast

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

from mallseg.distributed.connection import SparkSQLConnection
from mallseg.distributed.sources import read_canonical_tables
from mallseg.features.sources import CanonicalSources
from mallseg.insights.layout.analysis import LayoutResult, LayoutSettings, layout_of_segments

__all__ = ["LayoutSettings", "SegmentsError", "layout_with_spark"]

logger = logging.getLogger(__name__)


class SegmentsError(ValueError):
    """The segments given cannot be used; the message names the column or customer."""


def layout_with_spark(
    spark: SparkSession,
    inputs: str | Path | CanonicalSources,
    segments: DataFrame | str | Path | None = None,
    *,
    settings: LayoutSettings | None = None,
    customer_col: str = "customer_id",
    segment_col: str = "segment_name",
) -> LayoutResult:
    """The layout insight of ``segments`` over the canonical tables under ``inputs``, on Spark.

    Parameters
    ----------
    spark:
        The session to run on.
    inputs:
        Folder of canonical tables (see :mod:`mallseg.distributed.sources`), or the
        sources already registered in ``spark``.
    segments:
        One row per customer with ``customer_col`` and ``segment_col``: a Spark DataFrame
        or a Parquet path (a segmentation's ``assignments/``); ``None``: everyone in one
        segment, ``All customers``.
    settings:
        The parameters of :func:`~mallseg.insights.layout.analyse_layout` (minimum
        counts, peak window, pair unit, ...); default: its defaults.
    customer_col, segment_col:
        Columns of ``segments`` (the segment's name, by default: what people read).

    Raises
    ------
    ValueError
        When the inputs cannot be used (:class:`~mallseg.distributed.sources.
        InputTableError`), or the segments lack a column, leave a customer without an id
        or a segment, or hold a customer twice (:class:`SegmentsError`).
    """
    settings = settings or LayoutSettings()
    # the layout SQL only reads through DuckDB's connection methods, which the Spark
    # connection gives: it stands in for DuckDB's here, as in the feature build
    connection = cast(Any, SparkSQLConnection(spark))
    if segments is None:
        return layout_of_segments(connection, _sources(spark, inputs), None, settings)
    frame = spark.read.parquet(str(segments)) if isinstance(segments, str | Path) else segments
    view = f"mallseg_segments_{uuid.uuid4().hex[:12]}"
    _segment_frame(frame, customer_col, segment_col).createOrReplaceTempView(view)
    try:
        _check_segments(spark, view, customer_col, segment_col)
        result = layout_of_segments(connection, _sources(spark, inputs), f'"{view}"',
                                    settings)
    finally:
        spark.catalog.dropTempView(view)
    logger.info("layout on Spark: %d segments", len(result.segments))
    return result


def _sources(spark: SparkSession, inputs: str | Path | CanonicalSources) -> CanonicalSources:
    return inputs if isinstance(inputs, CanonicalSources) else read_canonical_tables(
        spark, inputs)


def _segment_frame(frame: DataFrame, customer_col: str, segment_col: str) -> DataFrame:
    columns = list(frame.columns)
    for column in (customer_col, segment_col):
        if column not in columns:
            raise SegmentsError(
                f"segments: required column {column} missing (columns: {', '.join(columns)})"
            )
    return frame.select(sf.col(customer_col).cast("string").alias("customer_id"),
                        sf.col(segment_col).cast("string").alias("segment"))


def _check_segments(spark: SparkSession, view: str, customer_col: str,
                    segment_col: str) -> None:
    """One pass over the segments: customers without an id or a segment, or twice."""
    row = spark.sql(f"""
        SELECT count_if(customer_id IS NULL) AS no_id,
            min(CASE WHEN segment IS NULL THEN customer_id END) AS no_segment,
            count(*) - count(DISTINCT customer_id) AS repeated
        FROM `{view}`""").collect()[0]
    if row["no_id"]:
        raise SegmentsError(f"segments: {row['no_id']} rows have no {customer_col}; every "
                            "row needs one")
    if row["no_segment"] is not None:
        raise SegmentsError(
            f"segments: {customer_col} {row['no_segment']!r} has no {segment_col}; drop "
            "unassigned customers or give them a segment")
    if row["repeated"]:
        twice = spark.sql(f"""
            SELECT customer_id, count(*) AS n FROM `{view}` GROUP BY customer_id
            HAVING count(*) > 1 ORDER BY n DESC, customer_id LIMIT 1""").collect()[0]
        raise SegmentsError(
            f"segments: {customer_col} {twice['customer_id']!r} appears {twice['n']} times; "
            "expected one segment per customer")
