"""Erasure reaches every table, run, model file and export, and survives a reload."""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from mallseg.app.forget import forget_customer
from mallseg.app.segment import SegmentRequest, segment_customers
from mallseg.core.pseudonyms import load_key
from mallseg.core.schema import TABLE_LOAD_ORDER
from mallseg.data.ingest import find_table_sources, ingest_file
from mallseg.datasets.simulate import simulate_mall
from mallseg.privacy import find_in_folder
from mallseg.workspace import Workspace
from mallseg.workspace.segment_store import export_assignments


@pytest.fixture(scope="module")
def segmented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 simulated customers, pseudonymised, segmented by HDBSCAN (which keeps rows)."""
    root = tmp_path_factory.mktemp("erasure")
    simulate_mall(root / "sim", customers=300, days=60, seed=5, personas=4)
    sources = find_table_sources(root / "sim" / "inputs")
    with Workspace.open(root / "ws") as ws:
        for table in TABLE_LOAD_ORDER:
            if table in sources:
                ingest_file(ws, table, sources[table])
        result = segment_customers(ws, SegmentRequest(lens="value", k="auto",
                                                      algorithms=("hdbscan",), n_resamples=2))
        export_assignments(ws, result.run_id, ws.exports_folder / "segments.parquet")
    return root


@pytest.fixture
def workspace(segmented: Path, tmp_path: Path) -> Path:
    shutil.copytree(segmented / "ws", tmp_path / "ws")
    shutil.copy(segmented / "ws.pseudonym-key", tmp_path / "ws.pseudonym-key")
    return tmp_path / "ws"


def _raw_customer(folder: Path) -> str:
    """A raw id of the simulated mall, as its inputs give it."""
    inputs = folder.parent / "sim" / "inputs" / "customers"
    with duckdb.connect() as con:
        row = con.execute(f"SELECT min(customer_id) FROM read_parquet('{inputs}/*.parquet')"
                          ).fetchone()
    assert row is not None
    return str(row[0])


def test_forget_removes_every_trace_purges_the_model_and_asks_for_a_refit(
        segmented: Path, workspace: Path) -> None:
    raw = _raw_customer(segmented / "ws")
    key = load_key(workspace)
    assert key is not None
    pseudonym = key.pseudonym(raw)
    with Workspace.open(workspace) as ws:
        run = ws.latest_run("segment")
        assert run is not None
        held = ws.connection.execute("SELECT count(*) FROM transactions WHERE customer_id = ?",
                                     [pseudonym]).fetchone()
        assert held is not None and held[0] > 0
        result = forget_customer(ws, raw)
        refits = ws.connection.execute("SELECT run_id, erased_customers, model_purged "
                                       "FROM refit_requests").fetchall()
        customers = ws.table_count("customers")
    erasure = result.erasure
    assert result.translated and result.found
    assert erasure.rows_removed["customers"] == 1
    assert erasure.rows_removed["transactions"] == held[0]
    assert erasure.rows_removed["segment_assignments"] == 1
    assert erasure.runs_to_refit == (run.run_id,)
    assert len(erasure.models_purged) == 1
    assert refits == [(run.run_id, 1, True)]
    assert erasure.files_rewritten == ("exports/segments.parquet",)
    assert customers == 299
    assert find_in_folder(workspace, [raw, pseudonym]) == {}


def test_a_forgotten_customer_is_not_loaded_again(segmented: Path, workspace: Path) -> None:
    raw = _raw_customer(segmented / "ws")
    sources = find_table_sources(segmented / "sim" / "inputs")
    with Workspace.open(workspace) as ws:
        forget_customer(ws, raw)
        again = ingest_file(ws, "customers", sources["customers"])
        visits = ingest_file(ws, "visits", sources["visits"])
        customers = ws.table_count("customers")
    assert again.rows_erased == 1
    assert again.rows_read == again.rows_loaded + again.rows_quarantined
    assert customers == 299
    assert visits.rows_erased > 0
    key = load_key(workspace)
    assert key is not None
    assert find_in_folder(workspace, [raw, key.pseudonym(raw)]) == {}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_admin_api_erases_a_customer_and_other_keys_may_not(
        segmented: Path, workspace: Path) -> None:
    raw = _raw_customer(segmented / "ws")
    key = load_key(workspace)
    assert key is not None
    pseudonym = key.pseudonym(raw)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mallseg", "--workspace", str(workspace), "serve", "--port",
         str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "MALLSEG_SERVICE_AUDIT_FLUSH_SECONDS": "0.2"})
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=lambda: [lines.put(x) for x in process.stdout],  # type: ignore[union-attr]
                     daemon=True).start()
    try:
        admin, deadline = "", time.monotonic() + 90
        while not admin and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5).strip()
            except queue.Empty:
                continue
            admin = line if line.startswith("msk_") else admin
        url = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {admin}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            made = client.post("/keys", json={"name": "crm", "scopes": ["customers:read"]})
            reader = {"Authorization": f"Bearer {made.json()['secret']}"}
            looked = client.get(f"/customers/{pseudonym}/segment", headers=reader)
            assert looked.status_code == 200
            refused = client.delete(f"/customers/{pseudonym}", headers=reader)
            assert refused.status_code == 403
            erased = client.delete(f"/customers/{pseudonym}")
            assert erased.status_code == 200, erased.text
            body = erased.json()
            assert body["found"] and body["rows_removed"]["customers"] == 1
            assert pseudonym not in erased.text
            # a read naming them afterwards is refused and audited without their id
            again = client.get(f"/customers/{pseudonym}/segment", headers=reader)
            assert again.status_code == 404
            time.sleep(1.0)  # the audit trail writes its queue every 0.2 s
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert find_in_folder(workspace, [raw, pseudonym]) == {}
    with Workspace.open(workspace) as ws:
        assert ws.table_count("customers") == 299
        targets = ws.connection.execute(
            "SELECT target FROM audit_log WHERE action = 'lookup_customer' "
            "ORDER BY logged_at").fetchall()
    assert targets[-1] == ("[erased customer]",)
