"""Ingest of a simulated mall: validated, idempotent load vs a plain DuckDB copy (the floor).

Takes a simulated mall's folder (``simulate_mall``'s output, or its ``inputs`` folder; one
folder of Parquet parts per table), or simulates one, then measures in the same run, on
the same files:

- ``ingest_file`` of every table found, in load order, into a fresh workspace (typing,
  checks, pseudonymised ids, derived keys, references, merge, quarantine);
- the floor: ``CREATE TABLE t AS SELECT * FROM read_parquet(...)`` of the same parts into a
  fresh DuckDB file (no validation at all).

With ``--profile`` it also says where the ingest's time goes: seconds per step of a unit
(read, typing, pseudonyms, checks, references, keys, merge, quarantine, ...) summed over
every unit of every table.

Run: python bench/bench_ingest.py --mall /path/to/mall [--profile] [--write]
(a mall of 1M customers and 94M purchases: ``simulate_mall(path, customers=1_000_000,
days=1250)``), or let it simulate one:
     python bench/bench_ingest.py --customers 100000 --days 1250 --write
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb

from bench_record import record_section
from mallseg.core.sql_text import quote_literal
from mallseg.data import ingest as ingest_module
from mallseg.data.ingest import find_table_sources, ingest_file
from mallseg.datasets.simulate.simulator import simulate_mall
from mallseg.workspace import Workspace

# the steps of a unit, as ingest_module names them; timed when --profile is given
PROFILED_STEPS = (
    "_decide", "add_unit_pseudonyms", "keep_erased_out", "check_typed_rows",
    "check_references", "assign_keys", "count_value_warnings", "merge_valid_rows",
    "supersede_earlier_quarantine", "quarantine_unit", "store_unit_attributes",
    "accumulate_event_values", "log_committed_units", "_finish",
)


def _inputs(folder: Path) -> Path:
    return folder / "inputs" if (folder / "inputs").is_dir() else folder


class StepTimes:
    """Seconds per ingest step, collected by wrapping the module's functions."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._saved: dict[str, Any] = {}

    def _timed(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
        return wrapper

    def _timed_units(self, fn: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
        def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            units = fn(*args, **kwargs)
            while True:
                started = time.perf_counter()
                try:
                    unit = next(units)
                except StopIteration:
                    self.seconds["read (stage units)"] += time.perf_counter() - started
                    return
                self.seconds["read (stage units)"] += time.perf_counter() - started
                yield unit
        return wrapper

    def install(self) -> None:
        for name in PROFILED_STEPS:
            self._saved[name] = getattr(ingest_module, name)
            setattr(ingest_module, name, self._timed(name, self._saved[name]))
        self._saved["stage_units"] = ingest_module.stage_units
        ingest_module.stage_units = self._timed_units(ingest_module.stage_units)
        # the typing statement runs inside _process_unit: time the unit as a whole too
        self._saved["_process_unit"] = ingest_module._process_unit
        ingest_module._process_unit = self._timed(
            "unit total (type .. log)", self._saved["_process_unit"])

    def uninstall(self) -> None:
        for name, fn in self._saved.items():
            setattr(ingest_module, name, fn)


def floor_copy(sources: dict[str, Path], database: Path) -> tuple[float, float]:
    """Seconds (wall, CPU) to copy every table's parts into a fresh DuckDB file, unvalidated."""
    started, cpu = time.perf_counter(), time.process_time()
    con = duckdb.connect(str(database))
    for table, path in sources.items():
        pattern = str(path / "*.parquet") if path.is_dir() else str(path)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet({quote_literal(pattern)})")
    con.close()
    return time.perf_counter() - started, time.process_time() - cpu


def ingest_all(sources: dict[str, Path], folder: Path) -> tuple[tuple[float, float],
                                                               dict[str, float],
                                                               dict[str, tuple[int, int]]]:
    """Seconds (wall, CPU) to ingest every table into a fresh workspace, per table, counts."""
    per_table: dict[str, float] = {}
    counts: dict[str, tuple[int, int]] = {}
    started, cpu = time.perf_counter(), time.process_time()
    with Workspace.open(folder) as ws:
        for table, path in sources.items():
            t0 = time.perf_counter()
            report = ingest_file(ws, table, path)
            per_table[table] = time.perf_counter() - t0
            assert report.rows_read == report.rows_loaded + report.rows_quarantined
            counts[table] = (report.rows_read, report.rows_quarantined)
    return (time.perf_counter() - started, time.process_time() - cpu), per_table, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mall", type=Path, help="a simulated mall's folder (else simulate)")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=1250)
    parser.add_argument("--work", type=Path, help="folder for the workspace and the copy "
                        "(default: a temporary folder, removed afterwards)")
    parser.add_argument("--profile", action="store_true", help="time each step of a unit")
    parser.add_argument("--write", action="store_true", help="update bench/BENCHMARKS.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mallseg-ingest-", dir=args.work))
    load_before = os.getloadavg()[0]
    try:
        if args.mall is None:
            simulate_mall(work / "mall", customers=args.customers, days=args.days)
            mall = work / "mall"
        else:
            mall = args.mall
        sources = find_table_sources(_inputs(mall))
        floor_s, floor_cpu = floor_copy(sources, work / "floor.duckdb")
        steps = StepTimes()
        if args.profile:
            steps.install()
        try:
            (ingest_s, ingest_cpu), per_table, counts = ingest_all(sources, work / "ws")
        finally:
            steps.uninstall()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = sum(read for read, _ in counts.values())
    lines = [
        f"mall: {mall.name if args.mall else 'simulated'}, {rows:,} rows in "
        f"{len(sources)} tables ("
        + ", ".join(f"{t} {counts[t][0]:,}" for t in sources) + ")",
        f"ingest (validated, pseudonymised, idempotent): {ingest_s:7.1f} s "
        f"({rows / ingest_s / 1e6:.2f} M rows/s), CPU {ingest_cpu:7.1f} s",
        f"plain DuckDB copy of the same Parquet parts:   {floor_s:7.1f} s, CPU {floor_cpu:7.1f} s",
        f"ingest / plain copy: {ingest_s / floor_s:.2f}x (CPU time: "
        f"{ingest_cpu / floor_cpu:.2f}x; on a shared machine the CPU ratio is the steadier one)",
        "per table: " + ", ".join(f"{t} {s:.1f} s" for t, s in per_table.items()),
        "quarantined: " + ", ".join(f"{t} {q:,}" for t, (_, q) in counts.items()),
        f"load average of the shared machine: {load_before:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end",
    ]
    if args.profile:
        lines.append("where the time goes (s, all units of all tables):")
        lines += [f"  {name:<32} {s:7.2f}" for name, s in
                  sorted(steps.seconds.items(), key=lambda kv: -kv[1])]
    for line in lines:
        print(line)
    if args.write:
        command = "python bench/bench_ingest.py " + (
            f"--mall {args.mall}" if args.mall else
            f"--customers {args.customers} --days {args.days}") + (
            " --profile" if args.profile else "") + " --write"
        record_section("Ingest", command, lines)


if __name__ == "__main__":
    main()
