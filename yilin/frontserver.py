"""A public HTTP/1.1 server for a nameko WSGI app, on eventlet's green sockets, without
eventlet's WSGI layer.

eventlet's server parsed every request's headers with the ``email`` package, read the
request through a buffered file object and wrote the answer through another: about a
sixth of the gateway's CPU for a read. This one reads the request line and headers from
one buffer, reads the whole body (by its ``Content-Length``, or de-chunked) before the
app runs, builds a plain WSGI environ and answers in one ``sendall`` (``TCP_NODELAY``).
The app is nameko's (its URL map and entrypoints), so every route behaves as before.

What clients send: any method, a query string, a body of a ``Content-Length`` or
``Transfer-Encoding: chunked``, ``Expect: 100-continue`` (answered ``100 Continue`` before
the body is read, unless the body is too large), ``HEAD`` (no body), HTTP/1.0 (closed
after the answer unless kept alive). A ``Content-Length`` over ``max_body_bytes`` is not
read: the app answers with the length it is told (its 413) and the connection closes.
A malformed request is refused before any worker runs, with the server's
:meth:`LeanWebServer.refusal` (400, 414, 431, 413, 501, 505) and the connection closed.

Stopping (``SIGTERM``): when its entrypoints stop, the server stops accepting and closes
idle kept-alive connections; ``stop()`` returns once every request received is answered
(with ``Connection: close``)."""

from __future__ import annotations

import io
import logging
import sys
import time
from email.utils import formatdate
from typing import Any, Callable, Iterable
from urllib.parse import unquote

from nameko.web.server import WebServer

from yilin.greenhttp import (  # one HTTP/1.1 reader and one connection life for both servers
    MAX_HEAD_BYTES,
    REASONS,
    RECV_BYTES,
    KeptConnections,
    Refused,
    read_body,
    read_head,
)

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 8192  # eventlet's limit on the request line (414 over it)
NO_BODY = (204, 304)
UNREAD = "yilin.unread_body"  # environ: the bytes of a body too large to read, dropped after the answer
MAX_DISCARD_BYTES = 64 * 1024 * 1024
DISCARD_SECONDS = 5.0
START = Callable[..., Any]


