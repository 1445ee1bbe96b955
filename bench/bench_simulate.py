"""Scale of the synthetic mall: rows per second, peak memory, and the ratio to the I/O floor.

Each size runs `simulate_mall` in a fresh child process (so its peak RSS is its own). The
baseline, measured in the same run, is the I/O floor: writing the same number of rows of
every table, already built in memory as random Arrow tables of the same schemas, with the
same Parquet settings. simulate / floor says how much the simulation costs beyond
writing its output.

    python bench/bench_simulate.py --customers 100000 1000000 --days 1095 --write
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench_record import replace_section
from mallseg.datasets.simulate import INPUT_TABLES, simulate_mall
from mallseg.datasets.simulate.writer import canonical_arrow_schema

SECTION = "bench_simulate"
FLOOR_BLOCK_ROWS = 1_000_000


def child(customers: int, days: int, out: Path, chunk: int) -> None:
    """Run one simulation and print its figures as JSON (runs in the child process)."""
    summary = simulate_mall(out, customers=customers, days=days, seed=0, chunk_customers=chunk)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(json.dumps({"seconds": summary.seconds, "rows": summary.rows,
                      "peak_rss_mb": peak_kb / 1024, "bytes": size}))


def random_table(table: str, rows: int, rng: np.random.Generator) -> pa.Table:
    """``rows`` random rows with the canonical schema of ``table``."""
    schema = canonical_arrow_schema(table)
    columns = []
    for f in schema:
        if pa.types.is_string(f.type):
            values = rng.integers(0, 10_000_000, rows)
            columns.append(pa.array(np.char.add("X", values.astype(str)).astype(object)))
        elif pa.types.is_timestamp(f.type):
            micros = 1_767_225_600_000_000 + rng.integers(0, 86_400 * 365, rows) * 1_000_000
            columns.append(pa.array(micros.astype("datetime64[us]"), type=f.type))
        elif pa.types.is_date(f.type):
            columns.append(pa.array(rng.integers(19_000, 21_000, rows).astype("datetime64[D]")))
        elif pa.types.is_boolean(f.type):
            columns.append(pa.array(rng.random(rows) < 0.5))
        elif pa.types.is_integer(f.type):
            columns.append(pa.array(rng.integers(0, 100, rows), type=f.type))
        else:
            columns.append(pa.array(np.round(rng.lognormal(3, 1, rows), 2)))
    return pa.Table.from_arrays(columns, schema=schema)


def io_floor(rows: dict[str, int], folder: Path) -> float:
    """Seconds to write ``rows`` rows of each input table from prebuilt random tables."""
    rng = np.random.default_rng(0)
    total = 0.0
    for table in INPUT_TABLES:
        n = rows.get(table, 0)
        if not n:
            continue
        block = random_table(table, min(n, FLOOR_BLOCK_ROWS), rng)
        parts = math.ceil(n / block.num_rows)
        for i in range(parts):
            piece = block if i < parts - 1 else block.slice(0, n - i * block.num_rows)
            started = time.perf_counter()
            pq.write_table(piece, folder / f"{table}-{i:05d}.parquet", compression="snappy")
            total += time.perf_counter() - started
            (folder / f"{table}-{i:05d}.parquet").unlink()
    return total


def run_size(customers: int, days: int, chunk: int, keep: Path | None) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="bench_simulate_"))
    out = keep or folder / "mall"
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(customers), "--days", str(days),
             "--chunk", str(chunk), "--out", str(out)],
            capture_output=True, text=True, check=True,
        )
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        floor_dir = folder / "floor"
        floor_dir.mkdir()
        result["floor_seconds"] = io_floor(result["rows"], floor_dir)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result["customers"] = customers
    result["days"] = days
    return result


def describe(r: dict[str, object]) -> str:
    rows = r["rows"]
    assert isinstance(rows, dict)
    total = sum(v for k, v in rows.items() if not k.startswith("truth/"))
    seconds = float(r["seconds"])  # type: ignore[arg-type]
    floor = float(r["floor_seconds"])  # type: ignore[arg-type]
    return (f"| {r['customers']:,} | {r['days']} | {rows['visits']:,} | {rows['transactions']:,} "
            f"| {total:,} | {seconds:.1f} s | {total / seconds / 1e6:.2f} M | "
            f"{float(r['peak_rss_mb']):,.0f} MB | {float(r['bytes']) / 1e9:.2f} GB | "  # type: ignore[arg-type]
            f"{floor:.1f} s | {seconds / floor:.1f}x |")


def write_section(results: list[dict[str, object]], command: str, chunk: int) -> None:
    import pyarrow

    lines = [
        "## Synthetic mall (`bench/bench_simulate.py`)",
        "",
        f"`{command}`",
        "",
        f"Measured {date.today().isoformat()} on {platform.machine()} ({os.cpu_count()} cores, "
        f"Python {platform.python_version()}, numpy {np.__version__}, pyarrow "
        f"{pyarrow.__version__}). One run per size, each in its own process; "
        f"`chunk_customers={chunk:,}`, seed 0, all 8 personas, Parquet (snappy). Rows are "
        "the six input tables (truth excluded). Floor: writing the same number of rows of "
        "each table from random Arrow tables already in memory, same schemas and Parquet "
        "settings, measured in the same run. The simulator overlaps drawing a chunk with "
        "writing the previous one (one writer thread), so simulate / floor near 1 means "
        "generation is almost hidden behind the writes. 1,250 days (3.4 years) make 1M "
        "customers give about 100M transactions.",
        "",
        "| customers | days | visits | transactions | rows | simulate | rows/s | peak RSS "
        "| on disk | I/O floor | simulate / floor |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *[describe(r) for r in results],
    ]
    replace_section(SECTION, "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000])
    parser.add_argument("--days", type=int, default=1095)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--write", action="store_true", help="update bench/BENCHMARKS.md")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.days, args.out, args.chunk)
        return
    results = []
    for customers in args.customers:
        result = run_size(customers, args.days, args.chunk, None)
        results.append(result)
        print(describe(result), flush=True)
    if args.write:
        command = ("python bench/bench_simulate.py --customers "
                   + " ".join(str(c) for c in args.customers)
                   + f" --days {args.days} --chunk {args.chunk} --write")
        write_section(results, command, args.chunk)


if __name__ == "__main__":
    main()
