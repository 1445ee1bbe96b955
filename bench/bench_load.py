"""Load and soak the HTTP service with events: none lost, no 5xx, memory within a bound.

Simulates a mall, ingests it and segments it with the value lens, then, in the same run:

- in process (the ceiling): ``record_events`` called directly with the same batches of
  purchases, one after another;
- over HTTP: ``mallseg serve`` (Uvicorn) in its own process on loopback, and ``--clients``
  concurrent clients (asyncio, HTTP/1.1 keep-alive) sending ``--events`` purchases as
  batches of ``--per-request`` through ``POST /customers/{id}/events`` (the endpoint takes a
  batch of one customer's events; customers drawn in turn, every purchase unique);
- a soak: the same clients go on sending new batches for ``--soak-minutes`` while the
  service's resident memory (VmRSS) is sampled every few seconds.

Then the service is stopped and the workspace is counted: every purchase sent must be
stored exactly once, and no answer may be a 5xx (nor anything but 201). Memory stays within
the bound when its peak during the soak is at most the soak's first sample plus
``--rss-bound-mb`` and the second half of the soak grows by less than 2 MB a minute.

    python bench/bench_load.py --events 100000 --clients 8 --per-request 250 \
        --soak-minutes 5 --write
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from bench_record import machine_line, replace_section
from bench_service import Connection, build_mall, cpu_seconds, free_port, http_post, start_service

SECTION = "load"


class BodyConnection(Connection):
    """A keep-alive connection that also returns the answer's body."""

    async def exchange(self, payload: bytes) -> tuple[int, bytes]:
        self.writer.write(payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length) if length else b""
        return status, body


class Batches:
    """Unique purchases one second apart after the data ends, as request bodies."""

    def __init__(self, mall: dict[str, Any], per_request: int) -> None:
        self.customers = mall["features"]["customer_id"].tolist()
        self.store = mall["store"]
        self.start = mall["reference"] + timedelta(days=1)
        self.per_request = per_request
        self.made = 0

    def next(self) -> tuple[str, list[dict[str, Any]]]:
        """The next customer and batch."""
        r = self.made
        self.made += 1
        customer = self.customers[r % len(self.customers)]
        first = self.start + timedelta(seconds=r * self.per_request)
        return customer, [{"purchased_at": (first + timedelta(seconds=i)).isoformat(),
                           "amount": round(5.0 + (r * 7 + i) % 290, 2), "store_id": self.store}
                          for i in range(self.per_request)]


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def in_process(folder: Path, batches: Batches, count: int) -> dict[str, Any]:
    """The ceiling: record_events on the workspace directly, ``count`` batches."""
    from datetime import datetime

    from mallseg.app.live import LiveModel
    from mallseg.app.live_events import record_events
    from mallseg.workspace import Workspace

    with Workspace.open(folder, create=False) as ws, threadpool_limits(limits=1):
        model = LiveModel.load(ws)
        timings = []
        for _ in range(count):
            customer, purchases = batches.next()
            rows = [{**p, "purchased_at": datetime.fromisoformat(p["purchased_at"])}
                    for p in purchases]
            started = time.perf_counter()
            record_events(ws, model, customer, {"purchases": rows}, actor="bench")
            timings.append(time.perf_counter() - started)
    seconds = sum(timings)
    return {"requests": count, "events": count * batches.per_request, "seconds": seconds,
            "events_per_second": count * batches.per_request / seconds}


async def drive(port: int, key: str, batches: Batches, clients: int, *, requests: int | None,
                seconds: float | None, pid: int, samples: list[tuple[float, float]] | None
                ) -> dict[str, Any]:
    """Send batches from ``clients`` connections: ``requests`` of them, or for ``seconds``."""
    statuses: Counter[int] = Counter()
    recorded: Counter[str] = Counter()
    latencies: list[float] = []
    began = time.perf_counter()
    stop = began + seconds if seconds is not None else float("inf")
    budget = [requests if requests is not None else 10**12]

    async def client() -> None:
        connection = await BodyConnection.open(port)
        assert isinstance(connection, BodyConnection)
        while budget[0] > 0 and time.perf_counter() < stop:
            budget[0] -= 1
            customer, purchases = batches.next()
            payload = http_post(f"/customers/{customer}/events", {"purchases": purchases}, key)
            started = time.perf_counter()
            status, body = await connection.exchange(payload)
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
            if status == 201:
                recorded.update(json.loads(body)["counts"]["purchases"])
        connection.writer.close()

    async def sampler() -> None:
        while samples is not None and time.perf_counter() < stop:
            samples.append((time.perf_counter() - began, rss_mb(pid)))
            await asyncio.sleep(5.0)

    cpu = cpu_seconds(pid)
    tasks = [asyncio.create_task(client()) for _ in range(clients)]
    watcher = asyncio.create_task(sampler())
    await asyncio.gather(*tasks)
    watcher.cancel()
    elapsed = time.perf_counter() - began
    sent = sum(statuses.values())
    values = np.asarray(latencies) * 1000
    return {"requests": sent, "events": sent * batches.per_request,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "recorded": dict(recorded), "seconds": elapsed,
            "events_per_second": sent * batches.per_request / elapsed,
            "p50_ms": float(np.percentile(values, 50)), "p99_ms": float(np.percentile(values, 99)),
            "server_cpu_ms_per_request": (cpu_seconds(pid) - cpu) / max(sent, 1) * 1000}


