"""RFM the way marketers know it: quintile scores and the standard named groups.

Scores (buyers only; customers who never bought form the group "No purchase yet"):

- ``R``: 5 for the most recent fifth of buyers down to 1 for the least recent, from
  ``recency_days`` (lower is better);
- ``F`` from ``frequency`` and ``M`` from ``monetary_total``: 5 for the top fifth.

A score is ``1 + floor(5 * (rank - 1) / n)`` where ``rank`` is the customer's rank among
the ``n`` buyers (1 = worst) and tied customers share the lowest rank of their tie, so
that equal customers always get equal scores (with many one-time buyers, F = 1 holds more
than a fifth). ``FM`` is the mean of F and M, rounded half up.

Groups come from (R, FM) by the first matching rule of :data:`DEFAULT_RFM_GROUPS`, which
cover the 25 cells exactly once; the mapping is configurable (:func:`rfm_groups` takes any
list of :class:`RFMGroup`).

==================== ======== ========
group                R        FM
==================== ======== ========
Champions            5        4-5
Loyal                3-4      4-5
Potential loyalists  4-5      2-3
New customers        5        1
Promising            4        1
Need attention       3        3
About to sleep       3        1-2
Cannot lose them     1-2      5
At risk              1-2      3-4
Hibernating          2        1-2
Lost                 1        1-2
==================== ======== ========

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"recency_days": [1, 5, 40, 200, 300],
...                       "frequency": [12, 6, 3, 1, 1],
...                       "monetary_total": [900.0, 400.0, 120.0, 30.0, 20.0]})
>>> result = rfm_segments(frame)
>>> result.scores[["R", "F", "M", "FM"]].values.tolist()
[[5, 5, 5, 5], [4, 4, 4, 4], [3, 3, 3, 3], [2, 1, 2, 2], [1, 1, 1, 1]]
>>> result.scores["group"].tolist()
['Champions', 'Loyal', 'Need attention', 'Hibernating', 'Lost']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_RFM_GROUPS",
    "NO_PURCHASE_GROUP",
    "RFM_FEATURES",
    "RFMGroup",
    "RFMResult",
    "quintile_scores",
    "rfm_groups",
    "rfm_segments",
    "score_with_cuts",
]

RFM_FEATURES = ("recency_days", "frequency", "monetary_total")
"""The features RFM reads (from :mod:`mallseg.features.blocks.value`)."""

NO_PURCHASE_GROUP = "No purchase yet"


@dataclass(frozen=True)
class RFMGroup:
    """A named group of (R, FM) score cells.

    Examples
    --------
    >>> RFMGroup("Champions", (5, 5), (4, 5), "Bought recently, often and much").covers(5, 4)
    True
    """

    name: str
    recency: tuple[int, int]
    frequency_monetary: tuple[int, int]
    action: str = ""

    def covers(self, r: int, fm: int) -> bool:
        """Whether the cell (r, fm) belongs to this group."""
        return (self.recency[0] <= r <= self.recency[1]
                and self.frequency_monetary[0] <= fm <= self.frequency_monetary[1])

    def rule(self) -> str:
        """The cells in words ("R 4-5, FM 2-3")."""
        def span(pair: tuple[int, int]) -> str:
            return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}-{pair[1]}"
        return f"R {span(self.recency)}, FM {span(self.frequency_monetary)}"


DEFAULT_RFM_GROUPS: tuple[RFMGroup, ...] = (
    RFMGroup("Champions", (5, 5), (4, 5), "Bought recently, buy often and spend the most: "
             "reward them, ask for reviews, offer new things first."),
    RFMGroup("Loyal", (3, 4), (4, 5), "Buy often and spend much: upsell, loyalty tiers."),
    RFMGroup("Potential loyalists", (4, 5), (2, 3), "Recent, average frequency and spend: "
             "membership offers, recommendations."),
    RFMGroup("New customers", (5, 5), (1, 1), "Bought recently, once or little: onboarding, "
             "a welcome offer for the second visit."),
    RFMGroup("Promising", (4, 4), (1, 1), "Recent first purchases: build the relationship."),
    RFMGroup("Need attention", (3, 3), (3, 3), "Average on everything, slipping: a limited "
             "time offer based on past purchases."),
    RFMGroup("About to sleep", (3, 3), (1, 2), "Below average and slipping: reactivate "
             "with popular offers before they are lost."),
    RFMGroup("Cannot lose them", (1, 2), (5, 5), "Used to buy most, long ago: win them back "
             "personally, do not lose them to a competitor."),
    RFMGroup("At risk", (1, 2), (3, 4), "Spent well, long ago: personalised reactivation."),
    RFMGroup("Hibernating", (2, 2), (1, 2), "Low and long ago: low-cost offers only."),
    RFMGroup("Lost", (1, 1), (1, 2), "Lowest recency, frequency and spend: do not spend on "
             "them, or one last win-back."),
)
"""The standard groups, in order of value (best first)."""


@dataclass(frozen=True)
class RFMResult:
    """Scores and groups of every customer.

    Attributes
    ----------
    scores:
        One row per customer (the input's order): ``R``, ``F``, ``M``, ``FM`` (0 for
        customers who never bought), ``group`` and ``segment`` (the group's position in
        ``groups``; the no-purchase group comes last).
    groups:
        The groups used, in order (segment ids are positions in it).
    """

    scores: pd.DataFrame
    groups: tuple[RFMGroup, ...]
    cuts: dict[str, list[float]] = field(default_factory=dict)
    """Per score letter, the value that reaches scores 2, 3, 4 and 5 (R: at most that many
    days; F and M: at least that much), so that new customers are scored as these were."""

    @property
    def labels(self) -> np.ndarray:
        """Segment id of every customer."""
        return self.scores["segment"].to_numpy(dtype=np.int64)

    def group_names(self) -> dict[int, str]:
        """Segment id -> group name, the no-purchase group included.

        >>> import pandas as pd
        >>> result = rfm_segments(pd.DataFrame({"recency_days": [1, 9], "frequency": [2, 0],
        ...                                     "monetary_total": [5.0, 0.0]}))
        >>> result.group_names()[len(DEFAULT_RFM_GROUPS)]
        'No purchase yet'
        """
        names = {i: g.name for i, g in enumerate(self.groups)}
        names[len(self.groups)] = NO_PURCHASE_GROUP
        return names


def quintile_scores(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Scores 1-5 by rank, ties sharing the lowest rank of their tie (see the module docs).

    >>> import pandas as pd
    >>> quintile_scores(pd.Series([1, 1, 1, 2, 9])).tolist()
    [1, 1, 1, 4, 5]
    >>> quintile_scores(pd.Series([3, 30, 300, 10, 100]), higher_is_better=False).tolist()
    [5, 3, 1, 4, 2]
    """
    ranked = values if higher_is_better else -values
    rank = ranked.rank(method="min")
    return pd.Series(np.floor(5 * (rank - 1) / len(values)) + 1, index=values.index).astype(
        np.int64
    )


