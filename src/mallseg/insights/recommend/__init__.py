"""Personalised recommendations: stores (or categories) a customer has not used yet.

- :func:`recommend_items`: the top-N per customer from EASE or item-item co-occurrence
  (chosen by an offline evaluation on a time split in the same run), segment popularity for
  new and sparse customers, and the reason for each suggestion ("customers like you, who
  shop at A, also shop at B: 41% of A's customers do").
- :class:`EvaluationReport`: hit rate, NDCG and catalogue coverage on the test window,
  against global popularity and popularity within the customer's segment.
- :class:`RecommenderModel`: the fitted model, for scoring one customer live
  (:meth:`RecommenderModel.recommend`).

Examples
--------
>>> import duckdb
>>> recommend_items(duckdb.connect()).model is None
True
"""

from mallseg.insights.recommend.evaluation import CANDIDATE_METHODS, EASE_PENALTY_GRID
from mallseg.insights.recommend.item_weights import cooccurrence_weights, ease_weights
from mallseg.insights.recommend.metrics import RankingFigures, ranking_metrics
from mallseg.insights.recommend.model import Recommendation, RecommenderModel, fit_model
from mallseg.insights.recommend.recommender import (
    MethodChoice,
    default_test_days,
    recommend_items,
)
from mallseg.insights.recommend.result import (
    EvaluationReport,
    MethodScore,
    RecommendationResult,
)

__all__ = [
    "CANDIDATE_METHODS",
    "EASE_PENALTY_GRID",
    "EvaluationReport",
    "MethodChoice",
    "MethodScore",
    "RankingFigures",
    "Recommendation",
    "RecommendationResult",
    "RecommenderModel",
    "cooccurrence_weights",
    "default_test_days",
    "ease_weights",
    "fit_model",
    "ranking_metrics",
    "recommend_items",
]
