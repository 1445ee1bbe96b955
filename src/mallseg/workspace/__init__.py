"""The workspace: one DuckDB file holding a mall's tables, runs, snapshots and audit log.

:mod:`~mallseg.workspace.database` opens (creates, migrates) it; :mod:`~mallseg.workspace.tables`
holds the layout and migrations; :mod:`~mallseg.workspace.runs` the run records and
snapshots.
"""

from mallseg.workspace.database import (
    DATABASE_FILE,
    DEFAULT_WORKSPACE,
    WORKSPACE_ENV_VAR,
    Workspace,
    WorkspaceError,
    resolve_workspace_path,
)
from mallseg.workspace.runs import RunDraft, RunNotFoundError, RunRecord
from mallseg.workspace.tables import SCHEMA_VERSION, SYSTEM_TABLES

__all__ = [
    "DATABASE_FILE",
    "DEFAULT_WORKSPACE",
    "SCHEMA_VERSION",
    "SYSTEM_TABLES",
    "WORKSPACE_ENV_VAR",
    "RunDraft",
    "RunNotFoundError",
    "RunRecord",
    "Workspace",
    "WorkspaceError",
    "resolve_workspace_path",
]
