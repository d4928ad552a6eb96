"""A delivery that reaches a stopping handler after the broker confirmed its cancel.

A quorum queue may still send one it had assigned to the consumer before the cancel
reached it (rabbitmq-server#3729). Against the real broker, a quorum queue is subscribed
and cancelled; then the channel is handed a delivery for the cancelled subscription, as
that late Basic.Deliver frame would hand it (the message itself is a real one, taken
from the queue on that channel, so its delivery tag is the channel's own)."""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable, Iterator

import pytest
from kombu import Connection, Consumer, Producer, Queue

from yilin.subscriptions import cancel_keeping_late_deliveries, forget_late_deliveries


@pytest.fixture
def quorum_queue(amqp_uri: str) -> Iterator[str]:
    name = f"test-late-delivery-{uuid.uuid4().hex[:8]}"
    with Connection(amqp_uri) as conn:
        Queue(name, channel=conn.channel(), durable=True, queue_arguments={"x-queue-type": "quorum"}).declare()
    yield name
    with Connection(amqp_uri) as conn:
        conn.channel().queue_delete(name)


def _late_delivery(amqp_uri: str, queue: str, cancel: Callable[[Any], Any]) -> tuple[int, int]:
    """Subscribe to ``queue``, ``cancel`` the subscription, then deliver one message late;
    ack whatever the subscriber received. Returns (messages the subscriber received,
    messages the queue offers again once the channel has closed)."""
    received: list[Any] = []
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        consumer = Consumer(channel, queues=[Queue(queue, channel=channel, no_declare=True)], accept=["json"])
        consumer.register_callback(lambda body, message: received.append(message))
        consumer.consume()
        (tag,) = consumer._active_tags.values()
        cancel(consumer)
        Producer(channel).publish({"n": 1}, exchange="", routing_key=queue, serializer="json", delivery_mode=2)
        message = None
        while message is None:  # a publish without confirms is queued a moment later
            message = channel.basic_get(queue, no_ack=False)
        channel._on_basic_deliver(tag, message.delivery_tag, False, "", queue, message)  # the late frame
        for delivery in received:
            delivery.ack()
        channel.close()
        return len(received), _taken_back(conn.channel(), queue)


def _taken_back(channel: Any, queue: str, seconds: float = 3.0) -> int:
    """Messages the queue offers again within ``seconds`` (a quorum queue takes a
    returned message back a moment after the channel that held it has closed)."""
    back, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = channel.basic_get(queue, no_ack=True)
        if message is None:
            time.sleep(0.05)
        else:
            back += 1
    return back


def test_a_late_delivery_reaches_the_cancelled_subscriber_and_is_acked(amqp_uri: str, quorum_queue: str) -> None:
    assert _late_delivery(amqp_uri, quorum_queue, cancel_keeping_late_deliveries) == (1, 0)


def test_a_plain_cancel_hands_a_late_delivery_back_to_the_broker(amqp_uri: str, quorum_queue: str) -> None:
    # What the subscriber is guarded against: py-amqp rejects it with requeue, so the
    # broker gives it to another consumer marked redelivered (one delivery attempt spent).
    assert _late_delivery(amqp_uri, quorum_queue, lambda consumer: consumer.cancel()) == (0, 1)


def test_once_forgotten_a_late_delivery_goes_back_to_the_broker(amqp_uri: str, quorum_queue: str) -> None:
    def cancel_then_forget(consumer: Any) -> None:
        forget_late_deliveries(*cancel_keeping_late_deliveries(consumer))

    assert _late_delivery(amqp_uri, quorum_queue, cancel_then_forget) == (0, 1)
