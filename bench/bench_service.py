"""Benchmark the HTTP service: scoring and event requests over loopback, against in-process.

Simulates a mall, ingests it and segments it with the value lens, then, in the same run:

- in process (the ceiling): ``LiveModel.place`` on the customers' features, one at a time;
  ``record_events`` with one purchase, one customer at a time;
- over HTTP: ``mallseg serve`` in its own process, driven by a load generator in another
  process (asyncio, HTTP/1.1 keep-alive connections on loopback):
  - scoring, closed loop: ``--connections`` clients each sending ``POST /score`` (one
    customer, named, so each score is audited) as fast as answers come;
  - scoring, open loop: requests sent at ``--rate`` per second whatever the answers do,
    latency measured from when each request was due (no coordinated omission);
  - events, closed loop: ``POST /customers/{id}/events`` with one purchase each.

Requests per second, p50 and p99 latency are printed, with the CPU time the service
process spent per request (read from /proc around each phase), which says what one core
can serve whatever else the machine is doing; ``--write`` records them in
bench/BENCHMARKS.md. Both processes share the machine's 2 cores.

    python bench/bench_service.py --customers 20000 --seconds 10 --write
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from bench_record import replace_section

SECTION = "service"
FEATURES = ["recency_days", "frequency", "monetary_total", "basket_mean"]


# ----------------------------------------------------------------------------- the load generator
class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, payload: bytes) -> int:
        self.writer.write(payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status


def http_post(path: str, body: dict[str, Any], key: str) -> bytes:
    data = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
            ).encode() + data


async def closed_loop(port: int, payloads: list[bytes], connections: int, seconds: float
                      ) -> dict[str, Any]:
    latencies: list[float] = []
    failures = 0
    stop = time.perf_counter() + seconds
    cursor = iter(range(10**12))

    async def client() -> None:
        nonlocal failures
        connection = await Connection.open(port)
        while time.perf_counter() < stop:
            payload = payloads[next(cursor) % len(payloads)]
            started = time.perf_counter()
            status = await connection.request(payload)
            latencies.append(time.perf_counter() - started)
            failures += status >= 300
        connection.writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return summary(latencies, failures, time.perf_counter() - began)


async def open_loop(port: int, payloads: list[bytes], rate: float, seconds: float,
                    pool_size: int = 64) -> dict[str, Any]:
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(pool_size):
        pool.put_nowait(await Connection.open(port))
    latencies: list[float] = []
    failures = 0
    total = int(rate * seconds)

    async def one(due: float, payload: bytes) -> None:
        nonlocal failures
        connection = await pool.get()
        status = await connection.request(payload)
        latencies.append(time.perf_counter() - due)
        failures += status >= 300
        pool.put_nowait(connection)

    began = time.perf_counter()
    tasks = []
    for i in range(total):
        due = began + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, payloads[i % len(payloads)])))
    await asyncio.gather(*tasks)
    return summary(latencies, failures, time.perf_counter() - began)


def summary(latencies: list[float], failures: int, elapsed: float) -> dict[str, Any]:
    values = np.asarray(latencies) * 1000
    return {"requests": len(values), "failures": failures, "seconds": elapsed,
            "per_second": len(values) / elapsed,
            "p50_ms": float(np.percentile(values, 50)), "p99_ms": float(np.percentile(values, 99))}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(spec_path: Path) -> None:
    """The load generator's process: read the plan, drive the service, print JSON."""
    spec = json.loads(spec_path.read_text())
    scores = [http_post("/score", body, spec["key"]) for body in spec["scores"]]
    events = [http_post(path, body, spec["key"]) for path, body in spec["events"]]
    port, seconds, pid = spec["port"], spec["seconds"], spec["pid"]
    phases = {
        "warmup": lambda: closed_loop(port, scores, 4, 1.0),
        "score_closed": lambda: closed_loop(port, scores, spec["connections"], seconds),
        "score_open": lambda: open_loop(port, scores, spec["rate"], seconds),
        "events_closed": lambda: closed_loop(port, events, 4, seconds),
    }
    results = {}
    for name, phase in phases.items():
        before = cpu_seconds(pid)
        result = asyncio.run(phase())
        result["server_cpu_us"] = (cpu_seconds(pid) - before) / result["requests"] * 1e6
        results[name] = result
    print(json.dumps(results))


