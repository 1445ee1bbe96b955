"""A run's stored insights: loyalty, campaigns, the targeting plan, layout.

Each body carries the result's summary numbers and one of its tables as a page (``data``
with ``count``, the table's full length). Tables that grow with the mall (campaign x
segment cells, segment x store affinity, store pairs) are paged; lists bounded by the
number of segments (the playbook, suggestions) come whole.

Examples
--------
>>> body = LoyaltyPublic.from_stored(
...     {"as_of": "2026-03-01T00:00:00", "horizon_days": 90, "activity_source": "visits",
...      "segments": [{"segment": "Loyal", "customers": 120, "at_risk_share": 0.02,
...                    "tier_share_gold": 0.4}]},
...     run_id="0002", computed_at=None, offset=0, limit=10)
>>> body.count, body.data[0].segment, body.data[0].tier_shares
(1, 'Loyal', {'gold': 0.4})
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AffinityCellPublic",
    "CampaignCellPublic",
    "CampaignPublic",
    "CampaignsPublic",
    "EstimatePublic",
    "InsightStatePublic",
    "InsightsPublic",
    "LayoutPublic",
    "LayoutSuggestionPublic",
    "LoyaltyPublic",
    "LoyaltySegmentPublic",
    "PlaybookPublic",
    "StorePairPublic",
    "StorePairsPublic",
    "TargetingMethodPublic",
    "TargetingPublic",
    "TargetingSegmentPublic",
    "finite",
]

AffinityDimension = Literal["store", "category", "zone"]


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite number (at any depth) as ``None``.

    >>> finite({"a": [1.0, float("nan")], "b": float("inf")})
    {'a': [1.0, None], 'b': None}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def _window(rows: list[Any], offset: int, limit: int) -> list[Any]:
    return rows[offset:offset + limit]


class InsightStatePublic(BaseModel):
    """Whether one kind of result was computed for the run, where to read it, how to make it.

    >>> InsightStatePublic(kind="layout", computed=False, computed_at=None,
    ...                    path="/insights/layout", command="mallseg layout --run 0002").path
    '/insights/layout'
    """

    kind: str
    computed: bool
    computed_at: datetime | None
    path: str = Field(description="Where the API serves it.")
    command: str = Field(description="The command that computes and stores it.")


class InsightsPublic(BaseModel):
    """The results a run has, and those it has not yet."""

    run_id: str
    data: list[InsightStatePublic]
    count: int


class _Stored(BaseModel):
    """Fields every stored insight's body has."""

    run_id: str = Field(description="The segmentation run the result belongs to.")
    computed_at: datetime | None = Field(description="When the result was computed.")
    notes: list[str] = Field(default_factory=list,
                             description="What the numbers rest on and what was left out.")
    count: int = Field(description="Rows of the paged table in all (``data`` is one page).")


class LoyaltySegmentPublic(BaseModel):
    """Loyalty and value of one segment (shares 0-1; money in the data's currency)."""

    model_config = ConfigDict(extra="ignore")

    segment: str
    customers: int
    share: float | None = None
    visitors: int | None = None
    repeat_visitor_share: float | None = None
    median_days_between_visits: float | None = None
    active_share: float | None = Field(None, description="Mean chance of still being active.")
    active_based_on: int | None = Field(None, description="Customers the chance rests on.")
    expected_visits: float | None = None
    expected_visits_per_customer: float | None = None
    buyers: int | None = None
    expected_purchases: float | None = None
    expected_spend: float | None = None
    expected_spend_per_buyer: float | None = None
    customer_value: float | None = None
    offers_received: int | None = None
    response_rate: float | None = None
    redemption_rate: float | None = None
    at_risk_customers: int | None = None
    at_risk_share: float | None = Field(
        None, description="Share of the segment's customers valuable and unlikely to return.")
    at_risk_past_spend: float | None = None
    at_risk_expected_spend: float | None = None
    tier_shares: dict[str, float | None] = Field(
        default_factory=dict, description="Share of the segment in each loyalty tier.")


class LoyaltyPublic(_Stored):
    """Loyalty of a run's segments (``mallseg loyalty``); ``data`` pages the segments."""

    as_of: datetime | None = None
    horizon_days: float = Field(description="Days the forecasts cover.")
    activity_source: str = Field(description="visits or purchases: what activity is read from.")
    at_risk_rule: str = Field("", description="Who counts as at risk.")
    data: list[LoyaltySegmentPublic]

    @classmethod
    def from_stored(cls, payload: dict[str, Any], *, run_id: str, computed_at: datetime | None,
                    offset: int, limit: int) -> LoyaltyPublic:
        """The body of a stored loyalty result (see the module's example)."""
        payload = finite(payload)
        rows = [_loyalty_row(r) for r in payload.get("segments") or []]
        rule = payload.get("at_risk_rule") or {}
        return cls(run_id=run_id, computed_at=computed_at, notes=payload.get("notes") or [],
                   count=len(rows), as_of=payload.get("as_of"),
                   horizon_days=float(payload.get("horizon_days") or 0),
                   activity_source=str(payload.get("activity_source") or "visits"),
                   at_risk_rule=str(rule.get("description") or ""),
                   data=_window(rows, offset, limit))


