"""The minimum group size: no aggregate of fewer than ``k`` customers is shown or exported.

One rule, used by every stage that publishes a figure about a group of customers (segment
profiles, affinity cells, heat maps, campaign cells, loyalty tables, migration flows, the
make-up table, recommendation evaluations, the report and the API). A group of fewer than
``k`` customers is either

- **left out of the analysis** where the analysis has its own minimum (an affinity cell, a
  campaign arm, a drift test): the analysis minimum becomes ``max(its own, k)``
  (:meth:`GroupSizeRule.at_least`); or
- **suppressed**: its row stays, so that counts still reconcile, but every figure computed
  from its members is blanked and the row is marked ``suppressed``
  (:meth:`GroupSizeRule.suppress`); or
- **merged** into one "other" row with the other small groups when the figures add up (a
  flow between segments, a count) (:meth:`GroupSizeRule.merge_counts`); the merged row is
  itself suppressed when it still holds fewer than ``k``.

The workspace setting ``min_group_size`` (default 10) chooses ``k``; it can be raised or
lowered to 2 but not switched off: a figure about one customer is that customer's data.

Examples
--------
>>> import pandas as pd
>>> rule = GroupSizeRule(10)
>>> rule.allows(12), rule.allows(9), rule.at_least(30), rule.at_least(5)
(True, False, 30, 10)
>>> table = pd.DataFrame({"segment": ["A", "B"], "customers": [40, 3],
...                       "mean_spend": [120.0, 99.0]})
>>> shown = rule.suppress(table, "customers", ["mean_spend"])
>>> shown[["segment", "mean_spend", "suppressed"]].values.tolist()
[['A', 120.0, False], ['B', nan, True]]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_MIN_GROUP_SIZE",
    "DEFAULT_RULE",
    "LOWEST_MIN_GROUP_SIZE",
    "GroupSizeRule",
    "parse_min_group_size",
]

DEFAULT_MIN_GROUP_SIZE = 10
"""``k`` when the workspace does not say otherwise."""

LOWEST_MIN_GROUP_SIZE = 2
"""The rule cannot be set below this: a group of one is a person."""


def parse_min_group_size(value: object) -> int:
    """``value`` as a minimum group size, or a ``ValueError`` that says what is accepted.

    >>> parse_min_group_size(" 25 ")
    25
    >>> parse_min_group_size("1")
    Traceback (most recent call last):
    ...
    ValueError: min_group_size='1': expected a whole number of customers, at least 2
    """
    text = str(value).strip()
    if not text.isdigit() or int(text) < LOWEST_MIN_GROUP_SIZE:
        raise ValueError(f"min_group_size={value!r}: expected a whole number of "
                         f"customers, at least {LOWEST_MIN_GROUP_SIZE}")
    k = int(text)
    return k


@dataclass(frozen=True)
class GroupSizeRule:
    """Groups of fewer than ``k`` customers are not shown.

    Examples
    --------
    >>> GroupSizeRule().k, GroupSizeRule(25).describe()
    (10, 'groups of fewer than 25 customers are not shown')
    """

    k: int = DEFAULT_MIN_GROUP_SIZE

    def __post_init__(self) -> None:
        if int(self.k) < LOWEST_MIN_GROUP_SIZE:
            raise ValueError(f"min_group_size={self.k}: expected at least "
                             f"{LOWEST_MIN_GROUP_SIZE} customers")

    def allows(self, customers: float | None) -> bool:
        """Whether a group of ``customers`` may be shown (unknown counts may not).

        >>> GroupSizeRule(10).allows(10), GroupSizeRule(10).allows(None)
        (True, False)
        """
        if customers is None or (isinstance(customers, float) and np.isnan(customers)):
            return False
        return customers >= self.k

    def at_least(self, minimum: int) -> int:
        """An analysis's own minimum group size, raised to ``k`` when below it.

        >>> GroupSizeRule(10).at_least(3)
        10
        """
        return max(int(minimum), self.k)

    def describe(self) -> str:
        """The rule in words, for notes beside suppressed figures."""
        return f"groups of fewer than {self.k} customers are not shown"

    def hidden_note(self, hidden: int, what: str = "groups") -> str:
        """A note saying how many ``what`` the rule hid (empty when none).

        >>> GroupSizeRule(10).hidden_note(2, "segment x store cells")
        '2 segment x store cells of fewer than 10 customers are not shown.'
        >>> GroupSizeRule(10).hidden_note(0)
        ''
        """
        if hidden <= 0:
            return ""
        return f"{hidden} {what} of fewer than {self.k} customers are not shown."

    def suppress(
        self, frame: pd.DataFrame, count_column: str, value_columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """A copy of ``frame`` whose rows of fewer than ``k`` customers carry no figures.

        ``count_column`` holds each row's customers. ``value_columns`` (default: every
        column but the count and the text columns) are blanked (NaN, or ``None`` for text)
        in the small rows; a boolean column ``suppressed`` says which rows those are. The
        count itself stays, so that totals reconcile.

        >>> import pandas as pd
        >>> GroupSizeRule(5).suppress(pd.DataFrame({"n": [4, 6], "rate": [0.5, 0.2]}),
        ...                           "n")["rate"].tolist()
        [nan, 0.2]
        """
        out = frame.copy()
        small = ~out[count_column].map(self.allows).astype(bool)
        if value_columns is None:
            value_columns = [c for c in out.columns if c != count_column
                             and pd.api.types.is_numeric_dtype(out[c])
                             and not pd.api.types.is_bool_dtype(out[c])]
        for column in value_columns:
            if column not in out.columns or column == count_column:
                continue
            if small.any():
                if pd.api.types.is_numeric_dtype(out[column]) and not \
                        pd.api.types.is_bool_dtype(out[column]):
                    out[column] = out[column].astype("float64")
                    out.loc[small, column] = np.nan
                else:
                    out[column] = out[column].astype(object)
                    out.loc[small, column] = None
        out["suppressed"] = small.to_numpy()
        return out

    def merge_counts(
        self, counts: Iterable[tuple[object, int]], other: object = "other",
    ) -> tuple[list[tuple[object, int | None]], int]:
        """Counts per key with the small ones merged into one ``other`` row.

        Returns the rows to show, in the given order, then ``(other, total)`` when any row
        was merged (``None`` as its count when the merged total is still under ``k``), and
        the number of rows merged.

        >>> GroupSizeRule(10).merge_counts([("a", 40), ("b", 4), ("c", 7)])
        ([('a', 40), ('other', 11)], 2)
        >>> GroupSizeRule(10).merge_counts([("a", 40), ("b", 4)])
        ([('a', 40), ('other', None)], 1)
        """
        shown: list[tuple[object, int | None]] = []
        merged_total = merged = 0
        for key, count in counts:
            if self.allows(count):
                shown.append((key, int(count)))
            else:
                merged += 1
                merged_total += int(count)
        if merged:
            shown.append((other, merged_total if self.allows(merged_total) else None))
        return shown, merged


DEFAULT_RULE = GroupSizeRule()
"""The rule with the default ``k``."""
