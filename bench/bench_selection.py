"""Benchmark select_segmentation on 1M customers x 20 features against the naive search.

mallseg: the whole ``select_segmentation`` (k-means and Gaussian mixture, k = 2..12,
stability from 10 refits per candidate, silhouette, Calinski-Harabasz, Davies-Bouldin, BIC,
then the winner refitted on every customer).

Naive baseline, measured in the same run: the search as written with scikit-learn directly
on all rows (each candidate fitted on every customer, 10 refits on 80% subsamples for
stability, full ``silhouette_score``). It cannot run at 1M rows (the full silhouette alone is
O(n^2)), so it is measured on ``--baseline-rows`` rows for k in {2, 7, 12} and extrapolated:
fits linearly in n, silhouette quadratically, the three k to all eleven.

    python bench/bench_selection.py --customers 1000000 --repeats 3 --write
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import datetime

import numpy as np
import pandas as pd
import sklearn
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_info

from bench_record import replace_section
from mallseg.segment.selection import select_segmentation

SECTION = "bench-selection"
K_VALUES = range(2, 13)
BASELINE_K = (2, 7, 12)
N_RESAMPLES = 10


def make_customers(n: int, n_features: int = 20, n_segments: int = 8,
                   seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Blobs of unequal size in 16 informative float32 features plus 4 noise features."""
    rng = np.random.default_rng(seed)
    informative = n_features - 4
    weights = rng.dirichlet(np.full(n_segments, 4.0))
    truth = rng.choice(n_segments, size=n, p=weights)
    centers = rng.uniform(-6, 6, size=(n_segments, informative)).astype(np.float32)
    values = np.empty((n, n_features), dtype=np.float32)
    values[:, :informative] = centers[truth] + rng.standard_normal(
        (n, informative), dtype=np.float32
    )
    values[:, informative:] = rng.standard_normal((n, 4), dtype=np.float32) * 3
    columns = [f"x{i:02d}" for i in range(n_features)]
    return pd.DataFrame(values, columns=columns), truth


def run_mallseg(frame: pd.DataFrame) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    result = select_segmentation(
        frame, list(frame.columns), algorithms=("kmeans", "gmm"), k_values=K_VALUES,
        n_resamples=N_RESAMPLES,
    )
    seconds = time.perf_counter() - started
    return seconds, {"k": result.chosen.k, "algorithm": result.chosen.algorithm,
                     "stability": result.stability.mean_ari, "labels": result.chosen.labels,
                     "sizes": result.sample_sizes}


def run_naive(frame: pd.DataFrame, n_rows: int, n_total: int) -> dict[str, float]:
    """Time the naive search on ``n_rows`` rows and extrapolate it to ``n_total``."""
    rng = np.random.default_rng(1)
    rows = np.sort(rng.choice(len(frame), size=n_rows, replace=False))
    points = frame.to_numpy(dtype=np.float64)[rows]
    points = (points - points.mean(axis=0)) / points.std(axis=0)
    fit_seconds = 0.0
    silhouette_seconds = 0.0
    for k in BASELINE_K:
        for build in (lambda k=k: KMeans(n_clusters=k, random_state=0),
                      lambda k=k: GaussianMixture(n_components=k, random_state=0)):
            started = time.perf_counter()
            labels = build().fit(points).predict(points)
            fit_seconds += time.perf_counter() - started
            started = time.perf_counter()
            silhouette_score(points, labels)
            silhouette_seconds += time.perf_counter() - started
    scale_k = len(K_VALUES) / len(BASELINE_K)
    growth = n_total / n_rows
    # one fit on all rows + N_RESAMPLES refits on 80% of them
    fits = fit_seconds * scale_k * growth * (1 + 0.8 * N_RESAMPLES)
    silhouettes = silhouette_seconds * scale_k * growth**2
    return {"measured_s": fit_seconds + silhouette_seconds, "fits_s": fits,
            "silhouette_s": silhouettes, "total_s": fits + silhouettes}


