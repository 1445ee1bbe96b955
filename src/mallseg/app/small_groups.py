"""The workspace's minimum group size, applied to every insight before it is shown or kept.

The rule is :class:`mallseg.core.group_size.GroupSizeRule` (workspace setting
``min_group_size``, default 10). The use cases apply it in two ways:

- analyses with a minimum of their own get ``max(their own, k)``: affinity cells and
  category gaps (``min_customers``), store pairs (``min_together`` units), campaign arms
  (``min_cell``), drift tests;
- the figures left over are passed through the functions here before the result is
  returned, stored with the run (so the report, the dashboard and the API read the same
  suppressed figures) or exported: per-segment loyalty rows and loyalty drivers, heat maps
  of segments or zones, recommendation evaluation groups and the "N customers" in a
  recommendation's reason.

Examples
--------
>>> import pandas as pd
>>> from mallseg.core.group_size import GroupSizeRule
>>> frame = pd.DataFrame({"customer_id": ["a"], "because_of": ["S1"], "co_customers": [4],
...                       "share": [0.5], "reason": ["... (4 customers)."], "source": ["x"],
...                       "item": ["S2"], "label": ["Nova"]})
>>> recommendation_reasons(frame, GroupSizeRule(10)).loc[0, ["co_customers", "reason"]].tolist()
[<NA>, 'Customers who shop where you shop also use Nova.']
"""

from __future__ import annotations

import dataclasses

import duckdb
import numpy as np
import pandas as pd

from mallseg.core.group_size import GroupSizeRule
from mallseg.core.sql_text import quote_identifier
from mallseg.insights.layout import LayoutResult
from mallseg.insights.layout.hours import HeatMap, HourlyActivity
from mallseg.insights.loyalty import LoyaltyResult
from mallseg.insights.loyalty.driver_findings import SegmentDrivers
from mallseg.insights.recommend import RecommendationResult
from mallseg.insights.recommend.result import MethodScore

__all__ = [
    "layout_shown",
    "loyalty_shown",
    "recommendation_reasons",
    "recommendations_shown",
    "stored_profile_shown",
]


def loyalty_shown(result: LoyaltyResult, rule: GroupSizeRule) -> LoyaltyResult:
    """Segments of fewer than ``k`` customers keep their count and lose every figure."""
    segments = result.segments
    hidden = 0
    if "customers" in segments.columns and len(segments):
        keep = [c for c in segments.columns if c in ("segment", "customers")]
        values = [c for c in segments.columns if c not in keep]
        segments = rule.suppress(segments, "customers", values)
        hidden = int(segments["suppressed"].sum())
    drivers = result.drivers
    if drivers is not None:
        drivers = dataclasses.replace(drivers, segments=tuple(
            s if rule.allows(s.customers) else _hidden_drivers(s, rule)
            for s in drivers.segments))
    notes = result.notes + ((rule.hidden_note(hidden, "segments"),) if hidden else ())
    return dataclasses.replace(result, segments=segments, drivers=drivers, notes=notes)


def _hidden_drivers(found: SegmentDrivers, rule: GroupSizeRule) -> SegmentDrivers:
    return SegmentDrivers(found.segment, found.customers, float("nan"), float("nan"),
                          float("nan"), (),
                          f"Not shown: learned on {found.customers:,} customers of the "
                          f"segment, fewer than the minimum group size of {rule.k}.")


def layout_shown(result: LayoutResult, rule: GroupSizeRule) -> LayoutResult:
    """Heat maps of zones or segments with fewer than ``k`` customers lose their counts.

    Affinity cells, gaps and pairs are held to ``k`` by the thresholds the use case
    passes (``min_customers``, ``min_together``); this removes what those do not reach.
    """
    if result.activity is None:
        return result
    activity: HourlyActivity = result.activity
    zones = tuple(_heat_map_shown(h, rule) for h in activity.zones)
    segments = tuple(_heat_map_shown(h, rule) for h in activity.segments)
    hidden = sum(1 for before, after in zip((*activity.zones, *activity.segments),
                                            (*zones, *segments), strict=True)
                 if before is not after)
    notes = result.notes + ((rule.hidden_note(hidden, "heat maps"),) if hidden else ())
    return dataclasses.replace(
        result, activity=dataclasses.replace(activity, zones=zones, segments=segments),
        notes=notes)


def _heat_map_shown(heat: HeatMap, rule: GroupSizeRule) -> HeatMap:
    if rule.allows(heat.customers):
        return heat
    empty = tuple(tuple(0 for _ in row) for row in heat.counts)
    return HeatMap(heat.kind, heat.group, empty, 0, heat.customers, None, None, None, None)


def recommendations_shown(
    result: RecommendationResult, rule: GroupSizeRule,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> RecommendationResult:
    """Evaluation groups under ``k`` customers lose their scores; reasons lose small counts.

    When the recommendations went to a table (``output_table``), its rows are rewritten in
    the database through ``connection``.
    """
    evaluation = result.evaluation
    if evaluation is not None:
        evaluation = dataclasses.replace(
            evaluation,
            validation=tuple(_score_shown(s, rule) for s in evaluation.validation),
            test=tuple(_score_shown(s, rule) for s in evaluation.test))
    frame = result.recommendations
    if frame is not None and "co_customers" in frame.columns:
        frame = recommendation_reasons(frame, rule)
    if result.output_table and connection is not None:
        table = quote_identifier(result.output_table)
        connection.execute(
            f"UPDATE {table} SET co_customers = NULL, share = NULL, reason = "
            f"'{_SMALL_REASON}' || coalesce(label, item) || '.' WHERE co_customers < ?",
            [rule.k])
    return dataclasses.replace(result, evaluation=evaluation, recommendations=frame)


def _score_shown(score: MethodScore, rule: GroupSizeRule) -> MethodScore:
    if rule.allows(score.customers):
        return score
    nan = float("nan")
    return dataclasses.replace(score, hit_rate=nan, ndcg=nan, coverage=nan)


def recommendation_reasons(frame: pd.DataFrame, rule: GroupSizeRule) -> pd.DataFrame:
    """Rows whose reason counts fewer than ``k`` co-customers say it without the figures."""
    counts = pd.to_numeric(frame["co_customers"], errors="coerce")
    small = (counts.notna() & (counts < rule.k)).to_numpy()
    if not small.any():
        return frame
    out = frame.copy()
    labels = out["label"].astype(str) if "label" in out.columns else out["item"].astype(str)
    out["co_customers"] = out["co_customers"].astype("Int64")
    out.loc[small, "co_customers"] = pd.NA
    if "share" in out.columns:
        out.loc[small, "share"] = np.nan
    out.loc[small, "reason"] = _SMALL_REASON + labels[small] + "."
    return out


_SMALL_REASON = "Customers who shop where you shop also use "


def stored_profile_shown(size: int, profile: dict[str, object],
                         rule: GroupSizeRule) -> dict[str, object]:
    """A stored segment profile as the API shows it: nothing but the flag when small.

    >>> stored_profile_shown(4, {"mean_age": 30.0}, GroupSizeRule(10))
    {'suppressed': True}
    >>> stored_profile_shown(40, {"mean_age": 30.0}, GroupSizeRule(10))
    {'mean_age': 30.0}
    """
    return dict(profile) if rule.allows(size) else {"suppressed": True}
