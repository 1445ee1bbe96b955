"""Requests per API key, limited by a token bucket.

Each key has a bucket of ``burst`` tokens that refills at ``rate`` tokens per second; a
request takes one token. A key whose bucket is empty is refused with the seconds until the
next token, which the service sends as ``Retry-After``. Buckets live in the service's
memory (one process owns the workspace, so one process counts).

Examples
--------
>>> now = [0.0]
>>> limiter = TokenBucketLimiter(rate=2.0, burst=2, clock=lambda: now[0])
>>> [limiter.take("k1") for _ in range(3)]
[0.0, 0.0, 0.5]
>>> now[0] = 0.5
>>> limiter.take("k1"), limiter.take("k2")
(0.0, 0.0)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["TokenBucketLimiter"]


class TokenBucketLimiter:
    """Token buckets keyed by API key id (see the module's example).

    Parameters
    ----------
    rate:
        Tokens added per second (the sustained request rate allowed).
    burst:
        Bucket size: requests allowed at once after a quiet spell.
    clock:
        Monotonic seconds (``time.monotonic`` by default).
    """

    def __init__(self, rate: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError(f"rate={rate!r} must be > 0 requests per second")
        if burst < 1:
            raise ValueError(f"burst={burst!r} must be >= 1 request")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0.0 when granted, else the seconds until one is free.

        >>> limiter = TokenBucketLimiter(rate=1.0, burst=1, clock=lambda: 10.0)
        >>> limiter.take("k"), limiter.take("k")
        (0.0, 1.0)
        """
        with self._lock:
            now = self._clock()
            tokens, stamp = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
