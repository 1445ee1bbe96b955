"""Charts of how the segmentation was chosen: the candidates, and the customers' map.

Examples
--------
>>> candidates = [
...     {"algorithm": "kmeans", "k": 3, "silhouette": 0.41, "stability": 0.93, "rank": 2},
...     {"algorithm": "kmeans", "k": 4, "silhouette": 0.52, "stability": 0.97, "rank": 1},
... ]
>>> figure = candidates_figure(candidates)
>>> [(trace.name, list(trace.x)) for trace in figure.data if trace.showlegend is not False]
[('k-means', [3, 4]), ('chosen: k-means, k=4', [4])]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mallseg.report.charts.style import plain_figure, segment_colour
from mallseg.report.projection import Projection

__all__ = ["ALGORITHM_NAMES", "algorithm_name", "candidates_figure", "customer_map_figure"]

ALGORITHM_NAMES = {"kmeans": "k-means", "minibatch_kmeans": "mini-batch k-means",
                   "gmm": "Gaussian mixture", "ward": "Ward", "hdbscan": "HDBSCAN"}
"""Algorithm names as people write them."""

_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross")


def algorithm_name(algorithm: str) -> str:
    """The algorithm as people write it.

    >>> algorithm_name("gmm"), algorithm_name("something_new")
    ('Gaussian mixture', 'something new')
    """
    return ALGORITHM_NAMES.get(algorithm, algorithm.replace("_", " "))


def candidates_figure(candidates: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Silhouette and stability of every candidate by k, one series per algorithm.

    ``candidates`` are the selection's records (``algorithm``, ``k``, ``silhouette``,
    ``stability``, ``rank``; rank 1 is the chosen one, marked with a star).
    """
    figure = make_subplots(rows=1, cols=2, subplot_titles=(
        "Silhouette (how well separated; higher is better)",
        "Stability (same customers together when refitted)"), horizontal_spacing=0.12)
    figure.update_layout(plain_figure("Why this number of segments", height=380).layout)
    algorithms = sorted({str(c["algorithm"]) for c in candidates})
    for index, algorithm in enumerate(algorithms):
        rows = sorted((c for c in candidates if c["algorithm"] == algorithm),
                      key=lambda c: int(c["k"]))
        style = {"mode": "lines+markers", "name": algorithm_name(algorithm),
                 "legendgroup": algorithm,
                 "marker": {"symbol": _SYMBOLS[index % len(_SYMBOLS)], "size": 8},
                 "line": {"color": segment_colour(index)}}
        ks = [int(c["k"]) for c in rows]
        figure.add_trace(go.Scatter(
            x=ks, y=[_number(c.get("silhouette")) for c in rows],
            hovertemplate=f"{algorithm_name(algorithm)} k=%{{x}}: silhouette %{{y:.3f}}"
                          "<extra></extra>", **style), row=1, col=1)
        figure.add_trace(go.Scatter(
            x=ks, y=[_number(c.get("stability")) for c in rows], showlegend=False,
            hovertemplate=f"{algorithm_name(algorithm)} k=%{{x}}: stability %{{y:.2f}}"
                          "<extra></extra>", **style), row=1, col=2)
    chosen = [c for c in candidates if c.get("rank") == 1]
    if chosen:
        best = chosen[0]
        label = f"chosen: {algorithm_name(str(best['algorithm']))}, k={int(best['k'])}"
        star = {"mode": "markers", "name": label, "legendgroup": "chosen",
                "marker": {"symbol": "star", "size": 18, "color": "#111827"}}
        figure.add_trace(go.Scatter(x=[int(best["k"])], y=[_number(best.get("silhouette"))],
                                    hovertemplate=label + "<extra></extra>", **star),
                         row=1, col=1)
        figure.add_trace(go.Scatter(x=[int(best["k"])], y=[_number(best.get("stability"))],
                                    showlegend=False, hovertemplate=label + "<extra></extra>",
                                    **star), row=1, col=2)
    figure.update_xaxes(title_text="number of segments (k)", dtick=1)
    figure.update_annotations(font_size=12)
    figure.update_layout(legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.25,
                                 "yanchor": "top"}, margin={"b": 90})
    return figure


def customer_map_figure(
    projection: Projection, names: Mapping[int, str], *, link_customers: bool = False
) -> go.Figure:
    """The customers on the projection's plane, one colour per segment.

    With ``link_customers`` (and ids in the projection) each point carries its customer's
    id, for a page that opens the customer on click.
    """
    frame = projection.frame
    share = len(frame) / max(projection.total, 1)
    sample = (f"a sample of {len(frame):,} of {projection.total:,} customers"
              if share < 1 else f"all {projection.total:,} customers")
    figure = plain_figure(f"Customers in the model's space ({sample})", height=520)
    with_ids = link_customers and "customer_id" in frame.columns
    for segment in sorted(frame["segment"].unique(), key=lambda s: (s < 0, s)):
        rows = frame[frame["segment"] == segment]
        name = names.get(int(segment), f"Segment {segment}")
        trace: dict[str, Any] = {
            "x": rows["x"].round(4).tolist(), "y": rows["y"].round(4).tolist(),
            "mode": "markers", "name": name,
            "marker": {"size": 5, "opacity": 0.65, "color": segment_colour(int(segment))},
            "hovertemplate": f"{name}<extra></extra>",
        }
        if with_ids:
            trace["customdata"] = rows["customer_id"].tolist()
            trace["meta"] = {"link": "customer"}
            trace["hovertemplate"] = f"{name}<br>customer %{{customdata}}<extra></extra>"
        figure.add_trace(go.Scatter(**trace))
    first, second = projection.explained
    figure.update_xaxes(title_text=f"first principal component ({first:.0%} of the spread)",
                        showticklabels=False)
    figure.update_yaxes(title_text=f"second principal component ({second:.0%})",
                        showticklabels=False)
    figure.update_layout(legend={"orientation": "v", "y": 1, "yanchor": "top", "x": 1.01,
                                 "xanchor": "left"})
    return figure


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if number != number else number
