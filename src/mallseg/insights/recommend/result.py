"""What a recommender run returns: the evaluation, the chosen method, the recommendations.

Examples
--------
>>> score = MethodScore("ease", {"l2": 50.0}, "test", "history", 1000, 0.41, 0.33, 0.9)
>>> score.to_dict()["hit_rate"], score.name
(0.41, 'ease (l2=50)')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mallseg.insights.recommend.model import RecommenderModel

__all__ = ["EvaluationReport", "MethodScore", "RecommendationResult"]


@dataclass(frozen=True)
class MethodScore:
    """Hit rate, NDCG and coverage of one method on one split and group of customers."""

    method: str
    params: Mapping[str, float]
    split: str
    """``validation`` (used to choose) or ``test`` (reported)."""
    group: str
    """``history`` (customers with items before the cut-off), ``sparse`` (fewer than the
    minimum history) or ``new`` (none: cold start)."""
    customers: int
    hit_rate: float
    ndcg: float
    coverage: float

    @property
    def name(self) -> str:
        """Method with its parameters, for people."""
        if not self.params:
            return self.method
        return f"{self.method} ({', '.join(f'{k}={v:g}' for k, v in self.params.items())})"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"method": self.method, "params": dict(self.params), "name": self.name,
                "split": self.split, "group": self.group, "customers": int(self.customers),
                "hit_rate": self.hit_rate, "ndcg": self.ndcg, "coverage": self.coverage}


@dataclass(frozen=True)
class EvaluationReport:
    """Offline evaluation on a time split, and the choice it made.

    The period's last ``test_days`` are the test window; the ``test_days`` before it the
    validation window. Candidates are fitted on everything before the validation window and
    scored on it; the winner (highest NDCG) is refitted on everything before the test
    window and scored there against the two popularity baselines. A customer counts in a
    window when they first used at least one item in it; the items first used there are
    the right answers.
    """

    item_kind: str
    hit_k: int
    ndcg_k: int
    coverage_k: int
    period_start: str
    period_end: str
    validation_start: str
    test_start: str
    test_days: int
    chosen: str
    chosen_params: Mapping[str, float]
    sparse_method: str
    min_history: int
    validation: tuple[MethodScore, ...]
    test: tuple[MethodScore, ...]

    def score(self, method: str, *, split: str = "test",
              group: str = "history") -> MethodScore:
        """The score of ``method`` (``system`` for the chosen one with its fallbacks).

        Raises
        ------
        KeyError
            When there is no such score.
        """
        for s in (*self.validation, *self.test):
            if s.method == method and s.split == split and s.group == group:
                return s
        raise KeyError(f"no {split} score of {method!r} for group {group!r}")

    @property
    def hit_rate_ratio_to_global(self) -> float | None:
        """Test hit rate of the system over that of global popularity (history group)."""
        system = self.score("system").hit_rate
        base = self.score("global_popularity").hit_rate
        return round(system / base, 3) if base else None

    @property
    def hit_rate_ratio_to_segment(self) -> float | None:
        """Test hit rate of the system over that of segment popularity (history group)."""
        system = self.score("system").hit_rate
        base = self.score("segment_popularity").hit_rate
        return round(system / base, 3) if base else None

    def to_frame(self) -> pd.DataFrame:
        """One row per score."""
        return pd.DataFrame([s.to_dict() for s in (*self.validation, *self.test)])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "item_kind": self.item_kind, "hit_k": self.hit_k, "ndcg_k": self.ndcg_k,
            "coverage_k": self.coverage_k, "period_start": self.period_start,
            "period_end": self.period_end, "validation_start": self.validation_start,
            "test_start": self.test_start, "test_days": self.test_days,
            "chosen": self.chosen, "chosen_params": dict(self.chosen_params),
            "sparse_method": self.sparse_method, "min_history": self.min_history,
            "hit_rate_ratio_to_global": self.hit_rate_ratio_to_global,
            "hit_rate_ratio_to_segment": self.hit_rate_ratio_to_segment,
            "validation": [s.to_dict() for s in self.validation],
            "test": [s.to_dict() for s in self.test],
        }


@dataclass(frozen=True)
class RecommendationResult:
    """Recommendations for every customer, the model behind them and its evaluation.

    ``recommendations`` holds one row per customer x rank (``customer_id, rank, item,
    label, score, source, reason, because_of, co_customers, share``) unless they were
    written to ``output_table`` in the database instead. ``message`` says why, when there
    was nothing to recommend from.
    """

    item_kind: str
    top_n: int
    model: RecommenderModel | None
    evaluation: EvaluationReport | None
    recommendations: pd.DataFrame | None
    output_table: str | None
    customers: int
    by_source: Mapping[str, int]
    """Customers per method that ranked their list."""
    message: str | None = None
    notes: tuple[str, ...] = field(default=())
    excluded_without_consent: int = 0
    """Customers left out of the recommendations by the marketing consent rule."""

    def for_customer(self, customer_id: str) -> list[dict[str, Any]]:
        """The recommendations of one customer (from the frame) as plain dicts."""
        if self.recommendations is None:
            return []
        rows = self.recommendations[self.recommendations["customer_id"] == customer_id]
        return [_plain(row) for row in rows.to_dict("records")]

    def to_dict(self, *, max_rows: int | None = 1000) -> dict[str, Any]:
        """Plain JSON types; at most ``max_rows`` recommendation rows (``None``: all)."""
        rows: list[dict[str, Any]] = []
        if self.recommendations is not None:
            frame = self.recommendations if max_rows is None else \
                self.recommendations.head(max_rows)
            rows = [_plain(r) for r in frame.to_dict("records")]
        return {
            "message": self.message, "notes": list(self.notes),
            "item_kind": self.item_kind, "top_n": self.top_n,
            "model": self.model.to_dict() if self.model else None,
            "evaluation": self.evaluation.to_dict() if self.evaluation else None,
            "customers": int(self.customers), "by_source": dict(self.by_source),
            "excluded_without_consent": int(self.excluded_without_consent),
            "output_table": self.output_table, "recommendations": rows,
            "rows_total": 0 if self.recommendations is None else len(self.recommendations),
        }


def _plain(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A frame row with missing values as None and numpy scalars as Python ones."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            out[str(key)] = None
        elif hasattr(value, "item"):
            out[str(key)] = value.item()
        else:
            out[str(key)] = value
    return out
