"""The workspace: creation, versioned schema, migrations, runs and the audit log."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from mallseg import workspace as workspace_module
from mallseg.core.schema import CANONICAL_TABLES
from mallseg.workspace import (
    SCHEMA_VERSION,
    Workspace,
    WorkspaceError,
    resolve_workspace_path,
)


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
