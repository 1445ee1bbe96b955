"""A Spark segmentation kept in the workspace as a run, like a DuckDB one.

:func:`record_spark_run` writes what :func:`mallseg.app.segment.segment_customers` records
for a DuckDB run, so that ``mallseg status``, ``report``, ``explain``, the insights and
``assign --run`` read a Spark run as they read any other:

- the run (``runs``): parameters (``engine: spark``, the lens, k, the features), the
  reference time, the feature schema and its hash, the ingests read, and as metrics the
  segments (sizes, shares, names, descriptions), the names, the choice of k, the fitted
  preprocessing and centres and the stage times;
- the assignments of every customer, loaded into ``segment_assignments`` by DuckDB reading
  the Parquet Spark wrote (no customer row passes through Python); their confidence is
  NULL, since k-means on Spark computes none;
- one row per segment (``segments``) with its profile;
- the run's features as its ``features`` snapshot, again read by DuckDB from Parquet
  written by Spark (what ``explain`` and monitoring read);
- a model file (:func:`~mallseg.distributed.model.segmenter_from_spark`: the project's
  Segmenter with Spark's preprocessing and centres), which ``explain`` and ``assign``
  score with; the run's metrics count the customers it places elsewhere than Spark did
  (``model_disagreements``, 0 but for exact ties);
- the segments' make-up by gender and age band (:func:`mallseg.app.consent_makeup.
  save_makeup`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from mallseg.app.consent_makeup import save_makeup
from mallseg.core.sql_text import quote_identifier, quote_literal
from mallseg.distributed.model import segmenter_from_spark
from mallseg.distributed.segment import SparkSegmentation
from mallseg.segment.model_files import save_segmenter
from mallseg.workspace import Workspace

__all__ = ["SPARK_ENGINE", "record_spark_run"]

logger = logging.getLogger(__name__)

SPARK_ENGINE = "spark"
"""The ``engine`` parameter of a run segmented on Spark."""


def record_spark_run(
    workspace: Workspace,
    result: SparkSegmentation,
    *,
    assignments_path: str,
    features_path: str,
    parameters: Mapping[str, Any],
    actor: str | None = None,
) -> str:
    """Record ``result`` as a segmentation run of ``workspace``; return its run id.

    Parameters
    ----------
    workspace:
        The open workspace whose tables were segmented.
    result:
        The Spark segmentation.
    assignments_path, features_path:
        Local folders of Parquet parts Spark wrote: ``customer_id, segment,
        segment_name`` of every customer, and every customer's features.
    parameters:
        What was asked (recorded with the run, beside ``engine``, the features used and the
        number of customers).
    actor:
        Who asked, for the audit log.

    Raises
    ------
    ValueError
        When the assignments do not hold exactly the customers the segmentation counted
        (nothing is recorded then: the run is marked failed).
    """
    schema = result.schema
    recorded = {**parameters, "method": "cluster", "engine": SPARK_ENGINE,
                "algorithms": ["kmeans"], "lens": result.lens,
                "features": list(result.features), "customers": result.n_customers}
    con = workspace.connection
    with workspace.run("segment", recorded, actor=actor) as draft:
        run_id = draft.run_id
        draft.reference_time = schema.as_of
        draft.feature_schema = schema.to_dict()
        draft.feature_schema_hash = schema.fingerprint()
        draft.ingest_ids = workspace.completed_ingests()
        segments = _segment_rows(result)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                "INSERT INTO segment_assignments SELECT ?, CAST(customer_id AS VARCHAR), "
                "CAST(segment AS INTEGER), segment_name, CAST(NULL AS DOUBLE) "
                f"FROM read_parquet({_parts(assignments_path)})", [run_id])
            loaded = con.execute("SELECT count(*) FROM segment_assignments WHERE run_id = ?",
                                 [run_id]).fetchall()[0][0]
            if loaded != result.n_customers:
                raise ValueError(
                    f"{assignments_path} holds {loaded:,} assignments, the Spark "
                    f"segmentation counted {result.n_customers:,} customers: segment again")
            for row in segments:
                con.execute("INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [run_id, row["segment"], row["name"], row["size"], row["share"],
                             row["description"], json.dumps(row["profile"], default=str)])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        snapshot = workspace.save_snapshot(
            run_id, "features", f"SELECT * FROM read_parquet({_parts(features_path)})")
        draft.model_path, disagreements = _save_model(workspace, run_id, snapshot, result,
                                                      seed=int(parameters.get("random_state", 0)))
        save_makeup(workspace, run_id, schema.as_of, actor=actor)
        spark_result = result.to_dict()
        draft.metrics = {
            "engine": SPARK_ENGINE,
            "selection": spark_result["selection"],
            "seconds": spark_result["seconds"],
            "segments": [{k: v for k, v in row.items() if k != "profile"} for row in segments],
            "names": spark_result["names"],
            "profiled_customers": result.profiled_customers,
            "not_enough_data": result.n_not_enough_data,
            "preprocessing": spark_result["preprocessing"],
            "kmeans": spark_result["kmeans"],
            "model_disagreements": disagreements,
        }
        draft.summary = _summary(result)
    logger.info("recorded the Spark segmentation as run %s", run_id)
    return run_id


def _save_model(workspace: Workspace, run_id: str, snapshot: str, result: SparkSegmentation,
                *, seed: int) -> tuple[str, int]:
    """Write the run's model file; return its path and the customers it places otherwise."""
    con = workspace.connection
    frame = con.execute(f"SELECT * FROM {quote_identifier(snapshot)} ORDER BY customer_id").df()
    segmenter = segmenter_from_spark(frame, result, seed=seed)
    spark_labels = con.execute(
        "SELECT segment_id FROM segment_assignments WHERE run_id = ? ORDER BY customer_id",
        [run_id]).fetchnumpy()["segment_id"]
    disagreements = int((np.asarray(spark_labels) != segmenter.labels_).sum())
    path = workspace.models_folder / f"run-{run_id}.skops"
    save_segmenter(segmenter, path, metadata={
        "run_id": run_id, "lens": result.lens, "features": list(result.features),
        "segment_names": {str(s): n.name for s, n in result.names.items()},
        "feature_schema_hash": result.schema.fingerprint(), "engine": "spark",
    })
    return str(path), disagreements


def _segment_rows(result: SparkSegmentation) -> list[dict[str, Any]]:
    profiles = {int(r["segment"]): r for r in result.profiles.to_dict()["segments"]}
    rows = []
    for _, row in result.segment_table().iterrows():
        segment = int(row["segment"])
        rows.append({"segment": segment, "name": str(row["name"]), "size": int(row["size"]),
                     "share": float(row["share"]), "description": str(row["description"]),
                     "profile": profiles.get(segment, {})})
    return rows


def _summary(result: SparkSegmentation) -> str:
    how = (result.selection.explanation if result.selection is not None
           else f"k = {result.k} as asked.")
    return (f"{how} k-means on Spark over {result.n_customers:,} customers; profiles and "
            f"names from {result.profiled_customers:,} of them.")


def _parts(folder: str) -> str:
    return quote_literal(f"{folder.rstrip('/')}/*.parquet")
