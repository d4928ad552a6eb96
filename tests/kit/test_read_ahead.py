"""A delivery connection reads ahead: every frame read as py-amqp reads it, with one
receive serving several deliveries."""

from __future__ import annotations

import uuid
from typing import Any

import amqp

from yilin.subscriptions import read_ahead

BODIES = [("x" * (i * 37 % 2000)).encode() + str(i).encode() for i in range(300)]


def _receives(amqp_uri: str, ahead: bool) -> int:
    """Deliver ``BODIES`` on a fresh connection; how many receives reading them took."""
    host = amqp_uri.split("@", 1)[1].split("/", 1)[0]
    connection = amqp.Connection(host=host, userid="guest", password="guest")
    connection.connect()
    try:
        if ahead:
            read_ahead(connection.transport)
        channel = connection.channel()
        queue = f"read-ahead-{uuid.uuid4().hex[:8]}"
        channel.queue_declare(queue, auto_delete=True)
        for body in BODIES:
            channel.basic_publish(amqp.Message(body), routing_key=queue)
        receives, recv = 0, connection.transport._quick_recv

        def counted(size: int) -> bytes:
            nonlocal receives
            receives += 1
            data: bytes = recv(size)
            return data

        connection.transport._quick_recv = counted
        received: list[Any] = []
        channel.basic_consume(queue, callback=lambda message: received.append(message.body), no_ack=True)
        while len(received) < len(BODIES):
            connection.drain_events(timeout=10)
        assert received == BODIES
        return receives
    finally:
        connection.close()


def test_deliveries_are_read_whole_and_in_order_with_few_receives(amqp_uri: str) -> None:
    plain, ahead = _receives(amqp_uri, False), _receives(amqp_uri, True)
    assert plain >= 3 * len(BODIES)  # py-amqp alone: three or more per frame
    assert ahead * 4 < plain, (ahead, plain)
