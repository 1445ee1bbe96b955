"""Campaigns: uplift per segment against random holdouts, a playbook, and who to target next.

- :func:`analyse_campaigns` compares targeted and held-out customers of every campaign x
  segment in the campaign's window (response rate, spend and visits per head, computed in
  DuckDB), with Newcombe and Welch intervals, p-values and Benjamini-Hochberg correction
  across cells, and writes a playbook per segment (what worked, who responds anyway, who
  was harmed). Cells too small to judge say so, with their counts.
- :func:`plan_targeting` ranks customers by expected incremental response (segment-level
  uplift or a two-model / X-learner gradient-boosting model, chosen by cross-fitted Qini),
  fits a budget (contacts, a share, or cost and value), keeps a fresh random holdout and
  states the incremental responses to expect, with an interval and the Qini curves.
- :func:`export_target_list` writes a plan's list (id, segment, expected uplift, holdout
  flag) to CSV or Parquet, with spreadsheet formulas neutralised in CSV.

Examples
--------
>>> import duckdb
>>> analyse_campaigns(duckdb.connect()).message.startswith("No campaign exposures")
True
"""

from mallseg.insights.campaigns.analysis import CampaignResult, CampaignSummary, analyse_campaigns
from mallseg.insights.campaigns.availability import (
    CampaignDataError,
    CampaignInputs,
    inspect_campaign_inputs,
)
from mallseg.insights.campaigns.cells import UpliftCell, UpliftEstimate
from mallseg.insights.campaigns.export import TargetListExport, export_target_list
from mallseg.insights.campaigns.learners import (
    LEARNERS,
    SegmentUplift,
    TwoModelUplift,
    XLearnerUplift,
)
from mallseg.insights.campaigns.plan import Budget, MethodScore, SegmentTargets, TargetingPlan
from mallseg.insights.campaigns.playbook import Finding, SegmentPlaybook
from mallseg.insights.campaigns.targeting import DEFAULT_METHODS, plan_targeting
from mallseg.insights.campaigns.uplift_curve import UpliftCurve, qini_curve

__all__ = [
    "DEFAULT_METHODS",
    "LEARNERS",
    "Budget",
    "CampaignDataError",
    "CampaignInputs",
    "CampaignResult",
    "CampaignSummary",
    "Finding",
    "MethodScore",
    "SegmentPlaybook",
    "SegmentTargets",
    "SegmentUplift",
    "TargetListExport",
    "TargetingPlan",
    "TwoModelUplift",
    "UpliftCell",
    "UpliftCurve",
    "UpliftEstimate",
    "XLearnerUplift",
    "analyse_campaigns",
    "export_target_list",
    "inspect_campaign_inputs",
    "plan_targeting",
    "qini_curve",
]
