"""Killing ``mallseg ingest`` with SIGKILL at random moments never half-writes the workspace.

A receipts export of 1.4 MB (about 27,000 rows in 14 CSV parts of 2,000 rows) is loaded in
units (``MALLSEG_UNIT_ROWS=1000``: the first unit holds the 20,000 rows parsing decisions
are taken from, then each part is a unit), so one load commits five units. The real
``mallseg ingest transactions PARTS`` command runs in its own process and is killed with
SIGKILL after a random delay, 50 times: one kill in five anywhere in the run (start-up,
reading, typing), the others while units are being committed (after the database's
write-ahead log appears). After each kill the
workspace must hold whole units only, as its ingest log says (a killed load is logged
``stopped`` with the counts of the units it committed), every count must reconcile, and
nothing may be duplicated. Every ten kills the load is run again to completion and must
hold exactly what an uninterrupted load holds; then the workspace goes back to its state
before the receipts.

Each load is forked from a process that has already imported mallseg (as a pre-forking
server does), so that the delays fall on the load rather than on Python's start-up: the
test takes about two minutes on an idle 2-core machine, since surviving crashes at random
points needs many of them.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

UNIT_ROWS = 1000
FIRST_UNIT = 20_000
PART_ROWS = 2000
KILLS = 50
GROUP = 10

_FORK_SERVER = """
import os, sys
import mallseg.cli.main, mallseg.data.ingest  # imported once: every load is a fork
for line in sys.stdin:
    command, *args = line.split("\\t")
    args[-1] = args[-1].rstrip("\\n")
    if command == "run":
        pid = os.fork()
        if pid == 0:
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            sys.argv = ["mallseg", *args]
            try:
                mallseg.cli.main.run()
            except SystemExit as exc:
                os._exit(exc.code if isinstance(exc.code, int) else 1)
            os._exit(0)
        print(pid, flush=True)
    elif command == "wait":
        _, status = os.waitpid(int(args[0]), 0)
        print(os.waitstatus_to_exitcode(status), flush=True)
