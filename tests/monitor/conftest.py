"""Simulated populations to draw (reference, current) pairs from, with and without drift.

For each simulation seed, two malls of the same customers (same seed) are simulated over
60 days: one as is, one where the mall enthusiasts' visits and spend drift
(``behaviour:0.5``, every other persona unchanged). Their windowed features are computed
with the plain mall's feature schema, and a model (k-means, one segment per persona) is
fitted on a sample of the plain mall (as a run is fitted on its reference period's
customers; either side of a pair holds as many of them, by chance). A pair draws two
disjoint samples of customers:

- ``none``: both from the plain mall, persona mix as simulated;
- ``mix``: the current sample's persona mix shifted by 5 percentage points in the direction
  of the simulator's ``mix`` drift (shares proportional to ``share * exp(lam * tilt)``);
- ``behaviour``: the current sample from the drifting mall.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from threadpoolctl import threadpool_limits

from mallseg.app.segment import SegmentRequest, model_kinds, segment_customers
from mallseg.data.ingest import ingest_file
from mallseg.datasets.simulate import select_personas, simulate_mall
from mallseg.features.build import build_features
from mallseg.features.lenses import resolve_lens
from mallseg.features.schema import FeatureSchema
from mallseg.monitor.drift import DriftReport, check_drift_views
from mallseg.monitor.model_view import ModelView, view_customers
from mallseg.monitor.windows import Window, window_features
from mallseg.segment.segmenter import Segmenter
from mallseg.workspace import Workspace

PERSONAS = select_personas(6)
SIMULATION_SEEDS = (11, 12)
TRIALS_PER_SEED = 10
POOL_CUSTOMERS = 22_000
SAMPLE = 8_000
DAYS = 60
DRIFTING = "mall_enthusiast"
BEHAVIOUR = "behaviour:0.5"
MIX_SHIFT = 0.05
TABLES = ("customers", "stores", "campaigns", "visits", "transactions", "exposures")


def load_mall(folder: Path) -> tuple[duckdb.DuckDBPyConnection, pd.Series]:
    """A simulated mall's input tables in DuckDB, and each customer's true persona."""
    con = duckdb.connect()
    for table in TABLES:
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM "
                    f"read_parquet('{folder}/inputs/{table}/*.parquet')")
    truth = con.execute(f"SELECT customer_id, persona FROM read_parquet("
                        f"'{folder}/truth/customer_personas/*.parquet')").df()
    return con, truth.set_index("customer_id")["persona"]


def shifted_mix(shares: np.ndarray, tilt: np.ndarray, distance: float) -> np.ndarray:
    """Shares tilted like the simulator's mix drift, ``distance`` away in total variation."""
    def tilted(lam: float) -> np.ndarray:
        weights = shares * np.exp(lam * tilt)
        return weights / weights.sum()

    lam = brentq(lambda x: 0.5 * np.abs(tilted(x) - shares).sum() - distance, 0.0, 10.0)
    return tilted(lam)


@dataclass
class Pool:
    """One seed's two malls, placed in the model's space once."""

    seed: int
    schema: FeatureSchema
    model: Segmenter
    plain: pd.DataFrame
    drifting: pd.DataFrame
    plain_view: ModelView
    drifting_view: ModelView
    personas: np.ndarray
    base_mix: np.ndarray
    target_mix: np.ndarray
    drawable: np.ndarray
    """Rows pairs are drawn from."""

    def _draw(self, rng: np.random.Generator, shares: np.ndarray,
              exclude: np.ndarray) -> np.ndarray:
        counts = rng.multinomial(SAMPLE, shares)
        rows = []
        for persona, count in zip(PERSONAS, counts, strict=True):
            available = np.setdiff1d(self.drawable[self.personas[self.drawable] == persona.name],
                                     exclude)
            rows.append(rng.choice(available, count, replace=False))
        return np.sort(np.concatenate(rows))

    def check(self, condition: str, trial: int) -> DriftReport:
        """The drift check of one pair drawn for ``condition``."""
        rng = np.random.default_rng([self.seed, trial])
        ref_rows = self._draw(rng, self.base_mix, np.empty(0, dtype=np.int64))
        if condition == "behaviour":
            taken = set(self.plain["customer_id"].iloc[ref_rows])
            free = np.flatnonzero(~self.drifting["customer_id"].isin(taken).to_numpy())
            cur_rows = np.sort(rng.choice(free, SAMPLE, replace=False))
            current, current_view = self.drifting, self.drifting_view
        else:
            shares = self.target_mix if condition == "mix" else self.base_mix
            cur_rows = self._draw(rng, shares, ref_rows)
            current, current_view = self.plain, self.plain_view
        features = ["customer_id", *self.model.feature_names_in_]
        return check_drift_views(
            self.plain.iloc[ref_rows][features], current.iloc[cur_rows][features],
            _rows(self.plain_view, ref_rows), _rows(current_view, cur_rows), self.model,
            kinds=self.schema.kinds, resamples=0, quality_rows=400, random_state=trial)


