"""One request, one trace: an HTTP request with a W3C traceparent crosses the gateway,
an RPC to the registry (a CLIENT span in the gateway around the broker round trip), the registry's commit and publication through the outbox, and the
hours service's handling of the event; real processes export over OTLP/HTTP to a receiver
here, and the spans must form one tree with the right parents."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
import requests

from tests.conftest import TEST_JWT_SECRET
from tests.gateway.test_registry_api import id_number, seed_places
from tests.harness import ServiceProcess, migrate_service, wait_until
from yilin import tracing

from .otlp_receiver import OtlpReceiver

SERVER, CLIENT, CONSUMER = 2, 3, 5  # OTLP SpanKind values


@pytest.fixture
def receiver():
    r = OtlpReceiver()
    yield r
    r.close()


def test_one_request_is_one_trace_across_three_services(
    amqp_uri: str, pg_url: str, receiver: OtlpReceiver, http: requests.Session
) -> None:
    env = {
        "YILIN_OTLP_ENDPOINT": receiver.url,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "YILIN_JWT_SECRET": TEST_JWT_SECRET,
        "YILIN_LOG_LEVEL": "WARNING",
    }
    config = {"AMQP_URI": amqp_uri, "DATABASE_URL": pg_url}
    processes = {}
    for name in ("registry", "hours", "gateway"):
        migrate_service(name, config)
        processes[name] = ServiceProcess(name, amqp_uri, pg_url, **env)
    for process in processes.values():
        process.wait_ready(60)
    url = f"http://127.0.0.1:{processes['gateway'].http_port}"
    places = seed_places(http, url)

    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    response = http.post(
        f"{url}/api/v1/volunteers",
        headers={"traceparent": f"00-{trace_id}-{caller_span}-01"},
        json={"name": "王芳", "id_number": id_number(7), "community_id": places["PD-01-01"]},
    )
    assert response.status_code == 201, response.text

    def handled() -> bool:
        return any(s.service == "hours" and s.kind == CONSUMER for s in receiver.of_trace(trace_id))

    wait_until(handled, timeout=30, what="the hours service's span of the event")
    time.sleep(0.5)  # the registry's last spans may be a batch behind
    spans = receiver.of_trace(trace_id)
    by_id = {s.span_id: s for s in spans}
    assert {s.service for s in spans} == {"gateway", "registry", "hours"}, spans

    (gateway,) = [s for s in spans if s.service == "gateway" and s.kind == SERVER]
    assert gateway.name == "POST /api/v1/volunteers"
    assert gateway.parent_id == caller_span  # the HTTP caller's context was taken up

    # gateway SERVER → RPC CLIENT → registry SERVER: the round trip through the broker shows
    (call,) = [s for s in spans if s.service == "gateway" and s.kind == CLIENT]
    assert call.name == "registry.register_volunteer" and call.parent_id == gateway.span_id
    (registry,) = [s for s in spans if s.service == "registry" and s.kind == SERVER]
    assert registry.name == "registry.register_volunteer" and registry.parent_id == call.span_id
    # the call is open before the registry starts work (its span may end after the gateway
    # has the answer: nameko replies before the worker's teardown ends the server span)
    assert call.start_ns <= registry.start_ns < call.end_ns

    steps = {s.name: s for s in spans if s.service == "registry" and s.parent_id == registry.span_id}
    assert {"db.commit", "outbox.publish"} <= set(steps), steps

    (handling,) = [s for s in spans if s.service == "hours" and s.kind == CONSUMER]
    assert handling.name == "hours.on_volunteer_registered"
    # The event carried the context of the worker that emitted it, through the outbox.
    assert handling.parent_id == registry.span_id
    assert [s.name for s in spans if s.service == "hours" and s.kind != CONSUMER] == ["db.commit"]
    assert [s.parent_id for s in spans if s.service == "hours" and s.kind != CONSUMER] == [handling.span_id]
    # One tree: every span but the first reaches the caller's span through known parents.
    for span in spans:
        hop = span
        while hop.parent_id != caller_span:
            hop = by_id[hop.parent_id]

    # A request without a traceparent starts a trace of its own.
    before = {s.trace_id for s in receiver.spans}
    assert http.get(f"{url}/api/v1/places/{places['PD']}").status_code == 200
    wait_until(
        lambda: {s.trace_id for s in receiver.spans if s.service == "gateway"} - before, timeout=15, what="a new trace"
    )
    for process in processes.values():
        assert process.terminate() == 0


def per_call(fn: Any, n: int, repeats: int = 7) -> float:
    """Seconds per call, the best of several rounds (other load on the machine only adds)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - started) / n)
    return best


class FakeEntrypoint:
    method_name = "register_volunteer"


class FakeWorker:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.entrypoint = FakeEntrypoint()


class FakeContainer:
    service_name = "registry"

    def __init__(self, endpoint: str) -> None:
        self.config = {"OTLP_ENDPOINT": endpoint}


def test_overhead_off_is_nothing_and_on_is_small(receiver: OtlpReceiver) -> None:
    """Per worker: the hooks one traced worker runs (setup, an RPC's client span, a
    commit span, an emitted event, result, teardown), off and on."""

    def worker_cost(endpoint: str) -> float:
        container = FakeContainer(endpoint)  # bind() keeps only a weak reference
        provider = tracing.Tracing().bind(container, "traces")
        provider.setup()

        def one() -> None:
            worker = FakeWorker()
            provider.worker_setup(worker)
            with tracing.client("hours", "record"), tracing.span("db.commit"):
                tracing.stamp("id", {"type": "x"})
            tracing.publish_headers("id", {})
            provider.worker_result(worker)
            provider.worker_teardown(worker)

        try:
            per_call(one, 200, repeats=1)  # warm up
            return per_call(one, 300)
        finally:
            provider.stop()

    bare = per_call(FakeWorker, 300)  # what the loop costs without any hook
    off, on = worker_cost("") - bare, worker_cost(receiver.url) - bare
    print(f"\ntracing overhead per worker: off {off * 1e6:.2f} µs, on {on * 1e6:.1f} µs")
    assert off < 5e-6, "tracing off must cost next to nothing"
    assert on < 1e-3, "tracing on must stay far below a request's own cost"
    # The spans went out over OTLP/HTTP (the SDK drops what overflows its queue in a burst).
    wait_until(lambda: len(receiver.spans) >= 500, timeout=30, what="the spans exported")


def test_every_service_traces_its_workers() -> None:
    import importlib

    from services import SERVICES

    for name, target in SERVICES.items():
        module, _, attr = target.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        assert any(isinstance(getattr(cls, a, None), tracing.Tracing) for a in dir(cls)), name


def test_trace_context_is_taken_only_when_well_formed() -> None:
    good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert tracing.from_headers({"traceparent": good}) == {"traceparent": good}
    for bad in (
        "",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        good.upper(),
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        good + "\n",
        None,
    ):
        assert tracing.from_headers({"traceparent": bad}) == {}, bad
    # An event: the AMQP header first, else the CloudEvents attribute in its body.
    other = good.replace("01", "00", 1)[:-2] + "00"
    assert tracing.carried({"traceparent": other}, {"traceparent": good}) == good
    assert tracing.carried({"traceparent": other}, {}) == other
    assert tracing.carried([], None) is None
    # Off: nothing is stamped, nothing is remembered.
    message = {"type": "x"}
    assert tracing.stamp("id-1", message) is message
    assert tracing.publish_headers("id-1", message) is None
