"""Use cases of monitoring: drift, migration, refits that keep identities, rollback, updates.

- :func:`check_monitor`: compare a reference window (up to the run's reference time) with a
  current one (up to the latest event, or a later run's reference time) through the run's
  model; the verdict (*stable*, *watch*, *refit due*) with its reasons, recorded as a
  ``monitor`` run that keeps both windows' features; optionally refit when due.
- :func:`segment_migration`: who moved between two snapshots (runs or live assignments).
- :func:`refit_segments`: fit again as the run was fitted, then give the new segments the
  old ids and names where they are the same segments (splits, merges, new and ended
  segments reported and kept in the changelog).
- :func:`rollback_model`: make an earlier version current again, as a new run.
- :func:`list_model_versions`: the versions with their origin and segments.
- :func:`update_customers` / :func:`update_after_ingest`: rebuild only the affected
  customers' features and write their live assignments.

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
...     first = segment_customers(ws, SegmentRequest(lens="classic", algorithms=("kmeans",),
...                                                  k=5, n_resamples=2))
...     refit = refit_segments(ws, RefitRequest(random_state=7))
...     kept = [e.kind for e in refit.identity.events]
...     check = check_monitor(ws)
>>> kept, check.verdict, check.message
(['kept', 'kept', 'kept', 'kept', 'kept'], 'stable', 'no customers loaded since run 0002: \
nothing to compare yet')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from mallseg.app.run_artifacts import RunArtifacts, load_run, snapshot_features
from mallseg.app.segment import SegmentRequest, segment_customers
from mallseg.core.sql_text import quote_identifier
from mallseg.data.consent_settings import group_size_rule
from mallseg.features.build import build_features
from mallseg.features.reference_time import latest_event_time
from mallseg.features.sources import inspect_sources
from mallseg.monitor.drift import DriftReport, Verdict, check_drift
from mallseg.monitor.identity_store import copy_run_rows
from mallseg.monitor.lineage import MatchRule
from mallseg.monitor.migration import (
    AssignmentSnapshot,
    MigrationResult,
    export_movers,
    live_snapshot,
    migrate,
    run_snapshot,
)
from mallseg.monitor.online import (
    OnlineUpdate,
    affected_customers,
    customer_features,
    place_customers,
    write_live_assignments,
)
from mallseg.monitor.realign import RefitResult, Refitted, realign_refit
from mallseg.monitor.thresholds import DriftThresholds
from mallseg.monitor.versions import (
    ModelVersion,
    RollbackResult,
    family_of,
    model_versions,
    record_restored,
    register_version,
    version_rows,
)
from mallseg.monitor.versions import run_identities as identities_for_run
from mallseg.monitor.windows import NoNewDataError, WindowPair, comparison_frames
from mallseg.workspace import Workspace
from mallseg.workspace.runs import list_runs, utc_now

__all__ = [
    "MigrationResult", "ModelVersion", "MonitorRequest", "MonitorResult", "OnlineUpdate",
    "OnlineUpdater",
    "RefitRequest", "RefitResult", "RollbackResult", "check_monitor", "list_model_versions",
    "refit_segments", "rollback_model", "run_identities", "segment_migration",
    "update_after_ingest", "update_customers",
]

LIVE = "live"
"""Snapshot name of the current version's live assignments."""
_KEPT_WINDOW_SNAPSHOTS = 3


@dataclass(frozen=True)
class MonitorRequest:
    """What to check: run ``run_id`` (default: current) against the latest data or a run."""

    run_id: str | None = None
    against: str | None = None
    window_days: float | None = None
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)
    resamples: int = 5
    refit_if_due: bool = False
    random_state: int = 0


@dataclass(frozen=True)
class MonitorResult:
    """A drift check: the windows, the report (None when nothing could be compared)."""

    run_id: str
    monitor_run_id: str | None
    against: str | None
    windows: WindowPair | None
    report: DriftReport | None
    message: str = ""
    refit: RefitResult | None = None

    @property
    def verdict(self) -> Verdict:
        """The report's verdict (stable when there was nothing to compare)."""
        return self.report.verdict if self.report is not None else "stable"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"run_id": self.run_id, "monitor_run_id": self.monitor_run_id,
                "against": self.against, "verdict": self.verdict, "message": self.message,
                "windows": self.windows.to_dict() if self.windows else None,
                "report": self.report.to_dict() if self.report else None,
                "refit": self.refit.to_dict() if self.refit else None}


@dataclass(frozen=True)
class RefitRequest:
    """A refit of version ``run_id`` (default: current); ``None`` fields: as it was fitted."""

    run_id: str | None = None
    k: int | Literal["auto"] | None = None
    algorithms: tuple[str, ...] | None = None
    random_state: int | None = None
    as_of: Any = None
    rule: MatchRule = field(default_factory=MatchRule)


