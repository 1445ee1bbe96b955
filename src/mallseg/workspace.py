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
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

from mallseg import __version__
from mallseg.core.schema import CANONICAL_TABLES, Table

__all__ = [
    "DEFAULT_WORKSPACE",
    "SCHEMA_VERSION",
    "WORKSPACE_ENV_VAR",
    "Workspace",
    "WorkspaceError",
    "resolve_workspace_path",
]

SCHEMA_VERSION = 1
"""Version of the workspace layout written by this release."""

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


def canonical_table_ddl(table: Table) -> str:
    """CREATE TABLE statement of a canonical table, with its primary key.

    >>> print(canonical_table_ddl(CANONICAL_TABLES["stores"]).splitlines()[0])
    CREATE TABLE IF NOT EXISTS stores (
    """
    cols = [f"    {c.name} {c.sql_type}" for c in table.columns]
    cols.append("    _ingest_id VARCHAR")
    if not table.derived_key:
        # Event tables (visits, transactions) reach 100M+ rows: an index on their key would
        # cost memory for nothing, since ingest already guarantees the key is unique.
        cols.append(f"    PRIMARY KEY ({', '.join(table.key)})")
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n" + ",\n".join(cols) + "\n)"


_SYSTEM_DDL = (
    """CREATE TABLE IF NOT EXISTS workspace_meta (
        key VARCHAR PRIMARY KEY,
        value VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS quarantine (
        ingest_id VARCHAR,
        table_name VARCHAR,
        source_file VARCHAR,
        source_row BIGINT,
        reason VARCHAR,
        raw_record VARCHAR,
        quarantined_at TIMESTAMP
    )""",
    """CREATE TABLE IF NOT EXISTS ingest_log (
        ingest_id VARCHAR PRIMARY KEY,
        table_name VARCHAR,
        source_file VARCHAR,
        content_sha256 VARCHAR,
        column_mapping VARCHAR,
        rows_read BIGINT,
        rows_loaded BIGINT,
        rows_new BIGINT,
        rows_updated BIGINT,
        rows_unchanged BIGINT,
        rows_quarantined BIGINT,
        started_at TIMESTAMP,
        finished_at TIMESTAMP,
        status VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY,
        kind VARCHAR,
        started_at TIMESTAMP,
        finished_at TIMESTAMP,
        status VARCHAR,
        parameters VARCHAR,
        metrics VARCHAR,
        summary VARCHAR,
        model_path VARCHAR,
        mallseg_version VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS segment_assignments (
        run_id VARCHAR,
        customer_id VARCHAR,
        segment_id INTEGER,
        segment_name VARCHAR,
        confidence DOUBLE,
        PRIMARY KEY (run_id, customer_id)
    )""",
    """CREATE TABLE IF NOT EXISTS segments (
        run_id VARCHAR,
        segment_id INTEGER,
        segment_name VARCHAR,
        size BIGINT,
        share DOUBLE,
        description VARCHAR,
        profile VARCHAR,
        PRIMARY KEY (run_id, segment_id)
    )""",
    """CREATE TABLE IF NOT EXISTS audit_log (
        logged_at TIMESTAMP,
        actor VARCHAR,
        action VARCHAR,
        target VARCHAR,
        details VARCHAR
    )""",
)

Migration = Callable[[duckdb.DuckDBPyConnection], None]

MIGRATIONS: dict[int, Migration] = {}
"""Steps from version ``v`` to ``v + 1``, keyed by ``v``; a later release adds entries here."""


@dataclass(frozen=True)
class RunRecord:
    """A finished run as kept in the ``runs`` table."""

    run_id: str
    kind: str
    status: str
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    model_path: str | None = None


