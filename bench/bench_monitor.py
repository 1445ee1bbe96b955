"""Benchmark the monitor: a drift check and a migration on 1M customers, and the online
update of one customer, each against a baseline measured in the same run.

- drift: ``check_drift`` of a current window against a reference window (1M customers
  each, 20 features, a k-means model of 8 segments; per-feature PSI on every customer, the
  model-space signals on samples of 100,000, KS and Wasserstein on 50,000). Baseline:
  scoring both windows with the model (``predict`` and ``confidence`` of every customer),
  the floor of any check that places the customers again.
- migration: ``migrate`` (transition matrix in DuckDB) and ``export_movers`` (Parquet)
  between two runs' assignments of 1M customers. Baseline: the same matrix with pandas
  (both assignment tables read into memory, outer merge, crosstab).
- online update: ``OnlineUpdater.update`` of one customer in a workspace of a simulated
  mall (features rebuilt from that customer's rows with the run's schema, placed, written
  to ``live_assignments``), median over random customers; also ``update_customers``, which
  reads the run's model first. Baseline: rebuilding every customer's features with the
  same schema and placing them all.

    python bench/bench_monitor.py --customers 1000000 --event-customers 100000 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from bench_record import record_section
from mallseg.app.monitor import OnlineUpdater, update_customers
from mallseg.app.run_artifacts import load_run
from mallseg.app.segment import SegmentRequest, segment_customers
from mallseg.datasets.simulate import simulate_mall
from mallseg.features.build import build_features
from mallseg.monitor.drift import check_drift
from mallseg.monitor.migration import export_movers, migrate, run_snapshot
from mallseg.segment.segmenter import Segmenter
from mallseg.workspace import Workspace
from mallseg.workspace.segment_store import store_segmentation

N_FEATURES = 20
N_SEGMENTS = 8
TABLES = ("customers", "stores", "campaigns", "visits", "transactions", "exposures")


def median_time(work: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def customer_frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Per-customer features: 8 latent groups over 16 numeric features, 4 noise, 1 category."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).normal(0, 3, (N_SEGMENTS, N_FEATURES - 4))
    weights = np.linspace(1, 2, N_SEGMENTS)
    weights[0] += shift
    group = rng.choice(N_SEGMENTS, n, p=weights / weights.sum())
    values = centres[group] + rng.normal(size=(n, N_FEATURES - 4))
    frame = pd.DataFrame(values, columns=[f"f{i}" for i in range(N_FEATURES - 4)])
    for i in range(4):
        frame[f"noise{i}"] = rng.normal(size=n)
    frame["zone"] = np.array(["north", "south", "east", "west"])[group % 4]
    frame.insert(0, "customer_id", [f"C{i:08d}" for i in range(n)])
    return frame


def bench_drift(n: int, repeats: int) -> dict[str, float]:
    reference = customer_frame(n, 1)
    current = customer_frame(n, 2, shift=1.0)
    features = [c for c in reference.columns if c != "customer_id"]
    model = Segmenter(features=features, n_segments=N_SEGMENTS, fit_sample_size=20_000,
                      feature_kinds={"zone": "categorical"}).fit(reference.iloc[:200_000])
    check_s, report = median_time(lambda: check_drift(reference, current, model), repeats)

    def score_all() -> None:
        for frame in (reference, current):
            model.predict(frame)
            model.confidence(frame)

    floor_s, _ = median_time(score_all, repeats)
    return {"customers": n, "check_s": check_s, "floor_s": floor_s,
            "verdict": report.verdict, "features": len(features)}


def bench_migration(n: int, repeats: int, folder: Path) -> dict[str, float]:
    rng = np.random.default_rng(3)
    ids = np.array([f"C{i:08d}" for i in range(n)])
    before = rng.integers(0, N_SEGMENTS, n)
    after = np.where(rng.random(n) < 0.1, rng.integers(0, N_SEGMENTS, n), before)
    names = {s: f"Segment {s}" for s in range(N_SEGMENTS)}
    rows = [{"segment": s, "name": names[s], "size": 1, "share": 0.0} for s in names]
    with Workspace.open(folder / "migration-ws") as ws:
        store_segmentation(ws, "0001", ids, before, names, np.ones(n), rows)
        store_segmentation(ws, "0002", ids, after, names, np.ones(n), rows)
        con = ws.connection
        a, b = run_snapshot("0001"), run_snapshot("0002")
        migrate_s, moves = median_time(lambda: migrate(con, a, b, aligned=True), repeats)
        export_s, exported = median_time(
            lambda: export_movers(con, a, b, folder / "movers.parquet", aligned=True),
            repeats)

        def pandas_matrix() -> pd.DataFrame:
            left = con.execute("SELECT customer_id, segment_id FROM segment_assignments "
                               "WHERE run_id = '0001'").df()
            right = con.execute("SELECT customer_id, segment_id FROM segment_assignments "
                                "WHERE run_id = '0002'").df()
            both = left.merge(right, on="customer_id", how="outer", suffixes=("_a", "_b"))
            return pd.crosstab(both["segment_id_a"], both["segment_id_b"])

        pandas_s, table = median_time(pandas_matrix, repeats)
    assert int(table.to_numpy().sum()) == moves.stayed + moves.moved
    return {"customers": n, "migrate_s": migrate_s, "export_s": export_s,
            "pandas_s": pandas_s, "moved": moves.moved, "exported": exported}


def bench_update(n: int, repeats: int, folder: Path) -> dict[str, float]:
    simulate_mall(folder / "mall", customers=n, days=91, seed=4, personas=6)
    with Workspace.open(folder / "update-ws") as ws:
        con = ws.connection
        for table in TABLES:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM "
                        f"read_parquet('{folder}/mall/inputs/{table}/*.parquet')")
        segment_customers(ws, SegmentRequest(lens="behavioural", algorithms=("kmeans",), k=6,
                                             n_resamples=2))
        artifacts = load_run(ws)
        customers = con.execute("SELECT customer_id FROM customers").df()["customer_id"]
        chosen = customers.sample(max(repeats, 10), random_state=5).tolist()
        cold_s, _ = median_time(lambda: update_customers(ws, [chosen[0]]), repeats)
        updater = OnlineUpdater(ws)  # the run's model read once, as a service holds it
        times = []
        for customer in chosen:
            start = time.perf_counter()
            updater.update([customer])
            times.append(time.perf_counter() - start)
        segmenter = artifacts.segmenter
        assert segmenter is not None
        as_of = artifacts.schema.as_of

        def everyone() -> None:
            frame = build_features(con, schema=replace(artifacts.schema, as_of=as_of)).frame
            segmenter.predict(frame)

        full_s, _ = median_time(everyone, repeats)
    return {"customers": n, "one_s": statistics.median(times), "full_s": full_s,
            "cold_s": cold_s, "samples": len(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--event-customers", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="cap on BLAS/OpenMP threads (default: the libraries' own)")
    parser.add_argument("--write", action="store_true", help="update bench/BENCHMARKS.md")
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(limits=args.threads):
        folder = Path(tmp)
        drift = bench_drift(args.customers, args.repeats)
        lines.append(
            f"drift check, {drift['customers']:,} + {drift['customers']:,} customers, "
            f"{drift['features']} features: {drift['check_s']:.2f} s (verdict "
            f"{drift['verdict']}); baseline, scoring both windows with the model: "
            f"{drift['floor_s']:.2f} s -> ratio {drift['check_s'] / drift['floor_s']:.2f}x")
        print(lines[-1], flush=True)
        moves = bench_migration(args.customers, args.repeats, folder)
        lines.append(
            f"migration, {moves['customers']:,} customers ({moves['moved']:,} moved): "
            f"transition matrix {moves['migrate_s']:.2f} s, movers to Parquet "
            f"{moves['export_s']:.2f} s; baseline, pandas merge + crosstab: "
            f"{moves['pandas_s']:.2f} s -> ratio {moves['pandas_s'] / moves['migrate_s']:.1f}x")
        print(lines[-1], flush=True)
        update = bench_update(args.event_customers, args.repeats, folder)
        lines.append(
            f"online update of one customer in a mall of {update['customers']:,}: "
            f"{update['one_s'] * 1000:.0f} ms (median of {update['samples']}; "
            f"{update['cold_s'] * 1000:.0f} ms with the run's model read first); baseline, "
            f"every customer rebuilt and placed: {update['full_s']:.2f} s -> ratio "
            f"{update['full_s'] / update['one_s']:.0f}x")
        print(lines[-1], flush=True)
    if args.write:
        command = (f"python bench/bench_monitor.py --customers {args.customers} "
                   f"--event-customers {args.event_customers} --repeats {args.repeats}")
        record_section("Monitor (`bench/bench_monitor.py`)", command, lines)


if __name__ == "__main__":
    main()
