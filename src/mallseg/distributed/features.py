"""The per-customer features on Spark, from the same definitions as on DuckDB.

:func:`build_spark_features` takes the steps of :func:`mallseg.features.build.build_features`
with the same code: the reference time (:func:`~mallseg.features.reference_time.
reference_time`), the data-wide parameters, the blocks and their stage query
(:mod:`mallseg.features.blocks.plan`), the final choice of columns
(:mod:`mallseg.features.final_select`) and the schema. Only the SQL runner differs: each
statement goes through :class:`~mallseg.distributed.connection.SparkSQLConnection`,
which translates it for Spark. The event tables are read once: the stage (one row per
customer) is persisted while the final columns are chosen, then the features themselves
are, in Spark's memory spilling to disk. The result stays a Spark DataFrame, and nothing
per customer comes back to Python unless asked (:meth:`SparkFeatureBuild.to_pandas`).

Customer attributes (the extra columns ingest keeps in a workspace) are not part of a
folder of canonical tables, so a Spark build has none.

Examples
--------
>>> import tempfile, pandas as pd
>>> from mallseg.distributed.session import local_spark_session
>>> folder = tempfile.mkdtemp()
>>> pd.DataFrame({"customer_id": ["a", "b"], "age": [31, 45]}).to_parquet(
...     f"{folder}/customers.parquet")
>>> pd.DataFrame({"customer_id": ["a", "a"], "amount": [30.0, 10.0],
...               "purchased_at": pd.to_datetime(["2024-03-01", "2024-03-11"]),
...               "basket_id": ["r1", "r2"]}).to_parquet(f"{folder}/transactions.parquet")
>>> build = build_spark_features(local_spark_session(), folder)
>>> build.to_pandas()[["customer_id", "recency_days", "frequency", "basket_mean"]]
  customer_id  recency_days  frequency  basket_mean
0           a             0          2         20.0
1           b            11          0          NaN
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from mallseg.distributed.collect import collect_pandas
from mallseg.distributed.connection import SparkSQLConnection
from mallseg.distributed.sources import read_canonical_tables
from mallseg.features.blocks.block import BuildContext
from mallseg.features.blocks.plan import feature_blocks, measure_build_parameters, stage_sql
from mallseg.features.final_select import describe_schema, fresh_select, schema_select
from mallseg.features.reference_time import as_naive_timestamp, reference_time
from mallseg.features.schema import FeatureSchema
from mallseg.features.sources import CanonicalSources

__all__ = ["SparkFeatureBuild", "build_spark_features"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SparkFeatureBuild:
    """The features of a Spark build (a DataFrame in Spark) and the schema of the build.

    Attributes
    ----------
    frame:
        One row per customer: ``customer_id`` and the features, persisted in Spark's
        memory (spilling to disk); ``frame.unpersist()`` frees it.
    schema:
        What the build depended on, as :func:`mallseg.features.build.build_features`
        records it: a DuckDB build with this schema computes the same features.
    """

    frame: DataFrame = field(repr=False)
    schema: FeatureSchema

    @property
    def features(self) -> list[str]:
        """The feature columns, in output order."""
        return [c for c in self.frame.columns if c != "customer_id"]

    def to_pandas(self) -> pd.DataFrame:
        """Every customer's features in pandas, sorted by ``customer_id`` (small data only).

        Integer columns with missing values come back as float64 with NaN, like
        :func:`mallseg.features.build.fetch_frame`.
        """
        return collect_pandas(self.frame.orderBy("customer_id"))


def build_spark_features(
    spark: SparkSession,
    inputs: str | Path | CanonicalSources,
    *,
    as_of: datetime | date | None = None,
    schema: FeatureSchema | None = None,
    min_category_share_customers: float = 0.01,
) -> SparkFeatureBuild:
    """Compute one row of features per customer in Spark from a folder of canonical tables.

    Parameters
    ----------
    spark:
        The Spark session (local or a cluster's).
    inputs:
        Folder of canonical tables (see :mod:`mallseg.distributed.sources`), or the
        sources already registered in ``spark``.
    as_of, schema, min_category_share_customers:
        As in :func:`mallseg.features.build.build_features`.

    Raises
    ------
    ValueError
        When both ``schema`` and ``as_of`` are given, ``min_category_share_customers`` is
        not in [0, 1], or ``schema`` uses customer attributes;
        :class:`~mallseg.distributed.sources.InputTableError` (a ``ValueError``) when the
        inputs cannot be used.
    """
    if not 0.0 <= min_category_share_customers <= 1.0:
        raise ValueError(
            f"min_category_share_customers={min_category_share_customers!r} must be "
            "between 0 and 1"
        )
    if schema is not None and as_of is not None:
        raise ValueError("give either schema or as_of: a schema carries its reference time")
    if schema is not None and schema.attributes:
        raise ValueError(
            "this schema uses customer attributes, which live in a workspace: build these "
            "features with mallseg.features.build_features on the workspace"
        )
    sources = inputs if isinstance(inputs, CanonicalSources) else read_canonical_tables(
        spark, inputs
    )
    connection = SparkSQLConnection(spark)
    if schema is not None:
        reference, source = schema.as_of, schema.reference
    elif as_of is not None:
        reference, source = as_naive_timestamp(as_of), "given"
    else:
        # reference_time only runs SQL: the Spark connection stands in for DuckDB's
        reference, source = reference_time(cast(Any, connection), sources)
    ctx = BuildContext(connection=connection, sources=sources, as_of=reference)
    parameters = schema.parameters if schema is not None else measure_build_parameters(ctx)
    ctx = BuildContext(connection, sources, reference, parameters)
    has_transactions = sources.has("transactions") or bool(
        schema and "basket_mean" in schema.features
    )
    blocks = feature_blocks(ctx, has_transactions=has_transactions)

    stage_name = f"mallseg_feature_stage_{uuid.uuid4().hex[:12]}"
    stage = connection.sql(stage_sql(ctx, blocks)).persist(StorageLevel.MEMORY_AND_DISK)
    stage.createOrReplaceTempView(stage_name)
    try:
        if schema is None:
            select, features, kept = fresh_select(connection, stage_name,
                                                  min_category_share_customers)
        else:
            select = schema_select(connection, stage_name, schema)
            features, kept = list(schema.features), list(schema.kept_categories)
        # kept in Spark's memory (spilling to disk): the segmentation reads it several times
        frame = connection.sql(select).persist(StorageLevel.MEMORY_AND_DISK)
        frame.count()
    finally:
        # dropping the view also frees the stage; the features have their own copy
        spark.catalog.dropTempView(stage_name)
    if schema is None:
        schema = describe_schema(None, reference, source, parameters, kept, [], features,
                                 has_transactions)
    logger.info("built %d features in Spark as of %s", len(features), reference)
    return SparkFeatureBuild(frame, schema)
