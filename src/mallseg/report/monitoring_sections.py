"""The monitoring section: is the segmentation still current? (``mallseg monitor``).

:func:`stored_monitoring` reads a drift check as the workspace recorded it (a ``monitor``
run: its parameters name the segmentation run checked, its metrics hold the verdict, the
two windows and the drift report) with the model versions, as a
:class:`StoredMonitoring`; the report and the dashboard draw it with the same builder.

Examples
--------
>>> from mallseg.report.sections import build_sections
>>> check = StoredMonitoring("0003", None, "0002", None, "watch", "", (
...     {"message": "Segment Fashion moved 4 points."},), {
...     "reference_size": 700, "current_size": 650, "segment_mix": {"shares": [
...         {"name": "Fashion", "reference_share": 0.30, "current_share": 0.34}]}},
...     {"reference": {"since": "2026-01-01T00:00", "until": "2026-01-21T00:00"},
...      "current": {"since": "2026-01-21T00:00", "until": "2026-02-10T00:00"}}, ())
>>> section = build_sections(check)[0]
>>> section.sentences[:2]  # doctest: +NORMALIZE_WHITESPACE
('Check 0003 of run 0002: watch.', 'It compared 2026-01-01 to 2026-01-21 (700 customers)
 with 2026-01-21 to 2026-02-10 (650 customers).')
>>> section.figures[0].data[1].x
(0.34,)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import plotly.graph_objects as go

from mallseg.monitor.versions import ModelVersion, model_versions
from mallseg.report.charts.style import plain_figure
from mallseg.report.sections import Section, SectionTable, section_builder
from mallseg.workspace import Workspace
from mallseg.workspace.runs import list_runs

__all__ = ["StoredMonitoring", "monitoring_section", "stored_monitoring"]

_MOST_FEATURES = 10


@dataclass(frozen=True)
class StoredMonitoring:
    """A recorded drift check and the model versions.

    Attributes
    ----------
    monitor_run_id:
        The check's own run.
    checked_at:
        When the check finished.
    run_id, against:
        The segmentation run checked, and the later run compared with (``None``: the
        latest data).
    verdict:
        ``stable``, ``watch`` or ``refit due``.
    reasons:
        The reasons behind the verdict (``signal, subject, severity, message``).
    report:
        The drift report as stored (features, segment mix, fit, unfit customers).
    windows:
        The reference and current windows compared.
    versions:
        Every segmentation run as a model version, oldest first.
    """

    monitor_run_id: str
    checked_at: datetime | None
    run_id: str | None
    against: str | None
    verdict: str
    summary: str
    reasons: tuple[dict[str, Any], ...]
    report: dict[str, Any]
    windows: dict[str, Any] | None
    versions: tuple[ModelVersion, ...]


def stored_monitoring(workspace: Workspace, run_id: str | None = None
                      ) -> StoredMonitoring | None:
    """The latest drift check of segmentation run ``run_id`` (``None``: of any run).

    ``None`` when no such check was recorded.
    """
    checks = [r for r in list_runs(workspace.connection, "monitor")
              if run_id is None or (r.parameters or {}).get("run_id") == run_id]
    if not checks:
        return None
    record = checks[-1]
    metrics = record.metrics or {}
    report = dict(metrics.get("report") or {})
    parameters = record.parameters or {}
    return StoredMonitoring(
        record.run_id, record.finished_at, parameters.get("run_id"), parameters.get("against"),
        str(metrics.get("verdict") or report.get("verdict") or "stable"), record.summary or "",
        tuple(report.get("reasons") or ()), report, metrics.get("windows"),
        model_versions(workspace.connection))


@section_builder(StoredMonitoring)
def monitoring_sections(result: StoredMonitoring) -> list[Section]:
    """The monitoring section of a recorded check."""
    return [monitoring_section(result)]


def monitoring_section(result: Any) -> Section:
    """The verdict with its reasons, segment shares in both windows, the features' drift.

    ``result`` has the attributes of :class:`StoredMonitoring`.
    """
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
    return Section("monitoring", "Monitoring: is the segmentation still current?",
                   tuple(sentences), (figure,) if figure is not None else (), table=table,
                   bullets=versions)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _day(value: Any) -> str:
    return str(value or "")[:10]


def _fixed(value: Any, digits: int) -> str:
    """A number with ``digits`` decimals (a category as it is, missing as blank).

    >>> _fixed(0.12345, 3), _fixed("north", 2), _fixed(None, 2)
    ('0.123', 'north', '')
    """
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
