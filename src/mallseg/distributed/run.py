"""The Spark segmentation as one use case: inputs in, segments and assignments out.

:func:`segment_on_spark` is what ``mallseg segment --engine spark`` and the cluster job
(:mod:`mallseg.distributed.job`) run: it takes the canonical tables from a folder of
Parquet (any path Spark reads) or exports them from a workspace
(:func:`~mallseg.distributed.export.export_canonical_tables`), opens the session
(:func:`~mallseg.distributed.session.open_spark_session`: the active one, a Spark Connect
URL, or a local one), segments (:func:`~mallseg.distributed.segment.segment_with_spark`)
and writes, under the output folder:

- ``assignments/``: Parquet parts, one row per customer (``customer_id``, ``segment``,
  ``segment_name``), written by Spark where the cluster keeps its data;
- ``segments.json``: the per-segment result (:meth:`~mallseg.distributed.segment.
  SparkSegmentation.to_dict`: names, sizes, profiles, the fitted preprocessing and
  centres, the feature schema), written from the driver.

The result is a value (:class:`SparkSegmentOutcome`); rendering it is the caller's.

Examples
--------
>>> import tempfile, pandas as pd
>>> folder = tempfile.mkdtemp()
>>> pd.DataFrame({"customer_id": [f"c{i}" for i in range(40)],
...               "annual_income": [20.0 + i % 5 for i in range(20)] + [90.0] * 20,
...               "spending_score": [80.0 - i % 7 for i in range(20)] + [15.0] * 20},
...              ).to_parquet(f"{folder}/customers.parquet")
>>> outcome = segment_on_spark(SparkSegmentRequest(inputs=folder, out=f"{folder}/out", k=2))
>>> outcome.segmentation.sizes, outcome.exported_rows
({0: 20, 1: 20}, {})
>>> len(pd.read_parquet(outcome.assignments_path))
40
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from pyspark.sql import SparkSession
from pyspark.sql import functions as sf

from mallseg.distributed.export import export_canonical_tables
from mallseg.distributed.segment import (
    DEFAULT_SAMPLE_SIZE,
    SparkSegmentation,
    segment_with_spark,
)
from mallseg.distributed.session import open_spark_session
from mallseg.workspace import Workspace

__all__ = ["SparkSegmentOutcome", "SparkSegmentRequest", "segment_on_spark",
           "write_segmentation"]

logger = logging.getLogger(__name__)

EXPORT_FOLDER = "spark-inputs"
"""Folder under a workspace's ``exports/`` that its canonical tables are written to."""
OUTPUT_FOLDER = "spark-segments"
"""Default output folder: under a workspace's ``exports/``, else in the working folder."""


@dataclass(frozen=True)
class SparkSegmentRequest:
    """What to segment on Spark, and where the results go.

    Attributes
    ----------
    inputs:
        Folder of canonical tables (``<table>/`` or ``<table>.parquet``), any path Spark
        reads; ``None``: export them from the workspace given to :func:`segment_on_spark`.
    out:
        Folder for ``assignments/`` and ``segments.json``; ``None``:
        ``<workspace>/exports/spark-segments`` or ``./spark-segments``.
    k, lens, as_of, seed, n_init, sample_size, n_resamples:
        As in :func:`~mallseg.distributed.segment.segment_with_spark`.
    remote, master:
        A Spark Connect URL (``sc://host:15002``), or the master of a local session
        (default ``local[2]``); a session already running (``spark-submit``) wins.
    """

    inputs: str | None = None
    out: str | None = None
    k: int | Literal["auto"] = "auto"
    lens: str | tuple[str, ...] | None = None
    as_of: date | None = None
    seed: int = 0
    n_init: int = 3
    sample_size: int = DEFAULT_SAMPLE_SIZE
    n_resamples: int = 10
    remote: str | None = None
    master: str | None = None


@dataclass(frozen=True)
class SparkSegmentOutcome:
    """A finished Spark segmentation and where its results were written.

    Attributes
    ----------
    segmentation:
        The per-segment result (names, sizes, profiles, centres, schema).
    inputs:
        The folder the tables were read from.
    exported_rows:
        Rows written per table when the tables were exported from a workspace; empty when
        a folder was given.
    assignments_path, summary_path:
        Where the assignments (Parquet folder) and ``segments.json`` are.
    master:
        The Spark master the segmentation ran on (``local[2]``, ``yarn``, a Connect URL).
    """

    segmentation: SparkSegmentation = field(repr=False)
    inputs: str
    exported_rows: dict[str, int]
    assignments_path: str
    summary_path: str
    master: str


def segment_on_spark(
    request: SparkSegmentRequest, workspace: Workspace | None = None
) -> SparkSegmentOutcome:
    """Segment on Spark what ``request`` names and write assignments and segments.

    Raises
    ------
    ValueError
        When neither ``request.inputs`` nor a workspace is given, the workspace has no
        customers, or the inputs or parameters cannot be used (the message says which);
        :class:`~mallseg.distributed.session.SparkUnavailableError` when a local session
        is needed and Java is missing.
    """
    exported: dict[str, int] = {}
    if request.inputs is not None:
        inputs = request.inputs
    elif workspace is not None:
        folder = workspace.exports_folder / EXPORT_FOLDER
        exported = export_canonical_tables(workspace, folder)
        inputs = str(folder)
    else:
        raise ValueError("nothing to segment: give the folder of canonical tables (--inputs) "
                         "or a workspace")
    if request.out is not None:
        out = request.out
    elif workspace is not None:
        out = str(workspace.exports_folder / OUTPUT_FOLDER)
    else:
        out = OUTPUT_FOLDER
    spark = open_spark_session(remote=request.remote, master=request.master)
    result = segment_with_spark(
        inputs, spark=spark, k=request.k,
        lens=list(request.lens) if isinstance(request.lens, tuple) else request.lens,
        as_of=request.as_of, seed=request.seed, n_init=request.n_init,
        sample_size=request.sample_size, n_resamples=request.n_resamples,
    )
    assignments, summary = write_segmentation(result, out)
    master = request.remote or _master(spark)
    return SparkSegmentOutcome(result, inputs, exported, assignments, summary, master)


def write_segmentation(result: SparkSegmentation, out: str) -> tuple[str, str]:
    """Write ``result``'s assignments (Parquet, by Spark) and ``segments.json`` under ``out``.

    Returns the two paths written. A path with a scheme (``s3a://``, ``hdfs://``) gets
    ``segments.json`` as a one-part text folder written by Spark; a local one, a file.
    """
    root = out.rstrip("/")
    names = sf.create_map(*[sf.lit(x) for s, n in result.names.items() for x in (s, n.name)])
    assignments = f"{root}/assignments"
    (result.assignments.withColumn("segment_name", names[sf.col("segment")])
     .write.mode("overwrite").parquet(assignments))
    summary = json.dumps(result.to_dict(), indent=2, default=str)
    summary_path = f"{root}/segments.json"
    if "://" in root:
        spark = result.assignments.sparkSession
        spark.createDataFrame([(summary,)], "json STRING").coalesce(1).write.mode(
            "overwrite").text(summary_path)
    else:
        Path(root).mkdir(parents=True, exist_ok=True)
        Path(summary_path).write_text(summary)
    logger.info("wrote %s and %s", assignments, summary_path)
    return assignments, summary_path


def _master(spark: SparkSession) -> str:
    if type(spark).__module__.startswith("pyspark.sql.connect"):
        return "spark connect"  # a Connect session has no SparkContext
    return str(spark.sparkContext.master)
