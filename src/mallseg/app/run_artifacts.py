"""What a segmentation run kept: its record, feature schema, model and feature snapshot.

``explain``, ``assign`` and (later) monitoring read these, never the features of whatever
run came last.

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> from mallseg.data.ingest import ingest_file
>>> from mallseg.datasets.samples import classic_sample_path
>>> from mallseg.app.segment import SegmentRequest, segment_customers
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with Workspace.open(folder / "ws") as ws:
...     _ = ingest_file(ws, "customers", classic_sample_path())
...     _ = segment_customers(ws, SegmentRequest(lens="classic", k=5, n_resamples=2))
...     artifacts = load_run(ws, "1")
Traceback (most recent call last):
...
mallseg.workspace.runs.RunNotFoundError: no segment run '1' in workspace ...: did you mean 0001?
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from mallseg.core.sql_text import quote_identifier
from mallseg.features.schema import FeatureSchema
from mallseg.segment.model_files import load_segmenter
from mallseg.segment.segmenter import Segmenter
from mallseg.workspace import RunRecord, Workspace

__all__ = ["RunArtifacts", "load_run", "snapshot_features"]


@dataclass(frozen=True)
class RunArtifacts:
    """A segmentation run and what it kept."""

    record: RunRecord
    schema: FeatureSchema
    segmenter: Segmenter | None
    segment_names: dict[int, str]

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.record.run_id

    @property
    def method(self) -> str:
        """``cluster`` or ``rfm``."""
        return str(self.record.parameters.get("method", "cluster"))

    @property
    def rfm_cuts(self) -> dict[str, list[float]]:
        """The cut points of an RFM run's scores."""
        rfm = self.record.metrics.get("rfm") or {}
        return {k: [float(v) for v in values] for k, values in (rfm.get("cuts") or {}).items()}


def load_run(workspace: Workspace, run_id: str | None = None) -> RunArtifacts:
    """The segmentation run ``run_id`` (default: the latest) with its schema and model.

    Raises
    ------
    mallseg.workspace.RunNotFoundError
        When there is no such run (with near matches).
    mallseg.segment.model_files.ModelFileError
        When the model file is missing, foreign or tampered with.
    """
    record = workspace.get_run(run_id, "segment")
    schema = FeatureSchema.from_dict(record.feature_schema) if record.feature_schema else \
        FeatureSchema(record.reference_time)
    segmenter = None
    if record.model_path:
        segmenter, _metadata = load_segmenter(record.model_path)
    names_metrics: dict[str, Any] = record.metrics.get("names") or {}
    names = {int(k): str(v["name"]) for k, v in names_metrics.items()}
    return RunArtifacts(record, schema, segmenter, names)


def snapshot_features(
    workspace: Workspace, run_id: str, customer_id: str | None = None
) -> pd.DataFrame:
    """The features run ``run_id`` was fitted on (one customer's, or everyone's).

    Raises
    ------
    LookupError
        When the run kept no feature snapshot (a run of an older release).
    """
    table = workspace.snapshot_table(run_id, "features")
    if table is None:
        raise LookupError(
            f"run {run_id} kept no feature snapshot (made by an older mallseg): segment again "
            "to explain its customers"
        )
    sql = f"SELECT * FROM {quote_identifier(table)}"
    if customer_id is None:
        return workspace.connection.execute(sql + " ORDER BY customer_id").df()
    return workspace.connection.execute(sql + " WHERE customer_id = ?", [customer_id]).df()