def rfm_groups(r: pd.Series, fm: pd.Series, groups: Sequence[RFMGroup]) -> pd.Series:
    """Index in ``groups`` of the first group covering each (r, fm) cell.

    Raises
    ------
    ValueError
        When a cell is covered by no group (the mapping must cover all 25).

    >>> import pandas as pd
    >>> rfm_groups(pd.Series([5, 1]), pd.Series([5, 1]), DEFAULT_RFM_GROUPS).tolist()
    [0, 10]
    """
    cells = {(a, b): next((i for i, g in enumerate(groups) if g.covers(a, b)), None)
             for a in range(1, 6) for b in range(1, 6)}
    uncovered = [cell for cell, index in cells.items() if index is None]
    if uncovered:
        raise ValueError(f"the RFM groups cover no group for (R, FM) cells {uncovered}")
    return pd.Series([cells[(int(a), int(b))] for a, b in zip(r, fm, strict=True)],
                     index=r.index, dtype=np.int64)


def rfm_segments(frame: pd.DataFrame, groups: Sequence[RFMGroup] = DEFAULT_RFM_GROUPS,
                 ) -> RFMResult:
    """Score every customer of ``frame`` and put them in their RFM group.

    Parameters
    ----------
    frame:
        One row per customer with ``recency_days``, ``frequency`` and ``monetary_total``.
    groups:
        The mapping from (R, FM) cells to named groups, first match wins.

    Raises
    ------
    ValueError
        When a column is missing or no customer ever bought.
    """
    missing = [c for c in RFM_FEATURES if c not in frame.columns]
    if missing:
        raise ValueError(
            f"RFM needs {', '.join(RFM_FEATURES)}: this data lacks {', '.join(missing)} "
            "(load transactions first)"
        )
    table = frame[list(RFM_FEATURES)].apply(pd.to_numeric, errors="coerce")
    bought = (table["frequency"].fillna(0) > 0) & table["recency_days"].notna()
    if not bought.any():
        raise ValueError("RFM needs purchases: no customer in this data ever bought")
    buyers = table[bought]
    scores = pd.DataFrame(0, index=table.index, columns=["R", "F", "M", "FM"], dtype=np.int64)
    scores.loc[bought, "R"] = quintile_scores(buyers["recency_days"], higher_is_better=False)
    scores.loc[bought, "F"] = quintile_scores(buyers["frequency"])
    scores.loc[bought, "M"] = quintile_scores(buyers["monetary_total"].fillna(0))
    scores.loc[bought, "FM"] = (scores.loc[bought, "F"] + scores.loc[bought, "M"] + 1) // 2
    segment = pd.Series(len(groups), index=table.index, dtype=np.int64)
    segment[bought] = rfm_groups(scores.loc[bought, "R"], scores.loc[bought, "FM"], groups)
    names = [g.name for g in groups] + [NO_PURCHASE_GROUP]
    scores["segment"] = segment
    scores["group"] = [names[int(s)] for s in segment]
    cuts = {
        "R": _cuts(buyers["recency_days"], scores.loc[bought, "R"], lower_is_better=True),
        "F": _cuts(buyers["frequency"], scores.loc[bought, "F"]),
        "M": _cuts(buyers["monetary_total"].fillna(0), scores.loc[bought, "M"]),
    }
    return RFMResult(scores=scores.reset_index(drop=True), groups=tuple(groups), cuts=cuts)


