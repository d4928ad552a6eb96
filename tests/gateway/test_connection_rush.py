"""A rush of new connections queues at the gateway instead of being dropped
(yilin.backlog), with a real gateway process: while it is stopped (SIGSTOP, as a gateway
whose CPU is taken by the requests already in), 300 clients connect and send a request;
the kernel holds every connection until the gateway accepts it, and each gets its answer.
With nameko's backlog of 50, the 52nd connect already waited in vain."""

from __future__ import annotations

import os
import signal
import socket

from tests.conftest import TEST_JWT_SECRET
from tests.harness import ServiceProcess, migrate_service

CLIENTS = 300


def _accept_queue(port: int) -> int:
    """Connections waiting in the listening socket's accept queue (its rx_queue in
    /proc/net/tcp)."""
    with open("/proc/net/tcp") as table:
        for line in list(table)[1:]:
            fields = line.split()
            local, state, queues = fields[1], fields[3], fields[4]
            if state == "0A" and int(local.split(":")[1], 16) == port:  # 0A: LISTEN
                return int(queues.split(":")[1], 16)
    raise AssertionError(f"nothing listens on port {port}")


def _status_line(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0]


def test_three_hundred_connections_at_once_are_all_answered(amqp_uri: str, pg_url: str) -> None:
    migrate_service("gateway", {"AMQP_URI": amqp_uri, "DATABASE_URL": pg_url})
    gateway = ServiceProcess("gateway", amqp_uri, pg_url, YILIN_JWT_SECRET=TEST_JWT_SECRET, YILIN_LOG_LEVEL="WARNING")
    gateway.wait_ready(60)
    port = gateway.http_port
    request = b"GET /api/v1/no-such-route HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n"

    os.kill(gateway.process.pid, signal.SIGSTOP)
    clients: list[socket.socket] = []
    try:
        for _ in range(CLIENTS):
            # a connection the kernel will not queue is not completed: the connect times out
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=3))
            clients[-1].sendall(request)
        assert _accept_queue(port) == CLIENTS
    finally:
        os.kill(gateway.process.pid, signal.SIGCONT)

    statuses = []
    for client in clients:
        client.settimeout(30)
        statuses.append(_status_line(client))
        client.close()
    assert [s[:12] for s in statuses] == [b"HTTP/1.1 404"] * CLIENTS, set(statuses)
    assert gateway.terminate() == 0
