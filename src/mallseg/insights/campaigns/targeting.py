"""Who to contact in the next campaign: :func:`plan_targeting`.

The plan learns from past campaigns' exposures (their random holdouts make the uplift
learnable), ranks every candidate customer by expected incremental response, and takes the
best ones the budget allows, keeping a fresh random holdout among them so that the next
campaign can be measured too.

How the method is chosen
    Each method of :data:`~mallseg.insights.campaigns.learners.LEARNERS` asked for
    (segment-level uplift, two-model and X-learner gradient boosting) is cross-fitted:
    exposures are split into ``folds`` groups by customer, each group scored by a model
    learnt on the others, and the Qini coefficient of the out-of-fold ranking is computed
    on all exposures. The method with the best coefficient wins, unless a simpler one (in
    the order of ``methods``) comes within one standard error of it (the one-standard-
    error rule of cross-validation, with the error of the difference from a paired
    bootstrap): Qini coefficients are noisy, and a flexible model that only seems better
    ranks worse. The winner is refitted on all exposures. The gradient-boosting methods
    are tried only where the data allow: at least :data:`MIN_MODEL_HOLDOUT` held-out
    exposures and :data:`MIN_MODEL_RESPONDERS` responders in each arm.
What to expect
    The incremental responses of contacting the top share ``q`` of the candidates are
    read off the chosen method's out-of-fold Qini curve at ``q`` (with Newcombe's
    interval), scaled to the candidates and to the share actually contacted (the holdout
    is not). They hold for candidates like the past audiences.
Features
    By default the customer features are built as they were just before the first send
    (or window) of the earliest campaign learnt from, so that nothing a campaign caused,
    nor its responses, leaks into what predicts them; the same features score the
    candidates. A ``features`` frame given instead is used for both; its campaign-
    engagement columns are then left out, since they may contain the very responses
    being learnt.

Examples
--------
>>> import duckdb
>>> plan_targeting(duckdb.connect(), share=0.3)
Traceback (most recent call last):
...
mallseg.insights.campaigns.availability.CampaignDataError: No campaign exposures: \
measuring uplift needs an exposures table listing, per campaign, the customers sent the \
offer and a random holdout not sent it (is_holdout), with their responses (responded) or \
their purchases after the send (transactions).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

from mallseg.data.consent import CONSENT_WORDS, DEFAULT_CONSENT_RULE, ConsentRule
from mallseg.features.build import build_customer_features
from mallseg.features.catalog import FEATURES
from mallseg.insights.campaigns.availability import CampaignDataError, inspect_campaign_inputs
from mallseg.insights.campaigns.budget import resolve_budget, select_targets
from mallseg.insights.campaigns.candidates import candidate_customers
from mallseg.insights.campaigns.learners import LEARNERS, model_matrix
from mallseg.insights.campaigns.measure import (
    DEFAULT_WINDOW_DAYS,
    campaign_details,
    exposure_outcomes,
    outcome_rows,
)
from mallseg.insights.campaigns.method_choice import (
    Exposures,
    at_most,
    balancing_weights,
    choose_method,
    cross_fitted_ranks,
    learner_for,
)
from mallseg.insights.campaigns.plan import (
    MethodScore,
    SegmentTargets,
    TargetingPlan,
)
from mallseg.insights.campaigns.segments_input import segment_frame
from mallseg.insights.campaigns.uplift_curve import UpliftCurve, incremental_at, qini_curve

__all__ = [
    "DEFAULT_METHODS",
    "MIN_MODEL_HOLDOUT",
    "MIN_MODEL_RESPONDERS",
    "plan_targeting",
]

logger = logging.getLogger(__name__)

DEFAULT_METHODS: tuple[str, ...] = ("segment", "two_model", "x_learner")
MIN_MODEL_HOLDOUT = 200
"""Fewest held-out exposures for the gradient-boosting methods to be tried."""
MIN_MODEL_RESPONDERS = 30
"""Fewest responders in each arm for the gradient-boosting methods to be tried."""

_ENGAGEMENT = tuple(name for name, spec in FEATURES.items() if spec.source == "exposures")


@dataclass(frozen=True)
class _Exposures:
    """The exposures learnt from: one row each, with arm and response as arrays."""

    rows: pd.DataFrame
    treated: np.ndarray
    responded: np.ndarray
    weights: np.ndarray
    campaigns: tuple[str, ...]
    details: pd.DataFrame

    def too_few_for_models(self) -> str | None:
        holdout = int((~self.treated).sum())
        r_t = int((self.treated & self.responded).sum())
        r_h = int((~self.treated & self.responded).sum())
        if holdout >= MIN_MODEL_HOLDOUT and min(r_t, r_h) >= MIN_MODEL_RESPONDERS:
            return None
        return (f"not fitted: {holdout} held-out exposures and {r_t}/{r_h} responders "
                f"(targeted/held out); needs {MIN_MODEL_HOLDOUT} held out and "
                f"{MIN_MODEL_RESPONDERS} responders in each arm")


def _load_exposures(
    connection: duckdb.DuckDBPyConnection, segments: pd.DataFrame | None,
    campaign_ids: Sequence[str] | None, *, window_days: int, max_rows: int, seed: int,
) -> _Exposures:
    inputs = inspect_campaign_inputs(connection)
    if inputs.missing is not None:
        raise CampaignDataError(inputs.missing)
    with exposure_outcomes(connection, segments, window_days=window_days,
                           inputs=inputs) as table:
        details = campaign_details(connection, table, inputs, window_days=window_days)
        known = [str(c) for c in details["campaign_id"]]
        asked = [str(c) for c in campaign_ids] if campaign_ids is not None else known
        missing = [c for c in asked if c not in known]
        if missing or not asked:
            raise CampaignDataError(
                f"campaign_ids: {missing[0] if missing else 'none'!r} has no exposures; "
                f"campaigns with exposures: {', '.join(known) or 'none'}"
            )
        rows = outcome_rows(connection, table, asked, max_rows=max_rows, seed=seed)
    arms = rows.groupby("campaign_id")["is_holdout"].agg(["min", "max"])
    both = [str(c) for c in arms.index[arms["min"] != arms["max"]]]
    one_armed = [c for c in asked if c not in both]
    if one_armed and (campaign_ids is not None or not both):
        raise CampaignDataError(
            f"campaign {one_armed[0]}: its exposures with a known response are all in one arm; "
            "learning uplift needs targeted and held-out customers with responses"
            + (f" (campaigns that have both: {', '.join(both)})" if both else "")
        )
    rows = rows[rows["campaign_id"].isin(both)].reset_index(drop=True)
    treated = ~rows["is_holdout"].to_numpy(dtype=bool)
    return _Exposures(rows=rows, treated=treated,
                      responded=rows["responded"].to_numpy(dtype=bool),
                      weights=balancing_weights(rows["campaign_id"].to_numpy(), treated),
                      campaigns=tuple(both), details=details)


def _before_campaigns(details: pd.DataFrame, campaigns: Sequence[str]) -> datetime | None:
    """A moment just before the first send or window of ``campaigns`` (``None``: unknown)."""
    chosen = details[details["campaign_id"].isin(list(campaigns))]
    moments = [pd.Timestamp(v) for v in (*chosen["window_first_day"], *chosen["first_sent_at"])
               if not pd.isna(v)]
    if not moments:
        return None
    return (min(moments) - pd.Timedelta(seconds=1)).to_pydatetime()


def _feature_frame(
    connection: duckdb.DuckDBPyConnection, exposures: _Exposures,
    features: pd.DataFrame | None, notes: list[str],
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The features to learn and score with, and the columns to leave out of them."""
    if features is not None:
        if "customer_id" not in features.columns:
            raise ValueError("features: required column customer_id missing")
        given = tuple(c for c in _ENGAGEMENT if c in features.columns)
        if given:
            notes.append(f"Left out of the models: {', '.join(given)} (they may hold the "
                         "responses being learnt).")
        return features, given
    as_of = _before_campaigns(exposures.details, exposures.campaigns)
    if as_of is None:
        notes.append("The campaigns have no dates or send times: features describe customers "
                     "as of the latest event, campaign engagement left out.")
    drop = _ENGAGEMENT if as_of is None else ()
    return build_customer_features(connection, as_of=as_of, table_name=None), drop


