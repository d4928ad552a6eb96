"""The pipelined publisher builds a message's frames itself: byte for byte what
py-amqp's ``basic_publish`` writes, and the broker confirms and routes what it sends."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from typing import Any

import amqp
import pytest
from amqp import spec
from amqp.method_framing import frame_writer
from amqp.serialization import dumps
from kombu import Connection, Exchange, Queue

from yilin.confirms import Outgoing, PipelinedPublisher, publish_frames

EXCHANGE = Exchange("frames.test", type="topic", durable=False, auto_delete=True)


def _py_amqp_frames(channel_id: int, frame_max: int, message: Outgoing) -> bytes:
    """What py-amqp writes for ``channel.basic_publish`` of the same message."""
    written: list[bytes] = []
    connection = SimpleNamespace(frame_max=frame_max, bytes_sent=0)
    write = frame_writer(connection, SimpleNamespace(write=lambda data: written.append(bytes(data))))
    properties: dict[str, Any] = {
        "content_type": message.content_type,
        "content_encoding": message.content_encoding,
        "delivery_mode": 2,
    }
    if message.message_id:
        properties["message_id"] = message.message_id
    if message.headers:
        properties["application_headers"] = message.headers
    body = message.body if isinstance(message.body, bytes) else json.dumps(message.body)
    args = dumps("Bssbb", (0, message.exchange.name, message.routing_key, False, False))
    write(1, channel_id, spec.Basic.Publish, args, amqp.Message(body, **properties))
    return b"".join(written)


MESSAGES = [
    Outgoing(EXCHANGE, "thing.done", {"id": "1", "名": "志愿者"}, "m-1"),
    Outgoing(EXCHANGE, "thing.done", {"id": "2"}, None, {"traceparent": "00-abc-def-01", "n": 3}),
    Outgoing(EXCHANGE, "thing.done", {"x": "y" * 5000}, "m-3", None, "application/cloudevents+json"),
    Outgoing(EXCHANGE, "raw", b"\x00\xffbytes", "", {}, "application/octet-stream", "binary"),
    Outgoing(EXCHANGE, "thing.empty", b"", "m-5"),
]


@pytest.mark.parametrize("message", MESSAGES)
@pytest.mark.parametrize("frame_max", [4096, 131072])
def test_the_frames_are_what_py_amqp_writes(message: Outgoing, frame_max: int) -> None:
    assert publish_frames(7, frame_max, message) == _py_amqp_frames(7, frame_max, message)


def test_published_frames_are_confirmed_and_delivered(amqp_uri: str) -> None:
    queue = Queue(f"frames-{uuid.uuid4().hex[:8]}", EXCHANGE, routing_key="thing.#", auto_delete=True)
    with Connection(amqp_uri) as connection:
        queue(connection.default_channel).declare()
        publisher = PipelinedPublisher(amqp_uri)
        try:
            sent = [Outgoing(EXCHANGE, "thing.done", {"n": i, "pad": "p" * (i * 700)}, f"m-{i}") for i in range(300)]
            assert publisher.publish(sent) == 300
            assert publisher.publish(sent[:2]) == 2  # tags carry on across batches
        finally:
            publisher.close()
        received = []
        with connection.SimpleQueue(queue) as simple:
            while len(received) < 302:
                message = simple.get(timeout=10)
                received.append((message.properties.get("message_id"), message.payload["n"]))
                message.ack()
    assert received == [(f"m-{i}", i) for i in [*range(300), 0, 1]]
