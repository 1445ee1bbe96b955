"""Segments on Spark: MLlib k-means on the preprocessed customers, every customer assigned.

MLlib's own seeding (``k-means||``, one start per fit) lands in a different local optimum
from one seed to the next on customer data: on a simulated mall, five seeds gave five
within-segment costs up to 14% apart. So the starting centres come from the sample of
customers already in memory, where the project's k-means (scikit-learn, k-means++, several
restarts: :func:`~mallseg.segment.algorithms.make_clusterer`) finds a good optimum cheaply
(:func:`sample_centers`), and MLlib's k-means refines them with Lloyd iterations over every
customer (``pyspark.mllib.clustering.KMeans`` with an initial model). Without a sample
(or on Spark Connect, which has no RDDs), MLlib's ``k-means||`` runs ``n_init`` times and
the lowest cost wins.

Assignment is the nearest centre (ties: the lower segment), computed as Spark columns; what
comes back to Python is the centres, the size and the cost of each segment. Segments are
renumbered by size, largest first (ties: the centre that sorts first).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from mallseg.distributed.session import local_spark_session
>>> from pyspark.ml.functions import array_to_vector
>>> from pyspark.sql import functions as sf
>>> spark = local_spark_session()
>>> points = pd.DataFrame({"customer_id": [f"c{i}" for i in range(6)],
...                        "x": [0.0, 0.1, 0.2, 5.0, 5.1, 9.0]})
>>> vectors = spark.createDataFrame(points).select(
...     "customer_id", array_to_vector(sf.array("x")).alias("features"))
>>> fit = fit_spark_kmeans(vectors, 2, initial_centers=np.array([[1.0], [8.0]]))
>>> fit.sizes, [round(c[0], 2) for c in fit.centers]
((3, 3), [0.1, 6.37])
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import reduce
from operator import add
from typing import Any

import numpy as np
from pyspark.ml.clustering import KMeans
from pyspark.ml.functions import vector_to_array
from pyspark.mllib.clustering import KMeans as RDDKMeans
from pyspark.mllib.clustering import KMeansModel as RDDKMeansModel
from pyspark.mllib.linalg import Vectors as RDDVectors
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as sf

from mallseg.segment.algorithms import make_clusterer

__all__ = ["SparkKMeansFit", "fit_spark_kmeans", "nearest_center_column", "sample_centers"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SparkKMeansFit:
    """A fitted k-means on Spark, segments numbered by size.

    Attributes
    ----------
    centers:
        One centre per segment, in the preprocessed space (segment ``i`` is ``centers[i]``).
    sizes:
        Customers per segment.
    cost:
        Within-segment sum of squared distances over every customer.
    seeding:
        ``"sample"`` (refined from the sample's centres) or ``"k-means||"``.
    assignments:
        ``customer_id`` and ``segment`` of every customer, a Spark DataFrame (lazy).
    """

    centers: tuple[tuple[float, ...], ...]
    sizes: tuple[int, ...]
    cost: float
    seeding: str
    assignments: DataFrame = field(repr=False, compare=False)

    @property
    def k(self) -> int:
        """Number of segments."""
        return len(self.centers)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (without the assignments, which stay in Spark)."""
        return {"k": self.k, "centers": [list(c) for c in self.centers],
                "sizes": list(self.sizes), "cost": self.cost, "seeding": self.seeding}


def sample_centers(points: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """Starting centres: the project's k-means (k-means++, restarts) on a sample's points.

    Examples
    --------
    >>> import numpy as np
    >>> points = np.array([[0.0], [0.2], [5.0], [5.2]])
    >>> sorted(sample_centers(points, 2).ravel().round(2).tolist())
    [0.1, 5.1]
    """
    model = make_clusterer("kmeans", k, seed, len(points), n_features=points.shape[1])
    return np.asarray(model.fit(points).cluster_centers_, dtype=np.float64)


def nearest_center_column(vector: Column, centers: np.ndarray) -> Column:
    """A struct column ``(distance, segment)``: squared distance to the nearest centre.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from mallseg.distributed.session import local_spark_session
    >>> from pyspark.ml.functions import array_to_vector
    >>> from pyspark.sql import functions as sf
    >>> rows = local_spark_session().createDataFrame(pd.DataFrame({"x": [0.0, 4.0]}))
    >>> nearest = nearest_center_column(array_to_vector(sf.array("x")), np.array([[1.0], [5.0]]))
    >>> [tuple(r[0]) for r in rows.select(nearest).collect()]
    [(1.0, 0), (1.0, 1)]
    """
    values = vector_to_array(vector)
    candidates = []
    for segment, center in enumerate(np.asarray(centers, dtype=np.float64)):
        terms = [(values[i] - sf.lit(float(c))) ** 2 for i, c in enumerate(center)]
        distance = reduce(add, terms)
        candidates.append(sf.struct(distance.alias("distance"), sf.lit(segment).alias("segment")))
    # structs compare field by field: the smallest distance, then the lower segment
    return sf.array_min(sf.array(*candidates))


def fit_spark_kmeans(
    vectors: DataFrame,
    k: int,
    *,
    initial_centers: np.ndarray | None = None,
    seed: int = 0,
    n_init: int = 3,
    max_iter: int = 100,
    tol: float = 1e-6,
    id_column: str = "customer_id",
    features_column: str = "features",
) -> SparkKMeansFit:
    """Fit k-means with ``k`` segments on the vectors of every customer.

    Parameters
    ----------
    vectors:
        ``id_column`` and a vector column ``features_column`` (see
        :meth:`~mallseg.distributed.preprocess.SparkPreprocessing.vectors`); persist it
        first, since every iteration reads it.
    k:
        Number of segments (at least 2).
    initial_centers:
        ``k`` starting centres (:func:`sample_centers`), refined by MLlib's Lloyd
        iterations; ``None``: ``n_init`` starts of MLlib's ``k-means||``.
    seed, n_init:
        Seed of MLlib's seeding, and its number of starts without initial centres.
    max_iter, tol:
        Lloyd iterations at most, and the centre movement under which they stop.
    id_column, features_column:
        Columns of ``vectors`` holding the customer id and the vector.

    Raises
    ------
    ValueError
        When ``k < 2``, ``n_init < 1``, ``initial_centers`` are not ``k`` rows, or the
        customers take fewer than ``k`` distinct positions.
    """
    if k < 2:
        raise ValueError(f"k={k} must be at least 2")
    if n_init < 1:
        raise ValueError(f"n_init={n_init} must be at least 1")
    if initial_centers is not None and len(initial_centers) != k:
        raise ValueError(f"initial_centers has {len(initial_centers)} rows for k={k}")
    if initial_centers is not None and _has_rdds(vectors):
        centers, seeding = _refine(vectors, initial_centers, max_iter, tol,
                                   features_column), "sample"
    else:
        centers, seeding = _best_of_starts(vectors, k, seed, n_init, max_iter, tol,
                                           features_column), "k-means||"
    if len({tuple(c) for c in centers.tolist()}) < k:
        raise ValueError(
            f"k-means found fewer than {k} distinct centres: the customers take fewer "
            "distinct positions than that; ask for fewer segments"
        )
    nearest = nearest_center_column(sf.col(features_column), centers)
    labelled = vectors.select(sf.col(id_column), nearest.alias("nearest"))
    totals = {int(row["segment"]): (int(row["size"]), float(row["cost"])) for row in
              labelled.groupBy(sf.col("nearest.segment").alias("segment"))
              .agg(sf.count(sf.lit(1)).alias("size"), sf.sum("nearest.distance").alias("cost"))
              .collect()}
    order = sorted(range(k), key=lambda c: (-totals.get(c, (0, 0.0))[0], centers[c].tolist()))
    renumber = sf.create_map(*[sf.lit(x) for new, old in enumerate(order) for x in (old, new)])
    assignments = labelled.select(sf.col(id_column),
                                  renumber[sf.col("nearest.segment")].alias("segment"))
    cost = sum(c for _, c in totals.values())
    logger.info("k-means on Spark (%s seeding): k=%d, cost %.6g", seeding, k, cost)
    return SparkKMeansFit(
        centers=tuple(tuple(float(x) for x in centers[c]) for c in order),
        sizes=tuple(totals.get(c, (0, 0.0))[0] for c in order),
        cost=cost,
        seeding=seeding,
        assignments=assignments,
    )


def _has_rdds(frame: DataFrame) -> bool:
    """Whether ``frame`` belongs to a classic session (Spark Connect has no RDDs)."""
    return not type(frame).__module__.startswith("pyspark.sql.connect")


def _refine(
    vectors: DataFrame, centers: np.ndarray, max_iter: int, tol: float, features_column: str
) -> np.ndarray:
    data = vectors.select(features_column).rdd.map(lambda row: RDDVectors.fromML(row[0]))
    start = RDDKMeansModel([np.asarray(c, dtype=np.float64) for c in centers])
    model = RDDKMeans.train(data, len(centers), maxIterations=max_iter, epsilon=tol,
                            initialModel=start)
    return np.asarray([np.asarray(c, dtype=np.float64) for c in model.clusterCenters])


def _best_of_starts(
    vectors: DataFrame, k: int, seed: int, n_init: int, max_iter: int, tol: float,
    features_column: str,
) -> np.ndarray:
    best: tuple[float, np.ndarray] | None = None
    for start in range(seed, seed + n_init):
        model = KMeans(k=k, seed=start, maxIter=max_iter, tol=tol,
                       featuresCol=features_column).fit(vectors)
        cost = float(model.summary.trainingCost)
        logger.info("k-means|| start with seed %d: cost %.6g", start, cost)
        if best is None or cost < best[0]:
            best = (cost, np.asarray(model.clusterCenters(), dtype=np.float64))
    assert best is not None
    if len(best[1]) < k:
        raise ValueError(
            f"k-means found only {len(best[1])} distinct centres for k={k}: ask for fewer "
            "segments"
        )
    return best[1]
