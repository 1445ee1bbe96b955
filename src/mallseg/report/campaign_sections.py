"""The campaigns section: what each campaign did for each segment, against its holdout.

Registered as the section builder of
:class:`~mallseg.insights.campaigns.CampaignResult`. The figure shows, per segment and
campaign, the difference in response rate between targeted and held-out customers with
its interval; cells too small to judge are listed, not drawn. :func:`measure_campaigns`
runs the analysis for a run's segments (DuckDB does the counting).

Examples
--------
>>> import duckdb
>>> import plotly.graph_objects as go

from mallseg.insights.campaigns import analyse_campaigns
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE exposures AS SELECT 'k' AS campaign_id, "
...                 "'c' || i AS customer_id, i % 2 = 0 AS is_holdout, "
...                 "(i % 2 = 1 AND i % 4 = 1) OR i % 10 = 0 AS responded "
...                 "FROM range(200) t(i)")
>>> section = build_sections(analyse_campaigns(con))[0]

Newcombe's interval: 0.3 minus (plus) the hypotenuse of the two Wilson half-widths:

>>> section.sentences[0]  # doctest: +NORMALIZE_WHITESPACE
'Campaign k: 50% of targeted customers responded against 20% of those held out: +30.0
 points (95% interval +16.9 to +41.7), a clear effect.'
"""

from __future__ import annotations

import plotly.graph_objects as go

from mallseg.insights.campaigns import CampaignResult, UpliftEstimate, analyse_campaigns
from mallseg.report.charts.style import plain_figure, segment_colour
from mallseg.report.sections import Section, build_sections, section_builder
from mallseg.workspace import Workspace

__all__ = ["build_sections", "campaign_sections", "measure_campaigns"]


def measure_campaigns(workspace: Workspace, run_id: str) -> CampaignResult | None:
    """Campaigns against their holdouts per segment of run ``run_id`` (``None``: no exposures).

    Segments are named as the run names them.
    """
    if not workspace.has_table("exposures") or workspace.table_count("exposures") == 0:
        return None
    assignments = workspace.connection.execute(
        "SELECT customer_id, segment_name AS segment FROM segment_assignments "
        "WHERE run_id = ?", [run_id]).df()
    return analyse_campaigns(workspace.connection, assignments)


@section_builder(CampaignResult)
def campaign_sections(result: CampaignResult) -> list[Section]:
    """One section: each campaign's effect, the uplift per segment, and the playbook."""
    if result.message:
        return [Section("campaigns", "Campaigns", (result.message,))]
    sentences = tuple(_campaign_sentence(c.name or c.campaign_id, c.channel,
                                         c.overall.response)
                      for c in result.campaigns)
    bullets = [f"{p.segment}: {p.summary}" for p in result.playbook]
    bullets += list(result.notes)
    figure = _uplift_figure(result)
    return [Section("campaigns", "Campaigns: what worked for whom", sentences,
                    (figure,) if figure is not None else (), bullets=tuple(bullets))]


def _campaign_sentence(name: str, channel: str | None, estimate: UpliftEstimate | None) -> str:
    label = f"Campaign {name}" + (f" ({channel.replace('_', ' ')})" if channel else "")
    if estimate is None:
        return f"{label}: no holdout or too few customers to measure."
    verdict = "a clear effect" if estimate.significant else "no clear effect"
    return (f"{label}: {estimate.treated:.0%} of targeted customers responded against "
            f"{estimate.holdout:.0%} of those held out: {100 * estimate.uplift:+.1f} points "
            f"({estimate.confidence:.0%} interval {100 * estimate.low:+.1f} to "
            f"{100 * estimate.high:+.1f}), {verdict}.")


def _uplift_figure(result: CampaignResult) -> go.Figure | None:
    measured = [c for c in result.cells if c.status == "measured" and c.response is not None]
    if not measured:
        return None
    names = {c.campaign_id: c.name or c.campaign_id for c in result.campaigns}
    segments = sorted({str(c.segment) for c in measured})
    figure = plain_figure("Response uplift per segment (targeted minus holdout, with "
                          f"{result.confidence:.0%} interval)",
                          height=max(320, 26 * len(segments) * max(len(result.campaigns), 2)
                                     // 2 + 200))
    for index, campaign in enumerate(dict.fromkeys(c.campaign_id for c in measured)):
        cells = [c for c in measured if c.campaign_id == campaign]
        estimates = [c.response for c in cells if c.response is not None]
        figure.add_scatter(
            x=[100 * e.uplift for e in estimates], y=[str(c.segment) for c in cells],
            mode="markers", name=names.get(campaign, campaign), orientation="h",
            marker={"size": 10, "color": segment_colour(index),
                    "symbol": ["circle" if e.significant else "circle-open" for e in estimates]},
            error_x={"type": "data", "symmetric": False,
                     "array": [100 * (e.high - e.uplift) for e in estimates],
                     "arrayminus": [100 * (e.uplift - e.low) for e in estimates]},
            hovertemplate="%{y}: %{x:+.1f} points<extra>" + names.get(campaign, campaign)
                          + "</extra>",
        )
    figure.add_vline(x=0, line_color="#9ca3af")
    figure.update_layout(scattermode="group", scattergap=0.3, margin={"b": 110},
                         legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.12,
                                 "yanchor": "top"})
    figure.update_xaxes(title_text="uplift in response rate (percentage points; filled: "
                                   "clear after correction)")
    figure.update_yaxes(categoryorder="array", categoryarray=segments[::-1])
    return figure
