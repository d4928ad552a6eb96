"""The internal read server (yilin.readserver) over real sockets: HTTP/1.1 keep-alive, the
refusals that run no worker (unknown path, another method, a body too large or without a
length, a malformed request), the identity checked on every read, and a stop that
answers the reads already received and closes the idle connections."""

from __future__ import annotations

import json
import socket
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any, Iterator
from uuid import UUID

import eventlet
import pytest
from eventlet.event import Event

from tests.harness import ServiceProcess, free_port, migrate_service
from yilin.httpreads import IDENTITY_HEADER, HttpReadProxy, read_rpc
from yilin.identity import IDENTITY_KEY, Identity, new_private_key, sign_assertion
from yilin.readpool import Pool
from yilin.readserver import MAX_CALL_BYTES

OPERATOR = Identity(subject="someone", role="operator")
DEVELOPMENT = {"ENVIRONMENT": "development"}  # the processes' derived development keys


def request(path: str, body: Any = None, method: str = "POST", assertion: str | None = None, **headers: str) -> bytes:
    """One request's bytes: a JSON body with its Content-Length, the headers given."""
    payload = json.dumps(body).encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", "Host: reads", f"Content-Length: {len(payload)}"]
    if assertion is not None:
        lines.append(f"{IDENTITY_HEADER}: {assertion}")
    lines.extend(f"{name.replace('_', '-')}: {value}" for name, value in headers.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Reader:
    """A client connection reading answers one at a time (status, headers, body)."""

    def __init__(self, address: str) -> None:
        host, port = address.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.buffer = b""

    def send(self, data: bytes) -> "Reader":
        self.sock.sendall(data)
        return self

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            data = self.sock.recv(65536)
            assert data, f"closed before an answer (read {self.buffer!r})"
            self.buffer += data
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            data = self.sock.recv(65536)
            assert data, "closed inside an answer"
            self.buffer += data
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split(" ")[1]), headers, body

    def closed(self) -> bool:
        """Whether the server closed the connection (nothing more to read)."""
        return not self.buffer and self.sock.recv(65536) == b""


@pytest.fixture
def registry(amqp_uri: str, pg_url: str) -> Iterator[str]:
    """A real registry process answering reads on an internal address; that address."""
    migrate_service("registry", {"AMQP_URI": amqp_uri, "DATABASE_URL": pg_url})
    address = f"127.0.0.1:{free_port()}"
    process = ServiceProcess("registry", amqp_uri, pg_url, YILIN_INTERNAL_HTTP_ADDRESS=address).wait_ready(60)
    try:
        yield address
    finally:
        assert process.terminate() == 0


def test_reads_on_one_kept_alive_connection_and_what_is_refused(registry: str) -> None:
    valid = sign_assertion(DEVELOPMENT, OPERATOR, "gateway")
    page = {"args": [{"limit": 1}], "kwargs": {}}
    reader = Reader(registry)
    # two reads sent at once on one connection: answered in order, the connection kept
    reader.send(request("/reads/list_places", page, assertion=valid) * 2)
    for _ in range(2):
        status, headers, body = reader.answer()
        assert status == 200 and headers["content-type"] == "application/json", body
        assert json.loads(body)["result"]["items"] == [] and "connection" not in headers
    # refusals that keep the connection: the service's 401, no such read, another method
    forged = sign_assertion({**DEVELOPMENT, "IDENTITY_KEYS": {"gateway": new_private_key()[0]}}, OPERATOR, "gateway")
    for assertion in (None, forged, "a.b"):
        status, _, body = reader.send(request("/reads/list_places", page, assertion=assertion)).answer()
        assert status == 401 and json.loads(body)["error"]["exc_type"] == "Unauthenticated"
    status, _, body = reader.send(request("/reads/register_volunteer", page, assertion=valid)).answer()
    assert status == 404 and body == b"no such read"  # a write is no read
    status, headers, _ = reader.send(request("/reads/list_places", method="GET", assertion=valid)).answer()
    assert status == 405 and headers["allow"] == "POST"
    status, _, body = reader.send(request("/reads/list_places", page, assertion=valid)).answer()
    assert status == 200 and json.loads(body)["result"]["items"] == []
    status, _, body = reader.send(request("/reads/list_places", {"args": 1}, assertion=valid)).answer()
    assert status == 400 and json.loads(body)["error"]["exc_type"] == "MalformedRequest"


