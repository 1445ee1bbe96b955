"""Bring a small Spark result back as pandas (per-customer samples, per-segment tables).

pyspark 4.0 converts through Arrow with a ``copy=False`` that pandas 3 deprecates; the
warning says nothing about the data, so it is silenced here, and only here.

Examples
--------
>>> from mallseg.distributed.session import local_spark_session
>>> query = local_spark_session().sql("SELECT 1 AS a, CAST(NULL AS INT) AS b")
>>> collect_pandas(query).dtypes.tolist()
[dtype('int32'), dtype('float64')]
"""

from __future__ import annotations

import warnings

import pandas as pd
from pyspark.sql import DataFrame

__all__ = ["collect_pandas"]


def collect_pandas(frame: DataFrame) -> pd.DataFrame:
    """``frame`` computed and returned as pandas; integer columns with NULLs as float64.

    Examples
    --------
    >>> from mallseg.distributed.session import local_spark_session
    >>> collect_pandas(local_spark_session().range(3)).shape
    (3, 1)
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The copy keyword is deprecated")
        return frame.toPandas()
