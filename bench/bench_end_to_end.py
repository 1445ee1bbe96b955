"""The whole pipeline at scale on one machine: simulate, ingest, features, segmentation.

Stages are timed one by one, with the process's peak memory. The baseline measured in the
same run is the DuckDB floor of the ingest stage: a plain copy of the same Parquet parts
into tables, with no typing, checks, keys or quarantine; ingest / floor says what the
validation costs at this size.

    python bench/bench_end_to_end.py --customers 1000000 --days 1250 --write
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from bench_record import record_section
from mallseg.app.segment import SegmentRequest, segment_customers
from mallseg.core.sql_text import quote_literal
from mallseg.data.ingest import find_table_sources, ingest_file
from mallseg.datasets.simulate import simulate_mall
from mallseg.workspace import Workspace


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep the mall and workspace in this folder")
    parser.add_argument("--write", action="store_true", help="update bench/BENCHMARKS.md")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="mallseg-e2e-"))
    seconds: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        summary = simulate_mall(folder / "mall", customers=args.customers, days=args.days,
                                seed=args.seed)
        seconds["simulate"] = time.perf_counter() - t0
        sources = find_table_sources(folder / "mall" / "inputs")

        t0 = time.perf_counter()
        floor = duckdb.connect(str(folder / "floor.duckdb"))
        for table, path in sources.items():
            floor.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet("
                          f"{quote_literal(str(path) + '/*.parquet')})")
        floor.close()
        seconds["floor_copy"] = time.perf_counter() - t0

        with Workspace.open(folder / "ws") as ws:
            t0 = time.perf_counter()
            for table, path in sources.items():
                report = ingest_file(ws, table, path)
                assert report.rows_read == report.rows_loaded + report.rows_quarantined
            seconds["ingest"] = time.perf_counter() - t0
            run = segment_customers(ws, SegmentRequest(random_state=args.seed))
            seconds["features"] = run.seconds["features"]
            seconds["segmentation"] = run.seconds["selection"]
            seconds["store_results"] = (run.seconds["total"] - run.seconds["features"]
                                        - run.seconds["selection"])
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    rows = summary.rows
    total = sum(v for k, v in seconds.items() if k != "floor_copy")
    lines = [
        f"customers: {rows['customers']:,}, visits: {rows['visits']:,}, transactions: "
        f"{rows['transactions']:,}, exposures: {rows['exposures']:,} ({args.days} days)",
        f"simulate:            {seconds['simulate']:8.1f} s",
        f"ingest (6 tables):   {seconds['ingest']:8.1f} s  -> "
        f"{seconds['ingest'] / seconds['floor_copy']:.1f}x the plain DuckDB copy "
        f"({seconds['floor_copy']:.1f} s, no validation)",
        f"customer features:   {seconds['features']:8.1f} s",
        f"segmentation:        {seconds['segmentation']:8.1f} s  ({run.k} segments, "
        f"{run.selection.chosen.algorithm}, {run.lens} lens)",
        f"store results:       {seconds['store_results']:8.1f} s",
        f"total:               {total:8.1f} s, peak memory {peak_rss_gib():.1f} GiB",
    ]
    for line in lines:
        print(line)
    if args.write:
        record_section(
            "End to end at scale",
            f"python bench/bench_end_to_end.py --customers {args.customers} --days {args.days}"
            " --write",
            lines,
        )


if __name__ == "__main__":
    main()