def run_identities(workspace: Workspace, artifacts: RunArtifacts) -> dict[int, tuple[int, str]]:
    """Model label -> (stable id, name) of a run (its labels, when it has no lineage)."""
    return identities_for_run(workspace.connection, artifacts.run_id, artifacts.record.metrics,
                              artifacts.segment_names)


def check_monitor(workspace: Workspace, request: MonitorRequest | None = None, *,
                  actor: str | None = None) -> MonitorResult:
    """Check run ``request.run_id`` for drift and record the check (see the module docs).

    Raises
    ------
    mallseg.workspace.RunNotFoundError
        When a run does not exist.
    ValueError
        For an RFM run (its groups are rules on fixed cut points: nothing to drift from).
    """
    request = request or MonitorRequest()
    rule = group_size_rule(workspace.connection)
    request = replace(request, thresholds=replace(
        request.thresholds, min_customers=rule.at_least(request.thresholds.min_customers),
        min_group_size=rule.k))
    artifacts = _clustering_run(workspace, request.run_id)
    against = workspace.get_run(request.against, "segment") if request.against else None
    length = (pd.Timedelta(days=request.window_days).to_pytimedelta()
              if request.window_days else None)
    try:
        pair, reference, current = comparison_frames(
            workspace.connection, artifacts.schema, artifacts.run_id,
            snapshot=lambda: snapshot_features(workspace, artifacts.run_id),
            end=against.reference_time if against is not None else None, length=length)
    except NoNewDataError as exc:
        return MonitorResult(artifacts.run_id, None, request.against, None, None, str(exc))
    identities = run_identities(workspace, artifacts)
    selection = artifacts.record.metrics.get("selection") or {}
    report = check_drift(
        reference, current, artifacts.segmenter,  # type: ignore[arg-type]
        kinds=artifacts.schema.kinds, segment_names={k: v[1] for k, v in identities.items()},
        segment_ids={k: v[0] for k, v in identities.items()}, thresholds=request.thresholds,
        resamples=request.resamples, fit_silhouette=selection.get("silhouette"),
        fit_stability=(selection.get("stability") or {}).get("mean_ari"),
        random_state=request.random_state)
    parameters = {"run_id": artifacts.run_id, "against": request.against,
                  "window_days": request.window_days, "resamples": request.resamples,
                  "thresholds": request.thresholds.to_dict()}
    with workspace.run("monitor", parameters, actor=actor) as draft:
        draft.metrics = {"verdict": report.verdict, "windows": pair.to_dict() if pair else None,
                         "report": report.to_dict()}
        draft.summary = f"{report.verdict}: {report.reasons[0].message}"
        draft.reference_time = pair.current.until if pair else artifacts.schema.as_of
        draft.feature_schema = artifacts.schema.to_dict()
        draft.feature_schema_hash = artifacts.record.feature_schema_hash
        draft.ingest_ids = workspace.completed_ingests()
        workspace.save_snapshot(draft.run_id, "reference_window", reference)
        workspace.save_snapshot(draft.run_id, "current_window", current)
    _prune_window_snapshots(workspace)
    refit = None
    if request.refit_if_due and report.verdict == "refit due":
        refit = refit_segments(workspace, RefitRequest(run_id=artifacts.run_id), actor=actor)
    return MonitorResult(artifacts.run_id, draft.run_id, request.against, pair, report,
                         refit=refit)


def _clustering_run(workspace: Workspace, run_id: str | None) -> RunArtifacts:
    artifacts = load_run(workspace, run_id)
    if artifacts.segmenter is None:
        raise ValueError(f"run {artifacts.run_id} scores RFM groups by fixed cut points: drift "
                         "checks and refits need a clustering run (`mallseg segment`)")
    return artifacts


def _prune_window_snapshots(workspace: Workspace) -> None:
    """Keep the windows of the last few checks only (each is a full feature table)."""
    checks = [r.run_id for r in list_runs(workspace.connection, "monitor")]
    for run_id in checks[:-_KEPT_WINDOW_SNAPSHOTS]:
        workspace.drop_snapshots(run_id)


