"""Use cases: the insights of a segmentation run, computed, stored with the run, reread.

Each insight (loyalty now; campaigns, layout, recommendations as they land) reads the
canonical tables and the run's assignments, returns its result object, and is kept in the
workspace with the run it belongs to: a JSON summary in ``insight_results`` and, when it has
one, its per-customer table as a run snapshot.

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
...     loyalty_for_run(ws)
Traceback (most recent call last):
...
mallseg.app.insights.InsightUnavailable: loyalty needs visits or purchases with dates: this workspace has neither; ingest visits or transactions (with customer ids and times) first
"""  # noqa: E501

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from mallseg.insights.loyalty import LoyaltyResult, analyse_loyalty
from mallseg.workspace import RunRecord, Workspace
from mallseg.workspace.segment_store import assignments_frame

__all__ = ["InsightUnavailable", "LoyaltyInsight", "loyalty_for_run", "run_assignments"]


class InsightUnavailable(ValueError):  # noqa: N818 - reads as a sentence where raised
    """The workspace lacks the data an insight needs (the message says what to load)."""


@dataclass(frozen=True)
class LoyaltyInsight:
    """Loyalty and value of a run's segments."""

    run_id: str
    result: LoyaltyResult

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready summary (per-customer rows left out)."""
        return {"run_id": self.run_id, **self.result.to_dict(customers=False)}


def run_assignments(workspace: Workspace, run_id: str | None) -> tuple[RunRecord, pd.DataFrame]:
    """A segmentation run and its assignments (``customer_id, segment_id, segment_name``)."""
    record = workspace.get_run(run_id, "segment")
    assignments = assignments_frame(workspace, record.run_id)
    return record, assignments[["customer_id", "segment_id", "segment_name"]]


def loyalty_for_run(
    workspace: Workspace, run_id: str | None = None, *, horizon_days: int = 90,
    actor: str | None = None,
) -> LoyaltyInsight:
    """Loyalty and value of run ``run_id``'s segments (default: the latest run), stored.

    Raises
    ------
    InsightUnavailable
        When the workspace has no visits and no purchases with dates.
    mallseg.workspace.RunNotFoundError
        When the run does not exist.
    """
    if not workspace.table_count("visits") and not workspace.table_count("transactions"):
        raise InsightUnavailable(
            "loyalty needs visits or purchases with dates: this workspace has neither; ingest "
            "visits or transactions (with customer ids and times) first"
        )
    record, assignments = run_assignments(workspace, run_id)
    labels = assignments.set_index("customer_id")["segment_name"]
    result = analyse_loyalty(workspace.connection, labels, as_of=record.reference_time,
                             horizon_days=horizon_days)
    insight = LoyaltyInsight(record.run_id, result)
    workspace.save_insight(record.run_id, "loyalty", insight.to_dict(), actor=actor)
    workspace.save_snapshot(record.run_id, "loyalty", result.customers.reset_index())
    return insight
