"""The job a cluster runs: reads a folder, writes assignments and per-segment results, and
answers bad inputs with one line and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from mallseg.datasets.simulate import simulate_mall
from mallseg.distributed.job import main
from mallseg.distributed.sources import InputTableError, read_canonical_tables

CUSTOMERS = 400


@pytest.fixture(scope="module")
def small_mall(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("small")
    simulate_mall(folder, customers=CUSTOMERS, days=30, seed=11, personas=3)
    return folder / "inputs"


def test_job_writes_every_assignment_and_the_segments(
    spark: SparkSession, small_mall: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code = main(["--inputs", str(small_mall), "--out", str(out), "--lens", "value",
                 "--k", "auto", "--sample-size", "300"])
    assert code == 0
    summary = json.loads((out / "segments.json").read_text())
    assignments = pd.read_parquet(out / "assignments")
    assert len(assignments) == CUSTOMERS == summary["customers"]
    assert assignments["customer_id"].is_unique
    # k was chosen on the 300-customer sample, then every customer assigned on Spark
    assert summary["selection"]["sample_sizes"]["customers"] == 300
    assert summary["selection"]["k"] == summary["k"] == len(summary["segments"])
    assert summary["profiled_customers"] == 300
    sizes = assignments.groupby("segment").size().to_dict()
    assert {s["segment"]: s["size"] for s in summary["segments"]} == sizes
    names = {int(s): n["name"] for s, n in summary["names"].items()}
    assert dict(zip(assignments["segment"], assignments["segment_name"], strict=True)) == names


def test_missing_folder_is_one_line_and_exit_code_2(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--inputs", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "nowhere does not exist" in error


def test_a_column_of_the_wrong_type_is_named_with_its_table(
    spark: SparkSession, tmp_path: Path
) -> None:
    pd.DataFrame({"customer_id": ["c1", "c2"], "age": ["thirty", "40"]}).to_parquet(
        tmp_path / "customers.parquet")
    with pytest.raises(InputTableError, match=r"customers.parquet: column age is stored as "
                       r"VARCHAR, expected INTEGER"):
        read_canonical_tables(spark, tmp_path)


def test_empty_tables_are_absent_and_customers_are_required(
    spark: SparkSession, tmp_path: Path
) -> None:
    pd.DataFrame({"customer_id": ["c1"], "age": [30]}).to_parquet(tmp_path / "customers.parquet")
    pd.DataFrame({"customer_id": pd.Series([], dtype="str"),
                  "entered_at": pd.Series([], dtype="datetime64[us]")}).to_parquet(
        tmp_path / "visits.parquet")
    sources = read_canonical_tables(spark, tmp_path)
    assert sorted(sources.present) == ["customers"]
    (tmp_path / "customers.parquet").unlink()
    with pytest.raises(InputTableError, match="customers missing or empty"):
        read_canonical_tables(spark, tmp_path)