def refit_segments(workspace: Workspace, request: RefitRequest | None = None, *,
                   actor: str | None = None) -> RefitResult:
    """Fit again as version ``request.run_id`` was fitted, keeping identities (module docs).

    Raises
    ------
    mallseg.workspace.RunNotFoundError
        When the run does not exist.
    ValueError
        For an RFM run, or when the new fit fails (no customers, no eligible candidate).
    """
    request = request or RefitRequest()
    old = _clustering_run(workspace, request.run_id)
    fitted = segment_customers(workspace, _segment_request(old, request), actor=actor)
    con = workspace.connection
    frame = None
    if request.rule.method == "centroid":
        frame = build_features(con, schema=replace(old.schema, as_of=fitted.schema.as_of)).frame
        frame = frame.set_index(frame["customer_id"].astype(str)).reindex(
            fitted.customer_ids.astype(str)).reset_index(drop=True)
    refitted = Refitted(
        fitted.run_id, fitted.customer_ids, np.asarray(fitted.labels),
        {s: n.name for s, n in fitted.names.items()},
        str(fitted.model_path) if fitted.model_path else None, fitted.schema.fingerprint(),
        fitted.k)
    match = realign_refit(con, old.run_id, run_identities(workspace, old), refitted,
                          rule=request.rule, old_model=old.segmenter, frame=frame, actor=actor)
    workspace.audit("refit_segments", fitted.run_id,
                    {"previous": old.run_id, "events": [e.kind for e in match.events]},
                    actor=actor)
    labels = np.asarray(fitted.labels)
    segments = tuple({"segment_id": match.ids[label], "name": match.names[label],
                      "size": int((labels == label).sum()),
                      "share": float((labels == label).mean())} for label in sorted(match.ids))
    return RefitResult(fitted.run_id, old.run_id, match, segments)


def _segment_request(old: RunArtifacts, request: RefitRequest) -> SegmentRequest:
    params = old.record.parameters
    lens = params.get("lens")
    k = request.k if request.k is not None else params.get("k", "auto")
    return SegmentRequest(
        lens=tuple(lens) if isinstance(lens, list) else lens,
        algorithms=request.algorithms or tuple(params.get("algorithms") or ("kmeans", "gmm")),
        k="auto" if k == "auto" else int(k),
        n_resamples=int(params.get("n_resamples", 10)),
        min_segment_share=float(params.get("min_segment_share", 0.02)),
        marketing_range=tuple(params.get("marketing_range") or (3, 8)),
        random_state=(request.random_state if request.random_state is not None
                      else int(params.get("random_state", 0))),
        as_of=request.as_of)


def rollback_model(workspace: Workspace, run_id: str, *, actor: str | None = None
                   ) -> RollbackResult:
    """Make version ``run_id`` current again: a new run with its model, names and segments.

    Raises
    ------
    mallseg.workspace.RunNotFoundError
        When there is no such segmentation run.
    ValueError
        When ``run_id`` is the current version already.
    mallseg.segment.model_files.ModelFileError
        When its model file is missing or tampered with.
    """
    target = load_run(workspace, run_id)
    current = workspace.latest_run("segment")
    if current is not None and current.run_id == target.run_id:
        raise ValueError(f"run {target.run_id} is the current version already")
    identities = run_identities(workspace, target)
    record, con = target.record, workspace.connection
    with workspace.run("segment", {**record.parameters, "rollback_of": record.run_id},
                       actor=actor) as draft:
        draft.metrics = {**record.metrics, "rollback_of": record.run_id}
        draft.summary = f"Rollback to run {record.run_id}. {record.summary}"
        draft.model_path = record.model_path
        draft.reference_time = record.reference_time
        draft.feature_schema = record.feature_schema
        draft.feature_schema_hash = record.feature_schema_hash
        draft.ingest_ids = list(record.ingest_ids)
        copy_run_rows(con, record.run_id, draft.run_id)
        snapshot = workspace.snapshot_table(record.run_id, "features")
        if snapshot is not None:
            workspace.save_snapshot(draft.run_id, "features",
                                    f"SELECT * FROM {quote_identifier(snapshot)}")
        register_version(con, draft.run_id, family=family_of(con, record.run_id),
                         parent=record.run_id, source="rollback", model_path=record.model_path,
                         schema_hash=record.feature_schema_hash, segments=len(identities),
                         actor=actor, note=f"replaced {current.run_id if current else '-'}")
        record_restored(con, draft.run_id, record.run_id, identities)
    replaced = current.run_id if current else ""
    workspace.audit("rollback_model", draft.run_id,
                    {"restored": record.run_id, "replaced": replaced}, actor=actor)
    return RollbackResult(draft.run_id, record.run_id, replaced,
                          {v[0]: v[1] for v in identities.values()})


def list_model_versions(workspace: Workspace) -> tuple[ModelVersion, ...]:
    """Every segmentation run as a version, oldest first; the newest is current."""
    return model_versions(workspace.connection)


