"""Benchmark the loyalty summary (DuckDB SQL) and the model fits, against pandas.

Generates BG/NBD customers with Gamma-Gamma spend as raw purchases (numpy, deterministic
seeds, in blocks of 50,000 customers) into a DuckDB database, then times, in the same run:

- duckdb: ``summarise_events`` on every purchase (one query: per customer and day, then per
  customer), result returned as pandas;
- fits: ``fit_bgnbd`` and ``fit_gamma_gamma`` on that summary, and the per-customer
  predictions (P(alive), expected purchases and spend in 90 days);
- pandas: the same summary with pandas groupby, on the first customers holding about
  ``--baseline-purchases`` purchases, read from Parquet; DuckDB is timed on the same subset.

Both summaries are compared (to 1e-9) on the subset before any figure is reported, and the
fitted parameters are compared with the ones the data were drawn from.

    python bench/bench_loyalty.py --customers 1000000 --baseline-purchases 10000000 --write
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from bench_record import replace_section
from mallseg.datasets.btyd import simulate_bgnbd_events
from mallseg.insights.loyalty import (
    expected_spend_over,
    fit_bgnbd,
    fit_gamma_gamma,
    summarise_events,
)

SECTION = "bench_loyalty"
# about one purchase every ten days (a mall's regulars), a long life (p about 1/200 per
# purchase): some 90 purchases a customer over the period
TRUE = {"r": 2.0, "alpha": 20.0, "a": 2.0, "b": 400.0}
SPEND = (6.0, 4.0, 60.0)
DAYS = 1250
START = datetime(2024, 1, 1)
AS_OF = date(2027, 6, 4)  # START + 1250 days
BLOCK = 50_000


def generate(con: duckdb.DuckDBPyConnection, customers: int) -> int:
    """Fill ``transactions`` block by block; returns the purchases written."""
    con.execute("CREATE TABLE transactions (customer_id VARCHAR, purchased_at TIMESTAMP, "
                "amount DOUBLE)")
    for block, first in enumerate(range(0, customers, BLOCK)):
        size = min(BLOCK, customers - first)
        events = simulate_bgnbd_events(size, **TRUE, days=DAYS, start=START, spend=SPEND,
                                       first_id=first, seed=1000 + block)
        con.register("block_events", events)
        con.execute("INSERT INTO transactions SELECT * FROM block_events")
        con.unregister("block_events")
    found = con.execute("SELECT count(*) FROM transactions").fetchone()
    return int(found[0]) if found else 0


def pandas_summary(path: Path, as_of: date) -> pd.DataFrame:
    """The transactions summary of ``summarise_events``, written with pandas groupby."""
    tx = pd.read_parquet(path)
    tx = tx[(tx["amount"] > 0) & (tx["purchased_at"] <= pd.Timestamp(as_of))]
    daily = (tx.assign(day=tx["purchased_at"].dt.floor("D"))
             .groupby(["customer_id", "day"], sort=True)["amount"].sum().reset_index())
    per = daily.groupby("customer_id", sort=True)
    first = per["day"].min()
    out = pd.DataFrame({
        "frequency": per.size() - 1,
        "recency": (per["day"].max() - first).dt.days.astype(float),
        "T": (pd.Timestamp(as_of) - first).dt.total_seconds() / 86_400,
        "spend": per["amount"].sum(),
    })
    out["monetary_value"] = (out["spend"] - per["amount"].first()) / out["frequency"].replace(
        0, np.nan
    )
    return out.reset_index()


def check_same(duck: pd.DataFrame, pand: pd.DataFrame) -> None:
    """Raise AssertionError unless both summaries agree."""
    duck = duck.set_index("customer_id").sort_index()
    pand = pand.set_index("customer_id").sort_index()
    assert duck.index.equals(pand.index)
    for column in pand.columns:
        assert np.allclose(duck[column].to_numpy(float), pand[column].to_numpy(float),
                           rtol=1e-9, atol=1e-9, equal_nan=True), column


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run(customers: int, baseline_purchases: int, repeats: int, folder: Path) -> dict[str, Any]:
    con = duckdb.connect(str(folder / "loyalty.duckdb"))
    t0 = time.perf_counter()
    purchases = generate(con, customers)
    generate_s = time.perf_counter() - t0

    summary_s, summary = median_time(
        lambda: summarise_events(con, "transactions", as_of=AS_OF), repeats
    )
    table = summary.customers
    t0 = time.perf_counter()
    model = fit_bgnbd(table["frequency"], table["recency"], table["T"])
    bgnbd_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    spend = fit_gamma_gamma(table["frequency"], table["monetary_value"])
    gamma_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.probability_alive(table["frequency"], table["recency"], table["T"])
    expected_spend_over(model, spend, 90, table["frequency"], table["recency"], table["T"],
                        table["monetary_value"])
    predict_s = time.perf_counter() - t0

    # the baseline subset: the first customers (by id) holding about baseline_purchases
    per_customer = purchases / customers
    subset = min(customers, max(1, int(baseline_purchases / per_customer)))
    last_id = f"C{subset - 1:08d}"
    con.execute(f"CREATE TABLE subset AS SELECT * FROM transactions WHERE customer_id <= "
                f"'{last_id}'")
    subset_rows = con.execute("SELECT count(*) FROM subset").fetchone()[0]  # type: ignore[index]
    parquet = folder / "subset.parquet"
    con.execute(f"COPY subset TO '{parquet}' (FORMAT parquet)")
    sub = duckdb.connect()
    sub.execute(f"CREATE TABLE transactions AS SELECT * FROM read_parquet('{parquet}')")
    duck_sub_s, duck_sub = median_time(
        lambda: summarise_events(sub, "transactions", as_of=AS_OF).customers, repeats
    )
    pandas_s, pand = median_time(lambda: pandas_summary(parquet, AS_OF), repeats)
    check_same(duck_sub, pand)
    con.close()
    return {
        "customers": customers, "purchases": purchases, "generate_s": generate_s,
        "summary_s": summary_s, "bgnbd_s": bgnbd_s, "gamma_s": gamma_s,
        "predict_s": predict_s, "patterns": model.diagnostics.distinct_patterns,  # type: ignore[union-attr]
        "params": {e.name: (e.value, e.standard_error) for e in model.estimates},
        "spend_mean": spend.population_mean_spend,
        "subset_customers": subset, "subset_purchases": int(subset_rows),
        "duck_subset_s": duck_sub_s, "pandas_s": pandas_s,
    }


def lines(r: dict[str, Any], repeats: int) -> list[str]:
    fitted = ", ".join(f"{k}={v:.3f} (se {se:.3f}, true {TRUE[k]:g})"
                       for k, (v, se) in r["params"].items())
    fit_s = r["bgnbd_s"] + r["gamma_s"]
    return [
        f"{r['customers']:,} customers, {r['purchases']:,} purchases (generated in "
        f"{r['generate_s']:.0f} s); medians of {repeats} runs",
        f"summary in DuckDB (all purchases):      {r['summary_s']:.2f} s "
        f"({r['purchases'] / r['summary_s'] / 1e6:.1f} M purchases/s)",
        f"BG/NBD fit ({r['patterns']:,} distinct patterns): {r['bgnbd_s']:.2f} s; "
        f"Gamma-Gamma fit: {r['gamma_s']:.2f} s; predictions: {r['predict_s']:.2f} s",
        f"summary + fits: {r['summary_s'] + fit_s:.2f} s",
        f"BG/NBD: {fitted}",
        f"Gamma-Gamma population mean spend {r['spend_mean']:.2f} "
        f"(true {SPEND[0] * SPEND[2] / (SPEND[1] - 1):.2f})",
        f"subset of {r['subset_customers']:,} customers, {r['subset_purchases']:,} purchases: "
        f"DuckDB {r['duck_subset_s']:.2f} s, pandas (read Parquet + groupby) "
        f"{r['pandas_s']:.2f} s -> ratio pandas / DuckDB {r['pandas_s'] / r['duck_subset_s']:.1f}x"
        " (same numbers to 1e-9)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--baseline-purchases", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update bench/BENCHMARKS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.customers, args.baseline_purchases, args.repeats, Path(tmp))
    text = lines(result, args.repeats)
    print("\n".join(text))
    if args.write:
        command = (f"python bench/bench_loyalty.py --customers {args.customers} "
                   f"--baseline-purchases {args.baseline_purchases} --repeats {args.repeats} "
                   "--write")
        body = "\n".join([
            "## Loyalty summary and models (`bench/bench_loyalty.py`)", "", f"`{command}`", "",
            f"Measured {datetime.now():%Y-%m-%d} on {platform.machine()} (Python "
            f"{platform.python_version()}, duckdb {duckdb.__version__}, pandas "
            f"{pd.__version__}). The machine is shared: compare the ratio.", "", "```",
            *text, "```",
        ])
        replace_section(SECTION, body)


if __name__ == "__main__":
    main()
