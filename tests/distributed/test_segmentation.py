"""Segments on Spark agree with segments on DuckDB for the same mall and the same k.

The Spark run brings back a sample of 1,200 of the 3,000 customers: k-means starts from the
sample's centres and MLlib refines them over every customer, as it would on a mall too big
for one machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession
from sklearn.metrics import adjusted_rand_score

from mallseg.app.segment import model_kinds
from mallseg.core.group_size import GroupSizeRule
from mallseg.distributed.collect import collect_pandas
from mallseg.distributed.features import SparkFeatureBuild
from mallseg.distributed.profiles import sample_customers, with_exact_sizes
from mallseg.distributed.segment import SparkSegmentation, segment_with_spark
from mallseg.features.build import FeatureBuild
from mallseg.features.lenses import resolve_lens
from mallseg.segment.coverage import NOT_ENOUGH_DATA
from mallseg.segment.naming import name_segments
from mallseg.segment.personas import profile_segments
from mallseg.segment.selection import select_segmentation
from mallseg.segment.small_groups import SMALL_GROUP_NAME

from .conftest import SIM_CUSTOMERS, SIM_LENS, SIM_PERSONAS, SIM_SAMPLE

K = SIM_PERSONAS
LENS = SIM_LENS
SAMPLE = SIM_SAMPLE


@pytest.fixture(scope="module")
def on_spark(spark_sim_segmentation: SparkSegmentation) -> SparkSegmentation:
    return spark_sim_segmentation


@pytest.fixture(scope="module")
def on_duckdb(duckdb_sim_build: FeatureBuild) -> tuple[np.ndarray, list[str]]:
    frame, schema = duckdb_sim_build.frame, duckdb_sim_build.schema
    features = resolve_lens(LENS, frame.columns)
    selection = select_segmentation(
        frame, features, algorithms=("kmeans",), k_values=[K], n_resamples=2,
        feature_kinds=model_kinds(schema, features),
    )
    return np.asarray(selection.chosen.segmenter.labels_), list(selection.features)


def spark_labels(result: SparkSegmentation) -> np.ndarray:
    assigned = collect_pandas(result.assignments).sort_values("customer_id")
    return assigned["segment"].to_numpy()


def test_spark_and_duckdb_segments_agree(
    on_spark: SparkSegmentation, on_duckdb: tuple[np.ndarray, list[str]]
) -> None:
    duck_labels, duck_features = on_duckdb
    labels = spark_labels(on_spark)
    assert list(on_spark.features) == duck_features
    assert len(labels) == SIM_CUSTOMERS == on_spark.n_customers
    assert on_spark.kmeans.seeding == "sample"
    # the same customers are set aside as "Not enough data" (no visits: most behavioural
    # features missing), and the others fall into the same segments
    assert on_spark.n_not_enough_data > 0
    assert ((labels == NOT_ENOUGH_DATA) == (duck_labels == NOT_ENOUGH_DATA)).all()
    assert adjusted_rand_score(duck_labels, labels) >= 0.95
    placed = labels[labels >= 0]
    assert adjusted_rand_score(duck_labels[labels >= 0], placed) >= 0.95
    # segments are numbered by size, largest first, and every customer placed has one
    assert list(on_spark.kmeans.sizes) == sorted(on_spark.kmeans.sizes, reverse=True)
    assert np.bincount(placed).tolist() == list(on_spark.kmeans.sizes)
    assert on_spark.sizes[NOT_ENOUGH_DATA] == on_spark.n_not_enough_data


def test_profiles_and_names_come_from_the_sample_with_exact_sizes(
    on_spark: SparkSegmentation, spark_sim_build: SparkFeatureBuild,
    duckdb_sim_build: FeatureBuild,
) -> None:
    # the same sample customers, profiled and named by the DuckDB pipeline's functions from
    # DuckDB's features, give the same profiles and names
    frame, schema = duckdb_sim_build.frame, duckdb_sim_build.schema
    ids = set(collect_pandas(sample_customers(spark_sim_build.frame, SAMPLE))["customer_id"])
    assert on_spark.profiled_customers == SAMPLE == len(ids)
    members = frame["customer_id"].isin(ids).to_numpy()
    sample = frame[members].reset_index(drop=True)
    profiles = with_exact_sizes(
        profile_segments(sample, spark_labels(on_spark)[members],
                         [c for c in frame.columns if c != "customer_id"],
                         kinds=schema.kinds, model_features=list(on_spark.features)),
        on_spark.sizes,
    )
    names = name_segments(profiles, labels=schema.labels, vocabulary=schema.vocabulary)
    assert {s: n.name for s, n in on_spark.names.items()} == {s: n.name for s, n in names.items()}
    assert {s: n.description for s, n in on_spark.names.items()} == {
        s: n.description for s, n in names.items()}
    summary = on_spark.profiles.summary
    assert summary["size"].tolist() == list(on_spark.sizes.values())
    assert summary["profiled_customers"].sum() == SAMPLE


def test_result_is_plain_json(on_spark: SparkSegmentation) -> None:
    payload = json.loads(json.dumps(on_spark.to_dict()))
    assert payload["engine"] == "spark" and payload["k"] == K
    assert sum(s["size"] for s in payload["segments"]) == SIM_CUSTOMERS
    assert payload["not_enough_data"] == on_spark.n_not_enough_data
    assert len(payload["kmeans"]["centers"]) == K
    assert set(payload["preprocessing"]) == set(on_spark.features)
    assert payload["profiled_customers"] == SAMPLE


def test_a_segment_under_the_minimum_group_size_keeps_its_size_not_its_figures(
    spark: SparkSession, tmp_path: Path
) -> None:
    pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(40)],
        "annual_income": [20.0 + i % 5 for i in range(20)] + [90.0 + i % 3 for i in range(15)]
        + [150.0] * 5,
        "spending_score": [80.0 - i % 7 for i in range(20)] + [15.0 + i % 4 for i in range(15)]
        + [95.0] * 5,
    }).to_parquet(tmp_path / "customers.parquet")
    result = segment_with_spark(str(tmp_path), spark=spark, k=3, n_init=1,
                                group_size=GroupSizeRule(10))
    assert sorted(result.sizes.values()) == [5, 15, 20]
    small = next(s for s, size in result.sizes.items() if size == 5)
    table = result.segment_table().set_index("segment")
    assert table.loc[small, "suppressed"] and table.loc[small, "name"] == SMALL_GROUP_NAME
    assert not table.drop(index=small)["suppressed"].any()
    row = result.profiles.summary.set_index("segment").loc[small]
    assert row["size"] == 5 and pd.isna(row["mean_annual_income"])