def score_with_cuts(
    frame: pd.DataFrame, cuts: dict[str, list[float]],
    groups: Sequence[RFMGroup] = DEFAULT_RFM_GROUPS,
) -> RFMResult:
    """Score customers against the cut points of an earlier :func:`rfm_segments`.

    A customer scored again with the cuts of the run that scored them gets the same scores.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"recency_days": [1, 5, 40, 200, 300],
    ...                       "frequency": [12, 6, 3, 1, 1],
    ...                       "monetary_total": [900.0, 400.0, 120.0, 30.0, 20.0]})
    >>> cuts = rfm_segments(frame).cuts
    >>> new = pd.DataFrame({"recency_days": [3], "frequency": [7], "monetary_total": [500.0]})
    >>> score_with_cuts(new, cuts).scores[["R", "F", "M", "group"]].values.tolist()
    [[4, 4, 4, 'Loyal']]
    """
    table = frame[list(RFM_FEATURES)].apply(pd.to_numeric, errors="coerce")
    bought = (table["frequency"].fillna(0) > 0) & table["recency_days"].notna()
    scores = pd.DataFrame(0, index=table.index, columns=["R", "F", "M", "FM"], dtype=np.int64)
    recency = table.loc[bought, "recency_days"].to_numpy()
    scores.loc[bought, "R"] = 1 + (recency[:, None] <= np.asarray(cuts["R"])[None, :]).sum(1)
    for letter, column in (("F", "frequency"), ("M", "monetary_total")):
        values = table.loc[bought, column].fillna(0).to_numpy()
        scores.loc[bought, letter] = 1 + (values[:, None] >= np.asarray(cuts[letter])[None, :]
                                          ).sum(1)
    scores.loc[bought, "FM"] = (scores.loc[bought, "F"] + scores.loc[bought, "M"] + 1) // 2
    segment = pd.Series(len(groups), index=table.index, dtype=np.int64)
    if bought.any():
        segment[bought] = rfm_groups(scores.loc[bought, "R"], scores.loc[bought, "FM"], groups)
    names = [g.name for g in groups] + [NO_PURCHASE_GROUP]
    scores["segment"] = segment
    scores["group"] = [names[int(s)] for s in segment]
    return RFMResult(scores=scores.reset_index(drop=True), groups=tuple(groups), cuts=cuts)


def _cuts(values: pd.Series, scores: pd.Series, *, lower_is_better: bool = False) -> list[float]:
    """The value reaching each score 2..5 (inf / -inf when no customer reached it)."""
    out = []
    for score in range(2, 6):
        reached = values[scores >= score]
        if reached.empty:
            out.append(-np.inf if lower_is_better else np.inf)
        else:
            out.append(float(reached.max() if lower_is_better else reached.min()))
    return out
