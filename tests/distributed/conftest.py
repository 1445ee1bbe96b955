"""One local Spark session and one simulated mall for every Spark test.

Starting Spark costs seconds, so the session is shared; the simulated mall (a few thousand
customers, every canonical table) is built once and read by both engines: DuckDB from the
same Parquet files, Spark through the engine's own reader. Its Spark segmentation is made
once too: the segmentation tests check it, the layout tests break the mall down by it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pyspark.sql import SparkSession

from mallseg.datasets.simulate import INPUT_TABLES, simulate_mall
from mallseg.distributed.features import SparkFeatureBuild, build_spark_features
from mallseg.distributed.segment import SparkSegmentation, segment_with_spark
from mallseg.distributed.session import (
    QUICK_START_JAVA_OPTIONS,
    SparkUnavailableError,
    check_java,
    local_spark_session,
)
from mallseg.features.build import FeatureBuild, build_features

SIM_CUSTOMERS = 3000
SIM_PERSONAS = 4
"""Four personas: segments with k = 4 are the personas, one optimum rather than several
near-ties, so that two engines' k-means have one answer to agree on."""
SIM_LENS = "behavioural"
SIM_SAMPLE = 1200
"""Customers the Spark segmentation brings back (of 3,000): k-means starts from the
sample's centres and MLlib refines them over every customer, as it would on a mall too big
for one machine."""


def assert_same_values(a: Any, b: Any, where: str = "") -> None:
    """Equal JSON values (dicts, lists, text, counts), floats equal to 1e-9."""
    if isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, where
        assert math.isclose(a, b, rel_tol=0.0, abs_tol=1e-9), f"{where}: {a} != {b}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            assert_same_values(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{where}: {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_values(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def duckdb_from_parquet(inputs: Path) -> duckdb.DuckDBPyConnection:
    """The canonical tables under ``inputs`` as plain DuckDB tables (no ingest)."""
    connection = duckdb.connect()
    for table in INPUT_TABLES:
        parts = sorted(inputs.glob(f"{table}/*.parquet")) + sorted(inputs.glob(f"{table}.parquet"))
        if parts:
            files = ", ".join(f"'{p}'" for p in parts)
            connection.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet([{files}])")
    return connection


@pytest.fixture(scope="session")
def spark() -> SparkSession:
    try:
        check_java()
    except SparkUnavailableError as missing:
        # `make test` installs Java (`make java`): without it these tests fail, not pass quietly
        pytest.fail(f"Spark tests need Java: {missing}; install it with `make java`")
    return local_spark_session(java_options=QUICK_START_JAVA_OPTIONS)


@pytest.fixture(scope="session")
def sim_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sim")
    simulate_mall(folder, customers=SIM_CUSTOMERS, days=90, seed=3, personas=SIM_PERSONAS)
    return folder / "inputs"


@pytest.fixture(scope="session")
def duckdb_sim_build(sim_inputs: Path) -> FeatureBuild:
    return build_features(duckdb_from_parquet(sim_inputs))


@pytest.fixture(scope="session")
def spark_sim_build(spark: SparkSession, sim_inputs: Path) -> SparkFeatureBuild:
    return build_spark_features(spark, sim_inputs)


@pytest.fixture(scope="session")
def spark_sim_segmentation(spark: SparkSession, spark_sim_build: SparkFeatureBuild
                           ) -> SparkSegmentation:
    return segment_with_spark(spark_sim_build, spark=spark, k=SIM_PERSONAS, lens=SIM_LENS,
                              sample_size=SIM_SAMPLE)
