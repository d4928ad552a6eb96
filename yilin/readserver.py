"""The internal read server (:mod:`yilin.httpreads`): HTTP/1.1 with keep-alive on eventlet's
green sockets, for the one kind of request it serves, ``POST /reads/<method>`` with a
JSON body of a stated ``Content-Length``.

eventlet's WSGI server parsed every request's headers with the ``email`` package and built
a WSGI environ and a file object around the body: a sixth of a service's CPU for a read.
This server reads the request line and headers from one buffer, the body by its length,
and answers with ``Content-Length`` in one ``sendall``. What it refuses, it refuses before
any worker runs: a path that is no read 404, another method 405, a body without a length
411, a body over :data:`MAX_CALL_BYTES` 413, a head over :data:`yilin.greenhttp.MAX_HEAD_BYTES` 431, a
malformed request 400 (these last four close the connection).

Stopping (``SIGTERM``) closes the listening socket and idle kept-alive connections at once;
a read already received is answered (its worker runs to the end) before the server stops."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Protocol

from nameko.extensions import ProviderCollector, SharedExtension
from nameko.web.server import BindAddress, parse_address

from yilin.greenhttp import REASONS, KeptConnections, Refused, read_body, read_head

ADDRESS_KEY = "INTERNAL_HTTP_ADDRESS"  # where a service answers reads (host:port); empty: nowhere
READ_PATH = "/reads/"
JSON = b"application/json"
MAX_CALL_BYTES = 1024 * 1024  # a read's arguments are ids and a query: far below this


class Read(Protocol):
    """What the server needs of a read's entrypoint (``yilin.httpreads.ReadEndpoint``)."""

    method_name: str

    def answer(self, header: Callable[[str], str | None], raw: bytes) -> tuple[int, bytes]: ...


def internal_address(config: Mapping[str, Any], service: str) -> str | None:
    """Where ``service`` answers reads: ``INTERNAL_HTTP_ADDRESS``, one ``host:port`` or (for
    several services in one process, as the tests run them) a map of service names to
    addresses; ``None`` when it is empty."""
    address = config.get(ADDRESS_KEY)
    if isinstance(address, dict):
        address = address.get(service)
    return str(address) if address else None


# A read request: its path, method, headers (lowercase names) and body.
ReadRequest = tuple[str, str, dict[str, str], bytes]


class InternalWebServer(KeptConnections[ReadRequest], ProviderCollector, SharedExtension):
    """The reads' server on ``INTERNAL_HTTP_ADDRESS``, apart from the public one
    (``WEB_SERVER_ADDRESS``), so no Ingress ever routes to it; not started when the
    service has no address. Its providers are the service's read entrypoints."""

    failure = "the internal read server failed on a request"

    def __init__(self) -> None:
        super().__init__()
        self._reads: dict[str, Read] = {}

    @property
    def bind_addr(self) -> BindAddress | None:
        """The address to listen on, ``None`` when the service has none."""
        address = internal_address(self.container.config, self.container.service_name)
        return parse_address(address) if address else None

    def start(self) -> None:
        """Listen, when the service has an address; its reads are the providers registered."""
        address = self.bind_addr
        if address is None or self._listener is not None:
            return
        self._reads = {READ_PATH + p.method_name: p for p in self._providers}
        # the gateway's connections arrive together when it starts or scales out
        self.listen(address, self.container.config)

    def stop(self) -> None:
        """Return once every read received has been answered (its worker has finished
        before this runs: nameko stops the entrypoints, waits for the workers, then stops
        the extensions)."""
        self.close(idle_only=True)
        self.wait_answered()
        super().stop()

    def next_request(self, connection: Any, buffer: bytes, address: Any) -> tuple[ReadRequest, bytes, bool] | None:
        """The next read on ``connection`` (see :func:`_read_request`)."""
        return _read_request(connection, buffer)

    def answer(self, connection: Any, request: ReadRequest, keep: bool) -> bool:
        """Run the read and send its answer in one write."""
        status, answer, text = self._answer(*request)
        keep = keep and self.accepting
        connection.sendall(_response(status, answer, keep, text, allow=status == 405))
        return keep

    def refused(self, refusal: Refused) -> bytes:
        """A refusal as plain text."""
        return _response(refusal.status, str(refusal).encode(), keep=False, text=True)

    def _answer(self, path: str, method: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, bool]:
        read = self._reads.get(path.partition("?")[0])
        if read is None:
            return 404, b"no such read", True
        if method != "POST":
            return 405, b"reads are POSTed", True
        status, answer = read.answer(lambda name: headers.get(name.lower()), body)
        return status, answer, False


def _read_request(connection: Any, buffer: bytes) -> tuple[ReadRequest, bytes, bool] | None:
    """The next request on ``connection`` (``buffer`` holds what was already read): its
    path, method, headers (lowercase names) and body, the bytes read past it, and whether
    the connection stays open after the answer; ``None`` when the caller closed between
    requests."""
    head = read_head(connection, buffer)
    if head is None:
        return None
    lines, buffer = head
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise Refused(400, "not an HTTP/1.x request line")
    method, path, version = parts
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise Refused(400, "a malformed header line")
        headers[name.lower()] = value.strip()
    connection_header = headers.get("connection", "").lower()
    keep = "close" not in connection_header if version == "HTTP/1.1" else "keep-alive" in connection_header
    if "transfer-encoding" in headers:
        raise Refused(411, "a read's body needs a Content-Length")
    raw_length = headers.get("content-length", "0")
    if not (raw_length.isascii() and raw_length.isdigit()):  # '²' is a digit to isdigit, not to int
        raise Refused(400, "a malformed Content-Length")
    length = int(raw_length)
    if length > MAX_CALL_BYTES:
        raise Refused(413, f"a read's body is at most {MAX_CALL_BYTES} bytes")
    if headers.get("expect", "").lower() == "100-continue" and len(buffer) < length:
        connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    body, buffer = read_body(connection, buffer, length)
    return (path, method, headers, body), buffer, keep


def _response(status: int, body: bytes, keep: bool, text: bool, allow: bool = False) -> bytes:
    head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n" % (
        status,
        REASONS.get(status, "Status").encode(),
        b"text/plain" if text else JSON,
        len(body),
    )
    if allow:
        head += b"Allow: POST\r\n"
    if not keep:
        head += b"Connection: close\r\n"
    return head + b"\r\n" + body
