"""How sure we are, in plain words: the structure verdict, stability and confidence.

Each sentence carries the number it rests on, so a reader can check the word against it.

Examples
--------
>>> stability_word(0.93), stability_word(0.71)
('very stable', 'fairly stable')
>>> structure_verdict({"has_structure": False, "silhouette": 0.21, "gain": 0.02,
...                    "min_gain": 0.1})[:58]
'The customers do not fall into clearly separate groups: th'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "confidence_sentence",
    "stability_sentence",
    "stability_word",
    "structure_verdict",
]

_STABILITY_WORDS = ((0.9, "very stable"), (0.8, "stable"), (0.6, "fairly stable"),
                    (0.0, "unstable"))


def stability_word(value: float) -> str:
    """A word for an agreement between refits (adjusted Rand index or Jaccard, 0-1).

    >>> stability_word(0.3)
    'unstable'
    """
    for threshold, word in _STABILITY_WORDS:
        if value >= threshold:
            return word
    return "unstable"


def structure_verdict(structure: Mapping[str, Any]) -> str:
    """The cluster-structure test's verdict for a marketer."""
    silhouette = float(structure.get("silhouette", float("nan")))
    gain = float(structure.get("gain", float("nan")))
    if structure.get("has_structure"):
        return (
            "The customers fall into natural groups: they are clearly more separated than "
            f"the same customers with their groups dissolved (silhouette {silhouette:.2f}, "
            f"{gain:+.2f} above that reference), so the segments are groups found in the data."
        )
    return (
        "The customers do not fall into clearly separate groups: their separation "
        f"(silhouette {silhouette:.2f}) is barely above that of the same customers with any "
        f"groups dissolved ({gain:+.2f}), so the segments are a practical split of a "
        "continuum, chosen because each is stable and distinct enough to act on."
    )


def stability_sentence(selection: Mapping[str, Any], names: Mapping[int, str]) -> str:
    """How reproducible the segmentation is under refits, with its weakest segment."""
    stability = selection.get("stability") or {}
    mean_ari = float(stability.get("mean_ari", float("nan")))
    refits = len(stability.get("ari_per_resample") or [])
    per_segment = {int(k): float(v) for k, v in (stability.get("per_segment") or {}).items()}
    text = (
        f"The segmentation is {stability_word(mean_ari)}: refitted {refits} times on "
        f"{_fraction(stability)} of the customers, it puts the same customers together with "
        f"an agreement of {mean_ari:.2f} (adjusted Rand index, 1 = identical)."
    )
    if per_segment:
        weakest = min(per_segment, key=lambda s: (per_segment[s], s))
        text += (
            f" The least stable segment, {names.get(weakest, f'Segment {weakest}')}, keeps "
            f"{per_segment[weakest]:.0%} of its members together across refits "
            f"({stability_word(per_segment[weakest])})."
        )
    return text


def confidence_sentence(segments: pd.DataFrame) -> str:
    """How sure each customer's placement is, over all customers.

    ``segments`` has ``size``, ``mean_confidence`` and ``confident_share`` per segment.

    >>> text = confidence_sentence(pd.DataFrame({"size": [30, 10], "mean_confidence": [0.9, 0.7],
    ...                                          "confident_share": [0.8, 0.4]}))
    >>> text[text.index("The mean"):]
    'The mean confidence is 0.85, and 70% of customers are placed with a confidence of 0.8 or more.'

    """
    sizes = segments["size"].to_numpy(dtype=float)
    known = ~np.isnan(segments["mean_confidence"].to_numpy(dtype=float))
    if not known.any() or sizes[known].sum() == 0:
        return "No confidence was recorded for this run's customers."
    weights = sizes[known] / sizes[known].sum()
    mean = float(np.dot(weights, segments["mean_confidence"].to_numpy(dtype=float)[known]))
    confident = float(np.dot(weights, segments["confident_share"].to_numpy(dtype=float)[known]))
    return (
        "A customer's confidence is the probability that they belong to the segment they "
        f"were placed in (of customers given 0.8, about eight in ten belong there). The mean "
        f"confidence is {mean:.2f}, and {confident:.0%} of customers are placed with a "
        "confidence of 0.8 or more."
    )


def _fraction(stability: Mapping[str, Any]) -> str:
    rows, size = stability.get("n_rows"), stability.get("resample_size")
    if rows and size:
        return f"{float(size) / float(rows):.0%}"
    return "part"