class LeanWebServer(KeptConnections[dict[str, Any]], WebServer):
    """nameko's ``WebServer`` (its providers, URL map and ``get_wsgi_app``) serving on the
    small server of this module instead of ``eventlet.wsgi``; a request is its WSGI environ."""

    max_body_bytes = 1024 * 1024

    def __init__(self) -> None:
        super().__init__()
        self._app: Callable[[dict[str, Any], START], Iterable[bytes]] | None = None
        self._base: dict[str, Any] = {}
        self._date = (0, "")
        self._starting: bool = False  # nameko's, untyped there

    def start(self) -> None:
        """Listen (with the configured backlog) and accept connections."""
        if self._starting:
            return
        self._starting = True
        self._app = self.get_wsgi_app()
        listener = self.listen(self.bind_addr, self.container.config)
        host, port = listener.getsockname()[:2]
        # set before the acceptor first runs: nothing here yields to it
        self._base = {
            "SCRIPT_NAME": "",
            "SERVER_NAME": host,
            "SERVER_PORT": str(port),
            "GATEWAY_INTERFACE": "CGI/1.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,  # the body is read whole before the app runs
        }

    def stop(self) -> None:
        """Return once every request received has been answered."""
        self.close(idle_only=True)
        self.wait_answered()
        super(WebServer, self).stop()  # nameko's own stop would kill the acceptor and close again

    def refusal(self, status: int, message: str) -> tuple[str, bytes]:
        """The Content-Type and body of a request refused before the app (override to
        answer in the app's own error format)."""
        return "text/plain", message.encode()

    def answer(self, connection: Any, request: dict[str, Any], keep: bool) -> bool:
        """Run the app and send its answer; then drop a body too large to have been read."""
        keep = self._respond(connection, request, keep)
        if request.get(UNREAD):
            _discard(connection, request[UNREAD])
        return keep

    def refused(self, refusal: Refused) -> bytes:
        """The server's :meth:`refusal`, with ``Connection: close``."""
        return self._refused(refusal.status, str(refusal))

    def next_request(self, connection: Any, buffer: bytes, address: Any) -> tuple[dict[str, Any], bytes, bool] | None:
        """The next request's WSGI environ (its body read), the bytes read past it and
        whether the connection stays open; ``None`` when the client closed between requests."""
        head = read_head(connection, buffer)
        if head is None:
            return None
        lines, buffer = head
        if len(lines[0]) > MAX_LINE_BYTES:
            raise Refused(414, "the request's target is too long")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[0].isalpha() or not parts[1]:
            raise Refused(400, "not an HTTP request line")
        method, target, version = parts
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            raise Refused(505 if version.startswith("HTTP/") else 400, "HTTP/1.0 and HTTP/1.1 only")
        path, _, query = target.partition("?")
        environ = {
            **self._base,
            "REQUEST_METHOD": method,
            "RAW_PATH_INFO": path,
            "PATH_INFO": unquote(path, encoding="latin-1") if "%" in path else path,
            "QUERY_STRING": query,
            "SERVER_PROTOCOL": version,
            "REMOTE_ADDR": address[0],
            "REMOTE_PORT": str(address[1]),
            "CONTENT_TYPE": "text/plain",  # as eventlet's (the email package's default)
        }
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip() or " " in name:
                raise Refused(400, "a malformed header line")
            if "_" in name:  # as eventlet: never confused with a header spelled with '-'
                continue
            key = name.upper().replace("-", "_")
            key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key
            value = value.strip(" \t")
            environ[key] = environ[key] + "," + value if key in environ and key.startswith("HTTP_") else value
        connection_header = environ.get("HTTP_CONNECTION", "").lower()
        keep = "close" not in connection_header if version == "HTTP/1.1" else "keep-alive" in connection_header
        encoding = environ.pop("HTTP_TRANSFER_ENCODING", None)
        length_header = environ.get("CONTENT_LENGTH")
        continuing = version == "HTTP/1.1" and environ.get("HTTP_EXPECT", "").lower() == "100-continue"
        if encoding is not None:
            if length_header is not None:
                raise Refused(400, "Content-Length and Transfer-Encoding are not allowed together")
            if encoding.lower() != "chunked":
                raise Refused(501, f"the Transfer-Encoding {encoding} is not supported")
            body, buffer = self._chunked(connection, buffer, continuing)
            environ["CONTENT_LENGTH"] = str(len(body))
        else:
            length_header = length_header or "0"
            if not (length_header.isascii() and length_header.isdigit()):  # '²' is a digit to isdigit, not to int
                raise Refused(400, "a malformed Content-Length")
            length = int(length_header)
            if length > self.max_body_bytes:
                # not read: the app answers by the length it is told, and the connection closes
                environ["CONTENT_LENGTH"], environ["wsgi.input"] = str(length), io.BytesIO()
                if not continuing:  # the client sends it anyway: read and dropped after the answer
                    environ[UNREAD] = length - len(buffer)
                return environ, b"", False
            if continuing and len(buffer) < length:
                connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            body, buffer = read_body(connection, buffer, length)
        environ["wsgi.input"] = io.BytesIO(body)
        return environ, buffer, keep

    def _chunked(self, connection: Any, buffer: bytes, continuing: bool) -> tuple[bytes, bytes]:
        """A chunked body, de-chunked (at most ``max_body_bytes``), and the bytes past it."""
        if continuing and not buffer:
            connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        chunks: list[bytes] = []
        size = 0
        while True:
            while (end := buffer.find(b"\r\n")) < 0:
                if len(buffer) > MAX_LINE_BYTES:
                    raise Refused(400, "a malformed chunk")
                buffer = self._more(connection, buffer)
            digits = buffer[:end].split(b";", 1)[0].strip()
            if not digits or digits.strip(b"0123456789abcdefABCDEF"):
                raise Refused(400, "a malformed chunk size")
            chunk = int(digits, 16)
            size += chunk
            if size > self.max_body_bytes:
                raise Refused(413, f"the body exceeds {self.max_body_bytes} bytes")
            buffer = buffer[end + 2 :]
            if chunk == 0:
                break
            while len(buffer) < chunk + 2:
                buffer = self._more(connection, buffer)
            if buffer[chunk : chunk + 2] != b"\r\n":
                raise Refused(400, "a chunk longer than its size")
            chunks.append(buffer[:chunk])
            buffer = buffer[chunk + 2 :]
        while (end := buffer.find(b"\r\n")) != 0:  # trailer fields, ignored, up to the empty line
            if end > 0:
                buffer = buffer[end + 2 :]
            elif len(buffer) > MAX_HEAD_BYTES:
                raise Refused(431, "the request's trailers are too large")
            else:
                buffer = self._more(connection, buffer)
        return b"".join(chunks), buffer[2:]

    @staticmethod
    def _more(connection: Any, buffer: bytes) -> bytes:
        data: bytes = connection.recv(RECV_BYTES)
        if not data:
            raise OSError("the connection closed inside a request's body")
        return buffer + data

    def _respond(self, connection: Any, environ: dict[str, Any], keep: bool) -> bool:
        """Run the app and send its answer; whether the connection stays open."""
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            started[:] = [status, headers]
            return chunks.append

        chunks: list[bytes] = []
        assert self._app is not None  # started
        try:
            answer = self._app(environ, start_response)
        except Exception:
            log.exception("the web app failed on %s", environ["PATH_INFO"])
            connection.sendall(self._refused(500, "Internal Server Error"))
            return False
        keep = keep and self.accepting
        parts: Iterable[bytes] = answer
        if not started:  # an app that starts its answer while it is iterated
            parts = list(answer)
        status, headers = started
        code = int(status[:3])
        head = ["HTTP/1.1 ", status, "\r\n"]
        sized = False
        for name, value in headers:
            head += (name, ": ", value, "\r\n")
            sized = sized or name.lower() == "content-length"
        head += ("Date: ", self._today(), "\r\n")
        bodiless = environ["REQUEST_METHOD"] == "HEAD" or code in NO_BODY or code < 200
        try:
            if sized or bodiless:
                if not bodiless:
                    chunks.extend(parts)
                head.append("\r\n" if keep else "Connection: close\r\n\r\n")
                if keep and environ["SERVER_PROTOCOL"] == "HTTP/1.0":
                    head.insert(-1, "Connection: keep-alive\r\n")
                connection.sendall("".join(head).encode("latin-1") + b"".join(chunks))
                return keep
            # a streamed answer of no stated length: chunked to an HTTP/1.1 client, else to the close
            chunked = environ["SERVER_PROTOCOL"] == "HTTP/1.1"
            head.append(
                ("Transfer-Encoding: chunked\r\n" if chunked else "")
                + ("\r\n" if keep and chunked else "Connection: close\r\n\r\n")
            )
            connection.sendall("".join(head).encode("latin-1"))
            for chunk in [*chunks, *parts]:
                if chunk:
                    connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            if chunked:
                connection.sendall(b"0\r\n\r\n")
            return keep and chunked
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()

    def _refused(self, status: int, message: str) -> bytes:
        content_type, body = self.refusal(status, message)
        head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (
            status,
            REASONS.get(status, "Error"),
            content_type,
            len(body),
        )
        return head.encode("latin-1") + body

    def _today(self) -> str:
        """The ``Date`` header's value, formatted once a second."""
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, formatdate(now, usegmt=True))
        return self._date[1]


def _discard(connection: Any, unread: int) -> None:
    """Read and drop the rest of a body too large to take (at most :data:`MAX_DISCARD_BYTES`,
    each read waiting :data:`DISCARD_SECONDS`), so that closing does not reset the connection
    before the client has read the answer (a close with unread data sends a reset)."""
    connection.settimeout(DISCARD_SECONDS)
    unread = min(unread, MAX_DISCARD_BYTES)
    while unread > 0:
        data = connection.recv(min(unread, RECV_BYTES))
        if not data:
            return
        unread -= len(data)