def _rows(view: ModelView, rows: np.ndarray) -> ModelView:
    return ModelView(view.points[rows], view.labels[rows], view.confidence[rows], len(rows))


def build_pool(folder: Path, seed: int) -> Pool:
    drifting_personas = [replace(p, visit_drift=p.visit_drift if p.name == DRIFTING else 0.0,
                                 spend_drift=p.spend_drift if p.name == DRIFTING else 0.0)
                         for p in PERSONAS]
    simulate_mall(folder / "plain", customers=POOL_CUSTOMERS, days=DAYS, seed=seed,
                  personas=PERSONAS)
    simulate_mall(folder / "drifting", customers=POOL_CUSTOMERS, days=DAYS, seed=seed,
                  personas=drifting_personas, drift=BEHAVIOUR)
    con, truth = load_mall(folder / "plain")
    schema = build_features(con).schema
    assert schema.as_of is not None
    window = Window(schema.as_of - timedelta(days=DAYS), schema.as_of)
    plain = window_features(con, schema, window)
    drifting_con, _ = load_mall(folder / "drifting")
    drifting = window_features(drifting_con, schema, window)
    personas = truth.reindex(plain["customer_id"]).to_numpy()
    rng = np.random.default_rng(seed)
    fit_rows = rng.choice(len(plain), 3000, replace=False)
    features = resolve_lens("behavioural", plain.columns)
    with threadpool_limits(limits=1):
        model = Segmenter(features=features, n_segments=len(PERSONAS),
                          feature_kinds=model_kinds(schema, features), random_state=seed,
                          fit_sample_size=2000).fit(plain.iloc[fit_rows])
    shares = np.array([p.share for p in PERSONAS])
    shares = shares / shares.sum()
    tilt = np.array([p.mix_drift_tilt for p in PERSONAS])
    return Pool(seed, schema, model, plain, drifting,
                view_customers(model, plain), view_customers(model, drifting), personas,
                shares, shifted_mix(shares, tilt, MIX_SHIFT), np.arange(len(plain)))


@pytest.fixture(scope="session")
def drift_pools() -> Iterator[list[Pool]]:
    with tempfile.TemporaryDirectory(prefix="mallseg-drift-pools-") as folder:
        yield [build_pool(Path(folder) / str(seed), seed) for seed in SIMULATION_SEEDS]


def verdict_counts(pools: list[Pool], condition: str) -> dict[str, int]:
    """Verdicts of every pair of ``condition`` over the pools' seeds and trials."""
    counts = {"stable": 0, "watch": 0, "refit due": 0}
    for pool in pools:
        for trial in range(TRIALS_PER_SEED):
            counts[pool.check(condition, trial).verdict] += 1
    return counts


@pytest.fixture(scope="session")
def count_verdicts() -> object:
    return verdict_counts


@dataclass(frozen=True)
class EventWorkspace:
    """A workspace holding a simulated mall up to a cut-off, and the files of what came after.

    ``updates`` holds one Parquet file per table with the rows after the cut-off: new
    sign-ups, visits, purchases, campaign contacts (and redemptions of earlier contacts).
    Run 0001 segments the customers as of the cut-off (behavioural lens, k-means, 6).
    """

    folder: Path
    updates: Path
    cutoff: datetime

    def copy(self, target: Path) -> Path:
        """A copy of the workspace folder to change freely."""
        shutil.copytree(self.folder, target)
        return target


