"""Leave out features that cannot tell customers apart.

A feature where (nearly) every customer has the same value — every Istanbul receipt is the
customer's only one, so ``frequency`` is 1 for all — adds nothing but noise to a distance
and makes a name out of nothing. Such features are dropped before the search, each with a
one-line note.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"frequency": [1] * 99 + [2], "age": range(100)})
>>> kept, dropped = drop_uninformative(frame, ["frequency", "age"])
>>> kept, dropped
(['age'], {'frequency': '99% of customers have the same value (1)'})
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["NEARLY_CONSTANT_SHARE", "drop_uninformative"]

NEARLY_CONSTANT_SHARE = 0.99
"""A feature whose single most common value (missing counts as one) covers at least this
share of customers is left out."""


def drop_uninformative(
    frame: pd.DataFrame, features: Sequence[str], *, share: float = NEARLY_CONSTANT_SHARE
) -> tuple[list[str], dict[str, str]]:
    """Split ``features`` into those kept and those dropped with the reason.

    When every feature would be dropped, none is (the caller gets a model, and the notes
    say what is wrong with the data).

    Examples
    --------
    >>> import pandas as pd
    >>> drop_uninformative(pd.DataFrame({"a": [None, None, None]}), ["a"])
    (['a'], {})
    """
    kept: list[str] = []
    dropped: dict[str, str] = {}
    n = len(frame)
    for name in features:
        column = frame[name]
        counts = column.value_counts(dropna=False)
        if n == 0 or counts.empty:
            kept.append(name)
            continue
        top_share = float(counts.iloc[0]) / n
        if top_share >= share:
            value = counts.index[0]
            shown = "missing" if pd.isna(value) else _format(value)
            verb = "have no value" if shown == "missing" else f"have the same value ({shown})"
            dropped[name] = f"{top_share:.0%} of customers {verb}"
        else:
            kept.append(name)
    if not kept:
        return list(features), {}
    return kept, dropped


def _format(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
