"""A loopback TCP proxy that the fault suite can cut and restore.

A service is pointed at the proxy's port instead of RabbitMQ's or PostgreSQL's; ``cut()``
resets every open connection (both ends see a reset, as when a network path dies) and
refuses new ones until ``restore()``. It runs on real OS threads with unpatched sockets,
so it never shares eventlet's hub (and its file descriptors) with the test's own
database and broker clients."""

from __future__ import annotations

import struct
from typing import Any

import eventlet.patcher

socket = eventlet.patcher.original("socket")
threading = eventlet.patcher.original("threading")


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[Any, Any]] = []
        self._open = True
        self._closed = False
        self.connections = 0  # forwarded over the proxy's life
        self.refused = 0  # turned away while cut
        threading.Thread(target=self._accept_loop, daemon=True).start()

    # -- control -----------------------------------------------------------------------
    def cut(self) -> None:
        """Reset every connection now and refuse new ones."""
        self._open = False
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                _reset(sock)

    def restore(self) -> None:
        """Accept and forward connections again."""
        self._open = True

    def close(self) -> None:
        self._closed = True
        self.cut()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._pairs)

    # -- forwarding --------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open:
                self.refused += 1
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            pair = (client, upstream)
            with self._lock:
                self._pairs.append(pair)
            self.connections += 1
            threading.Thread(target=self._pipe, args=(client, upstream, pair), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, pair), daemon=True).start()

    def _pipe(self, source: Any, sink: Any, pair: tuple[Any, Any]) -> None:
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                sink.sendall(chunk)
        except OSError:
            pass
        with self._lock:
            if pair not in self._pairs:
                return  # cut() already reset both ends
            self._pairs.remove(pair)
        for sock in pair:
            _reset(sock)


def _reset(sock: Any) -> None:
    """Wake any thread blocked on the socket, then close it with RST rather than FIN, as
    a broken path looks to the peer."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
