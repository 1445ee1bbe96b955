"""Loyalty and customer value: who comes back, who is slipping away, what they are worth.

- :mod:`~mallseg.insights.loyalty.summary`: the (x, t_x, T) buy-till-you-die summary of
  visits or purchases, in DuckDB, with an optional holdout period.
- :mod:`~mallseg.insights.loyalty.bgnbd`, :mod:`~mallseg.insights.loyalty.paretonbd`:
  repeat-event models by maximum likelihood (P(alive), expected events, standard errors).
- :mod:`~mallseg.insights.loyalty.gammagamma`, :mod:`~mallseg.insights.loyalty.value`: spend
  per purchase and discounted customer value.
- :mod:`~mallseg.insights.loyalty.segments`: figures per segment and the at-risk rule.
- :mod:`~mallseg.insights.loyalty.drivers`: what goes with coming back, per segment.
- :mod:`~mallseg.insights.loyalty.analysis`: :func:`analyse_loyalty`, all of it in one call.

Examples
--------
>>> model = BgNbdModel(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="weeks")
>>> round(float(model.expected_repeat_events(39, 2, 30.43, 38.86)[0]), 3)
1.226
"""

from mallseg.insights.loyalty.analysis import LoyaltyResult, RepeatModelName, analyse_loyalty
from mallseg.insights.loyalty.bgnbd import BgNbdModel, fit_bgnbd
from mallseg.insights.loyalty.drivers import (
    Driver,
    LoyaltyDrivers,
    SegmentDrivers,
    loyalty_drivers,
)
from mallseg.insights.loyalty.fitting import FitDiagnostics, ModelFitError, ParameterEstimate
from mallseg.insights.loyalty.gammagamma import GammaGammaModel, fit_gamma_gamma
from mallseg.insights.loyalty.paretonbd import ParetoNbdModel, fit_pareto_nbd
from mallseg.insights.loyalty.segments import (
    AtRiskRule,
    as_segment_labels,
    flag_at_risk,
    segment_loyalty_table,
)
from mallseg.insights.loyalty.summary import EventSummary, summarise_events
from mallseg.insights.loyalty.value import (
    customer_lifetime_value,
    expected_spend_over,
    monthly_rate_from_annual,
)

__all__ = [
    "AtRiskRule",
    "BgNbdModel",
    "Driver",
    "EventSummary",
    "FitDiagnostics",
    "GammaGammaModel",
    "LoyaltyDrivers",
    "LoyaltyResult",
    "ModelFitError",
    "ParameterEstimate",
    "ParetoNbdModel",
    "RepeatModelName",
    "SegmentDrivers",
    "analyse_loyalty",
    "as_segment_labels",
    "customer_lifetime_value",
    "expected_spend_over",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_pareto_nbd",
    "flag_at_risk",
    "loyalty_drivers",
    "monthly_rate_from_annual",
    "segment_loyalty_table",
    "summarise_events",
]
