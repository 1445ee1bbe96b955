"""How much memory, how many threads and which spill folder a workspace connection uses.

DuckDB's own defaults take 80% of the machine's memory and spill next to the database
file only when told where; on a shared machine a large step could then grow without
bound. Every workspace connection therefore runs with a deliberate memory limit (its
buffer manager's; Python and the libraries need room beside it), a thread count, and a
temp directory inside the workspace, ``<workspace>/.tmp/<process id>``: one folder per
process, so that readers of the same workspace never share spill files, removed when the
workspace is closed, and a dead process's folder removed by the next one that opens the
workspace.

Set ``MALLSEG_MEMORY_LIMIT`` (``3GiB``, ``1500MB``) and ``MALLSEG_THREADS`` to change them.

Examples
--------
>>> limits = connection_limits(environ={"MALLSEG_MEMORY_LIMIT": "1.5GiB",
...                                     "MALLSEG_THREADS": "2"})
>>> limits.memory_limit, limits.threads
('1.5GiB', 2)
>>> con = duckdb.connect()
>>> apply_limits(con, limits)
>>> con.execute("SELECT current_setting('threads')").fetchone()
(2,)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from mallseg.core.sql_text import quote_literal

__all__ = [
    "DEFAULT_MEMORY_LIMIT_BYTES",
    "MEMORY_LIMIT_ENV_VAR",
    "TEMP_FOLDER",
    "THREADS_ENV_VAR",
    "ConnectionLimits",
    "LimitError",
    "apply_limits",
    "connection_limits",
    "release_cache",
    "remove_process_temp",
    "remove_stale_temp",
]

MEMORY_LIMIT_ENV_VAR = "MALLSEG_MEMORY_LIMIT"
THREADS_ENV_VAR = "MALLSEG_THREADS"
TEMP_FOLDER = ".tmp"
DEFAULT_MEMORY_LIMIT_BYTES = 2 * 1024**3
"""2 GiB, or half the machine's memory when that is less: with Python, pandas and
scikit-learn beside it, each step of 1M customers / 100M purchases stays under 4 GiB
(bench/bench_steps.py measures it)."""

MINIMUM_MEMORY_LIMIT_BYTES = 64 * 1024**2
_UNITS = {"B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4,
          "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.I)


class LimitError(ValueError):
    """A memory limit or thread count that cannot be used (the message says why)."""


@dataclass(frozen=True)
class ConnectionLimits:
    """The settings a workspace connection runs with.

    Attributes
    ----------
    memory_limit:
        DuckDB's buffer-manager limit, as DuckDB reads it (``2GiB``).
    threads:
        DuckDB's worker threads.
    temp_directory:
        Where DuckDB spills what does not fit (``None``: DuckDB's default).
    """

    memory_limit: str
    threads: int
    temp_directory: Path | None = None


def connection_limits(folder: Path | None = None, *,
                      environ: Mapping[str, str] | None = None) -> ConnectionLimits:
    """The limits for a workspace at ``folder``, from the environment or the defaults.

    Raises
    ------
    LimitError
        When ``MALLSEG_MEMORY_LIMIT`` or ``MALLSEG_THREADS`` is not a size or a count.

    >>> connection_limits(Path("/data/ws"), environ={}).temp_directory == Path(
    ...     "/data/ws", TEMP_FOLDER, str(os.getpid()))
    True
    >>> connection_limits(environ={"MALLSEG_MEMORY_LIMIT": "lots"})
    Traceback (most recent call last):
    ...
    mallseg.workspace.limits.LimitError: MALLSEG_MEMORY_LIMIT='lots': expected a size such as 3GiB or 1500MB (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB); unset it for the default (2GiB, or half the machine's memory when less)
    """  # noqa: E501
    env = os.environ if environ is None else environ
    memory = env.get(MEMORY_LIMIT_ENV_VAR, "").strip() or _default_memory_limit()
    size = _SIZE.match(memory)
    if not size:
        raise LimitError(
            f"{MEMORY_LIMIT_ENV_VAR}={memory!r}: expected a size such as 3GiB or 1500MB "
            "(units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB); unset it for the default "
            "(2GiB, or half the machine's memory when less)"
        )
    if float(size.group(1)) * _UNITS[size.group(2).upper()] < MINIMUM_MEMORY_LIMIT_BYTES:
        raise LimitError(
            f"{MEMORY_LIMIT_ENV_VAR}={memory!r}: below the 64MiB a workspace needs to open; "
            "give 64MiB or more (2GiB suits 1M customers)"
        )
    threads_text = env.get(THREADS_ENV_VAR, "").strip()
    if threads_text:
        if not threads_text.isdigit() or int(threads_text) < 1:
            raise LimitError(f"{THREADS_ENV_VAR}={threads_text!r}: expected a whole number "
                             "of threads, 1 or more; unset it to use every available core")
        threads = int(threads_text)
    else:
        threads = len(os.sched_getaffinity(0))
    temp = Path(folder, TEMP_FOLDER, str(os.getpid())) if folder is not None else None
    return ConnectionLimits(memory, threads, temp)


def apply_limits(con: duckdb.DuckDBPyConnection, limits: ConnectionLimits) -> None:
    """Set ``limits`` on the connection (read back with ``current_setting``).

    >>> con = duckdb.connect()
    >>> apply_limits(con, ConnectionLimits("512MiB", 1))
    >>> con.execute("SELECT current_setting('memory_limit')").fetchone()
    ('512.0 MiB',)
    """
    try:
        con.execute(f"SET memory_limit = {quote_literal(limits.memory_limit)}")
    except duckdb.Error as exc:
        raise LimitError(f"{MEMORY_LIMIT_ENV_VAR}={limits.memory_limit!r}: DuckDB refused "
                         f"it ({str(exc).splitlines()[0]})") from exc
    con.execute(f"SET threads = {int(limits.threads)}")
    if limits.temp_directory is not None:
        try:  # DuckDB creates only the last folder of the path
            limits.temp_directory.parent.mkdir(parents=True, exist_ok=True)
        except OSError:  # a workspace read from a folder this user cannot write
            return
        con.execute(f"SET temp_directory = {quote_literal(str(limits.temp_directory))}")


def release_cache(con: duckdb.DuckDBPyConnection, limits: ConnectionLimits | None = None
                  ) -> None:
    """Evict the table blocks DuckDB keeps cached after a query, up to its memory limit.

    DuckDB keeps what it read in memory until the limit is reached; a step that then
    builds large frames in Python (features of every customer, then model selection)
    would hold both. Lowering the limit for a moment makes DuckDB write out or drop what
    it can; the limit is then set back (``limits``' limit, by default the connection's
    own). What cannot be freed stays (no error).

    >>> con = duckdb.connect()
    >>> release_cache(con, ConnectionLimits("1GiB", 1))
    >>> con.execute("SELECT current_setting('memory_limit')").fetchone()
    ('1.0 GiB',)
    """
    if limits is not None:
        limit = limits.memory_limit
    else:
        row = con.execute("SELECT current_setting('memory_limit')").fetchone()
        limit = str(row[0]) if row else connection_limits().memory_limit
    # blocks in use: DuckDB refuses the lower limit, having freed what it could
    with contextlib.suppress(duckdb.Error):
        con.execute(f"SET memory_limit = '{MINIMUM_MEMORY_LIMIT_BYTES}B'")
    con.execute(f"SET memory_limit = {quote_literal(limit)}")


def remove_stale_temp(folder: Path) -> list[Path]:
    """Remove the spill folders of processes that no longer run; return what was removed.

    A process killed mid-query leaves its spill files behind; they may hold customer
    data, so they do not outlive it.

    >>> import tempfile
    >>> ws = Path(tempfile.mkdtemp())
    >>> (ws / TEMP_FOLDER / "999999999").mkdir(parents=True)
    >>> [p.name for p in remove_stale_temp(ws)]
    ['999999999']
    """
    root = folder / TEMP_FOLDER
    if not root.is_dir():
        return []
    removed: list[Path] = []
    try:
        children = sorted(root.iterdir())
    except OSError:
        return removed
    for child in children:
        if child.name.isdigit() and (int(child.name) == os.getpid() or _alive(int(child.name))):
            continue
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
        removed.append(child)
    return removed


def remove_process_temp(limits: ConnectionLimits) -> None:
    """Remove this process's spill folder (after the connection closed) and an empty root.

    >>> import tempfile
    >>> limits = connection_limits(Path(tempfile.mkdtemp()), environ={})
    >>> limits.temp_directory.mkdir(parents=True)
    >>> remove_process_temp(limits)
    >>> limits.temp_directory.parent.exists()
    False
    """
    if limits.temp_directory is None:
        return
    shutil.rmtree(limits.temp_directory, ignore_errors=True)
    # kept when another process spills there too
    with contextlib.suppress(OSError):
        limits.temp_directory.parent.rmdir()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _default_memory_limit() -> str:
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        physical = 0
    limit = min(DEFAULT_MEMORY_LIMIT_BYTES, physical // 2) if physical else \
        DEFAULT_MEMORY_LIMIT_BYTES
    return f"{limit // 1024**2}MiB"
