"""Charts of the segments themselves: sizes, profiles, what sets them apart, certainty.

Pure functions: a frame or :class:`~mallseg.segment.personas.SegmentProfiles` in, a Plotly
figure out, nothing read or written. Every number a chart shows is in the feature's own
unit (from the feature catalog, or the meaning a customer file gave a column), next to the
same number for everyone, with the share of the segment it is based on (coverage).

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"segment": [0, 1], "name": ["Young", "Senior"], "size": [30, 10],
...                       "share": [0.75, 0.25]})
>>> figure = segment_sizes_figure(table)
>>> list(figure.data[0].y), list(figure.data[0].x), list(figure.data[0].text)
(['Young', 'Senior'], [30, 10], ['30 (75%)', '10 (25%)'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mallseg.report.charts.style import EVERYONE_COLOUR, plain_figure, segment_colour
from mallseg.segment.descriptions import feature_phrase, feature_text, format_value
from mallseg.segment.personas import SPEND_SHARE_PREFIX, SegmentProfiles

KEY_FEATURES = ["monetary_total", "visits_per_month", "age", "annual_income", "recency_days",
                "frequency", "dwell_mean_minutes", "spending_score"]
"""Numbers every segment's profile shows when the data has them, in this order."""

__all__ = [
    "KEY_FEATURES",
    "category_name",
    "certainty_figure",
    "distinguishing_figure",
    "feature_label",
    "feature_pull_figure",
    "segment_profile_figure",
    "segment_sizes_figure",
    "top_categories_figure",
]


def feature_label(feature: str, meanings: Mapping[str, str] | None = None,
                  level: object = None) -> str:
    """A feature as a chart names it: its meaning, the level for a category, the unit.

    >>> feature_label("annual_income")
    'Annual income (k currency units)'
    >>> feature_label("favourite_zone", level="north")
    'Zone of the mall where most of the spend happens: north'
    """
    meaning, unit, kind = feature_text(feature, meanings)
    meaning = meaning[:1].upper() + meaning[1:]
    if kind == "categorical" or (level is not None and not _missing(level)):
        return f"{meaning}: {level}" if level is not None and not _missing(level) else meaning
    if kind == "share" or not unit or unit == "category":
        return meaning
    return f"{meaning} ({unit})"


def segment_sizes_figure(segments: pd.DataFrame) -> go.Figure:
    """Customers per segment, largest on top, with their share.

    ``segments`` has ``segment``, ``name``, ``size`` and ``share`` columns.
    """
    table = segments.sort_values(["size", "segment"], ascending=[False, True])
    figure = plain_figure("Customers per segment", height=max(220, 34 * len(table) + 90))
    figure.add_bar(
        x=[int(s) for s in table["size"]], y=list(table["name"]), orientation="h",
        marker_color=[segment_colour(int(s)) for s in table["segment"]],
        text=[f"{int(n):,} ({s:.0%})" for n, s in zip(table["size"], table["share"],
                                                       strict=True)],
        textposition="auto", hovertemplate="%{y}: %{x:,} customers<extra></extra>",
        name="customers", customdata=[int(s) for s in table["segment"]],
        meta={"link": "segment"},
    )
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(title_text="customers")
    figure.update_layout(showlegend=False)
    return figure


def distinguishing_figure(
    profiles: SegmentProfiles, segment: int, *, meanings: Mapping[str, str] | None = None,
    top: int = 8,
) -> go.Figure:
    """The features that set ``segment`` apart most, as standardised differences.

    Bars are the effect size (segment against everyone, in standard deviations on the
    model's scale; Cohen's h for a category level); the hover text gives both numbers in
    the feature's unit and the coverage.
    """
    rows = profiles.distinguishing(segment, n=top)
    labels = [feature_label(str(r["feature"]), meanings, r["level"]) for _, r in rows.iterrows()]
    effects = [float(e) for e in rows["effect_size"]]
    hover = [f"{feature_phrase(r, meanings)}<br>based on {float(r['coverage']):.0%} of the "
             "segment" for _, r in rows.iterrows()]
    figure = plain_figure("What sets this segment apart (standardised difference)",
                          height=max(240, 36 * len(rows) + 100))
    figure.add_bar(
        x=effects, y=labels, orientation="h", hovertext=hover, hoverinfo="text",
        marker_color=["#2563eb" if e >= 0 else "#dc2626" for e in effects],
        text=[f"{e:+.2f}" for e in effects], textposition="auto", name="effect size",
    )
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(title_text="standard deviations from everyone (0.2 small, 0.5 medium, "
                                   "0.8 large)", zeroline=True)
    figure.update_layout(showlegend=False)
    return figure


