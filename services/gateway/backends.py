"""How the gateway treats each service behind it, so that one backend's fault stays that
backend's: its routes answer 503 with ``Retry-After`` while every other route answers.

- *Down*: the service's RPC queue has no consumer (every replica stopped), checked on the
  broker (a passive declare: one round trip; an "up" answer is trusted for a second, a
  "down" one is checked afresh on the next call). Its calls are refused at once instead
  of waiting for a timeout.
- *Unresponsive*: a call timed out (a hung process keeps its consumers registered); its
  calls are refused for ``Retry-After`` seconds, then tried again.
- *Busy*: at most ``BACKEND_CONCURRENCY`` calls to one service wait at a time, so a hung
  backend holds only that many of the gateway's workers and never all of them."""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any, Callable

from eventlet.semaphore import Semaphore
from kombu import Connection
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider

from yilin.rpc import RpcTimeout

log = logging.getLogger(__name__)

RETRY_AFTER = 5  # seconds a client should wait before trying a refused backend again
UP_TRUSTED_FOR = 1.0  # seconds an "up" answer from the broker is reused


class BackendUnavailable(UnknownService):
    """A backend cannot answer now (down, unresponsive or at its concurrency limit); the
    gateway answers 503 with ``Retry-After`` (an ``UnknownService``, like a missing one)."""

    def __init__(self, service: str, why: str) -> None:
        super().__init__(service)
        self.why = why

    def __str__(self) -> str:
        return f"{self._service_name} is {self.why}"


class Backends(DependencyProvider):
    """``self.backends`` in the gateway: :meth:`guard` a service's RPC proxy before calling it."""

    def setup(self) -> None:
        config = self.container.config
        workers = int(config.get("max_workers") or 10)
        self.limit = int(config.get("BACKEND_CONCURRENCY") or max(1, workers // 2))
        self.amqp_uri = config["AMQP_URI"]
        self._slots: dict[str, Semaphore] = {}
        self._up_at: dict[str, float] = {}  # when the broker last showed consumers
        self._hung_until: dict[str, float] = {}
        self._broker_turn = Semaphore(1)
        self._connection: Connection | None = None

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.release()
            self._connection = None

    kill = stop

    def get_dependency(self, worker_ctx: Any) -> "Backends":
        return self

    def state(self, service: str) -> str:
        """``up``, ``down`` (no consumer), ``unresponsive`` (timed out lately) or ``unknown``
        (the broker did not say)."""
        if self._hung_until.get(service, 0.0) > time.monotonic():
            return "unresponsive"
        if time.monotonic() - self._up_at.get(service, -UP_TRUSTED_FOR) < UP_TRUSTED_FOR:
            return "up"
        consumers = self._consumers(service)
        if consumers is None:
            return "unknown"
        if consumers:
            self._up_at[service] = time.monotonic()
            return "up"
        return "down"

    def call(self, service: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``method(*args, **kwargs)``, one call to ``service``: refused with
        :class:`BackendUnavailable` when it is down, unresponsive or already has ``limit``
        calls waiting (a plain function, not a context manager: it runs on every read)."""
        state = self.state(service)
        if state in ("down", "unresponsive"):
            raise BackendUnavailable(service, state)
        slots = self._slots.get(service)
        if slots is None:  # made once: a Semaphore built per call only to be dropped cost as much as the rest
            slots = self._slots[service] = Semaphore(self.limit)
        if not slots.acquire(blocking=False):
            raise BackendUnavailable(service, "busy")
        try:
            return method(*args, **kwargs)
        except RpcTimeout:
            self._hung_until[service] = time.monotonic() + RETRY_AFTER
            log.warning("%s did not answer in time; refusing its calls for %ds", service, RETRY_AFTER)
            raise
        finally:
            slots.release()

    def guard(self, service: str, proxy: Any) -> "GuardedProxy":
        """``proxy`` (an RPC service proxy) whose every method call takes a :meth:`call`."""
        return GuardedProxy(self, service, proxy)

    def _consumers(self, service: str) -> int | None:
        with self._broker_turn:
            try:
                if self._connection is None:
                    self._connection = Connection(self.amqp_uri, connect_timeout=2)
                channel = self._connection.default_channel
                _, _, consumers = channel.queue_declare(queue=f"rpc-{service}", passive=True)
                return int(consumers)
            except Exception as exc:  # noqa: BLE001 - a missing queue (404) or a broker away: decided below
                missing = getattr(exc, "code", None) == 404
                if self._connection is not None:
                    self._connection.release()  # a refused declare closes the channel
                    self._connection = None
                return 0 if missing else None


class GuardedProxy:
    """An RPC service proxy whose method calls go through :meth:`Backends.call`."""

    def __init__(self, backends: Backends, service: str, proxy: Any) -> None:
        self._backends, self._service, self._proxy = backends, service, proxy

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return partial(self._backends.call, self._service, getattr(self._proxy, name))
