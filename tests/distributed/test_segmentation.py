"""Segments on Spark agree with segments on DuckDB for the same mall and the same k.

The Spark run brings back a sample of 1,200 of the 3,000 customers: k-means starts from the
sample's centres and MLlib refines them over every customer, as it would on a mall too big
for one machine.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from mallseg.app.segment import model_kinds
from mallseg.distributed.collect import collect_pandas
from mallseg.distributed.features import SparkFeatureBuild
from mallseg.distributed.profiles import sample_customers, with_exact_sizes
from mallseg.distributed.segment import SparkSegmentation
from mallseg.features.build import FeatureBuild
from mallseg.features.lenses import resolve_lens
from mallseg.segment.coverage import NOT_ENOUGH_DATA
from mallseg.segment.naming import name_segments
from mallseg.segment.personas import profile_segments
from mallseg.segment.selection import select_segmentation

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
