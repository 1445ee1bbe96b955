"""Per-segment tables from Spark: a sample of customers comes back, never all of them.

Profiling and naming (:func:`mallseg.segment.personas.profile_segments`,
:func:`mallseg.segment.naming.name_segments`) are the project's own, run on a sample of
customers drawn in Spark: the ``n`` customers with the smallest 64-bit hash of their id
and the seed, the same customers on every engine and every run. With at most ``n``
customers, the sample is everyone and the profiles are exact. Otherwise the sizes and
shares in the profiles are replaced by the exact counts of every customer, so that a
segment's description states its true size, and each profile row says how many customers
its figures are based on (``profiled_customers``).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from mallseg.segment.personas import profile_segments
>>> sample = pd.DataFrame({"age": [20, 22, 60, 64]})
>>> profiles = profile_segments(sample, np.array([0, 0, 1, 1]))
>>> exact = with_exact_sizes(profiles, {0: 300, 1: 100})
>>> exact.summary[["segment", "size", "profiled_customers"]].values.tolist()
[[0, 300, 2], [1, 100, 2]]
>>> exact.summary["share"].tolist(), exact.n_customers
([0.75, 0.25], 400)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from mallseg.segment.personas import SegmentProfiles

__all__ = ["sample_customers", "with_exact_sizes"]


def sample_customers(
    frame: DataFrame, size: int, *, seed: int = 0, id_column: str = "customer_id"
) -> DataFrame:
    """The ``size`` customers of ``frame`` with the smallest hash of (id, seed), in Spark.

    Each partition keeps its ``size`` best rows, so the sample costs one pass and never
    a full sort.

    Examples
    --------
    >>> import pandas as pd
    >>> from mallseg.distributed.session import local_spark_session
    >>> people = local_spark_session().createDataFrame(
    ...     pd.DataFrame({"customer_id": [f"c{i}" for i in range(100)]}))
    >>> sample_customers(people, 10).count()
    10
    """
    if size < 1:
        raise ValueError(f"size={size} must be at least 1")
    order = sf.xxhash64(sf.col(id_column), sf.lit(seed))
    return frame.orderBy(order, sf.col(id_column)).limit(size)


def with_exact_sizes(profiles: SegmentProfiles, sizes: Mapping[int, int]) -> SegmentProfiles:
    """``profiles`` (of a sample) with every segment's size and share over all customers.

    Parameters
    ----------
    profiles:
        Profiles computed on a sample.
    sizes:
        Segment -> customers in it, counted over every customer.
    """
    summary = profiles.summary.copy()
    total = sum(sizes.values())
    summary["profiled_customers"] = summary["size"].astype("int64")
    summary["size"] = [int(sizes.get(int(s), 0)) for s in summary["segment"]]
    summary["share"] = [size / total if total else 0.0 for size in summary["size"]]
    return dataclasses.replace(profiles, summary=pd.DataFrame(summary), n_customers=total)
