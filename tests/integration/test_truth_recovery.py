"""End to end against known truth: simulated personas, drift, a structureless population and
the textbook five groups."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from mallseg.app.segment import SegmentRequest, SegmentResult, segment_customers
from mallseg.data.ingest import find_table_sources, ingest_file
from mallseg.datasets.samples import classic_sample_path
from mallseg.datasets.simulate import parse_drift, simulate_mall
from mallseg.segment.coverage import NOT_ENOUGH_DATA
from mallseg.workspace import Workspace


def simulated_run(
    folder: Path, *, personas: int, seed: int, customers: int = 8_000, drift: str = "none",
    lens: str = "behavioural", resamples: int = 5,
) -> tuple[SegmentResult, pd.Series, tuple[int, int]]:
    simulate_mall(folder / "mall", customers=customers, days=182, seed=seed, personas=personas,
                  drift=parse_drift(drift))
    with Workspace.open(folder / "ws") as ws:
        for table, path in find_table_sources(folder / "mall" / "inputs").items():
            report = ingest_file(ws, table, path)
            assert report.rows_quarantined == 0
        run = segment_customers(ws, SegmentRequest(lens=lens, n_resamples=resamples,
                                                   random_state=0))
        stored = ws.connection.execute(
            "SELECT count(*), count(DISTINCT segment_id) FILTER (WHERE segment_id >= 0) "
            "FROM segment_assignments WHERE run_id = ?", [run.run_id]
        ).fetchone()
    truth = duckdb.connect().execute(
        f"SELECT customer_id, persona FROM "
        f"read_parquet('{folder}/mall/truth/customer_personas/*.parquet')"
    ).df().set_index("customer_id")["persona"]
    assert stored is not None
    return run, truth, (int(stored[0]), int(stored[1]))


def agreement(run: SegmentResult, truth: pd.Series) -> float:
    personas = truth.reindex(run.customer_ids.astype(str)).to_numpy()
    return float(adjusted_rand_score(personas, run.labels))


@pytest.mark.parametrize(("personas", "seed"), [(6, 1), (6, 2), (6, 3), (8, 1), (8, 2), (8, 3)])
def test_behavioural_lens_recovers_the_personas(
    tmp_path: Path, personas: int, seed: int
) -> None:
    run, truth, stored = simulated_run(tmp_path, personas=personas, seed=seed)
    assert run.selection is not None and run.selection.regime == "natural structure"
    assert run.k == personas
    assert agreement(run, truth) >= 0.90
    assert run.selection.stability.mean_ari >= 0.90
    assert stored == (8_000, personas)
    assert run.model_path is not None and run.model_path.exists()
    names = [n.name for s, n in run.names.items() if s >= 0]
    assert len(set(names)) == personas
    set_aside = run.labels == NOT_ENOUGH_DATA
    assert set_aside.mean() < 0.05  # customers who barely came: not a persona of their own
    if set_aside.any():
        assert run.names[NOT_ENOUGH_DATA].name == "Not enough data"
    assert not any(name[-1].isdigit() for name in names)


@pytest.mark.parametrize("drift", ["mix:0.5", "behaviour:0.3"])
def test_personas_are_recovered_with_drift_on(tmp_path: Path, drift: str) -> None:
    run, truth, _ = simulated_run(tmp_path, personas=8, seed=4, drift=drift)
    assert run.k == 8
    assert agreement(run, truth) >= 0.90


def test_a_structureless_population_gets_a_partition_for_action(tmp_path: Path) -> None:
    run, _, _ = simulated_run(tmp_path, personas=1, seed=5, customers=6_000)
    selection = run.selection
    assert selection is not None
    assert not selection.structure.has_structure
    assert selection.regime == "marketing partition"
    assert "No natural cluster structure" in selection.explanation
    assert 3 <= run.k <= 8
    for segment in (s for s in run.names if s >= 0):
        effects = run.profiles.distinguishing(segment)
        assert effects["effect_size"].abs().max() >= 0.5, run.names[segment]


def test_classic_sample_gives_the_textbook_five_groups_with_right_names(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws") as ws:
        ingest_file(ws, "customers", classic_sample_path())
        run = segment_customers(ws, SegmentRequest(lens="classic", random_state=0))
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


def test_rfm_groups_are_ordered_by_true_value(tmp_path: Path) -> None:
    simulate_mall(tmp_path / "mall", customers=6_000, days=182, seed=6)
    with Workspace.open(tmp_path / "ws") as ws:
        for table, path in find_table_sources(tmp_path / "mall" / "inputs").items():
            ingest_file(ws, table, path)
        run = segment_customers(ws, SegmentRequest(method="rfm"))
    truth = duckdb.connect().execute(
        f"SELECT c.customer_id, p.visits_per_month * p.spend_per_visit "
        f"* p.purchase_probability AS value, c.churned_on FROM "
        f"read_parquet('{tmp_path}/mall/truth/customer_personas/*.parquet') c JOIN "
        f"read_parquet('{tmp_path}/mall/truth/personas/*.parquet') p USING (persona)"
    ).df().set_index("customer_id")
    value = truth["value"].where(truth["churned_on"].isna(), 0.0)
    frame = pd.DataFrame({"group": run.labels,
                          "value": value.reindex(run.customer_ids.astype(str)).to_numpy()})
    means = frame.groupby("group")["value"].mean()
    by_name = {run.names[int(s)].name: float(v) for s, v in means.items()}

    def tier(*names: str) -> list[float]:
        return [by_name[n] for n in names if n in by_name]

    # the groups' value follows their frequency-and-spend tier, most valuable first
    high = tier("Champions", "Loyal", "Cannot lose them")
    middle = tier("At risk", "Need attention")
    low = tier("About to sleep", "Hibernating", "Lost")
    assert len(high) == 3 and len(middle) == 2 and len(low) == 3
    assert min(high) > max(middle)
    assert min(middle) > max(low)
    assert by_name["Lost"] == min(v for n, v in by_name.items() if n != "No purchase yet")


def test_cli_segment_assign_explain_export(tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mallseg", *args, "--workspace", str(tmp_path / "ws")],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )

    assert cli("ingest", "customers", "--sample", "classic").returncode == 0
    seg = cli("segment", "--lens", "classic", "--k", "auto")
    assert seg.returncode == 0, seg.stderr
    assert "5 segments of 200 customers" in seg.stdout
    assert "Why this segmentation" in seg.stdout

    new = tmp_path / "new.csv"
    new.write_text("CustomerID,Genre,Age,Annual Income (k$),Spending Score (1-100)\n"
                   "N1,Female,25,20,90\nN2,Male,50,120,10\nN3,Male,40,lots,10\n")
    out = tmp_path / "assigned.csv"
    assigned = cli("assign", str(new), "--out", str(out), "--run", "1")
    assert assigned.returncode == 2 and "did you mean 0001" in assigned.stderr
    assigned = cli("assign", str(new), "--out", str(out), "--run", "0001")
    assert assigned.returncode == 0, assigned.stderr
    assert "1 rows rejected, not scored (first: line 4: annual_income" in assigned.stdout
    scored = pd.read_csv(out)
    assert list(scored["customer_id"]) == ["N1", "N2"]
    names = dict(zip(scored["customer_id"], scored["segment_name"], strict=True))
    assert "high spenders" in names["N1"].lower() and "low-income" in names["N1"].lower()
    assert "careful" in names["N2"].lower()
    with Workspace.open(tmp_path / "ws", read_only=True) as ws:
        assert ws.table_count("customers") == 200  # scored, not loaded

    explained = cli("explain", "0001")
    assert explained.returncode == 0 and "confidence" in explained.stdout
    assert cli("explain", "nobody").returncode == 2

    export = tmp_path / "segments.parquet"
    exported = cli("export", "segments", "--out", str(export))
    assert exported.returncode == 0, exported.stderr
    frame = pd.read_parquet(export)
    assert len(frame) == 200 and set(frame.columns) == {
        "customer_id", "segment_id", "segment_name", "confidence"}
