"""Use case: segment the workspace's customers and record the run.

Steps: build the features as of the data's reference time (:mod:`mallseg.features`), choose
and fit a segmentation by measurement, or score RFM groups (:mod:`mallseg.segment`),
profile and name the segments, save the model file, keep the run's feature snapshot, and
record the run (parameters, metrics, reference time, feature schema, the ingests read),
its assignments and its segments (:mod:`mallseg.workspace`).

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> from mallseg.data.ingest import ingest_file
>>> from mallseg.datasets.samples import classic_sample_path
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with Workspace.open(folder / "ws") as ws:
...     _ = ingest_file(ws, "customers", classic_sample_path())
...     result = segment_customers(ws, SegmentRequest(lens="classic", algorithms=("kmeans",),
...                                                   k=5, n_resamples=2))
...     stored = ws.table_count("segment_assignments")
>>> result.k, stored, len(result.names), result.run_id
(5, 200, 5, '0001')
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from mallseg.app.consent_makeup import save_makeup
from mallseg.data.consent_settings import group_size_rule, sensitive_features_enabled
from mallseg.features.build import build_features
from mallseg.features.lenses import default_lens, resolve_lens
from mallseg.features.schema import FeatureSchema
from mallseg.features.sensitive import drop_sensitive
from mallseg.segment.model_files import save_segmenter
from mallseg.segment.naming import SegmentName, name_segments
from mallseg.segment.personas import SegmentProfiles, profile_segments
from mallseg.segment.rfm import RFM_FEATURES, RFMResult, rfm_segments
from mallseg.segment.rfm_naming import name_rfm_groups
from mallseg.segment.segmenter import Segmenter
from mallseg.segment.selection import SelectionResult, select_segmentation
from mallseg.segment.small_groups import suppress_small_segments
from mallseg.workspace import Workspace
from mallseg.workspace.segment_store import UNASSIGNED_NAME, store_segmentation

__all__ = ["SegmentRequest", "SegmentResult", "model_kinds", "segment_customers"]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, float], None]
Method = Literal["cluster", "rfm"]


@dataclass(frozen=True)
class SegmentRequest:
    """What to segment and how.

    Attributes
    ----------
    method:
        ``cluster`` (chosen by measurement) or ``rfm`` (quintile scores and the standard
        named groups).
    lens:
        Lens name or feature list; ``None`` picks the richest lens the data supports.
    algorithms, k, n_resamples, min_segment_share, marketing_range, random_state:
        As :func:`mallseg.segment.selection.select_segmentation` takes them (``k`` is a
        number or ``"auto"``).
    as_of:
        Reference time of the features (default: from the data).
    naming_rules:
        Overrides for :func:`mallseg.segment.naming.name_segments`.
    """

    method: Method = "cluster"
    lens: str | tuple[str, ...] | None = None
    algorithms: tuple[str, ...] = ("kmeans", "gmm")
    k: int | Literal["auto"] = "auto"
    n_resamples: int = 10
    min_segment_share: float = 0.02
    marketing_range: tuple[int, int] = (3, 8)
    random_state: int = 0
    as_of: Any = None
    naming_rules: dict[str, Any] | None = None

    def parameters(self) -> dict[str, Any]:
        """The request as the run records it.

        >>> SegmentRequest(k=4).parameters()["k"]
        4
        """
        return {
            "method": self.method, "lens": self.lens if not isinstance(self.lens, tuple)
            else list(self.lens), "algorithms": list(self.algorithms), "k": self.k,
            "n_resamples": self.n_resamples, "min_segment_share": self.min_segment_share,
            "marketing_range": list(self.marketing_range), "random_state": self.random_state,
            "as_of": str(self.as_of) if self.as_of is not None else None,
        }


@dataclass
class SegmentResult:
    """Everything one segmentation run produced."""

    run_id: str
    method: Method
    lens: str | list[str]
    features: list[str]
    schema: FeatureSchema
    profiles: SegmentProfiles
    names: dict[int, SegmentName]
    labels: np.ndarray
    confidence: np.ndarray
    customer_ids: np.ndarray
    model_path: Path | None
    selection: SelectionResult | None = None
    rfm: RFMResult | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def segmenter(self) -> Segmenter | None:
        """The fitted model (``None`` for RFM)."""
        return self.selection.chosen.segmenter if self.selection is not None else None

    @property
    def k(self) -> int:
        """Number of segments (unassigned customers aside)."""
        return len([s for s in self.names if s >= 0])

    @property
    def explanation(self) -> str:
        """Why this segmentation (the selection's reasons, or the RFM rule)."""
        if self.selection is not None:
            return self.selection.explanation
        return ("RFM: recency, frequency and spend scored in quintiles of the buyers (5 = best), "
                "groups from the (R, FM) score cells by the standard mapping.")

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
                "coverage": float(row.get("coverage", 1.0)),
                "distinguishing": row.get("distinguishing", ""),
                "suppressed": bool(row.get("suppressed", False)),
                "description": name.description if name else "Not close to any segment.",
            })
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready summary."""
        table = self.segment_table()
        table["distinguishing"] = table["distinguishing"].map(list)
        return {
            "run_id": self.run_id, "method": self.method, "lens": self.lens,
            "features": self.features, "k": self.k, "customers": len(self.labels),
            "reference": self.schema.sentence(), "explanation": self.explanation,
            "segments": table.to_dict(orient="records"),
            "names": {str(s): n.to_dict() for s, n in self.names.items()},
            "selection": self.selection.to_dict() if self.selection is not None else None,
            "model_path": str(self.model_path) if self.model_path else None,
            "seconds": self.seconds,
        }


def model_kinds(schema: FeatureSchema, features: Sequence[str]) -> dict[str, str]:
    """Preprocessing kinds of ``features`` for the model (0/1 flags scale like shares).

    >>> model_kinds(FeatureSchema(None, kinds={"response": "flag", "age": "numeric"}),
    ...             ["response", "age"])
    {'response': 'share', 'age': 'numeric'}
    """
    kinds = {f: schema.kinds[f] for f in features if f in schema.kinds}
    return {f: "share" if k == "flag" else k for f, k in kinds.items()}


def segment_customers(
    workspace: Workspace,
    request: SegmentRequest | None = None,
    *,
    actor: str | None = None,
    progress: ProgressCallback | None = None,
) -> SegmentResult:
    """Build features, segment, profile, name, save and record one run.

    Raises
    ------
    ValueError
        When the workspace has no customers, the lens has no feature in this data, or (RFM)
        there are no purchases; :class:`~mallseg.segment.selection.NoEligibleCandidateError`
        (a ``ValueError``) when no candidate passes the rule.
    """
    request = request or SegmentRequest()
    report = progress or (lambda stage, fraction: None)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    report("features", 0.0)
    build = build_features(workspace.connection, as_of=request.as_of)
    workspace.release_memory()
    frame, schema = build.frame, build.schema
    seconds["features"] = time.perf_counter() - started
    report("features", 1.0)
    attributes = [a.feature for a in schema.attributes]
    lens = _chosen_lens(request, frame, attributes)
    features = (list(RFM_FEATURES) if request.method == "rfm" else
                resolve_lens(lens, frame.columns, attributes=attributes,
                             summarised=_summarised(schema, frame.columns)))
    sensitive = sensitive_features_enabled(workspace.connection)
    rule = group_size_rule(workspace.connection)
    if request.method != "rfm" and not sensitive:
        features = drop_sensitive(features, lens=lens if isinstance(lens, str) else "custom")
    parameters = {**request.parameters(), "lens": lens, "features": features,
                  "customers": len(frame), "sensitive_features": "on" if sensitive else "off",
                  "min_group_size": rule.k}
    with workspace.run("segment", parameters, actor=actor) as draft:
        draft.reference_time = schema.as_of
        draft.feature_schema = schema.to_dict()
        draft.feature_schema_hash = schema.fingerprint()
        draft.ingest_ids = workspace.completed_ingests()
        report("selection", 0.0)
        t0 = time.perf_counter()
        selection: SelectionResult | None = None
        rfm: RFMResult | None = None
        if request.method == "rfm":
            rfm = rfm_segments(frame)
            labels = rfm.labels
            confidence = np.ones(len(labels))
        else:
            selection = select_segmentation(
                frame, features, algorithms=request.algorithms,
                k_values="auto" if request.k == "auto" else [int(request.k)],
                n_resamples=request.n_resamples, min_segment_share=request.min_segment_share,
                min_segment_size=rule.k, marketing_range=request.marketing_range,
                feature_kinds=model_kinds(schema, features), random_state=request.random_state,
            )
            features = list(selection.features)
            segmenter = selection.chosen.segmenter
            labels = np.asarray(segmenter.labels_)
            confidence = np.asarray(segmenter.confidence(frame))
        seconds["selection"] = time.perf_counter() - t0
        report("selection", 1.0)
        profiles = suppress_small_segments(profile_segments(
            frame, labels, [c for c in frame.columns if c != "customer_id"],
            kinds=schema.kinds, model_features=features,
        ), rule)
        names = (name_rfm_groups(profiles, rfm) if rfm is not None else
                 name_segments(profiles, rules=request.naming_rules, labels=schema.labels,
                               vocabulary=schema.vocabulary))
        model_path = None
        if selection is not None:
            model_path = workspace.models_folder / f"run-{draft.run_id}.skops"
            save_segmenter(selection.chosen.segmenter, model_path, metadata={
                "run_id": draft.run_id, "lens": lens, "features": features,
                "segment_names": {str(s): n.name for s, n in names.items()},
                "feature_schema_hash": schema.fingerprint(),
            })
        workspace.save_snapshot(draft.run_id, "features", frame)
        result = SegmentResult(
            run_id=draft.run_id, method=request.method, lens=lens, features=features,
            schema=schema, profiles=profiles, names=names, labels=labels,
            confidence=confidence, customer_ids=frame["customer_id"].to_numpy(),
            model_path=model_path, selection=selection, rfm=rfm, seconds=seconds,
        )
        _store(workspace, result)
        save_makeup(workspace, draft.run_id, schema.as_of, actor=actor)
        seconds["total"] = time.perf_counter() - started
        draft.metrics = {
            "selection": selection.to_dict() if selection is not None else None,
            "rfm": _rfm_metrics(rfm) if rfm is not None else None,
            "seconds": seconds,
            "segments": result.segment_table().assign(
                distinguishing=lambda t: t["distinguishing"].map(list)
            ).to_dict(orient="records"),
            "names": {str(s): n.to_dict() for s, n in names.items()},
        }
        draft.summary = result.explanation
        draft.model_path = str(model_path) if model_path else None
    return result


def _chosen_lens(
    request: SegmentRequest, frame: pd.DataFrame, attributes: Sequence[str]
) -> str | list[str]:
    if request.method == "rfm":
        return "rfm"
    if request.lens is None:
        return default_lens(frame.columns, attributes)
    return request.lens if isinstance(request.lens, str) else list(request.lens)


def _summarised(schema: FeatureSchema, columns: Iterable[str]) -> list[str]:
    """Wide attribute columns whose total and shares are features already."""
    present = set(columns)
    out: list[str] = []
    for family, total in (("spend", "monetary_total"), ("purchases", "purchases_total")):
        members = [a for a in schema.attributes if a.family == family]
        if members and total in present and total not in {a.feature for a in members}:
            out.extend(a.feature for a in members)
    return out


def _store(workspace: Workspace, result: SegmentResult) -> None:
    names = {s: n.name for s, n in result.names.items()}
    segments = []
    profile_rows = {int(r["segment"]): r for r in result.profiles.to_dict()["segments"]}
    for _, row in result.segment_table().iterrows():
        segment = int(row["segment"])
        segments.append({
            "segment": segment, "name": row["name"], "size": int(row["size"]),
            "share": float(row["share"]), "description": row["description"],
            "profile": profile_rows.get(segment, {}),
        })
    store_segmentation(workspace, result.run_id, result.customer_ids, result.labels, names,
                       result.confidence, segments)


def _rfm_metrics(rfm: RFMResult) -> dict[str, Any]:
    return {
        "groups": [{"name": g.name, "rule": g.rule(), "action": g.action} for g in rfm.groups],
        "cuts": rfm.cuts,
    }