# --------------------------------------------------------------------------------- the benchmark
def build_mall(folder: Path, customers: int, days: int) -> dict[str, Any]:
    from mallseg.app.segment import SegmentRequest, segment_customers
    from mallseg.core.schema import TABLE_LOAD_ORDER
    from mallseg.data.ingest import find_table_sources, ingest_file
    from mallseg.datasets.simulate import simulate_mall
    from mallseg.workspace import Workspace

    started = time.perf_counter()
    summary_ = simulate_mall(folder / "sim", customers=customers, days=days, seed=11)
    sources = find_table_sources(folder / "sim" / "inputs")
    with Workspace.open(folder / "ws") as ws, threadpool_limits(limits=1):
        for table in TABLE_LOAD_ORDER:
            if table in sources:
                ingest_file(ws, table, sources[table])
        run = segment_customers(ws, SegmentRequest(lens="value", k=4, algorithms=("kmeans",),
                                                   n_resamples=2))
        features = ws.connection.execute(
            f"SELECT customer_id, {', '.join(FEATURES)} FROM snapshot_{run.run_id}_features"
        ).df()
        store = ws.connection.execute("SELECT min(store_id) FROM stores").fetchall()[0][0]
    return {"rows": summary_.rows, "features": features, "store": store, "run": run.run_id,
            "reference": run.schema.as_of, "seconds": time.perf_counter() - started}


