"""Segment a mall's customers on Spark: features, k-means, profiles and names.

:func:`segment_with_spark` is the Spark counterpart of ``mallseg segment``:

1. features from the canonical tables under ``inputs``, with the same definitions as on
   DuckDB (:mod:`mallseg.distributed.features`), kept in Spark;
2. a sample of customers (:func:`~mallseg.distributed.profiles.sample_customers`, at most
   ``sample_size``) comes back to Python: features that (nearly) every customer shares a
   value of are left out on it, as :func:`~mallseg.segment.selection.select_segmentation`
   does, and with ``k="auto"`` the number of segments is chosen on it by that same
   function (k-means; the rule is the one the DuckDB engine applies);
3. the preprocessing is fitted on every customer in Spark
   (:mod:`mallseg.distributed.preprocess`); k-means starts from the centres the project's
   k-means finds on the sample, and MLlib refines them over every customer
   (:mod:`mallseg.distributed.clustering`); every customer is assigned in Spark;
4. the sample's segments are profiled and named with the project's own functions, sizes
   and shares over every customer; a segment of fewer customers than the minimum group
   size (``group_size``) keeps its size and loses every figure of its members, and is named
   a small group, as on DuckDB (:mod:`mallseg.segment.small_groups`); with ``k="auto"``
   no candidate with such a segment is chosen.

Customers with values for fewer than ``min_coverage`` of the features used are set aside
as "Not enough data" (label ``-2``, :mod:`mallseg.segment.coverage`), as the DuckDB engine
sets them aside: no preprocessing or k-means is fitted on them, they are in no segment,
and their profile row and name say so. When fewer than two minimum segments' worth of
customers would remain, nobody is set aside.

What comes back is per segment (and the sample); the assignments of every customer stay a
Spark DataFrame (:attr:`SparkSegmentation.assignments`), to be written where the cluster
keeps its data (the job, :mod:`mallseg.distributed.job`, writes them as Parquet).

Examples
--------
>>> import tempfile, pandas as pd
>>> from mallseg.distributed.session import local_spark_session
>>> folder = tempfile.mkdtemp()
>>> pd.DataFrame({"customer_id": [f"c{i}" for i in range(40)],
...               "annual_income": [20.0 + i % 5 for i in range(20)] + [90.0] * 20,
...               "spending_score": [80.0 - i % 7 for i in range(20)] + [15.0] * 20},
...              ).to_parquet(f"{folder}/customers.parquet")
>>> result = segment_with_spark(folder, spark=local_spark_session(), k=2, n_init=1)
>>> result.lens, result.sizes
('classic', {0: 20, 1: 20})
>>> [name.name for name in result.names.values()]
['Low-income high spenders', 'Affluent careful spenders']
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql import types as st

from mallseg.app.segment import model_kinds
from mallseg.core.group_size import DEFAULT_RULE, GroupSizeRule
from mallseg.distributed.clustering import SparkKMeansFit, fit_spark_kmeans, sample_centers
from mallseg.distributed.collect import collect_pandas
from mallseg.distributed.features import SparkFeatureBuild, build_spark_features
from mallseg.distributed.preprocess import SparkPreprocessing, fit_spark_preprocessing
from mallseg.distributed.profiles import sample_customers, with_exact_sizes
from mallseg.distributed.session import local_spark_session
from mallseg.features.lenses import default_lens, resolve_lens
from mallseg.features.schema import FeatureSchema
from mallseg.segment.coverage import DEFAULT_MIN_COVERAGE, NOT_ENOUGH_DATA
from mallseg.segment.naming import SegmentName, name_segments
from mallseg.segment.personas import SegmentProfiles, profile_segments
from mallseg.segment.selection import SelectionResult, select_segmentation
from mallseg.segment.selection.informative import drop_uninformative
from mallseg.segment.small_groups import is_suppressed, suppress_small_segments

__all__ = ["SparkSegmentation", "segment_with_spark"]

logger = logging.getLogger(__name__)

DEFAULT_SAMPLE_SIZE = 50_000
"""Customers brought back for the feature check, the choice of k and the profiles."""

MIN_SEGMENT_SIZE = DEFAULT_RULE.k
"""Fewest customers in a segment by default (the default minimum group size)."""


@dataclass(frozen=True)
class SparkSegmentation:
    """A segmentation computed on Spark: per-segment results, assignments left in Spark.

    Attributes
    ----------
    k, lens, features, dropped_features:
        Segments, the lens asked for, the features used and those left out (with why).
    schema:
        The feature build's schema (reference time, parameters, kinds, meanings).
    preprocessing, kmeans:
        The fitted preprocessing and k-means (centres, sizes, cost), as plain numbers.
    n_customers, profiled_customers:
        Customers segmented (set-aside ones included); customers the profiles are
        computed on (all of them, up to the sample size).
    n_not_enough_data, min_coverage:
        Customers set aside as "Not enough data" (label -2), and the coverage rule applied
        (0 when nobody was set aside for want of enough customers with data).
    profiles, names:
        Per-segment profiles (sizes and shares over every customer) and names.
    selection:
        With ``k="auto"``, the choice of k made on the sample; else None.
    seconds:
        Wall time of each stage.
    """

    k: int
    lens: str | list[str]
    features: tuple[str, ...]
    dropped_features: dict[str, str]
    schema: FeatureSchema
    preprocessing: SparkPreprocessing
    kmeans: SparkKMeansFit
    n_customers: int
    profiled_customers: int
    n_not_enough_data: int
    min_coverage: float
    profiles: SegmentProfiles = field(repr=False)
    names: dict[int, SegmentName]
    selection: SelectionResult | None = field(default=None, repr=False)
    seconds: dict[str, float] = field(default_factory=dict)
    feature_frame: DataFrame | None = field(default=None, repr=False, compare=False)
    set_aside: DataFrame | None = field(default=None, repr=False, compare=False)
    """``customer_id`` and ``segment`` (-2) of the customers set aside, or None."""

    @property
    def assignments(self) -> DataFrame:
        """``customer_id`` and ``segment`` of every customer (a Spark DataFrame)."""
        if self.set_aside is None:
            return self.kmeans.assignments
        return self.kmeans.assignments.unionByName(self.set_aside)

    @property
    def sizes(self) -> dict[int, int]:
        """Segment -> customers, over every customer (-2: not enough data, when any)."""
        sizes = dict(enumerate(self.kmeans.sizes))
        if self.n_not_enough_data:
            sizes[NOT_ENOUGH_DATA] = self.n_not_enough_data
        return sizes

    def segment_table(self) -> pd.DataFrame:
        """One row per segment: its id, name, size, share, description and whether it is suppressed.

        A suppressed segment is too small to be described by its members (the minimum
        group size).
        """
        rows = [
            {"segment": s, "name": self.names[s].name, "size": size,
             "share": size / self.n_customers, "description": self.names[s].description,
             "suppressed": is_suppressed(self.profiles, s)}
            for s, size in self.sizes.items()
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form: everything but the Spark DataFrames."""
        return {
            "engine": "spark",
            "k": self.k,
            "lens": self.lens,
            "features": list(self.features),
            "dropped_features": dict(self.dropped_features),
            "reference": self.schema.sentence(),
            "feature_schema": self.schema.to_dict(),
            "customers": self.n_customers,
            "profiled_customers": self.profiled_customers,
            "not_enough_data": self.n_not_enough_data,
            "min_coverage": self.min_coverage,
            "segments": self.segment_table().to_dict(orient="records"),
            "names": {str(s): n.to_dict() for s, n in self.names.items()},
            "profiles": self.profiles.to_dict(),
            "preprocessing": self.preprocessing.to_dict(),
            "kmeans": self.kmeans.to_dict(),
            "selection": self.selection.to_dict() if self.selection is not None else None,
            "seconds": dict(self.seconds),
        }


