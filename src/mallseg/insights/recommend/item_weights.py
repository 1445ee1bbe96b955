"""Item-to-item weights learned from who used what: EASE and co-occurrence, from one Gram matrix.

Both methods start from the item x item Gram matrix ``G = X^T X`` of the binary customer x
item matrix ``X`` (``G[i, j]`` = customers who used both i and j; ``G[i, i]`` = customers
of i), computed in the database, and score a customer's unused items as ``x_u W``.

EASE
    Steck (2019), "Embarrassingly Shallow Autoencoders for Sparse Data": the item-item
    ridge regression of each item on all the others, with a zero diagonal, in closed form:
    ``P = (G + lambda I)^-1``, ``W = I - P diag(1 / diag(P))`` (then ``W_ii = 0``). The
    closed form costs one inversion of an items x items matrix: a few hundred stores take
    milliseconds.
Co-occurrence
    Cosine similarity of item columns, ``G[i, j] / sqrt(G[i, i] G[j, j])``, zero diagonal:
    "customers who use i also use j", normalised for popularity.

Examples
--------
>>> import numpy as np
>>> gram = np.array([[4.0, 3.0, 0.0], [3.0, 5.0, 1.0], [0.0, 1.0, 2.0]])
>>> w = cooccurrence_weights(gram)
>>> round(float(w[0, 1]), 4), float(w[0, 0])
(0.6708, 0.0)
>>> b = ease_weights(gram, l2=1.0)
>>> float(b[1, 1]), bool(b[0, 1] > 0)
(0.0, True)
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

__all__ = ["cooccurrence_weights", "ease_weights", "score_histories"]


def ease_weights(gram: np.ndarray, l2: float) -> np.ndarray:
    """EASE item-item weights from the Gram matrix (``l2`` > 0 is the ridge penalty).

    Raises
    ------
    ValueError
        When ``gram`` is not square or ``l2`` is not positive.
    """
    if gram.ndim != 2 or gram.shape[0] != gram.shape[1]:
        raise ValueError(f"gram of shape {gram.shape} must be square")
    if not l2 > 0:
        raise ValueError(f"l2={l2} must be > 0")
    regularised = gram.astype(np.float64) + l2 * np.eye(gram.shape[0])
    # G + lambda I is symmetric positive definite: invert through its Cholesky factor.
    # One BLAS thread: the database's threads share the cores, and a BLAS pool waking up
    # between queries costs more than it gains here.
    with threadpool_limits(limits=1, user_api="blas"):
        factor, info = lapack.dpotrf(regularised, lower=False, clean=False)
        if info == 0:
            upper, info = lapack.dpotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise ValueError(f"gram + l2 * I is not positive definite (LAPACK info {info}); "
                         "raise l2")
    precision = np.triu(upper) + np.triu(upper, 1).T
    weights = -precision / np.diag(precision)[None, :]
    np.fill_diagonal(weights, 0.0)
    return weights


def cooccurrence_weights(gram: np.ndarray) -> np.ndarray:
    """Cosine similarity of items from the Gram matrix, with a zero diagonal."""
    diag = np.sqrt(np.clip(np.diag(gram).astype(np.float64), 0.0, None))
    norm = np.outer(diag, diag)
    weights = np.divide(gram.astype(np.float64), norm, out=np.zeros(gram.shape),
                        where=norm > 0)
    np.fill_diagonal(weights, 0.0)
    return weights


def score_histories(history: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Scores of every item for each customer: ``history @ weights``.

    Parameters
    ----------
    history:
        (customers, items) 0/1 matrix (dense or ``scipy.sparse``).
    weights:
        (items, items) item-item weights.

    Examples
    --------
    >>> import numpy as np
    >>> score_histories(np.array([[1, 0], [1, 1]]), np.array([[0.0, 2.0], [1.0, 0.0]]))
    array([[0., 2.],
           [1., 2.]])
    """
    return np.asarray(history @ weights, dtype=np.float64)
