"""What the two small HTTP/1.1 servers on eventlet's green sockets share, the public one
(:mod:`yilin.frontserver`) and the internal read server (:mod:`yilin.readserver`):
reading a request's head and body from one buffer, the bounds on both, and
:class:`KeptConnections`, the life of their keep-alive connections (accept, answer each
connection's requests in turn, stop accepting, close the idle ones, and wait until every
request received is answered)."""

from __future__ import annotations

import http
import logging
import socket
from functools import partial
from typing import Any, Generic, Mapping, TypeVar

import eventlet
from eventlet.event import Event
from nameko.web.server import BindAddress

from yilin.backlog import listen_backlog

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024
RECV_BYTES = 65536
IDLE_SECONDS = 300.0  # a kept-alive connection with no request this long is closed
REASONS = {status.value: status.phrase for status in http.HTTPStatus}

Request = TypeVar("Request")


class Refused(Exception):
    """A request answered with ``status`` and the connection closed after it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


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


def shut(connection: Any) -> None:
    """Wake the connection's reader with the end of the stream (it then closes it)."""
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class KeptConnections(Generic[Request]):
    """The connections of a keep-alive server, mixed into its nameko extension (first
    among its bases). The extension calls :meth:`listen` when it starts and
    :meth:`close` and :meth:`wait_answered` when it stops, and says how to read a request
    (:meth:`next_request`), answer it (:meth:`answer`) and refuse one (:meth:`refused`).

    Requests on one connection are answered in turn; a connection is idle between them,
    and only idle ones are closed when the server stops accepting."""

    container: Any  # the nameko extension's
    failure = "the web server failed on a request"  # logged with the exception

    def __init__(self) -> None:
        super().__init__()
        self._listener: Any = None
        self._acceptor: Any = None
        self._accepting = False
        self._connections: dict[Any, bool] = {}  # each open connection: whether a request is in flight on it
        self._in_flight = 0
        self._drained: Event | None = None

    def listen(self, address: BindAddress, config: Mapping[str, Any]) -> Any:
        """Listen on ``address`` (with the configured backlog: a rush of new keep-alive
        connections queues instead of being dropped) and accept connections."""
        self._listener = eventlet.listen((address.address, address.port), backlog=listen_backlog(config))
        self._listener.settimeout(None)
        self._accepting = True
        self._acceptor = self.container.spawn_managed_thread(self._accept)
        return self._listener

    @property
    def accepting(self) -> bool:
        """Whether new requests are taken (an answer says ``Connection: close`` once not)."""
        return self._accepting

    def close(self, idle_only: bool) -> None:
        """Stop accepting: close the listener and the idle connections (every connection
        unless ``idle_only``)."""
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

    def unregister_provider(self, provider: Any) -> None:
        """An entrypoint stopping (the first step of the service's stop): no new connection
        or request from now on, so no worker starts after nameko has begun waiting for the
        running ones."""
        super().unregister_provider(provider)  # type: ignore[misc]  # the nameko extension's, next in the MRO
        self.close(idle_only=True)

    def kill(self) -> None:
        """Close the listener and every connection, answered or not."""
        self.close(idle_only=False)

    def wait_answered(self) -> None:
        """Return once every request received has been answered."""
        if self._in_flight:
            drained = self._drained = Event()
            drained.wait()

    def next_request(self, connection: Any, buffer: bytes, address: Any) -> tuple[Request, bytes, bool] | None:
        """The next request on ``connection`` (``buffer`` holds what was already read), the
        bytes read past it and whether the connection may stay open after it; ``None`` when
        the client closed between requests. Raises :class:`Refused` for a malformed one."""
        raise NotImplementedError

    def answer(self, connection: Any, request: Request, keep: bool) -> bool:
        """Answer ``request`` on ``connection``; whether the connection stays open."""
        raise NotImplementedError

    def refused(self, refusal: Refused) -> bytes:
        """The whole answer to a request refused before it was read (``Connection: close``)."""
        raise NotImplementedError

    def _accept(self) -> None:
        while self._accepting:
            try:
                connection, address = self._listener.accept()
            except OSError:  # the listener closed by stop()
                return
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.settimeout(IDLE_SECONDS)
            self._connections[connection] = False
            self.container.spawn_managed_thread(partial(self._serve, connection, address))

    def _serve(self, connection: Any, address: Any) -> None:
        """Answer the requests on one connection until it closes (an error here must not
        reach nameko: a managed thread's exception kills the container)."""
        buffer = b""
        try:
            while self._accepting:
                try:
                    request = self.next_request(connection, buffer, address)
                except Refused as refusal:
                    connection.sendall(self.refused(refusal))
                    return
                if request is None:
                    return
                parsed, buffer, keep = request
                self._connections[connection] = True
                self._in_flight += 1
                try:
                    keep = self.answer(connection, parsed, keep)
                finally:
                    self._connections[connection] = False
                    self._in_flight -= 1
                    if not self._in_flight and self._drained is not None:
                        drained, self._drained = self._drained, None
                        drained.send()
                if not keep:
                    return
        except OSError:  # the client went away (reset, broken pipe, idle timeout)
            pass
        except Exception:  # logged; the connection closes, the service runs on
            log.exception(self.failure)
        finally:
            self._connections.pop(connection, None)
            connection.close()
