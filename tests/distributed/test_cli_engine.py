"""``mallseg segment --engine spark``: the workspace's tables exported and segmented on Spark,
or a folder of Parquet; options of one engine refused on the other with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from mallseg.cli.main import app
from mallseg.workspace import Workspace


@pytest.fixture(scope="module")
def classic_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("cli") / "ws"
    done = CliRunner().invoke(app, ["--workspace", str(workspace), "ingest", "customers",
                                    "--sample", "classic"])
    assert done.exit_code == 0, done.output
    return workspace


def test_segment_on_spark_from_the_workspace(spark: SparkSession, classic_workspace: Path
                                             ) -> None:
    done = CliRunner().invoke(app, ["--workspace", str(classic_workspace), "segment",
                                    "--engine", "spark", "--lens", "classic", "--k", "5"])
    assert done.exit_code == 0, done.output
    assert "5 segments of 200 customers (classic lens, k-means on Spark, local[2])" in (
        " ".join(done.output.split()))
    exports = classic_workspace / "exports"
    assert len(pd.read_parquet(exports / "spark-inputs" / "customers.parquet")) == 200
    assignments = pd.read_parquet(exports / "spark-segments" / "assignments")
    summary = json.loads((exports / "spark-segments" / "segments.json").read_text())
    assert len(assignments) == 200 == summary["customers"]
    sizes = assignments.groupby("segment").size().to_dict()
    assert {s["segment"]: s["size"] for s in summary["segments"]} == sizes
    # the textbook five groups of the classic table, named by income and spending
    names = set(assignments["segment_name"])
    assert {"Affluent careful spenders", "Low-income high spenders"} <= names


def test_segment_on_spark_from_a_folder(spark: SparkSession, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    pd.DataFrame({"customer_id": [f"c{i}" for i in range(40)],
                  "annual_income": [20.0 + i % 5 for i in range(20)] + [90.0] * 20,
                  "spending_score": [80.0 - i % 7 for i in range(20)] + [15.0] * 20,
                  }).to_parquet(inputs / "customers.parquet")
    out = tmp_path / "segments"
    done = CliRunner().invoke(app, ["segment", "--engine", "spark", "--inputs", str(inputs),
                                    "--out", str(out), "--k", "2"])
    assert done.exit_code == 0, done.output
    assert pd.read_parquet(out / "assignments")["segment"].value_counts().tolist() == [20, 20]
    assert "recorded as run" not in done.output  # a folder is no workspace: nothing recorded


@pytest.mark.parametrize(("arguments", "message"), [
    (["--engine", "spark", "--method", "rfm"], "--method rfm is for --engine duckdb"),
    (["--engine", "spark", "--algorithm", "gmm"], "--algorithm gmm is for --engine duckdb"),
    (["--inputs", "somewhere"], "--inputs is for --engine spark"),
    (["--engine", "flink"], "--engine 'flink': expected duckdb or spark"),
    (["--engine", "spark", "--inputs", "no-such-folder"], "no-such-folder does not exist"),
])
def test_options_of_the_other_engine_are_one_line_and_exit_code_2(
    spark: SparkSession, classic_workspace: Path, arguments: list[str], message: str
) -> None:
    done = CliRunner().invoke(app, ["--workspace", str(classic_workspace), "segment",
                                    *arguments])
    assert done.exit_code == 2
    text = " ".join(done.output.split())
    assert message in text and "Traceback" not in text


def test_a_workspace_without_sensitive_attributes_segments_on_spark_without_them(
    spark: SparkSession, tmp_path: Path
) -> None:
    workspace = str(tmp_path / "ws")
    runner = CliRunner()
    for arguments in (["ingest", "customers", "--sample", "classic"],
                      ["settings", "set", "sensitive_features", "off"]):
        done = runner.invoke(app, ["--workspace", workspace, *arguments])
        assert done.exit_code == 0, done.output
    done = runner.invoke(app, ["--workspace", workspace, "segment", "--engine", "spark",
                               "--lens", "demographic", "--k", "3"])
    assert done.exit_code == 0, done.output
    with Workspace.open(Path(workspace), read_only=True) as ws:
        record = ws.get_run(None, "segment")
    # the demographic lens is age, gender, income and family size: income alone is left
    assert record.parameters["features"] == ["annual_income"]
    assert record.parameters["sensitive_features"] == "off"
