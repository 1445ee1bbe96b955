"""Loyalty and customer value of a segmentation, in one call: :func:`analyse_loyalty`.

Steps, each in the module that owns it:

1. the (x, t_x, T) summary of visits and of purchases up to ``as_of``, in DuckDB
   (:mod:`~mallseg.insights.loyalty.summary`);
2. a repeat-event model fitted on each (BG/NBD by default, Pareto/NBD on request) and the
   Gamma-Gamma spend model on the repeat buyers;
3. the per-customer loyalty table: P(active), expected visits, purchases and spend over
   the horizon, discounted value, loyalty tier, campaign offers, the at-risk flag;
4. the per-segment table (:mod:`~mallseg.insights.loyalty.segments`);
5. what goes with coming back in each segment (:mod:`~mallseg.insights.loyalty.drivers`),
   learned on the last ``horizon_days`` before ``as_of``: features as they were at the
   window's start, and whether the customer came back within the window.

"Active" is read from visits when the mall records them (a customer can come without
buying), else from purchases. A model that cannot be fitted leaves its columns out and
says so in ``notes``; the analysis stops only when no repeat-event model can be fitted.

Per-customer columns (times in days whatever the model's unit; NaN where the customer
has no such history before ``as_of``):

``segment``; ``visit_repeats``, ``visit_recency_days``, ``visit_observed_days`` (x, t_x and
T of visits); ``p_alive_visits``, ``expected_visits``; ``purchase_repeats``,
``purchase_recency_days``, ``purchase_observed_days``, ``past_spend``,
``repeat_spend_mean``; ``p_alive_purchases``, ``expected_purchases``,
``expected_spend_per_purchase``, ``expected_spend`` (over the horizon), ``customer_value``
(discounted, over ``value_months``); ``p_alive`` (the activity source's); ``loyalty_tier``;
``offers_received``, ``offers_responded``, ``offers_response_known``, ``offers_redeemed``;
``high_value`` and ``at_risk``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Literal, cast

import duckdb
import pandas as pd

from mallseg.core.sql_text import quote_literal
from mallseg.features.build import build_customer_features, fetch_frame
from mallseg.features.reference_time import as_naive_timestamp, latest_event_time
from mallseg.features.sources import CanonicalSources, inspect_sources
from mallseg.insights.loyalty.bgnbd import fit_bgnbd
from mallseg.insights.loyalty.drivers import LoyaltyDrivers, loyalty_drivers
from mallseg.insights.loyalty.fitting import ModelFitError
from mallseg.insights.loyalty.gammagamma import GammaGammaModel, fit_gamma_gamma
from mallseg.insights.loyalty.paretonbd import fit_pareto_nbd
from mallseg.insights.loyalty.result import LoyaltyResult, RepeatModel
from mallseg.insights.loyalty.segments import (
    as_segment_labels,
    flag_at_risk,
    segment_loyalty_table,
)
from mallseg.insights.loyalty.summary import EventSource, EventSummary, summarise_events
from mallseg.insights.loyalty.value import (
    UNIT_DAYS,
    customer_lifetime_value,
    expected_spend_over,
    to_model_time,
)
from mallseg.workspace.limits import release_cache

__all__ = ["LoyaltyResult", "RepeatModelName", "analyse_loyalty"]

logger = logging.getLogger(__name__)

RepeatModelName = Literal["bgnbd", "pareto_nbd"]
_FITTERS: dict[str, Callable[..., RepeatModel]] = {
    "bgnbd": fit_bgnbd, "pareto_nbd": fit_pareto_nbd,
}


def analyse_loyalty(
    connection: duckdb.DuckDBPyConnection,
    assignments: pd.DataFrame | pd.Series | Mapping[str, Any],
    *,
    as_of: datetime | date | None = None,
    horizon_days: float = 90,
    model: RepeatModelName = "bgnbd",
    unit: str = "days",
    segment_column: str | None = None,
    value_months: int = 12,
    monthly_discount_rate: float = 0.01,
    alive_threshold: float = 0.5,
    value_column: str = "past_spend",
    drivers: bool = True,
    random_state: int = 0,
) -> LoyaltyResult:
    """Loyalty, churn risk and value per customer and per segment, and what drives coming back.

    Parameters
    ----------
    connection:
        DuckDB connection holding the canonical tables (a workspace's ``.connection``).
    assignments:
        ``customer_id -> segment``: a frame with ``customer_id`` and ``segment_name`` /
        ``segment_id`` / ``segment`` (as stored in ``segment_assignments`` for one run), a
        Series or a mapping.
    as_of:
        End of the history used; default the latest event in the data.
    horizon_days:
        Forecast horizon for expected visits, purchases and spend, and the length of the
        window the drivers are learned on.
    model:
        ``"bgnbd"`` or ``"pareto_nbd"``, for both visits and purchases.
    unit:
        Time unit the models are fitted in (``"days"`` or ``"weeks"``); predictions do
        not depend on it beyond rounding.
    segment_column:
        Column of ``assignments`` holding the segment, when not one of the usual names.
    value_months, monthly_discount_rate:
        Horizon (months) and discount rate of the customer value.
    alive_threshold:
        P(active) below which a high-value customer is at risk.
    value_column:
        ``"past_spend"`` or ``"customer_value"``: what "high value" ranks by.
    drivers:
        Whether to learn what goes with coming back (the slowest step).
    random_state:
        Seed of the drivers' model.

    Raises
    ------
    ValueError
        On bad arguments, a database without visits or transactions, or no event before
        ``as_of``.
    ModelFitError
        When no repeat-event model can be fitted.

    Examples
    --------
    >>> import duckdb, pandas as pd
    >>> from datetime import date
    >>> from mallseg.datasets.btyd import simulate_bgnbd_events
    >>> con = duckdb.connect()
    >>> events = simulate_bgnbd_events(400, r=2.0, alpha=40.0, a=1.0, b=6.0, days=180, seed=1)
    >>> _ = con.execute("CREATE TABLE transactions AS SELECT * FROM events")
    >>> _ = con.execute("CREATE TABLE customers AS SELECT DISTINCT customer_id FROM events")
    >>> ids = con.execute("SELECT customer_id FROM customers ORDER BY 1").df()["customer_id"]
    >>> assignments = pd.DataFrame({"customer_id": ids, "segment_id": [i % 2 for i in range(400)]})
    >>> result = analyse_loyalty(con, assignments, as_of=date(2026, 6, 30), drivers=False)
    >>> result.segments[["segment", "customers", "buyers"]]
       segment  customers  buyers
    0        0        200     200
    1        1        200     200
    >>> result.purchase_model.name, result.activity_source
    ('BG/NBD', 'transactions')
    """
    if model not in _FITTERS:
        raise ValueError(f"model={model!r} must be one of {sorted(_FITTERS)}")
    if unit not in UNIT_DAYS:
        raise ValueError(f"unit={unit!r} must be one of {sorted(UNIT_DAYS)}")
    if not horizon_days > 0:
        raise ValueError(f"horizon_days={horizon_days!r} must be a positive number of days")
    if value_column not in ("past_spend", "customer_value"):
        raise ValueError(
            f"value_column={value_column!r} must be 'past_spend' or 'customer_value'"
        )
    labels = as_segment_labels(assignments, segment_column=segment_column)
    sources = inspect_sources(connection)
    present = [s for s in ("visits", "transactions") if sources.has(s)]
    if not present:
        raise ValueError(
            "Required table visits or transactions missing or empty: loyalty needs events; "
            "ingest visits or transactions first"
        )
    reference = (
        as_naive_timestamp(as_of) if as_of is not None else latest_event_time(connection, sources)
    )
    if reference is None:
        raise ValueError("no event in the data to take as_of from: pass as_of")
    notes: list[str] = []
    table = pd.DataFrame(index=pd.Index(sorted(labels.index), name="customer_id"))
    table["segment"] = labels.reindex(table.index)
    fitted: dict[str, RepeatModel | None] = {"visits": None, "transactions": None}
    spend_model: GammaGammaModel | None = None
    for source in present:
        summary = _summary_or_note(connection, source, reference, unit, notes)
        release_cache(connection)  # the models' arrays need the room DuckDB's cache holds
        if summary is None:
            continue
        repeat_model = _fit_or_note(model, summary, notes)
        fitted[source] = repeat_model
        if source == "visits":
            _add_visits(table, summary, repeat_model, horizon_days)
        else:
            spend_model = _fit_spend_or_note(summary, notes)
            _add_purchases(table, summary, repeat_model, spend_model, horizon_days,
                           value_months, monthly_discount_rate)
    activity = "visits" if fitted["visits"] is not None else "transactions"
    if fitted[activity] is None:
        raise ModelFitError(
            "no repeat-event model could be fitted: " + " ".join(notes)
            if notes else "no repeat-event model could be fitted"
        )
    table["p_alive"] = table["p_alive_visits" if activity == "visits" else "p_alive_purchases"]
    _add_customer_attributes(connection, sources, table, reference)
    rule = None
    if value_column in table and table[value_column].notna().any():
        flags, rule = flag_at_risk(
            table, value_column=value_column, alive_threshold=alive_threshold
        )
        table["high_value"] = table[value_column] >= rule.value_threshold
        table["at_risk"] = flags
    else:
        notes.append(f"no customer has a {value_column.replace('_', ' ')}: nobody is flagged "
                     "at risk")
    segments = segment_loyalty_table(table.reset_index())
    found_drivers = None
    if drivers:
        found_drivers = _drivers_or_note(connection, activity, reference, horizon_days, labels,
                                         random_state, notes)
    logger.info("loyalty of %d customers in %d segments as of %s", len(table), len(segments),
                reference)
    return LoyaltyResult(
        as_of=reference,
        horizon_days=float(horizon_days),
        activity_source=activity,
        customers=table.reset_index(),
        segments=segments,
        visit_model=fitted["visits"],
        purchase_model=fitted["transactions"],
        spend_model=spend_model,
        at_risk_rule=rule,
        drivers=found_drivers,
        value_months=value_months,
        monthly_discount_rate=monthly_discount_rate,
        notes=tuple(notes),
    )


def _summary_or_note(
    connection: duckdb.DuckDBPyConnection, source: str, reference: datetime, unit: str,
    notes: list[str],
) -> EventSummary | None:
    try:
        return summarise_events(connection, cast(EventSource, source), as_of=reference,
                                unit=unit)
    except ValueError as error:
        notes.append(f"{source}: {error}.")
        return None


def _fit_or_note(
    model: RepeatModelName, summary: EventSummary, notes: list[str]
) -> RepeatModel | None:
    c = summary.customers
    try:
        return _FITTERS[model](c["frequency"], c["recency"], c["T"], unit=summary.unit)
    except ModelFitError as error:
        notes.append(f"{summary.source}: {error}.")
        return None


def _fit_spend_or_note(summary: EventSummary, notes: list[str]) -> GammaGammaModel | None:
    c = summary.customers
    try:
        return fit_gamma_gamma(c["frequency"], c["monetary_value"])
    except ModelFitError as error:
        notes.append(f"spend: {error}; expected spend and value are left out.")
        return None


def _in_days(values: pd.Series, unit: str) -> pd.Series:
    return values * UNIT_DAYS[unit]


def _add_visits(
    table: pd.DataFrame, summary: EventSummary, fitted: RepeatModel | None, horizon: float
) -> None:
    c = summary.customers.set_index("customer_id")
    table["visit_repeats"] = c["frequency"].reindex(table.index)
    table["visit_recency_days"] = _in_days(c["recency"], summary.unit).reindex(table.index)
    table["visit_observed_days"] = _in_days(c["T"], summary.unit).reindex(table.index)
    if fitted is None:
        return
    x, t_x, big_t = c["frequency"], c["recency"], c["T"]
    table["p_alive_visits"] = pd.Series(
        fitted.probability_alive(x, t_x, big_t), index=c.index
    ).reindex(table.index)
    table["expected_visits"] = pd.Series(
        fitted.expected_repeat_events(to_model_time(horizon, summary.unit), x, t_x, big_t),
        index=c.index,
    ).reindex(table.index)


def _add_purchases(
    table: pd.DataFrame,
    summary: EventSummary,
    fitted: RepeatModel | None,
    spend: GammaGammaModel | None,
    horizon: float,
    value_months: int,
    monthly_discount_rate: float,
) -> None:
    c = summary.customers.set_index("customer_id")
    table["purchase_repeats"] = c["frequency"].reindex(table.index)
    table["purchase_recency_days"] = _in_days(c["recency"], summary.unit).reindex(table.index)
    table["purchase_observed_days"] = _in_days(c["T"], summary.unit).reindex(table.index)
    table["past_spend"] = c["spend"].reindex(table.index)
    table["repeat_spend_mean"] = c["monetary_value"].reindex(table.index)
    if fitted is None:
        return
    x, t_x, big_t, m = c["frequency"], c["recency"], c["T"], c["monetary_value"]
    columns = {
        "p_alive_purchases": fitted.probability_alive(x, t_x, big_t),
        "expected_purchases": fitted.expected_repeat_events(
            to_model_time(horizon, summary.unit), x, t_x, big_t
        ),
    }
    if spend is not None:
        columns["expected_spend_per_purchase"] = spend.expected_spend(x, m)
        columns["expected_spend"] = expected_spend_over(fitted, spend, horizon, x, t_x, big_t, m)
        columns["customer_value"] = customer_lifetime_value(
            fitted, spend, x, t_x, big_t, m, months=value_months,
            monthly_discount_rate=monthly_discount_rate,
        )
    for name, values in columns.items():
        table[name] = pd.Series(values, index=c.index).reindex(table.index)


def _add_customer_attributes(
    connection: duckdb.DuckDBPyConnection, sources: CanonicalSources, table: pd.DataFrame,
    reference: datetime,
) -> None:
    """Loyalty tier (customers) and campaign offers up to ``reference`` (exposures)."""
    stamp = f"TIMESTAMP {quote_literal(reference.isoformat(sep=' '))}"
    if sources.has("customers"):
        tiers = fetch_frame(
            connection,
            f"SELECT customer_id, loyalty_tier FROM {sources.relation('customers')} "
            "WHERE loyalty_tier IS NOT NULL",
        )
        if not tiers.empty:
            table["loyalty_tier"] = tiers.set_index("customer_id")["loyalty_tier"].reindex(
                table.index
            )
    if sources.has("exposures"):
        offers = fetch_frame(connection, f"""
            SELECT customer_id,
                count(*) AS offers_received,
                count(*) FILTER (WHERE responded) AS offers_responded,
                count(responded) AS offers_response_known,
                count(*) FILTER (WHERE redeemed_at IS NOT NULL AND redeemed_at <= {stamp})
                    AS offers_redeemed
            FROM {sources.relation('exposures')}
            WHERE NOT coalesce(is_holdout, false) AND (sent_at IS NULL OR sent_at <= {stamp})
            GROUP BY customer_id""").set_index("customer_id")
        for column in offers.columns:
            table[column] = offers[column].reindex(table.index).fillna(0).astype("int64")


def _drivers_or_note(
    connection: duckdb.DuckDBPyConnection,
    activity: str,
    reference: datetime,
    horizon: float,
    labels: pd.Series,
    random_state: int,
    notes: list[str],
) -> LoyaltyDrivers | None:
    start = reference - timedelta(days=horizon)
    try:
        window = summarise_events(connection, cast(EventSource, activity), as_of=start,
                                  holdout_days=horizon)
        returned = (window.customers.set_index("customer_id")["holdout_frequency"] > 0)
        features = build_customer_features(connection, as_of=start, table_name=None)
        release_cache(connection)
        event = "visit" if activity == "visits" else "purchase"
        return loyalty_drivers(
            features, returned, labels,
            target=f"came back ({event}) within {horizon:g} days",
            random_state=random_state,
        )
    except ValueError as error:
        notes.append(f"drivers: {error}.")
        return None