def write_section(row: dict[str, float], command: str, repeats: int) -> None:
    blas = ", ".join(
        f"{i['internal_api']} {i.get('architecture', '')} x{i['num_threads']}"
        for i in threadpool_info()
    )
    body = "\n".join([
        "## Model selection (`bench/bench_selection.py`)",
        "",
        f"`{command}`",
        "",
        f"Medians of {repeats} runs, measured {datetime.now():%Y-%m-%d} on "
        f"{platform.machine()} (Python {platform.python_version()}, scikit-learn "
        f"{sklearn.__version__}, {blas}). Data: {int(row['customers']):,} customers x 20 "
        "float32 features (8 blobs of unequal size in 16 features, 4 noise features). "
        "`select_segmentation`: k-means and Gaussian mixture, k = 2..12 (22 candidates), "
        f"stability from {N_RESAMPLES} refits each, silhouette, Calinski-Harabasz, "
        "Davies-Bouldin, BIC, winner refitted on every customer; search on "
        f"{int(row['search']):,} rows, silhouette on {int(row['silhouette']):,}, stability on "
        f"{int(row['stability']):,}. Naive: the same search with scikit-learn on all rows and "
        f"the full silhouette, measured on {int(row['baseline_rows']):,} rows for k in "
        "{2, 7, 12} and extrapolated (fits linear in n, silhouette quadratic).",
        "",
        "| customers | select_segmentation | naive search (extrapolated) | of which fits | "
        "naive / mallseg | chosen k | ARI vs truth |",
        "|---|---|---|---|---|---|---|",
        f"| {int(row['customers']):,} | {row['mallseg_s']:.1f} s | {row['naive_s'] / 3600:,.1f} h "
        f"| {row['naive_fits_s'] / 3600:,.1f} h | {row['naive_s'] / row['mallseg_s']:,.0f}x | "
        f"{int(row['k'])} | {row['ari']:.3f} |",
    ])
    replace_section(SECTION, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update bench/BENCHMARKS.md")
    args = parser.parse_args()

    frame, truth = make_customers(args.customers)
    runs = []
    for repeat in range(args.repeats):
        seconds, info = run_mallseg(frame)
        ari = adjusted_rand_score(truth, info["labels"])  # type: ignore[arg-type]
        print(f"run {repeat + 1}: select_segmentation {seconds:.1f} s, chosen "
              f"{info['algorithm']} k={info['k']}, stability {info['stability']:.3f}, "
              f"ARI vs truth {ari:.3f}")
        runs.append((seconds, info, ari))
    naive = run_naive(frame, args.baseline_rows, args.customers)
    mallseg_s = statistics.median(r[0] for r in runs)
    info, ari = runs[0][1], runs[0][2]
    sizes = info["sizes"]
    assert isinstance(sizes, dict)
    print(f"naive search measured {naive['measured_s']:.1f} s on {args.baseline_rows:,} rows "
          f"(k in {BASELINE_K}), extrapolated to {args.customers:,}: "
          f"{naive['total_s'] / 3600:,.1f} h (fits {naive['fits_s'] / 3600:,.1f} h, "
          f"silhouette {naive['silhouette_s'] / 3600:,.1f} h)")
    print(f"select_segmentation median {mallseg_s:.1f} s; naive / mallseg = "
          f"{naive['total_s'] / mallseg_s:,.0f}x (fits alone {naive['fits_s'] / mallseg_s:,.0f}x)")
    if args.write:
        row = {"customers": args.customers, "mallseg_s": mallseg_s, "naive_s": naive["total_s"],
               "naive_fits_s": naive["fits_s"], "k": info["k"], "ari": ari,
               "search": sizes["search"], "silhouette": sizes["silhouette"],
               "stability": sizes["stability"], "baseline_rows": args.baseline_rows}
        command = (f"python bench/bench_selection.py --customers {args.customers} "
                   f"--baseline-rows {args.baseline_rows} --repeats {args.repeats} --write")
        write_section(row, command, args.repeats)


if __name__ == "__main__":
    main()