class Workspace:
    """A workspace folder with its DuckDB database.

    Use :meth:`open` (creates the folder and tables when missing, migrates an old layout)
    as a context manager so that the database file is closed.
    """

    def __init__(self, folder: Path, connection: duckdb.DuckDBPyConnection) -> None:
        self.folder = folder
        self.connection = connection

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path | None = None, *, read_only: bool = False) -> Workspace:
        """Open (and create or migrate when needed) the workspace at ``path``.

        Raises
        ------
        WorkspaceError
            When the folder is a file, the database is locked by another process, or it was
            written by a newer mallseg.
        """
        folder = resolve_workspace_path(path).resolve()
        if folder.exists() and not folder.is_dir():
            raise WorkspaceError(f"workspace {folder}: is a file, expected a folder")
        if read_only and not (folder / DATABASE_FILE).exists():
            raise WorkspaceError(f"workspace {folder}: no {DATABASE_FILE} here; run an ingest")
        folder.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(folder / DATABASE_FILE), read_only=read_only)
        except duckdb.IOException as exc:
            raise WorkspaceError(f"workspace {folder}: cannot open the database ({exc})") from exc
        # Timestamps are stored as local wall-clock times; a fixed session zone makes the
        # conversion of time-zone-aware inputs the same on every machine.
        con.execute("SET TimeZone = 'UTC'")
        # Large loads need not keep row order (queries that care say ORDER BY), which lets
        # DuckDB stream them in less memory.
        con.execute("SET preserve_insertion_order = false")
        ws = cls(folder, con)
        if not read_only:
            ws._create_or_migrate()
        return ws

    def _create_or_migrate(self) -> None:
        con = self.connection
        con.execute(_SYSTEM_DDL[0])
        row = con.execute(
            "SELECT value FROM workspace_meta WHERE key = 'schema_version'"
        ).fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise WorkspaceError(
                f"workspace {self.folder}: schema version {version} is newer than this "
                f"mallseg ({__version__}) understands ({SCHEMA_VERSION}); upgrade mallseg"
            )
        if version == 0:
            for ddl in _SYSTEM_DDL[1:]:
                con.execute(ddl)
            for table in CANONICAL_TABLES.values():
                con.execute(canonical_table_ddl(table))
            self._set_meta("schema_version", str(SCHEMA_VERSION))
            self._set_meta("created_at", _now().isoformat())
            self.audit("create_workspace", str(self.folder), {"schema_version": SCHEMA_VERSION})
            return
        while version < SCHEMA_VERSION:
            MIGRATIONS[version](con)
            version += 1
            self._set_meta("schema_version", str(version))
            self.audit("migrate_workspace", str(self.folder), {"to_version": version})

    def _set_meta(self, key: str, value: str) -> None:
        self.connection.execute(
            "INSERT OR REPLACE INTO workspace_meta VALUES (?, ?)", [key, value]
        )

    @property
    def schema_version(self) -> int:
        """Schema version recorded in the database."""
        row = self.connection.execute(
            "SELECT value FROM workspace_meta WHERE key = 'schema_version'"
        ).fetchone()
        return int(row[0]) if row else 0

    # -- context manager -------------------------------------------------------------------
    def close(self) -> None:
        """Close the database connection."""
        self.connection.close()

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
        row = self.connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        return int(row[0]) if row else 0

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

    # -- audit and runs --------------------------------------------------------------------
    def audit(
        self,
        action: str,
        target: str,
        details: Mapping[str, Any] | None = None,
        actor: str | None = None,
    ) -> None:
        """Append one line to the audit log."""
        self.connection.execute(
            "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)",
            [
                _now(),
                actor or os.environ.get("MALLSEG_ACTOR") or "cli",
                action,
                target,
                json.dumps(dict(details or {}), default=str, sort_keys=True),
            ],
        )

    @contextmanager
    def run(self, kind: str, parameters: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Record a run in the ``runs`` table.

        Yields a dict the caller fills with ``metrics``, ``summary`` and ``model_path``;
        the row is written as ``ok`` on success and ``failed`` otherwise.

        The run id is available as ``record["run_id"]`` inside the block.
        """
        run_id = f"{kind}-{_now().strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        record: dict[str, Any] = {"run_id": run_id, "metrics": {}, "summary": "",
                                  "model_path": None}
        started = _now()
        self.connection.execute(
            "INSERT INTO runs VALUES (?, ?, ?, NULL, 'running', ?, '{}', '', NULL, ?)",
            [run_id, kind, started, json.dumps(dict(parameters), default=str), __version__],
        )
        status = "failed"
        try:
            yield record
            status = "ok"
        finally:
            self.connection.execute(
                "UPDATE runs SET finished_at = ?, status = ?, metrics = ?, summary = ?, "
                "model_path = ? WHERE run_id = ?",
                [
                    _now(),
                    status,
                    json.dumps(record["metrics"], default=str),
                    record["summary"],
                    record["model_path"],
                    run_id,
                ],
            )
            self.audit(f"run_{kind}", run_id, {"status": status})

    def latest_run(self, kind: str) -> RunRecord | None:
        """The newest successful run of ``kind``, or None."""
        row = self.connection.execute(
            "SELECT run_id, kind, status, parameters, metrics, model_path FROM runs "
            "WHERE kind = ? AND status = 'ok' ORDER BY started_at DESC LIMIT 1",
            [kind],
        ).fetchone()
        if row is None:
            return None
        return RunRecord(row[0], row[1], row[2], json.loads(row[3]), json.loads(row[4]), row[5])


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
