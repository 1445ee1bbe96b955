"""The workspace: one DuckDB file holding a mall's canonical tables and everything done to them.

Besides the six canonical tables the workspace keeps the quarantine of rejected rows, the
log of ingested files, the history of runs, segment assignments, saved models' metadata and
an audit log. The schema carries a version number; opening an older workspace migrates it.

Examples
--------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as folder:
...     with Workspace.open(pathlib.Path(folder) / "ws") as ws:
...         ws.table_count("customers")
0
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pandas as pd

from mallseg import __version__
from mallseg.core.schema import CANONICAL_TABLES
from mallseg.core.sql_text import quote_identifier
from mallseg.workspace import tables
from mallseg.workspace.holder import holder_sentence
from mallseg.workspace.limits import (
    ConnectionLimits,
    LimitError,
    apply_limits,
    connection_limits,
    release_cache,
    remove_process_temp,
    remove_stale_temp,
)
from mallseg.workspace.runs import (
    RunDraft,
    RunRecord,
    find_run,
    list_runs,
    next_run_id,
    record_from_row,
    run_select_sql,
    snapshot_table_name,
    utc_now,
)

__all__ = [
    "DATABASE_FILE",
    "DEFAULT_WORKSPACE",
    "WORKSPACE_ENV_VAR",
    "Workspace",
    "WorkspaceError",
    "resolve_workspace_path",
]

DEFAULT_WORKSPACE = Path("mallseg-workspace")
WORKSPACE_ENV_VAR = "MALLSEG_WORKSPACE"
DATABASE_FILE = "mallseg.duckdb"


class WorkspaceError(RuntimeError):
    """The workspace cannot be opened or is not in a usable state."""


def resolve_workspace_path(path: str | Path | None = None) -> Path:
    """Return the workspace folder: ``path``, else ``$MALLSEG_WORKSPACE``, else the default.

    >>> resolve_workspace_path("/tmp/x")
    PosixPath('/tmp/x')
    """
    if path is not None:
        return Path(path)
    from_env = os.environ.get(WORKSPACE_ENV_VAR)
    return Path(from_env) if from_env else DEFAULT_WORKSPACE


class Workspace:
    """A workspace folder with its DuckDB database.

    Use :meth:`open` (creates the folder and tables when missing, migrates an old layout)
    as a context manager so that the database file is closed.
    """

    def __init__(self, folder: Path, connection: duckdb.DuckDBPyConnection,
                 *, read_only: bool = False, limits: ConnectionLimits | None = None) -> None:
        self.folder = folder
        self.connection = connection
        self.read_only = read_only
        self.limits = limits
        """Memory limit, threads and spill folder the connection runs with."""

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(
        cls, path: str | Path | None = None, *, read_only: bool = False, create: bool = True
    ) -> Workspace:
        """Open (and create or migrate when needed) the workspace at ``path``.

        Parameters
        ----------
        path:
            The workspace folder (default: :func:`resolve_workspace_path`).
        read_only:
            Open for reading only (several readers may share the file).
        create:
            When false, a folder without a workspace database is refused instead of
            being made into a new workspace.

        Raises
        ------
        WorkspaceError
            When the folder is a file, holds no workspace (``create=False`` or
            ``read_only``), the database is locked by another process, it was written
            by a newer mallseg, or ``MALLSEG_MEMORY_LIMIT`` / ``MALLSEG_THREADS`` cannot
            be used.
        """
        folder = resolve_workspace_path(path).resolve()
        if folder.exists() and not folder.is_dir():
            raise WorkspaceError(f"workspace {folder}: is a file, expected a folder")
        if (read_only or not create) and not (folder / DATABASE_FILE).exists():
            raise WorkspaceError(
                f"workspace {folder}: no {DATABASE_FILE} here, so no workspace yet; "
                "load data with `mallseg ingest` (or give --workspace)"
            )
        try:
            limits = connection_limits(folder)
        except LimitError as exc:
            raise WorkspaceError(f"workspace {folder}: {exc}") from exc
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temp(folder)
        try:
            con = duckdb.connect(str(folder / DATABASE_FILE), read_only=read_only)
        except duckdb.IOException as exc:
            raise WorkspaceError(_open_failure(folder, exc)) from exc
        try:
            configure_connection(con, limits)
        except LimitError as exc:
            con.close()
            raise WorkspaceError(f"workspace {folder}: {exc}") from exc
        ws = cls(folder, con, read_only=read_only, limits=limits)
        if read_only:
            ws._check_version(ws.schema_version)
        else:
            ws._create_or_migrate()
        return ws

    def _check_version(self, version: int) -> None:
        if version > tables.SCHEMA_VERSION:
            raise WorkspaceError(
                f"workspace {self.folder}: schema version {version} is newer than this "
                f"mallseg ({__version__}) understands ({tables.SCHEMA_VERSION}); upgrade mallseg"
            )

    def _create_or_migrate(self) -> None:
        con = self.connection
        con.execute(tables.SYSTEM_DDL[0])
        version = self.schema_version
        self._check_version(version)
        if version == 0:
            for ddl in tables.SYSTEM_DDL[1:]:
                con.execute(ddl)
            for table in CANONICAL_TABLES.values():
                con.execute(tables.canonical_table_ddl(table))
            self._set_meta("schema_version", str(tables.SCHEMA_VERSION))
            self._set_meta("created_at", utc_now().isoformat())
            self.audit("create_workspace", str(self.folder),
                       {"schema_version": tables.SCHEMA_VERSION})
            return
        while version < tables.SCHEMA_VERSION:
            tables.MIGRATIONS[version](con)
            version += 1
            self._set_meta("schema_version", str(version))
            self.audit("migrate_workspace", str(self.folder), {"to_version": version})

    def _set_meta(self, key: str, value: str) -> None:
        self.connection.execute(
            "INSERT OR REPLACE INTO workspace_meta VALUES (?, ?)", [key, value]
        )

    @property
    def schema_version(self) -> int:
        """Schema version recorded in the database (0 for an empty database)."""
        exists = next(iter(self.connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'workspace_meta'"
        ).fetchall()), None)
        if not exists or not exists[0]:
            return 0
        row = next(iter(self.connection.execute(
            "SELECT value FROM workspace_meta WHERE key = 'schema_version'"
        ).fetchall()), None)
        return int(row[0]) if row else 0

    def release_memory(self) -> None:
        """Let DuckDB drop the table blocks it keeps cached, before Python needs the room.

        Called between a step's SQL and its in-memory work (model selection after the
        features), so that the step's peak is the larger of the two, not their sum.
        """
        release_cache(self.connection, self.limits or connection_limits())

    # -- context manager -------------------------------------------------------------------
    def close(self) -> None:
        """Close the database connection and remove this process's spill folder."""
        self.connection.close()
        if self.limits is not None:
            remove_process_temp(self.limits)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------
    def table_count(self, table: str) -> int:
        """Number of rows in a workspace table."""
        rows = self.connection.execute(
            f"SELECT count(*) FROM {quote_identifier(table)}"
        ).fetchall()
        row = rows[0] if rows else None
        return int(row[0]) if row else 0

    def has_table(self, table: str) -> bool:
        """Whether the database holds a table of that name."""
        row = next(iter(self.connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
        ).fetchall()), None)
        return bool(row and row[0])

    @property
    def models_folder(self) -> Path:
        """Folder where fitted models are saved."""
        path = self.folder / "models"
        path.mkdir(exist_ok=True)
        return path

    @property
    def exports_folder(self) -> Path:
        """Folder where exports and reports are written by default."""
        path = self.folder / "exports"
        path.mkdir(exist_ok=True)
        return path

    # -- audit -----------------------------------------------------------------------------
    def audit(
        self,
        action: str,
        target: str,
        details: Mapping[str, Any] | None = None,
        actor: str | None = None,
    ) -> None:
        """Append one line to the audit log (actor: given, else ``$MALLSEG_ACTOR``, else cli)."""
        self.connection.execute(
            "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)",
            [
                utc_now(),
                actor or os.environ.get("MALLSEG_ACTOR") or "cli",
                action,
                target,
                json.dumps(dict(details or {}), default=str, sort_keys=True),
            ],
        )

    # -- runs ------------------------------------------------------------------------------
    @contextmanager
    def run(
        self, kind: str, parameters: Mapping[str, Any], *, actor: str | None = None
    ) -> Iterator[RunDraft]:
        """Record a run in the ``runs`` table.

        Yields a :class:`~mallseg.workspace.runs.RunDraft` the caller fills (metrics,
        summary, model path, reference time, feature schema, ingests read); the row is
        written as ``ok`` on success and ``failed`` otherwise. A failed run's snapshots
        are dropped.
        """
        draft = RunDraft(run_id=next_run_id(self.connection), kind=kind)
        who = actor or os.environ.get("MALLSEG_ACTOR") or "cli"
        self.connection.execute(
            "INSERT INTO runs (run_id, kind, started_at, status, parameters, metrics, summary, "
            "mallseg_version, actor) VALUES (?, ?, ?, 'running', ?, '{}', '', ?, ?)",
            [draft.run_id, kind, utc_now(), json.dumps(dict(parameters), default=str),
             __version__, who],
        )
        status = "failed"
        try:
            yield draft
            status = "ok"
        finally:
            if status != "ok":
                self.drop_snapshots(draft.run_id)
            self.connection.execute(
                "UPDATE runs SET finished_at = ?, status = ?, metrics = ?, summary = ?, "
                "model_path = ?, reference_time = ?, feature_schema = ?, "
                "feature_schema_hash = ?, ingest_ids = ? WHERE run_id = ?",
                [
                    utc_now(), status, json.dumps(draft.metrics, default=str), draft.summary,
                    draft.model_path, draft.reference_time,
                    json.dumps(draft.feature_schema, default=str)
                    if draft.feature_schema is not None else None,
                    draft.feature_schema_hash, json.dumps(draft.ingest_ids), draft.run_id,
                ],
            )
            self.audit(f"run_{kind}", draft.run_id, {"status": status}, actor=who)

    def latest_run(self, kind: str) -> RunRecord | None:
        """The newest successful run of ``kind``, or None."""
        runs = list_runs(self.connection, kind)
        return runs[-1] if runs else None

    def get_run(self, run_id: str | None, kind: str) -> RunRecord:
        """The run ``run_id`` of ``kind`` (``None``: the latest).

        Raises
        ------
        mallseg.workspace.runs.RunNotFoundError
            With near matches when there is no such run.
        """
        return find_run(self.connection, run_id, kind, folder=self.folder)

    def run_by_id(self, run_id: str) -> RunRecord | None:
        """Any run by its exact id, whatever its kind or status."""
        row = next(iter(self.connection.execute(
            run_select_sql() + " WHERE run_id = ?", [run_id]
        ).fetchall()), None)
        return record_from_row(row) if row else None

    def completed_ingests(self) -> list[str]:
        """Ids of every completed ingest, oldest first (what a run now would read)."""
        rows = self.connection.execute(
            "SELECT ingest_id FROM ingest_log WHERE status = 'complete' "
            "ORDER BY finished_at, ingest_id"
        ).fetchall()
        return [str(r[0]) for r in rows]

    # -- insight results -------------------------------------------------------------------
    def save_insight(
        self, run_id: str, kind: str, payload: Mapping[str, Any], *, actor: str | None = None
    ) -> None:
        """Keep what insight ``kind`` found for run ``run_id`` (replacing an earlier one)."""
        who = actor or os.environ.get("MALLSEG_ACTOR") or "cli"
        self.connection.execute(
            "INSERT OR REPLACE INTO insight_results VALUES (?, ?, ?, ?, ?)",
            [run_id, kind, utc_now(), who, json.dumps(dict(payload), default=str)],
        )
        self.audit(f"insight_{kind}", run_id, {}, actor=who)

    def insight(self, run_id: str, kind: str) -> dict[str, Any] | None:
        """What insight ``kind`` found for run ``run_id``, or None when it was not computed."""
        row = next(iter(self.connection.execute(
            "SELECT payload FROM insight_results WHERE run_id = ? AND kind = ?", [run_id, kind]
        ).fetchall()), None)
        return json.loads(row[0]) if row else None

    # -- snapshots -------------------------------------------------------------------------
    def save_snapshot(self, run_id: str, snapshot: str, data: str | pd.DataFrame) -> str:
        """Keep ``data`` (a SELECT, or a frame) as run ``run_id``'s snapshot ``snapshot``.

        Returns the table name. Saving again replaces the snapshot.
        """
        name = snapshot_table_name(run_id, snapshot)
        con = self.connection
        if isinstance(data, pd.DataFrame):
            con.register("_snapshot_frame", data)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _snapshot_frame")
            con.unregister("_snapshot_frame")
        else:
            con.execute(f"CREATE OR REPLACE TABLE {name} AS {data}")
        con.execute(
            "INSERT OR REPLACE INTO run_snapshots VALUES (?, ?, ?, ?, ?)",
            [run_id, snapshot, name, self.table_count(name), utc_now()],
        )
        return name

    def snapshot_table(self, run_id: str, snapshot: str) -> str | None:
        """Table name of a run's snapshot, or None when the run kept none."""
        row = next(iter(self.connection.execute(
            "SELECT table_name FROM run_snapshots WHERE run_id = ? AND snapshot = ?",
            [run_id, snapshot],
        ).fetchall()), None)
        return str(row[0]) if row and self.has_table(str(row[0])) else None

    def drop_snapshots(self, run_id: str) -> None:
        """Drop every snapshot of ``run_id``."""
        rows = self.connection.execute(
            "SELECT table_name FROM run_snapshots WHERE run_id = ?", [run_id]
        ).fetchall()
        for (name,) in rows:
            self.connection.execute(f"DROP TABLE IF EXISTS {quote_identifier(str(name))}")
        self.connection.execute("DELETE FROM run_snapshots WHERE run_id = ?", [run_id])


