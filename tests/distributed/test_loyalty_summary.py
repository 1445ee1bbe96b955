"""The loyalty models' customer summaries on Spark are DuckDB's, for the same mall."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from mallseg.distributed.loyalty import summarise_events_with_spark
from mallseg.insights.loyalty import summarise_events

from .conftest import SIM_CUSTOMERS, duckdb_from_parquet


@pytest.mark.parametrize(("source", "as_of", "holdout_days"), [
    ("transactions", date(2026, 3, 1), 30.0),
    ("visits", None, None),
])
def test_summaries_agree(spark: SparkSession, sim_inputs: Path, source: str,
                         as_of: date | None, holdout_days: float | None) -> None:
    on_duckdb = summarise_events(duckdb_from_parquet(sim_inputs), source,
                                 as_of=as_of, holdout_days=holdout_days, unit="weeks")
    on_spark = summarise_events_with_spark(spark, sim_inputs, source,
                                           as_of=as_of, holdout_days=holdout_days,
                                           unit="weeks")
    assert on_spark.as_of == on_duckdb.as_of and on_spark.holdout_end == on_duckdb.holdout_end
    duck, mine = on_duckdb.customers, on_spark.customers
    assert list(mine.columns) == list(duck.columns)
    assert 0 < len(mine) <= SIM_CUSTOMERS
    assert (mine["frequency"] > 0).any() and (mine["frequency"] == 0).any()
    pd.testing.assert_frame_equal(mine, duck, check_dtype=False, check_exact=False,
                                  rtol=0.0, atol=1e-9)
    assert on_spark.to_dict() == on_duckdb.to_dict()


def test_bad_parameters_are_refused_alike(spark: SparkSession, sim_inputs: Path) -> None:
    with pytest.raises(ValueError, match="holdout_days needs as_of"):
        summarise_events_with_spark(spark, sim_inputs, holdout_days=30)
    with pytest.raises(ValueError, match="unit='months' must be one of"):
        summarise_events_with_spark(spark, sim_inputs, unit="months")
