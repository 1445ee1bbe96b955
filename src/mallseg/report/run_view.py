"""A stored segmentation run, gathered for the report and the dashboard.

A run keeps its record (parameters, the selection's scores, the segment names with their
evidence), its segment rows, its feature snapshot and its assignments.
:func:`load_segmentation_view` reads what is quick to read (record, segment rows, one
aggregate of the assignments); :func:`load_segment_profiles` recomputes the full profiles
(means against the population, effect sizes, coverage) from the snapshot and the
assignments exactly as the run computed them, so a page always shows the numbers of the
run it names, whatever a later run wrote. Only per-customer tables come into memory.

Examples
--------
The example of :func:`mallseg.report.write_report` reads a run through this module;
alone, it names segments as every page does:

>>> from mallseg.segment.naming import SegmentName
>>> names = {0: SegmentName("Evening cinema shoppers", "")}
>>> [segment_display_name(names, s) for s in (0, 3, -1)]
['Evening cinema shoppers', 'Segment 3', 'Unassigned']
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mallseg.core.group_size import DEFAULT_RULE, GroupSizeRule
from mallseg.core.sql_text import quote_identifier
from mallseg.data.consent_settings import group_size_rule
from mallseg.features.schema import FeatureSchema
from mallseg.segment.coverage import segment_label
from mallseg.segment.model_files import ModelFileError, load_segmenter
from mallseg.segment.naming import SegmentName, WordEvidence
from mallseg.segment.personas import SegmentProfiles, profile_segments
from mallseg.segment.segmenter import Segmenter
from mallseg.segment.small_groups import SMALL_GROUP_NAME, suppress_small_segments
from mallseg.workspace import RunRecord, Workspace

__all__ = [
    "SegmentationView",
    "load_segment_profiles",
    "load_segmentation_view",
    "profiles_from_features",
    "run_features",
    "segment_display_name",
]

log = logging.getLogger(__name__)

UNASSIGNED = "Unassigned"


@dataclass(frozen=True)
class SegmentationView:
    """What one segmentation run says, ready to be shown.

    Attributes
    ----------
    record:
        The run as the workspace keeps it.
    schema:
        The feature schema the run was built with (reference time, meanings).
    names:
        Segment id -> name, description and the evidence behind each word.
    segments:
        One row per segment (``-1`` last when present): ``segment``, ``name``, ``size``,
        ``share``, ``description``, ``coverage``, ``enough_data``, ``mean_confidence``,
        ``confident_share`` (customers with confidence at least 0.8), ``stability``
        (the segment's mean best-match Jaccard under refits; NaN when unmeasured),
        ``top_categories`` and ``peak_time_band`` (when the data has them).
    model_features:
        The features the segmentation used.
    segmenter:
        The fitted model (``None`` for an RFM run, or when its file cannot be read).
    model_problem:
        Why the model could not be read (empty when it was, or when there is none).
    group_rule:
        The workspace's minimum group size: segments under it show their size only
        (``suppressed`` in ``segments``).
    """

    record: RunRecord
    schema: FeatureSchema
    names: dict[int, SegmentName]
    segments: pd.DataFrame
    model_features: tuple[str, ...]
    segmenter: Segmenter | None
    model_problem: str = ""
    group_rule: GroupSizeRule = DEFAULT_RULE

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.record.run_id

    @property
    def method(self) -> str:
        """``cluster`` or ``rfm``."""
        return str(self.record.parameters.get("method", "cluster"))

    @property
    def selection(self) -> dict[str, Any] | None:
        """The selection's scores and reasons as the run recorded them (``None`` for RFM)."""
        selection = self.record.metrics.get("selection")
        return selection if isinstance(selection, dict) else None

    @property
    def k(self) -> int:
        """Number of segments (unassigned customers aside)."""
        return int((self.segments["segment"] >= 0).sum())

    @property
    def n_customers(self) -> int:
        """Customers in the run."""
        return int(self.segments["size"].sum())

    @property
    def lens(self) -> str:
        """The lens in words (a name, or the features listed)."""
        lens = self.record.parameters.get("lens")
        return ", ".join(lens) if isinstance(lens, list) else str(lens)

    @property
    def reference(self) -> str:
        """The reference time of the features in one sentence."""
        return self.schema.sentence()

    def segment_name(self, segment: int) -> str:
        """Name of ``segment`` (``Unassigned`` for -1)."""
        return segment_display_name(self.names, segment)

    def segment_row(self, segment: int) -> pd.Series:
        """The row of ``segment`` in :attr:`segments`.

        Raises
        ------
        KeyError
            When the run has no such segment.
        """
        match = self.segments[self.segments["segment"] == segment]
        if match.empty:
            known = ", ".join(str(s) for s in self.segments["segment"])
            raise KeyError(f"run {self.run_id} has no segment {segment} (it has {known})")
        return match.iloc[0]


def segment_display_name(names: dict[int, SegmentName], segment: int) -> str:
    """The name shown for ``segment``.

    >>> segment_display_name({1: SegmentName("Deal hunters", "")}, 1)
    'Deal hunters'
    >>> segment_display_name({}, 4)
    'Segment 4'
    """
    name = names.get(segment)
    return name.name if name is not None else segment_label(segment)


def load_segmentation_view(
    workspace: Workspace, run_id: str | None = None, *, load_model: bool = True
) -> SegmentationView:
    """Gather segmentation run ``run_id`` (default: the latest) from ``workspace``.

    Quick: reads the run's record, its stored segment rows and one aggregate of its
    assignments; the full profiles come from :func:`load_segment_profiles`.

    Raises
    ------
    mallseg.workspace.RunNotFoundError
        When there is no such run (the message names near matches).
    LookupError
        When the run has no assignments.
    """
    record = workspace.get_run(run_id, "segment")
    schema = FeatureSchema.from_dict(record.feature_schema) if record.feature_schema else \
        FeatureSchema(record.reference_time)
    rule = group_size_rule(workspace.connection)
    names = _names(record)
    segments = _segment_table(workspace, record, names, rule)
    for segment in segments.loc[segments["suppressed"], "segment"]:
        stored = names.get(int(segment))
        if int(segment) >= 0 and (stored is None or not stored.name.startswith(SMALL_GROUP_NAME)):
            names[int(segment)] = SegmentName(
                SMALL_GROUP_NAME, f"{SMALL_GROUP_NAME}: fewer customers than the workspace's "
                "minimum group size, so no figure about them is shown.")
    segments["name"] = [segment_display_name(names, int(s)) for s in segments["segment"]]
    segmenter, problem = _segmenter(record) if load_model else (None, "")
    return SegmentationView(record, schema, names, segments, tuple(_model_features(record)),
                            segmenter, problem, rule)


def load_segment_profiles(workspace: Workspace, view: SegmentationView) -> SegmentProfiles:
    """The run's profiles, recomputed from its feature snapshot and its assignments.

    Raises
    ------
    LookupError
        When the run kept no feature snapshot.
    """
    return profiles_from_features(view, run_features(workspace, view.run_id,
                                                     with_segments=True))


def profiles_from_features(view: SegmentationView, frame: pd.DataFrame) -> SegmentProfiles:
    """The run's profiles from its features with their ``_segment`` column (no I/O)."""
    frame = frame.copy()
    labels = frame.pop("_segment").to_numpy(dtype=np.int64)
    return suppress_small_segments(profile_segments(
        frame, labels, [c for c in frame.columns if c != "customer_id"],
        kinds=view.schema.kinds,
        model_features=[f for f in view.model_features if f in frame.columns],
    ), view.group_rule)


def run_features(
    workspace: Workspace, run_id: str, *, with_segments: bool = False,
    sample: int | None = None,
) -> pd.DataFrame:
    """The run's feature snapshot (every customer, or a fixed sample of ``sample``).

    With ``with_segments`` the column ``_segment`` holds each customer's segment. A sample
    is the same for every call: customers ordered by a hash of their id.

    Raises
    ------
    LookupError
        When the run kept no feature snapshot.
    """
    table = workspace.snapshot_table(run_id, "features")
    if table is None:
        raise LookupError(
            f"run {run_id} kept no feature snapshot (made by an older mallseg): segment "
            "again to report on it"
        )
    columns = "f.*, a.segment_id AS _segment" if with_segments or sample else "f.*"
    order = "hash(CAST(f.customer_id AS VARCHAR)), f.customer_id" if sample else "f.customer_id"
    limit = f" LIMIT {int(sample)}" if sample else ""
    return workspace.connection.execute(
        f"SELECT {columns} FROM {quote_identifier(table)} f JOIN segment_assignments a "
        "ON a.customer_id = CAST(f.customer_id AS VARCHAR) AND a.run_id = ? "
        f"ORDER BY {order}{limit}",
        [run_id],
    ).df()


def _segmenter(record: RunRecord) -> tuple[Segmenter | None, str]:
    """The run's model, or why it cannot be read (the rest of the run is still shown)."""
    if not record.model_path:
        return None, ""
    try:
        segmenter, _metadata = load_segmenter(record.model_path)
    except (ModelFileError, OSError) as exc:
        log.warning("run %s: model file not read: %s", record.run_id, exc)
        return None, f"the model file of run {record.run_id} could not be read ({exc})"
    return segmenter, ""


def _model_features(record: RunRecord) -> list[str]:
    selection = record.metrics.get("selection") or {}
    features = selection.get("features") or record.parameters.get("features") or []
    return [str(f) for f in features]


def _names(record: RunRecord) -> dict[int, SegmentName]:
    names: dict[int, SegmentName] = {}
    for key, payload in (record.metrics.get("names") or {}).items():
        evidence = tuple(
            WordEvidence(
                str(e.get("word", "")), str(e.get("feature", "")),
                None if e.get("level") in (None, "nan") else str(e["level"]),
                _number(e.get("segment_value")), _number(e.get("population_value")),
                _number(e.get("effect_size")), _number(e.get("coverage")),
                _number(e.get("member_share")),
            )
            for e in payload.get("evidence") or []
        )
        names[int(key)] = SegmentName(str(payload.get("name", "")),
                                      str(payload.get("description", "")), evidence)
    return names


def _segment_table(
    workspace: Workspace, record: RunRecord, names: dict[int, SegmentName],
    rule: GroupSizeRule,
) -> pd.DataFrame:
    rows = workspace.connection.execute(
        "SELECT s.segment_id, s.size, s.share, s.description, s.profile, c.mean_confidence, "
        "c.confident_share FROM segments s LEFT JOIN ("
        "  SELECT segment_id, avg(confidence) AS mean_confidence,"
        "         avg(CASE WHEN confidence >= 0.8 THEN 1.0 ELSE 0.0 END) AS confident_share"
        "  FROM segment_assignments WHERE run_id = ? GROUP BY segment_id"
        ") c USING (segment_id) WHERE s.run_id = ? "
        "ORDER BY CASE WHEN s.segment_id < 0 THEN 1 ELSE 0 END, s.segment_id",
        [record.run_id, record.run_id],
    ).fetchall()
    if not rows:
        raise LookupError(f"run {record.run_id} has no segments in {workspace.folder}")
    selection = record.metrics.get("selection") or {}
    per_segment = (selection.get("stability") or {}).get("per_segment") or {}
    table = []
    for segment, size, share, description, profile, mean_confidence, confident in rows:
        summary = json.loads(profile or "{}")
        table.append({
            "segment": int(segment),
            "name": segment_display_name(names, int(segment)),
            "size": int(size),
            "share": float(share),
            "description": str(description or ""),
            "coverage": _number(summary.get("coverage", 1.0)),
            "enough_data": bool(summary.get("enough_data", True)),
            "mean_confidence": _number(mean_confidence),
            "confident_share": _number(confident),
            "stability": _number(per_segment.get(str(segment))),
            "top_categories": tuple(summary.get("top_categories") or ()),
            "peak_time_band": summary.get("peak_time_band"),
        })
    return rule.suppress(pd.DataFrame(table), "size", _MEMBER_FIGURES)


_MEMBER_FIGURES = ("coverage", "mean_confidence", "confident_share", "stability",
                   "top_categories", "peak_time_band")
"""Columns of the segment table computed from a segment's members (blanked when small)."""


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
