"""The internal read server (:mod:`yilin.httpreads`): HTTP/1.1 with keep-alive on eventlet's
green sockets, for the one kind of request it serves, ``POST /reads/<method>`` with a
JSON body of a stated ``Content-Length``.

eventlet's WSGI server parsed every request's headers with the ``email`` package and built
a WSGI environ and a file object around the body: a sixth of a service's CPU for a read.
This server reads the request line and headers from one buffer, the body by its length,
and answers with ``Content-Length`` in one ``sendall``. What it refuses, it refuses before
any worker runs: a path that is no read 404, another method 405, a body without a length
411, a body over :data:`MAX_CALL_BYTES` 413, a head over :data:`MAX_HEAD_BYTES` 431, a
malformed request 400 (these last four close the connection).

Stopping (``SIGTERM``) closes the listening socket and idle kept-alive connections at once;
a read already received is answered (its worker runs to the end) before the server stops."""

from __future__ import annotations

import http
import logging
import socket
from functools import partial
from typing import Any, Callable, Mapping, Protocol

import eventlet
from eventlet.event import Event
from nameko.extensions import ProviderCollector, SharedExtension
from nameko.web.server import BindAddress, parse_address

from yilin.backlog import listen_backlog

log = logging.getLogger(__name__)

ADDRESS_KEY = "INTERNAL_HTTP_ADDRESS"  # where a service answers reads (host:port); empty: nowhere
READ_PATH = "/reads/"
JSON = b"application/json"
MAX_CALL_BYTES = 1024 * 1024  # a read's arguments are ids and a query: far below this
MAX_HEAD_BYTES = 64 * 1024
RECV_BYTES = 65536
IDLE_SECONDS = 300.0  # a kept-alive connection with no request this long is closed
REASONS = {status.value: status.phrase for status in http.HTTPStatus}


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


class Refused(Exception):
    """A request answered with ``status`` and the connection closed after it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class InternalWebServer(ProviderCollector, SharedExtension):
    """The reads' server on ``INTERNAL_HTTP_ADDRESS``, apart from the public one
    (``WEB_SERVER_ADDRESS``), so no Ingress ever routes to it; not started when the
    service has no address. Its providers are the service's read entrypoints."""

    def __init__(self) -> None:
        super().__init__()
        self._listener: Any = None
        self._accepting = False
        self._reads: dict[str, Read] = {}
        self._connections: dict[Any, bool] = {}  # each open connection: whether a read is in flight on it
        self._in_flight = 0
        self._drained: Event | None = None
        self._acceptor: Any = None

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
        self._listener = eventlet.listen((address.address, address.port), backlog=listen_backlog(self.container.config))
        self._listener.settimeout(None)
        self._accepting = True
        self._acceptor = self.container.spawn_managed_thread(self._accept)

    def unregister_provider(self, provider: Any) -> None:
        """A read entrypoint stopping (the first step of the service's stop): no new
        connection or request from now on, so no worker starts after nameko has begun
        waiting for the running ones."""
        super().unregister_provider(provider)
        self._close(idle_only=True)

    def stop(self) -> None:
        """Return once every read received has been answered (its worker has finished
        before this runs: nameko stops the entrypoints, waits for the workers, then stops
        the extensions)."""
        self._close(idle_only=True)
        if self._in_flight:
            drained = self._drained = Event()
            drained.wait()
        super().stop()

    def kill(self) -> None:
        """Close the listener and every connection, answered or not."""
        self._close(idle_only=False)

    def _close(self, idle_only: bool) -> None:
        self._accepting = False
        if self._listener is None:
            return
        if self._acceptor is not None:
            self._acceptor.kill()
            self._acceptor = None
        self._listener.close()
        for connection, busy in list(self._connections.items()):
            if not (busy and idle_only):
                shut(connection)

    def _accept(self) -> None:
        while self._accepting:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # the listener closed by stop()
                return
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.settimeout(IDLE_SECONDS)
            self._connections[connection] = False
            self.container.spawn_managed_thread(partial(self._serve, connection))

    def _serve(self, connection: Any) -> None:
        """Answer the requests on one connection until it closes (an error here must not
        reach nameko: a managed thread's exception kills the container)."""
        buffer = b""
        try:
            while self._accepting:
                try:
                    request = _read_request(connection, buffer)
                except Refused as refused:
                    connection.sendall(_response(refused.status, str(refused).encode(), keep=False, text=True))
                    return
                if request is None:
                    return
                path, method, headers, body, buffer, keep = request
                self._connections[connection] = True
                self._in_flight += 1
                try:
                    status, answer, text = self._answer(path, method, headers, body)
                    keep = keep and self._accepting
                    connection.sendall(_response(status, answer, keep, text, allow=status == 405))
                finally:
                    self._connections[connection] = False
                    self._in_flight -= 1
                    if not self._in_flight and self._drained is not None:
                        drained, self._drained = self._drained, None
                        drained.send()
                if not keep:
                    return
        except OSError:  # the caller went away (reset, broken pipe, idle timeout)
            pass
        except Exception:  # logged; the connection closes, the service runs on
            log.exception("the internal read server failed on a request")
        finally:
            self._connections.pop(connection, None)
            connection.close()

    def _answer(self, path: str, method: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, bool]:
        read = self._reads.get(path.partition("?")[0])
        if read is None:
            return 404, b"no such read", True
        if method != "POST":
            return 405, b"reads are POSTed", True
        status, answer = read.answer(lambda name: headers.get(name.lower()), body)
        return status, answer, False


def _read_request(connection: Any, buffer: bytes) -> tuple[str, str, dict[str, str], bytes, bytes, bool] | None:
    """The next request on ``connection`` (``buffer`` holds what was already read): its
    path, method, headers (lowercase names), body, the bytes read past it, and whether the
    connection stays open after the answer; ``None`` when the caller closed between requests."""
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
    return path, method, headers, body, buffer, keep


def read_head(connection: Any, buffer: bytes) -> tuple[list[str], bytes] | None:
    """The lines of the next request's head on ``connection`` (``buffer`` holds what was
    already read) and the bytes read past it; ``None`` when the client closed between
    requests. A head over :data:`MAX_HEAD_BYTES` is refused 431, one cut short 400."""
    while (end := buffer.find(b"\r\n\r\n")) < 0:
        if len(buffer) > MAX_HEAD_BYTES:
            raise Refused(431, "the request's head is too large")
        data = connection.recv(RECV_BYTES)
        if not data:
            if buffer.strip():
                raise Refused(400, "the connection closed inside a request")
            return None
        buffer += data
    if end > MAX_HEAD_BYTES:
        raise Refused(431, "the request's head is too large")
    return buffer[:end].decode("latin-1").split("\r\n"), buffer[end + 4 :]


def read_body(connection: Any, buffer: bytes, length: int) -> tuple[bytes, bytes]:
    """A body of ``length`` bytes (``buffer`` holds what was already read) and the bytes
    read past it."""
    while len(buffer) < length:
        data = connection.recv(RECV_BYTES)
        if not data:
            raise OSError("the connection closed inside a request's body")
        buffer += data
    return buffer[:length], buffer[length:]


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


def shut(connection: Any) -> None:
    """Wake the connection's reader with the end of the stream (it then closes it)."""
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
