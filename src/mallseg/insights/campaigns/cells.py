"""Uplift per campaign x segment (a cell) and per campaign, from the arms' statistics.

Each measured cell has up to three estimates, one per outcome: the response rate, spend per
head and visits per head in the campaign window, targeted minus holdout, each with its
interval, p-value and Benjamini-Hochberg adjusted p-value. The adjustment runs over all
measured cells of one outcome (one family per outcome); whole-campaign estimates form
families of their own. A cell with fewer than ``min_cell`` targeted or held-out customers
is "too_small": it keeps its counts and has no estimate, never a zero.

Examples
--------
>>> import pandas as pd
>>> arms = pd.DataFrame({
...     "campaign_id": ["k", "k"], "segment": ["s", "s"], "is_holdout": [False, True],
...     "customers": [100, 100], "response_known": [100, 100], "responders": [30, 10],
...     "spend_known": [0, 0], "spend_mean": [None, None], "spend_var": [None, None],
...     "visits_known": [0, 0], "visits_mean": [None, None], "visits_var": [None, None]})
>>> cells = estimate_cells(arms, min_cell=30)
>>> cell = cells[0]
>>> cell.status, round(cell.response.uplift, 2), cell.response.significant
('measured', 0.2, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from mallseg.insights.campaigns.inference import (
    benjamini_hochberg,
    newcombe_interval,
    two_proportion_p_value,
    welch_comparison,
)

__all__ = [
    "METRICS",
    "CellStatus",
    "UpliftCell",
    "UpliftEstimate",
    "estimate_cells",
]

CellStatus = Literal["measured", "too_small", "no_holdout"]

METRICS: tuple[str, ...] = ("response_rate", "spend_per_head", "visits_per_head")
"""The outcomes compared between the arms, in the order cells carry them."""

_MEAN_SOURCES = {"spend_per_head": "spend", "visits_per_head": "visits"}
_WHOLE = "\x00whole campaign"


def _number(value: float | None, digits: int = 6) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


@dataclass(frozen=True)
class UpliftEstimate:
    """Targeted minus holdout for one outcome of one cell (or campaign).

    Attributes
    ----------
    metric:
        ``response_rate``, ``spend_per_head`` or ``visits_per_head``.
    treated, holdout:
        The outcome in each arm: a share for the rate, a mean per customer otherwise.
    uplift, low, high:
        ``treated - holdout`` and its interval (Newcombe for the rate, Welch for means).
    p_value, p_adjusted:
        Two-sided p-value and its Benjamini-Hochberg adjustment over the family.
    significant:
        ``p_adjusted < alpha``.
    n_treated, n_holdout:
        Customers the two figures rest on.
    treated_events, holdout_events:
        Responders in each arm (rates only).
    confidence:
        Coverage of the interval.
    """

    metric: str
    treated: float
    holdout: float
    uplift: float
    low: float
    high: float
    p_value: float
    p_adjusted: float
    significant: bool
    n_treated: int
    n_holdout: int
    treated_events: int | None = None
    holdout_events: int | None = None
    confidence: float = 0.95

    @property
    def direction(self) -> Literal["positive", "negative", "none"]:
        """``positive`` / ``negative`` when significant and the interval excludes 0."""
        if self.significant and self.low > 0:
            return "positive"
        if self.significant and self.high < 0:
            return "negative"
        return "none"

    @property
    def relative_uplift(self) -> float | None:
        """``uplift / holdout`` (the lift), or ``None`` when the holdout figure is 0."""
        return self.uplift / self.holdout if self.holdout else None

    @property
    def incremental(self) -> tuple[float, float, float]:
        """Extra responses (or spend, visits) among the targeted: ``uplift * n_treated``.

        Returns the estimate and the interval bounds.
        """
        n = self.n_treated
        return self.uplift * n, self.low * n, self.high * n

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        extra, extra_low, extra_high = self.incremental
        return {
            "metric": self.metric,
            "treated": _number(self.treated),
            "holdout": _number(self.holdout),
            "uplift": _number(self.uplift),
            "low": _number(self.low),
            "high": _number(self.high),
            "relative_uplift": _number(self.relative_uplift),
            "p_value": _number(self.p_value, 8),
            "p_adjusted": _number(self.p_adjusted, 8),
            "significant": bool(self.significant),
            "direction": self.direction,
            "n_treated": int(self.n_treated),
            "n_holdout": int(self.n_holdout),
            "treated_events": self.treated_events,
            "holdout_events": self.holdout_events,
            "incremental": _number(extra, 3),
            "incremental_low": _number(extra_low, 3),
            "incremental_high": _number(extra_high, 3),
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class UpliftCell:
    """One campaign x segment (``segment`` is ``None`` for the whole campaign).

    ``status`` is ``measured`` (estimates where the outcome was recorded), ``too_small``
    (fewer than ``min_cell`` customers in an arm: counts only) or ``no_holdout``.
    """

    campaign_id: str
    segment: str | None
    status: CellStatus
    n_targeted: int
    n_holdout: int
    response: UpliftEstimate | None = None
    spend: UpliftEstimate | None = None
    visits: UpliftEstimate | None = None

    def estimates(self) -> tuple[UpliftEstimate, ...]:
        """The estimates the cell has, in :data:`METRICS` order."""
        return tuple(e for e in (self.response, self.spend, self.visits) if e is not None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "campaign_id": self.campaign_id,
            "segment": self.segment,
            "status": self.status,
            "n_targeted": int(self.n_targeted),
            "n_holdout": int(self.n_holdout),
            "response": self.response.to_dict() if self.response else None,
            "spend": self.spend.to_dict() if self.spend else None,
            "visits": self.visits.to_dict() if self.visits else None,
        }


def _paired(arms: pd.DataFrame) -> pd.DataFrame:
    """One row per (campaign, segment) with ``_t`` (targeted) and ``_h`` (holdout) columns.

    ``segment`` holds ``None`` for whole campaigns.
    """
    frame = arms.copy()
    whole = frame["segment"].isna().to_numpy()
    frame["_seg_key"] = [_WHOLE if w else str(v)
                         for w, v in zip(whole, frame["segment"], strict=True)]
    holdout_rows = frame["is_holdout"].astype(bool).to_numpy()
    values = [c for c in frame.columns
              if c not in ("campaign_id", "segment", "is_holdout", "_seg_key")]
    treated = frame[~holdout_rows].set_index(["campaign_id", "_seg_key"])
    holdout = frame[holdout_rows].set_index(["campaign_id", "_seg_key"])
    index = treated.index.union(holdout.index)
    paired = pd.concat(
        [treated[values].add_suffix("_t").reindex(index),
         holdout[values].add_suffix("_h").reindex(index)], axis=1
    ).reset_index()
    for col in paired.columns:
        if col.endswith(("customers_t", "customers_h", "_known_t", "_known_h",
                         "responders_t", "responders_h")):
            paired[col] = paired[col].fillna(0).astype(np.int64)
    paired["_whole"] = paired["_seg_key"] == _WHOLE
    paired = paired.sort_values(["campaign_id", "_whole", "_seg_key"]).reset_index(drop=True)
    paired["segment"] = pd.Series(
        [None if w else k for w, k in zip(paired["_whole"], paired["_seg_key"], strict=True)],
        dtype=object,
    )
    return paired


def _family(
    paired: pd.DataFrame, rows: np.ndarray, metric: str, min_cell: int, confidence: float
) -> dict[int, tuple[Any, ...]]:
    """Point, interval and raw p-value of ``metric`` for the usable ``rows`` of ``paired``."""
    if metric == "response_rate":
        nt, nh = paired["response_known_t"].to_numpy(), paired["response_known_h"].to_numpy()
        use = rows[(nt[rows] >= min_cell) & (nh[rows] >= min_cell)]
        if not len(use):
            return {}
        xt, xh = paired["responders_t"].to_numpy()[use], paired["responders_h"].to_numpy()[use]
        low, high = newcombe_interval(xt, nt[use], xh, nh[use], confidence)
        p = two_proportion_p_value(xt, nt[use], xh, nh[use])
        treated, holdout = xt / nt[use], xh / nh[use]
        return {int(i): (treated[j], holdout[j], low[j], high[j], p[j], nt[i], nh[i],
                         xt[j], xh[j]) for j, i in enumerate(use)}
    source = _MEAN_SOURCES[metric]
    nt = paired[f"{source}_known_t"].to_numpy()
    nh = paired[f"{source}_known_h"].to_numpy()
    use = rows[(nt[rows] >= max(min_cell, 2)) & (nh[rows] >= max(min_cell, 2))]
    if not len(use):
        return {}
    mt = paired[f"{source}_mean_t"].to_numpy(dtype=np.float64)[use]
    mh = paired[f"{source}_mean_h"].to_numpy(dtype=np.float64)[use]
    vt = paired[f"{source}_var_t"].to_numpy(dtype=np.float64)[use]
    vh = paired[f"{source}_var_h"].to_numpy(dtype=np.float64)[use]
    w = welch_comparison(mt, vt, nt[use], mh, vh, nh[use], confidence)
    return {int(i): (mt[j], mh[j], w.low[j], w.high[j], w.p_value[j], nt[i], nh[i], None, None)
            for j, i in enumerate(use)}


def estimate_cells(
    arms: pd.DataFrame,
    *,
    min_cell: int = 30,
    alpha: float = 0.05,
    confidence: float = 0.95,
) -> list[UpliftCell]:
    """Turn :func:`~mallseg.insights.campaigns.measure.arm_statistics` into cells.

    Parameters
    ----------
    arms:
        One row per campaign x segment x arm (``segment`` missing for whole campaigns).
    min_cell:
        Fewest customers in each arm for an estimate; smaller cells are ``too_small``.
    alpha:
        False discovery rate at which an estimate is called significant.
    confidence:
        Coverage of the intervals.

    Returns
    -------
    list of UpliftCell
        Segment cells and whole-campaign cells (``segment`` ``None``), sorted by campaign
        then segment, the whole campaign last.

    Examples
    --------
    >>> import pandas as pd
    >>> arms = pd.DataFrame({
    ...     "campaign_id": ["k"], "segment": ["s"], "is_holdout": [False],
    ...     "customers": [50], "response_known": [50], "responders": [5],
    ...     "spend_known": [0], "spend_mean": [None], "spend_var": [None],
    ...     "visits_known": [0], "visits_mean": [None], "visits_var": [None]})
    >>> [(c.status, c.n_targeted, c.n_holdout) for c in estimate_cells(arms)]
    [('no_holdout', 50, 0)]
    """
    if isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 2:
        raise ValueError(f"min_cell={min_cell!r} must be a whole number >= 2")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha={alpha!r} must lie strictly between 0 and 1")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence!r} must lie strictly between 0 and 1")
    if arms.empty:
        return []
    paired = _paired(arms)
    n_t = paired["customers_t"].to_numpy()
    n_h = paired["customers_h"].to_numpy()
    whole = paired["_whole"].to_numpy()
    no_holdout_campaigns = set(paired.loc[whole & (n_h == 0), "campaign_id"])
    measured = (n_t >= min_cell) & (n_h >= min_cell)
    found: dict[str, dict[int, UpliftEstimate]] = {m: {} for m in METRICS}
    for family in (~whole, whole):
        rows = np.flatnonzero(family & measured)
        for metric in METRICS:
            raw = _family(paired, rows, metric, min_cell, confidence)
            if not raw:
                continue
            order = sorted(raw)
            adjusted = benjamini_hochberg([raw[i][4] for i in order])
            for i, q in zip(order, adjusted, strict=True):
                treated, holdout, low, high, p, nt, nh, xt, xh = raw[i]
                found[metric][i] = UpliftEstimate(
                    metric=metric, treated=float(treated), holdout=float(holdout),
                    uplift=float(treated - holdout), low=float(low), high=float(high),
                    p_value=float(p), p_adjusted=float(q), significant=bool(q < alpha),
                    n_treated=int(nt), n_holdout=int(nh),
                    treated_events=None if xt is None else int(xt),
                    holdout_events=None if xh is None else int(xh),
                    confidence=confidence,
                )
    cells = []
    for k, row in enumerate(paired.to_dict("records")):
        status: CellStatus = "measured"
        if row["campaign_id"] in no_holdout_campaigns or n_h[k] == 0:
            status = "no_holdout"
        elif not measured[k]:
            status = "too_small"
        cells.append(UpliftCell(
            campaign_id=str(row["campaign_id"]),
            segment=None if whole[k] else str(row["segment"]),
            status=status,
            n_targeted=int(n_t[k]),
            n_holdout=int(n_h[k]),
            response=found["response_rate"].get(k),
            spend=found["spend_per_head"].get(k),
            visits=found["visits_per_head"].get(k),
        ))
    return cells
