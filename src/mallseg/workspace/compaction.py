"""Compaction: the workspace database copied into a fresh file, so that old pages are gone.

DuckDB reuses freed blocks but does not overwrite them: after a ``DELETE`` and even a
``CHECKPOINT``, the bytes of deleted rows may stay in the file. Compaction copies every
table, view and sequence into a new file (``ATTACH`` + ``COPY FROM DATABASE``), closes
the old one and puts the new file in its place; the workspace's connection is then the
new file's. Erasure ends with it.

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> ws = Workspace.open(folder / "ws")
>>> _ = ws.connection.execute("CREATE TABLE notes AS SELECT 'secret-' || range AS note "
...                           "FROM range(50000)")
>>> _ = ws.connection.execute("DELETE FROM notes WHERE note = 'secret-77'")
>>> result = compact_database(ws)
>>> b"secret-77," in (folder / "ws" / "mallseg.duckdb").read_bytes()
False
>>> ws.table_count("notes")
49999
>>> ws.close()
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import duckdb

from mallseg.core.sql_text import quote_identifier, quote_literal
from mallseg.workspace.database import DATABASE_FILE, Workspace, configure_connection

__all__ = ["Compaction", "compact_database"]

_FRESH_SUFFIX = ".compacting"


@dataclass(frozen=True)
class Compaction:
    """The database file's size before and after compaction, in bytes.

    >>> Compaction(4_000_000, 1_000_000).bytes_freed
    3000000
    """

    bytes_before: int
    bytes_after: int

    @property
    def bytes_freed(self) -> int:
        """How much smaller the file became."""
        return self.bytes_before - self.bytes_after


def compact_database(workspace: Workspace) -> Compaction:
    """Copy the workspace database into a fresh file and swap it in; reconnect.

    Raises
    ------
    RuntimeError
        When the workspace is open read-only.
    """
    if workspace.read_only:
        raise RuntimeError(f"workspace {workspace.folder}: opened read-only, cannot compact")
    path = workspace.folder / DATABASE_FILE
    fresh = workspace.folder / (DATABASE_FILE + _FRESH_SUFFIX)
    fresh.unlink(missing_ok=True)
    con = workspace.connection
    con.execute("CHECKPOINT")
    before = path.stat().st_size
    row = con.execute("SELECT current_database()").fetchone()
    current = str(row[0]) if row else "mallseg"
    con.execute(f"ATTACH {quote_literal(str(fresh))} AS _compacted")
    try:
        con.execute(f"COPY FROM DATABASE {quote_identifier(current)} TO _compacted")
    finally:
        con.execute("DETACH _compacted")
    con.close()
    os.replace(fresh, path)
    for leftover in (path.with_name(path.name + ".wal"), fresh.with_name(fresh.name + ".wal")):
        leftover.unlink(missing_ok=True)
    new = duckdb.connect(str(path))
    configure_connection(new, workspace.limits)
    workspace.connection = new
    return Compaction(before, path.stat().st_size)
