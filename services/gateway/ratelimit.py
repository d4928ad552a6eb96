"""Per-identity rate limit: a token bucket per caller in the gateway process.

Each caller (authenticated identity, or the client address before authentication)
may make ``RATE_LIMIT_PER_MINUTE`` requests in a burst and then that many per minute.
Under eventlet all workers of the process share one OS thread and nothing here yields,
so the buckets need no lock. With N gateway replicas a caller gets at most N times the
limit, which is the trade for not needing a shared store."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from typing import Any, Callable

from nameko.extensions import DependencyProvider

from yilin.errors import TooManyRequests

DEFAULT_PER_MINUTE = 600
MAX_BUCKETS = 100_000  # least recently seen callers are forgotten first (memory stays bounded)


class TokenBuckets:
    """``take(key)`` spends one token of ``key``'s bucket or raises 429."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("RATE_LIMIT_PER_MINUTE must be at least 1")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> None:
        now = self.clock()
        tokens, stamp = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            retry_after = max(1, math.ceil((1.0 - tokens) / self.rate))
            raise TooManyRequests(f"rate limit exceeded; retry after {retry_after} s",
                                  {"retry_after": [str(retry_after)]})
        self._buckets[key] = (tokens - 1.0, now)
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)


class RateLimit(DependencyProvider):
    """``self.rate_limit`` in the gateway: the process's :class:`TokenBuckets`."""

    def setup(self) -> None:
        per_minute = int(self.container.config.get("RATE_LIMIT_PER_MINUTE") or DEFAULT_PER_MINUTE)
        self.buckets = TokenBuckets(per_minute)

    def get_dependency(self, worker_ctx: Any) -> TokenBuckets:
        return self.buckets
