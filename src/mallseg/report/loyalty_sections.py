"""The loyalty section: who comes back, who is at risk, what each segment is worth.

Registered as the section builder of
:class:`~mallseg.insights.loyalty.analysis.LoyaltyResult`; it reads only the per-segment
table (one row per segment), never the per-customer one.

Examples
--------
>>> import pandas as pd
>>> from types import SimpleNamespace
>>> table = pd.DataFrame({"segment": ["Loyal", "Lapsing"], "customers": [120, 80],
...                       "active_share": [0.92, 0.41], "at_risk_share": [0.02, 0.30],
...                       "expected_visits_per_customer": [6.1, 1.2]})
>>> result = SimpleNamespace(segments=table, horizon_days=90, activity_source="visits")
>>> section = loyalty_section(result)
>>> section.sentences[1]
'Most at risk: Lapsing, with 30% of its customers valuable and unlikely to come back.'
>>> section.table.rows[1][:3]
('Lapsing', '80', '41%')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mallseg.insights.loyalty import LoyaltyResult
from mallseg.report.charts.style import plain_figure
from mallseg.report.sections import Section, SectionTable, section_builder
from mallseg.workspace import Workspace

__all__ = [
    "StoredLoyalty",
    "loyalty_section",
    "loyalty_sections",
    "segment_loyalty_section",
    "stored_loyalty",
]

_COLUMNS = (
    ("customers", "customers", "{:,.0f}"),
    ("active_share", "still active (mean chance)", "{:.0%}"),
    ("repeat_visitor_share", "came back", "{:.0%}"),
    ("expected_visits_per_customer", "visits expected per customer", "{:.1f}"),
    ("expected_spend_per_buyer", "spend expected per buyer", "{:,.0f}"),
    ("at_risk_share", "at risk", "{:.0%}"),
    ("response_rate", "response to offers", "{:.0%}"),
)


@dataclass(frozen=True)
class StoredLoyalty:
    """Loyalty of a run's segments as the workspace keeps it (``mallseg loyalty``).

    Examples
    --------
    >>> StoredLoyalty.from_payload({"horizon_days": 90, "activity_source": "visits",
    ...     "segments": [{"segment": "A", "customers": 3}]}).segments["customers"].tolist()
    [3]
    """

    segments: pd.DataFrame
    horizon_days: float
    activity_source: str
    notes: tuple[str, ...] = ()

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> StoredLoyalty:
        """From the JSON summary kept in ``insight_results``."""
        return cls(pd.DataFrame(payload.get("segments") or []),
                   float(payload.get("horizon_days") or 0), str(payload.get(
                       "activity_source") or "visits"), tuple(payload.get("notes") or ()))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"segments": self.segments.to_dict(orient="records"),
                "horizon_days": self.horizon_days, "activity_source": self.activity_source,
                "notes": list(self.notes)}


def stored_loyalty(workspace: Workspace, run_id: str) -> StoredLoyalty | None:
    """The loyalty kept for run ``run_id``, or ``None`` when it was not computed."""
    if not workspace.has_table("insight_results"):
        return None
    payload = workspace.insight(run_id, "loyalty")
    return StoredLoyalty.from_payload(payload) if payload else None


@section_builder(LoyaltyResult)
def loyalty_sections(result: LoyaltyResult) -> list[Section]:
    """The loyalty section of ``result``."""
    return [loyalty_section(result)]


@section_builder(StoredLoyalty)
def stored_loyalty_sections(result: StoredLoyalty) -> list[Section]:
    """The loyalty section of a stored result."""
    return [loyalty_section(result)]


def loyalty_section(result: Any) -> Section:
    """Activity, return and risk per segment, from ``result.segments``."""
    table: pd.DataFrame = result.segments
    horizon = int(result.horizon_days)
    present = [(c, label, fmt) for c, label, fmt in _COLUMNS if c in table.columns]
    sentences = [f"Chances of coming back are read from {result.activity_source}; forecasts "
                 f"cover the next {horizon} days."]
    if "at_risk_share" in table.columns and table["at_risk_share"].notna().any():
        worst = table.iloc[int(np.nanargmax(table["at_risk_share"].to_numpy(dtype=float)))]
        if float(worst["at_risk_share"]) > 0:
            sentences.append(f"Most at risk: {worst['segment']}, with "
                             f"{float(worst['at_risk_share']):.0%} of its customers valuable "
                             "and unlikely to come back.")
        else:
            sentences.append("No segment has valuable customers who are unlikely to come "
                             "back.")
    rows = tuple(
        (str(row["segment"]), *(_cell(row[c], fmt) for c, _, fmt in present))
        for _, row in table.iterrows()
    )
    figures = (_activity_figure(table),) if "active_share" in table.columns else ()
    return Section("loyalty", "Loyalty: who comes back", tuple(sentences), figures,
                   table=SectionTable(("segment", *(label for _, label, _ in present)), rows),
                   bullets=tuple(str(n) for n in getattr(result, "notes", ()) or ()))


def segment_loyalty_section(result: Any, segment_name: str, segment: int) -> Section | None:
    """One segment's loyalty figures (``None`` when the result has no row for it).

    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> result = SimpleNamespace(horizon_days=90, segments=pd.DataFrame(
    ...     {"segment": ["Loyal"], "active_share": [0.92], "at_risk_share": [0.02]}))
    >>> segment_loyalty_section(result, "Loyal", 0).table.rows
    (('92%', '2%'),)
    """
    table: pd.DataFrame = result.segments
    rows = table[table["segment"].astype(str) == segment_name]
    if rows.empty:
        return None
    row = rows.iloc[0]
    present = [(c, label, fmt) for c, label, fmt in _COLUMNS
               if c in table.columns and c != "customers"]
    return Section(f"loyalty-{segment}", "Loyalty", (
        f"Forecasts over the next {int(result.horizon_days)} days, from `mallseg loyalty`.",),
        table=SectionTable(tuple(label for _, label, _ in present),
                           (tuple(_cell(row[c], fmt) for c, _, fmt in present),)),
        segment=segment)


def _activity_figure(table: pd.DataFrame) -> go.Figure:
    figure = plain_figure("Still active and at risk, per segment",
                          height=max(260, 40 * len(table) + 120), barmode="group")
    names = [str(s) for s in table["segment"]]
    figure.add_bar(x=list(table["active_share"]), y=names, orientation="h",
                   name="still active (mean chance)", marker_color="#59a14f",
                   hovertemplate="%{y}: %{x:.0%} still active<extra></extra>")
    if "at_risk_share" in table.columns:
        figure.add_bar(x=list(table["at_risk_share"]), y=names, orientation="h",
                       name="valuable and at risk", marker_color="#e15759",
                       hovertemplate="%{y}: %{x:.0%} at risk<extra></extra>")
    figure.update_xaxes(tickformat=".0%", range=[0, 1])
    figure.update_yaxes(autorange="reversed")
    return figure


def _cell(value: Any, fmt: str) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if number != number else fmt.format(number)
