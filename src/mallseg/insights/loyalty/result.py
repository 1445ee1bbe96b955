"""The value :func:`~mallseg.insights.loyalty.analysis.analyse_loyalty` returns.

Examples
--------
>>> import pandas as pd
>>> from datetime import datetime
>>> r = LoyaltyResult(datetime(2024, 1, 1), 90.0, "visits", pd.DataFrame(),
...                   pd.DataFrame({"segment": ["A"], "customers": [3]}), None, None,
...                   None, None, None, 12, 0.01)
>>> r.to_dict(customers=False)["segments"]
[{'segment': 'A', 'customers': 3}]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from mallseg.insights.loyalty.bgnbd import BgNbdModel
from mallseg.insights.loyalty.driver_findings import LoyaltyDrivers
from mallseg.insights.loyalty.gammagamma import GammaGammaModel
from mallseg.insights.loyalty.paretonbd import ParetoNbdModel
from mallseg.insights.loyalty.segments import AtRiskRule

__all__ = ["LoyaltyResult", "RepeatModel", "frame_records"]

RepeatModel = BgNbdModel | ParetoNbdModel
"""A fitted repeat-event model."""


@dataclass(frozen=True)
class LoyaltyResult:
    """Loyalty and value of every customer and segment, with the models behind them.

    Attributes
    ----------
    as_of, horizon_days:
        End of the observed history, and the forecast horizon in days.
    activity_source:
        ``"visits"`` or ``"transactions"``: where P(active) comes from.
    customers:
        The per-customer loyalty table (see the module text), one row per assigned
        customer, sorted by ``customer_id``.
    segments:
        The per-segment table (:func:`~mallseg.insights.loyalty.segments.segment_loyalty_table`).
    visit_model, purchase_model, spend_model:
        The fitted models, or ``None`` when the data did not allow one.
    at_risk_rule:
        The thresholds behind ``at_risk``.
    drivers:
        What goes with coming back, per segment, or ``None``.
    value_months, monthly_discount_rate:
        Horizon and discount rate of ``customer_value``.
    notes:
        What was left out and why, in sentences.
    """

    as_of: datetime
    horizon_days: float
    activity_source: str
    customers: pd.DataFrame
    segments: pd.DataFrame
    visit_model: RepeatModel | None
    purchase_model: RepeatModel | None
    spend_model: GammaGammaModel | None
    at_risk_rule: AtRiskRule | None
    drivers: LoyaltyDrivers | None
    value_months: int
    monthly_discount_rate: float
    notes: tuple[str, ...] = ()

    def to_dict(self, *, customers: bool = True) -> dict[str, Any]:
        """Plain JSON types; ``customers=False`` leaves the per-customer rows out.

        Examples
        --------
        >>> r = LoyaltyResult(datetime(2024, 1, 1), 90.0, "visits", pd.DataFrame(),
        ...                   pd.DataFrame({"segment": ["A"], "customers": [3]}), None, None,
        ...                   None, None, None, 12, 0.01)
        >>> r.to_dict()["segments"]
        [{'segment': 'A', 'customers': 3}]
        """
        out: dict[str, Any] = {
            "as_of": self.as_of.isoformat(),
            "horizon_days": float(self.horizon_days),
            "activity_source": self.activity_source,
            "value_months": int(self.value_months),
            "monthly_discount_rate": float(self.monthly_discount_rate),
            "models": {
                "visits": None if self.visit_model is None else self.visit_model.to_dict(),
                "purchases": (
                    None if self.purchase_model is None else self.purchase_model.to_dict()
                ),
                "spend": None if self.spend_model is None else self.spend_model.to_dict(),
            },
            "at_risk_rule": None if self.at_risk_rule is None else self.at_risk_rule.to_dict(),
            "segments": frame_records(self.segments),
            "drivers": None if self.drivers is None else self.drivers.to_dict(),
            "notes": list(self.notes),
        }
        if customers:
            out["customers"] = frame_records(self.customers)
        return out


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as dicts of plain JSON types (NaN and NaT become ``None``).

    Examples
    --------
    >>> frame_records(pd.DataFrame({"a": [1, 2], "b": [0.5, np.nan]}))
    [{'a': 1, 'b': 0.5}, {'a': 2, 'b': None}]
    """
    def plain(value: Any) -> Any:
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if value is pd.NA or value is pd.NaT or value is None:
            return None
        if isinstance(value, pd.Timestamp | datetime | date):
            return value.isoformat()
        return value

    return [
        {str(k): plain(v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]
