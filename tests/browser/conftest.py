"""A real dashboard for the browser: a simulated mall segmented, its report written, the
service (``create_app``) served by Uvicorn on loopback in a subprocess, and Debian's
Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from mallseg.app.insights import campaigns_for_run
from mallseg.app.keys import create_key
from mallseg.app.segment import SegmentRequest, segment_customers
from mallseg.data.ingest import find_table_sources, ingest_file
from mallseg.datasets.simulate import simulate_mall
from mallseg.report import write_report
from mallseg.workspace import Workspace

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
SEGMENTS = 4
CUSTOMERS = 800


@dataclass(frozen=True)
class Mall:
    """The served workspace, its keys, its report and its assignments (read before serving:
    the service holds the workspace while it runs)."""

    workspace: Path
    report: Path
    analyst_key: str
    viewer_key: str
    assignments: dict[str, tuple[int, str]]


@dataclass(frozen=True)
class Server:
    """The running service."""

    url: str
    mall: Mall


@pytest.fixture(scope="session")
def mall(tmp_path_factory: pytest.TempPathFactory) -> Mall:
    folder = tmp_path_factory.mktemp("browser-mall")
    simulate_mall(folder / "mall", customers=CUSTOMERS, days=60, seed=3, personas=4)
    with Workspace.open(folder / "ws") as ws:
        for table, path in find_table_sources(folder / "mall" / "inputs").items():
            ingest_file(ws, table, path)
        segment_customers(ws, SegmentRequest(algorithms=("kmeans",), k=SEGMENTS,
                                             n_resamples=2))
        campaigns_for_run(ws)  # the dashboard shows stored results (`mallseg campaigns`)
        analyst = create_key(ws, "analyst", "aggregates,customers:read").secret
        viewer = create_key(ws, "viewer", "aggregates").secret
        rows = ws.connection.execute(
            "SELECT customer_id, segment_id, segment_name FROM segment_assignments").fetchall()
    report = write_report(folder / "ws", out=folder / "report.html").path
    return Mall(folder / "ws", report, analyst, viewer,
                {str(c): (int(s), str(n)) for c, s, n in rows})


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def server(mall: Mall, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = _free_port()
    log = (tmp_path_factory.mktemp("server") / "uvicorn.log").open("w")
    launch = ("import sys, uvicorn; from mallseg.service.app import create_app; "
              "uvicorn.run(create_app(sys.argv[1]), host='127.0.0.1', port=int(sys.argv[2]), "
              "log_level='warning')")
    process = subprocess.Popen([sys.executable, "-c", launch, str(mall.workspace), str(port)],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the service stopped at start (see {log.name})")
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service did not start in 90 s (see {log.name})")
            time.sleep(0.3)
        yield Server(url, mall)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