@pytest.mark.parametrize(
    "sent, status",
    [
        (b"POST /reads/list_places HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (MAX_CALL_BYTES + 1), 413),
        (b"POST /reads/list_places HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411),
        (b"POST /reads/list_places HTTP/1.1\r\nContent-Length: -3\r\n\r\n", 400),
        (b"POST /reads/list_places HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n", 400),
        (b"POST /reads/list_places HTTP/1.1\r\nX-" + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"hello\r\n\r\n", 400),
        (b"POST /reads/list_places HTTP/1.1\r\nno colon here\r\n\r\n", 400),
    ],
    ids=["oversized", "chunked", "bad-length", "superscript-length", "huge-head", "no-request-line", "bad-header"],
)
def test_a_request_it_cannot_take_is_refused_and_the_connection_closed(registry: str, sent: bytes, status: int) -> None:
    reader = Reader(registry).send(sent)
    answered, headers, _ = reader.answer()
    assert answered == status and headers["connection"] == "close"
    assert reader.closed()


def test_http_1_0_is_answered_and_closed_unless_kept_alive(registry: str) -> None:
    valid = sign_assertion(DEVELOPMENT, OPERATOR, "gateway")
    page = {"args": [{"limit": 1}], "kwargs": {}}
    closing = Reader(registry).send(
        request("/reads/list_places", page, assertion=valid).replace(b"HTTP/1.1", b"HTTP/1.0")
    )
    assert closing.answer()[0] == 200 and closing.closed()
    kept = request("/reads/list_places", page, assertion=valid, Connection="keep-alive")
    reader = Reader(registry).send(kept.replace(b"HTTP/1.1", b"HTTP/1.0"))
    assert reader.answer()[0] == 200
    assert reader.send(request("/reads/list_places", page, assertion=valid, Connection="close")).answer()[0] == 200
    assert reader.closed()


class SlowReads:
    name = "slowreads"

    @read_rpc
    def wait(self, seconds: float) -> str:
        eventlet.sleep(seconds)
        return "waited"

    @read_rpc
    def typed(self, day: Any, text: str) -> dict[str, Any]:
        return {"day": day, "next": day + timedelta(days=1), "id": UUID(int=7), "text": text, "plain": [{"a": 1}]}


def test_stopping_answers_the_reads_received_and_closes_idle_connections(
    make_config: Any, container_factory: Any, pg_url: str
) -> None:
    address = f"127.0.0.1:{free_port()}"
    config = make_config(pg_url, INTERNAL_HTTP_ADDRESS=address)
    container = container_factory(SlowReads, config)
    container.start()
    valid = sign_assertion(config, OPERATOR, "gateway")
    idle = Reader(address)
    assert idle.send(request("/reads/wait", {"args": [0], "kwargs": {}}, assertion=valid)).answer()[0] == 200
    busy = Reader(address).send(request("/reads/wait", {"args": [0.5], "kwargs": {}}, assertion=valid))
    eventlet.sleep(0.1)  # the slow read received and running
    stopped = Event()
    eventlet.spawn(lambda: (container.stop(), stopped.send()))
    eventlet.sleep(0.1)
    assert idle.closed()  # the idle connection closed at once
    assert not stopped.ready()  # the stop waits for the read in flight
    status, headers, body = busy.answer()
    assert status == 200 and json.loads(body) == {"result": "waited"} and headers["connection"] == "close"
    with eventlet.Timeout(10):
        stopped.wait()
    with pytest.raises(ConnectionRefusedError):
        Reader(address)


def test_tagged_values_cross_as_over_rpc_and_plain_json_as_it_is(
    make_config: Any, container_factory: Any, pg_url: str
) -> None:
    """kombu tags a date or a UUID; both ends decode the tagged form as kombu does, and
    a string that only looks like a tag stays a string."""
    address = f"127.0.0.1:{free_port()}"
    config = make_config(pg_url, INTERNAL_HTTP_ADDRESS=address)
    container_factory(SlowReads, config).start()
    pool = Pool(f"http://{address}", timeout=5)
    proxy = HttpReadProxy(
        pool, "slowreads", SimpleNamespace(data={IDENTITY_KEY: sign_assertion(config, OPERATOR, "gateway")})
    )
    looks_tagged = '{"__type__": "date", "__value__": "2026-01-01"}'
    answer = proxy.typed(date(2026, 12, 5), looks_tagged)
    assert answer == {
        "day": date(2026, 12, 5),
        "next": date(2026, 12, 6),
        "id": UUID(int=7),
        "text": looks_tagged,
        "plain": [{"a": 1}],
    }
    pool.close()
