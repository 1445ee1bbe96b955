"""Concurrent event writes through the running service lose nothing and never fail.

The real service (``mallseg serve``, Uvicorn, in its own process on loopback) takes 2,000
purchases from 8 concurrent clients (keep-alive connections, 50 purchases per
``POST /customers/{id}/events`` request, customers drawn in turn: the endpoint takes a
batch of one customer's events, and each request recomputes that customer's features and
places them again, so batches keep the test short). Every answer must be
201, the answers' counts must add up to 2,000 new purchases, and once the service has
stopped the workspace must hold exactly those 2,000 purchases, each once. The
100,000-event run and the soak are ``bench/bench_load.py``.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from threadpoolctl import threadpool_limits

from mallseg.app.segment import SegmentRequest, segment_customers
from mallseg.core.schema import TABLE_LOAD_ORDER
from mallseg.data.ingest import find_table_sources, ingest_file
from mallseg.datasets.simulate import simulate_mall
from mallseg.workspace import Workspace

EVENTS = 2000
CLIENTS = 8
PER_REQUEST = 50


@dataclass(frozen=True)
class Mall:
    """A segmented workspace and what the events need from it."""

    folder: Path
    customers: list[str]
    store_id: str
    reference_time: datetime


@pytest.fixture(scope="module")
def mall(tmp_path_factory: pytest.TempPathFactory) -> Mall:
    """300 simulated customers over 60 days, segmented in 3 with the value lens."""
    root = tmp_path_factory.mktemp("load")
    simulate_mall(root / "sim", customers=300, days=60, seed=3, personas=4)
    sources = find_table_sources(root / "sim" / "inputs")
    with Workspace.open(root / "ws") as ws, threadpool_limits(limits=1):
        for table in TABLE_LOAD_ORDER:
            if table in sources:
                ingest_file(ws, table, sources[table])
        run = segment_customers(ws, SegmentRequest(lens="value", k=3, algorithms=("kmeans",),
                                                   n_resamples=2))
        customers = [str(r[0]) for r in ws.connection.execute(
            "SELECT customer_id FROM segment_assignments WHERE run_id = ? ORDER BY 1",
            [run.run_id]).fetchall()]
        store = str(ws.connection.execute("SELECT min(store_id) FROM stores").fetchall()[0][0])
    assert run.schema.as_of is not None
    return Mall(root / "ws", customers, store, run.schema.as_of)


@dataclass
class Service:
    """``mallseg serve`` in its own process."""

    url: str
    key: str
    process: subprocess.Popen[str]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def service(mall: Mall, tmp_path: Path) -> Iterator[Service]:
    """The service on the mall, with rate limits no client reaches."""
    port = _free_port()
    errors = (tmp_path / "serve.err").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "mallseg", "--workspace", str(mall.folder), "serve", "--port",
         str(port), "--rate", "1000000000", "--burst", "1000000000"],
        stdout=subprocess.PIPE, stderr=errors, text=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    output = process.stdout

    def forward() -> None:
        for line in output:
            lines.put(line)

    threading.Thread(target=forward, daemon=True).start()
    key, deadline = "", time.monotonic() + 120
    while True:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            assert process.poll() is None and time.monotonic() < deadline, \
                (tmp_path / "serve.err").read_text()
            continue
        key = line.strip() if line.startswith("msk_") else key
        if "mallseg service at" in line:
            break
    url = f"http://127.0.0.1:{port}"
    while True:  # the line comes just before the socket accepts: wait for /health
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, \
            (tmp_path / "serve.err").read_text()
        time.sleep(0.1)
    running = Service(url, key, process)
    yield running
    running.stop()
    errors.close()


def _requests(mall: Mall) -> list[tuple[str, dict[str, Any]]]:
    """Unique purchases (one second apart after the data ends), PER_REQUEST per request."""
    start = mall.reference_time + timedelta(days=1)
    out = []
    for r in range(EVENTS // PER_REQUEST):
        customer = mall.customers[r % len(mall.customers)]
        purchases = [{"purchased_at": (start + timedelta(seconds=r * PER_REQUEST + i))
                      .isoformat(), "amount": 10.0 + i, "store_id": mall.store_id}
                     for i in range(PER_REQUEST)]
        out.append((f"/customers/{customer}/events", {"purchases": purchases}))
    return out


def test_events_from_eight_clients_are_all_stored_once(mall: Mall, service: Service) -> None:
    work = _requests(mall)
    statuses: Counter[int] = Counter()
    recorded = Counter[str]()
    lock = threading.Lock()

    def client(share: list[tuple[str, dict[str, Any]]]) -> None:
        with httpx.Client(base_url=service.url, timeout=60,
                          headers={"Authorization": f"Bearer {service.key}"}) as http:
            for path, body in share:
                answer = http.post(path, json=body)
                with lock:
                    statuses[answer.status_code] += 1
                    if answer.status_code == 201:
                        recorded.update(answer.json()["counts"]["purchases"])

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, [work[c::CLIENTS] for c in range(CLIENTS)]))
    assert statuses == {201: len(work)}
    assert recorded == {"new": EVENTS, "updated": 0, "unchanged": 0}
    service.stop()
    since = mall.reference_time + timedelta(hours=12)
    with duckdb.connect(str(mall.folder / "mallseg.duckdb"), read_only=True) as con:
        stored, distinct = con.execute(
            "SELECT count(*), count(DISTINCT transaction_id) FROM transactions "
            "WHERE purchased_at > ?", [since]).fetchall()[0]
    assert (stored, distinct) == (EVENTS, EVENTS)
