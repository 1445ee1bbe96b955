"""Stable segment identities across refits: match the new segments to the old ones.

Both models label the *same* customers (the old model applied to the data the new one was
fitted on). Each new segment is matched to at most one old segment by the Hungarian method
(``scipy.optimize.linear_sum_assignment``) on member overlap (Jaccard similarity, the
default) or on centroid distance in the old model's space; a pair counts only above a
threshold. Then, from the overlap table:

- **kept**: a matched pair; the new segment takes the old id and name;
- **split**: an old segment whose members went mostly into two or more new segments, each
  drawn mostly from it; the matched part (if any) keeps the id, the others are new ids;
- **merged**: a new segment drawn from two or more old segments, each of which went mostly
  into it; it keeps the id of its match (if any), the other old ids end;
- **appeared** / **vanished**: a new segment with no counterpart gets a new id (never one
  used before); an old segment with none ends.

Examples
--------
>>> import numpy as np
>>> old = np.repeat([0, 1, 2], 100)
>>> new = np.concatenate([np.repeat(5, 100), np.repeat(3, 100), np.repeat([7, 8], 50)])
>>> match = match_segments(old, new, old_ids={0: 0, 1: 1, 2: 2},
...                        old_names={0: "Savers", 1: "Spenders", 2: "Families"})
>>> match.ids, [e.kind for e in match.events]
({3: 1, 5: 0, 7: 3, 8: 4}, ['kept', 'kept', 'split'])
>>> print(match.events[2].sentence)
Families (segment 2) split into segments 3 and 4 (50% and 50% of its customers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = [
    "EventKind",
    "IdentityEvent",
    "IdentityMatch",
    "MatchRule",
    "centroid_inputs",
    "match_segments",
    "overlap_table",
]

EventKind = Literal["kept", "split", "merged", "appeared", "vanished"]


@dataclass(frozen=True)
class MatchRule:
    """How segments are matched.

    Attributes
    ----------
    method:
        ``overlap`` (Jaccard similarity of members) or ``centroid`` (distance between
        centres in the old model's space, as a share of the old segment's radius).
    min_jaccard:
        A pair is matched only above this Jaccard similarity (``overlap``): the default 0.5
        means the two share more customers than either holds apart, so that of an even
        split neither half is the old segment.
    max_distance:
        A pair is matched only up to this distance, in old-segment radii (``centroid``).
    mostly:
        Share of a segment that counts as "mostly" (a split part drawn mostly from one old
        segment, an old segment gone mostly into one merged segment).
    part:
        Smallest share of an old segment that counts as a part of a split (and of a new
        one, for a merge).
    """

    method: Literal["overlap", "centroid"] = "overlap"
    min_jaccard: float = 0.5
    max_distance: float = 0.5
    mostly: float = 0.6
    part: float = 0.15

    def __post_init__(self) -> None:
        if self.method not in ("overlap", "centroid"):
            raise ValueError(f"method={self.method!r} must be 'overlap' or 'centroid'")
        for name in ("min_jaccard", "mostly", "part"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name}={getattr(self, name)} must be in (0, 1]")
        if self.max_distance <= 0:
            raise ValueError(f"max_distance={self.max_distance} must be positive")


@dataclass(frozen=True)
class IdentityEvent:
    """What happened to one identity: kept, split, merged, appeared or vanished."""

    kind: EventKind
    old_ids: tuple[int, ...]
    new_ids: tuple[int, ...]
    sentence: str
    similarity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form.

        >>> IdentityEvent("appeared", (), (6,), "New segment 6.").to_dict()["new_ids"]
        [6]
        """
        return {"kind": self.kind, "old_ids": list(self.old_ids),
                "new_ids": list(self.new_ids), "sentence": self.sentence,
                "similarity": self.similarity}


@dataclass(frozen=True)
class IdentityMatch:
    """A refit's segments in the lineage's identities.

    Attributes
    ----------
    ids:
        New model label -> stable segment id.
    names:
        New model label -> the name it goes by (the old name where kept).
    events:
        Kept, split, merged, appeared and vanished identities, in that order.
    jaccard:
        (old label, new label) -> Jaccard similarity of their members, where above 0.
    """

    ids: dict[int, int]
    names: dict[int, str]
    events: tuple[IdentityEvent, ...]
    jaccard: dict[tuple[int, int], float] = field(default_factory=dict)

    def of_kind(self, kind: EventKind) -> tuple[IdentityEvent, ...]:
        """The events of one kind."""
        return tuple(e for e in self.events if e.kind == kind)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"ids": {str(k): v for k, v in self.ids.items()},
                "names": {str(k): v for k, v in self.names.items()},
                "events": [e.to_dict() for e in self.events]}


