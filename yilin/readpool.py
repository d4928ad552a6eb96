"""Kept-alive HTTP/1.1 connections to a service's internal read server
(:mod:`yilin.httpreads`), the client side of the reads' hop: one ``sendall`` per request
and the answer read from one buffer."""

from __future__ import annotations

import http.client
import socket
import ssl
from urllib.parse import urlsplit

MAX_IDLE = 32  # kept-alive connections per service; more at once are opened, then closed


class ProtocolError(http.client.HTTPException):
    """The internal server's answer is not the HTTP/1.1 this client reads."""


class Connection:
    """One kept-alive HTTP/1.1 connection: a request goes out in one ``sendall`` (head and
    body together, so the server reads it in one ``recv`` and no Nagle/delayed-ACK pause
    can fall between them), and the answer is read from one buffer. ``http.client`` sent
    the head and body in two writes and parsed every answer's headers with the
    ``email`` package: a fifth of the gateway's CPU for a read."""

    def __init__(self, host: str, port: int, timeout: float, tls: ssl.SSLContext | None) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = tls.wrap_socket(sock, server_hostname=host) if tls is not None else sock
        self.buffer = b""

    def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """Send ``request``; the answer's status, body and whether it keeps the connection.
        Raises ``ConnectionResetError`` when the server closed before any answer (a
        kept-alive connection it dropped meanwhile: the caller may send again)."""
        self.sock.sendall(request)
        head_end = self._fill(b"\r\n\r\n")
        head = self.buffer[:head_end].decode("latin-1").split("\r\n")
        self.buffer = self.buffer[head_end + 4 :]
        version, _, rest = head[0].partition(" ")
        try:
            status = int(rest[:3])
        except ValueError:
            raise ProtocolError(f"not an HTTP status line: {head[0][:80]!r}") from None
        length, keep = None, version == "HTTP/1.1"
        for line in head[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":  # the internal server never streams
                raise ProtocolError(f"an answer with Transfer-Encoding {value!r}")
            elif name == "connection":
                keep = "close" not in value and (keep or "keep-alive" in value)
        if status < 200 or status in (204, 304):  # answers that never carry a body
            return status, b"", keep
        if length is None:  # the internal server always says how long its answer is
            raise ProtocolError("an answer without Content-Length")
        return status, self._take(length), keep

    def _more(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def _fill(self, marker: bytes) -> int:
        while (found := self.buffer.find(marker)) < 0:
            if not self._more():
                if self.buffer:
                    raise ProtocolError("the connection closed inside an answer")
                raise ConnectionResetError("closed before answering")
        return found

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._more():
                raise ProtocolError("the connection closed inside an answer")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def close(self) -> None:
        self.sock.close()


class Pool:
    """Kept-alive connections to one service's internal server, each used by one call at
    a time (green threads take and return them; no lock needed between switches)."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RuntimeError(f"an internal read URL is http(s)://host:port, not {url!r}")
        self.tls = ssl.create_default_context() if parts.scheme == "https" else None
        self.host, self.prefix = parts.hostname, parts.path.rstrip("/")
        self.port = parts.port or (443 if self.tls is not None else 80)
        default = (self.tls is None and self.port == 80) or (self.tls is not None and self.port == 443)
        self.authority = self.host if default else f"{self.host}:{self.port}"
        self.timeout = timeout
        self.idle: list[Connection] = []

    def post(self, path: str, body: str, headers: dict[str, str]) -> tuple[int, bytes]:
        """The status and body of ``POST path``; a kept-alive connection the server closed
        meanwhile is replaced once (a read is safe to send again). Raises ``TimeoutError``
        or another ``OSError`` / ``http.client.HTTPException``."""
        payload = body.encode()
        lines = [f"POST {self.prefix}{path} HTTP/1.1", f"Host: {self.authority}", f"Content-Length: {len(payload)}"]
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        if any("\r" in line or "\n" in line for line in lines):  # as http.client refuses them
            raise ValueError("a header or path with a line break")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
        while True:
            reused = bool(self.idle)
            connection = self.idle.pop() if reused else Connection(self.host, self.port, self.timeout, self.tls)
            try:
                status, data, keep = connection.exchange(request)
            except TimeoutError:
                connection.close()
                raise
            except (OSError, http.client.HTTPException, ValueError) as exc:
                connection.close()
                if reused:
                    continue
                if isinstance(exc, ValueError):  # a malformed length or chunk size
                    raise ProtocolError(str(exc)) from None
                raise
            if not keep or len(self.idle) >= MAX_IDLE:
                connection.close()
            else:
                self.idle.append(connection)
            return status, data

    def close(self) -> None:
        while self.idle:
            self.idle.pop().close()
