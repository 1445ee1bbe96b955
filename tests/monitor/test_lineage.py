"""Matching a refit's segments to the old ones, on label arrays worked out by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mallseg.monitor.lineage import MatchRule, match_segments

NAMES = {10: "Savers", 11: "Spenders", 12: "Families", 13: "Seniors"}


def labels(*groups: tuple[int, int]) -> np.ndarray:
    """Concatenate (label, count) runs."""
    return np.concatenate([np.full(count, label) for label, count in groups])


def test_a_permuted_refit_keeps_every_id_and_name() -> None:
    old = labels((10, 50), (11, 30), (12, 20))
    new = labels((2, 50), (0, 30), (1, 20))
    match = match_segments(old, new, old_ids={10: 10, 11: 11, 12: 12}, old_names=NAMES)
    assert match.ids == {2: 10, 0: 11, 1: 12}
    assert match.names == {2: "Savers", 0: "Spenders", 1: "Families"}
    assert [e.kind for e in match.events] == ["kept", "kept", "kept"]
    assert all(e.similarity == 1.0 for e in match.events)


def test_the_matching_maximises_the_total_overlap() -> None:
    rng = np.random.default_rng(3)
    old = rng.integers(0, 5, 2000)
    # each new segment mostly one old segment, shuffled, with a fifth of the customers mixed
    new = np.where(rng.random(2000) < 0.8, (old + 2) % 5, rng.integers(0, 5, 2000))
    match = match_segments(old, new, old_ids={s: s for s in range(5)},
                           old_names={s: f"S{s}" for s in range(5)},
                           rule=MatchRule(min_jaccard=1e-9))
    total = sum(match.jaccard[(match.ids[n], n)] for n in range(5))
    best = max(sum(match.jaccard.get((o, n), 0.0) for o, n in zip(order, range(5), strict=True))
               for order in itertools.permutations(range(5)))
    assert total == pytest.approx(best)
    assert match.ids == {n: (n - 2) % 5 for n in range(5)}


def test_an_uneven_split_keeps_the_id_on_the_larger_part_and_reports_the_split() -> None:
    old = labels((10, 200), (11, 100))
    new = labels((0, 140), (1, 60), (2, 100))
    match = match_segments(old, new, old_ids={10: 10, 11: 11}, old_names=NAMES,
                           new_names={1: "Young savers"})
    assert match.ids == {0: 10, 1: 12, 2: 11}
    assert match.names[1] == "Young savers"
    split = match.of_kind("split")
    assert len(split) == 1 and split[0].old_ids == (10,) and split[0].new_ids == (10, 12)
    assert split[0].sentence == ("Savers (segment 10) split into segments 10 and 12 "
                                 "(70% and 30% of its customers).")
    assert not match.of_kind("appeared") and not match.of_kind("vanished")


def test_two_segments_merging_into_one_are_reported_as_a_merge() -> None:
    old = labels((10, 100), (11, 100), (12, 80))
    new = labels((0, 200), (1, 80))
    match = match_segments(old, new, old_ids={10: 10, 11: 11, 12: 12}, old_names=NAMES,
                           new_names={0: "Shoppers"})
    # neither half is more than half of the merged segment: no id is kept for it
    assert match.ids == {0: 13, 1: 12}
    assert match.names[0] == "Shoppers"
    merged = match.of_kind("merged")
    assert len(merged) == 1 and merged[0].old_ids == (10, 11) and merged[0].new_ids == (13,)
    assert not match.of_kind("vanished")


def test_a_segment_of_newcomers_appears_and_a_dissolved_one_vanishes() -> None:
    # Old 12 spreads thinly over the others; new segment 3 holds customers the old run did
    # not know (label -1 in the old labelling).
    old = labels((10, 100), (11, 100), (12, 30), (-1, 50))
    new = np.concatenate([labels((0, 100), (1, 100)), labels((0, 15), (1, 15)),
                          labels((3, 50))])
    match = match_segments(old, new, old_ids={10: 10, 11: 11, 12: 12}, old_names=NAMES,
                           used_ids=range(20), new_names={3: "Night owls"})
    assert match.ids == {0: 10, 1: 11, 3: 20}
    assert [e.new_ids for e in match.of_kind("appeared")] == [(20,)]
    assert match.of_kind("appeared")[0].sentence == "New segment 20 (Night owls) appeared."
    assert [e.old_ids for e in match.of_kind("vanished")] == [(12,)]


def test_an_old_segment_nobody_is_in_any_more_vanishes() -> None:
    old = labels((10, 100), (11, 100))
    new = labels((0, 100), (1, 100))
    match = match_segments(old, new, old_ids={10: 10, 11: 11, 13: 13}, old_names=NAMES)
    assert [e.old_ids for e in match.of_kind("vanished")] == [(13,)]


def test_a_new_name_that_repeats_a_kept_one_is_told_apart() -> None:
    old = labels((10, 100), (-1, 40))
    new = labels((0, 100), (1, 40))
    match = match_segments(old, new, old_ids={10: 10}, old_names=NAMES,
                           new_names={0: "Savers", 1: "Savers"})
    assert match.names == {0: "Savers", 1: "Savers (new)"}


def test_centroid_matching_pairs_the_nearest_centres_within_the_radius() -> None:
    old_centres = np.array([[0.0, 0.0], [10.0, 0.0]])
    new_means = np.array([[10.2, 0.1], [0.1, -0.2], [5.0, 5.0]])
    old = labels((0, 10), (1, 10), (0, 2), (1, 2), (-1, 1))
    new = labels((1, 10), (0, 10), (2, 5))
    match = match_segments(old, new, old_ids={0: 10, 1: 11}, old_names=NAMES,
                           rule=MatchRule(method="centroid", max_distance=0.5),
                           old_centres=old_centres, new_centres=new_means,
                           old_radii=np.array([1.0, 1.0]))
    assert match.ids == {0: 11, 1: 10, 2: 12}
    assert [e.kind for e in match.events] == ["kept", "kept", "appeared"]


def test_match_rules_refuse_values_out_of_range() -> None:
    with pytest.raises(ValueError, match="min_jaccard=0"):
        MatchRule(min_jaccard=0)
    with pytest.raises(ValueError, match="method='nearest'"):
        MatchRule(method="nearest")  # type: ignore[arg-type]
