"""One segmentation run on a workspace: features, selection, personas, model file, records.

:func:`run_segmentation` is what ``mallseg segment`` and ``mallseg demo`` call and what the
HTTP service will call: it builds the customer features in the workspace database, chooses
a segmentation (:func:`~mallseg.segment.selection.select_segmentation`), profiles and names
the segments, saves the fitted model with skops, and records the run, its metrics, the
segments and every customer's assignment in the workspace.

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> from mallseg.data.ingest import ingest_file
>>> from mallseg.datasets.samples import classic_sample_path
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with Workspace.open(folder / "ws") as ws:
...     _ = ingest_file(ws, "customers", classic_sample_path())
...     run = run_segmentation(ws, lens="classic", algorithms=("kmeans",), k=5,
...                            n_resamples=2)
...     stored = ws.table_count("segment_assignments")
>>> run.k, stored, len(run.names)
(5, 200, 5)
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd

from mallseg.core.sql_text import quote_literal
from mallseg.features.build import build_customer_features
from mallseg.features.catalog import describe_feature
from mallseg.features.lenses import default_lens, resolve_lens
from mallseg.segment.model_files import load_segmenter, save_segmenter
from mallseg.segment.naming import SegmentName, name_segments
from mallseg.segment.personas import SegmentProfiles, profile_segments
from mallseg.segment.segmenter import Segmenter
from mallseg.segment.selection import SelectionResult, select_segmentation
from mallseg.workspace import Workspace

__all__ = [
    "SegmentationRun",
    "export_assignments",
    "latest_model",
    "latest_segment_run_id",
    "run_segmentation",
]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, float], None]
UNASSIGNED_NAME = "Unassigned"


@dataclass
class SegmentationRun:
    """Everything one run produced."""

    run_id: str
    lens: str | list[str]
    features: list[str]
    selection: SelectionResult
    profiles: SegmentProfiles
    names: dict[int, SegmentName]
    labels: np.ndarray
    confidence: np.ndarray
    customer_ids: np.ndarray
    model_path: Path
    seconds: dict[str, float]

    @property
    def segmenter(self) -> Segmenter:
        """The fitted model."""
        return self.selection.chosen.segmenter

    @property
    def k(self) -> int:
        """Number of segments (unassigned customers aside)."""
        return int(self.selection.chosen.k)

    def segment_table(self) -> pd.DataFrame:
        """One row per segment: id, name, size, share, distinguishing features, description."""
        rows = []
        for _, row in self.profiles.summary.iterrows():
            segment = int(row["segment"])
            name = self.names.get(segment)
            rows.append({
                "segment": segment,
                "name": name.name if name else UNASSIGNED_NAME,
                "size": int(row["size"]),
                "share": float(row["share"]),
                "distinguishing": row.get("distinguishing", ""),
                "description": name.description if name else "Not close to any segment.",
            })
        return pd.DataFrame(rows)


def run_segmentation(
    workspace: Workspace,
    *,
    lens: str | Sequence[str] | None = None,
    algorithms: Sequence[str] = ("kmeans", "gmm"),
    k: int | Literal["auto"] = "auto",
    n_resamples: int = 10,
    min_segment_share: float = 0.02,
    random_state: int = 0,
    naming_rules: dict[str, Any] | None = None,
    progress: ProgressCallback | None = None,
) -> SegmentationRun:
    """Build features, choose and fit a segmentation, profile, name, save and record it.

    Parameters
    ----------
    workspace:
        An open workspace holding at least the ``customers`` table.
    lens:
        Lens name or feature list; ``None`` picks the richest lens the data supports
        (:func:`mallseg.features.lenses.default_lens`).
    algorithms:
        Algorithms to compare.
    k:
        Number of segments, or ``"auto"`` to choose it.
    n_resamples:
        Refits used to measure stability.
    min_segment_share:
        No segment may hold fewer than this share of customers (nor fewer than 10).
    random_state:
        Seed: the same data and seed give the same segments.
    naming_rules:
        Overrides for :func:`mallseg.segment.naming.name_segments`.
    progress:
        Called with a stage name and the fraction done.

    Raises
    ------
    ValueError
        When the workspace has no customers or the lens has no feature in this data.
    """
    report = progress or (lambda stage, fraction: None)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    report("features", 0.0)
    frame = build_customer_features(workspace.connection)
    seconds["features"] = time.perf_counter() - started
    report("features", 1.0)
    chosen_lens: str | list[str] = (
        default_lens(frame.columns) if lens is None
        else lens if isinstance(lens, str) else list(lens)
    )
    features = resolve_lens(chosen_lens, frame.columns)
    parameters = {
        "lens": chosen_lens, "features": features, "algorithms": list(algorithms), "k": k,
        "n_resamples": n_resamples, "min_segment_share": min_segment_share,
        "random_state": random_state,
        "customers": len(frame),
    }
    with workspace.run("segment", parameters) as record:
        run_id = record["run_id"]
        report("selection", 0.0)
        t0 = time.perf_counter()
        selection = select_segmentation(
            frame, features, algorithms=algorithms,
            k_values="auto" if k == "auto" else [int(k)],
            n_resamples=n_resamples, min_segment_share=min_segment_share,
            random_state=random_state,
        )
        seconds["selection"] = time.perf_counter() - t0
        report("selection", 1.0)
        segmenter = selection.chosen.segmenter
        labels = np.asarray(segmenter.labels_)
        confidence = np.asarray(segmenter.confidence(frame))
        profile_columns = _profile_columns(frame, features)
        profiles = profile_segments(frame, labels, profile_columns)
        names = name_segments(profiles, rules=naming_rules)
        model_path = workspace.models_folder / f"{run_id}.skops"
        save_segmenter(segmenter, model_path, metadata={
            "run_id": run_id, "lens": chosen_lens, "features": features,
            "segment_names": {str(s): n.name for s, n in names.items()},
        })
        run = SegmentationRun(
            run_id=run_id, lens=chosen_lens, features=features, selection=selection,
            profiles=profiles, names=names, labels=labels, confidence=confidence,
            customer_ids=frame["customer_id"].to_numpy(), model_path=model_path,
            seconds=seconds,
        )
        _store(workspace, run)
        seconds["total"] = time.perf_counter() - started
        record["metrics"] = {
            "selection": selection.to_dict(), "seconds": seconds,
            "segments": run.segment_table().to_dict(orient="records"),
        }
        record["summary"] = selection.explanation
        record["model_path"] = str(model_path)
    return run


def _profile_columns(frame: pd.DataFrame, features: Sequence[str]) -> list[str]:
    """Features to profile: the lens's, then every other documented one the data has."""
    extra = []
    for column in frame.columns:
        if column == "customer_id" or column in features:
            continue
        try:
            describe_feature(column)
        except KeyError:
            continue
        extra.append(column)
    return [*features, *extra]


