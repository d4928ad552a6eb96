"""Prometheus metrics with one set of names for every service (docs/runtime-contract.md).

Each process serves them from prometheus_client's own HTTP server on its metrics port,
so a scrape is answered even while every nameko worker is busy. The same port answers
``/livez`` (alias ``/healthz``: the process is alive, nothing else is asked) and
``/readyz``: the container has started and the process's *own* dependencies answer, each
extension with a ``ready_check()`` (its broker connection, its database). Readiness never
asks another service: one backend down must not take the processes that call it out of
their Service too."""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, make_server

import eventlet
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider, SharedExtension
from nameko.rpc import Rpc
from nameko.web.handlers import HttpRequestHandler
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, make_wsgi_app

from yilin import __version__, logs
from yilin.config import metrics_port
from yilin.deadletters import depth
from yilin.topology import connect

log = logging.getLogger(__name__)

DLQ_POLL_SECONDS = 15
CHECK_TIMEOUT = 2.0  # seconds a readiness check may take before its dependency counts as down
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

SERVICE_INFO = Gauge("yilin_service_info", "Service build information.", ["service", "version"])
HTTP_REQUESTS = Counter(
    "yilin_http_requests_total", "HTTP requests answered.", ["service", "route", "method", "status"]
)
HTTP_DURATION = Histogram(
    "yilin_http_request_duration_seconds",
    "HTTP request latency.",
    ["service", "route", "method"],
    buckets=LATENCY_BUCKETS,
)
RPC_CALLS = Counter("yilin_rpc_calls_total", "RPC calls served.", ["service", "method", "outcome"])
RPC_DURATION = Histogram(
    "yilin_rpc_duration_seconds", "RPC call latency.", ["service", "method"], buckets=LATENCY_BUCKETS
)
EVENTS_PUBLISHED = Counter(
    "yilin_events_published_total", "Events published (confirmed by the broker).", ["service", "type"]
)
EVENTS_HANDLED = Counter(
    "yilin_events_handled_total", "Event deliveries handled, by outcome.", ["service", "type", "outcome"]
)
EVENTS_REDELIVERED = Counter(
    "yilin_events_redelivered_total",
    "Event deliveries the broker repeated (a consumer died or gave the message back).",
    ["service", "type"],
)
EVENTS_HELD = Gauge(
    "yilin_events_held",
    "Event deliveries a consumer holds unsettled: prefetched, gathering into a batch or being handled.",
    ["service", "type"],
)
EVENT_HANDLER_DURATION = Histogram(
    "yilin_event_handler_duration_seconds", "Event handler run time.", ["service", "type"], buckets=LATENCY_BUCKETS
)
EVENT_BATCH_SIZE = Histogram(
    "yilin_event_batch_size",
    "Events taken by one handler transaction.",
    ["service", "type"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
EVENT_LAG = Histogram(
    "yilin_event_lag_seconds",
    "From an event's occurred_at to the handler's commit.",
    ["service", "type"],
    buckets=LAG_BUCKETS,
)
OUTBOX_BACKLOG = Gauge("yilin_outbox_backlog", "Events committed but not yet published.", ["service"])
OUTBOX_OLDEST_AGE = Gauge("yilin_outbox_oldest_age_seconds", "Age of the oldest unpublished event.", ["service"])
DLQ_DEPTH = Gauge("yilin_dlq_depth", "Messages waiting in the service's dead-letter queue.", ["service"])
WORKERS_IN_USE = Gauge("yilin_worker_pool_in_use", "Busy nameko workers.", ["service"])
WORKERS_SIZE = Gauge("yilin_worker_pool_size", "Size of the nameko worker pool.", ["service"])


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:  # scrapes every few seconds would flood the log
        pass


class MetricsServer(SharedExtension):
    """One HTTP server per process for ``/metrics``, ``/healthz`` and ``/readyz``."""

    def __init__(self) -> None:
        self.ready = False
        self.port = 0
        self._server: Any = None
        self._thread: Any = None

    def setup(self) -> None:
        # a service class declares its default port as ``metrics_port``; none means no server
        self.port = metrics_port(
            self.container.config, self.container.service_name, getattr(self.container.service_cls, "metrics_port", 0)
        )

    def start(self) -> None:
        if self._server is not None or not self.port:
            self.ready = True
            return
        metrics_app = make_wsgi_app(REGISTRY)

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            if path in ("/livez", "/healthz"):
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"ok\n"]
            if path == "/readyz":
                checks = self.readiness()
                ready = all(state == "ok" for state in checks.values())
                start_response("200 OK" if ready else "503 Service Unavailable", [("Content-Type", "application/json")])
                return [json.dumps({"status": "ready" if ready else "not ready", "checks": checks}).encode()]
            body: Iterable[bytes] = metrics_app(environ, start_response)
            return body

        self._server = make_server("0.0.0.0", self.port, app, handler_class=_QuietHandler)
        self.port = self._server.server_port
        self._thread = eventlet.spawn(self._server.serve_forever)
        self.ready = True
        log.info("metrics on :%d", self.port)

    def readiness(self) -> dict[str, str]:
        """Each own dependency's state, ``ok`` or why not (see the module)."""
        return {"process": "ok" if self.ready else "starting", **own_dependencies(self.container)}

    def stop(self) -> None:
        self.ready = False
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    kill = stop


def own_dependencies(container: Any) -> dict[str, str]:
    """Run every ``ready_check()`` of ``container``'s extensions (each bounded by
    :data:`CHECK_TIMEOUT`): name → ``ok`` or the failure's class name."""
    states: dict[str, str] = {}
    for extension in container.extensions:
        check = getattr(extension, "ready_check", None)
        if check is None:
            continue
        name = getattr(extension, "ready_name", type(extension).__name__)
        try:
            with eventlet.Timeout(CHECK_TIMEOUT):
                check()
            states[name] = "ok"
        except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - any failure means "not ready"
            states[name] = f"unavailable ({type(exc).__name__})"
    return states


class Instrumentation(DependencyProvider):
    """Times every RPC and HTTP worker and keeps the worker-pool gauges; add one to
    each service as ``metrics = Instrumentation()``."""

    server = MetricsServer()

    def setup(self) -> None:
        service = self.container.service_name
        SERVICE_INFO.labels(service, __version__).set(1)
        WORKERS_SIZE.labels(service).set(self.container.max_workers)
        self._starts: dict[int, float] = {}
        self._in_use = WORKERS_IN_USE.labels(service)
        # each (metric, labels) child looked up once: labels() checks and locks on every call,
        # a tenth of a read's worker cost
        self._children: dict[tuple[Any, ...], Any] = {}

    def start(self) -> None:
        self.server.ready = True
        self._watch = eventlet.spawn(self._watch_dead_letters)

    def stop(self) -> None:
        self._watch.kill()

    kill = stop

    ready_name = "broker"

    def ready_check(self) -> None:
        """The process reaches a broker of its list (a connection opened and closed)."""
        with connect(self.container.config["AMQP_URI"], connect_timeout=CHECK_TIMEOUT):
            pass

    def _watch_dead_letters(self) -> None:
        service = self.container.service_name
        while True:
            try:
                DLQ_DEPTH.labels(service).set(depth(self.container.config["AMQP_URI"], service))
            except Exception:  # noqa: BLE001 - broker away or DLQ not declared yet; next round
                pass
            eventlet.sleep(DLQ_POLL_SECONDS)

    def worker_setup(self, worker_ctx: Any) -> None:
        self._starts[id(worker_ctx)] = time.perf_counter()
        logs.bind(
            service=self.container.service_name,
            entrypoint=worker_ctx.entrypoint.method_name,
            correlation_id=worker_ctx.data.get(logs.CORRELATION_KEY),
        )
        self._in_use.inc()

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        started = self._starts.pop(id(worker_ctx), None)
        service = self.container.service_name
        self._in_use.dec()
        if started is None:
            return
        elapsed = time.perf_counter() - started
        entrypoint = worker_ctx.entrypoint
        if isinstance(entrypoint, Rpc):
            method = entrypoint.method_name
            self._child(RPC_CALLS, service, method, "ok" if exc_info is None else "error").inc()
            self._child(RPC_DURATION, service, method).observe(elapsed)
        elif isinstance(entrypoint, HttpRequestHandler):
            route = worker_ctx.data.get("yilin.route", "unmatched")
            method = worker_ctx.data.get("yilin.method", entrypoint.method)
            status = getattr(result, "status_code", 500 if exc_info else 200)
            self._child(HTTP_REQUESTS, service, route, method, str(status)).inc()
            self._child(HTTP_DURATION, service, route, method).observe(elapsed)
        elif isinstance(entrypoint, EventHandler):
            self._child(EVENT_HANDLER_DURATION, service, entrypoint.event_type).observe(elapsed)

    def get_dependency(self, worker_ctx: Any) -> Any:
        return self
