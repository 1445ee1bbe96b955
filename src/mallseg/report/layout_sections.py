"""The layout sections: where each segment shops, which stores go together, when they come.

They read the layout result a run kept (``mallseg layout``, in ``insight_results``) as a
:class:`StoredLayout`; the report and the dashboard draw it with the same builder. Nothing
is computed again: every number shown is one the result stored.

Examples
--------
>>> from mallseg.report.sections import build_sections
>>> layout = StoredLayout("0002", {"segments": ["A"], "category_affinity": {"cells": [
...     {"segment": "A", "item": "food", "customers": 40, "status": "ok", "lift": 1.5,
...      "segment_share": 0.3, "population_share": 0.2}]},
...     "pairs": {"unit": "basket", "units": 900, "multi_store_units": 500,
...               "min_together": 30, "pairs": []}, "suggestions": []})
>>> section = build_sections(layout)[0]
>>> section.sentences[0]
"Strongest affinity of each segment (lift: its share of spend against everyone's): A for food (lift 1.50, 30% against 20%, 40 customers)."
>>> section.sentences[1]
'No two stores were bought from together in 30 baskets or more (of 900 baskets, 500 of them with more than one store).'
>>> len(section.figures), [s.key for s in build_sections(layout)]
(1, ['layout'])
"""  # noqa: E501

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from mallseg.report.charts.style import plain_figure
from mallseg.report.sections import Section, SectionTable, section_builder
from mallseg.workspace import Workspace

__all__ = ["StoredLayout", "layout_sections", "stored_layout"]

_MOST_PAIRS = 10
_MOST_AFFINITIES = 3
_MOST_SUGGESTIONS = 8


@dataclass(frozen=True)
class StoredLayout:
    """The layout result kept for run ``run_id`` (``mallseg layout``)."""

    run_id: str
    payload: dict[str, Any]


def stored_layout(workspace: Workspace, run_id: str) -> StoredLayout | None:
    """The layout kept for run ``run_id``, or ``None`` when it was not computed."""
    if not workspace.has_table("insight_results"):
        return None
    payload = workspace.insight(run_id, "layout")
    return StoredLayout(run_id, payload) if payload else None


@section_builder(StoredLayout)
def layout_sections(result: StoredLayout) -> list[Section]:
    """Affinity (heat map and top cells), the stores bought together, the peak hours."""
    payload = result.payload
    segments = [str(s) for s in payload.get("segments") or []]
    pairs = payload.get("pairs") or {}
    found = sorted(pairs.get("pairs") or [], key=lambda p: -(_number(p.get("lift")) or 0))
    category = payload.get("category_affinity") or {}
    sentences = [s for s in (_affinity_sentence(category, segments),
                             _pairs_sentence(pairs, found)) if s]
    figure = _affinity_figure(category, segments)
    bullets = [str(s.get("text")) for s in (payload.get("suggestions") or [])
               [:_MOST_SUGGESTIONS]]
    bullets += [str(n) for n in payload.get("notes") or []]
    sections = [Section("layout", "Layout: where each segment shops", tuple(sentences),
                        (figure,) if figure is not None else (),
                        table=_affinity_table(payload, segments), bullets=tuple(bullets))]
    if found:
        sections.append(_pairs_section(pairs, found))
    hours = _hours_section(payload.get("activity") or {})
    if hours is not None:
        sections.append(hours)
    return sections


def _ok_cells(affinity: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in affinity.get("cells") or []
            if c.get("status") == "ok" and _number(c.get("lift")) is not None]


def _label(cell: dict[str, Any]) -> str:
    return str(cell.get("label") or cell["item"])


def _affinity_sentence(affinity: dict[str, Any], segments: list[str]) -> str:
    cells = _ok_cells(affinity)
    best = []
    for segment in segments:
        own = [c for c in cells if str(c["segment"]) == segment]
        if own:
            top = max(own, key=lambda c: float(c["lift"]))
            best.append(f"{segment} for {_label(top)} (lift {float(top['lift']):.2f}, "
                        f"{_share(top.get('segment_share'))} against "
                        f"{_share(top.get('population_share'))}, "
                        f"{int(top.get('customers') or 0):,} customers)")
    if not best:
        return ""
    measure = "visits" if affinity.get("measure") == "visits" else "spend"
    return (f"Strongest affinity of each segment (lift: its share of {measure} against "
            f"everyone's): {'; '.join(best)}.")


def _affinity_table(payload: dict[str, Any], segments: list[str]) -> SectionTable | None:
    rows = []
    for dimension in ("category", "store"):
        cells = _ok_cells(payload.get(f"{dimension}_affinity") or {})
        for segment in segments:
            own = sorted((c for c in cells if str(c["segment"]) == segment),
                         key=lambda c: -float(c["lift"]))
            rows += [(segment, dimension, _label(c), f"{float(c['lift']):.2f}",
                      _share(c.get("segment_share")), _share(c.get("population_share")),
                      f"{int(c.get('customers') or 0):,}") for c in own[:_MOST_AFFINITIES]]
    if not rows:
        return None
    return SectionTable(
        ("segment", "of", "name", "lift", "segment's share", "everyone's share", "customers"),
        tuple(rows), caption=f"Top {_MOST_AFFINITIES} categories and stores of each segment "
                             "by lift (cells with too few customers left out)")


