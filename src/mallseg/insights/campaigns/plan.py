"""What a targeting plan is: the value that ``plan_targeting`` returns.

A plan names the customers to contact (and the fresh random holdout among them, not to be
contacted), how they were chosen (the uplift method with the best held-out Qini
coefficient, next to the others' scores), the Qini curves behind that choice, and the
incremental responses to expect, with their interval. The customer list itself is a frame
(:attr:`TargetingPlan.targets`); :meth:`TargetingPlan.to_dict` carries everything else.

Examples
--------
>>> budget = Budget(kind="share", contacts=30, share=0.3)
>>> budget.to_dict()
{'kind': 'share', 'contacts': 30, 'share': 0.3, 'cost_per_contact': None, \
'value_per_response': None}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from mallseg.insights.campaigns.uplift_curve import UpliftCurve

__all__ = ["TARGET_COLUMNS", "Budget", "MethodScore", "SegmentTargets", "TargetingPlan"]

TARGET_COLUMNS: tuple[str, ...] = ("customer_id", "segment", "expected_uplift", "is_holdout")
"""Columns of a target list: nothing personal beyond the workspace's customer id."""


@dataclass(frozen=True)
class Budget:
    """How many customers the plan contacts, and why.

    ``kind`` is ``contacts`` (a number was given), ``share`` (a share of the candidates)
    or ``value`` (everyone whose expected uplift times the value of a response exceeds the
    cost of a contact, up to ``contacts`` when a cap was given).
    """

    kind: Literal["contacts", "share", "value"]
    contacts: int
    share: float
    cost_per_contact: float | None = None
    value_per_response: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "kind": self.kind,
            "contacts": int(self.contacts),
            "share": round(float(self.share), 6),
            "cost_per_contact": self.cost_per_contact,
            "value_per_response": self.value_per_response,
        }


@dataclass(frozen=True)
class MethodScore:
    """One uplift method's held-out Qini coefficient (``None`` when it was not fitted)."""

    method: str
    qini_coefficient: float | None
    chosen: bool
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"method": self.method, "qini_coefficient": self.qini_coefficient,
                "chosen": self.chosen, "note": self.note}


@dataclass(frozen=True)
class SegmentTargets:
    """How many of one segment's candidates the plan contacts and holds out."""

    segment: str
    candidates: int
    contacts: int
    """On the list, holdout included."""
    holdout: int
    mean_expected_uplift: float | None
    """Mean expected uplift of the segment's customers on the list."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        mean = self.mean_expected_uplift
        return {"segment": self.segment, "candidates": int(self.candidates),
                "contacts": int(self.contacts), "holdout": int(self.holdout),
                "mean_expected_uplift": None if mean is None else round(mean, 6)}


@dataclass(frozen=True, eq=False)
class TargetingPlan:
    """Who to contact in the next campaign, how they were chosen and what to expect.

    Attributes
    ----------
    method:
        The uplift method that ranked the customers.
    methods:
        Every method tried, with its held-out (cross-fitted) Qini coefficient.
    curves:
        The Qini curves of the fitted methods, scaled to the candidates.
    training_campaigns, training_exposures:
        The past campaigns (and their exposures with a known response) learnt from.
    candidates:
        Customers that could be contacted (segmented, allowed by the consent rule).
    excluded_without_consent:
        Customers left out by the consent rule (refused, or unknown under ``opt_in``:
        see :mod:`mallseg.data.consent`).
    budget:
        How the number of contacts was decided.
    contacts, holdout:
        Customers on the list, and how many of them form the fresh random holdout.
    expected_incremental_responses, expected_low, expected_high:
        Extra responses expected from the contacted (non-holdout) customers, and the
        interval, estimated on held-out exposures ranked the same way.
    expected_net_value, net_value_low, net_value_high:
        ``value_per_response`` times those responses minus ``cost_per_contact`` per
        contact, when both were given.
    confidence:
        Coverage of the intervals.
    segments:
        Contacts per segment.
    targets:
        The list: ``customer_id``, ``segment``, ``expected_uplift``, ``is_holdout``,
        best expected uplift first.
    notes:
        What a reader of the plan should know (methods not fitted, columns left out).
    """

    method: str
    methods: tuple[MethodScore, ...]
    curves: tuple[UpliftCurve, ...]
    training_campaigns: tuple[str, ...]
    training_exposures: int
    candidates: int
    excluded_without_consent: int
    budget: Budget
    contacts: int
    holdout: int
    holdout_share: float
    expected_incremental_responses: float
    expected_low: float
    expected_high: float
    confidence: float
    segments: tuple[SegmentTargets, ...]
    targets: pd.DataFrame = field(repr=False)
    expected_net_value: float | None = None
    net_value_low: float | None = None
    net_value_high: float | None = None
    notes: tuple[str, ...] = ()
    consent_rule: str = "opt_in"
    """The consent rule the candidates were chosen by."""

    def curve(self, method: str | None = None) -> UpliftCurve:
        """The Qini curve of ``method`` (default: the chosen one).

        Raises
        ------
        KeyError
            When that method has no curve (it was not fitted).
        """
        wanted = method or self.method
        for curve in self.curves:
            if curve.method == wanted:
                return curve
        raise KeyError(f"no Qini curve for method {wanted!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (the customer list is left out: see :attr:`targets`)."""

        def num(value: float | None, digits: int = 3) -> float | None:
            return None if value is None else round(float(value), digits)

        return {
            "method": self.method,
            "methods": [m.to_dict() for m in self.methods],
            "curves": [c.to_dict() for c in self.curves],
            "training_campaigns": list(self.training_campaigns),
            "training_exposures": int(self.training_exposures),
            "candidates": int(self.candidates),
            "excluded_without_consent": int(self.excluded_without_consent),
            "consent_rule": self.consent_rule,
            "budget": self.budget.to_dict(),
            "contacts": int(self.contacts),
            "holdout": int(self.holdout),
            "holdout_share": self.holdout_share,
            "expected_incremental_responses": num(self.expected_incremental_responses),
            "expected_low": num(self.expected_low),
            "expected_high": num(self.expected_high),
            "expected_net_value": num(self.expected_net_value, 2),
            "net_value_low": num(self.net_value_low, 2),
            "net_value_high": num(self.net_value_high, 2),
            "confidence": self.confidence,
            "segments": [s.to_dict() for s in self.segments],
            "target_count": len(self.targets),
            "notes": list(self.notes),
        }