def segment_migration(workspace: Workspace, before: str | None = None,
                      after: str | None = None, *, export: Path | None = None,
                      flow: tuple[int | None, int | None] | None = None) -> MigrationResult:
    """Who moved from snapshot ``before`` to ``after`` (run ids, or ``live``).

    Defaults: ``after`` is the current version, ``before`` the version it came from (its
    parent, else the previous segmentation run).

    Raises
    ------
    mallseg.workspace.RunNotFoundError
        When a run does not exist.
    LookupError
        When there is no earlier version to compare with.
    """
    current = workspace.get_run(None, "segment")
    after_snap = _snapshot(workspace, after or current.run_id, current.run_id)
    if before is None:
        before = _previous_version(workspace, after_snap.run_id)
    before_snap = _snapshot(workspace, before, current.run_id)
    con = workspace.connection
    aligned = (before_snap.run_id == after_snap.run_id
               or family_of(con, before_snap.run_id) == family_of(con, after_snap.run_id))
    migration = migrate(con, before_snap, after_snap, aligned=aligned).within(
        group_size_rule(con))
    if export is None:
        return MigrationResult(migration)
    rows = export_movers(con, before_snap, after_snap, export, aligned=aligned, flow=flow)
    workspace.audit("export_migration", str(export),
                    {"before": before_snap.label, "after": after_snap.label, "rows": rows})
    return MigrationResult(migration, export, rows)


def _snapshot(workspace: Workspace, name: str, current: str) -> AssignmentSnapshot:
    if name == LIVE:
        return live_snapshot(current)
    return run_snapshot(workspace.get_run(name, "segment").run_id)


def _previous_version(workspace: Workspace, run_id: str) -> str:
    parent = version_rows(workspace.connection).get(run_id, {}).get("parent_run_id")
    if parent:
        return str(parent)
    runs = [r.run_id for r in list_runs(workspace.connection, "segment")]
    earlier = runs[:runs.index(run_id)] if run_id in runs else []
    if not earlier:
        raise LookupError(f"run {run_id} is the first segmentation: nothing to compare it "
                          "with (give --from)")
    return earlier[-1]


class OnlineUpdater:
    """A run ready to re-place customers as their events arrive (its model read once).

    Parameters
    ----------
    workspace:
        The open workspace.
    run_id:
        The run whose segments customers are placed in (default: the current version).
    """

    def __init__(self, workspace: Workspace, run_id: str | None = None) -> None:
        self.workspace = workspace
        self.artifacts = load_run(workspace, run_id)
        self.identities = run_identities(workspace, self.artifacts)

    def update(self, customer_ids: Iterable[str], *, as_of: datetime | None = None,
               actor: str | None = None) -> OnlineUpdate:
        """Rebuild ``customer_ids``' features from their own rows and write their live segment.

        The features are the run's, as of ``as_of`` (default: the latest event in the data,
        never before the run's reference time). Unknown customers are listed, not placed.
        """
        con, artifacts = self.workspace.connection, self.artifacts
        wanted = sorted({str(c) for c in customer_ids})
        known = set(con.execute("SELECT customer_id FROM customers WHERE customer_id IN "
                                "(SELECT unnest(?::VARCHAR[]))", [wanted]).df()["customer_id"])
        ids = [c for c in wanted if c in known]
        schema = artifacts.schema
        if as_of is None:
            times = [t for t in (latest_event_time(con, inspect_sources(con)), schema.as_of)
                     if t is not None]
            as_of = max(times) if times else None
        frame = customer_features(con, replace(schema, as_of=as_of), ids)
        placed = place_customers(frame, artifacts.segmenter, self.identities,
                                 rfm_cuts=artifacts.rfm_cuts)
        previous = con.execute(
            f"SELECT customer_id, segment_id AS previous_segment_id FROM "
            f"({live_snapshot(artifacts.run_id).sql}) WHERE customer_id IN "
            "(SELECT unnest(?::VARCHAR[]))", [ids]).df()
        write_live_assignments(con, artifacts.run_id, placed, utc_now())
        self.workspace.audit("update_customers", artifacts.run_id,
                             {"customers": len(placed), "as_of": as_of}, actor=actor)
        merged = placed.merge(previous, on="customer_id", how="left")
        return OnlineUpdate(artifacts.run_id, as_of, merged, frame,
                            tuple(c for c in wanted if c not in known))


def update_customers(workspace: Workspace, customer_ids: Iterable[str], *,
                     run_id: str | None = None, as_of: datetime | None = None,
                     actor: str | None = None) -> OnlineUpdate:
    """Re-place ``customer_ids`` with run ``run_id`` (see :meth:`OnlineUpdater.update`)."""
    return OnlineUpdater(workspace, run_id).update(customer_ids, as_of=as_of, actor=actor)


def update_after_ingest(workspace: Workspace, ingest_id: str, *, run_id: str | None = None,
                        actor: str | None = None) -> OnlineUpdate:
    """Re-place the customers whose rows ingest ``ingest_id`` added or changed."""
    customers = affected_customers(workspace.connection, ingest_id)
    return update_customers(workspace, customers, run_id=run_id, actor=actor)
