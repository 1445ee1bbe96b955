"""Choose the algorithm and number of segments, with the reasons written down.

:func:`select_segmentation` runs the steps; each lives in a module of its own:
:mod:`~.informative` (features that tell customers apart), :mod:`~.structure` (is there
natural cluster structure at all), :mod:`~.search` (fit every candidate and its
stability), :mod:`~.scores` (silhouette, CH, DB, BIC, sizes, distinctness), :mod:`~.rule`
(the ranking, a pure function of the scores), :mod:`~.explanation` (the text) and
:mod:`~.result` (what comes back).
"""

from mallseg.segment.selection.result import (
    ChosenSegmentation,
    NoEligibleCandidateError,
    SelectionResult,
)
from mallseg.segment.selection.rule import SelectionRule
from mallseg.segment.selection.scores import sampled_silhouettes
from mallseg.segment.selection.select import MAX_AUTO_K, auto_k_values, select_segmentation
from mallseg.segment.selection.structure import StructureTest, detect_cluster_structure

__all__ = [
    "MAX_AUTO_K",
    "ChosenSegmentation",
    "NoEligibleCandidateError",
    "SelectionResult",
    "SelectionRule",
    "StructureTest",
    "auto_k_values",
    "detect_cluster_structure",
    "sampled_silhouettes",
    "select_segmentation",
]
