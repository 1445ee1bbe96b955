"""Fixtures of the service tests: a small simulated mall segmented with the value lens, and
the real service started on it (Uvicorn in a subprocess, on a free loopback port)."""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from mallseg.app.segment import SegmentRequest, segment_customers
from mallseg.core.schema import TABLE_LOAD_ORDER
from mallseg.data.ingest import find_table_sources, ingest_file
from mallseg.datasets.simulate import simulate_mall
from mallseg.workspace import Workspace

VALUE_FEATURES = ["recency_days", "frequency", "monetary_total", "basket_mean"]


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread() -> Iterator[None]:
    """Small matrices on a shared 2-core machine: BLAS threads only wait for each other."""
    with threadpool_limits(limits=1):
        yield


@dataclass(frozen=True)
class MallTruth:
    """What the segmented mall holds, read before any service opens it."""

    folder: Path
    run_id: str
    features: pd.DataFrame
    """The run's feature snapshot, one row per customer."""
    assignments: pd.DataFrame
    """customer_id, segment_id, segment_name, confidence of the run."""
    monetary_by_segment: dict[int, float]
    reference_time: Any
    store_id: str
    campaign_id: str

    @property
    def big_spender_segment(self) -> int:
        return max(self.monetary_by_segment, key=lambda s: self.monetary_by_segment[s])

    @property
    def light_spender_segment(self) -> int:
        return min(self.monetary_by_segment, key=lambda s: self.monetary_by_segment[s])

    def light_spenders(self) -> list[str]:
        """Customers of the lowest-spending segment who bought nothing."""
        frame = self.features.merge(self.assignments, on="customer_id")
        chosen = frame[(frame["segment_id"] == self.light_spender_segment)
                       & (frame["monetary_total"] == 0)]
        return sorted(chosen["customer_id"])


@pytest.fixture(scope="session")
def mall(tmp_path_factory: pytest.TempPathFactory) -> MallTruth:
    """300 simulated customers over 60 days, segmented in 3 with the value lens."""
    root = tmp_path_factory.mktemp("mall")
    simulate_mall(root / "sim", customers=300, days=60, seed=3, personas=4)
    sources = find_table_sources(root / "sim" / "inputs")
    with Workspace.open(root / "ws") as ws:
        for table in TABLE_LOAD_ORDER:
            if table in sources:
                ingest_file(ws, table, sources[table])
        result = segment_customers(ws, SegmentRequest(lens="value", k=3, algorithms=("kmeans",),
                                                      n_resamples=2))
        features = ws.connection.execute(
            f"SELECT * FROM snapshot_{result.run_id}_features ORDER BY customer_id").df()
        assignments = ws.connection.execute(
            "SELECT customer_id, segment_id, segment_name, confidence FROM segment_assignments "
            "WHERE run_id = ? ORDER BY customer_id", [result.run_id]).df()
        store = ws.connection.execute("SELECT min(store_id) FROM stores").fetchall()[0][0]
        campaign = ws.connection.execute(
            "SELECT min(campaign_id) FROM campaigns").fetchall()[0][0]
    assert result.features == VALUE_FEATURES
    joined = features.merge(assignments, on="customer_id")
    monetary = joined.groupby("segment_id")["monetary_total"].mean().to_dict()
    return MallTruth(root / "ws", result.run_id, features, assignments,
                     {int(k): float(v) for k, v in monetary.items()},
                     result.schema.as_of, str(store), str(campaign))


@pytest.fixture
def mall_copy(mall: MallTruth, tmp_path: Path) -> Path:
    """A copy of the segmented workspace that a test may change."""
    target = tmp_path / "ws"
    shutil.copytree(mall.folder, target)
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningService:
    """A ``mallseg serve`` subprocess and what it printed."""

    url: str
    folder: Path
    process: subprocess.Popen[str]
    admin_key: str
    lines: list[str] = field(default_factory=list)
    stderr_path: Path | None = None

    def client(self, key: str | None = None, cookies: dict[str, str] | None = None,
               **headers: str) -> httpx.Client:
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return httpx.Client(base_url=self.url, headers=headers, cookies=cookies, timeout=30)

    def new_key(self, *scopes: str, name: str = "test") -> tuple[str, str]:
        """Create a key through the API: (key id, secret)."""
        with self.client(self.admin_key) as admin:
            answer = admin.post("/keys", json={"name": name, "scopes": list(scopes)})
        assert answer.status_code == 201, answer.text
        body = answer.json()
        return body["key_id"], body["secret"]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return int(self.process.returncode)


def start_service(folder: Path, log_folder: Path, **env: str) -> RunningService:
    """Start ``mallseg serve`` on ``folder`` and wait until ``/health`` answers."""
    port = free_port()
    environment = {**os.environ, "MALLSEG_SERVICE_AUDIT_FLUSH_SECONDS": "0.2", **env}
    stderr_path = log_folder / f"serve-{port}.err"
    with stderr_path.open("w") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "mallseg", "--workspace", str(folder), "serve",
             "--port", str(port)],
            stdout=subprocess.PIPE, stderr=errors, text=True, env=environment)
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout],  # type: ignore[union-attr]
                     daemon=True).start()
    printed: list[str] = []
    deadline = time.monotonic() + 90
    while not any("mallseg service at" in line for line in printed):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"service did not start: {printed} {stderr_path.read_text()}")
        try:
            printed.append(lines.get(timeout=0.5).rstrip("\n"))
        except queue.Empty:
            continue
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"service never answered: {stderr_path.read_text()}")
        time.sleep(0.1)
    admin = next((line for line in printed if line.startswith("msk_")), "")
    return RunningService(url, folder, process, admin, printed, stderr_path)


ServiceStarter = Callable[..., RunningService]


@pytest.fixture(scope="session")
def service(mall: MallTruth, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[RunningService]:
    """One service for the API tests, on its own copy of the mall."""
    root = tmp_path_factory.mktemp("served")
    shutil.copytree(mall.folder, root / "ws")
    # a rate no test reaches: the limit itself is tested on a service of its own
    running = start_service(root / "ws", root, MALLSEG_SERVICE_RATE_PER_SECOND="100000",
                            MALLSEG_SERVICE_RATE_BURST="100000")
    yield running
    running.stop()


@pytest.fixture
def service_starter(tmp_path: Path) -> Iterator[ServiceStarter]:
    """Start services of one test's own (stopped when the test ends)."""
    started: list[RunningService] = []

    def start(folder: Path, **env: str) -> RunningService:
        running = start_service(folder, tmp_path, **env)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture(scope="session")
def service_launcher() -> ServiceStarter:
    """:func:`start_service` itself, for fixtures wider than one test (they stop theirs)."""
    return start_service
