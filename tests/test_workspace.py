"""The workspace: creation, versioned schema, migrations, runs and the audit log."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from mallseg.core.schema import CANONICAL_TABLES
from mallseg.workspace import (
    SCHEMA_VERSION,
    Workspace,
    WorkspaceError,
    resolve_workspace_path,
)
from mallseg.workspace import tables as workspace_module


def test_new_workspace_has_every_table_and_the_current_version(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws") as ws:
        tables = {r[0] for r in ws.connection.execute("SHOW TABLES").fetchall()}
        assert set(CANONICAL_TABLES) <= tables
        assert {"quarantine", "ingest_log", "runs", "segment_assignments", "segments",
                "audit_log", "workspace_meta"} <= tables
        assert ws.schema_version == SCHEMA_VERSION
        assert ws.connection.execute("SELECT action FROM audit_log").fetchall() == [
            ("create_workspace",)
        ]
    assert (tmp_path / "ws" / "mallseg.duckdb").exists()


def test_workspace_path_comes_from_argument_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MALLSEG_WORKSPACE", str(tmp_path / "from-env"))
    assert resolve_workspace_path() == tmp_path / "from-env"
    assert resolve_workspace_path(tmp_path / "given") == tmp_path / "given"
    monkeypatch.delenv("MALLSEG_WORKSPACE")
    assert resolve_workspace_path() == Path("mallseg-workspace")


def test_an_older_workspace_is_migrated_step_by_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Workspace.open(tmp_path / "ws"):
        pass
    steps: list[int] = []

    def add_notes_column(con: duckdb.DuckDBPyConnection) -> None:
        steps.append(SCHEMA_VERSION)
        con.execute("ALTER TABLE runs ADD COLUMN notes VARCHAR")

    monkeypatch.setattr(workspace_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(workspace_module.MIGRATIONS, SCHEMA_VERSION, add_notes_column)
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.schema_version == SCHEMA_VERSION + 1
        columns = [r[0] for r in ws.connection.execute("DESCRIBE runs").fetchall()]
        assert "notes" in columns
        actions = [r[0] for r in ws.connection.execute("SELECT action FROM audit_log").fetchall()]
        assert actions[-1] == "migrate_workspace"
    assert steps == [SCHEMA_VERSION]


def test_a_workspace_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws") as ws:
        ws.connection.execute(
            "UPDATE workspace_meta SET value = ? WHERE key = 'schema_version'",
            [str(SCHEMA_VERSION + 5)],
        )
    with pytest.raises(WorkspaceError, match="newer than this mallseg"):
        Workspace.open(tmp_path / "ws")


def test_runs_are_recorded_ok_or_failed(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws") as ws:
        with ws.run("segment", {"k": 5}) as record:
            record["metrics"] = {"silhouette": 0.55}
        with pytest.raises(RuntimeError), ws.run("segment", {"k": 6}):
            raise RuntimeError("boom")
        statuses = ws.connection.execute(
            "SELECT status, parameters FROM runs ORDER BY started_at"
        ).fetchall()
        assert [s for s, _ in statuses] == ["ok", "failed"]
        latest = ws.latest_run("segment")
        assert latest is not None and latest.metrics == {"silhouette": 0.55}


def test_read_only_open_of_a_missing_workspace_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"no mallseg\.duckdb"):
        Workspace.open(tmp_path / "none", read_only=True)


def test_a_version_1_workspace_gains_attributes_run_inputs_and_snapshots(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    con = duckdb.connect(str(folder / "mallseg.duckdb"))
    con.execute("CREATE TABLE workspace_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO workspace_meta VALUES ('schema_version', '1')")
    con.execute("CREATE TABLE runs (run_id VARCHAR PRIMARY KEY, kind VARCHAR, started_at "
                "TIMESTAMP, finished_at TIMESTAMP, status VARCHAR, parameters VARCHAR, "
                "metrics VARCHAR, summary VARCHAR, model_path VARCHAR, mallseg_version VARCHAR)")
    con.execute("INSERT INTO runs VALUES ('segment-20260101T000000-abcdef', 'segment', "
                "'2026-01-01', '2026-01-01', 'ok', '{}', '{}', '', NULL, '0.1.0')")
    con.execute("CREATE TABLE audit_log (logged_at TIMESTAMP, actor VARCHAR, action VARCHAR, "
                "target VARCHAR, details VARCHAR)")
    con.close()
    with Workspace.open(folder) as ws:
        assert ws.schema_version == SCHEMA_VERSION
        old = ws.get_run("segment-20260101T000000-abcdef", "segment")
        assert old.reference_time is None and old.ingest_ids == ()
        with ws.run("segment", {}) as draft:
            ws.save_snapshot(draft.run_id, "features", "SELECT 1 AS x")
        assert draft.run_id == "0001"
        assert ws.snapshot_table("0001", "features") == "snapshot_0001_features"


def test_runs_are_numbered_remember_their_inputs_and_are_found_by_near_ids(
    tmp_path: Path,
) -> None:
    from datetime import datetime

    from mallseg.workspace import RunNotFoundError

    with Workspace.open(tmp_path / "ws") as ws:
        with ws.run("segment", {"k": 3}, actor="key:abc") as draft:
            draft.reference_time = datetime(2014, 6, 29)
            draft.feature_schema = {"features": ["age"]}
            draft.feature_schema_hash = "h1"
            draft.ingest_ids = ["ingest-1"]
        with pytest.raises(ValueError), ws.run("segment", {}) as failing:
            ws.save_snapshot(failing.run_id, "features", "SELECT 1 AS x")
            raise ValueError("fit failed")
        assert ws.snapshot_table(failing.run_id, "features") is None
        assert not ws.has_table("snapshot_0002_features")
        run = ws.get_run("0001", "segment")
        assert (run.reference_time, run.feature_schema_hash, run.ingest_ids, run.actor) == (
            datetime(2014, 6, 29), "h1", ("ingest-1",), "key:abc")
        assert ws.get_run(None, "segment").run_id == "0001"
        with pytest.raises(RunNotFoundError, match="did you mean 0001"):
            ws.get_run("1", "segment")
        with pytest.raises(RunNotFoundError, match="did not finish"):
            ws.get_run("0002", "segment")


def test_a_folder_without_a_workspace_is_not_created_when_asked_not_to(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="no workspace yet"):
        Workspace.open(tmp_path / "elsewhere", create=False)
    assert not (tmp_path / "elsewhere" / "mallseg.duckdb").exists()
