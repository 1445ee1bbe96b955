"""Each drift signal against numbers worked out by hand or known by construction."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans

from mallseg.monitor.drift import check_drift
from mallseg.monitor.feature_drift import feature_drift
from mallseg.monitor.fit_quality import fit_quality
from mallseg.monitor.model_view import ModelView, SegmentLabels
from mallseg.monitor.psi import (
    categorical_psi,
    numeric_psi,
    population_stability_index,
    psi_p_value,
)
from mallseg.monitor.segment_drift import centroid_shifts, segment_mix_drift, unfit_share
from mallseg.monitor.thresholds import DriftThresholds
from mallseg.segment.segmenter import Segmenter


def test_psi_of_counts_is_the_symmetric_divergence() -> None:
    expected = (0.4 - 0.5) * np.log(0.4 / 0.5) + (0.6 - 0.5) * np.log(0.6 / 0.5)
    assert population_stability_index([50, 50], [40, 60]) == pytest.approx(expected)
    assert population_stability_index([50, 50], [40, 60]) == pytest.approx(0.040546, abs=1e-6)


def test_numeric_psi_bins_at_the_reference_deciles() -> None:
    reference = np.arange(1000.0)
    shares = numeric_psi(reference, reference + 100)
    assert shares.reference_counts == (100,) * 10 + (0,)
    # the shifted values leave the first decile empty and double the last
    assert shares.current_counts == (0,) + (100,) * 8 + (200, 0)
    cur = np.array([0.5] + [100] * 8 + [200]) / 1000.5
    ref = np.full(10, 0.1)
    assert shares.psi == pytest.approx(float(np.sum((cur - ref) * np.log(cur / ref))))


def test_missing_values_and_categories_have_bins_of_their_own() -> None:
    shares = categorical_psi(["f"] * 60 + ["m"] * 40, ["f"] * 50 + ["m"] * 30 + [None] * 20)
    assert shares.labels == ("f", "m", "missing")
    assert (shares.reference_counts, shares.current_counts) == ((60, 40, 0), (50, 30, 20))


def test_the_psi_p_value_is_calibrated_on_samples_of_one_population() -> None:
    rng = np.random.default_rng(0)
    p_values = [numeric_psi(rng.gamma(2, size=400), rng.gamma(2, size=400)).p_value
                for _ in range(800)]
    assert 0.02 <= np.mean(np.array(p_values) < 0.05) <= 0.08
    assert psi_p_value(0.1, 50, 50, 10) > 0.5  # 0.1 on 50 customers: noise
    assert psi_p_value(0.1, 5000, 5000, 10) < 1e-40


def test_a_large_effect_on_a_handful_of_customers_is_not_read_as_drift() -> None:
    rng = np.random.default_rng(1)
    small = feature_drift(pd.DataFrame({"age": rng.normal(40, 10, 60)}),
                          pd.DataFrame({"age": rng.normal(43, 10, 60)}))[0]
    assert small.psi > DriftThresholds().psi_watch and small.severity == "none"


def test_a_tiny_significant_effect_on_many_customers_is_not_read_as_drift() -> None:
    rng = np.random.default_rng(2)
    big = feature_drift(pd.DataFrame({"age": rng.normal(40, 10, 200_000)}),
                        pd.DataFrame({"age": rng.normal(40.3, 10, 200_000)}))[0]
    assert big.psi_p_value < 1e-9  # beyond doubt on 200,000 customers, and yet
    assert big.psi < 0.01 and big.distance < 0.02 and big.severity == "none"


def test_a_category_mix_moving_twenty_points_is_a_moderate_shift() -> None:
    reference = pd.DataFrame({"gender": ["female"] * 1000 + ["male"] * 1000})
    current = pd.DataFrame({"gender": ["female"] * 1400 + ["male"] * 600})
    drift = feature_drift(reference, current, {"gender": "categorical"})[0]
    # phi of a 2x2 table with equal rows: (0.7 - 0.5) * sqrt(n1 n2) / (N sqrt(p (1 - p)))
    assert drift.distance == pytest.approx(0.2 * 0.5 / np.sqrt(0.6 * 0.4), rel=1e-9)
    assert drift.psi == pytest.approx(0.2 * np.log(1.4) + 0.2 * np.log(0.5 / 0.3))
    assert drift.severity == "moderate"
    assert (drift.reference_centre, drift.current_centre) == ("female", "female")


def view(points: np.ndarray, labels: np.ndarray, confidence: np.ndarray | None = None
         ) -> ModelView:
    return ModelView(points, labels, np.ones(len(labels)) if confidence is None
                     else confidence, len(labels))


def test_the_segment_mix_change_is_the_share_that_would_have_to_move() -> None:
    ref = view(np.zeros((1000, 1)), np.repeat([0, 1, 2], [500, 300, 200]))
    cur = view(np.zeros((1000, 1)), np.repeat([0, 1, 2], [350, 375, 275]))
    mix = segment_mix_drift(ref, cur, SegmentLabels({0: "Savers", 1: "Spenders",
                                                     2: "Families"}))
    assert mix.total_variation == pytest.approx(0.15)
    assert [round(s.change, 3) for s in mix.shares] == [-0.15, 0.075, 0.075]
    assert mix.psi == pytest.approx(population_stability_index([500, 300, 200],
                                                               [350, 375, 275]))
    assert mix.severity == "major"
    assert mix.sentence().startswith("The segment mix moved by 15.0 percentage points")
    assert "Savers 50.0% -> 35.0%" in mix.sentence()


def test_a_moved_segment_shows_the_shift_without_the_noise() -> None:
    rng = np.random.default_rng(3)
    ref = rng.normal(size=(3000, 3))
    cur = rng.normal(size=(3000, 3))
    cur[:1500, 0] += 0.4  # segment 0 moves 0.4 along the first column
    labels = np.repeat([0, 1], 1500)
    shifts = centroid_shifts(view(ref, labels), view(cur, labels),
                             SegmentLabels({0: "Savers", 1: "Spenders"}),
                             np.zeros((2, 3)), ["income", "score", "age"])
    moved, still = shifts
    assert moved.name == "Savers" and moved.shift == pytest.approx(0.4, abs=0.05)
    assert moved.feature == "income" and moved.feature_effect == pytest.approx(0.4, abs=0.06)
    assert moved.severity == "moderate"
    assert still.shift < 0.05 and still.severity == "none"


def test_customers_far_from_every_centre_raise_the_unfit_share() -> None:
    rng = np.random.default_rng(4)
    ref = rng.normal(size=(2000, 2))
    cur = rng.normal(size=(2000, 2))
    cur[:200] += 8.0  # a tenth of the customers is nowhere near the centre
    labels = np.zeros(2000, dtype=int)
    unfit = unfit_share(view(ref, labels), view(cur, labels), np.zeros((1, 2)))
    assert unfit.reference_share == pytest.approx(0.01, abs=0.001)
    assert unfit.current_far == pytest.approx(0.109, abs=0.01)
    assert unfit.severity == "moderate"
    low = unfit_share(view(ref, labels, np.full(2000, 0.9)),
                      view(cur[200:], labels[200:], np.full(1800, 0.3)), np.zeros((1, 2)))
    assert low.current_low_confidence == 1.0 and low.severity == "major"


def test_the_old_model_loses_stability_on_data_without_its_structure() -> None:
    rng = np.random.default_rng(5)
    blobs = np.vstack([rng.normal(c, 0.3, (300, 2)) for c in ((0, 0), (4, 0), (0, 4))])
    labels = np.repeat([0, 1, 2], 300)
    noise = rng.uniform(-1, 5, (900, 2))
    assigned = KMeans(3, n_init=3, random_state=0).fit(blobs).predict(noise)
    quality = fit_quality(view(blobs, labels), view(noise, assigned),
                          KMeans(3, n_init=3), resamples=4, rows=900)
    assert quality.reference_stability == pytest.approx(1.0)
    assert quality.stability_drop > 0.3 and quality.silhouette_drop > 0.3
    assert quality.severity == "major"


def test_the_verdict_follows_the_worst_signal_and_serialises() -> None:
    rng = np.random.default_rng(6)

    def mall(n: int, rich: float) -> pd.DataFrame:
        is_rich = rng.random(n) < rich
        return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
                             "annual_income": np.where(is_rich, 120, 30) + rng.normal(0, 8, n),
                             "spending_score": np.where(is_rich, 20, 70) + rng.normal(0, 8, n),
                             "age": rng.normal(40, 10, n)})

    reference = mall(3000, 0.3)
    model = Segmenter(features="classic", n_segments=2).fit(reference)
    stable = check_drift(reference, mall(3000, 0.3), model, resamples=2)
    assert stable.verdict == "stable" and stable.reasons[0].severity == "none"
    assert stable.reasons[0].message.startswith("No signal crossed its band")
    watch = check_drift(reference, mall(3000, 0.36), model, resamples=2)
    assert watch.verdict == "watch" and watch.reasons[0].signal == "segment mix"
    older = mall(3000, 0.3).assign(age=lambda f: f["age"] + 15)
    outside = check_drift(reference, older, model, resamples=2)
    assert outside.verdict == "stable" and outside.feature("age").severity == "major"
    assert outside.notes == ("outside the model, these features shifted: age",)
    assert json.loads(json.dumps(watch.to_dict()))["verdict"] == "watch"


def test_thresholds_refuse_bands_out_of_order() -> None:
    with pytest.raises(ValueError, match=r"share_watch=0\.2 must be below share_refit=0\.1"):
        DriftThresholds(share_watch=0.2)
    with pytest.raises(ValueError, match="unknown drift threshold"):
        DriftThresholds.from_dict({"psi": 0.1})
