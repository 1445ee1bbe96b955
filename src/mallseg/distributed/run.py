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

Segmenting a workspace's own tables records the run in the workspace
(:func:`~mallseg.distributed.record.record_spark_run`): its assignments and features are
loaded back by DuckDB from the Parquet Spark wrote, so ``mallseg status``, ``report``,
``explain``, ``assign --run`` and the insights read it like a DuckDB run. A workspace that
leaves sensitive attributes out (``sensitive_features off``) has gender and age left out
of the Spark segmentation's features too.

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
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from pyspark.sql import SparkSession
from pyspark.sql import functions as sf

from mallseg.core.group_size import DEFAULT_RULE
from mallseg.data.consent_settings import group_size_rule, sensitive_features_enabled
from mallseg.distributed.export import export_canonical_tables
from mallseg.distributed.features import SparkFeatureBuild, build_spark_features
from mallseg.distributed.record import record_spark_run
from mallseg.distributed.segment import (
    DEFAULT_SAMPLE_SIZE,
    SparkSegmentation,
    segment_with_spark,
)
from mallseg.distributed.session import open_spark_session
from mallseg.features.lenses import default_lens, resolve_lens
from mallseg.features.sensitive import drop_sensitive
from mallseg.workspace import Workspace

__all__ = ["SparkSegmentOutcome", "SparkSegmentRequest", "segment_on_spark",
           "spark_master_name", "write_segmentation"]

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
    run_id:
        The workspace run the segmentation was recorded as; ``None`` when a folder was
        segmented.
    """

    segmentation: SparkSegmentation = field(repr=False)
    inputs: str
    exported_rows: dict[str, int]
    assignments_path: str
    summary_path: str
    master: str
    run_id: str | None = None


def segment_on_spark(
    request: SparkSegmentRequest, workspace: Workspace | None = None, *,
    actor: str | None = None,
) -> SparkSegmentOutcome:
    """Segment on Spark what ``request`` names and write assignments and segments.

    With a workspace and no ``request.inputs``, the workspace's tables are segmented and
    the segmentation is recorded as a run of it (``actor``: who asked, for the audit log).

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
    lens = list(request.lens) if isinstance(request.lens, tuple) else request.lens
    recording = workspace is not None and request.inputs is None
    build: str | SparkFeatureBuild = inputs
    if recording and workspace is not None:
        build = build_spark_features(spark, inputs, as_of=request.as_of)
        if not sensitive_features_enabled(workspace.connection):
            lens = _without_sensitive(build, lens)
    rule = group_size_rule(workspace.connection) if workspace is not None else DEFAULT_RULE
    result = segment_with_spark(
        build, spark=spark, k=request.k, lens=lens, group_size=rule,
        as_of=None if isinstance(build, SparkFeatureBuild) else request.as_of,
        seed=request.seed, n_init=request.n_init,
        sample_size=request.sample_size, n_resamples=request.n_resamples,
    )
    assignments, summary = write_segmentation(result, out)
    master = request.remote or spark_master_name(spark)
    run_id = None
    if recording and workspace is not None:
        run_id = _record(workspace, result, assignments, request, master, actor)
    return SparkSegmentOutcome(result, inputs, exported, assignments, summary, master, run_id)


def _without_sensitive(build: SparkFeatureBuild, lens: str | list[str] | None) -> list[str]:
    name = default_lens(build.frame.columns) if lens is None else lens
    features = resolve_lens(name, build.frame.columns)
    return drop_sensitive(features, lens=name if isinstance(name, str) else "custom")


def _record(workspace: Workspace, result: SparkSegmentation, assignments: str,
            request: SparkSegmentRequest, master: str, actor: str | None) -> str:
    """Record ``result`` in ``workspace``; its features pass through a scratch Parquet folder."""
    if "://" in assignments:
        raise ValueError(f"--out {assignments} is not on this machine: a run is recorded in "
                         "the workspace from a local output folder")
    scratch = Path(tempfile.mkdtemp(prefix="spark-features-", dir=workspace.exports_folder))
    try:
        features = str(scratch / "features")
        if result.feature_frame is None:
            raise ValueError("the Spark segmentation kept no features to record")
        result.feature_frame.write.mode("overwrite").parquet(features)
        parameters = {
            "k": request.k, "n_resamples": request.n_resamples,
            "random_state": request.seed, "sample_size": request.sample_size,
            "as_of": str(request.as_of) if request.as_of is not None else None,
            "master": master, "sensitive_features":
                "on" if sensitive_features_enabled(workspace.connection) else "off",
            "min_group_size": group_size_rule(workspace.connection).k,
        }
        return record_spark_run(workspace, result, assignments_path=assignments,
                                features_path=features, parameters=parameters, actor=actor)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


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


def spark_master_name(spark: SparkSession) -> str:
    """The master ``spark`` runs on (``local[2]``, ``yarn``), or ``spark connect``."""
    if type(spark).__module__.startswith("pyspark.sql.connect"):
        return "spark connect"  # a Connect session has no SparkContext
    return str(spark.sparkContext.master)