def overlap_table(old_labels: np.ndarray, new_labels: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(old segments, new segments, counts of customers in each pair); ``-1`` left out.

    >>> olds, news, table = overlap_table(np.array([0, 0, 1, -1]), np.array([4, 5, 5, 5]))
    >>> olds.tolist(), news.tolist(), table.tolist()
    ([0, 1], [4, 5], [[1, 1], [0, 1]])
    """
    old_labels, new_labels = np.asarray(old_labels), np.asarray(new_labels)
    keep = (old_labels >= 0) & (new_labels >= 0)
    olds, old_codes = np.unique(old_labels[keep], return_inverse=True)
    news, new_codes = np.unique(new_labels[keep], return_inverse=True)
    table = np.zeros((len(olds), len(news)), dtype=np.int64)
    np.add.at(table, (old_codes, new_codes), 1)
    return olds, news, table


def match_segments(
    old_labels: np.ndarray,
    new_labels: np.ndarray,
    *,
    old_ids: Mapping[int, int],
    old_names: Mapping[int, str],
    new_names: Mapping[int, str] | None = None,
    used_ids: Sequence[int] = (),
    rule: MatchRule | None = None,
    old_centres: np.ndarray | None = None,
    new_centres: np.ndarray | None = None,
    old_radii: np.ndarray | None = None,
) -> IdentityMatch:
    """Match a refit's segments to the old ones (see the module documentation).

    Parameters
    ----------
    old_labels, new_labels:
        The old and the new model's label of the same customers.
    old_ids, old_names:
        Old label -> stable id and name.
    new_names:
        New label -> the name the refit would give (used for new identities).
    used_ids:
        Every id the lineage has used (new identities get ids above all of them).
    rule:
        How to match (default :class:`MatchRule`).
    old_centres, new_centres, old_radii:
        For ``method="centroid"``: centres of the old segments and means of the new ones in
        the old model's space (rows in label order), and the old segments' radii.
    """
    rule = rule or MatchRule()
    new_names = dict(new_names or {})
    olds, news, table = overlap_table(old_labels, new_labels)
    all_news = sorted(set(np.unique(new_labels[new_labels >= 0]).tolist()) | set(news.tolist()))
    old_size, new_size = table.sum(axis=1), table.sum(axis=0)
    union = old_size[:, None] + new_size[None, :] - table
    jaccard = np.divide(table, union, out=np.zeros(table.shape), where=union > 0)
    pairs = _matched_pairs(rule, olds, news, jaccard, old_centres, new_centres, old_radii)
    of_old = np.divide(table, old_size[:, None], out=np.zeros(table.shape),
                       where=old_size[:, None] > 0)
    of_new = np.divide(table, new_size[None, :], out=np.zeros(table.shape),
                       where=new_size[None, :] > 0)
    splits = {i: [j for j in range(len(news)) if of_new[i, j] >= rule.mostly
                  and of_old[i, j] >= rule.part] for i in range(len(olds))}
    splits = {i: parts for i, parts in splits.items() if len(parts) >= 2}
    merges = {j: [i for i in range(len(olds)) if of_old[i, j] >= rule.mostly
                  and of_new[i, j] >= rule.part] for j in range(len(news))}
    merges = {j: parts for j, parts in merges.items() if len(parts) >= 2}

    ids: dict[int, int] = {}
    names: dict[int, str] = {}
    next_id = max([*used_ids, *old_ids.values(), -1]) + 1
    for i, j in pairs:
        ids[int(news[j])] = int(old_ids.get(int(olds[i]), int(olds[i])))
        names[int(news[j])] = str(old_names.get(int(olds[i]), f"Segment {ids[int(news[j])]}"))
    for label in all_news:
        if label not in ids:
            ids[label] = next_id
            names[label] = _fresh_name(new_names.get(label, f"Segment {next_id}"), names)
            next_id += 1

    def old_text(i: int) -> str:
        segment = int(old_ids.get(int(olds[i]), int(olds[i])))
        return f"{old_names.get(int(olds[i]), f'Segment {segment}')} (segment {segment})"

    events: list[IdentityEvent] = []
    matched_old = {i for i, _ in pairs}
    for i, j in pairs:
        events.append(IdentityEvent(
            "kept", (ids[int(news[j])],), (ids[int(news[j])],),
            f"{old_text(i)} kept its id and name (Jaccard {jaccard[i, j]:.2f}).",
            float(jaccard[i, j])))
    in_split: set[int] = set()
    for i, parts in splits.items():
        new_ids = tuple(ids[int(news[j])] for j in parts)
        shares = " and ".join(f"{of_old[i, j]:.0%}" for j in parts)
        events.append(IdentityEvent(
            "split", (int(old_ids.get(int(olds[i]), int(olds[i]))),), new_ids,
            f"{old_text(i)} split into segments {_and(new_ids)} ({shares} of its customers)."))
        in_split.update(parts)
    in_merge: set[int] = set()
    for j, parts in merges.items():
        old_list = tuple(int(old_ids.get(int(olds[i]), int(olds[i]))) for i in parts)
        events.append(IdentityEvent(
            "merged", old_list, (ids[int(news[j])],),
            f"Segments {_and(old_list)} merged into segment {ids[int(news[j])]} "
            f"({names[int(news[j])]})."))
        in_merge.update(parts)
    matched_new = {int(news[j]) for _, j in pairs}
    split_new = {int(news[j]) for j in in_split}
    for label in all_news:
        if label not in matched_new and label not in split_new and not any(
                int(news[j]) == label for j in merges):
            events.append(IdentityEvent(
                "appeared", (), (ids[label],),
                f"New segment {ids[label]} ({names[label]}) appeared."))
    for i in range(len(olds)):
        if i not in matched_old and i not in splits and i not in in_merge:
            events.append(IdentityEvent(
                "vanished", (int(old_ids.get(int(olds[i]), int(olds[i]))),), (),
                f"{old_text(i)} has no counterpart any more: it ended."))
    for old_label, segment in old_ids.items():
        if old_label not in set(olds.tolist()) and segment not in ids.values():
            events.append(IdentityEvent(
                "vanished", (int(segment),), (),
                f"{old_names.get(old_label, f'Segment {segment}')} (segment {segment}) has "
                "no customers any more: it ended."))
    order = {"kept": 0, "split": 1, "merged": 2, "appeared": 3, "vanished": 4}
    events.sort(key=lambda e: (order[e.kind], e.old_ids, e.new_ids))
    return IdentityMatch(
        dict(sorted(ids.items())), dict(sorted(names.items())), tuple(events),
        {(int(olds[i]), int(news[j])): float(jaccard[i, j])
         for i in range(len(olds)) for j in range(len(news)) if jaccard[i, j] > 0})


def centroid_inputs(points: np.ndarray, centres: np.ndarray, old_labels: np.ndarray,
                    new_labels: np.ndarray) -> dict[str, np.ndarray]:
    """The arguments of centroid matching, from customers in the old model's space.

    ``points`` are the customers in the old model's space, ``centres`` its centres; returns
    ``old_centres``, ``new_centres`` (the mean of each new segment) and ``old_radii`` (the
    root mean square distance of each old segment's members to its centre).

    >>> inputs = centroid_inputs(np.array([[0.0], [2.0], [10.0]]), np.array([[1.0], [10.0]]),
    ...                          np.array([0, 0, 1]), np.array([1, 1, 0]))
    >>> inputs["new_centres"].tolist(), inputs["old_radii"].tolist()
    ([[10.0], [1.0]], [1.0, 1.0])
    """
    points = np.asarray(points, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    width = int(max(np.max(new_labels, initial=-1), 0)) + 1
    means = np.array([points[new_labels == s].mean(axis=0) if (new_labels == s).any()
                      else np.full(points.shape[1], np.inf) for s in range(width)])
    radii = np.array([np.sqrt(((points[old_labels == s] - centres[s]) ** 2).sum(axis=1).mean())
                      if (old_labels == s).any() else 1.0 for s in range(len(centres))])
    radii = np.where(radii > 0, radii, 1.0)
    return {"old_centres": centres, "new_centres": means, "old_radii": radii}


def _matched_pairs(
    rule: MatchRule, olds: np.ndarray, news: np.ndarray, jaccard: np.ndarray,
    old_centres: np.ndarray | None, new_centres: np.ndarray | None,
    old_radii: np.ndarray | None,
) -> list[tuple[int, int]]:
    if jaccard.size == 0:
        return []
    if rule.method == "overlap":
        rows, cols = linear_sum_assignment(-jaccard)
        return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True)
                if jaccard[i, j] > rule.min_jaccard]
    if old_centres is None or new_centres is None or old_radii is None:
        raise ValueError("method='centroid' needs old_centres, new_centres and old_radii")
    old_c = np.asarray(old_centres)[olds]
    new_c = np.asarray(new_centres)[news]
    radii = np.maximum(np.asarray(old_radii, dtype=float)[olds], 1e-12)
    distance = np.sqrt(((old_c[:, None, :] - new_c[None, :, :]) ** 2).sum(axis=2))
    relative = distance / radii[:, None]
    rows, cols = linear_sum_assignment(relative)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True)
            if relative[i, j] <= rule.max_distance]


def _fresh_name(name: str, taken: Mapping[int, str]) -> str:
    """A new identity's name, told apart from a kept one it would repeat."""
    return f"{name} (new)" if name in taken.values() else name


def _and(values: Sequence[int]) -> str:
    text = [str(v) for v in values]
    return text[0] if len(text) == 1 else ", ".join(text[:-1]) + " and " + text[-1]
