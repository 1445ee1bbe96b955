"""Whether the data has natural cluster structure at all.

Silhouette-first selection favours two groups on data that is a continuum: any cloud of
points splits in two with a positive silhouette. So before choosing, the selection asks
whether the customers form clusters beyond what their features' own distributions and
correlations produce.

The reference: the same customers with their clusters dissolved, keeping every feature's
distribution exactly (its sorted values) and the features' rank correlations (a Gaussian
copula fitted to the normal scores of the ranks). A skewed feature, a point mass such as
"bought once" and two correlated features all survive in the reference; groups of
customers that sit apart in several features at once do not.

The test: k-means for every k in ``ks`` on a fixed sample of the data and on
``n_references`` references; the statistic is the best silhouette over k. The data has
natural structure when its best silhouette exceeds the references' mean best silhouette by
at least ``min_gain`` (an effect size, 0.10 by default: on thousands of customers even a
trivial gain is "significant") and by at least three reference standard deviations; or when
the silhouette itself shows strong structure (at least ``strong_silhouette``, 0.70, the
threshold of "a strong structure" in Kaufman and Rousseeuw's reading of the silhouette):
groups that stand apart in a single feature survive in the references, since each
feature's distribution is kept, and only the second rule sees them.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> blobs = np.vstack([rng.normal(c, 0.4, size=(200, 2)) for c in ([0, 0], [4, 0], [0, 4])])
>>> detect_cluster_structure(blobs, random_state=0).has_structure
True
>>> cloud = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], size=600)
>>> detect_cluster_structure(cloud, random_state=0).has_structure
False
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import norm, rankdata
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

__all__ = ["StructureTest", "copula_reference", "detect_cluster_structure"]

DEFAULT_MIN_GAIN = 0.10
"""Silhouette gain over the references that counts as natural structure."""


@dataclass(frozen=True)
class StructureTest:
    """Outcome of :func:`detect_cluster_structure`.

    Attributes
    ----------
    has_structure:
        True when the data clusters clearly more than its references.
    silhouette:
        Best silhouette of k-means on the data over the k tried.
    best_k:
        The k that gave it.
    reference_silhouette, reference_sd:
        Mean and standard deviation of the references' best silhouettes.
    gain:
        ``silhouette - reference_silhouette``.
    min_gain:
        Gain required.
    rows, references:
        Sample size and number of references used.

    Examples
    --------
    >>> StructureTest(False, 0.31, 2, 0.30, 0.004, 0.01, 0.1, 2000, 5).sentence()[:40]
    'No natural cluster structure: the best s'
    """

    has_structure: bool
    silhouette: float
    best_k: int
    reference_silhouette: float
    reference_sd: float
    gain: float
    min_gain: float
    rows: int
    references: int
    strong_silhouette: float = 0.70

    def sentence(self) -> str:
        """The verdict in one plain sentence with its numbers."""
        numbers = (
            f"the best silhouette ({self.silhouette:.2f}, k={self.best_k}) is "
            f"{self.gain:+.2f} against {self.references} copies of the same customers with "
            f"their clusters dissolved (each feature's distribution and the correlations kept; "
            f"{self.reference_silhouette:.2f} ± {self.reference_sd:.2f}), "
        )
        if self.has_structure and self.gain < self.min_gain:
            return (f"Natural cluster structure: the best silhouette ({self.silhouette:.2f}, "
                    f"k={self.best_k}) shows strong structure (at least "
                    f"{self.strong_silhouette:.2f}).")
        if self.has_structure:
            return (f"Natural cluster structure: {numbers}at least the {self.min_gain:.2f} "
                    "that counts as real groups.")
        return (f"No natural cluster structure: {numbers}under the {self.min_gain:.2f} that "
                "would count as real groups; the customers form a continuum, so segments "
                "are a partition chosen for action, not groups found in the data.")

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready form.

        >>> StructureTest(True, 0.5, 3, 0.3, 0.01, 0.2, 0.1, 900, 5).to_dict()["best_k"]
        3
        """
        return {**asdict(self), "sentence": self.sentence()}