def _loyalty_row(row: dict[str, Any]) -> LoyaltySegmentPublic:
    tiers = {k.removeprefix("tier_share_"): v for k, v in row.items()
             if k.startswith("tier_share_")}
    return LoyaltySegmentPublic.model_validate({**row, "tier_shares": tiers})


class EstimatePublic(BaseModel):
    """One measured difference between targeted and held-out customers, with its interval."""

    model_config = ConfigDict(extra="allow")

    metric: str
    treated: float | None = Field(None, description="Mean among the targeted.")
    holdout: float | None = Field(None, description="Mean among the held out.")
    uplift: float | None = None
    low: float | None = Field(None, description="Lower end of the interval.")
    high: float | None = Field(None, description="Upper end of the interval.")
    relative_uplift: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = Field(None, description="Benjamini-Hochberg adjusted.")
    significant: bool = False
    direction: str | None = None


class CampaignCellPublic(BaseModel):
    """A campaign in a segment (``segment`` null: the campaign over everyone)."""

    campaign_id: str
    segment: str | None = None
    status: str = Field(description="measured, too_small, no_holdout, ...")
    n_targeted: int
    n_holdout: int
    response: EstimatePublic | None = None
    spend: EstimatePublic | None = None
    visits: EstimatePublic | None = None


class CampaignPublic(BaseModel):
    """A campaign and its overall result."""

    model_config = ConfigDict(extra="ignore")

    campaign_id: str
    name: str | None = None
    channel: str | None = None
    offer: str | None = None
    target_category: str | None = None
    window_first_day: str | None = None
    window_last_day: str | None = None
    response_source: str | None = None
    overall: CampaignCellPublic | None = None


class PlaybookPublic(BaseModel):
    """What worked for one segment (campaign ids in each list)."""

    model_config = ConfigDict(extra="ignore")

    segment: str
    worked: list[str] = Field(default_factory=list)
    responds_anyway: list[str] = Field(default_factory=list)
    harmed: list[str] = Field(default_factory=list)
    inconclusive: list[str] = Field(default_factory=list)
    too_small: list[str] = Field(default_factory=list)
    channels_that_worked: list[str] = Field(default_factory=list)
    summary: str = ""


class CampaignsPublic(_Stored):
    """Uplift per campaign and segment against holdouts (``mallseg campaigns``).

    ``data`` pages the campaign x segment cells; ``campaigns`` and ``playbook`` (one entry
    per campaign, per segment) come whole.
    """

    confidence: float | None = None
    min_cell: int | None = Field(None, description="Fewest customers per arm to measure.")
    window_days: int | None = None
    segments: list[str] = Field(default_factory=list)
    campaigns: list[CampaignPublic]
    playbook: list[PlaybookPublic]
    data: list[CampaignCellPublic]

    @classmethod
    def from_stored(cls, payload: dict[str, Any], *, run_id: str, computed_at: datetime | None,
                    offset: int, limit: int) -> CampaignsPublic:
        """The body of a stored campaign result."""
        payload = finite(payload)
        cells = payload.get("cells") or []
        return cls(run_id=run_id, computed_at=computed_at, notes=payload.get("notes") or [],
                   count=len(cells), confidence=payload.get("confidence"),
                   min_cell=payload.get("min_cell"), window_days=payload.get("window_days"),
                   segments=[str(s) for s in payload.get("segments") or []],
                   campaigns=payload.get("campaigns") or [],
                   playbook=payload.get("playbook") or [],
                   data=_window(cells, offset, limit))


class TargetingMethodPublic(BaseModel):
    """A targeting method tried, with its held-out Qini coefficient."""

    model_config = ConfigDict(extra="ignore")

    method: str
    qini_coefficient: float | None = None
    chosen: bool = False
    note: str | None = None


class TargetingSegmentPublic(BaseModel):
    """How many of a segment the plan contacts."""

    model_config = ConfigDict(extra="ignore")

    segment: str
    candidates: int
    contacts: int
    holdout: int
    mean_expected_uplift: float | None = None