def _store(workspace: Workspace, run: SegmentationRun) -> None:
    con = workspace.connection
    con.execute("BEGIN TRANSACTION")
    try:
        _insert_results(con, run)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _insert_results(con: duckdb.DuckDBPyConnection, run: SegmentationRun) -> None:
    names = {s: n.name for s, n in run.names.items()}
    assignments = pd.DataFrame({
        "run_id": run.run_id,
        "customer_id": run.customer_ids.astype(str),
        "segment_id": run.labels.astype("int32"),
        "segment_name": [names.get(int(s), UNASSIGNED_NAME) for s in run.labels],
        "confidence": run.confidence.astype(float),
    })
    con.register("_assignments", assignments)
    con.execute("INSERT INTO segment_assignments SELECT * FROM _assignments")
    con.unregister("_assignments")
    table = run.segment_table()
    profile_rows = {int(r["segment"]): r for r in run.profiles.to_dict()["segments"]}
    for _, row in table.iterrows():
        segment = int(row["segment"])
        con.execute(
            "INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?)",
            [run.run_id, segment, row["name"], int(row["size"]), float(row["share"]),
             row["description"], json.dumps(profile_rows.get(segment, {}), default=str)],
        )


def latest_model(workspace: Workspace) -> tuple[Segmenter, dict[str, Any], str]:
    """The model of the newest successful segmentation run, its metadata and run id.

    Raises
    ------
    LookupError
        When the workspace has no segmentation run yet.
    """
    record = workspace.latest_run("segment")
    if record is None or record.model_path is None:
        raise LookupError(_NO_SEGMENTATION.format(folder=workspace.folder))
    segmenter, metadata = load_segmenter(record.model_path)
    return segmenter, metadata, record.run_id


def latest_segment_run_id(workspace: Workspace) -> str:
    """Id of the newest successful segmentation run.

    Raises
    ------
    LookupError
        When the workspace has no segmentation run yet.
    """
    record = workspace.latest_run("segment")
    if record is None:
        raise LookupError(_NO_SEGMENTATION.format(folder=workspace.folder))
    return record.run_id


def export_assignments(workspace: Workspace, run_id: str, path: Path) -> int:
    """Write a run's assignments to CSV or Parquet (by the file's suffix); return the rows.

    Each row: customer id, segment id and name, confidence.

    Raises
    ------
    LookupError
        When the run has no assignments in this workspace.
    """
    con = workspace.connection
    count = con.execute("SELECT count(*) FROM segment_assignments WHERE run_id = ?",
                        [run_id]).fetchone()
    rows = int(count[0]) if count else 0
    if rows == 0:
        raise LookupError(f"run {run_id!r} has no assignments in workspace {workspace.folder}")
    path.parent.mkdir(parents=True, exist_ok=True)
    file_format = "PARQUET" if path.suffix.lower() in (".parquet", ".pq") else "CSV, HEADER"
    con.execute(
        "COPY (SELECT customer_id, segment_id, segment_name, round(confidence, 4) AS "
        "confidence FROM segment_assignments WHERE run_id = ? ORDER BY customer_id) "
        f"TO {quote_literal(path)} (FORMAT {file_format})",
        [run_id],
    )
    workspace.audit("export_segments", str(path), {"run_id": run_id, "rows": rows})
    return rows


_NO_SEGMENTATION = "workspace {folder} has no segmentation yet: run `mallseg segment`"
