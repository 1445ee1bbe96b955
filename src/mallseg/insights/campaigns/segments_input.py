"""The segments a campaign analysis is broken down by: a frame ``customer_id -> segment``.

A segmentation run's assignments arrive as a frame (``customer_id``, ``segment`` or the
workspace's ``segment_name``) or as a series indexed by customer id. They are checked once
here and brought to two string columns, so that the SQL downstream joins them as they are.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"customer_id": ["c1", "c2"], "segment": [0, 1]})
>>> segment_frame(frame).to_dict("list")
{'customer_id': ['c1', 'c2'], 'segment': ['0', '1']}
>>> segment_frame(None) is None
True
"""

from __future__ import annotations

import pandas as pd

__all__ = ["ALL_CUSTOMERS", "UNASSIGNED", "segment_frame"]

ALL_CUSTOMERS = "all customers"
"""The one segment used when no assignments are given."""

UNASSIGNED = "unassigned"
"""Segment of exposed customers the assignments do not cover."""


def segment_frame(
    assignments: pd.DataFrame | pd.Series | None,
    *,
    customer_col: str = "customer_id",
    segment_col: str = "segment",
) -> pd.DataFrame | None:
    """Check ``assignments`` and return it as ``customer_id``, ``segment`` string columns.

    Parameters
    ----------
    assignments:
        A frame with ``customer_col`` and ``segment_col`` (when ``segment_col`` is absent
        but ``segment_name`` is present, that is used: the workspace's assignments table),
        or a series of segments indexed by customer id, or ``None`` (no breakdown).
    customer_col, segment_col:
        Column names in the frame.

    Returns
    -------
    pandas.DataFrame or None
        One row per customer; ``None`` when ``assignments`` is ``None``.

    Raises
    ------
    ValueError
        When a column is missing, a customer id is missing or repeated, or a segment is
        missing.

    Examples
    --------
    >>> import pandas as pd
    >>> series = pd.Series(["a", "b"], index=pd.Index(["c1", "c2"], name="customer_id"))
    >>> segment_frame(series)["segment"].tolist()
    ['a', 'b']
    >>> segment_frame(pd.DataFrame({"customer_id": ["c1", "c1"], "segment": ["a", "b"]}))
    Traceback (most recent call last):
    ...
    ValueError: assignments: customer_id 'c1' appears 2 times; expected one segment per customer
    """
    if assignments is None:
        return None
    if isinstance(assignments, pd.Series):
        frame = pd.DataFrame({
            customer_col: assignments.index.to_numpy(),
            segment_col: assignments.to_numpy(),
        })
    elif isinstance(assignments, pd.DataFrame):
        frame = assignments
        if segment_col not in frame.columns and "segment_name" in frame.columns:
            segment_col = "segment_name"
    else:
        raise ValueError(
            f"assignments of type {type(assignments).__name__} must be a pandas DataFrame "
            "with customer_id and segment columns, a Series of segments indexed by "
            "customer_id, or None"
        )
    for column in (customer_col, segment_col):
        if column not in frame.columns:
            raise ValueError(
                f"assignments: required column {column} missing (columns: "
                f"{', '.join(map(str, frame.columns))})"
            )
    ids = frame[customer_col]
    if ids.isna().any():
        row = int(ids.isna().to_numpy().argmax())
        raise ValueError(f"assignments: row {row} has no {customer_col}; every row needs one")
    segments = frame[segment_col]
    if segments.isna().any():
        row = int(segments.isna().to_numpy().argmax())
        raise ValueError(
            f"assignments: row {row} ({customer_col} {ids.iloc[row]!r}) has no {segment_col}; "
            "drop unassigned customers or give them a segment"
        )
    out = pd.DataFrame({
        "customer_id": ids.astype(str).to_numpy(),
        "segment": segments.astype(str).to_numpy(),
    })
    counts = out["customer_id"].value_counts()
    if (counts > 1).any():
        repeated = counts[counts > 1]
        raise ValueError(
            f"assignments: {customer_col} {repeated.index[0]!r} appears {int(repeated.iloc[0])} "
            "times; expected one segment per customer"
        )
    return out
