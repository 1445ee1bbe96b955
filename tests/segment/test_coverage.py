"""Customers with too little data are set aside as "Not enough data", never a persona."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from mallseg.segment.coverage import NOT_ENOUGH_DATA
from mallseg.segment.naming import name_segments
from mallseg.segment.personas import profile_segments
from mallseg.segment.segmenter import Segmenter
from mallseg.segment.selection.select import select_segmentation

FEATURES = ["age", "annual_income", "spending_score"]


def _customers_with_sparse_rows(n_sparse: int) -> pd.DataFrame:
    points, _ = make_blobs(n_samples=400, centers=[[25, 30, 80], [45, 80, 20], [65, 50, 50]],
                           cluster_std=4.0, random_state=3)
    frame = pd.DataFrame(points, columns=FEATURES)
    frame.loc[: n_sparse - 1, ["age", "annual_income"]] = np.nan  # only one feature of three
    return frame


def test_sparse_customers_are_set_aside_and_predicted_the_same_way() -> None:
    frame = _customers_with_sparse_rows(30)
    segmenter = Segmenter(features=FEATURES, n_segments=3, min_coverage=0.5).fit(frame)
    labels = np.asarray(segmenter.labels_)
    assert (labels[:30] == NOT_ENOUGH_DATA).all()
    assert (labels[30:] >= 0).all()
    assert segmenter.n_not_enough_data_ == 30
    assert segmenter.segment_sizes_.sum() == 370
    assert (segmenter.predict(frame) == labels).all()
    assert (segmenter.confidence(frame)[:30] == 0.0).all()
    records = frame.iloc[[0, 200]].to_dict("records")
    assert [segmenter.assign_one(r)[0] for r in records] == [NOT_ENOUGH_DATA, labels[200]]


def test_without_a_coverage_rule_everyone_is_placed() -> None:
    frame = _customers_with_sparse_rows(30)
    segmenter = Segmenter(features=FEATURES, n_segments=3).fit(frame)
    assert (np.asarray(segmenter.labels_) >= 0).all()


def test_selection_searches_only_described_customers_and_names_the_rest() -> None:
    # 6% of customers with one feature of three: imputed, they would make a segment of their
    # own (everyone at the medians); set aside, the three real groups are found.
    frame = _customers_with_sparse_rows(25)
    result = select_segmentation(frame, FEATURES, algorithms=("kmeans",), k_values=[3],
                                 n_resamples=2)
    labels = np.asarray(result.chosen.labels)
    assert (labels[:25] == NOT_ENOUGH_DATA).all()
    assert any("set aside 25 customers" in note for note in result.notes)
    profiles = profile_segments(frame, labels, FEATURES, model_features=FEATURES)
    assert profiles.segments[-1] == NOT_ENOUGH_DATA
    names = name_segments(profiles)
    assert names[NOT_ENOUGH_DATA].name == "Not enough data"
    assert "25 customers" in names[NOT_ENOUGH_DATA].description
    assert all(names[s].name != "Not enough data" for s in profiles.segments if s >= 0)


def test_when_almost_nobody_has_enough_data_the_rule_is_dropped() -> None:
    frame = _customers_with_sparse_rows(395)
    result = select_segmentation(frame, FEATURES, algorithms=("kmeans",), k_values=[3],
                                 n_resamples=2)
    assert (np.asarray(result.chosen.labels) >= 0).all()


def test_an_invalid_coverage_is_refused() -> None:
    with pytest.raises(ValueError, match="min_coverage"):
        select_segmentation(_customers_with_sparse_rows(5), FEATURES, k_values=[3],
                            min_coverage=1.5)
