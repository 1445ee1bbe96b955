"""One look for every chart: colours by segment, fonts, margins, no embedded template.

Every figure uses the empty ``none`` template plus the few layout settings below, so a
page that holds forty figures does not repeat Plotly's default theme forty times.

Examples
--------
>>> segment_colour(0), segment_colour(-1)
('#4e79a7', '#9ca3af')
>>> segment_colour(12) == segment_colour(0)
True
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

__all__ = [
    "EVERYONE_COLOUR",
    "PALETTE",
    "UNASSIGNED_COLOUR",
    "plain_figure",
    "segment_colour",
]

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#1f77b4", "#8c6d31", "#637939")
"""Segment colours (Tableau 10 and two more), distinct for up to twelve segments."""

UNASSIGNED_COLOUR = "#9ca3af"
EVERYONE_COLOUR = "#6b7280"

_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
_AXIS = {"gridcolor": "#e5e7eb", "zerolinecolor": "#d1d5db", "linecolor": "#d1d5db",
         "automargin": True}


def segment_colour(segment: int) -> str:
    """The colour of ``segment`` in every chart (grey for unassigned customers)."""
    return UNASSIGNED_COLOUR if segment < 0 else PALETTE[segment % len(PALETTE)]


def plain_figure(title: str, *, height: int = 360, **layout: Any) -> go.Figure:
    """An empty figure with the project's look and ``title``.

    >>> plain_figure("Sizes").layout.title.text
    'Sizes'
    """
    figure = go.Figure()
    figure.update_layout(
        template="none", title={"text": title, "x": 0, "xanchor": "left",
                                "font": {"size": 15}},
        font={"family": _FONT, "size": 12, "color": "#1f2937"},
        height=height, margin={"l": 10, "r": 20, "t": 50, "b": 40},
        paper_bgcolor="white", plot_bgcolor="white", hoverlabel={"namelength": -1},
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.0,
                "yanchor": "bottom"},
    )
    figure.update_xaxes(**_AXIS)
    figure.update_yaxes(**_AXIS)
    if layout:
        figure.update_layout(**layout)
    return figure
