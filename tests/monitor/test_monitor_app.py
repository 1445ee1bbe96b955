"""The monitoring use cases on real workspaces: checks recorded with their windows, refits
that keep identities, rollback, versions and migration."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mallseg.app.monitor import (
    MonitorRequest,
    RefitRequest,
    check_monitor,
    list_model_versions,
    refit_segments,
    rollback_model,
    segment_migration,
)
from mallseg.app.run_artifacts import load_run
from mallseg.data.ingest import ingest_file
from mallseg.monitor.versions import lineage_entries
from mallseg.monitor.windows import active_customers
from mallseg.workspace import RunNotFoundError, Workspace


def test_without_new_data_there_is_nothing_to_compare(event_workspace: Any,
                                                       tmp_path: Path) -> None:
    with Workspace.open(event_workspace.copy(tmp_path / "ws")) as ws:
        result = check_monitor(ws)
        assert result.verdict == "stable" and result.report is None
        assert result.message.startswith("no data after the reference time 2026-02-25")
        assert ws.connection.execute(
            "SELECT count(*) FROM runs WHERE kind = 'monitor'").fetchone() == (0,)


def test_a_check_compares_windows_of_one_length_and_keeps_them(event_workspace: Any,
                                                                tmp_path: Path) -> None:
    with Workspace.open(event_workspace.copy(tmp_path / "ws")) as ws:
        for table in ("customers", "visits", "transactions", "exposures"):
            ingest_file(ws, table, event_workspace.updates / f"{table}.parquet")
        result = check_monitor(ws, MonitorRequest(resamples=2))
        con = ws.connection
        reference_time = load_run(ws, "0001").schema.as_of
        latest = con.execute("SELECT greatest((SELECT max(entered_at) FROM visits), "
                             "(SELECT max(purchased_at) FROM transactions), "
                             "(SELECT max(sent_at) FROM exposures), "
                             "(SELECT max(redeemed_at) FROM exposures))").fetchone()[0]
        windows, report = result.windows, result.report
        assert windows is not None and report is not None
        assert windows.reference.until == reference_time and windows.current.until == latest
        assert windows.reference.days == windows.current.days == pytest.approx(
            (latest - reference_time) / timedelta(days=1))
        assert not windows.overlapping
        assert report.reference_size == len(active_customers(con, windows.reference))
        assert report.current_size == len(active_customers(con, windows.current))
        check = ws.get_run(result.monitor_run_id, "monitor")
        assert check.metrics["verdict"] == result.verdict
        assert check.summary.startswith(f"{result.verdict}: ")
        assert check.reference_time == latest
        for snapshot, size in (("reference_window", report.reference_size),
                               ("current_window", report.current_size)):
            table = ws.snapshot_table(check.run_id, snapshot)
            assert table is not None and ws.table_count(table) == size
        # against a run of the same reference time there is nothing to compare
        against = check_monitor(ws, MonitorRequest(against="0001"))
        assert against.report is None and "nothing to compare" in against.message


def test_new_customers_like_the_old_ones_leave_the_model_stable(customer_workspace: Any,
                                                                 tmp_path: Path) -> None:
    with Workspace.open(customer_workspace.copy(tmp_path / "ws")) as ws:
        ingest_file(ws, "customers", customer_workspace.alike)
        result = check_monitor(ws, MonitorRequest(resamples=2))
    assert result.windows is None and result.report is not None
    assert (result.report.reference_size, result.report.current_size) == (1500, 1200)
    assert result.verdict == "stable", result.report.reasons


def test_an_unseen_persona_makes_a_refit_due_and_the_refit_keeps_identities(
    customer_workspace: Any, tmp_path: Path,
) -> None:
    with Workspace.open(customer_workspace.copy(tmp_path / "ws")) as ws:
        old_names = load_run(ws, "0001").segment_names
        ingest_file(ws, "customers", customer_workspace.planted)
        check = check_monitor(ws, MonitorRequest(resamples=2))
        assert check.verdict == "refit due"
        assert {r.signal for r in check.report.reasons} >= {"segment mix", "unfit customers"}
        refit = refit_segments(ws, RefitRequest(k=4, random_state=1))
        kinds = [e.kind for e in refit.identity.events]
        assert kinds == ["kept", "kept", "kept", "appeared"]
        con = ws.connection
        stored = con.execute(
            "SELECT segment_id, segment_name, count(*) AS n, "
            "count(*) FILTER (WHERE customer_id LIKE 'P%') AS planted "
            "FROM segment_assignments WHERE run_id = ? GROUP BY ALL ORDER BY segment_id",
            [refit.run_id]).df()
        assert stored["segment_id"].tolist() == [0, 1, 2, 3]
        assert dict(zip(stored["segment_id"][:3], stored["segment_name"][:3],
                        strict=True)) == old_names
        assert stored["planted"].iloc[3] >= 490 and stored["planted"][:3].sum() <= 10
        segments = con.execute("SELECT segment_id, segment_name FROM segments WHERE run_id = ? "
                               "ORDER BY segment_id", [refit.run_id]).fetchall()
        assert segments == list(zip(stored["segment_id"], stored["segment_name"], strict=True))
        artifacts = load_run(ws, refit.run_id)
        assert artifacts.segment_names == dict(segments)
        assert sorted(artifacts.record.metrics["segment_ids"].values()) == [0, 1, 2, 3]
        assert [e.event for e in lineage_entries(con, refit.run_id)] == [
            "kept", "kept", "kept", "appeared"]

        moves = segment_migration(ws).migration
        assert moves.aligned and (moves.before, moves.after) == ("run 0001",
                                                                 f"run {refit.run_id}")
        assert (moves.joined, moves.left, moves.stayed + moves.moved) == (500, 0, 1500)
        assert moves.stayed >= 0.98 * 1500
        matrix = moves.matrix()
        # flows under the minimum group size (10) are in the totals, not in the matrix
        assert all(0 < f.customers < 10 for f in moves.hidden)
        assert int(matrix.to_numpy().sum()) + sum(f.customers for f in moves.hidden) == 2000
        between = [f for f in (*moves.cells, *moves.hidden) if not f.stayed
                   and f.from_id is not None and f.to_id is not None]
        if moves.top_flows:
            assert moves.top_flows[0].customers == max(f.customers for f in between)
        else:  # every move between segments is under the minimum group size
            assert all(f in moves.hidden for f in between)

        back = rollback_model(ws, "0001")
        versions = list_model_versions(ws)
        assert [(v.run_id, v.source, v.current) for v in versions] == [
            ("0001", "fit", False), (refit.run_id, "refit", False),
            (back.run_id, "rollback", True)]
        assert load_run(ws).segment_names == old_names
        restored = con.execute("SELECT customer_id, segment_id FROM segment_assignments "
                               "WHERE run_id = ? ORDER BY 1", [back.run_id]).df()
        original = con.execute("SELECT customer_id, segment_id FROM segment_assignments "
                               "WHERE run_id = '0001' ORDER BY 1").df()
        pd.testing.assert_frame_equal(restored, original)
        assert ws.snapshot_table(back.run_id, "features") is not None
        assert ws.connection.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'rollback_model'").fetchone() == (1,)


def test_refit_if_due_refits_from_the_checked_version(customer_workspace: Any,
                                                      tmp_path: Path) -> None:
    with Workspace.open(customer_workspace.copy(tmp_path / "ws")) as ws:
        ingest_file(ws, "customers", customer_workspace.planted)
        result = check_monitor(ws, MonitorRequest(resamples=0, refit_if_due=True))
        assert result.verdict == "refit due" and result.refit is not None
        assert result.refit.previous_run_id == "0001"
        assert load_run(ws).run_id == result.refit.run_id
        assert len(lineage_entries(ws.connection, result.refit.run_id)) >= 3


def test_rollback_refuses_the_current_version_and_unknown_runs(customer_workspace: Any,
                                                               tmp_path: Path) -> None:
    with Workspace.open(customer_workspace.copy(tmp_path / "ws")) as ws:
        with pytest.raises(ValueError, match="run 0001 is the current version already"):
            rollback_model(ws, "0001")
        with pytest.raises(RunNotFoundError, match="did you mean 0001"):
            rollback_model(ws, "1")
