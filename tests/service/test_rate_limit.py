"""The token bucket, by hand, and the real service refusing a key over its rate."""

from __future__ import annotations

import math
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from mallseg.service.rate_limit import TokenBucketLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    clock = Clock()
    limiter = TokenBucketLimiter(rate=4.0, burst=3, clock=clock)
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("k") == pytest.approx(0.25)  # one token comes every 1/4 s
    clock.now += 0.125
    assert limiter.take("k") == pytest.approx(0.125)  # half a token now, half to wait for
    clock.now += 0.125
    assert limiter.take("k") == 0.0  # a whole token
    clock.now += 10
    assert [limiter.take("k") for _ in range(4)][-1] == pytest.approx(0.25)  # refilled to 3
    assert limiter.take("other") == 0.0  # every key has its own bucket


def test_limits_must_make_sense() -> None:
    with pytest.raises(ValueError, match="rate=0"):
        TokenBucketLimiter(rate=0, burst=1)
    with pytest.raises(ValueError, match="burst=0"):
        TokenBucketLimiter(rate=1, burst=0)


def test_the_service_refuses_a_key_over_its_rate_with_retry_after(
    mall_copy: Path, service_starter: Any
) -> None:
    running = service_starter(mall_copy, MALLSEG_SERVICE_RATE_PER_SECOND="0.2",
                              MALLSEG_SERVICE_RATE_BURST="3")
    with running.client(running.admin_key) as client:
        answers = [client.get("/model") for _ in range(4)]
        with running.client(running.admin_key) as again:
            other = httpx.get(f"{running.url}/health")
            assert other.status_code == 200  # /health takes no key and no token
            assert again.get("/segments").status_code == 429
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= math.ceil(1 / 0.2)
    assert "rate limit of 0.2 requests per second" in refused.json()["detail"]
    lock = mall_copy / "service.lock"
    assert lock.exists()
    # uvicorn shuts down gracefully on SIGTERM, then ends by the signal it caught
    assert running.stop() in (0, -signal.SIGTERM)
    assert not lock.exists()  # a stopped service leaves no lock behind
