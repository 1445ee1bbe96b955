"""Measure every campaign against its holdout, per segment: :func:`analyse_campaigns`.

The one call a report, the CLI or the HTTP API makes. It reads the canonical tables of a
connection, materialises each exposure's outcome in its campaign's window (in DuckDB),
estimates the uplift of every campaign x segment cell and of every whole campaign, and
writes the playbook. The result is a value: :meth:`CampaignResult.to_dict` gives plain
JSON, :meth:`CampaignResult.to_frame` a flat table.

Examples
--------
>>> import duckdb
>>> result = analyse_campaigns(duckdb.connect())
>>> result.message.split(":")[0]
'No campaign exposures'
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from mallseg.insights.campaigns.availability import inspect_campaign_inputs
from mallseg.insights.campaigns.cells import UpliftCell, estimate_cells
from mallseg.insights.campaigns.measure import (
    DEFAULT_WINDOW_DAYS,
    arm_statistics,
    campaign_details,
    exposure_outcomes,
)
from mallseg.insights.campaigns.playbook import SegmentPlaybook, build_playbook
from mallseg.insights.campaigns.segments_input import segment_frame

__all__ = ["CampaignResult", "CampaignSummary", "analyse_campaigns"]

logger = logging.getLogger(__name__)


def _day(value: object) -> date | None:
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return None
    return pd.Timestamp(value).date()  # type: ignore[arg-type]


def _text(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[call-overload]
        return None
    return str(value)


@dataclass(frozen=True)
class CampaignSummary:
    """One campaign: what it was, how it was measured and its whole-audience uplift."""

    campaign_id: str
    name: str | None
    channel: str | None
    offer: str | None
    target_category: str | None
    window_first_day: date | None
    window_last_day: date | None
    response_source: str
    """``responded flag``, ``purchase in <category> in the window``, ``purchase in the
    window`` or ``none``."""
    unknown_arm: int
    """Exposures left out because ``is_holdout`` was not recorded."""
    overall: UpliftCell

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "campaign_id": self.campaign_id,
            "name": self.name,
            "channel": self.channel,
            "offer": self.offer,
            "target_category": self.target_category,
            "window_first_day": self.window_first_day.isoformat()
            if self.window_first_day else None,
            "window_last_day": self.window_last_day.isoformat()
            if self.window_last_day else None,
            "response_source": self.response_source,
            "unknown_arm": int(self.unknown_arm),
            "overall": self.overall.to_dict(),
        }


@dataclass(frozen=True)
class CampaignResult:
    """Uplift of every campaign x segment, the campaigns as a whole, and the playbook.

    ``message`` is set (and everything else empty) when the data cannot measure any
    uplift: it says what is missing and what would be needed.
    """

    campaigns: tuple[CampaignSummary, ...]
    cells: tuple[UpliftCell, ...]
    playbook: tuple[SegmentPlaybook, ...]
    segments: tuple[str, ...]
    min_cell: int
    alpha: float
    confidence: float
    window_days: int
    message: str | None = None
    notes: tuple[str, ...] = field(default=())

    def cell(self, campaign_id: str, segment: str) -> UpliftCell:
        """The cell of ``campaign_id`` x ``segment``.

        Raises
        ------
        KeyError
            When there is no such cell.
        """
        for cell in self.cells:
            if cell.campaign_id == campaign_id and cell.segment == segment:
                return cell
        raise KeyError(f"no cell for campaign {campaign_id!r} and segment {segment!r}")

    def to_frame(self) -> pd.DataFrame:
        """One row per cell and outcome (cells without estimates: one row, no figures).

        Whole campaigns appear with ``segment`` missing.
        """
        rows = []
        for cell in (*self.cells, *(c.overall for c in self.campaigns)):
            base = {"campaign_id": cell.campaign_id, "segment": cell.segment,
                    "status": cell.status, "n_targeted": cell.n_targeted,
                    "n_holdout": cell.n_holdout}
            estimates = cell.estimates()
            if not estimates:
                rows.append({**base, "metric": None})
            for estimate in estimates:
                figures = estimate.to_dict()
                figures.pop("confidence")
                rows.append({**base, **figures})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "message": self.message,
            "notes": list(self.notes),
            "min_cell": self.min_cell,
            "alpha": self.alpha,
            "confidence": self.confidence,
            "window_days": self.window_days,
            "segments": list(self.segments),
            "campaigns": [c.to_dict() for c in self.campaigns],
            "cells": [c.to_dict() for c in self.cells],
            "playbook": [p.to_dict() for p in self.playbook],
        }


def _notes(inputs_transactions: bool, inputs_visits: bool,
           summaries: list[CampaignSummary]) -> list[str]:
    notes = []
    if not inputs_transactions:
        notes.append("No transactions: spend in the campaign windows is not measured, and "
                     "campaigns without a recorded response in both arms have no outcome.")
    if not inputs_visits:
        notes.append("No visits: visits in the campaign windows are not measured.")
    for s in summaries:
        if s.overall.status == "no_holdout":
            notes.append(f"Campaign {s.campaign_id} has no holdout: its uplift cannot be "
                         "measured.")
        if s.unknown_arm:
            notes.append(f"Campaign {s.campaign_id}: {s.unknown_arm} exposures without "
                         "is_holdout were left out.")
    return notes


def analyse_campaigns(
    connection: duckdb.DuckDBPyConnection,
    assignments: pd.DataFrame | pd.Series | None = None,
    *,
    min_cell: int = 30,
    alpha: float = 0.05,
    confidence: float = 0.95,
    window_days: int = DEFAULT_WINDOW_DAYS,
    customer_col: str = "customer_id",
    segment_col: str = "segment",
) -> CampaignResult:
    """Targeted versus holdout for every campaign and segment, with intervals and a playbook.

    Parameters
    ----------
    connection:
        DuckDB connection holding the canonical tables (a workspace's ``.connection``).
    assignments:
        Segments as ``customer_id -> segment`` (a frame or a series; see
        :func:`~mallseg.insights.campaigns.segments_input.segment_frame`), or ``None``
        for whole campaigns only (one segment, ``all customers``).
    min_cell:
        Fewest targeted and fewest held-out customers for a cell to be estimated;
        smaller cells are reported as ``too_small`` with their counts.
    alpha:
        False discovery rate of the Benjamini-Hochberg correction (per outcome, over
        cells); an estimate is significant when its adjusted p-value is below it.
    confidence:
        Coverage of the intervals.
    window_days:
        Window length for a campaign without an end date.
    customer_col, segment_col:
        Column names in ``assignments``.

    Returns
    -------
    CampaignResult
        With ``message`` set instead when there is nothing to measure.

    Raises
    ------
    ValueError
        For a parameter out of range or unusable assignments.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE exposures AS SELECT 'k' AS campaign_id, "
    ...                 "'c' || i AS customer_id, i % 2 = 0 AS is_holdout, "
    ...                 "(i % 2 = 1 AND i % 4 = 1) OR i % 10 = 0 AS responded "
    ...                 "FROM range(200) t(i)")
    >>> result = analyse_campaigns(con)
    >>> whole = result.campaigns[0].overall
    >>> whole.response.treated, whole.response.holdout, whole.response.significant
    (0.5, 0.2, True)
    """
    # Parameters are checked before the data, so a bad call fails the same way everywhere.
    estimate_cells(pd.DataFrame(), min_cell=min_cell, alpha=alpha, confidence=confidence)
    segments = segment_frame(assignments, customer_col=customer_col, segment_col=segment_col)
    inputs = inspect_campaign_inputs(connection)
    if inputs.missing is not None:
        return CampaignResult(campaigns=(), cells=(), playbook=(), segments=(),
                              min_cell=min_cell, alpha=alpha, confidence=confidence,
                              window_days=window_days, message=inputs.missing)
    with exposure_outcomes(connection, segments, window_days=window_days,
                           inputs=inputs) as table:
        arms = arm_statistics(connection, table)
        details = campaign_details(connection, table, inputs, window_days=window_days)
    every = estimate_cells(arms, min_cell=min_cell, alpha=alpha, confidence=confidence)
    whole = {c.campaign_id: c for c in every if c.segment is None}
    cells = tuple(c for c in every if c.segment is not None)
    info: dict[str, dict[str, Any]] = {}
    summaries = []
    for row in details.itertuples(index=False):
        campaign_id = str(row.campaign_id)
        info[campaign_id] = {"name": _text(row.name), "channel": _text(row.channel),
                             "offer": _text(row.offer)}
        overall = whole.get(campaign_id, UpliftCell(campaign_id, None, "no_holdout", 0, 0))
        summaries.append(CampaignSummary(
            campaign_id=campaign_id, name=_text(row.name), channel=_text(row.channel),
            offer=_text(row.offer), target_category=_text(row.target_category),
            window_first_day=_day(row.window_first_day),
            window_last_day=_day(row.window_last_day),
            response_source=str(row.response_source), unknown_arm=int(row.unknown_arm or 0),  # type: ignore[arg-type]
            overall=overall,
        ))
    playbook = build_playbook(cells, whole, info)
    logger.info("measured %d campaigns over %d cells (%d too small)", len(summaries),
                len(cells), sum(c.status == "too_small" for c in cells))
    return CampaignResult(
        campaigns=tuple(summaries),
        cells=cells,
        playbook=tuple(playbook),
        segments=tuple(sorted({c.segment for c in cells if c.segment is not None})),
        min_cell=min_cell,
        alpha=alpha,
        confidence=confidence,
        window_days=window_days,
        notes=tuple(_notes(inputs.transactions, inputs.visits, summaries)),
    )