def _pairs_sentence(pairs: dict[str, Any], found: list[dict[str, Any]]) -> str:
    unit = str(pairs.get("unit") or "basket")
    counted = (f"(of {int(pairs.get('units') or 0):,} {unit}s, "
               f"{int(pairs.get('multi_store_units') or 0):,} of them with more than one "
               "store)")
    least = int(pairs.get("min_together") or 0)
    if not found:
        return (f"No two stores were bought from together in {least:,} {unit}s or more "
                f"{counted}.")
    top = found[0]
    return (f"{len(found):,} store pairs were bought from together in {least:,} {unit}s or "
            f"more {counted}; the strongest is {_store(top, 'a')} with {_store(top, 'b')}: "
            f"{int(top['together']):,} {unit}s, lift {float(top['lift']):.1f}.")


def _pairs_section(pairs: dict[str, Any], found: list[dict[str, Any]]) -> Section:
    unit = str(pairs.get("unit") or "basket")
    table = SectionTable(
        ("stores", f"{unit}s together", "support", "confidence", "lift"),
        tuple((f"{_store(p, 'a')} + {_store(p, 'b')}", f"{int(p['together']):,}",
               _share(p.get("support"), 1), _share(p.get("confidence_a_to_b")),
               f"{_number(p.get('lift')) or 0:.2f}") for p in found[:_MOST_PAIRS]),
        caption=f"Stores bought from together most often (top {_MOST_PAIRS} by lift; "
                f"support: share of all {unit}s; confidence: share of the first store's "
                f"{unit}s that include the second)")
    return Section("layout-pairs", "Stores bought together", (
        f"{len(found):,} pairs; the table shows the {min(len(found), _MOST_PAIRS)} with the "
        "highest lift (how many times more often than if the stores were independent).",),
        table=table)


def _hours_section(activity: dict[str, Any]) -> Section | None:
    groups = [g for g in activity.get("segments") or [] if g.get("peak_hours")]
    if not groups:
        return None
    source = str(activity.get("source") or "visits")
    rows = tuple(
        (str(g["group"]), f"{int(g.get('total') or 0):,}",
         f"{g['peak_hours']['label']}", _share(g["peak_hours"].get("share")),
         _share(g["peak_hours"].get("population_share")),
         str((g.get("peak_slot") or {}).get("label") or ""),
         _weekday(g.get("weekdays"), g.get("busiest_day"), g.get("busiest_day_share")))
        for g in groups)
    keen = max(groups, key=lambda g: _number(g["peak_hours"].get("lift")) or 0)
    peak = keen["peak_hours"]
    sentence = (f"Peak hours are the {int(activity.get('window_hours') or 0)} hours of the "
                f"day holding most of a segment's {source} over the week; the peak of "
                f"{keen['group']} stands out most: {_share(peak.get('share'))} of its "
                f"{source} start {peak['label']}, against "
                f"{_share(peak.get('population_share'))} of everyone's.")
    return Section("layout-hours", "When each segment comes", (sentence,), table=SectionTable(
        ("segment", source, "peak hours", "segment's share", "everyone's share",
         "busiest slot", "busiest day"), rows,
        caption=f"Segments with at least {int(activity.get('min_events') or 0):,} {source}"))


def _weekday(names: Any, day: Any, share: Any) -> str:
    if not names or not isinstance(day, int) or not 1 <= day <= len(names):
        return ""
    return f"{names[day - 1]} ({_share(share)})"


def _store(pair: dict[str, Any], side: str) -> str:
    return str(pair.get(f"name_{side}") or pair[f"store_{side}"])


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _share(value: Any, digits: int = 0) -> str:
    number = _number(value)
    return "" if number is None else f"{number:.{digits}%}"


def _affinity_figure(affinity: dict[str, Any], segments: list[str]) -> go.Figure | None:
    cells = affinity.get("cells") or []
    items = list(dict.fromkeys(_label(c) for c in cells))
    if not cells or not segments:
        return None
    lift = {(str(c["segment"]), _label(c)): _number(c.get("lift"))
            for c in cells if c.get("status") == "ok"}
    z = [[lift.get((s, i)) for i in items] for s in segments]
    figure = plain_figure("Category affinity per segment (lift: 1 is everyone's share; blank: "
                          "too few customers)", height=max(300, 44 * len(segments) + 160))
    figure.add_trace(go.Heatmap(
        z=z, x=items, y=segments, colorscale="RdBu", zmid=1.0, colorbar={"title": "lift"},
        hovertemplate="%{y} / %{x}: lift %{z:.2f}<extra></extra>", xgap=2, ygap=2))
    figure.update_yaxes(autorange="reversed")
    return figure
