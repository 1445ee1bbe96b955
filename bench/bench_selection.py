"""Benchmark select_segmentation against the same search done the usual way with scikit-learn.

mallseg: the whole ``select_segmentation`` (the cluster-structure test, k-means and Gaussian
mixture for k = 2..12, stability from 10 refits per candidate, silhouette,
Calinski-Harabasz, Davies-Bouldin, BIC, then the winner refitted on every customer, or on
200k of them for a mixture).

Baseline, measured in the same run, never extrapolated: the search as an analyst writes it
with scikit-learn on all rows. Standard scaling; for each algorithm and each k in the same
range, the same estimator mallseg builds for that many rows
(:func:`mallseg.segment.algorithms.make_clusterer`: k-means with 3 restarts, a full-covariance
mixture) fitted on every row; ``silhouette_score(sample_size=10000)``; the same number of
stability refits, each on a random 80% of all rows, scored by the adjusted Rand index
against the full fit on those rows; the winner is the best silhouette among candidates with
stability >= 0.8. The baseline runs only up to ``--baseline-up-to`` customers (it takes
minutes at 200k and about an hour at 1M on this machine); larger sizes are measured for
mallseg alone, and the table says so.

    python bench/bench_selection.py --sizes 200000 1000000 --baseline-up-to 200000 --write
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler

from bench_record import machine_line, replace_section
from mallseg.segment.algorithms import make_clusterer
from mallseg.segment.selection import select_segmentation

SECTION = "bench-selection"
ALGORITHMS = ("kmeans", "gmm")
K_VALUES = range(2, 13)
N_RESAMPLES = 10
SILHOUETTE_ROWS = 10_000
MIN_STABILITY = 0.8
TARGET_SECONDS = 30.0
TARGET_CUSTOMERS = 1_000_000
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
"""Thread limits given to the run, written into the recorded command."""


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


@dataclass(frozen=True)
class SearchRun:
    """One model-selection run: its time, what it chose and how well that fits the truth."""

    seconds: float
    algorithm: str
    k: int
    ari: float
    fit_seconds: float = 0.0
    stability_seconds: float = 0.0
    silhouette_seconds: float = 0.0


def run_mallseg(frame: pd.DataFrame, truth: np.ndarray) -> SearchRun:
    started = time.perf_counter()
    result = select_segmentation(
        frame, list(frame.columns), algorithms=ALGORITHMS, k_values=K_VALUES,
        n_resamples=N_RESAMPLES,
    )
    seconds = time.perf_counter() - started
    return SearchRun(seconds, result.chosen.algorithm, result.chosen.k,
                     float(adjusted_rand_score(truth, result.chosen.labels)))


def run_baseline(frame: pd.DataFrame, truth: np.ndarray) -> SearchRun:
    """The same search with scikit-learn on every row (see the module docstring)."""
    started = time.perf_counter()
    points = StandardScaler().fit_transform(frame.to_numpy(dtype=np.float64))
    n, d = points.shape
    rng = np.random.default_rng(0)
    fit_s = stability_s = silhouette_s = 0.0
    candidates: list[tuple[float, float, str, int, np.ndarray]] = []
    for algorithm in ALGORITHMS:
        for k in K_VALUES:
            model = make_clusterer(algorithm, k, 0, n, n_features=d)
            t0 = time.perf_counter()
            labels = np.asarray(model.fit_predict(points))
            t1 = time.perf_counter()
            silhouette = float(silhouette_score(points, labels, sample_size=SILHOUETTE_ROWS,
                                                random_state=0))
            t2 = time.perf_counter()
            aris = []
            for resample in range(N_RESAMPLES):
                rows = np.sort(rng.choice(n, size=int(0.8 * n), replace=False))
                refit = clone(model).set_params(random_state=resample + 1)
                aris.append(adjusted_rand_score(labels[rows], refit.fit_predict(points[rows])))
            t3 = time.perf_counter()
            fit_s, silhouette_s, stability_s = (fit_s + t1 - t0, silhouette_s + t2 - t1,
                                                stability_s + t3 - t2)
            stability = float(np.mean(aris))
            candidates.append((silhouette, stability, algorithm, k, labels))
            print(f"  baseline {algorithm} k={k}: fit {t1 - t0:.1f} s, silhouette "
                  f"{silhouette:.3f}, stability {stability:.3f} ({t3 - t2:.1f} s)", flush=True)
    stable = [c for c in candidates if c[1] >= MIN_STABILITY] or candidates
    silhouette, _, algorithm, k, labels = max(stable, key=lambda c: c[0])
    return SearchRun(time.perf_counter() - started, algorithm, k,
                     float(adjusted_rand_score(truth, labels)), fit_s, stability_s,
                     silhouette_s)


def target_sentence(seconds_at_target: float | None) -> str:
    if seconds_at_target is None:
        return f"The target (full model selection on {TARGET_CUSTOMERS:,} customers in under " \
               f"{TARGET_SECONDS:.0f} s) was not measured in this run."
    if seconds_at_target <= TARGET_SECONDS:
        return (f"Target met: {seconds_at_target:.1f} s for {TARGET_CUSTOMERS:,} customers, "
                f"{TARGET_SECONDS - seconds_at_target:.1f} s under the {TARGET_SECONDS:.0f} s "
                "target.")
    return (f"Target missed: {seconds_at_target:.1f} s for {TARGET_CUSTOMERS:,} customers, "
            f"{seconds_at_target - TARGET_SECONDS:.1f} s "
            f"({seconds_at_target / TARGET_SECONDS:.2f}x) over the {TARGET_SECONDS:.0f} s "
            "target.")


@dataclass(frozen=True)
class SizeResult:
    """Both searches at one number of customers (the baseline None when not run)."""

    customers: int
    mallseg_s: float
    mallseg: SearchRun
    baseline: SearchRun | None


def write_section(rows: list[SizeResult], command: str, repeats: int,
                  seconds_at_target: float | None) -> None:
    lines = [
        "## Model selection (`bench/bench_selection.py`)",
        "",
        f"`{command}`",
        "",
        f"{machine_line()}, scikit-learn {sklearn.__version__}. Data: customers x 20 float32 "
        "features (8 blobs of unequal size in 16 features, 4 noise features). mallseg: "
        "`select_segmentation` (structure test, k-means and Gaussian mixture for k = 2..12, "
        f"{N_RESAMPLES} stability refits each, silhouette, Calinski-Harabasz, Davies-Bouldin, "
        "BIC, winner refitted on every customer; search on 30,000 rows, silhouette on 10,000, "
        f"stability on 5,000), {f'median of {repeats} runs' if repeats > 1 else 'one run'}. "
        "Baseline (measured once, not "
        "extrapolated): the same search the usual way with scikit-learn on all rows: the "
        "same estimators for each k, `silhouette_score(sample_size=10000)`, "
        f"{N_RESAMPLES} stability refits per candidate on 80% of all rows, winner = best "
        "silhouette among stability >= 0.8.",
        "",
        "| customers | select_segmentation | chosen | ARI vs truth | scikit-learn search "
        "(fits / stability refits / silhouette) | chosen | ARI vs truth | baseline / mallseg |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        base, ours = row.baseline, row.mallseg
        cells = [f"{row.customers:,}", f"{row.mallseg_s:.1f} s", f"{ours.algorithm} k={ours.k}",
                 f"{ours.ari:.3f}"]
        if base is not None:
            cells += [f"{base.seconds:.0f} s ({base.fit_seconds:.0f} / "
                      f"{base.stability_seconds:.0f} / {base.silhouette_seconds:.1f} s)",
                      f"{base.algorithm} k={base.k}", f"{base.ari:.3f}",
                      f"{base.seconds / row.mallseg_s:.1f}x"]
        else:
            cells += ["not run at this size", "", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", target_sentence(seconds_at_target)]
    replace_section(SECTION, "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200_000])
    parser.add_argument("--baseline-up-to", type=int, default=200_000,
                        help="run the scikit-learn search only up to this many customers")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update bench/BENCHMARKS.md")
    args = parser.parse_args()

    rows: list[SizeResult] = []
    seconds_at_target = None
    for n in args.sizes:
        frame, truth = make_customers(n)
        runs = []
        for repeat in range(args.repeats):
            run = run_mallseg(frame, truth)
            print(f"{n:,} customers, run {repeat + 1}: select_segmentation {run.seconds:.1f} s, "
                  f"chose {run.algorithm} k={run.k}, ARI vs truth {run.ari:.3f}", flush=True)
            runs.append(run)
        mallseg_s = statistics.median(r.seconds for r in runs)
        if n == TARGET_CUSTOMERS:
            seconds_at_target = mallseg_s
        base = None
        if n <= args.baseline_up_to:
            base = run_baseline(frame, truth)
            print(f"{n:,} customers: scikit-learn search {base.seconds:.1f} s (fits "
                  f"{base.fit_seconds:.1f} s, stability refits {base.stability_seconds:.1f} s, "
                  f"silhouette {base.silhouette_seconds:.1f} s), chose {base.algorithm} "
                  f"k={base.k}, ARI vs truth {base.ari:.3f}; select_segmentation median "
                  f"{mallseg_s:.1f} s; baseline / mallseg = {base.seconds / mallseg_s:.1f}x",
                  flush=True)
        rows.append(SizeResult(n, mallseg_s, runs[0], base))
    print(target_sentence(seconds_at_target))
    if args.write:
        threads = " ".join(f"{name}={os.environ[name]}" for name in THREAD_VARIABLES
                           if name in os.environ)
        command = (f"{threads} " if threads else "") + ("python bench/bench_selection.py --sizes "
                   + " ".join(str(n) for n in args.sizes)
                   + f" --baseline-up-to {args.baseline_up_to} --repeats {args.repeats} --write")
        write_section(rows, command, args.repeats, seconds_at_target)


if __name__ == "__main__":
    main()
