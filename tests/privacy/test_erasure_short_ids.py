"""Forgetting a short id (``0``, in a workspace of ids as given) takes out that customer only.

A short id is found by chance in paths, segment numbers and amounts: the erasure must
not rewrite a model's path (``.../mall-0/ws/models/...``), drop the rows of segment 0
from an export, or delete another customer's quarantine record that has a ``0`` in it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from mallseg.app.forget import forget_customer
from mallseg.app.segment import SegmentRequest, segment_customers
from mallseg.data.ingest import ingest_file
from mallseg.segment.model_files import load_segmenter
from mallseg.workspace import Workspace
from mallseg.workspace.segment_store import export_assignments


def _classic_table(path: Path) -> Path:
    """60 customers with ids 0..59 in three clear groups, and one rejected row (id 7)."""
    rows = [["CustomerID", "Gender", "Age", "Annual Income (k$)", "Spending Score (1-100)"]]
    for i in range(60):
        group = i % 3
        rows.append([str(i), "Male" if i % 2 else "Female", str(20 + 15 * group + i % 5),
                     str(20 + 40 * group + i % 7), str(80 - 30 * group + i % 6)])
    rows.append(["7", "Female", "not an age", "0", "0"])  # a repeat of 7, rejected
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MALLSEG_PSEUDONYMISE", "0")
    folder = tmp_path / "mall-0" / "ws"
    source = _classic_table(tmp_path / "customers.csv")
    with Workspace.open(folder) as ws:
        loaded = ingest_file(ws, "customers", source)
        assert loaded.rows_quarantined >= 1
        result = segment_customers(ws, SegmentRequest(lens="classic", k=3, n_resamples=2))
        export_assignments(ws, result.run_id, ws.exports_folder / "segments.csv")
    return folder


def test_forgetting_id_0_leaves_paths_segment_0_and_other_records_alone(
        workspace: Path) -> None:
    with Workspace.open(workspace) as ws:
        con = ws.connection
        model_path_before = con.execute("SELECT model_path FROM runs").fetchall()
        quarantined_before = con.execute(
            "SELECT count(*) FROM quarantine").fetchone()
        segment_of_0 = con.execute(
            "SELECT segment_id FROM segment_assignments WHERE customer_id = '0'").fetchone()
        assert segment_of_0 is not None
        in_segment_before = con.execute(
            "SELECT count(*) FROM segment_assignments WHERE segment_id = ?",
            [segment_of_0[0]]).fetchone()

        result = forget_customer(ws, "0")
        con = ws.connection  # the compaction opened the database afresh

        assert result.found and result.erasure.rows_removed["customers"] == 1
        assert con.execute("SELECT model_path FROM runs").fetchall() == model_path_before
        assert con.execute("SELECT count(*) FROM quarantine").fetchone() == quarantined_before
        assert con.execute("SELECT count(*) FROM customers WHERE customer_id = '0'"
                           ).fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM customers").fetchone() == (59,)
        in_segment_after = con.execute(
            "SELECT count(*) FROM segment_assignments WHERE segment_id = ?",
            [segment_of_0[0]]).fetchone()
        assert in_segment_before is not None and in_segment_after is not None
        assert in_segment_after[0] == in_segment_before[0] - 1
        profiles = [json.loads(p) for (p,) in con.execute(
            "SELECT profile FROM segments WHERE profile IS NOT NULL").fetchall()]
        model_file = workspace / "models" / Path(str(model_path_before[0][0])).name
        exported = (ws.exports_folder / "segments.csv").read_text().splitlines()
    assert profiles, "segment profiles stay readable JSON"
    load_segmenter(model_file)  # the model file is still where the run says, and loads
    ids = [line.split(",")[0] for line in exported[1:]]
    assert "0" not in ids and len(ids) == 59
    assert any(line.split(",")[2:3] == ["0"] or ",0," in line for line in exported[1:]), (
        "rows of segment 0 stay in the export")


def test_forgetting_the_quarantined_customer_takes_their_record_only(
        workspace: Path) -> None:
    with Workspace.open(workspace) as ws:
        before = ws.connection.execute("SELECT count(*) FROM quarantine").fetchone()
        result = forget_customer(ws, "7")
        after = ws.connection.execute("SELECT count(*) FROM quarantine").fetchone()
    assert before is not None and after is not None
    assert result.erasure.quarantine_rows == 1
    assert after[0] == before[0] - 1
