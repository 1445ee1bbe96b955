"""The layout insights on Spark agree with DuckDB's for the same mall and the same segments.

The segments are a Spark segmentation's (its ``assignments/`` Parquet), read by both engines:
DuckDB from the same files, Spark by the engine. Counts must be equal, figures equal to
1e-9: the two engines run the same SQL and the same statistics.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from mallseg.distributed.connection import SparkSQLConnection
from mallseg.distributed.layout import SegmentsError, layout_with_spark
from mallseg.distributed.run import write_segmentation
from mallseg.distributed.segment import SparkSegmentation
from mallseg.insights.layout import LayoutResult, analyse_layout
from mallseg.insights.layout.analysis import LayoutSettings

from .conftest import SIM_PERSONAS, assert_same_values, duckdb_from_parquet

SETTINGS = LayoutSettings(min_customers=20, min_together=10, min_events=50)


@pytest.fixture(scope="module")
def assignments(spark_sim_segmentation: SparkSegmentation,
                tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("layout") / "out"
    path, _ = write_segmentation(spark_sim_segmentation, str(out))
    return Path(path)


@pytest.fixture(scope="module")
def on_duckdb(sim_inputs: Path, assignments: Path) -> LayoutResult:
    connection = duckdb_from_parquet(sim_inputs)
    segments = connection.sql(f"SELECT * FROM read_parquet('{assignments}/*.parquet')")
    return analyse_layout(connection, segments, segment_col="segment_name",
                          **SETTINGS.__dict__)


@pytest.fixture(scope="module")
def on_spark(spark: SparkSession, sim_inputs: Path, assignments: Path) -> LayoutResult:
    return layout_with_spark(spark, sim_inputs, assignments, settings=SETTINGS)


def test_affinity_tables_agree(on_duckdb: LayoutResult, on_spark: LayoutResult) -> None:
    assert on_spark.segments == on_duckdb.segments
    assert len(on_spark.segments) == SIM_PERSONAS + 1  # and "Not enough data"
    for name in ("store_affinity", "category_affinity", "zone_affinity"):
        duck, spark = getattr(on_duckdb, name), getattr(on_spark, name)
        assert duck is not None and spark is not None and duck.cells, name
        assert_same_values(duck.to_dict(), spark.to_dict(), name)
    # the minimum count is applied alike: some cells are withheld, the same ones
    withheld = [c for c in on_spark.store_affinity.cells if c.status == "too_few"]  # type: ignore[union-attr]
    shown = [c for c in on_spark.store_affinity.cells if c.status == "ok"]  # type: ignore[union-attr]
    assert withheld and shown and all(c.lift is None for c in withheld)


def test_store_pairs_agree(on_duckdb: LayoutResult, on_spark: LayoutResult) -> None:
    duck, spark = on_duckdb.pairs, on_spark.pairs
    assert duck is not None and spark is not None
    assert spark.unit == "basket" and spark.units == duck.units > 0
    assert spark.multi_store_units == duck.multi_store_units
    assert spark.pairs_below_minimum == duck.pairs_below_minimum
    assert len(spark.pairs) >= 5
    assert_same_values([p.to_dict() for p in duck.top(10)],
                       [p.to_dict() for p in spark.top(10)], "top")
    assert_same_values(duck.to_dict(), spark.to_dict(), "pairs")


def test_peak_hours_agree(on_duckdb: LayoutResult, on_spark: LayoutResult) -> None:
    duck, spark = on_duckdb.activity, on_spark.activity
    assert duck is not None and spark is not None and spark.source == "visits"
    assert spark.population.total == duck.population.total > 0
    for mine, theirs in zip(spark.segments, duck.segments, strict=True):
        assert mine.group == theirs.group and mine.counts == theirs.counts
        assert mine.peak_hours == theirs.peak_hours and mine.peak_slot == theirs.peak_slot
    assert_same_values(duck.to_dict(), spark.to_dict(), "activity")


def test_gaps_suggestions_and_notes_agree(on_duckdb: LayoutResult,
                                          on_spark: LayoutResult) -> None:
    assert_same_values(on_duckdb.to_dict(), on_spark.to_dict(), "layout")
    assert on_spark.suggestions


def test_segments_that_cannot_be_used_are_one_message(spark: SparkSession,
                                                      sim_inputs: Path) -> None:
    twice = spark.createDataFrame(pd.DataFrame({"customer_id": ["C1", "C1"],
                                                "segment_name": ["a", "b"]}))
    with pytest.raises(SegmentsError, match="customer_id 'C1' appears 2 times"):
        layout_with_spark(spark, sim_inputs, twice)
    unnamed = spark.createDataFrame(pd.DataFrame({"customer_id": ["C1"], "segment": [1]}))
    with pytest.raises(SegmentsError, match="required column segment_name missing"):
        layout_with_spark(spark, sim_inputs, unnamed)


def test_temp_tables_are_kept_and_dropped(spark: SparkSession) -> None:
    connection = SparkSQLConnection(spark)
    connection.execute('CREATE TEMP TABLE "mallseg_probe" AS SELECT 1 AS n UNION ALL SELECT 2')
    assert connection.execute('SELECT sum(n) FROM "mallseg_probe"').fetchall() == [(3,)]
    assert spark.catalog.isCached("mallseg_probe")
    connection.execute('DROP TABLE IF EXISTS "mallseg_probe"')
    assert not spark.catalog.tableExists("mallseg_probe")
    with pytest.raises(TypeError, match="does not run on Spark"):
        connection.execute("DROP SCHEMA x")
