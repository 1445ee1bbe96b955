"""The customer summaries of the loyalty models, computed on Spark from the same SQL.

The buy-till-you-die and Gamma-Gamma models (:mod:`mallseg.insights.loyalty`) are fitted
on one row per customer: repeat purchase (or visit) days, recency, age and spend. That
summary is the SQL over the event tables; :func:`summarise_events_with_spark` runs it on
Spark, the query of :func:`mallseg.insights.loyalty.summary.summarise_sources` translated
for Spark, and gives the same :class:`~mallseg.insights.loyalty.EventSummary` as
:func:`~mallseg.insights.loyalty.summarise_events` on DuckDB. Only the per-customer
summary comes back to the driver, where the models are fitted.

Examples
--------
>>> import tempfile, pandas as pd
>>> from datetime import date
>>> from mallseg.distributed.session import local_spark_session
>>> folder = tempfile.mkdtemp()
>>> pd.DataFrame({"customer_id": ["a", "b"]}).to_parquet(f"{folder}/customers.parquet")
>>> pd.DataFrame({"customer_id": ["a", "a", "a", "b"], "amount": [10.0, 5.0, 30.0, 20.0],
...               "purchased_at": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 16:00",
...                                               "2024-01-08 12:00", "2024-01-10 09:00"])},
...              ).to_parquet(f"{folder}/transactions.parquet")
>>> summary = summarise_events_with_spark(local_spark_session(), folder,
...                                       as_of=date(2024, 1, 15))
>>> summary.customers[["customer_id", "frequency", "recency", "T", "monetary_value"]]
  customer_id  frequency  recency     T  monetary_value
0           a          1      7.0  14.0            30.0
1           b          0      0.0   5.0             NaN
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from pyspark.sql import SparkSession

from mallseg.distributed.collect import collect_pandas
from mallseg.distributed.connection import SparkSQLConnection
from mallseg.distributed.sources import read_canonical_tables
from mallseg.features.sources import CanonicalSources
from mallseg.insights.loyalty.summary import EventSource, EventSummary, summarise_sources

__all__ = ["summarise_events_with_spark"]


def summarise_events_with_spark(
    spark: SparkSession,
    inputs: str | Path | CanonicalSources,
    source: EventSource = "transactions",
    *,
    as_of: datetime | date | None = None,
    holdout_days: float | None = None,
    unit: str = "days",
) -> EventSummary:
    """Each customer's (x, t_x, T) summary of ``source``, computed on Spark.

    Parameters
    ----------
    spark:
        The session to run on.
    inputs:
        Folder of canonical tables (see :mod:`mallseg.distributed.sources`), or the
        sources already registered in ``spark``.
    source, as_of, holdout_days, unit:
        As in :func:`mallseg.insights.loyalty.summarise_events`.

    Raises
    ------
    ValueError
        As :func:`~mallseg.insights.loyalty.summarise_events` does, and when the inputs
        cannot be used (:class:`~mallseg.distributed.sources.InputTableError`).
    """
    sources = inputs if isinstance(inputs, CanonicalSources) else read_canonical_tables(
        spark, inputs)
    connection = SparkSQLConnection(spark)
    return summarise_sources(lambda sql: collect_pandas(connection.sql(sql)), sources, source,
                             as_of=as_of, holdout_days=holdout_days, unit=unit)
