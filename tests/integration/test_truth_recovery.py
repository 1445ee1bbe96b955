"""End to end against known truth: simulated personas and the textbook five groups."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from mallseg.data.ingest import find_table_sources, ingest_file
from mallseg.datasets.samples import classic_sample_path
from mallseg.datasets.simulate import simulate_mall
from mallseg.segment.run import run_segmentation
from mallseg.workspace import Workspace


@pytest.fixture(scope="module")
def six_persona_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("mall6")
    simulate_mall(folder / "mall", customers=20_000, days=182, seed=1, personas=6)
    with Workspace.open(folder / "ws") as ws:
        for table, path in find_table_sources(folder / "mall" / "inputs").items():
            report = ingest_file(ws, table, path)
            assert report.rows_quarantined == 0
        run = run_segmentation(ws, lens="behavioural", k="auto", random_state=0)
        stored = ws.connection.execute(
            "SELECT count(*), count(DISTINCT segment_id) FROM segment_assignments "
            "WHERE run_id = ?", [run.run_id]
        ).fetchone()
    truth = duckdb.connect().execute(
        f"SELECT customer_id, persona FROM "
        f"read_parquet('{folder}/mall/truth/customer_personas/*.parquet')"
    ).df().set_index("customer_id")["persona"]
    return run, truth, stored


def test_behavioural_lens_recovers_the_six_personas(six_persona_run) -> None:  # type: ignore[no-untyped-def]
    run, truth, _ = six_persona_run
    assert run.k == 6
    personas = truth.reindex(run.customer_ids.astype(str)).to_numpy()
    assert adjusted_rand_score(personas, run.labels) >= 0.90
    assert run.selection.stability.mean_ari >= 0.90


def test_the_run_is_stored_with_every_customer_assigned(six_persona_run) -> None:  # type: ignore[no-untyped-def]
    run, _, stored = six_persona_run
    assert stored == (20_000, 6)
    assert run.model_path.exists()
    names = [n.name for n in run.names.values()]
    assert len(set(names)) == 6


def test_classic_sample_gives_the_textbook_five_groups_with_right_names(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws") as ws:
        ingest_file(ws, "customers", classic_sample_path())
        run = run_segmentation(ws, lens="classic", k="auto", random_state=0)
    assert run.k == 5
    source = pd.read_csv(classic_sample_path())
    columns = ["Annual Income (k$)", "Spending Score (1-100)"]
    reference = KMeans(n_clusters=5, n_init=10, random_state=0).fit_predict(source[columns])
    assert adjusted_rand_score(reference, run.labels) >= 0.95
    # each name says high/low income and high/low spending, as the group's means do
    income_mean = source[columns[0]].mean()
    score_mean = source[columns[1]].mean()
    for segment, name in run.names.items():
        members = source[run.labels == segment]
        income, score = members[columns[0]].mean(), members[columns[1]].mean()
        text = name.name.lower()
        if abs(income - income_mean) < 10 and abs(score - score_mean) < 10:
            assert "average" in text
            continue
        assert ("affluent" in text or "high-income" in text) == (income > income_mean)
        assert ("low-income" in text) == (income < income_mean)
        assert ("high spenders" in text) == (score > score_mean)
        assert ("careful" in text) == (score < score_mean)


def test_cli_segment_assign_explain_export(tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mallseg", "--workspace", str(tmp_path / "ws"), *args],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )

    assert cli("ingest", "customers", "--sample", "classic").returncode == 0
    seg = cli("segment", "--lens", "classic", "--k", "auto")
    assert seg.returncode == 0, seg.stderr
    assert "5 segments of 200 customers" in seg.stdout
    assert "Why this segmentation" in seg.stdout

    new = tmp_path / "new.csv"
    new.write_text("CustomerID,Genre,Age,Annual Income (k$),Spending Score (1-100)\n"
                   "N1,Female,25,20,90\nN2,Male,50,120,10\n")
    out = tmp_path / "assigned.csv"
    assigned = cli("assign", str(new), "--out", str(out))
    assert assigned.returncode == 0, assigned.stderr
    scored = pd.read_csv(out)
    assert list(scored["customer_id"]) == ["N1", "N2"]
    names = dict(zip(scored["customer_id"], scored["segment_name"], strict=True))
    assert "high spenders" in names["N1"].lower() and "low-income" in names["N1"].lower()
    assert "careful" in names["N2"].lower()
    assert np.all(scored["confidence"].between(0, 1))

    explained = cli("explain", "0001")
    assert explained.returncode == 0 and "confidence" in explained.stdout
    assert cli("explain", "nobody").returncode == 2

    export = tmp_path / "segments.parquet"
    exported = cli("export", "segments", "--out", str(export))
    assert exported.returncode == 0, exported.stderr
    frame = pd.read_parquet(export)
    assert len(frame) == 200 and set(frame.columns) == {
        "customer_id", "segment_id", "segment_name", "confidence"}
