"""Dashboard sections of stored results: campaigns, layout and the latest drift check.

Each loader reads what a command kept (``mallseg campaigns``, ``mallseg layout``,
``mallseg monitor``) and returns a small value, or ``None`` while it was not computed; the
section builder registered for that value's type draws it. Nothing is computed again.

Examples
--------
>>> from mallseg.report.sections import build_sections
>>> layout = StoredLayout("0002", {"segments": ["A"], "category_affinity": {"cells": [
...     {"segment": "A", "item": "food", "customers": 40, "status": "ok", "lift": 1.5}]},
...     "pairs": {"unit": "basket", "units": 900, "multi_store_units": 500,
...               "min_together": 30, "pairs": []}, "suggestions": []})
>>> section = build_sections(layout)[0]
>>> section.sentences[0]
'No two stores were bought from together in 30 baskets or more (of 900 baskets, 500 of them with more than one store).'
>>> len(section.figures)
1
"""  # noqa: E501

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from mallseg.app.insight_views import (
    InsightNotComputed,
    MonitoringStatus,
    monitoring_status,
    stored_insight,
)
from mallseg.report.charts.style import plain_figure, segment_colour
from mallseg.report.sections import Section, SectionTable, section_builder
from mallseg.workspace import Workspace

__all__ = [
    "StoredCampaigns",
    "StoredLayout",
    "latest_monitoring",
    "stored_campaigns",
    "stored_layout",
]

_MOST_PAIRS = 10
_MOST_FEATURES = 10
_MOST_SUGGESTIONS = 8


@dataclass(frozen=True)
class StoredCampaigns:
    """The campaign result kept for run ``run_id`` (``mallseg campaigns``)."""

    run_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class StoredLayout:
    """The layout result kept for run ``run_id`` (``mallseg layout``)."""

    run_id: str
    payload: dict[str, Any]


def stored_campaigns(workspace: Workspace, run_id: str) -> StoredCampaigns | None:
    """The campaigns kept for run ``run_id``, or ``None`` when not computed."""
    try:
        return StoredCampaigns(run_id, stored_insight(workspace, "campaigns", run_id).payload)
    except InsightNotComputed:
        return None


def stored_layout(workspace: Workspace, run_id: str) -> StoredLayout | None:
    """The layout kept for run ``run_id``, or ``None`` when not computed."""
    try:
        return StoredLayout(run_id, stored_insight(workspace, "layout", run_id).payload)
    except InsightNotComputed:
        return None


def latest_monitoring(workspace: Workspace, run_id: str) -> MonitoringStatus | None:
    """The latest drift check of any run (``None``: no check yet); ``run_id`` is unused."""
    try:
        return monitoring_status(workspace)
    except InsightNotComputed:
        return None


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


@section_builder(StoredLayout)
def layout_sections(result: StoredLayout) -> list[Section]:
    """Category affinity as a heat map, the stores bought together, the suggestions."""
    payload = result.payload
    pairs = payload.get("pairs") or {}
    found = sorted(pairs.get("pairs") or [], key=lambda p: -(_number(p.get("lift")) or 0))
    unit = str(pairs.get("unit") or "basket")
    counted = (f"(of {int(pairs.get('units') or 0):,} {unit}s, "
               f"{int(pairs.get('multi_store_units') or 0):,} of them with more than one "
               "store)")
    least = int(pairs.get("min_together") or 0)
    if found:
        top = found[0]
        sentences = [f"{len(found):,} store pairs were bought from together in {least:,} "
                     f"{unit}s or more {counted}; the strongest is {_store(top, 'a')} with "
                     f"{_store(top, 'b')}: {int(top['together']):,} {unit}s, lift "
                     f"{float(top['lift']):.1f}."]
    else:
        sentences = [f"No two stores were bought from together in {least:,} {unit}s or more "
                     f"{counted}."]
    table = SectionTable(
        ("stores", f"{unit}s together", "confidence", "lift"),
        tuple((f"{_store(p, 'a')} + {_store(p, 'b')}", f"{int(p['together']):,}",
               _share(p.get("confidence_a_to_b")), f"{_number(p.get('lift')) or 0:.2f}")
              for p in found[:_MOST_PAIRS]),
        caption=f"Stores bought from together most often (top {_MOST_PAIRS} by lift)",
    ) if found else None
    figure = _affinity_figure(payload.get("category_affinity") or {},
                              [str(s) for s in payload.get("segments") or []])
    bullets = [str(s.get("text")) for s in (payload.get("suggestions") or [])
               [:_MOST_SUGGESTIONS]]
    bullets += [str(n) for n in payload.get("notes") or []]
    return [Section("layout", "Layout: where each segment shops", tuple(sentences),
                    (figure,) if figure is not None else (), table=table,
                    bullets=tuple(bullets))]


