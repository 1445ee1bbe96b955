"""Migration between snapshots of assignments, on a workspace filled by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mallseg.monitor.migration import export_movers, live_snapshot, migrate, run_snapshot
from mallseg.workspace import Workspace
from mallseg.workspace.segment_store import store_segmentation

NAMES = {0: "Young high spenders", 1: "Occasional visitors", 2: "Families"}


def store(ws: Workspace, run_id: str, assignments: dict[str, int],
          names: dict[int, str] = NAMES) -> None:
    ids = np.array(list(assignments))
    labels = np.array(list(assignments.values()))
    rows = [{"segment": s, "name": n, "size": int((labels == s).sum()),
             "share": float((labels == s).mean())} for s, n in names.items()]
    store_segmentation(ws, run_id, ids, labels, names, np.ones(len(ids)), rows)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.open(tmp_path / "ws")
    # 50 young high spenders: 4 become occasional visitors, 1 leaves; 30 occasional: 3
    # become families; 20 families stay; 6 newcomers arrive (5 families, 1 occasional)
    before = {f"Y{i:02d}": 0 for i in range(50)} | {f"O{i:02d}": 1 for i in range(30)} | {
        f"F{i:02d}": 2 for i in range(20)}
    after = dict(before)
    for i in range(4):
        after[f"Y{i:02d}"] = 1
    del after["Y49"]
    for i in range(3):
        after[f"O{i:02d}"] = 2
    after |= {f"N{i}": 2 for i in range(5)} | {"=N5": 1}
    store(ws, "0001", before)
    store(ws, "0002", after)
    return ws


def test_the_transition_matrix_counts_and_rates_every_move(workspace: Workspace) -> None:
    with workspace:
        moves = migrate(workspace.connection, run_snapshot("0001"), run_snapshot("0002"),
                        aligned=True)
    assert (moves.stayed, moves.moved, moves.joined, moves.left) == (92, 7, 6, 1)
    counts = moves.matrix()
    assert counts.loc["0 Young high spenders", "0 Young high spenders"] == 45
    assert counts.loc["0 Young high spenders", "1 Occasional visitors"] == 4
    assert counts.loc["0 Young high spenders", "(not there)"] == 1
    assert counts.loc["(not there)", "2 Families"] == 5
    rates = moves.matrix(rates=True)
    assert rates.loc["0 Young high spenders", "1 Occasional visitors"] == pytest.approx(0.08)
    assert rates.loc["1 Occasional visitors", "2 Families"] == pytest.approx(0.1)
    assert [f.sentence for f in moves.top_flows] == [
        "8% of Young high spenders (4 of 50) became Occasional visitors.",
        "10% of Occasional visitors (3 of 30) became Families.",
    ]
    joined = [f for f in moves.flows if f.from_id is None]
    assert [f.sentence for f in joined] == [
        "5 new customers (5% of the later snapshot) joined Families.",
        "1 new customer (1% of the later snapshot) joined Occasional visitors."]


def test_the_movers_go_to_csv_with_text_neutralised_and_to_parquet_as_stored(
    workspace: Workspace, tmp_path: Path,
) -> None:
    with workspace:
        con = workspace.connection
        rows = export_movers(con, run_snapshot("0001"), run_snapshot("0002"),
                             tmp_path / "movers.csv", aligned=True)
        flow = export_movers(con, run_snapshot("0001"), run_snapshot("0002"),
                             tmp_path / "flow.parquet", aligned=True, flow=(None, 1))
    movers = pd.read_csv(tmp_path / "movers.csv", keep_default_na=False)
    assert rows == len(movers) == 14
    assert movers.columns.tolist() == ["customer_id", "from_segment_id", "from_segment",
                                       "to_segment_id", "to_segment"]
    assert "'=N5" in set(movers["customer_id"]) and "=N5" not in set(movers["customer_id"])
    young = movers[movers["customer_id"] == "Y00"].iloc[0]
    assert (young["from_segment"], young["to_segment"]) == ("Young high spenders",
                                                            "Occasional visitors")
    newcomer = pd.read_parquet(tmp_path / "flow.parquet")
    assert flow == 1 and newcomer["customer_id"].tolist() == ["=N5"]


def test_live_assignments_override_the_run_for_the_customers_they_hold(
    workspace: Workspace,
) -> None:
    with workspace:
        con = workspace.connection
        con.execute("INSERT INTO live_assignments VALUES ('Y10', '0002', 2, 'Families', 0.9, "
                    "now()), ('F00', '0001', 0, 'Young high spenders', 0.9, now())")
        moves = migrate(con, run_snapshot("0002"), live_snapshot("0002"), aligned=True)
    assert (moves.moved, moves.joined, moves.left) == (1, 0, 0)
    assert moves.top_flows[0].sentence == (
        "2% of Young high spenders (1 of 45) became Families.")


def test_runs_that_share_no_identities_compare_by_name(workspace: Workspace) -> None:
    with workspace:
        renumbered = {0: "Families", 1: "Young high spenders", 2: "Occasional visitors"}
        con = workspace.connection
        before = con.execute("SELECT customer_id, segment_id FROM segment_assignments "
                             "WHERE run_id = '0001'").df()
        store(workspace, "0003", dict(zip(before["customer_id"],
                                          (before["segment_id"] + 1) % 3, strict=True)),
              renumbered)
        aligned = migrate(con, run_snapshot("0001"), run_snapshot("0003"), aligned=True)
        by_name = migrate(con, run_snapshot("0001"), run_snapshot("0003"), aligned=False)
    assert aligned.stayed == 0
    assert (by_name.stayed, by_name.moved) == (100, 0)
