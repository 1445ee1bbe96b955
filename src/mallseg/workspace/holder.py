"""The note a running service leaves in its workspace folder: its URL and process id.

DuckDB lets one process write a database file; while the service runs, it is that
process. It writes ``service.lock`` (JSON: ``url``, ``pid``, ``started_at``) next to
``mallseg.duckdb`` when it starts and removes it when it stops, so that a command refused
the workspace can say which service holds it and what to do. A note whose process is gone
(the service was killed) is ignored.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_service_lock(folder, "http://127.0.0.1:8321")
>>> read_service_lock(folder).url
'http://127.0.0.1:8321'
>>> remove_service_lock(folder)
>>> read_service_lock(folder) is None
True
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mallseg.workspace.runs import utc_now

__all__ = [
    "SERVICE_LOCK_FILE",
    "ServiceLock",
    "holder_sentence",
    "read_service_lock",
    "remove_service_lock",
    "write_service_lock",
]

SERVICE_LOCK_FILE = "service.lock"
"""Name of the note in the workspace folder."""


@dataclass(frozen=True)
class ServiceLock:
    """Which service holds a workspace.

    >>> ServiceLock("http://127.0.0.1:8321", 4242, "2026-03-01T12:00:00Z").to_dict()["pid"]
    4242
    """

    url: str
    pid: int
    started_at: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return asdict(self)


def write_service_lock(folder: Path, url: str) -> Path:
    """Write this process's note into ``folder``; return its path (see the module)."""
    path = Path(folder) / SERVICE_LOCK_FILE
    note = ServiceLock(url, os.getpid(), utc_now().isoformat(timespec="seconds") + "Z")
    temporary = path.with_suffix(".lock.tmp")
    temporary.write_text(json.dumps(note.to_dict()) + "\n")
    temporary.replace(path)
    return path


def read_service_lock(folder: Path) -> ServiceLock | None:
    """The note in ``folder``, or None when there is none, it is unreadable or stale.

    >>> import tempfile, pathlib, json
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / SERVICE_LOCK_FILE).write_text(json.dumps({"url": "u", "pid": -1}))
    >>> read_service_lock(folder) is None  # no such process: stale
    True
    """
    try:
        data = json.loads((Path(folder) / SERVICE_LOCK_FILE).read_text())
        note = ServiceLock(str(data["url"]), int(data["pid"]), str(data.get("started_at", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return note if _alive(note.pid) else None


def remove_service_lock(folder: Path) -> None:
    """Remove the note if this process wrote it (see the module)."""
    path = Path(folder) / SERVICE_LOCK_FILE
    try:
        data = json.loads(path.read_text())
        if int(data.get("pid", -1)) == os.getpid():
            path.unlink()
    except (OSError, ValueError, TypeError):
        return


def holder_sentence(folder: Path) -> str | None:
    """What a refused command tells its user when a service holds ``folder``.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_service_lock(folder, "http://127.0.0.1:8321")
    >>> holder_sentence(folder).startswith("the mallseg service at http://127.0.0.1:8321 ")
    True
    """
    note = read_service_lock(folder)
    if note is None:
        return None
    return (f"the mallseg service at {note.url} (process {note.pid}) holds it: use its API "
            f"({note.url}/docs), or stop it (Ctrl+C where it runs, or `kill {note.pid}`) and "
            "run the command again")


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