def segment_with_spark(
    inputs: str | Path | SparkFeatureBuild,
    *,
    spark: SparkSession | None = None,
    k: int | Literal["auto"] = "auto",
    lens: str | Sequence[str] | None = None,
    as_of: datetime | date | None = None,
    seed: int = 0,
    n_init: int = 3,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    n_resamples: int = 10,
    naming_rules: dict[str, Any] | None = None,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
    group_size: GroupSizeRule = DEFAULT_RULE,
) -> SparkSegmentation:
    """Build features, segment with MLlib k-means, and profile and name the segments.

    Parameters
    ----------
    inputs:
        Folder of canonical tables (``<table>/`` of Parquet parts, or
        ``<table>.parquet``), any path Spark reads; or the features of an earlier
        :func:`~mallseg.distributed.features.build_spark_features` (then ``as_of`` must
        be None), to segment them through several lenses or numbers of segments.
    spark:
        The session to run on; default: :func:`~mallseg.distributed.session.
        local_spark_session` (``local[2]``).
    k:
        Number of segments, or ``"auto"`` to choose it on the sample by
        :func:`~mallseg.segment.selection.select_segmentation` (k-means candidates).
    lens:
        Lens name or feature list; ``None`` picks the richest lens the data supports.
    as_of:
        Reference time of the features (default: the latest event in the data).
    seed, n_init:
        Seed of the sample and of k-means; MLlib's own starts when there is no starting
        point from the sample (Spark Connect).
    sample_size:
        Customers brought back for the checks, the choice of k and the profiles.
    n_resamples:
        Refits per candidate for the stability score when ``k="auto"``.
    naming_rules:
        Overrides for :func:`mallseg.segment.naming.name_segments`.
    min_coverage:
        Share of the features a customer needs values for to be placed in a segment
        (the others are "Not enough data"); 0 places everyone.
    group_size:
        The minimum group size (a workspace's ``min_group_size``): fewest customers in a
        segment chosen with ``k="auto"``, and in a segment described by its members.

    Raises
    ------
    ValueError
        When the inputs cannot be used (the message names the table and column), the lens
        has no feature in this data, or ``k`` is not ``"auto"`` or an integer >= 2.
    """
    if k != "auto" and (isinstance(k, bool) or not isinstance(k, int) or k < 2):
        raise ValueError(f"k={k!r} is invalid: expected 'auto' or an integer >= 2")
    if sample_size < 10:
        raise ValueError(f"sample_size={sample_size} must be at least 10")
    if not 0.0 <= min_coverage <= 1.0:
        raise ValueError(f"min_coverage={min_coverage} must be between 0 and 1")
    session = spark if spark is not None else local_spark_session()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    if isinstance(inputs, SparkFeatureBuild):
        if as_of is not None:
            raise ValueError("as_of is part of the features given: build them again to "
                             "change it")
        build = inputs
    else:
        build = build_spark_features(session, inputs, as_of=as_of)
    frame, schema = build.frame, build.schema
    chosen_lens = (default_lens(frame.columns) if lens is None
                   else lens if isinstance(lens, str) else list(lens))
    wanted = resolve_lens(chosen_lens, frame.columns)
    sampled = sample_customers(frame, sample_size, seed=seed).persist(StorageLevel.MEMORY_AND_DISK)
    sample = collect_pandas(sampled).sort_values("customer_id", ignore_index=True)
    seconds["features"] = time.perf_counter() - started

    t0 = time.perf_counter()
    features, dropped = drop_uninformative(sample, wanted)
    kinds = model_kinds(schema, features)
    selection = None
    if k == "auto":
        selection = select_segmentation(
            sample, features, algorithms=("kmeans",), k_values="auto",
            n_resamples=n_resamples, feature_kinds=kinds, random_state=seed,
            min_coverage=min_coverage, min_segment_size=group_size.k,
        )
        n_segments = selection.chosen.k
        features, dropped = list(selection.features), dict(selection.dropped_features)
        kinds = model_kinds(schema, features)
    else:
        n_segments = int(k)
    seconds["selection"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    enough = _enough_data(frame, features, min_coverage)
    n_total = frame.count()
    n_set_aside = frame.filter(~enough).count() if min_coverage > 0 else 0
    if n_total - n_set_aside < 2 * group_size.k:
        # too few customers with data to segment them alone: nobody is set aside
        enough, n_set_aside, min_coverage = sf.lit(True), 0, 0.0
    placed = frame.filter(enough) if n_set_aside else frame
    preprocessing = fit_spark_preprocessing(placed, features, kinds)
    vectors = preprocessing.vectors(placed).persist(StorageLevel.MEMORY_AND_DISK)
    points = collect_pandas(preprocessing.output_frame(sampled.filter(enough))
                            )[preprocessing.output_names]
    kmeans = fit_spark_kmeans(
        vectors, n_segments, seed=seed, n_init=n_init,
        initial_centers=sample_centers(points.to_numpy(np.float64), n_segments, seed=seed),
    )
    n_customers = sum(kmeans.sizes) + n_set_aside
    set_aside = (frame.filter(~enough).select(
        "customer_id", sf.lit(NOT_ENOUGH_DATA).alias("segment")) if n_set_aside else None)
    seconds["kmeans"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sample_labels = collect_pandas(
        sampled.select("customer_id").join(kmeans.assignments, "customer_id")
    ).set_index("customer_id")["segment"]
    labels = (sample_labels.reindex(sample["customer_id"]).fillna(NOT_ENOUGH_DATA)
              .to_numpy(dtype=np.int64))
    sizes = dict(enumerate(kmeans.sizes))
    if n_set_aside:
        sizes[NOT_ENOUGH_DATA] = n_set_aside
    profiles = suppress_small_segments(with_exact_sizes(
        profile_segments(sample, labels, [c for c in sample.columns if c != "customer_id"],
                         kinds=schema.kinds, model_features=features),
        sizes,
    ), group_size)
    names = name_segments(profiles, rules=naming_rules, labels=schema.labels,
                          vocabulary=schema.vocabulary)
    sampled.unpersist()
    seconds["profiles"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - started
    logger.info("segmented %d customers into %d segments on Spark in %.1f s", n_customers,
                n_segments, seconds["total"])
    return SparkSegmentation(
        k=n_segments, lens=chosen_lens, features=tuple(features), dropped_features=dropped,
        schema=schema, preprocessing=preprocessing, kmeans=kmeans, n_customers=n_customers,
        profiled_customers=len(sample), n_not_enough_data=n_set_aside,
        min_coverage=min_coverage, profiles=profiles, names=names, selection=selection,
        seconds=seconds, feature_frame=frame, set_aside=set_aside,
    )


def _enough_data(frame: DataFrame, features: Sequence[str], min_coverage: float) -> Column:
    """Whether a customer has values for at least ``min_coverage`` of ``features``.

    A value is missing when NULL, or NaN in a floating column (what pandas' ``notna``
    counts as missing on the DuckDB engine).
    """
    types = {f.name: f.dataType for f in frame.schema.fields}
    present = []
    for name in features:
        value = sf.col(name)
        missing = value.isNull()
        if isinstance(types[name], st.DoubleType | st.FloatType):
            missing = missing | sf.isnan(value)
        present.append(sf.when(missing, sf.lit(0)).otherwise(sf.lit(1)))
    if not present:
        return sf.lit(True)
    total = present[0]
    for column in present[1:]:
        total = total + column
    return (total / sf.lit(float(len(present)))) >= sf.lit(min_coverage - 1e-12)
