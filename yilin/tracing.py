"""Distributed traces: one W3C trace context from an HTTP request through every RPC and
every event, exported with OpenTelemetry over OTLP/HTTP (grpcio does not run under
eventlet). Off unless ``OTLP_ENDPOINT`` is set; off, every hook returns at once.

Where the context travels:

- HTTP: the gateway reads the request's ``traceparent`` header (:func:`from_headers`);
- RPC: each call the kit's proxies make (``yilin.rpc``) is a CLIENT span (:func:`client`:
  the request, the broker round trip and the reply), whose context travels as the
  ``nameko.traceparent`` header and is restored on the callee's side, so the callee's
  SERVER span is its child;
- events: the emitting worker's context is written into the event, in the outbox row
  (the CloudEvents distributed-tracing attribute ``traceparent``), and published as the
  AMQP header ``traceparent``; the consumer restores it into its worker context
  (:func:`carried`).

Each worker (``tracing = Tracing()`` on a service class) is one span, the child of the
context it received; :func:`span` adds children (the commit, the publication)."""

from __future__ import annotations

import contextvars
import re
from collections import OrderedDict
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Iterator, Mapping

from nameko.extensions import DependencyProvider

KEY = "traceparent"  # worker context key, AMQP header and CloudEvents attribute
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
_tracer: contextvars.ContextVar[Any] = contextvars.ContextVar("yilin_tracer", default=None)
# Events emitted in a traced worker, by id, until the relay publishes them (bounded: an
# event the fast path never publishes is published by the sweep from its outbox row).
_emitted: OrderedDict[str, str] = OrderedDict()
_EMITTED_MAX = 10_000
_OFF: AbstractContextManager[Any] = nullcontext()  # one shared no-op: an untraced call allocates nothing


def valid(value: Any) -> str | None:
    """``value`` if it is a W3C traceparent (version 00, non-zero ids), else None."""
    if isinstance(value, str):
        match = TRACEPARENT.fullmatch(value)
        if match and set(match.group(1)) != {"0"} and set(match.group(2)) != {"0"}:
            return value
    return None


def from_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The worker context entry for an incoming HTTP request's ``traceparent``, if valid."""
    value = valid(headers.get(KEY))
    return {KEY: value} if value else {}


def carried(body: Any, headers: Mapping[str, Any] | None) -> str | None:
    """The trace context an event carries: its AMQP header, else its body's attribute."""
    value = valid((headers or {}).get(KEY))
    if value is None and isinstance(body, dict):
        value = valid(body.get(KEY))
    return value


def current() -> str | None:
    """The traceparent of the active span, or None when not tracing."""
    if _tracer.get() is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def stamp(event_id: str, message: dict[str, Any]) -> dict[str, Any]:
    """An outgoing event's message with the active trace context, remembered for the
    relay's fast path; the message unchanged when not tracing."""
    value = current()
    if value is None:
        return message
    _emitted[event_id] = value
    while len(_emitted) > _EMITTED_MAX:
        _emitted.popitem(last=False)
    return {**message, KEY: value}


def publish_headers(event_id: str | None, message: Any) -> dict[str, str] | None:
    """AMQP headers for an event being published: its trace context, if it has one."""
    value = _emitted.pop(event_id, None) if event_id else None
    value = value or (valid(message.get(KEY)) if isinstance(message, dict) else None)
    return {KEY: value} if value else None


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[None]:
    """A child span of the worker's, around a step worth seeing (commit, publication)."""
    tracer = _tracer.get()
    if tracer is None:
        yield
        return
    with tracer.start_as_current_span(name, attributes=attributes):
        yield


def client(service: str, method: str) -> AbstractContextManager[Any]:
    """A CLIENT span around one outgoing RPC to ``service.method`` (sending, the broker
    round trip, the reply), current while it is open so the request carries its context
    (:func:`current`); a shared no-op when not tracing."""
    tracer = _tracer.get()
    if tracer is None:
        return _OFF
    from opentelemetry.trace import SpanKind

    started: AbstractContextManager[Any] = tracer.start_as_current_span(
        f"{service}.{method}",
        kind=SpanKind.CLIENT,
        attributes={"rpc.system": "nameko", "rpc.service": service, "rpc.method": method},
    )
    return started


class Tracing(DependencyProvider):
    """One span per worker, exported to ``OTLP_ENDPOINT`` (e.g. http://jaeger:4318);
    nothing at all when that setting is empty."""

    def setup(self) -> None:
        self.tracer = None
        self.provider = None
        self._spans: dict[Any, tuple[Any, Any, Any]] = {}
        endpoint = str(self.container.config.get("OTLP_ENDPOINT") or "").strip()
        if not endpoint:
            return
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        service = self.container.service_name
        # A provider per container, not the global one: tests run several services in one process.
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": service, "service.namespace": "yilin"})
        )
        url = endpoint.rstrip("/") + "/v1/traces" if not endpoint.endswith("/v1/traces") else endpoint
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url, timeout=5)))
        self.tracer = self.provider.get_tracer("yilin")

    def stop(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()  # exports what is buffered

    kill = stop

    def worker_setup(self, worker_ctx: Any) -> None:
        if self.tracer is None:
            return
        from opentelemetry import context as otel_context
        from opentelemetry import trace
        from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

        parent = None
        received = valid(worker_ctx.data.get(KEY))
        if received:
            _, trace_id, span_id, flags = received.split("-")
            parent = trace.set_span_in_context(
                NonRecordingSpan(
                    SpanContext(
                        int(trace_id, 16), int(span_id, 16), is_remote=True, trace_flags=TraceFlags(int(flags, 16))
                    )
                )
            )
        entrypoint = worker_ctx.entrypoint
        kind = SpanKind.CONSUMER if hasattr(entrypoint, "event_type") else SpanKind.SERVER
        name = f"{self.container.service_name}.{entrypoint.method_name}"
        work = self.tracer.start_span(
            name,
            context=parent,
            kind=kind,
            attributes={
                "yilin.service": self.container.service_name,
                "yilin.entrypoint": entrypoint.method_name,
                **({"messaging.destination.name": entrypoint.event_type} if kind is SpanKind.CONSUMER else {}),
            },
        )
        token = otel_context.attach(trace.set_span_in_context(work))
        tracer_token = _tracer.set(self.tracer)
        # What this worker sends on (its RPC calls, its events) is a child of its span.
        worker_ctx.data[KEY] = current()
        self._spans[worker_ctx] = (work, token, tracer_token)

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        entry = self._spans.get(worker_ctx)
        if entry is None:
            return
        work = entry[0]
        route = worker_ctx.data.get("yilin.route")
        # An HTTP worker learns its route while it runs (callees inherit the entry, not the role).
        if route and hasattr(worker_ctx.entrypoint, "url"):
            work.update_name(f"{worker_ctx.data.get('yilin.method', 'GET')} {route}")
            work.set_attribute("http.route", route)
        if exc_info is not None:
            from opentelemetry.trace import Status, StatusCode

            work.record_exception(exc_info[1])
            work.set_status(Status(StatusCode.ERROR, type(exc_info[1]).__name__))

    def worker_teardown(self, worker_ctx: Any) -> None:
        entry = self._spans.pop(worker_ctx, None)
        if entry is None:
            return
        from opentelemetry import context as otel_context

        work, token, tracer_token = entry
        work.end()
        _tracer.reset(tracer_token)
        otel_context.detach(token)