def copula_reference(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The rows of ``points`` with clusters dissolved: same marginals, same rank correlations.

    Each column's sorted values are reassigned by the ranks of a Gaussian sample whose
    correlation is that of the columns' normal scores.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.column_stack([np.arange(10.0), np.arange(10.0) ** 2])
    >>> R = copula_reference(X, np.random.default_rng(0))
    >>> bool((np.sort(R, axis=0) == np.sort(X, axis=0)).all())
    True
    """
    n, d = points.shape
    scores = norm.ppf(rankdata(points, axis=0, method="average") / (n + 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.corrcoef(scores, rowvar=False) if d > 1 else np.ones((1, 1))
    correlation = np.nan_to_num(np.atleast_2d(correlation))
    np.fill_diagonal(correlation, 1.0)
    values, vectors = np.linalg.eigh(correlation)
    factor = vectors * np.sqrt(np.clip(values, 1e-9, None))
    gaussian = rng.standard_normal((n, d)) @ factor.T
    ordered = np.sort(points, axis=0)
    ranks = np.argsort(np.argsort(gaussian, axis=0, kind="stable"), axis=0, kind="stable")
    return np.take_along_axis(ordered, ranks, axis=0)


def detect_cluster_structure(
    points: np.ndarray,
    *,
    ks: Sequence[int] = range(2, 9),
    n_references: int = 5,
    sample_size: int = 2_000,
    min_gain: float = DEFAULT_MIN_GAIN,
    strong_silhouette: float = 0.70,
    random_state: int = 0,
) -> StructureTest:
    """Test whether ``points`` (the preprocessed customers) have natural cluster structure.

    Parameters
    ----------
    points:
        One row per customer in the space segments live in.
    ks:
        Numbers of clusters tried on the data and on each reference.
    n_references:
        References (copula copies) compared against.
    sample_size:
        Rows used (a fixed uniform sample when there are more).
    min_gain:
        Silhouette gain over the references that counts as structure.
    strong_silhouette:
        Silhouette that counts as structure whatever the references give.
    random_state:
        Seed of the sample, the references and the fits.

    Examples
    --------
    >>> import numpy as np
    >>> result = detect_cluster_structure(np.random.default_rng(1).normal(size=(300, 3)))
    >>> result.has_structure, result.rows
    (False, 300)
    """
    rng = np.random.default_rng(random_state)
    data = np.asarray(points, dtype=np.float64)
    if len(data) > sample_size:
        data = data[np.sort(rng.choice(len(data), size=sample_size, replace=False))]
    varying = data.std(axis=0) > 1e-12
    data = data[:, varying] if varying.any() else data[:, :1]
    usable = [int(k) for k in ks if 2 <= int(k) < len(data)]
    if not usable or len(np.unique(data, axis=0)) < 3:
        return StructureTest(False, float("nan"), 0, float("nan"), float("nan"), float("nan"),
                             min_gain, len(data), 0, strong_silhouette)
    silhouette, best_k = _best_silhouette(data, usable, random_state)
    references = np.array([
        _best_silhouette(copula_reference(data, rng), usable, random_state)[0]
        for _ in range(n_references)
    ])
    mean, sd = float(references.mean()), float(references.std(ddof=1)) if n_references > 1 else 0.0
    gain = silhouette - mean
    structured = bool((gain >= min_gain and gain >= 3.0 * sd)
                      or silhouette >= strong_silhouette)
    return StructureTest(structured, silhouette, best_k, mean, sd, gain, min_gain, len(data),
                         n_references, strong_silhouette)


def _best_silhouette(data: np.ndarray, ks: Sequence[int], random_state: int) -> tuple[float, int]:
    best, best_k = -1.0, ks[0]
    for k in ks:
        labels = KMeans(n_clusters=k, n_init=3, random_state=random_state).fit_predict(data)
        if len(np.unique(labels)) < 2:
            continue
        score = float(silhouette_score(data, labels))
        if score > best:
            best, best_k = score, k
    return best, best_k
