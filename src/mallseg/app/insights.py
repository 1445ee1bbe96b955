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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from mallseg.app.small_groups import layout_shown, loyalty_shown, recommendations_shown
from mallseg.data.consent import CONSENT_WORDS, customer_may_be_marketed
from mallseg.data.consent_settings import group_size_rule, marketing_consent_rule
from mallseg.insights.campaigns import (
    CampaignResult,
    TargetingPlan,
    analyse_campaigns,
    export_target_list,
    plan_targeting,
)
from mallseg.insights.layout import LayoutResult, analyse_layout
from mallseg.insights.layout.analysis import LayoutSettings
from mallseg.insights.loyalty import LoyaltyResult, analyse_loyalty
from mallseg.insights.recommend import RecommendationResult, recommend_items
from mallseg.workspace import RunRecord, Workspace
from mallseg.workspace.segment_store import assignments_frame

__all__ = [
    "CampaignInsight",
    "InsightUnavailable",
    "LayoutInsight",
    "LoyaltyInsight",
    "NoMarketingConsent",
    "RecommendationInsight",
    "TargetingInsight",
    "campaigns_for_run",
    "layout_for_run",
    "loyalty_for_run",
    "plan_for_run",
    "recommendations_for_run",
    "run_assignments",
]


class InsightUnavailable(ValueError):  # noqa: N818 - reads as a sentence where raised
    """The workspace lacks the data an insight needs (the message says what to load)."""


class NoMarketingConsent(ValueError):  # noqa: N818 - reads as a sentence where raised
    """The asked customer may not get personal offers under the workspace's consent rule."""


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
    result = loyalty_shown(
        analyse_loyalty(workspace.connection, labels, as_of=record.reference_time,
                        horizon_days=horizon_days),
        group_size_rule(workspace.connection))
    insight = LoyaltyInsight(record.run_id, result)
    workspace.save_insight(record.run_id, "loyalty", insight.to_dict(), actor=actor)
    workspace.save_snapshot(record.run_id, "loyalty", result.customers.reset_index())
    return insight


@dataclass(frozen=True)
class CampaignInsight:
    """Campaign uplift of a run's segments against holdouts, and the playbook."""

    run_id: str
    result: CampaignResult

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready summary."""
        return {"run_id": self.run_id, **self.result.to_dict()}


def campaigns_for_run(
    workspace: Workspace, run_id: str | None = None, *, min_cell: int = 30,
    actor: str | None = None,
) -> CampaignInsight:
    """Uplift of every campaign x segment of run ``run_id`` (default: the latest), stored.

    A workspace without exposures gets a result whose ``message`` says what is missing.
    ``min_cell`` is raised to the workspace's minimum group size when below it.
    """
    record, assignments = run_assignments(workspace, run_id)
    rule = group_size_rule(workspace.connection)
    result = analyse_campaigns(workspace.connection, assignments,
                               min_cell=rule.at_least(min_cell), segment_col="segment_name")
    insight = CampaignInsight(record.run_id, result)
    if result.message is None:
        workspace.save_insight(record.run_id, "campaigns", insight.to_dict(), actor=actor)
    return insight


@dataclass(frozen=True)
class TargetingInsight:
    """Who to contact next for run ``run_id``'s segments, and where the list went."""

    run_id: str
    plan: TargetingPlan
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready summary (the list itself is in the exported file)."""
        return {"run_id": self.run_id, "path": str(self.path) if self.path else None,
                **self.plan.to_dict()}


def plan_for_run(
    workspace: Workspace, run_id: str | None = None, *, contacts: int | None = None,
    share: float | None = None, cost_per_contact: float | None = None,
    value_per_response: float | None = None, holdout_share: float = 0.10,
    out: Path | None = None, actor: str | None = None,
) -> TargetingInsight:
    """A targeting plan for the next campaign, its list exported (default under exports/).

    Raises
    ------
    mallseg.insights.campaigns.CampaignDataError
        When the workspace has no exposures with holdouts to learn from (the message says
        what would be needed).
    """
    record, assignments = run_assignments(workspace, run_id)
    plan = plan_targeting(
        workspace.connection, assignments, contacts=contacts, share=share,
        cost_per_contact=cost_per_contact, value_per_response=value_per_response,
        holdout_share=holdout_share, segment_col="segment_name",
        consent=marketing_consent_rule(workspace.connection),
    )
    target = out or workspace.exports_folder / f"targets-{record.run_id}.csv"
    export_target_list(workspace.connection, plan, target)
    insight = TargetingInsight(record.run_id, plan, target)
    workspace.save_insight(record.run_id, "targeting", insight.to_dict(), actor=actor)
    workspace.audit("export_targets", str(target), {"run_id": record.run_id,
                                                    "rows": len(plan.targets)}, actor=actor)
    return insight


@dataclass(frozen=True)
class LayoutInsight:
    """Store and category affinity, stores bought together, peak hours, suggestions."""

    run_id: str
    result: LayoutResult

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready summary."""
        return {"run_id": self.run_id, **self.result.to_dict()}