def _matrices(
    features: pd.DataFrame | None, drop: Sequence[str], rows: pd.DataFrame,
    candidates: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Model matrices of the training exposures and of the candidates (segment included)."""

    def joined(base: pd.DataFrame) -> pd.DataFrame:
        frame = base[["customer_id", "segment"]].reset_index(drop=True)
        if features is None:
            return frame.drop(columns="customer_id")
        extra = features.drop(columns=[c for c in (*drop, "segment") if c in features.columns])
        extra = extra.assign(customer_id=extra["customer_id"].astype(str))
        return frame.merge(extra, on="customer_id", how="left").drop(columns="customer_id")

    train, categories = model_matrix(joined(rows))
    score, _ = model_matrix(joined(candidates), columns=list(train.columns),
                            categories=categories)
    return train, score


def _segment_breakdown(
    candidates: pd.DataFrame, targets: pd.DataFrame
) -> tuple[SegmentTargets, ...]:
    out = []
    for seg, group in candidates.groupby("segment", sort=True):
        on_list = targets[targets["segment"] == seg]
        out.append(SegmentTargets(
            segment=str(seg), candidates=len(group), contacts=len(on_list),
            holdout=int(on_list["is_holdout"].sum()),
            mean_expected_uplift=float(on_list["expected_uplift"].mean())
            if len(on_list) else None,
        ))
    return tuple(out)


def plan_targeting(
    connection: duckdb.DuckDBPyConnection,
    assignments: pd.DataFrame | pd.Series | None = None,
    *,
    contacts: int | None = None,
    share: float | None = None,
    cost_per_contact: float | None = None,
    value_per_response: float | None = None,
    campaign_ids: Sequence[str] | None = None,
    features: pd.DataFrame | None = None,
    methods: Sequence[str] = DEFAULT_METHODS,
    holdout_share: float = 0.10,
    folds: int = 3,
    min_cell: int = 30,
    confidence: float = 0.95,
    window_days: int = DEFAULT_WINDOW_DAYS,
    max_training_rows: int = 500_000,
    max_model_rows: int = 100_000,
    threads: int | None = 1,
    seed: int = 0,
    customer_col: str = "customer_id",
    segment_col: str = "segment",
    consent: ConsentRule = DEFAULT_CONSENT_RULE,
) -> TargetingPlan:
    """Choose the customers with the highest expected incremental response for a campaign.

    Parameters
    ----------
    connection:
        DuckDB connection holding the canonical tables (a workspace's ``.connection``).
    assignments:
        Segments as ``customer_id -> segment``; their customers are the candidates
        (``None``: every customer, as one segment).
    contacts, share:
        The budget as a number of customers, or as a share (0-1] of the candidates.
    cost_per_contact, value_per_response:
        The budget as money (given together): everyone whose expected uplift times the
        value exceeds the cost, at most ``contacts`` when that is given too.
    campaign_ids:
        Past campaigns to learn from (default: every campaign with targeted and held-out
        responses); give the ones most like the next campaign. Pooled campaigns are
        balanced by
        :func:`~mallseg.insights.campaigns.method_choice.balancing_weights`.
    features:
        Per-customer features (as :func:`~mallseg.features.build.build_customer_features`
        returns) to learn and score with; default: built just before the earliest
        campaign learnt from.
    methods:
        Uplift methods to compare (names in
        :data:`~mallseg.insights.campaigns.learners.LEARNERS`).
    holdout_share:
        Share of the list held out at random (flagged ``is_holdout``: not to contact).
    folds:
        Cross-fitting folds for choosing the method and estimating the outcome.
    min_cell:
        Fewest customers per arm for a segment's own uplift (else the overall uplift).
    confidence:
        Coverage of the interval of the expected incremental responses.
    window_days:
        Window of a campaign without an end date.
    max_training_rows:
        Most exposures learnt from (a repeatable random sample beyond that).
    max_model_rows:
        Most exposures each gradient-boosting fit learns from (a random sample beyond
        that; segment uplift and the Qini evaluation use all of them).
    threads:
        Threads per gradient-boosting fit (``None``: all cores). The models are small:
        one thread avoids contention on a shared machine.
    seed:
        Seed of the folds, ties, learners and the fresh holdout.
    customer_col, segment_col:
        Column names in ``assignments``.
    consent:
        Who may be on the list (:mod:`mallseg.data.consent`): by default only customers
        whose marketing consent is recorded as given.

    Returns
    -------
    TargetingPlan

    Raises
    ------
    CampaignDataError
        When the exposures cannot teach uplift (no holdout, no outcome, unknown campaign).
    ValueError
        For an unusable budget or parameter.
    """
    unknown = [m for m in methods if m not in LEARNERS]
    if unknown or not methods:
        raise ValueError(f"methods={list(methods)!r}: expected some of {', '.join(LEARNERS)}")
    if not 0.0 <= holdout_share < 1.0:
        raise ValueError(f"holdout_share={holdout_share!r} must lie in [0, 1)")
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ValueError(f"folds={folds!r} must be a whole number >= 2")
    segments = segment_frame(assignments, customer_col=customer_col, segment_col=segment_col)
    exposures = _load_exposures(connection, segments, campaign_ids, window_days=window_days,
                                max_rows=max_training_rows, seed=seed)
    candidates, refused = candidate_customers(connection, segments, consent)
    notes: list[str] = []
    rng = np.random.default_rng(seed)

    not_fitted = exposures.too_few_for_models()
    fitted = [m for m in methods if m == "segment" or not_fitted is None]
    if not fitted:
        fitted = ["segment"]
        notes.append("Too few exposures for the models asked for: segment uplift used.")
    features_used: pd.DataFrame | None = None
    drop: tuple[str, ...] = ()
    if any(m != "segment" for m in fitted):
        features_used, drop = _feature_frame(connection, exposures, features, notes)
    train_matrix, score_matrix = _matrices(features_used, drop, exposures.rows, candidates)
    n_candidates = len(candidates)
    pooled = Exposures(exposures.rows["customer_id"].to_numpy(), exposures.treated,
                       exposures.responded, exposures.weights)
    ranks = cross_fitted_ranks(fitted, train_matrix, pooled, folds=folds,
                                min_cell=min_cell, rng=rng, seed=seed, threads=threads,
                                max_model_rows=max_model_rows)
    curves: dict[str, UpliftCurve] = {
        m: qini_curve(ranks[m], exposures.treated, exposures.responded,
                      population=max(n_candidates, 1), method=m, weights=exposures.weights)
        for m in fitted}
    method = choose_method(fitted, ranks, pooled, rng)
    learn = np.arange(len(train_matrix))
    if method != "segment":
        learn = at_most(learn, max_model_rows, rng)
    final = learner_for(method, min_cell, seed, threads).fit(
        train_matrix.iloc[learn], exposures.treated[learn], exposures.responded[learn],
        exposures.weights[learn])
    expected = final.predict_uplift(score_matrix) if n_candidates else np.zeros(0)
    scores = tuple(MethodScore(m, curves[m].coefficient if m in curves else None,
                               m == method, None if m in curves else not_fitted)
                   for m in dict.fromkeys([*methods, *fitted]))
    budget = resolve_budget(expected, n_candidates, contacts=contacts, share=share,
                            cost_per_contact=cost_per_contact,
                            value_per_response=value_per_response)
    targets = select_targets(expected, candidates, budget, holdout_share, rng)
    n_holdout = int(targets["is_holdout"].sum())
    q = budget.contacts / n_candidates if n_candidates else 0.0
    per_customer = incremental_at(ranks[method], exposures.treated, exposures.responded, q,
                                  confidence=confidence, weights=exposures.weights)
    contacted = budget.contacts - n_holdout
    scale = n_candidates * contacted / budget.contacts if budget.contacts else 0.0
    est, low, high = (v * scale for v in per_customer)
    net = net_low = net_high = None
    if budget.kind == "value":
        value, cost = float(value_per_response or 0.0), contacted * float(cost_per_contact or 0.0)
        net, net_low, net_high = est * value - cost, low * value - cost, high * value - cost
    if budget.contacts == 0:
        notes.append("Nobody on the list: no candidate fits the budget.")
    if refused:
        notes.append(f"{refused:,} customers left out for want of marketing consent "
                     f"(rule {consent}: {CONSENT_WORDS[consent]}).")
    logger.info("targeting plan: %s ranked %d candidates, %d contacts (%d held out)",
                method, n_candidates, budget.contacts, n_holdout)
    return TargetingPlan(
        method=method, methods=scores, curves=tuple(curves[m] for m in fitted),
        training_campaigns=exposures.campaigns, training_exposures=len(exposures.rows),
        candidates=n_candidates, excluded_without_consent=refused, budget=budget,
        contacts=budget.contacts, holdout=n_holdout, holdout_share=holdout_share,
        expected_incremental_responses=est, expected_low=low, expected_high=high,
        confidence=confidence, segments=_segment_breakdown(candidates, targets),
        targets=targets, expected_net_value=net, net_value_low=net_low,
        net_value_high=net_high, notes=tuple(notes), consent_rule=consent,
    )
