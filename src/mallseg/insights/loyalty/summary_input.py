"""The customer summaries the models take: checked, broadcast, and compressed to patterns.

Examples
--------
>>> import numpy as np
>>> patterns, counts = distinct_patterns(np.array([1, 1, 2]), np.array([3.0, 3.0, 5.0]))
>>> [p.tolist() for p in patterns], counts.tolist()
([[1.0, 2.0], [3.0, 5.0]], [2, 1])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mallseg.insights.loyalty.fitting import ModelFitError

__all__ = ["as_summary_arrays", "broadcast_summary", "check_summary", "distinct_patterns"]


def as_summary_arrays(model: str, **columns: Any) -> dict[str, np.ndarray]:
    """Check summary columns (finite, non-negative, equal lengths) and return float arrays.

    Raises
    ------
    ModelFitError
        Naming the column and the first offending position.

    Examples
    --------
    >>> as_summary_arrays("BG/NBD", frequency=[0, 2])["frequency"].tolist()
    [0.0, 2.0]
    >>> as_summary_arrays("BG/NBD", frequency=[-1])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mallseg...ModelFitError: BG/NBD: frequency[0] = -1.0: expected a finite number >= 0
    """
    out: dict[str, np.ndarray] = {}
    length: int | None = None
    for name, values in columns.items():
        array = np.asarray(values, dtype=float).reshape(-1)
        bad = np.flatnonzero(~np.isfinite(array) | (array < 0))
        if bad.size:
            raise ModelFitError(
                f"{model}: {name}[{bad[0]}] = {array[bad[0]]}: expected a finite number >= 0"
            )
        if length is not None and array.size != length:
            raise ModelFitError(
                f"{model}: {name} has {array.size} values, expected {length} like the others"
            )
        length = array.size
        out[name] = array
    return out




def broadcast_summary(
    frequency: Any, recency: Any, T: Any  # noqa: N803
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, t_x, T)`` as float arrays of one common length (scalars are broadcast).

    Examples
    --------
    >>> [a.tolist() for a in broadcast_summary([0, 2], [0, 3.5], 10)]
    [[0.0, 2.0], [0.0, 3.5], [10.0, 10.0]]
    """
    x = np.asarray(frequency, dtype=float).reshape(-1)
    t_x = np.asarray(recency, dtype=float).reshape(-1)
    big_t = np.asarray(T, dtype=float).reshape(-1)
    x, t_x, big_t = np.broadcast_arrays(x, t_x, big_t)
    return x, t_x, big_t

def check_summary(model: str, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> None:
    """Raise :class:`ModelFitError` unless (x, t_x, T) is a possible summary of each customer.

    ``x`` must be whole, ``t_x`` at most ``T``, and ``t_x`` 0 when ``x`` is 0.

    Examples
    --------
    >>> import numpy as np
    >>> check_summary("BG/NBD", np.array([1.0]), np.array([5.0]), np.array([4.0]))
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mallseg...ModelFitError: BG/NBD: customer 0: recency 5.0 is after T 4.0: the last event ...
    """
    if x.size == 0:
        raise ModelFitError(f"{model}: no customer to fit the model on")
    problems = (
        (np.flatnonzero(x != np.round(x)), "frequency {x} is not a whole number of events"),
        (np.flatnonzero(t_x > big_t + 1e-9),
         "recency {t_x} is after T {T}: the last event must lie inside the observation period"),
        (np.flatnonzero((x == 0) & (t_x > 0)),
         "frequency 0 with recency {t_x}: a customer without repeat events has recency 0"),
    )
    for bad, text in problems:
        if bad.size:
            i = int(bad[0])
            detail = text.format(x=x[i], t_x=t_x[i], T=big_t[i])
            raise ModelFitError(f"{model}: customer {i}: {detail}")

def distinct_patterns(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the given equal-length columns and how many customers share each.

    Examples
    --------
    >>> import numpy as np
    >>> rows, counts = distinct_patterns(np.array([0.0, 0.0]), np.array([1.5, 1.5]))
    >>> [r.tolist() for r in rows], counts.tolist()
    ([[0.0], [1.5]], [2])
    """
    frame = pd.DataFrame({f"c{i}": np.asarray(c, dtype=float) for i, c in enumerate(columns)})
    grouped = frame.groupby(list(frame.columns), sort=True).size()
    keys = grouped.index.to_frame(index=False)
    return [keys[f"c{i}"].to_numpy(dtype=float) for i in range(len(columns))], grouped.to_numpy()
