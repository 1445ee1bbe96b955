"""A Spark segmentation of a workspace is recorded as a run of it, and the DuckDB side reads it.

One small simulated mall is ingested, segmented with ``mallseg segment --engine spark``,
then read back by ``status``, ``explain``, ``assign --run``, ``report`` and the layout
insight, on DuckDB and on Spark.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from mallseg.app.assign import assign_file
from mallseg.app.insights import layout_for_run
from mallseg.cli.main import app
from mallseg.datasets.simulate import simulate_mall
from mallseg.workspace import Workspace

from .conftest import assert_same_values

CUSTOMERS = 400


@pytest.fixture(scope="module")
def mall(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("recorded")
    simulate_mall(folder / "sim", customers=CUSTOMERS, days=30, seed=11, personas=3)
    return folder


@pytest.fixture(scope="module")
def workspace(mall: Path) -> Path:
    folder = mall / "ws"
    runner = CliRunner()
    done = runner.invoke(app, ["--workspace", str(folder), "ingest", "all",
                               str(mall / "sim" / "inputs")])
    assert done.exit_code == 0, done.output
    done = runner.invoke(app, ["--workspace", str(folder), "segment", "--engine", "spark",
                               "--k", "3", "--lens", "value"])
    assert done.exit_code == 0, done.output
    assert "recorded as run 0001 of the workspace" in " ".join(done.output.split())
    return folder


def parquet_assignments(workspace: Path) -> pd.DataFrame:
    frame = pd.read_parquet(workspace / "exports" / "spark-segments" / "assignments")
    return frame.sort_values("customer_id", ignore_index=True)


def test_the_run_holds_what_a_duckdb_run_holds(workspace: Path) -> None:
    summary = json.loads((workspace / "exports" / "spark-segments" / "segments.json"
                          ).read_text())
    with Workspace.open(workspace, read_only=True) as ws:
        record = ws.get_run("0001", "segment")
        con = ws.connection
        assigned = con.execute(
            "SELECT customer_id, segment_id, segment_name, confidence FROM "
            "segment_assignments WHERE run_id = '0001' ORDER BY customer_id").df()
        segments = con.execute("SELECT segment_id, segment_name, size, share FROM segments "
                               "WHERE run_id = '0001' ORDER BY segment_id").df()
        snapshot = ws.snapshot_table("0001", "features")
        assert snapshot is not None
        snapshot_rows = ws.table_count(snapshot)
    assert record.status == "ok" and record.parameters["engine"] == "spark"
    assert record.parameters["k"] == 3 and record.parameters["lens"] == "value"
    assert record.parameters["features"] == summary["features"]
    assert record.feature_schema == summary["feature_schema"]
    assert record.reference_time is not None
    assert record.reference_time.isoformat() == summary["feature_schema"]["as_of"]
    assert record.model_path and Path(record.model_path).is_file()
    assert record.metrics["model_disagreements"] == 0
    # every customer's segment, exactly as Spark wrote it, loaded by DuckDB
    spark = parquet_assignments(workspace)
    assert len(assigned) == CUSTOMERS == snapshot_rows
    assert assigned["customer_id"].tolist() == spark["customer_id"].tolist()
    assert assigned["segment_id"].tolist() == spark["segment"].tolist()
    assert assigned["segment_name"].tolist() == spark["segment_name"].tolist()
    assert assigned["confidence"].isna().all()
    # the segments' sizes are the assignments' counts, their names the summary's
    counts = assigned.groupby("segment_id").size().to_dict()
    assert dict(zip(segments["segment_id"], segments["size"], strict=True)) == counts
    assert {s["segment"]: s["name"] for s in summary["segments"]} == dict(
        zip(segments["segment_id"], segments["segment_name"], strict=True))
    assert segments["share"].sum() == pytest.approx(1.0)


def test_status_explain_loyalty_export_and_report_read_it(workspace: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    status = runner.invoke(app, ["--workspace", str(workspace), "status"])
    assert status.exit_code == 0, status.output
    assert "0001" in status.output and "Spark" in status.output  # the run's summary
    one = parquet_assignments(workspace).iloc[7]
    explained = runner.invoke(app, ["--workspace", str(workspace), "explain",
                                    str(one["customer_id"])])
    assert explained.exit_code == 0, explained.output
    assert f"is in segment {one['segment']} {one['segment_name']}" in " ".join(
        explained.output.split())
    loyalty = runner.invoke(app, ["--workspace", str(workspace), "loyalty"])
    assert loyalty.exit_code == 0, loyalty.output
    with Workspace.open(workspace, read_only=True) as ws:
        kept = ws.insight("0001", "loyalty")
    assert kept is not None and str(one["segment_name"]) in json.dumps(kept)
    exported = tmp_path / "segments.csv"
    done = runner.invoke(app, ["--workspace", str(workspace), "export", "segments", "--out",
                               str(exported)])
    assert done.exit_code == 0, done.output
    assert len(pd.read_csv(exported)) == CUSTOMERS
    report = tmp_path / "report.html"
    done = runner.invoke(app, ["--workspace", str(workspace), "report", "--out", str(report)])
    assert done.exit_code == 0, done.output
    assert str(one["segment_name"]) in report.read_text()


def test_assign_scores_customers_as_spark_placed_them(workspace: Path, mall: Path,
                                                      tmp_path: Path) -> None:
    spark = parquet_assignments(workspace)
    chosen = pd.concat([spark[spark["segment"] == s].head(4) for s in sorted(
        spark["segment"].unique())])
    customers = pd.read_parquet(mall / "sim" / "inputs" / "customers")
    file = tmp_path / "returning.csv"
    customers[customers["customer_id"].isin(chosen["customer_id"])].to_csv(file, index=False)
    # their purchases and visits are taken from the workspace, so their features are the run's
    result = assign_file(workspace, file, run_id="0001")
    scored = result.assignments.set_index("customer_id")["segment_id"]
    expected = chosen.set_index("customer_id")["segment"]
    assert len(scored) == len(chosen) >= 9
    assert scored.sort_index().tolist() == expected.sort_index().tolist()


def test_layout_of_the_run_is_the_same_on_both_engines(workspace: Path) -> None:
    # the layout use case on DuckDB, minimum group size (10) applied, then on Spark
    with Workspace.open(workspace) as ws:
        on_duckdb = layout_for_run(ws, "0001", min_customers=5).to_dict()
        ws.connection.execute("DELETE FROM insight_results WHERE kind = 'layout'")
    assert on_duckdb["min_customers"] == 10
    done = CliRunner().invoke(app, ["--workspace", str(workspace), "layout", "--engine",
                                    "spark", "--min-customers", "5"])
    assert done.exit_code == 0, done.output
    assert "(run 0001, on Spark (local[2]))" in " ".join(done.output.split())
    with Workspace.open(workspace, read_only=True) as ws:
        kept = ws.insight("0001", "layout")
        leftovers = list((workspace / "exports").glob("spark-segments-*.parquet"))
    assert kept is not None and kept["store_affinity"]["cells"]
    assert_same_values(on_duckdb, kept, "layout")
    assert not leftovers  # the run's assignments were exported for Spark, then removed


def test_layout_options_of_the_other_engine_are_one_line(workspace: Path) -> None:
    runner = CliRunner()
    for arguments, message in (
        (["--segments", "x.parquet"], "--segments is for --engine spark"),
        (["--engine", "spark", "--run", "0001", "--inputs", "x"],
         "--run names a workspace run, --inputs a folder of tables: give one"),
        (["--engine", "spark", "--run", "0009"], "no segment run '0009'"),
    ):
        done = runner.invoke(app, ["--workspace", str(workspace), "layout", *arguments])
        text = " ".join(done.output.split())
        assert done.exit_code == 2 and message in text and "Traceback" not in text, text
