"""EASE, co-occurrence and the ranking metrics against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.metrics.pairwise import cosine_similarity

from mallseg.insights.recommend import cooccurrence_weights, ease_weights, ranking_metrics
from mallseg.insights.recommend.model import segment_gram


@pytest.fixture()
def uses() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.random((300, 12)) < np.linspace(0.05, 0.5, 12)).astype(float)


def test_ease_column_is_the_ridge_regression_of_the_item_on_all_the_others(uses) -> None:
    l2 = 7.5
    weights = ease_weights(uses.T @ uses, l2)
    for j in range(uses.shape[1]):
        others = [k for k in range(uses.shape[1]) if k != j]
        ridge = Ridge(alpha=l2, fit_intercept=False).fit(uses[:, others], uses[:, j])
        assert weights[others, j] == pytest.approx(ridge.coef_, abs=1e-8)
        assert weights[j, j] == 0.0


def test_cooccurrence_is_the_cosine_similarity_of_item_columns(uses) -> None:
    weights = cooccurrence_weights(uses.T @ uses)
    expected = cosine_similarity(uses.T)
    np.fill_diagonal(expected, 0.0)
    assert weights == pytest.approx(expected, abs=1e-12)


def test_segment_gram_is_the_gram_of_items_and_segment_columns(uses) -> None:
    segment = np.arange(uses.shape[0]) % 3
    onehot = np.eye(3)[segment]
    counts = onehot.T @ uses
    augmented = segment_gram(uses.T @ uses, counts, onehot.sum(axis=0))
    full = np.hstack([uses, onehot])
    assert augmented == pytest.approx(full.T @ full)


def test_ease_rejects_a_penalty_that_is_not_positive(uses) -> None:
    with pytest.raises(ValueError, match="l2=0 must be > 0"):
        ease_weights(uses.T @ uses, 0)


def test_hit_rate_ndcg_and_coverage_by_hand() -> None:
    top = np.array([[4, 2, 7, -1],     # relevant 2 and 7: ranks 2 and 3
                    [1, 0, 3, 5],      # relevant 9: none shown
                    [6, 5, 1, 0]])     # relevant 6: rank 1
    relevant = [{2, 7}, {9}, {6}]
    m = ranking_metrics(top, relevant, catalogue_size=10, hit_k=2, ndcg_k=4, coverage_k=4)
    assert (m.customers, m.hits, m.hit_rate) == (3, 2, round(2 / 3, 4))
    first = (1 / np.log2(3) + 1 / np.log2(4)) / (1 + 1 / np.log2(3))
    assert m.ndcg == pytest.approx(round((first + 0 + 1) / 3, 4))
    # Items shown: 0, 1, 2, 3, 4, 5, 6, 7 (the -1 pad is not an item): 8 of 10.
    assert m.coverage == 0.8


def test_a_hit_beyond_the_cut_off_does_not_count() -> None:
    top = np.array([[0, 1, 2, 3, 4, 5]])
    m = ranking_metrics(top, [{5}], catalogue_size=6, hit_k=5, ndcg_k=5, coverage_k=5)
    assert (m.hit_rate, m.ndcg) == (0.0, 0.0)
    with pytest.raises(ValueError, match="exceed the 6 items ranked"):
        ranking_metrics(top, [{5}], catalogue_size=6, hit_k=7)
