"""Per-identity rate limit: a token bucket per caller in the gateway process.

Each caller (authenticated identity, or the client address before authentication)
may make ``RATE_LIMIT_PER_MINUTE`` requests in a burst and then that many per minute.
Under eventlet all workers of the process share one OS thread and nothing here yields,
so the buckets need no lock. With N gateway replicas a caller gets at most N times the
limit, which is the trade for not needing a shared store."""

from __future__ import annotations

import ipaddress
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
            raise TooManyRequests(
                f"rate limit exceeded; retry after {retry_after} s", {"retry_after": [str(retry_after)]}
            )
        self._buckets[key] = (tokens - 1.0, now)
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)


def trusted_networks(value: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``TRUSTED_PROXIES``: comma-separated addresses or networks (the Ingress controller's)."""
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    return tuple(ipaddress.ip_network(str(item).strip(), strict=False) for item in items if str(item).strip())


def client_address(
    remote_addr: str | None,
    forwarded_for: str | None,
    trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...],
) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy; then the
    nearest address in ``X-Forwarded-For`` that is not a trusted proxy (a client can
    prepend anything to the header, so it is read from the right)."""
    hops = [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]
    address = str(remote_addr or "")
    while hops and _trusted(address, trusted):
        address = hops.pop()
    return address


def _trusted(address: str, trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


class RateLimit(DependencyProvider):
    """``self.rate_limit`` in the gateway: the process's :class:`TokenBuckets`, which
    also knows the trusted proxies (``client`` of a request)."""

    def setup(self) -> None:
        config = self.container.config
        per_minute = int(config.get("RATE_LIMIT_PER_MINUTE") or DEFAULT_PER_MINUTE)
        self.buckets = TokenBuckets(per_minute)
        trusted = trusted_networks(config.get("TRUSTED_PROXIES"))
        self.buckets.client = lambda request: client_address(  # type: ignore[attr-defined]  # set once here
            request.remote_addr, request.headers.get("X-Forwarded-For"), trusted
        )

    def get_dependency(self, worker_ctx: Any) -> TokenBuckets:
        return self.buckets