def configure_connection(con: duckdb.DuckDBPyConnection,
                         limits: ConnectionLimits | None = None) -> None:
    """The session settings every workspace connection runs with.

    ``limits`` (memory limit, threads, spill folder) default to
    :func:`~mallseg.workspace.limits.connection_limits` without a spill folder.

    >>> con = duckdb.connect()
    >>> configure_connection(con, ConnectionLimits("1GiB", 1))
    >>> con.execute("SELECT current_setting('TimeZone'), current_setting('memory_limit')"
    ...             ).fetchone()
    ('UTC', '1.0 GiB')
    """
    apply_limits(con, limits or connection_limits())
    # Timestamps are stored as local wall-clock times; a fixed session zone makes the
    # conversion of time-zone-aware inputs the same on every machine.
    con.execute("SET TimeZone = 'UTC'")
    # Large loads need not keep row order (queries that care say ORDER BY), which lets
    # DuckDB stream them in less memory.
    con.execute("SET preserve_insertion_order = false")


def _open_failure(folder: Path, exc: Exception) -> str:
    text = str(exc)
    if "lock" in text.lower():
        holder = holder_sentence(folder)
        if holder is not None:
            return f"workspace {folder} is in use: {holder}"
        return (
            f"workspace {folder} is in use by another mallseg process (one writer at a "
            "time): wait for it to finish, or stop the service that holds it"
        )
    return f"workspace {folder}: cannot open the database ({text.splitlines()[0]})"
