"""A workspace connection runs with a deliberate memory limit, thread count and spill folder."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from mallseg.workspace import Workspace, WorkspaceError
from mallseg.workspace.compaction import compact_database
from mallseg.workspace.limits import (
    DEFAULT_MEMORY_LIMIT_BYTES,
    MEMORY_LIMIT_ENV_VAR,
    TEMP_FOLDER,
    THREADS_ENV_VAR,
)

# About 100 MB of distinct strings to sort: more than the 64 MiB limit below.
_BIG_SORT = ("SELECT count(*), min(s), max(s) FROM (SELECT s FROM (SELECT md5(range::VARCHAR) "
             "|| md5((range + 1)::VARCHAR) AS s FROM range(1500000)) ORDER BY s)")


def _setting(ws: Workspace, name: str) -> object:
    row = ws.connection.execute("SELECT current_setting(?)", [name]).fetchone()
    assert row is not None
    return row[0]


def test_the_environment_sets_the_memory_limit_threads_and_a_spill_folder_in_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV_VAR, "300MiB")
    monkeypatch.setenv(THREADS_ENV_VAR, "1")
    with Workspace.open(tmp_path / "ws") as ws:
        assert _setting(ws, "memory_limit") == "300.0 MiB"
        assert _setting(ws, "threads") == 1
        assert _setting(ws, "temp_directory") == str(
            (tmp_path / "ws" / TEMP_FOLDER / str(os.getpid())).resolve())


def test_without_settings_the_limit_is_the_default_not_duckdbs_share_of_the_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MEMORY_LIMIT_ENV_VAR, raising=False)
    monkeypatch.delenv(THREADS_ENV_VAR, raising=False)
    with Workspace.open(tmp_path / "ws") as ws:
        row = ws.connection.execute(
            "SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'").fetchone()
        assert row is not None
        assert _setting(ws, "threads") == len(os.sched_getaffinity(0))
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    expected = min(DEFAULT_MEMORY_LIMIT_BYTES, physical // 2) / 1024**3
    assert row[0] == f"{expected:.1f} GiB"


def test_a_query_bigger_than_the_limit_spills_into_the_workspace_instead_of_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV_VAR, "64MiB")
    monkeypatch.setenv(THREADS_ENV_VAR, "1")
    # The same query under the same limit with nowhere to spill fails: it is bigger.
    bare = duckdb.connect()
    bare.execute("SET memory_limit = '64MiB'; SET threads = 1; SET temp_directory = ''")
    with pytest.raises(duckdb.OutOfMemoryException):
        bare.execute(_BIG_SORT).fetchone()
    bare.close()
    spill = tmp_path / "ws" / TEMP_FOLDER / str(os.getpid())
    with Workspace.open(tmp_path / "ws") as ws:
        assert not spill.exists()  # DuckDB makes the folder when it first spills
        count, first, last = ws.connection.execute(_BIG_SORT).fetchone() or (0, "", "")
        assert count == 1_500_000
        assert first < last
        assert spill.is_dir()
    assert not (tmp_path / "ws" / TEMP_FOLDER).exists()  # removed with the connection


def test_compaction_keeps_the_limits_on_the_new_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV_VAR, "200MiB")
    with Workspace.open(tmp_path / "ws") as ws:
        compact_database(ws)
        assert _setting(ws, "memory_limit") == "200.0 MiB"
        assert str(_setting(ws, "temp_directory")).endswith(f"{TEMP_FOLDER}/{os.getpid()}")


def test_a_dead_processs_spill_files_are_removed_when_the_workspace_is_opened(
    tmp_path: Path
) -> None:
    Workspace.open(tmp_path / "ws").close()
    dead = tmp_path / "ws" / TEMP_FOLDER / "999999999"
    dead.mkdir(parents=True)
    (dead / "duckdb_temp_storage-0.tmp").write_bytes(b"customer C0000042 spilled")
    alive = tmp_path / "ws" / TEMP_FOLDER / str(os.getppid())  # a running process
    alive.mkdir()
    with Workspace.open(tmp_path / "ws", read_only=True):
        assert not dead.exists()
        assert alive.is_dir()


@pytest.mark.parametrize(("name", "value", "expected"), [
    (MEMORY_LIMIT_ENV_VAR, "lots", "MALLSEG_MEMORY_LIMIT='lots': expected a size such as 3GiB"),
    (MEMORY_LIMIT_ENV_VAR, "10MB", "MALLSEG_MEMORY_LIMIT='10MB': below the 64MiB"),
    (THREADS_ENV_VAR, "0", "MALLSEG_THREADS='0': expected a whole number of threads"),
])
def test_an_unusable_setting_stops_the_open_with_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(WorkspaceError) as caught:
        Workspace.open(tmp_path / "ws")
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message
    assert message.startswith(f"workspace {(tmp_path / 'ws').resolve()}: ")


def _cached_table_bytes(ws: Workspace) -> int:
    row = ws.connection.execute(
        "SELECT sum(memory_usage_bytes) FROM duckdb_memory() WHERE tag = 'BASE_TABLE'"
    ).fetchone()
    return int(row[0] or 0) if row else 0


def test_releasing_memory_drops_the_cached_table_blocks_and_keeps_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV_VAR, "1GiB")
    with Workspace.open(tmp_path / "ws") as ws:
        ws.connection.execute("CREATE TABLE events AS SELECT range AS a, hash(range) AS b "
                              "FROM range(20000000)")
        ws.connection.execute("CHECKPOINT")
        ws.connection.execute("SELECT sum(a), max(b) FROM events").fetchall()
        assert _cached_table_bytes(ws) > 150 * 1024**2  # 160 MB of hashes read
        ws.release_memory()
        assert _cached_table_bytes(ws) <= 64 * 1024**2  # the lowest limit set for a moment
        assert _setting(ws, "memory_limit") == "1.0 GiB"
        total = ws.connection.execute("SELECT sum(a) FROM events").fetchone()
        assert total == (sum(range(20_000_000)),)