class TargetingPublic(_Stored):
    """The next campaign's targeting plan (``mallseg export targets``); ``data``: segments."""

    method: str = Field(description="How customers were ranked (chosen on held-out Qini).")
    methods: list[TargetingMethodPublic]
    candidates: int = Field(description="Customers the plan could contact.")
    excluded_without_consent: int = 0
    consent_rule: str | None = None
    contacts: int
    holdout: int = Field(description="Contacts kept as a fresh random holdout.")
    holdout_share: float | None = None
    expected_incremental_responses: float | None = None
    expected_low: float | None = None
    expected_high: float | None = None
    expected_net_value: float | None = None
    net_value_low: float | None = None
    net_value_high: float | None = None
    confidence: float | None = None
    budget: dict[str, Any] = Field(default_factory=dict)
    data: list[TargetingSegmentPublic]

    @classmethod
    def from_stored(cls, payload: dict[str, Any], *, run_id: str, computed_at: datetime | None,
                    offset: int, limit: int) -> TargetingPublic:
        """The body of a stored targeting plan (the target list itself stays in its file)."""
        payload = finite(payload)
        rows = payload.get("segments") or []
        fields = {k: payload.get(k) for k in (
            "expected_incremental_responses", "expected_low", "expected_high",
            "expected_net_value", "net_value_low", "net_value_high", "confidence",
            "holdout_share", "consent_rule")}
        return cls(run_id=run_id, computed_at=computed_at, notes=payload.get("notes") or [],
                   count=len(rows), method=str(payload.get("method") or ""),
                   methods=payload.get("methods") or [],
                   candidates=int(payload.get("candidates") or 0),
                   excluded_without_consent=int(payload.get("excluded_without_consent") or 0),
                   contacts=int(payload.get("contacts") or 0),
                   holdout=int(payload.get("holdout") or 0),
                   budget=payload.get("budget") or {}, data=_window(rows, offset, limit),
                   **fields)


class AffinityCellPublic(BaseModel):
    """A segment x store (category, zone) cell: its share against everyone's, as lift."""

    model_config = ConfigDict(extra="ignore")

    segment: str
    item: str
    label: str | None = None
    customers: int = Field(description="The segment's customers with any of it.")
    status: str = Field(description="ok, or too_few customers to judge.")
    value: float | None = None
    segment_share: float | None = None
    population_share: float | None = None
    lift: float | None = None


class LayoutSuggestionPublic(BaseModel):
    """A layout suggestion and the figures behind it."""

    model_config = ConfigDict(extra="ignore")

    kind: str
    segment: str | None = None
    text: str
    figures: dict[str, Any] = Field(default_factory=dict)


class LayoutPublic(_Stored):
    """Affinity, stores bought together and suggestions (``mallseg layout``).

    ``data`` pages the affinity cells of ``dimension``; the store pairs are paged at
    ``/insights/layout/pairs``.
    """

    dimension: AffinityDimension
    measure: str | None = Field(None, description="spend or visits: what the shares are of.")
    min_customers: int | None = None
    segments: list[str] = Field(default_factory=list)
    pair_unit: str | None = Field(None, description="basket or day: what 'together' means.")
    pairs: int = Field(0, description="Store pairs bought together often enough to report.")
    suggestions: list[LayoutSuggestionPublic]
    data: list[AffinityCellPublic]

    @classmethod
    def from_stored(cls, payload: dict[str, Any], *, run_id: str, computed_at: datetime | None,
                    dimension: AffinityDimension, offset: int, limit: int) -> LayoutPublic:
        """The body of a stored layout result, with the affinity of ``dimension``."""
        payload = finite(payload)
        affinity = payload.get(f"{dimension}_affinity") or {}
        cells = affinity.get("cells") or []
        pairs = payload.get("pairs") or {}
        return cls(run_id=run_id, computed_at=computed_at, notes=payload.get("notes") or [],
                   count=len(cells), dimension=dimension, measure=affinity.get("measure"),
                   min_customers=payload.get("min_customers"),
                   segments=[str(s) for s in payload.get("segments") or []],
                   pair_unit=pairs.get("unit"), pairs=len(pairs.get("pairs") or []),
                   suggestions=payload.get("suggestions") or [],
                   data=_window(cells, offset, limit))


class StorePairPublic(BaseModel):
    """Two stores bought from together."""

    model_config = ConfigDict(extra="ignore")

    store_a: str
    store_b: str
    name_a: str | None = None
    name_b: str | None = None
    zone_a: str | None = None
    zone_b: str | None = None
    together: int = Field(description="Baskets (or days) with both.")
    support: float | None = None
    confidence_a_to_b: float | None = None
    confidence_b_to_a: float | None = None
    lift: float | None = None
    different_zone: bool | None = None


class StorePairsPublic(_Stored):
    """A page of the stores bought together (``mallseg layout``)."""

    unit: str | None = None
    units: int = Field(0, description="Baskets (or days) counted.")
    min_together: int | None = None
    pairs_below_minimum: int = Field(0, description="Pairs seen together too rarely to report.")
    data: list[StorePairPublic]

    @classmethod
    def from_stored(cls, payload: dict[str, Any], *, run_id: str, computed_at: datetime | None,
                    offset: int, limit: int) -> StorePairsPublic:
        """The store pairs of a stored layout result."""
        pairs = finite(payload).get("pairs") or {}
        rows = pairs.get("pairs") or []
        return cls(run_id=run_id, computed_at=computed_at, count=len(rows),
                   unit=pairs.get("unit"), units=int(pairs.get("units") or 0),
                   min_together=pairs.get("min_together"),
                   pairs_below_minimum=int(pairs.get("pairs_below_minimum") or 0),
                   data=_window(rows, offset, limit))
