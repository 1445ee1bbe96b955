"""Ingest throughput: validated, idempotent load vs a plain DuckDB copy (the floor).

Generates a transactions table (no ids: keys are derived from content) as Parquet and as
CSV, then measures, in the same run and on the same files:

- ``mallseg ingest`` of the Parquet file (typing, checks, derived keys, reference check,
  merge) against a plain ``CREATE TABLE AS SELECT * FROM read_parquet`` (no validation);
- ``mallseg ingest`` of the CSV file (streamed in blocks) against ``pandas.read_csv`` of
  the whole file with no validation (which needs all of it in memory).

Run: python bench/bench_ingest.py --rows 1000000 --repeats 3 [--write]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench_record import record_section
from mallseg.data.ingest import ingest_file
from mallseg.workspace import Workspace


def make_transactions(rows: int, customers: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-01-01T00:00:00")
    seconds = rng.integers(0, 180 * 86_400, rows)
    return pa.table({
        "customer_id": pa.array([f"C{i:07d}" for i in rng.integers(0, customers, rows)]),
        "store_id": pa.array([f"S{i:03d}" for i in rng.integers(1, 121, rows)]),
        "purchased_at": pa.array(start + seconds.astype("timedelta64[s]")),
        "amount": pa.array(np.round(rng.lognormal(3.5, 1.0, rows), 2)),
        "quantity": pa.array(rng.integers(1, 6, rows).astype(float)),
    })


def seed_workspace(folder: Path, customers: int) -> Workspace:
    ws = Workspace.open(folder)
    ws.connection.execute(
        "INSERT INTO customers (customer_id) SELECT printf('C%07d', range) FROM range(?)",
        [customers],
    )
    ws.connection.execute(
        "INSERT INTO stores (store_id) SELECT printf('S%03d', range) FROM range(1, 121)"
    )
    return ws


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update bench/BENCHMARKS.md")
    args = parser.parse_args()
    customers = max(1_000, args.rows // 20)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        table = make_transactions(args.rows, customers)
        parquet = tmp / "transactions.parquet"
        csv = tmp / "transactions.csv"
        pq.write_table(table, parquet)
        table.to_pandas().to_csv(csv, index=False)
        results: dict[str, list[float]] = {k: [] for k in
                                           ("ingest_parquet", "floor_parquet", "ingest_csv",
                                            "pandas_csv")}
        for i in range(args.repeats):
            ws = seed_workspace(tmp / f"ws{i}", customers)
            results["ingest_parquet"].append(
                timed(lambda ws=ws: ingest_file(ws, "transactions", parquet)))
            ws.close()
            con = duckdb.connect(str(tmp / f"floor{i}.duckdb"))
            results["floor_parquet"].append(timed(lambda con=con: con.execute(
                f"CREATE TABLE t AS SELECT * FROM read_parquet('{parquet}')")))
            con.close()
            ws = seed_workspace(tmp / f"wsc{i}", customers)
            results["ingest_csv"].append(timed(lambda ws=ws: ingest_file(ws, "transactions", csv)))
            ws.close()
            results["pandas_csv"].append(timed(lambda: pd.read_csv(csv)))
    med = {k: statistics.median(v) for k, v in results.items()}
    lines = [
        f"rows: {args.rows:,}, customers: {customers:,}, repeats: {args.repeats} (medians)",
        f"ingest Parquet (validated, idempotent): {med['ingest_parquet']:.2f} s "
        f"({args.rows / med['ingest_parquet'] / 1e6:.2f} M rows/s)",
        f"plain DuckDB copy of the Parquet file:  {med['floor_parquet']:.2f} s  -> ratio "
        f"{med['ingest_parquet'] / med['floor_parquet']:.1f}x the floor",
        f"ingest CSV (streamed, validated):       {med['ingest_csv']:.2f} s "
        f"({args.rows / med['ingest_csv'] / 1e6:.2f} M rows/s)",
        f"pandas.read_csv, no validation:         {med['pandas_csv']:.2f} s  -> ratio "
        f"{med['ingest_csv'] / med['pandas_csv']:.1f}x pandas",
    ]
    for line in lines:
        print(line)
    if args.write:
        record_section(
            "Ingest",
            f"python bench/bench_ingest.py --rows {args.rows} --repeats {args.repeats} --write",
            lines,
        )


if __name__ == "__main__":
    main()