def stored_purchases(folder: Path, since: Any) -> tuple[int, int]:
    """Purchases after ``since`` in the workspace, and how many distinct ids they have."""
    import duckdb

    with duckdb.connect(str(folder / "mallseg.duckdb"), read_only=True) as con:
        row = con.execute("SELECT count(*), count(DISTINCT transaction_id) FROM transactions "
                          "WHERE purchased_at > ?", [since]).fetchall()[0]
    return int(row[0]), int(row[1])


def memory_verdict(samples: list[tuple[float, float]], bound_mb: float) -> dict[str, Any]:
    """Peak against the first sample, and the growth rate of the second half."""
    times = np.array([t for t, _ in samples])
    rss = np.array([m for _, m in samples])
    half = rss[len(rss) // 2:]
    slope = (float(np.polyfit(times[len(rss) // 2:] / 60, half, 1)[0])
             if len(half) >= 3 else 0.0)
    within = bool(rss.max() <= rss[0] + bound_mb and slope < 2.0)
    return {"first_mb": float(rss[0]), "peak_mb": float(rss.max()), "last_mb": float(rss[-1]),
            "second_half_mb_per_min": slope, "samples": len(rss), "within_bound": within}


def lines(args: argparse.Namespace, mall: dict[str, Any], local: dict[str, Any],
          load: dict[str, Any], soak: dict[str, Any], memory: dict[str, Any],
          stored: tuple[int, int], sent: int) -> list[str]:
    def row(label: str, r: dict[str, Any]) -> str:
        return (f"{label:<48} {r['events_per_second']:>8,.0f} events/s  "
                f"({r['requests']:,} requests, {r['events']:,} events, {r['seconds']:.0f} s)")

    new = load["recorded"].get("new", 0) + soak["recorded"].get("new", 0)
    bad = {k: v for k, v in {**Counter(load["statuses"]), **Counter(soak["statuses"])}.items()
           if k != "201"}
    return [
        f"{args.customers:,} customers, {mall['rows'].get('transactions', 0):,} purchases; value "
        f"lens, 4 segments; batches of {args.per_request} purchases of one customer",
        row("record_events in process (the ceiling)", local),
        row(f"POST /customers/{{id}}/events, {args.clients} clients", load)
        + f"  p50 {load['p50_ms']:.0f} ms  p99 {load['p99_ms']:.0f} ms  server CPU "
        f"{load['server_cpu_ms_per_request']:.0f} ms/request",
        f"HTTP reaches {load['events_per_second'] / local['events_per_second']:.1%} of the "
        "in-process ceiling (one writer: requests queue for the workspace)",
        row(f"soak, {args.soak_minutes:g} minutes, {args.clients} clients", soak),
        f"answers: {load['requests'] + soak['requests']:,}, all 201: "
        + ("yes" if not bad else f"no ({bad})") + "; 5xx: "
        + str(sum(v for k, v in bad.items() if k.startswith("5"))),
        f"purchases sent {sent:,}; answered new {new:,}; "
        f"stored {stored[0]:,} ({stored[1]:,} distinct ids): "
        + ("exactly as many" if stored == (sent, sent) else "MISMATCH"),
        f"service memory during the soak: first {memory['first_mb']:.0f} MB, peak "
        f"{memory['peak_mb']:.0f} MB, last {memory['last_mb']:.0f} MB, second half "
        f"{memory['second_half_mb_per_min']:+.1f} MB/min ({memory['samples']} samples): "
        + ("within" if memory["within_bound"] else "outside")
        + f" the bound (peak <= first + {args.rss_bound_mb:g} MB, growth < 2 MB/min)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-request", type=int, default=250)
    parser.add_argument("--soak-minutes", type=float, default=5.0)
    parser.add_argument("--rss-bound-mb", type=float, default=100.0)
    parser.add_argument("--ceiling-requests", type=int, default=20)
    parser.add_argument("--write", action="store_true", help="update bench/BENCHMARKS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        mall = build_mall(folder, args.customers, args.days)
        batches = Batches(mall, args.per_request)
        local = in_process(folder / "ws", batches, args.ceiling_requests)
        since = mall["reference"] + timedelta(hours=12)
        before = stored_purchases(folder / "ws", since)[0]
        port = free_port()
        process, key = start_service(folder / "ws", port, folder / "serve.err")
        samples: list[tuple[float, float]] = []
        try:
            load = asyncio.run(drive(port, key, batches, args.clients,
                                     requests=-(-args.events // args.per_request),
                                     seconds=None, pid=process.pid, samples=None))
            soak = asyncio.run(drive(port, key, batches, args.clients, requests=None,
                                     seconds=args.soak_minutes * 60, pid=process.pid,
                                     samples=samples))
        finally:
            process.terminate()
            process.wait(timeout=120)
        stored = stored_purchases(folder / "ws", since)
        stored = (stored[0] - before, stored[1] - before)
    sent = load["events"] + soak["events"]
    memory = memory_verdict(samples, args.rss_bound_mb)
    text = lines(args, mall, local, load, soak, memory, stored, sent)
    print("\n".join(text))
    if args.write:
        command = (f"python bench/bench_load.py --events {args.events} --clients {args.clients} "
                   f"--per-request {args.per_request} --soak-minutes {args.soak_minutes:g} "
                   "--write")
        replace_section(SECTION, "\n".join([
            "## Event load and soak on the HTTP service (`bench/bench_load.py`)", "",
            f"`{command}`", "", f"Measured on {machine_line()}; the service and the load "
            "generator share the machine's cores.", "", "```", *text, "```"]))


if __name__ == "__main__":
    main()
