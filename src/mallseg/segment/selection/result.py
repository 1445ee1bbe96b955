"""What :func:`~mallseg.segment.selection.select_segmentation` returns, and its errors.

Examples
--------
>>> error = NoEligibleCandidateError("no candidate is eligible", suggested_min_share=0.004)
>>> error.suggested_min_share
0.004
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mallseg.segment.segmenter import Segmenter
from mallseg.segment.selection.structure import StructureTest
from mallseg.segment.stability import StabilityResult

__all__ = ["ChosenSegmentation", "NoEligibleCandidateError", "SelectionResult"]


class NoEligibleCandidateError(ValueError):
    """No candidate passes the rule; says why and, for the size rule, what would pass.

    Attributes
    ----------
    suggested_min_share:
        The smallest-segment share at which the best candidate would have been eligible
        (``None`` when the size rule was not what stopped it).
    """

    def __init__(self, message: str, *, suggested_min_share: float | None = None) -> None:
        super().__init__(message)
        self.suggested_min_share = suggested_min_share


@dataclass(frozen=True)
class ChosenSegmentation:
    """The winning candidate, refitted on every customer.

    Attributes
    ----------
    algorithm, k:
        Algorithm name and number of segments (HDBSCAN: the number it found).
    segmenter:
        The fitted :class:`~mallseg.segment.segmenter.Segmenter` (``labels_`` covers every
        customer).
    min_cluster_size:
        HDBSCAN's parameter, ``None`` for other algorithms.
    silhouette, stability:
        The winner's scores from the search.
    """

    algorithm: str
    k: int
    segmenter: Segmenter
    min_cluster_size: int | None
    silhouette: float
    stability: float

    @property
    def labels(self) -> np.ndarray:
        """Segment of every customer (``-1`` = unassigned)."""
        return np.asarray(self.segmenter.labels_)


@dataclass(frozen=True)
class SelectionResult:
    """Outcome of :func:`~mallseg.segment.selection.select_segmentation`.

    Attributes
    ----------
    chosen:
        The winner, refitted on all customers.
    candidates:
        One row per candidate with every score, ``distinctness`` (the weakest segment's
        largest standardised difference from everyone), ``eligible``, ``stable``, ``reason``
        (why it is ineligible or lost) and ``rank`` (1 = chosen), in search order.
    runners_up:
        The next best candidates (rows of ``candidates``).
    explanation:
        Why the winner won, naming its scores and the runners-up's.
    regime:
        ``"natural structure"`` (the silhouette-first rule), ``"marketing partition"`` (no
        natural structure: the finest stable, distinct partition in the marketing range)
        or ``"fixed k"`` (the caller chose k).
    structure:
        The cluster-structure test behind the regime.
    stability:
        The winner's full stability result (per-segment Jaccard included).
    sample_sizes:
        Rows used: ``customers``, ``search``, ``silhouette``, ``stability``, ``refit``.
    relaxed_stability:
        True when no candidate reached the stability required.
    refit_agreement:
        Adjusted Rand index between the refitted model's labels and the searched ones on the
        search sample (1.0 = the refit reproduced exactly what was scored).
    features:
        Features used, after dropping the uninformative ones.
    dropped_features:
        Features left out, each with the one-line reason.
    notes:
        Anything else worth knowing.
    """

    chosen: ChosenSegmentation
    candidates: pd.DataFrame
    runners_up: pd.DataFrame
    explanation: str
    regime: str
    structure: StructureTest
    stability: StabilityResult
    sample_sizes: dict[str, int]
    relaxed_stability: bool
    refit_agreement: float
    features: tuple[str, ...] = ()
    dropped_features: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = field(default=())

    def candidate_table(self) -> pd.DataFrame:
        """The candidates ranked, with the columns an analyst reads first.

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn.datasets import make_blobs
        >>> from mallseg.segment.selection import select_segmentation
        >>> points, _ = make_blobs(n_samples=150, centers=3, random_state=0)
        >>> frame = pd.DataFrame(points, columns=["annual_income", "spending_score"])
        >>> table = select_segmentation(frame, algorithms=("kmeans",), k_values=[2, 3],
        ...                             n_resamples=2).candidate_table()
        >>> table.columns.tolist()[:4]
        ['rank', 'algorithm', 'k', 'silhouette']
        """
        columns = ["rank", "algorithm", "k", "silhouette", "stability", "distinctness",
                   "smallest_segment_share", "calinski_harabasz", "davies_bouldin", "bic",
                   "eligible", "reason"]
        return self.candidates.sort_values("rank")[columns].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready summary (the fitted model excluded).

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn.datasets import make_blobs
        >>> from mallseg.segment.selection import select_segmentation
        >>> points, _ = make_blobs(n_samples=120, centers=2, random_state=0)
        >>> frame = pd.DataFrame(points, columns=["annual_income", "spending_score"])
        >>> result = select_segmentation(frame, algorithms=("kmeans",), k_values=[2, 3],
        ...                              n_resamples=2)
        >>> sorted(result.to_dict())[:3]
        ['algorithm', 'candidates', 'dropped_features']
        """
        table = self.candidates.drop(columns=["per_segment_stability"])
        records = [
            {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
             for k, v in row.items()}
            for row in table.astype(object).to_dict(orient="records")
        ]
        return {
            "algorithm": self.chosen.algorithm,
            "k": self.chosen.k,
            "min_cluster_size": self.chosen.min_cluster_size,
            "silhouette": self.chosen.silhouette,
            "regime": self.regime,
            "structure": self.structure.to_dict(),
            "stability": self.stability.to_dict(),
            "explanation": self.explanation,
            "candidates": records,
            "sample_sizes": dict(self.sample_sizes),
            "relaxed_stability": self.relaxed_stability,
            "refit_agreement": self.refit_agreement,
            "features": list(self.features),
            "dropped_features": dict(self.dropped_features),
            "notes": list(self.notes),
        }
