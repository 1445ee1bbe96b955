"""Benchmark build_customer_features (DuckDB SQL) against the same value features in pandas.

Generates a mall's customers, stores and transactions with numpy (deterministic seed),
loads them into a workspace, then times, in the same run:

- duckdb: build_customer_features on the workspace (customers + stores + transactions),
  result materialised and returned as pandas;
- pandas: read the same transactions from Parquet, then groupby for recency, frequency,
  monetary total, basket mean, distinct stores, spend share per category, favourite zone.

Both results are compared (same columns, to 1e-9) before any figure is reported.

    python bench/bench_features.py --transactions 1000000 10000000 --repeats 3 --write
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from bench_record import replace_section
from mallseg.features.build import build_customer_features
from mallseg.features.category_names import normalise_category
from mallseg.workspace import Workspace

CATEGORIES = [
    "Apparel", "Food & Drink", "Cinema", "Electronics", "Home Décor", "Beauty", "Sports",
    "Books", "Toys", "Jewellery", "Grocery", "Services",
]
ZONES = ["North", "South", "East", "West", "Food Court", "Upper Deck"]
N_STORES = 120
START = datetime(2024, 1, 1)
DAYS = 365
SECTION = "bench_features"


def generate(con: duckdb.DuckDBPyConnection, n_tx: int, seed: int = 7) -> None:
    """Fill the workspace tables: n_tx lines, n_tx / 10 customers, baskets of ~2.5 lines."""
    rng = np.random.default_rng(seed)
    n_customers = max(n_tx // 10, 10)
    n_occasions = int(n_tx / 2.5 * 1.05) + 10  # geometric(0.4) lines: 2.5 on average
    lines = rng.geometric(0.4, n_occasions)
    occasion = np.repeat(np.arange(n_occasions), lines)[:n_tx]
    activity = rng.lognormal(0.0, 1.0, n_customers)
    occ_customer = rng.choice(n_customers, n_occasions, p=activity / activity.sum())
    occ_store = rng.integers(0, N_STORES, n_occasions)
    occ_seconds = rng.integers(0, DAYS * 86400, n_occasions)
    occ_has_basket = rng.random(n_occasions) < 0.8
    amount = np.round(rng.lognormal(3.0, 1.0, n_tx), 2)
    amount[rng.random(n_tx) < 0.03] *= -1
    tx = pa.table({
        "occ": occasion,
        "cust": occ_customer[occasion],
        "store": occ_store[occasion],
        "secs": occ_seconds[occasion] + rng.integers(0, 300, n_tx),
        "amount": amount,
        "has_basket": occ_has_basket[occasion],
    })
    con.execute(
        "INSERT INTO customers (customer_id, age, gender, annual_income, spending_score) "
        "SELECT printf('C%07d', i), 18 + i % 60, CASE WHEN i % 2 = 0 THEN 'female' "
        "ELSE 'male' END, 15 + i % 120, 1 + i % 100 FROM range(?) AS r(i)",
        [n_customers],
    )
    store_rows = [
        (f"S{i:03d}", CATEGORIES[i % len(CATEGORIES)], ZONES[(i * 7) % len(ZONES)])
        for i in range(N_STORES)
    ]
    con.executemany(
        "INSERT INTO stores (store_id, category, zone) VALUES (?, ?, ?)", store_rows
    )
    con.register("generated_tx", tx)
    con.execute(
        "INSERT INTO transactions (transaction_id, customer_id, store_id, purchased_at, amount, "
        "basket_id) SELECT printf('T%09d', row_number() OVER ()), printf('C%07d', cust), "
        "printf('S%03d', store), TIMESTAMP '2024-01-01' + to_seconds(secs), amount, "
        "CASE WHEN has_basket THEN printf('B%09d', occ) END FROM generated_tx"
    )
    con.unregister("generated_tx")


def pandas_value_features(folder: Path, as_of: datetime) -> pd.DataFrame:
    """The value block of build_customer_features, written with pandas groupby."""
    tx = pd.read_parquet(folder / "transactions.parquet")
    stores = pd.read_parquet(folder / "stores.parquet")
    customers = pd.read_parquet(folder / "customers.parquet")
    stores["cat"] = stores["category"].map(normalise_category)
    tx = tx[tx["purchased_at"] <= as_of].merge(
        stores[["store_id", "cat", "zone"]], on="store_id", how="left"
    )
    pos = tx[tx["amount"] > 0]
    by_customer = pos.groupby("customer_id")
    baskets = pos.loc[pos["basket_id"].notna()].groupby("customer_id")["basket_id"].nunique()
    loose = pos.loc[pos["basket_id"].isna(), ["customer_id", "store_id", "purchased_at"]]
    loose = loose.assign(day=loose["purchased_at"].dt.floor("D")).drop_duplicates(
        ["customer_id", "day", "store_id"]
    )
    out = pd.DataFrame(index=pd.Index(customers["customer_id"], name="customer_id"))
    first_day = tx["purchased_at"].min().floor("D")
    last = by_customer["purchased_at"].max().reindex(out.index).dt.floor("D").fillna(first_day)
    out["recency_days"] = (pd.Timestamp(as_of).floor("D") - last).dt.days
    out["frequency"] = (
        baskets.reindex(out.index, fill_value=0)
        + loose.groupby("customer_id").size().reindex(out.index, fill_value=0)
    )
    out["monetary_total"] = tx.groupby("customer_id")["amount"].sum().reindex(
        out.index, fill_value=0.0
    )
    out["basket_mean"] = out["monetary_total"] / out["frequency"].replace(0, np.nan)
    out["distinct_stores"] = by_customer["store_id"].nunique().reindex(out.index, fill_value=0)
    spend = pos.groupby(["customer_id", "cat"])["amount"].sum().unstack(fill_value=0.0)
    shares = spend.div(spend.sum(axis=1), axis=0).reindex(out.index)
    for cat in sorted(shares.columns):
        out[f"spend_share_{cat}"] = shares[cat]
    zone_spend = pos.groupby(["customer_id", "zone"])["amount"].sum().unstack(fill_value=0.0)
    zone_spend = zone_spend[sorted(zone_spend.columns)].round(6)
    out["favourite_zone"] = zone_spend.idxmax(axis=1).reindex(out.index)
    return out.reset_index()


def check_same(duck: pd.DataFrame, pand: pd.DataFrame) -> None:
    """Raise AssertionError unless every value feature agrees."""
    duck = duck.set_index("customer_id").sort_index()
    pand = pand.set_index("customer_id").sort_index()
    for col in pand.columns:
        left, right = duck[col], pand[col]
        if col == "favourite_zone":
            assert (left.fillna("") == right.fillna("")).all(), col
        else:
            a = left.to_numpy(dtype=float, na_value=np.nan)
            b = right.to_numpy(dtype=float, na_value=np.nan)
            assert np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True), col


def median_time(fn: object, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run(n_tx: int, repeats: int, folder: Path) -> dict[str, float]:
    with Workspace.open(folder / f"ws_{n_tx}") as ws:
        con = ws.connection
        t0 = time.perf_counter()
        generate(con, n_tx)
        load_s = time.perf_counter() - t0
        for table in ("transactions", "stores", "customers"):
            con.execute(f"COPY (SELECT * EXCLUDE (_ingest_id) FROM {table}) "
                        f"TO '{folder / (table + '.parquet')}' (FORMAT parquet)")
        as_of = con.execute("SELECT max(purchased_at) FROM transactions").fetchone()[0]  # type: ignore[index]
        n_customers = ws.table_count("customers")
        duck_s, duck = median_time(lambda: build_customer_features(con), repeats)
        pandas_s, pand = median_time(lambda: pandas_value_features(folder, as_of), repeats)
        check_same(duck, pand)  # type: ignore[arg-type]
        return {"transactions": n_tx, "customers": n_customers, "load_s": load_s,
                "duckdb_s": duck_s, "pandas_s": pandas_s,
                "features": duck.shape[1] - 1}  # type: ignore[union-attr]


def write_section(rows: list[dict[str, float]], command: str,
                  repeats: int) -> None:
    table = ["| transactions | customers | build_customer_features (DuckDB) | pandas groupby "
             "(Parquet) | pandas / DuckDB |", "|---|---|---|---|---|"]
    for r in rows:
        table.append(
            f"| {int(r['transactions']):,} | {int(r['customers']):,} | {r['duckdb_s']:.2f} s "
            f"| {r['pandas_s']:.2f} s | {r['pandas_s'] / r['duckdb_s']:.1f}× |"
        )
    body = "\n".join([
        "## Per-customer features (`bench/bench_features.py`)",
        "",
        f"`{command}`",
        "",
        f"Medians of {repeats} runs, measured {datetime.now():%Y-%m-%d} on "
        f"{platform.machine()} (Python {platform.python_version()}, duckdb {duckdb.__version__}, "
        f"pandas {pd.__version__}). DuckDB: the whole `build_customer_features` "
        "(customers + stores + transactions, result stored and returned as pandas); pandas: "
        "the same value features (recency, frequency, monetary, basket mean, distinct stores, "
        "spend shares, favourite zone), its time including the read of the Parquet file. "
        "Both agree to 1e-9. The machine is shared: single figures move by a factor of 2 "
        "between runs, compare the ratio.",
        "",
        *table,
    ])
    replace_section(SECTION, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update bench/BENCHMARKS.md")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.transactions:
            r = run(n, args.repeats, Path(tmp))
            rows.append(r)
            print(
                f"{n:>11,} tx {int(r['customers']):>9,} customers: "
                f"duckdb {r['duckdb_s']:.2f} s, pandas {r['pandas_s']:.2f} s, "
                f"ratio pandas/duckdb {r['pandas_s'] / r['duckdb_s']:.1f}x "
                f"(load {r['load_s']:.1f} s, {int(r['features'])} features, same numbers)"
            )
    if args.write:
        command = "python bench/bench_features.py --transactions " + " ".join(
            str(n) for n in args.transactions
        ) + f" --repeats {args.repeats} --write"
        write_section(rows, command, args.repeats)


if __name__ == "__main__":
    main()
