"""The gateway's public server (yilin.frontserver under services.gateway.web) over real
sockets: keep-alive and pipelining, query strings and encoded paths, chunked bodies,
``Expect: 100-continue``, HEAD, HTTP/1.0, streamed answers, malformed requests refused
with problem details, and a stop that answers what was received and closes idle
connections."""

from __future__ import annotations

import json
import socket
from typing import Any, Iterator

import eventlet
import pytest
from eventlet.event import Event
from werkzeug.wrappers import Request, Response

from services.gateway.service import endpoint


class Echo:
    name = "echo"

    @endpoint("GET,POST,PUT", "/echo/<path:rest>")
    def echo(self, request: Request, rest: str) -> Response:
        answer = {
            "method": request.method,
            "rest": rest,
            "query": request.args.to_dict(),
            "body": request.get_data(as_text=True),
            "length": request.content_length,
            "client": request.remote_addr,
        }
        return Response(json.dumps(answer), mimetype="application/json")

    @endpoint("GET", "/slow")
    def slow(self, request: Request) -> Response:
        eventlet.sleep(0.5)
        return Response("waited")

    @endpoint("GET", "/stream")
    def stream(self, request: Request) -> Response:
        return Response(iter([b"one,", b"two"]), mimetype="text/csv")


class Client:
    """One connection; answers read one at a time."""

    def __init__(self, address: str) -> None:
        host, port = address.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.buffer = b""

    def send(self, data: bytes) -> "Client":
        self.sock.sendall(data)
        return self

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        assert data, f"closed early (read {self.buffer!r})"
        self.buffer += data

    def head(self) -> tuple[int, dict[str, str]]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        return int(status_line.split(" ")[1]), headers

    def answer(self, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
        status, headers = self.head()
        if head_only:
            return status, headers, b""
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buffer:
                    self._fill()
                size_line, _, self.buffer = self.buffer.partition(b"\r\n")
                size = int(size_line, 16)
                while len(self.buffer) < size + 2:
                    self._fill()
                body, self.buffer = body + self.buffer[:size], self.buffer[size + 2 :]
                if not size:
                    return status, headers, body
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, headers, body

    def closed(self) -> bool:
        return not self.buffer and self.sock.recv(65536) == b""


@pytest.fixture
def echo(make_config: Any, container_factory: Any, pg_url: str) -> Iterator[tuple[str, Any]]:
    config = make_config(pg_url)
    container = container_factory(Echo, config)
    container.start()
    yield config["WEB_SERVER_ADDRESS"], container


def get(path: str, version: str = "HTTP/1.1", method: str = "GET", **headers: str) -> bytes:
    lines = [
        f"{method} {path} {version}",
        "Host: gateway",
        *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_pipelined_requests_on_one_kept_alive_connection(echo: tuple[str, Any]) -> None:
    client = Client(echo[0]).send(get("/echo/a%2Fb?x=1&y=%C3%A9") + get("/echo/second"))
    status, headers, body = client.answer()
    answer = json.loads(body)
    assert status == 200 and headers["content-type"] == "application/json" and "connection" not in headers
    assert answer["rest"] == "a/b" and answer["query"] == {"x": "1", "y": "é"} and answer["client"] == "127.0.0.1"
    assert "date" in headers and "x-correlation-id" in headers
    assert json.loads(client.answer()[2])["rest"] == "second"
    post = b'POST /echo/body HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}'
    assert json.loads(client.send(post).answer()[2])["body"] == '{"a":1}'


def test_a_chunked_body_is_read_whole_and_the_connection_kept(echo: tuple[str, Any]) -> None:
    client = Client(echo[0])
    sent = b"POST /echo/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n"
    client.send(sent[:40])
    eventlet.sleep(0.05)  # the body arrives in pieces
    status, _, body = client.send(sent[40:]).answer()
    assert status == 200 and json.loads(body)["body"] == "abcde" and json.loads(body)["length"] == 5
    assert json.loads(client.send(get("/echo/next")).answer()[2])["rest"] == "next"


def test_expect_100_continue_is_answered_before_the_body_is_sent(echo: tuple[str, Any]) -> None:
    client = Client(echo[0])
    client.send(b"PUT /echo/e HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    assert client.head() == (100, {})
    status, _, body = client.send(b"hello").answer()
    assert status == 200 and json.loads(body)["body"] == "hello"
    # a body over the bound is not asked for: the app answers by its length, the connection closes
    client = Client(echo[0])
    client.send(b"PUT /echo/e HTTP/1.1\r\nContent-Length: 9999999\r\nExpect: 100-continue\r\n\r\n")
    status, headers, body = client.answer()
    assert status == 200 and json.loads(body)["length"] == 9999999 and headers["connection"] == "close"
    assert client.closed()
    # without Expect, the body comes anyway: dropped after the answer, which still reaches the client
    client = Client(echo[0])
    sending = eventlet.spawn(client.send, b"PUT /echo/e HTTP/1.1\r\nContent-Length: 4194304\r\n\r\n" + b"x" * 4194304)
    status, headers, body = client.answer()
    assert status == 200 and json.loads(body)["length"] == 4194304 and headers["connection"] == "close"
    sending.wait()
    assert client.closed()


def test_head_has_no_body_and_http_1_0_closes_unless_kept_alive(echo: tuple[str, Any]) -> None:
    client = Client(echo[0]).send(get("/echo/h", method="HEAD"))
    status, headers, _ = client.answer(head_only=True)
    assert status == 200 and int(headers["content-length"]) > 0
    assert json.loads(client.send(get("/echo/after")).answer()[2])["rest"] == "after"  # no stray body between
    closing = Client(echo[0]).send(get("/echo/old", "HTTP/1.0"))
    assert closing.answer()[0] == 200 and closing.closed()
    kept = Client(echo[0]).send(get("/echo/old", "HTTP/1.0", Connection="keep-alive"))
    assert kept.answer()[1]["connection"] == "keep-alive"
    assert kept.send(get("/echo/old", "HTTP/1.1", Connection="close")).answer()[0] == 200 and kept.closed()


def test_a_streamed_answer_is_chunked(echo: tuple[str, Any]) -> None:
    client = Client(echo[0]).send(get("/stream") * 2)
    for _ in range(2):
        status, headers, body = client.answer()
        assert status == 200 and headers["transfer-encoding"] == "chunked" and body == b"one,two"


@pytest.mark.parametrize(
    "sent, status",
    [
        (b"hello\r\n\r\n", 400),
        (b"GET /echo/x HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"GET /echo/x HTTP/1.1\r\nContent-Length: -3\r\n\r\n", 400),
        (b"GET /echo/x HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n", 400),
        (b"POST /echo/x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"POST /echo/x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"POST /echo/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"POST /echo/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n", 400),
        (b"POST /echo/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n", 413),
        (b"GET /echo/x HTTP/2.0\r\n\r\n", 505),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET /echo/x HTTP/1.1\r\nX-" + b"a" * 70_000 + b"\r\n\r\n", 431),
    ],
    ids=[
        "no-request-line",
        "bad-header",
        "negative-length",
        "superscript-length",
        "length-and-chunked",
        "unknown-encoding",
        "bad-chunk-size",
        "chunk-overrun",
        "chunked-too-large",
        "http-2",
        "long-target",
        "huge-head",
    ],
)
def test_a_malformed_request_gets_problem_details_and_the_connection_closes(
    echo: tuple[str, Any], sent: bytes, status: int
) -> None:
    client = Client(echo[0]).send(sent)
    answered, headers, body = client.answer()
    assert answered == status and headers["connection"] == "close"
    assert headers["content-type"] == "application/problem+json" and json.loads(body)["status"] == status
    assert client.closed()


def test_an_unknown_path_is_problem_details_on_a_kept_connection(echo: tuple[str, Any]) -> None:
    client = Client(echo[0]).send(get("/nowhere"))
    status, headers, body = client.answer()
    assert status == 404 and headers["content-type"] == "application/problem+json"
    assert client.send(get("/echo/still")).answer()[0] == 200


def test_stopping_answers_the_requests_received_and_closes_idle_connections(echo: tuple[str, Any]) -> None:
    address, container = echo
    idle = Client(address)
    assert idle.send(get("/echo/i")).answer()[0] == 200
    busy = Client(address).send(get("/slow"))
    eventlet.sleep(0.1)  # the slow request received and running
    stopped = Event()
    eventlet.spawn(lambda: (container.stop(), stopped.send()))
    eventlet.sleep(0.1)
    assert idle.closed()  # the idle connection closed at once
    assert not stopped.ready()  # the stop waits for the request in flight
    status, headers, body = busy.answer()
    assert status == 200 and body == b"waited" and headers["connection"] == "close"
    with eventlet.Timeout(10):
        stopped.wait()
    with pytest.raises(ConnectionRefusedError):
        Client(address)


def gateway_map() -> Any:
    """The gateway's own nameko rules, as its web server builds them."""
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
    from werkzeug.routing import Map, Rule

    from services.gateway.service import GatewayService

    rules = []
    for name in dir(GatewayService):
        for entrypoint in getattr(getattr(GatewayService, name), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if hasattr(entrypoint, "url"):
                rules.append(Rule(entrypoint.url, methods=entrypoint.method.split(","), endpoint=name))
    return Map(rules)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/volunteers/1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        "/api/v1/x",
        "/api/v1/x/",
        "/api/v1/",
        "/api/v1",
        "/api/v1//x",
        "/api/v1/a\nb",
        "/api/v1/a\rb",
        "/api/v1/é/ü",
        "/api/v2/x",
        "/health",
        "/pages/district",
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"])
def test_the_api_prefix_matches_as_werkzeug_matches(path: str, method: str) -> None:
    from werkzeug.exceptions import HTTPException

    from services.gateway.web import _catch_all

    url_map = gateway_map()
    catch_all = _catch_all(url_map)
    assert catch_all is not None and catch_all.prefix == "/api/v1/"
    try:
        expected: Any = url_map.bind("gateway", "/").match(path, method)
    except HTTPException as exc:
        expected = type(exc)
    fast = catch_all.match(path, method)
    assert fast is None or fast == expected, (fast, expected)
    if path.startswith("/api/v1/x") and method == "GET":
        assert fast is not None  # the fast path is taken
