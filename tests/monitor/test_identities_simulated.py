"""Stable identities on simulated customers: a refit keeps what is the same, reports the rest.

Three personas well apart on income and spending score (the classic lens) make the
reference mall. Against it: a refit of the same customers with another seed, a mall where a
fourth persona has joined, and a mall where one persona's customers split into poorer and
richer halves (the same customers, drawn with the same seed from two variants of the
persona).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from mallseg.datasets.simulate import select_personas, simulate_mall
from mallseg.monitor.lineage import IdentityMatch, match_segments
from mallseg.segment.segmenter import Segmenter

TIGHT = {"income_sigma": 0.08, "spending_score_sd": 4.0}
SCORES = {"mission_shopper": 20.0, "teen_grazer": 85.0, "affluent_destination": 55.0}
PERSONAS = [replace(p, spending_score_mean=SCORES[p.name], **TIGHT) for p in
            select_personas(["mission_shopper", "teen_grazer", "affluent_destination"])]
PLANTED = replace(select_personas(["senior_leisure"])[0], income_median_k=260,
                  spending_score_mean=15, **TIGHT)
NAMES = {0: "Careful mid-income", 1: "Young spenders", 2: "Affluent spenders"}


def customers(folder: Path, personas: list, seed: int, n: int, prefix: str = "") -> pd.DataFrame:
    simulate_mall(folder, customers=n, days=7, seed=seed, personas=personas)
    frame = pd.read_parquet(folder / "inputs" / "customers")
    truth = pd.read_parquet(folder / "truth" / "customer_personas")
    frame = frame.merge(truth[["customer_id", "persona"]], on="customer_id")
    frame["customer_id"] = prefix + frame["customer_id"]
    return frame[["customer_id", "annual_income", "spending_score", "persona"]]


def fit(frame: pd.DataFrame, k: int, seed: int) -> Segmenter:
    with threadpool_limits(limits=1):
        return Segmenter(features="classic", n_segments=k, random_state=seed).fit(frame)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Segmenter]:
    frame = customers(tmp_path_factory.mktemp("reference"), PERSONAS, seed=3, n=3000)
    model = fit(frame, 3, seed=0)
    # the old segments carry ids 0..2 named after their persona
    return frame, model


def old_names(frame: pd.DataFrame, model: Segmenter) -> dict[int, str]:
    by_persona = {"mission_shopper": NAMES[0], "teen_grazer": NAMES[1],
                  "affluent_destination": NAMES[2]}
    majority = pd.Series(frame["persona"].to_numpy()).groupby(model.labels_).agg(
        lambda p: p.value_counts().index[0])
    return {int(s): by_persona[str(p)] for s, p in majority.items()}


def refit(reference_frame: pd.DataFrame, model: Segmenter, current: pd.DataFrame, k: int,
          seed: int) -> tuple[IdentityMatch, Segmenter]:
    """Match a refit of ``current`` to the old model's segments of the known customers."""
    new = fit(current, k, seed)
    stored = dict(zip(reference_frame["customer_id"], model.labels_, strict=True))
    old_labels = np.array([stored.get(c, -1) for c in current["customer_id"]])
    names = old_names(reference_frame, model)
    return match_segments(old_labels, new.labels_, old_ids={s: s for s in names},
                          old_names=names), new


def persona_segment(match: IdentityMatch, model: Segmenter, frame: pd.DataFrame,
                    persona: str) -> int:
    labels = model.labels_[frame["persona"].to_numpy() == persona]
    return match.ids[int(np.bincount(labels).argmax())]


def test_the_old_segments_are_the_personas(reference: tuple[pd.DataFrame, Segmenter]) -> None:
    frame, model = reference
    assert sorted(old_names(frame, model).values()) == sorted(NAMES.values())


def test_refitting_the_same_customers_with_another_seed_keeps_every_id_and_name(
    reference: tuple[pd.DataFrame, Segmenter],
) -> None:
    frame, model = reference
    for seed in (1, 7, 23):
        match, new = refit(frame, model, frame, 3, seed)
        assert [e.kind for e in match.events] == ["kept"] * 3
        names = old_names(frame, model)
        for persona, name in (("mission_shopper", NAMES[0]), ("teen_grazer", NAMES[1]),
                              ("affluent_destination", NAMES[2])):
            segment = persona_segment(match, new, frame, persona)
            assert names[segment] == name


def test_a_planted_persona_appears_as_a_new_segment_and_the_others_keep_theirs(
    reference: tuple[pd.DataFrame, Segmenter], tmp_path: Path,
) -> None:
    frame, model = reference
    planted = customers(tmp_path / "planted", [PLANTED], seed=4, n=600, prefix="P")
    current = pd.concat([frame, planted], ignore_index=True)
    match, new = refit(frame, model, current, 4, seed=5)
    assert [e.kind for e in match.events] == ["kept", "kept", "kept", "appeared"]
    assert match.of_kind("appeared")[0].new_ids == (3,)
    names = old_names(frame, model)
    assert sorted(match.names[label] for label, segment in match.ids.items()
                  if segment in names) == sorted(NAMES.values())
    # the new segment is the planted persona's
    assert persona_segment(match, new, current, PLANTED.name) == 3
    planted_labels = new.labels_[current["persona"].to_numpy() == PLANTED.name]
    assert np.mean([match.ids[int(s)] == 3 for s in planted_labels]) >= 0.98


def test_a_persona_split_in_two_is_reported_as_a_split(
    reference: tuple[pd.DataFrame, Segmenter], tmp_path: Path,
) -> None:
    frame, model = reference
    poorer = [replace(p, income_median_k=90) if p.name == "affluent_destination" else p
              for p in PERSONAS]
    richer = [replace(p, income_median_k=260) if p.name == "affluent_destination" else p
              for p in PERSONAS]
    # the same customers (same seed) drawn from each variant of the persona
    low = customers(tmp_path / "low", poorer, seed=3, n=3000)
    high = customers(tmp_path / "high", richer, seed=3, n=3000)
    assert (low["customer_id"] == frame["customer_id"]).all()
    affluent = frame["persona"].to_numpy() == "affluent_destination"
    half = np.arange(len(frame)) % 2 == 0
    current = frame.copy()
    current.loc[affluent & half, "annual_income"] = low.loc[affluent & half, "annual_income"]
    current.loc[affluent & ~half, "annual_income"] = high.loc[affluent & ~half,
                                                               "annual_income"]
    match, _ = refit(frame, model, current, 4, seed=5)
    old_affluent = next(s for s, n in old_names(frame, model).items() if n == NAMES[2])
    splits = match.of_kind("split")
    assert len(splits) == 1 and splits[0].old_ids == (old_affluent,)
    assert len(splits[0].new_ids) == 2 and set(splits[0].new_ids).isdisjoint({0, 1, 2})
    assert [e.kind for e in match.events].count("kept") == 2
    assert not match.of_kind("vanished") and not match.of_kind("appeared")