def score_bodies(features: Any, count: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = features.to_dict(orient="records")
    chosen = [rows[rng.randrange(len(rows))] for _ in range(count)]
    return [{"customer_id": r["customer_id"],
             "features": {f: None if isinstance(r[f], float) and math.isnan(r[f]) else r[f]
                          for f in FEATURES}} for r in chosen]


def event_bodies(mall: dict[str, Any], count: int, offset_days: int, seed: int
                 ) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(seed)
    customers = mall["features"]["customer_id"].tolist()
    start = mall["reference"] + timedelta(days=offset_days)
    return [(f"/customers/{rng.choice(customers)}/events",
             {"purchases": [{"purchased_at": (start + timedelta(seconds=i)).isoformat(),
                             "amount": round(rng.uniform(5, 300), 2),
                             "store_id": mall["store"]}]}) for i in range(count)]


def in_process(folder: Path, mall: dict[str, Any], bodies: list[dict[str, Any]],
               events: list[tuple[str, dict[str, Any]]], seconds: float) -> dict[str, Any]:
    from datetime import datetime

    from mallseg.app.live import LiveModel
    from mallseg.app.live_events import record_events
    from mallseg.workspace import Workspace

    with Workspace.open(folder, create=False) as ws, threadpool_limits(limits=1):
        model = LiveModel.load(ws)
        timings, stop, i = [], time.perf_counter() + seconds, 0
        cpu = time.process_time()
        while time.perf_counter() < stop:
            body = bodies[i % len(bodies)]
            started = time.perf_counter()
            model.place(body["features"], customer_id=body["customer_id"])
            timings.append(time.perf_counter() - started)
            i += 1
        score = summary(timings, 0, sum(timings))
        score["server_cpu_us"] = (time.process_time() - cpu) / len(timings) * 1e6
        event_timings, stop = [], time.perf_counter() + min(seconds, 10.0)
        cpu = time.process_time()
        for path, body in events:
            if time.perf_counter() > stop:
                break
            customer = path.split("/")[2]
            rows = [{**p, "purchased_at": datetime.fromisoformat(p["purchased_at"])}
                    for p in body["purchases"]]
            started = time.perf_counter()
            record_events(ws, model, customer, {"purchases": rows}, actor="bench")
            event_timings.append(time.perf_counter() - started)
        recorded = summary(event_timings, 0, sum(event_timings))
        recorded["server_cpu_us"] = (time.process_time() - cpu) / len(event_timings) * 1e6
    return {"score": score, "events": recorded}


def start_service(folder: Path, port: int, log: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mallseg", "--workspace", str(folder), "serve", "--port",
         str(port), "--rate", "1000000000", "--burst", "1000000000"],
        stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
    assert process.stdout is not None
    key = ""
    for line in process.stdout:
        if line.startswith("msk_"):
            key = line.strip()
        if "mallseg service at" in line:
            break
    import httpx

    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return process, key
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"the service did not start: {log.read_text()}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def lines(mall: dict[str, Any], local: dict[str, Any], http: dict[str, Any],
          args: argparse.Namespace) -> list[str]:
    def row(label: str, r: dict[str, Any]) -> str:
        return (f"{label:<44} {r['per_second']:>8,.0f}/s  p50 {r['p50_ms']:7.2f} ms  "
                f"p99 {r['p99_ms']:8.2f} ms  CPU {r['server_cpu_us']:7.0f} us/request "
                f"({r['requests']:,} requests" + (f", {r['failures']} failed)" if r["failures"]
                                                  else ")"))

    ceiling = local["score"]["per_second"]
    closed = http["score_closed"]
    return [
        f"{args.customers:,} customers, {mall['rows'].get('transactions', 0):,} purchases; "
        f"value lens, 4 segments; mall built in {mall['seconds']:.0f} s",
        row("score in process (LiveModel.place)", local["score"]),
        row(f"POST /score, closed loop, {args.connections} connections", closed),
        row(f"POST /score, open loop at {args.rate:,.0f}/s", http["score_open"]),
        row("record_events in process (1 purchase)", local["events"]),
        row("POST /customers/{id}/events, 4 connections", http["events_closed"]),
        f"HTTP scoring reaches {closed['per_second'] / ceiling:.1%} of the in-process ceiling; "
        f"the service spends {closed['server_cpu_us']:.0f} us of CPU per score: "
        f"{1e6 / closed['server_cpu_us']:,.0f} scores/s per core it has to itself",
        "target 2,000 scores/s with p99 < 20 ms (open loop): "
        + ("met" if http["score_open"]["per_second"] >= 0.98 * min(args.rate, 2000)
           and args.rate >= 2000 and http["score_open"]["p99_ms"] < 20 else "not met"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--write", action="store_true", help="update bench/BENCHMARKS.md")
    parser.add_argument("--load", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        run_load(args.load)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        mall = build_mall(folder, args.customers, args.days)
        bodies = score_bodies(mall["features"], 5000)
        local = in_process(folder / "ws", mall, bodies,
                           event_bodies(mall, 2000, offset_days=1, seed=1), args.seconds)
        port = free_port()
        process, key = start_service(folder / "ws", port, folder / "serve.err")
        try:
            spec = {"port": port, "key": key, "seconds": args.seconds, "pid": process.pid,
                    "connections": args.connections, "rate": args.rate, "scores": bodies,
                    "events": event_bodies(mall, 20000, offset_days=2, seed=2)}
            (folder / "load.json").write_text(json.dumps(spec, default=str))
            answer = subprocess.run([sys.executable, __file__, "--load", str(folder / "load.json")],
                                    capture_output=True, text=True, check=True,
                                    env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)})
            http = json.loads(answer.stdout)
        finally:
            process.terminate()
            process.wait(timeout=60)
    text = lines(mall, local, http, args)
    print("\n".join(text))
    if args.write:
        command = (f"python bench/bench_service.py --customers {args.customers} --days "
                   f"{args.days} --seconds {args.seconds:g} --connections {args.connections} "
                   f"--rate {args.rate:g} --write")
        replace_section(SECTION, "\n".join([
            "## HTTP service (`bench/bench_service.py`)", "", f"`{command}`", "",
            f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} (Python "
            f"{platform.python_version()}); the service and the load generator share the "
            "machine's 2 cores.", "", "```", *text, "```"]))


if __name__ == "__main__":
    main()
