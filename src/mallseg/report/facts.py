"""Everything the segmentation sections show, gathered once from the workspace.

:class:`SegmentationFacts` bundles a run's view (names, sizes, scores), its full profiles,
the visit hours and top stores per segment (DuckDB aggregates) and the customers' map
(a projection of a fixed sample). :func:`gather_segmentation_facts` reads them; the
section builders and the dashboard only format them.

Examples
--------
The example of :mod:`mallseg.report.segment_sections` gathers a run's facts; a map of
customers needs the run's model, so an RFM run (no model) has none:

>>> from types import SimpleNamespace
>>> project_sample(SimpleNamespace(segmenter=None), None) is None
True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mallseg.report.activity import top_stores, visit_hours
from mallseg.report.projection import MAX_POINTS, Projection, project_customers
from mallseg.report.run_view import (
    SegmentationView,
    load_segment_profiles,
    load_segmentation_view,
    run_features,
)
from mallseg.segment.personas import SegmentProfiles
from mallseg.workspace import Workspace

__all__ = ["SegmentationFacts", "customer_map", "gather_segmentation_facts", "project_sample"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentationFacts:
    """A segmentation run with what its customers do.

    Attributes
    ----------
    view:
        Names, sizes, certainty and the selection's record.
    profiles:
        The full profiles (means, effect sizes, coverage, categories).
    hours:
        Events per segment x weekday x hour (:func:`~mallseg.report.activity.visit_hours`).
    hours_source:
        ``visits`` or ``purchases``: what ``hours`` counts.
    stores:
        Top stores per segment (:func:`~mallseg.report.activity.top_stores`).
    projection:
        The customers' map, or ``None`` (RFM runs, or a model that could not be read).
    """

    view: SegmentationView
    profiles: SegmentProfiles
    hours: pd.DataFrame
    hours_source: str
    stores: pd.DataFrame
    projection: Projection | None


def gather_segmentation_facts(
    workspace: Workspace, run_id: str | None = None, *, keep_ids: bool = False,
    view: SegmentationView | None = None,
) -> SegmentationFacts:
    """Read run ``run_id`` (default: the latest) and what its customers do.

    ``keep_ids`` keeps each map point's customer id (for the dashboard's links; never in
    the report).

    Raises
    ------
    mallseg.workspace.RunNotFoundError
        When there is no such run.
    LookupError
        When the run kept no feature snapshot or no assignments.
    """
    view = view or load_segmentation_view(workspace, run_id)
    profiles = load_segment_profiles(workspace, view)
    as_of = view.record.reference_time
    con = workspace.connection
    hours = visit_hours(con, view.run_id, as_of, min_customers=view.group_rule.k)
    source = "visits" if workspace.has_table("visits") and workspace.table_count(
        "visits") > 0 else "purchases"
    stores = top_stores(con, view.run_id, as_of, min_customers=view.group_rule.k)
    projection = customer_map(workspace, view, keep_ids=keep_ids)
    return SegmentationFacts(view, profiles, hours, source, stores, projection)


def customer_map(
    workspace: Workspace, view: SegmentationView, *, keep_ids: bool = False
) -> Projection | None:
    """The run's customers projected on a plane (``None`` without a readable model)."""
    if view.segmenter is None:
        return None
    return project_sample(view, run_features(workspace, view.run_id, sample=MAX_POINTS),
                          keep_ids=keep_ids)


def project_sample(
    view: SegmentationView, sample: pd.DataFrame, *, keep_ids: bool = False
) -> Projection | None:
    """Project a sample of the run's features (with ``_segment``) through its model."""
    if view.segmenter is None:
        return None
    sample = sample.copy()
    labels = sample.pop("_segment").to_numpy(dtype=np.int64)
    try:
        return project_customers(view.segmenter, sample, labels, keep_ids=keep_ids,
                                 total=view.n_customers)
    except ValueError as exc:
        log.warning("run %s: customers not projected: %s", view.run_id, exc)
        return None
