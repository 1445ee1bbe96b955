"""The Spark engine: the same features, segments and layout insights as on DuckDB, on Spark.

For a mall whose event tables outgrow one machine, or a data platform that already runs
Spark. The feature definitions are the DuckDB ones (:mod:`mallseg.features.blocks`),
translated for Spark (:mod:`~mallseg.distributed.dialect`); the preprocessing and k-means
run in Spark (:mod:`~mallseg.distributed.preprocess`, :mod:`~mallseg.distributed.
clustering`); profiles and names are the project's own, on a sample
(:mod:`~mallseg.distributed.profiles`). The layout insights and the loyalty models'
customer summaries run their own SQL on Spark (:mod:`~mallseg.distributed.layout`,
:mod:`~mallseg.distributed.loyalty`), and a segmentation of a workspace's tables is
recorded as a run of it (:mod:`~mallseg.distributed.record`). Entry points:
:func:`segment_with_spark`, :func:`layout_with_spark`, :func:`summarise_events_with_spark`
and the job, ``python -m mallseg.distributed.job`` (or ``spark-submit``). Needs the
``spark`` extra (``pip install 'mallseg[spark]'``) and Java 17.
"""

from __future__ import annotations

try:
    import pyspark  # noqa: F401
except ImportError:  # pragma: no cover - depends on the installation
    raise ImportError(
        "the Spark engine needs pyspark: pip install 'mallseg[spark]' (and Java 17)"
    ) from None

from mallseg.distributed.features import SparkFeatureBuild, build_spark_features
from mallseg.distributed.layout import layout_with_spark
from mallseg.distributed.loyalty import summarise_events_with_spark
from mallseg.distributed.segment import SparkSegmentation, segment_with_spark
from mallseg.distributed.session import SparkUnavailableError, local_spark_session
from mallseg.distributed.sources import InputTableError, read_canonical_tables

__all__ = [
    "InputTableError",
    "SparkFeatureBuild",
    "SparkSegmentation",
    "SparkUnavailableError",
    "build_spark_features",
    "layout_with_spark",
    "local_spark_session",
    "read_canonical_tables",
    "segment_with_spark",
    "summarise_events_with_spark",
]