def layout_for_run(
    workspace: Workspace, run_id: str | None = None, *, min_customers: int = 30,
    actor: str | None = None,
) -> LayoutInsight:
    """Layout and merchandising insight for run ``run_id``'s segments, stored.

    ``min_customers`` (affinity cells, gaps) and the units behind a store pair are at least
    the workspace's minimum group size.
    """
    record, assignments = run_assignments(workspace, run_id)
    rule = group_size_rule(workspace.connection)
    result = layout_shown(
        analyse_layout(workspace.connection, assignments,
                       min_customers=rule.at_least(min_customers),
                       min_together=rule.at_least(LayoutSettings().min_together),
                       segment_col="segment_name"), rule)
    insight = LayoutInsight(record.run_id, result)
    if result.message is None:
        workspace.save_insight(record.run_id, "layout", insight.to_dict(), actor=actor)
    return insight


@dataclass(frozen=True)
class RecommendationInsight:
    """Stores (or categories) to suggest to each customer, with the offline evaluation."""

    run_id: str
    result: RecommendationResult
    path: Path | None = None
    customer: list[dict[str, Any]] | None = field(default=None, repr=False)
    """The asked customer's suggestions, when one was asked for."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready summary."""
        return {"run_id": self.run_id, "path": str(self.path) if self.path else None,
                **self.result.to_dict(max_rows=0)}


def recommendations_for_run(
    workspace: Workspace, run_id: str | None = None, *,
    item: Literal["store", "category"] = "store", top_n: int = 5,
    customer_id: str | None = None, evaluate: bool = True, out: Path | None = None,
    actor: str | None = None,
) -> RecommendationInsight:
    """Top-N suggestions for every customer of run ``run_id`` (or one), evaluated, stored.

    The list of every customer's suggestions is exported (default under exports/) unless a
    single customer is asked for; the export holds only customers the workspace's marketing
    consent rule allows (``mallseg settings``), and a single customer the rule keeps out
    gets none.

    Raises
    ------
    NoMarketingConsent
        When ``customer_id`` is asked for and the consent rule keeps them out.
    """
    rule = marketing_consent_rule(workspace.connection)
    if customer_id and not customer_may_be_marketed(workspace.connection, customer_id, rule):
        raise NoMarketingConsent(
            f"customer {customer_id!r} has no recorded marketing consent that the workspace's "
            f"rule ({rule}: {CONSENT_WORDS[rule]}) accepts: personal recommendations "
            "are not given; record their consent, or change the rule with `mallseg settings "
            "set marketing_consent not_refused`")
    record, assignments = run_assignments(workspace, run_id)
    result = recommend_items(
        workspace.connection, assignments, item=item, top_n=top_n, evaluate=evaluate,
        customers=[customer_id] if customer_id else None, segment_col="segment_name",
        consent=None if customer_id else rule,
    )
    result = recommendations_shown(result, group_size_rule(workspace.connection),
                                   workspace.connection)
    path = None
    frame = result.recommendations
    if customer_id is None and frame is not None and result.message is None:
        path = out or workspace.exports_folder / f"recommendations-{record.run_id}.csv"
        _write_recommendations(frame, path)
        # kept with the run too, so that one customer's suggestions are read, not recomputed
        workspace.save_snapshot(record.run_id, "recommendations", frame)
        workspace.save_insight(record.run_id, "recommendations",
                               {"run_id": record.run_id, **result.to_dict(max_rows=0)},
                               actor=actor)
    one = result.for_customer(customer_id) if customer_id and frame is not None else None
    return RecommendationInsight(record.run_id, result, path, one)


def _write_recommendations(frame: pd.DataFrame, path: Path) -> None:
    from mallseg.core.spreadsheet import neutralise_formula

    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [c for c in ("customer_id", "rank", "item", "label", "score", "source", "reason")
               if c in frame.columns]
    out = frame[columns]
    if path.suffix.lower() in (".parquet", ".pq"):
        out.to_parquet(path, index=False)
        return
    text = out.copy()
    for column in ("customer_id", "item", "label", "reason"):
        if column in text:
            text[column] = text[column].astype(str).map(neutralise_formula)
    text.to_csv(path, index=False)
