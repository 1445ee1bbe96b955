"""Charts of what segments do in the mall: when they come, and where they spend.

Inputs are the small frames of :mod:`mallseg.report.activity`.

Examples
--------
>>> import pandas as pd
>>> hours = pd.DataFrame({"segment": [0, 0], "weekday": [0, 5], "hour": [10, 18],
...                       "events": [3, 1], "share": [0.75, 0.25]})
>>> figure = visit_hours_figure(hours, 0)
>>> figure.data[0].type, len(figure.data[0].z), len(figure.data[0].z[0])
('heatmap', 7, 24)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mallseg.report.charts.style import EVERYONE_COLOUR, plain_figure, segment_colour

__all__ = ["WEEKDAYS", "hours_by_segment_figure", "top_stores_figure", "visit_hours_figure"]

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def visit_hours_figure(hours: pd.DataFrame, segment: int, *, what: str = "visits"
                       ) -> go.Figure | None:
    """When ``segment``'s customers come: share of its visits by weekday and hour.

    ``None`` when the segment has no such events.
    """
    rows = hours[hours["segment"] == segment]
    if rows.empty:
        return None
    grid = np.zeros((7, 24))
    for weekday, hour, share in zip(rows["weekday"], rows["hour"], rows["share"],
                                    strict=True):
        grid[int(weekday), int(hour)] += float(share)
    figure = plain_figure(f"When they come: share of the segment's {what} by day and hour",
                          height=330)
    figure.add_trace(go.Heatmap(
        z=grid.round(4).tolist(), x=[f"{h:02d}" for h in range(24)], y=list(WEEKDAYS),
        colorscale="Blues", colorbar={"title": {"text": "share"}, "tickformat": ".0%"},
        hovertemplate="%{y} %{x}:00: %{z:.1%} of " + what + "<extra></extra>",
    ))
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(title_text="hour of the day")
    return figure


def hours_by_segment_figure(hours: pd.DataFrame, names: Mapping[int, str], *,
                            what: str = "visits") -> go.Figure | None:
    """Every segment's share of its visits by hour of the day (``None`` without events)."""
    if hours.empty:
        return None
    table = hours.groupby(["segment", "hour"], as_index=False)["share"].sum()
    segments = sorted(table["segment"].unique(), key=lambda s: (s < 0, s))
    grid = np.zeros((len(segments), 24))
    position = {int(s): i for i, s in enumerate(segments)}
    for segment, hour, share in zip(table["segment"], table["hour"], table["share"],
                                    strict=True):
        grid[position[int(segment)], int(hour)] = float(share)
    labels = [names.get(int(s), f"Segment {s}") for s in segments]
    figure = plain_figure(f"Peak hours: share of each segment's {what} by hour",
                          height=max(260, 30 * len(segments) + 120))
    figure.add_trace(go.Heatmap(
        z=grid.round(4).tolist(), x=[f"{h:02d}" for h in range(24)], y=labels,
        colorscale="Blues", colorbar={"title": {"text": "share"}, "tickformat": ".0%"},
        hovertemplate="%{y} at %{x}:00: %{z:.1%} of " + what + "<extra></extra>",
    ))
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(title_text="hour of the day")
    return figure


def top_stores_figure(stores: pd.DataFrame, segment: int, *, name: str = "This segment"
                      ) -> go.Figure | None:
    """The stores with the largest share of ``segment``'s spend, next to everyone's share."""
    rows = stores[stores["segment"] == segment].sort_values("rank")
    if rows.empty:
        return None
    labels = [f"{s} ({c.replace('_', ' ')})" if isinstance(c, str) and c else str(s)
              for s, c in zip(rows["store"], rows["category"], strict=True)]
    figure = plain_figure("Top stores: share of spend", height=max(240, 46 * len(rows) + 110),
                          barmode="group")
    figure.add_bar(x=list(rows["share"]), y=labels, orientation="h", name=name,
                   marker_color=segment_colour(segment),
                   customdata=list(rows["customers"]),
                   hovertemplate="%{y}: %{x:.1%} of the segment's spend, %{customdata:,} of "
                                 "its customers bought there<extra></extra>")
    figure.add_bar(x=list(rows["population_share"]), y=labels, orientation="h",
                   name="Everyone", marker_color=EVERYONE_COLOUR,
                   hovertemplate="%{y}: %{x:.1%} of everyone's spend<extra></extra>")
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(tickformat=".0%", title_text="share of spend")
    return figure