def segment_profile_figure(
    profiles: SegmentProfiles, segment: int, *, name: str = "This segment",
    meanings: Mapping[str, str] | None = None, top: int = 6,
) -> go.Figure:
    """The segment's means next to everyone's, one small panel per feature, in its unit.

    The features are the segment's most distinguishing numeric ones, then the
    :data:`KEY_FEATURES` the data has (at most ``top`` in all); each panel title says how
    many of the segment's customers the figure rests on.
    """
    rows = profiles.distinguishing(segment)
    rows = rows[rows["kind"] != "categorical"]
    first = rows.head(max(top // 2, 1))
    keys = rows[rows["feature"].isin(KEY_FEATURES) & ~rows["feature"].isin(first["feature"])]
    keys = keys.assign(_order=keys["feature"].map(KEY_FEATURES.index)).sort_values("_order")
    rows = pd.concat([first, keys.drop(columns="_order"),
                      rows[~rows["feature"].isin(first["feature"])
                           & ~rows["feature"].isin(KEY_FEATURES)]]).head(top)
    if rows.empty:
        figure = plain_figure("Profile against everyone", height=160)
        figure.add_annotation(text="No numeric feature to compare.", showarrow=False)
        return figure
    size = int(profiles.row(segment)["size"])
    titles = [
        f"{feature_label(str(r['feature']), meanings)}: based on "
        f"{round(float(r['coverage']) * size):,} of {size:,} customers"
        for _, r in rows.iterrows()
    ]
    figure = make_subplots(rows=len(rows), cols=1, subplot_titles=titles,
                           vertical_spacing=min(0.5 / len(rows), 0.12))
    base = plain_figure("Profile against everyone (means, in each feature's unit)",
                        height=110 * len(rows) + 80)
    figure.update_layout(base.layout)
    for index, (_, r) in enumerate(rows.iterrows(), start=1):
        unit = feature_text(str(r["feature"]), meanings)[1]
        values = [float(r["segment_value"]), float(r["population_value"])]
        is_share = feature_text(str(r["feature"]), meanings)[2] == "share"
        text = [f"{v:.0%}" if is_share else format_value(v, unit) for v in values]
        figure.add_trace(go.Bar(
            x=values, y=[name, "Everyone"], orientation="h", text=text,
            textposition="auto", marker_color=[segment_colour(segment), EVERYONE_COLOUR],
            hovertemplate="%{y}: %{text}<extra></extra>", showlegend=False,
        ), row=index, col=1)
        figure.update_yaxes(autorange="reversed", row=index, col=1)
        if is_share:
            figure.update_xaxes(tickformat=".0%", row=index, col=1)
    figure.update_annotations(font_size=12, xanchor="left", x=0)
    return figure


def top_categories_figure(
    profiles: SegmentProfiles, segment: int, *, name: str = "This segment", top: int = 6,
) -> go.Figure | None:
    """Share of spend per store category in the segment and for everyone (``None``: no data).

    The categories are the segment's ``top`` largest shares.
    """
    effects = profiles.effects
    rows = effects[(effects["segment"] == segment)
                   & effects["feature"].astype(str).str.startswith(SPEND_SHARE_PREFIX)]
    rows = rows.dropna(subset=["segment_value"]).sort_values("segment_value", ascending=False)
    rows = rows.head(top)
    if rows.empty:
        return None
    names = [category_name(str(f)) for f in rows["feature"]]
    figure = plain_figure("Share of spend by store category", height=max(240, 46 * len(rows)
                                                                          + 110),
                          barmode="group")
    figure.add_bar(x=list(rows["segment_value"]), y=names, orientation="h", name=name,
                   marker_color=segment_colour(segment),
                   hovertemplate="%{y}: %{x:.0%} of the segment's spend<extra></extra>")
    figure.add_bar(x=list(rows["population_value"]), y=names, orientation="h",
                   name="Everyone", marker_color=EVERYONE_COLOUR,
                   hovertemplate="%{y}: %{x:.0%} of everyone's spend<extra></extra>")
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(tickformat=".0%", title_text="share of spend")
    return figure


def certainty_figure(segments: pd.DataFrame) -> go.Figure:
    """Per segment: stability under refits and the customers' mean confidence.

    ``segments`` has ``segment``, ``name``, ``stability`` (mean best-match Jaccard, NaN when
    unmeasured) and ``mean_confidence`` columns.
    """
    table = segments[segments["segment"] >= 0]
    figure = plain_figure("How sure we are, per segment", height=max(260, 40 * len(table)
                                                                     + 120),
                          barmode="group")
    names = list(table["name"])
    figure.add_bar(x=[_or_none(v) for v in table["stability"]], y=names, orientation="h",
                   name="stability (same customers together when refitted, 0-1)",
                   marker_color="#4e79a7",
                   hovertemplate="%{y}: stability %{x:.2f}<extra></extra>")
    figure.add_bar(x=[_or_none(v) for v in table["mean_confidence"]], y=names,
                   orientation="h", name="mean confidence of its customers (0-1)",
                   marker_color="#f28e2b",
                   hovertemplate="%{y}: mean confidence %{x:.2f}<extra></extra>")
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(range=[0, 1.02])
    return figure


def category_name(feature: str) -> str:
    """The store category a spend-share feature is about, in words.

    >>> category_name("spend_share_fast_fashion")
    'fast fashion'
    """
    return feature.removeprefix(SPEND_SHARE_PREFIX).replace("_", " ")


def feature_pull_figure(
    labels: Sequence[str], pulls: Sequence[float], hover: Sequence[str], *, title: str
) -> go.Figure:
    """How much each feature pulls one customer toward their segment (bars, strongest first).

    >>> figure = feature_pull_figure(["Age (years)"], [0.8], ["62 vs 41"], title="Why")
    >>> list(figure.data[0].x), figure.layout.title.text
    ([0.8], 'Why')
    """
    figure = plain_figure(title, height=max(220, 36 * len(labels) + 100))
    figure.add_bar(x=list(pulls), y=list(labels), orientation="h", hovertext=list(hover),
                   hoverinfo="text", marker_color="#2563eb",
                   text=[f"{p:.2f}" for p in pulls], textposition="auto", name="pull")
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(title_text="pull toward this segment rather than the runner-up")
    figure.update_layout(showlegend=False)
    return figure


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value == "nan"


def _or_none(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return None if np.isnan(number) else number
