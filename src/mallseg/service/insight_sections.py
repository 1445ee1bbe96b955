"""Dashboard sections of stored results: campaigns, layout and the latest drift check.

Each loader reads what a command kept (``mallseg campaigns``, ``mallseg layout``,
``mallseg monitor``) and returns a small value, or ``None`` while it was not computed; the
section builder registered for that value's type draws it. Nothing is computed again. The
layout and monitoring sections are the report's own (:mod:`mallseg.report.layout_sections`,
:mod:`mallseg.report.monitoring_sections`), so the page and the report say the same.

Examples
--------
>>> from mallseg.report.sections import build_sections
>>> campaigns = StoredCampaigns("0002", {"confidence": 0.95, "campaigns": [
...     {"campaign_id": "k", "name": "Spring", "channel": "email", "overall": {}}]})
>>> build_sections(campaigns)[0].sentences
('Campaign Spring (email): no holdout or too few customers to measure.',)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from mallseg.app.insight_views import InsightNotComputed, stored_insight
from mallseg.report.charts.style import plain_figure, segment_colour
from mallseg.report.layout_sections import StoredLayout, stored_layout
from mallseg.report.monitoring_sections import StoredMonitoring, stored_monitoring
from mallseg.report.sections import Section, section_builder
from mallseg.workspace import Workspace

__all__ = [
    "StoredCampaigns",
    "StoredLayout",
    "latest_monitoring",
    "stored_campaigns",
    "stored_layout",
]


@dataclass(frozen=True)
class StoredCampaigns:
    """The campaign result kept for run ``run_id`` (``mallseg campaigns``)."""

    run_id: str
    payload: dict[str, Any]


def stored_campaigns(workspace: Workspace, run_id: str) -> StoredCampaigns | None:
    """The campaigns kept for run ``run_id``, or ``None`` when not computed."""
    try:
        return StoredCampaigns(run_id, stored_insight(workspace, "campaigns", run_id).payload)
    except InsightNotComputed:
        return None


def latest_monitoring(workspace: Workspace, run_id: str) -> StoredMonitoring | None:
    """The latest drift check of any run (``None``: no check yet); ``run_id`` is unused."""
    return stored_monitoring(workspace)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@section_builder(StoredCampaigns)
def campaign_sections(result: StoredCampaigns) -> list[Section]:
    """Each campaign's effect, the response uplift per segment, and the playbook."""
    payload = result.payload
    confidence = _number(payload.get("confidence")) or 0.95
    sentences = tuple(_campaign_sentence(c, confidence) for c in payload.get("campaigns") or [])
    bullets = [f"{p['segment']}: {p.get('summary', '')}" for p in payload.get("playbook") or []]
    bullets += [str(n) for n in payload.get("notes") or []]
    measured = [c for c in payload.get("cells") or []
                if c.get("status") == "measured" and c.get("response")]
    figure = _uplift_figure(payload, measured, confidence) if measured else None
    return [Section("campaigns", "Campaigns: what worked for whom", sentences,
                    (figure,) if figure is not None else (), bullets=tuple(bullets))]


def _campaign_sentence(campaign: dict[str, Any], confidence: float) -> str:
    channel = campaign.get("channel")
    label = f"Campaign {campaign.get('name') or campaign['campaign_id']}" + (
        f" ({str(channel).replace('_', ' ')})" if channel else "")
    estimate = (campaign.get("overall") or {}).get("response") or {}
    treated, holdout = _number(estimate.get("treated")), _number(estimate.get("holdout"))
    uplift, low, high = (_number(estimate.get(k)) for k in ("uplift", "low", "high"))
    if treated is None or holdout is None or uplift is None or low is None or high is None:
        return f"{label}: no holdout or too few customers to measure."
    verdict = "a clear effect" if estimate.get("significant") else "no clear effect"
    return (f"{label}: {treated:.0%} of targeted customers responded against {holdout:.0%} "
            f"of those held out: {100 * uplift:+.1f} points ({confidence:.0%} interval "
            f"{100 * low:+.1f} to {100 * high:+.1f}), {verdict}.")


def _uplift_figure(payload: dict[str, Any], measured: list[dict[str, Any]],
                   confidence: float) -> go.Figure:
    names = {c["campaign_id"]: c.get("name") or c["campaign_id"]
             for c in payload.get("campaigns") or []}
    segments = sorted({str(c["segment"]) for c in measured})
    figure = plain_figure(f"Response uplift per segment (targeted minus holdout, with "
                          f"{confidence:.0%} interval)",
                          height=max(320, 40 * len(segments) + 200))
    for index, campaign in enumerate(dict.fromkeys(c["campaign_id"] for c in measured)):
        cells = [c for c in measured if c["campaign_id"] == campaign]
        uplift = [100 * float(c["response"]["uplift"]) for c in cells]
        figure.add_scatter(
            x=uplift, y=[str(c["segment"]) for c in cells], mode="markers",
            name=names.get(campaign, campaign), orientation="h",
            marker={"size": 10, "color": segment_colour(index), "symbol": [
                "circle" if c["response"].get("significant") else "circle-open"
                for c in cells]},
            error_x={"type": "data", "symmetric": False,
                     "array": [100 * float(c["response"]["high"]) - u
                               for c, u in zip(cells, uplift, strict=True)],
                     "arrayminus": [u - 100 * float(c["response"]["low"])
                                    for c, u in zip(cells, uplift, strict=True)]},
            hovertemplate="%{y}: %{x:+.1f} points<extra>" + names.get(campaign, campaign)
                          + "</extra>")
    figure.add_vline(x=0, line_color="#9ca3af")
    figure.update_xaxes(title_text="uplift in response rate (percentage points; filled: "
                                   "clear after correction)")
    figure.update_yaxes(categoryorder="array", categoryarray=segments[::-1])
    return figure
