"""Time and peak memory of every pipeline step, each in its own fresh process.

Each step runs the use case the CLI runs (ingest of each table, customer features,
segmentation with ``--k auto`` and with a fixed k, loyalty, campaigns, layout,
recommendations, the monitoring check, the report) in a child process of its own on one
workspace, so that a step's peak resident memory (the child's ``ru_maxrss`` from
``os.wait4``) is that step's alone, imports included. The baseline measured in the same run,
also in a fresh process, is a plain DuckDB copy of the same Parquet files into tables (DuckDB's
defaults, no typing, checks, keys or quarantine).

    python bench/bench_steps.py --mall /work/bigmall/mall --write
    python bench/bench_steps.py --customers 100000 --days 1250      # simulates a mall first

The fixed-k run is fitted on the data up to 91 days before the last event, so the monitoring
check has a quarter of new data to compare; the insights and the report read that run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from bench_record import record_section

GIB = 1024**3
TARGET_GIB = 4.0
FIXED_K = 8
MONITOR_DAYS = 91
STEPS = ("features", "segment_auto", "segment_fixed", "loyalty", "campaigns", "layout",
         "recommendations", "monitor", "report")


# -- the steps, run inside the child ---------------------------------------------------------
def _floor_copy(mall: Path, work: Path) -> str:
    import duckdb

    from mallseg.core.sql_text import quote_literal
    from mallseg.data.ingest import find_table_sources

    target = work / "floor.duckdb"
    target.unlink(missing_ok=True)
    con = duckdb.connect(str(target))
    rows = 0
    for table, path in find_table_sources(mall / "inputs").items():
        pattern = str(path) + "/*.parquet" if path.is_dir() else str(path)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet("
                    f"{quote_literal(pattern)})")
        rows += int((con.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,))[0])
    con.close()
    target.unlink()
    return f"{rows:,} rows copied"


def _ingest(mall: Path, work: Path, table: str) -> str:
    from mallseg.data import ingest as ingest_module
    from mallseg.workspace import Workspace

    path = ingest_module.scan_table_folder(mall / "inputs").found[table]
    with Workspace.open(work / "ws") as ws:
        report = ingest_module.load_prepared(ws, ingest_module.prepare_ingest(table, path))
    assert report.rows_read == report.rows_loaded + report.rows_quarantined
    return f"{report.rows_loaded:,} loaded, {report.rows_quarantined:,} quarantined"


def _features(work: Path) -> str:
    from mallseg.features.build import build_features
    from mallseg.workspace import Workspace

    with Workspace.open(work / "ws") as ws:
        frame = build_features(ws.connection).frame
    return f"{len(frame):,} customers x {frame.shape[1] - 1} features"


def _segment(work: Path, fixed: bool) -> str:
    from mallseg.app.segment import SegmentRequest, segment_customers
    from mallseg.features.reference_time import latest_event_time
    from mallseg.features.sources import inspect_sources
    from mallseg.workspace import Workspace

    with Workspace.open(work / "ws") as ws:
        if fixed:
            last = latest_event_time(ws.connection, inspect_sources(ws.connection))
            assert last is not None
            request = SegmentRequest(k=FIXED_K, as_of=last - timedelta(days=MONITOR_DAYS))
        else:
            request = SegmentRequest()
        run = segment_customers(ws, request)
    return (f"run {run.run_id}: {run.k} segments, {run.lens} lens; features "
            f"{run.seconds['features']:.1f} s, selection {run.seconds['selection']:.1f} s")


def _insight(work: Path, name: str) -> str:
    from mallseg.app import insights
    from mallseg.workspace import Workspace

    with Workspace.open(work / "ws") as ws:
        if name == "loyalty":
            loyalty = insights.loyalty_for_run(ws)
            return f"{len(loyalty.result.customers):,} customers scored"
        if name == "campaigns":
            campaigns = insights.campaigns_for_run(ws)
            return campaigns.result.message or "uplift per campaign x segment"
        if name == "layout":
            layout = insights.layout_for_run(ws)
            return layout.result.message or f"{len(layout.result.suggestions)} suggestions"
        recommended = insights.recommendations_for_run(ws)
        frame = recommended.result.recommendations
        return recommended.result.message or f"{0 if frame is None else len(frame):,} rows"


def _monitor(work: Path) -> str:
    from mallseg.app.monitor import MonitorRequest, check_monitor
    from mallseg.workspace import Workspace

    with Workspace.open(work / "ws") as ws:
        result = check_monitor(ws, MonitorRequest())
    return result.message or f"verdict {result.verdict}"


def _report(work: Path) -> str:
    from mallseg.report import write_report
    from mallseg.workspace import Workspace

    with Workspace.open(work / "ws", read_only=True) as ws:
        result = write_report(ws, None, work / "report.html")
    return f"{result.bytes / 1e6:.1f} MB, {len(result.sections)} sections"


def run_step(step: str, mall: Path, work: Path) -> None:
    """Run one step in this process and print its seconds and what it did as JSON."""
    actions: dict[str, Callable[[], str]] = {
        "floor_copy": lambda: _floor_copy(mall, work),
        "features": lambda: _features(work),
        "segment_auto": lambda: _segment(work, fixed=False),
        "segment_fixed": lambda: _segment(work, fixed=True),
        "loyalty": lambda: _insight(work, "loyalty"),
        "campaigns": lambda: _insight(work, "campaigns"),
        "layout": lambda: _insight(work, "layout"),
        "recommendations": lambda: _insight(work, "recommendations"),
        "monitor": lambda: _monitor(work),
        "report": lambda: _report(work),
    }
    started = time.perf_counter()
    if step.startswith("ingest_"):
        detail = _ingest(mall, work, step.removeprefix("ingest_"))
    else:
        detail = actions[step]()
    print(json.dumps({"seconds": time.perf_counter() - started, "detail": detail}))


# -- the parent: one fresh process per step ---------------------------------------------------
def measure(step: str, mall: Path, work: Path) -> tuple[float, float, float, str]:
    """Seconds inside the step, seconds of the whole process, its peak RSS in GiB, detail."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--run-step", step, "--mall", str(mall), "--work", str(work)],
        stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    output = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        return 0.0, wall, usage.ru_maxrss * 1024 / GIB, f"FAILED, exit code {child.returncode}"
    result = json.loads(output.strip().splitlines()[-1])
    return float(result["seconds"]), wall, usage.ru_maxrss * 1024 / GIB, str(result["detail"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mall", type=Path, help="a simulated mall (its inputs/ folder is read)")
    parser.add_argument("--customers", type=int, default=100_000, help="simulate this many")
    parser.add_argument("--days", type=int, default=1250)
    parser.add_argument("--work", type=Path, help="folder for the workspace (default: a "
                        "temporary one, removed at the end)")
    parser.add_argument("--write", action="store_true", help="update bench/BENCHMARKS.md")
    parser.add_argument("--only", nargs="+", metavar="STEP", help="run only these steps on "
                        "the workspace already in --work (ingest_TABLE, features, ...); "
                        "--write then records them in a section of their own")
    parser.add_argument("--run-step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_step:
        run_step(args.run_step, args.mall, args.work)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="mallseg-steps-"))
    if not args.only:
        shutil.rmtree(work / "ws", ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    try:
        lines = run_all(args, work)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.write:
        command = "python bench/bench_steps.py " + (
            f"--mall {args.mall}" if args.mall else f"--customers {args.customers} "
            f"--days {args.days}") + (f" --only {' '.join(args.only)}" if args.only else "") \
            + " --write"
        # a rerun of some steps (after a fix) is kept beside the whole run, not over it
        title = "End to end at scale, steps rerun" if args.only else "End to end at scale"
        record_section(title, command, lines)


def run_all(args: argparse.Namespace, work: Path) -> list[str]:
    from mallseg.data.ingest import scan_table_folder
    from mallseg.workspace.limits import connection_limits

    mall = args.mall
    header = []
    if mall is None:
        from mallseg.datasets.simulate import simulate_mall

        mall = work / "mall"
        t0 = time.perf_counter()
        summary = simulate_mall(mall, customers=args.customers, days=args.days, seed=0)
        header.append(f"simulated {args.customers:,} customers over {args.days} days in "
                      f"{time.perf_counter() - t0:.0f} s: " + ", ".join(
                          f"{k} {v:,}" for k, v in summary.rows.items() if "/" not in k))
    tables = list(scan_table_folder(mall / "inputs").found)
    limits = connection_limits()
    header.append(f"each step in a fresh process; workspace DuckDB memory_limit "
                  f"{limits.memory_limit}, threads {limits.threads}, spill to <workspace>/.tmp; "
                  f"peak = the process's ru_maxrss; target: every step under {TARGET_GIB:.0f} GiB")
    header.append(f"{'step':<18}{'step s':>9}{'process s':>11}{'peak GiB':>10}  what it did")
    for line in header:
        print(line, flush=True)
    rows: list[str] = []
    peaks: dict[str, float] = {}
    ingest_seconds = 0.0
    floor_seconds = 0.0
    for step in ["floor_copy", *(f"ingest_{t}" for t in tables), *STEPS]:
        if args.only and step not in args.only:
            continue
        seconds, wall, peak, detail = measure(step, mall, work)
        peaks[step] = peak
        if step == "floor_copy":
            floor_seconds = seconds
            detail = f"baseline: plain DuckDB copy of the same Parquet (defaults), {detail}"
        elif step.startswith("ingest_"):
            ingest_seconds += seconds
        line = f"{step:<18}{seconds:>9.1f}{wall:>11.1f}{peak:>10.2f}  {detail}"
        print(line, flush=True)
        rows.append(line)
    if args.only:
        return header + rows
    mallseg_steps = {k: v for k, v in peaks.items() if k != "floor_copy"}
    worst = max(mallseg_steps, key=mallseg_steps.__getitem__)
    over = [k for k, v in mallseg_steps.items() if v >= TARGET_GIB]
    footer = [
        f"ingest, {len(tables)} tables: {ingest_seconds:.1f} s = "
        f"{ingest_seconds / floor_seconds:.1f}x the plain copy ({floor_seconds:.1f} s); peak "
        f"{max(v for k, v in peaks.items() if k.startswith('ingest_')):.2f} GiB vs the copy's "
        f"{peaks['floor_copy']:.2f} GiB",
        f"highest peak: {worst} {mallseg_steps[worst]:.2f} GiB; "
        + (f"over {TARGET_GIB:.0f} GiB: {', '.join(over)}" if over
           else f"every step under {TARGET_GIB:.0f} GiB"),
    ]
    for line in footer:
        print(line, flush=True)
    return header + rows + footer


if __name__ == "__main__":
    main()