def split_mall(inputs: Path, cutoff: datetime, before: Path, after: Path) -> None:
    """Write each table's rows before and after ``cutoff`` to one Parquet file per side."""
    before.mkdir(parents=True)
    after.mkdir(parents=True)
    con = duckdb.connect()
    at = f"TIMESTAMP '{cutoff.isoformat(sep=' ')}'"
    times = {"customers": "CAST(signup_date AS TIMESTAMP)", "visits": "entered_at",
             "transactions": "purchased_at", "exposures": "sent_at"}
    for table in TABLES:
        source = f"read_parquet('{inputs}/{table}/*.parquet')"
        if table not in times:
            con.execute(f"COPY (SELECT * FROM {source}) TO '{before}/{table}.parquet'")
            continue
        moment = times[table]
        early = f"coalesce({moment} < {at}, true)"
        if table == "exposures":
            con.execute(
                f"COPY (SELECT * REPLACE (CASE WHEN redeemed_at < {at} THEN redeemed_at END "
                f"AS redeemed_at) FROM {source} WHERE {early}) TO '{before}/{table}.parquet'")
            con.execute(f"COPY (SELECT * FROM {source} WHERE NOT {early} OR redeemed_at >= "
                        f"{at}) TO '{after}/{table}.parquet'")
            continue
        con.execute(f"COPY (SELECT * FROM {source} WHERE {early}) TO "
                    f"'{before}/{table}.parquet'")
        con.execute(f"COPY (SELECT * FROM {source} WHERE NOT {early}) TO "
                    f"'{after}/{table}.parquet'")


@pytest.fixture(scope="session")
def event_workspace(tmp_path_factory: pytest.TempPathFactory) -> EventWorkspace:
    folder = tmp_path_factory.mktemp("event-workspace")
    simulate_mall(folder / "mall", customers=2500, days=70, seed=5, personas=6)
    cutoff = datetime(2026, 1, 1) + timedelta(days=56)
    split_mall(folder / "mall" / "inputs", cutoff, folder / "initial", folder / "updates")
    with Workspace.open(folder / "ws") as ws:
        for table in TABLES:
            ingest_file(ws, table, folder / "initial" / f"{table}.parquet")
        with threadpool_limits(limits=1):
            segment_customers(ws, SegmentRequest(lens="behavioural", algorithms=("kmeans",),
                                                 k=6, n_resamples=2))
    return EventWorkspace(folder / "ws", folder / "updates", cutoff)


TIGHT = {"income_sigma": 0.08, "spending_score_sd": 4.0}
SCORES = {"mission_shopper": 20.0, "teen_grazer": 85.0, "affluent_destination": 55.0}
CLASSIC_PERSONAS = [replace(p, spending_score_mean=SCORES[p.name], **TIGHT) for p in
                    select_personas(["mission_shopper", "teen_grazer", "affluent_destination"])]
"""Three personas well apart on income and spending score (the classic lens)."""
PLANTED = replace(select_personas(["senior_leisure"])[0], income_median_k=260,
                  spending_score_mean=15, **TIGHT)
"""A persona none of them is like: rich and careful."""


def write_customers(folder: Path, personas: list, seed: int, n: int, prefix: str) -> Path:
    """Simulated customers (ids prefixed) as one CSV file with the classic columns."""
    simulate_mall(folder / "mall", customers=n, days=7, seed=seed, personas=personas)
    frame = pd.read_parquet(folder / "mall" / "inputs" / "customers")
    frame["customer_id"] = prefix + frame["customer_id"]
    path = folder / "customers.csv"
    frame[["customer_id", "gender", "age", "annual_income", "spending_score"]].to_csv(
        path, index=False)
    return path


@dataclass(frozen=True)
class CustomerWorkspace:
    """A workspace of customers only (run 0001: classic lens, k-means, 3 segments), and files
    of more customers: ``alike`` (the same personas) and ``planted`` (a new persona)."""

    folder: Path
    alike: Path
    planted: Path

    def copy(self, target: Path) -> Path:
        """A copy of the workspace folder to change freely."""
        shutil.copytree(self.folder, target)
        return target


@pytest.fixture(scope="session")
def customer_workspace(tmp_path_factory: pytest.TempPathFactory) -> CustomerWorkspace:
    folder = tmp_path_factory.mktemp("customer-workspace")
    first = write_customers(folder / "first", CLASSIC_PERSONAS, seed=3, n=1500, prefix="A")
    alike = write_customers(folder / "alike", CLASSIC_PERSONAS, seed=4, n=1200, prefix="B")
    planted = write_customers(folder / "planted", [PLANTED], seed=5, n=500, prefix="P")
    with Workspace.open(folder / "ws") as ws:
        ingest_file(ws, "customers", first)
        with threadpool_limits(limits=1):
            segment_customers(ws, SegmentRequest(lens="classic", algorithms=("kmeans",), k=3,
                                                 n_resamples=2))
    return CustomerWorkspace(folder / "ws", alike, planted)