"""


def _environment() -> dict[str, str]:
    # One pseudonym key for every copy of the workspace (a key file sits beside a folder);
    # one BLAS thread, so that a forked process holds no thread it cannot use.
    return {**os.environ, "MALLSEG_UNIT_ROWS": str(UNIT_ROWS),
            "MALLSEG_PSEUDONYM_KEY": "crash-test key, not a secret",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


class ForkServer:
    """Starts ``mallseg`` commands as forks of one process that has imported mallseg."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _FORK_SERVER], text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        env=_environment())

    def _ask(self, *words: str) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("\t".join(words) + "\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def start(self, *args: str) -> int:
        """Start ``mallseg ARGS``; its process id."""
        return self._ask("run", *args)

    def wait(self, pid: int) -> int:
        """Wait for the command to end; its exit code (-9 when killed)."""
        return self._ask("wait", str(pid))

    def run(self, *args: str) -> None:
        """Run ``mallseg ARGS`` to its end; it must succeed."""
        assert self.wait(self.start(*args)) == 0, args

    def close(self) -> None:
        """End the server."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def server() -> Iterator[ForkServer]:
    """The fork server, for the module."""
    started = ForkServer()
    yield started
    started.close()


@dataclass(frozen=True)
class Loaded:
    """What a workspace holds of the receipts."""

    rows: int
    distinct_ids: int
    quarantined: int
    quarantine_rows_distinct: int
    log: pd.DataFrame


def _read(workspace: Path) -> Loaded:
    # A read-write open replays what the killed process left in the write-ahead log.
    with duckdb.connect(str(workspace / "mallseg.duckdb")) as con:
        rows, distinct = con.execute("SELECT count(*), count(DISTINCT transaction_id) "
                                     "FROM transactions").fetchone() or (0, 0)
        quarantined, distinct_q = con.execute(
            "SELECT count(*), count(DISTINCT (source_file, source_row)) FROM quarantine "
            "WHERE table_name = 'transactions'").fetchone() or (0, 0)
        log = con.execute(
            "SELECT l.*, (SELECT count(*) FROM quarantine q WHERE q.ingest_id = l.ingest_id)"
            " AS quarantine_rows FROM ingest_log l WHERE table_name = 'transactions' "
            "ORDER BY started_at").df()
        orphans = con.execute(
            "SELECT count(*) FROM quarantine WHERE ingest_id NOT IN "
            "(SELECT ingest_id FROM ingest_log)").fetchone()
    assert orphans == (0,), "quarantine rows of a load the ingest log does not know"
    return Loaded(int(rows), int(distinct), int(quarantined), int(distinct_q), log)


@pytest.fixture(scope="module")
def receipts(
    server: ForkServer, tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, list[int]]:
    """The receipts' folder of parts, a workspace with its customers and stores, part sizes."""
    folder = tmp_path_factory.mktemp("crash")
    baseline = folder / "baseline"
    server.run("simulate", "--customers", "2400", "--days", "120", "--seed", "5",
               "--out", str(folder / "sim"))
    for table in ("customers", "stores"):
        pd.read_parquet(folder / "sim" / "inputs" / table).to_csv(folder / f"{table}.csv",
                                                                  index=False)
        server.run("--workspace", str(baseline), "ingest", table, str(folder / f"{table}.csv"))
    parts = folder / "receipts"
    parts.mkdir()
    # The columns a receipts export needs, and campaign ids (some of campaigns not loaded,
    # so that the quarantine has rows to keep whole too).
    receipts = pd.read_parquet(folder / "sim" / "inputs" / "transactions")[
        ["transaction_id", "customer_id", "store_id", "purchased_at", "amount", "campaign_id"]]
    sizes = []
    for k, start in enumerate(range(0, len(receipts), PART_ROWS)):
        part = receipts.iloc[start:start + PART_ROWS]
        part.to_csv(parts / f"part-{k:03d}.csv", index=False)
        sizes.append(len(part))
    return parts, baseline, sizes


def _unit_ends(sizes: list[int]) -> set[int]:
    """Rows read when each unit is committed (a unit ends at the end of a part)."""
    ends, read, staged, threshold = set(), 0, 0, max(UNIT_ROWS, FIRST_UNIT)
    for n in sizes:
        read, staged = read + n, staged + n
        if staged >= threshold:
            ends.add(read)
            staged, threshold = 0, UNIT_ROWS
    return ends | {read}


def _first_write(workspace: Path, deadline: float) -> float:
    """When the database's write-ahead log appeared (the load's first commit), or deadline."""
    wal = workspace / "mallseg.duckdb.wal"
    while not wal.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    return time.monotonic()


def _reset(baseline: Path, workspace: Path) -> None:
    shutil.rmtree(workspace, ignore_errors=True)
    shutil.copytree(baseline, workspace)


def _check_whole_units(loaded: Loaded, unit_ends: set[int]) -> None:
    log = loaded.log
    assert (log["rows_read"] == log["rows_loaded"] + log["rows_quarantined"]).all()
    assert (log["rows_loaded"]
            == log["rows_new"] + log["rows_updated"] + log["rows_unchanged"]).all()
    assert set(log["status"]) <= {"stopped", "complete"}
    assert set(log["rows_read"]) <= unit_ends, "a load logged part of a unit"
    # The table holds exactly the rows the log says were added, each once.
    assert loaded.rows == int(log["rows_new"].sum())
    assert loaded.distinct_ids == loaded.rows
    # Each load's quarantine rows are the ones it logged, each once.
    assert (log["quarantine_rows"] <= log["rows_quarantined"]).all()
    assert loaded.quarantined == int(log["quarantine_rows"].sum())
    assert loaded.quarantine_rows_distinct == loaded.quarantined


def _same_rows(workspace: Path, reference: Path) -> None:
    with duckdb.connect(str(workspace / "mallseg.duckdb")) as con, \
            duckdb.connect(str(reference / "mallseg.duckdb")) as ref:
        mine = con.execute("SELECT * FROM transactions ORDER BY transaction_id").df()
        theirs = ref.execute("SELECT * FROM transactions ORDER BY transaction_id").df()
    # The same rows and values; the lineage columns name the loads, which differ.
    columns = [c for c in theirs.columns if not c.startswith("_")]
    pd.testing.assert_frame_equal(mine[columns], theirs[columns])


def test_sigkill_at_random_points_leaves_whole_units_and_a_rerun_completes(
    server: ForkServer, receipts: tuple[Path, Path, list[int]], tmp_path: Path,
) -> None:
    parts, baseline, sizes = receipts
    unit_ends = _unit_ends(sizes)
    assert len(unit_ends) >= 5
    reference = tmp_path / "reference"
    _reset(baseline, reference)
    began = time.monotonic()
    pid = server.start("--workspace", str(reference), "ingest", "transactions", str(parts))
    writing = _first_write(reference, began + 300) - began
    assert server.wait(pid) == 0
    duration = time.monotonic() - began
    expected = _read(reference)
    assert expected.rows + expected.quarantined == sum(sizes)
    assert expected.quarantined > 0  # receipts naming campaigns not loaded: quarantined

    rng = random.Random(11)
    workspace = tmp_path / "ws"
    outcomes = {"nothing": 0, "part": 0, "complete": 0}
    logged = 0
    for kill in range(KILLS):
        if kill % GROUP == 0:
            _reset(baseline, workspace)
            logged = 0
        began = time.monotonic()
        pid = server.start("--workspace", str(workspace), "ingest", "transactions", str(parts))
        if rng.random() < 0.2:  # anywhere: start-up, reading, typing, a commit, the end
            time.sleep(rng.uniform(0.0, 1.05) * duration)
        else:  # while units are being committed
            _first_write(workspace, began + 2 * duration)
            time.sleep(rng.uniform(0.0, 1.05) * (duration - writing))
        os.kill(pid, signal.SIGKILL)
        assert server.wait(pid) in (0, -signal.SIGKILL)
        loaded = _read(workspace)
        _check_whole_units(loaded, unit_ends)
        if len(loaded.log) == logged:
            outcomes["nothing"] += 1
        else:
            outcomes[str(loaded.log.iloc[-1]["status"]).replace("stopped", "part")] += 1
        logged = len(loaded.log)
        if kill % GROUP == GROUP - 1:
            server.run("--workspace", str(workspace), "ingest", "transactions", str(parts))
            rerun = _read(workspace)
            _check_whole_units(rerun, unit_ends)
            assert rerun.log.iloc[-1]["status"] == "complete"
            assert (rerun.rows, rerun.quarantined) == (expected.rows, expected.quarantined)
            _same_rows(workspace, reference)
            logged = len(rerun.log)
    # The delays reached into the load: many kills cut it part-way.
    assert outcomes["part"] >= 10, outcomes