def _store(pair: dict[str, Any], side: str) -> str:
    return str(pair.get(f"name_{side}") or pair[f"store_{side}"])


def _share(value: Any) -> str:
    number = _number(value)
    return "" if number is None else f"{number:.0%}"


def _affinity_figure(affinity: dict[str, Any], segments: list[str]) -> go.Figure | None:
    cells = affinity.get("cells") or []
    items = list(dict.fromkeys(str(c.get("label") or c["item"]) for c in cells))
    if not cells or not segments:
        return None
    lift = {(str(c["segment"]), str(c.get("label") or c["item"])): _number(c.get("lift"))
            for c in cells if c.get("status") == "ok"}
    z = [[lift.get((s, i)) for i in items] for s in segments]
    figure = plain_figure("Category affinity per segment (lift: 1 is everyone's share; blank: "
                          "too few customers)", height=max(300, 44 * len(segments) + 160))
    figure.add_trace(go.Heatmap(
        z=z, x=items, y=segments, colorscale="RdBu", zmid=1.0, colorbar={"title": "lift"},
        hovertemplate="%{y} / %{x}: lift %{z:.2f}<extra></extra>", xgap=2, ygap=2))
    figure.update_yaxes(autorange="reversed")
    return figure


@section_builder(MonitoringStatus)
def monitoring_sections(result: MonitoringStatus) -> list[Section]:
    """The verdict with its reasons, segment shares in both windows, the features' drift."""
    report = result.report
    when = f" on {result.checked_at:%Y-%m-%d %H:%M}" if result.checked_at else ""
    sentences = [f"Check {result.monitor_run_id} of run {result.run_id}{when}: "
                 f"{result.verdict}."]
    windows = result.windows or {}
    reference, current = windows.get("reference") or {}, windows.get("current") or {}
    if reference and current:
        sentences.append(
            f"It compared {_day(reference.get('since'))} to {_day(reference.get('until'))} "
            f"({int(report.get('reference_size') or 0):,} customers) with "
            f"{_day(current.get('since'))} to {_day(current.get('until'))} "
            f"({int(report.get('current_size') or 0):,} customers).")
    sentences += [str(r.get("message")) for r in result.reasons[:3]]
    for part in ("fit", "unfit"):
        sentence = (report.get(part) or {}).get("sentence")
        if sentence:
            sentences.append(f"{sentence}.")
    features = sorted(report.get("features") or [], key=lambda f: -(_number(f.get("psi")) or 0))
    table = SectionTable(
        ("feature", "PSI", "p-value", "centre before", "centre now", "severity"),
        tuple((str(f["feature"]), _fixed(f.get("psi"), 3), _fixed(f.get("p_value"), 3),
               _fixed(f.get("reference_centre"), 2), _fixed(f.get("current_centre"), 2),
               str(f.get("severity") or "")) for f in features[:_MOST_FEATURES]),
        caption=f"Features that moved most (top {_MOST_FEATURES} by PSI)") if features else None
    versions = tuple(
        f"Run {v.run_id}: {v.source}{f' of {v.parent_run_id}' if v.parent_run_id else ''}, "
        f"{len(v.segments)} segments{' (current)' if v.current else ''}"
        for v in result.versions)
    figure = _shares_figure(report.get("segment_mix") or {})
    return [Section("monitoring", "Monitoring: is the segmentation still current?",
                    tuple(sentences), (figure,) if figure is not None else (), table=table,
                    bullets=versions)]


def _day(value: Any) -> str:
    return str(value or "")[:10]


def _fixed(value: Any, digits: int) -> str:
    """A number with ``digits`` decimals (a category as it is, missing as blank)."""
    number = _number(value)
    if number is None:
        return "" if value is None or isinstance(value, float) else str(value)
    return f"{number:,.{digits}f}"


def _shares_figure(mix: dict[str, Any]) -> go.Figure | None:
    shares = mix.get("shares") or []
    if not shares:
        return None
    names = [str(s["name"]) for s in shares]
    figure = plain_figure("Share of customers per segment, before and now",
                          height=max(260, 40 * len(names) + 140), barmode="group")
    for column, label, colour in (("reference_share", "reference window", "#9ca3af"),
                                  ("current_share", "current window", "#2563eb")):
        figure.add_bar(x=[_number(s.get(column)) for s in shares], y=names, orientation="h",
                       name=label, marker_color=colour,
                       hovertemplate="%{y}: %{x:.1%}<extra>" + label + "</extra>")
    figure.update_xaxes(tickformat=".0%")
    figure.update_yaxes(autorange="reversed")
    return figure
